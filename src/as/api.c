/*
 * Native API of turtle-as (docs/openapi.yaml): challenge, attest, JWKS, and the admin
 * collections (nodes, reference values, policies, resources).
 *
 * Attestation order: the nonce is consumed first (one transaction: a replay or a race
 * finds it gone), then the evidence is verified against it, then appraised. A failed
 * verification does not give the nonce back: a challenge is worth one attempt.
 */
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "evidence.h"
#include "http.h"
#include "rego_engine.h"
#include "turtle/error.h"
#include "util/buf.h"
#include "util/hex.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/num.h"

#define MAX_ID 128u
#define MAX_REFVALS_IMPORT 10000u
#define MAX_REF_VALUE 4096u
#define EAR_PROFILE "tag:github.com,2023:veraison/ear"

static bool
id_ok(const char *s)
{
	size_t n;

	if (s == NULL || (n = strlen(s)) == 0 || n > MAX_ID)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-' || ch == ':'))
			return false;
	}
	return true;
}

/* Whole bytes of hex, either case: a TEE identity as the verifiers print it. */
static bool
hex_ok(const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;

	return n > 0 && n % 2 == 0 && strspn(s, "0123456789abcdefABCDEF") == n;
}

static bool
is_get(const struct tt_as_req *rq)
{
	return strcmp(rq->method, "GET") == 0;
}

static bool
is_post(const struct tt_as_req *rq)
{
	return strcmp(rq->method, "POST") == 0;
}

static bool
is_delete(const struct tt_as_req *rq)
{
	return strcmp(rq->method, "DELETE") == 0;
}

static int
method_not_supported(struct tt_as_resp *rs)
{
	rs->detail = "method not supported on this resource";
	return TT_ERR_NOT_SUPPORTED;
}

/* A node's evidence type: its "tee" member, "tpm" for records made before it existed. */
static bool
node_tee_is(const json_t *node, const char *tee)
{
	const char *t = json_string_value(json_object_get(node, "tee"));

	return strcmp(t != NULL ? t : "tpm", tee) == 0;
}

/* ---- challenge / attest ---- */

int
tt_as_h_challenge(struct tt_as_ctx *c, const struct tt_as_req *rq, struct tt_as_resp *rs)
{
	json_t *body = NULL;
	const char *tee, *node_id;
	char *nonce = NULL;
	int64_t now, exp;
	int r;

	if ((r = tt_as_body_json(rq, rs, &body)) != 0)
		return r;
	tee = json_string_value(json_object_get(body, "tee"));
	node_id = json_string_value(json_object_get(body, "node_id"));
	r = TT_ERR_INVALID_ARGUMENT;
	if (tee == NULL || tt_as_verifier_find(tee) == NULL) {
		rs->detail = "\"tee\" must be one of \"tpm\", \"sample\", \"snp\", \"tdx\", "
		    "\"sgx\", \"cca\", \"virtcca\"";
		goto out;
	}
	if (json_object_get(body, "node_id") != NULL && !id_ok(node_id)) {
		rs->detail = "\"node_id\" must be a string of [A-Za-z0-9._:-], 1..128";
		goto out;
	}
	now = tt_as_now();
	exp = now + (int64_t)c->cfg->nonce_ttl;
	r = tt_as_nonce_issue(c->nonces, tt_as_verifier_find(tee)->tee, node_id, now, exp, &nonce);
	if (r == TT_ERR_LIMIT)
		rs->detail = "too many outstanding challenges (max_challenges); retry later";
	if (r != 0)
		goto out;
	if ((rs->json = json_pack("{s:s,s:I}", "nonce", nonce, "expires_at", (json_int_t)exp)) == NULL)
		r = TT_ERR_NO_MEMORY;
out:
	free(nonce);
	json_decref(body);
	return r;
}

