/*
 * Unit tests of the software provider, driven through its ops table. Everything the
 * provider signs or encrypts is checked with OpenSSL directly, from the exported PSA
 * bytes, never through provider code.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/stat.h>
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

#include "providers/provider.h"
#include "turtle/error.h"
#include "turtle/psa.h"
#include "util/buf.h"
#include "util/hex.h"

extern const struct tt_provider_ops tt_soft_provider;
#define P (&tt_soft_provider)

static char g_dir[64];
static void *g_ctx;
static const char *g_keys[4];
static const char *g_vals[4];

struct tkey {
	struct tt_key k;
	struct tt_buf ref;
};

/* ---- helpers ---- */

static size_t
unhex(const char *h, uint8_t *out)
{
	size_t n = 0;

	assert_int_equal(tt_hex_decode(h, strlen(h), out, strlen(h) / 2, &n), 0);
	return n;
}

static void
assert_hex(const struct tt_buf *b, const char *hex)
{
	uint8_t want[512];
	size_t n = unhex(hex, want);

	assert_int_equal(tt_buf_avail(b), n);
	assert_memory_equal(tt_buf_ptr(b), want, n);
}

static int
init_with(const char *dir, size_t n, void **ctx)
{
	struct tt_provider_cfg cfg = { .data_dir = dir, .n = n, .keys = g_keys, .values = g_vals };

	return P->init(&cfg, ctx);
}

static int
setup(void **state)
{
	(void)state;
	snprintf(g_dir, sizeof(g_dir), "/tmp/tt-soft-XXXXXX");
	assert_non_null(mkdtemp(g_dir));
	assert_int_equal(init_with(g_dir, 0, &g_ctx), 0);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	P->fini(g_ctx);
	g_ctx = NULL;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", g_dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static void
tkey_setup(struct tkey *t, tt_key_type_t type, uint32_t bits, tt_alg_t alg)
{
	static unsigned counter;

	memset(t, 0, sizeof(*t));
	t->k.owner.auth_type = 1;
	t->k.owner.app = "app-one";
	t->k.owner.name = "key";
	assert_int_equal(RAND_bytes(t->k.kid, TT_KEY_ID_LEN), 1);
	t->k.kid[0] = (uint8_t)counter++;
	t->k.attrs.type = type;
	t->k.attrs.bits = bits;
	t->k.attrs.alg = alg;
	t->k.attrs.usage = TT_USAGE_EXPORT | TT_USAGE_SIGN_HASH | TT_USAGE_VERIFY_HASH |
	    TT_USAGE_ENCRYPT | TT_USAGE_DECRYPT | TT_USAGE_DERIVE;
	tt_buf_init(&t->ref, 1 << 16);
}

static void
tkey_done(struct tkey *t)
{
	t->k.ref = tt_buf_ptr(&t->ref);
	t->k.ref_len = tt_buf_avail(&t->ref);
}

static void
gen(struct tkey *t, tt_key_type_t type, uint32_t bits, tt_alg_t alg)
{
	tkey_setup(t, type, bits, alg);
	assert_int_equal(P->generate_key(g_ctx, &t->k.owner, t->k.kid, &t->k.attrs, &t->ref), 0);
	tkey_done(t);
}

static int
imp(struct tkey *t, tt_key_type_t type, uint32_t bits, tt_alg_t alg, const uint8_t *d, size_t n)
{
	int r;

	tkey_setup(t, type, bits, alg);
	r = P->import_key(g_ctx, &t->k.owner, t->k.kid, &t->k.attrs, d, n, &t->ref);
	tkey_done(t);
	return r;
}

static void
tkey_free(struct tkey *t)
{
	assert_int_equal(P->destroy_key(g_ctx, t->k.kid, t->k.ref, t->k.ref_len), 0);
	tt_buf_free(&t->ref);
}

/* Independent OpenSSL key from a PSA ECC public key. */
static EVP_PKEY *
ossl_ec_pub(const char *group, const struct tt_buf *pub)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params;
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	EVP_PKEY *pk = NULL;

	assert_true(OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0));
	assert_true(OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
	    tt_buf_ptr(pub), tt_buf_avail(pub)));
	assert_non_null(params = OSSL_PARAM_BLD_to_param(bld));
	assert_int_equal(EVP_PKEY_fromdata_init(pc), 1);
	assert_int_equal(EVP_PKEY_fromdata(pc, &pk, EVP_PKEY_PUBLIC_KEY, params), 1);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(pc);
	return pk;
}

/* OpenSSL ECDSA verification of a PSA r||s signature. */
static int
ossl_ecdsa_verify(EVP_PKEY *pk, const uint8_t *h, size_t hl, const uint8_t *sig, size_t sl)
{
	ECDSA_SIG *es = ECDSA_SIG_new();
	unsigned char *der = NULL;
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new(pk, NULL);
	int n, ok;

	assert_true(ECDSA_SIG_set0(es, BN_bin2bn(sig, (int)sl / 2, NULL),
	    BN_bin2bn(sig + sl / 2, (int)sl / 2, NULL)));
	n = i2d_ECDSA_SIG(es, &der);
	assert_int_equal(EVP_PKEY_verify_init(pc), 1);
	ok = EVP_PKEY_verify(pc, der, (size_t)n, h, hl);
	OPENSSL_free(der);
	ECDSA_SIG_free(es);
	EVP_PKEY_CTX_free(pc);
	return ok;
}

/* ---- tests ---- */

static void
test_master_key_file(void **state)
{
	char path[128];
	struct stat st;
	void *ctx = NULL;
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/soft-master.key", g_dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, 32);

	/* a second start reads the same key: a key made by the first still unwraps */
	struct tkey t;
	struct tt_buf out;
	gen(&t, TT_KEY_TYPE_AES, 128, TT_ALG_CBC_PKCS7);
	assert_int_equal(init_with(g_dir, 0, &ctx), 0);
	tt_buf_init(&out, 64);
	assert_int_equal(P->export_key(ctx, &t.k, &out), 0);
	assert_int_equal(tt_buf_avail(&out), 16);
	tt_buf_free(&out);
	P->fini(ctx);
	ctx = NULL;

	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(init_with(g_dir, 0, &ctx), TT_ERR_CONFIG);
	assert_null(ctx);
	assert_int_equal(chmod(path, 0600), 0);

	/* wrong size, via an explicit master_key_file */
	char bad[128];
	snprintf(bad, sizeof(bad), "%s/short.key", g_dir);
	assert_non_null(f = fopen(bad, "w"));
	fputs("short", f);
	fclose(f);
	assert_int_equal(chmod(bad, 0600), 0);
	g_keys[0] = "master_key_file";
	g_vals[0] = bad;
	assert_int_equal(init_with(g_dir, 1, &ctx), TT_ERR_CONFIG);
	g_keys[0] = "key_cache_size";
	g_vals[0] = "lots";
	assert_int_equal(init_with(g_dir, 1, &ctx), TT_ERR_CONFIG);
	tkey_free(&t);
}

