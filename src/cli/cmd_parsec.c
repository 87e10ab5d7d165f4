/*
 * parsec-tool's spelling of the commands turtle shares with it, so that a script written
 * for parsec-tool (parallaxsecond/parsec-tool 0.7) runs unchanged against turtled.
 *
 * A command takes this path when it is given in parsec-tool's form: a key named with
 * -k/--key-name, generate-random with -n/--nbytes, delete-client with -c/--client,
 * list-opcodes with -p/--provider; or always, when the program is invoked under the name
 * `parsec-tool` (a symlink to turtle). Then the command behaves as parsec-tool's does:
 * the same key policies, data as a positional UTF-8 string, and the same output: base64
 * signatures and ciphertexts, plaintext as text, PEM on stdout, `%02X ` random bytes,
 * "MAJ.MIN" for ping and parsec-tool's list layouts. Progress messages go to stderr,
 * as parsec-tool's log lines do; failures exit 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "cli/cli.h"
#include "cli/conv.h"
#include "util/b64.h"
#include "util/mem.h"
#include "util/num.h"
#include "wire/opcodes.h"

#define PT_MAX_DATA (64u * 1024u)

/* Options of parsec-tool's subcommands (clap: long and short forms). */
enum {
	PT_PKCS1 = 2000, PT_CN, PT_L, PT_O, PT_OU, PT_ST, PT_C, PT_SERIAL, PT_SAN,
};

static const struct option pt_opts[] = {
	{ "key-name", required_argument, NULL, 'k' },
	{ "nbytes", required_argument, NULL, 'n' },
	{ "client", required_argument, NULL, 'c' },
	{ "provider", required_argument, NULL, 'p' },
	{ "bits", required_argument, NULL, 'b' },
	{ "for-signing", no_argument, NULL, 's' },
	{ "for-signing-pss", no_argument, NULL, 'r' },
	{ "oaep", no_argument, NULL, 'o' },
	{ "pkcs1", no_argument, NULL, PT_PKCS1 },
	{ "cn", required_argument, NULL, PT_CN },
	{ "l", required_argument, NULL, PT_L },
	{ "o", required_argument, NULL, PT_O },
	{ "ou", required_argument, NULL, PT_OU },
	{ "st", required_argument, NULL, PT_ST },
	{ "c", required_argument, NULL, PT_C },
	{ "serialNumber", required_argument, NULL, PT_SERIAL },
	{ "san", required_argument, NULL, PT_SAN },
	CLI_GLOBAL_OPTIONS, { NULL, 0, NULL, 0 },
};

struct pt_args {
	const char *key, *client, *data;
	uint32_t nbytes, bits;
	bool have_nbytes, for_signing, for_pss, oaep, pkcs1;
	const char *dn[6];          /* cn, ou, o, l, st, c in parsec-tool's push order */
	const char *serial;
	char *sans[CLI_MAX_SANS];
	size_t nsans;
};

bool
cli_parsec_spelling(const char *cmd, int argc, char **argv)
{
	static const char *const keyed[] = { "-k", "--key-name" };
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--") == 0)
			break;
		for (size_t k = 0; k < sizeof(keyed) / sizeof(keyed[0]); k++)
			if (strncmp(a, keyed[k], strlen(keyed[k])) == 0)
				return true;
		if (strcmp(cmd, "generate-random") == 0 &&
		    (strncmp(a, "-n", 2) == 0 || strncmp(a, "--nbytes", 8) == 0))
			return true;
		if (strcmp(cmd, "delete-client") == 0 &&
		    (strncmp(a, "-c", 2) == 0 || strncmp(a, "--client", 8) == 0))
			return true;
		if (strcmp(cmd, "list-opcodes") == 0 && strncmp(a, "-p", 2) == 0)
			return true;
	}
	return false;
}

