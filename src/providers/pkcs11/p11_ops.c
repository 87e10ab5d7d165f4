/*
 * Cryptographic operations of the PKCS#11 provider.
 *
 * Private-key operations run on the token. The op layer hands sign_hash the hash, so
 * ECDSA uses plain CKM_ECDSA (SoftHSM2 and many HSMs lack the combined CKM_ECDSA_SHA*),
 * RSA PKCS#1 v1.5 signs DigestInfo(hash) with CKM_RSA_PKCS, and PSS uses
 * CKM_RSA_PKCS_PSS with explicit parameters. PSA's ECDSA signature r || s is also
 * PKCS#11's format, so no conversion is needed on the token path.
 *
 * Public-key operations (verify, encrypt) run in OpenSSL from the public object by
 * default: they need no secret, cost no token round trip, and work while the token is
 * busy. software_public_operations = false sends them to the token instead.
 */
#include <string.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "providers/pkcs11/p11_int.h"
#include "turtle/error.h"
#include "util/log.h"
#include "util/mem.h"

#define P11_MAX_SIG 1024             /* RSA-8192 public keys: 1024 bytes */

struct hash_map {
	tt_alg_t alg;
	CK_MECHANISM_TYPE mech;
	CK_RSA_PKCS_MGF_TYPE mgf;
	const char *ossl;
	uint8_t oid_last;          /* 2.16.840.1.101.3.4.2.x; 0 for SHA-1 */
};

static const struct hash_map hashes[] = {
	{ TT_ALG_SHA_1, CKM_SHA_1, CKG_MGF1_SHA1, "SHA1", 0 },
	{ TT_ALG_SHA_224, CKM_SHA224, CKG_MGF1_SHA224, "SHA224", 4 },
	{ TT_ALG_SHA_256, CKM_SHA256, CKG_MGF1_SHA256, "SHA256", 1 },
	{ TT_ALG_SHA_384, CKM_SHA384, CKG_MGF1_SHA384, "SHA384", 2 },
	{ TT_ALG_SHA_512, CKM_SHA512, CKG_MGF1_SHA512, "SHA512", 3 },
};

static const struct hash_map *
hash_of(tt_alg_t h)
{
	for (size_t i = 0; i < sizeof(hashes) / sizeof(hashes[0]); i++)
		if (hashes[i].alg == h)
			return &hashes[i];
	return NULL;
}

/* DigestInfo(hash) for PKCS#1 v1.5 signatures (RFC 8017 section 9.2, note 1). */
static int
digest_info(const struct hash_map *hm, const uint8_t *hash, size_t hash_len, uint8_t *out, size_t *out_len)
{
	static const uint8_t sha1_prefix[] = {
		0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14,
	};
	uint8_t p[19] = {
		0x30, 0x00, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x00,
		0x05, 0x00, 0x04, 0x00,
	};

	if (hm->oid_last == 0) {
		memcpy(out, sha1_prefix, sizeof(sha1_prefix));
		memcpy(out + sizeof(sha1_prefix), hash, hash_len);
		*out_len = sizeof(sha1_prefix) + hash_len;
		return 0;
	}
	p[1] = (uint8_t)(0x11 + hash_len);
	p[14] = hm->oid_last;
	p[18] = (uint8_t)hash_len;
	memcpy(out, p, sizeof(p));
	memcpy(out + sizeof(p), hash, hash_len);
	*out_len = sizeof(p) + hash_len;
	return 0;
}

/* Hash-length rule: a concrete hash needs its exact length; no hash (ECDSA_ANY, raw
 * PKCS#1 v1.5) takes any non-empty input. */
static int
check_hash(tt_alg_t alg, size_t hash_len)
{
	tt_alg_t h = TT_ALG_GET_HASH(alg);

	if (h == TT_ALG_ANY_HASH)
		return TT_ERR_INVALID_ARGUMENT;
	if (h == TT_ALG_NONE)
		return hash_len == 0 || hash_len > 512 ? TT_ERR_INVALID_ARGUMENT : 0;
	return hash_len == tt_psa_hash_size(h) ? 0 : TT_ERR_INVALID_ARGUMENT;
}

