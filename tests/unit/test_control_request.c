// SPDX-License-Identifier: GPL-2.0-only
/*
 * Control requests: which messages pinfoldd acts on and which it refuses
 * before anything happens, and the fuzz corpus replayed under the
 * sanitizers. A message found to misbehave is one more row, or one more
 * file in tests/fuzz/control.
 */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <sys/socket.h>
#include <unistd.h>

#include "daemon/proto.h"

#define CORPUS "tests/fuzz/control"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct request_case {
	const char *msg;
	const char *verb;	/* the verb accepted, NULL: refused */
	const char *error;	/* a part of the refusal */
};

static const struct request_case request_cases[] = {
	{ "{\"verb\":\"status\"}", "status", NULL },
	{ "{\"verb\":\"reload\"}", "reload", NULL },
	{ "{\"verb\":\"signal\",\"signal\":2}", "signal", NULL },
	{ "{\"verb\":\"run\",\"agent\":\"a\",\"argv\":[\"x\"]}", "run", NULL },
	{ "{\"verb\":\"run\",\"agent\":\"a\",\"argv\":[\"x\"],\"env\":[],\"workspace\":\"/w\"}",
	  "run", NULL },
	{ "{}", NULL, "no \"verb\"" },
	{ "{\"verb\":7}", NULL, "no \"verb\"" },
	{ "{\"verb\":\"frob\"}", NULL, "unknown verb 'frob'" },
	{ "{\"verb\":\"STATUS\"}", NULL, "unknown verb" },
	{ "{\"verb\":\"status\",\"x\":1}", NULL, "left unpacked: x" },
	{ "{\"verb\":\"signal\"}", NULL, "signal" },
	{ "{\"verb\":\"signal\",\"signal\":\"9\"}", NULL, "bad 'signal' request" },
	{ "{\"verb\":\"run\",\"argv\":[\"x\"]}", NULL, "agent" },
	{ "{\"verb\":\"run\",\"agent\":\"a\"}", NULL, "argv" },
	{ "{\"verb\":\"run\",\"agent\":\"a\",\"argv\":[]}", NULL, "1 to 4096 strings" },
	{ "{\"verb\":\"run\",\"agent\":\"a\",\"argv\":\"sh\"}", NULL, "1 to 4096 strings" },
	{ "{\"verb\":\"run\",\"agent\":\"a\",\"argv\":[\"x\",1]}", NULL, "\"argv\"[1]" },
	{ "{\"verb\":\"run\",\"agent\":\"a\",\"argv\":[\"x\"],\"env\":[null]}", NULL,
	  "\"env\"[0]" },
	{ "{\"verb\":\"run\",\"agent\":1,\"argv\":[\"x\"]}", NULL, "bad 'run' request" },
	{ "{\"verb\":\"run\",\"agent\":\"a\",\"argv\":[\"x\"],\"uid\":0}", NULL,
	  "left unpacked: uid" },
};

static void test_request_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(request_cases) / sizeof(request_cases[0]); i++) {
		const struct request_case *c = &request_cases[i];
		char err[512] = "";
		const struct proto_verb *v;
		json_t *m;

		assert_int_equal(proto_decode(c->msg, strlen(c->msg), &m), 0);
		v = proto_request_check(m, err, sizeof(err));
		if (c->verb) {
			if (!v)
				fail_msg("row %zu %s: refused: %s", i, c->msg, err);
			assert_string_equal(v->name, c->verb);
		} else {
			if (v)
				fail_msg("row %zu %s: accepted as '%s'", i, c->msg, v->name);
			if (!strstr(err, c->error))
				fail_msg("row %zu %s: error '%s' lacks '%s'", i, c->msg, err,
					 c->error);
		}
		json_decref(m);
	}
}

static void test_decode_refuses(void **state)
{
	static const char *const bad[] = { "", "nope", "[1]", "\"s\"", "{\"verb\":",
					   "{\"a\":1,\"a\":2}", "{} {}" };
	json_t *m;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(proto_decode(bad[i], strlen(bad[i]), &m), -EBADMSG);
		assert_null(m);
	}
}

