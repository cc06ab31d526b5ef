/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Shared by daemon/chain*.c only: the record hasher that the writer and the
 * verifier each keep one of, so the hot loops fetch nothing and allocate
 * nothing per record.
 */
#ifndef PINFOLD_CHAIN_INTERNAL_H
#define PINFOLD_CHAIN_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "daemon/chain.h"

struct chain_hasher {
	const EVP_MD *md; /* process-wide, fetched once, never freed */
	EVP_MD_CTX *ctx;
};

/* Returns 0, or -ENOMEM / -ENOSYS (no SHA-256 in the OpenSSL providers). */
int chain_hasher_init(struct chain_hasher *h);
void chain_hasher_fini(struct chain_hasher *h);

/* out = SHA-256(tag || 0 || line || prev). False only if OpenSSL fails. */
bool chain_hasher_hash(struct chain_hasher *h, const char *line, size_t len,
		       const uint8_t prev[CHAIN_HASH_LEN], uint8_t out[CHAIN_HASH_LEN]);

/*
 * Verify the chain file open on fd (read-only), named name in messages:
 * chain_verify_path without the path lookup, for chain_open's recovery.
 */
int chain_verify_fd(int fd, const char *name, struct verify_result *r);

#endif
