/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The audit hash chain: record format, appending with group commit, and
 * verification. Linked into pinfoldd (writer) and chain-verify (reader).
 *
 * A chain file holds one JSON object per line. Every record carries "seq"
 * (0 for the first record of a log, then +1) and "prev", the hex SHA-256 of
 * the previous record. A record's hash is
 *
 *     SHA-256("pinfold-record-v1" || 0x00 || line || prev_hash)
 *
 * over the exact bytes of its line (without the newline) and the 32 raw
 * bytes of the previous hash (all zero before the first record).
 */
#ifndef PINFOLD_CHAIN_H
#define PINFOLD_CHAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define CHAIN_FILE "chain.jsonl"
#define CHAIN_HASH_LEN 32

struct chain;

/*
 * Open (creating if needed) the chain in directory dir, mode 0700 for the
 * directory and 0600 for the file. An existing chain is read to its end to
 * continue seq and prev. Returns 0, or a negative errno with a one-line
 * reason in err.
 */
int chain_open(const char *dir, struct chain **out, char *err, size_t errlen);

/*
 * Append one record. rec must be a JSON object without "seq" and "prev";
 * they are added first, in that order, followed by rec's members. The
 * record is buffered: it reaches the file at the next chain_flush, or
 * sooner when the buffer fills. rec is not consumed.
 * Returns the record's seq, or a negative errno.
 */
int64_t chain_append(struct chain *c, json_t *rec);

/* Write buffered records; with sync, fdatasync the file afterwards.
 * Returns 0 or a negative errno (the records stay buffered). */
int chain_flush(struct chain *c, bool sync);

/* A torn last record (a crash mid-write) that chain_open set aside. */
struct chain_recovery {
	uint64_t offset;	/* where the torn bytes began in the chain file */
	uint64_t length;
	char sha256[CHAIN_HASH_LEN * 2 + 1];	/* of the bytes set aside */
	char quarantine[64];	/* their file, beside the chain */
};

/* 0 and *out when chain_open set a torn tail aside; -ENOENT otherwise. */
int chain_recovery(const struct chain *c, struct chain_recovery *out);

/* Flush with sync, then close. */
int chain_close(struct chain *c);

uint64_t chain_next_seq(const struct chain *c);
const char *chain_path(const struct chain *c);

/* Hash one record line: out = SHA-256(tag || 0 || line || prev). */
void chain_hash_record(const char *line, size_t len,
		       const uint8_t prev[CHAIN_HASH_LEN],
		       uint8_t out[CHAIN_HASH_LEN]);

/*
 * Additions to the contract above.
 *
 * chain_open also takes an exclusive flock on the file, so a second writer
 * fails with -EWOULDBLOCK instead of forking the chain; it refuses with
 * -EBADMSG an existing file that does not verify or ends in a partial
 * record, and with -EPERM a directory that group or others may write.
 * Reading back a large chain loads its lines on short-lived threads, all
 * joined before chain_open returns (so do chain_verify_path and _buf).
 *
 * chain_append returns -EINVAL for a rec that is not an object, already has
 * "seq" or "prev", or that jansson cannot encode (invalid UTF-8 from a
 * *_nocheck string); -EMSGSIZE for a line that, with its newline, does not
 * fit in CHAIN_RECORD_MAX;
 * and, when the write buffer is full and writing it out fails, that write's
 * negative errno. In every error case nothing was appended and seq is not
 * consumed. The chain is not thread-safe: one writer thread at a time.
 *
 * chain_close frees the chain even when the final flush fails; a negative
 * return then means buffered records were lost.
 *
 * chain_hash_record aborts if OpenSSL cannot hash (out of memory); the
 * writer and the verifier use their own contexts and report such failures.
 */

/* The write buffer; a single encoded record may not exceed it. */
#define CHAIN_RECORD_MAX (1u << 20)

#define CHAIN_HASH_HEX_LEN (2 * CHAIN_HASH_LEN)
#define CHAIN_RECORD_TAG "pinfold-record-v1"

/* Lowercase hex of a hash, NUL-terminated. */
void chain_hash_hex(const uint8_t hash[CHAIN_HASH_LEN], char out[CHAIN_HASH_HEX_LEN + 1]);

/*
 * A record whose hash is known from outside the file: a signed checkpoint,
 * or a head the daemon reported. Only an anchor lets a verifier notice a
 * changed last record, a cut-off tail or a chain rewritten from scratch.
 */
struct chain_anchor {
	uint64_t seq;
	uint8_t hash[CHAIN_HASH_LEN];
};

/* The last record appended (buffered or not). -ENOENT before the first. */
int chain_head(const struct chain *c, struct chain_anchor *out);

enum verify_status {
	VERIFY_OK = 0,
	VERIFY_TAMPERED = 1,
	VERIFY_IO = 2,
};

struct verify_result {
	enum verify_status status;
	uint64_t records;	/* records that verified */
	uint64_t first_seq, last_seq;
	uint64_t bad_seq;	/* first bad sequence number when tampered */
	char reason[256];	/* one line: what was wrong */
	/* Added: hash of record last_seq, valid when records > 0. */
	uint8_t last_hash[CHAIN_HASH_LEN];
	uint64_t bytes;		/* size of the file (or buffer) examined */
};

/*
 * Verify the chain at path: a chain file, or a directory holding one.
 * Returns r->status. bad_seq is the sequence number expected where the
 * first check failed: a modified record k shows as record k + 1, whose
 * "prev" no longer matches. A missing or unreadable file is VERIFY_IO; an
 * empty one is VERIFY_TAMPERED ("no records"), since the daemon always
 * writes a start record. A file that is being appended to may end in a
 * partial record: verify a copy, or the file of a stopped daemon.
 */
int chain_verify_path(const char *path, struct verify_result *r);

/*
 * Verify len bytes of chain text. With anchor non-NULL the chain must also
 * reach anchor->seq, and that record must hash to anchor->hash; records
 * after it are checked as usual. Returns r->status (never VERIFY_IO
 * except when OpenSSL cannot hash).
 */
int chain_verify_buf(const char *buf, size_t len, const struct chain_anchor *anchor,
		     struct verify_result *r);

#endif
