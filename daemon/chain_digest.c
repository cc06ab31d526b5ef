// SPDX-License-Identifier: GPL-2.0-only
/*
 * The verifier's first pass: lines digested in batches ahead of the walk.
 *
 * A file is cut into batches at line ends, small ones first (a walk that
 * stops at an early record, as most checks of a tampered log do, then
 * hashes little past it) growing to BATCH_MAX. Up to nslots batches are
 * in flight: pool threads take the next undigested one; the walking
 * thread, whenever the batch it is to walk next is not ready, digests one
 * itself instead of waiting. So every CPU hashes all the time, and the
 * walk, which only compares, runs in the gaps. The lock is taken twice a
 * batch, never per line.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/chain_digest.h"

#define BATCH_FIRST (16u << 10)
#define BATCH_MAX (1u << 20)
#define SLOTS_MAX (2 * DIGEST_THREADS_MAX + 2)

/* ---- one line -------------------------------------------------------------- */

/*
 * Lowercase hex only: the writer emits nothing else. Eight digits at a
 * time, without branches or tables, since the verifier decodes one prev
 * a record: a digit's value is its low nibble, plus 9 for a letter; the
 * value encoded back must give the digit, which rejects anything else.
 * Each digit's value then joins the next one's in its byte, and the even
 * bytes are gathered into the four the eight digits make. The loads and
 * the store take the first digit as the lowest byte (little-endian).
 */
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "chain_unhex reads eight digits as a little-endian word"
#endif
bool chain_unhex(const char *s, uint8_t out[CHAIN_HASH_LEN])
{
	const uint64_t ones = 0x0101010101010101ull;
	uint64_t bad = 0;

	for (size_t i = 0; i < CHAIN_HASH_HEX_LEN; i += 8) {
		uint64_t x, letter, val, ge10, back, pairs;
		uint32_t bytes;

		memcpy(&x, s + i, 8);
		letter = (x >> 6) & ones;
		val = (x & 0x0f0f0f0f0f0f0f0full) + 9 * letter;
		ge10 = ((val + 0x7676767676767676ull) >> 7) & ones;
		back = val + 0x3030303030303030ull + 39 * ge10;
		bad |= back ^ x;
		pairs = ((val << 4) | (val >> 8)) & 0x00ff00ff00ff00ffull;
		pairs = (pairs | (pairs >> 8)) & 0x0000ffff0000ffffull;
		bytes = (uint32_t)(pairs | (pairs >> 16));
		memcpy(out + i / 2, &bytes, 4);
	}
	return bad == 0;
}

uint8_t chain_record_type(const char *t, size_t n)
{
	if (n == 7 && !memcmp(t, "genesis", 7))
		return T_GENESIS;
	if (n == 7 && !memcmp(t, "segment", 7))
		return T_SEGMENT;
	if (n == 9 && !memcmp(t, "retention", 9))
		return T_RETENTION;
	return T_OTHER;
}

/*
 * {"seq":N,"prev":"<64 hex>" then "}" or ",", optionally "type":"T".
 * N is a JSON integer without leading zeros that fits 63 bits.
 */
