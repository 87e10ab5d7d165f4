/*
 * TDX CC event log (ACPI CCEL table contents): a TCG2 crypto-agile log whose "PCR index"
 * is the TDX measurement register index: 0 MRTD, 1-4 RTMR 0-3 (UEFI 2.10 EFI_CC_MEASUREMENT
 * protocol). Only RTMRs can be replayed (MRTD is built by the TDX module from the initial
 * pages), so a measured event for any other index is refused: an event that no signed
 * register covers must not become a claim. Every event counts; the replay must equal the
 * RTMRs of the signed TD report exactly.
 *
 * Layout: first event in the SHA-1 TCG_PCR_EVENT format carrying the "Spec ID Event03"
 * header (algorithms and digest sizes), then TCG_PCR_EVENT2 events. The table is padded
 * with 0xff (or zeros) after the last event.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "dcap.h"
#include "turtle/error.h"
#include "util/b64.h"
#include "util/buf.h"
#include "util/hex.h"

#define EV_NO_ACTION 0x3u
#define ALG_SHA384 0x000cu
#define MAX_ALGS 8u
#define MAX_EVENT_DATA (1024u * 1024u)

static const struct {
	uint32_t type;
	const char *name;
} ev_names[] = {
	{ 0x0, "EV_PREBOOT_CERT" }, { 0x1, "EV_POST_CODE" }, { 0x2, "EV_UNUSED" },
	{ 0x3, "EV_NO_ACTION" }, { 0x4, "EV_SEPARATOR" }, { 0x5, "EV_ACTION" },
	{ 0x6, "EV_EVENT_TAG" }, { 0x7, "EV_S_CRTM_CONTENTS" }, { 0x8, "EV_S_CRTM_VERSION" },
	{ 0x9, "EV_CPU_MICROCODE" }, { 0xa, "EV_PLATFORM_CONFIG_FLAGS" },
	{ 0xb, "EV_TABLE_OF_DEVICES" }, { 0xc, "EV_COMPACT_HASH" }, { 0xd, "EV_IPL" },
	{ 0xe, "EV_IPL_PARTITION_DATA" }, { 0xf, "EV_NONHOST_CODE" },
	{ 0x10, "EV_NONHOST_CONFIG" }, { 0x11, "EV_NONHOST_INFO" },
	{ 0x12, "EV_OMIT_BOOT_DEVICE_EVENTS" },
	{ 0x80000001, "EV_EFI_VARIABLE_DRIVER_CONFIG" }, { 0x80000002, "EV_EFI_VARIABLE_BOOT" },
	{ 0x80000003, "EV_EFI_BOOT_SERVICES_APPLICATION" },
	{ 0x80000004, "EV_EFI_BOOT_SERVICES_DRIVER" },
	{ 0x80000005, "EV_EFI_RUNTIME_SERVICES_DRIVER" }, { 0x80000006, "EV_EFI_GPT_EVENT" },
	{ 0x80000007, "EV_EFI_ACTION" }, { 0x80000008, "EV_EFI_PLATFORM_FIRMWARE_BLOB" },
	{ 0x80000009, "EV_EFI_HANDOFF_TABLES" }, { 0x8000000a, "EV_EFI_PLATFORM_FIRMWARE_BLOB2" },
	{ 0x8000000b, "EV_EFI_HANDOFF_TABLES2" }, { 0x8000000c, "EV_EFI_VARIABLE_BOOT2" },
	{ 0x80000010, "EV_EFI_HCRTM_EVENT" }, { 0x800000e0, "EV_EFI_VARIABLE_AUTHORITY" },
	{ 0x800000e1, "EV_EFI_SPDM_FIRMWARE_BLOB" }, { 0x800000e2, "EV_EFI_SPDM_FIRMWARE_CONFIG" },
};

static const char *ev_name(uint32_t t)
{
	for (size_t i = 0; i < sizeof(ev_names) / sizeof(ev_names[0]); i++)
		if (ev_names[i].type == t)
			return ev_names[i].name;
	return "UNKNOWN";
}

static const char *alg_name(uint16_t a)
{
	switch (a) {
	case 0x0004: return "SHA-1";
	case 0x000b: return "SHA-256";
	case 0x000c: return "SHA-384";
	case 0x000d: return "SHA-512";
	case 0x0012: return "SM3";
	default: return "UNKNOWN";
	}
}

struct algs {
	unsigned n;
	uint16_t id[MAX_ALGS];
	uint16_t size[MAX_ALGS];
};

static int spec_id(struct tt_buf *b, struct algs *a)
{
	uint32_t pcr, type, size, nalg;
	const uint8_t *data;
	struct tt_buf s;
	uint8_t vsz;
	int e;

	if ((e = tt_buf_get_u32le(b, &pcr)) != 0 || (e = tt_buf_get_u32le(b, &type)) != 0 ||
	    (e = tt_buf_skip(b, 20)) != 0 || (e = tt_buf_get_u32le(b, &size)) != 0 ||
	    (e = tt_buf_get_ref(b, size, &data)) != 0)
		return e;
	if (type != EV_NO_ACTION || size < 29 || memcmp(data, "Spec ID Event03", 16) != 0)
		return TT_ERR_DATA_INVALID;
	tt_buf_init_ro(&s, data, size);
	if ((e = tt_buf_skip(&s, 24)) != 0 || (e = tt_buf_get_u32le(&s, &nalg)) != 0)
		return e;
	if (nalg == 0 || nalg > MAX_ALGS)
		return TT_ERR_DATA_INVALID;
	for (uint32_t i = 0; i < nalg; i++) {
		if ((e = tt_buf_get_u16le(&s, &a->id[i])) != 0 ||
		    (e = tt_buf_get_u16le(&s, &a->size[i])) != 0)
			return e;
		if (a->size[i] == 0 || a->size[i] > 64)
			return TT_ERR_DATA_INVALID;
		if (a->id[i] == ALG_SHA384 && a->size[i] != 48)
			return TT_ERR_DATA_INVALID;
	}
	a->n = nalg;
	if ((e = tt_buf_get_u8(&s, &vsz)) != 0 || (e = tt_buf_skip(&s, vsz)) != 0)
		return e;
	return tt_buf_expect_end(&s) == 0 ? 0 : TT_ERR_DATA_INVALID;
}

/* The rest of the table is unused space (all 0xff or all 0x00 bytes). */
static bool padding(const struct tt_buf *b)
{
	const uint8_t *p = tt_buf_ptr(b);
	size_t n = tt_buf_avail(b);

	if (n == 0)
		return true;
	if (p[0] != 0xff && p[0] != 0x00)
		return false;
	for (size_t i = 1; i < n; i++)
		if (p[i] != p[0])
			return false;
	return true;
}

