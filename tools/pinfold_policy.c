// SPDX-License-Identifier: GPL-2.0-only
/*
 * pinfold policy check | explain | show: the policy library run on a
 * configuration directory, as the daemon would load it, with no daemon.
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <time.h>
#include <unistd.h>
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
	const char *user;
	bool write;
	bool check;		/* the verb is check */
};

static int policy_usage(void)
{
	fprintf(stderr,
		"usage: pinfold policy check [--config-dir DIR | DIR]\n"
		"       pinfold policy explain [--config-dir DIR] --agent NAME [--user USER] [--workspace DIR]\n"
		"                              [--home DIR] (--exec PATH | --open PATH [--write] |\n"
		"                              --connect ADDR:PORT)\n"
		"       pinfold policy show [--config-dir DIR] --agent NAME [--user USER] [--workspace DIR]\n"
		"                           [--home DIR]\n"
		"check exits 0 when clean, 1 for problems in the configuration. explain\n"
		"exits 0 for an allow, 1 for a deny, 3 for an action held for approval;\n"
		"show exits 0, or 1 when the user may not launch the agent. Both exit 2\n"
		"for a usage error, an unknown agent or user, or a configuration that\n"
		"does not load.\n");
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
		{ "user", required_argument, NULL, 'u' },
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
		case 'u': a->user = optarg; break;
		default: return -1;
		}
	}
	/* check also takes the directory as its one operand. */
	if (optind + 1 == argc && a->check) {
		a->config_dir = argv[optind];
		return 0;
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

static const struct agent *find_agent(const struct policy *p, const char *name,
				      const char *dir)
{
	const struct agent *ag = name ? policy_agent(p, name) : NULL;

	if (name && !ag)
		fprintf(stderr, "pinfold: no agent '%s' in the configuration '%s'\n", name, dir);
	return ag;
}

/* The session's values of ${workspace} and ${home}, as the daemon would
 * choose them when none is given. */
static void session_dirs(const struct agent *ag, const struct policy_args *a, char ws[PATH_MAX])
{
	if (a->workspace)
		snprintf(ws, PATH_MAX, "%s", a->workspace);
	else if (ag->workspace)
		snprintf(ws, PATH_MAX, "%s", ag->workspace);
	else
		snprintf(ws, PATH_MAX, "/var/lib/pinfold/workspaces/%s", ag->name);
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

/* The dispatcher named by --user (a name or a uid; root without it), its
 * groups from the group database, and the session as now. */
struct who {
	uid_t uid;
	char name[256];
	bool named;
	gid_t gids[256];
	int ngids;
};

static int who_of(const char *user, struct who *w)
{
	struct passwd *pw;
	char *end;

	memset(w, 0, sizeof(*w));
	pw = user ? getpwnam(user) : getpwuid(0);
	if (!pw && user && *user) {
		unsigned long v = strtoul(user, &end, 10);

		if (*end)
			return -1;
		w->uid = (uid_t)v;
		pw = getpwuid(w->uid);
	}
	if (pw) {
		w->uid = pw->pw_uid;
		snprintf(w->name, sizeof(w->name), "%s", pw->pw_name);
		w->named = true;
		w->ngids = 256;
		if (getgrouplist(pw->pw_name, pw->pw_gid, w->gids, &w->ngids) < 0)
			w->ngids = 0;
	} else {
		w->gids[0] = (gid_t)w->uid;
		w->ngids = 1;
	}
	return 0;
}

static int perm_of(const struct policy *p, const struct agent *ag, const struct policy_args *a,
		   struct who *w, struct eval_ctx *ctx, struct perm_req *r)
{
	const struct bound **b;
	size_t nb;

	if (who_of(a->user, w) < 0) {
		fprintf(stderr, "pinfold: unknown user '%s'\n", a->user);
		return -1;
	}
	*ctx = (struct eval_ctx){ .agent = ag, .uid = w->uid, .user = w->named ? w->name : NULL,
				  .gids = w->gids, .ngids = (size_t)w->ngids, .launch = "run",
				  .tty = isatty(0), .start = time(NULL), .now = time(NULL) };
	if (perm_bounds(p, ag->name, w->uid, w->gids, (size_t)w->ngids, &b, &nb) < 0)
		return -1;
	*r = (struct perm_req){ .p = p, .a = ag, .ctx = ctx, .bounds = b, .nbounds = nb };
	return 0;
}

/* Whether the user may launch the agent at all, as the daemon judges a
 * launch; when not, says so: there is no session to explain or show. */
static bool may_launch(const struct policy *p, const struct agent *ag, const struct who *w)
{
	if (policy_may_dispatch(p, ag->name, w->uid, w->gids, (size_t)w->ngids))
		return true;
	printf("deny: uid %u may not launch agent '%s' (layer: dispatcher bound)\n",
	       (unsigned)w->uid, ag->name);
	return false;
}

/* Held until an approver decides: exit status 3. */
static int explain_approve(const struct policy *p, uint32_t rule)
{
	printf("approve: held for an approver by ");
	print_rule(p, rule);
	return 3;
}

/* An exec the grants allow through an approve rule, or a connect no
 * grant, denial or bound decides that an approve rule covers. */
static const struct approve_rule *held_by(const struct agent *ag, const struct policy_args *a,
					  const struct verdict *v)
{
	uint8_t addr[16];
	uint16_t port;

	if (a->exec && v->allow)
		return agent_approve_rule(ag, v->rule);
	if (!a->connect || v->allow || v->rule || v->layer != LAYER_AGENT ||
	    parse_dest(a->connect, addr, &port))
		return NULL;
	return agent_approve_connect(ag, addr, port);
}

static int explain(const struct policy *p, const struct agent *ag, const struct policy_args *a)
{
	struct eval_ctx ctx;
	struct perm_req r;
	struct verdict v;
	struct who w;
	char ws[PATH_MAX];
	int rc;

	if (!!a->exec + !!a->open + !!a->connect != 1)
		return policy_usage();
	if (perm_of(p, ag, a, &w, &ctx, &r) < 0)
		return 2;
	if (!may_launch(p, ag, &w)) {
		free((void *)r.bounds);
		return 1;
	}
	session_dirs(ag, a, ws);
	r.vars = (struct bind_vars){ ws, a->home ? a->home : ag->home ? ag->home : ws,
				     ctx.user };
	if (a->connect) {
		uint8_t addr[16];
		uint16_t port;

		if (parse_dest(a->connect, addr, &port)) {
			fprintf(stderr, "pinfold: bad destination '%s': use ADDR:PORT or "
					"[ADDR]:PORT\n", a->connect);
			free((void *)r.bounds);
			return 2;
		}
		rc = perm_explain_connect(&r, addr, port, &v);
	} else {
		rc = perm_explain_path(&r, a->exec ? a->exec : a->open,
				       a->exec ? ACC_EXEC : a->write ? ACC_WRITE : ACC_READ, &v);
	}
	free((void *)r.bounds);
	if (rc < 0)
		return 2;
	if (held_by(ag, a, &v))
		return explain_approve(p, held_by(ag, a, &v)->rule);
	printf("%s: ", v.allow ? "allow" : "deny");
	print_rule(p, v.rule);
	if (!v.allow)
		printf("layer: %s\n", layer_name(v.layer));
	return v.allow ? 0 : 1;
}

static void show_runs_as(const struct agent *ag, const struct who *w, size_t nbounds)
{
	if (ag->has_uid || w->uid == 0)
		printf("  runs as a service uid: the dispatcher's bound rests on pinfold's "
		       "layers alone (Landlock, cgroup BPF, seccomp)\n");
	else
		printf("  runs as uid %u, the dispatcher's, with no_new_privs and no "
		       "capabilities: Unix permissions hold it to that user too\n",
		       (unsigned)w->uid);
	if (!nbounds)
		printf("  no bound in users.d applies: unbounded (root only)\n");
}

static int show(const struct policy *p, const struct agent *ag, const struct policy_args *a)
{
	struct net_entry *t = NULL;
	struct net_grant *nv = NULL;
	struct diag d = { 0 };
	struct eval_ctx ctx;
	struct perm_req r;
	struct grants *g;
	char ws[PATH_MAX];
	struct who w;
	size_t nn = 0;
	int n;

	if (perm_of(p, ag, a, &w, &ctx, &r) < 0)
		return 2;
	if (!may_launch(p, ag, &w)) {
		free((void *)r.bounds);
		return 1;
	}
	session_dirs(ag, a, ws);
	r.vars = (struct bind_vars){ ws, a->home ? a->home : ag->home ? ag->home : ws, ctx.user };
	g = grants_for(&r, &d);
	printf("agent %s (%s)%s\n", ag->name, ag->file, ag->enabled ? "" : ", disabled");
	show_runs_as(ag, &w, r.nbounds);
	for (size_t i = 0; g && i < g->npaths; i++) {
		const struct bound_path *bp = &g->paths[i];

		printf("  %c%c%c %s   ", bp->access & ACC_READ ? 'r' : '-',
		       bp->access & ACC_WRITE ? 'w' : '-', bp->access & ACC_EXEC ? 'x' : '-',
		       bp->path);
		print_rule(p, bp->rule);
	}
	for (size_t i = 0; g && i < g->ndenies; i++) {
		printf("  deny %s   ", g->denies[i].path);
		print_rule(p, g->denies[i].rule);
	}
	grants_free(g);
	n = net_list_for(&r, &nv, &nn) < 0 ? -1 : net_table(nv, nn, ag->file, &t, &d);
	for (int i = 0; i < n; i++) {
		char pfx[NET_PREFIX_STRLEN];

		net_prefix_format(t[i].addr, t[i].prefix, pfx, sizeof(pfx));
		for (uint32_t k = 0; k < t[i].value.nranges; k++) {
			printf("  connect %s port %u-%u   ", pfx, t[i].value.r[k].lo,
			       t[i].value.r[k].hi);
			print_rule(p, t[i].value.r[k].rule);
		}
	}
	for (size_t i = 0; i < d.n; i++)
		fprintf(stderr, "%s\n", d.msgs[i]);
	free(t);
	free(nv);
	free((void *)r.bounds);
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

	a.check = !strcmp(verb, "check");
	if (parse(argc - 1, argv + 1, &a))
		return policy_usage();
	if (strcmp(verb, "check") && strcmp(verb, "explain") && strcmp(verb, "show"))
		return policy_usage();
	/* For explain and show, 1 is a deny: a configuration that does not
	 * load, like an agent it does not have, must not read as one. */
	p = load(&a);
	if (!p)
		return a.check ? 1 : 2;
	if (!strcmp(verb, "check")) {
		if (c->verbose)
			printf("%s: %zu agent(s), %zu rule(s), policy %s\n", a.config_dir, p->nagents,
			       p->nrules, p->hash_hex);
		policy_free(p);
		return 0;
	}
	ag = find_agent(p, a.agent, a.config_dir);
	if (!ag) {
		policy_free(p);
		return a.agent ? 2 : policy_usage();
	}
	rc = !strcmp(verb, "explain") ? explain(p, ag, &a) : show(p, ag, &a);
	policy_free(p);
	return rc;
}
