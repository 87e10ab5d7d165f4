"""turtle-as with confidential-computing evidence (src/as/verifier_tee.c over the verifier
library): SEV-SNP reports from a synthetic AMD chain (snp_synth.py) and Arm CCA tokens from a
synthetic platform (cca_synth.py), installed with --tee-anchors and bound to turtle-as's
challenges, over the native API and KBS (secrets released), appraised by the default policy
against "<tee>."-named reference values; Trustee's real SNP evidence JSON (its
attestation-service e2e vector) verified up to its binding; node-bound challenges."""

import hashlib
import json
import os
import shutil
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from as_harness import (as_bin, as_factory, b64url, b64url_dec,  # noqa: E402,F401
                        jwe_decrypt_rsa, kbs_attest_composite, kbs_auth,
                        kbs_composite_binding, kbs_runtime_binding, problem, refvals,
                        rsa_tee_key, verify_jwt)
from snp_synth import CHIP_ID, MEASUREMENT, SnpWorld, reference_values  # noqa: E402
from cca_synth import CcaWorld  # noqa: E402
from cca_synth import reference_values as cca_reference_values  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SECRET = b"snp guest secret"


@pytest.fixture
def world():
    """The synthetic chain in a directory turtle-as (running as nobody) can read."""
    root = tempfile.mkdtemp(prefix="turtle-snp-", dir="/tmp")
    os.chmod(root, 0o755)
    yield SnpWorld(os.path.join(root, "amd-world"))
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def snp(as_factory, world):
    d = as_factory(extra_args=("--tee-anchors", world.anchors))
    return d, world


def attest(d, tee, nonce, evidence):
    return d.request("POST", "/v1/attest", {"nonce": nonce, "tee": tee, "evidence": evidence})


def test_snp_native_affirming(snp):
    d, w = snp
    refvals(d, reference_values())
    ch = d.challenge("snp")
    r = attest(d, "snp", ch["nonce"], w.evidence(b64url_dec(ch["nonce"])))
    assert r.status == 200, r
    _, claims = verify_jwt(r.json()["token"], d.jwks())
    sub = claims["submods"]["snp"]
    assert r.json()["status"] == "affirming", sub
    # the token's claims: Trustee's names under "snp", the chain for audit
    tc = sub["turtle.claims"]
    assert tc["snp"]["evidence"]["measurement"] == MEASUREMENT.hex()
    assert tc["measurements"]["snp.evidence.reported_tcb.microcode"] == "213"
    assert tc["chain"][0]["link"] == "anchor"


def test_snp_one_refval_unknown_is_warning(snp):
    d, w = snp
    rv = reference_values()
    del rv["snp.evidence.plat_info.tsme_enabled"]
    refvals(d, rv)
    ch = d.challenge("snp")
    r = attest(d, "snp", ch["nonce"], w.evidence(b64url_dec(ch["nonce"])))
    assert r.status == 200 and r.json()["status"] == "warning", r


def test_snp_wrong_measurement_not_affirming(snp):
    d, w = snp
    rv = reference_values()
    rv["snp.evidence.measurement"] = "00" * 48
    refvals(d, rv)
    ch = d.challenge("snp")
    r = attest(d, "snp", ch["nonce"], w.evidence(b64url_dec(ch["nonce"])))
    assert r.status == 200, r
    assert r.json()["status"] == "contraindicated"


def test_snp_required_refval_absent_is_contraindicated(snp):
    d, w = snp
    refvals(d, {"snp.evidence.no_such_claim": "1"})
    ch = d.challenge("snp")
    r = attest(d, "snp", ch["nonce"], w.evidence(b64url_dec(ch["nonce"])))
    assert r.status == 200, r
    assert r.json()["status"] == "contraindicated"


def test_snp_refusals(snp):
    d, w = snp
    ch = d.challenge("snp")
    # report data for another challenge
    p = problem(attest(d, "snp", ch["nonce"], w.evidence(b"\x01" * 32)), 401)
    assert "report data" in p["detail"]
    # a byte of the signed report changed (the measurement as sent)
    ch = d.challenge("snp")
    ev = w.evidence(b64url_dec(ch["nonce"]))
    ev["attestation_report"]["measurement"][0] ^= 1
    p = problem(attest(d, "snp", ch["nonce"], ev), 401)
    assert "signature" in p["detail"]
    # no certificate
    ch = d.challenge("snp")
    ev = w.evidence(b64url_dec(ch["nonce"]))
    ev["cert_chain"] = None
    assert attest(d, "snp", ch["nonce"], ev).status >= 400
    # requested from VMPL 1
    ch = d.challenge("snp")
    r = attest(d, "snp", ch["nonce"], w.evidence(b64url_dec(ch["nonce"]), vmpl=1))
    assert r.status >= 400 and "VMPL" in r.json()["detail"]
    # malformed shapes
    ch = d.challenge("snp")
    problem(attest(d, "snp", ch["nonce"], {"attestation_report": {"version": 3}}), 400)


