// SPDX-License-Identifier: GPL-2.0-only
/*
 * From kernel events to decision records.
 *
 * Member names are string literals, so they are set with jansson's
 * _nocheck calls (through chain_rec), which skip re-validating their UTF-8
 * on every record; values are always checked. Each event's record is built
 * in the one record object kept from event to event (audit_event_begin):
 * an event shaped like the one before costs no object, no member pair and
 * no new integer.
 *
 * The kernel has already enforced each action (Landlock for files and
 * exec, the cgroup programs for connect) by the time its event arrives;
 * this code names the rule behind the outcome and writes it to the chain.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include <seccomp.h>

#include "daemon/pinfoldd.h"

static const char *errno_name(int ret)
{
	const char *n;

	if (ret >= 0)
		return "ok";
	n = strerrorname_np(-ret);
	return n ? n : "error";
}

/*
 * The path the kernel acted on. dir[] holds path components from the
 * kernel's dentries, last first (see bpf/events.h): with EV_F_RESOLVED they
 * are the file itself, with EV_F_BASE the directory a relative path began
 * in. Returns NULL when the path cannot be known (relative, and the kernel
 * gave no base), and then the decision rests on the kernel's outcome.
 */
static const char *resolved_path(const char *path, const char *dir, size_t dlen,
				 uint16_t flags, char *out, size_t outlen)
{
	size_t o = 0;
	const char *end = dir + dlen;

	if (!(flags & (EV_F_RESOLVED | EV_F_BASE)))
		return path[0] == '/' ? path : NULL;
	if (flags & EV_F_DIR_TRUNC)
		return NULL;

	/* Components come last first: place each before the ones after it by
	 * writing from the end of a scratch buffer. */
	char tmp[PATH_MAX];
	size_t t = sizeof(tmp);

	tmp[--t] = 0;
	while (dir < end) {
		size_t n = strnlen(dir, end - dir);

		if (n + 1 > t)
			return NULL;
		t -= n;
		memcpy(tmp + t, dir, n);
		tmp[--t] = '/';
		dir += n + 1;
	}
	if (t == sizeof(tmp) - 1)
		tmp[--t] = '/';
	o = snprintf(out, outlen, "%s", tmp + t);
	/* An empty path (execveat with AT_EMPTY_PATH) is the base itself. */
	if ((flags & EV_F_BASE) && path[0] != '/' && path[0])
		o = snprintf(out, outlen, "%s/%s", tmp + t, path);
	return o < outlen ? out : NULL;
}

/* Names are bytes, not text: one that is not valid UTF-8 is kept whole as
 * hex beside a readable version, never altered or dropped. */
static void set_name(struct chain_rec *r, const char *key, const char *name)
{
	char hexkey[64];

	if (chain_rec_set_string(r, key, name))
		return;
	size_t n = strlen(name);
	char *hex = malloc(n * 2 + 1), *lossy = malloc(n + 1);

	if (!hex || !lossy) {
		free(hex);
		free(lossy);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		sprintf(hex + i * 2, "%02x", (unsigned char)name[i]);
		lossy[i] = (unsigned char)name[i] < 0x80 ? name[i] : '?';
	}
	lossy[n] = 0;
	chain_rec_set_new(r, key, json_string(lossy));
	snprintf(hexkey, sizeof(hexkey), "%s_hex", key);
	chain_rec_set_new(r, hexkey, json_string(hex));
	free(hex);
	free(lossy);
}

static struct chain_rec *decision_base(struct daemon *d, struct session *s,
				       const struct ev_hdr *h, const char *action)
{
	struct chain_rec *r = audit_event_begin(d, "decision");

	chain_rec_set_int(r, "session", (json_int_t)s->id);
	chain_rec_set(r, "agent", s->agent_json);
	chain_rec_set_int(r, "pid", h->pid);
	chain_rec_set_int(r, "uid", h->uid);
	chain_rec_set(r, "action", audit_const(action));
	return r;
}

/*
 * Outcome, decision and rule of a file or exec action. A refusal by the
 * kernel is a denial even when the path as written falls under a grant (a
 * symlink or bind mount led elsewhere, or Unix permissions refused); an
 * action the kernel let through was inside a grant once resolved. Any
 * other failure (ENOENT, say) was not a decision of the kernel's, and the
 * policy's answer for the path stands.
 */
