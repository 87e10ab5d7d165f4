/*
 * DCAP collateral: the container JSON (PEM chains, hex CRLs, the signed TCB info and QE
 * identity texts with their hex r||s signatures) and the two signed bodies, after Intel's
 * PCS API ("TCB Info V2/V3", "Enclave Identity V2"). Parsing here authenticates nothing;
 * dcap_verify.c checks the signatures over the exact texts kept in the struct before any
 * parsed value is used.
 *
 * Strictness: unknown members are ignored (Intel adds them between versions), but every
 * member a verdict depends on must be present, of its type and within its range, and the
 * arrays are bounded (TT_DCAP_MAX_LEVELS, TT_DCAP_MAX_ADVISORIES, TT_DCAP_MAX_MODULE_IDS).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dcap.h"
#include "json/json.h"
#include "turtle/error.h"
#include "util/hex.h"
#include "util/num.h"

#define JSON_DEPTH 16u

const char *tt_dcap_tcb_status_name(enum tt_dcap_tcb_status s)
{
	switch (s) {
	case TT_DCAP_TCB_UNKNOWN: return "Unknown";
	case TT_DCAP_TCB_UP_TO_DATE: return "UpToDate";
	case TT_DCAP_TCB_SW_HARDENING_NEEDED: return "SWHardeningNeeded";
	case TT_DCAP_TCB_CONFIGURATION_NEEDED: return "ConfigurationNeeded";
	case TT_DCAP_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED:
		return "ConfigurationAndSWHardeningNeeded";
	case TT_DCAP_TCB_OUT_OF_DATE: return "OutOfDate";
	case TT_DCAP_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED: return "OutOfDateConfigurationNeeded";
	case TT_DCAP_TCB_REVOKED: return "Revoked";
	case TT_DCAP_TCB_TD_RELAUNCH_ADVISED: return "TDRelaunchAdvised";
	case TT_DCAP_TCB_TD_RELAUNCH_ADVISED_CONFIGURATION_NEEDED:
		return "TDRelaunchAdvisedConfigurationNeeded";
	}
	return "Unknown";
}

/* The statuses a TCB info or QE identity level may carry (not the computed relaunch
 * advice, which Intel's QVL derives and never reads). */
static int status_from_name(const char *s, enum tt_dcap_tcb_status *out)
{
	for (int i = TT_DCAP_TCB_UP_TO_DATE; i <= TT_DCAP_TCB_REVOKED; i++) {
		if (strcmp(s, tt_dcap_tcb_status_name((enum tt_dcap_tcb_status)i)) == 0) {
			*out = (enum tt_dcap_tcb_status)i;
			return 0;
		}
	}
	return TT_ERR_DATA_INVALID;
}

