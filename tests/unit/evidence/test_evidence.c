/*
 * Evidence room: UEFI event log and IMA log replay against values computed independently
 * (replay_ref.py), claims, tampering; TPM quote verification with the trustee quote and
 * with quotes built here (ECDSA P-256 AK as TPM2B_PUBLIC), each failure with its reason.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <tss2/tss2_mu.h>

#include "evidence.h"
#include "slurp.h"
#include "turtle/error.h"
#include "util/hex.h"

#ifndef TT_EVIDENCE_DATA
#error "TT_EVIDENCE_DATA must name the test data directory"
#endif

static void unhex(const char *hex, uint8_t *out, size_t n)
{
	size_t got = 0;

	assert_int_equal(strlen(hex), 2 * n);
	assert_int_equal(tt_hex_decode(hex, 2 * n, out, n, &got), 0);
	assert_int_equal(got, n);
}

static void assert_pcr(const struct tt_pcrs *p, uint16_t alg, unsigned idx, const char *hex)
{
	const struct tt_pcr_bank *b = tt_pcrs_bank(p, alg);
	uint8_t want[TT_EV_MAX_DIGEST];

	assert_non_null(b);
	assert_true(b->mask & (1u << idx));
	unhex(hex, want, b->size);
	assert_memory_equal(b->pcr[idx], want, b->size);
}

/* ---- UEFI event log ---- */

static void test_evlog_replay(void **state)
{
	struct tt_evlog_claims *c = NULL;
	size_t len;
	uint8_t *log = tt_test_slurp(TT_EVIDENCE_DATA, "binary_bios_measurements", &len);
	static const uint32_t counts[24] = { 13, 20, 4, 1, 5, 2, 1, 7, 53, 10, 0, 0, 0, 0, 3 };

	(void)state;
	assert_int_equal(tt_evlog_parse(log, len, NULL, &c), 0);
	assert_int_equal(c->nevents, 120);
	assert_memory_equal(c->events_per_pcr, counts, sizeof(counts));
	assert_int_equal(c->pcrs.nbanks, 2);
	assert_int_equal(c->startup_locality, 3);
	assert_pcr(&c->pcrs, TT_EV_ALG_SHA1, 0, "78f3e576d5da8873860e557535d181f4a37e2963");
	assert_pcr(&c->pcrs, TT_EV_ALG_SHA1, 7, "b7e9b0d88de19a6f949457be8b6aeb7a4d28fd0a");
	assert_pcr(&c->pcrs, TT_EV_ALG_SHA1, 14, "ffaf5dfab351dc9b3b7a3cf748759e137f1601a8");
	assert_pcr(&c->pcrs, TT_EV_ALG_SHA256, 0,
		"0ee9a7feba8f4172f1a7451594aa5731665a4d353ac61814042ce107a00742f2");
	assert_pcr(&c->pcrs, TT_EV_ALG_SHA256, 4,
		"a77ff9ab296e10186dd7e7082eab94e795b1ba9d84e920b09cf6272f68c2711c");
	assert_pcr(&c->pcrs, TT_EV_ALG_SHA256, 7,
		"741fd028c51b4d2fbdcc7f28014cc758d17ccc1fe2ea7ca17b0e8009480a557c");
	assert_pcr(&c->pcrs, TT_EV_ALG_SHA256, 8,
		"f5dc3feeda9a15dbcc11c6d99572bd063e8b0a435c222b4352c466726b0f5daf");
	assert_pcr(&c->pcrs, TT_EV_ALG_SHA256, 9,
		"e0bde30667767849f70f6f1f5b561bc3d25d8aff186b8db0ac405d652f80e3c4");
	/* PCRs the log never extends are not claimed. */
	assert_false(tt_pcrs_bank(&c->pcrs, TT_EV_ALG_SHA256)->mask & (1u << 10));
	assert_int_equal(c->secure_boot, TT_SECURE_BOOT_OFF);
	assert_int_equal(c->nboot_apps, 3);
	assert_int_equal(c->boot_apps[0].pcr, 4);
	assert_non_null(c->kernel_cmdline);
	assert_true(strncmp(c->kernel_cmdline, "(hd3,gpt2)/vmlinuz-6.11.5-300.fc41.x86_64 root=UUID=",
			    52) == 0);
	tt_evlog_claims_free(c);
	free(log);
}

static void test_evlog_secureboot(void **state)
{
	struct tt_evlog_claims *c = NULL;
	size_t len;
	uint8_t *log = tt_test_slurp(TT_EVIDENCE_DATA, "binary_bios_measurements-secureboot", &len);

	(void)state;
	assert_int_equal(tt_evlog_parse(log, len, NULL, &c), 0);
	assert_int_equal(c->nevents, 98);
	assert_int_equal(c->pcrs.nbanks, 1);
	assert_null(tt_pcrs_bank(&c->pcrs, TT_EV_ALG_SHA1));
	assert_int_equal(c->secure_boot, TT_SECURE_BOOT_ON);
	assert_pcr(&c->pcrs, TT_EV_ALG_SHA256, 0,
		"0d993cf4baec1dc2a47013c8bcc13e1593d5e6ba9cc4630f422e98d310212aff");
	assert_pcr(&c->pcrs, TT_EV_ALG_SHA256, 7,
		"2f96e1f1bf7f91b6f17e1bcb823e717e43782ff75481237711f2ed7bf8a8edb1");
	assert_pcr(&c->pcrs, TT_EV_ALG_SHA256, 14,
		"66c465262f16d108fd77f2f94c4ae0040f81b3168242a827fcf5efcd812de053");
	assert_int_equal(c->nboot_apps, 3);
	assert_non_null(c->kernel_cmdline);
	assert_true(strncmp(c->kernel_cmdline, "(hd0,gpt2)/vmlinuz-5.14.0-503.11.1.el9_5.x86_64 ",
			    48) == 0);
	tt_evlog_claims_free(c);
	free(log);
}

