/*
 * Sealing a small secret (the soft provider's master key) to this machine's TPM.
 *
 * The secret becomes a TPM keyedhash sealed-data object created under the same
 * fixed-template storage root key as the TPM provider's keys (owner hierarchy, ECC
 * P-256, see tt_tpm_srk_template). Only the TPM that holds the owner seed can load the
 * object again, so the sealed blob is useless on any other machine, or after the owner
 * hierarchy was cleared.
 *
 * Blob format (what the caller stores, e.g. <data_dir>/soft-master.key):
 *   "TTSEALED1" (9 bytes: mark and format version) | TPM2B_PUBLIC | TPM2B_PRIVATE
 * with both structures marshalled by Tss2_MU (big-endian, size-prefixed), nothing after.
 *
 * Each call opens its own TCTI/ESYS connection and closes it again: sealing happens
 * once at start-up, and a short-lived connection keeps no TPM object slot busy. The
 * secret crosses the TPM transport inside a salted HMAC session with parameter
 * encryption, so it is not readable on the bus either.
 *
 * This header needs no tpm2-tss headers; it exists only when turtled is built with
 * TPM support (TT_HAVE_TPM).
 */
#ifndef TT_PROVIDERS_TPM_SEAL_H
#define TT_PROVIDERS_TPM_SEAL_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

#define TT_SEAL_MAGIC "TTSEALED1"
#define TT_SEAL_MAGIC_LEN 9
#define TT_SEAL_MAX_SECRET 128      /* MAX_SYM_DATA of the TPM 2.0 reference code */
#define TT_SEAL_MAX_BLOB 2048       /* far above any real TPM2B_PUBLIC + TPM2B_PRIVATE */

/* Where the TPM is and how to use its owner hierarchy. */
struct tt_seal_tpm {
	const char *tcti;               /* TCTI string, e.g. "device:/dev/tpmrm0" */
	const uint8_t *owner_auth;      /* owner hierarchy authorisation; NULL/0 = empty */
	size_t owner_auth_len;
};

/* Whether `blob` starts with the TTSEALED1 mark (says nothing about its validity). */
int tt_tpm_seal_is_sealed(const uint8_t *blob, size_t len);

/*
 * Seal `len` (1..TT_SEAL_MAX_SECRET) bytes; append the blob to `out`.
 * TT_ERR_COMMUNICATION when the TPM cannot be reached; other tt_err values as mapped
 * from the TPM's answer. Logs the reason.
 */
int tt_tpm_seal(const struct tt_seal_tpm *t, const uint8_t *secret, size_t len, struct tt_buf *out);

/*
 * Unseal `blob` into exactly `len` bytes at `secret` (written only on success; the
 * caller wipes it). TT_ERR_DATA_CORRUPT for a malformed blob or a wrong length,
 * TT_ERR_COMMUNICATION when the TPM cannot be reached, TT_ERR_NOT_PERMITTED when the
 * blob was sealed by another TPM (or under an owner seed that has since been cleared).
 */
int tt_tpm_unseal(const struct tt_seal_tpm *t, const uint8_t *blob, size_t blob_len,
    uint8_t *secret, size_t len);

#endif
