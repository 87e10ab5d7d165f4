/*
 * The fetcher's pure parts (src/attest/fetch): every byte of the KDS and PCS URLs per
 * product (hwid length, SPL names, order and padding), the shared real SNP report's VCEK
 * URL, the exact-text extraction of PCS's signed members, the issuer-chain header decoding,
 * that a disabled fetcher refuses without touching anything, and the amplification guard
 * (negative cache, token bucket, forget-once, which failed links blame the collateral).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fetch.h"
#include "fetch_internal.h"
#include "snp.h"
#include "turtle/error.h"

#define BASE "https://kdsintf.amd.com"

/* TCB_VERSION of Milan/Genoa: bootloader byte 0, tee 1, snp 6, microcode 7. */
static uint64_t
tcb_milan(uint8_t bl, uint8_t tee, uint8_t snp, uint8_t uc)
{
	return (uint64_t)bl | (uint64_t)tee << 8 | (uint64_t)snp << 48 | (uint64_t)uc << 56;
}

/* Turin: fmc byte 0, bootloader 1, tee 2, snp 3, microcode 7. */
static uint64_t
tcb_turin(uint8_t fmc, uint8_t bl, uint8_t tee, uint8_t snp, uint8_t uc)
{
	return (uint64_t)fmc | (uint64_t)bl << 8 | (uint64_t)tee << 16 |
	    (uint64_t)snp << 24 | (uint64_t)uc << 56;
}

static void
test_kds_milan_genoa(void **state)
{
	uint8_t chip[64];
	char url[TT_FETCH_MAX_URL], want[TT_FETCH_MAX_URL], hex[129];

	(void)state;
	for (int i = 0; i < 64; i++) {
		chip[i] = (uint8_t)(0xA0 + i);
		snprintf(hex + 2 * i, 3, "%02x", chip[i]);
	}
	assert_int_equal(tt_fetch_kds_vcek_url(BASE, 0, chip, tcb_milan(3, 0, 8, 115), url,
	    sizeof(url)), 0);
	snprintf(want, sizeof(want), BASE "/vcek/v1/Milan/%s?blSPL=03&teeSPL=00&snpSPL=08"
	    "&ucodeSPL=115", hex);
	assert_string_equal(url, want);
	assert_int_equal(tt_fetch_kds_vcek_url("http://127.0.0.1:1", 1, chip,
	    tcb_milan(9, 1, 22, 213), url, sizeof(url)), 0);
	snprintf(want, sizeof(want), "http://127.0.0.1:1/vcek/v1/Genoa/%s?blSPL=09&teeSPL=01"
	    "&snpSPL=22&ucodeSPL=213", hex);
	assert_string_equal(url, want);
	/* Bytes 2..5 of TCB_VERSION are reserved on Milan/Genoa: never in the URL. */
	assert_int_equal(tt_fetch_kds_vcek_url(BASE, 0, chip,
	    tcb_milan(1, 2, 3, 4) | 0x0000FFFFFFFF0000ull, url, sizeof(url)), 0);
	assert_non_null(strstr(url, "?blSPL=01&teeSPL=02&snpSPL=03&ucodeSPL=04"));
	/* Too small a buffer, an unknown product. */
	assert_int_equal(tt_fetch_kds_vcek_url(BASE, 0, chip, 0, url, 100), TT_ERR_LIMIT);
	assert_int_equal(tt_fetch_kds_vcek_url(BASE, 3, chip, 0, url, sizeof(url)),
	    TT_ERR_INVALID_ARGUMENT);
	assert_int_equal(tt_fetch_kds_vcek_url(BASE, -1, chip, 0, url, sizeof(url)),
	    TT_ERR_INVALID_ARGUMENT);
}

static void
test_kds_turin(void **state)
{
	uint8_t chip[64] = { 0x6b, 0xb1, 0x22, 0x9b, 0x76, 0x92, 0xb7, 0x10 };
	char url[TT_FETCH_MAX_URL];

	(void)state;
	assert_int_equal(tt_fetch_kds_vcek_url(BASE, 2, chip, tcb_turin(1, 1, 1, 4, 82), url,
	    sizeof(url)), 0);
	assert_string_equal(url, BASE "/vcek/v1/Turin/6bb1229b7692b710?fmcSPL=01&blSPL=01"
	    "&teeSPL=01&snpSPL=04&ucodeSPL=82");
	/* Turin's hwid is 8 bytes: a chip id with more is not Turin's. */
	chip[63] = 1;
	assert_int_equal(tt_fetch_kds_vcek_url(BASE, 2, chip, 0, url, sizeof(url)),
	    TT_ERR_INVALID_ARGUMENT);
}

