// SPDX-License-Identifier: GPL-2.0-only
/*
 * The control socket: "run" starts a session for the connected client,
 * "signal" forwards a signal to it, "status" reports what is enforced,
 * "approvals", "approve" and "deny" list and decide held actions.
 *
 * Who is asking comes from SO_PEERCRED and SO_PEERGROUPS, never from the
 * message. The approval verbs are open to any uid and decide for
 * themselves who may do what (approval.c); every other verb is root's
 * until dispatcher bounds exist. An agent's own processes are refused
 * everything.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon/pinfoldd.h"
#include "daemon/proto.h"

#define CLIENTS_MAX 1024
#define PEER_GROUPS_MAX 64

struct client {
	int fd;
	struct ucred cred;
	gid_t gids[PEER_GROUPS_MAX];
	size_t ngids;
	struct session *session;
};

static struct client clients[CLIENTS_MAX];

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
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	unlink(d->socket_path);
	/* Anyone may connect; each verb checks who is calling. */
	old = umask(0111);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 128)) {
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

/* The caller's groups as the kernel knows them at connect time, its
 * primary group first; more than PEER_GROUPS_MAX are cut. */
static void peer_groups(int fd, struct client *c)
{
	socklen_t len = sizeof(c->gids) - sizeof(gid_t);

	c->gids[0] = c->cred.gid;
	c->ngids = 1;
	if (!getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, c->gids + 1, &len))
		c->ngids += len / sizeof(gid_t);
}

void control_accept(struct daemon *d)
{
	for (;;) {
		int fd = accept4(d->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		socklen_t len = sizeof(struct ucred);
		struct client *c;

		if (fd < 0)
			return;
		c = client_by_fd(-1);
		if (!c) {
			log_warn("refusing a control connection: %d clients already", CLIENTS_MAX);
			close(fd);
			continue;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &c->cred, &len)) {
			close(fd);
			continue;
		}
		peer_groups(fd, c);
		c->fd = fd;
		c->session = NULL;
		epoll_add(d, fd, TAG_CLIENT, EPOLLIN | EPOLLRDHUP);
	}
}

