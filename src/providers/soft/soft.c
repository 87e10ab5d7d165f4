/*
 * The software provider (provider id 1): the function table, start-up (master key file,
 * cache), CanDoCrypto and the key life cycle. The cryptographic operations live in
 * soft_sign.c, soft_sym.c and soft_agree.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "providers/rsa_check.h"
#include "providers/soft/soft_int.h"
#include "providers/tpm/tpm_seal.h"
#include "turtle/error.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/num.h"
#include "wire/opcodes.h"

#define SOFT_DEFAULT_CACHE 256

/* ---- master key file ---- */

static int
read_full(int fd, uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t k = read(fd, p, n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return TT_ERR_IO;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

static int
write_full(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t k = write(fd, p, n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return TT_ERR_IO;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* Largest master key file we read: a sealed blob is a few hundred bytes. */
#define SOFT_MK_FILE_MAX 4096

/* How the master key is kept on disk: plain (tcti == NULL) or sealed to a TPM. */
struct soft_seal {
	const char *tcti;            /* master_key_seal_tcti */
	const char *owner_auth;      /* owner_auth (as for [provider.tpm]) */
	const char *owner_auth_file; /* owner_auth_file */
	int migrate;                 /* master_key_seal_migrate: seal an existing plain file */
};

/* Write `len` bytes to `path` atomically (mode 0600): a crash leaves either the old
 * file (or none) or a complete new one. */
static int
write_file_atomic(const char *path, const uint8_t *data, size_t len)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	const char *slash;
	int fd = -1, dfd = -1, r = TT_ERR_IO;
	int created = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid()) >= (int)sizeof(tmp))
		return TT_ERR_CONFIG;
	slash = strrchr(path, '/');
	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (snprintf(dir, sizeof(dir), "%.*s", (int)(slash == path ? 1 : slash - path), path) >= (int)sizeof(dir))
		return TT_ERR_CONFIG;
	(void)unlink(tmp);  /* a leftover of an earlier crash of this very pid */
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0) {
		tt_err_log("soft: cannot create %s: %s", tmp, strerror(errno));
		goto out;
	}
	created = 1;
	if (write_full(fd, data, len) != 0 || fsync(fd) != 0 || close(fd) != 0) {
		fd = -1;
		tt_err_log("soft: cannot write %s: %s", tmp, strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		tt_err_log("soft: cannot rename %s: %s", tmp, strerror(errno));
		goto out;
	}
	created = 0;
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || fsync(dfd) != 0) {
		tt_err_log("soft: cannot sync directory %s: %s", dir, strerror(errno));
		goto out;
	}
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	if (created)
		(void)unlink(tmp);
	return r;
}

#ifdef TT_HAVE_TPM
/* The TPM connection for sealing; the owner auth lands in `auth` (wiped by the caller). */
static int
seal_tpm(const struct soft_seal *seal, uint8_t auth[64], struct tt_seal_tpm *t)
{
	size_t n = 0;

	memset(t, 0, sizeof(*t));
	t->tcti = seal->tcti;
	if (seal->owner_auth_file != NULL) {
		uint8_t buf[64 + 2];
		ssize_t k;
		int fd;

		if ((fd = open(seal->owner_auth_file, O_RDONLY | O_CLOEXEC)) < 0) {
			tt_err_log("soft: cannot open %s: %s", seal->owner_auth_file, strerror(errno));
			return TT_ERR_CONFIG;
		}
		k = read(fd, buf, sizeof(buf));
		close(fd);
		n = k > 0 ? (size_t)k : 0;
		/* the first line, as [provider.tpm] reads it */
		for (size_t i = 0; i < n; i++)
			if (buf[i] == '\n' || buf[i] == '\r') {
				n = i;
				break;
			}
		if (k < 0 || n > 64) {
			tt_wipe(buf, sizeof(buf));
			tt_err_log("soft: %s: owner authorisation unreadable or longer than 64 bytes",
			    seal->owner_auth_file);
			return TT_ERR_CONFIG;
		}
		memcpy(auth, buf, n);
		tt_wipe(buf, sizeof(buf));
	} else if (seal->owner_auth != NULL) {
		if ((n = strlen(seal->owner_auth)) > 64) {
			tt_err_log("soft: owner_auth longer than 64 bytes");
			return TT_ERR_CONFIG;
		}
		memcpy(auth, seal->owner_auth, n);
	}
	t->owner_auth = auth;
	t->owner_auth_len = n;
	return 0;
}

