/*
 * Huawei virtCCA tokens (Kunpeng confidential VMs), checked as openEuler secGear's
 * verifier checks them (its service/attestation verifier, facts in
 * ../shared/testdata/virtcca/README.md), and no less:
 *   Huawei Equipment Root CA -> Huawei IT Product CA -> device AIK certificate (valid at
 *   `now`, which secGear does not check)
 *   -> platform token (optional; COSE_Sign1 by the AIK) whose challenge = hash(CVM key)
 *   -> CVM token (COSE_Sign1 by the key in its own claim 44237)
 *   -> the binding is a prefix of the CVM challenge (secGear's comparison).
 * Without a platform token nothing ties the CVM token to the AIK: it still verifies (its
 * signature and claims are sound), but the chain records the missing link and the claims
 * say "vcca.is_platform": false, so a policy must not grant hardware trust to it.
 * With one, its claims become "vcca.platform.*" claims; its lifecycle is reported, not
 * judged here (a debug-state platform signs like a secured one: turtle-as refuses it
 * hardware trust), and recorded in the chain as verified only for the secured state.
 *
 * Evidence: the token's CBOR bytes (tag 399 {44241: CVM token, 44234: platform token}).
 * Collateral: the AIK certificate (DER or PEM) as trust->collateral, or "aik.der" /
 * "aik.pem" in trust->collateral_dir.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "cca.h"
#include "memo.h"
#include "turtle/error.h"
#include "util/b64.h"
#include "verify.h"

static const int64_t cvm_keys[] = { 10, 44235, 44236, 44237, 44238, 44239, 44240 };

/* The CVM token's claim set is closed: any other key is refused (as secGear does). */
static bool
cvm_keys_known(cbor_item_t *map)
{
	struct cbor_pair *h = cbor_map_handle(map);
	int64_t k;

	for (size_t i = 0; i < cbor_map_size(map); i++) {
		bool ok = false;

		if (tt_cbor_int(h[i].key, &k) != 0)
			return false;
		for (size_t j = 0; j < sizeof(cvm_keys) / sizeof(cvm_keys[0]); j++)
			ok = ok || k == cvm_keys[j];
		if (!ok)
			return false;
	}
	return true;
}

/* The payload holds the claims map wrapped in a byte string (twice in secGear's tokens). */
static int
cvm_payload(const struct tt_cose_sign1 *s, cbor_item_t **out)
{
	cbor_item_t *m = NULL, *next;
	const uint8_t *p;
	size_t n;
	int e;

	if ((e = tt_cbor_decode(s->payload, s->payload_len, &m)) != 0)
		return e;
	for (int depth = 0; cbor_isa_bytestring(m); depth++) {
		if (depth == 2 || tt_cbor_bytes(m, 0, &p, &n) != 0 ||
		    (e = tt_cbor_decode(p, n, &next)) != 0) {
			cbor_decref(&m);
			return e != 0 ? e : TT_ERR_DATA_INVALID;
		}
		cbor_decref(&m);
		m = next;
	}
	if (!cbor_isa_map(m)) {
		cbor_decref(&m);
		return TT_ERR_DATA_INVALID;
	}
	*out = m;
	return 0;
}

/* The CVM key: an RSA (or EC) SubjectPublicKeyInfo, else a raw P-521 point. A key seen
 * before is taken from the memo: parsing an RSA key costs as much as verifying with it. */
static int
cvm_key(const uint8_t *p, size_t n, EVP_PKEY **out)
{
	const unsigned char *q = p;
	EVP_PKEY *k = NULL;
	uint8_t mk[32];
	bool memo = tt_verify_memo_key("virtcca-cvm-key", &p, &n, 1, mk) == 0;
	int e = 0;

	if (memo && tt_verify_memo_get(TT_VERIFY_MEMO_KEY, mk, 0, out) && *out != NULL)
		return 0;
	k = d2i_PUBKEY(NULL, &q, (long)n);
	ERR_clear_error();
	if (k == NULL || q != p + n) {
		EVP_PKEY_free(k);
		k = NULL;
		e = n == 133 ? tt_ec_point_pkey(p, n, &k) : TT_ERR_DATA_INVALID;
	}
	if (e != 0)
		return e;
	if (memo)
		tt_verify_memo_put(TT_VERIFY_MEMO_KEY, mk, INT64_MIN, INT64_MAX, k);
	*out = k;
	return 0;
}

