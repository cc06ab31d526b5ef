// SPDX-License-Identifier: GPL-2.0-only
/*
 * pinfold's cgroup v2 subtree: <cg2>/pinfold/<agent>/<session>. Session
 * membership is the tag: it survives fork, exec, setsid and daemonizing,
 * and an unprivileged agent cannot move itself out.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/pinfoldd.h"

/* Field 5 of a mountinfo line is the mount point, with spaces and other
 * awkward bytes escaped as \ooo. */
static void unescape_octal(char *s)
{
	char *w = s;

	for (char *r = s; *r; r++) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '7' && r[2] && r[3]) {
			*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
			r += 3;
		} else {
			*w++ = *r;
		}
	}
	*w = 0;
}

int cgroup_find_v2(char *out, size_t outlen)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[8192];
	int found = -ENOENT;

	if (!f)
		return -errno;
	while (found && fgets(line, sizeof(line), f)) {
		char mnt[4096], fstype[64];
		char *sep = strstr(line, " - ");

		if (!sep || sscanf(sep, " - %63s", fstype) != 1 || strcmp(fstype, "cgroup2"))
			continue;
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1)
			continue;
		unescape_octal(mnt);
		if (strlen(mnt) < outlen) {
			strcpy(out, mnt);
			found = 0;
		}
	}
	fclose(f);
	return found;
}

static bool is_live_session(struct daemon *d, const char *path)
{
	for (struct session *s = d->sessions; s; s = s->next)
		if (!strcmp(s->cgroup_path, path))
			return true;
	return false;
}

/* Session cgroups a previous daemon left: empty ones are removed; one
 * with processes left in it stays, and its processes keep their Landlock
 * and seccomp restrictions while the connect programs deny them all
 * network, as they do any cgroup that is not a known session. Called at
 * start (warn set) and then now and again, so that such a cgroup goes
 * once its last process has. */
void cgroup_sweep(struct daemon *d, bool warn)
{
	DIR *top = opendir(d->cgroot);
	struct dirent *a;

	if (!top)
		return;
	while ((a = readdir(top))) {
		char adir[4400];
		DIR *sd;
		struct dirent *e;

		if (a->d_type != DT_DIR || a->d_name[0] == '.')
			continue;
		snprintf(adir, sizeof(adir), "%s/%s", d->cgroot, a->d_name);
		sd = opendir(adir);
		while (sd && (e = readdir(sd))) {
			char sdir[4700];

			if (e->d_type != DT_DIR || e->d_name[0] == '.')
				continue;
			snprintf(sdir, sizeof(sdir), "%s/%s", adir, e->d_name);
			if (is_live_session(d, sdir))
				continue;
			if (rmdir(sdir) && warn)
				log_warn("session cgroup '%s' from a previous daemon still has "
					 "processes: kept, with no network", sdir);
		}
		if (sd)
			closedir(sd);
		rmdir(adir);
	}
	closedir(top);
}

int cgroup_setup_root(struct daemon *d)
{
	int r = cgroup_find_v2(d->cg2, sizeof(d->cg2));

	if (r) {
		log_error("no cgroup v2 hierarchy in /proc/self/mountinfo: %s", strerror(-r));
		return r;
	}
	if ((size_t)snprintf(d->cgroot, sizeof(d->cgroot), "%s/pinfold", d->cg2) >=
	    sizeof(d->cgroot))
		return -ENAMETOOLONG;
	if (mkdir(d->cgroot, 0755) && errno != EEXIST) {
		r = -errno;
		log_error("cannot create cgroup '%s': %s", d->cgroot, strerror(errno));
		return r;
	}
	d->cgroot_fd = open(d->cgroot, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d->cgroot_fd < 0) {
		r = -errno;
		log_error("cannot open cgroup '%s': %s", d->cgroot, strerror(errno));
		return r;
	}
	/* One daemon owns the tree. A second one would take the first's
	 * programs for stale and detach them, sweep its sessions and remove
	 * the tree at its stop, leaving the first one's agents unfiltered. The
	 * lock ends with the descriptor, however this daemon ends. */
	if (flock(d->cgroot_fd, LOCK_EX | LOCK_NB)) {
		r = -errno;
		if (errno == EWOULDBLOCK)
			log_error("cgroup '%s' belongs to another running pinfoldd", d->cgroot);
		else
			log_error("cannot lock cgroup '%s': %s", d->cgroot, strerror(errno));
		/* Not ours: the caller must not tear it down. */
		close(d->cgroot_fd);
		d->cgroot_fd = -1;
		return r;
	}
	cgroup_sweep(d, true);
	log_debug("cgroup v2 at '%s', sessions under '%s'", d->cg2, d->cgroot);
	return 0;
}

