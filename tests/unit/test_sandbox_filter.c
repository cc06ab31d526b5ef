// SPDX-License-Identifier: GPL-2.0-only
/*
 * Reading a seccomp program that pinfoldd exported, as the process it
 * binds does (daemon/sandbox_apply.c): pam_pinfold.so reads it from a
 * descriptor it was sent, so what does not hold whole instructions, or
 * holds more than the kernel takes, is refused before it is loaded.
 * One row per content.
 *
 * Then the filter pinfoldd builds, loaded in a child as it is in a
 * session: which sockets it lets a process that holds CAP_NET_RAW make.
 * One row per socket kind.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon/pinfoldd.h"
#include "daemon/sandbox.h"

struct filter_case {
	const char *name;
	size_t insns;		/* whole instructions written */
	size_t extra;		/* bytes beyond them */
	int want;		/* 0 or the negative errno */
};

static const struct filter_case filter_cases[] = {
	{ "one instruction", 1, 0, 0 },
	{ "the most the kernel takes", BPF_MAXINSNS, 0, 0 },
	{ "empty", 0, 0, -EINVAL },
	{ "a part of an instruction", 0, 5, -EINVAL },
	{ "a torn last instruction", 3, 2, -EINVAL },
	{ "more than the kernel takes", BPF_MAXINSNS + 1, 0, -EINVAL },
};

/* A memfd holding n copies of "return ALLOW", then extra zero bytes. */
static int program_fd(size_t n, size_t extra)
{
	struct sock_filter ret = BPF_STMT(BPF_RET | BPF_K, 0x7fff0000U);
	char zero[8] = { 0 };
	int fd = memfd_create("test-filter", MFD_CLOEXEC);

	assert_true(fd >= 0);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(write(fd, &ret, sizeof(ret)), sizeof(ret));
	assert_true(extra <= sizeof(zero));
	if (extra)
		assert_int_equal(write(fd, zero, extra), (ssize_t)extra);
	return fd;
}

static void test_filter_load(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(filter_cases) / sizeof(filter_cases[0]); i++) {
		const struct filter_case *c = &filter_cases[i];
		int fd = program_fd(c->insns, c->extra);
		struct sandbox_filter f;
		int r = sandbox_filter_load(fd, true, &f);

		close(fd);
		if (r != c->want)
			fail_msg("%s: got %d, want %d", c->name, r, c->want);
		if (!r) {
			assert_int_equal(f.prog.len, c->insns);
			assert_true(f.notify);
			assert_int_equal(f.prog.filter[c->insns - 1].code, BPF_RET | BPF_K);
		} else {
			assert_null(f.prog.filter);
		}
		sandbox_filter_free(&f);
	}
}

struct socket_case {
	const char *name;
	int family, type, protocol;
	int want;		/* 0 or the errno */
};

static const struct socket_case socket_cases[] = {
	{ "raw IPv4", AF_INET, SOCK_RAW, IPPROTO_UDP, EPERM },
	{ "raw IPv4, nonblocking, close-on-exec", AF_INET,
	  SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP, EPERM },
	{ "raw IPv6", AF_INET6, SOCK_RAW, IPPROTO_UDP, EPERM },
	{ "raw IPv6 ICMP", AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMPV6, EPERM },
	{ "IPv4 SOCK_PACKET", AF_INET, SOCK_PACKET, 0, EPERM },
	{ "IPv6 SOCK_PACKET", AF_INET6, SOCK_PACKET, 0, EPERM },
	{ "packet", AF_PACKET, SOCK_RAW, 0, EAFNOSUPPORT },
	{ "packet datagram", AF_PACKET, SOCK_DGRAM, 0, EAFNOSUPPORT },
	{ "UDP", AF_INET, SOCK_DGRAM, 0, 0 },
	{ "UDP, nonblocking", AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0, 0 },
	{ "TCP over IPv6", AF_INET6, SOCK_STREAM, 0, 0 },
	{ "unix datagram", AF_UNIX, SOCK_DGRAM, 0, 0 },
	{ "raw netlink, as libc uses", AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, 0, 0 },
};

#define N_SOCKET_CASES (sizeof(socket_cases) / sizeof(socket_cases[0]))

/* In the child: the session's filter, then each socket; the errno of each
 * (0: made) goes to out. */
static void try_sockets(int out)
{
	int got[N_SOCKET_CASES];
	struct sandbox_filter f;

	if (sandbox_filter(0, &f) || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &f.prog))
		_exit(3);
	for (size_t i = 0; i < N_SOCKET_CASES; i++) {
		const struct socket_case *c = &socket_cases[i];
		int fd = socket(c->family, c->type, c->protocol);

		got[i] = fd < 0 ? errno : 0;
		if (fd >= 0)
			close(fd);
	}
	_exit(write(out, got, sizeof(got)) == (ssize_t)sizeof(got) ? 0 : 4);
}

/* Whether this process may make a raw socket: without CAP_NET_RAW the
 * kernel refuses it whatever the filter says, and the rows prove nothing. */
static bool may_make_raw(void)
{
	int fd = socket(AF_INET, SOCK_RAW, IPPROTO_UDP);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

static void test_filter_sockets(void **state)
{
	int got[N_SOCKET_CASES], p[2], status;
	const char *require = getenv("PINFOLD_REQUIRE_KERNEL");
	pid_t pid;

	(void)state;
	if (!may_make_raw()) {
		if (require && strcmp(require, "1") == 0)
			fail_msg("raw socket without the filter: %s; the socket rows need "
				 "CAP_NET_RAW", strerror(errno));
		print_message("skipped: no raw socket without the filter (%s); the socket "
			      "rows need CAP_NET_RAW\n", strerror(errno));
		skip();
	}
	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		try_sockets(p[1]);
	}
	close(p[1]);
	assert_int_equal(read(p[0], got, sizeof(got)), sizeof(got));
	close(p[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	for (size_t i = 0; i < N_SOCKET_CASES; i++)
		if (got[i] != socket_cases[i].want)
			fail_msg("%s: got %s, want %s", socket_cases[i].name,
				 got[i] ? strerror(got[i]) : "a socket",
				 socket_cases[i].want ? strerror(socket_cases[i].want)
						      : "a socket");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_filter_load),
		cmocka_unit_test(test_filter_sockets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
