// SPDX-License-Identifier: GPL-2.0-only
/*
 * What each section and key of pinfoldd.conf and of an agent file means:
 * the key tables, the inih handler that dispatches on them, and the value
 * parsers. A new key is one more row and, if its value is new, one parser.
 */
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "policy/policy_int.h"

#define UID_FLOOR 1000u

struct key_def {
	const char *section;
	const char *name;	/* NULL: any key of the section (attr) */
	bool repeat;		/* may be given more than once */
	unsigned access;	/* path grants and denials: the ACC_* bits */
	void (*parse)(struct loader *l, const struct key_def *k,
		      const char *value);
	bool deny;		/* a denial, not a grant */
	void (*attr)(struct loader *l, const struct key_def *k, const char *name,
		     const char *value);
};

int parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
	unsigned long long v;
	char *end;

	if (!isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return -1;
	*out = v;
	return 0;
}

static int parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "yes", "true", "1" };
	static const char *const no[] = { "no", "false", "0" };
	size_t i;

	for (i = 0; i < 3; i++) {
		if (!strcasecmp(s, yes[i]) || !strcasecmp(s, no[i])) {
			*out = !strcasecmp(s, yes[i]);
			return 0;
		}
	}
	return -1;
}

/* Record a grant line as a rule; returns its id, 0 when out of memory. */
static uint32_t add_rule(struct loader *l, const struct key_def *k,
			 const char *value)
{
	struct policy *p = l->p;
	struct rule *rules, *r;

	rules = load_realloc(l, p->rules, p->nrules + 1, sizeof(*rules));
	if (!rules)
		return 0;
	p->rules = rules;
	r = &rules[p->nrules];
	r->id = (uint32_t)p->nrules + 1;
	r->line = l->line;
	r->file = load_strdup(l, l->file);
	r->layer = l->layer;
	r->deny = k->deny;
	if (asprintf(&r->text, "%s = %s", k->name, value) < 0) {
		r->text = NULL;
		l->oom = true;
	}
	p->nrules++;
	return r->id;
}

static char **description_of(struct loader *l)
{
	if (l->agent)
		return &l->agent->description;
	return &l->role->description;
}

static void key_description(struct loader *l, const struct key_def *k,
			    const char *value)
{
	char **dst = description_of(l);

	(void)k;
	*dst = load_strdup(l, value);
}

static void key_enabled(struct loader *l, const struct key_def *k,
			const char *value)
{
	if (parse_bool(value, &l->agent->enabled) < 0)
		load_error(l, l->line, "bad boolean '%s' for '%s': use yes, "
			   "no, true, false, 1 or 0", value, k->name);
}

/* A number, or a user (group) name looked up now: a typo is an error, not
 * an id that silently matches nobody. */
static int resolve_id(struct loader *l, const char *value, bool group, unsigned *out)
{
	unsigned long long v;
	struct passwd *pw;
	struct group *gr;

	if (isdigit((unsigned char)value[0])) {
		if (parse_uint(value, (unsigned)-2, &v) == 0) {
			*out = (unsigned)v;
			return 0;
		}
		load_error(l, l->line, "bad %s '%s'", group ? "gid" : "uid", value);
		return -1;
	}
	if (group && (gr = getgrnam(value))) {
		*out = gr->gr_gid;
		return 0;
	}
	if (!group && (pw = getpwnam(value))) {
		*out = pw->pw_uid;
		return 0;
	}
	load_error(l, l->line, "unknown %s '%s'", group ? "group" : "user", value);
	return -1;
}

static int resolve_uid(struct loader *l, const char *value, uid_t *uid)
{
	return resolve_id(l, value, false, uid);
}

int load_resolve_gid(struct loader *l, const char *value, gid_t *gid)
{
	return resolve_id(l, value, true, gid);
}

static void key_uid(struct loader *l, const struct key_def *k,
		    const char *value)
{
	uid_t uid;

	(void)k;
	if (resolve_uid(l, value, &uid) < 0)
		return;
	if (uid == 0) {
		load_error(l, l->line, "uid '%s' is root: agents never run as "
			   "root", value);
		return;
	}
	l->agent->uid = uid;
	l->agent->has_uid = true;
}

/* home and workspace: one absolute path, stored canonical. */
static void set_dir(struct loader *l, const struct key_def *k,
		    const char *value, char **dst)
{
	char why[WHY_MAX], canon[PATH_MAX];

	if (path_plain_check(value, why, sizeof(why)) < 0) {
		load_error(l, l->line, "bad %s: %s", k->name, why);
		return;
	}
	path_canonical(value, canon, sizeof(canon));
	*dst = load_strdup(l, canon);
}

