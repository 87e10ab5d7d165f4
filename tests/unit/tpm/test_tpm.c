/*
 * Unit tests of the TPM provider against a real swtpm, driven through the ops table.
 * The fixture starts `swtpm socket` on a free pair of TCP ports with its state in a temp
 * directory and stops it by PID. Signatures are verified with OpenSSL from the exported
 * PSA public key; ciphertexts the TPM decrypts are made by OpenSSL; the credential for
 * ActivateCredential is made offline by tpm2_makecredential (tpm2-tools).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_tctildr.h>

#include "providers/provider.h"
#include "providers/tpm/tpm_int.h"
#include "turtle/error.h"
#include "turtle/psa.h"
#include "util/buf.h"
#include "util/log.h"

#include "swtpm.h"

extern const struct tt_provider_ops tt_tpm_provider;
#define P (&tt_tpm_provider)

/* the state dir is the test's temp dir; it also holds tpm2_makecredential's files */
static struct tt_swtpm g_tpm = { .pid = -1 };
static void *g_ctx;

static int
init_ctx(const char *max_loaded, void **ctx)
{
	const char *keys[2] = { "tcti", "max_loaded_keys" };
	const char *vals[2] = { g_tpm.tcti, max_loaded };
	struct tt_provider_cfg cfg = { .data_dir = g_tpm.dir, .n = max_loaded != NULL ? 2 : 1,
	    .keys = keys, .values = vals };

	return P->init(&cfg, ctx);
}

static int
group_setup(void **state)
{
	(void)state;
	/* a write to a killed swtpm must be an error, not a fatal signal (turtled does the same) */
	signal(SIGPIPE, SIG_IGN);
	snprintf(g_tpm.dir, sizeof(g_tpm.dir), "/tmp/tt-tpm-XXXXXX");
	if (mkdtemp(g_tpm.dir) == NULL) {
		g_tpm.dir[0] = '\0';
		return -1;
	}
	srand((unsigned)getpid());
	if (tt_swtpm_start(&g_tpm, 0) != 0) {
		fprintf(stderr, "cannot start swtpm (apt-get install swtpm)\n");
		return -1;
	}
	return init_ctx(NULL, &g_ctx) == 0 ? 0 : -1;
}

static int
group_teardown(void **state)
{
	(void)state;
	if (g_ctx != NULL)
		P->fini(g_ctx);
	tt_swtpm_stop(&g_tpm);
	if (g_tpm.dir[0] != '\0' && tt_test_rmtree(g_tpm.dir) != 0)
		return -1;
	return 0;
}

/* ---- helpers ---- */

struct tkey {
	struct tt_key k;
	struct tt_buf ref;
};

static int
tkey_make(struct tkey *t, tt_key_type_t type, uint32_t bits, tt_usage_t usage, tt_alg_t alg)
{
	int r;

	memset(t, 0, sizeof(*t));
	tt_buf_init(&t->ref, 4096);
	RAND_bytes(t->k.kid, sizeof(t->k.kid));
	t->k.owner.app = "test";
	t->k.owner.name = "k";
	t->k.attrs = (struct tt_key_attrs){ .type = type, .bits = bits, .usage = usage, .alg = alg };
	r = P->generate_key(g_ctx, &t->k.owner, t->k.kid, &t->k.attrs, &t->ref);
	t->k.ref = t->ref.d;
	t->k.ref_len = t->ref.len;
	return r;
}

static void
tkey_free(struct tkey *t)
{
	assert_int_equal(P->destroy_key(g_ctx, t->k.kid, t->k.ref, t->k.ref_len), 0);
	/* idempotent */
	assert_int_equal(P->destroy_key(g_ctx, t->k.kid, NULL, 0), 0);
	tt_buf_free(&t->ref);
}

