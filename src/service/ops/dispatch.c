/*
 * Opcode -> handler. The front end has already checked provider/opcode compatibility,
 * admin rights and authentication; the table is the only place that names handlers.
 */
#include <stddef.h>

#include "attest_key.pb-c.h"
#include "can_do_crypto.pb-c.h"
#include "delete_client.pb-c.h"
#include "list_authenticators.pb-c.h"
#include "list_clients.pb-c.h"
#include "list_keys.pb-c.h"
#include "list_opcodes.pb-c.h"
#include "list_providers.pb-c.h"
#include "ping.pb-c.h"
#include "prepare_key_attestation.pb-c.h"
#include "psa_aead_decrypt.pb-c.h"
#include "psa_aead_encrypt.pb-c.h"
#include "psa_asymmetric_decrypt.pb-c.h"
#include "psa_asymmetric_encrypt.pb-c.h"
#include "psa_cipher_decrypt.pb-c.h"
#include "psa_cipher_encrypt.pb-c.h"
#include "psa_destroy_key.pb-c.h"
#include "psa_export_key.pb-c.h"
#include "psa_export_public_key.pb-c.h"
#include "psa_generate_key.pb-c.h"
#include "psa_generate_random.pb-c.h"
#include "psa_hash_compare.pb-c.h"
#include "psa_hash_compute.pb-c.h"
#include "psa_import_key.pb-c.h"
#include "psa_mac_compute.pb-c.h"
#include "psa_mac_verify.pb-c.h"
#include "psa_raw_key_agreement.pb-c.h"
#include "psa_sign_hash.pb-c.h"
#include "psa_sign_message.pb-c.h"
#include "psa_verify_hash.pb-c.h"
#include "psa_verify_message.pb-c.h"
#include "tt_attest_quote.pb-c.h"
#include "tt_attest_tee.pb-c.h"
#include "tt_certify_key.pb-c.h"
#include "service/ops/ops.h"
#include "turtle/error.h"
#include "wire/opcodes.h"
#include "wire/pb_strings.h"

struct op_row {
	uint32_t opcode;
	tt_op_handler fn;
	/* the request body's message: its string fields are checked for NUL bytes */
	const ProtobufCMessageDescriptor *body;
};

static const struct op_row op_table[] = {
	{ TT_OP_PING, tt_op_ping, &ping__operation__descriptor },
	{ TT_OP_LIST_PROVIDERS, tt_op_list_providers, &list_providers__operation__descriptor },
	{ TT_OP_LIST_OPCODES, tt_op_list_opcodes, &list_opcodes__operation__descriptor },
	{ TT_OP_LIST_AUTHENTICATORS, tt_op_list_authenticators, &list_authenticators__operation__descriptor },
	{ TT_OP_LIST_KEYS, tt_op_list_keys, &list_keys__operation__descriptor },
	{ TT_OP_LIST_CLIENTS, tt_op_list_clients, &list_clients__operation__descriptor },
	{ TT_OP_DELETE_CLIENT, tt_op_delete_client, &delete_client__operation__descriptor },
	{ TT_OP_PSA_GENERATE_KEY, tt_op_generate_key, &psa_generate_key__operation__descriptor },
	{ TT_OP_PSA_IMPORT_KEY, tt_op_import_key, &psa_import_key__operation__descriptor },
	{ TT_OP_PSA_DESTROY_KEY, tt_op_destroy_key, &psa_destroy_key__operation__descriptor },
	{ TT_OP_PSA_EXPORT_KEY, tt_op_export_key, &psa_export_key__operation__descriptor },
	{ TT_OP_PSA_EXPORT_PUBLIC_KEY, tt_op_export_public_key, &psa_export_public_key__operation__descriptor },
	{ TT_OP_CAN_DO_CRYPTO, tt_op_can_do_crypto, &can_do_crypto__operation__descriptor },
	{ TT_OP_PSA_SIGN_HASH, tt_op_sign_hash, &psa_sign_hash__operation__descriptor },
	{ TT_OP_PSA_VERIFY_HASH, tt_op_verify_hash, &psa_verify_hash__operation__descriptor },
	{ TT_OP_PSA_SIGN_MESSAGE, tt_op_sign_message, &psa_sign_message__operation__descriptor },
	{ TT_OP_PSA_VERIFY_MESSAGE, tt_op_verify_message, &psa_verify_message__operation__descriptor },
	{ TT_OP_PSA_ASYMMETRIC_ENCRYPT, tt_op_asym_encrypt, &psa_asymmetric_encrypt__operation__descriptor },
	{ TT_OP_PSA_ASYMMETRIC_DECRYPT, tt_op_asym_decrypt, &psa_asymmetric_decrypt__operation__descriptor },
	{ TT_OP_PSA_AEAD_ENCRYPT, tt_op_aead_encrypt, &psa_aead_encrypt__operation__descriptor },
	{ TT_OP_PSA_AEAD_DECRYPT, tt_op_aead_decrypt, &psa_aead_decrypt__operation__descriptor },
	{ TT_OP_PSA_CIPHER_ENCRYPT, tt_op_cipher_encrypt, &psa_cipher_encrypt__operation__descriptor },
	{ TT_OP_PSA_CIPHER_DECRYPT, tt_op_cipher_decrypt, &psa_cipher_decrypt__operation__descriptor },
	{ TT_OP_PSA_MAC_COMPUTE, tt_op_mac_compute, &psa_mac_compute__operation__descriptor },
	{ TT_OP_PSA_MAC_VERIFY, tt_op_mac_verify, &psa_mac_verify__operation__descriptor },
	{ TT_OP_PSA_HASH_COMPUTE, tt_op_hash_compute, &psa_hash_compute__operation__descriptor },
	{ TT_OP_PSA_HASH_COMPARE, tt_op_hash_compare, &psa_hash_compare__operation__descriptor },
	{ TT_OP_PSA_GENERATE_RANDOM, tt_op_generate_random, &psa_generate_random__operation__descriptor },
	{ TT_OP_PSA_RAW_KEY_AGREEMENT, tt_op_raw_key_agreement, &psa_raw_key_agreement__operation__descriptor },
	{ TT_OP_PREPARE_KEY_ATTESTATION, tt_op_prepare_key_attestation, &prepare_key_attestation__operation__descriptor },
	{ TT_OP_ATTEST_KEY, tt_op_attest_key, &attest_key__operation__descriptor },
	{ TT_OP_TT_CERTIFY_KEY, tt_op_tt_certify_key, &tt_certify_key__operation__descriptor },
	{ TT_OP_TT_ATTEST_QUOTE, tt_op_tt_attest_quote, &tt_attest_quote__operation__descriptor },
	{ TT_OP_TT_AGENT_IDENTITY, tt_op_tt_agent_identity, &tt_attest_quote__identity_operation__descriptor },
	{ TT_OP_TT_AGENT_ACTIVATE, tt_op_tt_agent_activate, &tt_attest_quote__activate_operation__descriptor },
	{ TT_OP_TT_ATTEST_TEE, tt_op_tt_attest_tee, &tt_attest_tee__operation__descriptor },
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
		if (op_table[i].opcode == ctx->hdr->opcode) {
			/* protobuf-c gives handlers NUL-terminated strings: a name with a NUL
			 * in it would silently become its prefix ("k\0other" -> "k"). The
			 * wire length is the truth, so such a body is refused here, once,
			 * for every opcode and every string field. */
			int r = tt_wire_pb_check_strings(op_table[i].body, body, body_len);

			if (r != 0)
				return r;
			return op_table[i].fn(ctx, body, body_len, out);
		}
	return TT_ERR_NOT_SUPPORTED;
}
