// SPDX-License-Identifier: GPL-2.0-only
/*
 * Roles: grants and denials flowing from roles.d into agents, inheritance,
 * cycles and unknown names, agents added from code, and the denials carved
 * out of the kernel's Landlock rules.
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
#include <sys/stat.h>
#include <unistd.h>

#include "policy/policy.h"

struct file {
	const char *name;
	const char *text;
};

static char dir[256];

static void write_files(const struct file *f)
{
	char path[PATH_MAX];

	snprintf(dir, sizeof(dir), "/tmp/pinfold-roles-test.XXXXXX");
	assert_non_null(mkdtemp(dir));
	for (const char *sub = "agents.d\0roles.d\0users.d\0"; *sub; sub += strlen(sub) + 1) {
		snprintf(path, sizeof(path), "%s/%s", dir, sub);
		assert_int_equal(mkdir(path, 0700), 0);
	}
	for (; f && f->name; f++) {
		FILE *fp;

		snprintf(path, sizeof(path), "%s/%s", dir, f->name);
		fp = fopen(path, "w");
		assert_non_null(fp);
		fputs(f->text, fp);
		fclose(fp);
	}
}

static void remove_files(void)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/* Load, expecting success. */
static struct policy *load_ok(const struct file *f)
{
	struct policy *p = NULL;
	struct diag d = { 0 };

	write_files(f);
	if (policy_load(dir, &p, &d)) {
		for (size_t i = 0; i < d.n; i++)
			print_error("%s\n", d.msgs[i]);
		fail_msg("policy did not load");
	}
	diag_free(&d);
	remove_files();
	return p;
}

/* Load, expecting exactly one message. */
static void load_bad(const struct file *f, const char *want)
{
	struct policy *p = NULL;
	struct diag d = { 0 };

	write_files(f);
	assert_int_equal(policy_load(dir, &p, &d), -1);
	if (d.n != 1 || strcmp(d.msgs[0], want)) {
		for (size_t i = 0; i < d.n; i++)
			print_error("got:  %s\n", d.msgs[i]);
		print_error("want: %s\n", want);
		fail();
	}
	diag_free(&d);
	remove_files();
}

static const char *rule_at(const struct policy *p, uint32_t id)
{
	static char buf[256];
	const struct rule *r = policy_rule(p, id);

	if (!r)
		return "default";
	snprintf(buf, sizeof(buf), "%s:%d", r->file, r->line);
	return buf;
}

static bool path_allowed(const struct agent *a, const char *path, unsigned acc,
			 uint32_t *rule)
{
	struct grants *g = grants_bind(a, "/ws", "/home/u", NULL);
	bool ok;

	assert_non_null(g);
	ok = grants_check_path(g, path, acc, rule);
	grants_free(g);
	return ok;
}

static const struct file base_files[] = {
	{ "roles.d/base.ini", "[role]\ndescription = what every agent needs\n"
			      "[exec]\nallow = /usr/bin\ndeny = /usr/bin/curl\n"
			      "[files]\nread = /usr\nread = /etc\ndeny = /etc/shadow\n" },
	{ "roles.d/git.ini", "[role]\ninherit = base\n[network]\nconnect = 10.0.0.0/8 22,443\n"
			     "deny = 10.9.0.0/16 *\n" },
	{ "agents.d/ci.ini", "[agent]\nroles = git\n[files]\nwrite = ${workspace}\n"
			     "read = /etc/shadow\n" },
	{ NULL, NULL },
};

static void test_role_grants_reach_the_agent(void **state)
{
	struct policy *p = load_ok(base_files);
	const struct agent *a = policy_agent(p, "ci");
	uint32_t rule;

	(void)state;
	assert_non_null(a);
	assert_int_equal(p->nroles, 2);
	assert_true(path_allowed(a, "/usr/bin/git", ACC_EXEC, &rule));
	assert_string_equal(rule_at(p, rule), "roles.d/base.ini:4");
	assert_true(path_allowed(a, "/ws/src", ACC_WRITE, &rule));
	assert_string_equal(rule_at(p, rule), "agents.d/ci.ini:4");
	assert_int_equal(policy_rule(p, rule)->layer, LAYER_AGENT);
	policy_free(p);
}

