/*
 * bench_as: TPM attestation throughput of turtle-as against the raw verification work.
 *
 * The bench starts its own turtle-as (temporary data dir, free port, admin token file
 * 0600), registers a node whose AK is a software ECDSA P-256 key (registered with
 * "ak_public": the admin vouches for it, no EK activation), and imports reference values
 * for every claim, so each attestation is appraised "affirming" with a full policy pass.
 *
 * One attestation, per client thread, over one HTTP/1.1 keep-alive connection (raw
 * sockets: the load generator shares the 2 cores with the service, so it stays thin):
 *   POST /v1/challenge                 -> nonce
 *   build a TPMS_ATTEST (tss2-mu) with extraData = nonce, PCR selection sha256:0-7 and
 *   pcrDigest, signed by the AK into a TPMT_SIGNATURE   (client side, timed separately)
 *   POST /v1/attest {quote, pcrs, eventlog}  -> 200 and an EAR token, status affirming
 * The event log is a TCG2 crypto-agile log generated here: the Spec ID header and 100
 * EV_EFI_BOOT_SERVICES_APPLICATION events over PCRs 0-7; the quoted PCRs are its replay.
 *
 * The baseline, measured in the same run in alternating slices and on the same thread
 * counts, is the raw cryptographic work of one attestation in-process: ECDSA P-256
 * verification of the quote, the SHA-256 replay of the 100 events plus the pcrDigest,
 * and an ES256 signature over a token-sized input (the length of a real token from the
 * probe attestation). The ratio says what share of the machine the service turns into
 * attestations.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include <tss2/tss2_mu.h>

#include "bench.h"

#define MAX_THREAD_COUNTS 8
#define NEVENTS 100u
#define NPCRS 8u
#define DLEN 32u
#define NODE_ID "bench-node"
#define GROUP "bench"
#define EV_NO_ACTION 0x00000003u
#define EV_EFI_BOOT_SERVICES_APPLICATION 0x80000003u

#ifndef BENCH_TURTLE_AS_PATH
#define BENCH_TURTLE_AS_PATH "turtle-as"
#endif

struct cfg {
	const char *as_path;
	const char *tmp_parent;
	unsigned seconds;
	unsigned warm_ms;
	unsigned rounds;
	unsigned server_threads;
	unsigned threads[MAX_THREAD_COUNTS];
	unsigned n_threads;
};

/* Everything shared by the client threads and the baseline; read-only once built. */
struct world {
	uint16_t port;
	char token[64];                  /* admin bearer token */
	EVP_PKEY *ak;                    /* private AK (client side signs quotes with it) */
	EVP_PKEY *issuer;                /* stand-in ES256 token key for the baseline */
	uint8_t *evlog;                  /* the generated event log */
	size_t evlog_len;
	char *evlog_b64;
	uint8_t pcr[NPCRS][DLEN];        /* replay of the log */
	uint8_t pcr_digest[DLEN];        /* SHA-256 over pcr[0..7] */
	char pcrs_json[NPCRS * (DLEN * 2 + 8) + 16];
	size_t token_len;                /* length of a real EAR token (baseline input size) */
	/* one prebuilt quote for the baseline's signature verification */
	uint8_t q_attest[512];
	size_t q_attest_len;
	uint8_t q_der[80];
	size_t q_der_len;
	/* client-side quote construction cost, all threads, all slices */
	_Atomic uint64_t build_ns, builds;
};

static struct world W;

/* ---- small helpers ---- */

static void hex(const uint8_t *d, size_t n, char *out)
{
	static const char hx[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hx[d[i] >> 4];
		out[2 * i + 1] = hx[d[i] & 15];
	}
	out[2 * n] = '\0';
}

static char *b64(const uint8_t *d, size_t n)
{
	char *o = malloc(4 * ((n + 2) / 3) + 1);

	if (o != NULL)
		EVP_EncodeBlock((unsigned char *)o, d, (int)n);
	return o;
}

/* base64url without padding (the challenge nonce) to bytes; -1 on bad input. */
static int b64url_dec(const char *s, size_t sl, uint8_t *out, size_t max, size_t *outl)
{
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t n = 0;

	for (size_t i = 0; i < sl; i++) {
		char c = s[i];
		int v = c >= 'A' && c <= 'Z' ? c - 'A' : c >= 'a' && c <= 'z' ? c - 'a' + 26 :
		    c >= '0' && c <= '9' ? c - '0' + 52 : c == '-' ? 62 : c == '_' ? 63 : -1;

		if (c == '=')
			break;
		if (v < 0)
			return -1;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n >= max)
				return -1;
			out[n++] = (uint8_t)(acc >> bits);
		}
	}
	*outl = n;
	return 0;
}

