/*
 * IMA ascii measurement log: check each template hash, replay PCR 10, collect file digests.
 *
 * Facts used (Linux IMA, Documentation/security/IMA-templates.rst and ima_fs.c): each line
 * is "PCR template-hash template-name field field ...", the fields printed in ascii. The
 * template hash is the hash of the template data, the binary fields each preceded by a
 * 32-bit length (little-endian on the hosts we see). For ima-ng the fields are d-ng
 * ("<algo>:" NUL <digest>) and n-ng (<path> NUL); ima-sig adds sig (the raw signature,
 * possibly empty). An entry whose template hash is all zero is a violation (a file was
 * measured while open for write); the kernel extends 0xFF..FF into every bank for it.
 * For banks other than SHA-1 the kernel hashes the same template data with the bank's
 * algorithm, which is what the SHA-256 bank replay below does.
 *
 * Paths may contain spaces, so for ima-sig the split between path and signature is
 * ambiguous; the template hash decides (both splits are tried when they differ).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "internal.h"
#include "turtle/error.h"
#include "util/buf.h"
#include "util/hex.h"
#include "util/num.h"

#define IMA_PCR 10u
#define MAX_SIG 1024u    /* largest signature we accept in an ima-sig entry */

/* File hash algorithms IMA may name, with their digest sizes. */
static const struct {
	const char *name;
	uint16_t size;
} ima_algs[] = {
	{ "md5", 16 }, { "sha1", 20 }, { "rmd160", 20 }, { "sha224", 28 }, { "sha256", 32 },
	{ "sha384", 48 }, { "sha512", 64 }, { "wp512", 64 }, { "sm3", 32 },
	{ "streebog256", 32 }, { "streebog512", 64 },
};

/* A view into the current line. */
struct span {
	const uint8_t *p;
	size_t n;
};

/* Next space-separated token of *s (single spaces, as the kernel prints). */
static int next_token(struct span *s, struct span *tok)
{
	const uint8_t *sp;

	if (s->n == 0)
		return TT_ERR_DATA_INVALID;
	sp = memchr(s->p, ' ', s->n);
	tok->p = s->p;
	tok->n = sp ? (size_t)(sp - s->p) : s->n;
	if (tok->n == 0)
		return TT_ERR_DATA_INVALID;
	s->p += tok->n;
	s->n -= tok->n;
	if (s->n > 0) {   /* skip the separator */
		s->p++;
		s->n--;
	}
	return 0;
}

static bool span_eq(const struct span *s, const char *lit)
{
	size_t n = strlen(lit);

	return s->n == n && memcmp(s->p, lit, n) == 0;
}

/* Decode a non-empty, even-length hex span into out (cap bytes); *outn = bytes. */
static int unhex(const struct span *s, uint8_t *out, size_t cap, size_t *outn)
{
	int r;

	if (s->n == 0)
		return TT_ERR_DATA_INVALID;
	r = tt_hex_decode((const char *)s->p, s->n, out, cap, outn);
	return r == TT_ERR_PARSE ? TT_ERR_DATA_INVALID : r;
}

static int md_update_field(EVP_MD_CTX *ctx, const void *a, size_t an, const void *b, size_t bn,
	const void *c, size_t cn)
{
	uint8_t len[4];
	size_t total = an + bn + cn;

	len[0] = (uint8_t)total;
	len[1] = (uint8_t)(total >> 8);
	len[2] = (uint8_t)(total >> 16);
	len[3] = (uint8_t)(total >> 24);
	if (EVP_DigestUpdate(ctx, len, 4) != 1 || (an && EVP_DigestUpdate(ctx, a, an) != 1) ||
	    (bn && EVP_DigestUpdate(ctx, b, bn) != 1) || (cn && EVP_DigestUpdate(ctx, c, cn) != 1))
		return TT_ERR_GENERIC;
	return 0;
}

