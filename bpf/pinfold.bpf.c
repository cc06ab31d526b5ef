// SPDX-License-Identifier: GPL-2.0-only
/*
 * pinfold's kernel side: reports exec, open, connect, fork and exit of
 * processes in pinfold's session cgroups, and decides connect/sendmsg for
 * them from the net_rules LPM trie.
 *
 * Processes outside pinfold's cgroups pay one syscall-number comparison per
 * syscall exit (and a hash miss for open/exec), nothing more.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>

#include "bpf/events.h"

#define AF_INET 2
#define AF_INET6 10
#define AT_FDCWD -100
#define O_WRONLY 01
#define O_CREAT 0100
#define O_TRUNC 01000

/* x86_64 syscall numbers of the calls reported at exit. */
#define NR_open 2
#define NR_creat 85
#define NR_execve 59
#define NR_execveat 322
#define NR_openat 257
#define NR_openat2 437

char LICENSE[] SEC("license") = "GPL";

/* Set by pinfoldd before load: keys the dedup hash so that an agent cannot
 * precompute colliding paths to hide an access from the log. */
const volatile __u64 hash_seed = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SESSIONS_MAX);
	__type(key, __u64);
	__type(value, struct session_info);
} sessions SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct net_key);
	__type(value, struct net_value);
} net_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 * 1024 * 1024);
} events SEC(".maps");

/* Slot 0: pinfold's cgroup root, set by pinfoldd. Whether a task is in
 * pinfold's tree at all, known session or not (a session a crashed daemon
 * left behind). */
