// SPDX-License-Identifier: GPL-2.0-only
/*
 * The chain verifier. Each file is mapped and its lines digested in
 * batches on all CPUs (chain_digest.c), ahead of the walk: the writer's
 * fixed prefix {"seq":N,"prev":"H","type":"T" is read without a JSON
 * parser, and the line is hashed with the prev it claims. A record's
 * hash needs nothing but its own line that way, and the in-order walk
 * after only compares: seq with the expected one, the claimed prev with
 * the hash of the record before. By induction every claimed prev is then
 * the true one.
 *
 * Lines covered by a signed checkpoint are proven by the signature and
 * are not parsed as JSON; lines after the last checkpoint (all of them in
 * an unsigned chain) are also loaded with jansson, to prove them JSON
 * objects. A line that does not start as the writer writes is judged from
 * jansson's values, one at a time. Every check stops at the first failure,
 * since every record after a break is unprovable anyway.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "daemon/chain.h"
#include "daemon/chain_digest.h"
#include "daemon/chain_internal.h"

#define FILES_MAX 4096

/* A checkpoint or an anchor, to be met on the walk. */
struct mark {
	struct chain_checkpoint cp;
	bool anchor;
	bool not_signed;	/* no signature of the key given: judged once the
				 * genesis says whether the key is the log's */
	char why[160];
};

/*
 * What the walk knows at the start of a record, besides the result so
 * far: all that chain_verify_from restores to resume there.
 */
struct walk_at {
	uint64_t expect;	      /* seq of the record being checked */
	uint8_t prev[CHAIN_HASH_LEN]; /* hash of record expect - 1 */
	uint8_t prev2[CHAIN_HASH_LEN]; /* hash of record expect - 2 */
	bool started;
	bool retention_ok;	/* a retention record covers what is missing before */
	bool file_first;	/* the next line is the first of a later file */
	size_t next_mark;	/* the first mark not yet met */
	size_t ncovered;	/* checkpoints matched */
	size_t file_index;	/* of the file being walked, among all */
	uint64_t file_records;	/* records verified before it */
	uint64_t file_bytes;	/* the size of the files before it */
};

struct walk {
	struct chain_hasher hasher;
	const struct verify_opts *o;
	struct verify_result *r;
	struct walk_at at;
	bool failed;
	struct mark *marks;
	size_t nmarks, capmarks;
	uint64_t json_from;
	bool dir;		/* a directory, not one file */
	const char *file;	/* name of the file being walked */
	bool ckpt_torn;
	uint64_t *covered;	/* sizes of the checkpoints matched, in order */
	const struct digest *cur;	/* the line being walked */
	struct digest peek;	/* the line after it, when a check asks */
	const char *buf;	/* the file being walked */
	size_t complete;	/* the end of its last complete line */
	struct verify_points *save;	/* with chain_verify_points: a point a record */
};

static void result_reset(struct verify_result *r)
{
	memset(r, 0, sizeof(*r));
	r->status = VERIFY_OK;
}

static void result_vset(struct verify_result *r, enum verify_status status, const char *fmt,
			va_list ap)
{
	r->status = status;
	vsnprintf(r->reason, sizeof(r->reason), fmt, ap);

	/* jansson quotes the offending token: forged bytes must not reach a terminal. */
	for (char *p = r->reason; *p; p++)
		if (*p < 0x20 || *p > 0x7e)
			*p = '?';
}

