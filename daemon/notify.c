// SPDX-License-Identifier: GPL-2.0-only
/*
 * The seccomp listener of a session with approve grants. Each
 * notification is an exec or a connect the kernel holds: the thread that
 * made it sleeps in the kernel until pinfoldd answers, and neither SIGCONT
 * nor a second thread can wake it (the filter is loaded with
 * WAIT_KILLABLE_RECV: once received, only SIGKILL ends the wait).
 *
 * What the daemon reads from the held process's memory (a path, an
 * address) only decides whether to ask an approver and what to show
 * them. No allow rests on it: an approval puts the approved file identity
 * or destination into a kernel map, and the kernel side judges the exec
 * it actually runs and the address it actually connects to (see
 * bpf/pinfold.bpf.c). A path or an address changed after it was read
 * meets that judgement, not this one.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/seccomp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <seccomp.h>

#include "daemon/pinfoldd.h"

int notify_setup(struct daemon *d)
{
	if (seccomp_notify_alloc(&d->notif_req, &d->notif_resp)) {
		log_error("cannot allocate seccomp notification buffers");
		return -ENOMEM;
	}
	return 0;
}

static int respond(struct session *s, uint64_t id, int err, uint32_t flags)
{
	struct seccomp_notif_resp resp = { .id = id, .error = err, .flags = flags };

	/* libseccomp's call takes the kernel's struct as the headers know
	 * it; the fields used here are in every version. */
	if (seccomp_notify_respond(s->notify_fd, &resp))
		return -ENOENT;
	return 0;
}

int notify_continue(struct session *s, uint64_t id)
{
	return respond(s, id, 0, SECCOMP_USER_NOTIF_FLAG_CONTINUE);
}

int notify_fail(struct session *s, uint64_t id, int err)
{
	return respond(s, id, -err, 0);
}

static uint32_t kdev(dev_t dev)
{
	return (uint32_t)((major(dev) << 20) | minor(dev));
}

/* The hash bpf/pinfold.bpf.c computes over an exec's resolved path: its
 * components, last first, each followed by a NUL. */
static uint64_t path_hash(uint64_t seed, const char *path)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ seed;
	const char *end = path + strlen(path);

	while (end > path) {
		const char *c = end;

		while (c > path && c[-1] != '/')
			c--;
		for (const char *p = c; p < end; p++)
			h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
		if (c < end)
			h = (h ^ 0) * 0x100000001b3ULL;
		end = c > path ? c - 1 : path;
	}
	return h;
}

static int gate_one(struct daemon *d, struct session *s, const char *path, uint32_t rule)
{
	struct approve_file_key fk = { .cgroup_id = s->cgroup_id };
	struct approve_path_key pk = { .cgroup_id = s->cgroup_id };
	struct gated_exec *g, *gs;
	char real[PATH_MAX];
	struct stat st;
	int r;

	/* A program that is not there yet is held by its path alone. */
	if (!stat(path, &st) && !S_ISREG(st.st_mode)) {
		log_error("session %llu: approve '%s' is not a program file",
			  (unsigned long long)s->id, path);
		return -EISDIR;
	}
	gs = realloc(s->gated, (s->ngated + 1) * sizeof(*gs));
	if (!gs)
		return -ENOMEM;
	s->gated = gs;
	g = &gs[s->ngated];
	memset(g, 0, sizeof(*g));
	g->path = strdup(path);
	g->rule = rule;
	if (!g->path)
		return -ENOMEM;
	s->ngated++;
	pk.hash = path_hash(d->hash_seed, realpath(path, real) ? real : path);
	r = bpf_approve_put(d, MAP_EXEC_GATED_PATH, &pk, sizeof(pk), &rule, sizeof(rule));
	if (!r && !access(path, F_OK)) {
		g->ino = fk.ino = st.st_ino;
		g->dev = fk.dev = kdev(st.st_dev);
		r = bpf_approve_put(d, MAP_EXEC_GATED, &fk, sizeof(fk), &rule, sizeof(rule));
	}
	return r;
}

unsigned notify_flags(const struct agent *a)
{
	unsigned f = 0;

	for (size_t i = 0; i < a->napproves; i++)
		f |= a->approves[i].kind == APPROVE_EXEC ? SI_APPROVE_EXEC : SI_APPROVE_NET;
	return f;
}

int notify_session_start(struct daemon *d, struct session *s, const struct agent *a)
{
	for (size_t i = 0; s->grants && i < s->grants->npaths; i++) {
		const struct bound_path *bp = &s->grants->paths[i];
		const struct approve_rule *r = agent_approve_rule(a, bp->rule);
		int rc;

		if (!r || r->kind != APPROVE_EXEC)
			continue;
		rc = gate_one(d, s, bp->path, bp->rule);
		if (rc)
			return rc;
	}
	return 0;
}

