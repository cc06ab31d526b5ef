// SPDX-License-Identifier: GPL-2.0-only
/*
 * When the audit log cannot be written (a full disk, an I/O error), what
 * agents do meanwhile would go unrecorded. on_write_error in pinfoldd.conf
 * says what happens: freeze every agent session (the default, failing
 * closed), refuse new sessions, or go on and count what is lost. The
 * action and its end are records of their own: they sit in the write
 * buffer until the disk takes them.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "daemon/pinfoldd.h"

static const char *action_name(enum write_error_action a)
{
	return a == WRITE_ERROR_FREEZE ? "freeze" : a == WRITE_ERROR_DENY ? "deny" : "count";
}

/* cgroup.freeze of <cg2>/pinfold freezes every session beneath it. */
static int freeze_all(struct daemon *d, bool on)
{
	int fd = openat(d->cgroot_fd, "cgroup.freeze", O_WRONLY | O_CLOEXEC);
	int rc = 0;

	if (fd < 0 || write(fd, on ? "1" : "0", 1) != 1)
		rc = -errno;
	if (fd >= 0)
		close(fd);
	if (rc)
		log_error("cannot %s the agent sessions: %s", on ? "freeze" : "thaw",
			  strerror(-rc));
	return rc;
}

/* The record of the action, with the time it began: "at". */
static json_t *error_record(struct daemon *d, int frozen)
{
	json_t *rec = audit_base(d, "audit-write-error");
	char at[32];

	chain_format_time(d->write_fail_ns, at);
	json_object_set_new(rec, "at", json_string(at));
	json_object_set_new(rec, "error", json_string(strerrorname_np(d->write_errno) ?: "error"));
	json_object_set_new(rec, "action",
			    json_string(action_name(d->policy->conf.audit.on_write_error)));
	if (frozen)
		json_object_set_new(rec, "freeze_failed", json_string(strerror(-frozen)));
	return rec;
}

void audit_write_failed(struct daemon *d, int err)
{
	enum write_error_action a = d->policy->conf.audit.on_write_error;
	json_t *rec;
	int frozen = 0;

	if (d->write_failing)
		return;
	d->write_failing = true;
	d->write_errno = err;
	d->write_fail_ns = audit_now_ns();
	if (a == WRITE_ERROR_FREEZE)
		frozen = freeze_all(d, true);
	log_error("cannot write the audit log '%s': %s; on_write_error=%s: %s",
		  chain_path(d->chain), strerror(err), action_name(a),
		  a == WRITE_ERROR_FREEZE ? "every agent session is frozen until it can"
		  : a == WRITE_ERROR_DENY ? "new sessions are refused until it can"
					  : "going on, and counting what is lost");
	/* Into the buffer, not the disk: it goes out with the first write
	 * that works. A buffer too full to take it gets it then. */
	rec = error_record(d, frozen);
	d->write_error_pending = chain_append(d->chain, rec) < 0;
	json_decref(rec);
}

void audit_write_ok(struct daemon *d)
{
	enum write_error_action a = d->policy->conf.audit.on_write_error;
	int64_t now = audit_now_ns();
	json_t *rec;

	if (!d->write_failing)
		return;
	d->write_failing = false;
	if (d->write_error_pending)
		audit_record(d, error_record(d, 0));
	d->write_error_pending = false;
	if (a == WRITE_ERROR_FREEZE)
		freeze_all(d, false);
	log_warn("the audit log can be written again after %.1f s; on_write_error=%s ended",
		 (double)(now - d->write_fail_ns) / 1e9, action_name(a));
	rec = audit_base(d, "audit-write-recovered");
	json_object_set_new(rec, "error", json_string(strerrorname_np(d->write_errno) ?: "error"));
	json_object_set_new(rec, "action", json_string(action_name(a)));
	json_object_set_new(rec, "seconds", json_real((double)(now - d->write_fail_ns) / 1e9));
	audit_record(d, rec);
	audit_flush(d, true);
}

bool audit_refuses_sessions(struct daemon *d, char *err, size_t errlen)
{
	if (!d->write_failing || d->policy->conf.audit.on_write_error == WRITE_ERROR_COUNT)
		return false;
	snprintf(err, errlen, "the audit log cannot be written (%s): no new sessions until it can",
		 strerror(d->write_errno));
	return true;
}