int parse_iso8601(const char *s, int64_t *out)
{
	int y, mo, dd, h = 0, mi = 0, sec = 0, zh = 0, zm = 0, n = 0;
	struct tm tm = { 0 };
	char sign = 0;
	time_t t;

	if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &dd, &n) != 3 || n != 10)
		return -1;
	s += n;
	if (*s == 'T') {
		if (sscanf(s, "T%2d:%2d%n", &h, &mi, &n) != 2 || n != 6)
			return -1;
		s += n;
		if (*s == ':' && (sscanf(s, ":%2d%n", &sec, &n) != 1 || n != 3))
			return -1;
		s += *s == ':' ? 3 : 0;
		if (*s == 'Z') {
			s++;
		} else if (*s == '+' || *s == '-') {
			sign = *s;
			if (sscanf(s + 1, "%2d:%2d%n", &zh, &zm, &n) != 2 || n != 5)
				return -1;
			s += 6;
		}
	}
	if (*s || mo < 1 || mo > 12 || dd < 1 || dd > 31 || h > 23 || mi > 59 || sec > 59 ||
	    zh > 23 || zm > 59 || y < 1970)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = dd;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	/* timegm() carries 31 April into May; such a date does not exist. */
	if (t == (time_t)-1 || tm.tm_mday != dd || tm.tm_mon != mo - 1)
		return -1;
	*out = (int64_t)t - (sign == '+' ? 1 : -1) * (sign ? (zh * 3600 + zm * 60) : 0);
	return 0;
}

static void key_expires(struct loader *l, const struct key_def *k, const char *value)
{
	if (parse_iso8601(value, &l->agent->expires) < 0) {
		load_error(l, l->line, "bad %s '%s': an ISO 8601 date (2026-12-31) or date-time "
			   "(2026-12-31T18:00:00Z, +HH:MM or -HH:MM)", k->name, value);
		return;
	}
	l->agent->has_expires = true;
}

static void key_owner(struct loader *l, const struct key_def *k, const char *value)
{
	(void)k;
	l->agent->owner = load_strdup(l, value);
}

/* The service account is named, not numbered: PAM hands the module a user
 * name. It need not exist yet when the policy is loaded; one that does must
 * not be uid 0, which keeps every capability whatever the session drops. */
static void key_unix_user(struct loader *l, const struct key_def *k, const char *value)
{
	size_t i, n = strlen(value);
	struct passwd *pw;

	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)value[i]) && !strchr("._-", value[i]))
			break;
	if (n == 0 || n > 32 || i < n || value[0] == '-') {
		load_error(l, l->line, "bad %s '%s': a user name of up to 32 letters, digits, "
			   "'.', '_' or '-'", k->name, value);
		return;
	}
	pw = getpwnam(value);
	if (pw && pw->pw_uid == 0) {
		load_error(l, l->line, "bad %s '%s': uid 0 keeps every capability, so its "
			   "sessions could not be restricted; name an unprivileged account",
			   k->name, value);
		return;
	}
	l->agent->unix_user = load_strdup(l, value);
	l->agent->unix_user_line = l->line;
}

static void key_home(struct loader *l, const struct key_def *k,
		     const char *value)
{
	set_dir(l, k, value, &l->agent->home);
}

static void key_workspace(struct loader *l, const struct key_def *k,
			  const char *value)
{
	set_dir(l, k, value, &l->agent->workspace);
}

/* A comma-separated list of names into *out, *n; reports a bad list. */
static int name_list(struct loader *l, const struct key_def *k, const char *value,
		     char ***out, size_t *n)
{
	char why[WHY_MAX];
	int c = parse_name_list(value, out, why, sizeof(why));

	if (c < 0) {
		load_error(l, l->line, "bad %s '%s': %s", k->name, value, why);
		return -1;
	}
	*n = (size_t)c;
	return 0;
}

static void key_roles(struct loader *l, const struct key_def *k,
		      const char *value)
{
	struct agent *a = l->agent;

	if (name_list(l, k, value, &a->roles, &a->nroles) == 0)
		a->roles_line = l->line;
}

static void key_inherit(struct loader *l, const struct key_def *k,
			const char *value)
{
	struct role *r = l->role;

	if (name_list(l, k, value, &r->inherit, &r->ninherit) == 0)
		r->inherit_line = l->line;
}

