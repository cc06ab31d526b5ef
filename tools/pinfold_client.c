// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "daemon/proto.h"
#include "tools/pinfold.h"

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
		if (poll(&p, 1, 10000) <= 0)
			return -ETIMEDOUT;
		r = proto_recv(sock, m, fds, &nfds);
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
	} while (r == -EAGAIN);
	return r;
}

int cli_request(const struct cli *c, json_t *req, const char *what, json_t **reply)
{
	int sock = cli_connect(c), r;
	json_t *m = NULL;

	if (sock < 0) {
		json_decref(req);
		return -1;
	}
	r = proto_send(sock, req, NULL, 0);
	json_decref(req);
	if (!r)
		r = recv_reply(sock, &m);
	close(sock);
	if (r) {
		fprintf(stderr, "pinfold: no %s from pinfoldd: %s\n", what, strerror(-r));
		return -1;
	}
	if (!json_is_true(json_object_get(m, "ok"))) {
		fprintf(stderr, "pinfold: %s\n",
			json_string_value(json_object_get(m, "error")) ?: "request refused");
		json_decref(m);
		return -1;
	}
	*reply = m;
	return 0;
}
