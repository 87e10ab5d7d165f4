/*
 * AES-256-GCM sealing of resources at rest (contract in seal.h).
 *
 * GCM with a random 96-bit nonce: a resource is rewritten at most a few times per second
 * by an administrator, so the 2^32 messages per key that random nonces allow are far
 * away. The version byte is authenticated with the path so that a later format cannot be
 * confused with this one.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "seal.h"
#include "turtle/error.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/mem.h"

/* Feed the AAD (version byte || path) into an initialised GCM context. */
static int
put_aad(EVP_CIPHER_CTX *x, const char *path)
{
	static const unsigned char ver = TT_AS_SEAL_V1;
	size_t pl = strlen(path);
	int outl;

	if (pl > INT_MAX)
		return TT_ERR_INVALID_ARGUMENT;
	if (EVP_CipherUpdate(x, NULL, &outl, &ver, 1) != 1 ||
	    (pl != 0 && EVP_CipherUpdate(x, NULL, &outl, (const unsigned char *)path, (int)pl) != 1))
		return TT_ERR_GENERIC;
	return 0;
}

int
tt_as_seal(const uint8_t key[TT_AS_SEAL_KEY_LEN], const char *path, const uint8_t *pt,
	size_t n, uint8_t **blob, size_t *blob_len)
{
	EVP_CIPHER_CTX *x = NULL;
	uint8_t *b = NULL, *nonce, *ct;
	int outl = 0, fin = 0, r = TT_ERR_GENERIC;

	if (n > TT_AS_SEAL_MAX)
		return TT_ERR_INVALID_ARGUMENT;
	if ((b = malloc(n + TT_AS_SEAL_OVERHEAD)) == NULL)
		return TT_ERR_NO_MEMORY;
	b[0] = TT_AS_SEAL_V1;
	nonce = b + 1;
	ct = nonce + TT_AS_SEAL_NONCE_LEN;
	if (RAND_bytes(nonce, TT_AS_SEAL_NONCE_LEN) != 1) {
		r = TT_ERR_INSUFFICIENT_ENTROPY;
		goto out;
	}
	if ((x = EVP_CIPHER_CTX_new()) == NULL) {
		r = TT_ERR_NO_MEMORY;
		goto out;
	}
	/* 12 bytes is GCM's default IV length: no EVP_CTRL_GCM_SET_IVLEN needed. */
	if (EVP_EncryptInit_ex2(x, EVP_aes_256_gcm(), key, nonce, NULL) != 1)
		goto out;
	if ((r = put_aad(x, path)) != 0)
		goto out;
	r = TT_ERR_GENERIC;
	if (n != 0 && EVP_EncryptUpdate(x, ct, &outl, pt, (int)n) != 1)
		goto out;
	if (EVP_EncryptFinal_ex(x, ct + outl, &fin) != 1 || (size_t)outl + (size_t)fin != n)
		goto out;
	if (EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_GET_TAG, TT_AS_SEAL_TAG_LEN, ct + n) != 1)
		goto out;
	*blob = b;
	*blob_len = n + TT_AS_SEAL_OVERHEAD;
	b = NULL;
	r = 0;
out:
	EVP_CIPHER_CTX_free(x);
	/* A failed seal may have left plaintext-derived bytes behind. */
	tt_free_secret(b, n + TT_AS_SEAL_OVERHEAD);
	return r;
}

int
tt_as_unseal(const uint8_t key[TT_AS_SEAL_KEY_LEN], const char *path, const uint8_t *blob,
	size_t len, uint8_t **pt, size_t *n)
{
	struct tt_buf in;
	EVP_CIPHER_CTX *x = NULL;
	const uint8_t *nonce, *ct, *tag;
	uint8_t ver, *out = NULL;
	size_t cl = 0;
	int outl = 0, fin = 0, r = TT_ERR_DATA_CORRUPT;

	tt_buf_init_ro(&in, blob, len);
	if (tt_buf_get_u8(&in, &ver) != 0 || ver != TT_AS_SEAL_V1)
		return TT_ERR_DATA_CORRUPT;
	if (tt_buf_get_ref(&in, TT_AS_SEAL_NONCE_LEN, &nonce) != 0 ||
	    tt_buf_avail(&in) < TT_AS_SEAL_TAG_LEN)
		return TT_ERR_DATA_CORRUPT;
	cl = tt_buf_avail(&in) - TT_AS_SEAL_TAG_LEN;
	if (cl > TT_AS_SEAL_MAX || tt_buf_get_ref(&in, cl, &ct) != 0 ||
	    tt_buf_get_ref(&in, TT_AS_SEAL_TAG_LEN, &tag) != 0 || tt_buf_expect_end(&in) != 0)
		return TT_ERR_DATA_CORRUPT;
	if ((out = tt_malloc(cl)) == NULL)
		return TT_ERR_NO_MEMORY;
	if ((x = EVP_CIPHER_CTX_new()) == NULL) {
		r = TT_ERR_NO_MEMORY;
		goto out;
	}
	r = TT_ERR_GENERIC;
	if (EVP_DecryptInit_ex2(x, EVP_aes_256_gcm(), key, nonce, NULL) != 1)
		goto out;
	if ((r = put_aad(x, path)) != 0)
		goto out;
	r = TT_ERR_GENERIC;
	if (cl != 0 && EVP_DecryptUpdate(x, out, &outl, ct, (int)cl) != 1)
		goto out;
	if (EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_SET_TAG, TT_AS_SEAL_TAG_LEN, (void *)tag) != 1)
		goto out;
	/* The tag check: any other key, path or byte fails here. */
	if (EVP_DecryptFinal_ex(x, out + outl, &fin) != 1 || (size_t)outl + (size_t)fin != cl) {
		r = TT_ERR_DATA_CORRUPT;
		goto out;
	}
	*pt = out;
	*n = cl;
	out = NULL;
	r = 0;
