"""turtle-as with a Rego appraisal policy (src/policy/rego_engine.c) over real HTTP: a
policy in Trustee's EAR style is uploaded for a node group, sample evidence is appraised
with it, and the EAR token (checked against the JWKS) carries the trustworthiness vector
the policy computes; a policy with a syntax error is refused at upload with its line."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from as_harness import (as_bin, as_factory, asd, b64url_dec, problem,  # noqa: E402,F401
                        sample_evidence, verify_jwt)

POLICY = """package policy

import rego.v1

default executables := 33
default hardware := 97
default configuration := 36

executables := 3 if {
	input.sample.measurements["boot.kernel"] in query_reference_value("boot.kernel")
}

hardware := 2 if input.tee == "sample"

configuration := 2 if {
	some v in query_reference_value("pcr.sha256.7")
	input.measurements["pcr.sha256.7"] == v
}

reasons contains sprintf("unknown kernel %s", [k]) if {
	k := input.measurements["boot.kernel"]
	not k in query_reference_value("boot.kernel")
}
"""


def attest(d, claims):
    ch = d.challenge("sample", None)
    ev = sample_evidence(b64url_dec(ch["nonce"]), claims)
    r = d.request("POST", "/v1/attest", {"nonce": ch["nonce"], "tee": "sample", "evidence": ev})
    assert r.status == 200, r
    _, c = verify_jwt(r.json()["token"], d.jwks())
    return c, c["submods"]["sample"]


def test_rego_policy_appraises(asd):
    r = asd.admin("POST", "/v1/policies", {"group": "default", "id": "trustee-style",
                                           "engine": "rego", "rego": POLICY,
                                           "sample_affirming": True})
    assert r.status == 201, r
    r = asd.admin("POST", "/v1/reference-values", {"reference_values": [
        {"name": "pcr.sha256.7", "value": "77" * 32},
        {"name": "boot.kernel", "value": "k1"},
    ]})
    assert r.status == 201, r

    c, sm = attest(asd, {"pcr.sha256.7": "77" * 32, "boot.kernel": "k1"})
    assert c["ear.appraisal-policy-id"] == "policy:rego/trustee-style"
    assert sm["ear.status"] == "affirming", sm
    assert sm["ear.trustworthiness-vector"] == {"executables": 3, "hardware": 2,
                                                "configuration": 2}

    # an unknown kernel: executables falls to 33 (warning) with the policy's reason
    c, sm = attest(asd, {"pcr.sha256.7": "77" * 32, "boot.kernel": "evil"})
    assert sm["ear.status"] == "warning", sm
    assert sm["ear.trustworthiness-vector"]["executables"] == 33
    assert "unknown kernel evil" in sm["turtle.reasons"]

    # a PCR that matches nothing: configuration 36
    c, sm = attest(asd, {"pcr.sha256.7": "00" * 32, "boot.kernel": "k1"})
    assert sm["ear.status"] == "warning", sm
    assert sm["ear.trustworthiness-vector"]["configuration"] == 36


def test_rego_policy_sample_is_capped(asd):
    # without sample_affirming the rules every engine is held to cap sample evidence
    r = asd.admin("POST", "/v1/policies", {"group": "default", "engine": "rego",
                                           "rego": POLICY})
    assert r.status == 201, r
    asd.admin("POST", "/v1/reference-values", {"reference_values": [
        {"name": "pcr.sha256.7", "value": "77" * 32}, {"name": "boot.kernel", "value": "k1"}]})
    _, sm = attest(asd, {"pcr.sha256.7": "77" * 32, "boot.kernel": "k1"})
    assert sm["ear.status"] == "warning", sm


def test_rego_policy_refused_at_upload(asd):
    bad = "package policy\n\nhardware := 2 if {\n\tinput.tee == == \"sample\"\n}\n"
    p = problem(asd.admin("POST", "/v1/policies", {"group": "default", "engine": "rego",
                                                   "rego": bad}), 400)
    assert "policy-0.rego:4:" in p["detail"], p
    assert "rego_parse_error" in p["detail"], p
    problem(asd.admin("POST", "/v1/policies", {"group": "default", "engine": "rego"}), 400)
    # nothing was stored
    problem(asd.admin("GET", "/v1/policies/default"), 404)
