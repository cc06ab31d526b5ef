// SPDX-License-Identifier: GPL-2.0-only
/*
 * Path canonicalisation, binding and decisions. The grants are those of
 * tests/fixtures/policy/paths/agents.d/p.ini, named here by line; a new
 * bypass is a new row.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"

#define FIXTURE "tests/fixtures/policy/paths"
#define R ACC_READ
#define W ACC_WRITE
#define X ACC_EXEC

struct canon_case {
	const char *in;
	const char *out;	/* NULL: rejected */
};

static const struct canon_case canon_cases[] = {
	{ "/", "/" },
	{ "//", "/" },
	{ "/usr/", "/usr" },
	{ "/usr//lib///x", "/usr/lib/x" },
	{ "/usr/./lib/.", "/usr/lib" },
	{ "/usr/lib/..", "/usr" },
	{ "/usr/..", "/" },
	{ "/..", "/" },
	{ "/../../etc", "/etc" },
	{ "/a/b/../../c/./d/..", "/c" },
	{ "/a/.../b", "/a/.../b" },
	{ "/a/..b/.c", "/a/..b/.c" },
	{ "/\xff\xfe/\x80", "/\xff\xfe/\x80" },
	{ "usr/lib", NULL },
	{ "./usr", NULL },
	{ "", NULL },
};

static void test_canonical(void **state)
{
	char out[PATH_MAX];
	size_t i, failed = 0;
	int rc;

	(void)state;
	for (i = 0; i < sizeof(canon_cases) / sizeof(canon_cases[0]); i++) {
		const struct canon_case *c = &canon_cases[i];

		rc = path_canonical(c->in, out, sizeof(out));
		if (c->out ? rc == 0 && !strcmp(out, c->out) : rc == -1)
			continue;
		print_message("canon_cases[%zu] '%s': rc %d '%s'\n", i, c->in,
			      rc, rc ? "" : out);
		failed++;
	}
	assert_int_equal(failed, 0);
}

/* A path of PATH_MAX bytes or more is rejected, not truncated; one byte
 * less is fine. A result that does not fit a small buffer fails too. */
static void test_canonical_lengths(void **state)
{
	char *path = malloc(PATH_MAX + 2);
	char out[PATH_MAX], small[4];

	(void)state;
	assert_non_null(path);
	path[0] = '/';
	memset(path + 1, 'a', PATH_MAX);
	path[PATH_MAX - 1] = '\0';
	assert_int_equal(path_canonical(path, out, sizeof(out)), 0);
	assert_int_equal(strlen(out), PATH_MAX - 1);
	path[PATH_MAX - 1] = 'a';
	path[PATH_MAX] = '\0';
	assert_int_equal(path_canonical(path, out, sizeof(out)), -1);
	assert_int_equal(path_canonical("/abc", small, sizeof(small)), -1);
	assert_int_equal(path_canonical("/ab", small, sizeof(small)), 0);
	free(path);
}

struct path_case {
	const char *agent;
	const char *path;
	unsigned access;
	int line;		/* of the deciding grant; 0: denied */
};

