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
#include <string.h>
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

/*
 * The members of a decision record, set as events.c sets them: into one
 * record object kept from event to event (audit_event_begin), the name
 * "object" through set_name's chain_rec_set_string.
 */
static json_t *decision(struct chain_rec *r, json_t **shared, uint64_t i, const char *object)
{
	char t[32];

	chain_rec_begin(r);
	chain_format_time(now_ns(), t);
	chain_rec_set(r, "type", shared[0]);
	chain_rec_set_text(r, "time", t, strlen(t));
	chain_rec_set_int(r, "mono", (json_int_t)(i * 1000 + 17));
	chain_rec_set(r, "boot", shared[1]);
	chain_rec_set(r, "host", shared[2]);
	chain_rec_set_int(r, "session", 41);
	chain_rec_set(r, "agent", shared[3]);
	chain_rec_set_int(r, "pid", (json_int_t)(4000 + i % 100));
	chain_rec_set_int(r, "uid", 61184);
	chain_rec_set(r, "action", shared[4]);
	chain_rec_set_string(r, "object", object);
	chain_rec_set(r, "access", shared[5]);
	chain_rec_set(r, "outcome", shared[6]);
	chain_rec_set(r, "decision", shared[7]);
	chain_rec_set(r, "rule", shared[8]);
	chain_rec_set(r, "policy", shared[9]);
	return chain_rec_end(r);
}

int main(int argc, char **argv)
{
	const char *names[] = { "decision", "6f1c2a9e-3b4d-4c5e-8f70-1a2b3c4d5e6f", "build1", "ci",
				"open", "read", "ok", "allow", "agents.d/ci.ini:12",
				"9f2c0a5b1e0d4f7a8c3b2e1d0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a" };
	uint64_t n = argc > 2 ? strtoull(argv[2], NULL, 10) : 1000000;
	json_t *shared[10];
	char err[512], keypath[PATH_MAX], object[64];
	struct chain_rec r = { 0 };
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
		/* audit_record consumes a reference of its own. */
		rec = json_incref(decision(&r, shared, i, object));
		if (!rec || chain_append(c, rec) < 0) {
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
	chain_rec_free(&r);
	printf("%" PRIu64 " records in %.2f s: %.0f records/s\n", n, t1 - t0,
	       (double)n / (t1 - t0));
	chain_key_public(key, err, sizeof(err));
	printf("key %s\n", err);
	chain_key_free(key);
	return 0;
}
