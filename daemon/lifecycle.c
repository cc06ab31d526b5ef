// SPDX-License-Identifier: GPL-2.0-only
/*
 * The lifecycle of agent identities in the daemon: whether an agent may
 * run now (active, disabled, expired), cutting off every session of an
 * agent that stops being active, and the one timer that wakes the daemon
 * at the next moment that changes anything (an expiry, an identity
 * provider sync, the limit on a sync's age).
 *
 * The timer is a CLOCK_REALTIME timerfd armed at an absolute time, so no
 * event or loop pays for a clock check, and a change of the wall clock
 * cancels it (TFD_TIMER_CANCEL_ON_SET), which makes the daemon look again.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "daemon/pinfoldd.h"

static int64_t now_s(void)
{
	return audit_now_ns() / 1000000000;
}

const char *agent_status(struct daemon *d, const struct agent *a, int64_t now)
{
	char err[8];

	if (!a->enabled || idp_refusal(d, a, err, sizeof(err)))
		return "disabled";
	if (a->has_expires && a->expires <= now)
		return "expired";
	return "active";
}

void format_utc(int64_t sec, char buf[32])
{
	time_t t = (time_t)sec;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int agent_may_run(struct daemon *d, const struct agent *a, char *err, size_t errlen)
{
	char when[32];

	if (!a->enabled) {
		snprintf(err, errlen, "agent '%s' is disabled (%s)", a->name, a->file);
		return -1;
	}
	if (idp_refusal(d, a, err, errlen))
		return -1;
	if (a->has_expires && a->expires <= now_s()) {
		format_utc(a->expires, when);
		snprintf(err, errlen, "agent '%s' expired at %s (%s)", a->name, when, a->file);
		return -1;
	}
	return 0;
}

void record_run_refused(struct daemon *d, const char *agent, uid_t by, const char *why)
{
	json_t *rec = audit_base(d, "run-refused");

	json_object_set_new(rec, "agent", json_string(agent ? agent : ""));
	json_object_set_new(rec, "dispatcher_uid", json_integer(by));
	json_object_set_new(rec, "reason", json_string(why));
	audit_record(d, rec);
	audit_flush(d, true);
}

json_t *agent_cut_off(struct daemon *d, const char *agent, const char *why)
{
	json_t *ids = json_array();

	for (struct session *s = d->sessions; s; s = s->next) {
		if (strcmp(s->agent, agent) || s->ending)
			continue;
		session_kill(d, s, why);
		json_array_append_new(ids, json_integer((json_int_t)s->id));
	}
	return ids;
}

static bool expiry_noted(struct daemon *d, const char *name)
{
	for (size_t i = 0; i < d->nexpired; i++)
		if (!strcmp(d->expired[i], name))
			return true;
	return false;
}

static void note_expiry(struct daemon *d, const char *name)
{
	char **grown = realloc(d->expired, (d->nexpired + 1) * sizeof(*grown));

	if (!grown)
		return;
	d->expired = grown;
	d->expired[d->nexpired] = strdup(name);
	if (d->expired[d->nexpired])
		d->nexpired++;
}

/* Forget agents that are no longer expired (their expires moved on) or
 * no longer there, so that a later expiry is recorded again. */
static void prune_expiries(struct daemon *d, int64_t now)
{
	size_t k = 0;

	for (size_t i = 0; i < d->nexpired; i++) {
		const struct agent *a = policy_agent(d->policy, d->expired[i]);

		if (a && a->has_expires && a->expires <= now)
			d->expired[k++] = d->expired[i];
		else
			free(d->expired[i]);
	}
	d->nexpired = k;
}

static void record_expiry(struct daemon *d, const struct agent *a, json_t *ids)
{
	json_t *rec = audit_base(d, "agent-expired");
	char when[32];

	format_utc(a->expires, when);
	json_object_set_new(rec, "agent", json_string(a->name));
	json_object_set_new(rec, "expires", json_string(when));
	json_object_set_new(rec, "sessions", ids);
	audit_record(d, rec);
	log_info("agent '%s' expired at %s: %zu session(s) killed", a->name, when,
		 json_array_size(ids));
}

/* Each agent's expiry is recorded once, when the daemon first sees it
 * past (at start, at a reload, or when the timer fires). */
static void check_expiries(struct daemon *d, int64_t now)
{
	prune_expiries(d, now);
	for (size_t i = 0; i < d->policy->nagents; i++) {
		const struct agent *a = &d->policy->agents[i];

		if (!a->has_expires || a->expires > now || expiry_noted(d, a->name))
			continue;
		note_expiry(d, a->name);
		record_expiry(d, a, agent_cut_off(d, a->name, "agent expired"));
	}
}

static int64_t next_expiry(struct daemon *d, int64_t now)
{
	int64_t next = 0;

	for (size_t i = 0; i < d->policy->nagents; i++) {
		const struct agent *a = &d->policy->agents[i];

		if (a->has_expires && a->expires > now && (!next || a->expires < next))
			next = a->expires;
	}
	return next;
}

static void arm(struct daemon *d, int64_t now)
{
	int64_t next = next_expiry(d, now), idp = idp_next_deadline(d, now);
	struct itimerspec it = { 0 };

	if (idp && (!next || idp < next))
		next = idp;
	it.it_value.tv_sec = (time_t)next;
	/* 0 disarms, which is right when nothing is due. */
	if (timerfd_settime(d->timer_fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &it, NULL))
		log_error("cannot arm the lifecycle timer for %lld: %s", (long long)next,
			  strerror(errno));
}

void lifecycle_check(struct daemon *d)
{
	int64_t now = now_s();

	check_expiries(d, now);
	idp_check_deadlines(d, now);
	audit_flush(d, true);
	arm(d, now);
}

int lifecycle_setup(struct daemon *d)
{
	d->timer_fd = timerfd_create(CLOCK_REALTIME, TFD_CLOEXEC | TFD_NONBLOCK);
	if (d->timer_fd < 0) {
		log_error("cannot create the lifecycle timer: %s", strerror(errno));
		return -errno;
	}
	return epoll_add(d, d->timer_fd, TAG_TIMER, EPOLLIN);
}

void lifecycle_timer(struct daemon *d)
{
	uint64_t n;

	/* ECANCELED: the wall clock was set; looking again is the answer. */
	if (read(d->timer_fd, &n, sizeof(n)) < 0 && errno != ECANCELED && errno != EAGAIN)
		log_warn("lifecycle timer: %s", strerror(errno));
	lifecycle_check(d);
}

void lifecycle_free(struct daemon *d)
{
	for (size_t i = 0; i < d->nexpired; i++)
		free(d->expired[i]);
	free(d->expired);
	d->expired = NULL;
	d->nexpired = 0;
	if (d->timer_fd >= 0)
		close(d->timer_fd);
	d->timer_fd = -1;
}
