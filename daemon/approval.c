// SPDX-License-Identifier: GPL-2.0-only
/*
 * Held actions and their approvals: the request, the decision of an
 * approver (or of the timeout), the grant a decision makes, its expiry,
 * and the chain record of each.
 *
 * An approval is released only after its record is on disk: the chain is
 * flushed and fdatasync'ed before the held syscall is answered. Requests
 * still pending are kept in STATE/approvals.pending, so that the next
 * daemon can say in its chain that they were denied when this one's
 * listeners closed.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <seccomp.h>

#include "daemon/pinfoldd.h"

#define PENDING_FILE "approvals.pending"
/* An approval for one use is good this long: time enough for the held
 * call to reach the kernel's check, not long enough to be saved up. */
#define ONCE_WINDOW_MS 10000
/* How often the held threads are checked for still being there. */
#define LIVENESS_MS 1000
/* The listing's reply stays inside one control message; requests that
 * do not fit are counted, not listed. */
#define LIST_BYTES_MAX (56 * 1024)

extern char **environ;

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static const char *action_name(const struct approval *a)
{
	if (a->kind == APPROVE_EXEC)
		return "exec";
	return a->nr == SCMP_SYS(connect) ? "connect" : "sendto";
}

/* The errno a denied action gets, as for a refusal by policy. */
static int denial_errno(const struct approval *a)
{
	return a->kind == APPROVE_EXEC ? EACCES : EPERM;
}

static json_t *user_name(uid_t uid)
{
	struct passwd *pw = getpwuid(uid);

	return pw ? json_string(pw->pw_name) : json_null();
}

/* The members every record of a request carries. */
static void request_members(struct daemon *d, json_t *o, const struct approval *a)
{
	json_object_set_new(o, "request", json_integer((json_int_t)a->id));
	json_object_set_new(o, "session", json_integer((json_int_t)a->s->id));
	json_object_set(o, "agent", a->s->agent_json);
	json_object_set_new(o, "action", json_string(action_name(a)));
	json_object_set_new(o, "object", json_string(a->object) ?: json_string("?"));
	if (a->resolved[0] && strcmp(a->resolved, a->object))
		json_object_set_new(o, "resolved", json_string(a->resolved) ?: json_string("?"));
	json_object_set(o, "rule", a->rule_json ? a->rule_json : audit_rule(d, a->rule));
}

static json_t *request_json(struct daemon *d, const struct approval *a)
{
	json_t *o = json_object();

	request_members(d, o, a);
	json_object_set_new(o, "dispatcher_uid", json_integer(a->s->dispatcher_uid));
	json_object_set_new(o, "pid", json_integer(a->pid));
	json_object_set_new(o, "timeout_s", json_integer((a->deadline_ms - a->created_ms) / 1000));
	json_object_set_new(o, "on_timeout", json_string(a->timeout_allow ? "allow" : "deny"));
	return o;
}

static void pending_path(struct daemon *d, char *buf, size_t len)
{
	snprintf(buf, len, "%s/" PENDING_FILE, d->state_dir);
}

/* Rewritten whole at each change; it is small and only read at start. */
static void pending_save(struct daemon *d)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	FILE *f;

	pending_path(d, path, sizeof(path));
	if (!d->approvals) {
		unlink(path);
		return;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "we");
	if (!f) {
		log_warn("cannot write '%s': %s", tmp, strerror(errno));
		return;
	}
	for (struct approval *a = d->approvals; a; a = a->next) {
		json_t *o = request_json(d, a);

		json_dumpf(o, f, JSON_COMPACT);
		fputc('\n', f);
		json_decref(o);
	}
	if (fclose(f) || rename(tmp, path))
		log_warn("cannot write '%s': %s", path, strerror(errno));
}

/* The optional approval_command, with the request as JSON on its stdin.
 * It runs beside the event loop; its end is collected through a pidfd. */
