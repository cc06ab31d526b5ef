// SPDX-License-Identifier: GPL-2.0-only
/*
 * pinfold policy check | explain | show: the policy library run on a
 * configuration directory, as the daemon would load it, with no daemon.
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"
#include "tools/pinfold.h"

struct policy_args {
	const char *config_dir;
	const char *agent;
	const char *workspace;
	const char *home;
	const char *exec, *open, *connect;
	bool write;
};

static int policy_usage(void)
{
	fprintf(stderr,
		"usage: pinfold policy check [--config-dir DIR]\n"
		"       pinfold policy explain [--config-dir DIR] --agent NAME [--workspace DIR]\n"
		"                              [--home DIR] (--exec PATH | --open PATH [--write] |\n"
		"                              --connect ADDR:PORT)\n"
		"       pinfold policy show [--config-dir DIR] --agent NAME [--workspace DIR]\n"
		"                           [--home DIR]\n"
		"explain exits 0 for an allow, 1 for a deny, 3 for an action held for approval.\n");
	return 2;
}

static int parse(int argc, char **argv, struct policy_args *a)
{
	static const struct option opts[] = {
		{ "config-dir", required_argument, NULL, 'c' },
		{ "agent", required_argument, NULL, 'a' },
		{ "workspace", required_argument, NULL, 'w' },
		{ "home", required_argument, NULL, 'H' },
		{ "exec", required_argument, NULL, 'x' },
		{ "open", required_argument, NULL, 'o' },
		{ "write", no_argument, NULL, 'W' },
		{ "connect", required_argument, NULL, 'n' },
		{ 0 },
	};
	int o;

	a->config_dir = "/etc/pinfold";
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'c': a->config_dir = optarg; break;
		case 'a': a->agent = optarg; break;
		case 'w': a->workspace = optarg; break;
		case 'H': a->home = optarg; break;
		case 'x': a->exec = optarg; break;
		case 'o': a->open = optarg; break;
		case 'W': a->write = true; break;
		case 'n': a->connect = optarg; break;
		default: return -1;
		}
	}
	return optind == argc ? 0 : -1;
}

/* Loads as the daemon would; every problem is one "file:line: reason". */
static struct policy *load(const struct policy_args *a)
{
	struct policy *p = NULL;
	struct diag d = { 0 };

	if (policy_load(a->config_dir, &p, &d)) {
		for (size_t i = 0; i < d.n; i++)
			fprintf(stderr, "%s\n", d.msgs[i]);
		p = NULL;
	}
	diag_free(&d);
	return p;
}

static const struct agent *find_agent(const struct policy *p, const char *name)
{
	const struct agent *ag = name ? policy_agent(p, name) : NULL;

	if (name && !ag)
		fprintf(stderr, "pinfold: no agent '%s' in the configuration\n", name);
	return ag;
}

/* The session's values of ${workspace} and ${home}, as the daemon would
 * choose them when none is given. */
static struct grants *bind_session(const struct agent *ag, const struct policy_args *a)
{
	char ws[PATH_MAX];
	struct diag d = { 0 };
	struct grants *g;

	if (a->workspace)
		snprintf(ws, sizeof(ws), "%s", a->workspace);
	else if (ag->workspace)
		snprintf(ws, sizeof(ws), "%s", ag->workspace);
	else
		snprintf(ws, sizeof(ws), "/var/lib/pinfold/workspaces/%s", ag->name);
	g = grants_bind(ag, ws, a->home ? a->home : ag->home ? ag->home : ws, &d);
	for (size_t i = 0; i < d.n; i++)
		fprintf(stderr, "%s\n", d.msgs[i]);
	diag_free(&d);
	return g;
}

static void print_rule(const struct policy *p, uint32_t id)
{
	const struct rule *r = id ? policy_rule(p, id) : NULL;

	if (r)
		printf("%s:%d (%s)\n", r->file, r->line, r->text);
	else
		printf("no grant covers it (default deny)\n");
}

/* ADDR:PORT, [V6]:PORT; IPv4 becomes IPv4-mapped IPv6 as in the kernel. */
static int parse_dest(const char *s, uint8_t addr[16], uint16_t *port)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon = strrchr(s, ':');
	size_t n = colon ? (size_t)(colon - s) : 0;
	char *end;
	unsigned long v;

	if (!colon || n == 0 || n >= sizeof(host))
		return -1;
	memcpy(host, s, n);
	host[n] = 0;
	v = strtoul(colon + 1, &end, 10);
	if (*end || colon[1] == 0 || v > 65535)
		return -1;
	*port = (uint16_t)v;
	if (host[0] == '[' && host[n - 1] == ']') {
		host[n - 1] = 0;
		return inet_pton(AF_INET6, host + 1, addr) == 1 ? 0 : -1;
	}
	memset(addr, 0, 16);
	addr[10] = addr[11] = 0xff;
	return inet_pton(AF_INET, host, addr + 12) == 1 ? 0 : -1;
}

