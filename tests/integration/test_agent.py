"""The node agent role of turtled (TtAttestQuote, TtAgentIdentity, TtAgentActivate) and
`turtle attest` / `turtle as ...` against a real turtle-as, on swtpm.

The flow: `turtle as node register` takes the EK and AK from turtled, registers them at
turtle-as, activates the AK with turtled's ActivateCredential; reference values equal to
the current PCRs are imported; `turtle attest --as` gets a token that `turtle token
verify` accepts, with an affirming tpm submodule. After a PCR extend the result is
contraindicated with a reason naming the PCR. A replayed nonce is refused.

The UEFI event log and IMA log are configured to absent paths in the attestation flow:
turtle-as replays any log it gets against the quoted PCRs and refuses one that does not
match, and no log on this machine matches swtpm's PCRs. Log transport is checked on the
wire with a configured test file instead."""

import hashlib
import json
import os
import re
import subprocess

import pytest

import parsec
from as_harness import as_bin, as_factory, asd, b64url, b64url_dec, problem  # noqa: F401
from backends import need_cli_and_tpm2_tools, start_agent_daemon
from backends import swtpm  # noqa: F401  (fixture)
from harness import TURTLE_CLI

ST = parsec.ST
OP_ATTEST_QUOTE = 0x00010002
OP_AGENT_IDENTITY = 0x00010003
OP_AGENT_ACTIVATE = 0x00010004
SHA256 = 0x000B
EVLOG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "unit", "evidence",
                     "data", "binary_bios_measurements")
ADMIN = "admin_priv"


def _need_tools():
    need_cli_and_tpm2_tools("tpm2_pcrread")


def _start(daemon_factory, tpm, **extra):
    return start_agent_daemon(daemon_factory, tpm, ADMIN, **extra)


def _client(d, pb, app="alice"):
    return parsec.Client(d.sock, pb, auth=parsec.auth_direct(app), provider=parsec.PROVIDER_TPM)


def _pcrread(tpm, sel):
    env = dict(os.environ, TPM2TOOLS_TCTI=tpm.tcti)
    out = subprocess.run(["tpm2_pcrread", sel], env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, timeout=60, check=True).stdout.decode()
    return {int(m.group(1)): m.group(2).lower()
            for m in re.finditer(r"^\s*(\d+)\s*:\s*0x([0-9A-Fa-f]+)", out, re.M)}


def _extend(tpm, pcr, data):
    env = dict(os.environ, TPM2TOOLS_TCTI=tpm.tcti)
    subprocess.run(["tpm2_pcrextend", "%d:sha256=%s" % (pcr, hashlib.sha256(data).hexdigest())],
                   env=env, check=True, timeout=60, stdout=subprocess.PIPE,
                   stderr=subprocess.PIPE)


def _cli(d, *args, app=ADMIN):
    argv = [TURTLE_CLI, "--socket", d.sock, "--app-name", app] + list(args)
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)


def _quote(c, pb, nonce, banks=()):
    q = pb.tt_attest_quote
    op = q.Operation(nonce=nonce, pcrs=[q.PcrBank(hash_alg=a, indices=list(ix)) for a, ix in banks])
    return c.call(OP_ATTEST_QUOTE, op, q.Result)


def _evidence(res):
    pcrs = {}
    for b in res.pcrs:
        name = {0x0004: "sha1", 0x000B: "sha256"}[b.hash_alg]
        pcrs[name] = {str(i): v.hex() for i, v in zip(b.indices, b.values)}
    return {"quote": {"attest": b64url(res.attest), "signature": b64url(res.signature)},
            "pcrs": pcrs}


