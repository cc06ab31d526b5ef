// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench_policy: the cost of policy decisions from the compiled structures
 * at 10, 1,000 and 10,000 rules, and of loading and compiling a 10,000-rule
 * configuration, generated into a temporary directory.
 *
 * Each configuration is one agent holding a role; half of the rules are
 * path grants (with a denial every tenth), half connect grants over
 * distinct /24 prefixes with a denial every tenth. Decisions are timed in
 * batches of BATCH with CLOCK_MONOTONIC, so the clock's own cost is
 * spread over the batch; the figures are the median and the 99th
 * percentile of the per-decision time over SAMPLES batches.
 */
#include <arpa/inet.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "policy/policy.h"

#define BATCH 64
#define SAMPLES 2000
#define LOADS 9

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void write_config(const char *dir, int rules)
{
	char path[PATH_MAX];
	FILE *a, *r;

	snprintf(path, sizeof(path), "%s/agents.d", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/roles.d", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/agents.d/bench.ini", dir);
	a = fopen(path, "w");
	snprintf(path, sizeof(path), "%s/roles.d/wide.ini", dir);
	r = fopen(path, "w");
	if (!a || !r) {
		perror("bench_policy: cannot write the configuration");
		exit(1);
	}
	fprintf(a, "[agent]\nroles = wide\n[files]\n");
	for (int i = 0; i < rules / 2; i++)
		fprintf(a, "%s = /data/d%d/s%d\n", i % 10 == 9 ? "deny" : "read", i % 97, i);
	fprintf(r, "[network]\n");
	for (int i = 0; i < rules - rules / 2; i++)
		fprintf(r, "%s = 10.%d.%d.0/24 %d\n", i % 10 == 9 ? "deny" : "connect",
			(i / 256) % 256, i % 256, 1000 + i % 50);
	fclose(a);
	fclose(r);
}

static void rm_tree(const char *dir)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		fprintf(stderr, "bench_policy: could not remove '%s'\n", dir);
}

struct compiled {
	struct policy *p;
	struct grants *g;
	struct net_index *ix;
};

/* Load and compile as the daemon does for a session. */
static int compile(const char *dir, struct compiled *c)
{
	const struct agent *a;
	struct perm_req r;
	struct net_entry *t;
	struct net_grant *v;
	struct diag d = { 0 };
	size_t nv;
	int nt;

	if (policy_load(dir, &c->p, &d)) {
		for (size_t i = 0; i < d.n; i++)
			fprintf(stderr, "%s\n", d.msgs[i]);
		return -1;
	}
	a = policy_agent(c->p, "bench");
	r = (struct perm_req){ .p = c->p, .a = a, .vars = { "/ws", "/home/b", "b" } };
	c->g = grants_for(&r, &d);
	if (!c->g || net_list_for(&r, &v, &nv) < 0)
		return -1;
	nt = net_table(v, nv, a->file, &t, &d);
	free(v);
	if (nt < 0)
		return -1;
	c->ix = net_index_build(t, nt);
	free(t);
	diag_free(&d);
	return c->ix ? 0 : -1;
}

static void release(struct compiled *c)
{
	grants_free(c->g);
	net_index_free(c->ix);
	policy_free(c->p);
}

enum action { OPEN, EXEC, CONNECT };
static const char *const action_names[] = { "open", "exec", "connect" };

/* Requests made before the clock starts, varied so that caches do not
 * see one path: NREQ of each kind, used round robin. */
#define NREQ 4096
static char open_paths[NREQ][96], exec_paths[NREQ][48];
static uint8_t addrs[NREQ][16];

static void make_requests(int rules)
{
	int paths = rules / 2 > 0 ? rules / 2 : 1;

	for (unsigned i = 0; i < NREQ; i++) {
		unsigned k = (i * 2654435761u) % (unsigned)paths;

		snprintf(open_paths[i], sizeof(open_paths[i]), "/data/d%u/s%u/src/file%u.c",
			 k % 97, k, i);
		snprintf(exec_paths[i], sizeof(exec_paths[i]), "/usr/bin/tool%u", i % 64);
		memset(addrs[i], 0, 16);
		addrs[i][10] = addrs[i][11] = 0xff;
		addrs[i][12] = 10;
		addrs[i][13] = (uint8_t)(k / 256 % 256);
		addrs[i][14] = (uint8_t)(k % 256);
		addrs[i][15] = (uint8_t)(i % 200 + 1);
	}
}

static bool decide(const struct compiled *c, enum action act, unsigned i)
{
	i %= NREQ;
	switch (act) {
	case OPEN:
		return grants_check_path(c->g, open_paths[i], ACC_READ, NULL);
	case EXEC:
		return grants_check_path(c->g, exec_paths[i], ACC_EXEC, NULL);
	case CONNECT:
		return net_index_check(c->ix, addrs[i], (uint16_t)(1000 + i % 60), NULL);
	}
	return false;
}

static void time_decisions(const struct compiled *c, int rules)
{
	static double per[SAMPLES];
	volatile unsigned sink = 0;

	for (int act = OPEN; act <= CONNECT; act++) {
		for (int s = 0; s < SAMPLES; s++) {
			double t0 = now_ns();

			for (unsigned k = 0; k < BATCH; k++)
				sink += decide(c, (enum action)act, (unsigned)s * BATCH + k);
			per[s] = (now_ns() - t0) / BATCH;
		}
		qsort(per, SAMPLES, sizeof(per[0]), cmp_double);
		printf("  %6d rules  %-8s median %7.0f ns   p99 %7.0f ns\n", rules,
		       action_names[act], per[SAMPLES / 2], per[SAMPLES * 99 / 100]);
	}
	(void)sink;
}

static void bench_size(int rules)
{
	char dir[] = "/tmp/pinfold-bench-policy.XXXXXX";
	struct compiled c = { 0 };

	if (!mkdtemp(dir)) {
		perror("bench_policy: mkdtemp");
		exit(1);
	}
	write_config(dir, rules);
	make_requests(rules);
	if (compile(dir, &c) < 0) {
		fprintf(stderr, "bench_policy: the %d-rule configuration did not compile\n", rules);
		exit(1);
	}
	time_decisions(&c, rules);
	release(&c);
	rm_tree(dir);
}

static void bench_load(int rules)
{
	char dir[] = "/tmp/pinfold-bench-policy.XXXXXX";
	double t[LOADS];

	if (!mkdtemp(dir)) {
		perror("bench_policy: mkdtemp");
		exit(1);
	}
	write_config(dir, rules);
	for (int i = 0; i < LOADS; i++) {
		struct compiled c = { 0 };
		double t0 = now_ns();

		if (compile(dir, &c) < 0)
			exit(1);
		t[i] = (now_ns() - t0) / 1e6;
		release(&c);
	}
	qsort(t, LOADS, sizeof(t[0]), cmp_double);
	printf("  load and compile %d rules: median %.1f ms (min %.1f, max %.1f, %d runs)\n",
	       rules, t[LOADS / 2], t[0], t[LOADS - 1], LOADS);
	rm_tree(dir);
}

int main(void)
{
	printf("policy decisions from the compiled structures (batches of %d, %d batches):\n",
	       BATCH, SAMPLES);
	bench_size(10);
	bench_size(1000);
	bench_size(10000);
	bench_load(10000);
	return 0;
}
