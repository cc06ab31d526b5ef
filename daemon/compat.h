/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Kernel interfaces newer than Debian 12's headers (linux-libc-dev 6.1),
 * which the kernels pinfold runs on do have. Values are from the kernel's
 * UAPI (include/uapi/linux/landlock.h, sched.h); each is guarded so that
 * newer headers win.
 */
#ifndef PINFOLD_COMPAT_H
#define PINFOLD_COMPAT_H

#include <stdint.h>
#include <linux/landlock.h>

#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)	/* ABI 3 */
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)	/* ABI 5 */
#endif
#ifndef LANDLOCK_ACCESS_NET_BIND_TCP
#define LANDLOCK_ACCESS_NET_BIND_TCP (1ULL << 0)	/* ABI 4 */
#endif
#ifndef LANDLOCK_ACCESS_NET_CONNECT_TCP
#define LANDLOCK_ACCESS_NET_CONNECT_TCP (1ULL << 1)	/* ABI 4 */
#endif
#ifndef LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET
#define LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0)	/* ABI 6 */
#endif
#ifndef LANDLOCK_SCOPE_SIGNAL
#define LANDLOCK_SCOPE_SIGNAL (1ULL << 1)		/* ABI 6 */
#endif

/* The ruleset attribute as of ABI 6; the kernel accepts a shorter size
 * from older callers, so the size passed decides which fields count. */
struct pf_landlock_ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;
	uint64_t scoped;
};

/* enum bpf_attach_type values of the cgroup unix socket hooks (kernel 6.7),
 * which libbpf 1.1 has no section name for. */
#ifndef PF_CGROUP_UNIX_CONNECT
#define PF_CGROUP_UNIX_CONNECT 49
#endif
#ifndef PF_CGROUP_UNIX_SENDMSG
#define PF_CGROUP_UNIX_SENDMSG 50
#endif

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

/* Linux 6.5: a pidfd of the process that connected a unix socket. */
#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

#endif