int
tt_as_h_attest(struct tt_as_ctx *c, const struct tt_as_req *rq, struct tt_as_resp *rs)
{
	json_t *body = NULL, *claims = NULL;
	struct tt_as_cached *node_h = NULL;
	const json_t *node = NULL;
	struct tt_as_nonce n = { 0 };
	const struct tt_as_verifier *vf;
	struct tt_as_verify_in vin = { 0 };
	struct tt_as_appraisal ap = { 0 };
	const char *nonce, *tee, *reason = NULL;
	uint8_t *bin = NULL;
	size_t binlen = 0;
	char *token = NULL, *canon = NULL;
	enum tt_ear_status status = TT_EAR_STATUS_NONE;
	int r;

	if ((r = tt_as_body_json(rq, rs, &body)) != 0)
		return r;
	nonce = json_string_value(json_object_get(body, "nonce"));
	tee = json_string_value(json_object_get(body, "tee"));
	r = TT_ERR_INVALID_ARGUMENT;
	if (nonce == NULL || tee == NULL || !json_is_object(json_object_get(body, "evidence"))) {
		rs->detail = "\"nonce\", \"tee\" (strings) and \"evidence\" (object) are required";
		goto out;
	}
	if ((vf = tt_as_verifier_find(tee)) == NULL) {
		rs->detail = "unknown \"tee\"";
		goto out;
	}
	if (tt_as_b64_dec(nonce, &bin, &binlen) != 0 || binlen != TT_AS_NONCE_BYTES) {
		rs->detail = "\"nonce\" is not a challenge nonce";
		goto out;
	}
	r = tt_as_nonce_take(c->nonces, bin, binlen, tt_as_now(), &n);
	if (r == TT_ERR_DOES_NOT_EXIST) {
		rs->detail = "nonce unknown or already used (replay)";
		r = TT_ERR_NOT_AUTHENTICATED;
		goto out;
	}
	if (r == TT_ERR_TIMEOUT) {
		rs->detail = "nonce expired";
		r = TT_ERR_NOT_AUTHENTICATED;
		goto out;
	}
	if (r != 0)
		goto out;
	if (strcmp(n.tee, tee) != 0) {
		rs->detail = "\"tee\" differs from the challenge's";
		r = TT_ERR_INVALID_ARGUMENT;
		goto out;
	}
	if (n.node_id != NULL) {
		if ((r = tt_as_cached_read(c, TT_AS_CACHE_NODE, n.node_id, tt_as_now(), &node_h)) != 0)
			goto out;
		node = tt_as_cached_value(node_h);
		if (node == NULL) {
			rs->detail = "the challenge's node is not registered";
			r = TT_ERR_NOT_AUTHENTICATED;
			goto out;
		}
		/* Unsigned evidence proves nothing about who sent it: it may speak for a node
		 * only when an admin registered that node as a sample node. */
		if (strcmp(tee, "sample") == 0 && !node_tee_is(node, "sample")) {
			rs->detail = "sample evidence cannot speak for this node: it is not "
			    "registered with \"tee\": \"sample\"";
			r = TT_ERR_NOT_AUTHENTICATED;
			goto out;
		}
	}
	vin.tee = tee;
	vin.evidence = json_object_get(body, "evidence");
	vin.binding = bin;
	vin.binding_len = binlen;
	vin.node = node;
	if ((r = vf->verify(&vin, &claims, &reason)) != 0) {
		tt_as_detail(rs, "evidence rejected: %s", reason != NULL ? reason : tt_strerror(r));
		goto out;
	}
	ap.vf = vf;
	ap.node_id = n.node_id;
	ap.group = json_string_value(json_object_get(node, "group"));
	/* eat_nonce carries the nonce as issued (base64url), whichever alphabet or padding
	 * the client echoed it in, so a relying party can compare strings. */
	if ((r = tt_as_b64url_enc(bin, binlen, &canon)) != 0)
		goto out;
	ap.nonce = canon;
	ap.claims = claims;
	if ((r = tt_as_appraise_and_sign(c, &ap, &token, &status, rs)) != 0)
		goto out;
	if ((rs->json = json_pack("{s:s,s:s}", "token", token, "status",
	    tt_ear_status_name(status))) == NULL)
		r = TT_ERR_NO_MEMORY;
out:
	free(token);
	free(canon);
	free(bin);
	tt_as_nonce_clear(&n);
	json_decref(claims);
	tt_as_cached_release(node_h);
	json_decref(body);
	return r;
}

int
tt_as_h_jwks(struct tt_as_ctx *c, const struct tt_as_req *rq, struct tt_as_resp *rs)
{
	(void)rq;
	return tt_as_issuer_jwks(c->issuer, &rs->json);
}

/* Admin: GET /v1/keys lists the signing keys' metadata; POST /v1/keys/rotate makes a new
 * active key. Concurrent rotations run one after the other (ear's key directory
 * serialises them in the process and, by flock, across processes). */
