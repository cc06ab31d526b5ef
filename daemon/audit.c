// SPDX-License-Identifier: GPL-2.0-only
/* The records pinfoldd writes to its chain, and when they reach disk. */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/pinfoldd.h"

int64_t audit_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The members every record of the daemon's starts with, type first so that
 * a verifier finds it without a JSON parser. */
static void base_set(struct daemon *d, struct chain_rec *r, const char *type)
{
	char t[32];

	chain_format_time(audit_now_ns(), t);
	chain_rec_set(r, "type", audit_const(type));
	chain_rec_set_text(r, "time", t, strlen(t));
	chain_rec_set_int(r, "mono", mono_ns());
	if (d->boot_json)
		chain_rec_set(r, "boot", d->boot_json);
	if (d->host_json)
		chain_rec_set(r, "host", d->host_json);
}

json_t *audit_base(struct daemon *d, const char *type)
{
	struct chain_rec r = { 0 };
	json_t *rec = chain_rec_begin(&r);

	base_set(d, &r, type);
	return rec;
}

/* The event path is hot: reusing one object spares each record its
 * object, its members' pairs and most of its values. */
struct chain_rec *audit_event_begin(struct daemon *d, const char *type)
{
	chain_rec_begin(&d->event_rec);
	base_set(d, &d->event_rec, type);
	return &d->event_rec;
}

void audit_event_record(struct daemon *d)
{
	audit_record(d, json_incref(chain_rec_end(&d->event_rec)));
}

/* Strings that recur in every record (actions, decisions, errno names)
 * are made once and shared by reference: a record costs fewer
 * allocations. Keyed by the address of a string constant. */
json_t *audit_const(const char *s)
{
	static struct {
		const char *key;
		json_t *val;
	} slot[512];
	size_t i = ((uintptr_t)s >> 3) % 512;

	for (size_t n = 0; n < 512; n++, i = (i + 1) % 512) {
		if (slot[i].key == s)
			return slot[i].val;
		if (!slot[i].key) {
			slot[i].key = s;
			slot[i].val = json_string(s);
			return slot[i].val;
		}
	}
	return json_string(s);
}

void audit_policy_cache(struct daemon *d)
{
	const struct policy *p = d->policy;
	char buf[PATH_MAX + 32];

	for (size_t i = 0; i < d->nrule_json; i++)
		json_decref(d->rule_json[i]);
	free(d->rule_json);
	json_decref(d->policy_json);
	d->policy_json = json_string(p->hash_hex);
	d->rule_json = calloc(p->nrules + 1, sizeof(json_t *));
	d->nrule_json = d->rule_json ? p->nrules + 1 : 0;
	if (!d->rule_json)
		return;
	d->rule_json[0] = json_string("default-deny");
	for (size_t i = 0; i < p->nrules; i++) {
		snprintf(buf, sizeof(buf), "%s:%d", p->rules[i].file, p->rules[i].line);
		d->rule_json[i + 1] = json_string(buf);
	}
}

json_t *audit_rule(struct daemon *d, uint32_t id)
{
	return id < d->nrule_json ? d->rule_json[id] : d->rule_json[0];
}

/* The last record of the chain at path, decoded, or NULL for an empty or
 * unreadable file. The chain was verified when it was opened. */
static json_t *last_record(const char *path)
{
	char buf[CHAIN_RECORD_MAX < 65536 ? CHAIN_RECORD_MAX : 65536];
	struct stat st;
	ssize_t n;
	off_t at;
	char *end, *start;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) || st.st_size < 2) {
		close(fd);
		return NULL;
	}
	at = st.st_size > (off_t)sizeof(buf) ? st.st_size - (off_t)sizeof(buf) : 0;
	n = pread(fd, buf, (size_t)(st.st_size - at), at);
	close(fd);
	if (n < 2 || buf[n - 1] != '\n')
		return NULL;
	end = buf + n - 1;
	for (start = end; start > buf && start[-1] != '\n'; start--)
		;
	return json_loadb(start, (size_t)(end - start), 0, NULL);
}

/* What the chain says of the daemon before this one: its last record, so
 * that a crash (no daemon-stop record) and the time the host went without
 * a daemon both show. Added to the daemon-start record. */
json_t *audit_previous(struct daemon *d)
{
	json_t *last = last_record(chain_path(d->chain)), *prev;
	const char *type = json_string_value(json_object_get(last, "type"));

	/* A log just begun has only its genesis: there was no daemon before. */
	if (!last || (type && !strcmp(type, "genesis"))) {
		json_decref(last);
		return NULL;
	}
	prev = json_pack("{s:O?,s:O?,s:O?,s:b}", "seq", json_object_get(last, "seq"), "type",
			 json_object_get(last, "type"), "time", json_object_get(last, "time"),
			 "clean_stop", !strcmp(json_string_value(json_object_get(last, "type")) ?: "",
					       "daemon-stop"));
	json_decref(last);
	return prev;
}

