/*
 * The agent role's operation layer without a TPM: a fake provider returns fixed quote
 * bytes and PCR digests, so the tests check the PCR selection text, the request checks,
 * how the PCR list is split into banks, and the log rules (configured path read whole,
 * absent or over log_max -> left out, never an error).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "providers/provider.h"
#include "service/config.h"
#include "service/ops/ops.h"
#include "tt_attest_quote.pb-c.h"
#include "turtle/error.h"
#include "wire/opcodes.h"

static struct tt_pcr_select last_sel;
static uint8_t last_nonce[80];
static size_t last_nonce_len;

static int
fake_quote(void *ctx, const struct tt_pcr_select *sel, const uint8_t *nonce, size_t nonce_len,
    struct tt_buf *attest, struct tt_buf *sig, struct tt_buf *ak_pub, struct tt_buf *pcrs)
{
	static const size_t ds[] = { [0x0004] = 20, [0x000B] = 32, [0x000C] = 48, [0x000D] = 64 };
	int r;

	(void)ctx;
	last_sel = *sel;
	if (nonce_len > 0)
		memcpy(last_nonce, nonce, nonce_len);
	last_nonce_len = nonce_len;
	if ((r = tt_buf_put(attest, "ATTEST", 6)) != 0 || (r = tt_buf_put(sig, "SIG", 3)) != 0 ||
	    (r = tt_buf_put(ak_pub, "AKPUB", 5)) != 0)
		return r;
	/* PCR i of bank b has every byte equal to i + 32 * b */
	for (size_t b = 0; b < sel->n; b++)
		for (unsigned i = 0; i < TT_PCR_COUNT; i++) {
			uint8_t d[64];

			if (!(sel->mask[b] & (1u << i)))
				continue;
			memset(d, (int)(i + 32 * b), sizeof(d));
			if ((r = tt_buf_put(pcrs, d, ds[sel->alg[b]])) != 0)
				return r;
		}
	return 0;
}

static const struct tt_provider_ops fake_ops = {
	.abi = TT_PROVIDER_ABI,
	.name = "fake",
	.id = 3,
	.agent_quote = fake_quote,
};

struct fx {
	struct tt_config cfg;
	struct tt_provider_conf pc;
	char *keys[4], *values[4];
	struct tt_service svc;
	struct tt_provider_slot slot;
	struct tt_identity id;
	struct tt_wire_hdr hdr;
	struct tt_op_ctx ctx;
	char logpath[64];
};

static void
conf_set(struct fx *f, const char *k, const char *v)
{
	f->keys[f->pc.n] = (char *)k;
	f->values[f->pc.n] = (char *)v;
	f->pc.n++;
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	int fd;

	assert_non_null(f);
	f->pc.type = (char *)"fake";
	f->pc.keys = f->keys;
	f->pc.values = f->values;
	f->cfg.providers = &f->pc;
	f->cfg.n_providers = 1;
	f->cfg.max_response = 1u << 20;
	f->svc.cfg = &f->cfg;
	f->slot.ops = &fake_ops;
	f->id.auth_type = 1;
	snprintf(f->id.app, sizeof(f->id.app), "alice");
	f->hdr.provider = 3;
	f->hdr.opcode = TT_OP_TT_ATTEST_QUOTE;
	f->ctx.svc = &f->svc;
	f->ctx.hdr = &f->hdr;
	f->ctx.id = &f->id;
	f->ctx.prov = &f->slot;
	snprintf(f->logpath, sizeof(f->logpath), "/tmp/tt-agent-log-XXXXXX");
	assert_true((fd = mkstemp(f->logpath)) >= 0);
	assert_int_equal(write(fd, "0123456789", 10), 10);
	close(fd);
	/* absent logs by default: the machine's securityfs must not leak into the test */
	conf_set(f, "event_log", "/nonexistent/tt-agent-test/event_log");
	conf_set(f, "ima_log", "/nonexistent/tt-agent-test/ima_log");
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	unlink(f->logpath);
	free(f);
	return 0;
}

/* Run TtAttestQuote; *res unpacked on success. */
static int
quote(struct fx *f, const TtAttestQuote__Operation *op, TtAttestQuote__Result **res)
{
	uint8_t body[1024];
	size_t len = tt_attest_quote__operation__pack(op, body);
	struct tt_buf out;
	int r;

	tt_buf_init(&out, 1u << 20);
	r = tt_ops_dispatch(&f->ctx, body, len, &out);
	if (r == 0) {
		*res = tt_attest_quote__result__unpack(NULL, tt_buf_avail(&out), tt_buf_ptr(&out));
		assert_non_null(*res);
	}
	tt_buf_free(&out);
	return r;
}