int
tt_as_h_keys(struct tt_as_ctx *c, const struct tt_as_req *rq, struct tt_as_resp *rs)
{
	json_t *arr = NULL;
	int r;

	if (strcmp(rq->tail, "/rotate") == 0) {
		if (!is_post(rq))
			return method_not_supported(rs);
		if ((r = tt_as_issuer_rotate(c->issuer, c->st, c->ops)) != 0)
			return r;
	} else if (rq->tail[0] != '\0' || !is_get(rq)) {
		return rq->tail[0] != '\0' ? TT_ERR_DOES_NOT_EXIST : method_not_supported(rs);
	}
	if ((r = c->ops->key_list(c->st, &arr)) == 0)
		rs->json = json_pack("{s:o}", "keys", arr);
	return r;
}

/* ---- nodes ---- */

static bool
opt_string(const json_t *o, const char *k, size_t max)
{
	const json_t *v = json_object_get(o, k);

	return v == NULL || (json_is_string(v) && json_string_length(v) <= max);
}

/* A node as shown to admins: without the activation digest. */
static json_t *
node_view(const json_t *node)
{
	json_t *v = json_deep_copy(node);

	if (v != NULL)
		json_object_del(v, "activation_digest");
	return v;
}

int
tt_as_node_index_ak(json_t *node)
{
	const char *pem = json_string_value(json_object_get(node, "ak_public"));
	const char *t2b = json_string_value(json_object_get(node, "ak_tpm2b"));
	const char *st = json_string_value(json_object_get(node, "ak_state"));
	uint8_t fpr[32], *bin = NULL;
	size_t len = 0;
	char hex[65];
	int r;

	/* Only an AK that attestations trust is indexed: a PEM the admin vouched for, or a
	 * TPM2B AK once activated (it takes precedence, as in the tpm verifier). */
	if (t2b != NULL) {
		if (st == NULL || strcmp(st, "active") != 0) {
			json_object_del(node, "ak_sha256");
			return 0;
		}
		if ((r = tt_as_b64_dec(t2b, &bin, &len)) != 0)
			return TT_ERR_INVALID_ARGUMENT;
		r = tt_ak_fingerprint(bin, len, TT_AK_TPM2B_PUBLIC, fpr);
		free(bin);
	} else if (pem != NULL) {
		r = tt_ak_fingerprint((const uint8_t *)pem, strlen(pem), TT_AK_PEM, fpr);
	} else {
		json_object_del(node, "ak_sha256");
		return 0;
	}
	if (r != 0)
		return TT_ERR_INVALID_ARGUMENT;
	tt_hex_encode(fpr, sizeof(fpr), hex);
	return json_object_set_new(node, "ak_sha256", json_string(hex)) != 0 ?
	    TT_ERR_NO_MEMORY : 0;
}

int
tt_as_nodes_index_ak(struct tt_as_ctx *c)
{
	json_t *arr = NULL, *v;
	size_t i, done = 0;
	int r;

	if ((r = c->ops->node_list(c->st, &arr)) != 0)
		return r;
	json_array_foreach(arr, i, v) {
		json_t *n = json_deep_copy(v);
		const char *before = json_string_value(json_object_get(v, "ak_sha256"));
		const char *after;

		if (n == NULL) {
			r = TT_ERR_NO_MEMORY;
			break;
		}
		if (tt_as_node_index_ak(n) != 0) {
			tt_warn("as: node %s: its AK cannot be parsed; attestations will fail",
			    json_string_value(json_object_get(v, "id")));
		} else {
			after = json_string_value(json_object_get(n, "ak_sha256"));
			if ((before == NULL) != (after == NULL) ||
			    (before != NULL && strcmp(before, after) != 0)) {
				if ((r = c->ops->node_put(c->st, n)) == TT_ERR_ALREADY_EXISTS) {
					tt_warn("as: node %s has the AK of another node: not indexed",
					    json_string_value(json_object_get(v, "id")));
					r = 0;
				} else if (r == 0) {
					done++;
				}
			}
		}
		json_decref(n);
		if (r != 0)
			break;
	}
	json_decref(arr);
	if (r == 0 && done > 0)
		tt_info("as: indexed the AK of %zu node(s)", done);
	return r;
}

/*
 * With "ak_tpm2b" and "ek_public" the AK must be activated before it is trusted: the node
 * record gets ak_state "pending" and the SHA-256 of a fresh secret, and the response
 * carries the credential (TPM2_MakeCredential to the EK for the AK's name) that only the
 * TPM holding both keys can open. POST /v1/activate with the secret makes it "active".
 */
