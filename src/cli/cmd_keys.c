/*
 * Key lifecycle commands. The policies given to new keys are deliberately narrow:
 *
 *   create-ecc-key                 ECC key pair (secp-r1), usage sign/verify hash and
 *                                  message, algorithm ECDSA(ANY_HASH)
 *   create-rsa-key                 RSA key pair, usage sign/verify hash and message,
 *                                  algorithm RSA_PKCS1V15_SIGN(ANY_HASH)
 *   create-rsa-key --for-encryption  RSA key pair, usage encrypt/decrypt,
 *                                  algorithm RSA_OAEP(SHA_256)
 *
 * No key is exportable: the private half never leaves the service (exporting the public
 * half needs no usage flag in PSA).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/pem.h>

#include "cli/cli.h"
#include "cli/conv.h"
#include "util/mem.h"
#include "util/num.h"

#define SIGN_USAGE (TT_USAGE_SIGN_HASH | TT_USAGE_VERIFY_HASH | TT_USAGE_SIGN_MESSAGE | \
		    TT_USAGE_VERIFY_MESSAGE)

static int
print_created(struct cli *cli, const char *name, const struct tt_key_attrs *a, const char *verb)
{
	if (cli->json) {
		printf("{\"%s\":", verb);
		cli_json_str(stdout, name);
		printf(",\"type\":");
		cli_json_str(stdout, cli_key_type_name(a->type));
		printf(",\"bits\":%u,\"algorithm\":\"", a->bits);
		cli_print_alg(stdout, a->alg);
		printf("\",\"usage\":");
		cli_print_usage_flags(stdout, a->usage, true);
		printf("}\n");
	} else {
		printf("%s key %s (%s, %u bits, ", verb, name, cli_key_type_name(a->type), a->bits);
		cli_print_alg(stdout, a->alg);
		printf(")\n");
	}
	return CLI_OK;
}

int
cmd_create_rsa_key(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "bits", required_argument, NULL, 'b' },
		{ "for-encryption", no_argument, NULL, 'e' },
		CLI_GLOBAL_OPTIONS, { NULL, 0, NULL, 0 },
	};
	struct tt_key_attrs a;
	uint32_t bits = 2048;
	bool enc = false;
	int c, r;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'b') {
			if (tt_parse_u32(optarg, 1024, 16384, &bits) != 0 ||
			    (bits != 2048 && bits != 3072 && bits != 4096))
				return cli_usage(cli, "--bits must be 2048, 3072 or 4096");
		} else if (c == 'e') {
			enc = true;
		} else if ((r = cli_common_opt(cli, c, optarg)) >= 0) {
			return r;
		}
	}
	if (argc - optind != 1)
		return cli_usage(cli, "expects the key NAME");
	memset(&a, 0, sizeof(a));
	a.type = TT_KEY_TYPE_RSA_KEY_PAIR;
	a.bits = bits;
	if (enc) {
		a.usage = TT_USAGE_ENCRYPT | TT_USAGE_DECRYPT;
		a.alg = TT_ALG_RSA_OAEP(TT_ALG_SHA_256);
	} else {
		a.usage = SIGN_USAGE;
		a.alg = TT_ALG_RSA_PKCS1V15_SIGN(TT_ALG_ANY_HASH);
	}
	if ((r = cli_connect(cli)) != 0)
		return r;
	if ((r = tt_generate_key(cli->client, argv[optind], &a)) != 0)
		return cli_fail(cli, r, argv[optind]);
	return print_created(cli, argv[optind], &a, "created");
}

int
cmd_create_ecc_key(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "curve", required_argument, NULL, 'c' },
		CLI_GLOBAL_OPTIONS, { NULL, 0, NULL, 0 },
	};
	struct tt_key_attrs a;
	uint32_t bits = 256;
	int c, r;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'c') {
			if (strcmp(optarg, "p256") == 0 || strcmp(optarg, "P-256") == 0)
				bits = 256;
			else if (strcmp(optarg, "p384") == 0 || strcmp(optarg, "P-384") == 0)
				bits = 384;
			else if (strcmp(optarg, "p521") == 0 || strcmp(optarg, "P-521") == 0)
				bits = 521;
			else
				return cli_usage(cli, "--curve must be p256, p384 or p521");
		} else if ((r = cli_common_opt(cli, c, optarg)) >= 0) {
			return r;
		}
	}
	if (argc - optind != 1)
		return cli_usage(cli, "expects the key NAME");
	memset(&a, 0, sizeof(a));
	a.type = TT_KEY_TYPE_ECC_KEY_PAIR(TT_ECC_FAMILY_SECP_R1);
	a.bits = bits;
	a.usage = SIGN_USAGE;
	a.alg = TT_ALG_ECDSA(TT_ALG_ANY_HASH);
	if ((r = cli_connect(cli)) != 0)
		return r;
	if ((r = tt_generate_key(cli->client, argv[optind], &a)) != 0)
		return cli_fail(cli, r, argv[optind]);
	return print_created(cli, argv[optind], &a, "created");
}

/* PEM private key, else PEM public key; NULL if the file is neither. */
static EVP_PKEY *
read_pem_key(const uint8_t *data, size_t len)
{
	EVP_PKEY *pk;
	BIO *bio;

	if (len > INT32_MAX || (bio = BIO_new_mem_buf(data, (int)len)) == NULL)
		return NULL;
	pk = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	if (pk == NULL) {
		(void)BIO_reset(bio);
		pk = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	}
	BIO_free(bio);
	return pk;
}

