// SPDX-License-Identifier: GPL-2.0-only
/*
 * A record object kept from one record to the next. The members of the
 * object before r->next are the record being built, exactly as a fresh
 * object would hold them; those from r->next on are what is left of the
 * last record. A set that finds its name at r->next replaces the value
 * there; any other set first drops the rest and then does what
 * json_object_set would do on the fresh object. tests/unit/test_chain.c
 * compares each record with one built anew.
 */
#include <string.h>

#include "daemon/chain.h"

json_t *chain_rec_begin(struct chain_rec *r)
{
	if (!r->obj)
		r->obj = json_object();
	r->next = r->obj ? json_object_iter(r->obj) : NULL;
	return r->obj;
}

/* The value the last record had at this place under key, or NULL. */
static json_t *left_at(const struct chain_rec *r, const char *key)
{
	if (!r->next || strcmp(json_object_iter_key(r->next), key))
		return NULL;
	return json_object_iter_value(r->next);
}

/* Deleting by the pair's own name is what jansson's docs show for
 * json_object_foreach_safe. */
static void drop_rest(struct chain_rec *r)
{
	while (r->next) {
		void *after = json_object_iter_next(r->obj, r->next);

		json_object_del(r->obj, json_object_iter_key(r->next));
		r->next = after;
	}
}

void chain_rec_set_new(struct chain_rec *r, const char *key, json_t *v)
{
	if (!r->obj || !v) {
		json_decref(v);
		return;
	}
	if (left_at(r, key)) {
		json_object_iter_set_new(r->obj, r->next, v);
		r->next = json_object_iter_next(r->obj, r->next);
		return;
	}
	drop_rest(r);
	json_object_set_new_nocheck(r->obj, key, v);
}

void chain_rec_set(struct chain_rec *r, const char *key, json_t *v)
{
	chain_rec_set_new(r, key, json_incref(v));
}

/* The last record's value at this place, when this record alone holds it
 * and it is of type t: it may be set anew. */
static json_t *reusable(const struct chain_rec *r, const char *key, json_type t)
{
	json_t *v = left_at(r, key);

	return v && json_typeof(v) == t && v->refcount == 1 ? v : NULL;
}

static void step(struct chain_rec *r)
{
	r->next = json_object_iter_next(r->obj, r->next);
}

void chain_rec_set_int(struct chain_rec *r, const char *key, json_int_t v)
{
	json_t *old = reusable(r, key, JSON_INTEGER);

	if (old && json_integer_set(old, v) == 0)
		step(r);
	else
		chain_rec_set_new(r, key, json_integer(v));
}

bool chain_rec_set_string(struct chain_rec *r, const char *key, const char *s)
{
	json_t *old = reusable(r, key, JSON_STRING), *v;

	if (old) {
		if (json_string_set(old, s) < 0)
			return false;
		step(r);
		return true;
	}
	v = json_string(s);
	if (!v)
		return false;
	chain_rec_set_new(r, key, v);
	return true;
}

void chain_rec_set_text(struct chain_rec *r, const char *key, const char *s, size_t len)
{
	json_t *old = reusable(r, key, JSON_STRING);

	if (old && json_string_setn_nocheck(old, s, len) == 0)
		step(r);
	else
		chain_rec_set_new(r, key, json_stringn_nocheck(s, len));
}

json_t *chain_rec_end(struct chain_rec *r)
{
	drop_rest(r);
	return r->obj;
}

void chain_rec_free(struct chain_rec *r)
{
	json_decref(r->obj);
	r->obj = NULL;
	r->next = NULL;
}