/* Parse argv; `npos` positional arguments (0 or 1, the data string) are required. */
static int
pt_parse(struct cli *cli, int argc, char **argv, int npos, struct pt_args *a)
{
	int c, r;

	memset(a, 0, sizeof(*a));
	while ((c = getopt_long(argc, argv, "k:n:c:p:b:srohV", pt_opts, NULL)) != -1) {
		switch (c) {
		case 'k': a->key = optarg; break;
		case 'c': a->client = optarg; break;
		case 'n':
			if (tt_parse_u32(optarg, 1, 65536, &a->nbytes) != 0)
				return cli_usage(cli, "--nbytes must be 1..65536");
			a->have_nbytes = true;
			break;
		case 'p':
			if ((r = cli_common_opt(cli, CLI_OPT_PROVIDER, optarg)) >= 0)
				return r;
			break;
		case 'b':
			if (tt_parse_u32(optarg, 512, 16384, &a->bits) != 0)
				return cli_usage(cli, "--bits: a key size in bits");
			break;
		case 's': a->for_signing = true; break;
		case 'r': a->for_pss = true; break;
		case 'o': a->oaep = true; break;
		case PT_PKCS1: a->pkcs1 = true; break;
		case PT_CN: a->dn[0] = optarg; break;
		case PT_OU: a->dn[1] = optarg; break;
		case PT_O: a->dn[2] = optarg; break;
		case PT_L: a->dn[3] = optarg; break;
		case PT_ST: a->dn[4] = optarg; break;
		case PT_C: a->dn[5] = optarg; break;
		case PT_SERIAL: a->serial = optarg; break;
		case PT_SAN:
			if (a->nsans == CLI_MAX_SANS)
				return cli_usage(cli, "at most %d --san", CLI_MAX_SANS);
			a->sans[a->nsans++] = optarg;
			break;
		default:
			c = c == 'h' ? CLI_OPT_HELP : c == 'V' ? CLI_OPT_VERSION : c;
			if ((r = cli_common_opt(cli, c, optarg)) >= 0)
				return r;
		}
	}
	if (npos == 0 && optind < argc)
		return cli_usage(cli, "unexpected argument '%s'", argv[optind]);
	if (argc - optind != npos)
		return cli_usage(cli, "expects the data as one argument");
	if (npos == 1)
		a->data = argv[optind];
	return -1;
}

static int
need_key(struct cli *cli, const struct pt_args *a)
{
	if (a->key == NULL || a->key[0] == '\0')
		return cli_usage(cli, "needs -k/--key-name NAME");
	return -1;
}

