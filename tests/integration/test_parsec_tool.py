"""A parsec-tool session against turtled: the turtle command answers parsec-tool's spelling
of every command the two share (parallaxsecond/parsec-tool 0.7: `--key-name`/`-k`, data as
a positional string, base64 signatures and ciphertexts, PEM on stdout, `--nbytes`,
`--client`, `list-opcodes --provider`, the global `-p ID`), so a script written for
parsec-tool runs unchanged. Every signature and CSR is checked with OpenSSL, every
ciphertext is opened on the other side (OpenSSL encrypts, turtled decrypts and back).

The session runs through a symlink named `parsec-tool` (as a script would call it, with
PARSEC_SERVICE_ENDPOINT naming the socket), and the keyed commands also through the plain
`turtle` name, where `--key-name` alone selects parsec-tool's behaviour."""

import base64
import os
import re
import subprocess

import pytest

import harness

TEXT = "Tue Dec  1 00:00:00 UTC 2026 Parsec public key encryption"


@pytest.fixture
def pt(daemon_factory, tmp_path):
    if harness.TURTLE_CLI is None or not os.access(harness.TURTLE_CLI, os.X_OK):
        pytest.skip("the turtle CLI is not built (set TURTLE_CLI)")
    # The caller is the admin (list-clients, delete-client), by its Unix uid.
    d = daemon_factory("[authenticator]\nadmins = unix:%d\n" % os.getuid())
    link = tmp_path / "parsec-tool"
    os.symlink(harness.TURTLE_CLI, link)
    env = dict(os.environ, PARSEC_SERVICE_ENDPOINT="unix:" + d.sock)
    env.pop("TURTLE_SOCKET", None)

    def run(*args, prog=str(link), ok=True):
        p = subprocess.run([prog] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=env, timeout=60, cwd=str(tmp_path))
        if ok:
            assert p.returncode == 0, "%s -> %d: %s" % (
                " ".join(args), p.returncode, p.stderr.decode(errors="replace"))
        return p

    run.dir = tmp_path
    run.turtle = harness.TURTLE_CLI
    return run


