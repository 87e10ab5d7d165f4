/*
 * configfs-tsm blobs to Trustee's evidence JSON (tsm.h). The SNP report goes through the
 * field table that turtle-as reads it back with (snp_json.c); the certificate table
 * through the same walker the SNP verifier uses (snp.c).
 */
#include <stdlib.h>
#include <string.h>

#include "snp.h"
#include "tsm.h"
#include "turtle/error.h"
#include "util/b64.h"

#define TSM_MAX_CERTS 8

static const char *
cert_type(enum tt_snp_cert_kind k)
{
	switch (k) {
	case TT_SNP_CERT_VCEK: return "VCEK";
	case TT_SNP_CERT_VLEK: return "VLEK";
	case TT_SNP_CERT_ASK: return "ASK";
	case TT_SNP_CERT_ARK: return "ARK";
	default: return NULL;
	}
}

static int
snp_chain(const uint8_t *p, size_t len, json_t **out)
{
	struct tt_snp_cert_entry ents[TSM_MAX_CERTS];
	json_t *a;
	size_t n;
	int e;

	if (len == 0) {
		*out = json_null();
		return 0;
	}
	if ((e = tt_snp_cert_table_walk(p, len, ents, TSM_MAX_CERTS, &n)) != 0)
		return e;
	if (n == 0) {
		*out = json_null();
		return 0;
	}
	if ((a = json_array()) == NULL)
		return TT_ERR_NO_MEMORY;
	for (size_t i = 0; i < n; i++) {
		json_t *c = json_pack("{s:s,s:o}", "cert_type", cert_type(ents[i].kind), "data",
		    tt_snp_json_array(ents[i].der, ents[i].len));

		if (c == NULL || json_array_append_new(a, c) != 0) {
			json_decref(a);
			return TT_ERR_NO_MEMORY;
		}
	}
	*out = a;
	return 0;
}

static int
set_b64(json_t *o, const char *k, const uint8_t *p, size_t n)
{
	char *s = NULL;
	int e;

	if ((e = tt_b64_encode_dup(p, n, TT_B64_STD, &s)) != 0)
		return e;
	e = json_object_set_new(o, k, json_string(s)) == 0 ? 0 : TT_ERR_NO_MEMORY;
	free(s);
	return e;
}

int
tt_tsm_evidence(const char *tee, const uint8_t *outblob, size_t outblob_len,
    const uint8_t *auxblob, size_t auxblob_len, const uint8_t *ccel, size_t ccel_len,
    json_t **out)
{
	json_t *o = NULL, *rep = NULL, *chain = NULL;
	int e;

	if (tee == NULL || out == NULL || (outblob == NULL && outblob_len > 0) ||
	    (auxblob == NULL && auxblob_len > 0) || (ccel == NULL && ccel_len > 0))
		return TT_ERR_INVALID_ARGUMENT;
	if (outblob_len == 0)
		return TT_ERR_DATA_INVALID;
	if (outblob_len > TT_TSM_BLOB_MAX || auxblob_len > TT_TSM_BLOB_MAX ||
	    ccel_len > TT_TSM_BLOB_MAX)
		return TT_ERR_LIMIT;
	if (strcmp(tee, "snp") == 0) {
		if (ccel_len > 0)
			return TT_ERR_DATA_INVALID;
		if ((e = tt_snp_report_to_json(outblob, outblob_len, &rep)) != 0)
			return e;
		if ((e = snp_chain(auxblob, auxblob_len, &chain)) != 0) {
			json_decref(rep);
			return e;
		}
		if ((o = json_pack("{s:o,s:o}", "attestation_report", rep, "cert_chain",
		    chain)) == NULL)
			return TT_ERR_NO_MEMORY;
	} else if (strcmp(tee, "tdx") == 0) {
		if (auxblob_len > 0)
			return TT_ERR_DATA_INVALID;
		if ((o = json_object()) == NULL)
			return TT_ERR_NO_MEMORY;
		if ((e = set_b64(o, "quote", outblob, outblob_len)) != 0 ||
		    (ccel_len > 0 && (e = set_b64(o, "cc_eventlog", ccel, ccel_len)) != 0)) {
			json_decref(o);
			return e;
		}
	} else if (strcmp(tee, "cca") == 0) {
		if (auxblob_len > 0 || ccel_len > 0)
			return TT_ERR_DATA_INVALID;
		if ((o = json_pack("{s:o}", "token", tt_snp_json_array(outblob,
		    outblob_len))) == NULL)
			return TT_ERR_NO_MEMORY;
	} else {
		return TT_ERR_NOT_SUPPORTED;
	}
	*out = o;
	return 0;
}