static void test_denial_beats_grant(void **state)
{
	struct policy *p = load_ok(base_files);
	const struct agent *a = policy_agent(p, "ci");
	uint8_t addr[16] = { [10] = 0xff, [11] = 0xff, [12] = 10, [13] = 9, [14] = 1, [15] = 1 };
	uint32_t rule;

	(void)state;
	/* The agent's own read of /etc/shadow loses to the role's denial. */
	assert_false(path_allowed(a, "/etc/shadow", ACC_READ, &rule));
	assert_string_equal(rule_at(p, rule), "roles.d/base.ini:9");
	assert_true(policy_rule(p, rule)->deny);
	assert_int_equal(policy_rule(p, rule)->layer, LAYER_ROLE);
	assert_false(path_allowed(a, "/usr/bin/curl", ACC_EXEC, &rule));
	assert_string_equal(rule_at(p, rule), "roles.d/base.ini:5");
	/* An exec denial leaves reading alone. */
	assert_true(path_allowed(a, "/usr/bin/curl", ACC_READ, &rule));
	assert_false(agent_check_connect(a, addr, 443, &rule));
	assert_string_equal(rule_at(p, rule), "roles.d/git.ini:5");
	addr[13] = 8;
	assert_true(agent_check_connect(a, addr, 443, &rule));
	assert_string_equal(rule_at(p, rule), "roles.d/git.ini:4");
	policy_free(p);
}

/* The kernel's map must give the same answer as the library. */
static void test_denial_in_the_net_table(void **state)
{
	struct policy *p = load_ok(base_files);
	struct net_entry *t;
	int n = agent_net_table(policy_agent(p, "ci"), &t, NULL);
	bool saw_deny = false;

	(void)state;
	assert_int_equal(n, 2);
	for (int i = 0; i < n; i++)
		if (t[i].prefix == 96 + 16) {
			saw_deny = true;
			assert_int_equal(t[i].value.nranges, 0);
		}
	assert_true(saw_deny);
	free(t);
	policy_free(p);
}

static void test_inheritance_is_deep(void **state)
{
	static const struct file f[] = {
		{ "roles.d/a.ini", "[role]\ninherit = b\n" },
		{ "roles.d/b.ini", "[role]\ninherit = c\n" },
		{ "roles.d/c.ini", "[files]\nread = /srv/c\n" },
		{ "agents.d/x.ini", "[agent]\nroles = a\n" },
		{ NULL, NULL },
	};
	struct policy *p = load_ok(f);
	uint32_t rule;

	(void)state;
	assert_true(path_allowed(policy_agent(p, "x"), "/srv/c/f", ACC_READ, &rule));
	assert_string_equal(rule_at(p, rule), "roles.d/c.ini:2");
	policy_free(p);
}

static void test_cycle_is_an_error(void **state)
{
	static const struct file f[] = {
		{ "roles.d/a.ini", "[role]\ninherit = b\n" },
		{ "roles.d/b.ini", "[role]\ndescription = x\ninherit = a\n" },
		{ NULL, NULL },
	};

	(void)state;
	load_bad(f, "roles.d/a.ini:2: role 'a' inherits itself through a cycle");
}

static void test_unknown_roles(void **state)
{
	static const struct file agent[] = {
		{ "agents.d/x.ini", "[agent]\nroles = nope\n" },
		{ NULL, NULL },
	};
	static const struct file role[] = {
		{ "roles.d/a.ini", "[role]\ninherit = base, gone\n" },
		{ "roles.d/base.ini", "[files]\nread = /usr\n" },
		{ NULL, NULL },
	};
	static const struct file list[] = {
		{ "agents.d/x.ini", "[agent]\nroles = a,,b\n" },
		{ NULL, NULL },
	};

	(void)state;
	load_bad(agent, "agents.d/x.ini:2: unknown role 'nope' (no roles.d/nope.ini)");
	load_bad(role, "roles.d/a.ini:2: unknown role 'gone' (no roles.d/gone.ini)");
	load_bad(list, "agents.d/x.ini:2: bad roles 'a,,b': an empty item in the list");
}