/* The AIK certificate's bytes (DER or PEM), from the evidence's collateral or the
 * collateral directory; *d is the caller's to free. */
static int
load_aik(const struct tt_verify_trust *t, uint8_t **d, size_t *n)
{
	int e;

	if (t != NULL && t->collateral != NULL && t->collateral_len > 0) {
		if ((*d = malloc(t->collateral_len)) == NULL)
			return TT_ERR_NO_MEMORY;
		memcpy(*d, t->collateral, t->collateral_len);
		*n = t->collateral_len;
		return 0;
	}
	e = tt_verify_collateral_file(t, "aik.der", d, n);
	if (e == TT_ERR_DOES_NOT_EXIST)
		e = tt_verify_collateral_file(t, "aik.pem", d, n);
	return e;
}

static const char *const ca_names[2][2] = {
	{ "huawei/equipment-root-ca.pem", "huawei/it-product-ca.pem" },
	{ "huawei/eccp521-root.pem", "huawei/eccp521-sub.pem" },
};

/* A Huawei root and sub CA, with what every verification under them needs: the memo key
 * of the pair, their common validity window and the root's fingerprint. */
struct cas {
	STACK_OF(X509) *root, *sub;
	uint8_t key[32];
	int64_t from, to;
	char fp[65];
};

static struct cas builtin;
static int builtin_err;
static pthread_once_t builtin_once = PTHREAD_ONCE_INIT;

static void
cas_clear(struct cas *c)
{
	sk_X509_pop_free(c->root, X509_free);
	sk_X509_pop_free(c->sub, X509_free);
	c->root = c->sub = NULL;
}

static int
parse_anchor(const struct tt_verify_trust *t, const char *name, STACK_OF(X509) **out)
{
	uint8_t *d = NULL;
	size_t n;
	int e;

	if ((e = tt_verify_anchor(t, name, &d, &n)) == 0)
		e = tt_verify_certs_parse(d, n, out);
	free(d);
	return e;
}

static int
cas_parse(const struct tt_verify_trust *t, int ec, struct cas *c)
{
	X509 *all[TT_VERIFY_MEMO_CERTS];
	size_t n = 0;
	int e;

	memset(c, 0, sizeof(*c));
	if ((e = parse_anchor(t, ca_names[ec][0], &c->root)) != 0 ||
	    (e = parse_anchor(t, ca_names[ec][1], &c->sub)) != 0)
		goto out;
	for (int i = 0; i < sk_X509_num(c->root) && n < TT_VERIFY_MEMO_CERTS; i++)
		all[n++] = sk_X509_value(c->root, i);
	for (int i = 0; i < sk_X509_num(c->sub) && n < TT_VERIFY_MEMO_CERTS; i++)
		all[n++] = sk_X509_value(c->sub, i);
	if (n != (size_t)sk_X509_num(c->root) + (size_t)sk_X509_num(c->sub)) {
		e = TT_ERR_LIMIT;
		goto out;
	}
	if ((e = tt_verify_memo_certs_key("virtcca-cas", all, n, c->key, &c->from,
	    &c->to)) != 0)
		goto out;
	if (tt_verify_x509_sha256(sk_X509_value(c->root, 0), c->fp) != 0)
		snprintf(c->fp, sizeof(c->fp), "?");
out:
	if (e != 0)
		cas_clear(c);
	return e;
}

static void
builtin_init(void)
{
	builtin_err = cas_parse(NULL, 0, &builtin);
}

/* The Huawei CAs for an RSA (ec 0) or EC (ec 1) AIK, into *c (cas_clear it). The built-in
 * RSA pair is parsed once; an anchors directory is read on every call, since its files
 * may change. */
static int
load_cas(const struct tt_verify_trust *t, int ec, struct cas *c)
{
	if ((t == NULL || t->anchors_dir == NULL) && ec == 0) {
		pthread_once(&builtin_once, builtin_init);
		if (builtin_err != 0)
			return builtin_err;
		*c = builtin;
		c->root = c->sub = NULL;
		if ((c->root = X509_chain_up_ref(builtin.root)) == NULL ||
		    (c->sub = X509_chain_up_ref(builtin.sub)) == NULL) {
			cas_clear(c);
			return TT_ERR_NO_MEMORY;
		}
		return 0;
	}
	return cas_parse(t, ec, c);
}