static int
sig_check(const struct tt_key *k, tt_alg_t alg, size_t hash_len)
{
	if (!TT_ALG_IS_SIGN(alg))
		return TT_ERR_INVALID_ARGUMENT;
	if (tt_p11_sign_alg_ok(k->attrs.type, alg) != 0)
		return TT_ERR_NOT_SUPPORTED;
	if (TT_ALG_IS_RSA_PSS(alg) && TT_ALG_GET_HASH(alg) == TT_ALG_NONE)
		return TT_ERR_INVALID_ARGUMENT;
	return check_hash(alg, hash_len);
}

/* Mechanism and input for a signature on the token. `pss` holds the PSS parameters,
 * `buf` the DigestInfo when one is built. */
static int
sig_mech(const struct tt_key *k, tt_alg_t alg, const uint8_t *hash, size_t hash_len,
    CK_MECHANISM *m, CK_RSA_PKCS_PSS_PARAMS *pss, uint8_t *buf, const uint8_t **data, size_t *data_len)
{
	const struct hash_map *hm = hash_of(TT_ALG_GET_HASH(alg));

	memset(m, 0, sizeof(*m));
	*data = hash;
	*data_len = hash_len;
	if (TT_KEY_TYPE_IS_ECC(k->attrs.type)) {
		m->mechanism = CKM_ECDSA;
		return 0;
	}
	if (TT_ALG_IS_RSA_PSS(alg)) {
		if (hm == NULL)
			return TT_ERR_NOT_SUPPORTED;
		pss->hashAlg = hm->mech;
		pss->mgf = hm->mgf;
		pss->sLen = hash_len;
		m->mechanism = CKM_RSA_PKCS_PSS;
		m->pParameter = pss;
		m->ulParameterLen = sizeof(*pss);
		return 0;
	}
	m->mechanism = CKM_RSA_PKCS;
	if (TT_ALG_GET_HASH(alg) == TT_ALG_NONE)
		return 0;   /* raw PKCS#1 v1.5: the caller supplies the DigestInfo */
	if (hm == NULL)
		return TT_ERR_NOT_SUPPORTED;
	*data = buf;
	return digest_info(hm, hash, hash_len, buf, data_len);
}

int
tt_p11_sign_hash(void *ctx, const struct tt_key *k, tt_alg_t alg,
    const uint8_t *hash, size_t hash_len, struct tt_buf *sig)
{
	struct p11_ctx *c = ctx;
	struct p11_sess s;
	CK_MECHANISM m;
	CK_RSA_PKCS_PSS_PARAMS pss;
	CK_OBJECT_HANDLE h;
	uint8_t di[19 + 64], tmp[P11_MAX_SIG];
	const uint8_t *data;
	size_t data_len;
	CK_ULONG n;
	CK_RV rv;
	int r;

	if (!TT_KEY_TYPE_IS_KEY_PAIR(k->attrs.type))
		return TT_ERR_INVALID_ARGUMENT;
	if ((r = sig_check(k, alg, hash_len)) != 0)
		return r;
	if ((r = sig_mech(k, alg, hash, hash_len, &m, &pss, di, &data, &data_len)) != 0)
		return r;
	if ((r = tt_p11_get(c, &s)) != 0)
		return r;
	if ((r = tt_p11_find(c, &s, k->kid, CKO_PRIVATE_KEY, &h)) != 0)
		goto out;
	if ((rv = tt_p11_chk(&s, c->f->C_SignInit(s.h, &m, h))) != CKR_OK) {
		r = tt_p11_fail("C_SignInit", rv);
		goto out;
	}
	/* One call into a buffer for the largest key we accept: a size query first would
	 * leave the operation active on the pooled session if the second call never came. */
	n = sizeof(tmp);
	if ((rv = tt_p11_chk(&s, c->f->C_Sign(s.h, (CK_BYTE_PTR)data, data_len, tmp, &n))) != CKR_OK) {
		r = tt_p11_fail("C_Sign", rv);
		if (rv == CKR_DATA_LEN_RANGE || rv == CKR_DATA_INVALID)
			r = TT_ERR_INVALID_ARGUMENT;
		goto out;
	}
	r = tt_buf_put(sig, tmp, n);
out:
	tt_wipe(di, sizeof(di));
	tt_p11_put(c, &s);
	return r;
}

/* ---- verify ---- */

