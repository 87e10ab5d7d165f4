"""Issue 8, "Appraisal that fails closed": one regression test per finding, each against the
real services (swtpm, turtle-as over HTTP, turtled and the turtle CLI, the KBS flow), each
asserting the verdict and the reason. The model they defend is in docs/evidence.md,
"Appraisal model"."""

import base64
import hashlib
import json
import os
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from as_harness import (as_bin, as_factory, asd, b64url, b64url_dec, problem,  # noqa: E402,F401
                        sample_evidence, verify_jwt)
from backends import swtpm  # noqa: E402,F401  (fixture)
from harness import TURTLE_CLI  # noqa: E402
from test_as_kbs import (KBS_PROTOCOL_VERSION, SECRET, TeeKey, TrusteeClient,  # noqa: E402,F401
                         error_information, jcs)
from tpm_attester import (EV_EFI_BOOT_SERVICES_APPLICATION, SHA1, SHA256, Attester,  # noqa: E402
                          ImaEntry, genuine_events, measured, serialize_ima, serialize_log)

GROUP = "nodes"
NODE = "node-1"
FOREIGN_LOG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "unit",
                           "evidence", "data", "binary_bios_measurements")


@pytest.fixture
def node(swtpm):
    import shutil
    if shutil.which("tpm2_quote") is None:
        pytest.skip("tpm2-tools is not installed")
    a = Attester(swtpm)
    yield a
    a.cleanup()


def register(d, a, node_id=NODE, group=GROUP, ak="ak"):
    pem = a.make_ak(ak)
    r = d.admin("POST", "/v1/nodes", {"id": node_id, "group": group, "ak_public": pem})
    assert r.status == 201, r
    return pem


def import_refvals(d, rv):
    r = d.admin("POST", "/v1/reference-values", rv)
    assert r.status == 201, r


def attest(d, make_evidence, node_id=NODE):
    ch = d.challenge("tpm", node_id)
    ev = make_evidence(b64url_dec(ch["nonce"]))
    return d.request("POST", "/v1/attest", {"nonce": ch["nonce"], "tee": "tpm", "evidence": ev})


def submod(d, r):
    assert r.status == 200, r
    _, claims = verify_jwt(r.json()["token"], d.jwks())
    return claims, claims["submods"]["tpm"]


def reasons_of(sm):
    return "\n".join(sm["turtle.reasons"])


# -- finding 1: leaving a PCR out of the quote --------------------------------------------

def _pcr16_setup(d, a):
    """Reference values for sha256 PCRs 0, 7, 16; then PCR 16 gets something unknown."""
    register(d, a)
    vals = a.pcr_values("sha256:0,7,16")
    import_refvals(d, {"reference_values": [
        {"name": "pcr.sha256.%d" % i, "value": v, "scope": "group:" + GROUP}
        for i, v in vals.items()]})
    a.extend(16, {SHA256: hashlib.sha256(b"unknown component").digest()})


def test_finding1_omitted_pcr_is_contraindicated(asd, node):
    _pcr16_setup(asd, node)
    full = {"sha256": [0, 7, 16]}
    _, sm = submod(asd, attest(asd, lambda n: node.quote(n, full)))
    assert sm["ear.status"] == "contraindicated"
    assert "pcr.sha256.16: does not match any reference value" in reasons_of(sm)
    # the same node quoting only 0 and 7: the PCR the reference values name is missing
    _, sm = submod(asd, attest(asd, lambda n: node.quote(n, {"sha256": [0, 7]})))
    assert sm["ear.status"] == "contraindicated", sm
    assert "pcr.sha256.16: required, but the quote does not cover it" in reasons_of(sm)
    assert set(sm["turtle.claims"]["measurements"]) == {"pcr.sha256.0", "pcr.sha256.7"}


