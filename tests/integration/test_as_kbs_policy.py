"""turtle-as KBS resource-release policy (Rego, Trustee's KBS layout) over real HTTP: an
admin uploads a policy through /v1/resource-policy; the KBS resource route then releases
only what the policy allows, judged on the claims of the session's EAR token and the
resource path. A policy that does not compile is refused at upload with its line and
column; one that fails at run time refuses every release; removing it restores the
built-in rule (release to affirming sessions only)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from as_harness import (as_bin, as_factory, asd, jwe_decrypt_rsa, problem,  # noqa: E402,F401
                        rsa_tee_key)
from test_as_kbs import SECRET, affirming_setup, kbs_attest, kbs_auth  # noqa: E402

# Written for this test in the style of Trustee's KBS resource policies: data holds the
# path's sections, input the EAR claims; only keys of the default repository, and only
# to an attester some submodule of which is affirming.
KEYS_ONLY = """package policy

import rego.v1

default allow := false

path := data["resource-path"]

allow if {
	data.plugin == "resource"
	path[0] == "default"
	path[1] == "key"
	some sub in input.submods
	sub["ear.status"] == "affirming"
}
"""

# Compiles, but two complete definitions of `tier` both hold at run time: OPA's
# eval_conflict_error, so the policy never reaches a verdict.
CONFLICT = """package policy

import rego.v1

tier := 1 if input.submods
tier := 2 if input.submods

allow if tier == 1
"""

CERT = b"-----BEGIN CERTIFICATE----- not really"


def session(d, svn="1"):
    priv, jwk = rsa_tee_key()
    cookie, ch = kbs_auth(d)
    assert kbs_attest(d, cookie, ch["nonce"], jwk, {"svn": svn}).status == 200
    return priv, cookie


def get(d, cookie, path):
    return d.request("GET", "/kbs/v0/resource/" + path, cookie=cookie)


def test_resource_policy_decides_release(asd):
    affirming_setup(asd)
    assert asd.admin("POST", "/v1/resources/default/cert/c1", raw=CERT).status == 201
    problem(asd.admin("GET", "/v1/resource-policy"), 404)

    r = asd.admin("POST", "/v1/resource-policy", {"rego": KEYS_ONLY})
    assert r.status == 201, r
    assert asd.admin("GET", "/v1/resource-policy").json()["rego"] == KEYS_ONLY
    # a resource policy is not a group's appraisal policy
    assert all(p["group"] != "kbs/resource"
               for p in asd.admin("GET", "/v1/policies").json()["policies"])

    priv, cookie = session(asd)
    r = get(asd, cookie, "default/key/k1")
    assert r.status == 200, r
    assert jwe_decrypt_rsa(priv, r.json()) == SECRET
    p = problem(get(asd, cookie, "default/cert/c1"), 403)
    assert "resource policy" in p["detail"]
    # the policy is consulted before the store: an unlisted path is refused, not "unknown"
    problem(get(asd, cookie, "default/cert/none"), 403)
    problem(get(asd, cookie, "default/key/none"), 404)

    # a contraindicated attester has a token, but the policy wants affirming
    _, bad = session(asd, svn="0")
    problem(get(asd, bad, "default/key/k1"), 403)
    # no token at all: nothing to decide on
    cookie2, _ = kbs_auth(asd)
    problem(get(asd, cookie2, "default/key/k1"), 401)

    # removing the policy restores the built-in rule: everything to affirming only
    r = asd.admin("DELETE", "/v1/resource-policy")
    assert r.status == 200, r
    problem(asd.admin("DELETE", "/v1/resource-policy"), 404)
    r = get(asd, cookie, "default/cert/c1")
    assert r.status == 200, r
    assert jwe_decrypt_rsa(priv, r.json()) == CERT
    problem(get(asd, bad, "default/key/k1"), 401)


def test_resource_policy_syntax_error_refused(asd):
    r = asd.admin("POST", "/v1/resource-policy",
                  {"rego": "package policy\n\nallow if {\n\tinput.x ==\n"})
    p = problem(r, 400)
    assert "policy-0.rego:" in p["detail"], p
    line_col = p["detail"].split("policy-0.rego:")[1].split(":")[:2]
    assert all(x.isdigit() for x in line_col), p
    assert int(line_col[0]) >= 3
    problem(asd.admin("POST", "/v1/resource-policy", {"engine": "default", "rego": KEYS_ONLY}),
            400)
    problem(asd.admin("POST", "/v1/resource-policy", {"id": "no-module"}), 400)
    # nothing was stored
    problem(asd.admin("GET", "/v1/resource-policy"), 404)


def test_resource_policy_runtime_error_refuses(asd):
    affirming_setup(asd)
    assert asd.admin("POST", "/v1/resource-policy", {"rego": CONFLICT}).status == 201
    _, cookie = session(asd)
    p = problem(get(asd, cookie, "default/key/k1"), 403)
    assert "failed" in p["detail"], p
    # replacing it takes effect at once (the cached program is dropped on write)
    assert asd.admin("POST", "/v1/resource-policy", {"rego": KEYS_ONLY}).status == 201
    assert get(asd, cookie, "default/key/k1").status == 200