static int
verify_sw(struct p11_ctx *c, const struct tt_key *k, tt_alg_t alg,
    const uint8_t *hash, size_t hash_len, const uint8_t *sig, size_t sig_len)
{
	EVP_PKEY *pk = NULL;
	EVP_PKEY_CTX *pc = NULL;
	ECDSA_SIG *es = NULL;
	BIGNUM *br = NULL, *bs = NULL;
	unsigned char *der = NULL;
	const struct hash_map *hm = hash_of(TT_ALG_GET_HASH(alg));
	const EVP_MD *md = hm != NULL ? EVP_get_digestbyname(hm->ossl) : NULL;
	size_t clen;
	int n, ok, r;

	if ((r = tt_p11_public_pkey(c, k, &pk)) != 0)
		return r;
	r = TT_ERR_GENERIC;
	if ((pc = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL)) == NULL || EVP_PKEY_verify_init(pc) <= 0)
		goto out;
	if (TT_ALG_IS_RSA_PKCS1V15_SIGN(alg)) {
		ok = EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING) > 0 &&
		    (md == NULL || EVP_PKEY_CTX_set_signature_md(pc, md) > 0);
	} else if (TT_ALG_IS_RSA_PSS(alg)) {
		ok = md != NULL && EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING) > 0 &&
		    EVP_PKEY_CTX_set_signature_md(pc, md) > 0 &&
		    EVP_PKEY_CTX_set_rsa_mgf1_md(pc, md) > 0 &&
		    EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, RSA_PSS_SALTLEN_DIGEST) > 0;
	} else {
		ok = 1;
	}
	if (!ok)
		goto out;
	if (TT_ALG_IS_ECDSA(alg)) {
		/* OpenSSL verifies DER; PSA hands r || s. */
		clen = tt_p11_ecc_bytes(k->attrs.bits);
		r = TT_ERR_INVALID_SIGNATURE;
		if (clen == 0 || sig_len != 2 * clen)
			goto out;
		r = TT_ERR_NO_MEMORY;
		if ((es = ECDSA_SIG_new()) == NULL ||
		    (br = BN_bin2bn(sig, (int)clen, NULL)) == NULL ||
		    (bs = BN_bin2bn(sig + clen, (int)clen, NULL)) == NULL || !ECDSA_SIG_set0(es, br, bs))
			goto out;
		br = bs = NULL;
		if ((n = i2d_ECDSA_SIG(es, &der)) <= 0)
			goto out;
		r = EVP_PKEY_verify(pc, der, (size_t)n, hash, hash_len) == 1 ? 0 : TT_ERR_INVALID_SIGNATURE;
	} else {
		r = EVP_PKEY_verify(pc, sig, sig_len, hash, hash_len) == 1 ? 0 : TT_ERR_INVALID_SIGNATURE;
	}
out:
	OPENSSL_free(der);
	BN_free(br);
	BN_free(bs);
	ECDSA_SIG_free(es);
	EVP_PKEY_CTX_free(pc);
	EVP_PKEY_free(pk);
	return r;
}

static int
verify_token(struct p11_ctx *c, const struct tt_key *k, tt_alg_t alg,
    const uint8_t *hash, size_t hash_len, const uint8_t *sig, size_t sig_len)
{
	struct p11_sess s;
	CK_MECHANISM m;
	CK_RSA_PKCS_PSS_PARAMS pss;
	CK_OBJECT_HANDLE h;
	uint8_t di[19 + 64];
	const uint8_t *data;
	size_t data_len;
	CK_RV rv;
	int r;

	if (sig_len > P11_MAX_SIG)
		return TT_ERR_INVALID_SIGNATURE;
	if ((r = sig_mech(k, alg, hash, hash_len, &m, &pss, di, &data, &data_len)) != 0)
		return r;
	if ((r = tt_p11_get(c, &s)) != 0)
		return r;
	if ((r = tt_p11_find(c, &s, k->kid, CKO_PUBLIC_KEY, &h)) != 0)
		goto out;
	if ((rv = tt_p11_chk(&s, c->f->C_VerifyInit(s.h, &m, h))) != CKR_OK) {
		r = tt_p11_fail("C_VerifyInit", rv);
		goto out;
	}
	rv = tt_p11_chk(&s, c->f->C_Verify(s.h, (CK_BYTE_PTR)data, data_len, (CK_BYTE_PTR)sig, sig_len));
	if (rv == CKR_SIGNATURE_INVALID || rv == CKR_SIGNATURE_LEN_RANGE)
		r = TT_ERR_INVALID_SIGNATURE;
	else
		r = rv == CKR_OK ? 0 : tt_p11_fail("C_Verify", rv);
out:
	tt_p11_put(c, &s);
	return r;
}

