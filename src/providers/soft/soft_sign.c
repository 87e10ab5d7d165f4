/*
 * Asymmetric signatures (ECDSA, RSA PKCS#1 v1.5, RSA-PSS) and RSA encryption.
 *
 * ECDSA signatures travel in PSA's raw r || s form (each padded to the curve length);
 * OpenSSL speaks DER, so we convert at this boundary. The digest is signed as given:
 * no md is set on ECDSA contexts, so OpenSSL does not second-guess the length (PSA's
 * ECDSA_ANY signs whatever hash the caller computed).
 */
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "providers/soft/soft_int.h"
#include "turtle/error.h"
#include "util/mem.h"

#define SOFT_MAX_ECDSA_DER 160

/* Hash-length rule shared by sign and verify. */
static int
check_hash(tt_alg_t alg, size_t hash_len)
{
	tt_alg_t h = TT_ALG_GET_HASH(alg);

	if (h == TT_ALG_ANY_HASH)
		return TT_ERR_INVALID_ARGUMENT;   /* a wildcard is a policy, not a request */
	if (h == TT_ALG_NONE)
		return hash_len == 0 || hash_len > 512 ? TT_ERR_INVALID_ARGUMENT : 0;
	return hash_len == tt_psa_hash_size(h) ? 0 : TT_ERR_INVALID_ARGUMENT;
}

/* A fresh context for sk with the padding/digest that `alg` needs; `verify` selects init. */
static int
sig_ctx(const struct soft_key *sk, tt_alg_t alg, int verify, EVP_PKEY_CTX **out)
{
	EVP_PKEY_CTX *pc;
	const EVP_MD *md = NULL;
	tt_alg_t h = TT_ALG_GET_HASH(alg);
	int ok;

	if (h != TT_ALG_NONE && (md = tt_soft_md(h)) == NULL)
		return TT_ERR_NOT_SUPPORTED;
	if ((pc = EVP_PKEY_CTX_new_from_pkey(NULL, sk->pkey, NULL)) == NULL)
		return TT_ERR_NO_MEMORY;
	ok = (verify ? EVP_PKEY_verify_init(pc) : EVP_PKEY_sign_init(pc)) > 0;
	if (ok && TT_ALG_IS_RSA_PKCS1V15_SIGN(alg)) {
		ok = EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING) > 0 &&
		    (md == NULL || EVP_PKEY_CTX_set_signature_md(pc, md) > 0);
	} else if (ok && TT_ALG_IS_RSA_PSS(alg)) {
		ok = EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING) > 0 &&
		    EVP_PKEY_CTX_set_signature_md(pc, md) > 0 &&
		    EVP_PKEY_CTX_set_rsa_mgf1_md(pc, md) > 0 &&
		    EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, RSA_PSS_SALTLEN_DIGEST) > 0;
	}
	if (!ok) {
		EVP_PKEY_CTX_free(pc);
		return TT_ERR_GENERIC;
	}
	*out = pc;
	return 0;
}

/* Common front half of sign/verify: algorithm, key type and hash length checks. */
static int
sig_prepare(void *ctx, const struct tt_key *k, tt_alg_t alg, size_t hash_len, int sign,
    struct soft_key **sk)
{
	int r;

	if (!TT_ALG_IS_SIGN(alg))
		return TT_ERR_INVALID_ARGUMENT;
	if ((r = tt_soft_sign_alg_ok(k->attrs.type, alg)) != 0)
		return TT_ALG_SIGN_BASE(alg) == TT_ALG_DETERMINISTIC_ECDSA_BASE ||
		    !TT_KEY_TYPE_IS_ASYMMETRIC(k->attrs.type) ? TT_ERR_NOT_SUPPORTED : TT_ERR_INVALID_ARGUMENT;
	if (sign && !TT_KEY_TYPE_IS_KEY_PAIR(k->attrs.type))
		return TT_ERR_INVALID_ARGUMENT;
	if (TT_ALG_IS_RSA_PSS(alg) && TT_ALG_GET_HASH(alg) == TT_ALG_NONE)
		return TT_ERR_INVALID_ARGUMENT;
	if ((r = check_hash(alg, hash_len)) != 0)
		return r;
	return tt_soft_load(ctx, k, sk);
}