/* The memo key of an AIK's bytes under a CA pair. */
static int
aik_memo_key(const struct cas *c, const uint8_t *aik, size_t aikn, uint8_t key[32])
{
	const uint8_t *part[2] = { c->key, aik };
	size_t len[2] = { sizeof(c->key), aikn };

	return tt_verify_memo_key("virtcca-aik", part, len, 2, key);
}

/* The AIK up to Huawei's root through the IT Product CA, at `now`; *aikkey receives its
 * public key. RSA AIKs only by default: the P-521 pair secGear names is not public (an
 * anchors directory may supply it). A chain that verified before (the same AIK bytes under
 * the same CAs, `now` inside all their validity periods) is taken from the memo. */
static int
check_aik(const struct tt_verify_in *in, struct tt_verify_result *res, const uint8_t *aikd,
    size_t aikn, EVP_PKEY **aikkey)
{
	STACK_OF(X509) *sk = NULL;
	struct cas c = { 0 };
	X509 *aik = NULL;
	const char *why = NULL;
	uint8_t key[32];
	bool hit = false;
	int e;
	char detail[120];

	*aikkey = NULL;
	for (int ec = 0; ec < 2 && !hit; ec++) {
		if (load_cas(in->trust, ec, &c) != 0)
			continue;
		hit = aik_memo_key(&c, aikd, aikn, key) == 0 &&
		    tt_verify_memo_get(TT_VERIFY_MEMO_CHAIN, key, in->now, aikkey) &&
		    *aikkey != NULL;
		if (!hit)
			cas_clear(&c);
	}
	if (!hit) {
		EVP_PKEY *k;
		int ec;

		if ((e = tt_verify_certs_parse(aikd, aikn, &sk)) != 0 || sk_X509_num(sk) != 1) {
			e = tt_verify_fail(res, e != 0 ? e : TT_ERR_DATA_INVALID,
			    "no usable AIK certificate supplied");
			goto out;
		}
		aik = sk_X509_value(sk, 0);
		k = X509_get0_pubkey(aik);
		ec = k != NULL && EVP_PKEY_get_base_id(k) == EVP_PKEY_EC;
		if ((e = load_cas(in->trust, ec, &c)) != 0) {
			e = tt_verify_fail(res, e, "no Huawei root and sub CA for a%s AIK",
			    ec ? "n EC" : "n RSA");
			goto out;
		}
	}
	snprintf(detail, sizeof(detail), "Huawei Equipment CA sha256 %s", c.fp);
	if ((e = tt_verify_link(res, "anchor", "Huawei root", true, detail)) != 0)
		goto out;
	/* The root alone is the anchor; the sub CA must verify under it. */
	if (!hit && (e = tt_verify_x509_chain(aik, c.sub, c.root, NULL, in->now, &why)) != 0) {
		tt_verify_link(res, "certificate", "AIK", false, why);
		e = tt_verify_fail(res, e, "AIK certificate does not chain to the Huawei root "
		    "at the given time: %s", why != NULL ? why : "?");
		goto out;
	}
	if ((e = tt_verify_link(res, "certificate", "Huawei IT Product CA", true,
	    "signed by the root")) != 0 ||
	    (e = tt_verify_link(res, "certificate", "AIK", true, hit ?
	    "signed by the IT Product CA, valid at the given time (verified before)" :
	    "signed by the IT Product CA, valid at the given time")) != 0)
		goto out;
	if (!hit) {
		int64_t af, at;

		if ((*aikkey = X509_get_pubkey(aik)) == NULL) {
			e = tt_verify_fail(res, TT_ERR_DATA_INVALID, "the AIK has no usable key");
			goto out;
		}
		if (aik_memo_key(&c, aikd, aikn, key) == 0 &&
		    tt_verify_x509_window(&aik, 1, &af, &at) == 0)
			tt_verify_memo_put(TT_VERIFY_MEMO_CHAIN, key, c.from > af ? c.from : af,
			    c.to < at ? c.to : at, *aikkey);
	}
out:
	if (e != 0) {
		EVP_PKEY_free(*aikkey);
		*aikkey = NULL;
	}
	sk_X509_pop_free(sk, X509_free);
	cas_clear(&c);
	return e;
}

