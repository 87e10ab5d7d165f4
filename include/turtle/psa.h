/*
 * PSA Crypto identifiers in their standard numeric encoding (PSA Certified Crypto API 1.1).
 *
 * Turtle carries key types, algorithms and usage flags as these numbers everywhere
 * inside the code: the wire codec (src/wire/psa_conv.c) translates the PARSEC protobuf
 * messages to and from them, and providers, the key store and the client library all
 * speak them. One encoding means one place to validate and no per-provider drift.
 */
#ifndef TURTLE_PSA_H
#define TURTLE_PSA_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef uint16_t tt_key_type_t;
typedef uint8_t tt_ecc_family_t;
typedef uint8_t tt_dh_family_t;
typedef uint32_t tt_alg_t;
typedef uint32_t tt_usage_t;

/* ---- key types ---- */
#define TT_KEY_TYPE_NONE              ((tt_key_type_t)0x0000)
#define TT_KEY_TYPE_RAW_DATA          ((tt_key_type_t)0x1001)
#define TT_KEY_TYPE_HMAC              ((tt_key_type_t)0x1100)
#define TT_KEY_TYPE_DERIVE            ((tt_key_type_t)0x1200)
#define TT_KEY_TYPE_AES               ((tt_key_type_t)0x2400)
#define TT_KEY_TYPE_DES               ((tt_key_type_t)0x2301)
#define TT_KEY_TYPE_CAMELLIA          ((tt_key_type_t)0x2403)
#define TT_KEY_TYPE_ARC4              ((tt_key_type_t)0x2002)
#define TT_KEY_TYPE_CHACHA20          ((tt_key_type_t)0x2004)
#define TT_KEY_TYPE_RSA_PUBLIC_KEY    ((tt_key_type_t)0x4001)
#define TT_KEY_TYPE_RSA_KEY_PAIR      ((tt_key_type_t)0x7001)
#define TT_KEY_TYPE_ECC_PUBLIC_KEY(c) ((tt_key_type_t)(0x4100 | (c)))
#define TT_KEY_TYPE_ECC_KEY_PAIR(c)   ((tt_key_type_t)(0x7100 | (c)))
#define TT_KEY_TYPE_DH_PUBLIC_KEY(g)  ((tt_key_type_t)(0x4200 | (g)))
#define TT_KEY_TYPE_DH_KEY_PAIR(g)    ((tt_key_type_t)(0x7200 | (g)))

#define TT_KEY_TYPE_IS_ECC(t)          (((t) & 0xcf00) == 0x4100)
#define TT_KEY_TYPE_IS_ECC_KEY_PAIR(t) (((t) & 0xff00) == 0x7100)
#define TT_KEY_TYPE_IS_DH(t)           (((t) & 0xcf00) == 0x4200)
#define TT_KEY_TYPE_IS_RSA(t)          (((t) & 0xcfff) == 0x4001)
#define TT_KEY_TYPE_IS_KEY_PAIR(t)     (((t) & 0x7000) == 0x7000)
#define TT_KEY_TYPE_IS_PUBLIC_KEY(t)   (((t) & 0x7000) == 0x4000)
#define TT_KEY_TYPE_IS_ASYMMETRIC(t)   (((t) & 0x4000) == 0x4000)
#define TT_KEY_TYPE_ECC_GET_FAMILY(t)  ((tt_ecc_family_t)((t) & 0x00ff))
#define TT_KEY_TYPE_PUBLIC_OF_PAIR(t)  ((tt_key_type_t)((t) & ~0x3000))

#define TT_ECC_FAMILY_SECP_K1        ((tt_ecc_family_t)0x17)
#define TT_ECC_FAMILY_SECP_R1        ((tt_ecc_family_t)0x12)
#define TT_ECC_FAMILY_SECP_R2        ((tt_ecc_family_t)0x1b)
#define TT_ECC_FAMILY_SECT_K1        ((tt_ecc_family_t)0x27)
#define TT_ECC_FAMILY_SECT_R1        ((tt_ecc_family_t)0x22)
#define TT_ECC_FAMILY_SECT_R2        ((tt_ecc_family_t)0x2b)
#define TT_ECC_FAMILY_BRAINPOOL_P_R1 ((tt_ecc_family_t)0x30)
#define TT_ECC_FAMILY_FRP            ((tt_ecc_family_t)0x33)
#define TT_ECC_FAMILY_MONTGOMERY     ((tt_ecc_family_t)0x41)
#define TT_DH_FAMILY_RFC7919         ((tt_dh_family_t)0x03)

