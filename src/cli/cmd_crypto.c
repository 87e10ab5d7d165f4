/*
 * Data commands: generate-random, sign, verify, encrypt, decrypt.
 *
 * sign hashes the file locally and sends only the digest (PsaSignHash), so files of any
 * size up to CLI_MAX_FILE cost one small request; signatures are written in the form
 * `openssl dgst -verify` reads: DER ECDSA-Sig-Value for ECDSA, the raw block for RSA.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "cli/cli.h"
#include "cli/conv.h"
#include "util/mem.h"
#include "util/num.h"

#define GCM_NONCE_LEN 12
#define GCM_TAG_LEN 16

static const EVP_MD *
md_for(tt_alg_t h)
{
	switch (h) {
	case TT_ALG_SHA_256: return EVP_sha256();
	case TT_ALG_SHA_384: return EVP_sha384();
	case TT_ALG_SHA_512: return EVP_sha512();
	case TT_ALG_SHA_224: return EVP_sha224();
	default: return NULL;
	}
}

int
cmd_generate_random(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "bytes", required_argument, NULL, 'b' },
		{ "hex", no_argument, NULL, 'x' },
		{ "base64", no_argument, NULL, '6' },
		{ "out", required_argument, NULL, 'o' },
		CLI_GLOBAL_OPTIONS, { NULL, 0, NULL, 0 },
	};
	const char *out = NULL;
	uint32_t n = 0;
	bool b64 = false, have_n = false;
	uint8_t *p = NULL;
	int c, r;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'b') {
			if (tt_parse_u32(optarg, 1, 65536, &n) != 0)
				return cli_usage(cli, "--bytes must be 1..65536");
			have_n = true;
		} else if (c == 'x') {
			b64 = false;
		} else if (c == '6') {
			b64 = true;
		} else if (c == 'o') {
			out = optarg;
		} else if ((r = cli_common_opt(cli, c, optarg)) >= 0) {
			return r;
		}
	}
	if (argc != optind || !have_n)
		return cli_usage(cli, "expects --bytes N");
	if ((r = cli_connect(cli)) != 0)
		return r;
	if ((r = tt_generate_random(cli->client, n, &p)) != 0)
		return cli_fail(cli, r, "generate random");
	if (out != NULL) {
		if ((r = cli_write_file(out, p, n, true)) != 0) {
			r = cli_fail(cli, r, out);
			goto out;
		}
		if (cli->json) {
			printf("{\"bytes\":%u,\"out\":", n);
			cli_json_str(stdout, out);
			printf("}\n");
		}
	} else if (cli->json) {
		printf("{\"bytes\":%u,\"%s\":\"", n, b64 ? "base64" : "hex");
		if (b64)
			cli_print_base64(stdout, p, n);
		else
			cli_print_hex(stdout, p, n);
		printf("\"}\n");
	} else {
		if (b64)
			cli_print_base64(stdout, p, n);
		else
			cli_print_hex(stdout, p, n);
		printf("\n");
	}
	r = CLI_OK;
out:
	tt_free_secret(p, n);
	return r;
}

/* Parse NAME --in FILE [--out FILE] [--signature FILE]. */
static int
parse_io(struct cli *cli, int argc, char **argv, bool want_sig, const char **in,
	 const char **out, const char **sig)
{
	static const struct option opts[] = {
		{ "in", required_argument, NULL, 'i' },
		{ "out", required_argument, NULL, 'o' },
		{ "signature", required_argument, NULL, 's' },
		CLI_GLOBAL_OPTIONS, { NULL, 0, NULL, 0 },
	};
	int c, r;

	*in = *out = *sig = NULL;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'i')
			*in = optarg;
		else if (c == 'o' && !want_sig)
			*out = optarg;
		else if (c == 's' && want_sig)
			*sig = optarg;
		else if (c == 'o' || c == 's')
			return cli_usage(cli, "unexpected option --%s", c == 'o' ? "out" : "signature");
		else if ((r = cli_common_opt(cli, c, optarg)) >= 0)
			return r;
	}
	if (argc - optind != 1 || *in == NULL || (want_sig && *sig == NULL))
		return cli_usage(cli, want_sig ? "expects NAME --in FILE --signature SIG"
					       : "expects NAME --in FILE");
	return -1;
}

/* Digest of the file with the key's signing hash, and the matching PSA algorithm. */
static int
digest_for_key(struct cli *cli, const char *name, const char *in, struct tt_key_attrs *a,
	       tt_alg_t *alg, uint8_t *md, unsigned *md_len)
{
	const EVP_MD *evp;
	uint8_t *data = NULL;
	size_t len = 0;
	tt_alg_t hash;
	int r;

	if ((r = cli_key_attrs(cli, name, a)) != 0)
		return cli_fail(cli, r, name);
	hash = tt_cli_sign_hash_for(a);
	*alg = tt_cli_sign_alg_for(a, hash);
	if (*alg == TT_ALG_NONE || (evp = md_for(hash)) == NULL)
		return cli_fail(cli, TT_ERR_NOT_SUPPORTED, "key cannot make a standard signature");
	if ((r = cli_read_file(in, CLI_MAX_FILE, &data, &len)) != 0)
		return cli_fail(cli, r, in);
	if (EVP_Digest(data, len, md, md_len, evp, NULL) != 1)
		r = cli_fail(cli, TT_ERR_GENERIC, "hash");
	tt_free_secret(data, len);
	return r;
}