static void test_evlog_bogus_and_truncated(void **state)
{
	struct tt_evlog_claims *c = NULL;
	size_t len, blen;
	uint8_t *bogus = tt_test_slurp(TT_EVIDENCE_DATA, "binary_bios_measurements-bogus", &blen);
	uint8_t *log = tt_test_slurp(TT_EVIDENCE_DATA, "binary_bios_measurements", &len);
	static const size_t cuts[] = { 0, 3, 31, 40, 76, 77, 100, 1000, 20000 };

	(void)state;
	/* "bogus\n..." read as pcr 0x75676f62: not a Spec ID event. */
	assert_int_equal(tt_evlog_parse(bogus, blen, NULL, &c), TT_ERR_DATA_INVALID);
	assert_null(c);
	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++)
		assert_int_equal(tt_evlog_parse(log, cuts[i], NULL, &c), TT_ERR_TRUNCATED);
	assert_int_equal(tt_evlog_parse(log, len - 1, NULL, &c), TT_ERR_TRUNCATED);
	assert_null(c);
	free(bogus);
	free(log);
}

static void test_evlog_limits(void **state)
{
	struct tt_evidence_limits lim;
	struct tt_evlog_claims *c = NULL;
	size_t len;
	uint8_t *log = tt_test_slurp(TT_EVIDENCE_DATA, "binary_bios_measurements", &len);

	(void)state;
	tt_evidence_limits_default(&lim);
	lim.max_events = 119;
	assert_int_equal(tt_evlog_parse(log, len, &lim, &c), TT_ERR_LIMIT);
	tt_evidence_limits_default(&lim);
	lim.max_log_bytes = len - 1;
	assert_int_equal(tt_evlog_parse(log, len, &lim, &c), TT_ERR_LIMIT);
	tt_evidence_limits_default(&lim);
	lim.max_boot_apps = 2;
	assert_int_equal(tt_evlog_parse(log, len, &lim, &c), TT_ERR_LIMIT);
	assert_null(c);
	free(log);
}

/* Offsets of the first events of binary_bios_measurements (sha1 + sha256 banks):
 * event 1 (StartupLocality) starts at 0x45, event 2 ("Boot Guard Measured S-CRTM",
 * EV_EFI_ACTION in PCR 0) at 0x9e: pcr 4, type 4, count 4, sha1 id 2 + 20, sha256 id 2
 * + 32, size 4, data 27. */
#define EV2 0x9eu
#define EV2_SHA256 (EV2 + 12 + 22 + 2)
#define EV2_DATA (EV2 + 12 + 22 + 34 + 4)

static void test_evlog_tamper(void **state)
{
	struct tt_evlog_claims *a = NULL, *b = NULL;
	size_t len;
	uint8_t *log = tt_test_slurp(TT_EVIDENCE_DATA, "binary_bios_measurements", &len);

	(void)state;
	assert_int_equal(tt_evlog_parse(log, len, NULL, &a), 0);
	assert_memory_equal(log + EV2_DATA, "Boot Guard", 10);

	/* Event data is not hashed into PCRs: replay unchanged. */
	log[EV2_DATA + 3] ^= 0x01;
	assert_int_equal(tt_evlog_parse(log, len, NULL, &b), 0);
	assert_memory_equal(&a->pcrs, &b->pcrs, sizeof(a->pcrs));
	tt_evlog_claims_free(b);
	b = NULL;
	log[EV2_DATA + 3] ^= 0x01;

	/* A flipped digest changes PCR 0 in that bank only. */
	log[EV2_SHA256 + 5] ^= 0x80;
	assert_int_equal(tt_evlog_parse(log, len, NULL, &b), 0);
	assert_memory_not_equal(tt_pcrs_bank(&a->pcrs, TT_EV_ALG_SHA256)->pcr[0],
		tt_pcrs_bank(&b->pcrs, TT_EV_ALG_SHA256)->pcr[0], 32);
	assert_memory_equal(tt_pcrs_bank(&a->pcrs, TT_EV_ALG_SHA1)->pcr[0],
		tt_pcrs_bank(&b->pcrs, TT_EV_ALG_SHA1)->pcr[0], 20);
	tt_evlog_claims_free(b);
	b = NULL;
	log[EV2_SHA256 + 5] ^= 0x80;

	/* Data a claim is read from must match its digest: flip the SecureBoot value. */
	{
		static const uint8_t sb_name[] = { 'S', 0, 'e', 0, 'c', 0, 'u', 0, 'r', 0, 'e', 0,
			'B', 0, 'o', 0, 'o', 0, 't', 0 };
		uint8_t *p = memmem(log, len, sb_name, sizeof(sb_name));

		assert_non_null(p);
		assert_int_equal(p[sizeof(sb_name)], 0);
		p[sizeof(sb_name)] = 1;
		assert_int_equal(tt_evlog_parse(log, len, NULL, &b), TT_ERR_DATA_INVALID);
		p[sizeof(sb_name)] = 0;
	}
	/* Same for the kernel command line. */
	{
		uint8_t *p = memmem(log, len, "kernel_cmdline: ", 16);

		assert_non_null(p);
		p[20] ^= 0x20;
		assert_int_equal(tt_evlog_parse(log, len, NULL, &b), TT_ERR_DATA_INVALID);
		p[20] ^= 0x20;
	}
	/* An unknown algorithm id in an event's digest list. */
	log[EV2 + 12] = 0x99;
	assert_int_equal(tt_evlog_parse(log, len, NULL, &b), TT_ERR_DATA_INVALID);
	assert_null(b);
	tt_evlog_claims_free(a);
	free(log);
}