static bool set_outcome(struct daemon *d, struct chain_rec *r, int ret, bool granted,
			uint32_t rule)
{
	bool refused = ret == -EACCES || ret == -EPERM;
	bool deny = refused || (ret < 0 && !granted);
	const char *why = NULL;

	if (refused && granted)
		why = "kernel: resolved path or permissions outside the grant";
	else if (ret >= 0 && !granted)
		why = "kernel: resolved path inside a grant";
	chain_rec_set(r, "outcome", audit_const(errno_name(ret)));
	chain_rec_set(r, "decision", audit_const(deny ? "deny" : "allow"));
	chain_rec_set(r, "rule", why ? audit_const(why) : audit_rule(d, rule));
	return deny;
}

/*
 * Where an absolute path leads now: its longest prefix that exists,
 * resolved by realpath(3), with the rest appended as written. A failed
 * open (ENOENT, say) comes with no path resolved by the kernel, and read
 * lexically a path can mean another place than the kernel walks to: on
 * Debian "/lib/x86_64-linux-gnu/../lib/x" is /usr/lib/lib/x, not
 * /lib/lib/x. Only the explanation of an action that already failed
 * rests on this, never an allow.
 */
static const char *physical_path(const char *path, char *out, size_t outlen)
{
	char head[PATH_MAX], real[PATH_MAX];
	size_t cut = strlen(path);
	int n;

	if (path[0] != '/' || cut >= sizeof(head))
		return NULL;
	memcpy(head, path, cut + 1);
	while (!realpath(cut ? head : "/", real)) {
		if (cut == 0)
			return NULL;
		while (cut > 0 && head[--cut] != '/')
			;
		head[cut] = 0;
	}
	/* path + cut is empty or starts with '/'. */
	n = snprintf(out, outlen, "%s%s", strcmp(real, "/") || !path[cut] ? real : "",
		     path + cut);
	return n >= 0 && (size_t)n < outlen ? out : NULL;
}

/* A denial's explanation: the rule and the layer that refused, as pinfold
 * policy explain gives them. Allows name their grant and need none. */
static void set_layer(struct daemon *d, struct session *s, struct chain_rec *r,
		      const char *path, unsigned access)
{
	struct verdict v;

	if (!path || !session_explain_path(d, s, path, access, &v) || v.allow)
		return;
	chain_rec_set(r, "layer", audit_const(layer_name(v.layer)));
	if (v.rule)
		chain_rec_set(r, "rule", audit_rule(d, v.rule));
}

/* The rule named is the grant that covers the resolved path, if any. */
static void record_path_decision(struct daemon *d, struct session *s, const struct ev_hdr *h,
				 const char *action, const char *path, const char *abs,
				 unsigned access, const char *access_name)
{
	uint32_t rule = 0;
	char phys[PATH_MAX];
	bool granted = abs && grants_check_path(s->grants, abs, access, &rule);
	struct chain_rec *r = decision_base(d, s, h, action);

	/* Only a denial is looked at again, so that the common miss inside a
	 * grant (a header search path, say) costs no system call; a path that
	 * reads as granted but leads elsewhere is judged as written. */
	if (!granted && abs && h->ret < 0 && h->ret != -EACCES && h->ret != -EPERM &&
	    !(h->flags & EV_F_RESOLVED) && physical_path(abs, phys, sizeof(phys)) &&
	    grants_check_path(s->grants, phys, access, &rule)) {
		granted = true;
		abs = phys;
	}

	set_name(r, "object", path);
	if (abs && strcmp(abs, path))
		set_name(r, "resolved", abs);
	if (access_name)
		chain_rec_set(r, "access", audit_const(access_name));
	if (set_outcome(d, r, h->ret, granted, rule)) {
		s->denials++;
		if (!granted)
			set_layer(d, s, r, abs, access);
	}
	if (h->flags & EV_F_TRUNCATED)
		chain_rec_set_new(r, "truncated", json_true());
	chain_rec_set(r, "policy", d->policy_json);
	audit_event_record(d);
}

static void handle_open(struct daemon *d, struct session *s, const struct ev_open *e)
{
	unsigned acc = 0;
	const char *name, *abs;
	int mode = e->flags & O_ACCMODE;
	char buf[PATH_MAX];

	if (e->flags & O_PATH) {
		name = "path";
	} else if (mode == O_RDWR) {
		acc = ACC_READ | ACC_WRITE;
		name = "read-write";
	} else if (mode == O_WRONLY || (e->flags & (O_CREAT | O_TRUNC))) {
		acc = ACC_WRITE | (mode == O_RDONLY ? ACC_READ : 0);
		name = mode == O_RDONLY ? "read-write" : "write";
	} else {
		acc = ACC_READ;
		name = "read";
	}
	abs = resolved_path(e->data, e->data + e->path_len, e->dir_len, e->h.flags, buf,
			    sizeof(buf));
	record_path_decision(d, s, &e->h, "open", e->data, abs, acc, name);
}

