/*
 * PARSEC protobuf algorithm / key-attribute messages <-> PSA numeric encoding.
 *
 * Every value arriving from a peer is checked here before anything else looks at it:
 * protobuf-c keeps enum numbers it does not know as plain ints and leaves an unset
 * oneof as *_NOT_SET with a NULL (or zero) union member, so each switch below has a
 * default that rejects, and every sub-message pointer is checked for NULL.
 *
 * Messages built by the to_pb functions are plain malloc'ed trees, exactly like the
 * ones protobuf_c_message_unpack() returns with the default allocator, so one call to
 * protobuf_c_message_free_unpacked() releases them (it follows the oneof cases).
 */
#include <stdlib.h>

#include <protobuf-c/protobuf-c.h>

#include "turtle/error.h"
#include "turtle/psa.h"
#include "wire/psa_conv.h"

/* PSA: the MAC length of CMAC and CBC-MAC is the cipher block size; every block cipher
 * a provider offers for them (AES, Camellia) has 16-byte blocks. */
#define BLOCK_MAC_LEN 16u
/* PSA: the default tag length of CCM, GCM and ChaCha20-Poly1305. */
#define AEAD_DEFAULT_TAG_LEN 16u

/* ---- hash ---- */

static const struct {
	PsaAlgorithm__Algorithm__Hash pb;
	tt_alg_t psa;
} hash_map[] = {
	{ PSA_ALGORITHM__ALGORITHM__HASH__MD2, TT_ALG_MD2 },
	{ PSA_ALGORITHM__ALGORITHM__HASH__MD4, TT_ALG_MD4 },
	{ PSA_ALGORITHM__ALGORITHM__HASH__MD5, TT_ALG_MD5 },
	{ PSA_ALGORITHM__ALGORITHM__HASH__RIPEMD160, TT_ALG_RIPEMD160 },
	{ PSA_ALGORITHM__ALGORITHM__HASH__SHA_1, TT_ALG_SHA_1 },
	{ PSA_ALGORITHM__ALGORITHM__HASH__SHA_224, TT_ALG_SHA_224 },
	{ PSA_ALGORITHM__ALGORITHM__HASH__SHA_256, TT_ALG_SHA_256 },
	{ PSA_ALGORITHM__ALGORITHM__HASH__SHA_384, TT_ALG_SHA_384 },
	{ PSA_ALGORITHM__ALGORITHM__HASH__SHA_512, TT_ALG_SHA_512 },
	{ PSA_ALGORITHM__ALGORITHM__HASH__SHA_512_224, TT_ALG_SHA_512_224 },
	{ PSA_ALGORITHM__ALGORITHM__HASH__SHA_512_256, TT_ALG_SHA_512_256 },
	{ PSA_ALGORITHM__ALGORITHM__HASH__SHA3_224, TT_ALG_SHA3_224 },
	{ PSA_ALGORITHM__ALGORITHM__HASH__SHA3_256, TT_ALG_SHA3_256 },
	{ PSA_ALGORITHM__ALGORITHM__HASH__SHA3_384, TT_ALG_SHA3_384 },
	{ PSA_ALGORITHM__ALGORITHM__HASH__SHA3_512, TT_ALG_SHA3_512 },
};

int
tt_pb_hash_to_psa(PsaAlgorithm__Algorithm__Hash h, tt_alg_t *out)
{
	for (size_t i = 0; i < sizeof(hash_map) / sizeof(hash_map[0]); i++) {
		if (hash_map[i].pb == h) {
			*out = hash_map[i].psa;
			return 0;
		}
	}
	return TT_ERR_INVALID_ARGUMENT;
}

int
tt_psa_hash_to_pb(tt_alg_t alg, PsaAlgorithm__Algorithm__Hash *out)
{
	for (size_t i = 0; i < sizeof(hash_map) / sizeof(hash_map[0]); i++) {
		if (hash_map[i].psa == alg) {
			*out = hash_map[i].pb;
			return 0;
		}
	}
	return TT_ERR_INVALID_ARGUMENT;
}

/* ---- cipher ---- */

static const struct {
	PsaAlgorithm__Algorithm__Cipher pb;
	tt_alg_t psa;
} cipher_map[] = {
	{ PSA_ALGORITHM__ALGORITHM__CIPHER__STREAM_CIPHER, TT_ALG_STREAM_CIPHER },
	{ PSA_ALGORITHM__ALGORITHM__CIPHER__CTR, TT_ALG_CTR },
	{ PSA_ALGORITHM__ALGORITHM__CIPHER__CFB, TT_ALG_CFB },
	{ PSA_ALGORITHM__ALGORITHM__CIPHER__OFB, TT_ALG_OFB },
	{ PSA_ALGORITHM__ALGORITHM__CIPHER__XTS, TT_ALG_XTS },
	{ PSA_ALGORITHM__ALGORITHM__CIPHER__ECB_NO_PADDING, TT_ALG_ECB_NO_PADDING },
	{ PSA_ALGORITHM__ALGORITHM__CIPHER__CBC_NO_PADDING, TT_ALG_CBC_NO_PADDING },
	{ PSA_ALGORITHM__ALGORITHM__CIPHER__CBC_PKCS7, TT_ALG_CBC_PKCS7 },
};

int
tt_pb_cipher_to_psa(PsaAlgorithm__Algorithm__Cipher c, tt_alg_t *out)
{
	for (size_t i = 0; i < sizeof(cipher_map) / sizeof(cipher_map[0]); i++) {
		if (cipher_map[i].pb == c) {
			*out = cipher_map[i].psa;
			return 0;
		}
	}
	return TT_ERR_INVALID_ARGUMENT;
}

int
tt_psa_cipher_to_pb(tt_alg_t alg, PsaAlgorithm__Algorithm__Cipher *out)
{
	for (size_t i = 0; i < sizeof(cipher_map) / sizeof(cipher_map[0]); i++) {
		if (cipher_map[i].psa == alg) {
			*out = cipher_map[i].pb;
			return 0;
		}
	}
	return TT_ERR_INVALID_ARGUMENT;
}

/* ---- key agreement raw ---- */

int
tt_pb_ka_raw_to_psa(PsaAlgorithm__Algorithm__KeyAgreement__Raw r, tt_alg_t *out)
{
	switch (r) {
	case PSA_ALGORITHM__ALGORITHM__KEY_AGREEMENT__RAW__FFDH:
		*out = TT_ALG_FFDH;
		return 0;
	case PSA_ALGORITHM__ALGORITHM__KEY_AGREEMENT__RAW__ECDH:
		*out = TT_ALG_ECDH;
		return 0;
	default:
		return TT_ERR_INVALID_ARGUMENT;
	}
}

int
tt_psa_ka_raw_to_pb(tt_alg_t alg, PsaAlgorithm__Algorithm__KeyAgreement__Raw *out)
{
	switch (alg) {
	case TT_ALG_FFDH:
		*out = PSA_ALGORITHM__ALGORITHM__KEY_AGREEMENT__RAW__FFDH;
		return 0;
	case TT_ALG_ECDH:
		*out = PSA_ALGORITHM__ALGORITHM__KEY_AGREEMENT__RAW__ECDH;
		return 0;
	default:
		return TT_ERR_INVALID_ARGUMENT;
	}
}

/* ---- allocation helper ---- */

