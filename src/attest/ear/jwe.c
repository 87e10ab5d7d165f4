/*
 * JWE for secret release, shaped like Trustee KBS resource responses: flattened JSON,
 * every header parameter in "protected" (KBS clients read alg/enc/epk only from there),
 * A256GCM content encryption and RSA-OAEP-256 or ECDH-ES+A256KW key management.
 *
 * Encryption is written on OpenSSL's EVP primitives rather than libjose because libjose
 * places alg and epk in the unprotected per-recipient header, which KBS clients do not
 * read. Decryption goes through libjose where it can (ECDH-ES+A256KW and the A256GCM
 * content), so those round trips cross two independent implementations. libjose 11 as
 * shipped by Debian 12 fails every RSA-OAEP operation against OpenSSL 3, so the RSA CEK
 * is unwrapped here with EVP and only the content is left to libjose.
 */
#include <string.h>

#include <jose/jose.h>
#include <jose/openssl.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "ear.h"
#include "internal.h"
#include "turtle/error.h"
#include "util/mem.h"

#define ALG_RSA   "RSA-OAEP-256"
#define ALG_ECDH  "ECDH-ES+A256KW"
#define ENC       "A256GCM"
#define CEK_LEN   32
#define IV_LEN    12
#define TAG_LEN   16
#define JWE_MAX   (16u * 1024u * 1024u)

static int
set_b64(json_t *o, const char *name, const void *b, size_t n)
{
	char *s = NULL;
	int r;

	if ((r = tt_ear_b64_enc(b, n, &s)) != 0)
		return r;
	r = json_object_set_new(o, name, json_string(s)) == 0 ? 0 : TT_ERR_NO_MEMORY;
	free(s);
	return r;
}

static int
rsa_wrap(EVP_PKEY *pk, const uint8_t *cek, uint8_t **out, size_t *outl)
{
	EVP_PKEY_CTX *ctx = NULL;
	uint8_t *b = NULL;
	size_t n = 0;
	int r = TT_ERR_GENERIC;

	/* Smaller moduli are no longer an acceptable wrapping key. */
	if (EVP_PKEY_get_bits(pk) < 2048)
		return TT_ERR_NOT_SUPPORTED;
	if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL)) == NULL ||
	    EVP_PKEY_encrypt_init(ctx) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha256()) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256()) <= 0 ||
	    EVP_PKEY_encrypt(ctx, NULL, &n, cek, CEK_LEN) <= 0)
		goto out;
	if ((b = malloc(n)) == NULL) {
		r = TT_ERR_NO_MEMORY;
		goto out;
	}
	if (EVP_PKEY_encrypt(ctx, b, &n, cek, CEK_LEN) <= 0)
		goto out;
	*out = b;
	*outl = n;
	b = NULL;
	r = 0;
out:
	free(b);
	EVP_PKEY_CTX_free(ctx);
	return r;
}

/* RFC 7518 4.6.2: Concat KDF (NIST SP 800-56A one-step, SHA-256) with AlgorithmID = alg,
 * empty PartyUInfo/PartyVInfo and SuppPubInfo = key length in bits. OpenSSL's SSKDF is
 * that KDF; the "other info" is assembled here. */
static int
concat_kdf(const uint8_t *z, size_t zl, uint8_t kek[32])
{
	uint8_t info[4 + sizeof(ALG_ECDH) - 1 + 4 + 4 + 4];
	size_t al = sizeof(ALG_ECDH) - 1, o = 0;
	EVP_KDF *kdf = NULL;
	EVP_KDF_CTX *kctx = NULL;
	OSSL_PARAM p[4];
	int r = TT_ERR_GENERIC;

	info[o++] = 0; info[o++] = 0; info[o++] = 0; info[o++] = (uint8_t)al;
	memcpy(info + o, ALG_ECDH, al);
	o += al;
	memset(info + o, 0, 8);          /* apu and apv: zero length */
	o += 8;
	info[o++] = 0; info[o++] = 0; info[o++] = 0x01; info[o++] = 0x00;   /* 256 bits */

	p[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
	p[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)z, zl);
	p[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, o);
	p[3] = OSSL_PARAM_construct_end();
	if ((kdf = EVP_KDF_fetch(NULL, "SSKDF", NULL)) == NULL ||
	    (kctx = EVP_KDF_CTX_new(kdf)) == NULL ||
	    EVP_KDF_derive(kctx, kek, 32, p) <= 0)
		goto out;
	r = 0;
out:
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
	return r;
}

