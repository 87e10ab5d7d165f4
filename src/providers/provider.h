/*
 * The provider interface: one versioned function table per back end.
 *
 * A provider is pure cryptography over keys it is handed. Name resolution, client
 * isolation, key-policy enforcement (usage flags, permitted algorithm) and the crash-safe
 * create/destroy protocol all live in the operation layer (src/service/ops), so every
 * provider gets them identically. Adding a provider is adding one file with one
 * `const struct tt_provider_ops` and one entry in providers/registry.c.
 *
 * Conventions for every function pointer:
 *  - return 0 or a negative tt_err (TT_ERR_NOT_SUPPORTED for an algorithm/key type
 *    combination the back end cannot do, TT_ERR_INVALID_ARGUMENT for bad sizes or
 *    encodings, TT_ERR_INVALID_SIGNATURE for a failed verification, ...);
 *  - outputs are appended to a caller-initialised bounded writer (`struct tt_buf`);
 *    the bound is the service's response limit, so a provider cannot overrun it;
 *  - a NULL pointer means "not supported" and the caller answers TT_ERR_NOT_SUPPORTED
 *    (sign_message/verify_message may be NULL: the caller hashes and uses sign_hash);
 *  - functions are called concurrently from several worker threads with the same ctx.
 */
#ifndef TT_PROVIDERS_PROVIDER_H
#define TT_PROVIDERS_PROVIDER_H

#include <stddef.h>
#include <stdint.h>

#include "turtle/psa.h"
#include "util/buf.h"

#define TT_PROVIDER_ABI 1
#define TT_KEY_ID_LEN 16

/* Who owns a key, as the provider may bind it (e.g. into wrapping AAD or a label). */
struct tt_key_owner {
	uint8_t auth_type;      /* authenticator that identified the client */
	const char *app;        /* application name */
	const char *name;       /* key name */
};

/* A resolved key handed to a provider. */
struct tt_key {
	struct tt_key_owner owner;
	uint8_t kid[TT_KEY_ID_LEN];   /* random id chosen by the key store at creation */
	struct tt_key_attrs attrs;
	const uint8_t *ref;           /* provider's opaque key reference from the store */
	size_t ref_len;
};

/* A PCR selection for the agent role: up to TT_PCR_BANKS_MAX banks, each a TPM hash
 * algorithm id and a bit mask of PCRs 0..23. */
#define TT_PCR_BANKS_MAX 4
#define TT_PCR_COUNT 24
struct tt_pcr_select {
	size_t n;
	uint16_t alg[TT_PCR_BANKS_MAX];
	uint32_t mask[TT_PCR_BANKS_MAX];
};

/* One provider's configuration: its section of the config file as key=value pairs,
 * plus the service-wide data directory. */
struct tt_provider_cfg {
	const char *data_dir;
	size_t n;
	const char *const *keys;
	const char *const *values;
};

/* Value of a provider config key, or NULL. */
const char *tt_provider_cfg_get(const struct tt_provider_cfg *cfg, const char *key);

/* CanDoCrypto check types (numbers as in can_do_crypto.proto). */
enum tt_check_type {
	TT_CHECK_USE = 1,
	TT_CHECK_GENERATE = 2,
	TT_CHECK_IMPORT = 3,
	TT_CHECK_DERIVE = 4,
};

struct tt_provider_ops {
	uint32_t abi;                 /* TT_PROVIDER_ABI */
	const char *name;             /* config name: "soft", "pkcs11", "tpm" */
	uint8_t id;                   /* wire provider id */
	const char *uuid;             /* PARSEC's UUID for this provider type */
	const char *description;
	const char *vendor;
	uint32_t version_maj, version_min, version_rev;
	const uint32_t *opcodes;      /* opcodes this provider serves (ListOpcodes) */
	size_t n_opcodes;

	int (*init)(const struct tt_provider_cfg *cfg, void **ctx);
	void (*fini)(void *ctx);