static void hook_run(struct daemon *d, json_t *req)
{
	const char *cmd = d->policy->conf.approval_command;
	char *argv[] = { (char *)cmd, NULL }, *text;
	posix_spawn_file_actions_t fa;
	int p[2], pidfd;
	pid_t pid;

	if (!cmd || pipe2(p, O_CLOEXEC))
		return;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[0], 0);
	if (posix_spawn(&pid, cmd, &fa, NULL, argv, environ)) {
		log_warn("cannot run approval_command '%s': %s", cmd, strerror(errno));
		pid = -1;
	}
	posix_spawn_file_actions_destroy(&fa);
	close(p[0]);
	/* A request is far smaller than a pipe's buffer: one write that
	 * cannot block. */
	text = json_dumps(req, JSON_COMPACT);
	fcntl(p[1], F_SETFL, O_NONBLOCK);
	if (text && write(p[1], text, strlen(text)) < 0)
		log_warn("approval_command '%s': cannot write the request: %s", cmd,
			 strerror(errno));
	free(text);
	close(p[1]);
	if (pid < 0)
		return;
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0 || epoll_add(d, pidfd, TAG_HOOK, EPOLLIN))
		log_warn("approval_command pid %d: cannot watch it: %s", pid, strerror(errno));
}

void approval_hook_done(struct daemon *d, int pidfd)
{
	siginfo_t si = { 0 };

	if (waitid(P_PIDFD, pidfd, &si, WEXITED | WNOHANG) || !si.si_pid)
		return;
	if (si.si_code != CLD_EXITED || si.si_status)
		log_warn("approval_command '%s' failed (status %d)",
			 d->policy->conf.approval_command ?: "?", si.si_status);
	epoll_ctl(d->epfd, EPOLL_CTL_DEL, pidfd, NULL);
	close(pidfd);
}

static void client_event(struct daemon *d, const struct approval *a, const char *what,
			 const char *by)
{
	json_t *ev = json_pack("{s:s,s:I,s:s,s:s}", "event", what, "request", (json_int_t)a->id,
			       "action", action_name(a), "object", a->object);

	if (!ev)
		return;
	if (by)
		json_object_set_new(ev, "by", json_string(by));
	json_object_set_new(ev, "timeout_s",
			    json_integer((a->deadline_ms - a->created_ms) / 1000));
	json_object_set_new(ev, "on_timeout", json_string(a->timeout_allow ? "allow" : "deny"));
	control_send_event(d, a->s, ev);
	json_decref(ev);
}

void approval_hold(struct daemon *d, struct approval *a)
{
	const struct agent *ag = policy_agent(d->policy, a->s->agent);
	const struct approve_rule *r = agent_approve_rule(ag, a->rule);
	json_t *rec, *req;

	a->created_ms = mono_ms();
	a->created_ns = audit_now_ns();
	a->deadline_ms = a->created_ms + (int64_t)(ag ? approve_timeout_ms(ag, r)
						       : APPROVE_TIMEOUT_DEFAULT_MS);
	a->timeout_allow = ag && approve_timeout_allows(ag, r);
	a->id = chain_next_seq(d->chain);
	a->rule_json = json_incref(audit_rule(d, a->rule));
	a->next = d->approvals;
	d->approvals = a;
	d->napprovals++;

	req = request_json(d, a);
	rec = audit_base(d, "approval-request");
	json_object_update(rec, req);
	json_object_set(rec, "policy", d->policy_json);
	audit_record(d, rec);
	audit_flush(d, false);
	pending_save(d);
	client_event(d, a, "held", NULL);
	hook_run(d, req);
	json_decref(req);
	log_info("session %llu (agent %s): request %llu holds %s of '%s'",
		 (unsigned long long)a->s->id, a->s->agent, (unsigned long long)a->id,
		 action_name(a), a->object);
}

static void unlink_request(struct daemon *d, struct approval *a)
{
	for (struct approval **pp = &d->approvals; *pp; pp = &(*pp)->next) {
		if (*pp == a) {
			*pp = a->next;
			d->napprovals--;
			break;
		}
	}
	pending_save(d);
	json_decref(a->rule_json);
	free(a);
}

/* A request that ends without a decision: denied, and said so. */
static void cancel(struct daemon *d, struct approval *a, const char *why)
{
	json_t *rec = audit_base(d, "approval-cancelled");

	request_members(d, rec, a);
	json_object_set_new(rec, "decision", json_string("deny"));
	json_object_set_new(rec, "reason", json_string(why));
	audit_record(d, rec);
	notify_fail(a->s, a->notif_id, denial_errno(a));
	client_event(d, a, "cancelled", why);
	unlink_request(d, a);
}

static const char *scope_name(enum approve_scope sc)
{
	return sc == SCOPE_SESSION ? "session" : sc == SCOPE_FOR ? "for" : "once";
}

