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
#include <inttypes.h>
#include <stdint.h>

#include <jansson.h>

#define CHAIN_FILE "chain.jsonl"
#define CHAIN_CHECKPOINTS "checkpoints.jsonl"
#define CHAIN_LOCK "lock"
#define CHAIN_HASH_LEN 32
#define CHAIN_LOG_ID_LEN 16
#define CHAIN_LOG_ID_HEX (2 * CHAIN_LOG_ID_LEN)
#define CHAIN_ORIGIN_MAX 256
#define CHAIN_KEY_NAME_MAX 192
#define CHAIN_SIG_LEN 64
#define CHAIN_NOTE_MAX 1024
#define CHAIN_FORMAT_VERSION 2
/* A closed segment is chain-<first seq, 20 digits>.jsonl. */
#define CHAIN_SEGMENT_FMT "chain-%020" PRIu64 ".jsonl"

struct chain;
struct chain_key;

/*
 * Signing keys (chain_key.c): Ed25519 through OpenSSL EVP, in the text
 * forms of the signed-note ecosystem. chain_key_load_or_create creates the
 * key at path (mode 0600, O_EXCL, O_NOFOLLOW) when there is none; an
 * existing file must be a regular file of the caller's uid that nobody
 * else may read. Key material read from a file is wiped once OpenSSL holds
 * it. Each returns 0 or a negative errno with a one-line reason in err.
 */
int chain_key_load_or_create(const char *path, const char *name, struct chain_key **out,
			     char *err, size_t errlen);
int chain_key_load(const char *path, struct chain_key **out, char *err, size_t errlen);
/* A verifier key, NAME+KEYID+BASE64, as chain_key_public writes it. */
int chain_key_parse_public(const char *vkey, struct chain_key **out, char *why, size_t whylen);
int chain_key_public(const struct chain_key *k, char *out, size_t outlen);
void chain_key_free(struct chain_key *k);
const char *chain_key_name(const struct chain_key *k);
uint32_t chain_key_id(const struct chain_key *k);
int chain_key_sign(const struct chain_key *k, const void *msg, size_t len,
		   uint8_t sig[CHAIN_SIG_LEN]);
bool chain_key_verify(const struct chain_key *k, const void *msg, size_t len,
		      const uint8_t sig[CHAIN_SIG_LEN]);
/* Standard base64 (RFC 4648) through OpenSSL; decode returns the length or -1. */
size_t chain_base64_encode(const uint8_t *in, size_t len, char *out);
int chain_base64_decode(const char *in, size_t len, uint8_t *out, size_t outmax);

/* A checkpoint: the first size records of the log, the last hashing to hash. */
struct chain_checkpoint {
	char origin[CHAIN_ORIGIN_MAX];
	uint64_t size;
	uint8_t hash[CHAIN_HASH_LEN];
};

/* The signed note of cp, signed by k, into out. Returns its length or -errno. */
int chain_note_sign(const struct chain_key *k, const struct chain_checkpoint *cp, char *out,
		    size_t outlen);

enum note_verdict {
	NOTE_OK = 0,		/* signed by the key, and the signature verifies */
	NOTE_UNCHECKED,		/* well formed; no key given to check it with */
	NOTE_MALFORMED,
	NOTE_NOT_SIGNED,	/* no signature line of the key */
	NOTE_BAD_SIGNATURE,
};

/*
 * Parse the signed note at the start of text into cp and check its
 * signature with k (may be NULL). *used (may be NULL) is the length of the
 * note, so that notes written one after another can be read in turn.
 * Returns an enum note_verdict, with why set for anything but NOTE_OK.
 */
int chain_note_parse(const char *text, size_t len, const struct chain_key *k,
		     struct chain_checkpoint *cp, size_t *used, char *why, size_t whylen);

/*
 * How a signed log is kept. With key NULL, chain_open_opts writes a plain
 * chain (format version 1: no genesis, no checkpoints), as chain_open does.
 */
struct chain_opts {
	const struct chain_key *key;	/* signs checkpoints; borrowed */
	const char *host;		/* for the genesis and segment records */
	const char *boot_id;
	uint64_t checkpoint_records;	/* a checkpoint after this many records (0: 10000) */
	uint64_t checkpoint_interval_ms;	/* and at most this long after a record (0: never) */
	uint64_t segment_bytes;		/* a new segment past this size (0: never) */
	unsigned retain_segments;	/* closed segments kept (0: all) */
	/* Called with each new checkpoint once it is in checkpoints.jsonl. */
	void (*on_checkpoint)(void *ctx, const char *note, const struct chain_checkpoint *cp);
	void *ctx;
	/* For tests: a fixed log id and clock; NULL for random and CLOCK_REALTIME. */
	const uint8_t *log_id;
	int64_t (*now_ns)(void);
};

int chain_open_opts(const char *dir, const struct chain_opts *o, struct chain **out, char *err,
		    size_t errlen);

/*
 * Append rec and return only once it, and every record before it, is on
 * disk (written and fdatasync'd). For acknowledgements that promise
 * durability: an approval, a policy change. Returns the seq or -errno; on
 * an error the record may be buffered but is not known to be durable.
 */
int64_t chain_append_durable(struct chain *c, json_t *rec);

/*
 * Time-driven work: a checkpoint when checkpoint_interval_ms has passed
 * since the last one and records came after it. Returns 0 or -errno.
 */
