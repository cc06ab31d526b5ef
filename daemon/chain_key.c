// SPDX-License-Identifier: GPL-2.0-only
/*
 * The checkpoint signing key: Ed25519 through OpenSSL EVP, kept in the
 * text forms of the signed-note ecosystem, so that a key can be handed to
 * a transparency-log witness as it is:
 *
 *     private  PRIVATE+KEY+<name>+<hex key id>+<base64(0x01 || seed)>
 *     public   <name>+<hex key id>+<base64(0x01 || public key)>
 *
 * with key id = SHA-256(name || "\n" || 0x01 || public key)[:4].
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "daemon/chain.h"
#include "daemon/chain_internal.h"

#define ED25519_ALG 0x01
#define SEED_LEN 32
#define PUB_LEN 32
#define KEY_FILE_MAX 512
#define PRIVATE_PREFIX "PRIVATE+KEY+"

struct chain_key {
	EVP_PKEY *pkey;
	bool private;
	char name[CHAIN_KEY_NAME_MAX];
	uint8_t pub[PUB_LEN];
	uint32_t id;
};

size_t chain_base64_encode(const uint8_t *in, size_t len, char *out)
{
	return (size_t)EVP_EncodeBlock((unsigned char *)out, in, (int)len);
}

/*
 * EVP_DecodeBlock counts padding as zero bytes; they are taken off here.
 * Only the canonical spelling decodes: the text must be what encoding the
 * bytes gives back, so the unused low bits of a last digit before '='
 * are zero. The writer emits nothing else, and otherwise a changed byte
 * of a signature line could decode to the same signature.
 */
int chain_base64_decode(const char *in, size_t len, uint8_t *out, size_t outmax)
{
	uint8_t buf[CHAIN_NOTE_MAX];
	char back[CHAIN_NOTE_MAX / 3 * 4 + 8];
	int n, rc = -1;

	if (len == 0 || len % 4 || len / 4 * 3 > sizeof(buf))
		return -1;
	n = EVP_DecodeBlock(buf, (const unsigned char *)in, (int)len);
	if (n < 0)
		return -1;
	if (in[len - 1] == '=')
		n--;
	if (in[len - 2] == '=')
		n--;
	if (n >= 0 && (size_t)n <= outmax && chain_base64_encode(buf, (size_t)n, back) == len &&
	    !memcmp(back, in, len)) {
		memcpy(out, buf, (size_t)n);
		rc = n;
	}
	/* It may have been key material. */
	OPENSSL_cleanse(buf, sizeof(buf));
	OPENSSL_cleanse(back, sizeof(back));
	return rc;
}

/* A name is non-empty printable ASCII without spaces or '+'. */
static bool name_ok(const char *name, size_t len)
{
	if (len == 0 || len >= CHAIN_KEY_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (name[i] <= 0x20 || name[i] >= 0x7f || name[i] == '+')
			return false;
	return true;
}

static uint32_t key_id_of(const char *name, const uint8_t pub[PUB_LEN])
{
	uint8_t buf[CHAIN_KEY_NAME_MAX + 2 + PUB_LEN], digest[32];
	size_t n = strlen(name);

	memcpy(buf, name, n);
	buf[n] = '\n';
	buf[n + 1] = ED25519_ALG;
	memcpy(buf + n + 2, pub, PUB_LEN);
	if (!EVP_Digest(buf, n + 2 + PUB_LEN, digest, NULL, EVP_sha256(), NULL))
		return 0;
	return (uint32_t)digest[0] << 24 | (uint32_t)digest[1] << 16 |
	       (uint32_t)digest[2] << 8 | digest[3];
}

static struct chain_key *key_from_pkey(EVP_PKEY *pkey, bool private, const char *name,
				       size_t nlen)
{
	struct chain_key *k = calloc(1, sizeof(*k));
	size_t plen = PUB_LEN;

	if (!k || EVP_PKEY_get_raw_public_key(pkey, k->pub, &plen) != 1 || plen != PUB_LEN) {
		free(k);
		EVP_PKEY_free(pkey);
		return NULL;
	}
	k->pkey = pkey;
	k->private = private;
	memcpy(k->name, name, nlen);
	k->id = key_id_of(k->name, k->pub);
	return k;
}

/* "NAME+HEXID+BASE64" at text; the key material is checked against the id. */
static int key_parse(const char *text, size_t len, bool private, struct chain_key **out,
		     char *why, size_t whylen)
{
	const char *p1 = memchr(text, '+', len), *p2;
	uint8_t raw[1 + SEED_LEN + 8];
	unsigned long id;
	char hex[9], *end;
	EVP_PKEY *pkey;
	int n;

	p2 = p1 ? memchr(p1 + 1, '+', len - (size_t)(p1 + 1 - text)) : NULL;
	if (!p1 || !p2 || !name_ok(text, (size_t)(p1 - text)) || p2 - p1 != 9)
		return chain_fail(why, whylen, -EINVAL, "not a key: expected NAME+KEYID+BASE64");
	memcpy(hex, p1 + 1, 8);
	hex[8] = 0;
	id = strtoul(hex, &end, 16);
	n = chain_base64_decode(p2 + 1, len - (size_t)(p2 + 1 - text), raw, sizeof(raw));
	if (*end || n != 1 + SEED_LEN || raw[0] != ED25519_ALG) {
		OPENSSL_cleanse(raw, sizeof(raw));
		return chain_fail(why, whylen, -EINVAL, "not an Ed25519 key");
	}
	pkey = private ? EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, raw + 1, SEED_LEN)
		       : EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw + 1, PUB_LEN);
	OPENSSL_cleanse(raw, sizeof(raw));
	*out = pkey ? key_from_pkey(pkey, private, text, (size_t)(p1 - text)) : NULL;
	if (!*out)
		return chain_fail(why, whylen, -EINVAL, "OpenSSL refuses the key");
	if ((*out)->id != id) {
		chain_key_free(*out);
		*out = NULL;
		return chain_fail(why, whylen, -EINVAL, "key id %s does not match the key", hex);
	}
	return 0;
}