/* malloc + the generated __init: the pattern every to_pb function uses. */
#define PB_NEW(var, type, initfn)                          \
	do {                                                \
		if (((var) = malloc(sizeof(type))) == NULL) { \
			r = TT_ERR_NO_MEMORY;               \
			goto out;                           \
		}                                           \
		initfn(var);                                \
	} while (0)

static void
pb_free(void *m)
{
	if (m != NULL)
		protobuf_c_message_free_unpacked((ProtobufCMessage *)m, NULL);
}

/* ---- asymmetric signature ---- */

static int
sign_hash_to_psa(const PsaAlgorithm__Algorithm__AsymmetricSignature__SignHash *sh, tt_alg_t *h)
{
	if (sh == NULL)
		return TT_ERR_INVALID_ARGUMENT;
	switch (sh->variant_case) {
	case PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__SIGN_HASH__VARIANT_ANY:
		*h = TT_ALG_ANY_HASH;
		return 0;
	case PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__SIGN_HASH__VARIANT_SPECIFIC:
		return tt_pb_hash_to_psa(sh->specific, h);
	default:
		return TT_ERR_INVALID_ARGUMENT;
	}
}

int
tt_pb_sign_to_psa(const PsaAlgorithm__Algorithm__AsymmetricSignature *m, tt_alg_t *out)
{
	const PsaAlgorithm__Algorithm__AsymmetricSignature__SignHash *sh;
	tt_alg_t base, h = TT_ALG_NONE;
	int r;

	if (m == NULL)
		return TT_ERR_INVALID_ARGUMENT;
	switch (m->variant_case) {
	case PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__VARIANT_RSA_PKCS1V15_SIGN:
		if (m->rsa_pkcs1v15_sign == NULL)
			return TT_ERR_INVALID_ARGUMENT;
		base = TT_ALG_RSA_PKCS1V15_SIGN_BASE;
		sh = m->rsa_pkcs1v15_sign->hash_alg;
		break;
	case PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__VARIANT_RSA_PKCS1V15_SIGN_RAW:
		*out = TT_ALG_RSA_PKCS1V15_SIGN_RAW;
		return 0;
	case PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__VARIANT_RSA_PSS:
		if (m->rsa_pss == NULL)
			return TT_ERR_INVALID_ARGUMENT;
		base = TT_ALG_RSA_PSS_BASE;
		sh = m->rsa_pss->hash_alg;
		break;
	case PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__VARIANT_ECDSA:
		if (m->ecdsa == NULL)
			return TT_ERR_INVALID_ARGUMENT;
		base = TT_ALG_ECDSA_BASE;
		sh = m->ecdsa->hash_alg;
		break;
	case PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__VARIANT_ECDSA_ANY:
		*out = TT_ALG_ECDSA_ANY;
		return 0;
	case PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__VARIANT_DETERMINISTIC_ECDSA:
		if (m->deterministic_ecdsa == NULL)
			return TT_ERR_INVALID_ARGUMENT;
		base = TT_ALG_DETERMINISTIC_ECDSA_BASE;
		sh = m->deterministic_ecdsa->hash_alg;
		break;
	default:
		return TT_ERR_INVALID_ARGUMENT;
	}
	if ((r = sign_hash_to_psa(sh, &h)) != 0)
		return r;
	*out = base | (h & TT_ALG_HASH_MASK);
	return 0;
}

/* SignHash for the hash byte of a signature algorithm: 0xff is "any", else a concrete
 * hash. A zero byte has no SignHash form (the raw/any variants handle it). */
static int
sign_hash_to_pb(tt_alg_t alg, PsaAlgorithm__Algorithm__AsymmetricSignature__SignHash **out)
{
	PsaAlgorithm__Algorithm__AsymmetricSignature__SignHash *sh = NULL;
	PsaAlgorithm__Algorithm__Hash h = PSA_ALGORITHM__ALGORITHM__HASH__HASH_NONE;
	tt_alg_t hb = alg & TT_ALG_HASH_MASK;
	int r;

	if (hb == 0)
		return TT_ERR_INVALID_ARGUMENT;
	if (hb != (TT_ALG_ANY_HASH & TT_ALG_HASH_MASK) &&
	    (r = tt_psa_hash_to_pb(TT_ALG_CATEGORY_HASH | hb, &h)) != 0)
		return r;
	PB_NEW(sh, PsaAlgorithm__Algorithm__AsymmetricSignature__SignHash,
	       psa_algorithm__algorithm__asymmetric_signature__sign_hash__init);
	if (hb == (TT_ALG_ANY_HASH & TT_ALG_HASH_MASK)) {
		PB_NEW(sh->any, PsaAlgorithm__Algorithm__AsymmetricSignature__SignHash__Any,
		       psa_algorithm__algorithm__asymmetric_signature__sign_hash__any__init);
		sh->variant_case = PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__SIGN_HASH__VARIANT_ANY;
	} else {
		sh->specific = h;
		sh->variant_case = PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__SIGN_HASH__VARIANT_SPECIFIC;
	}
	*out = sh;
	sh = NULL;
	r = 0;
out:
	pb_free(sh);
	return r;
}

int
tt_psa_sign_to_pb(tt_alg_t alg, PsaAlgorithm__Algorithm__AsymmetricSignature **out)
{
	PsaAlgorithm__Algorithm__AsymmetricSignature *m = NULL;
	tt_alg_t base = TT_ALG_SIGN_BASE(alg), hb = alg & TT_ALG_HASH_MASK;
	int r;

	PB_NEW(m, PsaAlgorithm__Algorithm__AsymmetricSignature,
	       psa_algorithm__algorithm__asymmetric_signature__init);
	switch (base) {
	case TT_ALG_RSA_PKCS1V15_SIGN_BASE:
		if (hb == 0) {
			PB_NEW(m->rsa_pkcs1v15_sign_raw,
			       PsaAlgorithm__Algorithm__AsymmetricSignature__RsaPkcs1v15SignRaw,
			       psa_algorithm__algorithm__asymmetric_signature__rsa_pkcs1v15_sign_raw__init);
			m->variant_case = PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__VARIANT_RSA_PKCS1V15_SIGN_RAW;
			break;
		}
		PB_NEW(m->rsa_pkcs1v15_sign, PsaAlgorithm__Algorithm__AsymmetricSignature__RsaPkcs1v15Sign,
		       psa_algorithm__algorithm__asymmetric_signature__rsa_pkcs1v15_sign__init);
		m->variant_case = PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__VARIANT_RSA_PKCS1V15_SIGN;
		if ((r = sign_hash_to_pb(alg, &m->rsa_pkcs1v15_sign->hash_alg)) != 0)
			goto out;
		break;
	case TT_ALG_RSA_PSS_BASE:
		PB_NEW(m->rsa_pss, PsaAlgorithm__Algorithm__AsymmetricSignature__RsaPss,
		       psa_algorithm__algorithm__asymmetric_signature__rsa_pss__init);
		m->variant_case = PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__VARIANT_RSA_PSS;
		if ((r = sign_hash_to_pb(alg, &m->rsa_pss->hash_alg)) != 0)
			goto out;
		break;
	case TT_ALG_ECDSA_BASE:
		if (hb == 0) {
			PB_NEW(m->ecdsa_any, PsaAlgorithm__Algorithm__AsymmetricSignature__EcdsaAny,
			       psa_algorithm__algorithm__asymmetric_signature__ecdsa_any__init);
			m->variant_case = PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__VARIANT_ECDSA_ANY;
			break;
		}
		PB_NEW(m->ecdsa, PsaAlgorithm__Algorithm__AsymmetricSignature__Ecdsa,
		       psa_algorithm__algorithm__asymmetric_signature__ecdsa__init);
		m->variant_case = PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__VARIANT_ECDSA;
		if ((r = sign_hash_to_pb(alg, &m->ecdsa->hash_alg)) != 0)
			goto out;
		break;
	case TT_ALG_DETERMINISTIC_ECDSA_BASE:
		PB_NEW(m->deterministic_ecdsa,
		       PsaAlgorithm__Algorithm__AsymmetricSignature__DeterministicEcdsa,
		       psa_algorithm__algorithm__asymmetric_signature__deterministic_ecdsa__init);
		m->variant_case = PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__VARIANT_DETERMINISTIC_ECDSA;
		if ((r = sign_hash_to_pb(alg, &m->deterministic_ecdsa->hash_alg)) != 0)
			goto out;
		break;
	default:
		r = TT_ERR_INVALID_ARGUMENT;
		goto out;
	}
	*out = m;
	m = NULL;
	r = 0;
out:
	pb_free(m);
	return r;
}

