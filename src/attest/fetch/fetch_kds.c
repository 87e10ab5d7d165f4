/*
 * AMD KDS: the VCEK of one chip at one reported TCB, and the product's CRL, into
 * <cache>/snp/<Product>-<hwid>-<tcb>/{vcek.der,crl.der}, the names snp.c reads from its
 * collateral directory. The ASK/ARK are not fetched: the ARK is a shipped anchor and the
 * ASK ships beside it (docs/trust-anchors.md). A VLEK is provisioned to a cloud provider,
 * not served by KDS by chip id, so a VLEK-signed report has nothing to fetch.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "fetch_internal.h"
#include "snp.h"
#include "turtle/error.h"
#include "util/hex.h"

#define SNP_KEY_VCEK 0u

/* A DER certificate valid at now (the whole input one certificate). */
static bool
vcek_current(const uint8_t *d, size_t n, int64_t now)
{
	const unsigned char *p = d;
	X509 *x = n <= 65536 ? d2i_X509(NULL, &p, (long)n) : NULL;
	time_t t = (time_t)now;
	bool ok = x != NULL && p == d + n &&
	    X509_cmp_time(X509_get0_notBefore(x), &t) <= 0 &&
	    X509_cmp_time(X509_get0_notAfter(x), &t) >= 0;

	X509_free(x);
	ERR_clear_error();
	return ok;
}

bool
tt_fetch_crl_current(const uint8_t *d, size_t n, int64_t now, bool *parses)
{
	const unsigned char *p = d;
	X509_CRL *c = n <= TT_FETCH_MAX_SIZE_MAX ? d2i_X509_CRL(NULL, &p, (long)n) : NULL;
	time_t t = (time_t)now;
	bool ok;

	*parses = c != NULL && p == d + n;
	ok = *parses && X509_CRL_get0_nextUpdate(c) != NULL &&
	    X509_cmp_time(X509_CRL_get0_lastUpdate(c), &t) <= 0 &&
	    X509_cmp_time(X509_CRL_get0_nextUpdate(c), &t) >= 0;
	X509_CRL_free(c);
	ERR_clear_error();
	return ok;
}

/* The cached file is there and passes `current`. */
static bool
cached(const char *dir, const char *name, int64_t now, bool crl)
{
	uint8_t *d = NULL;
	size_t n = 0;
	bool ok = false, parses;

	if (tt_fetch_read(dir, name, TT_FETCH_MAX_SIZE_MAX, &d, &n) == 0)
		ok = crl ? tt_fetch_crl_current(d, n, now, &parses) : vcek_current(d, n, now);
	free(d);
	return ok;
}

static int
fetch_vcek(const struct tt_fetch_cfg *cfg, int gen, const struct tt_snp_report *r,
    const char *dir, char *err, size_t errlen)
{
	char url[TT_FETCH_MAX_URL];
	struct tt_fetch_resp resp;
	const unsigned char *p;
	X509 *x;
	int e;

	if ((e = tt_fetch_kds_vcek_url(cfg->kds_url ? cfg->kds_url : TT_FETCH_KDS_URL, gen,
	    r->chip_id, r->reported_tcb_raw, url, sizeof(url))) != 0)
		return tt_fetch_err(err, errlen, e, "cannot name the VCEK: chip_id/TCB unusable");
	if ((e = tt_fetch_get(cfg, url, NULL, &resp, err, errlen)) != 0)
		return e;
	/* Only the shape is checked here (a single DER certificate, so that an HTML error
	 * page is not cached); the chain, the key and the extensions are the verifier's. */
	p = resp.body;
	x = resp.len <= 65536 ? d2i_X509(NULL, &p, (long)resp.len) : NULL;
	if (x == NULL || p != resp.body + resp.len) {
		tt_fetch_guard_fail(cfg, url, TT_ERR_DATA_INVALID);
		e = tt_fetch_err(err, errlen, TT_ERR_DATA_INVALID,
		    "%s: the answer is not one DER certificate", url);
	} else if ((e = tt_fetch_mkdirs(dir)) != 0 ||
	    (e = tt_fetch_write(dir, "vcek.der", resp.body, resp.len)) != 0)
		e = tt_fetch_err(err, errlen, e, "cannot write %s/vcek.der", dir);
	X509_free(x);
	ERR_clear_error();
	tt_fetch_resp_clear(&resp);
	return e;
}