static int sha256(const void *a, size_t al, const void *b, size_t bl, uint8_t out[DLEN])
{
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	int ok = m != NULL && EVP_DigestInit_ex(m, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(m, a, al) == 1 && (bl == 0 || EVP_DigestUpdate(m, b, bl) == 1) &&
	    EVP_DigestFinal_ex(m, out, NULL) == 1;

	EVP_MD_CTX_free(m);
	return ok ? 0 : -1;
}

/* Find "key": "<string>" in a flat JSON text; returns the value's start and length. */
static int json_str(const char *j, const char *key, const char **v, size_t *vl)
{
	char pat[64];
	const char *p, *e;

	snprintf(pat, sizeof(pat), "\"%s\"", key);
	if ((p = strstr(j, pat)) == NULL)
		return -1;
	p += strlen(pat);
	while (*p == ' ' || *p == ':')
		p++;
	if (*p++ != '"' || (e = strchr(p, '"')) == NULL)
		return -1;
	*v = p;
	*vl = (size_t)(e - p);
	return 0;
}

/* ---- HTTP/1.1 keep-alive client over one socket ---- */

struct conn {
	int fd;
	char *buf;      /* response: headers then body, NUL-terminated */
	size_t cap;
	const char *body;
	size_t body_len;
};

static int conn_open(struct conn *c)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(W.port) };
	int one = 1;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	(void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	return 0;
}

