/* turtle: command-line client of turtled, built only on the public libturtle API. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "tt_config.h"
#include "util/num.h"

static const struct cli_cmd cmds[] = {
	{ "ping", cmd_ping, "", "check the service and show its wire protocol version", "" },
	{ "list-providers", cmd_list_providers, "", "list the service's providers", "" },
	{ "list-opcodes", cmd_list_opcodes, "", "list the opcodes the selected provider supports", "" },
	{ "list-authenticators", cmd_list_authenticators, "", "list the enabled authenticators", "" },
	{ "list-keys", cmd_list_keys, "", "list the caller's keys", "" },
	{ "list-clients", cmd_list_clients, "", "list clients owning keys (admin)", "" },
	{ "delete-client", cmd_delete_client, "CLIENT", "delete all keys of a client (admin)", "" },
	{ "generate-random", cmd_generate_random, "--bytes N [--hex|--base64|--out FILE]",
	  "random bytes from the provider",
	  "  --bytes N     number of bytes (1..65536)\n"
	  "  --hex         print as hex (default)\n"
	  "  --base64      print as base64\n"
	  "  --out FILE    write the raw bytes to FILE\n"
	  "  parsec-tool form: generate-random -n|--nbytes N (\"%02X \" per byte)\n" },
	{ "create-rsa-key", cmd_create_rsa_key, "NAME [--bits 2048] [--for-encryption]",
	  "generate an RSA key pair",
	  "  --bits N           modulus size: 2048, 3072 or 4096 (default 2048)\n"
	  "  --for-encryption   RSA-OAEP(SHA-256) encrypt/decrypt key instead of a\n"
	  "                     PKCS#1 v1.5 signing key\n"
	  "  parsec-tool form: create-rsa-key -k NAME [-b BITS] [-s|--for-signing]\n"
	  "                    [-r|--for-signing-pss] [-o|--oaep]: an encryption key\n"
	  "                    (PKCS#1 v1.5, or OAEP) unless -s or -r\n" },
	{ "create-ecc-key", cmd_create_ecc_key, "NAME [--curve p256|p384|p521]",
	  "generate an ECDSA key pair",
	  "  --curve C     p256 (default), p384 or p521\n"
	  "  parsec-tool form: create-ecc-key -k NAME (P-256, ECDSA SHA-256)\n" },
	{ "import-key", cmd_import_key, "NAME --in FILE [--for-encryption] [--type aes|hmac]",
	  "import a PEM private/public key or raw symmetric key",
	  "  --in FILE          PEM private key, PEM public key, or raw key bytes\n"
	  "  --for-encryption   RSA keys: OAEP(SHA-256) encryption policy\n"
	  "  --type T           raw keys: aes (default; GCM) or hmac (HMAC-SHA-256)\n" },
	{ "export-public-key", cmd_export_public_key, "NAME [--out FILE]",
	  "export the public key as PEM SubjectPublicKeyInfo",
	  "  --out FILE    write the PEM to FILE instead of stdout\n"
	  "  parsec-tool form: export-public-key -k NAME [--pkcs1]\n" },
	{ "delete-key", cmd_delete_key, "NAME", "destroy a key",
	  "  parsec-tool form: delete-key -k NAME\n" },
	{ "sign", cmd_sign, "NAME --in FILE [--out SIG]",
	  "hash FILE and sign the digest; DER signature for OpenSSL",
	  "  --in FILE     data to sign (hashed locally with the key's hash)\n"
	  "  --out SIG     signature file (default stdout)\n"
	  "  parsec-tool form: sign -k NAME DATA (signs the string; base64 out)\n" },
	{ "verify", cmd_verify, "NAME --in FILE --signature SIG | --tee T --evidence FILE [...]",
	  "verify a signature over FILE, or TEE evidence offline",
	  "  --in FILE         signed data\n"
	  "  --signature SIG   DER (ECDSA) or raw (RSA) signature\n"
	  "  --tee T           evidence type: snp, tdx, sgx, cca, virtcca (no daemon needed)\n"
	  "  --evidence FILE   the evidence bytes (SNP report, quote, CBOR token)\n"
	  "  --hex             FILE holds the evidence as hex text\n"
	  "  --collateral F|D  certificates/collateral file, or a directory of them\n"
	  "                    (vcek.der, vlek.der, crl.der, aik.der, DCAP collateral)\n"
	  "  --anchors DIR     trust anchors replacing the built-in ones\n"
	  "  --now TIME        unix seconds or YYYY-MM-DDTHH:MM:SSZ (default: the clock)\n"
	  "  --nonce-hex HEX   expected report data (binding); absent: not checked\n"
	  "  --init-data-hex HEX  expected init data (SNP host_data, TDX mr_config_id,\n"
	  "                    SGX config_id, CCA RPV)\n"
	  "  --any-vmpl        snp: accept a report requested above VMPL 0\n"
	  "  --any-tcb-status  tdx/sgx: report a TCB status other than UpToDate (not\n"
	  "                    Revoked) in the claims instead of refusing it\n"
	  "  --require-crl     refuse when no CRL is supplied\n"
	  "  --explain         print the chain of links checked, anchor first\n" },
	{ "encrypt", cmd_encrypt, "NAME --in FILE [--out FILE]",
	  "encrypt (RSA-OAEP SHA-256, or AES-GCM with a random nonce prefixed)",
	  "  --in FILE     plaintext\n"
	  "  --out FILE    ciphertext (default stdout)\n"
	  "  parsec-tool form: encrypt -k NAME DATA (base64 out)\n" },
	{ "decrypt", cmd_decrypt, "NAME --in FILE [--out FILE]", "decrypt what encrypt produced",
	  "  --in FILE     ciphertext\n"
	  "  --out FILE    plaintext (default stdout; created 0600)\n"
	  "  parsec-tool form: decrypt -k NAME BASE64 (text out)\n" },
	{ "create-csr", cmd_create_csr, "NAME --subject \"/CN=...\" [--san NAME]... [--out FILE]",
	  "PKCS#10 certificate request signed by the key",
	  "  --subject DN  e.g. \"/CN=node1/O=Example\" (escape '/' in values as \\/)\n"
	  "  --san NAME    a DNS subjectAltName (repeatable)\n"
	  "  --out FILE    write the PEM request to FILE instead of stdout\n"
	  "  parsec-tool form: create-csr -k NAME [--cn|--o|--ou|--l|--st|--c|\n"
	  "                    --serialNumber VALUE]... [--san NAME]...\n" },
	{ "token", cmd_token,
	  "verify --jwks FILE [--nonce N|--nonce-hex HEX] [--now UNIX] [--leeway S] TOKEN|--in FILE"
	  " | show TOKEN|--in FILE",
	  "verify an attestation token offline against a JWKS, or show it unverified",
	  "  verify        check signature, algorithm, exp/iat, EAR profile (and nonce);\n"
	  "                exit 0 only if the token is valid; prints the claims\n"
	  "  show          decode header and claims WITHOUT verifying anything\n"
	  "  --jwks FILE   JWKS ({\"keys\":[...]}) or one JWK, e.g. turtle-as's jwks.json\n"
	  "  --nonce N     expected eat_nonce text (the challenge nonce as issued)\n"
	  "  --nonce-hex HEX  expected nonce bytes; compared as their base64url text\n"
	  "  --now UNIX    judge expiry at this time instead of the clock\n"
	  "  --leeway S    tolerated clock skew in seconds (default 0)\n"
	  "  --in FILE     read the token from FILE ('-' for stdin)\n" },
	{ "attest", cmd_attest,
	  "--as URL [--tee tpm|snp|tdx|cca|sample] [--pcrs SEL] [--node ID] [--out FILE]",
	  "attest this node to turtle-as with evidence from turtled and print the token",
	  "  --as URL      turtle-as base URL, e.g. http://127.0.0.1:8080\n"
	  "  --tee T       evidence type: tpm (a TPM quote from turtled, the default);\n"
	  "                snp, tdx or cca (this confidential guest's report, taken by\n"
	  "                turtled through configfs-tsm); sample (software only, never\n"
	  "                affirming by default)\n"
	  "  --pcrs SEL    tpm: PCR selection, e.g. sha256:0-10 or sha256:0,7+sha1:0\n"
	  "                (default: turtled's quote_pcrs)\n"
	  "  --privlevel N snp: the VMPL (0..3) the report is requested from\n"
	  "  --node ID     node id registered at turtle-as (default: the host name)\n"
	  "  --out FILE    write the token to FILE instead of stdout\n"
	  "  --evidence-out FILE    snp/tdx/cca: also save the evidence in the form\n"
	  "                         `turtle verify --evidence` reads\n"
	  "  --collateral-out FILE  snp: also save the certificate table (auxblob)\n" },
	{ "get-resource", cmd_get_resource,
	  "--as URL [--tee tpm|snp|tdx|cca] [--pcrs SEL] [--out FILE] REPO/TYPE/TAG",
	  "get a secret from turtle-as (KBS protocol), released only to an affirming node",
	  "  --as URL      turtle-as base URL, e.g. http://127.0.0.1:8080\n"
	  "  --tee T       evidence type: tpm (the default) or snp, tdx, cca (the guest's\n"
	  "                report through turtled, in the shape Trustee's attesters send)\n"
	  "  --pcrs SEL    tpm: PCRs to quote, e.g. sha256:0-10 (default: quote_pcrs)\n"
	  "  --out FILE    write the secret to FILE (created 0600) instead of stdout\n"
	  "  turtled binds its evidence to the KBS challenge and an ephemeral key; the secret\n"
	  "  comes back encrypted to that key. A TPM node must be registered (turtle as node\n"
	  "  register).\n" },
	{ "as", cmd_as,
	  "node register [--tee tpm|snp|tdx|cca] | refvals import FILE | policy set FILE |"
	  " resource put PATH FILE --as URL --admin-token-file F",
	  "turtle-as administration: register this node (TPM: EK + activated AK; confidential"
	  " guest: its platform identity from its report), import reference values, set a"
	  " policy, store a resource",
	  "  node register      identity from turtled (admin), POST /v1/nodes, activate the AK\n"
	  "    --tee T          tpm (the default) or snp, tdx, cca: the guest's report through\n"
	  "                     turtled; turtle-as verifies it (no challenge: it proves which\n"
	  "                     platform, not freshness) and registers its tee_identity\n"
	  "    --privlevel N    snp|tdx|cca: the report's privilege level (SNP VMPL), 0..3\n"
	  "    --node ID        node id (default: the host name)\n"
	  "    --group G        node group (default: default)\n"
	  "  refvals import F   POST F (JSON) to /v1/reference-values\n"
	  "  policy set F       POST F (JSON) to /v1/policies\n"
	  "  resource put P F   store F's bytes as resource P (REPO/TYPE/TAG)\n"
	  "  --as URL           turtle-as base URL\n"
	  "  --admin-token-file F  file holding turtle-as's admin bearer token\n" },
	{ "policy", cmd_policy,
	  "eval --policy FILE [--policy FILE]... [--data FILE] [--input FILE] QUERY",
	  "evaluate a Rego query offline (like opa eval) with turtle-as's interpreter",
	  "  --policy FILE  a Rego module (repeatable)\n"
	  "  --data FILE    JSON object: the base document (data); rules extend it\n"
	  "  --input FILE   JSON document: input (absent: input is undefined)\n"
	  "  --strict       built-in errors fail the evaluation instead of being undefined\n"
	  "  --fail         exit 1 when the query is undefined (no solutions)\n"
	  "  QUERY          e.g. 'x = data.policy.allow'; prints one object per solution\n" },
};

static void
print_global_usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: turtle [--socket PATH] [--provider ID|NAME] [--app-name NAME] [--json]\n"
		   "              [--timeout S] COMMAND [ARGS] [--help]\n"
		   "       turtle --version | --help\n\ncommands:\n");
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %-20s %s\n", cmds[i].name, cmds[i].summary);
	fprintf(f, "\nglobal options:\n"
		   "  --socket PATH      service socket (else $TURTLE_SOCKET, $PARSEC_SERVICE_ENDPOINT\n"
		   "                     as unix:PATH, else " TT_CLIENT_DEFAULT_SOCKET ")\n"
		   "  -p, --provider P   soft, pkcs11, tpm or a provider id (default: first listed)\n"
		   "  --app-name NAME    authenticate directly as NAME (default: Unix peer credentials)\n"
		   "  --json             machine-readable output\n"
		   "  -t, --timeout S    bound each request to S seconds (0: libturtle's default)\n"
		   "  -V, --version      print the version and exit\n"
		   "  -h, --help         this help; after a command, that command's\n"
		   "\nparsec-tool's spelling of the shared commands (-k/--key-name NAME, data as an\n"
		   "argument, base64 output; -p ID for the provider) is accepted too, and every\n"
		   "shared command answers in parsec-tool's form when turtle runs as parsec-tool.\n"
		   "exit status: 0 success, 1 operation failed, 2 usage error\n");
}

static void
print_cmd_help(const struct cli_cmd *c)
{
	printf("usage: turtle %s %s\n%s.\n", c->name, c->args, c->summary);
	if (c->help[0] != '\0')
		printf("\noptions:\n%s", c->help);
	printf("\nglobal options (--socket, --provider, --app-name, --json) are accepted too.\n");
}

static const struct {
	const char *name;
	uint8_t id;
} provider_names[] = {
	{ "core", TT_CLIENT_PROVIDER_CORE },
	{ "soft", TT_CLIENT_PROVIDER_SOFT },
	{ "mbed-crypto", TT_CLIENT_PROVIDER_SOFT },
	{ "pkcs11", TT_CLIENT_PROVIDER_PKCS11 },
	{ "tpm", TT_CLIENT_PROVIDER_TPM },
};

int
cli_parse_provider(const char *s, uint8_t *out)
{
	uint32_t v;
	size_t i;

	for (i = 0; i < sizeof(provider_names) / sizeof(provider_names[0]); i++) {
		if (strcmp(s, provider_names[i].name) == 0) {
			*out = provider_names[i].id;
			return 0;
		}
	}
	if (tt_parse_u32(s, 0, UINT8_MAX, &v) != 0)
		return TT_ERR_PARSE;
	*out = (uint8_t)v;
	return 0;
}

const char *
cli_provider_name(uint8_t id)
{
	switch (id) {
	case TT_CLIENT_PROVIDER_CORE: return "core";
	case TT_CLIENT_PROVIDER_SOFT: return "soft";
	case TT_CLIENT_PROVIDER_PKCS11: return "pkcs11";
	case TT_CLIENT_PROVIDER_TPM: return "tpm";
	default: return "other";
	}
}

int
cli_usage(struct cli *cli, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "turtle: %s%s", cli->cmd != NULL ? cli->cmd->name : "",
		cli->cmd != NULL ? ": " : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'turtle %s%s--help'.\n", cli->cmd != NULL ? cli->cmd->name : "",
		cli->cmd != NULL ? " " : "");
	return CLI_USAGE;
}

int
cli_fail(struct cli *cli, int err, const char *what)
{
	const char *cmd = cli->cmd != NULL ? cli->cmd->name : "turtle";
	int saved = errno;

	if (err == TT_ERR_IO || err == TT_ERR_CONNECTION)
		fprintf(stderr, "turtle: %s: %s: %s (%s): %s\n", cmd, what, tt_strerror(err),
			tt_err_name(err), strerror(saved));
	else
		fprintf(stderr, "turtle: %s: %s: %s (%s)\n", cmd, what, tt_strerror(err),
			tt_err_name(err));
	if (cli->json) {
		printf("{\"error\":{\"status\":");
		cli_json_str(stdout, tt_err_name(err));
		printf(",\"message\":");
		cli_json_str(stdout, tt_strerror(err));
		printf(",\"context\":");
		cli_json_str(stdout, what);
		printf("}}\n");
	}
	return CLI_FAIL;
}

int
cli_common_opt(struct cli *cli, int code, const char *arg)
{
	switch (code) {
	case CLI_OPT_SOCKET:
		cli->socket = arg;
		return -1;
	case CLI_OPT_PROVIDER:
		if (cli_parse_provider(arg, &cli->provider) != 0)
			return cli_usage(cli, "unknown provider '%s'", arg);
		cli->provider_set = true;
		return -1;
	case CLI_OPT_APP_NAME:
		if (arg[0] == '\0')
			return cli_usage(cli, "--app-name must not be empty");
		cli->app_name = arg;
		return -1;
	case CLI_OPT_JSON:
		cli->json = true;
		return -1;
	case CLI_OPT_TIMEOUT: {
		uint32_t secs;

		/* parsec-tool's --timeout: seconds, 0 for its client's "no timeout", which
		 * here means libturtle's default bound rather than none */
		if (tt_parse_u32(arg, 0, 3600, &secs) != 0)
			return cli_usage(cli, "--timeout: seconds, 0..3600");
		cli->timeout_ms = secs * 1000u;
		return -1;
	}
	case CLI_OPT_VERSION:
		printf("turtle %s\n", TT_VERSION);
		return CLI_OK;
	case CLI_OPT_HELP:
		if (cli->cmd != NULL)
			print_cmd_help(cli->cmd);
		else
			print_global_usage(stdout);
		return CLI_OK;
	default:
		/* getopt has already printed what was wrong. */
		return cli_usage(cli, "invalid arguments");
	}
}

