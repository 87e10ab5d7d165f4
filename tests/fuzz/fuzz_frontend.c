/*
 * libFuzzer target: whole byte streams through the frame reader into the front end of
 * a real service (soft provider, SQLite key store) in a temporary data directory made
 * once in LLVMFuzzerInitialize. Every request, however malformed, must yield exactly
 * one well-formed response frame; a header the reader rejects yields PARSEC's error
 * frame and ends the stream, as on a real connection.
 *
 * Keys created by earlier inputs persist in the store for the whole run, so later
 * inputs reach the paths that use, export and destroy existing keys.
 */
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service/config.h"
#include "service/frame.h"
#include "service/service.h"
#include "turtle/error.h"
#include "util/buf.h"
#include "util/log.h"
#include "wire/header.h"
#include "fuzz_util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct tt_service svc;
static struct tt_config *cfg;
static uint32_t max_body, max_auth, max_response;
/* TT_FUZZ_VERBOSE=1: print each request's opcode and response status (to check what a
 * seed reaches, e.g. ./fuzz_frontend -runs=0 corpus/fuzz_frontend/seed-ecc). */
static int verbose;
static char tmpdir[] = "/tmp/turtle-fuzz-XXXXXX";

/* A normal exit (time limit reached) removes the data directory; after a crash it
 * stays for inspection. */
static void
cleanup(void)
{
	tt_service_fini(&svc);
	fuzz_rmtree(tmpdir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir;

	(void)argc;
	(void)argv;
	tt_log_set_level(TT_LOG_ERROR);
	verbose = getenv("TT_FUZZ_VERBOSE") != NULL;
	cfg = fuzz_service_config(tmpdir);
	dir = tmpdir;
	max_body = cfg->max_body;
	max_auth = cfg->max_auth;
	max_response = cfg->max_response;
	if (tt_service_init(&svc, cfg) != 0) {
		fprintf(stderr, "fuzz_frontend: service set-up in %s failed\n", dir);
		abort();
	}
	fuzz_lsan_scan_secure_heap();
	tt_log_set_level(TT_LOG_ERROR);
	atexit(cleanup);
	return 0;
}

/* A response must be one complete frame: a header PARSEC accepts and exactly the body
 * it announces. */
static void
check_response(const struct tt_buf *resp, size_t before)
{
	struct tt_wire_hdr h;
	uint8_t raw[TT_WIRE_HDR_LEN];
	size_t n = resp->len - before;

	if (n < TT_WIRE_HDR_LEN)
		abort();
	memcpy(raw, resp->d + before, TT_WIRE_HDR_LEN);
	if (tt_wire_hdr_decode(raw, &h) != 0)
		abort();
	if (h.body_len != n - TT_WIRE_HDR_LEN || h.auth_len != 0)
		abort();
	if (verbose)
		fprintf(stderr, "opcode %u -> status %u\n", h.opcode, h.status);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t empty[1];
	/* A fixed peer, so the unix-peer seeds (uid 1000 in their auth bytes) do not
	 * depend on who runs the fuzzer. */
	struct tt_peer peer = { .valid = true, .uid = 1000, .gid = 1000, .pid = 4242 };
	struct tt_frame f;
	struct tt_buf resp;
	size_t off = 0;

	tt_frame_init(&f, max_body, max_auth);
	while (off < size) {
		size_t used = 0;
		int r = tt_frame_feed(&f, data + off, size - off, &used);

		off += used;
		if (r == TT_FRAME_MORE)
			break;
		tt_buf_init(&resp, (size_t)max_response + TT_WIRE_HDR_LEN);
		tt_buf_set_secret(&resp);
		if (r == TT_FRAME_DONE) {
			const uint8_t *body = tt_frame_body(&f), *auth = tt_frame_auth(&f);

			if (tt_frontend_handle(&svc, tt_frame_hdr(&f), body ? body : empty,
			    auth ? auth : empty, &peer, 0, &resp) == 0)
				check_response(&resp, 0);
			tt_buf_free(&resp);
			tt_frame_next(&f);
			continue;
		}
		if (tt_frontend_error_frame(r, &resp) == 0)
			check_response(&resp, 0);
		tt_buf_free(&resp);
		break;
	}
	tt_frame_free(&f);
	return 0;
}