static void test_add_agent(void **state)
{
	struct policy *p = load_ok(base_files);
	static const char *const roles[] = { "git" };
	static const struct attr attrs[] = { { "owner", "alice" } };
	struct agent_spec spec = { .name = "idp-bot", .source = "idp-state.json",
				   .roles = roles, .nroles = 1, .attrs = attrs, .nattrs = 1 };
	static const char *const bad_roles[] = { "nope" };
	struct agent_spec bad = { .name = "other", .roles = bad_roles, .nroles = 1 };
	struct diag d = { 0 };
	const struct agent *a;
	uint32_t rule;

	(void)state;
	assert_int_equal(policy_add_agent(p, &spec, &d), 0);
	a = policy_agent(p, "idp-bot");
	assert_non_null(a);
	assert_string_equal(a->file, "idp-state.json");
	assert_string_equal(agent_attr(a, "owner"), "alice");
	assert_true(path_allowed(a, "/usr/bin/git", ACC_EXEC, &rule));
	assert_false(path_allowed(a, "/etc/shadow", ACC_READ, &rule));
	/* Taken name, unknown role, root uid: refused, the policy unchanged. */
	assert_int_equal(policy_add_agent(p, &spec, &d), -1);
	assert_int_equal(policy_add_agent(p, &bad, &d), -1);
	spec.name = "rooted";
	spec.has_uid = true;
	assert_int_equal(policy_add_agent(p, &spec, &d), -1);
	assert_int_equal(d.n, 3);
	assert_string_equal(d.msgs[1], "api:0: unknown role 'nope' (no roles.d/nope.ini)");
	assert_int_equal(p->nagents, 2);
	diag_free(&d);
	policy_free(p);
}

/* A denial beneath a grant is carved out for Landlock, which only adds. */
static void test_kernel_rules_carve_denials(void **state)
{
	char root[256], path[PATH_MAX], cfg[2048];
	struct bound_path *rules;
	struct policy *p;
	struct grants *g;
	int n;

	(void)state;
	snprintf(root, sizeof(root), "/tmp/pinfold-carve.XXXXXX");
	assert_non_null(mkdtemp(root));
	for (const char *s = "a\0a/secret\0a/pub\0b\0"; *s; s += strlen(s) + 1) {
		snprintf(path, sizeof(path), "%s/%s", root, s);
		assert_int_equal(mkdir(path, 0700), 0);
	}
	snprintf(cfg, sizeof(cfg), "[files]\nread = %s\nwrite = %s\ndeny = %s/a/secret\n", root,
		 root, root);
	{
		const struct file f[] = { { "agents.d/x.ini", cfg }, { NULL, NULL } };

		p = load_ok(f);
	}
	g = grants_bind(policy_agent(p, "x"), NULL, NULL, NULL);
	n = grants_kernel_rules(g, 100, &rules, NULL);
	/* Neither root nor a get a rule of their own (the denial takes read
	 * and write beneath them); b and a/pub do, once for read and once for
	 * write; a/secret gets nothing. */
	assert_int_equal(n, 4);
	for (int i = 0; i < n; i++) {
		assert_null(strstr(rules[i].path, "secret"));
		assert_string_not_equal(rules[i].path, root);
	}
	grants_rules_free(rules, (size_t)n);
	assert_int_equal(grants_kernel_rules(g, 3, &rules, NULL), -1);
	grants_free(g);
	policy_free(p);
	snprintf(cfg, sizeof(cfg), "rm -rf '%s'", root);
	assert_int_equal(system(cfg), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_role_grants_reach_the_agent),
		cmocka_unit_test(test_denial_beats_grant),
		cmocka_unit_test(test_denial_in_the_net_table),
		cmocka_unit_test(test_inheritance_is_deep),
		cmocka_unit_test(test_cycle_is_an_error),
		cmocka_unit_test(test_unknown_roles),
		cmocka_unit_test(test_add_agent),
		cmocka_unit_test(test_kernel_rules_carve_denials),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
