/*
 * TPM node evidence: parsing and verification (the Verifier's view of a TPM node).
 *
 * Three inputs arrive from an attester and none of them is trusted until checked:
 *   - the TCG2 crypto-agile UEFI event log (securityfs binary_bios_measurements),
 *   - the IMA ascii log (ascii_runtime_measurements),
 *   - a TPM2_Quote: the marshalled TPMS_ATTEST, its TPMT_SIGNATURE, the AK public key and
 *     the PCR values the attester claims were quoted.
 * The logs are replayed into PCR values; the quote proves (signature by the AK, nonce,
 * PCR digest) which PCR values the TPM held; tt_evidence_check_pcrs ties the two together.
 *
 * Contract for every function here:
 *   - returns 0 or a negative enum tt_err; out-parameters are written only on success
 *     (the quote result is the exception: it always says why verification failed);
 *   - every count read from the input is checked against the bytes that remain and a limit
 *     from struct tt_evidence_limits before anything is allocated; no recursion on input;
 *   - results own their memory; free them with the matching *_free (NULL-safe).
 *
 * Errors: TT_ERR_TRUNCATED (input ends inside a structure), TT_ERR_DATA_INVALID (malformed
 * or inconsistent content: bad signature string, wrong template hash, ...), TT_ERR_LIMIT
 * (a configured maximum was hit), TT_ERR_NOT_SUPPORTED (hash or signature algorithm or
 * IMA template this build does not handle), TT_ERR_NO_MEMORY, TT_ERR_INVALID_ARGUMENT.
 */
#ifndef TT_ATTEST_EVIDENCE_H
#define TT_ATTEST_EVIDENCE_H

#include <stddef.h>
#include <stdint.h>

/* TPM_ALG_ID values of the hash algorithms a PCR bank may use (TPM 2.0 Part 2). */
#define TT_EV_ALG_SHA1 0x0004u
#define TT_EV_ALG_SHA256 0x000Bu
#define TT_EV_ALG_SHA384 0x000Cu
#define TT_EV_ALG_SHA512 0x000Du

#define TT_EV_NUM_PCRS 24u      /* PC Client TPMs have 24 PCRs */
#define TT_EV_MAX_BANKS 4u      /* sha1, sha256, sha384, sha512 */
#define TT_EV_MAX_DIGEST 64u    /* largest digest (SHA-512) */

/* Limits applied while parsing; tt_evidence_limits_default fills sane values. */
struct tt_evidence_limits {
	size_t max_log_bytes;        /* whole UEFI log or IMA log (default 16 MiB) */
	uint32_t max_events;         /* UEFI events (default 20000) */
	uint32_t max_event_size;     /* one UEFI event's data (default 1 MiB) */
	uint32_t max_boot_apps;      /* boot component digests kept (default 256) */
	size_t max_cmdline;          /* kernel command line kept (default 4096 bytes) */
	uint32_t max_ima_entries;    /* IMA lines (default 200000) */
	size_t max_ima_line;         /* one IMA line (default 8192 bytes) */
};
void tt_evidence_limits_default(struct tt_evidence_limits *l);

/* One PCR bank: value of each PCR whose bit is set in `mask`. */
struct tt_pcr_bank {
	uint16_t alg;                /* TT_EV_ALG_* */
	uint16_t size;               /* digest size in bytes */
	uint32_t mask;               /* bit i set: pcr[i] is meaningful */
	uint8_t pcr[TT_EV_NUM_PCRS][TT_EV_MAX_DIGEST];
};

/* A set of PCR values over up to four banks (replayed or quoted). */
struct tt_pcrs {
	unsigned nbanks;
	struct tt_pcr_bank bank[TT_EV_MAX_BANKS];
};

/* Bank of `alg` in `p`, or NULL. */
const struct tt_pcr_bank *tt_pcrs_bank(const struct tt_pcrs *p, uint16_t alg);
/* Set PCR `index` of bank `alg` (adding the bank if absent) to `digest` of `len` bytes.
 * TT_ERR_NOT_SUPPORTED for an unknown alg, TT_ERR_INVALID_ARGUMENT for a wrong length or
 * index, TT_ERR_LIMIT when all banks are taken. Used to build the quoted values. */
int tt_pcrs_set(struct tt_pcrs *p, uint16_t alg, unsigned index, const uint8_t *digest,
	size_t len);

/* A PCR selection in TPML_PCR_SELECTION order: the quote's pcrDigest covers, for each
 * entry in order, the selected PCRs in ascending index order. */
struct tt_pcr_selection {
	unsigned count;
	struct {
		uint16_t alg;
		uint32_t mask;       /* bit i: PCR i selected */
	} sel[TT_EV_MAX_BANKS];
};

/* Digest size of a TT_EV_ALG_* hash, or 0 if unsupported. */
size_t tt_evidence_alg_size(uint16_t alg);

/* ---------------------------------------------------------------------------------- */
/* TCG2 crypto-agile UEFI event log                                                     */

