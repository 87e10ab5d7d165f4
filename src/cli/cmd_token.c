/*
 * turtle token verify | show: attestation-result tokens (EAR JWTs from turtle-as).
 * Verification is offline, against a JWKS file, through libturtle's tt_token_verify();
 * no service is contacted.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "turtle/token.h"
#include "util/b64.h"
#include "util/hex.h"
#include "util/num.h"

#define TOKEN_MAX (256u * 1024u)
#define JWKS_MAX  (1024u * 1024u)

enum { OPT_JWKS = 1, OPT_NONCE, OPT_NONCE_HEX, OPT_NOW, OPT_LEEWAY, OPT_IN };

/* Read a text file whole as a NUL-terminated string with surrounding white space cut. */
static int
read_text(const char *path, size_t max, char **out)
{
	uint8_t *d = NULL;
	size_t n = 0, a = 0;
	char *s;
	int r;

	if ((r = cli_read_file(path, max, &d, &n)) != 0)
		return r;
	while (a < n && isspace(d[a]))
		a++;
	while (n > a && isspace(d[n - 1]))
		n--;
	if ((s = malloc(n - a + 1)) == NULL) {
		tt_free_secret(d, n);
		return TT_ERR_NO_MEMORY;
	}
	memcpy(s, d + a, n - a);
	s[n - a] = '\0';
	tt_free_secret(d, n);
	*out = s;
	return 0;
}

/* Hex nonce bytes (1..64) -> the base64url text turtle-as puts in eat_nonce. */
static char *
hex_to_b64url(const char *hex)
{
	uint8_t b[64];
	size_t n;
	char *s = NULL;

	if (tt_hex_decode(hex, strlen(hex), b, sizeof(b), &n) != 0 || n == 0)
		return NULL;
	if (tt_b64_encode_dup(b, n, TT_B64_URL, &s) != 0)
		return NULL;
	return s;
}

static int
token_verify(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "jwks", required_argument, NULL, OPT_JWKS },
		{ "nonce", required_argument, NULL, OPT_NONCE },
		{ "nonce-hex", required_argument, NULL, OPT_NONCE_HEX },
		{ "now", required_argument, NULL, OPT_NOW },
		{ "leeway", required_argument, NULL, OPT_LEEWAY },
		{ "in", required_argument, NULL, OPT_IN },
		CLI_GLOBAL_OPTIONS, { NULL, 0, NULL, 0 } };
	struct tt_token_verify_opts vo = { 0 };
	const char *jwks_path = NULL, *in = NULL, *nonce = NULL, *nonce_hex = NULL;
	char *token = NULL, *jwks = NULL, *claims = NULL, *reason = NULL, *nonce_b64 = NULL;
	uint64_t v;
	uint32_t lw;
	int c, r;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case OPT_JWKS: jwks_path = optarg; break;
		case OPT_NONCE: nonce = optarg; break;
		case OPT_NONCE_HEX: nonce_hex = optarg; break;
		case OPT_IN: in = optarg; break;
		case OPT_NOW:
			if (tt_parse_u64(optarg, 1, INT64_MAX, &v) != 0)
				return cli_usage(cli, "--now: not a unix time: '%s'", optarg);
			vo.now = v;
			break;
		case OPT_LEEWAY:
			if (tt_parse_u32(optarg, 0, 86400, &lw) != 0)
				return cli_usage(cli, "--leeway: 0..86400 seconds, not '%s'", optarg);
			vo.leeway = lw;
			break;
		default:
			if ((r = cli_common_opt(cli, c, optarg)) >= 0)
				return r;
		}
	}
	if (jwks_path == NULL)
		return cli_usage(cli, "verify needs --jwks FILE");
	if ((in == NULL) == (optind >= argc) || argc - optind > 1)
		return cli_usage(cli, "give the token as one argument or with --in FILE");
	if (nonce != NULL && nonce_hex != NULL)
		return cli_usage(cli, "--nonce and --nonce-hex exclude each other");
	if (nonce_hex != NULL) {
		if ((nonce_b64 = hex_to_b64url(nonce_hex)) == NULL)
			return cli_usage(cli, "--nonce-hex: 1..64 bytes of hex");
		nonce = nonce_b64;
	}
	if (nonce != NULL) {
		vo.nonce = nonce;
		vo.nonce_len = strlen(nonce);
	}
	if (in != NULL) {
		if ((r = read_text(in, TOKEN_MAX, &token)) != 0) {
			r = cli_fail(cli, r, in);
			goto out;
		}
	} else if ((token = strdup(argv[optind])) == NULL) {
		r = cli_fail(cli, TT_ERR_NO_MEMORY, "token");
		goto out;
	}
	if ((r = read_text(jwks_path, JWKS_MAX, &jwks)) != 0) {
		r = cli_fail(cli, r, jwks_path);
		goto out;
	}
	r = tt_token_verify(token, jwks, &vo, &claims, &reason);
	if (r != 0) {
		if (cli->json) {
			printf("{\"valid\":false,\"error\":");
			cli_json_str(stdout, tt_err_name(r));
			printf(",\"reason\":");
			cli_json_str(stdout, reason != NULL ? reason : tt_strerror(r));
			printf("}\n");
		} else {
			fprintf(stderr, "turtle: token: INVALID: %s\n",
				reason != NULL ? reason : tt_strerror(r));
		}
		r = CLI_FAIL;
		goto out;
	}
	if (cli->json)
		printf("{\"valid\":true,\"claims\":%s}\n", claims);
	else
		printf("token: valid (signature, alg, exp/iat%s, EAR profile checked)\n%s\n",
			nonce != NULL ? ", nonce" : "", claims);
	r = CLI_OK;
out:
	tt_free(claims);
	tt_free(reason);
	free(nonce_b64);
	free(jwks);
	free(token);
	return r;
}

static int
token_show(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "in", required_argument, NULL, OPT_IN },
		CLI_GLOBAL_OPTIONS, { NULL, 0, NULL, 0 } };
	const char *in = NULL;
	char *token = NULL, *hdr = NULL, *claims = NULL;
	int c, r;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == OPT_IN)
			in = optarg;
		else if ((r = cli_common_opt(cli, c, optarg)) >= 0)
			return r;
	}
	if ((in == NULL) == (optind >= argc) || argc - optind > 1)
		return cli_usage(cli, "give the token as one argument or with --in FILE");
	if (in != NULL) {
		if ((r = read_text(in, TOKEN_MAX, &token)) != 0)
			return cli_fail(cli, r, in);
	} else if ((token = strdup(argv[optind])) == NULL) {
		return cli_fail(cli, TT_ERR_NO_MEMORY, "token");
	}
	if ((r = tt_token_decode_unverified(token, &hdr, &claims)) != 0) {
		r = cli_fail(cli, r, "token");
		goto out;
	}
	if (cli->json)
		printf("{\"verified\":false,\"header\":%s,\"claims\":%s}\n", hdr, claims);
	else
		printf("UNVERIFIED: signature and validity NOT checked (use 'turtle token verify')\n"
		       "header: %s\nclaims: %s\n", hdr, claims);
	r = CLI_OK;
out:
	tt_free(hdr);
	tt_free(claims);
	free(token);
	return r;
}

int
cmd_token(struct cli *cli, int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "verify") == 0)
		return token_verify(cli, argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "show") == 0)
		return token_show(cli, argc - 1, argv + 1);
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))
		return cli_common_opt(cli, CLI_OPT_HELP, NULL);
	return cli_usage(cli, "expected 'verify' or 'show'");
}