static EVP_PKEY *
exported_pkey(const struct tkey *t)
{
	struct tt_buf out;
	EVP_PKEY *pk = NULL;
	const unsigned char *p;

	tt_buf_init(&out, 4096);
	assert_int_equal(P->export_public_key(g_ctx, &t->k, &out), 0);
	p = out.d;
	if (TT_KEY_TYPE_IS_RSA(t->k.attrs.type)) {
		pk = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, (long)out.len);
	} else {
		OSSL_PARAM params[3];
		EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
		char *curve = t->k.attrs.bits == 256 ? "P-256" : "P-384";

		params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, curve, 0);
		params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, out.d, out.len);
		params[2] = OSSL_PARAM_construct_end();
		assert_non_null(pc);
		assert_int_equal(EVP_PKEY_fromdata_init(pc), 1);
		assert_int_equal(EVP_PKEY_fromdata(pc, &pk, EVP_PKEY_PUBLIC_KEY, params), 1);
		EVP_PKEY_CTX_free(pc);
	}
	assert_non_null(pk);
	tt_buf_free(&out);
	return pk;
}

/* OpenSSL verification of a PSA signature over a SHA-256 / SHA-384 digest. */
static int
ossl_verify(EVP_PKEY *pk, tt_alg_t alg, const uint8_t *h, size_t hl, const uint8_t *sig, size_t sl)
{
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
	const EVP_MD *md = hl == 32 ? EVP_sha256() : EVP_sha384();
	unsigned char *der = NULL;
	int dl = 0, ok;

	if (TT_ALG_IS_ECDSA(alg)) {
		ECDSA_SIG *es = ECDSA_SIG_new();

		ECDSA_SIG_set0(es, BN_bin2bn(sig, (int)sl / 2, NULL), BN_bin2bn(sig + sl / 2, (int)sl / 2, NULL));
		dl = i2d_ECDSA_SIG(es, &der);
		ECDSA_SIG_free(es);
		sig = der;
		sl = (size_t)dl;
	}
	assert_int_equal(EVP_PKEY_verify_init(pc), 1);
	assert_int_equal(EVP_PKEY_CTX_set_signature_md(pc, md), 1);
	if (TT_ALG_IS_RSA_PSS(alg)) {
		assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING), 1);
		assert_int_equal(EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, RSA_PSS_SALTLEN_DIGEST), 1);
	} else if (TT_ALG_IS_RSA_PKCS1V15_SIGN(alg)) {
		assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING), 1);
	}
	ok = EVP_PKEY_verify(pc, sig, sl, h, hl);
	OPENSSL_free(der);
	EVP_PKEY_CTX_free(pc);
	return ok;
}

static void
sign_and_check(const struct tkey *t, tt_alg_t alg, size_t hl)
{
	uint8_t h[48];
	struct tt_buf sig;
	EVP_PKEY *pk = exported_pkey(t);

	RAND_bytes(h, sizeof(h));
	tt_buf_init(&sig, 1024);
	assert_int_equal(P->sign_hash(g_ctx, &t->k, alg, h, hl, &sig), 0);
	assert_int_equal(ossl_verify(pk, alg, h, hl, sig.d, sig.len), 1);
	assert_int_equal(P->verify_hash(g_ctx, &t->k, alg, h, hl, sig.d, sig.len), 0);
	sig.d[sig.len / 2] ^= 1;
	assert_int_equal(P->verify_hash(g_ctx, &t->k, alg, h, hl, sig.d, sig.len), TT_ERR_INVALID_SIGNATURE);
	tt_buf_free(&sig);
	EVP_PKEY_free(pk);
}

/* ---- tests ---- */

