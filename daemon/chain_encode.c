// SPDX-License-Identifier: GPL-2.0-only
/*
 * A line, encoded by jansson one key and one value at a time, so that what
 * recurs from record to record is encoded once: member names, the values
 * the daemon shares between records (the type, agent, rule and policy
 * hash, held as one json_t each; see audit_const), and integers that
 * repeat (a session's id, a uid, a pid). Every byte comes from jansson's
 * encoder; only the braces and the separators between members are placed
 * here, as jansson places them in compact form. tests/unit/test_chain.c
 * compares the result with jansson's encoding of the whole object.
 */
#include <stdlib.h>
#include <string.h>

#include "daemon/chain.h"
#include "daemon/chain_internal.h"

#define ENCODE_FLAGS (JSON_ENCODE_ANY | JSON_COMPACT)

void chain_frags_free(struct chain_frags *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < CHAIN_FRAG_KEYS; i++)
		free(f->ints[i]);
	free(f);
}

/* Fit a fragment at *at; false when the room is gone. */
static bool put(char *dst, size_t room, size_t *at, const char *src, size_t n)
{
	if (*at + n >= room)
		return false;
	memcpy(dst + *at, src, n);
	*at += n;
	return true;
}

/* jansson's encoding of v at *at. */
static bool dump_put(const json_t *v, char *dst, size_t room, size_t *at, bool *bad)
{
	size_t n = json_dumpb(v, dst + *at, room - *at, ENCODE_FLAGS);

	if (n == 0) {
		*bad = true;
		return false;
	}
	if (*at + n >= room)
		return false;
	*at += n;
	return true;
}

/* FNV-1a: member names differ mostly in their middle bytes. */
static size_t key_hash(const char *k, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)k[i]) * 16777619u;
	return h;
}

static bool key_fill(struct chain_frag *e, const char *k, size_t n)
{
	json_t *s = json_stringn_nocheck(k, n);
	size_t len = s ? json_dumpb(s, e->enc, sizeof(e->enc) - 1, ENCODE_FLAGS) : 0;

	json_decref(s);
	if (len == 0 || len >= sizeof(e->enc) - 1) {
		e->raw_len = 0;
		return false;
	}
	e->enc[len] = ':';
	e->enc_len = len + 1;
	memcpy(e->raw, k, n);
	e->raw_len = n;
	return true;
}

/*
 * The slot of "key": as jansson writes it, found within a few probes or
 * encoded now into the first free one (or the first probed, when all are
 * taken). -1 when the name is too long to keep.
 */
static long key_slot(struct chain_frags *f, const char *k, size_t n)
{
	size_t home = key_hash(k, n) % CHAIN_FRAG_KEYS, i = home;
	struct chain_frag *e;

	if (n == 0 || n > CHAIN_FRAG_RAW)
		return -1;
	for (int p = 0; p < CHAIN_FRAG_PROBES; p++, i = (i + 1) % CHAIN_FRAG_KEYS) {
		e = &f->keys[i];
		if (e->raw_len == n && !memcmp(e->raw, k, n))
			return (long)i;
		if (e->raw_len == 0)
			break;
	}
	if (f->keys[i].raw_len != 0)
		i = home;
	return key_fill(&f->keys[i], k, n) ? (long)i : -1;
}

/* "key": from the cache, or encoded by jansson into the line. */
static bool key_put(struct chain_frags *f, const char *k, size_t n, long slot, char *dst,
		    size_t room, size_t *at, bool *bad)
{
	json_t *s;
	bool ok;

	if (slot >= 0)
		return put(dst, room, at, f->keys[slot].enc, f->keys[slot].enc_len);
	s = json_stringn_nocheck(k, n);
	if (!s) {
		*bad = true;
		return false;
	}
	ok = dump_put(s, dst, room, at, bad) && put(dst, room, at, ":", 1);
	json_decref(s);
	return ok;
}

/*
 * A shared string's encoding, checked against its current content, so
 * that a string freed and another made at the same address is never
 * mistaken for it.
 */
static const struct chain_frag *string_frag(struct chain_frags *f, const json_t *v)
{
	size_t n = json_string_length(v), len;
	const char *s = json_string_value(v);
	struct chain_frag *e = &f->vals[((uintptr_t)v >> 4) % CHAIN_FRAG_VALS];

	if (n > CHAIN_FRAG_RAW)
		return NULL;
	if (e->owner == v && e->raw_len == n && !memcmp(e->raw, s, n))
		return e;
	len = json_dumpb(v, e->enc, sizeof(e->enc), ENCODE_FLAGS);
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

/*
 * An integer's encoding depends on its value alone, so it is kept by
 * value, in a table of the member's own: the values of a member that
 * never repeats (mono) then push out only each other, not a pid's.
 */
static bool int_put(struct chain_frags *f, long slot, const json_t *v, char *dst, size_t room,
		    size_t *at, bool *bad)
{
	json_int_t x = json_integer_value(v);
	struct chain_int_frag *e;
	size_t start = *at;

	if (slot < 0)
		return dump_put(v, dst, room, at, bad);
	if (!f->ints[slot])
		f->ints[slot] = calloc(CHAIN_FRAG_INTS, sizeof(*f->ints[slot]));
	if (!f->ints[slot])
		return dump_put(v, dst, room, at, bad);
	e = &f->ints[slot][(uint64_t)x % CHAIN_FRAG_INTS];
	if (e->len && e->val == x)
		return put(dst, room, at, e->enc, e->len);
	if (!dump_put(v, dst, room, at, bad))
		return false;
	if (*at - start <= sizeof(e->enc)) {
		memcpy(e->enc, dst + start, *at - start);
		e->len = (uint8_t)(*at - start);
		e->val = x;
	}
	return true;
}

static bool value_put(struct chain_frags *f, long slot, const json_t *v, char *dst,
		      size_t room, size_t *at, bool *bad)
{
	const struct chain_frag *e;

	if (json_is_integer(v))
		return int_put(f, slot, v, dst, room, at, bad);
	if (json_is_string(v) && v->refcount > 1) {
		e = string_frag(f, v);
		if (e)
			return put(dst, room, at, e->enc, e->enc_len);
	}
	return dump_put(v, dst, room, at, bad);
}

/* ,"k":v for each member of obj; the first without its comma when *first. */
static bool members_put(struct chain_frags *f, const json_t *obj, bool *first, char *dst,
			size_t room, size_t *at, bool *bad)
{
	/* The iterator calls alone: json_object_foreach looks each name up
	 * again to find the next member. */
	for (void *it = json_object_iter((json_t *)obj); it;
	     it = json_object_iter_next((json_t *)obj, it)) {
		const char *key = json_object_iter_key(it);
		size_t n = json_object_iter_key_len(it);
		long slot = key_slot(f, key, n);

		if ((!*first && !put(dst, room, at, ",", 1)) ||
		    !key_put(f, key, n, slot, dst, room, at, bad) ||
		    !value_put(f, slot, json_object_iter_value(it), dst, room, at, bad))
			return false;
		*first = false;
	}
	return true;
}

size_t chain_encode_line(struct chain_frags *f, const json_t *head, const json_t *rec,
			 char *dst, size_t room)
{
	size_t at = 0;
	bool bad = false, first = true;

	if (!put(dst, room, &at, "{", 1) || !members_put(f, head, &first, dst, room, &at, &bad) ||
	    !members_put(f, rec, &first, dst, room, &at, &bad) || !put(dst, room, &at, "}", 1))
		return bad ? 0 : room;
	return at;
}
