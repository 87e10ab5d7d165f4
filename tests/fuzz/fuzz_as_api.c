/*
 * libFuzzer target: turtle-as JSON request bodies through the real route handlers, with a
 * real SQLite store and signing keys in a temporary directory. The first input byte picks
 * the handler; the rest is the body (for attest, the evidence member of a request around
 * a fresh challenge, so the verifiers, the policy and the signer are reached).
 */
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "as.h"
#include "http.h"
#include "fuzz_util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct tt_as_config cfg = {
	.max_body = 1u << 20, .nonce_ttl = 300, .token_ttl = 3600, .session_ttl = 300,
};
static struct tt_as_ctx ctx;
static unsigned long counter;

static char *
ak_pem(void)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	BIO *b = BIO_new(BIO_s_mem());
	char *p = NULL, *out;
	long n;

	if (k == NULL || b == NULL || PEM_write_bio_PUBKEY(b, k) != 1)
		abort();
	n = BIO_get_mem_data(b, &p);
	if ((out = strndup(p, (size_t)n)) == NULL)
		abort();
	BIO_free(b);
	EVP_PKEY_free(k);
	return out;
}

/* On a normal exit: release the store and keys, remove the temporary data dir. */
static void
cleanup(void)
{
	tt_as_issuer_close(ctx.issuer);
	if (ctx.st != NULL)
		ctx.ops->close(ctx.st);
	tt_as_nonces_free(ctx.nonces);
	if (cfg.data_dir != NULL)
		fuzz_rmtree(cfg.data_dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static char dir[] = "/tmp/tt-fuzz-as-XXXXXX";
	json_t *node;
	char *pem;

	(void)argc;
	(void)argv;
	if (mkdtemp(dir) == NULL)
		abort();
	cfg.data_dir = dir;
	ctx.cfg = &cfg;
	ctx.ops = &tt_as_store_sqlite;
	if (tt_as_nonces_new(1024, &ctx.nonces) != 0 || ctx.ops->open(dir, &ctx.st) != 0 ||
	    tt_as_issuer_open(dir, ctx.st, ctx.ops, &ctx.issuer) != 0)
		abort();
	pem = ak_pem();
	node = json_pack("{s:s,s:s,s:s}", "id", "n1", "group", "g", "ak_public", pem);
	if (node == NULL || ctx.ops->node_put(ctx.st, node) != 0)
		abort();
	json_decref(node);
	free(pem);
	atexit(cleanup);
	return 0;
}

static void
call(tt_as_handler h, const char *method, const char *tail, const uint8_t *body, size_t len,
	const char *cookie)
{
	struct tt_as_req rq = { .method = method, .path = "/", .tail = tail, .body = body,
		.body_len = len, .cookie_session = cookie };
	struct tt_as_resp rs = { .status = 200 };

	(void)h(&ctx, &rq, &rs);
	json_decref(rs.json);
	free(rs.raw);
	free(rs.set_cookie);
}

/* {"nonce":"<fresh challenge>","tee":TEE,"evidence":<input>} */
static void
attest(const char *tee, const char *node, const uint8_t *ev, size_t len)
{
	char *nonce = NULL, *body;
	struct tt_as_nonce taken = { 0 };
	uint8_t *raw = NULL;
	size_t n, rawlen = 0;
	int k;

	if (tt_as_nonce_issue(ctx.nonces, tee, node, tt_as_now(), tt_as_now() + 300, &nonce) != 0)
		abort();
	n = len + 128;
	if ((body = malloc(n)) == NULL)
		abort();
	k = snprintf(body, n, "{\"nonce\":\"%s\",\"tee\":\"%s\",\"evidence\":", nonce, tee);
	memcpy(body + k, ev, len);
	body[k + len] = '}';
	call(tt_as_h_attest, "POST", "", (const uint8_t *)body, (size_t)k + len + 1, NULL);
	/* A body the handler rejected before taking the challenge leaves it outstanding:
	 * take it here so the bounded table never fills over a long run. */
	if (tt_as_b64_dec(nonce, &raw, &rawlen) == 0) {
		(void)tt_as_nonce_take(ctx.nonces, raw, rawlen, tt_as_now(), &taken);
		tt_as_nonce_clear(&taken);
		free(raw);
	}
	free(body);
	free(nonce);
}

static void
kbs_attest(const uint8_t *body, size_t len)
{
	struct tt_as_session s = { .tee = "sample", .nonce = "fuzz-nonce",
		.expires_at = tt_as_now() + 300 };
	char id[64];

	snprintf(id, sizeof(id), "fuzz-%lu", counter++);
	s.id = id;
	if (ctx.ops->session_put(ctx.st, &s) != 0)
		abort();
	call(tt_as_h_kbs_attest, "POST", "", body, len, id);
	call(tt_as_h_kbs_resource, "GET", "default/key/k", NULL, 0, id);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *b = data + 1;
	size_t n = size - 1;

	if (size < 1)
		return 0;
	switch (data[0] % 10) {
	case 0: call(tt_as_h_challenge, "POST", "", b, n, NULL); break;
	case 1: attest("sample", NULL, b, n); break;
	case 2: attest("tpm", "n1", b, n); break;
	case 3: call(tt_as_h_kbs_auth, "POST", "", b, n, NULL); break;
	case 4: kbs_attest(b, n); break;
	case 5: call(tt_as_h_nodes, "POST", "", b, n, NULL); break;
	case 6: call(tt_as_h_refvals, "POST", "", b, n, NULL); break;
	case 7: call(tt_as_h_policies, "POST", "", b, n, NULL); break;
	case 8: call(tt_as_h_activate, "POST", "", b, n, NULL); break;
	default: {
		char *t = strndup((const char *)b, n), *p = NULL;

		if (t != NULL && tt_as_resource_path(t, &p) == 0)
			free(p);
		free(t);
		break;
	}
	}
	return 0;
}
