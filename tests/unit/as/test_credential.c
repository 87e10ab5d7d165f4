/*
 * turtle-as's TPM2_MakeCredential (src/as/credential.c) checked against a real TPM: the
 * known answer is the TPM's own, not a second implementation of the same formulas.
 *
 * The fixture starts `swtpm socket` on a free pair of TCP ports with its state in a temp
 * directory. For each EK algorithm, tpm2-tools creates the EK from the default TCG
 * template (`tpm2_createek -G rsa|ecc`, L-1 / L-2) and an AK under it (`tpm2_createak`);
 * tt_as_ak_name() must give the name tpm2-tools reports, tt_as_make_credential() makes the
 * credential from the EK's PEM, and `tpm2_activatecredential` in the TPM must recover the
 * very secret that went in. A credential for another AK name is refused by the TPM, and an
 * EK on an unsupported curve is refused by turtle-as before anything is made.
 *
 * Skipped (not failed) when swtpm or tpm2-tools are not installed.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "as.h"
#include "turtle/error.h"
#include "util/buf.h"

#include "swtpm.h"

/* the state dir is the test's temp dir; tpm2-tools' files go there too */
static struct tt_swtpm g_tpm = { .pid = -1 };
static int g_skip;

static int
group_setup(void **state)
{
	(void)state;
	if (!tt_test_have("swtpm") || !tt_test_have("tpm2_createek") ||
	    !tt_test_have("tpm2_activatecredential")) {
		g_skip = 1;
		return 0;
	}
	snprintf(g_tpm.dir, sizeof(g_tpm.dir), "/tmp/tt-cred-XXXXXX");
	if (mkdtemp(g_tpm.dir) == NULL) {
		g_tpm.dir[0] = '\0';
		return -1;
	}
	srand((unsigned)getpid());
	if (tt_swtpm_start(&g_tpm, 0) != 0)
		return -1;
	/* every tpm2-tools command the tests run talks to this swtpm */
	return setenv("TPM2TOOLS_TCTI", g_tpm.tcti, 1) == 0 ? 0 : -1;
}

static int
group_teardown(void **state)
{
	(void)state;
	tt_swtpm_stop(&g_tpm);
	if (g_tpm.dir[0] != '\0' && tt_test_rmtree(g_tpm.dir) != 0)
		return -1;
	return 0;
}