static int
ecdh_wrap(jose_cfg_t *cfg, EVP_PKEY *peer, const uint8_t *cek, uint8_t **out, size_t *outl,
	json_t **epk_out)
{
	char group[32];
	EVP_PKEY *eph = NULL;
	EVP_PKEY_CTX *dctx = NULL, *pctx = NULL;
	EVP_CIPHER_CTX *c = NULL;
	uint8_t z[80], kek[32], *w = NULL;
	size_t zl = sizeof(z), gl = 0;
	int wl = 0, fl = 0, r = TT_ERR_GENERIC;
	json_t *epk = NULL;

	if (EVP_PKEY_get_utf8_string_param(peer, OSSL_PKEY_PARAM_GROUP_NAME, group,
	    sizeof(group), &gl) != 1)
		goto out;
	if (strcmp(group, "prime256v1") != 0 && strcmp(group, "secp384r1") != 0 &&
	    strcmp(group, "secp521r1") != 0) {
		r = TT_ERR_NOT_SUPPORTED;
		goto out;
	}
	/* The peer point must be on its curve, or the shared secret leaks our key. */
	if ((pctx = EVP_PKEY_CTX_new_from_pkey(NULL, peer, NULL)) == NULL ||
	    EVP_PKEY_public_check(pctx) != 1) {
		r = TT_ERR_INVALID_ARGUMENT;
		goto out;
	}
	if ((eph = EVP_PKEY_Q_keygen(NULL, NULL, "EC", group)) == NULL ||
	    (dctx = EVP_PKEY_CTX_new_from_pkey(NULL, eph, NULL)) == NULL ||
	    EVP_PKEY_derive_init(dctx) <= 0 || EVP_PKEY_derive_set_peer(dctx, peer) <= 0 ||
	    EVP_PKEY_derive(dctx, z, &zl) <= 0)
		goto out;
	if ((r = concat_kdf(z, zl, kek)) != 0)
		goto out;
	r = TT_ERR_GENERIC;
	if ((w = malloc(CEK_LEN + 8)) == NULL || (c = EVP_CIPHER_CTX_new()) == NULL) {
		r = TT_ERR_NO_MEMORY;
		goto out;
	}
	EVP_CIPHER_CTX_set_flags(c, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
	if (EVP_EncryptInit_ex(c, EVP_aes_256_wrap(), NULL, kek, NULL) != 1 ||
	    EVP_EncryptUpdate(c, w, &wl, cek, CEK_LEN) != 1 ||
	    EVP_EncryptFinal_ex(c, w + wl, &fl) != 1 || wl + fl != CEK_LEN + 8)
		goto out;
	if ((epk = jose_openssl_jwk_from_EVP_PKEY(cfg, eph)) == NULL || !jose_jwk_pub(cfg, epk))
		goto out;
	json_object_del(epk, "key_ops");
	*out = w;
	*outl = CEK_LEN + 8;
	*epk_out = epk;
	w = NULL;
	epk = NULL;
	r = 0;
out:
	OPENSSL_cleanse(z, sizeof(z));
	OPENSSL_cleanse(kek, sizeof(kek));
	json_decref(epk);
	free(w);
	EVP_CIPHER_CTX_free(c);
	EVP_PKEY_CTX_free(dctx);
	EVP_PKEY_CTX_free(pctx);
	EVP_PKEY_free(eph);
	return r;
}

static int
gcm_seal(const uint8_t *cek, const uint8_t *iv, const char *aad, const void *pt, size_t ptl,
	uint8_t *ct, uint8_t tag[TAG_LEN])
{
	EVP_CIPHER_CTX *c;
	int l = 0, r = TT_ERR_GENERIC;

	if (ptl > INT32_MAX)
		return TT_ERR_INVALID_ARGUMENT;
	if ((c = EVP_CIPHER_CTX_new()) == NULL)
		return TT_ERR_NO_MEMORY;
	if (EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, IV_LEN, NULL) != 1 ||
	    EVP_EncryptInit_ex(c, NULL, NULL, cek, iv) != 1 ||
	    EVP_EncryptUpdate(c, NULL, &l, (const uint8_t *)aad, (int)strlen(aad)) != 1 ||
	    (ptl > 0 && EVP_EncryptUpdate(c, ct, &l, pt, (int)ptl) != 1) ||
	    EVP_EncryptFinal_ex(c, ct + (ptl > 0 ? l : 0), &l) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, TAG_LEN, tag) != 1)
		goto out;
	r = 0;
out:
	EVP_CIPHER_CTX_free(c);
	return r;
}