/* ---- IMA ---- */

static void ima_check(const char *file, const char *sha1, const char *sha256,
	unsigned violations)
{
	struct tt_ima_claims *c = NULL;
	size_t len;
	char *t = (char *)tt_test_slurp(TT_EVIDENCE_DATA, file, &len);

	assert_int_equal(tt_ima_parse(t, len, NULL, &c), 0);
	/* boot_aggregate is a violation in some logs (no TPM at boot): counted, replayed
	 * as 0xFF..FF, never an entry, since nothing binds its line to the PCR. */
	assert_int_equal(c->nentries, 2 - violations);
	assert_int_equal(c->nviolations, violations);
	assert_pcr(&c->pcrs, TT_EV_ALG_SHA1, 10, sha1);
	assert_pcr(&c->pcrs, TT_EV_ALG_SHA256, 10, sha256);
	assert_non_null(tt_ima_find(c, "/data"));
	if (violations > 0)
		assert_null(tt_ima_find(c, "boot_aggregate"));
	else
		assert_non_null(tt_ima_find(c, "boot_aggregate"));
	assert_null(tt_ima_find(c, "/etc/passwd"));
	tt_ima_claims_free(c);
	free(t);
}

static void test_ima_logs(void **state)
{
	struct tt_ima_claims *c = NULL;
	const struct tt_ima_entry *e;
	size_t len;
	char *t;
	uint8_t want[48];

	(void)state;
	ima_check("ima-log-sha1", "62e5bdf4783228f7deec959f0a89a4739af79ac5",
		"37c153b0a390c91993992d79eb0b9b05b5cb9085c6179528e1b71694ed19896c", 1);
	ima_check("ima-log-sha256", "8adcb4304b78ee782bbba3733b191591e75dc83d",
		"8dcd5e7eb63e363377ec19b0d358601ccc19f25a30486f35784c5288dbb91d9d", 0);
	ima_check("ima-log-sha384", "3dfd156753bbf66afbb3c10b98bac02ed13b481c",
		"35771508049511f8d3aef6691b528a1ea2fdcf13839dc0edceec1fa2ffb0737e", 1);

	t = (char *)tt_test_slurp(TT_EVIDENCE_DATA, "ima-log-sha384", &len);
	assert_int_equal(tt_ima_parse(t, len, NULL, &c), 0);
	assert_int_equal(c->nviolations, 1);
	e = tt_ima_find(c, "/data");
	assert_string_equal(e->algo, "sha384");
	assert_int_equal(e->digest_len, 48);
	unhex("20393b3e109c55b3128ba761bab1c555d8f39afe118eb1a29929ba8e017e8b2c"
	      "dfc805c304e10d280604a829145ba6f0", want, 48);
	assert_memory_equal(e->digest, want, 48);
	tt_ima_claims_free(c);
	c = NULL;
	free(t);

	/* "unknown:" is not a hash algorithm IMA has. */
	t = (char *)tt_test_slurp(TT_EVIDENCE_DATA, "ima-log-unknown", &len);
	assert_int_equal(tt_ima_parse(t, len, NULL, &c), TT_ERR_NOT_SUPPORTED);
	assert_null(c);
	free(t);
}

