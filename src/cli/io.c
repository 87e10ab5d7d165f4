/* File and text output helpers for the turtle command. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "util/mem.h"

int
cli_read_file(const char *path, size_t max, uint8_t **data, size_t *len)
{
	uint8_t *p = NULL, *np;
	size_t cap = 0, n = 0;
	ssize_t r;
	int fd, ret;

	if (strcmp(path, "-") == 0)
		fd = STDIN_FILENO;
	else if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return TT_ERR_IO;
	for (;;) {
		if (n == cap) {
			size_t ncap = cap == 0 ? 4096 : cap * 2;
			if (ncap > max + 1)
				ncap = max + 1;
			if (ncap <= cap) {
				ret = TT_ERR_LIMIT;
				goto out;
			}
			/* Grow by copy so that a secret file never lingers in freed memory. */
			if ((np = malloc(ncap)) == NULL) {
				ret = TT_ERR_NO_MEMORY;
				goto out;
			}
			if (n > 0)
				memcpy(np, p, n);
			tt_free_secret(p, cap);
			p = np;
			cap = ncap;
		}
		r = read(fd, p + n, cap - n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			ret = TT_ERR_IO;
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > max) {
			ret = TT_ERR_LIMIT;
			goto out;
		}
	}
	*data = p;
	*len = n;
	p = NULL;
	ret = 0;
out:
	tt_free_secret(p, cap);
	if (fd != STDIN_FILENO)
		close(fd);
	return ret;
}

int
cli_write_file(const char *path, const uint8_t *data, size_t len, bool secret)
{
	size_t off = 0;
	ssize_t r;
	int fd, ret = 0;

	if (path == NULL || strcmp(path, "-") == 0) {
		if (len > 0 && fwrite(data, 1, len, stdout) != len)
			return TT_ERR_IO;
		return fflush(stdout) == 0 ? 0 : TT_ERR_IO;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, secret ? 0600 : 0644);
	if (fd < 0)
		return TT_ERR_IO;
	while (off < len) {
		r = write(fd, data + off, len - off);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			ret = TT_ERR_IO;
			break;
		}
		off += (size_t)r;
	}
	if (close(fd) != 0 && ret == 0)
		ret = TT_ERR_IO;
	return ret;
}

void
cli_print_hex(FILE *f, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		fprintf(f, "%02x", p[i]);
}

void
cli_print_base64(FILE *f, const uint8_t *p, size_t n)
{
	static const char tbl[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i;

	for (i = 0; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		fputc(tbl[v >> 18], f);
		fputc(tbl[(v >> 12) & 63], f);
		fputc(tbl[(v >> 6) & 63], f);
		fputc(tbl[v & 63], f);
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)p[i] << 16;
		fputc(tbl[v >> 18], f);
		fputc(tbl[(v >> 12) & 63], f);
		fputs("==", f);
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		fputc(tbl[v >> 18], f);
		fputc(tbl[(v >> 12) & 63], f);
		fputc(tbl[(v >> 6) & 63], f);
		fputc('=', f);
	}
}