int
tt_p11_verify_hash(void *ctx, const struct tt_key *k, tt_alg_t alg,
    const uint8_t *hash, size_t hash_len, const uint8_t *sig, size_t sig_len)
{
	struct p11_ctx *c = ctx;
	int r;

	if ((r = sig_check(k, alg, hash_len)) != 0)
		return r;
	return c->sw_public ? verify_sw(c, k, alg, hash, hash_len, sig, sig_len) :
	    verify_token(c, k, alg, hash, hash_len, sig, sig_len);
}

/* ---- RSA encryption ---- */

static int
asym_check(const struct tt_key *k, tt_alg_t alg, int enc, size_t salt_len)
{
	if (TT_ALG_CATEGORY(alg) != TT_ALG_CATEGORY_ASYM_ENC)
		return TT_ERR_INVALID_ARGUMENT;
	if (tt_p11_asym_alg_ok(k->attrs.type, alg) != 0)
		return TT_KEY_TYPE_IS_RSA(k->attrs.type) ? TT_ERR_NOT_SUPPORTED : TT_ERR_INVALID_ARGUMENT;
	if (!enc && !TT_KEY_TYPE_IS_KEY_PAIR(k->attrs.type))
		return TT_ERR_INVALID_ARGUMENT;
	if (alg == TT_ALG_RSA_PKCS1V15_CRYPT && salt_len > 0)
		return TT_ERR_INVALID_ARGUMENT;
	if (salt_len > 4096)
		return TT_ERR_INVALID_ARGUMENT;
	return 0;
}

static void
asym_mech(tt_alg_t alg, const uint8_t *salt, size_t salt_len, CK_MECHANISM *m, CK_RSA_PKCS_OAEP_PARAMS *oaep)
{
	const struct hash_map *hm = hash_of(TT_ALG_GET_HASH(alg));

	memset(m, 0, sizeof(*m));
	if (alg == TT_ALG_RSA_PKCS1V15_CRYPT || hm == NULL) {
		m->mechanism = CKM_RSA_PKCS;
		return;
	}
	memset(oaep, 0, sizeof(*oaep));
	oaep->hashAlg = hm->mech;
	oaep->mgf = hm->mgf;
	oaep->source = CKZ_DATA_SPECIFIED;
	/* PSA's "salt" for OAEP is the label. */
	oaep->pSourceData = salt_len > 0 ? (void *)salt : NULL;
	oaep->ulSourceDataLen = salt_len;
	m->mechanism = CKM_RSA_PKCS_OAEP;
	m->pParameter = oaep;
	m->ulParameterLen = sizeof(*oaep);
}

static int
encrypt_sw(struct p11_ctx *c, const struct tt_key *k, tt_alg_t alg,
    const uint8_t *in, size_t in_len, const uint8_t *salt, size_t salt_len, struct tt_buf *out)
{
	const struct hash_map *hm = hash_of(TT_ALG_GET_HASH(alg));
	EVP_PKEY *pk = NULL;
	EVP_PKEY_CTX *pc = NULL;
	const EVP_MD *md;
	unsigned char *label = NULL;
	uint8_t *dst;
	size_t n = 0;
	int r;

	if ((r = tt_p11_public_pkey(c, k, &pk)) != 0)
		return r;
	r = TT_ERR_GENERIC;
	if ((pc = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL)) == NULL || EVP_PKEY_encrypt_init(pc) <= 0)
		goto out;
	if (alg == TT_ALG_RSA_PKCS1V15_CRYPT) {
		if (EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING) <= 0)
			goto out;
	} else {
		md = hm != NULL ? EVP_get_digestbyname(hm->ossl) : NULL;
		if (md == NULL || EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_OAEP_PADDING) <= 0 ||
		    EVP_PKEY_CTX_set_rsa_oaep_md(pc, md) <= 0 || EVP_PKEY_CTX_set_rsa_mgf1_md(pc, md) <= 0)
			goto out;
		if (salt_len > 0) {
			if ((label = OPENSSL_memdup(salt, salt_len)) == NULL ||
			    EVP_PKEY_CTX_set0_rsa_oaep_label(pc, label, (int)salt_len) <= 0)
				goto out;
			label = NULL;   /* owned by pc */
		}
	}
	if (EVP_PKEY_encrypt(pc, NULL, &n, in, in_len) <= 0)
		goto out;
	if ((r = tt_buf_reserve(out, n, &dst)) != 0)
		goto out;
	if (EVP_PKEY_encrypt(pc, dst, &n, in, in_len) <= 0) {
		r = TT_ERR_INVALID_ARGUMENT;   /* plaintext too long for the key and padding */
		goto out;
	}
	tt_buf_commit(out, n);
	r = 0;
