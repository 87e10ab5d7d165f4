/*
 * turtle attest | turtle as ...: the node side of remote attestation with turtle-as.
 *
 *   attest      POST {AS}/v1/challenge, TtAttestQuote with the nonce through turtled,
 *               POST {AS}/v1/attest with the evidence JSON turtle-as's tpm verifier
 *               reads (src/as/verifier_tpm.c), print the EAR token. With --tee
 *               snp|tdx|cca the evidence is the guest's configfs-tsm report over the
 *               nonce (TtAttestTee), in the JSON Trustee's attester for that tee sends.
 *   as node register   TtAgentIdentity (admin), POST /v1/nodes with ek_public + ak_tpm2b,
 *               TtAgentActivate of the returned credential, POST /v1/activate. With
 *               --tee snp|tdx|cca: the guest's report (TtAttestTee, random report data)
 *               as "evidence"; turtle-as registers the platform identity it carries.
 *   as refvals import / as policy set / as resource put   thin admin HTTP calls.
 *
 * HTTP is libcurl; JSON is jansson. turtle-as speaks plain HTTP and is meant to sit behind
 * a TLS terminator: an https:// URL works as libcurl verifies it (system CA store).
 * The admin token is read from a file, sent only as a bearer header, and wiped.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "cli.h"
#include "turtle/attest.h"
#include "util/num.h"

#define HTTP_MAX_RESPONSE (4u << 20)
#define TOKEN_FILE_MAX 4096u
#define AS_FILE_MAX (16u << 20)

enum { OPT_AS = 1, OPT_TEE, OPT_PCRS, OPT_OUT, OPT_NODE, OPT_GROUP, OPT_ADMIN_TOKEN_FILE,
	OPT_PRIVLEVEL, OPT_EVIDENCE_OUT, OPT_COLLATERAL_OUT };

/* ---- small encoders ---- */

static char *
b64(const uint8_t *p, size_t n)
{
	char *s;

	if (n > (1u << 28) || (s = malloc(4 * ((n + 2) / 3) + 1)) == NULL)
		return NULL;
	EVP_EncodeBlock((unsigned char *)s, p, (int)n);
	return s;
}

/* base64 or base64url, padded or not -> bytes (malloc'd). */
static int
b64_dec(const char *in, uint8_t **out, size_t *len)
{
	size_t n = strlen(in), m, pad = 0;
	char *t;
	uint8_t *d;
	int got;

	if (n == 0 || n > (1u << 28))
		return TT_ERR_INVALID_ARGUMENT;
	m = (n + 3) / 4 * 4;
	if ((t = malloc(m + 1)) == NULL)
		return TT_ERR_NO_MEMORY;
	for (size_t i = 0; i < n; i++)
		t[i] = in[i] == '-' ? '+' : in[i] == '_' ? '/' : in[i];
	for (size_t i = n; i < m; i++)
		t[i] = '=';
	t[m] = '\0';
	while (pad < 2 && m - pad > 0 && t[m - pad - 1] == '=')
		pad++;
	if ((d = malloc(m / 4 * 3 + 1)) == NULL) {
		free(t);
		return TT_ERR_NO_MEMORY;
	}
	got = EVP_DecodeBlock(d, (unsigned char *)t, (int)m);
	free(t);
	if (got < 0 || (size_t)got < pad) {
		free(d);
		return TT_ERR_INVALID_ARGUMENT;
	}
	*out = d;
	*len = (size_t)got - pad;
	return 0;
}

/* PEM armour around DER. */
static char *
pem(const char *label, const uint8_t *der, size_t n)
{
	char *b = b64(der, n), *s;
	size_t bl, cap, o = 0;

	if (b == NULL)
		return NULL;
	bl = strlen(b);
	cap = bl + bl / 64 + 2 * strlen(label) + 64;
	if ((s = malloc(cap)) == NULL) {
		free(b);
		return NULL;
	}
	o += (size_t)snprintf(s + o, cap - o, "-----BEGIN %s-----\n", label);
	for (size_t i = 0; i < bl; i += 64) {
		size_t k = bl - i < 64 ? bl - i : 64;

		memcpy(s + o, b + i, k);
		o += k;
		s[o++] = '\n';
	}
	snprintf(s + o, cap - o, "-----END %s-----\n", label);
	free(b);
	return s;
}

/* ---- PCR selection text, tpm2-tools syntax: sha256:0-10+sha1:0,7 ---- */

static const struct {
	const char *name;
	uint16_t alg;
} banks[] = {
	{ "sha1", TT_TPM_ALG_SHA1 }, { "sha256", TT_TPM_ALG_SHA256 },
	{ "sha384", TT_TPM_ALG_SHA384 }, { "sha512", TT_TPM_ALG_SHA512 },
};

static const char *
bank_name(uint16_t alg)
{
	for (size_t i = 0; i < sizeof(banks) / sizeof(banks[0]); i++)
		if (banks[i].alg == alg)
			return banks[i].name;
	return NULL;
}

