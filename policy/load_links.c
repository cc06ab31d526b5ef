// SPDX-License-Identifier: GPL-2.0-only
/*
 * Configuration files that are symbolic links. A file is known by the
 * name it has in the configuration directory (agents.d/ci.ini): that is
 * the agent's name and what rules cite. The lines a message names are
 * those of the file read, the link's target, so each message about a
 * linked file also says where that file is.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy/policy_int.h"

/* The file a link leads to, as an absolute path when it resolves (the
 * kernel's name of the opened file), else the link's own text. */
static char *link_target(int dfd, const char *name)
{
	char proc[64], buf[PATH_MAX];
	ssize_t n = -1;
	int fd = openat(dfd, name, O_PATH | O_CLOEXEC);

	if (fd >= 0) {
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		n = readlink(proc, buf, sizeof(buf) - 1);
		close(fd);
	}
	if (n < 0)
		n = readlinkat(dfd, name, buf, sizeof(buf) - 1);
	if (n < 0)
		return NULL;
	buf[n] = '\0';
	return strdup(buf);
}

void load_note_link(struct loader *l, int dfd, const char *name)
{
	struct file_link *v;
	struct stat st;
	char *target, *file;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISLNK(st.st_mode))
		return;
	target = link_target(dfd, name);
	file = load_strdup(l, l->file);
	v = target && file ? load_realloc(l, l->links, l->nlinks + 1, sizeof(*v)) : NULL;
	if (!v) {
		free(target);
		free(file);
		return;
	}
	l->links = v;
	v[l->nlinks++] = (struct file_link){ file, target };
}

static const struct file_link *link_of(const struct loader *l, const char *msg)
{
	for (size_t i = 0; i < l->nlinks; i++) {
		size_t n = strlen(l->links[i].file);

		if (!strncmp(msg, l->links[i].file, n) && msg[n] == ':')
			return &l->links[i];
	}
	return NULL;
}

void load_annotate_links(struct loader *l, size_t first)
{
	for (size_t i = first; l->d && i < l->d->n; i++) {
		const struct file_link *k = link_of(l, l->d->msgs[i]);
		char *msg;

		if (!k || asprintf(&msg, "%s (%s is a link to %s)", l->d->msgs[i], k->file,
				   k->target) < 0)
			continue;
		free(l->d->msgs[i]);
		l->d->msgs[i] = msg;
	}
}

void load_links_free(struct loader *l)
{
	for (size_t i = 0; i < l->nlinks; i++) {
		free(l->links[i].file);
		free(l->links[i].target);
	}
	free(l->links);
}