static void reply_error(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void reply_error(int fd, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	json_t *m;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	m = json_pack("{s:b,s:s}", "ok", 0, "error", buf);
	if (m)
		proto_send(fd, m, NULL, 0);
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

/* Strings of a JSON array, NULL-terminated; NULL if any member is not a
 * string. The strings belong to the array. */
static char **string_array(json_t *a, size_t max)
{
	size_t n = json_array_size(a);
	char **v;

	if (!json_is_array(a) || n > max)
		return NULL;
	v = calloc(n + 1, sizeof(char *));
	if (!v)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		v[i] = (char *)json_string_value(json_array_get(a, i));
		if (!v[i]) {
			free(v);
			return NULL;
		}
	}
	return v;
}

static void verb_run(struct daemon *d, struct client *c, json_t *m, int *fds, int nfds)
{
	struct run_request r = { 0 };
	struct session *s;
	char err[512];
	json_t *ok;

	if (c->session) {
		reply_error(c->fd, "this connection already runs session %llu",
			    (unsigned long long)c->session->id);
		return;
	}
	r.agent = json_string_value(json_object_get(m, "agent"));
	r.workspace = json_string_value(json_object_get(m, "workspace"));
	r.argv = string_array(json_object_get(m, "argv"), 4096);
	r.envp = string_array(json_object_get(m, "env"), 4096);
	if (!r.agent || !r.argv || !r.argv[0] || nfds != 3) {
		reply_error(c->fd, "run needs \"agent\", a non-empty \"argv\" and 3 descriptors");
		goto out;
	}
	memcpy(r.fds, fds, sizeof(r.fds));
	r.dispatcher_uid = c->cred.uid;
	r.dispatcher_pid = c->cred.pid;
	r.client_fd = c->fd;

	s = session_start(d, &r, err, sizeof(err));
	if (!s) {
		log_info("run refused for uid %u: %s", (unsigned)c->cred.uid, err);
		reply_error(c->fd, "%s", err);
		goto out;
	}
	c->session = s;
	ok = json_pack("{s:b,s:I,s:i,s:i,s:s}", "ok", 1, "session", (json_int_t)s->id, "pid",
		       s->pid, "uid", s->uid, "workspace", s->workspace);
	proto_send(c->fd, ok, NULL, 0);
	json_decref(ok);
out:
	free(r.argv);
	free(r.envp);
}

static void verb_signal(struct daemon *d, struct client *c, json_t *m)
{
	json_int_t sig = json_integer_value(json_object_get(m, "signal"));

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

static void verb_status(struct daemon *d, struct client *c)
{
	uint64_t seen = 0, dropped = 0, deduped = 0;
	json_t *sessions = json_array(), *m;

	for (struct session *s = d->sessions; s; s = s->next)
		json_array_append_new(sessions,
				      json_pack("{s:I,s:s,s:i,s:i,s:I,s:I}", "session",
						(json_int_t)s->id, "agent", s->agent, "pid", s->pid,
						"uid", s->uid, "events", (json_int_t)s->events,
						"denials", (json_int_t)s->denials));
	bpf_read_stats(d, &seen, &dropped, &deduped);
	m = json_pack("{s:b,s:s,s:s,s:s,s:o,s:o,s:{s:I,s:I,s:I}}", "ok", 1, "version",
		      PINFOLD_VERSION, "policy", d->policy->hash_hex, "cgroup", d->cgroot,
		      "layers", layers_json(d), "sessions", sessions, "events", "seen",
		      (json_int_t)seen, "dropped", (json_int_t)dropped, "deduplicated",
		      (json_int_t)deduped);
	if (m)
		proto_send(c->fd, m, NULL, 0);
	json_decref(m);
}

static void reply_ok(int fd, json_t *m)
{
	json_object_set_new(m, "ok", json_true());
	proto_send(fd, m, NULL, 0);
	json_decref(m);
}

static struct approver approver_of(const struct client *c)
{
	struct approver w = { c->cred.uid, c->cred.pid, c->gids, c->ngids };

	return w;
}

static void verb_approvals(struct daemon *d, struct client *c)
{
	struct approver w = approver_of(c);
	size_t omitted;
	json_t *list = approval_list(d, &w, &omitted);

	reply_ok(c->fd, json_pack("{s:o,s:I}", "approvals", list, "omitted", (json_int_t)omitted));
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

/* {"verb": "approve", "request": ID, "scope": "once"|"session"|"for",
 *  "for_s": SECONDS, "reason": TEXT} and {"verb": "deny", ...}. */
static void verb_decide(struct daemon *d, struct client *c, json_t *m, bool allow)
{
	json_t *id = json_object_get(m, "request");
	const char *reason = json_string_value(json_object_get(m, "reason"));
	const char *scope_s = json_string_value(json_object_get(m, "scope"));
	json_int_t for_s = json_integer_value(json_object_get(m, "for_s"));
	enum approve_scope scope = SCOPE_ONCE;
	struct approver w = approver_of(c);
	char err[512];

	if (!json_is_integer(id) || json_integer_value(id) < 0) {
		reply_error(c->fd, "%s needs \"request\", a request id", allow ? "approve" : "deny");
		return;
	}
	if (allow && scope_s && scope_parse(scope_s, &scope)) {
		reply_error(c->fd, "bad scope '%.32s': once, session or for", scope_s);
		return;
	}
	if (allow && scope == SCOPE_FOR && (for_s < 1 || for_s > 30 * 86400)) {
		reply_error(c->fd, "scope 'for' needs \"for_s\", 1 s to 30 days");
		return;
	}
	if (reason && strlen(reason) > 1024) {
		reply_error(c->fd, "reason is longer than 1024 bytes");
		return;
	}
	if (approval_decide(d, (uint64_t)json_integer_value(id), &w, allow, scope,
			    (uint64_t)for_s * 1000, reason, err, sizeof(err))) {
		log_info("uid %u: %s", (unsigned)c->cred.uid, err);
		reply_error(c->fd, "%s", err);
		return;
	}
	reply_ok(c->fd, json_pack("{s:I}", "request", json_integer_value(id)));
}

/* The verbs that decide for themselves who may call them. */
static bool approval_verb(struct daemon *d, struct client *c, const char *verb, json_t *m)
{
	if (!strcmp(verb, "approvals"))
		verb_approvals(d, c);
	else if (!strcmp(verb, "approve"))
		verb_decide(d, c, m, true);
	else if (!strcmp(verb, "deny"))
		verb_decide(d, c, m, false);
	else
		return false;
	return true;
}

static void dispatch(struct daemon *d, struct client *c, json_t *m, int *fds, int nfds)
{
	const char *verb = json_string_value(json_object_get(m, "verb"));

	if (verb && approval_verb(d, c, verb, m))
		return;
	if (c->cred.uid != 0) {
		reply_error(c->fd, "uid %u may not use the control socket", (unsigned)c->cred.uid);
		return;
	}
	if (!verb)
		reply_error(c->fd, "message has no \"verb\"");
	else if (!strcmp(verb, "run"))
		verb_run(d, c, m, fds, nfds);
	else if (!strcmp(verb, "signal"))
		verb_signal(d, c, m);
	else if (!strcmp(verb, "status"))
		verb_status(d, c);
	else
		reply_error(c->fd, "unknown verb '%.64s'", verb);
}

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
	if (r == -EMSGSIZE || r == -EBADMSG) {
		reply_error(fd, r == -EMSGSIZE ? "message too large" : "malformed message");
		client_close(d, c);
		return;
	}
	if (r) {
		client_close(d, c);
		return;
	}
	dispatch(d, c, m, fds, nfds);
	json_decref(m);
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
}

void control_send_event(struct daemon *d, struct session *s, json_t *ev)
{
	(void)d;
	if (s->client_fd >= 0)
		proto_send(s->client_fd, ev, NULL, 0);
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
