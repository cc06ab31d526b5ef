// SPDX-License-Identifier: GPL-2.0-only
/*
 * The identity provider in the daemon: syncs (sent by `pinfold idp sync`
 * as a descriptor, or fetched on pinfoldd.conf's interval by a child
 * process), their effects on running sessions, the provider's agents in
 * the policy, and the limit on the age of the last good sync.
 *
 * The daemon is the one place a sync is parsed and applied (scim.c,
 * idp.c of the policy library): the CLI only hands over the bytes. A
 * sync that does not parse or apply changes nothing, and is chained as
 * rejected with its reasons.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/pinfoldd.h"
#include "policy/idp.h"
#include "policy/scim_fetch.h"

#define SYNC_INPUT_MAX (64u << 20)
#define IDP_FILE_PREFIX "idp:"

static void state_path(struct daemon *d, char *out, size_t len)
{
	snprintf(out, len, "%s/idp/state.json", d->state_dir);
}

int idp_setup(struct daemon *d)
{
	char path[4200], dir[4200];
	struct diag dg = { 0 };

	snprintf(dir, sizeof(dir), "%s/idp", d->state_dir);
	if (mkdir(dir, 0700) && errno != EEXIST) {
		log_error("cannot create '%s': %s", dir, strerror(errno));
		return -1;
	}
	state_path(d, path, sizeof(path));
	if (idp_state_load(path, &d->idp_state, &dg)) {
		/* Fail closed: provider agents from a state that cannot be
		 * read would be guesses. */
		log_error("%s", dg.msgs ? dg.msgs[0] : path);
		diag_free(&dg);
		return -1;
	}
	d->idp_sync_pid = -1;
	d->idp_sync_pidfd = -1;
	d->idp_sync_fd = -1;
	return 0;
}

/* The state's entry for a provider agent of the policy, or NULL. */
static json_t *entry_of(struct daemon *d, const struct agent *a)
{
	if (!a->file || strncmp(a->file, IDP_FILE_PREFIX, strlen(IDP_FILE_PREFIX)))
		return NULL;
	return json_object_get(json_object_get(d->idp_state, "agents"),
			       a->file + strlen(IDP_FILE_PREFIX));
}

bool idp_is_provider_agent(const struct agent *a)
{
	return a->file && !strncmp(a->file, IDP_FILE_PREFIX, strlen(IDP_FILE_PREFIX));
}

json_t *idp_agent_entry(struct daemon *d, const struct agent *a)
{
	return entry_of(d, a);
}

int idp_refusal(struct daemon *d, const struct agent *a, char *err, size_t errlen)
{
	json_t *e = entry_of(d, a);

	if (!idp_is_provider_agent(a))
		return 0;
	if (!e || strcmp(json_string_value(json_object_get(e, "status")) ?: "", "active")) {
		snprintf(err, errlen, "agent '%s' is disabled by the identity provider: %s "
			 "(sync %lld)", a->name,
			 json_string_value(json_object_get(e, "reason")) ?: "unknown",
			 (long long)json_integer_value(json_object_get(e, "sync")));
		return -1;
	}
	if (d->idp_stale && d->policy->conf.idp.stale_disable) {
		snprintf(err, errlen, "agent '%s' is disabled: the last good identity provider "
			 "sync is older than max_age (%u s)", a->name,
			 d->policy->conf.idp.max_age_s);
		return -1;
	}
	return 0;
}

static void record_conflict(struct daemon *d, const char *name, const char *key,
			    const char *file)
{
	json_t *rec = audit_base(d, "idp-conflict");

	json_object_set_new(rec, "agent", json_string(name));
	json_object_set_new(rec, "key", json_string(key));
	json_object_set_new(rec, "file", json_string(file));
	audit_record(d, rec);
	log_warn("agent '%s' of the identity provider (key '%s') is also defined by '%s': the "
		 "file wins", name, key, file);
}

/* One provider agent into p, with the roles its groups map to, resolved
 * from roles.d as for an agent file. One that cannot be added (a role
 * roles.d does not have) is left out, and so cannot run: fail closed. It
 * is appended to invalid with the reason, for the agents verb. */
static int idp_add_agent(struct policy *p, json_t *e, const char *name, const char *key,
			 json_t *invalid)
{
	char file[512];
	json_t *roles = json_object_get(e, "roles");
	const char *names[64];
	struct agent_spec spec = { .name = name, .source = file, .roles = names };
	struct diag dg = { 0 };
	int rc;

	snprintf(file, sizeof(file), IDP_FILE_PREFIX "%s", key);
	for (size_t i = 0; i < json_array_size(roles) && i < 64; i++)
		names[spec.nroles++] = json_string_value(json_array_get(roles, i));
	rc = policy_add_agent(p, &spec, &dg);
	for (size_t i = 0; i < dg.n; i++)
		log_error("agent '%s' of the identity provider left out: %s", name, dg.msgs[i]);
	if (rc)
		json_array_append_new(invalid,
				      json_pack("{s:s,s:s,s:s}", "name", name, "key", key, "reason",
						dg.n ? dg.msgs[0] : "not added"));
	diag_free(&dg);
	return rc;
}