/* Event digests of one event, one per bank the log declares. */
struct tt_evlog_digests {
	uint32_t pcr;
	unsigned count;
	struct {
		uint16_t alg;
		uint16_t size;
		uint8_t d[TT_EV_MAX_DIGEST];
	} dig[TT_EV_MAX_BANKS];
};

enum tt_secure_boot {
	TT_SECURE_BOOT_UNKNOWN = -1,  /* no SecureBoot variable event in the log */
	TT_SECURE_BOOT_OFF = 0,
	TT_SECURE_BOOT_ON = 1,
};

/* Claims extracted from a replayed UEFI event log. */
struct tt_evlog_claims {
	/* Replayed PCR values, one bank per algorithm in the Spec ID event; `mask` marks the
	 * PCRs that at least one measured event extended (plus PCR 0 when a StartupLocality
	 * event set its start value), so PCRs the log does not speak for are not compared. */
	struct tt_pcrs pcrs;
	uint8_t startup_locality;         /* from StartupLocality EV_NO_ACTION, else 0 */
	uint32_t nevents;                 /* TCG_PCR_EVENT2 entries, EV_NO_ACTION included */
	uint32_t events_per_pcr[TT_EV_NUM_PCRS]; /* measured (non-NO_ACTION) events per PCR */
	enum tt_secure_boot secure_boot;  /* last EV_EFI_VARIABLE_DRIVER_CONFIG "SecureBoot" */
	/* EV_EFI_BOOT_SERVICES_APPLICATION digests in log order (boot loaders, shim, kernel
	 * images loaded through UEFI LoadImage). */
	uint32_t nboot_apps;
	struct tt_evlog_digests *boot_apps;
	/* Kernel command line from the last GRUB "kernel_cmdline: " EV_IPL event in PCR 8,
	 * prefix removed, NUL-terminated; NULL when the log has none. Best effort: only GRUB's
	 * format is recognised (see docs/evidence.md). */
	char *kernel_cmdline;
};

/* Parse and replay a binary_bios_measurements log. The first event must be the SHA-1
 * format TCG_PCR_EVENT carrying "Spec ID Event03"; the rest TCG_PCR_EVENT2. Every event must
 * carry a digest for every bank of the header, each of the declared size. */
int tt_evlog_parse(const uint8_t *log, size_t len, const struct tt_evidence_limits *lim,
	struct tt_evlog_claims **out);
void tt_evlog_claims_free(struct tt_evlog_claims *c);

/* ---------------------------------------------------------------------------------- */
/* IMA ascii measurement log                                                            */

struct tt_ima_entry {
	char *path;                       /* file name as logged, NUL-terminated */
	char algo[16];                    /* file hash algorithm name ("sha256") */
	uint16_t digest_len;
	uint8_t digest[TT_EV_MAX_DIGEST]; /* file data hash */
};

struct tt_ima_claims {
	/* PCR 10 replayed in the SHA-1 bank (template hashes as logged) and the SHA-256 bank
	 * (template data re-hashed with SHA-256, as the kernel does per bank); mask = 1<<10.
	 * Violation entries (all-zero template hash) extend 0xFF..FF, as the kernel does. */
	struct tt_pcrs pcrs;
	uint32_t nviolations;
	uint32_t nentries;
	/* Every measurement in log order (the same path may appear again: a history, not a
	 * map). Violations are not entries: they prove nothing about a file. */
	struct tt_ima_entry *entries;
};

/* Parse an IMA ascii log (templates ima-ng and ima-sig), check every template hash against
 * the template data recomputed from the line (TT_ERR_DATA_INVALID on the first mismatch),
 * and replay PCR 10. A violation line (all-zero template hash, which the kernel writes
 * instead of a hash) must carry an all-zero file digest, as the kernel logs it; one that
 * names a digest is refused (TT_ERR_DATA_INVALID), and no violation becomes an entry. The template-hash column may be SHA-1 (ascii_runtime_measurements) or
 * SHA-256 (ascii_runtime_measurements_sha256). Only PCR 10 lines are accepted. */
int tt_ima_parse(const char *text, size_t len, const struct tt_evidence_limits *lim,
	struct tt_ima_claims **out);
void tt_ima_claims_free(struct tt_ima_claims *c);
/* Digest of `path` (the last entry for it), or NULL. */
const struct tt_ima_entry *tt_ima_find(const struct tt_ima_claims *c, const char *path);

/* ---------------------------------------------------------------------------------- */
/* TPM2_Quote verification                                                              */

