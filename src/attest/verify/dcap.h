/*
 * Intel DCAP evidence: SGX quotes (v3) and TDX quotes (v4, v5) verified offline against
 * Intel's collateral (PCK certificate chain and CRLs, TCB info, QE identity).
 *
 * Trust runs from one anchor, Intel's SGX Root CA, given by the caller (shipped as
 * data/trust/intel-sgx-root-ca.pem, fingerprint in docs/evidence.md):
 *   root CA -> PCK Platform/Processor CA -> PCK leaf (in the quote)       [CRLs: root, PCK]
 *   PCK leaf signs the QE report; the QE report's report_data binds
 *     SHA-256(attestation key || QE authentication data);
 *   the attestation key signs the quote header and body;
 *   root CA -> TCB signing cert signs the TCB info and the QE identity JSON;
 *   TCB info (matched by the PCK's FMSPC/PCE-ID, compared with the PCK's TCB SVNs and, for
 *   TDX, the TD report's TEE TCB SVN) and QE identity (compared with the QE report) give
 *   the TCB status.
 * Nothing here touches the network or the clock: "now" is an input.
 *
 * Contract for every function here: returns 0 or a negative enum tt_err; out-parameters
 * are written only on success (verification results excepted: they always say which
 * check failed); every length read from the input is checked against the bytes left and a
 * fixed limit before use; results own their memory and have a NULL-safe *_free.
 */
#ifndef TT_ATTEST_VERIFY_DCAP_H
#define TT_ATTEST_VERIFY_DCAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>
#include <openssl/x509.h>

/* ---------------------------------------------------------------------------------- */
/* Quote                                                                                */

#define TT_DCAP_TEE_SGX 0x00000000u
#define TT_DCAP_TEE_TDX 0x00000081u
#define TT_DCAP_ATT_KEY_ECDSA_P256 2u
#define TT_DCAP_CERT_PCK_CHAIN 5u        /* PEM: PCK leaf, PCK CA, root */
#define TT_DCAP_CERT_QE_REPORT 6u        /* v4/v5: QE report certification data */
#define TT_DCAP_BODY_SGX 1u              /* v5 body types */
#define TT_DCAP_BODY_TD10 2u
#define TT_DCAP_BODY_TD15 3u

#define TT_DCAP_HEADER_LEN 48u
#define TT_DCAP_ENCLAVE_REPORT_LEN 384u
#define TT_DCAP_TD10_LEN 584u
#define TT_DCAP_TD15_LEN 648u
#define TT_DCAP_MAX_QUOTE (64u * 1024u)  /* real quotes are ~5 KiB */

/* SGX REPORT body (384 bytes): the application enclave's in an SGX quote, and the QE's. */
struct tt_dcap_enclave_report {
	uint8_t cpu_svn[16];
	uint8_t misc_select[4];        /* little-endian u32 as stored */
	uint8_t reserved1[12];
	uint8_t isv_ext_prod_id[16];
	uint8_t attributes[16];        /* flags (8) || xfrm (8) */
	uint8_t mr_enclave[32];
	uint8_t reserved2[32];
	uint8_t mr_signer[32];
	uint8_t reserved3[32];
	uint8_t config_id[64];
	uint16_t isv_prod_id;
	uint16_t isv_svn;
	uint16_t config_svn;
	uint8_t reserved4[42];
	uint8_t isv_family_id[16];
	uint8_t report_data[64];
};

/* TD report in a TDX quote (TD 1.0: 584 bytes; TD 1.5 adds the last two fields). */
struct tt_dcap_td_report {
	uint8_t tee_tcb_svn[16];
	uint8_t mr_seam[48];
	uint8_t mr_signer_seam[48];
	uint8_t seam_attributes[8];
	uint8_t td_attributes[8];
	uint8_t xfam[8];
	uint8_t mr_td[48];
	uint8_t mr_config_id[48];
	uint8_t mr_owner[48];
	uint8_t mr_owner_config[48];
	uint8_t rtmr[4][48];
	uint8_t report_data[64];
	bool v15;                      /* the two fields below are present */
	uint8_t tee_tcb_svn2[16];
	uint8_t mr_servicetd[48];
};

