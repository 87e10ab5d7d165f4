/*
 * Certificate chains for the verifiers: parse DER/PEM bundles, verify a leaf to an anchor
 * at a caller-given time with OpenSSL's X509_STORE (which also handles the RSA-PSS
 * signatures on AMD's certificates), CRLs when the caller supplies them.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "turtle/error.h"
#include "util/hex.h"
#include "verify.h"

#define MAX_CERTS 16

static bool
is_pem(const uint8_t *data, size_t len)
{
	static const char tag[] = "-----BEGIN ";

	for (size_t i = 0; i < len && i < 256; i++)
		if (len - i >= sizeof(tag) - 1 && memcmp(data + i, tag, sizeof(tag) - 1) == 0)
			return true;
	return false;
}

/*
 * X509 and X509_CRL bundles are read the same way; the kind supplies the type's DER and
 * PEM readers and its free function, and the list is an untyped OpenSSL stack that the
 * public wrappers hand out under its typed name.
 */
struct der_kind {
	void *(*d2i)(const unsigned char **p, long len);
	void *(*pem_read)(BIO *bio);
	void (*free)(void *obj);
};

static void *
cert_d2i(const unsigned char **p, long len)
{
	return d2i_X509(NULL, p, len);
}

static void *
cert_pem_read(BIO *bio)
{
	return PEM_read_bio_X509(bio, NULL, NULL, NULL);
}

static void
cert_free(void *obj)
{
	X509_free(obj);
}

static void *
crl_d2i(const unsigned char **p, long len)
{
	return d2i_X509_CRL(NULL, p, len);
}

static void *
crl_pem_read(BIO *bio)
{
	return PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL);
}

static void
crl_free(void *obj)
{
	X509_CRL_free(obj);
}

static const struct der_kind cert_kind = { cert_d2i, cert_pem_read, cert_free };
static const struct der_kind crl_kind = { crl_d2i, crl_pem_read, crl_free };

static int
der_list_parse(const struct der_kind *kind, const uint8_t *data, size_t len,
    OPENSSL_STACK **out)
{
	OPENSSL_STACK *sk = NULL;
	BIO *bio = NULL;
	void *c = NULL;
	int r = TT_ERR_NO_MEMORY;

	if (data == NULL || len == 0 || len > TT_VERIFY_MAX_COLLATERAL || out == NULL)
		return TT_ERR_INVALID_ARGUMENT;
	if ((sk = OPENSSL_sk_new_null()) == NULL)
		goto out;
	if (!is_pem(data, len)) {
		const unsigned char *p = data;

		if ((c = kind->d2i(&p, (long)len)) == NULL || p != data + len) {
			r = TT_ERR_DATA_INVALID;
			goto out;
		}
		if (!OPENSSL_sk_push(sk, c))
			goto out;
		c = NULL;
	} else {
		if ((bio = BIO_new_mem_buf(data, (int)len)) == NULL)
			goto out;
		/* The PEM readers skip blocks of other types and stop at the end. */
		while ((c = kind->pem_read(bio)) != NULL) {
			if (OPENSSL_sk_num(sk) >= MAX_CERTS) {
				r = TT_ERR_LIMIT;
				goto out;
			}
			if (!OPENSSL_sk_push(sk, c))
				goto out;
			c = NULL;
		}
		if (OPENSSL_sk_num(sk) == 0) {
			r = TT_ERR_DATA_INVALID;
			goto out;
		}
	}
	*out = sk;
	sk = NULL;
	r = 0;
out:
	ERR_clear_error();
	if (c != NULL)
		kind->free(c);
	BIO_free(bio);
	OPENSSL_sk_pop_free(sk, kind->free);
	return r;
}

int
tt_verify_certs_parse(const uint8_t *data, size_t len, STACK_OF(X509) **out)
{
	OPENSSL_STACK *sk = NULL;
	int r;

	if (out == NULL)
		return TT_ERR_INVALID_ARGUMENT;
	if ((r = der_list_parse(&cert_kind, data, len, &sk)) == 0)
		*out = (STACK_OF(X509) *)sk;
	return r;
}

int
tt_verify_crls_parse(const uint8_t *data, size_t len, STACK_OF(X509_CRL) **out)
{
	OPENSSL_STACK *sk = NULL;
	int r;

	if (out == NULL)
		return TT_ERR_INVALID_ARGUMENT;
	if ((r = der_list_parse(&crl_kind, data, len, &sk)) == 0)
		*out = (STACK_OF(X509_CRL) *)sk;
	return r;
}

