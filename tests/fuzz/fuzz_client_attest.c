/*
 * libFuzzer target: libturtle's decoding of the agent role's results (tt_attest_quote,
 * tt_agent_identity, tt_agent_activate) as a hostile or broken turtled would send them.
 *
 * A fake service thread listens on a Unix socket in a temporary directory. For each
 * request it reads the whole frame (header, body, auth; the client checks the
 * connection is idle before sending, so the answer must not come earlier), writes the
 * response the input describes, and closes the connection; the client reconnects on its
 * next call. The library runs unchanged: response header checks, body read, protobuf
 * unpacking, and the result checks of src/client/attest.c.
 *
 * Input:
 *   u8 mode   bits 0-1: 0 tt_attest_quote, 1 tt_agent_identity, 2 tt_agent_activate
 *             (3: quote with an explicit two-bank selection); bit 7: raw, the rest of the
 *             input is sent as is (header included); otherwise a well-formed header for
 *             the right opcode is built around the rest
 *   u8 status (not raw) the response status
 *   rest      body (or the raw response)
 * What the library hands back must honour turtle/attest.h: banks known, one digest of the
 * bank's size per set mask bit, lengths matching non-NULL buffers.
 */
#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "turtle/attest.h"
#include "turtle/error.h"
#include "turtle/turtle.h"
#include "wire/header.h"
#include "wire/opcodes.h"
#include "fuzz_util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_RESPONSE (64u * 1024u)

static char tmpdir[] = "/tmp/turtle-fuzz-client-XXXXXX";
static char sock_path[108];
static int listen_fd = -1;
static struct tt_client *client;

/* The response for the next request; guarded by lock. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static uint8_t *resp;
static size_t resp_len;
/* Connections answered and closed. The input waits for its own before returning, so the
 * next call always finds the old connection closed and reconnects (no race between the
 * server's close and the client's idle check). */
static pthread_cond_t served_cv = PTHREAD_COND_INITIALIZER;
static unsigned long served;

