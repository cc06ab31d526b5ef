// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: the bytes of one control message, through the same
 * decoding and request checks pinfoldd applies before acting on it.
 * `make fuzz` runs it; tests/unit/test_control_request.c replays the
 * corpus in tests/fuzz/control under the sanitizers on every check.
 */
#include <stddef.h>
#include <stdint.h>

#include "daemon/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512];
	json_t *m;

	/* pinfoldd never reads more than this from one datagram. */
	if (size > PROTO_MSG_MAX)
		return 0;
	if (proto_decode((const char *)data, size, &m))
		return 0;
	proto_request_check(m, err, sizeof(err));
	json_decref(m);
	return 0;
}
