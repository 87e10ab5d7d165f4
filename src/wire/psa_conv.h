/*
 * Translation between PARSEC's protobuf messages for algorithms and key attributes and
 * the PSA numeric encoding (include/turtle/psa.h). Used by the daemon's operation
 * handlers and by libturtle, so both ends translate identically.
 *
 * from_pb functions validate: an unset oneof, a *_NONE enum, an unknown enum value, a
 * truncated length out of range, or a combination PSA does not define fails with
 * TT_ERR_INVALID_ARGUMENT (never a crash). *out is written only on success.
 *
 * to_pb functions build a message tree with malloc; release it with the matching
 * tt_pb_*_free (NULL-safe). They fail with TT_ERR_INVALID_ARGUMENT for a value that has
 * no protobuf form and TT_ERR_NO_MEMORY on allocation failure.
 */
#ifndef TT_WIRE_PSA_CONV_H
#define TT_WIRE_PSA_CONV_H

#include "turtle/psa.h"
#include "psa_algorithm.pb-c.h"
#include "psa_key_attributes.pb-c.h"

/* Hash enum <-> TT_ALG_SHA_256 etc. */
int tt_pb_hash_to_psa(PsaAlgorithm__Algorithm__Hash h, tt_alg_t *out);
int tt_psa_hash_to_pb(tt_alg_t alg, PsaAlgorithm__Algorithm__Hash *out);

/* Cipher enum <-> TT_ALG_CBC_PKCS7 etc. */
int tt_pb_cipher_to_psa(PsaAlgorithm__Algorithm__Cipher c, tt_alg_t *out);
int tt_psa_cipher_to_pb(tt_alg_t alg, PsaAlgorithm__Algorithm__Cipher *out);

/* KeyAgreement.Raw enum <-> TT_ALG_ECDH / TT_ALG_FFDH. */
int tt_pb_ka_raw_to_psa(PsaAlgorithm__Algorithm__KeyAgreement__Raw r, tt_alg_t *out);
int tt_psa_ka_raw_to_pb(tt_alg_t alg, PsaAlgorithm__Algorithm__KeyAgreement__Raw *out);

/* Sub-messages used directly by operation bodies. */
int tt_pb_sign_to_psa(const PsaAlgorithm__Algorithm__AsymmetricSignature *m, tt_alg_t *out);
int tt_psa_sign_to_pb(tt_alg_t alg, PsaAlgorithm__Algorithm__AsymmetricSignature **out);
void tt_pb_sign_free(PsaAlgorithm__Algorithm__AsymmetricSignature *m);

int tt_pb_asym_enc_to_psa(const PsaAlgorithm__Algorithm__AsymmetricEncryption *m, tt_alg_t *out);
int tt_psa_asym_enc_to_pb(tt_alg_t alg, PsaAlgorithm__Algorithm__AsymmetricEncryption **out);
void tt_pb_asym_enc_free(PsaAlgorithm__Algorithm__AsymmetricEncryption *m);

int tt_pb_aead_to_psa(const PsaAlgorithm__Algorithm__Aead *m, tt_alg_t *out);
int tt_psa_aead_to_pb(tt_alg_t alg, PsaAlgorithm__Algorithm__Aead **out);
void tt_pb_aead_free(PsaAlgorithm__Algorithm__Aead *m);

int tt_pb_mac_to_psa(const PsaAlgorithm__Algorithm__Mac *m, tt_alg_t *out);
int tt_psa_mac_to_pb(tt_alg_t alg, PsaAlgorithm__Algorithm__Mac **out);
void tt_pb_mac_free(PsaAlgorithm__Algorithm__Mac *m);

/* The general Algorithm message (key policies). A NULL message or variant `none`
 * is TT_ALG_NONE. */
int tt_pb_alg_to_psa(const PsaAlgorithm__Algorithm *m, tt_alg_t *out);
int tt_psa_alg_to_pb(tt_alg_t alg, PsaAlgorithm__Algorithm **out);
void tt_pb_alg_free(PsaAlgorithm__Algorithm *m);

/* Key attributes (type + bits + usage flags + permitted algorithm). */
int tt_pb_attrs_to_psa(const PsaKeyAttributes__KeyAttributes *m, struct tt_key_attrs *out);
int tt_psa_attrs_to_pb(const struct tt_key_attrs *a, PsaKeyAttributes__KeyAttributes **out);
void tt_pb_attrs_free(PsaKeyAttributes__KeyAttributes *m);

#endif
