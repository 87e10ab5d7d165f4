/*
 * Import-time validation of RSA material, shared by every provider that imports RSA
 * keys (soft, pkcs11, tpm), so that none of them can take a key the others refuse.
 */
#ifndef TT_PROVIDERS_RSA_CHECK_H
#define TT_PROVIDERS_RSA_CHECK_H

#include <stdbool.h>

#include <openssl/evp.h>

/*
 * Refuse degenerate RSA keys: a public exponent that is 0, 1 or even; a modulus that is
 * even or has a small factor (EVP_PKEY_public_check); and, for a key pair, private parts
 * that do not belong together (EVP_PKEY_check: p and q prime, n = p*q, d*e = 1 mod
 * lcm(p-1, q-1), and the CRT values consistent). `pair` says which one `pk` is meant to
 * be. 0 or TT_ERR_INVALID_ARGUMENT (the reason is logged). The pair check tests p and q
 * for primality: about 0.2 s for 4096 bits and 3 s for 8192 bits on one core, paid once
 * at import; keys are never re-checked when they are loaded.
 */
int tt_prov_rsa_check(EVP_PKEY *pk, bool pair);

#endif
