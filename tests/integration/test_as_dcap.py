"""turtle-as with Intel TDX and SGX evidence end to end: quotes from a synthetic DCAP world
(dcap_synth.py: test root installed with --tee-anchors, collateral current at the real clock
in --tee-collateral) bound to turtle-as's challenges, with the CC event log, over the native
API and KBS; appraised by the default policy against "tdx."-named reference values; TCB
statuses other than UpToDate, a revoked PCK and stale collateral refused; node-bound
challenges by PPID; the shared real quote (Intel's chain, collateral expired at the real
clock) refused. SGX: the same world's v3 quotes, native and KBS."""

import base64
import hashlib
import os
import shutil
import sys
import struct
import tempfile

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from as_harness import (as_bin, as_factory, b64url_dec, jwe_decrypt_rsa,  # noqa: E402,F401
                        kbs_attest_composite, kbs_auth, kbs_composite_binding, problem,
                        refvals, rsa_tee_key, verify_jwt)
import dcap_synth  # noqa: E402
from dcap_synth import (MR_ENCLAVE, MR_SIGNER, MR_TD, PPID, SGX_ATTRIBUTES,  # noqa: E402
                        XFAM)

HERE = os.path.dirname(os.path.abspath(__file__))
SECRET = b"tdx guest secret"


class World:
    """A synthetic platform written where turtle-as (running as nobody) can read it."""

    def __init__(self, **case):
        self.dir = tempfile.mkdtemp(prefix="turtle-tdx-", dir="/tmp")
        os.chmod(self.dir, 0o755)
        self.w = dcap_synth.DcapWorld.current()
        self.anchors = os.path.join(self.dir, "anchors")
        self.collateral = os.path.join(self.dir, "collateral")
        self.install(**case)

    def install(self, **case):
        self.w.install(self.anchors, self.collateral, **case)
        for root, dirs, files in os.walk(self.dir):
            for n in dirs:
                os.chmod(os.path.join(root, n), 0o755)
            for n in files:
                os.chmod(os.path.join(root, n), 0o644)

    def evidence(self, report_data, **kw):
        return self.w.evidence(report_data, **kw)


@pytest.fixture
def world():
    w = World()
    yield w
    shutil.rmtree(w.dir, ignore_errors=True)


@pytest.fixture
def tdx(as_factory, world):
    d = as_factory(extra_args=("--tee-anchors", world.anchors,
                               "--tee-collateral", world.collateral))
    return d, world


def reference_values():
    log, rtmr = dcap_synth.ccel()
    rv = {"tdx.quote.body.mr_td": MR_TD.hex(), "tdx.quote.body.mr_seam": "00" * 48,
          "tdx.quote.body.mr_config_id": "00" * 48, "tdx.quote.body.xfam": XFAM.hex(),
          "tdx.td_attributes.debug": "false", "tdx.tcb_status": "UpToDate"}
    for i in range(4):
        rv["tdx.quote.body.rtmr_%d" % i] = rtmr[i].hex()
    return rv


def attest(d, nonce, evidence):
    return d.request("POST", "/v1/attest", {"nonce": nonce, "tee": "tdx",
                                            "evidence": evidence})


def test_tdx_native_affirming(tdx):
    d, w = tdx
    refvals(d, reference_values())
    ch = d.challenge("tdx")
    r = attest(d, ch["nonce"], w.evidence(b64url_dec(ch["nonce"])))
    assert r.status == 200, r
    _, claims = verify_jwt(r.json()["token"], d.jwks())
    sub = claims["submods"]["tdx"]
    assert r.json()["status"] == "affirming", sub
    tc = sub["turtle.claims"]
    assert tc["tdx"]["quote"]["body"]["mr_td"] == MR_TD.hex()
    assert tc["tdx"]["quote"]["header"]["version"] == "0500"
    assert tc["tdx"]["tcb_status"] == "UpToDate"
    assert len(tc["tdx"]["uefi_event_logs"]) == 4
    assert tc["measurements"]["tdx.quote.body.rtmr_1"] == dcap_synth.ccel()[1][1].hex()
    names = [l["name"] for l in tc["chain"]]
    assert names[:3] == ["root-ca", "pck-ca", "pck"] and "ccel" in names