static void test_ima_tamper(void **state)
{
	struct tt_ima_claims *c = NULL;
	size_t len;
	char *t = (char *)tt_test_slurp(TT_EVIDENCE_DATA, "ima-log-sha256", &len);
	char *p;

	(void)state;
	/* A changed file digest no longer matches the template hash. */
	p = strstr(t, "sha256:96d7");
	assert_non_null(p);
	p[8] = 'e';
	assert_int_equal(tt_ima_parse(t, len, NULL, &c), TT_ERR_DATA_INVALID);
	p[8] = '6';
	/* A changed path too. */
	p = strstr(t, "/data");
	p[1] = 'D';
	assert_int_equal(tt_ima_parse(t, len, NULL, &c), TT_ERR_DATA_INVALID);
	p[1] = 'd';
	/* Truncated in the middle of a line. */
	assert_int_equal(tt_ima_parse(t, len - 10, NULL, &c), TT_ERR_DATA_INVALID);
	assert_int_equal(tt_ima_parse(t, 30, NULL, &c), TT_ERR_DATA_INVALID);
	/* A violation (zero template hash) must carry a zero file digest: one naming a
	 * digest would smuggle an unauthenticated measurement in (issue 8, finding 3). */
	assert_int_equal(tt_ima_parse("10 0000000000000000000000000000000000000000 ima-ng "
				      "sha1:0100000000000000000000000000000000000000 /bin/x", 103,
				      NULL, &c), TT_ERR_DATA_INVALID);
	assert_null(c);
	assert_int_equal(tt_ima_parse("10 0000000000000000000000000000000000000000 ima-ng "
				      "sha1:0000000000000000000000000000000000000000 /bin/x", 103,
				      NULL, &c), 0);
	assert_int_equal(c->nviolations, 1);
	assert_int_equal(c->nentries, 0);
	tt_ima_claims_free(c);
	c = NULL;
	/* Other PCRs, other templates. */
	assert_int_equal(tt_ima_parse("11 00 ima-ng sha1:00 x", 22, NULL, &c), TT_ERR_NOT_SUPPORTED);
	assert_int_equal(tt_ima_parse("10 0000000000000000000000000000000000000000 ima "
				      "0000000000000000000000000000000000000000 x", 88, NULL, &c),
		TT_ERR_NOT_SUPPORTED);
	assert_null(c);
	assert_int_equal(tt_ima_parse(t, len, NULL, &c), 0);
	tt_ima_claims_free(c);
	free(t);
}

static void test_ima_sig(void **state)
{
	/* ima-sig entries built here: template data = d-ng, n-ng, sig (may be empty). */
	static const char *lines[] = {
		"10 %s ima-sig sha256:%s /usr/bin/with space 030204aabbcc",
		"10 %s ima-sig sha256:%s /usr/bin/nosig",
	};
	static const uint8_t sig[] = { 0x03, 0x02, 0x04, 0xaa, 0xbb, 0xcc };
	uint8_t fd[32];
	char fdhex[65];

	(void)state;
	memset(fd, 0x5a, sizeof(fd));
	for (int i = 0; i < 32; i++)
		snprintf(fdhex + 2 * i, 3, "%02x", fd[i]);
	for (int k = 0; k < 2; k++) {
		const char *path = k == 0 ? "/usr/bin/with space" : "/usr/bin/nosig";
		uint8_t data[256];
		size_t n = 0;
		uint32_t l;
		uint8_t h[20];
		char hhex[41], line[512];
		struct tt_ima_claims *c = NULL;

		l = 7 + 1 + 32;
		memcpy(data + n, &l, 4), n += 4;
		memcpy(data + n, "sha256:", 8), n += 8;
		memcpy(data + n, fd, 32), n += 32;
		l = (uint32_t)strlen(path) + 1;
		memcpy(data + n, &l, 4), n += 4;
		memcpy(data + n, path, l), n += l;
		l = k == 0 ? sizeof(sig) : 0;
		memcpy(data + n, &l, 4), n += 4;
		memcpy(data + n, sig, l), n += l;
		assert_int_equal(EVP_Digest(data, n, h, NULL, EVP_sha1(), NULL), 1);
		for (int i = 0; i < 20; i++)
			snprintf(hhex + 2 * i, 3, "%02x", h[i]);
		snprintf(line, sizeof(line), lines[k], hhex, fdhex);
		assert_int_equal(tt_ima_parse(line, strlen(line), NULL, &c), 0);
		assert_int_equal(c->nentries, 1);
		assert_string_equal(c->entries[0].path, path);
		tt_ima_claims_free(c);
	}
}

/* ---- quote: the trustee evidence (RSASSA-SHA256, AK as SPKI DER) ---- */

static const char trustee_nonce[] =
	"a04182b506878d4f29b91ee606a71a0d3361ccf1b22db20c98adcaa537bea393"
	"ef0e41a18b3569ab678f1497fbc5c12000000000000000000000000000000000";

struct quote_files {
	uint8_t *attest, *sig, *ak, *pcrv;
	size_t attest_len, sig_len, ak_len, pcrv_len;
	uint8_t nonce[64];
	struct tt_pcrs pcrs;
	struct tt_quote_input in;
};

static void quote_load(struct quote_files *q)
{
	memset(q, 0, sizeof(*q));
	q->attest = tt_test_slurp(TT_EVIDENCE_DATA, "quote.attest", &q->attest_len);
	q->sig = tt_test_slurp(TT_EVIDENCE_DATA, "quote.sig", &q->sig_len);
	q->ak = tt_test_slurp(TT_EVIDENCE_DATA, "quote.ak.der", &q->ak_len);
	q->pcrv = tt_test_slurp(TT_EVIDENCE_DATA, "quote.pcrs", &q->pcrv_len);
	assert_int_equal(q->pcrv_len, 24 * 32);
	unhex(trustee_nonce, q->nonce, 64);
	for (unsigned i = 0; i < 24; i++)
		assert_int_equal(tt_pcrs_set(&q->pcrs, TT_EV_ALG_SHA256, i, q->pcrv + 32 * i, 32), 0);
	q->in = (struct tt_quote_input){
		.attest = q->attest, .attest_len = q->attest_len,
		.sig = q->sig, .sig_len = q->sig_len,
		.ak = q->ak, .ak_len = q->ak_len, .ak_format = TT_AK_SPKI_DER,
		.nonce = q->nonce, .nonce_len = 64, .pcrs = &q->pcrs,
	};
}

