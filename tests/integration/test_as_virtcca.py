"""turtle-as with virtCCA evidence that carries a platform token (virtcca_synth.py: a test
root and sub CA given as --tee-anchors in Huawei's place, a device AIK, tokens over any
challenge): the platform's claims are appraised, not only verified. A genuine token is
affirming with its platform claims; a platform outside the PSA secured lifecycle state is
contraindicated whatever the reference values say (and KBS releases nothing to it); a
changed software component is contraindicated; a platform token that vouches for another
CVM key, or with any byte of it changed, is refused."""

import hashlib
import os
import shutil
import ssl
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from as_harness import (as_bin, as_factory, b64url_dec, kbs_auth,  # noqa: E402,F401
                        kbs_runtime_binding, problem, rsa_tee_key, verify_jwt)
from cca_synth import Tag, cbor  # noqa: E402
from virtcca_synth import (NOT_SECURED, SECURED, SW, VirtccaWorld,  # noqa: E402
                           reference_values)

SECRET = b"virtcca guest secret"


@pytest.fixture
def vcca(as_factory):
    root = tempfile.mkdtemp(prefix="turtle-vcca-", dir="/tmp")
    os.chmod(root, 0o755)
    w = VirtccaWorld(os.path.join(root, "device"))
    d = as_factory(extra_args=("--tee-anchors", w.anchors))
    yield d, w
    shutil.rmtree(root, ignore_errors=True)


def set_refvals(d, rv):
    r = d.admin("POST", "/v1/reference-values", {"reference_values": [
        {"name": k, "value": v} for k, vs in rv.items() for v in vs]})
    assert r.status == 201, r


def attest(d, evidence_for, **kw):
    """A fresh challenge, evidence bound to it, the attestation response."""
    ch = d.challenge("virtcca")
    return d.request("POST", "/v1/attest", {"nonce": ch["nonce"], "tee": "virtcca",
                                            "evidence": evidence_for(b64url_dec(ch["nonce"]),
                                                                     **kw)})


def reasons_of(d, r):
    _, claims = verify_jwt(r.json()["token"], d.jwks())
    return claims["submods"]["virtcca"]


def test_virtcca_platform_affirming(vcca):
    d, w = vcca
    set_refvals(d, reference_values())
    r = attest(d, w.evidence)
    assert r.status == 200, r
    sub = reasons_of(d, r)
    assert r.json()["status"] == "affirming", sub
    tc = sub["turtle.claims"]
    assert tc["measurements"]["vcca.platform.lifecycle"] == str(SECURED)
    for name, text in (("BL1", b"bl1"), ("BL2", b"bl2"), ("BL31", b"bl31"), ("RMM", b"rmm"),
                       ("HW_CONFIG", b"hw config"), ("SOC_FW_CONFIG", b"soc fw config")):
        assert tc["measurements"]["vcca.platform.measure_value." + name] == \
            hashlib.sha256(text).hexdigest()
    links = {l["name"]: l["verdict"] for l in tc["chain"]}
    assert links["platform token"] == "verified" and links["CVM key"] == "verified"
    assert links["platform lifecycle"] == "verified"


@pytest.mark.parametrize("pinned", [False, True])
def test_virtcca_lifecycle_not_secured_is_contraindicated(vcca, pinned):
    """Every lifecycle outside 0x3000-0x30FF (unknown, assembly and test, provisioning,
    both debug states, decommissioned, values between states) is contraindicated with a
    reason naming it: with every other value pinned, and even when an operator pinned that
    very lifecycle value as a reference value."""
    d, w = vcca
    rv = reference_values()
    if pinned:
        rv["vcca.platform.lifecycle"] = [str(lc) for lc in NOT_SECURED] + [str(SECURED)]
    set_refvals(d, rv)
    for lc in NOT_SECURED:
        r = attest(d, w.evidence, lifecycle=lc)
        assert r.status == 200, r
        assert r.json()["status"] == "contraindicated", (hex(lc), r.json())
        sub = reasons_of(d, r)
        want = "vcca.platform.lifecycle: 0x%04x" % lc
        assert any(x.startswith(want) and "not the secured lifecycle state" in x
                   for x in sub["turtle.reasons"]), (hex(lc), sub["turtle.reasons"])
        assert sub["ear.trustworthiness-vector"]["hardware"] == 96
    # 0x30FF is the secured state too: if anything, only its reference value differs
    r = attest(d, w.evidence, lifecycle=0x30FF)
    assert r.status == 200, r
    assert not any("not the secured lifecycle state" in x
                   for x in reasons_of(d, r)["turtle.reasons"]), r.json()


