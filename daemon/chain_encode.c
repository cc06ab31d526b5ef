// SPDX-License-Identifier: GPL-2.0-only
/*
 * A record's members, encoded by jansson one key and one value at a time,
 * so that what recurs in every record is encoded once: member names, and
 * the values the daemon shares between records (the type, agent, rule and
 * policy hash, held as one json_t each; see audit_const). Every byte comes
 * from jansson's encoder; only the separators between members are placed
 * here, as jansson places them in compact form. tests/unit/test_chain.c
 * compares the result with jansson's encoding of the whole object.
 */
#include <string.h>

#include "daemon/chain.h"
#include "daemon/chain_internal.h"

/* Fit a fragment at *at; false when the room is gone. */
static bool put(char *dst, size_t room, size_t *at, const char *src, size_t n)
{
	if (*at + n >= room)
		return false;
	memcpy(dst + *at, src, n);
	*at += n;
	return true;
}

static size_t key_slot(const char *k, size_t n)
{
	return (n * 31 + (unsigned char)k[0] * 7 + (unsigned char)k[n - 1]) % CHAIN_FRAG_KEYS;
}

/* "key": as jansson writes it, from the cache or encoded now. */
static const struct chain_frag *key_frag(struct chain_frags *f, const char *k)
{
	size_t n = strlen(k), len;
	struct chain_frag *e;
	json_t *s;

	if (n == 0 || n > CHAIN_FRAG_RAW)
		return NULL;
	e = &f->keys[key_slot(k, n)];
	if (e->raw_len == n && !memcmp(e->raw, k, n))
		return e;
	s = json_string(k);
	len = s ? json_dumpb(s, e->enc, sizeof(e->enc) - 1, JSON_ENCODE_ANY | JSON_COMPACT) : 0;
	json_decref(s);
	if (len == 0 || len >= sizeof(e->enc) - 1) {
		e->raw_len = 0;
		return NULL;
	}
	e->enc[len] = ':';
	e->enc_len = len + 1;
	memcpy(e->raw, k, n);
	e->raw_len = n;
	return e;
}

/*
 * A shared string's encoding, checked against its current content, so
 * that a string freed and another made at the same address is never
 * mistaken for it.
 */
static const struct chain_frag *value_frag(struct chain_frags *f, const json_t *v)
{
	size_t n = json_string_length(v), len;
	const char *s = json_string_value(v);
	struct chain_frag *e = &f->vals[((uintptr_t)v >> 4) % CHAIN_FRAG_VALS];

	if (n > CHAIN_FRAG_RAW)
		return NULL;
	if (e->owner == v && e->raw_len == n && !memcmp(e->raw, s, n))
		return e;
	len = json_dumpb(v, e->enc, sizeof(e->enc), JSON_ENCODE_ANY | JSON_COMPACT);
	if (len == 0 || len > sizeof(e->enc)) {
		e->owner = NULL;
		return NULL;
	}
	e->enc_len = len;
	memcpy(e->raw, s, n);
	e->raw_len = n;
	e->owner = v;
	return e;
}

static bool value_put(struct chain_frags *f, const json_t *v, char *dst, size_t room,
		      size_t *at, bool *bad)
{
	const struct chain_frag *e = NULL;
	size_t n;

	if (json_is_string(v) && v->refcount > 1)
		e = value_frag(f, v);
	if (e)
		return put(dst, room, at, e->enc, e->enc_len);
	n = json_dumpb(v, dst + *at, room - *at, JSON_ENCODE_ANY | JSON_COMPACT);
	if (n == 0) {
		*bad = true;
		return false;
	}
	if (*at + n >= room)
		return false;
	*at += n;
	return true;
}

size_t chain_encode_members(struct chain_frags *f, const json_t *rec, char *dst, size_t room)
{
	const char *key;
	json_t *v;
	size_t at = 0;
	bool bad = false;

	json_object_foreach((json_t *)rec, key, v) {
		const struct chain_frag *k = key_frag(f, key);

		if (!k)
			return 0;
		if (!put(dst, room, &at, ",", 1) || !put(dst, room, &at, k->enc, k->enc_len) ||
		    !value_put(f, v, dst, room, &at, &bad))
			return bad ? 0 : room;
	}
	if (!put(dst, room, &at, "}", 1))
		return room;
	return at;
}
