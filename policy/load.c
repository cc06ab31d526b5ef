// SPDX-License-Identifier: GPL-2.0-only
/*
 * policy_load(): find the files, read and hash each, and run inih over it
 * with a reader that counts lines.
 *
 * Debian's libinih is built without INI_HANDLER_LINENO, so the handler is
 * told no line number; the reader below is the only one that knows it, and
 * at handler time its count is the line being handled. The same reader
 * keeps inih from ever seeing a line longer than its buffer, which inih 55
 * would otherwise split and parse as two lines.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policy/policy_int.h"
#include "policy/readfile.h"

#define CONF_NAME "pinfoldd.conf"
#define AGENTS_DIR "agents.d"
#define ROLES_DIR "roles.d"
#define USERS_DIR "users.d"
/* Policy files are small; a larger one is a mistake, not a policy. */
#define FILE_MAX (1 << 20)
/* inih reports one syntax error per pass, so each costs a parse. */
#define SYNTAX_ERRORS_MAX 50

void load_error(struct loader *l, int line, const char *fmt, ...)
{
	va_list ap;
	char *msg;
	int rc;

	l->nerr++;
	va_start(ap, fmt);
	rc = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (rc < 0) {
		l->oom = true;
		return;
	}
	if (line > 0)
		diag_add(l->d, "%s:%d: %s", l->file, line, msg);
	else
		diag_add(l->d, "%s: %s", l->file, msg);
	free(msg);
}

void *load_realloc(struct loader *l, void *ptr, size_t n, size_t size)
{
	void *p = NULL;

	if (size && n <= SIZE_MAX / size)
		p = realloc(ptr, n * size);
	if (!p)
		l->oom = true;
	return p;
}

char *load_strdup(struct loader *l, const char *s)
{
	char *c = strdup(s);

	if (!c)
		l->oom = true;
	return c;
}

/* Whether the line just read is one inih must not see; says why once. */
static bool line_withheld(struct loader *l, const char *line, size_t n,
			  int num)
{
	size_t text = n && line[n - 1] == '\n' ? n - 1 : n;

	if (l->next_bad < l->nbad && l->bad[l->next_bad] == l->line) {
		l->next_bad++;
		if (!l->dry)
			load_error(l, l->line, "syntax error");
		return true;
	}
	if (num < 3 || text > (size_t)num - 2) {
		if (!l->dry)
			load_error(l, l->line, "line longer than %d bytes",
				   num - 2);
		return true;
	}
	if (memchr(line, '\0', n)) {
		if (!l->dry)
			load_error(l, l->line, "NUL byte in line");
		return true;
	}
	return false;
}

/* Note where a section header is, as inih will judge it: an indented
 * "[" right after a key continues that key's value instead. */
static void note_header(struct loader *l, const char *line, size_t n)
{
	size_t i = 0;

	if (l->line == 1 && n >= 3 && !memcmp(line, "\xef\xbb\xbf", 3))
		i = 3;
	while (i < n && (line[i] == ' ' || line[i] == '\t'))
		i++;
	if (i < n && line[i] == '[' && (i == 0 || !l->had_key)) {
		l->header_line = l->line;
		l->had_key = false;
	}
}

static char *buf_reader(char *str, int num, void *stream)
{
	struct loader *l = stream;
	const char *line = l->buf + l->pos;
	const char *nl;
	size_t n;

	/* inih's buffer always holds more; the check keeps strcpy() safe. */
	if (l->pos >= l->len || num < 2)
		return NULL;
	nl = memchr(line, '\n', l->len - l->pos);
	n = nl ? (size_t)(nl - line) + 1 : l->len - l->pos;
	l->pos += n;
	l->line++;
	if (line_withheld(l, line, n, num)) {
		strcpy(str, "\n");
		return str;
	}
	note_header(l, line, n);
	memcpy(str, line, n);
	str[n] = '\0';
	return str;
}

static int run_inih(struct loader *l)
{
	l->pos = 0;
	l->line = 0;
	l->next_bad = 0;
	l->header_line = 0;
	l->had_key = false;
	l->section[0] = '\0';
	l->section_line = 0;
	l->section_known = false;
	memset(l->seen, 0, sizeof(l->seen));
	return ini_parse_stream(buf_reader, l, keys_handler, l);
}

/* inih returns only the first syntax error's line, so parse again with
 * each one found withheld until none is left. */