static bool prefix_parse(const char *l, size_t len, struct digest *d)
{
	static const char p1[] = "{\"seq\":", p2[] = ",\"prev\":\"", p3[] = ",\"type\":\"";
	size_t i = sizeof(p1) - 1, start;
	uint64_t seq = 0;

	if (len < sizeof(p1) || memcmp(l, p1, i))
		return false;
	start = i;
	while (i < len && l[i] >= '0' && l[i] <= '9' && i - start < 19)
		seq = seq * 10 + (uint64_t)(l[i++] - '0');
	if (i == start || (l[start] == '0' && i - start > 1) || (l[i] >= '0' && l[i] <= '9'))
		return false;
	if (len - i < sizeof(p2) - 1 + CHAIN_HASH_HEX_LEN + 2 ||
	    memcmp(l + i, p2, sizeof(p2) - 1))
		return false;
	i += sizeof(p2) - 1;
	if (!chain_unhex(l + i, d->claimed) || l[i + CHAIN_HASH_HEX_LEN] != '"')
		return false;
	i += CHAIN_HASH_HEX_LEN + 1;
	if (l[i] != ',' && l[i] != '}')
		return false;
	d->seq = seq;
	d->type = T_OTHER;
	if (len - i > sizeof(p3) && !memcmp(l + i, p3, sizeof(p3) - 1)) {
		const char *t = l + i + sizeof(p3) - 1;
		const char *q = memchr(t, '"', len - (size_t)(t - l));

		if (q && q - t < 16)
			d->type = chain_record_type(t, (size_t)(q - t));
	}
	return true;
}

static bool line_is_object(const char *line, size_t len)
{
	json_t *rec = json_loadb(line, len, RECORD_LOAD_FLAGS, NULL);
	bool ok = json_is_object(rec);

	json_decref(rec);
	return ok;
}

void chain_digest_line(struct chain_hasher *h, const char *buf, size_t off, size_t len,
		       uint64_t json_from, struct digest *d)
{
	const char *l = buf + off;

	d->off = off;
	d->len = len;
	d->flags = 0;
	d->type = T_OTHER;
	if (prefix_parse(l, len, d) && chain_hasher_hash(h, l, len, d->claimed, d->hash))
		d->flags = D_FAST;
	/* A line the walk judges with jansson anyway needs no load here. */
	if ((d->flags & D_FAST) && d->seq >= json_from && !line_is_object(l, len))
		d->flags |= D_NOT_OBJECT;
}

/* ---- batches ----------------------------------------------------------------- */

enum slot_state { SLOT_FREE, SLOT_BUSY, SLOT_DONE };

struct slot {
	size_t start, end;
	struct digest *d;
	size_t n, cap;
	bool oom;
	enum slot_state state;
};

struct digester {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	const char *buf;
	size_t cut, end;	/* the next batch begins at cut; the lines end at end */
	size_t batch;		/* the size of the next batch */
	uint64_t json_from;
	uint64_t claimed;	/* batches handed out */
	uint64_t released;	/* batches the walk is done with */
	bool holding;		/* the walk holds batch released */
	bool stop;
	size_t nslots;
	struct slot slots[SLOTS_MAX];
	pthread_t threads[DIGEST_THREADS_MAX];
	size_t nthreads;
	struct chain_hasher hasher;	/* the walking thread's */
};

/* The next batch to digest, under the lock; NULL when none may start. */
static struct slot *batch_claim(struct digester *g)
{
	struct slot *s;
	size_t end;
	const char *nl;

	if (g->stop || g->cut >= g->end || g->claimed - g->released >= g->nslots)
		return NULL;
	s = &g->slots[g->claimed % g->nslots];
	end = g->end - g->cut > g->batch ? g->cut + g->batch : g->end;
	if (end < g->end) {
		nl = memchr(g->buf + end, '\n', g->end - end);
		end = (size_t)(nl - g->buf) + 1;
	}
	s->start = g->cut;
	s->end = end;
	s->state = SLOT_BUSY;
	g->cut = end;
	g->claimed++;
	if (g->batch < BATCH_MAX)
		g->batch *= 4;
	return s;
}

static void batch_digest(struct digester *g, struct slot *s, struct chain_hasher *h)
{
	const char *buf = g->buf, *nl;
	size_t pos = s->start;

	s->n = 0;
	s->oom = false;
	while (pos < s->end) {
		if (s->n == s->cap) {
			size_t cap = s->cap ? 2 * s->cap : 256;
			struct digest *d = realloc(s->d, cap * sizeof(*d));

			if (!d) {
				s->oom = true;
				return;
			}
			s->d = d;
			s->cap = cap;
		}
		nl = memchr(buf + pos, '\n', s->end - pos);
		chain_digest_line(h, buf, pos, (size_t)(nl - (buf + pos)), g->json_from,
				  &s->d[s->n++]);
		pos = (size_t)(nl - buf) + 1;
	}
}