static void result_set(struct verify_result *r, enum verify_status status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void tampered(struct walk *v, enum verify_kind kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void result_set(struct verify_result *r, enum verify_status status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	result_vset(r, status, fmt, ap);
	va_end(ap);
}

/* The check of record v->at.expect failed. */
static void tampered(struct walk *v, enum verify_kind kind, const char *fmt, ...)
{
	va_list ap;

	v->r->bad_seq = v->at.expect;
	v->r->kind = kind;
	v->failed = true;
	va_start(ap, fmt);
	result_vset(v->r, VERIFY_TAMPERED, fmt, ap);
	va_end(ap);
}

const char *verify_kind_name(enum verify_kind k)
{
	static const char *const names[] = {
		[KIND_NONE] = "intact",
		[KIND_MODIFIED] = "modified",
		[KIND_DELETED] = "deleted",
		[KIND_INSERTED] = "inserted",
		[KIND_REORDERED] = "reordered",
		[KIND_TRUNCATED] = "truncated before an anchor",
		[KIND_FORGED] = "forged checkpoint",
		[KIND_BAD_LINK] = "bad link between segments",
		[KIND_TORN] = "torn tail",
		[KIND_MALFORMED] = "malformed",
		[KIND_WRONG_KEY] = "wrong public key",
		[KIND_MISSING_CHECKPOINT] = "missing checkpoint",
	};

	return (size_t)k < sizeof(names) / sizeof(names[0]) && names[k] ? names[k] : "unknown";
}

/* ---- digesting lines ----------------------------------------------------- */

/* Below this a thread costs more than it saves. */
#define SCAN_CHUNK_MIN (4u << 20)

static size_t threads_for(const struct verify_opts *o, size_t len)
{
	size_t n = len / SCAN_CHUNK_MIN;
	long cpus = o && o->threads > 0 ? o->threads : sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 2)
		return 1;
	if (cpus >= 1 && n > (size_t)cpus)
		n = (size_t)cpus;
	return n < DIGEST_THREADS_MAX ? n : DIGEST_THREADS_MAX;
}

/*
 * The line after the one being walked, digested on the spot: only a
 * failed check asks, to tell two faults apart, so the pass ahead need
 * not keep batches joined for it.
 */
static const struct digest *line_after(struct walk *v)
{
	size_t off = v->cur->off + v->cur->len + 1;
	const char *nl = off < v->complete ? memchr(v->buf + off, '\n', v->complete - off) : NULL;

	if (!nl)
		return NULL;
	chain_digest_line(&v->hasher, v->buf, off, (size_t)(nl - (v->buf + off)), UINT64_MAX,
			  &v->peek);
	return &v->peek;
}

/* ---- judging one record -------------------------------------------------- */

static json_t *record_load(struct walk *v, const char *line, size_t len)
{
	json_error_t e;
	json_t *rec = json_loadb(line, len, RECORD_LOAD_FLAGS, &e);

	if (!rec) {
		tampered(v, KIND_MALFORMED, "record %" PRIu64 ": not a JSON object (%s)",
			 v->at.expect, e.text);
		return NULL;
	}
	if (!json_is_object(rec)) {
		tampered(v, KIND_MALFORMED, "record %" PRIu64 ": not a JSON object", v->at.expect);
		json_decref(rec);
		return NULL;
	}
	return rec;
}

/* A seq other than the expected one: which kind of tampering it shows. */
static void seq_wrong(struct walk *v, uint64_t seq, bool negative)
{
	enum verify_kind kind = KIND_DELETED;
	const char *why = "deleted or reordered records";

	if (!negative && seq < v->at.expect) {
		kind = seq + 1 == v->at.expect ? KIND_INSERTED : KIND_REORDERED;
		why = seq + 1 == v->at.expect ? "a record inserted, or one repeated"
					   : "deleted or reordered records";
	} else if (!negative) {
		const struct digest *next = line_after(v);

		if (next && (next->flags & D_FAST) && next->seq == v->at.expect)
			kind = KIND_REORDERED;
	}
	if (v->at.file_first && v->at.started) {
		tampered(v, KIND_BAD_LINK, "record %" PRIu64 ": %s begins at seq %s%" PRIu64
			 " where %" PRIu64 " expected (a segment removed, replaced or moved)",
			 v->at.expect, v->file, negative ? "-" : "", seq, v->at.expect);
		return;
	}
	tampered(v, kind, "record %" PRIu64 ": seq %s%" PRIu64 " where %" PRIu64 " expected (%s)",
		 v->at.expect, negative ? "-" : "", seq, v->at.expect, why);
}

static bool link_blame_next(struct walk *v, const uint8_t hash_as_stands[CHAIN_HASH_LEN])
{
	const struct digest *next = line_after(v);

	return next && (next->flags & D_FAST) && next->seq == v->at.expect + 1 &&
	       !memcmp(next->claimed, hash_as_stands, CHAIN_HASH_LEN);
}

/*
 * Record expect says its predecessor hashed to something else. Either the
 * predecessor was modified or this record's link was. The record after
 * tells them apart: if it links to this record as it stands, this record
 * is intact and the predecessor is the first bad one. At the end of the
 * chain nothing tells, and this record is named.
 */
static void link_wrong(struct walk *v, const uint8_t claimed[CHAIN_HASH_LEN],
		       const uint8_t hash_as_stands[CHAIN_HASH_LEN], bool have_hash)
{
	if (v->at.file_first) {
		tampered(v, KIND_BAD_LINK, "record %" PRIu64 ": %s does not link to the segment "
			 "before it (a segment replaced)", v->at.expect, v->file);
		return;
	}
	if (v->at.expect >= 2 && !memcmp(claimed, v->at.prev2, CHAIN_HASH_LEN)) {
		tampered(v, KIND_INSERTED, "record %" PRIu64 ": inserted (record %" PRIu64
			 " links past it, to record %" PRIu64 ")", v->at.expect - 1, v->at.expect,
			 v->at.expect - 2);
		v->r->bad_seq = v->at.expect - 1;
		v->r->records = v->at.expect - 1 - v->r->first_seq;
		return;
	}
	if (have_hash && link_blame_next(v, hash_as_stands)) {
		tampered(v, KIND_MODIFIED, "record %" PRIu64 ": modified (record %" PRIu64
			 " does not link to it as it stands)", v->at.expect - 1, v->at.expect);
		/* Record expect - 1 was counted as it passed its own checks. */
		v->r->bad_seq = v->at.expect - 1;
		v->r->records = v->at.expect - 1 - v->r->first_seq;
		v->r->last_seq = v->at.expect >= 2 ? v->at.expect - 2 : 0;
		return;
	}
	tampered(v, KIND_MODIFIED, "record %" PRIu64 ": prev hash does not match record %" PRIu64
		 " (this record's link, or record %" PRIu64 ", was modified)",
		 v->at.expect, v->at.expect - 1, v->at.expect - 1);
}

/* The first record of what is verified: where the chain starts. */
static bool chain_start(struct walk *v, uint64_t seq, const uint8_t claimed[CHAIN_HASH_LEN],
			uint8_t type)
{
	static const uint8_t zero[CHAIN_HASH_LEN];

	if (seq > 0 && type == T_SEGMENT) {
		/* Older segments were removed (or only this file is verified):
		 * its link is taken as it stands, and retention must say so. */
		v->at.expect = seq;
		memcpy(v->at.prev, claimed, CHAIN_HASH_LEN);
		v->r->first_seq = seq;
		v->r->retained_from = seq;
		v->at.retention_ok = !v->dir;
	} else if (seq != 0) {
		v->at.file_first = false;
		seq_wrong(v, seq, false);
		return false;
	} else if (memcmp(claimed, zero, CHAIN_HASH_LEN)) {
		tampered(v, KIND_MODIFIED,
			 "record 0: prev hash is not all zeros (not the start of a chain)");
		return false;
	} else {
		v->at.retention_ok = true;
	}
	v->at.started = true;
	return true;
}

/* Genesis, segment and retention records carry what the walk needs. */
static bool special_record(struct walk *v, const char *line, size_t len, uint8_t type)
{
	json_t *rec = json_loadb(line, len, RECORD_LOAD_FLAGS, NULL);
	struct verify_result *r = v->r;
	const char *id;

	if (!json_is_object(rec)) {
		json_decref(rec);
		tampered(v, KIND_MALFORMED, "record %" PRIu64 ": not a JSON object", v->at.expect);
		return false;
	}
	if (type == T_RETENTION) {
		json_int_t first = json_integer_value(json_object_get(rec, "first_seq"));
		json_int_t last = json_integer_value(json_object_get(rec, "last_seq"));

		if (first <= (json_int_t)v->r->retained_from &&
		    last + 1 >= (json_int_t)v->r->retained_from)
			v->at.retention_ok = true;
		json_decref(rec);
		return true;
	}
	id = json_string_value(json_object_get(rec, "key_id"));
	if (type == T_GENESIS && v->at.expect != 0) {
		json_decref(rec);
		tampered(v, KIND_INSERTED, "record %" PRIu64 ": a genesis record after the first",
			 v->at.expect);
		return false;
	}
	if (!r->genesis) {
		r->genesis = true;
		snprintf(r->log_id, sizeof(r->log_id), "%s",
			 json_string_value(json_object_get(rec, "log_id")) ?: "");
		snprintf(r->origin, sizeof(r->origin), "%s",
			 json_string_value(json_object_get(rec, "origin")) ?: "");
		r->key_id = id ? (uint32_t)strtoul(id, NULL, 16) : 0;
		r->checkpoint_records =
			(uint64_t)json_integer_value(json_object_get(rec, "checkpoint_records"));
	}
	json_decref(rec);
	if (v->o && v->o->key && r->key_id != chain_key_id(v->o->key)) {
		tampered(v, KIND_WRONG_KEY, "record %" PRIu64 ": the log is signed by key id %08x, "
			 "not by the key given (%s, id %08x)", v->at.expect, r->key_id,
			 chain_key_name(v->o->key), chain_key_id(v->o->key));
		return false;
	}
	return true;
}

/* Checkpoints and anchors of record expect, just hashed. */
static bool marks_check(struct walk *v)
{
	while (v->at.next_mark < v->nmarks &&
	       v->marks[v->at.next_mark].cp.size - 1 <= v->at.expect) {
		const struct mark *m = &v->marks[v->at.next_mark++];
		const char *what = m->anchor ? "anchor" : "checkpoint";

		if (m->cp.size - 1 < v->at.expect)
			continue; /* of records before the first one kept */
		if (m->not_signed) {
			tampered(v, KIND_FORGED, "checkpoint at tree size %" PRIu64 ": %s (forged "
				 "checkpoint)", m->cp.size, m->why);
			return false;
		}
		if (v->r->genesis && strcmp(m->cp.origin, v->r->origin)) {
			if (m->anchor) {
				result_set(v->r, VERIFY_IO, "anchor at tree size %" PRIu64 " is of "
					   "log '%s', not of this log ('%s')", m->cp.size,
					   m->cp.origin, v->r->origin);
				v->failed = true;
				return false;
			}
			tampered(v, KIND_FORGED, "checkpoint at tree size %" PRIu64 " names log '%s', "
				 "not this log", m->cp.size, m->cp.origin);
			return false;
		}
		if (memcmp(m->cp.hash, v->at.prev, CHAIN_HASH_LEN)) {
			tampered(v, KIND_MODIFIED, "record %" PRIu64 ": hash does not match the %s "
				 "at tree size %" PRIu64 " (modified record, or the chain rewritten)",
				 v->at.expect, what, m->cp.size);
			return false;
		}
		if (m->anchor) {
			v->r->anchors++;
			continue;
		}
		v->r->checkpoints++;
		v->r->have_checkpoint = true;
		v->r->checkpoint_seq = v->at.expect;
		v->covered[v->at.ncovered++] = m->cp.size;
	}
	return true;
}

/* A line that does not start as the writer writes: judged by jansson. */
static bool slow_fields(struct walk *v, const char *line, size_t len, struct digest *d)
{
	json_t *rec = record_load(v, line, len), *seq, *prev;
	json_int_t n;
	bool ok = false;

	if (!rec)
		return false;
	seq = json_object_get(rec, "seq");
	prev = json_object_get(rec, "prev");
	if (!json_is_integer(seq)) {
		tampered(v, KIND_MALFORMED, "record %" PRIu64 ": \"seq\" missing or not an integer",
			 v->at.expect);
	} else if (n = json_integer_value(seq), n < 0) {
		seq_wrong(v, (uint64_t)-n, true);
	} else if (!json_is_string(prev)) {
		d->seq = (uint64_t)n;
		if (d->seq != v->at.expect && v->at.started)
			seq_wrong(v, d->seq, false);
		else
			tampered(v, KIND_MALFORMED, "record %" PRIu64 ": \"prev\" missing or not a "
				 "string", v->at.expect);
	} else {
		d->seq = (uint64_t)n;
		/* Uppercase hex still names a hash, to blame the right record;
		 * but only the writer's lowercase can link. */
		if (json_string_length(prev) != CHAIN_HASH_HEX_LEN ||
		    OPENSSL_hexstr2buf_ex(d->claimed, CHAIN_HASH_LEN, NULL, json_string_value(prev),
					  '\0') != 1)
			memset(d->claimed, 0xff, CHAIN_HASH_LEN);
		else if (!chain_unhex(json_string_value(prev), d->hash))
			d->flags |= D_PREV_ODD;
		d->type = chain_record_type(json_string_value(json_object_get(rec, "type")) ?: "",
				  strlen(json_string_value(json_object_get(rec, "type")) ?: ""));
		ok = true;
	}
	json_decref(rec);
	return ok;
}

static bool record_walk(struct walk *v, struct digest *d)
{
	const char *line = v->buf + d->off;
	bool fast = d->flags & D_FAST;

	if (d->flags & D_NOT_OBJECT) {
		json_decref(record_load(v, line, d->len));
		return false;
	}
	if (!fast && !slow_fields(v, line, d->len, d))
		return false;
	if (!v->at.started) {
		if (!chain_start(v, d->seq, d->claimed, d->type))
			return false;
	} else if (d->seq != v->at.expect) {
		seq_wrong(v, d->seq, false);
		return false;
	}
	if (!fast && !chain_hasher_hash(&v->hasher, line, d->len, d->claimed, d->hash)) {
		result_set(v->r, VERIFY_IO, "OpenSSL cannot compute SHA-256");
		v->failed = true;
		return false;
	}
	if ((d->flags & D_PREV_ODD) || memcmp(d->claimed, v->at.prev, CHAIN_HASH_LEN)) {
		link_wrong(v, d->claimed, d->hash, true);
		return false;
	}
	if (v->at.file_first && d->type != T_SEGMENT && v->r->genesis) {
		tampered(v, KIND_BAD_LINK, "record %" PRIu64 ": %s does not begin with a segment "
			 "record", v->at.expect, v->file);
		return false;
	}
	if (d->type != T_OTHER && !special_record(v, line, d->len, d->type))
		return false;
	v->at.file_first = false;
	memcpy(v->at.prev2, v->at.prev, CHAIN_HASH_LEN);
	memcpy(v->at.prev, d->hash, CHAIN_HASH_LEN);
	if (!marks_check(v))
		return false;
	v->r->records++;
	v->r->last_seq = v->at.expect;
	memcpy(v->r->last_hash, v->at.prev, CHAIN_HASH_LEN);
	v->at.expect++;
	return true;
}

/* ---- walking files --------------------------------------------------------- */

/* A walk's state at the start of one record, for chain_verify_from. */
struct point {
	size_t off;		/* where the record begins in file at.file_index */
	struct walk_at at;
	struct verify_result r;
};

struct verify_points {
	struct verify_opts o;	/* key and anchors borrowed */
	char **names;		/* the files walked */
	size_t nnames;
	struct mark *marks;
	size_t nmarks;
	uint64_t *covered;
	size_t ncovered;
	uint64_t json_from;
	bool ckpt_torn;
	struct point *p;
	size_t n, cap;
	bool oom;
};

static void point_save(struct walk *v, size_t off)
{
	struct verify_points *s = v->save;
	struct point *p;

	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 1024;
		struct point *np = realloc(s->p, cap * sizeof(*np));

		if (!np) {
			s->oom = true;
			return;
		}
		s->p = np;
		s->cap = cap;
	}
	p = &s->p[s->n++];
	p->off = off;
	p->at = v->at;
	p->r = *v->r;
}

