/*
 * The `turtle` command: shared state and helpers for the subcommand files.
 *
 * Every subcommand is `int cmd_x(struct cli *cli, int argc, char **argv)` returning the
 * process exit code: CLI_OK, CLI_FAIL (the operation failed; message printed) or
 * CLI_USAGE (bad invocation). argv[0] is the subcommand name.
 */
#ifndef TT_CLI_CLI_H
#define TT_CLI_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "turtle/turtle.h"

enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

/* getopt codes of the global options; above any character so they cannot collide. */
enum {
	CLI_OPT_SOCKET = 1000,
	CLI_OPT_PROVIDER,
	CLI_OPT_APP_NAME,
	CLI_OPT_JSON,
	CLI_OPT_HELP,
	CLI_OPT_VERSION,
	CLI_OPT_TIMEOUT,
};

/* Global options are accepted before or after the subcommand name. */
#define CLI_GLOBAL_OPTIONS \
	{ "socket", required_argument, NULL, CLI_OPT_SOCKET }, \
	{ "provider", required_argument, NULL, CLI_OPT_PROVIDER }, \
	{ "app-name", required_argument, NULL, CLI_OPT_APP_NAME }, \
	{ "json", no_argument, NULL, CLI_OPT_JSON }, \
	{ "help", no_argument, NULL, CLI_OPT_HELP }, \
	{ "version", no_argument, NULL, CLI_OPT_VERSION }, \
	{ "timeout", required_argument, NULL, CLI_OPT_TIMEOUT }

struct cli;

struct cli_cmd {
	const char *name;
	int (*fn)(struct cli *cli, int argc, char **argv);
	const char *args;      /* synopsis after the name */
	const char *summary;
	const char *help;      /* option lines for --help */
};

struct cli {
	struct tt_client_opts opts;
	const char *socket;
	const char *app_name;
	bool provider_set;
	uint8_t provider;
	bool json;
	bool parsec;            /* invoked as parsec-tool: its output for every shared command */
	unsigned timeout_ms;    /* --timeout; 0: libturtle's default */
	const struct cli_cmd *cmd;
	struct tt_client *client;
};

/* Handle a global option code inside a subcommand's getopt loop. Returns -1 if the code
 * was handled and parsing continues, or an exit code (help printed: CLI_OK; bad value or
 * unknown option: CLI_USAGE). */
int cli_common_opt(struct cli *cli, int code, const char *arg);
/* Parse a command that has only global options and exactly `nargs` positional
 * arguments; on success (-1) *pos points at them. Else an exit code. */
