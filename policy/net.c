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

/* Whether the first bits of a and b agree. */
static bool prefix_match(const uint8_t a[16], const uint8_t b[16],
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

static bool holds(const struct net_grant *g, const uint8_t addr[16], uint16_t port)
{
	return port >= g->port_lo && port <= g->port_hi &&
	       prefix_match(g->addr, addr, g->prefix);
}

bool net_check(const struct net_grant *v, size_t n, const uint8_t addr[16],
	       uint16_t port, uint32_t *rule)
{
	const struct net_grant *best = NULL, *no = NULL;

	for (size_t i = 0; i < n; i++) {
		if (!holds(&v[i], addr, port))
			continue;
		if (v[i].deny && grant_better(&v[i], no))
			no = &v[i];
		else if (!v[i].deny && grant_better(&v[i], best))
			best = &v[i];
	}
	if (no)
		best = NULL;
	if (rule)
		*rule = no ? no->rule : best ? best->rule : 0;
	return best != NULL;
}

static int push(struct net_grant **v, size_t *n, size_t *cap, const struct net_grant *g)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 16;
		struct net_grant *nv = realloc(*v, c * sizeof(*nv));

		if (!nv)
			return -1;
		*v = nv;
		*cap = c;
	}
	(*v)[(*n)++] = *g;
	return 0;
}

/* a ∩ b: where one prefix holds the other, the longer prefix with the
 * ports both give; a's rule is kept. */
static int net_meet(const struct net_grant *a, const struct net_grant *b, struct net_grant *out)
{
	const struct net_grant *longer = a->prefix >= b->prefix ? a : b;
	const struct net_grant *shorter = longer == a ? b : a;

	if (!prefix_match(shorter->addr, longer->addr, shorter->prefix))
		return -1;
	*out = *a;
	memcpy(out->addr, longer->addr, 16);
	out->prefix = longer->prefix;
	out->port_lo = a->port_lo > b->port_lo ? a->port_lo : b->port_lo;
	out->port_hi = a->port_hi < b->port_hi ? a->port_hi : b->port_hi;
	return out->port_lo <= out->port_hi ? 0 : -1;
}

static int add_bounded(const struct perm_req *r, const struct net_grant *g,
		       struct net_grant **v, size_t *n, size_t *cap)
{
	struct net_grant m;

	for (size_t i = 0; i < r->nbounds; i++) {
		const struct grant_set *b = &r->bounds[i]->set;

		for (size_t j = 0; j < b->nnets; j++)
			if (!b->nets[j].deny && perm_selects(r, b->nets[j].cond, false) &&
			    net_meet(g, &b->nets[j], &m) == 0 && push(v, n, cap, &m) < 0)
				return -1;
	}
	return 0;
}

int net_list_for(const struct perm_req *r, struct net_grant **out, size_t *count)
{
	bool bounded = r->nbounds && !(r->flags & PERM_NO_BOUND);
	bool denies = !(r->flags & PERM_NO_DENIES);
	struct net_grant *v = NULL;
	size_t n = 0, cap = 0;

	for (size_t i = 0; i < r->a->nnets; i++) {
		const struct net_grant *g = &r->a->nets[i];
		int rc = 0;

		if ((g->deny && !denies) || !perm_selects(r, g->cond, g->deny))
			continue;
		if (bounded && !g->deny)
			rc = add_bounded(r, g, &v, &n, &cap);
		else
			rc = push(&v, &n, &cap, g);
		if (rc < 0)
			goto oom;
	}
	for (size_t i = 0; bounded && denies && i < r->nbounds; i++) {
		const struct grant_set *b = &r->bounds[i]->set;

		for (size_t j = 0; j < b->nnets; j++)
			if (b->nets[j].deny && perm_selects(r, b->nets[j].cond, true) &&
			    push(&v, &n, &cap, &b->nets[j]) < 0)
				goto oom;
	}
	*out = v;
	*count = n;
	return 0;
oom:
	free(v);
	return -1;
}

static bool unix_in_bounds(const struct perm_req *r, const char *path)
{
	for (size_t i = 0; i < r->nbounds; i++) {
		const struct grant_set *b = &r->bounds[i]->set;

		for (size_t j = 0; j < b->nunix; j++)
			if (!strcmp(b->unix_socks[j].path, path) &&
			    perm_selects(r, b->unix_socks[j].cond, false))
				return true;
	}
	return false;
}

int unix_list_for(const struct perm_req *r, const struct unix_grant ***out, size_t *count)
{
	bool bounded = r->nbounds && !(r->flags & PERM_NO_BOUND);
	const struct unix_grant **v = calloc(r->a->nunix + 1, sizeof(*v));
	size_t n = 0;

	if (!v)
		return -1;
	for (size_t i = 0; i < r->a->nunix; i++) {
		const struct unix_grant *u = &r->a->unix_socks[i];

		if (perm_selects(r, u->cond, false) && (!bounded || unix_in_bounds(r, u->path)))
			v[n++] = u;
	}
	*out = v;
	*count = n;
	return 0;
}