/* Walk the complete lines of v->buf from offset from on. */
static void walk_lines(struct walk *v, size_t from)
{
	struct digester *g;
	struct digest *d;
	size_t n;
	bool oom = digester_start(&g, v->buf, from, v->complete, v->json_from,
				  threads_for(v->o, v->complete - from)) < 0;

	while (!oom && !v->failed && digester_next(g, &d, &n, &oom)) {
		for (size_t i = 0; i < n && !v->failed; i++) {
			v->cur = &d[i];
			if (v->save)
				point_save(v, d[i].off);
			if (!record_walk(v, &d[i]))
				break;
		}
	}
	digester_stop(g);
	if (oom && !v->failed) {
		result_set(v->r, VERIFY_IO, "out of memory");
		v->failed = true;
	}
}

/* Walk a file from the record at offset from (0: the whole file). */
static void walk_buf(struct walk *v, const char *buf, size_t len, bool last_file, size_t from)
{
	const char *nl = len ? memrchr(buf, '\n', len) : NULL;
	size_t complete = nl ? (size_t)(nl - buf) + 1 : 0;

	v->buf = buf;
	v->complete = complete;
	if (from < complete)
		walk_lines(v, from);
	if (v->failed)
		return;
	if (complete < len) {
		if (!last_file) {
			tampered(v, KIND_BAD_LINK, "%s ends in a partial record after seq %" PRIu64
				 " (a closed segment is always whole)", v->file, v->r->last_seq);
			return;
		}
		v->r->torn_bytes = len - complete;
	}
	if (last_file) {
		v->r->active_bytes = complete;
	}
}

