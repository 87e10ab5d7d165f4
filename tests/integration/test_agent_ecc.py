"""The node agent role with an ECC P-256 endorsement key (`[provider.tpm] ek_alg = ecc`),
on swtpm, against a real turtle-as.

- TtAgentIdentity gives the P-256 EK of the TCG default template L-2: the same key that
  `tpm2_createek -G ecc` derives independently; the EK certificate comes from the ECC
  P-256 index 0x01c0000a (written by the test: swtpm_setup 0.7 certifies a P-384 EK only),
  not from the RSA index.
- `turtle as node register` makes turtle-as run MakeCredential to the ECC EK (ECDH seed),
  turtled activates it, and `turtle attest --as` gives an affirming token.
- A credential made to another TPM's ECC EK for this node's AK is refused by
  ActivateCredential, and the node stays pending.
- An unknown ek_alg is a start-up error."""

import datetime
import json
import os
import shutil
import subprocess
import tempfile

import pytest

import parsec
from as_harness import as_bin, as_factory, asd, b64url, b64url_dec, problem  # noqa: F401
from backends import TPM_NOT_COMPILED, need_cli_and_tpm2_tools, start_agent_daemon
from backends import Swtpm, swtpm, swtpm_missing  # noqa: F401  (fixture)
from harness import TURTLE_CLI

ST = parsec.ST
OP_AGENT_IDENTITY = 0x00010003
OP_AGENT_ACTIVATE = 0x00010004
ADMIN = "admin_priv"
TPM_ALG_ECC = 0x0023
TPM_ECC_NIST_P256 = 0x0003
EK_CERT_NV_ECC = 0x01C0000A


def _need_tools():
    need_cli_and_tpm2_tools("tpm2_createek")


def _start(daemon_factory, tpm, **extra):
    extra.setdefault("ek_alg", "ecc")
    return start_agent_daemon(daemon_factory, tpm, ADMIN, **extra)


def _client(d, pb, app=ADMIN):
    return parsec.Client(d.sock, pb, auth=parsec.auth_direct(app), provider=parsec.PROVIDER_TPM)


def _cli(d, *args, app=ADMIN):
    argv = [TURTLE_CLI, "--socket", d.sock, "--app-name", app] + list(args)
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)


class Tools:
    """tpm2-tools against one swtpm, in a private directory. turtled holds swtpm's single
    connection while it runs, so the tools are used while turtled is stopped."""

    def __init__(self, tpm):
        self.dir = tempfile.mkdtemp(prefix="agent-ecc-")
        self.env = dict(os.environ, TPM2TOOLS_TCTI=tpm.tcti)

    def run(self, *args, check=True):
        p = subprocess.run(list(args), cwd=self.dir, env=self.env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60)
        if check:
            assert p.returncode == 0, (args, p.stderr.decode(errors="replace"))
        return p

    def path(self, name):
        return os.path.join(self.dir, name)

    def read(self, name, mode="rb"):
        with open(self.path(name), mode) as f:
            return f.read()

    def ecc_ek_pem(self):
        self.run("tpm2_createek", "-G", "ecc", "-c", "ek.ctx", "-u", "ek.pem", "-f", "pem")
        self.run("tpm2_flushcontext", "-t")
        return self.read("ek.pem", "r")

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def _identity(d, pb):
    q = pb.tt_attest_quote
    with _client(d, pb) as c:
        st, ident = c.call(OP_AGENT_IDENTITY, q.IdentityOperation(), q.IdentityResult)
    assert st == 0
    return ident


def _spki_der(pem):
    from cryptography.hazmat.primitives import serialization
    k = serialization.load_pem_public_key(pem.encode())
    return k.public_bytes(serialization.Encoding.DER,
                          serialization.PublicFormat.SubjectPublicKeyInfo)


