/*
 * Symmetric operations: AEAD (AES-GCM, AES-CCM, ChaCha20-Poly1305), unauthenticated AES
 * cipher modes and MACs (HMAC, AES-CMAC, truncated forms).
 */
#include <limits.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "providers/soft/soft_int.h"
#include "turtle/error.h"
#include "util/mem.h"

#define SOFT_MAX_IO ((size_t)INT_MAX - 64)

/* ---- AEAD ---- */

static tt_alg_t
aead_base(tt_alg_t alg)
{
	return TT_ALG_AEAD_DEFAULT_TAG(alg);
}

int
tt_soft_aead_alg_ok(tt_key_type_t type, tt_alg_t alg)
{
	tt_alg_t base = aead_base(alg);
	size_t t = TT_ALG_AEAD_TAG_LENGTH(alg);

	if ((alg & 0x00008000u) != 0)   /* "at least this tag length" policies */
		return TT_ERR_NOT_SUPPORTED;
	if (base == TT_ALG_GCM)
		return type == TT_KEY_TYPE_AES && (t == 4 || t == 8 || (t >= 12 && t <= 16)) ?
		    0 : TT_ERR_NOT_SUPPORTED;
	if (base == TT_ALG_CCM)
		return type == TT_KEY_TYPE_AES && t >= 4 && t <= 16 && t % 2 == 0 ? 0 : TT_ERR_NOT_SUPPORTED;
	if (base == TT_ALG_CHACHA20_POLY1305)
		return type == TT_KEY_TYPE_CHACHA20 && t == 16 ? 0 : TT_ERR_NOT_SUPPORTED;
	return TT_ERR_NOT_SUPPORTED;
}

static const EVP_CIPHER *
aes_cipher(size_t key_len, int mode)
{
	switch (mode) {
	case 'G': return key_len == 16 ? EVP_aes_128_gcm() : key_len == 24 ? EVP_aes_192_gcm() : EVP_aes_256_gcm();
	case 'C': return key_len == 16 ? EVP_aes_128_ccm() : key_len == 24 ? EVP_aes_192_ccm() : EVP_aes_256_ccm();
	case 'E': return key_len == 16 ? EVP_aes_128_ecb() : key_len == 24 ? EVP_aes_192_ecb() : EVP_aes_256_ecb();
	case 'B': return key_len == 16 ? EVP_aes_128_cbc() : key_len == 24 ? EVP_aes_192_cbc() : EVP_aes_256_cbc();
	case 'T': return key_len == 16 ? EVP_aes_128_ctr() : key_len == 24 ? EVP_aes_192_ctr() : EVP_aes_256_ctr();
	case 'F': return key_len == 16 ? EVP_aes_128_cfb128() : key_len == 24 ? EVP_aes_192_cfb128() : EVP_aes_256_cfb128();
	case 'O': return key_len == 16 ? EVP_aes_128_ofb() : key_len == 24 ? EVP_aes_192_ofb() : EVP_aes_256_ofb();
	default: return NULL;
	}
}

/* Symmetric key of the right type for `ok`, loaded. */
static int
load_sym(void *ctx, const struct tt_key *k, struct soft_key **sk)
{
	int r;

	if ((r = tt_soft_load(ctx, k, sk)) != 0)
		return r;
	if ((*sk)->raw == NULL) {
		tt_soft_key_put(*sk);
		*sk = NULL;
		return TT_ERR_INVALID_ARGUMENT;
	}
	return 0;
}

/*
 * Nonce lengths, with PSA's split between the two answers: a length the algorithm itself
 * does not define is InvalidArgument, a defined length this implementation cannot do is
 * NotSupported.
 *   GCM: any length >= 1 (NIST SP 800-38D; 12 is only the efficient one). OpenSSL 3
 *        takes 1..128 bytes (GCM_IV_MAX_SIZE), so longer ones are NotSupported.
 *   CCM: 7..13 bytes (the length field takes the rest of the 15-byte block).
 *   ChaCha20-Poly1305: 12 bytes (RFC 8439); the original 8-byte variant exists but is
 *        not implemented here, as in Mbed TLS.
 */