/* Held until an approver decides: exit status 3. */
static int explain_approve(const struct policy *p, uint32_t rule)
{
	printf("approve: held for an approver by ");
	print_rule(p, rule);
	return 3;
}

static int explain(const struct policy *p, const struct agent *ag, const struct policy_args *a)
{
	uint32_t rule = 0;
	bool allow;

	if (!!a->exec + !!a->open + !!a->connect != 1)
		return policy_usage();
	if (a->connect) {
		uint8_t addr[16];
		uint16_t port;

		if (parse_dest(a->connect, addr, &port)) {
			fprintf(stderr, "pinfold: bad destination '%s': use ADDR:PORT or "
					"[ADDR]:PORT\n", a->connect);
			return 2;
		}
		allow = agent_check_connect(ag, addr, port, &rule);
		if (!allow && agent_approve_connect(ag, addr, port))
			return explain_approve(p, agent_approve_connect(ag, addr, port)->rule);
	} else {
		struct grants *g = bind_session(ag, a);

		if (!g)
			return 2;
		allow = grants_check_path(g, a->exec ? a->exec : a->open,
					  a->exec ? ACC_EXEC : a->write ? ACC_WRITE : ACC_READ, &rule);
		grants_free(g);
		if (allow && a->exec && agent_approve_rule(ag, rule))
			return explain_approve(p, rule);
	}
	printf("%s: ", allow ? "allow" : "deny");
	print_rule(p, allow ? rule : 0);
	return allow ? 0 : 1;
}

static int show(const struct policy *p, const struct agent *ag, const struct policy_args *a)
{
	struct grants *g = bind_session(ag, a);
	struct net_entry *t = NULL;
	struct diag d = { 0 };
	int n;

	if (!g)
		return 2;
	printf("agent %s (%s)%s\n", ag->name, ag->file, ag->enabled ? "" : ", disabled");
	for (size_t i = 0; i < g->npaths; i++) {
		const struct bound_path *bp = &g->paths[i];

		printf("  %c%c%c %s   ", bp->access & ACC_READ ? 'r' : '-',
		       bp->access & ACC_WRITE ? 'w' : '-', bp->access & ACC_EXEC ? 'x' : '-',
		       bp->path);
		print_rule(p, bp->rule);
	}
	grants_free(g);
	n = agent_net_table(ag, &t, &d);
	for (int i = 0; i < n; i++) {
		char pfx[NET_PREFIX_STRLEN];

		net_prefix_format(t[i].addr, t[i].prefix, pfx, sizeof(pfx));
		for (uint32_t r = 0; r < t[i].value.nranges; r++) {
			printf("  connect %s port %u-%u   ", pfx, t[i].value.r[r].lo,
			       t[i].value.r[r].hi);
			print_rule(p, t[i].value.r[r].rule);
		}
	}
	free(t);
	diag_free(&d);
	printf("  everything else is denied\n");
	return 0;
}

int cmd_policy(struct cli *c, int argc, char **argv)
{
	struct policy_args a = { 0 };
	const struct agent *ag;
	struct policy *p;
	const char *verb = argc > 1 ? argv[1] : "";
	int rc;

	if (parse(argc - 1, argv + 1, &a))
		return policy_usage();
	if (strcmp(verb, "check") && strcmp(verb, "explain") && strcmp(verb, "show"))
		return policy_usage();
	p = load(&a);
	if (!p)
		return 1;
	if (!strcmp(verb, "check")) {
		if (c->verbose)
			printf("%s: %zu agent(s), %zu rule(s), policy %s\n", a.config_dir, p->nagents,
			       p->nrules, p->hash_hex);
		policy_free(p);
		return 0;
	}
	ag = find_agent(p, a.agent);
	if (!ag) {
		policy_free(p);
		return a.agent ? 1 : policy_usage();
	}
	rc = !strcmp(verb, "explain") ? explain(p, ag, &a) : show(p, ag, &a);
	policy_free(p);
	return rc;
}