static void quote_free(struct quote_files *q)
{
	free(q->attest);
	free(q->sig);
	free(q->ak);
	free(q->pcrv);
}

static void test_quote_trustee(void **state)
{
	struct quote_files q;
	struct tt_quote_result res;

	(void)state;
	quote_load(&q);
	assert_int_equal(tt_quote_verify(&q.in, &res), 0);
	assert_int_equal(res.status, TT_QUOTE_OK);
	assert_int_equal(res.selection.count, 1);
	assert_int_equal(res.selection.sel[0].alg, TT_EV_ALG_SHA256);
	assert_int_equal(res.selection.sel[0].mask, 0xffffff);
	assert_int_equal(res.pcr_digest_len, 32);
	assert_int_equal(res.reset_count, 2);
	assert_string_equal(tt_quote_status_name(res.status), "ok");

	/* One flipped byte in the quote (clock field, then the digest): bad signature. */
	q.attest[110] ^= 1;
	assert_int_equal(tt_quote_verify(&q.in, &res), TT_ERR_INVALID_SIGNATURE);
	assert_int_equal(res.status, TT_QUOTE_BAD_SIGNATURE);
	q.attest[110] ^= 1;
	q.attest[q.attest_len - 1] ^= 1;
	assert_int_equal(tt_quote_verify(&q.in, &res), TT_ERR_INVALID_SIGNATURE);
	assert_int_equal(res.status, TT_QUOTE_BAD_SIGNATURE);
	q.attest[q.attest_len - 1] ^= 1;

	/* One flipped byte in the signature. */
	q.sig[100] ^= 1;
	assert_int_equal(tt_quote_verify(&q.in, &res), TT_ERR_INVALID_SIGNATURE);
	assert_int_equal(res.status, TT_QUOTE_BAD_SIGNATURE);
	q.sig[100] ^= 1;

	/* One flipped byte in a PCR value. */
	q.pcrs.bank[0].pcr[17][3] ^= 1;
	assert_int_equal(tt_quote_verify(&q.in, &res), TT_ERR_DATA_INVALID);
	assert_int_equal(res.status, TT_QUOTE_PCR_DIGEST_MISMATCH);
	assert_string_equal(tt_quote_status_name(res.status), "pcr-digest-mismatch");
	q.pcrs.bank[0].pcr[17][3] ^= 1;

	/* A PCR value missing. */
	q.pcrs.bank[0].mask &= ~(1u << 23);
	assert_int_equal(tt_quote_verify(&q.in, &res), TT_ERR_DATA_INVALID);
	assert_int_equal(res.status, TT_QUOTE_PCR_MISSING);
	q.pcrs.bank[0].mask |= 1u << 23;

	/* A different nonce, or a shorter one. */
	q.nonce[0] ^= 1;
	assert_int_equal(tt_quote_verify(&q.in, &res), TT_ERR_DATA_INVALID);
	assert_int_equal(res.status, TT_QUOTE_NONCE_MISMATCH);
	q.nonce[0] ^= 1;
	q.in.nonce_len = 48;
	assert_int_equal(tt_quote_verify(&q.in, &res), TT_ERR_DATA_INVALID);
	assert_int_equal(res.status, TT_QUOTE_NONCE_MISMATCH);
	q.in.nonce_len = 64;

	/* Signature scheme / hash the verifier does not take. */
	q.sig[1] = 0x99;
	assert_int_not_equal(tt_quote_verify(&q.in, &res), 0);
	assert_true(res.status == TT_QUOTE_MALFORMED || res.status == TT_QUOTE_UNSUPPORTED_ALG);
	q.sig[1] = 0x14;
	q.sig[3] = 0x04;   /* SHA-1 */
	assert_int_equal(tt_quote_verify(&q.in, &res), TT_ERR_NOT_SUPPORTED);
	assert_int_equal(res.status, TT_QUOTE_UNSUPPORTED_ALG);
	q.sig[3] = 0x0b;

	/* Truncated signature, trailing bytes after the attest, a broken key. */
	q.in.sig_len--;
	assert_int_equal(tt_quote_verify(&q.in, &res), TT_ERR_INVALID_ENCODING);
	assert_int_equal(res.status, TT_QUOTE_MALFORMED);
	q.in.sig_len++;
	q.in.ak_len -= 5;
	assert_int_not_equal(tt_quote_verify(&q.in, &res), 0);
	assert_int_equal(res.status, TT_QUOTE_BAD_KEY);
	q.in.ak_len += 5;

	assert_int_equal(tt_quote_verify(&q.in, &res), 0);
	quote_free(&q);
}

