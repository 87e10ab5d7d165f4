/* Helpers shared by the files of the EAR library; not part of its contract. */
#ifndef TT_ATTEST_EAR_INTERNAL_H
#define TT_ATTEST_EAR_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/evp.h>

/* base64url (no padding) of len bytes as a malloc'd NUL-terminated string. */
int tt_ear_b64_enc(const void *in, size_t len, char **out);
/* Strict base64url decode of il bytes of text (alphabet checked, no padding) into a
 * malloc'd buffer (one NUL appended, not counted). max bounds the decoded size. */
int tt_ear_b64_dec(const char *in, size_t il, size_t max, uint8_t **out, size_t *outlen);
/* Parse il bytes of base64url-encoded JSON text into an object. */
int tt_ear_b64_json(const char *in, size_t il, size_t max, json_t **out);
/* Wipe the private members of a JWK in place, then drop the reference. NULL ok. */
void tt_ear_jwk_free(json_t *jwk);
/* Sign claims as a compact JWS with a private key ({"alg","kid","typ":"JWT"} header);
 * alg must be on the allow-list and fit the key. */
int tt_ear_jws_sign(EVP_PKEY *key, const char *alg, const char *kid,
	const json_t *claims, char **token_out);
/* 0 when key can sign with alg: the key type and curve (or RSA size) fit, and a probe
 * signature succeeds (which also makes OpenSSL finish any lazy key set-up before the key
 * is shared between threads). TT_ERR_INVALID_ARGUMENT otherwise. */
int tt_ear_jws_key_check(EVP_PKEY *key, const char *alg);
/* Is alg one of the signature algorithms we issue and accept? */
bool tt_ear_sig_alg_allowed(const char *alg);

#endif
