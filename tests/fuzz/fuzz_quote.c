/* libFuzzer target: TPM2_Quote verification. Input layout (the seed in corpus/fuzz_quote is the trustee quote):
 *   u16le attest_len, u16le sig_len, u8 ak_format, u8 nonce_len, attest, sig, nonce, ak
 * with the PCR values fixed (24 SHA-256 PCRs: 0-16 and 23 zero, 17-22 all 0xff, as in the
 * trustee sample). Beyond "no crash": the return value and the status always agree. The
 * checks behind the signature are also run directly on the attest bytes, since random
 * inputs never carry a valid signature. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "evidence.h"
#include "internal.h"
#include "turtle/error.h"
#include "util/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct tt_pcrs pcrs;
	static int ready;
	struct tt_buf b;
	struct tt_quote_input in;
	struct tt_quote_result res;
	uint16_t alen, slen;
	uint8_t fmt, nlen;
	int r;

	if (!ready) {
		for (unsigned i = 0; i < 24; i++) {
			uint8_t v[32];

			memset(v, i >= 17 && i <= 22 ? 0xff : 0, sizeof(v));
			tt_pcrs_set(&pcrs, TT_EV_ALG_SHA256, i, v, sizeof(v));
		}
		ready = 1;
	}
	memset(&in, 0, sizeof(in));
	tt_buf_init_ro(&b, data, size);
	if (tt_buf_get_u16le(&b, &alen) != 0 || tt_buf_get_u16le(&b, &slen) != 0 ||
	    tt_buf_get_u8(&b, &fmt) != 0 || tt_buf_get_u8(&b, &nlen) != 0 ||
	    tt_buf_get_ref(&b, alen, &in.attest) != 0 || tt_buf_get_ref(&b, slen, &in.sig) != 0 ||
	    tt_buf_get_ref(&b, nlen, &in.nonce) != 0)
		return 0;
	in.attest_len = alen;
	in.sig_len = slen;
	in.nonce_len = nlen;
	in.ak_format = (enum tt_ak_format)(fmt % 3);
	in.ak_len = tt_buf_avail(&b);
	in.ak = tt_buf_ptr(&b);
	in.pcrs = &pcrs;
	r = tt_quote_verify(&in, &res);
	if ((r == 0) != (res.status == TT_QUOTE_OK) || tt_quote_status_name(res.status) == NULL)
		__builtin_trap();
	memset(&res, 0, sizeof(res));
	if (tt_ev_quote_check_attest(&in, TT_EV_ALG_SHA256, &res) == TT_QUOTE_OK &&
	    res.pcr_digest_len != 32)
		__builtin_trap();
	return 0;
}