void
tt_pb_sign_free(PsaAlgorithm__Algorithm__AsymmetricSignature *m)
{
	pb_free(m);
}

/* ---- asymmetric encryption ---- */

int
tt_pb_asym_enc_to_psa(const PsaAlgorithm__Algorithm__AsymmetricEncryption *m, tt_alg_t *out)
{
	tt_alg_t h;
	int r;

	if (m == NULL)
		return TT_ERR_INVALID_ARGUMENT;
	switch (m->variant_case) {
	case PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_ENCRYPTION__VARIANT_RSA_PKCS1V15_CRYPT:
		*out = TT_ALG_RSA_PKCS1V15_CRYPT;
		return 0;
	case PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_ENCRYPTION__VARIANT_RSA_OAEP:
		if (m->rsa_oaep == NULL)
			return TT_ERR_INVALID_ARGUMENT;
		if ((r = tt_pb_hash_to_psa(m->rsa_oaep->hash_alg, &h)) != 0)
			return r;
		*out = TT_ALG_RSA_OAEP(h);
		return 0;
	default:
		return TT_ERR_INVALID_ARGUMENT;
	}
}

int
tt_psa_asym_enc_to_pb(tt_alg_t alg, PsaAlgorithm__Algorithm__AsymmetricEncryption **out)
{
	PsaAlgorithm__Algorithm__AsymmetricEncryption *m = NULL;
	PsaAlgorithm__Algorithm__Hash h = PSA_ALGORITHM__ALGORITHM__HASH__HASH_NONE;
	int r;

	/* Validate before allocating anything. */
	if (alg != TT_ALG_RSA_PKCS1V15_CRYPT &&
	    (!TT_ALG_IS_RSA_OAEP(alg) || (r = tt_psa_hash_to_pb(TT_ALG_GET_HASH(alg), &h)) != 0))
		return TT_ERR_INVALID_ARGUMENT;
	PB_NEW(m, PsaAlgorithm__Algorithm__AsymmetricEncryption,
	       psa_algorithm__algorithm__asymmetric_encryption__init);
	if (alg == TT_ALG_RSA_PKCS1V15_CRYPT) {
		PB_NEW(m->rsa_pkcs1v15_crypt, PsaAlgorithm__Algorithm__AsymmetricEncryption__RsaPkcs1v15Crypt,
		       psa_algorithm__algorithm__asymmetric_encryption__rsa_pkcs1v15_crypt__init);
		m->variant_case = PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_ENCRYPTION__VARIANT_RSA_PKCS1V15_CRYPT;
	} else {
		PB_NEW(m->rsa_oaep, PsaAlgorithm__Algorithm__AsymmetricEncryption__RsaOaep,
		       psa_algorithm__algorithm__asymmetric_encryption__rsa_oaep__init);
		m->variant_case = PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_ENCRYPTION__VARIANT_RSA_OAEP;
		m->rsa_oaep->hash_alg = h;
	}
	*out = m;
	m = NULL;
	r = 0;
out:
	pb_free(m);
	return r;
}

void
tt_pb_asym_enc_free(PsaAlgorithm__Algorithm__AsymmetricEncryption *m)
{
	pb_free(m);
}

/* ---- AEAD ---- */

static int
aead_base_to_psa(PsaAlgorithm__Algorithm__Aead__AeadWithDefaultLengthTag a, tt_alg_t *out)
{
	switch (a) {
	case PSA_ALGORITHM__ALGORITHM__AEAD__AEAD_WITH_DEFAULT_LENGTH_TAG__CCM:
		*out = TT_ALG_CCM;
		return 0;
	case PSA_ALGORITHM__ALGORITHM__AEAD__AEAD_WITH_DEFAULT_LENGTH_TAG__GCM:
		*out = TT_ALG_GCM;
		return 0;
	case PSA_ALGORITHM__ALGORITHM__AEAD__AEAD_WITH_DEFAULT_LENGTH_TAG__CHACHA20_POLY1305:
		*out = TT_ALG_CHACHA20_POLY1305;
		return 0;
	default:
		return TT_ERR_INVALID_ARGUMENT;
	}
}

static int
aead_base_to_pb(tt_alg_t base, PsaAlgorithm__Algorithm__Aead__AeadWithDefaultLengthTag *out)
{
	switch (base) {
	case TT_ALG_CCM:
		*out = PSA_ALGORITHM__ALGORITHM__AEAD__AEAD_WITH_DEFAULT_LENGTH_TAG__CCM;
		return 0;
	case TT_ALG_GCM:
		*out = PSA_ALGORITHM__ALGORITHM__AEAD__AEAD_WITH_DEFAULT_LENGTH_TAG__GCM;
		return 0;
	case TT_ALG_CHACHA20_POLY1305:
		*out = PSA_ALGORITHM__ALGORITHM__AEAD__AEAD_WITH_DEFAULT_LENGTH_TAG__CHACHA20_POLY1305;
		return 0;
	default:
		return TT_ERR_INVALID_ARGUMENT;
	}
}

int
tt_pb_aead_to_psa(const PsaAlgorithm__Algorithm__Aead *m, tt_alg_t *out)
{
	const PsaAlgorithm__Algorithm__Aead__AeadWithShortenedTag *st;
	tt_alg_t base;
	int r;

	if (m == NULL)
		return TT_ERR_INVALID_ARGUMENT;
	switch (m->variant_case) {
	case PSA_ALGORITHM__ALGORITHM__AEAD__VARIANT_AEAD_WITH_DEFAULT_LENGTH_TAG:
		return aead_base_to_psa(m->aead_with_default_length_tag, out);
	case PSA_ALGORITHM__ALGORITHM__AEAD__VARIANT_AEAD_WITH_SHORTENED_TAG:
		st = m->aead_with_shortened_tag;
		if (st == NULL)
			return TT_ERR_INVALID_ARGUMENT;
		if ((r = aead_base_to_psa(st->aead_alg, &base)) != 0)
			return r;
		/* The PSA tag-length field is 6 bits; a zero-length tag is meaningless and
		 * no AEAD here has a tag longer than 16. Which lengths a given mode accepts
		 * (e.g. even lengths for CCM) is the provider's check. A length of 16
		 * yields the default encoding itself, as in PSA. */
		if (st->tag_length < 1 || st->tag_length > AEAD_DEFAULT_TAG_LEN)
			return TT_ERR_INVALID_ARGUMENT;
		*out = TT_ALG_AEAD_WITH_SHORTENED_TAG(base, st->tag_length);
		return 0;
	default:
		return TT_ERR_INVALID_ARGUMENT;
	}
}

