/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * pinfoldd's internal interfaces: the daemon state and the modules that
 * share it (cgroups, BPF, launching, events, control socket).
 */
#ifndef PINFOLD_PINFOLDD_H
#define PINFOLD_PINFOLDD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>
#include <linux/filter.h>

#include "daemon/chain.h"
#include "daemon/sandbox.h"
#include "policy/policy.h"

#define PINFOLD_VERSION "0.1.0"

struct ring_buffer;
struct pinfold_bpf;

/* A program held for approval in a session: its bound path, and the file
 * that path named when the session started. */
struct gated_exec {
	char *path;
	uint64_t ino;
	uint32_t dev;		/* kernel dev_t encoding */
	uint32_t rule;
};

/* What an approval let through beyond one use: for the rest of the
 * session or until expires_ms. */
struct approval_grant {
	int kind;		/* APPROVE_EXEC or APPROVE_CONNECT */
	uint64_t ino;		/* exec */
	uint32_t dev;
	uint8_t addr[16];	/* connect */
	uint16_t port;
	uint32_t rule;
	uint64_t request;	/* the request that made it */
	char *object;		/* as the request showed it */
	int64_t expires_ms;	/* CLOCK_MONOTONIC; 0: the session's end */
	struct approval_grant *next;
};

/* One agent session: a cgroup, the command's main process, the client
 * that asked for it. */
struct session {
	uint64_t id;
	uint64_t cgroup_id;
	char *agent;		/* name, owned */
	json_t *agent_json;	/* the same, for records */
	uint32_t agent_id;	/* id in the policy it was started under */
	struct grants *grants;	/* bound path grants, for explanations */
	char *cgroup_path;	/* absolute, owned */
	char *workspace;
	char *home;		/* what ${home} expanded to */
	char landlock_policy[65];	/* hash of the policy its Landlock rules came from */
	uid_t uid;		/* the agent's uid */
	bool service_uid;	/* uid is the agent's own, not the dispatcher's */
	uid_t dispatcher_uid;
	gid_t *dispatcher_gids;	/* primary first, from the kernel */
	size_t ndispatcher_gids;
	char *dispatcher_name;	/* NULL: the uid has no passwd entry */
	bool tty;
	int64_t started;	/* CLOCK_REALTIME seconds */
	uint32_t net_id;	/* key of its entries in the kernel's maps */
	uint32_t *held_rules;	/* conditional grants in force, sorted */
	size_t nheld;
	uint32_t *landlock_conds;	/* conditions its Landlock grants rest on */
	size_t nlandlock_conds;
	int64_t next_eval;	/* realtime seconds; INT64_MAX: never */
	struct perm_stages *explain;	/* for denials, built at the first */
	bool frozen;
	pid_t pid;		/* main process */
	int pidfd;
	int client_fd;		/* -1 once the client is gone */
	bool exited;		/* main process reaped */
	bool ending;		/* cgroup.kill sent, waiting to rmdir */
	bool adopted;		/* a PAM login's process, not one the daemon started */
	bool held;		/* frozen on request (pinfold freeze), apart from frozen */
	int64_t started_ns;	/* CLOCK_REALTIME */
	int64_t active_ns;	/* last time its event count moved (see lifecycle.c) */
	uint64_t events_seen, denials_seen;	/* counts already rolled up */
	int64_t rolled_active_ns;
	const char *end_reason;	/* why it ended, a string constant */
	int status;		/* wait status of the main process */
	uint64_t events, denials, processes;
	unsigned approve;	/* SI_* flags of its approve grants */
	int notify_fd;		/* seccomp listener, -1 without approve grants */
	/* A PAM login's socket for its word on the restrictions it applied
	 * (pam_verbs.c), until that word comes; -1 otherwise. */
	int restrict_fd;
	int64_t restrict_deadline_ms;	/* CLOCK_MONOTONIC */
	struct gated_exec *gated;
	size_t ngated;
	struct approval_grant *grants_live;
	/* The last exec an approval refused, so that its EACCES is recorded
	 * as that refusal. */
	char *denied_exec;
	uint64_t denied_request;
	struct session *next;
};

