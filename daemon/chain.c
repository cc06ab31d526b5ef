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

struct chain {
	int fd;
	char *path;
	uint64_t next_seq;
	uint8_t last[CHAIN_HASH_LEN]; /* hash of record next_seq - 1 */
	struct chain_hasher hasher;
	json_t *head;		      /* {"seq":N,"prev":"H"}, updated per record */
	json_t *head_seq, *head_prev; /* borrowed from head */
	char *wbuf;		      /* CHAIN_RECORD_MAX bytes */
	size_t wlen;
	struct chain_recovery recovery; /* a torn tail set aside at open */
	bool recovered;
};

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
	return h->ctx ? 0 : -ENOMEM;
}

void chain_hasher_fini(struct chain_hasher *h)
{
	EVP_MD_CTX_free(h->ctx);
	h->ctx = NULL;
}

bool chain_hasher_hash(struct chain_hasher *h, const char *line, size_t len,
		       const uint8_t prev[CHAIN_HASH_LEN], uint8_t out[CHAIN_HASH_LEN])
{
	unsigned int n;

	return EVP_DigestInit_ex(h->ctx, h->md, NULL) &&
	       EVP_DigestUpdate(h->ctx, record_tag, sizeof(record_tag)) &&
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

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
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
	free(c->path);
	free(c->wbuf);
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
		return fail(err, errlen, -ENOMEM, "%s: out of memory", dir);
	c->fd = -1;
	c->wbuf = malloc(CHAIN_RECORD_MAX);
	if (asprintf(&c->path, "%s%s%s", dir, sep, CHAIN_FILE) < 0)
		c->path = NULL;
	c->head = json_pack("{s:I,s:s}", "seq", (json_int_t)0, "prev", "");
	c->head_seq = json_object_get(c->head, "seq");
	c->head_prev = json_object_get(c->head, "prev");
	if (!c->wbuf || !c->path || !c->head)
		return fail(err, errlen, -ENOMEM, "%s: out of memory", dir);
	rc = chain_hasher_init(&c->hasher);
	if (rc < 0)
		return fail(err, errlen, rc, "%s: OpenSSL cannot provide SHA-256", dir);
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
		return fail(err, errlen, -e, "%s: cannot create directory: %s", dir, strerror(e));
	}
	*dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*dfd < 0 || fstat(*dfd, &st) < 0) {
		e = errno;
		return fail(err, errlen, -e, "%s: %s", dir, strerror(e));
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return fail(err, errlen, -EPERM,
			    "%s: directory is writable by group or others (mode %04o), "
			    "refusing to keep the audit chain there",
			    dir, (unsigned int)(st.st_mode & 07777));
	return 0;
}

/* The lock keeps a second daemon from appending its own seq 0.. to ours. */
static int file_open(struct chain *c, int dfd, struct stat *st, char *err, size_t errlen)
{
	int e;

	c->fd = openat(dfd, CHAIN_FILE, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
		       0600);
	if (c->fd < 0) {
		e = errno;
		if (e == ELOOP)
			return fail(err, errlen, -e,
				    "%s: is a symbolic link, refusing to follow it", c->path);
		return fail(err, errlen, -e, "%s: %s", c->path, strerror(e));
	}
	if (flock(c->fd, LOCK_EX | LOCK_NB) < 0) {
		e = errno;
		if (e == EWOULDBLOCK)
			return fail(err, errlen, -e,
				    "%s: locked by another writer (is pinfoldd already running?)",
				    c->path);
		return fail(err, errlen, -e, "%s: cannot lock: %s", c->path, strerror(e));
	}
	/* Only now, under the lock, is the size the one to continue from. */
	if (fstat(c->fd, st) < 0) {
		e = errno;
		return fail(err, errlen, -e, "%s: %s", c->path, strerror(e));
	}
	if (!S_ISREG(st->st_mode))
		return fail(err, errlen, -EINVAL, "%s: not a regular file", c->path);
	return 0;
}

/*
 * Read the existing chain to its end to continue it. The write descriptor
 * cannot read, so the file is opened again and checked to be the same
 * inode, in case it was replaced between the two opens.
 */
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
 * bytes are copied to quarantine-<seconds>.bin beside the chain, made
 * durable, and only then cut from the chain; what was set aside (offset,
 * length, SHA-256) is kept for the daemon to record. Nothing is dropped
 * unaccounted for. Damage anywhere else is no crash and is left alone.
 */
