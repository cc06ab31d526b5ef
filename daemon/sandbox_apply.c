// SPDX-License-Identifier: GPL-2.0-only
/*
 * The restrictions a process applies to itself, in an order the kernel
 * requires: no_new_privs first (landlock_restrict_self and an
 * unprivileged seccomp filter need it), the filter last, since it may
 * refuse what the steps before it call.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/seccomp.h>

#include "daemon/proto.h"
#include "daemon/sandbox.h"

int sandbox_filter_load(int fd, bool notify, struct sandbox_filter *f)
{
	struct stat st;

	memset(f, 0, sizeof(*f));
	if (fstat(fd, &st) || st.st_size <= 0 || st.st_size % sizeof(struct sock_filter) ||
	    st.st_size / sizeof(struct sock_filter) > BPF_MAXINSNS)
		return -EINVAL;
	f->prog.len = (unsigned short)(st.st_size / sizeof(struct sock_filter));
	f->prog.filter = malloc(st.st_size);
	if (!f->prog.filter || pread(fd, f->prog.filter, st.st_size, 0) != st.st_size) {
		sandbox_filter_free(f);
		return -EIO;
	}
	f->notify = notify;
	return 0;
}

void sandbox_filter_free(struct sandbox_filter *f)
{
	free(f->prog.filter);
	f->prog.filter = NULL;
}

int sandbox_restrict(int ruleset_fd, const struct sandbox_filter *f, int *listener,
		     const char **step)
{
	unsigned long flags = f->notify ? SECCOMP_FILTER_FLAG_NEW_LISTENER |
					  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV : 0;
	long fd;

	*listener = -1;
	*step = "no_new_privs";
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -errno;
	*step = "landlock";
	if (syscall(SYS_landlock_restrict_self, ruleset_fd, 0))
		return -errno;
	*step = "seccomp";
	fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &f->prog);
	if (fd < 0)
		return -errno;
	if (f->notify)
		*listener = (int)fd;
	*step = NULL;
	return 0;
}

/* Hands the listener to pinfoldd before the agent's command runs: until
 * the daemon holds it, a held syscall waits in the kernel. */
static int send_listener(int sock, int listener)
{
	json_t *m = json_pack("{s:s}", "listener", "seccomp");
	int r = proto_send(sock, m, &listener, 1);

	json_decref(m);
	return r;
}

int sandbox_apply_child(int ruleset_fd, const struct sandbox_filter *f, int notify_sock)
{
	const char *step;
	int listener, r = sandbox_restrict(ruleset_fd, f, &listener, &step);

	if (r || listener < 0)
		return r;
	r = send_listener(notify_sock, listener);
	close(listener);
	close(notify_sock);
	return r;
}
