/*
 * The URLs of AMD KDS (Versioned Chip Endorsement Key specification, KDS interface) and
 * Intel PCS v4 (Provisioning Certification Service API) for the collateral the verifiers
 * read. Pure functions: no I/O, so the unit tests pin every byte of every URL.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "fetch.h"
#include "turtle/error.h"
#include "util/hex.h"

static const char *const kds_product[] = { "Milan", "Genoa", "Turin" };

const char *
tt_fetch_kds_product(int gen)
{
	if (gen < 0 || (size_t)gen >= sizeof(kds_product) / sizeof(kds_product[0]))
		return NULL;
	return kds_product[gen];
}

static int __attribute__((format(printf, 3, 4)))
url_printf(char *out, size_t cap, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out, cap, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= cap)
		return TT_ERR_LIMIT;
	return 0;
}

int
tt_fetch_kds_vcek_url(const char *base, int gen, const uint8_t chip_id[64],
    uint64_t tcb, char *out, size_t cap)
{
	const char *prod = tt_fetch_kds_product(gen);
	char hwid[129];
	unsigned bl, tee, snp, uc = (unsigned)(uint8_t)(tcb >> 56);

	if (base == NULL || prod == NULL || chip_id == NULL || out == NULL)
		return TT_ERR_INVALID_ARGUMENT;
	if (gen == 2) {
		/* Turin's KDS names a chip by the first 8 bytes of CHIP_ID; the firmware
		 * zeroes the rest. Anything else there is not a Turin chip id. */
		for (size_t i = 8; i < 64; i++)
			if (chip_id[i] != 0)
				return TT_ERR_INVALID_ARGUMENT;
		tt_hex_encode(chip_id, 8, hwid);
		bl = (uint8_t)(tcb >> 8);
		tee = (uint8_t)(tcb >> 16);
		snp = (uint8_t)(tcb >> 24);
		return url_printf(out, cap,
		    "%s/vcek/v1/%s/%s?fmcSPL=%02u&blSPL=%02u&teeSPL=%02u&snpSPL=%02u&ucodeSPL=%02u",
		    base, prod, hwid, (unsigned)(uint8_t)tcb, bl, tee, snp, uc);
	}
	tt_hex_encode(chip_id, 64, hwid);
	bl = (uint8_t)tcb;
	tee = (uint8_t)(tcb >> 8);
	snp = (uint8_t)(tcb >> 48);
	return url_printf(out, cap,
	    "%s/vcek/v1/%s/%s?blSPL=%02u&teeSPL=%02u&snpSPL=%02u&ucodeSPL=%02u",
	    base, prod, hwid, bl, tee, snp, uc);
}

int
tt_fetch_kds_crl_url(const char *base, int gen, char *out, size_t cap)
{
	const char *prod = tt_fetch_kds_product(gen);

	if (base == NULL || prod == NULL || out == NULL)
		return TT_ERR_INVALID_ARGUMENT;
	return url_printf(out, cap, "%s/vcek/v1/%s/crl", base, prod);
}

int
tt_fetch_pcs_pckcrl_url(const char *base, bool platform, char *out, size_t cap)
{
	if (base == NULL || out == NULL)
		return TT_ERR_INVALID_ARGUMENT;
	return url_printf(out, cap, "%s/sgx/certification/v4/pckcrl?ca=%s&encoding=der", base,
	    platform ? "platform" : "processor");
}

int
tt_fetch_pcs_tcb_url(const char *base, bool tdx, const uint8_t fmspc[6], char *out,
    size_t cap)
{
	char hex[13];

	if (base == NULL || fmspc == NULL || out == NULL)
		return TT_ERR_INVALID_ARGUMENT;
	tt_hex_encode(fmspc, 6, hex);
	return url_printf(out, cap, "%s/%s/certification/v4/tcb?fmspc=%s", base,
	    tdx ? "tdx" : "sgx", hex);
}

int
tt_fetch_pcs_qe_url(const char *base, bool tdx, char *out, size_t cap)
{
	if (base == NULL || out == NULL)
		return TT_ERR_INVALID_ARGUMENT;
	return url_printf(out, cap, "%s/%s/certification/v4/qe/identity", base,
	    tdx ? "tdx" : "sgx");
}
