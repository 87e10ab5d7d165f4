#include "wire/opcodes.h"

/*
 * needs_auth follows PARSEC: anything that touches a client's keys or the client list
 * needs an identity; discovery, randomness and hashing do not.
 */
static const struct tt_opcode_info opcodes[] = {
	{ TT_OP_PING, "Ping", true, false, false },
	{ TT_OP_PSA_GENERATE_KEY, "PsaGenerateKey", false, false, true },
	{ TT_OP_PSA_DESTROY_KEY, "PsaDestroyKey", false, false, true },
	{ TT_OP_PSA_SIGN_HASH, "PsaSignHash", false, false, true },
	{ TT_OP_PSA_VERIFY_HASH, "PsaVerifyHash", false, false, true },
	{ TT_OP_PSA_IMPORT_KEY, "PsaImportKey", false, false, true },
	{ TT_OP_PSA_EXPORT_PUBLIC_KEY, "PsaExportPublicKey", false, false, true },
	{ TT_OP_LIST_PROVIDERS, "ListProviders", true, false, false },
	{ TT_OP_LIST_OPCODES, "ListOpcodes", true, false, false },
	{ TT_OP_PSA_ASYMMETRIC_ENCRYPT, "PsaAsymmetricEncrypt", false, false, true },
	{ TT_OP_PSA_ASYMMETRIC_DECRYPT, "PsaAsymmetricDecrypt", false, false, true },
	{ TT_OP_PSA_EXPORT_KEY, "PsaExportKey", false, false, true },
	{ TT_OP_PSA_GENERATE_RANDOM, "PsaGenerateRandom", false, false, false },
	{ TT_OP_LIST_AUTHENTICATORS, "ListAuthenticators", true, false, false },
	{ TT_OP_PSA_HASH_COMPUTE, "PsaHashCompute", false, false, false },
	{ TT_OP_PSA_HASH_COMPARE, "PsaHashCompare", false, false, false },
	{ TT_OP_PSA_AEAD_ENCRYPT, "PsaAeadEncrypt", false, false, true },
	{ TT_OP_PSA_AEAD_DECRYPT, "PsaAeadDecrypt", false, false, true },
	{ TT_OP_PSA_RAW_KEY_AGREEMENT, "PsaRawKeyAgreement", false, false, true },
	{ TT_OP_PSA_CIPHER_ENCRYPT, "PsaCipherEncrypt", false, false, true },
	{ TT_OP_PSA_CIPHER_DECRYPT, "PsaCipherDecrypt", false, false, true },
	{ TT_OP_PSA_MAC_COMPUTE, "PsaMacCompute", false, false, true },
	{ TT_OP_PSA_MAC_VERIFY, "PsaMacVerify", false, false, true },
	{ TT_OP_PSA_SIGN_MESSAGE, "PsaSignMessage", false, false, true },
	{ TT_OP_PSA_VERIFY_MESSAGE, "PsaVerifyMessage", false, false, true },
	{ TT_OP_LIST_KEYS, "ListKeys", true, false, true },
	{ TT_OP_LIST_CLIENTS, "ListClients", true, true, true },
	{ TT_OP_DELETE_CLIENT, "DeleteClient", true, true, true },
	{ TT_OP_ATTEST_KEY, "AttestKey", false, false, true },
	{ TT_OP_PREPARE_KEY_ATTESTATION, "PrepareKeyAttestation", false, false, true },
	{ TT_OP_CAN_DO_CRYPTO, "CanDoCrypto", false, false, false },
	/* Turtle vendor opcodes */
	{ TT_OP_TT_CERTIFY_KEY, "TtCertifyKey", false, false, true },
	/* agent role: a quote reveals only platform state bound to the caller's nonce, so
	 * any authenticated client may ask; identity and activation are admin-only */
	{ TT_OP_TT_ATTEST_QUOTE, "TtAttestQuote", false, false, true },
	{ TT_OP_TT_AGENT_IDENTITY, "TtAgentIdentity", false, true, true },
	{ TT_OP_TT_AGENT_ACTIVATE, "TtAgentActivate", false, true, true },
	/* a confidential guest's report: like a quote, platform state bound to the caller's
	 * report data. It is the platform's TEE, not a key store, so the core serves it. */
	{ TT_OP_TT_ATTEST_TEE, "TtAttestTee", true, false, true },
};

const struct tt_opcode_info *
tt_opcode_info(uint32_t opcode)
{
	for (size_t i = 0; i < sizeof(opcodes) / sizeof(opcodes[0]); i++)
		if (opcodes[i].opcode == opcode)
			return &opcodes[i];
	return NULL;
}

const struct tt_opcode_info *
tt_opcode_table(size_t *n)
{
	*n = sizeof(opcodes) / sizeof(opcodes[0]);
	return opcodes;
}
