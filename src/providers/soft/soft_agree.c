/*
 * Raw key agreement (ECDH on SECP-R1 curves and X25519), hashing and random bytes.
 */
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "providers/soft/soft_int.h"
#include "turtle/error.h"
#include "util/mem.h"

int
tt_soft_raw_key_agreement(void *ctx, const struct tt_key *k, tt_alg_t alg,
    const uint8_t *peer, size_t peer_len, struct tt_buf *out)
{
	struct soft_key *sk = NULL;
	EVP_PKEY *pp = NULL;
	EVP_PKEY_CTX *pc = NULL;
	uint8_t *dst = NULL;
	size_t n = 0, want;
	int r;

	if (TT_ALG_CATEGORY(alg) != TT_ALG_CATEGORY_KA)
		return TT_ERR_INVALID_ARGUMENT;
	if (alg != TT_ALG_ECDH)
		return TT_ERR_NOT_SUPPORTED;   /* FFDH and KDF-combined agreements */
	if (tt_soft_ka_alg_ok(k->attrs.type, alg) != 0)
		return TT_ERR_INVALID_ARGUMENT;
	if ((r = tt_soft_load(ctx, k, &sk)) != 0)
		return r;
	if ((r = tt_soft_ecc_public_from_psa(k->attrs.type, sk->bits, peer, peer_len, &pp)) != 0)
		goto out;
	/* Shared secret = x-coordinate, curve length: exactly what OpenSSL derives. */
	want = sk->bits == 255 ? 32 : tt_soft_ecc_bytes(sk->bits);
	r = TT_ERR_GENERIC;
	if ((pc = EVP_PKEY_CTX_new_from_pkey(NULL, sk->pkey, NULL)) == NULL ||
	    EVP_PKEY_derive_init(pc) <= 0)
		goto out;
	if (EVP_PKEY_derive_set_peer(pc, pp) <= 0) {
		r = TT_ERR_INVALID_ARGUMENT;
		goto out;
	}
	if ((r = tt_buf_reserve(out, want, &dst)) != 0)
		goto out;
	n = want;
	if (EVP_PKEY_derive(pc, dst, &n) <= 0 || n != want) {
		/* e.g. X25519 with a low-order peer point gives all zeroes, which OpenSSL refuses */
		tt_wipe(dst, want);
		r = TT_ERR_INVALID_ARGUMENT;
		goto out;
	}
	tt_buf_commit(out, want);
	r = 0;
out:
	EVP_PKEY_CTX_free(pc);
	EVP_PKEY_free(pp);
	tt_soft_key_put(sk);
	return r;
}

int
tt_soft_generate_random(void *ctx, size_t n, struct tt_buf *out)
{
	uint8_t *dst;
	int r;

	(void)ctx;
	if (n > INT32_MAX)
		return TT_ERR_INVALID_ARGUMENT;
	if ((r = tt_buf_reserve(out, n, &dst)) != 0)
		return r;
	if (n > 0 && RAND_bytes(dst, (int)n) != 1)
		return TT_ERR_INSUFFICIENT_ENTROPY;
	tt_buf_commit(out, n);
	return 0;
}

int
tt_soft_hash_compute(void *ctx, tt_alg_t alg, const uint8_t *in, size_t in_len, struct tt_buf *out)
{
	const char *name = tt_soft_md_name(alg);
	EVP_MD *md = NULL;
	uint8_t *dst;
	unsigned int n = 0;
	int r;

	(void)ctx;
	if (!TT_ALG_IS_HASH(alg))
		return TT_ERR_INVALID_ARGUMENT;
	/* Fetch, not the static table: the answer must reflect the loaded providers. */
	if (name == NULL || (md = EVP_MD_fetch(NULL, name, NULL)) == NULL)
		return TT_ERR_NOT_SUPPORTED;
	if ((r = tt_buf_reserve(out, (size_t)EVP_MD_get_size(md), &dst)) != 0)
		goto out;
	r = TT_ERR_GENERIC;
	if (EVP_Digest(in, in_len, dst, &n, md, NULL) != 1)
		goto out;
	tt_buf_commit(out, n);
	r = 0;
out:
	EVP_MD_free(md);
	return r;
}
