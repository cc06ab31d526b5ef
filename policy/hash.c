// SPDX-License-Identifier: GPL-2.0-only
/*
 * The policy hash: SHA-256 over, for each file loaded and in load order,
 * its relative name, a NUL, its length as 8 bytes big-endian, its bytes.
 * The name and length keep two file sets with the same concatenated bytes
 * apart.
 */
#include <string.h>

#include "policy/policy_int.h"

EVP_MD_CTX *hash_begin(void)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	if (md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(md);
		return NULL;
	}
	return md;
}

int hash_file(EVP_MD_CTX *md, const char *name, const char *buf, size_t len)
{
	uint8_t be[8];
	uint64_t n = len;
	int i;

	for (i = 7; i >= 0; i--, n >>= 8)
		be[i] = n & 0xff;
	if (EVP_DigestUpdate(md, name, strlen(name) + 1) != 1 ||
	    EVP_DigestUpdate(md, be, sizeof(be)) != 1 ||
	    EVP_DigestUpdate(md, buf, len) != 1)
		return -1;
	return 0;
}

int hash_end(EVP_MD_CTX *md, uint8_t out[32], char hex[65])
{
	static const char digits[] = "0123456789abcdef";
	unsigned int n = 0;
	int ok, i;

	ok = EVP_DigestFinal_ex(md, out, &n) == 1 && n == 32;
	EVP_MD_CTX_free(md);
	if (!ok)
		return -1;
	for (i = 0; i < 32; i++) {
		hex[2 * i] = digits[out[i] >> 4];
		hex[2 * i + 1] = digits[out[i] & 0xf];
	}
	hex[64] = '\0';
	return 0;
}