def test_quote_on_the_wire(daemon_factory, swtpm, pb):  # noqa: F811
    """Any authenticated client gets a quote with its nonce; the PCR values are those
    tpm2_pcrread sees; the default selection is sha256:0-10 and configurable; a
    configured event log comes back byte for byte; an absent one is empty."""
    _need_tools()
    if not os.path.exists(EVLOG):
        pytest.skip("event log test data missing")
    d = _start(daemon_factory, swtpm, event_log=os.path.abspath(EVLOG))
    nonce = os.urandom(32)
    with _client(d, pb) as c:
        st, res = _quote(c, pb, nonce)
        assert st == 0
        assert nonce in res.attest                     # extraData of TPMS_ATTEST
        assert res.attest[:4] == b"\xff\x54\x43\x47"   # TPM_GENERATED_VALUE
        assert len(res.pcrs) == 1 and res.pcrs[0].hash_alg == SHA256
        assert list(res.pcrs[0].indices) == list(range(11))
        want = _pcrread(swtpm, "sha256:0,1,2,3,4,5,6,7,8,9,10")
        assert {i: v.hex() for i, v in zip(res.pcrs[0].indices, res.pcrs[0].values)} == want
        with open(EVLOG, "rb") as f:
            assert res.event_log == f.read()
        assert res.ima_log == b""
        # explicit selection
        st, res = _quote(c, pb, b"n", [(SHA256, [16, 23])])
        assert st == 0 and list(res.pcrs[0].indices) == [16, 23]
        # bad selections
        assert _quote(c, pb, b"n", [(0x0099, [0])])[0] == ST.PSA_INVALID_ARGUMENT
        assert _quote(c, pb, b"n", [(SHA256, [24])])[0] == ST.PSA_INVALID_ARGUMENT
        assert _quote(c, pb, b"x" * 65)[0] == ST.PSA_INVALID_ARGUMENT
        # identity and activation are admin-only
        assert c.call(OP_AGENT_IDENTITY, pb.tt_attest_quote.IdentityOperation(),
                      pb.tt_attest_quote.IdentityResult)[0] == ST.ADMIN_OPERATION
    with parsec.Client(d.sock, pb, auth=parsec.AUTH_NOAUTH, provider=parsec.PROVIDER_TPM) as c:
        assert _quote(c, pb, nonce)[0] == ST.NOT_AUTHENTICATED
    d.stop()


def test_quote_pcrs_config(daemon_factory, swtpm, pb):  # noqa: F811
    _need_tools()
    d = _start(daemon_factory, swtpm, quote_pcrs="sha256:0,7,16-17")
    with _client(d, pb) as c:
        st, res = _quote(c, pb, b"nonce")
        assert st == 0 and list(res.pcrs[0].indices) == [0, 7, 16, 17]
    d.stop()


def test_identity(daemon_factory, swtpm, pb):  # noqa: F811
    """The EK public key matches the EK certificate swtpm_setup made; the AK name is
    SHA-256 over the AK public area."""
    _need_tools()
    d = _start(daemon_factory, swtpm)
    q = pb.tt_attest_quote
    with _client(d, pb, ADMIN) as c:
        st, ident = c.call(OP_AGENT_IDENTITY, q.IdentityOperation(), q.IdentityResult)
        assert st == 0
        # TPM2B_PUBLIC: size(2) || TPMT_PUBLIC; name = 0x000B || sha256(TPMT_PUBLIC)
        tpmt = ident.ak_public[2:]
        assert int.from_bytes(ident.ak_public[:2], "big") == len(tpmt)
        assert ident.ak_name == b"\x00\x0b" + hashlib.sha256(tpmt).digest()
        if swtpm.ek_cert:
            from cryptography import x509
            from cryptography.hazmat.primitives import serialization
            cert = x509.load_der_x509_certificate(ident.ek_cert)
            spki = cert.public_key().public_bytes(serialization.Encoding.DER,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo)
            assert spki == ident.ek_public_der
        # a malformed credential is refused, not crashed on
        st, _ = c.call(OP_AGENT_ACTIVATE, q.ActivateOperation(credential_blob=b"\x00\x01x",
                       encrypted_secret=b"\x00\x01y"), q.ActivateResult)
        assert st == ST.PSA_INVALID_ARGUMENT
    d.stop()


def _refvals(tpm, group):
    vals = _pcrread(tpm, "sha256:0,1,2,3,4,5,6,7,8,9,10")
    return {"reference_values": [{"name": "pcr.sha256.%d" % i, "value": v,
                                  "scope": "group:" + group} for i, v in vals.items()]}