void
cli_json_str(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s != NULL ? s : "");

	fputc('"', f);
	for (; *p != '\0'; p++) {
		switch (*p) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		case '\t': fputs("\\t", f); break;
		default:
			if (*p < 0x20)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

const char *
cli_key_type_name(tt_key_type_t t)
{
	switch (t) {
	case TT_KEY_TYPE_NONE: return "none";
	case TT_KEY_TYPE_RAW_DATA: return "raw-data";
	case TT_KEY_TYPE_HMAC: return "hmac";
	case TT_KEY_TYPE_DERIVE: return "derive";
	case TT_KEY_TYPE_AES: return "aes";
	case TT_KEY_TYPE_DES: return "des";
	case TT_KEY_TYPE_CAMELLIA: return "camellia";
	case TT_KEY_TYPE_CHACHA20: return "chacha20";
	case TT_KEY_TYPE_RSA_PUBLIC_KEY: return "rsa-public-key";
	case TT_KEY_TYPE_RSA_KEY_PAIR: return "rsa-key-pair";
	case TT_KEY_TYPE_ECC_KEY_PAIR(TT_ECC_FAMILY_SECP_R1): return "ecc-key-pair(secp-r1)";
	case TT_KEY_TYPE_ECC_PUBLIC_KEY(TT_ECC_FAMILY_SECP_R1): return "ecc-public-key(secp-r1)";
	case TT_KEY_TYPE_ECC_KEY_PAIR(TT_ECC_FAMILY_SECP_K1): return "ecc-key-pair(secp-k1)";
	case TT_KEY_TYPE_ECC_PUBLIC_KEY(TT_ECC_FAMILY_SECP_K1): return "ecc-public-key(secp-k1)";
	case TT_KEY_TYPE_ECC_KEY_PAIR(TT_ECC_FAMILY_MONTGOMERY): return "ecc-key-pair(montgomery)";
	case TT_KEY_TYPE_ECC_PUBLIC_KEY(TT_ECC_FAMILY_MONTGOMERY): return "ecc-public-key(montgomery)";
	case TT_KEY_TYPE_ECC_KEY_PAIR(TT_ECC_FAMILY_BRAINPOOL_P_R1): return "ecc-key-pair(brainpool-p-r1)";
	case TT_KEY_TYPE_ECC_PUBLIC_KEY(TT_ECC_FAMILY_BRAINPOOL_P_R1): return "ecc-public-key(brainpool-p-r1)";
	default: return "other";
	}
}

static const char *
hash_name(tt_alg_t h)
{
	switch (h) {
	case TT_ALG_SHA_1: return "sha1";
	case TT_ALG_SHA_224: return "sha224";
	case TT_ALG_SHA_256: return "sha256";
	case TT_ALG_SHA_384: return "sha384";
	case TT_ALG_SHA_512: return "sha512";
	case TT_ALG_SHA3_256: return "sha3-256";
	case TT_ALG_SHA3_384: return "sha3-384";
	case TT_ALG_SHA3_512: return "sha3-512";
	case TT_ALG_ANY_HASH: return "any-hash";
	default: return NULL;
	}
}

/* Readable algorithm such as "ecdsa(sha256)"; unknown ones print as hex. */
void
cli_print_alg(FILE *f, tt_alg_t a)
{
	const char *base = NULL, *h = hash_name(TT_ALG_GET_HASH(a));

	if (a == TT_ALG_NONE) {
		fputs("none", f);
		return;
	}
	if (TT_ALG_IS_HASH(a) && h != NULL) {
		fputs(h, f);
		return;
	}
	if (TT_ALG_IS_RSA_PKCS1V15_SIGN(a))
		base = "rsa-pkcs1v15-sign";
	else if (TT_ALG_IS_RSA_PSS(a))
		base = "rsa-pss";
	else if (TT_ALG_SIGN_BASE(a) == TT_ALG_ECDSA_BASE)
		base = "ecdsa";
	else if (TT_ALG_SIGN_BASE(a) == TT_ALG_DETERMINISTIC_ECDSA_BASE)
		base = "deterministic-ecdsa";
	else if (TT_ALG_IS_RSA_OAEP(a))
		base = "rsa-oaep";
	else if (TT_ALG_IS_HMAC(a))
		base = "hmac";
	if (base != NULL) {
		if (h != NULL)
			fprintf(f, "%s(%s)", base, h);
		else
			fputs(base, f);
		return;
	}
	if (a == TT_ALG_RSA_PKCS1V15_CRYPT)
		fputs("rsa-pkcs1v15-crypt", f);
	else if (TT_ALG_AEAD_DEFAULT_TAG(a) == TT_ALG_GCM)
		fputs("gcm", f);
	else if (TT_ALG_AEAD_DEFAULT_TAG(a) == TT_ALG_CCM)
		fputs("ccm", f);
	else if (TT_ALG_AEAD_DEFAULT_TAG(a) == TT_ALG_CHACHA20_POLY1305)
		fputs("chacha20-poly1305", f);
	else if (a == TT_ALG_ECDH)
		fputs("ecdh", f);
	else
		fprintf(f, "0x%08x", (unsigned)a);
}

void
cli_print_usage_flags(FILE *f, tt_usage_t u, bool json)
{
	static const struct {
		tt_usage_t bit;
		const char *name;
	} flags[] = {
		{ TT_USAGE_EXPORT, "export" }, { TT_USAGE_COPY, "copy" }, { TT_USAGE_CACHE, "cache" },
		{ TT_USAGE_ENCRYPT, "encrypt" }, { TT_USAGE_DECRYPT, "decrypt" },
		{ TT_USAGE_SIGN_MESSAGE, "sign-message" }, { TT_USAGE_VERIFY_MESSAGE, "verify-message" },
		{ TT_USAGE_SIGN_HASH, "sign-hash" }, { TT_USAGE_VERIFY_HASH, "verify-hash" },
		{ TT_USAGE_DERIVE, "derive" },
	};
	bool first = true;
	size_t i;

	if (json)
		fputc('[', f);
	for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		if ((u & flags[i].bit) == 0)
			continue;
		if (!first)
			fputc(',', f);
		if (json)
			cli_json_str(f, flags[i].name);
		else
			fputs(flags[i].name, f);
		first = false;
	}
	if (json)
		fputc(']', f);
	else if (first)
		fputs("none", f);
}