int
cli_parse_pcrs(char *s, struct tt_pcr_bank_sel *sel, size_t *n)
{
	char *save = NULL, *bank;

	*n = 0;
	for (bank = strtok_r(s, "+", &save); bank != NULL; bank = strtok_r(NULL, "+", &save)) {
		char *colon = strchr(bank, ':'), *save2 = NULL, *item;

		if (colon == NULL || *n == TT_ATTEST_MAX_BANKS)
			return TT_ERR_INVALID_ARGUMENT;
		*colon = '\0';
		sel[*n].hash_alg = 0;
		sel[*n].mask = 0;
		for (size_t i = 0; i < sizeof(banks) / sizeof(banks[0]); i++)
			if (strcmp(banks[i].name, bank) == 0)
				sel[*n].hash_alg = banks[i].alg;
		if (sel[*n].hash_alg == 0)
			return TT_ERR_INVALID_ARGUMENT;
		for (item = strtok_r(colon + 1, ",", &save2); item != NULL;
		    item = strtok_r(NULL, ",", &save2)) {
			char *dash = strchr(item, '-');
			uint32_t a, b;

			if (dash != NULL)
				*dash = '\0';
			if (tt_parse_u32(item, 0, TT_ATTEST_NUM_PCRS - 1, &a) != 0)
				return TT_ERR_INVALID_ARGUMENT;
			b = a;
			if (dash != NULL && tt_parse_u32(dash + 1, a, TT_ATTEST_NUM_PCRS - 1, &b) != 0)
				return TT_ERR_INVALID_ARGUMENT;
			for (uint32_t i = a; i <= b; i++)
				sel[*n].mask |= 1u << i;
		}
		if (sel[*n].mask == 0)
			return TT_ERR_INVALID_ARGUMENT;
		(*n)++;
	}
	return *n > 0 ? 0 : TT_ERR_INVALID_ARGUMENT;
}

/* ---- HTTP ---- */

struct http_resp {
	long status;
	char *body;             /* NUL-terminated */
	size_t len;
	bool overflow;
};

static size_t
http_sink(char *p, size_t size, size_t nmemb, void *arg)
{
	struct http_resp *r = arg;
	size_t n = size * nmemb;
	char *nb;

	if (n > HTTP_MAX_RESPONSE - r->len) {
		r->overflow = true;
		return 0;
	}
	if ((nb = realloc(r->body, r->len + n + 1)) == NULL)
		return 0;
	r->body = nb;
	memcpy(r->body + r->len, p, n);
	r->len += n;
	r->body[r->len] = '\0';
	return n;
}

static void
http_resp_free(struct http_resp *r)
{
	if (r->body != NULL)
		OPENSSL_cleanse(r->body, r->len);
	free(r->body);
	memset(r, 0, sizeof(*r));
}

