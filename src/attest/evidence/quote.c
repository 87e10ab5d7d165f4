/*
 * TPM2_Quote verification.
 *
 * The signature is checked over the raw attest bytes before anything inside them is
 * believed; then the authenticated TPMS_ATTEST is unmarshalled by tss2-mu (whose bounds
 * checks we rely on instead of a second hand-written TPM parser). Facts (TPM 2.0 Library
 * Part 2/3): magic is TPM_GENERATED_VALUE (0xff544347), which the TPM only puts in data it
 * built itself; the quote's pcrDigest is the digest, with the signing scheme's hash, of the
 * selected PCR values concatenated in TPML_PCR_SELECTION order, PCRs ascending within each
 * bitmap (bit i of byte j is PCR 8*j+i).
 */
#include <pthread.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <tss2/tss2_mu.h>

#include "internal.h"
#include "turtle/error.h"

#define SHA256_LEN 32

const char *tt_quote_status_name(enum tt_quote_status s)
{
	switch (s) {
	case TT_QUOTE_OK: return "ok";
	case TT_QUOTE_MALFORMED: return "malformed";
	case TT_QUOTE_UNSUPPORTED_ALG: return "unsupported-alg";
	case TT_QUOTE_BAD_KEY: return "bad-key";
	case TT_QUOTE_BAD_SIGNATURE: return "bad-signature";
	case TT_QUOTE_BAD_MAGIC: return "bad-magic";
	case TT_QUOTE_BAD_TYPE: return "bad-type";
	case TT_QUOTE_NONCE_MISMATCH: return "nonce-mismatch";
	case TT_QUOTE_PCR_MISSING: return "pcr-missing";
	case TT_QUOTE_PCR_DIGEST_MISMATCH: return "pcr-digest-mismatch";
	}
	return "unknown";
}

const char *tt_attest_type_name(uint16_t type)
{
	switch (type) {
	case TPM2_ST_ATTEST_QUOTE: return "quote";
	case TPM2_ST_ATTEST_CERTIFY: return "certify";
	case TPM2_ST_ATTEST_TIME: return "time";
	case TPM2_ST_ATTEST_NV: return "nv";
	case TPM2_ST_ATTEST_COMMAND_AUDIT: return "command-audit";
	case TPM2_ST_ATTEST_SESSION_AUDIT: return "session-audit";
	case TPM2_ST_ATTEST_CREATION: return "creation";
	case 0x801C: return "nv-digest";   /* TPM_ST_ATTEST_NV_DIGEST (TPM 2.0 rev 1.59) */
	default: return "unknown";
	}
}

/* The one tt_err each verdict maps to. */
static int status_err(enum tt_quote_status s)
{
	switch (s) {
	case TT_QUOTE_OK: return 0;
	case TT_QUOTE_MALFORMED: return TT_ERR_INVALID_ENCODING;
	case TT_QUOTE_UNSUPPORTED_ALG: return TT_ERR_NOT_SUPPORTED;
	case TT_QUOTE_BAD_KEY: return TT_ERR_INVALID_ARGUMENT;
	case TT_QUOTE_BAD_SIGNATURE: return TT_ERR_INVALID_SIGNATURE;
	default: return TT_ERR_DATA_INVALID;
	}
}

static EVP_PKEY *pkey_from_params(const char *type, OSSL_PARAM_BLD *bld)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pk = NULL;

	if (params == NULL)
		return NULL;
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) != 1)
		pk = NULL;
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return pk;
}

/* AK from a marshalled TPM2B_PUBLIC (RSA, or ECC on NIST P-256/P-384). */
static enum tt_quote_status ak_from_tpm2b(const uint8_t *p, size_t len, EVP_PKEY **out)
{
	TPM2B_PUBLIC pub;
	size_t off = 0;
	OSSL_PARAM_BLD *bld = NULL;
	BIGNUM *n = NULL, *e = NULL;
	enum tt_quote_status st = TT_QUOTE_BAD_KEY;

