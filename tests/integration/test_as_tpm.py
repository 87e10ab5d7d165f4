"""turtle-as `tpm` verifier against a real (software) TPM: swtpm driven by tpm2-tools
makes the EK, an AK and a quote over PCRs with the challenge nonce; turtle-as checks the
quote with the registered AK and appraises the PCRs against reference values."""

import os
import shutil
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from as_harness import (as_bin, as_factory, asd, b64url, b64url_dec,  # noqa: E402,F401
                        problem, verify_jwt)
from backends import Tpm2Tools, swtpm  # noqa: E402,F401

PCRS = [0, 16]


@pytest.fixture
def tpm(swtpm):
    if shutil.which("tpm2_quote") is None:
        pytest.skip("tpm2-tools is not installed")
    t = TpmTool(swtpm.tcti)
    yield t
    t.cleanup()


class TpmTool(Tpm2Tools):
    """turtle's own tpm evidence: an ECDSA AK, a quote over PCRS."""

    def __init__(self, tcti):
        super().__init__(tcti, prefix="as-tpm-")

    def extend(self, pcr, data):
        import hashlib
        self.run("tpm2_pcrextend", "%d:sha256=%s" % (pcr, hashlib.sha256(data).hexdigest()))

    def pcrs(self):
        vals = self.pcr_values("sha256:" + ",".join(str(p) for p in PCRS))
        return {str(i): v for i, v in vals.items()}

    def quote(self, nonce, name="ak"):
        self.run("tpm2_quote", "-c", name + ".ctx", "-l", "sha256:" + ",".join(str(p) for p in PCRS),
                 "-q", nonce.hex(), "-m", "quote.msg", "-s", "quote.sig", "-g", "sha256")
        self.run("tpm2_flushcontext", "-t")
        msg, sig = self.read("quote.msg"), self.read("quote.sig")
        return {"quote": {"attest": b64url(msg), "signature": b64url(sig)},
                "pcrs": {"sha256": self.pcrs()}}


def attest(d, tpm, node="node-1", tamper=None, ak="ak"):
    ch = d.challenge("tpm", node)
    ev = tpm.quote(b64url_dec(ch["nonce"]), ak)
    if tamper:
        tamper(ev)
    return d.request("POST", "/v1/attest", {"nonce": ch["nonce"], "tee": "tpm", "evidence": ev})


def register(d, tpm, node="node-1", group="tpm-nodes"):
    ak = tpm.make_ak()
    r = d.admin("POST", "/v1/nodes", {"id": node, "group": group, "ak_public": ak})
    assert r.status == 201, r
    tpm.extend(16, b"turtle test component")
    vals = tpm.pcrs()
    r = d.admin("POST", "/v1/reference-values", {"reference_values": [
        {"name": "pcr.sha256.%s" % k, "value": v, "scope": "group:" + group}
        for k, v in vals.items()]})
    assert r.status == 201, r
    return vals


def test_tpm_quote_affirming(asd, tpm):
    register(asd, tpm)
    r = attest(asd, tpm)
    assert r.status == 200, r
    _, c = verify_jwt(r.json()["token"], asd.jwks())
    sm = c["submods"]["tpm"]
    assert sm["ear.status"] == "affirming", sm
    assert set(sm["turtle.claims"]["measurements"]) == {"pcr.sha256.0", "pcr.sha256.16"}
    assert c["turtle.node-id"] == "node-1"


def test_tpm_changed_pcr_contraindicated(asd, tpm):
    register(asd, tpm)
    tpm.extend(16, b"something unexpected")
    r = attest(asd, tpm)
    assert r.status == 200, r
    _, c = verify_jwt(r.json()["token"], asd.jwks())
    sm = c["submods"]["tpm"]
    assert sm["ear.status"] == "contraindicated"
    assert any("pcr.sha256.16" in x for x in sm["turtle.reasons"])


def test_tpm_replayed_nonce(asd, tpm):
    register(asd, tpm)
    ch = asd.challenge("tpm", "node-1")
    ev = tpm.quote(b64url_dec(ch["nonce"]))
    body = {"nonce": ch["nonce"], "tee": "tpm", "evidence": ev}
    assert asd.request("POST", "/v1/attest", body).status == 200
    problem(asd.request("POST", "/v1/attest", body), 401)


def test_tpm_quote_for_other_nonce(asd, tpm):
    register(asd, tpm)
    ch1 = asd.challenge("tpm", "node-1")
    ch2 = asd.challenge("tpm", "node-1")
    ev = tpm.quote(b64url_dec(ch2["nonce"]))
    p = problem(asd.request("POST", "/v1/attest", {"nonce": ch1["nonce"], "tee": "tpm",
                "evidence": ev}), 401)
    assert "nonce" in p["detail"]


def test_tpm_tampered_quote(asd, tpm):
    register(asd, tpm)

    def flip(ev):
        b = bytearray(b64url_dec(ev["quote"]["attest"]))
        b[-1] ^= 1
        ev["quote"]["attest"] = b64url(bytes(b))
    p = problem(attest(asd, tpm, tamper=flip), 401)
    assert "signature" in p["detail"]


def test_tpm_claimed_pcr_differs_from_quote(asd, tpm):
    register(asd, tpm)

    def lie(ev):
        ev["pcrs"]["sha256"]["16"] = "00" * 32
    p = problem(attest(asd, tpm, tamper=lie), 400)
    assert "pcr-digest-mismatch" in p["detail"]


