/*
 * turtle get-resource: a secret from turtle-as over the KBS protocol (the resource-release
 * flow of Confidential Containers), released only if this node's TPM evidence (or, with
 * --tee snp|tdx|cca, its confidential guest's configfs-tsm report) is affirming.
 *
 *   POST {AS}/kbs/v0/auth {"version","tee":"tpm","extra-params"}     -> nonce + session cookie
 *   an ephemeral EC P-256 TEE key (the secret comes back encrypted to it)
 *   binding = SHA-384(JCS {"additional-evidence":"", "nonce", "tee-pubkey"})  (as Trustee's
 *             client computes it; docs/turtle-as.md, "KBS protocol compatibility")
 *   TtAttestQuote(binding) through turtled -> turtle's tpm evidence + "ak_public"
 *   POST {AS}/kbs/v0/attest {"init-data":null,"runtime-data","tee-evidence"}   -> EAR token
 *   GET  {AS}/kbs/v0/resource/REPO/TYPE/TAG                          -> JWE, decrypted here
 *
 * turtle-as finds the node by the AK (it must be registered and active: `turtle as node
 * register`) and releases the resource only when the attestation result is affirming; any
 * refusal is reported with turtle-as's reason and exit status 1. With --tee snp|tdx|cca
 * the same flow carries Trustee's evidence JSON for that tee (TtAttestTee over the binding,
 * zero-padded to 64 bytes by the kernel, as Trustee's attesters do) and no AK.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>
#include <jose/jwk.h>
#include <jose/openssl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <tss2/tss2_mu.h>

#include "cli.h"
#include "cli/conv.h"
#include "ear.h"
#include "json/json.h"
#include "turtle/attest.h"
#include "turtle/token.h"
#include "util/b64.h"
#include "util/mem.h"

#define KBS_MAX_RESPONSE (4u << 20)
#define KBS_PROTOCOL_VERSION "0.4.0"

enum { OPT_AS = 1, OPT_PCRS, OPT_OUT, OPT_TEE };

struct kbs {
	CURL *h;                /* one handle: its cookie engine carries the session */
	const char *base;
	char *body;             /* last response, NUL-terminated */
	size_t len;
	bool overflow;
};

static size_t
kbs_sink(char *p, size_t size, size_t nmemb, void *arg)
{
	struct kbs *k = arg;
	size_t n = size * nmemb;
	char *nb;

	if (n > KBS_MAX_RESPONSE - k->len) {
		k->overflow = true;
		return 0;
	}
	if ((nb = realloc(k->body, k->len + n + 1)) == NULL)
		return 0;
	k->body = nb;
	memcpy(k->body + k->len, p, n);
	k->len += n;
	k->body[k->len] = '\0';
	return n;
}

static void
kbs_body_free(struct kbs *k)
{
	/* a resource response holds the (wrapped) secret */
	if (k->body != NULL)
		OPENSSL_cleanse(k->body, k->len);
	free(k->body);
	k->body = NULL;
	k->len = 0;
	k->overflow = false;
}

/* kbs_call's answer when turtle-as refused (its status and reason are printed). */
#define KBS_REFUSED 1

/*
 * GET (body NULL) or POST a JSON body to base+path. On a 2xx answer *res is the parsed
 * JSON response. A non-2xx answer prints the status and turtle-as's "detail" and returns
 * KBS_REFUSED; no answer at all prints why and returns TT_ERR_COMMUNICATION.
 */