/* The kernel-side entry an approval makes. */
static int grant_put(struct daemon *d, const struct approval *a, enum approve_scope sc,
		     uint64_t for_ms, bool put)
{
	struct approve_grant g = { .rule = a->rule, .once = sc == SCOPE_ONCE };
	struct approve_file_key fk = { .cgroup_id = a->s->cgroup_id, .ino = a->ino, .dev = a->dev };
	struct approve_net_key nk = { .cgroup_id = a->s->cgroup_id, .port = a->port };
	bool exec = a->kind == APPROVE_EXEC;

	memcpy(nk.addr, a->addr, 16);
	if (!put) {
		bpf_approve_del(d, exec ? MAP_EXEC_APPROVED : MAP_NET_APPROVED,
				exec ? (void *)&fk : (void *)&nk, exec ? sizeof(fk) : sizeof(nk));
		return 0;
	}
	if (sc == SCOPE_ONCE)
		g.expires_ns = (uint64_t)mono_ns() + ONCE_WINDOW_MS * 1000000ull;
	else if (sc == SCOPE_FOR)
		g.expires_ns = (uint64_t)mono_ns() + for_ms * 1000000ull;
	return bpf_approve_put(d, exec ? MAP_EXEC_APPROVED : MAP_NET_APPROVED,
			       exec ? (void *)&fk : (void *)&nk, exec ? sizeof(fk) : sizeof(nk),
			       &g, sizeof(g));
}

static void grant_remember(struct approval *a, enum approve_scope sc, uint64_t for_ms)
{
	struct approval_grant *g = calloc(1, sizeof(*g));

	if (!g)
		return;
	g->kind = a->kind;
	g->ino = a->ino;
	g->dev = a->dev;
	memcpy(g->addr, a->addr, 16);
	g->port = a->port;
	g->rule = a->rule;
	g->request = a->id;
	g->object = strdup(a->object);
	g->expires_ms = sc == SCOPE_FOR ? mono_ms() + (int64_t)for_ms : 0;
	g->next = a->s->grants_live;
	a->s->grants_live = g;
}

struct answer {
	bool allow;
	enum approve_scope scope;
	uint64_t for_ms;
	const struct approver *who;	/* NULL: the timeout decided */
	const char *reason;
};

static json_t *decision_record(struct daemon *d, const struct approval *a,
			       const struct answer *v)
{
	json_t *rec = audit_base(d, v->who ? "approval-decision" : "approval-timeout");
	char t[32];

	request_members(d, rec, a);
	json_object_set_new(rec, "decision", json_string(v->allow ? "approve" : "deny"));
	if (v->allow)
		json_object_set_new(rec, "scope", json_string(scope_name(v->scope)));
	if (v->allow && v->scope == SCOPE_FOR) {
		chain_format_time(audit_now_ns() + (int64_t)v->for_ms * 1000000, t);
		json_object_set_new(rec, "expires", json_string(t));
	}
	if (v->who) {
		json_object_set_new(rec, "approver_uid", json_integer(v->who->uid));
		json_object_set_new(rec, "approver", user_name(v->who->uid));
	} else {
		json_object_set_new(rec, "waited_s",
				    json_integer((mono_ms() - a->created_ms) / 1000));
	}
	if (v->reason)
		json_object_set_new(rec, "reason", json_string(v->reason) ?: json_string("?"));
	json_object_set(rec, "policy", d->policy_json);
	return rec;
}

static void note_denied_exec(const struct approval *a)
{
	free(a->s->denied_exec);
	a->s->denied_exec = strdup(a->object);
	a->s->denied_request = a->id;
}

/* Records the decision, makes the record durable, then answers the held
 * call. A record that cannot reach the disk releases nothing. */