def test_finding1_required_pcrs_policy_without_reference_values(asd, node):
    """A policy can require PCRs no reference value names: absent -> contraindicated."""
    register(asd, node)
    vals = node.pcr_values("sha256:0")
    import_refvals(asd, {"reference_values": [{"name": "pcr.sha256.0", "value": vals[0]}]})
    r = asd.admin("POST", "/v1/policies", {"group": GROUP, "id": "need-7-10",
                                            "required_pcrs": {"sha256": [7, 10]}})
    assert r.status == 201, r
    _, sm = submod(asd, attest(asd, lambda n: node.quote(n, {"sha256": [0]})))
    assert sm["ear.status"] == "contraindicated"
    assert "pcr.sha256.7: required" in reasons_of(sm)
    assert "pcr.sha256.10: required" in reasons_of(sm)
    # quoted but without a reference value: present, so only a warning
    _, sm = submod(asd, attest(asd, lambda n: node.quote(n, {"sha256": [0, 7, 10]})))
    assert sm["ear.status"] == "warning", sm
    # a malformed requirement is refused when stored, never at attestation time
    p = problem(asd.admin("POST", "/v1/policies", {"group": GROUP,
                                                    "required_pcrs": {"sha256": [24]}}), 400)
    assert "required_pcrs" in p["detail"]


def _spki_b64(pem):
    from cryptography.hazmat.primitives import serialization
    der = serialization.load_pem_public_key(pem.encode()).public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(der).decode()


def test_finding1_kbs_does_not_release_with_omitted_pcr(asd, node):
    """The KBS flow: native TPM evidence (with ak_public to find the node) bound to the KBS
    runtime data, the quote leaving PCR 16 out: no longer released."""
    _pcr16_setup(asd, node)
    pem = asd.admin("GET", "/v1/nodes/" + NODE).json()["ak_public"]
    assert asd.admin("POST", "/v1/resources/default/key/k1", raw=SECRET).status == 201

    def attester(sel):
        def make(report_data):
            ev = node.quote(report_data, sel)
            ev["ak_public"] = _spki_b64(pem)
            return ev
        return make

    cl = TrusteeClient(asd, "tpm", attester({"sha256": [0, 7]}))
    r = cl.handshake()
    assert r.status == 200, r
    _, claims = verify_jwt(r.json()["token"], asd.jwks())
    sm = claims["submods"]["tpm"]
    assert sm["ear.status"] == "contraindicated"
    assert "pcr.sha256.16: required, but the quote does not cover it" in reasons_of(sm)
    r, secret = cl.get_resource("default/key/k1")
    assert r.status == 401 and secret is None


def test_finding1_cli_attest_with_pcr_left_out(daemon_factory, swtpm, asd, pb, tmp_path):  # noqa: F811
    """`turtle attest --pcrs sha256:0-6,8-10` by an ordinary local client after PCR 7
    changed: contraindicated, the reason names PCR 7."""
    from backends import need_cli_and_tpm2_tools, start_agent_daemon
    from test_agent import ADMIN, _cli, _extend, _refvals
    need_cli_and_tpm2_tools("tpm2_pcrread")
    d = start_agent_daemon(daemon_factory, swtpm, ADMIN)
    url = "http://127.0.0.1:%d" % asd.port
    tok = ["--as", url, "--admin-token-file", asd.token_file]
    p = _cli(d, "as", "node", "register", "--node", "node-a", "--group", "agents", *tok)
    assert p.returncode == 0, p.stderr
    rv = tmp_path / "refvals.json"
    rv.write_text(json.dumps(_refvals(swtpm, "agents")))
    assert _cli(d, "as", "refvals", "import", str(rv), *tok).returncode == 0
    _extend(swtpm, 7, b"an unexpected boot component")
    p = _cli(d, "attest", "--as", url, "--node", "node-a", "--pcrs", "sha256:0-6,8-10",
             "--json", app="alice")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["status"] == "contraindicated", out
    _, claims = verify_jwt(out["token"], asd.jwks())
    assert "pcr.sha256.7: required, but the quote does not cover it" in \
        reasons_of(claims["submods"]["tpm"])
    d.stop()


# -- finding 2: event-log and IMA claims from PCRs the quote never covered ---------------

def accept_pcr10(d, a):
    """The IMA log grew: its new PCR 10 values become reference values too, so that only
    the file digests decide."""
    rv = []
    for bank in ("sha1", "sha256"):
        rv += [{"name": "pcr.%s.10" % bank, "value": v, "scope": "group:" + GROUP}
               for v in a.pcr_values(bank + ":10").values()]
    import_refvals(d, {"reference_values": rv})