static void find_syntax_errors(struct loader *l)
{
	int *bad, rc;

	l->nbad = 0;
	l->dry = true;
	while (l->nbad < SYNTAX_ERRORS_MAX) {
		rc = run_inih(l);
		if (rc < 0)
			l->oom = true;
		if (rc <= 0 || (l->nbad && rc <= l->bad[l->nbad - 1]))
			break;
		bad = load_realloc(l, l->bad, l->nbad + 1, sizeof(*bad));
		if (!bad)
			break;
		l->bad = bad;
		l->bad[l->nbad++] = rc;
	}
	l->dry = false;
}

static void parse_file(struct loader *l, const struct schema *schema,
		       const char *buf, size_t len)
{
	int rc;

	l->schema = schema;
	l->buf = buf;
	l->len = len;
	find_syntax_errors(l);
	rc = run_inih(l);
	if (rc > 0)
		load_error(l, rc, "syntax error (more may follow, not listed)");
	else if (rc < 0)
		l->oom = true;
}

/*
 * Read l->file (name within dirfd) whole. Returns 0, 1 when it does not
 * exist and may be missing, or -1 after reporting why it cannot be read.
 */
static int read_file(struct loader *l, int dirfd, const char *name,
		     bool optional, char **buf, size_t *len)
{
	int rc = readfile_at(dirfd, name, FILE_MAX, buf, len);

	if (rc == -ENOENT && optional)
		return 1;
	if (rc == READFILE_NOT_REGULAR)
		load_error(l, 0, "not a regular file");
	else if (rc == READFILE_TOO_LARGE)
		load_error(l, 0, "larger than %d bytes", FILE_MAX);
	else if (rc < 0)
		load_error(l, 0, "%s", strerror(-rc));
	return rc < 0 ? -1 : 0;
}

static void hash_add(struct loader *l, EVP_MD_CTX *md, const char *buf,
		     size_t len)
{
	if (md && hash_file(md, l->file, buf, len) < 0)
		load_error(l, 0, "SHA-256 failed");
}

static void load_daemon_conf(struct loader *l, int cfd, EVP_MD_CTX *md)
{
	size_t len;
	char *buf;

	l->file = CONF_NAME;
	load_note_link(l, cfd, CONF_NAME);
	if (read_file(l, cfd, CONF_NAME, true, &buf, &len))
		return;
	hash_add(l, md, buf, len);
	l->agent = NULL;
	l->role = NULL;
	l->bound = NULL;
	l->set = NULL;
	parse_file(l, &schema_daemon, buf, len);
	free(buf);
}

static struct agent *agent_new(struct loader *l, const char *name,
			       size_t namelen, const char *file)
{
	struct policy *p = l->p;
	struct agent *agents, *a;

	agents = load_realloc(l, p->agents, p->nagents + 1, sizeof(*agents));
	if (!agents)
		return NULL;
	p->agents = agents;
	a = &agents[p->nagents++];
	memset(a, 0, sizeof(*a));
	a->id = (uint32_t)p->nagents;
	a->name = strndup(name, namelen);
	a->file = load_strdup(l, file);
	a->enabled = true;
	if (!a->name)
		l->oom = true;
	return a;
}

static struct role *role_new(struct loader *l, const char *name, size_t namelen,
			     const char *file)
{
	struct policy *p = l->p;
	struct role *roles, *r;

	roles = load_realloc(l, p->roles, p->nroles + 1, sizeof(*roles));
	if (!roles)
		return NULL;
	p->roles = roles;
	r = &roles[p->nroles++];
	memset(r, 0, sizeof(*r));
	r->name = strndup(name, namelen);
	r->file = load_strdup(l, file);
	if (!r->name)
		l->oom = true;
	return r;
}

static struct bound *bound_new(struct loader *l, const char *file)
{
	struct policy *p = l->p;
	struct bound *bounds, *b;

	bounds = load_realloc(l, p->bounds, p->nbounds + 1, sizeof(*bounds));
	if (!bounds)
		return NULL;
	p->bounds = bounds;
	b = &bounds[p->nbounds++];
	memset(b, 0, sizeof(*b));
	b->file = load_strdup(l, file);
	return b;
}

/* One folder of per-name files: agents.d, roles.d or users.d. */
struct file_kind {
	const char *dir;
	const char *what;	/* "agent", "role", "bound" */
	const struct schema *schema;
	enum layer layer;
};

static const struct file_kind kind_agent = { AGENTS_DIR, "agent", &schema_agent, LAYER_AGENT };
static const struct file_kind kind_role = { ROLES_DIR, "role", &schema_role, LAYER_ROLE };
static const struct file_kind kind_bound = { USERS_DIR, "bound", &schema_bound, LAYER_BOUND };

