/*
 * Unit tests of the PKCS#11 provider against a real SoftHSM2 token, driven through the
 * ops table. A fixture makes a temporary token directory with its own softhsm2.conf
 * (SOFTHSM2_CONF) and initialises a token labelled "turtle-test". Everything the token
 * signs is checked with OpenSSL from the exported PSA public key; ciphertexts it
 * decrypts are made by OpenSSL.
 */
#include <dlfcn.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <p11-kit-1/p11-kit/pkcs11.h>

#include "providers/provider.h"
#include "turtle/error.h"
#include "turtle/psa.h"
#include "util/buf.h"
#include "util/log.h"

extern const struct tt_provider_ops tt_pkcs11_provider;
#define P (&tt_pkcs11_provider)

static const char *const g_libs[] = {
	"/usr/lib/softhsm/libsofthsm2.so",
	"/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
	"/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
};
static const char *g_lib;
static char g_dir[64];
static char g_tokens[128];
static char g_conf[128];
static void *g_ctx;

/* ---- fixture ---- */

static int
run(const char *cmd)
{
	int st = system(cmd);

	return st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static int
init_cfg(const char *lib, const char *label, const char *pin, const char *sw, void **ctx)
{
	const char *keys[4] = { "library", "token_label", "user_pin", "software_public_operations" };
	const char *vals[4] = { lib, label, pin, sw };
	struct tt_provider_cfg cfg = { .data_dir = g_dir, .n = sw != NULL ? 4 : 3, .keys = keys, .values = vals };

	return P->init(&cfg, ctx);
}

static int
group_setup(void **state)
{
	char cmd[512];
	FILE *f;

	(void)state;
	for (size_t i = 0; i < sizeof(g_libs) / sizeof(g_libs[0]); i++)
		if (access(g_libs[i], R_OK) == 0)
			g_lib = g_libs[i];
	if (g_lib == NULL) {
		fprintf(stderr, "SoftHSM2 not installed (apt-get install softhsm2)\n");
		return -1;
	}
	snprintf(g_dir, sizeof(g_dir), "/tmp/tt-p11-XXXXXX");
	if (mkdtemp(g_dir) == NULL)
		return -1;
	snprintf(g_tokens, sizeof(g_tokens), "%s/tokens", g_dir);
	snprintf(g_conf, sizeof(g_conf), "%s/softhsm2.conf", g_dir);
	if (mkdir(g_tokens, 0700) != 0 || (f = fopen(g_conf, "w")) == NULL)
		return -1;
	fprintf(f, "directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n", g_tokens);
	fclose(f);
	setenv("SOFTHSM2_CONF", g_conf, 1);
	snprintf(cmd, sizeof(cmd), "softhsm2-util --init-token --free --label turtle-test "
	    "--so-pin 1234 --pin 5678 >/dev/null");
	if (run(cmd) != 0)
		return -1;
	return init_cfg(g_lib, "turtle-test", "5678", NULL, &g_ctx) == 0 ? 0 : -1;
}

static int
group_teardown(void **state)
{
	char cmd[256];

	(void)state;
	if (g_ctx != NULL)
		P->fini(g_ctx);
	if (g_dir[0] != '\0') {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", g_dir);
		(void)run(cmd);
	}
	return 0;
}

/*
 * A second context on the same module would C_Finalize it under the group's context
 * (one process, one module instance; turtled has exactly one). Tests that need their
 * own context close the group's first and reopen it after.
 */
static void
pause_group(void)
{
	P->fini(g_ctx);
	g_ctx = NULL;
}

static void
resume_group(void)
{
	assert_int_equal(init_cfg(g_lib, "turtle-test", "5678", NULL, &g_ctx), 0);
}

/* ---- helpers ---- */

struct tkey {
	struct tt_key k;
	struct tt_buf ref;
};

static void
mk_attrs(struct tt_key_attrs *a, tt_key_type_t type, uint32_t bits, tt_alg_t alg)
{
	memset(a, 0, sizeof(*a));
	a->type = type;
	a->bits = bits;
	a->alg = alg;
	a->usage = TT_USAGE_SIGN_HASH | TT_USAGE_VERIFY_HASH | TT_USAGE_ENCRYPT | TT_USAGE_DECRYPT;
}

static void
finish_key(struct tkey *t, const uint8_t kid[TT_KEY_ID_LEN], const struct tt_key_attrs *a)
{
	memcpy(t->k.kid, kid, TT_KEY_ID_LEN);
	t->k.attrs = *a;
	t->k.owner.app = "alice";
	t->k.owner.name = "test-key";
	t->k.ref = t->ref.d;
	t->k.ref_len = t->ref.len;
}

static void
gen_key(void *ctx, struct tkey *t, tt_key_type_t type, uint32_t bits, tt_alg_t alg)
{
	struct tt_key_attrs a;
	struct tt_key_owner o = { .auth_type = 1, .app = "alice", .name = "test-key" };
	uint8_t kid[TT_KEY_ID_LEN];

	memset(t, 0, sizeof(*t));
	mk_attrs(&a, type, bits, alg);
	assert_int_equal(RAND_bytes(kid, sizeof(kid)), 1);
	tt_buf_init(&t->ref, 256);
	assert_int_equal(P->can_do(ctx, TT_CHECK_GENERATE, &a), 0);
	assert_int_equal(P->generate_key(ctx, &o, kid, &a, &t->ref), 0);
	assert_int_equal(t->ref.len, 1 + TT_KEY_ID_LEN + 2 + 4);
	finish_key(t, kid, &a);
}

static void
drop_key(void *ctx, struct tkey *t)
{
	assert_int_equal(P->destroy_key(ctx, t->k.kid, t->k.ref, t->k.ref_len), 0);
	tt_buf_free(&t->ref);
}

/* OpenSSL key from a PSA public export. */
static EVP_PKEY *
psa_pub(const struct tt_key *k, const struct tt_buf *b)
{
	const unsigned char *p = tt_buf_ptr(b);
	EVP_PKEY *pk = NULL;

	if (TT_KEY_TYPE_IS_RSA(k->attrs.type)) {
		pk = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, (long)tt_buf_avail(b));
	} else {
		const char *g = k->attrs.bits == 256 ? "prime256v1" : k->attrs.bits == 384 ? "secp384r1" : "secp521r1";
		OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
		OSSL_PARAM *prm;
		EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);

		OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, g, 0);
		OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, tt_buf_ptr(b), tt_buf_avail(b));
		prm = OSSL_PARAM_BLD_to_param(bld);
		assert_int_equal(EVP_PKEY_fromdata_init(pc), 1);
		assert_int_equal(EVP_PKEY_fromdata(pc, &pk, EVP_PKEY_PUBLIC_KEY, prm), 1);
		OSSL_PARAM_free(prm);
		OSSL_PARAM_BLD_free(bld);
		EVP_PKEY_CTX_free(pc);
	}
	assert_non_null(pk);
	return pk;
}