int chain_key_parse_public(const char *vkey, struct chain_key **out, char *why, size_t whylen)
{
	size_t len = strcspn(vkey, "\r\n");

	return key_parse(vkey, len, false, out, why, whylen);
}

/* The file must be ours, a regular file, and readable by nobody else. */
static int key_read(const char *path, char *buf, size_t *len, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	ssize_t n;
	int e;

	if (fd < 0) {
		e = errno;
		return chain_fail(err, errlen, -e, "%s: %s", path,
			    e == ELOOP ? "is a symbolic link, refusing it" : strerror(e));
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 077)) {
		close(fd);
		return chain_fail(err, errlen, -EPERM,
			    "%s: must be a regular file of uid %u with mode 0600 (mode %04o)", path,
			    (unsigned)geteuid(), (unsigned)(st.st_mode & 07777));
	}
	n = read(fd, buf, KEY_FILE_MAX);
	e = errno;
	close(fd);
	if (n < 0)
		return chain_fail(err, errlen, -e, "%s: %s", path, strerror(e));
	if (n >= KEY_FILE_MAX)
		return chain_fail(err, errlen, -EFBIG, "%s: longer than a key (%d bytes or more)",
				  path, KEY_FILE_MAX);
	*len = (size_t)n;
	return 0;
}

int chain_key_load(const char *path, struct chain_key **out, char *err, size_t errlen)
{
	char buf[KEY_FILE_MAX], why[128];
	size_t len = 0, plen = strlen(PRIVATE_PREFIX);
	int rc = key_read(path, buf, &len, err, errlen);

	*out = NULL;
	if (rc < 0)
		return rc;
	len = strcspn(buf, "\r\n") < len ? strcspn(buf, "\r\n") : len;
	if (len <= plen || memcmp(buf, PRIVATE_PREFIX, plen))
		rc = chain_fail(err, errlen, -EINVAL, "%s: not a private key (no '%s')", path,
			  PRIVATE_PREFIX);
	else if (key_parse(buf + plen, len - plen, true, out, why, sizeof(why)) < 0)
		rc = chain_fail(err, errlen, -EINVAL, "%s: %s", path, why);
	OPENSSL_cleanse(buf, sizeof(buf));
	return rc;
}

