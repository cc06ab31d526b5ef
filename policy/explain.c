// SPDX-License-Identifier: GPL-2.0-only
/*
 * Explanations: the decision on one request and, for a denial, which layer
 * refused it. The permission is built in stages, each one layer more than
 * the last (every grant; conditions judged; the dispatcher's bound; the
 * denials), and the first stage that refuses names the layer. This runs
 * for pinfold policy explain and for the daemon's denials, never per
 * allowed event: those are decided from the session's compiled structures.
 */
#include <stdlib.h>

#include "policy/policy_int.h"

static const unsigned stages[] = {
	PERM_ALL_CONDS | PERM_NO_BOUND | PERM_NO_DENIES,
	PERM_NO_BOUND | PERM_NO_DENIES,
	PERM_NO_DENIES,
};
static const enum layer stage_layer[] = { LAYER_AGENT, LAYER_CONDITION, LAYER_BOUND };

/* A denial decided by a deny line names that line's layer. */
static void deny_layer(const struct perm_req *r, uint32_t rule, struct verdict *v)
{
	const struct rule *ru = policy_rule(r->p, rule);

	v->layer = ru && ru->deny ? ru->layer : LAYER_AGENT;
}

/* One request: a path with access bits, or an address and port. */
struct request {
	const char *path;
	unsigned access;
	const uint8_t *addr;
	uint16_t port;
};

static int path_at(const struct perm_req *r, const struct request *q, bool *allow,
		   uint32_t *rule)
{
	struct grants *g = grants_for(r, NULL);

	if (!g)
		return -1;
	*allow = grants_check_path(g, q->path, q->access, rule);
	grants_free(g);
	return 0;
}

static int net_at(const struct perm_req *r, const struct request *q, bool *allow,
		  uint32_t *rule)
{
	struct net_grant *v;
	size_t n;

	if (net_list_for(r, &v, &n) < 0)
		return -1;
	*allow = net_check(v, n, q->addr, q->port, rule);
	free(v);
	return 0;
}

typedef int decide_fn(const struct perm_req *r, const struct request *q, bool *allow,
		      uint32_t *rule);

static int explain(const struct perm_req *r, decide_fn *decide, const struct request *q,
		   struct verdict *v)
{
	struct perm_req s = *r;
	uint32_t rule, prev = 0;
	bool allow;

	s.flags = 0;
	if (decide(&s, q, &v->allow, &v->rule) < 0)
		return -1;
	v->layer = LAYER_DEFAULT;
	if (v->allow)
		return 0;
	if (v->rule) {
		deny_layer(r, v->rule, v);
		return 0;
	}
	for (size_t i = 0; i < sizeof(stages) / sizeof(stages[0]); i++) {
		s.flags = stages[i];
		if (decide(&s, q, &allow, &rule) < 0)
			return -1;
		if (!allow) {
			v->layer = stage_layer[i];
			v->rule = prev;
			return 0;
		}
		prev = rule;
	}
	/* Every stage allows and the whole refuses: only a denial can, and a
	 * denial is named above, so this is not reached; say the bound. */
	v->layer = LAYER_BOUND;
	v->rule = prev;
	return 0;
}

int perm_explain_path(const struct perm_req *r, const char *path, unsigned access,
		      struct verdict *v)
{
	struct request q = { .path = path, .access = access };

	return explain(r, path_at, &q, v);
}

int perm_explain_connect(const struct perm_req *r, const uint8_t addr[16], uint16_t port,
			 struct verdict *v)
{
	struct request q = { .addr = addr, .port = port };

	return explain(r, net_at, &q, v);
}

int perm_bounds(const struct policy *p, const char *agent, uid_t uid, const gid_t *gids,
		size_t ngids, const struct bound ***out, size_t *n)
{
	const struct bound **v = calloc(p->nbounds + 1, sizeof(*v));

	(void)agent;
	*n = 0;
	if (!v)
		return -1;
	for (size_t i = 0; i < p->nbounds; i++)
		if (bound_applies(&p->bounds[i], uid, gids, ngids))
			v[(*n)++] = &p->bounds[i];
	*out = v;
	return 0;
}