static void
test_ecc_p256_sign(void **state)
{
	struct tkey t;
	struct tt_buf pub;

	(void)state;
	assert_int_equal(tkey_make(&t, TT_KEY_TYPE_ECC_KEY_PAIR(TT_ECC_FAMILY_SECP_R1), 256,
	    TT_USAGE_SIGN_HASH | TT_USAGE_VERIFY_HASH, TT_ALG_ECDSA(TT_ALG_SHA_256)), 0);
	tt_buf_init(&pub, 256);
	assert_int_equal(P->export_public_key(g_ctx, &t.k, &pub), 0);
	assert_int_equal(pub.len, 65);
	assert_int_equal(pub.d[0], 0x04);
	tt_buf_free(&pub);
	sign_and_check(&t, TT_ALG_ECDSA(TT_ALG_SHA_256), 32);
	sign_and_check(&t, TT_ALG_ECDSA(TT_ALG_SHA_256), 32);
	tkey_free(&t);
}

static void
test_ecc_p384_sign(void **state)
{
	struct tkey t;

	(void)state;
	assert_int_equal(tkey_make(&t, TT_KEY_TYPE_ECC_KEY_PAIR(TT_ECC_FAMILY_SECP_R1), 384,
	    TT_USAGE_SIGN_HASH | TT_USAGE_VERIFY_HASH, TT_ALG_ECDSA(TT_ALG_ANY_HASH)), 0);
	sign_and_check(&t, TT_ALG_ECDSA(TT_ALG_SHA_384), 48);
	sign_and_check(&t, TT_ALG_ECDSA(TT_ALG_SHA_256), 32);
	tkey_free(&t);
}

static void
test_rsa_sign(void **state)
{
	struct tkey t;

	(void)state;
	assert_int_equal(tkey_make(&t, TT_KEY_TYPE_RSA_KEY_PAIR, 2048,
	    TT_USAGE_SIGN_HASH | TT_USAGE_VERIFY_HASH, TT_ALG_RSA_PKCS1V15_SIGN(TT_ALG_SHA_256)), 0);
	sign_and_check(&t, TT_ALG_RSA_PKCS1V15_SIGN(TT_ALG_SHA_256), 32);
	sign_and_check(&t, TT_ALG_RSA_PSS(TT_ALG_SHA_256), 32);
	tkey_free(&t);
}

static void
test_unsupported(void **state)
{
	struct tkey t;
	struct tt_key_attrs a = { TT_KEY_TYPE_ECC_KEY_PAIR(TT_ECC_FAMILY_SECP_R1), 521,
	    TT_USAGE_SIGN_HASH, TT_ALG_ECDSA(TT_ALG_SHA_256) };
	struct tt_key_attrs aes = { TT_KEY_TYPE_AES, 128, TT_USAGE_ENCRYPT, TT_ALG_GCM };

	(void)state;
	assert_int_equal(P->can_do(g_ctx, TT_CHECK_GENERATE, &a), TT_ERR_NOT_SUPPORTED);
	assert_int_equal(P->can_do(g_ctx, TT_CHECK_GENERATE, &aes), TT_ERR_NOT_SUPPORTED);
	a.bits = 256;
	assert_int_equal(P->can_do(g_ctx, TT_CHECK_GENERATE, &a), 0);
	assert_int_not_equal(tkey_make(&t, TT_KEY_TYPE_ECC_KEY_PAIR(TT_ECC_FAMILY_SECP_R1), 521,
	    TT_USAGE_SIGN_HASH, TT_ALG_ECDSA(TT_ALG_SHA_256)), 0);
	tt_buf_free(&t.ref);
}

