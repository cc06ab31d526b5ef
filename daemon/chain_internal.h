/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Shared by daemon/chain*.c only: the record hasher that the writer and the
 * verifier each keep one of, so the hot loops fetch nothing and allocate
 * nothing per record.
 */
#ifndef PINFOLD_CHAIN_INTERNAL_H
#define PINFOLD_CHAIN_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "daemon/chain.h"

/* A record line up to this long is hashed in one piece (chain.c). */
#define CHAIN_HASHER_MSG 8192

struct chain_hasher {
	const EVP_MD *md; /* process-wide, fetched once, never freed */
	EVP_MD_CTX *ctx;
	uint8_t msg[CHAIN_HASHER_MSG]; /* the tag, then a line and its prev */
};

/* Returns 0, or -ENOMEM / -ENOSYS (no SHA-256 in the OpenSSL providers). */
int chain_hasher_init(struct chain_hasher *h);
void chain_hasher_fini(struct chain_hasher *h);

/* out = SHA-256(tag || 0 || line || prev). False only if OpenSSL fails. */
bool chain_hasher_hash(struct chain_hasher *h, const char *line, size_t len,
		       const uint8_t prev[CHAIN_HASH_LEN], uint8_t out[CHAIN_HASH_LEN]);

/*
 * Verify the chain file open on fd (read-only), named name in messages:
 * chain_verify_path without the path lookup.
 */
int chain_verify_fd(int fd, const char *name, struct verify_result *r);

/* Encoded member names and shared values (chain_encode.c). */
#define CHAIN_FRAG_RAW 128
#define CHAIN_FRAG_KEYS 64
#define CHAIN_FRAG_VALS 256
struct chain_frag {
	const json_t *owner;	/* a value's json_t; unused for keys */
	size_t raw_len, enc_len;
	char raw[CHAIN_FRAG_RAW];	/* the text as it is */
	char enc[2 * CHAIN_FRAG_RAW + 8];	/* as jansson encodes it */
};
struct chain_frags {
	struct chain_frag keys[CHAIN_FRAG_KEYS];
	struct chain_frag vals[CHAIN_FRAG_VALS];
};

/*
 * Encode rec's members as they follow a spliced head: ,"k":v,...} into
 * dst. Returns the length; 0 when jansson cannot encode a member; room
 * (or more) when it does not fit.
 */
size_t chain_encode_members(struct chain_frags *f, const json_t *rec, char *dst, size_t room);

struct chain {
	int fd;			/* the active segment, chain.jsonl */
	int dfd;		/* the audit directory */
	int lock_fd;
	int ckpt_fd;		/* checkpoints.jsonl; -1 for a plain chain */
	char *path;
	uint64_t next_seq;
	uint8_t last[CHAIN_HASH_LEN]; /* hash of record next_seq - 1 */
	struct chain_hasher hasher;
	json_t *head;		      /* {"seq":N,"prev":"H"}, updated per record */
	json_t *head_seq, *head_prev; /* borrowed from head */
	char *wbuf;		      /* CHAIN_RECORD_MAX bytes */
	size_t wlen;
	struct chain_recovery recovery[2]; /* torn tails set aside at open */
	int nrecovered;

	/* A signed log (opts.key set). */
	struct chain_opts opts;
	char log_id[CHAIN_LOG_ID_HEX + 1];
	char origin[CHAIN_ORIGIN_MAX];
	struct chain_checkpoint ckpt;	/* the last one; size 0 when none */
	int64_t ckpt_ms;		/* CLOCK_MONOTONIC of the last one */
	bool ckpt_due;			/* one failed and is to be retried */
	uint64_t seg_first;		/* seq of the active segment's first record */
	uint64_t seg_bytes;		/* its size, buffered bytes included */
	bool rotating;
	struct chain_frags *frags;
};

/* chain.c, for chain_segment.c */
int chain_fail(char *err, size_t errlen, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
int chain_buffer_write(struct chain *c);
int64_t chain_append_raw(struct chain *c, json_t *rec);
int64_t chain_now_ns(const struct chain *c);
int64_t chain_mono_ms(void);

/* chain_segment.c: checkpoints, segments and retention of a signed log. */
int chain_checkpoint_make(struct chain *c);
/* After each append: a checkpoint or a new segment when one is due. */
void chain_after_append(struct chain *c);
/* A new log's genesis record, or the record that opens a new segment. */
int64_t chain_write_genesis(struct chain *c);
int64_t chain_write_segment_start(struct chain *c, uint64_t prev_first);
/* Open checkpoints.jsonl for appending, creating it. */
int chain_checkpoints_open(struct chain *c, char *err, size_t errlen);
/* Open chain.jsonl for appending, creating it. */
int chain_active_open(struct chain *c, char *err, size_t errlen);

#endif