static void test_check_pcrs(void **state)
{
	struct tt_evlog_claims *c = NULL;
	struct tt_pcrs quoted;
	struct tt_pcr_selection sel = { .count = 1, .sel = { { TT_EV_ALG_SHA256, 0xffffff } } };
	uint32_t checked[TT_EV_MAX_BANKS];
	uint16_t alg = 0;
	unsigned pcr = 99;
	size_t len;
	uint8_t *log = tt_test_slurp(TT_EVIDENCE_DATA, "binary_bios_measurements", &len);

	(void)state;
	assert_int_equal(tt_evlog_parse(log, len, NULL, &c), 0);
	/* Quoted values = replayed ones, plus PCRs the log does not speak for. */
	memset(&quoted, 0, sizeof(quoted));
	for (unsigned i = 0; i < 24; i++) {
		uint8_t v[32];

		memset(v, i >= 17 && i <= 22 ? 0xff : 0, sizeof(v));
		if (c->pcrs.bank[1].mask & (1u << i))
			memcpy(v, tt_pcrs_bank(&c->pcrs, TT_EV_ALG_SHA256)->pcr[i], 32);
		assert_int_equal(tt_pcrs_set(&quoted, TT_EV_ALG_SHA256, i, v, 32), 0);
	}
	assert_int_equal(tt_evidence_check_pcrs(&c->pcrs, &quoted, &sel, checked, &alg, &pcr), 0);
	assert_int_equal(checked[0], 0x43ff);   /* PCRs 0-9 and 14 */

	quoted.bank[0].pcr[7][0] ^= 1;
	assert_int_equal(tt_evidence_check_pcrs(&c->pcrs, &quoted, &sel, checked, &alg, &pcr),
		TT_ERR_DATA_INVALID);
	assert_int_equal(alg, TT_EV_ALG_SHA256);
	assert_int_equal(pcr, 7);
	/* Not selected: not compared. */
	sel.sel[0].mask = 0x0f;
	assert_int_equal(tt_evidence_check_pcrs(&c->pcrs, &quoted, &sel, checked, NULL, NULL), 0);
	assert_int_equal(checked[0], 0x0f);
	tt_evlog_claims_free(c);
	free(log);
}

/* ---- quotes built here: ECDSA P-256 AK given as TPM2B_PUBLIC ---- */

struct built {
	EVP_PKEY *key;
	uint8_t ak[512], attest[512], sig[256];
	size_t ak_len, attest_len, sig_len;
	struct tt_pcrs pcrs;
	uint8_t nonce[32];
};

static void build_quote(struct built *b, uint32_t magic, uint16_t type)
{
	TPM2B_PUBLIC pub;
	TPMS_ATTEST att;
	TPMT_SIGNATURE ts;
	BIGNUM *x = NULL, *y = NULL;
	EVP_MD_CTX *ctx;
	uint8_t der[128], pcrcat[3 * 32];
	size_t derlen = sizeof(der), off;
	unsigned int dl;
	const unsigned char *p;
	ECDSA_SIG *es;
	const BIGNUM *r, *s;

	memset(&pub, 0, sizeof(pub));
	memset(&att, 0, sizeof(att));
	memset(&ts, 0, sizeof(ts));
	b->key = EVP_EC_gen("P-256");
	assert_non_null(b->key);
	assert_int_equal(EVP_PKEY_get_bn_param(b->key, OSSL_PKEY_PARAM_EC_PUB_X, &x), 1);
	assert_int_equal(EVP_PKEY_get_bn_param(b->key, OSSL_PKEY_PARAM_EC_PUB_Y, &y), 1);
	pub.publicArea.type = TPM2_ALG_ECC;
	pub.publicArea.nameAlg = TPM2_ALG_SHA256;
	pub.publicArea.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
	pub.publicArea.parameters.eccDetail.scheme.scheme = TPM2_ALG_ECDSA;
	pub.publicArea.parameters.eccDetail.scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
	pub.publicArea.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
	pub.publicArea.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
	pub.publicArea.unique.ecc.x.size = 32;
	pub.publicArea.unique.ecc.y.size = 32;
	assert_int_equal(BN_bn2binpad(x, pub.publicArea.unique.ecc.x.buffer, 32), 32);
	assert_int_equal(BN_bn2binpad(y, pub.publicArea.unique.ecc.y.buffer, 32), 32);
	BN_free(x);
	BN_free(y);
	off = 0;
	assert_int_equal(Tss2_MU_TPM2B_PUBLIC_Marshal(&pub, b->ak, sizeof(b->ak), &off), 0);
	b->ak_len = off;

	/* PCRs 0, 7, 14 of the SHA-256 bank. */
	memset(&b->pcrs, 0, sizeof(b->pcrs));
	for (unsigned i = 0; i < 3; i++) {
		uint8_t v[32];
		unsigned idx = i == 0 ? 0 : i == 1 ? 7 : 14;

		memset(v, 0x11 * (i + 1), sizeof(v));
		memcpy(pcrcat + 32 * i, v, 32);
		assert_int_equal(tt_pcrs_set(&b->pcrs, TT_EV_ALG_SHA256, idx, v, 32), 0);
	}
	memset(b->nonce, 0xa5, sizeof(b->nonce));
	att.magic = magic;
	att.type = type;
	att.extraData.size = sizeof(b->nonce);
	memcpy(att.extraData.buffer, b->nonce, sizeof(b->nonce));
	att.clockInfo.clock = 123456;
	att.clockInfo.safe = 1;
	att.attested.quote.pcrSelect.count = 1;
	att.attested.quote.pcrSelect.pcrSelections[0].hash = TPM2_ALG_SHA256;
	att.attested.quote.pcrSelect.pcrSelections[0].sizeofSelect = 3;
	att.attested.quote.pcrSelect.pcrSelections[0].pcrSelect[0] = 0x81;
	att.attested.quote.pcrSelect.pcrSelections[0].pcrSelect[1] = 0x40;
	att.attested.quote.pcrDigest.size = 32;
	assert_int_equal(EVP_Digest(pcrcat, sizeof(pcrcat), att.attested.quote.pcrDigest.buffer,
				 &dl, EVP_sha256(), NULL), 1);
	off = 0;
	assert_int_equal(Tss2_MU_TPMS_ATTEST_Marshal(&att, b->attest, sizeof(b->attest), &off), 0);
	b->attest_len = off;

	ctx = EVP_MD_CTX_new();
	assert_int_equal(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, b->key), 1);
	assert_int_equal(EVP_DigestSign(ctx, der, &derlen, b->attest, b->attest_len), 1);
	EVP_MD_CTX_free(ctx);
	p = der;
	es = d2i_ECDSA_SIG(NULL, &p, (long)derlen);
	assert_non_null(es);
	ECDSA_SIG_get0(es, &r, &s);
	ts.sigAlg = TPM2_ALG_ECDSA;
	ts.signature.ecdsa.hash = TPM2_ALG_SHA256;
	ts.signature.ecdsa.signatureR.size = 32;
	ts.signature.ecdsa.signatureS.size = 32;
	assert_int_equal(BN_bn2binpad(r, ts.signature.ecdsa.signatureR.buffer, 32), 32);
	assert_int_equal(BN_bn2binpad(s, ts.signature.ecdsa.signatureS.buffer, 32), 32);
	ECDSA_SIG_free(es);
	off = 0;
	assert_int_equal(Tss2_MU_TPMT_SIGNATURE_Marshal(&ts, b->sig, sizeof(b->sig), &off), 0);
	b->sig_len = off;
}

