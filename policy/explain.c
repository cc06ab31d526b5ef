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

/* The permission at each stage, compiled once: [0] the whole, then each
 * of stages[] in turn. */
#define NSTAGES (1 + sizeof(stages) / sizeof(stages[0]))

struct perm_stages {
	const struct policy *p;
	struct grants *g[NSTAGES];
	struct net_grant *nets[NSTAGES];
	size_t nnets[NSTAGES];
};

struct perm_stages *perm_stages_build(const struct perm_req *r)
{
	struct perm_stages *st = calloc(1, sizeof(*st));
	struct perm_req s = *r;

	if (!st)
		return NULL;
	st->p = r->p;
	for (size_t i = 0; i < NSTAGES; i++) {
		s.flags = i ? stages[i - 1] : 0;
		st->g[i] = grants_for(&s, NULL);
		if (!st->g[i] || net_list_for(&s, &st->nets[i], &st->nnets[i]) < 0) {
			perm_stages_free(st);
			return NULL;
		}
	}
	return st;
}

void perm_stages_free(struct perm_stages *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < NSTAGES; i++) {
		grants_free(st->g[i]);
		free(st->nets[i]);
	}
	free(st);
}

/* One request: a path with access bits, or an address and port. */
struct request {
	const char *path;
	unsigned access;
	const uint8_t *addr;
	uint16_t port;
};

static bool decide(const struct perm_stages *st, size_t i, const struct request *q,
		   uint32_t *rule)
{
	if (q->path)
		return grants_check_path(st->g[i], q->path, q->access, rule);
	return net_check(st->nets[i], st->nnets[i], q->addr, q->port, rule);
}

static void explain(const struct perm_stages *st, const struct request *q, struct verdict *v)
{
	uint32_t rule, prev = 0;
	const struct rule *ru;

	v->allow = decide(st, 0, q, &v->rule);
	v->layer = LAYER_DEFAULT;
	if (v->allow)
		return;
	if (v->rule) {
		ru = policy_rule(st->p, v->rule);
		v->layer = ru && ru->deny ? ru->layer : LAYER_AGENT;
		return;
	}
	for (size_t i = 1; i < NSTAGES; i++) {
		if (!decide(st, i, q, &rule)) {
			v->layer = stage_layer[i - 1];
			v->rule = prev;
			return;
		}
		prev = rule;
	}
	/* Every stage allows and the whole refuses: only a denial can, and a
	 * denial is named above, so this is not reached; say the bound. */
	v->layer = LAYER_BOUND;
	v->rule = prev;
}

void perm_stages_explain_path(const struct perm_stages *st, const char *path, unsigned access,
			      struct verdict *v)
{
	struct request q = { .path = path, .access = access };

	explain(st, &q, v);
}

void perm_stages_explain_connect(const struct perm_stages *st, const uint8_t addr[16],
				 uint16_t port, struct verdict *v)
{
	struct request q = { .addr = addr, .port = port };

	explain(st, &q, v);
}

int perm_explain_path(const struct perm_req *r, const char *path, unsigned access,
		      struct verdict *v)
{
	struct perm_stages *st = perm_stages_build(r);

	if (!st)
		return -1;
	perm_stages_explain_path(st, path, access, v);
	perm_stages_free(st);
	return 0;
}

int perm_explain_connect(const struct perm_req *r, const uint8_t addr[16], uint16_t port,
			 struct verdict *v)
{
	struct perm_stages *st = perm_stages_build(r);

	if (!st)
		return -1;
	perm_stages_explain_connect(st, addr, port, v);
	perm_stages_free(st);
	return 0;
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
