/*
 * bench_tee: SEV-SNP, Arm CCA and virtCCA verifications per second (the verifier library, as
 * `turtle verify` and turtle-as call it) against the raw signature cost they stand on,
 * measured in alternating slices of the same run:
 *
 *   snp-raw   one ECDSA P-384/SHA-384 verification of a report's signed bytes with the
 *             VCEK's key parsed beforehand (what a report costs when nothing else is done)
 *   snp       tt_verify("snp") of Trustee's test report with its VCEK as collateral bytes:
 *             report parse, VCEK parse, chain (cached after first use), extensions,
 *             signature, binding, claims
 *   cca-raw   the two ECDSA P-384 verifications of a CCA token (platform by the CPAK,
 *             realm by the RAK) over Sig_structures built beforehand
 *   cca       tt_verify("cca") of Veraison's cca-token-01 with the built-in anchors
 *   vcca-raw  the PS256 verification of secGear's virtCCA sample CVM token by the key in
 *             its claim 44237 (the token's one signature; the sample has no platform token)
 *   vcca      tt_verify("virtcca") of that sample with its AIK certificate as collateral
 *             bytes and the built-in Huawei anchors
 *
 * Prints each mode's rate, p50/p99 and the ratio to its raw cost.
 *
 *   bench_tee [--seconds N] [--threads 1,2]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "bench.h"
#include "util/hex.h"
#include "cca.h"
#include "cose.h"
#include "verify.h"

#define NOW 1748736000   /* 2025-06-01 */
#define NMODES 6

struct ctx {
	uint8_t *rep, *vcek, *tok;
	size_t rep_len, vcek_len, tok_len;
	EVP_PKEY *vcek_key;
	uint8_t *snp_der;          /* DER ECDSA signature of the report */
	int snp_der_len;
	/* CCA: two (key, tbs, DER signature) triples */
	EVP_PKEY *ck[2];
	uint8_t *tbs[2], *sig[2];
	size_t tbs_len[2], sig_len[2];
	/* virtCCA: the token, its AIK, and the CVM COSE_Sign1 with its key */
	uint8_t *vtok, *aik;
	size_t vtok_len, aik_len;
	cbor_item_t *vitem;
	struct tt_cose_sign1 vcvm;
	EVP_PKEY *vkey;
};

static int
ecdsa_verify(EVP_PKEY *k, const EVP_MD *md, const uint8_t *sig, size_t sl, const uint8_t *m,
    size_t ml)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	int ok = c != NULL && EVP_DigestVerifyInit(c, NULL, md, NULL, k) == 1 &&
	    EVP_DigestVerify(c, sig, sl, m, ml) == 1;

	EVP_MD_CTX_free(c);
	return ok ? 0 : -1;
}

static int
op_snp_raw(void *s)
{
	struct ctx *c = s;

	return ecdsa_verify(c->vcek_key, EVP_sha384(), c->snp_der, (size_t)c->snp_der_len,
	    c->rep, 0x2A0);
}

static int
op_snp(void *s)
{
	struct ctx *c = s;
	struct tt_verify_trust t = { .collateral = c->vcek, .collateral_len = c->vcek_len };
	struct tt_verify_in in = { .evidence = c->rep, .evidence_len = c->rep_len,
		.binding = c->rep + 0x50, .binding_len = 64, .now = NOW, .trust = &t };
	struct tt_verify_result res;
	int r = tt_verify(tt_verifier_find("snp"), &in, &res);

	tt_verify_result_clear(&res);
	return r;
}

static int
op_cca_raw(void *s)
{
	struct ctx *c = s;

	for (int i = 0; i < 2; i++)
		if (ecdsa_verify(c->ck[i], EVP_sha384(), c->sig[i], c->sig_len[i], c->tbs[i],
		    c->tbs_len[i]) != 0)
			return -1;
	return 0;
}

static int
op_cca(void *s)
{
	struct ctx *c = s;
	uint8_t ch[64];
	struct tt_verify_in in = { .evidence = c->tok, .evidence_len = c->tok_len,
		.binding = ch, .binding_len = 64, .now = NOW };
	struct tt_verify_result res;
	int r;

	memset(ch, 0xab, sizeof(ch));
	r = tt_verify(tt_verifier_find("cca"), &in, &res);
	tt_verify_result_clear(&res);
	return r;
}

static int
op_vcca_raw(void *s)
{
	struct ctx *c = s;

	return tt_cose_sign1_verify(&c->vcvm, c->vkey);
}

static int
op_vcca(void *s)
{
	static const uint8_t prefix[8] = { 0x78, 0x3c, 0x7f, 0x3e, 0x50, 0xbf, 0xff, 0xff };
	struct ctx *c = s;
	struct tt_verify_trust t = { .collateral = c->aik, .collateral_len = c->aik_len };
	struct tt_verify_in in = { .evidence = c->vtok, .evidence_len = c->vtok_len,
		.binding = prefix, .binding_len = sizeof(prefix), .now = NOW, .trust = &t };
	struct tt_verify_result res;
	int r = tt_verify(tt_verifier_find("virtcca"), &in, &res);

	tt_verify_result_clear(&res);
	return r;
}

