// SPDX-License-Identifier: GPL-2.0-only
/*
 * Dispatcher bounds (users.d): which bounds apply to a user, whether the
 * user may launch an agent, and the load-time checks of the files.
 */
#include <stdio.h>
#include <string.h>

#include "policy/policy_int.h"

static bool bound_names_agent(const struct bound *b, const char *agent)
{
	for (size_t i = 0; i < b->nagents; i++)
		if (!strcmp(b->agents[i], "*") || !strcmp(b->agents[i], agent))
			return true;
	return false;
}

unsigned bounds_check(struct policy *p, struct diag *d)
{
	unsigned bad = 0;

	for (size_t i = 0; i < p->nbounds; i++) {
		const struct bound *b = &p->bounds[i];

		if (!b->nuids && !b->ngids) {
			diag_add(d, "%s: names no users and no groups: add 'users =' or "
				 "'groups =' under [bound]", b->file);
			bad++;
		}
		for (size_t k = 0; k < b->nagents; k++) {
			if (strcmp(b->agents[k], "*") && !policy_agent(p, b->agents[k])) {
				diag_add(d, "%s:%d: unknown agent '%s'", b->file, b->agents_line,
					 b->agents[k]);
				bad++;
			}
		}
	}
	return bad;
}

bool bound_applies(const struct bound *b, uid_t uid, const gid_t *gids, size_t ngids)
{
	for (size_t i = 0; i < b->nuids; i++)
		if (b->uids[i] == uid)
			return true;
	for (size_t i = 0; i < b->ngids; i++)
		for (size_t j = 0; j < ngids; j++)
			if (b->gids[i] == gids[j])
				return true;
	return false;
}

bool policy_user_bounded(const struct policy *p, uid_t uid, const gid_t *gids, size_t ngids)
{
	for (size_t i = 0; i < p->nbounds; i++)
		if (bound_applies(&p->bounds[i], uid, gids, ngids))
			return true;
	return false;
}

bool policy_may_dispatch(const struct policy *p, const char *agent, uid_t uid,
			 const gid_t *gids, size_t ngids)
{
	if (!policy_user_bounded(p, uid, gids, ngids))
		return uid == 0;
	for (size_t i = 0; i < p->nbounds; i++)
		if (bound_applies(&p->bounds[i], uid, gids, ngids) &&
		    bound_names_agent(&p->bounds[i], agent))
			return true;
	return false;
}
