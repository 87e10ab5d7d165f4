/*
 * Arm CCA attestation tokens (Arm RMM specification, "Realm Management Monitor", and the
 * CCA platform token profile), verified offline:
 *   CPAK (trust anchor named by the platform's instance id, `arm/cca-ta.json`)
 *   -> platform token (COSE_Sign1)
 *   -> its challenge = hash(RAK) binds the realm attestation key
 *   -> realm token (COSE_Sign1 by the RAK)
 *   -> realm challenge carries the binding, personalization value the init data.
 * Evidence: the CBOR token (tag 399). Claims: Trustee's cca verifier's names (realm and
 * platform objects with Veraison's kebab-case claim names, base64 values; report_data and
 * init_data in hex), with the platform's software components added.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "cca.h"
#include "turtle/error.h"
#include "util/b64.h"
#include "util/hex.h"
#include "verify.h"

/* Claim keys (CCA platform and realm token profiles). */
#define CCA_PLATFORM 44234
#define CCA_REALM 44241
#define R_CHALLENGE 10
#define R_RPV 44235
#define R_HASH_ALG 44236
#define R_RAK 44237
#define R_RIM 44238
#define R_REM 44239
#define R_RAK_HASH_ALG 44240
#define R_PROFILE 44241
#define P_PROFILE 265
#define P_CHALLENGE 10
#define P_IMPL_ID 2396
#define P_INST_ID 256
#define P_CONFIG 2401
#define P_LIFECYCLE 2395
#define P_SWCOMP 2399
#define P_VSI 2400
#define P_HASH_ALG 2402

void
tt_cca_collection_clear(struct tt_cca_collection *c)
{
	if (c != NULL && c->root != NULL)
		cbor_decref(&c->root);
	if (c != NULL)
		memset(c, 0, sizeof(*c));
}

int
tt_cca_collection_parse(const uint8_t *p, size_t len, struct tt_cca_collection *out)
{
	struct tt_cca_collection c = { 0 };
	cbor_item_t *map = NULL;
	struct cbor_pair *h;
	int64_t k;
	int e;

	if (len > TT_CCA_MAX_TOKEN)
		return TT_ERR_LIMIT;
	if ((e = tt_cbor_decode(p, len, &c.root)) != 0)
		return e;
	e = TT_ERR_DATA_INVALID;
	if (!cbor_isa_tag(c.root) || cbor_tag_value(c.root) != 399)
		goto out;
	map = cbor_tag_item(c.root);
	if (tt_cbor_map_unique(map) != 0)
		goto out;
	h = cbor_map_handle(map);
	for (size_t i = 0; i < cbor_map_size(map); i++) {
		tt_cbor_int(h[i].key, &k);
		if (k == CCA_PLATFORM) {
			if (tt_cbor_bytes(h[i].value, 0, &c.platform, &c.platform_len) != 0)
				goto out;
		} else if (k == CCA_REALM) {
			if (tt_cbor_bytes(h[i].value, 0, &c.realm, &c.realm_len) != 0)
				goto out;
		} else {
			goto out;
		}
	}
	*out = c;
	c.root = NULL;
	e = 0;
out:
	if (map != NULL)
		cbor_decref(&map);
	tt_cca_collection_clear(&c);
	return e;
}

int
tt_cca_hash(const char *alg, const uint8_t *p, size_t n, uint8_t *out, size_t *outn)
{
	const EVP_MD *md;
	unsigned int l = 0;

	if (strcmp(alg, "sha-256") == 0)
		md = EVP_sha256();
	else if (strcmp(alg, "sha-384") == 0)
		md = EVP_sha384();
	else if (strcmp(alg, "sha-512") == 0)
		md = EVP_sha512();
	else
		return TT_ERR_NOT_SUPPORTED;
	if (EVP_Digest(p, n, out, &l, md, NULL) != 1)
		return TT_ERR_NO_MEMORY;
	*outn = l;
	return 0;
}

static int
text_into(cbor_item_t *it, char *out, size_t size)
{
	char *s = NULL;
	int e;

	if ((e = tt_cbor_text(it, size - 1, &s)) != 0)
		return e;
	memcpy(out, s, strlen(s) + 1);
	free(s);
	return 0;
}