out:
	EVP_CIPHER_CTX_free(x);
	tt_free_secret(out, cl);
	return r;
}

int
tt_as_seal_key_load(const char *path, uint8_t key[TT_AS_SEAL_KEY_LEN])
{
	uint8_t buf[TT_AS_SEAL_KEY_LEN + 1];
	struct stat sb;
	size_t off = 0;
	ssize_t k = 0;
	int fd, r = TT_ERR_CONFIG;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		if (errno == ENOENT)
			return TT_ERR_DOES_NOT_EXIST;
		tt_err_log("as: cannot open resource key %s: %s", path, strerror(errno));
		return TT_ERR_CONFIG;
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || (sb.st_mode & 077) != 0) {
		tt_err_log("as: resource key %s must be a regular file of mode 0600", path);
		goto out;
	}
	/* One byte more than a key, so that a longer file is noticed. */
	while (off < sizeof(buf) && (k = read(fd, buf + off, sizeof(buf) - off)) > 0)
		off += (size_t)k;
	if (k < 0) {
		tt_err_log("as: cannot read resource key %s: %s", path, strerror(errno));
		goto out;
	}
	if (off != TT_AS_SEAL_KEY_LEN) {
		tt_err_log("as: resource key %s is not %u bytes long", path, TT_AS_SEAL_KEY_LEN);
		goto out;
	}
	memcpy(key, buf, TT_AS_SEAL_KEY_LEN);
	r = 0;
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	close(fd);
	return r;
}

/* fsync the directory that holds `path`, so that a new name in it is durable. */
static int
sync_parent(const char *path)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');
	size_t dl;
	int fd, r = 0;

	if (slash == NULL) {
		dir[0] = '.';
		dl = 1;
	} else {
		dl = slash == path ? 1 : (size_t)(slash - path);
		if (dl >= sizeof(dir))
			return TT_ERR_CONFIG;
		memcpy(dir, path, dl);
	}
	dir[dl] = '\0';
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return TT_ERR_IO;
	if (fsync(fd) != 0)
		r = TT_ERR_IO;
	close(fd);
	return r;
}

int
tt_as_seal_key_create(const char *path, uint8_t key[TT_AS_SEAL_KEY_LEN])
{
	uint8_t k[TT_AS_SEAL_KEY_LEN];
	char tmp[4096];
	size_t off = 0;
	ssize_t w;
	int fd = -1, n, r = TT_ERR_IO;
	bool made = false;

	n = snprintf(tmp, sizeof(tmp), "%s.new", path);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return TT_ERR_CONFIG;
	if (RAND_priv_bytes(k, sizeof(k)) != 1)
		return TT_ERR_INSUFFICIENT_ENTROPY;
	/* A leftover from a crash before the link holds a key nothing was sealed with. */
	(void)unlink(tmp);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0) {
		tt_err_log("as: cannot create %s: %s", tmp, strerror(errno));
		goto out;
	}
	made = true;
	while (off < sizeof(k)) {
		if ((w = write(fd, k + off, sizeof(k) - off)) < 0) {
			if (errno == EINTR)
				continue;
			tt_err_log("as: cannot write %s: %s", tmp, strerror(errno));
			goto out;
		}
		off += (size_t)w;
	}
	if (fsync(fd) != 0) {
		tt_err_log("as: cannot sync %s: %s", tmp, strerror(errno));
		goto out;
	}
	/* link() never replaces: two starters racing on one data dir end with one key. */
	if (link(tmp, path) != 0) {
		r = errno == EEXIST ? TT_ERR_ALREADY_EXISTS : TT_ERR_IO;
		if (r == TT_ERR_IO)
			tt_err_log("as: cannot create %s: %s", path, strerror(errno));
		goto out;
	}
	if ((r = sync_parent(path)) != 0) {
		tt_err_log("as: cannot sync the directory of %s", path);
		goto out;
	}
	memcpy(key, k, sizeof(k));
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	if (made)
		(void)unlink(tmp);
	OPENSSL_cleanse(k, sizeof(k));
	return r;
}

int
tt_as_seal_key_id(const uint8_t key[TT_AS_SEAL_KEY_LEN], uint8_t id[32])
{
	static const char label[] = "turtle-as resource key id v1";
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	unsigned dl = 0;
	int r = TT_ERR_GENERIC;

	if (m == NULL)
		return TT_ERR_NO_MEMORY;
	if (EVP_DigestInit_ex(m, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(m, label, sizeof(label)) == 1 &&
	    EVP_DigestUpdate(m, key, TT_AS_SEAL_KEY_LEN) == 1 &&
	    EVP_DigestFinal_ex(m, id, &dl) == 1 && dl == 32)
		r = 0;
	EVP_MD_CTX_free(m);
	return r;
}