static void
oaep_roundtrip(const struct tkey *t, tt_alg_t alg, const uint8_t *label, size_t label_len)
{
	EVP_PKEY *pk = exported_pkey(t);
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
	uint8_t msg[40], ct[256];
	size_t ctl = sizeof(ct);
	struct tt_buf out;

	RAND_bytes(msg, sizeof(msg));
	assert_int_equal(EVP_PKEY_encrypt_init(pc), 1);
	if (TT_ALG_IS_RSA_OAEP(alg)) {
		assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_OAEP_PADDING), 1);
		assert_int_equal(EVP_PKEY_CTX_set_rsa_oaep_md(pc, EVP_sha256()), 1);
		if (label_len > 0)
			assert_int_equal(EVP_PKEY_CTX_set0_rsa_oaep_label(pc,
			    OPENSSL_memdup(label, label_len), (int)label_len), 1);
	} else {
		assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING), 1);
	}
	assert_int_equal(EVP_PKEY_encrypt(pc, ct, &ctl, msg, sizeof(msg)), 1);
	tt_buf_init(&out, 512);
	assert_int_equal(P->asymmetric_decrypt(g_ctx, &t->k, alg, ct, ctl, label, label_len, &out), 0);
	assert_int_equal(out.len, sizeof(msg));
	assert_memory_equal(out.d, msg, sizeof(msg));
	/* a damaged ciphertext is a padding error, not a crash or garbage */
	tt_buf_reset(&out);
	ct[10] ^= 0x40;
	assert_int_equal(P->asymmetric_decrypt(g_ctx, &t->k, alg, ct, ctl, label, label_len, &out),
	    TT_ERR_INVALID_PADDING);
	tt_buf_free(&out);
	EVP_PKEY_CTX_free(pc);
	EVP_PKEY_free(pk);
}

static void
test_rsa_decrypt(void **state)
{
	struct tkey t;
	static const uint8_t label[] = "turtle";   /* includes the terminating zero */
	struct tt_buf ct, pt;
	const uint8_t msg[] = "round trip through software encryption";

	(void)state;
	assert_int_equal(tkey_make(&t, TT_KEY_TYPE_RSA_KEY_PAIR, 2048,
	    TT_USAGE_ENCRYPT | TT_USAGE_DECRYPT, TT_ALG_RSA_OAEP(TT_ALG_SHA_256)), 0);
	oaep_roundtrip(&t, TT_ALG_RSA_OAEP(TT_ALG_SHA_256), NULL, 0);
	oaep_roundtrip(&t, TT_ALG_RSA_OAEP(TT_ALG_SHA_256), label, sizeof(label));
	oaep_roundtrip(&t, TT_ALG_RSA_PKCS1V15_CRYPT, NULL, 0);
	tt_buf_init(&ct, 512);
	tt_buf_init(&pt, 512);
	assert_int_equal(P->asymmetric_encrypt(g_ctx, &t.k, TT_ALG_RSA_OAEP(TT_ALG_SHA_256), msg,
	    sizeof(msg), NULL, 0, &ct), 0);
	assert_int_equal(P->asymmetric_decrypt(g_ctx, &t.k, TT_ALG_RSA_OAEP(TT_ALG_SHA_256), ct.d,
	    ct.len, NULL, 0, &pt), 0);
	assert_int_equal(pt.len, sizeof(msg));
	assert_memory_equal(pt.d, msg, sizeof(msg));
	tt_buf_free(&ct);
	tt_buf_free(&pt);
	tkey_free(&t);
}

