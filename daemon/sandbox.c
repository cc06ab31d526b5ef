// SPDX-License-Identifier: GPL-2.0-only
/*
 * The static restrictions of a session's first process, inherited by all
 * its descendants and impossible to drop: a Landlock ruleset built from the
 * agent's path grants, a seccomp filter against escape syscalls, and
 * no_new_privs.
 *
 * The ruleset is built by the daemon, which opens each granted path itself,
 * so nothing the agent controls takes part in resolving a rule.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "daemon/compat.h"
#include "daemon/pinfoldd.h"
#include "daemon/proto.h"

#define FS_READ (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)
#define FS_WRITE_FILE (LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_TRUNCATE)
#define FS_WRITE_DIR                                                                   \
	(LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE |              \
	 LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG |                  \
	 LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO |                \
	 LANDLOCK_ACCESS_FS_MAKE_SYM | LANDLOCK_ACCESS_FS_REFER)
/* Rights that apply to a regular file; the others exist only beneath a
 * directory and the kernel refuses them on a file rule. */
#define FS_FILE_RIGHTS                                                                 \
	(LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_READ_FILE |                  \
	 LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_TRUNCATE |                \
	 LANDLOCK_ACCESS_FS_IOCTL_DEV)

/* Rules one session's ruleset may hold once denials are carved out. */
#define LANDLOCK_RULES_MAX 16384

int landlock_probe_abi(void)
{
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);

	return abi < 0 ? -errno : (int)abi;
}

/* Everything the kernel can restrict at this ABI is handled, so whatever
 * the policy does not grant is denied. Making device nodes is handled and
 * never granted. */
static uint64_t handled_fs(int abi)
{
	uint64_t h = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1;

	if (abi >= 2)
		h |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		h |= LANDLOCK_ACCESS_FS_TRUNCATE;
	if (abi >= 5)
		h |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
	return h;
}

static uint64_t grant_rights(unsigned access)
{
	uint64_t r = 0;

	if (access & ACC_READ)
		r |= FS_READ;
	if (access & ACC_WRITE)
		r |= FS_WRITE_FILE | FS_WRITE_DIR | LANDLOCK_ACCESS_FS_IOCTL_DEV;
	/* The kernel opens a program for reading to execute it. */
	if (access & ACC_EXEC)
		r |= LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_READ_FILE;
	return r;
}

/* The part of path below dir, or NULL when path is not dir or beneath it:
 * "" for dir itself. Both are canonical. */
static const char *beneath(const char *path, const char *dir)
{
	size_t n = dir ? strlen(dir) : 0;

	if (!n || strncmp(path, dir, n) || (path[n] && path[n] != '/'))
		return NULL;
	return path[n] ? path + n + 1 : "";
}

/*
 * Opens a granted path for its rule. The agent owns its workspace (and
 * may own parts of its home), so a symlink there is the agent's: beneath
 * those directories no symlink is followed and nothing may resolve outside
 * them, or a link planted in one session would point the next session's
 * grant anywhere. Elsewhere the path is the administrator's, and links in
 * it (/lib64, /usr/bin/cc) are followed as written.
 */
