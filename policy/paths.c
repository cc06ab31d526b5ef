// SPDX-License-Identifier: GPL-2.0-only
/*
 * Path grants: checking patterns at load, binding them to a session's
 * workspace and home, and deciding path requests.
 *
 * The index is the bound paths sorted by bytes. A grant covers a request
 * when it equals the request or one of its ancestors, so a lookup walks the
 * request's ancestors from the longest and binary-searches each: at most
 * one search per component, no allocation.
 */
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
	struct index_entry e[];
};

static const char *const path_vars[] = { "${workspace}", "${home}" };

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

/* Describe the first "${" at or after from, which is not allowed there. */
static int misplaced_var(const char *pattern, const char *from, char *why,
			 size_t whylen)
{
	const char *v = strstr(from, "${");
	const char *end;
	size_t i, n;

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
			 "or begin with ${workspace} or ${home}", pattern);
		return -1;
	}
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

/* Expand and canonicalise one grant into out, or say why it is skipped. */
static int bind_one(const struct agent *a, const struct path_grant *pg,
		    const char *const vals[2], char out[PATH_MAX],
		    struct diag *d)
{
	char joined[2 * PATH_MAX];
	const char *rest = pg->pattern;
	const char *base;
	int var = pattern_var(pg->pattern);

	if (var >= 0) {
		base = vals[var];
		rest += strlen(path_vars[var]);
		if (!base) {
			diag_add(d, "%s:%d: no %.*s for '%s', grant skipped",
				 a->file, pg->line,
				 (int)strlen(path_vars[var]) - 3,
				 path_vars[var] + 2, pg->pattern);
			return -1;
		}
	}
	/* rest is empty or starts with '/' (pattern_var() saw to that).
	 * Without a variable the pattern is used as it is, so a relative one,
	 * possible only in an agent built by hand, fails below. */
	snprintf(joined, sizeof(joined), "%s%s", var >= 0 ? base : "", rest);
	if (path_canonical(joined, out, PATH_MAX) < 0) {
		diag_add(d, "%s:%d: '%s' does not expand to an absolute path "
			 "shorter than %d bytes, grant skipped", a->file,
			 pg->line, pg->pattern, PATH_MAX);
		return -1;
	}
	return 0;
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

static struct path_index *index_build(const struct grants *g)
{
	struct path_index *ix;
	size_t i;

	ix = malloc(sizeof(*ix) + g->npaths * sizeof(ix->e[0]));
	if (!ix)
		return NULL;
	ix->n = g->npaths;
	for (i = 0; i < g->npaths; i++) {
		ix->e[i].path = g->paths[i].path;
		ix->e[i].len = strlen(g->paths[i].path);
		ix->e[i].access = g->paths[i].access;
		ix->e[i].rule = g->paths[i].rule;
	}
	qsort(ix->e, ix->n, sizeof(ix->e[0]), index_sort_cmp);
	return ix;
}

static int bind_all(struct grants *g, const struct agent *a,
		    const char *const vals[2], struct diag *d)
{
	char path[PATH_MAX];
	struct bound_path *bp;
	size_t i;

	g->paths = calloc(a->npaths ? a->npaths : 1, sizeof(*g->paths));
	if (!g->paths)
		return -1;
	for (i = 0; i < a->npaths; i++) {
		if (bind_one(a, &a->paths[i], vals, path, d) < 0)
			continue;
		bp = &g->paths[g->npaths];
		bp->path = strdup(path);
		if (!bp->path)
			return -1;
		bp->access = a->paths[i].access;
		bp->rule = a->paths[i].rule;
		g->npaths++;
	}
	g->index = index_build(g);
	return g->index ? 0 : -1;
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

struct grants *grants_bind(const struct agent *a, const char *workspace,
			   const char *home, struct diag *d)
{
	char ws[PATH_MAX], hm[PATH_MAX];
	const char *vals[2];
	struct grants *g;

	if (bind_dir("workspace", workspace, ws, &vals[0], d) < 0 ||
	    bind_dir("home", home, hm, &vals[1], d) < 0)
		return NULL;
	g = calloc(1, sizeof(*g));
	if (!g || bind_all(g, a, vals, d) < 0) {
		diag_add(d, "%s: out of memory binding grants", a->file);
		grants_free(g);
		return NULL;
	}
	return g;
}

void grants_free(struct grants *g)
{
	size_t i;

	if (!g)
		return;
	for (i = 0; i < g->npaths; i++)
		free(g->paths[i].path);
	free(g->paths);
	free(g->index);
	free(g);
}

/* First entry for exactly path[0..len), or NULL. */
static const struct index_entry *index_find(const struct path_index *ix,
					    const char *path, size_t len)
{
	size_t lo = 0, hi = ix->n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (entry_cmp(ix->e[mid].path, ix->e[mid].len, path, len) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < ix->n && !entry_cmp(ix->e[lo].path, ix->e[lo].len, path, len))
		return &ix->e[lo];
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

bool grants_check_path(const struct grants *g, const char *path,
		       unsigned access, uint32_t *rule)
{
	const struct index_entry *first = NULL;
	char canon[PATH_MAX];
	unsigned missing = access;
	size_t len;

	if (rule)
		*rule = 0;
	if (!g || path_canonical(path, canon, sizeof(canon)) < 0)
		return false;
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
