// SPDX-License-Identifier: GPL-2.0-only
/*
 * Roles: resolving what each agent's "roles =" names into its flattened
 * grant set, inherited roles included, with cycles and unknown names
 * reported; and adding agents to a loaded policy from code.
 *
 * Each role is flattened once (its own lines, then each inherited role's
 * flattened set under the role's condition) by a depth-first walk that
 * marks the roles on its path, so a cycle is found where it closes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy_int.h"

#define NAME_MAX_LEN 32

enum walk { UNSEEN = 0, ON_PATH, FLAT, BROKEN };

struct resolver {
	struct policy *p;
	struct diag *d;
	enum walk *state;
	struct grant_set *flat;	/* per role, valid when FLAT */
	unsigned nerr;
};

bool name_ok(const char *name, size_t len)
{
	size_t i;

	if (len < 1 || len > NAME_MAX_LEN)
		return false;
	for (i = 0; i < len; i++) {
		char c = name[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');

		if (!alnum && (i == 0 || (c != '_' && c != '-')))
			return false;
	}
	return true;
}

const char *layer_name(enum layer l)
{
	static const char *const names[] = { "default", "agent", "role", "dispatcher bound",
					     "condition" };

	return (unsigned)l < sizeof(names) / sizeof(names[0]) ? names[l] : "?";
}

const struct role *policy_role(const struct policy *p, const char *name)
{
	for (size_t i = 0; p && name && i < p->nroles; i++)
		if (!strcmp(p->roles[i].name, name))
			return &p->roles[i];
	return NULL;
}

const char *agent_attr(const struct agent *a, const char *key)
{
	for (size_t i = 0; a && key && i < a->nattrs; i++)
		if (a->attrs[i].key && !strcmp(a->attrs[i].key, key))
			return a->attrs[i].value;
	return NULL;
}

static int role_index(const struct policy *p, const char *name)
{
	const struct role *r = policy_role(p, name);

	return r ? (int)(r - p->roles) : -1;
}

static void join_error(struct resolver *rs, const char *file, int line, int rc,
		       const char *name)
{
	if (rc == -2)
		diag_add(rs->d, "%s:%d: the conditions of role '%s' and of its grants name "
			 "different time zones", file, line, name);
	else
		diag_add(rs->d, "%s: out of memory resolving role '%s'", file, name);
	rs->nerr++;
}

static int flatten(struct resolver *rs, int i);

/* Append role i's flattened set to dst under cond (the holder's own). */
static int take_role(struct resolver *rs, int i, struct grant_set *dst, uint32_t cond,
		     const char *file, int line)
{
	const struct role *r = &rs->p->roles[i];
	uint32_t joined;
	int rc;

	if (flatten(rs, i) < 0)
		return -1;
	rc = cond_join(rs->p, cond, r->cond, &joined);
	if (rc == 0)
		rc = set_append(rs->p, dst, &rs->flat[i], joined);
	/* A clash of zones is the role's own doing: name its condition. */
	if (rc == -2)
		join_error(rs, r->file, r->cond_line, rc, r->name);
	else if (rc < 0)
		join_error(rs, file, line, rc, r->name);
	if (rc < 0)
		return -1;
	return 0;
}

static int flatten(struct resolver *rs, int i)
{
	struct role *r = &rs->p->roles[i];
	int rc;

	if (rs->state[i] == FLAT)
		return 0;
	if (rs->state[i] == BROKEN)
		return -1;
	if (rs->state[i] == ON_PATH) {
		diag_add(rs->d, "%s:%d: role '%s' inherits itself through a cycle", r->file,
			 r->inherit_line, r->name);
		rs->nerr++;
		return -1;
	}
	rs->state[i] = ON_PATH;
	rc = set_append(rs->p, &rs->flat[i], &r->set, 0);
	if (rc < 0) {
		join_error(rs, r->file, r->inherit_line, rc, r->name);
		rs->state[i] = BROKEN;
		return -1;
	}
	for (size_t k = 0; k < r->ninherit; k++) {
		int j = role_index(rs->p, r->inherit[k]);

		if (j < 0) {
			diag_add(rs->d, "%s:%d: unknown role '%s' (no roles.d/%s.ini)", r->file,
				 r->inherit_line, r->inherit[k], r->inherit[k]);
			rs->nerr++;
			rs->state[i] = BROKEN;
			return -1;
		}
		if (take_role(rs, j, &rs->flat[i], 0, r->file, r->inherit_line) < 0) {
			rs->state[i] = BROKEN;
			return -1;
		}
	}
	rs->state[i] = FLAT;
	return 0;
}

static int resolver_init(struct resolver *rs, struct policy *p, struct diag *d)
{
	memset(rs, 0, sizeof(*rs));
	rs->p = p;
	rs->d = d;
	rs->state = calloc(p->nroles + 1, sizeof(*rs->state));
	rs->flat = calloc(p->nroles + 1, sizeof(*rs->flat));
	if (!rs->state || !rs->flat) {
		diag_add(d, "out of memory resolving roles");
		free(rs->state);
		free(rs->flat);
		return -1;
	}
	return 0;
}

static void resolver_done(struct resolver *rs)
{
	for (size_t i = 0; i < rs->p->nroles; i++)
		set_free(&rs->flat[i]);
	free(rs->flat);
	free(rs->state);
}

/* a's own lines stay first; its roles' grants follow in listed order. */
static int apply_roles(struct resolver *rs, struct agent *a)
{
	for (size_t k = 0; k < a->nroles; k++) {
		int j = role_index(rs->p, a->roles[k]);

		if (j < 0) {
			diag_add(rs->d, "%s:%d: unknown role '%s' (no roles.d/%s.ini)", a->file,
				 a->roles_line, a->roles[k], a->roles[k]);
			rs->nerr++;
			return -1;
		}
		if (take_role(rs, j, &a->set, 0, a->file, a->roles_line) < 0)
			return -1;
	}
	return 0;
}

unsigned roles_resolve(struct policy *p, struct diag *d)
{
	struct resolver rs;
	unsigned nerr;

	if (resolver_init(&rs, p, d) < 0)
		return 1;
	/* Every role is walked, held by an agent or not, so that a cycle or
	 * a typo in a role nobody uses yet is still an error. */
	for (size_t i = 0; i < p->nroles; i++)
		flatten(&rs, (int)i);
	for (size_t i = 0; !rs.nerr && i < p->nagents; i++)
		apply_roles(&rs, &p->agents[i]);
	nerr = rs.nerr;
	resolver_done(&rs);
	return nerr;
}

int roles_apply(struct policy *p, struct agent *a, struct diag *d)
{
	struct resolver rs;
	int rc;

	if (resolver_init(&rs, p, d) < 0)
		return -1;
	rc = apply_roles(&rs, a) < 0 || rs.nerr ? -1 : 0;
	resolver_done(&rs);
	return rc;
}

static int spec_check(const struct policy *p, const struct agent_spec *spec, struct diag *d)
{
	const char *src = spec->source ? spec->source : "api";

	if (!spec->name || !name_ok(spec->name, strlen(spec->name))) {
		diag_add(d, "%s: bad agent name '%s': names match [a-z0-9][a-z0-9_-]{0,31}",
			 src, spec->name ? spec->name : "");
		return -1;
	}
	if (policy_agent(p, spec->name)) {
		diag_add(d, "%s: agent '%s' already exists (%s)", src, spec->name,
			 policy_agent(p, spec->name)->file);
		return -1;
	}
	if (spec->has_uid && spec->uid == 0) {
		diag_add(d, "%s: agent '%s': uid 0 is root: agents never run as root", src,
			 spec->name);
		return -1;
	}
	for (size_t i = 0; i < spec->nattrs; i++) {
		const char *k = spec->attrs[i].key;

		if (!k || !name_ok(k, strlen(k)) || !spec->attrs[i].value) {
			diag_add(d, "%s: agent '%s': bad attribute name '%s'", src, spec->name,
				 k ? k : "");
			return -1;
		}
	}
	return 0;
}

static int spec_fill(struct agent *a, const struct agent_spec *spec)
{
	a->name = strdup(spec->name);
	a->file = strdup(spec->source ? spec->source : "api");
	a->description = spec->description ? strdup(spec->description) : NULL;
	a->enabled = true;
	a->has_uid = spec->has_uid;
	a->uid = spec->uid;
	a->on_revoke = spec->on_revoke;
	a->roles = calloc(spec->nroles + 1, sizeof(char *));
	a->attrs = calloc(spec->nattrs + 1, sizeof(struct attr));
	if (!a->name || !a->file || (spec->description && !a->description) || !a->roles ||
	    !a->attrs)
		return -1;
	for (; a->nroles < spec->nroles; a->nroles++)
		if (!(a->roles[a->nroles] = strdup(spec->roles[a->nroles])))
			return -1;
	for (; a->nattrs < spec->nattrs; a->nattrs++) {
		struct attr *t = &a->attrs[a->nattrs];

		t->key = strdup(spec->attrs[a->nattrs].key);
		t->value = strdup(spec->attrs[a->nattrs].value);
		if (!t->key || !t->value) {
			a->nattrs++;
			return -1;
		}
	}
	return 0;
}

int policy_add_agent(struct policy *p, const struct agent_spec *spec, struct diag *d)
{
	struct agent a = { 0 }, *grown;
	struct net_entry *t = NULL;

	if (spec_check(p, spec, d) < 0)
		return -1;
	if (spec_fill(&a, spec) < 0) {
		diag_add(d, "%s: out of memory adding agent '%s'", spec->source ? spec->source
			 : "api", spec->name);
		goto fail;
	}
	a.id = (uint32_t)p->nagents + 1;
	if (roles_apply(p, &a, d) < 0 || agent_net_table(&a, &t, d) < 0)
		goto fail;
	free(t);
	grown = realloc(p->agents, (p->nagents + 1) * sizeof(*grown));
	if (!grown) {
		diag_add(d, "out of memory adding agent '%s'", spec->name);
		goto fail;
	}
	p->agents = grown;
	p->agents[p->nagents++] = a;
	return 0;
fail:
	agent_free(&a);
	return -1;
}
