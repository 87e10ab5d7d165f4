/*
 * AMD SEV-SNP report parsing (exposed for the fuzz target and tests; the verifier is
 * tt_verifier_snp in the registry).
 */
#ifndef TT_ATTEST_VERIFY_SNP_H
#define TT_ATTEST_VERIFY_SNP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/x509.h>

#define TT_SNP_REPORT_LEN 0x4A0u

/* One TCB_VERSION split by generation (Turin adds FMC and moves the fields). */
struct tt_snp_tcb {
	uint64_t raw;
	bool has_fmc;
	uint8_t fmc, bootloader, tee, snp, microcode;
};

/* The report as the firmware lays it out; fields the version lacks are zero. */
struct tt_snp_report {
	uint32_t version, guest_svn;
	uint64_t policy;
	uint8_t family_id[16], image_id[16];
	uint32_t vmpl, sig_algo;
	uint64_t current_tcb_raw, plat_info;
	uint32_t flags;
	uint8_t report_data[64], measurement[48], host_data[32];
	uint8_t id_key_digest[48], author_key_digest[48];
	uint8_t report_id[32], report_id_ma[32];
	uint64_t reported_tcb_raw;
	bool has_cpuid;
	uint8_t cpuid_fam, cpuid_mod, cpuid_step;
	uint8_t chip_id[64];
	uint64_t committed_tcb_raw;
	uint8_t current_ver[4], committed_ver[4];   /* build, minor, major, reserved */
	uint64_t launch_tcb_raw;
	bool has_mit;
	uint64_t launch_mit_vector, current_mit_vector;
	uint8_t sig_r[72], sig_s[72];               /* little-endian */
};

/* Parse exactly TT_SNP_REPORT_LEN bytes. TT_ERR_TRUNCATED / TT_ERR_TRAILING for another
 * length, TT_ERR_NOT_SUPPORTED for a version outside 2..5. *out written on success. */
int tt_snp_report_parse(const uint8_t *p, size_t len, struct tt_snp_report *out);

/* The processor generation of a version 3+ report from its CPUID family/model: 0 Milan,
 * 1 Genoa, 2 Turin; -1 for a version 2 report (no CPUID) or an unknown model. The
 * collateral fetcher (src/attest/fetch) names the KDS product with it. */
int tt_snp_generation(const struct tt_snp_report *r);

/* AMD's certificate table (extended report, configfs-tsm auxblob): pushes the VCEK,
 * VLEK and ASK entries onto out. TT_ERR_TRUNCATED, TT_ERR_LIMIT, TT_ERR_DATA_INVALID. */
int tt_snp_cert_table_parse(const uint8_t *p, size_t len, STACK_OF(X509) *out);

enum tt_snp_cert_kind {
	TT_SNP_CERT_OTHER, TT_SNP_CERT_VCEK, TT_SNP_CERT_VLEK, TT_SNP_CERT_ASK, TT_SNP_CERT_ARK,
};

/* One certificate of the table: kind and its DER (inside the table, padding cut). */
struct tt_snp_cert_entry {
	enum tt_snp_cert_kind kind;
	const uint8_t *der;
	size_t len;
};

/* The table's entries of known GUIDs, in table order (other GUIDs are skipped; every
 * entry's range is still checked). At most `max` (TT_ERR_LIMIT beyond, and beyond 32
 * entries in all); each must be one DER SEQUENCE (judged by its header: the certificate
 * is parsed by its user) followed only by zeros (TT_ERR_DATA_INVALID). *n written on
 * success; ents point into p. */
int tt_snp_cert_table_walk(const uint8_t *p, size_t len, struct tt_snp_cert_entry *ents,
    size_t max, size_t *n);

/* Trustee's (the sev crate's) JSON of a report: the firmware's 1184 bytes from it (fields
 * a version lacks may be absent or null; reserved bytes are zero) and back. to_json
 * refuses (TT_ERR_DATA_INVALID) a report whose bytes its JSON could not carry whole
 * (non-zero reserved bytes, a policy above 2^63): the verifier could not rebuild what was
 * signed. One field table serves both directions (snp_json.c). */
int tt_snp_report_from_json(const json_t *rep, uint8_t out[TT_SNP_REPORT_LEN]);
/* Bytes as Trustee's JSON carries them: [numbers 0..255] or a base64 string (either
 * alphabet), at most max bytes, into *out (malloc'd). And bytes -> [numbers] (NULL on
 * memory exhaustion). */
int tt_snp_json_bytes(const json_t *v, size_t max, uint8_t **out, size_t *len);
json_t *tt_snp_json_array(const uint8_t *p, size_t n);
int tt_snp_report_to_json(const uint8_t *p, size_t len, json_t **out);

/* Trustee-shaped claims of a report (gen: 0 Milan, 1 Genoa, 2 Turin, -1 unknown). */
int tt_snp_claims(const struct tt_snp_report *r, int gen, json_t **out);

#endif