static void key_on_revoke(struct loader *l, const struct key_def *k,
			  const char *value)
{
	static const char *const names[] = { "withdraw", "freeze", "end" };

	for (size_t i = 0; i < 3; i++) {
		if (!strcmp(value, names[i])) {
			l->agent->on_revoke = (enum revoke_action)i;
			return;
		}
	}
	load_error(l, l->line, "bad %s '%s': use withdraw, freeze or end", k->name,
		   value);
}

/* [attributes] KEY = VALUE: any key, each at most once. */
static void key_attribute(struct loader *l, const struct key_def *k,
			  const char *name, const char *value)
{
	struct agent *a = l->agent;
	struct attr *attrs;

	(void)k;
	if (!name_ok(name, strlen(name))) {
		load_error(l, l->line, "bad attribute name '%s': names match "
			   "[a-z0-9][a-z0-9_-]{0,31}", name);
		return;
	}
	if (agent_attr(a, name)) {
		load_error(l, l->line, "duplicate attribute '%s'", name);
		return;
	}
	attrs = load_realloc(l, a->attrs, a->nattrs + 1, sizeof(*attrs));
	if (!attrs)
		return;
	a->attrs = attrs;
	attrs[a->nattrs].key = load_strdup(l, name);
	attrs[a->nattrs].value = load_strdup(l, value);
	a->nattrs++;
}

/* users = and groups =: names or numbers, appended to the bound's list
 * with the words as written, which the inventory shows. uid_t and gid_t
 * are both unsigned int on Linux. */
static void id_list(struct loader *l, const struct key_def *k, const char *value,
		    unsigned **ids, char ***written, size_t *nids, bool group)
{
	char **names;
	size_t n;
	unsigned *v;
	char **w;

	if (name_list(l, k, value, &names, &n) < 0)
		return;
	v = load_realloc(l, *ids, *nids + n, sizeof(*v));
	if (v)
		*ids = v;
	w = v ? load_realloc(l, *written, *nids + n, sizeof(*w)) : NULL;
	if (w)
		*written = w;
	for (size_t i = 0; w && i < n; i++) {
		if ((group ? load_resolve_gid(l, names[i], &v[*nids])
			   : resolve_uid(l, names[i], &v[*nids])) < 0)
			continue;
		w[(*nids)++] = names[i];
		names[i] = NULL;
	}
	names_free(names, n);
}

static void key_users(struct loader *l, const struct key_def *k,
		      const char *value)
{
	struct bound *b = l->bound;

	id_list(l, k, value, &b->uids, &b->user_names, &b->nuids, false);
}

static void key_groups(struct loader *l, const struct key_def *k,
		       const char *value)
{
	struct bound *b = l->bound;

	id_list(l, k, value, &b->gids, &b->group_names, &b->ngids, true);
}

static void key_agents(struct loader *l, const struct key_def *k,
		       const char *value)
{
	struct bound *b = l->bound;

	if (!strcmp(value, "*")) {
		b->agents = calloc(1, sizeof(char *));
		if (b->agents)
			b->agents[0] = load_strdup(l, "*");
		else
			l->oom = true;
		b->nagents = b->agents ? 1 : 0;
	} else if (name_list(l, k, value, &b->agents, &b->nagents) < 0) {
		return;
	}
	b->agents_line = l->line;
}

/* The value of a grant line without its "when COND", and the condition
 * parsed; -1 after reporting a problem with either. */
static int grant_value(struct loader *l, const char *value, char *buf, size_t buflen,
		       uint32_t *cond)
{
	const char *text;

	*cond = 0;
	if (split_when(value, buf, buflen, &text) < 0) {
		load_error(l, l->line, "value '%.40s...' is too long", value);
		return -1;
	}
	return text ? cond_parse(l, text, cond) : 0;
}

static void key_when(struct loader *l, const struct key_def *k, const char *value)
{
	(void)k;
	if (cond_parse(l, value, &l->role->cond) == 0)
		l->role->cond_line = l->line;
}

/* A path grant of the set being loaded, at the current line. */
static struct path_grant *path_grant_add(struct loader *l, const char *path, unsigned access,
					 uint32_t cond)
{
	struct path_grant *pg = set_add_path(l, l->set);

	if (!pg)
		return NULL;
	pg->pattern = load_strdup(l, path);
	pg->access = access;
	pg->line = l->line;
	pg->cond = cond;
	return pg;
}

