/*
 * The signing-key directory: one active private JWK and the public halves of retired
 * keys, published together as a JWKS. Writers take an flock on the directory so two
 * turtle-as processes sharing it cannot rotate at the same time; readers need no lock
 * because every file is replaced by rename.
 *
 * Within a process, signing threads and a rotation meet at a rwlock: signing and the
 * JWKS read the active key under the read lock, load() swaps it under the write lock.
 * Writers (reload, rotate) are serialised by a mutex first: flock() does not exclude
 * threads sharing one open file description, and a rotation reads the active key and the
 * retired list outside the rwlock, which is only safe while no other writer runs.
 * The active key is kept as an EVP_PKEY as well as its JWK, so a signature costs one
 * ECDSA operation instead of rebuilding the key from the JWK every time.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jose/jose.h>
#include <jose/openssl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "ear.h"
#include "internal.h"
#include "turtle/error.h"
#include "util/log.h"

#define ACTIVE_FILE   "active.jwk"
#define RETIRED_FILE  "retired.jwks"
#define RETIRED_AT    "turtle.retired"
#define FILE_MAX      (1024u * 1024u)
#define RSA_BITS      3072

struct tt_ear_keys {
	int dirfd;
	char *alg;
	uint32_t max_life;
	json_t *active;       /* private JWK with kid, alg, use */
	EVP_PKEY *active_pk;  /* the same key, ready to sign */
	json_t *retired;      /* array of public JWKs with RETIRED_AT */
	pthread_rwlock_t *lk; /* a pointer so that const readers can take it */
	pthread_mutex_t *wmu; /* one writer (load/rotate) at a time in this process */
};

static int
read_json(int dirfd, const char *name, bool secret, json_t **out)
{
	struct stat st;
	char *b = NULL;
	size_t got = 0;
	ssize_t n;
	json_t *j = NULL;
	int fd, r;

	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? TT_ERR_DOES_NOT_EXIST : TT_ERR_IO;
	r = TT_ERR_IO;
	if (fstat(fd, &st) != 0)
		goto out;
	r = TT_ERR_CONFIG;
	if (!S_ISREG(st.st_mode) || st.st_size < 0 || (uint64_t)st.st_size > FILE_MAX) {
		tt_err_log("ear keys: %s is not a regular file of sane size", name);
		goto out;
	}
	/* A private key others can read has leaked already; refuse to keep using it. */
	if (secret && ((st.st_mode & 077) != 0 || st.st_uid != geteuid())) {
		tt_err_log("ear keys: %s must be owned by us with mode 0600", name);
		goto out;
	}
	r = TT_ERR_NO_MEMORY;
	if ((b = malloc((size_t)st.st_size + 1)) == NULL)
		goto out;
	while (got < (size_t)st.st_size) {
		n = read(fd, b + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = TT_ERR_IO;
			goto out;
		}
		got += (size_t)n;
	}
	r = TT_ERR_DATA_INVALID;
	if ((j = json_loadb(b, got, JSON_REJECT_DUPLICATES, NULL)) == NULL ||
	    !json_is_object(j)) {
		tt_err_log("ear keys: %s is not a JSON object", name);
		goto out;
	}
	*out = j;
	j = NULL;
	r = 0;
out:
	if (b != NULL) {
		OPENSSL_cleanse(b, got);
		free(b);
	}
	json_decref(j);
	close(fd);
	return r;
}

/* Write name atomically: temp file (O_EXCL, 0600), fsync, then rename or, with
 * no_replace, link (which fails with EEXIST if another writer won). */
static int
write_json(int dirfd, const char *name, const json_t *j, bool no_replace)
{
	char tmp[64], rnd[8], *text = NULL;
	size_t len, off = 0;
	ssize_t n;
	int fd = -1, r = TT_ERR_IO, i;

	if (RAND_bytes((unsigned char *)rnd, sizeof(rnd)) != 1)
		return TT_ERR_INSUFFICIENT_ENTROPY;
	len = (size_t)snprintf(tmp, sizeof(tmp), ".tmp.");
	for (i = 0; i < (int)sizeof(rnd); i++)
		len += (size_t)snprintf(tmp + len, sizeof(tmp) - len, "%02x", (unsigned char)rnd[i]);
	if ((text = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS)) == NULL)
		return TT_ERR_NO_MEMORY;
	len = strlen(text);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		goto out;
	while (off < len) {
		n = write(fd, text + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto out;
		off += (size_t)n;
	}
	if (fsync(fd) != 0)
		goto out;
	if (no_replace) {
		if (linkat(dirfd, tmp, dirfd, name, 0) != 0) {
			r = errno == EEXIST ? TT_ERR_ALREADY_EXISTS : TT_ERR_IO;
			goto out;
		}
	} else if (renameat(dirfd, tmp, dirfd, name) != 0) {
		goto out;
	}
	r = 0;
	(void)fsync(dirfd);
out:
	if (fd >= 0) {
		close(fd);
		(void)unlinkat(dirfd, tmp, 0);   /* no-op after a rename */
	}
	if (text != NULL) {
		OPENSSL_cleanse(text, len);
		free(text);
	}
	return r;
}

