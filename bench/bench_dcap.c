/*
 * bench_dcap: Intel DCAP quote verifications per second against the raw cost of the ECDSA
 * chain those verifications stand on, measured in alternating slices of the same run.
 *
 *   raw     the nine ECDSA P-256 verifications a TDX quote's chain consists of, with keys
 *           and certificates parsed beforehand: PCK leaf (by the PCK CA), PCK CA (by the
 *           root), root CRL, PCK CRL, TCB signing certificate, TCB info, QE identity,
 *           QE report, quote
 *   verify  tt_dcap_verify of the shared TDX v4 quote with its collateral parsed once (as
 *           a service keeps it), anchor loaded once
 *   table   tt_verify("tdx") with the collateral JSON bytes (parsed on every call), the
 *           built-in anchor and the report-data binding: what `turtle verify` does per call
 *
 * Prints each mode's rate, p50/p99 latency and the ratio to raw. The vectors are the
 * unit tests' (tests/unit/verify/data/dcap), judged at 2025-07-01.
 *
 *   bench_dcap [--seconds N] [--threads 1,2]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "bench.h"
#include "dcap.h"
#include "dcap_internal.h"
#include "verify.h"

#define NOW 1751328000

struct ctx {
	uint8_t *quote;
	size_t qlen;
	char *coljson;
	size_t cjlen;
	struct tt_dcap_collateral *col;
	X509 *root;
	/* raw */
	STACK_OF(X509) *pck, *tcb;
	X509_CRL *crl_root, *crl_pck;
	EVP_PKEY *akey;
	struct tt_dcap_quote q;
};

static int op_raw(void *state)
{
	struct ctx *c = state;
	X509 *leaf = sk_X509_value(c->pck, 0), *ca = sk_X509_value(c->pck, 1);
	X509 *signer = sk_X509_value(c->tcb, 0);
	EVP_PKEY *rk = X509_get0_pubkey(c->root), *cak = X509_get0_pubkey(ca);
	EVP_PKEY *sk = X509_get0_pubkey(signer), *pk = X509_get0_pubkey(leaf);

	if (X509_verify(leaf, cak) != 1 || X509_verify(ca, rk) != 1 ||
	    X509_CRL_verify(c->crl_root, rk) != 1 || X509_CRL_verify(c->crl_pck, cak) != 1 ||
	    X509_verify(signer, rk) != 1 ||
	    tt_dcap_ecdsa_verify(sk, c->col->tcb_info_sig, c->col->tcb_info_json,
		c->col->tcb_info_json_len) != 1 ||
	    tt_dcap_ecdsa_verify(sk, c->col->qe_identity_sig, c->col->qe_identity_json,
		c->col->qe_identity_json_len) != 1 ||
	    tt_dcap_ecdsa_verify(pk, c->q.qe_report_sig, c->q.qe_report_raw, 384) != 1 ||
	    tt_dcap_ecdsa_verify(c->akey, c->q.signature, c->q.signed_data, c->q.signed_len) != 1)
		return -1;
	return 0;
}

static int op_verify(void *state)
{
	struct ctx *c = state;
	struct tt_dcap_input in;
	struct tt_dcap_result res;
	int r;

	memset(&in, 0, sizeof(in));
	in.quote = c->quote;
	in.quote_len = c->qlen;
	in.collateral = c->col;
	in.root = c->root;
	in.now = NOW;
	in.report_data = c->q.td.report_data;
	in.report_data_len = 64;
	r = tt_dcap_verify(&in, &res);
	if (r == 0 && !res.affirming)
		r = -1;
	tt_dcap_result_clear(&res);
	return r;
}

static int op_table(void *state)
{
	struct ctx *c = state;
	struct tt_verify_trust trust = { .collateral = (const uint8_t *)c->coljson,
		.collateral_len = c->cjlen };
	struct tt_verify_in in = { .evidence = c->quote, .evidence_len = c->qlen,
		.binding = c->q.td.report_data, .binding_len = 64, .now = NOW, .trust = &trust };
	struct tt_verify_result res = { 0 };
	int r = tt_verify(tt_verifier_find("tdx"), &in, &res);

	tt_verify_result_clear(&res);
	return r;
}