static void key_path_grant(struct loader *l, const struct key_def *k,
			   const char *value)
{
	struct path_grant *pg;
	char why[WHY_MAX], path[PATH_MAX];
	uint32_t cond;

	if (grant_value(l, value, path, sizeof(path), &cond) < 0)
		return;
	if (path_pattern_check(path, why, sizeof(why)) < 0) {
		load_error(l, l->line, "%s", why);
		return;
	}
	pg = path_grant_add(l, path, k->access, cond);
	if (!pg)
		return;
	pg->deny = k->deny;
	pg->rule = add_rule(l, k, value);
}

static void key_connect(struct loader *l, const struct key_def *k,
			const char *value)
{
	struct net_grant *parsed, *nets;
	char why[WHY_MAX], text[256];
	uint32_t rule, cond;
	size_t n, i;

	if (grant_value(l, value, text, sizeof(text), &cond) < 0)
		return;
	if (net_parse_connect(text, &parsed, &n, why, sizeof(why)) < 0) {
		load_error(l, l->line, "%s", why);
		return;
	}
	nets = set_add_nets(l, l->set, n);
	if (!nets) {
		free(parsed);
		return;
	}
	rule = add_rule(l, k, value);
	for (i = 0; i < n; i++) {
		parsed[i].rule = rule;
		parsed[i].line = l->line;
		parsed[i].deny = k->deny;
		parsed[i].cond = cond;
		nets[i] = parsed[i];
	}
	free(parsed);
}

/* A pathname unix socket the agent may connect to: an absolute, canonical
 * path of at most 107 bytes (sun_path's room), compared as a string by the
 * kernel side, so no variables and no symlinks to resolve later. */
static void key_unix(struct loader *l, const struct key_def *k, const char *written)
{
	char canon[PATH_MAX], buf[PATH_MAX];
	const char *value = buf;
	struct unix_grant *u;
	uint32_t cond;

	if (grant_value(l, written, buf, sizeof(buf), &cond) < 0)
		return;
	if (value[0] != '/' || path_canonical(value, canon, sizeof(canon)) < 0 ||
	    strcmp(canon, value)) {
		load_error(l, l->line, "bad unix socket '%s': an absolute path without "
			   "'//', '.', '..' or a trailing '/'", value);
		return;
	}
	if (strlen(value) >= UNIX_PATH_LEN) {
		load_error(l, l->line, "unix socket '%s' is longer than %d bytes", value,
			   UNIX_PATH_LEN - 1);
		return;
	}
	u = set_add_unix(l, l->set);
	if (!u)
		return;
	u->path = load_strdup(l, value);
	u->cond = cond;
	u->rule = add_rule(l, k, written);
}

/* "LO-HI" or a single uid; agents never get uids below UID_FLOOR. */
static void key_agent_uids(struct loader *l, const struct key_def *k,
			   const char *value)
{
	unsigned long long lo, hi;
	char buf[64], *dash;

	(void)k;
	snprintf(buf, sizeof(buf), "%s", value);
	dash = strchr(buf, '-');
	if (dash)
		*dash = '\0';
	if (strlen(value) >= sizeof(buf) ||
	    parse_uint(buf, (uid_t)-2, &lo) < 0 ||
	    parse_uint(dash ? dash + 1 : buf, (uid_t)-2, &hi) < 0) {
		load_error(l, l->line, "bad uid range '%s': write LO-HI, "
			   "e.g. '61184-61439'", value);
		return;
	}
	if (lo < UID_FLOOR || lo > hi) {
		load_error(l, l->line, "bad uid range '%s': %s", value,
			   lo > hi ? "LO is above HI"
				   : "LO must be 1000 or above");
		return;
	}
	l->p->conf.uid_lo = (uid_t)lo;
	l->p->conf.uid_hi = (uid_t)hi;
}

static void key_fsync_interval(struct loader *l, const struct key_def *k,
			       const char *value)
{
	unsigned long long v;

	if (parse_uint(value, 10000, &v) < 0 || v < 1) {
		load_error(l, l->line, "bad %s '%s': milliseconds, 1 to 10000",
			   k->name, value);
		return;
	}
	l->p->conf.fsync_interval_ms = (unsigned)v;
}

static void set_string(struct loader *l, char **dst, const char *value)
{
	*dst = load_strdup(l, value);
}

static void key_idp_group(struct loader *l, const struct key_def *k, const char *value)
{
	(void)k;
	set_string(l, &l->p->conf.idp.agents_group, value);
}

static void key_idp_user_type(struct loader *l, const struct key_def *k, const char *value)
{
	(void)k;
	set_string(l, &l->p->conf.idp.agents_user_type, value);
}

