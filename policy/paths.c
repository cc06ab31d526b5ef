// SPDX-License-Identifier: GPL-2.0-only
/*
 * Path grants: checking patterns at load, binding them to a session's
 * workspace, home and user, and deciding path requests.
 *
 * An index is bound paths sorted by bytes, grants of one path side by
 * side, with a hash table from each distinct path to its first entry. A
 * grant covers a request when it equals the request or one of its
 * ancestors, so a lookup walks the request's ancestors from the longest
 * and looks each up in the table: one hash and, mostly, one comparison
 * per component, whatever the number of grants, and no allocation.
 * Denials have an index of their own, walked the same way first.
 */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy_int.h"

struct index_entry {
	const char *path;
	size_t len;
	unsigned access;
	uint32_t rule;
};

struct path_index {
	size_t n;
	uint32_t *slots;	/* 1 + index of a path's first entry; 0: empty */
	size_t mask;		/* slots has mask + 1 entries, a power of two */
	struct index_entry e[];
};

/* FNV-1a: no key is secret here, the paths are the administrator's. */
static uint64_t path_hash(const char *p, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* Variables that may begin a pattern. ${user} may also stand for any
 * whole component (/home/${user}). */
static const char *const path_vars[] = { "${workspace}", "${home}", "${user}" };
#define NVARS 3
#define USER_VAR "${user}"

/* Append one component to out (length *o), keeping room for the NUL. */
static int canon_push(char *out, size_t outlen, size_t *o, const char *c,
		      size_t clen)
{
	size_t sep = *o > 1;

	if (*o + sep + clen + 1 > outlen)
		return -1;
	if (sep)
		out[(*o)++] = '/';
	memcpy(out + *o, c, clen);
	*o += clen;
	return 0;
}

static void canon_pop(const char *out, size_t *o)
{
	while (*o > 1 && out[*o - 1] != '/')
		(*o)--;
	if (*o > 1)
		(*o)--;
}

int path_canonical(const char *path, char *out, size_t outlen)
{
	const char *c = path;
	size_t o = 1, clen;

	if (!path || path[0] != '/' || outlen < 2 ||
	    strnlen(path, PATH_MAX) >= PATH_MAX)
		return -1;
	out[0] = '/';
	while (*c) {
		while (*c == '/')
			c++;
		clen = strcspn(c, "/");
		if (clen == 2 && c[0] == '.' && c[1] == '.')
			canon_pop(out, &o);
		else if (clen && !(clen == 1 && c[0] == '.') &&
			 canon_push(out, outlen, &o, c, clen) < 0)
			return -1;
		c += clen;
	}
	out[o] = '\0';
	return 0;
}

/* Index of the variable pattern starts with, or -1. The variable must end
 * the pattern or be followed by '/'. */
static int pattern_var(const char *pattern)
{
	size_t i, n;

	for (i = 0; i < sizeof(path_vars) / sizeof(path_vars[0]); i++) {
		n = strlen(path_vars[i]);
		if (!strncmp(pattern, path_vars[i], n) &&
		    (pattern[n] == '/' || pattern[n] == '\0'))
			return (int)i;
	}
	return -1;
}

/* Whether v, inside pattern, is "${user}" as a whole component. */
static bool user_component(const char *pattern, const char *v)
{
	size_t n = strlen(USER_VAR);

	return !strncmp(v, USER_VAR, n) && (v == pattern || v[-1] == '/') &&
	       (v[n] == '/' || v[n] == '\0');
}

/* Describe the first "${" at or after from, which is not allowed there. */
static int misplaced_var(const char *pattern, const char *from, char *why,
			 size_t whylen)
{
	const char *v = strstr(from, "${");
	const char *end;
	size_t i, n;

	while (v && user_component(pattern, v))
		v = strstr(v + 1, "${");
	if (!v)
		return 0;
	end = strchr(v, '}');
	if (!end) {
		snprintf(why, whylen, "unterminated '${' in '%s'", pattern);
		return -1;
	}
	n = (size_t)(end - v) + 1;
	for (i = 0; i < sizeof(path_vars) / sizeof(path_vars[0]); i++) {
		if (strlen(path_vars[i]) != n || strncmp(v, path_vars[i], n))
			continue;
		if (i == 2) {
			snprintf(why, whylen, "'%s' must be a whole path component in '%s'",
				 USER_VAR, pattern);
			return -1;
		}
		snprintf(why, whylen, "'%s' must begin the path and be "
			 "followed by '/' in '%s'", path_vars[i], pattern);
		return -1;
	}
	snprintf(why, whylen, "unknown variable '%.*s' in '%s'", (int)n, v,
		 pattern);
	return -1;
}

static bool proc_self(const char *canon)
{
	static const char *const selves[] = { "/proc/self", "/proc/thread-self" };

	for (size_t i = 0; i < sizeof(selves) / sizeof(selves[0]); i++) {
		size_t n = strlen(selves[i]);

		if (!strncmp(canon, selves[i], n) && (canon[n] == 0 || canon[n] == '/'))
			return true;
	}
	return false;
}

/* Whether some component of path is "..". */
static bool has_dotdot(const char *path)
{
	for (const char *c = path; *c; c += strcspn(c, "/")) {
		c += strspn(c, "/");
		if (c[0] == '.' && c[1] == '.' && (c[2] == '/' || c[2] == '\0'))
			return true;
	}
	return false;
}

int path_pattern_check(const char *pattern, char *why, size_t whylen)
{
	char canon[PATH_MAX];
	const char *rest = pattern;
	int var = pattern_var(pattern);

	if (var >= 0)
		rest += strlen(path_vars[var]);
	if (misplaced_var(pattern, rest, why, whylen) < 0)
		return -1;
	if (var < 0 && pattern[0] != '/') {
		snprintf(why, whylen, "relative path '%s': paths are absolute "
			 "or begin with ${workspace}, ${home} or ${user}", pattern);
		return -1;
	}
	/* Lexically "${workspace}/.." is the workspace's parent, outside
	 * the one directory the variable was to confine the grant to; and
	 * the kernel resolves ".." after symlinks, so the text would not say
	 * what is granted even without a variable. */
	if (has_dotdot(rest)) {
		snprintf(why, whylen, "'..' in path '%s': name the directory itself",
			 pattern);
		return -1;
	}
	if (var == 2 && *rest == '\0')
		rest = "/";
	if (*rest && path_canonical(rest, canon, sizeof(canon)) < 0) {
		snprintf(why, whylen, "path '%s' is %d bytes or longer",
			 pattern, PATH_MAX);
		return -1;
	}
	/* The daemon opens each granted path itself, so /proc/self would be
	 * its own process, never the agent's. */
	if (var < 0 && proc_self(canon)) {
		snprintf(why, whylen, "'%s' would name pinfoldd's own process, not "
			 "the agent's: grant /proc", pattern);
		return -1;
	}
	return 0;
}

int path_plain_check(const char *path, char *why, size_t whylen)
{
	char canon[PATH_MAX];

	if (strstr(path, "${")) {
		snprintf(why, whylen, "'%s': variables are not expanded here",
			 path);
		return -1;
	}
	if (path_canonical(path, canon, sizeof(canon)) < 0) {
		snprintf(why, whylen, "'%s' is not an absolute path", path);
		return -1;
	}
	return 0;
}

/* Replace each "${user}" component of in with user into out. */
static int expand_user(const char *in, const char *user, char *out, size_t outlen)
{
	size_t o = 0, n = strlen(USER_VAR);

	for (const char *c = in; *c;) {
		const char *add = c;
		size_t len = 1;

		if (*c == '$' && user_component(in, c)) {
			if (!user)
				return -2;
			add = user;
			len = strlen(user);
			c += n;
		} else {
			c++;
		}
		if (o + len >= outlen)
			return -1;
		memcpy(out + o, add, len);
		o += len;
	}
	out[o] = '\0';
	return 0;
}

/* Expand and canonicalise one pattern into out; says why it cannot be. */
static int bind_one(const char *file, const struct path_grant *pg,
		    const struct bind_vars *v, char out[PATH_MAX], struct diag *d)
{
	const char *vals[NVARS] = { v->workspace, v->home, v->user };
	char joined[2 * PATH_MAX], expanded[2 * PATH_MAX];
	const char *rest = pg->pattern, *base = "";
	const char *what = pg->deny ? "denial" : "grant";
	int var = pattern_var(pg->pattern);

	if (var >= 0) {
		base = vals[var];
		rest += strlen(path_vars[var]);
		if (!base) {
			diag_add(d, "%s:%d: no %.*s for '%s', %s skipped", file, pg->line,
				 (int)strlen(path_vars[var]) - 3, path_vars[var] + 2,
				 pg->pattern, what);
			return -1;
		}
	}
	/* ${user} at the start is a relative name; the path it begins is
	 * taken from / (a leading ${user} means /NAME). */
	snprintf(joined, sizeof(joined), "%s%s%s", var == 2 ? "/" : "", base, rest);
	switch (expand_user(joined, v->user, expanded, sizeof(expanded))) {
	case -2:
		diag_add(d, "%s:%d: no user for '%s', %s skipped", file, pg->line, pg->pattern,
			 what);
		return -1;
	case -1:
		goto too_long;
	}
	if (v->user && (strchr(v->user, '/') || !strcmp(v->user, ".") ||
			!strcmp(v->user, "..") || !*v->user) && strstr(pg->pattern, USER_VAR)) {
		diag_add(d, "%s:%d: user name '%s' is not a path component, %s skipped", file,
			 pg->line, v->user, what);
		return -1;
	}
	/* Without a variable the pattern is used as it is, so a relative one,
	 * possible only in an agent built by hand, fails below. */
	if (path_canonical(expanded, out, PATH_MAX) == 0)
		return 0;
too_long:
	diag_add(d, "%s:%d: '%s' does not expand to an absolute path shorter than %d bytes, "
		 "%s skipped", file, pg->line, pg->pattern, PATH_MAX, what);
	return -1;
}

static int entry_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	if (c)
		return c;
	return (alen > blen) - (alen < blen);
}