/* Run a shell command in the temp dir (output discarded); its exit status. */
static int
run(const char *fmt, ...)
{
	char cmd[1024], full[1200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	snprintf(full, sizeof(full), "cd %s && { %s; } >/dev/null 2>&1", g_tpm.dir, cmd);
	return system(full);
}

static uint8_t *
slurp(const char *fn, size_t *len)
{
	char path[256];   /* g_tpm.dir (up to 127) + "/" + a short file name */
	uint8_t *p;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s/%s", g_tpm.dir, fn);
	assert_non_null(f = fopen(path, "rb"));
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	assert_true(n >= 0 && n < 65536);
	assert_non_null(p = malloc((size_t)n + 1));
	assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	p[n] = 0;
	*len = (size_t)n;
	return p;
}

static void
spill(const char *fn, const uint8_t *d, size_t n)
{
	char path[256];   /* g_tpm.dir (up to 127) + "/" + a short file name */
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", g_tpm.dir, fn);
	assert_non_null(f = fopen(path, "wb"));
	assert_int_equal(fwrite(d, 1, n, f), n);
	fclose(f);
}

/* tpm2-tools' credential file: magic BADCC0DE, version 1, TPM2B_ID_OBJECT,
 * TPM2B_ENCRYPTED_SECRET (both exactly as tt_as_make_credential writes them). */
static void
write_cred(const char *fn, const struct tt_buf *id, const struct tt_buf *sec)
{
	static const uint8_t hdr[8] = { 0xba, 0xdc, 0xc0, 0xde, 0, 0, 0, 1 };
	uint8_t f[8 + 4096];

	assert_true(id->len + sec->len <= sizeof(f) - 8);
	memcpy(f, hdr, 8);
	memcpy(f + 8, id->d, id->len);
	memcpy(f + 8 + id->len, sec->d, sec->len);
	spill(fn, f, 8 + id->len + sec->len);
}

/* TPM2_ActivateCredential in swtpm through tpm2-tools, with the EK's PolicySecret
 * session; 0 and the recovered secret on success. */
static int
activate(const char *cred, uint8_t *out, size_t *outlen)
{
	uint8_t *p;
	size_t n;
	int rc;

	/* without a resource manager, tpm2-tools leave objects loaded: make room first */
	rc = run("rm -f actcred.out session.ctx && tpm2_flushcontext -t && tpm2_flushcontext -s && "
	    "tpm2_startauthsession --policy-session -S session.ctx && "
	    "tpm2_policysecret -S session.ctx -c e && "
	    "tpm2_activatecredential -c ak.ctx -C ek.ctx -i %s -o actcred.out "
	    "-P session:session.ctx; r=$?; tpm2_flushcontext session.ctx; exit $r", cred);
	if (rc != 0)
		return -1;
	p = slurp("actcred.out", &n);
	assert_true(n <= *outlen);
	memcpy(out, p, n);
	*outlen = n;
	free(p);
	return 0;
}

/* EK and AK of `alg` ("rsa" / "ecc") in the swtpm; returns the EK PEM (malloc'd) and the
 * AK name computed by turtle-as, checked against the one tpm2-tools reports. */
static char *
make_keys(const char *alg, uint8_t name[80], size_t *nlen)
{
	uint8_t *akpub, *tname;
	size_t aklen, tnlen, pemlen;
	char *pem;

	assert_int_equal(run("rm -f ek.ctx ak.ctx && tpm2_flushcontext -t && "
	    "tpm2_createek -G %s -c ek.ctx -u ek.pem -f pem && tpm2_flushcontext -t", alg), 0);
	assert_int_equal(run("tpm2_createak -C ek.ctx -c ak.ctx -G ecc -g sha256 -s ecdsa "
	    "-u ak.pub -n ak.name && tpm2_flushcontext -t && tpm2_flushcontext -s"), 0);
	akpub = slurp("ak.pub", &aklen);
	tname = slurp("ak.name", &tnlen);
	assert_int_equal(tt_as_ak_name(akpub, aklen, name, nlen), 0);
	assert_int_equal(*nlen, tnlen);
	assert_memory_equal(name, tname, tnlen);
	pem = (char *)slurp("ek.pem", &pemlen);
	assert_non_null(strstr(pem, "BEGIN PUBLIC KEY"));
	free(akpub);
	free(tname);
	return pem;
}

static void
roundtrip(const char *alg, size_t want_secret_len)
{
	uint8_t name[80], secret[32], got[64];
	size_t nlen = 0, glen = sizeof(got);
	struct tt_buf id, sec;
	char *pem;

	if (g_skip)
		skip();
	pem = make_keys(alg, name, &nlen);
	tt_buf_init(&id, 4096);
	tt_buf_init(&sec, 4096);
	assert_int_equal(RAND_bytes(secret, sizeof(secret)), 1);
	assert_int_equal(tt_as_make_credential(pem, name, nlen, secret, sizeof(secret), &id, &sec),
	    0);
	/* TPM2B_ENCRYPTED_SECRET: RSA-2048 ciphertext, or a TPMS_ECC_POINT of two 32-byte
	 * coordinates */
	assert_int_equal(sec.len, 2 + want_secret_len);
	assert_int_equal(((size_t)sec.d[0] << 8) | sec.d[1], want_secret_len);
	write_cred("cred.bin", &id, &sec);
	assert_int_equal(activate("cred.bin", got, &glen), 0);
	assert_int_equal(glen, sizeof(secret));
	assert_memory_equal(got, secret, sizeof(secret));

	/* the same EK, but a credential for another AK name: the TPM's HMAC check fails */
	name[nlen - 1] ^= 1;
	tt_buf_reset(&id);
	tt_buf_reset(&sec);
	assert_int_equal(tt_as_make_credential(pem, name, nlen, secret, sizeof(secret), &id, &sec),
	    0);
	write_cred("cred-other.bin", &id, &sec);
	glen = sizeof(got);
	assert_int_not_equal(activate("cred-other.bin", got, &glen), 0);
	tt_buf_free(&id);
	tt_buf_free(&sec);
	free(pem);
}

static void
test_ecc_ek(void **state)
{
	(void)state;
	roundtrip("ecc", 2 + 32 + 2 + 32);
}

static void
test_rsa_ek(void **state)
{
	(void)state;
	roundtrip("rsa", 256);
}

/* A P-384 EK (high-range template: SHA-384, AES-256) is not made with the P-256 rules. */
static void
test_unsupported_curve(void **state)
{
	EVP_PKEY *k;
	BIO *b;
	char *pem = NULL;
	long n;
	uint8_t name[34] = { 0x00, 0x0b }, secret[32] = { 1 };
	struct tt_buf id, sec;

	(void)state;
	assert_non_null(k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384"));
	assert_non_null(b = BIO_new(BIO_s_mem()));
	assert_int_equal(PEM_write_bio_PUBKEY(b, k), 1);
	n = BIO_get_mem_data(b, &pem);
	assert_true(n > 0);
	tt_buf_init(&id, 4096);
	tt_buf_init(&sec, 4096);
	{
		char *z = calloc(1, (size_t)n + 1);

		assert_non_null(z);
		memcpy(z, pem, (size_t)n);
		assert_int_equal(tt_as_make_credential(z, name, sizeof(name), secret,
		    sizeof(secret), &id, &sec), TT_ERR_NOT_SUPPORTED);
		free(z);
	}
	assert_int_equal(id.len, 0);
	assert_int_equal(sec.len, 0);
	tt_buf_free(&id);
	tt_buf_free(&sec);
	BIO_free(b);
	EVP_PKEY_free(k);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ecc_ek),
		cmocka_unit_test(test_rsa_ek),
		cmocka_unit_test(test_unsupported_curve),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