def test_tdx_wrong_mr_td_not_affirming(tdx):
    d, w = tdx
    rv = reference_values()
    rv["tdx.quote.body.mr_td"] = "00" * 48
    refvals(d, rv)
    ch = d.challenge("tdx")
    r = attest(d, ch["nonce"], w.evidence(b64url_dec(ch["nonce"])))
    assert r.status == 200 and r.json()["status"] != "affirming", r


def test_tdx_refusals(tdx):
    d, w = tdx
    refvals(d, reference_values())
    # Bound to another nonce.
    ch = d.challenge("tdx")
    p = problem(attest(d, ch["nonce"], w.evidence(b"another nonce")), 401)
    assert "binding" in p["detail"] or "report data" in p["detail"], p
    # A quote byte flipped (mr_td): the attestation key's signature fails.
    ch = d.challenge("tdx")
    ev = w.evidence(b64url_dec(ch["nonce"]))
    q = bytearray(base64.b64decode(ev["quote"]))
    q[54 + 136] ^= 1
    ev["quote"] = base64.b64encode(bytes(q)).decode()
    r = attest(d, ch["nonce"], ev)
    assert r.status >= 400 and "quote-signature" in r.json()["detail"], r
    # An event log entry dropped: the replay no longer equals the RTMRs.
    ch = d.challenge("tdx")
    ev = w.evidence(b64url_dec(ch["nonce"]))
    log = base64.b64decode(ev["cc_eventlog"])
    ev["cc_eventlog"] = base64.b64encode(log[:-32 - 94]).decode()
    r = attest(d, ch["nonce"], ev)
    assert r.status >= 400 and "eventlog" in r.json()["detail"], r


@pytest.mark.parametrize("case,why", [
    (dict(status="OutOfDate", advisories=["INTEL-SA-00001"]), "OutOfDate is not accepted"),
    (dict(status="Revoked"), "Revoked is not accepted"),
    (dict(qe=[(9, "UpToDate", None), (1, "OutOfDate", None)]), "OutOfDate is not accepted"),
    ("pck-revoked", "pck-revoked"),
])
def test_tdx_status_and_revocation_refused(as_factory, case, why):
    w = World()
    try:
        if case == "pck-revoked":
            w.install(pck_crl=w.w.crl("Turtle Test SGX PCK Platform CA", w.w.ca_k,
                                      [dcap_synth.PCK_SERIAL]))
        else:
            w.install(**case)
        d = as_factory(extra_args=("--tee-anchors", w.anchors, "--tee-collateral",
                                   w.collateral))
        refvals(d, reference_values())
        ch = d.challenge("tdx")
        r = attest(d, ch["nonce"], w.evidence(b64url_dec(ch["nonce"])))
        assert r.status >= 400, r
        assert why in r.json()["detail"], r.json()
    finally:
        shutil.rmtree(w.dir, ignore_errors=True)


def test_tdx_td15_relaunch_advised_not_affirming(tdx):
    """A TD 1.5 quote of a TD whose TDX module (TDX_01 SVN 2) is OutOfDate on a platform
    that now runs a current one (tee_tcb_svn_2: SVN 4): Intel's TDRelaunchAdvised, which is
    not UpToDate, so refused with that status; the same TD on a platform still running the
    old module is OutOfDate; a TD 1.5 quote of a current TD is affirming."""
    d, w = tdx
    refvals(d, reference_values())
    old, now = bytes([2, 1, 2]) + bytes(13), bytes([4, 1, 2]) + bytes(13)
    for svn2, why in ((now, "tcb-status: TDRelaunchAdvised is not accepted"),
                      (old, "tcb-status: OutOfDate is not accepted")):
        ch = d.challenge("tdx")
        r = attest(d, ch["nonce"], w.evidence(b64url_dec(ch["nonce"]), tee_tcb_svn=old,
                                              tee_tcb_svn2=svn2))
        assert r.status >= 400 and why in r.json()["detail"], r.json()
    ch = d.challenge("tdx")
    r = attest(d, ch["nonce"], w.evidence(b64url_dec(ch["nonce"]), tee_tcb_svn=now,
                                          tee_tcb_svn2=now))
    assert r.status == 200 and r.json()["status"] == "affirming", r