/* POST body to base+path. Returns 0 when a response arrived (any status). */
static int
http_post(const char *base, const char *path, const char *ctype, const void *body,
    size_t len, const char *bearer, struct http_resp *out)
{
	CURL *h = NULL;
	struct curl_slist *hdr = NULL, *nh;
	char url[2048], line[4200];
	size_t bl = strlen(base);
	CURLcode cc;
	int r = TT_ERR_COMMUNICATION;

	memset(out, 0, sizeof(*out));
	while (bl > 0 && base[bl - 1] == '/')
		bl--;
	if ((size_t)snprintf(url, sizeof(url), "%.*s%s", (int)bl, base, path) >= sizeof(url))
		return TT_ERR_INVALID_ARGUMENT;
	if ((h = curl_easy_init()) == NULL)
		return TT_ERR_NO_MEMORY;
	snprintf(line, sizeof(line), "Content-Type: %s", ctype);
	if ((nh = curl_slist_append(hdr, line)) == NULL)
		goto nomem;
	hdr = nh;
	if ((nh = curl_slist_append(hdr, "Accept: application/json")) == NULL)
		goto nomem;
	hdr = nh;
	if (bearer != NULL) {
		if ((size_t)snprintf(line, sizeof(line), "Authorization: Bearer %s", bearer) >=
		    sizeof(line)) {
			r = TT_ERR_INVALID_ARGUMENT;
			goto out;
		}
		nh = curl_slist_append(hdr, line);
		OPENSSL_cleanse(line, sizeof(line));
		if (nh == NULL)
			goto nomem;
		hdr = nh;
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, http_sink);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
	if ((cc = curl_easy_perform(h)) != CURLE_OK) {
		fprintf(stderr, "turtle: POST %s: %s\n", url, out->overflow ?
		    "response too large" : curl_easy_strerror(cc));
		http_resp_free(out);
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
	r = 0;
	goto out;
nomem:
	r = TT_ERR_NO_MEMORY;
out:
	/* the header list may hold the admin token */
	for (nh = hdr; nh != NULL; nh = nh->next)
		OPENSSL_cleanse(nh->data, strlen(nh->data));
	curl_slist_free_all(hdr);
	curl_easy_cleanup(h);
	return r;
}

/* POST a JSON object; on 2xx *res is the parsed response (may be NULL if not JSON). */
static int
post_json(const char *base, const char *path, const json_t *body, const char *bearer,
    long *status, json_t **res)
{
	struct http_resp hr;
	char *txt;
	int r;

	if ((txt = json_dumps(body, JSON_COMPACT)) == NULL)
		return TT_ERR_NO_MEMORY;
	r = http_post(base, path, "application/json", txt, strlen(txt), bearer, &hr);
	free(txt);
	if (r != 0)
		return r;
	*status = hr.status;
	if (hr.status < 200 || hr.status > 299) {
		json_t *p = hr.body != NULL ? json_loads(hr.body, 0, NULL) : NULL;
		const char *d = json_string_value(json_object_get(p, "detail"));

		fprintf(stderr, "turtle: POST %s: HTTP %ld%s%s\n", path, hr.status,
		    d != NULL ? ": " : "", d != NULL ? d : "");
		json_decref(p);
		http_resp_free(&hr);
		return TT_ERR_COMMUNICATION;
	}
	if (res != NULL)
		*res = hr.body != NULL ? json_loads(hr.body, JSON_REJECT_DUPLICATES, NULL) : NULL;
	http_resp_free(&hr);
	return 0;
}

/* Admin token from a file: whitespace trimmed. tt_free_secret(*tok, strlen + 1). */
static int
read_admin_token(const char *path, char **tok)
{
	uint8_t *d = NULL;
	size_t n = 0, a = 0;
	char *s;
	int r;

	if ((r = cli_read_file(path, TOKEN_FILE_MAX, &d, &n)) != 0)
		return r;
	while (a < n && isspace(d[a]))
		a++;
	while (n > a && isspace(d[n - 1]))
		n--;
	if (n == a || (s = malloc(n - a + 1)) == NULL) {
		tt_free_secret(d, n);
		return n == a ? TT_ERR_INVALID_ARGUMENT : TT_ERR_NO_MEMORY;
	}
	memcpy(s, d + a, n - a);
	s[n - a] = '\0';
	for (size_t i = 0; s[i] != '\0'; i++) {
		if (!isgraph((unsigned char)s[i])) {
			tt_free_secret(s, n - a + 1);
			tt_free_secret(d, n);
			return TT_ERR_INVALID_ARGUMENT;
		}
	}
	tt_free_secret(d, n);
	*tok = s;
	return 0;
}

static void
free_token(char *tok)
{
	if (tok != NULL)
		tt_free_secret(tok, strlen(tok) + 1);
}

/* The node id: --node, else the host name. */
static int
node_id(const char *opt, char *buf, size_t len)
{
	if (opt != NULL) {
		if ((size_t)snprintf(buf, len, "%s", opt) >= len)
			return TT_ERR_INVALID_ARGUMENT;
		return 0;
	}
	if (gethostname(buf, len) != 0)
		return TT_ERR_GENERIC;
	buf[len - 1] = '\0';
	return 0;
}

/* The agent's operations live in the TPM provider unless --provider says otherwise. */
static int
connect_tpm(struct cli *cli)
{
	int r;

	if ((r = cli_connect(cli)) != CLI_OK)
		return r;
	if (!cli->provider_set)
		tt_client_set_provider(cli->client, TT_CLIENT_PROVIDER_TPM);
	return CLI_OK;
}

/* ---- evidence ---- */

json_t *
cli_evidence_json(const struct tt_attest_quote *q)
{
	json_t *ev = NULL, *pcrs = NULL, *quote = NULL;
	char *a = NULL, *s = NULL, *log = NULL;

	if ((a = b64(q->attest, q->attest_len)) == NULL ||
	    (s = b64(q->signature, q->signature_len)) == NULL ||
	    (quote = json_pack("{s:s,s:s}", "attest", a, "signature", s)) == NULL ||
	    (pcrs = json_object()) == NULL)
		goto fail;
	for (size_t b = 0; b < q->n_banks; b++) {
		const struct tt_pcr_bank_values *v = &q->banks[b];
		const char *name = bank_name(v->hash_alg);
		json_t *bank = json_object();

		if (bank == NULL || name == NULL || json_object_set_new(pcrs, name, bank) != 0)
			goto fail;
		for (unsigned i = 0; i < TT_ATTEST_NUM_PCRS; i++) {
			char idx[4], hex[129];

			if (!(v->mask & (1u << i)))
				continue;
			snprintf(idx, sizeof(idx), "%u", i);
			for (size_t k = 0; k < v->digest_size; k++)
				snprintf(hex + 2 * k, 3, "%02x", v->value[i][k]);
			if (json_object_set_new(bank, idx, json_string(hex)) != 0)
				goto fail;
		}
	}
	if ((ev = json_pack("{s:o,s:o}", "quote", quote, "pcrs", pcrs)) == NULL) {
		quote = pcrs = NULL;
		goto fail;
	}
	quote = pcrs = NULL;
	if (q->event_log_len > 0) {
		if ((log = b64(q->event_log, q->event_log_len)) == NULL ||
		    json_object_set_new(ev, "eventlog", json_string(log)) != 0)
			goto fail;
	}
	if (q->ima_log_len > 0) {
		json_t *t = json_stringn((const char *)q->ima_log, q->ima_log_len);

		/* not UTF-8 (or NUL inside): the verifier could not read it either */
		if (t == NULL)
			fprintf(stderr, "turtle: the IMA log is not text; left out\n");
		else if (json_object_set_new(ev, "ima", t) != 0)
			goto fail;
	}
	free(a);
	free(s);
	free(log);
	return ev;
fail:
	free(a);
	free(s);
	free(log);
	json_decref(quote);
	json_decref(pcrs);
	json_decref(ev);
	return NULL;
}

bool
cli_tee_is_guest(const char *tee)
{
	return strcmp(tee, "snp") == 0 || strcmp(tee, "tdx") == 0 || strcmp(tee, "cca") == 0;
}

/* A confidential guest's evidence over report_data: TtAttestTee through turtled (a core
 * operation), then Trustee's JSON for that tee. NULL after printing why. With raw, the
 * report itself is handed back too (*raw: tt_attest_tee_free). */
json_t *
cli_tee_evidence(struct cli *cli, const char *tee, const uint8_t *rd, size_t rd_len,
    int privlevel, struct tt_attest_tee **raw)
{
	struct tt_attest_tee *t = NULL;
	char *s = NULL;
	json_t *ev = NULL;
	int r;

	if ((r = tt_attest_tee(cli->client, tee, rd, rd_len, privlevel, &t)) != 0) {
		cli_fail(cli, r, "configfs-tsm report (TtAttestTee)");
		goto out;
	}
	if ((r = tt_attest_tee_evidence(t, &s)) != 0) {
		cli_fail(cli, r, "the guest's report");
		goto out;
	}
	if ((ev = json_loads(s, 0, NULL)) == NULL) {
		cli_fail(cli, TT_ERR_NO_MEMORY, "evidence");
		goto out;
	}
	if (raw != NULL) {
		*raw = t;
		t = NULL;
	}
out:
	tt_free(s);
	tt_attest_tee_free(t);
	return ev;
}

/*
 * What `turtle verify --tee T --evidence FILE [--collateral FILE]` reads, so the evidence
 * can be verified again offline: the raw report (snp) or token (cca), Trustee's JSON for
 * tdx (the quote with its event log); for snp the certificate table as collateral.
 */
static int
save_tee_evidence(struct cli *cli, const struct tt_attest_tee *t, const json_t *ev,
    const char *ev_out, const char *coll_out)
{
	int r = 0;

	if (ev_out != NULL) {
		if (strcmp(t->tee, "tdx") == 0) {
			char *es = json_dumps(ev, JSON_COMPACT);

			r = es == NULL ? TT_ERR_NO_MEMORY :
			    cli_write_file(ev_out, (const uint8_t *)es, strlen(es), false);
			free(es);
		} else {
			r = cli_write_file(ev_out, t->outblob, t->outblob_len, false);
		}
		if (r != 0)
			return cli_fail(cli, r, ev_out);
	}
	if (coll_out != NULL) {
		if (t->auxblob_len == 0) {
			fprintf(stderr, "turtle: the guest's report came with no certificate table; "
			    "%s not written\n", coll_out);
			return CLI_OK;
		}
		if ((r = cli_write_file(coll_out, t->auxblob, t->auxblob_len, false)) != 0)
			return cli_fail(cli, r, coll_out);
	}
	return CLI_OK;
}

int
cmd_attest(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "as", required_argument, NULL, OPT_AS },
		{ "tee", required_argument, NULL, OPT_TEE },
		{ "pcrs", required_argument, NULL, OPT_PCRS },
		{ "node", required_argument, NULL, OPT_NODE },
		{ "out", required_argument, NULL, OPT_OUT },
		{ "privlevel", required_argument, NULL, OPT_PRIVLEVEL },
		{ "evidence-out", required_argument, NULL, OPT_EVIDENCE_OUT },
		{ "collateral-out", required_argument, NULL, OPT_COLLATERAL_OUT },
		CLI_GLOBAL_OPTIONS, { NULL, 0, NULL, 0 } };
	const char *as = NULL, *tee = "tpm", *out = NULL, *node = NULL, *ev_out = NULL;
	const char *coll_out = NULL;
	struct tt_attest_tee *raw = NULL;
	int privlevel = TT_ATTEST_TEE_NO_PRIVLEVEL;
	uint32_t pl;
	char *pcrs_text = NULL, nid[256];
	struct tt_pcr_bank_sel sel[TT_ATTEST_MAX_BANKS];
	size_t n_sel = 0, nonce_len = 0;
	struct tt_attest_quote *q = NULL;
	json_t *req = NULL, *res = NULL, *ev = NULL;
	uint8_t *nonce = NULL;
	const char *nonce_txt, *token, *status;
	char *nonce_copy = NULL;
	long hs = 0;
	int c, r;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case OPT_AS: as = optarg; break;
		case OPT_TEE: tee = optarg; break;
		case OPT_PCRS: pcrs_text = optarg; break;
		case OPT_NODE: node = optarg; break;
		case OPT_OUT: out = optarg; break;
		case OPT_EVIDENCE_OUT: ev_out = optarg; break;
		case OPT_COLLATERAL_OUT: coll_out = optarg; break;
		case OPT_PRIVLEVEL:
			if (tt_parse_u32(optarg, 0, 3, &pl) != 0)
				return cli_usage(cli, "--privlevel: 0..3");
			privlevel = (int)pl;
			break;
		default:
			if ((r = cli_common_opt(cli, c, optarg)) >= 0)
				return r;
		}
	}
	if (as == NULL)
		return cli_usage(cli, "attest needs --as URL");
	if (optind != argc)
		return cli_usage(cli, "unexpected argument '%s'", argv[optind]);
	if (strcmp(tee, "tpm") != 0 && strcmp(tee, "sample") != 0 && !cli_tee_is_guest(tee))
		return cli_usage(cli, "--tee: 'tpm' (evidence from turtled's TPM), 'snp', 'tdx' or "
		    "'cca' (the confidential guest's report through turtled) or 'sample' "
		    "(software-only)");
	if ((privlevel != TT_ATTEST_TEE_NO_PRIVLEVEL || ev_out != NULL || coll_out != NULL) &&
	    !cli_tee_is_guest(tee))
		return cli_usage(cli, "--privlevel, --evidence-out and --collateral-out are for "
		    "--tee snp|tdx|cca");
	if (pcrs_text != NULL && strcmp(tee, "tpm") != 0)
		return cli_usage(cli, "--pcrs is for --tee tpm");
	if (pcrs_text != NULL && cli_parse_pcrs(pcrs_text, sel, &n_sel) != 0)
		return cli_usage(cli, "--pcrs: expected e.g. sha256:0-10 or sha256:0,7+sha1:0");
	if (node_id(node, nid, sizeof(nid)) != 0)
		return cli_usage(cli, "--node: node id too long");
	if (strcmp(tee, "tpm") == 0 && (r = connect_tpm(cli)) != CLI_OK)
		return r;
	if (cli_tee_is_guest(tee) && (r = cli_connect(cli)) != CLI_OK)
		return r;
	/* 1. challenge */
	if ((req = json_pack("{s:s,s:s}", "tee", tee, "node_id", nid)) == NULL) {
		r = cli_fail(cli, TT_ERR_NO_MEMORY, "challenge");
		goto out;
	}
	if ((r = post_json(as, "/v1/challenge", req, NULL, &hs, &res)) != 0) {
		r = cli_fail(cli, r, "challenge");
		goto out;
	}
	nonce_txt = json_string_value(json_object_get(res, "nonce"));
	if (nonce_txt == NULL || (nonce_copy = strdup(nonce_txt)) == NULL ||
	    b64_dec(nonce_copy, &nonce, &nonce_len) != 0) {
		r = cli_fail(cli, TT_ERR_PROTOCOL, "challenge (no usable nonce)");
		goto out;
	}
	json_decref(res);
	res = NULL;
	json_decref(req);
	req = NULL;
	/* 2. evidence: from turtled's TPM, or the software-only sample attester, which
	 * only binds the challenge and which the default policy never marks affirming */
	if (strcmp(tee, "sample") == 0)
		ev = json_pack("{s:s,s:{s:s}}", "report_data", nonce_copy, "claims", "node", nid);
	else if (cli_tee_is_guest(tee)) {
		if (nonce_len > 64) {
			r = cli_fail(cli, TT_ERR_PROTOCOL, "challenge (a nonce over 64 bytes)");
			goto out;
		}
		if ((ev = cli_tee_evidence(cli, tee, nonce, nonce_len, privlevel, &raw)) == NULL) {
			r = CLI_FAIL;
			goto out;
		}
		if ((r = save_tee_evidence(cli, raw, ev, ev_out, coll_out)) != CLI_OK)
			goto out;
	} else if ((r = tt_attest_quote(cli->client, nonce, nonce_len, n_sel > 0 ? sel : NULL,
	    n_sel, &q)) != 0) {
		r = cli_fail(cli, r, "quote");
		goto out;
	} else
		ev = cli_evidence_json(q);
	if (ev == NULL) {
		r = cli_fail(cli, TT_ERR_NO_MEMORY, "evidence");
		goto out;
	}
	/* 3. attest */
	if ((req = json_pack("{s:s,s:s,s:O}", "nonce", nonce_copy, "tee", tee, "evidence",
	    ev)) == NULL) {
		r = cli_fail(cli, TT_ERR_NO_MEMORY, "attest");
		goto out;
	}
	if ((r = post_json(as, "/v1/attest", req, NULL, &hs, &res)) != 0) {
		r = cli_fail(cli, r, "attest");
		goto out;
	}
	token = json_string_value(json_object_get(res, "token"));
	status = json_string_value(json_object_get(res, "status"));
	if (token == NULL) {
		r = cli_fail(cli, TT_ERR_PROTOCOL, "attest (no token in the response)");
		goto out;
	}
	if (out != NULL) {
		size_t tl = strlen(token);
		char *line = malloc(tl + 2);

		if (line == NULL) {
			r = cli_fail(cli, TT_ERR_NO_MEMORY, out);
			goto out;
		}
		memcpy(line, token, tl);
		line[tl] = '\n';
		r = cli_write_file(out, (const uint8_t *)line, tl + 1, false);
		free(line);
		if (r != 0) {
			r = cli_fail(cli, r, out);
			goto out;
		}
	}
	if (cli->json) {
		printf("{\"status\":");
		cli_json_str(stdout, status != NULL ? status : "");
		printf(",\"token\":");
		cli_json_str(stdout, token);
		printf("}\n");
	} else {
		if (out == NULL)
			printf("%s\n", token);
		fprintf(stderr, "status: %s\n", status != NULL ? status : "(none)");
	}
	r = CLI_OK;
