/*
 * The request path end to end without sockets: real request frames (header fields +
 * protobuf bodies packed with protobuf-c) through tt_frontend_handle against a real
 * service (soft provider, key store in a temporary directory). Assertions are on the
 * response headers, statuses and bodies; signatures are checked with OpenSSL.
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

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/sha.h>

#include "can_do_crypto.pb-c.h"
#include "delete_client.pb-c.h"
#include "list_authenticators.pb-c.h"
#include "list_clients.pb-c.h"
#include "list_keys.pb-c.h"
#include "list_opcodes.pb-c.h"
#include "list_providers.pb-c.h"
#include "ping.pb-c.h"
#include "psa_aead_decrypt.pb-c.h"
#include "psa_aead_encrypt.pb-c.h"
#include "psa_asymmetric_decrypt.pb-c.h"
#include "psa_asymmetric_encrypt.pb-c.h"
#include "psa_cipher_decrypt.pb-c.h"
#include "psa_cipher_encrypt.pb-c.h"
#include "psa_destroy_key.pb-c.h"
#include "psa_export_key.pb-c.h"
#include "psa_export_public_key.pb-c.h"
#include "psa_generate_key.pb-c.h"
#include "psa_generate_random.pb-c.h"
#include "psa_hash_compare.pb-c.h"
#include "psa_mac_compute.pb-c.h"
#include "psa_mac_verify.pb-c.h"
#include "psa_raw_key_agreement.pb-c.h"
#include "psa_sign_hash.pb-c.h"
#include "psa_sign_message.pb-c.h"
#include "psa_verify_hash.pb-c.h"
#include "psa_verify_message.pb-c.h"
#include "service/service.h"
#include "turtle/error.h"
#include "wire/opcodes.h"
#include "wire/psa_conv.h"

#define UID_ALICE 4242u

struct fx {
	char dir[64];
	struct tt_service svc;
};

/* One decoded response. */
struct rsp {
	struct tt_wire_hdr h;
	uint8_t *body;
	size_t len;
};

static void
rsp_free(struct rsp *r)
{
	free(r->body);
	memset(r, 0, sizeof(*r));
}