def test_tdx_without_collateral_or_anchor_refused(as_factory, world):
    d = as_factory(extra_args=("--tee-anchors", world.anchors))
    ch = d.challenge("tdx")
    r = attest(d, ch["nonce"], world.evidence(b64url_dec(ch["nonce"])))
    assert r.status >= 400 and "collateral-missing" in r.json()["detail"], r
    d = as_factory(extra_args=("--tee-collateral", world.collateral))
    ch = d.challenge("tdx")
    r = attest(d, ch["nonce"], world.evidence(b64url_dec(ch["nonce"])))
    assert r.status >= 400, r                   # Intel's root does not sign the test chain


def test_tdx_node_identity(tdx):
    d, w = tdx
    refvals(d, reference_values())
    assert d.admin("POST", "/v1/nodes", {"id": "td1", "group": "default", "tee": "tdx",
                                         "tee_identity": PPID.hex()}).status == 201
    assert d.admin("POST", "/v1/nodes", {"id": "td2", "group": "default", "tee": "tdx",
                                         "tee_identity": "ab" * 16}).status == 201
    ch = d.challenge("tdx", node_id="td1")
    r = attest(d, ch["nonce"], w.evidence(b64url_dec(ch["nonce"])))
    assert r.status == 200 and r.json()["status"] == "affirming", r
    ch = d.challenge("tdx", node_id="td2")
    p = problem(attest(d, ch["nonce"], w.evidence(b64url_dec(ch["nonce"]))), 401)
    assert "tee_identity" in p["detail"]


def test_tdx_kbs_releases_secret(tdx):
    d, w = tdx
    refvals(d, reference_values())
    assert d.admin("POST", "/v1/resources/default/key/k1", raw=SECRET).status == 201
    cookie, nonce = kbs_auth(d, "tdx")
    priv, jwk = rsa_tee_key()
    ev = w.evidence(kbs_composite_binding(nonce, jwk))
    r = kbs_attest_composite(d, cookie, nonce, jwk, ev)
    assert r.status == 200, r
    _, claims = verify_jwt(r.json()["token"], d.jwks())
    assert claims["submods"]["tdx"]["ear.status"] == "affirming"
    r = d.request("GET", "/kbs/v0/resource/default/key/k1", cookie=cookie)
    assert r.status == 200, r
    assert jwe_decrypt_rsa(priv, r.json()) == SECRET


def test_tdx_kbs_unbound_evidence_refused(tdx):
    d, w = tdx
    refvals(d, reference_values())
    cookie, nonce = kbs_auth(d, "tdx")
    _, jwk = rsa_tee_key()
    ev = w.evidence(hashlib.sha384(b"something else").digest())
    body = {"runtime-data": {"nonce": nonce, "tee-pubkey": jwk}, "tee-evidence": ev}
    assert d.request("POST", "/kbs/v0/attest", body, cookie=cookie).status >= 400
    assert d.request("GET", "/kbs/v0/resource/default/key/k1",
                     cookie=cookie).status >= 400


def test_real_quote_refused_at_the_real_clock(as_factory):
    """The shared Intel-signed quote verifies only inside its collateral's 2025 window;
    at turtle-as's clock the collateral is expired, so it is refused whatever the nonce."""
    data = os.path.join(HERE, "..", "unit", "verify", "data", "dcap")
    tmp = tempfile.mkdtemp(prefix="turtle-tdx-real-", dir="/tmp")
    try:
        os.chmod(tmp, 0o755)
        shutil.copy(os.path.join(data, "tdx_quote_collateral.json"),
                    os.path.join(tmp, "tdx-b0c06f000000.json"))
        os.chmod(os.path.join(tmp, "tdx-b0c06f000000.json"), 0o644)
        d = as_factory(extra_args=("--tee-collateral", tmp))
        ch = d.challenge("tdx")
        quote = open(os.path.join(data, "tdx_quote"), "rb").read()
        r = attest(d, ch["nonce"], {"quote": base64.b64encode(quote).decode()})
        assert r.status >= 400, r
        detail = r.json()["detail"]
        assert "expired" in detail or "crl" in detail, detail
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ---- SGX ----