static int
node_credential(json_t *node, struct tt_as_resp *rs, json_t **activation)
{
	const char *akb = json_string_value(json_object_get(node, "ak_tpm2b"));
	const char *ek = json_string_value(json_object_get(node, "ek_public"));
	struct tt_buf idobj, encsec;
	uint8_t *ak = NULL, name[80], secret[32], dig[32];
	size_t aklen = 0, nlen = 0;
	char *b1 = NULL, *b2 = NULL, hex[65];
	unsigned dl = 0;
	int r = TT_ERR_INVALID_ARGUMENT;

	tt_buf_init(&idobj, 4096);
	tt_buf_init(&encsec, 4096);
	if (ek == NULL) {
		rs->detail = "\"ak_tpm2b\" needs \"ek_public\" (PEM) to make the credential";
		goto out;
	}
	if (tt_as_b64_dec(akb, &ak, &aklen) != 0) {
		rs->detail = "\"ak_tpm2b\" must be a base64 TPM2B_PUBLIC";
		goto out;
	}
	if ((r = tt_as_ak_name(ak, aklen, name, &nlen)) != 0) {
		rs->detail = r == TT_ERR_NOT_PERMITTED ?
		    "the AK is not a restricted, fixed, TPM-generated signing key" :
		    "\"ak_tpm2b\" is not a SHA-256-named TPM2B_PUBLIC";
		r = TT_ERR_INVALID_ARGUMENT;
		goto out;
	}
	if (RAND_bytes(secret, sizeof(secret)) != 1) {
		r = TT_ERR_INSUFFICIENT_ENTROPY;
		goto out;
	}
	if ((r = tt_as_make_credential(ek, name, nlen, secret, sizeof(secret), &idobj,
	    &encsec)) != 0) {
		rs->detail = r == TT_ERR_NOT_SUPPORTED ? "only RSA 2048 and ECC P-256 EKs are supported" :
		    "\"ek_public\" is not a usable PEM public key";
		goto out;
	}
	if (EVP_Digest(secret, sizeof(secret), dig, &dl, EVP_sha256(), NULL) != 1) {
		r = TT_ERR_GENERIC;
		goto out;
	}
	tt_hex_encode(dig, dl, hex);
	if ((r = tt_as_b64url_enc(idobj.d, idobj.len, &b1)) != 0 ||
	    (r = tt_as_b64url_enc(encsec.d, encsec.len, &b2)) != 0)
		goto out;
	if (json_object_set_new(node, "ak_state", json_string("pending")) != 0 ||
	    json_object_set_new(node, "activation_digest", json_string(hex)) != 0 ||
	    (*activation = json_pack("{s:s,s:s}", "credential_blob", b1, "encrypted_secret",
	    b2)) == NULL) {
		r = TT_ERR_NO_MEMORY;
		goto out;
	}
	r = 0;
out:
	OPENSSL_cleanse(secret, sizeof(secret));
	free(ak);
	free(b1);
	free(b2);
	tt_buf_free(&idobj);
	tt_buf_free(&encsec);
	return r;
}

/*
 * A TEE node registered from its evidence ("evidence": what /v1/attest takes for that
 * tee): the evidence is verified as for an attestation but without a challenge, and the
 * platform identity its verified claims carry becomes the node's tee_identity (*ident, a
 * JSON string). Registration so proves which platform the node is, not that the evidence
 * is fresh: a copy of an old report registers the same platform, never another.
 */
static int
node_identity_from_evidence(const json_t *body, struct tt_as_resp *rs, json_t **ident)
{
	const char *tee = json_string_value(json_object_get(body, "tee"));
	const char *given = json_string_value(json_object_get(body, "tee_identity"));
	const char *reason = NULL;
	char hex[129];
	int r;

	if (tee == NULL || strcmp(tee, "tpm") == 0 || strcmp(tee, "sample") == 0) {
		rs->detail = "\"evidence\" registers a TEE node (\"tee\": snp, tdx, sgx, cca or "
		    "virtcca); a TPM node is registered with its EK and AK";
		return TT_ERR_INVALID_ARGUMENT;
	}
	if (!json_is_object(json_object_get(body, "evidence"))) {
		rs->detail = "\"evidence\" must be the evidence object /v1/attest takes";
		return TT_ERR_INVALID_ARGUMENT;
	}
	if ((r = tt_as_tee_register_identity(tee, json_object_get(body, "evidence"), hex,
	    &reason)) != 0) {
		tt_as_detail(rs, "evidence rejected: %s", reason != NULL ? reason :
		    tt_strerror(r));
		return r;
	}
	/* Hex of either case names the same platform; the verified one is kept. */
	if (given != NULL && (strlen(given) != strlen(hex) ||
	    strncasecmp(given, hex, strlen(hex)) != 0)) {
		tt_as_detail(rs, "\"tee_identity\" %.128s is not the identity the evidence "
		    "carries (%s)", given, hex);
		return TT_ERR_INVALID_ARGUMENT;
	}
	if ((*ident = json_string(hex)) == NULL)
		return TT_ERR_NO_MEMORY;
	tt_info("as: %s node identity %s taken from verified evidence", tee, hex);
	return 0;
}