def test_snp_builtin_anchors_refuse_synthetic_chain(as_factory, world):
    """Without --tee-anchors only AMD's ARKs are trusted: the synthetic VCEK is refused."""
    w = world
    d = as_factory()
    ch = d.challenge("snp")
    r = attest(d, "snp", ch["nonce"], w.evidence(b64url_dec(ch["nonce"])))
    assert r.status >= 400
    assert "ARK" in r.json()["detail"]


def test_trustee_snp_evidence_verifies_up_to_binding(as_factory):
    """Trustee's real Genoa report (attestation-service/tests/e2e/evidence.json, AMD-signed
    VCEK in cert_chain), rebuilt from its JSON into the firmware's bytes: chain and
    signature verify under the built-in AMD anchors, and only the binding (a fresh
    turtle-as challenge) fails."""
    d = as_factory()
    with open(os.path.join(HERE, "data", "trustee-snp-evidence.json")) as f:
        ev = json.load(f)
    ch = d.challenge("snp")
    p = problem(attest(d, "snp", ch["nonce"], ev), 401)
    assert "report data does not match" in p["detail"]
    ev["attestation_report"]["host_data"][0] ^= 1
    ch = d.challenge("snp")
    p = problem(attest(d, "snp", ch["nonce"], ev), 401)
    assert "signature" in p["detail"]


def test_snp_node_identity(snp):
    d, w = snp
    assert d.admin("POST", "/v1/nodes", {"id": "cvm1", "group": "default", "tee": "snp",
                                         "tee_identity": CHIP_ID.hex()}).status == 201
    assert d.admin("POST", "/v1/nodes", {"id": "cvm2", "group": "default", "tee": "snp",
                                         "tee_identity": "ab" * 64}).status == 201
    ch = d.challenge("snp", node_id="cvm1")
    r = attest(d, "snp", ch["nonce"], w.evidence(b64url_dec(ch["nonce"])))
    assert r.status == 200, r
    ch = d.challenge("snp", node_id="cvm2")
    p = problem(attest(d, "snp", ch["nonce"], w.evidence(b64url_dec(ch["nonce"]))), 401)
    assert "tee_identity" in p["detail"]


def test_snp_node_identity_hex_any_case(snp):
    """tee_identity is hex, compared without regard to case on both paths: a node
    registered in upper case answers its own challenge as over KBS; something that is not
    hex is refused at registration (it could never match, and the node's group would
    silently not judge its evidence over KBS)."""
    d, w = snp
    assert d.admin("POST", "/v1/nodes", {"id": "cvm-up", "group": "default", "tee": "snp",
                                         "tee_identity": CHIP_ID.hex().upper()}).status == 201
    ch = d.challenge("snp", node_id="cvm-up")
    r = attest(d, "snp", ch["nonce"], w.evidence(b64url_dec(ch["nonce"])))
    assert r.status == 200, r
    for bad in ("0x" + CHIP_ID.hex(), CHIP_ID.hex() + " ", "abc", ""):
        r = d.admin("POST", "/v1/nodes", {"id": "cvm-bad", "group": "default", "tee": "snp",
                                          "tee_identity": bad})
        assert r.status == 400, (bad, r)


def test_snp_kbs_releases_secret(snp):
    d, w = snp
    refvals(d, reference_values())
    assert d.admin("POST", "/v1/resources/default/key/k1", raw=SECRET).status == 201
    cookie, nonce = kbs_auth(d, "snp")
    priv, jwk = rsa_tee_key()
    ev = w.evidence(kbs_composite_binding(nonce, jwk))
    r = kbs_attest_composite(d, cookie, nonce, jwk, ev)
    assert r.status == 200, r
    _, claims = verify_jwt(r.json()["token"], d.jwks())
    assert claims["submods"]["snp"]["ear.status"] == "affirming"
    r = d.request("GET", "/kbs/v0/resource/default/key/k1", cookie=cookie)
    assert r.status == 200, r
    assert jwe_decrypt_rsa(priv, r.json()) == SECRET


