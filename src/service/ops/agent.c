/*
 * The node agent role: Turtle vendor operations that collect attestation evidence for a
 * remote verifier (turtle-as) and let an admin register the node there.
 *
 *   TtAttestQuote    any authenticated client: a quote reveals only platform state (PCRs,
 *                    boot and IMA logs) bound to the caller's nonce, no key and no secret;
 *                    every workload on the node may prove where it runs.
 *   TtAgentIdentity  admin only: the EK certificate identifies the machine; handing it to
 *                    any client would let every workload track the host.
 *   TtAgentActivate  admin only: activation decides which AK turtle-as trusts for the node.
 *
 * Provider configuration read here (the [provider.NAME] section of the serving provider,
 * read per request, so SIGHUP applies it):
 *   quote_pcrs  default PCR selection, tpm2-tools syntax "sha256:0-10" or
 *               "sha256:0,1,7+sha1:0-7"
 *   event_log   UEFI event log path (default securityfs binary_bios_measurements)
 *   ima_log     IMA log path (default securityfs ascii_runtime_measurements)
 *   log_max     per-log size bound in bytes (default 256K, at most 16M). A log over the
 *               bound is left out whole: a truncated log would not replay to the PCRs.
 * An absent or unreadable log is left out too; the quote is still useful without it.
 * The EK (ek_alg = rsa|ecc) is different: it is the TPM provider's start-up setting
 * (tpm_quote.c), because the EK is the node's identity at turtle-as and must not change
 * under a registered node on a reload. Identity and Activate use whichever EK it chose.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "providers/provider.h"
#include "service/config.h"
#include "service/ops/ops.h"
#include "tt_attest_quote.pb-c.h"
#include "turtle/error.h"
#include "util/log.h"
#include "util/num.h"

#define DEFAULT_PCRS "sha256:0-10"
#define DEFAULT_EVENT_LOG "/sys/kernel/security/tpm0/binary_bios_measurements"
#define DEFAULT_IMA_LOG "/sys/kernel/security/ima/ascii_runtime_measurements"
#define DEFAULT_LOG_MAX (256u << 10)
#define LOG_MAX_LIMIT (16u << 20)

static const struct {
	const char *name;
	uint16_t alg;
	size_t size;
} hashes[] = {
	{ "sha1", 0x0004, 20 },
	{ "sha256", 0x000B, 32 },
	{ "sha384", 0x000C, 48 },
	{ "sha512", 0x000D, 64 },
};

static size_t
alg_size(uint16_t alg)
{
	for (size_t i = 0; i < sizeof(hashes) / sizeof(hashes[0]); i++)
		if (hashes[i].alg == alg)
			return hashes[i].size;
	return 0;
}

/* Index range "a" or "a-b" of s[0..n) into *mask. */
static int
parse_range(const char *s, size_t n, uint32_t *mask)
{
	char tmp[8], *dash;
	uint32_t a, b;

	if (n == 0 || n >= sizeof(tmp))
		return TT_ERR_INVALID_ARGUMENT;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	if ((dash = strchr(tmp, '-')) != NULL)
		*dash = '\0';
	if (tt_parse_u32(tmp, 0, TT_PCR_COUNT - 1, &a) != 0)
		return TT_ERR_INVALID_ARGUMENT;
	b = a;
	if (dash != NULL && tt_parse_u32(dash + 1, a, TT_PCR_COUNT - 1, &b) != 0)
		return TT_ERR_INVALID_ARGUMENT;
	for (uint32_t i = a; i <= b; i++)
		*mask |= 1u << i;
	return 0;
}