int
cli_parse_plain(struct cli *cli, int argc, char **argv, int nargs, char ***pos)
{
	static const struct option opts[] = { CLI_GLOBAL_OPTIONS, { NULL, 0, NULL, 0 } };
	int c, r;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if ((r = cli_common_opt(cli, c, optarg)) >= 0)
			return r;
	}
	if (argc - optind != nargs) {
		if (nargs == 0)
			return cli_usage(cli, "takes no arguments");
		return cli_usage(cli, "expects %d argument%s", nargs, nargs == 1 ? "" : "s");
	}
	*pos = argv + optind;
	return -1;
}

int
cli_connect(struct cli *cli)
{
	int r;

	if (cli->client != NULL)
		return 0;
	memset(&cli->opts, 0, sizeof(cli->opts));
	cli->opts.socket_path = cli->socket;
	if (cli->app_name != NULL) {
		cli->opts.auth = TT_CLIENT_AUTH_DIRECT;
		cli->opts.app_name = cli->app_name;
	}
	if (cli->provider_set)
		cli->opts.provider = cli->provider;
	cli->opts.timeout_ms = cli->timeout_ms;
	if ((r = tt_client_open(&cli->client, &cli->opts)) != 0) {
		char path[128];
		if (tt_client_socket_path(cli->socket, path, sizeof(path)) != 0)
			snprintf(path, sizeof(path), "%s", "(invalid socket setting)");
		if (r == TT_ERR_CONFIG)
			return cli_fail(cli, r, "socket setting (TURTLE_SOCKET / PARSEC_SERVICE_ENDPOINT)");
		return cli_fail(cli, r, path);
	}
	return 0;
}