/* Why a quote was not accepted. The names are stable: turtle-as puts them in tokens. */
enum tt_quote_status {
	TT_QUOTE_OK = 0,
	TT_QUOTE_MALFORMED,           /* attest, signature or key bytes do not parse */
	TT_QUOTE_UNSUPPORTED_ALG,     /* signature scheme, hash or key type not handled */
	TT_QUOTE_BAD_KEY,             /* AK public key unusable (or does not fit the scheme) */
	TT_QUOTE_BAD_SIGNATURE,       /* signature does not verify over the attest bytes */
	TT_QUOTE_BAD_MAGIC,           /* magic != TPM_GENERATED_VALUE */
	TT_QUOTE_BAD_TYPE,            /* type != TPM_ST_ATTEST_QUOTE */
	TT_QUOTE_NONCE_MISMATCH,      /* extraData != expected nonce */
	TT_QUOTE_PCR_MISSING,         /* a selected PCR has no value in the input */
	TT_QUOTE_PCR_DIGEST_MISMATCH, /* pcrDigest != H(selected PCR values) */
};
/* "ok", "malformed", "unsupported-alg", "bad-key", "bad-signature", "bad-magic",
 * "bad-type", "nonce-mismatch", "pcr-missing", "pcr-digest-mismatch"; never NULL. */
const char *tt_quote_status_name(enum tt_quote_status s);

/* AK public key encodings. */
enum tt_ak_format {
	TT_AK_TPM2B_PUBLIC = 0,  /* marshalled TPM2B_PUBLIC (RSA or ECC P-256) */
	TT_AK_SPKI_DER,          /* X.509 SubjectPublicKeyInfo, DER */
	TT_AK_PEM,               /* "-----BEGIN PUBLIC KEY-----" */
};

struct tt_quote_input {
	const uint8_t *attest;   /* TPMS_ATTEST bytes (the TPM2B_ATTEST body, no size) */
	size_t attest_len;
	const uint8_t *sig;      /* marshalled TPMT_SIGNATURE */
	size_t sig_len;
	const uint8_t *ak;       /* AK public key in `ak_format` */
	size_t ak_len;
	enum tt_ak_format ak_format;
	const uint8_t *nonce;    /* expected qualifyingData (extraData) */
	size_t nonce_len;
	const struct tt_pcrs *pcrs; /* PCR values the attester claims were quoted */
};

/* SHA-256 of the AK's DER SubjectPublicKeyInfo, whichever encoding it comes in: one key,
 * one fingerprint (how turtle-as finds a node by the AK in evidence). TT_ERR_INVALID_ARGUMENT
 * when the bytes are not a usable AK (RSA or ECC P-256 for TPM2B_PUBLIC). */
int tt_ak_fingerprint(const uint8_t *ak, size_t len, enum tt_ak_format fmt, uint8_t out[32]);

struct tt_quote_result {
	enum tt_quote_status status;
	/* TPMS_ATTEST type (TPM_ST_ATTEST_*), set once the signature verified: a structure
	 * the AK signed that is not a quote (certify, time, ...) is named by it. */
	uint16_t attest_type;
	/* Filled once the attest bytes are authenticated (status past BAD_SIGNATURE). */
	struct tt_pcr_selection selection;
	uint16_t pcr_digest_len;
	uint8_t pcr_digest[TT_EV_MAX_DIGEST];
	uint64_t clock;
	uint32_t reset_count;
	uint32_t restart_count;
	uint8_t safe;
	uint64_t firmware_version;
};

/* Verify a quote. Order: key and signature parsed, signature checked over the raw attest
 * bytes (RSASSA-PKCS1-v1_5, RSA-PSS, ECDSA P-256; hash SHA-256/384/512 as the signature
 * names it), then the authenticated attest parsed with Tss2_MU_TPMS_ATTEST_Unmarshal:
 * magic, type, extraData == nonce (constant time), pcrDigest == H(values of the selected
 * PCRs, selection order), H being the signature's hash. Returns 0 only for TT_QUOTE_OK;
 * otherwise a negative tt_err (TT_ERR_INVALID_SIGNATURE, TT_ERR_DATA_INVALID,
 * TT_ERR_NOT_SUPPORTED, ...) and res->status says which check failed. */
int tt_quote_verify(const struct tt_quote_input *in, struct tt_quote_result *res);

/* "quote", "certify", "time", "nv", "command-audit", "session-audit", "creation",
 * "nv-digest", or "unknown" for a TPM_ST_ATTEST_* value; never NULL. */
const char *tt_attest_type_name(uint16_t type);

/* Compare replayed PCRs with quoted ones: for every PCR in `sel` that `replayed` has a
 * value for (its bank's mask), the quoted value must be present and equal. Returns 0, or
 * TT_ERR_DATA_INVALID with *bad_alg and *bad_pcr (each optional) naming the first mismatch.
 * *checked (optional) receives, per selection entry, the mask of PCRs compared. A bank in
 * `sel` that `replayed` lacks is skipped (nothing to compare). */
int tt_evidence_check_pcrs(const struct tt_pcrs *replayed, const struct tt_pcrs *quoted,
	const struct tt_pcr_selection *sel, uint32_t checked[TT_EV_MAX_BANKS],
	uint16_t *bad_alg, unsigned *bad_pcr);

#endif