	/* 0 if the provider can perform `check` for keys with these attributes,
	 * TT_ERR_NOT_SUPPORTED otherwise. Must agree with what the other calls do. */
	int (*can_do)(void *ctx, enum tt_check_type check, const struct tt_key_attrs *a);

	/* Create key material for a new key with id `kid`. The opaque reference written to
	 * `ref` is stored by the key store and handed back in struct tt_key on use.
	 * Must not leave anything behind when it fails. */
	int (*generate_key)(void *ctx, const struct tt_key_owner *o, const uint8_t kid[TT_KEY_ID_LEN],
	    const struct tt_key_attrs *a, struct tt_buf *ref);
	/* Import key material in the PSA export format for its type. */
	int (*import_key)(void *ctx, const struct tt_key_owner *o, const uint8_t kid[TT_KEY_ID_LEN],
	    const struct tt_key_attrs *a, const uint8_t *data, size_t len, struct tt_buf *ref);
	/* Remove whatever the provider holds for `kid` (hardware objects, caches).
	 * Idempotent: called again during crash recovery, possibly with ref == NULL when the
	 * creation never completed. */
	int (*destroy_key)(void *ctx, const uint8_t kid[TT_KEY_ID_LEN], const uint8_t *ref, size_t ref_len);

	int (*export_public_key)(void *ctx, const struct tt_key *k, struct tt_buf *out);
	int (*export_key)(void *ctx, const struct tt_key *k, struct tt_buf *out);

	int (*sign_hash)(void *ctx, const struct tt_key *k, tt_alg_t alg,
	    const uint8_t *hash, size_t hash_len, struct tt_buf *sig);
	int (*verify_hash)(void *ctx, const struct tt_key *k, tt_alg_t alg,
	    const uint8_t *hash, size_t hash_len, const uint8_t *sig, size_t sig_len);
	int (*sign_message)(void *ctx, const struct tt_key *k, tt_alg_t alg,
	    const uint8_t *msg, size_t msg_len, struct tt_buf *sig);
	int (*verify_message)(void *ctx, const struct tt_key *k, tt_alg_t alg,
	    const uint8_t *msg, size_t msg_len, const uint8_t *sig, size_t sig_len);

	int (*asymmetric_encrypt)(void *ctx, const struct tt_key *k, tt_alg_t alg,
	    const uint8_t *in, size_t in_len, const uint8_t *salt, size_t salt_len, struct tt_buf *out);
	int (*asymmetric_decrypt)(void *ctx, const struct tt_key *k, tt_alg_t alg,
	    const uint8_t *in, size_t in_len, const uint8_t *salt, size_t salt_len, struct tt_buf *out);

	/* AEAD output is ciphertext || tag, as PSA defines it. */
	int (*aead_encrypt)(void *ctx, const struct tt_key *k, tt_alg_t alg,
	    const uint8_t *nonce, size_t nonce_len, const uint8_t *aad, size_t aad_len,
	    const uint8_t *in, size_t in_len, struct tt_buf *out);
	int (*aead_decrypt)(void *ctx, const struct tt_key *k, tt_alg_t alg,
	    const uint8_t *nonce, size_t nonce_len, const uint8_t *aad, size_t aad_len,
	    const uint8_t *in, size_t in_len, struct tt_buf *out);

	/* psa_cipher_encrypt: a random IV is generated and prepended to the output;
	 * decrypt takes IV || ciphertext. */
	int (*cipher_encrypt)(void *ctx, const struct tt_key *k, tt_alg_t alg,
	    const uint8_t *in, size_t in_len, struct tt_buf *out);
	int (*cipher_decrypt)(void *ctx, const struct tt_key *k, tt_alg_t alg,
	    const uint8_t *in, size_t in_len, struct tt_buf *out);

	int (*mac_compute)(void *ctx, const struct tt_key *k, tt_alg_t alg,
	    const uint8_t *in, size_t in_len, struct tt_buf *mac);
	int (*mac_verify)(void *ctx, const struct tt_key *k, tt_alg_t alg,
	    const uint8_t *in, size_t in_len, const uint8_t *mac, size_t mac_len);