int
cmd_import_key(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "in", required_argument, NULL, 'i' },
		{ "for-encryption", no_argument, NULL, 'e' },
		{ "type", required_argument, NULL, 't' },
		CLI_GLOBAL_OPTIONS, { NULL, 0, NULL, 0 },
	};
	const char *in = NULL, *type = "aes";
	uint8_t *file = NULL, *data = NULL;
	size_t file_len = 0, data_len = 0;
	struct tt_key_attrs a;
	EVP_PKEY *pk = NULL;
	bool enc = false;
	int c, r;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'i')
			in = optarg;
		else if (c == 'e')
			enc = true;
		else if (c == 't')
			type = optarg;
		else if ((r = cli_common_opt(cli, c, optarg)) >= 0)
			return r;
	}
	if (argc - optind != 1 || in == NULL)
		return cli_usage(cli, "expects the key NAME and --in FILE");
	if (strcmp(type, "aes") != 0 && strcmp(type, "hmac") != 0)
		return cli_usage(cli, "--type must be aes or hmac");
	memset(&a, 0, sizeof(a));
	if ((r = cli_read_file(in, 64 * 1024, &file, &file_len)) != 0) {
		r = cli_fail(cli, r, in);
		goto out;
	}
	if ((pk = read_pem_key(file, file_len)) != NULL) {
		if ((r = tt_cli_pkey_to_psa(pk, &a, &data, &data_len)) != 0) {
			r = cli_fail(cli, r, "key kind (EC P-256/384/521 and RSA are supported)");
			goto out;
		}
		if (TT_KEY_TYPE_IS_RSA(a.type) && enc) {
			a.alg = TT_ALG_RSA_OAEP(TT_ALG_SHA_256);
			a.usage = TT_USAGE_ENCRYPT | TT_USAGE_DECRYPT;
		} else if (TT_KEY_TYPE_IS_RSA(a.type)) {
			a.alg = TT_ALG_RSA_PKCS1V15_SIGN(TT_ALG_ANY_HASH);
			a.usage = SIGN_USAGE;
		} else {
			a.alg = TT_ALG_ECDSA(TT_ALG_ANY_HASH);
			a.usage = SIGN_USAGE;
		}
		/* A public key can only check: drop the private-key usages. */
		if (TT_KEY_TYPE_IS_PUBLIC_KEY(a.type))
			a.usage &= ~(tt_usage_t)(TT_USAGE_SIGN_HASH | TT_USAGE_SIGN_MESSAGE |
						 TT_USAGE_DECRYPT);
	} else {
		if (strcmp(type, "aes") == 0) {
			if (file_len != 16 && file_len != 24 && file_len != 32) {
				r = cli_usage(cli, "%s is not a PEM key, and a raw AES key must be 16, 24 or 32 bytes", in);
				goto out;
			}
			a.type = TT_KEY_TYPE_AES;
			a.usage = TT_USAGE_ENCRYPT | TT_USAGE_DECRYPT;
			a.alg = TT_ALG_GCM;
		} else {
			if (file_len < 16) {
				r = cli_usage(cli, "a raw HMAC key must be at least 16 bytes");
				goto out;
			}
			a.type = TT_KEY_TYPE_HMAC;
			a.usage = TT_USAGE_SIGN_MESSAGE | TT_USAGE_VERIFY_MESSAGE |
				  TT_USAGE_SIGN_HASH | TT_USAGE_VERIFY_HASH;
			a.alg = TT_ALG_HMAC(TT_ALG_SHA_256);
		}
		a.bits = (uint32_t)file_len * 8;
		data = file;
		data_len = file_len;
		file = NULL;
	}
	if ((r = cli_connect(cli)) != 0)
		goto out;
	if ((r = tt_import_key(cli->client, argv[optind], &a, data, data_len)) != 0) {
		r = cli_fail(cli, r, argv[optind]);
		goto out;
	}
	r = print_created(cli, argv[optind], &a, "imported");