int
tt_as_h_activate(struct tt_as_ctx *c, const struct tt_as_req *rq, struct tt_as_resp *rs)
{
	json_t *body = NULL, *node = NULL;
	const char *id, *sec, *want;
	uint8_t *secret = NULL, dig[32];
	size_t slen = 0;
	unsigned dl = 0;
	char hex[65];
	int r;

	if ((r = tt_as_body_json(rq, rs, &body)) != 0)
		return r;
	id = json_string_value(json_object_get(body, "node_id"));
	sec = json_string_value(json_object_get(body, "secret"));
	r = TT_ERR_INVALID_ARGUMENT;
	if (!id_ok(id) || sec == NULL || tt_as_b64_dec(sec, &secret, &slen) != 0) {
		rs->detail = "\"node_id\" and \"secret\" (base64) are required";
		goto out;
	}
	if ((r = c->ops->node_get(c->st, id, &node)) != 0) {
		if (r == TT_ERR_DOES_NOT_EXIST) {
			rs->detail = "no such node";
			r = TT_ERR_NOT_AUTHENTICATED;
		}
		goto out;
	}
	want = json_string_value(json_object_get(node, "activation_digest"));
	if (want == NULL || strlen(want) != 64) {
		rs->detail = "this node has no pending AK activation";
		r = TT_ERR_BAD_STATE;
		goto out;
	}
	if (EVP_Digest(secret, slen, dig, &dl, EVP_sha256(), NULL) != 1) {
		r = TT_ERR_GENERIC;
		goto out;
	}
	tt_hex_encode(dig, dl, hex);
	if (CRYPTO_memcmp(hex, want, 64) != 0) {
		rs->detail = "wrong activation secret: the AK is not resident with the EK";
		r = TT_ERR_NOT_AUTHENTICATED;
		goto out;
	}
	json_object_del(node, "activation_digest");
	if (json_object_set_new(node, "ak_state", json_string("active")) != 0 ||
	    json_object_set_new(node, "activated_at", json_integer(tt_as_now())) != 0) {
		r = TT_ERR_NO_MEMORY;
		goto out;
	}
	if ((r = tt_as_node_index_ak(node)) != 0) {
		rs->detail = "the node's AK cannot be parsed";
		goto out;
	}
	if ((r = c->ops->node_put(c->st, node)) == TT_ERR_ALREADY_EXISTS)
		rs->detail = "another node is registered with this AK";
	if (r != 0)
		goto out;
	rs->json = json_pack("{s:s,s:s}", "node_id", id, "ak_state", "active");
out:
	if (secret != NULL)
		tt_free_secret(secret, slen);
	json_decref(node);
	json_decref(body);
	return r;
}