int
tt_soft_sign_hash(void *ctx, const struct tt_key *k, tt_alg_t alg,
    const uint8_t *hash, size_t hash_len, struct tt_buf *sig)
{
	struct soft_key *sk = NULL;
	EVP_PKEY_CTX *pc = NULL;
	ECDSA_SIG *es = NULL;
	uint8_t der[SOFT_MAX_ECDSA_DER], *dst;
	const unsigned char *p;
	size_t n = 0, clen;
	int r;

	if ((r = sig_prepare(ctx, k, alg, hash_len, 1, &sk)) != 0)
		return r;
	if ((r = sig_ctx(sk, alg, 0, &pc)) != 0)
		goto out;
	if (TT_ALG_IS_ECDSA(alg)) {
		clen = tt_soft_ecc_bytes(sk->bits);
		n = sizeof(der);
		r = TT_ERR_GENERIC;
		if (EVP_PKEY_sign(pc, der, &n, hash, hash_len) <= 0)
			goto out;
		p = der;
		if ((es = d2i_ECDSA_SIG(NULL, &p, (long)n)) == NULL)
			goto out;
		if ((r = tt_buf_reserve(sig, 2 * clen, &dst)) != 0)
			goto out;
		r = TT_ERR_GENERIC;
		if (BN_bn2binpad(ECDSA_SIG_get0_r(es), dst, (int)clen) != (int)clen ||
		    BN_bn2binpad(ECDSA_SIG_get0_s(es), dst + clen, (int)clen) != (int)clen)
			goto out;
		tt_buf_commit(sig, 2 * clen);
	} else {
		r = TT_ERR_GENERIC;
		if (EVP_PKEY_sign(pc, NULL, &n, hash, hash_len) <= 0)
			goto out;
		if ((r = tt_buf_reserve(sig, n, &dst)) != 0)
			goto out;
		if (EVP_PKEY_sign(pc, dst, &n, hash, hash_len) <= 0) {
			/* raw PKCS#1 v1.5 with a too long input lands here */
			r = TT_ERR_INVALID_ARGUMENT;
			goto out;
		}
		tt_buf_commit(sig, n);
	}
	r = 0;
out:
	ECDSA_SIG_free(es);
	EVP_PKEY_CTX_free(pc);
	tt_soft_key_put(sk);
	return r;
}

int
tt_soft_verify_hash(void *ctx, const struct tt_key *k, tt_alg_t alg,
    const uint8_t *hash, size_t hash_len, const uint8_t *sig, size_t sig_len)
{
	struct soft_key *sk = NULL;
	EVP_PKEY_CTX *pc = NULL;
	ECDSA_SIG *es = NULL;
	BIGNUM *br = NULL, *bs = NULL;
	unsigned char *der = NULL;
	size_t clen;
	int n, r;

	if ((r = sig_prepare(ctx, k, alg, hash_len, 0, &sk)) != 0)
		return r;
	if ((r = sig_ctx(sk, alg, 1, &pc)) != 0)
		goto out;
	if (TT_ALG_IS_ECDSA(alg)) {
		clen = tt_soft_ecc_bytes(sk->bits);
		r = TT_ERR_INVALID_SIGNATURE;
		if (sig_len != 2 * clen)
			goto out;
		r = TT_ERR_NO_MEMORY;
		if ((es = ECDSA_SIG_new()) == NULL ||
		    (br = BN_bin2bn(sig, (int)clen, NULL)) == NULL ||
		    (bs = BN_bin2bn(sig + clen, (int)clen, NULL)) == NULL ||
		    !ECDSA_SIG_set0(es, br, bs))
			goto out;
		br = bs = NULL;  /* owned by es now */
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
	tt_soft_key_put(sk);
	return r;
}

/* ---- RSA encryption ---- */

static int
asym_ctx(const struct tt_key *k, const struct soft_key *sk, tt_alg_t alg, int enc,
    const uint8_t *salt, size_t salt_len, EVP_PKEY_CTX **out)
{
	EVP_PKEY_CTX *pc = NULL;
	const EVP_MD *md;
	unsigned char *label = NULL;
	int r = TT_ERR_GENERIC;

	(void)k;
	if ((pc = EVP_PKEY_CTX_new_from_pkey(NULL, sk->pkey, NULL)) == NULL)
		return TT_ERR_NO_MEMORY;
	if ((enc ? EVP_PKEY_encrypt_init(pc) : EVP_PKEY_decrypt_init(pc)) <= 0)
		goto out;
	if (alg == TT_ALG_RSA_PKCS1V15_CRYPT) {
		if (EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING) <= 0)
			goto out;
	} else {
		md = tt_soft_md(TT_ALG_GET_HASH(alg));
		if (md == NULL || EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_OAEP_PADDING) <= 0 ||
		    EVP_PKEY_CTX_set_rsa_oaep_md(pc, md) <= 0 ||
		    EVP_PKEY_CTX_set_rsa_mgf1_md(pc, md) <= 0)
			goto out;
		if (salt_len > 0) {
			/* PSA's "salt" for OAEP is the label; OpenSSL takes ownership of a copy. */
			if ((label = OPENSSL_memdup(salt, salt_len)) == NULL ||
			    EVP_PKEY_CTX_set0_rsa_oaep_label(pc, label, (int)salt_len) <= 0)
				goto out;
			label = NULL;
		}
	}
	*out = pc;
	pc = NULL;
	r = 0;
