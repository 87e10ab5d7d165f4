/*
 * TCG2 crypto-agile UEFI event log: parse, replay, extract claims.
 *
 * Layout facts (TCG PC Client Platform Firmware Profile, section "Event Logging"):
 * all integers are little-endian; the log opens with one TCG_PCR_EVENT in the old SHA-1
 * format whose data is the TCG_EfiSpecIDEvent ("Spec ID Event03"), which declares the
 * digest algorithms and their sizes; every later entry is a TCG_PCR_EVENT2 whose digests
 * use exactly those sizes. The header is needed to find where a digest ends, so an
 * algorithm not declared there makes the rest of the log unreadable.
 *
 * Claims read from event *data* (Secure Boot, kernel command line) are only taken when the
 * data hashes to the event's digests: replay only proves the digests, so otherwise an
 * attacker could edit the data freely.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "internal.h"
#include "turtle/error.h"
#include "util/buf.h"

#define EV_NO_ACTION 0x00000003u
#define EV_SEPARATOR 0x00000004u
#define EV_S_CRTM_VERSION 0x00000008u
#define EV_IPL 0x0000000Du
#define EV_EFI_ACTION 0x80000007u
#define EV_EFI_VARIABLE_DRIVER_CONFIG 0x80000001u
#define EV_EFI_BOOT_SERVICES_APPLICATION 0x80000003u

/* Algorithms a header may declare (including ones we only skip, e.g. SM3). */
#define MAX_DECLARED 8u

static const uint8_t spec_id_sig[16] = "Spec ID Event03";     /* 15 chars + NUL */
static const uint8_t startup_sig[16] = "StartupLocality";     /* 15 chars + NUL */
static const char cmdline_prefix[] = "kernel_cmdline: ";
/* EFI_GLOBAL_VARIABLE {8BE4DF61-93CA-11D2-AA0D-00E098032B8C} as stored (mixed endian). */
static const uint8_t efi_global_guid[16] = {
	0x61, 0xdf, 0xe4, 0x8b, 0xca, 0x93, 0xd2, 0x11,
	0xaa, 0x0d, 0x00, 0xe0, 0x98, 0x03, 0x2b, 0x8c,
};
/* "SecureBoot" in UTF-16LE. */
static const uint8_t secureboot_name[20] = {
	'S', 0, 'e', 0, 'c', 0, 'u', 0, 'r', 0, 'e', 0, 'B', 0, 'o', 0, 'o', 0, 't', 0,
};

struct declared {
	unsigned n;
	uint16_t alg[MAX_DECLARED];
	uint16_t size[MAX_DECLARED];
	int bank[MAX_DECLARED];      /* index in claims->pcrs, -1: not replayed */
};

/* Does every replayed bank's digest equal H(data)? */
static int data_matches(const struct tt_evlog_digests *d, const uint8_t *data, size_t len)
{
	for (unsigned i = 0; i < d->count; i++) {
		const EVP_MD *md = tt_ev_md(d->dig[i].alg);
		uint8_t h[EVP_MAX_MD_SIZE];
		unsigned int hl = 0;

		if (md == NULL)
			continue;
		if (EVP_Digest(data, len, h, &hl, md, NULL) != 1)
			return TT_ERR_GENERIC;
		if (hl != d->dig[i].size || CRYPTO_memcmp(h, d->dig[i].d, hl) != 0)
			return TT_ERR_DATA_INVALID;
	}
	return 0;
}

static int parse_spec_id(const uint8_t *ev, size_t len, struct declared *dec,
	struct tt_pcrs *pcrs)
{
	struct tt_buf b;
	uint8_t sig[16];
	uint32_t platform_class, nalg;
	uint8_t minor, major, errata, uintn, vendor_size;
	int r;

