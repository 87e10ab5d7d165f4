/*
 * The soft provider's master key sealed to a TPM (master_key_seal_tcti), against real
 * swtpm instances started by the test (temp state dirs, free ports, stopped by PID).
 *
 * Outcomes checked: the key file starts with TTSEALED1 and does not contain the master
 * key; a key wrapped by the soft provider still computes the RFC 4231 HMAC after a
 * restart (the master key unsealed to the same bytes); another TPM (fresh state dir)
 * and no TPM at all make start-up fail; a plain file is refused while sealing is
 * configured, and converted only with master_key_seal_migrate; a sealed file without
 * the option, and a malformed sealed file, are refused.
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

#include <openssl/rand.h>

#include "providers/provider.h"
#include "providers/tpm/tpm_seal.h"
#include "turtle/error.h"
#include "turtle/psa.h"
#include "util/buf.h"

#include "swtpm.h"

extern const struct tt_provider_ops tt_soft_provider;
#define P (&tt_soft_provider)

/* this machine's TPM, and another machine's; their state dirs are under g_root. Started
 * with no TPM2_Startup: turtled must Startup a TPM that nobody started. */
static struct tt_swtpm g_tpm_a = { .pid = -1, .no_startup = 1 };
static struct tt_swtpm g_tpm_b = { .pid = -1, .no_startup = 1 };
static char g_root[64];

/* ---- swtpm ---- */

/* mkdir g_root/name as t's state dir and start swtpm there, on ports other than avoid */
static int
swtpm_start(struct tt_swtpm *t, const char *name, int avoid)
{
	snprintf(t->dir, sizeof(t->dir), "%s/%s", g_root, name);
	if (mkdir(t->dir, 0700) != 0)
		return -1;
	return tt_swtpm_start(t, avoid);
}

/* ---- soft provider with a config ---- */

static int
soft_init(const char *data_dir, const char *tcti, const char *migrate, void **ctx)
{
	const char *keys[2], *vals[2];
	struct tt_provider_cfg cfg = { .data_dir = data_dir, .keys = keys, .values = vals };

	*ctx = NULL;
	if (tcti != NULL) {
		keys[cfg.n] = "master_key_seal_tcti";
		vals[cfg.n++] = tcti;
	}
	if (migrate != NULL) {
		keys[cfg.n] = "master_key_seal_migrate";
		vals[cfg.n++] = migrate;
	}
	return P->init(&cfg, ctx);
}

static void
make_dir(char *out, size_t len, const char *name)
{
	snprintf(out, len, "%s/%s", g_root, name);
	assert_int_equal(mkdir(out, 0700), 0);
}