static json_t *args_json(const char *p, size_t len)
{
	json_t *a = json_array();
	size_t i = 0;

	while (i < len) {
		size_t n = strnlen(p + i, len - i);

		json_t *v = json_stringn(p + i, n);

		/* An argument that is not UTF-8 is kept as hex. */
		if (!v) {
			char hex[2 * EV_ARGS_MAX + 1];

			for (size_t k = 0; k < n && k < EV_ARGS_MAX; k++)
				sprintf(hex + 2 * k, "%02x", (unsigned char)p[i + k]);
			hex[2 * (n < EV_ARGS_MAX ? n : EV_ARGS_MAX)] = 0;
			v = json_pack("{s:s}", "hex", hex);
		}
		json_array_append_new(a, v);
		i += n + 1;
	}
	return a;
}

/* An exec the approval of which was refused fails with EACCES like one
 * Landlock refuses; the record names the request instead. */
static void note_approval_refusal(struct chain_rec *r, struct session *s,
				  const struct ev_exec *e)
{
	char why[64];

	if (e->h.ret != -EACCES || !s->denied_exec || strcmp(s->denied_exec, e->data))
		return;
	snprintf(why, sizeof(why), "approval: request %llu not approved",
		 (unsigned long long)s->denied_request);
	chain_rec_set_new(r, "rule", json_string(why));
	free(s->denied_exec);
	s->denied_exec = NULL;
}

static void handle_exec(struct daemon *d, struct session *s, const struct ev_exec *e,
			size_t avail)
{
	size_t dlen = e->dir_len, args_at = (size_t)e->path_len + dlen;
	char buf[PATH_MAX];
	const char *abs = args_at <= avail ? resolved_path(e->data, e->data + e->path_len, dlen,
							   e->h.flags, buf, sizeof(buf))
					   : NULL;

	/* A program file is never the root directory: the kernel named no
	 * path (a memory file). */
	if (abs && !strcmp(abs, "/"))
		abs = NULL;
	uint32_t rule = 0;
	bool granted = abs && grants_check_path(s->grants, abs, ACC_EXEC, &rule);
	struct chain_rec *r = decision_base(d, s, &e->h, "exec");

	set_name(r, "object", e->data);
	if (abs && strcmp(abs, e->data))
		set_name(r, "resolved", abs);
	if (e->args_len && args_at < avail)
		chain_rec_set_new(r, "args",
				  args_json(e->data + args_at,
					    e->args_len < avail - args_at ? e->args_len
									  : avail - args_at));
	if (e->ppid)
		chain_rec_set_int(r, "ppid", e->ppid);
	if (e->h.flags & EV_F_UNAPPROVED) {
		/* The kernel started a program held for approval that no
		 * approver let through (a path changed after it was asked
		 * about, a racing thread): the exec never ran, and the
		 * session that tried it ends. */
		chain_rec_set(r, "outcome", audit_const("killed"));
		chain_rec_set(r, "decision", audit_const("deny"));
		chain_rec_set(r, "rule", audit_const(
			"kernel: a program held for approval, not approved"));
		s->denials++;
		session_end(d, s, "exec of a program held for approval, not approved");
	} else if (e->h.flags & EV_F_KILLED) {
		/* Landlock let it start (the loader is executable, a memory
		 * file has no path); the kernel side killed it before it ran. */
		chain_rec_set(r, "outcome", audit_const("killed"));
		chain_rec_set(r, "decision", audit_const("deny"));
		chain_rec_set(r, "rule", audit_const(
			"kernel: a memory file or the dynamic loader run as a program"));
		s->denials++;
	} else if (set_outcome(d, r, e->h.ret, granted, rule)) {
		s->denials++;
		note_approval_refusal(r, s, e);
		if (!granted)
			set_layer(d, s, r, abs, ACC_EXEC);
	}
	if (e->h.flags & EV_F_TRUNCATED)
		chain_rec_set_new(r, "truncated", json_true());
	chain_rec_set(r, "policy", d->policy_json);
	audit_event_record(d);
}

void format_addr6(const uint8_t addr[16], uint16_t port, char *buf, size_t len)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	char a[INET6_ADDRSTRLEN];

	if (!memcmp(addr, mapped, 12)) {
		inet_ntop(AF_INET, addr + 12, a, sizeof(a));
		snprintf(buf, len, "%s:%u", a, port);
	} else {
		inet_ntop(AF_INET6, addr, a, sizeof(a));
		snprintf(buf, len, "[%s]:%u", a, port);
	}
}

