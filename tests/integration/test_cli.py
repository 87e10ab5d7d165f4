"""The turtle command against a real turtled; its outputs checked with OpenSSL."""

import json
import os
import subprocess

import pytest

import harness
import parsec


@pytest.fixture
def cli(daemon):
    if harness.TURTLE_CLI is None or not os.access(harness.TURTLE_CLI, os.X_OK):
        if os.environ.get("TURTLE_CLI"):
            pytest.fail("TURTLE_CLI=%s is not an executable" % os.environ["TURTLE_CLI"])
        pytest.skip("the turtle CLI is not built (set TURTLE_CLI)")

    def run(*args, env=None, socket=True, check=True, app=None):
        argv = [harness.TURTLE_CLI]
        if socket:
            argv += ["--socket", daemon.sock]
        if app:
            argv += ["--app-name", app]
        e = dict(os.environ)
        e.pop("TURTLE_SOCKET", None)
        e.pop("PARSEC_SERVICE_ENDPOINT", None)
        if env:
            e.update(env)
        p = subprocess.run(argv + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=e, timeout=60)
        if check:
            assert p.returncode == 0, "turtle %s -> %d: %s" % (
                " ".join(args), p.returncode, p.stderr.decode(errors="replace"))
        return p

    run.daemon = daemon
    return run


def test_cli_ping(cli):
    p = cli("ping")
    assert b"1.0" in p.stdout


def test_cli_sign_verified_by_openssl(cli, wd):
    cli("create-ecc-key", "clikey")
    data = wd.file("data.txt", b"signed by turtled via the CLI\n")
    sig = wd.file("data.sig")
    pub = wd.file("pub.pem")
    cli("sign", "clikey", "--in", data, "--out", sig)
    cli("export-public-key", "clikey", "--out", pub)
    p = subprocess.run(["openssl", "dgst", "-sha256", "-verify", pub, "-signature", sig, data],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert p.returncode == 0, p.stdout + p.stderr
    cli("verify", "clikey", "--in", data, "--signature", sig)
    wd.file("data.txt", b"tampered\n")
    assert cli("verify", "clikey", "--in", data, "--signature", sig, check=False).returncode != 0


def test_cli_rsa_sign_verified_by_openssl(cli, wd):
    cli("create-rsa-key", "clirsa")
    data = wd.file("d.txt", b"rsa via the CLI\n")
    sig = wd.file("d.sig")
    pub = wd.file("rpub.pem")
    cli("sign", "clirsa", "--in", data, "--out", sig)
    cli("export-public-key", "clirsa", "--out", pub)
    p = subprocess.run(["openssl", "dgst", "-sha256", "-verify", pub, "-signature", sig, data],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert p.returncode == 0, p.stdout + p.stderr


def test_cli_encrypt_decrypt(cli, wd):
    cli("create-rsa-key", "clienc", "--for-encryption")
    pt = wd.file("pt", b"secret message")
    ct = wd.file("ct")
    out = wd.file("out")
    cli("encrypt", "clienc", "--in", pt, "--out", ct)
    cli("decrypt", "clienc", "--in", ct, "--out", out)
    assert wd.read("out") == b"secret message"


def test_cli_csr_verified_by_openssl(cli, wd):
    cli("create-ecc-key", "csrkey")
    csr = wd.file("req.pem")
    cli("create-csr", "csrkey", "--subject", "/CN=node1/O=Turtle", "--out", csr)
    p = subprocess.run(["openssl", "req", "-in", csr, "-verify", "-noout", "-subject"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert p.returncode == 0, p.stdout
    assert b"node1" in p.stdout
    # the CSR's key is the one in turtled
    pub = wd.file("pub.pem")
    cli("export-public-key", "csrkey", "--out", pub)
    a = subprocess.run(["openssl", "req", "-in", csr, "-pubkey", "-noout"],
                       stdout=subprocess.PIPE, check=True).stdout
    assert a.strip() == open(pub, "rb").read().strip()


def test_cli_json_output(cli):
    cli("create-ecc-key", "jkey")
    for cmd in ("ping", "list-providers", "list-keys", "list-authenticators"):
        p = cli("--json", cmd)
        json.loads(p.stdout)   # parses
    keys = json.loads(cli("--json", "list-keys").stdout)
    assert "jkey" in json.dumps(keys)
    provs = json.loads(cli("--json", "list-providers").stdout)
    assert parsec.UUID_MBED in json.dumps(provs)


def test_cli_socket_from_environment(cli):
    sock = cli.daemon.sock
    p = cli("ping", socket=False, env={"TURTLE_SOCKET": sock})
    assert p.returncode == 0
    p = cli("ping", socket=False, env={"PARSEC_SERVICE_ENDPOINT": "unix:" + sock})
    assert p.returncode == 0
    # a wrong socket fails
    p = cli("ping", socket=False, env={"TURTLE_SOCKET": sock + ".nope"}, check=False)
    assert p.returncode != 0


def test_cli_missing_key_exit_1(cli, wd):
    data = wd.file("x", b"x")
    p = cli("sign", "no-such-key", "--in", data, "--out", wd.file("x.sig"), check=False)
    assert p.returncode == 1
    assert p.stderr
    assert cli("delete-key", "no-such-key", check=False).returncode == 1


def test_cli_keys_are_per_client(cli):
    cli("create-ecc-key", "mine", app="cli-alice")
    listed = cli("--json", "list-keys", app="cli-bob").stdout
    assert b"mine" not in listed
    assert cli("delete-key", "mine", app="cli-bob", check=False).returncode == 1
    cli("delete-key", "mine", app="cli-alice")


def test_cli_generate_random(cli):
    p = cli("generate-random", "--bytes", "16", "--hex")
    assert len(bytes.fromhex(p.stdout.decode().strip())) == 16


def test_cli_help(cli):
    for cmd in ("ping", "sign", "create-csr", "create-ecc-key"):
        p = cli(cmd, "--help", check=False)
        assert p.returncode == 0 and p.stdout
