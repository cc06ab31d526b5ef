/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The control socket inside pinfoldd: connections, who is on each, and
 * the limits that keep one hostile client from starving the others.
 */
#ifndef PINFOLD_CONTROL_H
#define PINFOLD_CONTROL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "daemon/pinfoldd.h"
#include "daemon/proto.h"

#define PEER_GROUPS_MAX 256

struct peer {
	int sock;			/* the connection, for the lazy look-ups */
	struct ucred cred;		/* SO_PEERCRED, at connect time */
	gid_t groups[PEER_GROUPS_MAX];	/* primary, then SO_PEERGROUPS */
	size_t ngroups;
	bool groups_known;
	char user[64];			/* see peer_user() */
	bool user_known;
	bool agent;			/* in pinfold's cgroup tree, or unknown */
	bool agent_known;
};

/* Fill p with the kernel's credentials of the peer of sock. */
int peer_identify(int sock, struct peer *p);
/* The name of the peer's uid, "" when it has none. */
const char *peer_user(struct peer *p);
/* The peer's primary group, then its supplementary groups. */
const gid_t *peer_groups(struct peer *p, size_t *n);
/* 0 when p may call v, else -EPERM with the reason in err. An agent's
 * process may call nothing. */
int peer_authorize(struct daemon *d, struct peer *p, const struct proto_verb *v, char *err,
		   size_t errlen);

#endif
