// SPDX-License-Identifier: GPL-2.0-only
/*
 * Dispatcher bounds (users.d): which bounds apply to a user, whether the
 * user may launch an agent, and the load-time checks of the files.
 */
#include <stdio.h>
#include <string.h>

#include "policy/policy_int.h"

static bool bound_names_agent(const struct bound *b, const char *agent)
{
	for (size_t i = 0; i < b->nagents; i++)
		if (!strcmp(b->agents[i], "*") || !strcmp(b->agents[i], agent))
			return true;
	return false;
}

/* Whether two patterns can meet: one lies within the other. A pattern
 * with a variable is known only per session, so it may meet anything. */
static bool paths_meet(const struct path_grant *a, const struct path_grant *b)
{
	size_t na = strlen(a->pattern), nb = strlen(b->pattern);
	const struct path_grant *s = na <= nb ? a : b, *l = na <= nb ? b : a;
	size_t n = na <= nb ? na : nb;

	if (a->pattern[0] != '/' || b->pattern[0] != '/' || strstr(a->pattern, "${") ||
	    strstr(b->pattern, "${"))
		return true;
	return n == 1 || (!strncmp(s->pattern, l->pattern, n) &&
			  (l->pattern[n] == '/' || l->pattern[n] == '\0'));
}

static bool path_in_some_bound(const struct policy *p, const char *agent,
			       const struct path_grant *g)
{
	unsigned want = g->access & ACC_EXEC ? ACC_EXEC : g->access;

	for (size_t i = 0; i < p->nbounds; i++) {
		const struct grant_set *b = &p->bounds[i].set;

		if (!bound_names_agent(&p->bounds[i], agent))
			continue;
		for (size_t j = 0; j < b->npaths; j++) {
			unsigned gives = b->paths[j].access & ACC_EXEC ? ACC_EXEC | ACC_READ
								      : b->paths[j].access;

			if (!b->paths[j].deny && (gives & want) && paths_meet(g, &b->paths[j]))
				return true;
		}
	}
	return false;
}

static bool nets_meet(const struct net_grant *a, const struct net_grant *b)
{
	const struct net_grant *s = a->prefix <= b->prefix ? a : b, *l = s == a ? b : a;
	unsigned bits = s->prefix, k;

	if (a->port_hi < b->port_lo || b->port_hi < a->port_lo)
		return false;
	for (k = 0; k < bits; k++)
		if (((s->addr[k / 8] ^ l->addr[k / 8]) >> (7 - k % 8)) & 1)
			return false;
	return true;
}

static bool net_in_some_bound(const struct policy *p, const char *agent,
			      const struct net_grant *g)
{
	for (size_t i = 0; i < p->nbounds; i++) {
		const struct grant_set *b = &p->bounds[i].set;

		if (!bound_names_agent(&p->bounds[i], agent))
			continue;
		for (size_t j = 0; j < b->nnets; j++)
			if (!b->nets[j].deny && nets_meet(g, &b->nets[j]))
				return true;
	}
	return false;
}

static bool some_bound_names(const struct policy *p, const char *agent)
{
	for (size_t i = 0; i < p->nbounds; i++)
		if (bound_names_agent(&p->bounds[i], agent))
			return true;
	return false;
}

/* A grant no bound that lets users launch the agent can meet is dead for
 * every such session, and most likely a typo on one side or the other. */
static unsigned check_dead_grants(const struct policy *p, const struct agent *a,
				  struct diag *d)
{
	const struct rule *r;
	unsigned bad = 0;

