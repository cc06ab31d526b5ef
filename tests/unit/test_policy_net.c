// SPDX-License-Identifier: GPL-2.0-only
/*
 * Network decisions and the folded LPM table. The grants are those of
 * tests/fixtures/policy/net/agents.d/n.ini, named here by line. The table
 * must give the same answer as agent_check_connect() for every address
 * and port: that is checked on the fixture and on random policies.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"

#define FIXTURE "tests/fixtures/policy/net"

/* IPv6 text as it is, IPv4 text as ::ffff:a.b.c.d. */
static void parse_addr(const char *s, uint8_t addr[16])
{
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };

	if (inet_pton(AF_INET6, s, addr) == 1)
		return;
	memcpy(addr, mapped, 12);
	assert_int_equal(inet_pton(AF_INET, s, addr + 12), 1);
}

struct net_case {
	const char *addr;
	uint16_t port;
	int line;		/* of the deciding grant; 0: denied */
};

static const struct net_case net_cases[] = {
	{ "10.9.9.9", 443, 4 },
	{ "10.9.9.9", 80, 0 },
	{ "10.1.5.5", 80, 5 },
	{ "10.1.5.5", 443, 12 },	/* the /16 beats the /8 */
	{ "10.1.5.5", 444, 13 },
	{ "10.1.5.5", 8000, 5 },
	{ "10.1.5.5", 8099, 5 },
	{ "10.1.5.5", 8100, 0 },
	{ "10.1.5.5", 7999, 0 },
	{ "10.1.2.3", 22, 6 },
	{ "10.1.2.3", 80, 5 },		/* folded down from the /16 */
	{ "10.1.2.3", 443, 12 },
	{ "10.1.2.3", 53, 7 },		/* folded down from 0.0.0.0/0 */
	{ "10.1.2.3", 23, 0 },
	{ "10.1.2.4", 22, 0 },
	{ "10.1.2.2", 22, 0 },
	{ "8.8.8.8", 53, 7 },
	{ "8.8.8.8", 54, 0 },
	{ "0.0.0.0", 53, 7 },
	{ "255.255.255.255", 53, 7 },
	{ "169.254.169.254", 80, 0 },
	{ "169.254.169.254", 53, 7 },
	{ "192.168.1.1", 0, 11 },
	{ "192.168.1.1", 1, 0 },
	{ "172.16.5.5", 5432, 14 },	/* written in IPv6 form */
	{ "172.16.5.5", 5433, 15 },
	{ "172.32.0.1", 5432, 0 },
	/* IPv4-mapped IPv6 is the same address as the IPv4 one. */
	{ "::ffff:10.1.2.3", 22, 6 },
	{ "::ffff:8.8.8.8", 53, 7 },
	{ "::ffff:0:0", 53, 7 },
	/* Not mapped: NAT64 and IPv4-compatible forms are other addresses. */
	{ "64:ff9b::808:808", 53, 0 },
	{ "::8.8.8.8", 53, 0 },
	{ "::1", 0, 8 },
	{ "::1", 65535, 8 },
	{ "::2", 80, 0 },
	{ "::", 53, 0 },
	{ "2001:db8:1::5", 8443, 10 },
	{ "2001:db8:1::5", 443, 10 },
	{ "2001:db8:2::1", 443, 9 },
	{ "2001:db8:2::1", 8443, 0 },
	{ "2001:db9::1", 443, 0 },
	{ "fe80::1", 53, 0 },
};

static void test_net_decisions(void **state)
{
	struct policy *p = NULL;
	const struct agent *a;
	const struct rule *r;
	size_t i, failed = 0;
	uint8_t addr[16];
	uint32_t rule;
	bool allow;

	(void)state;
	assert_int_equal(policy_load(FIXTURE, &p, NULL), 0);
	a = policy_agent(p, "n");
	for (i = 0; i < sizeof(net_cases) / sizeof(net_cases[0]); i++) {
		const struct net_case *c = &net_cases[i];

		parse_addr(c->addr, addr);
		rule = 12345;
		allow = agent_check_connect(a, addr, c->port, &rule);
		r = policy_rule(p, rule);
		if (c->line ? allow && r && r->line == c->line
			    : !allow && rule == 0)
			continue;
		print_message("net_cases[%zu] %s port %u: %s by line %d, want "
			      "%d\n", i, c->addr, c->port,
			      allow ? "allowed" : "denied", r ? r->line : 0,
			      c->line);
		failed++;
	}
	assert_false(agent_check_connect(a, addr, 1, NULL));
	policy_free(p);
	assert_int_equal(failed, 0);
}