out:
	tt_attest_quote_free(q);
	tt_attest_tee_free(raw);
	json_decref(req);
	json_decref(res);
	json_decref(ev);
	free(nonce);
	free(nonce_copy);
	return r;
}

/* ---- turtle as ... ---- */

struct as_opts {
	const char *as, *token_file, *node, *group, *tee;
	int privlevel;
	char *token;
};

/* The options of `turtle as ...`; --tee and --privlevel only where tee_opts (node register). */
static int
as_parse(struct cli *cli, int argc, char **argv, struct as_opts *o, int nargs, char ***pos,
    bool tee_opts)
{
	static const struct option opts[] = {
		{ "as", required_argument, NULL, OPT_AS },
		{ "admin-token-file", required_argument, NULL, OPT_ADMIN_TOKEN_FILE },
		{ "node", required_argument, NULL, OPT_NODE },
		{ "group", required_argument, NULL, OPT_GROUP },
		{ "tee", required_argument, NULL, OPT_TEE },
		{ "privlevel", required_argument, NULL, OPT_PRIVLEVEL },
		CLI_GLOBAL_OPTIONS, { NULL, 0, NULL, 0 } };
	uint32_t pl;
	int c, r;

	memset(o, 0, sizeof(*o));
	o->privlevel = TT_ATTEST_TEE_NO_PRIVLEVEL;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case OPT_AS: o->as = optarg; break;
		case OPT_ADMIN_TOKEN_FILE: o->token_file = optarg; break;
		case OPT_NODE: o->node = optarg; break;
		case OPT_GROUP: o->group = optarg; break;
		case OPT_TEE: o->tee = optarg; break;
		case OPT_PRIVLEVEL:
			if (tt_parse_u32(optarg, 0, 3, &pl) != 0)
				return cli_usage(cli, "--privlevel: 0..3");
			o->privlevel = (int)pl;
			break;
		default:
			if ((r = cli_common_opt(cli, c, optarg)) >= 0)
				return r;
		}
	}
	if (o->as == NULL || o->token_file == NULL)
		return cli_usage(cli, "needs --as URL and --admin-token-file FILE");
	if (!tee_opts && (o->tee != NULL || o->privlevel != TT_ATTEST_TEE_NO_PRIVLEVEL))
		return cli_usage(cli, "--tee and --privlevel are for 'as node register'");
	if (o->tee != NULL && strcmp(o->tee, "tpm") != 0 && !cli_tee_is_guest(o->tee))
		return cli_usage(cli, "--tee: 'tpm' (the default: turtled's TPM identity) or 'snp', "
		    "'tdx' or 'cca' (the confidential guest's report through turtled)");
	if (o->privlevel != TT_ATTEST_TEE_NO_PRIVLEVEL &&
	    (o->tee == NULL || !cli_tee_is_guest(o->tee)))
		return cli_usage(cli, "--privlevel is for --tee snp|tdx|cca");
	if (argc - optind != nargs)
		return cli_usage(cli, "expected %d argument(s)", nargs);
	*pos = argv + optind;
	if ((r = read_admin_token(o->token_file, &o->token)) != 0)
		return cli_fail(cli, r, o->token_file);
	return -1;
}