int
cmd_sign(struct cli *cli, int argc, char **argv)
{
	const char *in, *out, *sigf;
	uint8_t md[EVP_MAX_MD_SIZE];
	uint8_t *sig = NULL, *der = NULL;
	size_t sig_len = 0, der_len = 0;
	unsigned md_len = 0;
	struct tt_key_attrs a;
	tt_alg_t alg;
	const char *name;
	int r;

	if ((r = parse_io(cli, argc, argv, false, &in, &out, &sigf)) >= 0)
		return r;
	name = argv[optind];
	if ((r = cli_connect(cli)) != 0)
		return r;
	if ((r = digest_for_key(cli, name, in, &a, &alg, md, &md_len)) != 0)
		return r;
	if ((r = tt_sign_hash(cli->client, name, alg, md, md_len, &sig, &sig_len)) != 0) {
		r = cli_fail(cli, r, name);
		goto out;
	}
	if (TT_ALG_IS_ECDSA(alg)) {
		if ((r = tt_cli_ecdsa_raw_to_der(sig, sig_len, &der, &der_len)) != 0) {
			r = cli_fail(cli, r, "convert the signature to DER");
			goto out;
		}
	} else {
		der = sig;
		der_len = sig_len;
		sig = NULL;
	}
	if (cli->json && out == NULL) {
		printf("{\"name\":");
		cli_json_str(stdout, name);
		printf(",\"algorithm\":\"");
		cli_print_alg(stdout, alg);
		printf("\",\"signature_base64\":\"");
		cli_print_base64(stdout, der, der_len);
		printf("\"}\n");
	} else if ((r = cli_write_file(out, der, der_len, false)) != 0) {
		r = cli_fail(cli, r, out != NULL ? out : "stdout");
		goto out;
	} else if (cli->json) {
		printf("{\"name\":");
		cli_json_str(stdout, name);
		printf(",\"algorithm\":\"");
		cli_print_alg(stdout, alg);
		printf("\",\"out\":");
		cli_json_str(stdout, out);
		printf("}\n");
	}
	r = CLI_OK;
out:
	tt_free(sig);
	free(der);
	return r;
}

int
cmd_verify(struct cli *cli, int argc, char **argv)
{
	const char *in, *out, *sigf, *name;
	uint8_t md[EVP_MAX_MD_SIZE];
	uint8_t *sig = NULL, *raw = NULL;
	size_t sig_len = 0, raw_len = 0;
	unsigned md_len = 0;
	struct tt_key_attrs a;
	tt_alg_t alg;
	int r;

	/* `verify --tee T --evidence FILE` checks TEE evidence offline (cmd_tee.c). */
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--tee") == 0 || strncmp(argv[i], "--tee=", 6) == 0)
			return cmd_verify_tee(cli, argc, argv);
	if ((r = parse_io(cli, argc, argv, true, &in, &out, &sigf)) >= 0)
		return r;
	name = argv[optind];
	if ((r = cli_connect(cli)) != 0)
		return r;
	if ((r = digest_for_key(cli, name, in, &a, &alg, md, &md_len)) != 0)
		return r;
	if ((r = cli_read_file(sigf, 64 * 1024, &sig, &sig_len)) != 0)
		return cli_fail(cli, r, sigf);
	if (TT_ALG_IS_ECDSA(alg)) {
		/* A DER signature that does not parse is simply not a valid signature. */
		if ((r = tt_cli_ecdsa_der_to_raw(sig, sig_len, (a.bits + 7) / 8, &raw, &raw_len)) != 0) {
			r = cli_fail(cli, r == TT_ERR_INVALID_ARGUMENT ? TT_ERR_INVALID_SIGNATURE : r,
				     sigf);
			goto out;
		}
	} else {
		raw = sig;
		raw_len = sig_len;
		sig = NULL;
	}
	if ((r = tt_verify_hash(cli->client, name, alg, md, md_len, raw, raw_len)) != 0) {
		r = cli_fail(cli, r, "signature");
		goto out;
	}
	if (cli->json) {
		printf("{\"name\":");
		cli_json_str(stdout, name);
		printf(",\"valid\":true}\n");
	} else {
		printf("signature OK\n");
	}
	r = CLI_OK;
out:
	tt_free_secret(sig, sig_len);
	free(raw);
	return r;
}

