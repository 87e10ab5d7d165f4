/*
 * PARSEC 1.0 opcodes and their properties, in one table (opcodes.c). Opcode numbers
 * are PARSEC's. Turtle's own operations (attestation, issue 4) will live in the vendor
 * range TT_OPCODE_VENDOR_BASE.., which PARSEC does not use.
 */
#ifndef TT_WIRE_OPCODES_H
#define TT_WIRE_OPCODES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum tt_opcode {
	TT_OP_PING = 0x0001,
	TT_OP_PSA_GENERATE_KEY = 0x0002,
	TT_OP_PSA_DESTROY_KEY = 0x0003,
	TT_OP_PSA_SIGN_HASH = 0x0004,
	TT_OP_PSA_VERIFY_HASH = 0x0005,
	TT_OP_PSA_IMPORT_KEY = 0x0006,
	TT_OP_PSA_EXPORT_PUBLIC_KEY = 0x0007,
	TT_OP_LIST_PROVIDERS = 0x0008,
	TT_OP_LIST_OPCODES = 0x0009,
	TT_OP_PSA_ASYMMETRIC_ENCRYPT = 0x000A,
	TT_OP_PSA_ASYMMETRIC_DECRYPT = 0x000B,
	TT_OP_PSA_EXPORT_KEY = 0x000C,
	TT_OP_PSA_GENERATE_RANDOM = 0x000D,
	TT_OP_LIST_AUTHENTICATORS = 0x000E,
	TT_OP_PSA_HASH_COMPUTE = 0x000F,
	TT_OP_PSA_HASH_COMPARE = 0x0010,
	TT_OP_PSA_AEAD_ENCRYPT = 0x0011,
	TT_OP_PSA_AEAD_DECRYPT = 0x0012,
	TT_OP_PSA_RAW_KEY_AGREEMENT = 0x0013,
	TT_OP_PSA_CIPHER_ENCRYPT = 0x0014,
	TT_OP_PSA_CIPHER_DECRYPT = 0x0015,
	TT_OP_PSA_MAC_COMPUTE = 0x0016,
	TT_OP_PSA_MAC_VERIFY = 0x0017,
	TT_OP_PSA_SIGN_MESSAGE = 0x0018,
	TT_OP_PSA_VERIFY_MESSAGE = 0x0019,
	TT_OP_LIST_KEYS = 0x001A,
	TT_OP_LIST_CLIENTS = 0x001B,
	TT_OP_DELETE_CLIENT = 0x001C,
	TT_OP_ATTEST_KEY = 0x001E,
	TT_OP_PREPARE_KEY_ATTESTATION = 0x001F,
	TT_OP_CAN_DO_CRYPTO = 0x0020,
};

#define TT_OPCODE_VENDOR_BASE 0x00010000u
#define TT_OP_TT_CERTIFY_KEY  0x00010001u   /* Turtle: TPM2_Certify of a key */
#define TT_OP_TT_ATTEST_QUOTE 0x00010002u   /* Turtle agent: TPM2_Quote + PCRs + logs */
#define TT_OP_TT_AGENT_IDENTITY 0x00010003u /* Turtle agent: EK, EK cert, AK (admin) */
#define TT_OP_TT_AGENT_ACTIVATE 0x00010004u /* Turtle agent: ActivateCredential for the AK (admin) */
#define TT_OP_TT_ATTEST_TEE   0x00010005u   /* Turtle agent: configfs-tsm report (core) */

struct tt_opcode_info {
	uint32_t opcode;
	const char *name;       /* PARSEC's name, e.g. "PsaSignHash" */
	bool core;              /* served by the core provider (id 0) */
	bool admin;             /* reserved to admins */
	bool needs_auth;        /* refused with NotAuthenticated when auth type is NoAuth */
};

/* NULL for an opcode PARSEC does not define. */
const struct tt_opcode_info *tt_opcode_info(uint32_t opcode);
/* All known opcodes in numeric order. */
const struct tt_opcode_info *tt_opcode_table(size_t *n);

#endif
