/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Event records and limits shared by the eBPF programs and pinfoldd.
 *
 * This header is included both by the BPF side (after vmlinux.h) and by
 * user space, so it uses only the kernel's fixed-width types.
 */
#ifndef PINFOLD_EVENTS_H
#define PINFOLD_EVENTS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Paths longer than this are reported with EV_F_TRUNCATED set. */
#define EV_PATH_MAX 4096
/* Bytes of resolved path components kept, and how deep a walk goes. */
#define EV_DIR_MAX 4096
#define EV_DIR_DEPTH 64
/* Bytes of argv kept for an exec event (NUL-separated). */
#define EV_ARGS_MAX 512
/* Port ranges one network map entry can hold after the covering prefixes
 * have been folded into it. */
#define NET_RANGES_MAX 16
/* Sessions and dedup entries the kernel side tracks at once. */
#define SESSIONS_MAX 4096
#define DEDUP_MAX 65536

enum ev_type {
	EV_EXEC = 1,
	EV_OPEN = 2,
	EV_CONNECT = 3,
	EV_FORK = 4,
	EV_EXIT = 5,
	EV_SYSCALL = 6,		/* a syscall refused with EPERM (seccomp and others) */
	EV_UNIX = 7,		/* connect or sendmsg to a pathname unix socket */
};

/* ev_hdr.flags */
#define EV_F_TRUNCATED 0x1	/* path or args did not fit */
#define EV_F_DENIED 0x2		/* the kernel side refused the action */
#define EV_F_UDP 0x4		/* connect event came from sendmsg */
#define EV_F_DIRFD 0x8		/* open path is relative to a dirfd, not cwd */
#define EV_F_RESOLVED 0x10	/* dir[] is the full path of the file acted on */
#define EV_F_BASE 0x20		/* dir[] is the directory a relative path starts in */
#define EV_F_DIR_TRUNC 0x40	/* dir[] stopped short: too deep or too long */
#define EV_F_KILLED 0x80	/* exec: killed before its first instruction */

struct ev_hdr {
	__u16 type;
	__u16 flags;
	__u32 pid;		/* tgid */
	__u32 tid;
	__u32 uid;
	__u64 cgroup_id;	/* session cgroup */
	__u64 ktime_ns;		/* CLOCK_MONOTONIC */
	__s32 ret;		/* syscall result: 0 or a negative errno */
	__u32 len;		/* bytes of data[] that follow the fixed part */
};

/*
 * Paths come as the process gave them, and, where the kernel can say, as
 * resolved: dir[] then holds the components of a path from the kernel's
 * dentries, last component first, each NUL-terminated (see the
 * EV_F_RESOLVED and EV_F_BASE flags).
 */

/* Exec: data[] holds the filename (NUL-terminated), the dir components,
 * then argv bytes. */
struct ev_exec {
	struct ev_hdr h;
	__u32 ppid;
	__u16 path_len;		/* including the NUL */
	__u16 dir_len;
	__u16 args_len;
	__u16 pad;
	char data[EV_PATH_MAX + EV_DIR_MAX + 2 * EV_ARGS_MAX + 256];
};

/* Open: data[] holds the path as the process passed it (NUL-terminated),
 * then the dir components. */
struct ev_open {
	struct ev_hdr h;
	__u32 flags;		/* open(2) flags */
	__s32 dirfd;		/* AT_FDCWD or the dirfd given */
	__u16 path_len;
	__u16 dir_len;
	__u32 pad;
	char data[EV_PATH_MAX + EV_DIR_MAX + 256];
};

/* Connect or sendmsg: address in IPv6 form, IPv4 as ::ffff:a.b.c.d. */
struct ev_connect {
	struct ev_hdr h;
	__u8 addr[16];
	__u16 port;		/* host byte order */
	__u16 family;		/* AF_INET or AF_INET6 as the process used it */
	__u32 rule;		/* rule id that allowed it, 0 for none */
};

struct ev_proc {
	struct ev_hdr h;
	__u32 ppid;		/* EV_FORK: parent; EV_EXIT: unused */
	__u32 child;		/* EV_FORK: child tgid */
	__s32 exit_code;	/* EV_EXIT: wait(2) status */
	__u32 pad;
};

/* A file by identity, kernel dev_t encoding (major << 20 | minor). */
struct file_key {
	__u64 ino;
	__u32 dev;
	__u32 pad;
};

#define EV_UNIX_PATH 108		/* sizeof(sun_path) */

/* Keys of the unix_rules map: the socket path exactly, zero-padded. */
struct unix_key {
	__u32 agent_id;
	char path[EV_UNIX_PATH];
};

struct ev_unix {
	struct ev_hdr h;
	__u32 rule;		/* rule id that allowed it, 0 for none */
	char path[EV_UNIX_PATH];	/* NUL-terminated */
};

struct ev_syscall {
	struct ev_hdr h;
	__u32 nr;		/* syscall number, native ABI */
	__u32 pad;
};

/* Per-session value in the "sessions" map, keyed by cgroup id. */
struct session_info {
	__u64 session_id;
	__u32 agent_id;		/* key prefix in net_rules and unix_rules: the session's net id */
	__u32 flags;
};

/* Keys of the net_rules LPM trie: agent id first, so one trie serves all
 * agents; prefixlen counts the 32 agent bits plus the address bits. */
struct net_key {
	__u32 prefixlen;
	__u32 agent_id;
	__u8 addr[16];
};

struct net_range {
	__u16 lo;
	__u16 hi;
	__u32 rule;
};

struct net_value {
	__u32 nranges;
	struct net_range r[NET_RANGES_MAX];
};

/* Counters in the per-CPU "stats" array. */
enum stat_idx {
	STAT_SEEN = 0,		/* events produced for pinfold's cgroups */
	STAT_DROPPED,		/* ring buffer full: event lost, counted here */
	STAT_DEDUPED,		/* repeats suppressed in the kernel */
	STAT_MAX,
};

#endif
