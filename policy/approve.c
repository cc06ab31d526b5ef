// SPDX-License-Identifier: GPL-2.0-only
/*
 * Approval grants: the values of [exec] approve, [network] approve and
 * [approval], and the lookups the daemon makes when an action is held.
 */
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy_int.h"

#define DURATION_MAX_MS (30ull * 24 * 3600 * 1000)

int duration_parse(const char *s, uint64_t *ms)
{
	static const struct {
		char unit;
		uint64_t ms;
	} units[] = { { 's', 1000 }, { 'm', 60000 }, { 'h', 3600000 }, { 'd', 86400000 } };
	unsigned long long v;
	char num[24];
	size_t n = strlen(s ? s : "");
	uint64_t mult = 1000;

	if (n == 0 || n >= sizeof(num))
		return -1;
	memcpy(num, s, n + 1);
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (num[n - 1] == units[i].unit) {
			mult = units[i].ms;
			num[--n] = 0;
			break;
		}
	}
	if (parse_uint(num, DURATION_MAX_MS / 1000, &v) < 0 || v == 0 ||
	    v * mult > DURATION_MAX_MS)
		return -1;
	*ms = v * mult;
	return 0;
}

static int timeout_outcome(const char *s, enum approve_timeout *out)
{
	if (!strcmp(s, "deny"))
		*out = TIMEOUT_DENY;
	else if (!strcmp(s, "allow"))
		*out = TIMEOUT_ALLOW;
	else
		return -1;
	return 0;
}

int approve_parse_timeout(const char *value, uint64_t *ms, char *why, size_t whylen)
{
	if (duration_parse(value, ms) == 0)
		return 0;
	snprintf(why, whylen, "bad timeout '%s': a duration such as '90s', '5m' or '1h', "
		 "1 s to 30 days", value);
	return -1;
}

int approve_parse_outcome(const char *value, enum approve_timeout *out, char *why,
			  size_t whylen)
{
	if (timeout_outcome(value, out) == 0)
		return 0;
	snprintf(why, whylen, "bad on_timeout '%s': deny or allow", value);
	return -1;
}

/* Takes trailing "timeout=DUR" and "on_timeout=deny|allow" words off
 * value (changed in place) into r. */
int approve_split_options(char *value, struct approve_rule *r, char *why, size_t whylen)
{
	for (;;) {
		char *sp = strrchr(value, ' '), *tab = strrchr(value, '\t'), *word;

		if (tab > sp)
			sp = tab;
		word = sp ? sp + 1 : value;
		if (!strncmp(word, "timeout=", 8)) {
			if (approve_parse_timeout(word + 8, &r->timeout_ms, why, whylen) < 0)
				return -1;
		} else if (!strncmp(word, "on_timeout=", 11)) {
			if (approve_parse_outcome(word + 11, &r->on_timeout, why, whylen) < 0)
				return -1;
		} else {
			return 0;
		}
		if (!sp) {
			snprintf(why, whylen, "approve names no program or address before its "
				 "options");
			return -1;
		}
		while (sp > value && (sp[-1] == ' ' || sp[-1] == '\t'))
			sp--;
		*sp = 0;
	}
}

/* "NAME" or "UID" of a user, "@NAME" or "@GID" of a group. Names are
 * looked up when the policy loads; numbers need no entry in passwd. */
int principal_parse(const char *item, struct principal *out, char *why, size_t whylen)
{
	unsigned long long v;
	bool group = item[0] == '@';
	const char *name = group ? item + 1 : item;

	out->group = group;
	if (isdigit((unsigned char)name[0])) {
		if (parse_uint(name, (uid_t)-2, &v) == 0) {
			out->id = (uint32_t)v;
			return 0;
		}
	} else if (group) {
		struct group *gr = getgrnam(name);

		if (gr) {
			out->id = gr->gr_gid;
			return 0;
		}
	} else {
		struct passwd *pw = getpwnam(name);

		if (pw) {
			out->id = pw->pw_uid;
			return 0;
		}
	}
	snprintf(why, whylen, "unknown %s '%s' in approvers", group ? "group" : "user", name);
	return -1;
}