/* The provider's agents join a freshly loaded policy. An agents.d file of
 * the same name wins; each conflict is reported once per load. */
json_t *idp_merge(struct daemon *d, struct policy *p, json_t *conflicts)
{
	json_t *agents = json_object_get(d->idp_state, "agents"), *e, *invalid = json_array();
	size_t nfile = p->nagents;
	const char *key;

	json_object_foreach(agents, key, e) {
		const char *name = json_string_value(json_object_get(e, "name"));
		const struct agent *same = NULL;
		struct agent *a;

		for (size_t i = 0; name && i < nfile; i++)
			if (!strcmp(p->agents[i].name, name))
				same = &p->agents[i];
		if (same) {
			record_conflict(d, name, key, same->file);
			json_array_append_new(conflicts, json_pack("{s:s,s:s,s:s}", "agent", name,
								   "key", key, "file", same->file));
			continue;
		}
		if (!name || idp_add_agent(p, e, name, key, invalid))
			continue;
		/* Provider agents are the last ones added. */
		a = &p->agents[p->nagents - 1];
		if (json_object_get(e, "owner"))
			a->owner = strdup(json_string_value(json_object_get(e, "owner")));
	}
	return invalid;
}

static void record_change(struct daemon *d, json_int_t seq, json_t *ch, json_t *sessions)
{
	json_t *rec = audit_base(d, "idp-agent");

	json_object_update(rec, ch);
	json_object_set_new(rec, "sync", json_integer(seq));
	if (sessions)
		json_object_set_new(rec, "sessions", sessions);
	audit_record(d, rec);
}

/* Cuts off the agents the sync disabled, at once, and chains every
 * change with the sync that made it. */
static void apply_changes(struct daemon *d, json_int_t seq, json_t *changes)
{
	json_t *ch;
	size_t i;

	json_array_foreach(changes, i, ch) {
		const char *ev = json_string_value(json_object_get(ch, "event"));
		const char *name = json_string_value(json_object_get(ch, "name"));
		json_t *ids = NULL;

		if (!strcmp(ev, "disabled") && name && !idp_name_is_file_agent(d, name))
			ids = agent_cut_off(d, name, "agent disabled by the identity provider");
		record_change(d, seq, ch, ids);
		log_info("identity provider sync %lld: agent '%s' %s%s%s", (long long)seq,
			 name ?: "?", ev, json_object_get(ch, "reason") ? ": " : "",
			 json_string_value(json_object_get(ch, "reason")) ?: "");
	}
}

bool idp_name_is_file_agent(struct daemon *d, const char *name)
{
	const struct agent *a = policy_agent(d->policy, name);

	return a && !idp_is_provider_agent(a);
}

static void record_rejected(struct daemon *d, const char *source, struct diag *dg)
{
	json_t *rec = audit_base(d, "idp-sync-rejected"), *why = json_array();

	for (size_t i = 0; i < dg->n && i < 20; i++)
		json_array_append_new(why, json_string(dg->msgs[i]));
	json_object_set_new(rec, "source", json_string(source));
	json_object_set_new(rec, "errors", why);
	audit_record(d, rec);
	audit_flush(d, true);
	for (size_t i = 0; i < dg->n; i++)
		log_error("identity provider sync from '%s' rejected: %s", source, dg->msgs[i]);
}

static void record_sync(struct daemon *d, const char *source, json_t *state,
			const struct scim_batch *b, json_t *changes, bool was_stale)
{
	json_t *rec = audit_base(d, "idp-sync");

	json_object_set_new(rec, "source", json_string(source));
	json_object_set(rec, "sync", json_object_get(state, "sync"));
	json_object_set(rec, "complete", json_object_get(state, "complete"));
	json_object_set_new(rec, "documents", json_integer((json_int_t)b->documents));
	json_object_set_new(rec, "users", json_integer((json_int_t)json_object_size(
						 json_object_get(state, "users"))));
	json_object_set_new(rec, "agents", json_integer((json_int_t)json_object_size(
						  json_object_get(state, "agents"))));
	json_object_set_new(rec, "changes", json_integer((json_int_t)json_array_size(changes)));
	if (was_stale)
		json_object_set_new(rec, "was_stale", json_true());
	audit_record(d, rec);
}