static struct tt_config *
make_cfg(const char *dir, uint32_t max_response)
{
	struct tt_config *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	tt_config_defaults(c);
	free(c->data_dir);
	c->data_dir = strdup(dir);
	assert_non_null(c->data_dir);
	c->admins = calloc(1, sizeof(*c->admins));
	assert_non_null(c->admins);
	c->admins[0].auth_type = TT_AUTH_DIRECT;
	c->admins[0].name = strdup("root-admin");
	c->n_admins = 1;
	if (max_response != 0)
		c->max_response = max_response;
	assert_int_equal(tt_config_finish(c), 0);
	return c;
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/tt-frontend-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(tt_service_init(&f->svc, make_cfg(f->dir, 0)), 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	tt_service_fini(&f->svc);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", f->dir);
	free(f);
	return 0;
}

/* ---- request plumbing ---- */

struct who {
	uint8_t auth_type;
	const char *app;        /* direct */
	uint32_t uid;           /* unix peer */
};

static const struct who NOAUTH = { TT_AUTH_NONE, NULL, 0 };
static const struct who ALICE = { TT_AUTH_DIRECT, "alice", 0 };
static const struct who BOB = { TT_AUTH_DIRECT, "bob", 0 };
static const struct who ADMIN = { TT_AUTH_DIRECT, "root-admin", 0 };
static const struct who ALICE_UID = { TT_AUTH_UNIX_PEER, NULL, UID_ALICE };

/* Send a request whose header is `h` (auth fields filled from `w`). */
static uint16_t
send_hdr(struct fx *f, struct tt_wire_hdr *h, const struct who *w, const ProtobufCMessage *m,
    struct rsp *out)
{
	uint8_t auth[TT_APP_NAME_MAX + 4];
	size_t auth_len = 0;
	uint8_t *body = NULL;
	size_t body_len = 0;
	struct tt_peer peer = { .valid = true, .uid = UID_ALICE, .gid = UID_ALICE, .pid = 1 };
	struct tt_buf resp;
	struct tt_wire_hdr rh;

	if (w->auth_type == TT_AUTH_DIRECT) {
		auth_len = strlen(w->app);
		memcpy(auth, w->app, auth_len);
	} else if (w->auth_type == TT_AUTH_UNIX_PEER) {
		auth[0] = (uint8_t)w->uid;
		auth[1] = (uint8_t)(w->uid >> 8);
		auth[2] = (uint8_t)(w->uid >> 16);
		auth[3] = (uint8_t)(w->uid >> 24);
		auth_len = 4;
	}
	if (m != NULL) {
		body_len = protobuf_c_message_get_packed_size(m);
		body = malloc(body_len + 1);
		assert_non_null(body);
		assert_int_equal(protobuf_c_message_pack(m, body), body_len);
	}
	h->auth_type = w->auth_type;
	h->auth_len = (uint16_t)auth_len;
	h->body_len = (uint32_t)body_len;

	tt_buf_init(&resp, 4u << 20);
	assert_int_equal(tt_frontend_handle(&f->svc, h, body, auth_len ? auth : NULL, &peer, 0, &resp), 0);
	assert_true(tt_buf_avail(&resp) >= TT_WIRE_HDR_LEN);
	assert_int_equal(tt_wire_hdr_decode(tt_buf_ptr(&resp), &rh), 0);
	/* every response echoes provider, session and opcode and carries no auth */
	assert_int_equal(rh.provider, h->provider);
	assert_true(rh.session == h->session);
	assert_int_equal(rh.opcode, h->opcode);
	assert_int_equal(rh.content_type, 0);
	assert_int_equal(rh.accept_type, 0);
	assert_int_equal(rh.auth_type, 0);
	assert_int_equal(rh.auth_len, 0);
	assert_int_equal(rh.body_len, tt_buf_avail(&resp) - TT_WIRE_HDR_LEN);
	if (rh.status != 0)
		assert_int_equal(rh.body_len, 0);
	if (out != NULL) {
		out->h = rh;
		out->len = rh.body_len;
		out->body = malloc(out->len + 1);
		assert_non_null(out->body);
		memcpy(out->body, tt_buf_ptr(&resp) + TT_WIRE_HDR_LEN, out->len);
	}
	tt_buf_free(&resp);
	free(body);
	return rh.status;
}

static uint16_t
send_req(struct fx *f, uint8_t provider, uint32_t opcode, const struct who *w,
    const ProtobufCMessage *m, struct rsp *out)
{
	struct tt_wire_hdr h;

	memset(&h, 0, sizeof(h));
	h.provider = provider;
	h.session = 0x1122334455667788ull;
	h.opcode = opcode;
	return send_hdr(f, &h, w, m, out);
}

/* ---- key helpers ---- */

static uint16_t
gen_key(struct fx *f, const struct who *w, const char *name, tt_key_type_t type, uint32_t bits,
    tt_usage_t usage, tt_alg_t alg)
{
	PsaGenerateKey__Operation op = PSA_GENERATE_KEY__OPERATION__INIT;
	struct tt_key_attrs a = { .type = type, .bits = bits, .usage = usage, .alg = alg };
	uint16_t st;

	op.key_name = (char *)name;
	assert_int_equal(tt_psa_attrs_to_pb(&a, &op.attributes), 0);
	st = send_req(f, 1, TT_OP_PSA_GENERATE_KEY, w, &op.base, NULL);
	tt_pb_attrs_free(op.attributes);
	return st;
}

static uint16_t
sign_hash(struct fx *f, const struct who *w, const char *name, tt_alg_t alg,
    const uint8_t *hash, size_t hlen, struct rsp *out)
{
	PsaSignHash__Operation op = PSA_SIGN_HASH__OPERATION__INIT;
	uint16_t st;

	op.key_name = (char *)name;
	assert_int_equal(tt_psa_sign_to_pb(alg, &op.alg), 0);
	op.hash.data = (uint8_t *)hash;
	op.hash.len = hlen;
	st = send_req(f, 1, TT_OP_PSA_SIGN_HASH, w, &op.base, out);
	tt_pb_sign_free(op.alg);
	return st;
}

static uint16_t
export_pub(struct fx *f, const struct who *w, const char *name, struct rsp *out)
{
	PsaExportPublicKey__Operation op = PSA_EXPORT_PUBLIC_KEY__OPERATION__INIT;

	op.key_name = (char *)name;
	return send_req(f, 1, TT_OP_PSA_EXPORT_PUBLIC_KEY, w, &op.base, out);
}

static uint16_t
export_key(struct fx *f, const struct who *w, const char *name)
{
	PsaExportKey__Operation op = PSA_EXPORT_KEY__OPERATION__INIT;

	op.key_name = (char *)name;
	return send_req(f, 1, TT_OP_PSA_EXPORT_KEY, w, &op.base, NULL);
}

static size_t
count_keys(struct fx *f, const struct who *w, const char *name)
{
	ListKeys__Operation op = LIST_KEYS__OPERATION__INIT;
	ListKeys__Result *res;
	struct rsp r;
	size_t n = 0;

	assert_int_equal(send_req(f, 0, TT_OP_LIST_KEYS, w, &op.base, &r), 0);
	res = list_keys__result__unpack(NULL, r.len, r.body);
	assert_non_null(res);
	for (size_t i = 0; i < res->n_keys; i++)
		if (name == NULL || strcmp(res->keys[i]->name, name) == 0)
			n++;
	list_keys__result__free_unpacked(res, NULL);
	rsp_free(&r);
	return n;
}

/* Verify a PSA ECDSA P-256 signature (raw r||s) over `hash` with an uncompressed point. */
static int
openssl_verify_p256(const uint8_t *pub, size_t pub_len, const uint8_t *hash, size_t hlen,
    const uint8_t *sig, size_t sig_len)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *pctx = NULL, *vctx = NULL;
	EVP_PKEY *pkey = NULL;
	ECDSA_SIG *es = NULL;
	unsigned char *der = NULL;
	int der_len, ok = 0;

	if (sig_len != 64 || bld == NULL)
		goto out;
	OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0);
	OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, pub_len);
	params = OSSL_PARAM_BLD_to_param(bld);
	pctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	if (params == NULL || pctx == NULL || EVP_PKEY_fromdata_init(pctx) <= 0 ||
	    EVP_PKEY_fromdata(pctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		goto out;
	es = ECDSA_SIG_new();
	if (es == NULL || ECDSA_SIG_set0(es, BN_bin2bn(sig, 32, NULL), BN_bin2bn(sig + 32, 32, NULL)) != 1)
		goto out;
	if ((der_len = i2d_ECDSA_SIG(es, &der)) <= 0)
		goto out;
	vctx = EVP_PKEY_CTX_new(pkey, NULL);
	if (vctx == NULL || EVP_PKEY_verify_init(vctx) <= 0)
		goto out;
	ok = EVP_PKEY_verify(vctx, der, (size_t)der_len, hash, hlen) == 1;
out:
	OPENSSL_free(der);
	ECDSA_SIG_free(es);
	EVP_PKEY_CTX_free(vctx);
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(pctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	return ok;
}

/* ---- tests ---- */

static void
test_header_field_errors(void **state)
{
	struct fx *f = *state;
	Ping__Operation ping = PING__OPERATION__INIT;
	PsaGenerateKey__Operation gen = PSA_GENERATE_KEY__OPERATION__INIT;
	struct tt_wire_hdr h;
	uint8_t garbage[] = { 0x0a, 0xff, 0xff, 0xff };
	struct tt_buf resp;
	struct tt_peer peer = { .valid = true, .uid = UID_ALICE };

	memset(&h, 0, sizeof(h));
	h.opcode = TT_OP_PING;
	h.content_type = 1;
	assert_int_equal(send_hdr(f, &h, &NOAUTH, &ping.base, NULL), TT_STATUS_CONTENT_TYPE_NOT_SUPPORTED);
	h.content_type = 0;
	h.accept_type = 1;
	assert_int_equal(send_hdr(f, &h, &NOAUTH, &ping.base, NULL), TT_STATUS_ACCEPT_TYPE_NOT_SUPPORTED);
	h.accept_type = 0;
	h.auth_type = 5;
	memset(&resp, 0, sizeof(resp));
	{
		struct who bad = { 5, NULL, 0 };

		assert_int_equal(send_hdr(f, &h, &bad, &ping.base, NULL), TT_STATUS_AUTHENTICATOR_DOES_NOT_EXIST);
	}
	h.opcode = 0x77;
	assert_int_equal(send_hdr(f, &h, &NOAUTH, &ping.base, NULL), TT_STATUS_OPCODE_DOES_NOT_EXIST);
	h.opcode = TT_OP_PING;
	h.provider = 6;
	assert_int_equal(send_hdr(f, &h, &NOAUTH, &ping.base, NULL), TT_STATUS_PROVIDER_DOES_NOT_EXIST);
	/* content type is checked before everything else */
	h.provider = 9;
	h.content_type = 3;
	assert_int_equal(send_hdr(f, &h, &NOAUTH, &ping.base, NULL), TT_STATUS_CONTENT_TYPE_NOT_SUPPORTED);

	/* authentication */
	{
		struct who tokens = { TT_AUTH_TOKENS, NULL, 0 };
		struct who jwt = { TT_AUTH_JWT_SVID, NULL, 0 };
		struct who empty = { TT_AUTH_DIRECT, "", 0 };
		struct who badutf = { TT_AUTH_DIRECT, "al\xff" "ce", 0 };
		struct who other_uid = { TT_AUTH_UNIX_PEER, NULL, UID_ALICE + 1 };

		assert_int_equal(send_req(f, 0, TT_OP_PING, &tokens, &ping.base, NULL), TT_STATUS_AUTHENTICATOR_NOT_REGISTERED);
		assert_int_equal(send_req(f, 0, TT_OP_PING, &jwt, &ping.base, NULL), TT_STATUS_AUTHENTICATOR_NOT_REGISTERED);
		assert_int_equal(send_req(f, 0, TT_OP_PING, &empty, &ping.base, NULL), TT_STATUS_AUTHENTICATION_ERROR);
		assert_int_equal(send_req(f, 0, TT_OP_PING, &badutf, &ping.base, NULL), TT_STATUS_AUTHENTICATION_ERROR);
		assert_int_equal(send_req(f, 0, TT_OP_PING, &other_uid, &ping.base, NULL), TT_STATUS_AUTHENTICATION_ERROR);
		assert_int_equal(send_req(f, 0, TT_OP_PING, &ALICE_UID, &ping.base, NULL), 0);
	}
	/* unix peer auth with a wrong-length claim */
	memset(&h, 0, sizeof(h));
	h.opcode = TT_OP_PING;
	h.auth_type = TT_AUTH_UNIX_PEER;
	h.auth_len = 3;
	tt_buf_init(&resp, 1024);
	assert_int_equal(tt_frontend_handle(&f->svc, &h, NULL, (const uint8_t *)"\x92\x10\x00", &peer, 0, &resp), 0);
	{
		struct tt_wire_hdr rh;

		assert_int_equal(tt_wire_hdr_decode(tt_buf_ptr(&resp), &rh), 0);
		assert_int_equal(rh.status, TT_STATUS_AUTHENTICATION_ERROR);
	}
	tt_buf_free(&resp);

	/* dispatch */
	assert_int_equal(send_req(f, 2, TT_OP_PSA_GENERATE_RANDOM, &ALICE, NULL, NULL), TT_STATUS_PROVIDER_NOT_REGISTERED);
	assert_int_equal(send_req(f, 1, TT_OP_PING, &NOAUTH, &ping.base, NULL), TT_STATUS_PSA_NOT_SUPPORTED);
	assert_int_equal(send_req(f, 0, TT_OP_PSA_GENERATE_KEY, &ALICE, &gen.base, NULL), TT_STATUS_PSA_NOT_SUPPORTED);
	/* an opcode PARSEC defines but the soft provider does not offer */
	assert_int_equal(send_req(f, 1, TT_OP_ATTEST_KEY, &ALICE, NULL, NULL), TT_STATUS_PSA_NOT_SUPPORTED);
	/* body decoding */
	memset(&h, 0, sizeof(h));
	h.provider = 1;
	h.opcode = TT_OP_PSA_GENERATE_KEY;
	h.auth_type = TT_AUTH_DIRECT;
	h.auth_len = 5;
	h.body_len = sizeof(garbage);
	tt_buf_init(&resp, 1024);
	assert_int_equal(tt_frontend_handle(&f->svc, &h, garbage, (const uint8_t *)"alice", &peer, 0, &resp), 0);
	{
		struct tt_wire_hdr rh;

		assert_int_equal(tt_wire_hdr_decode(tt_buf_ptr(&resp), &rh), 0);
		assert_int_equal(rh.status, TT_STATUS_DESERIALIZING_BODY_FAILED);
		assert_int_equal(rh.body_len, 0);
	}
	tt_buf_free(&resp);
}

static void
test_error_frame(void **state)
{
	struct tt_buf resp;
	struct tt_wire_hdr rh;

	(void)state;
	tt_buf_init(&resp, 1024);
	assert_int_equal(tt_frontend_error_frame(TT_ERR_BODY_TOO_LARGE, &resp), 0);
	assert_int_equal(tt_buf_avail(&resp), TT_WIRE_HDR_LEN);
	assert_int_equal(tt_wire_hdr_decode(tt_buf_ptr(&resp), &rh), 0);
	assert_int_equal(rh.status, TT_STATUS_BODY_SIZE_EXCEEDS_LIMIT);
	assert_int_equal(rh.opcode, TT_OP_PING);
	assert_int_equal(rh.provider, 0);
	assert_true(rh.session == 0);
	assert_int_equal(rh.body_len, 0);
	tt_buf_free(&resp);
}

static void
test_noauth(void **state)
{
	struct fx *f = *state;
	ListKeys__Operation lk = LIST_KEYS__OPERATION__INIT;
	PsaGenerateRandom__Operation gr = PSA_GENERATE_RANDOM__OPERATION__INIT;
	PsaGenerateRandom__Result *grr;
	struct rsp r;

	assert_int_equal(gen_key(f, &NOAUTH, "k", TT_KEY_TYPE_ECC_KEY_PAIR(TT_ECC_FAMILY_SECP_R1), 256,
	    TT_USAGE_SIGN_HASH, TT_ALG_ECDSA(TT_ALG_SHA_256)), TT_STATUS_NOT_AUTHENTICATED);
	assert_int_equal(sign_hash(f, &NOAUTH, "k", TT_ALG_ECDSA(TT_ALG_SHA_256),
	    (const uint8_t *)"0123456789abcdef0123456789abcdef", 32, NULL), TT_STATUS_NOT_AUTHENTICATED);
	assert_int_equal(send_req(f, 0, TT_OP_LIST_KEYS, &NOAUTH, &lk.base, NULL), TT_STATUS_NOT_AUTHENTICATED);
	/* randomness needs no identity */
	gr.size = 33;
	assert_int_equal(send_req(f, 1, TT_OP_PSA_GENERATE_RANDOM, &NOAUTH, &gr.base, &r), 0);
	grr = psa_generate_random__result__unpack(NULL, r.len, r.body);
	assert_non_null(grr);
	assert_int_equal(grr->random_bytes.len, 33);
	psa_generate_random__result__free_unpacked(grr, NULL);
	rsp_free(&r);
	gr.size = 8u << 20;
	assert_int_equal(send_req(f, 1, TT_OP_PSA_GENERATE_RANDOM, &NOAUTH, &gr.base, NULL), TT_STATUS_PSA_INVALID_ARGUMENT);
}

static void
test_core_ops(void **state)
{
	struct fx *f = *state;
	Ping__Operation ping = PING__OPERATION__INIT;
	ListProviders__Operation lp = LIST_PROVIDERS__OPERATION__INIT;
	ListOpcodes__Operation lo = LIST_OPCODES__OPERATION__INIT;
	ListAuthenticators__Operation la = LIST_AUTHENTICATORS__OPERATION__INIT;
	Ping__Result *pr;
	ListProviders__Result *lpr;
	ListOpcodes__Result *lor;
	ListAuthenticators__Result *lar;
	struct rsp r;
	bool has_ping = false, has_sign = false;

	assert_int_equal(send_req(f, 0, TT_OP_PING, &NOAUTH, &ping.base, &r), 0);
	pr = ping__result__unpack(NULL, r.len, r.body);
	assert_non_null(pr);
	assert_int_equal(pr->wire_protocol_version_maj, 1);
	assert_int_equal(pr->wire_protocol_version_min, 0);
	ping__result__free_unpacked(pr, NULL);
	rsp_free(&r);
	/* an empty body is a valid empty Ping operation */
	assert_int_equal(send_req(f, 0, TT_OP_PING, &NOAUTH, NULL, NULL), 0);

	assert_int_equal(send_req(f, 0, TT_OP_LIST_PROVIDERS, &NOAUTH, &lp.base, &r), 0);
	lpr = list_providers__result__unpack(NULL, r.len, r.body);
	assert_non_null(lpr);
	assert_int_equal(lpr->n_providers, 2);
	assert_int_equal(lpr->providers[0]->id, 1);
	assert_int_equal(lpr->providers[1]->id, 0);
	assert_string_equal(lpr->providers[1]->uuid, "47049873-2a43-4845-9d72-831eab668784");
	assert_string_equal(lpr->providers[1]->vendor, "Turtle");
	list_providers__result__free_unpacked(lpr, NULL);
	rsp_free(&r);

	lo.provider_id = 0;
	assert_int_equal(send_req(f, 0, TT_OP_LIST_OPCODES, &NOAUTH, &lo.base, &r), 0);
	lor = list_opcodes__result__unpack(NULL, r.len, r.body);
	assert_non_null(lor);
	for (size_t i = 0; i < lor->n_opcodes; i++) {
		has_ping |= lor->opcodes[i] == TT_OP_PING;
		has_sign |= lor->opcodes[i] == TT_OP_PSA_SIGN_HASH;
	}
	assert_true(has_ping);
	assert_false(has_sign);
	list_opcodes__result__free_unpacked(lor, NULL);
	rsp_free(&r);
	lo.provider_id = 1;
	has_ping = has_sign = false;
	assert_int_equal(send_req(f, 0, TT_OP_LIST_OPCODES, &NOAUTH, &lo.base, &r), 0);
	lor = list_opcodes__result__unpack(NULL, r.len, r.body);
	assert_non_null(lor);
	for (size_t i = 0; i < lor->n_opcodes; i++) {
		has_ping |= lor->opcodes[i] == TT_OP_PING;
		has_sign |= lor->opcodes[i] == TT_OP_PSA_SIGN_HASH;
	}
	assert_false(has_ping);
	assert_true(has_sign);
	list_opcodes__result__free_unpacked(lor, NULL);
	rsp_free(&r);
	lo.provider_id = 3;
	assert_int_equal(send_req(f, 0, TT_OP_LIST_OPCODES, &NOAUTH, &lo.base, NULL), TT_STATUS_PROVIDER_NOT_REGISTERED);

	assert_int_equal(send_req(f, 0, TT_OP_LIST_AUTHENTICATORS, &NOAUTH, &la.base, &r), 0);
	lar = list_authenticators__result__unpack(NULL, r.len, r.body);
	assert_non_null(lar);
	assert_int_equal(lar->n_authenticators, 2);
	assert_int_equal(lar->authenticators[0]->id, TT_AUTH_DIRECT);
	assert_int_equal(lar->authenticators[1]->id, TT_AUTH_UNIX_PEER);
	list_authenticators__result__free_unpacked(lar, NULL);
	rsp_free(&r);
}

static void
test_sign_and_export(void **state)
{
	struct fx *f = *state;
	uint8_t hash[32];
	struct rsp sr, pr;
	PsaSignHash__Result *sres;
	PsaExportPublicKey__Result *pres;
	PsaVerifyHash__Operation vh = PSA_VERIFY_HASH__OPERATION__INIT;
	const struct who *clients[] = { &ALICE, &ALICE_UID };

	SHA256((const uint8_t *)"turtles all the way down", 24, hash);
	for (size_t c = 0; c < 2; c++) {
		const struct who *w = clients[c];

		assert_int_equal(gen_key(f, w, "sig", TT_KEY_TYPE_ECC_KEY_PAIR(TT_ECC_FAMILY_SECP_R1), 256,
		    TT_USAGE_SIGN_HASH | TT_USAGE_VERIFY_HASH, TT_ALG_ECDSA(TT_ALG_SHA_256)), 0);
		/* the name is taken for this client now */
		assert_int_equal(gen_key(f, w, "sig", TT_KEY_TYPE_ECC_KEY_PAIR(TT_ECC_FAMILY_SECP_R1), 256,
		    TT_USAGE_SIGN_HASH, TT_ALG_ECDSA(TT_ALG_SHA_256)), TT_STATUS_PSA_ALREADY_EXISTS);
		assert_int_equal(sign_hash(f, w, "sig", TT_ALG_ECDSA(TT_ALG_SHA_256), hash, 32, &sr), 0);
		sres = psa_sign_hash__result__unpack(NULL, sr.len, sr.body);
		assert_non_null(sres);
		assert_int_equal(export_pub(f, w, "sig", &pr), 0);
		pres = psa_export_public_key__result__unpack(NULL, pr.len, pr.body);
		assert_non_null(pres);
		assert_int_equal(pres->data.len, 65);
		assert_int_equal(pres->data.data[0], 0x04);
		assert_true(openssl_verify_p256(pres->data.data, pres->data.len, hash, 32,
		    sres->signature.data, sres->signature.len));

		/* the service agrees, and rejects a tampered signature */
		vh.key_name = (char *)"sig";
		assert_int_equal(tt_psa_sign_to_pb(TT_ALG_ECDSA(TT_ALG_SHA_256), &vh.alg), 0);
		vh.hash.data = hash;
		vh.hash.len = 32;
		vh.signature = sres->signature;
		assert_int_equal(send_req(f, 1, TT_OP_PSA_VERIFY_HASH, w, &vh.base, NULL), 0);
		sres->signature.data[5] ^= 1;
		assert_int_equal(send_req(f, 1, TT_OP_PSA_VERIFY_HASH, w, &vh.base, NULL), TT_STATUS_PSA_INVALID_SIGNATURE);
		tt_pb_sign_free(vh.alg);
		vh.alg = NULL;

		psa_export_public_key__result__free_unpacked(pres, NULL);
		psa_sign_hash__result__free_unpacked(sres, NULL);
		rsp_free(&pr);
		rsp_free(&sr);
	}
	/* "alice" via direct and uid 4242 via peer credentials are different clients */
	assert_int_equal(count_keys(f, &ALICE, NULL), 1);
	assert_int_equal(count_keys(f, &ALICE_UID, NULL), 1);
}

static void
test_policy(void **state)
{
	struct fx *f = *state;
	uint8_t h32[32] = { 1 }, h48[48] = { 2 };
	char longname[TT_APP_NAME_MAX + 2];

	assert_int_equal(gen_key(f, &ALICE, "verify-only", TT_KEY_TYPE_ECC_KEY_PAIR(TT_ECC_FAMILY_SECP_R1), 256,
	    TT_USAGE_VERIFY_HASH, TT_ALG_ECDSA(TT_ALG_SHA_256)), 0);
	assert_int_equal(sign_hash(f, &ALICE, "verify-only", TT_ALG_ECDSA(TT_ALG_SHA_256), h32, 32, NULL),
	    TT_STATUS_PSA_NOT_PERMITTED);
	assert_int_equal(gen_key(f, &ALICE, "p256", TT_KEY_TYPE_ECC_KEY_PAIR(TT_ECC_FAMILY_SECP_R1), 256,
	    TT_USAGE_SIGN_HASH, TT_ALG_ECDSA(TT_ALG_SHA_256)), 0);
	assert_int_equal(sign_hash(f, &ALICE, "p256", TT_ALG_ECDSA(TT_ALG_SHA_384), h48, 48, NULL),
	    TT_STATUS_PSA_NOT_PERMITTED);
	assert_int_equal(sign_hash(f, &ALICE, "p256", TT_ALG_DETERMINISTIC_ECDSA(TT_ALG_SHA_256), h32, 32, NULL),
	    TT_STATUS_PSA_NOT_PERMITTED);
	/* wrong hash length for the algorithm */
	assert_int_equal(sign_hash(f, &ALICE, "p256", TT_ALG_ECDSA(TT_ALG_SHA_256), h48, 48, NULL),
	    TT_STATUS_PSA_INVALID_ARGUMENT);
	/* export needs EXPORT; the public half does not */
	assert_int_equal(export_key(f, &ALICE, "p256"), TT_STATUS_PSA_NOT_PERMITTED);
	assert_int_equal(export_pub(f, &ALICE, "p256", NULL), 0);
	/* a wildcard-hash policy permits a concrete hash */
	assert_int_equal(gen_key(f, &ALICE, "any", TT_KEY_TYPE_ECC_KEY_PAIR(TT_ECC_FAMILY_SECP_R1), 256,
	    TT_USAGE_SIGN_HASH | TT_USAGE_EXPORT, TT_ALG_ECDSA(TT_ALG_ANY_HASH)), 0);
	assert_int_equal(sign_hash(f, &ALICE, "any", TT_ALG_ECDSA(TT_ALG_SHA_384), h48, 48, NULL), 0);
	assert_int_equal(export_key(f, &ALICE, "any"), 0);
	/* names */
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(gen_key(f, &ALICE, longname, TT_KEY_TYPE_AES, 128, TT_USAGE_ENCRYPT, TT_ALG_GCM),
	    TT_STATUS_PSA_INVALID_ARGUMENT);
	assert_int_equal(gen_key(f, &ALICE, "", TT_KEY_TYPE_AES, 128, TT_USAGE_ENCRYPT, TT_ALG_GCM),
	    TT_STATUS_PSA_INVALID_ARGUMENT);
	/* a policy the key type can never satisfy */
	assert_int_equal(gen_key(f, &ALICE, "bad", TT_KEY_TYPE_AES, 128, TT_USAGE_SIGN_HASH,
	    TT_ALG_ECDSA(TT_ALG_SHA_256)), TT_STATUS_PSA_INVALID_ARGUMENT);
	/* a missing key */
	assert_int_equal(export_pub(f, &ALICE, "nope", NULL), TT_STATUS_PSA_DOES_NOT_EXIST);
}

/* Client B must see PsaErrorDoesNotExist for every key opcode on client A's keys. */
static void
test_isolation(void **state)
{
	struct fx *f = *state;
	const struct who *as[] = { &ALICE, &BOB, &ALICE_UID };
	uint8_t h32[32] = { 7 }, junk[64] = { 9 }, nonce[12] = { 0 }, peer[65];
	size_t peer_len;
	struct rsp r;
	PsaExportPublicKey__Result *pub;

	assert_int_equal(gen_key(f, &ALICE, "ec", TT_KEY_TYPE_ECC_KEY_PAIR(TT_ECC_FAMILY_SECP_R1), 256,
	    TT_USAGE_SIGN_HASH | TT_USAGE_VERIFY_HASH | TT_USAGE_EXPORT, TT_ALG_ECDSA(TT_ALG_SHA_256)), 0);
	assert_int_equal(gen_key(f, &ALICE, "rsa", TT_KEY_TYPE_RSA_KEY_PAIR, 2048,
	    TT_USAGE_ENCRYPT | TT_USAGE_DECRYPT, TT_ALG_RSA_PKCS1V15_CRYPT), 0);
	assert_int_equal(gen_key(f, &ALICE, "gcm", TT_KEY_TYPE_AES, 256,
	    TT_USAGE_ENCRYPT | TT_USAGE_DECRYPT, TT_ALG_GCM), 0);
	assert_int_equal(gen_key(f, &ALICE, "cbc", TT_KEY_TYPE_AES, 128,
	    TT_USAGE_ENCRYPT | TT_USAGE_DECRYPT, TT_ALG_CBC_PKCS7), 0);
	assert_int_equal(gen_key(f, &ALICE, "hmac", TT_KEY_TYPE_HMAC, 256,
	    TT_USAGE_SIGN_HASH | TT_USAGE_VERIFY_HASH, TT_ALG_HMAC(TT_ALG_SHA_256)), 0);
	assert_int_equal(gen_key(f, &ALICE, "ecdh", TT_KEY_TYPE_ECC_KEY_PAIR(TT_ECC_FAMILY_SECP_R1), 256,
	    TT_USAGE_DERIVE, TT_ALG_ECDH), 0);
	assert_int_equal(export_pub(f, &ALICE, "ecdh", &r), 0);
	pub = psa_export_public_key__result__unpack(NULL, r.len, r.body);
	assert_non_null(pub);
	assert_int_equal(pub->data.len, 65);
	memcpy(peer, pub->data.data, 65);
	peer_len = 65;
	psa_export_public_key__result__free_unpacked(pub, NULL);
	rsp_free(&r);

	/* as[0] (the owner) succeeds, as[1] and as[2] are other clients */
	for (size_t i = 0; i < 3; i++) {
		const struct who *w = as[i];
		uint16_t want = i == 0 ? 0 : TT_STATUS_PSA_DOES_NOT_EXIST;
		struct rsp sr;
		ProtobufCBinaryData sig = { 0 }, ct = { 0 }, aead_ct = { 0 }, c_ct = { 0 }, mac = { 0 };

		/* sign / verify hash */
		assert_int_equal(sign_hash(f, w, "ec", TT_ALG_ECDSA(TT_ALG_SHA_256), h32, 32, &sr), want);
		if (want == 0) {
			PsaSignHash__Result *s = psa_sign_hash__result__unpack(NULL, sr.len, sr.body);

			assert_non_null(s);
			sig.data = malloc(s->signature.len);
			memcpy(sig.data, s->signature.data, s->signature.len);
			sig.len = s->signature.len;
			psa_sign_hash__result__free_unpacked(s, NULL);
		}
		rsp_free(&sr);
		{
			PsaVerifyHash__Operation op = PSA_VERIFY_HASH__OPERATION__INIT;

			op.key_name = (char *)"ec";
			assert_int_equal(tt_psa_sign_to_pb(TT_ALG_ECDSA(TT_ALG_SHA_256), &op.alg), 0);
			op.hash.data = h32;
			op.hash.len = 32;
			op.signature = i == 0 ? sig : (ProtobufCBinaryData){ 64, junk };
			assert_int_equal(send_req(f, 1, TT_OP_PSA_VERIFY_HASH, w, &op.base, NULL), want);
			tt_pb_sign_free(op.alg);
		}
		/* sign / verify message */
		{
			PsaSignMessage__Operation op = PSA_SIGN_MESSAGE__OPERATION__INIT;
			PsaVerifyMessage__Operation vop = PSA_VERIFY_MESSAGE__OPERATION__INIT;
			PsaSignMessage__Result *s;

			op.key_name = (char *)"ec";
			assert_int_equal(tt_psa_sign_to_pb(TT_ALG_ECDSA(TT_ALG_SHA_256), &op.alg), 0);
			op.message.data = (uint8_t *)"hello";
			op.message.len = 5;
			assert_int_equal(send_req(f, 1, TT_OP_PSA_SIGN_MESSAGE, w, &op.base, &sr), want);
			vop.key_name = (char *)"ec";
			vop.alg = op.alg;
			vop.message = op.message;
			s = want == 0 ? psa_sign_message__result__unpack(NULL, sr.len, sr.body) : NULL;
			vop.signature = s != NULL ? s->signature : (ProtobufCBinaryData){ 64, junk };
			assert_int_equal(send_req(f, 1, TT_OP_PSA_VERIFY_MESSAGE, w, &vop.base, NULL), want);
			if (s != NULL)
				psa_sign_message__result__free_unpacked(s, NULL);
			rsp_free(&sr);
			tt_pb_sign_free(op.alg);
		}
		/* export, export public */
		assert_int_equal(export_key(f, w, "ec"), want);
		assert_int_equal(export_pub(f, w, "ec", NULL), want);
		/* asymmetric encrypt / decrypt */
		{
			PsaAsymmetricEncrypt__Operation op = PSA_ASYMMETRIC_ENCRYPT__OPERATION__INIT;
			PsaAsymmetricDecrypt__Operation dop = PSA_ASYMMETRIC_DECRYPT__OPERATION__INIT;

			op.key_name = (char *)"rsa";
			assert_int_equal(tt_psa_asym_enc_to_pb(TT_ALG_RSA_PKCS1V15_CRYPT, &op.alg), 0);
			op.plaintext.data = (uint8_t *)"secret";
			op.plaintext.len = 6;
			assert_int_equal(send_req(f, 1, TT_OP_PSA_ASYMMETRIC_ENCRYPT, w, &op.base, &sr), want);
			if (want == 0) {
				PsaAsymmetricEncrypt__Result *e = psa_asymmetric_encrypt__result__unpack(NULL, sr.len, sr.body);

				assert_non_null(e);
				ct.data = malloc(e->ciphertext.len);
				memcpy(ct.data, e->ciphertext.data, e->ciphertext.len);
				ct.len = e->ciphertext.len;
				psa_asymmetric_encrypt__result__free_unpacked(e, NULL);
			}
			rsp_free(&sr);
			dop.key_name = (char *)"rsa";
			dop.alg = op.alg;
			dop.ciphertext = i == 0 ? ct : (ProtobufCBinaryData){ 32, junk };
			assert_int_equal(send_req(f, 1, TT_OP_PSA_ASYMMETRIC_DECRYPT, w, &dop.base, &sr), want);
			if (want == 0) {
				PsaAsymmetricDecrypt__Result *d = psa_asymmetric_decrypt__result__unpack(NULL, sr.len, sr.body);

				assert_non_null(d);
				assert_int_equal(d->plaintext.len, 6);
				assert_memory_equal(d->plaintext.data, "secret", 6);
				psa_asymmetric_decrypt__result__free_unpacked(d, NULL);
			}
			rsp_free(&sr);
			tt_pb_asym_enc_free(op.alg);
		}
		/* AEAD */
		{
			PsaAeadEncrypt__Operation op = PSA_AEAD_ENCRYPT__OPERATION__INIT;
			PsaAeadDecrypt__Operation dop = PSA_AEAD_DECRYPT__OPERATION__INIT;

			op.key_name = (char *)"gcm";
			assert_int_equal(tt_psa_aead_to_pb(TT_ALG_GCM, &op.alg), 0);
			op.nonce.data = nonce;
			op.nonce.len = sizeof(nonce);
			op.plaintext.data = (uint8_t *)"attack at dawn";
			op.plaintext.len = 14;
			assert_int_equal(send_req(f, 1, TT_OP_PSA_AEAD_ENCRYPT, w, &op.base, &sr), want);
			if (want == 0) {
				PsaAeadEncrypt__Result *e = psa_aead_encrypt__result__unpack(NULL, sr.len, sr.body);

				assert_non_null(e);
				assert_int_equal(e->ciphertext.len, 14 + 16);
				aead_ct.data = malloc(e->ciphertext.len);
				memcpy(aead_ct.data, e->ciphertext.data, e->ciphertext.len);
				aead_ct.len = e->ciphertext.len;
				psa_aead_encrypt__result__free_unpacked(e, NULL);
			}
			rsp_free(&sr);
			dop.key_name = (char *)"gcm";
			dop.alg = op.alg;
			dop.nonce = op.nonce;
			dop.ciphertext = i == 0 ? aead_ct : (ProtobufCBinaryData){ 32, junk };
			assert_int_equal(send_req(f, 1, TT_OP_PSA_AEAD_DECRYPT, w, &dop.base, NULL), want);
			tt_pb_aead_free(op.alg);
		}
		/* cipher */
		{
			PsaCipherEncrypt__Operation op = PSA_CIPHER_ENCRYPT__OPERATION__INIT;
			PsaCipherDecrypt__Operation dop = PSA_CIPHER_DECRYPT__OPERATION__INIT;

			op.key_name = (char *)"cbc";
			assert_int_equal(tt_psa_cipher_to_pb(TT_ALG_CBC_PKCS7, &op.alg), 0);
			op.plaintext.data = (uint8_t *)"sixteen byte msg!";
			op.plaintext.len = 17;
			assert_int_equal(send_req(f, 1, TT_OP_PSA_CIPHER_ENCRYPT, w, &op.base, &sr), want);
			if (want == 0) {
				PsaCipherEncrypt__Result *e = psa_cipher_encrypt__result__unpack(NULL, sr.len, sr.body);

				assert_non_null(e);
				c_ct.data = malloc(e->ciphertext.len);
				memcpy(c_ct.data, e->ciphertext.data, e->ciphertext.len);
				c_ct.len = e->ciphertext.len;
				psa_cipher_encrypt__result__free_unpacked(e, NULL);
			}
			rsp_free(&sr);
			dop.key_name = (char *)"cbc";
			dop.alg = op.alg;
			dop.ciphertext = i == 0 ? c_ct : (ProtobufCBinaryData){ 32, junk };
			assert_int_equal(send_req(f, 1, TT_OP_PSA_CIPHER_DECRYPT, w, &dop.base, NULL), want);
		}
		/* MAC */
		{
			PsaMacCompute__Operation op = PSA_MAC_COMPUTE__OPERATION__INIT;
			PsaMacVerify__Operation vop = PSA_MAC_VERIFY__OPERATION__INIT;

			op.key_name = (char *)"hmac";
			assert_int_equal(tt_psa_mac_to_pb(TT_ALG_HMAC(TT_ALG_SHA_256), &op.alg), 0);
			op.input.data = (uint8_t *)"data";
			op.input.len = 4;
			assert_int_equal(send_req(f, 1, TT_OP_PSA_MAC_COMPUTE, w, &op.base, &sr), want);
			if (want == 0) {
				PsaMacCompute__Result *m = psa_mac_compute__result__unpack(NULL, sr.len, sr.body);

				assert_non_null(m);
				assert_int_equal(m->mac.len, 32);
				mac.data = malloc(32);
				memcpy(mac.data, m->mac.data, 32);
				mac.len = 32;
				psa_mac_compute__result__free_unpacked(m, NULL);
			}
			rsp_free(&sr);
			vop.key_name = (char *)"hmac";
			vop.alg = op.alg;
			vop.input = op.input;
			vop.mac = i == 0 ? mac : (ProtobufCBinaryData){ 32, junk };
			assert_int_equal(send_req(f, 1, TT_OP_PSA_MAC_VERIFY, w, &vop.base, NULL), want);
			tt_pb_mac_free(op.alg);
		}
		/* key agreement (with its own public key as the peer: any valid point) */
		{
			PsaRawKeyAgreement__Operation op = PSA_RAW_KEY_AGREEMENT__OPERATION__INIT;

			op.private_key_name = (char *)"ecdh";
			op.alg = PSA_ALGORITHM__ALGORITHM__KEY_AGREEMENT__RAW__ECDH;
			op.peer_key.data = peer;
			op.peer_key.len = peer_len;
			assert_int_equal(send_req(f, 1, TT_OP_PSA_RAW_KEY_AGREEMENT, w, &op.base, &sr), want);
			if (want == 0) {
				PsaRawKeyAgreement__Result *k = psa_raw_key_agreement__result__unpack(NULL, sr.len, sr.body);

				assert_non_null(k);
				assert_int_equal(k->shared_secret.len, 32);
				psa_raw_key_agreement__result__free_unpacked(k, NULL);
			}
			rsp_free(&sr);
		}
		free(sig.data);
		free(ct.data);
		free(aead_ct.data);
		free(c_ct.data);
		free(mac.data);
		if (i != 0) {
			PsaDestroyKey__Operation op = PSA_DESTROY_KEY__OPERATION__INIT;

			assert_int_equal(count_keys(f, w, NULL), 0);
			op.key_name = (char *)"ec";
			assert_int_equal(send_req(f, 1, TT_OP_PSA_DESTROY_KEY, w, &op.base, NULL), want);
		}
	}
	/* Alice's keys survived the others' attempts; she can destroy her own */
	assert_int_equal(count_keys(f, &ALICE, NULL), 6);
	{
		PsaDestroyKey__Operation op = PSA_DESTROY_KEY__OPERATION__INIT;

		op.key_name = (char *)"ec";
		assert_int_equal(send_req(f, 1, TT_OP_PSA_DESTROY_KEY, &ALICE, &op.base, NULL), 0);
		assert_int_equal(send_req(f, 1, TT_OP_PSA_DESTROY_KEY, &ALICE, &op.base, NULL), TT_STATUS_PSA_DOES_NOT_EXIST);
		assert_int_equal(count_keys(f, &ALICE, "ec"), 0);
	}
}

static void
test_admin(void **state)
{
	struct fx *f = *state;
	ListClients__Operation lc = LIST_CLIENTS__OPERATION__INIT;
	DeleteClient__Operation dc = DELETE_CLIENT__OPERATION__INIT;
	ListClients__Result *res;
	struct rsp r;
	bool seen_alice = false;

	assert_int_equal(gen_key(f, &ALICE, "a1", TT_KEY_TYPE_AES, 128, TT_USAGE_ENCRYPT, TT_ALG_GCM), 0);
	assert_int_equal(gen_key(f, &ALICE, "a2", TT_KEY_TYPE_AES, 128, TT_USAGE_ENCRYPT, TT_ALG_GCM), 0);
	assert_int_equal(gen_key(f, &BOB, "b1", TT_KEY_TYPE_AES, 128, TT_USAGE_ENCRYPT, TT_ALG_GCM), 0);

	assert_int_equal(send_req(f, 0, TT_OP_LIST_CLIENTS, &NOAUTH, &lc.base, NULL), TT_STATUS_NOT_AUTHENTICATED);
	assert_int_equal(send_req(f, 0, TT_OP_LIST_CLIENTS, &ALICE, &lc.base, NULL), TT_STATUS_ADMIN_OPERATION);
	dc.client = (char *)"bob";
	assert_int_equal(send_req(f, 0, TT_OP_DELETE_CLIENT, &ALICE, &dc.base, NULL), TT_STATUS_ADMIN_OPERATION);
	assert_int_equal(count_keys(f, &BOB, NULL), 1);

	assert_int_equal(send_req(f, 0, TT_OP_LIST_CLIENTS, &ADMIN, &lc.base, &r), 0);
	res = list_clients__result__unpack(NULL, r.len, r.body);
	assert_non_null(res);
	assert_int_equal(res->n_clients, 2);
	for (size_t i = 0; i < res->n_clients; i++)
		seen_alice |= strcmp(res->clients[i], "alice") == 0;
	assert_true(seen_alice);
	list_clients__result__free_unpacked(res, NULL);
	rsp_free(&r);

	dc.client = (char *)"alice";
	assert_int_equal(send_req(f, 0, TT_OP_DELETE_CLIENT, &ADMIN, &dc.base, NULL), 0);
	assert_int_equal(count_keys(f, &ALICE, NULL), 0);
	assert_int_equal(count_keys(f, &BOB, NULL), 1);
	assert_int_equal(send_req(f, 0, TT_OP_DELETE_CLIENT, &ADMIN, &dc.base, NULL), TT_STATUS_PSA_DOES_NOT_EXIST);
	/* the name is free again */
	assert_int_equal(gen_key(f, &ALICE, "a1", TT_KEY_TYPE_AES, 128, TT_USAGE_ENCRYPT, TT_ALG_GCM), 0);
}

static void
test_misc_ops(void **state)
{
	struct fx *f = *state;
	PsaHashCompare__Operation hc = PSA_HASH_COMPARE__OPERATION__INIT;
	CanDoCrypto__Operation cd = CAN_DO_CRYPTO__OPERATION__INIT;
	struct tt_key_attrs a = { TT_KEY_TYPE_ECC_KEY_PAIR(TT_ECC_FAMILY_SECP_R1), 256,
		TT_USAGE_SIGN_HASH, TT_ALG_ECDSA(TT_ALG_SHA_256) };
	uint8_t h[32];

	SHA256((const uint8_t *)"abc", 3, h);
	hc.alg = PSA_ALGORITHM__ALGORITHM__HASH__SHA_256;
	hc.input.data = (uint8_t *)"abc";
	hc.input.len = 3;
	hc.hash.data = h;
	hc.hash.len = 32;
	assert_int_equal(send_req(f, 1, TT_OP_PSA_HASH_COMPARE, &NOAUTH, &hc.base, NULL), 0);
	h[0] ^= 1;
	assert_int_equal(send_req(f, 1, TT_OP_PSA_HASH_COMPARE, &NOAUTH, &hc.base, NULL), TT_STATUS_PSA_INVALID_SIGNATURE);

	cd.check_type = CAN_DO_CRYPTO__CHECK_TYPE__GENERATE;
	assert_int_equal(tt_psa_attrs_to_pb(&a, &cd.attributes), 0);
	assert_int_equal(send_req(f, 1, TT_OP_CAN_DO_CRYPTO, &NOAUTH, &cd.base, NULL), 0);
	tt_pb_attrs_free(cd.attributes);
}

static void
test_response_too_large(void **state)
{
	struct fx *f = *state;
	ListProviders__Operation lp = LIST_PROVIDERS__OPERATION__INIT;
	Ping__Operation ping = PING__OPERATION__INIT;

	assert_int_equal(tt_service_reload(&f->svc, make_cfg(f->dir, 100)), 0);
	assert_int_equal(send_req(f, 0, TT_OP_LIST_PROVIDERS, &NOAUTH, &lp.base, NULL), TT_STATUS_RESPONSE_TOO_LARGE);
	assert_int_equal(send_req(f, 0, TT_OP_PING, &NOAUTH, &ping.base, NULL), 0);
}

/* Deterministic junk and truncated-but-well-formed bodies for every opcode: the front
 * end must always answer with one frame (run under ASan/UBSan in CI). */
static void
test_garbage_bodies(void **state)
{
	struct fx *f = *state;
	struct tt_peer peer = { .valid = true, .uid = UID_ALICE };
	size_t n;
	const struct tt_opcode_info *tab = tt_opcode_table(&n);
	uint32_t x = 0x2545f491u;
	uint8_t body[96];

	for (size_t i = 0; i < n; i++) {
		for (int it = 0; it < 40; it++) {
			struct tt_wire_hdr h, rh;
			struct tt_buf resp;
			size_t len = (size_t)(it * 7) % sizeof(body);

			for (size_t k = 0; k < len; k++) {
				x ^= x << 13; x ^= x >> 17; x ^= x << 5;
				body[k] = (uint8_t)x;
			}
			/* half the time, a plausible first field: a short key name */
			if ((it & 1) && len > 4) {
				body[0] = 0x0a;
				body[1] = 2;
			}
			memset(&h, 0, sizeof(h));
			h.provider = tab[i].core ? 0 : 1;
			h.opcode = tab[i].opcode;
			h.auth_type = (it & 2) ? TT_AUTH_DIRECT : TT_AUTH_NONE;
			h.auth_len = (it & 2) ? 5 : 0;
			h.body_len = (uint32_t)len;
			tt_buf_init(&resp, 1u << 21);
			assert_int_equal(tt_frontend_handle(&f->svc, &h, body,
			    (const uint8_t *)"alice", &peer, 0, &resp), 0);
			assert_int_equal(tt_wire_hdr_decode(tt_buf_ptr(&resp), &rh), 0);
			assert_int_equal(rh.body_len, tt_buf_avail(&resp) - TT_WIRE_HDR_LEN);
			if (rh.status != 0)
				assert_int_equal(rh.body_len, 0);
			tt_buf_free(&resp);
		}
	}
}

static int
count_pending_cb(const struct tt_kim_rec *rec, void *arg)
{
	(void)rec;
	(*(size_t *)arg)++;
	return 0;
}

/* Rows left CREATING/DESTROYING by a crash are cleaned up by the next start. */
static void
test_recovery(void **state)
{
	struct fx *f = *state;
	struct tt_kim_client alice = { TT_AUTH_DIRECT, "alice" };
	struct tt_key_attrs a = { TT_KEY_TYPE_AES, 128, TT_USAGE_ENCRYPT, TT_ALG_GCM };
	struct tt_kim_rec rec;
	uint8_t kid[TT_KEY_ID_LEN];
	size_t pending = 0;

	/* a creation interrupted before the provider ran */
	assert_int_equal(tt_kim_begin_create(f->svc.kim, &alice, "half", 1, &a, kid), 0);
	/* a destruction interrupted after it began */
	assert_int_equal(gen_key(f, &ALICE, "gone", TT_KEY_TYPE_AES, 128, TT_USAGE_ENCRYPT, TT_ALG_GCM), 0);
	memset(&rec, 0, sizeof(rec));
	assert_int_equal(tt_kim_begin_destroy(f->svc.kim, &alice, "gone", &rec), 0);
	tt_kim_rec_clear(&rec);
	assert_int_equal(tt_kim_list_pending(f->svc.kim, count_pending_cb, &pending), 0);
	assert_int_equal(pending, 2);

	tt_service_fini(&f->svc);
	assert_int_equal(tt_service_init(&f->svc, make_cfg(f->dir, 0)), 0);
	pending = 0;
	assert_int_equal(tt_kim_list_pending(f->svc.kim, count_pending_cb, &pending), 0);
	assert_int_equal(pending, 0);
	assert_int_equal(count_keys(f, &ALICE, NULL), 0);
	/* both names are usable again */
	assert_int_equal(gen_key(f, &ALICE, "half", TT_KEY_TYPE_AES, 128, TT_USAGE_ENCRYPT, TT_ALG_GCM), 0);
	assert_int_equal(gen_key(f, &ALICE, "gone", TT_KEY_TYPE_AES, 128, TT_USAGE_ENCRYPT, TT_ALG_GCM), 0);
	assert_int_equal(count_keys(f, &ALICE, NULL), 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_header_field_errors, setup, teardown),
		cmocka_unit_test(test_error_frame),
		cmocka_unit_test_setup_teardown(test_noauth, setup, teardown),
		cmocka_unit_test_setup_teardown(test_core_ops, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sign_and_export, setup, teardown),
		cmocka_unit_test_setup_teardown(test_policy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_isolation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_admin, setup, teardown),
		cmocka_unit_test_setup_teardown(test_misc_ops, setup, teardown),
		cmocka_unit_test_setup_teardown(test_response_too_large, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recovery, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbage_bodies, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