/* The kernel side decided a connect or send itself; the record says how,
 * and for a denial explained (v), which rule and layer refused. */
static void record_verdict(struct daemon *d, struct session *s, struct chain_rec *r,
			   bool denied, uint32_t rule, const struct verdict *v)
{
	chain_rec_set(r, "outcome", audit_const(denied ? "EPERM" : "ok"));
	chain_rec_set(r, "decision", audit_const(denied ? "deny" : "allow"));
	chain_rec_set(r, "rule", audit_rule(d, denied ? (v ? v->rule : 0) : rule));
	if (v)
		chain_rec_set(r, "layer", audit_const(layer_name(v->layer)));
	chain_rec_set(r, "policy", d->policy_json);
	if (denied)
		s->denials++;
	audit_event_record(d);
}

static void handle_connect(struct daemon *d, struct session *s, const struct ev_connect *e)
{
	bool denied = e->h.flags & EV_F_DENIED;
	struct chain_rec *r = decision_base(d, s, &e->h,
					    e->h.flags & EV_F_UDP ? "sendto" : "connect");
	char obj[80];

	format_addr6(e->addr, e->port, obj, sizeof(obj));
	chain_rec_set_string(r, "object", obj);
	chain_rec_set(r, "family", audit_const(e->family == AF_INET ? "inet" : "inet6"));
	if (denied) {
		struct verdict v;

		if (session_explain_connect(d, s, e->addr, e->port, &v) && !v.allow) {
			record_verdict(d, s, r, true, 0, &v);
			return;
		}
	}
	record_verdict(d, s, r, denied, e->rule, NULL);
}

static void handle_unix(struct daemon *d, struct session *s, const struct ev_unix *e)
{
	bool denied = e->h.flags & EV_F_DENIED;
	struct chain_rec *r = decision_base(d, s, &e->h,
					    e->h.flags & EV_F_UDP ? "sendto" : "connect");
	char path[EV_UNIX_PATH + 1];

	memcpy(path, e->path, EV_UNIX_PATH);
	path[EV_UNIX_PATH] = 0;
	set_name(r, "object", path);
	chain_rec_set(r, "family", audit_const("unix"));
	record_verdict(d, s, r, denied, e->rule, NULL);
}

/* Signals the kernel refused: to pinfoldd, to another session, to anything
 * outside the agent's Landlock domain. An attempt on the enforcer is worth
 * a record whoever refused it. */
static bool is_signal_call(int nr)
{
	return nr == SCMP_SYS(kill) || nr == SCMP_SYS(tkill) || nr == SCMP_SYS(tgkill) ||
	       nr == SCMP_SYS(rt_sigqueueinfo) || nr == SCMP_SYS(rt_tgsigqueueinfo) ||
	       nr == SCMP_SYS(pidfd_send_signal);
}

/* A syscall refused with EPERM. The seccomp filter's refusals (ptrace,
 * bpf, mount, namespaces...) are decisions of pinfold's and are chained;
 * so are refused signals (above); any other EPERM (cp -a failing to chown
 * to root) is Unix permissions at work and decides nothing here. */
static void handle_syscall(struct daemon *d, struct session *s, const struct ev_syscall *e)
{
	struct chain_rec *r;
	char *name, num[32];

	const char *rule = "seccomp";

	if (is_signal_call((int)e->nr))
		rule = "kernel: signal to a process outside the agent's reach";
	else if (e->h.ret == -EAFNOSUPPORT && e->nr != SCMP_SYS(socket) &&
		 e->nr != SCMP_SYS(socketpair))
		return;
	else if (e->h.ret != -EAFNOSUPPORT && !sandbox_denies_syscall((int)e->nr))
		return;
	r = decision_base(d, s, &e->h, "syscall");
	name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, (int)e->nr);
	snprintf(num, sizeof(num), "syscall %u", e->nr);
	chain_rec_set_new(r, "object", json_string(name ? name : num));
	chain_rec_set(r, "outcome", audit_const(errno_name(e->h.ret)));
	chain_rec_set(r, "decision", audit_const("deny"));
	chain_rec_set(r, "rule", audit_const(rule));
	chain_rec_set(r, "policy", d->policy_json);
	free(name);
	s->denials++;
	audit_event_record(d);
}