/* The private key's text form, for a file; wiped by the caller. */
static int key_text(const struct chain_key *k, char *out, size_t outlen)
{
	uint8_t raw[1 + SEED_LEN];
	char b64[64];
	size_t len = SEED_LEN;
	int n;

	raw[0] = ED25519_ALG;
	if (EVP_PKEY_get_raw_private_key(k->pkey, raw + 1, &len) != 1 || len != SEED_LEN)
		return -EIO;
	chain_base64_encode(raw, sizeof(raw), b64);
	n = snprintf(out, outlen, PRIVATE_PREFIX "%s+%08x+%s\n", k->name, k->id, b64);
	OPENSSL_cleanse(raw, sizeof(raw));
	OPENSSL_cleanse(b64, sizeof(b64));
	return n > 0 && (size_t)n < outlen ? n : -ENAMETOOLONG;
}

static int key_generate(const char *name, struct chain_key **out)
{
	uint8_t seed[SEED_LEN];
	EVP_PKEY *pkey = NULL;

	if (RAND_priv_bytes(seed, sizeof(seed)) == 1)
		pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, SEED_LEN);
	OPENSSL_cleanse(seed, sizeof(seed));
	*out = pkey ? key_from_pkey(pkey, true, name, strlen(name)) : NULL;
	return *out ? 0 : -EIO;
}

/* O_EXCL: two daemons racing to create the key cannot both win. */
static int key_store(const char *path, const struct chain_key *k, char *err, size_t errlen)
{
	char text[KEY_FILE_MAX];
	int n = key_text(k, text, sizeof(text)), fd, e = 0;

	if (n < 0)
		return chain_fail(err, errlen, n, "%s: cannot encode the new key", path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, text, (size_t)n) != n || fsync(fd) < 0)
		e = errno ? errno : EIO;
	OPENSSL_cleanse(text, sizeof(text));
	if (fd >= 0 && close(fd) < 0 && !e)
		e = errno;
	if (e) {
		if (fd >= 0)
			unlink(path);
		return chain_fail(err, errlen, -e, "%s: cannot create: %s", path, strerror(e));
	}
	return 0;
}

int chain_key_load_or_create(const char *path, const char *name, struct chain_key **out,
			     char *err, size_t errlen)
{
	int rc;

	if (access(path, F_OK) == 0 || errno != ENOENT)
		return chain_key_load(path, out, err, errlen);
	if (!name_ok(name, strlen(name)))
		return chain_fail(err, errlen, -EINVAL,
				  "key name '%s': empty, or has a space or '+'", name);
	rc = key_generate(name, out);
	if (rc < 0)
		return chain_fail(err, errlen, rc, "%s: OpenSSL cannot make an Ed25519 key", path);
	rc = key_store(path, *out, err, errlen);
	if (rc < 0) {
		chain_key_free(*out);
		*out = NULL;
	}
	return rc;
}

void chain_key_free(struct chain_key *k)
{
	if (!k)
		return;
	EVP_PKEY_free(k->pkey);
	OPENSSL_cleanse(k, sizeof(*k));
	free(k);
}

const char *chain_key_name(const struct chain_key *k)
{
	return k->name;
}

uint32_t chain_key_id(const struct chain_key *k)
{
	return k->id;
}

int chain_key_public(const struct chain_key *k, char *out, size_t outlen)
{
	uint8_t raw[1 + PUB_LEN];
	char b64[64];
	int n;

	raw[0] = ED25519_ALG;
	memcpy(raw + 1, k->pub, PUB_LEN);
	chain_base64_encode(raw, sizeof(raw), b64);
	n = snprintf(out, outlen, "%s+%08x+%s", k->name, k->id, b64);
	return n > 0 && (size_t)n < outlen ? 0 : -ENAMETOOLONG;
}

int chain_key_sign(const struct chain_key *k, const void *msg, size_t len,
		   uint8_t sig[CHAIN_SIG_LEN])
{
	EVP_MD_CTX *ctx;
	size_t slen = CHAIN_SIG_LEN;
	int ok;

	if (!k->private)
		return -EINVAL;
	ctx = EVP_MD_CTX_new();
	ok = ctx && EVP_DigestSignInit(ctx, NULL, NULL, NULL, k->pkey) == 1 &&
	     EVP_DigestSign(ctx, sig, &slen, msg, len) == 1 && slen == CHAIN_SIG_LEN;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -EIO;
}

bool chain_key_verify(const struct chain_key *k, const void *msg, size_t len,
		      const uint8_t sig[CHAIN_SIG_LEN])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	bool ok = ctx && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, k->pkey) == 1 &&
		  EVP_DigestVerify(ctx, sig, CHAIN_SIG_LEN, msg, len) == 1;

	EVP_MD_CTX_free(ctx);
	return ok;
}
