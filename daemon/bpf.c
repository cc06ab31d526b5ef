// SPDX-License-Identifier: GPL-2.0-only
/*
 * Loading pinfold's BPF programs: open, set knobs, load, attach, each step
 * reported with its error code.
 *
 * The cgroup programs are attached to <cg2>/pinfold with the plain
 * BPF_PROG_ATTACH interface rather than a link, so that they stay in force
 * if the daemon dies: agents keep their network restrictions until a new
 * daemon replaces the programs, and a clean stop detaches them.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "daemon/compat.h"
#include "daemon/pinfoldd.h"
#include "pinfold.skel.h"

static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	/* libbpf's own lines start with "libbpf: ". Its debug output is
	 * long; it shows only at -vv. */
	if (level == LIBBPF_DEBUG && log_verbose < 2)
		return 0;
	if (level == LIBBPF_INFO && log_verbose < 1)
		return 0;
	fprintf(stderr, "pinfoldd: ");
	return vfprintf(stderr, fmt, ap);
}

struct cg_attach {
	struct bpf_program *(*prog)(struct pinfold_bpf *s);
	enum bpf_attach_type type;
	const char *name;
};

static struct bpf_program *p_connect4(struct pinfold_bpf *s) { return s->progs.connect4; }
static struct bpf_program *p_connect6(struct pinfold_bpf *s) { return s->progs.connect6; }
static struct bpf_program *p_sendmsg4(struct pinfold_bpf *s) { return s->progs.sendmsg4; }
static struct bpf_program *p_sendmsg6(struct pinfold_bpf *s) { return s->progs.sendmsg6; }
static struct bpf_program *p_connect_unix(struct pinfold_bpf *s) { return s->progs.connect_unix; }
static struct bpf_program *p_sendmsg_unix(struct pinfold_bpf *s) { return s->progs.sendmsg_unix; }


static const struct cg_attach cg_progs[] = {
	{ p_connect4, BPF_CGROUP_INET4_CONNECT, "connect4" },
	{ p_connect6, BPF_CGROUP_INET6_CONNECT, "connect6" },
	{ p_sendmsg4, BPF_CGROUP_UDP4_SENDMSG, "sendmsg4" },
	{ p_sendmsg6, BPF_CGROUP_UDP6_SENDMSG, "sendmsg6" },
	{ p_connect_unix, PF_CGROUP_UNIX_CONNECT, "connect_unix" },
	{ p_sendmsg_unix, PF_CGROUP_UNIX_SENDMSG, "sendmsg_unix" },
};
#define N_UNIX_PROGS 2
#define N_CG_PROGS (int)(sizeof(cg_progs) / sizeof(cg_progs[0]))

/* Programs a previous daemon left attached (it died, or is being
 * replaced) are detached only after ours are in place, so the subtree is
 * never without a connect filter. */
static __u32 prog_id(int fd)
{
	struct bpf_prog_info info = { 0 };
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.id;
}

static void detach_stale(struct daemon *d, enum bpf_attach_type type, int ours)
{
	__u32 ids[64], n = 64, flags = 0, mine = prog_id(ours);

	if (bpf_prog_query(d->cgroot_fd, type, 0, &flags, ids, &n))
		return;
	for (__u32 i = 0; i < n; i++) {
		int fd;

		if (ids[i] == mine)
			continue;
		fd = bpf_prog_get_fd_by_id(ids[i]);
		if (fd < 0)
			continue;
		if (!bpf_prog_detach2(fd, d->cgroot_fd, type))
			log_info("detached stale program id %u from '%s'", ids[i], d->cgroot);
		close(fd);
	}
}

/* The unix socket hooks exist from kernel 6.7; before that they are not
 * loaded, and the daemon says that unix sockets are not governed. */
static bool kernel_has_unix_hooks(void)
{
	struct utsname u;
	int major = 0, minor = 0;

	if (uname(&u) || sscanf(u.release, "%d.%d", &major, &minor) != 2)
		return false;
	return major > 6 || (major == 6 && minor >= 7);
}

