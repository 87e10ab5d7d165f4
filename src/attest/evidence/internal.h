/* Helpers shared by the evidence parsers; not part of the contract in evidence.h. */
#ifndef TT_ATTEST_EVIDENCE_INTERNAL_H
#define TT_ATTEST_EVIDENCE_INTERNAL_H

#include <openssl/evp.h>

#include "evidence.h"

/* OpenSSL digest for a TT_EV_ALG_*, or NULL. */
const EVP_MD *tt_ev_md(uint16_t alg);
/* out = H(a || b) with the bank's hash; `size` bytes each. */
int tt_ev_extend(uint16_t alg, uint8_t *pcr, const uint8_t *digest, size_t size);
/* Index of bank `alg` in p, adding it (all PCRs zero, empty mask) if absent; -1 when full
 * or the alg is unknown. */
int tt_ev_bank_index(struct tt_pcrs *p, uint16_t alg);

/* The checks of tt_quote_verify that follow a good signature: unmarshal the attest, magic,
 * type, nonce, PCR digest with `hash` (a TT_EV_ALG_*). Separate so that the fuzzer can reach
 * them without a valid signature; callers outside quote.c must verify the signature first. */
enum tt_quote_status tt_ev_quote_check_attest(const struct tt_quote_input *in, uint16_t hash,
	struct tt_quote_result *res);

#endif