/* An action held in the kernel until an approver decides. */
struct approval {
	uint64_t id;		/* seq of its request record */
	struct session *s;
	uint64_t notif_id;
	pid_t pid;		/* the held thread */
	int kind;		/* APPROVE_EXEC or APPROVE_CONNECT */
	int nr;			/* the syscall */
	char object[4096 + 64];
	char resolved[4096];
	uint64_t ino;
	uint32_t dev;
	uint8_t addr[16];
	uint16_t port;
	uint32_t rule;
	json_t *rule_json;	/* its "file:line", kept across reloads */
	int64_t created_ms, deadline_ms;	/* CLOCK_MONOTONIC */
	int64_t created_ns;	/* CLOCK_REALTIME, for the listing */
	bool timeout_allow;
	struct approval *next;
};

struct daemon {
	/* options */
	const char *config_dir;
	const char *state_dir;
	const char *socket_path;
	int verbose;
	uint32_t ringbuf_bytes;	/* 0: the built-in size */

	/* state */
	struct policy *policy;
	struct chain *chain;
	char cg2[4096];		/* cgroup v2 mount point */
	char cgroot[4096];	/* <cg2>/pinfold */
	int cgroot_fd;
	int landlock_abi;
	uint64_t hash_seed;	/* of the BPF programs' path hashes */
	bool unix_hooks;	/* pathname unix connects governed (kernel 6.7+) */
	struct pinfold_bpf *skel;
	struct ring_buffer *rb;
	int *cg_prog_fds;	/* attached to cgroot, detached at stop */
	int ncg_progs;
	int listen_fd;
	int epfd;
	int sigfd;
	struct session *sessions;
	struct session *last_hit;	/* session_find_cgroup's cache */
	uint64_t next_session;
	uint64_t dropped_seen;	/* ring buffer drops already recorded */
	uint64_t append_failures;	/* records chain_append refused */
	uint64_t append_failures_seen;
	int64_t realtime_offset_ns;
	json_t *policy_json;	/* see audit_policy_cache */
	json_t **rule_json;
	size_t nrule_json;
	int timer_fd;		/* lifecycle.c */
	char **expired;		/* agents whose expiry is already recorded */
	size_t nexpired;
	json_t *idp_state;	/* idp.c: see policy/idp.h */
	json_t *idp_invalid;	/* provider agents the policy in force left out */
	bool idp_stale;		/* past max_age since the last good sync */
	int64_t idp_next_fetch;	/* when the interval sync is due next */
	pid_t idp_sync_pid;	/* the fetching child, -1 when none */
	int idp_sync_pidfd, idp_sync_fd;
	bool chain_dirty;
	bool stopping;
	struct approval *approvals;
	size_t napprovals;
	struct seccomp_notif *notif_req;
	struct seccomp_notif_resp *notif_resp;
	char hostname[256];

	/* The signed audit log (audit*.c). */
	struct chain_key *audit_key;
	char boot_id[40];
	json_t *boot_json, *host_json;	/* shared by every record */
	struct chain_rec event_rec;	/* every event's record, in turn */
	uint64_t unprocessed;		/* events the daemon could not judge */
	uint64_t unprocessed_seen;
	uint64_t *dropped_cpu_seen;	/* per CPU, for loss records */
	bool write_failing;		/* the log cannot be written: see audit_guard.c */
	int write_errno;
	int64_t write_fail_ns;
	bool write_error_pending;	/* its record did not fit the buffer yet */
	pid_t anchor_pids[8];		/* anchor commands still running */
};

/* What an epoll event's data names: a tag in the high half, the fd in the
 * low half. */
enum ev_tag { TAG_LISTEN = 1, TAG_SIGNAL, TAG_RING, TAG_CLIENT, TAG_PIDFD, TAG_TIMER,
	      TAG_SYNC, TAG_NOTIFY, TAG_HOOK, TAG_PAM };
int epoll_add(struct daemon *d, int fd, enum ev_tag tag, uint32_t events);

/* log.c: stderr logging; success is quiet unless -v. */
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
extern int log_verbose;