static const struct path_case path_cases[] = {
	{ "p", "/usr/bin/git", X, 4 },
	{ "p", "/usr/bin/git/", X, 4 },
	{ "p", "/usr/bin//git", X, 4 },
	{ "p", "/usr/bin/./git", X, 4 },
	{ "p", "/usr/lib/../bin/git", X, 4 },
	{ "p", "//usr/bin/git", X, 4 },
	{ "p", "/usr/bin/gitx", X, 0 },
	{ "p", "/usr/bin/gi", X, 0 },
	{ "p", "/usr/bin", X, 0 },
	{ "p", "/usr/bin/git", W, 0 },
	{ "p", "/usr/bin/id", X, 0 },
	/* A trailing "/" in the grant is dropped: the directory and all
	 * beneath it. */
	{ "p", "/usr/lib/git-core", X, 5 },
	{ "p", "/usr/lib/git-core/git-upload-pack", X, 5 },
	{ "p", "/usr/lib/git-corex", X, 0 },
	{ "p", "/ws/bin/tool", X, 6 },
	{ "p", "/ws/bin/../../usr/bin/id", X, 0 },
	{ "p", "/ws/binx", X, 0 },
	{ "p", "/ws/f", X, 0 },
	/* Prefixes only at component boundaries. */
	{ "p", "/usr", R, 8 },
	{ "p", "/usr/lib/libc.so.6", R, 8 },
	{ "p", "/usrx", R, 0 },
	{ "p", "/us", R, 0 },
	{ "p", "/usr/lib/libc.so.6", W, 0 },
	/* The longest matching grant decides. */
	{ "p", "/usr/share/doc/README", R, 9 },
	{ "p", "/usr/share/doc", R, 9 },
	{ "p", "/usr/share/docs", R, 8 },
	{ "p", "/usr/local/share/f", W, 18 },
	{ "p", "/usr/local/share/f", R, 8 },
	{ "p", "/usr/local/sharex", W, 0 },
	{ "p", "/tmp/scratch/f", W, 10 },
	{ "p", "/tmp/scratch", W, 10 },
	{ "p", "/tmp/scratchy", W, 0 },
	{ "p", "/tmp", W, 0 },
	{ "p", "/home/u/.config/app.ini", R, 11 },
	{ "p", "/home/u/.ssh/id_rsa", R, 0 },
	{ "p", "/home/u/.config/../.ssh/id_rsa", R, 0 },
	{ "p", "/ws/src/main.c", W, 12 },
	{ "p", "/ws/src/main.c", R, 13 },
	{ "p", "/ws", R, 13 },
	{ "p", "/ws/../etc/passwd", R, 0 },
	/* Bits add up across grants, as in Landlock; the longest grant that
	 * gave a bit is named, the lower line among equals. */
	{ "p", "/ws/src/main.c", R | W, 12 },
	{ "p", "/dev/null", R | W, 15 },
	{ "p", "/dev/null", W, 15 },
	{ "p", "/dev/null", R, 16 },
	{ "p", "/opt/a/c/f", R, 14 },
	{ "p", "/opt/a/b/f", R, 0 },
	{ "p", "/opt/a/b/../c", R, 14 },
	/* Bytes are bytes: no encoding is assumed. */
	{ "p", "/data/\xff\xfe/file", R, 17 },
	{ "p", "/data/\xff\xfe", R, 17 },
	{ "p", "/data/\xff", R, 0 },
	{ "p", "/data/\xff\xfe\xfd", R, 0 },
	/* Grants at several depths for one request. */
	{ "p", "/srv/www/index.html", W, 22 },
	{ "p", "/srv/www/index.html", R, 21 },
	{ "p", "/srv/data", W, 19 },
	{ "p", "/srv/data", R, 20 },
	{ "p", "/srv/www/cgi/run", X, 24 },
	{ "p", "/srv/www/cgi/run", W, 22 },
	{ "p", "/srv/www/cgi/run", X | W, 24 },
	/* An exec grant lets the file be read too: executing needs it. */
	{ "p", "/srv/www/cgi/run", X | R, 24 },
	{ "p", "/usr/lib/git-core/git", R, 5 },
	{ "p", "/usr/lib/git-core/git", R | W, 0 },
	/* Not absolute, or nothing at all. */
	{ "p", "usr/bin/git", X, 0 },
	{ "p", "", R, 0 },
	{ "p", "/", R, 0 },
	{ "p", "/usr/..", R, 0 },
	{ "p", "/../../usr/lib", R, 8 },
	/* The root grant covers everything, for the access it names. */
	{ "root", "/", R, 3 },
	{ "root", "//", R, 3 },
	{ "root", "/etc/shadow", R, 3 },
	{ "root", "/..", R, 3 },
	{ "root", "/etc/shadow", W, 0 },
	{ "root", "/usr/bin/id", X, 0 },
};

static struct grants *bind_fixture(const struct policy *p, const char *name,
				   const char *home)
{
	const struct agent *a = policy_agent(p, name);
	struct diag d = { 0 };
	struct grants *g;

	assert_non_null(a);
	g = grants_bind(a, "/ws", home, &d);
	assert_non_null(g);
	assert_int_equal(d.n, 0);
	return g;
}

static bool path_case_ok(const struct policy *p, const struct grants *g,
			 const struct path_case *c)
{
	const struct rule *r;
	uint32_t rule = 12345;
	bool allow = grants_check_path(g, c->path, c->access, &rule);
	char file[64];

	if (!c->line)
		return !allow && rule == 0;
	r = policy_rule(p, rule);
	snprintf(file, sizeof(file), "agents.d/%s.ini", c->agent);
	return allow && r && r->line == c->line && !strcmp(r->file, file);
}

static void test_path_decisions(void **state)
{
	struct policy *p = NULL;
	struct grants *gp, *groot;
	size_t i, failed = 0;

	(void)state;
	assert_int_equal(policy_load(FIXTURE, &p, NULL), 0);
	gp = bind_fixture(p, "p", "/home/u");
	groot = bind_fixture(p, "root", NULL);
	for (i = 0; i < sizeof(path_cases) / sizeof(path_cases[0]); i++) {
		const struct path_case *c = &path_cases[i];
		const struct grants *g = strcmp(c->agent, "p") ? groot : gp;

		if (path_case_ok(p, g, c))
			continue;
		print_message("path_cases[%zu] %s '%s' access %u: want line "
			      "%d\n", i, c->agent, c->path, c->access, c->line);
		failed++;
	}
	grants_free(gp);
	grants_free(groot);
	policy_free(p);
	assert_int_equal(failed, 0);
}

