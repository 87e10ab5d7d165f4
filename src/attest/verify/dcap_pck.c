/*
 * X.509 side of DCAP: PEM chains, chain verification against the one anchor with CRLs at
 * a given time, the PCK certificate's SGX extensions, raw ECDSA P-256 signatures.
 *
 * The SGX extension (Intel "SGX PCK Certificate and CRL Profile") is a SEQUENCE of
 * SEQUENCE { OID, value }; the TCB entry's value is itself such a sequence, with the 16
 * component SVNs (.2.1-.2.16, INTEGER), PCESVN (.2.17, INTEGER) and CPUSVN (.2.18, OCTET
 * STRING). OpenSSL's generic d2i_ASN1_SEQUENCE_ANY does the DER decoding; this file only
 * walks the result and checks types and sizes.
 */
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "dcap_internal.h"
#include "turtle/error.h"

#define SGX_EXT_OID "1.2.840.113741.1.13.1"

STACK_OF(X509) *tt_dcap_pem_chain(const void *pem, size_t len)
{
	STACK_OF(X509) *sk = NULL;
	BIO *bio = NULL;
	X509 *x;

	if (pem == NULL || len == 0 || len > INT_MAX)
		return NULL;
	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL || (sk = sk_X509_new_null()) == NULL)
		goto fail;
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if (sk_X509_num(sk) >= (int)TT_DCAP_MAX_CHAIN || sk_X509_push(sk, x) <= 0) {
			X509_free(x);
			goto fail;
		}
	}
	ERR_clear_error();
	if (sk_X509_num(sk) == 0)
		goto fail;
	BIO_free(bio);
	return sk;
fail:
	ERR_clear_error();
	BIO_free(bio);
	sk_X509_pop_free(sk, X509_free);
	return NULL;
}

X509_CRL *tt_dcap_crl(const uint8_t *der, size_t len)
{
	const unsigned char *p = der;
	X509_CRL *crl;

	if (der == NULL || len == 0 || len > LONG_MAX)
		return NULL;
	crl = d2i_X509_CRL(NULL, &p, (long)len);
	if (crl != NULL && p != der + len) {
		X509_CRL_free(crl);
		crl = NULL;
	}
	ERR_clear_error();
	return crl;
}

int tt_dcap_chain_verify(X509 *root, STACK_OF(X509) *chain, X509_CRL *const *crls,
	unsigned ncrls, time_t now)
{
	X509_STORE *st = NULL;
	X509_STORE_CTX *ctx = NULL;
	STACK_OF(X509) *untrusted = NULL;
	X509_VERIFY_PARAM *vp;
	int rc = X509_V_ERR_UNSPECIFIED;

	if (root == NULL || chain == NULL || sk_X509_num(chain) < 1)
		return rc;
	if ((st = X509_STORE_new()) == NULL || X509_STORE_add_cert(st, root) != 1 ||
	    (untrusted = sk_X509_new_null()) == NULL)
		goto out;
	for (unsigned i = 0; i < ncrls; i++)
		if (crls[i] == NULL || X509_STORE_add_crl(st, crls[i]) != 1)
			goto out;
	/* Intermediates only: a self-signed certificate in the evidence never becomes an
	 * anchor, and a copy of the real root adds nothing. */
	for (int i = 1; i < sk_X509_num(chain); i++) {
		X509 *c = sk_X509_value(chain, i);

		if (X509_check_issued(c, c) == X509_V_OK)
			continue;
		if (sk_X509_push(untrusted, c) <= 0)
			goto out;
	}
	if ((ctx = X509_STORE_CTX_new()) == NULL ||
	    X509_STORE_CTX_init(ctx, st, sk_X509_value(chain, 0), untrusted) != 1)
		goto out;
	vp = X509_STORE_CTX_get0_param(ctx);
	X509_VERIFY_PARAM_set_time(vp, now);
	X509_VERIFY_PARAM_set_flags(vp, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL |
		X509_V_FLAG_X509_STRICT);
	X509_VERIFY_PARAM_clear_flags(vp, X509_V_FLAG_PARTIAL_CHAIN);
	if (X509_verify_cert(ctx) == 1)
		rc = X509_V_OK;
	else
		rc = X509_STORE_CTX_get_error(ctx);
out:
	ERR_clear_error();
	X509_STORE_CTX_free(ctx);
	sk_X509_free(untrusted);
	X509_STORE_free(st);
	return rc;
}

