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
 *
 * Evidence: the token's CBOR bytes (tag 399 {44241: CVM token, 44234: platform token}).
 * Collateral: the AIK certificate (DER or PEM) as trust->collateral, or "aik.der" /
 * "aik.pem" in trust->collateral_dir.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "cca.h"
#include "turtle/error.h"
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

/* The CVM key: an RSA (or EC) SubjectPublicKeyInfo, else a raw P-521 point. */
static int
cvm_key(const uint8_t *p, size_t n, EVP_PKEY **out)
{
	const unsigned char *q = p;
	EVP_PKEY *k = d2i_PUBKEY(NULL, &q, (long)n);

	ERR_clear_error();
	if (k != NULL && q == p + n) {
		*out = k;
		return 0;
	}
	EVP_PKEY_free(k);
	if (n == 133)
		return tt_ec_point_pkey(p, n, out);
	return TT_ERR_DATA_INVALID;
}

static int
load_aik(const struct tt_verify_trust *t, X509 **out)
{
	STACK_OF(X509) *sk = NULL;
	uint8_t *d = NULL;
	size_t n;
	int e;

	if (t != NULL && t->collateral != NULL && t->collateral_len > 0) {
		e = tt_verify_certs_parse(t->collateral, t->collateral_len, &sk);
	} else {
		e = tt_verify_collateral_file(t, "aik.der", &d, &n);
		if (e == TT_ERR_DOES_NOT_EXIST)
			e = tt_verify_collateral_file(t, "aik.pem", &d, &n);
		if (e == 0)
			e = tt_verify_certs_parse(d, n, &sk);
		free(d);
	}
	if (e != 0)
		return e;
	if (sk_X509_num(sk) != 1) {
		sk_X509_pop_free(sk, X509_free);
		return TT_ERR_DATA_INVALID;
	}
	*out = sk_X509_shift(sk);
	sk_X509_free(sk);
	return 0;
}

/* The AIK up to Huawei's root through the IT Product CA, at `now`. RSA AIKs only: the
 * P-521 pair secGear names is not public (an anchors directory may supply it). */
static int
check_aik(const struct tt_verify_in *in, struct tt_verify_result *res, X509 *aik)
{
	static const char *const names[2][2] = {
		{ "huawei/equipment-root-ca.pem", "huawei/it-product-ca.pem" },
		{ "huawei/eccp521-root.pem", "huawei/eccp521-sub.pem" },
	};
	STACK_OF(X509) *root = NULL, *sub = NULL;
	EVP_PKEY *k = X509_get0_pubkey(aik);
	const char *why = NULL;
	uint8_t *d = NULL;
	size_t n;
	int ec = k != NULL && EVP_PKEY_get_base_id(k) == EVP_PKEY_EC, e;
	char fp[65], detail[120];

	if ((e = tt_verify_anchor(in->trust, names[ec][0], &d, &n)) != 0 ||
	    (e = tt_verify_certs_parse(d, n, &root)) != 0) {
		e = tt_verify_fail(res, e, "no Huawei root for a%s AIK", ec ? "n EC" : "n RSA");
		goto out;
	}
	free(d);
	d = NULL;
	if ((e = tt_verify_anchor(in->trust, names[ec][1], &d, &n)) != 0 ||
	    (e = tt_verify_certs_parse(d, n, &sub)) != 0) {
		e = tt_verify_fail(res, e, "no Huawei sub CA for the AIK");
		goto out;
	}
	if (tt_verify_x509_sha256(sk_X509_value(root, 0), fp) != 0)
		snprintf(fp, sizeof(fp), "?");
	snprintf(detail, sizeof(detail), "Huawei Equipment CA sha256 %s", fp);
	if ((e = tt_verify_link(res, "anchor", "Huawei root", true, detail)) != 0)
		goto out;
	/* The root alone is the anchor; the sub CA must verify under it. */
	if ((e = tt_verify_x509_chain(aik, sub, root, NULL, in->now, &why)) != 0) {
		tt_verify_link(res, "certificate", "AIK", false, why);
		e = tt_verify_fail(res, e, "AIK certificate does not chain to the Huawei root "
		    "at the given time: %s", why != NULL ? why : "?");
		goto out;
	}
	if ((e = tt_verify_link(res, "certificate", "Huawei IT Product CA", true,
	    "signed by the root")) != 0 ||
	    (e = tt_verify_link(res, "certificate", "AIK", true,
	    "signed by the IT Product CA, valid at the given time")) != 0)
		goto out;
out:
	free(d);
	sk_X509_pop_free(root, X509_free);
	sk_X509_pop_free(sub, X509_free);
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

static int
claims_json(const struct tt_cca_realm *r, bool platform, json_t *swc, json_t **out)
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
	    "vcca.is_platform", platform,
	    "report_data", tt_verify_hex(r->challenge, 64),
	    "init_data", tt_verify_hex(r->rpv, 64));

	if (o == NULL)
		return TT_ERR_NO_MEMORY;
	if (swc != NULL && json_object_set(o, "vcca.platform.measure_value", swc) != 0) {
		json_decref(o);
		return TT_ERR_NO_MEMORY;
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
	EVP_PKEY *ck = NULL;
	X509 *aik = NULL;
	json_t *plat = NULL;
	uint8_t pch[64], inst[33], h[64];
	size_t pchn = 0, hn;
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
	if ((e = load_aik(in->trust, &aik)) != 0) {
		e = tt_verify_fail(res, e, "no usable AIK certificate supplied");
		goto out;
	}
	if ((e = check_aik(in, res, aik)) != 0)
		goto out;

	if (col.platform != NULL) {
		if ((e = tt_cose_sign1_parse(col.platform, col.platform_len, &pitem, &ps)) != 0 ||
		    (e = cvm_payload(&ps, &pmap)) != 0 ||
		    (e = tt_cca_platform_claims(pmap, &plat, pch, &pchn, inst)) != 0) {
			e = tt_verify_fail(res, e, "malformed platform token");
			goto out;
		}
		if (tt_cose_sign1_verify(&ps, X509_get0_pubkey(aik)) != 0) {
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
	if ((e = claims_json(&cvm, col.platform != NULL,
	    json_object_get(plat, "cca-platform-sw-components"), &res->claims)) != 0)
		e = tt_verify_fail(res, e, "out of memory");
out:
	json_decref(plat);
	EVP_PKEY_free(ck);
	X509_free(aik);
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