def _boot_setup(d, a, events=None):
    register(d, a)
    a.boot(events=events)
    import_refvals(d, a.reference_values(GROUP))


def test_finding2_forged_log_with_quote_over_pcr2(asd, node):
    """The TPM booted an evil shim; the attester sends the good log and quotes PCR 2 only.
    PCR 2 (a separator both share) is confirmed, nothing else is: no boot, command-line or
    Secure Boot claim, and the required ones are missing."""
    good = genuine_events()
    evil = [e.copy() for e in good]
    for e in evil:
        if e.type == EV_EFI_BOOT_SERVICES_APPLICATION:
            e.digests = measured(4, e.type, e.data, content=b"evil shim").digests
            break
    node.boot(events=good)          # for the reference values only ...
    rv = node.reference_values(GROUP)
    node.swtpm.restart()            # ... then the real boot, with the evil shim
    node.boot(events=evil)
    node.events = good              # what the attester claims it booted
    register(asd, node)
    import_refvals(asd, rv)

    r = attest(asd, lambda n: node.evidence(n, {"sha256": [2]}, ima=False))
    _, sm = submod(asd, r)
    meas = sm["turtle.claims"]["measurements"]
    assert set(meas) == {"pcr.sha256.2"}, meas
    assert "secure_boot" not in sm["turtle.claims"]
    assert sm["turtle.claims"]["eventlog_unverified_pcrs"] == [0, 1, 3, 4, 5, 6, 7, 8]
    assert sm["ear.status"] == "contraindicated"
    txt = reasons_of(sm)
    assert "boot.app.0: required" in txt and "kernel_cmdline: required" in txt
    # the full quote exposes the evil shim: the log no longer replays to PCR 4
    p = problem(attest(asd, lambda n: node.evidence(n, ima=False)), 400)
    assert "event log replay does not match" in p["detail"]


def test_finding2_log_bank_not_quoted(asd, node):
    """A log that replays only the SHA-256 bank next to a quote of the SHA-1 bank: never
    compared before, refused now; and a log cut down to one bank of a two-bank quote."""
    _boot_setup(asd, node)
    sha256_only = serialize_log(node.events, banks=(SHA256,))

    def ev(n):
        e = node.evidence(n, {"sha1": list(Attester.SEL)}, ima=False)
        e["eventlog"] = b64url(sha256_only)
        return e
    p = problem(attest(asd, ev), 400)
    assert "lacks a PCR bank the quote covers" in p["detail"]

    def cut(n):
        e = node.evidence(n, ima=False)
        e["eventlog"] = b64url(sha256_only)
        return e
    p = problem(attest(asd, cut), 400)
    assert "lacks a PCR bank the quote covers" in p["detail"]


def test_finding2_foreign_log_without_covering_quote(asd, node):
    """Another machine's log next to a quote over a PCR it never extends (16)."""
    if not os.path.exists(FOREIGN_LOG):
        pytest.skip("event log test data missing")
    _boot_setup(asd, node)
    with open(FOREIGN_LOG, "rb") as f:
        foreign = f.read()

    def ev(n):
        e = node.evidence(n, {"sha256": [16]}, ima=False)
        e["eventlog"] = b64url(foreign)
        return e
    p = problem(attest(asd, ev), 400)
    assert "the quote covers none of the PCRs it extends" in p["detail"]


def test_finding2_ima_log_without_pcr10(asd, node):
    _boot_setup(asd, node)
    invented = [ImaEntry("/usr/bin/tool", b"tool v1")]

    def ev(n):
        e = node.evidence(n, {"sha256": [0, 1, 2, 3, 4, 5, 6, 7, 8]}, eventlog=True)
        e["ima"] = serialize_ima(invented)
        return e
    p = problem(attest(asd, ev), 400)
    assert "PCR 10 is not quoted" in p["detail"]


# -- finding 3: IMA violation lines are not authenticated --------------------------------