out:
	OPENSSL_free(label);
	EVP_PKEY_CTX_free(pc);
	EVP_PKEY_free(pk);
	return r;
}

/* Encrypt on the token with the public object, or decrypt with the private one. */
static int
crypt_token(struct p11_ctx *c, const struct tt_key *k, tt_alg_t alg, int enc, int raw,
    const uint8_t *in, size_t in_len, const uint8_t *salt, size_t salt_len, struct tt_buf *out)
{
	struct p11_sess s;
	CK_MECHANISM m;
	CK_RSA_PKCS_OAEP_PARAMS oaep;
	CK_OBJECT_HANDLE h;
	uint8_t tmp[P11_MAX_SIG];
	CK_ULONG n = sizeof(tmp);
	CK_RV rv;
	int r;

	asym_mech(alg, salt, salt_len, &m, &oaep);
	if (raw) {
		m.mechanism = CKM_RSA_X_509;
		m.pParameter = NULL;
		m.ulParameterLen = 0;
	}
	if ((r = tt_p11_get(c, &s)) != 0)
		return r;
	if ((r = tt_p11_find(c, &s, k->kid, enc ? CKO_PUBLIC_KEY : CKO_PRIVATE_KEY, &h)) != 0)
		goto out;
	rv = tt_p11_chk(&s, enc ? c->f->C_EncryptInit(s.h, &m, h) : c->f->C_DecryptInit(s.h, &m, h));
	if (rv != CKR_OK) {
		r = tt_p11_fail(enc ? "C_EncryptInit" : "C_DecryptInit", rv);
		if (m.mechanism == CKM_RSA_PKCS_OAEP && (rv == CKR_ARGUMENTS_BAD || rv == CKR_MECHANISM_PARAM_INVALID)) {
			/* e.g. SoftHSM2 2.6 does OAEP with SHA-1 only */
			tt_debug("pkcs11: the module refuses these OAEP parameters: %s", tt_p11_rv_name(rv));
			r = TT_ERR_NOT_SUPPORTED;
		}
		goto out;
	}
	/* One call into a buffer of the largest modulus we accept: a size query would be a
	 * second private-key operation on some modules. */
	rv = tt_p11_chk(&s, enc ? c->f->C_Encrypt(s.h, (CK_BYTE_PTR)in, in_len, tmp, &n) :
	    c->f->C_Decrypt(s.h, (CK_BYTE_PTR)in, in_len, tmp, &n));
	if (rv != CKR_OK) {
		r = tt_p11_fail(enc ? "C_Encrypt" : "C_Decrypt", rv);
		if (!enc && (rv == CKR_ENCRYPTED_DATA_INVALID || rv == CKR_ENCRYPTED_DATA_LEN_RANGE ||
		    rv == CKR_DATA_INVALID || rv == CKR_FUNCTION_FAILED || rv == CKR_GENERAL_ERROR))
			r = TT_ERR_INVALID_PADDING;
		else if (enc && (rv == CKR_DATA_LEN_RANGE || rv == CKR_DATA_INVALID))
			r = TT_ERR_INVALID_ARGUMENT;
		goto out;
	}
	r = tt_buf_put(out, tmp, n);
out:
	tt_wipe(tmp, sizeof(tmp));
	tt_p11_put(c, &s);
	return r;
}