static int release(struct daemon *d, struct approval *a, const struct answer *v, char *err,
		   size_t errlen)
{
	bool allow = v->allow;
	int r;

	if (seccomp_notify_id_valid(a->s->notify_fd, a->notif_id)) {
		snprintf(err, errlen, "request %llu: the held process is gone",
			 (unsigned long long)a->id);
		cancel(d, a, "the held process is gone");
		return -1;
	}
	if (allow && grant_put(d, a, v->scope, v->for_ms, true)) {
		snprintf(err, errlen, "request %llu: cannot add the grant to the kernel map: %s",
			 (unsigned long long)a->id, strerror(errno));
		cancel(d, a, "the grant could not be added to the kernel map");
		return -1;
	}
	audit_record(d, decision_record(d, a, v));
	r = chain_flush(d->chain, true);
	if (r) {
		log_error("cannot make the decision on request %llu durable: %s",
			  (unsigned long long)a->id, strerror(-r));
		if (allow)
			grant_put(d, a, v->scope, v->for_ms, false);
		snprintf(err, errlen, "request %llu: the decision could not be written to disk "
			 "(%s); the action stays denied", (unsigned long long)a->id, strerror(-r));
		cancel(d, a, "the decision record could not be made durable");
		return -1;
	}
	d->chain_dirty = false;
	if (allow && v->scope != SCOPE_ONCE)
		grant_remember(a, v->scope, v->for_ms);
	if (allow) {
		notify_continue(a->s, a->notif_id);
	} else {
		if (a->kind == APPROVE_EXEC)
			note_denied_exec(a);
		notify_fail(a->s, a->notif_id, denial_errno(a));
	}
	client_event(d, a, allow ? "approved" : "denied", v->who ? NULL : "timeout");
	unlink_request(d, a);
	return 0;
}

static struct approval *find_request(struct daemon *d, uint64_t id)
{
	for (struct approval *a = d->approvals; a; a = a->next)
		if (a->id == id)
			return a;
	return NULL;
}

/*
 * A uid that agents run as of their own (a service uid), used from
 * outside pinfold. An agent's processes themselves are refused every verb
 * by their cgroup before this is asked (control_peer.c); an agent that
 * runs as its dispatcher's uid shares it with a human, who may decide.
 */
static bool is_agent_caller(struct daemon *d, const struct approver *w)
{
	const struct policy *p = d->policy;

	if (w->uid >= p->conf.uid_lo && w->uid <= p->conf.uid_hi)
		return true;
	for (size_t i = 0; i < p->nagents; i++)
		if (p->agents[i].has_uid && p->agents[i].uid == w->uid)
			return true;
	for (struct session *s = d->sessions; s; s = s->next)
		if (s->service_uid && s->uid == w->uid)
			return true;
	return false;
}

static int authorize(struct daemon *d, const struct approval *a, const struct approver *w,
		     bool allow, char *err, size_t errlen)
{
	const struct agent *ag = policy_agent(d->policy, a->s->agent);

	if (is_agent_caller(d, w)) {
		snprintf(err, errlen, "uid %u runs agents: an agent may not decide approvals",
			 (unsigned)w->uid);
		return -1;
	}
	/* Four eyes: whoever started the session does not approve what it
	 * asks for, unless the policy says so. Denying is always theirs. */
	if (allow && w->uid == a->s->dispatcher_uid && !(ag && ag->approval.self_approve)) {
		snprintf(err, errlen, "uid %u dispatched session %llu and may not approve its "
			 "requests (agent '%s': self_approve = no)", (unsigned)w->uid,
			 (unsigned long long)a->s->id, a->s->agent);
		return -1;
	}
	if (w->uid == 0 || w->uid == a->s->dispatcher_uid ||
	    (ag && approval_names(ag, w->uid, w->gids, w->ngids)))
		return 0;
	snprintf(err, errlen, "uid %u is not an approver of agent '%s'", (unsigned)w->uid,
		 a->s->agent);
	return -1;
}

int approval_decide(struct daemon *d, uint64_t id, const struct approver *who, bool allow,
		    enum approve_scope scope, uint64_t for_ms, const char *reason, char *err,
		    size_t errlen)
{
	struct approval *a = find_request(d, id);
	struct answer v = { allow, scope, for_ms, who, reason };

	if (!a) {
		snprintf(err, errlen, "no pending request %llu", (unsigned long long)id);
		return -1;
	}
	if (authorize(d, a, who, allow, err, errlen))
		return -1;
	return release(d, a, &v, err, errlen);
}

static bool may_see(struct daemon *d, const struct approval *a, const struct approver *w)
{
	const struct agent *ag = policy_agent(d->policy, a->s->agent);

	return w->uid == 0 || w->uid == a->s->dispatcher_uid ||
	       (ag && approval_names(ag, w->uid, w->gids, w->ngids));
}