def test_finding3_violation_line_cannot_carry_a_digest(asd, node):
    """The kernel measured a trojan's write as a violation (0xFF.. extended); the attester
    rewrites the violation line to name the genuine digest."""
    _boot_setup(asd, node)
    genuine = node.ima[1]                       # /usr/bin/tool, in the reference values
    v = ImaEntry(genuine.path, violation=True)
    node.ima.append(v)
    node.extend(10, v.extends())
    accept_pcr10(asd, node)
    # as logged: a violation with a zero digest -> no file claim from it
    r = attest(asd, lambda n: node.evidence(n))
    claims, sm = submod(asd, r)
    assert sm["ear.status"] == "affirming", sm
    assert sm["turtle.claims"]["ima_violations"] == 2
    assert sm["turtle.claims"]["measurements"]["ima." + genuine.path] == genuine.fd.hex()
    # rewritten: the violation now names the good digest -> the log is refused
    v.fd = genuine.fd
    p = problem(attest(asd, lambda n: node.evidence(n)), 400)
    assert "violation names a file digest" in p["detail"]


# -- finding 4: IMA history reduced to the last entry per path ---------------------------

def test_finding4_trojan_then_genuine_at_same_path(asd, node):
    _boot_setup(asd, node)
    node.run_file("/usr/bin/tool", b"trojan")
    node.run_file("/usr/bin/tool", b"tool v1")     # the genuine file again, last
    accept_pcr10(asd, node)
    claims, sm = submod(asd, attest(asd, lambda n: node.evidence(n)))
    assert sm["ear.status"] == "contraindicated", sm
    hist = sm["turtle.claims"]["measurements"]["ima./usr/bin/tool"]
    assert hist == [hashlib.sha256(b"tool v1").hexdigest(), hashlib.sha256(b"trojan").hexdigest()]
    assert "ima./usr/bin/tool: entry 2 of 2 does not match" in reasons_of(sm)


# -- finding 5: sample evidence naming any node -------------------------------------------

def test_finding5_sample_evidence_cannot_name_a_node(asd, node):
    asd.admin("POST", "/v1/policies", {"group": GROUP, "sample_affirming": True})
    register(asd, node)                           # a TPM node
    for nid in (NODE, "never-registered"):
        ch = asd.challenge("sample", nid)
        r = asd.request("POST", "/v1/attest", {"nonce": ch["nonce"], "tee": "sample",
                        "evidence": sample_evidence(b64url_dec(ch["nonce"]), {"x": "1"})})
        p = problem(r, 401)
        assert "not registered" in p["detail"]
    # a node registered as a sample node may be spoken for
    assert asd.admin("POST", "/v1/nodes", {"id": "s1", "group": "lab", "tee": "sample"}).status == 201
    ch = asd.challenge("sample", "s1")
    r = asd.request("POST", "/v1/attest", {"nonce": ch["nonce"], "tee": "sample",
                    "evidence": sample_evidence(b64url_dec(ch["nonce"]), {"x": "1"})})
    assert r.status == 200, r
    _, c = verify_jwt(r.json()["token"], asd.jwks())
    assert c["turtle.node-id"] == "s1" and c["turtle.node-group"] == "lab"
    assert c["submods"]["sample"]["ear.status"] == "warning"
    # without a node: no identity in the token
    ch = asd.challenge("sample")
    r = asd.request("POST", "/v1/attest", {"nonce": ch["nonce"], "tee": "sample",
                    "evidence": sample_evidence(b64url_dec(ch["nonce"]), {"x": "1"})})
    _, c = verify_jwt(r.json()["token"], asd.jwks())
    assert "turtle.node-id" not in c and c["turtle.node-group"] == "default"


# -- finding 6: tokens turtle-as's own tools refuse ---------------------------------------