static int index_sort_cmp(const void *pa, const void *pb)
{
	const struct index_entry *a = pa, *b = pb;
	int c = entry_cmp(a->path, a->len, b->path, b->len);

	if (c)
		return c;
	return (a->rule > b->rule) - (a->rule < b->rule);
}

static int index_hash(struct path_index *ix)
{
	size_t cap = 16;

	while (cap < 2 * ix->n + 1)
		cap *= 2;
	ix->slots = calloc(cap, sizeof(*ix->slots));
	if (!ix->slots)
		return -1;
	ix->mask = cap - 1;
	for (size_t i = 0; i < ix->n; i++) {
		size_t k;

		if (i && ix->e[i].len == ix->e[i - 1].len &&
		    !memcmp(ix->e[i].path, ix->e[i - 1].path, ix->e[i].len))
			continue;
		k = path_hash(ix->e[i].path, ix->e[i].len) & ix->mask;
		while (ix->slots[k])
			k = (k + 1) & ix->mask;
		ix->slots[k] = (uint32_t)i + 1;
	}
	return 0;
}

static void index_free(struct path_index *ix)
{
	if (ix)
		free(ix->slots);
	free(ix);
}

static struct path_index *index_build(const struct bound_path *v, size_t n)
{
	struct path_index *ix;
	size_t i;

