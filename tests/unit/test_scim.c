// SPDX-License-Identifier: GPL-2.0-only
/*
 * The SCIM reader and the sync rules: the Okta and Entra fixtures in
 * tests/fixtures/scim with their quirks, the sync transitions (added,
 * disabled, renamed, kept disabled after a complete export), and a table
 * of malformed documents, each with the message it must give.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policy/idp.h"
#include "policy/scim.h"

#define FIX "tests/fixtures/scim/"

/* The files named, one after another, as one input. */
static char *slurp(size_t *len, ...)
{
	char *buf = NULL;
	size_t n = 0;
	const char *f;
	va_list ap;

	va_start(ap, len);
	while ((f = va_arg(ap, const char *))) {
		FILE *fp = fopen(f, "r");
		char chunk[4096];
		size_t k;

		assert_non_null(fp);
		while ((k = fread(chunk, 1, sizeof(chunk), fp)) > 0) {
			buf = realloc(buf, n + k + 1);
			memcpy(buf + n, chunk, k);
			n += k;
		}
		fclose(fp);
	}
	va_end(ap);
	buf[n] = 0;
	*len = n;
	return buf;
}

/* Parse f1 and f2 (may be NULL) as one input. */
static void parse_files(struct scim_batch *b, const char *f1, const char *f2)
{
	struct diag d = { 0 };
	size_t n;
	char *buf = slurp(&n, f1, f2, NULL);

	if (scim_parse(buf, n, "fixture", b, &d))
		fail_msg("parse failed: %s", d.n ? d.msgs[0] : "?");
	free(buf);
	diag_free(&d);
}

static json_t *user(struct scim_batch *b, const char *id)
{
	json_t *u = json_object_get(b->users, id);

	assert_non_null(u);
	return u;
}

