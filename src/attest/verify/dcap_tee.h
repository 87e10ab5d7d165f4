/* The tdx and sgx tables' shared body (dcap_tee.c). */
#ifndef TT_ATTEST_VERIFY_DCAP_TEE_H
#define TT_ATTEST_VERIFY_DCAP_TEE_H

#include <stdbool.h>

#include "verify.h"

/* The verify.h contract for Intel DCAP evidence; tdx selects which TEE the quote must be. */
int tt_dcap_tee_verify(const struct tt_verify_in *in, struct tt_verify_result *res, bool tdx);

#endif
