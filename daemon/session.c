// SPDX-License-Identifier: GPL-2.0-only
/*
 * Agent sessions: starting a command inside its session cgroup with the
 * agent's restrictions, and ending it.
 *
 * The first process is made with clone3(CLONE_INTO_CGROUP), so it is in the
 * session cgroup from its first instruction, and it applies Landlock,
 * seccomp and its unprivileged uid before it execs the agent's command.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <poll.h>
#include <sys/epoll.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/sched.h>

#include "daemon/compat.h"
#include "daemon/pinfoldd.h"
#include "daemon/proto.h"

extern char **environ;

/*
 * What an agent inherits of its dispatcher's environment: how to talk to the
 * terminal and the locale, nothing else. Tokens and keys travel in
 * environment variables under every name there is (GITHUB_TOKEN,
 * AWS_SECRET_ACCESS_KEY, ...), so a list of names to drop can never be
 * complete; a list of names to keep can. The agent gets its own HOME, USER,
 * PATH and TMPDIR.
 */
static const char *const env_kept[] = {
	"TERM", "COLORTERM", "NO_COLOR", "COLUMNS", "LINES", "LANG", "LANGUAGE", "TZ",
	"LC_ALL", "LC_CTYPE", "LC_COLLATE", "LC_MESSAGES", "LC_NUMERIC", "LC_TIME",
	"LC_MONETARY", "LC_PAPER", "LC_NAME", "LC_ADDRESS", "LC_TELEPHONE", "LC_MEASUREMENT",
	"LC_IDENTIFICATION", NULL,
};

#define AGENT_PATH "PATH=/usr/local/bin:/usr/bin:/bin"

struct session *session_find_cgroup(struct daemon *d, uint64_t cgid)
{
	/* Events come in bursts from one session: try the last hit first. */
	if (d->last_hit && d->last_hit->cgroup_id == cgid)
		return d->last_hit;
	for (struct session *s = d->sessions; s; s = s->next) {
		if (s->cgroup_id == cgid) {
			d->last_hit = s;
			return s;
		}
	}
	return NULL;
}

struct session *session_find_pidfd(struct daemon *d, int pidfd)
{
	for (struct session *s = d->sessions; s; s = s->next)
		if (s->pidfd == pidfd)
			return s;
	return NULL;
}

static bool env_is_kept(const char *kv)
{
	for (int i = 0; env_kept[i]; i++) {
		size_t n = strlen(env_kept[i]);

		if (!strncmp(kv, env_kept[i], n) && kv[n] == '=')
			return true;
	}
	return false;
}

static char **env_build(char **in, const char *home, const char *user, const char *ws,
			const char *agent, uint64_t id)
{
	size_t n = 0, k = 0;
	char **out;

	while (in && in[n])
		n++;
	out = calloc(n + 10, sizeof(char *));
	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (env_is_kept(in[i]))
			out[k++] = strdup(in[i]);
	out[k++] = strdup(AGENT_PATH);
	if (asprintf(&out[k++], "HOME=%s", home) < 0 ||
	    asprintf(&out[k++], "USER=%s", user) < 0 ||
	    asprintf(&out[k++], "LOGNAME=%s", user) < 0 ||
	    asprintf(&out[k++], "PWD=%s", ws) < 0 ||
	    asprintf(&out[k++], "TMPDIR=%s", ws) < 0 ||
	    asprintf(&out[k++], "PINFOLD_AGENT=%s", agent) < 0 ||
	    asprintf(&out[k++], "PINFOLD_SESSION=%llu", (unsigned long long)id) < 0)
		out[k - 1] = NULL;
	return out;
}

static void env_free(char **env)
{
	for (size_t i = 0; env && env[i]; i++)
		free(env[i]);
	free(env);
}

/* mkdir -p, each made directory owned by root and 0755, except the last,
 * which is the agent's own. */
struct launch {
	char **argv;
	char **envp;
	const char *workspace;
	int fds[3];
	int ruleset_fd;
	int notify_sock;	/* -1, or where the seccomp listener goes */
	int sp[2];
	const struct sandbox_filter *filter;
	uid_t uid;
	gid_t gid;
	const gid_t *groups;	/* supplementary; none for a service uid */
	size_t ngroups;
};