/* secGear binds by prefix: the given challenge is the first bytes of the token's. */
static int
check_prefix(const struct tt_verify_in *in, struct tt_verify_result *res,
    const uint8_t ch[64])
{
	bool ok;
	int e;

	if (in->flags & TT_VERIFY_F_NO_BINDING)
		return tt_verify_link_skipped(res, "binding", "CVM challenge",
		    "no challenge given by the caller");
	ok = in->binding_len > 0 && in->binding_len <= 64 &&
	    CRYPTO_memcmp(ch, in->binding, in->binding_len) == 0;
	if ((e = tt_verify_link(res, "binding", "CVM challenge", ok,
	    ok ? "begins with the expected binding" : "differs from the expected binding")) != 0)
		return e;
	return ok ? 0 : tt_verify_fail(res, TT_ERR_NOT_AUTHENTICATED,
	    "CVM challenge does not begin with the expected binding");
}

/* A base64 member of the CCA-shaped platform claims as hex (secGear's form); absent
 * members stay absent. */
static int
b64_hex(json_t *dst, const char *k, const json_t *src, const char *from)
{
	const char *s = json_string_value(json_object_get(src, from));
	size_t n, max;
	uint8_t *b;
	int e;

	if (s == NULL)
		return 0;
	/* Sized from the text: a platform's config claim has no fixed length. */
	max = tt_b64_dec_max(strlen(s));
	if ((b = malloc(max > 0 ? max : 1)) == NULL)
		return TT_ERR_NO_MEMORY;
	if (tt_b64_decode(s, strlen(s), TT_B64_STD, b, max, &n) != 0)
		e = TT_ERR_DATA_INVALID;
	else
		e = json_object_set_new(dst, k, tt_verify_hex(b, n)) != 0 ? TT_ERR_NO_MEMORY : 0;
	free(b);
	return e;
}

static int
copy_member(json_t *dst, const char *k, const json_t *src, const char *from)
{
	json_t *v = json_object_get(src, from);

	return v == NULL ? 0 : json_object_set(dst, k, v) != 0 ? TT_ERR_NO_MEMORY : 0;
}

/*
 * The platform token's claims under secGear's "vcca.platform." names, hex values. The
 * software components keep secGear's member names ("firware_name" is its spelling) and
 * add the signer id. The lifecycle is a number with its PSA state name beside it; it is a
 * claim, not a check: a platform in a debug or provisioning state signs like a secured
 * one, so turtle-as's appraisal requires the secured state (verifier_tee.c).
 */
static int
platform_json(json_t *o, const json_t *plat)
{
	const json_t *sw = json_object_get(plat, "cca-platform-sw-components"), *c;
	json_int_t lc = json_integer_value(json_object_get(plat, "cca-platform-lifecycle"));
	json_t *arr = json_array(), *e = NULL;
	size_t i;
	int r = TT_ERR_NO_MEMORY;

	if (arr == NULL)
		goto out;
	json_array_foreach(sw, i, c) {
		if ((e = json_object()) == NULL ||
		    (r = copy_member(e, "firware_name", c, "measurement-type")) != 0 ||
		    (r = b64_hex(e, "measurement", c, "measurement-value")) != 0 ||
		    (r = copy_member(e, "firware_version", c, "version")) != 0 ||
		    (r = b64_hex(e, "signer_id", c, "signer-id")) != 0)
			goto out;
		r = TT_ERR_NO_MEMORY;
		if (json_array_append_new(arr, e) != 0) {
			e = NULL;
			goto out;
		}
		e = NULL;
	}
	if ((r = copy_member(o, "vcca.platform.profile", plat, "cca-platform-profile")) != 0 ||
	    (r = b64_hex(o, "vcca.platform.challenge", plat, "cca-platform-challenge")) != 0 ||
	    (r = b64_hex(o, "vcca.platform.implementation_id", plat,
	    "cca-platform-implementation-id")) != 0 ||
	    (r = b64_hex(o, "vcca.platform.instance_id", plat, "cca-platform-instance-id")) != 0 ||
	    (r = b64_hex(o, "vcca.platform.config", plat, "cca-platform-config")) != 0 ||
	    (r = copy_member(o, "vcca.platform.lifecycle", plat, "cca-platform-lifecycle")) != 0 ||
	    (r = copy_member(o, "vcca.platform.hash_algo", plat, "cca-platform-hash-algo-id")) != 0 ||
	    (r = copy_member(o, "vcca.platform.verification_service", plat,
	    "cca-platform-service-indicator")) != 0)
		goto out;
	r = TT_ERR_NO_MEMORY;
	if (json_object_set_new(o, "vcca.platform.lifecycle_state",
	    json_string(tt_cca_lifecycle_name(lc))) != 0 ||
	    json_object_set(o, "vcca.platform.measure_value", arr) != 0)
		goto out;
	r = 0;
out:
	json_decref(e);
	json_decref(arr);
	return r;
}

