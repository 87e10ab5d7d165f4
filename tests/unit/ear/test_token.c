/*
 * Token verification through libturtle's public API (tt_token_verify) and through the
 * built `turtle token verify|show` command run on token files.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "ear.h"
#include "turtle/token.h"

#define NOW 1700000000u
#define NONCE "Zm9yLXRoZS1jbGktdGVzdA"

struct fx {
	char tmp[64];
	char keydir[96];
	struct tt_ear_keys *keys;
	char *jwks;
	char *token;
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct tt_ear_submod sm = { .name = "tpm", .status = TT_EAR_STATUS_AFFIRMING,
		.tv = { 2 }, .tv_set = { true }, .policy_id = "default" };
	struct tt_ear_result r = { .nonce = NONCE, .lifetime = 300, .n_submods = 1,
		.submods = &sm };

	snprintf(f->tmp, sizeof(f->tmp), "/tmp/tt-token-XXXXXX");
	assert_non_null(mkdtemp(f->tmp));
	snprintf(f->keydir, sizeof(f->keydir), "%s/keys", f->tmp);
	assert_int_equal(tt_ear_keys_open(f->keydir, NULL, NOW, &f->keys), 0);
	assert_int_equal(tt_ear_keys_jwks_text(f->keys, NOW, &f->jwks), 0);
	assert_int_equal(tt_ear_sign(f->keys, &r, NOW, &f->token), 0);
	*state = f;
	return 0;
}

static void
rm(const char *dir, const char *name)
{
	char p[160];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	unlink(p);
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	tt_ear_keys_free(f->keys);
	rm(f->keydir, "active.jwk");
	rm(f->keydir, "retired.jwks");
	rmdir(f->keydir);
	rm(f->tmp, "token");
	rm(f->tmp, "jwks.json");
	rm(f->tmp, "out");
	rmdir(f->tmp);
	free(f->jwks);
	free(f->token);
	free(f);
	return 0;
}

static void
test_libturtle(void **state)
{
	struct fx *f = *state;
	struct tt_token_verify_opts o = { .now = NOW + 5, .nonce = NONCE,
		.nonce_len = strlen(NONCE) };
	char *claims = NULL, *reason = NULL, *hdr = NULL;

	assert_int_equal(tt_token_verify(f->token, f->jwks, &o, &claims, &reason), 0);
	assert_null(reason);
	assert_non_null(strstr(claims, "\"ear.status\": \"affirming\""));
	tt_free(claims);
	claims = NULL;

	o.now = NOW + 301;
	assert_int_equal(tt_token_verify(f->token, f->jwks, &o, &claims, &reason),
		TT_ERR_NOT_PERMITTED);
	assert_null(claims);
	assert_non_null(strstr(reason, "expired"));
	tt_free(reason);
	reason = NULL;

	o.now = NOW;
	o.nonce = "something-else-entirely";
	o.nonce_len = strlen(o.nonce);
	assert_int_equal(tt_token_verify(f->token, f->jwks, &o, NULL, &reason),
		TT_ERR_NOT_PERMITTED);
	tt_free(reason);

	/* opts NULL: the wall clock, long after this token's 2023 expiry */
	assert_int_equal(tt_token_verify(f->token, f->jwks, NULL, NULL, NULL),
		TT_ERR_NOT_PERMITTED);

	assert_int_equal(tt_token_decode_unverified(f->token, &hdr, &claims), 0);
	assert_non_null(strstr(hdr, "ES256"));
	assert_non_null(strstr(claims, NONCE));
	tt_free(hdr);
	tt_free(claims);
}

static void
put(const char *dir, const char *name, const char *text)
{
	char p[160];
	FILE *fp;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	assert_non_null((fp = fopen(p, "we")));
	fprintf(fp, "%s\n", text);
	assert_int_equal(fclose(fp), 0);
}

