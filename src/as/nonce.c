/*
 * Outstanding challenges, held in memory.
 *
 * Why not in the store: a challenge lives for seconds, and both its issue and its single
 * use would otherwise be a durable commit (two fsyncs per attestation). Keeping them here
 * loses nothing that matters: after a restart every outstanding challenge is unknown, so
 * an attester gets "nonce unknown" and asks for a new one, and a nonce can never be
 * answered twice, not even by restoring an old database. This is the same trade
 * Veraison's and Trustee's session caches make. A multi-instance deployment behind a
 * load balancer needs sticky sessions for the challenge/attest pair (documented).
 *
 * One mutex guards a chained hash table keyed by the 32 random nonce bytes (so the first
 * eight bytes are already a uniform hash). The table is bounded: when `max` challenges
 * are outstanding, expired ones are swept (at most once a second); if none is expired
 * the issue fails with TT_ERR_LIMIT (HTTP 503) instead of growing. There is no per-client
 * quota: a client that asks for challenges and never answers them can hold the table
 * full for nonce_ttl, which is why max_challenges and nonce_ttl are settings (and a
 * reverse proxy's rate limit is the place for per-source limits). Every issue also sweeps two buckets, so
 * expired entries of clients that never came back do not pile up until the table fills.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "as.h"
#include "turtle/error.h"

struct ent {
	struct ent *next;
	uint8_t nonce[TT_AS_NONCE_BYTES];
	int64_t expires_at;
	const char *tee;              /* the verifier table's static name */
	char *node_id;                /* NULL when the challenge named no node */
};

struct tt_as_nonces {
	pthread_mutex_t mu;
	struct ent **bucket;
	size_t nbuckets;              /* power of two */
	size_t count, max;
	size_t sweep;                 /* next bucket of the incremental sweep */
	int64_t last_full_sweep;      /* when full, sweep everything at most once a second */
};

static size_t
slot(const struct tt_as_nonces *t, const uint8_t *nonce)
{
	uint64_t h;

	memcpy(&h, nonce, sizeof(h));
	return (size_t)h & (t->nbuckets - 1);
}

static void
ent_free(struct ent *e)
{
	free(e->node_id);
	free(e);
}

int
tt_as_nonces_new(size_t max, struct tt_as_nonces **out)
{
	struct tt_as_nonces *t;
	size_t nb = 16;

	if (max == 0)
		return TT_ERR_INVALID_ARGUMENT;
	while (nb < max / 2 && nb < ((size_t)1 << 24))
		nb <<= 1;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return TT_ERR_NO_MEMORY;
	if ((t->bucket = calloc(nb, sizeof(*t->bucket))) == NULL) {
		free(t);
		return TT_ERR_NO_MEMORY;
	}
	pthread_mutex_init(&t->mu, NULL);
	t->nbuckets = nb;
	t->max = max;
	*out = t;
	return 0;
}

void
tt_as_nonces_free(struct tt_as_nonces *t)
{
	struct ent *e, *next;

	if (t == NULL)
		return;
	for (size_t i = 0; i < t->nbuckets; i++) {
		for (e = t->bucket[i]; e != NULL; e = next) {
			next = e->next;
			ent_free(e);
		}
	}
	pthread_mutex_destroy(&t->mu);
	free(t->bucket);
	free(t);
}

/* Drop the expired entries of bucket i. Called with the lock held. */
static void
sweep_bucket(struct tt_as_nonces *t, size_t i, int64_t now)
{
	struct ent **pp = &t->bucket[i], *e;

	while ((e = *pp) != NULL) {
		if (now > e->expires_at) {
			*pp = e->next;
			ent_free(e);
			t->count--;
		} else {
			pp = &e->next;
		}
	}
}

size_t
tt_as_nonces_count(struct tt_as_nonces *t)
{
	size_t n;

	pthread_mutex_lock(&t->mu);
	n = t->count;
	pthread_mutex_unlock(&t->mu);
	return n;
}

int
tt_as_nonce_issue(struct tt_as_nonces *t, const char *tee, const char *node_id,
	int64_t now, int64_t expires_at, char **nonce_out)
{
	struct ent *e;
	int r;

	if ((e = calloc(1, sizeof(*e))) == NULL)
		return TT_ERR_NO_MEMORY;
	if (node_id != NULL && (e->node_id = strdup(node_id)) == NULL) {
		ent_free(e);
		return TT_ERR_NO_MEMORY;
	}
	if (RAND_bytes(e->nonce, sizeof(e->nonce)) != 1) {
		ent_free(e);
		return TT_ERR_INSUFFICIENT_ENTROPY;
	}
	if ((r = tt_as_b64url_enc(e->nonce, sizeof(e->nonce), nonce_out)) != 0) {
		ent_free(e);
		return r;
	}
	e->tee = tee;
	e->expires_at = expires_at;
	pthread_mutex_lock(&t->mu);
	for (int k = 0; k < 2; k++) {
		sweep_bucket(t, t->sweep, now);
		t->sweep = (t->sweep + 1) & (t->nbuckets - 1);
	}
	if (t->count >= t->max && now != t->last_full_sweep) {
		/* O(table) under the lock: rate-limited, so a client that keeps the table
		 * full gets quick 503s instead of making every take wait for sweeps. */
		t->last_full_sweep = now;
		for (size_t i = 0; i < t->nbuckets; i++)
			sweep_bucket(t, i, now);
	}
	if (t->count >= t->max) {
		pthread_mutex_unlock(&t->mu);
		free(*nonce_out);
		*nonce_out = NULL;
		ent_free(e);
		return TT_ERR_LIMIT;
	}
	/* 256 random bits: a collision with an outstanding nonce is not a case to handle. */
	e->next = t->bucket[slot(t, e->nonce)];
	t->bucket[slot(t, e->nonce)] = e;
	t->count++;
	pthread_mutex_unlock(&t->mu);
	return 0;
}

int
tt_as_nonce_take(struct tt_as_nonces *t, const uint8_t *nonce, size_t len, int64_t now,
	struct tt_as_nonce *out)
{
	struct ent **pp, *e;
	int r;

	if (len != TT_AS_NONCE_BYTES)
		return TT_ERR_DOES_NOT_EXIST;
	pthread_mutex_lock(&t->mu);
	for (pp = &t->bucket[slot(t, nonce)]; (e = *pp) != NULL; pp = &e->next) {
		if (CRYPTO_memcmp(e->nonce, nonce, TT_AS_NONCE_BYTES) == 0)
			break;
	}
	if (e != NULL) {
		*pp = e->next;            /* taken: it can never be answered again */
		t->count--;
	}
	pthread_mutex_unlock(&t->mu);
	if (e == NULL)
		return TT_ERR_DOES_NOT_EXIST;
	r = TT_ERR_TIMEOUT;
	if (now <= e->expires_at) {
		r = TT_ERR_NO_MEMORY;
		memset(out, 0, sizeof(*out));
		if ((out->tee = strdup(e->tee)) != NULL) {
			out->node_id = e->node_id;
			e->node_id = NULL;
			out->expires_at = e->expires_at;
			r = 0;
		}
	}
	ent_free(e);
	return r;
}

void
tt_as_nonce_clear(struct tt_as_nonce *n)
{
	if (n == NULL)
		return;
	free(n->tee);
	free(n->node_id);
	memset(n, 0, sizeof(*n));
}