static EVP_PKEY *
export_pub(void *ctx, const struct tkey *t)
{
	struct tt_buf b;
	EVP_PKEY *pk;

	tt_buf_init(&b, 4096);
	assert_int_equal(P->export_public_key(ctx, &t->k, &b), 0);
	if (TT_KEY_TYPE_IS_ECC(t->k.attrs.type)) {
		assert_int_equal(tt_buf_avail(&b), 2 * ((t->k.attrs.bits + 7) / 8) + 1);
		assert_int_equal(tt_buf_ptr(&b)[0], 0x04);
	}
	pk = psa_pub(&t->k, &b);
	tt_buf_free(&b);
	return pk;
}

static const EVP_MD *
md_of(tt_alg_t h)
{
	switch (h) {
	case TT_ALG_SHA_256: return EVP_sha256();
	case TT_ALG_SHA_384: return EVP_sha384();
	case TT_ALG_SHA_512: return EVP_sha512();
	default: return EVP_sha1();
	}
}

/* OpenSSL's verdict on a PSA-format signature over `hash`. */
static int
ossl_verify(EVP_PKEY *pk, tt_alg_t alg, const uint8_t *hash, size_t hash_len, const uint8_t *sig, size_t sig_len)
{
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
	const EVP_MD *md = md_of(TT_ALG_GET_HASH(alg));
	unsigned char *der = NULL;
	int ok, n;

	assert_non_null(pc);
	assert_int_equal(EVP_PKEY_verify_init(pc), 1);
	if (TT_ALG_IS_ECDSA(alg)) {
		ECDSA_SIG *es = ECDSA_SIG_new();
		size_t cl = sig_len / 2;

		ECDSA_SIG_set0(es, BN_bin2bn(sig, (int)cl, NULL), BN_bin2bn(sig + cl, (int)cl, NULL));
		n = i2d_ECDSA_SIG(es, &der);
		ECDSA_SIG_free(es);
		ok = EVP_PKEY_verify(pc, der, (size_t)n, hash, hash_len) == 1;
		OPENSSL_free(der);
	} else {
		if (TT_ALG_IS_RSA_PSS(alg)) {
			EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING);
			EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, RSA_PSS_SALTLEN_DIGEST);
			EVP_PKEY_CTX_set_rsa_mgf1_md(pc, md);
		} else {
			EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING);
		}
		EVP_PKEY_CTX_set_signature_md(pc, md);
		ok = EVP_PKEY_verify(pc, sig, sig_len, hash, hash_len) == 1;
	}
	EVP_PKEY_CTX_free(pc);
	return ok;
}