/* A measurement of 32, 48 or 64 bytes. */
static int
meas_into(cbor_item_t *it, uint8_t *out, size_t *n)
{
	const uint8_t *p;
	size_t l;

	if (tt_cbor_bytes(it, 0, &p, &l) != 0 || (l != 32 && l != 48 && l != 64))
		return TT_ERR_DATA_INVALID;
	memcpy(out, p, l);
	*n = l;
	return 0;
}

int
tt_cca_realm_claims(cbor_item_t *map, struct tt_cca_realm *out)
{
	struct tt_cca_realm r;
	const uint8_t *p;
	cbor_item_t **rem, *it;
	size_t n;

	memset(&r, 0, sizeof(r));
	if (tt_cbor_map_unique(map) != 0)
		return TT_ERR_DATA_INVALID;
	if (tt_cbor_bytes(tt_cbor_map_get(map, R_CHALLENGE), 64, &p, &n) != 0)
		return TT_ERR_DATA_INVALID;
	memcpy(r.challenge, p, 64);
	if (tt_cbor_bytes(tt_cbor_map_get(map, R_RPV), 64, &p, &n) != 0)
		return TT_ERR_DATA_INVALID;
	memcpy(r.rpv, p, 64);
	if (tt_cbor_bytes(tt_cbor_map_get(map, R_RAK), 0, &r.rak, &r.rak_len) != 0 ||
	    r.rak_len == 0)
		return TT_ERR_DATA_INVALID;
	if (text_into(tt_cbor_map_get(map, R_HASH_ALG), r.hash_alg, sizeof(r.hash_alg)) != 0 ||
	    text_into(tt_cbor_map_get(map, R_RAK_HASH_ALG), r.rak_hash_alg,
	    sizeof(r.rak_hash_alg)) != 0)
		return TT_ERR_DATA_INVALID;
	if (meas_into(tt_cbor_map_get(map, R_RIM), r.rim, &r.rim_len) != 0)
		return TT_ERR_DATA_INVALID;
	it = tt_cbor_map_get(map, R_REM);
	if (it == NULL || !cbor_isa_array(it) || !cbor_array_is_definite(it) ||
	    cbor_array_size(it) != 4)
		return TT_ERR_DATA_INVALID;
	rem = cbor_array_handle(it);
	for (int i = 0; i < 4; i++)
		if (meas_into(rem[i], r.rem[i], &r.rem_len[i]) != 0)
			return TT_ERR_DATA_INVALID;
	if ((it = tt_cbor_map_get(map, R_PROFILE)) != NULL &&
	    text_into(it, r.profile, sizeof(r.profile)) != 0)
		return TT_ERR_DATA_INVALID;
	*out = r;
	return 0;
}

static json_t *
b64j(const uint8_t *p, size_t n)
{
	char *s = NULL;
	json_t *j;

	if (tt_b64_encode_dup(p, n, TT_B64_STD, &s) != 0)
		return NULL;
	j = json_string(s);
	free(s);
	return j;
}

static int
set_text(json_t *o, const char *k, cbor_item_t *it, size_t max)
{
	char *s = NULL;
	int e;

	if ((e = tt_cbor_text(it, max, &s)) != 0)
		return e;
	e = json_object_set_new(o, k, json_string(s)) != 0 ? TT_ERR_NO_MEMORY : 0;
	free(s);
	return e;
}

static int
set_bytes(json_t *o, const char *k, cbor_item_t *it, size_t want)
{
	const uint8_t *p;
	size_t n;

	if (tt_cbor_bytes(it, want, &p, &n) != 0)
		return TT_ERR_DATA_INVALID;
	return json_object_set_new(o, k, b64j(p, n)) != 0 ? TT_ERR_NO_MEMORY : 0;
}