/* Seal `mk` and write the sealed blob to `path`. */
static int
write_sealed(const char *path, const struct soft_seal *seal, const uint8_t *mk)
{
	struct tt_seal_tpm t;
	struct tt_buf blob;
	uint8_t auth[64];
	int r;

	tt_buf_init(&blob, TT_SEAL_MAX_BLOB);
	if ((r = seal_tpm(seal, auth, &t)) != 0)
		goto out;
	if ((r = tt_tpm_seal(&t, mk, SOFT_MASTER_KEY_LEN, &blob)) != 0) {
		tt_err_log("soft: cannot seal the master key to the TPM at \"%s\": %s", seal->tcti,
		    tt_strerror(r));
		goto out;
	}
	r = write_file_atomic(path, tt_buf_ptr(&blob), tt_buf_avail(&blob));
out:
	tt_wipe(auth, sizeof(auth));
	tt_buf_free(&blob);
	return r;
}

static int
unseal_master_key(const char *path, const struct soft_seal *seal, const uint8_t *blob,
    size_t len, uint8_t *mk)
{
	struct tt_seal_tpm t;
	uint8_t auth[64];
	int r;

	if ((r = seal_tpm(seal, auth, &t)) != 0)
		goto out;
	if ((r = tt_tpm_unseal(&t, blob, len, mk, SOFT_MASTER_KEY_LEN)) != 0) {
		if (r == TT_ERR_NOT_PERMITTED)
			tt_err_log("soft: master key file %s was sealed by a different TPM than the "
			    "one at \"%s\" (or its owner hierarchy was cleared): it cannot be "
			    "unsealed here, and keys wrapped under it are unusable on this machine",
			    path, seal->tcti);
		else
			tt_err_log("soft: cannot unseal the master key in %s with the TPM at \"%s\": %s",
			    path, seal->tcti, tt_strerror(r));
	}
out:
	tt_wipe(auth, sizeof(auth));
	return r;
}
#endif

/* Create a new master key file: 32 random bytes, plain or sealed. */
static int
create_master_key(const char *path, const struct soft_seal *seal)
{
	uint8_t key[SOFT_MASTER_KEY_LEN];
	int r;

	if (RAND_priv_bytes(key, sizeof(key)) != 1) {
		r = TT_ERR_INSUFFICIENT_ENTROPY;
		goto out;
	}
	if (seal->tcti == NULL) {
		r = write_file_atomic(path, key, sizeof(key));
	} else {
#ifdef TT_HAVE_TPM
		r = write_sealed(path, seal, key);
#else
		r = TT_ERR_CONFIG;   /* soft_init refuses the option first */
#endif
	}
	if (r == 0)
		tt_info("soft: created %smaster key file %s", seal->tcti != NULL ? "sealed " : "", path);
out:
	tt_wipe(key, sizeof(key));
	return r;
}

static int
load_master_key(const char *path, const struct soft_seal *seal, uint8_t *mk)
{
	struct stat st;
	uint8_t *data = NULL;
	size_t len = 0;
	int fd, sealed, r = TT_ERR_CONFIG;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0 && errno == ENOENT) {
		if ((r = create_master_key(path, seal)) != 0)
			return r;
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	}
	if (fd < 0) {
		tt_err_log("soft: cannot open master key file %s: %s", path, strerror(errno));
		return TT_ERR_CONFIG;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		tt_err_log("soft: master key file %s is not a regular file", path);
		goto out;
	}
	if ((st.st_mode & 077) != 0) {
		tt_err_log("soft: refusing master key file %s: mode %04o gives group/other access "
		    "(chmod 600 it)", path, (unsigned)(st.st_mode & 07777));
		goto out;
	}
	if (st.st_size <= 0 || st.st_size > SOFT_MK_FILE_MAX) {
		tt_err_log("soft: refusing master key file %s: %lld bytes", path, (long long)st.st_size);
		goto out;
	}
	len = (size_t)st.st_size;
	if ((data = malloc(len)) == NULL) {
		r = TT_ERR_NO_MEMORY;
		goto out;
	}
	if (read_full(fd, data, len) != 0) {
		tt_err_log("soft: cannot read master key file %s", path);
		goto out;
	}
	sealed = len >= TT_SEAL_MAGIC_LEN && memcmp(data, TT_SEAL_MAGIC, TT_SEAL_MAGIC_LEN) == 0;
	if (sealed && seal->tcti == NULL) {
		tt_err_log("soft: master key file %s is sealed to a TPM (%s) but master_key_seal_tcti "
		    "is not set in [provider.soft]", path, TT_SEAL_MAGIC);
		goto out;
	}
	if (sealed) {
#ifdef TT_HAVE_TPM
		r = unseal_master_key(path, seal, data, len, mk);
#endif
		goto out;
	}
	if (len != SOFT_MASTER_KEY_LEN) {
		tt_err_log("soft: refusing master key file %s: %zu bytes, expected %d (plain) or a "
		    "%s blob", path, len, SOFT_MASTER_KEY_LEN, TT_SEAL_MAGIC);
		goto out;
	}
	if (seal->tcti != NULL && !seal->migrate) {
		tt_err_log("soft: master key file %s holds a plain (unsealed) master key but "
		    "master_key_seal_tcti is set; not converting it silently. To seal this key to "
		    "the TPM, start once with master_key_seal_migrate = yes in [provider.soft] "
		    "(then remove that line and destroy any backup of the plain file); to keep it "
		    "plain, remove master_key_seal_tcti", path);
		goto out;
	}
