// SPDX-License-Identifier: GPL-2.0-only
/*
 * The verbs pam_pinfold.so calls: pam-account (may this service account
 * log in: is its agent active?) and pam-open (tag the calling login
 * process as a session of the account's agent).
 *
 * The process tagged is the caller itself, as SO_PEERCRED names it,
 * never one the message names: a client can put only itself into an
 * agent's cgroup.
 */
#include <pwd.h>
#include <stdio.h>
#include <string.h>

#include "daemon/pinfoldd.h"

static const struct agent *agent_of_user(struct daemon *d, const char *user)
{
	for (size_t i = 0; i < d->policy->nagents; i++) {
		const struct agent *a = &d->policy->agents[i];

		if (a->unix_user && !strcmp(a->unix_user, user))
			return a;
	}
	return NULL;
}

json_t *pam_verb_account(struct daemon *d, const struct admin_req *q)
{
	const char *user = json_string_value(json_object_get(q->m, "user"));
	const struct agent *a = agent_of_user(d, user);
	char err[512];

	if (!a)
		return json_pack("{s:b,s:n}", "ok", 1, "agent");
	if (agent_may_run(d, a, err, sizeof(err))) {
		record_run_refused(d, a->name, q->who->uid, err);
		return json_pack("{s:b,s:s,s:s,s:s}", "ok", 1, "agent", a->name, "status",
				 agent_status(d, a, audit_now_ns() / 1000000000), "error", err);
	}
	return json_pack("{s:b,s:s,s:s}", "ok", 1, "agent", a->name, "status", "active");
}

json_t *pam_verb_open(struct daemon *d, const struct admin_req *q)
{
	const char *user = json_string_value(json_object_get(q->m, "user"));
	const struct agent *a = agent_of_user(d, user);
	struct passwd *pw;
	struct session *s;
	char err[512];

	if (!a)
		return json_pack("{s:b,s:n}", "ok", 1, "agent");
	pw = getpwnam(user);
	if (!pw)
		return reply_err("service account '%s' of agent '%s' has no passwd entry", user,
				 a->name);
	s = session_adopt(d, a, q->who->pid, pw->pw_uid, user, err, sizeof(err));
	if (!s) {
		record_run_refused(d, a->name, q->who->uid, err);
		return reply_err("%s", err);
	}
	return json_pack("{s:b,s:s,s:I,s:s}", "ok", 1, "agent", a->name, "session",
			 (json_int_t)s->id, "cgroup", s->cgroup_path);
}
