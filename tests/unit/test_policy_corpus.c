// SPDX-License-Identifier: GPL-2.0-only
/*
 * The corpus of malformed configurations: each directory under
 * tests/fixtures/policy/malformed is one configuration that must be
 * rejected with exactly the messages of its "expected" file, in order,
 * each naming the file and line at fault. A new mistake seen in the field
 * is one more directory.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"

#define CORPUS "tests/fixtures/policy/malformed"

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf = calloc(1, 65536);
	size_t n;

	assert_non_null(f);
	assert_non_null(buf);
	n = fread(buf, 1, 65535, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

/* Returns 1 when the case does not give its expected messages. */
static int run_case(const char *name)
{
	char cfg[PATH_MAX], exp[PATH_MAX + 16], *want, *got = NULL;
	struct policy *p = NULL;
	struct diag d = { 0 };
	size_t len = 0;
	FILE *m = open_memstream(&got, &len);
	int rc, bad;

	snprintf(cfg, sizeof(cfg), "%s/%s", CORPUS, name);
	snprintf(exp, sizeof(exp), "%s/expected", cfg);
	want = read_all(exp);
	rc = policy_load(cfg, &p, &d);
	for (size_t i = 0; i < d.n; i++)
		fprintf(m, "%s\n", d.msgs[i]);
	fclose(m);
	bad = rc != -1 || strcmp(got, want);
	if (bad)
		print_error("%s: load %d, messages:\n%s  want:\n%s", name, rc, got, want);
	policy_free(p);
	diag_free(&d);
	free(got);
	free(want);
	return bad;
}

static void test_corpus(void **state)
{
	DIR *dir = opendir(CORPUS);
	struct dirent *de;
	int cases = 0, failed = 0;

	(void)state;
	assert_non_null(dir);
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		cases++;
		failed += run_case(de->d_name);
	}
	closedir(dir);
	print_message("%d malformed configurations, %d not rejected as expected\n", cases,
		      failed);
	assert_true(cases >= 20);
	assert_int_equal(failed, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_corpus),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