/* Sign a fresh hash with the token and check it with OpenSSL and with verify_hash. */
static void
sign_and_check(void *ctx, const struct tkey *t, tt_alg_t alg)
{
	uint8_t hash[64];
	size_t hl = tt_psa_hash_size(TT_ALG_GET_HASH(alg));
	struct tt_buf sig;
	EVP_PKEY *pk = export_pub(ctx, t);
	uint8_t bad[1024];

	assert_int_equal(RAND_bytes(hash, (int)hl), 1);
	tt_buf_init(&sig, 4096);
	assert_int_equal(P->sign_hash(ctx, &t->k, alg, hash, hl, &sig), 0);
	if (TT_ALG_IS_ECDSA(alg))
		assert_int_equal(tt_buf_avail(&sig), 2 * ((t->k.attrs.bits + 7) / 8));
	else
		assert_int_equal(tt_buf_avail(&sig), t->k.attrs.bits / 8);
	assert_true(ossl_verify(pk, alg, hash, hl, tt_buf_ptr(&sig), tt_buf_avail(&sig)));
	assert_int_equal(P->verify_hash(ctx, &t->k, alg, hash, hl, tt_buf_ptr(&sig), tt_buf_avail(&sig)), 0);
	memcpy(bad, tt_buf_ptr(&sig), tt_buf_avail(&sig));
	bad[tt_buf_avail(&sig) / 2] ^= 0x01;
	assert_int_equal(P->verify_hash(ctx, &t->k, alg, hash, hl, bad, tt_buf_avail(&sig)), TT_ERR_INVALID_SIGNATURE);
	/* wrong hash length */
	assert_int_equal(P->sign_hash(ctx, &t->k, alg, hash, hl - 1, &sig), TT_ERR_INVALID_ARGUMENT);
	tt_buf_free(&sig);
	EVP_PKEY_free(pk);
}

/* ---- tests ---- */

static void
test_init_errors(void **state)
{
	void *ctx = NULL;
	char notmod[128];
	FILE *f;

	(void)state;
	pause_group();
	assert_int_equal(init_cfg("/nonexistent/libnothing.so", "turtle-test", "5678", NULL, &ctx), TT_ERR_CONFIG);
	/* a file that is not a shared object */
	snprintf(notmod, sizeof(notmod), "%s/notalib.so", g_dir);
	assert_non_null(f = fopen(notmod, "w"));
	fputs("hello\n", f);
	fclose(f);
	assert_int_equal(init_cfg(notmod, "turtle-test", "5678", NULL, &ctx), TT_ERR_CONFIG);
	/* a shared object that is not a PKCS#11 module */
	{
		Dl_info di;

		assert_int_not_equal(dladdr((void *)EVP_sha256, &di), 0);
		assert_int_equal(init_cfg(di.dli_fname, "turtle-test", "5678", NULL, &ctx), TT_ERR_CONFIG);
	}
	assert_int_equal(init_cfg(g_lib, "no-such-token", "5678", NULL, &ctx), TT_ERR_DOES_NOT_EXIST);
	assert_int_equal(init_cfg(g_lib, "turtle-test", "0000", NULL, &ctx), TT_ERR_NOT_PERMITTED);
	assert_null(ctx);
	resume_group();
	{
		struct tt_buf b;

		tt_buf_init(&b, 64);
		assert_int_equal(P->generate_random(g_ctx, 32, &b), 0);
		assert_int_equal(tt_buf_avail(&b), 32);
		tt_buf_free(&b);
	}
}

static void
test_ecc_sign(void **state)
{
	static const struct { uint32_t bits; tt_alg_t h; } cases[] = {
		{ 256, TT_ALG_SHA_256 }, { 384, TT_ALG_SHA_384 }, { 521, TT_ALG_SHA_512 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tkey t;
		tt_alg_t alg = TT_ALG_ECDSA(cases[i].h);

		gen_key(g_ctx, &t, TT_KEY_TYPE_ECC_KEY_PAIR(TT_ECC_FAMILY_SECP_R1), cases[i].bits, alg);
		sign_and_check(g_ctx, &t, alg);
		sign_and_check(g_ctx, &t, TT_ALG_ECDSA(TT_ALG_SHA_256));
		drop_key(g_ctx, &t);
	}
}

static void
test_rsa_sign(void **state)
{
	static const uint32_t sizes[] = { 2048, 3072, 4096 };

	(void)state;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct tkey t;

		gen_key(g_ctx, &t, TT_KEY_TYPE_RSA_KEY_PAIR, sizes[i], TT_ALG_RSA_PKCS1V15_SIGN(TT_ALG_ANY_HASH));
		sign_and_check(g_ctx, &t, TT_ALG_RSA_PKCS1V15_SIGN(TT_ALG_SHA_256));
		if (i == 0) {
			sign_and_check(g_ctx, &t, TT_ALG_RSA_PKCS1V15_SIGN(TT_ALG_SHA_384));
			sign_and_check(g_ctx, &t, TT_ALG_RSA_PKCS1V15_SIGN(TT_ALG_SHA_1));
			sign_and_check(g_ctx, &t, TT_ALG_RSA_PSS(TT_ALG_SHA_256));
			sign_and_check(g_ctx, &t, TT_ALG_RSA_PSS(TT_ALG_SHA_512));
		}
		drop_key(g_ctx, &t);
	}
}