static int
kbs_call(struct kbs *k, const char *path, const json_t *body, json_t **res)
{
	struct curl_slist *hdr = NULL, *nh;
	char url[2048], *txt = NULL;
	size_t bl = strlen(k->base);
	const char *method = body != NULL ? "POST" : "GET";
	long status = 0;
	CURLcode cc;
	int r = TT_ERR_COMMUNICATION;

	*res = NULL;
	kbs_body_free(k);
	while (bl > 0 && k->base[bl - 1] == '/')
		bl--;
	if ((size_t)snprintf(url, sizeof(url), "%.*s%s", (int)bl, k->base, path) >= sizeof(url))
		return TT_ERR_INVALID_ARGUMENT;
	if ((nh = curl_slist_append(hdr, "Accept: application/json")) == NULL)
		return TT_ERR_NO_MEMORY;
	hdr = nh;
	curl_easy_setopt(k->h, CURLOPT_URL, url);
	if (body != NULL) {
		if ((txt = json_dumps(body, JSON_COMPACT)) == NULL ||
		    (nh = curl_slist_append(hdr, "Content-Type: application/json")) == NULL) {
			r = TT_ERR_NO_MEMORY;
			goto out;
		}
		hdr = nh;
		curl_easy_setopt(k->h, CURLOPT_POSTFIELDS, txt);
		curl_easy_setopt(k->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(txt));
	} else {
		curl_easy_setopt(k->h, CURLOPT_HTTPGET, 1L);
	}
	curl_easy_setopt(k->h, CURLOPT_HTTPHEADER, hdr);
	if ((cc = curl_easy_perform(k->h)) != CURLE_OK) {
		fprintf(stderr, "turtle: %s %s: %s\n", method, url, k->overflow ?
		    "response too large" : curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(k->h, CURLINFO_RESPONSE_CODE, &status);
	if (status < 200 || status > 299) {
		json_t *p = k->body != NULL ? json_loads(k->body, 0, NULL) : NULL;
		const char *d = json_string_value(json_object_get(p, "detail"));

		fprintf(stderr, "turtle: %s %s: HTTP %ld%s%s\n", method, path, status,
		    d != NULL ? ": " : "", d != NULL ? d : "");
		json_decref(p);
		r = KBS_REFUSED;
		goto out;
	}
	if (k->body == NULL ||
	    (*res = json_loads(k->body, JSON_REJECT_DUPLICATES, NULL)) == NULL) {
		fprintf(stderr, "turtle: %s %s: the response is not JSON\n", method, path);
		r = TT_ERR_PROTOCOL;
		goto out;
	}
	r = 0;
out:
	curl_easy_setopt(k->h, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(hdr);
	free(txt);
	kbs_body_free(k);
	return r;
}

/* A fresh EC P-256 key as a private JWK (with "alg", as Trustee's TeeKeyPair sends it)
 * and the public JWK that goes to turtle-as. */
static int
tee_key(json_t **priv_out, json_t **pub_out)
{
	EVP_PKEY *pk = NULL;
	json_t *priv = NULL, *pub = NULL;
	int r = TT_ERR_GENERIC;

	if ((pk = EVP_EC_gen("P-256")) == NULL ||
	    (priv = jose_openssl_jwk_from_EVP_PKEY(NULL, pk)) == NULL ||
	    json_object_set_new(priv, "alg", json_string("ECDH-ES+A256KW")) != 0 ||
	    (pub = json_deep_copy(priv)) == NULL || !jose_jwk_pub(NULL, pub))
		goto out;
	*priv_out = priv;
	*pub_out = pub;
	priv = pub = NULL;
	r = 0;
out:
	EVP_PKEY_free(pk);
	json_decref(priv);
	json_decref(pub);
	return r;
}

/* The AK (TPM2B_PUBLIC from the quote; turtled's AK is ECC P-256) as base64 DER
 * SubjectPublicKeyInfo: how turtle-as finds the node behind KBS evidence. */
static int
ak_spki_b64(const uint8_t *tpm2b, size_t len, char **out)
{
	TPM2B_PUBLIC pub;
	const TPMS_ECC_POINT *pt;
	uint8_t point[65], *der = NULL, *p;
	size_t off = 0;
	EVP_PKEY *pk = NULL;
	int dl, r = TT_ERR_DATA_INVALID;

	memset(&pub, 0, sizeof(pub));
	if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(tpm2b, len, &off, &pub) != TSS2_RC_SUCCESS ||
	    off != len || pub.publicArea.type != TPM2_ALG_ECC ||
	    pub.publicArea.parameters.eccDetail.curveID != TPM2_ECC_NIST_P256)
		return TT_ERR_NOT_SUPPORTED;
	pt = &pub.publicArea.unique.ecc;
	if (pt->x.size > 32 || pt->y.size > 32)
		return r;
	memset(point, 0, sizeof(point));
	point[0] = 0x04;
	memcpy(point + 1 + 32 - pt->x.size, pt->x.buffer, pt->x.size);
	memcpy(point + 33 + 32 - pt->y.size, pt->y.buffer, pt->y.size);
	if ((r = tt_cli_pubkey_from_psa(TT_KEY_TYPE_ECC_PUBLIC_KEY(TT_ECC_FAMILY_SECP_R1), 256,
	    point, sizeof(point), &pk)) != 0)
		return r;
	if ((dl = i2d_PUBKEY(pk, NULL)) <= 0 || (der = malloc((size_t)dl)) == NULL) {
		r = TT_ERR_NO_MEMORY;
		goto out;
	}
	p = der;
	if (i2d_PUBKEY(pk, &p) != dl) {
		r = TT_ERR_GENERIC;
		goto out;
	}
	r = tt_b64_encode_dup(der, (size_t)dl, TT_B64_STD, out);
out:
	free(der);
	EVP_PKEY_free(pk);
	return r;
}

/* SHA-384 over the canonical primary runtime data: what the TPM quotes. */
static int
runtime_binding(const char *nonce, const json_t *tee_pub, uint8_t md[48])
{
	json_t *rd;
	char *canon = NULL;
	size_t cl = 0;
	unsigned ml = 0;
	int r = TT_ERR_NO_MEMORY;

	if ((rd = json_pack("{s:s,s:s,s:O}", "additional-evidence", "", "nonce", nonce,
	    "tee-pubkey", tee_pub)) == NULL)
		return r;
	if ((r = tt_json_canonical(rd, 1u << 16, &canon, &cl)) == 0 &&
	    (EVP_Digest(canon, cl, md, &ml, EVP_sha384(), NULL) != 1 || ml != 48))
		r = TT_ERR_GENERIC;
	free(canon);
	json_decref(rd);
	return r;
}

/* The tee's submodule status from the token (display only; turtle-as decides). */
static void
print_status(const char *token, const char *tee)
{
	char *hdr = NULL, *claims = NULL;
	json_t *c;
	const char *st = NULL;

	if (tt_token_decode_unverified(token, &hdr, &claims) != 0)
		return;
	if ((c = json_loads(claims, 0, NULL)) != NULL)
		st = json_string_value(json_object_get(json_object_get(json_object_get(c,
		    "submods"), tee), "ear.status"));
	fprintf(stderr, "status: %s\n", st != NULL ? st : "(none)");
	json_decref(c);
	tt_free(hdr);
	tt_free(claims);
}

int
cmd_get_resource(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "as", required_argument, NULL, OPT_AS },
		{ "pcrs", required_argument, NULL, OPT_PCRS },
		{ "out", required_argument, NULL, OPT_OUT },
		{ "tee", required_argument, NULL, OPT_TEE },
		CLI_GLOBAL_OPTIONS, { NULL, 0, NULL, 0 } };
	struct kbs k = { 0 };
	const char *out = NULL, *nonce, *token, *path, *tee = "tpm";
	char *pcrs_text = NULL, *ak = NULL, rpath[512];
	struct tt_pcr_bank_sel sel[TT_ATTEST_MAX_BANKS];
	struct tt_attest_quote *q = NULL;
	json_t *priv = NULL, *pub = NULL, *req = NULL, *res = NULL, *ev = NULL;
	uint8_t md[48], *secret = NULL;
	size_t n_sel = 0, slen = 0;
	int c, r;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case OPT_AS: k.base = optarg; break;
		case OPT_PCRS: pcrs_text = optarg; break;
		case OPT_OUT: out = optarg; break;
		case OPT_TEE: tee = optarg; break;
		default:
			if ((r = cli_common_opt(cli, c, optarg)) >= 0)
				return r;
		}
	}
	if (k.base == NULL || argc - optind != 1)
		return cli_usage(cli, "expects --as URL and the resource path REPO/TYPE/TAG");
	path = argv[optind];
	if (path[0] == '/' || strstr(path, "..") != NULL ||
	    (size_t)snprintf(rpath, sizeof(rpath), "/kbs/v0/resource/%s", path) >= sizeof(rpath))
		return cli_usage(cli, "resource path: REPO/TYPE/TAG");
	if (strcmp(tee, "tpm") != 0 && !cli_tee_is_guest(tee))
		return cli_usage(cli, "--tee: tpm, snp, tdx or cca");
	if (pcrs_text != NULL && strcmp(tee, "tpm") != 0)
		return cli_usage(cli, "--pcrs is for --tee tpm");
	if (pcrs_text != NULL && cli_parse_pcrs(pcrs_text, sel, &n_sel) != 0)
		return cli_usage(cli, "--pcrs: expected e.g. sha256:0-10 or sha256:0,7+sha1:0");
	if ((r = cli_connect(cli)) != CLI_OK)
		return r;
	if (!cli->provider_set)
		tt_client_set_provider(cli->client, TT_CLIENT_PROVIDER_TPM);
	if ((k.h = curl_easy_init()) == NULL) {
		r = cli_fail(cli, TT_ERR_NO_MEMORY, "HTTP");
		goto out;
	}
	curl_easy_setopt(k.h, CURLOPT_COOKIEFILE, "");   /* in-memory cookie engine */
	curl_easy_setopt(k.h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(k.h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(k.h, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(k.h, CURLOPT_WRITEFUNCTION, kbs_sink);
	curl_easy_setopt(k.h, CURLOPT_WRITEDATA, &k);

	/* 1. challenge */
	if ((req = json_pack("{s:s,s:s,s:{s:[ssss]}}", "version", KBS_PROTOCOL_VERSION,
	    "tee", tee, "extra-params", "supported-hash-algorithms", "sha256", "sha384",
	    "sha512", "sm3")) == NULL) {
		r = cli_fail(cli, TT_ERR_NO_MEMORY, "auth");
		goto out;
	}
	if ((r = kbs_call(&k, "/kbs/v0/auth", req, &res)) != 0) {
		r = r == KBS_REFUSED ? CLI_FAIL : cli_fail(cli, r, "KBS auth");
		goto out;
	}
	if ((nonce = json_string_value(json_object_get(res, "nonce"))) == NULL) {
		r = cli_fail(cli, TT_ERR_PROTOCOL, "KBS auth (no nonce)");
		goto out;
	}
	/* 2. the TEE key and the quote over the runtime data */
	if ((r = tee_key(&priv, &pub)) != 0) {
		r = cli_fail(cli, r, "TEE key");
		goto out;
	}
	if ((r = runtime_binding(nonce, pub, md)) != 0) {
		r = cli_fail(cli, r, "runtime data");
		goto out;
	}
	if (cli_tee_is_guest(tee)) {
		if ((ev = cli_tee_evidence(cli, tee, md, sizeof(md),
		    TT_ATTEST_TEE_NO_PRIVLEVEL, NULL)) == NULL) {
			r = CLI_FAIL;
			goto out;
		}
	} else {
		if ((r = tt_attest_quote(cli->client, md, sizeof(md), n_sel > 0 ? sel : NULL,
		    n_sel, &q)) != 0) {
			r = cli_fail(cli, r, "quote");
			goto out;
		}
		if ((r = ak_spki_b64(q->ak_public, q->ak_public_len, &ak)) != 0) {
			r = cli_fail(cli, r, "AK public key");
			goto out;
		}
		if ((ev = cli_evidence_json(q)) == NULL ||
		    json_object_set_new(ev, "ak_public", json_string(ak)) != 0) {
			r = cli_fail(cli, TT_ERR_NO_MEMORY, "evidence");
			goto out;
		}
	}
	/* 3. attest */
	json_decref(req);
	if ((req = json_pack("{s:n,s:{s:s,s:O},s:{s:O,s:s}}", "init-data",
	    "runtime-data", "nonce", nonce, "tee-pubkey", pub,
	    "tee-evidence", "primary_evidence", ev, "additional_evidence", "")) == NULL) {
		r = cli_fail(cli, TT_ERR_NO_MEMORY, "attest");
		goto out;
	}
	json_decref(res);   /* `nonce` pointed into it; req holds its own copy */
	res = NULL;
	if ((r = kbs_call(&k, "/kbs/v0/attest", req, &res)) != 0) {
		r = r == KBS_REFUSED ? CLI_FAIL : cli_fail(cli, r, "KBS attest");
		goto out;
	}
	if ((token = json_string_value(json_object_get(res, "token"))) != NULL)
		print_status(token, tee);
	json_decref(res);
	res = NULL;
	/* 4. the resource, encrypted to the TEE key */
	if ((r = kbs_call(&k, rpath, NULL, &res)) != 0) {
		r = r == KBS_REFUSED ? CLI_FAIL : cli_fail(cli, r, path);
		goto out;
	}
	if ((r = tt_ear_jwe_decrypt(priv, res, &secret, &slen)) != 0) {
		r = cli_fail(cli, r, "decrypt the resource");
		goto out;
	}
	if ((r = cli_write_file(out, secret, slen, true)) != 0) {
		r = cli_fail(cli, r, out != NULL ? out : "stdout");
		goto out;
	}
	r = CLI_OK;
out:
	if (secret != NULL)
		tt_free_secret(secret, slen);
	tt_attest_quote_free(q);
	json_decref(priv);
	json_decref(pub);
	json_decref(req);
	json_decref(res);
	json_decref(ev);
	free(ak);
	kbs_body_free(&k);
	curl_easy_cleanup(k.h);
	return r;
}