static int
gen_key(const char *alg, json_t **out)
{
	jose_cfg_t *cfg = NULL;   /* NULL: libjose defaults */
	EVP_PKEY *pk = NULL;
	json_t *jwk = NULL, *thp = NULL;
	int r = TT_ERR_GENERIC;

	if (strcmp(alg, "ES256") == 0)
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	else if (strcmp(alg, "ES384") == 0)
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	else if (strcmp(alg, "RS256") == 0 || strcmp(alg, "PS256") == 0)
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)RSA_BITS);
	else
		return TT_ERR_NOT_SUPPORTED;
	if (pk == NULL)
		goto out;
	if ((jwk = jose_openssl_jwk_from_EVP_PKEY(cfg, pk)) == NULL)
		goto out;
	/* RFC 7638: the thumbprint covers only the required public members, so it is the
	 * same for the private JWK and the published public one. */
	if ((thp = jose_jwk_thp(cfg, jwk, "S256")) == NULL || !json_is_string(thp))
		goto out;
	r = TT_ERR_NO_MEMORY;
	if (json_object_set(jwk, "kid", thp) != 0 ||
	    json_object_set_new(jwk, "alg", json_string(alg)) != 0 ||
	    json_object_set_new(jwk, "use", json_string("sig")) != 0)
		goto out;
	*out = jwk;
	jwk = NULL;
	r = 0;
out:
	json_decref(thp);
	tt_ear_jwk_free(jwk);
	EVP_PKEY_free(pk);
	return r;
}

static json_t *
public_of(const json_t *priv)
{
	json_t *p = json_deep_copy(priv);

	if (p == NULL || !jose_jwk_pub(NULL, p)) {
		json_decref(p);
		return NULL;
	}
	return p;
}

static int
load(struct tt_ear_keys *k)
{
	json_t *a = NULL, *ret = NULL, *old_a, *old_ret;
	EVP_PKEY *pk = NULL, *old_pk;
	const char *alg;
	int r;

	if ((r = read_json(k->dirfd, ACTIVE_FILE, true, &a)) != 0)
		return r;
	alg = json_string_value(json_object_get(a, "alg"));
	if (!tt_ear_sig_alg_allowed(alg) || !json_is_string(json_object_get(a, "kid")) ||
	    !json_is_string(json_object_get(a, "d"))) {
		tt_err_log("ear keys: %s lacks alg/kid/d", ACTIVE_FILE);
		tt_ear_jwk_free(a);
		return TT_ERR_DATA_INVALID;
	}
	r = read_json(k->dirfd, RETIRED_FILE, false, &ret);
	if (r == TT_ERR_DOES_NOT_EXIST)
		r = (ret = json_pack("{s:[]}", "keys")) ? 0 : TT_ERR_NO_MEMORY;
	if (r == 0 && !json_is_array(json_object_get(ret, "keys")))
		r = TT_ERR_DATA_INVALID;
	if (r == 0 && ((pk = jose_openssl_jwk_to_EVP_PKEY(NULL, a)) == NULL ||
	    tt_ear_jws_key_check(pk, alg) != 0)) {
		tt_err_log("ear keys: %s is not a usable %s private key", ACTIVE_FILE, alg);
		EVP_PKEY_free(pk);
		pk = NULL;
		r = TT_ERR_DATA_INVALID;
	}
	if (r != 0) {
		tt_ear_jwk_free(a);
		json_decref(ret);
		return r;
	}
	pthread_rwlock_wrlock(k->lk);
	old_a = k->active;
	old_ret = k->retired;
	old_pk = k->active_pk;
	k->active = a;
	k->active_pk = pk;
	k->retired = json_incref(json_object_get(ret, "keys"));
	pthread_rwlock_unlock(k->lk);
	tt_ear_jwk_free(old_a);
	json_decref(old_ret);
	EVP_PKEY_free(old_pk);
	json_decref(ret);
	return 0;
}

