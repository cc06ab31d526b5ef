// SPDX-License-Identifier: GPL-2.0-only
/* parse_iso8601(): each row one `expires` value and what it must mean. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "policy/policy.h"

static const struct {
	const char *text;
	int rc;
	int64_t when;
} rows[] = {
	{ "2026-12-31", 0, 1798675200 },
	{ "2026-12-31T00:00:00Z", 0, 1798675200 },
	{ "2026-12-31T00:00", 0, 1798675200 },
	{ "2026-12-31T18:30:05Z", 0, 1798675200 + 18 * 3600 + 30 * 60 + 5 },
	{ "2026-12-31T02:00:00+02:00", 0, 1798675200 },
	{ "2026-12-30T19:00:00-05:00", 0, 1798675200 },
	{ "2024-02-29", 0, 1709164800 },
	{ "2025-02-29", -1, 0 },
	{ "2026-04-31", -1, 0 },
	{ "2026-13-01", -1, 0 },
	{ "2026-12-31T24:00", -1, 0 },
	{ "2026-12-31T12:60", -1, 0 },
	{ "2026-12-31 12:00", -1, 0 },
	{ "2026-12-31T12:00:00+0200", -1, 0 },
	{ "2026-12-31T12:00:00Zjunk", -1, 0 },
	{ "26-12-31", -1, 0 },
	{ "2026-1-31", -1, 0 },
	{ "1969-12-31", -1, 0 },
	{ "", -1, 0 },
	{ "tomorrow", -1, 0 },
};

static void test_rows(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		int64_t t = -1;
		int rc = parse_iso8601(rows[i].text, &t);

		if (rc != rows[i].rc || (rc == 0 && t != rows[i].when))
			fail_msg("'%s': rc %d time %lld, want rc %d time %lld", rows[i].text, rc,
				 (long long)t, rows[i].rc, (long long)rows[i].when);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