static void
test_import_ecc(void **state)
{
	struct tkey t;
	EVP_PKEY *gen = EVP_EC_gen("P-256");
	BIGNUM *d = NULL;
	uint8_t priv[32], h[32], pt1[65];
	size_t ptl = 0;
	struct tt_buf sig, pub;

	(void)state;
	assert_non_null(gen);
	assert_int_equal(EVP_PKEY_get_bn_param(gen, OSSL_PKEY_PARAM_PRIV_KEY, &d), 1);
	assert_int_equal(BN_bn2binpad(d, priv, 32), 32);
	assert_int_equal(EVP_PKEY_get_octet_string_param(gen, OSSL_PKEY_PARAM_PUB_KEY, pt1, sizeof(pt1), &ptl), 1);
	memset(&t, 0, sizeof(t));
	tt_buf_init(&t.ref, 4096);
	RAND_bytes(t.k.kid, sizeof(t.k.kid));
	t.k.attrs = (struct tt_key_attrs){ TT_KEY_TYPE_ECC_KEY_PAIR(TT_ECC_FAMILY_SECP_R1), 256,
	    TT_USAGE_SIGN_HASH | TT_USAGE_VERIFY_HASH, TT_ALG_ECDSA(TT_ALG_SHA_256) };
	assert_int_equal(P->import_key(g_ctx, &t.k.owner, t.k.kid, &t.k.attrs, priv, 32, &t.ref), 0);
	t.k.ref = t.ref.d;
	t.k.ref_len = t.ref.len;
	tt_buf_init(&pub, 256);
	assert_int_equal(P->export_public_key(g_ctx, &t.k, &pub), 0);
	assert_int_equal(pub.len, ptl);
	assert_memory_equal(pub.d, pt1, ptl);
	RAND_bytes(h, sizeof(h));
	tt_buf_init(&sig, 256);
	assert_int_equal(P->sign_hash(g_ctx, &t.k, TT_ALG_ECDSA(TT_ALG_SHA_256), h, 32, &sig), 0);
	assert_int_equal(ossl_verify(gen, TT_ALG_ECDSA(TT_ALG_SHA_256), h, 32, sig.d, sig.len), 1);
	tt_buf_free(&sig);
	tt_buf_free(&pub);
	BN_clear_free(d);
	EVP_PKEY_free(gen);
	tkey_free(&t);
}

static void
test_random(void **state)
{
	struct tt_buf a, b;

	(void)state;
	tt_buf_init(&a, 1024);
	tt_buf_init(&b, 1024);
	assert_int_equal(P->generate_random(g_ctx, 100, &a), 0);
	assert_int_equal(P->generate_random(g_ctx, 100, &b), 0);
	assert_int_equal(a.len, 100);
	assert_int_equal(b.len, 100);
	assert_memory_not_equal(a.d, b.d, 100);
	tt_buf_free(&a);
	tt_buf_free(&b);
}

/* More keys than max_loaded_keys (3), each used in turn: the LRU cache evicts and
 * reloads, and the TPM's own slot limit is handled too. */
static void
test_cache_eviction(void **state)
{
	struct tkey t[6];

	(void)state;
	for (size_t i = 0; i < 6; i++)
		assert_int_equal(tkey_make(&t[i], TT_KEY_TYPE_ECC_KEY_PAIR(TT_ECC_FAMILY_SECP_R1), 256,
		    TT_USAGE_SIGN_HASH | TT_USAGE_VERIFY_HASH, TT_ALG_ECDSA(TT_ALG_SHA_256)), 0);
	for (int round = 0; round < 2; round++)
		for (size_t i = 0; i < 6; i++)
			sign_and_check(&t[i], TT_ALG_ECDSA(TT_ALG_SHA_256), 32);
	for (size_t i = 0; i < 6; i++)
		tkey_free(&t[i]);
}

/* swtpm killed -> COMMUNICATION; swtpm restarted on the same state -> the same key
 * signs again; a fresh provider context (turtled restart) also uses the old blob. */
static void
test_fault_recovery(void **state)
{
	struct tkey t;
	uint8_t h[32];
	struct tt_buf sig;
	void *ctx2 = NULL;

	(void)state;
	assert_int_equal(tkey_make(&t, TT_KEY_TYPE_ECC_KEY_PAIR(TT_ECC_FAMILY_SECP_R1), 256,
	    TT_USAGE_SIGN_HASH | TT_USAGE_VERIFY_HASH, TT_ALG_ECDSA(TT_ALG_SHA_256)), 0);
	sign_and_check(&t, TT_ALG_ECDSA(TT_ALG_SHA_256), 32);
	tt_swtpm_stop(&g_tpm);
	RAND_bytes(h, sizeof(h));
	tt_buf_init(&sig, 256);
	assert_int_equal(P->sign_hash(g_ctx, &t.k, TT_ALG_ECDSA(TT_ALG_SHA_256), h, 32, &sig),
	    TT_ERR_COMMUNICATION);
	/* still down: reconnecting fails cleanly */
	assert_int_equal(P->sign_hash(g_ctx, &t.k, TT_ALG_ECDSA(TT_ALG_SHA_256), h, 32, &sig),
	    TT_ERR_COMMUNICATION);
	assert_int_equal(tt_swtpm_start(&g_tpm, 0), 0);
	sign_and_check(&t, TT_ALG_ECDSA(TT_ALG_SHA_256), 32);
	/* a new context (daemon restart) recreates the same SRK and loads the old blob */
	P->fini(g_ctx);
	g_ctx = NULL;
	assert_int_equal(init_ctx("1", &ctx2), 0);
	g_ctx = ctx2;
	sign_and_check(&t, TT_ALG_ECDSA(TT_ALG_SHA_256), 32);
	tt_buf_free(&sig);
	tkey_free(&t);
}