int
cli_key_attrs(struct cli *cli, const char *name, struct tt_key_attrs *out)
{
	struct tt_key_info *keys = NULL;
	size_t n = 0, i;
	uint8_t prov;
	int r;

	if ((r = tt_client_provider(cli->client, &prov)) != 0)
		return r;
	if ((r = tt_list_keys(cli->client, &keys, &n)) != 0)
		return r;
	r = TT_ERR_DOES_NOT_EXIST;
	for (i = 0; i < n; i++) {
		if (keys[i].provider == prov && strcmp(keys[i].name, name) == 0) {
			*out = keys[i].attrs;
			r = 0;
			break;
		}
	}
	tt_key_info_free(keys, n);
	return r;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = { CLI_GLOBAL_OPTIONS, { NULL, 0, NULL, 0 } };
	struct cli cli;
	const char *env;
	size_t i;
	int c, r;

	memset(&cli, 0, sizeof(cli));
	env = strrchr(argv[0], '/');
	cli.parsec = strcmp(env != NULL ? env + 1 : argv[0], "parsec-tool") == 0;
	/* '+': stop at the subcommand name; its own options are parsed by the command.
	 * The short options are parsec-tool's global ones. */
	while ((c = getopt_long(argc, argv, "+p:t:hV", opts, NULL)) != -1) {
		c = c == 'p' ? CLI_OPT_PROVIDER : c == 't' ? CLI_OPT_TIMEOUT :
		    c == 'h' ? CLI_OPT_HELP : c == 'V' ? CLI_OPT_VERSION : c;
		if ((r = cli_common_opt(&cli, c, optarg)) >= 0)
			return r;
	}
	if (optind >= argc) {
		print_global_usage(stderr);
		return CLI_USAGE;
	}
	env = getenv("TURTLE_PROVIDER");
	if (!cli.provider_set && env != NULL && *env != '\0') {
		if (cli_parse_provider(env, &cli.provider) != 0)
			return cli_usage(&cli, "TURTLE_PROVIDER: unknown provider '%s'", env);
		cli.provider_set = true;
	}
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(argv[optind], cmds[i].name) == 0)
			break;
	}
	if (i == sizeof(cmds) / sizeof(cmds[0])) {
		if (strcmp(argv[optind], "help") == 0) {
			print_global_usage(stdout);
			return CLI_OK;
		}
		return cli_usage(&cli, "unknown command '%s'", argv[optind]);
	}
	cli.cmd = &cmds[i];
	argc -= optind;
	argv += optind;
	optind = 0; /* glibc: re-initialise getopt for the subcommand's argv */
	if (cli_parsec_has(cmds[i].name) &&
	    (cli.parsec || cli_parsec_spelling(cmds[i].name, argc, argv)))
		r = cli_parsec_run(&cli, argc, argv);
	else
		r = cmds[i].fn(&cli, argc, argv);
	tt_client_close(cli.client);
	if (fflush(stdout) != 0 && r == CLI_OK) {
		fprintf(stderr, "turtle: write error on standard output\n");
		r = CLI_FAIL;
	}
	return r;
}