int
tt_psa_aead_to_pb(tt_alg_t alg, PsaAlgorithm__Algorithm__Aead **out)
{
	PsaAlgorithm__Algorithm__Aead *m = NULL;
	PsaAlgorithm__Algorithm__Aead__AeadWithDefaultLengthTag base;
	tt_alg_t tag = TT_ALG_AEAD_TAG_LENGTH(alg);
	int r;

	if ((r = aead_base_to_pb(TT_ALG_AEAD_DEFAULT_TAG(alg), &base)) != 0)
		return r;
	if (tag < 1 || tag > AEAD_DEFAULT_TAG_LEN)
		return TT_ERR_INVALID_ARGUMENT;
	PB_NEW(m, PsaAlgorithm__Algorithm__Aead, psa_algorithm__algorithm__aead__init);
	if (tag == AEAD_DEFAULT_TAG_LEN) {
		m->variant_case = PSA_ALGORITHM__ALGORITHM__AEAD__VARIANT_AEAD_WITH_DEFAULT_LENGTH_TAG;
		m->aead_with_default_length_tag = base;
	} else {
		PB_NEW(m->aead_with_shortened_tag, PsaAlgorithm__Algorithm__Aead__AeadWithShortenedTag,
		       psa_algorithm__algorithm__aead__aead_with_shortened_tag__init);
		m->variant_case = PSA_ALGORITHM__ALGORITHM__AEAD__VARIANT_AEAD_WITH_SHORTENED_TAG;
		m->aead_with_shortened_tag->aead_alg = base;
		m->aead_with_shortened_tag->tag_length = tag;
	}
	*out = m;
	m = NULL;
	r = 0;
out:
	pb_free(m);
	return r;
}

void
tt_pb_aead_free(PsaAlgorithm__Algorithm__Aead *m)
{
	pb_free(m);
}

/* ---- MAC ---- */

/* Full length in bytes of a full-length MAC algorithm; 0 if it has no protobuf form. */
static size_t
mac_full_len(tt_alg_t full)
{
	PsaAlgorithm__Algorithm__Hash h;

	if (full == TT_ALG_CMAC || full == TT_ALG_CBC_MAC)
		return BLOCK_MAC_LEN;
	if (TT_ALG_IS_HMAC(full) && full == TT_ALG_HMAC(full) &&
	    tt_psa_hash_to_pb(TT_ALG_GET_HASH(full), &h) == 0)
		return tt_psa_hash_size(TT_ALG_GET_HASH(full));
	return 0;
}

static int
mac_full_to_psa(const PsaAlgorithm__Algorithm__Mac__FullLength *f, tt_alg_t *out)
{
	tt_alg_t h;
	int r;

	if (f == NULL)
		return TT_ERR_INVALID_ARGUMENT;
	switch (f->variant_case) {
	case PSA_ALGORITHM__ALGORITHM__MAC__FULL_LENGTH__VARIANT_HMAC:
		if (f->hmac == NULL)
			return TT_ERR_INVALID_ARGUMENT;
		if ((r = tt_pb_hash_to_psa(f->hmac->hash_alg, &h)) != 0)
			return r;
		*out = TT_ALG_HMAC(h);
		return 0;
	case PSA_ALGORITHM__ALGORITHM__MAC__FULL_LENGTH__VARIANT_CBC_MAC:
		*out = TT_ALG_CBC_MAC;
		return 0;
	case PSA_ALGORITHM__ALGORITHM__MAC__FULL_LENGTH__VARIANT_CMAC:
		*out = TT_ALG_CMAC;
		return 0;
	default:
		return TT_ERR_INVALID_ARGUMENT;
	}
}

int
tt_pb_mac_to_psa(const PsaAlgorithm__Algorithm__Mac *m, tt_alg_t *out)
{
	const PsaAlgorithm__Algorithm__Mac__Truncated *t;
	tt_alg_t full;
	size_t flen;
	int r;

	if (m == NULL)
		return TT_ERR_INVALID_ARGUMENT;
	switch (m->variant_case) {
	case PSA_ALGORITHM__ALGORITHM__MAC__VARIANT_FULL_LENGTH:
		return mac_full_to_psa(m->full_length, out);
	case PSA_ALGORITHM__ALGORITHM__MAC__VARIANT_TRUNCATED:
		t = m->truncated;
		if (t == NULL)
			return TT_ERR_INVALID_ARGUMENT;
		if ((r = mac_full_to_psa(t->mac_alg, &full)) != 0)
			return r;
		/* The PSA length field is 6 bits and 0 means "full length", so a truncated
		 * MAC is 1..63 bytes, and PSA requires it to be no longer than the MAC.
		 * Truncating to exactly the full length is the full-length algorithm (PSA
		 * policy treats the two alike), so it gets that one encoding. */
		flen = mac_full_len(full);
		if (t->mac_length < 1 || t->mac_length > 63 || t->mac_length > flen)
			return TT_ERR_INVALID_ARGUMENT;
		*out = t->mac_length == flen ? full : TT_ALG_TRUNCATED_MAC(full, t->mac_length);
		return 0;
	default:
		return TT_ERR_INVALID_ARGUMENT;
	}
}

static int
mac_full_to_pb(tt_alg_t full, PsaAlgorithm__Algorithm__Mac__FullLength **out)
{
	PsaAlgorithm__Algorithm__Mac__FullLength *f = NULL;
	PsaAlgorithm__Algorithm__Hash h = PSA_ALGORITHM__ALGORITHM__HASH__HASH_NONE;
	int r;

	if (full != TT_ALG_CMAC && full != TT_ALG_CBC_MAC &&
	    (!TT_ALG_IS_HMAC(full) || full != TT_ALG_HMAC(full) ||
	     tt_psa_hash_to_pb(TT_ALG_GET_HASH(full), &h) != 0))
		return TT_ERR_INVALID_ARGUMENT;
	PB_NEW(f, PsaAlgorithm__Algorithm__Mac__FullLength, psa_algorithm__algorithm__mac__full_length__init);
	if (full == TT_ALG_CMAC) {
		PB_NEW(f->cmac, PsaAlgorithm__Algorithm__Mac__FullLength__Cmac,
		       psa_algorithm__algorithm__mac__full_length__cmac__init);
		f->variant_case = PSA_ALGORITHM__ALGORITHM__MAC__FULL_LENGTH__VARIANT_CMAC;
	} else if (full == TT_ALG_CBC_MAC) {
		PB_NEW(f->cbc_mac, PsaAlgorithm__Algorithm__Mac__FullLength__CbcMac,
		       psa_algorithm__algorithm__mac__full_length__cbc_mac__init);
		f->variant_case = PSA_ALGORITHM__ALGORITHM__MAC__FULL_LENGTH__VARIANT_CBC_MAC;
	} else {
		PB_NEW(f->hmac, PsaAlgorithm__Algorithm__Mac__FullLength__Hmac,
		       psa_algorithm__algorithm__mac__full_length__hmac__init);
		f->variant_case = PSA_ALGORITHM__ALGORITHM__MAC__FULL_LENGTH__VARIANT_HMAC;
		f->hmac->hash_alg = h;
	}
	*out = f;
	f = NULL;
	r = 0;
out:
	pb_free(f);
	return r;
}

