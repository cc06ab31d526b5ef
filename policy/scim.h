/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * SCIM 2.0 (RFC 7643, RFC 7644) as an identity provider sends it to
 * pinfold: ListResponse pages of Users and Groups (a complete export, or
 * part of one), and exported change sets (BulkRequest of PATCH, POST, PUT
 * and DELETE operations). Shared by pinfoldd, which applies a sync, and
 * the tools; documents are parsed with jansson.
 *
 * Users and Groups are reduced to what pinfold uses, as JSON objects:
 *
 *   user:  {"id", "userName", "active": bool, "externalId"?, "userType"?,
 *           "displayName"?, "owner"?, "ext": {"URN:attr": "value", ...}}
 *   group: {"id", "displayName", "members": ["user id", ...]}
 *
 * Provider quirks taken as they come: "active" as a string in any case
 * ("False"), op names in any case ("Replace"), optional attributes
 * missing (a missing "active" is true), extension schemas other than the
 * enterprise User extension ignored.
 */
#ifndef PINFOLD_SCIM_H
#define PINFOLD_SCIM_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "policy/policy.h"

#define SCIM_ENTERPRISE "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

/* What one sync input held. */
struct scim_batch {
	json_t *users;		/* id -> user, from ListResponse pages */
	json_t *groups;		/* id -> group */
	bool users_listed, groups_listed;	/* some page of each came */
	bool users_complete, groups_complete;	/* every page of it came */
	json_t *changes;	/* BulkRequest operations, normalised, in order */
	size_t documents;
};

/*
 * Parse len bytes of one or more JSON documents, one after another
 * (pages of a listing, or an export file). source names the input in
 * messages. Returns 0 and fills out; or -1 with messages in d saying what
 * is wrong and where ("SOURCE: document 2, line 40, column 3: ...",
 * "SOURCE: document 1: Resources[3]: no \"userName\""), and out empty.
 * Free with scim_batch_free.
 */
int scim_parse(const char *buf, size_t len, const char *source, struct scim_batch *out,
	       struct diag *d);
void scim_batch_free(struct scim_batch *b);

/*
 * Apply the batch to users and groups (id -> object maps, modified in
 * place): a complete listing replaces the map, a partial one is merged
 * by id, then the change operations run in order. Returns 0, or -1 with
 * a message in d (a PATCH of an id that is not known, say), in which case
 * users and groups are left in an unspecified state: work on copies.
 */
int scim_apply(const struct scim_batch *b, json_t *users, json_t *groups, struct diag *d);

/* Whether the batch is a complete export: every page of Users came and,
 * when need_groups, every page of Groups, and no change set. */
bool scim_complete(const struct scim_batch *b, bool need_groups);

#endif
