// SPDX-License-Identifier: GPL-2.0-only
/*
 * The chain writer: record hashing, recovery of an existing chain at open,
 * and appending with group commit. Records are encoded straight into the
 * tail of the write buffer, so an append costs two jansson encodes, one
 * SHA-256 and no system call.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "daemon/chain.h"
#include "daemon/chain_internal.h"


/* sizeof counts the terminating NUL, which is the separator byte. */
static const char record_tag[] = CHAIN_RECORD_TAG;

static EVP_MD *sha256;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void)
{
	sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
}

int chain_hasher_init(struct chain_hasher *h)
{
	pthread_once(&sha256_once, sha256_fetch);
	h->md = sha256;
	h->ctx = NULL;
	if (!h->md)
		return -ENOSYS;
	h->ctx = EVP_MD_CTX_new();
	if (!h->ctx)
		return -ENOMEM;
	memcpy(h->msg, record_tag, sizeof(record_tag));
	/* Set the digest once: each record then re-initialises with NULL,
	 * which skips the engine lookup and its lock. */
	return EVP_DigestInit_ex(h->ctx, h->md, NULL) ? 0 : -ENOMEM;
}

void chain_hasher_fini(struct chain_hasher *h)
{
	EVP_MD_CTX_free(h->ctx);
	h->ctx = NULL;
}

/*
 * One update over tag, line and prev laid end to end costs fewer calls
 * into the SHA-256 block function than three, so a line that fits is
 * copied behind the tag: the copy is cheaper than a block call.
 */
bool chain_hasher_hash(struct chain_hasher *h, const char *line, size_t len,
		       const uint8_t prev[CHAIN_HASH_LEN], uint8_t out[CHAIN_HASH_LEN])
{
	const size_t tag = sizeof(record_tag);
	unsigned int n;

	if (!EVP_DigestInit_ex2(h->ctx, NULL, NULL))
		return false;
	if (len <= sizeof(h->msg) - tag - CHAIN_HASH_LEN) {
		memcpy(h->msg + tag, line, len);
		memcpy(h->msg + tag + len, prev, CHAIN_HASH_LEN);
		return EVP_DigestUpdate(h->ctx, h->msg, tag + len + CHAIN_HASH_LEN) &&
		       EVP_DigestFinal_ex(h->ctx, out, &n);
	}
	return EVP_DigestUpdate(h->ctx, record_tag, tag) &&
	       EVP_DigestUpdate(h->ctx, line, len) &&
	       EVP_DigestUpdate(h->ctx, prev, CHAIN_HASH_LEN) &&
	       EVP_DigestFinal_ex(h->ctx, out, &n);
}

void chain_hash_record(const char *line, size_t len, const uint8_t prev[CHAIN_HASH_LEN],
		       uint8_t out[CHAIN_HASH_LEN])
{
	struct chain_hasher h;

	/* The contract has no error return; a wrong hash would be worse. */
	if (chain_hasher_init(&h) < 0 || !chain_hasher_hash(&h, line, len, prev, out)) {
		fprintf(stderr, "chain: OpenSSL cannot compute SHA-256\n");
		abort();
	}
	chain_hasher_fini(&h);
}

void chain_hash_hex(const uint8_t hash[CHAIN_HASH_LEN], char out[CHAIN_HASH_HEX_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < CHAIN_HASH_LEN; i++) {
		out[2 * i] = digits[hash[i] >> 4];
		out[2 * i + 1] = digits[hash[i] & 0xf];
	}
	out[CHAIN_HASH_HEX_LEN] = '\0';
}

int chain_fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

static void chain_free(struct chain *c)
{
	if (!c)
		return;
	chain_hasher_fini(&c->hasher);
	json_decref(c->head);
	if (c->fd >= 0)
		close(c->fd);
	if (c->ckpt_fd >= 0)
		close(c->ckpt_fd);
	if (c->dfd >= 0)
		close(c->dfd);
	if (c->lock_fd >= 0)
		close(c->lock_fd);
	free(c->path);
	free(c->wbuf);
	free(c->frags);
	free(c);
}

