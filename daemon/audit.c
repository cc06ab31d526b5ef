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

json_t *audit_base(struct daemon *d, const char *type)
{
	json_t *rec = json_object();
	char t[32];

	(void)d;
	chain_format_time(audit_now_ns(), t);
	json_object_set_new_nocheck(rec, "time", json_string(t));
	json_object_set_nocheck(rec, "type", audit_const(type));
	return rec;
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

	if (!last)
		return NULL;
	prev = json_pack("{s:O?,s:O?,s:O?,s:b}", "seq", json_object_get(last, "seq"), "type",
			 json_object_get(last, "type"), "time", json_object_get(last, "time"),
			 "clean_stop", !strcmp(json_string_value(json_object_get(last, "type")) ?: "",
					       "daemon-stop"));
	json_decref(last);
	return prev;
}

int audit_open(struct daemon *d)
{
	char dir[PATH_MAX], err[512];
	int r;

	snprintf(dir, sizeof(dir), "%s/audit", d->state_dir);
	r = chain_open(dir, &d->chain, err, sizeof(err));
	if (r)
		log_error("%s", err);
	return r;
}

/* A record that cannot be appended is not dropped quietly: the daemon says
 * so. Durable storage of every record is the chain's job; this only
 * reports. */
void audit_record(struct daemon *d, json_t *rec)
{
	int64_t r;

	if (!rec) {
		log_error("cannot build an audit record: out of memory");
		return;
	}
	r = chain_append(d->chain, rec);
	if (r < 0) {
		/* Counted, and written as a loss record once the chain takes
		 * records again. */
		if (!d->append_failures++)
			log_error("cannot append audit record: %s", strerror((int)-r));
	} else
		d->chain_dirty = true;
	json_decref(rec);
}

void audit_flush(struct daemon *d, bool sync)
{
	int r;

	if (!d->chain_dirty && !sync)
		return;
	r = chain_flush(d->chain, sync);
	if (r)
		log_error("cannot write '%s': %s", chain_path(d->chain), strerror(-r));
	else if (sync)
		d->chain_dirty = false;
}