/* crl.der in dir: from the product's shared copy when that is current, else from KDS
 * (then the shared copy is replaced too). */
static int
fetch_crl(const struct tt_fetch_cfg *cfg, int gen, const char *snpdir, const char *dir,
    int64_t now, char *err, size_t errlen)
{
	char url[TT_FETCH_MAX_URL], shared[64];
	struct tt_fetch_resp resp = { 0 };
	uint8_t *d = NULL;
	size_t n = 0;
	bool parses;
	int e;

	snprintf(shared, sizeof(shared), "%s-crl.der", tt_fetch_kds_product(gen));
	if (tt_fetch_read(snpdir, shared, TT_FETCH_MAX_SIZE_MAX, &d, &n) == 0 &&
	    tt_fetch_crl_current(d, n, now, &parses)) {
		e = tt_fetch_write(dir, "crl.der", d, n);
		free(d);
		return e != 0 ? tt_fetch_err(err, errlen, e, "cannot write %s/crl.der", dir) : 0;
	}
	free(d);
	if ((e = tt_fetch_kds_crl_url(cfg->kds_url ? cfg->kds_url : TT_FETCH_KDS_URL, gen, url,
	    sizeof(url))) != 0)
		return tt_fetch_err(err, errlen, e, "cannot name the CRL");
	if ((e = tt_fetch_get(cfg, url, NULL, &resp, err, errlen)) != 0)
		return e;
	/* A CRL that is no longer current is still handed on: the verifier refuses it with
	 * its own reason; it is never reported current here, so the next call asks again. */
	tt_fetch_crl_current(resp.body, resp.len, now, &parses);
	if (!parses) {
		tt_fetch_guard_fail(cfg, url, TT_ERR_DATA_INVALID);
		e = tt_fetch_err(err, errlen, TT_ERR_DATA_INVALID, "%s: the answer is not a DER CRL",
		    url);
	} else if ((e = tt_fetch_write(snpdir, shared, resp.body, resp.len)) != 0 ||
	    (e = tt_fetch_write(dir, "crl.der", resp.body, resp.len)) != 0)
		e = tt_fetch_err(err, errlen, e, "cannot write the CRL under %s", snpdir);
	tt_fetch_resp_clear(&resp);
	return e;
}

/* <cache>/snp/<Product>-<hwid>-<tcb hex>: one directory per chip and reported TCB, since
 * the verifier reads one "vcek.der" per directory. */
static int
chip_dir(const struct tt_fetch_cfg *cfg, int gen, const struct tt_snp_report *r, char *out,
    size_t cap)
{
	char hwid[129];
	int n;

	tt_hex_encode(r->chip_id, gen == 2 ? 8 : 64, hwid);
	n = snprintf(out, cap, "%s/snp/%s-%s-%016llx", cfg->cache_dir,
	    tt_fetch_kds_product(gen), hwid, (unsigned long long)r->reported_tcb_raw);
	return n < 0 || (size_t)n >= cap ? TT_ERR_LIMIT : 0;
}

