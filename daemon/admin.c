// SPDX-License-Identifier: GPL-2.0-only
/*
 * The operator verbs of the control socket: list the sessions, kill,
 * freeze and thaw them, one session or every session of an agent. Each
 * change is chained with who asked for it.
 *
 * Who may call them is decided before, from the verb table
 * (daemon/proto_request.c): sessions and agents are read verbs, the rest
 * admin verbs, since they act on every agent's sessions.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/pinfoldd.h"

json_t *reply_err(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return json_pack("{s:b,s:s}", "ok", 0, "error", buf);
}

void audit_requester(json_t *rec, const struct requester *r)
{
	json_object_set_new(rec, "by_uid", json_integer(r->uid));
	json_object_set_new(rec, "by_user", json_string(r->name));
	json_object_set_new(rec, "by_pid", json_integer(r->pid));
}

/* The time of a CLOCK_REALTIME stamp in nanoseconds, as RFC 3339 UTC. */
static json_t *time_json(int64_t ns)
{
	time_t sec = ns / 1000000000;
	struct tm tm;
	char buf[32];

	gmtime_r(&sec, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_string(buf);
}

json_t *session_json(const struct session *s)
{
	return json_pack("{s:I,s:s,s:s,s:i,s:i,s:i,s:s,s:s,s:o,s:o,s:b,s:b,s:I,s:I,s:o}",
			 "session", (json_int_t)s->id, "agent", s->agent, "via",
			 s->adopted ? "pam" : "run", "pid", s->pid, "uid", s->uid,
			 "dispatcher_uid", s->dispatcher_uid, "workspace", s->workspace, "cgroup",
			 s->cgroup_path, "started", time_json(s->started_ns), "last_activity",
			 time_json(s->active_ns), "frozen", s->frozen || s->held, "ending", s->ending,
			 "events", (json_int_t)s->events, "denials", (json_int_t)s->denials,
			 "processes", cgroup_procs_json(s->cgroup_path));
}

static json_t *verb_sessions(struct daemon *d, const struct admin_req *q)
{
	json_t *a = json_array();

	(void)q;
	for (struct session *s = d->sessions; s; s = s->next)
		json_array_append_new(a, session_json(s));
	return json_pack("{s:b,s:o}", "ok", 1, "sessions", a);
}

enum action { ACT_KILL, ACT_FREEZE, ACT_THAW };

static const char *const action_record[] = { "session-kill", "session-freeze", "session-thaw" };
static const char *const action_verb[] = { "kill", "freeze", "thaw" };

static int act_on(struct daemon *d, struct session *s, enum action act)
{
	switch (act) {
	case ACT_KILL:
		session_kill(d, s, "killed on request");
		return 0;
	case ACT_FREEZE:
		return session_freeze(s, true);
	case ACT_THAW:
		return session_freeze(s, false);
	}
	return -EINVAL;
}

static void record_action(struct daemon *d, struct session *s, enum action act,
			  const struct requester *r)
{
	json_t *rec = audit_base(d, action_record[act]);

	json_object_set_new(rec, "session", json_integer((json_int_t)s->id));
	json_object_set_new(rec, "agent", json_string(s->agent));
	audit_requester(rec, r);
	audit_record(d, rec);
}

/* The sessions a request names: "session": ID, or "agent": NAME for all
 * of that agent's. A session already ending is left out of kill. */
static json_t *act_on_selected(struct daemon *d, json_t *m, enum action act,
			       const struct requester *r)
{
	json_t *sid = json_object_get(m, "session"), *done = json_array();
	const char *agent = json_string_value(json_object_get(m, "agent"));
	char err[256] = "";
	int rc;

	if (!!json_is_integer(sid) == !!agent) {
		json_decref(done);
		return reply_err("%s needs exactly one of \"session\" (a number) or \"agent\"",
				 action_verb[act]);
	}
	for (struct session *s = d->sessions; s; s = s->next) {
		if (agent ? strcmp(s->agent, agent)
			  : s->id != (uint64_t)json_integer_value(sid))
			continue;
		if (s->ending)
			continue;
		rc = act_on(d, s, act);
		if (rc) {
			snprintf(err, sizeof(err), "session %llu: cannot write cgroup.freeze of "
				 "'%s': %s", (unsigned long long)s->id, s->cgroup_path,
				 strerror(-rc));
			continue;
		}
		record_action(d, s, act, r);
		json_array_append_new(done, json_integer((json_int_t)s->id));
	}
	audit_flush(d, true);
	if (err[0] && !json_array_size(done)) {
		json_decref(done);
		return reply_err("%s", err);
	}
	if (!json_array_size(done)) {
		json_decref(done);
		if (agent)
			return reply_err("agent '%.64s' has no running session", agent);
		return reply_err("no running session %lld", (long long)json_integer_value(sid));
	}
	return json_pack("{s:b,s:o}", "ok", 1, "sessions", done);
}

static json_t *verb_kill(struct daemon *d, const struct admin_req *q)
{
	return act_on_selected(d, q->m, ACT_KILL, q->who);
}

static json_t *verb_freeze(struct daemon *d, const struct admin_req *q)
{
	return act_on_selected(d, q->m, ACT_FREEZE, q->who);
}

static json_t *verb_thaw(struct daemon *d, const struct admin_req *q)
{
	return act_on_selected(d, q->m, ACT_THAW, q->who);
}

/* Who may call each is the verb table's (daemon/proto_request.c),
 * checked before the verb runs. */
static const struct admin_verb {
	const char *name;
	json_t *(*run)(struct daemon *d, const struct admin_req *q);
} admin_verbs[] = {
	{ "sessions", verb_sessions },
	{ "kill", verb_kill },
	{ "freeze", verb_freeze },
	{ "thaw", verb_thaw },
	{ "agents", inventory_verb },
	{ "idp-sync", idp_verb_sync },
	{ "pam-account", pam_verb_account },
	{ "pam-open", pam_verb_open },
};

json_t *admin_verb(struct daemon *d, const char *verb, const struct admin_req *q)
{
	for (size_t i = 0; i < sizeof(admin_verbs) / sizeof(admin_verbs[0]); i++)
		if (!strcmp(admin_verbs[i].name, verb))
			return admin_verbs[i].run(d, q);
	return NULL;
}