#define SOFT_GCM_NONCE_MAX 128

static int
aead_nonce_ok(tt_alg_t base, size_t nonce_len)
{
	if (base == TT_ALG_GCM) {
		if (nonce_len == 0)
			return TT_ERR_INVALID_ARGUMENT;
		return nonce_len <= SOFT_GCM_NONCE_MAX ? 0 : TT_ERR_NOT_SUPPORTED;
	}
	if (base == TT_ALG_CCM)
		return nonce_len >= 7 && nonce_len <= 13 ? 0 : TT_ERR_INVALID_ARGUMENT;
	if (nonce_len == 12)
		return 0;
	return nonce_len == 8 ? TT_ERR_NOT_SUPPORTED : TT_ERR_INVALID_ARGUMENT;
}

static int
aead(void *ctx, const struct tt_key *k, tt_alg_t alg, int enc,
    const uint8_t *nonce, size_t nonce_len, const uint8_t *aad, size_t aad_len,
    const uint8_t *in, size_t in_len, struct tt_buf *out)
{
	struct soft_key *sk = NULL;
	EVP_CIPHER_CTX *cc = NULL;
	const EVP_CIPHER *ciph;
	tt_alg_t base = aead_base(alg);
	size_t tag_len = TT_ALG_AEAD_TAG_LENGTH(alg), ct_len;
	const uint8_t *tag = NULL;
	static const uint8_t empty[1];
	uint8_t *dst = NULL;
	int n = 0, r, ccm = base == TT_ALG_CCM;

	if (TT_ALG_CATEGORY(alg) != TT_ALG_CATEGORY_AEAD)
		return TT_ERR_INVALID_ARGUMENT;
	if (tt_soft_aead_alg_ok(k->attrs.type, alg) != 0)
		return base == TT_ALG_GCM || base == TT_ALG_CCM || base == TT_ALG_CHACHA20_POLY1305 ?
		    TT_ERR_INVALID_ARGUMENT : TT_ERR_NOT_SUPPORTED;
	if ((r = aead_nonce_ok(base, nonce_len)) != 0)
		return r;
	if (aad_len > SOFT_MAX_IO || in_len > SOFT_MAX_IO)
		return TT_ERR_INVALID_ARGUMENT;
	if (!enc && in_len < tag_len)
		return TT_ERR_INVALID_ARGUMENT;
	ct_len = enc ? in_len : in_len - tag_len;
	if (!enc)
		tag = in + ct_len;
	/* CCM's length field has 15 - nonce_len bytes */
	if (ccm && nonce_len > 7 && (15 - nonce_len) < 8 && ct_len >> (8 * (15 - nonce_len)) != 0)
		return TT_ERR_INVALID_ARGUMENT;
	if ((r = load_sym(ctx, k, &sk)) != 0)
		return r;
	ciph = base == TT_ALG_CHACHA20_POLY1305 ? EVP_chacha20_poly1305() :
	    aes_cipher(sk->raw_len, ccm ? 'C' : 'G');
	r = TT_ERR_GENERIC;
	if ((cc = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_CipherInit_ex(cc, ciph, NULL, NULL, NULL, enc) != 1 ||
	    EVP_CIPHER_CTX_ctrl(cc, EVP_CTRL_AEAD_SET_IVLEN, (int)nonce_len, NULL) != 1)
		goto out;
	/* CCM fixes the tag (and, on decrypt, its value) before the key goes in. */
	if (ccm && EVP_CIPHER_CTX_ctrl(cc, EVP_CTRL_AEAD_SET_TAG, (int)tag_len, enc ? NULL : (void *)tag) != 1)
		goto out;
	if (EVP_CipherInit_ex(cc, NULL, NULL, sk->raw, nonce, enc) != 1)
		goto out;
	if (ccm && EVP_CipherUpdate(cc, NULL, &n, NULL, (int)ct_len) != 1)
		goto out;
	if (aad_len > 0 && EVP_CipherUpdate(cc, NULL, &n, aad, (int)aad_len) != 1)
		goto out;
	if ((r = tt_buf_reserve(out, ct_len + (enc ? tag_len : 0) + 1, &dst)) != 0)
		goto out;
	r = TT_ERR_GENERIC;
	if (!enc && !ccm && EVP_CIPHER_CTX_ctrl(cc, EVP_CTRL_AEAD_SET_TAG, (int)tag_len, (void *)tag) != 1)
		goto out;
	/* An empty message still goes through one update with a non-NULL input:
	 * OpenSSL's CCM treats (in == NULL, out != NULL) as "final" and then neither
	 * computes the tag on encryption nor checks it on decryption. */
	if (EVP_CipherUpdate(cc, dst, &n, in != NULL ? in : empty, (int)ct_len) != 1) {
		/* CCM verifies its tag inside the update */
		r = enc ? TT_ERR_GENERIC : TT_ERR_INVALID_SIGNATURE;
		goto out;
	}
	if (!ccm) {
		int m = 0;

		if (EVP_CipherFinal_ex(cc, dst + n, &m) != 1) {
			r = enc ? TT_ERR_GENERIC : TT_ERR_INVALID_SIGNATURE;
			goto out;
		}
		n += m;
	}
	if ((size_t)n != ct_len)
		goto out;
	if (enc && EVP_CIPHER_CTX_ctrl(cc, EVP_CTRL_AEAD_GET_TAG, (int)tag_len, dst + ct_len) != 1)
		goto out;
	tt_buf_commit(out, ct_len + (enc ? tag_len : 0));
	r = 0;
out:
	if (r != 0 && dst != NULL)
		tt_wipe(dst, ct_len);  /* no unauthenticated plaintext is left behind */
	EVP_CIPHER_CTX_free(cc);
	tt_soft_key_put(sk);
	return r;
}

int
tt_soft_aead_encrypt(void *ctx, const struct tt_key *k, tt_alg_t alg,
    const uint8_t *nonce, size_t nonce_len, const uint8_t *aad, size_t aad_len,
    const uint8_t *in, size_t in_len, struct tt_buf *out)
{
	return aead(ctx, k, alg, 1, nonce, nonce_len, aad, aad_len, in, in_len, out);
}

int
tt_soft_aead_decrypt(void *ctx, const struct tt_key *k, tt_alg_t alg,
    const uint8_t *nonce, size_t nonce_len, const uint8_t *aad, size_t aad_len,
    const uint8_t *in, size_t in_len, struct tt_buf *out)
{
	return aead(ctx, k, alg, 0, nonce, nonce_len, aad, aad_len, in, in_len, out);
}

/* ---- unauthenticated ciphers ---- */

static int
cipher_mode(tt_alg_t alg)
{
	switch (alg) {
	case TT_ALG_ECB_NO_PADDING: return 'E';
	case TT_ALG_CBC_NO_PADDING:
	case TT_ALG_CBC_PKCS7: return 'B';
	case TT_ALG_CTR: return 'T';
	case TT_ALG_CFB: return 'F';
	case TT_ALG_OFB: return 'O';
	default: return 0;
	}
}

int
tt_soft_cipher_alg_ok(tt_key_type_t type, tt_alg_t alg)
{
	return type == TT_KEY_TYPE_AES && cipher_mode(alg) != 0 ? 0 : TT_ERR_NOT_SUPPORTED;
}

static int
cipher(void *ctx, const struct tt_key *k, tt_alg_t alg, int enc,
    const uint8_t *in, size_t in_len, struct tt_buf *out)
{
	struct soft_key *sk = NULL;
	EVP_CIPHER_CTX *cc = NULL;
	uint8_t iv[16], *dst = NULL;
	size_t iv_len = alg == TT_ALG_ECB_NO_PADDING ? 0 : 16, data_len, cap = 0;
	int mode = cipher_mode(alg), n = 0, m = 0, r;
	int block = alg == TT_ALG_ECB_NO_PADDING || alg == TT_ALG_CBC_NO_PADDING;

	if (TT_ALG_CATEGORY(alg) != TT_ALG_CATEGORY_CIPHER)
		return TT_ERR_INVALID_ARGUMENT;
	if (mode == 0)
		return TT_ERR_NOT_SUPPORTED;
	if (k->attrs.type != TT_KEY_TYPE_AES)
		return TT_ERR_INVALID_ARGUMENT;
	if (in_len > SOFT_MAX_IO)
		return TT_ERR_INVALID_ARGUMENT;
	if (enc) {
		data_len = in_len;
	} else {
		if (in_len < iv_len)
			return TT_ERR_INVALID_ARGUMENT;
		data_len = in_len - iv_len;
		memcpy(iv, in, iv_len);
		in += iv_len;
	}
	if (block && data_len % 16 != 0)
		return TT_ERR_INVALID_ARGUMENT;
	if (alg == TT_ALG_CBC_PKCS7 && !enc && (data_len == 0 || data_len % 16 != 0))
		return TT_ERR_INVALID_ARGUMENT;
	if ((r = load_sym(ctx, k, &sk)) != 0)
		return r;
	if (enc && iv_len > 0) {
		if (RAND_bytes(iv, (int)iv_len) != 1) {
			r = TT_ERR_INSUFFICIENT_ENTROPY;
			goto out;
		}
		if ((r = tt_buf_put(out, iv, iv_len)) != 0)
			goto out;
	}
	cap = data_len + 16;
	if ((r = tt_buf_reserve(out, cap, &dst)) != 0)
		goto out;
	r = TT_ERR_GENERIC;
	if ((cc = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_CipherInit_ex(cc, aes_cipher(sk->raw_len, mode), NULL, sk->raw, iv_len ? iv : NULL, enc) != 1 ||
	    EVP_CIPHER_CTX_set_padding(cc, alg == TT_ALG_CBC_PKCS7) != 1 ||
	    EVP_CipherUpdate(cc, dst, &n, in, (int)data_len) != 1)
		goto out;
	if (EVP_CipherFinal_ex(cc, dst + n, &m) != 1) {
		r = alg == TT_ALG_CBC_PKCS7 && !enc ? TT_ERR_INVALID_PADDING : TT_ERR_INVALID_ARGUMENT;
		goto out;
	}
	tt_buf_commit(out, (size_t)n + (size_t)m);
	r = 0;
out:
	if (r != 0 && dst != NULL)
		tt_wipe(dst, cap);
	EVP_CIPHER_CTX_free(cc);
	tt_soft_key_put(sk);
	return r;
}

int
tt_soft_cipher_encrypt(void *ctx, const struct tt_key *k, tt_alg_t alg,
    const uint8_t *in, size_t in_len, struct tt_buf *out)
{
	return cipher(ctx, k, alg, 1, in, in_len, out);
}

int
tt_soft_cipher_decrypt(void *ctx, const struct tt_key *k, tt_alg_t alg,
    const uint8_t *in, size_t in_len, struct tt_buf *out)
{
	return cipher(ctx, k, alg, 0, in, in_len, out);
}

/* ---- MAC ---- */

int
tt_soft_mac_alg_ok(tt_key_type_t type, uint32_t bits, tt_alg_t alg, size_t *mac_len)
{
	tt_alg_t full = TT_ALG_FULL_LENGTH_MAC(alg);
	size_t t = TT_ALG_MAC_TRUNCATION(alg), len;

	(void)bits;
	if ((alg & 0x00008000u) != 0)   /* "at least this length" policies */
		return TT_ERR_NOT_SUPPORTED;
	if (TT_ALG_IS_HMAC(full)) {
		if (type != TT_KEY_TYPE_HMAC || tt_soft_md(TT_ALG_GET_HASH(full)) == NULL)
			return TT_ERR_NOT_SUPPORTED;
		len = tt_psa_hash_size(TT_ALG_GET_HASH(full));
	} else if (full == TT_ALG_CMAC) {
		if (type != TT_KEY_TYPE_AES)
			return TT_ERR_NOT_SUPPORTED;
		len = 16;
	} else {
		return TT_ERR_NOT_SUPPORTED;
	}
	/* PSA: a truncated MAC keeps at least 4 bytes and at most the full length. */
	if (t != 0 && (t < 4 || t > len))
		return TT_ERR_NOT_SUPPORTED;
	*mac_len = t != 0 ? t : len;
	return 0;
}

/* Full-length MAC into buf (>= 64 bytes); *len is its length. */
static int
mac_full(struct soft_ctx *c, const struct soft_key *sk, tt_alg_t alg,
    const uint8_t *in, size_t in_len, uint8_t *buf, size_t *len)
{
	EVP_MAC_CTX *mc = NULL;
	OSSL_PARAM params[2];
	tt_alg_t full = TT_ALG_FULL_LENGTH_MAC(alg);
	int r = TT_ERR_GENERIC;

	if (TT_ALG_IS_HMAC(full))
		params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
		    (char *)tt_soft_md_name(TT_ALG_GET_HASH(full)), 0);
	else
		params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER,
		    sk->raw_len == 16 ? "AES-128-CBC" : sk->raw_len == 24 ? "AES-192-CBC" : "AES-256-CBC", 0);
	params[1] = OSSL_PARAM_construct_end();
	if ((mc = EVP_MAC_CTX_new(TT_ALG_IS_HMAC(full) ? c->hmac : c->cmac)) == NULL ||
	    EVP_MAC_init(mc, sk->raw, sk->raw_len, params) != 1 ||
	    EVP_MAC_update(mc, in, in_len) != 1 ||
	    EVP_MAC_final(mc, buf, len, 64) != 1)
		goto out;
	r = 0;
out:
	EVP_MAC_CTX_free(mc);
	return r;
}

