/*
 * TtAttestTee's request checks and its file handling without a kernel: request fields out
 * of range are refused before anything is created; an absent report directory is
 * NotSupported; in a plain directory (no configfs attributes appear in a new entry) the
 * entry turtled makes is removed again and the directory left empty. The kernel's
 * behaviour itself (attributes, generation, races) is exercised against the FUSE fake in
 * tests/integration/test_tsm.py.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "service/config.h"
#include "service/ops/ops.h"
#include "tt_attest_tee.pb-c.h"
#include "turtle/error.h"
#include "wire/opcodes.h"

struct fx {
	struct tt_config cfg;
	struct tt_service svc;
	struct tt_identity id;
	struct tt_wire_hdr hdr;
	struct tt_op_ctx ctx;
	char dir[64], report[96];
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/tt-tsm-unit-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->report, sizeof(f->report), "%s/report", f->dir);
	f->cfg.max_response = 1u << 20;
	f->cfg.tsm_max = TT_CONFIG_TSM_MAX_DEFAULT;
	f->cfg.ccel_max = TT_CONFIG_CCEL_MAX_DEFAULT;
	f->cfg.tsm_report_dir = f->report;
	f->svc.cfg = &f->cfg;
	f->id.auth_type = 1;
	snprintf(f->id.app, sizeof(f->id.app), "alice");
	f->hdr.provider = 0;
	f->hdr.opcode = TT_OP_TT_ATTEST_TEE;
	f->ctx.svc = &f->svc;
	f->ctx.hdr = &f->hdr;
	f->ctx.id = &f->id;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	rmdir(f->report);
	rmdir(f->dir);
	free(f);
	return 0;
}

static int
take(struct fx *f, const TtAttestTee__Operation *op)
{
	uint8_t body[256];
	size_t len = tt_attest_tee__operation__pack(op, body);
	struct tt_buf out;
	int r;

	tt_buf_init(&out, 1u << 20);
	r = tt_ops_dispatch(&f->ctx, body, len, &out);
	tt_buf_free(&out);
	return r;
}

static size_t
entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void
test_request_checks(void **state)
{
	struct fx *f = *state;
	TtAttestTee__Operation op = TT_ATTEST_TEE__OPERATION__INIT;
	uint8_t rd[65] = { 0 };

	assert_int_equal(mkdir(f->report, 0700), 0);
	op.tee = (char *)"";
	op.report_data.data = rd;
	op.report_data.len = 65;
	assert_int_equal(take(f, &op), TT_ERR_INVALID_ARGUMENT);
	op.report_data.len = 64;
	op.tee = (char *)"sgx";
	assert_int_equal(take(f, &op), TT_ERR_INVALID_ARGUMENT);
	op.tee = (char *)"snp";
	op.privlevel_set = true;
	op.privlevel = 4;
	assert_int_equal(take(f, &op), TT_ERR_INVALID_ARGUMENT);
	op.privlevel_set = false;
	op.privlevel = 1;          /* a level without privlevel_set is a malformed request */
	assert_int_equal(take(f, &op), TT_ERR_INVALID_ARGUMENT);
	assert_int_equal(entries(f->report), 0);
	/* a core operation never runs with a key provider */
	{
		struct tt_provider_slot slot;

		memset(&slot, 0, sizeof(slot));
		f->ctx.prov = &slot;
		op.privlevel = 0;
		assert_int_equal(take(f, &op), TT_ERR_NOT_SUPPORTED);
		f->ctx.prov = NULL;
	}
	/* nor without an identity */
	f->ctx.id = NULL;
	assert_int_equal(take(f, &op), TT_ERR_NOT_AUTHENTICATED);
}

static void
test_absent_report_dir(void **state)
{
	struct fx *f = *state;
	TtAttestTee__Operation op = TT_ATTEST_TEE__OPERATION__INIT;

	op.tee = (char *)"";
	assert_int_equal(take(f, &op), TT_ERR_NOT_SUPPORTED);
}

static void
test_entry_removed_on_error(void **state)
{
	struct fx *f = *state;
	TtAttestTee__Operation op = TT_ATTEST_TEE__OPERATION__INIT;

	/* A plain directory: the new entry has no provider attribute, as no guest driver
	 * made it. The request fails, and the entry it made is gone. */
	assert_int_equal(mkdir(f->report, 0700), 0);
	op.tee = (char *)"";
	assert_int_equal(take(f, &op), TT_ERR_DOES_NOT_EXIST);
	assert_int_equal(entries(f->report), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_request_checks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_absent_report_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_entry_removed_on_error, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
