/*
 * Arm CCA attestation tokens (tag 399: a platform COSE_Sign1 under key 44234 and a realm
 * COSE_Sign1 under 44241), parsed for the cca verifier, the fuzz target and tests.
 */
#ifndef TT_ATTEST_VERIFY_CCA_H
#define TT_ATTEST_VERIFY_CCA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cbor.h>
#include <jansson.h>

#include "cose.h"

#define TT_CCA_MAX_TOKEN (64u * 1024u)
#define TT_CCA_MAX_SWCOMP 32u

/* The outer collection: borrowed views of each COSE_Sign1's bytes (NULL when absent). */
struct tt_cca_collection {
	cbor_item_t *root;
	const uint8_t *platform, *realm;
	size_t platform_len, realm_len;
};

/* Decode tag 399 {44234: bstr, 44241: bstr}; keys other than those two are refused.
 * release with tt_cca_collection_clear. */
int tt_cca_collection_parse(const uint8_t *p, size_t len, struct tt_cca_collection *out);
void tt_cca_collection_clear(struct tt_cca_collection *c);

/* Realm claims: challenge, personalization value, hash algorithm, RAK (raw claim bytes as
 * signed), its hash algorithm, initial and extensible measurements. */
struct tt_cca_realm {
	uint8_t challenge[64], rpv[64];
	const uint8_t *rak;           /* borrowed from the decoded payload */
	size_t rak_len;
	uint8_t rim[64];
	size_t rim_len;
	uint8_t rem[4][64];
	size_t rem_len[4];
	char hash_alg[16], rak_hash_alg[16], profile[64];
};

/* Parse a realm claims map (CCA RMM profile). TT_ERR_DATA_INVALID. */
int tt_cca_realm_claims(cbor_item_t *map, struct tt_cca_realm *out);

/* Platform claims as Trustee's / Veraison's JSON names them (base64 values), and the
 * raw challenge and instance id for the checks. *out new JSON object. */
int tt_cca_platform_claims(cbor_item_t *map, json_t **out, uint8_t *challenge,
    size_t *challenge_len, uint8_t instance_id[33]);

/* The PSA / CCA platform security lifecycle (claim 2395): its state is the upper byte
 * (0x00 unknown, 0x10 assembly and test, 0x20 RoT provisioning, 0x30 secured, 0x40
 * non-RoT debug, 0x50 recoverable RoT debug, 0x60 decommissioned), the lower byte is
 * implementation defined. Only the secured state (0x3000-0x30FF) is one a verifier may
 * trust: a platform in any other state signs its tokens all the same. The name is
 * "secured", "recoverable-rot-debug", ... or "invalid"; never NULL. */
bool tt_cca_lifecycle_secured(int64_t lc);
const char *tt_cca_lifecycle_name(int64_t lc);

/* SHA-256/384/512 of the RAK claim as "sha-256"... names it. TT_ERR_NOT_SUPPORTED. */
int tt_cca_hash(const char *alg, const uint8_t *p, size_t n, uint8_t *out, size_t *outn);

/* A realm public key claim: a raw EC point, or a COSE_Key map (kty EC2). */
int tt_cca_rak_pkey(const uint8_t *p, size_t n, EVP_PKEY **out);

#endif