/* IPv4 is kept mapped, its prefix counted in IPv6 bits. */
static void test_net_storage(void **state)
{
	static const uint8_t ten[16] = { [10] = 0xff, [11] = 0xff, [12] = 10 };
	char text[NET_PREFIX_STRLEN];
	struct policy *p = NULL;
	const struct agent *a;

	(void)state;
	assert_int_equal(policy_load(FIXTURE, &p, NULL), 0);
	a = policy_agent(p, "n");
	assert_memory_equal(a->nets[0].addr, ten, 16);
	assert_int_equal(a->nets[0].prefix, 104);
	assert_int_equal(a->nets[0].port_lo, 443);
	assert_int_equal(a->nets[0].port_hi, 443);
	/* "80,8000-8099" is two grants of one rule. */
	assert_int_equal(a->nets[1].rule, a->nets[2].rule);
	assert_int_equal(a->nets[2].port_lo, 8000);
	assert_int_equal(a->nets[2].port_hi, 8099);
	assert_int_equal(a->nets[3].prefix, 128);
	assert_int_equal(a->nets[4].prefix, 96);
	assert_int_equal(a->nets[5].port_lo, 0);
	assert_int_equal(a->nets[5].port_hi, 65535);
	net_prefix_format(a->nets[0].addr, a->nets[0].prefix, text,
			  sizeof(text));
	assert_string_equal(text, "10.0.0.0/8");
	net_prefix_format(a->nets[6].addr, a->nets[6].prefix, text,
			  sizeof(text));
	assert_string_equal(text, "2001:db8::/32");
	policy_free(p);
}

static const struct net_entry *lpm_entry(const struct net_entry *t,
					 int n, const uint8_t addr[16])
{
	const struct net_entry *best = NULL;
	unsigned bit;
	int i;
	bool in;

	for (i = 0; i < n; i++) {
		in = true;
		for (bit = 0; in && bit < t[i].prefix; bit++)
			in = ((t[i].addr[bit / 8] ^ addr[bit / 8]) &
			      (0x80 >> (bit % 8))) == 0;
		if (in && (!best || t[i].prefix > best->prefix))
			best = &t[i];
	}
	return best;
}

/* What the kernel does: one longest-prefix lookup, then the ranges. */
static bool lpm_decide(const struct net_entry *t, int n,
		       const uint8_t addr[16], uint16_t port, uint32_t *rule)
{
	const struct net_entry *e = lpm_entry(t, n, addr);
	uint32_t i;

	*rule = 0;
	for (i = 0; e && i < e->value.nranges; i++) {
		if (port >= e->value.r[i].lo && port <= e->value.r[i].hi) {
			*rule = e->value.r[i].rule;
			return true;
		}
	}
	return false;
}

/* Ranges sorted, disjoint, within bounds. */
static void check_table_shape(const struct net_entry *t, int n)
{
	uint32_t i;
	int j;

	for (j = 0; j < n; j++) {
		assert_true(t[j].value.nranges <= NET_RANGES_MAX);
		for (i = 0; i < t[j].value.nranges; i++) {
			assert_true(t[j].value.r[i].lo <= t[j].value.r[i].hi);
			assert_true(t[j].value.r[i].rule != 0);
			if (i)
				assert_true(t[j].value.r[i - 1].hi <
					    t[j].value.r[i].lo);
		}
	}
}

/* Allowed probes, to show the comparisons were not all denials. */
static size_t allowed;

/* Compare the table with the scan for addr on every interesting port;
 * returns the number of disagreements. */
static size_t compare_at(const struct agent *a, const struct net_entry *t,
			 int n, const uint8_t addr[16])
{
	uint32_t ports[4 * 64 + 3], r1, r2;
	size_t np = 0, i, bad = 0;
	bool al, at;

	ports[np++] = 0;
	ports[np++] = 65535;
	ports[np++] = (uint32_t)rand() % 65536;
	for (i = 0; i < a->nnets && np + 4 <= sizeof(ports) / 4; i++) {
		ports[np++] = a->nets[i].port_lo;
		ports[np++] = a->nets[i].port_hi;
		ports[np++] = (a->nets[i].port_lo + 65535u) % 65536;
		ports[np++] = (a->nets[i].port_hi + 1u) % 65536;
	}
	for (i = 0; i < np; i++) {
		al = agent_check_connect(a, addr, (uint16_t)ports[i], &r1);
		at = lpm_decide(t, n, addr, (uint16_t)ports[i], &r2);
		if (al != at || r1 != r2)
			bad++;
		allowed += al;
	}
	return bad;
}

