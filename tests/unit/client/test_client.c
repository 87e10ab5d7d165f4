/*
 * libturtle and CLI-conversion unit tests that need no daemon: response framing checks,
 * a scripted fake service on a Unix socket (statuses, protocol breaks, reconnect), socket
 * path resolution, ECDSA signature format conversion and PEM public keys from PSA bytes.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "cli/conv.h"
#include "client/internal.h"
#include "ping.pb-c.h"
#include "turtle/turtle.h"
#include "wire/header.h"
#include "wire/opcodes.h"

/* ---------- response header checks ---------- */

static void
mk_hdr(uint8_t raw[TT_WIRE_HDR_LEN], uint32_t opcode, uint32_t body_len, uint16_t status)
{
	struct tt_wire_hdr h;

	memset(&h, 0, sizeof(h));
	h.opcode = opcode;
	h.body_len = body_len;
	h.status = status;
	tt_wire_hdr_encode(&h, raw);
}

static void
test_hdr_ok(void **state)
{
	uint8_t raw[TT_WIRE_HDR_LEN];
	struct tt_wire_hdr h;

	(void)state;
	mk_hdr(raw, TT_OP_PING, 4, 0);
	assert_int_equal(tt_client_check_response_hdr(raw, TT_OP_PING, 4, &h), 0);
	assert_int_equal(h.body_len, 4);
	assert_int_equal(h.opcode, TT_OP_PING);
}

static void
test_hdr_bad_magic(void **state)
{
	uint8_t raw[TT_WIRE_HDR_LEN];
	struct tt_wire_hdr h = { .opcode = 0xdead };

	(void)state;
	mk_hdr(raw, TT_OP_PING, 0, 0);
	raw[0] ^= 0xff;
	assert_int_equal(tt_client_check_response_hdr(raw, TT_OP_PING, 1024, &h), TT_ERR_PROTOCOL);
	assert_int_equal(h.opcode, 0xdead); /* untouched on failure */
}

static void
test_hdr_bad_version(void **state)
{
	uint8_t raw[TT_WIRE_HDR_LEN];
	struct tt_wire_hdr h;

	(void)state;
	mk_hdr(raw, TT_OP_PING, 0, 0);
	raw[6] = 2;
	assert_int_equal(tt_client_check_response_hdr(raw, TT_OP_PING, 1024, &h), TT_ERR_PROTOCOL);
}

static void
test_hdr_oversized(void **state)
{
	uint8_t raw[TT_WIRE_HDR_LEN];
	struct tt_wire_hdr h;

	(void)state;
	mk_hdr(raw, TT_OP_PING, 1025, 0);
	assert_int_equal(tt_client_check_response_hdr(raw, TT_OP_PING, 1024, &h), TT_ERR_PROTOCOL);
	mk_hdr(raw, TT_OP_PING, UINT32_MAX, 0);
	assert_int_equal(tt_client_check_response_hdr(raw, TT_OP_PING, 1024, &h), TT_ERR_PROTOCOL);
}

static void
test_hdr_opcode_mismatch(void **state)
{
	uint8_t raw[TT_WIRE_HDR_LEN];
	struct tt_wire_hdr h;

	(void)state;
	mk_hdr(raw, TT_OP_PSA_SIGN_HASH, 0, 0);
	assert_int_equal(tt_client_check_response_hdr(raw, TT_OP_PING, 1024, &h), TT_ERR_PROTOCOL);
}

static void
test_hdr_auth_or_content(void **state)
{
	uint8_t raw[TT_WIRE_HDR_LEN];
	struct tt_wire_hdr h;

	(void)state;
	mk_hdr(raw, TT_OP_PING, 0, 0);
	raw[26] = 4; /* auth_len */
	assert_int_equal(tt_client_check_response_hdr(raw, TT_OP_PING, 1024, &h), TT_ERR_PROTOCOL);
	mk_hdr(raw, TT_OP_PING, 0, 0);
	raw[19] = 1; /* content type */
	assert_int_equal(tt_client_check_response_hdr(raw, TT_OP_PING, 1024, &h), TT_ERR_PROTOCOL);
}