	memset(&pub, 0, sizeof(pub));
	if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(p, len, &off, &pub) != TSS2_RC_SUCCESS || off != len)
		return TT_QUOTE_MALFORMED;
	if ((bld = OSSL_PARAM_BLD_new()) == NULL)
		return TT_QUOTE_BAD_KEY;
	if (pub.publicArea.type == TPM2_ALG_RSA) {
		const TPM2B_PUBLIC_KEY_RSA *m = &pub.publicArea.unique.rsa;
		uint32_t exp = pub.publicArea.parameters.rsaDetail.exponent;

		if (exp == 0)
			exp = 65537;   /* 0 means the default exponent */
		if (m->size == 0 || (n = BN_bin2bn(m->buffer, m->size, NULL)) == NULL ||
		    (e = BN_new()) == NULL || BN_set_word(e, exp) != 1 ||
		    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) != 1 ||
		    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) != 1)
			goto out;
		*out = pkey_from_params("RSA", bld);
	} else if (pub.publicArea.type == TPM2_ALG_ECC) {
		const TPMS_ECC_POINT *pt = &pub.publicArea.unique.ecc;
		const char *group;
		size_t fl;
		uint8_t oct[1 + 2 * 48];

		switch (pub.publicArea.parameters.eccDetail.curveID) {
		case TPM2_ECC_NIST_P256: group = "prime256v1"; fl = 32; break;
		case TPM2_ECC_NIST_P384: group = "secp384r1"; fl = 48; break;
		default: st = TT_QUOTE_UNSUPPORTED_ALG; goto out;
		}
		if (pt->x.size != fl || pt->y.size != fl)
			goto out;
		oct[0] = 0x04;   /* uncompressed point */
		memcpy(oct + 1, pt->x.buffer, fl);
		memcpy(oct + 1 + fl, pt->y.buffer, fl);
		if (OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) != 1 ||
		    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, oct,
			    1 + 2 * fl) != 1)
			goto out;
		*out = pkey_from_params("EC", bld);
	} else {
		st = TT_QUOTE_UNSUPPORTED_ALG;
		goto out;
	}
	if (*out != NULL)
		st = TT_QUOTE_OK;
out:
	BN_free(n);
	BN_free(e);
	OSSL_PARAM_BLD_free(bld);
	return st;
}

static enum tt_quote_status parse_ak(const struct tt_quote_input *in, EVP_PKEY **out)
{
	*out = NULL;
	if (in->ak_len > INT32_MAX)
		return TT_QUOTE_BAD_KEY;
	switch (in->ak_format) {
	case TT_AK_TPM2B_PUBLIC:
		return ak_from_tpm2b(in->ak, in->ak_len, out);
	case TT_AK_SPKI_DER: {
		const unsigned char *p = in->ak;

		*out = d2i_PUBKEY(NULL, &p, (long)in->ak_len);
		if (*out != NULL && p != in->ak + in->ak_len) {
			EVP_PKEY_free(*out);   /* trailing bytes after the key */
			*out = NULL;
		}
		return *out ? TT_QUOTE_OK : TT_QUOTE_BAD_KEY;
	}
	case TT_AK_PEM: {
		BIO *bio = BIO_new_mem_buf(in->ak, (int)in->ak_len);

		if (bio == NULL)
			return TT_QUOTE_BAD_KEY;
		*out = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
		BIO_free(bio);
		return *out ? TT_QUOTE_OK : TT_QUOTE_BAD_KEY;
	}
	}
	return TT_QUOTE_BAD_KEY;
}

int
tt_ak_fingerprint(const uint8_t *ak, size_t len, enum tt_ak_format fmt, uint8_t out[32])
{
	struct tt_quote_input in = { .ak = ak, .ak_len = len, .ak_format = fmt };
	EVP_PKEY *pk = NULL;
	unsigned char *der = NULL;
	unsigned int dl = 0;
	int n, r = TT_ERR_INVALID_ARGUMENT;

	if (parse_ak(&in, &pk) != TT_QUOTE_OK)
		return r;
	/* Re-encoded, so PEM, DER and the TPM's own form of one key agree. */
	if ((n = i2d_PUBKEY(pk, &der)) > 0 &&
	    EVP_Digest(der, (size_t)n, out, &dl, EVP_sha256(), NULL) == 1 && dl == 32)
		r = 0;
	OPENSSL_free(der);
	EVP_PKEY_free(pk);
	return r;
}