/*
 * A confidential guest registers itself: its report through turtled over random report
 * data (turtle-as checks no binding at registration: it learns which platform, not that
 * the report is fresh), in the evidence JSON `turtle attest --tee` sends; turtle-as
 * verifies it and registers the platform identity it carries.
 */
static int
as_node_register_tee(struct cli *cli, const struct as_opts *o)
{
	uint8_t rd[64];
	char nid[256];
	json_t *ev = NULL, *req = NULL, *res = NULL;
	const char *ident;
	long hs = 0;
	int r;

	if (node_id(o->node, nid, sizeof(nid)) != 0)
		return cli_usage(cli, "--node: node id too long");
	if ((r = cli_connect(cli)) != CLI_OK)
		return r;
	if (RAND_bytes(rd, sizeof(rd)) != 1)
		return cli_fail(cli, TT_ERR_INSUFFICIENT_ENTROPY, "report data");
	if ((ev = cli_tee_evidence(cli, o->tee, rd, sizeof(rd), o->privlevel, NULL)) == NULL)
		return CLI_FAIL;
	if ((req = json_pack("{s:s,s:s,s:s,s:O}", "id", nid, "group",
	    o->group != NULL ? o->group : "default", "tee", o->tee, "evidence", ev)) == NULL) {
		r = cli_fail(cli, TT_ERR_NO_MEMORY, "register");
		goto out;
	}
	if ((r = post_json(o->as, "/v1/nodes", req, o->token, &hs, &res)) != 0) {
		r = cli_fail(cli, r, "register");
		goto out;
	}
	if ((ident = json_string_value(json_object_get(res, "tee_identity"))) == NULL) {
		r = cli_fail(cli, TT_ERR_PROTOCOL, "register (no tee_identity in the response)");
		goto out;
	}
	if (cli->json) {
		printf("{\"node_id\":");
		cli_json_str(stdout, nid);
		printf(",\"tee\":");
		cli_json_str(stdout, o->tee);
		printf(",\"tee_identity\":");
		cli_json_str(stdout, ident);
		printf("}\n");
	} else {
		printf("node %s registered; %s tee_identity %s\n", nid, o->tee, ident);
	}
	r = CLI_OK;
out:
	json_decref(ev);
	json_decref(req);
	json_decref(res);
	return r;
}