static void
test_kds_crl_and_products(void **state)
{
	char url[TT_FETCH_MAX_URL];

	(void)state;
	assert_string_equal(tt_fetch_kds_product(0), "Milan");
	assert_string_equal(tt_fetch_kds_product(1), "Genoa");
	assert_string_equal(tt_fetch_kds_product(2), "Turin");
	assert_null(tt_fetch_kds_product(3));
	assert_int_equal(tt_fetch_kds_crl_url(BASE, 1, url, sizeof(url)), 0);
	assert_string_equal(url, BASE "/vcek/v1/Genoa/crl");
}

/* The shared real report (Milan, version 2): the URL of its VCEK, from its own bytes. */
static void
test_kds_real_report(void **state)
{
	FILE *f = fopen(TT_VERIFY_DATA "/test-report.bin", "rb");
	uint8_t rep[TT_SNP_REPORT_LEN];
	struct tt_snp_report r;
	char url[TT_FETCH_MAX_URL], want[TT_FETCH_MAX_URL], hex[129];

	(void)state;
	assert_non_null(f);
	assert_int_equal(fread(rep, 1, sizeof(rep), f), sizeof(rep));
	fclose(f);
	assert_int_equal(tt_snp_report_parse(rep, sizeof(rep), &r), 0);
	assert_int_equal(tt_snp_generation(&r), -1);  /* v2: no CPUID, Milan tried first */
	for (int i = 0; i < 64; i++)
		snprintf(hex + 2 * i, 3, "%02x", rep[0x1A0 + i]);
	assert_int_equal(tt_fetch_kds_vcek_url(BASE, 0, r.chip_id, r.reported_tcb_raw, url,
	    sizeof(url)), 0);
	snprintf(want, sizeof(want), BASE "/vcek/v1/Milan/%s?blSPL=03&teeSPL=00&snpSPL=08"
	    "&ucodeSPL=115", hex);
	assert_string_equal(url, want);
}

static void
test_pcs_urls(void **state)
{
	static const uint8_t fmspc[6] = { 0xB0, 0xC0, 0x6F, 0x00, 0x00, 0x00 };
	const char *b = "https://api.trustedservices.intel.com";
	char url[TT_FETCH_MAX_URL];

	(void)state;
	assert_int_equal(tt_fetch_pcs_pckcrl_url(b, false, url, sizeof(url)), 0);
	assert_string_equal(url, "https://api.trustedservices.intel.com/sgx/certification/v4/"
	    "pckcrl?ca=processor&encoding=der");
	assert_int_equal(tt_fetch_pcs_pckcrl_url(b, true, url, sizeof(url)), 0);
	assert_string_equal(url, "https://api.trustedservices.intel.com/sgx/certification/v4/"
	    "pckcrl?ca=platform&encoding=der");
	assert_int_equal(tt_fetch_pcs_tcb_url(b, true, fmspc, url, sizeof(url)), 0);
	assert_string_equal(url, "https://api.trustedservices.intel.com/tdx/certification/v4/"
	    "tcb?fmspc=b0c06f000000");
	assert_int_equal(tt_fetch_pcs_tcb_url(b, false, fmspc, url, sizeof(url)), 0);
	assert_string_equal(url, "https://api.trustedservices.intel.com/sgx/certification/v4/"
	    "tcb?fmspc=b0c06f000000");
	assert_int_equal(tt_fetch_pcs_qe_url(b, true, url, sizeof(url)), 0);
	assert_string_equal(url, "https://api.trustedservices.intel.com/tdx/certification/v4/"
	    "qe/identity");
	assert_int_equal(tt_fetch_pcs_qe_url(b, false, url, sizeof(url)), 0);
	assert_string_equal(url, "https://api.trustedservices.intel.com/sgx/certification/v4/"
	    "qe/identity");
	assert_int_equal(tt_fetch_pcs_qe_url(b, false, url, 20), TT_ERR_LIMIT);
}

static void
expect_member(const char *json, const char *key, const char *want)
{
	const char *v = NULL;
	size_t n = 0;

	assert_int_equal(tt_fetch_json_member_raw(json, strlen(json), key, &v, &n), 0);
	assert_int_equal(n, strlen(want));
	assert_memory_equal(v, want, n);
}