def test_snp_kbs_node_group_by_tee_identity(snp):
    """KBS evidence names no node: turtle-as finds the node registered with the verified
    tee_identity (the chip id) and judges the evidence with that node's group. Two groups
    with different reference values: the same platform's evidence is affirming in the one
    and contraindicated in the other; unregistered, it is judged by "default" (where no
    value applies: warning); registered twice, refused."""
    d, w = snp
    good = reference_values()
    bad = dict(good, **{"snp.evidence.measurement": "00" * 48})
    r = d.admin("POST", "/v1/reference-values", {"reference_values": [
        {"name": k, "value": v, "scope": "group:" + g}
        for g, rv in (("g-good", good), ("g-bad", bad)) for k, v in rv.items()]})
    assert r.status == 201, r
    assert d.admin("POST", "/v1/resources/default/key/k1", raw=SECRET).status == 201

    def kbs():
        cookie, nonce = kbs_auth(d, "snp")
        priv, jwk = rsa_tee_key()
        r = kbs_attest_composite(d, cookie, nonce, jwk,
                                 w.evidence(kbs_composite_binding(nonce, jwk)))
        if r.status != 200:
            return r, None, None
        _, claims = verify_jwt(r.json()["token"], d.jwks())
        got = d.request("GET", "/kbs/v0/resource/default/key/k1", cookie=cookie)
        return r, claims, got

    r, claims, got = kbs()
    assert claims["submods"]["snp"]["ear.status"] == "warning", claims
    assert "turtle.node-id" not in claims
    assert got.status in (401, 403), got
    # registered in the good group (hex in capitals: compared without regard to case)
    assert d.admin("POST", "/v1/nodes", {"id": "cvm-a", "group": "g-good", "tee": "snp",
                                         "tee_identity": CHIP_ID.hex().upper()}).status == 201
    r, claims, got = kbs()
    assert claims["submods"]["snp"]["ear.status"] == "affirming", claims
    assert claims["turtle.node-id"] == "cvm-a"
    assert got.status == 200, got
    # the same node moved to the other group: the same evidence, contraindicated
    assert d.admin("POST", "/v1/nodes", {"id": "cvm-a", "group": "g-bad", "tee": "snp",
                                         "tee_identity": CHIP_ID.hex()}).status == 201
    r, claims, got = kbs()
    sub = claims["submods"]["snp"]
    assert sub["ear.status"] == "contraindicated", sub
    assert any(x.startswith("snp.evidence.measurement") for x in sub["turtle.reasons"]), sub
    assert got.status in (401, 403), got
    # a node of another tee with the same identity text is not this platform's
    assert d.admin("POST", "/v1/nodes", {"id": "cca-x", "group": "g-good", "tee": "cca",
                                         "tee_identity": CHIP_ID.hex()}).status == 201
    r, claims, got = kbs()
    assert claims["submods"]["snp"]["ear.status"] == "contraindicated", claims
    # one platform registered twice: which group applies would be a guess
    assert d.admin("POST", "/v1/nodes", {"id": "cvm-b", "group": "g-good", "tee": "snp",
                                         "tee_identity": CHIP_ID.hex()}).status == 201
    r, claims, got = kbs()
    p = problem(r, 401)
    assert "several registered nodes" in p["detail"], p


def test_snp_kbs_unbound_evidence_refused(snp):
    d, w = snp
    cookie, nonce = kbs_auth(d, "snp")
    _, jwk = rsa_tee_key()
    ev = w.evidence(hashlib.sha384(b"something else").digest())
    body = {"runtime-data": {"nonce": nonce, "tee-pubkey": jwk}, "tee-evidence": ev}
    assert d.request("POST", "/kbs/v0/attest", body, cookie=cookie).status >= 400


