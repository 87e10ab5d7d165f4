/* Remembered verification facts: contract in memo.h. */
#include <pthread.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/err.h>

#include "memo.h"
#include "verify.h"
#include "turtle/error.h"

struct slot {
	uint8_t key[32];
	int64_t from, to;
	EVP_PKEY *pkey;
	X509 *cert;
	bool used;
};

static struct {
	struct slot s[TT_VERIFY_MEMO_SLOTS];
	unsigned next;
} tables[TT_VERIFY_MEMO_TABLES];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

int
tt_verify_memo_key(const char *tag, const uint8_t *const *part, const size_t *len, size_t n,
    uint8_t key[32])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t h[32];
	unsigned int hl;
	int e = TT_ERR_NO_MEMORY;

	if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(md, tag, strlen(tag) + 1) != 1)
		goto out;
	for (size_t i = 0; i < n; i++)
		if (EVP_Digest(part[i], len[i], h, &hl, EVP_sha256(), NULL) != 1 ||
		    EVP_DigestUpdate(md, h, hl) != 1)
			goto out;
	if (EVP_DigestFinal_ex(md, key, &hl) != 1)
		goto out;
	e = 0;
out:
	EVP_MD_CTX_free(md);
	return e;
}

int
tt_verify_x509_window(X509 *const *certs, size_t n, int64_t *from, int64_t *to)
{
	*from = INT64_MIN;
	*to = INT64_MAX;
	for (size_t i = 0; i < n; i++) {
		struct tm tb, ta;
		int64_t b, a;

		if (ASN1_TIME_to_tm(X509_get0_notBefore(certs[i]), &tb) != 1 ||
		    ASN1_TIME_to_tm(X509_get0_notAfter(certs[i]), &ta) != 1) {
			ERR_clear_error();
			return TT_ERR_DATA_INVALID;
		}
		/* OpenSSL's chain check takes a certificate as expired from its notAfter
		 * second on (X509_cmp_time counts "equal" as earlier), so the last second
		 * of the window is the one before. */
		b = (int64_t)timegm(&tb);
		a = (int64_t)timegm(&ta) - 1;
		if (b > *from)
			*from = b;
		if (a < *to)
			*to = a;
	}
	return 0;
}

int
tt_verify_memo_certs_key(const char *tag, X509 *const *certs, size_t n, uint8_t key[32],
    int64_t *from, int64_t *to)
{
	uint8_t h[TT_VERIFY_MEMO_CERTS][32];
	const uint8_t *part[TT_VERIFY_MEMO_CERTS];
	size_t len[TT_VERIFY_MEMO_CERTS];
	unsigned int hl;
	int e;

	if (n > TT_VERIFY_MEMO_CERTS)
		return TT_ERR_LIMIT;
	for (size_t i = 0; i < n; i++) {
		if (!X509_digest(certs[i], EVP_sha256(), h[i], &hl)) {
			ERR_clear_error();
			return TT_ERR_NO_MEMORY;
		}
		part[i] = h[i];
		len[i] = sizeof(h[i]);
	}
	if ((e = tt_verify_memo_key(tag, part, len, n, key)) != 0)
		return e;
	return tt_verify_x509_window(certs, n, from, to);
}

/* The slot holding key in table t, or NULL. Called with the lock held. */
static struct slot *
find(enum tt_verify_memo_table t, const uint8_t key[32])
{
	for (unsigned i = 0; i < TT_VERIFY_MEMO_SLOTS; i++) {
		struct slot *s = &tables[t].s[i];

		if (s->used && memcmp(s->key, key, 32) == 0)
			return s;
	}
	return NULL;
}