static void
test_json_member_raw(void **state)
{
	const char *v;
	size_t n;

	(void)state;
	/* The exact bytes, spacing and member order kept, whichever position the member. */
	expect_member("{\"tcbInfo\":{\"id\":\"TDX\", \"v\" : [1,2]},\"signature\":\"ab\"}",
	    "tcbInfo", "{\"id\":\"TDX\", \"v\" : [1,2]}");
	expect_member(" {\n \"signature\" : \"ab\" ,\n \"tcbInfo\" :\t{\"x\":\"}{\\\"]\"} }\n",
	    "tcbInfo", "{\"x\":\"}{\\\"]\"}");
	expect_member("{\"a\":1,\"b\":true,\"enclaveIdentity\":[{\"c\":null}]}",
	    "enclaveIdentity", "[{\"c\":null}]");
	expect_member("{\"a\":{\"tcbInfo\":1},\"tcbInfo\":-2.5e3}", "tcbInfo", "-2.5e3");
	/* Refused: not JSON, not an object, duplicates, absent, escaped key only. */
	assert_int_equal(tt_fetch_json_member_raw("{\"tcbInfo\":{}", 12, "tcbInfo", &v, &n),
	    TT_ERR_PARSE);
	assert_int_equal(tt_fetch_json_member_raw("[1]", 3, "tcbInfo", &v, &n), TT_ERR_PARSE);
	assert_int_equal(tt_fetch_json_member_raw("{\"tcbInfo\":1,\"tcbInfo\":2}", 25,
	    "tcbInfo", &v, &n), TT_ERR_PARSE);
	assert_int_equal(tt_fetch_json_member_raw("{\"a\":{\"tcbInfo\":1}}", 19, "tcbInfo",
	    &v, &n), TT_ERR_DOES_NOT_EXIST);
	assert_int_equal(tt_fetch_json_member_raw("{\"tcb\\u0049nfo\":1}", 18, "tcbInfo", &v,
	    &n), TT_ERR_DOES_NOT_EXIST);
}

static void
test_pct_decode(void **state)
{
	char *s = NULL;
	const char *in = "-----BEGIN%20CERTIFICATE-----%0AMIIB+a%2Fb%3D%3d%0A";

	(void)state;
	assert_int_equal(tt_fetch_pct_decode(in, strlen(in), &s), 0);
	assert_string_equal(s, "-----BEGIN CERTIFICATE-----\nMIIB+a/b==\n");
	free(s);
	assert_int_equal(tt_fetch_pct_decode("%4", 2, &s), TT_ERR_PARSE);
	assert_int_equal(tt_fetch_pct_decode("%zz", 3, &s), TT_ERR_PARSE);
	assert_int_equal(tt_fetch_pct_decode("a%00b", 5, &s), TT_ERR_PARSE);
}

static void
test_disabled_refuses(void **state)
{
	struct tt_fetch_cfg cfg = { .enabled = false, .cache_dir = "/nonexistent/never" };
	uint8_t rep[TT_SNP_REPORT_LEN] = { 0 };
	char *dir = (char *)1, err[128];

	(void)state;
	assert_int_equal(tt_fetch_collateral(&cfg, "snp", rep, sizeof(rep), 0, 0, &dir, err,
	    sizeof(err)), TT_ERR_NOT_PERMITTED);
	assert_null(dir);
	assert_string_equal(err, "fetching is off");
	cfg.enabled = true;
	assert_int_equal(tt_fetch_collateral(&cfg, "cca", rep, sizeof(rep), 0, 0, &dir, err,
	    sizeof(err)), TT_ERR_NOT_SUPPORTED);
	/* A report that does not parse names no collateral: the verifier decides. */
	assert_int_equal(tt_fetch_collateral(&cfg, "snp", rep, 10, 0, 0, &dir, err,
	    sizeof(err)), TT_ERR_NOT_SUPPORTED);
}

