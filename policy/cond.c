// SPDX-License-Identifier: GPL-2.0-only
/*
 * Conditions: "TERM and TERM ...", each TERM "ATTRIBUTE OP VALUE", parsed
 * at load into terms and judged against an eval_ctx. docs/policy.md lists
 * the attributes, operators and values.
 *
 * Time terms are judged in the condition's zone (time.zone) or the host's,
 * by switching TZ around localtime_r(): the library is used by one thread
 * at a time in the daemon and the tools, and conditions are judged at a
 * session's start and at their boundaries, never per event.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "policy/policy_int.h"

#define TERMS_MAX 16
#define DAY 86400

enum cond_attr {
	CA_AGENT, CA_USER_UID, CA_USER_NAME, CA_USER_GROUP,
	CA_SESSION_LAUNCH, CA_SESSION_TTY, CA_SESSION_AGE,
	CA_TIME_DAYS, CA_TIME_HOURS, CA_TIME_ZONE,
};

enum cond_op { OP_EQ, OP_NE, OP_IN, OP_LT, OP_LE, OP_GT, OP_GE };

struct cond_term {
	enum cond_attr attr;
	enum cond_op op;
	char *key;		/* agent.KEY */
	char **vals;		/* strings to compare with */
	size_t nvals;
	long long num;		/* user.uid, session.age (s), session.tty */
	gid_t *gids;		/* user.group */
	size_t ngids;
	unsigned days;		/* bit 0 Sunday ... bit 6 Saturday */
	int from, to;		/* time.hours: seconds of the day, [from, to) */
};

static const char *const op_names[] = { "=", "!=", "in", "<", "<=", ">", ">=" };
static const char *const day_names[] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat" };

/* Which operators each attribute takes, as a bit per enum cond_op. */
#define OPS_SET ((1u << OP_EQ) | (1u << OP_NE) | (1u << OP_IN))
#define OPS_NUM (OPS_SET | (1u << OP_LT) | (1u << OP_LE) | (1u << OP_GT) | (1u << OP_GE))
#define OPS_ORDER ((1u << OP_LT) | (1u << OP_LE) | (1u << OP_GT) | (1u << OP_GE))

static const struct {
	const char *name;
	enum cond_attr attr;
	unsigned ops;
} attrs[] = {
	{ "user.uid", CA_USER_UID, OPS_NUM },
	{ "user.name", CA_USER_NAME, OPS_SET },
	{ "user.group", CA_USER_GROUP, OPS_SET },
	{ "session.launch", CA_SESSION_LAUNCH, OPS_SET },
	{ "session.tty", CA_SESSION_TTY, (1u << OP_EQ) | (1u << OP_NE) },
	{ "session.age", CA_SESSION_AGE, OPS_ORDER },
	{ "time.days", CA_TIME_DAYS, (1u << OP_EQ) | (1u << OP_IN) | (1u << OP_NE) },
	{ "time.hours", CA_TIME_HOURS, (1u << OP_EQ) | (1u << OP_IN) | (1u << OP_NE) },
	{ "time.zone", CA_TIME_ZONE, 1u << OP_EQ },
};

static void term_free(struct cond_term *t)
{
	free(t->key);
	names_free(t->vals, t->nvals);
	free(t->gids);
}

static void cond_clear(struct cond *c)
{
	for (size_t i = 0; i < c->nterms; i++)
		term_free(&c->terms[i]);
	free(c->terms);
	free(c->zone);
	free(c->text);
	free(c->file);
}

void conds_free(struct policy *p)
{
	for (size_t i = 0; i < p->nconds; i++)
		cond_clear(&p->conds[i]);
	free(p->conds);
	p->conds = NULL;
	p->nconds = 0;
}

/* A new empty condition at the end of p->conds; entry 0 is made the empty
 * condition the first time. */
static struct cond *cond_new(struct policy *p, uint32_t *id)
{
	size_t n = p->nconds ? p->nconds + 1 : 2;
	struct cond *c = realloc(p->conds, n * sizeof(*c));