	/* Raw shared secret (x-coordinate for ECDH, as PSA defines it). */
	int (*raw_key_agreement)(void *ctx, const struct tt_key *k, tt_alg_t alg,
	    const uint8_t *peer, size_t peer_len, struct tt_buf *out);

	int (*generate_random)(void *ctx, size_t n, struct tt_buf *out);
	int (*hash_compute)(void *ctx, tt_alg_t alg, const uint8_t *in, size_t in_len, struct tt_buf *out);

	/*
	 * Key attestation, PARSEC's PrepareKeyAttestation / AttestKey with the
	 * ActivateCredential mechanism (TPM). `attesting` is NULL when the client named no
	 * attesting key: the provider then uses its own attestation key.
	 * prepare: the attested key's TPM name, its TPM2B_PUBLIC, and the attesting key's
	 * public area, for the verifier's MakeCredential.
	 * attest: TPM2_ActivateCredential of (credential_blob, secret) -> the credential.
	 */
	int (*prepare_activate_credential)(void *ctx, const struct tt_key *attested,
	    const struct tt_key *attesting, struct tt_buf *name, struct tt_buf *pub,
	    struct tt_buf *attesting_pub);
	int (*attest_activate_credential)(void *ctx, const struct tt_key *attested,
	    const struct tt_key *attesting, const uint8_t *credential_blob, size_t blob_len,
	    const uint8_t *secret, size_t secret_len, struct tt_buf *credential);
	/*
	 * TPM2_Certify of `key` by the provider's attestation key with `nonce` as qualifying
	 * data: appends the marshalled TPMS_ATTEST to `attest` and the TPMT_SIGNATURE to
	 * `sig`, so that a verifier holding the attestation key can prove the key lives in
	 * this TPM. Exposed as a Turtle vendor opcode.
	 */
	int (*certify_key)(void *ctx, const struct tt_key *key, const uint8_t *nonce,
	    size_t nonce_len, struct tt_buf *attest, struct tt_buf *sig);

	/*
	 * Node agent role (vendor opcodes TtAttestQuote, TtAgentIdentity, TtAgentActivate;
	 * docs/agent.md). The AK is the provider's attestation key (the one certify_key uses).
	 * agent_quote: TPM2_PCR_Read of `sel`, then TPM2_Quote of `sel` with `nonce` as
	 * qualifying data. Appends the TPMS_ATTEST, the TPMT_SIGNATURE, the AK's TPM2B_PUBLIC,
	 * and to `pcrs` the digests, bank by bank in `sel` order, ascending index within a
	 * bank, each the bank's digest size.
	 * agent_identity: the EK's TPM2B_PUBLIC and DER SubjectPublicKeyInfo, the EK
	 * certificate from NV (nothing appended when absent), the AK's TPM2B_PUBLIC and name.
	 * agent_activate: TPM2_ActivateCredential(AK, EK) of a marshalled TPM2B_ID_OBJECT and
	 * TPM2B_ENCRYPTED_SECRET; appends the recovered secret (a secret writer).
	 */
	int (*agent_quote)(void *ctx, const struct tt_pcr_select *sel, const uint8_t *nonce,
	    size_t nonce_len, struct tt_buf *attest, struct tt_buf *sig, struct tt_buf *ak_pub,
	    struct tt_buf *pcrs);
	int (*agent_identity)(void *ctx, struct tt_buf *ek_pub, struct tt_buf *ek_der,
	    struct tt_buf *ek_cert, struct tt_buf *ak_pub, struct tt_buf *ak_name);
	int (*agent_activate)(void *ctx, const uint8_t *blob, size_t blob_len,
	    const uint8_t *secret, size_t secret_len, struct tt_buf *out);
};

/* All compiled-in providers (registry.c); NULL-terminated. */
extern const struct tt_provider_ops *const tt_provider_registry[];
/* Look up by config name or wire id; NULL if absent. */
const struct tt_provider_ops *tt_provider_find_name(const char *name);
const struct tt_provider_ops *tt_provider_find_id(uint8_t id);

#endif