/* The token verifies too when software public operations are off. */
static void
test_token_public_ops(void **state)
{
	void *ctx = NULL;
	struct tkey e, r;
	struct tt_buf ct, pt;

	(void)state;
	pause_group();
	assert_int_equal(init_cfg(g_lib, "turtle-test", "5678", "false", &ctx), 0);
	gen_key(ctx, &e, TT_KEY_TYPE_ECC_KEY_PAIR(TT_ECC_FAMILY_SECP_R1), 256, TT_ALG_ECDSA(TT_ALG_SHA_256));
	sign_and_check(ctx, &e, TT_ALG_ECDSA(TT_ALG_SHA_256));
	gen_key(ctx, &r, TT_KEY_TYPE_RSA_KEY_PAIR, 2048, TT_ALG_RSA_PSS(TT_ALG_SHA_256));
	sign_and_check(ctx, &r, TT_ALG_RSA_PSS(TT_ALG_SHA_256));
	tt_buf_init(&ct, 1024);
	tt_buf_init(&pt, 1024);
	assert_int_equal(P->asymmetric_encrypt(ctx, &r.k, TT_ALG_RSA_PKCS1V15_CRYPT,
	    (const uint8_t *)"token", 5, NULL, 0, &ct), 0);
	assert_int_equal(P->asymmetric_decrypt(ctx, &r.k, TT_ALG_RSA_PKCS1V15_CRYPT,
	    tt_buf_ptr(&ct), tt_buf_avail(&ct), NULL, 0, &pt), 0);
	assert_int_equal(tt_buf_avail(&pt), 5);
	assert_memory_equal(tt_buf_ptr(&pt), "token", 5);
	tt_buf_free(&ct);
	tt_buf_free(&pt);
	drop_key(ctx, &e);
	drop_key(ctx, &r);
	P->fini(ctx);
	resume_group();
}

/* OpenSSL-made ciphertext, decrypted by the token. */
static void
ossl_encrypt(EVP_PKEY *pk, tt_alg_t alg, const char *label, const uint8_t *in, size_t in_len, struct tt_buf *out)
{
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
	uint8_t *dst;
	size_t n = 0;

	assert_int_equal(EVP_PKEY_encrypt_init(pc), 1);
	if (alg == TT_ALG_RSA_PKCS1V15_CRYPT) {
		EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING);
	} else {
		const EVP_MD *md = md_of(TT_ALG_GET_HASH(alg));

		EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_OAEP_PADDING);
		EVP_PKEY_CTX_set_rsa_oaep_md(pc, md);
		EVP_PKEY_CTX_set_rsa_mgf1_md(pc, md);
		if (label != NULL)
			EVP_PKEY_CTX_set0_rsa_oaep_label(pc, OPENSSL_strdup(label), (int)strlen(label));
	}
	assert_int_equal(EVP_PKEY_encrypt(pc, NULL, &n, in, in_len), 1);
	assert_int_equal(tt_buf_reserve(out, n, &dst), 0);
	assert_int_equal(EVP_PKEY_encrypt(pc, dst, &n, in, in_len), 1);
	tt_buf_commit(out, n);
	EVP_PKEY_CTX_free(pc);
}