def _ek_cert_for(ek_der):
    """A DER certificate for the EK public key, signed by a throw-away test CA."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    ca = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "turtle test EK CA")])
    cert = (x509.CertificateBuilder().subject_name(x509.Name([]))
            .issuer_name(name).public_key(serialization.load_der_public_key(ek_der))
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=365))
            .add_extension(x509.SubjectAlternativeName([x509.DirectoryName(x509.Name([
                x509.NameAttribute(NameOID.COMMON_NAME, "tpm")]))]), critical=True)
            .sign(ca, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.DER)


def test_identity_ecc_ek(daemon_factory, swtpm, pb):  # noqa: F811
    """The EK is the L-2 P-256 key tpm2-tools derives; the certificate is read from the
    ECC P-256 index, and is absent when only the RSA (and P-384) indices are defined."""
    _need_tools()
    tools = Tools(swtpm)
    try:
        d = _start(daemon_factory, swtpm)
        ident = _identity(d, pb)
        # TPM2B_PUBLIC: size, type ECC, nameAlg SHA-256, ...; curve in the parameters
        tpmt = ident.ek_public[2:]
        assert int.from_bytes(ident.ek_public[:2], "big") == len(tpmt)
        assert int.from_bytes(tpmt[0:2], "big") == TPM_ALG_ECC
        assert int.from_bytes(tpmt[2:4], "big") == 0x000B
        # swtpm_setup certified the RSA and a P-384 EK, not a P-256 one
        assert ident.ek_cert == b""
        d.stop()

        pem = tools.ecc_ek_pem()
        assert _spki_der(pem) == ident.ek_public_der
        cert = _ek_cert_for(ident.ek_public_der)
        with open(tools.path("ek.crt"), "wb") as f:
            f.write(cert)
        tools.run("tpm2_nvdefine", "0x%08x" % EK_CERT_NV_ECC, "-C", "o", "-s", str(len(cert)),
                  "-a", "ownerread|ownerwrite|authread|authwrite|no_da")
        tools.run("tpm2_nvwrite", "0x%08x" % EK_CERT_NV_ECC, "-C", "o", "-i", "ek.crt")

        d = _start(daemon_factory, swtpm)
        ident2 = _identity(d, pb)
        assert ident2.ek_cert == cert
        assert ident2.ek_public_der == ident.ek_public_der
        assert ident2.ak_name == ident.ak_name
        d.stop()

        # the default stays RSA, with the RSA certificate swtpm_setup made
        d = _start(daemon_factory, swtpm, ek_alg="rsa")
        rsa = _identity(d, pb)
        assert int.from_bytes(rsa.ek_public[2:4], "big") == 0x0001    # TPM_ALG_RSA
        assert rsa.ek_cert != cert
        if swtpm.ek_cert:
            assert len(rsa.ek_cert) > 0
        d.stop()
    finally:
        tools.cleanup()


def test_register_activate_attest_ecc(daemon_factory, swtpm, asd, pb, tmp_path):  # noqa: F811
    _need_tools()
    d = _start(daemon_factory, swtpm)
    url = "http://127.0.0.1:%d" % asd.port
    tok = ["--as", url, "--admin-token-file", asd.token_file]
    p = _cli(d, "as", "node", "register", "--node", "ecc-node", "--group", "ecc", "--json", *tok)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["ak_state"] == "active"
    node = asd.admin("GET", "/v1/nodes/ecc-node").json()
    assert node["ak_state"] == "active"
    assert "BEGIN PUBLIC KEY" in node["ek_public"]
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives import serialization
    k = serialization.load_pem_public_key(node["ek_public"].encode())
    assert isinstance(k, ec.EllipticCurvePublicKey) and k.curve.name == "secp256r1"

    # reference values equal to the current PCRs: read them through a quote
    q = pb.tt_attest_quote
    with _client(d, pb, "alice") as c:
        st, res = c.call(0x00010002, q.Operation(nonce=b"refvals"), q.Result)
    assert st == 0
    vals = {i: v.hex() for i, v in zip(res.pcrs[0].indices, res.pcrs[0].values)}
    rv = tmp_path / "refvals.json"
    rv.write_text(json.dumps({"reference_values": [
        {"name": "pcr.sha256.%d" % i, "value": v, "scope": "group:ecc"} for i, v in vals.items()]}))
    p = _cli(d, "as", "refvals", "import", str(rv), *tok)
    assert p.returncode == 0, p.stderr

    p = _cli(d, "attest", "--as", url, "--node", "ecc-node", "--json", app="alice")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["status"] == "affirming", out
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(asd.jwks()))
    p = subprocess.run([TURTLE_CLI, "token", "verify", "--jwks", str(jwks), "--json",
                        out["token"]], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    assert p.returncode == 0, p.stderr
    claims = json.loads(p.stdout)["claims"]
    assert claims["submods"]["tpm"]["ear.status"] == "affirming"
    assert claims["turtle.node-id"] == "ecc-node"
    d.stop()


def test_wrong_tpm_refused(daemon_factory, swtpm, asd, pb):  # noqa: F811
    """turtle-as registers this node's AK with the ECC EK of another TPM: the credential
    opens only in that TPM, so turtled's ActivateCredential fails and the AK stays
    pending."""
    _need_tools()
    reason = swtpm_missing()
    if reason:
        pytest.skip(reason)
    other = Swtpm(ek_cert=False)
    tools = None
    try:
        other.start()
        tools = Tools(other)
        other_ek = tools.ecc_ek_pem()
        d = _start(daemon_factory, swtpm)
        ident = _identity(d, pb)
        r = asd.admin("POST", "/v1/nodes", {"id": "stolen", "group": "ecc",
                                            "ek_public": other_ek,
                                            "ak_tpm2b": b64url(ident.ak_public)})
        assert r.status == 201, r
        act = r.json()["activation"]
        q = pb.tt_attest_quote
        with _client(d, pb) as c:
            st, _ = c.call(OP_AGENT_ACTIVATE, q.ActivateOperation(
                credential_blob=b64url_dec(act["credential_blob"]),
                encrypted_secret=b64url_dec(act["encrypted_secret"])), q.ActivateResult)
        assert st != 0
        assert asd.admin("GET", "/v1/nodes/stolen").json()["ak_state"] == "pending"

        # the same AK registered with this TPM's own ECC EK activates
        from cryptography.hazmat.primitives import serialization
        own = serialization.load_der_public_key(ident.ek_public_der).public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        r = asd.admin("POST", "/v1/nodes", {"id": "own", "group": "ecc",
                                            "ek_public": own.decode(),
                                            "ak_tpm2b": b64url(ident.ak_public)})
        assert r.status == 201, r
        act = r.json()["activation"]
        with _client(d, pb) as c:
            st, res = c.call(OP_AGENT_ACTIVATE, q.ActivateOperation(
                credential_blob=b64url_dec(act["credential_blob"]),
                encrypted_secret=b64url_dec(act["encrypted_secret"])), q.ActivateResult)
        assert st == 0 and len(res.secret) == 32
        r = asd.request("POST", "/v1/activate", {"node_id": "own", "secret": b64url(res.secret)})
        assert r.status == 200, r
        d.stop()
    finally:
        if tools is not None:
            tools.cleanup()
        other.cleanup()


def test_bad_ek_alg(daemon_factory, swtpm):  # noqa: F811
    conf = swtpm.config_section(ek_alg="dsa")
    d = daemon_factory(conf, start=False)
    with pytest.raises(AssertionError):
        d.start()
    if TPM_NOT_COMPILED in d.logtext():
        pytest.skip("turtled was built without the tpm provider")
    assert "ek_alg" in d.logtext()
