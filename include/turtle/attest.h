/*
 * libturtle: the node agent role of turtled (Turtle vendor opcodes 0x00010002-5: the TPM
 * ones served by the TPM provider, TtAttestTee by the core). See docs/agent.md.
 *
 * Conventions are those of turtle/turtle.h: 0 or a negative tt_err; out-parameters
 * written only on success; results released with their own *_free (NULL-safe).
 * The calls go to the client's provider (tt_client_set_provider(c, 3) for the TPM).
 */
#ifndef TURTLE_ATTEST_H
#define TURTLE_ATTEST_H

#include <stddef.h>
#include <stdint.h>

#include "turtle/turtle.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TT_ATTEST_MAX_BANKS 4
#define TT_ATTEST_NUM_PCRS 24

/* TPM hash algorithm ids of PCR banks. */
#define TT_TPM_ALG_SHA1 0x0004
#define TT_TPM_ALG_SHA256 0x000B
#define TT_TPM_ALG_SHA384 0x000C
#define TT_TPM_ALG_SHA512 0x000D

/* A PCR selection: one bank and a bit mask of PCRs 0..23. */
struct tt_pcr_bank_sel {
	uint16_t hash_alg;
	uint32_t mask;
};

/* The PCR values of one bank: value[i] (digest_size bytes) is PCR i when mask has bit i. */
struct tt_pcr_bank_values {
	uint16_t hash_alg;
	uint32_t mask;
	size_t digest_size;
	uint8_t value[TT_ATTEST_NUM_PCRS][64];
};

struct tt_attest_quote {
	uint8_t *attest;            /* marshalled TPMS_ATTEST */
	size_t attest_len;
	uint8_t *signature;         /* marshalled TPMT_SIGNATURE */
	size_t signature_len;
	uint8_t *ak_public;         /* marshalled TPM2B_PUBLIC */
	size_t ak_public_len;
	size_t n_banks;
	struct tt_pcr_bank_values banks[TT_ATTEST_MAX_BANKS];
	uint8_t *event_log;         /* UEFI event log; NULL/0 when the node has none readable */
	size_t event_log_len;
	uint8_t *ima_log;           /* IMA ascii_runtime_measurements; NULL/0 likewise */
	size_t ima_log_len;
};

/*
 * TtAttestQuote: TPM2_Quote by the node's AK over `sel` (n_sel banks; n_sel 0 means the
 * service's configured quote_pcrs) with `nonce` (at most 64 bytes) as qualifying data,
 * the PCR values and the logs. Any authenticated client may ask.
 */
int tt_attest_quote(struct tt_client *c, const uint8_t *nonce, size_t nonce_len,
    const struct tt_pcr_bank_sel *sel, size_t n_sel, struct tt_attest_quote **out);
void tt_attest_quote_free(struct tt_attest_quote *q);

struct tt_agent_identity {
	uint8_t *ek_public;         /* marshalled TPM2B_PUBLIC */
	size_t ek_public_len;
	uint8_t *ek_public_der;     /* DER SubjectPublicKeyInfo of the EK */
	size_t ek_public_der_len;
	uint8_t *ek_cert;           /* DER; NULL/0 when the TPM has no RSA EK certificate */
	size_t ek_cert_len;
	uint8_t *ak_public;         /* marshalled TPM2B_PUBLIC */
	size_t ak_public_len;
	uint8_t *ak_name;           /* nameAlg || digest */
	size_t ak_name_len;
};

/* TtAgentIdentity (admin only). */
int tt_agent_identity(struct tt_client *c, struct tt_agent_identity **out);
void tt_agent_identity_free(struct tt_agent_identity *id);

/*
 * TtAgentActivate (admin only): TPM2_ActivateCredential of a credential made for the AK
 * with the EK (marshalled TPM2B_ID_OBJECT and TPM2B_ENCRYPTED_SECRET, as turtle-as's
 * POST /v1/nodes returns them). *secret is released with tt_free_secret.
 */
int tt_agent_activate(struct tt_client *c, const uint8_t *credential_blob, size_t blob_len,
    const uint8_t *encrypted_secret, size_t secret_len, uint8_t **secret, size_t *secret_len_out);

/* A confidential guest's report, as configfs-tsm returned it to turtled. */
struct tt_attest_tee {
	char provider[65];          /* sev_guest, tdx_guest, arm_cca_guest */
	char tee[8];                /* "snp", "tdx" or "cca" */
	uint8_t *outblob;           /* SNP report, TDX quote or CCA token (never empty) */
	size_t outblob_len;
	uint8_t *auxblob;           /* SNP: AMD's certificate table; NULL/0 when none */
	size_t auxblob_len;
	uint64_t generation;        /* the configfs entry's generation after the read */
	uint8_t *cc_eventlog;       /* TDX: the CCEL log when turtled could read it; NULL/0 */
	size_t cc_eventlog_len;
};

#define TT_ATTEST_TEE_NO_PRIVLEVEL (-1)

/*
 * TtAttestTee (core operation; any authenticated client): a report of the guest turtled
 * runs in over `report_data` (at most 64 bytes; the kernel gets it zero-padded to 64).
 * `tee` ("snp", "tdx", "cca", or NULL for whichever the guest is) is checked by turtled
 * against the guest's provider (TT_ERR_NOT_SUPPORTED when it differs, or when the node is
 * not a confidential guest). `privlevel` 0..3 is SNP's VMPL, or TT_ATTEST_TEE_NO_PRIVLEVEL.
 * The result is checked: a known provider, the tee asked for, a non-empty outblob.
 */
int tt_attest_tee(struct tt_client *c, const char *tee, const uint8_t *report_data,
    size_t report_data_len, int privlevel, struct tt_attest_tee **out);
void tt_attest_tee_free(struct tt_attest_tee *t);

/*
 * The evidence JSON Trustee's attester for t->tee sends (and turtle-as reads), as a
 * NUL-terminated string (tt_free): snp {"attestation_report": {...}, "cert_chain": [...]
 * | null} with the certificate table parsed, tdx {"quote", "cc_eventlog"?} (base64), cca
 * {"token": [bytes]}. TT_ERR_DATA_INVALID (or _TRUNCATED, _TRAILING, _LIMIT) for blobs of
 * the wrong shape.
 */
int tt_attest_tee_evidence(const struct tt_attest_tee *t, char **json);

#ifdef __cplusplus
}
#endif

#endif