/* Retired keys past their publication window are of no use to any verifier. */
static json_t *
unexpired(const json_t *retired, uint32_t max_life, uint64_t now)
{
	json_t *keep = json_array(), *e;
	size_t i;

	if (keep == NULL)
		return NULL;
	json_array_foreach((json_t *)retired, i, e) {
		json_int_t at = json_integer_value(json_object_get(e, RETIRED_AT));

		/* A copy, not a reference: JWKS requests run this concurrently under the read
		 * lock, and jansson's reference counts are not meant for sharing. */
		if (at >= 0 && (uint64_t)at + max_life >= now &&
		    json_array_append_new(keep, json_deep_copy(e)) != 0) {
			json_decref(keep);
			return NULL;
		}
	}
	return keep;
}

static int
rotate_locked(struct tt_ear_keys *k, uint64_t now, bool first)
{
	json_t *nk = NULL, *ret = NULL, *keep = NULL, *pub = NULL;
	int r;

	if ((r = gen_key(k->alg, &nk)) != 0)
		return r;
	if (first) {
		r = write_json(k->dirfd, ACTIVE_FILE, nk, true);
		if (r == TT_ERR_ALREADY_EXISTS)
			r = 0;   /* another process created it first: use theirs */
		goto out;
	}
	r = TT_ERR_NO_MEMORY;
	if ((keep = unexpired(k->retired, k->max_life, now)) == NULL ||
	    (pub = public_of(k->active)) == NULL ||
	    json_object_set_new(pub, RETIRED_AT, json_integer((json_int_t)now)) != 0 ||
	    json_array_append(keep, pub) != 0 ||
	    (ret = json_pack("{s:O}", "keys", keep)) == NULL)
		goto out;
	/* Retired list first: a crash between the two writes leaves the old key both
	 * active and retired, which verifies everything; the other order could lose it. */
	if ((r = write_json(k->dirfd, RETIRED_FILE, ret, false)) != 0 ||
	    (r = write_json(k->dirfd, ACTIVE_FILE, nk, false)) != 0)
		goto out;
out:
	json_decref(ret);
	json_decref(pub);
	json_decref(keep);
	tt_ear_jwk_free(nk);
	if (r == 0)
		r = load(k);
	return r;
}

int
tt_ear_keys_open(const char *dir, const struct tt_ear_keys_opts *opts, uint64_t now,
	struct tt_ear_keys **out)
{
	struct tt_ear_keys *k;
	struct stat st;
	const char *alg = opts && opts->alg ? opts->alg : "ES256";
	int r;

	(void)now;
	if (dir == NULL || !tt_ear_sig_alg_allowed(alg))
		return TT_ERR_INVALID_ARGUMENT;
	if ((k = calloc(1, sizeof(*k))) == NULL)
		return TT_ERR_NO_MEMORY;
	k->dirfd = -1;
	if ((k->lk = malloc(sizeof(*k->lk))) == NULL ||
	    (k->wmu = malloc(sizeof(*k->wmu))) == NULL) {
		free(k->lk);
		free(k);
		return TT_ERR_NO_MEMORY;
	}
	pthread_rwlock_init(k->lk, NULL);
	pthread_mutex_init(k->wmu, NULL);
	k->max_life = opts && opts->max_token_lifetime ? opts->max_token_lifetime :
	    TT_EAR_MAX_LIFETIME;
	r = TT_ERR_NO_MEMORY;
	if ((k->alg = strdup(alg)) == NULL)
		goto out;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		tt_err_log("ear keys: mkdir %s: %s", dir, strerror(errno));
		r = TT_ERR_IO;
		goto out;
	}
	r = TT_ERR_IO;
	if ((k->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)) < 0 ||
	    fstat(k->dirfd, &st) != 0)
		goto out;
	if ((st.st_mode & 077) != 0 || st.st_uid != geteuid()) {
		tt_err_log("ear keys: %s must be ours with mode 0700", dir);
		r = TT_ERR_CONFIG;
		goto out;
	}
	r = load(k);
	if (r == TT_ERR_DOES_NOT_EXIST) {
		if (flock(k->dirfd, LOCK_EX) != 0) {
			r = TT_ERR_IO;
			goto out;
		}
		r = rotate_locked(k, now, true);
		(void)flock(k->dirfd, LOCK_UN);
	}
	if (r != 0)
		goto out;
	*out = k;
	k = NULL;
out:
	tt_ear_keys_free(k);
	return r;
}

void
tt_ear_keys_free(struct tt_ear_keys *k)
{
	if (k == NULL)
		return;
	tt_ear_jwk_free(k->active);
	EVP_PKEY_free(k->active_pk);
	json_decref(k->retired);
	if (k->dirfd >= 0)
		close(k->dirfd);
	pthread_rwlock_destroy(k->lk);
	pthread_mutex_destroy(k->wmu);
	free(k->lk);
	free(k->wmu);
	free(k->alg);
	free(k);
}

