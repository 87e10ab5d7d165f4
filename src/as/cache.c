/*
 * A read-through cache of what every attestation reads and only admins write: the node
 * record, the group's valid reference values and the group's policy.
 *
 * Without it each attestation ran three SQLite queries and rebuilt the reference-value
 * object (one row per claim: a hundred for a 100-event log) and the node document from
 * text. Correctness rests on two rules:
 *   - every request that can change these (admin writes to nodes, reference values and
 *     policies, and AK activation) calls tt_as_cache_invalidate when it is done (the HTTP
 *     front does it from the route table, so a new admin route cannot forget), and a
 *     value loaded before an invalidation is never stored after it (generation check);
 *   - an entry lives at most `ttl_ms`, which bounds how late a reference value's own
 *     expiry time, or a write by another process sharing the store, is noticed.
 * ttl_ms = 0 disables the cache.
 *
 * Cached values are shared between threads and never modified. They are handed out as
 * struct tt_as_cached handles with their own atomic count, so that threads never touch a
 * shared json_t's reference count: jansson's json_incref/json_decref are atomic but read
 * the count non-atomically first, which ThreadSanitizer rightly reports.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "as.h"
#include "turtle/error.h"

#define SLOTS 256u

struct tt_as_cached {
	atomic_uint refs;
	json_t *val;                  /* json_null() for "there is none" */
};

struct slot {
	int kind;                     /* 0: empty */
	char *key;
	struct tt_as_cached *h;
	int64_t loaded_ms;
};

struct tt_as_cache {
	pthread_mutex_t mu;
	uint64_t gen;
	unsigned ttl_ms;
	uint32_t seed;
	struct slot s[SLOTS];
};

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* FNV-1a from a per-process random start: node ids come from clients (a challenge may
 * name any node), so which ids share a slot must not be predictable. Collisions only
 * cost a reload (keys are compared exactly). */
static size_t
slot_of(const struct tt_as_cache *c, int kind, const char *key)
{
	uint32_t h = c->seed ^ (uint32_t)kind;

	for (; *key != '\0'; key++)
		h = (h ^ (unsigned char)*key) * 16777619u;
	return h % SLOTS;
}

void
tt_as_cached_release(struct tt_as_cached *h)
{
	if (h != NULL && atomic_fetch_sub(&h->refs, 1) == 1) {
		json_decref(h->val);
		free(h);
	}
}

const json_t *
tt_as_cached_value(const struct tt_as_cached *h)
{
	return h != NULL && !json_is_null(h->val) ? h->val : NULL;
}

static void
slot_clear(struct slot *sl)
{
	free(sl->key);
	tt_as_cached_release(sl->h);
	memset(sl, 0, sizeof(*sl));
}

int
tt_as_cache_new(unsigned ttl_ms, struct tt_as_cache **out)
{
	struct tt_as_cache *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return TT_ERR_NO_MEMORY;
	if (RAND_bytes((unsigned char *)&c->seed, sizeof(c->seed)) != 1) {
		free(c);
		return TT_ERR_INSUFFICIENT_ENTROPY;
	}
	c->seed ^= 2166136261u;
	pthread_mutex_init(&c->mu, NULL);
	c->ttl_ms = ttl_ms;
	*out = c;
	return 0;
}

void
tt_as_cache_free(struct tt_as_cache *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < SLOTS; i++)
		slot_clear(&c->s[i]);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

void
tt_as_cache_invalidate(struct tt_as_cache *c)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&c->mu);
	c->gen++;
	for (size_t i = 0; i < SLOTS; i++)
		slot_clear(&c->s[i]);
	pthread_mutex_unlock(&c->mu);
}

int
tt_as_cache_get(struct tt_as_cache *c, int kind, const char *key, struct tt_as_cached **out,
	uint64_t *gen)
{
	struct slot *sl;
	int r = TT_ERR_DOES_NOT_EXIST;

	*out = NULL;
	*gen = 0;
	if (c == NULL || c->ttl_ms == 0)
		return r;
	sl = &c->s[slot_of(c, kind, key)];
	pthread_mutex_lock(&c->mu);
	*gen = c->gen;
	if (sl->kind == kind && strcmp(sl->key, key) == 0 &&
	    now_ms() - sl->loaded_ms < (int64_t)c->ttl_ms) {
		atomic_fetch_add(&sl->h->refs, 1);
		*out = sl->h;
		r = 0;
	}
	pthread_mutex_unlock(&c->mu);
	return r;
}

int
tt_as_cache_put(struct tt_as_cache *c, int kind, const char *key, json_t *val, uint64_t gen,
	struct tt_as_cached **out)
{
	struct tt_as_cached *h;
	struct slot *sl, old = { 0 };
	char *k = NULL;

	if ((h = calloc(1, sizeof(*h))) == NULL) {
		json_decref(val);
		return TT_ERR_NO_MEMORY;
	}
	atomic_init(&h->refs, 1);
	h->val = val;
	*out = h;
	if (c == NULL || c->ttl_ms == 0 || kind == 0 || (k = strdup(key)) == NULL)
		return 0;   /* not caching is always correct */
	sl = &c->s[slot_of(c, kind, key)];
	pthread_mutex_lock(&c->mu);
	if (gen != c->gen) {
		/* Loaded before an admin write finished: it may be stale. */
		pthread_mutex_unlock(&c->mu);
		free(k);
		return 0;
	}
	old = *sl;
	atomic_fetch_add(&h->refs, 1);
	sl->kind = kind;
	sl->key = k;
	sl->h = h;
	sl->loaded_ms = now_ms();
	pthread_mutex_unlock(&c->mu);
	free(old.key);
	tt_as_cached_release(old.h);
	return 0;
}
