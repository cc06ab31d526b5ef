// SPDX-License-Identifier: GPL-2.0-only
#include <stdio.h>
#include <string.h>

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