static int quarantine_tail(struct chain *c, int dfd, int rfd, off_t size, char *err,
			   size_t errlen)
{
	struct chain_recovery *q = &c->recovery;
	uint8_t digest[CHAIN_HASH_LEN];
	char *bytes;
	off_t end;
	size_t len;
	int qfd, rc;

	rc = last_line_end(rfd, size, &end);
	if (rc < 0)
		return fail(err, errlen, rc, "%s: cannot read: %s", c->path, strerror(-rc));
	if (end == size)
		return 0;
	len = (size_t)(size - end);
	if (len > CHAIN_RECORD_MAX)
		return fail(err, errlen, -EBADMSG, "%s: %zu bytes after the last whole record, "
			    "more than a record: not a torn write, failing closed", c->path, len);
	bytes = malloc(len);
	if (!bytes)
		return fail(err, errlen, -ENOMEM, "%s: out of memory", c->path);
	if (pread(rfd, bytes, len, end) != (ssize_t)len) {
		free(bytes);
		return fail(err, errlen, -EIO, "%s: cannot read its tail", c->path);
	}
	snprintf(q->quarantine, sizeof(q->quarantine), "quarantine-%lld.bin",
		 (long long)time(NULL));
	qfd = openat(dfd, q->quarantine, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
		     0600);
	rc = qfd < 0 ? -errno : 0;
	if (!rc && (write(qfd, bytes, len) != (ssize_t)len || fsync(qfd)))
		rc = -EIO;
	if (qfd >= 0)
		close(qfd);
	if (!rc && !EVP_Digest(bytes, len, digest, NULL, EVP_sha256(), NULL))
		rc = -EIO;
	free(bytes);
	if (rc)
		return fail(err, errlen, rc, "%s: cannot set its torn tail aside in '%s': %s",
			    c->path, q->quarantine, strerror(-rc));
	if (ftruncate(c->fd, end) || fdatasync(c->fd))
		return fail(err, errlen, -errno, "%s: cannot cut its torn tail: %s", c->path,
			    strerror(errno));
	q->offset = (uint64_t)end;
	q->length = len;
	chain_hash_hex(digest, q->sha256);
	c->recovered = true;
	return 0;
}

int chain_recovery(const struct chain *c, struct chain_recovery *out)
{
	if (!c->recovered)
		return -ENOENT;
	*out = c->recovery;
	return 0;
}

static int chain_resume(struct chain *c, int dfd, const struct stat *wst, char *err, size_t errlen)
{
	struct verify_result r;
	struct stat st;
	int fd, e;

	if (wst->st_size == 0)
		return 0;
	fd = openat(dfd, CHAIN_FILE, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || fstat(fd, &st) < 0) {
		e = errno;
		if (fd >= 0)
			close(fd);
		return fail(err, errlen, -e, "%s: cannot read back: %s", c->path, strerror(e));
	}
	if (st.st_dev != wst->st_dev || st.st_ino != wst->st_ino) {
		close(fd);
		return fail(err, errlen, -EAGAIN, "%s: replaced while being opened", c->path);
	}
	e = quarantine_tail(c, dfd, fd, st.st_size, err, errlen);
	if (e < 0) {
		close(fd);
		return e;
	}
	if (c->recovered && c->recovery.offset == 0) {
		close(fd);
		return 0;
	}
	chain_verify_fd(fd, c->path, &r);
	close(fd);

	if (r.status == VERIFY_IO)
		return fail(err, errlen, -EIO, "%s", r.reason);
	if (r.status != VERIFY_OK)
		return fail(err, errlen, -EBADMSG,
			    "%s: existing chain fails verification at seq %" PRIu64 ": %s; "
			    "failing closed, nothing appended (only a torn last record is set "
			    "aside on its own: move the file aside to start a new chain)",
			    c->path, r.bad_seq, r.reason);
	c->next_seq = r.last_seq + 1;
	memcpy(c->last, r.last_hash, CHAIN_HASH_LEN);
	return 0;
}

int chain_open(const char *dir, struct chain **out, char *err, size_t errlen)
{
	struct chain *c;
	struct stat st;
	int dfd = -1, rc;

	rc = chain_new(dir, &c, err, errlen);
	if (rc == 0)
		rc = dir_open(dir, &dfd, err, errlen);
	if (rc == 0)
		rc = file_open(c, dfd, &st, err, errlen);
	if (rc == 0)
		rc = chain_resume(c, dfd, &st, err, errlen);
	if (dfd >= 0)
		close(dfd);

	if (rc < 0) {
		chain_free(c);
		c = NULL;
	}
	*out = c;
	return rc;
}

/* Write the whole buffer; whatever could not be written stays at its front. */
static int buffer_write(struct chain *c)
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

int chain_flush(struct chain *c, bool sync)
{
	int rc = buffer_write(c);

	if (rc == 0 && sync && fdatasync(c->fd) < 0)
		rc = -errno;
	return rc;
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
	n = json_dumpb(rec, dst + h - 1, room - (h - 1), JSON_COMPACT);
	if (n == 0)
		return 0;
	dst[h - 1] = ',';
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
		rc = buffer_write(c);
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
	memcpy(c->last, hash, CHAIN_HASH_LEN);
	return (int64_t)c->next_seq++;
}

int64_t chain_append(struct chain *c, json_t *rec)
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

int chain_close(struct chain *c)
{
	int rc;

	if (!c)
		return 0;
	rc = chain_flush(c, true);
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