static int open_grant(const char *path, const char *const roots[2])
{
	for (int i = 0; i < 2; i++) {
		const char *rest = beneath(path, roots[i]);
		struct open_how how = {
			.flags = O_PATH | O_CLOEXEC,
			.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
		};
		int dfd, fd;

		if (!rest)
			continue;
		dfd = open(roots[i], O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (dfd < 0)
			return -1;
		fd = syscall(SYS_openat2, dfd, *rest ? rest : ".", &how, sizeof(how));
		close(dfd);
		return fd;
	}
	return open(path, O_PATH | O_CLOEXEC);
}

static int add_path_rule(int rfd, const struct bound_path *bp, uint64_t handled,
			 const char *const roots[2])
{
	struct landlock_path_beneath_attr pb = { 0 };
	struct stat st;
	int fd, r = 0;

	fd = open_grant(bp->path, roots);
	if (fd < 0) {
		/* A grant for a path that does not exist yet gives nothing
		 * now; it is not an error, since a workspace file may be
		 * created later beneath another grant. A link beneath the
		 * workspace lands here too, and gives nothing. */
		log_debug("grant '%s': %s, skipped", bp->path, strerror(errno));
		return 0;
	}
	pb.parent_fd = fd;
	pb.allowed_access = grant_rights(bp->access) & handled;
	if (!fstat(fd, &st) && !S_ISDIR(st.st_mode))
		pb.allowed_access &= FS_FILE_RIGHTS;
	if (pb.allowed_access &&
	    syscall(SYS_landlock_add_rule, rfd, LANDLOCK_RULE_PATH_BENEATH, &pb, 0))
		r = -errno;
	close(fd);
	return r;
}

int landlock_build(int abi, const struct grants *g, const char *workspace, const char *home,
		   char *err, size_t errlen)
{
	const char *const roots[2] = { workspace, home };
	struct pf_landlock_ruleset_attr attr = { .handled_access_fs = handled_fs(abi) };
	size_t attr_size = sizeof(uint64_t);
	struct bound_path *rules;
	struct diag dg = { 0 };
	int rfd, n;

	/* Landlock only adds access: denials are carved out of the grants. */
	n = grants_kernel_rules(g, LANDLOCK_RULES_MAX, &rules, &dg);
	if (n < 0) {
		snprintf(err, errlen, "%s", dg.n ? dg.msgs[0] : "cannot build the rules");
		diag_free(&dg);
		return -E2BIG;
	}

	/* From ABI 6 the agent also may not signal processes outside its
	 * domain (pinfoldd, the dispatcher) nor reach abstract unix sockets
	 * created outside it. */
	if (abi >= 6) {
		attr.scoped = LANDLOCK_SCOPE_SIGNAL | LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET;
		attr_size = sizeof(attr);
	}
	rfd = syscall(SYS_landlock_create_ruleset, &attr, attr_size, 0);
	if (rfd < 0) {
		rfd = -errno;
		snprintf(err, errlen, "landlock_create_ruleset: %s", strerror(errno));
		grants_rules_free(rules, (size_t)n);
		return rfd;
	}
	for (int i = 0; i < n; i++) {
		int r = add_path_rule(rfd, &rules[i], attr.handled_access_fs, roots);

		if (r) {
			snprintf(err, errlen, "landlock rule for '%s': %s", rules[i].path,
				 strerror(-r));
			close(rfd);
			rfd = r;
			break;
		}
	}
	grants_rules_free(rules, (size_t)n);
	return rfd;
}

/* Syscalls an agent never needs and that lead out of the sandbox or into
 * the kernel's attack surface. They fail with EPERM. */
static const int denied_syscalls[] = {
	SCMP_SYS(ptrace), SCMP_SYS(process_vm_readv), SCMP_SYS(process_vm_writev),
	SCMP_SYS(bpf), SCMP_SYS(perf_event_open), SCMP_SYS(mount), SCMP_SYS(umount2),
	SCMP_SYS(pivot_root), SCMP_SYS(chroot), SCMP_SYS(unshare), SCMP_SYS(setns),
	SCMP_SYS(init_module), SCMP_SYS(finit_module), SCMP_SYS(delete_module),
	SCMP_SYS(kexec_load), SCMP_SYS(kexec_file_load), SCMP_SYS(add_key),
	SCMP_SYS(request_key), SCMP_SYS(keyctl), SCMP_SYS(open_by_handle_at),
	SCMP_SYS(name_to_handle_at), SCMP_SYS(userfaultfd), SCMP_SYS(fsopen),
	SCMP_SYS(fsconfig), SCMP_SYS(fsmount), SCMP_SYS(fspick), SCMP_SYS(move_mount),
	SCMP_SYS(open_tree), SCMP_SYS(mount_setattr), SCMP_SYS(swapon), SCMP_SYS(swapoff),
	SCMP_SYS(reboot), SCMP_SYS(acct), SCMP_SYS(quotactl), SCMP_SYS(iopl),
	SCMP_SYS(ioperm), SCMP_SYS(io_uring_setup), SCMP_SYS(io_uring_enter),
	SCMP_SYS(io_uring_register), SCMP_SYS(kcmp), SCMP_SYS(pidfd_getfd),
	SCMP_SYS(syslog), SCMP_SYS(vhangup), SCMP_SYS(settimeofday),
	SCMP_SYS(clock_settime), SCMP_SYS(clock_adjtime), SCMP_SYS(adjtimex),
	SCMP_SYS(lookup_dcookie), SCMP_SYS(process_madvise),
};

bool sandbox_denies_syscall(int nr)
{
	for (size_t i = 0; i < sizeof(denied_syscalls) / sizeof(denied_syscalls[0]); i++)
		if (denied_syscalls[i] == nr)
			return true;
	/* clone with a namespace flag; socket of a raw kind, whose EPERM in
	 * a session comes only from the filter, which runs before the
	 * kernel's own capability check. */
	return nr == SCMP_SYS(clone) || nr == SCMP_SYS(socket);
}

static const uint64_t clone_ns_flags[] = {
	CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER,
	CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWCGROUP, CLONE_NEWTIME,
};

/*
 * Sockets of the families the cgroup programs and file permissions govern
 * (unix, IPv4, IPv6) and netlink, which libc needs to look up addresses.
 * Any other family (vsock to the hypervisor, packet, bluetooth, CAN...)
 * would be a way out that no policy speaks for: EAFNOSUPPORT. A filter
 * compares one argument once per rule, so the refused values are spelled
 * out as ranges around the allowed ones: 0, 3-9, 11-15, above 16.
 */
static int deny_socket_families(scmp_filter_ctx ctx, int nr)
{
	static const int single[] = { 0, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 14, 15 };
	int r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), nr, 1,
				 SCMP_A0(SCMP_CMP_GT, AF_NETLINK));

	for (size_t i = 0; !r && i < sizeof(single) / sizeof(single[0]); i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), nr, 1,
				     SCMP_A0(SCMP_CMP_EQ, single[i]));
	return r;
}

