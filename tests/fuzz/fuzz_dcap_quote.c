/* libFuzzer target: the DCAP quote parser (src/attest/verify/dcap_quote.c) and what reads
 * the parsed quote's unauthenticated parts: the PEM PCK chain and the SGX extensions of its
 * leaf. Seeds: the shared TDX v4, TDX v5 and SGX v3 quotes. Beyond "no crash": an accepted
 * quote's borrowed pointers lie inside the input, its sizes are the documented ones, and
 * its signed part is a prefix of the input. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dcap.h"
#include "dcap_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void inside(const uint8_t *p, size_t n, const uint8_t *data, size_t size)
{
	if (p < data || n > size || (size_t)(p - data) > size - n)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tt_dcap_quote q;
	struct tt_dcap_pck_ext e;
	STACK_OF(X509) *chain;

	if (tt_dcap_quote_parse(data, size, &q) != 0)
		return 0;
	if (q.version < 3 || q.version > 5 || q.signed_data != data || q.signed_len > size)
		abort();
	inside(q.qe_report_raw, TT_DCAP_ENCLAVE_REPORT_LEN, data, size);
	inside(q.qe_auth, q.qe_auth_len, data, size);
	inside(q.cert_data, q.cert_len, data, size);
	if ((q.body_type == TT_DCAP_BODY_SGX) != (q.tee_type == TT_DCAP_TEE_SGX) ||
	    q.cert_type != TT_DCAP_CERT_PCK_CHAIN)
		abort();
	if ((chain = tt_dcap_pem_chain(q.cert_data, q.cert_len)) != NULL) {
		if (sk_X509_num(chain) < 1 || sk_X509_num(chain) > (int)TT_DCAP_MAX_CHAIN)
			abort();
		if (tt_dcap_pck_ext_parse(sk_X509_value(chain, 0), &e) == 0 && e.sgx_type > 2)
			abort();
		sk_X509_pop_free(chain, X509_free);
	}
	return 0;
}