def openssl(*args, data=None):
    p = subprocess.run(["openssl"] + list(args), input=data, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    assert p.returncode == 0, (args, p.stderr.decode(errors="replace"))
    return p.stdout


def export_pem(pt, key, prog=None):
    out = pt("export-public-key", "--key-name", key, **({"prog": prog} if prog else {}))
    assert out.stdout.startswith(b"-----BEGIN PUBLIC KEY-----\n")
    path = pt.dir / (key + ".pem")
    path.write_bytes(out.stdout)
    return str(path)


def verify_signature(pt, key, b64sig, extra=()):
    pem = export_pem(pt, key)
    sig = pt.dir / (key + ".sig")
    sig.write_bytes(base64.b64decode(b64sig.strip(), validate=True))
    msg = pt.dir / (key + ".txt")
    msg.write_text(TEXT)
    out = openssl("dgst", "-sha256", "-verify", pem, *extra, "-signature", str(sig), str(msg))
    assert out.strip() == b"Verified OK"


def test_discovery_commands(pt):
    assert pt("ping").stdout == b"1.0\n"
    provs = pt("list-providers").stdout.decode()
    assert "ID: 0x01 (soft)" in provs and "UUID: " in provs and "Vendor: " in provs
    auths = pt("list-authenticators").stdout.decode()
    assert re.search(r"^ID: 0x03 \(UnixPeerCredentials\)$", auths, re.M), auths
    ops = pt("-p", "1", "list-opcodes").stdout.decode()
    assert "(PsaGenerateRandom)" in ops and "(PsaSignHash)" in ops
    assert re.search(r"^0x[0-9a-f]{2,} \(Ping\)$", pt("list-opcodes", "--provider", "0")
                     .stdout.decode(), re.M)
    rnd = pt("generate-random", "--nbytes", "10").stdout.decode()
    assert re.fullmatch(r"([0-9A-F]{2} ){10}\n", rnd), rnd
    assert re.fullmatch(r"([0-9A-F]{2} ){4}\n", pt("generate-random", "-n", "4").stdout.decode())
    assert pt("--version").stdout.startswith(b"turtle ")


def test_ecc_sign_verified_by_openssl(pt):
    pt("create-ecc-key", "--key-name", "anta-key-sign")
    assert "* anta-key-sign (soft, ecc-key-pair(secp-r1), 256 bits, permitted algorithm: " \
        "ecdsa(sha256))" in pt("list-keys").stdout.decode()
    sig = pt("sign", TEXT, "--key-name", "anta-key-sign").stdout
    assert sig.endswith(b"\n") and b"\n" not in sig[:-1]
    verify_signature(pt, "anta-key-sign", sig)
    # the same through the plain `turtle` name: --key-name selects parsec-tool's form
    sig = pt("sign", "-k", "anta-key-sign", TEXT, prog=pt.turtle).stdout
    verify_signature(pt, "anta-key-sign", sig)
    pt("delete-key", "--key-name", "anta-key-sign")
    assert b"anta-key-sign" not in pt("list-keys").stdout
    # a key that is gone: exit status 1, nothing on stdout
    p = pt("sign", TEXT, "--key-name", "anta-key-sign", ok=False)
    assert p.returncode == 1 and p.stdout == b""


@pytest.mark.parametrize("flag,extra", [("--for-signing", ()),
                                        ("--for-signing-pss",
                                         ("-sigopt", "rsa_padding_mode:pss"))])
def test_rsa_sign_verified_by_openssl(pt, flag, extra):
    pt("create-rsa-key", "--key-name", "anta-key-rsa", flag)
    sig = pt("sign", TEXT, "--key-name", "anta-key-rsa").stdout
    verify_signature(pt, "anta-key-rsa", sig, extra)
    pt("delete-key", "--key-name", "anta-key-rsa")


@pytest.mark.parametrize("flag,pkeyopt", [(None, ()),
                                          ("--oaep", ("-pkeyopt", "rsa_padding_mode:oaep",
                                                      "-pkeyopt", "rsa_oaep_md:sha256"))])
def test_rsa_encrypt_decrypt(pt, flag, pkeyopt):
    """parsec-tool's RSA key is an encryption key by default (PKCS#1 v1.5), OAEP with
    --oaep: turtled encrypts and decrypts its own text, and decrypts what OpenSSL
    encrypted to the exported public key."""
    args = ["create-rsa-key", "--key-name", "anta-key-rsa-crypt"] + ([flag] if flag else [])
    pt(*args)
    enc = pt("encrypt", "--key-name", "anta-key-rsa-crypt", TEXT).stdout.decode().strip()
    assert len(base64.b64decode(enc, validate=True)) == 256
    dec = pt("decrypt", enc, "--key-name", "anta-key-rsa-crypt").stdout
    assert dec == (TEXT + "\n").encode()
    pem = export_pem(pt, "anta-key-rsa-crypt")
    ct = openssl("pkeyutl", "-encrypt", *pkeyopt, "-pubin", "-inkey", pem, data=TEXT.encode())
    dec = pt("decrypt", base64.b64encode(ct).decode(), "--key-name", "anta-key-rsa-crypt").stdout
    assert dec == (TEXT + "\n").encode()
    # a tampered ciphertext is refused
    bad = bytearray(ct)
    bad[10] ^= 1
    p = pt("decrypt", base64.b64encode(bytes(bad)).decode(), "--key-name",
           "anta-key-rsa-crypt", ok=False)
    assert p.returncode == 1 and TEXT.encode() not in p.stdout
    pt("delete-key", "--key-name", "anta-key-rsa-crypt")


@pytest.mark.parametrize("kind,flag", [("ecc", None), ("rsa", "--for-signing"),
                                       ("rsa", "--for-signing-pss")])
def test_create_csr_verified_by_openssl(pt, kind, flag):
    args = ["create-%s-key" % kind, "--key-name", "anta-key-csr"] + ([flag] if flag else [])
    pt(*args)
    csr = pt("create-csr", "--cn", "parallaxsecond.com", "--san", "localhost",
             "--serialNumber", "EZ4U2CIXL", "--o", "Turtle", "--c", "GB",
             "--key-name", "anta-key-csr").stdout
    assert csr.startswith(b"-----BEGIN CERTIFICATE REQUEST-----\n")
    path = pt.dir / "req.csr"
    path.write_bytes(csr)
    p = subprocess.run(["openssl", "req", "-text", "-noout", "-verify", "-in", str(path)],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    text = p.stdout.decode()
    assert p.returncode == 0 and "verify OK" in text, text
    subject = [ln for ln in text.splitlines() if "Subject:" in ln][0]
    for part in ("CN = parallaxsecond.com", "O = Turtle", "C = GB", "serialNumber = EZ4U2CIXL"):
        assert part in subject, subject
    assert "DNS:localhost" in text
    # the CSR's key is the key turtled holds
    pem = export_pem(pt, "anta-key-csr")
    assert openssl("req", "-in", str(path), "-pubkey", "-noout") == open(pem, "rb").read()
    pt("delete-key", "--key-name", "anta-key-csr")


def test_rsa_key_bits_and_pkcs1_export(pt):
    pt("create-rsa-key", "--key-name", "anta-key-rsa-bits")
    pem = export_pem(pt, "anta-key-rsa-bits")
    assert b"Public-Key: (2048 bit)" in openssl("rsa", "-pubin", "-text", "-noout", "-in", pem)
    pk1 = pt("export-public-key", "--key-name", "anta-key-rsa-bits", "--pkcs1").stdout
    assert pk1.startswith(b"-----BEGIN RSA PUBLIC KEY-----\n")
    p1 = pt.dir / "pk1.pem"
    p1.write_bytes(pk1)
    assert openssl("rsa", "-RSAPublicKey_in", "-in", str(p1), "-pubout") == open(pem, "rb").read()
    pt("delete-key", "--key-name", "anta-key-rsa-bits")
    pt("create-rsa-key", "--key-name", "anta-key-rsa-bits", "--bits", "3072")
    pem = export_pem(pt, "anta-key-rsa-bits")
    assert b"Public-Key: (3072 bit)" in openssl("rsa", "-pubin", "-text", "-noout", "-in", pem)


def test_admin_clients(pt):
    pt("create-ecc-key", "--key-name", "k1")
    clients = pt("list-clients").stdout.decode().split()
    assert len(clients) == 1
    pt("delete-client", "--client", clients[0])
    assert pt("list-clients").stdout == b""
    assert b"k1" not in pt("list-keys").stdout


def test_usage_errors(pt):
    # parsec-tool's form still checks its arguments
    assert pt("sign", "--key-name", "k", ok=False).returncode == 2          # no data
    assert pt("generate-random", "--nbytes", "0", ok=False).returncode == 2
    assert pt("create-ecc-key", ok=False).returncode == 2                   # no key name