static struct tt_quote_input built_input(struct built *b)
{
	return (struct tt_quote_input){
		.attest = b->attest, .attest_len = b->attest_len, .sig = b->sig,
		.sig_len = b->sig_len, .ak = b->ak, .ak_len = b->ak_len,
		.ak_format = TT_AK_TPM2B_PUBLIC, .nonce = b->nonce, .nonce_len = 32,
		.pcrs = &b->pcrs,
	};
}

static void test_quote_ecdsa(void **state)
{
	struct built b;
	struct tt_quote_input in;
	struct tt_quote_result res;

	(void)state;
	build_quote(&b, TPM2_GENERATED_VALUE, TPM2_ST_ATTEST_QUOTE);
	in = built_input(&b);
	assert_int_equal(tt_quote_verify(&in, &res), 0);
	assert_int_equal(res.selection.sel[0].mask, (1u << 0) | (1u << 7) | (1u << 14));
	assert_int_equal(res.clock, 123456);
	/* The other key encodings of the same AK. */
	{
		uint8_t *der = NULL;
		int n = i2d_PUBKEY(b.key, &der);

		assert_true(n > 0);
		in.ak = der;
		in.ak_len = (size_t)n;
		in.ak_format = TT_AK_SPKI_DER;
		assert_int_equal(tt_quote_verify(&in, &res), 0);
		OPENSSL_free(der);
		in = built_input(&b);
	}
	b.sig[10] ^= 1;
	assert_int_equal(tt_quote_verify(&in, &res), TT_ERR_INVALID_SIGNATURE);
	assert_int_equal(res.status, TT_QUOTE_BAD_SIGNATURE);
	b.sig[10] ^= 1;
	b.pcrs.bank[0].pcr[14][31] ^= 1;
	assert_int_equal(tt_quote_verify(&in, &res), TT_ERR_DATA_INVALID);
	assert_int_equal(res.status, TT_QUOTE_PCR_DIGEST_MISMATCH);
	EVP_PKEY_free(b.key);

	/* Signed by the AK but not TPM-generated / not a quote. */
	build_quote(&b, 0x12345678, TPM2_ST_ATTEST_QUOTE);
	in = built_input(&b);
	assert_int_equal(tt_quote_verify(&in, &res), TT_ERR_DATA_INVALID);
	assert_int_equal(res.status, TT_QUOTE_BAD_MAGIC);
	EVP_PKEY_free(b.key);
	build_quote(&b, TPM2_GENERATED_VALUE, TPM2_ST_ATTEST_CERTIFY);
	in = built_input(&b);
	assert_int_not_equal(tt_quote_verify(&in, &res), 0);
	assert_true(res.status == TT_QUOTE_BAD_TYPE || res.status == TT_QUOTE_MALFORMED);
	EVP_PKEY_free(b.key);

	/* An RSA AK presented for an ECDSA signature. */
	build_quote(&b, TPM2_GENERATED_VALUE, TPM2_ST_ATTEST_QUOTE);
	in = built_input(&b);
	{
		size_t len;
		uint8_t *rsa = tt_test_slurp(TT_EVIDENCE_DATA, "quote.ak.der", &len);

		in.ak = rsa;
		in.ak_len = len;
		in.ak_format = TT_AK_SPKI_DER;
		assert_int_equal(tt_quote_verify(&in, &res), TT_ERR_INVALID_ARGUMENT);
		assert_int_equal(res.status, TT_QUOTE_BAD_KEY);
		free(rsa);
	}
	EVP_PKEY_free(b.key);
}