static void
ecc_case(uint32_t bits, const char *group, tt_alg_t hash)
{
	struct tkey t, pub;
	struct tt_buf pb, sig, priv;
	uint8_t h[64];
	size_t hl = tt_psa_hash_size(hash), cl = (bits + 7) / 8;
	EVP_PKEY *pk;

	gen(&t, TT_KEY_TYPE_ECC_KEY_PAIR(TT_ECC_FAMILY_SECP_R1), bits, TT_ALG_ECDSA(TT_ALG_ANY_HASH));
	tt_buf_init(&pb, 1024);
	tt_buf_init(&sig, 1024);
	tt_buf_init(&priv, 1024);
	assert_int_equal(P->export_public_key(g_ctx, &t.k, &pb), 0);
	assert_int_equal(tt_buf_avail(&pb), 1 + 2 * cl);
	assert_int_equal(tt_buf_ptr(&pb)[0], 0x04);
	assert_int_equal(P->export_key(g_ctx, &t.k, &priv), 0);
	assert_int_equal(tt_buf_avail(&priv), cl);

	RAND_bytes(h, sizeof(h));
	assert_int_equal(P->sign_hash(g_ctx, &t.k, TT_ALG_ECDSA(hash), h, hl, &sig), 0);
	assert_int_equal(tt_buf_avail(&sig), 2 * cl);
	pk = ossl_ec_pub(group, &pb);
	assert_int_equal(ossl_ecdsa_verify(pk, h, hl, tt_buf_ptr(&sig), tt_buf_avail(&sig)), 1);
	assert_int_equal(P->verify_hash(g_ctx, &t.k, TT_ALG_ECDSA(hash), h, hl,
	    tt_buf_ptr(&sig), tt_buf_avail(&sig)), 0);
	/* a flipped byte is rejected by both sides */
	sig.d[3] ^= 0x01;
	assert_int_not_equal(ossl_ecdsa_verify(pk, h, hl, tt_buf_ptr(&sig), tt_buf_avail(&sig)), 1);
	assert_int_equal(P->verify_hash(g_ctx, &t.k, TT_ALG_ECDSA(hash), h, hl,
	    tt_buf_ptr(&sig), tt_buf_avail(&sig)), TT_ERR_INVALID_SIGNATURE);
	sig.d[3] ^= 0x01;
	/* verify with an imported public key (bits derived from the data) */
	assert_int_equal(imp(&pub, TT_KEY_TYPE_ECC_PUBLIC_KEY(TT_ECC_FAMILY_SECP_R1), 0,
	    TT_ALG_ECDSA(hash), tt_buf_ptr(&pb), tt_buf_avail(&pb)), 0);
	assert_int_equal(P->verify_hash(g_ctx, &pub.k, TT_ALG_ECDSA(hash), h, hl,
	    tt_buf_ptr(&sig), tt_buf_avail(&sig)), 0);
	/* ECDSA_ANY signs the bytes as given */
	tt_buf_reset(&sig);
	assert_int_equal(P->sign_hash(g_ctx, &t.k, TT_ALG_ECDSA_ANY, h, 20, &sig), 0);
	assert_int_equal(ossl_ecdsa_verify(pk, h, 20, tt_buf_ptr(&sig), tt_buf_avail(&sig)), 1);
	/* wrong hash length, deterministic ECDSA, public key signing */
	tt_buf_reset(&sig);
	assert_int_equal(P->sign_hash(g_ctx, &t.k, TT_ALG_ECDSA(hash), h, hl - 1, &sig), TT_ERR_INVALID_ARGUMENT);
	assert_int_equal(P->sign_hash(g_ctx, &t.k, TT_ALG_DETERMINISTIC_ECDSA(hash), h, hl, &sig),
	    TT_ERR_NOT_SUPPORTED);
	assert_int_equal(P->sign_hash(g_ctx, &pub.k, TT_ALG_ECDSA(hash), h, hl, &sig), TT_ERR_INVALID_ARGUMENT);
	/* re-import of the exported private scalar gives the same public key */
	struct tkey again;
	struct tt_buf pb2;
	tt_buf_init(&pb2, 1024);
	assert_int_equal(imp(&again, t.k.attrs.type, bits, t.k.attrs.alg, tt_buf_ptr(&priv), tt_buf_avail(&priv)), 0);
	assert_int_equal(P->export_public_key(g_ctx, &again.k, &pb2), 0);
	assert_memory_equal(tt_buf_ptr(&pb2), tt_buf_ptr(&pb), tt_buf_avail(&pb));
	tt_buf_free(&pb2);
	tkey_free(&again);

	EVP_PKEY_free(pk);
	tt_buf_free(&pb);
	tt_buf_free(&sig);
	tt_buf_free(&priv);
	tkey_free(&pub);
	tkey_free(&t);
}

static void
test_ecc(void **state)
{
	(void)state;
	ecc_case(256, "P-256", TT_ALG_SHA_256);
	ecc_case(384, "P-384", TT_ALG_SHA_384);
	ecc_case(521, "P-521", TT_ALG_SHA_512);
}

/* RFC 6979 A.2.5: the P-256 key pair. */
static void
test_ecc_known_vector(void **state)
{
	uint8_t d[32];
	struct tkey t;
	struct tt_buf out;

	(void)state;
	unhex("c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721", d);
	assert_int_equal(imp(&t, TT_KEY_TYPE_ECC_KEY_PAIR(TT_ECC_FAMILY_SECP_R1), 0,
	    TT_ALG_ECDSA(TT_ALG_SHA_256), d, sizeof(d)), 0);
	tt_buf_init(&out, 256);
	assert_int_equal(P->export_public_key(g_ctx, &t.k, &out), 0);
	assert_hex(&out, "04"
	    "60fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb6"
	    "7903fe1008b8bc99a41ae9e95628bc64f2f1b20c2d7e9f5177a3c294d4462299");
	tt_buf_reset(&out);
	assert_int_equal(P->export_key(g_ctx, &t.k, &out), 0);
	assert_memory_equal(tt_buf_ptr(&out), d, 32);
	tt_buf_free(&out);
	tkey_free(&t);

	/* bits given and wrong; scalar zero; point off the curve */
	assert_int_equal(imp(&t, TT_KEY_TYPE_ECC_KEY_PAIR(TT_ECC_FAMILY_SECP_R1), 384,
	    TT_ALG_ECDSA(TT_ALG_SHA_256), d, sizeof(d)), TT_ERR_INVALID_ARGUMENT);
	tt_buf_free(&t.ref);
	memset(d, 0, sizeof(d));
	assert_int_equal(imp(&t, TT_KEY_TYPE_ECC_KEY_PAIR(TT_ECC_FAMILY_SECP_R1), 256,
	    TT_ALG_ECDSA(TT_ALG_SHA_256), d, sizeof(d)), TT_ERR_INVALID_ARGUMENT);
	tt_buf_free(&t.ref);
	uint8_t pt[65];
	memset(pt, 0x11, sizeof(pt));
	pt[0] = 0x04;
	assert_int_equal(imp(&t, TT_KEY_TYPE_ECC_PUBLIC_KEY(TT_ECC_FAMILY_SECP_R1), 256,
	    TT_ALG_ECDSA(TT_ALG_SHA_256), pt, sizeof(pt)), TT_ERR_INVALID_ARGUMENT);
	tt_buf_free(&t.ref);
}

static EVP_PKEY *
d2i_rsa(const struct tt_buf *b, int priv)
{
	const unsigned char *p = tt_buf_ptr(b);

	return priv ? d2i_PrivateKey(EVP_PKEY_RSA, NULL, &p, (long)tt_buf_avail(b)) :
	    d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, (long)tt_buf_avail(b));
}

