// SPDX-License-Identifier: GPL-2.0-only
/*
 * The inventory of agent identities (the agents verb): every agent of
 * the policy, files' and the identity provider's, with its status, where
 * it came from, its owner and roles, who may dispatch it, its live
 * sessions and their processes, its last activity and its denials of the
 * last 24 hours.
 *
 * Activity and denials are rolled up from the sessions' counters once a
 * loop of the daemon, into 24 hourly buckets per agent, so the event path
 * pays nothing for them. They count from the daemon's start.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <time.h>

#include "daemon/pinfoldd.h"

#define HOUR_NS (3600LL * 1000000000LL)

struct agent_stats {
	char name[64];
	int64_t active_ns;
	int64_t hour[24];	/* which hour (ns / HOUR_NS) bucket i counts */
	uint64_t denials[24];
	struct agent_stats *next;
};

static struct agent_stats *stats;

static struct agent_stats *stats_of(const char *name)
{
	struct agent_stats *a;

	for (a = stats; a; a = a->next)
		if (!strcmp(a->name, name))
			return a;
	a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	snprintf(a->name, sizeof(a->name), "%s", name);
	a->next = stats;
	stats = a;
	return a;
}

void inventory_roll(struct daemon *d)
{
	int64_t now = 0, hour;

	for (struct session *s = d->sessions; s; s = s->next) {
		struct agent_stats *a;
		uint64_t delta = s->denials - s->denials_seen;

		if (!delta && s->active_ns <= s->rolled_active_ns)
			continue;
		a = stats_of(s->agent);
		if (!a)
			continue;
		if (!now)
			now = audit_now_ns();
		hour = now / HOUR_NS;
		if (a->hour[hour % 24] != hour) {
			a->hour[hour % 24] = hour;
			a->denials[hour % 24] = 0;
		}
		a->denials[hour % 24] += delta;
		s->denials_seen = s->denials;
		s->rolled_active_ns = s->active_ns;
		if (s->active_ns > a->active_ns)
			a->active_ns = s->active_ns;
	}
}

static uint64_t denials_24h(const struct agent_stats *a, int64_t now)
{
	int64_t hour = now / HOUR_NS;
	uint64_t n = 0;

	for (int i = 0; a && i < 24; i++)
		if (a->hour[i] > hour - 24 && a->hour[i] <= hour)
			n += a->denials[i];
	return n;
}

static json_t *time_or_null(int64_t ns)
{
	char buf[32];

	if (!ns)
		return json_null();
	format_utc(ns / 1000000000, buf);
	return json_string(buf);
}

static json_t *source_json(struct daemon *d, const struct agent *a)
{
	json_t *e = idp_agent_entry(d, a);

	if (!idp_is_provider_agent(a))
		return json_pack("{s:s,s:s}", "kind", "file", "file", a->file);
	return json_pack("{s:s,s:s,s:O?,s:O?,s:O?}", "kind", "idp", "key", a->file + 4,
			 "externalId", json_object_get(e, "externalId"), "id",
			 json_object_get(e, "id"), "reason", json_object_get(e, "reason"));
}

/* Root's groups as a login or sudo gives them (initgroups), since a bound
 * naming one of them bounds root too. */
static int root_groups(gid_t *gids, int max)
{
	int n = max;

	if (getgrouplist("root", 0, gids, &n) < 0)
		return max;
	return n;
}

/* Who may start this agent's sessions, by the bounds of users.d: user
 * names and numbers as written, groups as "@name". NULL when memory runs
 * out. */
static json_t *dispatchers_json(struct daemon *d, const struct agent *a, const gid_t *root_gids,
				int nroot)
{
	struct dispatcher *v;
	json_t *out;
	int n = policy_dispatchers(d->policy, a->name, root_gids, (size_t)nroot, &v);

	if (n < 0)
		return NULL;
	out = json_array();
	for (int i = 0; out && i < n; i++)
		json_array_append_new(out, json_sprintf("%s%s", v[i].group ? "@" : "", v[i].name));
	free(v);
	return out;
}

/* The roles as the agent lists them: its file's "roles =", or those the
 * identity provider's groups map to. */
static json_t *roles_json(const struct agent *a)
{
	json_t *out = json_array();

	for (size_t i = 0; out && i < a->nroles; i++)
		json_array_append_new(out, json_string(a->roles[i]));
	return out;
}

static json_t *agent_json(struct daemon *d, const struct agent *a, int64_t now_ns,
			  const gid_t *root_gids, int nroot)
{
	struct agent_stats *st = stats_of(a->name);
	json_t *sessions = json_array();
	int64_t active = st ? st->active_ns : 0;

	for (struct session *s = d->sessions; s; s = s->next) {
		if (strcmp(s->agent, a->name))
			continue;
		json_array_append_new(sessions, session_json(s));
		if (s->active_ns > active)
			active = s->active_ns;
	}
	return json_pack("{s:s,s:s,s:o,s:s?,s:o,s:o,s:o,s:o,s:I,s:s?}", "name", a->name, "status",
			 agent_status(d, a, now_ns / 1000000000), "source", source_json(d, a),
			 "owner", a->owner, "roles", roles_json(a), "dispatchers",
			 dispatchers_json(d, a, root_gids, nroot), "sessions", sessions,
			 "last_activity", time_or_null(active), "denials_24h",
			 (json_int_t)denials_24h(st, now_ns), "unix_user", a->unix_user);
}

/* A provider agent the policy left out (a role roles.d lacks): listed, so
 * that it does not vanish, with why; it is in no policy, so cannot run. */
static json_t *invalid_json(struct daemon *d, json_t *inv, int64_t now_ns)
{
	const char *key = json_string_value(json_object_get(inv, "key"));
	json_t *e = json_object_get(json_object_get(d->idp_state, "agents"), key);
	json_t *roles = json_object_get(e, "roles");
	struct agent_stats *st = stats_of(json_string_value(json_object_get(inv, "name")));

	return json_pack("{s:O,s:s,s:O,s:{s:s,s:s,s:O?,s:O?,s:O?},s:O?,s:o,s:[],s:[],s:o,s:I,s:n}",
			 "name", json_object_get(inv, "name"), "status", "invalid", "reason",
			 json_object_get(inv, "reason"), "source", "kind", "idp", "key", key,
			 "externalId", json_object_get(e, "externalId"), "id",
			 json_object_get(e, "id"), "reason", json_object_get(e, "reason"), "owner",
			 json_object_get(e, "owner"), "roles",
			 roles ? json_incref(roles) : json_array(), "dispatchers", "sessions",
			 "last_activity", time_or_null(st ? st->active_ns : 0),
			 "denials_24h", (json_int_t)denials_24h(st, now_ns), "unix_user");
}

json_t *inventory_verb(struct daemon *d, const struct admin_req *q)
{
	int64_t now = audit_now_ns();
	json_t *agents = json_array();
	gid_t root_gids[64];
	int nroot = root_groups(root_gids, 64);

	(void)q;
	inventory_roll(d);
	for (size_t i = 0; i < d->policy->nagents; i++)
		json_array_append_new(agents, agent_json(d, &d->policy->agents[i], now, root_gids,
							 nroot));
	for (size_t i = 0; i < json_array_size(d->idp_invalid); i++) {
		json_t *inv = json_array_get(d->idp_invalid, i);

		json_array_append_new(agents, invalid_json(d, inv, now));
	}
	return json_pack("{s:b,s:o}", "ok", 1, "agents", agents);
}