static int
as_node_register(struct cli *cli, int argc, char **argv)
{
	struct as_opts o;
	struct tt_agent_identity *id = NULL;
	json_t *req = NULL, *res = NULL, *act;
	char nid[256], *ekpem = NULL, *certpem = NULL, *akb = NULL, *secb = NULL;
	const char *cb, *es, *state;
	uint8_t *blob = NULL, *encsec = NULL, *secret = NULL;
	size_t blob_len = 0, encsec_len = 0, secret_len = 0;
	char **pos;
	long hs = 0;
	int r;

	if ((r = as_parse(cli, argc, argv, &o, 0, &pos, true)) >= 0)
		return r;
	if (o.tee != NULL && cli_tee_is_guest(o.tee)) {
		r = as_node_register_tee(cli, &o);
		goto out;
	}
	if (node_id(o.node, nid, sizeof(nid)) != 0) {
		r = cli_usage(cli, "--node: node id too long");
		goto out;
	}
	if ((r = connect_tpm(cli)) != CLI_OK)
		goto out;
	if ((r = tt_agent_identity(cli->client, &id)) != 0) {
		r = cli_fail(cli, r, "agent identity");
		goto out;
	}
	if ((ekpem = pem("PUBLIC KEY", id->ek_public_der, id->ek_public_der_len)) == NULL ||
	    (akb = b64(id->ak_public, id->ak_public_len)) == NULL ||
	    (id->ek_cert_len > 0 &&
	    (certpem = pem("CERTIFICATE", id->ek_cert, id->ek_cert_len)) == NULL) ||
	    (req = json_pack("{s:s,s:s,s:s,s:s}", "id", nid, "group",
	    o.group != NULL ? o.group : "default", "ek_public", ekpem, "ak_tpm2b", akb)) == NULL ||
	    (certpem != NULL && json_object_set_new(req, "ek_cert", json_string(certpem)) != 0)) {
		r = cli_fail(cli, TT_ERR_NO_MEMORY, "register");
		goto out;
	}
	if ((r = post_json(o.as, "/v1/nodes", req, o.token, &hs, &res)) != 0) {
		r = cli_fail(cli, r, "register");
		goto out;
	}
	act = json_object_get(res, "activation");
	cb = json_string_value(json_object_get(act, "credential_blob"));
	es = json_string_value(json_object_get(act, "encrypted_secret"));
	if (cb == NULL || es == NULL || b64_dec(cb, &blob, &blob_len) != 0 ||
	    b64_dec(es, &encsec, &encsec_len) != 0) {
		r = cli_fail(cli, TT_ERR_PROTOCOL, "register (no activation in the response)");
		goto out;
	}
	if ((r = tt_agent_activate(cli->client, blob, blob_len, encsec, encsec_len, &secret,
	    &secret_len)) != 0) {
		r = cli_fail(cli, r, "activate credential");
		goto out;
	}
	json_decref(req);
	json_decref(res);
	res = NULL;
	if ((secb = b64(secret, secret_len)) == NULL ||
	    (req = json_pack("{s:s,s:s}", "node_id", nid, "secret", secb)) == NULL) {
		r = cli_fail(cli, TT_ERR_NO_MEMORY, "activate");
		goto out;
	}
	/* /v1/activate is public: possession of the secret is the proof */
	if ((r = post_json(o.as, "/v1/activate", req, NULL, &hs, &res)) != 0) {
		r = cli_fail(cli, r, "activate");
		goto out;
	}
	state = json_string_value(json_object_get(res, "ak_state"));
	if (cli->json) {
		printf("{\"node_id\":");
		cli_json_str(stdout, nid);
		printf(",\"ak_state\":");
		cli_json_str(stdout, state != NULL ? state : "");
		printf(",\"ek_cert\":%s}\n", id->ek_cert_len > 0 ? "true" : "false");
	} else {
		printf("node %s registered; AK %s\n", nid, state != NULL ? state : "(unknown)");
	}
	r = CLI_OK;
out:
	if (secb != NULL)
		tt_free_secret(secb, strlen(secb) + 1);
	if (secret != NULL)
		tt_free_secret(secret, secret_len);
	free(blob);
	free(encsec);
	free(ekpem);
	free(certpem);
	free(akb);
	json_decref(req);
	json_decref(res);
	tt_agent_identity_free(id);
	free_token(o.token);
	return r;
}