/* A parsed quote. The pointers borrow the caller's quote bytes. */
struct tt_dcap_quote {
	uint16_t version;              /* 3, 4 or 5 */
	uint16_t att_key_type;
	uint32_t tee_type;             /* TT_DCAP_TEE_*; v3 quotes are SGX */
	uint8_t header[TT_DCAP_HEADER_LEN]; /* raw header (claims) */
	uint16_t body_type;            /* TT_DCAP_BODY_*; set for every version */
	uint32_t body_size;
	struct tt_dcap_enclave_report sgx; /* when body_type == SGX */
	struct tt_dcap_td_report td;   /* when body_type == TD10 / TD15 */
	const uint8_t *signed_data;    /* header and body: what the attestation key signs */
	size_t signed_len;
	uint8_t signature[64];         /* r || s, big-endian */
	uint8_t attest_key[64];        /* x || y of the P-256 attestation key */
	const uint8_t *qe_report_raw;  /* 384 bytes signed by the PCK */
	struct tt_dcap_enclave_report qe_report;
	uint8_t qe_report_sig[64];
	const uint8_t *qe_auth;        /* QE authentication data */
	size_t qe_auth_len;
	uint16_t cert_type;            /* TT_DCAP_CERT_PCK_CHAIN (others are refused) */
	const uint8_t *cert_data;      /* PEM chain, not NUL-terminated */
	size_t cert_len;
};

/* Parse a v3/v4/v5 quote with an ECDSA P-256 attestation key and a PEM PCK chain.
 * TT_ERR_TRUNCATED, TT_ERR_TRAILING, TT_ERR_DATA_INVALID (inconsistent sizes or types),
 * TT_ERR_NOT_SUPPORTED (other versions, key types, certification data), TT_ERR_LIMIT. */
int tt_dcap_quote_parse(const uint8_t *q, size_t len, struct tt_dcap_quote *out);

/* ---------------------------------------------------------------------------------- */
/* Collateral                                                                           */

enum tt_dcap_tcb_status {
	TT_DCAP_TCB_UNKNOWN = 0,       /* no level matched / not evaluated */
	TT_DCAP_TCB_UP_TO_DATE,
	TT_DCAP_TCB_SW_HARDENING_NEEDED,
	TT_DCAP_TCB_CONFIGURATION_NEEDED,
	TT_DCAP_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED,
	TT_DCAP_TCB_OUT_OF_DATE,
	TT_DCAP_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED,
	TT_DCAP_TCB_REVOKED,
	/* TD 1.5 only, computed (never in a TCB info): the platform and the TDX module are
	 * OutOfDate for the running TD, but the TDX module the platform now runs
	 * (tee_tcb_svn_2) is current: relaunching the TD brings it up to date. */
	TT_DCAP_TCB_TD_RELAUNCH_ADVISED,
	TT_DCAP_TCB_TD_RELAUNCH_ADVISED_CONFIGURATION_NEEDED,
};
/* Intel's names ("UpToDate", "SWHardeningNeeded", ...; "Unknown"); never NULL. */
const char *tt_dcap_tcb_status_name(enum tt_dcap_tcb_status s);

#define TT_DCAP_MAX_LEVELS 64u
#define TT_DCAP_MAX_ADVISORIES 64u
#define TT_DCAP_MAX_MODULE_IDS 16u

struct tt_dcap_advisories {
	unsigned n;
	char **id;                     /* "INTEL-SA-00615", ... */
};

struct tt_dcap_tcb_level {
	uint8_t sgx[16];               /* sgxtcbcomponents svn */
	uint16_t pcesvn;
	bool has_tdx;
	uint8_t tdx[16];               /* tdxtcbcomponents svn */
	uint16_t isvsvn;               /* QE identity / TDX module levels */
	enum tt_dcap_tcb_status status;
	time_t tcb_date;
	struct tt_dcap_advisories adv;
};

struct tt_dcap_module_identity {
	char id[16];                   /* "TDX_03" */
	uint8_t mrsigner[48];
	uint8_t attributes[8];
	uint8_t attributes_mask[8];
	unsigned nlevels;
	struct tt_dcap_tcb_level *levels;
};

struct tt_dcap_tcb_info {
	bool tdx;                      /* id "TDX" (else "SGX") */
	unsigned version;              /* 2 or 3 */
	time_t issue_date, next_update;
	uint8_t fmspc[6];
	uint8_t pce_id[2];
	uint32_t tcb_eval_num;
	bool has_module;               /* tdxModule */
	struct tt_dcap_module_identity module;
	unsigned nmodule_ids;
	struct tt_dcap_module_identity *module_ids;
	unsigned nlevels;
	struct tt_dcap_tcb_level *levels;
};

struct tt_dcap_qe_identity {
	bool td_qe;                    /* id "TD_QE" (else "QE") */
	unsigned version;
	time_t issue_date, next_update;
	uint32_t tcb_eval_num;
	uint32_t miscselect, miscselect_mask;
	uint8_t attributes[16], attributes_mask[16];
	uint8_t mrsigner[32];
	uint16_t isvprodid;
	unsigned nlevels;
	struct tt_dcap_tcb_level *levels;
};

