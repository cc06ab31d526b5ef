// SPDX-License-Identifier: GPL-2.0-only
/*
 * The signed audit log: genesis, checkpoints, segments and retention as
 * written, a golden log and checkpoint from a fixed key, every byte flip
 * caught, and a table of tamperings, each with the verdict and the kind
 * that chain-verify reports. A tampering found in the field is one more
 * row in tamper_rows.
 *
 * PINFOLD_FLIP_ALL=1 flips every byte of the 10,000-record log and of its
 * checkpoints file instead of a sample (make check-long), on a worker
 * process per CPU, each chain flip verified from the record that holds
 * it; PINFOLD_GOLDEN_WRITE=1 rewrites the golden
 * files (after a deliberate format change only).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/crypto.h>

#include "daemon/chain.h"

#ifndef FIXTURES
#define FIXTURES "tests/fixtures/audit"
#endif

#ifdef __SANITIZE_ADDRESS__
#define SANITIZED 1
#else
#define SANITIZED 0
#endif

static const uint8_t fixed_log_id[CHAIN_LOG_ID_LEN] = {
	0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
	0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
};

static int64_t fixed_clock(void)
{
	return 1748779200000000000; /* 2025-06-01T12:00:00Z */
}

struct fixture {
	char dir[64];
	char audit[96];
	struct chain_key *key, *other;
};

/* git keeps no 0600 mode, which the key loader insists on. */
static struct chain_key *key_fixture(const char *dir, const char *name)
{
	char src[256], dst[256], buf[512], err[256];
	struct chain_key *k;
	FILE *in, *out;
	size_t n;

	snprintf(src, sizeof(src), "%s/%s", FIXTURES, name);
	snprintf(dst, sizeof(dst), "%s/%s", dir, name);
	in = fopen(src, "r");
	assert_non_null(in);
	n = fread(buf, 1, sizeof(buf), in);
	fclose(in);
	out = fopen(dst, "w");
	assert_non_null(out);
	assert_int_equal(fwrite(buf, 1, n, out), n);
	fclose(out);
	chmod(dst, 0600);
	if (chain_key_load(dst, &k, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	return k;
}

static int fixture_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *tmp = getenv("TMPDIR");

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "%s/pinfold-log-XXXXXX", tmp ? tmp : "/tmp");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->audit, sizeof(f->audit), "%s/audit", f->dir);
	f->key = key_fixture(f->dir, "test.key");
	f->other = key_fixture(f->dir, "other.key");
	*state = f;
	return 0;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path);
}