/* ---------- read_response over a socketpair ---------- */

static void
test_read_response(void **state)
{
	uint8_t frame[TT_WIRE_HDR_LEN + 3] = { 0 };
	uint8_t *body = NULL;
	size_t len = 0;
	uint16_t status = 0xffff;
	int sv[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	mk_hdr(frame, TT_OP_PING, 3, 1140);
	memcpy(frame + TT_WIRE_HDR_LEN, "abc", 3);
	assert_int_equal(write(sv[1], frame, sizeof(frame)), (ssize_t)sizeof(frame));
	assert_int_equal(tt_client_read_response(sv[0], TT_OP_PING, 16, 1000, &status, &body, &len), 0);
	assert_int_equal(status, 1140);
	assert_int_equal(len, 3);
	assert_memory_equal(body, "abc", 3);
	free(body);

	/* Oversized length: refused from the header alone, no body is waited for. */
	mk_hdr(frame, TT_OP_PING, 1u << 30, 0);
	assert_int_equal(write(sv[1], frame, TT_WIRE_HDR_LEN), TT_WIRE_HDR_LEN);
	assert_int_equal(tt_client_read_response(sv[0], TT_OP_PING, 16, 1000, &status, &body, &len),
			 TT_ERR_PROTOCOL);

	/* Body cut short by a close: a broken frame. */
	mk_hdr(frame, TT_OP_PING, 3, 0);
	assert_int_equal(write(sv[1], frame, TT_WIRE_HDR_LEN + 1), TT_WIRE_HDR_LEN + 1);
	shutdown(sv[1], SHUT_WR);
	assert_int_equal(tt_client_read_response(sv[0], TT_OP_PING, 16, 1000, &status, &body, &len),
			 TT_ERR_PROTOCOL);
	/* Nothing more: clean EOF. */
	assert_int_equal(tt_client_read_response(sv[0], TT_OP_PING, 16, 1000, &status, &body, &len),
			 TT_ERR_EOF);
	close(sv[0]);
	close(sv[1]);
}

/* ---------- a scripted fake service ---------- */

enum fake_mode {
	FAKE_PING_OK,          /* valid ping result, keep the connection (like turtled) */
	FAKE_PING_OK_CLOSE,    /* valid ping result without the keep-alive flag, then close
				* (like PARSEC) */
	FAKE_PING_OK_IDLE_CLOSE, /* keep-alive answered, then closed anyway (an idle timeout) */
	FAKE_WRONG_OPCODE,
	FAKE_STATUS,           /* status 1140 (PsaErrorDoesNotExist) */
	FAKE_BAD_MAGIC,
	FAKE_HUGE_BODY,
};

struct fake {
	char dir[64];
	char path[128];
	int lfd;
	enum fake_mode mode;
	int connections;
	int requests;
	uint8_t last_auth_type;
	uint16_t last_flags;
	uint8_t last_auth[8];
	uint16_t last_auth_len;
	pthread_t th;
};

static int
read_n(int fd, uint8_t *p, size_t n)
{
	size_t got = 0;
	ssize_t r;

	while (got < n) {
		r = read(fd, p + got, n - got);
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

static void *
fake_main(void *arg)
{
	struct fake *f = arg;
	uint8_t raw[TT_WIRE_HDR_LEN], buf[4096], out[TT_WIRE_HDR_LEN + 64];
	struct tt_wire_hdr h, rh;
	int cfd;

	while ((cfd = accept4(f->lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
		f->connections++;
		while (read_n(cfd, raw, sizeof(raw)) == 0) {
			if (tt_wire_hdr_decode(raw, &h) != 0 || h.body_len + h.auth_len > sizeof(buf) ||
			    read_n(cfd, buf, h.body_len + h.auth_len) != 0)
				break;
			f->requests++;
			f->last_auth_type = h.auth_type;
			f->last_flags = h.flags;
			f->last_auth_len = h.auth_len;
			memcpy(f->last_auth, buf + h.body_len, h.auth_len < 8 ? h.auth_len : 8);
			memset(&rh, 0, sizeof(rh));
			rh.opcode = h.opcode;
			rh.provider = h.provider;
			if (f->mode != FAKE_PING_OK_CLOSE)
				rh.flags = h.flags & TT_WIRE_FLAG_KEEP_ALIVE;
			size_t blen = 0;
			if (f->mode == FAKE_PING_OK || f->mode == FAKE_PING_OK_CLOSE ||
			    f->mode == FAKE_PING_OK_IDLE_CLOSE) {
				Ping__Result res = PING__RESULT__INIT;
				res.wire_protocol_version_maj = 1;
				res.wire_protocol_version_min = 0;
				blen = ping__result__pack(&res, out + TT_WIRE_HDR_LEN);
			} else if (f->mode == FAKE_WRONG_OPCODE) {
				rh.opcode = h.opcode + 1;
			} else if (f->mode == FAKE_STATUS) {
				rh.status = 1140;
			} else if (f->mode == FAKE_HUGE_BODY) {
				rh.body_len = 64u << 20;
			}
			if (f->mode != FAKE_HUGE_BODY)
				rh.body_len = (uint32_t)blen;
			tt_wire_hdr_encode(&rh, out);
			if (f->mode == FAKE_BAD_MAGIC)
				out[0] = 0;
			if (write(cfd, out, TT_WIRE_HDR_LEN + blen) < 0)
				break;
			if (f->mode == FAKE_PING_OK_CLOSE || f->mode == FAKE_PING_OK_IDLE_CLOSE)
				break;
		}
		close(cfd);
	}
	return NULL;
}

static int
fake_setup(void **state)
{
	struct fake *f = calloc(1, sizeof(*f));
	struct sockaddr_un sun;

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/tt-client-test-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/s", f->dir);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, f->path, strlen(f->path) + 1);
	f->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(f->lfd >= 0);
	assert_int_equal(bind(f->lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(f->lfd, 8), 0);
	assert_int_equal(pthread_create(&f->th, NULL, fake_main, f), 0);
	*state = f;
	return 0;
}

static int
fake_teardown(void **state)
{
	struct fake *f = *state;

	shutdown(f->lfd, SHUT_RDWR);
	close(f->lfd);
	pthread_join(f->th, NULL);
	unlink(f->path);
	rmdir(f->dir);
	free(f);
	return 0;
}

static struct tt_client *
fake_client(struct fake *f, const struct tt_client_opts *base)
{
	struct tt_client_opts o;
	struct tt_client *c = NULL;

	memset(&o, 0, sizeof(o));
	if (base != NULL)
		o = *base;
	o.socket_path = f->path;
	o.timeout_ms = 5000;
	o.max_response = 4096;
	assert_int_equal(tt_client_open(&c, &o), 0);
	return c;
}

static void
test_fake_ping_and_auth(void **state)
{
	struct fake *f = *state;
	struct tt_client *c;
	uint8_t maj = 9, min = 9;
	uint32_t uid = (uint32_t)geteuid();
	uint8_t le[4] = { (uint8_t)uid, (uint8_t)(uid >> 8), (uint8_t)(uid >> 16), (uint8_t)(uid >> 24) };

	f->mode = FAKE_PING_OK;
	c = fake_client(f, NULL);
	assert_int_equal(tt_ping(c, &maj, &min), 0);
	assert_int_equal(maj, 1);
	assert_int_equal(min, 0);
	assert_int_equal(tt_ping(c, &maj, &min), 0);
	/* One persistent connection for both requests; unix-peer auth carries euid LE. */
	assert_int_equal(f->connections, 1);
	assert_int_equal(f->requests, 2);
	assert_int_equal(f->last_flags, TT_WIRE_FLAG_KEEP_ALIVE);
	assert_int_equal(f->last_auth_type, TT_AUTH_UNIX_PEER);
	assert_int_equal(f->last_auth_len, 4);
	assert_memory_equal(f->last_auth, le, 4);
	assert_string_equal(tt_client_socket(c), f->path);
	tt_client_close(c);
}

static void
test_fake_direct_auth(void **state)
{
	struct fake *f = *state;
	struct tt_client_opts o = { .auth = TT_CLIENT_AUTH_DIRECT, .app_name = "app1" };
	struct tt_client *c;

	f->mode = FAKE_PING_OK;
	c = fake_client(f, &o);
	assert_int_equal(tt_ping(c, NULL, NULL), 0);
	assert_int_equal(f->last_auth_type, TT_AUTH_DIRECT);
	assert_int_equal(f->last_auth_len, 4);
	assert_memory_equal(f->last_auth, "app1", 4);
	tt_client_close(c);
	/* Direct auth without a name is a caller error, caught before connecting. */
	o.app_name = NULL;
	o.socket_path = f->path;
	assert_int_equal(tt_client_open(&c, &o), TT_ERR_INVALID_ARGUMENT);
}

static void
test_fake_reconnect_after_close(void **state)
{
	struct fake *f = *state;
	struct tt_client *c;
	int i;

	/* A response without the keep-alive flag means the service closes after it, so
	 * each request goes out on a new connection, with no wait for the close. */
	f->mode = FAKE_PING_OK_CLOSE;
	c = fake_client(f, NULL);
	for (i = 0; i < 3; i++)
		assert_int_equal(tt_ping(c, NULL, NULL), 0);
	assert_int_equal(f->requests, 3);
	assert_int_equal(f->connections, 3);
	tt_client_close(c);
}

/* The service promised to keep the connection but closed it while idle: the next
 * request fails to send before any byte leaves (EPIPE) and goes out again on a new
 * connection, without a probe before each request. */
static void
test_fake_idle_close_retried(void **state)
{
	struct fake *f = *state;
	struct tt_client *c;
	struct pollfd pfd;

	f->mode = FAKE_PING_OK_IDLE_CLOSE;
	c = fake_client(f, NULL);
	assert_int_equal(tt_ping(c, NULL, NULL), 0);
	/* wait (hang detector: 10 s) until the service's close has reached us */
	pfd.fd = c->fd;
	pfd.events = POLLRDHUP;
	pfd.revents = 0;
	assert_int_equal(poll(&pfd, 1, 10000), 1);
	assert_int_equal(tt_ping(c, NULL, NULL), 0);
	assert_int_equal(f->requests, 2);
	assert_int_equal(f->connections, 2);
	tt_client_close(c);
}

static void
test_fake_protocol_breaks(void **state)
{
	struct fake *f = *state;
	struct tt_client *c;

	f->mode = FAKE_WRONG_OPCODE;
	c = fake_client(f, NULL);
	assert_int_equal(tt_ping(c, NULL, NULL), TT_ERR_PROTOCOL);
	f->mode = FAKE_BAD_MAGIC;
	assert_int_equal(tt_ping(c, NULL, NULL), TT_ERR_PROTOCOL);
	f->mode = FAKE_HUGE_BODY;
	assert_int_equal(tt_ping(c, NULL, NULL), TT_ERR_PROTOCOL);
	/* The client recovers with a fresh connection after each break. */
	f->mode = FAKE_STATUS;
	assert_int_equal(tt_ping(c, NULL, NULL), TT_ERR_DOES_NOT_EXIST);
	f->mode = FAKE_PING_OK;
	assert_int_equal(tt_ping(c, NULL, NULL), 0);
	tt_client_close(c);
}

/* ---------- socket path resolution ---------- */

static void
test_socket_path_env(void **state)
{
	char out[108];
	char longp[200];

	(void)state;
	unsetenv("TURTLE_SOCKET");
	unsetenv("PARSEC_SERVICE_ENDPOINT");
	assert_int_equal(tt_client_socket_path(NULL, out, sizeof(out)), 0);
	assert_string_equal(out, TT_CLIENT_DEFAULT_SOCKET);

	setenv("PARSEC_SERVICE_ENDPOINT", "unix:/run/parsec/parsec.sock", 1);
	assert_int_equal(tt_client_socket_path(NULL, out, sizeof(out)), 0);
	assert_string_equal(out, "/run/parsec/parsec.sock");

	setenv("TURTLE_SOCKET", "/tmp/t.sock", 1);
	assert_int_equal(tt_client_socket_path(NULL, out, sizeof(out)), 0);
	assert_string_equal(out, "/tmp/t.sock");
	assert_int_equal(tt_client_socket_path("/explicit", out, sizeof(out)), 0);
	assert_string_equal(out, "/explicit");

	/* Empty TURTLE_SOCKET counts as unset. */
	setenv("TURTLE_SOCKET", "", 1);
	assert_int_equal(tt_client_socket_path(NULL, out, sizeof(out)), 0);
	assert_string_equal(out, "/run/parsec/parsec.sock");

	unsetenv("TURTLE_SOCKET");
	setenv("PARSEC_SERVICE_ENDPOINT", "tcp://127.0.0.1:1", 1);
	assert_int_equal(tt_client_socket_path(NULL, out, sizeof(out)), TT_ERR_CONFIG);
	setenv("PARSEC_SERVICE_ENDPOINT", "unix:", 1);
	assert_int_equal(tt_client_socket_path(NULL, out, sizeof(out)), TT_ERR_CONFIG);
	unsetenv("PARSEC_SERVICE_ENDPOINT");

	memset(longp, 'a', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	assert_int_equal(tt_client_socket_path(longp, out, sizeof(out)), TT_ERR_CONFIG);
	assert_int_equal(tt_client_socket_path("/abcdef", out, 4), TT_ERR_LIMIT);
}

/* ---------- ECDSA signature conversion ---------- */

static EVP_PKEY *
gen_ec(const char *curve)
{
	EVP_PKEY *pk = EVP_EC_gen(curve);

	assert_non_null(pk);
	return pk;
}

static void
ecdsa_roundtrip(const char *curve, size_t flen)
{
	EVP_PKEY *pk = gen_ec(curve);
	EVP_PKEY_CTX *ctx;
	uint8_t md[32], der[256], *raw = NULL, *der2 = NULL;
	size_t der_len = sizeof(der), raw_len = 0, der2_len = 0;
	int i;

	for (i = 0; i < 32; i++)
		md[i] = (uint8_t)i;
	ctx = EVP_PKEY_CTX_new(pk, NULL);
	assert_non_null(ctx);
	assert_int_equal(EVP_PKEY_sign_init(ctx), 1);
	assert_int_equal(EVP_PKEY_sign(ctx, der, &der_len, md, sizeof(md)), 1);
	/* DER -> PSA raw -> DER, and OpenSSL still verifies the result. */
	assert_int_equal(tt_cli_ecdsa_der_to_raw(der, der_len, flen, &raw, &raw_len), 0);
	assert_int_equal(raw_len, 2 * flen);
	assert_int_equal(tt_cli_ecdsa_raw_to_der(raw, raw_len, &der2, &der2_len), 0);
	assert_int_equal(der2_len, der_len);
	assert_memory_equal(der2, der, der_len);
	assert_int_equal(EVP_PKEY_verify_init(ctx), 1);
	assert_int_equal(EVP_PKEY_verify(ctx, der2, der2_len, md, sizeof(md)), 1);
	free(raw);
	free(der2);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pk);
}

static void
test_ecdsa_roundtrip(void **state)
{
	(void)state;
	ecdsa_roundtrip("P-256", 32);
	ecdsa_roundtrip("P-384", 48);
	ecdsa_roundtrip("P-521", 66);
}

static void
test_ecdsa_leading_zeros(void **state)
{
	uint8_t raw[64], *der = NULL, *back = NULL;
	size_t der_len = 0, back_len = 0;
	/* r = 0x00 0x00 0x80..., s = 0x7f...: exercises zero stripping and the sign byte. */
	static const uint8_t expect_prefix[] = { 0x30 };

	(void)state;
	memset(raw, 0x11, sizeof(raw));
	raw[0] = 0x00;
	raw[1] = 0x00;
	raw[2] = 0x80;
	raw[32] = 0x7f;
	assert_int_equal(tt_cli_ecdsa_raw_to_der(raw, sizeof(raw), &der, &der_len), 0);
	assert_memory_equal(der, expect_prefix, 1);
	/* r INTEGER: 31 bytes with a 0x00 sign byte -> length 31. */
	assert_int_equal(der[2], 0x02);
	assert_int_equal(der[3], 31);
	assert_int_equal(der[4], 0x00);
	assert_int_equal(der[5], 0x80);
	assert_int_equal(tt_cli_ecdsa_der_to_raw(der, der_len, 32, &back, &back_len), 0);
	assert_int_equal(back_len, 64);
	assert_memory_equal(back, raw, 64);
	free(back);
	back = NULL;
	/* An integer wider than the field is refused. */
	assert_int_equal(tt_cli_ecdsa_der_to_raw(der, der_len, 16, &back, &back_len),
			 TT_ERR_INVALID_SIGNATURE);
	free(der);
}

static void
test_ecdsa_bad_input(void **state)
{
	static const uint8_t junk[] = { 0x30, 0x03, 0x02, 0x01 };
	uint8_t raw[64] = { 1 }, *out = NULL, *der = NULL, *withtail;
	size_t out_len = 0, der_len = 0;

	(void)state;
	assert_int_equal(tt_cli_ecdsa_der_to_raw(junk, sizeof(junk), 32, &out, &out_len),
			 TT_ERR_INVALID_SIGNATURE);
	assert_null(out);
	assert_int_equal(tt_cli_ecdsa_raw_to_der(raw, 63, &der, &der_len), TT_ERR_INVALID_ARGUMENT);
	assert_int_equal(tt_cli_ecdsa_raw_to_der(raw, 0, &der, &der_len), TT_ERR_INVALID_ARGUMENT);
	/* Trailing garbage after a valid SEQUENCE. */
	raw[32] = 1;
	assert_int_equal(tt_cli_ecdsa_raw_to_der(raw, 64, &der, &der_len), 0);
	withtail = malloc(der_len + 1);
	assert_non_null(withtail);
	memcpy(withtail, der, der_len);
	withtail[der_len] = 0;
	assert_int_equal(tt_cli_ecdsa_der_to_raw(withtail, der_len + 1, 32, &out, &out_len),
			 TT_ERR_INVALID_SIGNATURE);
	free(withtail);
	free(der);
}

/* ---------- PEM SubjectPublicKeyInfo from PSA bytes ---------- */

static EVP_PKEY *
pem_back(const char *pem)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *pk;

	assert_non_null(bio);
	pk = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	BIO_free(bio);
	assert_non_null(pk);
	return pk;
}

static void
test_pem_from_psa_ec(void **state)
{
	EVP_PKEY *orig = gen_ec("P-256"), *pk = NULL, *back;
	uint8_t pt[65];
	size_t pt_len = 0, pem_len = 0;
	char *pem = NULL;

	(void)state;
	assert_int_equal(EVP_PKEY_get_octet_string_param(orig, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
							 pt, sizeof(pt), &pt_len), 1);
	assert_int_equal(pt_len, 65);
	assert_int_equal(tt_cli_pubkey_from_psa(TT_KEY_TYPE_ECC_KEY_PAIR(TT_ECC_FAMILY_SECP_R1), 256,
						pt, pt_len, &pk), 0);
	assert_int_equal(tt_cli_pubkey_to_pem(pk, &pem, &pem_len), 0);
	assert_non_null(strstr(pem, "-----BEGIN PUBLIC KEY-----"));
	back = pem_back(pem);
	assert_int_equal(EVP_PKEY_eq(back, orig), 1);
	EVP_PKEY_free(back);
	EVP_PKEY_free(pk);
	pk = NULL;
	/* bits 0: size derived from the point. */
	assert_int_equal(tt_cli_pubkey_from_psa(TT_KEY_TYPE_ECC_PUBLIC_KEY(TT_ECC_FAMILY_SECP_R1), 0,
						pt, pt_len, &pk), 0);
	EVP_PKEY_free(pk);
	pk = NULL;
	/* A point off the curve is refused. */
	pt[64] ^= 1;
	assert_int_equal(tt_cli_pubkey_from_psa(TT_KEY_TYPE_ECC_PUBLIC_KEY(TT_ECC_FAMILY_SECP_R1), 256,
						pt, pt_len, &pk), TT_ERR_INVALID_ARGUMENT);
	/* Wrong length for the curve. */
	assert_int_equal(tt_cli_pubkey_from_psa(TT_KEY_TYPE_ECC_PUBLIC_KEY(TT_ECC_FAMILY_SECP_R1), 384,
						pt, pt_len, &pk), TT_ERR_INVALID_ARGUMENT);
	free(pem);
	EVP_PKEY_free(orig);
}

static void
test_pem_from_psa_rsa(void **state)
{
	EVP_PKEY *orig = EVP_RSA_gen(2048), *pk = NULL, *back;
	unsigned char *der = NULL;
	size_t pem_len = 0;
	char *pem = NULL;
	int n;

	(void)state;
	assert_non_null(orig);
	n = i2d_PublicKey(orig, &der); /* PKCS#1 RSAPublicKey: PSA's export format */
	assert_true(n > 0);
	assert_int_equal(tt_cli_pubkey_from_psa(TT_KEY_TYPE_RSA_KEY_PAIR, 2048, der, (size_t)n, &pk), 0);
	assert_int_equal(tt_cli_pubkey_to_pem(pk, &pem, &pem_len), 0);
	back = pem_back(pem);
	assert_int_equal(EVP_PKEY_eq(back, orig), 1);
	/* Trailing byte after the DER is refused. */
	EVP_PKEY_free(pk);
	pk = NULL;
	assert_int_equal(tt_cli_pubkey_from_psa(TT_KEY_TYPE_RSA_PUBLIC_KEY, 0, der, (size_t)n - 1, &pk),
			 TT_ERR_INVALID_ARGUMENT);
	EVP_PKEY_free(back);
	OPENSSL_free(der);
	free(pem);
	EVP_PKEY_free(orig);
}

static void
test_pkey_to_psa(void **state)
{
	EVP_PKEY *ec = gen_ec("P-384"), *rsa = EVP_RSA_gen(2048), *pk = NULL;
	struct tt_key_attrs a;
	uint8_t *data = NULL;
	size_t len = 0;

	(void)state;
	memset(&a, 0, sizeof(a));
	assert_int_equal(tt_cli_pkey_to_psa(ec, &a, &data, &len), 0);
	assert_int_equal(a.type, TT_KEY_TYPE_ECC_KEY_PAIR(TT_ECC_FAMILY_SECP_R1));
	assert_int_equal(a.bits, 384);
	assert_int_equal(len, 48);
	free(data);
	assert_int_equal(tt_cli_pkey_to_psa(rsa, &a, &data, &len), 0);
	assert_int_equal(a.type, TT_KEY_TYPE_RSA_KEY_PAIR);
	assert_int_equal(a.bits, 2048);
	assert_int_equal(data[0], 0x30);
	free(data);
	/* Public-only EC key: the uncompressed point, and it maps back to the same key. */
	{
		uint8_t pt[97];
		size_t pt_len = 0;
		EVP_PKEY *pub;
		assert_int_equal(EVP_PKEY_get_octet_string_param(ec, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
								 pt, sizeof(pt), &pt_len), 1);
		assert_int_equal(tt_cli_pubkey_from_psa(TT_KEY_TYPE_ECC_PUBLIC_KEY(TT_ECC_FAMILY_SECP_R1),
							384, pt, pt_len, &pub), 0);
		assert_int_equal(tt_cli_pkey_to_psa(pub, &a, &data, &len), 0);
		assert_int_equal(a.type, TT_KEY_TYPE_ECC_PUBLIC_KEY(TT_ECC_FAMILY_SECP_R1));
		assert_int_equal(len, 97);
		assert_memory_equal(data, pt, 97);
		free(data);
		EVP_PKEY_free(pub);
	}
	EVP_PKEY_free(pk);
	EVP_PKEY_free(ec);
	EVP_PKEY_free(rsa);
}

static void
test_sign_alg_choice(void **state)
{
	struct tt_key_attrs a = {
		.type = TT_KEY_TYPE_ECC_KEY_PAIR(TT_ECC_FAMILY_SECP_R1), .bits = 384,
		.usage = TT_USAGE_SIGN_HASH, .alg = TT_ALG_ECDSA(TT_ALG_ANY_HASH),
	};

	(void)state;
	assert_int_equal(tt_cli_sign_hash_for(&a), TT_ALG_SHA_384);
	assert_int_equal(tt_cli_sign_alg_for(&a, TT_ALG_SHA_384), TT_ALG_ECDSA(TT_ALG_SHA_384));
	a.bits = 256;
	a.alg = TT_ALG_DETERMINISTIC_ECDSA(TT_ALG_SHA_512);
	assert_int_equal(tt_cli_sign_hash_for(&a), TT_ALG_SHA_512);
	a.type = TT_KEY_TYPE_RSA_KEY_PAIR;
	a.alg = TT_ALG_RSA_PKCS1V15_SIGN(TT_ALG_ANY_HASH);
	assert_int_equal(tt_cli_sign_hash_for(&a), TT_ALG_SHA_256);
	assert_int_equal(tt_cli_sign_alg_for(&a, TT_ALG_SHA_256),
			 TT_ALG_RSA_PKCS1V15_SIGN(TT_ALG_SHA_256));
	a.type = TT_KEY_TYPE_AES;
	a.alg = TT_ALG_GCM;
	assert_int_equal(tt_cli_sign_alg_for(&a, TT_ALG_SHA_256), TT_ALG_NONE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hdr_ok),
		cmocka_unit_test(test_hdr_bad_magic),
		cmocka_unit_test(test_hdr_bad_version),
		cmocka_unit_test(test_hdr_oversized),
		cmocka_unit_test(test_hdr_opcode_mismatch),
		cmocka_unit_test(test_hdr_auth_or_content),
		cmocka_unit_test(test_read_response),
		cmocka_unit_test_setup_teardown(test_fake_ping_and_auth, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_fake_direct_auth, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_fake_reconnect_after_close, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_fake_idle_close_retried, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_fake_protocol_breaks, fake_setup, fake_teardown),
		cmocka_unit_test(test_socket_path_env),
		cmocka_unit_test(test_ecdsa_roundtrip),
		cmocka_unit_test(test_ecdsa_leading_zeros),
		cmocka_unit_test(test_ecdsa_bad_input),
		cmocka_unit_test(test_pem_from_psa_ec),
		cmocka_unit_test(test_pem_from_psa_rsa),
		cmocka_unit_test(test_pkey_to_psa),
		cmocka_unit_test(test_sign_alg_choice),
	};

	return cmocka_run_group_tests_name("client", tests, NULL, NULL);
}