/* The collateral of one quote, as the JSON that Intel's PCCS / dcap-qvl hand out:
 *   {"pck_crl_issuer_chain": PEM, "root_ca_crl": hex DER, "pck_crl": hex DER,
 *    "tcb_info_issuer_chain": PEM, "tcb_info": JSON text, "tcb_info_signature": hex r||s,
 *    "qe_identity_issuer_chain": PEM, "qe_identity": JSON text,
 *    "qe_identity_signature": hex r||s}
 * The signatures cover the exact bytes of the "tcb_info" and "qe_identity" strings. */
struct tt_dcap_collateral {
	char *pck_crl_issuer_chain;
	uint8_t *root_ca_crl;
	size_t root_ca_crl_len;
	uint8_t *pck_crl;
	size_t pck_crl_len;
	char *tcb_info_issuer_chain;
	char *tcb_info_json;
	size_t tcb_info_json_len;
	uint8_t tcb_info_sig[64];
	char *qe_identity_issuer_chain;
	char *qe_identity_json;
	size_t qe_identity_json_len;
	uint8_t qe_identity_sig[64];
	/* Parsed from the two JSON texts above (not yet authenticated). */
	struct tt_dcap_tcb_info tcb_info;
	struct tt_dcap_qe_identity qe_identity;
	unsigned refs;                 /* shared copies (dcap_cache.c); 0 for a private one */
};

#define TT_DCAP_MAX_COLLATERAL (1024u * 1024u)

/* Parse the collateral JSON (and the TCB info and QE identity inside it). TT_ERR_PARSE
 * (not JSON), TT_ERR_DATA_INVALID (a member missing, of the wrong type or malformed),
 * TT_ERR_LIMIT, TT_ERR_NO_MEMORY. */
int tt_dcap_collateral_parse(const char *json, size_t len, struct tt_dcap_collateral **out);
void tt_dcap_collateral_free(struct tt_dcap_collateral *c);
/* The TCB info / QE identity bodies alone (also used by the fuzzer). */
int tt_dcap_tcb_info_parse(const char *json, size_t len, struct tt_dcap_tcb_info *out);
void tt_dcap_tcb_info_clear(struct tt_dcap_tcb_info *t);
int tt_dcap_qe_identity_parse(const char *json, size_t len, struct tt_dcap_qe_identity *out);
void tt_dcap_qe_identity_clear(struct tt_dcap_qe_identity *q);

/* ---------------------------------------------------------------------------------- */
/* Verification                                                                         */

/* Which check decided the verdict. The names are stable: they go into tokens. */
enum tt_dcap_check {
	TT_DCAP_OK = 0,
	TT_DCAP_MALFORMED,             /* quote does not parse */
	TT_DCAP_UNSUPPORTED,           /* version, key type, certification data type */
	TT_DCAP_COLLATERAL_MISSING,
	TT_DCAP_COLLATERAL_MALFORMED,
	TT_DCAP_PCK_CHAIN,             /* PCK chain does not verify to the anchor at "now" */
	TT_DCAP_PCK_REVOKED,
	TT_DCAP_CRL,                   /* a CRL is missing, badly signed or expired */
	TT_DCAP_PCK_EXTENSIONS,        /* SGX extensions of the PCK leaf unusable */
	TT_DCAP_TCB_INFO_CHAIN,
	TT_DCAP_TCB_INFO_SIGNATURE,
	TT_DCAP_QE_IDENTITY_CHAIN,
	TT_DCAP_QE_IDENTITY_SIGNATURE,
	TT_DCAP_COLLATERAL_EXPIRED,    /* now past a nextUpdate (or before an issueDate) */
	TT_DCAP_TCB_INFO_MISMATCH,     /* TEE, FMSPC or PCE-ID differ from the quote/PCK */
	TT_DCAP_QE_REPORT_SIGNATURE,
	TT_DCAP_QE_REPORT_DATA,        /* QE report does not bind the attestation key */
	TT_DCAP_QE_IDENTITY_MISMATCH,  /* mrsigner, isvprodid, attributes, miscselect, id */
	TT_DCAP_QUOTE_SIGNATURE,
	TT_DCAP_TDX_MODULE_MISMATCH,   /* mr_signer_seam / seam attributes / module id */
	TT_DCAP_TCB_NOT_SUPPORTED,     /* no TCB level matched */
	TT_DCAP_REPORT_DATA_MISMATCH,
	TT_DCAP_EVENTLOG,              /* CCEL malformed or its replay differs from RTMRs */
	TT_DCAP_INTERNAL,              /* out of memory, OpenSSL failure */
};
/* "ok", "malformed", "unsupported", "collateral-missing", ...; never NULL. */
const char *tt_dcap_check_name(enum tt_dcap_check c);

