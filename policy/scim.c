// SPDX-License-Identifier: GPL-2.0-only
/*
 * SCIM documents to pinfold's reduced Users and Groups (see scim.h): the
 * reading of ListResponse pages and BulkRequest change sets, and the
 * applying of PATCH operations.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policy/scim.h"
#include "policy/scim_int.h"

#define SCIM_LIST "urn:ietf:params:scim:api:messages:2.0:ListResponse"
#define SCIM_BULK "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
#define SCIM_USER "urn:ietf:params:scim:schemas:core:2.0:User"
#define SCIM_GROUP "urn:ietf:params:scim:schemas:core:2.0:Group"
/* A change set larger than this is an error, not a sync. */
#define DOCUMENTS_MAX 100000

/* Where a problem is, for messages: the input, the document, the item. */
struct where {
	const char *source;
	size_t doc;
	char item[96];
	struct diag *d;
};

static void bad(struct where *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void bad(struct where *w, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	diag_add(w->d, "%s: document %zu%s%s: %s", w->source, w->doc, w->item[0] ? ": " : "",
		 w->item, msg);
}

/* The member of o named key, compared without regard to case: SCIM
 * attribute names are case-insensitive (RFC 7643 2.1). */
json_t *scim_get_ci(json_t *o, const char *key)
{
	const char *k;
	json_t *v;

	json_object_foreach(o, k, v)
		if (!strcasecmp(k, key))
			return v;
	return NULL;
}

static bool has_schema(json_t *o, const char *urn)
{
	json_t *s;
	size_t i;

	json_array_foreach(scim_get_ci(o, "schemas"), i, s)
		if (json_is_string(s) && !strcasecmp(json_string_value(s), urn))
			return true;
	return false;
}

/* "active" as a JSON boolean, or as the string some providers send;
 * anything else is an error. Missing means active. */
static int parse_active(json_t *v, bool *out)
{
	const char *s = json_string_value(v);

	if (!v || json_is_null(v)) {
		*out = true;
		return 0;
	}
	if (json_is_boolean(v)) {
		*out = json_is_true(v);
		return 0;
	}
	if (s && (!strcasecmp(s, "true") || !strcasecmp(s, "false"))) {
		*out = !strcasecmp(s, "true");
		return 0;
	}
	return -1;
}

/* Sets o[key] to v's string when v is one; missing and null leave it
 * out; anything else is an error. */
static int take_string(json_t *o, const char *key, json_t *v)
{
	if (!v || json_is_null(v)) {
		json_object_del(o, key);
		return 0;
	}
	if (!json_is_string(v))
		return -1;
	json_object_set(o, key, v);
	return 0;
}

/* The owner is the enterprise extension's manager: its displayName, else
 * its value. A bare string is taken too. */
static void take_manager(json_t *user, json_t *m)
{
	json_t *name = json_is_object(m) ? scim_get_ci(m, "displayName") : m;

	if (json_is_object(m) && !json_is_string(name))
		name = scim_get_ci(m, "value");
	if (json_is_string(name))
		json_object_set(user, "owner", name);
	else
		json_object_del(user, "owner");
}

/* One attribute of the enterprise extension; string values are kept,
 * the manager becomes the owner, others are ignored. */
static void take_enterprise_attr(json_t *user, const char *attr, json_t *v)
{
	char key[256];
	json_t *ext = json_object_get(user, "ext");

	if (!strcasecmp(attr, "manager")) {
		take_manager(user, v);
		return;
	}
	snprintf(key, sizeof(key), "%s:%s", SCIM_ENTERPRISE, attr);
	if (json_is_string(v))
		json_object_set(ext, key, v);
	else if (!v || json_is_null(v))
		json_object_del(ext, key);
}

static const char *const user_strings[] = { "userName", "externalId", "userType",
					     "displayName", NULL };

/* Set one user attribute by its SCIM name (any case); an attribute
 * pinfold does not use is ignored. Returns -1 for a bad value. */
int scim_user_set(json_t *user, const char *attr, json_t *v, char *why, size_t whylen)
{
	size_t n = strlen(SCIM_ENTERPRISE);
	const char *k;
	json_t *x;

	for (int i = 0; user_strings[i]; i++) {
		if (strcasecmp(attr, user_strings[i]))
			continue;
		if (take_string(user, user_strings[i], v) < 0) {
			snprintf(why, whylen, "\"%s\" is not a string", user_strings[i]);
			return -1;
		}
		return 0;
	}
	if (!strcasecmp(attr, "active")) {
		bool on;

		if (parse_active(v, &on) < 0) {
			snprintf(why, whylen, "\"active\" is neither a boolean nor \"true\" or "
				 "\"false\"");
			return -1;
		}
		json_object_set_new(user, "active", json_boolean(on));
	} else if (!strncasecmp(attr, SCIM_ENTERPRISE, n) && attr[n] == ':') {
		take_enterprise_attr(user, attr + n + 1, v);
	} else if (!strcasecmp(attr, SCIM_ENTERPRISE) && json_is_object(v)) {
		json_object_foreach(v, k, x)
			take_enterprise_attr(user, k, x);
	}
	return 0;
}

json_t *scim_user_from(json_t *r, char *why, size_t whylen)
{
	json_t *u = json_pack("{s:O?,s:b,s:{}}", "id", scim_get_ci(r, "id"), "active", 1, "ext");
	const char *k;
	json_t *v;

	if (!json_is_string(json_object_get(u, "id"))) {
		snprintf(why, whylen, "no \"id\" string");
		goto fail;
	}
	json_object_foreach(r, k, v)
		if (strcasecmp(k, "id") && scim_user_set(u, k, v, why, whylen) < 0)
			goto fail;
	if (!json_is_string(json_object_get(u, "userName"))) {
		snprintf(why, whylen, "no \"userName\" string");
		goto fail;
	}
	return u;
fail:
	json_decref(u);
	return NULL;
}

/* Member ids of a "members" value: [{"value": "id"}, ...]. */
int scim_members_of(json_t *v, json_t *out, char *why, size_t whylen)
{
	json_t *m;
	size_t i;

	if (!json_is_array(v)) {
		snprintf(why, whylen, "\"members\" is not an array");
		return -1;
	}
	json_array_foreach(v, i, m) {
		json_t *id = json_is_object(m) ? scim_get_ci(m, "value") : NULL;

		if (!json_is_string(id)) {
			snprintf(why, whylen, "members[%zu] has no \"value\" string", i);
			return -1;
		}
		json_array_append(out, id);
	}
	return 0;
}

json_t *scim_group_from(json_t *r, char *why, size_t whylen)
{
	json_t *g = json_pack("{s:O?,s:O?,s:[]}", "id", scim_get_ci(r, "id"), "displayName",
			      scim_get_ci(r, "displayName"), "members");
	json_t *members = scim_get_ci(r, "members");

	if (!json_is_string(json_object_get(g, "id"))) {
		snprintf(why, whylen, "no \"id\" string");
	} else if (!json_is_string(json_object_get(g, "displayName"))) {
		snprintf(why, whylen, "no \"displayName\" string");
	} else if (!members || json_is_null(members) ||
		   !scim_members_of(members, json_object_get(g, "members"), why, whylen)) {
		return g;
	}
	json_decref(g);
	return NULL;
}

enum kind { KIND_UNKNOWN, KIND_USER, KIND_GROUP };

static enum kind kind_of(json_t *r)
{
	const char *rt = json_string_value(scim_get_ci(scim_get_ci(r, "meta"), "resourceType"));

	if (has_schema(r, SCIM_USER) || (rt && !strcasecmp(rt, "User")))
		return KIND_USER;
	if (has_schema(r, SCIM_GROUP) || (rt && !strcasecmp(rt, "Group")))
		return KIND_GROUP;
	return KIND_UNKNOWN;
}

/* Pages of one listing must agree on totalResults; the listing is
 * complete when the resources seen add up to it. */
struct listing {
	json_int_t total;	/* -1 until a page says */
	json_int_t seen;
	bool consistent;
};

static int add_resource(struct scim_batch *b, json_t *r, struct listing *ls, struct where *w)
{
	enum kind k = kind_of(r);
	char why[512];
	json_t *o;

	if (k == KIND_UNKNOWN) {
		bad(w, "neither a User nor a Group (no core schema, no meta.resourceType)");
		return -1;
	}
	o = k == KIND_USER ? scim_user_from(r, why, sizeof(why))
			   : scim_group_from(r, why, sizeof(why));
	if (!o) {
		bad(w, "%s", why);
		return -1;
	}
	json_object_set_new(k == KIND_USER ? b->users : b->groups,
			    json_string_value(json_object_get(o, "id")), o);
	ls[k].seen++;
	*(k == KIND_USER ? &b->users_listed : &b->groups_listed) = true;
	return 0;
}

/* A page says which kind it lists by its resources; an empty page (no
 * Resources, totalResults 0) lists nothing, which is complete. */
static int parse_list(struct scim_batch *b, json_t *doc, struct listing *ls, struct where *w)
{
	json_t *total = scim_get_ci(doc, "totalResults"), *res = scim_get_ci(doc, "Resources"), *r;
	enum kind page_kind = KIND_UNKNOWN;
	size_t i;

	if (!json_is_integer(total) || json_integer_value(total) < 0) {
		bad(w, "no \"totalResults\" number");
		return -1;
	}
	if (res && !json_is_array(res)) {
		bad(w, "\"Resources\" is not an array");
		return -1;
	}
	json_array_foreach(res, i, r) {
		snprintf(w->item, sizeof(w->item), "Resources[%zu]", i);
		if (!json_is_object(r)) {
			bad(w, "not an object");
			return -1;
		}
		if (add_resource(b, r, ls, w) < 0)
			return -1;
		if (page_kind == KIND_UNKNOWN)
			page_kind = kind_of(r);
	}
	w->item[0] = 0;
	if (page_kind != KIND_UNKNOWN) {
		struct listing *l = &ls[page_kind];

		if (l->total >= 0 && l->total != json_integer_value(total))
			l->consistent = false;
		l->total = json_integer_value(total);
	}
	return 0;
}

/* "/Users/ID" or "/Groups/ID" into kind and id. */
static enum kind parse_bulk_path(const char *path, const char **id)
{
	static const struct {
		const char *prefix;
		enum kind kind;
	} p[] = { { "/Users/", KIND_USER }, { "/Groups/", KIND_GROUP },
		  { "/Users", KIND_USER }, { "/Groups", KIND_GROUP } };

	for (size_t i = 0; path && i < sizeof(p) / sizeof(p[0]); i++) {
		size_t n = strlen(p[i].prefix);

		if (!strncasecmp(path, p[i].prefix, n)) {
			*id = path + n;
			return p[i].kind;
		}
	}
	return KIND_UNKNOWN;
}

static const char *const methods[] = { "POST", "PUT", "PATCH", "DELETE", NULL };

/* One operation of a BulkRequest, normalised to
 * {"method": "PATCH", "kind": "Users", "id", "data"?}. */
static int parse_bulk_op(struct scim_batch *b, json_t *op, struct where *w)
{
	const char *method = json_string_value(scim_get_ci(op, "method"));
	const char *path = json_string_value(scim_get_ci(op, "path")), *id = "";
	json_t *data = scim_get_ci(op, "data"), *n;
	enum kind k = parse_bulk_path(path, &id);
	int m;

	for (m = 0; method && methods[m] && strcasecmp(method, methods[m]); m++)
		;
	if (!method || !methods[m]) {
		bad(w, "bad \"method\" '%s': POST, PUT, PATCH or DELETE", method ? method : "");
		return -1;
	}
	if (k == KIND_UNKNOWN) {
		bad(w, "bad \"path\" '%s': /Users/ID or /Groups/ID", path ? path : "");
		return -1;
	}
	if (!*id && data)
		id = json_string_value(scim_get_ci(data, "id")) ?: "";
	if (!*id) {
		bad(w, "%s %s names no id", methods[m], path);
		return -1;
	}
	if (strcmp(methods[m], "DELETE") && !json_is_object(data)) {
		bad(w, "%s %s has no \"data\" object", methods[m], path);
		return -1;
	}
	n = json_pack("{s:s,s:s,s:s,s:O?}", "method", methods[m], "kind",
		      k == KIND_USER ? "Users" : "Groups", "id", id, "data", data);
	json_array_append_new(b->changes, n);
	return 0;
}

static int parse_bulk(struct scim_batch *b, json_t *doc, struct where *w)
{
	json_t *ops = scim_get_ci(doc, "Operations"), *op;
	size_t i;

	if (!json_is_array(ops)) {
		bad(w, "no \"Operations\" array");
		return -1;
	}
	json_array_foreach(ops, i, op) {
		snprintf(w->item, sizeof(w->item), "Operations[%zu]", i);
		if (!json_is_object(op) || parse_bulk_op(b, op, w) < 0) {
			if (!json_is_object(op))
				bad(w, "not an object");
			return -1;
		}
	}
	w->item[0] = 0;
	return 0;
}

static int parse_doc(struct scim_batch *b, json_t *doc, struct listing *ls, struct where *w)
{
	if (!json_is_object(doc)) {
		bad(w, "not a JSON object");
		return -1;
	}
	if (has_schema(doc, SCIM_LIST))
		return parse_list(b, doc, ls, w);
	if (has_schema(doc, SCIM_BULK))
		return parse_bulk(b, doc, w);
	bad(w, "neither a ListResponse nor a BulkRequest (\"schemas\" names neither)");
	return -1;
}

static size_t skip_space(const char *buf, size_t len, size_t at)
{
	while (at < len && isspace((unsigned char)buf[at]))
		at++;
	return at;
}

static int line_of(const char *buf, size_t at)
{
	int n = 1;

	for (size_t i = 0; i < at; i++)
		n += buf[i] == '\n';
	return n;
}

static void batch_init(struct scim_batch *b)
{
	memset(b, 0, sizeof(*b));
	b->users = json_object();
	b->groups = json_object();
	b->changes = json_array();
}

void scim_batch_free(struct scim_batch *b)
{
	json_decref(b->users);
	json_decref(b->groups);
	json_decref(b->changes);
	memset(b, 0, sizeof(*b));
}

/* One JSON value at buf + at; jansson says how far it read. */
static json_t *next_doc(const char *buf, size_t len, size_t *at, struct where *w)
{
	json_error_t e;
	json_t *doc = json_loadb(buf + *at, len - *at,
				 JSON_DISABLE_EOF_CHECK | JSON_REJECT_DUPLICATES, &e);

	if (!doc) {
		int line = line_of(buf, *at) + e.line - 1;

		diag_add(w->d, "%s: document %zu, line %d, column %d: %s", w->source, w->doc,
			 line, e.column, e.text);
		return NULL;
	}
	*at += e.position;
	return doc;
}

int scim_parse(const char *buf, size_t len, const char *source, struct scim_batch *out,
	       struct diag *d)
{
	struct listing ls[3] = { { -1, 0, true }, { -1, 0, true }, { -1, 0, true } };
	struct where w = { .source = source, .d = d };
	size_t at = skip_space(buf, len, 0);

	batch_init(out);
	if (at == len) {
		diag_add(d, "%s: no SCIM document in it", source);
		goto fail;
	}
	while (at < len) {
		json_t *doc;
		int rc;

		w.doc = ++out->documents;
		if (w.doc > DOCUMENTS_MAX) {
			diag_add(d, "%s: more than %d documents", source, DOCUMENTS_MAX);
			goto fail;
		}
		doc = next_doc(buf, len, &at, &w);
		if (!doc)
			goto fail;
		rc = parse_doc(out, doc, ls, &w);
		json_decref(doc);
		if (rc < 0)
			goto fail;
		at = skip_space(buf, len, at);
	}
	out->users_complete = ls[KIND_USER].consistent && ls[KIND_USER].seen == ls[KIND_USER].total;
	out->groups_complete = ls[KIND_GROUP].consistent &&
			       ls[KIND_GROUP].seen == ls[KIND_GROUP].total;
	return 0;
fail:
	scim_batch_free(out);
	return -1;
}

bool scim_complete(const struct scim_batch *b, bool need_groups)
{
	return b->users_listed && b->users_complete && !json_array_size(b->changes) &&
	       (!need_groups || (b->groups_listed && b->groups_complete));
}