/* The CVM token's COSE_Sign1 and the key of its claim 44237 (an RSA SubjectPublicKeyInfo
 * in the sample; the payload is the claims map wrapped in byte strings). */
static void
vcca_setup(struct ctx *c)
{
	struct tt_cca_collection col;
	cbor_item_t *m = NULL, *next;
	const uint8_t *p;
	const unsigned char *q;
	char *hex;
	size_t n;

	hex = (char *)bench_slurp(BENCH_TEE_DATA, "virtcca.cbor", &n);   /* hex text */
	while (n > 0 && (hex[n - 1] == '\n' || hex[n - 1] == '\r' || hex[n - 1] == ' '))
		n--;
	if ((c->vtok = malloc(n / 2 + 1)) == NULL ||
	    tt_hex_decode(hex, n, c->vtok, n / 2 + 1, &c->vtok_len) != 0) {
		fprintf(stderr, "bench_tee: virtcca.cbor is not hex\n");
		exit(1);
	}
	free(hex);
	c->aik = bench_slurp(BENCH_TEE_DATA, "virtcca_aik_cert.der", &c->aik_len);
	if (tt_cca_collection_parse(c->vtok, c->vtok_len, &col) != 0 || col.realm == NULL ||
	    tt_cose_sign1_parse(col.realm, col.realm_len, &c->vitem, &c->vcvm) != 0 ||
	    tt_cbor_decode(c->vcvm.payload, c->vcvm.payload_len, &m) != 0)
		goto bad;
	while (cbor_isa_bytestring(m)) {
		if (tt_cbor_bytes(m, 0, &p, &n) != 0 || tt_cbor_decode(p, n, &next) != 0)
			exit(1);
		cbor_decref(&m);
		m = next;
	}
	for (size_t i = 0; cbor_isa_map(m) && i < cbor_map_size(m); i++) {
		struct cbor_pair *h = cbor_map_handle(m);
		int64_t k;

		if (tt_cbor_int(h[i].key, &k) == 0 && k == 44237 &&
		    tt_cbor_bytes(h[i].value, 0, &p, &n) == 0) {
			q = p;
			c->vkey = d2i_PUBKEY(NULL, &q, (long)n);
		}
	}
	cbor_decref(&m);
	/* vcvm points into c->vitem, decoded from its own copy of the bytes */
	tt_cca_collection_clear(&col);
	if (c->vkey != NULL)
		return;
bad:
	fprintf(stderr, "bench_tee: the virtCCA sample does not parse\n");
	exit(1);
}

/* Sig_structure bytes and DER signature of one COSE_Sign1, for the raw baseline. */
static void
cose_parts(const uint8_t *p, size_t n, struct ctx *c, int i)
{
	struct tt_cose_sign1 s;
	cbor_item_t *it = NULL;
	ECDSA_SIG *es = ECDSA_SIG_new();
	unsigned char *der = NULL;
	size_t half, o = 0;
	int dl;

	if (tt_cose_sign1_parse(p, n, &it, &s) != 0 || es == NULL)
		exit(1);
	c->tbs[i] = malloc(s.protected_len + s.payload_len + 32);
	/* ["Signature1", protected, h'', payload] as cose.c writes it */
	c->tbs[i][o++] = 0x84;
	c->tbs[i][o++] = 0x6A;
	memcpy(c->tbs[i] + o, "Signature1", 10);
	o += 10;
	c->tbs[i][o++] = 0x40 | (uint8_t)s.protected_len;   /* short headers in the vector */
	memcpy(c->tbs[i] + o, s.protected_hdr, s.protected_len);
	o += s.protected_len;
	c->tbs[i][o++] = 0x40;
	c->tbs[i][o++] = 0x59;
	c->tbs[i][o++] = (uint8_t)(s.payload_len >> 8);
	c->tbs[i][o++] = (uint8_t)s.payload_len;
	memcpy(c->tbs[i] + o, s.payload, s.payload_len);
	o += s.payload_len;
	c->tbs_len[i] = o;
	half = s.signature_len / 2;
	ECDSA_SIG_set0(es, BN_bin2bn(s.signature, (int)half, NULL),
	    BN_bin2bn(s.signature + half, (int)half, NULL));
	dl = i2d_ECDSA_SIG(es, &der);
	c->sig[i] = der;
	c->sig_len[i] = (size_t)dl;
	ECDSA_SIG_free(es);
	cbor_decref(&it);
}

