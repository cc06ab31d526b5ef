// SPDX-License-Identifier: GPL-2.0-only
/* pinfold agents: the inventory of agent identities pinfoldd knows. */
#include <stdio.h>
#include <string.h>

#include "tools/pinfold.h"

static void print_strings(const char *label, json_t *a)
{
	json_t *v;
	size_t i;

	printf("  %-14s", label);
	if (!json_array_size(a))
		printf(" -");
	json_array_foreach(a, i, v)
		printf(" %s", json_string_value(v));
	putchar('\n');
}

static void print_agent(json_t *a)
{
	json_t *src = json_object_get(a, "source"), *s, *p;
	size_t i, j;

	printf("%s  %s\n", json_string_value(json_object_get(a, "name")),
	       json_string_value(json_object_get(a, "status")));
	if (!strcmp(json_string_value(json_object_get(src, "kind")), "idp"))
		printf("  %-14s identity provider, key %s%s%s\n", "source",
		       json_string_value(json_object_get(src, "key")),
		       json_is_string(json_object_get(src, "reason")) ? ", " : "",
		       json_string_value(json_object_get(src, "reason")) ?: "");
	else
		printf("  %-14s %s\n", "source", json_string_value(json_object_get(src, "file")));
	if (json_is_string(json_object_get(a, "reason")))
		printf("  %-14s %s\n", "reason", json_string_value(json_object_get(a, "reason")));
	printf("  %-14s %s\n", "owner", json_string_value(json_object_get(a, "owner")) ?: "-");
	print_strings("roles", json_object_get(a, "roles"));
	print_strings("dispatchers", json_object_get(a, "dispatchers"));
	/* A PAM login of the agent's service account is a way into it too. */
	printf("  %-14s %s\n", "login", json_string_value(json_object_get(a, "unix_user")) ?: "-");
	printf("  %-14s %s\n", "last activity",
	       json_string_value(json_object_get(a, "last_activity")) ?: "-");
	printf("  %-14s %lld\n", "denials (24h)",
	       (long long)json_integer_value(json_object_get(a, "denials_24h")));
	json_array_foreach(json_object_get(a, "sessions"), i, s) {
		printf("  session %lld:", (long long)json_integer_value(json_object_get(s, "session")));
		json_array_foreach(json_object_get(s, "processes"), j, p)
			printf(" %lld (%s)", (long long)json_integer_value(json_object_get(p, "pid")),
			       json_string_value(json_object_get(p, "comm")));
		putchar('\n');
	}
}

int cmd_agents(struct cli *c, int argc, char **argv)
{
	return cli_list(c, argc, argv, "agents", print_agent);
}