/* What can only be judged once every file has been read. */
static void walk_end(struct walk *v)
{
	struct verify_result *r = v->r;
	uint64_t limit = 2 * r->checkpoint_records, from = r->first_seq;

	if (r->records == 0 && r->torn_bytes == 0) {
		tampered(v, KIND_TRUNCATED, "no records (empty file)");
		return;
	}
	for (size_t i = v->at.next_mark; i < v->nmarks; i++) {
		if (v->marks[i].cp.size - 1 >= v->at.expect) {
			tampered(v, KIND_TRUNCATED, "chain ends at seq %" PRIu64 ", before %s record "
				 "%" PRIu64 " (records cut off the end)", r->last_seq,
				 v->marks[i].anchor ? "anchored" : "checkpointed",
				 v->marks[i].cp.size - 1);
			return;
		}
	}
	if (v->at.started && !v->at.retention_ok) {
		v->at.expect = 0;
		tampered(v, KIND_DELETED, "records 0..%" PRIu64 " are missing and no retention "
			 "record accounts for them", r->first_seq - 1);
		return;
	}
	if (v->at.started && v->o && v->o->key && !r->genesis) {
		v->at.expect = r->first_seq;
		tampered(v, KIND_MISSING_CHECKPOINT, "record %" PRIu64 ": no genesis record: not a "
			 "signed log, or one rewritten without its key", r->first_seq);
		return;
	}
	/* The writer checkpoints at least every checkpoint_records records;
	 * twice that allows for a checkpoint that a power cut kept off disk. */
	for (size_t i = 0; r->genesis && limit && i <= v->at.ncovered; i++) {
		uint64_t to = i < v->at.ncovered ? v->covered[i] : r->last_seq + 1;

		if (to - from > limit) {
			v->at.expect = from + limit;
			tampered(v, KIND_MISSING_CHECKPOINT, "records %" PRIu64 "..%" PRIu64 " carry no "
				 "checkpoint, though the log promises one every %" PRIu64 " records "
				 "(checkpoints removed, or the chain rewritten without its key)",
				 from, to - 1, r->checkpoint_records);
			return;
		}
		from = to;
	}
	r->signatures_checked = v->o && v->o->key && r->genesis;
	if (r->torn_bytes) {
		r->status = VERIFY_TORN;
		r->kind = KIND_TORN;
		r->bad_seq = v->at.expect;
		if (r->records == 0)
			snprintf(r->reason, sizeof(r->reason),
				 "file ends in a partial record before any complete one");
		else
			snprintf(r->reason, sizeof(r->reason),
				 "file ends in a partial record after seq %" PRIu64
				 " (%" PRIu64 " bytes: a write a crash interrupted)",
				 r->last_seq, r->torn_bytes);
		return;
	}
	if (v->ckpt_torn) {
		r->status = VERIFY_TORN;
		r->kind = KIND_TORN;
		r->bad_seq = v->at.expect;
		snprintf(r->reason, sizeof(r->reason), "%s ends in a partial line",
			 CHAIN_CHECKPOINTS);
	}
}

