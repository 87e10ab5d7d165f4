/*
 * Internal contract of the operation layer (src/service/ops). Not used outside
 * src/service: the front end calls tt_ops_dispatch (service.h) only.
 *
 * Every handler has the shape of tt_ops_dispatch: it owns the decoding of `body`,
 * appends the encoded result body to `out` (bounded by the response limit) and returns
 * 0 or a negative tt_err. On failure `out` may hold partial bytes; the front end drops
 * them and answers with an empty body.
 */
#ifndef TT_SERVICE_OPS_H
#define TT_SERVICE_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "service/service.h"

/* protobuf-c wants a pointer even for an empty body. */
static inline const uint8_t *
tt_ops_body(const uint8_t *p)
{
	static const uint8_t empty[1];

	return p != NULL ? p : empty;
}

typedef int (*tt_op_handler)(const struct tt_op_ctx *ctx, const uint8_t *body, size_t len,
    struct tt_buf *out);

/* ---- helpers (ops/common.c) ---- */

/* Strict UTF-8 (no overlongs, no surrogates, <= U+10FFFF). Used for key names and, by
 * the direct authenticator, for application names. */
bool tt_ops_utf8_valid(const uint8_t *s, size_t n);

/* Key name rule: non-empty, <= TT_KEY_NAME_MAX bytes, valid UTF-8. TT_ERR_INVALID_ARGUMENT. */
#define TT_KEY_NAME_MAX 256
int tt_ops_check_name(const char *name);

/* Pack a protobuf message onto `out`; a result larger than the response limit is
 * TT_ERR_RESPONSE_TOO_LARGE. */
int tt_ops_pack(const ProtobufCMessage *m, struct tt_buf *out);

/* The key store's view of the caller. */
void tt_ops_client(const struct tt_op_ctx *ctx, struct tt_kim_client *c);

/* Response limit of the current config (the front end holds cfg_lock shared). */
size_t tt_ops_max_response(const struct tt_op_ctx *ctx);

/* Output writer for provider results: bounded by the response limit. */
void tt_ops_out_init(const struct tt_op_ctx *ctx, struct tt_buf *b, bool secret);

/*
 * Resolve the caller's key `name` for use through this request's provider and enforce
 * its policy: `usage` must be allowed (with PSA's implications, see common.c) and, if
 * `alg` is not TT_ALG_NONE, the key's permitted algorithm must allow `alg`.
 * A key of another client, a key of another provider and a missing key are all
 * TT_ERR_DOES_NOT_EXIST, indistinguishably. On success *rec is filled (clear it with
 * tt_kim_rec_clear) and *key views it.
 */
int tt_ops_key_for_use(const struct tt_op_ctx *ctx, const char *name, tt_usage_t usage,
    tt_alg_t alg, struct tt_kim_rec *rec, struct tt_key *key);

/* The one policy check (usage + algorithm) against a key's attributes. */
int tt_ops_policy_check(const struct tt_key_attrs *a, tt_usage_t usage, tt_alg_t alg);

/* Validate attributes of a key about to be created (type, bits, policy shape). */
int tt_ops_check_new_attrs(const struct tt_key_attrs *a, bool generate);

/* Crash-safe destroy of exactly the row `kid` of client `c` (as resolved earlier), through
 * the provider recorded in that row. TT_ERR_DOES_NOT_EXIST if the row is gone. */
int tt_ops_destroy_rec(struct tt_service *svc, const struct tt_kim_client *c,
    const uint8_t kid[TT_KEY_ID_LEN]);

