/*
 * Resources sealed at rest: AES-256-GCM under one data key of turtle-as.
 *
 * A sealed blob is
 *
 *     version (1 byte, TT_AS_SEAL_V1) || nonce (12 bytes, random) || ciphertext || tag (16)
 *
 * and its additional authenticated data is the version byte followed by the resource path
 * (no terminator), so a blob copied to another path, or relabelled with another version,
 * does not open. The ciphertext is as long as the plaintext.
 *
 * The data key is 32 random bytes in a file of its own (<data-dir>/resource.key, mode
 * 0600), kept out of the database so that a copy of as.db alone reveals nothing.
 */
#ifndef TT_AS_SEAL_H
#define TT_AS_SEAL_H

#include <stddef.h>
#include <stdint.h>

#define TT_AS_SEAL_KEY_LEN 32u
#define TT_AS_SEAL_V1 0x01u
#define TT_AS_SEAL_NONCE_LEN 12u
#define TT_AS_SEAL_TAG_LEN 16u
#define TT_AS_SEAL_OVERHEAD (1u + TT_AS_SEAL_NONCE_LEN + TT_AS_SEAL_TAG_LEN)
/* Largest plaintext sealed (the store's blobs are bound by an int length). */
#define TT_AS_SEAL_MAX ((size_t)1 << 30)

/* Seal n bytes of pt for the resource `path`. On success *blob (malloc'd, n +
 * TT_AS_SEAL_OVERHEAD bytes, not secret) is the caller's to free. TT_ERR_INVALID_ARGUMENT
 * for an over-long input, TT_ERR_INSUFFICIENT_ENTROPY if no nonce could be drawn,
 * TT_ERR_GENERIC for an OpenSSL failure. */
int tt_as_seal(const uint8_t key[TT_AS_SEAL_KEY_LEN], const char *path, const uint8_t *pt,
	size_t n, uint8_t **blob, size_t *blob_len);

/* Open a blob sealed for `path`. On success *pt (tt_malloc'd, *n bytes; valid even for
 * n == 0) holds the plaintext: the caller wipes and frees it (tt_free_secret).
 * TT_ERR_DATA_CORRUPT when the blob is too short, has an unknown version byte, or does
 * not authenticate (wrong key, wrong path, any changed byte); nothing is returned then. */
int tt_as_unseal(const uint8_t key[TT_AS_SEAL_KEY_LEN], const char *path, const uint8_t *blob,
	size_t len, uint8_t **pt, size_t *n);

/* Read the data key from `path`: a regular file (not a symlink) of exactly
 * TT_AS_SEAL_KEY_LEN bytes that group and others cannot access. TT_ERR_DOES_NOT_EXIST
 * when there is no such file; TT_ERR_CONFIG (logged with the reason) when it is
 * unusable. */
int tt_as_seal_key_load(const char *path, uint8_t key[TT_AS_SEAL_KEY_LEN]);

/* Create a fresh data key at `path` (mode 0600), durably: written and fsync'ed under a
 * temporary name, then linked into place, which fails if `path` exists, so an existing
 * key is never replaced (TT_ERR_ALREADY_EXISTS) and a crash never leaves a short key. */
int tt_as_seal_key_create(const char *path, uint8_t key[TT_AS_SEAL_KEY_LEN]);

/* A non-secret identifier of a key (SHA-256 over a label and the key), stored next to the
 * sealed rows so that a wrong key file is refused at start rather than at the first
 * release. */
int tt_as_seal_key_id(const uint8_t key[TT_AS_SEAL_KEY_LEN], uint8_t id[32]);

#endif
