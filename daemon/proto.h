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

#include <stddef.h>

#include <jansson.h>

#define PROTO_MSG_MAX (64 * 1024)
#define PROTO_FDS_MAX 3
#define PROTO_DEFAULT_SOCKET "/run/pinfold/pinfoldd.sock"

/* Send msg with nfds descriptors attached. Returns 0 or a negative errno. */
int proto_send(int sock, json_t *msg, const int *fds, int nfds);

/*
 * Receive one message. On success returns 0, *msg is a new JSON object and
 * fds[0..*nfds) are the descriptors that came with it (close-on-exec).
 * Returns -EPIPE at end of stream, -EMSGSIZE for an oversized message,
 * -EBADMSG for one that is not a JSON object, or another negative errno.
 * Descriptors beyond PROTO_FDS_MAX, or sent with a bad message, are closed.
 */
int proto_recv(int sock, json_t **msg, int *fds, int *nfds);

/* Connect to the daemon's socket. Returns the fd or a negative errno. */
int proto_connect(const char *path);

#endif