/* "URN:attr=value", the URN being the enterprise User extension's. */
static void key_idp_attr(struct loader *l, const struct key_def *k, const char *value)
{
	static const char urn[] = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:";
	const char *eq = strchr(value, '=');

	if (strncmp(value, urn, sizeof(urn) - 1) || !eq || eq == value + sizeof(urn) - 1 ||
	    !eq[1]) {
		load_error(l, l->line, "bad %s '%s': write %sATTRIBUTE=VALUE", k->name, value, urn);
		return;
	}
	l->p->conf.idp.agents_attr = strndup(value, (size_t)(eq - value));
	set_string(l, &l->p->conf.idp.agents_attr_value, eq + 1);
	if (!l->p->conf.idp.agents_attr)
		l->oom = true;
}

/* "GROUP -> ROLE": members of the SCIM group GROUP get role ROLE. */
static void key_idp_role(struct loader *l, const struct key_def *k, const char *value)
{
	struct idp_conf *c = &l->p->conf.idp;
	const char *arrow = strstr(value, " -> ");
	struct role_map *r;

	if (!arrow || arrow == value || !arrow[4] || strchr(arrow + 4, ' ')) {
		load_error(l, l->line, "bad %s '%s': write SCIM GROUP NAME -> role", k->name,
			   value);
		return;
	}
	r = load_realloc(l, c->roles, c->nroles + 1, sizeof(*r));
	if (!r)
		return;
	c->roles = r;
	r[c->nroles].group = strndup(value, (size_t)(arrow - value));
	r[c->nroles].role = load_strdup(l, arrow + 4);
	if (!r[c->nroles].group)
		l->oom = true;
	c->nroles++;
}

static void key_idp_url(struct loader *l, const struct key_def *k, const char *value)
{
	if (strncmp(value, "https://", 8)) {
		load_error(l, l->line, "bad %s '%s': only https:// is taken", k->name, value);
		return;
	}
	set_string(l, &l->p->conf.idp.url, value);
}

static void key_idp_file(struct loader *l, const struct key_def *k, const char *value)
{
	char why[WHY_MAX];

	if (path_plain_check(value, why, sizeof(why)) < 0) {
		load_error(l, l->line, "bad %s: %s", k->name, why);
		return;
	}
	set_string(l, !strcmp(k->name, "token_file") ? &l->p->conf.idp.token_file
						     : &l->p->conf.idp.ca_file, value);
}

static void key_idp_seconds(struct loader *l, const struct key_def *k, const char *value)
{
	unsigned long long v;

	if (parse_uint(value, 366ull * 86400, &v) < 0) {
		load_error(l, l->line, "bad %s '%s': seconds, 0 to %u", k->name, value,
			   366u * 86400);
		return;
	}
	if (!strcmp(k->name, "interval"))
		l->p->conf.idp.interval_s = (unsigned)v;
	else
		l->p->conf.idp.max_age_s = (unsigned)v;
}

static void key_idp_on_stale(struct loader *l, const struct key_def *k, const char *value)
{
	if (strcmp(value, "disable") && strcmp(value, "warn")) {
		load_error(l, l->line, "bad %s '%s': disable or warn", k->name, value);
		return;
	}
	l->p->conf.idp.stale_disable = !strcmp(value, "disable");
}

/* [control] read_groups, admin_groups: group names, looked up at load so a
 * typo is an error and not a group that silently grants nothing, or gids. */
static void key_control_groups(struct loader *l, const struct key_def *k, const char *value)
{
	bool admin = !strcmp(k->name, "admin_groups");
	gid_t *out = admin ? l->p->conf.admin_gids : l->p->conf.read_gids;
	size_t *n = admin ? &l->p->conf.nadmin_gids : &l->p->conf.nread_gids;
	char **names;
	size_t nnames;

	if (name_list(l, k, value, &names, &nnames) < 0)
		return;
	if (nnames > CONTROL_GROUPS_MAX)
		load_error(l, l->line, "%s names %zu groups, more than %d", k->name, nnames,
			   CONTROL_GROUPS_MAX);
	for (size_t i = 0; i < nnames && *n < CONTROL_GROUPS_MAX; i++) {
		gid_t gid;

		if (load_resolve_gid(l, names[i], &gid) == 0)
			out[(*n)++] = gid;
	}
	names_free(names, nnames);
}