static int
swcomp_json(cbor_item_t *arr, json_t **out)
{
	json_t *a = json_array(), *c = NULL;
	cbor_item_t **h, *it;
	int e = TT_ERR_DATA_INVALID;

	if (a == NULL)
		return TT_ERR_NO_MEMORY;
	if (arr == NULL || !cbor_isa_array(arr) || !cbor_array_is_definite(arr) ||
	    cbor_array_size(arr) > TT_CCA_MAX_SWCOMP)
		goto out;
	h = cbor_array_handle(arr);
	for (size_t i = 0; i < cbor_array_size(arr); i++) {
		if (tt_cbor_map_unique(h[i]) != 0 || (c = json_object()) == NULL)
			goto out;
		/* measurement value (2) and signer id (5) are mandatory; type (1), version (4)
		 * and hash algorithm (6) optional. */
		if (set_bytes(c, "measurement-value", tt_cbor_map_get(h[i], 2), 0) != 0 ||
		    set_bytes(c, "signer-id", tt_cbor_map_get(h[i], 5), 0) != 0)
			goto out;
		if ((it = tt_cbor_map_get(h[i], 1)) != NULL &&
		    set_text(c, "measurement-type", it, 64) != 0)
			goto out;
		if ((it = tt_cbor_map_get(h[i], 4)) != NULL && set_text(c, "version", it, 64) != 0)
			goto out;
		if ((it = tt_cbor_map_get(h[i], 6)) != NULL &&
		    set_text(c, "measurement-description", it, 64) != 0)
			goto out;
		if (json_array_append_new(a, c) != 0) {
			c = NULL;
			e = TT_ERR_NO_MEMORY;
			goto out;
		}
		c = NULL;
	}
	*out = a;
	a = NULL;
	e = 0;
out:
	json_decref(c);
	json_decref(a);
	return e;
}

bool
tt_cca_lifecycle_secured(int64_t lc)
{
	return lc >= 0x3000 && lc <= 0x30FF;
}

const char *
tt_cca_lifecycle_name(int64_t lc)
{
	static const char *const names[] = { "unknown", "assembly-and-test",
		"rot-provisioning", "secured", "non-rot-debug", "recoverable-rot-debug",
		"decommissioned" };

	if (lc < 0 || lc > 0x60FF || (lc & 0x0F00) != 0)
		return "invalid";
	return names[lc >> 12];
}

int
tt_cca_platform_claims(cbor_item_t *map, json_t **out, uint8_t *challenge,
    size_t *challenge_len, uint8_t instance_id[33])
{
	json_t *o = json_object(), *sw = NULL;
	const uint8_t *p;
	cbor_item_t *it;
	int64_t lc;
	size_t n;
	int e = TT_ERR_DATA_INVALID;

	if (o == NULL)
		return TT_ERR_NO_MEMORY;
	if (tt_cbor_map_unique(map) != 0)
		goto out;
	if (tt_cbor_bytes(tt_cbor_map_get(map, P_CHALLENGE), 0, &p, &n) != 0 ||
	    (n != 32 && n != 48 && n != 64))
		goto out;
	memcpy(challenge, p, n);
	*challenge_len = n;
	if (tt_cbor_bytes(tt_cbor_map_get(map, P_INST_ID), 33, &p, &n) != 0 || p[0] != 0x01)
		goto out;
	memcpy(instance_id, p, 33);
	if (set_bytes(o, "cca-platform-challenge", tt_cbor_map_get(map, P_CHALLENGE), 0) ||
	    set_bytes(o, "cca-platform-instance-id", tt_cbor_map_get(map, P_INST_ID), 33) ||
	    set_bytes(o, "cca-platform-implementation-id", tt_cbor_map_get(map, P_IMPL_ID),
	    32) ||
	    set_bytes(o, "cca-platform-config", tt_cbor_map_get(map, P_CONFIG), 0) ||
	    set_text(o, "cca-platform-profile", tt_cbor_map_get(map, P_PROFILE), 128) ||
	    set_text(o, "cca-platform-hash-algo-id", tt_cbor_map_get(map, P_HASH_ALG), 32))
		goto out;
	if (tt_cbor_int(tt_cbor_map_get(map, P_LIFECYCLE), &lc) != 0 || lc < 0 || lc > 0xffff)
		goto out;
	if (json_object_set_new(o, "cca-platform-lifecycle", json_integer(lc)) != 0) {
		e = TT_ERR_NO_MEMORY;
		goto out;
	}
	if ((it = tt_cbor_map_get(map, P_VSI)) != NULL &&
	    set_text(o, "cca-platform-service-indicator", it, 256) != 0)
		goto out;
	if ((e = swcomp_json(tt_cbor_map_get(map, P_SWCOMP), &sw)) != 0)
		goto out;
	if (json_object_set_new(o, "cca-platform-sw-components", sw) != 0) {
		e = TT_ERR_NO_MEMORY;
		goto out;
	}
	*out = o;
	o = NULL;
	e = 0;
out:
	json_decref(o);
	return e;
}