def test_cca_and_virtcca_wired(as_factory):
    """The shared CCA token verifies in turtle-as up to the binding; secGear's virtCCA token
    (no platform token) is refused as not bound to its device."""
    d = as_factory()
    data = os.path.join(HERE, "..", "unit", "verify", "data")
    tok = open(os.path.join(data, "cca-token-01.cbor"), "rb").read()
    ch = d.challenge("cca")
    p = problem(attest(d, "cca", ch["nonce"], {"token": list(tok)}), 401)
    assert "report data" in p["detail"]
    vt = bytes.fromhex(open(os.path.join(data, "virtcca.cbor")).read().strip())
    aik = open(os.path.join(data, "virtcca_aik_cert.der"), "rb").read()
    ch = d.challenge("virtcca")
    r = attest(d, "virtcca", ch["nonce"], {"evidence": list(vt), "dev_cert": list(aik)})
    assert r.status >= 400


# -- Arm CCA: a synthetic platform (cca_synth.py) --------------------------------------

@pytest.fixture
def cca():
    root = tempfile.mkdtemp(prefix="turtle-cca-", dir="/tmp")
    os.chmod(root, 0o755)
    yield CcaWorld(os.path.join(root, "platform"))
    shutil.rmtree(root, ignore_errors=True)


def cca_refvals(d, rv):
    r = d.admin("POST", "/v1/reference-values", {"reference_values": [
        {"name": k, "value": v} for k, vs in rv.items() for v in vs]})
    assert r.status == 201, r


def test_cca_components_pinned_in_their_roles(as_factory, cca):
    """Each platform software component is its own measurement, named by its type: another
    component's approved measurement in its place, a pinned one missing, or an unknown
    one added is not affirming."""
    from cca_synth import SW
    d = as_factory(extra_args=("--tee-anchors", cca.anchors))
    cca_refvals(d, cca_reference_values())

    def status(sw):
        ch = d.challenge("cca")
        r = attest(d, "cca", ch["nonce"], cca.evidence(b64url_dec(ch["nonce"]), sw=sw))
        assert r.status == 200, r
        _, claims = verify_jwt(r.json()["token"], d.jwks())
        return r.json()["status"], claims["submods"]["cca"]

    st, sub = status(SW)
    assert st == "affirming", (sub.get("turtle.reasons"), sub["turtle.claims"]["measurements"])
    meas = sub["turtle.claims"]["measurements"]
    for t, _ in SW:
        assert "cca.platform.cca-platform-sw-components.%s.measurement-value" % t in meas
    (t0, m0), (t1, m1) = SW
    st, sub = status([(t0, m1), (t1, m0)])          # swapped: each approved, wrong role
    assert st == "contraindicated", sub
    st, sub = status([(t0, m0)])                    # the second one missing
    assert st == "contraindicated", sub
    assert any(t1 in r and "absent" in r for r in sub["turtle.reasons"]), sub
    st, sub = status(SW + [("EXTRA", hashlib.sha256(b"x").digest())])   # unknown
    assert st == "warning", sub


