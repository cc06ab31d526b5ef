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

int cli_recv_reply(int sock, json_t **m)
{
	struct pollfd p = { sock, POLLIN, 0 };
	int fds[PROTO_FDS_MAX], nfds, r;

	do {
		if (poll(&p, 1, 30000) <= 0)
			return -ETIMEDOUT;
		r = proto_recv(sock, m, fds, &nfds);
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
	} while (r == -EAGAIN);
	return r;
}

int cli_request(const struct cli *c, json_t *req, const int *fds, int nfds, json_t **reply)
{
	const char *verb = json_string_value(json_object_get(req, "verb"));
	int sock = cli_connect(c), r;

	*reply = NULL;
	if (sock < 0)
		return -1;
	r = proto_send(sock, req, fds, nfds);
	if (!r)
		r = cli_recv_reply(sock, reply);
	close(sock);
	if (r) {
		fprintf(stderr, "pinfold: no answer from pinfoldd to '%s': %s\n", verb, strerror(-r));
		return -1;
	}
	if (!json_is_true(json_object_get(*reply, "ok"))) {
		fprintf(stderr, "pinfold: %s\n",
			json_string_value(json_object_get(*reply, "error")) ?: "request refused");
		json_decref(*reply);
		*reply = NULL;
		return -1;
	}
	return 0;
}