static int
mac_prepare(void *ctx, const struct tt_key *k, tt_alg_t alg, size_t *mac_len, struct soft_key **sk)
{
	if (TT_ALG_CATEGORY(alg) != TT_ALG_CATEGORY_MAC)
		return TT_ERR_INVALID_ARGUMENT;
	if (tt_soft_mac_alg_ok(k->attrs.type, k->attrs.bits, alg, mac_len) != 0) {
		tt_alg_t full = TT_ALG_FULL_LENGTH_MAC(alg);

		return TT_ALG_IS_HMAC(full) || full == TT_ALG_CMAC ? TT_ERR_INVALID_ARGUMENT : TT_ERR_NOT_SUPPORTED;
	}
	return load_sym(ctx, k, sk);
}

int
tt_soft_mac_compute(void *ctx, const struct tt_key *k, tt_alg_t alg,
    const uint8_t *in, size_t in_len, struct tt_buf *mac)
{
	struct soft_key *sk = NULL;
	uint8_t buf[64];
	size_t want = 0, len = 0;
	int r;

	if ((r = mac_prepare(ctx, k, alg, &want, &sk)) != 0)
		return r;
	if ((r = mac_full(ctx, sk, alg, in, in_len, buf, &len)) == 0)
		r = want <= len ? tt_buf_put(mac, buf, want) : TT_ERR_GENERIC;
	tt_wipe(buf, sizeof(buf));
	tt_soft_key_put(sk);
	return r;
}

int
tt_soft_mac_verify(void *ctx, const struct tt_key *k, tt_alg_t alg,
    const uint8_t *in, size_t in_len, const uint8_t *mac, size_t mac_len)
{
	struct soft_key *sk = NULL;
	uint8_t buf[64];
	size_t want = 0, len = 0;
	int r;

	if ((r = mac_prepare(ctx, k, alg, &want, &sk)) != 0)
		return r;
	if ((r = mac_full(ctx, sk, alg, in, in_len, buf, &len)) == 0 && want > len)
		r = TT_ERR_GENERIC;
	if (r == 0 && (mac_len != want || CRYPTO_memcmp(buf, mac, want) != 0))
		r = TT_ERR_INVALID_SIGNATURE;
	tt_wipe(buf, sizeof(buf));
	tt_soft_key_put(sk);
	return r;
}