#ifdef TT_HAVE_TPM
	if (seal->tcti != NULL) {
		/* explicit migration: the same key, so every wrapped key stays valid */
		if ((r = write_sealed(path, seal, data)) != 0)
			goto out;
		tt_warn("soft: sealed the plain master key in %s to the TPM at \"%s\"; remove "
		    "master_key_seal_migrate and destroy any copy of the old plain file", path,
		    seal->tcti);
	}
#endif
	memcpy(mk, data, SOFT_MASTER_KEY_LEN);
	r = 0;
out:
	if (data != NULL) {
		tt_wipe(data, len);
		free(data);
	}
	close(fd);
	return r;
}

/* Read the master-key sealing options; an error if this build cannot honour them. */
static int
seal_options(const struct tt_provider_cfg *cfg, struct soft_seal *seal)
{
	const char *v;

	memset(seal, 0, sizeof(*seal));
	seal->tcti = tt_provider_cfg_get(cfg, "master_key_seal_tcti");
	seal->owner_auth = tt_provider_cfg_get(cfg, "owner_auth");
	seal->owner_auth_file = tt_provider_cfg_get(cfg, "owner_auth_file");
	if ((v = tt_provider_cfg_get(cfg, "master_key_seal_migrate")) != NULL) {
		if (strcmp(v, "yes") == 0 || strcmp(v, "true") == 0 || strcmp(v, "1") == 0) {
			seal->migrate = 1;
		} else if (strcmp(v, "no") != 0 && strcmp(v, "false") != 0 && strcmp(v, "0") != 0) {
			tt_err_log("soft: master_key_seal_migrate: expected yes or no, got %s", v);
			return TT_ERR_CONFIG;
		}
	}
	if (seal->tcti != NULL && seal->tcti[0] == '\0') {
		tt_err_log("soft: master_key_seal_tcti is empty");
		return TT_ERR_CONFIG;
	}
	if (seal->tcti == NULL && (seal->migrate || seal->owner_auth != NULL ||
	    seal->owner_auth_file != NULL)) {
		tt_err_log("soft: master_key_seal_migrate / owner_auth / owner_auth_file need "
		    "master_key_seal_tcti");
		return TT_ERR_CONFIG;
	}
#ifndef TT_HAVE_TPM
	if (seal->tcti != NULL) {
		tt_err_log("soft: master_key_seal_tcti is set, but this turtled was built without "
		    "TPM support (tpm2-tss not found at build time): the master key cannot be sealed");
		return TT_ERR_CONFIG;
	}
#endif
	return 0;
}

static void
soft_fini(void *ctx)
{
	struct soft_ctx *c = ctx;

	if (c == NULL)
		return;
	tt_soft_cache_free(c->cache);
	EVP_MAC_free(c->hmac);
	EVP_MAC_free(c->cmac);
	if (c->mk != NULL) {
		tt_wipe(c->mk, c->mk_alloc);
		if (c->mk_locked)
			munlock(c->mk, c->mk_alloc);
		free(c->mk);
	}
	free(c);
}

