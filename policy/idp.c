// SPDX-License-Identifier: GPL-2.0-only
/*
 * What a sync does to the provider's agents: the users that are agents
 * now, each compared with what the state knew of it by its key.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "policy/idp.h"

#define STATE_MAX (64u << 20)

int idp_agent_name(const char *user_name, char *out, size_t outlen)
{
	size_t n = strcspn(user_name, "@");

	if (n < 1 || n > 32 || n >= outlen)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char c = (char)tolower((unsigned char)user_name[i]);
		bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');

		if (!alnum && (i == 0 || (c != '_' && c != '-')))
			return -1;
		out[i] = c;
	}
	out[n] = 0;
	return 0;
}

static bool in_group(json_t *groups, const char *name, const char *user_id)
{
	const char *k;
	json_t *g, *m;
	size_t i;

	json_object_foreach(groups, k, g) {
		if (strcmp(json_string_value(json_object_get(g, "displayName")) ?: "", name))
			continue;
		json_array_foreach(json_object_get(g, "members"), i, m)
			if (!strcmp(json_string_value(m) ?: "", user_id))
				return true;
	}
	return false;
}

static bool is_agent(const struct idp_conf *c, json_t *u, json_t *groups)
{
	const char *id = json_string_value(json_object_get(u, "id"));
	const char *type = json_string_value(json_object_get(u, "userType"));
	const char *attr;

	if (c->agents_group && in_group(groups, c->agents_group, id))
		return true;
	if (c->agents_user_type && type && !strcmp(type, c->agents_user_type))
		return true;
	if (!c->agents_attr)
		return false;
	attr = json_string_value(json_object_get(json_object_get(u, "ext"), c->agents_attr));
	return attr && !strcmp(attr, c->agents_attr_value);
}

static json_t *roles_of(const struct idp_conf *c, json_t *groups, const char *user_id)
{
	json_t *roles = json_array();

	for (size_t i = 0; i < c->nroles; i++)
		if (in_group(groups, c->roles[i].group, user_id))
			json_array_append_new(roles, json_string(c->roles[i].role));
	return roles;
}

static const char *key_of(json_t *u)
{
	const char *ext = json_string_value(json_object_get(u, "externalId"));

	return ext && *ext ? ext : json_string_value(json_object_get(u, "id"));
}

/* userNames are unique in SCIM regardless of case, and two that give the
 * same agent name would be one agent: either is a broken sync. */
static int check_unique(const struct idp_conf *c, json_t *users, json_t *groups,
			struct diag *d)
{
	json_t *seen = json_object(), *names = json_object(), *u;
	const char *id;
	int rc = 0;