int
tt_psa_mac_to_pb(tt_alg_t alg, PsaAlgorithm__Algorithm__Mac **out)
{
	PsaAlgorithm__Algorithm__Mac *m = NULL;
	tt_alg_t full = TT_ALG_FULL_LENGTH_MAC(alg);
	size_t len = TT_ALG_MAC_TRUNCATION(alg), flen = mac_full_len(full);
	int r;

	if (flen == 0 || len > flen)
		return TT_ERR_INVALID_ARGUMENT;
	PB_NEW(m, PsaAlgorithm__Algorithm__Mac, psa_algorithm__algorithm__mac__init);
	if (len == 0 || len == flen) {
		m->variant_case = PSA_ALGORITHM__ALGORITHM__MAC__VARIANT_FULL_LENGTH;
		if ((r = mac_full_to_pb(full, &m->full_length)) != 0)
			goto out;
	} else {
		PB_NEW(m->truncated, PsaAlgorithm__Algorithm__Mac__Truncated,
		       psa_algorithm__algorithm__mac__truncated__init);
		m->variant_case = PSA_ALGORITHM__ALGORITHM__MAC__VARIANT_TRUNCATED;
		m->truncated->mac_length = (uint32_t)len;
		if ((r = mac_full_to_pb(full, &m->truncated->mac_alg)) != 0)
			goto out;
	}
	*out = m;
	m = NULL;
	r = 0;
out:
	pb_free(m);
	return r;
}

void
tt_pb_mac_free(PsaAlgorithm__Algorithm__Mac *m)
{
	pb_free(m);
}

/* ---- key derivation and key agreement ---- */

#define KDF_HKDF_BASE          ((tt_alg_t)0x08000100)
#define KDF_TLS12_PRF_BASE     ((tt_alg_t)0x08000200)
#define KDF_TLS12_PSK_TO_MS_BASE ((tt_alg_t)0x08000300)

static int
kdf_to_psa(const PsaAlgorithm__Algorithm__KeyDerivation *m, tt_alg_t *out)
{
	PsaAlgorithm__Algorithm__Hash ph;
	tt_alg_t base, h;
	int r;

	if (m == NULL)
		return TT_ERR_INVALID_ARGUMENT;
	switch (m->variant_case) {
	case PSA_ALGORITHM__ALGORITHM__KEY_DERIVATION__VARIANT_HKDF:
		if (m->hkdf == NULL)
			return TT_ERR_INVALID_ARGUMENT;
		base = KDF_HKDF_BASE;
		ph = m->hkdf->hash_alg;
		break;
	case PSA_ALGORITHM__ALGORITHM__KEY_DERIVATION__VARIANT_TLS12_PRF:
		if (m->tls12_prf == NULL)
			return TT_ERR_INVALID_ARGUMENT;
		base = KDF_TLS12_PRF_BASE;
		ph = m->tls12_prf->hash_alg;
		break;
	case PSA_ALGORITHM__ALGORITHM__KEY_DERIVATION__VARIANT_TLS12_PSK_TO_MS:
		if (m->tls12_psk_to_ms == NULL)
			return TT_ERR_INVALID_ARGUMENT;
		base = KDF_TLS12_PSK_TO_MS_BASE;
		ph = m->tls12_psk_to_ms->hash_alg;
		break;
	default:
		return TT_ERR_INVALID_ARGUMENT;
	}
	if ((r = tt_pb_hash_to_psa(ph, &h)) != 0)
		return r;
	*out = base | (h & TT_ALG_HASH_MASK);
	return 0;
}

static int
kdf_to_pb(tt_alg_t alg, PsaAlgorithm__Algorithm__KeyDerivation **out)
{
	PsaAlgorithm__Algorithm__KeyDerivation *m = NULL;
	PsaAlgorithm__Algorithm__Hash h = PSA_ALGORITHM__ALGORITHM__HASH__HASH_NONE;
	tt_alg_t base = alg & ~TT_ALG_HASH_MASK;
	int r;

	if ((base != KDF_HKDF_BASE && base != KDF_TLS12_PRF_BASE && base != KDF_TLS12_PSK_TO_MS_BASE) ||
	    tt_psa_hash_to_pb(TT_ALG_GET_HASH(alg), &h) != 0)
		return TT_ERR_INVALID_ARGUMENT;
	PB_NEW(m, PsaAlgorithm__Algorithm__KeyDerivation, psa_algorithm__algorithm__key_derivation__init);
	if (base == KDF_HKDF_BASE) {
		PB_NEW(m->hkdf, PsaAlgorithm__Algorithm__KeyDerivation__Hkdf,
		       psa_algorithm__algorithm__key_derivation__hkdf__init);
		m->variant_case = PSA_ALGORITHM__ALGORITHM__KEY_DERIVATION__VARIANT_HKDF;
		m->hkdf->hash_alg = h;
	} else if (base == KDF_TLS12_PRF_BASE) {
		PB_NEW(m->tls12_prf, PsaAlgorithm__Algorithm__KeyDerivation__Tls12Prf,
		       psa_algorithm__algorithm__key_derivation__tls12_prf__init);
		m->variant_case = PSA_ALGORITHM__ALGORITHM__KEY_DERIVATION__VARIANT_TLS12_PRF;
		m->tls12_prf->hash_alg = h;
	} else {
		PB_NEW(m->tls12_psk_to_ms, PsaAlgorithm__Algorithm__KeyDerivation__Tls12PskToMs,
		       psa_algorithm__algorithm__key_derivation__tls12_psk_to_ms__init);
		m->variant_case = PSA_ALGORITHM__ALGORITHM__KEY_DERIVATION__VARIANT_TLS12_PSK_TO_MS;
		m->tls12_psk_to_ms->hash_alg = h;
	}
	*out = m;
	m = NULL;
	r = 0;
out:
	pb_free(m);
	return r;
}

static int
ka_to_psa(const PsaAlgorithm__Algorithm__KeyAgreement *m, tt_alg_t *out)
{
	const PsaAlgorithm__Algorithm__KeyAgreement__WithKeyDerivation *wk;
	tt_alg_t ka, kdf;
	int r;

	if (m == NULL)
		return TT_ERR_INVALID_ARGUMENT;
	switch (m->variant_case) {
	case PSA_ALGORITHM__ALGORITHM__KEY_AGREEMENT__VARIANT_RAW:
		return tt_pb_ka_raw_to_psa(m->raw, out);
	case PSA_ALGORITHM__ALGORITHM__KEY_AGREEMENT__VARIANT_WITH_KEY_DERIVATION:
		wk = m->with_key_derivation;
		if (wk == NULL)
			return TT_ERR_INVALID_ARGUMENT;
		if ((r = tt_pb_ka_raw_to_psa(wk->ka_alg, &ka)) != 0)
			return r;
		if ((r = kdf_to_psa(wk->kdf_alg, &kdf)) != 0)
			return r;
		*out = TT_ALG_KEY_AGREEMENT(ka, kdf);
		return 0;
	default:
		return TT_ERR_INVALID_ARGUMENT;
	}
}

