// SPDX-License-Identifier: GPL-2.0-only
/*
 * pinfold sessions: the running sessions; pinfold kill, freeze and thaw:
 * act on one session or on every session of an agent.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/pinfold.h"

static void print_session(json_t *s)
{
	json_t *procs = json_object_get(s, "processes"), *p;
	size_t i;

	printf("%-8lld %-16s uid %-6lld %-8s %-20s %lld events, %lld denials\n",
	       (long long)json_integer_value(json_object_get(s, "session")),
	       json_string_value(json_object_get(s, "agent")),
	       (long long)json_integer_value(json_object_get(s, "uid")),
	       json_is_true(json_object_get(s, "frozen")) ? "frozen" : "running",
	       json_string_value(json_object_get(s, "started")),
	       (long long)json_integer_value(json_object_get(s, "events")),
	       (long long)json_integer_value(json_object_get(s, "denials")));
	json_array_foreach(procs, i, p)
		printf("         pid %-8lld %s\n",
		       (long long)json_integer_value(json_object_get(p, "pid")),
		       json_string_value(json_object_get(p, "comm")));
}

int cmd_sessions(struct cli *c, int argc, char **argv)
{
	return cli_list(c, argc, argv, "sessions", print_session);
}

static int action_usage(const char *verb)
{
	fprintf(stderr, "usage: pinfold %s SESSION | --agent NAME\n", verb);
	return 2;
}

int cmd_session_action(struct cli *c, int argc, char **argv)
{
	const char *verb = argv[0];
	json_t *req, *reply, *id;
	char *end;
	size_t i;
	int r;

	if (argc == 3 && !strcmp(argv[1], "--agent")) {
		req = json_pack("{s:s,s:s}", "verb", verb, "agent", argv[2]);
	} else if (argc == 2) {
		unsigned long long sid = strtoull(argv[1], &end, 10);

		if (*end || end == argv[1]) {
			fprintf(stderr, "pinfold: bad session '%s': a number, as `pinfold sessions` "
				"shows\n", argv[1]);
			return 2;
		}
		req = json_pack("{s:s,s:I}", "verb", verb, "session", (json_int_t)sid);
	} else {
		return action_usage(verb);
	}
	r = cli_request(c, req, NULL, 0, &reply);
	json_decref(req);
	if (r)
		return EXIT_PINFOLD;
	if (c->verbose)
		json_array_foreach(json_object_get(reply, "sessions"), i, id)
			fprintf(stderr, "pinfold: %s: session %lld\n", verb,
				(long long)json_integer_value(id));
	json_decref(reply);
	return 0;
}