static void
setup(struct ctx *c)
{
	const unsigned char *p;
	X509 *x;
	ECDSA_SIG *es = ECDSA_SIG_new();
	unsigned char *der = NULL;
	struct tt_cca_collection col;
	struct tt_cose_sign1 rs;
	struct tt_cca_realm realm;
	cbor_item_t *ri = NULL, *rm = NULL;
	json_error_t je;
	json_t *jwk;

	c->rep = bench_slurp(BENCH_TEE_DATA, "test-report.bin", &c->rep_len);
	c->vcek = bench_slurp(BENCH_TEE_DATA, "test-vcek.der", &c->vcek_len);
	c->tok = bench_slurp(BENCH_TEE_DATA, "cca-token-01.cbor", &c->tok_len);
	p = c->vcek;
	if ((x = d2i_X509(NULL, &p, (long)c->vcek_len)) == NULL)
		exit(1);
	c->vcek_key = X509_get_pubkey(x);
	X509_free(x);
	ECDSA_SIG_set0(es, BN_lebin2bn(c->rep + 0x2A0, 72, NULL),
	    BN_lebin2bn(c->rep + 0x2E8, 72, NULL));
	c->snp_der_len = i2d_ECDSA_SIG(es, &der);
	c->snp_der = der;
	ECDSA_SIG_free(es);

	if (tt_cca_collection_parse(c->tok, c->tok_len, &col) != 0)
		exit(1);
	cose_parts(col.platform, col.platform_len, c, 0);
	cose_parts(col.realm, col.realm_len, c, 1);
	if ((jwk = json_load_file(BENCH_TEE_DATA "/cpak.json", 0, &je)) == NULL ||
	    tt_jwk_ec_pkey(jwk, &c->ck[0]) != 0)
		exit(1);
	json_decref(jwk);
	if (tt_cose_sign1_parse(col.realm, col.realm_len, &ri, &rs) != 0 ||
	    tt_cbor_decode(rs.payload, rs.payload_len, &rm) != 0 ||
	    tt_cca_realm_claims(rm, &realm) != 0 ||
	    tt_cca_rak_pkey(realm.rak, realm.rak_len, &c->ck[1]) != 0)
		exit(1);
	cbor_decref(&rm);
	cbor_decref(&ri);
	tt_cca_collection_clear(&col);
	vcca_setup(c);
	if (op_snp_raw(c) != 0 || op_snp(c) != 0 || op_cca_raw(c) != 0 || op_cca(c) != 0 ||
	    op_vcca_raw(c) != 0 || op_vcca(c) != 0) {
		fprintf(stderr, "bench_tee: a mode fails on the vectors\n");
		exit(1);
	}
}

int
main(int argc, char **argv)
{
	unsigned seconds = 4, threads[4] = { 1, 2 }, nt = 2;
	struct ctx c;
	const char *names[NMODES] = { "snp-raw", "snp", "cca-raw", "cca", "vcca-raw", "vcca" };
	int (*ops[NMODES])(void *) = { op_snp_raw, op_snp, op_cca_raw, op_cca, op_vcca_raw,
		op_vcca };

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
			seconds = bench_opt_uint("--seconds", argv[++i], 1, 600);
		} else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
			char *s = argv[++i], *save = NULL, *t;

			nt = 0;
			for (t = strtok_r(s, ",", &save); t != NULL && nt < 4;
			    t = strtok_r(NULL, ",", &save))
				threads[nt++] = bench_opt_uint("--threads", t, 1, 64);
		} else {
			fprintf(stderr, "usage: bench_tee [--seconds N] [--threads 1,2]\n");
			return 2;
		}
	}
	memset(&c, 0, sizeof(c));
	setup(&c);
	printf("TEE evidence verifications/s vs the raw signature cost (%us per mode, "
	    "alternating slices)\n", seconds);
	printf("%7s  %-8s %12s %9s %9s %8s\n", "threads", "mode", "ops/s", "p50 us", "p99 us",
	    "ratio");
	for (unsigned t = 0; t < nt; t++) {
		struct bench_result r[NMODES];
		struct bench_ops o[NMODES];
		unsigned slice = 250, slices = seconds * 1000 / slice;

		for (int m = 0; m < NMODES; m++) {
			o[m] = (struct bench_ops){ .op = ops[m], .arg = &c };
			bench_result_init(&r[m], threads[t], 0);
		}
		for (unsigned s = 0; s < slices; s++)
			for (int m = 0; m < NMODES; m++)
				if (bench_run_more(&o[m], 50, slice, &r[m]) != 0)
					return 1;
		for (int m = 0; m < NMODES; m++) {
			bench_result_finish(&r[m]);
			if (r[m].errors != 0) {
				fprintf(stderr, "bench_tee: %s: %llu errors\n", names[m],
				    (unsigned long long)r[m].errors);
				return 1;
			}
		}
		for (int m = 0; m < NMODES; m++) {
			double base = r[m & ~1].ops_per_s;

			if (m % 2 == 0)
				printf("%7u  %-8s %12.0f %9.1f %9.1f %8s\n", threads[t], names[m],
				    r[m].ops_per_s, r[m].p50_us, r[m].p99_us, "1.00");
			else
				printf("%7u  %-8s %12.0f %9.1f %9.1f %8.2f\n", threads[t], names[m],
				    r[m].ops_per_s, r[m].p50_us, r[m].p99_us,
				    base > 0 ? r[m].ops_per_s / base : 0.0);
		}
	}
	return 0;
}
