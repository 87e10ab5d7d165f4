"""Rego policies over SEV-SNP and Arm CCA claims, written the way Trustee's EAR policies
are (ear_default_policy_cpu.rego: AR4SI trust-claim rules with defaults 33/97/36, the flat
SNP names `input.snp.measurement`, `input.snp.reported_tcb_*`, `input.snp.policy_*`,
`input.snp.platform_smt_enabled`, and Trustee's CCA claim names under `input.cca`), run by
turtle-as's Rego engine on evidence from the synthetic platforms. The point is the claims:
a policy written against Trustee's names must find them there, with Trustee's types
(booleans stay booleans, TCB values stay numbers), so such a policy runs unchanged. Each
test also changes one input and asserts that the vector and the status move with it."""

import base64
import os
import shutil
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from as_harness import as_bin, as_factory, b64url_dec, verify_jwt  # noqa: E402,F401
from snp_synth import MEASUREMENT, TCB, SnpWorld  # noqa: E402
from cca_synth import RIM, SW, CcaWorld  # noqa: E402

SNP_POLICY = """package policy

import rego.v1

default executables := 33
default hardware := 97
default configuration := 36

executables := 3 if {
	input.snp
	input.snp.measurement in query_reference_value("snp_launch_measurement")
}

hardware := 2 if {
	input.snp
	input.snp.reported_tcb_bootloader >= to_number(data.reference.snp_min_bootloader[0])
	input.snp.reported_tcb_microcode >= to_number(data.reference.snp_min_microcode[0])
	input.snp.reported_tcb_snp >= to_number(data.reference.snp_min_snp[0])
	input.snp.reported_tcb_tee >= to_number(data.reference.snp_min_tee[0])
}

# every configuration field as a known config ...
configuration := 2 if {
	input.snp.policy_debug_allowed == false
	input.snp.policy_migrate_ma == false
	input.snp.platform_smt_enabled
	input.snp.policy_abi_major == 0
	input.snp.policy_abi_minor == 0
	input.snp.policy_single_socket
	input.snp.policy_smt_allowed
}

# ... or at least no debug and no migration agent
else := 3 if {
	input.snp.policy_debug_allowed == false
	input.snp.policy_migrate_ma == false
}
"""

CCA_POLICY = """package policy

import rego.v1

default executables := 33
default hardware := 97
default configuration := 36

executables := 3 if {
	input.cca.realm["cca-realm-initial-measurement"] in query_reference_value("cca_rim")
	every c in input.cca.platform["cca-platform-sw-components"] {
		c["measurement-value"] in query_reference_value("cca_platform_sw")
	}
}

hardware := 2 if {
	# the PSA lifecycle "secured" range: 0x3000-0x30ff
	lc := input.cca.platform["cca-platform-lifecycle"]
	lc >= 12288
	lc <= 12543
}

configuration := 2 if {
	input.cca.realm["cca-realm-hash-algo-id"] == "sha-256"
}
"""


def _dir(prefix):
    root = tempfile.mkdtemp(prefix=prefix, dir="/tmp")
    os.chmod(root, 0o755)
    return root


@pytest.fixture
def snp(as_factory):
    root = _dir("turtle-snp-rego-")
    w = SnpWorld(os.path.join(root, "amd-world"))
    yield as_factory(extra_args=("--tee-anchors", w.anchors)), w
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def cca(as_factory):
    root = _dir("turtle-cca-rego-")
    w = CcaWorld(os.path.join(root, "platform"))
    yield as_factory(extra_args=("--tee-anchors", w.anchors)), w
    shutil.rmtree(root, ignore_errors=True)


def _policy(d, pid, rego):
    r = d.admin("POST", "/v1/policies", {"group": "default", "id": pid, "engine": "rego",
                                         "rego": rego})
    assert r.status == 201, r


def _refvals(d, values):
    """Reference values as strings, a list giving several values of one name."""
    entries = []
    for k, v in values.items():
        for one in (v if isinstance(v, list) else [v]):
            entries.append({"name": k, "value": str(one)})
    r = d.admin("POST", "/v1/reference-values", {"reference_values": entries})
    assert r.status == 201, r
    return dict(zip([e["name"] for e in entries], r.json()["ids"]))


def _revoke(d, ids, name):
    r = d.admin("DELETE", "/v1/reference-values/%s" % ids[name])
    assert r.status in (200, 204), r


def _submod(d, tee, evidence_for):
    ch = d.challenge(tee)
    r = d.request("POST", "/v1/attest", {"nonce": ch["nonce"], "tee": tee,
                                         "evidence": evidence_for(b64url_dec(ch["nonce"]))})
    assert r.status == 200, r
    _, c = verify_jwt(r.json()["token"], d.jwks())
    return c["submods"][tee]


def test_snp_trustee_style_policy(snp):
    d, w = snp
    _policy(d, "snp-trustee-style", SNP_POLICY)
    rv = {"snp_launch_measurement": MEASUREMENT.hex(),
          "snp_min_bootloader": TCB["bootloader"], "snp_min_microcode": TCB["microcode"],
          "snp_min_snp": TCB["snp"], "snp_min_tee": TCB["tee"]}
    ids = _refvals(d, rv)
    sm = _submod(d, "snp", w.evidence)
    # The synthetic guest has no single-socket policy bit: configuration falls to the
    # "else" rule (3), which a policy reading the wrong names or types could not reach.
    assert sm["ear.trustworthiness-vector"] == {"executables": 3, "hardware": 2,
                                                "configuration": 3}, sm
    assert sm["ear.status"] == "affirming", sm
    # another launch measurement: executables drops to 33 and the result with it
    _revoke(d, ids, "snp_launch_measurement")
    ids.update(_refvals(d, {"snp_launch_measurement": "00" * 48}))
    sm = _submod(d, "snp", w.evidence)
    assert sm["ear.trustworthiness-vector"]["executables"] == 33, sm
    assert sm["ear.status"] != "affirming", sm
    # a microcode floor above the reported TCB: hardware is no longer 2
    _revoke(d, ids, "snp_launch_measurement")
    _revoke(d, ids, "snp_min_microcode")
    _refvals(d, {"snp_launch_measurement": MEASUREMENT.hex(),
                 "snp_min_microcode": TCB["microcode"] + 1})
    sm = _submod(d, "snp", w.evidence)
    assert sm["ear.trustworthiness-vector"]["hardware"] == 97, sm
    assert sm["ear.status"] != "affirming", sm


def test_cca_trustee_names_policy(cca):
    d, w = cca
    _policy(d, "cca-trustee-names", CCA_POLICY)
    b = lambda x: base64.b64encode(x).decode()  # noqa: E731
    rv = {"cca_rim": b(RIM), "cca_platform_sw": [b(m) for _, m in SW]}
    _refvals(d, rv)
    sm = _submod(d, "cca", w.evidence)
    assert sm["ear.trustworthiness-vector"] == {"executables": 3, "hardware": 2,
                                                "configuration": 2}, sm
    assert sm["ear.status"] == "affirming", sm
    # a platform in a debug lifecycle (0x5000, "non-PSA-ROT debug"): hardware 97
    sm = _submod(d, "cca", lambda ch: w.evidence(ch, lifecycle=0x5000))
    assert sm["ear.trustworthiness-vector"]["hardware"] == 97, sm
    assert sm["ear.status"] != "affirming", sm
    # another realm image
    sm = _submod(d, "cca", lambda ch: w.evidence(ch, rim=b"\x01" * 32))
    assert sm["ear.trustworthiness-vector"]["executables"] == 33, sm
    assert sm["ear.status"] != "affirming", sm