/* Digest s outside the lock; called and returns with it held. */
static void batch_run(struct digester *g, struct slot *s, struct chain_hasher *h)
{
	pthread_mutex_unlock(&g->mu);
	batch_digest(g, s, h);
	pthread_mutex_lock(&g->mu);
	s->state = SLOT_DONE;
	pthread_cond_broadcast(&g->cv);
}

static void *pool_run(void *arg)
{
	struct digester *g = arg;
	struct chain_hasher h;
	struct slot *s;

	/* Without a hasher of its own this thread leaves the work to the rest. */
	if (chain_hasher_init(&h) < 0) {
		chain_hasher_fini(&h);
		return NULL;
	}
	pthread_mutex_lock(&g->mu);
	while (!g->stop && g->cut < g->end) {
		s = batch_claim(g);
		if (s)
			batch_run(g, s, &h);
		else
			pthread_cond_wait(&g->cv, &g->mu);
	}
	pthread_mutex_unlock(&g->mu);
	chain_hasher_fini(&h);
	return NULL;
}

int digester_start(struct digester **out, const char *buf, size_t start, size_t end,
		   uint64_t json_from, size_t threads)
{
	struct digester *g = calloc(1, sizeof(*g));

	*out = g;
	if (!g)
		return -ENOMEM;
	if (threads < 1)
		threads = 1;
	if (threads > DIGEST_THREADS_MAX)
		threads = DIGEST_THREADS_MAX;
	pthread_mutex_init(&g->mu, NULL);
	pthread_cond_init(&g->cv, NULL);
	g->buf = buf;
	g->cut = start;
	g->end = end;
	g->batch = BATCH_FIRST;
	g->json_from = json_from;
	g->nslots = 2 * threads;
	if (chain_hasher_init(&g->hasher) < 0)
		return -ENOMEM;
	if (threads > 1)
		json_object_seed(0); /* seed the key hash before threads race to */
	for (size_t i = 1; i < threads; i++)
		if (pthread_create(&g->threads[g->nthreads], NULL, pool_run, g) == 0)
			g->nthreads++;
	return 0;
}

bool digester_next(struct digester *g, struct digest **d, size_t *n, bool *oom)
{
	struct slot *s, *mine;

	pthread_mutex_lock(&g->mu);
	if (g->holding) {
		g->slots[g->released % g->nslots].state = SLOT_FREE;
		g->released++;
		g->holding = false;
		pthread_cond_broadcast(&g->cv);
	}
	for (;;) {
		s = &g->slots[g->released % g->nslots];
		if (g->released < g->claimed && s->state == SLOT_DONE)
			break;
		if (g->released == g->claimed && g->cut >= g->end) {
			pthread_mutex_unlock(&g->mu);
			return false;
		}
		mine = batch_claim(g);
		if (mine)
			batch_run(g, mine, &g->hasher);
		else
			pthread_cond_wait(&g->cv, &g->mu);
	}
	g->holding = true;
	pthread_mutex_unlock(&g->mu);
	if (s->oom) {
		*oom = true;
		return false;
	}
	*d = s->d;
	*n = s->n;
	return true;
}

void digester_stop(struct digester *g)
{
	if (!g)
		return;
	pthread_mutex_lock(&g->mu);
	g->stop = true;
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->mu);
	for (size_t i = 0; i < g->nthreads; i++)
		pthread_join(g->threads[i], NULL);
	for (size_t i = 0; i < SLOTS_MAX; i++)
		free(g->slots[i].d);
	chain_hasher_fini(&g->hasher);
	pthread_cond_destroy(&g->cv);
	pthread_mutex_destroy(&g->mu);
	free(g);
}