/* SHA-384 of n bytes equals digest. */
static bool covers(const uint8_t *d, size_t n, const uint8_t *digest)
{
	uint8_t h[48];
	unsigned hl = 0;

	return EVP_Digest(d, n, h, &hl, EVP_sha384(), NULL) == 1 && hl == 48 &&
		memcmp(h, digest, 48) == 0;
}

/* A printable-ASCII description (EV_ACTION, EV_IPL, EV_EFI_ACTION), without trailing
 * NULs, and only when the event's digest is the hash of that data: the registers vouch
 * for digests, not for what a log says next to them. */
static json_t *details(uint32_t type, const uint8_t *d, size_t n, const uint8_t *digest)
{
	json_t *o = json_object();
	size_t full = n;
	char *s;

	if (o == NULL)
		return NULL;
	if (type != 0x5 && type != 0xd && type != 0x80000007)
		return o;
	while (n > 0 && d[n - 1] == 0)
		n--;
	if (!covers(d, full, digest) && !covers(d, n, digest))
		return o;
	if (n == 0 || n > 4096)
		return o;
	for (size_t i = 0; i < n; i++)
		if (d[i] < 0x20 || d[i] > 0x7e)
			return o;
	/* Not strndup: the event data is not NUL-terminated. */
	if ((s = malloc(n + 1)) == NULL) {
		json_decref(o);
		return NULL;
	}
	memcpy(s, d, n);
	s[n] = '\0';
	json_object_set_new(o, "string", json_string(s));
	free(s);
	return o;
}

static int event_json(json_t *arr, uint32_t idx, uint32_t type, json_t *digests,
	const uint8_t *data, size_t n, const uint8_t *sha384)
{
	json_t *ev = json_object();
	char tbuf[16], *b64 = NULL;
	int e;

	if (ev == NULL || tt_b64_encode_dup(data, n, TT_B64_STD, &b64) != 0) {
		json_decref(ev);
		json_decref(digests);
		return TT_ERR_NO_MEMORY;
	}
	snprintf(tbuf, sizeof(tbuf), "0x%08X", type);
	e = json_object_set_new(ev, "details", details(type, data, n, sha384)) ||
		json_object_set_new(ev, "digests", digests) ||
		json_object_set_new(ev, "event", json_string(b64)) ||
		json_object_set_new(ev, "index", json_integer(idx)) ||
		json_object_set_new(ev, "type", json_string(tbuf)) ||
		json_object_set_new(ev, "type_name", json_string(ev_name(type)));
	free(b64);
	if (e != 0 || json_array_append_new(arr, ev) != 0)
		return TT_ERR_NO_MEMORY;
	return 0;
}

