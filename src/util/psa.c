/* Helpers over the PSA numeric encoding shared by every room. */
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
