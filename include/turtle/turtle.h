/*
 * libturtle: the public C client of turtled (PARSEC wire protocol 1.0, PSA Crypto).
 *
 * Contracts that hold for every function below unless its comment says otherwise:
 *
 * - Return value: 0 on success or a negative enum tt_err (turtle/error.h). A status sent
 *   by the service is converted with tt_err_from_status(), so e.g. a missing key comes
 *   back as TT_ERR_DOES_NOT_EXIST. Local failures are TT_ERR_IO (errno kept), TT_ERR_EOF,
 *   TT_ERR_TIMEOUT, TT_ERR_CONFIG, TT_ERR_NO_MEMORY, TT_ERR_INVALID_ARGUMENT (bad
 *   argument, e.g. a NULL key name) and TT_ERR_PROTOCOL (the service broke the protocol:
 *   bad magic/version, body longer than the response limit, echoed opcode differs,
 *   undecodable body).
 * - Output buffers: byte outputs are returned as (uint8_t **out, size_t *out_len), freshly
 *   malloc'd; the caller releases them with tt_free(), or with tt_free_secret(p, len) for
 *   outputs that are secret (exported private keys, decrypted plaintext, shared secrets,
 *   random bytes used as keys). Out-parameters are written only on success; on failure
 *   *out is left untouched.
 * - Lists are returned as arrays of plain structs with a count and released with the
 *   list's own *_free(array, count) function (NULL-safe).
 * - Key names are NUL-terminated UTF-8 strings, scoped by the service to the calling
 *   client's identity.
 * - Threads: a struct tt_client may be shared by any number of threads. Requests are
 *   serialised by a mutex inside the client (one request in flight per connection), so
 *   concurrent callers wait for each other; open one client per thread for parallelism.
 *   A client must not be used in a child after fork(); open a new one there.
 * - Connection: one Unix-socket connection is opened by tt_client_open() and reused for
 *   every request. If the service closed it while idle, the library reconnects once,
 *   transparently, before sending the next request. A request that was already sent is
 *   never re-sent (operations are not all idempotent).
 */
#ifndef TURTLE_TURTLE_H
#define TURTLE_TURTLE_H

#include <stddef.h>
#include <stdint.h>

#include "turtle/error.h"
#include "turtle/psa.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TT_CLIENT_DEFAULT_SOCKET   "/run/turtle/turtled.sock"
#define TT_CLIENT_DEFAULT_TIMEOUT_MS 60000u
#define TT_CLIENT_DEFAULT_MAX_RESPONSE (4u * 1024u * 1024u)

/* Provider ids as PARSEC numbers them (the header's provider field). */
#define TT_CLIENT_PROVIDER_AUTO   0   /* opts value: ask the service (ListProviders) */
#define TT_CLIENT_PROVIDER_CORE   0
#define TT_CLIENT_PROVIDER_SOFT   1
#define TT_CLIENT_PROVIDER_PKCS11 2
#define TT_CLIENT_PROVIDER_TPM    3

/* How the client proves who it is. */
enum tt_client_auth {
	TT_CLIENT_AUTH_UNIX_PEER = 0, /* default: the service reads SO_PEERCRED; the request
	                                 carries geteuid() as a 4-byte little-endian value */
	TT_CLIENT_AUTH_DIRECT = 1,    /* app_name sent as the identity (trusted setups only) */
	TT_CLIENT_AUTH_NONE = 2,      /* no authentication: core operations only */
};

/*
 * Options for tt_client_open. A zero-initialised struct (or a NULL pointer) means all
 * defaults; every field's zero value is its default.
 */
struct tt_client_opts {
	/* Socket path. NULL: $TURTLE_SOCKET if set and non-empty, else
	 * $PARSEC_SERVICE_ENDPOINT which must be "unix:PATH", else TT_CLIENT_DEFAULT_SOCKET. */
	const char *socket_path;
	enum tt_client_auth auth;
	const char *app_name;       /* required (non-empty) for TT_CLIENT_AUTH_DIRECT */
	/* Provider for key and crypto operations; TT_CLIENT_PROVIDER_AUTO (0) asks the service
	 * on first use and takes the first provider it lists that is not the core provider. */
	uint8_t provider;
	unsigned timeout_ms;        /* per request, covers send + receive; 0: default */
	size_t max_response;        /* largest response body accepted; 0: default */
};