	if (!c)
		return NULL;
	p->conds = c;
	memset(&c[p->nconds], 0, (n - p->nconds) * sizeof(*c));
	p->nconds = n;
	*id = (uint32_t)(n - 1);
	return &c[n - 1];
}

static int parse_duration(const char *s, long long *out)
{
	unsigned long long v;
	char num[32];
	size_t n = strlen(s);
	long long unit = 1;

	if (!n || n >= sizeof(num))
		return -1;
	memcpy(num, s, n + 1);
	switch (num[n - 1]) {
	case 's': unit = 1; num[--n] = 0; break;
	case 'm': unit = 60; num[--n] = 0; break;
	case 'h': unit = 3600; num[--n] = 0; break;
	case 'd': unit = DAY; num[--n] = 0; break;
	}
	if (parse_uint(num, 100ULL * 365 * DAY, &v) < 0)
		return -1;
	*out = (long long)v * unit;
	return 0;
}

static int day_index(const char *s, size_t n)
{
	for (int i = 0; i < 7; i++)
		if (n == 3 && !strncmp(s, day_names[i], 3))
			return i;
	return -1;
}

/* "mon-fri", "sat,sun", "mon-wed,fri"; a range may wrap (fri-mon). */
static int parse_days(const char *s, unsigned *mask)
{
	const char *item = s;

	*mask = 0;
	while (*item) {
		size_t n = strcspn(item, ",");
		const char *dash = memchr(item, '-', n);
		int a = day_index(item, dash ? (size_t)(dash - item) : n);
		int b = dash ? day_index(dash + 1, n - (size_t)(dash - item) - 1) : a;

		if (a < 0 || b < 0)
			return -1;
		for (int i = a;; i = (i + 1) % 7) {
			*mask |= 1u << i;
			if (i == b)
				break;
		}
		item += n;
		if (*item == ',' && !*++item)
			return -1;
	}
	return *mask ? 0 : -1;
}