def sgx_reference_values():
    return {"sgx.body.mr_enclave": MR_ENCLAVE.hex(), "sgx.body.mr_signer": MR_SIGNER.hex(),
            "sgx.body.isv_prod_id": "0100", "sgx.body.isv_svn": "0200",
            "sgx.body.attributes.flags": SGX_ATTRIBUTES[:8].hex(),
            "sgx.tcb_status": "UpToDate"}


def test_sgx_native_affirming(tdx):
    d, w = tdx
    refvals(d, sgx_reference_values())
    ch = d.challenge("sgx")
    r = d.request("POST", "/v1/attest", {"nonce": ch["nonce"], "tee": "sgx",
                                         "evidence": w.w.evidence_sgx(b64url_dec(ch["nonce"]))})
    assert r.status == 200, r
    _, claims = verify_jwt(r.json()["token"], d.jwks())
    sub = claims["submods"]["sgx"]
    assert r.json()["status"] == "affirming", sub
    tc = sub["turtle.claims"]
    assert tc["sgx"]["body"]["mr_enclave"] == MR_ENCLAVE.hex()
    assert tc["sgx"]["header"]["version"] == "0300"
    assert tc["measurements"]["sgx.body.mr_signer"] == MR_SIGNER.hex()
    # A TDX quote is not SGX evidence, and SGX evidence is not TDX evidence.
    ch = d.challenge("sgx")
    r = d.request("POST", "/v1/attest", {"nonce": ch["nonce"], "tee": "sgx",
                                         "evidence": w.evidence(b64url_dec(ch["nonce"]))})
    assert r.status >= 400, r
    ch = d.challenge("tdx")
    r = attest(d, ch["nonce"], w.w.evidence_sgx(b64url_dec(ch["nonce"])))
    assert r.status >= 400, r


def test_sgx_debug_enclave_not_affirming(tdx):
    """An enclave launched with ATTRIBUTES.DEBUG has the same MRENCLAVE and MRSIGNER as the
    production one, and its memory is open to the host: with every other value pinned it
    must not be affirming, and KBS must not release a secret to it."""
    d, w = tdx
    refvals(d, sgx_reference_values())
    dbg = struct.pack("<QQ", 0x07, 0xE7)   # INIT | DEBUG | MODE64BIT
    ch = d.challenge("sgx")
    r = d.request("POST", "/v1/attest", {"nonce": ch["nonce"], "tee": "sgx", "evidence":
                                         w.w.evidence_sgx(b64url_dec(ch["nonce"]),
                                                          attributes=dbg)})
    assert r.status == 200, r
    _, claims = verify_jwt(r.json()["token"], d.jwks())
    sub = claims["submods"]["sgx"]
    assert r.json()["status"] == "contraindicated", sub
    assert any("attributes.flags" in x for x in sub["turtle.reasons"]), sub
    assert d.admin("POST", "/v1/resources/default/key/k3", raw=SECRET).status == 201
    cookie, nonce = kbs_auth(d, "sgx")
    _, jwk = rsa_tee_key()
    ev = w.w.evidence_sgx(kbs_composite_binding(nonce, jwk), attributes=dbg)
    assert kbs_attest_composite(d, cookie, nonce, jwk, ev).status == 200
    r = d.request("GET", "/kbs/v0/resource/default/key/k3", cookie=cookie)
    assert r.status in (401, 403), r


def test_sgx_kbs_releases_secret(tdx):
    d, w = tdx
    refvals(d, sgx_reference_values())
    assert d.admin("POST", "/v1/resources/default/key/k2", raw=SECRET).status == 201
    cookie, nonce = kbs_auth(d, "sgx")
    priv, jwk = rsa_tee_key()
    ev = w.w.evidence_sgx(kbs_composite_binding(nonce, jwk))
    r = kbs_attest_composite(d, cookie, nonce, jwk, ev)
    assert r.status == 200, r
    _, claims = verify_jwt(r.json()["token"], d.jwks())
    assert claims["submods"]["sgx"]["ear.status"] == "affirming"
    r = d.request("GET", "/kbs/v0/resource/default/key/k2", cookie=cookie)
    assert r.status == 200, r
    assert jwe_decrypt_rsa(priv, r.json()) == SECRET