static void key_control_uint(struct loader *l, const struct key_def *k, const char *value)
{
	bool idle = !strcmp(k->name, "idle_timeout_s");
	unsigned long long v;

	if (parse_uint(value, idle ? 3600 : 1024, &v) < 0 || v < 1) {
		load_error(l, l->line, "bad %s '%s': a number, 1 to %d", k->name, value,
			   idle ? 3600 : 1024);
		return;
	}
	if (idle)
		l->p->conf.idle_timeout_s = (unsigned)v;
	else
		l->p->conf.clients_per_uid = (unsigned)v;
}

static struct approve_rule *approve_new(struct loader *l, const struct approve_rule *r)
{
	struct grant_set *set = l->set;
	struct approve_rule *rs = load_realloc(l, set->approves, set->napproves + 1, sizeof(*rs));

	if (!rs)
		return NULL;
	set->approves = rs;
	rs[set->napproves] = *r;
	rs[set->napproves].line = l->line;
	return &rs[set->napproves++];
}

/* "PATH [timeout=DUR] [on_timeout=deny|allow] [when COND]": one program,
 * held at each exec until approved. It is a path grant too: the kernel
 * must let the program run once an approver has. */
static void key_approve_exec(struct loader *l, const struct key_def *k, const char *value)
{
	struct approve_rule r = { .kind = APPROVE_EXEC };
	char why[WHY_MAX], path[PATH_MAX];
	struct path_grant *pg;

	if (grant_value(l, value, path, sizeof(path), &r.cond) < 0)
		return;
	if (approve_split_options(path, &r, why, sizeof(why)) < 0 ||
	    path_pattern_check(path, why, sizeof(why)) < 0) {
		load_error(l, l->line, "%s", why);
		return;
	}
	pg = path_grant_add(l, path, ACC_EXEC, r.cond);
	if (!pg)
		return;
	pg->rule = r.rule = add_rule(l, k, value);
	r.pattern = load_strdup(l, path);
	if (!r.pattern || !approve_new(l, &r))
		free(r.pattern);
}

/* "CIDR PORTS [timeout=DUR] [on_timeout=deny|allow] [when COND]". Not a
 * connect grant: the destination is let through one approval at a time. */
static void key_approve_connect(struct loader *l, const struct key_def *k, const char *value)
{
	struct approve_rule r = { .kind = APPROVE_CONNECT };
	char why[WHY_MAX], dest[256];

	if (grant_value(l, value, dest, sizeof(dest), &r.cond) < 0)
		return;
	if (approve_split_options(dest, &r, why, sizeof(why)) < 0 ||
	    net_parse_connect(dest, &r.nets, &r.nnets, why, sizeof(why)) < 0) {
		load_error(l, l->line, "%s", why);
		return;
	}
	r.rule = add_rule(l, k, value);
	for (size_t i = 0; i < r.nnets; i++) {
		r.nets[i].rule = r.rule;
		r.nets[i].line = l->line;
		r.nets[i].cond = r.cond;
	}
	if (!r.rule || !approve_new(l, &r))
		free(r.nets);
}

/* A list of users and @groups, separated by commas or blanks;
 * repeatable. An agent's approvers are its own and its roles'. */
static void key_approvers(struct loader *l, const struct key_def *k, const char *value)
{
	struct grant_set *set = l->set;
	char why[WHY_MAX], *copy = load_strdup(l, value), *save, *item;

	(void)k;
	if (!copy)
		return;
	for (item = strtok_r(copy, ", \t", &save); item; item = strtok_r(NULL, ", \t", &save)) {
		struct principal p, *ps;

		if (principal_parse(item, &p, why, sizeof(why)) < 0) {
			load_error(l, l->line, "%s", why);
			continue;
		}
		ps = load_realloc(l, set->approvers, set->napprovers + 1, sizeof(*ps));
		if (!ps)
			break;
		set->approvers = ps;
		ps[set->napprovers++] = p;
	}
	free(copy);
}

static void key_self_approve(struct loader *l, const struct key_def *k, const char *value)
{
	if (parse_bool(value, &l->agent->approval.self_approve) < 0)
		load_error(l, l->line, "bad boolean '%s' for '%s': use yes, "
			   "no, true, false, 1 or 0", value, k->name);
}

static void key_approval_timeout(struct loader *l, const struct key_def *k, const char *value)
{
	char why[WHY_MAX];

	(void)k;
	if (approve_parse_timeout(value, &l->agent->approval.timeout_ms, why, sizeof(why)) < 0)
		load_error(l, l->line, "%s", why);
}

