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
 * Cached values are shared between threads and never modified: jansson's reference
 * counts are atomic, and lookups do not write.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "as.h"
#include "turtle/error.h"

#define SLOTS 256u

struct slot {
	int kind;                     /* 0: empty */
	char *key;
	json_t *val;                  /* json_null() for "there is none" */
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

static void
slot_clear(struct slot *sl)
{
	free(sl->key);
	json_decref(sl->val);
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
tt_as_cache_get(struct tt_as_cache *c, int kind, const char *key, json_t **out,
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
		*out = json_incref(sl->val);
		r = 0;
	}
	pthread_mutex_unlock(&c->mu);
	return r;
}

void
tt_as_cache_put(struct tt_as_cache *c, int kind, const char *key, json_t *val, uint64_t gen)
{
	struct slot *sl, old = { 0 };
	char *k;

	if (c == NULL || c->ttl_ms == 0 || kind == 0 || val == NULL)
		return;
	if ((k = strdup(key)) == NULL)
		return;   /* not caching is always correct */
	sl = &c->s[slot_of(c, kind, key)];
	pthread_mutex_lock(&c->mu);
	if (gen != c->gen) {
		/* Loaded before an admin write finished: it may be stale. */
		pthread_mutex_unlock(&c->mu);
		free(k);
		return;
	}
	old = *sl;
	sl->kind = kind;
	sl->key = k;
	sl->val = json_incref(val);
	sl->loaded_ms = now_ms();
	pthread_mutex_unlock(&c->mu);
	free(old.key);
	json_decref(old.val);
}
