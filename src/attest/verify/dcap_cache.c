/*
 * Cache of positive DCAP chain verifications, so that a service verifying many quotes
 * from the same platforms pays for Intel's certificate chains, CRLs and collateral
 * signatures once, not per quote.
 *
 * Why this is sound: an X.509 verification is a function of the bytes (anchor,
 * certificates, CRLs, signed text and signature) and of the time it is judged at. The key
 * is the SHA-256 of all those bytes; the entry records the interval in which every
 * certificate and CRL involved is valid (latest notBefore/thisUpdate to earliest
 * notAfter/nextUpdate), and a hit needs "now" inside it. Within that interval the same
 * bytes verify the same way, so a hit answers exactly what a fresh verification would.
 * Only successes are stored; a failure is always recomputed.
 *
 * Fixed size (TT_DCAP_CACHE_SIZE entries, replaced round-robin), one mutex; the values
 * handed out are copies or up-referenced certificates, so nothing is shared unlocked.
 *
 * The parsed collateral of the last TT_DCAP_COLLATERAL_CACHE JSON texts is kept too (the
 * parse is a function of the bytes; nothing in it is trusted before dcap_verify.c checks
 * its signatures, which it does on every use through the cache above). Entries are
 * reference-counted: a verification holds its copy while the cache may drop it.
 */
#include <pthread.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "dcap_internal.h"
#include "turtle/error.h"

#define TT_DCAP_CACHE_SIZE 256u

struct entry {
	bool used;
	uint8_t key[32];
	time_t lo, hi;
	X509 *leaf;
	bool has_ext;
	struct tt_dcap_pck_ext ext;
	char cn[64];
	char cn2[64];
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct entry cache[TT_DCAP_CACHE_SIZE];
static unsigned next_slot;

bool tt_dcap_cache_get(const uint8_t key[32], time_t now, X509 **leaf,
	struct tt_dcap_pck_ext *ext, char cn[64], char cn2[64])
{
	bool hit = false;

	pthread_mutex_lock(&lock);
	for (unsigned i = 0; i < TT_DCAP_CACHE_SIZE && !hit; i++) {
		struct entry *e = &cache[i];

		if (!e->used || CRYPTO_memcmp(e->key, key, 32) != 0 || now < e->lo || now > e->hi)
			continue;
		if (leaf != NULL) {
			if (e->leaf == NULL || X509_up_ref(e->leaf) != 1)
				break;
			*leaf = e->leaf;
		}
		if (ext != NULL) {
			if (!e->has_ext) {
				if (leaf != NULL) {
					X509_free(*leaf);
					*leaf = NULL;
				}
				break;
			}
			*ext = e->ext;
		}
		if (cn != NULL)
			memcpy(cn, e->cn, 64);
		if (cn2 != NULL)
			memcpy(cn2, e->cn2, 64);
		hit = true;
	}
	pthread_mutex_unlock(&lock);
	return hit;
}

void tt_dcap_cache_put(const uint8_t key[32], time_t lo, time_t hi, X509 *leaf,
	const struct tt_dcap_pck_ext *ext, const char *cn, const char *cn2)
{
	struct entry *e;

	if (lo > hi || (leaf != NULL && X509_up_ref(leaf) != 1))
		return;
	pthread_mutex_lock(&lock);
	e = &cache[next_slot];
	next_slot = (next_slot + 1) % TT_DCAP_CACHE_SIZE;
	X509_free(e->leaf);
	memset(e, 0, sizeof(*e));
	e->used = true;
	memcpy(e->key, key, 32);
	e->lo = lo;
	e->hi = hi;
	e->leaf = leaf;
	if (ext != NULL) {
		e->ext = *ext;
		e->has_ext = true;
	}
	if (cn != NULL) {
		strncpy(e->cn, cn, sizeof(e->cn) - 1);
		e->cn[sizeof(e->cn) - 1] = '\0';
	}
	if (cn2 != NULL) {
		strncpy(e->cn2, cn2, sizeof(e->cn2) - 1);
		e->cn2[sizeof(e->cn2) - 1] = '\0';
	}
	pthread_mutex_unlock(&lock);
}

/* Parsed collateral, keyed by the SHA-256 of its JSON. */
#define TT_DCAP_COLLATERAL_CACHE 16u

static struct {
	uint8_t key[32];
	struct tt_dcap_collateral *col;  /* holds one reference */
} colcache[TT_DCAP_COLLATERAL_CACHE];
static unsigned col_next;

void tt_dcap_collateral_release(struct tt_dcap_collateral *c)
{
	if (c != NULL && __atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL) == 0)
		tt_dcap_collateral_free(c);
}

