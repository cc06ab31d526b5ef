// SPDX-License-Identifier: GPL-2.0-only
/*
 * What a control request may look like: the verbs, who may call each, and
 * the exact shape of its message. pinfoldd checks every request here
 * before acting on it; the fuzz target in tests/fuzz drives the same code.
 */
#include <stdio.h>
#include <string.h>

#include "daemon/proto.h"

#define ARGV_MAX 4096

/*
 * Shapes are jansson unpack formats, checked with JSON_VALIDATE_ONLY; "!"
 * refuses any member the verb does not know, so a misspelt field is an
 * error rather than an ignored one. keys[] are the formats' keys in order.
 */
static const struct proto_verb verbs[] = {
	{ "run", ACCESS_DISPATCH, "{s:s,s:s,s?s,s:o,s?o!}",
	  { "verb", "agent", "workspace", "argv", "env" } },
	{ "signal", ACCESS_SESSION, "{s:s,s:i!}", { "verb", "signal" } },
	{ "status", ACCESS_READ, "{s:s!}", { "verb" } },
	{ "reload", ACCESS_ADMIN, "{s:s!}", { "verb" } },
	{ "sessions", ACCESS_READ, "{s:s!}", { "verb" } },
	{ "agents", ACCESS_READ, "{s:s!}", { "verb" } },
	{ "kill", ACCESS_ADMIN, "{s:s,s?I,s?s!}", { "verb", "session", "agent" } },
	{ "freeze", ACCESS_ADMIN, "{s:s,s?I,s?s!}", { "verb", "session", "agent" } },
	{ "thaw", ACCESS_ADMIN, "{s:s,s?I,s?s!}", { "verb", "session", "agent" } },
	{ "idp-sync", ACCESS_ADMIN, "{s:s,s:s!}", { "verb", "source" } },
	{ "pam-account", ACCESS_ADMIN, "{s:s,s:s!}", { "verb", "user" } },
	{ "pam-open", ACCESS_ADMIN, "{s:s,s:s!}", { "verb", "user" } },
};

const char *proto_access_name(enum proto_access a)
{
	static const char *const names[] = {
		[ACCESS_READ] = "read",
		[ACCESS_ADMIN] = "admin",
		[ACCESS_APPROVE] = "approve",
		[ACCESS_DISPATCH] = "dispatch",
		[ACCESS_SESSION] = "session",
	};

	return (unsigned)a < sizeof(names) / sizeof(names[0]) ? names[a] : "?";
}

const struct proto_verb *proto_verb_find(const char *name)
{
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (!strcmp(verbs[i].name, name))
			return &verbs[i];
	return NULL;
}

/* A member that must be an array of at most ARGV_MAX strings. */
static int check_strings(json_t *m, const char *key, bool nonempty, char *err, size_t errlen)
{
	json_t *a = json_object_get(m, key), *v;
	size_t i;

	if (!a)
		return 0;
	if (!json_is_array(a) || json_array_size(a) > ARGV_MAX ||
	    (nonempty && !json_array_size(a))) {
		snprintf(err, errlen, "\"%s\" must be an array of 1 to %d strings", key, ARGV_MAX);
		return -1;
	}
	json_array_foreach(a, i, v) {
		if (!json_is_string(v)) {
			snprintf(err, errlen, "\"%s\"[%zu] is not a string", key, i);
			return -1;
		}
	}
	return 0;
}

const struct proto_verb *proto_request_check(json_t *m, char *err, size_t errlen)
{
	const char *name = json_string_value(json_object_get(m, "verb"));
	const struct proto_verb *v;
	json_error_t je;

	if (!name) {
		snprintf(err, errlen, "message has no \"verb\" string");
		return NULL;
	}
	v = proto_verb_find(name);
	if (!v) {
		snprintf(err, errlen, "unknown verb '%.64s'", name);
		return NULL;
	}
	if (json_unpack_ex(m, &je, JSON_VALIDATE_ONLY, v->shape, v->keys[0], v->keys[1],
			   v->keys[2], v->keys[3], v->keys[4], v->keys[5], v->keys[6],
			   v->keys[7])) {
		snprintf(err, errlen, "bad '%s' request: %s", v->name, je.text);
		return NULL;
	}
	if (!strcmp(v->name, "run") && (check_strings(m, "argv", true, err, errlen) ||
					check_strings(m, "env", false, err, errlen)))
		return NULL;
	return v;
}

int proto_decode(const char *buf, size_t len, json_t **msg)
{
	json_error_t je;

	*msg = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	if (*msg && json_is_object(*msg))
		return 0;
	json_decref(*msg);
	*msg = NULL;
	return -EBADMSG;
}