	ix = malloc(sizeof(*ix) + n * sizeof(ix->e[0]));
	if (!ix)
		return NULL;
	ix->n = n;
	for (i = 0; i < n; i++) {
		ix->e[i].path = v[i].path;
		ix->e[i].len = strlen(v[i].path);
		ix->e[i].access = v[i].access;
		ix->e[i].rule = v[i].rule;
	}
	qsort(ix->e, ix->n, sizeof(ix->e[0]), index_sort_cmp);
	if (index_hash(ix) < 0) {
		free(ix);
		return NULL;
	}
	return ix;
}

/* A growing array of bound paths. */
struct bp_list {
	struct bound_path *v;
	size_t n, cap;
};

static int bp_add(struct bp_list *l, const char *path, unsigned access, uint32_t rule)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct bound_path *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -1;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n].path = strdup(path);
	if (!l->v[l->n].path)
		return -1;
	l->v[l->n].access = access;
	l->v[l->n].rule = rule;
	l->n++;
	return 0;
}

static void bp_free(struct bp_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].path);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* Bind the grants (deny false) or denials (deny true) of set into out.
 * A denial that cannot be bound is an error: leaving it out would widen
 * the permission. */
static int bind_set(const struct perm_req *r, const struct grant_set *set, const char *file,
		    bool deny, struct bp_list *out, struct diag *d)
{
	char path[PATH_MAX];

	for (size_t i = 0; i < set->npaths; i++) {
		const struct path_grant *pg = &set->paths[i];
		const struct rule *rule = r->p ? policy_rule(r->p, pg->rule) : NULL;

		if (pg->deny != deny || !perm_selects(r, pg->cond, deny))
			continue;
		if (bind_one(rule ? rule->file : file, pg, &r->vars, path, d) < 0) {
			if (deny)
				return -1;
			continue;
		}
		if (bp_add(out, path, pg->access, pg->rule) < 0)
			return -1;
	}
	return 0;
}