/* Where the child keeps what it needs until it execs: the ruleset at
 * 110, the listener's socket at LISTENER_SOCK_FD (the seccomp filter
 * names that number). */
#define CHILD_FD_RULESET 110
#define CHILD_FD_TOP LISTENER_SOCK_FD

/* Every descriptor kept is first copied above every fixed place, then put
 * in its place: the daemon's own descriptors, inherited, may sit anywhere
 * (with thousands of clients, the lowest free one above 100 is far from
 * 100), and one still needed must not be overwritten. */
static int child_fds(struct launch *L)
{
	int tmp[5], n = L->notify_sock >= 0 ? 5 : 4;
	const int src[5] = { L->fds[0], L->fds[1], L->fds[2], L->ruleset_fd, L->notify_sock };

	for (int i = 0; i < n; i++) {
		tmp[i] = fcntl(src[i], F_DUPFD_CLOEXEC, CHILD_FD_TOP + 1);
		if (tmp[i] < 0)
			return -1;
	}
	for (int i = 0; i < 3; i++)
		if (dup2(tmp[i], i) < 0)
			return -1;
	if (dup3(tmp[3], CHILD_FD_RULESET, O_CLOEXEC) < 0)
		return -1;
	L->ruleset_fd = CHILD_FD_RULESET;
	if (n == 5) {
		if (dup3(tmp[4], LISTENER_SOCK_FD, O_CLOEXEC) < 0)
			return -1;
		L->notify_sock = LISTENER_SOCK_FD;
	}
	syscall(SYS_close_range, 3U, CHILD_FD_RULESET - 1U, 0);
	syscall(SYS_close_range, n == 5 ? CHILD_FD_TOP + 1U : CHILD_FD_RULESET + 1U, ~0U, 0);
	return 0;
}

static int child_creds(const struct launch *L)
{
	for (int cap = 0; cap <= CAP_LAST_CAP; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) && errno != EINVAL)
			return -1;
	if (setgroups(L->ngroups, L->groups) || setresgid(L->gid, L->gid, L->gid) ||
	    setresuid(L->uid, L->uid, L->uid))
		return -1;
	/* A uid change from root clears the capability sets; make sure. */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) && errno != EINVAL)
		return -1;
	return 0;
}

static void __attribute__((noreturn)) child_run(struct launch *L)
{
	sigset_t all;
	const char *step;
	int r;

	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);

	step = "descriptors";
	if (child_fds(L))
		goto fail;
	setsid();
	step = "credentials";
	if (child_creds(L))
		goto fail;
	step = "workspace";
	if (chdir(L->workspace))
		goto fail;
	step = "sandbox";
	r = sandbox_apply_child(L->ruleset_fd, L->filter, L->notify_sock);
	if (r) {
		errno = -r;
		goto fail;
	}
	close(L->ruleset_fd);
	/* execvp searches the PATH of environ, so the agent's environment must
	 * be in place first. */
	environ = L->envp;
	execvp(L->argv[0], L->argv);
	dprintf(2, "pinfold: cannot run '%s': %s\n", L->argv[0], strerror(errno));
	_exit(errno == ENOENT ? 127 : 126);
fail:
	dprintf(2, "pinfold: cannot start session (%s): %s\n", step, strerror(errno));
	_exit(126);
}

static pid_t spawn_into_cgroup(struct launch *L, int cgfd, int *pidfd)
{
	struct clone_args ca = {
		.flags = CLONE_PIDFD | CLONE_INTO_CGROUP,
		.pidfd = (uint64_t)(uintptr_t)pidfd,
		.exit_signal = SIGCHLD,
		.cgroup = (uint64_t)cgfd,
	};
	pid_t pid = syscall(SYS_clone3, &ca, sizeof(ca));

	if (pid == 0)
		child_run(L);
	return pid;
}

