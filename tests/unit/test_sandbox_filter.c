// SPDX-License-Identifier: GPL-2.0-only
/*
 * Reading a seccomp program that pinfoldd exported, as the process it
 * binds does (daemon/sandbox_apply.c): pam_pinfold.so reads it from a
 * descriptor it was sent, so what does not hold whole instructions, or
 * holds more than the kernel takes, is refused before it is loaded.
 * One row per content.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_filter_load),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