struct tt_client;

/* Resolve the socket path as described for tt_client_opts.socket_path without opening
 * anything. Writes a NUL-terminated path into out (size outsz). TT_ERR_CONFIG for a
 * PARSEC_SERVICE_ENDPOINT that is not unix:PATH or a path that does not fit a Unix
 * socket address; TT_ERR_LIMIT if outsz is too small. */
int tt_client_socket_path(const char *explicit_path, char *out, size_t outsz);

/* Connect to the service. On success *out is a client to release with tt_client_close. */
int tt_client_open(struct tt_client **out, const struct tt_client_opts *opts);
/* Close the connection and free the client; NULL-safe. No call may be in progress. */
void tt_client_close(struct tt_client *c);
/* The socket path in use (owned by the client). */
const char *tt_client_socket(const struct tt_client *c);
/* The provider used for key/crypto operations, resolving AUTO through ListProviders. */
int tt_client_provider(struct tt_client *c, uint8_t *id);
/* Change the provider for later calls (TT_CLIENT_PROVIDER_AUTO to ask again). */
void tt_client_set_provider(struct tt_client *c, uint8_t id);

/* Release library outputs. NULL-safe. tt_free_secret wipes len bytes before freeing. */
void tt_free(void *p);
void tt_free_secret(void *p, size_t len);

/* ---- core operations (always sent to the core provider, id 0) ---- */

/* Wire protocol version of the service. */
int tt_ping(struct tt_client *c, uint8_t *version_maj, uint8_t *version_min);

struct tt_provider_info {
	uint8_t id;
	char *uuid;
	char *description;
	char *vendor;
	uint32_t version_maj, version_min, version_rev;
};
int tt_list_providers(struct tt_client *c, struct tt_provider_info **out, size_t *n);
void tt_provider_info_free(struct tt_provider_info *v, size_t n);

/* Opcodes a provider supports; *out freed with tt_free. */
int tt_list_opcodes(struct tt_client *c, uint8_t provider, uint32_t **out, size_t *n);

struct tt_authenticator_info {
	uint8_t id;                /* auth type number (1 direct, 3 unix peer, ...) */
	char *description;
	uint32_t version_maj, version_min, version_rev;
};
int tt_list_authenticators(struct tt_client *c, struct tt_authenticator_info **out, size_t *n);
void tt_authenticator_info_free(struct tt_authenticator_info *v, size_t n);

/* The calling client's keys, over all providers. */
struct tt_key_info {
	char *name;
	uint8_t provider;
	struct tt_key_attrs attrs;
};
int tt_list_keys(struct tt_client *c, struct tt_key_info **out, size_t *n);
void tt_key_info_free(struct tt_key_info *v, size_t n);

/* Admin only: client identities that own keys, and deleting all keys of one. */
int tt_list_clients(struct tt_client *c, char ***out, size_t *n);
void tt_string_list_free(char **v, size_t n);
int tt_delete_client(struct tt_client *c, const char *client);

/* ---- key management (sent to the client's provider) ---- */

int tt_generate_key(struct tt_client *c, const char *name, const struct tt_key_attrs *attrs);
/* data in PSA import format: RSA keys as DER PKCS#1 (RSAPrivateKey/RSAPublicKey),
 * ECC private keys as the big-endian scalar, ECC public keys as the uncompressed point,
 * symmetric keys as raw bytes. */
int tt_import_key(struct tt_client *c, const char *name, const struct tt_key_attrs *attrs,
		  const uint8_t *data, size_t data_len);
/* Secret output: free with tt_free_secret. Needs TT_USAGE_EXPORT. */
int tt_export_key(struct tt_client *c, const char *name, uint8_t **out, size_t *out_len);
/* PSA public format (see tt_import_key). */
int tt_export_public_key(struct tt_client *c, const char *name, uint8_t **out, size_t *out_len);
int tt_destroy_key(struct tt_client *c, const char *name);

/* ---- crypto operations ---- */

/* Signatures in PSA format: ECDSA is r||s (each the curve size), RSA is the raw block. */
int tt_sign_hash(struct tt_client *c, const char *name, tt_alg_t alg,
		 const uint8_t *hash, size_t hash_len, uint8_t **sig, size_t *sig_len);