static const char *agent_home(const struct agent *a, uid_t uid, const char *ws)
{
	struct passwd *pw;

	if (a->home)
		return a->home;
	pw = getpwuid(uid);
	return pw && pw->pw_dir ? pw->pw_dir : ws;
}

static void session_free(struct session *s)
{
	if (s->notify_fd >= 0)
		close(s->notify_fd);
	if (s->restrict_fd >= 0)
		close(s->restrict_fd);
	for (size_t i = 0; i < s->ngated; i++)
		free(s->gated[i].path);
	free(s->gated);
	free(s->denied_exec);
	grants_free(s->grants);
	perm_stages_free(s->explain);
	free(s->dispatcher_gids);
	free(s->dispatcher_name);
	free(s->held_rules);
	free(s->landlock_conds);
	free(s->agent);
	json_decref(s->agent_json);
	free(s->cgroup_path);
	free(s->workspace);
	free(s->home);
	free(s);
}

static json_t *argv_json(char **argv)
{
	json_t *a = json_array();

	for (size_t i = 0; argv[i]; i++)
		json_array_append_new(a, json_string(argv[i]));
	return a;
}

static void record_start(struct daemon *d, struct session *s, char **argv)
{
	json_t *rec = audit_base(d, "session-start");

	json_object_set_new(rec, "session", json_integer((json_int_t)s->id));
	json_object_set_new(rec, "agent", json_string(s->agent));
	json_object_set_new(rec, "uid", json_integer(s->uid));
	json_object_set_new(rec, "dispatcher_uid", json_integer(s->dispatcher_uid));
	/* With its own uid the agent is held to the dispatcher's bound by
	 * pinfold's layers alone; with the dispatcher's, Unix permissions
	 * hold it there too. */
	json_object_set_new(rec, "runs_as", json_string(s->service_uid ? "service uid"
								      : "dispatcher uid"));
	json_object_set_new(rec, "pid", json_integer(s->pid));
	json_object_set_new(rec, "cmd", argv_json(argv));
	json_object_set_new(rec, "workspace", json_string(s->workspace));
	json_object_set_new(rec, "cgroup", json_string(s->cgroup_path));
	json_object_set_new(rec, "policy", json_string(d->policy->hash_hex));
	if (s->adopted)
		json_object_set_new(rec, "via", json_string("pam"));
	audit_record(d, rec);
}

/* The fields every session starts with, whoever starts it. */
static struct session *session_new(struct daemon *d, const struct agent *a)
{
	struct session *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->id = chain_next_seq(d->chain);
	s->agent = strdup(a->name);
	s->agent_json = json_string(a->name);
	s->agent_id = a->id;
	s->pidfd = -1;
	s->notify_fd = -1;
	s->restrict_fd = -1;
	s->client_fd = -1;
	s->started_ns = s->active_ns = audit_now_ns();
	s->started = s->started_ns / 1000000000;
	/* Sessions key the kernel's maps with the top bit set, apart from
	 * the per-agent keys. */
	s->net_id = 0x80000000u | (uint32_t)(s->id & 0x7fffffffu);
	s->next_eval = INT64_MAX;
	return s;
}

/* The login program (root) is the dispatcher of a PAM session; the
 * session runs as the service account. */
static int adopt_identity(struct session *s, pid_t pid, uid_t uid, uid_t by)
{
	s->workspace = strdup("");
	s->dispatcher_gids = calloc(1, sizeof(gid_t));
	s->uid = uid;
	s->dispatcher_uid = by;
	s->service_uid = true;
	s->adopted = true;
	s->pid = pid;
	s->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	return s->workspace && s->dispatcher_gids && s->pidfd >= 0 ? 0 : -1;
}

/* What the login process applies to itself, built as a run session's
 * first process has it built: a ruleset from the agent's grants, the
 * seccomp program, and a socket pair for the process's answer. A login
 * has no workspace: grants naming ${workspace} are skipped; ${home} is
 * the account's home. */