bool agent_check_connect(const struct agent *a, const uint8_t addr[16],
			 uint16_t port, uint32_t *rule)
{
	struct perm_req r = { .a = a };
	struct net_grant *v;
	size_t n;
	bool ok;

	if (net_list_for(&r, &v, &n) < 0) {
		if (rule)
			*rule = 0;
		return false;
	}
	ok = net_check(v, n, addr, port, rule);
	free(v);
	return ok;
}

static int u32_cmp(const void *pa, const void *pb)
{
	uint32_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;

	return (a > b) - (a < b);
}

/* The deciding grant for port among cover[], or NULL: none, or a denial
 * holds the port, and a denial beats any grant. */
static const struct net_grant *decide_port(const struct net_grant **cover,
					   size_t n, uint32_t port)
{
	const struct net_grant *best = NULL;
	size_t i;

	for (i = 0; i < n; i++) {
		if (port < cover[i]->port_lo || port > cover[i]->port_hi)
			continue;
		if (cover[i]->deny)
			return NULL;
		if (grant_better(cover[i], best))
			best = cover[i];
	}
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

/*
 * The grants sorted by (prefix, address, position), with the distinct
 * prefix lengths: the grants that hold a whole prefix P are, for each
 * length L up to P's, those whose (L, address) is P's address cut to L
 * bits, found by one binary search per length. That keeps folding a
 * table of n grants near n log n instead of n squared.
 */
struct by_prefix {
	const struct net_grant **g;
	size_t n;
	uint8_t lens[130];
	size_t start[131];
	size_t nlens;
};

static int grant_order(const void *pa, const void *pb)
{
	const struct net_grant *a = *(const struct net_grant *const *)pa;
	const struct net_grant *b = *(const struct net_grant *const *)pb;
	int c;

	if (a->prefix != b->prefix)
		return a->prefix < b->prefix ? -1 : 1;
	c = memcmp(a->addr, b->addr, 16);
	if (c)
		return c;
	return (a > b) - (a < b);
}

static int by_prefix_build(struct by_prefix *bp, const struct net_grant *v, size_t n)
{
	memset(bp, 0, sizeof(*bp));
	bp->g = calloc(n, sizeof(*bp->g));
	if (!bp->g)
		return -1;
	bp->n = n;
	for (size_t i = 0; i < n; i++)
		bp->g[i] = &v[i];
	qsort(bp->g, n, sizeof(*bp->g), grant_order);
	for (size_t i = 0; i < n; i++) {
		if (i && bp->g[i]->prefix == bp->g[i - 1]->prefix)
			continue;
		bp->lens[bp->nlens] = bp->g[i]->prefix;
		bp->start[bp->nlens++] = i;
	}
	bp->start[bp->nlens] = n;
	return 0;
}

static void cut(const uint8_t in[16], unsigned bits, uint8_t out[16])
{
	unsigned bytes = bits / 8;

	memcpy(out, in, bytes);
	memset(out + bytes, 0, 16 - bytes);
	if (bits % 8)
		out[bytes] = (uint8_t)(in[bytes] & (0xff << (8 - bits % 8)));
}

/* The grants and denials that hold the whole prefix (addr, prefix). */
static size_t covering(const struct by_prefix *bp, const uint8_t addr[16], uint8_t prefix,
		       const struct net_grant **cover)
{
	uint8_t key[16];
	size_t n = 0;

	for (size_t l = 0; l < bp->nlens && bp->lens[l] <= prefix; l++) {
		size_t lo = bp->start[l], hi = bp->start[l + 1];

		cut(addr, bp->lens[l], key);
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (memcmp(bp->g[mid]->addr, key, 16) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (; lo < bp->start[l + 1] && !memcmp(bp->g[lo]->addr, key, 16); lo++)
			cover[n++] = bp->g[lo];
	}
	return n;
}

/* Marks, by position in v, the first grant of each (prefix, address):
 * the sort keeps equal ones in written order. */
static void mark_first(const struct by_prefix *bp, const struct net_grant *v, bool *first)
{
	for (size_t i = 0; i < bp->n; i++)
		first[bp->g[i] - v] = i == 0 || bp->g[i - 1]->prefix != bp->g[i]->prefix ||
				      memcmp(bp->g[i - 1]->addr, bp->g[i]->addr, 16);
}

static int fill_entry(const struct by_prefix *bp, const struct net_grant *g, const char *file,
		      const struct net_grant **cover, uint32_t *edges, struct net_entry *e,
		      struct diag *d)
{
	char name[NET_PREFIX_STRLEN];
	size_t n = covering(bp, g->addr, g->prefix, cover);
	uint32_t need;

	memcpy(e->addr, g->addr, 16);
	e->prefix = g->prefix;
	need = fold_ranges(cover, n, edges, &e->value);
	if (need <= NET_RANGES_MAX)
		return 0;
	net_prefix_format(g->addr, g->prefix, name, sizeof(name));
	diag_add(d, "%s:%d: %s needs %u port ranges once the prefixes that "
		 "cover it are folded in, at most %d fit", file, g->line,
		 name, need, NET_RANGES_MAX);
	return -1;
}

int net_table(const struct net_grant *v, size_t nv, const char *file,
	      struct net_entry **out, struct diag *d)
{
	const struct net_grant **cover = NULL;
	struct net_entry *entries = NULL;
	struct by_prefix bp = { 0 };
	uint32_t *edges = NULL;
	bool *first = NULL;
	size_t i, n = 0;
	int bad = 0;

	*out = NULL;
	if (!nv)
		return 0;
	cover = calloc(nv, sizeof(*cover));
	edges = calloc(2 * nv, sizeof(*edges));
	entries = calloc(nv, sizeof(*entries));
	first = calloc(nv, sizeof(*first));
	if (!cover || !edges || !entries || !first || by_prefix_build(&bp, v, nv) < 0) {
		diag_add(d, "%s: out of memory building the network table", file);
		bad = 1;
		goto out;
	}
	mark_first(&bp, v, first);
	for (i = 0; i < nv; i++) {
		if (!first[i])
			continue;
		if (fill_entry(&bp, &v[i], file, cover, edges, &entries[n++], d))
			bad = 1;
	}
out:
	free(bp.g);
	free(first);
	free(cover);
	free(edges);
	if (bad) {
		free(entries);
		return -1;
	}
	*out = entries;
	return (int)n;
}

int agent_net_table(const struct agent *a, struct net_entry **out,
		    struct diag *d)
{
	struct perm_req r = { .a = a };
	struct net_grant *v;
	size_t n;
	int rc;

	*out = NULL;
	if (net_list_for(&r, &v, &n) < 0) {
		diag_add(d, "%s: out of memory building the network table", a->file);
		return -1;
	}
	rc = net_table(v, n, a->file, out, d);
	free(v);
	return rc;
}

/* ---- the compiled lookup: longest prefix first, by prefix length ---- */

struct net_index {
	struct net_entry *e;	/* sorted: longer prefix first, then address */
	size_t n;
	uint8_t lens[130];	/* distinct prefix lengths, longest first */
	size_t start[130];	/* where each length's entries begin in e */
	size_t nlens;
};

static int entry_order(const void *pa, const void *pb)
{
	const struct net_entry *a = pa, *b = pb;

	if (a->prefix != b->prefix)
		return a->prefix > b->prefix ? -1 : 1;
	return memcmp(a->addr, b->addr, 16);
}

struct net_index *net_index_build(const struct net_entry *t, int n)
{
	struct net_index *ix = calloc(1, sizeof(*ix));

	if (!ix || !(ix->e = calloc(n > 0 ? (size_t)n : 1, sizeof(*ix->e)))) {
		free(ix);
		return NULL;
	}
	ix->n = n > 0 ? (size_t)n : 0;
	if (ix->n)
		memcpy(ix->e, t, ix->n * sizeof(*t));
	qsort(ix->e, ix->n, sizeof(*ix->e), entry_order);
	for (size_t i = 0; i < ix->n; i++) {
		if (i && ix->e[i].prefix == ix->e[i - 1].prefix)
			continue;
		ix->lens[ix->nlens] = ix->e[i].prefix;
		ix->start[ix->nlens++] = i;
	}
	ix->start[ix->nlens] = ix->n;
	return ix;
}

bool net_index_check(const struct net_index *ix, const uint8_t addr[16], uint16_t port,
		     uint32_t *rule)
{
	uint8_t key[16];

	if (rule)
		*rule = 0;
	for (size_t l = 0; l < ix->nlens; l++) {
		size_t lo = ix->start[l], hi = ix->start[l + 1];

		cut(addr, ix->lens[l], key);
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			int c = memcmp(ix->e[mid].addr, key, 16);

			if (c == 0) {
				const struct net_value *v = &ix->e[mid].value;

				/* The longest prefix decides alone, as in the kernel. */
				for (uint32_t r = 0; r < v->nranges; r++) {
					if (port >= v->r[r].lo && port <= v->r[r].hi) {
						if (rule)
							*rule = v->r[r].rule;
						return true;
					}
				}
				return false;
			}
			if (c < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
	}
	return false;
}

void net_index_free(struct net_index *ix)
{
	if (!ix)
		return;
	free(ix->e);
	free(ix);
}
