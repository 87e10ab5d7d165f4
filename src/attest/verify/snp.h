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

/* Trustee-shaped claims of a report (gen: 0 Milan, 1 Genoa, 2 Turin, -1 unknown). */
int tt_snp_claims(const struct tt_snp_report *r, int gen, json_t **out);

#endif