static int
claims_json(const struct tt_cca_realm *r, const json_t *plat, json_t **out)
{
	json_t *o = json_pack("{s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:b,s:o,s:o}",
	    "tee", "virtcca",
	    "vcca.cvm.challenge", tt_verify_hex(r->challenge, 64),
	    "vcca.cvm.rpv", tt_verify_hex(r->rpv, 64),
	    "vcca.cvm.rim", tt_verify_hex(r->rim, r->rim_len),
	    "vcca.cvm.rem.0", tt_verify_hex(r->rem[0], r->rem_len[0]),
	    "vcca.cvm.rem.1", tt_verify_hex(r->rem[1], r->rem_len[1]),
	    "vcca.cvm.rem.2", tt_verify_hex(r->rem[2], r->rem_len[2]),
	    "vcca.cvm.rem.3", tt_verify_hex(r->rem[3], r->rem_len[3]),
	    "vcca.is_platform", plat != NULL,
	    "report_data", tt_verify_hex(r->challenge, 64),
	    "init_data", tt_verify_hex(r->rpv, 64));
	int e;

	if (o == NULL)
		return TT_ERR_NO_MEMORY;
	if (plat != NULL && (e = platform_json(o, plat)) != 0) {
		json_decref(o);
		return e;
	}
	*out = o;
	return 0;
}