static const char *str_member(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

static int int_member(const json_t *o, const char *key, uint64_t max, uint64_t *out)
{
	const json_t *v = json_object_get(o, key);
	json_int_t i;

	if (!json_is_integer(v))
		return TT_ERR_DATA_INVALID;
	i = json_integer_value(v);
	if (i < 0 || (uint64_t)i > max)
		return TT_ERR_DATA_INVALID;
	*out = (uint64_t)i;
	return 0;
}

/* Exactly n bytes of hex. */
static int hex_member(const json_t *o, const char *key, uint8_t *out, size_t n)
{
	const char *s = str_member(o, key);
	size_t got;

	if (s == NULL || strlen(s) != 2 * n || tt_hex_decode(s, 2 * n, out, n, &got) != 0 ||
	    got != n)
		return TT_ERR_DATA_INVALID;
	return 0;
}

static int hex_alloc(const json_t *o, const char *key, uint8_t **out, size_t *outlen)
{
	const char *s = str_member(o, key);
	size_t n, got;
	uint8_t *d;

	if (s == NULL || (n = strlen(s)) == 0 || n % 2 != 0)
		return TT_ERR_DATA_INVALID;
	if ((d = malloc(n / 2)) == NULL)
		return TT_ERR_NO_MEMORY;
	if (tt_hex_decode(s, n, d, n / 2, &got) != 0) {
		free(d);
		return TT_ERR_DATA_INVALID;
	}
	*out = d;
	*outlen = got;
	return 0;
}

static int dup_member(const json_t *o, const char *key, char **out, size_t *outlen)
{
	const json_t *v = json_object_get(o, key);
	size_t n;
	char *d;

	if (!json_is_string(v) || (n = json_string_length(v)) == 0)
		return TT_ERR_DATA_INVALID;
	if ((d = malloc(n + 1)) == NULL)
		return TT_ERR_NO_MEMORY;
	memcpy(d, json_string_value(v), n);
	d[n] = '\0';
	*out = d;
	if (outlen != NULL)
		*outlen = n;
	return 0;
}

/* One fixed-width decimal field of a timestamp, through the project's number parser. */
static int date_field(const char *s, size_t n, uint32_t min, uint32_t max, uint32_t *out)
{
	char tmp[8];

	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return TT_ERR_DATA_INVALID;
	/* Leading zeros off: tt_parse_u32 reads "0"-prefixed text as octal. */
	while (n > 1 && s[0] == '0') {
		s++;
		n--;
	}
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	return tt_parse_u32(tmp, min, max, out) == 0 ? 0 : TT_ERR_DATA_INVALID;
}

/* "YYYY-MM-DDTHH:MM:SSZ" (optionally with fractional seconds, which Intel's PCS does not
 * emit but RFC 3339 allows) to seconds since the epoch, UTC. */
static int parse_time(const char *s, time_t *out)
{
	uint32_t y, mo, d, h, mi, se;
	struct tm tm;
	size_t n;
	time_t t;

	if (s == NULL || (n = strlen(s)) < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' ||
	    s[13] != ':' || s[16] != ':')
		return TT_ERR_DATA_INVALID;
	if (date_field(s, 4, 1970, 9999, &y) != 0 || date_field(s + 5, 2, 1, 12, &mo) != 0 ||
	    date_field(s + 8, 2, 1, 31, &d) != 0 || date_field(s + 11, 2, 0, 23, &h) != 0 ||
	    date_field(s + 14, 2, 0, 59, &mi) != 0 || date_field(s + 17, 2, 0, 60, &se) != 0)
		return TT_ERR_DATA_INVALID;
	if (s[19] == '.') {
		size_t i = 20;

		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == 20 || i != n - 1 || s[i] != 'Z')
			return TT_ERR_DATA_INVALID;
	} else if (n != 20 || s[19] != 'Z') {
		return TT_ERR_DATA_INVALID;
	}
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = (int)y - 1900;
	tm.tm_mon = (int)mo - 1;
	tm.tm_mday = (int)d;
	tm.tm_hour = (int)h;
	tm.tm_min = (int)mi;
	tm.tm_sec = (int)se;
	if ((t = timegm(&tm)) == (time_t)-1)
		return TT_ERR_DATA_INVALID;
	*out = t;
	return 0;
}

static void adv_clear(struct tt_dcap_advisories *a)
{
	for (unsigned i = 0; i < a->n; i++)
		free(a->id[i]);
	free(a->id);
	a->id = NULL;
	a->n = 0;
}

static int parse_advisories(const json_t *lvl, struct tt_dcap_advisories *a)
{
	const json_t *arr = json_object_get(lvl, "advisoryIDs");
	size_t n;

	if (arr == NULL)
		return 0;
	if (!json_is_array(arr))
		return TT_ERR_DATA_INVALID;
	if ((n = json_array_size(arr)) > TT_DCAP_MAX_ADVISORIES)
		return TT_ERR_LIMIT;
	if (n == 0)
		return 0;
	if ((a->id = calloc(n, sizeof(*a->id))) == NULL)
		return TT_ERR_NO_MEMORY;
	for (size_t i = 0; i < n; i++) {
		const json_t *v = json_array_get(arr, i);

		if (!json_is_string(v) || json_string_length(v) == 0 ||
		    json_string_length(v) > 64)
			return TT_ERR_DATA_INVALID;
		if ((a->id[i] = strdup(json_string_value(v))) == NULL)
			return TT_ERR_NO_MEMORY;
		a->n++;
	}
	return 0;
}

/* "sgxtcbcomponents"/"tdxtcbcomponents": 16 objects with an "svn" each. */
static int parse_components(const json_t *tcb, const char *key, uint8_t out[16])
{
	const json_t *arr = json_object_get(tcb, key);
	uint64_t v;

	if (!json_is_array(arr) || json_array_size(arr) != 16)
		return TT_ERR_DATA_INVALID;
	for (size_t i = 0; i < 16; i++) {
		if (int_member(json_array_get(arr, i), "svn", 255, &v) != 0)
			return TT_ERR_DATA_INVALID;
		out[i] = (uint8_t)v;
	}
	return 0;
}

enum level_kind { LEVEL_PLATFORM, LEVEL_ISVSVN };