static int
read_all(int fd, uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t r = read(fd, p, n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* Read and drop the request frame, so the client is waiting for its answer. */
static int
read_request(int fd)
{
	uint8_t raw[TT_WIRE_HDR_LEN], sink[4096];
	struct tt_wire_hdr h;
	size_t left;

	if (read_all(fd, raw, sizeof(raw)) != 0 || tt_wire_hdr_decode(raw, &h) != 0)
		return -1;
	left = (size_t)h.body_len + h.auth_len;
	while (left > 0) {
		size_t k = left < sizeof(sink) ? left : sizeof(sink);

		if (read_all(fd, sink, k) != 0)
			return -1;
		left -= k;
	}
	return 0;
}

static void *
server(void *arg)
{
	(void)arg;
	for (;;) {
		int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return NULL;
		}
		if (read_request(fd) == 0) {
			size_t off = 0;

			pthread_mutex_lock(&lock);
			while (off < resp_len) {
				/* MSG_NOSIGNAL: the client may hang up after a bad header */
				ssize_t w = send(fd, resp + off, resp_len - off, MSG_NOSIGNAL);

				if (w < 0 && errno == EINTR)
					continue;
				if (w <= 0)
					break;
				off += (size_t)w;
			}
			pthread_mutex_unlock(&lock);
		}
		close(fd);
		pthread_mutex_lock(&lock);
		served++;
		pthread_cond_broadcast(&served_cv);
		pthread_mutex_unlock(&lock);
	}
}

static void
cleanup(void)
{
	fuzz_rmtree(tmpdir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct tt_client_opts o;
	struct sockaddr_un sun;
	pthread_t th;

	(void)argc;
	(void)argv;
	if (mkdtemp(tmpdir) == NULL)
		abort();
	atexit(cleanup);
	if ((size_t)snprintf(sock_path, sizeof(sock_path), "%s/s", tmpdir) >= sizeof(sock_path))
		abort();
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, sock_path, strlen(sock_path) + 1);
	if ((listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    bind(listen_fd, (struct sockaddr *)&sun, sizeof(sun)) != 0 ||
	    listen(listen_fd, 8) != 0)
		abort();
	if (pthread_create(&th, NULL, server, NULL) != 0)
		abort();
	(void)pthread_detach(th);
	memset(&o, 0, sizeof(o));
	o.socket_path = sock_path;
	o.auth = TT_CLIENT_AUTH_DIRECT;
	o.app_name = "fuzz";
	o.provider = 3;
	o.timeout_ms = 4000;
	o.max_response = MAX_RESPONSE;
	if (tt_client_open(&client, &o) != 0)
		abort();
	return 0;
}

static size_t
digest_size(uint16_t alg)
{
	switch (alg) {
	case TT_TPM_ALG_SHA1: return 20;
	case TT_TPM_ALG_SHA256: return 32;
	case TT_TPM_ALG_SHA384: return 48;
	case TT_TPM_ALG_SHA512: return 64;
	default: return 0;
	}
}

/* Touch every byte the library says is there, so ASan sees a short buffer. */
static uint8_t
touch(const uint8_t *p, size_t n)
{
	uint8_t x = 0;

	if ((p == NULL) != (n == 0))
		abort();
	for (size_t i = 0; i < n; i++)
		x ^= p[i];
	return x;
}

static void
check_quote(const struct tt_attest_quote *q)
{
	volatile uint8_t x = 0;

	if (q->attest_len == 0 || q->signature_len == 0 || q->ak_public_len == 0 ||
	    q->n_banks == 0 || q->n_banks > TT_ATTEST_MAX_BANKS)
		abort();
	x ^= touch(q->attest, q->attest_len);
	x ^= touch(q->signature, q->signature_len);
	x ^= touch(q->ak_public, q->ak_public_len);
	x ^= touch(q->event_log, q->event_log_len);
	x ^= touch(q->ima_log, q->ima_log_len);
	for (size_t b = 0; b < q->n_banks; b++) {
		const struct tt_pcr_bank_values *v = &q->banks[b];

		if (v->mask == 0 || v->mask >> TT_ATTEST_NUM_PCRS != 0 ||
		    digest_size(v->hash_alg) == 0 || v->digest_size != digest_size(v->hash_alg))
			abort();
	}
	(void)x;
}

static void
check_identity(const struct tt_agent_identity *id)
{
	volatile uint8_t x = 0;

	if (id->ek_public_len == 0 || id->ek_public_der_len == 0 || id->ak_public_len == 0 ||
	    id->ak_name_len == 0)
		abort();
	x ^= touch(id->ek_public, id->ek_public_len);
	x ^= touch(id->ek_public_der, id->ek_public_der_len);
	x ^= touch(id->ek_cert, id->ek_cert_len);
	x ^= touch(id->ak_public, id->ak_public_len);
	x ^= touch(id->ak_name, id->ak_name_len);
	(void)x;
}

static const uint32_t opcodes[4] = {
	TT_OP_TT_ATTEST_QUOTE, TT_OP_TT_AGENT_IDENTITY, TT_OP_TT_AGENT_ACTIVATE,
	TT_OP_TT_ATTEST_QUOTE,
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t nonce[32] = { 1, 2, 3, 4 };
	static const struct tt_pcr_bank_sel sel[2] = {
		{ TT_TPM_ALG_SHA256, 0x7ff }, { TT_TPM_ALG_SHA1, 0x81 },
	};
	static const uint8_t blob[] = { 0, 4, 'b', 'l', 'o', 'b' };
	static const uint8_t secret[] = { 0, 3, 's', 'e', 'c' };
	uint8_t mode, *buf;
	unsigned long before;
	size_t len;
	int r = 0;

	if (size < 1 || size > MAX_RESPONSE)
		return 0;
	mode = data[0];
	if (mode & 0x80) {
		len = size - 1;
		if ((buf = malloc(len + 1)) == NULL)
			abort();
		memcpy(buf, data + 1, len);
	} else {
		struct tt_wire_hdr h;

		if (size < 2)
			return 0;
		len = TT_WIRE_HDR_LEN + size - 2;
		if ((buf = malloc(len)) == NULL)
			abort();
		memset(&h, 0, sizeof(h));
		h.provider = 3;
		h.content_type = TT_WIRE_BODY_PROTOBUF;
		h.accept_type = TT_WIRE_BODY_PROTOBUF;
		h.body_len = (uint32_t)(size - 2);
		h.opcode = opcodes[mode & 3];
		h.status = data[1];
		tt_wire_hdr_encode(&h, buf);
		memcpy(buf + TT_WIRE_HDR_LEN, data + 2, size - 2);
	}
	pthread_mutex_lock(&lock);
	resp = buf;
	resp_len = len;
	before = served;
	pthread_mutex_unlock(&lock);

	switch (mode & 3) {
	case 0:
	case 3: {
		struct tt_attest_quote *q = NULL;

		r = (mode & 3) == 0 ? tt_attest_quote(client, nonce, sizeof(nonce), NULL, 0, &q) :
		    tt_attest_quote(client, nonce, 0, sel, 2, &q);
		if (r == 0)
			check_quote(q);
		else if (q != NULL)
			abort();
		tt_attest_quote_free(q);
		break;
	}
	case 1: {
		struct tt_agent_identity *id = NULL;

		if ((r = tt_agent_identity(client, &id)) == 0)
			check_identity(id);
		else if (id != NULL)
			abort();
		tt_agent_identity_free(id);
		break;
	}
	case 2: {
		uint8_t *out = NULL;
		size_t out_len = 0;

		r = tt_agent_activate(client, blob, sizeof(blob), secret, sizeof(secret), &out,
		    &out_len);
		if (r == 0) {
			volatile uint8_t x = touch(out, out_len);

			(void)x;
			if (out_len == 0)
				abort();
			tt_free_secret(out, out_len);
		} else if (out != NULL) {
			abort();
		}
		break;
	}
	}
	if (getenv("TT_FUZZ_VERBOSE") != NULL)
		fprintf(stderr, "mode 0x%02x -> %d (%s)\n", mode, r, tt_strerror(r));
	/* every failure is a tt_err */
	if (r > 0)
		abort();
	pthread_mutex_lock(&lock);
	while (served == before)
		pthread_cond_wait(&served_cv, &lock);
	resp = NULL;
	resp_len = 0;
	pthread_mutex_unlock(&lock);
	free(buf);
	return 0;
}
