"""turtle policy eval: a Rego query evaluated offline by the CLI (no service), its JSON
result set, undefined versus false, and errors with their position."""

import json
import os
import subprocess

import pytest

import harness

POLICY = """package policy

import rego.v1

default executables := 33

executables := 3 if {
	input.tpm.measurements["boot.kernel"] in query_reference_value("boot.kernel")
}

deny contains msg if {
	some name, _ in input.tpm.measurements
	not data.reference[name]
	msg := sprintf("no reference value for %s", [name])
}
"""


@pytest.fixture
def run(tmp_path):
    if harness.TURTLE_CLI is None or not os.access(harness.TURTLE_CLI, os.X_OK):
        pytest.skip("the turtle CLI is not built (set TURTLE_CLI)")

    def go(query, policy=POLICY, data=None, inp=None, extra=()):
        p = tmp_path / "p.rego"
        p.write_text(policy)
        argv = [harness.TURTLE_CLI, "policy", "eval", "--policy", str(p)]
        if data is not None:
            (tmp_path / "d.json").write_text(json.dumps(data))
            argv += ["--data", str(tmp_path / "d.json")]
        if inp is not None:
            (tmp_path / "i.json").write_text(json.dumps(inp))
            argv += ["--input", str(tmp_path / "i.json")]
        argv += list(extra) + [query]
        return subprocess.run(argv, capture_output=True, text=True, timeout=30)
    return go


def test_policy_eval_results(run):
    data = {"reference": {"boot.kernel": ["k1"]}}
    good = {"tpm": {"measurements": {"boot.kernel": "k1"}}}
    r = run("x = data.policy.executables", data=data, inp=good)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == [{"x": 3}]
    r = run("x = data.policy.executables", data=data,
            inp={"tpm": {"measurements": {"boot.kernel": "k2", "pcr.sha256.0": "00"}}})
    assert json.loads(r.stdout) == [{"x": 33}]
    r = run("x = data.policy.deny", data=data,
            inp={"tpm": {"measurements": {"boot.kernel": "k1", "pcr.sha256.0": "00"}}})
    assert json.loads(r.stdout) == [{"x": ["no reference value for pcr.sha256.0"]}]
    # iteration in the query: one object per solution
    r = run("some i; x = [3, 1, 2][i]; x > 1")
    assert sorted(json.loads(r.stdout), key=lambda s: s["x"]) == [{"i": 2, "x": 2}, {"i": 0, "x": 3}]


def test_policy_eval_undefined(run):
    # no input: the rule is undefined, the default applies
    r = run("x = data.policy.executables")
    assert json.loads(r.stdout) == [{"x": 33}]
    r = run("x = data.policy.nothing")
    assert r.returncode == 0 and json.loads(r.stdout) == []
    r = run("x = data.policy.nothing", extra=["--fail"])
    assert r.returncode == 1 and json.loads(r.stdout) == []


def test_policy_eval_errors(run):
    r = run("x = data.policy", policy="package policy\n\nallow if {\n\tinput.x = = 1\n}\n")
    assert r.returncode == 1
    assert "p.rego:4: rego_parse_error" in r.stderr, r.stderr
    r = run("x = data.policy.f", policy="package policy\nf := 1 / 0\n", extra=["--strict"])
    assert r.returncode == 1
    assert "eval_builtin_error" in r.stderr and "divide by zero" in r.stderr, r.stderr
    r = run("x = data.policy.f", policy="package policy\nf := 1 / 0\n")
    assert r.returncode == 0 and json.loads(r.stdout) == []
