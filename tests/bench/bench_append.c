// SPDX-License-Identifier: GPL-2.0-only
/*
 * The audit log's append rate: decision records like the daemon's, built
 * the way events.c builds them (shared strings for what recurs), appended
 * to a signed log with group commit every fsync_interval_ms (10) and a
 * checkpoint every 10,000 records. Prints records per second, then the
 * log's public key ("key NAME+ID+KEY").
 *
 *     bench_append DIR [RECORDS]
 */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "daemon/chain.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The members of a decision record as the daemon sets them. */
static json_t *decision(json_t **shared, uint64_t i, const char *object)
{
	json_t *rec = json_object();
	char t[32];

	chain_format_time(now_ns(), t);
	json_object_set_nocheck(rec, "type", shared[0]);
	json_object_set_new_nocheck(rec, "time", json_string(t));
	json_object_set_new_nocheck(rec, "mono", json_integer((json_int_t)(i * 1000 + 17)));
	json_object_set_nocheck(rec, "boot", shared[1]);
	json_object_set_nocheck(rec, "host", shared[2]);
	json_object_set_new_nocheck(rec, "session", json_integer(41));
	json_object_set_nocheck(rec, "agent", shared[3]);
	json_object_set_new_nocheck(rec, "pid", json_integer((json_int_t)(4000 + i % 100)));
	json_object_set_new_nocheck(rec, "uid", json_integer(61184));
	json_object_set_nocheck(rec, "action", shared[4]);
	json_object_set_new_nocheck(rec, "object", json_string(object));
	json_object_set_nocheck(rec, "access", shared[5]);
	json_object_set_nocheck(rec, "outcome", shared[6]);
	json_object_set_nocheck(rec, "decision", shared[7]);
	json_object_set_nocheck(rec, "rule", shared[8]);
	json_object_set_nocheck(rec, "policy", shared[9]);
	return rec;
}

int main(int argc, char **argv)
{
	const char *names[] = { "decision", "6f1c2a9e-3b4d-4c5e-8f70-1a2b3c4d5e6f", "build1", "ci",
				"open", "read", "ok", "allow", "agents.d/ci.ini:12",
				"9f2c0a5b1e0d4f7a8c3b2e1d0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a" };
	uint64_t n = argc > 2 ? strtoull(argv[2], NULL, 10) : 1000000;
	json_t *shared[10];
	char err[512], keypath[PATH_MAX], object[64];
	struct chain_key *key;
	struct chain *c;
	double t0, t1, last_sync;

	if (argc < 2) {
		fprintf(stderr, "usage: bench_append DIR [RECORDS]\n");
		return 2;
	}
	for (int i = 0; i < 10; i++)
		shared[i] = json_string(names[i]);
	snprintf(keypath, sizeof(keypath), "%s.key", argv[1]);
	if (chain_key_load_or_create(keypath, "bench/pinfold-audit", &key, err, sizeof(err)) < 0) {
		fprintf(stderr, "bench_append: %s\n", err);
		return 1;
	}
	struct chain_opts o = { .key = key, .host = "build1", .checkpoint_records = 10000 };
	if (chain_open_opts(argv[1], &o, &c, err, sizeof(err)) < 0) {
		fprintf(stderr, "bench_append: %s\n", err);
		return 1;
	}
	t0 = last_sync = now();
	for (uint64_t i = 0; i < n; i++) {
		json_t *rec;

		snprintf(object, sizeof(object), "/home/ci/src/project/lib/file%06" PRIu64 ".c",
			 i % 100000);
		rec = decision(shared, i, object);
		if (chain_append(c, rec) < 0) {
			fprintf(stderr, "bench_append: append failed\n");
			return 1;
		}
		json_decref(rec);
		/* Group commit as the daemon does it, checked every 256 records. */
		if ((i & 255) == 0 && now() - last_sync >= 0.010) {
			chain_flush(c, true);
			last_sync = now();
		}
	}
	chain_close(c);
	t1 = now();
	printf("%" PRIu64 " records in %.2f s: %.0f records/s\n", n, t1 - t0,
	       (double)n / (t1 - t0));
	chain_key_public(key, err, sizeof(err));
	printf("key %s\n", err);
	chain_key_free(key);
	return 0;
}