def test_virtcca_lifecycle_not_secured_without_refvals(vcca):
    """No reference values at all: a secured platform is a warning (nothing pinned), a
    debug one contraindicated, never merely a warning."""
    d, w = vcca
    r = attest(d, w.evidence)
    assert r.status == 200 and r.json()["status"] == "warning", r
    r = attest(d, w.evidence, lifecycle=0x4000)
    assert r.status == 200 and r.json()["status"] == "contraindicated", r


def test_virtcca_debug_platform_gets_no_secret(vcca):
    d, w = vcca
    set_refvals(d, reference_values())
    assert d.admin("POST", "/v1/resources/default/key/vk", raw=SECRET).status == 201
    for lc, released in ((SECURED, True), (0x5000, False)):
        cookie, nonce = kbs_auth(d, "virtcca")
        _, jwk = rsa_tee_key()
        body = {"runtime-data": {"nonce": nonce, "tee-pubkey": jwk},
                "tee-evidence": w.evidence(kbs_runtime_binding(nonce, jwk), lifecycle=lc)}
        r = d.request("POST", "/kbs/v0/attest", body, cookie=cookie)
        assert r.status == 200, r
        r = d.request("GET", "/kbs/v0/resource/default/key/vk", cookie=cookie)
        if released:
            assert r.status == 200, r
        else:
            assert r.status in (401, 403), r


def test_virtcca_sw_component_changed_is_contraindicated(vcca):
    d, w = vcca
    set_refvals(d, reference_values())
    sw = list(SW)
    sw[3] = ("RMM", hashlib.sha256(b"another rmm").digest(), "1.2")
    r = attest(d, w.evidence, sw=sw)
    assert r.status == 200 and r.json()["status"] == "contraindicated", r
    assert "vcca.platform.measure_value.RMM: does not match any reference value" in \
        reasons_of(d, r)["turtle.reasons"]
    # BL31 measured as another component's approved value
    sw = list(SW)
    sw[2] = ("BL31", SW[3][1], "2.1")
    r = attest(d, w.evidence, sw=sw)
    assert r.status == 200 and r.json()["status"] == "contraindicated", r
    assert "vcca.platform.measure_value.BL31: does not match any reference value" in \
        reasons_of(d, r)["turtle.reasons"]
    # a pinned component left out: required, absent
    r = attest(d, w.evidence, sw=SW[:3] + SW[4:])
    assert r.status == 200 and r.json()["status"] == "contraindicated", r
    assert any(x.startswith("vcca.platform.measure_value.RMM: required")
               for x in reasons_of(d, r)["turtle.reasons"]), reasons_of(d, r)
    # an extra component nobody pinned: not affirming
    r = attest(d, w.evidence, sw=SW + [("TEST_FW", bytes(32), "0")])
    assert r.status == 200 and r.json()["status"] == "warning", r


def test_virtcca_platform_refusals(vcca):
    d, w = vcca
    set_refvals(d, reference_values())
    # the platform vouches for another key than the CVM token's
    p = problem(attest(d, w.evidence, plat_challenge=hashlib.sha256(b"x").digest()), 401)
    assert "platform challenge is not the hash of the CVM key" in p["detail"], p
    # no platform token: not bound to the device
    p = problem(attest(d, w.evidence, platform=False), 403)
    assert "without a platform token" in p["detail"], p
    # bytes of the platform token (protected header, claims, signature) changed; the unit
    # test flips every byte, this samples them through the service
    ch = d.challenge("virtcca")
    plat = w.platform_token()
    tok = cbor(Tag(399, {44234: plat, 44241: w.cvm_token(b64url_dec(ch["nonce"]))}))
    off = tok.find(plat)
    assert off > 0
    for i in list(range(off, off + len(plat), 23)) + [off + len(plat) - 1]:
        ch = d.challenge("virtcca")
        t = bytearray(cbor(Tag(399, {44234: plat,
                                     44241: w.cvm_token(b64url_dec(ch["nonce"]))})))
        t[i] ^= 1
        r = d.request("POST", "/v1/attest", {"nonce": ch["nonce"], "tee": "virtcca",
                                             "evidence": {"evidence": list(t),
                                                          "dev_cert": list(w.aik_der())}})
        assert r.status in (400, 401), (i - off, r)