/* Addresses at and just outside each prefix's edges, and inside it. */
static size_t compare_around(const struct agent *a, const struct net_entry *t,
			     int n, const struct net_grant *g)
{
	uint8_t lo[16], hi[16], x[16];
	size_t bad = 0;
	unsigned bit;
	int i, k;

	memcpy(lo, g->addr, 16);
	memcpy(hi, g->addr, 16);
	memcpy(x, g->addr, 16);
	for (bit = g->prefix; bit < 128; bit++) {
		hi[bit / 8] |= (uint8_t)(0x80 >> (bit % 8));
		if (rand() & 1)
			x[bit / 8] |= (uint8_t)(0x80 >> (bit % 8));
	}
	bad += compare_at(a, t, n, lo) + compare_at(a, t, n, hi) +
	       compare_at(a, t, n, x);
	/* lo - 1 and hi + 1 */
	for (k = 0; k < 2; k++) {
		uint8_t *v = k ? hi : lo;

		for (i = 15; i >= 0; i--) {
			v[i] = (uint8_t)(k ? v[i] + 1 : v[i] - 1);
			if (v[i] != (k ? 0x00 : 0xff))
				break;
		}
		bad += compare_at(a, t, n, v);
	}
	return bad;
}

static size_t compare_table(const struct agent *a, int rounds)
{
	struct net_entry *t;
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };
	uint8_t addr[16];
	size_t bad = 0, i;
	int n, r, b;

	n = agent_net_table(a, &t, NULL);
	assert_true(n >= 0);
	check_table_shape(t, n);
	for (i = 0; i < a->nnets; i++)
		bad += compare_around(a, t, n, &a->nets[i]);
	for (r = 0; r < rounds; r++) {
		for (b = 0; b < 16; b++)
			addr[b] = (uint8_t)rand();
		/* Half of them IPv4. */
		if (r & 1)
			memcpy(addr, mapped, 12);
		bad += compare_at(a, t, n, addr);
	}
	free(t);
	return bad;
}

static void test_table_fixture(void **state)
{
	struct policy *p = NULL;
	const struct agent *a;
	const struct net_entry *e;
	struct net_entry *t;
	uint8_t addr[16];
	int n;

	(void)state;
	srand(1);
	assert_int_equal(policy_load(FIXTURE, &p, NULL), 0);
	a = policy_agent(p, "n");
	n = agent_net_table(a, &t, NULL);
	/* 12 and 13 repeat 5's prefix, 15 repeats 14's. */
	assert_int_equal(n, 9);
	parse_addr("10.1.2.3", addr);
	e = lpm_entry(t, n, addr);
	assert_int_equal(e->prefix, 128);
	assert_int_equal(e->value.nranges, 6);
	assert_int_equal(e->value.r[0].lo, 22);
	assert_int_equal(e->value.r[1].lo, 53);
	assert_int_equal(e->value.r[2].lo, 80);
	assert_int_equal(e->value.r[3].lo, 443);
	assert_int_equal(policy_rule(p, e->value.r[3].rule)->line, 12);
	assert_int_equal(e->value.r[4].lo, 444);
	assert_int_equal(e->value.r[4].hi, 444);
	assert_int_equal(e->value.r[5].lo, 8000);
	assert_int_equal(e->value.r[5].hi, 8099);
	free(t);
	assert_int_equal(compare_table(a, 20000), 0);
	policy_free(p);
}

static struct net_grant grant(const char *addr, uint8_t prefix, uint16_t lo,
			      uint16_t hi, uint32_t rule)
{
	struct net_grant g = { .prefix = prefix, .port_lo = lo,
			       .port_hi = hi, .rule = rule,
			       .line = (int)rule + 3 };

	parse_addr(addr, g.addr);
	return g;
}

/* A grant with random bits just after a base, so that the prefixes of
 * one agent often cover each other, host bits cleared as the loader
 * demands. */
static struct net_grant random_grant(uint32_t rule)
{
	static const char *const bases[] = { "10.0.0.0", "2001:db8::" };
	struct net_grant g = grant(bases[rand() % 2], 0, 0, 0, rule);
	unsigned floor = g.addr[10] == 0xff ? 104 : 32, bit;
	uint16_t lo = (uint16_t)(rand() % 40), len = (uint16_t)(rand() % 10);

