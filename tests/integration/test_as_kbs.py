"""turtle-as KBS protocol (Trustee's kbs_attestation_protocol.md) with the sample tee:
auth -> attest -> resource as a JWE encrypted to the TEE key, decrypted here with
python3-cryptography; refusals without a session, without an affirming attestation, and
with evidence not bound to the runtime data."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from as_harness import (as_bin, as_factory, asd, jwe_decrypt_rsa,  # noqa: E402,F401
                        kbs_runtime_binding, problem, rsa_tee_key, sample_evidence,
                        verify_jwt)

SECRET = b"top secret \x00\x01 value"


def kbs_auth(d, tee="sample"):
    r = d.request("POST", "/kbs/v0/auth", {"version": "0.1.0", "tee": tee, "extra-params": ""})
    assert r.status == 200, r
    sid = r.cookie("kbs-session-id")
    assert sid
    return "kbs-session-id=" + sid, r.json()


def kbs_attest(d, cookie, nonce, jwk, claims=None, new_form=True, bind_nonce=None):
    binding = kbs_runtime_binding(bind_nonce or nonce, jwk)
    ev = sample_evidence(binding, claims)
    if new_form:
        body = {"runtime-data": {"nonce": nonce, "tee-pubkey": jwk}, "tee-evidence": ev}
    else:
        body = {"tee-pubkey": jwk, "tee-evidence": ev}
    return d.request("POST", "/kbs/v0/attest", body, cookie=cookie)


def affirming_setup(d):
    assert d.admin("POST", "/v1/policies", {"group": "default", "id": "kbs-test",
                                            "sample_affirming": True}).status == 201
    assert d.admin("POST", "/v1/reference-values", {"reference_values": [
        {"name": "svn", "value": "1"}]}).status == 201
    assert d.admin("POST", "/v1/resources/default/key/k1", raw=SECRET).status == 201


def test_kbs_auth_challenge(asd):
    cookie, ch = kbs_auth(asd)
    assert isinstance(ch["nonce"], str) and len(ch["nonce"]) >= 43
    assert "extra-params" in ch
    problem(asd.request("POST", "/kbs/v0/auth", {"version": "0.1.0", "tee": "intel-tdx"}), 501)
    problem(asd.request("POST", "/kbs/v0/auth", {"tee": "sample"}), 400)


def test_kbs_full_flow_releases_resource(asd):
    affirming_setup(asd)
    priv, jwk = rsa_tee_key()
    cookie, ch = kbs_auth(asd)
    r = kbs_attest(asd, cookie, ch["nonce"], jwk, {"svn": "1"})
    assert r.status == 200, r
    _, claims = verify_jwt(r.json()["token"], asd.jwks())
    assert claims["submods"]["sample"]["ear.status"] == "affirming"
    assert claims["tee-pubkey"] == jwk
    assert claims["eat_nonce"] == ch["nonce"]
    r = asd.request("GET", "/kbs/v0/resource/default/key/k1", cookie=cookie)
    assert r.status == 200, r
    jwe = r.json()
    for k in ("protected", "encrypted_key", "iv", "ciphertext", "tag"):
        assert k in jwe, jwe
    assert jwe_decrypt_rsa(priv, jwe) == SECRET
    # empty repository means "default"
    r = asd.request("GET", "/kbs/v0/resource//key/k1", cookie=cookie)
    assert r.status == 200 and jwe_decrypt_rsa(priv, r.json()) == SECRET
    problem(asd.request("GET", "/kbs/v0/resource/default/key/none", cookie=cookie), 404)


def test_kbs_old_form_tee_pubkey(asd):
    affirming_setup(asd)
    priv, jwk = rsa_tee_key()
    cookie, ch = kbs_auth(asd)
    assert kbs_attest(asd, cookie, ch["nonce"], jwk, {"svn": "1"}, new_form=False).status == 200
    r = asd.request("GET", "/kbs/v0/resource/default/key/k1", cookie=cookie)
    assert jwe_decrypt_rsa(priv, r.json()) == SECRET


def test_kbs_resource_refused_without_affirming(asd):
    """Default policy: sample is never affirming, so nothing is released."""
    asd.admin("POST", "/v1/resources/default/key/k1", raw=SECRET)
    asd.admin("POST", "/v1/reference-values", {"reference_values": [{"name": "svn", "value": "1"}]})
    _, jwk = rsa_tee_key()
    cookie, ch = kbs_auth(asd)
    r = kbs_attest(asd, cookie, ch["nonce"], jwk, {"svn": "1"})
    assert r.status == 200, r
    _, claims = verify_jwt(r.json()["token"], asd.jwks())
    assert claims["submods"]["sample"]["ear.status"] != "affirming"
    p = problem(asd.request("GET", "/kbs/v0/resource/default/key/k1", cookie=cookie), 401)
    assert "affirming" in p["detail"]


def test_kbs_contraindicated_not_released(asd):
    affirming_setup(asd)
    _, jwk = rsa_tee_key()
    cookie, ch = kbs_auth(asd)
    assert kbs_attest(asd, cookie, ch["nonce"], jwk, {"svn": "0"}).status == 200
    problem(asd.request("GET", "/kbs/v0/resource/default/key/k1", cookie=cookie), 401)


def test_kbs_resource_without_session(asd):
    affirming_setup(asd)
    problem(asd.request("GET", "/kbs/v0/resource/default/key/k1"), 401)
    problem(asd.request("GET", "/kbs/v0/resource/default/key/k1",
                        cookie="kbs-session-id=forged"), 401)
    cookie, _ = kbs_auth(asd)   # authenticated, not attested
    problem(asd.request("GET", "/kbs/v0/resource/default/key/k1", cookie=cookie), 401)


def test_kbs_attest_requires_session(asd):
    _, jwk = rsa_tee_key()
    _, ch = kbs_auth(asd)
    problem(kbs_attest(asd, None, ch["nonce"], jwk), 401)


def test_kbs_binding_checked(asd):
    affirming_setup(asd)
    _, jwk = rsa_tee_key()
    _, other = rsa_tee_key()
    cookie, ch = kbs_auth(asd)
    # evidence bound to a different key than the one presented
    binding = kbs_runtime_binding(ch["nonce"], other)
    r = asd.request("POST", "/kbs/v0/attest", {"runtime-data": {"nonce": ch["nonce"],
                    "tee-pubkey": jwk}, "tee-evidence": sample_evidence(binding, {"svn": "1"})},
                    cookie=cookie)
    problem(r, 401)
    problem(asd.request("GET", "/kbs/v0/resource/default/key/k1", cookie=cookie), 401)


def test_kbs_wrong_runtime_nonce(asd):
    _, jwk = rsa_tee_key()
    cookie, ch = kbs_auth(asd)
    problem(kbs_attest(asd, cookie, "AAAA" + ch["nonce"][4:], jwk), 401)


def test_kbs_challenge_single_use(asd):
    affirming_setup(asd)
    _, jwk = rsa_tee_key()
    cookie, ch = kbs_auth(asd)
    assert kbs_attest(asd, cookie, ch["nonce"], jwk, {"svn": "1"}).status == 200
    p = problem(kbs_attest(asd, cookie, ch["nonce"], jwk, {"svn": "1"}), 401)
    assert "already answered" in p["detail"]


def test_kbs_session_expiry(as_factory):
    import time
    d = as_factory(config="[as]\nsession_ttl = 1\n")
    affirming_setup(d)
    _, jwk = rsa_tee_key()
    cookie, ch = kbs_auth(d)
    time.sleep(2.2)
    p = problem(kbs_attest(d, cookie, ch["nonce"], jwk, {"svn": "1"}), 401)
    assert "expired" in p["detail"]