def test_register_attest_cli(daemon_factory, swtpm, asd, pb, tmp_path):  # noqa: F811
    _need_tools()
    d = _start(daemon_factory, swtpm)
    url = "http://127.0.0.1:%d" % asd.port
    tok = ["--as", url, "--admin-token-file", asd.token_file]

    # before registration: turtle-as knows no AK for this node
    p = _cli(d, "attest", "--as", url, "--node", "node-a")
    assert p.returncode == 1 and b"not registered" in p.stderr, p.stderr

    p = _cli(d, "as", "node", "register", "--node", "node-a", "--group", "agents", "--json", *tok)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["ak_state"] == "active" and out["node_id"] == "node-a"
    node = asd.admin("GET", "/v1/nodes/node-a").json()
    assert node["ak_state"] == "active" and node["group"] == "agents"

    rv = tmp_path / "refvals.json"
    rv.write_text(json.dumps(_refvals(swtpm, "agents")))
    p = _cli(d, "as", "refvals", "import", str(rv), *tok)
    assert p.returncode == 0, p.stderr

    # attest as an ordinary client: any authenticated client may quote
    tokfile = tmp_path / "token"
    p = _cli(d, "attest", "--as", url, "--node", "node-a", "--out", str(tokfile), app="alice")
    assert p.returncode == 0, p.stderr
    assert b"status: affirming" in p.stderr
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(asd.jwks()))
    p = subprocess.run([TURTLE_CLI, "token", "verify", "--jwks", str(jwks), "--json",
                        "--in", str(tokfile)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=30)
    assert p.returncode == 0, p.stderr
    claims = json.loads(p.stdout)["claims"]
    sm = claims["submods"]["tpm"]
    assert sm["ear.status"] == "affirming", sm
    assert set(sm["turtle.claims"]["measurements"]) == {"pcr.sha256.%d" % i for i in range(11)}
    assert claims["turtle.node-id"] == "node-a"

    # a changed PCR -> contraindicated, with the PCR named in the reasons
    _extend(swtpm, 7, b"an unexpected boot component")
    p = _cli(d, "attest", "--as", url, "--node", "node-a", "--json", app="alice")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["status"] == "contraindicated"
    p = subprocess.run([TURTLE_CLI, "token", "verify", "--jwks", str(jwks), "--json",
                        out["token"]], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    assert p.returncode == 0, p.stderr
    sm = json.loads(p.stdout)["claims"]["submods"]["tpm"]
    assert sm["ear.status"] == "contraindicated"
    assert any("pcr.sha256.7" in r for r in sm["turtle.reasons"]), sm["turtle.reasons"]

    # a replayed nonce is refused: the same evidence posted twice
    ch = asd.challenge("tpm", "node-a")
    with _client(d, pb) as c:
        st, res = _quote(c, pb, b64url_dec(ch["nonce"]))
        assert st == 0
    body = {"nonce": ch["nonce"], "tee": "tpm", "evidence": _evidence(res)}
    assert asd.request("POST", "/v1/attest", body).status == 200
    problem(asd.request("POST", "/v1/attest", body), 401)
    d.stop()


def test_register_needs_admin(daemon_factory, swtpm, asd):  # noqa: F811
    _need_tools()
    d = _start(daemon_factory, swtpm)
    url = "http://127.0.0.1:%d" % asd.port
    p = _cli(d, "as", "node", "register", "--node", "n", "--as", url, "--admin-token-file",
             asd.token_file, app="alice")
    assert p.returncode == 1
    assert asd.admin("GET", "/v1/nodes/n").status == 404
    d.stop()


def test_as_admin_commands(daemon_factory, swtpm, asd, tmp_path):  # noqa: F811
    """`turtle as policy set` and `turtle as resource put` are thin admin HTTP calls; a
    wrong admin token is refused by turtle-as and the command fails."""
    _need_tools()
    d = _start(daemon_factory, swtpm)
    url = "http://127.0.0.1:%d" % asd.port
    tok = ["--as", url, "--admin-token-file", asd.token_file]
    pol = tmp_path / "policy.json"
    pol.write_text(json.dumps({"group": "agents", "id": "agents-v1"}))
    p = _cli(d, "as", "policy", "set", str(pol), *tok)
    assert p.returncode == 0, p.stderr
    r = asd.admin("GET", "/v1/policies/agents")
    assert r.status == 200 and "agents-v1" in json.dumps(r.json())
    sec = tmp_path / "secret.bin"
    sec.write_bytes(b"\x00\x01 a resource \xff")
    p = _cli(d, "as", "resource", "put", "default/key/one", str(sec), *tok)
    assert p.returncode == 0, p.stderr
    r = asd.admin("GET", "/v1/resources/default/key/one")
    assert r.status == 200 and r.body == b"\x00\x01 a resource \xff"
    bad = tmp_path / "bad-token"
    bad.write_text("not-the-admin-token-at-all\n")
    p = _cli(d, "as", "policy", "set", str(pol), "--as", url, "--admin-token-file", str(bad))
    assert p.returncode == 1 and b"401" in p.stderr
    d.stop()
