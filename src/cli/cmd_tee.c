/*
 * turtle verify --tee T --evidence FILE: offline verification of TEE evidence through
 * libturtle's tt_tee_verify (the verifiers turtle-as uses). Prints the verdict, the claims
 * and, with --explain, the chain of links from the trust anchor down as a tree.
 * Needs no daemon and no network; with --fetch (off unless given) the collateral the
 * evidence names is fetched from AMD KDS / Intel PCS into a cache directory first
 * (src/attest/fetch), and verified from there like any local collateral.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <jansson.h>

#include "attest/fetch/fetch.h"
#include "cli/cli.h"
#include "turtle/error.h"
#include "turtle/tee.h"
#include "util/hex.h"
#include "util/num.h"

#define EVIDENCE_MAX (1024 * 1024)

enum {
	OPT_TEE = 1, OPT_EVIDENCE, OPT_HEX, OPT_COLLATERAL, OPT_ANCHORS, OPT_NOW, OPT_NONCE_HEX,
	OPT_INIT_HEX, OPT_EXPLAIN, OPT_ANY_VMPL, OPT_REQUIRE_CRL, OPT_ANY_TCB, OPT_FETCH,
	OPT_KDS_URL, OPT_PCS_URL, OPT_ROOT_CRL_URL, OPT_CACHE_DIR, OPT_FETCH_TIMEOUT,
	OPT_FETCH_MAX,
};

/* --now: unix seconds or an RFC 3339 UTC time (2025-06-01T00:00:00Z). */
static int
parse_now(const char *s, int64_t *out)
{
	struct tm tm;
	uint64_t v;
	const char *e;
	time_t t;

	if (tt_parse_u64(s, 1, INT64_MAX, &v) == 0) {
		*out = (int64_t)v;
		return 0;
	}
	memset(&tm, 0, sizeof(tm));
	e = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (e == NULL || *e != '\0' || (t = timegm(&tm)) == (time_t)-1)
		return -1;
	*out = (int64_t)t;
	return 0;
}

static int
hex_arg(const char *s, uint8_t *out, size_t cap, size_t *n)
{
	return tt_hex_decode(s, strlen(s), out, cap, n) == 0 && *n > 0 ? 0 : -1;
}

/* The chain as a tree: each link one level below the one it was checked under. */
static void
print_chain(const json_t *chain)
{
	const json_t *l;
	size_t i;

	json_array_foreach(chain, i, l) {
		const char *detail = json_string_value(json_object_get(l, "detail"));

		printf("%*s%s%s %s: %s%s%s\n", (int)(2 * i), "", i ? "└─ " : "",
		    json_string_value(json_object_get(l, "link")),
		    json_string_value(json_object_get(l, "name")),
		    json_string_value(json_object_get(l, "verdict")),
		    detail != NULL ? " — " : "", detail != NULL ? detail : "");
	}
}

/*
 * --fetch: the collateral the evidence names, fetched into the cache directory when it is
 * missing or expired there; that directory becomes the verifier's collateral directory.
 * The cache is --cache-dir, else a --collateral directory, else
 * $XDG_CACHE_HOME/turtle/collateral (~/.cache/turtle/collateral).
 */
static int
fetch(struct cli *cli, struct tt_fetch_cfg *fc, const char *tee, const uint8_t *ev,
    size_t evlen, struct tt_tee_verify_opts *vo, char **cache, char **dir)
{
	const char *x = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	unsigned flags = 0;
	char err[512];
	int r;

	if (fc->cache_dir == NULL && vo->collateral_dir != NULL)
		fc->cache_dir = vo->collateral_dir;
	if (fc->cache_dir == NULL) {
		if ((x == NULL || x[0] != '/') && (home == NULL || home[0] != '/'))
			return cli_usage(cli, "--fetch needs --cache-dir (no XDG_CACHE_HOME or HOME)");
		if (asprintf(cache, "%s%s/turtle/collateral", x != NULL && x[0] == '/' ? x : home,
		    x != NULL && x[0] == '/' ? "" : "/.cache") < 0)
			return cli_fail(cli, TT_ERR_NO_MEMORY, "verify");
		fc->cache_dir = *cache;
	}
	if (vo->collateral != NULL) {
		/* Collateral bytes given: DCAP reads nothing else; SNP still lacks its CRL. */
		if (strcmp(tee, "snp") != 0)
			return 0;
		flags |= TT_FETCH_F_HAVE_CERT;
	}
	r = tt_fetch_collateral(fc, tee, ev, evlen, vo->now != 0 ? vo->now : (int64_t)time(NULL),
	    flags, dir, err, sizeof(err));
	if (r == TT_ERR_NOT_SUPPORTED) {
		fprintf(stderr, "turtle: verify: nothing fetched: %s\n", err);
		return 0;
	}
	if (r != 0) {
		fprintf(stderr, "turtle: verify: fetch: %s\n", err);
		return CLI_FAIL;
	}
	vo->collateral_dir = *dir;
	return 0;
}

