// SPDX-License-Identifier: GPL-2.0-only
/*
 * A session's workspace: found or made, one path component at a time,
 * never through a symlink.
 *
 * pinfoldd runs as root, and a workspace path can come from a caller
 * (`pinfold run --workspace`). Made with root's rights, such a path would
 * let any dispatcher plant a directory of its own anywhere on the host,
 * or, through a symlink in a directory it controls, somewhere it cannot
 * even name. So a path a non-root caller names is walked and made with
 * that caller's file system rights (setfsuid, setfsgid and its groups,
 * which also drop root's file capabilities for the walk), and every walk
 * opens each component with O_NOFOLLOW.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/pinfoldd.h"

#define GROUPS_SAVED_MAX 256

struct fs_saved {
	gid_t groups[GROUPS_SAVED_MAX];
	int ngroups;
};

static int become_caller(const struct ws_owner *o, struct fs_saved *sv)
{
	sv->ngroups = getgroups(GROUPS_SAVED_MAX, sv->groups);
	if (sv->ngroups < 0 || setgroups(o->ngroups, o->groups))
		return -errno;
	setfsgid(o->caller_gid);
	setfsuid(o->caller_uid);
	/* setfsuid answers with the previous value whatever happened. */
	if ((uid_t)setfsuid((uid_t)-1) != o->caller_uid)
		return -EPERM;
	return 0;
}

static void become_root(const struct fs_saved *sv)
{
	setfsuid(0);
	setfsgid(0);
	setgroups(sv->ngroups, sv->groups);
}

/* The next component beneath dfd, made when missing; an O_PATH fd. */
static int step(int dfd, const char *name, bool leaf, bool *made)
{
	int fd = openat(dfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd >= 0 || errno != ENOENT)
		return fd;
	if (mkdirat(dfd, name, leaf ? 0700 : 0755) && errno != EEXIST)
		return -1;
	*made = leaf;
	return openat(dfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

static int walk(const char *ws, const struct ws_owner *o, char *err, size_t errlen)
{
	char p[PATH_MAX], *save = NULL;
	int dfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC), r = 0;
	bool made = false;
	struct stat st;

	snprintf(p, sizeof(p), "%s", ws);
	for (char *c = strtok_r(p, "/", &save); c && dfd >= 0; c = strtok_r(NULL, "/", &save)) {
		bool leaf = !save || !*save;
		int fd = step(dfd, c, leaf, &made);

		close(dfd);
		dfd = fd;
		if (fd < 0) {
			r = -errno;
			snprintf(err, errlen, "workspace '%s': cannot %s '%s'%s: %s", ws,
				 errno == ENOTDIR ? "enter" : "make or open", c,
				 o->as_caller ? " with the caller's rights" : "",
				 errno == ENOTDIR ? "not a directory, or a symlink" : strerror(errno));
			return r;
		}
		if (fstat(fd, &st))
			r = -errno;
		else if (!leaf && !(st.st_mode & S_IXOTH) && st.st_uid != o->uid)
			r = -EACCES;
		if (r) {
			snprintf(err, errlen, "agent uid %u cannot reach workspace '%s': '%s' is "
				 "mode %04o", (unsigned)o->uid, ws, c, st.st_mode & 07777);
			close(fd);
			return r;
		}
	}
	if (made && !o->as_caller && fchownat(dfd, "", o->uid, o->gid, AT_EMPTY_PATH))
		r = -errno;
	else if (!made && !fstat(dfd, &st) && st.st_uid != o->uid)
		r = -EPERM;
	if (r == -EPERM)
		snprintf(err, errlen, "workspace '%s' belongs to uid %u, not the agent's uid %u",
			 ws, (unsigned)st.st_uid, (unsigned)o->uid);
	else if (r)
		snprintf(err, errlen, "cannot chown workspace '%s': %s", ws, strerror(-r));
	close(dfd);
	return r;
}

int workspace_prepare(const char *ws, const struct ws_owner *o, char *err, size_t errlen)
{
	struct fs_saved sv;
	int r;

	if (ws[0] != '/' || strlen(ws) >= PATH_MAX) {
		snprintf(err, errlen, "workspace '%s' is not an absolute path", ws);
		return -EINVAL;
	}
	if (o->as_caller && o->caller_uid != o->uid) {
		snprintf(err, errlen, "agent runs as uid %u, not as the caller: it takes the "
			 "workspace its file or pinfold gives it, not '%s'", (unsigned)o->uid, ws);
		return -EPERM;
	}
	if (o->as_caller && (r = become_caller(o, &sv))) {
		become_root(&sv);
		snprintf(err, errlen, "cannot take uid %u's rights to make '%s': %s",
			 (unsigned)o->caller_uid, ws, strerror(-r));
		return r;
	}
	r = walk(ws, o, err, errlen);
	if (o->as_caller)
		become_root(&sv);
	return r;
}
