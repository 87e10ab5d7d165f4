/*
 * The SEV-SNP report as Trustee's SNP attester sends it: the sev crate's serde JSON of
 * the firmware's 1184-byte report. turtle-as rebuilds the bytes from it (the signature
 * covers the bytes); libturtle makes it from the bytes configfs-tsm returns. One field
 * table serves both directions, so they cannot drift apart.
 *
 * Shapes: byte arrays are [numbers 0..255] (serde's Vec<u8>; a base64 string is accepted
 * when reading), integers are JSON numbers, a TCB_VERSION is {"fmc": n|null, "bootloader",
 * "tee", "snp", "microcode"} (Turin's layout when "fmc" is a number), a firmware version
 * is {"major", "minor", "build"}, and the signature is {"r", "s"} (72 bytes each, little
 * endian). Fields a report version lacks (CPUID before v3, mitigation vectors before v5)
 * are absent or null.
 */
#include <stdlib.h>
#include <string.h>

#include "snp.h"
#include "turtle/error.h"
#include "util/b64.h"

static const struct { const char *k; size_t off, n; } snp_arrs[] = {
	{ "family_id", 0x10, 16 }, { "image_id", 0x20, 16 }, { "report_data", 0x50, 64 },
	{ "measurement", 0x90, 48 }, { "host_data", 0xC0, 32 },
	{ "id_key_digest", 0xE0, 48 }, { "author_key_digest", 0x110, 48 },
	{ "report_id", 0x140, 32 }, { "report_id_ma", 0x160, 32 }, { "chip_id", 0x1A0, 64 },
};
static const struct { const char *k; size_t off, n; uint64_t max; } snp_ints[] = {
	{ "version", 0x00, 4, 0xffffffffu }, { "guest_svn", 0x04, 4, 0xffffffffu },
	{ "policy", 0x08, 8, INT64_MAX }, { "vmpl", 0x30, 4, 0xffffffffu },
	{ "sig_algo", 0x34, 4, 0xffffffffu }, { "plat_info", 0x40, 8, INT64_MAX },
	{ "key_info", 0x48, 4, 0xffffffffu },
};
/* version 3 and later */
static const struct { const char *k; size_t off; } snp_cpuid[] = {
	{ "cpuid_fam_id", 0x188 }, { "cpuid_mod_id", 0x189 }, { "cpuid_step", 0x18A },
};
static const struct { const char *k; size_t off; } snp_tcbs[] = {
	{ "current_tcb", 0x38 }, { "reported_tcb", 0x180 }, { "committed_tcb", 0x1E0 },
	{ "launch_tcb", 0x1F0 },
};
static const struct { const char *k; size_t off; } snp_vers[] = {
	{ "current", 0x1E8 }, { "committed", 0x1EC },
};
/* version 5 and later */
static const struct { const char *k; size_t off; } snp_mits[] = {
	{ "launch_mit_vector", 0x1F8 }, { "current_mit_vector", 0x200 },
};
#define SNP_SIG_R 0x2A0
#define SNP_SIG_S 0x2E8
#define SNP_SIG_LEN 72
#define SNP_CPUID_FAM_TURIN 0x1A

int
tt_snp_json_bytes(const json_t *v, size_t max, uint8_t **out, size_t *len)
{
	uint8_t *d;
	size_t n = 0, i;
	const json_t *e;

	if (json_is_string(v)) {
		size_t il = json_string_length(v);

		if (il == 0)
			return TT_ERR_DATA_INVALID;
		if (tt_b64_dec_max(il) > max + 3)
			return TT_ERR_LIMIT;
		if ((d = malloc(tt_b64_dec_max(il) + 1)) == NULL)
			return TT_ERR_NO_MEMORY;
		if (tt_b64_decode(json_string_value(v), il, TT_B64_ANY, d, tt_b64_dec_max(il),
		    &n) != 0 || n > max) {
			free(d);
			return TT_ERR_DATA_INVALID;
		}
		*out = d;
		*len = n;
		return 0;
	}
	if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > max)
		return TT_ERR_DATA_INVALID;
	if ((d = malloc(json_array_size(v))) == NULL)
		return TT_ERR_NO_MEMORY;
	json_array_foreach(v, i, e) {
		json_int_t x = json_integer_value(e);

		if (!json_is_integer(e) || x < 0 || x > 255) {
			free(d);
			return TT_ERR_DATA_INVALID;
		}
		d[n++] = (uint8_t)x;
	}
	*out = d;
	*len = n;
	return 0;
}

json_t *
tt_snp_json_array(const uint8_t *p, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a != NULL && i < n; i++)
		if (json_array_append_new(a, json_integer(p[i])) != 0) {
			json_decref(a);
			a = NULL;
		}
	return a;
}

/* ---- JSON -> bytes ---- */

static int
put_arr(const json_t *rep, const char *k, uint8_t *dst, size_t n)
{
	uint8_t *d = NULL;
	size_t l = 0;
	int e;

	if ((e = tt_snp_json_bytes(json_object_get(rep, k), n, &d, &l)) != 0)
		return e;
	if (l != n) {
		free(d);
		return TT_ERR_DATA_INVALID;
	}
	memcpy(dst, d, n);
	free(d);
	return 0;
}