bool
tt_verify_memo_get(enum tt_verify_memo_table t, const uint8_t key[32], int64_t now,
    EVP_PKEY **pkey)
{
	struct slot *s;
	bool hit = false;

	if (pkey != NULL)
		*pkey = NULL;
	if ((unsigned)t >= TT_VERIFY_MEMO_TABLES)
		return false;
	pthread_mutex_lock(&lock);
	if ((s = find(t, key)) != NULL && now >= s->from && now <= s->to) {
		hit = true;
		if (pkey != NULL && s->pkey != NULL && EVP_PKEY_up_ref(s->pkey) == 1)
			*pkey = s->pkey;
		else if (pkey != NULL && s->pkey != NULL)
			hit = false;   /* could not take a reference: verify afresh */
	}
	pthread_mutex_unlock(&lock);
	return hit;
}

/* Store key with the references the caller passes in (the table owns them after). */
static void
put(enum tt_verify_memo_table t, const uint8_t key[32], int64_t from, int64_t to,
    EVP_PKEY *pkey, X509 *cert)
{
	EVP_PKEY *oldk;
	X509 *oldc;
	struct slot *s;

	pthread_mutex_lock(&lock);
	if ((s = find(t, key)) == NULL) {
		s = &tables[t].s[tables[t].next];
		tables[t].next = (tables[t].next + 1) % TT_VERIFY_MEMO_SLOTS;
	}
	oldk = s->pkey;
	oldc = s->cert;
	memcpy(s->key, key, 32);
	s->from = from;
	s->to = to;
	s->pkey = pkey;
	s->cert = cert;
	s->used = true;
	pthread_mutex_unlock(&lock);
	EVP_PKEY_free(oldk);
	X509_free(oldc);
}

void
tt_verify_memo_put(enum tt_verify_memo_table t, const uint8_t key[32], int64_t from,
    int64_t to, EVP_PKEY *pkey)
{
	if ((unsigned)t >= TT_VERIFY_MEMO_TABLES || t == TT_VERIFY_MEMO_CERT ||
	    (pkey != NULL && EVP_PKEY_up_ref(pkey) != 1))
		return;
	put(t, key, from, to, pkey, NULL);
}

int
tt_verify_memo_x509(const uint8_t *p, size_t n, bool zero_pad, X509 **out)
{
	const unsigned char *q = p;
	uint8_t key[32];
	struct slot *s;
	X509 *c;
	bool memo;

	*out = NULL;
	if (n > TT_VERIFY_MAX_COLLATERAL)
		return TT_ERR_LIMIT;
	/* Only certificates of an ordinary size are kept: the bytes come from evidence not yet
	 * verified, and 128 slots of the largest collateral would hold half a gigabyte. */
	memo = n <= TT_VERIFY_MEMO_CERT_MAX && tt_verify_memo_key(zero_pad ?
	    "x509-der-zero-pad" : "x509-der", &p, &n, 1, key) == 0;
	if (memo) {
		pthread_mutex_lock(&lock);
		if ((s = find(TT_VERIFY_MEMO_CERT, key)) != NULL && s->cert != NULL &&
		    X509_up_ref(s->cert) == 1)
			*out = s->cert;
		pthread_mutex_unlock(&lock);
		if (*out != NULL)
			return 0;
	}
	if ((c = d2i_X509(NULL, &q, (long)n)) == NULL) {
		ERR_clear_error();
		return TT_ERR_DATA_INVALID;
	}
	for (const unsigned char *t = q; t < p + n; t++)
		if (!zero_pad || *t != 0) {
			X509_free(c);
			return TT_ERR_DATA_INVALID;
		}
	if (memo && X509_up_ref(c) == 1)
		put(TT_VERIFY_MEMO_CERT, key, INT64_MIN, INT64_MAX, NULL, c);
	*out = c;
	return 0;
}

void
tt_verify_memo_flush(void)
{
	pthread_mutex_lock(&lock);
	for (unsigned t = 0; t < TT_VERIFY_MEMO_TABLES; t++) {
		for (unsigned i = 0; i < TT_VERIFY_MEMO_SLOTS; i++) {
			EVP_PKEY_free(tables[t].s[i].pkey);
			X509_free(tables[t].s[i].cert);
			memset(&tables[t].s[i], 0, sizeof(tables[t].s[i]));
		}
		tables[t].next = 0;
	}
	pthread_mutex_unlock(&lock);
}