/*
 * OpenSSL's secure heap: one mmap'ed arena, mlock'ed when RLIMIT_MEMLOCK allows and
 * always MADV_DONTDUMP, from which OpenSSL takes the private parts of keys it decodes
 * (RSA's d, p, q and CRT values, EC scalars: BN_secure_new) and from which soft_keys.c
 * takes symmetric key bytes. Cached keys therefore never appear in a core dump. Without
 * it those allocations silently come from the ordinary heap.
 *
 * The arena has a fixed size and a full arena fails the allocation (the request gets
 * InsufficientMemory), so it is sized from the cache: 4 KiB per entry, which holds the
 * private parts of an 8192-bit RSA key (3.5 KiB in power-of-two blocks), plus 1 MiB for
 * keys in flight outside the cache and for key generation; a power of two (OpenSSL's
 * rule) between 1 MiB and 1 GiB. Only touched pages cost memory. The arena is the
 * process's, so the first soft provider sets it up.
 */
#define SOFT_SECURE_HEAP_MIN ((size_t)1 << 20)
#define SOFT_SECURE_HEAP_MAX ((size_t)1 << 30)
#define SOFT_SECURE_PER_KEY 4096
#define SOFT_SECURE_MINSIZE 64

static void
secure_heap_init(uint32_t cache_entries)
{
	size_t want = SOFT_SECURE_HEAP_MIN + (size_t)cache_entries * SOFT_SECURE_PER_KEY;
	size_t size = SOFT_SECURE_HEAP_MIN;
	int sr;

	if (CRYPTO_secure_malloc_initialized())
		return;
	while (size < want && size < SOFT_SECURE_HEAP_MAX)
		size *= 2;
	sr = CRYPTO_secure_malloc_init(size, SOFT_SECURE_MINSIZE);
	if (sr == 0)
		tt_warn("soft: no secure heap (%zu bytes): cached keys may appear in core dumps", size);
	else if (sr == 2)
		tt_warn("soft: secure heap of %zu bytes not locked (RLIMIT_MEMLOCK): cached keys "
		    "may reach swap, but stay out of core dumps", size);
	else
		tt_debug("soft: secure heap of %zu bytes, locked and out of core dumps", size);
}