/* A DER SEQUENCE (of any types) that is all of der[0..len), or NULL. */
static STACK_OF(ASN1_TYPE) *seq_exact(const unsigned char *der, long len)
{
	const unsigned char *p = der;
	STACK_OF(ASN1_TYPE) *sk = d2i_ASN1_SEQUENCE_ANY(NULL, &p, len);

	if (sk != NULL && p != der + len) {
		sk_ASN1_TYPE_pop_free(sk, ASN1_TYPE_free);
		sk = NULL;
	}
	return sk;
}

/* The OID of entry i of a { OID, value } sequence list and its value. */
static int entry(const ASN1_TYPE *t, ASN1_OBJECT **oid, ASN1_TYPE **val,
	STACK_OF(ASN1_TYPE) **owned)
{
	STACK_OF(ASN1_TYPE) *sk;

	if (t->type != V_ASN1_SEQUENCE)
		return TT_ERR_DATA_INVALID;
	sk = seq_exact(t->value.sequence->data, t->value.sequence->length);
	if (sk == NULL ||
	    sk_ASN1_TYPE_num(sk) != 2 || sk_ASN1_TYPE_value(sk, 0)->type != V_ASN1_OBJECT) {
		sk_ASN1_TYPE_pop_free(sk, ASN1_TYPE_free);
		return TT_ERR_DATA_INVALID;
	}
	*oid = sk_ASN1_TYPE_value(sk, 0)->value.object;
	*val = sk_ASN1_TYPE_value(sk, 1);
	*owned = sk;
	return 0;
}

/* The last arc of oid if it is base.N (N < 64), else -1. */
static int arc_under(const ASN1_OBJECT *oid, const char *base)
{
	char txt[80];
	size_t bl = strlen(base);
	int n;

	if (OBJ_obj2txt(txt, sizeof(txt), oid, 1) <= 0 || strncmp(txt, base, bl) != 0 ||
	    txt[bl] != '.')
		return -1;
	n = 0;
	for (const char *p = txt + bl + 1; *p != '\0'; p++) {
		if (*p < '0' || *p > '9' || n > 64)
			return -1;
		n = n * 10 + (*p - '0');
	}
	return n;
}

static int octets(const ASN1_TYPE *v, uint8_t *out, size_t n)
{
	if (v->type != V_ASN1_OCTET_STRING || v->value.octet_string->length != (int)n)
		return TT_ERR_DATA_INVALID;
	memcpy(out, v->value.octet_string->data, n);
	return 0;
}

static int small_int(const ASN1_TYPE *v, int type, int64_t max, int64_t *out)
{
	int64_t x;
	int i;

	if (v->type != type)
		return TT_ERR_DATA_INVALID;
	if (type == V_ASN1_INTEGER)
		i = ASN1_INTEGER_get_int64(&x, v->value.integer);
	else
		i = ASN1_ENUMERATED_get_int64(&x, v->value.enumerated);
	if (i != 1 || x < 0 || x > max)
		return TT_ERR_DATA_INVALID;
	*out = x;
	return 0;
}

static int parse_tcb(const ASN1_TYPE *v, struct tt_dcap_pck_ext *e)
{
	STACK_OF(ASN1_TYPE) *sk = NULL;
	unsigned seen = 0;
	int r = TT_ERR_DATA_INVALID;

	if (v->type != V_ASN1_SEQUENCE)
		return r;
	if ((sk = seq_exact(v->value.sequence->data, v->value.sequence->length)) == NULL)
		goto out;
	for (int i = 0; i < sk_ASN1_TYPE_num(sk); i++) {
		STACK_OF(ASN1_TYPE) *kv = NULL;
		ASN1_OBJECT *oid;
		ASN1_TYPE *val;
		int64_t x;
		int arc, bad = 0;

		if (entry(sk_ASN1_TYPE_value(sk, i), &oid, &val, &kv) != 0)
			goto out;
		arc = arc_under(oid, SGX_EXT_OID ".2");
		if (arc >= 1 && arc <= 16) {
			bad = small_int(val, V_ASN1_INTEGER, 255, &x);
			e->comp_svn[arc - 1] = (uint8_t)x;
		} else if (arc == 17) {
			bad = small_int(val, V_ASN1_INTEGER, 65535, &x);
			e->pcesvn = (uint16_t)x;
		} else if (arc == 18) {
			bad = octets(val, e->cpusvn, 16);
		} else {
			bad = 1;
		}
		sk_ASN1_TYPE_pop_free(kv, ASN1_TYPE_free);
		if (bad || (seen & (1u << arc)))
			goto out;
		seen |= 1u << arc;
	}
	if (seen == 0x7fffeu)          /* arcs 1..18 each exactly once */
		r = 0;
out:
	sk_ASN1_TYPE_pop_free(sk, ASN1_TYPE_free);
	return r;
}