const struct approve_rule *agent_approve_rule(const struct agent *a, uint32_t rule)
{
	for (size_t i = 0; a && rule && i < a->napproves; i++)
		if (a->approves[i].rule == rule)
			return &a->approves[i];
	return NULL;
}

const struct approve_rule *agent_approve_connect(const struct agent *a,
						 const uint8_t addr[16], uint16_t port)
{
	const struct approve_rule *best = NULL;
	int best_prefix = -1;

	for (size_t i = 0; i < a->napproves; i++) {
		const struct approve_rule *r = &a->approves[i];

		for (size_t j = 0; r->kind == APPROVE_CONNECT && j < r->nnets; j++) {
			const struct net_grant *g = &r->nets[j];

			if (port < g->port_lo || port > g->port_hi ||
			    !prefix_match(g->addr, addr, g->prefix) || g->prefix <= best_prefix)
				continue;
			best = r;
			best_prefix = g->prefix;
		}
	}
	return best;
}

uint64_t approve_timeout_ms(const struct agent *a, const struct approve_rule *r)
{
	if (r && r->timeout_ms)
		return r->timeout_ms;
	return a->approval.timeout_ms ? a->approval.timeout_ms : APPROVE_TIMEOUT_DEFAULT_MS;
}

bool approve_timeout_allows(const struct agent *a, const struct approve_rule *r)
{
	if (r && r->on_timeout != TIMEOUT_INHERIT)
		return r->on_timeout == TIMEOUT_ALLOW;
	return a->approval.on_timeout == TIMEOUT_ALLOW;
}

bool approval_names(const struct agent *a, uid_t uid, const gid_t *gids, size_t ngids)
{
	for (size_t i = 0; a && i < a->napprovers; i++) {
		const struct principal *p = &a->approvers[i];

		if (!p->group && p->id == uid)
			return true;
		for (size_t j = 0; p->group && j < ngids; j++)
			if (gids[j] == p->id)
				return true;
	}
	return false;
}

void approve_rules_free(struct grant_set *s)
{
	for (size_t i = 0; i < s->napproves; i++) {
		free(s->approves[i].pattern);
		free(s->approves[i].nets);
	}
	free(s->approves);
	free(s->approvers);
}

static int approve_copy(struct policy *p, struct approve_rule *dst,
			const struct approve_rule *src, uint32_t cond)
{
	*dst = *src;
	dst->pattern = NULL;
	dst->nets = NULL;
	if (src->pattern && !(dst->pattern = strdup(src->pattern)))
		return -1;
	if (src->nnets) {
		dst->nets = malloc(src->nnets * sizeof(*dst->nets));
		if (!dst->nets)
			return -1;
		memcpy(dst->nets, src->nets, src->nnets * sizeof(*dst->nets));
	}
	return cond_join(p, cond, src->cond, &dst->cond);
}

int approve_append(struct policy *p, struct grant_set *dst, const struct grant_set *src,
		   uint32_t cond)
{
	struct approve_rule *rs;
	struct principal *ps;
	size_t n = dst->napproves + src->napproves, m = dst->napprovers + src->napprovers;

	rs = n ? realloc(dst->approves, n * sizeof(*rs)) : dst->approves;
	if (n && !rs)
		return -1;
	dst->approves = rs;
	for (size_t i = 0; i < src->napproves; i++) {
		int rc = approve_copy(p, &dst->approves[dst->napproves], &src->approves[i], cond);

		dst->napproves++;
		if (rc < 0)
			return rc;
	}
	ps = m ? realloc(dst->approvers, m * sizeof(*ps)) : dst->approvers;
	if (m && !ps)
		return -1;
	dst->approvers = ps;
	if (src->napprovers)
		memcpy(dst->approvers + dst->napprovers, src->approvers,
		       src->napprovers * sizeof(*ps));
	dst->napprovers = m;
	return 0;
}