def test_cca_native_affirming_and_refusals(as_factory, cca):
    d = as_factory(extra_args=("--tee-anchors", cca.anchors))
    cca_refvals(d, cca_reference_values())
    ch = d.challenge("cca")
    r = attest(d, "cca", ch["nonce"], cca.evidence(b64url_dec(ch["nonce"])))
    assert r.status == 200, r
    _, claims = verify_jwt(r.json()["token"], d.jwks())
    sub = claims["submods"]["cca"]
    assert r.json()["status"] == "affirming", sub
    assert sub["turtle.claims"]["cca"]["realm"]["cca-realm-hash-algo-id"] == "sha-256"
    # another realm image: contraindicated
    ch = d.challenge("cca")
    r = attest(d, "cca", ch["nonce"], cca.evidence(b64url_dec(ch["nonce"]), rim=b"\x01" * 32))
    assert r.status == 200 and r.json()["status"] == "contraindicated", r
    # bound to another challenge
    ch = d.challenge("cca")
    p = problem(attest(d, "cca", ch["nonce"], cca.evidence(b"\x02" * 32)), 401)
    assert "report data" in p["detail"]
    # one byte of the token changed
    ch = d.challenge("cca")
    ev = cca.evidence(b64url_dec(ch["nonce"]))
    ev["token"][len(ev["token"]) // 2] ^= 1
    assert attest(d, "cca", ch["nonce"], ev).status >= 400


def test_cca_debug_lifecycle_not_affirming(as_factory, cca):
    """A platform token in a debug or provisioning lifecycle state (PSA: 0x4000 non-PSA-RoT
    debug, 0x5000 recoverable PSA-RoT debug, 0x2000 provisioning) is signed like a secured
    one; with every other measurement pinned it must not be affirming, over the native API
    nor over KBS (no secret released)."""
    d = as_factory(extra_args=("--tee-anchors", cca.anchors))
    cca_refvals(d, cca_reference_values())
    for lc in (0x2000, 0x4000, 0x5000):
        ch = d.challenge("cca")
        r = attest(d, "cca", ch["nonce"], cca.evidence(b64url_dec(ch["nonce"]), lifecycle=lc))
        assert r.status == 200, r
        assert r.json()["status"] == "contraindicated", (lc, r.json())
        _, claims = verify_jwt(r.json()["token"], d.jwks())
        assert any("cca-platform-lifecycle" in x
                   for x in claims["submods"]["cca"]["turtle.reasons"]), claims
    assert d.admin("POST", "/v1/resources/default/key/k1", raw=SECRET).status == 201
    cookie, nonce = kbs_auth(d, "cca")
    _, jwk = rsa_tee_key()
    body = {"runtime-data": {"nonce": nonce, "tee-pubkey": jwk},
            "tee-evidence": cca.evidence(kbs_runtime_binding(nonce, jwk), lifecycle=0x5000)}
    assert d.request("POST", "/kbs/v0/attest", body, cookie=cookie).status == 200
    r = d.request("GET", "/kbs/v0/resource/default/key/k1", cookie=cookie)
    assert r.status in (401, 403), r


def test_cca_builtin_anchors_refuse_unknown_platform(as_factory, cca):
    d = as_factory()
    ch = d.challenge("cca")
    p = problem(attest(d, "cca", ch["nonce"], cca.evidence(b64url_dec(ch["nonce"]))), 404)
    assert "CPAK" in p["detail"]


def test_cca_kbs_releases_secret(as_factory, cca):
    d = as_factory(extra_args=("--tee-anchors", cca.anchors))
    cca_refvals(d, cca_reference_values())
    assert d.admin("POST", "/v1/resources/default/key/k1", raw=SECRET).status == 201
    cookie, nonce = kbs_auth(d, "cca")
    priv, jwk = rsa_tee_key()
    body = {"runtime-data": {"nonce": nonce, "tee-pubkey": jwk},
            "tee-evidence": cca.evidence(kbs_runtime_binding(nonce, jwk))}
    r = d.request("POST", "/kbs/v0/attest", body, cookie=cookie)
    assert r.status == 200, r
    r = d.request("GET", "/kbs/v0/resource/default/key/k1", cookie=cookie)
    assert r.status == 200, r
    assert jwe_decrypt_rsa(priv, r.json()) == SECRET


def test_snp_register_node_from_evidence(snp):
    """POST /v1/nodes with "evidence": verified without a challenge (any report data), the
    chip id it carries registered; a changed byte, a masked chip id, malformed evidence and
    a tee_identity the evidence does not carry are refused, and nothing is stored."""
    d, w = snp
    refvals(d, reference_values())

    def reg(node, ev, **kw):
        return d.admin("POST", "/v1/nodes", dict({"id": node, "group": "default",
                                                  "tee": "snp", "evidence": ev}, **kw))

    ev = w.evidence(b"any report data: no challenge at registration")
    r = reg("cvm1", ev)
    assert r.status == 201, r
    assert r.json()["tee_identity"] == CHIP_ID.hex()
    assert d.admin("GET", "/v1/nodes/cvm1").json()["tee_identity"] == CHIP_ID.hex()
    # the registered node attests with fresh evidence
    ch = d.challenge("snp", node_id="cvm1")
    r = attest(d, "snp", ch["nonce"], w.evidence(b64url_dec(ch["nonce"])))
    assert r.status == 200 and r.json()["status"] == "affirming", r
    bad = json.loads(json.dumps(ev))
    bad["attestation_report"]["host_data"][0] ^= 1
    assert "signature" in problem(reg("cvm2", bad), 401)["detail"]
    p = problem(reg("cvm2", ev, tee_identity="ab" * 64), 400)
    assert "not the identity the evidence carries" in p["detail"]
    masked = w.evidence(b"x", chip_id=bytes(64))
    # (with a VCEK the chip id must be the VCEK's hwID; a masked one is never registered)
    assert "hwID" in problem(reg("cvm2", masked), 401)["detail"]
    assert problem(reg("cvm2", {"attestation_report": {}}), 400)
    assert problem(reg("cvm2", "not an object"), 400)
    assert d.admin("GET", "/v1/nodes/cvm2").status == 404