static int fixture_teardown(void **state)
{
	struct fixture *f = *state;

	chain_key_free(f->key);
	chain_key_free(f->other);
	nftw(f->dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static json_t *small_record(uint64_t i)
{
	if (i % 3 == 0)
		return json_pack("{s:s,s:s}", "type", "decision", "object", "q\"b\\s\xc3\xa9");
	return json_pack("{s:s,s:I}", "type", "decision", "n", (json_int_t)i);
}

struct log_shape {
	uint64_t records;
	uint64_t checkpoint_records;
	uint64_t segment_bytes;
	unsigned retain;
};

static struct chain *log_open(struct fixture *f, const struct chain_key *k,
			      const struct log_shape *s)
{
	struct chain_opts o = {
		.key = k, .host = "golden", .boot_id = "00000000-0000-0000-0000-000000000000",
		.checkpoint_records = s->checkpoint_records, .segment_bytes = s->segment_bytes,
		.retain_segments = s->retain, .log_id = fixed_log_id, .now_ns = fixed_clock,
	};
	char err[512];
	struct chain *c;

	if (chain_open_opts(f->audit, &o, &c, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	return c;
}

/* A signed log of s->records records beside its genesis, closed cleanly. */
static void log_write(struct fixture *f, const struct log_shape *s)
{
	struct chain *c = log_open(f, f->key, s);

	for (uint64_t i = 0; i < s->records; i++) {
		json_t *rec = small_record(i);

		assert_true(chain_append(c, rec) >= 0);
		json_decref(rec);
	}
	assert_int_equal(chain_close(c), 0);
}

static char *file_read(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = 0;
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void file_write(const char *path, const char *buf, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static int verify(struct fixture *f, const struct chain_key *k, struct verify_result *r)
{
	struct verify_opts o = { .key = k };

	return chain_verify(f->audit, &o, r);
}

/* ---- what the writer writes ----------------------------------------------- */

static void test_genesis_and_checkpoints(void **state)
{
	struct fixture *f = *state;
	struct log_shape s = { .records = 250, .checkpoint_records = 100 };
	struct verify_result r;
	char path[160], *buf;
	size_t len;

	log_write(f, &s);
	snprintf(path, sizeof(path), "%s/%s", f->audit, CHAIN_FILE);
	buf = file_read(path, &len);
	assert_non_null(strstr(buf, "{\"seq\":0,\"prev\":\"0000"));
	assert_non_null(strstr(buf, "\"type\":\"genesis\""));
	assert_non_null(strstr(buf, "\"log_id\":\"00112233445566778899aabbccddeeff\""));
	assert_non_null(strstr(buf, "\"key_id\":\"b56ac92a\""));
	free(buf);

	assert_int_equal(verify(f, f->key, &r), VERIFY_OK);
	assert_int_equal(r.records, 251);
	assert_true(r.genesis && r.signatures_checked);
	/* every 100 records (genesis included), then at close */
	assert_int_equal(r.checkpoints, 3);
	assert_int_equal(r.checkpoint_seq, 250);
	assert_int_equal(r.key_id, 0xb56ac92a);
}

static void test_reopen_and_durable(void **state)
{
	struct fixture *f = *state;
	struct log_shape s = { .records = 10, .checkpoint_records = 1000 };
	struct verify_result r;
	struct chain_opts o = { .key = f->other };
	char err[512], path[160];
	struct chain *c;
	json_t *rec = small_record(1);
	struct stat st;

	log_write(f, &s);
	c = log_open(f, f->key, &s);
	snprintf(path, sizeof(path), "%s/%s", f->audit, CHAIN_FILE);
	assert_int_equal(chain_append_durable(c, rec), 11);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(chain_close(c), 0);
	assert_int_equal(verify(f, f->key, &r), VERIFY_OK);
	assert_int_equal(r.records, 12);
	assert_true(st.st_size > 0);

	/* Another key does not continue this log. */
	assert_int_equal(chain_open_opts(f->audit, &o, &c, err, sizeof(err)), -EBADMSG);
	assert_non_null(strstr(err, "not by the key given"));
	json_decref(rec);
}

static void test_segments_and_retention(void **state)
{
	struct fixture *f = *state;
	struct log_shape s = { .records = 400, .checkpoint_records = 50, .segment_bytes = 4096,
			       .retain = 2 };
	struct verify_result r;
	char path[160], *buf;
	size_t len;

	log_write(f, &s);
	assert_int_equal(verify(f, f->key, &r), VERIFY_OK);
	assert_int_equal(r.segments, 3); /* two closed ones kept, and chain.jsonl */
	assert_true(r.retained_from > 0);
	assert_int_equal(r.first_seq, r.retained_from);
	snprintf(path, sizeof(path), "%s/%s", f->audit, CHAIN_FILE);
	buf = file_read(path, &len);
	assert_non_null(strstr(buf, "\"type\":\"segment\""));
	assert_non_null(strstr(buf, "\"type\":\"retention\""));
	free(buf);
}

/* A crash between a segment's rename and the new chain.jsonl: the next
 * open begins the new segment, linked to the closed one. */
static void test_rotation_interrupted(void **state)
{
	struct fixture *f = *state;
	struct log_shape s = { .records = 50, .checkpoint_records = 1000 };
	struct verify_result r;
	char from[160], to[200];
	struct chain *c;

	log_write(f, &s);
	snprintf(from, sizeof(from), "%s/%s", f->audit, CHAIN_FILE);
	snprintf(to, sizeof(to), "%s/" CHAIN_SEGMENT_FMT, f->audit, (uint64_t)0);
	assert_int_equal(rename(from, to), 0);
	c = log_open(f, f->key, &s);
	assert_int_equal(chain_close(c), 0);
	assert_int_equal(verify(f, f->key, &r), VERIFY_OK);
	assert_int_equal(r.segments, 2);
	assert_int_equal(r.records, 52); /* the segment record joins them */
}

/* ---- golden ------------------------------------------------------------- */

static void golden_compare(const char *got_path, const char *name)
{
	char want_path[256], *got, *want;
	size_t glen, wlen;

	snprintf(want_path, sizeof(want_path), "%s/golden/%s", FIXTURES, name);
	got = file_read(got_path, &glen);
	assert_non_null(got);
	if (getenv("PINFOLD_GOLDEN_WRITE"))
		file_write(want_path, got, glen);
	want = file_read(want_path, &wlen);
	if (!want)
		fail_msg("no golden file '%s'", want_path);
	if (glen != wlen || memcmp(got, want, glen))
		fail_msg("%s differs from %s", got_path, want_path);
	free(got);
	free(want);
}

static void test_golden(void **state)
{
	struct fixture *f = *state;
	struct log_shape s = { .records = 5, .checkpoint_records = 1000 };
	struct verify_result r;
	char chain[160], ckpt[160], *buf, *sig;
	size_t len;

	log_write(f, &s);
	snprintf(chain, sizeof(chain), "%s/%s", f->audit, CHAIN_FILE);
	snprintf(ckpt, sizeof(ckpt), "%s/%s", f->audit, CHAIN_CHECKPOINTS);
	golden_compare(chain, "chain.jsonl");
	golden_compare(ckpt, "checkpoints.jsonl");
	assert_int_equal(verify(f, f->key, &r), VERIFY_OK);

	/* One character of the signature changed: the checkpoint is forged. */
	buf = file_read(ckpt, &len);
	sig = strstr(buf, "audit ");
	assert_non_null(sig);
	sig[30] = sig[30] == 'A' ? 'B' : 'A';
	file_write(ckpt, buf, len);
	assert_int_equal(verify(f, f->key, &r), VERIFY_TAMPERED);
	assert_int_equal(r.kind, KIND_FORGED);
	free(buf);
}

/* ---- every byte -------------------------------------------------------- */

/* Where a flip is verified: a log directory, and its points when resumed. */
struct flipper {
	const char *audit;
	const struct chain_key *key;
	const struct verify_points *points;	/* NULL: verify from the start */
	bool compare;	/* also verify from the start, and require the same verdict */
	uint64_t flipped, missed;
};

static void flip_verify(struct flipper *fl, const char *name, off_t off, uint8_t mask)
{
	struct verify_opts o = { .key = fl->key, .threads = 1 };
	struct verify_result r, full;

	if (fl->points)
		chain_verify_from(fl->audit, fl->points, name, (uint64_t)off, &r);
	else
		chain_verify(fl->audit, &o, &r);
	fl->flipped++;
	if (r.status == VERIFY_OK && !fl->missed++)
		print_message("    missed: %s offset %lld ^ 0x%02x\n", name, (long long)off, mask);
	if (!fl->compare)
		return;
	chain_verify(fl->audit, &o, &full);
	if (full.status != r.status || full.kind != r.kind || full.bad_seq != r.bad_seq ||
	    full.records != r.records || strcmp(full.reason, r.reason))
		fail_msg("%s offset %lld ^ 0x%02x: resumed, %d %s at %" PRIu64 " (%s); from the "
			 "start, %d %s at %" PRIu64 " (%s)", name, (long long)off, mask, r.status,
			 verify_kind_name(r.kind), r.bad_seq, r.reason, full.status,
			 verify_kind_name(full.kind), full.bad_seq, full.reason);
}

/* Flip the byte at off with mask, verify, and put it back. */
static bool flip_one(struct flipper *fl, int fd, const char *name, off_t off, uint8_t mask)
{
	uint8_t b, flipped;

	if (pread(fd, &b, 1, off) != 1)
		return false;
	flipped = b ^ mask;
	if (pwrite(fd, &flipped, 1, off) != 1)
		return false;
	flip_verify(fl, name, off, mask);
	return pwrite(fd, &b, 1, off) == 1;
}

static int file_open(const char *audit, const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", audit, name);
	return open(path, O_RDWR);
}

/* samples random offsets of file name, of size bytes. */
static void flip_sampled(struct flipper *fl, const char *name, off_t size, unsigned samples)
{
	int fd = file_open(fl->audit, name);

	assert_true(fd >= 0);
	for (unsigned i = 0; i < samples; i++)
		assert_true(flip_one(fl, fd, name, random() % size, (uint8_t)(random() % 255 + 1)));
	close(fd);
}

/* Every offset of file name that is w modulo nw. */
static bool flip_every(struct flipper *fl, const char *name, off_t size, unsigned w,
		       unsigned nw)
{
	int fd = file_open(fl->audit, name);
	bool ok = fd >= 0;

	for (off_t off = w; ok && off < size; off += nw)
		ok = flip_one(fl, fd, name, off, (uint8_t)(random() % 255 + 1));
	if (fd >= 0)
		close(fd);
	return ok;
}

static bool file_copy(const char *from, const char *to, const char *name)
{
	char src[256], dst[256], *buf;
	size_t len;
	FILE *out;
	bool ok;

	snprintf(src, sizeof(src), "%s/%s", from, name);
	snprintf(dst, sizeof(dst), "%s/%s", to, name);
	buf = file_read(src, &len);
	out = buf ? fopen(dst, "wb") : NULL;
	ok = out && fwrite(buf, 1, len, out) == len;
	if (out && fclose(out) != 0)
		ok = false;
	free(buf);
	return ok;
}

struct flip_tally {
	uint64_t flipped, missed;
	int ok;
};

/*
 * Worker w of nw, in a process of its own on a copy of the log: every
 * w-th byte of the chain, each verified from the record that holds it
 * (the points were taken of the unchanged log, which the copy is), and
 * every w-th byte of the checkpoints file, verified from the start, since
 * the points rest on that file as it was.
 */
static struct flip_tally flip_worker(struct fixture *f, const struct verify_points *points,
				     const off_t size[2], unsigned w, unsigned nw, unsigned seed)
{
	struct flipper fl = { .key = f->key, .points = points };
	struct flip_tally t = { 0 };
	char copy[128];

	snprintf(copy, sizeof(copy), "%s/flip-%u", f->dir, w);
	fl.audit = copy;
	srandom(seed + w);
	t.ok = mkdir(copy, 0700) == 0 && file_copy(f->audit, copy, CHAIN_FILE) &&
	       file_copy(f->audit, copy, CHAIN_CHECKPOINTS) &&
	       flip_every(&fl, CHAIN_FILE, size[0], w, nw);
	fl.points = NULL;
	t.ok = t.ok && flip_every(&fl, CHAIN_CHECKPOINTS, size[1], w, nw);
	t.flipped = fl.flipped;
	t.missed = fl.missed;
	return t;
}

/* Every byte of both files, on a worker process per CPU. */
static void flip_all(struct fixture *f, const off_t size[2], unsigned seed)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned nw = cpus > 1 ? (unsigned)cpus : 1;
	struct verify_opts o = { .key = f->key, .threads = 1 };
	struct verify_points *points;
	struct verify_result r;
	struct flip_tally sum = { .ok = 1 };
	int fds[2], status;

	assert_int_equal(chain_verify_points(f->audit, &o, &points, &r), VERIFY_OK);
	assert_non_null(points);
	assert_int_equal(pipe(fds), 0);
	for (unsigned w = 0; w < nw; w++) {
		pid_t pid = fork();

		assert_true(pid >= 0);
		if (pid == 0) {
			struct flip_tally t = flip_worker(f, points, size, w, nw, seed);

			_exit(write(fds[1], &t, sizeof(t)) == sizeof(t) ? 0 : 1);
		}
	}
	close(fds[1]);
	for (unsigned w = 0; w < nw; w++) {
		struct flip_tally t;

		assert_int_equal(read(fds[0], &t, sizeof(t)), sizeof(t));
		sum.flipped += t.flipped;
		sum.missed += t.missed;
		sum.ok &= t.ok;
	}
	close(fds[0]);
	while (wait(&status) > 0)
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	chain_verify_points_free(points);
	print_message("    %" PRIu64 " bytes flipped on %u workers, %" PRIu64 " missed\n",
		      sum.flipped, nw, sum.missed);
	assert_true(sum.ok);
	assert_int_equal(sum.flipped, (uint64_t)(size[0] + size[1]));
	assert_int_equal(sum.missed, 0);
}

static off_t size_of(struct fixture *f, const char *name)
{
	char path[160];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", f->audit, name);
	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

/*
 * The sample verifies each flip from the start, and once more resumed at
 * the record holding the byte, and requires the same verdict of both:
 * what lets every byte (make check-long) be verified resumed.
 */
static void test_flip_bytes(void **state)
{
	struct fixture *f = *state;
	struct log_shape s = { .records = 9999, .checkpoint_records = 1000 };
	struct verify_opts o = { .key = f->key, .threads = 1 };
	bool all = getenv("PINFOLD_FLIP_ALL") != NULL;
	/* The sanitized build runs a tenth: the plain one holds the 2,000. */
	unsigned samples = SANITIZED ? 200 : 2000, seed = (unsigned)getpid();
	struct flipper fl = { .key = f->key, .compare = true };
	struct verify_points *points;
	struct verify_result r;
	off_t size[2];

	log_write(f, &s);
	size[0] = size_of(f, CHAIN_FILE);
	size[1] = size_of(f, CHAIN_CHECKPOINTS);
	print_message("    seed %u; %s over %lld + %lld bytes\n", seed,
		      all ? "every byte" : "sampled bytes", (long long)size[0],
		      (long long)size[1]);
	if (all) {
		flip_all(f, size, seed);
		return;
	}
	assert_int_equal(chain_verify_points(f->audit, &o, &points, &r), VERIFY_OK);
	fl.audit = f->audit;
	fl.points = points;
	srandom(seed);
	flip_sampled(&fl, CHAIN_FILE, size[0], samples);
	fl.points = NULL;
	fl.compare = false;
	flip_sampled(&fl, CHAIN_CHECKPOINTS, size[1], samples / 10);
	chain_verify_points_free(points);
	assert_int_equal(fl.missed, 0);
}

/* Resumed in a closed segment or the active one: the verdict from the start. */
static void test_flip_resumed_segments(void **state)
{
	struct fixture *f = *state;
	struct log_shape s = { .records = 400, .checkpoint_records = 50, .segment_bytes = 4096 };
	struct verify_opts o = { .key = f->key, .threads = 1 };
	struct flipper fl = { .audit = f->audit, .key = f->key, .compare = true };
	struct verify_points *points;
	struct verify_result r;
	char name[64];

	log_write(f, &s);
	assert_int_equal(chain_verify_points(f->audit, &o, &points, &r), VERIFY_OK);
	assert_true(r.segments > 2);
	fl.points = points;
	srandom((unsigned)getpid());
	snprintf(name, sizeof(name), CHAIN_SEGMENT_FMT, (uint64_t)0);
	flip_sampled(&fl, name, size_of(f, name), 200);
	flip_sampled(&fl, CHAIN_FILE, size_of(f, CHAIN_FILE), 200);
	chain_verify_points_free(points);
	assert_int_equal(fl.flipped, 400);
	assert_int_equal(fl.missed, 0);
}

/* ---- tampering -------------------------------------------------------------- */

/* A log directory loaded as files of lines, to be rewritten. */
struct seg {
	char name[64];
	char *buf;
	size_t len;
};

struct logdir {
	struct seg seg[16];
	size_t n;
	char *ckpt;
	size_t ckpt_len;
};

static int name_cmp(const void *a, const void *b)
{
	const struct seg *x = a, *y = b;

	/* chain.jsonl sorts after chain-NNN.jsonl: '.' < '-' is false */
	if (!strcmp(x->name, CHAIN_FILE))
		return 1;
	if (!strcmp(y->name, CHAIN_FILE))
		return -1;
	return strcmp(x->name, y->name);
}

static void logdir_load(struct fixture *f, struct logdir *l)
{
	char cmd[256], path[256];
	FILE *p;

	memset(l, 0, sizeof(*l));
	snprintf(cmd, sizeof(cmd), "ls %s | grep '^chain.*jsonl$'", f->audit);
	p = popen(cmd, "r");
	assert_non_null(p);
	while (l->n < 16 && fgets(l->seg[l->n].name, sizeof(l->seg[0].name), p)) {
		l->seg[l->n].name[strcspn(l->seg[l->n].name, "\n")] = 0;
		l->n++;
	}
	pclose(p);
	qsort(l->seg, l->n, sizeof(l->seg[0]), name_cmp);
	for (size_t i = 0; i < l->n; i++) {
		snprintf(path, sizeof(path), "%s/%s", f->audit, l->seg[i].name);
		l->seg[i].buf = file_read(path, &l->seg[i].len);
	}
	snprintf(path, sizeof(path), "%s/%s", f->audit, CHAIN_CHECKPOINTS);
	l->ckpt = file_read(path, &l->ckpt_len);
}

static void logdir_store(struct fixture *f, const struct logdir *l)
{
	char path[256];

	for (size_t i = 0; i < l->n; i++) {
		snprintf(path, sizeof(path), "%s/%s", f->audit, l->seg[i].name);
		if (l->seg[i].buf)
			file_write(path, l->seg[i].buf, l->seg[i].len);
		else
			unlink(path);
	}
	snprintf(path, sizeof(path), "%s/%s", f->audit, CHAIN_CHECKPOINTS);
	if (l->ckpt)
		file_write(path, l->ckpt, l->ckpt_len);
	else
		unlink(path);
}

static void logdir_free(struct logdir *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->seg[i].buf);
	free(l->ckpt);
}

/* Start of line k of a buffer, and its length with the newline. */
static char *line_at(char *buf, size_t len, size_t k, size_t *n)
{
	char *p = buf, *end = buf + len, *nl;

	for (size_t i = 0; i < k && p < end; i++)
		p = memchr(p, '\n', (size_t)(end - p)) + 1;
	nl = memchr(p, '\n', (size_t)(end - p));
	*n = (size_t)(nl - p) + 1;
	return p;
}

/* Remove bytes [at, at + n) of a segment, or insert n bytes of src there. */
static void seg_splice(struct seg *s, size_t at, size_t cut, const char *src, size_t n)
{
	char *buf = malloc(s->len - cut + n + 1);

	memcpy(buf, s->buf, at);
	memcpy(buf + at, src, n);
	memcpy(buf + at + n, s->buf + at + cut, s->len - at - cut);
	free(s->buf);
	s->buf = buf;
	s->len = s->len - cut + n;
}

static struct seg *active(struct logdir *l)
{
	return &l->seg[l->n - 1];
}

/*
 * Rewrite every record from line k of the active segment on, as whoever
 * holds the file but not the key would: a changed record, then correct
 * seqs and prev hashes after it.
 */
static void rehash_from(struct seg *s, size_t k, uint8_t prev[CHAIN_HASH_LEN])
{
	size_t n, i = k, pos;
	char *line;

	pos = (size_t)(line_at(s->buf, s->len, k, &n) - s->buf);
	while (pos < s->len) {
		char hex[CHAIN_HASH_HEX_LEN + 1];
		char *p;

		line = s->buf + pos;
		n = (size_t)((char *)memchr(line, '\n', s->len - pos) - line);
		p = strstr(line, "\"prev\":\"") + 8;
		chain_hash_hex(prev, hex);
		memcpy(p, hex, CHAIN_HASH_HEX_LEN);
		chain_hash_record(line, n, prev, prev);
		pos += n + 1;
		i++;
	}
}

static void hash_before(struct seg *s, size_t k, uint8_t out[CHAIN_HASH_LEN])
{
	size_t n;
	char *line = line_at(s->buf, s->len, k, &n);
	char hex[CHAIN_HASH_HEX_LEN + 1];

	assert_true(strstr(line, "\"prev\":\"") != NULL);
	memcpy(hex, strstr(line, "\"prev\":\"") + 8, CHAIN_HASH_HEX_LEN);
	hex[CHAIN_HASH_HEX_LEN] = 0;
	assert_int_equal(OPENSSL_hexstr2buf_ex(out, CHAIN_HASH_LEN, NULL, hex, '\0'), 1);
}

static void mut_none(struct fixture *f, struct logdir *l)
{
	(void)f;
	(void)l;
}

/* The active segment's line 5 gets one byte changed inside a string. */
static void mut_modify(struct fixture *f, struct logdir *l)
{
	size_t n;
	char *line = line_at(active(l)->buf, active(l)->len, 5, &n);

	(void)f;
	line[n - 3] ^= 0x01;
}

static void mut_delete(struct fixture *f, struct logdir *l)
{
	size_t n;
	char *line = line_at(active(l)->buf, active(l)->len, 5, &n);

	(void)f;
	seg_splice(active(l), (size_t)(line - active(l)->buf), n, "", 0);
}

static void mut_insert(struct fixture *f, struct logdir *l)
{
	size_t n;
	char *line = line_at(active(l)->buf, active(l)->len, 5, &n);
	char *copy = strndup(line, n);

	(void)f;
	seg_splice(active(l), (size_t)(line - active(l)->buf), 0, copy, n);
	free(copy);
}

static void mut_reorder(struct fixture *f, struct logdir *l)
{
	size_t n5, n6;
	char *l5 = line_at(active(l)->buf, active(l)->len, 5, &n5);
	char *l6 = line_at(active(l)->buf, active(l)->len, 6, &n6);
	char *a = strndup(l5, n5), *b = strndup(l6, n6);

	(void)f;
	memcpy(l5, b, n6);
	memcpy(l5 + n6, a, n5);
	free(a);
	free(b);
}

/* Rewritten from line 5 on with valid hashes; the checkpoints kept. */
static void mut_rewrite(struct fixture *f, struct logdir *l)
{
	uint8_t prev[CHAIN_HASH_LEN];
	size_t n;
	char *line = line_at(active(l)->buf, active(l)->len, 5, &n);

	(void)f;
	line[n - 3] ^= 0x01;
	hash_before(active(l), 5, prev);
	rehash_from(active(l), 5, prev);
}

/* The same, and the checkpoints that would give it away removed. */
static void mut_rewrite_drop(struct fixture *f, struct logdir *l)
{
	mut_rewrite(f, l);
	free(l->ckpt);
	l->ckpt = NULL;
}

/* A closed segment replaced by a rewritten one, and the checkpoints that
 * cover it removed: the next segment does not join it. */
static void mut_replace_segment(struct fixture *f, struct logdir *l)
{
	free(l->ckpt);
	l->ckpt = NULL;
	uint8_t prev[CHAIN_HASH_LEN];
	size_t n;
	char *line = line_at(l->seg[1].buf, l->seg[1].len, 3, &n);

	(void)f;
	line[n - 3] ^= 0x01;
	hash_before(&l->seg[1], 3, prev);
	rehash_from(&l->seg[1], 3, prev);
}

static void mut_remove_segment(struct fixture *f, struct logdir *l)
{
	(void)f;
	free(l->seg[1].buf);
	l->seg[1].buf = NULL;
}

static void mut_remove_first_segment(struct fixture *f, struct logdir *l)
{
	(void)f;
	free(l->seg[0].buf);
	l->seg[0].buf = NULL;
}

/* A checkpoint's tree size changed: its signature no longer verifies. */
static void mut_forge_checkpoint(struct fixture *f, struct logdir *l)
{
	char *nl = strstr(l->ckpt, "\\n");

	(void)f;
	assert_non_null(nl);
	nl[2] = nl[2] == '9' ? '8' : (char)(nl[2] + 1);
}

/*
 * The first checkpoint's signature spelt another way: its last digit
 * before '=' has unused low bits, set here, so it decodes to the same
 * bytes. Only the canonical spelling counts as the signature.
 */
static void mut_signature_spelling(struct fixture *f, struct logdir *l)
{
	static const char digits[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *pad = strstr(l->ckpt, "=\\n\"}");
	const char *d;

	(void)f;
	assert_non_null(pad);
	d = strchr(digits, pad[-1]);
	assert_non_null(d);
	assert_int_equal((d - digits) & 3, 0);
	pad[-1] = d[1];
}

/* A checkpoint signed by another key under the log's key name. */
static void mut_checkpoint_other_key(struct fixture *f, struct logdir *l)
{
	struct chain_checkpoint cp;
	char note[CHAIN_NOTE_MAX], why[128], *line;
	json_t *obj = json_loadb(l->ckpt, strcspn(l->ckpt, "\n"), 0, NULL);
	const char *text = json_string_value(json_object_get(obj, "note"));
	size_t rest = strcspn(l->ckpt, "\n");

	assert_int_equal(chain_note_parse(text, strlen(text), NULL, &cp, NULL, why, sizeof(why)),
			 NOTE_UNCHECKED);
	assert_true(chain_note_sign(f->other, &cp, note, sizeof(note)) > 0);
	json_decref(obj);
	obj = json_pack("{s:s}", "note", note);
	line = json_dumps(obj, JSON_COMPACT);
	json_decref(obj);
	{
		size_t n = strlen(line);
		char *buf = malloc(l->ckpt_len - rest + n + 1);

		memcpy(buf, line, n);
		memcpy(buf + n, l->ckpt + rest, l->ckpt_len - rest);
		free(l->ckpt);
		l->ckpt = buf;
		l->ckpt_len = l->ckpt_len - rest + n;
	}
	free(line);
}

static void mut_torn(struct fixture *f, struct logdir *l)
{
	(void)f;
	seg_splice(active(l), active(l)->len, 0, "{\"seq\":9", 8);
}

struct tamper_row {
	const char *name;
	void (*mutate)(struct fixture *f, struct logdir *l);
	bool other_key;
	enum verify_status status;
	enum verify_kind kind;
};

static const struct tamper_row tamper_rows[] = {
	{ "untouched", mut_none, false, VERIFY_OK, KIND_NONE },
	{ "modified record", mut_modify, false, VERIFY_TAMPERED, KIND_MODIFIED },
	{ "deleted record", mut_delete, false, VERIFY_TAMPERED, KIND_DELETED },
	{ "inserted record", mut_insert, false, VERIFY_TAMPERED, KIND_INSERTED },
	{ "reordered records", mut_reorder, false, VERIFY_TAMPERED, KIND_REORDERED },
	{ "rewritten without the key", mut_rewrite, false, VERIFY_TAMPERED, KIND_MODIFIED },
	{ "rewritten, checkpoints removed", mut_rewrite_drop, false, VERIFY_TAMPERED,
	  KIND_MISSING_CHECKPOINT },
	{ "segment replaced", mut_replace_segment, false, VERIFY_TAMPERED, KIND_BAD_LINK },
	{ "segment removed", mut_remove_segment, false, VERIFY_TAMPERED, KIND_BAD_LINK },
	{ "first segment removed", mut_remove_first_segment, false, VERIFY_TAMPERED,
	  KIND_DELETED },
	{ "forged checkpoint", mut_forge_checkpoint, false, VERIFY_TAMPERED, KIND_FORGED },
	{ "checkpoint of another key", mut_checkpoint_other_key, false, VERIFY_TAMPERED,
	  KIND_FORGED },
	{ "signature spelt another way", mut_signature_spelling, false, VERIFY_TAMPERED,
	  KIND_FORGED },
	{ "wrong public key", mut_none, true, VERIFY_TAMPERED, KIND_WRONG_KEY },
	{ "torn tail", mut_torn, false, VERIFY_TORN, KIND_TORN },
};

static const struct log_shape tamper_shape = {
	.records = 300, .checkpoint_records = 40, .segment_bytes = 8192,
};

static void test_tamper_rows(void **state)
{
	struct fixture *f = *state;
	struct verify_result r;
	struct logdir orig, l;

	log_write(f, &tamper_shape);
	logdir_load(f, &orig);
	assert_true(orig.n >= 3);
	for (size_t i = 0; i < sizeof(tamper_rows) / sizeof(tamper_rows[0]); i++) {
		const struct tamper_row *t = &tamper_rows[i];

		logdir_store(f, &orig);
		logdir_load(f, &l);
		t->mutate(f, &l);
		logdir_store(f, &l);
		verify(f, t->other_key ? f->other : f->key, &r);
		if (r.status != t->status || r.kind != t->kind)
			fail_msg("%s: status %d kind '%s' (want %d '%s'): %s", t->name, r.status,
				 verify_kind_name(r.kind), t->status, verify_kind_name(t->kind),
				 r.reason);
		logdir_free(&l);
		/* a removed file must come back for the next row */
		for (size_t k = 0; k < orig.n; k++) {
			char path[256];

			snprintf(path, sizeof(path), "%s/%s", f->audit, orig.seg[k].name);
			file_write(path, orig.seg[k].buf, orig.seg[k].len);
		}
	}
	logdir_free(&orig);
}

/* The seq of the line that ends at end (its newline). */
static uint64_t seq_of(const char *end, const char *buf)
{
	const char *p = end;

	while (p > buf && p[-1] != '\n')
		p--;
	return strtoull(p + 7, NULL, 10);
}

/* checkpoints.jsonl without the checkpoints of records after last. */
static void checkpoints_keep(const char *buf, size_t len, const char *path, uint64_t last)
{
	FILE *out = fopen(path, "wb");
	const char *p = buf, *nl;

	assert_non_null(out);
	while (p < buf + len && (nl = memchr(p, '\n', (size_t)(buf + len - p)))) {
		json_t *obj = json_loadb(p, (size_t)(nl - p), 0, NULL);
		const char *note = json_string_value(json_object_get(obj, "note"));
		struct chain_checkpoint cp;
		char why[128];

		assert_non_null(note);
		chain_note_parse(note, strlen(note), NULL, &cp, NULL, why, sizeof(why));
		if (cp.size <= last + 1)
			fwrite(p, 1, (size_t)(nl - p) + 1, out);
		json_decref(obj);
		p = nl + 1;
	}
	fclose(out);
}

/*
 * Cut at every record boundary of the active segment, the checkpoints
 * beyond the cut removed too: without an anchor such a cut is invisible
 * (the plain fact the anchors exist for); with the final checkpoint kept
 * as an anchor elsewhere, every cut is "truncated before an anchor".
 */
static void test_truncate_every_boundary(void **state)
{
	struct fixture *f = *state;
	struct chain_checkpoint anchor;
	struct verify_result r;
	struct logdir orig;
	char path[256], why[128], ckpt_path[256];
	size_t lines = 0, n;
	json_t *obj;

	log_write(f, &tamper_shape);
	logdir_load(f, &orig);
	{
		/* the last line of checkpoints.jsonl is the final checkpoint */
		char *last = orig.ckpt + orig.ckpt_len - 1;

		while (last > orig.ckpt && last[-1] != '\n')
			last--;
		obj = json_loadb(last, strcspn(last, "\n"), 0, NULL);
		assert_int_equal(chain_note_parse(json_string_value(json_object_get(obj, "note")),
						  strlen(json_string_value(
							  json_object_get(obj, "note"))),
						  f->key, &anchor, NULL, why, sizeof(why)),
				 NOTE_OK);
		json_decref(obj);
	}
	for (char *p = active(&orig)->buf; (p = memchr(p, '\n', active(&orig)->buf +
						    active(&orig)->len - p)); p++)
		lines++;
	snprintf(path, sizeof(path), "%s/%s", f->audit, CHAIN_FILE);
	snprintf(ckpt_path, sizeof(ckpt_path), "%s/%s", f->audit, CHAIN_CHECKPOINTS);
	for (size_t k = 1; k < lines; k++) {
		struct verify_opts plain = { .key = f->key }, anchored = plain;
		char *cut = line_at(active(&orig)->buf, active(&orig)->len, k, &n);
		uint64_t last_seq;

		file_write(path, active(&orig)->buf, (size_t)(cut - active(&orig)->buf));
		/* A careful attacker drops the checkpoints beyond the cut too. */
		checkpoints_keep(orig.ckpt, orig.ckpt_len, ckpt_path,
				 seq_of(cut - 1, active(&orig)->buf));
		chain_verify(f->audit, &plain, &r);
		assert_int_equal(r.status, VERIFY_OK);
		last_seq = r.last_seq;
		anchored.anchors = &anchor;
		anchored.nanchors = 1;
		chain_verify(f->audit, &anchored, &r);
		if (r.status != VERIFY_TAMPERED || r.kind != KIND_TRUNCATED)
			fail_msg("cut after seq %" PRIu64 ": status %d kind %s: %s", last_seq,
				 r.status, verify_kind_name(r.kind), r.reason);
	}
	logdir_free(&orig);
}

#define T(name) cmocka_unit_test_setup_teardown(name, fixture_setup, fixture_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_genesis_and_checkpoints),
		T(test_reopen_and_durable),
		T(test_segments_and_retention),
		T(test_rotation_interrupted),
		T(test_golden),
		T(test_tamper_rows),
		T(test_truncate_every_boundary),
		T(test_flip_bytes),
		T(test_flip_resumed_segments),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
