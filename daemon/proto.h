/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The control socket's framing, shared by pinfoldd and the pinfold CLI.
 *
 * The socket is SOCK_SEQPACKET: one datagram is one message, a JSON object
 * of at most PROTO_MSG_MAX bytes. A "run" request carries the client's
 * stdin, stdout and stderr as SCM_RIGHTS. See docs/control-protocol.md.
 */
#ifndef PINFOLD_PROTO_H
#define PINFOLD_PROTO_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#define PROTO_MSG_MAX (64 * 1024)
#define PROTO_FDS_MAX 3
#define PROTO_DEFAULT_SOCKET "/run/pinfold/pinfoldd.sock"

/* Send msg with nfds descriptors attached. Returns 0 or a negative errno. */
int proto_send(int sock, json_t *msg, const int *fds, int nfds);
/* Send len bytes as one message with nfds (at most 253) descriptors, with
 * none of proto_send()'s limits: what a hostile client can send. */
int proto_send_bytes(int sock, const void *buf, size_t len, const int *fds, int nfds);

/*
 * Receive one message. On success returns 0, *msg is a new JSON object and
 * fds[0..*nfds) are the descriptors that came with it (close-on-exec).
 * Returns -EPIPE at end of stream, -EMSGSIZE for an oversized message,
 * -ETOOMANYREFS for one with more than PROTO_FDS_MAX descriptors, -EBADMSG
 * for one that is not a JSON object, or another negative errno. The
 * descriptors of a refused message are closed.
 */
int proto_recv(int sock, json_t **msg, int *fds, int *nfds);

/* Connect to the daemon's socket. Returns the fd or a negative errno. */
int proto_connect(const char *path);

/* Parse one message's bytes: 0 and a new JSON object, or -EBADMSG. */
int proto_decode(const char *buf, size_t len, json_t **msg);

/*
 * Who may call a verb (docs/control-protocol.md):
 * READ     root, and members of [control] read_groups or admin_groups
 * ADMIN    root, and members of [control] admin_groups
 * APPROVE  whoever the policy names as approver of the request at hand
 * DISPATCH root, and the users whose bound in users.d lets them launch
 *          the agent (checked when the session starts)
 * SESSION  only the connection that started the session it acts on
 * An agent's own processes may call none of them.
 */
enum proto_access { ACCESS_READ, ACCESS_ADMIN, ACCESS_APPROVE, ACCESS_DISPATCH,
		    ACCESS_SESSION };

#define PROTO_VERB_KEYS 8

struct proto_verb {
	const char *name;
	enum proto_access access;
	const char *shape;		/* jansson unpack format of the message */
	const char *keys[PROTO_VERB_KEYS];	/* the format's keys, in order */
};

/* The verb named by m, when m has exactly that verb's shape; otherwise
 * NULL with the reason in err. */
const struct proto_verb *proto_request_check(json_t *m, char *err, size_t errlen);
const struct proto_verb *proto_verb_find(const char *name);
const char *proto_access_name(enum proto_access a);

#endif