	tt_buf_init_ro(&b, ev, len);
	if ((r = tt_buf_get_bytes(&b, sig, sizeof(sig))) != 0)
		return r;
	if (memcmp(sig, spec_id_sig, sizeof(sig)) != 0)
		return TT_ERR_DATA_INVALID;   /* SHA-1-only logs (pre crypto-agile) not handled */
	if ((r = tt_buf_get_u32le(&b, &platform_class)) != 0 ||
	    (r = tt_buf_get_u8(&b, &minor)) != 0 || (r = tt_buf_get_u8(&b, &major)) != 0 ||
	    (r = tt_buf_get_u8(&b, &errata)) != 0 || (r = tt_buf_get_u8(&b, &uintn)) != 0 ||
	    (r = tt_buf_get_u32le(&b, &nalg)) != 0)
		return r;
	if (nalg == 0)
		return TT_ERR_DATA_INVALID;
	if (nalg > MAX_DECLARED)
		return TT_ERR_LIMIT;
	if ((size_t)nalg * 4 > tt_buf_avail(&b))
		return TT_ERR_TRUNCATED;
	dec->n = 0;
	for (uint32_t i = 0; i < nalg; i++) {
		uint16_t alg, size;

		if ((r = tt_buf_get_u16le(&b, &alg)) != 0 || (r = tt_buf_get_u16le(&b, &size)) != 0)
			return r;
		if (size == 0 || size > TT_EV_MAX_DIGEST)
			return TT_ERR_DATA_INVALID;
		for (unsigned j = 0; j < dec->n; j++)
			if (dec->alg[j] == alg)
				return TT_ERR_DATA_INVALID;
		dec->alg[dec->n] = alg;
		dec->size[dec->n] = size;
		dec->bank[dec->n] = -1;
		if (tt_evidence_alg_size(alg) != 0) {
			if (tt_evidence_alg_size(alg) != size)
				return TT_ERR_DATA_INVALID;
			dec->bank[dec->n] = tt_ev_bank_index(pcrs, alg);
			if (dec->bank[dec->n] < 0)
				return TT_ERR_LIMIT;
		}
		dec->n++;
	}
	if (pcrs->nbanks == 0)
		return TT_ERR_NOT_SUPPORTED;   /* nothing we could replay */
	if ((r = tt_buf_get_u8(&b, &vendor_size)) != 0 || (r = tt_buf_skip(&b, vendor_size)) != 0)
		return r;
	return tt_buf_expect_end(&b);
}

/* SecureBoot from a UEFI_VARIABLE_DATA: GUID, u64 name chars, u64 data bytes, name, data. */
static int variable_secure_boot(const uint8_t *ev, size_t len, const struct tt_evlog_digests *d,
	enum tt_secure_boot *sb)
{
	struct tt_buf b;
	const uint8_t *guid, *name, *data;
	uint64_t nchars, dlen;
	int r;

	tt_buf_init_ro(&b, ev, len);
	if ((r = tt_buf_get_ref(&b, 16, &guid)) != 0 || (r = tt_buf_get_u64le(&b, &nchars)) != 0 ||
	    (r = tt_buf_get_u64le(&b, &dlen)) != 0)
		return r;
	if (nchars > tt_buf_avail(&b) / 2)
		return TT_ERR_TRUNCATED;
	if ((r = tt_buf_get_ref(&b, (size_t)nchars * 2, &name)) != 0)
		return r;
	if (dlen > tt_buf_avail(&b))
		return TT_ERR_TRUNCATED;
	if ((r = tt_buf_get_ref(&b, (size_t)dlen, &data)) != 0)
		return r;
	if (memcmp(guid, efi_global_guid, 16) != 0 || nchars * 2 != sizeof(secureboot_name) ||
	    memcmp(name, secureboot_name, sizeof(secureboot_name)) != 0)
		return 0;   /* another variable (PK, KEK, db, ...) */
	/* The digest covers the whole UEFI_VARIABLE_DATA, so the value is provable. */
	if ((r = data_matches(d, ev, len)) != 0)
		return r;
	if (dlen != 1 || data[0] > 1)
		return TT_ERR_DATA_INVALID;
	*sb = data[0] ? TT_SECURE_BOOT_ON : TT_SECURE_BOOT_OFF;
	return 0;
}

