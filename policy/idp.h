/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Agents from an identity provider: which SCIM users are agents (per
 * pinfoldd.conf [idp]), what a sync changes, and the state file that
 * keeps them (STATE/idp/state.json, never /etc).
 *
 * The state is one JSON object:
 *
 *   {"sync": N, "last_good": T, "last_complete": T,
 *    "users": {id: user}, "groups": {id: group},
 *    "agents": {KEY: {"name", "id", "externalId"?, "status": "active" |
 *                     "disabled", "reason"?, "by_complete": bool,
 *                     "roles": [...], "owner"?, "sync": N}}}
 *
 * T are seconds since the epoch. KEY is the user's externalId, else its
 * id, so a renamed user keeps its entry and its history. A disabled agent
 * stays in the state (the inventory shows it); by_complete says a
 * complete export disabled it, which only another complete one undoes.
 */
#ifndef PINFOLD_IDP_H
#define PINFOLD_IDP_H

#include <stdint.h>

#include <jansson.h>

#include "policy/policy.h"
#include "policy/scim.h"

/*
 * Apply batch b to the state old (not changed) at time now, as sync
 * number old.sync + 1. Returns 0 with *out the new state and *changes an
 * array of {"event": "added" | "disabled" | "enabled" | "renamed" |
 * "roles" | "skipped" | "kept-disabled", "key", "name", ...}; or -1 with
 * the reasons in d and nothing made (duplicate userNames, an unusable
 * change set, no [idp] rule saying which users are agents).
 */
int idp_sync_apply(const struct idp_conf *c, json_t *old, const struct scim_batch *b,
		   int64_t now, json_t **out, json_t **changes, struct diag *d);

/* Reads the state; a missing file is an empty state. Returns 0 or -1
 * with the reason in d. */
int idp_state_load(const char *path, json_t **state, struct diag *d);
/* Writes the state whole to a temporary file, syncs it, renames it over
 * path: a crash leaves the old state or the new one. */
int idp_state_save(const char *path, json_t *state, struct diag *d);

/* The agent name for a userName: lowercased, the part before any '@';
 * -1 when that is not a valid agent name. */
int idp_agent_name(const char *user_name, char *out, size_t outlen);

#endif