json_t *approval_list(struct daemon *d, const struct approver *who, size_t *omitted)
{
	json_t *list = json_array();
	int64_t now = mono_ms();
	size_t bytes = 0;

	*omitted = 0;
	if (is_agent_caller(d, who))
		return list;
	for (struct approval *a = d->approvals; a; a = a->next) {
		json_t *o;

		if (!may_see(d, a, who))
			continue;
		o = request_json(d, a);
		json_object_set_new(o, "dispatcher", user_name(a->s->dispatcher_uid));
		json_object_set_new(o, "age_s", json_integer((now - a->created_ms) / 1000));
		json_object_set_new(o, "remaining_s", json_integer((a->deadline_ms - now) / 1000));
		bytes += json_dumpb(o, NULL, 0, JSON_COMPACT) + 1;
		if (bytes > LIST_BYTES_MAX) {
			json_decref(o);
			(*omitted)++;
			continue;
		}
		json_array_append_new(list, o);
	}
	return list;
}

static void expire_grants(struct daemon *d, struct session *s, int64_t now, bool all)
{
	struct approval_grant **pp = &s->grants_live;

	while (*pp) {
		struct approval_grant *g = *pp;
		json_t *rec;

		if (!all && (!g->expires_ms || now < g->expires_ms)) {
			pp = &g->next;
			continue;
		}
		rec = audit_base(d, "grant-expired");
		json_object_set_new(rec, "request", json_integer((json_int_t)g->request));
		json_object_set_new(rec, "session", json_integer((json_int_t)s->id));
		json_object_set(rec, "agent", s->agent_json);
		json_object_set_new(rec, "action",
				    json_string(g->kind == APPROVE_EXEC ? "exec" : "connect"));
		json_object_set_new(rec, "object", json_string(g->object ? g->object : "?"));
		json_object_set_new(rec, "reason", json_string(all ? "session ended" : "expired"));
		audit_record(d, rec);
		if (!all) {
			struct approval tmp = { .s = s, .kind = g->kind, .ino = g->ino,
						.dev = g->dev, .port = g->port };

			memcpy(tmp.addr, g->addr, 16);
			grant_put(d, &tmp, SCOPE_FOR, 0, false);
		}
		*pp = g->next;
		free(g->object);
		free(g);
	}
}

void approval_tick(struct daemon *d)
{
	static int64_t last_check;
	int64_t now;
	bool check;

	if (!d->approvals && !d->sessions)
		return;
	now = mono_ms();
	check = now - last_check >= LIVENESS_MS;
	if (check)
		last_check = now;
	for (struct approval *a = d->approvals, *next; a; a = next) {
		next = a->next;
		if (now >= a->deadline_ms) {
			struct answer v = { a->timeout_allow, SCOPE_ONCE, 0, NULL, NULL };
			char err[256];

			if (release(d, a, &v, err, sizeof(err)))
				log_warn("%s", err);
		} else if (check && seccomp_notify_id_valid(a->s->notify_fd, a->notif_id)) {
			cancel(d, a, "the held process is gone");
		}
	}
	for (struct session *s = d->sessions; check && s; s = s->next)
		expire_grants(d, s, now, false);
}

void approval_session_gone(struct daemon *d, struct session *s)
{
	for (struct approval *a = d->approvals, *next; a; a = next) {
		next = a->next;
		if (a->s == s)
			cancel(d, a, "session ended");
	}
	expire_grants(d, s, 0, true);
}

void approval_stop_all(struct daemon *d)
{
	while (d->approvals)
		cancel(d, d->approvals, "daemon stopping: denied");
}

void approval_recover(struct daemon *d)
{
	char path[PATH_MAX], line[16384];
	FILE *f;

	pending_path(d, path, sizeof(path));
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		json_t *req = json_loads(line, 0, NULL), *rec;

		if (!json_is_object(req)) {
			json_decref(req);
			continue;
		}
		rec = audit_base(d, "approval-cancelled");
		json_object_update(rec, req);
		json_object_del(rec, "pid");
		json_object_del(rec, "timeout_s");
		json_object_del(rec, "on_timeout");
		json_object_del(rec, "dispatcher_uid");
		json_object_set_new(rec, "decision", json_string("deny"));
		json_object_set_new(rec, "reason",
				    json_string("daemon restarted: the held action failed when the "
						"previous daemon's listener closed"));
		audit_record(d, rec);
		json_decref(req);
		log_warn("request %lld of the previous daemon was pending: denied",
			 (long long)json_integer_value(json_object_get(rec, "request")));
	}
	fclose(f);
	unlink(path);
}
