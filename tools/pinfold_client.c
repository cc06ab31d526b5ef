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

int cli_request(const struct cli *c, json_t *req, const int *fds, int nfds, json_t **reply)
{
	int r = cli_request_full(c, req, fds, nfds, reply);

	if (r) {
		json_decref(*reply);
		*reply = NULL;
	}
	return r;
}

int cli_request_full(const struct cli *c, json_t *req, const int *fds, int nfds,
		     json_t **reply)
{
	const char *verb = json_string_value(json_object_get(req, "verb"));
	int sock = cli_connect(c), r;

	*reply = NULL;
	if (sock < 0)
		return -1;
	r = proto_send(sock, req, fds, nfds);
	if (!r)
		r = recv_reply(sock, reply);
	close(sock);
	if (r) {
		fprintf(stderr, "pinfold: no answer to '%s' from pinfoldd: %s\n", verb,
			strerror(-r));
		return -1;
	}
	if (!json_is_true(json_object_get(*reply, "ok"))) {
		fprintf(stderr, "pinfold: %s\n",
			json_string_value(json_object_get(*reply, "error")) ?: "request refused");
		return -1;
	}
	return 0;
}

int cli_json_flag(int argc, char **argv)
{
	if (argc == 1)
		return 0;
	if (argc == 2 && !strcmp(argv[1], "--json"))
		return 1;
	return -1;
}

int cli_list(struct cli *c, int argc, char **argv, const char *key, void (*print)(json_t *))
{
	int as_json = cli_json_flag(argc, argv), r;
	json_t *req, *reply, *item;
	size_t i;

	if (as_json < 0) {
		fprintf(stderr, "usage: pinfold %s [--json]\n", argv[0]);
		return 2;
	}
	req = json_pack("{s:s}", "verb", argv[0]);
	r = cli_request(c, req, NULL, 0, &reply);
	json_decref(req);
	if (r)
		return EXIT_PINFOLD;
	if (as_json) {
		json_dumpf(json_object_get(reply, key), stdout, JSON_INDENT(2));
		putchar('\n');
	} else {
		json_array_foreach(json_object_get(reply, key), i, item)
			print(item);
	}
	json_decref(reply);
	return 0;
}

json_t *cli_call(const struct cli *c, json_t *req)
{
	json_t *reply;

	return cli_request(c, req, NULL, 0, &reply) ? NULL : reply;
}
