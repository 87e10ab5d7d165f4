/*
 * Opcode -> handler. The front end has already checked provider/opcode compatibility,
 * admin rights and authentication; the table is the only place that names handlers.
 */
#include <stddef.h>

#include "service/ops/ops.h"
#include "turtle/error.h"
#include "wire/opcodes.h"

struct op_row {
	uint32_t opcode;
	tt_op_handler fn;
};

static const struct op_row op_table[] = {
	{ TT_OP_PING, tt_op_ping },
	{ TT_OP_LIST_PROVIDERS, tt_op_list_providers },
	{ TT_OP_LIST_OPCODES, tt_op_list_opcodes },
	{ TT_OP_LIST_AUTHENTICATORS, tt_op_list_authenticators },
	{ TT_OP_LIST_KEYS, tt_op_list_keys },
	{ TT_OP_LIST_CLIENTS, tt_op_list_clients },
	{ TT_OP_DELETE_CLIENT, tt_op_delete_client },
	{ TT_OP_PSA_GENERATE_KEY, tt_op_generate_key },
	{ TT_OP_PSA_IMPORT_KEY, tt_op_import_key },
	{ TT_OP_PSA_DESTROY_KEY, tt_op_destroy_key },
	{ TT_OP_PSA_EXPORT_KEY, tt_op_export_key },
	{ TT_OP_PSA_EXPORT_PUBLIC_KEY, tt_op_export_public_key },
	{ TT_OP_CAN_DO_CRYPTO, tt_op_can_do_crypto },
	{ TT_OP_PSA_SIGN_HASH, tt_op_sign_hash },
	{ TT_OP_PSA_VERIFY_HASH, tt_op_verify_hash },
	{ TT_OP_PSA_SIGN_MESSAGE, tt_op_sign_message },
	{ TT_OP_PSA_VERIFY_MESSAGE, tt_op_verify_message },
	{ TT_OP_PSA_ASYMMETRIC_ENCRYPT, tt_op_asym_encrypt },
	{ TT_OP_PSA_ASYMMETRIC_DECRYPT, tt_op_asym_decrypt },
	{ TT_OP_PSA_AEAD_ENCRYPT, tt_op_aead_encrypt },
	{ TT_OP_PSA_AEAD_DECRYPT, tt_op_aead_decrypt },
	{ TT_OP_PSA_CIPHER_ENCRYPT, tt_op_cipher_encrypt },
	{ TT_OP_PSA_CIPHER_DECRYPT, tt_op_cipher_decrypt },
	{ TT_OP_PSA_MAC_COMPUTE, tt_op_mac_compute },
	{ TT_OP_PSA_MAC_VERIFY, tt_op_mac_verify },
	{ TT_OP_PSA_HASH_COMPUTE, tt_op_hash_compute },
	{ TT_OP_PSA_HASH_COMPARE, tt_op_hash_compare },
	{ TT_OP_PSA_GENERATE_RANDOM, tt_op_generate_random },
	{ TT_OP_PSA_RAW_KEY_AGREEMENT, tt_op_raw_key_agreement },
	{ TT_OP_PREPARE_KEY_ATTESTATION, tt_op_prepare_key_attestation },
	{ TT_OP_ATTEST_KEY, tt_op_attest_key },
	{ TT_OP_TT_CERTIFY_KEY, tt_op_tt_certify_key },
	{ TT_OP_TT_ATTEST_QUOTE, tt_op_tt_attest_quote },
	{ TT_OP_TT_AGENT_IDENTITY, tt_op_tt_agent_identity },
	{ TT_OP_TT_AGENT_ACTIVATE, tt_op_tt_agent_activate },
};

int
tt_ops_dispatch(const struct tt_op_ctx *ctx, const uint8_t *body, size_t body_len,
    struct tt_buf *out)
{
	const struct tt_opcode_info *info = tt_opcode_info(ctx->hdr->opcode);

	if (info == NULL)
		return TT_ERR_OPCODE_DOES_NOT_EXIST;
	/* Defence in depth for callers other than the front end (fuzz targets): a core
	 * handler never runs with a provider, a crypto handler never without one, and
	 * key handlers never without an identity. */
	if (info->core != (ctx->prov == NULL))
		return TT_ERR_NOT_SUPPORTED;
	if ((info->needs_auth || info->admin) && ctx->id == NULL)
		return TT_ERR_NOT_AUTHENTICATED;
	if (info->admin && !ctx->id->admin)
		return TT_ERR_ADMIN_OPERATION;
	for (size_t i = 0; i < sizeof(op_table) / sizeof(op_table[0]); i++)
		if (op_table[i].opcode == ctx->hdr->opcode)
			return op_table[i].fn(ctx, body, body_len, out);
	return TT_ERR_NOT_SUPPORTED;
}