/* ---- algorithms ---- */
#define TT_ALG_NONE              ((tt_alg_t)0)
#define TT_ALG_HASH_MASK         ((tt_alg_t)0x000000ff)
#define TT_ALG_CATEGORY_MASK     ((tt_alg_t)0x7f000000)
#define TT_ALG_CATEGORY_HASH     ((tt_alg_t)0x02000000)
#define TT_ALG_CATEGORY_MAC      ((tt_alg_t)0x03000000)
#define TT_ALG_CATEGORY_CIPHER   ((tt_alg_t)0x04000000)
#define TT_ALG_CATEGORY_AEAD     ((tt_alg_t)0x05000000)
#define TT_ALG_CATEGORY_SIGN     ((tt_alg_t)0x06000000)
#define TT_ALG_CATEGORY_ASYM_ENC ((tt_alg_t)0x07000000)
#define TT_ALG_CATEGORY_KDF      ((tt_alg_t)0x08000000)
#define TT_ALG_CATEGORY_KA       ((tt_alg_t)0x09000000)
#define TT_ALG_CATEGORY(a)       ((a) & TT_ALG_CATEGORY_MASK)

#define TT_ALG_MD2         ((tt_alg_t)0x02000001)
#define TT_ALG_MD4         ((tt_alg_t)0x02000002)
#define TT_ALG_MD5         ((tt_alg_t)0x02000003)
#define TT_ALG_RIPEMD160   ((tt_alg_t)0x02000004)
#define TT_ALG_SHA_1       ((tt_alg_t)0x02000005)
#define TT_ALG_SHA_224     ((tt_alg_t)0x02000008)
#define TT_ALG_SHA_256     ((tt_alg_t)0x02000009)
#define TT_ALG_SHA_384     ((tt_alg_t)0x0200000a)
#define TT_ALG_SHA_512     ((tt_alg_t)0x0200000b)
#define TT_ALG_SHA_512_224 ((tt_alg_t)0x0200000c)
#define TT_ALG_SHA_512_256 ((tt_alg_t)0x0200000d)
#define TT_ALG_SHA3_224    ((tt_alg_t)0x02000010)
#define TT_ALG_SHA3_256    ((tt_alg_t)0x02000011)
#define TT_ALG_SHA3_384    ((tt_alg_t)0x02000012)
#define TT_ALG_SHA3_512    ((tt_alg_t)0x02000013)
#define TT_ALG_ANY_HASH    ((tt_alg_t)0x020000ff)
#define TT_ALG_IS_HASH(a)  (TT_ALG_CATEGORY(a) == TT_ALG_CATEGORY_HASH)
/* The hash inside a hash-parameterised algorithm (sign, OAEP, HMAC, KDF); 0 if none. */
#define TT_ALG_GET_HASH(a) \
	(((a) & TT_ALG_HASH_MASK) == 0 ? TT_ALG_NONE : (TT_ALG_CATEGORY_HASH | ((a) & TT_ALG_HASH_MASK)))

#define TT_ALG_HMAC_BASE       ((tt_alg_t)0x03800000)
#define TT_ALG_HMAC(h)         (TT_ALG_HMAC_BASE | ((h) & TT_ALG_HASH_MASK))
#define TT_ALG_IS_HMAC(a)      (((a) & 0x7fc0ff00) == TT_ALG_HMAC_BASE)
#define TT_ALG_CBC_MAC         ((tt_alg_t)0x03c00100)
#define TT_ALG_CMAC            ((tt_alg_t)0x03c00200)
#define TT_ALG_MAC_LEN_MASK    ((tt_alg_t)0x003f0000)
#define TT_ALG_MAC_LEN_SHIFT   16
#define TT_ALG_TRUNCATED_MAC(a, len) \
	(((a) & ~TT_ALG_MAC_LEN_MASK) | (((tt_alg_t)(len) << TT_ALG_MAC_LEN_SHIFT) & TT_ALG_MAC_LEN_MASK))