static void key_on_timeout(struct loader *l, const struct key_def *k, const char *value)
{
	char why[WHY_MAX];

	(void)k;
	if (approve_parse_outcome(value, &l->agent->approval.on_timeout, why, sizeof(why)) < 0)
		load_error(l, l->line, "%s", why);
}

/* An absolute path to a program, run with each new approval request as
 * JSON on its stdin. */
static void key_approval_command(struct loader *l, const struct key_def *k, const char *value)
{
	char why[WHY_MAX];

	if (path_plain_check(value, why, sizeof(why)) < 0) {
		load_error(l, l->line, "bad %s: %s", k->name, why);
		return;
	}
	l->p->conf.approval_command = load_strdup(l, value);
}

static const struct key_def daemon_keys[] = {
	{ "daemon", "agent_uids", false, 0, key_agent_uids, false, NULL },
	{ "daemon", "fsync_interval_ms", false, 0, key_fsync_interval, false, NULL },
	{ "daemon", "approval_command", false, 0, key_approval_command, false, NULL },
	{ "daemon", "checkpoint_records", false, 0, key_checkpoint_records, false, NULL },
	{ "daemon", "checkpoint_interval_s", false, 0, key_checkpoint_interval, false, NULL },
	{ "daemon", "segment_size", false, 0, key_segment_size, false, NULL },
	{ "daemon", "retain_segments", false, 0, key_retain_segments, false, NULL },
	{ "daemon", "anchor_command", false, 0, key_anchor_command, false, NULL },
	{ "daemon", "anchor_file", false, 0, key_anchor_file, false, NULL },
	{ "daemon", "on_write_error", false, 0, key_on_write_error, false, NULL },
	{ "control", "read_groups", false, 0, key_control_groups, false, NULL },
	{ "control", "admin_groups", false, 0, key_control_groups, false, NULL },
	{ "control", "idle_timeout_s", false, 0, key_control_uint, false, NULL },
	{ "control", "clients_per_uid", false, 0, key_control_uint, false, NULL },
	{ "idp", "agents_group", false, 0, key_idp_group, false, NULL },
	{ "idp", "agents_user_type", false, 0, key_idp_user_type, false, NULL },
	{ "idp", "agents_attribute", false, 0, key_idp_attr, false, NULL },
	{ "idp", "role_map", true, 0, key_idp_role, false, NULL },
	{ "idp", "url", false, 0, key_idp_url, false, NULL },
	{ "idp", "token_file", false, 0, key_idp_file, false, NULL },
	{ "idp", "ca_file", false, 0, key_idp_file, false, NULL },
	{ "idp", "interval", false, 0, key_idp_seconds, false, NULL },
	{ "idp", "max_age", false, 0, key_idp_seconds, false, NULL },
	{ "idp", "on_stale", false, 0, key_idp_on_stale, false, NULL },
};

#define ACC_ALL (ACC_READ | ACC_WRITE | ACC_EXEC)

/* The grant and denial keys agent files, roles and bounds share. */
#define GRANT_KEYS                                                            \
	{ "exec", "allow", true, ACC_EXEC, key_path_grant, false, NULL },     \
	{ "exec", "deny", true, ACC_EXEC, key_path_grant, true, NULL },       \
	{ "files", "read", true, ACC_READ, key_path_grant, false, NULL },     \
	{ "files", "write", true, ACC_WRITE, key_path_grant, false, NULL },   \
	{ "files", "deny", true, ACC_ALL, key_path_grant, true, NULL },       \
	{ "network", "connect", true, 0, key_connect, false, NULL },          \
	{ "network", "deny", true, 0, key_connect, true, NULL },              \
	{ "network", "unix", true, 0, key_unix, false, NULL }

/* Approve grants and who may answer them, in agent files and roles. A
 * bound caps what approvals can let through, and holds none itself. */
#define APPROVE_KEYS                                                               \
	{ "exec", "approve", true, ACC_EXEC, key_approve_exec, false, NULL },      \
	{ "network", "approve", true, 0, key_approve_connect, false, NULL },       \
	{ "approval", "approvers", true, 0, key_approvers, false, NULL }