/* POST a JSON file as it is to `path`. */
static int
as_post_file(struct cli *cli, int argc, char **argv, const char *path)
{
	struct as_opts o;
	struct http_resp hr;
	uint8_t *d = NULL;
	size_t n = 0;
	char **pos;
	int r;

	if ((r = as_parse(cli, argc, argv, &o, 1, &pos, false)) >= 0)
		return r;
	if ((r = cli_read_file(pos[0], AS_FILE_MAX, &d, &n)) != 0) {
		r = cli_fail(cli, r, pos[0]);
		goto out;
	}
	if ((r = http_post(o.as, path, "application/json", d, n, o.token, &hr)) != 0) {
		r = cli_fail(cli, r, path);
		goto out;
	}
	if (hr.body != NULL)
		fwrite(hr.body, 1, hr.len, hr.status / 100 == 2 ? stdout : stderr);
	if (hr.len > 0 && hr.body[hr.len - 1] != '\n')
		fputc('\n', hr.status / 100 == 2 ? stdout : stderr);
	r = hr.status / 100 == 2 ? CLI_OK : CLI_FAIL;
	if (r != CLI_OK)
		fprintf(stderr, "turtle: POST %s: HTTP %ld\n", path, hr.status);
	http_resp_free(&hr);
out:
	if (d != NULL)
		tt_free_secret(d, n);
	free_token(o.token);
	return r;
}