static void prepare_unix_progs(struct daemon *d)
{
	d->unix_hooks = kernel_has_unix_hooks();
	for (int i = N_CG_PROGS - N_UNIX_PROGS; i < N_CG_PROGS; i++) {
		struct bpf_program *p = cg_progs[i].prog(d->skel);

		if (d->unix_hooks)
			bpf_program__set_expected_attach_type(p, cg_progs[i].type);
		else
			bpf_program__set_autoload(p, false);
	}
	if (!d->unix_hooks)
		log_warn("kernel before 6.7: connects to pathname unix sockets are not governed");
}

static int attach_cgroup_progs(struct daemon *d)
{
	int n = d->unix_hooks ? N_CG_PROGS : N_CG_PROGS - N_UNIX_PROGS;

	d->cg_prog_fds = calloc(N_CG_PROGS, sizeof(int));
	if (!d->cg_prog_fds)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		int fd = bpf_program__fd(cg_progs[i].prog(d->skel));

		if (bpf_prog_attach(fd, d->cgroot_fd, cg_progs[i].type, BPF_F_ALLOW_MULTI)) {
			int r = -errno;

			log_error("cannot attach %s to '%s': %s", cg_progs[i].name, d->cgroot,
				  strerror(errno));
			return r;
		}
		d->cg_prog_fds[d->ncg_progs++] = fd;
		detach_stale(d, cg_progs[i].type, fd);
	}
	return 0;
}

/* Where distributions keep the dynamic loader; each that exists is
 * refused as a program (it stays allowed as an interpreter). */
static const char *const loader_paths[] = {
	"/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
	"/usr/lib64/ld-linux-x86-64.so.2",
	"/lib64/ld-linux-x86-64.so.2",
	"/usr/lib/aarch64-linux-gnu/ld-linux-aarch64.so.1",
	"/usr/lib/ld-linux-aarch64.so.1",
	"/lib/ld-musl-x86_64.so.1",
	"/lib/ld-musl-aarch64.so.1",
};

static int load_loaders(struct daemon *d)
{
	int n = 0;

	for (size_t i = 0; i < sizeof(loader_paths) / sizeof(loader_paths[0]); i++) {
		struct stat st;
		struct file_key k = { 0 };
		__u8 one = 1;

		if (stat(loader_paths[i], &st))
			continue;
		k.ino = st.st_ino;
		k.dev = (__u32)((major(st.st_dev) << 20) | minor(st.st_dev));
		if (bpf_map__update_elem(d->skel->maps.loaders, &k, sizeof(k), &one, sizeof(one),
					 BPF_ANY)) {
			log_error("cannot register loader '%s': %s", loader_paths[i],
				  strerror(errno));
			return -errno;
		}
		n++;
	}
	if (!n)
		log_warn("no dynamic loader found: running one as a program is not refused");
	return 0;
}

int bpf_setup(struct daemon *d)
{
	uint64_t seed;
	int r;

	libbpf_set_print(libbpf_log);
	d->skel = pinfold_bpf__open();
	if (!d->skel) {
		log_error("cannot open BPF object: %s", strerror(errno));
		return -errno;
	}
	if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
		seed = (uint64_t)audit_now_ns();
	d->skel->rodata->hash_seed = seed;
	d->hash_seed = seed;
	if (d->ringbuf_bytes)
		bpf_map__set_max_entries(d->skel->maps.events, d->ringbuf_bytes);

	prepare_unix_progs(d);
	r = pinfold_bpf__load(d->skel);
	if (r) {
		log_error("cannot load BPF programs: %s", strerror(-r));
		return r;
	}
	r = load_loaders(d);
	if (r)
		return r;
	if (bpf_map__update_elem(d->skel->maps.cgroot, &(__u32){ 0 }, sizeof(__u32),
				 &d->cgroot_fd, sizeof(int), BPF_ANY)) {
		r = -errno;
		log_error("cannot register cgroup '%s' with the BPF programs: %s", d->cgroot,
			  strerror(errno));
		return r;
	}
	r = pinfold_bpf__attach(d->skel);
	if (r) {
		log_error("cannot attach BPF tracing programs: %s", strerror(-r));
		return r;
	}
	r = attach_cgroup_progs(d);
	if (r)
		return r;

	d->rb = ring_buffer__new(bpf_map__fd(d->skel->maps.events), event_handle, d, NULL);
	if (!d->rb) {
		r = -errno;
		log_error("cannot set up the BPF ring buffer: %s", strerror(errno));
		return r;
	}
	return 0;
}