int
tt_cca_rak_pkey(const uint8_t *p, size_t n, EVP_PKEY **out)
{
	cbor_item_t *k = NULL;
	const uint8_t *x, *y;
	size_t xn, yn, c;
	int64_t kty, crv;
	uint8_t pt[133];
	int e;

	if (n > 0 && p[0] == 0x04)
		return tt_ec_point_pkey(p, n, out);
	/* COSE_Key (RFC 9053 7.1.1): {1: 2 (EC2), -1: crv, -2: x, -3: y}. */
	if ((e = tt_cbor_decode(p, n, &k)) != 0)
		return e;
	e = TT_ERR_DATA_INVALID;
	if (tt_cbor_map_unique(k) != 0 || tt_cbor_int(tt_cbor_map_get(k, 1), &kty) != 0 ||
	    kty != 2 || tt_cbor_int(tt_cbor_map_get(k, -1), &crv) != 0)
		goto out;
	c = crv == 1 ? 32 : crv == 2 ? 48 : crv == 3 ? 66 : 0;
	if (c == 0 || tt_cbor_bytes(tt_cbor_map_get(k, -2), c, &x, &xn) != 0 ||
	    tt_cbor_bytes(tt_cbor_map_get(k, -3), c, &y, &yn) != 0)
		goto out;
	pt[0] = 0x04;
	memcpy(pt + 1, x, c);
	memcpy(pt + 1 + c, y, c);
	e = tt_ec_point_pkey(pt, 1 + 2 * c, out);
out:
	cbor_decref(&k);
	return e;
}

/* The CPAK for an instance id: arm/cca-ta.json is a Veraison trust-anchor array
 * [{"instance-id": hex, "implementation-id": hex, "pkey": JWK}] or one bare JWK (trusted
 * for any instance, as Trustee's and Veraison's examples give a CPAK). */
static int
find_cpak(const struct tt_verify_trust *t, const uint8_t inst[33], const uint8_t impl[32],
    EVP_PKEY **key, char *detail, size_t dsize)
{
	uint8_t *d = NULL, id[64];
	size_t n, idn;
	json_t *ta = NULL, *ent;
	json_error_t je;
	size_t i;
	int e;

	if ((e = tt_verify_anchor(t, "arm/cca-ta.json", &d, &n)) != 0)
		return e;
	ta = json_loadb((const char *)d, n, JSON_REJECT_DUPLICATES, &je);
	free(d);
	if (ta == NULL)
		return TT_ERR_DATA_INVALID;
	if (json_is_object(ta)) {
		e = tt_jwk_ec_pkey(ta, key);
		snprintf(detail, dsize, "CPAK given as a bare key");
		goto out;
	}
	e = TT_ERR_DOES_NOT_EXIST;
	json_array_foreach(ta, i, ent) {
		const char *ii = json_string_value(json_object_get(ent, "instance-id"));
		const char *im = json_string_value(json_object_get(ent, "implementation-id"));

		if (ii == NULL || tt_hex_decode(ii, strlen(ii), id, sizeof(id), &idn) != 0 ||
		    idn != 33 || CRYPTO_memcmp(id, inst, 33) != 0)
			continue;
		if (im != NULL && (tt_hex_decode(im, strlen(im), id, sizeof(id), &idn) != 0 ||
		    idn != 32 || impl == NULL || CRYPTO_memcmp(id, impl, 32) != 0)) {
			e = TT_ERR_NOT_PERMITTED;   /* the instance's anchor names another class */
			break;
		}
		e = tt_jwk_ec_pkey(json_object_get(ent, "pkey"), key);
		snprintf(detail, dsize, "CPAK of instance %.66s", ii);
		break;
	}
out:
	json_decref(ta);
	return e;
}