static void
note(const char *fmt, const char *arg)
{
	fprintf(stderr, "turtle: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
}

static void
print_b64_line(const uint8_t *p, size_t n)
{
	cli_print_base64(stdout, p, n);
	putchar('\n');
}

static int
pt_ping(struct cli *cli, struct pt_args *a)
{
	uint8_t maj = 0, min = 0;
	int r;

	(void)a;
	if ((r = tt_ping(cli->client, &maj, &min)) != 0)
		return cli_fail(cli, r, "ping");
	printf("%u.%u\n", maj, min);
	return CLI_OK;
}

static int
pt_list_providers(struct cli *cli, struct pt_args *a)
{
	struct tt_provider_info *v = NULL;
	size_t n = 0;
	int r;

	(void)a;
	if ((r = tt_list_providers(cli->client, &v, &n)) != 0)
		return cli_fail(cli, r, "list providers");
	for (size_t i = 0; i < n; i++)
		printf("ID: 0x%02x (%s)\nDescription: %s\nVersion: %u.%u.%u\nVendor: %s\n"
		       "UUID: %s\n\n", v[i].id, cli_provider_name(v[i].id), v[i].description,
		       v[i].version_maj, v[i].version_min, v[i].version_rev,
		       v[i].vendor[0] != '\0' ? v[i].vendor : "Unspecified", v[i].uuid);
	tt_provider_info_free(v, n);
	return CLI_OK;
}

static int
pt_list_authenticators(struct cli *cli, struct pt_args *a)
{
	struct tt_authenticator_info *v = NULL;
	size_t n = 0;
	int r;

	(void)a;
	if ((r = tt_list_authenticators(cli->client, &v, &n)) != 0)
		return cli_fail(cli, r, "list authenticators");
	for (size_t i = 0; i < n; i++)
		printf("ID: 0x%02x (%s)\nDescription: %s\nVersion: %u.%u.%u\n\n", v[i].id,
		       v[i].id == 1 ? "Direct" : v[i].id == 3 ? "UnixPeerCredentials" : "Other",
		       v[i].description, v[i].version_maj, v[i].version_min, v[i].version_rev);
	tt_authenticator_info_free(v, n);
	return CLI_OK;
}

static int
pt_list_opcodes(struct cli *cli, struct pt_args *a)
{
	uint32_t *v = NULL;
	size_t n = 0;
	uint8_t prov;
	int r;

	(void)a;
	if (cli->provider_set)
		prov = cli->provider;
	else if ((r = tt_client_provider(cli->client, &prov)) != 0)
		return cli_fail(cli, r, "select provider");
	if ((r = tt_list_opcodes(cli->client, prov, &v, &n)) != 0)
		return cli_fail(cli, r, "list opcodes");
	fprintf(stderr, "turtle: available opcodes for provider %u (%s):\n", prov,
		cli_provider_name(prov));
	for (size_t i = 0; i < n; i++) {
		const struct tt_opcode_info *o = tt_opcode_info(v[i]);

		printf("0x%02x (%s)\n", v[i], o != NULL ? o->name : "Unknown");
	}
	tt_free(v);
	return CLI_OK;
}

static int
pt_list_keys(struct cli *cli, struct pt_args *a)
{
	struct tt_key_info *v = NULL;
	size_t n = 0;
	int r;

	(void)a;
	if ((r = tt_list_keys(cli->client, &v, &n)) != 0)
		return cli_fail(cli, r, "list keys");
	if (n == 0)
		fprintf(stderr, "turtle: no keys currently available\n");
	for (size_t i = 0; i < n; i++) {
		printf("* %s (%s, %s, %u bits, permitted algorithm: ", v[i].name,
		       cli_provider_name(v[i].provider), cli_key_type_name(v[i].attrs.type),
		       v[i].attrs.bits);
		cli_print_alg(stdout, v[i].attrs.alg);
		printf(")\n");
	}
	tt_key_info_free(v, n);
	return CLI_OK;
}

static int
pt_list_clients(struct cli *cli, struct pt_args *a)
{
	char **v = NULL;
	size_t n = 0;
	int r;

	(void)a;
	if ((r = tt_list_clients(cli->client, &v, &n)) != 0)
		return cli_fail(cli, r, "list clients");
	if (n == 0)
		fprintf(stderr, "turtle: no clients in the service\n");
	for (size_t i = 0; i < n; i++)
		printf("%s\n", v[i]);
	tt_string_list_free(v, n);
	return CLI_OK;
}

static int
pt_delete_client(struct cli *cli, struct pt_args *a)
{
	int r;

	if (a->client == NULL)
		return cli_usage(cli, "needs -c/--client CLIENT");
	if ((r = tt_delete_client(cli->client, a->client)) != 0)
		return cli_fail(cli, r, a->client);
	note("client \"%s\" deleted", a->client);
	return CLI_OK;
}

static int
pt_generate_random(struct cli *cli, struct pt_args *a)
{
	uint8_t *p = NULL;
	int r;

	if (!a->have_nbytes)
		return cli_usage(cli, "needs -n/--nbytes N");
	if ((r = tt_generate_random(cli->client, a->nbytes, &p)) != 0)
		return cli_fail(cli, r, "generate random");
	for (uint32_t i = 0; i < a->nbytes; i++)
		printf("%02X ", p[i]);
	printf("\n");
	tt_free_secret(p, a->nbytes);
	return CLI_OK;
}

#define PT_SIGN_USAGE (TT_USAGE_SIGN_HASH | TT_USAGE_VERIFY_HASH | TT_USAGE_SIGN_MESSAGE | \
		       TT_USAGE_VERIFY_MESSAGE)

/* parsec-tool's policies: RSA keys are for encryption (PKCS#1 v1.5, or OAEP SHA-256)
 * unless --for-signing (PKCS#1 v1.5 SHA-256, which wins) or --for-signing-pss (PSS
 * SHA-256); ECC keys are P-256 ECDSA SHA-256. */
