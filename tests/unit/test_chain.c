// SPDX-License-Identifier: GPL-2.0-only
/*
 * The audit hash chain: the writer's format, recovery at open, and the
 * verifier against every kind of tampering we know of. A tampering found in
 * the field is one more row in tamper_cases or odd_line_cases.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "daemon/chain.h"

#define ZERO_HEX "0000000000000000000000000000000000000000000000000000000000000000"

/*
 * The line of the worked example in docs/audit-format.md, and its hash
 * with an all-zero prev, as computed by openssl dgst -sha256 from the
 * shell; the test also recomputes it with EVP directly.
 */
#define GOLDEN_LINE                                                                 \
	"{\"seq\":0,\"prev\":\"" ZERO_HEX "\",\"type\":\"daemon-start\","           \
	"\"time\":\"2025-06-01T12:00:00.000000Z\",\"host\":\"build1\",\"pid\":812," \
	"\"version\":\"0.1.0\",\"policy\":\"9f2c\"}"
#define GOLDEN_HASH "f770e0b0924ae5c3b698e66b6053c1ad02e0cbd8878437debb9b7badf405e051"

#ifdef __SANITIZE_ADDRESS__
#define SANITIZED 1
#else
#define SANITIZED 0
#endif

struct fixture {
	char dir[64];
	char path[128];
};