struct {
	__uint(type, BPF_MAP_TYPE_CGROUP_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} cgroot SEC(".maps");

/* Files an agent may not run as its program even where it may execute
 * them as an interpreter: the dynamic loader, which would otherwise load
 * and run any readable binary ("ld.so /usr/bin/forbidden"). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, struct file_key);
	__type(value, __u8);
} loaders SEC(".maps");

/* Pathname unix sockets each agent may reach, by exact path. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct unix_key);
	__type(value, __u32);
} unix_rules SEC(".maps");

/* Approval: programs held in a session (by identity and by resolved
 * path), and what approvers let through, for exec and for connect. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, APPROVE_MAX);
	__type(key, struct approve_file_key);
	__type(value, __u32);
} exec_gated SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, APPROVE_MAX);
	__type(key, struct approve_path_key);
	__type(value, __u32);
} exec_gated_path SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, APPROVE_MAX);
	__type(key, struct approve_file_key);
	__type(value, struct approve_grant);
} exec_approved SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, APPROVE_MAX);
	__type(key, struct approve_net_key);
	__type(value, struct approve_grant);
} net_approved SEC(".maps");

struct dedup_key {
	__u64 cgroup_id;
	__u64 hash;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, DEDUP_MAX);
	__type(key, struct dedup_key);
	__type(value, __u8);
} dedup SEC(".maps");

union scratch_ev {
	struct ev_exec exec;
	struct ev_open open;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, union scratch_ev);
} scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

static __always_inline void stat_inc(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &idx);

	if (v)
		*v += 1;
}

static __always_inline struct session_info *current_session(__u64 *cgid)
{
	*cgid = bpf_get_current_cgroup_id();
	return bpf_map_lookup_elem(&sessions, cgid);
}

static __always_inline void hdr_fill(struct ev_hdr *h, __u16 type, __u64 cgid, __s32 ret)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();

	h->type = type;
	h->flags = 0;
	h->pid = pid_tgid >> 32;
	h->tid = (__u32)pid_tgid;
	h->uid = (__u32)bpf_get_current_uid_gid();
	h->cgroup_id = cgid;
	h->ktime_ns = bpf_ktime_get_ns();
	h->ret = ret;
	h->len = 0;
}

/* Events wait for the daemon's next poll (every few milliseconds while
 * sessions run). A denial wakes it if it is idle; the kernel sends that
 * wakeup only when the reader has caught up, so a flood of denials costs
 * one wakeup per batch, not one interrupt per event. */
static __always_inline __u64 wakeup_flags(int denied)
{
	return denied ? 0 : BPF_RB_NO_WAKEUP;
}

static __always_inline void emit(void *ev, __u64 size, int denied)
{
	stat_inc(STAT_SEEN);
	if (bpf_ringbuf_output(&events, ev, size, wakeup_flags(denied)))
		stat_inc(STAT_DROPPED);
}

struct fnv_ctx {
	const char *s;
	__u32 len;
	__u64 h;
};

static long fnv_step(__u64 i, void *data)
{
	struct fnv_ctx *c = data;
	unsigned char ch;

	if (i >= c->len || i >= EV_PATH_MAX)
		return 1;
	ch = c->s[i & (EV_PATH_MAX - 1)];
	c->h = (c->h ^ ch) * 0x100000001b3ULL;
	return 0;
}

static __always_inline __u64 path_hash(const char *s, __u32 len, __u64 extra)
{
	struct fnv_ctx c = { .s = s, .len = len, .h = 0xcbf29ce484222325ULL ^ hash_seed };

	bpf_loop(EV_PATH_MAX, fnv_step, &c, 0);
	return (c.h ^ extra) * 0x100000001b3ULL;
}

/* True when the same (session, hash) was reported before: a repeat adds
 * nothing to the log. */
static __always_inline int seen_before(__u64 cgid, __u64 hash)
{
	struct dedup_key k = { .cgroup_id = cgid, .hash = hash };
	__u8 one = 1;

	if (bpf_map_lookup_elem(&dedup, &k)) {
		stat_inc(STAT_DEDUPED);
		return 1;
	}
	bpf_map_update_elem(&dedup, &k, &one, BPF_ANY);
	return 0;
}

static __always_inline __u64 cwd_id(void)
{
	struct task_struct *t = bpf_get_current_task_btf();

	return (__u64)BPF_CORE_READ(t, fs, pwd.dentry);
}

#define DATA_MASK (EV_PATH_MAX + EV_DIR_MAX - 1)

/* A record's size, bounded so the verifier can see it fits the buffer. */
static __always_inline __u64 clamp_len(__u64 len, __u64 max)
{
	return len > max ? max : len;
}

struct walk {
	char *buf;
	__u32 off;	/* from the start of buf */
	__u32 start;
	__u16 *flags;
	struct dentry *dentry;
	struct vfsmount *vfsmnt;
	struct mount *mnt;
	struct dentry *root_dentry;
	struct vfsmount *root_mnt;
};

/* One step up the dentry tree: emits a name, or crosses a mount. Returns
 * 1 when the walk is over. The names are those of the process's mount
 * namespace, up to its root. */
static long walk_step(__u64 i, void *ctx)
{
	struct walk *w = ctx;
	/* Locals, not w->..., inside BPF_CORE_READ: the walk struct is ours,
	 * not the kernel's, and must not be relocated. */
	struct dentry *dentry = w->dentry, *parent, *mnt_root;
	struct vfsmount *vfsmnt = w->vfsmnt;
	struct mount *mnt = w->mnt;
	long n;

	if (dentry == w->root_dentry && vfsmnt == w->root_mnt)
		return 1;
	mnt_root = BPF_CORE_READ(vfsmnt, mnt_root);
	if (dentry == mnt_root) {
		struct mount *up = BPF_CORE_READ(mnt, mnt_parent);

		if (up == mnt)
			return 1;
		w->dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
		w->mnt = up;
		w->vfsmnt = (struct vfsmount *)((char *)up + bpf_core_field_offset(struct mount, mnt));
		return 0;
	}
	parent = BPF_CORE_READ(dentry, d_parent);
	if (parent == dentry)
		return 1;
	if (w->off - w->start >= EV_DIR_MAX - 256) {
		*w->flags |= EV_F_DIR_TRUNC;
		return 1;
	}
	n = bpf_probe_read_kernel_str(w->buf + (w->off & DATA_MASK), 256,
				      BPF_CORE_READ(dentry, d_name.name));
	if (n <= 0)
		return 1;
	w->off += n;
	w->dentry = parent;
	return 0;
}

/* Writes the components of a path into buf from start, last one first.
 * Returns the bytes written. */
static __always_inline __u32 walk_path(char *buf, __u32 start, struct dentry *dentry,
				       struct vfsmount *vfsmnt, __u16 *flags)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct walk w = {
		.buf = buf,
		.off = start,
		.start = start,
		.flags = flags,
		.dentry = dentry,
		.vfsmnt = vfsmnt,
		.mnt = (struct mount *)((char *)vfsmnt - bpf_core_field_offset(struct mount, mnt)),
		.root_dentry = BPF_CORE_READ(t, fs, root.dentry),
		.root_mnt = BPF_CORE_READ(t, fs, root.mnt),
	};
	/* bpf_loop keeps the verifier from walking every depth of the loop
	 * for every path through the program. */
	if (bpf_loop(EV_DIR_DEPTH, walk_step, &w, 0) == EV_DIR_DEPTH)
		*flags |= EV_F_DIR_TRUNC;
	return w.off - start;
}