static int
pt_create_key(struct cli *cli, struct pt_args *a, bool rsa)
{
	struct tt_key_attrs k;
	int r;

	if ((r = need_key(cli, a)) >= 0)
		return r;
	memset(&k, 0, sizeof(k));
	if (rsa) {
		k.type = TT_KEY_TYPE_RSA_KEY_PAIR;
		k.bits = a->bits != 0 ? a->bits : 2048;
		if (a->for_signing) {
			k.usage = PT_SIGN_USAGE;
			k.alg = TT_ALG_RSA_PKCS1V15_SIGN(TT_ALG_SHA_256);
		} else if (a->for_pss) {
			k.usage = PT_SIGN_USAGE;
			k.alg = TT_ALG_RSA_PSS(TT_ALG_SHA_256);
		} else {
			k.usage = TT_USAGE_ENCRYPT | TT_USAGE_DECRYPT;
			k.alg = a->oaep ? TT_ALG_RSA_OAEP(TT_ALG_SHA_256) : TT_ALG_RSA_PKCS1V15_CRYPT;
		}
	} else {
		k.type = TT_KEY_TYPE_ECC_KEY_PAIR(TT_ECC_FAMILY_SECP_R1);
		k.bits = 256;
		k.usage = PT_SIGN_USAGE;
		k.alg = TT_ALG_ECDSA(TT_ALG_SHA_256);
	}
	if ((r = tt_generate_key(cli->client, a->key, &k)) != 0)
		return cli_fail(cli, r, a->key);
	note("key \"%s\" created", a->key);
	return CLI_OK;
}

static int
pt_create_rsa_key(struct cli *cli, struct pt_args *a)
{
	return pt_create_key(cli, a, true);
}

static int
pt_create_ecc_key(struct cli *cli, struct pt_args *a)
{
	return pt_create_key(cli, a, false);
}

static int
pt_delete_key(struct cli *cli, struct pt_args *a)
{
	int r;

	if ((r = need_key(cli, a)) >= 0)
		return r;
	if ((r = tt_destroy_key(cli->client, a->key)) != 0)
		return cli_fail(cli, r, a->key);
	note("key \"%s\" deleted", a->key);
	return CLI_OK;
}

static int
pt_export_public_key(struct cli *cli, struct pt_args *a)
{
	struct tt_key_attrs k;
	uint8_t *pub = NULL;
	size_t pub_len = 0, pem_len = 0;
	char *pem = NULL, *b = NULL;
	EVP_PKEY *pk = NULL;
	int r;

	if ((r = need_key(cli, a)) >= 0)
		return r;
	if ((r = cli_key_attrs(cli, a->key, &k)) != 0 ||
	    (r = tt_export_public_key(cli->client, a->key, &pub, &pub_len)) != 0) {
		r = cli_fail(cli, r, a->key);
		goto out;
	}
	if (a->pkcs1) {
		/* RSA's PSA export format is PKCS#1 RSAPublicKey already. */
		if (!TT_KEY_TYPE_IS_RSA(k.type)) {
			r = cli_fail(cli, TT_ERR_NOT_SUPPORTED, "--pkcs1 is for RSA keys");
			goto out;
		}
		if ((r = tt_b64_encode_dup(pub, pub_len, TT_B64_STD, &b)) != 0) {
			r = cli_fail(cli, r, "PEM");
			goto out;
		}
		printf("-----BEGIN RSA PUBLIC KEY-----\n");
		for (size_t i = 0, n = strlen(b); i < n; i += 64)
			printf("%.*s\n", (int)(n - i < 64 ? n - i : 64), b + i);
		printf("-----END RSA PUBLIC KEY-----\n");
	} else {
		if ((r = tt_cli_pubkey_from_psa(k.type, k.bits, pub, pub_len, &pk)) != 0 ||
		    (r = tt_cli_pubkey_to_pem(pk, &pem, &pem_len)) != 0) {
			r = cli_fail(cli, r, "convert the public key to PEM");
			goto out;
		}
		fwrite(pem, 1, pem_len, stdout);
	}
	r = CLI_OK;
out:
	free(b);
	free(pem);
	EVP_PKEY_free(pk);
	tt_free(pub);
	return r;
}

