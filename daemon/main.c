// SPDX-License-Identifier: GPL-2.0-only
/*
 * pinfoldd: loads pinfold's BPF programs, owns the agent cgroup tree,
 * starts agent sessions for the control socket's clients, turns kernel
 * events into decision records and writes them to the hash chain.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "daemon/pinfoldd.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: pinfoldd [-v] [--config-dir DIR] [--state-dir DIR] [--socket PATH]\n"
		"                [--ringbuf-size BYTES]\n"
		"  --config-dir DIR   configuration (default /etc/pinfold)\n"
		"  --state-dir DIR    audit chain and state (default /var/lib/pinfold)\n"
		"  --socket PATH      control socket (default /run/pinfold/pinfoldd.sock)\n"
		"  --ringbuf-size N   BPF ring buffer size, a power of two (default 16 MiB)\n"
		"  -v, --verbose      log each step\n");
}

static int parse_args(struct daemon *d, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config-dir", required_argument, NULL, 'c' },
		{ "state-dir", required_argument, NULL, 's' },
		{ "socket", required_argument, NULL, 'S' },
		{ "ringbuf-size", required_argument, NULL, 'r' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int o;

	d->config_dir = "/etc/pinfold";
	d->state_dir = "/var/lib/pinfold";
	d->socket_path = "/run/pinfold/pinfoldd.sock";
	while ((o = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (o) {
		case 'c': d->config_dir = optarg; break;
		case 's': d->state_dir = optarg; break;
		case 'S': d->socket_path = optarg; break;
		case 'r': {
			char *end;
			unsigned long v = strtoul(optarg, &end, 0);

			if (*end || v < 4096 || (v & (v - 1)) || v > (1UL << 30)) {
				fprintf(stderr, "pinfoldd: --ringbuf-size '%s': need a power of "
						"two from 4096 to 1 GiB\n", optarg);
				return -1;
			}
			d->ringbuf_bytes = (uint32_t)v;
			break;
		}
		case 'v': d->verbose++; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -1;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return -1;
	}
	log_verbose = d->verbose;
	return 0;
}

static struct policy *load_policy(struct daemon *d)
{
	struct policy *p = NULL;
	struct diag dg = { 0 };

	if (policy_load(d->config_dir, &p, &dg)) {
		/* Messages name files relative to the directory, or give a
		 * path of their own. */
		for (size_t i = 0; i < dg.n; i++)
			log_error("%s%s%s", dg.msgs[i][0] == '/' ? "" : d->config_dir,
				  dg.msgs[i][0] == '/' ? "" : "/", dg.msgs[i]);
		log_error("configuration in '%s' has %zu error(s)", d->config_dir, dg.n);
		p = NULL;
	}
	diag_free(&dg);
	return p;
}

static json_t *policy_record(struct daemon *d, const char *type, const char *why)
{
	json_t *rec = audit_base(d, type);

	json_object_set_new(rec, "config_dir", json_string(d->config_dir));
	if (d->policy)
		json_object_set_new(rec, "policy", json_string(d->policy->hash_hex));
	json_object_set_new(rec, "agents", json_integer(d->policy ? (json_int_t)d->policy->nagents : 0));
	if (why)
		json_object_set_new(rec, "reason", json_string(why));
	/* A running process cannot be given a new Landlock ruleset: its
	 * file and exec rules stay those it started with. */
	if (d->sessions && !strcmp(type, "policy-load")) {
		json_t *kept = json_array();

		for (struct session *s = d->sessions; s; s = s->next)
			json_array_append_new(kept, json_integer((json_int_t)s->id));
		json_object_set_new(rec, "landlock_unchanged", kept);
	}
	return rec;
}

static void record_policy(struct daemon *d, const char *type, const char *why)
{
	audit_record(d, policy_record(d, type, why));
}

static int record_policy_durable(struct daemon *d, const char *type, const char *why)
{
	return audit_record_durable(d, policy_record(d, type, why));
}

/* A configuration with any error is rejected whole; the one in force
 * stays. Running sessions keep their Landlock rules, which a running
 * process cannot change, and get the new network rules and conditions.
 * The identity provider's agents join each policy loaded. */
int daemon_reload_idp(struct daemon *d, const char *cause, json_t *conflicts)
{
	struct policy *p = load_policy(d), *old = d->policy;
	json_t *invalid;

	if (!p) {
		record_policy(d, "policy-rejected", "configuration has errors, see the log");
		audit_flush(d, true);
		return -1;
	}
	invalid = idp_merge(d, p, conflicts);
	/* The kernel's network entries are per session (session_perm.c),
	 * rewritten for each running session below. */
	d->policy = p;
	/* Acknowledged (applied to sessions, logged) only once its record is
	 * durable; otherwise the configuration in force stays. */
	if (record_policy_durable(d, "policy-load", cause) < 0) {
		d->policy = old;
		policy_free(p);
		json_decref(invalid);
		log_error("configuration not reloaded: its policy-load record is not durable");
		return -1;
	}
	policy_free(old);
	json_decref(d->idp_invalid);
	d->idp_invalid = invalid;
	audit_policy_cache(d);
	for (struct session *s = d->sessions; s; s = s->next) {
		const struct agent *a = policy_agent(p, s->agent);

		s->agent_id = a ? a->id : 0;
		session_reevaluate(d, s, "reload");
	}
	lifecycle_check(d);
	log_info("configuration reloaded (%s), policy %.12s", cause, p->hash_hex);
	return 0;
}