#define TT_ALG_FULL_LENGTH_MAC(a) ((a) & ~TT_ALG_MAC_LEN_MASK)
#define TT_ALG_MAC_TRUNCATION(a)  (((a) & TT_ALG_MAC_LEN_MASK) >> TT_ALG_MAC_LEN_SHIFT)

#define TT_ALG_STREAM_CIPHER   ((tt_alg_t)0x04800100)
#define TT_ALG_CTR             ((tt_alg_t)0x04c01000)
#define TT_ALG_CFB             ((tt_alg_t)0x04c01100)
#define TT_ALG_OFB             ((tt_alg_t)0x04c01200)
#define TT_ALG_XTS             ((tt_alg_t)0x0440ff00)
#define TT_ALG_ECB_NO_PADDING  ((tt_alg_t)0x04404400)
#define TT_ALG_CBC_NO_PADDING  ((tt_alg_t)0x04404000)
#define TT_ALG_CBC_PKCS7       ((tt_alg_t)0x04404100)

#define TT_ALG_CCM               ((tt_alg_t)0x05500100)
#define TT_ALG_GCM               ((tt_alg_t)0x05500200)
#define TT_ALG_CHACHA20_POLY1305 ((tt_alg_t)0x05100500)
#define TT_ALG_AEAD_TAG_MASK     ((tt_alg_t)0x003f0000)
#define TT_ALG_AEAD_TAG_SHIFT    16
#define TT_ALG_AEAD_WITH_SHORTENED_TAG(a, len) \
	(((a) & ~TT_ALG_AEAD_TAG_MASK) | (((tt_alg_t)(len) << TT_ALG_AEAD_TAG_SHIFT) & TT_ALG_AEAD_TAG_MASK))
#define TT_ALG_AEAD_DEFAULT_TAG(a)  TT_ALG_AEAD_WITH_SHORTENED_TAG(a, 16)
#define TT_ALG_AEAD_TAG_LENGTH(a)   (((a) & TT_ALG_AEAD_TAG_MASK) >> TT_ALG_AEAD_TAG_SHIFT)

#define TT_ALG_RSA_PKCS1V15_SIGN_BASE ((tt_alg_t)0x06000200)
#define TT_ALG_RSA_PKCS1V15_SIGN(h)   (TT_ALG_RSA_PKCS1V15_SIGN_BASE | ((h) & TT_ALG_HASH_MASK))
#define TT_ALG_RSA_PKCS1V15_SIGN_RAW  TT_ALG_RSA_PKCS1V15_SIGN_BASE
#define TT_ALG_RSA_PSS_BASE           ((tt_alg_t)0x06000300)
#define TT_ALG_RSA_PSS(h)             (TT_ALG_RSA_PSS_BASE | ((h) & TT_ALG_HASH_MASK))
#define TT_ALG_ECDSA_BASE             ((tt_alg_t)0x06000600)
#define TT_ALG_ECDSA(h)               (TT_ALG_ECDSA_BASE | ((h) & TT_ALG_HASH_MASK))
#define TT_ALG_ECDSA_ANY              TT_ALG_ECDSA_BASE
#define TT_ALG_DETERMINISTIC_ECDSA_BASE ((tt_alg_t)0x06000700)
#define TT_ALG_DETERMINISTIC_ECDSA(h) (TT_ALG_DETERMINISTIC_ECDSA_BASE | ((h) & TT_ALG_HASH_MASK))
#define TT_ALG_SIGN_BASE(a)           ((a) & ~TT_ALG_HASH_MASK)
#define TT_ALG_IS_SIGN(a)             (TT_ALG_CATEGORY(a) == TT_ALG_CATEGORY_SIGN)
#define TT_ALG_IS_RSA_PKCS1V15_SIGN(a) (TT_ALG_SIGN_BASE(a) == TT_ALG_RSA_PKCS1V15_SIGN_BASE)
#define TT_ALG_IS_RSA_PSS(a)          (TT_ALG_SIGN_BASE(a) == TT_ALG_RSA_PSS_BASE)
#define TT_ALG_IS_ECDSA(a)            (TT_ALG_SIGN_BASE(a) == TT_ALG_ECDSA_BASE || \
				       TT_ALG_SIGN_BASE(a) == TT_ALG_DETERMINISTIC_ECDSA_BASE)