static int walk_init(struct walk *v, const struct verify_opts *o, struct verify_result *r)
{
	memset(v, 0, sizeof(*v));
	v->o = o;
	v->r = r;
	if (chain_hasher_init(&v->hasher) < 0) {
		result_set(r, VERIFY_IO, "OpenSSL cannot provide SHA-256");
		return -1;
	}
	return 0;
}

static void walk_fini(struct walk *v)
{
	chain_hasher_fini(&v->hasher);
	free(v->marks);
	free(v->covered);
}

static int mark_cmp(const void *a, const void *b)
{
	const struct mark *x = a, *y = b;

	return x->cp.size < y->cp.size ? -1 : x->cp.size > y->cp.size;
}

static bool marks_add(struct walk *v, const struct chain_checkpoint *cp, bool anchor)
{
	if (cp->size == 0)
		return true; /* covers nothing */
	if (v->nmarks == v->capmarks) {
		size_t cap = v->capmarks ? 2 * v->capmarks : 16;
		struct mark *m = realloc(v->marks, cap * sizeof(*m));
		uint64_t *c = realloc(v->covered, cap * sizeof(*c));

		if (m)
			v->marks = m;
		if (c)
			v->covered = c;
		if (!m || !c)
			return false;
		v->capmarks = cap;
	}
	memset(&v->marks[v->nmarks], 0, sizeof(v->marks[0]));
	v->marks[v->nmarks].cp = *cp;
	v->marks[v->nmarks++].anchor = anchor;
	return true;
}