int daemon_reload(struct daemon *d, const char *cause)
{
	return daemon_reload_idp(d, cause, NULL);
}

static int setup_signals(struct daemon *d)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		return -errno;
	signal(SIGPIPE, SIG_IGN);
	d->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	return d->sigfd < 0 ? -errno : 0;
}

int epoll_add(struct daemon *d, int fd, enum ev_tag tag, uint32_t events)
{
	struct epoll_event ev = {
		.events = events,
		.data.u64 = ((uint64_t)tag << 32) | (uint32_t)fd,
	};

	return epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

/* A torn last record the chain set aside when it was opened: what, and
 * where it went, so that the bytes stay accounted for. */
static void record_recovery(struct daemon *d)
{
	struct chain_recovery q;
	json_t *rec;

	for (int i = 0; chain_recovery_at(d->chain, i, &q) == 0; i++) {
	log_warn("'%s': a torn last record (%llu bytes at offset %llu) was moved to '%s'",
		 chain_path(d->chain), (unsigned long long)q.length,
		 (unsigned long long)q.offset, q.quarantine);
	rec = audit_base(d, "recovery");
	json_object_set_new(rec, "offset", json_integer((json_int_t)q.offset));
	json_object_set_new(rec, "length", json_integer((json_int_t)q.length));
	json_object_set_new(rec, "sha256", json_string(q.sha256));
	json_object_set_new(rec, "quarantine", json_string(q.quarantine));
	json_object_set_new(rec, "file", json_string(q.file));
	audit_record(d, rec);
	}
}

/* The time no daemon was recording, from the previous one's last record to
 * now: whatever agents did then is not in the chain, and this says so. */
static void record_downtime(struct daemon *d, json_t *prev)
{
	json_t *rec = audit_base(d, "loss");
	char now[32];

	chain_format_time(audit_now_ns(), now);
	json_object_set_new(rec, "reason", json_string("daemon not running: events of the "
						       "window are not recorded"));
	json_object_set(rec, "from", json_object_get(prev, "time"));
	json_object_set_new(rec, "until", json_string(now));
	json_object_set(rec, "clean_stop", json_object_get(prev, "clean_stop"));
	audit_record(d, rec);
}

static void record_start(struct daemon *d)
{
	json_t *rec = audit_base(d, "daemon-start"), *prev = audit_previous(d);

	json_object_set_new(rec, "host", json_string(d->hostname));
	json_object_set_new(rec, "pid", json_integer(getpid()));
	json_object_set_new(rec, "version", json_string(PINFOLD_VERSION));
	json_object_set_new(rec, "policy", json_string(d->policy->hash_hex));
	json_object_set_new(rec, "landlock_abi", json_integer(d->landlock_abi));
	if (prev) {
		if (!json_is_true(json_object_get(prev, "clean_stop")))
			log_warn("the previous daemon did not stop cleanly: its last record is "
				 "seq %lld", (long long)json_integer_value(json_object_get(prev, "seq")));
		json_object_set_new(rec, "previous", json_incref(prev));
	}
	audit_record(d, rec);
	record_recovery(d);
	approval_recover(d);
	if (prev)
		record_downtime(d, prev);
	json_decref(prev);
	record_policy(d, "policy-load", "start");
	audit_flush(d, true);
}

/* The provider's agents join the policy once the chain can take the
 * records of any conflict. */
static void merge_idp_at_start(struct daemon *d)
{
	d->idp_invalid = idp_merge(d, d->policy, NULL);
	audit_flush(d, true);
}

static int check_layers(struct daemon *d)
{
	d->landlock_abi = landlock_probe_abi();
	if (d->landlock_abi < 1) {
		log_error("Landlock is not available (%s): file and exec restrictions cannot "
			  "be enforced, refusing to start", strerror(-d->landlock_abi));
		return -1;
	}
	if (d->landlock_abi < 3)
		log_warn("Landlock ABI %d: truncate is not restricted on this kernel",
			 d->landlock_abi);
	if (d->landlock_abi < 6)
		log_warn("Landlock ABI %d: agents may signal processes of their uid outside "
			 "their session and reach abstract unix sockets made outside it",
			 d->landlock_abi);
	log_debug("Landlock ABI %d", d->landlock_abi);
	return 0;
}

static int setup(struct daemon *d)
{
	if (geteuid() != 0) {
		log_error("must run as root (it loads BPF programs and manages cgroups)");
		return -1;
	}
	gethostname(d->hostname, sizeof(d->hostname) - 1);
	d->policy = load_policy(d);
	if (!d->policy)
		return -1;
	audit_policy_cache(d);
	/* 0755: agents reach their default workspaces beneath it; the audit
	 * directory inside is 0700. */
	if (mkdir(d->state_dir, 0755) && errno != EEXIST) {
		log_error("cannot create state directory '%s': %s", d->state_dir, strerror(errno));
		return -1;
	}
	if (idp_setup(d))
		return -1;
	if (check_layers(d) || notify_setup(d) || audit_open(d) || cgroup_setup_root(d) ||
	    bpf_setup(d) || control_listen(d) || setup_signals(d))
		return -1;

	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (d->epfd < 0 || epoll_add(d, d->listen_fd, TAG_LISTEN, EPOLLIN) ||
	    epoll_add(d, d->sigfd, TAG_SIGNAL, EPOLLIN) ||
	    epoll_add(d, bpf_ring_fd(d), TAG_RING, EPOLLIN) || lifecycle_setup(d))
		return -1;
	record_start(d);
	merge_idp_at_start(d);
	lifecycle_check(d);
	log_debug("ready: %zu agent(s), policy %.12s, socket '%s'", d->policy->nagents,
		 d->policy->hash_hex, d->socket_path);
	return 0;
}

static void on_signal(struct daemon *d)
{
	struct signalfd_siginfo si;

	while (read(d->sigfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
			d->stopping = true;
		else if (si.ssi_signo == SIGHUP)
			daemon_reload(d, "reload");
		else if (si.ssi_signo == SIGCHLD)
			for (struct session *s = d->sessions; s; s = s->next)
				if (s->pidfd >= 0)
					session_reap(d, s);
	}
}

static void dispatch(struct daemon *d, struct epoll_event *ev)
{
	int tag = ev->data.u64 >> 32, fd = (int)(uint32_t)ev->data.u64;
	struct session *s;

	switch (tag) {
	case TAG_LISTEN: control_accept(d); break;
	case TAG_SIGNAL: on_signal(d); break;
	case TAG_RING: bpf_consume(d); break;
	case TAG_PIDFD:
		s = session_find_pidfd(d, fd);
		if (s)
			session_reap(d, s);
		break;
	case TAG_CLIENT: control_client(d, fd, ev->events); break;
	case TAG_TIMER: lifecycle_timer(d); break;
	case TAG_SYNC: idp_fetch_done(d); break;
	case TAG_NOTIFY:
		s = session_find_notify(d, fd);
		if (s)
			notify_ready(d, s, ev->events);
		break;
	case TAG_HOOK: approval_hook_done(d, fd); break;
	case TAG_PAM:
		s = session_find_restrict(d, fd);
		if (s)
			pam_restrict_ready(d, s);
		break;
	}
}

int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Group commit: records are written after each batch and made durable at
 * most fsync_interval_ms later. Events wait in the ring buffer between
 * polls unless the kernel side forced a wakeup. */
static void run(struct daemon *d)
{
	int64_t last_sync = mono_ms(), last_loss = last_sync, last_sweep = last_sync;
	struct epoll_event evs[64];

	while (!d->stopping) {
		int interval = (int)d->policy->conf.fsync_interval_ms;
		int timeout = d->sessions || d->chain_dirty ? interval : 1000;
		int n = epoll_wait(d->epfd, evs, 64, timeout);
		int64_t now;

		for (int i = 0; i < n; i++)
			dispatch(d, &evs[i]);
		bpf_consume(d);
		now = mono_ms();
		if (now - last_loss >= 1000) {
			events_check_loss(d);
			last_loss = now;
		}
		if (now - last_sweep >= 10000) {
			cgroup_sweep(d, false);
			last_sweep = now;
		}
		approval_tick(d);
		if (d->chain_dirty || d->write_failing)
			audit_flush(d, now - last_sync >= interval);
		audit_tick(d);
		if (now - last_sync >= interval)
			last_sync = now;
		session_tick(d);
		control_tick(d);
	}
}

static void shutdown_daemon(struct daemon *d)
{
	json_t *rec;

	approval_stop_all(d);
	session_stop_all(d);
	for (int i = 0; i < 50 && d->sessions; i++) {
		usleep(100 * 1000);
		for (struct session *s = d->sessions; s; s = s->next)
			if (s->pidfd >= 0)
				session_reap(d, s);
		session_tick(d);
	}
	bpf_consume(d);
	events_check_loss(d);
	rec = audit_base(d, "daemon-stop");
	json_object_set_new(rec, "pid", json_integer(getpid()));
	audit_record(d, rec);
	audit_close(d);
	bpf_teardown(d);
	cgroup_teardown_root(d);
	unlink(d->socket_path);
	lifecycle_free(d);
	idp_free(d);
	policy_free(d->policy);
}

int main(int argc, char **argv)
{
	struct daemon d = { .listen_fd = -1, .epfd = -1, .sigfd = -1, .cgroot_fd = -1,
			     .timer_fd = -1 };

	if (parse_args(&d, argc, argv))
		return 2;
	if (setup(&d)) {
		if (d.skel)
			bpf_teardown(&d);
		if (d.cgroot_fd >= 0)
			cgroup_teardown_root(&d);
		if (d.chain)
			audit_close(&d);
		return 1;
	}
	run(&d);
	shutdown_daemon(&d);
	log_debug("stopped");
	return 0;
}