static void load(struct ctx *c)
{
	const unsigned char *p;

	c->quote = bench_slurp(BENCH_DCAP_DATA, "tdx_quote", &c->qlen);
	c->coljson = (char *)bench_slurp(BENCH_DCAP_DATA, "tdx_quote_collateral.json", &c->cjlen);
	if (tt_dcap_collateral_parse(c->coljson, c->cjlen, &c->col) != 0 ||
	    (c->root = tt_dcap_load_root(BENCH_DCAP_ROOT)) == NULL ||
	    tt_dcap_quote_parse(c->quote, c->qlen, &c->q) != 0 ||
	    (c->pck = tt_dcap_pem_chain(c->q.cert_data, c->q.cert_len)) == NULL ||
	    (c->tcb = tt_dcap_pem_chain(c->col->tcb_info_issuer_chain,
		strlen(c->col->tcb_info_issuer_chain))) == NULL ||
	    (c->akey = tt_dcap_p256_key(c->q.attest_key)) == NULL) {
		fprintf(stderr, "bench_dcap: vectors do not load\n");
		exit(1);
	}
	p = c->col->root_ca_crl;
	c->crl_root = d2i_X509_CRL(NULL, &p, (long)c->col->root_ca_crl_len);
	p = c->col->pck_crl;
	c->crl_pck = d2i_X509_CRL(NULL, &p, (long)c->col->pck_crl_len);
	if (c->crl_root == NULL || c->crl_pck == NULL || op_raw(c) != 0 || op_verify(c) != 0 ||
	    op_table(c) != 0) {
		fprintf(stderr, "bench_dcap: a mode fails on the vectors\n");
		exit(1);
	}
}

int main(int argc, char **argv)
{
	unsigned seconds = 3, threads[4] = { 1, 2 }, nthreads = 2, rounds = 3;
	struct ctx c;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
			seconds = bench_opt_uint("--seconds", argv[++i], 1, 600);
		} else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
			char *s = argv[++i], *save = NULL, *t;

			nthreads = 0;
			for (t = strtok_r(s, ",", &save); t != NULL && nthreads < 4;
			     t = strtok_r(NULL, ",", &save))
				threads[nthreads++] = bench_opt_uint("--threads", t, 1, 64);
		} else {
			fprintf(stderr, "usage: bench_dcap [--seconds N] [--threads 1,2]\n");
			return 2;
		}
	}
	memset(&c, 0, sizeof(c));
	load(&c);
	printf("DCAP (TDX v4 quote + collateral) verifications/s vs its raw ECDSA chain "
		"(9 P-256 verifications), %u s per mode, alternating slices\n", seconds);
	printf("%7s  %-7s %12s %9s %9s %8s\n", "threads", "mode", "ops/s", "p50 us", "p99 us",
		"vs raw");
	for (unsigned t = 0; t < nthreads; t++) {
		struct bench_ops raw = { NULL, op_raw, NULL, &c };
		struct bench_ops ver = { NULL, op_verify, NULL, &c };
		struct bench_ops tab = { NULL, op_table, NULL, &c };
		struct bench_result rr, rv, rt;
		unsigned slice = seconds * 1000 / rounds;

		bench_result_init(&rr, threads[t], 0);
		bench_result_init(&rv, threads[t], 0);
		bench_result_init(&rt, threads[t], 0);
		for (unsigned k = 0; k < rounds; k++) {
			if (bench_run_more(&raw, 100, slice, &rr) != 0 ||
			    bench_run_more(&ver, 100, slice, &rv) != 0 ||
			    bench_run_more(&tab, 100, slice, &rt) != 0)
				return 1;
		}
		bench_result_finish(&rr);
		bench_result_finish(&rv);
		bench_result_finish(&rt);
		if (rr.errors || rv.errors || rt.errors)
			fprintf(stderr, "bench_dcap: errors raw %llu verify %llu table %llu\n",
				(unsigned long long)rr.errors, (unsigned long long)rv.errors,
				(unsigned long long)rt.errors);
		printf("%7u  %-7s %12.0f %9.1f %9.1f %8s\n", threads[t], "raw", rr.ops_per_s,
			rr.p50_us, rr.p99_us, "1.00");
		printf("%7u  %-7s %12.0f %9.1f %9.1f %8.2f\n", threads[t], "verify", rv.ops_per_s,
			rv.p50_us, rv.p99_us, rv.ops_per_s / rr.ops_per_s);
		printf("%7u  %-7s %12.0f %9.1f %9.1f %8.2f\n", threads[t], "table", rt.ops_per_s,
			rt.p50_us, rt.p99_us, rt.ops_per_s / rr.ops_per_s);
	}
	return 0;
}