/* GRUB logs "kernel_cmdline: <text>\0" and measures <text> without the NUL. */
static int grub_cmdline(const uint8_t *ev, size_t len, const struct tt_evlog_digests *d,
	size_t max, char **cmdline)
{
	size_t plen = sizeof(cmdline_prefix) - 1, n;
	char *s;
	int r;

	if (len < plen || memcmp(ev, cmdline_prefix, plen) != 0)
		return 0;
	n = len - plen;
	while (n > 0 && ev[plen + n - 1] == '\0')
		n--;
	if (memchr(ev + plen, '\0', n) != NULL)
		return TT_ERR_DATA_INVALID;
	if ((r = data_matches(d, ev + plen, n)) != 0)
		return r;
	if (n > max)
		return TT_ERR_LIMIT;
	if ((s = malloc(n + 1)) == NULL)
		return TT_ERR_NO_MEMORY;
	memcpy(s, ev + plen, n);
	s[n] = '\0';
	free(*cmdline);
	*cmdline = s;
	return 0;
}

static int read_digests(struct tt_buf *b, const struct declared *dec, uint32_t pcr,
	struct tt_evlog_digests *d)
{
	uint32_t count;
	uint32_t seen = 0;
	int r;

	if ((r = tt_buf_get_u32le(b, &count)) != 0)
		return r;
	/* One digest per declared bank, each once: a log that skips a bank cannot be replayed
	 * into that bank. */
	if (count != dec->n)
		return TT_ERR_DATA_INVALID;
	memset(d, 0, sizeof(*d));
	d->pcr = pcr;
	for (uint32_t i = 0; i < count; i++) {
		uint16_t alg;
		const uint8_t *p;
		unsigned j;

		if ((r = tt_buf_get_u16le(b, &alg)) != 0)
			return r;
		for (j = 0; j < dec->n && dec->alg[j] != alg; j++)
			;
		if (j == dec->n || (seen & (1u << j)))
			return TT_ERR_DATA_INVALID;
		seen |= 1u << j;
		if ((r = tt_buf_get_ref(b, dec->size[j], &p)) != 0)
			return r;
		if (dec->bank[j] < 0)
			continue;
		d->dig[d->count].alg = alg;
		d->dig[d->count].size = dec->size[j];
		memcpy(d->dig[d->count].d, p, dec->size[j]);
		d->count++;
	}
	return 0;
}

static int add_boot_app(struct tt_evlog_claims *c, const struct tt_evlog_digests *d,
	uint32_t max, uint32_t *cap)
{
	if (c->nboot_apps >= max)
		return TT_ERR_LIMIT;
	if (c->nboot_apps == *cap) {
		uint32_t ncap = *cap ? *cap * 2 : 8;
		struct tt_evlog_digests *n;

		if (ncap > max)
			ncap = max;
		n = realloc(c->boot_apps, (size_t)ncap * sizeof(*n));
		if (n == NULL)
			return TT_ERR_NO_MEMORY;
		c->boot_apps = n;
		*cap = ncap;
	}
	c->boot_apps[c->nboot_apps++] = *d;
	return 0;
}

int tt_evlog_parse(const uint8_t *log, size_t len, const struct tt_evidence_limits *lim_in,
	struct tt_evlog_claims **out)
{
	struct tt_evidence_limits lim;
	struct tt_evlog_claims *c = NULL;
	struct declared dec;
	struct tt_buf b;
	uint32_t pcr, type, size, apps_cap = 0;
	const uint8_t *ev;
	bool pcr0_extended = false;
	int r;

	if (log == NULL || out == NULL)
		return TT_ERR_INVALID_ARGUMENT;
	if (lim_in != NULL)
		lim = *lim_in;
	else
		tt_evidence_limits_default(&lim);
	if (len > lim.max_log_bytes)
		return TT_ERR_LIMIT;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return TT_ERR_NO_MEMORY;
	c->secure_boot = TT_SECURE_BOOT_UNKNOWN;