int
tt_agent_pcr_parse(const char *s, struct tt_pcr_select *sel)
{
	memset(sel, 0, sizeof(*sel));
	while (*s != '\0') {
		const char *end = strchr(s, '+'), *colon;
		size_t len, nl;
		uint16_t alg = 0;

		len = end != NULL ? (size_t)(end - s) : strlen(s);
		if ((colon = memchr(s, ':', len)) == NULL || sel->n == TT_PCR_BANKS_MAX)
			return TT_ERR_INVALID_ARGUMENT;
		nl = (size_t)(colon - s);
		for (size_t i = 0; i < sizeof(hashes) / sizeof(hashes[0]); i++)
			if (strlen(hashes[i].name) == nl && memcmp(hashes[i].name, s, nl) == 0)
				alg = hashes[i].alg;
		for (size_t i = 0; i < sel->n; i++)
			if (sel->alg[i] == alg)
				return TT_ERR_INVALID_ARGUMENT;
		if (alg == 0)
			return TT_ERR_INVALID_ARGUMENT;
		sel->alg[sel->n] = alg;
		for (const char *p = colon + 1; p <= s + len;) {
			const char *q = memchr(p, ',', (size_t)(s + len - p));

			if (q == NULL)
				q = s + len;
			if (parse_range(p, (size_t)(q - p), &sel->mask[sel->n]) != 0)
				return TT_ERR_INVALID_ARGUMENT;
			p = q + 1;
		}
		sel->n++;
		if (end == NULL)
			break;
		s = end + 1;
		if (*s == '\0')
			return TT_ERR_INVALID_ARGUMENT;
	}
	return sel->n > 0 ? 0 : TT_ERR_INVALID_ARGUMENT;
}

/* The serving provider's config value for `key`, or NULL. cfg_lock is held shared. */
static const char *
prov_conf(const struct tt_op_ctx *ctx, const char *key)
{
	const struct tt_config *cfg = ctx->svc->cfg;

	for (size_t i = 0; i < cfg->n_providers; i++) {
		const struct tt_provider_conf *pc = &cfg->providers[i];

		if (strcmp(pc->type, ctx->prov->ops->name) != 0)
			continue;
		for (size_t k = 0; k < pc->n; k++)
			if (strcmp(pc->keys[k], key) == 0)
				return pc->values[k];
	}
	return NULL;
}

/*
 * Read a whole log of at most `max` bytes into *out (malloc'd, may be NULL with *len 0).
 * securityfs files report size 0, so read to EOF. Any failure or an over-size log leaves
 * the log out (returns 0 with nothing); only memory exhaustion is an error.
 */
static int
read_log(const char *path, size_t max, uint8_t **out, size_t *len)
{
	uint8_t *p = NULL, *np;
	size_t cap = 0, n = 0;
	int fd, r = 0;

	*out = NULL;
	*len = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0) {
		tt_debug("agent: log %s not readable (%s); left out", path, strerror(errno));
		return 0;
	}
	for (;;) {
		ssize_t got;

		if (n == cap) {
			if (cap > max) {
				tt_warn("agent: log %s is over log_max (%zu bytes); left out", path, max);
				goto drop;
			}
			cap = cap == 0 ? 16384 : cap * 2;
			if (cap > max + 1)
				cap = max + 1;
			if ((np = realloc(p, cap)) == NULL) {
				r = TT_ERR_NO_MEMORY;
				goto drop;
			}
			p = np;
		}
		got = read(fd, p + n, cap - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			tt_debug("agent: reading %s: %s; left out", path, strerror(errno));
			goto drop;
		}
		if (got == 0)
			break;
		n += (size_t)got;
	}
	if (n > max) {
		tt_warn("agent: log %s is over log_max (%zu bytes); left out", path, max);
		goto drop;
	}
	close(fd);
	*out = p;
	*len = n;
	return 0;
drop:
	close(fd);
	free(p);
	return r;
}

/* Result banks from the selection and the provider's flat digest list. */
static int
fill_banks(const struct tt_pcr_select *sel, const struct tt_buf *vals,
    TtAttestQuote__PcrBank *banks, TtAttestQuote__PcrBank **bankp,
    uint32_t idx[][TT_PCR_COUNT], ProtobufCBinaryData val[][TT_PCR_COUNT])
{
	const uint8_t *d = tt_buf_ptr(vals);
	size_t left = tt_buf_avail(vals);

	for (size_t b = 0; b < sel->n; b++) {
		size_t k = 0, ds = alg_size(sel->alg[b]);

		tt_attest_quote__pcr_bank__init(&banks[b]);
		banks[b].hash_alg = sel->alg[b];
		for (unsigned i = 0; i < TT_PCR_COUNT; i++) {
			if (!(sel->mask[b] & (1u << i)))
				continue;
			if (left < ds)
				return TT_ERR_DATA_CORRUPT;
			idx[b][k] = i;
			val[b][k].data = (uint8_t *)d;
			val[b][k].len = ds;
			d += ds;
			left -= ds;
			k++;
		}
		banks[b].n_indices = k;
		banks[b].indices = idx[b];
		banks[b].n_values = k;
		banks[b].values = val[b];
		bankp[b] = &banks[b];
	}
	return left == 0 ? 0 : TT_ERR_DATA_CORRUPT;
}