static int chain_new(const char *dir, struct chain **out, char *err, size_t errlen)
{
	size_t dlen = strlen(dir);
	const char *sep = dlen && dir[dlen - 1] == '/' ? "" : "/";
	struct chain *c = calloc(1, sizeof(*c));
	int rc;

	*out = c;
	if (!c)
		return chain_fail(err, errlen, -ENOMEM, "%s: out of memory", dir);
	c->fd = c->dfd = c->lock_fd = c->ckpt_fd = -1;
	c->wbuf = malloc(CHAIN_RECORD_MAX);
	c->frags = calloc(1, sizeof(*c->frags));
	if (asprintf(&c->path, "%s%s%s", dir, sep, CHAIN_FILE) < 0)
		c->path = NULL;
	c->head = json_pack("{s:I,s:s}", "seq", (json_int_t)0, "prev", "");
	c->head_seq = json_object_get(c->head, "seq");
	c->head_prev = json_object_get(c->head, "prev");
	if (!c->wbuf || !c->path || !c->head || !c->frags)
		return chain_fail(err, errlen, -ENOMEM, "%s: out of memory", dir);
	rc = chain_hasher_init(&c->hasher);
	if (rc < 0)
		return chain_fail(err, errlen, rc, "%s: OpenSSL cannot provide SHA-256", dir);
	return 0;
}

/*
 * Anyone who may write the directory may swap the file under the daemon,
 * so such a directory is refused rather than silently trusted.
 */
static int dir_open(const char *dir, int *dfd, char *err, size_t errlen)
{
	struct stat st;
	int e;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		e = errno;
		return chain_fail(err, errlen, -e, "%s: cannot create directory: %s", dir, strerror(e));
	}
	*dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*dfd < 0 || fstat(*dfd, &st) < 0) {
		e = errno;
		return chain_fail(err, errlen, -e, "%s: %s", dir, strerror(e));
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return chain_fail(err, errlen, -EPERM,
			    "%s: directory is writable by group or others (mode %04o), "
			    "refusing to keep the audit chain there",
			    dir, (unsigned int)(st.st_mode & 07777));
	return 0;
}

/* The lock keeps a second daemon from appending its own seq 0.. to ours;
 * it is a file of its own, since segments come and go under it. */