static int
ka_to_pb(tt_alg_t alg, PsaAlgorithm__Algorithm__KeyAgreement **out)
{
	PsaAlgorithm__Algorithm__KeyAgreement *m = NULL;
	PsaAlgorithm__Algorithm__KeyAgreement__Raw raw;
	int r;

	if ((r = tt_psa_ka_raw_to_pb(TT_ALG_KA_RAW(alg), &raw)) != 0)
		return r;
	PB_NEW(m, PsaAlgorithm__Algorithm__KeyAgreement, psa_algorithm__algorithm__key_agreement__init);
	if ((alg & (tt_alg_t)0x0000ffff) == 0) {
		m->variant_case = PSA_ALGORITHM__ALGORITHM__KEY_AGREEMENT__VARIANT_RAW;
		m->raw = raw;
	} else {
		PB_NEW(m->with_key_derivation, PsaAlgorithm__Algorithm__KeyAgreement__WithKeyDerivation,
		       psa_algorithm__algorithm__key_agreement__with_key_derivation__init);
		m->variant_case = PSA_ALGORITHM__ALGORITHM__KEY_AGREEMENT__VARIANT_WITH_KEY_DERIVATION;
		m->with_key_derivation->ka_alg = raw;
		if ((r = kdf_to_pb(TT_ALG_KA_KDF(alg), &m->with_key_derivation->kdf_alg)) != 0)
			goto out;
	}
	*out = m;
	m = NULL;
	r = 0;
out:
	pb_free(m);
	return r;
}

/* ---- general algorithm ---- */

int
tt_pb_alg_to_psa(const PsaAlgorithm__Algorithm *m, tt_alg_t *out)
{
	if (m == NULL) {
		*out = TT_ALG_NONE;
		return 0;
	}
	switch (m->variant_case) {
	case PSA_ALGORITHM__ALGORITHM__VARIANT_NONE:
		*out = TT_ALG_NONE;
		return 0;
	case PSA_ALGORITHM__ALGORITHM__VARIANT_HASH:
		return tt_pb_hash_to_psa(m->hash, out);
	case PSA_ALGORITHM__ALGORITHM__VARIANT_MAC:
		return tt_pb_mac_to_psa(m->mac, out);
	case PSA_ALGORITHM__ALGORITHM__VARIANT_CIPHER:
		return tt_pb_cipher_to_psa(m->cipher, out);
	case PSA_ALGORITHM__ALGORITHM__VARIANT_AEAD:
		return tt_pb_aead_to_psa(m->aead, out);
	case PSA_ALGORITHM__ALGORITHM__VARIANT_ASYMMETRIC_SIGNATURE:
		return tt_pb_sign_to_psa(m->asymmetric_signature, out);
	case PSA_ALGORITHM__ALGORITHM__VARIANT_ASYMMETRIC_ENCRYPTION:
		return tt_pb_asym_enc_to_psa(m->asymmetric_encryption, out);
	case PSA_ALGORITHM__ALGORITHM__VARIANT_KEY_AGREEMENT:
		return ka_to_psa(m->key_agreement, out);
	case PSA_ALGORITHM__ALGORITHM__VARIANT_KEY_DERIVATION:
		return kdf_to_psa(m->key_derivation, out);
	default:
		return TT_ERR_INVALID_ARGUMENT;
	}
}

int
tt_psa_alg_to_pb(tt_alg_t alg, PsaAlgorithm__Algorithm **out)
{
	PsaAlgorithm__Algorithm *m = NULL;
	int r;

	PB_NEW(m, PsaAlgorithm__Algorithm, psa_algorithm__algorithm__init);
	if (alg == TT_ALG_NONE) {
		PB_NEW(m->none, PsaAlgorithm__Algorithm__None, psa_algorithm__algorithm__none__init);
		m->variant_case = PSA_ALGORITHM__ALGORITHM__VARIANT_NONE;
		goto done;
	}
	/* Each branch sets variant_case only once its member is valid, so the free on
	 * failure never follows a half-set pointer. */
	switch (TT_ALG_CATEGORY(alg)) {
	case TT_ALG_CATEGORY_HASH:
		if ((r = tt_psa_hash_to_pb(alg, &m->hash)) != 0)
			goto out;
		m->variant_case = PSA_ALGORITHM__ALGORITHM__VARIANT_HASH;
		break;
	case TT_ALG_CATEGORY_MAC:
		if ((r = tt_psa_mac_to_pb(alg, &m->mac)) != 0)
			goto out;
		m->variant_case = PSA_ALGORITHM__ALGORITHM__VARIANT_MAC;
		break;
	case TT_ALG_CATEGORY_CIPHER:
		if ((r = tt_psa_cipher_to_pb(alg, &m->cipher)) != 0)
			goto out;
		m->variant_case = PSA_ALGORITHM__ALGORITHM__VARIANT_CIPHER;
		break;
	case TT_ALG_CATEGORY_AEAD:
		if ((r = tt_psa_aead_to_pb(alg, &m->aead)) != 0)
			goto out;
		m->variant_case = PSA_ALGORITHM__ALGORITHM__VARIANT_AEAD;
		break;
	case TT_ALG_CATEGORY_SIGN:
		if ((r = tt_psa_sign_to_pb(alg, &m->asymmetric_signature)) != 0)
			goto out;
		m->variant_case = PSA_ALGORITHM__ALGORITHM__VARIANT_ASYMMETRIC_SIGNATURE;
		break;
	case TT_ALG_CATEGORY_ASYM_ENC:
		if ((r = tt_psa_asym_enc_to_pb(alg, &m->asymmetric_encryption)) != 0)
			goto out;
		m->variant_case = PSA_ALGORITHM__ALGORITHM__VARIANT_ASYMMETRIC_ENCRYPTION;
		break;
	case TT_ALG_CATEGORY_KA:
		if ((r = ka_to_pb(alg, &m->key_agreement)) != 0)
			goto out;
		m->variant_case = PSA_ALGORITHM__ALGORITHM__VARIANT_KEY_AGREEMENT;
		break;
	case TT_ALG_CATEGORY_KDF:
		if ((r = kdf_to_pb(alg, &m->key_derivation)) != 0)
			goto out;
		m->variant_case = PSA_ALGORITHM__ALGORITHM__VARIANT_KEY_DERIVATION;
		break;
	default:
		r = TT_ERR_INVALID_ARGUMENT;
		goto out;
	}
done:
	*out = m;
	m = NULL;
	r = 0;
out:
	pb_free(m);
	return r;
}

void
tt_pb_alg_free(PsaAlgorithm__Algorithm *m)
{
	pb_free(m);
}

/* ---- key types ---- */

static const struct {
	PsaKeyAttributes__KeyType__EccFamily pb;
	tt_ecc_family_t psa;
} ecc_map[] = {
	{ PSA_KEY_ATTRIBUTES__KEY_TYPE__ECC_FAMILY__SECP_K1, TT_ECC_FAMILY_SECP_K1 },
	{ PSA_KEY_ATTRIBUTES__KEY_TYPE__ECC_FAMILY__SECP_R1, TT_ECC_FAMILY_SECP_R1 },
	{ PSA_KEY_ATTRIBUTES__KEY_TYPE__ECC_FAMILY__SECP_R2, TT_ECC_FAMILY_SECP_R2 },
	{ PSA_KEY_ATTRIBUTES__KEY_TYPE__ECC_FAMILY__SECT_K1, TT_ECC_FAMILY_SECT_K1 },
	{ PSA_KEY_ATTRIBUTES__KEY_TYPE__ECC_FAMILY__SECT_R1, TT_ECC_FAMILY_SECT_R1 },
	{ PSA_KEY_ATTRIBUTES__KEY_TYPE__ECC_FAMILY__SECT_R2, TT_ECC_FAMILY_SECT_R2 },
	{ PSA_KEY_ATTRIBUTES__KEY_TYPE__ECC_FAMILY__BRAINPOOL_P_R1, TT_ECC_FAMILY_BRAINPOOL_P_R1 },
	{ PSA_KEY_ATTRIBUTES__KEY_TYPE__ECC_FAMILY__FRP, TT_ECC_FAMILY_FRP },
	{ PSA_KEY_ATTRIBUTES__KEY_TYPE__ECC_FAMILY__MONTGOMERY, TT_ECC_FAMILY_MONTGOMERY },
};