static void
test_rsa_decrypt(void **state)
{
	static const uint8_t msg[] = "attack at dawn";
	struct tkey t;
	struct tt_buf ct, pt;
	EVP_PKEY *pk;
	struct {
		tt_alg_t alg;
		const char *label;
		int may_refuse;     /* the module may answer NotSupported for these parameters */
	} cases[] = {
		{ TT_ALG_RSA_PKCS1V15_CRYPT, NULL, 0 },
		{ TT_ALG_RSA_OAEP(TT_ALG_SHA_1), NULL, 0 },
		{ TT_ALG_RSA_OAEP(TT_ALG_SHA_256), NULL, 0 },
		{ TT_ALG_RSA_OAEP(TT_ALG_SHA_384), NULL, 0 },
		{ TT_ALG_RSA_OAEP(TT_ALG_SHA_1), "label", 0 },
		{ TT_ALG_RSA_OAEP(TT_ALG_SHA_256), "label", 0 },
	};
	int r;

	(void)state;
	gen_key(g_ctx, &t, TT_KEY_TYPE_RSA_KEY_PAIR, 2048, TT_ALG_RSA_OAEP(TT_ALG_SHA_256));
	pk = export_pub(g_ctx, &t);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *lb = cases[i].label;
		size_t ll = lb != NULL ? strlen(lb) : 0;

		tt_buf_init(&ct, 1024);
		tt_buf_init(&pt, 1024);
		ossl_encrypt(pk, cases[i].alg, lb, msg, sizeof(msg), &ct);
		r = P->asymmetric_decrypt(g_ctx, &t.k, cases[i].alg, tt_buf_ptr(&ct), tt_buf_avail(&ct),
		    (const uint8_t *)lb, ll, &pt);
		if (cases[i].may_refuse && (r == TT_ERR_NOT_SUPPORTED || (lb != NULL && r == TT_ERR_INVALID_PADDING))) {
			/* a module may refuse parameters (none of these cases: the provider falls
			 * back to raw RSA + OAEP decoding, which SoftHSM2 2.6 needs) */
			tt_buf_free(&ct);
			tt_buf_free(&pt);
			continue;
		}
		assert_int_equal(r, 0);
		assert_int_equal(tt_buf_avail(&pt), sizeof(msg));
		assert_memory_equal(tt_buf_ptr(&pt), msg, sizeof(msg));
		/* and the provider's own (software) encryption round-trips */
		tt_buf_reset(&ct);
		tt_buf_reset(&pt);
		assert_int_equal(P->asymmetric_encrypt(g_ctx, &t.k, cases[i].alg, msg, sizeof(msg),
		    (const uint8_t *)lb, ll, &ct), 0);
		assert_int_equal(P->asymmetric_decrypt(g_ctx, &t.k, cases[i].alg, tt_buf_ptr(&ct), tt_buf_avail(&ct),
		    (const uint8_t *)lb, ll, &pt), 0);
		assert_memory_equal(tt_buf_ptr(&pt), msg, sizeof(msg));
		/* a tampered ciphertext fails */
		tt_buf_reset(&pt);
		ct.d[10] ^= 0x40;
		assert_int_not_equal(P->asymmetric_decrypt(g_ctx, &t.k, cases[i].alg, tt_buf_ptr(&ct),
		    tt_buf_avail(&ct), (const uint8_t *)lb, ll, &pt), 0);
		tt_buf_free(&ct);
		tt_buf_free(&pt);
	}
	EVP_PKEY_free(pk);
	drop_key(g_ctx, &t);
}

static void
test_destroy_idempotent(void **state)
{
	struct tkey t;
	struct tt_buf b;
	uint8_t hash[32] = { 1 };

	(void)state;
	gen_key(g_ctx, &t, TT_KEY_TYPE_ECC_KEY_PAIR(TT_ECC_FAMILY_SECP_R1), 256, TT_ALG_ECDSA(TT_ALG_SHA_256));
	assert_int_equal(P->destroy_key(g_ctx, t.k.kid, t.k.ref, t.k.ref_len), 0);
	assert_int_equal(P->destroy_key(g_ctx, t.k.kid, t.k.ref, t.k.ref_len), 0);
	assert_int_equal(P->destroy_key(g_ctx, t.k.kid, NULL, 0), 0);
	tt_buf_init(&b, 1024);
	assert_int_equal(P->export_public_key(g_ctx, &t.k, &b), TT_ERR_DOES_NOT_EXIST);
	assert_int_equal(P->sign_hash(g_ctx, &t.k, TT_ALG_ECDSA(TT_ALG_SHA_256), hash, 32, &b), TT_ERR_DOES_NOT_EXIST);
	tt_buf_free(&b);
	tt_buf_free(&t.ref);
}

/* ---- labels (issue 9, item 10) ---- */

/* Our own session on the token while the provider's context is paused. */
struct raw_tok {
	void *dl;
	CK_FUNCTION_LIST_PTR f;
	CK_SESSION_HANDLE s;
};

