/*
 * libFuzzer target: the Turtle vendor operations of the agent role (TtCertifyKey,
 * TtAttestQuote, TtAgentIdentity, TtAgentActivate) through the real front end.
 *
 * A fuzz build has no TPM, so the service gets a second provider slot, "fuzztpm"
 * (wire id 3): the soft provider's table and context (so keys can be generated through
 * it and TtCertifyKey resolves them), offering the vendor opcodes too, with fake TPM
 * functions that return fixed, well-formed bytes. The handlers' own decoding and bounds
 * checks (nonce length, PCR banks and indices, admin rights, key names), the splitting
 * of the PCR digests into banks, the log reading (small files in the temp directory,
 * one of them over log_max) and the result packing all run on hostile bodies.
 *
 * Input: up to MAX_REQS records, each
 *   u8 selector  bits 0-2: operation (see ops[]); bit 3: authenticate as the admin
 *                (direct authenticator, "admin") instead of a unix peer; bit 4: send to
 *                the soft provider (id 1) instead of fuzztpm, which must be refused
 *   u16le len    body length (clipped to what is left)
 *   body
 * The target builds the PARSEC header, so mutations go to the bodies. Every request must
 * get exactly one well-formed response frame; a successful TtAttestQuote result must
 * unpack and hold one digest of the bank's size per index.
 */
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "providers/provider.h"
#include "service/config.h"
#include "service/service.h"
#include "tt_attest_quote.pb-c.h"
#include "turtle/error.h"
#include "util/buf.h"
#include "util/log.h"
#include "wire/header.h"
#include "wire/opcodes.h"
#include "fuzz_util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_PROV_ID 3
#define MAX_REQS 16
#define LOG_MAX "4096"

static const uint32_t ops[8] = {
	TT_OP_TT_CERTIFY_KEY, TT_OP_TT_ATTEST_QUOTE, TT_OP_TT_AGENT_IDENTITY,
	TT_OP_TT_AGENT_ACTIVATE, TT_OP_PSA_GENERATE_KEY, TT_OP_PSA_DESTROY_KEY,
	TT_OP_LIST_OPCODES, TT_OP_LIST_KEYS,
};

static struct tt_service svc;
static struct tt_provider_ops fake_ops;
static uint32_t *fake_opcodes;
static uint32_t max_response;
static int verbose;
static char tmpdir[] = "/tmp/turtle-fuzz-agent-XXXXXX";

static size_t
alg_size(uint16_t alg)
{
	switch (alg) {
	case 0x0004: return 20;
	case 0x000B: return 32;
	case 0x000C: return 48;
	case 0x000D: return 64;
	default: return 0;
	}
}

/* The fake TPM: what a TPM provider appends, in the shapes provider.h promises. */
static int
fake_quote(void *ctx, const struct tt_pcr_select *sel, const uint8_t *nonce, size_t nonce_len,
    struct tt_buf *attest, struct tt_buf *sig, struct tt_buf *ak_pub, struct tt_buf *pcrs)
{
	int r;

	(void)ctx;
	if ((r = tt_buf_put(attest, "\xff" "TCG\x80\x18", 6)) != 0 ||
	    (nonce_len > 0 && (r = tt_buf_put(attest, nonce, nonce_len)) != 0) ||
	    (r = tt_buf_put(sig, "\x00\x18\x00\x0b", 4)) != 0 ||
	    (r = tt_buf_put(ak_pub, "\x00\x04\x00\x23", 4)) != 0)
		return r;
	for (size_t b = 0; b < sel->n; b++)
		for (unsigned i = 0; i < TT_PCR_COUNT; i++) {
			uint8_t d[64];

			if (!(sel->mask[b] & (1u << i)))
				continue;
			memset(d, (int)(i + 32 * b), sizeof(d));
			if ((r = tt_buf_put(pcrs, d, alg_size(sel->alg[b]))) != 0)
				return r;
		}
	return 0;
}

static int
fake_identity(void *ctx, struct tt_buf *ek_pub, struct tt_buf *ek_der, struct tt_buf *ek_cert,
    struct tt_buf *ak_pub, struct tt_buf *ak_name)
{
	int r;

	(void)ctx;
	(void)ek_cert;  /* a TPM without an EK certificate appends nothing */
	if ((r = tt_buf_put(ek_pub, "\x01\x3a\x00\x01", 4)) != 0 ||
	    (r = tt_buf_put(ek_der, "\x30\x82\x01\x22", 4)) != 0 ||
	    (r = tt_buf_put(ak_pub, "\x00\x04\x00\x23", 4)) != 0 ||
	    (r = tt_buf_put(ak_name, "\x00\x0b" "0123456789abcdef0123456789abcdef", 34)) != 0)
		return r;
	return 0;
}

