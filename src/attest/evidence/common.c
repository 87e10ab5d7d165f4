/* Shared pieces of the evidence room: limits, PCR sets, the replay-vs-quote comparison. */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "internal.h"
#include "turtle/error.h"

void tt_evidence_limits_default(struct tt_evidence_limits *l)
{
	/* Real logs: a few hundred UEFI events (~50 KiB) and IMA logs up to some 10^5 lines on
	 * busy hosts; the defaults leave headroom while bounding a hostile input's memory. */
	l->max_log_bytes = 16u << 20;
	l->max_events = 20000;
	l->max_event_size = 1u << 20;
	l->max_boot_apps = 256;
	l->max_cmdline = 4096;
	l->max_ima_entries = 200000;
	l->max_ima_line = 8192;
}

size_t tt_evidence_alg_size(uint16_t alg)
{
	switch (alg) {
	case TT_EV_ALG_SHA1: return 20;
	case TT_EV_ALG_SHA256: return 32;
	case TT_EV_ALG_SHA384: return 48;
	case TT_EV_ALG_SHA512: return 64;
	default: return 0;
	}
}

const EVP_MD *tt_ev_md(uint16_t alg)
{
	switch (alg) {
	case TT_EV_ALG_SHA1: return EVP_sha1();
	case TT_EV_ALG_SHA256: return EVP_sha256();
	case TT_EV_ALG_SHA384: return EVP_sha384();
	case TT_EV_ALG_SHA512: return EVP_sha512();
	default: return NULL;
	}
}

int tt_ev_extend(uint16_t alg, uint8_t *pcr, const uint8_t *digest, size_t size)
{
	const EVP_MD *md = tt_ev_md(alg);
	EVP_MD_CTX *ctx = NULL;
	unsigned int outl = 0;
	int r = TT_ERR_GENERIC;

	if (md == NULL || (size_t)EVP_MD_get_size(md) != size)
		return TT_ERR_NOT_SUPPORTED;
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return TT_ERR_NO_MEMORY;
	if (EVP_DigestInit_ex(ctx, md, NULL) != 1 ||
	    EVP_DigestUpdate(ctx, pcr, size) != 1 ||
	    EVP_DigestUpdate(ctx, digest, size) != 1 ||
	    EVP_DigestFinal_ex(ctx, pcr, &outl) != 1 || outl != size)
		goto out;
	r = 0;
out:
	EVP_MD_CTX_free(ctx);
	return r;
}

int tt_ev_bank_index(struct tt_pcrs *p, uint16_t alg)
{
	size_t size = tt_evidence_alg_size(alg);

	if (size == 0)
		return -1;
	for (unsigned i = 0; i < p->nbanks; i++)
		if (p->bank[i].alg == alg)
			return (int)i;
	if (p->nbanks >= TT_EV_MAX_BANKS)
		return -1;
	memset(&p->bank[p->nbanks], 0, sizeof(p->bank[0]));
	p->bank[p->nbanks].alg = alg;
	p->bank[p->nbanks].size = (uint16_t)size;
	return (int)p->nbanks++;
}

const struct tt_pcr_bank *tt_pcrs_bank(const struct tt_pcrs *p, uint16_t alg)
{
	if (p == NULL)
		return NULL;
	for (unsigned i = 0; i < p->nbanks && i < TT_EV_MAX_BANKS; i++)
		if (p->bank[i].alg == alg)
			return &p->bank[i];
	return NULL;
}

int tt_pcrs_set(struct tt_pcrs *p, uint16_t alg, unsigned index, const uint8_t *digest,
	size_t len)
{
	size_t size = tt_evidence_alg_size(alg);
	int b;

	if (p == NULL || digest == NULL)
		return TT_ERR_INVALID_ARGUMENT;
	if (size == 0)
		return TT_ERR_NOT_SUPPORTED;
	if (len != size || index >= TT_EV_NUM_PCRS)
		return TT_ERR_INVALID_ARGUMENT;
	if ((b = tt_ev_bank_index(p, alg)) < 0)
		return TT_ERR_LIMIT;
	memcpy(p->bank[b].pcr[index], digest, size);
	p->bank[b].mask |= UINT32_C(1) << index;
	return 0;
}

int tt_evidence_check_pcrs(const struct tt_pcrs *replayed, const struct tt_pcrs *quoted,
	const struct tt_pcr_selection *sel, uint32_t checked[TT_EV_MAX_BANKS],
	uint16_t *bad_alg, unsigned *bad_pcr)
{
	uint32_t done[TT_EV_MAX_BANKS] = { 0 };

	if (replayed == NULL || quoted == NULL || sel == NULL || sel->count > TT_EV_MAX_BANKS)
		return TT_ERR_INVALID_ARGUMENT;
	for (unsigned s = 0; s < sel->count; s++) {
		const struct tt_pcr_bank *rb = tt_pcrs_bank(replayed, sel->sel[s].alg);
		const struct tt_pcr_bank *qb = tt_pcrs_bank(quoted, sel->sel[s].alg);

		if (rb == NULL)
			continue;
		for (unsigned i = 0; i < TT_EV_NUM_PCRS; i++) {
			uint32_t bit = UINT32_C(1) << i;

			if (!(sel->sel[s].mask & bit) || !(rb->mask & bit))
				continue;
			/* Replay values are public, but a constant-time compare costs nothing. */
			if (qb == NULL || !(qb->mask & bit) || qb->size != rb->size ||
			    CRYPTO_memcmp(rb->pcr[i], qb->pcr[i], rb->size) != 0) {
				if (bad_alg != NULL)
					*bad_alg = sel->sel[s].alg;
				if (bad_pcr != NULL)
					*bad_pcr = i;
				return TT_ERR_DATA_INVALID;
			}
			done[s] |= bit;
		}
	}
	if (checked != NULL)
		memcpy(checked, done, sizeof(done));
	return 0;
}