	g.prefix = (uint8_t)(floor + (unsigned)rand() % 13);
	for (bit = floor; bit < floor + 12; bit++)
		if (rand() & 1)
			g.addr[bit / 8] |= (uint8_t)(0x80 >> (bit % 8));
	for (bit = g.prefix; bit < 128; bit++)
		g.addr[bit / 8] &= (uint8_t)~(0x80 >> (bit % 8));
	g.port_lo = rand() % 8 ? lo : 0;
	g.port_hi = rand() % 8 ? (uint16_t)(lo + len) : 65535;
	return g;
}

static void test_table_random(void **state)
{
	struct net_grant nets[10];
	struct agent a = { .file = "agents.d/rand.ini", .nets = nets };
	size_t bad = 0, n, tables = 0;
	int round, i;
	struct net_entry *t;

	(void)state;
	srand(2);
	allowed = 0;
	for (round = 0; round < 400; round++) {
		n = 1 + (size_t)rand() % 10;
		for (i = 0; i < (int)n; i++)
			nets[i] = random_grant((uint32_t)(rand() % 6) + 1);
		a.nnets = n;
		if (agent_net_table(&a, &t, NULL) < 0)
			continue;
		free(t);
		tables++;
		bad += compare_table(&a, 200);
	}
	print_message("  %zu tables, %zu allowed probes\n", tables, allowed);
	assert_true(tables > 300);
	assert_true(allowed > 10000);
	assert_int_equal(bad, 0);
}

/* Touching ranges of one rule become one; of two rules stay two. */
static void test_table_merge(void **state)
{
	struct net_grant nets[] = {
		grant("10.0.0.0", 104, 80, 80, 1),
		grant("10.0.0.0", 104, 81, 90, 1),
		grant("10.0.0.0", 104, 91, 91, 2),
		grant("10.1.0.0", 112, 85, 95, 3),
	};
	struct agent a = { .file = "agents.d/m.ini", .nets = nets,
			   .nnets = 4 };
	struct net_entry *t;

	(void)state;
	assert_int_equal(agent_net_table(&a, &t, NULL), 2);
	assert_int_equal(t[0].value.nranges, 2);
	assert_int_equal(t[0].value.r[0].lo, 80);
	assert_int_equal(t[0].value.r[0].hi, 90);
	assert_int_equal(t[0].value.r[1].lo, 91);
	assert_int_equal(t[0].value.r[1].rule, 2);
	/* 10.1/16: 80-84 from the /8, 85-95 its own. */
	assert_int_equal(t[1].value.nranges, 2);
	assert_int_equal(t[1].value.r[0].hi, 84);
	assert_int_equal(t[1].value.r[1].lo, 85);
	assert_int_equal(t[1].value.r[1].hi, 95);
	assert_int_equal(t[1].value.r[1].rule, 3);
	free(t);
	a.nnets = 0;
	assert_int_equal(agent_net_table(&a, &t, NULL), 0);
	assert_null(t);
}

/* An entry that needs more than NET_RANGES_MAX ranges, once folded, is an
 * error naming it; one that needs exactly that many is fine. */
static void test_table_overflow(void **state)
{
	struct net_grant nets[NET_RANGES_MAX + 2];
	struct agent a = { .file = "agents.d/x.ini", .nets = nets };
	struct diag d = { 0 };
	struct net_entry *t;
	int i;

	(void)state;
	for (i = 0; i < 10; i++)
		nets[i] = grant("10.0.0.0", 104, (uint16_t)(2 * i + 1),
				(uint16_t)(2 * i + 1), 1);
	for (i = 10; i < NET_RANGES_MAX; i++)
		nets[i] = grant("10.1.0.0", 112, (uint16_t)(100 + 2 * i),
				(uint16_t)(100 + 2 * i), 2);
	a.nnets = NET_RANGES_MAX;
	assert_int_equal(agent_net_table(&a, &t, &d), 2);
	assert_int_equal(t[1].value.nranges, NET_RANGES_MAX);
	free(t);
	nets[NET_RANGES_MAX] = grant("10.1.0.0", 112, 999, 999, 2);
	nets[NET_RANGES_MAX].line = 40;
	a.nnets = NET_RANGES_MAX + 1;
	assert_int_equal(agent_net_table(&a, &t, &d), -1);
	assert_null(t);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.msgs[0], "agents.d/x.ini:5: 10.1.0.0/16 needs "
			    "17 port ranges once the prefixes that cover it "
			    "are folded in, at most 16 fit");
	diag_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_net_decisions),
		cmocka_unit_test(test_net_storage),
		cmocka_unit_test(test_table_fixture),
		cmocka_unit_test(test_table_random),
		cmocka_unit_test(test_table_merge),
		cmocka_unit_test(test_table_overflow),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