static int
get_uint(const json_t *o, const char *k, uint64_t max, uint64_t *v)
{
	const json_t *j = json_object_get(o, k);

	if (!json_is_integer(j) || json_integer_value(j) < 0 ||
	    (uint64_t)json_integer_value(j) > max)
		return TT_ERR_DATA_INVALID;
	*v = (uint64_t)json_integer_value(j);
	return 0;
}

static void
put_le(uint8_t *p, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t
get_le(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = n; i > 0; i--)
		v = v << 8 | p[i - 1];
	return v;
}

/* The sev crate's TcbVersion back to the firmware's eight bytes. */
static int
put_tcb(const json_t *rep, const char *k, uint8_t *dst)
{
	const json_t *t = json_object_get(rep, k), *fmc = json_object_get(t, "fmc");
	uint64_t bl, tee, snp, uc, f = 0;

	if (!json_is_object(t) || get_uint(t, "bootloader", 255, &bl) != 0 ||
	    get_uint(t, "tee", 255, &tee) != 0 || get_uint(t, "snp", 255, &snp) != 0 ||
	    get_uint(t, "microcode", 255, &uc) != 0)
		return TT_ERR_DATA_INVALID;
	memset(dst, 0, 8);
	if (fmc != NULL && !json_is_null(fmc)) {
		if (get_uint(t, "fmc", 255, &f) != 0)
			return TT_ERR_DATA_INVALID;
		dst[0] = (uint8_t)f;
		dst[1] = (uint8_t)bl;
		dst[2] = (uint8_t)tee;
		dst[3] = (uint8_t)snp;
	} else {
		dst[0] = (uint8_t)bl;
		dst[1] = (uint8_t)tee;
		dst[6] = (uint8_t)snp;
	}
	dst[7] = (uint8_t)uc;
	return 0;
}

static int
put_ver(const json_t *rep, const char *k, uint8_t *dst)
{
	const json_t *v = json_object_get(rep, k);
	uint64_t ma, mi, b;

	if (v == NULL)
		return 0;
	if (get_uint(v, "major", 255, &ma) != 0 || get_uint(v, "minor", 255, &mi) != 0 ||
	    get_uint(v, "build", 255, &b) != 0)
		return TT_ERR_DATA_INVALID;
	dst[0] = (uint8_t)b;
	dst[1] = (uint8_t)mi;
	dst[2] = (uint8_t)ma;
	return 0;
}

int
tt_snp_report_from_json(const json_t *rep, uint8_t out[TT_SNP_REPORT_LEN])
{
	const json_t *sig = json_object_get(rep, "signature"), *v;
	uint64_t x;
	int e;

	memset(out, 0, TT_SNP_REPORT_LEN);
	if (!json_is_object(rep) || !json_is_object(sig))
		return TT_ERR_DATA_INVALID;
	for (size_t i = 0; i < sizeof(snp_arrs) / sizeof(snp_arrs[0]); i++)
		if ((e = put_arr(rep, snp_arrs[i].k, out + snp_arrs[i].off, snp_arrs[i].n)) != 0)
			return e;
	for (size_t i = 0; i < sizeof(snp_ints) / sizeof(snp_ints[0]); i++) {
		if (get_uint(rep, snp_ints[i].k, snp_ints[i].max, &x) != 0)
			return TT_ERR_DATA_INVALID;
		put_le(out + snp_ints[i].off, x, snp_ints[i].n);
	}
	for (size_t i = 0; i < sizeof(snp_cpuid) / sizeof(snp_cpuid[0]); i++) {
		v = json_object_get(rep, snp_cpuid[i].k);
		if (v == NULL || json_is_null(v))
			continue;
		if (get_uint(rep, snp_cpuid[i].k, 255, &x) != 0)
			return TT_ERR_DATA_INVALID;
		out[snp_cpuid[i].off] = (uint8_t)x;
	}
	for (size_t i = 0; i < sizeof(snp_tcbs) / sizeof(snp_tcbs[0]); i++) {
		v = json_object_get(rep, snp_tcbs[i].k);
		if (v == NULL && strcmp(snp_tcbs[i].k, "reported_tcb") != 0)
			continue;
		if ((e = put_tcb(rep, snp_tcbs[i].k, out + snp_tcbs[i].off)) != 0)
			return e;
	}
	for (size_t i = 0; i < sizeof(snp_vers) / sizeof(snp_vers[0]); i++)
		if ((e = put_ver(rep, snp_vers[i].k, out + snp_vers[i].off)) != 0)
			return e;
	for (size_t i = 0; i < sizeof(snp_mits) / sizeof(snp_mits[0]); i++) {
		v = json_object_get(rep, snp_mits[i].k);
		if (v == NULL || json_is_null(v))
			continue;
		if (get_uint(rep, snp_mits[i].k, INT64_MAX, &x) != 0)
			return TT_ERR_DATA_INVALID;
		put_le(out + snp_mits[i].off, x, 8);
	}
	if ((e = put_arr(sig, "r", out + SNP_SIG_R, SNP_SIG_LEN)) != 0 ||
	    (e = put_arr(sig, "s", out + SNP_SIG_S, SNP_SIG_LEN)) != 0)
		return e;
	return 0;
}

