// SPDX-License-Identifier: GPL-2.0-only
/*
 * Who is on the other end of a control connection, and what they may do.
 *
 * Everything comes from the kernel: uid, gid and pid from SO_PEERCRED at
 * connect time, supplementary groups from SO_PEERGROUPS, and whether the
 * peer is an agent's process from its cgroup. An agent may run as its
 * dispatcher's uid and so share that user's groups; its cgroup is what
 * tells it apart, and it is refused every verb.
 *
 * Only SO_PEERCRED is read at accept. Groups, the cgroup and the user
 * name are read when a request first needs them, and a caller with no
 * right to a verb is refused before its cgroup is read: a flood of
 * connections from a uid with no rights costs one getsockopt each.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/compat.h"
#include "daemon/control.h"

int peer_identify(int sock, struct peer *p)
{
	socklen_t len = sizeof(p->cred);

	memset(p, 0, sizeof(*p));
	p->sock = sock;
	return getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &p->cred, &len) ? -errno : 0;
}

const char *peer_user(struct peer *p)
{
	struct passwd *pw;

	if (!p->user_known) {
		pw = getpwuid(p->cred.uid);
		snprintf(p->user, sizeof(p->user), "%s", pw ? pw->pw_name : "");
		p->user_known = true;
	}
	return p->user;
}

const gid_t *peer_groups(struct peer *p, size_t *n)
{
	if (!p->groups_known) {
		socklen_t len = sizeof(p->groups) - sizeof(gid_t);

		p->groups[0] = p->cred.gid;
		p->ngroups = 1;
		if (getsockopt(p->sock, SOL_SOCKET, SO_PEERGROUPS, p->groups + 1, &len) == 0)
			p->ngroups += len / sizeof(gid_t);
		p->groups_known = true;
	}
	*n = p->ngroups;
	return p->groups;
}

static bool peer_in_groups(struct peer *p, const gid_t *gids, size_t n)
{
	size_t ng;
	const gid_t *g = peer_groups(p, &ng);

	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < ng; j++)
			if (g[j] == gids[i])
				return true;
	return false;
}

/* The peer's cgroup v2 path as the daemon sees it ("/pinfold/a/7"), read
 * while a pidfd pins the process, so a pid reused after the peer exited
 * cannot lend it another process's cgroup. */
static int peer_cgroup(struct peer *p, char *out, size_t outlen)
{
	char path[64], line[4096];
	struct pollfd pp = { .events = POLLIN };
	socklen_t len = sizeof(pp.fd);
	int r = -ESRCH;
	FILE *f;

	if (p->cred.pid <= 0)
		return -ESRCH;
	if (getsockopt(p->sock, SOL_SOCKET, SO_PEERPIDFD, &pp.fd, &len))
		return -errno;
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)p->cred.pid);
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "0::", 3))
			continue;
		line[strcspn(line, "\n")] = '\0';
		snprintf(out, outlen, "%s", line + 3);
		r = 0;
	}
	if (f)
		fclose(f);
	/* A pidfd polls readable once its process has exited. */
	if (!r && poll(&pp, 1, 0) != 0)
		r = -ESRCH;
	close(pp.fd);
	return r;
}

/* Unknown is not trusted: a peer whose cgroup cannot be read (gone
 * already, or in another pid namespace) counts as an agent. */
static bool peer_is_agent(struct daemon *d, struct peer *p)
{
	const char *rel = d->cgroot + strlen(d->cg2);
	size_t rlen = strlen(rel);
	char cg[4096];

	if (!p->agent_known) {
		p->agent = true;
		if (peer_cgroup(p, cg, sizeof(cg)) == 0)
			p->agent = !strncmp(cg, rel, rlen) && (cg[rlen] == '/' || !cg[rlen]);
		p->agent_known = true;
	}
	return p->agent;
}

static bool peer_has_access(struct daemon *d, struct peer *p, enum proto_access a)
{
	const struct daemon_conf *c = &d->policy->conf;
	bool admin = p->cred.uid == 0 || peer_in_groups(p, c->admin_gids, c->nadmin_gids);

	switch (a) {
	case ACCESS_READ:
		return admin || peer_in_groups(p, c->read_gids, c->nread_gids);
	case ACCESS_ADMIN:
		return admin;
	case ACCESS_APPROVE:
	case ACCESS_SESSION:
	case ACCESS_DISPATCH:
		/* Decided by the verb, against the request, session or agent it
		 * names: session_start checks the caller's bound in users.d. */
		return true;
	}
	return false;
}

int peer_authorize(struct daemon *d, struct peer *p, const struct proto_verb *v, char *err,
		   size_t errlen)
{
	if (!peer_has_access(d, p, v->access)) {
		snprintf(err, errlen, "uid %u may not call '%s' (%s access)",
			 (unsigned)p->cred.uid, v->name, proto_access_name(v->access));
		return -EPERM;
	}
	if (peer_is_agent(d, p)) {
		snprintf(err, errlen, "pid %d is an agent's process (or cannot be told apart "
			 "from one): '%s' refused", (int)p->cred.pid, v->name);
		return -EPERM;
	}
	return 0;
}