static void
raw_open(struct raw_tok *t)
{
	CK_C_GetFunctionList gfl;
	CK_SLOT_ID slots[8];
	CK_ULONG n = 8;

	assert_non_null(t->dl = dlopen(g_lib, RTLD_NOW | RTLD_LOCAL));
	assert_non_null(gfl = (CK_C_GetFunctionList)dlsym(t->dl, "C_GetFunctionList"));
	assert_int_equal(gfl(&t->f), CKR_OK);
	assert_int_equal(t->f->C_Initialize(NULL), CKR_OK);
	/* the group's token is the only initialised one */
	assert_int_equal(t->f->C_GetSlotList(CK_TRUE, slots, &n), CKR_OK);
	assert_true(n >= 1);
	assert_int_equal(t->f->C_OpenSession(slots[0], CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL,
	    NULL, &t->s), CKR_OK);
	assert_int_equal(t->f->C_Login(t->s, CKU_USER, (CK_UTF8CHAR_PTR)"5678", 4), CKR_OK);
}

static void
raw_close(struct raw_tok *t)
{
	(void)t->f->C_Logout(t->s);
	(void)t->f->C_CloseSession(t->s);
	(void)t->f->C_Finalize(NULL);
	dlclose(t->dl);
}

/* Labels of the objects with CKA_ID = kid, or set them to `set` when not NULL. */
static size_t
raw_labels(struct raw_tok *t, const uint8_t kid[TT_KEY_ID_LEN], const char *set,
    char out[][64], size_t max)
{
	CK_ATTRIBUTE q = { CKA_ID, (void *)kid, TT_KEY_ID_LEN };
	CK_OBJECT_HANDLE h[4];
	CK_ULONG n = 0;

	assert_int_equal(t->f->C_FindObjectsInit(t->s, &q, 1), CKR_OK);
	assert_int_equal(t->f->C_FindObjects(t->s, h, 4, &n), CKR_OK);
	assert_int_equal(t->f->C_FindObjectsFinal(t->s), CKR_OK);
	for (CK_ULONG i = 0; i < n && i < max; i++) {
		CK_ATTRIBUTE a = { CKA_LABEL, out[i], 63 };

		if (set != NULL) {
			a.pValue = (void *)set;
			a.ulValueLen = strlen(set);
			assert_int_equal(t->f->C_SetAttributeValue(t->s, h[i], &a, 1), CKR_OK);
		} else {
			assert_int_equal(t->f->C_GetAttributeValue(t->s, h[i], &a, 1), CKR_OK);
			out[i][a.ulValueLen] = '\0';
		}
	}
	return n;
}

static void
test_labels_opaque(void **state)
{
	struct tkey t;
	struct tt_buf b;
	struct raw_tok rt;
	char want[64], got[4][64];
	uint8_t hash[32] = { 2 };

	(void)state;
	gen_key(g_ctx, &t, TT_KEY_TYPE_ECC_KEY_PAIR(TT_ECC_FAMILY_SECP_R1), 256, TT_ALG_ECDSA(TT_ALG_SHA_256));
	strcpy(want, "turtle-");
	for (size_t i = 0; i < TT_KEY_ID_LEN; i++)
		snprintf(want + 7 + 2 * i, 3, "%02x", t.k.kid[i]);
	pause_group();
	/* a new key: both objects carry the opaque label, not "test-key" */
	memset(&rt, 0, sizeof(rt));
	raw_open(&rt);
	assert_int_equal(raw_labels(&rt, t.k.kid, NULL, got, 4), 2);
	assert_string_equal(got[0], want);
	assert_string_equal(got[1], want);
	/* an object from before the rule: its label is the key name */
	assert_int_equal(raw_labels(&rt, t.k.kid, "payments-prod-signing", got, 4), 2);
	raw_close(&rt);
	resume_group();
	/* the first use relabels it */
	tt_buf_init(&b, 1024);
	assert_int_equal(P->sign_hash(g_ctx, &t.k, TT_ALG_ECDSA(TT_ALG_SHA_256), hash, 32, &b), 0);
	tt_buf_reset(&b);
	assert_int_equal(P->export_public_key(g_ctx, &t.k, &b), 0);
	tt_buf_free(&b);
	pause_group();
	raw_open(&rt);
	assert_int_equal(raw_labels(&rt, t.k.kid, NULL, got, 4), 2);
	assert_string_equal(got[0], want);
	assert_string_equal(got[1], want);
	raw_close(&rt);
	resume_group();
	assert_int_equal(P->destroy_key(g_ctx, t.k.kid, t.k.ref, t.k.ref_len), 0);
	tt_buf_free(&t.ref);
}