static int
realm_json(const struct tt_cca_realm *r, json_t **out)
{
	json_t *rem = json_array(), *o;

	if (rem == NULL)
		return TT_ERR_NO_MEMORY;
	for (int i = 0; i < 4; i++)
		if (json_array_append_new(rem, b64j(r->rem[i], r->rem_len[i])) != 0) {
			json_decref(rem);
			return TT_ERR_NO_MEMORY;
		}
	o = json_pack("{s:o,s:o,s:o,s:s,s:o,s:o,s:s}",
	    "cca-realm-challenge", b64j(r->challenge, 64),
	    "cca-realm-personalization-value", b64j(r->rpv, 64),
	    "cca-realm-initial-measurement", b64j(r->rim, r->rim_len),
	    "cca-realm-hash-algo-id", r->hash_alg,
	    "cca-realm-extensible-measurements", rem,
	    "cca-realm-public-key", b64j(r->rak, r->rak_len),
	    "cca-realm-public-key-hash-algo-id", r->rak_hash_alg);
	if (o == NULL)
		return TT_ERR_NO_MEMORY;
	if (r->profile[0] != '\0' &&
	    json_object_set_new(o, "cca-realm-profile", json_string(r->profile)) != 0) {
		json_decref(o);
		return TT_ERR_NO_MEMORY;
	}
	*out = o;
	return 0;
}

/* Decode a COSE_Sign1's payload into a claims map (one byte-string wrapping allowed). */
static int
payload_map(const struct tt_cose_sign1 *s, cbor_item_t **out)
{
	cbor_item_t *m = NULL, *inner = NULL;
	const uint8_t *p;
	size_t n;
	int e;

	if ((e = tt_cbor_decode(s->payload, s->payload_len, &m)) != 0)
		return e;
	if (cbor_isa_bytestring(m)) {
		if (tt_cbor_bytes(m, 0, &p, &n) != 0 || (e = tt_cbor_decode(p, n, &inner)) != 0) {
			cbor_decref(&m);
			return e != 0 ? e : TT_ERR_DATA_INVALID;
		}
		cbor_decref(&m);
		m = inner;
	}
	if (!cbor_isa_map(m)) {
		cbor_decref(&m);
		return TT_ERR_DATA_INVALID;
	}
	*out = m;
	return 0;
}