static const char *str(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static void test_okta(void **state)
{
	struct scim_batch b;

	(void)state;
	parse_files(&b, FIX "okta-users.json", FIX "okta-groups.json");
	assert_int_equal(json_object_size(b.users), 3);
	assert_int_equal(json_object_size(b.groups), 2);
	assert_true(scim_complete(&b, true));
	assert_true(json_is_true(json_object_get(user(&b, "00u1buildbot"), "active")));
	assert_null(json_object_get(user(&b, "00u1buildbot"), "externalId"));
	assert_string_equal(str(user(&b, "00u2reviewer"), "owner"), "Alice Example");
	assert_int_equal(json_object_size(json_object_get(user(&b, "00u1buildbot"), "ext")), 0);
	scim_batch_free(&b);
}

static void test_entra(void **state)
{
	struct scim_batch b;
	json_t *u;

	(void)state;
	parse_files(&b, FIX "entra-users.json", NULL);
	u = user(&b, "9f2c1a4e-0001");
	assert_true(json_is_true(json_object_get(u, "active")));
	assert_false(json_is_true(json_object_get(user(&b, "9f2c1a4e-0002"), "active")));
	assert_true(json_is_true(json_object_get(user(&b, "9f2c1a4e-0003"), "active")));
	assert_string_equal(str(json_object_get(u, "ext"), SCIM_ENTERPRISE ":department"),
			    "AI Agents");
	assert_int_equal(json_object_size(json_object_get(u, "ext")), 1);
	assert_string_equal(str(u, "owner"), "9f2c1a4e-0099");
	/* Users only: complete when groups are not needed. */
	assert_true(scim_complete(&b, false));
	assert_false(scim_complete(&b, true));
	scim_batch_free(&b);
}

/* --- syncs --- */

static struct idp_conf okta_conf(void)
{
	static struct role_map roles[] = { { "Build Agents", "builder" } };
	struct idp_conf c = { .agents_group = "pinfold-agents", .roles = roles, .nroles = 1 };

	return c;
}

static struct idp_conf entra_conf(void)
{
	struct idp_conf c = { .agents_user_type = "Agent" };

	return c;
}

static json_t *empty_state(void)
{
	return json_pack("{s:i,s:{},s:{},s:{}}", "sync", 0, "users", "groups", "agents");
}

/* Sync the text (or files) into *state; returns the changes. */
static json_t *sync_text(const struct idp_conf *c, json_t **state, const char *text)
{
	struct scim_batch b;
	struct diag d = { 0 };
	json_t *out, *changes;

	if (scim_parse(text, strlen(text), "t", &b, &d) ||
	    idp_sync_apply(c, *state, &b, 1000, &out, &changes, &d))
		fail_msg("sync failed: %s", d.n ? d.msgs[0] : "?");
	scim_batch_free(&b);
	json_decref(*state);
	*state = out;
	diag_free(&d);
	return changes;
}

static json_t *sync_files(const struct idp_conf *c, json_t **state, const char *f1,
			  const char *f2)
{
	size_t n;
	char *buf = slurp(&n, f1, f2, NULL);
	json_t *ch = sync_text(c, state, buf);

	free(buf);
	return ch;
}

static json_t *agent(json_t *state, const char *key)
{
	json_t *a = json_object_get(json_object_get(state, "agents"), key);

	if (!a)
		fail_msg("no agent of key '%s'", key);
	return a;
}

static bool has_change(json_t *changes, const char *event, const char *name)
{
	json_t *c;
	size_t i;

	json_array_foreach(changes, i, c)
		if (!strcmp(str(c, "event"), event) && !strcmp(str(c, "name") ?: "", name))
			return true;
	return false;
}

static void test_sync_okta(void **st)
{
	struct idp_conf c = okta_conf();
	json_t *state = empty_state(), *ch, *a;

	(void)st;
	ch = sync_files(&c, &state, FIX "okta-users.json", FIX "okta-groups.json");
	assert_true(has_change(ch, "added", "build-bot"));
	assert_true(has_change(ch, "added", "review-bot"));
	assert_int_equal(json_array_size(ch), 2);
	a = agent(state, "00u1buildbot");
	assert_string_equal(str(a, "status"), "active");
	assert_string_equal(json_string_value(json_array_get(json_object_get(a, "roles"), 0)),
			    "builder");
	assert_string_equal(str(agent(state, "okta-ext-reviewer"), "owner"), "Alice Example");
	assert_true(json_is_true(json_object_get(state, "complete")));
	json_decref(ch);

	/* review-bot leaves the agents group in a complete export. */
	ch = sync_text(&c, &state,
		       "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:ListResponse\"],"
		       "\"totalResults\":1,\"Resources\":[{\"schemas\":"
		       "[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"id\":\"00u2reviewer\","
		       "\"externalId\":\"okta-ext-reviewer\",\"userName\":\"review-bot\"}]}"
		       "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:ListResponse\"],"
		       "\"totalResults\":1,\"Resources\":[{\"schemas\":"
		       "[\"urn:ietf:params:scim:schemas:core:2.0:Group\"],\"id\":\"00g1agents\","
		       "\"displayName\":\"pinfold-agents\"}]}");
	assert_true(has_change(ch, "disabled", "review-bot"));
	assert_true(has_change(ch, "disabled", "build-bot"));
	assert_string_equal(str(agent(state, "okta-ext-reviewer"), "reason"),
			    "no longer an agent at the provider");
	assert_string_equal(str(agent(state, "00u1buildbot"), "reason"),
			    "absent from a complete export");
	json_decref(ch);
	json_decref(state);
}

static const char complete_active[] =
	"{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:ListResponse\"],"
	"\"totalResults\":1,\"Resources\":[{\"schemas\":"
	"[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"id\":\"9f2c1a4e-0002\","
	"\"externalId\":\"entra-oid-0002\",\"userName\":\"triage-renamed\",\"userType\":\"Agent\","
	"\"active\":true}]}";

static void test_sync_entra(void **st)
{
	struct idp_conf c = entra_conf();
	json_t *state = empty_state(), *ch;

	(void)st;
	ch = sync_files(&c, &state, FIX "entra-users.json", NULL);
	assert_true(has_change(ch, "added", "deployagent"));
	assert_true(has_change(ch, "added", "triage-agent"));
	assert_string_equal(str(agent(state, "entra-oid-0002"), "status"), "disabled");
	json_decref(ch);

	/* The exported change set: Replace active "False", a no-path Replace
	 * that makes bob an agent. */
	ch = sync_files(&c, &state, FIX "entra-changes.json", NULL);
	assert_true(has_change(ch, "disabled", "deployagent"));
	assert_true(has_change(ch, "added", "bob"));
	assert_false(json_is_true(json_object_get(state, "complete")));
	json_decref(ch);

	/* A complete export without deployagent and bob: both stay or become
	 * disabled by it; a partial one then saying triage-agent is active
	 * brings it back (a partial one disabled it), but deployagent, which
	 * the complete export disabled, stays so under a partial page. */
	ch = sync_text(&c, &state, complete_active);
	assert_true(has_change(ch, "renamed", "triage-renamed"));
	assert_true(has_change(ch, "enabled", "triage-renamed"));
	assert_true(has_change(ch, "disabled", "bob"));
	assert_string_equal(str(agent(state, "entra-oid-0001"), "status"), "disabled");
	assert_true(json_is_true(json_object_get(agent(state, "entra-oid-0001"), "by_complete")));
	json_decref(ch);

	ch = sync_text(&c, &state,
		       "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:ListResponse\"],"
		       "\"totalResults\":9,\"Resources\":[{\"schemas\":"
		       "[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"id\":\"9f2c1a4e-0001\","
		       "\"externalId\":\"entra-oid-0001\",\"userName\":\"deployagent\","
		       "\"userType\":\"Agent\",\"active\":true}]}");
	assert_true(has_change(ch, "kept-disabled", "deployagent"));
	assert_string_equal(str(agent(state, "entra-oid-0001"), "status"), "disabled");
	json_decref(ch);
	json_decref(state);
}

/* --- malformed input: each row one input and the message it gives --- */

#define LIST "\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:ListResponse\"]"
#define BULK "\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:BulkRequest\"]"
#define USER "\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"]"

static const struct {
	const char *text;
	const char *message;	/* a substring of the first message */
} bad_rows[] = {
	{ "", "t: no SCIM document in it" },
	{ "[1]", "t: document 1: not a JSON object" },
	{ "{\"a\":1}", "t: document 1: neither a ListResponse nor a BulkRequest" },
	{ "{" LIST "}", "t: document 1: no \"totalResults\" number" },
	{ "{" LIST ",\"totalResults\":1,\"Resources\":{}}", "\"Resources\" is not an array" },
	{ "{" LIST ",\"totalResults\":1,\"Resources\":[{" USER ",\"id\":\"x\"}]}",
	  "t: document 1: Resources[0]: no \"userName\" string" },
	{ "{" LIST ",\"totalResults\":1,\"Resources\":[{" USER ",\"userName\":\"x\"}]}",
	  "Resources[0]: no \"id\" string" },
	{ "{" LIST ",\"totalResults\":1,\"Resources\":[{" USER
	  ",\"id\":\"x\",\"userName\":\"x\",\"active\":\"maybe\"}]}",
	  "Resources[0]: \"active\" is neither a boolean" },
	{ "{" LIST ",\"totalResults\":1,\"Resources\":[{\"id\":\"x\"}]}",
	  "Resources[0]: neither a User nor a Group" },
	{ "{" LIST ",\"totalResults\":0}\n{" LIST ",\"totalResults\":1,\"Resources\":[7]}",
	  "t: document 2: Resources[0]: not an object" },
	{ "{" LIST ",\"totalResults\":0}\n\n{\"schemas\": [\"x\"], \"a\": tru",
	  "t: document 2, line 3, column" },
	{ "{" LIST ",\"totalResults\":0,\"totalResults\":1}", "t: document 1, line 1, column" },
	{ "{" BULK "}", "no \"Operations\" array" },
	{ "{" BULK ",\"Operations\":[{\"method\":\"FETCH\",\"path\":\"/Users/x\"}]}",
	  "Operations[0]: bad \"method\" 'FETCH'" },
	{ "{" BULK ",\"Operations\":[{\"method\":\"patch\",\"path\":\"/Things/x\"}]}",
	  "Operations[0]: bad \"path\" '/Things/x'" },
	{ "{" BULK ",\"Operations\":[{\"method\":\"PATCH\",\"path\":\"/Users/x\"}]}",
	  "PATCH /Users/x has no \"data\" object" },
};

static void test_bad_rows(void **st)
{
	(void)st;
	for (size_t i = 0; i < sizeof(bad_rows) / sizeof(bad_rows[0]); i++) {
		struct scim_batch b;
		struct diag d = { 0 };
		int rc = scim_parse(bad_rows[i].text, strlen(bad_rows[i].text), "t", &b, &d);

		if (rc != -1 || !d.n || !strstr(d.msgs[0], bad_rows[i].message))
			fail_msg("row %zu: rc %d, message '%s', want '%s'", i, rc,
				 d.n ? d.msgs[0] : "(none)", bad_rows[i].message);
		diag_free(&d);
	}
}

/* Rows that parse but must not apply; the state is not touched. */
static const struct {
	const char *text;
	const char *message;
} bad_apply[] = {
	{ "{" BULK ",\"Operations\":[{\"method\":\"PATCH\",\"path\":\"/Users/nobody\","
	  "\"data\":{\"Operations\":[]}}]}",
	  "change 1 (PATCH Users/nobody): PATCH of user 'nobody', which is not known" },
	{ "{" BULK ",\"Operations\":[{\"method\":\"POST\",\"path\":\"/Users\",\"data\":{\"id\":"
	  "\"n\",\"userName\":\"n\"}},{\"method\":\"PATCH\",\"path\":\"/Users/n\",\"data\":"
	  "{\"Operations\":[{\"op\":\"Frobnicate\",\"path\":\"active\",\"value\":false}]}}]}",
	  "change 2 (PATCH Users/n): Operations[0]: bad op 'Frobnicate'" },
	{ "{" LIST ",\"totalResults\":2,\"Resources\":[{" USER ",\"id\":\"a\",\"userName\":"
	  "\"Dup\"},{" USER ",\"id\":\"b\",\"userName\":\"dup\"}]}",
	  "duplicate userName 'dup': users 'a' and 'b'" },
};

static void test_bad_apply(void **st)
{
	struct idp_conf c = entra_conf();

	(void)st;
	for (size_t i = 0; i < sizeof(bad_apply) / sizeof(bad_apply[0]); i++) {
		json_t *state = empty_state(), *before = json_deep_copy(state), *out = NULL, *ch;
		struct scim_batch b;
		struct diag d = { 0 };
		int rc;

		assert_int_equal(scim_parse(bad_apply[i].text, strlen(bad_apply[i].text), "t", &b,
					    &d), 0);
		rc = idp_sync_apply(&c, state, &b, 1, &out, &ch, &d);
		if (rc != -1 || !d.n || !strstr(d.msgs[0], bad_apply[i].message))
			fail_msg("row %zu: rc %d, message '%s', want '%s'", i, rc,
				 d.n ? d.msgs[0] : "(none)", bad_apply[i].message);
		assert_true(json_equal(state, before));
		scim_batch_free(&b);
		diag_free(&d);
		json_decref(state);
		json_decref(before);
	}
}

static void test_fixture_files_bad(void **st)
{
	static const char *const rows[][2] = {
		{ FIX "truncated.json", "document 1, line " },
		{ FIX "duplicate.json", "duplicate userName 'Twin@Example.com': users 'u1' and 'u2'" },
	};
	struct idp_conf c = entra_conf();

	(void)st;
	for (size_t i = 0; i < 2; i++) {
		struct scim_batch b;
		struct diag d = { 0 };
		size_t n;
		char *buf = slurp(&n, rows[i][0], NULL);
		json_t *state = empty_state(), *out, *ch;
		int rc = scim_parse(buf, n, rows[i][0], &b, &d);

		if (!rc)
			rc = idp_sync_apply(&c, state, &b, 1, &out, &ch, &d), scim_batch_free(&b);
		if (rc != -1 || !d.n || !strstr(d.msgs[0], rows[i][1]))
			fail_msg("%s: message '%s', want '%s'", rows[i][0], d.n ? d.msgs[0] : "",
				 rows[i][1]);
		free(buf);
		diag_free(&d);
		json_decref(state);
	}
}

static void test_agent_names(void **st)
{
	static const char *const rows[][2] = {
		{ "build-bot@example.com", "build-bot" }, { "DeployAgent@x", "deployagent" },
		{ "plain", "plain" },			  { "-dash", NULL },
		{ "has space", NULL },			  { "@nothing", NULL },
		{ "a23456789012345678901234567890123", NULL },
	};
	char out[64];

	(void)st;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		int rc = idp_agent_name(rows[i][0], out, sizeof(out));

		if (rows[i][1] ? (rc || strcmp(out, rows[i][1])) : !rc)
			fail_msg("'%s': rc %d '%s'", rows[i][0], rc, rc ? "" : out);
	}
}