static void
test_import(void **state)
{
	struct tt_key_owner o = { .auth_type = 1, .app = "alice", .name = "imported" };
	struct tt_key_attrs a;
	struct tkey t;
	struct tt_buf b;
	EVP_PKEY *pk = NULL, *pub;
	BIGNUM *d = NULL;
	uint8_t kid[TT_KEY_ID_LEN], scalar[32];
	unsigned char *der = NULL;
	int n;

	(void)state;
	/* ECC P-256 private scalar made by OpenSSL */
	pk = EVP_EC_gen("prime256v1");
	assert_non_null(pk);
	assert_int_equal(EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_PRIV_KEY, &d), 1);
	assert_int_equal(BN_bn2binpad(d, scalar, sizeof(scalar)), 32);
	memset(&t, 0, sizeof(t));
	mk_attrs(&a, TT_KEY_TYPE_ECC_KEY_PAIR(TT_ECC_FAMILY_SECP_R1), 0, TT_ALG_ECDSA(TT_ALG_SHA_256));
	RAND_bytes(kid, sizeof(kid));
	tt_buf_init(&t.ref, 256);
	assert_int_equal(P->import_key(g_ctx, &o, kid, &a, scalar, sizeof(scalar), &t.ref), 0);
	a.bits = 256;
	finish_key(&t, kid, &a);
	/* the exported public key is OpenSSL's */
	pub = export_pub(g_ctx, &t);
	assert_int_equal(EVP_PKEY_eq(pub, pk), 1);
	EVP_PKEY_free(pub);
	sign_and_check(g_ctx, &t, TT_ALG_ECDSA(TT_ALG_SHA_256));
	drop_key(g_ctx, &t);
	/* a scalar out of range is refused */
	memset(scalar, 0xff, sizeof(scalar));
	tt_buf_init(&b, 256);
	assert_int_equal(P->import_key(g_ctx, &o, kid, &a, scalar, sizeof(scalar), &b), TT_ERR_INVALID_ARGUMENT);
	tt_buf_free(&b);
	BN_clear_free(d);
	EVP_PKEY_free(pk);

	/* RSA-2048 PKCS#1 private key */
	pk = EVP_RSA_gen(2048);
	assert_non_null(pk);
	n = i2d_PrivateKey(pk, &der);
	assert_true(n > 0);
	memset(&t, 0, sizeof(t));
	mk_attrs(&a, TT_KEY_TYPE_RSA_KEY_PAIR, 2048, TT_ALG_RSA_PKCS1V15_SIGN(TT_ALG_SHA_256));
	RAND_bytes(kid, sizeof(kid));
	tt_buf_init(&t.ref, 256);
	assert_int_equal(P->import_key(g_ctx, &o, kid, &a, der, (size_t)n, &t.ref), 0);
	finish_key(&t, kid, &a);
	pub = export_pub(g_ctx, &t);
	assert_int_equal(EVP_PKEY_eq(pub, pk), 1);
	EVP_PKEY_free(pub);
	sign_and_check(g_ctx, &t, TT_ALG_RSA_PKCS1V15_SIGN(TT_ALG_SHA_256));
	drop_key(g_ctx, &t);
	OPENSSL_clear_free(der, (size_t)n);
	der = NULL;

	/* the public half alone: verify works, signing does not */
	n = i2d_PublicKey(pk, &der);
	memset(&t, 0, sizeof(t));
	mk_attrs(&a, TT_KEY_TYPE_RSA_PUBLIC_KEY, 0, TT_ALG_RSA_PKCS1V15_SIGN(TT_ALG_SHA_256));
	RAND_bytes(kid, sizeof(kid));
	tt_buf_init(&t.ref, 256);
	assert_int_equal(P->import_key(g_ctx, &o, kid, &a, der, (size_t)n, &t.ref), 0);
	a.bits = 2048;
	finish_key(&t, kid, &a);
	tt_buf_init(&b, 1024);
	assert_int_equal(P->export_public_key(g_ctx, &t.k, &b), 0);
	assert_int_equal(tt_buf_avail(&b), (size_t)n);
	assert_memory_equal(tt_buf_ptr(&b), der, (size_t)n);
	tt_buf_reset(&b);
	assert_int_equal(P->sign_hash(g_ctx, &t.k, TT_ALG_RSA_PKCS1V15_SIGN(TT_ALG_SHA_256),
	    scalar, 32, &b), TT_ERR_INVALID_ARGUMENT);
	tt_buf_free(&b);
	drop_key(g_ctx, &t);
	OPENSSL_free(der);
	EVP_PKEY_free(pk);
}

