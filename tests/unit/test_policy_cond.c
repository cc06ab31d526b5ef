// SPDX-License-Identifier: GPL-2.0-only
/*
 * When conditions change: cond_next_change() tells the daemon when to
 * judge a running session again, so a window must close exactly at its
 * end, an age be reached exactly, and a condition with no time in it never
 * ask to be judged again. Each row is a condition, a moment, and the
 * seconds until the next change.
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

/* Thursday 3 December 2026, 10:00:00 UTC. */
#define THU_10 1796292000LL

struct row {
	const char *cond;
	int64_t now;		/* offset from THU_10 */
	int64_t age;		/* of the session */
	bool holds;
	int64_t next;		/* seconds; -1: never */
};

static const struct row rows[] = {
	{ "time.hours in 09:00-10:00:05 and time.zone = UTC", 0, 0, true, 5 },
	{ "time.hours in 09:00-10:00:05 and time.zone = UTC", 5, 0, false, 23 * 3600 - 5 },
	{ "time.hours in 10:30-11:00 and time.zone = UTC", 0, 0, false, 1800 },
	{ "time.hours in 22:00-06:00 and time.zone = UTC", 0, 0, false, 12 * 3600 },
	{ "time.hours in 22:00-06:00 and time.zone = UTC", 13 * 3600, 0, true, 7 * 3600 },
	{ "time.hours in 18:00-20:00 and time.zone = Asia/Tokyo", 0, 0, true, 3600 },
	{ "time.days in mon-fri and time.zone = UTC", 0, 0, true, 14 * 3600 },
	{ "time.days in sat,sun and time.zone = UTC", 0, 0, false, 14 * 3600 },
	{ "session.age < 60", 0, 10, true, 50 },
	{ "session.age <= 60", 0, 10, true, 51 },
	{ "session.age > 60", 0, 61, true, -1 },
	{ "user.uid = 1000", 0, 0, true, -1 },
	{ "user.uid = 1000 and session.age < 30", 0, 0, true, 30 },
};

static char dir[] = "/tmp/pinfold-cond-test.XXXXXX";

static struct policy *load_one(const char *cond)
{
	char path[PATH_MAX];
	struct policy *p = NULL;
	struct diag d = { 0 };
	FILE *f;

	snprintf(path, sizeof(path), "%s/agents.d", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/agents.d/a.ini", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "[files]\nread = /x when %s\n", cond);
	fclose(f);
	if (policy_load(dir, &p, &d)) {
		for (size_t i = 0; i < d.n; i++)
			print_error("%s\n", d.msgs[i]);
		fail();
	}
	diag_free(&d);
	return p;
}

static void test_next_change(void **state)
{
	int failed = 0;

	(void)state;
	assert_non_null(mkdtemp(dir));
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		struct policy *p = load_one(r->cond);
		const struct agent *a = policy_agent(p, "a");
		gid_t g = 1000;
		struct eval_ctx ctx = { .agent = a, .uid = 1000, .gids = &g, .ngids = 1,
					.launch = "run", .now = THU_10 + r->now,
					.start = THU_10 + r->now - r->age };
		uint32_t c = a->paths[0].cond;
		int64_t next = cond_next_change(p, c, &ctx);
		bool holds = cond_holds(p, c, &ctx);

		if (holds != r->holds || next != (r->next < 0 ? INT64_MAX : r->next)) {
			print_error("'%s' at +%lld: holds %d, next %lld\n", r->cond,
				    (long long)r->now, holds, (long long)next);
			failed++;
		}
		policy_free(p);
	}
	{
		char cmd[64];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		assert_int_equal(system(cmd), 0);
	}
	assert_int_equal(failed, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_next_change),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