static int
fake_activate(void *ctx, const uint8_t *blob, size_t blob_len, const uint8_t *secret,
    size_t secret_len, struct tt_buf *out)
{
	(void)ctx;
	(void)secret;
	/* TPM2B_ID_OBJECT and TPM2B_ENCRYPTED_SECRET are at most a few hundred bytes */
	if (blob_len == 0 || secret_len == 0 || blob_len > 512 || secret_len > 512)
		return TT_ERR_INVALID_ARGUMENT;
	return tt_buf_put(out, blob, blob_len < 32 ? blob_len : 32);
}

static int
fake_certify(void *ctx, const struct tt_key *key, const uint8_t *nonce, size_t nonce_len,
    struct tt_buf *attest, struct tt_buf *sig)
{
	int r;

	(void)ctx;
	(void)key;
	if (nonce_len > 64)
		return TT_ERR_INVALID_ARGUMENT;
	if ((r = tt_buf_put(attest, "\xff" "TCG\x80\x17", 6)) != 0 ||
	    (nonce_len > 0 && (r = tt_buf_put(attest, nonce, nonce_len)) != 0) ||
	    (r = tt_buf_put(sig, "\x00\x18\x00\x0b", 4)) != 0)
		return r;
	return 0;
}

static void
cleanup(void)
{
	/* the fuzztpm slot shares the soft provider's context: only slot 0 finalises it */
	svc.n_providers = 1;
	tt_service_fini(&svc);
	free(fake_opcodes);
	fuzz_rmtree(tmpdir);
}

static char *
xstrdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL)
		abort();
	return p;
}

static void
write_file(const char *path, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	char chunk[256];

	if (fd < 0)
		abort();
	memset(chunk, 'x', sizeof(chunk));
	while (n > 0) {
		size_t k = n < sizeof(chunk) ? n : sizeof(chunk);

		if (write(fd, chunk, k) != (ssize_t)k)
			abort();
		n -= k;
	}
	close(fd);
}

/* The [provider.fuzztpm] section: logs in the temp directory, the IMA one over log_max
 * (left out whole), and the default PCR selection. */
static void
add_fake_conf(struct tt_config *cfg, const char *dir)
{
	struct tt_provider_conf *pcs, *pc;
	char path[512];

	pcs = realloc(cfg->providers, (cfg->n_providers + 1) * sizeof(*pcs));
	if (pcs == NULL)
		abort();
	cfg->providers = pcs;
	pc = &pcs[cfg->n_providers++];
	pc->type = xstrdup("fuzztpm");
	pc->n = 3;
	if ((pc->keys = calloc(3, sizeof(char *))) == NULL ||
	    (pc->values = calloc(3, sizeof(char *))) == NULL)
		abort();
	(void)snprintf(path, sizeof(path), "%s/event_log", dir);
	write_file(path, 100);
	pc->keys[0] = xstrdup("event_log");
	pc->values[0] = xstrdup(path);
	(void)snprintf(path, sizeof(path), "%s/ima_log", dir);
	write_file(path, 5000);
	pc->keys[1] = xstrdup("ima_log");
	pc->values[1] = xstrdup(path);
	pc->keys[2] = xstrdup("log_max");
	pc->values[2] = xstrdup(LOG_MAX);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const uint32_t vendor[] = { TT_OP_TT_CERTIFY_KEY, TT_OP_TT_ATTEST_QUOTE,
		TT_OP_TT_AGENT_IDENTITY, TT_OP_TT_AGENT_ACTIVATE };
	const struct tt_provider_ops *soft;
	struct tt_config *cfg;
	const char *dir;
	size_t n;

	(void)argc;
	(void)argv;
	tt_log_set_level(TT_LOG_ERROR);
	verbose = getenv("TT_FUZZ_VERBOSE") != NULL;
	cfg = fuzz_service_config(tmpdir);
	dir = tmpdir;
	max_response = cfg->max_response;
	if (tt_service_init(&svc, cfg) != 0 || svc.n_providers != 1 ||
	    strcmp(svc.providers[0].ops->name, "soft") != 0) {
		fprintf(stderr, "fuzz_agent: service set-up in %s failed\n", dir);
		abort();
	}
	fuzz_lsan_scan_secure_heap();
	/* After init: tt_service_init would try to start a provider named in the config. */
	add_fake_conf(svc.cfg, dir);
	soft = svc.providers[0].ops;
	n = soft->n_opcodes;
	if ((fake_opcodes = calloc(n + 4, sizeof(*fake_opcodes))) == NULL)
		abort();
	memcpy(fake_opcodes, soft->opcodes, n * sizeof(*fake_opcodes));
	memcpy(fake_opcodes + n, vendor, sizeof(vendor));
	fake_ops = *soft;
	fake_ops.name = "fuzztpm";
	fake_ops.id = FUZZ_PROV_ID;
	fake_ops.opcodes = fake_opcodes;
	fake_ops.n_opcodes = n + 4;
	fake_ops.init = NULL;
	fake_ops.fini = NULL;
	fake_ops.certify_key = fake_certify;
	fake_ops.agent_quote = fake_quote;
	fake_ops.agent_identity = fake_identity;
	fake_ops.agent_activate = fake_activate;
	svc.providers[1].ops = &fake_ops;
	svc.providers[1].ctx = svc.providers[0].ctx;
	svc.n_providers = 2;
	tt_log_set_level(TT_LOG_ERROR);
	atexit(cleanup);
	return 0;
}

