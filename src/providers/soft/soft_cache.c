/*
 * Bounded LRU cache of parsed keys by kid. Their secret parts live in OpenSSL's secure
 * heap (soft.c: secure_heap_init), so a core dump does not contain them; RSA key pairs
 * are only cached when configured to be (see tt_soft_cache_put).
 *
 * Unwrapping (AES-GCM) and parsing (an EC scalar multiplication, an RSA DER decode) cost
 * more than the signature they serve, so hot keys stay parsed. An entry remembers the
 * AAD and the wrapped reference it was built from; a lookup hits only when both match,
 * so the cache never answers for a record whose blob would not have unwrapped (a row
 * copied onto another identity still fails with TT_ERR_DATA_CORRUPT).
 *
 * One mutex guards the table and the LRU list; the critical section is a hash probe and
 * a few pointer moves. Entries hand out references, so an evicted key stays alive until
 * the last operation using it releases it.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "providers/soft/soft_int.h"
#include "turtle/error.h"

struct entry {
	uint8_t kid[TT_KEY_ID_LEN];
	uint8_t *id;             /* aad || ref (not secret: ref is ciphertext) */
	size_t aad_len, ref_len;
	struct soft_key *key;
	struct entry *hnext;
	struct entry *prev, *next;   /* LRU: head is most recent */
};

struct soft_cache {
	pthread_mutex_t mu;
	int rsa_pairs;           /* cache_rsa_key_pairs */
	size_t cap, n, nb;
	struct entry **b;
	struct entry *head, *tail;
};

static size_t
bucket(const struct soft_cache *sc, const uint8_t kid[TT_KEY_ID_LEN])
{
	uint64_t h;

	/* kids are random, so their first bytes are already a good hash */
	memcpy(&h, kid, sizeof(h));
	return (size_t)(h & (sc->nb - 1));
}

int
tt_soft_cache_new(size_t cap, int rsa_pairs, struct soft_cache **out)
{
	struct soft_cache *sc;

	if ((sc = calloc(1, sizeof(*sc))) == NULL)
		return TT_ERR_NO_MEMORY;
	sc->cap = cap;
	sc->rsa_pairs = rsa_pairs;
	for (sc->nb = 16; sc->nb < 2 * cap && sc->nb < ((size_t)1 << 20); sc->nb *= 2)
		;
	if ((sc->b = calloc(sc->nb, sizeof(*sc->b))) == NULL) {
		free(sc);
		return TT_ERR_NO_MEMORY;
	}
	pthread_mutex_init(&sc->mu, NULL);
	*out = sc;
	return 0;
}

static void
lru_unlink(struct soft_cache *sc, struct entry *e)
{
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		sc->head = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	else
		sc->tail = e->prev;
	e->prev = e->next = NULL;
}

static void
lru_push(struct soft_cache *sc, struct entry *e)
{
	e->prev = NULL;
	e->next = sc->head;
	if (sc->head != NULL)
		sc->head->prev = e;
	sc->head = e;
	if (sc->tail == NULL)
		sc->tail = e;
}

static struct entry *
find(struct soft_cache *sc, const uint8_t kid[TT_KEY_ID_LEN], struct entry ***link)
{
	struct entry **pp = &sc->b[bucket(sc, kid)];

	for (; *pp != NULL; pp = &(*pp)->hnext)
		if (memcmp((*pp)->kid, kid, TT_KEY_ID_LEN) == 0) {
			if (link != NULL)
				*link = pp;
			return *pp;
		}
	return NULL;
}

/* Unlink from both structures and free; the caller holds the lock. */
static void
remove_entry(struct soft_cache *sc, struct entry *e)
{
	struct entry **pp;

	if (find(sc, e->kid, &pp) == e)
		*pp = e->hnext;
	lru_unlink(sc, e);
	sc->n--;
	tt_soft_key_put(e->key);
	free(e->id);
	free(e);
}

void
tt_soft_cache_free(struct soft_cache *sc)
{
	if (sc == NULL)
		return;
	while (sc->head != NULL)
		remove_entry(sc, sc->head);
	pthread_mutex_destroy(&sc->mu);
	free(sc->b);
	free(sc);
}

struct soft_key *
tt_soft_cache_get(struct soft_cache *sc, const uint8_t kid[TT_KEY_ID_LEN],
    const uint8_t *aad, size_t aad_len, const uint8_t *ref, size_t ref_len)
{
	struct soft_key *k = NULL;
	struct entry *e;

	pthread_mutex_lock(&sc->mu);
	if ((e = find(sc, kid, NULL)) != NULL && e->aad_len == aad_len && e->ref_len == ref_len &&
	    memcmp(e->id, aad, aad_len) == 0 && memcmp(e->id + aad_len, ref, ref_len) == 0) {
		if (sc->head != e) {
			lru_unlink(sc, e);
			lru_push(sc, e);
		}
		k = tt_soft_key_get(e->key);
	}
	pthread_mutex_unlock(&sc->mu);
	return k;
}

void
tt_soft_cache_put(struct soft_cache *sc, const uint8_t kid[TT_KEY_ID_LEN],
    const uint8_t *aad, size_t aad_len, const uint8_t *ref, size_t ref_len, struct soft_key *k)
{
	struct entry *e, *old;
	size_t bi;

	if (sc->cap == 0)
		return;
	/*
	 * RSA key pairs are not cached unless the operator chose speed (cache_rsa_key_pairs):
	 * the first private operation makes OpenSSL keep Montgomery contexts for p and q
	 * inside the key, each with a copy of the prime in the ordinary heap, for as long as
	 * the key lives. Parsed per use, the key and those copies are cleared when the
	 * operation ends, at about twice the CPU per RSA-2048 signature (bench_soft_rsa).
	 */
	if (k->type == TT_KEY_TYPE_RSA_KEY_PAIR && !sc->rsa_pairs)
		return;
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return;
	if ((e->id = malloc(aad_len + ref_len + 1)) == NULL) {
		free(e);
		return;  /* a cache is best effort */
	}
	memcpy(e->kid, kid, TT_KEY_ID_LEN);
	memcpy(e->id, aad, aad_len);
	memcpy(e->id + aad_len, ref, ref_len);
	e->aad_len = aad_len;
	e->ref_len = ref_len;
	e->key = tt_soft_key_get(k);

	pthread_mutex_lock(&sc->mu);
	if ((old = find(sc, kid, NULL)) != NULL)
		remove_entry(sc, old);
	while (sc->n >= sc->cap && sc->tail != NULL)
		remove_entry(sc, sc->tail);
	bi = bucket(sc, kid);
	e->hnext = sc->b[bi];
	sc->b[bi] = e;
	lru_push(sc, e);
	sc->n++;
	pthread_mutex_unlock(&sc->mu);
}

void
tt_soft_cache_drop(struct soft_cache *sc, const uint8_t kid[TT_KEY_ID_LEN])
{
	struct entry *e;

	pthread_mutex_lock(&sc->mu);
	if ((e = find(sc, kid, NULL)) != NULL)
		remove_entry(sc, e);
	pthread_mutex_unlock(&sc->mu);
}