static __always_inline struct file *fd_file(int fd)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct fdtable *fdt = BPF_CORE_READ(t, files, fdt);
	struct file **fds = BPF_CORE_READ(fdt, fd);
	struct file *f = NULL;

	if (fd < 0 || (unsigned int)fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	return f;
}

/* The directory a relative path starts from: the dirfd's, or the working
 * directory. */
static __always_inline __u32 walk_base(char *buf, __u32 start, int dirfd, __u16 *flags)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct file *f;

	if (dirfd == AT_FDCWD)
		return walk_path(buf, start, BPF_CORE_READ(t, fs, pwd.dentry),
				 BPF_CORE_READ(t, fs, pwd.mnt), flags);
	f = fd_file(dirfd);
	if (!f)
		return 0;
	return walk_path(buf, start, BPF_CORE_READ(f, f_path.dentry),
			 BPF_CORE_READ(f, f_path.mnt), flags);
}

static __always_inline long read_user_path(char *buf, const char *upath, __u16 *flags)
{
	long n = bpf_probe_read_user_str(buf, EV_PATH_MAX, upath);

	if (n <= 0) {
		buf[0] = 0;
		return 1;
	}
	if (n == EV_PATH_MAX)
		*flags |= EV_F_TRUNCATED;
	return n;
}

