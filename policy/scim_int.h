/* SPDX-License-Identifier: GPL-2.0-only */
/* Between scim.c (reading documents) and scim_patch.c (applying them);
 * nothing here is for callers. Each sets a one-line reason in why. */
#ifndef PINFOLD_SCIM_INT_H
#define PINFOLD_SCIM_INT_H

#include <stddef.h>

#include <jansson.h>

/* o[key] compared without regard to case (RFC 7643 2.1), borrowed. */
json_t *scim_get_ci(json_t *o, const char *key);
/* Set one user attribute by its SCIM name; v NULL removes it. Attributes
 * pinfold does not keep are ignored. Returns 0 or -1 for a bad value. */
int scim_user_set(json_t *user, const char *attr, json_t *v, char *why, size_t whylen);
/* A User or Group resource, reduced (see scim.h); NULL when malformed. */
json_t *scim_user_from(json_t *r, char *why, size_t whylen);
json_t *scim_group_from(json_t *r, char *why, size_t whylen);
/* Appends the ids of a "members" value ([{"value": ID}]) to out. */
int scim_members_of(json_t *v, json_t *out, char *why, size_t whylen);

#endif
