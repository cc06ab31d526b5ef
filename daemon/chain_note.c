// SPDX-License-Identifier: GPL-2.0-only
/*
 * Checkpoints as signed notes (the C2SP tlog-checkpoint and signed-note
 * formats): the text is three lines, origin, tree size (the number of
 * records covered) and the base64 of the hash of the last record covered;
 * then a blank line and one line per signature,
 *
 *     U+2014 U+0020 <key name> U+0020 base64(key id, 4 bytes big-endian || signature)
 *
 * where the Ed25519 signature is over the text, its final newline included.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/chain.h"

#define EM_DASH "\xe2\x80\x94 "

int chain_note_sign(const struct chain_key *k, const struct chain_checkpoint *cp, char *out,
		    size_t outlen)
{
	uint8_t blob[4 + CHAIN_SIG_LEN];
	char b64hash[64], b64sig[128];
	uint32_t id = chain_key_id(k);
	int n, m;

	chain_base64_encode(cp->hash, CHAIN_HASH_LEN, b64hash);
	n = snprintf(out, outlen, "%s\n%" PRIu64 "\n%s\n", cp->origin, cp->size, b64hash);
	if (n < 0 || (size_t)n >= outlen)
		return -ENAMETOOLONG;
	blob[0] = (uint8_t)(id >> 24);
	blob[1] = (uint8_t)(id >> 16);
	blob[2] = (uint8_t)(id >> 8);
	blob[3] = (uint8_t)id;
	if (chain_key_sign(k, out, (size_t)n, blob + 4) < 0)
		return -EIO;
	chain_base64_encode(blob, sizeof(blob), b64sig);
	m = snprintf(out + n, outlen - (size_t)n, "\n" EM_DASH "%s %s\n", chain_key_name(k),
		     b64sig);
	if (m < 0 || (size_t)m >= outlen - (size_t)n)
		return -ENAMETOOLONG;
	return n + m;
}

/* One line at *pos in [text, end): its start and length, *pos moved past it. */
static bool next_line(const char *text, size_t len, size_t *pos, const char **line, size_t *n)
{
	const char *nl;

	if (*pos >= len)
		return false;
	*line = text + *pos;
	nl = memchr(*line, '\n', len - *pos);
	if (!nl)
		return false;
	*n = (size_t)(nl - *line);
	*pos += *n + 1;
	return true;
}

static int body_parse(const char *text, size_t len, size_t *pos, struct chain_checkpoint *cp,
		      char *why, size_t whylen)
{
	const char *l[3];
	size_t n[3];
	uint8_t hash[CHAIN_HASH_LEN + 3];
	char num[24], *end;

	for (int i = 0; i < 3; i++) {
		if (!next_line(text, len, pos, &l[i], &n[i]) || n[i] == 0) {
			snprintf(why, whylen, "not a checkpoint: line %d missing", i + 1);
			return -EINVAL;
		}
	}
	if (n[0] >= sizeof(cp->origin) || n[1] >= sizeof(num) || l[1][0] < '0' || l[1][0] > '9' ||
	    (l[1][0] == '0' && n[1] > 1)) {
		snprintf(why, whylen, "not a checkpoint: bad origin or tree size");
		return -EINVAL;
	}
	memcpy(cp->origin, l[0], n[0]);
	cp->origin[n[0]] = 0;
	memcpy(num, l[1], n[1]);
	num[n[1]] = 0;
	errno = 0;
	cp->size = strtoull(num, &end, 10);
	if (errno || *end ||
	    chain_base64_decode(l[2], n[2], hash, sizeof(hash)) != CHAIN_HASH_LEN) {
		snprintf(why, whylen, "not a checkpoint: bad tree size or hash");
		return -EINVAL;
	}
	memcpy(cp->hash, hash, CHAIN_HASH_LEN);
	/* Extension lines may follow; the body ends at the blank line. */
	while (*pos < len && text[*pos] != '\n') {
		const char *skip;
		size_t sn;

		if (!next_line(text, len, pos, &skip, &sn)) {
			snprintf(why, whylen, "not a checkpoint: no blank line before signatures");
			return -EINVAL;
		}
	}
	if (*pos >= len) {
		snprintf(why, whylen, "not a checkpoint: no signatures");
		return -EINVAL;
	}
	return 0;
}

/* A signature line: is it by k, and does it verify over the body? */
static int sig_check(const struct chain_key *k, const char *line, size_t n, const char *body,
		     size_t blen)
{
	size_t dash = strlen(EM_DASH), nlen = strlen(chain_key_name(k));
	uint8_t blob[4 + CHAIN_SIG_LEN + 2];
	uint32_t id;

	if (n < dash + nlen + 1 || memcmp(line + dash, chain_key_name(k), nlen) ||
	    line[dash + nlen] != ' ')
		return NOTE_NOT_SIGNED;
	if (chain_base64_decode(line + dash + nlen + 1, n - dash - nlen - 1, blob, sizeof(blob)) !=
	    4 + CHAIN_SIG_LEN)
		return NOTE_NOT_SIGNED;
	id = (uint32_t)blob[0] << 24 | (uint32_t)blob[1] << 16 | (uint32_t)blob[2] << 8 | blob[3];
	if (id != chain_key_id(k))
		return NOTE_NOT_SIGNED;
	return chain_key_verify(k, body, blen, blob + 4) ? NOTE_OK : NOTE_BAD_SIGNATURE;
}

int chain_note_parse(const char *text, size_t len, const struct chain_key *k,
		     struct chain_checkpoint *cp, size_t *used, char *why, size_t whylen)
{
	size_t pos = 0, blen, n, nsig = 0;
	const char *line;
	int verdict = k ? NOTE_NOT_SIGNED : NOTE_UNCHECKED, v;

	if (body_parse(text, len, &pos, cp, why, whylen) < 0)
		return NOTE_MALFORMED;
	blen = pos;
	pos++; /* the blank line */
	while (pos < len && len - pos >= strlen(EM_DASH) &&
	       !memcmp(text + pos, EM_DASH, strlen(EM_DASH))) {
		if (!next_line(text, len, &pos, &line, &n))
			break;
		nsig++;
		if (!k || verdict == NOTE_OK)
			continue;
		v = sig_check(k, line, n, text, blen);
		/* A bad signature by the key decides, as the spec asks. */
		if (v == NOTE_BAD_SIGNATURE) {
			snprintf(why, whylen, "signature by '%s' does not verify",
				 chain_key_name(k));
			return NOTE_BAD_SIGNATURE;
		}
		if (v == NOTE_OK)
			verdict = NOTE_OK;
	}
	if (used)
		*used = pos;
	if (nsig == 0) {
		snprintf(why, whylen, "not a checkpoint: no signature line");
		return NOTE_MALFORMED;
	}
	if (verdict == NOTE_NOT_SIGNED)
		snprintf(why, whylen, "no signature by key '%s' (id %08x)", chain_key_name(k),
			 chain_key_id(k));
	return verdict;
}