/* ---- bytes -> JSON ---- */

static int
set(json_t *o, const char *k, json_t *v)
{
	return v != NULL && json_object_set_new(o, k, v) == 0 ? 0 : TT_ERR_NO_MEMORY;
}

static json_t *
tcb_json(const uint8_t *t, bool turin)
{
	if (turin)
		return json_pack("{s:i,s:i,s:i,s:i,s:i}", "fmc", t[0], "bootloader", t[1],
		    "tee", t[2], "snp", t[3], "microcode", t[7]);
	return json_pack("{s:n,s:i,s:i,s:i,s:i}", "fmc", "bootloader", t[0], "tee", t[1],
	    "snp", t[6], "microcode", t[7]);
}

int
tt_snp_report_to_json(const uint8_t *p, size_t len, json_t **out)
{
	uint8_t back[TT_SNP_REPORT_LEN];
	json_t *o = NULL, *sig;
	uint32_t version;
	bool turin;
	int e = TT_ERR_NO_MEMORY;

	if (len != TT_SNP_REPORT_LEN)
		return len < TT_SNP_REPORT_LEN ? TT_ERR_TRUNCATED : TT_ERR_TRAILING;
	version = (uint32_t)get_le(p, 4);
	/* Turin (family 0x1A) lays a TCB_VERSION out with an FMC SPL first. */
	turin = version >= 3 && p[snp_cpuid[0].off] == SNP_CPUID_FAM_TURIN;
	if ((o = json_object()) == NULL)
		goto out;
	for (size_t i = 0; i < sizeof(snp_arrs) / sizeof(snp_arrs[0]); i++)
		if ((e = set(o, snp_arrs[i].k, tt_snp_json_array(p + snp_arrs[i].off,
		    snp_arrs[i].n))) != 0)
			goto out;
	for (size_t i = 0; i < sizeof(snp_ints) / sizeof(snp_ints[0]); i++) {
		uint64_t x = get_le(p + snp_ints[i].off, snp_ints[i].n);

		e = TT_ERR_DATA_INVALID;
		if (x > snp_ints[i].max)
			goto out;
		if ((e = set(o, snp_ints[i].k, json_integer((json_int_t)x))) != 0)
			goto out;
	}
	for (size_t i = 0; i < sizeof(snp_cpuid) / sizeof(snp_cpuid[0]); i++)
		if ((e = set(o, snp_cpuid[i].k, version >= 3 ?
		    json_integer(p[snp_cpuid[i].off]) : json_null())) != 0)
			goto out;
	for (size_t i = 0; i < sizeof(snp_tcbs) / sizeof(snp_tcbs[0]); i++)
		if ((e = set(o, snp_tcbs[i].k, tcb_json(p + snp_tcbs[i].off, turin))) != 0)
			goto out;
	for (size_t i = 0; i < sizeof(snp_vers) / sizeof(snp_vers[0]); i++) {
		const uint8_t *v = p + snp_vers[i].off;

		if ((e = set(o, snp_vers[i].k, json_pack("{s:i,s:i,s:i}", "major", v[2],
		    "minor", v[1], "build", v[0]))) != 0)
			goto out;
	}
	for (size_t i = 0; i < sizeof(snp_mits) / sizeof(snp_mits[0]); i++) {
		uint64_t x = get_le(p + snp_mits[i].off, 8);

		e = TT_ERR_DATA_INVALID;
		if (x > INT64_MAX)
			goto out;
		if ((e = set(o, snp_mits[i].k, version >= 5 ? json_integer((json_int_t)x) :
		    json_null())) != 0)
			goto out;
	}
	e = TT_ERR_NO_MEMORY;
	if ((sig = json_object()) == NULL)
		goto out;
	if ((e = set(sig, "r", tt_snp_json_array(p + SNP_SIG_R, SNP_SIG_LEN))) != 0 ||
	    (e = set(sig, "s", tt_snp_json_array(p + SNP_SIG_S, SNP_SIG_LEN))) != 0) {
		json_decref(sig);
		goto out;
	}
	if ((e = set(o, "signature", sig)) != 0)   /* sig is o's (or freed) either way */
		goto out;
	/* Only what the JSON can carry reaches the verifier: the bytes rebuilt from it must
	 * be the bytes that were signed, or the evidence would fail for a reason nobody
	 * could see here. */
	if ((e = tt_snp_report_from_json(o, back)) != 0)
		goto out;
	if (memcmp(back, p, TT_SNP_REPORT_LEN) != 0) {
		e = TT_ERR_DATA_INVALID;
		goto out;
	}
	*out = o;
	return 0;
out:
	json_decref(o);
	return e;
}
