// SPDX-License-Identifier: GPL-2.0-only
/*
 * What each section and key of pinfoldd.conf and of an agent file means:
 * the key tables, the inih handler that dispatches on them, and the value
 * parsers. A new key is one more row and, if its value is new, one parser.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policy/policy_int.h"

#define UID_FLOOR 1000u

struct key_def {
	const char *section;
	const char *name;
	bool repeat;		/* may be given more than once */
	unsigned access;	/* path grants: the ACC_* bit */
	void (*parse)(struct loader *l, const struct key_def *k,
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
	if (asprintf(&r->text, "%s = %s", k->name, value) < 0) {
		r->text = NULL;
		l->oom = true;
	}
	p->nrules++;
	return r->id;
}

static void key_description(struct loader *l, const struct key_def *k,
			    const char *value)
{
	(void)k;
	l->agent->description = load_strdup(l, value);
}

static void key_enabled(struct loader *l, const struct key_def *k,
			const char *value)
{
	if (parse_bool(value, &l->agent->enabled) < 0)
		load_error(l, l->line, "bad boolean '%s' for '%s': use yes, "
			   "no, true, false, 1 or 0", value, k->name);
}

static int resolve_uid(struct loader *l, const char *value, uid_t *uid)
{
	unsigned long long v;
	struct passwd *pw;

	if (isdigit((unsigned char)value[0])) {
		if (parse_uint(value, (uid_t)-2, &v) == 0) {
			*uid = (uid_t)v;
			return 0;
		}
		load_error(l, l->line, "bad uid '%s'", value);
		return -1;
	}
	pw = getpwnam(value);
	if (!pw) {
		load_error(l, l->line, "unknown user '%s'", value);
		return -1;
	}
	*uid = pw->pw_uid;
	return 0;
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

static void key_path_grant(struct loader *l, const struct key_def *k,
			   const char *value)
{
	struct agent *a = l->agent;
	struct path_grant *paths, *pg;
	char why[WHY_MAX];

	if (path_pattern_check(value, why, sizeof(why)) < 0) {
		load_error(l, l->line, "%s", why);
		return;
	}
	paths = load_realloc(l, a->paths, a->npaths + 1, sizeof(*paths));
	if (!paths)
		return;
	a->paths = paths;
	pg = &paths[a->npaths];
	pg->pattern = load_strdup(l, value);
	pg->access = k->access;
	pg->line = l->line;
	pg->rule = add_rule(l, k, value);
	a->npaths++;
}

static void key_connect(struct loader *l, const struct key_def *k,
			const char *value)
{
	struct agent *a = l->agent;
	struct net_grant *parsed, *nets;
	char why[WHY_MAX];
	uint32_t rule;
	size_t n, i;

	if (net_parse_connect(value, &parsed, &n, why, sizeof(why)) < 0) {
		load_error(l, l->line, "%s", why);
		return;
	}
	nets = load_realloc(l, a->nets, a->nnets + n, sizeof(*nets));
	if (!nets) {
		free(parsed);
		return;
	}
	a->nets = nets;
	rule = add_rule(l, k, value);
	for (i = 0; i < n; i++) {
		parsed[i].rule = rule;
		parsed[i].line = l->line;
		nets[a->nnets++] = parsed[i];
	}
	free(parsed);
}

/* A pathname unix socket the agent may connect to: an absolute, canonical
 * path of at most 107 bytes (sun_path's room), compared as a string by the
 * kernel side, so no variables and no symlinks to resolve later. */
static void key_unix(struct loader *l, const struct key_def *k, const char *value)
{
	struct agent *a = l->agent;
	struct unix_grant *u;
	char canon[PATH_MAX];

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
	u = load_realloc(l, a->unix_socks, a->nunix + 1, sizeof(*u));
	if (!u)
		return;
	a->unix_socks = u;
	u[a->nunix].path = strdup(value);
	u[a->nunix].rule = add_rule(l, k, value);
	if (!u[a->nunix].path) {
		l->oom = true;
		return;
	}
	a->nunix++;
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

static const struct key_def daemon_keys[] = {
	{ "daemon", "agent_uids", false, 0, key_agent_uids },
	{ "daemon", "fsync_interval_ms", false, 0, key_fsync_interval },
	{ "daemon", "checkpoint_records", false, 0, key_checkpoint_records },
	{ "daemon", "checkpoint_interval_s", false, 0, key_checkpoint_interval },
	{ "daemon", "segment_size", false, 0, key_segment_size },
	{ "daemon", "retain_segments", false, 0, key_retain_segments },
	{ "daemon", "anchor_command", false, 0, key_anchor_command },
	{ "daemon", "anchor_file", false, 0, key_anchor_file },
	{ "daemon", "on_write_error", false, 0, key_on_write_error },
};

static const struct key_def agent_keys[] = {
	{ "agent", "description", false, 0, key_description },
	{ "agent", "enabled", false, 0, key_enabled },
	{ "agent", "uid", false, 0, key_uid },
	{ "agent", "home", false, 0, key_home },
	{ "agent", "workspace", false, 0, key_workspace },
	{ "exec", "allow", true, ACC_EXEC, key_path_grant },
	{ "files", "read", true, ACC_READ, key_path_grant },
	{ "files", "write", true, ACC_WRITE, key_path_grant },
	{ "network", "connect", true, 0, key_connect },
	{ "network", "unix", true, 0, key_unix },
};

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

_Static_assert(ARRAY_LEN(agent_keys) <= SCHEMA_KEYS_MAX, "seen[] too small");
_Static_assert(ARRAY_LEN(daemon_keys) <= SCHEMA_KEYS_MAX, "seen[] too small");

const struct schema schema_daemon = { daemon_keys, ARRAY_LEN(daemon_keys) };
const struct schema schema_agent = { agent_keys, ARRAY_LEN(agent_keys) };

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
		    !strcmp(s->keys[i].name, name))
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
	if (!seen_before(l, k))
		k->parse(l, k, value);
	/* Problems are collected, never fatal, so inih's return value is
	 * left to mean syntax errors only. */
	return 1;
}