/* Whether path b equals a or lies beneath it. */
static bool path_within(const char *b, const char *a)
{
	size_t n = strlen(a);

	if (n == 1)
		return true;
	return !strncmp(a, b, n) && (b[n] == '\0' || b[n] == '/');
}

/* The access a grant gives beneath it, as the kernel gives it. */
static unsigned gives(unsigned access)
{
	return access & ACC_EXEC ? access | ACC_READ : access;
}

/* a ∩ b for lists of subtrees: where one path lies within the other, the
 * deeper path with the bits both give; the agent's rule is kept. A bound's
 * exec grant lets an agent's read grant through, as it lets the kernel
 * read what it executes; exec itself needs exec on both sides. */
static int intersect(const struct bp_list *agent, const struct bp_list *bound,
		     struct bp_list *out)
{
	for (size_t i = 0; i < agent->n; i++) {
		const struct bound_path *a = &agent->v[i];

		for (size_t j = 0; j < bound->n; j++) {
			const struct bound_path *b = &bound->v[j];
			unsigned acc = a->access & gives(b->access);
			const char *deeper;

			if (!acc)
				continue;
			if (path_within(a->path, b->path))
				deeper = a->path;
			else if (path_within(b->path, a->path))
				deeper = b->path;
			else
				continue;
			if (acc && bp_add(out, deeper, acc, a->rule) < 0)
				return -1;
		}
	}
	return 0;
}

static int bind_dir(const char *what, const char *in, char out[PATH_MAX],
		    const char **val, struct diag *d);

static int bp_order(const void *pa, const void *pb)
{
	const struct bound_path *a = pa, *b = pb;
	int c = strcmp(a->path, b->path);

	return c ? c : (a->rule > b->rule) - (a->rule < b->rule);
}

/* One entry per path and rule, their bits joined: a grant that meets two
 * bound grants (read and exec of /usr, say) is still one rule. */
static void bp_merge(struct bp_list *l)
{
	size_t o = 0;

	if (!l->n)
		return;
	qsort(l->v, l->n, sizeof(*l->v), bp_order);
	for (size_t i = 1; i < l->n; i++) {
		struct bound_path *last = &l->v[o];

		if (last->rule == l->v[i].rule && !strcmp(last->path, l->v[i].path)) {
			last->access |= l->v[i].access;
			free(l->v[i].path);
			continue;
		}
		l->v[++o] = l->v[i];
	}
	l->n = o + 1;
}

/* The bounds' grants as one list, and their denials into denies. */
static int bind_bounds(const struct perm_req *r, struct bp_list *grants,
		       struct bp_list *denies, struct diag *d)
{
	for (size_t i = 0; i < r->nbounds; i++) {
		const struct bound *b = r->bounds[i];

		if (bind_set(r, &b->set, b->file, false, grants, d) < 0)
			return -1;
		if (!(r->flags & PERM_NO_DENIES) &&
		    bind_set(r, &b->set, b->file, true, denies, d) < 0)
			return -1;
	}
	return 0;
}

static int build(const struct perm_req *r, struct grants *g, struct diag *d)
{
	struct bp_list own = { 0 }, bnd = { 0 }, cut = { 0 }, den = { 0 };
	bool bounded = r->nbounds && !(r->flags & PERM_NO_BOUND);
	int rc = -1;

	if (bind_set(r, &r->a->set, r->a->file, false, &own, d) < 0)
		goto out;
	if (!(r->flags & PERM_NO_DENIES) &&
	    bind_set(r, &r->a->set, r->a->file, true, &den, d) < 0)
		goto out;
	if (bounded && (bind_bounds(r, &bnd, &den, d) < 0 || intersect(&own, &bnd, &cut) < 0))
		goto out;
	if (bounded) {
		bp_merge(&cut);
		bp_free(&own);
		own = cut;
		memset(&cut, 0, sizeof(cut));
	}
	g->paths = own.v;
	g->npaths = own.n;
	g->denies = den.v;
	g->ndenies = den.n;
	memset(&own, 0, sizeof(own));
	memset(&den, 0, sizeof(den));
	g->index = index_build(g->paths, g->npaths);
	g->deny_index = index_build(g->denies, g->ndenies);
	rc = g->index && g->deny_index ? 0 : -1;
out:
	bp_free(&own);
	bp_free(&bnd);
	bp_free(&cut);
	bp_free(&den);
	return rc;
}