/* TPM name of a public area as the verifier computes it. */
static void
name_of(const uint8_t *pub2b, size_t len, uint8_t name[34])
{
	TPM2B_PUBLIC p = { 0 };
	size_t off = 0, moff = 0;
	uint8_t m[sizeof(TPMT_PUBLIC)];
	unsigned int dl;

	assert_int_equal(Tss2_MU_TPM2B_PUBLIC_Unmarshal(pub2b, len, &off, &p), 0);
	assert_int_equal(off, len);
	assert_int_equal(Tss2_MU_TPMT_PUBLIC_Marshal(&p.publicArea, m, sizeof(m), &moff), 0);
	name[0] = 0x00;
	name[1] = 0x0b;
	assert_int_equal(EVP_Digest(m, moff, name + 2, &dl, EVP_sha256(), NULL), 1);
}

static void
test_activate_credential(void **state)
{
	struct tkey t;
	struct tt_buf name, pub, ekpub, cred;
	uint8_t nm[34], secret[32], *file = NULL;
	char path[256], cmd[1024], hex[2 * 34 + 1];
	FILE *f;
	long flen;
	size_t off = 8;
	TPM2B_ID_OBJECT blob = { 0 };
	TPM2B_ENCRYPTED_SECRET sec = { 0 };

	(void)state;
	assert_int_equal(tkey_make(&t, TT_KEY_TYPE_ECC_KEY_PAIR(TT_ECC_FAMILY_SECP_R1), 256,
	    TT_USAGE_SIGN_HASH | TT_USAGE_VERIFY_HASH, TT_ALG_ECDSA(TT_ALG_SHA_256)), 0);
	tt_buf_init(&name, 256);
	tt_buf_init(&pub, 1024);
	tt_buf_init(&ekpub, 1024);
	tt_buf_init(&cred, 256);
	assert_int_equal(P->prepare_activate_credential(g_ctx, &t.k, NULL, &name, &pub, &ekpub), 0);
	name_of(pub.d, pub.len, nm);
	assert_int_equal(name.len, 34);
	assert_memory_equal(name.d, nm, 34);
	/* the verifier's side, offline: MakeCredential to the EK for this name */
	RAND_bytes(secret, sizeof(secret));
#define WRITE(fn, p, n) do { snprintf(path, sizeof(path), "%s/%s", g_tpm.dir, fn); \
		assert_non_null(f = fopen(path, "wb")); \
		assert_int_equal(fwrite(p, 1, n, f), n); fclose(f); } while (0)
	WRITE("ek.pub", ekpub.d, ekpub.len);
	WRITE("secret.bin", secret, sizeof(secret));
	/* tpm2-tools 5.4 takes the name as a hex string */
	for (size_t i = 0; i < name.len; i++)
		snprintf(hex + 2 * i, 3, "%02x", name.d[i]);
	snprintf(cmd, sizeof(cmd), "tpm2_makecredential -T none -u %s/ek.pub -s %s/secret.bin "
	    "-n %s -o %s/cred.out >/dev/null 2>&1", g_tpm.dir, g_tpm.dir, hex, g_tpm.dir);
	assert_int_equal(system(cmd), 0);
	snprintf(path, sizeof(path), "%s/cred.out", g_tpm.dir);
	assert_non_null(f = fopen(path, "rb"));
	fseek(f, 0, SEEK_END);
	flen = ftell(f);
	rewind(f);
	assert_true(flen > 8 && flen < 4096);
	file = malloc((size_t)flen);
	assert_int_equal(fread(file, 1, (size_t)flen, f), (size_t)flen);
	fclose(f);
	/* tpm2-tools file: magic, version, TPM2B_ID_OBJECT, TPM2B_ENCRYPTED_SECRET */
	assert_int_equal(Tss2_MU_TPM2B_ID_OBJECT_Unmarshal(file, (size_t)flen, &off, &blob), 0);
	assert_int_equal(Tss2_MU_TPM2B_ENCRYPTED_SECRET_Unmarshal(file, (size_t)flen, &off, &sec), 0);
	assert_int_equal(P->attest_activate_credential(g_ctx, &t.k, NULL, blob.credential, blob.size,
	    sec.secret, sec.size, &cred), 0);
	assert_int_equal(cred.len, sizeof(secret));
	assert_memory_equal(cred.d, secret, sizeof(secret));
	/* a blob for another key's name does not activate */
	{
		struct tkey o;

		assert_int_equal(tkey_make(&o, TT_KEY_TYPE_ECC_KEY_PAIR(TT_ECC_FAMILY_SECP_R1), 256,
		    TT_USAGE_SIGN_HASH, TT_ALG_ECDSA(TT_ALG_SHA_256)), 0);
		tt_buf_reset(&cred);
		assert_int_not_equal(P->attest_activate_credential(g_ctx, &o.k, NULL, blob.credential,
		    blob.size, sec.secret, sec.size, &cred), 0);
		tkey_free(&o);
	}
	free(file);
	tt_buf_free(&name);
	tt_buf_free(&pub);
	tt_buf_free(&ekpub);
	tt_buf_free(&cred);
	tkey_free(&t);
}