static int
map_verify_error(int e)
{
	switch (e) {
	case X509_V_ERR_CERT_NOT_YET_VALID:
	case X509_V_ERR_CERT_HAS_EXPIRED:
	case X509_V_ERR_CRL_NOT_YET_VALID:
	case X509_V_ERR_CRL_HAS_EXPIRED:
	case X509_V_ERR_CERT_REVOKED:
	case X509_V_ERR_UNABLE_TO_GET_CRL:
	case X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER:
		return TT_ERR_NOT_PERMITTED;
	default:
		return TT_ERR_INVALID_SIGNATURE;
	}
}

int
tt_verify_x509_chain(X509 *leaf, STACK_OF(X509) *untrusted, STACK_OF(X509) *anchors,
    STACK_OF(X509_CRL) *crls, int64_t now, const char **why)
{
	X509_STORE *st = NULL;
	X509_STORE_CTX *ctx = NULL;
	X509_VERIFY_PARAM *vp;
	unsigned long flags = X509_V_FLAG_PARTIAL_CHAIN | X509_V_FLAG_CHECK_SS_SIGNATURE;
	int r = TT_ERR_NO_MEMORY, e;

	if (why != NULL)
		*why = "out of memory";
	if (leaf == NULL || anchors == NULL || sk_X509_num(anchors) == 0)
		return TT_ERR_INVALID_ARGUMENT;
	if ((st = X509_STORE_new()) == NULL || (ctx = X509_STORE_CTX_new()) == NULL)
		goto out;
	for (int i = 0; i < sk_X509_num(anchors); i++) {
		X509 *a = sk_X509_value(anchors, i);

		/* OpenSSL takes a trust anchor as given even with X509_V_FLAG_CHECK_SS_SIGNATURE
		 * in a partial chain; a self-issued anchor must carry its own valid signature,
		 * so that a damaged copy is refused, not trusted. */
		if (X509_check_issued(a, a) == X509_V_OK && X509_verify(a, X509_get0_pubkey(a)) != 1) {
			if (why != NULL)
				*why = "trust anchor's self-signature does not verify";
			r = TT_ERR_INVALID_SIGNATURE;
			goto out;
		}
		if (!X509_STORE_add_cert(st, a))
			goto out;
	}
	if (!X509_STORE_CTX_init(ctx, st, leaf, untrusted))
		goto out;
	if (crls != NULL) {
		X509_STORE_CTX_set0_crls(ctx, crls);
		flags |= X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL;
	}
	vp = X509_STORE_CTX_get0_param(ctx);
	/* The anchors are trusted as given (PARTIAL_CHAIN): an intermediate anchor such as a
	 * vendor sub-CA ends the chain without its root. Time is the caller's. */
	X509_VERIFY_PARAM_set_flags(vp, flags);
	X509_VERIFY_PARAM_set_time(vp, (time_t)now);
	/* No purpose is set: vendor attestation certificates carry no TLS key usage, and
	 * every signature, name and validity check still applies. */
	if (X509_verify_cert(ctx) == 1) {
		r = 0;
		if (why != NULL)
			*why = NULL;
		goto out;
	}
	e = X509_STORE_CTX_get_error(ctx);
	if (why != NULL)
		*why = X509_verify_cert_error_string(e);
	r = map_verify_error(e);
out:
	ERR_clear_error();
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(st);
	return r;
}

void
tt_verify_x509_cn(X509 *c, char *out, size_t size)
{
	X509_NAME *n = c != NULL ? X509_get_subject_name(c) : NULL;

	if (size == 0)
		return;
	if (n == NULL || X509_NAME_get_text_by_NID(n, NID_commonName, out, (int)size) < 0)
		snprintf(out, size, "?");
}

int
tt_verify_x509_sha256(X509 *c, char out[65])
{
	uint8_t md[32];
	unsigned int n = 0;

	if (c == NULL || !X509_digest(c, EVP_sha256(), md, &n) || n != sizeof(md)) {
		ERR_clear_error();
		return TT_ERR_DATA_INVALID;
	}
	tt_hex_encode(md, sizeof(md), out);
	return 0;
}