static int adopt_sandbox(struct daemon *d, struct session *s, struct perm_req *pr,
			 int fds[ADOPT_FDS], char *err, size_t errlen)
{
	struct diag dg = { 0 };
	int sp[2], rc;

	pr->vars = (struct bind_vars){ NULL, s->home, s->dispatcher_name };
	s->grants = grants_for(pr, &dg);
	for (size_t i = 0; i < dg.n; i++)
		log_warn("%s", dg.msgs[i]);
	diag_free(&dg);
	if (!s->grants) {
		snprintf(err, errlen, "cannot bind the grants of agent '%s'", s->agent);
		return -1;
	}
	snprintf(s->landlock_policy, sizeof(s->landlock_policy), "%s", d->policy->hash_hex);
	fds[0] = landlock_build(d->landlock_abi, s->grants, NULL, s->home, err, errlen);
	if (fds[0] < 0)
		return -1;
	fds[1] = rc = sandbox_filter_fd(s->approve);
	if (rc >= 0)
		rc = socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) ? -errno : 0;
	if (rc < 0) {
		snprintf(err, errlen, "cannot build the seccomp filter: %s", strerror(-rc));
		close(fds[0]);
		if (fds[1] >= 0)
			close(fds[1]);
		return -1;
	}
	s->restrict_fd = sp[0];
	fds[2] = sp[1];
	return 0;
}