/* The AK's public area, from the TPM directly with the same fixed template (the
 * provider's connection is closed meanwhile: swtpm serves one client at a time). */
static EVP_PKEY *
ak_public(void)
{
	TSS2_TCTI_CONTEXT *tcti = NULL;
	ESYS_CONTEXT *esys = NULL;
	TPM2B_PUBLIC tmpl, *out = NULL;
	TPM2B_SENSITIVE_CREATE sens = { 0 };
	TPM2B_DATA outside = { 0 };
	TPML_PCR_SELECTION pcrs = { 0 };
	ESYS_TR h;
	EVP_PKEY *pk = NULL;

	P->fini(g_ctx);
	g_ctx = NULL;
	assert_int_equal(Tss2_TctiLdr_Initialize(g_tpm.tcti, &tcti), 0);
	assert_int_equal(Esys_Initialize(&esys, tcti, NULL), 0);
	tt_tpm_ak_template(&tmpl);
	assert_int_equal(Esys_CreatePrimary(esys, ESYS_TR_RH_ENDORSEMENT, ESYS_TR_PASSWORD,
	    ESYS_TR_NONE, ESYS_TR_NONE, &sens, &tmpl, &outside, &pcrs, &h, &out, NULL, NULL, NULL), 0);
	assert_int_equal(Esys_FlushContext(esys, h), 0);
	assert_int_equal(tt_tpm_pub_to_pkey(&out->publicArea, &pk), 0);
	Esys_Free(out);
	Esys_Finalize(&esys);
	Tss2_TctiLdr_Finalize(&tcti);
	assert_int_equal(init_ctx(NULL, &g_ctx), 0);
	return pk;
}