def test_finding6_large_ima_log_token_verifies(asd, node, tmp_path):
    """3,000 IMA entries within the 1 MiB body limit: the token stays small, `turtle
    token verify` accepts it, and the full claims are in the audit record, whose canonical
    form hashes to the token's claims digest."""
    _boot_setup(asd, node)
    extra = [ImaEntry("/opt/app/lib%04d.so" % i, b"lib %d" % i) for i in range(3000)]
    node.ima += extra
    node.extend_all([(10, e.extends()) for e in extra])
    accept_pcr10(asd, node)
    body = {"tee": "tpm", "evidence": None}
    ch = asd.challenge("tpm", NODE)
    body["nonce"] = ch["nonce"]
    body["evidence"] = node.evidence(b64url_dec(ch["nonce"]))
    assert len(json.dumps(body)) < (1 << 20)
    r = asd.request("POST", "/v1/attest", body)
    claims, sm = submod(asd, r)
    tok = r.json()["token"]
    assert len(tok) <= 64 * 1024, len(tok)
    assert sm["ear.status"] == "warning"          # 3,000 files without reference values
    assert sm["turtle.claims-complete"] is False
    assert len(sm["turtle.reasons"]) == 33 and "more reasons" in sm["turtle.reasons"][-1]
    # the measurements the appraisal compared are in the token
    assert sm["turtle.claims"]["measurements"]["ima./usr/bin/tool"] == node.ima[1].fd.hex()
    if TURTLE_CLI and os.access(TURTLE_CLI, os.X_OK):
        jwks = tmp_path / "jwks.json"
        jwks.write_text(json.dumps(asd.jwks()))
        tf = tmp_path / "token"
        tf.write_text(tok)
        p = subprocess.run([TURTLE_CLI, "token", "verify", "--jwks", str(jwks), "--nonce",
                            ch["nonce"], "--in", str(tf)], capture_output=True, timeout=60)
        assert p.returncode == 0, p.stderr.decode()
    rec = asd.admin("GET", "/v1/results/" + claims["turtle.result-id"])
    assert rec.status == 200, rec
    rec = rec.json()
    assert len([k for k in rec["claims"]["measurements"] if k.startswith("ima./opt/app/")]) == 3000
    digest = hashlib.sha256(jcs(rec["claims"]).encode()).hexdigest()
    assert sm["turtle.claims-digest"] == "sha-256:" + digest
    assert rec["appraisal"]["ear.status"] == "warning"
    assert rec["token-sha256"] == hashlib.sha256(tok.encode()).hexdigest()
    assert rec["node-id"] == NODE
    problem(asd.admin("GET", "/v1/results/no-such-id"), 404)
    problem(asd.request("GET", "/v1/results/" + claims["turtle.result-id"]), 401)


# -- finding 7: bad-structure reasons -----------------------------------------------------

def test_finding7_other_attest_structures_are_named(asd, node):
    register(asd, node)

    def certify(n):
        node.run("tpm2_certify", "-C", "ak.ctx", "-c", "ak.ctx", "-g", "sha256",
                 "-o", "cert.att", "-s", "cert.sig")
        node.run("tpm2_flushcontext", "-t")
        return {"quote": {"attest": b64url(node.read("cert.att")),
                          "signature": b64url(node.read("cert.sig"))}, "pcrs": {}}
    p = problem(attest(asd, certify), 400)
    assert p["detail"] == "evidence rejected: quote: attest type is certify, not quote", p

    def gettime(n):
        node.run("tpm2_gettime", "-c", "ak.ctx", "-q", n.hex(), "--attestation", "t.att",
                 "-o", "t.sig")
        node.run("tpm2_flushcontext", "-t")
        return {"quote": {"attest": b64url(node.read("t.att")),
                          "signature": b64url(node.read("t.sig"))}, "pcrs": {}}
    p = problem(attest(asd, gettime), 400)
    assert p["detail"] == "evidence rejected: quote: attest type is time (GetTime), not quote", p


# -- the genuine path still affirms --------------------------------------------------------

def test_genuine_node_with_both_logs_is_affirming(asd, node):
    _boot_setup(asd, node)
    claims, sm = submod(asd, attest(asd, lambda n: node.evidence(n)))
    assert sm["ear.status"] == "affirming", sm
    c = sm["turtle.claims"]
    assert c["secure_boot"] == "on" and c["measurements"]["kernel_cmdline"] == "root=/dev/vda1 ro quiet"
    assert c["ima_entries"] == 4 and c["ima_violations"] == 1
    assert c["eventlog_unverified_pcrs"] == []
    assert sm["turtle.claims-complete"] is True
    assert claims["turtle.node-id"] == NODE
