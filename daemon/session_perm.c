// SPDX-License-Identifier: GPL-2.0-only
/*
 * A session's effective permission: the agent's grants whose conditions
 * hold, cut to its dispatcher's bound, less every denial; put in the
 * kernel's maps at start, judged again at each condition boundary and at
 * each reload.
 *
 * Network grants move with the conditions (the session's map entries are
 * rewritten). Landlock rules cannot change in a running process, so a
 * lapsed condition under a path grant freezes or ends the session, and a
 * reload leaves the Landlock rules a session started with, which its
 * records say.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/pinfoldd.h"

/* Re-judge at least this often, so a clock or zone change is seen. */
#define EVAL_MAX_S 60

static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

int session_perm(struct daemon *d, const struct policy *p, struct session *s,
		 const struct agent *a, struct eval_ctx *ctx, struct perm_req *r)
{
	const struct bound **bounds = NULL;
	size_t n = 0;

	(void)d;
	*ctx = (struct eval_ctx){
		.agent = a, .uid = s->dispatcher_uid, .user = s->dispatcher_name,
		.gids = s->dispatcher_gids, .ngids = s->ndispatcher_gids,
		.launch = s->adopted ? "pam" : "run",
		.tty = s->tty, .start = s->started, .now = now_s(),
	};
	if (perm_bounds(p, a->name, s->dispatcher_uid, s->dispatcher_gids,
			s->ndispatcher_gids, &bounds, &n) < 0)
		return -1;
	*r = (struct perm_req){ .p = p, .a = a, .ctx = ctx, .bounds = bounds, .nbounds = n };
	return 0;
}

static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/* The allow rules of a network table, sorted: what the session holds. */
static uint32_t *held_of(const struct net_entry *t, int n, size_t *count)
{
	uint32_t *v = calloc((size_t)(n > 0 ? n : 1) * NET_RANGES_MAX, sizeof(*v));
	size_t k = 0;

	if (!v)
		return NULL;
	for (int i = 0; i < n; i++)
		for (uint32_t j = 0; j < t[i].value.nranges; j++)
			v[k++] = t[i].value.r[j].rule;
	qsort(v, k, sizeof(*v), u32_cmp);
	*count = k;
	return v;
}

/* Whether every rule of old is still in new (both sorted). */
static bool still_held(const uint32_t *old, size_t nold, const uint32_t *new, size_t nnew)
{
	for (size_t i = 0, j = 0; i < nold; i++) {
		while (j < nnew && new[j] < old[i])
			j++;
		if (j == nnew || new[j] != old[i])
			return false;
	}
	return true;
}

/* Write the session's network into the kernel; *lost says whether a
 * grant it held before is gone. */
static int apply_net(struct daemon *d, struct session *s, const struct perm_req *r, bool *lost)
{
	const struct unix_grant **u = NULL;
	struct net_entry *t = NULL;
	struct net_grant *v = NULL;
	struct diag dg = { 0 };
	size_t nv = 0, nu = 0, nheld = 0;
	uint32_t *held = NULL;
	int n = -1, rc = -1;

	if (net_list_for(r, &v, &nv) < 0 || unix_list_for(r, &u, &nu) < 0)
		goto out;
	n = net_table(v, nv, r->a->file, &t, &dg);
	for (size_t i = 0; i < dg.n; i++)
		log_error("session %llu: %s", (unsigned long long)s->id, dg.msgs[i]);
	/* A table that does not fit withdraws the network: never more. */
	if (n < 0)
		n = 0;
	held = held_of(t, n, &nheld);
	if (!held)
		goto out;
	*lost = !still_held(s->held_rules, s->nheld, held, nheld);
	rc = bpf_session_net(d, s->net_id, t, n, u, nu);
	free(s->held_rules);
	s->held_rules = held;
	s->nheld = nheld;
	held = NULL;
out:
	diag_free(&dg);
	free(held);
	free(t);
	free(v);
	free(u);
	return rc;
}

/* Conditions the session's Landlock grants were built on: each
 * conditional path grant of the agent or of its bounds that held. */
static int note_landlock_conds(struct session *s, const struct perm_req *r)
{
	const struct grant_set *sets[64];
	size_t nsets = 0, n = 0;
	uint32_t *v;

	sets[nsets++] = &r->a->set;
	for (size_t i = 0; i < r->nbounds && nsets < 64; i++)
		sets[nsets++] = &r->bounds[i]->set;
	for (size_t i = 0; i < nsets; i++)
		n += sets[i]->npaths;
	v = calloc(n + 1, sizeof(*v));
	if (!v)
		return -1;
	n = 0;
	for (size_t i = 0; i < nsets; i++)
		for (size_t j = 0; j < sets[i]->npaths; j++) {
			const struct path_grant *g = &sets[i]->paths[j];

			if (g->cond && !g->deny && cond_holds(r->p, g->cond, r->ctx))
				v[n++] = g->cond;
		}
	free(s->landlock_conds);
	s->landlock_conds = v;
	s->nlandlock_conds = n;
	return 0;
}

static bool landlock_lapsed(const struct session *s, const struct perm_req *r)
{
	for (size_t i = 0; i < s->nlandlock_conds; i++)
		if (!cond_holds(r->p, s->landlock_conds[i], r->ctx))
			return true;
	return false;
}