static void
test_pcr_parse(void **state)
{
	struct tt_pcr_select s;

	(void)state;
	assert_int_equal(tt_agent_pcr_parse("sha256:0-10", &s), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.alg[0], 0x000B);
	assert_int_equal(s.mask[0], 0x7ff);
	assert_int_equal(tt_agent_pcr_parse("sha256:0,7,16-17+sha1:23", &s), 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.mask[0], (1u << 0) | (1u << 7) | (1u << 16) | (1u << 17));
	assert_int_equal(s.alg[1], 0x0004);
	assert_int_equal(s.mask[1], 1u << 23);
	assert_int_equal(tt_agent_pcr_parse("sha512:5", &s), 0);
	assert_int_equal(s.mask[0], 1u << 5);

	static const char *const bad[] = {
		"", "sha256", "sha256:", "sha256:24", "sha256:5-3", "md5:0", "sha256:0+",
		"sha256:0+sha256:1", "sha256:a", "sha256:-1", "sha256:0,,1", "sha256:0-",
		"sha1:0+sha256:0+sha384:0+sha512:0+sha1:1", "sha256:00000000000001",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_not_equal(tt_agent_pcr_parse(bad[i], &s), 0);
}

static void
test_default_selection_and_banks(void **state)
{
	struct fx *f = *state;
	TtAttestQuote__Operation op = TT_ATTEST_QUOTE__OPERATION__INIT;
	TtAttestQuote__Result *res = NULL;

	op.nonce.data = (uint8_t *)"abc";
	op.nonce.len = 3;
	assert_int_equal(quote(f, &op, &res), 0);
	assert_int_equal(last_sel.n, 1);
	assert_int_equal(last_sel.mask[0], 0x7ff);
	assert_int_equal(last_nonce_len, 3);
	assert_memory_equal(last_nonce, "abc", 3);
	assert_int_equal(res->attest.len, 6);
	assert_memory_equal(res->ak_public.data, "AKPUB", 5);
	assert_int_equal(res->n_pcrs, 1);
	assert_int_equal(res->pcrs[0]->hash_alg, 0x000B);
	assert_int_equal(res->pcrs[0]->n_indices, 11);
	assert_int_equal(res->pcrs[0]->n_values, 11);
	for (size_t i = 0; i < 11; i++) {
		assert_int_equal(res->pcrs[0]->indices[i], i);
		assert_int_equal(res->pcrs[0]->values[i].len, 32);
		assert_int_equal(res->pcrs[0]->values[i].data[31], i);
	}
	assert_int_equal(res->event_log.len, 0);
	assert_int_equal(res->ima_log.len, 0);
	tt_attest_quote__result__free_unpacked(res, NULL);
}

static void
test_explicit_two_banks(void **state)
{
	struct fx *f = *state;
	TtAttestQuote__Operation op = TT_ATTEST_QUOTE__OPERATION__INIT;
	TtAttestQuote__PcrBank b1 = TT_ATTEST_QUOTE__PCR_BANK__INIT, b2 = b1, *bp[2] = { &b1, &b2 };
	uint32_t i1[] = { 16, 0 }, i2[] = { 23 };
	TtAttestQuote__Result *res = NULL;

	b1.hash_alg = 0x0004;
	b1.indices = i1;
	b1.n_indices = 2;
	b2.hash_alg = 0x000C;
	b2.indices = i2;
	b2.n_indices = 1;
	op.pcrs = bp;
	op.n_pcrs = 2;
	assert_int_equal(quote(f, &op, &res), 0);
	assert_int_equal(res->n_pcrs, 2);
	/* ascending in results, whatever the request order */
	assert_int_equal(res->pcrs[0]->indices[0], 0);
	assert_int_equal(res->pcrs[0]->indices[1], 16);
	assert_int_equal(res->pcrs[0]->values[1].len, 20);
	assert_int_equal(res->pcrs[0]->values[1].data[0], 16);
	assert_int_equal(res->pcrs[1]->hash_alg, 0x000C);
	assert_int_equal(res->pcrs[1]->values[0].len, 48);
	assert_int_equal(res->pcrs[1]->values[0].data[0], 23 + 32);
	tt_attest_quote__result__free_unpacked(res, NULL);
}

static void
test_bad_requests(void **state)
{
	struct fx *f = *state;
	TtAttestQuote__Operation op = TT_ATTEST_QUOTE__OPERATION__INIT;
	TtAttestQuote__PcrBank b = TT_ATTEST_QUOTE__PCR_BANK__INIT, b2, *bp[2] = { &b, &b2 };
	uint32_t ix[] = { 24 }, ok[] = { 1 };
	uint8_t big[65] = { 0 };
	ProtobufCBinaryData v = { 1, big };
	TtAttestQuote__Result *res = NULL;

	op.nonce.data = big;
	op.nonce.len = sizeof(big);
	assert_int_equal(quote(f, &op, &res), TT_ERR_INVALID_ARGUMENT);
	op.nonce.len = 0;
	op.pcrs = bp;
	op.n_pcrs = 1;
	b.hash_alg = 0x000B;
	b.indices = ix;
	b.n_indices = 1;
	assert_int_equal(quote(f, &op, &res), TT_ERR_INVALID_ARGUMENT);   /* PCR 24 */
	b.indices = ok;
	b.hash_alg = 0x0010;
	assert_int_equal(quote(f, &op, &res), TT_ERR_INVALID_ARGUMENT);   /* unknown bank */
	b.hash_alg = 0x000B;
	b.n_indices = 0;
	assert_int_equal(quote(f, &op, &res), TT_ERR_INVALID_ARGUMENT);   /* empty bank */
	b.n_indices = 1;
	b.values = &v;
	b.n_values = 1;
	assert_int_equal(quote(f, &op, &res), TT_ERR_INVALID_ARGUMENT);   /* values in a request */
	b.values = NULL;
	b.n_values = 0;
	b2 = b;
	op.n_pcrs = 2;
	assert_int_equal(quote(f, &op, &res), TT_ERR_INVALID_ARGUMENT);   /* bank twice */
	/* no identity: refused before the handler */
	op.n_pcrs = 1;
	f->ctx.id = NULL;
	assert_int_equal(quote(f, &op, &res), TT_ERR_NOT_AUTHENTICATED);
}

static void
test_config_and_logs(void **state)
{
	struct fx *f = *state;
	TtAttestQuote__Operation op = TT_ATTEST_QUOTE__OPERATION__INIT;
	TtAttestQuote__Result *res = NULL;

	f->pc.n = 0;
	conf_set(f, "event_log", f->logpath);
	conf_set(f, "ima_log", "/nonexistent/tt-agent-test/ima_log");
	conf_set(f, "quote_pcrs", "sha1:7");
	assert_int_equal(quote(f, &op, &res), 0);
	assert_int_equal(last_sel.alg[0], 0x0004);
	assert_int_equal(last_sel.mask[0], 1u << 7);
	assert_int_equal(res->event_log.len, 10);
	assert_memory_equal(res->event_log.data, "0123456789", 10);
	assert_int_equal(res->ima_log.len, 0);
	tt_attest_quote__result__free_unpacked(res, NULL);

	/* a log over log_max is left out whole, not truncated */
	conf_set(f, "log_max", "9");
	assert_int_equal(quote(f, &op, &res), 0);
	assert_int_equal(res->event_log.len, 0);
	tt_attest_quote__result__free_unpacked(res, NULL);
	f->values[3] = (char *)"10";
	assert_int_equal(quote(f, &op, &res), 0);
	assert_int_equal(res->event_log.len, 10);
	tt_attest_quote__result__free_unpacked(res, NULL);

	/* a broken config value is a config error, not a silent default */
	f->values[2] = (char *)"sha256:99";
	assert_int_equal(quote(f, &op, &res), TT_ERR_CONFIG);
}

static void
test_identity_not_supported(void **state)
{
	struct fx *f = *state;
	struct tt_buf out;

	/* admin-only: a plain client is refused; an admin gets NotSupported from a provider
	 * without the entry */
	f->hdr.opcode = TT_OP_TT_AGENT_IDENTITY;
	tt_buf_init(&out, 1024);
	assert_int_equal(tt_ops_dispatch(&f->ctx, NULL, 0, &out), TT_ERR_ADMIN_OPERATION);
	f->id.admin = true;
	assert_int_equal(tt_ops_dispatch(&f->ctx, NULL, 0, &out), TT_ERR_NOT_SUPPORTED);
	f->hdr.opcode = TT_OP_TT_AGENT_ACTIVATE;
	assert_int_equal(tt_ops_dispatch(&f->ctx, NULL, 0, &out), TT_ERR_NOT_SUPPORTED);
	tt_buf_free(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pcr_parse),
		cmocka_unit_test_setup_teardown(test_default_selection_and_banks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_explicit_two_banks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config_and_logs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_identity_not_supported, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