/* Canonicalise a session directory; NULL stays NULL. */
static int bind_dir(const char *what, const char *in, char out[PATH_MAX],
		    const char **val, struct diag *d)
{
	*val = NULL;
	if (!in)
		return 0;
	if (path_canonical(in, out, PATH_MAX) < 0) {
		diag_add(d, "%s '%s' is not an absolute path shorter than %d "
			 "bytes", what, in, PATH_MAX);
		return -1;
	}
	*val = out;
	return 0;
}

struct grants *grants_for(const struct perm_req *r, struct diag *d)
{
	char ws[PATH_MAX], hm[PATH_MAX];
	struct perm_req rr = *r;
	struct grants *g;

	if (bind_dir("workspace", r->vars.workspace, ws, &rr.vars.workspace, d) < 0 ||
	    bind_dir("home", r->vars.home, hm, &rr.vars.home, d) < 0)
		return NULL;
	g = calloc(1, sizeof(*g));
	if (!g || build(&rr, g, d) < 0) {
		diag_add(d, "%s: cannot bind the grants (out of memory, or a denial that "
			 "does not bind)", r->a->file);
		grants_free(g);
		return NULL;
	}
	return g;
}

struct grants *grants_bind(const struct agent *a, const char *workspace,
			   const char *home, struct diag *d)
{
	struct perm_req r = { .a = a, .vars = { workspace, home, NULL } };

	return grants_for(&r, d);
}

void grants_free(struct grants *g)
{
	size_t i;

	if (!g)
		return;
	for (i = 0; i < g->npaths; i++)
		free(g->paths[i].path);
	free(g->paths);
	for (i = 0; i < g->ndenies; i++)
		free(g->denies[i].path);
	free(g->denies);
	index_free(g->index);
	index_free(g->deny_index);
	free(g);
}

/* First entry for exactly path[0..len), or NULL. */
static const struct index_entry *index_find(const struct path_index *ix,
					    const char *path, size_t len)
{
	size_t k = path_hash(path, len) & ix->mask;

	for (; ix->slots[k]; k = (k + 1) & ix->mask) {
		const struct index_entry *e = &ix->e[ix->slots[k] - 1];

		if (e->len == len && !memcmp(e->path, path, len))
			return e;
	}
	return NULL;
}

/* What a grant lets the agent do to a path beneath it. Executing a file
 * needs reading it, which the kernel layer grants with execution; listing
 * a directory under an exec grant it does not. */
static unsigned entry_access(const struct index_entry *e)
{
	return e->access & ACC_EXEC ? e->access | ACC_READ : e->access;
}

/* Takes the bits of *missing that the grants for exactly path[0..len)
 * give, and names the first grant that gave any in *first. */
static void index_take(const struct path_index *ix, const char *path, size_t len,
		       unsigned *missing, const struct index_entry **first)
{
	const struct index_entry *e = index_find(ix, path, len);
	const struct index_entry *end = ix->e + ix->n;

	for (; e && e < end && e->len == len && !memcmp(e->path, path, len); e++) {
		unsigned gives = entry_access(e) & *missing;

		if (!gives)
			continue;
		if (!*first)
			*first = e;
		*missing &= ~gives;
	}
}

/* Length of the parent of path[0..len): "/a/b" -> "/a" -> "/". */
static size_t parent_len(const char *path, size_t len)
{
	while (len > 1 && path[len - 1] != '/')
		len--;
	return len > 1 ? len - 1 : 1;
}