static void
test_rsa(void **state)
{
	struct tkey t, pub, imported;
	struct tt_buf pb, kb, sig, ct, pt;
	uint8_t h[32], msg[] = "attack at dawn", label[] = "label";
	EVP_PKEY *opub, *opriv;
	EVP_PKEY_CTX *pc;
	size_t n;
	uint8_t dec[512];

	(void)state;
	gen(&t, TT_KEY_TYPE_RSA_KEY_PAIR, 2048, TT_ALG_RSA_PSS(TT_ALG_ANY_HASH));
	tt_buf_init(&pb, 4096);
	tt_buf_init(&kb, 4096);
	tt_buf_init(&sig, 4096);
	tt_buf_init(&ct, 4096);
	tt_buf_init(&pt, 4096);
	assert_int_equal(P->export_public_key(g_ctx, &t.k, &pb), 0);
	assert_int_equal(P->export_key(g_ctx, &t.k, &kb), 0);
	assert_non_null(opub = d2i_rsa(&pb, 0));
	assert_non_null(opriv = d2i_rsa(&kb, 1));
	assert_int_equal(EVP_PKEY_get_bits(opub), 2048);
	assert_int_equal(EVP_PKEY_eq(opub, opriv), 1);
	RAND_bytes(h, sizeof(h));

	/* PKCS#1 v1.5 with SHA-256 */
	assert_int_equal(P->sign_hash(g_ctx, &t.k, TT_ALG_RSA_PKCS1V15_SIGN(TT_ALG_SHA_256), h, 32, &sig), 0);
	pc = EVP_PKEY_CTX_new(opub, NULL);
	assert_int_equal(EVP_PKEY_verify_init(pc), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING), 1);
	assert_int_equal(EVP_PKEY_CTX_set_signature_md(pc, EVP_sha256()), 1);
	assert_int_equal(EVP_PKEY_verify(pc, tt_buf_ptr(&sig), tt_buf_avail(&sig), h, 32), 1);
	sig.d[10] ^= 0x80;
	assert_int_not_equal(EVP_PKEY_verify(pc, tt_buf_ptr(&sig), tt_buf_avail(&sig), h, 32), 1);
	assert_int_equal(P->verify_hash(g_ctx, &t.k, TT_ALG_RSA_PKCS1V15_SIGN(TT_ALG_SHA_256), h, 32,
	    tt_buf_ptr(&sig), tt_buf_avail(&sig)), TT_ERR_INVALID_SIGNATURE);
	EVP_PKEY_CTX_free(pc);

	/* PSS, salt = hash length */
	tt_buf_reset(&sig);
	assert_int_equal(P->sign_hash(g_ctx, &t.k, TT_ALG_RSA_PSS(TT_ALG_SHA_256), h, 32, &sig), 0);
	pc = EVP_PKEY_CTX_new(opub, NULL);
	assert_int_equal(EVP_PKEY_verify_init(pc), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING), 1);
	assert_int_equal(EVP_PKEY_CTX_set_signature_md(pc, EVP_sha256()), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, 32), 1);
	assert_int_equal(EVP_PKEY_verify(pc, tt_buf_ptr(&sig), tt_buf_avail(&sig), h, 32), 1);
	EVP_PKEY_CTX_free(pc);
	assert_int_equal(P->verify_hash(g_ctx, &t.k, TT_ALG_RSA_PSS(TT_ALG_SHA_256), h, 32,
	    tt_buf_ptr(&sig), tt_buf_avail(&sig)), 0);
	assert_int_equal(P->sign_hash(g_ctx, &t.k, TT_ALG_RSA_PSS(TT_ALG_SHA_256), h, 31, &sig),
	    TT_ERR_INVALID_ARGUMENT);

	/* raw PKCS#1 v1.5: no DigestInfo */
	tt_buf_reset(&sig);
	assert_int_equal(P->sign_hash(g_ctx, &t.k, TT_ALG_RSA_PKCS1V15_SIGN_RAW, h, 32, &sig), 0);
	pc = EVP_PKEY_CTX_new(opub, NULL);
	assert_int_equal(EVP_PKEY_verify_init(pc), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING), 1);
	assert_int_equal(EVP_PKEY_verify(pc, tt_buf_ptr(&sig), tt_buf_avail(&sig), h, 32), 1);
	EVP_PKEY_CTX_free(pc);

	/* public key import: export form identical; encrypt with it, OpenSSL decrypts */
	assert_int_equal(imp(&pub, TT_KEY_TYPE_RSA_PUBLIC_KEY, 0, TT_ALG_RSA_OAEP(TT_ALG_SHA_256),
	    tt_buf_ptr(&pb), tt_buf_avail(&pb)), 0);
	struct tt_buf pb2;
	tt_buf_init(&pb2, 4096);
	assert_int_equal(P->export_key(g_ctx, &pub.k, &pb2), 0);
	assert_int_equal(tt_buf_avail(&pb2), tt_buf_avail(&pb));
	assert_memory_equal(tt_buf_ptr(&pb2), tt_buf_ptr(&pb), tt_buf_avail(&pb));
	tt_buf_free(&pb2);
	assert_int_equal(P->asymmetric_encrypt(g_ctx, &pub.k, TT_ALG_RSA_OAEP(TT_ALG_SHA_256),
	    msg, sizeof(msg), label, sizeof(label), &ct), 0);
	pc = EVP_PKEY_CTX_new(opriv, NULL);
	assert_int_equal(EVP_PKEY_decrypt_init(pc), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_OAEP_PADDING), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_oaep_md(pc, EVP_sha256()), 1);
	assert_int_equal(EVP_PKEY_CTX_set0_rsa_oaep_label(pc, OPENSSL_memdup(label, sizeof(label)), sizeof(label)), 1);
	n = sizeof(dec);
	assert_int_equal(EVP_PKEY_decrypt(pc, dec, &n, tt_buf_ptr(&ct), tt_buf_avail(&ct)), 1);
	assert_int_equal(n, sizeof(msg));
	assert_memory_equal(dec, msg, n);
	EVP_PKEY_CTX_free(pc);
	/* and the provider decrypts it too; a wrong label fails */
	assert_int_equal(P->asymmetric_decrypt(g_ctx, &t.k, TT_ALG_RSA_OAEP(TT_ALG_SHA_256),
	    tt_buf_ptr(&ct), tt_buf_avail(&ct), label, sizeof(label), &pt), 0);
	assert_int_equal(tt_buf_avail(&pt), sizeof(msg));
	assert_memory_equal(tt_buf_ptr(&pt), msg, sizeof(msg));
	tt_buf_reset(&pt);
	assert_int_equal(P->asymmetric_decrypt(g_ctx, &t.k, TT_ALG_RSA_OAEP(TT_ALG_SHA_256),
	    tt_buf_ptr(&ct), tt_buf_avail(&ct), (const uint8_t *)"other", 5, &pt), TT_ERR_INVALID_PADDING);

	/* PKCS#1 v1.5 encryption round trip; a salt is refused */
	tt_buf_reset(&ct);
	tt_buf_reset(&pt);
	assert_int_equal(P->asymmetric_encrypt(g_ctx, &t.k, TT_ALG_RSA_PKCS1V15_CRYPT,
	    msg, sizeof(msg), NULL, 0, &ct), 0);
	assert_int_equal(P->asymmetric_decrypt(g_ctx, &t.k, TT_ALG_RSA_PKCS1V15_CRYPT,
	    tt_buf_ptr(&ct), tt_buf_avail(&ct), NULL, 0, &pt), 0);
	assert_memory_equal(tt_buf_ptr(&pt), msg, sizeof(msg));
	assert_int_equal(P->asymmetric_encrypt(g_ctx, &t.k, TT_ALG_RSA_PKCS1V15_CRYPT,
	    msg, sizeof(msg), label, sizeof(label), &ct), TT_ERR_INVALID_ARGUMENT);
	assert_int_equal(P->asymmetric_decrypt(g_ctx, &pub.k, TT_ALG_RSA_PKCS1V15_CRYPT,
	    tt_buf_ptr(&ct), tt_buf_avail(&ct), NULL, 0, &pt), TT_ERR_INVALID_ARGUMENT);

	/* importing the PKCS#1 private key exports the same bytes */
	assert_int_equal(imp(&imported, TT_KEY_TYPE_RSA_KEY_PAIR, 2048, TT_ALG_RSA_PSS(TT_ALG_SHA_256),
	    tt_buf_ptr(&kb), tt_buf_avail(&kb)), 0);
	tt_buf_reset(&pt);
	assert_int_equal(P->export_key(g_ctx, &imported.k, &pt), 0);
	assert_int_equal(tt_buf_avail(&pt), tt_buf_avail(&kb));
	assert_memory_equal(tt_buf_ptr(&pt), tt_buf_ptr(&kb), tt_buf_avail(&kb));
	tkey_free(&imported);
	/* trailing garbage is refused */
	uint8_t junk[4096];
	memcpy(junk, tt_buf_ptr(&kb), tt_buf_avail(&kb));
	junk[tt_buf_avail(&kb)] = 0;
	assert_int_equal(imp(&imported, TT_KEY_TYPE_RSA_KEY_PAIR, 0, TT_ALG_RSA_PSS(TT_ALG_SHA_256),
	    junk, tt_buf_avail(&kb) + 1), TT_ERR_INVALID_ARGUMENT);
	tt_buf_free(&imported.ref);

	EVP_PKEY_free(opub);
	EVP_PKEY_free(opriv);
	tt_buf_free(&pb);
	tt_buf_free(&kb);
	tt_buf_free(&sig);
	tt_buf_free(&ct);
	tt_buf_free(&pt);
	tkey_free(&pub);
	tkey_free(&t);
}

