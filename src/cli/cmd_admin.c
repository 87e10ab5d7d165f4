/* Service and administration commands: ping, list-*, delete-client. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

int
cmd_ping(struct cli *cli, int argc, char **argv)
{
	uint8_t maj = 0, min = 0;
	char **pos;
	int r;

	if ((r = cli_parse_plain(cli, argc, argv, 0, &pos)) >= 0)
		return r;
	if ((r = cli_connect(cli)) != 0)
		return r;
	if ((r = tt_ping(cli->client, &maj, &min)) != 0)
		return cli_fail(cli, r, "ping");
	if (cli->json)
		printf("{\"wire_protocol_version\":{\"major\":%u,\"minor\":%u}}\n", maj, min);
	else
		printf("turtled at %s: wire protocol %u.%u\n", tt_client_socket(cli->client), maj, min);
	return CLI_OK;
}

int
cmd_list_providers(struct cli *cli, int argc, char **argv)
{
	struct tt_provider_info *v = NULL;
	size_t n = 0, i;
	char **pos;
	int r;

	if ((r = cli_parse_plain(cli, argc, argv, 0, &pos)) >= 0)
		return r;
	if ((r = cli_connect(cli)) != 0)
		return r;
	if ((r = tt_list_providers(cli->client, &v, &n)) != 0)
		return cli_fail(cli, r, "list providers");
	if (cli->json)
		printf("[");
	for (i = 0; i < n; i++) {
		if (cli->json) {
			printf("%s{\"id\":%u,\"name\":", i > 0 ? "," : "", v[i].id);
			cli_json_str(stdout, cli_provider_name(v[i].id));
			printf(",\"uuid\":");
			cli_json_str(stdout, v[i].uuid);
			printf(",\"description\":");
			cli_json_str(stdout, v[i].description);
			printf(",\"vendor\":");
			cli_json_str(stdout, v[i].vendor);
			printf(",\"version\":\"%u.%u.%u\"}", v[i].version_maj, v[i].version_min,
			       v[i].version_rev);
		} else {
			printf("%u %-7s %s (%s, version %u.%u.%u) uuid %s\n", v[i].id,
			       cli_provider_name(v[i].id), v[i].description, v[i].vendor,
			       v[i].version_maj, v[i].version_min, v[i].version_rev, v[i].uuid);
		}
	}
	if (cli->json)
		printf("]\n");
	tt_provider_info_free(v, n);
	return CLI_OK;
}

int
cmd_list_opcodes(struct cli *cli, int argc, char **argv)
{
	uint32_t *v = NULL;
	size_t n = 0, i;
	uint8_t prov;
	char **pos;
	int r;

	if ((r = cli_parse_plain(cli, argc, argv, 0, &pos)) >= 0)
		return r;
	if ((r = cli_connect(cli)) != 0)
		return r;
	/* --provider core lists the core provider's opcodes; otherwise the selected one. */
	if (cli->provider_set)
		prov = cli->provider;
	else if ((r = tt_client_provider(cli->client, &prov)) != 0)
		return cli_fail(cli, r, "select provider");
	if ((r = tt_list_opcodes(cli->client, prov, &v, &n)) != 0)
		return cli_fail(cli, r, "list opcodes");
	if (cli->json)
		printf("{\"provider\":%u,\"opcodes\":[", prov);
	for (i = 0; i < n; i++) {
		if (cli->json)
			printf("%s%u", i > 0 ? "," : "", v[i]);
		else
			printf("0x%04x\n", v[i]);
	}
	if (cli->json)
		printf("]}\n");
	tt_free(v);
	return CLI_OK;
}