int
tt_as_h_nodes(struct tt_as_ctx *c, const struct tt_as_req *rq, struct tt_as_resp *rs)
{
	const char *id = rq->tail;
	json_t *body = NULL, *node = NULL, *activation = NULL, *ident = NULL;
	int r;

	if (id[0] == '\0') {
		if (is_get(rq)) {
			json_t *arr = NULL, *v, *view = json_array();
			size_t i;

			if (view == NULL)
				return TT_ERR_NO_MEMORY;
			if ((r = c->ops->node_list(c->st, &arr)) == 0) {
				json_array_foreach(arr, i, v)
					json_array_append_new(view, node_view(v));
				rs->json = json_pack("{s:O}", "nodes", view);
			}
			json_decref(arr);
			json_decref(view);
			return r;
		}
		if (!is_post(rq))
			return method_not_supported(rs);
		if ((r = tt_as_body_json(rq, rs, &body)) != 0)
			return r;
		r = TT_ERR_INVALID_ARGUMENT;
		if (!id_ok(json_string_value(json_object_get(body, "id"))) ||
		    !id_ok(json_string_value(json_object_get(body, "group")))) {
			rs->detail = "\"id\" and \"group\" must be strings of [A-Za-z0-9._:-], 1..128";
			goto out;
		}
		if (!opt_string(body, "ek_public", 65536) || !opt_string(body, "ek_cert", 65536) ||
		    !opt_string(body, "ak_public", 65536) || !opt_string(body, "ak_tpm2b", 65536)) {
			rs->detail = "\"ek_public\", \"ek_cert\", \"ak_public\", \"ak_tpm2b\" must be strings";
			goto out;
		}
		if (json_object_get(body, "tee") != NULL &&
		    tt_as_verifier_find(json_string_value(json_object_get(body, "tee"))) == NULL) {
			rs->detail = "\"tee\" must be \"tpm\" (the default), \"sample\", \"snp\", "
			    "\"tdx\", \"sgx\", \"cca\" or \"virtcca\"";
			goto out;
		}
		/* A TEE node's identity as its verified evidence carries it (hex; see
		 * verifier_tee.c): without it TEE evidence cannot speak for the node. */
		if (!opt_string(body, "tee_identity", 128) || (json_object_get(body,
		    "tee_identity") != NULL && !hex_ok(json_string_value(json_object_get(body,
		    "tee_identity"))))) {
			rs->detail = "\"tee_identity\" must be a hex string";
			goto out;
		}
		if (json_object_get(body, "evidence") != NULL &&
		    (r = node_identity_from_evidence(body, rs, &ident)) != 0)
			goto out;
		node = json_pack("{s:O,s:O,s:O*,s:O*,s:O*,s:O*,s:O*,s:O*,s:I}", "id", json_object_get(body, "id"),
		    "group", json_object_get(body, "group"),
		    "tee", json_object_get(body, "tee"),
		    "tee_identity", ident != NULL ? ident : json_object_get(body, "tee_identity"),
		    "ek_public", json_object_get(body, "ek_public"),
		    "ek_cert", json_object_get(body, "ek_cert"),
		    "ak_public", json_object_get(body, "ak_public"),
		    "ak_tpm2b", json_object_get(body, "ak_tpm2b"),
		    "registered_at", (json_int_t)tt_as_now());
		if (node == NULL) {
			r = TT_ERR_NO_MEMORY;
			goto out;
		}
		if (json_object_get(node, "ak_tpm2b") != NULL &&
		    (r = node_credential(node, rs, &activation)) != 0)
			goto out;
		if ((r = tt_as_node_index_ak(node)) != 0) {
			rs->detail = "\"ak_public\" is not a PEM public key usable as an AK";
			goto out;
		}
		if ((r = c->ops->node_put(c->st, node)) == TT_ERR_ALREADY_EXISTS)
			rs->detail = "another node is registered with this AK";
		if (r != 0)
			goto out;
		rs->status = 201;
		rs->json = node_view(node);
		if (rs->json != NULL && activation != NULL)
			json_object_set(rs->json, "activation", activation);
		goto out;
	}
	if (!id_ok(id)) {
		rs->detail = "bad node id";
		return TT_ERR_INVALID_ARGUMENT;
	}
	if (is_get(rq)) {
		r = c->ops->node_get(c->st, id, &node);
		if (r == TT_ERR_DOES_NOT_EXIST)
			rs->detail = "no such node";
		else if (r == 0)
			rs->json = node_view(node);
		json_decref(node);
		return r;
	}
	if (is_delete(rq)) {
		r = c->ops->node_delete(c->st, id);
		if (r == TT_ERR_DOES_NOT_EXIST)
			rs->detail = "no such node";
		else if (r == 0)
			rs->json = json_pack("{s:s}", "deleted", id);
		return r;
	}
	return method_not_supported(rs);
out:
	json_decref(ident);
	json_decref(activation);
	json_decref(node);
	json_decref(body);
	return r;
}

/* ---- reference values ---- */