/* cgroup.c */
int cgroup_find_v2(char *out, size_t outlen);
int cgroup_setup_root(struct daemon *d);
int cgroup_create_session(struct daemon *d, const char *agent, uint64_t id,
			  char **path, uint64_t *cgid);
int cgroup_kill(const char *path);
int cgroup_freeze(const char *path, bool frozen);
int cgroup_remove(const char *path);
/* Moves pid into the cgroup at path. Returns 0 or a negative errno. */
int cgroup_attach(const char *path, pid_t pid);
/* [{pid, comm}] of the processes in the cgroup at path; empty when none
 * or unreadable. */
json_t *cgroup_procs_json(const char *path);
void cgroup_teardown_root(struct daemon *d);
void cgroup_sweep(struct daemon *d, bool warn);

/* bpf.c */
int bpf_setup(struct daemon *d);
void bpf_teardown(struct daemon *d);
int bpf_session_add(struct daemon *d, uint64_t cgid, uint64_t session, uint32_t agent_id,
		    uint32_t flags);
enum approve_map { MAP_EXEC_GATED, MAP_EXEC_GATED_PATH, MAP_EXEC_APPROVED, MAP_NET_APPROVED };
int bpf_approve_put(struct daemon *d, enum approve_map m, const void *key, size_t klen,
		    const void *val, size_t vlen);
void bpf_approve_del(struct daemon *d, enum approve_map m, const void *key, size_t klen);
void bpf_approve_clear_session(struct daemon *d, enum approve_map m, uint64_t cgid,
			       size_t klen);
void bpf_session_del(struct daemon *d, uint64_t cgid);
/* Replace the kernel's entries for one session (its net_id) with the
 * given table and unix sockets; n 0 withdraws its network. */
int bpf_session_net(struct daemon *d, uint32_t net_id, const struct net_entry *t, int n,
		    const struct unix_grant *const *u, size_t nu);
int bpf_ring_fd(struct daemon *d);
int bpf_consume(struct daemon *d);
int bpf_read_stats(struct daemon *d, uint64_t *seen, uint64_t *dropped, uint64_t *deduped);

/* sandbox.c: Landlock and seccomp for a session's first process. */
int landlock_probe_abi(void);
/* Builds the ruleset; grants beneath workspace or home never follow a
 * symlink (see sandbox.c). Returns the ruleset fd or a negative errno. */
int landlock_build(int abi, const struct grants *g, const char *workspace, const char *home,
		   char *err, size_t errlen);
/* The seccomp program of a session's first process; with approve flags
 * (SI_*) it also sends held syscalls to a listener. sandbox_filter_fd
 * exports it into a memfd (or returns a negative errno), for
 * a process that loads it elsewhere (pam_pinfold.so). */
int sandbox_filter(unsigned approve, struct sandbox_filter *f);
int sandbox_filter_fd(unsigned approve);
/* Whether the seccomp filter refuses syscall nr (or some uses of it). */
bool sandbox_denies_syscall(int nr);

/* session.c */
struct session *session_find_cgroup(struct daemon *d, uint64_t cgid);
struct session *session_find_pidfd(struct daemon *d, int pidfd);
struct run_request {
	const char *agent;
	const char *workspace;	/* NULL: the agent's default */
	char **argv;
	char **envp;
	int fds[3];
	uid_t dispatcher_uid;
	gid_t dispatcher_gid;
	const gid_t *groups;	/* primary first, from SO_PEERGROUPS */
	size_t ngroups;
	pid_t dispatcher_pid;
	int client_fd;
};
struct session *session_start(struct daemon *d, const struct run_request *r,
			      char *err, size_t errlen);
void session_reap(struct daemon *d, struct session *s);
void session_client_gone(struct daemon *d, struct session *s);
void session_signal(struct daemon *d, struct session *s, int sig);
void session_tick(struct daemon *d);
struct session *session_find_notify(struct daemon *d, int fd);
struct session *session_find_restrict(struct daemon *d, int fd);
/* Judge a session's conditions now: reload its network entries, and
 * freeze, thaw or end it as its agent's on_revoke says. why is recorded. */
