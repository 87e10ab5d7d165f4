"""Regression tests for the crypto/ops findings of issue 9, each against the real daemon:
decimal-only config numbers, NUL bytes in names, key and client quotas, AEAD nonce and
tag lengths, RSA import sizes and degenerate RSA keys."""

import pytest

import parsec

OP, ST = parsec.OP, parsec.ST


# ---- item 9: numbers in the config are decimal, nothing else ----

@pytest.mark.parametrize("section,key,value", [
    ("service", "threads", "010"),
    ("service", "threads", "0x4"),
    ("limits", "max_connections", "0x10"),
    ("limits", "max_connections", "010"),
    ("limits", "max_body", "01M"),
    ("limits", "read_timeout_ms", "0100"),
])
def test_config_numbers_not_decimal_refused(daemon_factory, section, key, value):
    d = daemon_factory("[%s]\n%s = %s\n" % (section, key, value), start=False)
    d.start(wait=False)
    rc = d.wait()
    assert rc != 0, "turtled started with %s = %s" % (key, value)
    log = d.logtext()
    assert key in log and value in log and "decimal" in log, log


def test_config_decimal_and_octal_mode_accepted(daemon_factory, pb):
    d = daemon_factory("[service]\nthreads = 10\nsocket_mode = 0660\n"
                       "[limits]\nmax_connections = 100\n")
    parsec.Client(d.sock, pb).ping()