static __always_inline int report_open(struct pt_regs *regs, long nr, long ret, __u64 cgid)
{
	__u32 zero = 0;
	union scratch_ev *s = bpf_map_lookup_elem(&scratch, &zero);
	struct ev_open *e;
	const char *upath;
	__u32 flags = 0, dlen = 0;
	long n;
	__u64 extra;

	if (!s)
		return 0;
	e = &s->open;
	hdr_fill(&e->h, EV_OPEN, cgid, ret);
	e->dirfd = AT_FDCWD;

	if (nr == NR_open) {
		upath = (const char *)regs->di;
		flags = regs->si;
	} else if (nr == NR_creat) {
		upath = (const char *)regs->di;
		flags = O_CREAT | O_WRONLY | O_TRUNC;
	} else if (nr == NR_openat) {
		e->dirfd = (__s32)regs->di;
		upath = (const char *)regs->si;
		flags = regs->dx;
	} else {
		__u64 how_flags = 0;

		e->dirfd = (__s32)regs->di;
		upath = (const char *)regs->si;
		bpf_probe_read_user(&how_flags, sizeof(how_flags), (void *)regs->dx);
		flags = (__u32)how_flags;
	}
	e->flags = flags;
	n = read_user_path(e->data, upath, &e->h.flags);
	if (ret == -13 || ret == -1)
		e->h.flags |= EV_F_DENIED;
	if (e->data[0] != '/')
		e->h.flags |= e->dirfd == AT_FDCWD ? 0 : EV_F_DIRFD;

	/* Repeats of one (path, access, outcome) add nothing. A relative path
	 * names another file in each working directory, so the directory is
	 * part of the key; one relative to a dirfd is never folded. */
	if (!(e->h.flags & EV_F_DIRFD)) {
		extra = ((__u64)(flags & 3) << 32) | (__u32)ret;
		if (e->data[0] != '/')
			extra ^= cwd_id();
		if (seen_before(cgid, path_hash(e->data, n, extra)))
			return 0;
	}

	/* The file actually opened, as the kernel resolved it; for a failure,
	 * the directory a relative path started from. */
	if (ret >= 0) {
		struct file *f = fd_file(ret);

		if (f) {
			dlen = walk_path(e->data, n, BPF_CORE_READ(f, f_path.dentry),
					 BPF_CORE_READ(f, f_path.mnt), &e->h.flags);
			e->h.flags |= EV_F_RESOLVED;
		}
	} else if (e->data[0] != '/') {
		dlen = walk_base(e->data, n, e->dirfd, &e->h.flags);
		e->h.flags |= EV_F_BASE;
	}
	e->path_len = n;
	e->dir_len = dlen;
	e->h.len = n + dlen;
	emit(e, offsetof(struct ev_open, data) + clamp_len(n + dlen, sizeof(e->data)),
	     e->h.flags & EV_F_DENIED);
	return 0;
}

/* A refused execve is seen here, with the path still in the caller's
 * memory; a successful one is reported by sched_process_exec from the new
 * image. Other failures (ENOENT while a shell walks PATH) decide nothing. */
static __always_inline int report_exec_fail(struct pt_regs *regs, long nr, long ret, __u64 cgid)
{
	__u32 zero = 0;
	union scratch_ev *s = bpf_map_lookup_elem(&scratch, &zero);
	struct ev_exec *e;
	__u32 dlen = 0;
	long n;

	if (!s)
		return 0;
	e = &s->exec;
	hdr_fill(&e->h, EV_EXEC, cgid, ret);
	e->ppid = 0;
	e->h.flags |= EV_F_DENIED;
	n = read_user_path(e->data, (const char *)(nr == NR_execve ? regs->di : regs->si),
			   &e->h.flags);
	if (e->data[0] != '/') {
		dlen = walk_base(e->data, n, nr == NR_execve ? AT_FDCWD : (int)regs->di,
				 &e->h.flags);
		e->h.flags |= EV_F_BASE;
	}
	e->path_len = n;
	e->dir_len = dlen;
	e->args_len = 0;
	e->h.len = n + dlen;
	emit(e, offsetof(struct ev_exec, data) + clamp_len(n + dlen, sizeof(e->data)), 1);
	return 0;
}