int tt_dcap_ccel_replay(const uint8_t *log, size_t len, const uint8_t rtmr[4][48],
	json_t **events)
{
	uint8_t reg[4][48];
	struct tt_buf b;
	struct algs a;
	json_t *arr = NULL;
	EVP_MD_CTX *md = NULL;
	unsigned count = 0;
	int e;

	if (log == NULL || rtmr == NULL)
		return TT_ERR_INVALID_ARGUMENT;
	if (len > TT_DCAP_MAX_CCEL)
		return TT_ERR_LIMIT;
	memset(reg, 0, sizeof(reg));
	memset(&a, 0, sizeof(a));
	tt_buf_init_ro(&b, log, len);
	if ((e = spec_id(&b, &a)) != 0)
		return e == TT_ERR_TRUNCATED ? TT_ERR_DATA_INVALID : e;
	if ((arr = json_array()) == NULL || (md = EVP_MD_CTX_new()) == NULL) {
		e = TT_ERR_NO_MEMORY;
		goto out;
	}
	while (!padding(&b)) {
		uint32_t idx, type, ndig, size;
		const uint8_t *sha384 = NULL, *data;
		json_t *digs;

		if (++count > TT_DCAP_MAX_CCEL_EVENTS) {
			e = TT_ERR_LIMIT;
			goto out;
		}
		if ((e = tt_buf_get_u32le(&b, &idx)) != 0 ||
		    (e = tt_buf_get_u32le(&b, &type)) != 0 ||
		    (e = tt_buf_get_u32le(&b, &ndig)) != 0)
			goto bad;
		if (ndig != a.n)            /* one digest per algorithm of the header */
			goto bad;
		if ((digs = json_array()) == NULL) {
			e = TT_ERR_NO_MEMORY;
			goto out;
		}
		for (uint32_t i = 0; i < ndig; i++) {
			const uint8_t *d;
			uint16_t alg;
			unsigned k;
			char hx[129];
			json_t *dj;

			if (tt_buf_get_u16le(&b, &alg) != 0) {
				json_decref(digs);
				goto bad;
			}
			for (k = 0; k < a.n && a.id[k] != alg; k++)
				;
			if (k == a.n || tt_buf_get_ref(&b, a.size[k], &d) != 0) {
				json_decref(digs);
				goto bad;
			}
			if (alg == ALG_SHA384)
				sha384 = d;
			tt_hex_encode(d, a.size[k], hx);
			dj = json_pack("{s:s, s:s}", "alg", alg_name(alg), "digest", hx);
			if (dj == NULL || json_array_append_new(digs, dj) != 0) {
				json_decref(digs);
				e = TT_ERR_NO_MEMORY;
				goto out;
			}
		}
		if (tt_buf_get_u32le(&b, &size) != 0 || size > MAX_EVENT_DATA ||
		    tt_buf_get_ref(&b, size, &data) != 0) {
			json_decref(digs);
			goto bad;
		}
		if (type == EV_NO_ACTION) {     /* informational, extends nothing */
			json_decref(digs);
			continue;
		}
		if (idx < 1 || idx > 4 || sha384 == NULL) {
			json_decref(digs);
			goto bad;
		}
		if (EVP_DigestInit_ex(md, EVP_sha384(), NULL) != 1 ||
		    EVP_DigestUpdate(md, reg[idx - 1], 48) != 1 ||
		    EVP_DigestUpdate(md, sha384, 48) != 1 ||
		    EVP_DigestFinal_ex(md, reg[idx - 1], NULL) != 1) {
			json_decref(digs);
			e = TT_ERR_NO_MEMORY;
			goto out;
		}
		if ((e = event_json(arr, idx, type, digs, data, size, sha384)) != 0)
			goto out;
	}
	if (memcmp(reg, rtmr, sizeof(reg)) != 0)
		goto bad;
	if (events != NULL) {
		*events = arr;
		arr = NULL;
	}
	e = 0;
	goto out;
bad:
	e = TT_ERR_DATA_INVALID;
out:
	EVP_MD_CTX_free(md);
	json_decref(arr);
	return e;
}
