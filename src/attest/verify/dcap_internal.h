/* Helpers shared by the DCAP files; not part of the contract in dcap.h. */
#ifndef TT_ATTEST_VERIFY_DCAP_INTERNAL_H
#define TT_ATTEST_VERIFY_DCAP_INTERNAL_H

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "dcap.h"

#define TT_DCAP_MAX_CHAIN 8u

/* The SGX extensions of a PCK certificate (OID 1.2.840.113741.1.13.1) that verification
 * uses. */
struct tt_dcap_pck_ext {
	uint8_t ppid[16];
	uint8_t cpusvn[16];
	uint8_t comp_svn[16];          /* SGX TCB component SVNs 1..16 */
	uint16_t pcesvn;
	uint8_t pce_id[2];
	uint8_t fmspc[6];
	int sgx_type;                  /* 0 standard, 1 scalable, 2 scalable+integrity */
};

/* Certificates of a PEM text (len bytes, need not be NUL-terminated), in order; at most
 * TT_DCAP_MAX_CHAIN. NULL when there is none or the text holds anything else. */
STACK_OF(X509) *tt_dcap_pem_chain(const void *pem, size_t len);

/* Verify leaf (chain[0]) up to `root`, the only trusted certificate, with the rest of
 * `chain` as untrusted intermediates (a root copy in it is ignored), both CRLs required
 * for every non-anchor certificate, at time `now`. Returns the X509_V_* result (X509_V_OK
 * on success). */
int tt_dcap_chain_verify(X509 *root, STACK_OF(X509) *chain, X509_CRL *const *crls,
	unsigned ncrls, time_t now);

/* DER CRL; NULL if it does not parse. */
X509_CRL *tt_dcap_crl(const uint8_t *der, size_t len);

/* Parse the SGX extensions of a PCK leaf. TT_ERR_DATA_INVALID when absent or malformed. */
int tt_dcap_pck_ext_parse(X509 *pck, struct tt_dcap_pck_ext *out);

/* P-256 public key from x || y (64 bytes). NULL if not on the curve. */
EVP_PKEY *tt_dcap_p256_key(const uint8_t xy[64]);

/* ECDSA-SHA256 over msg with r || s (64 bytes). 1 valid, 0 not, -1 internal error. */
int tt_dcap_ecdsa_verify(EVP_PKEY *key, const uint8_t sig[64], const void *msg, size_t len);

/* Cache of positive chain verifications (dcap_cache.c): key = SHA-256 of every byte the
 * verification depended on; [lo, hi] = the interval in which all its certificates and CRLs
 * are valid. get: true on a hit with now in [lo, hi], *leaf up-referenced (when asked
 * for; the entry must hold one), *ext, cn[64] and cn2[64] (the names of the chain's
 * certificates for its links) copied (when asked for). */
bool tt_dcap_cache_get(const uint8_t key[32], time_t now, X509 **leaf,
	struct tt_dcap_pck_ext *ext, char cn[64], char cn2[64]);
void tt_dcap_cache_put(const uint8_t key[32], time_t lo, time_t hi, X509 *leaf,
	const struct tt_dcap_pck_ext *ext, const char *cn, const char *cn2);
/* Drop every entry (tests, and a caller that replaces its anchors). */
void tt_dcap_cache_flush(void);
/* The parsed collateral of these JSON bytes, shared: from a small cache of recent ones
 * (parsing is a function of the bytes), or parsed and added. Read-only for the caller;
 * release with tt_dcap_collateral_release. 0 or tt_dcap_collateral_parse's errors. */
int tt_dcap_collateral_shared(const char *json, size_t len, struct tt_dcap_collateral **out);
void tt_dcap_collateral_release(struct tt_dcap_collateral *c);

/* The validity interval of root, every certificate of chain and every CRL. */
void tt_dcap_cache_window(X509 *root, STACK_OF(X509) *chain, X509_CRL *const *crls,
	unsigned ncrls, time_t *lo, time_t *hi);

/* Claims (Trustee's names) of a verified quote; NULL on allocation failure. */
json_t *tt_dcap_claims(const struct tt_dcap_quote *q, const struct tt_dcap_result *res,
	const struct tt_dcap_pck_ext *pck);

#endif