/* Sign the UTF-8 data with the key's own hash (SHA-256 for a key that allows any hash):
 * base64 of the DER ECDSA-Sig-Value, or of the RSA signature block. */
static int
pt_sign(struct cli *cli, struct pt_args *a)
{
	uint8_t md[EVP_MAX_MD_SIZE], *sig = NULL, *der = NULL;
	size_t sig_len = 0, der_len = 0;
	unsigned md_len = 0;
	struct tt_key_attrs k;
	const EVP_MD *evp;
	tt_alg_t alg, hash;
	int r;

	if ((r = need_key(cli, a)) >= 0)
		return r;
	if ((r = cli_key_attrs(cli, a->key, &k)) != 0)
		return cli_fail(cli, r, a->key);
	hash = tt_cli_sign_hash_for(&k);
	alg = tt_cli_sign_alg_for(&k, hash);
	evp = hash == TT_ALG_SHA_224 ? EVP_sha224() : hash == TT_ALG_SHA_256 ? EVP_sha256() :
	      hash == TT_ALG_SHA_384 ? EVP_sha384() : hash == TT_ALG_SHA_512 ? EVP_sha512() : NULL;
	if (alg == TT_ALG_NONE || evp == NULL)
		return cli_fail(cli, TT_ERR_NOT_SUPPORTED, "the key cannot sign");
	if (EVP_Digest(a->data, strlen(a->data), md, &md_len, evp, NULL) != 1)
		return cli_fail(cli, TT_ERR_GENERIC, "hash");
	if ((r = tt_sign_hash(cli->client, a->key, alg, md, md_len, &sig, &sig_len)) != 0)
		return cli_fail(cli, r, a->key);
	if (TT_ALG_IS_ECDSA(alg)) {
		r = tt_cli_ecdsa_raw_to_der(sig, sig_len, &der, &der_len);
		if (r == 0)
			print_b64_line(der, der_len);
		else
			r = cli_fail(cli, r, "convert the signature to DER");
	} else {
		print_b64_line(sig, sig_len);
	}
	free(der);
	tt_free(sig);
	return r == 0 ? CLI_OK : r;
}

static int
pt_crypt(struct cli *cli, struct pt_args *a, bool encrypt)
{
	struct tt_key_attrs k;
	uint8_t *in = NULL, *res = NULL;
	size_t in_len = 0, res_len = 0, dl;
	int r;

	if ((r = need_key(cli, a)) >= 0)
		return r;
	if ((r = cli_key_attrs(cli, a->key, &k)) != 0)
		return cli_fail(cli, r, a->key);
	if (TT_ALG_CATEGORY(k.alg) != TT_ALG_CATEGORY_ASYM_ENC)
		return cli_fail(cli, TT_ERR_NOT_SUPPORTED,
				"the key's algorithm is not an asymmetric encryption");
	dl = strlen(a->data);
	if (encrypt) {
		r = tt_asymmetric_encrypt(cli->client, a->key, k.alg, (const uint8_t *)a->data, dl,
					  NULL, 0, &res, &res_len);
	} else {
		if (dl > PT_MAX_DATA || (in = malloc(tt_b64_dec_max(dl) + 1)) == NULL)
			return cli_fail(cli, TT_ERR_INVALID_ARGUMENT, "ciphertext");
		if (tt_b64_decode(a->data, dl, TT_B64_STD, in, tt_b64_dec_max(dl), &in_len) != 0) {
			free(in);
			return cli_fail(cli, TT_ERR_INVALID_ARGUMENT, "ciphertext is not base64");
		}
		r = tt_asymmetric_decrypt(cli->client, a->key, k.alg, in, in_len, NULL, 0, &res,
					  &res_len);
	}
	if (r != 0) {
		r = cli_fail(cli, r, a->key);
	} else if (encrypt) {
		print_b64_line(res, res_len);
	} else {
		fwrite(res, 1, res_len, stdout);
		putchar('\n');
	}
	free(in);
	if (res != NULL)
		tt_free_secret(res, res_len);
	return r;
}