/* 0 if valid, TT_ERR_INVALID_SIGNATURE if not. */
int tt_verify_hash(struct tt_client *c, const char *name, tt_alg_t alg,
		   const uint8_t *hash, size_t hash_len, const uint8_t *sig, size_t sig_len);
int tt_sign_message(struct tt_client *c, const char *name, tt_alg_t alg,
		    const uint8_t *msg, size_t msg_len, uint8_t **sig, size_t *sig_len);
int tt_verify_message(struct tt_client *c, const char *name, tt_alg_t alg,
		      const uint8_t *msg, size_t msg_len, const uint8_t *sig, size_t sig_len);

/* salt (OAEP label) may be NULL/0. Decrypt output is secret. */
int tt_asymmetric_encrypt(struct tt_client *c, const char *name, tt_alg_t alg,
			  const uint8_t *in, size_t in_len, const uint8_t *salt, size_t salt_len,
			  uint8_t **out, size_t *out_len);
int tt_asymmetric_decrypt(struct tt_client *c, const char *name, tt_alg_t alg,
			  const uint8_t *in, size_t in_len, const uint8_t *salt, size_t salt_len,
			  uint8_t **out, size_t *out_len);

/* AEAD: ciphertext output is ciphertext||tag; decrypt output is secret. */
int tt_aead_encrypt(struct tt_client *c, const char *name, tt_alg_t alg,
		    const uint8_t *nonce, size_t nonce_len, const uint8_t *ad, size_t ad_len,
		    const uint8_t *in, size_t in_len, uint8_t **out, size_t *out_len);
int tt_aead_decrypt(struct tt_client *c, const char *name, tt_alg_t alg,
		    const uint8_t *nonce, size_t nonce_len, const uint8_t *ad, size_t ad_len,
		    const uint8_t *in, size_t in_len, uint8_t **out, size_t *out_len);

/* Unauthenticated ciphers: the service generates the IV and prefixes it to the
 * ciphertext; decrypt expects IV||ciphertext. Decrypt output is secret. */
int tt_cipher_encrypt(struct tt_client *c, const char *name, tt_alg_t alg,
		      const uint8_t *in, size_t in_len, uint8_t **out, size_t *out_len);
int tt_cipher_decrypt(struct tt_client *c, const char *name, tt_alg_t alg,
		      const uint8_t *in, size_t in_len, uint8_t **out, size_t *out_len);

int tt_mac_compute(struct tt_client *c, const char *name, tt_alg_t alg,
		   const uint8_t *in, size_t in_len, uint8_t **mac, size_t *mac_len);
/* 0 if the MAC matches, TT_ERR_INVALID_SIGNATURE if not. */
int tt_mac_verify(struct tt_client *c, const char *name, tt_alg_t alg,
		  const uint8_t *in, size_t in_len, const uint8_t *mac, size_t mac_len);

int tt_hash_compute(struct tt_client *c, tt_alg_t alg, const uint8_t *in, size_t in_len,
		    uint8_t **hash, size_t *hash_len);
/* 0 if hash is the digest of in, TT_ERR_INVALID_SIGNATURE if not. */
int tt_hash_compare(struct tt_client *c, tt_alg_t alg, const uint8_t *in, size_t in_len,
		    const uint8_t *hash, size_t hash_len);

/* alg is TT_ALG_ECDH or TT_ALG_FFDH; peer key in PSA public format. Output is secret. */
int tt_raw_key_agreement(struct tt_client *c, tt_alg_t alg, const char *private_key_name,
			 const uint8_t *peer, size_t peer_len, uint8_t **out, size_t *out_len);

/* Exactly n random bytes into a new buffer (free with tt_free_secret(p, n)). */
int tt_generate_random(struct tt_client *c, size_t n, uint8_t **out);

enum tt_check_type {
	TT_CHECK_USE = 1,
	TT_CHECK_GENERATE = 2,
	TT_CHECK_IMPORT = 3,
	TT_CHECK_DERIVE = 4,
};
/* 0 if the provider could perform `check` with keys of these attributes, else the
 * reason (typically TT_ERR_NOT_SUPPORTED). */
int tt_can_do_crypto(struct tt_client *c, enum tt_check_type check, const struct tt_key_attrs *attrs);

#ifdef __cplusplus
}
#endif
#endif