static void
test_can_do(void **state)
{
	struct tt_key_attrs a;

	(void)state;
	mk_attrs(&a, TT_KEY_TYPE_ECC_KEY_PAIR(TT_ECC_FAMILY_SECP_R1), 256, TT_ALG_ECDSA(TT_ALG_ANY_HASH));
	assert_int_equal(P->can_do(g_ctx, TT_CHECK_USE, &a), 0);
	a.alg = TT_ALG_DETERMINISTIC_ECDSA(TT_ALG_SHA_256);
	assert_int_equal(P->can_do(g_ctx, TT_CHECK_USE, &a), TT_ERR_NOT_SUPPORTED);
	mk_attrs(&a, TT_KEY_TYPE_ECC_KEY_PAIR(TT_ECC_FAMILY_SECP_K1), 256, TT_ALG_ECDSA(TT_ALG_SHA_256));
	assert_int_equal(P->can_do(g_ctx, TT_CHECK_GENERATE, &a), TT_ERR_NOT_SUPPORTED);
	mk_attrs(&a, TT_KEY_TYPE_RSA_KEY_PAIR, 1024, TT_ALG_RSA_PSS(TT_ALG_SHA_256));
	assert_int_equal(P->can_do(g_ctx, TT_CHECK_GENERATE, &a), TT_ERR_NOT_SUPPORTED);
	a.bits = 3072;
	assert_int_equal(P->can_do(g_ctx, TT_CHECK_GENERATE, &a), 0);
	a.alg = TT_ALG_RSA_OAEP(TT_ALG_SHA_384);
	assert_int_equal(P->can_do(g_ctx, TT_CHECK_USE, &a), 0);
	mk_attrs(&a, TT_KEY_TYPE_AES, 128, TT_ALG_GCM);
	assert_int_equal(P->can_do(g_ctx, TT_CHECK_GENERATE, &a), TT_ERR_NOT_SUPPORTED);
	assert_null(P->export_key);
}

static void
test_hash_random(void **state)
{
	struct tt_buf b;
	static const uint8_t abc_sha256[32] = {
		0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
		0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad,
	};

	(void)state;
	tt_buf_init(&b, 64);
	assert_int_equal(P->hash_compute(g_ctx, TT_ALG_SHA_256, (const uint8_t *)"abc", 3, &b), 0);
	assert_int_equal(tt_buf_avail(&b), 32);
	assert_memory_equal(tt_buf_ptr(&b), abc_sha256, 32);
	tt_buf_reset(&b);
	assert_int_equal(P->generate_random(g_ctx, 48, &b), 0);
	assert_int_equal(tt_buf_avail(&b), 48);
	tt_buf_free(&b);
}

/*
 * Fault recovery. SoftHSM2 offers no way to pull a token from outside the process, so
 * the test removes what makes the token work: the session handles. Closing them from
 * under the provider (C_CloseAllSessions through the same module) gives
 * CKR_SESSION_HANDLE_INVALID on the next request, which must fail with a communication
 * error; the request after that reconnects by label and works.
 */
static void
test_recovery(void **state)
{
	struct tkey t;
	struct tt_buf b;
	uint8_t hash[32] = { 7 };
	CK_C_GetFunctionList gfl;
	CK_FUNCTION_LIST_PTR f;
	CK_SLOT_ID slots[8];
	CK_ULONG ns = 8;
	void *dl;
	int r;

	(void)state;
	gen_key(g_ctx, &t, TT_KEY_TYPE_ECC_KEY_PAIR(TT_ECC_FAMILY_SECP_R1), 256, TT_ALG_ECDSA(TT_ALG_SHA_256));
	/* the provider's dlopen handle is the same module instance */
	assert_non_null(dl = dlopen(g_lib, RTLD_NOW | RTLD_LOCAL));
	*(void **)&gfl = dlsym(dl, "C_GetFunctionList");
	assert_int_equal(gfl(&f), CKR_OK);
	assert_int_equal(f->C_GetSlotList(CK_TRUE, slots, &ns), CKR_OK);
	for (CK_ULONG i = 0; i < ns; i++)
		(void)f->C_CloseAllSessions(slots[i]);

	tt_buf_init(&b, 1024);
	r = P->sign_hash(g_ctx, &t.k, TT_ALG_ECDSA(TT_ALG_SHA_256), hash, 32, &b);
	assert_int_equal(r, TT_ERR_COMMUNICATION);
	tt_buf_reset(&b);
	/* reconnected: the key is still there and signs */
	sign_and_check(g_ctx, &t, TT_ALG_ECDSA(TT_ALG_SHA_256));
	dlclose(dl);
	tt_buf_free(&b);
	drop_key(g_ctx, &t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_errors),
		cmocka_unit_test(test_can_do),
		cmocka_unit_test(test_ecc_sign),
		cmocka_unit_test(test_rsa_sign),
		cmocka_unit_test(test_rsa_decrypt),
		cmocka_unit_test(test_token_public_ops),
		cmocka_unit_test(test_destroy_idempotent),
		cmocka_unit_test(test_import),
		cmocka_unit_test(test_labels_opaque),
		cmocka_unit_test(test_hash_random),
		cmocka_unit_test(test_recovery),
	};

	/* CK_RV names of failed calls are logged at debug level */
	tt_log_set_level(TT_LOG_DEBUG);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