/* turtle as resource put --as URL --admin-token-file F REPO/TYPE/TAG FILE */
static int
as_resource_put(struct cli *cli, int argc, char **argv)
{
	struct as_opts o;
	struct http_resp hr;
	uint8_t *d = NULL;
	size_t n = 0;
	char **pos, path[600];
	int r;

	if ((r = as_parse(cli, argc, argv, &o, 2, &pos, false)) >= 0)
		return r;
	/* turtle-as checks the segments; keep the URL free of query/fragment characters */
	if (strpbrk(pos[0], "?#% ") != NULL ||
	    (size_t)snprintf(path, sizeof(path), "/v1/resources/%s", pos[0]) >= sizeof(path)) {
		r = cli_usage(cli, "resource path: REPO/TYPE/TAG");
		goto out;
	}
	if ((r = cli_read_file(pos[1], AS_FILE_MAX, &d, &n)) != 0) {
		r = cli_fail(cli, r, pos[1]);
		goto out;
	}
	if ((r = http_post(o.as, path, "application/octet-stream", d, n, o.token, &hr)) != 0) {
		r = cli_fail(cli, r, path);
		goto out;
	}
	r = hr.status / 100 == 2 ? CLI_OK : CLI_FAIL;
	if (r != CLI_OK)
		fprintf(stderr, "turtle: POST %s: HTTP %ld%s%s\n", path, hr.status,
		    hr.body != NULL ? ": " : "", hr.body != NULL ? hr.body : "");
	else
		printf("stored %s (%zu bytes)\n", pos[0], n);
	http_resp_free(&hr);
out:
	if (d != NULL)
		tt_free_secret(d, n);
	free_token(o.token);
	return r;
}

int
cmd_as(struct cli *cli, int argc, char **argv)
{
	const char *a = argc > 1 ? argv[1] : "", *b = argc > 2 ? argv[2] : "";

	if (strcmp(a, "node") == 0 && strcmp(b, "register") == 0)
		return as_node_register(cli, argc - 2, argv + 2);
	if (strcmp(a, "refvals") == 0 && strcmp(b, "import") == 0)
		return as_post_file(cli, argc - 2, argv + 2, "/v1/reference-values");
	if (strcmp(a, "policy") == 0 && strcmp(b, "set") == 0)
		return as_post_file(cli, argc - 2, argv + 2, "/v1/policies");
	if (strcmp(a, "resource") == 0 && strcmp(b, "put") == 0)
		return as_resource_put(cli, argc - 2, argv + 2);
	if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
		return cli_common_opt(cli, CLI_OPT_HELP, NULL);
	return cli_usage(cli, "expected 'node register', 'refvals import', 'policy set' or "
	    "'resource put'");
}