static size_t
read_file(const char *dir, uint8_t *buf, size_t cap, mode_t *mode)
{
	char path[160];
	struct stat st;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/soft-master.key", dir);
	assert_true((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	if (mode != NULL)
		*mode = st.st_mode & 07777;
	n = read(fd, buf, cap);
	close(fd);
	assert_true(n >= 0);
	return (size_t)n;
}

static void
write_file(const char *dir, const uint8_t *d, size_t len)
{
	char path[160];
	int fd;

	snprintf(path, sizeof(path), "%s/soft-master.key", dir);
	assert_true((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) >= 0);
	assert_int_equal(write(fd, d, len), (ssize_t)len);
	close(fd);
}

static int
contains(const uint8_t *hay, size_t hl, const uint8_t *needle, size_t nl)
{
	for (size_t i = 0; i + nl <= hl; i++)
		if (memcmp(hay + i, needle, nl) == 0)
			return 1;
	return 0;
}

/* RFC 4231 test case 1: HMAC-SHA-256, key 0x0b * 20, "Hi There". */
static const uint8_t kat_key[20] = {
	0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b,
	0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b,
};
static const uint8_t kat_mac[32] = {
	0xb0, 0x34, 0x4c, 0x61, 0xd8, 0xdb, 0x38, 0x53, 0x5c, 0xa8, 0xaf, 0xce, 0xaf, 0x0b, 0xf1, 0x2b,
	0x88, 0x1d, 0xc2, 0x00, 0xc9, 0x83, 0x3d, 0xa7, 0x26, 0xe9, 0x37, 0x6c, 0x2e, 0x32, 0xcf, 0xf7,
};

struct tkey {
	struct tt_key k;
	struct tt_buf ref;
};

static void
tkey_import(void *ctx, struct tkey *t)
{
	memset(t, 0, sizeof(*t));
	tt_buf_init(&t->ref, 4096);
	RAND_bytes(t->k.kid, sizeof(t->k.kid));
	t->k.owner.app = "seal-test";
	t->k.owner.name = "hmac";
	t->k.attrs = (struct tt_key_attrs){ .type = TT_KEY_TYPE_HMAC, .bits = 160,
	    .usage = TT_USAGE_SIGN_MESSAGE, .alg = TT_ALG_HMAC(TT_ALG_SHA_256) };
	assert_int_equal(P->import_key(ctx, &t->k.owner, t->k.kid, &t->k.attrs, kat_key,
	    sizeof(kat_key), &t->ref), 0);
	t->k.ref = t->ref.d;
	t->k.ref_len = t->ref.len;
}

/* The wrapped key still authenticates and computes the known MAC under `ctx`. */
static void
tkey_check(void *ctx, const struct tkey *t)
{
	struct tt_buf mac;

	tt_buf_init(&mac, 64);
	assert_int_equal(P->mac_compute(ctx, &t->k, TT_ALG_HMAC(TT_ALG_SHA_256),
	    (const uint8_t *)"Hi There", 8, &mac), 0);
	assert_int_equal(mac.len, sizeof(kat_mac));
	assert_memory_equal(mac.d, kat_mac, sizeof(kat_mac));
	tt_buf_free(&mac);
}

/* ---- tests ---- */

static void
test_sealed_across_restarts(void **state)
{
	char dir[96];
	uint8_t file[4096], mk[32];
	struct tt_seal_tpm t = { .tcti = g_tpm_a.tcti };
	struct tkey k;
	mode_t mode;
	size_t n;
	void *ctx;

	(void)state;
	make_dir(dir, sizeof(dir), "restart");
	assert_int_equal(soft_init(dir, g_tpm_a.tcti, NULL, &ctx), 0);
	tkey_import(ctx, &k);
	tkey_check(ctx, &k);
	P->fini(ctx);

	n = read_file(dir, file, sizeof(file), &mode);
	assert_int_equal(mode, 0600);
	assert_true(n > TT_SEAL_MAGIC_LEN + 32);
	assert_memory_equal(file, "TTSEALED1", 9);
	/* the master key, as the TPM gives it back, is nowhere in the file */
	assert_int_equal(tt_tpm_unseal(&t, file, n, mk, sizeof(mk)), 0);
	assert_false(contains(file, n, mk, sizeof(mk)));
	memset(mk, 0, sizeof(mk));

	/* second and third start: same master key, the wrapped key still works */
	for (int i = 0; i < 2; i++) {
		assert_int_equal(soft_init(dir, g_tpm_a.tcti, NULL, &ctx), 0);
		tkey_check(ctx, &k);
		P->fini(ctx);
	}
	/* the file is not rewritten by a start */
	{
		uint8_t again[4096];

		assert_int_equal(read_file(dir, again, sizeof(again), NULL), n);
		assert_memory_equal(again, file, n);
	}
	tt_buf_free(&k.ref);
}

static void
test_other_tpm_or_none(void **state)
{
	char dir[96], closed[80];
	void *ctx;
	int p;

	(void)state;
	make_dir(dir, sizeof(dir), "moved");
	assert_int_equal(soft_init(dir, g_tpm_a.tcti, NULL, &ctx), 0);
	P->fini(ctx);
	/* the disk moved to another machine: its TPM has another owner seed */
	assert_int_equal(soft_init(dir, g_tpm_b.tcti, NULL, &ctx), TT_ERR_NOT_PERMITTED);
	assert_null(ctx);
	/* no TPM at all */
	assert_true((p = tt_test_free_port_pair(0)) != 0);
	snprintf(closed, sizeof(closed), "swtpm:host=127.0.0.1,port=%d", p);
	assert_int_not_equal(soft_init(dir, closed, NULL, &ctx), 0);
	assert_null(ctx);
	/* sealed file, option removed: refused, not read as a plain key */
	assert_int_equal(soft_init(dir, NULL, NULL, &ctx), TT_ERR_CONFIG);
	assert_null(ctx);
	/* this machine's TPM still opens it */
	assert_int_equal(soft_init(dir, g_tpm_a.tcti, NULL, &ctx), 0);
	P->fini(ctx);
}

static void
test_plain_refused_then_migrated(void **state)
{
	char dir[96];
	uint8_t plain[32], file[4096];
	struct tkey k;
	size_t n;
	void *ctx;

	(void)state;
	make_dir(dir, sizeof(dir), "plain");
	assert_int_equal(soft_init(dir, NULL, NULL, &ctx), 0);   /* today's plain file */
	tkey_import(ctx, &k);
	P->fini(ctx);
	assert_int_equal(read_file(dir, plain, sizeof(plain) + 1, NULL), sizeof(plain));

	/* sealing configured: refused, file untouched */
	assert_int_equal(soft_init(dir, g_tpm_a.tcti, NULL, &ctx), TT_ERR_CONFIG);
	assert_null(ctx);
	assert_int_equal(read_file(dir, file, sizeof(file), NULL), sizeof(plain));
	assert_memory_equal(file, plain, sizeof(plain));
	assert_int_equal(soft_init(dir, g_tpm_a.tcti, "no", &ctx), TT_ERR_CONFIG);
	assert_int_equal(soft_init(dir, g_tpm_a.tcti, "maybe", &ctx), TT_ERR_CONFIG);

	/* explicit migration seals the same key: old wrapped keys keep working */
	assert_int_equal(soft_init(dir, g_tpm_a.tcti, "yes", &ctx), 0);
	tkey_check(ctx, &k);
	P->fini(ctx);
	n = read_file(dir, file, sizeof(file), NULL);
	assert_memory_equal(file, "TTSEALED1", 9);
	assert_false(contains(file, n, plain, sizeof(plain)));
	assert_int_equal(soft_init(dir, g_tpm_a.tcti, NULL, &ctx), 0);
	tkey_check(ctx, &k);
	P->fini(ctx);
	tt_buf_free(&k.ref);
}

static void
test_malformed_sealed_file(void **state)
{
	char dir[96];
	uint8_t junk[100];
	void *ctx;

	(void)state;
	make_dir(dir, sizeof(dir), "junk");
	memset(junk, 0x41, sizeof(junk));
	memcpy(junk, "TTSEALED1", 9);
	write_file(dir, junk, sizeof(junk));
	assert_int_equal(soft_init(dir, g_tpm_a.tcti, NULL, &ctx), TT_ERR_DATA_CORRUPT);
	/* just the mark */
	write_file(dir, junk, 9);
	assert_int_equal(soft_init(dir, g_tpm_a.tcti, NULL, &ctx), TT_ERR_DATA_CORRUPT);
	/* options that make no sense without a TCTI */
	assert_int_equal(soft_init(dir, NULL, "yes", &ctx), TT_ERR_CONFIG);
	assert_int_equal(soft_init(dir, "", NULL, &ctx), TT_ERR_CONFIG);
}

static void
test_seal_api(void **state)
{
	struct tt_seal_tpm t = { .tcti = g_tpm_a.tcti };
	struct tt_buf blob;
	uint8_t secret[TT_SEAL_MAX_SECRET], back[TT_SEAL_MAX_SECRET];

	(void)state;
	RAND_bytes(secret, sizeof(secret));
	tt_buf_init(&blob, TT_SEAL_MAX_BLOB);
	assert_int_equal(tt_tpm_seal(&t, secret, 0, &blob), TT_ERR_INVALID_ARGUMENT);
	assert_int_equal(tt_tpm_seal(&t, secret, sizeof(secret) + 1, &blob), TT_ERR_INVALID_ARGUMENT);
	assert_int_equal(tt_tpm_seal(&t, secret, sizeof(secret), &blob), 0);
	assert_true(tt_tpm_seal_is_sealed(blob.d, blob.len));
	assert_int_equal(tt_tpm_unseal(&t, blob.d, blob.len, back, sizeof(back)), 0);
	assert_memory_equal(back, secret, sizeof(secret));
	/* wrong expected length: corrupt, nothing written */
	assert_int_equal(tt_tpm_unseal(&t, blob.d, blob.len, back, 32), TT_ERR_DATA_CORRUPT);
	/* trailing byte */
	assert_int_equal(tt_buf_put_u8(&blob, 0), 0);
	assert_int_equal(tt_tpm_unseal(&t, blob.d, blob.len, back, sizeof(back)), TT_ERR_DATA_CORRUPT);
	/* a flipped bit in the private part fails the TPM's integrity check */
	blob.len--;
	blob.d[blob.len - 5] ^= 1;
	assert_int_not_equal(tt_tpm_unseal(&t, blob.d, blob.len, back, sizeof(back)), 0);
	tt_buf_free(&blob);
}

static int
group_setup(void **state)
{
	(void)state;
	signal(SIGPIPE, SIG_IGN);
	srand((unsigned)getpid());
	snprintf(g_root, sizeof(g_root), "/tmp/tt-seal-XXXXXX");
	if (mkdtemp(g_root) == NULL) {
		g_root[0] = '\0';
		return -1;
	}
	if (swtpm_start(&g_tpm_a, "tpm-a", 0) != 0 ||
	    swtpm_start(&g_tpm_b, "tpm-b", g_tpm_a.port) != 0) {
		fprintf(stderr, "cannot start swtpm (apt-get install swtpm)\n");
		return -1;
	}
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	tt_swtpm_stop(&g_tpm_a);
	tt_swtpm_stop(&g_tpm_b);
	if (g_root[0] != '\0' && tt_test_rmtree(g_root) != 0)
		return -1;
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seal_api),
		cmocka_unit_test(test_sealed_across_restarts),
		cmocka_unit_test(test_other_tpm_or_none),
		cmocka_unit_test(test_plain_refused_then_migrated),
		cmocka_unit_test(test_malformed_sealed_file),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
