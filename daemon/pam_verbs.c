// SPDX-License-Identifier: GPL-2.0-only
/*
 * The verbs pam_pinfold.so calls: pam-account (may this service account
 * log in: is its agent active?) and pam-open (tag the calling login
 * process as a session of the account's agent, and hand it the
 * restrictions it must apply to itself).
 *
 * The process tagged is the caller itself, as SO_PEERCRED names it,
 * never one the message names: a client can put only itself into an
 * agent's cgroup.
 *
 * Landlock and seccomp bind only the process that applies them, so the
 * login process applies them itself, from what pam-open sends: the
 * ruleset, the seccomp program and a socket. On that socket it answers
 * once, {"restricted": true} (with "listener": N, the descriptor number
 * of its seccomp listener, when the agent has approve grants) or
 * {"restricted": false, "error": ...}; the daemon replies {"ok": ...}.
 * A session whose login does not answer that it is restricted, within
 * PAM_RESTRICT_WAIT_MS, is ended: its processes are killed.
 *
 * The listener is taken with pidfd_getfd from the adopted process
 * itself, not sent over the socket: the filter asks the daemon about
 * every sendmsg with approve grants for connects, except on
 * LISTENER_SOCK_FD, and a login program's descriptors are its own.
 */
#include <errno.h>
#include <linux/seccomp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "daemon/pinfoldd.h"
#include "daemon/proto.h"

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
		snprintf(err, sizeof(err), "service account '%s' of agent '%s' has no passwd entry",
			 user, a->name);
	/* The policy refuses a root unix_user when it is loaded; an account
	 * given uid 0 since then is refused here. */
	else if (pw->pw_uid == 0)
		snprintf(err, sizeof(err), "service account '%s' of agent '%s' is uid 0, which "
			 "keeps every capability", user, a->name);
	s = pw && pw->pw_uid ? session_adopt(d, a, q->who->pid, pw->pw_uid, user, q->reply_fds,
					     err, sizeof(err))
			     : NULL;
	if (!s) {
		record_run_refused(d, a->name, q->who->uid, err);
		return reply_err("%s", err);
	}
	*q->nreply_fds = ADOPT_FDS;
	return json_pack("{s:b,s:s,s:I,s:s,s:b}", "ok", 1, "agent", a->name, "session",
			 (json_int_t)s->id, "cgroup", s->cgroup_path, "listener", s->approve != 0);
}

static void record_restrict(struct daemon *d, struct session *s, const char *error)
{
	json_t *rec = audit_base(d, "session-restrict");

	json_object_set_new(rec, "session", json_integer((json_int_t)s->id));
	json_object_set_new(rec, "agent", json_string(s->agent));
	json_object_set_new(rec, "pid", json_integer(s->pid));
	json_object_set_new(rec, "outcome", json_string(error ? "failed" : "applied"));
	if (error)
		json_object_set_new(rec, "error", json_string(error));
	else
		json_object_set_new(rec, "layers",
				    json_pack("[s,s,s]", "no_new_privs", "landlock", "seccomp"));
	json_object_set_new(rec, "approvals", json_string(s->approve ? "held" : "none"));
	json_object_set_new(rec, "policy", json_string(d->policy->hash_hex));
	audit_record(d, rec);
	audit_flush(d, true);
}

/* The answer to the login, then no more of its socket. */
static void restrict_done(struct daemon *d, struct session *s, const char *error)
{
	json_t *m = error ? json_pack("{s:b,s:s}", "ok", 0, "error", error)
			  : json_pack("{s:b}", "ok", 1);

	/* A login that is gone or does not read loses only this reply. */
	proto_send(s->restrict_fd, m, NULL, 0);
	json_decref(m);
	epoll_ctl(d->epfd, EPOLL_CTL_DEL, s->restrict_fd, NULL);
	close(s->restrict_fd);
	s->restrict_fd = -1;
	record_restrict(d, s, error);
}

void pam_restrict_fail(struct daemon *d, struct session *s, const char *why)
{
	log_error("session %llu (agent %s): login pid %d is not restricted: %s; ending it",
		  (unsigned long long)s->id, s->agent, (int)s->pid, why);
	/* Killed while it waits for the reply, so that nothing of the login
	 * runs on after the refusal. */
	session_kill(d, s, "restrictions not applied");
	restrict_done(d, s, why);
}

/* The adopted process's seccomp listener, by its number there. */
static int take_listener(struct daemon *d, struct session *s, json_int_t n, char *why,
			 size_t whylen)
{
	char link[64], target[64];
	ssize_t len;
	int fd = -1;

	if (n >= 0 && n <= INT_MAX && s->pidfd >= 0)
		fd = (int)syscall(SYS_pidfd_getfd, s->pidfd, (int)n, 0);
	if (fd < 0) {
		snprintf(why, whylen, "cannot take its seccomp listener (descriptor %lld): %s",
			 (long long)n, strerror(errno));
		return -1;
	}
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	len = readlink(link, target, sizeof(target) - 1);
	target[len > 0 ? len : 0] = 0;
	if (strcmp(target, "anon_inode:seccomp notify")) {
		snprintf(why, whylen, "its descriptor %lld is '%s', not a seccomp listener",
			 (long long)n, target);
		close(fd);
		return -1;
	}
	s->notify_fd = fd;
	return epoll_add(d, fd, TAG_NOTIFY, EPOLLIN);
}

/* What the kernel shows of the login's restrictions: no_new_privs and a
 * seccomp filter. Landlock has no such trace at ABI 7; it is the
 * module's word alone. */
static int check_proc_status(struct session *s, char *why, size_t whylen)
{
	char path[64], line[256];
	int nnp = -1, mode = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)s->pid);
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "NoNewPrivs: %d", &nnp) != 1)
			sscanf(line, "Seccomp: %d", &mode);
	if (f)
		fclose(f);
	if (nnp == 1 && mode == SECCOMP_MODE_FILTER)
		return 0;
	snprintf(why, whylen, "it says it is restricted, but '%s' shows NoNewPrivs %d, "
		 "Seccomp %d", path, nnp, mode);
	return -1;
}

void pam_restrict_ready(struct daemon *d, struct session *s)
{
	int fds[PROTO_FDS_MAX], nfds = 0, r;
	json_t *m = NULL;
	char why[512];

	r = proto_recv(s->restrict_fd, &m, fds, &nfds);
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	if (r == -EAGAIN)
		return;
	if (r)
		snprintf(why, sizeof(why), "no answer from the login process: %s",
			 strerror(-r));
	else if (!json_is_true(json_object_get(m, "restricted")))
		snprintf(why, sizeof(why), "%s",
			 json_string_value(json_object_get(m, "error")) ?: "no reason given");
	else if (!check_proc_status(s, why, sizeof(why)) &&
		 (!s->approve || !take_listener(d, s, json_integer_value(json_object_get(
						m, "listener")), why, sizeof(why))))
		why[0] = 0;
	json_decref(m);
	if (why[0])
		pam_restrict_fail(d, s, why);
	else
		restrict_done(d, s, NULL);
}