static int
check_refval(const json_t *e, size_t i, struct tt_as_resp *rs)
{
	const char *scope = json_string_value(json_object_get(e, "scope"));
	const json_t *exp = json_object_get(e, "expires_at");

	if (!json_is_object(e)) {
		tt_as_detail(rs, "reference value %zu is not an object", i);
		return TT_ERR_INVALID_ARGUMENT;
	}
	if (!json_is_string(json_object_get(e, "name")) ||
	    json_string_length(json_object_get(e, "name")) == 0 ||
	    json_string_length(json_object_get(e, "name")) > 256) {
		tt_as_detail(rs, "reference value %zu: \"name\" must be a string of 1..256", i);
		return TT_ERR_INVALID_ARGUMENT;
	}
	if (!json_is_string(json_object_get(e, "value")) ||
	    json_string_length(json_object_get(e, "value")) > MAX_REF_VALUE) {
		tt_as_detail(rs, "reference value %zu: \"value\" must be a string", i);
		return TT_ERR_INVALID_ARGUMENT;
	}
	if (!opt_string(e, "version", 128)) {
		tt_as_detail(rs, "reference value %zu: \"version\" must be a string", i);
		return TT_ERR_INVALID_ARGUMENT;
	}
	if (exp != NULL && !json_is_integer(exp)) {
		tt_as_detail(rs, "reference value %zu: \"expires_at\" must be seconds since the epoch", i);
		return TT_ERR_INVALID_ARGUMENT;
	}
	if (json_object_get(e, "scope") != NULL && (scope == NULL ||
	    !(strcmp(scope, "all") == 0 || (strncmp(scope, "group:", 6) == 0 && id_ok(scope + 6))))) {
		tt_as_detail(rs, "reference value %zu: \"scope\" must be \"all\" or \"group:NAME\"", i);
		return TT_ERR_INVALID_ARGUMENT;
	}
	return 0;
}

int
tt_as_h_refvals(struct tt_as_ctx *c, const struct tt_as_req *rq, struct tt_as_resp *rs)
{
	json_t *body = NULL, *arr, *ids = NULL;
	uint64_t id;
	size_t i;
	int r;

	if (rq->tail[0] != '\0') {
		if (!is_delete(rq))
			return method_not_supported(rs);
		if (tt_parse_u64(rq->tail, 1, INT64_MAX, &id) != 0) {
			rs->detail = "bad reference value id";
			return TT_ERR_INVALID_ARGUMENT;
		}
		r = c->ops->refval_revoke(c->st, (int64_t)id, tt_as_now());
		if (r == TT_ERR_DOES_NOT_EXIST)
			rs->detail = "no such reference value, or already revoked";
		else if (r == 0)
			rs->json = json_pack("{s:I}", "revoked", (json_int_t)id);
		return r;
	}
	if (is_get(rq)) {
		if ((r = c->ops->refval_list(c->st, &arr)) == 0)
			rs->json = json_pack("{s:o}", "reference_values", arr);
		return r;
	}
	if (!is_post(rq))
		return method_not_supported(rs);
	if ((r = tt_as_body_json(rq, rs, &body)) != 0)
		return r;
	arr = json_object_get(body, "reference_values");
	r = TT_ERR_INVALID_ARGUMENT;
	if (!json_is_array(arr) || json_array_size(arr) > MAX_REFVALS_IMPORT) {
		rs->detail = "\"reference_values\" must be an array of at most 10000 entries";
		goto out;
	}
	for (i = 0; i < json_array_size(arr); i++)
		if ((r = check_refval(json_array_get(arr, i), i, rs)) != 0)
			goto out;
	if ((r = c->ops->refval_import(c->st, arr, tt_as_now(), &ids)) != 0)
		goto out;
	rs->status = 201;
	rs->json = json_pack("{s:o}", "ids", ids);
out:
	json_decref(body);
	return r;
}

/* ---- policies ---- */

int
tt_as_h_policies(struct tt_as_ctx *c, const struct tt_as_req *rq, struct tt_as_resp *rs)
{
	json_t *body = NULL, *arr;
	const struct tt_policy_engine *eng;
	const char *group, *why = NULL;
	void *prog = NULL;
	int r;

	if (rq->tail[0] != '\0') {
		if (!is_get(rq))
			return method_not_supported(rs);
		if (!id_ok(rq->tail)) {
			rs->detail = "bad group name";
			return TT_ERR_INVALID_ARGUMENT;
		}
		r = c->ops->policy_get(c->st, rq->tail, &rs->json);
		if (r == TT_ERR_DOES_NOT_EXIST)
			rs->detail = "no policy for this group";
		return r;
	}
	if (is_get(rq)) {
		if ((r = c->ops->policy_list(c->st, &arr)) == 0)
			rs->json = json_pack("{s:o}", "policies", arr);
		return r;
	}
	if (!is_post(rq))
		return method_not_supported(rs);
	if ((r = tt_as_body_json(rq, rs, &body)) != 0)
		return r;
	group = json_string_value(json_object_get(body, "group"));
	r = TT_ERR_INVALID_ARGUMENT;
	if (!id_ok(group)) {
		rs->detail = "\"group\" must be a string of [A-Za-z0-9._:-], 1..128";
		goto out;
	}
	if ((eng = tt_policy_find(json_string_value(json_object_get(body, "engine")))) == NULL ||
	    (json_object_get(body, "engine") != NULL &&
	    !json_is_string(json_object_get(body, "engine")))) {
		rs->detail = "\"engine\" must name a known policy engine (\"default\")";
		goto out;
	}
	/* Compiled once here so that a document an engine cannot use is never stored. */
	if (eng->compile(body, &prog, &why) != 0) {
		tt_as_detail(rs, "policy refused: %s", why != NULL ? why : "the engine refused it");
		goto out;
	}
	eng->release(prog);
	if ((r = c->ops->policy_put(c->st, group, body, tt_as_now())) != 0)
		goto out;
	rs->status = 201;
	rs->json = json_incref(body);
out:
	json_decref(body);
	return r;
}