int
cmd_list_authenticators(struct cli *cli, int argc, char **argv)
{
	struct tt_authenticator_info *v = NULL;
	size_t n = 0, i;
	char **pos;
	int r;

	if ((r = cli_parse_plain(cli, argc, argv, 0, &pos)) >= 0)
		return r;
	if ((r = cli_connect(cli)) != 0)
		return r;
	if ((r = tt_list_authenticators(cli->client, &v, &n)) != 0)
		return cli_fail(cli, r, "list authenticators");
	if (cli->json)
		printf("[");
	for (i = 0; i < n; i++) {
		if (cli->json) {
			printf("%s{\"id\":%u,\"description\":", i > 0 ? "," : "", v[i].id);
			cli_json_str(stdout, v[i].description);
			printf(",\"version\":\"%u.%u.%u\"}", v[i].version_maj, v[i].version_min,
			       v[i].version_rev);
		} else {
			printf("%u %s (version %u.%u.%u)\n", v[i].id, v[i].description,
			       v[i].version_maj, v[i].version_min, v[i].version_rev);
		}
	}
	if (cli->json)
		printf("]\n");
	tt_authenticator_info_free(v, n);
	return CLI_OK;
}

int
cmd_list_keys(struct cli *cli, int argc, char **argv)
{
	struct tt_key_info *v = NULL;
	size_t n = 0, i;
	bool first = true;
	char **pos;
	int r;

	if ((r = cli_parse_plain(cli, argc, argv, 0, &pos)) >= 0)
		return r;
	if ((r = cli_connect(cli)) != 0)
		return r;
	if ((r = tt_list_keys(cli->client, &v, &n)) != 0)
		return cli_fail(cli, r, "list keys");
	if (cli->json)
		printf("[");
	for (i = 0; i < n; i++) {
		/* With --provider, show only that provider's keys. */
		if (cli->provider_set && v[i].provider != cli->provider)
			continue;
		if (cli->json) {
			printf("%s{\"name\":", first ? "" : ",");
			first = false;
			cli_json_str(stdout, v[i].name);
			printf(",\"provider\":%u,\"type\":", v[i].provider);
			cli_json_str(stdout, cli_key_type_name(v[i].attrs.type));
			printf(",\"bits\":%u,\"algorithm\":\"", v[i].attrs.bits);
			cli_print_alg(stdout, v[i].attrs.alg);
			printf("\",\"usage\":");
			cli_print_usage_flags(stdout, v[i].attrs.usage, true);
			printf("}");
		} else {
			printf("%s provider=%s type=%s bits=%u alg=", v[i].name,
			       cli_provider_name(v[i].provider), cli_key_type_name(v[i].attrs.type),
			       v[i].attrs.bits);
			cli_print_alg(stdout, v[i].attrs.alg);
			printf(" usage=");
			cli_print_usage_flags(stdout, v[i].attrs.usage, false);
			printf("\n");
		}
	}
	if (cli->json)
		printf("]\n");
	tt_key_info_free(v, n);
	return CLI_OK;
}

int
cmd_list_clients(struct cli *cli, int argc, char **argv)
{
	char **v = NULL, **pos;
	size_t n = 0, i;
	int r;

	if ((r = cli_parse_plain(cli, argc, argv, 0, &pos)) >= 0)
		return r;
	if ((r = cli_connect(cli)) != 0)
		return r;
	if ((r = tt_list_clients(cli->client, &v, &n)) != 0)
		return cli_fail(cli, r, "list clients");
	if (cli->json)
		printf("[");
	for (i = 0; i < n; i++) {
		if (cli->json) {
			printf("%s", i > 0 ? "," : "");
			cli_json_str(stdout, v[i]);
		} else {
			printf("%s\n", v[i]);
		}
	}
	if (cli->json)
		printf("]\n");
	tt_string_list_free(v, n);
	return CLI_OK;
}

int
cmd_delete_client(struct cli *cli, int argc, char **argv)
{
	char **pos;
	int r;

	if ((r = cli_parse_plain(cli, argc, argv, 1, &pos)) >= 0)
		return r;
	if ((r = cli_connect(cli)) != 0)
		return r;
	if ((r = tt_delete_client(cli->client, pos[0])) != 0)
		return cli_fail(cli, r, pos[0]);
	if (cli->json) {
		printf("{\"deleted_client\":");
		cli_json_str(stdout, pos[0]);
		printf("}\n");
	} else {
		printf("deleted client %s\n", pos[0]);
	}
	return CLI_OK;
}