void notify_session_end(struct daemon *d, struct session *s)
{
	if (!s->approve)
		return;
	bpf_approve_clear_session(d, MAP_EXEC_GATED, s->cgroup_id, sizeof(struct approve_file_key));
	bpf_approve_clear_session(d, MAP_EXEC_GATED_PATH, s->cgroup_id,
				  sizeof(struct approve_path_key));
	bpf_approve_clear_session(d, MAP_EXEC_APPROVED, s->cgroup_id,
				  sizeof(struct approve_file_key));
	bpf_approve_clear_session(d, MAP_NET_APPROVED, s->cgroup_id,
				  sizeof(struct approve_net_key));
}

static bool grant_live(const struct approval_grant *g, int64_t now)
{
	return !g->expires_ms || now < g->expires_ms;
}

bool notify_exec_granted(struct session *s, uint32_t dev, uint64_t ino)
{
	int64_t now = mono_ms();

	for (struct approval_grant *g = s->grants_live; g; g = g->next)
		if (g->kind == APPROVE_EXEC && g->dev == dev && g->ino == ino && grant_live(g, now))
			return true;
	return false;
}

bool notify_connect_granted(struct session *s, const uint8_t addr[16], uint16_t port)
{
	int64_t now = mono_ms();

	for (struct approval_grant *g = s->grants_live; g; g = g->next)
		if (g->kind == APPROVE_CONNECT && g->port == port && !memcmp(g->addr, addr, 16) &&
		    grant_live(g, now))
			return true;
	return false;
}

/* /proc/PID/mem of the held thread, opened while its notification is
 * still valid, so that the pid names the process that made the call. */
static int open_mem(struct session *s, const struct seccomp_notif *req)
{
	char p[64];
	int fd;

	snprintf(p, sizeof(p), "/proc/%u/mem", req->pid);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && seccomp_notify_id_valid(s->notify_fd, req->id)) {
		close(fd);
		return -1;
	}
	return fd;
}

static ssize_t read_mem(int mem, uint64_t addr, void *buf, size_t len)
{
	return addr ? pread(mem, buf, len, (off_t)addr) : -1;
}

/* A NUL-terminated string of at most len - 1 bytes; reads stop at the
 * first unmapped page. */
static int read_string(int mem, uint64_t addr, char *buf, size_t len)
{
	ssize_t n = read_mem(mem, addr, buf, len - 1);

	if (n <= 0)
		return -1;
	buf[n] = 0;
	return memchr(buf, 0, (size_t)n) ? 0 : -1;
}

/* The file an exec names, opened as the kernel would find it: relative
 * to the held thread's working directory or dirfd. Only what it shows an
 * approver, and whether to ask at all, rests on this. */
static int open_exec_target(pid_t pid, int dirfd, const char *path, bool empty_path)
{
	char base[64];
	int bfd, fd;

	if (path[0] == '/')
		return open(path, O_PATH | O_CLOEXEC);
	if (dirfd == AT_FDCWD)
		snprintf(base, sizeof(base), "/proc/%d/cwd", pid);
	else
		snprintf(base, sizeof(base), "/proc/%d/fd/%d", pid, dirfd);
	if (empty_path && !path[0])
		return open(base, O_PATH | O_CLOEXEC);
	bfd = open(base, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (bfd < 0)
		return -1;
	fd = openat(bfd, path, O_PATH | O_CLOEXEC);
	close(bfd);
	return fd;
}

static const struct gated_exec *gated_match(struct session *s, const struct stat *st,
					    const char *real)
{
	for (size_t i = 0; i < s->ngated; i++) {
		const struct gated_exec *g = &s->gated[i];

		if ((g->ino && g->ino == st->st_ino && g->dev == kdev(st->st_dev)) ||
		    !strcmp(g->path, real))
			return g;
	}
	return NULL;
}

/* Returns true when a is a request to hold, filled in. */
static bool classify_exec(struct session *s, const struct seccomp_notif *req, int mem,
			  struct approval *a)
{
	bool at = req->data.nr == SCMP_SYS(execveat);
	int dirfd = at ? (int)req->data.args[0] : AT_FDCWD;
	bool empty = at && (req->data.args[4] & AT_EMPTY_PATH);
	char link[64], path[PATH_MAX];
	const struct gated_exec *g;
	struct stat st;
	ssize_t n;
	int fd;

	if (read_string(mem, req->data.args[at ? 1 : 0], path, sizeof(path)))
		return false;
	fd = open_exec_target((pid_t)req->pid, dirfd, path, empty);
	if (fd < 0)
		return false;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, a->resolved, sizeof(a->resolved) - 1);
	a->resolved[n > 0 ? n : 0] = 0;
	if (fstat(fd, &st) || seccomp_notify_id_valid(s->notify_fd, req->id)) {
		close(fd);
		return false;
	}
	close(fd);
	g = gated_match(s, &st, a->resolved);
	/* One the session's grants refuse (a denial, the dispatcher's bound)
	 * is Landlock's to refuse, not an approver's to allow. */
	if (!g || !grants_check_path(s->grants, a->resolved, ACC_EXEC, NULL) ||
	    notify_exec_granted(s, kdev(st.st_dev), st.st_ino))
		return false;
	a->kind = APPROVE_EXEC;
	a->ino = st.st_ino;
	a->dev = kdev(st.st_dev);
	a->rule = g->rule;
	snprintf(a->object, sizeof(a->object), "%s", path);
	return true;
}