/* ---- the KBS resource policy ---- */

/*
 * One Rego document ({"rego": ..., "package": "policy", "reference": {...}}; see
 * rego_engine.h) decides every KBS release. Compiled here so that a policy that cannot
 * run is refused with its line and column and never stored; without one, only an
 * affirming session is released to.
 */
int
tt_as_h_resource_policy(struct tt_as_ctx *c, const struct tt_as_req *rq,
	struct tt_as_resp *rs)
{
	json_t *body = NULL;
	const json_t *eng;
	const char *why = NULL;
	void *prog = NULL;
	int r;

	if (is_get(rq) || is_delete(rq)) {
		r = is_get(rq) ? c->ops->policy_get(c->st, TT_AS_KBS_POLICY, &rs->json) :
		    c->ops->policy_delete(c->st, TT_AS_KBS_POLICY);
		if (r == TT_ERR_DOES_NOT_EXIST)
			rs->detail = "no resource policy: only affirming sessions are released to";
		else if (r == 0 && is_delete(rq))
			rs->json = json_pack("{s:b}", "deleted", 1);
		return r;
	}
	if (!is_post(rq))
		return method_not_supported(rs);
	if ((r = tt_as_body_json(rq, rs, &body)) != 0)
		return r;
	r = TT_ERR_INVALID_ARGUMENT;
	eng = json_object_get(body, "engine");
	if (eng != NULL && (!json_is_string(eng) || strcmp(json_string_value(eng), "rego") != 0)) {
		rs->detail = "a resource policy is Rego: \"engine\" must be \"rego\" or absent";
		goto out;
	}
	if (json_object_get(body, "rego") == NULL) {
		rs->detail = "\"rego\" (the policy module, or an array of modules) is required";
		goto out;
	}
	if (tt_policy_rego.compile(body, &prog, &why) != 0) {
		tt_as_detail(rs, "policy refused: %s", why != NULL ? why : "it does not compile");
		goto out;
	}
	tt_policy_rego.release(prog);
	if ((r = c->ops->policy_put(c->st, TT_AS_KBS_POLICY, body, tt_as_now())) != 0)
		goto out;
	rs->status = 201;
	rs->json = json_incref(body);
out:
	json_decref(body);
	return r;
}

/* ---- resources ---- */

int
tt_as_h_resources(struct tt_as_ctx *c, const struct tt_as_req *rq, struct tt_as_resp *rs)
{
	char *path = NULL;
	json_t *arr;
	int r;

	if (rq->tail[0] == '\0') {
		if (!is_get(rq))
			return method_not_supported(rs);
		if ((r = c->ops->resource_list(c->st, &arr)) == 0)
			rs->json = json_pack("{s:o}", "resources", arr);
		return r;
	}
	if (tt_as_resource_path(rq->tail, &path) != 0) {
		rs->detail = "resource path must be <repository>/<type>/<tag> of [A-Za-z0-9._-]";
		return TT_ERR_INVALID_ARGUMENT;
	}
	if (is_post(rq)) {
		r = c->ops->resource_put(c->st, path, rq->body, rq->body_len, tt_as_now());
		if (r == 0) {
			rs->status = 201;
			rs->json = json_pack("{s:s,s:I}", "path", path, "size", (json_int_t)rq->body_len);
		}
	} else if (is_get(rq)) {
		r = c->ops->resource_get(c->st, path, &rs->raw, &rs->raw_len);
		if (r == TT_ERR_DOES_NOT_EXIST)
			rs->detail = "no such resource";
	} else if (is_delete(rq)) {
		r = c->ops->resource_delete(c->st, path);
		if (r == TT_ERR_DOES_NOT_EXIST)
			rs->detail = "no such resource";
		else if (r == 0)
			rs->json = json_pack("{s:s}", "deleted", path);
	} else {
		r = method_not_supported(rs);
	}
	free(path);
	return r;
}