static int parse_level(const json_t *lvl, enum level_kind kind, bool tdx, unsigned version,
	struct tt_dcap_tcb_level *out)
{
	const json_t *tcb = json_object_get(lvl, "tcb");
	const char *date = str_member(lvl, "tcbDate");
	const char *st = str_member(lvl, "tcbStatus");
	uint64_t v;
	int e;

	if (!json_is_object(tcb) || st == NULL || status_from_name(st, &out->status) != 0)
		return TT_ERR_DATA_INVALID;
	if (date != NULL && parse_time(date, &out->tcb_date) != 0)
		return TT_ERR_DATA_INVALID;
	if (kind == LEVEL_ISVSVN) {
		if (int_member(tcb, "isvsvn", 65535, &v) != 0)
			return TT_ERR_DATA_INVALID;
		out->isvsvn = (uint16_t)v;
	} else if (version >= 3) {
		if ((e = parse_components(tcb, "sgxtcbcomponents", out->sgx)) != 0)
			return e;
		if (tdx) {
			if ((e = parse_components(tcb, "tdxtcbcomponents", out->tdx)) != 0)
				return e;
			out->has_tdx = true;
		}
		if (int_member(tcb, "pcesvn", 65535, &v) != 0)
			return TT_ERR_DATA_INVALID;
		out->pcesvn = (uint16_t)v;
	} else {
		for (unsigned i = 0; i < 16; i++) {
			char key[24];

			snprintf(key, sizeof(key), "sgxtcbcomp%02usvn", i + 1);
			if (int_member(tcb, key, 255, &v) != 0)
				return TT_ERR_DATA_INVALID;
			out->sgx[i] = (uint8_t)v;
		}
		if (int_member(tcb, "pcesvn", 65535, &v) != 0)
			return TT_ERR_DATA_INVALID;
		out->pcesvn = (uint16_t)v;
	}
	return parse_advisories(lvl, &out->adv);
}

static void levels_free(struct tt_dcap_tcb_level *l, unsigned n)
{
	for (unsigned i = 0; l != NULL && i < n; i++)
		adv_clear(&l[i].adv);
	free(l);
}

static int parse_levels(const json_t *arr, enum level_kind kind, bool tdx, unsigned version,
	struct tt_dcap_tcb_level **out, unsigned *nout)
{
	struct tt_dcap_tcb_level *l;
	size_t n;
	int e;

	if (!json_is_array(arr) || (n = json_array_size(arr)) == 0)
		return TT_ERR_DATA_INVALID;
	if (n > TT_DCAP_MAX_LEVELS)
		return TT_ERR_LIMIT;
	if ((l = calloc(n, sizeof(*l))) == NULL)
		return TT_ERR_NO_MEMORY;
	for (size_t i = 0; i < n; i++) {
		if ((e = parse_level(json_array_get(arr, i), kind, tdx, version, &l[i])) != 0) {
			levels_free(l, (unsigned)n);
			return e;
		}
	}
	*out = l;
	*nout = (unsigned)n;
	return 0;
}

static int parse_module(const json_t *o, bool with_levels, struct tt_dcap_module_identity *m)
{
	const char *id = str_member(o, "id");

	if (hex_member(o, "mrsigner", m->mrsigner, 48) != 0 ||
	    hex_member(o, "attributes", m->attributes, 8) != 0 ||
	    hex_member(o, "attributesMask", m->attributes_mask, 8) != 0)
		return TT_ERR_DATA_INVALID;
	if (!with_levels)
		return 0;
	if (id == NULL || strlen(id) >= sizeof(m->id))
		return TT_ERR_DATA_INVALID;
	memcpy(m->id, id, strlen(id) + 1);
	return parse_levels(json_object_get(o, "tcbLevels"), LEVEL_ISVSVN, false, 3, &m->levels,
		&m->nlevels);
}

void tt_dcap_tcb_info_clear(struct tt_dcap_tcb_info *t)
{
	if (t == NULL)
		return;
	levels_free(t->levels, t->nlevels);
	for (unsigned i = 0; t->module_ids != NULL && i < t->nmodule_ids; i++)
		levels_free(t->module_ids[i].levels, t->module_ids[i].nlevels);
	free(t->module_ids);
	memset(t, 0, sizeof(*t));
}