static int
virtcca_verify(const struct tt_verify_in *in, struct tt_verify_result *res)
{
	struct tt_cca_collection col = { 0 };
	struct tt_cose_sign1 ps, cs;
	struct tt_cca_realm cvm;
	cbor_item_t *pitem = NULL, *citem = NULL, *pmap = NULL, *cmap = NULL;
	EVP_PKEY *ck = NULL, *aikkey = NULL;
	uint8_t *aikd = NULL;
	size_t aikn = 0;
	json_t *plat = NULL;
	uint8_t pch[64], inst[33], h[64];
	size_t pchn = 0, hn;
	json_int_t lc;
	char detail[96];
	int e;

	if ((e = tt_cca_collection_parse(in->evidence, in->evidence_len, &col)) != 0)
		return tt_verify_fail(res, e, "not a virtCCA token (tag 399 with a CVM token)");
	if (col.realm == NULL) {
		e = tt_verify_fail(res, TT_ERR_DATA_INVALID, "no CVM token (key 44241)");
		goto out;
	}
	if ((e = tt_cose_sign1_parse(col.realm, col.realm_len, &citem, &cs)) != 0 ||
	    (e = cvm_payload(&cs, &cmap)) != 0 || (e = tt_cbor_map_unique(cmap)) != 0 ||
	    (e = tt_cca_realm_claims(cmap, &cvm)) != 0) {
		e = tt_verify_fail(res, e, "malformed CVM token");
		goto out;
	}
	if (!cvm_keys_known(cmap)) {
		e = tt_verify_fail(res, TT_ERR_DATA_INVALID, "unknown claim in the CVM token");
		goto out;
	}
	if ((e = load_aik(in->trust, &aikd, &aikn)) != 0) {
		e = tt_verify_fail(res, e, "no usable AIK certificate supplied");
		goto out;
	}
	if ((e = check_aik(in, res, aikd, aikn, &aikkey)) != 0)
		goto out;

	if (col.platform != NULL) {
		if ((e = tt_cose_sign1_parse(col.platform, col.platform_len, &pitem, &ps)) != 0 ||
		    (e = cvm_payload(&ps, &pmap)) != 0 ||
		    (e = tt_cca_platform_claims(pmap, &plat, pch, &pchn, inst)) != 0) {
			e = tt_verify_fail(res, e, "malformed platform token");
			goto out;
		}
		if (tt_cose_sign1_verify(&ps, aikkey) != 0) {
			tt_verify_link(res, "evidence", "platform token", false, "signature");
			e = tt_verify_fail(res, TT_ERR_INVALID_SIGNATURE,
			    "platform token signature does not verify with the AIK");
			goto out;
		}
		if ((e = tt_verify_link(res, "evidence", "platform token", true,
		    "COSE_Sign1 by the AIK")) != 0)
			goto out;
		if ((e = tt_cca_hash(cvm.rak_hash_alg, cvm.rak, cvm.rak_len, h, &hn)) != 0 ||
		    hn != pchn || CRYPTO_memcmp(h, pch, hn) != 0) {
			tt_verify_link(res, "key", "CVM key", false, "not the platform challenge");
			e = tt_verify_fail(res, TT_ERR_INVALID_SIGNATURE,
			    "platform challenge is not the hash of the CVM key");
			goto out;
		}
		if ((e = tt_verify_link(res, "key", "CVM key", true,
		    "its hash is the platform token's challenge")) != 0)
			goto out;
		/* A claim, not a signature check: recorded so that --explain shows it. */
		lc = json_integer_value(json_object_get(plat, "cca-platform-lifecycle"));
		snprintf(detail, sizeof(detail), "0x%04x (%s)%s", (unsigned)lc,
		    tt_cca_lifecycle_name(lc), tt_cca_lifecycle_secured(lc) ? "" :
		    ": not the secured state, no hardware trust");
		if ((e = tt_cca_lifecycle_secured(lc) ?
		    tt_verify_link(res, "claim", "platform lifecycle", true, detail) :
		    tt_verify_link_skipped(res, "claim", "platform lifecycle", detail)) != 0)
			goto out;
	} else if ((e = tt_verify_link_skipped(res, "evidence", "platform token",
	    "absent: nothing binds the CVM token to the AIK")) != 0) {
		goto out;
	}
	if ((e = cvm_key(cvm.rak, cvm.rak_len, &ck)) != 0 || tt_cose_sign1_verify(&cs, ck) != 0) {
		tt_verify_link(res, "evidence", "CVM token", false, "signature");
		e = tt_verify_fail(res, TT_ERR_INVALID_SIGNATURE,
		    "CVM token signature does not verify with its key");
		goto out;
	}
	if ((e = tt_verify_link(res, "evidence", "CVM token", true,
	    "COSE_Sign1 by the key in its claim 44237")) != 0 ||
	    (e = check_prefix(in, res, cvm.challenge)) != 0 ||
	    (e = tt_verify_check_init_data(in, res, cvm.rpv, 64)) != 0)
		goto out;
	if ((e = claims_json(&cvm, col.platform != NULL ? plat : NULL, &res->claims)) != 0)
		e = tt_verify_fail(res, e, e == TT_ERR_NO_MEMORY ? "out of memory" :
		    "malformed platform claims");
out:
	json_decref(plat);
	EVP_PKEY_free(ck);
	EVP_PKEY_free(aikkey);
	free(aikd);
	if (pmap != NULL)
		cbor_decref(&pmap);
	if (cmap != NULL)
		cbor_decref(&cmap);
	if (pitem != NULL)
		cbor_decref(&pitem);
	if (citem != NULL)
		cbor_decref(&citem);
	tt_cca_collection_clear(&col);
	return e;
}

const struct tt_verifier tt_verifier_virtcca = {
	.version = TT_VERIFY_ABI,
	.tee = "virtcca",
	.name = "Huawei virtCCA",
	.caps = TT_VERIFY_CAP_BINDING | TT_VERIFY_CAP_CHAIN | TT_VERIFY_CAP_COLLATERAL,
	.verify = virtcca_verify,
};