int event_handle(void *ctx, void *data, size_t len)
{
	struct daemon *d = ctx;
	const struct ev_hdr *h = data;
	struct session *s;

	/* What cannot be judged is counted, and becomes a loss record. */
	if (len < sizeof(*h)) {
		d->unprocessed++;
		return 0;
	}
	s = session_find_cgroup(d, h->cgroup_id);
	if (!s) {
		log_debug("event type %u from unknown cgroup %llu", h->type,
			  (unsigned long long)h->cgroup_id);
		d->unprocessed++;
		return 0;
	}
	s->events++;
	switch (h->type) {
	/* The ring buffer is mapped read-only: a record whose string is not
	 * terminated inside it is malformed and skipped, not mended. */
	case EV_OPEN:
		if (len > offsetof(struct ev_open, data) &&
		    memchr(((struct ev_open *)data)->data, 0, len - offsetof(struct ev_open, data)))
			handle_open(d, s, data);
		else
			d->unprocessed++;
		break;
	case EV_EXEC:
		if (len > offsetof(struct ev_exec, data) &&
		    memchr(((struct ev_exec *)data)->data, 0, len - offsetof(struct ev_exec, data)))
			handle_exec(d, s, data, len - offsetof(struct ev_exec, data));
		else
			d->unprocessed++;
		break;
	case EV_CONNECT:
		if (len >= sizeof(struct ev_connect))
			handle_connect(d, s, data);
		else
			d->unprocessed++;
		break;
	case EV_UNIX:
		if (len >= sizeof(struct ev_unix))
			handle_unix(d, s, data);
		else
			d->unprocessed++;
		break;
	case EV_SYSCALL:
		if (len >= sizeof(struct ev_syscall))
			handle_syscall(d, s, data);
		else
			d->unprocessed++;
		break;
	/* Process lifetimes are counted, not chained: they decide nothing,
	 * and the session records bound them. */
	case EV_FORK:
		s->processes++;
		break;
	case EV_EXIT:
		break;
	}
	return 0;
}

static json_t *loss_base(struct daemon *d, uint64_t count, uint64_t total, const char *why)
{
	json_t *rec = audit_base(d, "loss");

	json_object_set_new_nocheck(rec, "count", json_integer((json_int_t)count));
	json_object_set_new_nocheck(rec, "total", json_integer((json_int_t)total));
	json_object_set_nocheck(rec, "reason", audit_const(why));
	log_warn("%llu %s", (unsigned long long)count, why);
	return rec;
}

static void record_loss(struct daemon *d, uint64_t count, uint64_t total, const char *why)
{
	audit_record(d, loss_base(d, count, total, why));
}

/* Ring buffer drops say on which CPUs they happened: "cpus" maps a CPU to
 * its drops since the last such record. */
static void record_drops(struct daemon *d, uint64_t count, uint64_t total)
{
	json_t *rec = loss_base(d, count, total, "events lost: the ring buffer was full");
	json_t *cpus = json_object();
	uint64_t per[1024];
	int n = bpf_read_drops(d, per, 1024);
	char key[16];

	if (n > 0 && !d->dropped_cpu_seen)
		d->dropped_cpu_seen = calloc((size_t)n, sizeof(uint64_t));
	for (int c = 0; d->dropped_cpu_seen && c < n; c++) {
		if (per[c] > d->dropped_cpu_seen[c]) {
			snprintf(key, sizeof(key), "%d", c);
			json_object_set_new(cpus, key, json_integer((json_int_t)(per[c] -
								d->dropped_cpu_seen[c])));
		}
		d->dropped_cpu_seen[c] = per[c];
	}
	json_object_set_new_nocheck(rec, "cpus", cpus);
	audit_record(d, rec);
}

/* Events the kernel could not queue, and records the chain could not
 * take, become loss records: counted, never silently gone. */
void events_check_loss(struct daemon *d)
{
	uint64_t seen, dropped, deduped, failed = d->append_failures;

	if (!bpf_read_stats(d, &seen, &dropped, &deduped) && dropped > d->dropped_seen) {
		record_drops(d, dropped - d->dropped_seen, dropped);
		d->dropped_seen = dropped;
	}
	if (d->unprocessed > d->unprocessed_seen) {
		record_loss(d, d->unprocessed - d->unprocessed_seen, d->unprocessed,
			    "events the daemon could not judge: malformed, or of no session");
		d->unprocessed_seen = d->unprocessed;
	}
	if (failed > d->append_failures_seen) {
		uint64_t n = failed - d->append_failures_seen;

		d->append_failures_seen = failed;
		record_loss(d, n, failed, "records the chain could not take");
	}
}