static int
pt_encrypt(struct cli *cli, struct pt_args *a)
{
	return pt_crypt(cli, a, true);
}

static int
pt_decrypt(struct cli *cli, struct pt_args *a)
{
	return pt_crypt(cli, a, false);
}

static int
pt_create_csr(struct cli *cli, struct pt_args *a)
{
	static const char *const fields[] = { "CN", "OU", "O", "L", "ST", "C" };
	X509_NAME *nm = NULL;
	char *pem = NULL;
	size_t pem_len = 0;
	int r;

	if ((r = need_key(cli, a)) >= 0)
		return r;
	if ((nm = X509_NAME_new()) == NULL)
		return cli_fail(cli, TT_ERR_NO_MEMORY, "subject");
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		if (a->dn[i] != NULL && X509_NAME_add_entry_by_txt(nm, fields[i], MBSTRING_UTF8,
		    (const unsigned char *)a->dn[i], -1, -1, 0) != 1) {
			r = cli_usage(cli, "bad value for the %s field", fields[i]);
			goto out;
		}
	}
	if (a->serial != NULL && X509_NAME_add_entry_by_NID(nm, NID_serialNumber,
	    MBSTRING_UTF8, (const unsigned char *)a->serial, -1, -1, 0) != 1) {
		r = cli_usage(cli, "bad --serialNumber");
		goto out;
	}
	if ((r = cli_csr_pem(cli, a->key, nm, a->sans, a->nsans, &pem, &pem_len)) != 0)
		goto out;
	/* parsec-tool prints the PEM with println!: one more newline */
	fwrite(pem, 1, pem_len, stdout);
	putchar('\n');
	r = CLI_OK;
out:
	free(pem);
	X509_NAME_free(nm);
	return r;
}

static const struct {
	const char *name;
	int (*fn)(struct cli *cli, struct pt_args *a);
	int npos;
} pt_cmds[] = {
	{ "ping", pt_ping, 0 },
	{ "list-providers", pt_list_providers, 0 },
	{ "list-authenticators", pt_list_authenticators, 0 },
	{ "list-opcodes", pt_list_opcodes, 0 },
	{ "list-keys", pt_list_keys, 0 },
	{ "list-clients", pt_list_clients, 0 },
	{ "delete-client", pt_delete_client, 0 },
	{ "generate-random", pt_generate_random, 0 },
	{ "create-rsa-key", pt_create_rsa_key, 0 },
	{ "create-ecc-key", pt_create_ecc_key, 0 },
	{ "export-public-key", pt_export_public_key, 0 },
	{ "delete-key", pt_delete_key, 0 },
	{ "sign", pt_sign, 1 },
	{ "encrypt", pt_encrypt, 1 },
	{ "decrypt", pt_decrypt, 1 },
	{ "create-csr", pt_create_csr, 0 },
};

bool
cli_parsec_has(const char *cmd)
{
	for (size_t i = 0; i < sizeof(pt_cmds) / sizeof(pt_cmds[0]); i++)
		if (strcmp(pt_cmds[i].name, cmd) == 0)
			return true;
	return false;
}

int
cli_parsec_run(struct cli *cli, int argc, char **argv)
{
	struct pt_args a;
	size_t i;
	int r;

	for (i = 0; i < sizeof(pt_cmds) / sizeof(pt_cmds[0]); i++)
		if (strcmp(pt_cmds[i].name, argv[0]) == 0)
			break;
	if (i == sizeof(pt_cmds) / sizeof(pt_cmds[0]))
		return cli_usage(cli, "not one of parsec-tool's commands");
	if ((r = pt_parse(cli, argc, argv, pt_cmds[i].npos, &a)) >= 0)
		return r;
	if ((r = cli_connect(cli)) != 0)
		return r;
	return pt_cmds[i].fn(cli, &a);
}