static void
test_guard(void **state)
{
	struct tt_fetch_cfg cfg = { .enabled = true, .max_per_minute = 3 };
	char err[256], url[64];

	(void)state;
	tt_fetch_guard_reset();
	/* A burst of max_per_minute, then refused without a request. */
	for (int i = 0; i < 3; i++)
		assert_int_equal(tt_fetch_guard_ask(&cfg, "http://x/a", err, sizeof(err)), 0);
	assert_int_equal(tt_fetch_guard_ask(&cfg, "http://x/b", err, sizeof(err)),
	    TT_ERR_LIMIT);
	assert_non_null(strstr(err, "fetch rate limit reached (3 per minute)"));
	/* A refused URL answers its remembered code before the bucket is consulted. */
	tt_fetch_guard_fail(&cfg, "http://x/a", TT_ERR_DOES_NOT_EXIST);
	assert_int_equal(tt_fetch_guard_ask(&cfg, "http://x/a", err, sizeof(err)),
	    TT_ERR_DOES_NOT_EXIST);
	assert_non_null(strstr(err, "not asked again for 600 s: http://x/a"));
	/* The table is bounded: far more refusals than it holds; the newest is kept. */
	for (unsigned i = 0; i < 3 * TT_FETCH_GUARD_MAX; i++) {
		snprintf(url, sizeof(url), "http://x/%u", i);
		tt_fetch_guard_fail(&cfg, url, TT_ERR_DATA_INVALID);
	}
	assert_int_equal(tt_fetch_guard_ask(&cfg, url, err, sizeof(err)), TT_ERR_DATA_INVALID);
	/* Forgetting an item: once per negative_ttl. */
	assert_true(tt_fetch_guard_forget_once(&cfg, "/c/snp/x/vcek.der"));
	assert_false(tt_fetch_guard_forget_once(&cfg, "/c/snp/x/vcek.der"));
	assert_true(tt_fetch_guard_forget_once(&cfg, "/c/snp/y/vcek.der"));
	tt_fetch_guard_reset();
	assert_int_equal(tt_fetch_guard_ask(&cfg, "http://x/a", err, sizeof(err)), 0);
	/* Out-of-range settings are clamped, zero takes the defaults. */
	cfg.max_per_minute = 0;
	cfg.negative_ttl = 0;
	assert_int_equal(tt_fetch_cfg_per_minute(&cfg), TT_FETCH_PER_MINUTE);
	assert_int_equal(tt_fetch_cfg_negative_ttl(&cfg), TT_FETCH_NEGATIVE_TTL);
	cfg.max_per_minute = 1000000;
	cfg.negative_ttl = 1000000;
	assert_int_equal(tt_fetch_cfg_per_minute(&cfg), TT_FETCH_PER_MINUTE_MAX);
	assert_int_equal(tt_fetch_cfg_negative_ttl(&cfg), TT_FETCH_NEGATIVE_TTL_MAX);
	tt_fetch_guard_reset();
}

static void
test_collateral_failed(void **state)
{
	const char *blame[] = { "certificate", "crl", "collateral" };
	const char *not_blame[] = { "evidence", "binding", "claim", "key", "anchor" };
	json_t *c;

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		c = json_pack("[{s:s,s:s},{s:s,s:s}]", "link", "anchor", "verdict", "verified",
		    "link", blame[i], "verdict", "failed");
		assert_true(tt_fetch_collateral_failed(c, 0));
		/* The leaf came with the evidence: only the fetched CRL is to blame. */
		assert_int_equal(tt_fetch_collateral_failed(c, TT_FETCH_F_HAVE_CERT), i == 1);
		json_decref(c);
		c = json_pack("[{s:s,s:s}]", "link", blame[i], "verdict", "not checked");
		assert_false(tt_fetch_collateral_failed(c, 0));
		json_decref(c);
	}
	for (size_t i = 0; i < 5; i++) {
		c = json_pack("[{s:s,s:s}]", "link", not_blame[i], "verdict", "failed");
		assert_false(tt_fetch_collateral_failed(c, 0));
		json_decref(c);
	}
	assert_false(tt_fetch_collateral_failed(NULL, 0));
}

static void
test_forget_only_under_cache(void **state)
{
	struct tt_fetch_cfg cfg = { .enabled = true, .cache_dir = "/c" };

	(void)state;
	assert_int_equal(tt_fetch_forget(&cfg, "snp", NULL, 0, "/elsewhere/snp/Milan"),
	    TT_ERR_INVALID_ARGUMENT);
	assert_int_equal(tt_fetch_forget(&cfg, "snp", NULL, 0, "/cx/snp/Milan"),
	    TT_ERR_INVALID_ARGUMENT);
	assert_int_equal(tt_fetch_forget(&cfg, "snp", NULL, 0, "/c/snp/Unknown-ab-00"),
	    TT_ERR_INVALID_ARGUMENT);
	/* Nothing there: nothing to do. */
	assert_int_equal(tt_fetch_forget(&cfg, "snp", NULL, 0, "/c/snp/Milan"), 0);
	assert_int_equal(tt_fetch_forget(&cfg, "cca", NULL, 0, "/c/x"), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kds_milan_genoa),
		cmocka_unit_test(test_kds_turin),
		cmocka_unit_test(test_kds_crl_and_products),
		cmocka_unit_test(test_kds_real_report),
		cmocka_unit_test(test_pcs_urls),
		cmocka_unit_test(test_json_member_raw),
		cmocka_unit_test(test_pct_decode),
		cmocka_unit_test(test_disabled_refuses),
		cmocka_unit_test(test_guard),
		cmocka_unit_test(test_collateral_failed),
		cmocka_unit_test(test_forget_only_under_cache),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