static void
test_certify(void **state)
{
	struct tkey t;
	struct tt_buf attest, sig, name, pub, ekpub;
	uint8_t nonce[20], h[32];
	TPMS_ATTEST a;
	TPMT_SIGNATURE s;
	size_t off = 0;
	EVP_PKEY *ak = ak_public();
	uint8_t rs[64];

	(void)state;
	assert_int_equal(tkey_make(&t, TT_KEY_TYPE_RSA_KEY_PAIR, 2048,
	    TT_USAGE_SIGN_HASH | TT_USAGE_VERIFY_HASH, TT_ALG_RSA_PKCS1V15_SIGN(TT_ALG_SHA_256)), 0);
	RAND_bytes(nonce, sizeof(nonce));
	tt_buf_init(&attest, 4096);
	tt_buf_init(&sig, 4096);
	tt_buf_init(&name, 256);
	tt_buf_init(&pub, 1024);
	tt_buf_init(&ekpub, 1024);
	assert_int_equal(P->certify_key(g_ctx, &t.k, nonce, sizeof(nonce), &attest, &sig), 0);
	assert_int_equal(P->prepare_activate_credential(g_ctx, &t.k, NULL, &name, &pub, &ekpub), 0);
	memset(&a, 0, sizeof(a));
	assert_int_equal(Tss2_MU_TPMS_ATTEST_Unmarshal(attest.d, attest.len, &off, &a), 0);
	assert_int_equal(off, attest.len);
	assert_int_equal(a.magic, TPM2_GENERATED_VALUE);
	assert_int_equal(a.type, TPM2_ST_ATTEST_CERTIFY);
	assert_int_equal(a.extraData.size, sizeof(nonce));
	assert_memory_equal(a.extraData.buffer, nonce, sizeof(nonce));
	assert_int_equal(a.attested.certify.name.size, name.len);
	assert_memory_equal(a.attested.certify.name.name, name.d, name.len);
	off = 0;
	assert_int_equal(Tss2_MU_TPMT_SIGNATURE_Unmarshal(sig.d, sig.len, &off, &s), 0);
	assert_int_equal(s.sigAlg, TPM2_ALG_ECDSA);
	assert_int_equal(s.signature.ecdsa.hash, TPM2_ALG_SHA256);
	memset(rs, 0, sizeof(rs));
	memcpy(rs + 32 - s.signature.ecdsa.signatureR.size, s.signature.ecdsa.signatureR.buffer,
	    s.signature.ecdsa.signatureR.size);
	memcpy(rs + 64 - s.signature.ecdsa.signatureS.size, s.signature.ecdsa.signatureS.buffer,
	    s.signature.ecdsa.signatureS.size);
	SHA256(attest.d, attest.len, h);
	assert_int_equal(ossl_verify(ak, TT_ALG_ECDSA(TT_ALG_SHA_256), h, 32, rs, 64), 1);
	/* tampered attestation does not verify */
	attest.d[attest.len - 1] ^= 1;
	SHA256(attest.d, attest.len, h);
	assert_int_not_equal(ossl_verify(ak, TT_ALG_ECDSA(TT_ALG_SHA_256), h, 32, rs, 64), 1);
	tt_buf_free(&attest);
	tt_buf_free(&sig);
	tt_buf_free(&name);
	tt_buf_free(&pub);
	tt_buf_free(&ekpub);
	EVP_PKEY_free(ak);
	tkey_free(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ecc_p256_sign),
		cmocka_unit_test(test_ecc_p384_sign),
		cmocka_unit_test(test_rsa_sign),
		cmocka_unit_test(test_unsupported),
		cmocka_unit_test(test_rsa_decrypt),
		cmocka_unit_test(test_import_ecc),
		cmocka_unit_test(test_random),
		cmocka_unit_test(test_cache_eviction),
		cmocka_unit_test(test_activate_credential),
		cmocka_unit_test(test_certify),
		cmocka_unit_test(test_fault_recovery),
	};

	/* the TSS logs expected TPM errors (a full object memory the cache then frees) */
	setenv("TSS2_LOG", "all+none", 0);
	if (getenv("TT_TEST_DEBUG") != NULL)
		tt_log_set_level(TT_LOG_DEBUG);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