int tt_dcap_pck_ext_parse(X509 *pck, struct tt_dcap_pck_ext *out)
{
	struct tt_dcap_pck_ext e;
	STACK_OF(ASN1_TYPE) *sk = NULL;
	ASN1_OBJECT *obj = NULL;
	const ASN1_OCTET_STRING *data;
	unsigned seen = 0;
	int idx, r = TT_ERR_DATA_INVALID;

	memset(&e, 0, sizeof(e));
	if ((obj = OBJ_txt2obj(SGX_EXT_OID, 1)) == NULL)
		return TT_ERR_NO_MEMORY;
	idx = X509_get_ext_by_OBJ(pck, obj, -1);
	if (idx < 0 || X509_get_ext_by_OBJ(pck, obj, idx) >= 0)
		goto out;
	data = X509_EXTENSION_get_data(X509_get_ext(pck, idx));
	if ((sk = seq_exact(data->data, data->length)) == NULL)
		goto out;
	for (int i = 0; i < sk_ASN1_TYPE_num(sk); i++) {
		STACK_OF(ASN1_TYPE) *kv = NULL;
		ASN1_OBJECT *oid;
		ASN1_TYPE *val;
		int64_t x;
		int arc, bad = 0;

		if (entry(sk_ASN1_TYPE_value(sk, i), &oid, &val, &kv) != 0)
			goto out;
		arc = arc_under(oid, SGX_EXT_OID);
		switch (arc) {
		case 1: bad = octets(val, e.ppid, 16); break;
		case 2: bad = parse_tcb(val, &e); break;
		case 3: bad = octets(val, e.pce_id, 2); break;
		case 4: bad = octets(val, e.fmspc, 6); break;
		case 5:
			bad = small_int(val, V_ASN1_ENUMERATED, 2, &x);
			e.sgx_type = (int)x;
			break;
		default:
			/* Platform instance id, configuration (.6, .7) and later additions are
			 * not used; they are allowed once each. */
			bad = arc < 0 || arc > 31;
			break;
		}
		sk_ASN1_TYPE_pop_free(kv, ASN1_TYPE_free);
		if (bad || (seen & (1u << arc)))
			goto out;
		seen |= 1u << arc;
	}
	if ((seen & 0x3eu) != 0x3eu)   /* PPID, TCB, PCE-ID, FMSPC, SGX type */
		goto out;
	*out = e;
	r = 0;
out:
	ERR_clear_error();
	sk_ASN1_TYPE_pop_free(sk, ASN1_TYPE_free);
	ASN1_OBJECT_free(obj);
	return r;
}

EVP_PKEY *tt_dcap_p256_key(const uint8_t xy[64])
{
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pk = NULL;
	uint8_t pt[65];

	pt[0] = 0x04;
	memcpy(pt + 1, xy, 64);
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) != 1 ||
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt)) != 1 ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) != 1)
		pk = NULL;
	EVP_PKEY_CTX_free(ctx);
	/* fromdata does not check that the point is on the curve; do it here. */
	if (pk != NULL) {
		EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);

		if (c == NULL || EVP_PKEY_public_check(c) != 1) {
			EVP_PKEY_free(pk);
			pk = NULL;
		}
		EVP_PKEY_CTX_free(c);
	}
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	ERR_clear_error();
	return pk;
}

int tt_dcap_ecdsa_verify(EVP_PKEY *key, const uint8_t sig[64], const void *msg, size_t len)
{
	ECDSA_SIG *es = NULL;
	BIGNUM *r = NULL, *s = NULL;
	EVP_MD_CTX *md = NULL;
	unsigned char *der = NULL;
	int derlen, rc = -1;

	if ((es = ECDSA_SIG_new()) == NULL || (r = BN_bin2bn(sig, 32, NULL)) == NULL ||
	    (s = BN_bin2bn(sig + 32, 32, NULL)) == NULL)
		goto out;
	if (ECDSA_SIG_set0(es, r, s) != 1)
		goto out;
	r = s = NULL;
	if ((derlen = i2d_ECDSA_SIG(es, &der)) <= 0)
		goto out;
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key) != 1)
		goto out;
	rc = EVP_DigestVerify(md, der, (size_t)derlen, msg, len) == 1 ? 1 : 0;
out:
	ERR_clear_error();
	EVP_MD_CTX_free(md);
	OPENSSL_free(der);
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(es);
	return rc;
}

X509 *tt_dcap_load_root(const char *path)
{
	X509 *x = NULL;
	BIO *b = BIO_new_file(path, "r");

	if (b != NULL)
		x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	ERR_clear_error();
	return x;
}