static const struct key_def agent_keys[] = {
	{ "agent", "description", false, 0, key_description, false, NULL },
	{ "agent", "enabled", false, 0, key_enabled, false, NULL },
	{ "agent", "uid", false, 0, key_uid, false, NULL },
	{ "agent", "home", false, 0, key_home, false, NULL },
	{ "agent", "workspace", false, 0, key_workspace, false, NULL },
	{ "agent", "expires", false, 0, key_expires, false, NULL },
	{ "agent", "owner", false, 0, key_owner, false, NULL },
	{ "agent", "unix_user", false, 0, key_unix_user, false, NULL },
	{ "agent", "roles", false, 0, key_roles, false, NULL },
	{ "agent", "on_revoke", false, 0, key_on_revoke, false, NULL },
	{ "attributes", NULL, true, 0, NULL, false, key_attribute },
	GRANT_KEYS,
	APPROVE_KEYS,
	{ "approval", "self_approve", false, 0, key_self_approve, false, NULL },
	{ "approval", "timeout", false, 0, key_approval_timeout, false, NULL },
	{ "approval", "on_timeout", false, 0, key_on_timeout, false, NULL },
};

static const struct key_def role_keys[] = {
	{ "role", "description", false, 0, key_description, false, NULL },
	{ "role", "inherit", false, 0, key_inherit, false, NULL },
	{ "role", "when", false, 0, key_when, false, NULL },
	GRANT_KEYS,
	APPROVE_KEYS,
};

static const struct key_def bound_keys[] = {
	{ "bound", "users", true, 0, key_users, false, NULL },
	{ "bound", "groups", true, 0, key_groups, false, NULL },
	{ "bound", "agents", false, 0, key_agents, false, NULL },
	GRANT_KEYS,
};

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

_Static_assert(ARRAY_LEN(agent_keys) <= SCHEMA_KEYS_MAX, "seen[] too small");
_Static_assert(ARRAY_LEN(role_keys) <= SCHEMA_KEYS_MAX, "seen[] too small");
_Static_assert(ARRAY_LEN(bound_keys) <= SCHEMA_KEYS_MAX, "seen[] too small");
_Static_assert(ARRAY_LEN(daemon_keys) <= SCHEMA_KEYS_MAX, "seen[] too small");

const struct schema schema_daemon = { daemon_keys, ARRAY_LEN(daemon_keys) };
const struct schema schema_agent = { agent_keys, ARRAY_LEN(agent_keys) };
const struct schema schema_role = { role_keys, ARRAY_LEN(role_keys) };
const struct schema schema_bound = { bound_keys, ARRAY_LEN(bound_keys) };

static bool schema_has_section(const struct schema *s, const char *section)
{
	size_t i;

	for (i = 0; i < s->nkeys; i++)
		if (!strcmp(s->keys[i].section, section))
			return true;
	return false;
}

static const struct key_def *schema_key(const struct schema *s,
					const char *section, const char *name)
{
	size_t i;

	for (i = 0; i < s->nkeys; i++)
		if (!strcmp(s->keys[i].section, section) &&
		    (!s->keys[i].name || !strcmp(s->keys[i].name, name)))
			return &s->keys[i];
	return NULL;
}

/* The first key of a new section occurrence: say once if it is unknown. */
static void enter_section(struct loader *l, const char *section)
{
	snprintf(l->section, sizeof(l->section), "%s", section);
	l->section_line = l->header_line;
	l->section_known = schema_has_section(l->schema, section);
	if (*section && !l->section_known)
		load_error(l, l->header_line, "unknown section [%s]", section);
}

/* Whether a single-valued key came before; remembers it if not. */
static bool seen_before(struct loader *l, const struct key_def *k)
{
	size_t slot = (size_t)(k - l->schema->keys);

	if (k->repeat)
		return false;
	if (l->seen[slot]) {
		load_error(l, l->line, "duplicate key '%s' in [%s] (first on "
			   "line %d)", k->name, k->section, l->seen[slot]);
		return true;
	}
	l->seen[slot] = l->line;
	return false;
}

int keys_handler(void *user, const char *section, const char *name,
		 const char *value)
{
	struct loader *l = user;
	const struct key_def *k;

	l->had_key = true;
	if (l->dry)
		return 1;
	if (strcmp(section, l->section) || l->header_line != l->section_line)
		enter_section(l, section);
	if (!*section) {
		load_error(l, l->line, "key '%s' before any [section]", name);
		return 1;
	}
	if (!l->section_known)
		return 1;
	k = schema_key(l->schema, section, name);
	if (!k) {
		load_error(l, l->line, "unknown key '%s' in [%s]", name,
			   section);
		return 1;
	}
	if (!value) {
		load_error(l, l->line, "key '%s' has no value", name);
		return 1;
	}
	if (k->attr)
		k->attr(l, k, name, value);
	else if (!seen_before(l, k))
		k->parse(l, k, value);
	/* Problems are collected, never fatal, so inih's return value is
	 * left to mean syntax errors only. */
	return 1;
}