static json_t *reply_rejected(struct daemon *d, const char *source, struct diag *dg)
{
	json_t *errs = json_array(), *reply;

	for (size_t i = 0; i < dg->n; i++)
		json_array_append_new(errs, json_string(dg->msgs[i]));
	record_rejected(d, source, dg);
	reply = json_pack("{s:b,s:s,s:o}", "ok", 0, "error", dg->n ? dg->msgs[0] : "sync rejected",
			  "errors", errs);
	diag_free(dg);
	return reply;
}

/* Parse, apply, save, then act: nothing changes unless all of it
 * parsed and applied and the new state is on disk. Returns the reply. */
json_t *idp_sync_buffer(struct daemon *d, const char *buf, size_t len, const char *source)
{
	struct scim_batch b;
	struct diag dg = { 0 };
	json_t *state = NULL, *changes = NULL, *conflicts;
	bool was_stale = d->idp_stale;
	char path[4200];
	int rc;

	state_path(d, path, sizeof(path));
	if (scim_parse(buf, len, source, &b, &dg))
		return reply_rejected(d, source, &dg);
	rc = idp_sync_apply(&d->policy->conf.idp, d->idp_state, &b, audit_now_ns() / 1000000000,
			    &state, &changes, &dg);
	if (!rc && idp_state_save(path, state, &dg)) {
		json_decref(state);
		json_decref(changes);
		rc = -1;
	}
	if (rc) {
		scim_batch_free(&b);
		return reply_rejected(d, source, &dg);
	}
	json_decref(d->idp_state);
	d->idp_state = state;
	d->idp_stale = false;
	record_sync(d, source, state, &b, changes, was_stale);
	scim_batch_free(&b);
	apply_changes(d, json_integer_value(json_object_get(state, "sync")), changes);
	conflicts = json_array();
	daemon_reload_idp(d, "identity provider sync", conflicts);
	lifecycle_check(d);
	return json_pack("{s:b,s:O,s:O,s:o,s:o,s:O?}", "ok", 1, "sync",
			 json_object_get(state, "sync"), "complete",
			 json_object_get(state, "complete"), "changes", changes, "conflicts",
			 conflicts, "invalid", d->idp_invalid);
}

/* The whole of a descriptor, at most SYNC_INPUT_MAX bytes, from its
 * start when it can seek (a memory file the CLI filled). */
static int read_all(int fd, char **buf, size_t *len)
{
	size_t cap = 1 << 16;
	ssize_t n;

	*len = 0;
	*buf = malloc(cap + 1);
	if (!*buf)
		return -ENOMEM;
	lseek(fd, 0, SEEK_SET);
	while ((n = read(fd, *buf + *len, cap - *len)) > 0) {
		*len += (size_t)n;
		if (*len == cap) {
			char *g = cap >= SYNC_INPUT_MAX ? NULL : realloc(*buf, cap * 2 + 1);

			if (!g) {
				free(*buf);
				return cap >= SYNC_INPUT_MAX ? -EFBIG : -ENOMEM;
			}
			*buf = g;
			cap *= 2;
		}
	}
	if (n < 0) {
		free(*buf);
		return -errno;
	}
	return 0;
}

json_t *idp_sync_fd(struct daemon *d, int fd, const char *source)
{
	char *buf;
	size_t len;
	json_t *r;
	int rc = read_all(fd, &buf, &len);

	if (rc)
		return reply_err("cannot read the sync input '%s': %s", source,
				 rc == -EFBIG ? "larger than 64 MiB" : strerror(-rc));
	r = idp_sync_buffer(d, buf, len, source);
	free(buf);
	return r;
}

static json_int_t last_good(struct daemon *d)
{
	return json_integer_value(json_object_get(d->idp_state, "last_good"));
}

/* Past max_age with no good sync: the provider may have disabled anyone
 * since, so its agents are cut off (on_stale = disable, the default) or
 * kept with a warning; chained either way. */
static void go_stale(struct daemon *d)
{
	const struct idp_conf *c = &d->policy->conf.idp;
	json_t *rec = audit_base(d, "idp-stale"), *ids = json_array();
	char when[32];

	d->idp_stale = true;
	format_utc(last_good(d), when);
	for (size_t i = 0; c->stale_disable && i < d->policy->nagents; i++)
		if (idp_is_provider_agent(&d->policy->agents[i]))
			json_array_extend(ids, agent_cut_off(d, d->policy->agents[i].name,
						"identity provider sync too old"));
	json_object_set_new(rec, "last_good", json_string(when));
	json_object_set_new(rec, "max_age", json_integer(c->max_age_s));
	json_object_set_new(rec, "action", json_string(c->stale_disable ? "disable" : "warn"));
	json_object_set_new(rec, "sessions", ids);
	audit_record(d, rec);
	if (c->stale_disable)
		log_warn("the last good identity provider sync (%s) is older than max_age %u s: "
			 "its agents are disabled until the next good sync", when, c->max_age_s);
	else
		log_warn("the last good identity provider sync (%s) is older than max_age %u s: "
			 "its agents are kept (on_stale = warn)", when, c->max_age_s);
}