/* checkpoints.jsonl: one {"note": ...} a line, each note checked with the key. */
static bool checkpoints_load(struct walk *v, const char *buf, size_t len)
{
	const char *line, *nl;
	size_t pos = 0, lineno = 0;
	struct chain_checkpoint cp;
	char why[160];

	while (pos < len && !v->failed) {
		json_t *obj;
		const char *note;
		int verdict;

		line = buf + pos;
		nl = memchr(line, '\n', len - pos);
		lineno++;
		if (!nl) {
			v->ckpt_torn = true;
			break;
		}
		obj = json_loadb(line, (size_t)(nl - line), RECORD_LOAD_FLAGS, NULL);
		note = json_string_value(json_object_get(obj, "note"));
		verdict = note ? chain_note_parse(note, strlen(note), v->o ? v->o->key : NULL, &cp,
						  NULL, why, sizeof(why))
			       : NOTE_MALFORMED;
		if (!note)
			snprintf(why, sizeof(why), "not a line {\"note\": ...}");
		json_decref(obj);
		if (verdict == NOTE_OK || verdict == NOTE_UNCHECKED || verdict == NOTE_NOT_SIGNED) {
			if (!marks_add(v, &cp, false)) {
				result_set(v->r, VERIFY_IO, "out of memory");
				v->failed = true;
			} else if (verdict == NOTE_NOT_SIGNED) {
				v->marks[v->nmarks - 1].not_signed = true;
				snprintf(v->marks[v->nmarks - 1].why, sizeof(v->marks[0].why), "%s",
					 why);
			}
		} else if (verdict == NOTE_MALFORMED) {
			v->at.expect = 0;
			tampered(v, KIND_MALFORMED, "%s:%zu: %s", CHAIN_CHECKPOINTS, lineno, why);
		} else {
			v->at.expect = cp.size ? cp.size - 1 : 0;
			tampered(v, KIND_FORGED,
				 "%s:%zu: checkpoint at tree size %" PRIu64 ": %s%s",
				 CHAIN_CHECKPOINTS, lineno, cp.size, why,
				 verdict == NOTE_BAD_SIGNATURE ? " (forged checkpoint)" : "");
		}
		pos = (size_t)(nl - buf) + 1;
	}
	return !v->failed;
}

static bool anchors_load(struct walk *v)
{
	for (size_t i = 0; v->o && i < v->o->nanchors; i++)
		if (!marks_add(v, &v->o->anchors[i], true)) {
			result_set(v->r, VERIFY_IO, "out of memory");
			v->failed = true;
			return false;
		}
	return true;
}

static void marks_sort(struct walk *v)
{
	if (v->nmarks)
		qsort(v->marks, v->nmarks, sizeof(*v->marks), mark_cmp);
	v->json_from = 0;
	if (v->o && v->o->key)
		for (size_t i = 0; i < v->nmarks; i++)
			if (!v->marks[i].anchor)
				v->json_from = v->marks[i].cp.size;
}

/* ---- files ----------------------------------------------------------------- */

struct mapped {
	const char *buf;
	size_t len;
};

static int map_fd(int fd, const char *name, struct mapped *m, struct verify_result *r)
{
	struct stat st;
	void *p;

	m->buf = "";
	m->len = 0;
	if (fstat(fd, &st) < 0) {
		result_set(r, VERIFY_IO, "%s: %s", name, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		result_set(r, VERIFY_IO, "%s: not a regular file", name);
		return -1;
	}
	if (st.st_size == 0)
		return 0;
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED) {
		result_set(r, VERIFY_IO, "%s: cannot map: %s", name, strerror(errno));
		return -1;
	}
	madvise(p, (size_t)st.st_size, MADV_SEQUENTIAL | MADV_WILLNEED);
	m->buf = p;
	m->len = (size_t)st.st_size;
	return 0;
}

static void unmap(struct mapped *m)
{
	if (m->len)
		munmap((void *)m->buf, m->len);
}

static int map_at(int dfd, const char *dir, const char *name, struct mapped *m,
		  struct verify_result *r, bool optional)
{
	int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	int rc;