	json_object_foreach(users, id, u) {
		const char *un = json_string_value(json_object_get(u, "userName"));
		char low[256], name[64];
		json_t *prev;

		snprintf(low, sizeof(low), "%s", un);
		for (char *p = low; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		prev = json_object_get(seen, low);
		if (prev) {
			diag_add(d, "duplicate userName '%s': users '%s' and '%s'", un,
				 json_string_value(prev), id);
			rc = -1;
		}
		json_object_set_new(seen, low, json_string(id));
		if (!is_agent(c, u, groups) || idp_agent_name(un, name, sizeof(name)) < 0)
			continue;
		prev = json_object_get(names, name);
		if (prev && strcmp(json_string_value(prev), id)) {
			diag_add(d, "userNames of users '%s' and '%s' both give agent name '%s'",
				 json_string_value(prev), id, name);
			rc = -1;
		}
		json_object_set_new(names, name, json_string(id));
	}
	json_decref(seen);
	json_decref(names);
	return rc;
}

struct sync {
	const struct idp_conf *c;
	json_t *old_agents, *agents, *users, *groups, *changes;
	bool complete;
	json_int_t seq;
};

static void change(struct sync *s, const char *event, const char *key, json_t *a,
		   const char *reason)
{
	json_t *ch = json_pack("{s:s,s:s,s:O?}", "event", event, "key", key, "name",
			       json_object_get(a, "name"));

	if (reason)
		json_object_set_new(ch, "reason", json_string(reason));
	json_array_append_new(s->changes, ch);
}

static void disable(struct sync *s, const char *key, json_t *a, const char *reason)
{
	bool was_active = !strcmp(json_string_value(json_object_get(a, "status")), "active");

	if (was_active || (s->complete && !json_is_true(json_object_get(a, "by_complete")))) {
		json_object_set_new(a, "reason", json_string(reason));
		json_object_set_new(a, "sync", json_integer(s->seq));
	}
	json_object_set_new(a, "status", json_string("disabled"));
	if (s->complete)
		json_object_set_new(a, "by_complete", json_true());
	if (was_active)
		change(s, "disabled", key, a, reason);
}

static void enable(struct sync *s, const char *key, json_t *a)
{
	if (!strcmp(json_string_value(json_object_get(a, "status")), "active"))
		return;
	if (json_is_true(json_object_get(a, "by_complete")) && !s->complete) {
		change(s, "kept-disabled", key, a,
		       "a complete export disabled it; a partial one does not bring it back");
		return;
	}
	json_object_set_new(a, "status", json_string("active"));
	json_object_del(a, "reason");
	json_object_set_new(a, "by_complete", json_false());
	json_object_set_new(a, "sync", json_integer(s->seq));
	change(s, "enabled", key, a, NULL);
}

/* A user that is an agent now: new, or the entry its key had. */
static void derive_one(struct sync *s, json_t *u)
{
	const char *key = key_of(u), *un = json_string_value(json_object_get(u, "userName"));
	json_t *prev = json_object_get(s->old_agents, key), *a;
	char name[64];

	if (idp_agent_name(un, name, sizeof(name)) < 0) {
		json_array_append_new(s->changes, json_pack("{s:s,s:s,s:s}", "event", "skipped",
				      "key", key, "reason", "userName gives no valid agent name"));
		return;
	}
	a = prev ? json_deep_copy(prev)
		 : json_pack("{s:s,s:s,s:b,s:I}", "name", name, "status",
			     json_is_true(json_object_get(u, "active")) ? "active" : "disabled",
			     "by_complete", 0, "sync", (json_int_t)s->seq);
	json_object_set(a, "id", json_object_get(u, "id"));
	json_object_set(a, "userName", json_object_get(u, "userName"));
	if (json_object_get(u, "externalId"))
		json_object_set(a, "externalId", json_object_get(u, "externalId"));
	if (json_object_get(u, "owner"))
		json_object_set(a, "owner", json_object_get(u, "owner"));
	json_object_set_new(a, "roles", roles_of(s->c, s->groups, json_string_value(
							   json_object_get(u, "id"))));
	json_object_set_new(s->agents, key, a);
	if (!prev) {
		change(s, "added", key, a, NULL);
		if (!json_is_true(json_object_get(u, "active")))
			json_object_set_new(a, "reason", json_string("inactive at the provider"));
		return;
	}
	if (strcmp(json_string_value(json_object_get(prev, "name")), name)) {
		json_t *ch = json_pack("{s:s,s:s,s:O,s:s}", "event", "renamed", "key", key, "from",
				       json_object_get(prev, "name"), "name", name);

		json_array_append_new(s->changes, ch);
		json_object_set_new(a, "name", json_string(name));
	}
	if (!json_equal(json_object_get(prev, "roles"), json_object_get(a, "roles")))
		change(s, "roles", key, a, NULL);
	if (json_is_true(json_object_get(u, "active")))
		enable(s, key, a);
	else
		disable(s, key, a, "active is false at the provider");
}

/* Known agents that are no agents now: gone from the provider, or no
 * longer matching the [idp] rule. */
static void derive_gone(struct sync *s)
{
	const char *key;
	json_t *a;

	json_object_foreach(s->old_agents, key, a) {
		const char *id = json_string_value(json_object_get(a, "id"));
		json_t *copy;

		if (json_object_get(s->agents, key))
			continue;
		copy = json_deep_copy(a);
		json_object_set_new(s->agents, key, copy);
		if (json_object_get(s->users, id ?: ""))
			disable(s, key, copy, "no longer an agent at the provider");
		else if (s->complete)
			disable(s, key, copy, "absent from a complete export");
		else
			disable(s, key, copy, "deleted at the provider");
	}
}

static json_t *object_copy(json_t *o)
{
	return json_is_object(o) ? json_deep_copy(o) : json_object();
}

int idp_sync_apply(const struct idp_conf *c, json_t *old, const struct scim_batch *b,
		   int64_t now, json_t **out, json_t **changes, struct diag *d)
{
	struct sync s = { .c = c };
	const char *id;
	json_t *u;

	if (!c->agents_group && !c->agents_user_type && !c->agents_attr) {
		diag_add(d, "pinfoldd.conf [idp] says no way to tell agents: set agents_group, "
			 "agents_user_type or agents_attribute");
		return -1;
	}
	s.users = object_copy(json_object_get(old, "users"));
	s.groups = object_copy(json_object_get(old, "groups"));
	if (scim_apply(b, s.users, s.groups, d) < 0 ||
	    check_unique(c, s.users, s.groups, d) < 0) {
		json_decref(s.users);
		json_decref(s.groups);
		return -1;
	}
	s.complete = scim_complete(b, c->agents_group || c->nroles);
	s.seq = json_integer_value(json_object_get(old, "sync")) + 1;
	s.old_agents = json_object_get(old, "agents");
	s.agents = json_object();
	s.changes = json_array();
	json_object_foreach(s.users, id, u)
		if (is_agent(c, u, s.groups))
			derive_one(&s, u);
	derive_gone(&s);

	*out = json_pack("{s:I,s:I,s:O?,s:o,s:o,s:o,s:b}", "sync", s.seq, "last_good",
			 (json_int_t)now, "last_complete", json_object_get(old, "last_complete"),
			 "users", s.users, "groups", s.groups, "agents", s.agents, "complete",
			 s.complete);
	if (s.complete)
		json_object_set_new(*out, "last_complete", json_integer(now));
	*changes = s.changes;
	return 0;
}

int idp_state_load(const char *path, json_t **state, struct diag *d)
{
	json_error_t e;

	*state = json_load_file(path, JSON_REJECT_DUPLICATES, &e);
	if (*state && json_is_object(*state))
		return 0;
	json_decref(*state);
	*state = NULL;
	if (access(path, F_OK) && errno == ENOENT) {
		*state = json_pack("{s:I,s:{},s:{},s:{}}", "sync", (json_int_t)0, "users", "groups",
				   "agents");
		return 0;
	}
	diag_add(d, "%s:%d: %s", path, e.line, e.text);
	return -1;
}

/* The whole text; json_dumpfd would make a write(2) of every token, which
 * for a large directory costs seconds of the daemon's loop. */
static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int idp_state_save(const char *path, json_t *state, struct diag *d)
{
	char tmp[4200], *text;
	int fd, rc;

	text = json_dumps(state, JSON_INDENT(1) | JSON_SORT_KEYS);
	if (!text) {
		diag_add(d, "cannot encode the identity provider state: out of memory");
		return -1;
	}
	snprintf(tmp, sizeof(tmp), "%s.new", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		diag_add(d, "cannot write '%s': %s", tmp, strerror(errno));
		free(text);
		return -1;
	}
	rc = write_all(fd, text, strlen(text)) || write_all(fd, "\n", 1) || fsync(fd);
	free(text);
	if (rc) {
		diag_add(d, "cannot write '%s': %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		return -1;
	}
	close(fd);
	if (rename(tmp, path)) {
		diag_add(d, "cannot rename '%s' to '%s': %s", tmp, path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}
