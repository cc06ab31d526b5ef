// SPDX-License-Identifier: GPL-2.0-only
/*
 * Grant sets: the arrays of path, network and unix grants an agent, a role
 * or a bound holds, and the lists of names their files give.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy_int.h"

struct path_grant *set_add_path(struct loader *l, struct grant_set *s)
{
	struct path_grant *v = load_realloc(l, s->paths, s->npaths + 1, sizeof(*v));

	if (!v)
		return NULL;
	s->paths = v;
	memset(&v[s->npaths], 0, sizeof(*v));
	return &v[s->npaths++];
}

struct net_grant *set_add_nets(struct loader *l, struct grant_set *s, size_t n)
{
	struct net_grant *v = load_realloc(l, s->nets, s->nnets + n, sizeof(*v));

	if (!v)
		return NULL;
	s->nets = v;
	memset(&v[s->nnets], 0, n * sizeof(*v));
	s->nnets += n;
	return &v[s->nnets - n];
}

struct unix_grant *set_add_unix(struct loader *l, struct grant_set *s)
{
	struct unix_grant *v = load_realloc(l, s->unix_socks, s->nunix + 1, sizeof(*v));

	if (!v)
		return NULL;
	s->unix_socks = v;
	memset(&v[s->nunix], 0, sizeof(*v));
	return &v[s->nunix++];
}

static void *grow(void *ptr, size_t n, size_t size)
{
	return n && n <= SIZE_MAX / size ? realloc(ptr, n * size) : ptr;
}

int set_append(struct policy *p, struct grant_set *dst, const struct grant_set *src,
	       uint32_t cond)
{
	struct path_grant *paths = grow(dst->paths, dst->npaths + src->npaths, sizeof(*paths));
	struct net_grant *nets;
	struct unix_grant *us;
	int rc;

	if (!paths && dst->npaths + src->npaths)
		return -1;
	dst->paths = paths;
	for (size_t i = 0; i < src->npaths; i++) {
		struct path_grant *g = &dst->paths[dst->npaths];

		*g = src->paths[i];
		g->pattern = strdup(src->paths[i].pattern);
		if (!g->pattern)
			return -1;
		dst->npaths++;
		rc = cond_join(p, cond, src->paths[i].cond, &g->cond);
		if (rc < 0)
			return rc;
	}
	nets = grow(dst->nets, dst->nnets + src->nnets, sizeof(*nets));
	if (!nets && dst->nnets + src->nnets)
		return -1;
	dst->nets = nets;
	for (size_t i = 0; i < src->nnets; i++) {
		dst->nets[dst->nnets] = src->nets[i];
		rc = cond_join(p, cond, src->nets[i].cond, &dst->nets[dst->nnets].cond);
		if (rc < 0)
			return rc;
		dst->nnets++;
	}
	us = grow(dst->unix_socks, dst->nunix + src->nunix, sizeof(*us));
	if (!us && dst->nunix + src->nunix)
		return -1;
	dst->unix_socks = us;
	for (size_t i = 0; i < src->nunix; i++) {
		struct unix_grant *u = &dst->unix_socks[dst->nunix];

		*u = src->unix_socks[i];
		u->path = strdup(src->unix_socks[i].path);
		if (!u->path)
			return -1;
		dst->nunix++;
		rc = cond_join(p, cond, src->unix_socks[i].cond, &u->cond);
		if (rc < 0)
			return rc;
	}
	return 0;
}

void set_free(struct grant_set *s)
{
	for (size_t i = 0; i < s->npaths; i++)
		free(s->paths[i].pattern);
	free(s->paths);
	free(s->nets);
	for (size_t i = 0; i < s->nunix; i++)
		free(s->unix_socks[i].path);
	free(s->unix_socks);
	memset(s, 0, sizeof(*s));
}

void names_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

int parse_name_list(const char *value, char ***out, char *why, size_t whylen)
{
	char *copy = strdup(value), *item, *rest;
	char **v = NULL, **grown;
	int n = 0;

	*out = NULL;
	if (!copy) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	rest = copy;
	while ((item = strsep(&rest, ","))) {
		size_t len;

		item += strspn(item, " \t");
		len = strlen(item);
		while (len && (item[len - 1] == ' ' || item[len - 1] == '\t'))
			item[--len] = '\0';
		if (!len) {
			snprintf(why, whylen, "an empty item in the list");
			goto fail;
		}
		grown = realloc(v, (size_t)(n + 1) * sizeof(*v));
		if (!grown)
			goto oom;
		v = grown;
		v[n] = strdup(item);
		if (!v[n])
			goto oom;
		n++;
	}
	free(copy);
	*out = v;
	return n;
oom:
	snprintf(why, whylen, "out of memory");
fail:
	names_free(v, (size_t)n);
	free(copy);
	return -1;
}