	if (fd < 0) {
		if (optional && errno == ENOENT) {
			m->buf = "";
			m->len = 0;
			return 1;
		}
		result_set(r, VERIFY_IO, "%s/%s: %s", dir, name, strerror(errno));
		return -1;
	}
	rc = map_fd(fd, name, m, r);
	close(fd);
	return rc;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The closed segments in name order (which is seq order), then chain.jsonl. */
static int segments_find(int dfd, const char *dir, char ***names, size_t *n,
			 struct verify_result *r)
{
	int fd = dup(dfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;
	char **list = calloc(FILES_MAX + 1, sizeof(*list));

	*n = 0;
	if (!d || !list) {
		if (fd >= 0 && !d)
			close(fd);
		if (d)
			closedir(d);
		free(list);
		result_set(r, VERIFY_IO, "%s: %s", dir, strerror(errno ? errno : ENOMEM));
		return -1;
	}
	while ((e = readdir(d)) && *n < FILES_MAX) {
		uint64_t v;
		char tail;

		if (strlen(e->d_name) == 32 &&
		    sscanf(e->d_name, "chain-%20" SCNu64 ".jsonl%c", &v, &tail) == 1)
			list[(*n)++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(list, *n, sizeof(*list), name_cmp);
	if (faccessat(dfd, CHAIN_FILE, F_OK, AT_SYMLINK_NOFOLLOW) == 0 || *n == 0)
		list[(*n)++] = strdup(CHAIN_FILE);
	*names = list;
	return 0;
}

static void names_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/*
 * Walk files first..n - 1. With resume, the walk's state is that at the
 * start of the record at *resume in file first, which is accounted for.
 */
static void walk_files(struct walk *v, int dfd, const char *dir, char **names, size_t n,
		       size_t first, const size_t *resume)
{
	for (size_t i = first; i < n && !v->failed; i++) {
		bool resumed = resume && i == first;
		struct mapped m;

		v->file = names[i];
		v->at.file_index = i;
		if (map_at(dfd, dir, names[i], &m, v->r, false) < 0) {
			v->failed = true;
			return;
		}
		if (!resumed) {
			v->at.file_bytes = v->r->bytes;
			v->at.file_records = v->r->records;
			v->at.file_first = v->at.started;
			v->r->segments++;
		}
		v->r->bytes = v->at.file_bytes + m.len;
		if (m.len == 0 && i + 1 < n) {
			tampered(v, KIND_BAD_LINK, "%s: an empty segment", names[i]);
		} else {
			walk_buf(v, m.buf, m.len, i + 1 == n, resumed ? *resume : 0);
			if (v->r->records > v->at.file_records)
				v->r->active_first_seq =
					v->r->last_seq - (v->r->records - v->at.file_records) + 1;
		}
		unmap(&m);
	}
}

static int verify_run(struct walk *v, int dfd, const char *dir, char **names, size_t n)
{
	struct mapped ck;
	int rc = map_at(dfd, dir, CHAIN_CHECKPOINTS, &ck, v->r, true);

	if (rc < 0)
		return -1;
	if (checkpoints_load(v, ck.buf, ck.len) && anchors_load(v)) {
		marks_sort(v);
		walk_files(v, dfd, dir, names, n, 0, NULL);
	}
	unmap(&ck);
	if (!v->failed)
		walk_end(v);
	return 0;
}

/* The files of the log at path, in the order they are walked. */
struct log_files {
	bool is_dir;
	char *dir;
	const char *label;	/* the directory as messages name it */
	int dfd;
	char **names;
	size_t n;
};

static int log_files_open(const char *path, struct log_files *lf, struct verify_result *r)
{
	struct stat st;
	char *base;

	memset(lf, 0, sizeof(*lf));
	lf->dfd = -1;
	if (stat(path, &st) < 0) {
		result_set(r, VERIFY_IO, "%s: %s", path, strerror(errno));
		return -1;
	}
	lf->is_dir = S_ISDIR(st.st_mode);
	lf->dir = strdup(path);
	lf->names = lf->is_dir ? NULL : calloc(1, sizeof(*lf->names));
	if (!lf->dir || (!lf->is_dir && !lf->names)) {
		result_set(r, VERIFY_IO, "%s: out of memory", path);
		return -1;
	}
	base = lf->is_dir ? NULL : strrchr(lf->dir, '/');
	if (!lf->is_dir) {
		lf->names[lf->n++] = strdup(base ? base + 1 : lf->dir);
		if (base)
			*base = 0;
		else
			strcpy(lf->dir, ".");
	}
	lf->label = lf->is_dir ? path : lf->dir;
	lf->dfd = open(base && !*lf->dir ? "/" : lf->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (lf->dfd < 0) {
		result_set(r, VERIFY_IO, "%s: %s", lf->dir, strerror(errno));
		return -1;
	}
	if (lf->is_dir && segments_find(lf->dfd, lf->dir, &lf->names, &lf->n, r) < 0)
		return -1;
	return 0;
}

static void log_files_close(struct log_files *lf)
{
	if (lf->dfd >= 0)
		close(lf->dfd);
	names_free(lf->names, lf->n);
	free(lf->dir);
}

/* What a resumed walk needs beside a point: the marks and the files. */
static void points_keep(struct verify_points *p, const struct walk *v,
			const struct log_files *lf)
{
	p->nnames = lf->n;
	p->names = calloc(lf->n ? lf->n : 1, sizeof(*p->names));
	p->marks = malloc((v->nmarks ? v->nmarks : 1) * sizeof(*p->marks));
	p->covered = malloc((v->at.ncovered ? v->at.ncovered : 1) * sizeof(*p->covered));
	if (!p->names || !p->marks || !p->covered) {
		p->oom = true;
		return;
	}
	for (size_t i = 0; i < lf->n; i++)
		if (!(p->names[i] = strdup(lf->names[i])))
			p->oom = true;
	memcpy(p->marks, v->marks, v->nmarks * sizeof(*p->marks));
	p->nmarks = v->nmarks;
	memcpy(p->covered, v->covered, v->at.ncovered * sizeof(*p->covered));
	p->ncovered = v->at.ncovered;
	p->json_from = v->json_from;
	p->ckpt_torn = v->ckpt_torn;
}

static bool same_files(const struct verify_points *p, const struct log_files *lf)
{
	if (p->nnames != lf->n)
		return false;
	for (size_t i = 0; i < lf->n; i++)
		if (strcmp(p->names[i], lf->names[i]))
			return false;
	return true;
}

/*
 * The walk from a point on. Everything the walk knows at the start of a
 * record comes from the checkpoints file, the anchors, the key and the
 * bytes before that record, and nothing else: a log that differs from
 * the one the point was taken of only from that record on therefore
 * walks exactly as it would from the start, and the rest of the walk
 * (every later record, checkpoint and anchor, and the checks at the end)
 * runs unchanged.
 */
static void resume_run(struct walk *v, const struct log_files *lf,
		       const struct verify_points *p, const struct point *pt)
{
	size_t marks = p->nmarks ? p->nmarks : 1;

	v->marks = malloc(marks * sizeof(*v->marks));
	v->covered = malloc(marks * sizeof(*v->covered));
	if (!v->marks || !v->covered) {
		result_set(v->r, VERIFY_IO, "out of memory");
		return;
	}
	memcpy(v->marks, p->marks, p->nmarks * sizeof(*v->marks));
	memcpy(v->covered, p->covered, pt->at.ncovered * sizeof(*v->covered));
	v->nmarks = v->capmarks = p->nmarks;
	v->json_from = p->json_from;
	v->ckpt_torn = p->ckpt_torn;
	v->at = pt->at;
	*v->r = pt->r;
	walk_files(v, lf->dfd, lf->label, lf->names, lf->n, pt->at.file_index, &pt->off);
	if (!v->failed)
		walk_end(v);
}

static int verify_walk(const char *path, const struct verify_opts *o, struct verify_result *r,
		       struct verify_points *save, const struct verify_points *from,
		       const struct point *pt)
{
	struct log_files lf = { .dfd = -1 };
	struct walk v;

	result_reset(r);
	if (walk_init(&v, o, r) == 0 && log_files_open(path, &lf, r) == 0) {
		v.dir = lf.is_dir;
		v.save = save;
		if (pt && same_files(from, &lf)) {
			resume_run(&v, &lf, from, pt);
		} else {
			verify_run(&v, lf.dfd, lf.label, lf.names, lf.n);
			if (save)
				points_keep(save, &v, &lf);
		}
	}
	log_files_close(&lf);
	walk_fini(&v);
	return r->status;
}

int chain_verify(const char *path, const struct verify_opts *o, struct verify_result *r)
{
	return verify_walk(path, o, r, NULL, NULL, NULL);
}

int chain_verify_path(const char *path, struct verify_result *r)
{
	return chain_verify(path, NULL, r);
}

void chain_verify_points_free(struct verify_points *p)
{
	if (!p)
		return;
	names_free(p->names, p->nnames);
	free(p->marks);
	free(p->covered);
	free(p->p);
	free(p);
}

int chain_verify_points(const char *path, const struct verify_opts *o,
			struct verify_points **out, struct verify_result *r)
{
	struct verify_points *p = calloc(1, sizeof(*p));

	*out = NULL;
	if (!p) {
		result_reset(r);
		result_set(r, VERIFY_IO, "out of memory");
		return r->status;
	}
	if (o)
		p->o = *o;
	verify_walk(path, o, r, p, NULL, NULL);
	if (p->oom) {
		chain_verify_points_free(p);
		result_set(r, VERIFY_IO, "out of memory");
		return r->status;
	}
	*out = p;
	return r->status;
}

/* The last point at or before byte off of file i. */
static const struct point *point_find(const struct verify_points *p, size_t i, uint64_t off)
{
	size_t lo = 0, hi = p->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct point *m = &p->p[mid];

		if (m->at.file_index < i || (m->at.file_index == i && m->off <= off))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo && p->p[lo - 1].at.file_index == i ? &p->p[lo - 1] : NULL;
}

int chain_verify_from(const char *path, const struct verify_points *p, const char *file,
		      uint64_t off, struct verify_result *r)
{
	const struct point *pt = NULL;

	for (size_t i = 0; i < p->nnames && !pt; i++)
		if (!strcmp(p->names[i], file))
			pt = point_find(p, i, off);
	return verify_walk(path, &p->o, r, NULL, p, pt);
}

/* One buffer of chain text, no checkpoints file. */
static int verify_text(const char *buf, size_t len, const struct verify_opts *o,
		       const char *name, struct verify_result *r)
{
	struct walk v;

	result_reset(r);
	r->bytes = len;
	if (walk_init(&v, o, r) == 0 && anchors_load(&v)) {
		marks_sort(&v);
		v.file = name;
		r->segments = 1;
		walk_buf(&v, buf, len, true, 0);
		if (!v.failed)
			walk_end(&v);
	}
	walk_fini(&v);
	return r->status;
}

int chain_verify_buf(const char *buf, size_t len, const struct chain_anchor *anchor,
		     struct verify_result *r)
{
	struct chain_checkpoint cp = { .size = 0 };
	struct verify_opts o = { 0 };

	if (anchor) {
		cp.size = anchor->seq + 1;
		memcpy(cp.hash, anchor->hash, CHAIN_HASH_LEN);
		o.anchors = &cp;
		o.nanchors = 1;
	}
	return verify_text(buf, len, &o, "chain", r);
}

int chain_verify_fd(int fd, const char *name, struct verify_result *r)
{
	struct mapped m;

	result_reset(r);
	if (map_fd(fd, name, &m, r) < 0)
		return r->status;
	verify_text(m.buf, m.len, NULL, name, r);
	unmap(&m);
	return r->status;
}

int chain_each_record(const char *path, int (*fn)(void *ctx, const char *line, size_t len),
		      void *ctx, struct verify_result *r)
{
	struct stat st;
	char **names = NULL, *dir = strdup(path), *base = NULL;
	size_t n = 0;
	int dfd = -1, rc = 0;

	result_reset(r);
	if (!dir || stat(path, &st) < 0) {
		result_set(r, VERIFY_IO, "%s: %s", path, dir ? strerror(errno) : "out of memory");
		free(dir);
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		base = strrchr(dir, '/');
		names = calloc(1, sizeof(*names));
		if (names)
			names[n++] = strdup(base ? base + 1 : dir);
		if (base)
			*base = 0;
	}
	dfd = open(base ? (*dir ? dir : "/") : S_ISDIR(st.st_mode) ? dir : ".",
		   O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || (S_ISDIR(st.st_mode) && segments_find(dfd, dir, &names, &n, r) < 0))
		rc = -1;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		struct mapped m;
		size_t pos = 0;

		if (map_at(dfd, dir, names[i], &m, r, false) < 0) {
			rc = -1;
			break;
		}
		while (rc == 0 && pos < m.len) {
			const char *nl = memchr(m.buf + pos, '\n', m.len - pos);

			if (!nl)
				break;
			rc = fn(ctx, m.buf + pos, (size_t)(nl - (m.buf + pos)));
			pos = (size_t)(nl - m.buf) + 1;
		}
		unmap(&m);
	}
	if (dfd >= 0)
		close(dfd);
	names_free(names, n);
	free(dir);
	return rc;
}
