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

/* Printable ASCII of n bytes (trailing NULs dropped) as a JSON string, or NULL. */
static json_t *ascii(const uint8_t *d, size_t n)
{
	json_t *j;
	char *s;

	while (n > 0 && d[n - 1] == 0)
		n--;
	if (n == 0 || n > 4096)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (d[i] < 0x20 || d[i] > 0x7e)
			return NULL;
	/* Not strndup: the event data is not NUL-terminated. */
	if ((s = malloc(n + 1)) == NULL)
		return NULL;
	memcpy(s, d, n);
	s[n] = '\0';
	j = json_string(s);
	free(s);
	return j;
}

/* UEFI_IMAGE_LOAD_EVENT's device path as one text per node: "File(<path>)" for media
 * file-path nodes (type 4, subtype 4, UTF-16 ASCII name), "Path(<type>,<subtype>)" for
 * the others; NULL when the structure does not parse. */
static json_t *device_paths(const uint8_t *d, size_t n)
{
	struct tt_buf b, p;
	uint64_t skip, plen;
	const uint8_t *path;
	json_t *arr;

	tt_buf_init_ro(&b, d, n);
	if (tt_buf_get_u64le(&b, &skip) != 0 || tt_buf_get_u64le(&b, &skip) != 0 ||
	    tt_buf_get_u64le(&b, &skip) != 0 || tt_buf_get_u64le(&b, &plen) != 0 ||
	    plen > tt_buf_avail(&b) || tt_buf_get_ref(&b, (size_t)plen, &path) != 0)
		return NULL;
	if ((arr = json_array()) == NULL)
		return NULL;
	tt_buf_init_ro(&p, path, (size_t)plen);
	while (tt_buf_avail(&p) > 0 && json_array_size(arr) < 64) {
		uint8_t type, sub;
		uint16_t len;
		const uint8_t *node;
		char txt[300];

		if (tt_buf_get_u8(&p, &type) != 0 || tt_buf_get_u8(&p, &sub) != 0 ||
		    tt_buf_get_u16le(&p, &len) != 0 || len < 4 ||
		    tt_buf_get_ref(&p, len - 4u, &node) != 0)
			break;
		if (type == 0x7f && sub == 0xff)
			break;
		if (type == 4 && sub == 4) {
			size_t k = 0;

			for (size_t i = 0; i + 1 < (size_t)len - 4 && k < 255; i += 2) {
				if (node[i + 1] != 0 || node[i] == 0)
					break;
				txt[5 + k++] = node[i] >= 0x20 && node[i] <= 0x7e ? (char)node[i] : '?';
			}
			memcpy(txt, "File(", 5);
			txt[5 + k] = ')';
			txt[6 + k] = '\0';
		} else {
			snprintf(txt, sizeof(txt), "Path(%u,%u)", type, sub);
		}
		json_array_append_new(arr, json_string(txt));
	}
	return arr;
}

/*
 * What the event data says, in Trustee's shape: "string" for EV_ACTION, EV_IPL,
 * EV_EFI_ACTION (the text) and EV_EVENT_TAG (the tagged event's text, e.g.
 * "LOADED_IMAGE::LoadOptions"), "device_paths" for EV_EFI_BOOT_SERVICES_APPLICATION.
 * These are labels: the registers vouch for the digests only. "data_measured" says
 * whether the digest is the SHA-384 of the event data itself (true for action and IPL
 * strings, false for tags and images, whose digests cover what they name), so a strict
 * policy can tell a bound label from a descriptive one; policies compare digests.
 */
static json_t *details(uint32_t type, const uint8_t *d, size_t n, const uint8_t *digest)
{
	json_t *o = json_object(), *v = NULL;
	const char *key = "string";

	if (o == NULL)
		return NULL;
	if (type == 0x5 || type == 0xd || type == 0x80000007) {
		v = ascii(d, n);
	} else if (type == 0x6) {             /* TCG_PCClientTaggedEvent: id, size, data */
		struct tt_buf b;
		uint32_t id, len;
		const uint8_t *t;

		tt_buf_init_ro(&b, d, n);
		if (tt_buf_get_u32le(&b, &id) == 0 && tt_buf_get_u32le(&b, &len) == 0 &&
		    tt_buf_get_ref(&b, len, &t) == 0)
			v = ascii(t, len);
	} else if (type == 0x80000003) {
		v = device_paths(d, n);
		key = "device_paths";
	}
	if (v != NULL)
		json_object_set_new(o, key, v);
	json_object_set_new(o, "data_measured", json_boolean(covers(d, n, digest)));
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