static void conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static int write_all(int fd, struct iovec *iov, int n)
{
	while (n > 0) {
		ssize_t w = writev(fd, iov, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		while (n > 0 && (size_t)w >= iov->iov_len) {
			w -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return 0;
}

/* Read one response with a Content-Length body; returns the status or -1. *closed is set
 * when the server said it closes the connection. */
static int read_response(struct conn *c, bool *closed)
{
	size_t len = 0, hdr_end = 0, clen = 0;
	const char *p;
	int status;

	*closed = false;
	for (;;) {
		ssize_t n;

		if (len + 1 >= c->cap) {
			size_t nc = c->cap * 2;
			char *nb = realloc(c->buf, nc);

			if (nb == NULL)
				return -1;
			c->buf = nb;
			c->cap = nc;
		}
		n = read(c->fd, c->buf + len, c->cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		len += (size_t)n;
		c->buf[len] = '\0';
		if (hdr_end == 0) {
			char *e = strstr(c->buf, "\r\n\r\n");

			if (e == NULL)
				continue;
			*e = '\0';
			hdr_end = (size_t)(e - c->buf) + 4;
			if (strncmp(c->buf, "HTTP/1.1 ", 9) != 0)
				return -1;
			status = (int)strtol(c->buf + 9, NULL, 10);
			for (p = c->buf; (p = strchr(p, '\n')) != NULL; p++) {
				if (strncasecmp(p + 1, "content-length:", 15) == 0)
					clen = (size_t)strtoul(p + 16, NULL, 10);
				else if (strncasecmp(p + 1, "connection: close", 17) == 0)
					*closed = true;
			}
			*e = '\r';
		}
		if (len >= hdr_end + clen)
			break;
	}
	c->buf[hdr_end + clen] = '\0';
	c->body = c->buf + hdr_end;
	c->body_len = clen;
	return status;
}

/* POST `path` with a JSON body; returns the HTTP status or -1. A reused connection the
 * server has dropped is reopened once. */
static int http_post(struct conn *c, const char *path, bool admin, const char *body, size_t bl)
{
	char hdr[512];
	struct iovec iov[2];
	bool closed = false;
	int status = -1;

	for (int attempt = 0; attempt < 2; attempt++) {
		bool fresh = c->fd < 0;

		if (fresh && conn_open(c) != 0)
			return -1;
		iov[0].iov_base = hdr;
		iov[0].iov_len = (size_t)snprintf(hdr, sizeof(hdr),
		    "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
		    "Content-Length: %zu\r\n%s%s%s\r\n", path, bl,
		    admin ? "Authorization: Bearer " : "", admin ? W.token : "", admin ? "\r\n" : "");
		iov[1].iov_base = (void *)body;
		iov[1].iov_len = bl;
		if (write_all(c->fd, iov, 2) == 0 && (status = read_response(c, &closed)) > 0)
			break;
		conn_close(c);
		if (fresh)
			return -1;
	}
	if (closed)
		conn_close(c);
	return status;
}

/* ---- evidence ---- */

static void put32(uint8_t **p, uint32_t v)
{
	(*p)[0] = (uint8_t)v;
	(*p)[1] = (uint8_t)(v >> 8);
	(*p)[2] = (uint8_t)(v >> 16);
	(*p)[3] = (uint8_t)(v >> 24);
	*p += 4;
}

static void put16(uint8_t **p, uint16_t v)
{
	(*p)[0] = (uint8_t)v;
	(*p)[1] = (uint8_t)(v >> 8);
	*p += 2;
}

/*
 * A TCG2 crypto-agile log with a SHA-256 bank only: the TCG_PCR_EVENT Spec ID header,
 * then NEVENTS TCG_PCR_EVENT2 EV_EFI_BOOT_SERVICES_APPLICATION events, event i in PCR i%8,
 * whose data is a UEFI_IMAGE_LOAD_EVENT (location, length, link address, empty device
 * path) and whose digest stands for the image's Authenticode hash. Replays into W.pcr.
 */
static int build_eventlog(void)
{
	static const char spec[16] = "Spec ID Event03";
	const size_t spec_len = 16 + 4 + 4 + 4 + 4 + 1, ev_data = 32;
	uint8_t *p;

	W.evlog_len = 32 + spec_len + NEVENTS * (4 + 4 + 4 + 2 + DLEN + 4 + ev_data);
	if ((W.evlog = calloc(1, W.evlog_len)) == NULL)
		return -1;
	p = W.evlog;
	put32(&p, 0);
	put32(&p, EV_NO_ACTION);
	p += 20;                               /* SHA-1 digest: zero */
	put32(&p, (uint32_t)spec_len);
	memcpy(p, spec, 16);
	p += 16;
	put32(&p, 0);                          /* platformClass: client */
	*p++ = 0;                              /* specVersionMinor */
	*p++ = 2;                              /* specVersionMajor */
	*p++ = 0;                              /* specErrata */
	*p++ = 2;                              /* uintnSize: 64-bit */
	put32(&p, 1);                          /* numberOfAlgorithms */
	put16(&p, 0x000B);                     /* TPM_ALG_SHA256 */
	put16(&p, DLEN);
	*p++ = 0;                              /* vendorInfoSize */
	memset(W.pcr, 0, sizeof(W.pcr));
	for (uint32_t i = 0; i < NEVENTS; i++) {
		char image[48];
		uint8_t d[DLEN];
		unsigned pcr = i % NPCRS;
		int n = snprintf(image, sizeof(image), "bench boot image %u", i);

		if (sha256(image, (size_t)n, NULL, 0, d) != 0 ||
		    sha256(W.pcr[pcr], DLEN, d, DLEN, W.pcr[pcr]) != 0)
			return -1;
		put32(&p, pcr);
		put32(&p, EV_EFI_BOOT_SERVICES_APPLICATION);
		put32(&p, 1);
		put16(&p, 0x000B);
		memcpy(p, d, DLEN);
		p += DLEN;
		put32(&p, (uint32_t)ev_data);
		put32(&p, 0x100000u * (i + 1));    /* ImageLocationInMemory (low half) */
		p += 4;
		put32(&p, 0x20000u);               /* ImageLengthInMemory */
		p += 4;
		p += 16;                           /* link-time address, device path length 0 */
	}
	if ((size_t)(p - W.evlog) != W.evlog_len)
		return -1;
	if (sha256(W.pcr, sizeof(W.pcr), NULL, 0, W.pcr_digest) != 0 ||
	    (W.evlog_b64 = b64(W.evlog, W.evlog_len)) == NULL)
		return -1;
	{
		char *o = W.pcrs_json;
		size_t left = sizeof(W.pcrs_json);

		for (unsigned i = 0; i < NPCRS; i++) {
			char hx[2 * DLEN + 1];
			int n;

			hex(W.pcr[i], DLEN, hx);
			n = snprintf(o, left, "%s\"%u\":\"%s\"", i ? "," : "", i, hx);
			o += n;
			left -= (size_t)n;
		}
	}
	return 0;
}

/* Per-thread signing state for quotes. */
struct quoter {
	EVP_MD_CTX *md;
};

/*
 * TPMS_ATTEST of a TPM2_Quote over sha256:0-7 with extraData = nonce, then the AK's
 * ECDSA-SHA256 signature as a TPMT_SIGNATURE. `der` (optional) receives the DER form.
 */
static int make_quote(struct quoter *q, const uint8_t *nonce, size_t nonce_len,
    uint8_t *att, size_t *att_len, uint8_t *sig, size_t *sig_len, uint8_t *der, size_t *der_len)
{
	TPMS_ATTEST a = { 0 };
	TPMT_SIGNATURE s = { 0 };
	uint8_t dsig[80];
	size_t dl = sizeof(dsig), off = 0;
	const unsigned char *dp = dsig;
	ECDSA_SIG *es = NULL;
	const BIGNUM *r = NULL, *ss = NULL;
	int rc = -1;

	a.magic = TPM2_GENERATED_VALUE;
	a.type = TPM2_ST_ATTEST_QUOTE;
	a.qualifiedSigner.size = 34;            /* nameAlg sha256 + a digest: any name */
	a.qualifiedSigner.name[0] = 0x00;
	a.qualifiedSigner.name[1] = 0x0B;
	memset(a.qualifiedSigner.name + 2, 0x5A, 32);
	if (nonce_len > sizeof(a.extraData.buffer))
		return -1;
	a.extraData.size = (UINT16)nonce_len;
	memcpy(a.extraData.buffer, nonce, nonce_len);
	a.clockInfo.clock = 123456789;
	a.clockInfo.resetCount = 1;
	a.clockInfo.safe = 1;
	a.firmwareVersion = 0x2023101500000000ull;
	a.attested.quote.pcrSelect.count = 1;
	a.attested.quote.pcrSelect.pcrSelections[0].hash = TPM2_ALG_SHA256;
	a.attested.quote.pcrSelect.pcrSelections[0].sizeofSelect = 3;
	a.attested.quote.pcrSelect.pcrSelections[0].pcrSelect[0] = 0xFF;   /* PCRs 0-7 */
	a.attested.quote.pcrDigest.size = DLEN;
	memcpy(a.attested.quote.pcrDigest.buffer, W.pcr_digest, DLEN);
	if (Tss2_MU_TPMS_ATTEST_Marshal(&a, att, *att_len, &off) != TSS2_RC_SUCCESS)
		return -1;
	*att_len = off;
	if (EVP_DigestSignInit(q->md, NULL, EVP_sha256(), NULL, W.ak) != 1 ||
	    EVP_DigestSign(q->md, dsig, &dl, att, *att_len) != 1 ||
	    (es = d2i_ECDSA_SIG(NULL, &dp, (long)dl)) == NULL)
		goto out;
	ECDSA_SIG_get0(es, &r, &ss);
	s.sigAlg = TPM2_ALG_ECDSA;
	s.signature.ecdsa.hash = TPM2_ALG_SHA256;
	s.signature.ecdsa.signatureR.size = 32;
	s.signature.ecdsa.signatureS.size = 32;
	if (BN_bn2binpad(r, s.signature.ecdsa.signatureR.buffer, 32) != 32 ||
	    BN_bn2binpad(ss, s.signature.ecdsa.signatureS.buffer, 32) != 32)
		goto out;
	off = 0;
	if (Tss2_MU_TPMT_SIGNATURE_Marshal(&s, sig, *sig_len, &off) != TSS2_RC_SUCCESS)
		goto out;
	*sig_len = off;
	if (der != NULL) {
		if (dl > *der_len)
			goto out;
		memcpy(der, dsig, dl);
		*der_len = dl;
	}
	rc = 0;
out:
	ECDSA_SIG_free(es);
	return rc;
}

/* ---- through turtle-as ---- */

struct client {
	struct conn c;
	struct quoter q;
	char *body;
	size_t body_cap;
	uint64_t build_ns, builds;
	bool check_token;        /* the probe: keep the token length */
};

static int client_init(void *arg, unsigned idx, void **state)
{
	struct client *s = calloc(1, sizeof(*s));

	(void)arg;
	(void)idx;
	if (s == NULL)
		return -1;
	s->c.fd = -1;
	s->c.cap = 16384;
	s->body_cap = strlen(W.evlog_b64) + 4096;
	if ((s->c.buf = malloc(s->c.cap)) == NULL || (s->body = malloc(s->body_cap)) == NULL ||
	    (s->q.md = EVP_MD_CTX_new()) == NULL) {
		free(s->c.buf);
		free(s->body);
		free(s);
		return -1;
	}
	*state = s;
	return 0;
}

static void client_fini(void *state)
{
	struct client *s = state;

	atomic_fetch_add(&W.build_ns, s->build_ns);
	atomic_fetch_add(&W.builds, s->builds);
	conn_close(&s->c);
	EVP_MD_CTX_free(s->q.md);
	free(s->c.buf);
	free(s->body);
	free(s);
}

static const char challenge_body[] = "{\"tee\":\"tpm\",\"node_id\":\"" NODE_ID "\"}";

static int client_op(void *state)
{
	struct client *s = state;
	uint8_t nonce[64], att[512], sig[256];
	size_t nl = 0, al = sizeof(att), sl = sizeof(sig);
	char nonce_s[96], *ab = NULL, *sb = NULL;
	const char *v;
	size_t vl;
	uint64_t t0;
	int n, st, rc = -1;

	st = http_post(&s->c, "/v1/challenge", false, challenge_body, sizeof(challenge_body) - 1);
	if (st != 200 || json_str(s->c.body, "nonce", &v, &vl) != 0 || vl >= sizeof(nonce_s))
		return st == 200 ? -2 : -(st > 0 ? st : 1);
	memcpy(nonce_s, v, vl);
	nonce_s[vl] = '\0';
	t0 = bench_now_ns();
	if (b64url_dec(nonce_s, vl, nonce, sizeof(nonce), &nl) != 0 ||
	    make_quote(&s->q, nonce, nl, att, &al, sig, &sl, NULL, NULL) != 0 ||
	    (ab = b64(att, al)) == NULL || (sb = b64(sig, sl)) == NULL)
		goto out;
	n = snprintf(s->body, s->body_cap,
	    "{\"nonce\":\"%s\",\"tee\":\"tpm\",\"evidence\":{\"quote\":{\"attest\":\"%s\","
	    "\"signature\":\"%s\"},\"pcrs\":{\"sha256\":{%s}},\"eventlog\":\"%s\"}}",
	    nonce_s, ab, sb, W.pcrs_json, W.evlog_b64);
	if (n < 0 || (size_t)n >= s->body_cap)
		goto out;
	s->build_ns += bench_now_ns() - t0;
	s->builds++;
	st = http_post(&s->c, "/v1/attest", false, s->body, (size_t)n);
	if (st != 200) {
		if (s->check_token)
			fprintf(stderr, "bench_as: attest -> %d: %.300s\n", st, st > 0 ? s->c.body : "");
		rc = -(st > 0 ? st : 1);
		goto out;
	}
	if (json_str(s->c.body, "status", &v, &vl) != 0 || vl != 9 || memcmp(v, "affirming", 9) != 0) {
		if (s->check_token)
			fprintf(stderr, "bench_as: attestation not affirming: %.300s\n", s->c.body);
		rc = -3;
		goto out;
	}
	if (s->check_token && json_str(s->c.body, "token", &v, &vl) == 0)
		W.token_len = vl;
	rc = 0;
out:
	free(ab);
	free(sb);
	return rc;
}

/* ---- in-process baseline: the raw work of one attestation ---- */

struct raw {
	EVP_MD_CTX *vmd, *smd, *hmd;
	uint8_t *tok;               /* token-sized signing input */
};

static int raw_init(void *arg, unsigned idx, void **state)
{
	struct raw *s = calloc(1, sizeof(*s));

	(void)arg;
	(void)idx;
	if (s == NULL)
		return -1;
	s->vmd = EVP_MD_CTX_new();
	s->smd = EVP_MD_CTX_new();
	s->hmd = EVP_MD_CTX_new();
	s->tok = malloc(W.token_len);
	if (s->vmd == NULL || s->smd == NULL || s->hmd == NULL || s->tok == NULL ||
	    RAND_bytes(s->tok, (int)W.token_len) != 1) {
		EVP_MD_CTX_free(s->vmd);
		EVP_MD_CTX_free(s->smd);
		EVP_MD_CTX_free(s->hmd);
		free(s->tok);
		free(s);
		return -1;
	}
	*state = s;
	return 0;
}

static void raw_fini(void *state)
{
	struct raw *s = state;

	EVP_MD_CTX_free(s->vmd);
	EVP_MD_CTX_free(s->smd);
	EVP_MD_CTX_free(s->hmd);
	free(s->tok);
	free(s);
}

static int raw_op(void *state)
{
	struct raw *s = state;
	uint8_t pcr[NPCRS][DLEN], dig[DLEN], sig[80];
	size_t sl = sizeof(sig);
	const uint8_t *ev;

	/* 1. quote signature */
	if (EVP_DigestVerifyInit(s->vmd, NULL, EVP_sha256(), NULL, W.ak) != 1 ||
	    EVP_DigestVerify(s->vmd, W.q_der, W.q_der_len, W.q_attest, W.q_attest_len) != 1)
		return -1;
	/* 2. replay: one SHA-256 extend per event (digests read from the log), then pcrDigest */
	memset(pcr, 0, sizeof(pcr));
	ev = W.evlog + 32 + 16 + 4 + 4 + 4 + 4 + 1;
	for (unsigned i = 0; i < NEVENTS; i++) {
		unsigned p = i % NPCRS;

		if (EVP_DigestInit_ex(s->hmd, EVP_sha256(), NULL) != 1 ||
		    EVP_DigestUpdate(s->hmd, pcr[p], DLEN) != 1 ||
		    EVP_DigestUpdate(s->hmd, ev + 14, DLEN) != 1 ||
		    EVP_DigestFinal_ex(s->hmd, pcr[p], NULL) != 1)
			return -1;
		ev += 4 + 4 + 4 + 2 + DLEN + 4 + 32;
	}
	if (EVP_DigestInit_ex(s->hmd, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(s->hmd, pcr, sizeof(pcr)) != 1 ||
	    EVP_DigestFinal_ex(s->hmd, dig, NULL) != 1 || memcmp(dig, W.pcr_digest, DLEN) != 0)
		return -1;
	/* 3. ES256 over a token-sized input */
	if (EVP_DigestSignInit(s->smd, NULL, EVP_sha256(), NULL, W.issuer) != 1 ||
	    EVP_DigestSign(s->smd, sig, &sl, s->tok, W.token_len) != 1)
		return -1;
	return 0;
}

/* ---- turtle-as process ---- */

struct as_proc {
	pid_t pid;
	char dir[PATH_MAX];
	char log[PATH_MAX + 16];
};

static int write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	size_t n = strlen(text);
	int rc;

	if (fd < 0)
		return -1;
	rc = write(fd, text, n) == (ssize_t)n ? 0 : -1;
	close(fd);
	return rc;
}

static uint16_t free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	uint16_t port = 0;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &sl) == 0)
		port = ntohs(sa.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static void dump_log(const char *path)
{
	char buf[4096];
	FILE *f = fopen(path, "re");
	size_t n;

	if (f == NULL)
		return;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fprintf(stderr, "--- turtle-as log ---\n%s\n", buf);
	fclose(f);
}

static int as_start(struct as_proc *a, const struct cfg *cfg)
{
	char tokpath[PATH_MAX + 16], confpath[PATH_MAX + 16], datapath[PATH_MAX + 16];
	char conf[256], listen[64], tokline[80];
	uint8_t rnd[24];

	snprintf(a->dir, sizeof(a->dir), "%s/bench-as.XXXXXX", cfg->tmp_parent);
	if (mkdtemp(a->dir) == NULL) {
		fprintf(stderr, "bench_as: mkdtemp in %s: %s\n", cfg->tmp_parent, strerror(errno));
		return -1;
	}
	snprintf(tokpath, sizeof(tokpath), "%s/admin-token", a->dir);
	snprintf(confpath, sizeof(confpath), "%s/turtle-as.conf", a->dir);
	snprintf(datapath, sizeof(datapath), "%s/data", a->dir);
	snprintf(a->log, sizeof(a->log), "%s/turtle-as.log", a->dir);
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return -1;
	hex(rnd, sizeof(rnd), W.token);
	snprintf(tokline, sizeof(tokline), "%s\n", W.token);
	/* max_connections covers every client thread; log_level warn keeps per-request
	 * logging out of the measurement. */
	snprintf(conf, sizeof(conf), "[as]\nthreads = %u\nmax_connections = 512\nlog_level = warn\n",
	    cfg->server_threads);
	if (write_file(tokpath, tokline, 0600) != 0 || write_file(confpath, conf, 0600) != 0) {
		fprintf(stderr, "bench_as: cannot write files in %s\n", a->dir);
		return -1;
	}
	for (int attempt = 0; attempt < 5; attempt++) {
		uint64_t deadline;
		int st;

		if ((W.port = free_port()) == 0)
			return -1;
		snprintf(listen, sizeof(listen), "127.0.0.1:%u", (unsigned)W.port);
		if ((a->pid = fork()) < 0)
			return -1;
		if (a->pid == 0) {
			int lfd = open(a->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
			int nfd = open("/dev/null", O_RDONLY | O_CLOEXEC);

			if (lfd < 0 || nfd < 0 || dup2(nfd, 0) < 0 || dup2(lfd, 1) < 0 || dup2(lfd, 2) < 0)
				_exit(127);
			execl(cfg->as_path, cfg->as_path, "--listen", listen, "--data-dir", datapath,
			    "--admin-token-file", tokpath, "--config", confpath, "--foreground",
			    (char *)NULL);
			_exit(127);
		}
		deadline = bench_now_ns() + 20ull * 1000000000ull;
		while (bench_now_ns() < deadline) {
			struct conn c = { .fd = -1 };

			if (waitpid(a->pid, &st, WNOHANG) == a->pid) {
				a->pid = 0;
				break;
			}
			if (conn_open(&c) == 0) {
				conn_close(&c);
				return 0;
			}
			bench_sleep_ms(20);
		}
		if (a->pid > 0) {
			kill(a->pid, SIGKILL);
			waitpid(a->pid, &st, 0);
			a->pid = 0;
		}
	}
	fprintf(stderr, "bench_as: turtle-as (%s) did not start\n", cfg->as_path);
	dump_log(a->log);
	return -1;
}

static void as_stop(struct as_proc *a)
{
	int st;

	if (a->pid > 0) {
		kill(a->pid, SIGTERM);
		waitpid(a->pid, &st, 0);
		a->pid = 0;
	}
	if (a->dir[0] != '\0')
		bench_rmtree(a->dir);
}

/* ---- set-up: keys, node, reference values, probe ---- */

static int setup(void)
{
	struct conn c = { .fd = -1, .cap = 16384 };
	BIO *bio = NULL;
	BUF_MEM *bm = NULL;
	char *body = NULL, *o, *pem = NULL;
	size_t cap = 64 * 1024, left;
	struct client *probe = NULL;
	int st, rc = -1;

	if ((W.ak = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL ||
	    (W.issuer = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL ||
	    build_eventlog() != 0 || (c.buf = malloc(c.cap)) == NULL ||
	    (body = malloc(cap)) == NULL || (bio = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_PUBKEY(bio, W.ak) != 1)
		goto out;
	BIO_get_mem_ptr(bio, &bm);
	/* PEM in JSON: newlines escaped */
	if ((pem = malloc(bm->length * 2 + 1)) == NULL)
		goto out;
	o = pem;
	for (size_t i = 0; i < bm->length; i++) {
		if (bm->data[i] == '\n') {
			*o++ = '\\';
			*o++ = 'n';
		} else {
			*o++ = bm->data[i];
		}
	}
	*o = '\0';
	snprintf(body, cap, "{\"id\":\"" NODE_ID "\",\"group\":\"" GROUP "\",\"ak_public\":\"%s\"}", pem);
	if ((st = http_post(&c, "/v1/nodes", true, body, strlen(body))) != 201) {
		fprintf(stderr, "bench_as: POST /v1/nodes -> %d: %.300s\n", st, st > 0 ? c.body : "");
		goto out;
	}
	/* reference values: every quoted PCR and every boot application */
	o = body;
	left = cap;
	o += snprintf(o, left, "{\"reference_values\":[");
	for (unsigned i = 0; i < NPCRS + NEVENTS; i++) {
		char hx[2 * DLEN + 1], name[32];
		uint8_t d[DLEN];
		int n;

		if (i < NPCRS) {
			hex(W.pcr[i], DLEN, hx);
			snprintf(name, sizeof(name), "pcr.sha256.%u", i);
		} else {
			char image[48];
			int il = snprintf(image, sizeof(image), "bench boot image %u", i - NPCRS);

			if (sha256(image, (size_t)il, NULL, 0, d) != 0)
				goto out;
			hex(d, DLEN, hx);
			snprintf(name, sizeof(name), "boot.app.%u", i - NPCRS);
		}
		left = cap - (size_t)(o - body);
		n = snprintf(o, left, "%s{\"name\":\"%s\",\"value\":\"%s\",\"scope\":\"group:" GROUP "\"}",
		    i ? "," : "", name, hx);
		if (n < 0 || (size_t)n >= left)
			goto out;
		o += n;
	}
	left = cap - (size_t)(o - body);
	if ((size_t)snprintf(o, left, "]}") >= left)
		goto out;
	if ((st = http_post(&c, "/v1/reference-values", true, body, strlen(body))) != 201) {
		fprintf(stderr, "bench_as: POST /v1/reference-values -> %d: %.300s\n", st,
		    st > 0 ? c.body : "");
		goto out;
	}
	/* one attestation end to end: it must be affirming; it gives the token length */
	if (client_init(NULL, 0, (void **)&probe) != 0)
		goto out;
	probe->check_token = true;
	if (client_op(probe) != 0 || W.token_len == 0) {
		fprintf(stderr, "bench_as: probe attestation failed\n");
		goto out;
	}
	/* a quote for the baseline's verification (its nonce does not matter there) */
	{
		uint8_t nonce[32], sig[256];
		size_t sl = sizeof(sig);

		W.q_attest_len = sizeof(W.q_attest);
		W.q_der_len = sizeof(W.q_der);
		if (RAND_bytes(nonce, sizeof(nonce)) != 1 ||
		    make_quote(&probe->q, nonce, sizeof(nonce), W.q_attest, &W.q_attest_len, sig, &sl,
		    W.q_der, &W.q_der_len) != 0)
			goto out;
	}
	rc = 0;
out:
	if (probe != NULL)
		client_fini(probe);
	W.build_ns = 0;
	W.builds = 0;
	conn_close(&c);
	free(c.buf);
	free(body);
	free(pem);
	BIO_free(bio);
	return rc;
}

/* ---- options, report ---- */

static void usage(FILE *f)
{
	fprintf(f,
	    "usage: bench_as [--seconds N] [--rounds N] [--warmup-ms N] [--threads 1,2,8,32]\n"
	    "                [--as PATH] [--server-threads N] [--tmpdir DIR]\n"
	    "  Starts turtle-as (PATH, or $TURTLE_AS, or the one built in this tree) with a\n"
	    "  temporary data dir under DIR (default $TMPDIR or /tmp) and measures TPM\n"
	    "  attestations (challenge + quote + attest, 100-event log) per second against the\n"
	    "  raw verification work in-process, for --seconds per mode and thread count.\n");
}

static void parse_threads(struct cfg *c, const char *v)
{
	char tmp[128], *save = NULL, *tok;

	if (strlen(v) >= sizeof(tmp)) {
		usage(stderr);
		exit(2);
	}
	memcpy(tmp, v, strlen(v) + 1);
	c->n_threads = 0;
	for (tok = strtok_r(tmp, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		if (c->n_threads >= MAX_THREAD_COUNTS) {
			usage(stderr);
			exit(2);
		}
		c->threads[c->n_threads++] = bench_opt_uint("--threads", tok, 1, 256);
	}
	if (c->n_threads == 0) {
		usage(stderr);
		exit(2);
	}
}

static void parse_args(struct cfg *c, int argc, char **argv)
{
	const char *env = getenv("TURTLE_AS"), *tmp = getenv("TMPDIR");

	c->as_path = env != NULL && env[0] != '\0' ? env : BENCH_TURTLE_AS_PATH;
	c->tmp_parent = tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp";
	c->seconds = 4;
	c->rounds = 2;
	c->warm_ms = 300;
	c->server_threads = 2;
	parse_threads(c, "1,2,8,32");
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			exit(0);
		}
		if (v == NULL) {
			usage(stderr);
			exit(2);
		}
		i++;
		if (strcmp(a, "--seconds") == 0)
			c->seconds = bench_opt_uint(a, v, 1, 3600);
		else if (strcmp(a, "--rounds") == 0)
			c->rounds = bench_opt_uint(a, v, 1, 100);
		else if (strcmp(a, "--warmup-ms") == 0)
			c->warm_ms = bench_opt_uint(a, v, 0, 60000);
		else if (strcmp(a, "--threads") == 0)
			parse_threads(c, v);
		else if (strcmp(a, "--as") == 0)
			c->as_path = v;
		else if (strcmp(a, "--server-threads") == 0)
			c->server_threads = bench_opt_uint(a, v, 1, 64);
		else if (strcmp(a, "--tmpdir") == 0)
			c->tmp_parent = v;
		else {
			usage(stderr);
			exit(2);
		}
	}
}

int main(int argc, char **argv)
{
	struct cfg cfg = { 0 };
	struct as_proc as = { 0 };
	struct bench_ops svc = { client_init, client_op, client_fini, NULL };
	struct bench_ops raw = { raw_init, raw_op, raw_fini, NULL };
	unsigned slice_ms, best_threads = 0;
	double ncpu = (double)sysconf(_SC_NPROCESSORS_ONLN), best = 0;
	int rc = 1;

	parse_args(&cfg, argc, argv);
	if (ncpu < 1)
		ncpu = 1;
	signal(SIGPIPE, SIG_IGN);
	(void)bench_raise_nofile(4096);
	atomic_init(&W.build_ns, 0);
	atomic_init(&W.builds, 0);
	if (as_start(&as, &cfg) != 0)
		goto out;
	if (setup() != 0) {
		dump_log(as.log);
		goto out;
	}
	slice_ms = cfg.seconds * 1000u / cfg.rounds;
	if (slice_ms == 0)
		slice_ms = 1;
	printf("bench_as: turtle-as %s (pid %ld, %u HTTP threads, data in %s), %ld cores online\n",
	    cfg.as_path, (long)as.pid, cfg.server_threads, as.dir, sysconf(_SC_NPROCESSORS_ONLN));
	printf("  one attestation = POST /v1/challenge + client-built quote (ECDSA P-256 AK,\n"
	    "  sha256:0-7) + POST /v1/attest with a %u-event log (%zu bytes, %zu in base64);\n"
	    "  token %zu bytes; %u s per mode and thread count in %u slices\n",
	    NEVENTS, W.evlog_len, strlen(W.evlog_b64), W.token_len, cfg.seconds, cfg.rounds);
	printf("  raw = in-process ECDSA verify of the quote + %u SHA-256 extends + pcrDigest +\n"
	    "  ES256 sign over %zu bytes, per attestation\n\n", NEVENTS, W.token_len);
	printf("%7s | %9s %9s %9s %8s | %9s %9s | %6s | %16s %16s\n", "threads", "att/s",
	    "p50 us", "p99 us", "build us", "raw op/s", "raw p50us", "ratio",
	    "bench CPU/att us", "as CPU/att us");
	for (unsigned t = 0; t < cfg.n_threads; t++) {
		struct bench_result rs, rr;
		uint64_t b0 = atomic_load(&W.build_ns), n0 = atomic_load(&W.builds);
		double build_us;

		bench_result_init(&rs, cfg.threads[t], as.pid);
		bench_result_init(&rr, cfg.threads[t], 0);
		for (unsigned r = 0; r < cfg.rounds; r++) {
			if (bench_run_more(&svc, cfg.warm_ms, slice_ms, &rs) != 0 ||
			    bench_run_more(&raw, cfg.warm_ms / 2, slice_ms, &rr) != 0) {
				fprintf(stderr, "bench_as: threads could not start (first error %d/%d)\n",
				    rs.first_error, rr.first_error);
				dump_log(as.log);
				goto out;
			}
		}
		bench_result_finish(&rs);
		bench_result_finish(&rr);
		build_us = atomic_load(&W.builds) > n0 ?
		    (double)(atomic_load(&W.build_ns) - b0) / 1e3 / (double)(atomic_load(&W.builds) - n0) : 0;
		printf("%7u | %9.0f %9.0f %9.0f %8.1f | %9.0f %9.0f | %6.3f | %16.0f %16.0f",
		    cfg.threads[t], rs.ops_per_s, rs.p50_us, rs.p99_us, build_us, rr.ops_per_s,
		    rr.p50_us, rr.ops_per_s > 0 ? rs.ops_per_s / rr.ops_per_s : 0,
		    rs.ops ? rs.self_cpu_s * 1e6 / (double)rs.ops : 0,
		    rs.ops ? rs.peer_cpu_s * 1e6 / (double)rs.ops : 0);
		if (rs.errors != 0 || rr.errors != 0)
			printf("  errors: %llu (first %d) / raw %llu", (unsigned long long)rs.errors,
			    rs.first_error, (unsigned long long)rr.errors);
		else if (rs.ops_per_s > best) {
			best = rs.ops_per_s;
			best_threads = cfg.threads[t];
		}
		printf("\n");
		printf("        | CPU share of the machine (all cores) during the service slices: "
		    "bench %.0f%%, turtle-as %.0f%%\n",
		    rs.secs > 0 ? 100.0 * rs.self_cpu_s / rs.secs / ncpu : 0,
		    rs.secs > 0 ? 100.0 * rs.peer_cpu_s / rs.secs / ncpu : 0);
		fflush(stdout);
	}
	printf("\ntarget: >= 3000 attestations/s on this machine (service and load generator "
	    "share it): %s (best %.0f/s with %u client threads, no errors)\n",
	    best >= 3000 ? "met" : "missed", best, best_threads);
	rc = 0;
out:
	as_stop(&as);
	EVP_PKEY_free(W.ak);
	EVP_PKEY_free(W.issuer);
	free(W.evlog);
	free(W.evlog_b64);
	return rc;
}