def test_virtcca_kbs_judged_by_node_group(vcca):
    """Over KBS the verified AIK certificate's SHA-256 finds the node registered with it,
    whose group's reference values judge the evidence; unregistered, "default" does."""
    d, w = vcca
    r = d.admin("POST", "/v1/reference-values", {"reference_values": [
        {"name": k, "value": v, "scope": "group:vcca-fleet"}
        for k, vs in reference_values().items() for v in vs]})
    assert r.status == 201, r

    def kbs_status():
        cookie, nonce = kbs_auth(d, "virtcca")
        _, jwk = rsa_tee_key()
        body = {"runtime-data": {"nonce": nonce, "tee-pubkey": jwk},
                "tee-evidence": w.evidence(kbs_runtime_binding(nonce, jwk))}
        r = d.request("POST", "/kbs/v0/attest", body, cookie=cookie)
        assert r.status == 200, r
        return verify_jwt(r.json()["token"], d.jwks())[1]

    assert kbs_status()["submods"]["virtcca"]["ear.status"] == "warning"
    assert d.admin("POST", "/v1/nodes", {
        "id": "kunpeng-1", "group": "vcca-fleet", "tee": "virtcca",
        "tee_identity": hashlib.sha256(w.aik_der()).hexdigest()}).status == 201
    claims = kbs_status()
    assert claims["submods"]["virtcca"]["ear.status"] == "affirming", claims
    assert claims["turtle.node-id"] == "kunpeng-1"


def test_virtcca_kbs_aik_encoding_cannot_pick_the_group(vcca):
    """The identity is the AIK certificate's, not its encoding's: the same AIK sent as PEM
    (or DER with PEM text around it) still finds the registered node, so a guest cannot
    step out of its node's group into "default" by re-encoding dev_cert."""
    d, w = vcca
    r = d.admin("POST", "/v1/reference-values", {"reference_values": [
        {"name": k, "value": v, "scope": "group:vcca-fleet"}
        for k, vs in reference_values().items() for v in vs]})
    assert r.status == 201, r
    assert d.admin("POST", "/v1/nodes", {
        "id": "kunpeng-1", "group": "vcca-fleet", "tee": "virtcca",
        "tee_identity": hashlib.sha256(w.aik_der()).hexdigest()}).status == 201
    pem = ssl.DER_cert_to_PEM_cert(w.aik_der()).encode()
    for dev_cert in (pem, b"some text before it\n" + pem, pem.replace(b"\n", b"\r\n")):
        cookie, nonce = kbs_auth(d, "virtcca")
        _, jwk = rsa_tee_key()
        ev = w.evidence(kbs_runtime_binding(nonce, jwk))
        ev["dev_cert"] = list(dev_cert)
        r = d.request("POST", "/kbs/v0/attest",
                      {"runtime-data": {"nonce": nonce, "tee-pubkey": jwk}, "tee-evidence": ev},
                      cookie=cookie)
        assert r.status == 200, r
        claims = verify_jwt(r.json()["token"], d.jwks())[1]
        assert claims.get("turtle.node-id") == "kunpeng-1", claims
        assert claims["submods"]["virtcca"]["ear.status"] == "affirming", claims


def test_virtcca_register_node_from_evidence(vcca):
    """POST /v1/nodes with virtCCA "evidence": the SHA-256 of the AIK certificate is
    registered; a token without a platform token (nothing binds it to the device) and a
    changed byte are refused, and nothing is stored."""
    d, w = vcca
    want = hashlib.sha256(w.aik_der()).hexdigest()
    r = d.admin("POST", "/v1/nodes", {"id": "kunpeng-1", "group": "default",
                                      "tee": "virtcca", "evidence": w.evidence(b"reg")})
    assert r.status == 201, r
    assert r.json()["tee_identity"] == want
    r = d.admin("POST", "/v1/nodes", {"id": "kunpeng-2", "group": "default", "tee": "virtcca",
                                      "evidence": w.evidence(b"reg", platform=False)})
    assert "platform token" in problem(r, 401)["detail"]
    ev = w.evidence(b"reg")
    ev["evidence"][len(ev["evidence"]) // 2] ^= 1
    r = d.admin("POST", "/v1/nodes", {"id": "kunpeng-2", "group": "default", "tee": "virtcca",
                                      "evidence": ev})
    assert r.status in (400, 401), r
    assert d.admin("GET", "/v1/nodes/kunpeng-2").status == 404