static void start_fetch(struct daemon *d)
{
	const struct idp_conf *c = &d->policy->conf.idp;
	struct scim_fetch f = { c->url, c->token_file, c->ca_file,
				c->agents_group || c->nroles };
	int mfd = memfd_create("pinfold-scim", MFD_CLOEXEC);
	pid_t pid;

	if (mfd < 0 || !c->token_file) {
		log_error("cannot start an identity provider sync: %s",
			  mfd < 0 ? strerror(errno) : "[idp] url without token_file");
		if (mfd >= 0)
			close(mfd);
		return;
	}
	pid = fork();
	if (pid == 0) {
		struct diag dg = { 0 };
		int rc = scim_fetch(&f, mfd, &dg);

		for (size_t i = 0; i < dg.n; i++)
			fprintf(stderr, "pinfoldd: identity provider fetch: %s\n", dg.msgs[i]);
		_exit(rc ? 1 : 0);
	}
	d->idp_sync_pidfd = pid > 0 ? (int)syscall(SYS_pidfd_open, pid, 0) : -1;
	if (pid < 0 || d->idp_sync_pidfd < 0) {
		log_error("cannot start an identity provider sync: %s", strerror(errno));
		close(mfd);
		return;
	}
	d->idp_sync_pid = pid;
	d->idp_sync_fd = mfd;
	epoll_add(d, d->idp_sync_pidfd, TAG_SYNC, EPOLLIN);
}

void idp_fetch_done(struct daemon *d)
{
	const char *url = d->policy->conf.idp.url ?: "url";
	int status = 0;

	if (waitpid(d->idp_sync_pid, &status, WNOHANG) <= 0)
		return;
	epoll_ctl(d->epfd, EPOLL_CTL_DEL, d->idp_sync_pidfd, NULL);
	close(d->idp_sync_pidfd);
	d->idp_sync_pidfd = -1;
	d->idp_sync_pid = -1;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		json_decref(idp_sync_fd(d, d->idp_sync_fd, url));
	} else {
		json_t *rec = audit_base(d, "idp-sync-failed");

		json_object_set_new(rec, "source", json_string(url));
		json_object_set_new(rec, "reason", json_string("the fetch failed, see the log"));
		audit_record(d, rec);
		audit_flush(d, true);
	}
	close(d->idp_sync_fd);
	d->idp_sync_fd = -1;
	lifecycle_check(d);
}

int64_t idp_next_deadline(struct daemon *d, int64_t now)
{
	const struct idp_conf *c = &d->policy->conf.idp;
	int64_t next = 0;

	if (c->url && c->interval_s && d->idp_sync_pid < 0)
		next = d->idp_next_fetch ? d->idp_next_fetch : now;
	if (c->max_age_s && !d->idp_stale && last_good(d) > 0) {
		int64_t due = last_good(d) + c->max_age_s;

		if (!next || due < next)
			next = due;
	}
	return next;
}

void idp_check_deadlines(struct daemon *d, int64_t now)
{
	const struct idp_conf *c = &d->policy->conf.idp;

	if (c->max_age_s && !d->idp_stale && last_good(d) > 0 &&
	    now >= last_good(d) + c->max_age_s)
		go_stale(d);
	if (c->url && c->interval_s && d->idp_sync_pid < 0 && now >= d->idp_next_fetch) {
		d->idp_next_fetch = now + c->interval_s;
		start_fetch(d);
	}
}

void idp_free(struct daemon *d)
{
	if (d->idp_sync_pid > 0) {
		kill(d->idp_sync_pid, SIGKILL);
		waitpid(d->idp_sync_pid, NULL, 0);
	}
	if (d->idp_sync_pidfd >= 0)
		close(d->idp_sync_pidfd);
	if (d->idp_sync_fd >= 0)
		close(d->idp_sync_fd);
	json_decref(d->idp_state);
	d->idp_state = NULL;
	json_decref(d->idp_invalid);
	d->idp_invalid = NULL;
}

json_t *idp_verb_sync(struct daemon *d, const struct admin_req *q)
{
	const char *source = json_string_value(json_object_get(q->m, "source"));

	if (q->nfds != 1 || !source)
		return reply_err("idp-sync needs \"source\" and the input as one descriptor");
	return idp_sync_fd(d, q->fds[0], source);
}