/* The longest denial covering any bit of access at canon, or NULL. */
static const struct index_entry *denied(const struct path_index *ix, const char *canon,
					unsigned access)
{
	for (size_t len = strlen(canon);; len = parent_len(canon, len)) {
		const struct index_entry *e = index_find(ix, canon, len);
		const struct index_entry *end = ix->e + ix->n;

		for (; e && e < end && e->len == len && !memcmp(e->path, canon, len); e++)
			if (e->access & access)
				return e;
		if (len == 1)
			return NULL;
	}
}

bool grants_check_path(const struct grants *g, const char *path,
		       unsigned access, uint32_t *rule)
{
	const struct index_entry *first = NULL, *no;
	char canon[PATH_MAX];
	unsigned missing = access;
	size_t len;

	if (rule)
		*rule = 0;
	if (!g || path_canonical(path, canon, sizeof(canon)) < 0)
		return false;
	no = g->ndenies ? denied(g->deny_index, canon, access) : NULL;
	if (no) {
		if (rule)
			*rule = no->rule;
		return false;
	}
	for (len = strlen(canon); missing; len = parent_len(canon, len)) {
		index_take(g->index, canon, len, &missing, &first);
		if (len == 1)
			break;
	}
	if (missing)
		return false;
	if (rule && first)
		*rule = first->rule;
	return true;
}

/* ---- the kernel's rules: grants with the denials carved out ---- */

struct carve {
	const struct grants *g;
	struct bp_list out;
	size_t max;
	bool over;
};

/* The bits of the denials at or above path that apply to it. */
static unsigned denied_bits(const struct grants *g, const char *path)
{
	unsigned bits = 0;

	for (size_t i = 0; i < g->ndenies; i++)
		if (path_within(path, g->denies[i].path))
			bits |= g->denies[i].access;
	/* Reading is what executing needs; a denial of reading denies exec. */
	return bits & ACC_READ ? bits | ACC_EXEC : bits;
}

/* The bits of the denials strictly beneath path. */
static unsigned denied_below(const struct grants *g, const char *path)
{
	unsigned bits = 0;

	for (size_t i = 0; i < g->ndenies; i++)
		if (strcmp(path, g->denies[i].path) && path_within(g->denies[i].path, path))
			bits |= g->denies[i].access;
	return bits & ACC_READ ? bits | ACC_EXEC : bits;
}

static int carve_add(struct carve *c, const char *path, unsigned access, uint32_t rule)
{
	if (c->out.n >= c->max) {
		c->over = true;
		return -1;
	}
	return bp_add(&c->out, path, access, rule);
}

static int carve(struct carve *c, const char *path, unsigned access, uint32_t rule);

/* Give access, less what is denied, to each entry of dir. */
static int carve_children(struct carve *c, const char *dir, unsigned access, uint32_t rule)
{
	char child[PATH_MAX];
	struct dirent *de;
	DIR *d = opendir(dir);
	int rc = 0;

	/* Not a directory (or unreadable): nothing lies beneath it to give. */
	if (!d)
		return 0;
	while (rc == 0 && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (snprintf(child, sizeof(child), "%s%s%s", dir, strcmp(dir, "/") ? "/" : "",
			     de->d_name) >= (int)sizeof(child))
			continue;
		rc = carve(c, child, access, rule);
	}
	closedir(d);
	return rc;
}

static int carve(struct carve *c, const char *path, unsigned access, uint32_t rule)
{
	unsigned give = access & ~denied_bits(c->g, path), below;

	if (!give)
		return 0;
	below = give & denied_below(c->g, path);
	if (give & ~below && carve_add(c, path, give & ~below, rule) < 0)
		return -1;
	return below ? carve_children(c, path, below, rule) : 0;
}

int grants_kernel_rules(const struct grants *g, size_t max, struct bound_path **out,
			struct diag *d)
{
	struct carve c = { .g = g, .max = max };

	*out = NULL;
	for (size_t i = 0; i < g->npaths; i++) {
		const struct bound_path *bp = &g->paths[i];

		if (carve(&c, bp->path, bp->access, bp->rule) < 0) {
			if (c.over)
				diag_add(d, "the denials beneath '%s' split the grants into more "
					 "than %zu kernel rules", bp->path, max);
			else
				diag_add(d, "out of memory carving denials out of '%s'", bp->path);
			bp_free(&c.out);
			return -1;
		}
	}
	*out = c.out.v;
	return (int)c.out.n;
}

void grants_rules_free(struct bound_path *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].path);
	free(v);
}