static int
ecc_family_to_psa(PsaKeyAttributes__KeyType__EccFamily f, tt_ecc_family_t *out)
{
	for (size_t i = 0; i < sizeof(ecc_map) / sizeof(ecc_map[0]); i++) {
		if (ecc_map[i].pb == f) {
			*out = ecc_map[i].psa;
			return 0;
		}
	}
	return TT_ERR_INVALID_ARGUMENT;
}

static int
ecc_family_to_pb(tt_ecc_family_t f, PsaKeyAttributes__KeyType__EccFamily *out)
{
	for (size_t i = 0; i < sizeof(ecc_map) / sizeof(ecc_map[0]); i++) {
		if (ecc_map[i].psa == f) {
			*out = ecc_map[i].pb;
			return 0;
		}
	}
	return TT_ERR_INVALID_ARGUMENT;
}

/* DhFamily has a single member whose number is 0, so 0 is valid here (unlike
 * ECC_FAMILY_NONE) and anything else is unknown. */
static int
dh_family_to_psa(PsaKeyAttributes__KeyType__DhFamily f, tt_dh_family_t *out)
{
	if (f != PSA_KEY_ATTRIBUTES__KEY_TYPE__DH_FAMILY__RFC7919)
		return TT_ERR_INVALID_ARGUMENT;
	*out = TT_DH_FAMILY_RFC7919;
	return 0;
}

static int
key_type_to_psa(const PsaKeyAttributes__KeyType *m, tt_key_type_t *out)
{
	tt_ecc_family_t ecc;
	tt_dh_family_t dh;
	int r;

	if (m == NULL)
		return TT_ERR_INVALID_ARGUMENT;
	switch (m->variant_case) {
	case PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_RAW_DATA: *out = TT_KEY_TYPE_RAW_DATA; return 0;
	case PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_HMAC: *out = TT_KEY_TYPE_HMAC; return 0;
	case PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_DERIVE: *out = TT_KEY_TYPE_DERIVE; return 0;
	case PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_AES: *out = TT_KEY_TYPE_AES; return 0;
	case PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_DES: *out = TT_KEY_TYPE_DES; return 0;
	case PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_CAMELLIA: *out = TT_KEY_TYPE_CAMELLIA; return 0;
	case PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_ARC4: *out = TT_KEY_TYPE_ARC4; return 0;
	case PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_CHACHA20: *out = TT_KEY_TYPE_CHACHA20; return 0;
	case PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_RSA_PUBLIC_KEY: *out = TT_KEY_TYPE_RSA_PUBLIC_KEY; return 0;
	case PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_RSA_KEY_PAIR: *out = TT_KEY_TYPE_RSA_KEY_PAIR; return 0;
	case PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_ECC_KEY_PAIR:
		if (m->ecc_key_pair == NULL)
			return TT_ERR_INVALID_ARGUMENT;
		if ((r = ecc_family_to_psa(m->ecc_key_pair->curve_family, &ecc)) != 0)
			return r;
		*out = TT_KEY_TYPE_ECC_KEY_PAIR(ecc);
		return 0;
	case PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_ECC_PUBLIC_KEY:
		if (m->ecc_public_key == NULL)
			return TT_ERR_INVALID_ARGUMENT;
		if ((r = ecc_family_to_psa(m->ecc_public_key->curve_family, &ecc)) != 0)
			return r;
		*out = TT_KEY_TYPE_ECC_PUBLIC_KEY(ecc);
		return 0;
	case PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_DH_KEY_PAIR:
		if (m->dh_key_pair == NULL)
			return TT_ERR_INVALID_ARGUMENT;
		if ((r = dh_family_to_psa(m->dh_key_pair->group_family, &dh)) != 0)
			return r;
		*out = TT_KEY_TYPE_DH_KEY_PAIR(dh);
		return 0;
	case PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_DH_PUBLIC_KEY:
		if (m->dh_public_key == NULL)
			return TT_ERR_INVALID_ARGUMENT;
		if ((r = dh_family_to_psa(m->dh_public_key->group_family, &dh)) != 0)
			return r;
		*out = TT_KEY_TYPE_DH_PUBLIC_KEY(dh);
		return 0;
	default:
		return TT_ERR_INVALID_ARGUMENT;
	}
}

/* An empty marker message for one of the field-less key type variants. */
#define SIMPLE_KT(caseval, member, type, initfn)          \
	do {                                               \
		PB_NEW(m->member, type, initfn);           \
		m->variant_case = (caseval);               \
	} while (0)