/*
 * Parsed AKs, keyed by the SHA-256 of their encoding. A verifier sees the same few AKs over
 * and over, and OpenSSL 3's decoders (PEM, SPKI) cost more than the quote's signature
 * check; the same bytes always give the same key, so caching by content is exact.
 * Direct-mapped, thread-safe; keys are shared with EVP_PKEY_up_ref.
 */
#define AK_CACHE 64

struct ak_slot {
	uint8_t id[SHA256_LEN + 1];   /* digest of the encoding || format */
	EVP_PKEY *pk;
};

static struct ak_slot ak_cache[AK_CACHE];
static pthread_mutex_t ak_mu = PTHREAD_MUTEX_INITIALIZER;

static enum tt_quote_status load_ak(const struct tt_quote_input *in, EVP_PKEY **out)
{
	uint8_t id[SHA256_LEN + 1];
	struct ak_slot *e;
	enum tt_quote_status st;

	if (in->ak_len > INT32_MAX || !EVP_Digest(in->ak, in->ak_len, id, NULL, EVP_sha256(), NULL))
		return TT_QUOTE_BAD_KEY;
	id[SHA256_LEN] = (uint8_t)in->ak_format;
	e = &ak_cache[id[0] % AK_CACHE];
	pthread_mutex_lock(&ak_mu);
	if (e->pk != NULL && memcmp(e->id, id, sizeof(id)) == 0 && EVP_PKEY_up_ref(e->pk)) {
		*out = e->pk;
		pthread_mutex_unlock(&ak_mu);
		return TT_QUOTE_OK;
	}
	pthread_mutex_unlock(&ak_mu);
	if ((st = parse_ak(in, out)) != TT_QUOTE_OK)
		return st;
	pthread_mutex_lock(&ak_mu);
	if (EVP_PKEY_up_ref(*out)) {
		EVP_PKEY_free(e->pk);
		e->pk = *out;
		memcpy(e->id, id, sizeof(id));
	}
	pthread_mutex_unlock(&ak_mu);
	return TT_QUOTE_OK;
}

static uint16_t hash_alg_of(const TPMT_SIGNATURE *s)
{
	switch (s->sigAlg) {
	case TPM2_ALG_RSASSA: return s->signature.rsassa.hash;
	case TPM2_ALG_RSAPSS: return s->signature.rsapss.hash;
	case TPM2_ALG_ECDSA: return s->signature.ecdsa.hash;
	default: return 0;
	}
}

/* Verify the signature over msg; returns a status. */
static enum tt_quote_status check_signature(EVP_PKEY *pk, const TPMT_SIGNATURE *s,
	const uint8_t *msg, size_t len)
{
	const EVP_MD *md = tt_ev_md(hash_alg_of(s));
	EVP_MD_CTX *ctx = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	ECDSA_SIG *es = NULL;
	BIGNUM *r = NULL, *sv = NULL;
	unsigned char *der = NULL;
	const uint8_t *sig;
	size_t siglen;
	int derlen;
	enum tt_quote_status st = TT_QUOTE_BAD_SIGNATURE;

	if (md == NULL || md == EVP_sha1())
		return TT_QUOTE_UNSUPPORTED_ALG;   /* SHA-1 signatures are not accepted */
	if (s->sigAlg == TPM2_ALG_RSASSA || s->sigAlg == TPM2_ALG_RSAPSS) {
		if (EVP_PKEY_get_base_id(pk) != EVP_PKEY_RSA)
			return TT_QUOTE_BAD_KEY;
		sig = s->signature.rsassa.sig.buffer;   /* rsapss has the same layout */
		siglen = s->signature.rsassa.sig.size;
		if (s->sigAlg == TPM2_ALG_RSAPSS) {
			sig = s->signature.rsapss.sig.buffer;
			siglen = s->signature.rsapss.sig.size;
		}
	} else {
		if (EVP_PKEY_get_base_id(pk) != EVP_PKEY_EC)
			return TT_QUOTE_BAD_KEY;
		/* TPM ECDSA signatures are (r, s) big-endian integers; OpenSSL wants DER. */
		if ((es = ECDSA_SIG_new()) == NULL ||
		    (r = BN_bin2bn(s->signature.ecdsa.signatureR.buffer,
			     s->signature.ecdsa.signatureR.size, NULL)) == NULL ||
		    (sv = BN_bin2bn(s->signature.ecdsa.signatureS.buffer,
			     s->signature.ecdsa.signatureS.size, NULL)) == NULL ||
		    ECDSA_SIG_set0(es, r, sv) != 1)
			goto out;
		r = sv = NULL;   /* owned by es */
		if ((derlen = i2d_ECDSA_SIG(es, &der)) <= 0)
			goto out;
		sig = der;
		siglen = (size_t)derlen;
	}
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit(ctx, &pctx, md, NULL, pk) != 1)
		goto out;
	if (s->sigAlg == TPM2_ALG_RSAPSS &&
	    (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
	     /* TPMs use either the digest length or the maximum; AUTO accepts both. */
	     EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_AUTO) != 1))
		goto out;
	if (EVP_DigestVerify(ctx, sig, siglen, msg, len) == 1)
		st = TT_QUOTE_OK;