static int
soft_init(const struct tt_provider_cfg *cfg, void **ctxp)
{
	struct soft_ctx *c;
	struct soft_seal seal;
	char path[PATH_MAX];
	const char *v;
	uint32_t cache = SOFT_DEFAULT_CACHE;
	int rsa_pairs = 0;
	long page = sysconf(_SC_PAGESIZE);
	int r;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return TT_ERR_NO_MEMORY;
	/* A page of its own, so mlock pins nothing else and MADV_DONTDUMP hides only it. */
	c->mk_alloc = page > 0 ? (size_t)page : 4096;
	if (posix_memalign((void **)&c->mk, c->mk_alloc, c->mk_alloc) != 0) {
		c->mk = NULL;
		r = TT_ERR_NO_MEMORY;
		goto out;
	}
	memset(c->mk, 0, c->mk_alloc);
	c->mk_locked = mlock(c->mk, c->mk_alloc) == 0;
	if (!c->mk_locked)
		tt_warn("soft: cannot mlock the master key (%s); it may reach swap", strerror(errno));
	(void)madvise(c->mk, c->mk_alloc, MADV_DONTDUMP);

	if ((v = tt_provider_cfg_get(cfg, "key_cache_size")) != NULL &&
	    tt_parse_u32(v, 0, 1u << 20, &cache) != 0) {
		tt_err_log("soft: key_cache_size: not a number in [0, 1048576]: %s", v);
		r = TT_ERR_CONFIG;
		goto out;
	}
	if ((v = tt_provider_cfg_get(cfg, "master_key_file")) != NULL) {
		if (snprintf(path, sizeof(path), "%s", v) >= (int)sizeof(path)) {
			r = TT_ERR_CONFIG;
			goto out;
		}
	} else if (cfg == NULL || cfg->data_dir == NULL ||
	    snprintf(path, sizeof(path), "%s/soft-master.key", cfg->data_dir) >= (int)sizeof(path)) {
		tt_err_log("soft: no master_key_file and no data directory");
		r = TT_ERR_CONFIG;
		goto out;
	}
	if ((r = seal_options(cfg, &seal)) != 0 ||
	    (r = load_master_key(path, &seal, c->mk)) != 0)
		goto out;
	secure_heap_init(cache);
	if ((v = tt_provider_cfg_get(cfg, "cache_rsa_key_pairs")) != NULL) {
		if (strcmp(v, "yes") == 0 || strcmp(v, "true") == 0 || strcmp(v, "1") == 0) {
			rsa_pairs = 1;
			tt_info("soft: RSA key pairs are cached: copies of their primes can appear in "
			    "a core dump");
		} else if (strcmp(v, "no") != 0 && strcmp(v, "false") != 0 && strcmp(v, "0") != 0) {
			tt_err_log("soft: cache_rsa_key_pairs: expected yes or no, got %s", v);
			r = TT_ERR_CONFIG;
			goto out;
		}
	}
	if (cache > 0 && (r = tt_soft_cache_new(cache, rsa_pairs, &c->cache)) != 0)
		goto out;
	if ((c->hmac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL ||
	    (c->cmac = EVP_MAC_fetch(NULL, "CMAC", NULL)) == NULL) {
		tt_err_log("soft: OpenSSL has no HMAC/CMAC implementation");
		r = TT_ERR_GENERIC;
		goto out;
	}
	*ctxp = c;
	c = NULL;
	r = 0;
out:
	soft_fini(c);
	return r;
}

/* ---- CanDoCrypto ---- */

static int
soft_can_do(void *ctx, enum tt_check_type check, const struct tt_key_attrs *a)
{
	(void)ctx;
	switch (check) {
	case TT_CHECK_GENERATE:
		return tt_soft_type_ok(a->type, a->bits, 0);
	case TT_CHECK_IMPORT:
		return tt_soft_type_ok(a->type, a->bits, 1);
	case TT_CHECK_USE:
		if (tt_soft_type_ok(a->type, a->bits, 1) != 0)
			return TT_ERR_NOT_SUPPORTED;
		return tt_soft_alg_ok(a->type, a->alg);
	default:
		return TT_ERR_NOT_SUPPORTED;
	}
}

/* ---- key life cycle ---- */

/* Parse, check size, wrap and (warm) cache the material of a new key. Imported RSA
 * material is validated (tt_prov_rsa_check); generated keys are OpenSSL's own. */
static int
store_new(struct soft_ctx *c, const struct tt_key_owner *o, const uint8_t kid[TT_KEY_ID_LEN],
    const struct tt_key_attrs *a, const uint8_t *psa, size_t psa_len, bool imported,
    struct tt_buf *ref)
{
	struct soft_key *k = NULL;
	struct tt_buf aad;
	size_t ref_start = ref->len;
	int r;

	tt_buf_init(&aad, SOFT_AAD_MAX);
	if ((r = tt_soft_key_parse(a->type, psa, psa_len, &k)) != 0)
		goto out;
	if (a->bits != 0 && k->bits != a->bits) {
		r = TT_ERR_INVALID_ARGUMENT;
		goto out;
	}
	if (imported && TT_KEY_TYPE_IS_RSA(a->type) &&
	    (r = tt_prov_rsa_check(k->pkey, TT_KEY_TYPE_IS_KEY_PAIR(a->type))) != 0)
		goto out;
	if ((r = tt_soft_aad(o, kid, a, &aad)) != 0 ||
	    (r = tt_soft_wrap(c, tt_buf_ptr(&aad), tt_buf_avail(&aad), psa, psa_len, ref)) != 0)
		goto out;
	if (c->cache != NULL)
		tt_soft_cache_put(c->cache, kid, tt_buf_ptr(&aad), tt_buf_avail(&aad),
		    ref->d + ref_start, ref->len - ref_start, k);
out:
	tt_soft_key_put(k);
	tt_buf_free(&aad);
	return r;
}

static int
soft_generate_key(void *ctx, const struct tt_key_owner *o, const uint8_t kid[TT_KEY_ID_LEN],
    const struct tt_key_attrs *a, struct tt_buf *ref)
{
	struct tt_buf psa;
	int r;

	tt_buf_init(&psa, SOFT_MAX_KEY_BYTES);
	tt_buf_set_secret(&psa);
	if ((r = tt_soft_key_generate(a->type, a->bits, &psa)) == 0)
		r = store_new(ctx, o, kid, a, tt_buf_ptr(&psa), tt_buf_avail(&psa), false, ref);
	tt_buf_free(&psa);
	return r;
}

static int
soft_import_key(void *ctx, const struct tt_key_owner *o, const uint8_t kid[TT_KEY_ID_LEN],
    const struct tt_key_attrs *a, const uint8_t *data, size_t len, struct tt_buf *ref)
{
	int r;

	if ((r = tt_soft_type_ok(a->type, a->bits, 1)) != 0)
		return r;
	return store_new(ctx, o, kid, a, data, len, true, ref);
}

static int
soft_destroy_key(void *ctx, const uint8_t kid[TT_KEY_ID_LEN], const uint8_t *ref, size_t ref_len)
{
	struct soft_ctx *c = ctx;

	(void)ref;
	(void)ref_len;
	/* The material lives only in the wrapped row, which the key store deletes. */
	if (c->cache != NULL)
		tt_soft_cache_drop(c->cache, kid);
	return 0;
}

static int
soft_export_public_key(void *ctx, const struct tt_key *k, struct tt_buf *out)
{
	struct soft_key *sk;
	int r;

	if (!TT_KEY_TYPE_IS_ASYMMETRIC(k->attrs.type))
		return TT_ERR_INVALID_ARGUMENT;
	if ((r = tt_soft_load(ctx, k, &sk)) != 0)
		return r;
	r = tt_soft_key_export_public(sk, out);
	tt_soft_key_put(sk);
	return r;
}

static int
soft_export_key(void *ctx, const struct tt_key *k, struct tt_buf *out)
{
	struct tt_buf psa;
	int r;

	/* The wrapped bytes already are the PSA export format. */
	tt_buf_init(&psa, SOFT_MAX_KEY_BYTES);
	tt_buf_set_secret(&psa);
	if (k->ref == NULL || k->ref_len == 0)
		r = TT_ERR_DATA_CORRUPT;
	else if ((r = tt_soft_unwrap_key(ctx, k, &psa)) == 0)
		r = tt_buf_put(out, tt_buf_ptr(&psa), tt_buf_avail(&psa));
	tt_buf_free(&psa);
	return r;
}

static const uint32_t soft_opcodes[] = {
	TT_OP_PSA_GENERATE_KEY,
	TT_OP_PSA_DESTROY_KEY,
	TT_OP_PSA_SIGN_HASH,
	TT_OP_PSA_VERIFY_HASH,
	TT_OP_PSA_IMPORT_KEY,
	TT_OP_PSA_EXPORT_PUBLIC_KEY,
	TT_OP_PSA_ASYMMETRIC_ENCRYPT,
	TT_OP_PSA_ASYMMETRIC_DECRYPT,
	TT_OP_PSA_EXPORT_KEY,
	TT_OP_PSA_GENERATE_RANDOM,
	TT_OP_PSA_HASH_COMPUTE,
	TT_OP_PSA_HASH_COMPARE,
	TT_OP_PSA_AEAD_ENCRYPT,
	TT_OP_PSA_AEAD_DECRYPT,
	TT_OP_PSA_RAW_KEY_AGREEMENT,
	TT_OP_PSA_CIPHER_ENCRYPT,
	TT_OP_PSA_CIPHER_DECRYPT,
	TT_OP_PSA_MAC_COMPUTE,
	TT_OP_PSA_MAC_VERIFY,
	TT_OP_PSA_SIGN_MESSAGE,
	TT_OP_PSA_VERIFY_MESSAGE,
	TT_OP_CAN_DO_CRYPTO,
};

const struct tt_provider_ops tt_soft_provider = {
	.abi = TT_PROVIDER_ABI,
	.name = "soft",
	.id = 1,
	.uuid = "1c1139dc-ad7c-47dc-ad6b-db6fdb466552",
	.description = "Software provider (OpenSSL 3)",
	.vendor = "Turtle",
	.version_maj = 0,
	.version_min = 1,
	.version_rev = 0,
	.opcodes = soft_opcodes,
	.n_opcodes = sizeof(soft_opcodes) / sizeof(soft_opcodes[0]),
	.init = soft_init,
	.fini = soft_fini,
	.can_do = soft_can_do,
	.generate_key = soft_generate_key,
	.import_key = soft_import_key,
	.destroy_key = soft_destroy_key,
	.export_public_key = soft_export_public_key,
	.export_key = soft_export_key,
	.sign_hash = tt_soft_sign_hash,
	.verify_hash = tt_soft_verify_hash,
	.sign_message = NULL,     /* the op layer hashes and calls sign_hash */
	.verify_message = NULL,
	.asymmetric_encrypt = tt_soft_asym_encrypt,
	.asymmetric_decrypt = tt_soft_asym_decrypt,
	.aead_encrypt = tt_soft_aead_encrypt,
	.aead_decrypt = tt_soft_aead_decrypt,
	.cipher_encrypt = tt_soft_cipher_encrypt,
	.cipher_decrypt = tt_soft_cipher_decrypt,
	.mac_compute = tt_soft_mac_compute,
	.mac_verify = tt_soft_mac_verify,
	.raw_key_agreement = tt_soft_raw_key_agreement,
	.generate_random = tt_soft_generate_random,
	.hash_compute = tt_soft_hash_compute,
};