int chain_tick(struct chain *c);

/* Sign a checkpoint of everything appended so far, now (no-op when the
 * last checkpoint already covers it). Returns 0 or -errno. */
int chain_checkpoint_now(struct chain *c);

/* The log's id, as hex; "" for a plain chain. */
const char *chain_log_id(const struct chain *c);
/* The last checkpoint made or found at open; -ENOENT when none. */
int chain_last_checkpoint(const struct chain *c, struct chain_checkpoint *out);
/* RFC 3339 UTC with microseconds: "2025-06-01T12:00:03.512204Z". */
void chain_format_time(int64_t ns, char buf[32]);

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
	char file[32];		/* the file they were cut from: chain.jsonl or checkpoints.jsonl */
};

/* 0 and *out when chain_open set a torn tail aside; -ENOENT otherwise.
 * i is 0 for the first, 1 for the second (the checkpoints file's). */
int chain_recovery(const struct chain *c, struct chain_recovery *out);
int chain_recovery_at(const struct chain *c, int i, struct chain_recovery *out);

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
	VERIFY_TORN = 3,	/* intact but for a partial last record */
};

/* What a tampered chain shows; verify_kind_name gives the words. */
enum verify_kind {
	KIND_NONE = 0,
	KIND_MODIFIED,
	KIND_DELETED,
	KIND_INSERTED,
	KIND_REORDERED,
	KIND_TRUNCATED,		/* ends before a checkpoint or anchor */
	KIND_FORGED,		/* a checkpoint whose signature fails */
	KIND_BAD_LINK,		/* segments that do not join */
	KIND_TORN,
	KIND_MALFORMED,		/* not a record of the format */
	KIND_WRONG_KEY,
	KIND_MISSING_CHECKPOINT,
};
const char *verify_kind_name(enum verify_kind k);

struct verify_result {
	enum verify_status status;
	uint64_t records;	/* records that verified */
	uint64_t first_seq, last_seq;
	uint64_t bad_seq;	/* first bad sequence number when tampered */
	char reason[256];	/* one line: what was wrong */
	/* Added: hash of record last_seq, valid when records > 0. */
	uint8_t last_hash[CHAIN_HASH_LEN];
	uint64_t bytes;		/* size of the files examined */
	/* Added with checkpoints and segments. */
	enum verify_kind kind;
	bool genesis;		/* a signed (version 2) log: genesis or segment record seen */
	char log_id[CHAIN_LOG_ID_HEX + 1];
	char origin[CHAIN_ORIGIN_MAX];
	uint32_t key_id;	/* the log's signing key, from its genesis */
	uint64_t checkpoint_records;	/* the log's promise: a checkpoint at least this often */
	uint64_t checkpoints;	/* checkpoints matched against the chain */
	bool signatures_checked;	/* a key was given and every signature verified */
	bool have_checkpoint;
	uint64_t checkpoint_seq;	/* last record covered by the last checkpoint */
	uint64_t anchors;	/* anchors matched */
	uint64_t segments;	/* files verified */
	uint64_t torn_bytes;	/* with VERIFY_TORN: bytes after the last record */
	uint64_t active_first_seq;	/* first record of the last file */
	uint64_t active_bytes;	/* its size up to its last complete record */
	uint64_t retained_from;	/* with genesis: first seq kept after retention */
};

struct verify_opts {
	const struct chain_key *key;	/* check checkpoint signatures; NULL: not */
	const struct chain_checkpoint *anchors;	/* checkpoints kept elsewhere */
	size_t nanchors;
	int threads;			/* 0: as many as CPUs */
};

/*
 * Verify a log directory (every segment, in order, and checkpoints.jsonl)
 * or a single chain file, with the checks of docs/audit-format.md.
 * Returns r->status.
 */
int chain_verify(const char *path, const struct verify_opts *o, struct verify_result *r);

/*
 * Resuming a verification, for tests that change a log one byte at a
 * time. chain_verify_points verifies the log at path as chain_verify does
 * and keeps the verifier's state at the start of every record it reaches
 * (about 1 KiB a record), in *out (NULL when memory ran out).
 * chain_verify_from verifies the log at path as chain_verify would, on
 * the promise that its checkpoints file and its files before file are
 * those the points were taken of, and file is too before byte off: it
 * resumes at the start of the record that holds byte off, and every check
 * from there on runs as usual (each later record, checkpoint and anchor,
 * and the checks at the end). Without a point for off it verifies from
 * the start. o, its key and its anchors must outlive the points. Both
 * return r->status.
 */
struct verify_points;
int chain_verify_points(const char *path, const struct verify_opts *o,
			struct verify_points **out, struct verify_result *r);
int chain_verify_from(const char *path, const struct verify_points *p, const char *file,
		      uint64_t off, struct verify_result *r);
void chain_verify_points_free(struct verify_points *p);

/*
 * Call fn with each complete line of the log at path (a directory: every
 * segment in order), without verifying anything: for review after
 * chain_verify. fn returns 0 to go on. Returns 0, fn's non-zero value, or
 * -1 with r->reason set when a file cannot be read.
 */
int chain_each_record(const char *path, int (*fn)(void *ctx, const char *line, size_t len),
		      void *ctx, struct verify_result *r);

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