/* ---- OAEP over raw RSA ---- */

/* All-ones when a == b, else 0, without a branch. */
static unsigned
ct_eq(unsigned a, unsigned b)
{
	unsigned x = a ^ b;

	return (unsigned)(((uint64_t)x - 1) >> 32) & 1u ? ~0u : 0u;
}

static int
mgf1_xor(const EVP_MD *md, const uint8_t *seed, size_t seed_len, uint8_t *out, size_t out_len)
{
	uint8_t blk[EVP_MAX_MD_SIZE], cnt[4];
	unsigned int hl = 0;
	EVP_MD_CTX *mc = EVP_MD_CTX_new();
	int r = TT_ERR_GENERIC;

	if (mc == NULL)
		return TT_ERR_NO_MEMORY;
	for (uint32_t i = 0, done = 0; done < out_len; i++) {
		cnt[0] = (uint8_t)(i >> 24);
		cnt[1] = (uint8_t)(i >> 16);
		cnt[2] = (uint8_t)(i >> 8);
		cnt[3] = (uint8_t)i;
		if (EVP_DigestInit_ex(mc, md, NULL) != 1 || EVP_DigestUpdate(mc, seed, seed_len) != 1 ||
		    EVP_DigestUpdate(mc, cnt, 4) != 1 || EVP_DigestFinal_ex(mc, blk, &hl) != 1)
			goto out;
		for (unsigned j = 0; j < hl && done < out_len; j++)
			out[done++] ^= blk[j];
	}
	r = 0;
out:
	tt_wipe(blk, sizeof(blk));
	EVP_MD_CTX_free(mc);
	return r;
}

/*
 * RSAES-OAEP decryption (RFC 8017 section 7.1.2) of the raw RSA result the token gives
 * for CKM_RSA_X_509. The checks are combined without branches and the one decision is
 * taken at the end, so a padding oracle learns nothing from timing about which check
 * failed.
 */
static int
oaep_raw_decrypt(struct p11_ctx *c, const struct tt_key *k, tt_alg_t alg,
    const uint8_t *in, size_t in_len, const uint8_t *label, size_t label_len, struct tt_buf *out)
{
	const struct hash_map *hm = hash_of(TT_ALG_GET_HASH(alg));
	const EVP_MD *md = hm != NULL ? EVP_get_digestbyname(hm->ossl) : NULL;
	uint8_t em[P11_MAX_SIG], lh[EVP_MAX_MD_SIZE];
	struct tt_buf raw;
	size_t kb = k->attrs.bits / 8, hl, dl;
	uint8_t *seed, *db;
	unsigned good, found = 0, bad = 0, idx = 0;
	unsigned int lhl = 0;
	int r;

	if (md == NULL)
		return TT_ERR_NOT_SUPPORTED;
	hl = (size_t)EVP_MD_get_size(md);
	if (kb > sizeof(em) || kb < 2 * hl + 2 || in_len != kb)
		return TT_ERR_INVALID_PADDING;
	tt_buf_init(&raw, P11_MAX_SIG);
	tt_buf_set_secret(&raw);
	if ((r = crypt_token(c, k, alg, 0, 1, in, in_len, NULL, 0, &raw)) != 0) {
		if (r == TT_ERR_INVALID_PADDING)
			r = TT_ERR_NOT_SUPPORTED;   /* the module would not do raw RSA */
		goto out;
	}
	r = TT_ERR_INVALID_PADDING;
	if (raw.len > kb)
		goto out;
	/* left-pad to the modulus length: a raw result may drop leading zeros */
	memset(em, 0, kb - raw.len);
	memcpy(em + kb - raw.len, raw.d, raw.len);
	if (EVP_Digest(label_len > 0 ? label : (const uint8_t *)"", label_len, lh, &lhl, md, NULL) != 1) {
		r = TT_ERR_GENERIC;
		goto out;
	}
	seed = em + 1;
	db = em + 1 + hl;
	dl = kb - hl - 1;
	if ((r = mgf1_xor(md, db, dl, seed, hl)) != 0 || (r = mgf1_xor(md, seed, hl, db, dl)) != 0)
		goto out;
	good = ct_eq(em[0], 0);
	good &= CRYPTO_memcmp(db, lh, hl) == 0 ? ~0u : 0u;
	for (size_t i = hl; i < dl; i++) {
		unsigned one = ct_eq(db[i], 1), zero = ct_eq(db[i], 0);

		idx |= ~found & one & (unsigned)i;
		bad |= ~found & ~one & ~zero;
		found |= one;
	}
	good &= found & ~bad;
	if (!good) {
		r = TT_ERR_INVALID_PADDING;
		goto out;
	}
	r = tt_buf_put(out, db + idx + 1, dl - idx - 1);
out:
	tt_wipe(em, sizeof(em));
	tt_buf_free(&raw);
	return r;
}