/* A successful quote's banks are what libturtle relies on: known algorithm, one digest
 * of its size per index, indices ascending and below 24. */
static void
check_quote(const uint8_t *body, size_t len)
{
	static const uint8_t empty[1];
	TtAttestQuote__Result *res;

	res = tt_attest_quote__result__unpack(NULL, len, len > 0 ? body : empty);
	if (res == NULL || res->n_pcrs == 0 || res->attest.len == 0)
		abort();
	for (size_t b = 0; b < res->n_pcrs; b++) {
		const TtAttestQuote__PcrBank *pb = res->pcrs[b];
		size_t ds = pb->hash_alg <= 0xffff ? alg_size((uint16_t)pb->hash_alg) : 0;

		if (ds == 0 || pb->n_indices == 0 || pb->n_indices != pb->n_values)
			abort();
		for (size_t i = 0; i < pb->n_indices; i++)
			if (pb->indices[i] >= TT_PCR_COUNT || pb->values[i].len != ds ||
			    (i > 0 && pb->indices[i] <= pb->indices[i - 1]))
				abort();
	}
	/* the IMA log is over log_max: left out whole, never truncated */
	if (res->ima_log.len != 0 || res->event_log.len != 100)
		abort();
	tt_attest_quote__result__free_unpacked(res, NULL);
}

static void
check_response(const struct tt_buf *resp, uint32_t opcode)
{
	struct tt_wire_hdr h;
	uint8_t raw[TT_WIRE_HDR_LEN];
	size_t n = resp->len;

	if (n < TT_WIRE_HDR_LEN)
		abort();
	memcpy(raw, resp->d, TT_WIRE_HDR_LEN);
	if (tt_wire_hdr_decode(raw, &h) != 0)
		abort();
	if (h.body_len != n - TT_WIRE_HDR_LEN || h.auth_len != 0 || h.opcode != opcode)
		abort();
	if (h.status != 0 && h.body_len != 0)
		abort();
	if (verbose)
		fprintf(stderr, "opcode 0x%x -> status %u (%u body bytes)\n", h.opcode, h.status,
		    h.body_len);
	if (h.status == 0 && opcode == TT_OP_TT_ATTEST_QUOTE)
		check_quote(resp->d + TT_WIRE_HDR_LEN, h.body_len);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t empty[1];
	struct tt_peer peer = { .valid = true, .uid = 1000, .gid = 1000, .pid = 4242 };
	size_t off = 0;

	for (int k = 0; k < MAX_REQS && size - off >= 3; k++) {
		uint8_t sel = data[off];
		size_t len = (size_t)data[off + 1] | (size_t)data[off + 2] << 8;
		const struct tt_opcode_info *info;
		struct tt_wire_hdr h;
		const uint8_t *auth;
		uint8_t peer_auth[4] = { 0xe8, 0x03, 0, 0 };   /* uid 1000, little endian */
		struct tt_buf resp;

		off += 3;
		if (len > size - off)
			len = size - off;
		memset(&h, 0, sizeof(h));
		h.opcode = ops[sel & 7];
		info = tt_opcode_info(h.opcode);
		h.provider = info != NULL && info->core ? 0 : (sel & 0x10) ? 1 : FUZZ_PROV_ID;
		h.content_type = TT_WIRE_BODY_PROTOBUF;
		h.accept_type = TT_WIRE_BODY_PROTOBUF;
		if (sel & 0x08) {
			h.auth_type = 1;    /* direct */
			auth = (const uint8_t *)"admin";
			h.auth_len = 5;
		} else {
			h.auth_type = 3;    /* unix peer */
			auth = peer_auth;
			h.auth_len = sizeof(peer_auth);
		}
		h.body_len = (uint32_t)len;
		tt_buf_init(&resp, (size_t)max_response + TT_WIRE_HDR_LEN);
		tt_buf_set_secret(&resp);
		if (tt_frontend_handle(&svc, &h, len > 0 ? data + off : empty, auth, &peer,
		    0, &resp) == 0)
			check_response(&resp, h.opcode);
		tt_buf_free(&resp);
		off += len;
	}
	return 0;
}