void bpf_teardown(struct daemon *d)
{
	for (int i = 0; i < d->ncg_progs; i++)
		if (bpf_prog_detach2(d->cg_prog_fds[i], d->cgroot_fd, cg_progs[i].type))
			log_warn("cannot detach %s: %s", cg_progs[i].name, strerror(errno));
	free(d->cg_prog_fds);
	d->cg_prog_fds = NULL;
	d->ncg_progs = 0;
	ring_buffer__free(d->rb);
	d->rb = NULL;
	pinfold_bpf__destroy(d->skel);
	d->skel = NULL;
}

int bpf_session_add(struct daemon *d, uint64_t cgid, uint64_t session, uint32_t agent_id,
		    uint32_t flags)
{
	struct session_info si = { .session_id = session, .agent_id = agent_id, .flags = flags };

	if (bpf_map__update_elem(d->skel->maps.sessions, &cgid, sizeof(cgid), &si, sizeof(si),
				 BPF_ANY))
		return -errno;
	return 0;
}

void bpf_session_del(struct daemon *d, uint64_t cgid)
{
	bpf_map__delete_elem(d->skel->maps.sessions, &cgid, sizeof(cgid), 0);
}

/* A session's keys in one map, as they stand: key_size bytes each. */
struct keyset {
	char (*k)[sizeof(struct unix_key)];
	size_t n, cap;
};

static int keyset_add(struct keyset *ks, const void *key, size_t key_size)
{
	if (ks->n == ks->cap) {
		size_t cap = ks->cap ? ks->cap * 2 : 16;
		void *g = realloc(ks->k, cap * sizeof(*ks->k));

		if (!g)
			return -ENOMEM;
		ks->k = g;
		ks->cap = cap;
	}
	memset(ks->k[ks->n], 0, sizeof(ks->k[0]));
	memcpy(ks->k[ks->n++], key, key_size);
	return 0;
}

/* Every key of map whose agent_id field is id. Keys are collected before
 * any is deleted: deleting while walking would restart the walk. */
static int keys_of(struct bpf_map *m, size_t key_size, size_t id_off, uint32_t id,
		   struct keyset *ks)
{
	char k[sizeof(struct unix_key)], next[sizeof(struct unix_key)];
	void *prev = NULL;

	while (!bpf_map__get_next_key(m, prev, next, key_size)) {
		memcpy(k, next, key_size);
		prev = k;
		if (!memcmp(k + id_off, &id, sizeof(id)) && keyset_add(ks, k, key_size))
			return -ENOMEM;
	}
	return 0;
}

static int key_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct unix_key));
}

/* Delete the keys of old that are not in new (sorted here). */
static void prune(struct bpf_map *m, size_t key_size, struct keyset *old, struct keyset *new)
{
	qsort(new->k, new->n, sizeof(new->k[0]), key_cmp);
	for (size_t i = 0; i < old->n; i++)
		if (!bsearch(old->k[i], new->k, new->n, sizeof(new->k[0]), key_cmp))
			bpf_map__delete_elem(m, old->k[i], key_size, 0);
}

/* The new entries are written over the old ones first and the stale ones
 * deleted after, so a grant that stays is never absent for a moment. */
int bpf_session_net(struct daemon *d, uint32_t net_id, const struct net_entry *t, int n,
		    const struct unix_grant *const *u, size_t nu)
{
	struct bpf_map *m = d->skel->maps.net_rules, *um = d->skel->maps.unix_rules;
	struct keyset old = { 0 }, oldu = { 0 }, new = { 0 }, newu = { 0 };
	int r = 0;

	if (keys_of(m, sizeof(struct net_key), offsetof(struct net_key, agent_id), net_id, &old) ||
	    keys_of(um, sizeof(struct unix_key), offsetof(struct unix_key, agent_id), net_id,
		    &oldu)) {
		r = -ENOMEM;
		goto out;
	}
	for (int j = 0; j < n && !r; j++) {
		struct net_key k = { .prefixlen = 32 + t[j].prefix, .agent_id = net_id };

		memcpy(k.addr, t[j].addr, 16);
		if (bpf_map__update_elem(m, &k, sizeof(k), &t[j].value, sizeof(t[j].value),
					 BPF_ANY))
			r = -errno;
		else
			r = keyset_add(&new, &k, sizeof(k));
	}
	for (size_t j = 0; j < nu && !r; j++) {
		struct unix_key k = { .agent_id = net_id };
		__u32 rule = u[j]->rule;

		strncpy(k.path, u[j]->path, sizeof(k.path) - 1);
		if (bpf_map__update_elem(um, &k, sizeof(k), &rule, sizeof(rule), BPF_ANY))
			r = -errno;
		else
			r = keyset_add(&newu, &k, sizeof(k));
	}
	/* On a failure everything of the session's goes: never more than it
	 * may have. */
	if (r) {
		new.n = 0;
		newu.n = 0;
		old.n = 0;
		oldu.n = 0;
		keys_of(m, sizeof(struct net_key), offsetof(struct net_key, agent_id), net_id, &old);
		keys_of(um, sizeof(struct unix_key), offsetof(struct unix_key, agent_id), net_id,
			&oldu);
	}
	prune(m, sizeof(struct net_key), &old, &new);
	prune(um, sizeof(struct unix_key), &oldu, &newu);
out:
	free(old.k);
	free(oldu.k);
	free(new.k);
	free(newu.k);
	return r;
}