int
tt_p11_asym_encrypt(void *ctx, const struct tt_key *k, tt_alg_t alg,
    const uint8_t *in, size_t in_len, const uint8_t *salt, size_t salt_len, struct tt_buf *out)
{
	struct p11_ctx *c = ctx;
	int r;

	if ((r = asym_check(k, alg, 1, salt_len)) != 0)
		return r;
	return c->sw_public ? encrypt_sw(c, k, alg, in, in_len, salt, salt_len, out) :
	    crypt_token(c, k, alg, 1, 0, in, in_len, salt, salt_len, out);
}

int
tt_p11_asym_decrypt(void *ctx, const struct tt_key *k, tt_alg_t alg,
    const uint8_t *in, size_t in_len, const uint8_t *salt, size_t salt_len, struct tt_buf *out)
{
	int r;

	if ((r = asym_check(k, alg, 0, salt_len)) != 0)
		return r;
	if (!TT_ALG_IS_RSA_OAEP(alg))
		return crypt_token(ctx, k, alg, 0, 0, in, in_len, salt, salt_len, out);
	/* Modules differ in the OAEP parameters they take (SoftHSM2 2.6: SHA-1 only, and it
	 * ignores the label). A label goes through the raw path first, so it is honoured;
	 * without one the module's OAEP is tried first. */
	if (salt_len == 0) {
		r = crypt_token(ctx, k, alg, 0, 0, in, in_len, NULL, 0, out);
		if (r != TT_ERR_NOT_SUPPORTED)
			return r;
		return oaep_raw_decrypt(ctx, k, alg, in, in_len, NULL, 0, out);
	}
	r = oaep_raw_decrypt(ctx, k, alg, in, in_len, salt, salt_len, out);
	if (r != TT_ERR_NOT_SUPPORTED)
		return r;
	return crypt_token(ctx, k, alg, 0, 0, in, in_len, salt, salt_len, out);
}

/* ---- random and hashing ---- */

int
tt_p11_generate_random(void *ctx, size_t n, struct tt_buf *out)
{
	struct p11_ctx *c = ctx;
	struct p11_sess s;
	uint8_t *dst;
	CK_RV rv;
	int r;

	if (n == 0)
		return 0;
	if ((r = tt_buf_reserve(out, n, &dst)) != 0)
		return r;
	if ((r = tt_p11_get(c, &s)) != 0)
		return r;
	if ((rv = tt_p11_chk(&s, c->f->C_GenerateRandom(s.h, dst, n))) != CKR_OK)
		r = tt_p11_fail("C_GenerateRandom", rv);
	else
		tt_buf_commit(out, n);
	tt_p11_put(c, &s);
	return r;
}

int
tt_p11_hash_compute(void *ctx, tt_alg_t alg, const uint8_t *in, size_t in_len, struct tt_buf *out)
{
	const struct hash_map *hm = hash_of(alg);
	const EVP_MD *md;
	unsigned int n = 0;
	uint8_t *dst;
	int r;

	(void)ctx;
	/* Hashing needs no secret: OpenSSL does it without a token round trip. */
	if (!TT_ALG_IS_HASH(alg))
		return TT_ERR_INVALID_ARGUMENT;
	if (hm == NULL || (md = EVP_get_digestbyname(hm->ossl)) == NULL)
		return TT_ERR_NOT_SUPPORTED;
	if ((r = tt_buf_reserve(out, (size_t)EVP_MD_get_size(md), &dst)) != 0)
		return r;
	if (EVP_Digest(in, in_len, dst, &n, md, NULL) != 1)
		return TT_ERR_GENERIC;
	tt_buf_commit(out, n);
	return 0;
}