static __always_inline int report_refused(long nr, __u64 cgid, long ret)
{
	struct ev_syscall e;

	/* One record per refused syscall a session tries; a loop of retries
	 * adds nothing. */
	if (seen_before(cgid, 0x5eccull << 48 ^ (__u64)nr ^ hash_seed))
		return 0;
	hdr_fill(&e.h, EV_SYSCALL, cgid, ret);
	e.h.flags = EV_F_DENIED;
	e.nr = (__u32)nr;
	e.pad = 0;
	emit(&e, sizeof(e), 1);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(sys_exit, struct pt_regs *regs, long ret)
{
	long nr = regs->orig_ax;
	__u64 cgid;

	switch (nr) {
	case NR_open:
	case NR_creat:
	case NR_openat:
	case NR_openat2:
		if (!current_session(&cgid))
			return 0;
		return report_open(regs, nr, ret, cgid);
	case NR_execve:
	case NR_execveat:
		if ((ret != -13 && ret != -1) || !current_session(&cgid))
			return 0;
		return report_exec_fail(regs, nr, ret, cgid);
	default:
		/* A refusal of any other call (a seccomp denial of ptrace, bpf,
		 * mount, unshare...) is an attempt worth recording; success of
		 * those costs one comparison. */
		if ((ret != -1 && ret != -97) || !current_session(&cgid))
			return 0;
		return report_refused(nr, cgid, ret);
	}
}

/* A program Landlock cannot judge by path: one from a kernel-internal
 * mount (memfd_create, then fexecve), or the loader run directly. */
static __always_inline int exec_refused(struct file *f)
{
	struct vfsmount *m = BPF_CORE_READ(f, f_path.mnt);
	struct file_key k = {
		.ino = BPF_CORE_READ(f, f_inode, i_ino),
		.dev = BPF_CORE_READ(f, f_inode, i_sb, s_dev),
	};

	if (BPF_CORE_READ(m, mnt_flags) & MNT_INTERNAL)
		return 1;
	return bpf_map_lookup_elem(&loaders, &k) != NULL;
}

struct fnv_at_ctx {
	const char *base;
	__u32 start;
	__u32 len;
	__u64 h;
};

static long fnv_at_step(__u64 i, void *data)
{
	struct fnv_at_ctx *c = data;

	if (i >= c->len)
		return 1;
	c->h = (c->h ^ (unsigned char)c->base[(c->start + i) & DATA_MASK]) * 0x100000001b3ULL;
	return 0;
}

/* The seeded FNV-1a hash of len bytes of data from start; pinfoldd
 * computes the same over a held program's resolved path. */
static __always_inline __u64 dir_hash(const char *data, __u32 start, __u32 len)
{
	struct fnv_at_ctx c = { .base = data, .start = start, .len = len,
				.h = 0xcbf29ce484222325ULL ^ hash_seed };

	bpf_loop(EV_DIR_MAX, fnv_at_step, &c, 0);
	return c.h;
}

/* A grant is used up by its first use: of two racing uses, only the one
 * whose delete succeeds goes through. */
static __always_inline int grant_usable(void *map, void *key, struct approve_grant *g,
					__u32 *rule)
{
	if (!g || (g->expires_ns && bpf_ktime_get_ns() > g->expires_ns))
		return 0;
	*rule = g->rule;
	if (g->once)
		return bpf_map_delete_elem(map, key) == 0;
	return 1;
}

/*
 * Whether the file an exec runs is held for approval in this session and
 * not approved: the daemon answered its notification for another file
 * (the path changed under it, or a second thread raced it), or no
 * approver let it through. The dir[] components of the event are the
 * resolved path; a walk cut short counts as held, failing closed.
 */
static __always_inline int exec_unapproved(__u64 cgid, struct file *f, struct ev_exec *e,
					   __u32 n, __u32 dlen)
{
	struct approve_file_key k = {
		.cgroup_id = cgid,
		.ino = BPF_CORE_READ(f, f_inode, i_ino),
		.dev = BPF_CORE_READ(f, f_inode, i_sb, s_dev),
	};
	struct approve_path_key pk = { .cgroup_id = cgid };
	__u32 rule = 0;

	if (!bpf_map_lookup_elem(&exec_gated, &k) && !(e->h.flags & EV_F_DIR_TRUNC)) {
		pk.hash = dir_hash(e->data, n, dlen);
		if (!bpf_map_lookup_elem(&exec_gated_path, &pk))
			return 0;
	}
	return !grant_usable(&exec_approved, &k, bpf_map_lookup_elem(&exec_approved, &k),
			     &rule);
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(sched_process_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 zero = 0;
	union scratch_ev *s;
	struct session_info *si;
	struct ev_exec *e;
	struct file *f;
	unsigned long arg_start, arg_end;
	__u64 cgid;
	__u32 dlen = 0, pos, sflags;
	long n, a;

	si = current_session(&cgid);
	if (!si) {
		/* Outside any known session only the refusal applies: to a
		 * session a crashed daemon left behind, still in the tree. */
		f = BPF_CORE_READ(bprm, file);
		if (f && bpf_current_task_under_cgroup(&cgroot, 0) == 1 && exec_refused(f))
			bpf_send_signal(9);
		return 0;
	}
	sflags = si->flags;
	s = bpf_map_lookup_elem(&scratch, &zero);
	if (!s)
		return 0;
	e = &s->exec;
	hdr_fill(&e->h, EV_EXEC, cgid, 0);
	e->ppid = BPF_CORE_READ(p, real_parent, tgid);

	n = bpf_probe_read_kernel_str(e->data, EV_PATH_MAX, BPF_CORE_READ(bprm, filename));
	if (n <= 0) {
		e->data[0] = 0;
		n = 1;
	} else if (n == EV_PATH_MAX) {
		e->h.flags |= EV_F_TRUNCATED;
	}
	n &= EV_PATH_MAX - 1 + EV_PATH_MAX;
	if (n > EV_PATH_MAX)
		n = EV_PATH_MAX;

	/* The file the kernel executed, which a symlink or a relative name
	 * does not show. */
	f = BPF_CORE_READ(bprm, file);
	if (f) {
		dlen = walk_path(e->data, n, BPF_CORE_READ(f, f_path.dentry),
				 BPF_CORE_READ(f, f_path.mnt), &e->h.flags);
		e->h.flags |= EV_F_RESOLVED;
		/* The new image has not run yet: SIGKILL is delivered before
		 * its first instruction. */
		if (exec_refused(f)) {
			bpf_send_signal(9);
			e->h.ret = -13;
			e->h.flags |= EV_F_DENIED | EV_F_KILLED;
		} else if ((sflags & SI_APPROVE_EXEC) && exec_unapproved(cgid, f, e, n, dlen)) {
			bpf_send_signal(9);
			e->h.ret = -13;
			e->h.flags |= EV_F_DENIED | EV_F_KILLED | EV_F_UNAPPROVED;
		}
	}

	arg_start = BPF_CORE_READ(p, mm, arg_start);
	arg_end = BPF_CORE_READ(p, mm, arg_end);
	a = arg_end - arg_start;
	if (a > EV_ARGS_MAX) {
		a = EV_ARGS_MAX;
		e->h.flags |= EV_F_TRUNCATED;
	}
	if (a < 0)
		a = 0;
	pos = (n + dlen) & DATA_MASK;
	if (a > 0 && bpf_probe_read_user(e->data + pos, a & (EV_ARGS_MAX - 1 + EV_ARGS_MAX),
					 (void *)arg_start))
		a = 0;
	e->path_len = n;
	e->dir_len = dlen;
	e->args_len = a;
	e->h.len = pos + a;
	emit(e, offsetof(struct ev_exec, data) + clamp_len(pos + a, sizeof(e->data)),
	     e->h.flags & EV_F_KILLED);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(sched_process_fork, struct task_struct *parent, struct task_struct *child)
{
	struct ev_proc e;
	__u64 cgid;

	/* Threads share their process's tag; only new processes matter. */
	if (child->pid != child->tgid || !current_session(&cgid))
		return 0;
	hdr_fill(&e.h, EV_FORK, cgid, 0);
	e.ppid = parent->tgid;
	e.child = child->tgid;
	e.exit_code = 0;
	e.pad = 0;
	emit(&e, sizeof(e), 0);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(sched_process_exit, struct task_struct *p)
{
	struct ev_proc e;
	__u64 cgid;

	if (p->pid != p->tgid || !current_session(&cgid))
		return 0;
	hdr_fill(&e.h, EV_EXIT, cgid, 0);
	e.ppid = 0;
	e.child = 0;
	e.exit_code = p->exit_code;
	e.pad = 0;
	emit(&e, sizeof(e), 0);
	return 0;
}

static __always_inline int port_allowed(const struct net_value *v, __u16 port, __u32 *rule)
{
	for (__u32 i = 0; i < NET_RANGES_MAX; i++) {
		if (i >= v->nranges)
			break;
		if (port >= v->r[i].lo && port <= v->r[i].hi) {
			*rule = v->r[i].rule;
			return 1;
		}
	}
	return 0;
}

/* Decide one connect or sendmsg. A process in pinfold's tree whose cgroup
 * is not a known session (the agent level, or a session being torn down)
 * is denied: the default is closed. */
static __always_inline int decide(struct bpf_sock_addr *ctx, const __u8 *addr, __u16 family,
				  __u16 flags)
{
	struct ev_connect e = {};
	struct net_key key = {};
	struct session_info *si;
	struct net_value *v;
	__u64 cgid;
	__u32 rule = 0;
	int allow = 0;

	si = current_session(&cgid);
	__builtin_memcpy(e.addr, addr, 16);
	e.port = bpf_ntohs((__u16)ctx->user_port);
	if (si) {
		key.prefixlen = 32 + 128;
		key.agent_id = si->agent_id;
		__builtin_memcpy(key.addr, addr, 16);
		v = bpf_map_lookup_elem(&net_rules, &key);
		if (v)
			allow = port_allowed(v, e.port, &rule);
		/* The address judged is the kernel's copy, so what an approver
		 * let through is exactly this destination, whatever the
		 * process's memory said when it was held. */
		if (!allow && (si->flags & SI_APPROVE_NET)) {
			struct approve_net_key ak = { .cgroup_id = cgid, .port = e.port };

			__builtin_memcpy(ak.addr, addr, 16);
			allow = grant_usable(&net_approved, &ak,
					     bpf_map_lookup_elem(&net_approved, &ak), &rule);
		}
	}

	hdr_fill(&e.h, EV_CONNECT, cgid, allow ? 0 : -1);
	e.h.flags = flags | (allow ? 0 : EV_F_DENIED);
	e.family = family;
	e.rule = rule;
	/* Repeats of one verdict for one destination add nothing; a datagram
	 * socket would otherwise report every packet. */
	if (!seen_before(cgid, ((__u64)e.port << 48) ^ ((__u64)flags << 40) ^ allow ^
			       *(__u64 *)&e.addr[0] * 31 ^ *(__u64 *)&e.addr[8] ^ hash_seed))
		emit(&e, sizeof(e), !allow);
	return allow;
}

static __always_inline int decide4(struct bpf_sock_addr *ctx, __u16 flags)
{
	__u8 addr[16] = {};
	__u32 ip = ctx->user_ip4;

	addr[10] = 0xff;
	addr[11] = 0xff;
	__builtin_memcpy(&addr[12], &ip, 4);
	return decide(ctx, addr, AF_INET, flags);
}

static __always_inline int decide6(struct bpf_sock_addr *ctx, __u16 flags)
{
	__u8 addr[16];
	__u32 w;

	/* Each word is read on its own: the verifier allows only aligned
	 * 4-byte loads of user_ip6. */
	w = ctx->user_ip6[0];
	__builtin_memcpy(&addr[0], &w, 4);
	w = ctx->user_ip6[1];
	__builtin_memcpy(&addr[4], &w, 4);
	w = ctx->user_ip6[2];
	__builtin_memcpy(&addr[8], &w, 4);
	w = ctx->user_ip6[3];
	__builtin_memcpy(&addr[12], &w, 4);
	return decide(ctx, addr, AF_INET6, flags);
}

SEC("cgroup/connect4")
int connect4(struct bpf_sock_addr *ctx)
{
	return decide4(ctx, 0);
}

SEC("cgroup/connect6")
int connect6(struct bpf_sock_addr *ctx)
{
	return decide6(ctx, 0);
}

SEC("cgroup/sendmsg4")
int sendmsg4(struct bpf_sock_addr *ctx)
{
	return decide4(ctx, EV_F_UDP);
}

SEC("cgroup/sendmsg6")
int sendmsg6(struct bpf_sock_addr *ctx)
{
	return decide6(ctx, EV_F_UDP);
}

extern void *bpf_cast_to_kern_ctx(void *) __ksym;

/* Clears a unix path after its first NUL and past the address's length,
 * so that the map key holds the path the kernel will use and nothing
 * else. */
struct nul_ctx {
	struct unix_key *k;
	__u32 len;	/* bytes of path the address holds */
	int past_nul;
};

static long zero_after_nul(__u64 i, void *ctx)
{
	struct nul_ctx *c = ctx;
	__u32 at = i & 127;

	if (at >= EV_UNIX_PATH)
		return 1;
	if (c->past_nul || at >= c->len)
		c->k->path[at] = 0;
	else if (c->k->path[at] == 0)
		c->past_nul = 1;
	return 0;
}

/*
 * Pathname unix sockets: a service's socket (a container engine's, say) is
 * a way out that file permissions alone may leave open, so the agent may
 * reach only the paths its policy names. Abstract sockets are Landlock's
 * (scoped to the agent's domain); an unnamed one reaches nothing. The path
 * is compared as the agent wrote it, so grants name sockets in directories
 * the agent cannot write.
 */
static __always_inline int decide_unix(struct bpf_sock_addr *ctx, __u16 flags)
{
	struct bpf_sock_addr_kern *sa = bpf_cast_to_kern_ctx(ctx);
	struct unix_key key = {};
	struct nul_ctx nc = { 0 };
	struct ev_unix e = {};
	struct session_info *si;
	struct sockaddr *uaddr = BPF_CORE_READ(sa, uaddr);
	__u32 len = BPF_CORE_READ(sa, uaddrlen), *rule;
	__u64 cgid;
	int allow;

	/* The kernel takes the path to the first NUL or to the end of the
	 * address, whichever comes first: so does this. A path that fills all
	 * of sun_path has no room for a NUL, and matches no grant (those are
	 * 107 bytes at most). */
	if (len <= 2)
		return 1;
	/* The address is the kernel's copy in a sockaddr_storage, so all of
	 * sun_path can be read; what lies past the address's length is then
	 * cleared with what lies past a NUL. */
	if (bpf_probe_read_kernel(key.path, sizeof(key.path), (char *)uaddr + 2))
		return 0;
	if (key.path[0] == 0)
		return 1;
	nc.k = &key;
	nc.len = len - 2;
	bpf_loop(sizeof(key.path), zero_after_nul, &nc, 0);
	si = current_session(&cgid);
	key.agent_id = si ? si->agent_id : 0;
	rule = si ? bpf_map_lookup_elem(&unix_rules, &key) : NULL;
	allow = rule != NULL;

	if (!seen_before(cgid, path_hash(key.path, sizeof(key.path), allow ^ (__u64)flags << 8)))
	{
		hdr_fill(&e.h, EV_UNIX, cgid, allow ? 0 : -1);
		e.h.flags = flags | (allow ? 0 : EV_F_DENIED);
		e.rule = rule ? *rule : 0;
		__builtin_memcpy(e.path, key.path, sizeof(e.path));
		emit(&e, sizeof(e), !allow);
	}
	return allow;
}

/* libbpf 1.1 names no section for the unix hooks (kernel 6.7); these load
 * as connect4 programs and pinfoldd sets the attach type before load. */
SEC("cgroup/connect4")
int connect_unix(struct bpf_sock_addr *ctx)
{
	return decide_unix(ctx, 0);
}

SEC("cgroup/sendmsg4")
int sendmsg_unix(struct bpf_sock_addr *ctx)
{
	return decide_unix(ctx, EV_F_UDP);
}
