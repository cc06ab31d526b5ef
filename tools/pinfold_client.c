// SPDX-License-Identifier: GPL-2.0-only
/* Talking to pinfoldd: connect, and one request with its reply. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "daemon/proto.h"
#include "tools/pinfold.h"

#define REPLY_TIMEOUT_MS 10000

int cli_connect(const struct cli *c)
{
	int fd = proto_connect(c->socket_path);

	if (fd < 0) {
		fprintf(stderr, "pinfold: cannot reach pinfoldd at '%s': %s\n", c->socket_path,
			strerror(-fd));
		return -1;
	}
	return fd;
}

static int recv_reply(int sock, json_t **m)
{
	struct pollfd p = { sock, POLLIN, 0 };
	int fds[PROTO_FDS_MAX], nfds, r;

	do {
		if (poll(&p, 1, REPLY_TIMEOUT_MS) <= 0)
			return -ETIMEDOUT;
		r = proto_recv(sock, m, fds, &nfds);
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
	} while (r == -EAGAIN);
	return r;
}

json_t *cli_call(const struct cli *c, json_t *req)
{
	const char *verb = json_string_value(json_object_get(req, "verb"));
	json_t *m = NULL;
	int sock, r;

	sock = cli_connect(c);
	if (sock < 0)
		return NULL;
	r = proto_send(sock, req, NULL, 0);
	if (!r)
		r = recv_reply(sock, &m);
	close(sock);
	if (r) {
		fprintf(stderr, "pinfold: no answer to '%s' from pinfoldd: %s\n", verb,
			strerror(-r));
		return NULL;
	}
	if (!json_is_true(json_object_get(m, "ok"))) {
		fprintf(stderr, "pinfold: %s\n",
			json_string_value(json_object_get(m, "error")) ?: "request refused");
		json_decref(m);
		return NULL;
	}
	return m;
}
