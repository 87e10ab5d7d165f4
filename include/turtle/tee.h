/*
 * libturtle: offline verification of confidential-computing evidence (AMD SEV-SNP, Intel
 * TDX/SGX, Arm CCA, Huawei virtCCA) with the verifiers turtle-as uses. Nothing here talks
 * to turtled or to the network; trust anchors are built into the library and may be
 * replaced by a directory. See docs/verifiers.md.
 *
 * Conventions are those of turtle/turtle.h: 0 or a negative tt_err; strings released
 * with tt_free().
 */
#ifndef TURTLE_TEE_H
#define TURTLE_TEE_H

#include <stddef.h>
#include <stdint.h>

#include "turtle/turtle.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TT_TEE_ANY_VMPL    (1u << 0)  /* snp: accept a report requested above VMPL 0 */
#define TT_TEE_REQUIRE_CRL (1u << 1)  /* refuse when a CRL of the chain is not supplied */
#define TT_TEE_ANY_TCB_STATUS (1u << 2) /* tdx/sgx: a TCB status other than UpToDate (not
                                         * Revoked) is verified and reported in the claims
                                         * (tcb_status) instead of refused */

struct tt_tee_verify_opts {
	int64_t now;                   /* unix seconds to judge certificates by; 0 = clock */
	const void *binding;           /* expected report data prefix (nonce, runtime-data
	                                * hash); NULL = not checked (recorded as such) */
	size_t binding_len;
	const void *init_data;         /* expected init data (SNP host_data, CCA RPV); NULL */
	size_t init_data_len;
	const void *collateral;        /* certificates etc. that came with the evidence */
	size_t collateral_len;
	const char *collateral_dir;    /* cache of collateral files (vcek.der, aik.der, ...) */
	const char *anchors_dir;       /* replaces the built-in trust anchors when set */
	unsigned flags;                /* TT_TEE_* */
};

/*
 * Verify `evidence` of type `tee` ("snp", "tdx", "sgx", "cca", "virtcca"). Returns 0 when
 * every link of the chain verified; otherwise the tt_err of the first failed check
 * (TT_ERR_NOT_SUPPORTED for an unknown tee). *result_json (may be NULL; tt_free) is
 * written whenever the verifier ran, success or not:
 *   {"tee": "...", "name": "...", "verified": bool, "claims": {...}|null,
 *    "chain": [{"link", "name", "verdict", "detail"}...], "reasons": ["..."]}
 * The claims are named as Trustee's verifier for that TEE names them.
 */
int tt_tee_verify(const char *tee, const void *evidence, size_t evidence_len,
	const struct tt_tee_verify_opts *opts, char **result_json);

/* The tee names this build verifies, comma-separated (static string). */
const char *tt_tee_list(void);

#ifdef __cplusplus
}
#endif

#endif