/* "HH:MM" or "HH:MM:SS"; 24:00 only as an end. */
static int parse_clock(const char *s, size_t n, bool end, int *out)
{
	unsigned h, m, sec = 0;
	char buf[16], tail;
	int k;

	if (n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = 0;
	k = sscanf(buf, "%2u:%2u:%2u%c", &h, &m, &sec, &tail);
	if ((k != 2 && k != 3) || (n != 5 && n != 8) || m > 59 || sec > 59)
		return -1;
	if (h > 24 || (h == 24 && (!end || m || sec)))
		return -1;
	*out = (int)(h * 3600 + m * 60 + sec);
	return 0;
}

static int parse_hours(const char *s, int *from, int *to)
{
	const char *dash = strchr(s, '-');

	if (!dash || parse_clock(s, (size_t)(dash - s), false, from) < 0 ||
	    parse_clock(dash + 1, strlen(dash + 1), true, to) < 0 || *from == *to)
		return -1;
	return 0;
}

static int zone_ok(const char *zone)
{
	char path[512];

	if (!*zone || zone[0] == '/' || strstr(zone, ".."))
		return -1;
	snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", zone);
	return access(path, R_OK);
}

static int term_values(struct loader *l, struct cond_term *t, const char *attr,
		       const char *value)
{
	char why[WHY_MAX];
	int n;

	if (t->op == OP_IN) {
		n = parse_name_list(value, &t->vals, why, sizeof(why));
		if (n < 0) {
			load_error(l, l->line, "bad value '%s' for %s: %s", value, attr, why);
			return -1;
		}
		t->nvals = (size_t)n;
		return 0;
	}
	t->vals = calloc(1, sizeof(char *));
	if (!t->vals || !(t->vals[0] = strdup(value))) {
		l->oom = true;
		return -1;
	}
	t->nvals = 1;
	return 0;
}

/* Checks and converts the values of one term by its attribute. */
static int term_convert(struct loader *l, struct cond *c, struct cond_term *t,
			const char *attr, const char *value)
{
	unsigned long long v;

	switch (t->attr) {
	case CA_AGENT:
	case CA_USER_NAME:
		return term_values(l, t, attr, value);
	case CA_SESSION_LAUNCH:
		if (term_values(l, t, attr, value) < 0)
			return -1;
		for (size_t i = 0; i < t->nvals; i++) {
			if (strcmp(t->vals[i], "run") && strcmp(t->vals[i], "pam")) {
				load_error(l, l->line, "bad value '%s' for %s: use run or pam",
					   t->vals[i], attr);
				return -1;
			}
		}
		return 0;
	case CA_USER_UID:
		if (t->op == OP_IN || parse_uint(value, (uid_t)-2, &v) < 0) {
			if (t->op == OP_IN && term_values(l, t, attr, value) == 0) {
				for (size_t i = 0; i < t->nvals; i++)
					if (parse_uint(t->vals[i], (uid_t)-2, &v) < 0)
						goto bad_uid;
				return 0;
			}
			goto bad_uid;
		}
		t->num = (long long)v;
		return 0;
	case CA_USER_GROUP:
		return term_values(l, t, attr, value);
	case CA_SESSION_TTY:
		if (strcmp(value, "yes") && strcmp(value, "no")) {
			load_error(l, l->line, "bad value '%s' for %s: use yes or no", value, attr);
			return -1;
		}
		t->num = !strcmp(value, "yes");
		return 0;
	case CA_SESSION_AGE:
		if (parse_duration(value, &t->num) < 0) {
			load_error(l, l->line, "bad duration '%s' for %s: write N, Ns, Nm, Nh "
				   "or Nd", value, attr);
			return -1;
		}
		return 0;
	case CA_TIME_DAYS:
		if (parse_days(value, &t->days) < 0) {
			load_error(l, l->line, "bad days '%s': write mon-fri, sat,sun ...", value);
			return -1;
		}
		return 0;
	case CA_TIME_HOURS:
		if (parse_hours(value, &t->from, &t->to) < 0) {
			load_error(l, l->line, "bad hours '%s': write HH:MM-HH:MM or "
				   "HH:MM:SS-HH:MM:SS, start and end not equal", value);
			return -1;
		}
		return 0;
	case CA_TIME_ZONE:
		if (c->zone) {
			load_error(l, l->line, "time.zone given twice in '%s'", c->text);
			return -1;
		}
		if (zone_ok(value) < 0) {
			load_error(l, l->line, "unknown time zone '%s'", value);
			return -1;
		}
		c->zone = strdup(value);
		if (!c->zone)
			l->oom = true;
		return 0;
	}
	return -1;
bad_uid:
	load_error(l, l->line, "bad uid '%s' for %s", value, attr);
	return -1;
}

/* Resolve user.group names to gids, as a uid is, at load. */
static int term_groups(struct loader *l, struct cond_term *t)
{
	t->gids = calloc(t->nvals ? t->nvals : 1, sizeof(gid_t));
	if (!t->gids) {
		l->oom = true;
		return -1;
	}
	for (size_t i = 0; i < t->nvals; i++) {
		if (load_resolve_gid(l, t->vals[i], &t->gids[i]) < 0)
			return -1;
		t->ngids++;
	}
	return 0;
}

static int find_attr(const char *name, enum cond_attr *attr, unsigned *ops)
{
	if (!strncmp(name, "agent.", 6)) {
		*attr = CA_AGENT;
		*ops = OPS_SET;
		return name_ok(name + 6, strlen(name + 6)) ? 0 : -1;
	}
	for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
		if (!strcmp(name, attrs[i].name)) {
			*attr = attrs[i].attr;
			*ops = attrs[i].ops;
			return 0;
		}
	}
	return -1;
}