/* Requests too long for the kernel are denied, never cut short to a
 * path that a grant covers. */
static void test_path_too_long(void **state)
{
	struct policy *p = NULL;
	struct grants *g;
	char *path = malloc(PATH_MAX + 100);
	uint32_t rule = 7;

	(void)state;
	assert_non_null(path);
	assert_int_equal(policy_load(FIXTURE, &p, NULL), 0);
	g = bind_fixture(p, "p", "/home/u");
	strcpy(path, "/usr/");
	memset(path + 5, 'a', PATH_MAX + 50);
	path[PATH_MAX + 55] = '\0';
	assert_false(grants_check_path(g, path, R, &rule));
	assert_int_equal(rule, 0);
	path[PATH_MAX - 1] = '\0';
	assert_true(grants_check_path(g, path, R, &rule));
	assert_int_equal(policy_rule(p, rule)->line, 8);
	assert_false(grants_check_path(g, path, R | W, NULL));
	assert_false(grants_check_path(NULL, "/usr", R, &rule));
	free(path);
	grants_free(g);
	policy_free(p);
}

/* The bound paths are the canonical expansions, in grant order. */
static void test_bind_expands(void **state)
{
	static const char *const want[] = {
		"/usr/bin/git", "/usr/lib/git-core", "/ws/bin", "/usr",
		"/usr/share/doc", "/tmp/scratch", "/home/u/.config", "/ws",
		"/ws", "/opt/a/c",
	};
	struct policy *p = NULL;
	struct grants *g;
	size_t i;

	(void)state;
	assert_int_equal(policy_load(FIXTURE, &p, NULL), 0);
	g = bind_fixture(p, "p", "/home/u/");
	assert_int_equal(g->npaths, policy_agent(p, "p")->npaths);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		assert_string_equal(g->paths[i].path, want[i]);
	assert_int_equal(g->paths[0].access, X);
	assert_int_equal(g->paths[5].access, W);
	grants_free(g);
	policy_free(p);
}

/* A grant naming a variable without a value is skipped and said so; the
 * other grants still bind. */
static void test_bind_missing_values(void **state)
{
	const struct agent *a;
	struct policy *p = NULL;
	struct diag d = { 0 };
	struct grants *g;
	uint32_t rule;

	(void)state;
	assert_int_equal(policy_load(FIXTURE, &p, NULL), 0);
	a = policy_agent(p, "p");
	g = grants_bind(a, NULL, NULL, &d);
	assert_non_null(g);
	assert_int_equal(d.n, 4);
	assert_string_equal(d.msgs[0], "agents.d/p.ini:6: no workspace for "
			    "'${workspace}/bin', grant skipped");
	assert_string_equal(d.msgs[1], "agents.d/p.ini:11: no home for "
			    "'${home}/.config', grant skipped");
	assert_int_equal(g->npaths, a->npaths - 4);
	assert_true(grants_check_path(g, "/usr/bin/git", X, &rule));
	assert_false(grants_check_path(g, "/ws/f", R, &rule));
	grants_free(g);
	diag_free(&d);
	policy_free(p);
}

static void test_bind_bad_dirs(void **state)
{
	const struct agent *a;
	struct policy *p = NULL;
	struct diag d = { 0 };
	char *ws = malloc(PATH_MAX);
	struct grants *g;

	(void)state;
	assert_int_equal(policy_load(FIXTURE, &p, NULL), 0);
	a = policy_agent(p, "p");
	assert_null(grants_bind(a, "ws", "/home/u", &d));
	assert_null(grants_bind(a, "/ws", "~", &d));
	assert_int_equal(d.n, 2);
	assert_string_equal(d.msgs[0], "workspace 'ws' is not an absolute "
			    "path shorter than 4096 bytes");
	assert_string_equal(d.msgs[1], "home '~' is not an absolute path "
			    "shorter than 4096 bytes");
	diag_free(&d);

	/* A workspace that fits, but not with "/bin" after it. */
	ws[0] = '/';
	memset(ws + 1, 'w', PATH_MAX - 2);
	ws[PATH_MAX - 1] = '\0';
	g = grants_bind(a, ws, "/home/u", &d);
	assert_non_null(g);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.msgs[0], "agents.d/p.ini:6: '${workspace}/bin' "
			    "does not expand to an absolute path shorter than "
			    "4096 bytes, grant skipped");
	assert_true(grants_check_path(g, ws, W, NULL));
	grants_free(g);
	diag_free(&d);
	free(ws);
	policy_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_canonical),
		cmocka_unit_test(test_canonical_lengths),
		cmocka_unit_test(test_path_decisions),
		cmocka_unit_test(test_path_too_long),
		cmocka_unit_test(test_bind_expands),
		cmocka_unit_test(test_bind_missing_values),
		cmocka_unit_test(test_bind_bad_dirs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
