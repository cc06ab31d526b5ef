// SPDX-License-Identifier: GPL-2.0-only
/* pinfold status: what pinfoldd enforces, its sessions, its counters. */
#include <stdio.h>
#include <string.h>

#include "daemon/proto.h"
#include "tools/pinfold.h"

static void print_status(json_t *m)
{
	json_t *l = json_object_get(m, "layers"), *ev = json_object_get(m, "events");
	json_t *ss = json_object_get(m, "sessions"), *s;
	size_t i;

	printf("pinfoldd %s, policy %s\n", json_string_value(json_object_get(m, "version")),
	       json_string_value(json_object_get(m, "policy")));
	printf("cgroup tree   %s\n", json_string_value(json_object_get(m, "cgroup")));
	printf("landlock      ABI %lld (files, exec)\n",
	       (long long)json_integer_value(json_object_get(l, "landlock_abi")));
	printf("seccomp       %s\n", json_is_true(json_object_get(l, "seccomp")) ? "on" : "off");
	printf("cgroup bpf    %s (connect, sendmsg)\n",
	       json_is_true(json_object_get(l, "cgroup_bpf")) ? "on" : "OFF");
	printf("libraries     %s\n", json_is_true(json_object_get(l, "library_loads"))
					 ? "on"
					 : "NOT governed: code an agent writes can be loaded with "
					   "LD_PRELOAD or dlopen");
	printf("unix sockets  %s\n", json_is_true(json_object_get(l, "unix_sockets"))
					 ? "on (pathname connect, sendmsg)"
					 : "OFF (kernel before 6.7: not governed)");
	printf("events        %lld seen, %lld dropped, %lld de-duplicated\n",
	       (long long)json_integer_value(json_object_get(ev, "seen")),
	       (long long)json_integer_value(json_object_get(ev, "dropped")),
	       (long long)json_integer_value(json_object_get(ev, "deduplicated")));
	printf("sessions      %zu\n", json_array_size(ss));
	json_array_foreach(ss, i, s) {
		const char *ll = json_string_value(json_object_get(s, "landlock_policy"));
		const char *now = json_string_value(json_object_get(m, "policy"));

		printf("  %-8lld %-16s pid %-8lld uid %-6lld %lld events, %lld denials%s\n",
		       (long long)json_integer_value(json_object_get(s, "session")),
		       json_string_value(json_object_get(s, "agent")),
		       (long long)json_integer_value(json_object_get(s, "pid")),
		       (long long)json_integer_value(json_object_get(s, "uid")),
		       (long long)json_integer_value(json_object_get(s, "events")),
		       (long long)json_integer_value(json_object_get(s, "denials")),
		       json_is_true(json_object_get(s, "frozen")) ? ", frozen" : "");
		if (ll && now && strcmp(ll, now))
			printf("           file and exec rules (Landlock) still those of policy "
			       "%.12s: a running process cannot take new ones\n", ll);
	}
}

/* A verb that takes no arguments: its reply, or NULL after saying why. */
static json_t *call_plain(struct cli *c, int argc, const char *verb)
{
	json_t *req, *m;

	if (argc != 1) {
		fprintf(stderr, "usage: pinfold %s\n", verb);
		return NULL;
	}
	req = json_pack("{s:s}", "verb", verb);
	m = cli_call(c, req);
	json_decref(req);
	return m;
}

int cmd_status(struct cli *c, int argc, char **argv)
{
	json_t *m = call_plain(c, argc, "status");

	(void)argv;
	if (!m)
		return argc != 1 ? 2 : EXIT_PINFOLD;
	print_status(m);
	json_decref(m);
	return 0;
}

/* pinfold reload: the daemon loads its configuration again, as on SIGHUP,
 * and says whether it took it. */
int cmd_reload(struct cli *c, int argc, char **argv)
{
	json_t *m = call_plain(c, argc, "reload");

	(void)argv;
	if (!m)
		return argc != 1 ? 2 : EXIT_PINFOLD;
	if (c->verbose)
		printf("policy %s\n", json_string_value(json_object_get(m, "policy")));
	json_decref(m);
	return 0;
}