static int parse_term(struct loader *l, struct cond *c, char *const tok[3])
{
	struct cond_term t = { 0 };
	unsigned ops;
	int op = -1;

	if (find_attr(tok[0], &t.attr, &ops) < 0) {
		load_error(l, l->line, "unknown attribute '%s' in condition '%s'", tok[0],
			   c->text);
		return -1;
	}
	for (int i = 0; i < 7; i++)
		if (!strcmp(tok[1], op_names[i]))
			op = i;
	if (op < 0 || !(ops & (1u << op))) {
		load_error(l, l->line, "operator '%s' does not apply to %s", tok[1], tok[0]);
		return -1;
	}
	t.op = (enum cond_op)op;
	if (t.attr == CA_AGENT) {
		t.key = strdup(tok[0] + 6);
		if (!t.key)
			l->oom = true;
	}
	if (term_convert(l, c, &t, tok[0], tok[2]) < 0 ||
	    (t.attr == CA_USER_GROUP && term_groups(l, &t) < 0)) {
		term_free(&t);
		return -1;
	}
	if (t.attr == CA_TIME_ZONE) {
		term_free(&t);
		return 0;
	}
	if (t.attr >= CA_SESSION_AGE)
		c->timed = true;
	c->terms[c->nterms++] = t;
	return 0;
}

int cond_parse(struct loader *l, const char *text, uint32_t *out)
{
	char *copy = strdup(text), *save = NULL, *tok[3];
	struct cond *c;
	uint32_t id;
	int rc = -1;

	c = copy ? cond_new(l->p, &id) : NULL;
	if (!c) {
		l->oom = true;
		free(copy);
		return -1;
	}
	c->text = strdup(text);
	c->file = strdup(l->file);
	c->line = l->line;
	c->terms = calloc(TERMS_MAX, sizeof(*c->terms));
	if (!c->text || !c->file || !c->terms) {
		l->oom = true;
		goto out;
	}
	for (char *w = strtok_r(copy, " \t", &save);; w = strtok_r(NULL, " \t", &save)) {
		tok[0] = w;
		tok[1] = w ? strtok_r(NULL, " \t", &save) : NULL;
		tok[2] = tok[1] ? strtok_r(NULL, " \t", &save) : NULL;
		if (!tok[2]) {
			load_error(l, l->line, "bad condition '%s': write ATTRIBUTE OP VALUE "
				   "[and ...]", text);
			goto out;
		}
		if (c->nterms == TERMS_MAX) {
			load_error(l, l->line, "condition '%s' has more than %d terms", text,
				   TERMS_MAX);
			goto out;
		}
		if (parse_term(l, c, tok) < 0)
			goto out;
		w = strtok_r(NULL, " \t", &save);
		if (!w)
			break;
		if (strcmp(w, "and")) {
			load_error(l, l->line, "bad condition '%s': terms are joined by 'and', "
				   "not '%s'", text, w);
			goto out;
		}
	}
	if (c->zone && !c->timed) {
		load_error(l, l->line, "time.zone in '%s' has no time term to apply to", text);
		goto out;
	}
	*out = id;
	rc = 0;
out:
	free(copy);
	return rc;
}

static int term_copy(struct cond_term *dst, const struct cond_term *src)
{
	*dst = *src;
	dst->key = src->key ? strdup(src->key) : NULL;
	dst->vals = src->nvals ? calloc(src->nvals, sizeof(char *)) : NULL;
	dst->gids = src->ngids ? calloc(src->ngids, sizeof(gid_t)) : NULL;
	if ((src->key && !dst->key) || (src->nvals && !dst->vals) ||
	    (src->ngids && !dst->gids))
		return -1;
	for (size_t i = 0; i < src->nvals; i++)
		if (!(dst->vals[i] = strdup(src->vals[i])))
			return -1;
	if (src->ngids)
		memcpy(dst->gids, src->gids, src->ngids * sizeof(gid_t));
	return 0;
}

/* Two conditions in different time zones cannot be one condition with
 * one zone: that join answers -2, and the loader reports it. */