int
tt_ear_keys_reload(struct tt_ear_keys *k, uint64_t now)
{
	int r;

	(void)now;
	pthread_mutex_lock(k->wmu);
	r = load(k);
	pthread_mutex_unlock(k->wmu);
	return r;
}

int
tt_ear_keys_rotate(struct tt_ear_keys *k, uint64_t now, char *kid_out, size_t kid_len)
{
	int r = TT_ERR_IO, n;

	pthread_mutex_lock(k->wmu);
	if (flock(k->dirfd, LOCK_EX) == 0) {
		/* Rotate what is on disk now, not what we read earlier. */
		if ((r = load(k)) == 0)
			r = rotate_locked(k, now, false);
		(void)flock(k->dirfd, LOCK_UN);
	}
	/* Still the only writer: the active kid is the one this rotation made. */
	if (r == 0 && kid_out != NULL) {
		n = snprintf(kid_out, kid_len, "%s", tt_ear_keys_kid(k));
		if (n < 0 || (size_t)n >= kid_len)
			r = TT_ERR_BUFFER_TOO_SMALL;
	}
	pthread_mutex_unlock(k->wmu);
	return r;
}

const char *
tt_ear_keys_kid(const struct tt_ear_keys *k)
{
	return json_string_value(json_object_get(k->active, "kid"));
}

int
tt_ear_keys_kid_copy(const struct tt_ear_keys *k, char *buf, size_t len)
{
	const char *kid;
	int n;

	pthread_rwlock_rdlock(k->lk);
	kid = tt_ear_keys_kid(k);
	n = snprintf(buf, len, "%s", kid != NULL ? kid : "");
	pthread_rwlock_unlock(k->lk);
	return n < 0 || (size_t)n >= len ? TT_ERR_BUFFER_TOO_SMALL : 0;
}

static int jwks_locked(const struct tt_ear_keys *k, uint64_t now, json_t **jwks_out);

int
tt_ear_keys_jwks(const struct tt_ear_keys *k, uint64_t now, json_t **jwks_out)
{
	int r;

	pthread_rwlock_rdlock(k->lk);
	r = jwks_locked(k, now, jwks_out);
	pthread_rwlock_unlock(k->lk);
	return r;
}

static int
jwks_locked(const struct tt_ear_keys *k, uint64_t now, json_t **jwks_out)
{
	json_t *jwks = NULL, *arr, *keep = NULL, *e, *pub = NULL;
	const char *akid = tt_ear_keys_kid(k);
	size_t i;
	int r = TT_ERR_NO_MEMORY;

	if ((jwks = json_pack("{s:[]}", "keys")) == NULL ||
	    (keep = unexpired(k->retired, k->max_life, now)) == NULL ||
	    (pub = public_of(k->active)) == NULL)
		goto out;
	arr = json_object_get(jwks, "keys");
	if (json_array_append(arr, pub) != 0)
		goto out;
	json_array_foreach(keep, i, e) {
		const char *kid = json_string_value(json_object_get(e, "kid"));
		json_t *c;

		if (kid == NULL || strcmp(kid, akid) == 0)
			continue;
		if ((c = json_deep_copy(e)) == NULL)
			goto out;
		json_object_del(c, RETIRED_AT);
		if (json_array_append_new(arr, c) != 0)
			goto out;
	}
	*jwks_out = jwks;
	jwks = NULL;
	r = 0;
out:
	json_decref(pub);
	json_decref(keep);
	json_decref(jwks);
	return r;
}

int
tt_ear_keys_jwks_text(const struct tt_ear_keys *k, uint64_t now, char **text_out)
{
	json_t *j = NULL;
	char *s;
	int r;

	if ((r = tt_ear_keys_jwks(k, now, &j)) != 0)
		return r;
	s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (s == NULL)
		return TT_ERR_NO_MEMORY;
	*text_out = s;
	return 0;
}

int
tt_ear_sign_claims(const struct tt_ear_keys *k, const json_t *claims, char **token_out)
{
	int r;

	pthread_rwlock_rdlock(k->lk);
	r = tt_ear_jws_sign(k->active_pk, json_string_value(json_object_get(k->active, "alg")),
		tt_ear_keys_kid(k), claims, token_out);
	pthread_rwlock_unlock(k->lk);
	return r;
}

int
tt_ear_sign(const struct tt_ear_keys *k, const struct tt_ear_result *res, uint64_t now,
	char **token_out)
{
	json_t *c = NULL;
	int r;

	if ((r = tt_ear_build(res, now, &c)) != 0)
		return r;
	r = tt_ear_sign_claims(k, c, token_out);
	json_decref(c);
	return r;
}