out:
	EVP_MD_CTX_free(ctx);
	ECDSA_SIG_free(es);
	BN_free(r);
	BN_free(sv);
	OPENSSL_free(der);
	return st;
}

/* H(selected PCR values in order) with md; fills res->selection. */
static enum tt_quote_status pcr_digest(const TPML_PCR_SELECTION *ps, const struct tt_pcrs *pcrs,
	const EVP_MD *md, struct tt_quote_result *res, uint8_t *out, unsigned int *outl)
{
	EVP_MD_CTX *ctx = NULL;
	enum tt_quote_status st = TT_QUOTE_MALFORMED;

	if (ps->count > TT_EV_MAX_BANKS)
		return TT_QUOTE_UNSUPPORTED_ALG;
	res->selection.count = 0;
	for (uint32_t i = 0; i < ps->count; i++) {
		const TPMS_PCR_SELECTION *s = &ps->pcrSelections[i];
		uint32_t mask = 0;

		if (tt_evidence_alg_size(s->hash) == 0)
			return TT_QUOTE_UNSUPPORTED_ALG;
		for (unsigned j = 0; j < s->sizeofSelect; j++) {
			if (j >= 3) {
				if (s->pcrSelect[j] != 0)
					return TT_QUOTE_UNSUPPORTED_ALG;   /* PCR >= 24 */
				continue;
			}
			mask |= (uint32_t)s->pcrSelect[j] << (8 * j);
		}
		res->selection.sel[i].alg = s->hash;
		res->selection.sel[i].mask = mask;
		res->selection.count++;
	}
	if (pcrs == NULL)
		return TT_QUOTE_PCR_MISSING;
	if ((ctx = EVP_MD_CTX_new()) == NULL || EVP_DigestInit_ex(ctx, md, NULL) != 1)
		goto out;
	for (unsigned i = 0; i < res->selection.count; i++) {
		const struct tt_pcr_bank *bk = tt_pcrs_bank(pcrs, res->selection.sel[i].alg);
		uint32_t mask = res->selection.sel[i].mask;

		if (mask != 0 && (bk == NULL || (bk->mask & mask) != mask)) {
			st = TT_QUOTE_PCR_MISSING;
			goto out;
		}
		for (unsigned p = 0; p < TT_EV_NUM_PCRS; p++)
			if ((mask & (UINT32_C(1) << p)) && EVP_DigestUpdate(ctx, bk->pcr[p], bk->size) != 1)
				goto out;
	}
	if (EVP_DigestFinal_ex(ctx, out, outl) != 1)
		goto out;
	st = TT_QUOTE_OK;
out:
	EVP_MD_CTX_free(ctx);
	return st;
}