int
tt_op_tt_attest_quote(const struct tt_op_ctx *ctx, const uint8_t *body, size_t len,
    struct tt_buf *out)
{
	TtAttestQuote__Operation *op;
	TtAttestQuote__Result res = TT_ATTEST_QUOTE__RESULT__INIT;
	TtAttestQuote__PcrBank banks[TT_PCR_BANKS_MAX], *bankp[TT_PCR_BANKS_MAX];
	uint32_t idx[TT_PCR_BANKS_MAX][TT_PCR_COUNT];
	ProtobufCBinaryData val[TT_PCR_BANKS_MAX][TT_PCR_COUNT];
	struct tt_pcr_select sel;
	struct tt_buf attest, sig, akpub, pcrs;
	uint8_t *evlog = NULL, *ima = NULL;
	size_t evlog_len = 0, ima_len = 0;
	uint32_t log_max = DEFAULT_LOG_MAX;
	const char *v;
	int r;

	tt_ops_out_init(ctx, &attest, false);
	tt_ops_out_init(ctx, &sig, false);
	tt_ops_out_init(ctx, &akpub, false);
	tt_ops_out_init(ctx, &pcrs, false);
	if ((op = tt_attest_quote__operation__unpack(NULL, len, tt_ops_body(body))) == NULL)
		return TT_ERR_DESERIALIZE;
	r = TT_ERR_INVALID_ARGUMENT;
	if (op->nonce.len > 64)
		goto out;
	if (op->n_pcrs == 0) {
		v = prov_conf(ctx, "quote_pcrs");
		if ((r = tt_agent_pcr_parse(v != NULL ? v : DEFAULT_PCRS, &sel)) != 0) {
			tt_err_log("agent: quote_pcrs \"%s\" is not a PCR selection", v);
			r = TT_ERR_CONFIG;
			goto out;
		}
	} else {
		if (op->n_pcrs > TT_PCR_BANKS_MAX)
			goto out;
		memset(&sel, 0, sizeof(sel));
		for (size_t b = 0; b < op->n_pcrs; b++) {
			const TtAttestQuote__PcrBank *pb = op->pcrs[b];

			if (pb->hash_alg > 0xffff || alg_size((uint16_t)pb->hash_alg) == 0 ||
			    pb->n_indices == 0 || pb->n_values != 0)
				goto out;
			for (size_t j = 0; j < b; j++)
				if (sel.alg[j] == pb->hash_alg)
					goto out;
			sel.alg[b] = (uint16_t)pb->hash_alg;
			for (size_t i = 0; i < pb->n_indices; i++) {
				if (pb->indices[i] >= TT_PCR_COUNT)
					goto out;
				sel.mask[b] |= 1u << pb->indices[i];
			}
		}
		sel.n = op->n_pcrs;
	}
	if (ctx->prov->ops->agent_quote == NULL) {
		r = TT_ERR_NOT_SUPPORTED;
		goto out;
	}
	if ((v = prov_conf(ctx, "log_max")) != NULL &&
	    tt_parse_u32(v, 0, LOG_MAX_LIMIT, &log_max) != 0) {
		tt_err_log("agent: log_max must be 0..%u", LOG_MAX_LIMIT);
		r = TT_ERR_CONFIG;
		goto out;
	}
	if ((r = ctx->prov->ops->agent_quote(ctx->prov->ctx, &sel, op->nonce.data, op->nonce.len,
	    &attest, &sig, &akpub, &pcrs)) != 0)
		goto out;
	if ((r = fill_banks(&sel, &pcrs, banks, bankp, idx, val)) != 0)
		goto out;
	v = prov_conf(ctx, "event_log");
	if ((r = read_log(v != NULL ? v : DEFAULT_EVENT_LOG, log_max, &evlog, &evlog_len)) != 0)
		goto out;
	v = prov_conf(ctx, "ima_log");
	if ((r = read_log(v != NULL ? v : DEFAULT_IMA_LOG, log_max, &ima, &ima_len)) != 0)
		goto out;
	res.attest.data = (uint8_t *)tt_buf_ptr(&attest);
	res.attest.len = tt_buf_avail(&attest);
	res.signature.data = (uint8_t *)tt_buf_ptr(&sig);
	res.signature.len = tt_buf_avail(&sig);
	res.ak_public.data = (uint8_t *)tt_buf_ptr(&akpub);
	res.ak_public.len = tt_buf_avail(&akpub);
	res.n_pcrs = sel.n;
	res.pcrs = bankp;
	res.event_log.data = evlog;
	res.event_log.len = evlog_len;
	res.ima_log.data = ima;
	res.ima_log.len = ima_len;
	r = tt_ops_pack(&res.base, out);
out:
	free(evlog);
	free(ima);
	tt_buf_free(&attest);
	tt_buf_free(&sig);
	tt_buf_free(&akpub);
	tt_buf_free(&pcrs);
	tt_attest_quote__operation__free_unpacked(op, NULL);
	return r;
}