/* Make the object the file describes and point the loader at it. */
static bool start_object(struct loader *l, const struct file_kind *k, const char *name,
			 size_t stem, const char *rel)
{
	l->agent = NULL;
	l->role = NULL;
	l->bound = NULL;
	l->set = NULL;
	l->layer = k->layer;
	if (k == &kind_agent && (l->agent = agent_new(l, name, stem, rel)))
		l->set = &l->agent->set;
	else if (k == &kind_role && (l->role = role_new(l, name, stem, rel)))
		l->set = &l->role->set;
	else if (k == &kind_bound && (l->bound = bound_new(l, rel)))
		l->set = &l->bound->set;
	return l->set != NULL;
}

static void load_named_file(struct loader *l, const struct file_kind *k, int dfd,
			    const char *name, EVP_MD_CTX *md)
{
	size_t stem = strlen(name) - 4, len;
	char *rel, *buf;

	if (asprintf(&rel, "%s/%s", k->dir, name) < 0) {
		l->oom = true;
		return;
	}
	l->file = rel;
	load_note_link(l, dfd, name);
	if (!name_ok(name, stem)) {
		load_error(l, 0, "bad %s name '%.*s': names match "
			   "[a-z0-9][a-z0-9_-]{0,31}", k->what, (int)stem, name);
	} else if (read_file(l, dfd, name, false, &buf, &len) == 0) {
		hash_add(l, md, buf, len);
		if (start_object(l, k, name, stem, rel))
			parse_file(l, k->schema, buf, len);
		free(buf);
	}
	l->file = NULL;
	free(rel);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The *.ini names in dir, sorted by byte value. Dot files are skipped:
 * editors leave lock and backup files there. */
static void list_agent_files(struct loader *l, DIR *dir, char ***out,
			     size_t *n)
{
	struct dirent *de;
	char **names = NULL, **grown;
	size_t len;

	*n = 0;
	for (;;) {
		errno = 0;
		de = readdir(dir);
		if (!de)
			break;
		len = strlen(de->d_name);
		if (de->d_name[0] == '.' || len < 5 ||
		    strcmp(de->d_name + len - 4, ".ini"))
			continue;
		grown = load_realloc(l, names, *n + 1, sizeof(*names));
		if (!grown)
			break;
		names = grown;
		names[*n] = load_strdup(l, de->d_name);
		if (!names[*n])
			break;
		(*n)++;
	}
	if (!de && errno)
		load_error(l, 0, "%s", strerror(errno));
	if (*n)
		qsort(names, *n, sizeof(*names), name_cmp);
	*out = names;
}

static void load_folder(struct loader *l, const struct file_kind *k, int cfd,
			EVP_MD_CTX *md)
{
	char **names = NULL;
	size_t n = 0, i;
	DIR *dir;
	int afd;

	l->file = k->dir;
	afd = openat(cfd, k->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (afd < 0 && errno == ENOENT)
		return;
	dir = afd < 0 ? NULL : fdopendir(afd);
	if (!dir) {
		load_error(l, 0, "%s", strerror(errno));
		if (afd >= 0)
			close(afd);
		return;
	}
	list_agent_files(l, dir, &names, &n);
	for (i = 0; i < n; i++) {
		load_named_file(l, k, dirfd(dir), names[i], md);
		free(names[i]);
	}
	free(names);
	closedir(dir);
}

static void load_all(struct loader *l, const char *config_dir)
{
	EVP_MD_CTX *md = hash_begin();
	int cfd;

	l->file = config_dir;
	if (!md)
		load_error(l, 0, "SHA-256 is not available from OpenSSL");
	cfd = open(config_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cfd < 0) {
		load_error(l, 0, "%s", strerror(errno));
	} else {
		load_daemon_conf(l, cfd, md);
		load_folder(l, &kind_agent, cfd, md);
		load_folder(l, &kind_role, cfd, md);
		load_folder(l, &kind_bound, cfd, md);
		close(cfd);
	}
	l->file = config_dir;
	if (md && hash_end(md, l->p->hash, l->p->hash_hex) < 0)
		load_error(l, 0, "SHA-256 failed");
}

/* A network policy must also fit the kernel's map (NET_RANGES_MAX ranges
 * per prefix once covering prefixes are folded in): found here, it is a
 * load error like any other, not a surprise when the daemon starts. */
static void check_net_tables(struct loader *l)
{
	for (size_t i = 0; i < l->p->nagents; i++) {
		struct net_entry *t = NULL;

		if (agent_net_table(&l->p->agents[i], &t, l->d) < 0)
			l->nerr++;
		free(t);
	}
}

/* A login is tagged for the one agent whose unix_user it is: two agents
 * naming one account would leave which session it lands in, and whether
 * disabling one stops it, to the order of the files. */
static void check_unix_users(struct loader *l)
{
	for (size_t i = 0; i < l->p->nagents; i++) {
		const struct agent *a = &l->p->agents[i];

		for (size_t j = 0; a->unix_user && j < i; j++) {
			const struct agent *b = &l->p->agents[j];

			if (!b->unix_user || strcmp(a->unix_user, b->unix_user))
				continue;
			diag_add(l->d, "%s:%d: unix_user '%s' is also named by agent '%s' (%s:%d): "
				 "an account belongs to one agent", a->file, a->unix_user_line,
				 a->unix_user, b->name, b->file, b->unix_user_line);
			l->nerr++;
			break;
		}
	}
}

int policy_load(const char *config_dir, struct policy **out, struct diag *d)
{
	struct loader l = { .d = d };
	size_t first = d ? d->n : 0;

	l.p = calloc(1, sizeof(*l.p));
	if (!l.p) {
		diag_add(d, "%s: out of memory", config_dir);
		return -1;
	}
	l.p->conf.uid_lo = 61184;
	l.p->conf.uid_hi = 61439;
	l.p->conf.fsync_interval_ms = 10;
	l.p->conf.idp.stale_disable = true;
	l.p->conf.idle_timeout_s = 10;
	l.p->conf.clients_per_uid = 32;
	audit_conf_defaults(&l.p->conf.audit);
	load_all(&l, config_dir);
	/* Every agent's [attributes] is read even from a file with errors, so
	 * a condition on one no agent declares is reported with the rest. */
	if (!l.oom)
		l.nerr += cond_check_attrs(l.p, d);
	if (!l.oom)
		check_unix_users(&l);
	if (!l.nerr && !l.oom)
		l.nerr += roles_resolve(l.p, d);
	if (!l.nerr && !l.oom)
		l.nerr += bounds_check(l.p, d);
	if (!l.nerr && !l.oom)
		check_net_tables(&l);
	free(l.bad);
	if (l.oom) {
		l.file = config_dir;
		load_error(&l, 0, "out of memory");
	}
	load_annotate_links(&l, first);
	load_links_free(&l);
	if (l.nerr) {
		policy_free(l.p);
		return -1;
	}
	*out = l.p;
	return 0;
}

void agent_free(struct agent *a)
{
	free(a->name);
	free(a->file);
	free(a->description);
	free(a->home);
	free(a->workspace);
	free(a->owner);
	free(a->unix_user);
	names_free(a->roles, a->nroles);
	for (size_t i = 0; i < a->nattrs; i++) {
		free(a->attrs[i].key);
		free(a->attrs[i].value);
	}
	free(a->attrs);
	set_free(&a->set);
}

static void role_free(struct role *r)
{
	free(r->name);
	free(r->file);
	free(r->description);
	names_free(r->inherit, r->ninherit);
	set_free(&r->set);
}

static void bound_free(struct bound *b)
{
	free(b->file);
	free(b->uids);
	names_free(b->user_names, b->nuids);
	free(b->gids);
	names_free(b->group_names, b->ngids);
	names_free(b->agents, b->nagents);
	set_free(&b->set);
}

static void idp_conf_free(struct idp_conf *c)
{
	free(c->agents_group);
	free(c->agents_user_type);
	free(c->agents_attr);
	free(c->agents_attr_value);
	for (size_t i = 0; i < c->nroles; i++) {
		free(c->roles[i].group);
		free(c->roles[i].role);
	}
	free(c->roles);
	free(c->url);
	free(c->token_file);
	free(c->ca_file);
}

void policy_free(struct policy *p)
{
	size_t i;

	if (!p)
		return;
	idp_conf_free(&p->conf.idp);
	for (i = 0; i < p->nagents; i++)
		agent_free(&p->agents[i]);
	free(p->agents);
	for (i = 0; i < p->nroles; i++)
		role_free(&p->roles[i]);
	free(p->roles);
	for (i = 0; i < p->nbounds; i++)
		bound_free(&p->bounds[i]);
	free(p->bounds);
	conds_free(p);
	for (i = 0; i < p->nrules; i++) {
		free(p->rules[i].file);
		free(p->rules[i].text);
	}
	free(p->rules);
	free(p->conf.approval_command);
	audit_conf_free(&p->conf.audit);
	free(p);
}

const struct agent *policy_agent(const struct policy *p, const char *name)
{
	size_t i;

	for (i = 0; p && name && i < p->nagents; i++)
		if (p->agents[i].name && !strcmp(p->agents[i].name, name))
			return &p->agents[i];
	return NULL;
}

const struct rule *policy_rule(const struct policy *p, uint32_t id)
{
	if (!p || id == 0 || id > p->nrules)
		return NULL;
	return &p->rules[id - 1];
}
