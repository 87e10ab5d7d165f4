/*
 * configfs-tsm blobs -> the evidence JSON Trustee's attesters send (and turtle-as's
 * src/as/verifier_tee.c reads), for a report turtled took in a confidential guest
 * (TtAttestTee, docs/agent.md). Untrusted input: turtled relays what the kernel returned,
 * and libturtle trusts neither.
 */
#ifndef TT_ATTEST_VERIFY_TSM_H
#define TT_ATTEST_VERIFY_TSM_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* Largest blob accepted (outblob, auxblob, CC event log each). */
#define TT_TSM_BLOB_MAX (16u << 20)

/*
 * tee "snp": outblob is the 1184-byte report, auxblob AMD's certificate table (or empty)
 *   -> {"attestation_report": {the sev crate's fields}, "cert_chain": [{"cert_type":
 *      "VCEK"|"VLEK"|"ASK"|"ARK", "data": [bytes]}] or null when there is no table}
 * tee "tdx": outblob is the quote, ccel the CC event log (or empty)
 *   -> {"quote": base64, "cc_eventlog": base64 (only with a log)}
 * tee "cca": outblob is the CCA token -> {"token": [bytes]}
 * Nothing is verified here (that is the verifier's job), but every blob is checked for
 * its shape: a report of another length, a malformed certificate table, an empty blob,
 * an auxblob for a tee that has none: TT_ERR_DATA_INVALID / TRUNCATED / TRAILING / LIMIT.
 * TT_ERR_NOT_SUPPORTED for another tee. *out written on success.
 */
int tt_tsm_evidence(const char *tee, const uint8_t *outblob, size_t outblob_len,
    const uint8_t *auxblob, size_t auxblob_len, const uint8_t *ccel, size_t ccel_len,
    json_t **out);

#endif