	/* First entry: TCG_PCR_EVENT (pcr, type, SHA-1 digest, size, data). */
	tt_buf_init_ro(&b, log, len);
	if ((r = tt_buf_get_u32le(&b, &pcr)) != 0 || (r = tt_buf_get_u32le(&b, &type)) != 0 ||
	    (r = tt_buf_skip(&b, 20)) != 0 || (r = tt_buf_get_u32le(&b, &size)) != 0)
		goto out;
	if (pcr != 0 || type != EV_NO_ACTION) {
		r = TT_ERR_DATA_INVALID;
		goto out;
	}
	if (size > lim.max_event_size) {
		r = TT_ERR_LIMIT;
		goto out;
	}
	if ((r = tt_buf_get_ref(&b, size, &ev)) != 0 ||
	    (r = parse_spec_id(ev, size, &dec, &c->pcrs)) != 0)
		goto out;

	while (tt_buf_avail(&b) > 0) {
		struct tt_evlog_digests d;

		if (c->nevents >= lim.max_events) {
			r = TT_ERR_LIMIT;
			goto out;
		}
		if ((r = tt_buf_get_u32le(&b, &pcr)) != 0 || (r = tt_buf_get_u32le(&b, &type)) != 0)
			goto out;
		if (pcr >= TT_EV_NUM_PCRS) {
			r = TT_ERR_DATA_INVALID;
			goto out;
		}
		if ((r = read_digests(&b, &dec, pcr, &d)) != 0 ||
		    (r = tt_buf_get_u32le(&b, &size)) != 0)
			goto out;
		if (size > lim.max_event_size) {
			r = TT_ERR_LIMIT;
			goto out;
		}
		if ((r = tt_buf_get_ref(&b, size, &ev)) != 0)
			goto out;
		c->nevents++;

		if (type == EV_NO_ACTION) {
			/* Not extended. StartupLocality sets PCR 0's start value (H-CRTM / locality
			 * 3 or 4 starts); it must come before anything is extended into PCR 0. */
			if (size == sizeof(startup_sig) + 1 &&
			    memcmp(ev, startup_sig, sizeof(startup_sig)) == 0) {
				if (pcr != 0 || pcr0_extended) {
					r = TT_ERR_DATA_INVALID;
					goto out;
				}
				c->startup_locality = ev[sizeof(startup_sig)];
				for (unsigned i = 0; i < c->pcrs.nbanks; i++) {
					struct tt_pcr_bank *bk = &c->pcrs.bank[i];

					memset(bk->pcr[0], 0, bk->size);
					bk->pcr[0][bk->size - 1] = c->startup_locality;
					bk->mask |= 1u;
				}
			}
			continue;
		}

		for (unsigned i = 0; i < d.count; i++) {
			struct tt_pcr_bank *bk = (struct tt_pcr_bank *)tt_pcrs_bank(&c->pcrs, d.dig[i].alg);

			if ((r = tt_ev_extend(bk->alg, bk->pcr[pcr], d.dig[i].d, bk->size)) != 0)
				goto out;
			bk->mask |= UINT32_C(1) << pcr;
		}
		if (pcr == 0)
			pcr0_extended = true;
		c->events_per_pcr[pcr]++;

		/* For these types the profile defines the digest as the hash of the event data,
		 * and firmware keeps to it: data that does not hash to it was edited. */
		if ((type == EV_SEPARATOR || type == EV_S_CRTM_VERSION || type == EV_EFI_ACTION ||
		    type == EV_EFI_VARIABLE_DRIVER_CONFIG) && (r = data_matches(&d, ev, size)) != 0)
			goto out;
		if (type == EV_EFI_VARIABLE_DRIVER_CONFIG && pcr == 7) {
			if ((r = variable_secure_boot(ev, size, &d, &c->secure_boot)) != 0)
				goto out;
		} else if (type == EV_EFI_BOOT_SERVICES_APPLICATION) {
			if ((r = add_boot_app(c, &d, lim.max_boot_apps, &apps_cap)) != 0)
				goto out;
		} else if (type == EV_IPL && pcr == 8) {
			if ((r = grub_cmdline(ev, size, &d, lim.max_cmdline, &c->kernel_cmdline)) != 0)
				goto out;
		}
	}
	*out = c;
	c = NULL;
	r = 0;
out:
	tt_evlog_claims_free(c);
	return r;
}

void tt_evlog_claims_free(struct tt_evlog_claims *c)
{
	if (c == NULL)
		return;
	free(c->boot_apps);
	free(c->kernel_cmdline);
	free(c);
}