/* RSA-PSS quote, AK as an RSA TPM2B_PUBLIC (exponent 0 = 65537). */
static void test_quote_rsapss(void **state)
{
	TPM2B_PUBLIC pub;
	TPMS_ATTEST att;
	TPMT_SIGNATURE ts;
	EVP_PKEY *key = EVP_RSA_gen(2048);
	EVP_PKEY_CTX *pctx = NULL;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	BIGNUM *n = NULL;
	uint8_t ak[512], attest[256], sig[512], nonce[20], v[32];
	size_t ak_len = 0, attest_len = 0, sig_len = 0, slen = 256;
	unsigned int dl;
	struct tt_pcrs pcrs;
	struct tt_quote_input in;
	struct tt_quote_result res;

	(void)state;
	assert_non_null(key);
	memset(&pub, 0, sizeof(pub));
	memset(&att, 0, sizeof(att));
	memset(&ts, 0, sizeof(ts));
	memset(&pcrs, 0, sizeof(pcrs));
	assert_int_equal(EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &n), 1);
	pub.publicArea.type = TPM2_ALG_RSA;
	pub.publicArea.nameAlg = TPM2_ALG_SHA256;
	pub.publicArea.parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_NULL;
	pub.publicArea.parameters.rsaDetail.scheme.scheme = TPM2_ALG_RSAPSS;
	pub.publicArea.parameters.rsaDetail.scheme.details.rsapss.hashAlg = TPM2_ALG_SHA256;
	pub.publicArea.parameters.rsaDetail.keyBits = 2048;
	pub.publicArea.unique.rsa.size = 256;
	assert_int_equal(BN_bn2binpad(n, pub.publicArea.unique.rsa.buffer, 256), 256);
	BN_free(n);
	assert_int_equal(Tss2_MU_TPM2B_PUBLIC_Marshal(&pub, ak, sizeof(ak), &ak_len), 0);

	memset(v, 0x42, sizeof(v));
	assert_int_equal(tt_pcrs_set(&pcrs, TT_EV_ALG_SHA256, 10, v, 32), 0);
	memset(nonce, 0x17, sizeof(nonce));
	att.magic = TPM2_GENERATED_VALUE;
	att.type = TPM2_ST_ATTEST_QUOTE;
	att.extraData.size = sizeof(nonce);
	memcpy(att.extraData.buffer, nonce, sizeof(nonce));
	att.attested.quote.pcrSelect.count = 1;
	att.attested.quote.pcrSelect.pcrSelections[0].hash = TPM2_ALG_SHA256;
	att.attested.quote.pcrSelect.pcrSelections[0].sizeofSelect = 3;
	att.attested.quote.pcrSelect.pcrSelections[0].pcrSelect[1] = 0x04;   /* PCR 10 */
	att.attested.quote.pcrDigest.size = 32;
	assert_int_equal(EVP_Digest(v, 32, att.attested.quote.pcrDigest.buffer, &dl,
				 EVP_sha256(), NULL), 1);
	assert_int_equal(Tss2_MU_TPMS_ATTEST_Marshal(&att, attest, sizeof(attest), &attest_len), 0);

	assert_int_equal(EVP_DigestSignInit(ctx, &pctx, EVP_sha256(), NULL, key), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32), 1);
	assert_int_equal(EVP_DigestSign(ctx, ts.signature.rsapss.sig.buffer, &slen, attest,
				 attest_len), 1);
	EVP_MD_CTX_free(ctx);
	ts.sigAlg = TPM2_ALG_RSAPSS;
	ts.signature.rsapss.hash = TPM2_ALG_SHA256;
	ts.signature.rsapss.sig.size = (UINT16)slen;
	assert_int_equal(Tss2_MU_TPMT_SIGNATURE_Marshal(&ts, sig, sizeof(sig), &sig_len), 0);

	in = (struct tt_quote_input){
		.attest = attest, .attest_len = attest_len, .sig = sig, .sig_len = sig_len,
		.ak = ak, .ak_len = ak_len, .ak_format = TT_AK_TPM2B_PUBLIC,
		.nonce = nonce, .nonce_len = sizeof(nonce), .pcrs = &pcrs,
	};
	assert_int_equal(tt_quote_verify(&in, &res), 0);
	assert_int_equal(res.selection.sel[0].mask, 1u << 10);
	/* The same signature checked as PKCS#1 v1.5 fails. */
	sig[1] = 0x14;
	assert_int_equal(tt_quote_verify(&in, &res), TT_ERR_INVALID_SIGNATURE);
	sig[1] = 0x16;
	pcrs.bank[0].pcr[10][0] ^= 1;
	assert_int_equal(tt_quote_verify(&in, &res), TT_ERR_DATA_INVALID);
	assert_int_equal(res.status, TT_QUOTE_PCR_DIGEST_MISMATCH);
	EVP_PKEY_free(key);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_evlog_replay),
		cmocka_unit_test(test_evlog_secureboot),
		cmocka_unit_test(test_evlog_bogus_and_truncated),
		cmocka_unit_test(test_evlog_limits),
		cmocka_unit_test(test_evlog_tamper),
		cmocka_unit_test(test_ima_logs),
		cmocka_unit_test(test_ima_tamper),
		cmocka_unit_test(test_ima_sig),
		cmocka_unit_test(test_quote_trustee),
		cmocka_unit_test(test_check_pcrs),
		cmocka_unit_test(test_quote_ecdsa),
		cmocka_unit_test(test_quote_rsapss),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