static void close_fds(int *fds, int n)
{
	for (int i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

struct session *session_adopt(struct daemon *d, const struct agent *a, pid_t pid, uid_t uid,
			      const char *user, int fds[ADOPT_FDS], char *err, size_t errlen)
{
	char *argv[] = { (char *)user, NULL };
	struct perm_req pr = { 0 };
	const char *home;
	struct eval_ctx ctx;
	struct session *s;
	int rc;

	fds[0] = fds[1] = fds[2] = -1;
	if (agent_may_run(d, a, err, errlen))
		return NULL;
	s = session_new(d, a);
	if (!s || adopt_identity(s, pid, uid, 0) || session_perm(d, d->policy, s, a, &ctx, &pr)) {
		snprintf(err, errlen, "cannot follow pid %d: %s", (int)pid, strerror(errno));
		goto fail_free;
	}
	s->approve = notify_flags(a);
	home = agent_home(a, uid, NULL);
	s->home = home ? strdup(home) : NULL;
	if (adopt_sandbox(d, s, &pr, fds, err, errlen))
		goto fail_free;
	rc = cgroup_create_session(d, a->name, s->id, &s->cgroup_path, &s->cgroup_id);
	if (rc) {
		snprintf(err, errlen, "cannot create session cgroup under '%s': %s", d->cgroot,
			 strerror(-rc));
		goto fail_free;
	}
	rc = bpf_session_add(d, s->cgroup_id, s->id, s->net_id, s->approve);
	if (!rc)
		rc = notify_session_start(d, s, a);
	if (!rc)
		rc = session_perm_start(d, s, &pr) ? -EIO : cgroup_attach(s->cgroup_path, pid);
	if (rc) {
		snprintf(err, errlen, "cannot tag pid %d as session %llu: %s", (int)pid,
			 (unsigned long long)s->id, strerror(-rc));
		bpf_session_del(d, s->cgroup_id);
		bpf_session_net(d, s->net_id, NULL, 0, NULL, 0);
		notify_session_end(d, s);
		cgroup_remove(s->cgroup_path);
		goto fail_free;
	}
	free((void *)pr.bounds);
	s->next = d->sessions;
	d->sessions = s;
	epoll_add(d, s->pidfd, TAG_PIDFD, EPOLLIN);
	/* Its answer is awaited in the main loop; a login that gives none in
	 * time is ended (pam_verbs.c). */
	epoll_add(d, s->restrict_fd, TAG_PAM, EPOLLIN);
	s->restrict_deadline_ms = mono_ms() + PAM_RESTRICT_WAIT_MS;
	record_start(d, s, argv);
	audit_flush(d, true);
	return s;

fail_free:
	close_fds(fds, ADOPT_FDS);
	fds[0] = fds[1] = fds[2] = -1;
	free((void *)pr.bounds);
	if (s && s->pidfd >= 0)
		close(s->pidfd);
	if (s)
		session_free(s);
	return NULL;
}

/*
 * Who the agent runs as. Dispatched by a user, it runs as that user, with
 * the user's groups, so Unix permissions and setuid binaries can never
 * lift it above the user either; an agent file that names its own uid,
 * and every agent root dispatches, gets a service uid with no groups.
 */
static int run_as(struct daemon *d, const struct agent *a, const struct run_request *r,
		  struct launch *L, char *err, size_t errlen)
{
	if (r->dispatcher_uid != 0 && !a->has_uid) {
		L->uid = r->dispatcher_uid;
		L->gid = r->dispatcher_gid;
		L->groups = r->groups;
		L->ngroups = r->ngroups;
		return 0;
	}
	if (uid_for_agent(d, a, &L->uid, &L->gid)) {
		snprintf(err, errlen, "no uid available for agent '%s'", a->name);
		return -1;
	}
	return 0;
}

/* The dispatcher as conditions see it, and the session's own facts. */
static int session_identity(struct session *s, const struct run_request *r)
{
	struct passwd *pw = getpwuid(r->dispatcher_uid);

	s->dispatcher_gids = calloc(r->ngroups + 1, sizeof(gid_t));
	if (!s->dispatcher_gids)
		return -1;
	if (r->ngroups)
		memcpy(s->dispatcher_gids, r->groups, r->ngroups * sizeof(gid_t));
	s->ndispatcher_gids = r->ngroups;
	s->dispatcher_name = pw && pw->pw_name ? strdup(pw->pw_name) : NULL;
	s->tty = isatty(r->fds[0]) || isatty(r->fds[1]);
	return 0;
}

/* The first process sends its seccomp listener before it execs the
 * command (sandbox.c). Without it nothing could answer a held call, so a
 * session whose listener does not arrive is ended at once. */
static int session_listener(struct daemon *d, struct session *s, int sock, char *err,
			    size_t errlen)
{
	struct pollfd p = { .fd = sock, .events = POLLIN };
	int fds[PROTO_FDS_MAX], nfds = 0, r = -ETIMEDOUT;
	json_t *m = NULL;
	siginfo_t si;

	if (poll(&p, 1, 5000) == 1)
		r = proto_recv(sock, &m, fds, &nfds);
	json_decref(m);
	if (!r && nfds == 1) {
		s->notify_fd = fds[0];
		return epoll_add(d, s->notify_fd, TAG_NOTIFY, EPOLLIN);
	}
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	snprintf(err, errlen, "the session's seccomp listener did not arrive: %s",
		 strerror(r ? -r : EPROTO));
	cgroup_kill(s->cgroup_path);
	waitid(P_PIDFD, s->pidfd, &si, WEXITED);
	close(s->pidfd);
	s->pidfd = -1;
	return -1;
}

struct session *session_start(struct daemon *d, const struct run_request *r, char *err,
			      size_t errlen)
{
	const struct agent *a = policy_agent(d->policy, r->agent);
	struct launch L = { .argv = r->argv, .notify_sock = -1 };
	struct sandbox_filter filter = { 0 };
	struct perm_req pr = { 0 };
	struct diag dg = { 0 };
	struct eval_ctx ctx;
	struct session *s;
	char wsbuf[PATH_MAX], canon[PATH_MAX], *pw_name, uidname[32];
	struct ws_owner ws_owner;
	struct passwd *pw;
	int cgfd, rc, listen_sock = -1;

	if (audit_refuses_sessions(d, err, errlen))
		return NULL;
	if (!a) {
		snprintf(err, errlen, "unknown agent '%s'", r->agent);
		return NULL;
	}
	if (agent_may_run(d, a, err, errlen))
		return NULL;
	if (!r->argv || !r->argv[0]) {
		snprintf(err, errlen, "no command given");
		return NULL;
	}
	if (!policy_may_dispatch(d->policy, a->name, r->dispatcher_uid, r->groups, r->ngroups)) {
		snprintf(err, errlen, "uid %u may not launch agent '%s': no bound in users.d "
			 "names both", (unsigned)r->dispatcher_uid, a->name);
		return NULL;
	}
	if (run_as(d, a, r, &L, err, errlen))
		return NULL;

	if (r->workspace)
		snprintf(wsbuf, sizeof(wsbuf), "%s", r->workspace);
	else if (a->workspace)
		snprintf(wsbuf, sizeof(wsbuf), "%s", a->workspace);
	else if (L.groups)
		snprintf(wsbuf, sizeof(wsbuf), "%s/workspaces/%u/%s", d->state_dir,
			 (unsigned)L.uid, a->name);
	else
		snprintf(wsbuf, sizeof(wsbuf), "%s/workspaces/%s", d->state_dir, a->name);
	/* Canonical, as grant paths are, so that what lies beneath the
	 * workspace is recognised (sandbox.c). */
	if (path_canonical(wsbuf, canon, sizeof(canon))) {
		snprintf(err, errlen, "workspace '%s' is not an absolute path", wsbuf);
		return NULL;
	}
	strcpy(wsbuf, canon);
	ws_owner.uid = L.uid;
	ws_owner.gid = L.gid;
	ws_owner.as_caller = r->workspace && r->dispatcher_uid != 0;
	ws_owner.caller_uid = r->dispatcher_uid;
	ws_owner.caller_gid = r->dispatcher_gid;
	ws_owner.groups = r->groups;
	ws_owner.ngroups = r->ngroups;
	if (workspace_prepare(wsbuf, &ws_owner, err, errlen))
		return NULL;
	L.workspace = wsbuf;

	s = session_new(d, a);
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->workspace = strdup(wsbuf);
	s->uid = L.uid;
	s->dispatcher_uid = r->dispatcher_uid;
	s->service_uid = L.groups == NULL;
	s->client_fd = r->client_fd;
	s->approve = notify_flags(a);
	if (session_identity(s, r) || session_perm(d, d->policy, s, a, &ctx, &pr)) {
		snprintf(err, errlen, "out of memory");
		goto fail_free;
	}
	s->home = strdup(agent_home(a, L.uid, wsbuf));
	snprintf(s->landlock_policy, sizeof(s->landlock_policy), "%s", d->policy->hash_hex);
	pr.vars = (struct bind_vars){ wsbuf, s->home, s->dispatcher_name };
	s->grants = grants_for(&pr, &dg);
	for (size_t i = 0; i < dg.n; i++)
		log_warn("%s", dg.msgs[i]);
	diag_free(&dg);
	if (!s->grants) {
		snprintf(err, errlen, "cannot bind the grants of agent '%s'", a->name);
		goto fail_free;
	}

	L.ruleset_fd = landlock_build(d->landlock_abi, s->grants, wsbuf,
				      agent_home(a, L.uid, wsbuf), err, errlen);
	if (L.ruleset_fd < 0)
		goto fail_free;
	rc = sandbox_filter(s->approve, &filter);
	if (!rc && s->approve && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, L.sp))
		rc = -errno;
	if (rc) {
		snprintf(err, errlen, "cannot build the seccomp filter: %s", strerror(-rc));
		goto fail_ruleset;
	}
	L.filter = &filter;
	if (s->approve) {
		listen_sock = L.sp[0];
		L.notify_sock = L.sp[1];
	}
	rc = cgroup_create_session(d, a->name, s->id, &s->cgroup_path, &s->cgroup_id);
	if (rc) {
		snprintf(err, errlen, "cannot create session cgroup under '%s': %s", d->cgroot,
			 strerror(-rc));
		goto fail_ruleset;
	}
	rc = notify_session_start(d, s, a);
	if (!rc)
		rc = bpf_session_add(d, s->cgroup_id, s->id, s->net_id, s->approve);
	if (rc || session_perm_start(d, s, &pr)) {
		snprintf(err, errlen, "cannot register session in the kernel: %s",
			 strerror(rc ? -rc : EIO));
		bpf_session_net(d, s->net_id, NULL, 0, NULL, 0);
		goto fail_map_noenv;
	}

	pw = getpwuid(L.uid);
	snprintf(uidname, sizeof(uidname), "pinfold-%u", (unsigned)L.uid);
	pw_name = pw ? pw->pw_name : uidname;
	L.envp = env_build(r->envp, agent_home(a, L.uid, wsbuf), pw_name, wsbuf, a->name, s->id);
	memcpy(L.fds, r->fds, sizeof(L.fds));
	cgfd = open(s->cgroup_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cgfd < 0 || !L.envp) {
		snprintf(err, errlen, "cannot open session cgroup '%s': %s", s->cgroup_path,
			 strerror(errno));
		goto fail_map;
	}
	s->pid = spawn_into_cgroup(&L, cgfd, &s->pidfd);
	rc = errno;
	close(cgfd);
	env_free(L.envp);
	close(L.ruleset_fd);
	L.ruleset_fd = -1;
	if (L.notify_sock >= 0)
		close(L.notify_sock);
	L.notify_sock = -1;
	if (s->pid < 0) {
		snprintf(err, errlen, "cannot start the session's first process: %s",
			 strerror(rc));
		goto fail_map_noenv;
	}
	if (s->approve && session_listener(d, s, listen_sock, err, errlen))
		goto fail_map_noenv;
	sandbox_filter_free(&filter);
	if (listen_sock >= 0)
		close(listen_sock);

	free((void *)pr.bounds);
	s->next = d->sessions;
	d->sessions = s;
	epoll_add(d, s->pidfd, TAG_PIDFD, EPOLLIN);
	record_start(d, s, r->argv);
	audit_flush(d, true);
	log_debug("session %llu (agent %s): started pid %d as uid %u in '%s'",
		  (unsigned long long)s->id, s->agent, s->pid, (unsigned)s->uid,
		  s->cgroup_path);
	return s;

fail_map:
	env_free(L.envp);
	if (cgfd >= 0)
		close(cgfd);
fail_map_noenv:
	bpf_session_del(d, s->cgroup_id);
	bpf_session_net(d, s->net_id, NULL, 0, NULL, 0);
	notify_session_end(d, s);
	cgroup_remove(s->cgroup_path);
fail_ruleset:
	if (L.ruleset_fd >= 0)
		close(L.ruleset_fd);
	if (L.notify_sock >= 0)
		close(L.notify_sock);
	if (listen_sock >= 0)
		close(listen_sock);
	sandbox_filter_free(&filter);
fail_free:
	free((void *)pr.bounds);
	session_free(s);
	return NULL;
}

static void record_end(struct daemon *d, struct session *s, const char *why)
{
	json_t *rec = audit_base(d, "session-end");

	json_object_set_new(rec, "session", json_integer((json_int_t)s->id));
	json_object_set_new(rec, "agent", json_string(s->agent));
	/* How an adopted login ended is its parent's to know, not ours. */
	if (s->adopted)
		;
	else if (WIFEXITED(s->status))
		json_object_set_new(rec, "exit", json_integer(WEXITSTATUS(s->status)));
	else if (WIFSIGNALED(s->status))
		json_object_set_new(rec, "signal", json_integer(WTERMSIG(s->status)));
	json_object_set_new(rec, "reason", json_string(why));
	json_object_set_new(rec, "events", json_integer((json_int_t)s->events));
	json_object_set_new(rec, "denials", json_integer((json_int_t)s->denials));
	json_object_set_new(rec, "processes", json_integer((json_int_t)s->processes + 1));
	audit_record(d, rec);
}

/* Whatever the command left running in its session ends with it, as
 * with a systemd scope: the session is the unit of authority. */
/* The end record waits for the main process's status: it says how the
 * command ended, and why the session did. */
void session_end(struct daemon *d, struct session *s, const char *why)
{
	(void)d;
	if (s->ending)
		return;
	s->ending = true;
	s->end_reason = why;
	cgroup_kill(s->cgroup_path);
}

void session_kill(struct daemon *d, struct session *s, const char *why)
{
	session_end(d, s, why);
	/* A frozen task is woken by SIGKILL, but a thawed cgroup also lets
	 * the daemon see it go. */
	if ((s->frozen || s->held) && !cgroup_freeze(s->cgroup_path, false))
		s->frozen = s->held = false;
}

/* A request's freeze is kept apart from a lapsed condition's: a thaw on
 * request leaves the cgroup frozen while a condition still holds it. */
int session_freeze(struct session *s, bool frozen)
{
	int r = frozen || !s->frozen ? cgroup_freeze(s->cgroup_path, frozen) : 0;

	if (!r)
		s->held = frozen;
	return r;
}

/* An adopted main process is not the daemon's child: its pidfd turning
 * readable says it is gone, and how it ended is its parent's to know. */
static bool main_process_gone(struct session *s)
{
	siginfo_t si = { 0 };
	struct pollfd p = { s->pidfd, POLLIN, 0 };

	if (s->adopted) {
		if (poll(&p, 1, 0) != 1)
			return false;
		s->status = 0;
		return true;
	}
	if (waitid(P_PIDFD, s->pidfd, &si, WEXITED | WNOHANG) || si.si_pid == 0)
		return false;
	s->status = si.si_code == CLD_EXITED ? W_EXITCODE(si.si_status, 0)
					     : W_EXITCODE(0, si.si_status);
	return true;
}

void session_reap(struct daemon *d, struct session *s)
{
	if (!main_process_gone(s))
		return;
	s->exited = true;
	epoll_ctl(d->epfd, EPOLL_CTL_DEL, s->pidfd, NULL);
	close(s->pidfd);
	s->pidfd = -1;
	session_end(d, s, s->adopted ? "login process exited" : "command exited");
	bpf_consume(d);
	record_end(d, s, s->end_reason);
	audit_flush(d, true);
	control_send_exit(d, s);
}

void session_client_gone(struct daemon *d, struct session *s)
{
	s->client_fd = -1;
	if (!s->exited)
		session_end(d, s, "client disconnected");
}

void session_signal(struct daemon *d, struct session *s, int sig)
{
	(void)d;
	if (!s->exited && sig > 0 && sig < NSIG)
		kill(-s->pid, sig);
}

/* Removes sessions whose cgroup has emptied. rmdir fails with EBUSY while
 * any process is left, which is the test. */
void session_tick(struct daemon *d)
{
	struct session **pp = &d->sessions;

	inventory_roll(d);
	session_conditions_due(d);
	while (*pp) {
		struct session *s = *pp;

		/* Activity is noted here, once a loop, not once an event. */
		if (s->restrict_fd >= 0 && mono_ms() >= s->restrict_deadline_ms)
			pam_restrict_fail(d, s, "no answer from the login process in time");
		if (s->events != s->events_seen) {
			s->events_seen = s->events;
			s->active_ns = audit_now_ns();
		}
		if (s->ending && s->exited && !cgroup_remove(s->cgroup_path)) {
			bpf_consume(d);
			bpf_session_del(d, s->cgroup_id);
			bpf_session_net(d, s->net_id, NULL, 0, NULL, 0);
			approval_session_gone(d, s);
			notify_session_end(d, s);
			*pp = s->next;
			if (d->last_hit == s)
				d->last_hit = NULL;
			session_free(s);
			continue;
		}
		pp = &s->next;
	}
}

struct session *session_find_notify(struct daemon *d, int fd)
{
	for (struct session *s = d->sessions; s; s = s->next)
		if (s->notify_fd == fd)
			return s;
	return NULL;
}

struct session *session_find_restrict(struct daemon *d, int fd)
{
	for (struct session *s = d->sessions; s; s = s->next)
		if (s->restrict_fd == fd)
			return s;
	return NULL;
}

void session_stop_all(struct daemon *d)
{
	for (struct session *s = d->sessions; s; s = s->next) {
		if (s->pidfd >= 0)
			session_reap(d, s);
		session_end(d, s, "daemon stopping");
	}
	/* Reaped later by the caller's wait loop, which writes their end
	 * records. */
}