/* A state saved is the state loaded back, a large one too, and nothing
 * is left beside it. */
static void test_state_roundtrip(void **st)
{
	char dir[] = "/tmp/pinfold-scim-XXXXXX", path[64], tmp[80];
	json_t *state = json_object(), *users = json_object(), *back = NULL;
	struct diag d = { 0 };

	(void)st;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/state.json", dir);
	snprintf(tmp, sizeof(tmp), "%s.new", path);
	for (int i = 0; i < 5000; i++) {
		char id[16];

		snprintf(id, sizeof(id), "u%05d", i);
		json_object_set_new(users, id,
				    json_pack("{s:s,s:s,s:b}", "id", id, "userName",
					      "Ünïcode \"quoted\"\n", "active", i % 2));
	}
	json_object_set_new(state, "users", users);
	json_object_set_new(state, "sync", json_integer(7));
	assert_int_equal(idp_state_save(path, state, &d), 0);
	assert_int_equal(access(tmp, F_OK), -1);
	assert_int_equal(idp_state_load(path, &back, &d), 0);
	assert_true(json_equal(state, back));
	json_decref(state);
	json_decref(back);
	diag_free(&d);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_okta),
		cmocka_unit_test(test_entra),
		cmocka_unit_test(test_sync_okta),
		cmocka_unit_test(test_sync_entra),
		cmocka_unit_test(test_bad_rows),
		cmocka_unit_test(test_bad_apply),
		cmocka_unit_test(test_fixture_files_bad),
		cmocka_unit_test(test_agent_names),
		cmocka_unit_test(test_state_roundtrip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
