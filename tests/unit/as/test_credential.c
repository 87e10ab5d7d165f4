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
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "as.h"
#include "turtle/error.h"
#include "util/buf.h"

static char g_dir[64];
static char g_tcti[80];
static int g_port;
static pid_t g_swtpm = -1;
static int g_skip;

static int
port_free(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), ok;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

static int
port_open(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), ok;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

static int
have(const char *tool)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", tool);
	return system(cmd) == 0;
}

static int
swtpm_start(void)
{
	char state[128], server[64], ctrl[64];
	struct timespec ts = { 0, 20 * 1000 * 1000 };

	snprintf(state, sizeof(state), "dir=%s", g_dir);
	snprintf(server, sizeof(server), "type=tcp,port=%d,bindaddr=127.0.0.1", g_port);
	snprintf(ctrl, sizeof(ctrl), "type=tcp,port=%d,bindaddr=127.0.0.1", g_port + 1);
	if ((g_swtpm = fork()) < 0)
		return -1;
	if (g_swtpm == 0) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);

		/* swtpm dies with the test and does not hold meson's output pipe */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (null >= 0) {
			dup2(null, STDIN_FILENO);
			dup2(null, STDOUT_FILENO);
			dup2(null, STDERR_FILENO);
		}
		execlp("swtpm", "swtpm", "socket", "--tpm2", "--tpmstate", state, "--server", server,
		    "--ctrl", ctrl, "--flags", "not-need-init,startup-clear", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 500; i++) {
		if (port_open(g_port + 1))
			return 0;
		nanosleep(&ts, NULL);
	}
	return -1;
}

static int
group_setup(void **state)
{
	(void)state;
	if (!have("swtpm") || !have("tpm2_createek") || !have("tpm2_activatecredential")) {
		g_skip = 1;
		return 0;
	}
	snprintf(g_dir, sizeof(g_dir), "/tmp/tt-cred-XXXXXX");
	if (mkdtemp(g_dir) == NULL)
		return -1;
	srand((unsigned)getpid());
	for (int i = 0; i < 200 && g_port == 0; i++) {
		int p = 20000 + (rand() % 20000) * 2;

		if (port_free(p) && port_free(p + 1))
			g_port = p;
	}
	if (g_port == 0)
		return -1;
	snprintf(g_tcti, sizeof(g_tcti), "swtpm:host=127.0.0.1,port=%d", g_port);
	if (setenv("TPM2TOOLS_TCTI", g_tcti, 1) != 0)
		return -1;
	return swtpm_start();
}

static int
group_teardown(void **state)
{
	char cmd[128];

	(void)state;
	if (g_swtpm > 0) {
		kill(g_swtpm, SIGKILL);
		waitpid(g_swtpm, NULL, 0);
	}
	if (g_dir[0] != '\0') {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", g_dir);
		if (system(cmd) != 0)
			return -1;
	}
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
	snprintf(full, sizeof(full), "cd %s && { %s; } >/dev/null 2>&1", g_dir, cmd);
	return system(full);
}

static uint8_t *
slurp(const char *fn, size_t *len)
{
	char path[128];
	uint8_t *p;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s/%s", g_dir, fn);
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
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", g_dir, fn);
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