/* One link of the chain of trust, from the anchor down, in the order it was checked. */
struct tt_dcap_link {
	const char *name;              /* static: "root-ca", "pck-chain", "qe-report", ... */
	bool ok;
	char detail[160];              /* subject, status, what differed */
};
#define TT_DCAP_MAX_LINKS 24u

struct tt_dcap_input {
	const uint8_t *quote;
	size_t quote_len;
	const struct tt_dcap_collateral *collateral; /* NULL: refused (collateral-missing) */
	X509 *root;                    /* trust anchor (Intel SGX Root CA) */
	time_t now;
	/* Expected report_data (nonce binding): compared with the report's 64 bytes, the
	 * expected value zero-padded to 64 (longer values are refused). NULL: not checked. */
	const uint8_t *report_data;
	size_t report_data_len;
	/* TDX only: CC event log (ACPI CCEL contents), replayed into RTMR 0-3. Optional. */
	const uint8_t *ccel;
	size_t ccel_len;
	/* Mask of (1u << enum tt_dcap_tcb_status) values that count as affirming besides
	 * UpToDate. 0 = only UpToDate (the default). Revoked and Unknown never affirm. */
	unsigned accept_status;
};

struct tt_dcap_result {
	enum tt_dcap_check check;      /* TT_DCAP_OK when every check passed */
	enum tt_dcap_tcb_status tcb_status;  /* converged (TCB level, QE, TDX module) */
	enum tt_dcap_tcb_status qe_status;
	enum tt_dcap_tcb_status module_status; /* TDX module identity (UNKNOWN if not used) */
	bool affirming;                /* check OK and tcb_status accepted by the policy */
	bool tdx;
	struct tt_dcap_advisories adv; /* of the matched TCB level(s) and QE level */
	time_t tcb_date;
	time_t earliest_expiration;    /* min of the collateral's nextUpdate values */
	char reason[200];              /* why not affirming; empty when affirming */
	unsigned nlinks;
	struct tt_dcap_link links[TT_DCAP_MAX_LINKS];
	/* Claims (Trustee's names, the content of "tdx" or "sgx"): set once the quote
	 * signature verified (even when the TCB status is not affirming); NULL before. */
	json_t *claims;
	struct tt_dcap_quote quote;    /* borrows in->quote */
};

/* Verify. Returns 0 when every check passed (res->affirming then says whether the TCB
 * status is accepted), otherwise a negative tt_err as verify.h lists them
 * (TT_ERR_INVALID_SIGNATURE, TT_ERR_DATA_INVALID, TT_ERR_NOT_SUPPORTED,
 * TT_ERR_NOT_PERMITTED for expired or revoked collateral/certificates,
 * TT_ERR_DOES_NOT_EXIST without collateral, TT_ERR_NOT_AUTHENTICATED for a report_data
 * mismatch, TT_ERR_NO_MEMORY) and res->check names the failed check.
 * res is always initialised; release it with tt_dcap_result_clear. */
int tt_dcap_verify(const struct tt_dcap_input *in, struct tt_dcap_result *res);
void tt_dcap_result_clear(struct tt_dcap_result *res);

/* Load the first certificate of a PEM file (the trust anchor). NULL on failure. */
X509 *tt_dcap_load_root(const char *path);

/* ---------------------------------------------------------------------------------- */
/* TDX CC event log (CCEL)                                                              */

#define TT_DCAP_MAX_CCEL (4u * 1024u * 1024u)
#define TT_DCAP_MAX_CCEL_EVENTS 4096u

/* Parse a TCG2 crypto-agile log whose events extend MR index 1-4 (RTMR 0-3) with
 * SHA-384, replay it from zero and compare with rtmr[4][48]. Trailing 0xff/0x00 padding
 * (the ACPI table's unused space) is allowed. On success *events (may be NULL) is a
 * JSON array of the measured events as Trustee names them (index, type, type_name,
 * digests[{alg, digest}], event (base64), details). TT_ERR_DATA_INVALID for a malformed
 * log, an event outside RTMR 0-3 or a replay that differs. */
int tt_dcap_ccel_replay(const uint8_t *log, size_t len, const uint8_t rtmr[4][48],
	json_t **events);

#endif