/* The next time any condition of the agent or its bounds may change. */
static int64_t next_boundary(const struct perm_req *r)
{
	int64_t best = EVAL_MAX_S;
	bool timed = false;

	for (size_t i = 1; i < r->p->nconds; i++) {
		int64_t n;

		if (!r->p->conds[i].timed)
			continue;
		timed = true;
		n = cond_next_change(r->p, (uint32_t)i, r->ctx);
		if (n < best)
			best = n;
	}
	return timed ? r->ctx->now + best : INT64_MAX;
}

int session_perm_start(struct daemon *d, struct session *s, const struct perm_req *r)
{
	bool lost;

	if (note_landlock_conds(s, r) < 0 || apply_net(d, s, r, &lost) < 0)
		return -1;
	s->next_eval = next_boundary(r);
	return 0;
}

static void record_change(struct daemon *d, struct session *s, const char *why,
			  const char *action)
{
	json_t *rec = audit_base(d, "session-condition");

	json_object_set_new(rec, "session", json_integer((json_int_t)s->id));
	json_object_set_new(rec, "agent", json_string(s->agent));
	json_object_set_new(rec, "reason", json_string(why));
	json_object_set_new(rec, "action", json_string(action));
	json_object_set_new(rec, "network_rules", json_integer((json_int_t)s->nheld));
	json_object_set_new(rec, "policy", json_string(d->policy->hash_hex));
	audit_record(d, rec);
	log_info("session %llu (agent %s): %s: %s", (unsigned long long)s->id, s->agent, why,
		 action);
}

/* What the agent's on_revoke asks for, given what lapsed. */
static const char *revoke(struct daemon *d, struct session *s, const struct agent *a,
			  bool net_lost, bool path_lost)
{
	enum revoke_action act = a ? a->on_revoke : REVOKE_END;

	if (!net_lost && !path_lost) {
		/* A session frozen on request stays so until thawed on request. */
		if (s->frozen && !s->held && !cgroup_freeze(s->cgroup_path, false)) {
			s->frozen = false;
			return "thawed: its conditions hold again";
		}
		return NULL;
	}
	if (act == REVOKE_FREEZE) {
		if (s->frozen || cgroup_freeze(s->cgroup_path, true))
			return s->frozen ? NULL : (session_end(d, s, "condition lapsed"), "ended");
		s->frozen = true;
		return "frozen";
	}
	if (act == REVOKE_END || path_lost) {
		session_end(d, s, "condition lapsed");
		return path_lost && act == REVOKE_WITHDRAW
			       ? "ended: a path grant lapsed, which Landlock cannot withdraw"
			       : "ended";
	}
	return "network withdrawn in the kernel";
}

void session_reevaluate(struct daemon *d, struct session *s, const char *why)
{
	const struct agent *a = policy_agent(d->policy, s->agent);
	struct eval_ctx ctx;
	struct perm_req r;
	bool net_lost = false, path_lost;
	const char *act;

	if (s->ending)
		return;
	/* The conditions or the policy moved: explanations are built anew. */
	perm_stages_free(s->explain);
	s->explain = NULL;
	if (!a) {
		bpf_session_net(d, s->net_id, NULL, 0, NULL, 0);
		session_end(d, s, "agent removed from the policy");
		record_change(d, s, why, "ended: the agent is no longer in the policy");
		return;
	}
	if (session_perm(d, d->policy, s, a, &ctx, &r) < 0) {
		log_error("session %llu: out of memory judging its conditions",
			  (unsigned long long)s->id);
		return;
	}
	if (apply_net(d, s, &r, &net_lost) < 0) {
		/* The entries may be half written: withdraw them all. */
		bpf_session_net(d, s->net_id, NULL, 0, NULL, 0);
		net_lost = true;
	}
	path_lost = landlock_lapsed(s, &r);
	s->next_eval = next_boundary(&r);
	act = revoke(d, s, a, net_lost, path_lost);
	if (act)
		record_change(d, s, why, act);
	free((void *)r.bounds);
}

void session_conditions_due(struct daemon *d)
{
	int64_t now = now_s();

	for (struct session *s = d->sessions; s; s = s->next)
		if (!s->ending && s->next_eval <= now)
			session_reevaluate(d, s, "condition boundary");
}

/* The explanation of a denial, as pinfold policy explain gives it: the
 * rule and the layer. The stages are compiled at the session's first
 * denial and kept until its permission is judged again, so a burst of
 * denials costs lookups, not rebuilds. */
static struct perm_stages *stages_of(struct daemon *d, struct session *s)
{
	const struct agent *a = policy_agent(d->policy, s->agent);
	struct eval_ctx ctx;
	struct perm_req r;

	if (s->explain)
		return s->explain;
	if (!a || session_perm(d, d->policy, s, a, &ctx, &r) < 0)
		return NULL;
	/* A PAM login has no workspace (""). */
	r.vars = (struct bind_vars){ *s->workspace ? s->workspace : NULL, s->home,
				     s->dispatcher_name };
	s->explain = perm_stages_build(&r);
	free((void *)r.bounds);
	return s->explain;
}

bool session_explain_path(struct daemon *d, struct session *s, const char *path,
			  unsigned access, struct verdict *v)
{
	struct perm_stages *st = stages_of(d, s);

	if (st)
		perm_stages_explain_path(st, path, access, v);
	return st != NULL;
}

bool session_explain_connect(struct daemon *d, struct session *s, const uint8_t addr[16],
			     uint16_t port, struct verdict *v)
{
	struct perm_stages *st = stages_of(d, s);

	if (st)
		perm_stages_explain_connect(st, addr, port, v);
	return st != NULL;
}
