/* Helpers over the PSA numeric encoding shared by every room. */
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "turtle/error.h"
#include "turtle/psa.h"

size_t
tt_psa_hash_size(tt_alg_t hash)
{
	switch (hash) {
	case TT_ALG_MD2: case TT_ALG_MD4: case TT_ALG_MD5: return 16;
	case TT_ALG_RIPEMD160: case TT_ALG_SHA_1: return 20;
	case TT_ALG_SHA_224: case TT_ALG_SHA_512_224: case TT_ALG_SHA3_224: return 28;
	case TT_ALG_SHA_256: case TT_ALG_SHA_512_256: case TT_ALG_SHA3_256: return 32;
	case TT_ALG_SHA_384: case TT_ALG_SHA3_384: return 48;
	case TT_ALG_SHA_512: case TT_ALG_SHA3_512: return 64;
	default: return 0;
	}
}

int
tt_psa_alg_permits(tt_alg_t policy, tt_alg_t req)
{
	if (policy == TT_ALG_NONE || req == TT_ALG_NONE)
		return 0;
	if (policy == req)
		return 1;
	/* Wildcard hash in a signature policy: any concrete hash of the same scheme. */
	if (TT_ALG_IS_SIGN(policy) && (policy & TT_ALG_HASH_MASK) == (TT_ALG_ANY_HASH & TT_ALG_HASH_MASK))
		return TT_ALG_IS_SIGN(req) && TT_ALG_SIGN_BASE(policy) == TT_ALG_SIGN_BASE(req) &&
		       (req & TT_ALG_HASH_MASK) != 0 &&
		       (req & TT_ALG_HASH_MASK) != (TT_ALG_ANY_HASH & TT_ALG_HASH_MASK);
	return 0;
}

/*
 * The size in bits of key material in its PSA import format, for imports whose
 * attributes leave `bits` at 0 (PSA then takes the size from the data). Only the
 * format's shape is read here; the provider still validates the material itself.
 */
int
tt_psa_import_bits(tt_key_type_t type, const uint8_t *data, size_t len, uint32_t *bits)
{
	const unsigned char *p = data;
	EVP_PKEY *pk = NULL;
	long dlen = (long)len;
	int b;

	if (len == 0 || len > 64 * 1024)
		return TT_ERR_INVALID_ARGUMENT;
	if (TT_KEY_TYPE_IS_RSA(type)) {
		pk = TT_KEY_TYPE_IS_KEY_PAIR(type) ? d2i_PrivateKey(EVP_PKEY_RSA, NULL, &p, dlen)
						   : d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, dlen);
		if (pk == NULL || p != data + len) {
			EVP_PKEY_free(pk);
			return TT_ERR_INVALID_ARGUMENT;
		}
		b = EVP_PKEY_get_bits(pk);
		EVP_PKEY_free(pk);
		if (b <= 0)
			return TT_ERR_INVALID_ARGUMENT;
		*bits = (uint32_t)b;
		return 0;
	}
	if (TT_KEY_TYPE_IS_ECC(type)) {
		size_t n = len;

		if (TT_KEY_TYPE_ECC_GET_FAMILY(type) == TT_ECC_FAMILY_MONTGOMERY) {
			if (len == 32) { *bits = 255; return 0; }
			if (len == 56) { *bits = 448; return 0; }
			return TT_ERR_INVALID_ARGUMENT;
		}
		if (TT_KEY_TYPE_IS_PUBLIC_KEY(type)) {
			/* uncompressed point: 0x04 || X || Y */
			if (len < 3 || data[0] != 0x04 || (len - 1) % 2 != 0)
				return TT_ERR_INVALID_ARGUMENT;
			n = (len - 1) / 2;
		}
		/* P-521 scalars and coordinates take 66 bytes */
		*bits = n == 66 ? 521 : (uint32_t)(n * 8);
		return 0;
	}
	if (len > UINT32_MAX / 8)
		return TT_ERR_INVALID_ARGUMENT;
	*bits = (uint32_t)(len * 8);
	return 0;
}