void session_reevaluate(struct daemon *d, struct session *s, const char *why);
/* The permission request of a session under policy p; *bounds is freed
 * with free(). */
int session_perm(struct daemon *d, const struct policy *p, struct session *s,
		 const struct agent *a, struct eval_ctx *ctx, struct perm_req *r);
void session_stop_all(struct daemon *d);

/* workspace.c: find or make a session's workspace, owned by uid, without
 * following a symlink; as_caller walks it with the caller's file rights. */
struct ws_owner {
	uid_t uid;		/* the agent's: it must own the workspace */
	gid_t gid;
	bool as_caller;		/* the path came from a caller that is not root */
	uid_t caller_uid;
	gid_t caller_gid;
	const gid_t *groups;	/* the caller's, primary first */
	size_t ngroups;
};
int workspace_prepare(const char *ws, const struct ws_owner *o, char *err, size_t errlen);

/* session_perm.c */
/* Put a new session's network in the kernel and note what its Landlock
 * rules rest on. Returns 0 or -1. */
int session_perm_start(struct daemon *d, struct session *s, const struct perm_req *r);
/* Why a session's request is denied, as pinfold policy explain says;
 * false when it cannot be told (out of memory, agent gone). */
bool session_explain_path(struct daemon *d, struct session *s, const char *path,
			  unsigned access, struct verdict *v);
bool session_explain_connect(struct daemon *d, struct session *s, const uint8_t addr[16],
			     uint16_t port, struct verdict *v);
/* Re-judge every session whose next condition boundary has come. */
void session_conditions_due(struct daemon *d);
/* Ends a session (cgroup.kill); its end record follows when reaped. */
void session_end(struct daemon *d, struct session *s, const char *why);

/*
 * Makes a session of agent a for a process the daemon did not start (a
 * PAM login, pid) running as uid: a cgroup of its own, the process moved
 * into it. The session ends when that process does. fds receive what the
 * process applies to itself: the Landlock ruleset, the seccomp program
 * (a memfd), and its end of the socket it answers on (see pam_verbs.c).
 */
#define ADOPT_FDS 3
struct session *session_adopt(struct daemon *d, const struct agent *a, pid_t pid, uid_t uid,
			      const char *user, int fds[ADOPT_FDS], char *err, size_t errlen);
/* session_end, thawing a frozen session too, so the daemon sees it go. */
void session_kill(struct daemon *d, struct session *s, const char *why);
/* Writes the session's cgroup.freeze. Returns 0 or a negative errno. */
int session_freeze(struct session *s, bool frozen);

/* Who sent a control request, from SO_PEERCRED, and their user name
 * ("uid N" when the uid has no passwd entry). */
struct requester {
	uid_t uid;
	pid_t pid;
	char name[64];
};
/* Adds "by_uid", "by_user", "by_pid" to an audit record. */
void audit_requester(json_t *rec, const struct requester *r);

/* admin.c: the operator verbs (sessions, kill, freeze, thaw). Returns the
 * reply for verb, or NULL when verb is not one of them. */
struct admin_req {
	json_t *m;
	const int *fds;
	int nfds;
	const struct requester *who;
	/* Descriptors a verb sends with its reply (PROTO_FDS_MAX at most);
	 * the caller closes them once sent. */
	int *reply_fds;
	int *nreply_fds;
};
json_t *admin_verb(struct daemon *d, const char *verb, const struct admin_req *q);
/* A session as the sessions verb lists it, processes included. */
json_t *session_json(const struct session *s);
/* {"ok": false, "error": ...} */
json_t *reply_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* lifecycle.c: agent status, expiry, cutting an agent off. */
/* "active", "disabled" or "expired" at now (seconds since the epoch). */
const char *agent_status(struct daemon *d, const struct agent *a, int64_t now);
/* 0 when a may start a session now; else -1 and why in err. */
int agent_may_run(struct daemon *d, const struct agent *a, char *err, size_t errlen);
/* Kills every running session of agent; returns their ids. why is a
 * string constant, the reason their end records give. */