int cgroup_create_session(struct daemon *d, const char *agent, uint64_t id, char **path,
			  uint64_t *cgid)
{
	char agent_dir[4200], p[4300];
	struct stat st;

	snprintf(agent_dir, sizeof(agent_dir), "%s/%s", d->cgroot, agent);
	if (mkdir(agent_dir, 0755) && errno != EEXIST)
		return -errno;
	/* A session of an earlier daemon (another state directory, or a chain
	 * started over) may still hold this id's name: the new one takes a
	 * suffix rather than share a cgroup with it. */
	snprintf(p, sizeof(p), "%s/%llu", agent_dir, (unsigned long long)id);
	for (int n = 1; mkdir(p, 0755); n++) {
		if (errno != EEXIST || n > 100)
			return -errno;
		snprintf(p, sizeof(p), "%s/%llu.%d", agent_dir, (unsigned long long)id, n);
	}

	/* On cgroup v2 the inode number is the kernfs id, which is what
	 * bpf_get_current_cgroup_id() returns. */
	if (stat(p, &st)) {
		int r = -errno;

		rmdir(p);
		return r;
	}
	*cgid = st.st_ino;
	*path = strdup(p);
	return *path ? 0 : -ENOMEM;
}

static int write_file(const char *dir, const char *name, const char *val)
{
	char p[4400];
	int fd, r = 0;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	fd = open(p, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) < 0)
		r = -errno;
	close(fd);
	return r;
}

int cgroup_kill(const char *path)
{
	return write_file(path, "cgroup.kill", "1");
}

int cgroup_attach(const char *path, pid_t pid)
{
	char v[32];

	snprintf(v, sizeof(v), "%d", (int)pid);
	return write_file(path, "cgroup.procs", v);
}

int cgroup_freeze(const char *path, bool frozen)
{
	return write_file(path, "cgroup.freeze", frozen ? "1" : "0");
}

json_t *cgroup_procs_json(const char *path)
{
	char p[4400], comm[64];
	json_t *a = json_array();
	FILE *f;
	int pid;

	snprintf(p, sizeof(p), "%s/cgroup.procs", path);
	f = fopen(p, "re");
	if (!f)
		return a;
	while (fscanf(f, "%d", &pid) == 1) {
		char cp[64];
		FILE *c;

		snprintf(cp, sizeof(cp), "/proc/%d/comm", pid);
		comm[0] = 0;
		c = fopen(cp, "re");
		if (c) {
			if (fgets(comm, sizeof(comm), c))
				comm[strcspn(comm, "\n")] = 0;
			fclose(c);
		}
		json_array_append_new(a, json_pack("{s:i,s:s}", "pid", pid, "comm", comm));
	}
	fclose(f);
	return a;
}

int cgroup_remove(const char *path)
{
	char agent_dir[4400], *slash;

	if (rmdir(path) && errno != ENOENT)
		return -errno;
	/* The agent level goes too once its last session has. */
	snprintf(agent_dir, sizeof(agent_dir), "%s", path);
	slash = strrchr(agent_dir, '/');
	if (slash) {
		*slash = 0;
		rmdir(agent_dir);
	}
	return 0;
}

/* The tree is removed while the lock is still held, so that a daemon
 * starting meanwhile cannot have taken it over. */
void cgroup_teardown_root(struct daemon *d)
{
	if (d->cgroot_fd >= 0)
		cgroup_sweep(d, false);
	if (d->cgroot[0] && rmdir(d->cgroot) && errno != ENOENT)
		log_warn("cannot remove cgroup '%s': %s", d->cgroot,
			 errno == EBUSY ? "sessions of an earlier daemon still run in it"
					: strerror(errno));
	if (d->cgroot_fd >= 0)
		close(d->cgroot_fd);
	d->cgroot_fd = -1;
}