static int
cca_verify(const struct tt_verify_in *in, struct tt_verify_result *res)
{
	struct tt_cca_collection col = { 0 };
	struct tt_cose_sign1 ps, rs;
	struct tt_cca_realm realm;
	cbor_item_t *pitem = NULL, *ritem = NULL, *pmap = NULL, *rmap = NULL;
	EVP_PKEY *cpak = NULL, *rak = NULL;
	json_t *plat = NULL, *rj = NULL;
	uint8_t pch[64], inst[33], impl[32], h[64];
	size_t pchn = 0, hn = 0, n;
	const uint8_t *ip;
	char detail[160];
	int e;

	if ((e = tt_cca_collection_parse(in->evidence, in->evidence_len, &col)) != 0)
		return tt_verify_fail(res, e, "not a CCA token (tag 399 with platform and realm)");
	if (col.platform == NULL || col.realm == NULL) {
		e = tt_verify_fail(res, TT_ERR_DATA_INVALID,
		    "a CCA token needs both a platform and a realm token");
		goto out;
	}
	/* Platform token: its claims name the instance whose CPAK must have signed it. */
	if ((e = tt_cose_sign1_parse(col.platform, col.platform_len, &pitem, &ps)) != 0 ||
	    (e = payload_map(&ps, &pmap)) != 0 ||
	    (e = tt_cca_platform_claims(pmap, &plat, pch, &pchn, inst)) != 0) {
		e = tt_verify_fail(res, e, "malformed platform token");
		goto out;
	}
	if (tt_cbor_bytes(tt_cbor_map_get(pmap, P_IMPL_ID), 32, &ip, &n) != 0) {
		e = tt_verify_fail(res, TT_ERR_DATA_INVALID, "platform implementation id missing");
		goto out;
	}
	memcpy(impl, ip, 32);
	if ((e = find_cpak(in->trust, inst, impl, &cpak, detail, sizeof(detail))) != 0) {
		tt_verify_link(res, "anchor", "CPAK", false, "no trust anchor for this instance");
		e = tt_verify_fail(res, e, e == TT_ERR_NOT_PERMITTED ?
		    "the CPAK anchor names another implementation id" :
		    "no CPAK trust anchor for the platform's instance id");
		goto out;
	}
	if ((e = tt_verify_link(res, "anchor", "CPAK", true, detail)) != 0)
		goto out;
	if (tt_cose_sign1_verify(&ps, cpak) != 0) {
		tt_verify_link(res, "evidence", "platform token", false, "COSE_Sign1 signature");
		e = tt_verify_fail(res, TT_ERR_INVALID_SIGNATURE,
		    "platform token signature does not verify with the CPAK");
		goto out;
	}
	if ((e = tt_verify_link(res, "evidence", "platform token", true,
	    "COSE_Sign1 by the CPAK")) != 0)
		goto out;

	/* Realm token: its RAK must be the key the platform vouched for (challenge). */
	if ((e = tt_cose_sign1_parse(col.realm, col.realm_len, &ritem, &rs)) != 0 ||
	    (e = payload_map(&rs, &rmap)) != 0 || (e = tt_cca_realm_claims(rmap, &realm)) != 0) {
		e = tt_verify_fail(res, e, "malformed realm token");
		goto out;
	}
	if ((e = tt_cca_hash(realm.rak_hash_alg, realm.rak, realm.rak_len, h, &hn)) != 0) {
		e = tt_verify_fail(res, e, "RAK hash algorithm not supported");
		goto out;
	}
	if (hn != pchn || CRYPTO_memcmp(h, pch, hn) != 0) {
		tt_verify_link(res, "key", "realm attestation key", false,
		    "hash differs from the platform challenge");
		e = tt_verify_fail(res, TT_ERR_INVALID_SIGNATURE,
		    "platform challenge is not the hash of the realm's RAK");
		goto out;
	}
	if ((e = tt_verify_link(res, "key", "realm attestation key", true,
	    "its hash is the platform token's challenge")) != 0)
		goto out;
	if ((e = tt_cca_rak_pkey(realm.rak, realm.rak_len, &rak)) != 0 ||
	    tt_cose_sign1_verify(&rs, rak) != 0) {
		tt_verify_link(res, "evidence", "realm token", false, "COSE_Sign1 signature");
		e = tt_verify_fail(res, TT_ERR_INVALID_SIGNATURE,
		    "realm token signature does not verify with its RAK");
		goto out;
	}
	if ((e = tt_verify_link(res, "evidence", "realm token", true, "COSE_Sign1 by the RAK")) != 0)
		goto out;
	if ((e = tt_verify_check_binding(in, res, realm.challenge, 64)) != 0 ||
	    (e = tt_verify_check_init_data(in, res, realm.rpv, 64)) != 0)
		goto out;
	if ((e = realm_json(&realm, &rj)) != 0) {
		e = tt_verify_fail(res, e, "out of memory");
		goto out;
	}
	res->claims = json_pack("{s:O,s:O,s:o,s:o}", "realm", rj, "platform", plat,
	    "report_data", tt_verify_hex(realm.challenge, 64),
	    "init_data", tt_verify_hex(realm.rpv, 64));
	if (res->claims == NULL)
		e = tt_verify_fail(res, TT_ERR_NO_MEMORY, "out of memory");
out:
	json_decref(rj);
	json_decref(plat);
	EVP_PKEY_free(cpak);
	EVP_PKEY_free(rak);
	if (pmap != NULL)
		cbor_decref(&pmap);
	if (rmap != NULL)
		cbor_decref(&rmap);
	if (pitem != NULL)
		cbor_decref(&pitem);
	if (ritem != NULL)
		cbor_decref(&ritem);
	tt_cca_collection_clear(&col);
	return e;
}

const struct tt_verifier tt_verifier_cca = {
	.version = TT_VERIFY_ABI,
	.tee = "cca",
	.name = "Arm CCA",
	.caps = TT_VERIFY_CAP_BINDING | TT_VERIFY_CAP_CHAIN,
	.verify = cca_verify,
};