json_t *agent_cut_off(struct daemon *d, const char *agent, const char *why);
void record_run_refused(struct daemon *d, const char *agent, uid_t by, const char *why);
void format_utc(int64_t sec, char buf[32]);
int lifecycle_setup(struct daemon *d);
/* Acts on whatever is due (expiries) and re-arms the timer; called at
 * start, after each reload and when the timer fires. */
void lifecycle_check(struct daemon *d);
void lifecycle_timer(struct daemon *d);
void lifecycle_free(struct daemon *d);

/* idp.c: the identity provider's agents and syncs. */
int idp_setup(struct daemon *d);
void idp_free(struct daemon *d);
/* Adds the provider's agents to a freshly loaded policy; conflicts with
 * agents.d files (which win) are chained and appended to conflicts. Returns
 * those p could not take ({"name", "key", "reason"}), new. */
json_t *idp_merge(struct daemon *d, struct policy *p, json_t *conflicts);
bool idp_is_provider_agent(const struct agent *a);
bool idp_name_is_file_agent(struct daemon *d, const char *name);
/* The state's entry for a provider agent, borrowed; NULL for others. */
json_t *idp_agent_entry(struct daemon *d, const struct agent *a);
/* 0 when nothing of the provider stops a from running; else -1, err. */
int idp_refusal(struct daemon *d, const struct agent *a, char *err, size_t errlen);
/* A sync from bytes or from a descriptor; returns the reply. */
json_t *idp_sync_buffer(struct daemon *d, const char *buf, size_t len, const char *source);
json_t *idp_sync_fd(struct daemon *d, int fd, const char *source);
void idp_fetch_done(struct daemon *d);
json_t *idp_verb_sync(struct daemon *d, const struct admin_req *q);
/* pam_verbs.c: what pam_pinfold.so asks. */
json_t *pam_verb_account(struct daemon *d, const struct admin_req *q);
json_t *pam_verb_open(struct daemon *d, const struct admin_req *q);
/* How long a login has to answer that it applied its restrictions. */
#define PAM_RESTRICT_WAIT_MS 10000
/* The login's answer on s->restrict_fd; ends the session unless it says
 * every restriction is in place. */
void pam_restrict_ready(struct daemon *d, struct session *s);
/* Ends a session whose login is not restricted, recording why. */
void pam_restrict_fail(struct daemon *d, struct session *s, const char *why);
/* inventory.c: the agents verb. */
json_t *inventory_verb(struct daemon *d, const struct admin_req *q);
void inventory_roll(struct daemon *d);
/* When the interval sync or the max_age limit is due next (0: never). */
int64_t idp_next_deadline(struct daemon *d, int64_t now);
void idp_check_deadlines(struct daemon *d, int64_t now);

/* main.c: daemon_reload, also appending the provider agents' conflicts
 * with agents.d files to conflicts (which may be NULL). */
int daemon_reload_idp(struct daemon *d, const char *cause, json_t *conflicts);

/* uids.c */
int uid_for_agent(struct daemon *d, const struct agent *a, uid_t *uid, gid_t *gid);

/* events.c */
int event_handle(void *ctx, void *data, size_t len);
void events_check_loss(struct daemon *d);

/* audit.c: records the daemon writes. */
int audit_open(struct daemon *d);
void audit_record(struct daemon *d, json_t *rec);
/*
 * Append rec and return once it and every record before it is on disk:
 * for what may be acknowledged only when its record is durable (a policy
 * change, an approval). Consumes rec. Returns 0, or a negative errno when
 * the record is not known to be durable; the write-error action has then
 * been taken (audit_guard.c), and the caller must not acknowledge.
 */
int audit_record_durable(struct daemon *d, json_t *rec);
/* Time-driven audit work for the main loop: checkpoints, anchors, retries. */
void audit_tick(struct daemon *d);
void audit_close(struct daemon *d);
void audit_flush(struct daemon *d, bool sync);
int64_t audit_now_ns(void);
json_t *audit_base(struct daemon *d, const char *type);
/*
 * The record of a kernel event, begun with the same members as
 * audit_base's, in the one record object that every event's record is
 * built in (see chain_rec), and appended by audit_event_record. Nothing
 * may keep it past that.
 */
