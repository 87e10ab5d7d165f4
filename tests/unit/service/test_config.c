#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "service/config.h"
#include "turtle/error.h"
#include "wire/header.h"

static char tmp_path[64];

/* Write `text` to a fresh temporary file; returns its path (static storage). */
static const char *
write_tmp(const char *text)
{
	int fd;
	size_t n = strlen(text);

	snprintf(tmp_path, sizeof(tmp_path), "/tmp/tt_cfg_XXXXXX");
	fd = mkstemp(tmp_path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, n), (ssize_t)n);
	close(fd);
	return tmp_path;
}

/* Load text over the defaults; returns the result and leaves errbuf filled. */
static int
load_text(const char *text, struct tt_config *c, char *errbuf, size_t errlen)
{
	const char *p = write_tmp(text);
	int r;

	tt_config_defaults(c);
	r = tt_config_load(p, c, errbuf, errlen);
	unlink(p);
	return r;
}

static void
test_defaults(void **state)
{
	struct tt_config c;

	(void)state;
	tt_config_defaults(&c);
	assert_string_equal(c.socket_path, "/run/turtle/turtled.sock");
	assert_string_equal(c.data_dir, "/var/lib/turtle");
	assert_null(c.kim_path);
	assert_int_equal(c.socket_mode, 0666);
	assert_int_equal(c.threads, 4);
	assert_int_equal(c.log_level, TT_LOG_INFO);
	assert_int_equal(c.max_connections, 1024);
	assert_int_equal(c.max_body, 1024 * 1024);
	assert_int_equal(c.max_auth, 8 * 1024);
	assert_int_equal(c.max_response, 1024 * 1024);
	assert_int_equal(c.read_timeout_ms, 5000);
	assert_int_equal(c.idle_timeout_ms, 60000);
	assert_true(c.auth_direct);
	assert_true(c.auth_unix_peer);
	assert_int_equal(c.n_admins, 0);
	assert_int_equal(c.n_providers, 0);
	assert_int_equal(tt_config_finish(&c), 0);
	assert_string_equal(c.kim_path, "/var/lib/turtle/keys.sqlite3");
	assert_int_equal(c.max_buffered, 64u << 20);
	assert_int_equal(c.max_buffered_per_uid, 16u << 20);
	assert_int_equal(c.max_connections_per_uid, 256);
	assert_int_equal(c.n_providers, 1);
	assert_string_equal(c.providers[0].type, "soft");
	assert_int_equal(c.providers[0].n, 0);
	tt_config_free(&c);
	tt_config_free(NULL);
}

static const char full_file[] =
	"# a full configuration\n"
	"[service]\n"
	"socket = /tmp/t/turtled.sock\n"
	"data_dir = /tmp/t/data\n"
	"socket_mode = 0660\n"
	"threads = 2\n"
	"log_level = debug\n"
	"\n"
	"[limits]\n"
	"max_connections = 10\n"
	"max_body = 64K\n"
	"max_auth = 512\n"
	"max_response = 2M\n"
	"read_timeout_ms = 100\n"
	"idle_timeout_ms = 2000\n"
	"\n"
	"[authenticator]\n"
	"direct = false\n"
	"unix_peer = yes\n"
	"admins = alice, direct:bob ,unix:1000\n"
	"\n"
	"[provider.soft]\n"
	"wrap_key = /tmp/t/data/master.key\n"
	"b = 2\n"
	"a = 1\n"
	"[provider.pkcs11]\n"
	"; empty section is kept\n";