static int
key_type_to_pb(tt_key_type_t t, PsaKeyAttributes__KeyType **out)
{
	PsaKeyAttributes__KeyType *m = NULL;
	PsaKeyAttributes__KeyType__EccFamily ecc = PSA_KEY_ATTRIBUTES__KEY_TYPE__ECC_FAMILY__ECC_FAMILY_NONE;
	int r;

	PB_NEW(m, PsaKeyAttributes__KeyType, psa_key_attributes__key_type__init);
	switch (t) {
	case TT_KEY_TYPE_RAW_DATA:
		SIMPLE_KT(PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_RAW_DATA, raw_data,
			  PsaKeyAttributes__KeyType__RawData, psa_key_attributes__key_type__raw_data__init);
		break;
	case TT_KEY_TYPE_HMAC:
		SIMPLE_KT(PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_HMAC, hmac,
			  PsaKeyAttributes__KeyType__Hmac, psa_key_attributes__key_type__hmac__init);
		break;
	case TT_KEY_TYPE_DERIVE:
		SIMPLE_KT(PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_DERIVE, derive,
			  PsaKeyAttributes__KeyType__Derive, psa_key_attributes__key_type__derive__init);
		break;
	case TT_KEY_TYPE_AES:
		SIMPLE_KT(PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_AES, aes,
			  PsaKeyAttributes__KeyType__Aes, psa_key_attributes__key_type__aes__init);
		break;
	case TT_KEY_TYPE_DES:
		SIMPLE_KT(PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_DES, des,
			  PsaKeyAttributes__KeyType__Des, psa_key_attributes__key_type__des__init);
		break;
	case TT_KEY_TYPE_CAMELLIA:
		SIMPLE_KT(PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_CAMELLIA, camellia,
			  PsaKeyAttributes__KeyType__Camellia, psa_key_attributes__key_type__camellia__init);
		break;
	case TT_KEY_TYPE_ARC4:
		SIMPLE_KT(PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_ARC4, arc4,
			  PsaKeyAttributes__KeyType__Arc4, psa_key_attributes__key_type__arc4__init);
		break;
	case TT_KEY_TYPE_CHACHA20:
		SIMPLE_KT(PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_CHACHA20, chacha20,
			  PsaKeyAttributes__KeyType__Chacha20, psa_key_attributes__key_type__chacha20__init);
		break;
	case TT_KEY_TYPE_RSA_PUBLIC_KEY:
		SIMPLE_KT(PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_RSA_PUBLIC_KEY, rsa_public_key,
			  PsaKeyAttributes__KeyType__RsaPublicKey,
			  psa_key_attributes__key_type__rsa_public_key__init);
		break;
	case TT_KEY_TYPE_RSA_KEY_PAIR:
		SIMPLE_KT(PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_RSA_KEY_PAIR, rsa_key_pair,
			  PsaKeyAttributes__KeyType__RsaKeyPair, psa_key_attributes__key_type__rsa_key_pair__init);
		break;
	case TT_KEY_TYPE_DH_KEY_PAIR(TT_DH_FAMILY_RFC7919):
		SIMPLE_KT(PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_DH_KEY_PAIR, dh_key_pair,
			  PsaKeyAttributes__KeyType__DhKeyPair, psa_key_attributes__key_type__dh_key_pair__init);
		m->dh_key_pair->group_family = PSA_KEY_ATTRIBUTES__KEY_TYPE__DH_FAMILY__RFC7919;
		break;
	case TT_KEY_TYPE_DH_PUBLIC_KEY(TT_DH_FAMILY_RFC7919):
		SIMPLE_KT(PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_DH_PUBLIC_KEY, dh_public_key,
			  PsaKeyAttributes__KeyType__DhPublicKey, psa_key_attributes__key_type__dh_public_key__init);
		m->dh_public_key->group_family = PSA_KEY_ATTRIBUTES__KEY_TYPE__DH_FAMILY__RFC7919;
		break;
	default:
		if ((t & 0xff00) != 0x7100 && (t & 0xff00) != 0x4100) {
			r = TT_ERR_INVALID_ARGUMENT;
			goto out;
		}
		if ((r = ecc_family_to_pb(TT_KEY_TYPE_ECC_GET_FAMILY(t), &ecc)) != 0)
			goto out;
		if (TT_KEY_TYPE_IS_ECC_KEY_PAIR(t)) {
			SIMPLE_KT(PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_ECC_KEY_PAIR, ecc_key_pair,
				  PsaKeyAttributes__KeyType__EccKeyPair,
				  psa_key_attributes__key_type__ecc_key_pair__init);
			m->ecc_key_pair->curve_family = ecc;
		} else {
			SIMPLE_KT(PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_ECC_PUBLIC_KEY, ecc_public_key,
				  PsaKeyAttributes__KeyType__EccPublicKey,
				  psa_key_attributes__key_type__ecc_public_key__init);
			m->ecc_public_key->curve_family = ecc;
		}
		break;
	}
	*out = m;
	m = NULL;
	r = 0;
out:
	pb_free(m);
	return r;
}

/* ---- usage flags ---- */

static tt_usage_t
usage_to_psa(const PsaKeyAttributes__UsageFlags *u)
{
	tt_usage_t v = 0;

	if (u == NULL)
		return 0;
	v |= u->export ? TT_USAGE_EXPORT : 0;
	v |= u->copy ? TT_USAGE_COPY : 0;
	v |= u->cache ? TT_USAGE_CACHE : 0;
	v |= u->encrypt ? TT_USAGE_ENCRYPT : 0;
	v |= u->decrypt ? TT_USAGE_DECRYPT : 0;
	v |= u->sign_message ? TT_USAGE_SIGN_MESSAGE : 0;
	v |= u->verify_message ? TT_USAGE_VERIFY_MESSAGE : 0;
	v |= u->sign_hash ? TT_USAGE_SIGN_HASH : 0;
	v |= u->verify_hash ? TT_USAGE_VERIFY_HASH : 0;
	v |= u->derive ? TT_USAGE_DERIVE : 0;
	return v;
}

#define TT_USAGE_ALL (TT_USAGE_EXPORT | TT_USAGE_COPY | TT_USAGE_CACHE | TT_USAGE_ENCRYPT | \
		      TT_USAGE_DECRYPT | TT_USAGE_SIGN_MESSAGE | TT_USAGE_VERIFY_MESSAGE |   \
		      TT_USAGE_SIGN_HASH | TT_USAGE_VERIFY_HASH | TT_USAGE_DERIVE)

static void
usage_to_pb(tt_usage_t v, PsaKeyAttributes__UsageFlags *u)
{
	u->export = (v & TT_USAGE_EXPORT) != 0;
	u->copy = (v & TT_USAGE_COPY) != 0;
	u->cache = (v & TT_USAGE_CACHE) != 0;
	u->encrypt = (v & TT_USAGE_ENCRYPT) != 0;
	u->decrypt = (v & TT_USAGE_DECRYPT) != 0;
	u->sign_message = (v & TT_USAGE_SIGN_MESSAGE) != 0;
	u->verify_message = (v & TT_USAGE_VERIFY_MESSAGE) != 0;
	u->sign_hash = (v & TT_USAGE_SIGN_HASH) != 0;
	u->verify_hash = (v & TT_USAGE_VERIFY_HASH) != 0;
	u->derive = (v & TT_USAGE_DERIVE) != 0;
}

/* ---- key attributes ---- */

int
tt_pb_attrs_to_psa(const PsaKeyAttributes__KeyAttributes *m, struct tt_key_attrs *out)
{
	struct tt_key_attrs a = { 0 };
	int r;

	if (m == NULL)
		return TT_ERR_INVALID_ARGUMENT;
	if ((r = key_type_to_psa(m->key_type, &a.type)) != 0)
		return r;
	a.bits = m->key_bits;
	/* An absent policy (or absent flags) is the empty policy: no usage, no algorithm.
	 * That fails safe, so it is not worth refusing. */
	if (m->key_policy != NULL) {
		a.usage = usage_to_psa(m->key_policy->key_usage_flags);
		if ((r = tt_pb_alg_to_psa(m->key_policy->key_algorithm, &a.alg)) != 0)
			return r;
	}
	*out = a;
	return 0;
}

int
tt_psa_attrs_to_pb(const struct tt_key_attrs *a, PsaKeyAttributes__KeyAttributes **out)
{
	PsaKeyAttributes__KeyAttributes *m = NULL;
	int r;

	if (a == NULL || (a->usage & ~TT_USAGE_ALL) != 0)
		return TT_ERR_INVALID_ARGUMENT;
	PB_NEW(m, PsaKeyAttributes__KeyAttributes, psa_key_attributes__key_attributes__init);
	m->key_bits = a->bits;
	if ((r = key_type_to_pb(a->type, &m->key_type)) != 0)
		goto out;
	PB_NEW(m->key_policy, PsaKeyAttributes__KeyPolicy, psa_key_attributes__key_policy__init);
	PB_NEW(m->key_policy->key_usage_flags, PsaKeyAttributes__UsageFlags,
	       psa_key_attributes__usage_flags__init);
	usage_to_pb(a->usage, m->key_policy->key_usage_flags);
	if ((r = tt_psa_alg_to_pb(a->alg, &m->key_policy->key_algorithm)) != 0)
		goto out;
	*out = m;
	m = NULL;
	r = 0;
out:
	pb_free(m);
	return r;
}

void
tt_pb_attrs_free(PsaKeyAttributes__KeyAttributes *m)
{
	pb_free(m);
}