/* The key-management algorithm for a TEE key: its own "alg" when that is one we do. */
static int
choose_alg(const json_t *jwk, const char **alg)
{
	const char *kty = json_string_value(json_object_get(jwk, "kty"));
	const char *want = json_string_value(json_object_get(jwk, "alg"));
	const char *dflt;

	if (kty != NULL && strcmp(kty, "RSA") == 0)
		dflt = ALG_RSA;
	else if (kty != NULL && strcmp(kty, "EC") == 0)
		dflt = ALG_ECDH;
	else
		return TT_ERR_NOT_SUPPORTED;
	if (json_object_get(jwk, "alg") != NULL && (want == NULL || strcmp(want, dflt) != 0))
		return TT_ERR_NOT_SUPPORTED;   /* e.g. RSA1_5: padding-oracle prone, refused */
	*alg = dflt;
	return 0;
}

int
tt_ear_jwe_encrypt(const json_t *tee_jwk, const void *pt, size_t ptl, json_t **jwe_out)
{
	jose_cfg_t *cfg = NULL;   /* NULL: libjose defaults */
	const char *alg = NULL;
	json_t *pub = NULL, *hdr = NULL, *epk = NULL, *jwe = NULL;
	EVP_PKEY *pk = NULL;
	uint8_t cek[CEK_LEN], iv[IV_LEN], tag[TAG_LEN], *ek = NULL, *ct = NULL;
	size_t ekl = 0;
	char *htext = NULL, *prot = NULL;
	int r;

	if (!json_is_object(tee_jwk) || (pt == NULL && ptl > 0) || ptl > JWE_MAX)
		return TT_ERR_INVALID_ARGUMENT;
	if ((r = choose_alg(tee_jwk, &alg)) != 0)
		return r;
	r = TT_ERR_NO_MEMORY;
	if ((pub = json_deep_copy(tee_jwk)) == NULL)
		goto out;
	/* Only the public half is needed; never act on private members sent by mistake. */
	r = TT_ERR_INVALID_ARGUMENT;
	if (!jose_jwk_pub(cfg, pub) || (pk = jose_openssl_jwk_to_EVP_PKEY(cfg, pub)) == NULL)
		goto out;
	r = TT_ERR_INSUFFICIENT_ENTROPY;
	if (RAND_bytes(cek, sizeof(cek)) != 1 || RAND_bytes(iv, sizeof(iv)) != 1)
		goto out;
	if (strcmp(alg, ALG_RSA) == 0) {
		if (EVP_PKEY_get_base_id(pk) != EVP_PKEY_RSA) {
			r = TT_ERR_INVALID_ARGUMENT;
			goto out;
		}
		r = rsa_wrap(pk, cek, &ek, &ekl);
	} else {
		if (EVP_PKEY_get_base_id(pk) != EVP_PKEY_EC) {
			r = TT_ERR_INVALID_ARGUMENT;
			goto out;
		}
		r = ecdh_wrap(cfg, pk, cek, &ek, &ekl, &epk);
	}
	if (r != 0)
		goto out;
	r = TT_ERR_NO_MEMORY;
	if ((hdr = json_pack("{s:s,s:s}", "alg", alg, "enc", ENC)) == NULL ||
	    (epk != NULL && json_object_set(hdr, "epk", epk) != 0) ||
	    (htext = json_dumps(hdr, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
		goto out;
	if ((r = tt_ear_b64_enc(htext, strlen(htext), &prot)) != 0)
		goto out;
	r = TT_ERR_NO_MEMORY;
	if ((ct = malloc(ptl ? ptl : 1)) == NULL)
		goto out;
	/* RFC 7516 5.1: the AAD is the ASCII of the encoded protected header. */
	if ((r = gcm_seal(cek, iv, prot, pt, ptl, ct, tag)) != 0)
		goto out;
	r = TT_ERR_NO_MEMORY;
	if ((jwe = json_pack("{s:s}", "protected", prot)) == NULL)
		goto out;
	if ((r = set_b64(jwe, "encrypted_key", ek, ekl)) != 0 ||
	    (r = set_b64(jwe, "iv", iv, sizeof(iv))) != 0 ||
	    (r = set_b64(jwe, "ciphertext", ct, ptl)) != 0 ||
	    (r = set_b64(jwe, "tag", tag, sizeof(tag))) != 0)
		goto out;
	*jwe_out = jwe;
	jwe = NULL;
	r = 0;
out:
	OPENSSL_cleanse(cek, sizeof(cek));
	json_decref(jwe);
	free(ct);
	free(prot);
	free(htext);
	free(ek);
	json_decref(hdr);
	json_decref(epk);
	EVP_PKEY_free(pk);
	json_decref(pub);
	return r;
}

/* RSA-OAEP-256 unwrap of the CEK into an "oct" JWK for libjose's content decryption. */
static int
rsa_unwrap_cek(const json_t *priv_jwk, const json_t *flat, json_t **cek_out)
{
	const char *ek64 = json_string_value(json_object_get(flat, "encrypted_key"));
	EVP_PKEY *pk = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	uint8_t *ek = NULL, cek[512];
	size_t ekl = 0, cekl = sizeof(cek);
	json_t *k = NULL;
	int r = TT_ERR_DATA_INVALID;

	if (ek64 == NULL || tt_ear_b64_dec(ek64, strlen(ek64), 2048, &ek, &ekl) != 0)
		goto out;
	r = TT_ERR_INVALID_ARGUMENT;
	if ((pk = jose_openssl_jwk_to_EVP_PKEY(NULL, priv_jwk)) == NULL ||
	    EVP_PKEY_get_base_id(pk) != EVP_PKEY_RSA)
		goto out;
	r = TT_ERR_INVALID_SIGNATURE;
	if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL)) == NULL ||
	    EVP_PKEY_decrypt_init(ctx) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha256()) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256()) <= 0 ||
	    EVP_PKEY_decrypt(ctx, cek, &cekl, ek, ekl) <= 0 || cekl != CEK_LEN)
		goto out;
	r = TT_ERR_NO_MEMORY;
	if ((k = json_pack("{s:s,s:o}", "kty", "oct", "k", jose_b64_enc(cek, cekl))) == NULL)
		goto out;
	*cek_out = k;
	r = 0;