int
tt_fetch_kds(const struct tt_fetch_cfg *cfg, const uint8_t *report, size_t len, int64_t now,
    unsigned flags, char **dirp, char *err, size_t errlen)
{
	struct tt_snp_report r;
	char snpdir[4096], dir[4096];
	int gens[2], ngen = 0, e = TT_ERR_DOES_NOT_EXIST, gen = -1;
	bool have_cert = (flags & TT_FETCH_F_HAVE_CERT) != 0;

	if ((e = tt_snp_report_parse(report, len, &r)) != 0)
		return tt_fetch_err(err, errlen, TT_ERR_NOT_SUPPORTED,
		    "not an SEV-SNP report: %s", tt_strerror(e));
	if (((r.flags >> 2) & 7) != SNP_KEY_VCEK)
		return tt_fetch_err(err, errlen, TT_ERR_NOT_SUPPORTED,
		    "the report is not signed by a VCEK; KDS serves no VLEK by chip id");
	if ((gens[0] = tt_snp_generation(&r)) >= 0) {
		ngen = 1;
	} else if (r.has_cpuid) {
		return tt_fetch_err(err, errlen, TT_ERR_NOT_SUPPORTED,
		    "CPUID family 0x%02x model 0x%02x is no KDS product", r.cpuid_fam,
		    r.cpuid_mod);
	} else if (have_cert) {
		/* Without a VCEK to ask for, nothing tells which product's CRL applies; the
		 * wrong one would fail as "not signed by the ARK". */
		return tt_fetch_err(err, errlen, TT_ERR_NOT_SUPPORTED,
		    "a version 2 report names no product: its CRL is not fetched");
	} else {
		/* A version 2 report names no generation: Milan, then Genoa (Turin reports
		 * are version 3 or later). */
		gens[0] = 0;
		gens[1] = 1;
		ngen = 2;
	}
	if (snprintf(snpdir, sizeof(snpdir), "%s/snp", cfg->cache_dir) >= (int)sizeof(snpdir))
		return tt_fetch_err(err, errlen, TT_ERR_LIMIT, "cache directory name too long");
	/* A current cached VCEK of any candidate product decides the product. */
	for (int i = 0; i < ngen && gen < 0; i++) {
		if ((e = chip_dir(cfg, gens[i], &r, dir, sizeof(dir))) != 0)
			return tt_fetch_err(err, errlen, e, "cache directory name too long");
		if (!have_cert && cached(dir, "vcek.der", now, false))
			gen = gens[i];
	}
	if (have_cert) {
		/* Only the product's CRL is needed: it goes to snp/<Product>/, not to a
		 * directory named by the chip id and TCB of a report nobody has verified yet
		 * (a stream of made-up chip ids would otherwise fill the disk). */
		gen = gens[0];
		if (snprintf(dir, sizeof(dir), "%s/%s", snpdir, tt_fetch_kds_product(gen)) >=
		    (int)sizeof(dir))
			return tt_fetch_err(err, errlen, TT_ERR_LIMIT, "cache directory name too long");
		if ((e = tt_fetch_mkdirs(dir)) != 0)
			return tt_fetch_err(err, errlen, e, "cannot create %s", dir);
	}
	for (int i = 0; i < ngen && gen < 0; i++) {
		if ((e = chip_dir(cfg, gens[i], &r, dir, sizeof(dir))) != 0)
			return tt_fetch_err(err, errlen, e, "cache directory name too long");
		e = fetch_vcek(cfg, gens[i], &r, dir, err, errlen);
		if (e == 0)
			gen = gens[i];
		else if (e != TT_ERR_DOES_NOT_EXIST || i + 1 == ngen)
			return e;
	}
	if (!have_cert && (e = chip_dir(cfg, gen, &r, dir, sizeof(dir))) != 0)
		return tt_fetch_err(err, errlen, e, "cache directory name too long");
	if (!cached(dir, "crl.der", now, true) &&
	    (e = fetch_crl(cfg, gen, snpdir, dir, now, err, errlen)) != 0)
		return e;
	if ((*dirp = strdup(dir)) == NULL)
		return tt_fetch_err(err, errlen, TT_ERR_NO_MEMORY, "out of memory");
	return 0;
}

int
tt_fetch_kds_forget(const struct tt_fetch_cfg *cfg, const char *dir)
{
	char snpdir[4096], shared[64];
	const char *base = strrchr(dir, '/');
	size_t plen;
	int e, e2, gen;

	/* dir is <cache>/snp/<Product>-<hwid>-<tcb> or <cache>/snp/<Product>, as
	 * tt_fetch_kds made it; anything else is not touched. */
	if (base == NULL || (size_t)(base - dir) >= sizeof(snpdir))
		return TT_ERR_INVALID_ARGUMENT;
	memcpy(snpdir, dir, (size_t)(base - dir));
	snpdir[base - dir] = '\0';
	base++;
	plen = strcspn(base, "-");
	for (gen = 0; gen < 3; gen++)
		if (strlen(tt_fetch_kds_product(gen)) == plen &&
		    strncmp(base, tt_fetch_kds_product(gen), plen) == 0)
			break;
	if (gen == 3)
		return TT_ERR_INVALID_ARGUMENT;
	snprintf(shared, sizeof(shared), "%s-crl.der", tt_fetch_kds_product(gen));
	/* The CRL is copied from the shared copy when that looks current: both go. */
	e = tt_fetch_unlink_once(cfg, dir, "vcek.der");
	e2 = tt_fetch_unlink_once(cfg, dir, "crl.der");
	if (e2 == 0)
		(void)tt_fetch_unlink_once(cfg, snpdir, shared);
	return e == 0 || e2 == 0 ? 0 : e;
}