/* ---- handlers, one file per family ---- */
/* core.c */
int tt_op_ping(const struct tt_op_ctx *, const uint8_t *, size_t, struct tt_buf *);
int tt_op_list_providers(const struct tt_op_ctx *, const uint8_t *, size_t, struct tt_buf *);
int tt_op_list_opcodes(const struct tt_op_ctx *, const uint8_t *, size_t, struct tt_buf *);
int tt_op_list_authenticators(const struct tt_op_ctx *, const uint8_t *, size_t, struct tt_buf *);
int tt_op_list_keys(const struct tt_op_ctx *, const uint8_t *, size_t, struct tt_buf *);
int tt_op_list_clients(const struct tt_op_ctx *, const uint8_t *, size_t, struct tt_buf *);
int tt_op_delete_client(const struct tt_op_ctx *, const uint8_t *, size_t, struct tt_buf *);
/* keys.c */
int tt_op_generate_key(const struct tt_op_ctx *, const uint8_t *, size_t, struct tt_buf *);
int tt_op_import_key(const struct tt_op_ctx *, const uint8_t *, size_t, struct tt_buf *);
int tt_op_destroy_key(const struct tt_op_ctx *, const uint8_t *, size_t, struct tt_buf *);
int tt_op_export_key(const struct tt_op_ctx *, const uint8_t *, size_t, struct tt_buf *);
int tt_op_export_public_key(const struct tt_op_ctx *, const uint8_t *, size_t, struct tt_buf *);
int tt_op_can_do_crypto(const struct tt_op_ctx *, const uint8_t *, size_t, struct tt_buf *);
/* sign.c */
int tt_op_sign_hash(const struct tt_op_ctx *, const uint8_t *, size_t, struct tt_buf *);
int tt_op_verify_hash(const struct tt_op_ctx *, const uint8_t *, size_t, struct tt_buf *);
int tt_op_sign_message(const struct tt_op_ctx *, const uint8_t *, size_t, struct tt_buf *);
int tt_op_verify_message(const struct tt_op_ctx *, const uint8_t *, size_t, struct tt_buf *);
/* crypt.c */
int tt_op_asym_encrypt(const struct tt_op_ctx *, const uint8_t *, size_t, struct tt_buf *);
int tt_op_asym_decrypt(const struct tt_op_ctx *, const uint8_t *, size_t, struct tt_buf *);
int tt_op_aead_encrypt(const struct tt_op_ctx *, const uint8_t *, size_t, struct tt_buf *);
int tt_op_aead_decrypt(const struct tt_op_ctx *, const uint8_t *, size_t, struct tt_buf *);
int tt_op_cipher_encrypt(const struct tt_op_ctx *, const uint8_t *, size_t, struct tt_buf *);
int tt_op_cipher_decrypt(const struct tt_op_ctx *, const uint8_t *, size_t, struct tt_buf *);
/* mac.c */
int tt_op_mac_compute(const struct tt_op_ctx *, const uint8_t *, size_t, struct tt_buf *);
int tt_op_mac_verify(const struct tt_op_ctx *, const uint8_t *, size_t, struct tt_buf *);
/* hash.c */
int tt_op_hash_compute(const struct tt_op_ctx *, const uint8_t *, size_t, struct tt_buf *);
int tt_op_hash_compare(const struct tt_op_ctx *, const uint8_t *, size_t, struct tt_buf *);
/* random.c */
int tt_op_generate_random(const struct tt_op_ctx *, const uint8_t *, size_t, struct tt_buf *);
/* agree.c */
int tt_op_raw_key_agreement(const struct tt_op_ctx *, const uint8_t *, size_t, struct tt_buf *);
/* attest.c */
int tt_op_prepare_key_attestation(const struct tt_op_ctx *, const uint8_t *, size_t, struct tt_buf *);
int tt_op_attest_key(const struct tt_op_ctx *, const uint8_t *, size_t, struct tt_buf *);
int tt_op_tt_certify_key(const struct tt_op_ctx *, const uint8_t *, size_t, struct tt_buf *);
/* agent.c */
/* PCR selection in tpm2-tools syntax ("sha256:0-10", "sha256:0,7+sha1:0-3") -> *sel. */
int tt_agent_pcr_parse(const char *s, struct tt_pcr_select *sel);
int tt_op_tt_attest_quote(const struct tt_op_ctx *, const uint8_t *, size_t, struct tt_buf *);
int tt_op_tt_agent_identity(const struct tt_op_ctx *, const uint8_t *, size_t, struct tt_buf *);
int tt_op_tt_agent_activate(const struct tt_op_ctx *, const uint8_t *, size_t, struct tt_buf *);
/* agent_tsm.c */
int tt_op_tt_attest_tee(const struct tt_op_ctx *, const uint8_t *, size_t, struct tt_buf *);

#endif