out:
	OPENSSL_free(label);
	EVP_PKEY_CTX_free(pc);
	return r;
}

static int
asym_crypt(void *ctx, const struct tt_key *k, tt_alg_t alg, int enc,
    const uint8_t *in, size_t in_len, const uint8_t *salt, size_t salt_len, struct tt_buf *out)
{
	struct soft_key *sk = NULL;
	EVP_PKEY_CTX *pc = NULL;
	uint8_t *dst = NULL;
	size_t n = 0;
	int r;

	if (TT_ALG_CATEGORY(alg) != TT_ALG_CATEGORY_ASYM_ENC)
		return TT_ERR_INVALID_ARGUMENT;
	if ((r = tt_soft_asym_alg_ok(k->attrs.type, alg)) != 0)
		return TT_KEY_TYPE_IS_RSA(k->attrs.type) ? TT_ERR_NOT_SUPPORTED : TT_ERR_INVALID_ARGUMENT;
	if (!enc && !TT_KEY_TYPE_IS_KEY_PAIR(k->attrs.type))
		return TT_ERR_INVALID_ARGUMENT;
	if (alg == TT_ALG_RSA_PKCS1V15_CRYPT && salt_len > 0)
		return TT_ERR_INVALID_ARGUMENT;
	if (salt_len > INT32_MAX)
		return TT_ERR_INVALID_ARGUMENT;
	if ((r = tt_soft_load(ctx, k, &sk)) != 0)
		return r;
	if ((r = asym_ctx(k, sk, alg, enc, salt, salt_len, &pc)) != 0)
		goto out;
	r = TT_ERR_GENERIC;
	if ((enc ? EVP_PKEY_encrypt(pc, NULL, &n, in, in_len) : EVP_PKEY_decrypt(pc, NULL, &n, in, in_len)) <= 0)
		goto out;
	if ((r = tt_buf_reserve(out, n, &dst)) != 0)
		goto out;
	if ((enc ? EVP_PKEY_encrypt(pc, dst, &n, in, in_len) : EVP_PKEY_decrypt(pc, dst, &n, in, in_len)) <= 0) {
		/* too long a plaintext, or a ciphertext whose padding does not check */
		r = enc ? TT_ERR_INVALID_ARGUMENT : TT_ERR_INVALID_PADDING;
		goto out;
	}
	tt_buf_commit(out, n);
	r = 0;
out:
	EVP_PKEY_CTX_free(pc);
	tt_soft_key_put(sk);
	return r;
}

int
tt_soft_asym_encrypt(void *ctx, const struct tt_key *k, tt_alg_t alg,
    const uint8_t *in, size_t in_len, const uint8_t *salt, size_t salt_len, struct tt_buf *out)
{
	return asym_crypt(ctx, k, alg, 1, in, in_len, salt, salt_len, out);
}

int
tt_soft_asym_decrypt(void *ctx, const struct tt_key *k, tt_alg_t alg,
    const uint8_t *in, size_t in_len, const uint8_t *salt, size_t salt_len, struct tt_buf *out)
{
	return asym_crypt(ctx, k, alg, 0, in, in_len, salt, salt_len, out);
}