static int parse_tcb_info(const json_t *o, struct tt_dcap_tcb_info *t)
{
	const char *id = str_member(o, "id");
	const json_t *ids;
	uint64_t v;
	int e;

	if (!json_is_object(o))
		return TT_ERR_DATA_INVALID;
	if (int_member(o, "version", 3, &v) != 0 || v < 2)
		return TT_ERR_NOT_SUPPORTED;
	t->version = (unsigned)v;
	if (t->version >= 3) {
		if (id == NULL || (strcmp(id, "TDX") != 0 && strcmp(id, "SGX") != 0))
			return TT_ERR_DATA_INVALID;
		t->tdx = strcmp(id, "TDX") == 0;
	}
	if (parse_time(str_member(o, "issueDate"), &t->issue_date) != 0 ||
	    parse_time(str_member(o, "nextUpdate"), &t->next_update) != 0 ||
	    hex_member(o, "fmspc", t->fmspc, 6) != 0 ||
	    hex_member(o, "pceId", t->pce_id, 2) != 0 ||
	    int_member(o, "tcbEvaluationDataNumber", UINT32_MAX, &v) != 0)
		return TT_ERR_DATA_INVALID;
	t->tcb_eval_num = (uint32_t)v;
	/* tcbType 0 is the only comparison rule Intel defines (component by component, as
	 * dcap_verify.c does); another would need another rule. */
	if (json_object_get(o, "tcbType") != NULL &&
	    (int_member(o, "tcbType", 0, &v) != 0))
		return TT_ERR_NOT_SUPPORTED;
	if (t->tdx) {
		const json_t *mod = json_object_get(o, "tdxModule");

		if (mod != NULL) {
			if ((e = parse_module(mod, false, &t->module)) != 0)
				return e;
			t->has_module = true;
		}
		if ((ids = json_object_get(o, "tdxModuleIdentities")) != NULL) {
			size_t n;

			if (!json_is_array(ids))
				return TT_ERR_DATA_INVALID;
			if ((n = json_array_size(ids)) > TT_DCAP_MAX_MODULE_IDS)
				return TT_ERR_LIMIT;
			if (n > 0 && (t->module_ids = calloc(n, sizeof(*t->module_ids))) == NULL)
				return TT_ERR_NO_MEMORY;
			for (size_t i = 0; i < n; i++) {
				e = parse_module(json_array_get(ids, i), true, &t->module_ids[i]);
				t->nmodule_ids++;
				if (e != 0)
					return e;
			}
		}
	}
	return parse_levels(json_object_get(o, "tcbLevels"), LEVEL_PLATFORM, t->tdx, t->version,
		&t->levels, &t->nlevels);
}

int tt_dcap_tcb_info_parse(const char *json, size_t len, struct tt_dcap_tcb_info *out)
{
	struct tt_dcap_tcb_info t;
	json_t *o = NULL;
	int e;

	memset(&t, 0, sizeof(t));
	if ((e = tt_json_parse(json, len, JSON_DEPTH, &o, NULL)) != 0)
		return e;
	e = parse_tcb_info(o, &t);
	json_decref(o);
	if (e != 0) {
		tt_dcap_tcb_info_clear(&t);
		return e;
	}
	*out = t;
	return 0;
}

void tt_dcap_qe_identity_clear(struct tt_dcap_qe_identity *q)
{
	if (q == NULL)
		return;
	levels_free(q->levels, q->nlevels);
	memset(q, 0, sizeof(q[0]));
}

static int parse_qe_identity(const json_t *o, struct tt_dcap_qe_identity *q)
{
	const char *id = str_member(o, "id");
	uint8_t w[4];
	uint64_t v;

	if (!json_is_object(o))
		return TT_ERR_DATA_INVALID;
	if (int_member(o, "version", 2, &v) != 0 || v != 2)
		return TT_ERR_NOT_SUPPORTED;
	q->version = (unsigned)v;
	if (id == NULL || (strcmp(id, "QE") != 0 && strcmp(id, "TD_QE") != 0))
		return TT_ERR_DATA_INVALID;
	q->td_qe = strcmp(id, "TD_QE") == 0;
	if (parse_time(str_member(o, "issueDate"), &q->issue_date) != 0 ||
	    parse_time(str_member(o, "nextUpdate"), &q->next_update) != 0 ||
	    int_member(o, "tcbEvaluationDataNumber", UINT32_MAX, &v) != 0)
		return TT_ERR_DATA_INVALID;
	q->tcb_eval_num = (uint32_t)v;
	/* miscselect is written as the big-endian hex of the 32-bit value. */
	if (hex_member(o, "miscselect", w, 4) != 0)
		return TT_ERR_DATA_INVALID;
	q->miscselect = (uint32_t)w[0] << 24 | (uint32_t)w[1] << 16 | (uint32_t)w[2] << 8 | w[3];
	if (hex_member(o, "miscselectMask", w, 4) != 0)
		return TT_ERR_DATA_INVALID;
	q->miscselect_mask = (uint32_t)w[0] << 24 | (uint32_t)w[1] << 16 | (uint32_t)w[2] << 8 |
		w[3];
	if (hex_member(o, "attributes", q->attributes, 16) != 0 ||
	    hex_member(o, "attributesMask", q->attributes_mask, 16) != 0 ||
	    hex_member(o, "mrsigner", q->mrsigner, 32) != 0 ||
	    int_member(o, "isvprodid", 65535, &v) != 0)
		return TT_ERR_DATA_INVALID;
	q->isvprodid = (uint16_t)v;
	return parse_levels(json_object_get(o, "tcbLevels"), LEVEL_ISVSVN, false, 2, &q->levels,
		&q->nlevels);
}