/*
 * Raw IPv4 and IPv6 sockets, and the old SOCK_PACKET kind, build their own
 * headers and leave by no connect or sendmsg hook the cgroup programs see,
 * so the network grants would not hold for them. A session whose account
 * keeps CAP_NET_RAW could otherwise send anywhere: EPERM, the kernel's own
 * answer without the capability. The type argument also carries
 * SOCK_NONBLOCK and SOCK_CLOEXEC, so only its low bits are compared.
 * AF_PACKET is refused with the other families above.
 */
#define SOCK_TYPE_BITS 0xf

static int deny_raw_sockets(scmp_filter_ctx ctx)
{
	static const int families[] = { AF_INET, AF_INET6 };
	static const int types[] = { SOCK_RAW, SOCK_PACKET };
	int r = 0;

	for (size_t i = 0; !r && i < sizeof(families) / sizeof(families[0]); i++)
		for (size_t j = 0; !r && j < sizeof(types) / sizeof(types[0]); j++)
			r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(socket), 2,
					     SCMP_A0(SCMP_CMP_EQ, families[i]),
					     SCMP_A1(SCMP_CMP_MASKED_EQ, SOCK_TYPE_BITS,
						     types[j]));
	return r;
}

/*
 * Syscalls held for approval go to pinfoldd through the filter's
 * listener. execve and execveat when an exec is held; connect, and sends
 * that carry an address, when a connect is held. sendto's address is an
 * argument the filter can see (NULL: a connected socket); sendmsg's is in
 * memory, so every sendmsg is asked about. Nothing is decided by what the
 * daemon reads here: the kernel side judges the exec and the address again
 * (see bpf/pinfold.bpf.c).
 */
static int add_notify_rules(scmp_filter_ctx ctx, unsigned approve)
{
	int r = 0;

	if (approve & SI_APPROVE_EXEC) {
		r = seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(execve), 0);
		if (!r)
			r = seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(execveat), 0);
	}
	if (!r && (approve & SI_APPROVE_NET)) {
		r = seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(connect), 0);
		if (!r)
			r = seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(sendto), 1,
					     SCMP_A4(SCMP_CMP_NE, 0));
		/* Except on the socket the listener itself leaves by, which
		 * would wait for the listener it carries. A send on that fd
		 * number later is not asked about, and so meets the kernel's
		 * hook unapproved. */
		if (!r)
			r = seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(sendmsg), 1,
					     SCMP_A0(SCMP_CMP_NE, LISTENER_SOCK_FD));
	}
	return r;
}

static int seccomp_build(scmp_filter_ctx *out, unsigned approve)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int r = 0;

	if (!ctx)
		return -ENOMEM;
	/* Syscalls of any other ABI (i386 through int 0x80, x32) kill the
	 * process: the filter only speaks the native one. */
	r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	/* A binary tree of syscall numbers, not a linear list: the filter
	 * runs on every syscall of every agent process. */
	if (!r)
		r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	for (size_t i = 0; !r && i < sizeof(denied_syscalls) / sizeof(denied_syscalls[0]); i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), denied_syscalls[i], 0);

	/* clone3 passes its flags in memory, which a filter cannot read, so
	 * it answers ENOSYS and libc falls back to clone, whose flags it can. */
	if (!r)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	if (!r)
		r = deny_socket_families(ctx, SCMP_SYS(socket));
	if (!r)
		r = deny_socket_families(ctx, SCMP_SYS(socketpair));
	if (!r)
		r = deny_raw_sockets(ctx);
	/* One rule per namespace flag: rules on one syscall are or-ed. */
	for (size_t i = 0; !r && i < sizeof(clone_ns_flags) / sizeof(clone_ns_flags[0]); i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
				     SCMP_A0(SCMP_CMP_MASKED_EQ, clone_ns_flags[i],
					     clone_ns_flags[i]));
	if (!r)
		r = add_notify_rules(ctx, approve);
	if (r) {
		seccomp_release(ctx);
		return r;
	}
	*out = ctx;
	return 0;
}

/* libseccomp 2.5 loads a filter only with the flags it knows, and
 * WAIT_KILLABLE_RECV is not one of them, so the program is exported and
 * loaded with seccomp(2) by the process it binds (sandbox_apply.c). */
int sandbox_filter_fd(unsigned approve)
{
	scmp_filter_ctx ctx;
	int r, fd;

	r = seccomp_build(&ctx, approve);
	if (r)
		return r;
	fd = memfd_create("pinfold-filter", MFD_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		seccomp_release(ctx);
		return r;
	}
	r = seccomp_export_bpf(ctx, fd);
	seccomp_release(ctx);
	if (r) {
		close(fd);
		return r;
	}
	return fd;
}

int sandbox_filter(unsigned approve, struct sandbox_filter *f)
{
	int r, fd = sandbox_filter_fd(approve);

	memset(f, 0, sizeof(*f));
	if (fd < 0)
		return fd;
	r = sandbox_filter_load(fd, approve != 0, f);
	close(fd);
	return r;
}
