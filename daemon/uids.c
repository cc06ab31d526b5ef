// SPDX-License-Identifier: GPL-2.0-only
/*
 * The unprivileged uid an agent runs as when root dispatches it: the one
 * its agent file names, or one allocated from pinfoldd.conf's range and
 * remembered in <state>/uids so that files it made stay its own.
 */
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/pinfoldd.h"

struct uid_entry {
	char name[64];
	uid_t uid;
};

static int uids_read(const char *path, struct uid_entry *e, int max)
{
	FILE *f = fopen(path, "re");
	char line[256];
	int n = 0;

	if (!f)
		return errno == ENOENT ? 0 : -errno;
	while (n < max && fgets(line, sizeof(line), f)) {
		unsigned long u;

		if (sscanf(line, "%63s %lu", e[n].name, &u) == 2) {
			e[n].uid = (uid_t)u;
			n++;
		}
	}
	fclose(f);
	return n;
}

static int uids_append(const char *path, const char *name, uid_t uid)
{
	FILE *f = fopen(path, "ae");
	int r = 0;

	if (!f)
		return -errno;
	fprintf(f, "%s %u\n", name, (unsigned)uid);
	if (fflush(f) || fsync(fileno(f)))
		r = -errno;
	fclose(f);
	return r;
}

static bool uid_taken(const struct uid_entry *e, int n, uid_t uid)
{
	for (int i = 0; i < n; i++)
		if (e[i].uid == uid)
			return true;
	return getpwuid(uid) != NULL;
}

int uid_for_agent(struct daemon *d, const struct agent *a, uid_t *uid, gid_t *gid)
{
	static struct uid_entry e[4096];
	char path[PATH_MAX];
	int n;

	if (a->has_uid) {
		struct passwd *pw = getpwuid(a->uid);

		*uid = a->uid;
		*gid = pw ? pw->pw_gid : a->uid;
		return 0;
	}
	snprintf(path, sizeof(path), "%s/uids", d->state_dir);
	n = uids_read(path, e, 4096);
	if (n < 0)
		return n;
	for (int i = 0; i < n; i++) {
		if (!strcmp(e[i].name, a->name)) {
			*uid = *gid = e[i].uid;
			return 0;
		}
	}
	for (uid_t u = d->policy->conf.uid_lo; u <= d->policy->conf.uid_hi; u++) {
		if (uid_taken(e, n, u))
			continue;
		*uid = *gid = u;
		return uids_append(path, a->name, u);
	}
	log_error("no free uid in agent_uids %u-%u for agent '%s'",
		  (unsigned)d->policy->conf.uid_lo, (unsigned)d->policy->conf.uid_hi, a->name);
	return -ENOSPC;
}