int tt_dcap_qe_identity_parse(const char *json, size_t len, struct tt_dcap_qe_identity *out)
{
	struct tt_dcap_qe_identity q;
	json_t *o = NULL;
	int e;

	memset(&q, 0, sizeof(q));
	if ((e = tt_json_parse(json, len, JSON_DEPTH, &o, NULL)) != 0)
		return e;
	e = parse_qe_identity(o, &q);
	json_decref(o);
	if (e != 0) {
		tt_dcap_qe_identity_clear(&q);
		return e;
	}
	*out = q;
	return 0;
}

void tt_dcap_collateral_free(struct tt_dcap_collateral *c)
{
	if (c == NULL)
		return;
	free(c->pck_crl_issuer_chain);
	free(c->root_ca_crl);
	free(c->pck_crl);
	free(c->tcb_info_issuer_chain);
	free(c->tcb_info_json);
	free(c->qe_identity_issuer_chain);
	free(c->qe_identity_json);
	tt_dcap_tcb_info_clear(&c->tcb_info);
	tt_dcap_qe_identity_clear(&c->qe_identity);
	free(c);
}

int tt_dcap_collateral_parse(const char *json, size_t len, struct tt_dcap_collateral **out)
{
	struct tt_dcap_collateral *c = NULL;
	json_t *o = NULL;
	int e;

	if (json == NULL || out == NULL)
		return TT_ERR_INVALID_ARGUMENT;
	if (len > TT_DCAP_MAX_COLLATERAL)
		return TT_ERR_LIMIT;
	if ((e = tt_json_parse(json, len, JSON_DEPTH, &o, NULL)) != 0)
		return e;
	if (!json_is_object(o)) {
		e = TT_ERR_DATA_INVALID;
		goto out;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		e = TT_ERR_NO_MEMORY;
		goto out;
	}
	if ((e = dup_member(o, "pck_crl_issuer_chain", &c->pck_crl_issuer_chain, NULL)) != 0 ||
	    (e = hex_alloc(o, "root_ca_crl", &c->root_ca_crl, &c->root_ca_crl_len)) != 0 ||
	    (e = hex_alloc(o, "pck_crl", &c->pck_crl, &c->pck_crl_len)) != 0 ||
	    (e = dup_member(o, "tcb_info_issuer_chain", &c->tcb_info_issuer_chain, NULL)) != 0 ||
	    (e = dup_member(o, "tcb_info", &c->tcb_info_json, &c->tcb_info_json_len)) != 0 ||
	    (e = hex_member(o, "tcb_info_signature", c->tcb_info_sig, 64)) != 0 ||
	    (e = dup_member(o, "qe_identity_issuer_chain", &c->qe_identity_issuer_chain,
		NULL)) != 0 ||
	    (e = dup_member(o, "qe_identity", &c->qe_identity_json,
		&c->qe_identity_json_len)) != 0 ||
	    (e = hex_member(o, "qe_identity_signature", c->qe_identity_sig, 64)) != 0)
		goto out;
	if ((e = tt_dcap_tcb_info_parse(c->tcb_info_json, c->tcb_info_json_len,
		&c->tcb_info)) != 0 ||
	    (e = tt_dcap_qe_identity_parse(c->qe_identity_json, c->qe_identity_json_len,
		&c->qe_identity)) != 0)
		goto out;
	*out = c;
	c = NULL;
out:
	if (e == TT_ERR_PARSE && o != NULL)
		e = TT_ERR_DATA_INVALID;
	tt_dcap_collateral_free(c);
	json_decref(o);
	return e;
}