/* The destination of a connect, sendto or sendmsg, in IPv6 form; false
 * when there is none to judge (a connected send, another family). */
static bool read_dest(const struct seccomp_notif *req, int mem, uint8_t addr[16],
		      uint16_t *port)
{
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };
	struct sockaddr_in6 sa = { 0 };
	uint64_t ptr, len;
	ssize_t n;

	if (req->data.nr == SCMP_SYS(sendmsg)) {
		struct msghdr mh;

		if (read_mem(mem, req->data.args[1], &mh, sizeof(mh)) != sizeof(mh))
			return false;
		ptr = (uint64_t)(uintptr_t)mh.msg_name;
		len = mh.msg_namelen;
	} else if (req->data.nr == SCMP_SYS(sendto)) {
		ptr = req->data.args[4];
		len = req->data.args[5];
	} else {
		ptr = req->data.args[1];
		len = req->data.args[2];
	}
	n = read_mem(mem, ptr, &sa, len < sizeof(sa) ? len : sizeof(sa));
	if (n >= (ssize_t)sizeof(struct sockaddr_in) && sa.sin6_family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&sa;

		memcpy(addr, mapped, 12);
		memcpy(addr + 12, &in->sin_addr, 4);
		*port = ntohs(in->sin_port);
		return true;
	}
	if (n == (ssize_t)sizeof(sa) && sa.sin6_family == AF_INET6) {
		memcpy(addr, &sa.sin6_addr, 16);
		*port = ntohs(sa.sin6_port);
		return true;
	}
	return false;
}

/* Whether a dispatcher's bound leaves room for the destination: an
 * approval lets through no more than the bound would grant. */
static bool bounds_allow(const struct perm_req *r, const uint8_t addr[16], uint16_t port)
{
	for (size_t i = 0; i < r->nbounds; i++)
		if (net_check(r->bounds[i]->set.nets, r->bounds[i]->set.nnets, addr, port, NULL))
			return true;
	return r->nbounds == 0;
}

/*
 * The approve rule that holds a connect, or NULL to let the kernel's hook
 * decide: a destination the session's grants already allow, one a denial
 * line or the dispatcher's bound refuses, or one no approve rule whose
 * condition holds covers.
 */
static const struct approve_rule *held_connect(struct daemon *d, struct session *s,
					       const struct agent *ag, const uint8_t addr[16],
					       uint16_t port)
{
	const struct approve_rule *r = NULL;
	struct eval_ctx ctx;
	struct perm_req pr;
	struct verdict v;

	if (session_perm(d, d->policy, s, ag, &ctx, &pr))
		return NULL;
	if (!perm_explain_connect(&pr, addr, port, &v) && !v.allow && !v.rule &&
	    v.layer == LAYER_AGENT && bounds_allow(&pr, addr, port))
		r = agent_approve_connect(ag, addr, port);
	if (r && !cond_holds(d->policy, r->cond, &ctx))
		r = NULL;
	free((void *)pr.bounds);
	return r;
}

static bool classify_connect(struct daemon *d, struct session *s,
			     const struct seccomp_notif *req, int mem, struct approval *a)
{
	const struct agent *ag = policy_agent(d->policy, s->agent);
	const struct approve_rule *r;

	if (!ag || !read_dest(req, mem, a->addr, &a->port))
		return false;
	r = held_connect(d, s, ag, a->addr, a->port);
	if (!r || notify_connect_granted(s, a->addr, a->port))
		return false;
	a->kind = APPROVE_CONNECT;
	a->rule = r->rule;
	format_addr6(a->addr, a->port, a->object, sizeof(a->object));
	return true;
}

static void notify_close(struct daemon *d, struct session *s)
{
	epoll_ctl(d->epfd, EPOLL_CTL_DEL, s->notify_fd, NULL);
	close(s->notify_fd);
	s->notify_fd = -1;
}

void notify_ready(struct daemon *d, struct session *s, uint32_t events)
{
	struct seccomp_notif *req = d->notif_req;
	struct approval *a;
	int mem, nr;
	bool hold = false;

	if (!(events & EPOLLIN)) {
		/* Every process of the session is gone. */
		notify_close(d, s);
		return;
	}
	memset(req, 0, sizeof(*req));
	if (seccomp_notify_receive(s->notify_fd, req))
		return;	/* the caller was interrupted before it was received */
	a = calloc(1, sizeof(*a));
	mem = open_mem(s, req);
	nr = req->data.nr;
	if (a && mem >= 0) {
		if (nr == SCMP_SYS(execve) || nr == SCMP_SYS(execveat))
			hold = classify_exec(s, req, mem, a);
		else
			hold = classify_connect(d, s, req, mem, a);
	}
	if (mem >= 0)
		close(mem);
	if (!hold) {
		free(a);
		notify_continue(s, req->id);
		return;
	}
	a->s = s;
	a->notif_id = req->id;
	a->pid = (pid_t)req->pid;
	a->nr = nr;
	approval_hold(d, a);
}