enum tt_quote_status tt_ev_quote_check_attest(const struct tt_quote_input *in, uint16_t hash,
	struct tt_quote_result *res)
{
	TPMS_ATTEST att;
	size_t off = 0;
	uint8_t dig[EVP_MAX_MD_SIZE];
	unsigned int dl = 0;
	enum tt_quote_status st;
	const EVP_MD *md = tt_ev_md(hash);

	if (md == NULL)
		return TT_QUOTE_UNSUPPORTED_ALG;
	memset(&att, 0, sizeof(att));
	if (Tss2_MU_TPMS_ATTEST_Unmarshal(in->attest, in->attest_len, &off, &att) !=
		    TSS2_RC_SUCCESS || off != in->attest_len)
		return TT_QUOTE_MALFORMED;
	if (att.magic != TPM2_GENERATED_VALUE)
		return TT_QUOTE_BAD_MAGIC;
	res->attest_type = att.type;
	if (att.type != TPM2_ST_ATTEST_QUOTE)
		return TT_QUOTE_BAD_TYPE;
	res->clock = att.clockInfo.clock;
	res->reset_count = att.clockInfo.resetCount;
	res->restart_count = att.clockInfo.restartCount;
	res->safe = att.clockInfo.safe;
	res->firmware_version = att.firmwareVersion;
	if (att.attested.quote.pcrDigest.size > TT_EV_MAX_DIGEST)
		return TT_QUOTE_MALFORMED;
	res->pcr_digest_len = att.attested.quote.pcrDigest.size;
	memcpy(res->pcr_digest, att.attested.quote.pcrDigest.buffer, res->pcr_digest_len);

	if (att.extraData.size != in->nonce_len ||
	    (in->nonce_len != 0 &&
		    CRYPTO_memcmp(att.extraData.buffer, in->nonce, in->nonce_len) != 0))
		return TT_QUOTE_NONCE_MISMATCH;
	if ((st = pcr_digest(&att.attested.quote.pcrSelect, in->pcrs, md, res, dig, &dl)) !=
	    TT_QUOTE_OK)
		return st;
	if (dl != res->pcr_digest_len || CRYPTO_memcmp(dig, res->pcr_digest, dl) != 0)
		return TT_QUOTE_PCR_DIGEST_MISMATCH;
	return TT_QUOTE_OK;
}

int tt_quote_verify(const struct tt_quote_input *in, struct tt_quote_result *res)
{
	TPMT_SIGNATURE sig;
	EVP_PKEY *pk = NULL;
	size_t off = 0;
	enum tt_quote_status st;

	if (res == NULL)
		return TT_ERR_INVALID_ARGUMENT;
	memset(res, 0, sizeof(*res));
	res->status = TT_QUOTE_MALFORMED;
	if (in == NULL || in->attest == NULL || in->sig == NULL || in->ak == NULL ||
	    (in->nonce == NULL && in->nonce_len != 0))
		return TT_ERR_INVALID_ARGUMENT;

	memset(&sig, 0, sizeof(sig));
	if (Tss2_MU_TPMT_SIGNATURE_Unmarshal(in->sig, in->sig_len, &off, &sig) != TSS2_RC_SUCCESS) {
		/* tss2-mu also refuses schemes it does not know; both are "malformed" to us. */
		st = TT_QUOTE_MALFORMED;
		goto out;
	}
	if (off != in->sig_len) {
		st = TT_QUOTE_MALFORMED;
		goto out;
	}
	if (sig.sigAlg != TPM2_ALG_RSASSA && sig.sigAlg != TPM2_ALG_RSAPSS &&
	    sig.sigAlg != TPM2_ALG_ECDSA) {
		st = TT_QUOTE_UNSUPPORTED_ALG;
		goto out;
	}
	if ((st = load_ak(in, &pk)) != TT_QUOTE_OK)
		goto out;
	if ((st = check_signature(pk, &sig, in->attest, in->attest_len)) != TT_QUOTE_OK)
		goto out;

	/* From here on the bytes are the TPM's own. */
	st = tt_ev_quote_check_attest(in, hash_alg_of(&sig), res);
out:
	EVP_PKEY_free(pk);
	res->status = st;
	return status_err(st);
}