static int dir_lock(struct chain *c, const char *dir, char *err, size_t errlen)
{
	int e;

	c->lock_fd = openat(c->dfd, CHAIN_LOCK, O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (c->lock_fd < 0) {
		e = errno;
		return chain_fail(err, errlen, -e, "%s/%s: %s", dir, CHAIN_LOCK, strerror(e));
	}
	if (flock(c->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		e = errno;
		if (e == EWOULDBLOCK)
			return chain_fail(err, errlen, -e,
				    "%s: locked by another writer (is pinfoldd already running?)",
				    dir);
		return chain_fail(err, errlen, -e, "%s: cannot lock: %s", dir, strerror(e));
	}
	return 0;
}

/* O_NOFOLLOW: a symbolic link planted in place of a log file is refused. */
static int append_open(struct chain *c, const char *name, int flags, char *err, size_t errlen)
{
	struct stat st;
	int fd, e;

	fd = openat(c->dfd, name, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | flags,
		    0600);
	if (fd < 0) {
		e = errno;
		if (e == ELOOP)
			return chain_fail(err, errlen, -e,
				    "%s: '%s' is a symbolic link, refusing to follow it", c->path,
				    name);
		return chain_fail(err, errlen, -e, "%s: '%s': %s", c->path, name, strerror(e));
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return chain_fail(err, errlen, -EINVAL, "%s: '%s' is not a regular file", c->path,
				  name);
	}
	return fd;
}

int chain_active_open(struct chain *c, char *err, size_t errlen)
{
	int fd = append_open(c, CHAIN_FILE, c->rotating ? O_EXCL : 0, err, errlen);

	if (fd < 0)
		return fd;
	c->fd = fd;
	return 0;
}

int chain_checkpoints_open(struct chain *c, char *err, size_t errlen)
{
	int fd = append_open(c, CHAIN_CHECKPOINTS, 0, err, errlen);

	if (fd < 0)
		return fd;
	c->ckpt_fd = fd;
	return 0;
}

/* Offset just past the last newline of the file (0 when it has none). */
static int last_line_end(int fd, off_t size, off_t *end)
{
	char buf[4096];
	off_t at = size;

	while (at > 0) {
		size_t n = at > (off_t)sizeof(buf) ? sizeof(buf) : (size_t)at;
		ssize_t got = pread(fd, buf, n, at - (off_t)n);

		if (got != (ssize_t)n)
			return got < 0 ? -errno : -EIO;
		for (size_t i = n; i > 0; i--) {
			if (buf[i - 1] == '\n') {
				*end = at - (off_t)n + (off_t)i;
				return 0;
			}
		}
		at -= (off_t)n;
	}
	*end = 0;
	return 0;
}

/*
 * A crash during a write leaves a last line without its newline. Those
 * bytes are copied to quarantine-<seconds>-<file>.bin beside the chain,
 * made durable, and only then cut from their file; what was set aside
 * (offset, length, SHA-256) is kept for the daemon to record. Nothing is
 * dropped unaccounted for. Damage anywhere else is no crash and is left
 * alone.
 */
static int quarantine_tail(struct chain *c, const char *name, int wfd, char *err,
			   size_t errlen)
{
	struct chain_recovery *q = &c->recovery[c->nrecovered];
	uint8_t digest[CHAIN_HASH_LEN];
	struct stat st;
	char *bytes;
	off_t end;
	size_t len;
	int qfd, rc, rfd;

	rfd = openat(c->dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (rfd < 0)
		return errno == ENOENT ? 0 : chain_fail(err, errlen, -errno, "%s: '%s': %s",
							c->path, name, strerror(errno));
	rc = fstat(rfd, &st) < 0 ? -errno : last_line_end(rfd, st.st_size, &end);
	if (rc < 0 || end == st.st_size) {
		close(rfd);
		return rc < 0 ? chain_fail(err, errlen, rc, "%s: cannot read '%s': %s", c->path,
					   name, strerror(-rc))
			      : 0;
	}
	len = (size_t)(st.st_size - end);
	if (len > CHAIN_RECORD_MAX) {
		close(rfd);
		return chain_fail(err, errlen, -EBADMSG, "%s: '%s' has %zu bytes after its last "
			    "whole line, more than a record: not a torn write, failing closed",
			    c->path, name, len);
	}
	bytes = malloc(len);
	if (!bytes || pread(rfd, bytes, len, end) != (ssize_t)len) {
		free(bytes);
		close(rfd);
		return chain_fail(err, errlen, -EIO, "%s: cannot read the tail of '%s'", c->path,
				  name);
	}
	close(rfd);
	/* The offset too: two crashes within a second leave two files. */
	snprintf(q->quarantine, sizeof(q->quarantine), "quarantine-%lld-%lld-%.*s.bin",
		 (long long)time(NULL), (long long)end, (int)strcspn(name, "."), name);
	snprintf(q->file, sizeof(q->file), "%s", name);
	qfd = openat(c->dfd, q->quarantine,
		     O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	rc = qfd < 0 ? -errno : 0;
	if (!rc && (write(qfd, bytes, len) != (ssize_t)len || fsync(qfd)))
		rc = -EIO;
	if (qfd >= 0)
		close(qfd);
	if (!rc && !EVP_Digest(bytes, len, digest, NULL, EVP_sha256(), NULL))
		rc = -EIO;
	free(bytes);
	if (rc)
		return chain_fail(err, errlen, rc, "%s: cannot set the torn tail of '%s' aside "
			    "in '%s': %s", c->path, name, q->quarantine, strerror(-rc));
	if (ftruncate(wfd, end) || fdatasync(wfd))
		return chain_fail(err, errlen, -errno, "%s: cannot cut the torn tail of '%s': %s",
			    c->path, name, strerror(errno));
	q->offset = (uint64_t)end;
	q->length = len;
	chain_hash_hex(digest, q->sha256);
	c->nrecovered++;
	return 0;
}

int chain_recovery_at(const struct chain *c, int i, struct chain_recovery *out)
{
	if (i < 0 || i >= c->nrecovered)
		return -ENOENT;
	*out = c->recovery[i];
	return 0;
}

int chain_recovery(const struct chain *c, struct chain_recovery *out)
{
	return chain_recovery_at(c, 0, out);
}

/* What the verifier found is where the writer continues. */
static void resume_from(struct chain *c, const struct verify_result *r)
{
	c->next_seq = r->records ? r->last_seq + 1 : 0;
	memcpy(c->last, r->last_hash, CHAIN_HASH_LEN);
	c->seg_first = r->active_first_seq;
	c->seg_bytes = r->active_bytes;
	if (!r->genesis)
		return;
	snprintf(c->log_id, sizeof(c->log_id), "%s", r->log_id);
	snprintf(c->origin, sizeof(c->origin), "%s", r->origin);
	if (r->checkpoint_records && r->checkpoint_records < c->opts.checkpoint_records)
		c->opts.checkpoint_records = r->checkpoint_records;
	if (r->have_checkpoint) {
		snprintf(c->ckpt.origin, sizeof(c->ckpt.origin), "%s", r->origin);
		c->ckpt.size = r->checkpoint_seq + 1;
	}
}

/* A signed log must be one this key signs, and a plain one stays plain. */
static int resume_check(struct chain *c, const struct verify_result *r, char *err, size_t errlen)
{
	const struct chain_key *k = c->opts.key;

	if (r->records == 0)
		return 0;
	if (k && !r->genesis)
		return chain_fail(err, errlen, -EBADMSG, "%s: existing chain has no genesis record "
			    "(format 1, unsigned): move the audit directory aside to start a "
			    "signed log", c->path);
	if (!k && r->genesis)
		return chain_fail(err, errlen, -EBADMSG, "%s: a signed log, and no key to "
			    "continue it with", c->path);
	if (k && r->key_id != chain_key_id(k))
		return chain_fail(err, errlen, -EBADMSG, "%s: the log is signed by key id %08x, "
			    "not by this key (%08x)", c->path, r->key_id, chain_key_id(k));
	return 0;
}

static int chain_resume(struct chain *c, char *err, size_t errlen)
{
	struct verify_opts vo = { .key = c->opts.key };
	struct verify_result r;
	char *dir = strndup(c->path, strlen(c->path) - strlen(CHAIN_FILE) - 1);
	int rc;

	rc = quarantine_tail(c, CHAIN_FILE, c->fd, err, errlen);
	if (rc == 0 && c->ckpt_fd >= 0)
		rc = quarantine_tail(c, CHAIN_CHECKPOINTS, c->ckpt_fd, err, errlen);
	if (rc < 0 || !dir) {
		free(dir);
		return rc < 0 ? rc : chain_fail(err, errlen, -ENOMEM, "%s: out of memory", c->path);
	}
	chain_verify(*dir ? dir : "/", &vo, &r);
	free(dir);
	/* An empty active segment is a new log, or a rotation that a crash
	 * interrupted; the verifier judges the closed segments before it. */
	if (r.bytes == 0 && r.segments <= 1) {
		r.records = 0;
		r.status = VERIFY_OK;
	}
	if (r.status == VERIFY_IO)
		return chain_fail(err, errlen, -EIO, "%s", r.reason);
	if (r.status != VERIFY_OK)
		return chain_fail(err, errlen, -EBADMSG,
			    "%s: existing chain fails verification at seq %" PRIu64 ": %s; "
			    "failing closed, nothing appended (only a torn last record is set "
			    "aside on its own: move the file aside to start a new chain)",
			    c->path, r.bad_seq, r.reason);
	rc = resume_check(c, &r, err, errlen);
	if (rc < 0)
		return rc;
	resume_from(c, &r);
	return 0;
}

/* A new log begins with its genesis; a segment that a crash left empty
 * begins with the record naming the one before. */
static int chain_begin(struct chain *c, char *err, size_t errlen)
{
	int64_t rc = 0;

	if (!c->opts.key)
		return 0;
	if (c->next_seq == 0) {
		rc = chain_write_genesis(c);
	} else if (c->seg_bytes == 0) {
		uint64_t prev_first = c->seg_first;

		c->seg_first = c->next_seq;
		rc = chain_write_segment_start(c, prev_first);
	}
	if (rc >= 0)
		rc = chain_flush(c, true);
	if (rc < 0)
		return chain_fail(err, errlen, (int)rc, "%s: cannot begin the log: %s", c->path,
				  strerror((int)-rc));
	return 0;
}

int chain_open_opts(const char *dir, const struct chain_opts *o, struct chain **out, char *err,
		    size_t errlen)
{
	struct chain *c;
	int rc;

	rc = chain_new(dir, &c, err, errlen);
	if (rc == 0 && o)
		c->opts = *o;
	if (rc == 0 && !c->opts.checkpoint_records)
		c->opts.checkpoint_records = 10000;
	if (rc == 0)
		rc = dir_open(dir, &c->dfd, err, errlen);
	if (rc == 0)
		rc = dir_lock(c, dir, err, errlen);
	if (rc == 0)
		rc = chain_active_open(c, err, errlen);
	if (rc == 0 && c->opts.key)
		rc = chain_checkpoints_open(c, err, errlen);
	if (rc == 0)
		rc = chain_resume(c, err, errlen);
	if (rc == 0)
		rc = chain_begin(c, err, errlen);
	c->ckpt_ms = chain_mono_ms();

	if (rc < 0) {
		chain_free(c);
		c = NULL;
	}
	*out = c;
	return rc;
}

int chain_open(const char *dir, struct chain **out, char *err, size_t errlen)
{
	return chain_open_opts(dir, NULL, out, err, errlen);
}

int64_t chain_now_ns(const struct chain *c)
{
	struct timespec ts;

	if (c->opts.now_ns)
		return c->opts.now_ns();
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t chain_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The date and time of day change once a second, so they are formatted
 * once a second, not once a record. Not thread-safe, as the chain is not. */
void chain_format_time(int64_t ns, char buf[32])
{
	static time_t cached_sec = -1;
	static char cached[24];
	time_t sec = ns / 1000000000;
	long us = (long)(ns % 1000000000) / 1000;

	if (sec != cached_sec) {
		struct tm tm;

		gmtime_r(&sec, &tm);
		strftime(cached, sizeof(cached), "%Y-%m-%dT%H:%M:%S", &tm);
		cached_sec = sec;
	}
	memcpy(buf, cached, 19);
	buf[19] = '.';
	for (int i = 25; i >= 20; i--, us /= 10)
		buf[i] = (char)('0' + us % 10);
	buf[26] = 'Z';
	buf[27] = 0;
}

const char *chain_log_id(const struct chain *c)
{
	return c->log_id;
}

int chain_last_checkpoint(const struct chain *c, struct chain_checkpoint *out)
{
	if (c->ckpt.size == 0)
		return -ENOENT;
	*out = c->ckpt;
	return 0;
}

int chain_buffer_write(struct chain *c)
{
	size_t done = 0;
	ssize_t n;
	int rc = 0;

	while (done < c->wlen) {
		n = write(c->fd, c->wbuf + done, c->wlen - done);
		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		rc = n < 0 ? -errno : -EIO;
		break;
	}
	memmove(c->wbuf, c->wbuf + done, c->wlen - done);
	c->wlen -= done;
	return rc;
}

/* A checkpoint that could not be made (a full disk) is tried again here. */
int chain_flush(struct chain *c, bool sync)
{
	int rc = chain_buffer_write(c);

	if (rc == 0 && sync && fdatasync(c->fd) < 0)
		rc = -errno;
	if (rc == 0 && c->ckpt_due)
		rc = chain_checkpoint_make(c);
	return rc;
}

int64_t chain_append_durable(struct chain *c, json_t *rec)
{
	int64_t seq = chain_append(c, rec);
	int rc;

	if (seq < 0)
		return seq;
	rc = chain_flush(c, true);
	return rc < 0 ? rc : seq;
}

int chain_tick(struct chain *c)
{
	uint64_t every = c->opts.checkpoint_interval_ms;

	if (!c->opts.key || !every || c->next_seq <= c->ckpt.size ||
	    chain_mono_ms() - c->ckpt_ms < (int64_t)every)
		return 0;
	return chain_checkpoint_make(c);
}

int chain_checkpoint_now(struct chain *c)
{
	if (!c->opts.key || c->next_seq <= c->ckpt.size)
		return 0;
	return chain_checkpoint_make(c);
}

static int head_update(struct chain *c)
{
	char hex[CHAIN_HASH_HEX_LEN + 1];

	chain_hash_hex(c->last, hex);
	if (json_integer_set(c->head_seq, (json_int_t)c->next_seq) ||
	    json_string_setn(c->head_prev, hex, CHAIN_HASH_HEX_LEN))
		return -ENOMEM;
	return 0;
}

/*
 * The line is the encoding of head with its closing '}' turned into ',',
 * followed by the encoding of rec without its opening '{': byte for byte
 * what jansson writes for the merged object, without building and freeing
 * one per record (a third of the cost of an append, measured). Returns the length,
 * 0 when jansson cannot encode, or a value >= room when it does not fit.
 */
static size_t line_encode(const struct chain *c, const json_t *rec, char *dst, size_t room)
{
	size_t h = json_dumpb(c->head, dst, room, JSON_COMPACT);
	size_t n;

	if (h == 0 || h >= room || json_object_size(rec) == 0)
		return h;
	n = chain_encode_members(c->frags, rec, dst + h - 1, room - (h - 1));
	if (n == 0)
		return 0;
	return h - 1 + n;
}

/*
 * Encode into the free tail of the write buffer, leaving room for the
 * newline. When it does not fit, write the buffer out and encode again:
 * once per buffer-full, which is cheaper than copying every record.
 */
static int record_encode(struct chain *c, const json_t *rec, size_t *len)
{
	size_t room = CHAIN_RECORD_MAX - c->wlen;
	size_t n;
	int rc;

	rc = head_update(c);
	if (rc < 0)
		return rc;
	n = line_encode(c, rec, c->wbuf + c->wlen, room);
	if (n >= room && c->wlen > 0) {
		rc = chain_buffer_write(c);
		if (rc < 0)
			return rc;
		n = line_encode(c, rec, c->wbuf, CHAIN_RECORD_MAX);
	}
	if (n == 0)
		return -EINVAL;
	if (n >= CHAIN_RECORD_MAX)
		return -EMSGSIZE;
	*len = n;
	return 0;
}

/* Hash the encoded line in place and make it part of the chain. */
static int64_t record_commit(struct chain *c, size_t len)
{
	char *line = c->wbuf + c->wlen;
	uint8_t hash[CHAIN_HASH_LEN];

	if (!chain_hasher_hash(&c->hasher, line, len, c->last, hash))
		return -EIO;
	line[len] = '\n';
	c->wlen += len + 1;
	c->seg_bytes += len + 1;
	memcpy(c->last, hash, CHAIN_HASH_LEN);
	return (int64_t)c->next_seq++;
}

int64_t chain_append_raw(struct chain *c, json_t *rec)
{
	size_t len;
	int rc;

	/* Also what keeps the spliced line free of duplicate keys. */
	if (!json_is_object(rec) || json_object_get(rec, "seq") || json_object_get(rec, "prev"))
		return -EINVAL;
	rc = record_encode(c, rec, &len);
	if (rc < 0)
		return rc;
	return record_commit(c, len);
}

int64_t chain_append(struct chain *c, json_t *rec)
{
	int64_t seq = chain_append_raw(c, rec);

	if (seq >= 0 && c->opts.key)
		chain_after_append(c);
	return seq;
}

int chain_close(struct chain *c)
{
	int rc;

	if (!c)
		return 0;
	rc = chain_flush(c, true);
	if (rc == 0)
		rc = chain_checkpoint_now(c);
	if (close(c->fd) < 0 && rc == 0)
		rc = -errno;
	c->fd = -1;
	chain_free(c);
	return rc;
}

uint64_t chain_next_seq(const struct chain *c)
{
	return c->next_seq;
}

const char *chain_path(const struct chain *c)
{
	return c->path;
}

int chain_head(const struct chain *c, struct chain_anchor *out)
{
	if (c->next_seq == 0)
		return -ENOENT;
	out->seq = c->next_seq - 1;
	memcpy(out->hash, c->last, CHAIN_HASH_LEN);
	return 0;
}
