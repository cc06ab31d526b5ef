// SPDX-License-Identifier: GPL-2.0-only
/*
 * Applying a SCIM batch to the Users and Groups pinfold knows: listings
 * replace or merge, then each change operation of an exported change set
 * in order (RFC 7644 3.5.2 PATCH, 3.7 Bulk).
 *
 * PATCH paths pinfold understands: the user attributes it keeps (active,
 * userName, externalId, userType, displayName, the enterprise extension's
 * attributes by their full URN), a group's displayName and members,
 * including Entra's `members[value eq "ID"]` filter for one member. Any
 * other path names an attribute pinfold does not keep and is ignored.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policy/scim.h"
#include "policy/scim_int.h"

enum patch_op { OP_ADD, OP_REPLACE, OP_REMOVE };

static int parse_op(const char *s, enum patch_op *op)
{
	static const char *const names[] = { "add", "replace", "remove" };

	for (int i = 0; s && i < 3; i++) {
		if (!strcasecmp(s, names[i])) {
			*op = (enum patch_op)i;
			return 0;
		}
	}
	return -1;
}

/* A user PATCH operation: with a path, one attribute; without, a value
 * object whose members are attributes (Entra sends both). */
static int patch_user(json_t *user, enum patch_op op, const char *path, json_t *value,
		      char *why, size_t whylen)
{
	const char *k;
	json_t *v;

	if (path)
		return scim_user_set(user, path, op == OP_REMOVE ? NULL : value, why, whylen);
	if (!json_is_object(value)) {
		snprintf(why, whylen, "an operation without \"path\" needs a \"value\" object");
		return -1;
	}
	json_object_foreach(value, k, v)
		if (scim_user_set(user, k, op == OP_REMOVE ? NULL : v, why, whylen) < 0)
			return -1;
	return 0;
}

static void remove_member(json_t *members, const char *id)
{
	for (size_t i = json_array_size(members); i-- > 0;)
		if (!strcmp(json_string_value(json_array_get(members, i)) ?: "", id))
			json_array_remove(members, i);
}

static void add_member(json_t *members, json_t *id)
{
	remove_member(members, json_string_value(id));
	json_array_append(members, id);
}

/* `members[value eq "ID"]`: the one member it names, or NULL. */
static char *member_filter(const char *path)
{
	char id[256];
	int n = 0;

	if (sscanf(path, "members[value eq \"%255[^\"]\"]%n", id, &n) == 1 &&
	    (size_t)n == strlen(path))
		return strdup(id);
	return NULL;
}

static int patch_members(json_t *group, enum patch_op op, json_t *value, char *why,
			 size_t whylen)
{
	json_t *members = json_object_get(group, "members"), *ids = json_array(), *id;
	size_t i;

	if (value && scim_members_of(value, ids, why, whylen) < 0) {
		json_decref(ids);
		return -1;
	}
	if (op == OP_REPLACE || (op == OP_REMOVE && !value))
		json_array_clear(members);
	json_array_foreach(ids, i, id) {
		if (op == OP_REMOVE)
			remove_member(members, json_string_value(id));
		else
			add_member(members, id);
	}
	json_decref(ids);
	return 0;
}

static int patch_group(json_t *group, enum patch_op op, const char *path, json_t *value,
		       char *why, size_t whylen)
{
	char *one;

	if (!path && json_is_object(value)) {
		json_t *name = scim_get_ci(value, "displayName"), *m = scim_get_ci(value, "members");

		if (json_is_string(name))
			json_object_set(group, "displayName", name);
		return m ? patch_members(group, op, m, why, whylen) : 0;
	}
	if (path && !strcasecmp(path, "displayName")) {
		if (!json_is_string(value)) {
			snprintf(why, whylen, "\"displayName\" is not a string");
			return -1;
		}
		json_object_set(group, "displayName", value);
		return 0;
	}
	if (path && !strcasecmp(path, "members"))
		return patch_members(group, op, value, why, whylen);
	one = path ? member_filter(path) : NULL;
	if (one && op == OP_REMOVE)
		remove_member(json_object_get(group, "members"), one);
	free(one);
	return 0;
}

static int patch(json_t *obj, bool is_user, json_t *data, char *why, size_t whylen)
{
	json_t *ops = scim_get_ci(data, "Operations"), *o;
	size_t i;

	if (!json_is_array(ops)) {
		snprintf(why, whylen, "PATCH data has no \"Operations\" array");
		return -1;
	}
	json_array_foreach(ops, i, o) {
		const char *opname = json_string_value(scim_get_ci(o, "op"));
		const char *path = json_string_value(scim_get_ci(o, "path"));
		json_t *value = scim_get_ci(o, "value");
		enum patch_op op;
		int rc;

		if (parse_op(opname, &op) < 0) {
			snprintf(why, whylen, "Operations[%zu]: bad op '%s': add, replace or remove",
				 i, opname ? opname : "");
			return -1;
		}
		if (op != OP_REMOVE && !value) {
			snprintf(why, whylen, "Operations[%zu]: %s without \"value\"", i, opname);
			return -1;
		}
		rc = is_user ? patch_user(obj, op, path, value, why, whylen)
			     : patch_group(obj, op, path, value, why, whylen);
		if (rc < 0)
			return -1;
	}
	return 0;
}

static int apply_change(json_t *c, json_t *users, json_t *groups, char *why, size_t whylen)
{
	const char *method = json_string_value(json_object_get(c, "method"));
	const char *id = json_string_value(json_object_get(c, "id"));
	bool is_user = !strcmp(json_string_value(json_object_get(c, "kind")), "Users");
	json_t *map = is_user ? users : groups, *data = json_object_get(c, "data"), *obj;

	if (!strcmp(method, "DELETE")) {
		json_object_del(map, id);
		return 0;
	}
	if (!strcmp(method, "PATCH")) {
		obj = json_object_get(map, id);
		if (!obj) {
			snprintf(why, whylen, "PATCH of %s '%s', which is not known", is_user ? "user"
				 : "group", id);
			return -1;
		}
		return patch(obj, is_user, data, why, whylen);
	}
	/* POST and PUT give the whole resource. */
	data = json_deep_copy(data);
	json_object_set_new(data, "id", json_string(id));
	obj = is_user ? scim_user_from(data, why, whylen) : scim_group_from(data, why, whylen);
	json_decref(data);
	if (!obj)
		return -1;
	json_object_set_new(map, id, obj);
	return 0;
}

int scim_apply(const struct scim_batch *b, json_t *users, json_t *groups, struct diag *d)
{
	json_t *c;
	size_t i;

	if (b->users_listed && b->users_complete)
		json_object_clear(users);
	if (b->groups_listed && b->groups_complete)
		json_object_clear(groups);
	json_object_update(users, b->users);
	json_object_update(groups, b->groups);
	json_array_foreach(b->changes, i, c) {
		char why[512];

		if (apply_change(c, users, groups, why, sizeof(why)) < 0) {
			diag_add(d, "change %zu (%s %s/%s): %s", i + 1,
				 json_string_value(json_object_get(c, "method")),
				 json_string_value(json_object_get(c, "kind")),
				 json_string_value(json_object_get(c, "id")), why);
			return -1;
		}
	}
	return 0;
}