int cond_join(struct policy *p, uint32_t a, uint32_t b, uint32_t *out)
{
	const struct cond *ca, *cb;
	struct cond *c;
	uint32_t id;
	size_t n;

	if (!a || !b || a == b) {
		*out = a ? a : b;
		return 0;
	}
	if (p->conds[a].zone && p->conds[b].zone && strcmp(p->conds[a].zone, p->conds[b].zone))
		return -2;
	c = cond_new(p, &id);
	if (!c)
		return -1;
	ca = &p->conds[a];
	cb = &p->conds[b];
	n = ca->nterms + cb->nterms;
	c->terms = calloc(n, sizeof(*c->terms));
	c->timed = ca->timed || cb->timed;
	c->line = cb->line;
	if (!c->terms || asprintf(&c->text, "%s and %s", ca->text, cb->text) < 0 ||
	    !(c->file = strdup(cb->file)))
		return -1;
	if ((ca->zone || cb->zone) && !(c->zone = strdup(ca->zone ? ca->zone : cb->zone)))
		return -1;
	for (size_t i = 0; i < ca->nterms; i++, c->nterms++)
		if (term_copy(&c->terms[c->nterms], &ca->terms[i]) < 0)
			return -1;
	for (size_t i = 0; i < cb->nterms; i++, c->nterms++)
		if (term_copy(&c->terms[c->nterms], &cb->terms[i]) < 0)
			return -1;
	*out = id;
	return 0;
}

/* ---- judging ---- */

static bool in_vals(const struct cond_term *t, const char *s)
{
	for (size_t i = 0; s && i < t->nvals; i++)
		if (!strcmp(t->vals[i], s))
			return true;
	return false;
}

static bool in_uids(const struct cond_term *t, uid_t uid)
{
	unsigned long long v;

	if (t->op != OP_IN)
		return (long long)uid == t->num;
	for (size_t i = 0; i < t->nvals; i++)
		if (parse_uint(t->vals[i], (uid_t)-2, &v) == 0 && v == uid)
			return true;
	return false;
}

static bool member(const struct cond_term *t, const struct eval_ctx *ctx)
{
	for (size_t i = 0; i < t->ngids; i++)
		for (size_t j = 0; j < ctx->ngids; j++)
			if (t->gids[i] == ctx->gids[j])
				return true;
	return false;
}

static bool order(enum cond_op op, long long have, long long want)
{
	switch (op) {
	case OP_LT: return have < want;
	case OP_LE: return have <= want;
	case OP_GT: return have > want;
	case OP_GE: return have >= want;
	default: return have == want;
	}
}

/* Local time in zone (NULL: the host's). */
static void local_time(const char *zone, int64_t now, struct tm *tm)
{
	time_t t = (time_t)now;
	char *old = NULL;

	if (zone) {
		const char *cur = getenv("TZ");

		old = cur ? strdup(cur) : NULL;
		setenv("TZ", zone, 1);
		tzset();
	}
	localtime_r(&t, tm);
	if (zone) {
		if (old)
			setenv("TZ", old, 1);
		else
			unsetenv("TZ");
		tzset();
		free(old);
	}
}

static bool in_window(const struct cond_term *t, int sec)
{
	if (t->from < t->to)
		return sec >= t->from && sec < t->to;
	return sec >= t->from || sec < t->to;
}

static bool term_value(const struct cond *c, const struct cond_term *t,
		       const struct eval_ctx *ctx)
{
	const char *v;
	struct tm tm;

	switch (t->attr) {
	case CA_AGENT:
		v = ctx->agent ? agent_attr(ctx->agent, t->key) : NULL;
		return in_vals(t, v);
	case CA_USER_UID:
		return t->op >= OP_LT ? order(t->op, ctx->uid, t->num) : in_uids(t, ctx->uid);
	case CA_USER_NAME: return in_vals(t, ctx->user);
	case CA_USER_GROUP: return member(t, ctx);
	case CA_SESSION_LAUNCH: return in_vals(t, ctx->launch);
	case CA_SESSION_TTY: return ctx->tty == (t->num != 0);
	case CA_SESSION_AGE: return order(t->op, ctx->now - ctx->start, t->num);
	case CA_TIME_DAYS:
		local_time(c->zone, ctx->now, &tm);
		return t->days & (1u << tm.tm_wday);
	case CA_TIME_HOURS:
		local_time(c->zone, ctx->now, &tm);
		return in_window(t, tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec);
	case CA_TIME_ZONE: return true;
	}
	return false;
}

static bool term_holds(const struct cond *c, const struct cond_term *t,
		       const struct eval_ctx *ctx)
{
	bool v = term_value(c, t, ctx);

	/* For ordered terms the value already is the answer. */
	if (t->op == OP_NE)
		return !v;
	return v;
}