int
cmd_verify_tee(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "tee", required_argument, NULL, OPT_TEE },
		{ "evidence", required_argument, NULL, OPT_EVIDENCE },
		{ "hex", no_argument, NULL, OPT_HEX },
		{ "collateral", required_argument, NULL, OPT_COLLATERAL },
		{ "anchors", required_argument, NULL, OPT_ANCHORS },
		{ "now", required_argument, NULL, OPT_NOW },
		{ "nonce-hex", required_argument, NULL, OPT_NONCE_HEX },
		{ "init-data-hex", required_argument, NULL, OPT_INIT_HEX },
		{ "explain", no_argument, NULL, OPT_EXPLAIN },
		{ "any-vmpl", no_argument, NULL, OPT_ANY_VMPL },
		{ "require-crl", no_argument, NULL, OPT_REQUIRE_CRL },
		{ "any-tcb-status", no_argument, NULL, OPT_ANY_TCB },
		{ "fetch", no_argument, NULL, OPT_FETCH },
		{ "kds-url", required_argument, NULL, OPT_KDS_URL },
		{ "pcs-url", required_argument, NULL, OPT_PCS_URL },
		{ "root-crl-url", required_argument, NULL, OPT_ROOT_CRL_URL },
		{ "cache-dir", required_argument, NULL, OPT_CACHE_DIR },
		{ "fetch-timeout", required_argument, NULL, OPT_FETCH_TIMEOUT },
		{ "fetch-max-size", required_argument, NULL, OPT_FETCH_MAX },
		CLI_GLOBAL_OPTIONS, { NULL, 0, NULL, 0 } };
	struct tt_tee_verify_opts vo = { 0 };
	struct tt_fetch_cfg fc = { 0 };
	const char *tee = NULL, *evf = NULL, *coll = NULL;
	char *fetched = NULL, *cache = NULL;
	uint32_t u32;
	uint64_t u64;
	uint8_t *ev = NULL, *cd = NULL, nonce[64], init[64];
	size_t evlen = 0, cdlen = 0, n;
	bool hex = false, explain = false;
	char *result = NULL;
	json_t *res = NULL;
	struct stat st;
	int c, r;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case OPT_TEE: tee = optarg; break;
		case OPT_EVIDENCE: evf = optarg; break;
		case OPT_HEX: hex = true; break;
		case OPT_COLLATERAL: coll = optarg; break;
		case OPT_ANCHORS: vo.anchors_dir = optarg; break;
		case OPT_EXPLAIN: explain = true; break;
		case OPT_ANY_VMPL: vo.flags |= TT_TEE_ANY_VMPL; break;
		case OPT_REQUIRE_CRL: vo.flags |= TT_TEE_REQUIRE_CRL; break;
		case OPT_ANY_TCB: vo.flags |= TT_TEE_ANY_TCB_STATUS; break;
		case OPT_FETCH: fc.enabled = true; break;
		case OPT_KDS_URL: fc.kds_url = optarg; break;
		case OPT_PCS_URL: fc.pcs_url = optarg; break;
		case OPT_ROOT_CRL_URL: fc.root_crl_url = optarg; break;
		case OPT_CACHE_DIR: fc.cache_dir = optarg; break;
		case OPT_FETCH_TIMEOUT:
			if (tt_parse_u32(optarg, 1, TT_FETCH_TIMEOUT_MAX, &u32) != 0)
				return cli_usage(cli, "--fetch-timeout: 1..%u seconds",
				    TT_FETCH_TIMEOUT_MAX);
			fc.timeout = u32;
			break;
		case OPT_FETCH_MAX:
			if (tt_parse_size(optarg, TT_FETCH_MAX_SIZE_MAX, &u64) != 0 || u64 < 1024)
				return cli_usage(cli, "--fetch-max-size: 1024..%u bytes",
				    TT_FETCH_MAX_SIZE_MAX);
			fc.max_size = (size_t)u64;
			break;
		case OPT_NOW:
			if (parse_now(optarg, &vo.now) != 0)
				return cli_usage(cli, "--now: unix seconds or YYYY-MM-DDTHH:MM:SSZ, "
				    "not '%s'", optarg);
			break;
		case OPT_NONCE_HEX:
			if (hex_arg(optarg, nonce, sizeof(nonce), &n) != 0)
				return cli_usage(cli, "--nonce-hex: 1..64 bytes of hex");
			vo.binding = nonce;
			vo.binding_len = n;
			break;
		case OPT_INIT_HEX:
			if (hex_arg(optarg, init, sizeof(init), &n) != 0)
				return cli_usage(cli, "--init-data-hex: 1..64 bytes of hex");
			vo.init_data = init;
			vo.init_data_len = n;
			break;
		default:
			if ((r = cli_common_opt(cli, c, optarg)) >= 0)
				return r;
		}
	}
	if (tee == NULL || evf == NULL || optind < argc)
		return cli_usage(cli, "verify --tee T --evidence FILE takes no other arguments");
	if ((r = cli_read_file(evf, EVIDENCE_MAX * (hex ? 2 : 1) + 2, &ev, &evlen)) != 0)
		return cli_fail(cli, r, evf);
	if (hex) {
		uint8_t *bin = malloc(evlen / 2 + 1);

		while (evlen > 0 && (ev[evlen - 1] == '\n' || ev[evlen - 1] == '\r'))
			evlen--;
		if (bin == NULL || tt_hex_decode((const char *)ev, evlen, bin, evlen / 2, &n) != 0) {
			free(bin);
			r = cli_usage(cli, "--hex: %s is not hex text", evf);
			goto out;
		}
		tt_free_secret(ev, evlen);
		ev = bin;
		evlen = n;
	}
	if (coll != NULL) {
		if (stat(coll, &st) == 0 && S_ISDIR(st.st_mode)) {
			vo.collateral_dir = coll;
		} else if ((r = cli_read_file(coll, 4 * EVIDENCE_MAX, &cd, &cdlen)) != 0) {
			r = cli_fail(cli, r, coll);
			goto out;
		} else {
			vo.collateral = cd;
			vo.collateral_len = cdlen;
		}
	}
	if (fc.enabled && (r = fetch(cli, &fc, tee, ev, evlen, &vo, &cache, &fetched)) != 0)
		goto out;
	r = tt_tee_verify(tee, ev, evlen, &vo, &result);
	if (result == NULL) {
		r = cli_fail(cli, r, r == TT_ERR_NOT_SUPPORTED ? "unknown --tee" : "verify");
		if (r == CLI_FAIL && tt_tee_list()[0] != '\0')
			fprintf(stderr, "turtle: verify: known: %s\n", tt_tee_list());
		goto out;
	}
	if (cli->json) {
		printf("%s\n", result);
	} else if ((res = json_loads(result, 0, NULL)) != NULL) {
		const json_t *reasons = json_object_get(res, "reasons");
		char *claims = NULL;

		printf("%s (%s): %s\n", tee, json_string_value(json_object_get(res, "name")),
		    r == 0 ? "VERIFIED" : "NOT VERIFIED");
		if (explain)
			print_chain(json_object_get(res, "chain"));
		for (size_t i = 0; i < json_array_size(reasons); i++)
			printf("reason: %s\n", json_string_value(json_array_get(reasons, i)));
		if (r == 0 && (claims = json_dumps(json_object_get(res, "claims"),
		    JSON_INDENT(2) | JSON_PRESERVE_ORDER)) != NULL)
			printf("%s\n", claims);
		free(claims);
	}
	/* A fetched item that failed its verification is removed, so that the next
	 * --fetch asks again instead of trusting its own (unverified) dates. */
	if (r != 0 && fetched != NULL && res == NULL)
		res = json_loads(result, 0, NULL);
	if (r != 0 && fetched != NULL &&
	    tt_fetch_collateral_failed(json_object_get(res, "chain"),
	    vo.collateral != NULL ? TT_FETCH_F_HAVE_CERT : 0) &&
	    tt_fetch_forget(&fc, tee, ev, evlen, fetched) == 0)
		fprintf(stderr, "turtle: verify: removed the fetched collateral under %s; "
		    "--fetch asks again next time\n", fetched);
	r = r == 0 ? CLI_OK : CLI_FAIL;
out:
	free(fetched);
	free(cache);
	json_decref(res);
	tt_free(result);
	tt_free_secret(ev, evlen);
	tt_free_secret(cd, cdlen);
	return r;
}
