// SPDX-License-Identifier: GPL-2.0-only
/* pinfold approvals, approve, deny: the held actions and their decision. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/proto.h"
#include "policy/policy.h"
#include "tools/pinfold.h"

static long long num(json_t *o, const char *k)
{
	return (long long)json_integer_value(json_object_get(o, k));
}

static const char *str(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k)) ?: "-";
}

/* One request and its reply; req is consumed. */
static json_t *call(struct cli *c, json_t *req)
{
	json_t *m = req ? cli_call(c, req) : NULL;

	json_decref(req);
	return m;
}

static void print_approvals(json_t *list)
{
	size_t i;
	json_t *a;

	if (!json_array_size(list)) {
		printf("no pending requests\n");
		return;
	}
	printf("%-8s %-16s %-8s %-12s %-8s %-6s %-8s %s\n", "ID", "AGENT", "SESSION",
	       "DISPATCHER", "ACTION", "AGE", "TIMEOUT", "OBJECT");
	json_array_foreach(list, i, a) {
		char disp[32];

		snprintf(disp, sizeof(disp), "%s", json_is_string(json_object_get(a, "dispatcher"))
			 ? str(a, "dispatcher") : "");
		if (!disp[0])
			snprintf(disp, sizeof(disp), "uid %lld", num(a, "dispatcher_uid"));
		printf("%-8lld %-16s %-8lld %-12s %-8s %-6lld %-8lld %s\n", num(a, "request"),
		       str(a, "agent"), num(a, "session"), disp, str(a, "action"), num(a, "age_s"),
		       num(a, "remaining_s"), str(a, "object"));
	}
}

int cmd_approvals(struct cli *c, int argc, char **argv)
{
	bool as_json = argc == 2 && !strcmp(argv[1], "--json");
	json_t *m;

	if (argc > 2 || (argc == 2 && !as_json)) {
		fprintf(stderr, "usage: pinfold approvals [--json]\n");
		return 2;
	}
	m = call(c, json_pack("{s:s}", "verb", "approvals"));
	if (!m)
		return EXIT_PINFOLD;
	if (as_json) {
		json_dumpf(json_object_get(m, "approvals"), stdout, JSON_INDENT(2));
		putchar('\n');
	} else {
		print_approvals(json_object_get(m, "approvals"));
	}
	if (json_integer_value(json_object_get(m, "omitted")))
		fprintf(stderr, "pinfold: %lld more pending requests did not fit in the reply\n",
			num(m, "omitted"));
	json_decref(m);
	return 0;
}

static int decide_usage(bool allow)
{
	fprintf(stderr, allow ? "usage: pinfold approve ID [--once | --session | --for DURATION] "
				"[--reason TEXT]\n"
			      : "usage: pinfold deny ID [--reason TEXT]\n");
	return 2;
}

static int decide(struct cli *c, int argc, char **argv, bool allow)
{
	static const struct option opts[] = {
		{ "once", no_argument, NULL, 'o' },
		{ "session", no_argument, NULL, 's' },
		{ "for", required_argument, NULL, 'f' },
		{ "reason", required_argument, NULL, 'r' },
		{ 0 },
	};
	const char *scope = "once", *reason = NULL;
	unsigned long long id;
	uint64_t for_ms = 0;
	char *end;
	json_t *req, *m;
	int o;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (o == 'r')
			reason = optarg;
		else if (!allow)
			return decide_usage(allow);
		else if (o == 'o')
			scope = "once";
		else if (o == 's')
			scope = "session";
		else if (o == 'f' && !duration_parse(optarg, &for_ms))
			scope = "for";
		else if (o == 'f') {
			fprintf(stderr, "pinfold: bad duration '%s': such as '90s', '10m' or "
				"'2h'\n", optarg);
			return 2;
		} else
			return decide_usage(allow);
	}
	if (optind != argc - 1)
		return decide_usage(allow);
	id = strtoull(argv[optind], &end, 10);
	if (*end || !argv[optind][0])
		return decide_usage(allow);

	req = json_pack("{s:s,s:I}", "verb", allow ? "approve" : "deny", "request",
			(json_int_t)id);
	if (allow) {
		json_object_set_new(req, "scope", json_string(scope));
		if (for_ms)
			json_object_set_new(req, "for_s",
					    json_integer((json_int_t)(for_ms / 1000)));
	}
	if (reason)
		json_object_set_new(req, "reason", json_string(reason));
	m = call(c, req);
	if (!m)
		return EXIT_PINFOLD;
	if (c->verbose)
		fprintf(stderr, "pinfold: request %llu %s\n", id, allow ? "approved" : "denied");
	json_decref(m);
	return 0;
}

int cmd_approve(struct cli *c, int argc, char **argv)
{
	return decide(c, argc, argv, true);
}

int cmd_deny(struct cli *c, int argc, char **argv)
{
	return decide(c, argc, argv, false);
}