/* Algorithm for encrypt/decrypt: the key's own policy when it is an encryption one,
 * else RSA-OAEP(SHA-256) or AES-GCM by key type. */
static tt_alg_t
enc_alg_for(const struct tt_key_attrs *a)
{
	if (TT_KEY_TYPE_IS_RSA(a->type)) {
		if (TT_ALG_CATEGORY(a->alg) == TT_ALG_CATEGORY_ASYM_ENC)
			return a->alg;
		return TT_ALG_RSA_OAEP(TT_ALG_SHA_256);
	}
	/* The file format (12-byte nonce || ciphertext || 16-byte tag) is GCM's. */
	if (a->type == TT_KEY_TYPE_AES)
		return TT_ALG_GCM;
	return TT_ALG_NONE;
}

static int
crypt_cmd(struct cli *cli, int argc, char **argv, bool encrypt)
{
	const char *in, *out, *sigf, *name;
	uint8_t *data = NULL, *res = NULL, *full = NULL;
	size_t len = 0, res_len = 0, full_len = 0;
	uint8_t nonce[GCM_NONCE_LEN];
	struct tt_key_attrs a;
	tt_alg_t alg;
	int r;

	if ((r = parse_io(cli, argc, argv, false, &in, &out, &sigf)) >= 0)
		return r;
	name = argv[optind];
	if ((r = cli_connect(cli)) != 0)
		return r;
	if ((r = cli_key_attrs(cli, name, &a)) != 0)
		return cli_fail(cli, r, name);
	if ((alg = enc_alg_for(&a)) == TT_ALG_NONE)
		return cli_fail(cli, TT_ERR_NOT_SUPPORTED, "key is neither RSA nor AES");
	if ((r = cli_read_file(in, CLI_MAX_FILE, &data, &len)) != 0)
		return cli_fail(cli, r, in);
	if (alg == TT_ALG_GCM && encrypt) {
		/* A fresh random nonce per message; it travels in front of the ciphertext. */
		if (RAND_bytes(nonce, sizeof(nonce)) != 1) {
			r = cli_fail(cli, TT_ERR_INSUFFICIENT_ENTROPY, "nonce");
			goto out;
		}
		if ((r = tt_aead_encrypt(cli->client, name, alg, nonce, sizeof(nonce), NULL, 0,
					 data, len, &res, &res_len)) != 0) {
			r = cli_fail(cli, r, name);
			goto out;
		}
		full_len = sizeof(nonce) + res_len;
		if ((full = malloc(full_len)) == NULL) {
			r = cli_fail(cli, TT_ERR_NO_MEMORY, "output");
			goto out;
		}
		memcpy(full, nonce, sizeof(nonce));
		memcpy(full + sizeof(nonce), res, res_len);
	} else if (alg == TT_ALG_GCM) {
		if (len < GCM_NONCE_LEN + GCM_TAG_LEN) {
			r = cli_fail(cli, TT_ERR_INVALID_ARGUMENT, "ciphertext too short");
			goto out;
		}
		if ((r = tt_aead_decrypt(cli->client, name, alg, data, GCM_NONCE_LEN, NULL, 0,
					 data + GCM_NONCE_LEN, len - GCM_NONCE_LEN, &full,
					 &full_len)) != 0) {
			r = cli_fail(cli, r, name);
			goto out;
		}
	} else {
		r = encrypt ? tt_asymmetric_encrypt(cli->client, name, alg, data, len, NULL, 0,
						    &full, &full_len)
			    : tt_asymmetric_decrypt(cli->client, name, alg, data, len, NULL, 0,
						    &full, &full_len);
		if (r != 0) {
			r = cli_fail(cli, r, name);
			goto out;
		}
	}
	if (cli->json && out == NULL) {
		printf("{\"name\":");
		cli_json_str(stdout, name);
		printf(",\"%s_base64\":\"", encrypt ? "ciphertext" : "plaintext");
		cli_print_base64(stdout, full, full_len);
		printf("\"}\n");
	} else if ((r = cli_write_file(out, full, full_len, !encrypt)) != 0) {
		r = cli_fail(cli, r, out != NULL ? out : "stdout");
		goto out;
	} else if (cli->json) {
		printf("{\"name\":");
		cli_json_str(stdout, name);
		printf(",\"out\":");
		cli_json_str(stdout, out);
		printf(",\"bytes\":%zu}\n", full_len);
	}
	r = CLI_OK;
out:
	tt_free_secret(data, len);
	tt_free_secret(res, res_len);
	tt_free_secret(full, full_len);
	return r;
}

int
cmd_encrypt(struct cli *cli, int argc, char **argv)
{
	return crypt_cmd(cli, argc, argv, true);
}

int
cmd_decrypt(struct cli *cli, int argc, char **argv)
{
	return crypt_cmd(cli, argc, argv, false);
}
