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


# ---- item 4: the wire length of a name is honoured; a NUL inside it is refused ----

def _exportable_aes(pb):
    al = parsec.Algs(pb)
    return parsec.attrs(pb, parsec.simple_type(pb, "aes"), 128,
                        al.policy(aead=al.aead("GCM")), "encrypt", "decrypt", "export")


def test_names_with_nul_refused(daemon_factory, pb):
    d = daemon_factory("[authenticator]\nadmins = root_admin\n")
    c = parsec.Client(d.sock, pb, auth=parsec.auth_direct("alice"))
    a = _exportable_aes(pb)
    assert c.generate_key("k", a) == 0
    st, k = c.export_key("k")
    assert st == 0 and len(k) == 16

    # A second key whose name only starts like "k" must not collide with it ...
    assert c.generate_key("k\0other", a) == ST.PSA_INVALID_ARGUMENT
    # ... nor reach it through any key operation.
    assert c.export_key("k\0zzz") == (ST.PSA_INVALID_ARGUMENT, None)
    assert c.export_public_key("k\0zzz")[0] == ST.PSA_INVALID_ARGUMENT
    assert c.destroy_key("k\0") == ST.PSA_INVALID_ARGUMENT
    al = parsec.Algs(pb)
    assert c.aead_encrypt("k\0x", al.aead("GCM"), b"n" * 12, b"", b"p")[0] == \
        ST.PSA_INVALID_ARGUMENT
    assert [k.name for k in c.list_keys()] == ["k"]
    assert c.export_key("k") == (0, k)

    # DeleteClient names the client by the wire bytes too: "alice\0x" is not "alice".
    admin = parsec.Client(d.sock, pb, auth=parsec.auth_direct("root_admin"))
    st, _ = admin.delete_client("alice\0x")
    assert st == ST.PSA_INVALID_ARGUMENT
    assert c.export_key("k") == (0, k)
    st, _ = admin.delete_client("alice")
    assert st == 0
    assert c.export_key("k")[0] == ST.PSA_DOES_NOT_EXIST