int cli_parse_plain(struct cli *cli, int argc, char **argv, int nargs, char ***pos);
/* Usage error: message plus a pointer to --help; returns CLI_USAGE. */
int cli_usage(struct cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Operation error from a tt_err: stderr line (and a JSON error object with --json);
 * returns CLI_FAIL. `what` says what failed. */
int cli_fail(struct cli *cli, int err, const char *what);
/* Connect (once) with the collected options; prints the failure. */
int cli_connect(struct cli *cli);
/* Attributes of one of the caller's keys on the selected provider. */
int cli_key_attrs(struct cli *cli, const char *name, struct tt_key_attrs *out);
/* Parse a provider id or name (core, soft, pkcs11, tpm, or a number). */
int cli_parse_provider(const char *s, uint8_t *out);
const char *cli_provider_name(uint8_t id);

/* ---- I/O helpers (io.c) ---- */
/* Read a whole file ("-" = stdin) up to max bytes. *data: tt_free_secret(*data, *len). */
int cli_read_file(const char *path, size_t max, uint8_t **data, size_t *len);
/* Write bytes to path (created 0600 if secret, else 0644) or stdout when path is NULL
 * or "-". */
int cli_write_file(const char *path, const uint8_t *data, size_t len, bool secret);
void cli_print_hex(FILE *f, const uint8_t *p, size_t n);
/* Base64 without line breaks. */
void cli_print_base64(FILE *f, const uint8_t *p, size_t n);
/* JSON string literal with escapes. */
void cli_json_str(FILE *f, const char *s);
/* Names for display. */
const char *cli_key_type_name(tt_key_type_t t);
void cli_print_alg(FILE *f, tt_alg_t alg);
void cli_print_usage_flags(FILE *f, tt_usage_t u, bool json);

/* ---- subcommands ---- */
int cmd_ping(struct cli *cli, int argc, char **argv);
int cmd_list_providers(struct cli *cli, int argc, char **argv);
int cmd_list_opcodes(struct cli *cli, int argc, char **argv);
int cmd_list_authenticators(struct cli *cli, int argc, char **argv);
int cmd_list_keys(struct cli *cli, int argc, char **argv);
int cmd_list_clients(struct cli *cli, int argc, char **argv);
int cmd_delete_client(struct cli *cli, int argc, char **argv);
int cmd_generate_random(struct cli *cli, int argc, char **argv);
int cmd_create_rsa_key(struct cli *cli, int argc, char **argv);
int cmd_create_ecc_key(struct cli *cli, int argc, char **argv);
int cmd_import_key(struct cli *cli, int argc, char **argv);
int cmd_export_public_key(struct cli *cli, int argc, char **argv);
int cmd_delete_key(struct cli *cli, int argc, char **argv);
int cmd_sign(struct cli *cli, int argc, char **argv);
int cmd_verify(struct cli *cli, int argc, char **argv);
int cmd_verify_tee(struct cli *cli, int argc, char **argv);
int cmd_encrypt(struct cli *cli, int argc, char **argv);
int cmd_decrypt(struct cli *cli, int argc, char **argv);
int cmd_create_csr(struct cli *cli, int argc, char **argv);
int cmd_token(struct cli *cli, int argc, char **argv);
/* cmd_attest.c */
int cmd_attest(struct cli *cli, int argc, char **argv);
int cmd_as(struct cli *cli, int argc, char **argv);
int cmd_policy(struct cli *cli, int argc, char **argv);
/* cmd_parsec.c: parsec-tool's spelling (see the file's comment). */
bool cli_parsec_has(const char *cmd);
/* Whether argv (argv[0] the command) uses an option only parsec-tool's form has. */
bool cli_parsec_spelling(const char *cmd, int argc, char **argv);
int cli_parsec_run(struct cli *cli, int argc, char **argv);
/* cmd_kbs.c */
int cmd_get_resource(struct cli *cli, int argc, char **argv);

/* PCR selection in tpm2-tools syntax (sha256:0-10+sha1:0,7); `s` is modified. */
struct tt_pcr_bank_sel;
int cli_parse_pcrs(char *s, struct tt_pcr_bank_sel *sel, size_t *n);
/* turtle-as's tpm evidence JSON for a quote (src/as/verifier_tpm.c); NULL on ENOMEM. */
struct tt_attest_quote;
struct json_t;
struct json_t *cli_evidence_json(const struct tt_attest_quote *q);
/* "snp", "tdx" or "cca": a confidential guest's tee, collected through TtAttestTee. */
bool cli_tee_is_guest(const char *tee);
/* Trustee's evidence JSON of the guest's configfs-tsm report over rd (at most 64 bytes;
 * privlevel TT_ATTEST_TEE_NO_PRIVLEVEL or 0..3); NULL after printing why. raw (may be
 * NULL) receives the report itself (tt_attest_tee_free). */
struct tt_attest_tee;
struct json_t *cli_tee_evidence(struct cli *cli, const char *tee, const uint8_t *rd,
    size_t rd_len, int privlevel, struct tt_attest_tee **raw);

/* PKCS#10 request for `name` signed by turtled (ECDSA, RSA PKCS#1 v1.5 or RSA-PSS, as
 * the key's policy says), with DNS subjectAltNames; *pem is malloc'd. Failures are
 * printed (cli_fail) and returned as exit codes. */
#define CLI_MAX_SANS 16
typedef struct X509_name_st X509_NAME;
int cli_csr_pem(struct cli *cli, const char *name, const X509_NAME *nm, char *const *sans,
	size_t nsans, char **pem, size_t *pem_len);

/* Largest input file the commands read (files are sent whole in one request). */
#define CLI_MAX_FILE (1u * 1024u * 1024u)

#endif