int tt_dcap_collateral_shared(const char *json, size_t len, struct tt_dcap_collateral **out)
{
	struct tt_dcap_collateral *c = NULL, *old;
	uint8_t key[32];
	unsigned hl = 0;
	int r;

	if (json == NULL || out == NULL)
		return TT_ERR_INVALID_ARGUMENT;
	if (EVP_Digest(json, len, key, &hl, EVP_sha256(), NULL) != 1)
		return TT_ERR_NO_MEMORY;
	pthread_mutex_lock(&lock);
	for (unsigned i = 0; i < TT_DCAP_COLLATERAL_CACHE && c == NULL; i++) {
		if (colcache[i].col != NULL && CRYPTO_memcmp(colcache[i].key, key, 32) == 0) {
			c = colcache[i].col;
			__atomic_add_fetch(&c->refs, 1, __ATOMIC_ACQ_REL);
		}
	}
	pthread_mutex_unlock(&lock);
	if (c != NULL) {
		*out = c;
		return 0;
	}
	if ((r = tt_dcap_collateral_parse(json, len, &c)) != 0)
		return r;
	c->refs = 2;                           /* the caller's and the cache's */
	pthread_mutex_lock(&lock);
	old = colcache[col_next].col;
	memcpy(colcache[col_next].key, key, 32);
	colcache[col_next].col = c;
	col_next = (col_next + 1) % TT_DCAP_COLLATERAL_CACHE;
	pthread_mutex_unlock(&lock);
	tt_dcap_collateral_release(old);
	*out = c;
	return 0;
}

void tt_dcap_cache_flush(void)
{
	for (unsigned i = 0; i < TT_DCAP_COLLATERAL_CACHE; i++) {
		struct tt_dcap_collateral *old;

		pthread_mutex_lock(&lock);
		old = colcache[i].col;
		colcache[i].col = NULL;
		pthread_mutex_unlock(&lock);
		tt_dcap_collateral_release(old);
	}
	pthread_mutex_lock(&lock);
	for (unsigned i = 0; i < TT_DCAP_CACHE_SIZE; i++) {
		X509_free(cache[i].leaf);
		memset(&cache[i], 0, sizeof(cache[i]));
	}
	next_slot = 0;
	pthread_mutex_unlock(&lock);
}

/* Narrow [*lo, *hi] to the validity of one certificate or CRL time pair. */
static void narrow(const ASN1_TIME *from, const ASN1_TIME *to, time_t *lo, time_t *hi)
{
	struct tm tm;
	time_t t;

	if (from != NULL && ASN1_TIME_to_tm(from, &tm) == 1 && (t = timegm(&tm)) > *lo)
		*lo = t;
	if (to == NULL) {                     /* a CRL without nextUpdate: do not cache */
		*hi = *lo - 1;
		return;
	}
	if (ASN1_TIME_to_tm(to, &tm) == 1 && (t = timegm(&tm)) < *hi)
		*hi = t;
}

void tt_dcap_cache_window(X509 *root, STACK_OF(X509) *chain, X509_CRL *const *crls,
	unsigned ncrls, time_t *lo, time_t *hi)
{
	*lo = 0;
	*hi = (time_t)INT64_MAX;
	narrow(X509_get0_notBefore(root), X509_get0_notAfter(root), lo, hi);
	for (int i = 0; chain != NULL && i < sk_X509_num(chain); i++)
		narrow(X509_get0_notBefore(sk_X509_value(chain, i)),
			X509_get0_notAfter(sk_X509_value(chain, i)), lo, hi);
	for (unsigned i = 0; i < ncrls; i++)
		narrow(X509_CRL_get0_lastUpdate(crls[i]), X509_CRL_get0_nextUpdate(crls[i]), lo, hi);
}
