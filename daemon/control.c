// SPDX-License-Identifier: GPL-2.0-only
/*
 * The control socket: connections, their limits, and the verbs.
 *
 * Every message is checked for its shape (proto_request.c) and its
 * caller's right to the verb (control_peer.c) before anything acts on it.
 * A client can hold only so many connections, is closed when it stays
 * silent or stops reading its replies, and a full descriptor table sheds
 * new connections instead of spinning; so a hostile client costs others
 * nothing but a share of the loop. Refusals and drops are recorded, at
 * most NOTES_PER_SECOND a second, with a count of those left out.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "daemon/control.h"

#define CLIENTS_MAX 1024
#define NOTES_PER_SECOND 20
#define NOFILE_WANTED 65536

struct client {
	int fd;
	struct peer peer;
	struct session *session;
	int64_t last_ms;	/* last message, or the connect */
	bool broken;		/* a reply could not be sent */
};

static struct client clients[CLIENTS_MAX];
static int reserve_fd = -1;	/* given up to shed a connection at EMFILE */

static struct {
	int64_t second;
	unsigned n;
	uint64_t suppressed;
} notes;

/* Room for every client and session descriptor; the limit systemd or the
 * shell gave is often 1024. */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur >= NOFILE_WANTED)
		return;
	rl.rlim_cur = rl.rlim_max < NOFILE_WANTED ? rl.rlim_max : NOFILE_WANTED;
	if (setrlimit(RLIMIT_NOFILE, &rl))
		log_warn("cannot raise the open file limit to %llu: %s",
			 (unsigned long long)rl.rlim_cur, strerror(errno));
}

int control_listen(struct daemon *d)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[sizeof(sa.sun_path)], *slash;
	mode_t old;
	int fd;

	if (strlen(d->socket_path) >= sizeof(sa.sun_path)) {
		log_error("socket path '%s' is too long", d->socket_path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, d->socket_path);
	strcpy(dir, d->socket_path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = 0;
		if (mkdir(dir, 0755) && errno != EEXIST)
			log_warn("cannot create '%s': %s", dir, strerror(errno));
	}
	raise_nofile();
	reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	unlink(d->socket_path);
	/* 0666: anyone may connect; each verb is authorised on its own. */
	old = umask(0111);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, SOMAXCONN)) {
		int r = -errno;

		umask(old);
		log_error("cannot listen on '%s': %s", d->socket_path, strerror(errno));
		close(fd);
		return r;
	}
	umask(old);
	for (int i = 0; i < CLIENTS_MAX; i++)
		clients[i].fd = -1;
	d->listen_fd = fd;
	return 0;
}

static struct client *client_by_fd(int fd)
{
	for (int i = 0; i < CLIENTS_MAX; i++)
		if (clients[i].fd == fd)
			return &clients[i];
	return NULL;
}

/* A refusal or a dropped connection, as a chain record. */
static void note(struct daemon *d, struct peer *p, const char *type, const char *verb,
		 const char *reason)
{
	int64_t second = mono_ms() / 1000;
	json_t *rec;

	if (second != notes.second) {
		notes.second = second;
		notes.n = 0;
	}
	if (++notes.n > NOTES_PER_SECOND) {
		notes.suppressed++;
		return;
	}
	log_info("control: uid %u pid %d%s%s: %s", (unsigned)p->cred.uid, (int)p->cred.pid,
		 verb ? ", verb " : "", verb ? verb : "", reason);
	rec = audit_base(d, type);
	json_object_set_new(rec, "uid", json_integer(p->cred.uid));
	json_object_set_new(rec, "gid", json_integer(p->cred.gid));
	json_object_set_new(rec, "pid", json_integer(p->cred.pid));
	if (*peer_user(p))
		json_object_set_new(rec, "user", json_string(p->user));
	if (verb)
		json_object_set_new(rec, "verb", json_string(verb));
	json_object_set_new(rec, "reason", json_string(reason));
	if (notes.suppressed) {
		json_object_set_new(rec, "suppressed", json_integer((json_int_t)notes.suppressed));
		notes.suppressed = 0;
	}
	audit_record(d, rec);
}