out:
	OPENSSL_cleanse(cek, sizeof(cek));
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pk);
	free(ek);
	return r;
}

int
tt_ear_jwe_decrypt(const json_t *priv_jwk, const json_t *jwe, uint8_t **pt_out,
	size_t *ptl_out)
{
	jose_cfg_t *cfg = NULL;   /* NULL: libjose defaults */
	const char *prot, *alg, *enc;
	json_t *hdr = NULL, *flat = NULL, *cek = NULL;
	const json_t *rcps;
	uint8_t *pt = NULL, *copy = NULL;
	size_t ptl = 0;
	int r;

	if (!json_is_object(priv_jwk) || !json_is_object(jwe))
		return TT_ERR_INVALID_ARGUMENT;
	/* Collapse a general serialization with one recipient into the flattened form. */
	rcps = json_object_get(jwe, "recipients");
	r = TT_ERR_NO_MEMORY;
	if ((flat = json_deep_copy(jwe)) == NULL)
		goto out;
	if (rcps != NULL) {
		json_t *one = json_array_get(rcps, 0);

		r = TT_ERR_DATA_INVALID;
		if (!json_is_array(rcps) || json_array_size(rcps) != 1 || !json_is_object(one) ||
		    json_object_update(flat, one) != 0)
			goto out;
		json_object_del(flat, "recipients");
	}
	/* Everything that selects an algorithm must be integrity-protected, and only the
	 * algorithms we issue are accepted. */
	r = TT_ERR_DATA_INVALID;
	if (json_object_get(flat, "header") != NULL || json_object_get(flat, "unprotected") != NULL)
		goto out;
	if ((prot = json_string_value(json_object_get(flat, "protected"))) == NULL ||
	    tt_ear_b64_json(prot, strlen(prot), 64 * 1024, &hdr) != 0)
		goto out;
	alg = json_string_value(json_object_get(hdr, "alg"));
	enc = json_string_value(json_object_get(hdr, "enc"));
	r = TT_ERR_NOT_SUPPORTED;
	if (alg == NULL || enc == NULL || strcmp(enc, ENC) != 0 ||
	    (strcmp(alg, ALG_RSA) != 0 && strcmp(alg, ALG_ECDH) != 0) ||
	    json_object_get(hdr, "zip") != NULL || json_object_get(hdr, "crit") != NULL)
		goto out;
	r = TT_ERR_NO_MEMORY;
	r = TT_ERR_INVALID_SIGNATURE;   /* authentication failed or wrong key */
	if (strcmp(alg, ALG_RSA) == 0) {
		if ((r = rsa_unwrap_cek(priv_jwk, flat, &cek)) != 0)
			goto out;
		r = TT_ERR_INVALID_SIGNATURE;
		pt = jose_jwe_dec_cek(cfg, flat, cek, &ptl);
	} else {
		pt = jose_jwe_dec(cfg, flat, NULL, priv_jwk, &ptl);
	}
	if (pt == NULL)
		goto out;
	r = TT_ERR_NO_MEMORY;
	if ((copy = malloc(ptl + 1)) == NULL)
		goto out;
	memcpy(copy, pt, ptl);
	copy[ptl] = 0;
	*pt_out = copy;
	*ptl_out = ptl;
	r = 0;
out:
	tt_free_secret(pt, ptl);
	tt_ear_jwk_free(cek);
	json_decref(hdr);
	json_decref(flat);
	return r;
}