	if (!some_bound_names(p, a->name))
		return 0;
	for (size_t i = 0; i < a->npaths; i++) {
		if (a->paths[i].deny || path_in_some_bound(p, a->name, &a->paths[i]))
			continue;
		r = policy_rule(p, a->paths[i].rule);
		diag_add(d, "%s:%d: '%s' is outside the bound of every user who may launch "
			 "agent '%s', so it never applies", r ? r->file : a->file,
			 r ? r->line : 0, r ? r->text : a->paths[i].pattern, a->name);
		bad++;
	}
	for (size_t i = 0; i < a->nnets; i++) {
		if (a->nets[i].deny || net_in_some_bound(p, a->name, &a->nets[i]) ||
		    (i && a->nets[i - 1].rule == a->nets[i].rule))
			continue;
		r = policy_rule(p, a->nets[i].rule);
		diag_add(d, "%s:%d: '%s' is outside the bound of every user who may launch "
			 "agent '%s', so it never applies", r ? r->file : a->file,
			 r ? r->line : 0, r ? r->text : "connect", a->name);
		bad++;
	}
	return bad;
}

unsigned bounds_check(struct policy *p, struct diag *d)
{
	unsigned bad = 0;

	for (size_t i = 0; i < p->nagents; i++)
		bad += check_dead_grants(p, &p->agents[i], d);

	for (size_t i = 0; i < p->nbounds; i++) {
		const struct bound *b = &p->bounds[i];

		if (!b->nuids && !b->ngids) {
			diag_add(d, "%s: names no users and no groups: add 'users =' or "
				 "'groups =' under [bound]", b->file);
			bad++;
		}
		for (size_t k = 0; k < b->nagents; k++) {
			if (strcmp(b->agents[k], "*") && !policy_agent(p, b->agents[k])) {
				diag_add(d, "%s:%d: unknown agent '%s'", b->file, b->agents_line,
					 b->agents[k]);
				bad++;
			}
		}
	}
	return bad;
}

bool bound_applies(const struct bound *b, uid_t uid, const gid_t *gids, size_t ngids)
{
	for (size_t i = 0; i < b->nuids; i++)
		if (b->uids[i] == uid)
			return true;
	for (size_t i = 0; i < b->ngids; i++)
		for (size_t j = 0; j < ngids; j++)
			if (b->gids[i] == gids[j])
				return true;
	return false;
}

bool policy_user_bounded(const struct policy *p, uid_t uid, const gid_t *gids, size_t ngids)
{
	for (size_t i = 0; i < p->nbounds; i++)
		if (bound_applies(&p->bounds[i], uid, gids, ngids))
			return true;
	return false;
}

bool policy_may_dispatch(const struct policy *p, const char *agent, uid_t uid,
			 const gid_t *gids, size_t ngids)
{
	if (!policy_user_bounded(p, uid, gids, ngids))
		return uid == 0;
	for (size_t i = 0; i < p->nbounds; i++)
		if (bound_applies(&p->bounds[i], uid, gids, ngids) &&
		    bound_names_agent(&p->bounds[i], agent))
			return true;
	return false;
}

/* Each id once: a user or group named again by a later line or bound,
 * or uid 0 named after root was listed, adds nothing. */
static void dispatcher_add(struct dispatcher *v, size_t *n, const char *name, bool group,
			   unsigned id)
{
	for (size_t i = 0; i < *n; i++)
		if (v[i].group == group && v[i].id == id)
			return;
	v[(*n)++] = (struct dispatcher){ name, group, id };
}

int policy_dispatchers(const struct policy *p, const char *agent, const gid_t *root_gids,
		       size_t nroot_gids, struct dispatcher **out)
{
	size_t max = 1, n = 0;
	struct dispatcher *v;

	for (size_t i = 0; i < p->nbounds; i++)
		max += p->bounds[i].nuids + p->bounds[i].ngids;
	*out = v = calloc(max, sizeof(*v));
	if (!v)
		return -1;
	if (policy_may_dispatch(p, agent, 0, root_gids, nroot_gids))
		dispatcher_add(v, &n, "root", false, 0);
	for (size_t i = 0; i < p->nbounds; i++) {
		const struct bound *b = &p->bounds[i];

		if (!bound_names_agent(b, agent))
			continue;
		for (size_t k = 0; k < b->nuids; k++)
			dispatcher_add(v, &n, b->user_names[k], false, b->uids[k]);
		for (size_t k = 0; k < b->ngids; k++)
			dispatcher_add(v, &n, b->group_names[k], true, b->gids[k]);
	}
	return (int)n;
}