/* RFC 7748 section 6.1 */
static void
test_x25519(void **state)
{
	uint8_t a[32], bpub[32];
	struct tkey t;
	struct tt_buf out;

	(void)state;
	unhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a", a);
	unhex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f", bpub);
	assert_int_equal(imp(&t, TT_KEY_TYPE_ECC_KEY_PAIR(TT_ECC_FAMILY_MONTGOMERY), 255, TT_ALG_ECDH, a, 32), 0);
	tt_buf_init(&out, 256);
	assert_int_equal(P->export_public_key(g_ctx, &t.k, &out), 0);
	assert_hex(&out, "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
	tt_buf_reset(&out);
	assert_int_equal(P->raw_key_agreement(g_ctx, &t.k, TT_ALG_ECDH, bpub, 32, &out), 0);
	assert_hex(&out, "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
	tt_buf_reset(&out);
	assert_int_equal(P->raw_key_agreement(g_ctx, &t.k, TT_ALG_ECDH, bpub, 31, &out), TT_ERR_INVALID_ARGUMENT);
	memset(bpub, 0, sizeof(bpub));  /* low-order point: all-zero secret */
	assert_int_equal(P->raw_key_agreement(g_ctx, &t.k, TT_ALG_ECDH, bpub, 32, &out), TT_ERR_INVALID_ARGUMENT);
	tt_buf_free(&out);
	tkey_free(&t);

	gen(&t, TT_KEY_TYPE_ECC_KEY_PAIR(TT_ECC_FAMILY_MONTGOMERY), 255, TT_ALG_ECDH);
	tt_buf_init(&out, 256);
	assert_int_equal(P->export_key(g_ctx, &t.k, &out), 0);
	assert_int_equal(tt_buf_avail(&out), 32);
	tt_buf_free(&out);
	tkey_free(&t);
}

static void
test_ecdh_p256(void **state)
{
	struct tkey t;
	struct tt_buf pub, out;
	EVP_PKEY *peer, *mine;
	EVP_PKEY_CTX *pc;
	uint8_t ppub[65], secret[32];
	size_t n = sizeof(ppub);

	(void)state;
	gen(&t, TT_KEY_TYPE_ECC_KEY_PAIR(TT_ECC_FAMILY_SECP_R1), 256, TT_ALG_ECDH);
	tt_buf_init(&pub, 256);
	tt_buf_init(&out, 256);
	assert_int_equal(P->export_public_key(g_ctx, &t.k, &pub), 0);
	assert_non_null(peer = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"));
	assert_int_equal(EVP_PKEY_get_octet_string_param(peer, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
	    ppub, sizeof(ppub), &n), 1);
	assert_int_equal(n, 65);
	assert_int_equal(P->raw_key_agreement(g_ctx, &t.k, TT_ALG_ECDH, ppub, 65, &out), 0);
	assert_int_equal(tt_buf_avail(&out), 32);
	/* OpenSSL from the other side */
	mine = ossl_ec_pub("P-256", &pub);
	pc = EVP_PKEY_CTX_new(peer, NULL);
	assert_int_equal(EVP_PKEY_derive_init(pc), 1);
	assert_int_equal(EVP_PKEY_derive_set_peer(pc, mine), 1);
	n = sizeof(secret);
	assert_int_equal(EVP_PKEY_derive(pc, secret, &n), 1);
	assert_int_equal(n, 32);
	assert_memory_equal(secret, tt_buf_ptr(&out), 32);
	EVP_PKEY_CTX_free(pc);
	/* invalid peer: off the curve, compressed form, wrong length */
	tt_buf_reset(&out);
	ppub[40] ^= 1;
	assert_int_equal(P->raw_key_agreement(g_ctx, &t.k, TT_ALG_ECDH, ppub, 65, &out), TT_ERR_INVALID_ARGUMENT);
	ppub[40] ^= 1;
	ppub[0] = 0x02;
	assert_int_equal(P->raw_key_agreement(g_ctx, &t.k, TT_ALG_ECDH, ppub, 33, &out), TT_ERR_INVALID_ARGUMENT);
	ppub[0] = 0x04;
	assert_int_equal(P->raw_key_agreement(g_ctx, &t.k, TT_ALG_ECDH, ppub, 64, &out), TT_ERR_INVALID_ARGUMENT);
	EVP_PKEY_free(peer);
	EVP_PKEY_free(mine);
	tt_buf_free(&pub);
	tt_buf_free(&out);
	tkey_free(&t);
}

static void
mac_kat(const char *key_hex, const char *msg, tt_alg_t alg, const char *want)
{
	uint8_t key[128];
	size_t kl = unhex(key_hex, key);
	struct tkey t;
	struct tt_buf mac;
	tt_key_type_t type = TT_ALG_IS_HMAC(TT_ALG_FULL_LENGTH_MAC(alg)) ? TT_KEY_TYPE_HMAC : TT_KEY_TYPE_AES;

	assert_int_equal(imp(&t, type, 0, alg, key, kl), 0);
	tt_buf_init(&mac, 256);
	assert_int_equal(P->mac_compute(g_ctx, &t.k, alg, (const uint8_t *)msg, strlen(msg), &mac), 0);
	assert_hex(&mac, want);
	assert_int_equal(P->mac_verify(g_ctx, &t.k, alg, (const uint8_t *)msg, strlen(msg),
	    tt_buf_ptr(&mac), tt_buf_avail(&mac)), 0);
	mac.d[0] ^= 1;
	assert_int_equal(P->mac_verify(g_ctx, &t.k, alg, (const uint8_t *)msg, strlen(msg),
	    tt_buf_ptr(&mac), tt_buf_avail(&mac)), TT_ERR_INVALID_SIGNATURE);
	mac.d[0] ^= 1;
	assert_int_equal(P->mac_verify(g_ctx, &t.k, alg, (const uint8_t *)msg, strlen(msg),
	    tt_buf_ptr(&mac), tt_buf_avail(&mac) - 1), TT_ERR_INVALID_SIGNATURE);
	tt_buf_free(&mac);
	tkey_free(&t);
}

static void
test_mac(void **state)
{
	(void)state;
	/* RFC 4231 test cases 1 and 2 */
	mac_kat("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "Hi There", TT_ALG_HMAC(TT_ALG_SHA_256),
	    "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
	mac_kat("4a656665", "what do ya want for nothing?", TT_ALG_HMAC(TT_ALG_SHA_256),
	    "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	mac_kat("4a656665", "what do ya want for nothing?", TT_ALG_HMAC(TT_ALG_SHA_512),
	    "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
	    "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737");
	/* truncated to 16 bytes */
	mac_kat("4a656665", "what do ya want for nothing?",
	    TT_ALG_TRUNCATED_MAC(TT_ALG_HMAC(TT_ALG_SHA_256), 16), "5bdcc146bf60754e6a042426089575c7");
	/* RFC 4493 AES-CMAC, empty message */
	mac_kat("2b7e151628aed2a6abf7158809cf4f3c", "", TT_ALG_CMAC, "bb1d6929e95937287fa37d129b756746");

	/* a MAC algorithm for the wrong key type, and one too short a truncation */
	struct tkey t;
	struct tt_buf mac;
	uint8_t key[16] = { 1 };
	assert_int_equal(imp(&t, TT_KEY_TYPE_AES, 128, TT_ALG_CMAC, key, 16), 0);
	tt_buf_init(&mac, 256);
	assert_int_equal(P->mac_compute(g_ctx, &t.k, TT_ALG_HMAC(TT_ALG_SHA_256), key, 1, &mac), TT_ERR_INVALID_ARGUMENT);
	assert_int_equal(P->mac_compute(g_ctx, &t.k, TT_ALG_TRUNCATED_MAC(TT_ALG_CMAC, 2), key, 1, &mac),
	    TT_ERR_INVALID_ARGUMENT);
	tt_buf_free(&mac);
	tkey_free(&t);
}

/* GCM spec (McGrew & Viega) test case 4: AES-128 with AAD. */
static void
test_aead_gcm(void **state)
{
	uint8_t key[16], iv[12], aad[20], p[60], c[76], long_iv[129] = { 0 };
	struct tkey t;
	struct tt_buf out, back;
	tt_alg_t gcm8 = TT_ALG_AEAD_WITH_SHORTENED_TAG(TT_ALG_GCM, 8);

	(void)state;
	unhex("feffe9928665731c6d6a8f9467308308", key);
	unhex("cafebabefacedbaddecaf888", iv);
	unhex("feedfacedeadbeeffeedfacedeadbeefabaddad2", aad);
	unhex("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
	    "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39", p);
	assert_int_equal(imp(&t, TT_KEY_TYPE_AES, 128, TT_ALG_GCM, key, 16), 0);
	tt_buf_init(&out, 256);
	tt_buf_init(&back, 256);
	assert_int_equal(P->aead_encrypt(g_ctx, &t.k, TT_ALG_GCM, iv, 12, aad, 20, p, 60, &out), 0);
	assert_hex(&out, "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
	    "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091"
	    "5bc94fbc3221a5db94fae95ae7121a47");
	memcpy(c, tt_buf_ptr(&out), 76);
	assert_int_equal(P->aead_decrypt(g_ctx, &t.k, TT_ALG_GCM, iv, 12, aad, 20, c, 76, &back), 0);
	assert_int_equal(tt_buf_avail(&back), 60);
	assert_memory_equal(tt_buf_ptr(&back), p, 60);
	tt_buf_reset(&back);
	c[75] ^= 1;
	assert_int_equal(P->aead_decrypt(g_ctx, &t.k, TT_ALG_GCM, iv, 12, aad, 20, c, 76, &back),
	    TT_ERR_INVALID_SIGNATURE);
	assert_int_equal(tt_buf_avail(&back), 0);
	c[75] ^= 1;
	aad[0] ^= 1;
	assert_int_equal(P->aead_decrypt(g_ctx, &t.k, TT_ALG_GCM, iv, 12, aad, 20, c, 76, &back),
	    TT_ERR_INVALID_SIGNATURE);
	aad[0] ^= 1;
	/* shortened tag: the first 8 bytes of the full tag */
	tt_buf_reset(&out);
	assert_int_equal(P->aead_encrypt(g_ctx, &t.k, gcm8, iv, 12, aad, 20, p, 60, &out), 0);
	assert_int_equal(tt_buf_avail(&out), 68);
	assert_memory_equal(tt_buf_ptr(&out) + 60, c + 60, 8);
	assert_int_equal(P->aead_decrypt(g_ctx, &t.k, gcm8, iv, 12, aad, 20, tt_buf_ptr(&out), 68, &back), 0);
	/* GCM takes any nonce of at least one byte (PSA); none is invalid, one longer than
	 * OpenSSL's 128 bytes unsupported; an unsupported tag length */
	tt_buf_reset(&out);
	assert_int_equal(P->aead_encrypt(g_ctx, &t.k, TT_ALG_GCM, iv, 11, aad, 20, p, 60, &out), 0);
	assert_int_equal(P->aead_decrypt(g_ctx, &t.k, TT_ALG_GCM, iv, 11, aad, 20, tt_buf_ptr(&out), 76,
	    &back), 0);
	tt_buf_reset(&out);
	assert_int_equal(P->aead_encrypt(g_ctx, &t.k, TT_ALG_GCM, iv, 0, aad, 20, p, 60, &out), TT_ERR_INVALID_ARGUMENT);
	assert_int_equal(P->aead_encrypt(g_ctx, &t.k, TT_ALG_GCM, long_iv, 129, aad, 20, p, 60, &out),
	    TT_ERR_NOT_SUPPORTED);
	assert_int_equal(P->aead_encrypt(g_ctx, &t.k, TT_ALG_AEAD_WITH_SHORTENED_TAG(TT_ALG_GCM, 6),
	    iv, 12, aad, 20, p, 60, &out), TT_ERR_INVALID_ARGUMENT);
	tt_buf_free(&out);
	tt_buf_free(&back);
	tkey_free(&t);
}

/* Round trip + tamper for CCM and ChaCha20-Poly1305, with OpenSSL as the other side. */
static void
aead_roundtrip(tt_key_type_t type, uint32_t bits, tt_alg_t alg, size_t nonce_len, const EVP_CIPHER *ciph)
{
	uint8_t key[32], nonce[13], aad[7] = "header", msg[33], tag[16], plain[64];
	size_t tl = TT_ALG_AEAD_TAG_LENGTH(alg);
	struct tkey t;
	struct tt_buf out, back;
	EVP_CIPHER_CTX *cc;
	int n;

	RAND_bytes(key, sizeof(key));
	RAND_bytes(nonce, sizeof(nonce));
	RAND_bytes(msg, sizeof(msg));
	assert_int_equal(imp(&t, type, bits, alg, key, bits / 8), 0);
	tt_buf_init(&out, 256);
	tt_buf_init(&back, 256);
	assert_int_equal(P->aead_encrypt(g_ctx, &t.k, alg, nonce, nonce_len, aad, sizeof(aad), msg, sizeof(msg), &out), 0);
	assert_int_equal(tt_buf_avail(&out), sizeof(msg) + tl);
	/* OpenSSL decrypts it */
	memcpy(tag, tt_buf_ptr(&out) + sizeof(msg), tl);
	assert_non_null(cc = EVP_CIPHER_CTX_new());
	assert_int_equal(EVP_DecryptInit_ex(cc, ciph, NULL, NULL, NULL), 1);
	assert_int_equal(EVP_CIPHER_CTX_ctrl(cc, EVP_CTRL_AEAD_SET_IVLEN, (int)nonce_len, NULL), 1);
	assert_int_equal(EVP_CIPHER_CTX_ctrl(cc, EVP_CTRL_AEAD_SET_TAG, (int)tl, tag), 1);
	assert_int_equal(EVP_DecryptInit_ex(cc, NULL, NULL, key, nonce), 1);
	if (ciph == EVP_aes_256_ccm())
		assert_int_equal(EVP_DecryptUpdate(cc, NULL, &n, NULL, sizeof(msg)), 1);
	assert_int_equal(EVP_DecryptUpdate(cc, NULL, &n, aad, sizeof(aad)), 1);
	assert_int_equal(EVP_DecryptUpdate(cc, plain, &n, tt_buf_ptr(&out), sizeof(msg)), 1);
	if (ciph != EVP_aes_256_ccm())
		assert_int_equal(EVP_DecryptFinal_ex(cc, plain + n, &n), 1);
	assert_memory_equal(plain, msg, sizeof(msg));
	EVP_CIPHER_CTX_free(cc);
	assert_int_equal(P->aead_decrypt(g_ctx, &t.k, alg, nonce, nonce_len, aad, sizeof(aad),
	    tt_buf_ptr(&out), tt_buf_avail(&out), &back), 0);
	assert_memory_equal(tt_buf_ptr(&back), msg, sizeof(msg));
	tt_buf_reset(&back);
	out.d[tt_buf_avail(&out) - 1] ^= 0x10;
	assert_int_equal(P->aead_decrypt(g_ctx, &t.k, alg, nonce, nonce_len, aad, sizeof(aad),
	    tt_buf_ptr(&out), tt_buf_avail(&out), &back), TT_ERR_INVALID_SIGNATURE);
	out.d[tt_buf_avail(&out) - 1] ^= 0x10;
	out.d[0] ^= 0x10;
	assert_int_equal(P->aead_decrypt(g_ctx, &t.k, alg, nonce, nonce_len, aad, sizeof(aad),
	    tt_buf_ptr(&out), tt_buf_avail(&out), &back), TT_ERR_INVALID_SIGNATURE);
	tt_buf_free(&out);
	tt_buf_free(&back);
	tkey_free(&t);
}

static void
test_aead_ccm_chacha(void **state)
{
	(void)state;
	aead_roundtrip(TT_KEY_TYPE_AES, 256, TT_ALG_CCM, 13, EVP_aes_256_ccm());
	aead_roundtrip(TT_KEY_TYPE_AES, 256, TT_ALG_AEAD_WITH_SHORTENED_TAG(TT_ALG_CCM, 8), 7, EVP_aes_256_ccm());
	aead_roundtrip(TT_KEY_TYPE_CHACHA20, 256, TT_ALG_CHACHA20_POLY1305, 12, EVP_chacha20_poly1305());
}

static void
test_cipher(void **state)
{
	uint8_t key[16], pt[16], block[32];
	struct tkey t;
	struct tt_buf out, back;
	const tt_alg_t modes[] = { TT_ALG_CBC_PKCS7, TT_ALG_CTR, TT_ALG_CFB, TT_ALG_OFB };
	uint8_t msg[45];

	(void)state;
	/* FIPS-197 C.1 through ECB */
	unhex("000102030405060708090a0b0c0d0e0f", key);
	unhex("00112233445566778899aabbccddeeff", pt);
	assert_int_equal(imp(&t, TT_KEY_TYPE_AES, 128, TT_ALG_ECB_NO_PADDING, key, 16), 0);
	tt_buf_init(&out, 256);
	tt_buf_init(&back, 256);
	assert_int_equal(P->cipher_encrypt(g_ctx, &t.k, TT_ALG_ECB_NO_PADDING, pt, 16, &out), 0);
	assert_hex(&out, "69c4e0d86a7b0430d8cdb78070b4c55a");
	assert_int_equal(P->cipher_decrypt(g_ctx, &t.k, TT_ALG_ECB_NO_PADDING, tt_buf_ptr(&out), 16, &back), 0);
	assert_memory_equal(tt_buf_ptr(&back), pt, 16);
	assert_int_equal(P->cipher_encrypt(g_ctx, &t.k, TT_ALG_ECB_NO_PADDING, pt, 15, &out), TT_ERR_INVALID_ARGUMENT);
	assert_int_equal(P->cipher_encrypt(g_ctx, &t.k, TT_ALG_CBC_NO_PADDING, pt, 15, &out), TT_ERR_INVALID_ARGUMENT);

	/* IV || ciphertext round trips; CBC-PKCS7 checked against OpenSSL */
	RAND_bytes(msg, sizeof(msg));
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		tt_buf_reset(&out);
		tt_buf_reset(&back);
		assert_int_equal(P->cipher_encrypt(g_ctx, &t.k, modes[i], msg, sizeof(msg), &out), 0);
		assert_int_equal(tt_buf_avail(&out), 16 + (modes[i] == TT_ALG_CBC_PKCS7 ? 48 : sizeof(msg)));
		assert_int_equal(P->cipher_decrypt(g_ctx, &t.k, modes[i], tt_buf_ptr(&out), tt_buf_avail(&out), &back), 0);
		assert_int_equal(tt_buf_avail(&back), sizeof(msg));
		assert_memory_equal(tt_buf_ptr(&back), msg, sizeof(msg));
	}
	tt_buf_reset(&out);
	assert_int_equal(P->cipher_encrypt(g_ctx, &t.k, TT_ALG_CBC_PKCS7, msg, sizeof(msg), &out), 0);
	{
		EVP_CIPHER_CTX *cc = EVP_CIPHER_CTX_new();
		uint8_t plain[64];
		int n, m;

		assert_int_equal(EVP_DecryptInit_ex(cc, EVP_aes_128_cbc(), NULL, key, tt_buf_ptr(&out)), 1);
		assert_int_equal(EVP_DecryptUpdate(cc, plain, &n, tt_buf_ptr(&out) + 16, 48), 1);
		assert_int_equal(EVP_DecryptFinal_ex(cc, plain + n, &m), 1);
		assert_int_equal(n + m, (int)sizeof(msg));
		assert_memory_equal(plain, msg, sizeof(msg));
		EVP_CIPHER_CTX_free(cc);
	}
	/* bad padding: a block whose plaintext ends in 0x00 */
	memset(block, 0, sizeof(block));
	tt_buf_reset(&out);
	tt_buf_reset(&back);
	assert_int_equal(P->cipher_encrypt(g_ctx, &t.k, TT_ALG_CBC_NO_PADDING, block, 16, &out), 0);
	assert_int_equal(P->cipher_decrypt(g_ctx, &t.k, TT_ALG_CBC_PKCS7, tt_buf_ptr(&out), tt_buf_avail(&out), &back),
	    TT_ERR_INVALID_PADDING);
	assert_int_equal(P->cipher_decrypt(g_ctx, &t.k, TT_ALG_CBC_PKCS7, tt_buf_ptr(&out), 20, &back),
	    TT_ERR_INVALID_ARGUMENT);
	assert_int_equal(P->cipher_decrypt(g_ctx, &t.k, TT_ALG_CTR, tt_buf_ptr(&out), 8, &back),
	    TT_ERR_INVALID_ARGUMENT);
	assert_int_equal(P->cipher_encrypt(g_ctx, &t.k, TT_ALG_XTS, block, 32, &back), TT_ERR_NOT_SUPPORTED);
	tt_buf_free(&out);
	tt_buf_free(&back);
	tkey_free(&t);
}

static void
test_wrap_binding(void **state)
{
	struct tkey t;
	struct tt_key moved;
	struct tt_buf out;
	uint8_t hash[32] = { 0 };

	(void)state;
	gen(&t, TT_KEY_TYPE_ECC_KEY_PAIR(TT_ECC_FAMILY_SECP_R1), 256, TT_ALG_ECDSA(TT_ALG_SHA_256));
	tt_buf_init(&out, 1024);
	assert_int_equal(t.k.ref[0], 1);                           /* version */
	assert_int_equal(t.k.ref_len, 1 + 12 + 32 + 16);

	moved = t.k;
	moved.owner.app = "app-two";
	assert_int_equal(P->sign_hash(g_ctx, &moved, TT_ALG_ECDSA(TT_ALG_SHA_256), hash, 32, &out), TT_ERR_DATA_CORRUPT);
	assert_int_equal(P->export_key(g_ctx, &moved, &out), TT_ERR_DATA_CORRUPT);
	moved = t.k;
	moved.owner.auth_type = 2;
	assert_int_equal(P->export_public_key(g_ctx, &moved, &out), TT_ERR_DATA_CORRUPT);
	moved = t.k;
	moved.owner.name = "other-key";
	assert_int_equal(P->export_public_key(g_ctx, &moved, &out), TT_ERR_DATA_CORRUPT);
	moved = t.k;
	moved.kid[5] ^= 1;
	assert_int_equal(P->sign_hash(g_ctx, &moved, TT_ALG_ECDSA(TT_ALG_SHA_256), hash, 32, &out), TT_ERR_DATA_CORRUPT);
	moved = t.k;
	moved.attrs.usage |= TT_USAGE_COPY;
	assert_int_equal(P->export_key(g_ctx, &moved, &out), TT_ERR_DATA_CORRUPT);
	/* a flipped ciphertext byte; and with the cache warm the original still works */
	t.ref.d[20] ^= 1;
	assert_int_equal(P->export_key(g_ctx, &t.k, &out), TT_ERR_DATA_CORRUPT);
	assert_int_equal(P->sign_hash(g_ctx, &t.k, TT_ALG_ECDSA(TT_ALG_SHA_256), hash, 32, &out), TT_ERR_DATA_CORRUPT);
	t.ref.d[20] ^= 1;
	assert_int_equal(P->sign_hash(g_ctx, &t.k, TT_ALG_ECDSA(TT_ALG_SHA_256), hash, 32, &out), 0);
	/* a truncated or unknown-version reference */
	moved = t.k;
	moved.ref_len = 10;
	assert_int_equal(P->export_key(g_ctx, &moved, &out), TT_ERR_DATA_CORRUPT);
	moved.ref = NULL;
	moved.ref_len = 0;
	assert_int_equal(P->export_key(g_ctx, &moved, &out), TT_ERR_DATA_CORRUPT);
	tt_buf_free(&out);
	tkey_free(&t);
}

/* Import with bits = 0, then a store that records the derived size still unwraps. */
static void
test_import_bits_zero(void **state)
{
	struct tkey t;
	struct tt_buf out;
	uint8_t key[24] = { 7 };

	(void)state;
	assert_int_equal(imp(&t, TT_KEY_TYPE_AES, 0, TT_ALG_CTR, key, 24), 0);
	tt_buf_init(&out, 256);
	assert_int_equal(P->export_key(g_ctx, &t.k, &out), 0);
	t.k.attrs.bits = 192;
	assert_int_equal(P->destroy_key(g_ctx, t.k.kid, NULL, 0), 0);  /* cold cache */
	assert_int_equal(P->cipher_encrypt(g_ctx, &t.k, TT_ALG_CTR, key, 5, &out), 0);
	t.k.attrs.bits = 256;
	assert_int_equal(P->destroy_key(g_ctx, t.k.kid, NULL, 0), 0);
	assert_int_equal(P->cipher_encrypt(g_ctx, &t.k, TT_ALG_CTR, key, 5, &out), TT_ERR_DATA_CORRUPT);
	tt_buf_free(&out);
	tkey_free(&t);
	/* sizes that do not match the data */
	assert_int_equal(imp(&t, TT_KEY_TYPE_AES, 128, TT_ALG_CTR, key, 24), TT_ERR_INVALID_ARGUMENT);
	tt_buf_free(&t.ref);
	assert_int_equal(imp(&t, TT_KEY_TYPE_AES, 0, TT_ALG_CTR, key, 20), TT_ERR_INVALID_ARGUMENT);
	tt_buf_free(&t.ref);
	assert_int_equal(imp(&t, TT_KEY_TYPE_DES, 0, TT_ALG_CTR, key, 8), TT_ERR_NOT_SUPPORTED);
	tt_buf_free(&t.ref);
	/* raw data and HMAC keys of odd sizes */
	assert_int_equal(imp(&t, TT_KEY_TYPE_RAW_DATA, 0, TT_ALG_NONE, key, 3), 0);
	tt_buf_init(&out, 256);
	assert_int_equal(P->export_key(g_ctx, &t.k, &out), 0);
	assert_int_equal(tt_buf_avail(&out), 3);
	assert_int_equal(P->export_public_key(g_ctx, &t.k, &out), TT_ERR_INVALID_ARGUMENT);
	tt_buf_free(&out);
	tkey_free(&t);
}

static void
test_cache_small(void **state)
{
	void *ctx = NULL;
	struct tkey a, b;
	struct tt_buf out;
	uint8_t h[32] = { 1 };
	void *saved = g_ctx;

	(void)state;
	g_keys[0] = "key_cache_size";
	g_vals[0] = "1";
	assert_int_equal(init_with(g_dir, 1, &ctx), 0);
	g_ctx = ctx;
	gen(&a, TT_KEY_TYPE_ECC_KEY_PAIR(TT_ECC_FAMILY_SECP_R1), 256, TT_ALG_ECDSA(TT_ALG_SHA_256));
	gen(&b, TT_KEY_TYPE_ECC_KEY_PAIR(TT_ECC_FAMILY_SECP_R1), 384, TT_ALG_ECDSA(TT_ALG_SHA_256));
	tt_buf_init(&out, 4096);
	for (int i = 0; i < 4; i++) {
		tt_buf_reset(&out);
		assert_int_equal(P->sign_hash(ctx, i % 2 ? &b.k : &a.k, TT_ALG_ECDSA(TT_ALG_SHA_256), h, 32, &out), 0);
		assert_int_equal(tt_buf_avail(&out), i % 2 ? 96 : 64);
	}
	tkey_free(&a);
	tkey_free(&b);
	P->fini(ctx);
	/* cache disabled */
	g_vals[0] = "0";
	assert_int_equal(init_with(g_dir, 1, &ctx), 0);
	g_ctx = ctx;
	gen(&a, TT_KEY_TYPE_HMAC, 256, TT_ALG_HMAC(TT_ALG_SHA_256));
	tt_buf_reset(&out);
	assert_int_equal(P->mac_compute(ctx, &a.k, TT_ALG_HMAC(TT_ALG_SHA_256), h, 32, &out), 0);
	assert_int_equal(tt_buf_avail(&out), 32);
	tkey_free(&a);
	P->fini(ctx);
	g_ctx = saved;
	tt_buf_free(&out);
}

/* Worker threads share one ctx and a cache smaller than the working set, so lookups,
 * insertions and evictions race; every signature must still verify. */
struct worker {
	void *ctx;
	struct tkey *keys;
	int fails;
};

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	uint8_t h[32];
	struct tt_buf sig;

	tt_buf_init(&sig, 256);
	for (int i = 0; i < 300; i++) {
		struct tt_key *k = &w->keys[i % 3].k;

		RAND_bytes(h, sizeof(h));
		tt_buf_reset(&sig);
		if (P->sign_hash(w->ctx, k, TT_ALG_ECDSA(TT_ALG_SHA_256), h, 32, &sig) != 0 ||
		    P->verify_hash(w->ctx, k, TT_ALG_ECDSA(TT_ALG_SHA_256), h, 32,
		    tt_buf_ptr(&sig), tt_buf_avail(&sig)) != 0)
			w->fails++;
		if (i % 50 == 0)
			(void)P->destroy_key(w->ctx, k->kid, k->ref, k->ref_len);  /* drop the entry */
	}
	tt_buf_free(&sig);
	return NULL;
}

static void
test_threads(void **state)
{
	void *ctx = NULL, *saved = g_ctx;
	struct tkey keys[3];
	struct worker w[4];
	pthread_t th[4];

	(void)state;
	g_keys[0] = "key_cache_size";
	g_vals[0] = "2";
	assert_int_equal(init_with(g_dir, 1, &ctx), 0);
	g_ctx = ctx;
	for (int i = 0; i < 3; i++)
		gen(&keys[i], TT_KEY_TYPE_ECC_KEY_PAIR(TT_ECC_FAMILY_SECP_R1), 256, TT_ALG_ECDSA(TT_ALG_SHA_256));
	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker){ .ctx = ctx, .keys = keys };
		assert_int_equal(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(w[i].fails, 0);
	}
	for (int i = 0; i < 3; i++)
		tkey_free(&keys[i]);
	P->fini(ctx);
	g_ctx = saved;
}

static void
test_can_do(void **state)
{
	struct tt_key_attrs a = { 0 };
	tt_key_type_t p = TT_KEY_TYPE_ECC_KEY_PAIR(TT_ECC_FAMILY_SECP_R1);

	(void)state;
#define CAN(check, t, b, al) (a.type = (t), a.bits = (b), a.alg = (al), P->can_do(g_ctx, (check), &a))
	assert_int_equal(CAN(TT_CHECK_GENERATE, p, 256, 0), 0);
	assert_int_equal(CAN(TT_CHECK_GENERATE, p, 521, 0), 0);
	assert_int_equal(CAN(TT_CHECK_GENERATE, p, 224, 0), TT_ERR_NOT_SUPPORTED);
	assert_int_equal(CAN(TT_CHECK_GENERATE, TT_KEY_TYPE_ECC_PUBLIC_KEY(TT_ECC_FAMILY_SECP_R1), 256, 0),
	    TT_ERR_NOT_SUPPORTED);
	assert_int_equal(CAN(TT_CHECK_IMPORT, TT_KEY_TYPE_ECC_PUBLIC_KEY(TT_ECC_FAMILY_SECP_R1), 256, 0), 0);
	assert_int_equal(CAN(TT_CHECK_GENERATE, TT_KEY_TYPE_RSA_KEY_PAIR, 4096, 0), 0);
	assert_int_equal(CAN(TT_CHECK_GENERATE, TT_KEY_TYPE_RSA_KEY_PAIR, 1024, 0), TT_ERR_NOT_SUPPORTED);
	assert_int_equal(CAN(TT_CHECK_GENERATE, TT_KEY_TYPE_AES, 192, 0), 0);
	assert_int_equal(CAN(TT_CHECK_GENERATE, TT_KEY_TYPE_AES, 64, 0), TT_ERR_NOT_SUPPORTED);
	assert_int_equal(CAN(TT_CHECK_GENERATE, TT_KEY_TYPE_ECC_KEY_PAIR(TT_ECC_FAMILY_SECP_K1), 256, 0),
	    TT_ERR_NOT_SUPPORTED);
	assert_int_equal(CAN(TT_CHECK_IMPORT, TT_KEY_TYPE_HMAC, 0, 0), 0);
	assert_int_equal(CAN(TT_CHECK_USE, p, 256, TT_ALG_ECDSA(TT_ALG_ANY_HASH)), 0);
	assert_int_equal(CAN(TT_CHECK_USE, p, 256, TT_ALG_ECDH), 0);
	assert_int_equal(CAN(TT_CHECK_USE, p, 256, TT_ALG_DETERMINISTIC_ECDSA(TT_ALG_SHA_256)), TT_ERR_NOT_SUPPORTED);
	assert_int_equal(CAN(TT_CHECK_USE, p, 256, TT_ALG_RSA_PSS(TT_ALG_SHA_256)), TT_ERR_NOT_SUPPORTED);
	assert_int_equal(CAN(TT_CHECK_USE, TT_KEY_TYPE_RSA_KEY_PAIR, 2048, TT_ALG_RSA_OAEP(TT_ALG_SHA_256)), 0);
	assert_int_equal(CAN(TT_CHECK_USE, TT_KEY_TYPE_RSA_KEY_PAIR, 2048, TT_ALG_RSA_PKCS1V15_SIGN_RAW), 0);
	assert_int_equal(CAN(TT_CHECK_USE, TT_KEY_TYPE_AES, 128, TT_ALG_GCM), 0);
	assert_int_equal(CAN(TT_CHECK_USE, TT_KEY_TYPE_AES, 128, TT_ALG_CHACHA20_POLY1305), TT_ERR_NOT_SUPPORTED);
	assert_int_equal(CAN(TT_CHECK_USE, TT_KEY_TYPE_CHACHA20, 256, TT_ALG_CHACHA20_POLY1305), 0);
	assert_int_equal(CAN(TT_CHECK_USE, TT_KEY_TYPE_AES, 128, TT_ALG_CBC_PKCS7), 0);
	assert_int_equal(CAN(TT_CHECK_USE, TT_KEY_TYPE_AES, 128, TT_ALG_XTS), TT_ERR_NOT_SUPPORTED);
	assert_int_equal(CAN(TT_CHECK_USE, TT_KEY_TYPE_HMAC, 256, TT_ALG_HMAC(TT_ALG_SHA_384)), 0);
	assert_int_equal(CAN(TT_CHECK_USE, TT_KEY_TYPE_AES, 256, TT_ALG_CMAC), 0);
	assert_int_equal(CAN(TT_CHECK_USE, TT_KEY_TYPE_AES, 256, TT_ALG_HKDF(TT_ALG_SHA_256)), TT_ERR_NOT_SUPPORTED);
	assert_int_equal(CAN(TT_CHECK_DERIVE, TT_KEY_TYPE_DERIVE, 256, 0), TT_ERR_NOT_SUPPORTED);
#undef CAN
	/* the table */
	assert_string_equal(P->name, "soft");
	assert_int_equal(P->id, 1);
	assert_string_equal(P->uuid, "1c1139dc-ad7c-47dc-ad6b-db6fdb466552");
	assert_true(P->n_opcodes >= 20);
}

static void
test_hash_random(void **state)
{
	struct tt_buf out;

	(void)state;
	tt_buf_init(&out, 256);
	assert_int_equal(P->hash_compute(g_ctx, TT_ALG_SHA_256, (const uint8_t *)"abc", 3, &out), 0);
	assert_hex(&out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	tt_buf_reset(&out);
	assert_int_equal(P->hash_compute(g_ctx, TT_ALG_SHA3_256, (const uint8_t *)"abc", 3, &out), 0);
	assert_hex(&out, "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532");
	tt_buf_reset(&out);
	assert_int_equal(P->hash_compute(g_ctx, TT_ALG_MD2, (const uint8_t *)"abc", 3, &out), TT_ERR_NOT_SUPPORTED);
	assert_int_equal(P->generate_random(g_ctx, 100, &out), 0);
	assert_int_equal(tt_buf_avail(&out), 100);
	tt_buf_free(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_master_key_file),
		cmocka_unit_test(test_ecc),
		cmocka_unit_test(test_ecc_known_vector),
		cmocka_unit_test(test_rsa),
		cmocka_unit_test(test_x25519),
		cmocka_unit_test(test_ecdh_p256),
		cmocka_unit_test(test_mac),
		cmocka_unit_test(test_aead_gcm),
		cmocka_unit_test(test_aead_ccm_chacha),
		cmocka_unit_test(test_cipher),
		cmocka_unit_test(test_wrap_binding),
		cmocka_unit_test(test_import_bits_zero),
		cmocka_unit_test(test_cache_small),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_can_do),
		cmocka_unit_test(test_hash_random),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