int
tt_op_tt_agent_identity(const struct tt_op_ctx *ctx, const uint8_t *body, size_t len,
    struct tt_buf *out)
{
	TtAttestQuote__IdentityOperation *op;
	TtAttestQuote__IdentityResult res = TT_ATTEST_QUOTE__IDENTITY_RESULT__INIT;
	struct tt_buf ekpub, ekder, ekcert, akpub, akname;
	int r;

	tt_ops_out_init(ctx, &ekpub, false);
	tt_ops_out_init(ctx, &ekder, false);
	tt_ops_out_init(ctx, &ekcert, false);
	tt_ops_out_init(ctx, &akpub, false);
	tt_ops_out_init(ctx, &akname, false);
	if ((op = tt_attest_quote__identity_operation__unpack(NULL, len, tt_ops_body(body))) == NULL)
		return TT_ERR_DESERIALIZE;
	if (ctx->prov->ops->agent_identity == NULL) {
		r = TT_ERR_NOT_SUPPORTED;
		goto out;
	}
	if ((r = ctx->prov->ops->agent_identity(ctx->prov->ctx, &ekpub, &ekder, &ekcert, &akpub,
	    &akname)) != 0)
		goto out;
	res.ek_public.data = (uint8_t *)tt_buf_ptr(&ekpub);
	res.ek_public.len = tt_buf_avail(&ekpub);
	res.ek_public_der.data = (uint8_t *)tt_buf_ptr(&ekder);
	res.ek_public_der.len = tt_buf_avail(&ekder);
	res.ek_cert.data = (uint8_t *)tt_buf_ptr(&ekcert);
	res.ek_cert.len = tt_buf_avail(&ekcert);
	res.ak_public.data = (uint8_t *)tt_buf_ptr(&akpub);
	res.ak_public.len = tt_buf_avail(&akpub);
	res.ak_name.data = (uint8_t *)tt_buf_ptr(&akname);
	res.ak_name.len = tt_buf_avail(&akname);
	r = tt_ops_pack(&res.base, out);
out:
	tt_buf_free(&ekpub);
	tt_buf_free(&ekder);
	tt_buf_free(&ekcert);
	tt_buf_free(&akpub);
	tt_buf_free(&akname);
	tt_attest_quote__identity_operation__free_unpacked(op, NULL);
	return r;
}

int
tt_op_tt_agent_activate(const struct tt_op_ctx *ctx, const uint8_t *body, size_t len,
    struct tt_buf *out)
{
	TtAttestQuote__ActivateOperation *op;
	TtAttestQuote__ActivateResult res = TT_ATTEST_QUOTE__ACTIVATE_RESULT__INIT;
	struct tt_buf secret;
	int r;

	/* the recovered credential is the verifier's secret */
	tt_ops_out_init(ctx, &secret, true);
	if ((op = tt_attest_quote__activate_operation__unpack(NULL, len, tt_ops_body(body))) == NULL)
		return TT_ERR_DESERIALIZE;
	if (ctx->prov->ops->agent_activate == NULL) {
		r = TT_ERR_NOT_SUPPORTED;
		goto out;
	}
	if ((r = ctx->prov->ops->agent_activate(ctx->prov->ctx, op->credential_blob.data,
	    op->credential_blob.len, op->encrypted_secret.data, op->encrypted_secret.len,
	    &secret)) != 0)
		goto out;
	res.secret.data = (uint8_t *)tt_buf_ptr(&secret);
	res.secret.len = tt_buf_avail(&secret);
	r = tt_ops_pack(&res.base, out);
out:
	tt_buf_free(&secret);
	tt_attest_quote__activate_operation__free_unpacked(op, NULL);
	return r;
}