#define TT_ALG_RSA_PKCS1V15_CRYPT ((tt_alg_t)0x07000200)
#define TT_ALG_RSA_OAEP_BASE      ((tt_alg_t)0x07000300)
#define TT_ALG_RSA_OAEP(h)        (TT_ALG_RSA_OAEP_BASE | ((h) & TT_ALG_HASH_MASK))
#define TT_ALG_IS_RSA_OAEP(a)     (((a) & ~TT_ALG_HASH_MASK) == TT_ALG_RSA_OAEP_BASE)

#define TT_ALG_HKDF(h)            ((tt_alg_t)0x08000100 | ((h) & TT_ALG_HASH_MASK))
#define TT_ALG_TLS12_PRF(h)       ((tt_alg_t)0x08000200 | ((h) & TT_ALG_HASH_MASK))
#define TT_ALG_TLS12_PSK_TO_MS(h) ((tt_alg_t)0x08000300 | ((h) & TT_ALG_HASH_MASK))

#define TT_ALG_FFDH               ((tt_alg_t)0x09010000)
#define TT_ALG_ECDH               ((tt_alg_t)0x09020000)
#define TT_ALG_KEY_AGREEMENT(ka, kdf) ((ka) | (kdf))
#define TT_ALG_KA_RAW(a)          ((a) & (tt_alg_t)0x7fff0000)
#define TT_ALG_KA_KDF(a)          (TT_ALG_CATEGORY_KDF | ((a) & (tt_alg_t)0x0000ffff))

/* ---- usage flags ---- */
#define TT_USAGE_EXPORT         ((tt_usage_t)0x00000001)
#define TT_USAGE_COPY           ((tt_usage_t)0x00000002)
#define TT_USAGE_CACHE          ((tt_usage_t)0x00000004)
#define TT_USAGE_ENCRYPT        ((tt_usage_t)0x00000100)
#define TT_USAGE_DECRYPT        ((tt_usage_t)0x00000200)
#define TT_USAGE_SIGN_MESSAGE   ((tt_usage_t)0x00000400)
#define TT_USAGE_VERIFY_MESSAGE ((tt_usage_t)0x00000800)
#define TT_USAGE_SIGN_HASH      ((tt_usage_t)0x00001000)
#define TT_USAGE_VERIFY_HASH    ((tt_usage_t)0x00002000)
#define TT_USAGE_DERIVE         ((tt_usage_t)0x00004000)

/* Key attributes as PARSEC carries them: type, size and policy. */
struct tt_key_attrs {
	tt_key_type_t type;
	uint32_t bits;
	tt_usage_t usage;
	tt_alg_t alg;         /* the one permitted algorithm (may use TT_ALG_ANY_HASH) */
};

/* Size of the hash output of a hash algorithm, 0 if unknown. */
size_t tt_psa_hash_size(tt_alg_t hash);

/*
 * Whether the key's permitted algorithm allows `requested`. A policy of
 * e.g. ECDSA(ANY_HASH) permits ECDSA(SHA_256); a truncated-MAC or shortened-tag
 * policy permits exactly that length. `requested` must be concrete (no wildcard).
 */
int tt_psa_alg_permits(tt_alg_t policy_alg, tt_alg_t requested);

/*
 * Size in bits of key material given in the PSA import format of `type` (RSA: PKCS#1
 * DER; ECC: scalar or uncompressed point; Montgomery: raw; symmetric: raw bytes).
 * Used when an import leaves `bits` at 0. 0 or TT_ERR_INVALID_ARGUMENT.
 */
int tt_psa_import_bits(tt_key_type_t type, const uint8_t *data, size_t len, uint32_t *bits);

#ifdef __cplusplus
}
#endif
#endif
