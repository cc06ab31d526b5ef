// SPDX-License-Identifier: GPL-2.0-only
/*
 * The chain verifier. The file is mapped and checked in two passes over
 * its complete lines. The first loads every line with jansson to prove it
 * is a JSON object; lines are independent, so large files are split across
 * threads (jansson decodes an order of magnitude slower than SHA-256). The
 * second walks the chain in order: seq, prev, hash. Both stop at the first
 * failure, since every record after a break is unprovable anyway, and the
 * verdict is the one a single in-order pass would give.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/chain.h"
#include "daemon/chain_internal.h"

/*
 * The writer never emits duplicate keys, so one is a forgery. It may emit
 * \u0000 (jansson encodes an embedded NUL so), so that must load.
 */
#define RECORD_LOAD_FLAGS (JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL)

/* Below this a thread costs more than it saves. */
#define SCAN_CHUNK_MIN (4u << 20)
#define SCAN_THREADS_MAX 16

/* A share of the first pass: the lines that begin in [start, end). */
struct json_scan {
	const char *buf;
	size_t start, end;
	size_t *first_bad; /* shared: offset of the earliest bad line found */
	pthread_t thread;
	bool started;
};

struct verifier {
	struct chain_hasher hasher;
	const struct chain_anchor *anchor;
	struct verify_result *r;
	uint64_t expect;	      /* seq of the record being checked */
	uint8_t prev[CHAIN_HASH_LEN]; /* hash of record expect - 1 */
	const char *next;	/* the line after record expect, or NULL */
	size_t next_len;
	char prev_hex[CHAIN_HASH_HEX_LEN + 1];
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
static void tampered(struct verifier *v, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void result_set(struct verify_result *r, enum verify_status status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	result_vset(r, status, fmt, ap);
	va_end(ap);
}

/* The check of record v->expect failed. */
static void tampered(struct verifier *v, const char *fmt, ...)
{
	va_list ap;

	v->r->bad_seq = v->expect;
	va_start(ap, fmt);
	result_vset(v->r, VERIFY_TAMPERED, fmt, ap);
	va_end(ap);
}

static json_t *record_load(struct verifier *v, const char *line, size_t len)
{
	json_error_t e;
	json_t *rec = json_loadb(line, len, RECORD_LOAD_FLAGS, &e);

	if (!rec) {
		tampered(v, "record %" PRIu64 ": not a JSON object (%s)", v->expect, e.text);
		return NULL;
	}
	if (!json_is_object(rec)) {
		tampered(v, "record %" PRIu64 ": not a JSON object", v->expect);
		json_decref(rec);
		return NULL;
	}
	return rec;
}

static bool record_check_seq(struct verifier *v, const json_t *rec)
{
	const json_t *seq = json_object_get(rec, "seq");
	json_int_t n;

	if (!json_is_integer(seq)) {
		tampered(v, "record %" PRIu64 ": \"seq\" missing or not an integer", v->expect);
		return false;
	}
	n = json_integer_value(seq);
	if (n < 0 || (uint64_t)n != v->expect) {
		tampered(v,
			 "record %" PRIu64 ": seq %" JSON_INTEGER_FORMAT " where %" PRIu64
			 " expected (deleted or reordered records)",
			 v->expect, n, v->expect);
		return false;
	}
	return true;
}

static void blame_link(struct verifier *v, const char *line, size_t len, const char *hex,
		       size_t hexlen);

/* Byte comparison: the writer emits lowercase hex, and nothing else is it. */
static bool record_check_prev(struct verifier *v, const json_t *rec, const char *line,
			      size_t len)
{
	const json_t *prev = json_object_get(rec, "prev");

	if (!json_is_string(prev)) {
		tampered(v, "record %" PRIu64 ": \"prev\" missing or not a string", v->expect);
		return false;
	}
	if (json_string_length(prev) == CHAIN_HASH_HEX_LEN &&
	    memcmp(json_string_value(prev), v->prev_hex, CHAIN_HASH_HEX_LEN) == 0)
		return true;
	if (v->expect == 0) {
		tampered(v, "record 0: prev hash is not all zeros (not the start of a chain)");
		return false;
	}
	blame_link(v, line, len, json_string_value(prev), json_string_length(prev));
	return false;
}

/*
 * Record expect says its predecessor hashed to something else. Either the
 * predecessor was modified or this record's link was. The record after
 * tells them apart: if it links to this record as it stands, this record
 * is intact and the predecessor is the first bad one. At the end of the
 * chain nothing tells, and this record is named.
 */
static void blame_link(struct verifier *v, const char *line, size_t len, const char *hex,
		       size_t hexlen)
{
	uint8_t stored[CHAIN_HASH_LEN], hash[CHAIN_HASH_LEN];
	char prefix[128], hash_hex[CHAIN_HASH_HEX_LEN + 1];
	int n;

	if (v->next && hexlen == CHAIN_HASH_HEX_LEN &&
	    OPENSSL_hexstr2buf_ex(stored, sizeof(stored), NULL, hex, '\0') == 1 &&
	    chain_hasher_hash(&v->hasher, line, len, stored, hash)) {
		chain_hash_hex(hash, hash_hex);
		n = snprintf(prefix, sizeof(prefix), "{\"seq\":%" PRIu64 ",\"prev\":\"%s\"",
			     v->expect + 1, hash_hex);
		if ((size_t)n < v->next_len && !memcmp(v->next, prefix, (size_t)n)) {
			tampered(v, "record %" PRIu64 ": modified (record %" PRIu64
				 " does not link to it as it stands)", v->expect - 1, v->expect);
			/* Record expect - 1 was counted as it passed its own
			 * checks; it no longer counts. */
			v->r->bad_seq = v->expect - 1;
			v->r->records = v->expect - 1;
			v->r->last_seq = v->expect >= 2 ? v->expect - 2 : 0;
			return;
		}
	}
	tampered(v, "record %" PRIu64 ": prev hash does not match record %" PRIu64
		 " (this record's link, or record %" PRIu64 ", was modified)",
		 v->expect, v->expect - 1, v->expect - 1);
}

static bool record_hash(struct verifier *v, const char *line, size_t len)
{
	uint8_t hash[CHAIN_HASH_LEN];

	if (!chain_hasher_hash(&v->hasher, line, len, v->prev, hash)) {
		result_set(v->r, VERIFY_IO, "OpenSSL cannot compute SHA-256");
		return false;
	}
	if (v->anchor && v->anchor->seq == v->expect &&
	    memcmp(hash, v->anchor->hash, CHAIN_HASH_LEN) != 0) {
		tampered(v, "record %" PRIu64 ": hash does not match the anchor (modified record)",
			 v->expect);
		return false;
	}
	memcpy(v->prev, hash, CHAIN_HASH_LEN);
	chain_hash_hex(v->prev, v->prev_hex);
	return true;
}

/*
 * The writer's lines start {"seq":N,"prev":"H". In a line already proven to
 * be a JSON object without duplicate keys, that prefix fixes seq and prev
 * exactly, so a line that starts with the expected one needs no second
 * decode. Any other line is judged from jansson's values.
 */
static bool record_prefix_matches(const struct verifier *v, const char *line, size_t len)
{
	char prefix[128];
	int n = snprintf(prefix, sizeof(prefix), "{\"seq\":%" PRIu64 ",\"prev\":\"%s\"", v->expect,
			 v->prev_hex);

	return (size_t)n < len && memcmp(line, prefix, (size_t)n) == 0;
}

static bool record_check_fields(struct verifier *v, const char *line, size_t len)
{
	json_t *rec;
	bool ok;

	if (record_prefix_matches(v, line, len))
		return true;
	rec = record_load(v, line, len);
	ok = rec && record_check_seq(v, rec) && record_check_prev(v, rec, line, len);
	json_decref(rec);
	return ok;
}

static bool record_verify(struct verifier *v, const char *line, size_t len)
{
	if (!record_check_fields(v, line, len) || !record_hash(v, line, len))
		return false;

	v->r->records++;
	v->r->last_seq = v->expect;
	memcpy(v->r->last_hash, v->prev, CHAIN_HASH_LEN);
	v->expect++;
	return true;
}

static bool line_is_object(const char *line, size_t len)
{
	json_t *rec = json_loadb(line, len, RECORD_LOAD_FLAGS, NULL);
	bool ok = json_is_object(rec);

	json_decref(rec);
	return ok;
}

static void first_bad_lower(size_t *first_bad, size_t off)
{
	size_t cur = __atomic_load_n(first_bad, __ATOMIC_RELAXED);

	while (off < cur && !__atomic_compare_exchange_n(first_bad, &cur, off, false,
							 __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

/* Every line in the share ends inside it; the caller cut it so. */
static void *json_scan_run(void *arg)
{
	struct json_scan *s = arg;
	const char *line, *nl;
	size_t pos = s->start;

	while (pos < s->end && pos < __atomic_load_n(s->first_bad, __ATOMIC_RELAXED)) {
		line = s->buf + pos;
		nl = memchr(line, '\n', s->end - pos);
		if (!line_is_object(line, (size_t)(nl - line))) {
			first_bad_lower(s->first_bad, pos);
			break;
		}
		pos += (size_t)(nl - line) + 1;
	}
	return NULL;
}

static size_t scan_threads(size_t len)
{
	size_t n = len / SCAN_CHUNK_MIN;
	long cpus;

	if (n < 2)
		return 1;
	cpus = sysconf(_SC_NPROCESSORS_ONLN);
	if (cpus >= 1 && n > (size_t)cpus)
		n = (size_t)cpus;
	return n < SCAN_THREADS_MAX ? n : SCAN_THREADS_MAX;
}

/* Cut [0, len) into n shares at line starts; buf[len - 1] is a newline. */
static void scan_split(struct json_scan *s, size_t n, const char *buf, size_t len,
		       size_t *first_bad)
{
	size_t start = 0, cut;
	const char *nl;

	for (size_t i = 0; i < n; i++) {
		cut = len / n * (i + 1);
		if (i + 1 == n) {
			cut = len;
		} else if (cut <= start) {
			cut = start; /* one long line spans this share */
		} else {
			nl = memchr(buf + cut, '\n', len - cut);
			cut = (size_t)(nl - buf) + 1;
		}
		s[i] = (struct json_scan){
			.buf = buf, .start = start, .end = cut, .first_bad = first_bad
		};
		start = cut;
	}
}

/*
 * First pass: the offset of the first complete line that is not a JSON
 * object, or len. A thread that cannot be started is done in this one.
 */
static size_t json_scan(const char *buf, size_t len)
{
	struct json_scan s[SCAN_THREADS_MAX];
	size_t n = scan_threads(len), first_bad = len;

	scan_split(s, n, buf, len, &first_bad);
	if (n > 1)
		json_object_seed(0); /* seed the key hash before threads race to */
	for (size_t i = 1; i < n; i++)
		s[i].started = pthread_create(&s[i].thread, NULL, json_scan_run, &s[i]) == 0;
	json_scan_run(&s[0]);
	for (size_t i = 1; i < n; i++) {
		if (s[i].started)
			pthread_join(s[i].thread, NULL);
		else
			json_scan_run(&s[i]);
	}
	return first_bad;
}

static void verify_partial(struct verifier *v)
{
	if (v->r->records == 0)
		tampered(v, "file ends in a partial record before any complete one");
	else
		tampered(v, "file ends in a partial record after seq %" PRIu64, v->r->last_seq);
}

/* What can only be judged once the whole text has been read. */
static void verify_end(struct verifier *v)
{
	const struct chain_anchor *a = v->anchor;

	/* Anything but an empty text has failed before it gets here. */
	if (v->r->records == 0) {
		tampered(v, "no records (empty file)");
		return;
	}
	if (a && a->seq >= v->expect)
		tampered(v,
			 "chain ends at seq %" PRIu64 ", before anchored record %" PRIu64
			 " (records cut off the end)",
			 v->r->last_seq, a->seq);
}

/* Second pass: the chain itself, over the lines in [0, end). */
static void chain_walk(struct verifier *v, const char *buf, size_t end)
{
	const char *line, *nl;
	size_t pos = 0;

	while (pos < end) {
		line = buf + pos;
		nl = memchr(line, '\n', end - pos);
		/* The line after, for telling which of two records broke a link. */
		v->next = nl + 1 < buf + end ? nl + 1 : NULL;
		v->next_len = v->next ? (size_t)((const char *)memchr(v->next, '\n',
								     buf + end - v->next) - v->next)
				      : 0;
		if (!record_verify(v, line, (size_t)(nl - line)))
			return;
		pos += (size_t)(nl - line) + 1;
	}
}

/* The line at off failed the first pass; let jansson say why. */
static void verify_not_object(struct verifier *v, const char *buf, size_t off, size_t end)
{
	const char *line = buf + off;
	const char *nl = memchr(line, '\n', end - off);

	json_decref(record_load(v, line, (size_t)(nl - line)));
}

int chain_verify_buf(const char *buf, size_t len, const struct chain_anchor *anchor,
		     struct verify_result *r)
{
	struct verifier v = { .anchor = anchor, .r = r };
	size_t complete, first_bad;
	const char *nl;

	result_reset(r);
	r->bytes = len;
	if (chain_hasher_init(&v.hasher) < 0) {
		result_set(r, VERIFY_IO, "OpenSSL cannot provide SHA-256");
		chain_hasher_fini(&v.hasher);
		return r->status;
	}
	chain_hash_hex(v.prev, v.prev_hex);

	nl = memrchr(buf, '\n', len);
	complete = nl ? (size_t)(nl - buf) + 1 : 0;
	first_bad = json_scan(buf, complete);
	chain_walk(&v, buf, first_bad);

	if (r->status == VERIFY_OK && first_bad < complete)
		verify_not_object(&v, buf, first_bad, complete);
	if (r->status == VERIFY_OK && complete < len)
		verify_partial(&v);
	if (r->status == VERIFY_OK)
		verify_end(&v);

	chain_hasher_fini(&v.hasher);
	return r->status;
}

int chain_verify_fd(int fd, const char *name, struct verify_result *r)
{
	struct stat st;
	void *map;

	result_reset(r);
	if (fstat(fd, &st) < 0) {
		result_set(r, VERIFY_IO, "%s: %s", name, strerror(errno));
		return r->status;
	}
	if (!S_ISREG(st.st_mode)) {
		result_set(r, VERIFY_IO, "%s: not a regular file", name);
		return r->status;
	}
	/* mmap refuses a zero length; an empty chain still gets its verdict. */
	if (st.st_size == 0)
		return chain_verify_buf("", 0, NULL, r);

	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED) {
		result_set(r, VERIFY_IO, "%s: cannot map: %s", name, strerror(errno));
		return r->status;
	}
	madvise(map, (size_t)st.st_size, MADV_SEQUENTIAL);
	chain_verify_buf(map, (size_t)st.st_size, NULL, r);
	munmap(map, (size_t)st.st_size);
	return r->status;
}

/* A directory stands for the chain file inside it. */
static char *chain_file_of(const char *path, struct verify_result *r)
{
	struct stat st;
	char *file;
	int rc;

	if (stat(path, &st) < 0) {
		result_set(r, VERIFY_IO, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (S_ISDIR(st.st_mode))
		rc = asprintf(&file, "%s/%s", path, CHAIN_FILE);
	else
		rc = asprintf(&file, "%s", path);
	if (rc < 0) {
		result_set(r, VERIFY_IO, "%s: out of memory", path);
		return NULL;
	}
	return file;
}

int chain_verify_path(const char *path, struct verify_result *r)
{
	char *file;
	int fd;

	result_reset(r);
	file = chain_file_of(path, r);
	if (!file)
		return r->status;

	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		result_set(r, VERIFY_IO, "%s: %s", file, strerror(errno));
	else
		chain_verify_fd(fd, file, r);

	if (fd >= 0)
		close(fd);
	free(file);
	return r->status;
}