# ---- a Rego policy over the TDX claims, written against Trustee's input names ----

TDX_POLICY = """package policy

import rego.v1

default executables := 33
default hardware := 97
default configuration := 36

hardware := 2 if {
	input.tdx.quote.header.tee_type == "81000000"
	input.tdx.quote.header.vendor_id == "939a7233f79c4ca9940a0db3957f0607"
	input.tdx.quote.body.mr_td in query_reference_value("mr_td")
	input.tdx.tcb_status == "UpToDate"
	input.tdx.collateral_expiration_status == "0"
}

configuration := 2 if {
	input.tdx.td_attributes.debug == false
	input.tdx.quote.body.xfam in query_reference_value("xfam")
}

executables := 3 if {
	input.tdx.quote.body.rtmr_1 in query_reference_value("rtmr_1")
	some event in input.tdx.uefi_event_logs
	event.type_name == "EV_EFI_ACTION"
	event.details.string == "Turtle synthetic kernel"
	some digest in event.digests
	digest.digest in query_reference_value("kernel")
}
"""


def test_tdx_rego_policy_on_trustee_names(tdx):
    d, w = tdx
    r = d.admin("POST", "/v1/policies", {"group": "default", "id": "tdx-trustee-names",
                                         "engine": "rego", "rego": TDX_POLICY})
    assert r.status == 201, r
    rtmr = dcap_synth.ccel()[1]
    refvals(d, {"mr_td": MR_TD.hex(), "xfam": XFAM.hex(), "rtmr_1": rtmr[1].hex(),
                "kernel": hashlib.sha384(b"Turtle synthetic kernel").hexdigest()})
    ch = d.challenge("tdx")
    r = attest(d, ch["nonce"], w.evidence(b64url_dec(ch["nonce"])))
    assert r.status == 200, r
    _, c = verify_jwt(r.json()["token"], d.jwks())
    sm = c["submods"]["tdx"]
    assert sm["ear.trustworthiness-vector"] == {"executables": 3, "hardware": 2,
                                                "configuration": 2}, sm
    assert sm["ear.status"] == "affirming", sm
    # Without the event log the kernel cannot be found: executables is not 3.
    ch = d.challenge("tdx")
    r = attest(d, ch["nonce"], w.evidence(b64url_dec(ch["nonce"]), with_ccel=False))
    assert r.status == 200, r
    _, c = verify_jwt(r.json()["token"], d.jwks())
    sm = c["submods"]["tdx"]
    assert sm["ear.trustworthiness-vector"]["executables"] == 33, sm
    assert sm["ear.status"] != "affirming", sm


@pytest.mark.parametrize("tee", ["tdx", "sgx"])
def test_register_node_from_evidence(tdx, tee):
    """POST /v1/nodes with TDX or SGX "evidence": the PCK certificate's PPID is registered;
    tampered evidence is refused and nothing is stored."""
    d, w = tdx
    ev = (w.evidence if tee == "tdx" else w.w.evidence_sgx)(b"registration")
    r = d.admin("POST", "/v1/nodes", {"id": "td1", "group": "default", "tee": tee,
                                      "evidence": ev})
    assert r.status == 201, r
    assert r.json()["tee_identity"] == PPID.hex()
    assert d.admin("GET", "/v1/nodes/td1").json()["tee_identity"] == PPID.hex()
    q = bytearray(base64.b64decode(ev["quote"]))
    q[100] ^= 1
    bad = dict(ev, quote=base64.b64encode(bytes(q)).decode())
    r = d.admin("POST", "/v1/nodes", {"id": "td2", "group": "default", "tee": tee,
                                      "evidence": bad})
    assert r.status == 401, r
    assert d.admin("GET", "/v1/nodes/td2").status == 404