static int fixture_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *tmp = getenv("TMPDIR");

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "%s/pinfold-chain-XXXXXX", tmp ? tmp : "/tmp");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof(f->path), "%s/%s", f->dir, CHAIN_FILE);
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

	chmod(f->dir, 0700);
	nftw(f->dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* Records of every shape the daemon may write: escapes, NUL, UTF-8, nesting. */
static json_t *sample_record(uint64_t i)
{
	json_t *rec;

	switch (i % 4) {
	case 0:
		return json_pack("{s:s,s:s,s:I,s:s,s:s,s:s,s:s,s:s}", "type", "decision", "session",
				 "s-12", "pid", (json_int_t)(1000 + i), "action", "open", "object",
				 "/home/ci/src/main.c", "outcome", "ok", "decision", "allow",
				 "rule", "agents.d/ci.ini:12");
	case 1:
		return json_pack("{s:s,s:s,s:s}", "type", "session-start", "agent", "ci", "cmd",
				 "make \"all\" \\ -j2\t# caf\xc3\xa9");
	case 2:
		rec = json_pack("{s:s}", "type", "decision");
		json_object_set_new(rec, "object", json_stringn("nul\0byte", 8));
		return rec;
	default:
		return json_pack("{s:s,s:I,s:{s:[s,n,b,f]}}", "type", "loss", "count",
				 (json_int_t)i, "detail", "why", "ringbuf", 1, 1.5);
	}
}

/* Short records, so that flipping every byte stays quick. */
static json_t *small_record(uint64_t i)
{
	if (i % 3 == 0)
		return json_pack("{s:s,s:s}", "type", "t", "s", "q\"b\\s\xc3\xa9");
	return json_pack("{s:s,s:I}", "type", "t", "n", (json_int_t)i);
}

static void write_chain(const char *dir, uint64_t n, json_t *(*make)(uint64_t),
			struct chain_anchor *head)
{
	char err[512];
	struct chain *c;
	json_t *rec;

	assert_int_equal(chain_open(dir, &c, err, sizeof(err)), 0);
	for (uint64_t i = 0; i < n; i++) {
		rec = make(i);
		assert_int_equal(chain_append(c, rec), (int64_t)i);
		json_decref(rec);
	}
	if (head)
		assert_int_equal(chain_head(c, head), 0);
	assert_int_equal(chain_close(c), 0);
}

static char *file_read(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
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

static off_t file_size(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

static void hex_of(const uint8_t hash[CHAIN_HASH_LEN], char hex[CHAIN_HASH_HEX_LEN + 1])
{
	chain_hash_hex(hash, hex);
}

/* A chain file cut into lines: line i is buf[off[i], off[i + 1]). */
struct text {
	char *buf;
	size_t len;
	size_t n;
	size_t off[4096];
};

static void text_load(const char *path, struct text *t)
{
	t->buf = file_read(path, &t->len);
	t->n = 0;
	for (size_t pos = 0; pos < t->len; t->n++) {
		assert_true(t->n + 1 < sizeof(t->off) / sizeof(t->off[0]));
		t->off[t->n] = pos;
		pos = (size_t)((char *)memchr(t->buf + pos, '\n', t->len - pos) - t->buf) + 1;
	}
	t->off[t->n] = t->len;
}

static void put_lines(const struct text *t, size_t from, size_t to, FILE *out)
{
	fwrite(t->buf + t->off[from], 1, t->off[to] - t->off[from], out);
}

static size_t line_find(const struct text *t, size_t i, const char *needle)
{
	const char *p =
		memmem(t->buf + t->off[i], t->off[i + 1] - t->off[i], needle, strlen(needle));

	assert_non_null(p);
	return (size_t)(p - t->buf);
}

/* Mutators: write a tampered copy of t (20 records) to out. */

static void mut_none(struct text *t, FILE *out)
{
	put_lines(t, 0, t->n, out);
}

static void mut_modify_string(struct text *t, FILE *out)
{
	t->buf[line_find(t, 4, "agents.d") + 1] ^= 0x01;
	put_lines(t, 0, t->n, out);
}

static void mut_delete(struct text *t, FILE *out)
{
	put_lines(t, 0, 5, out);
	put_lines(t, 6, t->n, out);
}

/* A careful deleter renumbers what follows; prev still gives it away. */
static void mut_delete_renumber(struct text *t, FILE *out)
{
	put_lines(t, 0, 5, out);
	for (size_t i = 6; i < t->n; i++) {
		fprintf(out, "{\"seq\":%zu", i - 1);
		fwrite(strchr(t->buf + t->off[i], ','), 1, t->off[i + 1] - line_find(t, i, ","),
		       out);
	}
}

static void mut_reorder(struct text *t, FILE *out)
{
	put_lines(t, 0, 5, out);
	put_lines(t, 6, 7, out);
	put_lines(t, 5, 6, out);
	put_lines(t, 7, t->n, out);
}

static void mut_forge(struct text *t, FILE *out)
{
	put_lines(t, 0, 5, out);
	fputs("{\"seq\":5,\"prev\":\"" ZERO_HEX "\",\"type\":\"decision\","
	      "\"decision\":\"allow\"}\n",
	      out);
	put_lines(t, 5, t->n, out);
}

static void mut_duplicate(struct text *t, FILE *out)
{
	put_lines(t, 0, 6, out);
	put_lines(t, 5, t->n, out);
}

static void mut_truncate(struct text *t, FILE *out)
{
	put_lines(t, 0, 7, out);
	fwrite(t->buf + t->off[7], 1, (t->off[8] - t->off[7]) / 2, out);
}

static void mut_final_newline(struct text *t, FILE *out)
{
	fwrite(t->buf, 1, t->len - 1, out);
}

static void mut_garbage(struct text *t, FILE *out)
{
	put_lines(t, 0, 3, out);
	fputs("garbage\n", out);
	put_lines(t, 4, t->n, out);
}

static void mut_array(struct text *t, FILE *out)
{
	put_lines(t, 0, 3, out);
	fputs("[3]\n", out);
	put_lines(t, 4, t->n, out);
}

static void mut_duplicate_key(struct text *t, FILE *out)
{
	put_lines(t, 0, 2, out);
	fwrite(t->buf + t->off[2], 1, t->off[3] - t->off[2] - 2, out);
	fputs(",\"seq\":2}\n", out);
	put_lines(t, 3, t->n, out);
}

static void mut_cut_head(struct text *t, FILE *out)
{
	put_lines(t, 1, t->n, out);
}

static void mut_seq_string(struct text *t, FILE *out)
{
	put_lines(t, 0, 5, out);
	fputs("{\"seq\":\"5\"", out);
	fwrite(t->buf + line_find(t, 5, ","), 1, t->off[6] - line_find(t, 5, ","), out);
	put_lines(t, 6, t->n, out);
}

static void mut_blank_line(struct text *t, FILE *out)
{
	put_lines(t, 0, 3, out);
	fputs("\n", out);
	put_lines(t, 3, t->n, out);
}

static void mut_prev_upper(struct text *t, FILE *out)
{
	size_t at = line_find(t, 4, "\"prev\":\"") + 8;
	bool changed = false;

	for (size_t i = at; i < at + CHAIN_HASH_HEX_LEN; i++) {
		changed |= t->buf[i] >= 'a';
		if (t->buf[i] >= 'a')
			t->buf[i] -= 'a' - 'A';
	}
	assert_true(changed);
	put_lines(t, 0, t->n, out);
}

static void mut_prev_first(struct text *t, FILE *out)
{
	t->buf[line_find(t, 0, ZERO_HEX)] = '1';
	put_lines(t, 0, t->n, out);
}

static void mut_empty(struct text *t, FILE *out)
{
	(void)t;
	(void)out;
}

static void mut_partial_only(struct text *t, FILE *out)
{
	fwrite(t->buf, 1, 30, out);
}

struct tamper_case {
	const char *name;
	void (*mutate)(struct text *t, FILE *out);
	enum verify_status status;
	uint64_t bad_seq;
	const char *reason;
};

static const struct tamper_case tamper_cases[] = {
	{ "untouched", mut_none, VERIFY_OK, 0, "" },
	{ "byte of a string value", mut_modify_string, VERIFY_TAMPERED, 4,
	  "record 4: modified (record 5 does not link to it as it stands)" },
	{ "deleted record", mut_delete, VERIFY_TAMPERED, 5,
	  "record 5: seq 6 where 5 expected (deleted or reordered records)" },
	{ "deleted and renumbered", mut_delete_renumber, VERIFY_TAMPERED, 5,
	  "record 5: prev hash does not match record 4" },
	{ "two records swapped", mut_reorder, VERIFY_TAMPERED, 5,
	  "record 5: seq 6 where 5 expected" },
	{ "forged record, wrong prev", mut_forge, VERIFY_TAMPERED, 5,
	  "record 5: prev hash does not match record 4" },
	{ "duplicated record", mut_duplicate, VERIFY_TAMPERED, 6,
	  "record 6: seq 5 where 6 expected" },
	{ "truncated mid-line", mut_truncate, VERIFY_TORN, 7,
	  "file ends in a partial record after seq 6" },
	{ "final newline gone", mut_final_newline, VERIFY_TORN, 19,
	  "file ends in a partial record after seq 18" },
	{ "line not JSON", mut_garbage, VERIFY_TAMPERED, 3, "record 3: not a JSON object" },
	{ "line a JSON array", mut_array, VERIFY_TAMPERED, 3, "record 3: not a JSON object" },
	{ "duplicate key", mut_duplicate_key, VERIFY_TAMPERED, 2,
	  "record 2: not a JSON object (duplicate object key" },
	{ "first record cut", mut_cut_head, VERIFY_TAMPERED, 0,
	  "record 0: seq 1 where 0 expected" },
	{ "seq a string", mut_seq_string, VERIFY_TAMPERED, 5,
	  "record 5: \"seq\" missing or not an integer" },
	{ "blank line", mut_blank_line, VERIFY_TAMPERED, 3, "record 3: not a JSON object" },
	{ "prev in uppercase", mut_prev_upper, VERIFY_TAMPERED, 4,
	  "record 4: prev hash does not match record 3" },
	{ "first prev not zero", mut_prev_first, VERIFY_TAMPERED, 0,
	  "record 0: prev hash is not all zeros" },
	{ "empty file", mut_empty, VERIFY_TAMPERED, 0, "no records (empty file)" },
	{ "only a partial record", mut_partial_only, VERIFY_TORN, 0,
	  "file ends in a partial record before any complete one" },
};

static void test_tamper_table(void **state)
{
	struct fixture *f = *state;
	struct verify_result r;
	char *orig, *buf;
	size_t len, blen;
	struct text *t = malloc(sizeof(*t));
	FILE *out;

	assert_non_null(t);
	write_chain(f->dir, 20, sample_record, NULL);
	orig = file_read(f->path, &len);

	for (size_t i = 0; i < sizeof(tamper_cases) / sizeof(tamper_cases[0]); i++) {
		const struct tamper_case *tc = &tamper_cases[i];

		file_write(f->path, orig, len);
		text_load(f->path, t);
		buf = NULL;
		out = open_memstream(&buf, &blen);
		tc->mutate(t, out);
		fclose(out);
		file_write(f->path, buf, blen);

		chain_verify_path(f->path, &r);
		if (r.status != tc->status || (tc->status && r.bad_seq != tc->bad_seq) ||
		    !strstr(r.reason, tc->reason))
			fail_msg("%s: status %d bad_seq %" PRIu64 " reason '%s'", tc->name,
				 r.status, r.bad_seq, r.reason);
		if (tc->status != VERIFY_OK)
			assert_int_equal(r.records, tc->bad_seq);
		free(buf);
		free(t->buf);
	}
	free(orig);
	free(t);
}

static void test_append_verify(void **state)
{
	struct fixture *f = *state;
	struct chain_anchor head;
	struct verify_result r;

	write_chain(f->dir, 1000, sample_record, &head);

	assert_int_equal(chain_verify_path(f->path, &r), VERIFY_OK);
	assert_int_equal(r.records, 1000);
	assert_int_equal(r.first_seq, 0);
	assert_int_equal(r.last_seq, 999);
	assert_int_equal(head.seq, 999);
	assert_memory_equal(r.last_hash, head.hash, CHAIN_HASH_LEN);
	assert_int_equal(r.bytes, file_size(f->path));

	/* The directory names the same chain. */
	assert_int_equal(chain_verify_path(f->dir, &r), VERIFY_OK);
	assert_int_equal(r.records, 1000);
}

/* What jansson writes for the merged object, built the slow way. */
static char *merged_line(uint64_t seq, const char *prev_hex, json_t *rec)
{
	json_t *full = json_object();
	char *line;

	json_object_set_new(full, "seq", json_integer((json_int_t)seq));
	json_object_set_new(full, "prev", json_string(prev_hex));
	json_object_update(full, rec);
	line = json_dumps(full, JSON_COMPACT);
	json_decref(full);
	return line;
}

static void test_line_format(void **state)
{
	struct fixture *f = *state;
	uint8_t prev[CHAIN_HASH_LEN] = { 0 };
	char hex[CHAIN_HASH_HEX_LEN + 1];
	struct text *t = malloc(sizeof(*t));
	char *want, *line;
	size_t len;
	json_t *rec;

	assert_non_null(t);
	write_chain(f->dir, 12, sample_record, NULL);
	text_load(f->path, t);
	assert_int_equal(t->n, 12);

	for (size_t i = 0; i < t->n; i++) {
		line = t->buf + t->off[i];
		len = t->off[i + 1] - t->off[i] - 1;
		assert_int_equal(line[len], '\n');

		hex_of(prev, hex);
		rec = sample_record(i);
		want = merged_line(i, hex, rec);
		assert_int_equal(strlen(want), len);
		assert_memory_equal(want, line, len);

		chain_hash_record(line, len, prev, prev);
		free(want);
		json_decref(rec);
	}
	free(t->buf);
	free(t);
}

/*
 * A shared value whose content changes is encoded anew, never from the
 * encoder's cache of its old content: a string set anew in place, an
 * integer set anew in place, and a string freed and another made (most
 * likely at the same address) of the same length.
 */
static void test_shared_value_changes(void **state)
{
	struct fixture *f = *state;
	json_t *shared = json_string("first"), *rec = json_object();
	json_t *num = json_integer(41), *s = json_string("old");
	char err[512], *buf;
	struct chain *c;
	size_t len;

	json_object_set(rec, "type", shared); /* refcount 2: shared */
	json_object_set(rec, "session", num);
	json_object_set(rec, "agent", s);
	assert_int_equal(chain_open(f->dir, &c, err, sizeof(err)), 0);
	assert_int_equal(chain_append(c, rec), 0);
	json_string_set(shared, "second, longer");
	json_integer_set(num, -41);
	json_object_del(rec, "agent");
	json_decref(s);
	s = json_string("new");
	json_object_set(rec, "agent", s);
	assert_int_equal(chain_append(c, rec), 1);
	assert_int_equal(chain_close(c), 0);
	buf = file_read(f->path, &len);
	assert_non_null(strstr(buf, "\"type\":\"first\",\"session\":41,\"agent\":\"old\"}"));
	assert_non_null(strstr(buf, "\"type\":\"second, longer\",\"session\":-41,"
				    "\"agent\":\"new\"}"));
	free(buf);
	json_decref(rec);
	json_decref(shared);
	json_decref(num);
	json_decref(s);
}

/*
 * Records that reach every path of the encoder's caches, each one line of
 * JSON: escapes and non-ASCII in names and values, integers at the ends
 * of their range, integers that land on the same slot of a member's
 * table (0, 128 and 256; -1 and -129), nested values.
 */
static const char *const encode_cases[] = {
	"{\"type\":\"t\",\"s\":\"q\\\"b\\\\s\\n\\t\\u0001/\\u007f\"}",
	"{\"type\":\"t\",\"s\":\"caf\\u00e9 \\ud83d\\ude00 \\u4e2d\"}",
	"{\"type\":\"t\",\"n\":0,\"m\":-1,\"a\":9223372036854775807,\"b\":-9223372036854775808}",
	"{\"type\":\"t\",\"n\":128,\"m\":-129,\"a\":-9223372036854775808,\"b\":9223372036854775807}",
	"{\"type\":\"t\",\"n\":256,\"m\":-1,\"a\":0,\"b\":1}",
	"{\"type\":\"t\",\"k\\\"ey\":1,\"k\\u00e9\":\"\\u00e9\",\"a/b\":3,\"\\u0001\":4,\"\\\\\":5}",
	"{\"type\":\"t\",\"x\":1.5,\"y\":true,\"z\":false,\"w\":null,"
	"\"o\":{\"a\":[1,\"b\",{\"c\":null}]},\"e\":{},\"f\":[]}",
	"{\"type\":\"t\",\"s\":\"\",\"n\":-0}",
};

/* Records built in code: names and values longer than the caches keep,
 * and more distinct names than the name cache holds. */
static json_t *encode_case_built(size_t i)
{
	char big[300], key[16];
	json_t *rec = json_pack("{s:s}", "type", "t");

	memset(big, 'k', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	if (i == 0) {
		json_object_set_new(rec, big, json_integer(7));
		json_object_set_new(rec, "v", json_string(big));
		return rec;
	}
	for (int k = 0; k < 300; k++) {
		snprintf(key, sizeof(key), "k%d", k + (int)i * 7);
		json_object_set_new(rec, key, json_integer(k * 128));
	}
	return rec;
}

#define ENCODE_BUILT 3

/* Hold a second reference to each string member, as the daemon does to
 * the values it shares, so that the shared-value cache is used. */
static void share_strings(json_t *rec, json_t *held)
{
	const char *key;
	json_t *v;

	json_object_foreach(rec, key, v)
		if (json_is_string(v))
			json_array_append(held, v);
}

/* Each record twice, plainly and with its strings shared, twice each (the
 * second time from the caches): every line what jansson writes. */
static void test_encode_cases(void **state)
{
	struct fixture *f = *state;
	size_t ncase = sizeof(encode_cases) / sizeof(encode_cases[0]) + ENCODE_BUILT, n = 0;
	json_t *recs[4 * 16], *held = json_array();
	uint8_t prev[CHAIN_HASH_LEN] = { 0 };
	char err[512], hex[CHAIN_HASH_HEX_LEN + 1];
	struct text *t = malloc(sizeof(*t));
	struct chain *c;

	assert_non_null(t);
	assert_true(4 * ncase <= sizeof(recs) / sizeof(recs[0]));
	assert_int_equal(chain_open(f->dir, &c, err, sizeof(err)), 0);
	for (size_t i = 0; i < ncase; i++) {
		for (int shared = 0; shared < 2; shared++) {
			json_t *rec = i < ncase - ENCODE_BUILT
					      ? json_loads(encode_cases[i], JSON_DECODE_ANY, NULL)
					      : encode_case_built(i - (ncase - ENCODE_BUILT));

			assert_non_null(rec);
			if (shared)
				share_strings(rec, held);
			for (int again = 0; again < 2; again++) {
				assert_int_equal(chain_append(c, rec), (int64_t)n);
				recs[n++] = json_incref(rec);
			}
			json_decref(rec);
		}
	}
	assert_int_equal(chain_close(c), 0);

	text_load(f->path, t);
	assert_int_equal(t->n, n);
	for (size_t i = 0; i < n; i++) {
		const char *line = t->buf + t->off[i];
		size_t len = t->off[i + 1] - t->off[i] - 1;
		char *want;

		hex_of(prev, hex);
		want = merged_line(i, hex, recs[i]);
		assert_non_null(want);
		assert_int_equal(strlen(want), len);
		assert_memory_equal(want, line, len);
		chain_hash_record(line, len, prev, prev);
		free(want);
		json_decref(recs[i]);
	}
	json_decref(held);
	free(t->buf);
	free(t);
}

/*
 * Records built one after another into one chain_rec, each beside the
 * same sets done on a fresh object: members added and dropped, in the
 * middle and at the end, set twice, reordered, of another type, values
 * that fail UTF-8 or are missing, shared values never set in place.
 */
struct rec_op {
	const char *key;
	char kind; /* s shared, n new string, i int, u checked string, t text, x NULL, o object */
	const char *s;
	json_int_t n;
};

#define REC_END { NULL, 0, NULL, 0 }
#define REC_BASE(t, m)                                                            \
	{ "type", 's', "decision", 0 }, { "time", 't', t, 0 }, { "mono", 'i', NULL, m }, \
	{ "pid", 'i', NULL, 4000 + (m) }

static const struct rec_op rec_cases[][12] = {
	{ REC_BASE("2025-06-01T12:00:00.000001Z", 1), { "object", 'u', "/a", 0 },
	  { "rule", 's', "r1", 0 }, { "policy", 's', "p", 0 }, REC_END },
	{ REC_BASE("2025-06-01T12:00:00.000002Z", 2), { "object", 'u', "/b/c\xc3\xa9", 0 },
	  { "rule", 's', "r2", 0 }, { "policy", 's', "p", 0 }, REC_END },
	{ REC_BASE("2025-06-01T12:00:00.000003Z", 3), { "object", 'u', "/a", 0 },
	  { "resolved", 'n', "/real/a", 0 }, { "rule", 's', "r1", 0 },
	  { "layer", 's', "landlock", 0 }, { "policy", 's', "p", 0 }, REC_END },
	{ REC_BASE("2025-06-01T12:00:00.000004Z", 4), { "object", 'u', "/a", 0 },
	  { "rule", 's', "r1", 0 }, { "rule", 's', "r2", 0 }, { "truncated", 'o', NULL, 0 },
	  { "policy", 's', "p", 0 }, REC_END },
	{ { "type", 's', "decision", 0 }, { "mono", 'i', NULL, 5 },
	  { "time", 't', "2025-06-01T12:00:00.000005Z", 0 }, { "pid", 'i', NULL, -1 }, REC_END },
	{ REC_BASE("2025-06-01T12:00:00.000006Z", 6), { "object", 'u', "bad\xff", 0 },
	  { "object", 'n', "bad?", 0 }, { "object_hex", 'n', "626164ff", 0 }, REC_END },
	{ REC_BASE("2025-06-01T12:00:00.000007Z", 7), { "object", 'x', NULL, 0 },
	  { "rule", 's', "r1", 0 }, REC_END },
	{ REC_END },
	{ { "type", 's', "decision", 0 }, { "time", 's', "shared time", 0 },
	  { "mono", 's', "shared mono", 0 }, { "pid", 'n', "4000", 0 }, REC_END },
	{ REC_BASE("2025-06-01T12:00:00.000009Z", 9), { "object", 'u', "/a", 0 }, REC_END },
	{ REC_BASE("2025-06-01T12:00:00.000010Z", 10), { "object", 'u', "/b", 0 },
	  { "rule", 's', "r1", 0 }, { "policy", 's', "p", 0 }, REC_END },
};

/* The shared string s, made once: held by pool as the daemon holds its. */
static json_t *pool_get(json_t *pool, const char *s)
{
	json_t *v = json_object_get(pool, s);

	if (!v) {
		v = json_string(s);
		json_object_set_new(pool, s, v);
	}
	return v;
}

static json_t *op_value(json_t *pool, const struct rec_op *op)
{
	switch (op->kind) {
	case 's':
		return json_incref(pool_get(pool, op->s));
	case 'n':
	case 'u':
		return json_string(op->s);
	case 't':
		return json_string_nocheck(op->s);
	case 'i':
		return json_integer(op->n);
	case 'o':
		return json_pack("{s:[b]}", "a", 1);
	default:
		return NULL;
	}
}

static void op_apply(struct chain_rec *r, json_t *fresh, json_t *pool, const struct rec_op *op)
{
	json_t *want = op_value(pool, op);

	if (want)
		json_object_set_nocheck(fresh, op->key, want);
	switch (op->kind) {
	case 's':
		chain_rec_set(r, op->key, pool_get(pool, op->s));
		break;
	case 'u':
		assert_int_equal(chain_rec_set_string(r, op->key, op->s), want != NULL);
		break;
	case 't':
		chain_rec_set_text(r, op->key, op->s, strlen(op->s));
		break;
	case 'i':
		chain_rec_set_int(r, op->key, op->n);
		break;
	default:
		chain_rec_set_new(r, op->key, op_value(pool, op));
	}
	json_decref(want);
}

static void test_rec_reuse(void **state)
{
	json_t *pool = json_object();
	struct chain_rec r = { 0 };
	const char *key;
	json_t *v;

	(void)state;
	for (int round = 0; round < 2; round++) {
		for (size_t i = 0; i < sizeof(rec_cases) / sizeof(rec_cases[0]); i++) {
			json_t *fresh = json_object(), *got;
			char *a, *b;

			assert_non_null(chain_rec_begin(&r));
			for (const struct rec_op *op = rec_cases[i]; op->key; op++)
				op_apply(&r, fresh, pool, op);
			got = chain_rec_end(&r);
			a = json_dumps(fresh, JSON_COMPACT);
			b = json_dumps(got, JSON_COMPACT);
			assert_string_equal(b, a);
			free(a);
			free(b);
			json_decref(fresh);
		}
	}
	/* The shared values were never set in place. */
	json_object_foreach(pool, key, v)
		assert_string_equal(json_string_value(v), key);
	chain_rec_free(&r);
	json_decref(pool);
}

/* An empty caller object still gives a valid line: head only. */
static void test_empty_record(void **state)
{
	struct fixture *f = *state;
	struct verify_result r;
	char err[512], *buf;
	struct chain *c;
	json_t *rec = json_object();
	size_t len;

	assert_int_equal(chain_open(f->dir, &c, err, sizeof(err)), 0);
	assert_int_equal(chain_append(c, rec), 0);
	assert_int_equal(chain_close(c), 0);
	json_decref(rec);

	buf = file_read(f->path, &len);
	assert_string_equal(buf, "{\"seq\":0,\"prev\":\"" ZERO_HEX "\"}\n");
	assert_int_equal(chain_verify_path(f->path, &r), VERIFY_OK);
	free(buf);
}

static void test_reopen_continues(void **state)
{
	struct fixture *f = *state;
	struct verify_result r;
	char err[512];
	struct chain *c;
	json_t *rec = sample_record(0);

	write_chain(f->dir, 10, sample_record, NULL);
	assert_int_equal(chain_open(f->dir, &c, err, sizeof(err)), 0);
	assert_int_equal(chain_next_seq(c), 10);
	assert_string_equal(chain_path(c), f->path);
	for (int i = 0; i < 5; i++)
		assert_int_equal(chain_append(c, rec), 10 + i);
	assert_int_equal(chain_close(c), 0);
	json_decref(rec);

	assert_int_equal(chain_verify_path(f->path, &r), VERIFY_OK);
	assert_int_equal(r.records, 15);
	assert_int_equal(r.last_seq, 14);
}

static void test_golden_hash(void **state)
{
	static const char tag[] = "pinfold-record-v1";
	const char *line = GOLDEN_LINE;
	uint8_t zero[CHAIN_HASH_LEN] = { 0 }, got[CHAIN_HASH_LEN], want[CHAIN_HASH_LEN];
	char hex[CHAIN_HASH_HEX_LEN + 1];
	unsigned int n;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	(void)state;
	assert_non_null(ctx);
	assert_true(EVP_DigestInit_ex(ctx, EVP_sha256(), NULL));
	assert_true(EVP_DigestUpdate(ctx, tag, sizeof(tag))); /* with its NUL */
	assert_true(EVP_DigestUpdate(ctx, line, strlen(line)));
	assert_true(EVP_DigestUpdate(ctx, zero, sizeof(zero)));
	assert_true(EVP_DigestFinal_ex(ctx, want, &n));
	EVP_MD_CTX_free(ctx);

	chain_hash_record(line, strlen(line), zero, got);
	assert_memory_equal(got, want, CHAIN_HASH_LEN);
	hex_of(got, hex);
	assert_string_equal(hex, GOLDEN_HASH);
}

/* The writer's own first record hashes the same way. */
static void test_golden_written(void **state)
{
	struct fixture *f = *state;
	struct chain_anchor head;
	char err[512], hex[CHAIN_HASH_HEX_LEN + 1], *buf;
	struct chain *c;
	json_t *rec = json_pack("{s:s,s:s,s:s,s:i,s:s,s:s}", "type", "daemon-start", "time",
				"2025-06-01T12:00:00.000000Z", "host", "build1", "pid", 812,
				"version", "0.1.0", "policy", "9f2c");
	size_t len;

	assert_int_equal(chain_open(f->dir, &c, err, sizeof(err)), 0);
	assert_int_equal(chain_append(c, rec), 0);
	assert_int_equal(chain_head(c, &head), 0);
	assert_int_equal(chain_close(c), 0);
	json_decref(rec);

	buf = file_read(f->path, &len);
	assert_string_equal(buf, GOLDEN_LINE "\n");
	hex_of(head.hash, hex);
	assert_string_equal(hex, GOLDEN_HASH);
	free(buf);
}

static void test_append_rejects(void **state)
{
	struct fixture *f = *state;
	struct verify_result r;
	char err[512];
	struct chain *c;
	json_t *bad[] = {
		json_pack("{s:i,s:s}", "seq", 4, "type", "x"),
		json_pack("{s:s,s:s}", "type", "x", "prev", ZERO_HEX),
		json_pack("[s]", "x"),
		json_pack("{s:o}", "object", json_stringn_nocheck("\xff\xfe", 2)),
	};
	json_t *good = sample_record(0);
	char *big = malloc(CHAIN_RECORD_MAX + 1);
	json_t *huge;

	assert_non_null(big);
	memset(big, 'x', CHAIN_RECORD_MAX);
	big[CHAIN_RECORD_MAX] = '\0';
	huge = json_pack("{s:s}", "object", big);

	assert_int_equal(chain_open(f->dir, &c, err, sizeof(err)), 0);
	assert_int_equal(chain_append(c, good), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(chain_append(c, bad[i]), -EINVAL);
		json_decref(bad[i]);
	}
	assert_int_equal(chain_append(c, huge), -EMSGSIZE);
	assert_int_equal(chain_next_seq(c), 1);
	assert_int_equal(chain_append(c, good), 1);
	assert_int_equal(chain_close(c), 0);

	assert_int_equal(chain_verify_path(f->path, &r), VERIFY_OK);
	assert_int_equal(r.records, 2);
	json_decref(good);
	json_decref(huge);
	free(big);
}

struct corrupt_case {
	const char *name;
	void (*mutate)(struct text *t, FILE *out);
	const char *message;
};

static const struct corrupt_case corrupt_cases[] = {
	{ "modified", mut_modify_string,
	  "fails verification at seq 4: record 4: modified (record 5 does not link to it" },
	{ "not JSON", mut_garbage, "fails verification at seq 3: record 3: not a JSON object" },
};

static void test_open_refuses_corrupt(void **state)
{
	struct fixture *f = *state;
	struct text *t = malloc(sizeof(*t));
	char err[1024], *buf, *after;
	size_t blen, alen;
	struct chain *c;
	FILE *out;

	assert_non_null(t);
	for (size_t i = 0; i < sizeof(corrupt_cases) / sizeof(corrupt_cases[0]); i++) {
		unlink(f->path);
		write_chain(f->dir, 20, sample_record, NULL);
		text_load(f->path, t);
		buf = NULL;
		out = open_memstream(&buf, &blen);
		corrupt_cases[i].mutate(t, out);
		fclose(out);
		file_write(f->path, buf, blen);

		c = (struct chain *)1;
		assert_int_equal(chain_open(f->dir, &c, err, sizeof(err)), -EBADMSG);
		assert_null(c);
		if (!strstr(err, f->path) || !strstr(err, corrupt_cases[i].message) ||
		    !strstr(err, "failing closed"))
			fail_msg("%s: '%s'", corrupt_cases[i].name, err);

		after = file_read(f->path, &alen);
		assert_int_equal(alen, blen);
		assert_memory_equal(after, buf, blen);
		free(after);
		free(buf);
		free(t->buf);
	}
	free(t);
}

/* A crash mid-write leaves a last line without its newline: chain_open
 * sets those bytes aside in a quarantine file, accounts for them, cuts
 * them off, and the chain goes on. */
static void test_open_quarantines_torn_tail(void **state)
{
	static const char torn[] = "{\"seq\":20,\"prev\":\"3f2a";
	struct fixture *f = *state;
	struct chain_recovery q;
	struct verify_result r;
	uint8_t digest[CHAIN_HASH_LEN];
	char err[512], hex[CHAIN_HASH_LEN * 2 + 1], qpath[256], *whole, *kept, *set_aside;
	size_t wlen, klen, qlen;
	struct chain *c;
	json_t *rec;

	write_chain(f->dir, 20, sample_record, NULL);
	whole = file_read(f->path, &wlen);
	whole = realloc(whole, wlen + sizeof(torn));
	assert_non_null(whole);
	memcpy(whole + wlen, torn, sizeof(torn) - 1);
	file_write(f->path, whole, wlen + sizeof(torn) - 1);

	assert_int_equal(chain_open(f->dir, &c, err, sizeof(err)), 0);
	assert_int_equal(chain_recovery(c, &q), 0);
	assert_int_equal(q.offset, wlen);
	assert_int_equal(q.length, sizeof(torn) - 1);
	assert_int_equal(EVP_Digest(torn, sizeof(torn) - 1, digest, NULL, EVP_sha256(), NULL), 1);
	chain_hash_hex(digest, hex);
	assert_string_equal(q.sha256, hex);
	snprintf(qpath, sizeof(qpath), "%s/%s", f->dir, q.quarantine);
	set_aside = file_read(qpath, &qlen);
	assert_int_equal(qlen, sizeof(torn) - 1);
	assert_memory_equal(set_aside, torn, qlen);

	assert_int_equal(chain_next_seq(c), 20);
	rec = json_pack("{s:s}", "type", "recovery");
	assert_int_equal(chain_append(c, rec), 20);
	json_decref(rec);
	assert_int_equal(chain_close(c), 0);
	kept = file_read(f->path, &klen);
	assert_true(klen > wlen);
	assert_memory_equal(kept, whole, wlen);
	assert_int_equal(chain_verify_path(f->dir, &r), VERIFY_OK);
	assert_int_equal(r.records, 21);
	free(whole);
	free(kept);
	free(set_aside);
}

static void test_open_refuses_symlink(void **state)
{
	struct fixture *f = *state;
	char err[512], target[160];
	struct chain *c;

	snprintf(target, sizeof(target), "%s/elsewhere", f->dir);
	assert_int_equal(symlink(target, f->path), 0);
	assert_int_equal(chain_open(f->dir, &c, err, sizeof(err)), -ELOOP);
	assert_non_null(strstr(err, "symbolic link"));
	assert_int_equal(access(target, F_OK), -1);
}

static void test_open_refuses_writable_dir(void **state)
{
	struct fixture *f = *state;
	char err[512];
	struct chain *c;

	assert_int_equal(chmod(f->dir, 0777), 0);
	assert_int_equal(chain_open(f->dir, &c, err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "mode 0777"));
	assert_non_null(strstr(err, f->dir));
}

static void test_open_second_writer(void **state)
{
	struct fixture *f = *state;
	struct chain *c1, *c2;
	char err[512];

	assert_int_equal(chain_open(f->dir, &c1, err, sizeof(err)), 0);
	assert_int_equal(chain_open(f->dir, &c2, err, sizeof(err)), -EWOULDBLOCK);
	assert_non_null(strstr(err, "locked"));
	assert_int_equal(chain_close(c1), 0);
}

static void test_open_creates(void **state)
{
	struct fixture *f = *state;
	char dir[160], err[512];
	struct chain *c;
	struct stat st;
	mode_t old = umask(022);

	snprintf(dir, sizeof(dir), "%s/audit/", f->dir);
	assert_int_equal(chain_open(dir, &c, err, sizeof(err)), 0);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(stat(chain_path(c), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_non_null(strstr(chain_path(c), "/audit/chain.jsonl"));
	assert_null(strstr(chain_path(c), "//"));
	assert_int_equal(chain_close(c), 0);
	umask(old);
}

/* Records reach the file only at a flush, or a whole buffer at a time. */
static void test_group_commit(void **state)
{
	struct fixture *f = *state;
	struct verify_result r;
	char err[512];
	struct chain *c;
	json_t *rec = sample_record(0);
	uint64_t n = 0;

	assert_int_equal(chain_open(f->dir, &c, err, sizeof(err)), 0);
	for (int i = 0; i < 100; i++)
		assert_true(chain_append(c, rec) >= 0);
	assert_int_equal(file_size(f->path), 0);
	assert_int_equal(chain_flush(c, false), 0);
	assert_int_equal(chain_verify_path(f->path, &r), VERIFY_OK);
	assert_int_equal(r.records, 100);

	while (file_size(f->path) == (off_t)r.bytes)
		assert_true(chain_append(c, rec) >= 0 && ++n < 100000);
	/* Append n wrote out the buffer before taking its place: whole records. */
	assert_int_equal(chain_verify_path(f->path, &r), VERIFY_OK);
	assert_int_equal(r.records, 100 + n - 1);

	assert_int_equal(chain_close(c), 0);
	assert_int_equal(chain_verify_path(f->path, &r), VERIFY_OK);
	assert_int_equal(r.records, 100 + n);
	json_decref(rec);
}

/* A failed write keeps what did not reach the file; a later flush succeeds. */
static void test_write_error_keeps_records(void **state)
{
	struct fixture *f = *state;
	struct rlimit saved, small;
	struct verify_result r;
	char err[512];
	struct chain *c;
	json_t *rec = sample_record(0);
	int64_t seq;
	off_t size;

	assert_int_equal(chain_open(f->dir, &c, err, sizeof(err)), 0);
	for (int i = 0; i < 10; i++)
		assert_true(chain_append(c, rec) >= 0);
	assert_int_equal(chain_flush(c, true), 0);
	size = file_size(f->path);

	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved), 0);
	small = saved;
	small.rlim_cur = (rlim_t)size + 100;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
	for (int i = 0; i < 20; i++)
		assert_true(chain_append(c, rec) >= 0);
	assert_int_equal(chain_flush(c, false), -EFBIG);
	assert_int_equal(file_size(f->path), size + 100);
	assert_int_equal(chain_flush(c, true), -EFBIG);

	/* Once the buffer is full, an append fails and takes no seq. */
	while ((seq = chain_append(c, rec)) >= 0)
		assert_true(seq < 100000);
	assert_int_equal(seq, -EFBIG);
	seq = (int64_t)chain_next_seq(c);
	assert_int_equal(chain_append(c, rec), -EFBIG);
	assert_int_equal(chain_next_seq(c), seq);

	assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved), 0);
	signal(SIGXFSZ, SIG_DFL);
	assert_int_equal(chain_append(c, rec), seq);
	assert_int_equal(chain_close(c), 0);
	assert_int_equal(chain_verify_path(f->path, &r), VERIFY_OK);
	assert_int_equal(r.records, seq + 1);
	json_decref(rec);
}

static void test_anchor(void **state)
{
	struct fixture *f = *state;
	struct chain_anchor head, mid;
	struct verify_result r;
	struct text *t = malloc(sizeof(*t));

	assert_non_null(t);
	write_chain(f->dir, 20, sample_record, &head);
	text_load(f->path, t);
	assert_int_equal(chain_verify_buf(t->buf, t->len, &head, &r), VERIFY_OK);

	/* An anchor in the middle: the records after it are fine too. */
	assert_int_equal(chain_verify_buf(t->buf, t->off[11], NULL, &r), VERIFY_OK);
	mid.seq = r.last_seq;
	memcpy(mid.hash, r.last_hash, CHAIN_HASH_LEN);
	assert_int_equal(chain_verify_buf(t->buf, t->len, &mid, &r), VERIFY_OK);

	/* Cutting whole records off the end is invisible without one. */
	assert_int_equal(chain_verify_buf(t->buf, t->off[17], NULL, &r), VERIFY_OK);
	assert_int_equal(chain_verify_buf(t->buf, t->off[17], &head, &r), VERIFY_TAMPERED);
	assert_int_equal(r.bad_seq, 17);
	assert_non_null(strstr(r.reason, "chain ends at seq 16, before anchored record 19"));

	head.hash[0] ^= 1;
	assert_int_equal(chain_verify_buf(t->buf, t->len, &head, &r), VERIFY_TAMPERED);
	assert_int_equal(r.bad_seq, 19);
	assert_non_null(strstr(r.reason, "record 19: hash does not match the anchor"));
	free(t->buf);
	free(t);
}

/*
 * Lines the writer never produces but a JSON reader accepts are judged by
 * their JSON values, not their spelling. Each line is record 1 of a chain
 * of three; %s is replaced by the right prev, %S by it in uppercase, and
 * %E by it with its first digit written as a \u escape.
 */
struct odd_line_case {
	const char *line;
	enum verify_status status;
	const char *reason;
};

static const struct odd_line_case odd_line_cases[] = {
	{ "{ \"seq\" : 1 , \"prev\" : \"%s\" }", VERIFY_OK, "" },
	{ "{\"prev\":\"%s\",\"seq\":1}", VERIFY_OK, "" },
	{ "{\"seq\":1,\"prev\":\"%s\"} \r", VERIFY_OK, "" },
	{ "{\"seq\":1,\"prev\":\"%E\"}", VERIFY_OK, "" },
	{ "{\"seq\":1,\"prev\":\"%s\",\"s\":\"a\\u0000b\"}", VERIFY_OK, "" },
	/* The records after link to this one as it stands, so record 0 is the
	 * one no longer vouched for. */
	{ "{\"seq\":1,\"prev\":\"%S\"}", VERIFY_TAMPERED, "record 0: modified" },
	{ "{\"seq\":1,\"prev\":\"%s\",\"seq\":1}", VERIFY_TAMPERED, "duplicate object key" },
	{ "{\"seq\":1,\"prev\":\"%s\",\"prev\":\"%s\"}", VERIFY_TAMPERED, "duplicate" },
	{ "{\"seq\":1.0,\"prev\":\"%s\"}", VERIFY_TAMPERED, "\"seq\" missing or not an integer" },
	{ "{\"seq\":1e0,\"prev\":\"%s\"}", VERIFY_TAMPERED, "not an integer" },
	{ "{\"seq\":01,\"prev\":\"%s\"}", VERIFY_TAMPERED, "not a JSON object" },
	{ "{\"seq\":-1,\"prev\":\"%s\"}", VERIFY_TAMPERED, "seq -1 where 1 expected" },
	{ "{\"seq\":18446744073709551617,\"prev\":\"%s\"}", VERIFY_TAMPERED, "not a JSON object" },
	{ "{\"seq\":1}", VERIFY_TAMPERED, "\"prev\" missing or not a string" },
	{ "{\"seq\":1,\"prev\":\"%s\"}{}", VERIFY_TAMPERED, "not a JSON object" },
	{ "{\"seq\":1,\"prev\":\"%s\",\"s\":\"\xff\"}", VERIFY_TAMPERED, "not a JSON object" },
	{ "{\"seq\":1,\"prev\":\"%s\"", VERIFY_TAMPERED, "not a JSON object" },
	{ "{\"seq\":1,\"prev\":\"%s\",\"s\":\"\x1b[31m\"}", VERIFY_TAMPERED, "not a JSON object" },
};

static void odd_line_expand(const char *tmpl, const char *hex, FILE *out)
{
	for (const char *p = tmpl; *p; p++) {
		if (p[0] != '%' || !p[1]) {
			fputc(*p, out);
			continue;
		}
		p++;
		if (*p == 's')
			fputs(hex, out);
		else if (*p == 'S')
			for (const char *h = hex; *h; h++)
				fputc(*h >= 'a' ? *h - ('a' - 'A') : *h, out);
		else
			fprintf(out, "\\u%04x%s", (unsigned int)hex[0], hex + 1);
	}
}

/* Line 0 is real; line 1 is the case; line 2 links to line 1 as written. */
static char *odd_chain(const char *tmpl, size_t *len)
{
	const char *line0 = "{\"seq\":0,\"prev\":\"" ZERO_HEX "\",\"type\":\"t\"}";
	uint8_t zero[CHAIN_HASH_LEN] = { 0 }, h0[CHAIN_HASH_LEN], h1[CHAIN_HASH_LEN];
	char hex[CHAIN_HASH_HEX_LEN + 1], *line1 = NULL, *buf = NULL;
	size_t len1;
	FILE *out;

	chain_hash_record(line0, strlen(line0), zero, h0);
	hex_of(h0, hex);
	out = open_memstream(&line1, &len1);
	odd_line_expand(tmpl, hex, out);
	fclose(out);
	chain_hash_record(line1, len1, h0, h1);
	hex_of(h1, hex);

	out = open_memstream(&buf, len);
	fprintf(out, "%s\n%s\n{\"seq\":2,\"prev\":\"%s\",\"type\":\"t\"}\n", line0, line1, hex);
	fclose(out);
	free(line1);
	return buf;
}

static void test_odd_lines(void **state)
{
	struct verify_result r;
	size_t len;
	char *buf;

	(void)state;
	for (size_t i = 0; i < sizeof(odd_line_cases) / sizeof(odd_line_cases[0]); i++) {
		const struct odd_line_case *oc = &odd_line_cases[i];

		buf = odd_chain(oc->line, &len);
		chain_verify_buf(buf, len, NULL, &r);
		if (r.status != oc->status ||
		    (oc->status && r.bad_seq != (strstr(oc->reason, "record 0") ? 0u : 1u)) ||
		    !strstr(r.reason, oc->reason))
			fail_msg("row %zu '%s': status %d bad_seq %" PRIu64 " reason '%s'", i,
				 oc->line, r.status, r.bad_seq, r.reason);
		if (oc->status == VERIFY_OK)
			assert_int_equal(r.records, 3);
		for (const char *p = r.reason; *p; p++)
			assert_true(*p >= 0x20 && *p <= 0x7e);
		free(buf);
	}
}

static size_t record_of(const struct text *t, size_t byte)
{
	size_t k = 0;

	while (t->off[k + 1] <= byte)
		k++;
	return k;
}

/*
 * Flip every byte of a 200-record chain in turn. With the head as anchor
 * each flip must be caught at its record or the next one; before the last
 * record the chain alone must catch it. Without an anchor a flip inside a
 * string of the last record cannot be seen: that is counted, not hidden.
 */
static void test_flip_every_byte(void **state)
{
	struct fixture *f = *state;
	struct chain_anchor head;
	struct verify_result r;
	struct text *t = malloc(sizeof(*t));
	size_t last_start, unseen = 0;
	uint64_t k;

	assert_non_null(t);
	write_chain(f->dir, 200, small_record, &head);
	text_load(f->path, t);
	last_start = t->off[t->n - 1];

	for (size_t i = 0; i < t->len; i++) {
		t->buf[i] ^= 0x01;
		k = record_of(t, i);
		chain_verify_buf(t->buf, t->len, &head, &r);
		if (r.status != VERIFY_TAMPERED || r.bad_seq < k || r.bad_seq > k + 1 ||
		    (k < head.seq && strstr(r.reason, "anchor")))
			fail_msg("flip of byte %zu (record %" PRIu64
				 ") : status %d bad_seq %" PRIu64 " '%s'",
				 i, k, r.status, r.bad_seq, r.reason);
		if (i >= last_start && chain_verify_buf(t->buf, t->len, NULL, &r) == VERIFY_OK)
			unseen++;
		t->buf[i] ^= 0x01;
	}
	assert_int_equal(chain_verify_buf(t->buf, t->len, NULL, &r), VERIFY_OK);
	printf("    flipped %zu bytes, all caught; %zu of the %zu flips in the last record "
	       "need the anchor\n",
	       t->len, unseen, t->len - last_start);
	free(t->buf);
	free(t);
}

/*
 * A chain large enough for the first pass to run on several threads, with
 * two faults: whichever comes first in the file is the one reported.
 */
static void test_large_chain_first_fault(void **state)
{
	struct fixture *f = *state;
	struct verify_result r;
	char *buf;
	size_t len, early, late;
	uint64_t n = 60000;

	write_chain(f->dir, n, sample_record, NULL);
	buf = file_read(f->path, &len);
	assert_true(len > (8u << 20));
	assert_int_equal(chain_verify_buf(buf, len, NULL, &r), VERIFY_OK);
	assert_int_equal(r.records, n);

	/* Not JSON late in the file, a broken link early: the link wins. */
	late = (size_t)((char *)memchr(buf + len / 10 * 9, '\n', len / 10) - buf) + 1;
	early = (size_t)((char *)memchr(buf + len / 10 * 6, '\n', len / 10) - buf) + 1;
	buf[late] = 'x';
	buf[early + 10] ^= 0x01;
	chain_verify_buf(buf, len, NULL, &r);
	assert_int_equal(r.status, VERIFY_TAMPERED);
	assert_true(r.bad_seq > n / 2 && r.bad_seq < n / 10 * 9);
	assert_null(strstr(r.reason, "not a JSON object"));
	assert_int_equal(r.records, r.bad_seq);

	/* The other way round: the early JSON fault wins. */
	buf[early + 10] ^= 0x01;
	buf[early] = 'x';
	buf[late] = '{';
	buf[late + 10] ^= 0x01;
	chain_verify_buf(buf, len, NULL, &r);
	assert_int_equal(r.status, VERIFY_TAMPERED);
	assert_true(r.bad_seq > n / 2 && r.bad_seq < n / 10 * 9);
	assert_non_null(strstr(r.reason, "not a JSON object"));
	assert_int_equal(r.records, r.bad_seq);
	free(buf);
}

static void test_verify_io(void **state)
{
	struct fixture *f = *state;
	struct verify_result r;
	char missing[160];

	assert_int_equal(chain_verify_path(f->dir, &r), VERIFY_IO);
	assert_non_null(strstr(r.reason, f->path));
	assert_non_null(strstr(r.reason, "No such file"));

	snprintf(missing, sizeof(missing), "%s/nothing", f->dir);
	assert_int_equal(chain_verify_path(missing, &r), VERIFY_IO);
	assert_non_null(strstr(r.reason, missing));
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A figure for the log, never an assertion: machines differ. */
static void test_throughput(void **state)
{
	struct fixture *f = *state;
	struct verify_result r;
	char err[512];
	struct chain *c;
	json_t *rec = sample_record(0);
	int n = SANITIZED ? 20000 : 300000;
	double t0, t1, t2, t3;

	json_object_set_new(rec, "policy", json_string(ZERO_HEX));
	assert_int_equal(chain_open(f->dir, &c, err, sizeof(err)), 0);
	t0 = now();
	for (int i = 0; i < n; i++)
		assert_true(chain_append(c, rec) >= 0);
	assert_int_equal(chain_flush(c, false), 0);
	t1 = now();
	assert_int_equal(chain_close(c), 0);
	t2 = now();
	assert_int_equal(chain_verify_path(f->path, &r), VERIFY_OK);
	t3 = now();
	printf("    append: %.0f records/s of %" PRIu64 " bytes; verify: %.0f records/s, "
	       "%.0f MB/s%s\n",
	       n / (t1 - t0), r.bytes / (uint64_t)n, n / (t3 - t2),
	       (double)r.bytes / (t3 - t2) / 1e6, SANITIZED ? " (sanitized build)" : "");
	json_decref(rec);
}

#define T(name) cmocka_unit_test_setup_teardown(name, fixture_setup, fixture_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden_hash),
		T(test_golden_written),
		T(test_append_verify),
		T(test_line_format),
		T(test_shared_value_changes),
		T(test_encode_cases),
		cmocka_unit_test(test_rec_reuse),
		T(test_empty_record),
		T(test_reopen_continues),
		T(test_append_rejects),
		T(test_tamper_table),
		cmocka_unit_test(test_odd_lines),
		T(test_anchor),
		T(test_flip_every_byte),
		T(test_large_chain_first_fault),
		T(test_open_refuses_corrupt),
		T(test_open_quarantines_torn_tail),
		T(test_open_refuses_symlink),
		T(test_open_refuses_writable_dir),
		T(test_open_second_writer),
		T(test_open_creates),
		T(test_group_commit),
		T(test_write_error_keeps_records),
		T(test_verify_io),
		T(test_throughput),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
