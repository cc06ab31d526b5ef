// SPDX-License-Identifier: GPL-2.0-only
/*
 * Network grants: parsing "CIDR PORTS", the connect decision, and the
 * folded table the kernel's LPM trie is filled from.
 *
 * Every grant that holds an address has a prefix of that address, so the
 * grants holding it are exactly those holding the longest such prefix.
 * Folding each prefix's covering grants into its entry therefore lets one
 * longest-prefix lookup decide, with the rule the full scan would name.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy_int.h"

static const uint8_t v4_mapped[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff,
};

bool prefix_match(const uint8_t a[16], const uint8_t b[16],
			 unsigned bits)
{
	unsigned bytes = bits / 8, rest = bits % 8;
	uint8_t mask;

	if (memcmp(a, b, bytes))
		return false;
	if (!rest)
		return true;
	mask = (uint8_t)(0xff << (8 - rest));
	return ((a[bytes] ^ b[bytes]) & mask) == 0;
}

static bool host_bits_clear(const uint8_t addr[16], unsigned prefix)
{
	unsigned i;

	for (i = prefix; i < 128; i++)
		if (addr[i / 8] & (0x80 >> (i % 8)))
			return false;
	return true;
}

void net_prefix_format(const uint8_t addr[16], uint8_t prefix, char *out,
		       size_t outlen)
{
	char ip[INET6_ADDRSTRLEN];
	bool v4 = prefix >= 96 && !memcmp(addr, v4_mapped, 12);

	if (v4)
		inet_ntop(AF_INET, addr + 12, ip, sizeof(ip));
	else
		inet_ntop(AF_INET6, addr, ip, sizeof(ip));
	snprintf(out, outlen, "%s/%u", ip, v4 ? prefix - 96u : prefix);
}

/* Parse "addr[/len]" into IPv6 form; IPv4 becomes ::ffff:a.b.c.d/len+96. */
static int parse_cidr(const char *s, uint8_t addr[16], uint8_t *prefix,
		      char *why, size_t whylen)
{
	char host[INET6_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	size_t hlen = slash ? (size_t)(slash - s) : strlen(s);
	bool v6 = memchr(s, ':', hlen) != NULL;
	unsigned long long len = v6 ? 128 : 32;

	if (hlen >= sizeof(host))
		goto bad_addr;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (v6 && inet_pton(AF_INET6, host, addr) != 1)
		goto bad_addr;
	if (!v6) {
		memcpy(addr, v4_mapped, 12);
		if (inet_pton(AF_INET, host, addr + 12) != 1)
			goto bad_addr;
	}
	if (slash && parse_uint(slash + 1, v6 ? 128 : 32, &len) < 0) {
		snprintf(why, whylen, "bad CIDR '%s': prefix length is 0 to %d",
			 s, v6 ? 128 : 32);
		return -1;
	}
	*prefix = (uint8_t)(v6 ? len : len + 96);
	if (!host_bits_clear(addr, *prefix)) {
		snprintf(why, whylen, "bad CIDR '%s': host bits set", s);
		return -1;
	}
	return 0;

bad_addr:
	snprintf(why, whylen, "bad CIDR '%s': not an IPv4 or IPv6 address", s);
	return -1;
}

static int parse_port(const char *s, const char *item, uint16_t *port,
		      char *why, size_t whylen)
{
	unsigned long long v;

	if (parse_uint(s, 65535, &v) < 0) {
		snprintf(why, whylen, "bad port '%s': ports are 0 to 65535 or "
			 "'*'", item);
		return -1;
	}
	*port = (uint16_t)v;
	return 0;
}

/* One "N" or "N-M" item of a port list. */
static int parse_range(char *item, struct net_grant *g, char *why,
		       size_t whylen)
{
	char *dash = strchr(item, '-');
	char copy[256];

	snprintf(copy, sizeof(copy), "%s", item);
	if (dash)
		*dash = '\0';
	if (parse_port(item, copy, &g->port_lo, why, whylen) < 0)
		return -1;
	g->port_hi = g->port_lo;
	if (dash && parse_port(dash + 1, copy, &g->port_hi, why, whylen) < 0)
		return -1;
	if (g->port_lo > g->port_hi) {
		snprintf(why, whylen, "bad port range '%s'", copy);
		return -1;
	}
	return 0;
}

/* Parse ports into grants[], each a copy of *tmpl with its own range. */
static int parse_ports(char *ports, const struct net_grant *tmpl,
		       struct net_grant *grants, size_t *n, char *why,
		       size_t whylen)
{
	char list[256];
	char *item, *rest = ports;

	*n = 0;
	if (!strcmp(ports, "*")) {
		grants[0] = *tmpl;
		grants[0].port_lo = 0;
		grants[0].port_hi = 65535;
		*n = 1;
		return 0;
	}
	snprintf(list, sizeof(list), "%s", ports);
	while ((item = strsep(&rest, ","))) {
		if (!*item) {
			snprintf(why, whylen, "bad port list '%s'", list);
			return -1;
		}
		grants[*n] = *tmpl;
		if (parse_range(item, &grants[*n], why, whylen) < 0)
			return -1;
		(*n)++;
	}
	return 0;
}

int net_parse_connect(const char *value, struct net_grant **out, size_t *n,
		      char *why, size_t whylen)
{
	struct net_grant tmpl = { 0 }, *grants;
	char *copy, *save, *cidr, *ports;
	size_t max;
	int rc = -1;

	*out = NULL;
	*n = 0;
	copy = strdup(value);
	/* A list of k items has k - 1 commas, so this bounds the count. */
	max = strlen(value) / 2 + 1;
	grants = calloc(max, sizeof(*grants));
	if (!copy || !grants) {
		snprintf(why, whylen, "out of memory");
		goto out;
	}
	cidr = strtok_r(copy, " \t", &save);
	ports = cidr ? strtok_r(NULL, " \t", &save) : NULL;
	if (!ports || strtok_r(NULL, " \t", &save)) {
		snprintf(why, whylen, "bad connect '%s': write 'CIDR PORTS', "
			 "e.g. '10.0.0.0/8 443'", value);
		goto out;
	}
	if (parse_cidr(cidr, tmpl.addr, &tmpl.prefix, why, whylen) < 0 ||
	    parse_ports(ports, &tmpl, grants, n, why, whylen) < 0)
		goto out;
	*out = grants;
	grants = NULL;
	rc = 0;
out:
	free(copy);
	free(grants);
	if (rc < 0)
		*n = 0;
	return rc;
}

/* Whether a decides over b: a longer prefix, then a lower rule id. */
static bool grant_better(const struct net_grant *a, const struct net_grant *b)
{
	if (!b)
		return true;
	if (a->prefix != b->prefix)
		return a->prefix > b->prefix;
	return a->rule < b->rule;
}

bool agent_check_connect(const struct agent *a, const uint8_t addr[16],
			 uint16_t port, uint32_t *rule)
{
	const struct net_grant *g, *best = NULL;
	size_t i;

	for (i = 0; i < a->nnets; i++) {
		g = &a->nets[i];
		if (port < g->port_lo || port > g->port_hi ||
		    !prefix_match(g->addr, addr, g->prefix))
			continue;
		if (grant_better(g, best))
			best = g;
	}
	if (rule)
		*rule = best ? best->rule : 0;
	return best != NULL;
}

static int u32_cmp(const void *pa, const void *pb)
{
	uint32_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;

	return (a > b) - (a < b);
}

/* The grants that hold the whole prefix (addr, prefix). */
static size_t covering(const struct agent *a, const uint8_t addr[16],
		       uint8_t prefix, const struct net_grant **cover)
{
	size_t i, n = 0;

	for (i = 0; i < a->nnets; i++)
		if (a->nets[i].prefix <= prefix &&
		    prefix_match(a->nets[i].addr, addr, a->nets[i].prefix))
			cover[n++] = &a->nets[i];
	return n;
}

/* The deciding grant for port among cover[], or NULL. */
static const struct net_grant *decide_port(const struct net_grant **cover,
					   size_t n, uint32_t port)
{
	const struct net_grant *best = NULL;
	size_t i;

	for (i = 0; i < n; i++)
		if (port >= cover[i]->port_lo && port <= cover[i]->port_hi &&
		    grant_better(cover[i], best))
			best = cover[i];
	return best;
}

/* The ranges of one entry as they are built; count runs past
 * NET_RANGES_MAX without storing, so the caller can say how many would be
 * needed. */
struct fold {
	struct net_value *v;
	uint32_t count;
	uint32_t last_hi, last_rule;
};

/* Add [lo, hi] for rule, joining the previous range when it touches and
 * names the same rule. */
static void range_add(struct fold *f, uint32_t lo, uint32_t hi, uint32_t rule)
{
	if (f->count && f->last_rule == rule && f->last_hi + 1u == lo) {
		if (f->count <= NET_RANGES_MAX)
			f->v->r[f->count - 1].hi = (uint16_t)hi;
	} else {
		if (f->count < NET_RANGES_MAX) {
			f->v->r[f->count].lo = (uint16_t)lo;
			f->v->r[f->count].hi = (uint16_t)hi;
			f->v->r[f->count].rule = rule;
		}
		f->count++;
	}
	f->last_hi = hi;
	f->last_rule = rule;
}

/* Split the port space at every range edge of cover[] and give each piece
 * its deciding rule. Returns the number of ranges the entry needs. */
static uint32_t fold_ranges(const struct net_grant **cover, size_t n,
			    uint32_t *edges, struct net_value *v)
{
	const struct net_grant *best;
	struct fold f = { .v = v };
	size_t i, nedges = 0;

	for (i = 0; i < n; i++) {
		edges[nedges++] = cover[i]->port_lo;
		edges[nedges++] = cover[i]->port_hi + 1u;
	}
	qsort(edges, nedges, sizeof(*edges), u32_cmp);
	for (i = 0; i + 1 < nedges; i++) {
		if (edges[i] == edges[i + 1])
			continue;
		best = decide_port(cover, n, edges[i]);
		if (best)
			range_add(&f, edges[i], edges[i + 1] - 1, best->rule);
	}
	v->nranges = f.count < NET_RANGES_MAX ? f.count : NET_RANGES_MAX;
	return f.count;
}

/* Whether grant i is the first with its (addr, prefix). */
static bool first_of_prefix(const struct agent *a, size_t i)
{
	size_t j;

	for (j = 0; j < i; j++)
		if (a->nets[j].prefix == a->nets[i].prefix &&
		    !memcmp(a->nets[j].addr, a->nets[i].addr, 16))
			return false;
	return true;
}

static int fill_entry(const struct agent *a, const struct net_grant *g,
		      const struct net_grant **cover, uint32_t *edges,
		      struct net_entry *e, struct diag *d)
{
	char name[NET_PREFIX_STRLEN];
	size_t n = covering(a, g->addr, g->prefix, cover);
	uint32_t need;

	memcpy(e->addr, g->addr, 16);
	e->prefix = g->prefix;
	need = fold_ranges(cover, n, edges, &e->value);
	if (need <= NET_RANGES_MAX)
		return 0;
	net_prefix_format(g->addr, g->prefix, name, sizeof(name));
	diag_add(d, "%s:%d: %s needs %u port ranges once the prefixes that "
		 "cover it are folded in, at most %d fit", a->file, g->line,
		 name, need, NET_RANGES_MAX);
	return -1;
}

int agent_net_table(const struct agent *a, struct net_entry **out,
		    struct diag *d)
{
	const struct net_grant **cover = NULL;
	struct net_entry *entries = NULL;
	uint32_t *edges = NULL;
	size_t i, n = 0;
	int bad = 0;

	*out = NULL;
	if (!a->nnets)
		return 0;
	cover = calloc(a->nnets, sizeof(*cover));
	edges = calloc(2 * a->nnets, sizeof(*edges));
	entries = calloc(a->nnets, sizeof(*entries));
	if (!cover || !edges || !entries) {
		diag_add(d, "%s: out of memory building the network table",
			 a->file);
		bad = 1;
		goto out;
	}
	for (i = 0; i < a->nnets; i++) {
		if (!first_of_prefix(a, i))
			continue;
		if (fill_entry(a, &a->nets[i], cover, edges, &entries[n++], d))
			bad = 1;
	}
out:
	free(cover);
	free(edges);
	if (bad) {
		free(entries);
		return -1;
	}
	*out = entries;
	return (int)n;
}