def test_tpm_unregistered_ak(asd, tpm):
    register(asd, tpm)
    tpm.make_ak("ak2")
    p = problem(attest(asd, tpm, ak="ak2"), 401)
    assert "signature" in p["detail"]


def test_tpm_unregistered_node(asd, tpm):
    tpm.make_ak()
    p = problem(attest(asd, tpm, node="nobody-here"), 401)
    assert "not registered" in p["detail"]


EVLOG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "unit", "evidence",
                     "data", "binary_bios_measurements")


def test_tpm_event_log_not_matching_quote(asd, tpm):
    """A real UEFI log from another machine: it parses, but its replayed PCR 0 is not the
    quoted one, so the evidence is refused."""
    if not os.path.exists(EVLOG):
        pytest.skip("event log test data missing")
    register(asd, tpm)
    with open(EVLOG, "rb") as f:
        log = f.read()

    def add_log(ev):
        ev["eventlog"] = b64url(log)
    p = problem(attest(asd, tpm, tamper=add_log), 400)
    assert "event log" in p["detail"]


def test_tpm_malformed_event_log(asd, tpm):
    register(asd, tpm)

    def bad_log(ev):
        ev["eventlog"] = b64url(b"\x00" * 100)
    p = problem(attest(asd, tpm, tamper=bad_log), 400)
    assert "event log" in p["detail"]


def _tools_blob(tpm, activation):
    """tpm2-tools credential file: magic, version, TPM2B_ID_OBJECT, TPM2B_ENCRYPTED_SECRET."""
    import struct
    blob = (struct.pack(">II", 0xBADCC0DE, 1) + b64url_dec(activation["credential_blob"]) +
            b64url_dec(activation["encrypted_secret"]))
    with open(tpm.path("cred.blob"), "wb") as f:
        f.write(blob)


def _activate(tpm):
    tpm.run("tpm2_startauthsession", "--policy-session", "-S", "session.ctx")
    tpm.run("tpm2_policysecret", "-S", "session.ctx", "-c", "e")
    tpm.run("tpm2_activatecredential", "-c", "ak.ctx", "-C", "ek.ctx", "-i", "cred.blob",
            "-o", "secret.out", "-P", "session:session.ctx")
    tpm.run("tpm2_flushcontext", "session.ctx")
    tpm.run("tpm2_flushcontext", "-t")
    with open(tpm.path("secret.out"), "rb") as f:
        return f.read()


def _register_with_ek(d, tpm, node="node-ek", group="tpm-nodes"):
    tpm.make_ak()
    tpm.run("tpm2_readpublic", "-c", "ek.ctx", "-f", "pem", "-o", "ek.pem")
    tpm.run("tpm2_readpublic", "-c", "ak.ctx", "-o", "ak.tpm2b")
    tpm.run("tpm2_flushcontext", "-t")
    with open(tpm.path("ek.pem")) as f:
        ek = f.read()
    with open(tpm.path("ak.tpm2b"), "rb") as f:
        ak = f.read()
    r = d.admin("POST", "/v1/nodes", {"id": node, "group": group, "ek_public": ek,
                                      "ak_tpm2b": b64url(ak)})
    assert r.status == 201, r
    body = r.json()
    assert body["ak_state"] == "pending"
    assert "activation_digest" not in body
    return body["activation"]


def test_tpm_ak_activation(asd, tpm):
    act = _register_with_ek(asd, tpm)
    tpm.extend(16, b"x")
    asd.admin("POST", "/v1/reference-values", {"reference_values": [
        {"name": "pcr.sha256.%s" % k, "value": v} for k, v in tpm.pcrs().items()]})
    # before activation the AK is not trusted
    p = problem(attest(asd, tpm, node="node-ek"), 401)
    assert "activated" in p["detail"]
    _tools_blob(tpm, act)
    secret = _activate(tpm)
    assert len(secret) == 32
    p = problem(asd.request("POST", "/v1/activate", {"node_id": "node-ek",
                "secret": b64url(bytes(32))}), 401)
    r = asd.request("POST", "/v1/activate", {"node_id": "node-ek", "secret": b64url(secret)})
    assert r.status == 200, r
    assert asd.admin("GET", "/v1/nodes/node-ek").json()["ak_state"] == "active"
    problem(asd.request("POST", "/v1/activate", {"node_id": "node-ek",
            "secret": b64url(secret)}), 409)
    r = attest(asd, tpm, node="node-ek")
    assert r.status == 200, r
    _, c = verify_jwt(r.json()["token"], asd.jwks())
    assert c["submods"]["tpm"]["ear.status"] == "affirming"


def test_tpm_ak_not_restricted_refused(asd, tpm):
    tpm.make_ak()
    tpm.run("tpm2_readpublic", "-c", "ek.ctx", "-f", "pem", "-o", "ek.pem")
    tpm.run("tpm2_readpublic", "-c", "ek.ctx", "-o", "ek.tpm2b")
    tpm.run("tpm2_flushcontext", "-t")
    with open(tpm.path("ek.pem")) as f:
        ek = f.read()
    with open(tpm.path("ek.tpm2b"), "rb") as f:
        ekpub = f.read()
    # the EK is a restricted *decryption* key: not an AK
    p = problem(asd.admin("POST", "/v1/nodes", {"id": "n", "group": "g", "ek_public": ek,
                                                "ak_tpm2b": b64url(ekpub)}), 400)
    assert "signing key" in p["detail"]
