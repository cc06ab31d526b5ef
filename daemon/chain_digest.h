/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The verifier's first pass (chain_digest.c), for daemon/chain_verify*.c
 * only: each line of a file read for what the writer's fixed prefix
 * claims, and hashed with the prev it claims, so that a record's hash
 * needs nothing but its own line. Batches of lines are digested by a
 * pool of threads ahead of the in-order walk, which takes them in turn.
 */
#ifndef PINFOLD_CHAIN_DIGEST_H
#define PINFOLD_CHAIN_DIGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/chain_internal.h"

/*
 * The writer never emits duplicate keys, so one is a forgery. It may emit
 * \u0000 (jansson encodes an embedded NUL so), so that must load.
 */
#define RECORD_LOAD_FLAGS (JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL)

#define DIGEST_THREADS_MAX 16

enum rec_type { T_OTHER = 0, T_GENESIS, T_SEGMENT, T_RETENTION };

enum digest_flags {
	D_FAST = 1,	  /* the writer's prefix: seq, claimed and hash are set */
	D_NOT_OBJECT = 2, /* jansson does not load it as an object */
	D_PREV_ODD = 4,	  /* prev is hex, but not as the writer writes it */
};

/* One line, digested. */
struct digest {
	size_t off, len;
	uint64_t seq;
	uint8_t claimed[CHAIN_HASH_LEN];
	uint8_t hash[CHAIN_HASH_LEN]; /* over the line and its claimed prev */
	uint8_t flags, type;
};

/* 64 lowercase hex digits into out; false for anything else. */
bool chain_unhex(const char *s, uint8_t out[CHAIN_HASH_LEN]);
/* The rec_type of a "type" value of n bytes. */
uint8_t chain_record_type(const char *t, size_t n);

/*
 * Digest the line of len bytes at buf + off into d. A line with the
 * writer's prefix and a seq of json_from or more is also loaded with
 * jansson, to prove it an object (D_NOT_OBJECT when it is not).
 */
void chain_digest_line(struct chain_hasher *h, const char *buf, size_t off, size_t len,
		       uint64_t json_from, struct digest *d);

struct digester;

/*
 * Digest the lines of buf in [start, end), where end follows a newline,
 * on threads threads, the caller's among them. Returns 0 or -ENOMEM.
 */
int digester_start(struct digester **out, const char *buf, size_t start, size_t end,
		   uint64_t json_from, size_t threads);

/*
 * The next batch of lines in file order, once digested (the caller's
 * thread digests one itself rather than wait). The batch before is given
 * back. Returns false at the end, or with *oom set when memory ran out.
 */
bool digester_next(struct digester *g, struct digest **d, size_t *n, bool *oom);

/* Stop the threads (a batch being digested is finished first) and free g. */
void digester_stop(struct digester *g);

#endif