int bpf_ring_fd(struct daemon *d)
{
	return ring_buffer__epoll_fd(d->rb);
}

int bpf_consume(struct daemon *d)
{
	return ring_buffer__consume(d->rb);
}

int bpf_read_stats(struct daemon *d, uint64_t *seen, uint64_t *dropped, uint64_t *deduped)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t sum[STAT_MAX] = { 0 };
	uint64_t *vals;

	if (ncpu <= 0)
		return -EINVAL;
	vals = calloc(ncpu, sizeof(uint64_t));
	if (!vals)
		return -ENOMEM;
	for (uint32_t k = 0; k < STAT_MAX; k++) {
		if (bpf_map__lookup_elem(d->skel->maps.stats, &k, sizeof(k), vals,
					 sizeof(uint64_t) * ncpu, 0))
			continue;
		for (int c = 0; c < ncpu; c++)
			sum[k] += vals[c];
	}
	free(vals);
	*seen = sum[STAT_SEEN];
	*dropped = sum[STAT_DROPPED];
	*deduped = sum[STAT_DEDUPED];
	return 0;
}

/* Approval entries: a map of the skeleton's, named for what it holds. */
static struct bpf_map *approve_map(struct daemon *d, enum approve_map m)
{
	switch (m) {
	case MAP_EXEC_GATED: return d->skel->maps.exec_gated;
	case MAP_EXEC_GATED_PATH: return d->skel->maps.exec_gated_path;
	case MAP_EXEC_APPROVED: return d->skel->maps.exec_approved;
	case MAP_NET_APPROVED: return d->skel->maps.net_approved;
	}
	return NULL;
}

int bpf_approve_put(struct daemon *d, enum approve_map m, const void *key, size_t klen,
		    const void *val, size_t vlen)
{
	if (bpf_map__update_elem(approve_map(d, m), key, klen, val, vlen, BPF_ANY))
		return -errno;
	return 0;
}

void bpf_approve_del(struct daemon *d, enum approve_map m, const void *key, size_t klen)
{
	bpf_map__delete_elem(approve_map(d, m), key, klen, 0);
}

/* Every entry of map m for one session cgroup; each key starts with it. */
void bpf_approve_clear_session(struct daemon *d, enum approve_map m, uint64_t cgid,
			       size_t klen)
{
	struct bpf_map *map = approve_map(d, m);
	union {
		uint64_t cgid;
		char b[64];
	} k, next;
	bool first = true;

	while (!bpf_map__get_next_key(map, first ? NULL : k.b, next.b, klen)) {
		first = false;
		memcpy(k.b, next.b, klen);
		if (k.cgid == cgid && !bpf_map__delete_elem(map, k.b, klen, 0))
			first = true;	/* the walk starts over after a delete */
	}
}

int bpf_read_drops(struct daemon *d, uint64_t *per_cpu, int max)
{
	uint32_t k = STAT_DROPPED;
	int ncpu = libbpf_num_possible_cpus();

	if (ncpu <= 0 || ncpu > max)
		return -EINVAL;
	if (bpf_map__lookup_elem(d->skel->maps.stats, &k, sizeof(k), per_cpu,
				 sizeof(uint64_t) * ncpu, 0))
		return -errno;
	return ncpu;
}