bool cond_holds(const struct policy *p, uint32_t id, const struct eval_ctx *ctx)
{
	const struct cond *c;

	if (!id || id >= p->nconds)
		return id == 0;
	c = &p->conds[id];
	for (size_t i = 0; i < c->nterms; i++)
		if (!term_holds(c, &c->terms[i], ctx))
			return false;
	return true;
}

static int64_t until_clock(int now_sec, int at)
{
	int64_t d = ((int64_t)at - now_sec + DAY) % DAY;

	return d ? d : DAY;
}

/* The next local midnight, or window edge, is where a time term changes. */
static int64_t term_next(const struct cond *c, const struct cond_term *t,
			 const struct eval_ctx *ctx)
{
	int64_t age = ctx->now - ctx->start;
	struct tm tm;
	int sec;

	if (t->attr == CA_SESSION_AGE) {
		int64_t at = t->num + (t->op == OP_LE || t->op == OP_GT ? 1 : 0);

		return age < at ? at - age : INT64_MAX;
	}
	if (t->attr != CA_TIME_DAYS && t->attr != CA_TIME_HOURS)
		return INT64_MAX;
	local_time(c->zone, ctx->now, &tm);
	sec = tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
	if (t->attr == CA_TIME_DAYS)
		return until_clock(sec, 0);
	{
		int64_t a = until_clock(sec, t->from), b = until_clock(sec, t->to % DAY);

		return a < b ? a : b;
	}
}

int64_t cond_next_change(const struct policy *p, uint32_t id, const struct eval_ctx *ctx)
{
	int64_t best = INT64_MAX;
	const struct cond *c;

	if (!id || id >= p->nconds)
		return INT64_MAX;
	c = &p->conds[id];
	for (size_t i = 0; i < c->nterms; i++) {
		int64_t n = term_next(c, &c->terms[i], ctx);

		if (n < best)
			best = n;
	}
	return best < 1 ? 1 : best;
}

bool perm_selects(const struct perm_req *r, uint32_t cond, bool deny)
{
	if (!cond || (r->flags & PERM_ALL_CONDS))
		return true;
	if (!r->p || !r->ctx)
		return deny;
	return cond_holds(r->p, cond, r->ctx);
}

/* ---- load-time checks ---- */

static bool some_agent_declares(const struct policy *p, const char *key)
{
	for (size_t i = 0; i < p->nagents; i++)
		if (agent_attr(&p->agents[i], key))
			return true;
	return false;
}

/* An agent.KEY term written in an agent file needs that agent to declare
 * KEY; one in a role or bound needs some agent to. A typo in the key
 * would otherwise make the condition never hold, silently. */
unsigned cond_check_attrs(struct policy *p, struct diag *d)
{
	unsigned bad = 0;

	for (size_t i = 1; i < p->nconds; i++) {
		const struct cond *c = &p->conds[i];
		const struct agent *own = NULL;

		if (!strncmp(c->file, "agents.d/", 9))
			for (size_t k = 0; k < p->nagents; k++)
				if (!strcmp(p->agents[k].file, c->file))
					own = &p->agents[k];
		for (size_t j = 0; j < c->nterms; j++) {
			const char *key = c->terms[j].key;

			if (c->terms[j].attr != CA_AGENT ||
			    (own ? agent_attr(own, key) != NULL : some_agent_declares(p, key)))
				continue;
			diag_add(d, "%s:%d: condition on attribute 'agent.%s', which %s", c->file,
				 c->line, key, own ? "this agent does not declare in [attributes]"
						   : "no agent declares in [attributes]");
			bad++;
		}
	}
	return bad;
}

int split_when(const char *value, char *buf, size_t buflen, const char **cond)
{
	const char *w = strstr(value, " when ");
	size_t n = w ? (size_t)(w - value) : strlen(value);

	while (n && (value[n - 1] == ' ' || value[n - 1] == '\t'))
		n--;
	if (n >= buflen)
		return -1;
	memcpy(buf, value, n);
	buf[n] = 0;
	*cond = w ? w + 6 + strspn(w + 6, " \t") : NULL;
	return 0;
}
