/*
 * turtle policy eval: evaluate a Rego query offline, as `opa eval` does, with turtle's
 * interpreter (src/policy/rego) and the same limits turtle-as uses. Prints the result
 * set as JSON: one object per solution mapping the query's variables to their values.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "rego.h"
#include "turtle/error.h"
#include "util/mem.h"

#define MAX_POLICIES 16
#define MAX_FILE (4u << 20)

static int load_json(struct cli *cli, const char *path, json_t **out)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	json_error_t je;
	int r = cli_read_file(path, MAX_FILE, &buf, &len);
	if (r != 0)
		return cli_fail(cli, r, path);
	*out = json_loadb((const char *)buf, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
	tt_free_secret(buf, len);
	if (*out == NULL) {
		fprintf(stderr, "turtle: policy: %s:%d:%d: %s\n", path, je.line, je.column, je.text);
		return CLI_FAIL;
	}
	return CLI_OK;
}

static int policy_eval(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		CLI_GLOBAL_OPTIONS,
		{ "policy", required_argument, NULL, 'p' },
		{ "data", required_argument, NULL, 'd' },
		{ "input", required_argument, NULL, 'i' },
		{ "strict", no_argument, NULL, 's' },
		{ "fail", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	const char *paths[MAX_POLICIES], *data_path = NULL, *input_path = NULL;
	size_t np = 0;
	bool strict = false, fail_undefined = false;
	int c, r, rc = CLI_FAIL;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (np == MAX_POLICIES)
				return cli_usage(cli, "at most %d --policy files", MAX_POLICIES);
			paths[np++] = optarg;
			break;
		case 'd': data_path = optarg; break;
		case 'i': input_path = optarg; break;
		case 's': strict = true; break;
		case 'f': fail_undefined = true; break;
		default:
			if ((r = cli_common_opt(cli, c, optarg)) >= 0)
				return r;
		}
	}
	if (optind + 1 != argc)
		return cli_usage(cli, "one QUERY expected, e.g. 'x = data.policy.allow'");
	const char *query = argv[optind];

	uint8_t *bufs[MAX_POLICIES] = { 0 };
	size_t lens[MAX_POLICIES] = { 0 };
	const char *srcs[MAX_POLICIES];
	json_t *data = NULL, *input = NULL, *res = NULL;
	struct tt_rego *rego = NULL;
	struct tt_rego_err e;
	char msg[512];

	for (size_t i = 0; i < np; i++) {
		if ((r = cli_read_file(paths[i], MAX_FILE, &bufs[i], &lens[i])) != 0) {
			rc = cli_fail(cli, r, paths[i]);
			goto out;
		}
		srcs[i] = (const char *)bufs[i];
	}
	if (data_path && (rc = load_json(cli, data_path, &data)) != CLI_OK)
		goto out;
	if (input_path && (rc = load_json(cli, input_path, &input)) != CLI_OK)
		goto out;
	rc = CLI_FAIL;
	if (data && !json_is_object(data)) {
		fprintf(stderr, "turtle: policy: %s: data must be a JSON object\n", data_path);
		goto out;
	}
	memset(&e, 0, sizeof(e));
	if ((r = tt_rego_compile(np, paths, srcs, lens, NULL, &rego, &e)) == 0) {
		struct tt_rego_eval_opts o = { .strict_builtin_errors = strict };
		r = tt_rego_eval(rego, query, input, data, &o, &res, &e);
	}
	if (r != 0) {
		tt_rego_err_format(&e, msg, sizeof(msg));
		if (e.col > 0 && e.line > 0)
			fprintf(stderr, "turtle: policy: %s (column %d)\n", msg, e.col);
		else
			fprintf(stderr, "turtle: policy: %s\n", msg);
		goto out;
	}
	char *text = json_dumps(res, JSON_INDENT(2) | JSON_SORT_KEYS);
	if (text == NULL)
		goto out;
	printf("%s\n", text);
	free(text);
	rc = fail_undefined && json_array_size(res) == 0 ? CLI_FAIL : CLI_OK;
out:
	for (size_t i = 0; i < np; i++)
		tt_free_secret(bufs[i], lens[i]);
	json_decref(res);
	json_decref(data);
	json_decref(input);
	tt_rego_free(rego);
	return rc;
}

int cmd_policy(struct cli *cli, int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "eval") != 0)
		return cli_usage(cli, "expected 'eval'");
	return policy_eval(cli, argc - 1, argv + 1);
}