out:
	EVP_PKEY_free(pk);
	tt_free_secret(file, file_len);
	tt_free_secret(data, data_len);
	return r;
}

int
cmd_export_public_key(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "out", required_argument, NULL, 'o' },
		CLI_GLOBAL_OPTIONS, { NULL, 0, NULL, 0 },
	};
	const char *out = NULL;
	struct tt_key_attrs a;
	uint8_t *pub = NULL;
	size_t pub_len = 0, pem_len = 0;
	char *pem = NULL;
	EVP_PKEY *pk = NULL;
	int c, r;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'o')
			out = optarg;
		else if ((r = cli_common_opt(cli, c, optarg)) >= 0)
			return r;
	}
	if (argc - optind != 1)
		return cli_usage(cli, "expects the key NAME");
	if ((r = cli_connect(cli)) != 0)
		return r;
	if ((r = cli_key_attrs(cli, argv[optind], &a)) != 0) {
		r = cli_fail(cli, r, argv[optind]);
		goto out;
	}
	if ((r = tt_export_public_key(cli->client, argv[optind], &pub, &pub_len)) != 0) {
		r = cli_fail(cli, r, argv[optind]);
		goto out;
	}
	if ((r = tt_cli_pubkey_from_psa(a.type, a.bits, pub, pub_len, &pk)) != 0 ||
	    (r = tt_cli_pubkey_to_pem(pk, &pem, &pem_len)) != 0) {
		r = cli_fail(cli, r, "convert the public key to PEM");
		goto out;
	}
	if (cli->json && out == NULL) {
		printf("{\"name\":");
		cli_json_str(stdout, argv[optind]);
		printf(",\"pem\":");
		cli_json_str(stdout, pem);
		printf("}\n");
	} else if ((r = cli_write_file(out, (const uint8_t *)pem, pem_len, false)) != 0) {
		r = cli_fail(cli, r, out != NULL ? out : "stdout");
		goto out;
	} else if (cli->json) {
		printf("{\"name\":");
		cli_json_str(stdout, argv[optind]);
		printf(",\"out\":");
		cli_json_str(stdout, out);
		printf("}\n");
	}
	r = CLI_OK;
out:
	free(pem);
	EVP_PKEY_free(pk);
	tt_free(pub);
	return r;
}

int
cmd_delete_key(struct cli *cli, int argc, char **argv)
{
	char **pos;
	int r;

	if ((r = cli_parse_plain(cli, argc, argv, 1, &pos)) >= 0)
		return r;
	if ((r = cli_connect(cli)) != 0)
		return r;
	if ((r = tt_destroy_key(cli->client, pos[0])) != 0)
		return cli_fail(cli, r, pos[0]);
	if (cli->json) {
		printf("{\"deleted\":");
		cli_json_str(stdout, pos[0]);
		printf("}\n");
	} else {
		printf("deleted key %s\n", pos[0]);
	}
	return CLI_OK;
}