/* The kernel's id of this boot, so that monotonic times can be compared. */
static void boot_id_read(struct daemon *d)
{
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");

	if (!f || !fgets(d->boot_id, sizeof(d->boot_id), f))
		snprintf(d->boot_id, sizeof(d->boot_id), "unknown");
	if (f)
		fclose(f);
	d->boot_id[strcspn(d->boot_id, "\n")] = 0;
}

/* The signing key lives beside the audit directory, not in it: a copy of
 * the log handed to a verifier must not carry the key. */
static int audit_key_open(struct daemon *d)
{
	char dir[PATH_MAX], path[PATH_MAX + 16], name[300], err[512];

	snprintf(dir, sizeof(dir), "%s/keys", d->state_dir);
	snprintf(path, sizeof(path), "%s/audit.key", dir);
	snprintf(name, sizeof(name), "%s/pinfold-audit", d->hostname[0] ? d->hostname : "localhost");
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		log_error("cannot create '%s': %s", dir, strerror(errno));
		return -1;
	}
	if (chain_key_load_or_create(path, name, &d->audit_key, err, sizeof(err)) < 0) {
		log_error("audit signing key: %s", err);
		return -1;
	}
	return 0;
}

int audit_open(struct daemon *d)
{
	const struct audit_conf *a = &d->policy->conf.audit;
	struct chain_opts o = {
		.host = d->hostname,
		.checkpoint_records = a->checkpoint_records,
		.checkpoint_interval_ms = (uint64_t)a->checkpoint_interval_s * 1000,
		.segment_bytes = a->segment_bytes,
		.retain_segments = a->retain_segments,
		.on_checkpoint = audit_anchor,
		.ctx = d,
	};
	char dir[PATH_MAX], err[512];
	int r;

	boot_id_read(d);
	d->boot_json = json_string(d->boot_id);
	d->host_json = json_string(d->hostname);
	if (audit_key_open(d) < 0)
		return -1;
	o.key = d->audit_key;
	o.boot_id = d->boot_id;
	snprintf(dir, sizeof(dir), "%s/audit", d->state_dir);
	r = chain_open_opts(dir, &o, &d->chain, err, sizeof(err));
	if (r)
		log_error("%s", err);
	return r;
}

void audit_close(struct daemon *d)
{
	int r = chain_close(d->chain);

	if (r < 0)
		log_error("audit log: the final records and checkpoint were not written: %s",
			  strerror(-r));
	d->chain = NULL;
	chain_key_free(d->audit_key);
	d->audit_key = NULL;
	chain_rec_free(&d->event_rec);
	json_decref(d->boot_json);
	json_decref(d->host_json);
	free(d->dropped_cpu_seen);
}

/* A record that cannot be appended is not dropped quietly: it is counted
 * and becomes a loss record once the chain takes records again. */
void audit_record(struct daemon *d, json_t *rec)
{
	int64_t r;

	if (!rec) {
		log_error("cannot build an audit record: out of memory");
		d->append_failures++;
		return;
	}
	r = chain_append(d->chain, rec);
	if (r < 0) {
		if (!d->append_failures++)
			log_error("cannot append audit record: %s", strerror((int)-r));
		if (r != -EINVAL && r != -EMSGSIZE)
			audit_write_failed(d, (int)-r);
	} else {
		d->chain_dirty = true;
	}
	json_decref(rec);
}

int audit_record_durable(struct daemon *d, json_t *rec)
{
	int64_t r = rec ? chain_append_durable(d->chain, rec) : -ENOMEM;

	json_decref(rec);
	if (r < 0) {
		log_error("cannot make an audit record durable: %s", strerror((int)-r));
		d->chain_dirty = true;
		audit_write_failed(d, (int)-r);
		return (int)r;
	}
	d->chain_dirty = false;
	if (d->write_failing)
		audit_write_ok(d);
	return 0;
}

void audit_flush(struct daemon *d, bool sync)
{
	int r;

	if (!d->chain_dirty && !sync && !d->write_failing)
		return;
	r = chain_flush(d->chain, sync || d->write_failing);
	if (r) {
		audit_write_failed(d, -r);
		return;
	}
	if (sync || d->write_failing)
		d->chain_dirty = false;
	if (d->write_failing)
		audit_write_ok(d);
}

void audit_tick(struct daemon *d)
{
	int r = chain_tick(d->chain);

	if (r < 0)
		audit_write_failed(d, -r);
	audit_anchor_reap(d);
}