/* Every verb's access class is one the daemon knows how to check. */
static void test_verb_access(void **state)
{
	static const char *const names[] = { "run", "signal", "status", "reload" };

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const struct proto_verb *v = proto_verb_find(names[i]);

		assert_non_null(v);
		assert_string_not_equal(proto_access_name(v->access), "?");
	}
	assert_int_equal(proto_verb_find("reload")->access, ACCESS_ADMIN);
	assert_int_equal(proto_verb_find("status")->access, ACCESS_READ);
	assert_int_equal(proto_verb_find("run")->access, ACCESS_DISPATCH);
}

/* proto_recv() on what a client sends: a message of some size with some
 * descriptors attached (dups of stdin), and the answer it must get. */
struct recv_case {
	size_t len;		/* bytes of the message: '{}' padded with spaces */
	int nfds;
	int want;		/* 0 or a negative errno */
};

static const struct recv_case recv_cases[] = {
	{ 2, 0, 0 },
	{ 2, 1, 0 },
	{ 2, 3, 0 },
	{ 2, 4, -ETOOMANYREFS },	/* one more than PROTO_FDS_MAX */
	{ 2, 6, -ETOOMANYREFS },	/* fills the control buffer exactly */
	{ 2, 7, -ETOOMANYREFS },	/* cut by the kernel: MSG_CTRUNC */
	{ 2, 253, -ETOOMANYREFS },	/* SCM_MAX_FD, the most one message holds */
	{ PROTO_MSG_MAX, 3, 0 },
	{ PROTO_MSG_MAX + 1, 0, -EMSGSIZE },
	{ PROTO_MSG_MAX + 1, 7, -EMSGSIZE },
};

static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* Send len bytes with nfds dups of stdin, past proto_send()'s limits as
 * a hostile client would. */
static void send_raw(int sock, size_t len, int nfds)
{
	static char buf[PROTO_MSG_MAX + 1];
	int fds[253] = { 0 };

	memset(buf, ' ', len);
	memcpy(buf, "{}", 2);
	for (int i = 0; i < nfds; i++)
		assert_true((fds[i] = dup(0)) >= 0);
	assert_int_equal(proto_send_bytes(sock, buf, len, fds, nfds), 0);
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
}

/* Each case gets its own answer, and a refused message leaves none of
 * its descriptors open in the receiver. */
static void test_recv_limits(void **state)
{
	int sv[2], fds[PROTO_FDS_MAX], nfds, before, rc, sndbuf = 4 * PROTO_MSG_MAX;
	json_t *m;

	(void)state;
	for (size_t i = 0; i < sizeof(recv_cases) / sizeof(recv_cases[0]); i++) {
		const struct recv_case *c = &recv_cases[i];

		assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
		assert_int_equal(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf,
					    sizeof(sndbuf)), 0);
		before = open_fds();
		send_raw(sv[0], c->len, c->nfds);
		rc = proto_recv(sv[1], &m, fds, &nfds);
		if (rc != c->want)
			fail_msg("recv_cases[%zu] (%zu bytes, %d fds): %d, want %d", i, c->len,
				 c->nfds, rc, c->want);
		assert_int_equal(open_fds() - before, rc ? 0 : nfds);
		assert_int_equal(nfds, rc ? 0 : c->nfds);
		for (int k = 0; k < nfds; k++)
			close(fds[k]);
		json_decref(m);
		close(sv[0]);
		close(sv[1]);
	}
}

static void replay(const char *path)
{
	static uint8_t buf[PROTO_MSG_MAX + 1];
	FILE *f = fopen(path, "rb");
	size_t n;

	if (!f)
		fail_msg("cannot open '%s': %s", path, strerror(errno));
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	LLVMFuzzerTestOneInput(buf, n);
}

static void test_corpus_replay(void **state)
{
	struct dirent *e;
	char path[4096];
	size_t n = 0;
	DIR *dir;

	(void)state;
	dir = opendir(CORPUS);
	if (!dir)
		fail_msg("cannot open '%s': %s", CORPUS, strerror(errno));
	while ((e = readdir(dir))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", CORPUS, e->d_name);
		replay(path);
		n++;
	}
	closedir(dir);
	assert_true(n >= 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_cases),
		cmocka_unit_test(test_decode_refuses),
		cmocka_unit_test(test_verb_access),
		cmocka_unit_test(test_recv_limits),
		cmocka_unit_test(test_corpus_replay),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