struct chain_rec *audit_event_begin(struct daemon *d, const char *type);
void audit_event_record(struct daemon *d);
/* The previous daemon's last record in brief ({seq, type, time,
 * clean_stop}), or NULL for a new chain. */
json_t *audit_previous(struct daemon *d);
/* A shared JSON string for a string constant; borrowed, add with
 * json_object_set. */
json_t *audit_const(const char *s);
/* The policy hash and "file:line" of each rule as shared JSON strings,
 * remade at each policy load. audit_rule(d, 0) is "default-deny". */
void audit_policy_cache(struct daemon *d);
json_t *audit_rule(struct daemon *d, uint32_t id);

/* notify.c: the seccomp listener of sessions with approve grants. */
int notify_setup(struct daemon *d);
void notify_ready(struct daemon *d, struct session *s, uint32_t events);
/* Answers one notification: continue the syscall, or fail it with err. */
int notify_continue(struct session *s, uint64_t id);
int notify_fail(struct session *s, uint64_t id, int err);
/* The SI_* flags a session of agent a needs. */
unsigned notify_flags(const struct agent *a);
/* Registers the session's held programs with the kernel side. */
int notify_session_start(struct daemon *d, struct session *s, const struct agent *a);
void notify_session_end(struct daemon *d, struct session *s);
bool notify_exec_granted(struct session *s, uint32_t dev, uint64_t ino);
bool notify_connect_granted(struct session *s, const uint8_t addr[16], uint16_t port);

/* approval.c: requests, decisions, grants and their records. */
void approval_hold(struct daemon *d, struct approval *a);
/* Decides request id for the caller; 0, or -1 with the reason in err. */
struct approver {
	uid_t uid;
	pid_t pid;
	const gid_t *gids;
	size_t ngids;
};
enum approve_scope { SCOPE_ONCE = 0, SCOPE_SESSION, SCOPE_FOR };
int approval_decide(struct daemon *d, uint64_t id, const struct approver *who, bool allow,
		    enum approve_scope scope, uint64_t for_ms, const char *reason, char *err,
		    size_t errlen);
/* The pending requests the caller may see, as a JSON array, newest
 * first; *omitted counts those that did not fit in one reply. */
json_t *approval_list(struct daemon *d, const struct approver *who, size_t *omitted);
void approval_tick(struct daemon *d);
void approval_session_gone(struct daemon *d, struct session *s);
void approval_stop_all(struct daemon *d);
/* At start: requests a previous daemon left pending were denied when its
 * listeners closed; says so in the chain. */
void approval_recover(struct daemon *d);
void approval_hook_done(struct daemon *d, int pidfd);
void format_addr6(const uint8_t addr[16], uint16_t port, char *buf, size_t len);
int64_t mono_ms(void);
/* audit_anchor.c: each checkpoint handed to the journal and the
 * configured anchors; chain_opts.on_checkpoint. */
void audit_anchor(void *ctx, const char *note, const struct chain_checkpoint *cp);
void audit_anchor_reap(struct daemon *d);

/* audit_guard.c: the configured action while the log cannot be written. */
void audit_write_failed(struct daemon *d, int err);
void audit_write_ok(struct daemon *d);
/* Whether new sessions are refused now; err says why. */
bool audit_refuses_sessions(struct daemon *d, char *err, size_t errlen);

/* bpf.c: ring buffer drops per CPU, cumulative; returns the CPU count. */
int bpf_read_drops(struct daemon *d, uint64_t *per_cpu, int max);

/* control.c */
int control_listen(struct daemon *d);
void control_accept(struct daemon *d);
void control_client(struct daemon *d, int fd, uint32_t events);
void control_send_exit(struct daemon *d, struct session *s);
/* An event for the session's `pinfold run` client, if it is connected. */
void control_send_event(struct daemon *d, struct session *s, json_t *ev);
/* Close silent connections; once a loop turn. */
void control_tick(struct daemon *d);

/* main.c: load the configuration again; 0 when it was accepted, -1 when
 * it was rejected and the policy in force stays. cause goes in the record. */
int daemon_reload(struct daemon *d, const char *cause);

#endif