static void
test_full_file(void **state)
{
	struct tt_config c;
	char err[256];

	(void)state;
	assert_int_equal(load_text(full_file, &c, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_string_equal(c.socket_path, "/tmp/t/turtled.sock");
	assert_string_equal(c.data_dir, "/tmp/t/data");
	assert_int_equal(c.socket_mode, 0660);
	assert_int_equal(c.threads, 2);
	assert_int_equal(c.log_level, TT_LOG_DEBUG);
	assert_int_equal(c.max_connections, 10);
	assert_int_equal(c.max_body, 64 * 1024);
	assert_int_equal(c.max_auth, 512);
	assert_int_equal(c.max_response, 2 * 1024 * 1024);
	assert_int_equal(c.read_timeout_ms, 100);
	assert_int_equal(c.idle_timeout_ms, 2000);
	assert_false(c.auth_direct);
	assert_true(c.auth_unix_peer);

	assert_int_equal(c.n_admins, 3);
	assert_int_equal(c.admins[0].auth_type, 0);
	assert_string_equal(c.admins[0].name, "alice");
	assert_int_equal(c.admins[1].auth_type, TT_AUTH_DIRECT);
	assert_string_equal(c.admins[1].name, "bob");
	assert_int_equal(c.admins[2].auth_type, TT_AUTH_UNIX_PEER);
	assert_string_equal(c.admins[2].name, "1000");
	assert_true(tt_config_is_admin(&c, TT_AUTH_DIRECT, "alice"));
	assert_true(tt_config_is_admin(&c, TT_AUTH_UNIX_PEER, "alice"));
	assert_true(tt_config_is_admin(&c, TT_AUTH_DIRECT, "bob"));
	assert_false(tt_config_is_admin(&c, TT_AUTH_UNIX_PEER, "bob"));
	assert_true(tt_config_is_admin(&c, TT_AUTH_UNIX_PEER, "1000"));
	assert_false(tt_config_is_admin(&c, TT_AUTH_DIRECT, "1000"));
	assert_false(tt_config_is_admin(&c, TT_AUTH_DIRECT, "mallory"));
	assert_false(tt_config_is_admin(&c, TT_AUTH_DIRECT, NULL));

	/* Provider sections in file order, keys in order. */
	assert_int_equal(c.n_providers, 2);
	assert_string_equal(c.providers[0].type, "soft");
	assert_int_equal(c.providers[0].n, 3);
	assert_string_equal(c.providers[0].keys[0], "wrap_key");
	assert_string_equal(c.providers[0].values[0], "/tmp/t/data/master.key");
	assert_string_equal(c.providers[0].keys[1], "b");
	assert_string_equal(c.providers[0].values[1], "2");
	assert_string_equal(c.providers[0].keys[2], "a");
	assert_string_equal(c.providers[0].values[2], "1");
	assert_string_equal(c.providers[1].type, "pkcs11");
	assert_int_equal(c.providers[1].n, 0);

	assert_int_equal(tt_config_finish(&c), 0);
	assert_string_equal(c.kim_path, "/tmp/t/data/keys.sqlite3");
	assert_int_equal(c.n_providers, 2);
	tt_config_free(&c);
}

static void
test_kim_path_and_empty_admins(void **state)
{
	struct tt_config c;
	char err[256];

	(void)state;
	assert_int_equal(load_text("[service]\nkim_path = /x/k.db\n[authenticator]\nadmins =\n",
	    &c, err, sizeof(err)), 0);
	assert_int_equal(tt_config_finish(&c), 0);
	assert_string_equal(c.kim_path, "/x/k.db");
	assert_int_equal(c.n_admins, 0);
	tt_config_free(&c);
}

/* Each bad file must fail with TT_ERR_CONFIG and a message naming the right line. */
struct bad_case {
	const char *text;
	unsigned line;
	const char *needle;   /* substring of the message */
};

static const struct bad_case bad_cases[] = {
	{ "[service]\nbogus = 1\n", 2, "unknown key 'bogus'" },
	{ "[service]\n\n[nope]\n", 3, "unknown section [nope]" },
	{ "[limits]\nmax_body = 1M\n[weird]\n", 3, "unknown section" },
	{ "key = 1\n", 1, "outside of any section" },
	{ "[service]\nthreads = 0\n", 2, "threads" },
	{ "[service]\nthreads = 257\n", 2, "threads" },
	{ "[service]\nthreads = -1\n", 2, "threads" },
	{ "[service]\nthreads = 4x\n", 2, "threads" },
	{ "[service]\nthreads = 99999999999999999999999\n", 2, "threads" },
	{ "[service]\nsocket_mode = 0888\n", 2, "socket_mode" },
	{ "[service]\nsocket_mode = 1777\n", 2, "socket_mode" },
	{ "[service]\nlog_level = loud\n", 2, "log_level" },
	{ "[service]\nsocket = relative.sock\n", 2, "absolute" },
	{ "[service]\nsocket = /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n", 2, "socket" },
	{ "[service]\ndata_dir = data\n", 2, "data_dir" },
	{ "[service]\nthreads = 2\nthreads = 3\n", 3, "twice" },
	{ "[limits]\n\nmax_body = 257M\n", 3, "max_body" },
	{ "[limits]\nmax_body = 100\n", 2, "max_body" },
	{ "[limits]\nmax_auth = 65536\n", 2, "max_auth" },
	{ "[limits]\nmax_auth = 8\n", 2, "max_auth" },
	{ "[limits]\nmax_response = 1T\n", 2, "max_response" },
	{ "[limits]\nmax_connections = 0\n", 2, "max_connections" },
	{ "[limits]\nmax_connections = 1000001\n", 2, "max_connections" },
	{ "[limits]\nread_timeout_ms = 5\n", 2, "read_timeout_ms" },
	{ "[limits]\nidle_timeout_ms = 86400001\n", 2, "idle_timeout_ms" },
	{ "[limits]\nmax_buffered = 3G\n", 2, "max_buffered" },
	{ "[limits]\nmax_buffered_per_uid = 512K\n", 2, "max_buffered_per_uid" },
	{ "[limits]\nmax_connections_per_uid = 0\n", 2, "max_connections_per_uid" },
	{ "[limits]\nmax_connections_per_uid = 010\n", 2, "max_connections_per_uid" },
	{ "[limits]\nmax_buffered = 8M\nmax_buffered_per_uid = 16M\n", 3, "above max_buffered" },
	{ "[limits]\nmax_body = 4M\nmax_buffered_per_uid = 2M\n", 3, "largest request" },
	{ "[limits]\nmax_buffered = 2M\nmax_response = 2M\n", 3, "largest request" },
	{ "[authenticator]\ndirect = maybe\n", 2, "direct" },
	{ "[authenticator]\nunix_peer = 2\n", 2, "unix_peer" },
	{ "[authenticator]\nadmins = unix:alice\n", 2, "numeric uid" },
	{ "[authenticator]\nadmins = a,,b\n", 2, "empty entry" },
	{ "[authenticator]\nadmins = a,\n", 2, "empty entry" },
	{ "[authenticator]\nadmins = direct:\n", 2, "empty entry" },
	{ "[provider.soft]\n[provider.soft]\n", 2, "twice" },
	{ "[provider.Soft]\n", 1, "bad provider name" },
	{ "[provider.]\n", 1, "bad provider name" },
	{ "[provider.soft]\na = 1\na = 2\n", 3, "twice" },
	{ "[service]\nthreads 4\n", 2, "syntax error" },
	{ "[service\n", 1, "without ']'" },
	{ "[service]\n# comment\nsocket_mode = 0600\n"
	  "x = aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
	  4, "too long" },
	/* The first error wins even when a later line is bad too. */
	{ "[service]\nthreads = 0\nbogus = 1\n", 2, "threads" },
	{ "[service]\nthreads 4\nbogus = 1\n", 2, "syntax error" },
};

static void
test_errors_name_line(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		struct tt_config c;
		char err[256], want[32];
		const char *colon;
		int r;

		r = load_text(bad_cases[i].text, &c, err, sizeof(err));
		if (r != TT_ERR_CONFIG || strstr(err, bad_cases[i].needle) == NULL)
			fail_msg("case %zu: r=%d err='%s'", i, r, err);
		/* "PATH:LINE: message" */
		snprintf(want, sizeof(want), ":%u: ", bad_cases[i].line);
		colon = strchr(err, ':');
		if (colon == NULL || strncmp(colon, want, strlen(want)) != 0)
			fail_msg("case %zu: wanted line %u in '%s'", i, bad_cases[i].line, err);
		tt_config_free(&c);
	}
}

static void
test_missing_file(void **state)
{
	struct tt_config c;
	char err[256];

	(void)state;
	tt_config_defaults(&c);
	assert_int_equal(tt_config_load("/nonexistent/turtled.conf", &c, err, sizeof(err)),
	    TT_ERR_IO);
	assert_non_null(strstr(err, "/nonexistent/turtled.conf"));
	tt_config_free(&c);
}

static void
test_admins_replace_and_limits(void **state)
{
	struct tt_config c;
	char err[256];

	(void)state;
	/* Boundaries are accepted. */
	assert_int_equal(load_text("[limits]\nmax_auth = 65535\nmax_body = 256M\n"
	    "read_timeout_ms = 10\nmax_connections = 1\n[service]\nthreads = 256\n"
	    "socket_mode = 600\n", &c, err, sizeof(err)), 0);
	assert_int_equal(c.max_auth, 65535);
	assert_int_equal(c.max_body, 256u * 1024 * 1024);
	assert_int_equal(c.read_timeout_ms, 10);
	assert_int_equal(c.threads, 256);
	assert_int_equal(c.socket_mode, 0600);
	/* The buffer budgets not given grow to hold the largest request. */
	assert_int_equal(tt_config_finish(&c), 0);
	assert_int_equal(c.max_buffered_per_uid, (256u << 20) + 65535);
	assert_int_equal(c.max_buffered, (256u << 20) + 65535);
	tt_config_free(&c);
	/* Given budgets are kept; a per-uid one not given never exceeds the total. */
	assert_int_equal(load_text("[limits]\nmax_buffered = 8M\nmax_connections_per_uid = 3\n",
	    &c, err, sizeof(err)), 0);
	assert_int_equal(tt_config_finish(&c), 0);
	assert_int_equal(c.max_buffered, 8u << 20);
	assert_int_equal(c.max_buffered_per_uid, 8u << 20);
	assert_int_equal(c.max_connections_per_uid, 3);
	tt_config_free(&c);
	assert_int_equal(load_text("[limits]\nmax_buffered_per_uid = 2M\n", &c, err, sizeof(err)), 0);
	assert_int_equal(tt_config_finish(&c), 0);
	assert_int_equal(c.max_buffered, 64u << 20);
	assert_int_equal(c.max_buffered_per_uid, 2u << 20);
	tt_config_free(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_full_file),
		cmocka_unit_test(test_kim_path_and_empty_admins),
		cmocka_unit_test(test_errors_name_line),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_admins_replace_and_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