/* Run the CLI with args; its stdout goes to <tmp>/out, returned in *out. */
static int
run_cli(struct fx *f, char **out, const char *const *args)
{
	const char *bin = getenv("TURTLE_CLI");
	char *argv[16], p[160];
	size_t n = 0, len;
	pid_t pid;
	int st, fd;
	FILE *fp;

	assert_non_null(bin);
	argv[n++] = (char *)bin;
	for (; *args != NULL && n < 15; args++)
		argv[n++] = (char *)*args;
	argv[n] = NULL;
	snprintf(p, sizeof(p), "%s/out", f->tmp);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd < 0 || dup2(fd, 1) < 0)
			_exit(127);
		execv(bin, argv);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_non_null((fp = fopen(p, "re")));
	*out = calloc(1, 65536);
	len = fread(*out, 1, 65535, fp);
	(*out)[len] = '\0';
	fclose(fp);
	return WEXITSTATUS(st);
}

static void
test_cli(void **state)
{
	struct fx *f = *state;
	char tok[160], jwks[160], *out = NULL, bad[4096];

	put(f->tmp, "token", f->token);
	put(f->tmp, "jwks.json", f->jwks);
	snprintf(tok, sizeof(tok), "%s/token", f->tmp);
	snprintf(jwks, sizeof(jwks), "%s/jwks.json", f->tmp);

	{
		const char *a[] = { "token", "verify", "--jwks", jwks, "--now", "1700000010",
			"--nonce", NONCE, "--in", tok, NULL };
		assert_int_equal(run_cli(f, &out, a), 0);
		assert_non_null(strstr(out, "token: valid"));
		assert_non_null(strstr(out, "\"affirming\""));
		free(out);
	}
	{
		const char *a[] = { "--json", "token", "verify", "--jwks", jwks, "--now",
			"1700000010", "--in", tok, NULL };
		assert_int_equal(run_cli(f, &out, a), 0);
		assert_non_null(strstr(out, "{\"valid\":true,\"claims\":"));
		free(out);
	}
	{
		const char *a[] = { "token", "verify", "--jwks", jwks, "--now", "1700009999",
			"--in", tok, NULL };
		assert_int_equal(run_cli(f, &out, a), 1);
		free(out);
	}
	{
		const char *a[] = { "--json", "token", "verify", "--jwks", jwks, "--now",
			"1700000010", "--nonce-hex", "00112233445566778899", "--in", tok, NULL };
		assert_int_equal(run_cli(f, &out, a), 1);
		assert_non_null(strstr(out, "\"valid\":false"));
		assert_non_null(strstr(out, "eat_nonce"));
		free(out);
	}
	{
		/* the same nonce as hex: its base64url form is what eat_nonce holds */
		const char *a[] = { "token", "verify", "--jwks", jwks, "--now", "1700000010",
			"--nonce-hex", "666F722D7468652D636C692D74657374", "--in", tok, NULL };
		assert_int_equal(run_cli(f, &out, a), 0);
		assert_non_null(strstr(out, "token: valid"));
		free(out);
	}
	{
		const char *a[] = { "token", "verify", "--jwks", jwks, "--nonce-hex", "0g",
			"--in", tok, NULL };
		assert_int_equal(run_cli(f, &out, a), 2);
		free(out);
	}
	{
		/* token given as an argument, with its signature damaged */
		snprintf(bad, sizeof(bad), "%s", f->token);
		bad[strlen(bad) - 3] = bad[strlen(bad) - 3] == 'A' ? 'B' : 'A';
		const char *a[] = { "token", "verify", "--jwks", jwks, "--now", "1700000010",
			bad, NULL };
		assert_int_equal(run_cli(f, &out, a), 1);
		free(out);
	}
	{
		const char *a[] = { "token", "show", "--in", tok, NULL };
		assert_int_equal(run_cli(f, &out, a), 0);
		assert_non_null(strstr(out, "UNVERIFIED"));
		assert_non_null(strstr(out, NONCE));
		free(out);
	}
	{
		const char *a[] = { "token", "verify", "--in", tok, NULL };   /* no --jwks */
		assert_int_equal(run_cli(f, &out, a), 2);
		free(out);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_libturtle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cli, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
