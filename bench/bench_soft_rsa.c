/*
 * What not caching RSA key pairs costs (soft provider, docs/providers-soft.md): CPU time
 * per RSA signature through the soft provider's sign_hash, which unwraps and parses the
 * key for every operation, against OpenSSL signing in process with one long-lived
 * EVP_PKEY. CPU time of this process (CLOCK_PROCESS_CPUTIME_ID), so other load on the
 * machine does not enter the figures. Prints the ratio per key size.
 *
 *   build/bench/bench_soft_rsa [iterations]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "providers/provider.h"
#include "turtle/psa.h"
#include "util/buf.h"
#include "util/num.h"

extern const struct tt_provider_ops tt_soft_provider;

static double
cpu_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int
one_size(void *ctx, unsigned bits, unsigned iters)
{
	const struct tt_provider_ops *P = &tt_soft_provider;
	struct tt_key_owner o = { .auth_type = 1, .app = "bench", .name = "rsa" };
	struct tt_key k;
	struct tt_buf ref, sig;
	uint8_t digest[32] = { 1 };
	unsigned char *der = NULL, osig[1024];
	EVP_PKEY *pk = EVP_RSA_gen(bits);
	double t0, svc, ossl;
	size_t sl;
	int n;

	if (pk == NULL || (n = i2d_PrivateKey(pk, &der)) <= 0)
		return 1;
	memset(&k, 0, sizeof(k));
	k.owner = o;
	RAND_bytes(k.kid, TT_KEY_ID_LEN);
	k.attrs.type = TT_KEY_TYPE_RSA_KEY_PAIR;
	k.attrs.bits = bits;
	k.attrs.usage = TT_USAGE_SIGN_HASH;
	k.attrs.alg = TT_ALG_RSA_PKCS1V15_SIGN(TT_ALG_SHA_256);
	tt_buf_init(&ref, 64 * 1024);
	tt_buf_init(&sig, 4096);
	if (P->import_key(ctx, &o, k.kid, &k.attrs, der, (size_t)n, &ref) != 0)
		return 1;
	k.ref = ref.d;
	k.ref_len = ref.len;
	t0 = cpu_now();
	for (unsigned i = 0; i < iters; i++) {
		tt_buf_reset(&sig);
		if (P->sign_hash(ctx, &k, k.attrs.alg, digest, sizeof(digest), &sig) != 0)
			return 1;
	}
	svc = (cpu_now() - t0) / iters;
	t0 = cpu_now();
	for (unsigned i = 0; i < iters; i++) {
		EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new(pk, NULL);

		sl = sizeof(osig);
		if (pc == NULL || EVP_PKEY_sign_init(pc) != 1 ||
		    EVP_PKEY_CTX_set_signature_md(pc, EVP_sha256()) != 1 ||
		    EVP_PKEY_sign(pc, osig, &sl, digest, sizeof(digest)) != 1)
			return 1;
		EVP_PKEY_CTX_free(pc);
	}
	ossl = (cpu_now() - t0) / iters;
	printf("RSA-%u sign, CPU per signature: soft provider (parsed per use) %.0f us, "
	    "OpenSSL with a kept key %.0f us, ratio %.2f\n", bits, svc * 1e6, ossl * 1e6, svc / ossl);
	tt_buf_free(&ref);
	tt_buf_free(&sig);
	OPENSSL_free(der);
	EVP_PKEY_free(pk);
	return 0;
}

int
main(int argc, char **argv)
{
	char dir[] = "/tmp/bench-soft-rsa-XXXXXX", cmd[64];
	struct tt_provider_cfg cfg = { 0 };
	uint32_t iters = 200;
	void *ctx = NULL;
	int r = 1;

	if (argc > 1 && tt_parse_u32(argv[1], 1, 1000000, &iters) != 0) {
		fprintf(stderr, "usage: %s [iterations]\n", argv[0]);
		return 2;
	}
	if (mkdtemp(dir) == NULL)
		return 1;
	cfg.data_dir = dir;
	if (tt_soft_provider.init(&cfg, &ctx) == 0 && one_size(ctx, 2048, iters) == 0 &&
	    one_size(ctx, 4096, iters / 10 + 1) == 0)
		r = 0;
	if (ctx != NULL)
		tt_soft_provider.fini(ctx);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		r = 1;
	return r;
}