/* Hash of the template data of one entry with `md`. sig == NULL: ima-ng. */
static int template_hash(const EVP_MD *md, const struct span *algo, const uint8_t *fd,
	size_t fdn, const struct span *path, const uint8_t *sig, size_t sign, bool has_sig,
	uint8_t *out)
{
	static const uint8_t colon_nul[2] = { ':', '\0' };
	static const uint8_t nul = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int outl = 0;
	int r = TT_ERR_GENERIC;

	if (ctx == NULL)
		return TT_ERR_NO_MEMORY;
	if (EVP_DigestInit_ex(ctx, md, NULL) != 1 ||
	    md_update_field(ctx, algo->p, algo->n, colon_nul, 2, fd, fdn) != 0 ||
	    md_update_field(ctx, path->p, path->n, &nul, 1, NULL, 0) != 0 ||
	    (has_sig && md_update_field(ctx, sig, sign, NULL, 0, NULL, 0) != 0) ||
	    EVP_DigestFinal_ex(ctx, out, &outl) != 1)
		goto out;
	r = 0;
out:
	EVP_MD_CTX_free(ctx);
	return r;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

struct line {
	uint8_t th[32];        /* logged template hash */
	size_t thn;            /* 20 (SHA-1 column) or 32 (SHA-256 column) */
	bool ima_sig;
	struct span algo;
	uint8_t fd[TT_EV_MAX_DIGEST];
	size_t fdn;
	struct span rest;      /* path [sig] */
};

/* Try one path/signature split; 0 if the template hash matches (or the entry is a
 * violation), with the bank digests in h1/h256. */
static int try_split(const struct line *ln, const struct span *path, const uint8_t *sig,
	size_t sign, uint8_t h1[20], uint8_t h256[32])
{
	int r;

	if ((r = template_hash(EVP_sha1(), &ln->algo, ln->fd, ln->fdn, path, sig, sign,
		     ln->ima_sig, h1)) != 0 ||
	    (r = template_hash(EVP_sha256(), &ln->algo, ln->fd, ln->fdn, path, sig, sign,
		     ln->ima_sig, h256)) != 0)
		return r;
	if (ln->thn == 20 && CRYPTO_memcmp(h1, ln->th, 20) == 0)
		return 0;
	if (ln->thn == 32 && CRYPTO_memcmp(h256, ln->th, 32) == 0)
		return 0;
	return TT_ERR_DATA_INVALID;
}

static int add_entry(struct tt_ima_claims *c, const struct line *ln, const struct span *path,
	uint32_t max, uint32_t *cap)
{
	struct tt_ima_entry *e;

	if (c->nentries >= max)
		return TT_ERR_LIMIT;
	if (c->nentries == *cap) {
		uint32_t ncap = *cap ? *cap * 2 : 16;
		struct tt_ima_entry *n;

		if (ncap > max)
			ncap = max;
		n = realloc(c->entries, (size_t)ncap * sizeof(*n));
		if (n == NULL)
			return TT_ERR_NO_MEMORY;
		c->entries = n;
		*cap = ncap;
	}
	e = &c->entries[c->nentries];
	memset(e, 0, sizeof(*e));
	if ((e->path = malloc(path->n + 1)) == NULL)
		return TT_ERR_NO_MEMORY;
	memcpy(e->path, path->p, path->n);
	e->path[path->n] = '\0';
	memcpy(e->algo, ln->algo.p, ln->algo.n);   /* checked < sizeof(algo) */
	e->algo[ln->algo.n] = '\0';
	e->digest_len = (uint16_t)ln->fdn;
	memcpy(e->digest, ln->fd, ln->fdn);
	c->nentries++;
	return 0;
}

static int parse_line(struct tt_ima_claims *c, struct span s, uint32_t max_entries,
	uint32_t *cap, int bank1, int bank256)
{
	struct span tok, fdtok, path;
	struct line ln;
	char num[12];
	uint32_t pcr;
	uint8_t h1[20], h256[32];
	const uint8_t *colon;
	size_t i;
	int r;

	memset(&ln, 0, sizeof(ln));
	if (memchr(s.p, '\0', s.n) != NULL)
		return TT_ERR_DATA_INVALID;
	/* PCR */
	if ((r = next_token(&s, &tok)) != 0)
		return r;
	if (tok.n >= sizeof(num))
		return TT_ERR_DATA_INVALID;
	memcpy(num, tok.p, tok.n);
	num[tok.n] = '\0';
	if (tt_parse_u32(num, 0, TT_EV_NUM_PCRS - 1, &pcr) != 0)
		return TT_ERR_DATA_INVALID;
	if (pcr != IMA_PCR)
		return TT_ERR_NOT_SUPPORTED;   /* custom IMA PCRs are not replayed */
	/* template hash */
	if ((r = next_token(&s, &tok)) != 0)
		return r;
	if (tok.n != 40 && tok.n != 64)
		return TT_ERR_DATA_INVALID;
	if ((r = unhex(&tok, ln.th, sizeof(ln.th), &ln.thn)) != 0)
		return r;
	/* template name */
	if ((r = next_token(&s, &tok)) != 0)
		return r;
	if (span_eq(&tok, "ima-sig"))
		ln.ima_sig = true;
	else if (!span_eq(&tok, "ima-ng"))
		return TT_ERR_NOT_SUPPORTED;
	/* algo:digest */
	if ((r = next_token(&s, &fdtok)) != 0)
		return r;
	colon = memchr(fdtok.p, ':', fdtok.n);
	if (colon == NULL)
		return TT_ERR_DATA_INVALID;
	ln.algo.p = fdtok.p;
	ln.algo.n = (size_t)(colon - fdtok.p);
	tok.p = colon + 1;
	tok.n = fdtok.n - ln.algo.n - 1;
	for (i = 0; i < sizeof(ima_algs) / sizeof(ima_algs[0]); i++)
		if (span_eq(&ln.algo, ima_algs[i].name))
			break;
	if (i == sizeof(ima_algs) / sizeof(ima_algs[0]))
		return TT_ERR_NOT_SUPPORTED;
	if ((r = unhex(&tok, ln.fd, sizeof(ln.fd), &ln.fdn)) != 0)
		return r;
	if (ln.fdn != ima_algs[i].size)
		return TT_ERR_DATA_INVALID;
	if (s.n == 0)
		return TT_ERR_DATA_INVALID;   /* no path */
	ln.rest = s;

	path = s;
	r = TT_ERR_DATA_INVALID;
	if (ln.ima_sig) {
		/* Split at the last space: "path sig" (or "path " with an empty signature). */
		const uint8_t *sp = NULL;

		for (size_t k = s.n; k > 0; k--)
			if (s.p[k - 1] == ' ') {
				sp = s.p + k - 1;
				break;
			}
		if (sp != NULL) {
			struct span p2 = { s.p, (size_t)(sp - s.p) };
			struct span st = { sp + 1, s.n - p2.n - 1 };
			uint8_t sig[MAX_SIG];
			size_t sign = 0;

			if (st.n == 0 || unhex(&st, sig, sizeof(sig), &sign) == 0) {
				r = try_split(&ln, &p2, sig, sign, h1, h256);
				if (r == 0)
					path = p2;
			}
		}
		if (r != 0)
			r = try_split(&ln, &path, NULL, 0, h1, h256);
	} else {
		r = try_split(&ln, &path, NULL, 0, h1, h256);
	}
	if (all_zero(ln.th, ln.thn)) {
		/* Violation: the kernel writes a zero hash instead of hashing the line, so
		 * nothing binds the line's path or digest to the PCR. The kernel logs a zero
		 * file digest; a violation naming a digest is an attempt to pass one off. */
		if (!all_zero(ln.fd, ln.fdn))
			return TT_ERR_DATA_INVALID;
		memset(h1, 0xff, sizeof(h1));
		memset(h256, 0xff, sizeof(h256));
		c->nviolations++;
		return tt_ev_extend(TT_EV_ALG_SHA1, c->pcrs.bank[bank1].pcr[IMA_PCR], h1, 20) != 0 ||
		    tt_ev_extend(TT_EV_ALG_SHA256, c->pcrs.bank[bank256].pcr[IMA_PCR], h256, 32) != 0 ?
		    TT_ERR_GENERIC : 0;
	}
	if (r != 0)
		return r;   /* template hash does not match the line */
	if ((r = tt_ev_extend(TT_EV_ALG_SHA1, c->pcrs.bank[bank1].pcr[IMA_PCR], h1, 20)) != 0 ||
	    (r = tt_ev_extend(TT_EV_ALG_SHA256, c->pcrs.bank[bank256].pcr[IMA_PCR], h256, 32)) != 0)
		return r;
	return add_entry(c, &ln, &path, max_entries, cap);
}

int tt_ima_parse(const char *text, size_t len, const struct tt_evidence_limits *lim_in,
	struct tt_ima_claims **out)
{
	struct tt_evidence_limits lim;
	struct tt_ima_claims *c = NULL;
	struct tt_buf b;
	uint32_t cap = 0;
	int bank1, bank256, r;

	if (text == NULL || out == NULL)
		return TT_ERR_INVALID_ARGUMENT;
	if (lim_in != NULL)
		lim = *lim_in;
	else
		tt_evidence_limits_default(&lim);
	if (len > lim.max_log_bytes)
		return TT_ERR_LIMIT;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return TT_ERR_NO_MEMORY;
	bank1 = tt_ev_bank_index(&c->pcrs, TT_EV_ALG_SHA1);
	bank256 = tt_ev_bank_index(&c->pcrs, TT_EV_ALG_SHA256);
	c->pcrs.bank[bank1].mask = UINT32_C(1) << IMA_PCR;
	c->pcrs.bank[bank256].mask = UINT32_C(1) << IMA_PCR;

	tt_buf_init_ro(&b, text, len);
	while (tt_buf_avail(&b) > 0) {
		const uint8_t *nl = memchr(tt_buf_ptr(&b), '\n', tt_buf_avail(&b));
		size_t n = nl ? (size_t)(nl - tt_buf_ptr(&b)) : tt_buf_avail(&b);
		struct span line;

		if (n > lim.max_ima_line) {
			r = TT_ERR_LIMIT;
			goto out;
		}
		if ((r = tt_buf_get_ref(&b, n, &line.p)) != 0)
			goto out;
		line.n = n;
		if (nl != NULL && (r = tt_buf_skip(&b, 1)) != 0)
			goto out;
		if ((r = parse_line(c, line, lim.max_ima_entries, &cap, bank1, bank256)) != 0)
			goto out;
	}
	*out = c;
	c = NULL;
	r = 0;
out:
	tt_ima_claims_free(c);
	return r;
}

void tt_ima_claims_free(struct tt_ima_claims *c)
{
	if (c == NULL)
		return;
	for (uint32_t i = 0; i < c->nentries; i++)
		free(c->entries[i].path);
	free(c->entries);
	free(c);
}

const struct tt_ima_entry *tt_ima_find(const struct tt_ima_claims *c, const char *path)
{
	if (c == NULL || path == NULL)
		return NULL;
	for (uint32_t i = c->nentries; i > 0; i--)
		if (strcmp(c->entries[i - 1].path, path) == 0)
			return &c->entries[i - 1];
	return NULL;
}