static void client_send(struct client *c, json_t *m, const int *fds, int nfds)
{
	if (!m || proto_send(c->fd, m, fds, nfds))
		c->broken = true;
}

static void reply_error(struct client *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void reply_error(struct client *c, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	json_t *m;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	m = json_pack("{s:b,s:s}", "ok", 0, "error", buf);
	client_send(c, m, NULL, 0);
	json_decref(m);
}

static void client_close(struct daemon *d, struct client *c)
{
	if (c->session)
		session_client_gone(d, c->session);
	epoll_ctl(d->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	c->session = NULL;
}

/* The descriptor table is full: take the oldest waiting connection with
 * the reserve descriptor and close it, so that the listening socket does
 * not stay readable and spin the loop. */
static void shed_connection(struct daemon *d)
{
	static struct peer nobody = { .cred = { .uid = (uid_t)-1, .gid = (gid_t)-1 },
				      .user_known = true };
	int fd;

	if (reserve_fd < 0)
		return;
	close(reserve_fd);
	fd = accept4(d->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd >= 0)
		close(fd);
	reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	note(d, &nobody, "control-dropped", NULL, "no descriptor left for a new connection");
}

static unsigned connections_of(uid_t uid)
{
	unsigned n = 0;

	for (int i = 0; i < CLIENTS_MAX; i++)
		n += clients[i].fd >= 0 && clients[i].peer.cred.uid == uid;
	return n;
}

static void client_add(struct daemon *d, int fd)
{
	struct client *c = client_by_fd(-1), tmp = { .fd = fd };
	unsigned limit = d->policy->conf.clients_per_uid;
	char why[128] = "";

	if (peer_identify(fd, &tmp.peer)) {
		close(fd);
		return;
	}
	if (!c)
		snprintf(why, sizeof(why), "%d connections already", CLIENTS_MAX);
	else if (tmp.peer.cred.uid != 0 && connections_of(tmp.peer.cred.uid) >= limit)
		snprintf(why, sizeof(why), "uid %u holds %u connections already (clients_per_uid)",
			 (unsigned)tmp.peer.cred.uid, limit);
	if (*why) {
		reply_error(&tmp, "connection refused: %s", why);
		note(d, &tmp.peer, "control-dropped", NULL, why);
		close(fd);
		return;
	}
	*c = tmp;
	c->last_ms = mono_ms();
	if (epoll_add(d, fd, TAG_CLIENT, EPOLLIN | EPOLLRDHUP)) {
		close(fd);
		c->fd = -1;
	}
}

void control_accept(struct daemon *d)
{
	for (;;) {
		int fd = accept4(d->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE)
				shed_connection(d);
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return;
		}
		client_add(d, fd);
	}
}

static void verb_run(struct daemon *d, struct client *c, json_t *m, int *fds, int nfds)
{
	struct run_request r = { 0 };
	json_t *argv = json_object_get(m, "argv"), *env = json_object_get(m, "env");
	struct session *s;
	char err[512];
	json_t *ok;

	if (c->session) {
		reply_error(c, "this connection already runs session %llu",
			    (unsigned long long)c->session->id);
		return;
	}
	if (nfds != 3) {
		reply_error(c, "run needs 3 descriptors (stdin, stdout, stderr), not %d", nfds);
		return;
	}
	/* The shape was checked: argv and env are arrays of strings. */
	r.argv = calloc(json_array_size(argv) + 1, sizeof(char *));
	r.envp = calloc(json_array_size(env) + 1, sizeof(char *));
	if (!r.argv || !r.envp) {
		reply_error(c, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < json_array_size(argv); i++)
		r.argv[i] = (char *)json_string_value(json_array_get(argv, i));
	for (size_t i = 0; i < json_array_size(env); i++)
		r.envp[i] = (char *)json_string_value(json_array_get(env, i));
	r.agent = json_string_value(json_object_get(m, "agent"));
	r.workspace = json_string_value(json_object_get(m, "workspace"));
	memcpy(r.fds, fds, sizeof(r.fds));
	r.dispatcher_uid = c->peer.cred.uid;
	r.dispatcher_gid = c->peer.cred.gid;
	r.groups = peer_groups(&c->peer, &r.ngroups);
	r.dispatcher_pid = c->peer.cred.pid;
	r.client_fd = c->fd;

	s = session_start(d, &r, err, sizeof(err));
	if (!s) {
		log_info("run refused for uid %u: %s", (unsigned)c->peer.cred.uid, err);
		record_run_refused(d, r.agent, c->peer.cred.uid, err);
		reply_error(c, "%s", err);
		goto out;
	}
	c->session = s;
	ok = json_pack("{s:b,s:I,s:i,s:i,s:s}", "ok", 1, "session", (json_int_t)s->id, "pid",
		       s->pid, "uid", s->uid, "workspace", s->workspace);
	client_send(c, ok, NULL, 0);
	json_decref(ok);
out:
	free(r.argv);
	free(r.envp);
}

static void verb_signal(struct daemon *d, struct client *c, json_t *m, int *fds, int nfds)
{
	json_int_t sig = json_integer_value(json_object_get(m, "signal"));

	(void)fds;
	(void)nfds;
	if (c->session)
		session_signal(d, c->session, (int)sig);
}

static json_t *layers_json(struct daemon *d)
{
	/* Loading a library maps it executable without an exec; only a BPF
	 * LSM program on mmap_file could refuse that, and no such hook is
	 * loaded by this version. */
	return json_pack("{s:i,s:b,s:b,s:b,s:b,s:b}", "landlock_abi", d->landlock_abi, "seccomp", 1,
			 "cgroup_bpf", d->ncg_progs > 0, "unix_sockets", d->unix_hooks,
			 "observation", d->skel != NULL, "library_loads", 0);
}

static void verb_status(struct daemon *d, struct client *c, json_t *req, int *fds, int nfds)
{
	uint64_t seen = 0, dropped = 0, deduped = 0;
	json_t *sessions = json_array(), *m;

	(void)req;
	(void)fds;
	(void)nfds;
	/* landlock_policy differs from policy after a reload: the file and
	 * exec rules of a running process cannot move. */
	for (struct session *s = d->sessions; s; s = s->next)
		json_array_append_new(sessions,
				      json_pack("{s:I,s:s,s:i,s:i,s:I,s:I,s:s,s:b}", "session",
						(json_int_t)s->id, "agent", s->agent, "pid", s->pid,
						"uid", s->uid, "events", (json_int_t)s->events,
						"denials", (json_int_t)s->denials, "landlock_policy",
						s->landlock_policy, "frozen", s->frozen));
	bpf_read_stats(d, &seen, &dropped, &deduped);
	m = json_pack("{s:b,s:s,s:s,s:s,s:o,s:o,s:{s:I,s:I,s:I}}", "ok", 1, "version",
		      PINFOLD_VERSION, "policy", d->policy->hash_hex, "cgroup", d->cgroot,
		      "layers", layers_json(d), "sessions", sessions, "events", "seen",
		      (json_int_t)seen, "dropped", (json_int_t)dropped, "deduplicated",
		      (json_int_t)deduped);
	client_send(c, m, NULL, 0);
	json_decref(m);
}

static void verb_reload(struct daemon *d, struct client *c, json_t *req, int *fds, int nfds)
{
	const char *user = peer_user(&c->peer);
	char cause[128];
	json_t *m;

	(void)req;
	(void)fds;
	(void)nfds;
	snprintf(cause, sizeof(cause), "reload by uid %u%s%s%s", (unsigned)c->peer.cred.uid,
		 *user ? " (" : "", user, *user ? ")" : "");
	if (daemon_reload(d, cause)) {
		reply_error(c, "configuration in '%s' has errors (see pinfoldd's log): the "
			    "policy in force stays %.12s", d->config_dir, d->policy->hash_hex);
		return;
	}
	m = json_pack("{s:b,s:s}", "ok", 1, "policy", d->policy->hash_hex);
	client_send(c, m, NULL, 0);
	json_decref(m);
}

/* The operator verbs (admin.c), which answer with one reply. */
static void verb_admin(struct daemon *d, struct client *c, json_t *m, int *fds, int nfds)
{
	const char *verb = json_string_value(json_object_get(m, "verb"));
	struct requester who = { .uid = c->peer.cred.uid, .pid = c->peer.cred.pid };
	struct admin_req q = { m, fds, nfds, &who };
	const char *user = peer_user(&c->peer);
	json_t *reply;

	if (*user)
		snprintf(who.name, sizeof(who.name), "%s", user);
	else
		snprintf(who.name, sizeof(who.name), "uid %u", (unsigned)who.uid);
	reply = admin_verb(d, verb, &q);
	if (!reply)
		reply = reply_err("verb '%s' is not served by this pinfoldd", verb);
	client_send(c, reply, NULL, 0);
	json_decref(reply);
}

/* The caller as approval.c sees it: uid, pid, and every group. */
static struct approver approver_of(struct client *c)
{
	struct approver w = { c->peer.cred.uid, c->peer.cred.pid, NULL, 0 };

	w.gids = peer_groups(&c->peer, &w.ngids);
	return w;
}

static void verb_approvals(struct daemon *d, struct client *c, json_t *req, int *fds, int nfds)
{
	struct approver w = approver_of(c);
	size_t omitted;
	json_t *list = approval_list(d, &w, &omitted), *m;

	(void)req;
	(void)fds;
	(void)nfds;
	m = json_pack("{s:b,s:o,s:I}", "ok", 1, "approvals", list, "omitted", (json_int_t)omitted);
	client_send(c, m, NULL, 0);
	json_decref(m);
}

static int scope_parse(const char *s, enum approve_scope *out)
{
	static const char *const names[] = { "once", "session", "for" };

	for (int i = 0; i < 3; i++) {
		if (s && !strcmp(s, names[i])) {
			*out = (enum approve_scope)i;
			return 0;
		}
	}
	return -1;
}

/* approve and deny; the shapes were checked (proto_request.c). */
static void verb_decide(struct daemon *d, struct client *c, json_t *m, bool allow)
{
	json_int_t id = json_integer_value(json_object_get(m, "request"));
	const char *reason = json_string_value(json_object_get(m, "reason"));
	const char *scope_s = json_string_value(json_object_get(m, "scope"));
	json_int_t for_s = json_integer_value(json_object_get(m, "for_s"));
	enum approve_scope scope = SCOPE_ONCE;
	struct approver w = approver_of(c);
	char err[512];
	json_t *ok;

	if (id < 0) {
		reply_error(c, "bad request id %lld", (long long)id);
		return;
	}
	if (scope_s && scope_parse(scope_s, &scope)) {
		reply_error(c, "bad scope '%.32s': once, session or for", scope_s);
		return;
	}
	if (scope == SCOPE_FOR && (for_s < 1 || for_s > 30 * 86400)) {
		reply_error(c, "scope 'for' needs \"for_s\", 1 s to 30 days");
		return;
	}
	if (reason && strlen(reason) > 1024) {
		reply_error(c, "reason is longer than 1024 bytes");
		return;
	}
	if (approval_decide(d, (uint64_t)id, &w, allow, scope, (uint64_t)for_s * 1000, reason,
			    err, sizeof(err))) {
		note(d, &c->peer, "control-refused", allow ? "approve" : "deny", err);
		reply_error(c, "%s", err);
		return;
	}
	ok = json_pack("{s:b,s:I}", "ok", 1, "request", id);
	client_send(c, ok, NULL, 0);
	json_decref(ok);
}

static void verb_approve(struct daemon *d, struct client *c, json_t *m, int *fds, int nfds)
{
	(void)fds;
	(void)nfds;
	verb_decide(d, c, m, true);
}

static void verb_deny(struct daemon *d, struct client *c, json_t *m, int *fds, int nfds)
{
	(void)fds;
	(void)nfds;
	verb_decide(d, c, m, false);
}

static const struct {
	const char *verb;
	void (*fn)(struct daemon *d, struct client *c, json_t *m, int *fds, int nfds);
} handlers[] = {
	{ "run", verb_run },
	{ "signal", verb_signal },
	{ "status", verb_status },
	{ "reload", verb_reload },
	{ "sessions", verb_admin },
	{ "agents", verb_admin },
	{ "kill", verb_admin },
	{ "freeze", verb_admin },
	{ "thaw", verb_admin },
	{ "idp-sync", verb_admin },
	{ "pam-account", verb_admin },
	{ "pam-open", verb_admin },
	{ "approvals", verb_approvals },
	{ "approve", verb_approve },
	{ "deny", verb_deny },
};

static void dispatch(struct daemon *d, struct client *c, json_t *m, int *fds, int nfds)
{
	const struct proto_verb *v;
	char err[512];

	v = proto_request_check(m, err, sizeof(err));
	if (!v) {
		reply_error(c, "%s", err);
		return;
	}
	if (peer_authorize(d, &c->peer, v, err, sizeof(err))) {
		note(d, &c->peer, "control-refused", v->name, err);
		reply_error(c, "%s", err);
		return;
	}
	for (size_t i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++) {
		if (!strcmp(handlers[i].verb, v->name)) {
			handlers[i].fn(d, c, m, fds, nfds);
			return;
		}
	}
	reply_error(c, "verb '%s' is not served by this pinfoldd", v->name);
}

_Static_assert(PROTO_FDS_MAX == 3, "the refusal below names 3 descriptors");

void control_client(struct daemon *d, int fd, uint32_t events)
{
	struct client *c = client_by_fd(fd);
	int fds[PROTO_FDS_MAX], nfds = 0;
	json_t *m;
	int r;

	if (!c)
		return;
	r = proto_recv(fd, &m, fds, &nfds);
	if (r == -EAGAIN && !(events & (EPOLLHUP | EPOLLRDHUP | EPOLLERR)))
		return;
	if (r == -EMSGSIZE || r == -ETOOMANYREFS || r == -EBADMSG) {
		const char *why = r == -EMSGSIZE ? "message larger than 64 KiB"
				  : r == -ETOOMANYREFS ? "more than 3 descriptors attached"
				  : "message is not a JSON object";

		reply_error(c, "%s: connection closed", why);
		note(d, &c->peer, "control-dropped", NULL, why);
		client_close(d, c);
		return;
	}
	if (r) {
		client_close(d, c);
		return;
	}
	c->last_ms = mono_ms();
	dispatch(d, c, m, fds, nfds);
	json_decref(m);
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	if (c->broken && c->fd >= 0) {
		note(d, &c->peer, "control-dropped", NULL, "client does not read its replies");
		client_close(d, c);
	}
}

void control_tick(struct daemon *d)
{
	int64_t now = mono_ms(), idle = (int64_t)d->policy->conf.idle_timeout_s * 1000;
	static struct peer nobody = { .cred = { .uid = (uid_t)-1, .gid = (gid_t)-1 },
				      .user_known = true };
	static int64_t last;

	if (now - last < 250)
		return;
	last = now;

	for (int i = 0; i < CLIENTS_MAX; i++) {
		struct client *c = &clients[i];
		char why[64];

		if (c->fd < 0 || c->session || now - c->last_ms < idle)
			continue;
		snprintf(why, sizeof(why), "silent for %u s", d->policy->conf.idle_timeout_s);
		note(d, &c->peer, "control-dropped", NULL, why);
		client_close(d, c);
	}
	/* Say how many notes the rate limit left out, once their second is over. */
	if (notes.suppressed && now / 1000 != notes.second)
		note(d, &nobody, "control-dropped", NULL, "rate limit: refusals and drops not "
		     "recorded one by one");
}

void control_send_event(struct daemon *d, struct session *s, json_t *ev)
{
	struct client *c = s->client_fd >= 0 ? client_by_fd(s->client_fd) : NULL;

	(void)d;
	if (c)
		client_send(c, ev, NULL, 0);
}

void control_send_exit(struct daemon *d, struct session *s)
{
	struct client *c;
	json_t *m;

	(void)d;
	if (s->client_fd < 0)
		return;
	c = client_by_fd(s->client_fd);
	m = json_pack("{s:s,s:I,s:i}", "event", "exit", "session", (json_int_t)s->id, "status",
		      s->status);
	if (m)
		proto_send(s->client_fd, m, NULL, 0);
	json_decref(m);
	if (c)
		c->session = NULL;
	s->client_fd = -1;
}
