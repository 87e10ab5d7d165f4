"""turtle-as native API over real HTTP: challenges, attestation with the sample attester,
EAR tokens checked against the JWKS with python3-cryptography, admin authentication,
reference values, policies, and RFC 7807 problems."""

import os
import stat
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from as_harness import (as_bin, as_factory, asd, b64url_dec, problem,  # noqa: E402,F401
                        sample_evidence, verify_jwt)


def attest(d, claims=None, tee="sample", node_id=None):
    ch = d.challenge(tee, node_id)
    ev = sample_evidence(b64url_dec(ch["nonce"]), claims)
    return ch, d.request("POST", "/v1/attest", {"nonce": ch["nonce"], "tee": tee, "evidence": ev})


def submod(claims):
    return claims["submods"]["sample"]


def test_challenge_shape(asd):
    ch = asd.challenge()
    assert len(b64url_dec(ch["nonce"])) == 32
    assert isinstance(ch["expires_at"], int) and ch["expires_at"] > time.time()
    assert asd.challenge()["nonce"] != ch["nonce"]


def test_challenge_rejects_unknown_tee(asd):
    problem(asd.request("POST", "/v1/challenge", {"tee": "sev"}), 400)
    problem(asd.request("POST", "/v1/challenge", {}), 400)


def test_sample_attestation_token_verifies_and_is_not_affirming(asd):
    ch, r = attest(asd, {"pcr.sha256.0": "aa" * 32})
    assert r.status == 200, r
    tok = r.json()["token"]
    header, claims = verify_jwt(tok, asd.jwks())
    assert header["typ"] == "JWT"
    assert claims["eat_profile"] == "tag:github.com,2023:veraison/ear"
    assert claims["eat_nonce"] == ch["nonce"]
    assert claims["exp"] > claims["iat"]
    assert "ear.verifier-id" in claims
    sm = submod(claims)
    assert sm["ear.status"] in ("none", "warning")
    assert sm["ear.status"] != "affirming"
    assert r.json()["status"] == sm["ear.status"]
    assert sm["turtle.claims"]["measurements"] == {"pcr.sha256.0": "aa" * 32}


def test_tampered_token_fails_verification(asd):
    _, r = attest(asd, {"x": "1"})
    tok = r.json()["token"]
    h, p, s = tok.split(".")
    bad = h + "." + p[:-2] + ("AA" if p[-2:] != "AA" else "BB") + "." + s
    try:
        verify_jwt(bad, asd.jwks())
    except (AssertionError, ValueError):
        return
    raise AssertionError("a tampered token verified")


def test_nonce_single_use(asd):
    ch = asd.challenge()
    body = {"nonce": ch["nonce"], "tee": "sample",
            "evidence": sample_evidence(b64url_dec(ch["nonce"]))}
    assert asd.request("POST", "/v1/attest", body).status == 200
    p = problem(asd.request("POST", "/v1/attest", body), 401)
    assert "already used" in p["detail"]


def test_unknown_nonce(asd):
    import secrets
    from as_harness import b64url
    n = b64url(secrets.token_bytes(32))
    p = problem(asd.request("POST", "/v1/attest", {"nonce": n, "tee": "sample",
                "evidence": sample_evidence(b64url_dec(n))}), 401)
    assert "nonce" in p["detail"]


def test_nonce_expiry(as_factory):
    d = as_factory(config="[as]\nnonce_ttl = 1\n")
    ch = d.challenge()
    time.sleep(2.2)
    p = problem(d.request("POST", "/v1/attest", {"nonce": ch["nonce"], "tee": "sample",
                "evidence": sample_evidence(b64url_dec(ch["nonce"]))}), 401)
    assert "expired" in p["detail"]


def test_evidence_bound_to_other_nonce_rejected(asd):
    ch1 = asd.challenge()
    ch2 = asd.challenge()
    p = problem(asd.request("POST", "/v1/attest", {"nonce": ch1["nonce"], "tee": "sample",
                "evidence": sample_evidence(b64url_dec(ch2["nonce"]))}), 401)
    assert "report_data" in p["detail"]
    # the challenge was spent by the failed attempt
    p = problem(asd.request("POST", "/v1/attest", {"nonce": ch1["nonce"], "tee": "sample",
                "evidence": sample_evidence(b64url_dec(ch1["nonce"]))}), 401)


def test_tee_mismatch(asd):
    ch = asd.challenge("sample")
    problem(asd.request("POST", "/v1/attest", {"nonce": ch["nonce"], "tee": "tpm",
            "evidence": {}}), 400)


def test_admin_requires_token(asd):
    for m, path in (("GET", "/v1/nodes"), ("GET", "/v1/reference-values"),
                    ("GET", "/v1/policies"), ("GET", "/v1/resources"),
                    ("POST", "/v1/resources/r/t/x")):
        problem(asd.request(m, path), 401)
        problem(asd.request(m, path, admin=True, token="wrong-" + asd.token), 401)
        problem(asd.request(m, path, headers={"Authorization": "Basic " + asd.token}), 401)
    assert asd.admin("GET", "/v1/nodes").status == 200


def test_admin_disabled_without_token(as_factory):
    d = as_factory(admin_token=False)
    p = problem(d.request("GET", "/v1/nodes", admin=True, token="anything-at-all-here"), 403)
    assert "disabled" in p["detail"]
    # the public API still works
    d.challenge()


def test_token_file_mode_enforced(as_factory):
    d = as_factory(start=False)
    os.chmod(d.token_file, 0o644)
    try:
        d.start()
    except AssertionError as e:
        assert "0600" in str(e)
        return
    raise AssertionError("turtle-as accepted a world-readable admin token file")


def _p256_pem():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    return ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def test_nodes_crud(asd):
    pem = _p256_pem()
    r = asd.admin("POST", "/v1/nodes", {"id": "node-1", "group": "web", "ak_public": pem})
    assert r.status == 201, r
    assert len(r.json()["ak_sha256"]) == 64
    assert asd.admin("GET", "/v1/nodes/node-1").json()["group"] == "web"
    assert [n["id"] for n in asd.admin("GET", "/v1/nodes").json()["nodes"]] == ["node-1"]
    problem(asd.admin("POST", "/v1/nodes", {"id": "bad id", "group": "g"}), 400)
    assert asd.admin("DELETE", "/v1/nodes/node-1").status == 200
    problem(asd.admin("GET", "/v1/nodes/node-1"), 404)
    problem(asd.admin("DELETE", "/v1/nodes/node-1"), 404)


def test_reference_values_affirm_with_policy(asd):
    # Test-only policy: sample evidence may be affirming (the default never is).
    r = asd.admin("POST", "/v1/policies", {"group": "default", "id": "test-sample",
                                           "sample_affirming": True})
    assert r.status == 201, r
    r = asd.admin("POST", "/v1/reference-values", {"reference_values": [
        {"name": "pcr.sha256.7", "value": "77" * 32, "version": "1"},
        {"name": "boot.kernel", "value": "k1"},
    ]})
    assert r.status == 201, r
    ids = r.json()["ids"]
    assert len(ids) == 2
    good = {"pcr.sha256.7": "77" * 32, "boot.kernel": "k1"}
    _, r = attest(asd, good)
    _, c = verify_jwt(r.json()["token"], asd.jwks())
    assert submod(c)["ear.status"] == "affirming", submod(c)
    assert c["ear.appraisal-policy-id"] == "policy:default/test-sample"
    tv = submod(c)["ear.trustworthiness-vector"]
    assert tv["executables"] == 2 and tv["configuration"] == 2
    # mismatch -> contraindicated
    _, r = attest(asd, {"pcr.sha256.7": "00" * 32, "boot.kernel": "k1"})
    _, c = verify_jwt(r.json()["token"], asd.jwks())
    assert submod(c)["ear.status"] == "contraindicated"
    assert any("pcr.sha256.7" in x for x in submod(c)["turtle.reasons"])
    # unknown claim -> warning
    _, r = attest(asd, dict(good, **{"ima.unknown": "zz"}))
    _, c = verify_jwt(r.json()["token"], asd.jwks())
    assert submod(c)["ear.status"] == "warning"
    # revoke the kernel's value -> now unknown -> warning
    assert asd.admin("DELETE", "/v1/reference-values/%d" % ids[1]).status == 200
    problem(asd.admin("DELETE", "/v1/reference-values/%d" % ids[1]), 404)
    lst = asd.admin("GET", "/v1/reference-values").json()["reference_values"]
    assert [v["revoked_at"] is not None for v in lst] == [False, True]
    _, r = attest(asd, good)
    _, c = verify_jwt(r.json()["token"], asd.jwks())
    assert submod(c)["ear.status"] == "warning"


def test_default_policy_never_affirms_sample(asd):
    asd.admin("POST", "/v1/reference-values", {"reference_values": [
        {"name": "pcr.sha256.0", "value": "00"}]})
    _, r = attest(asd, {"pcr.sha256.0": "00"})
    _, c = verify_jwt(r.json()["token"], asd.jwks())
    assert submod(c)["ear.status"] == "warning"
    assert submod(c)["ear.trustworthiness-vector"]["hardware"] == 32


def test_reference_value_expiry_and_scope(asd):
    asd.admin("POST", "/v1/policies", {"group": "default", "sample_affirming": True})
    asd.admin("POST", "/v1/policies", {"group": "web", "sample_affirming": True})
    now = int(time.time())
    r = asd.admin("POST", "/v1/reference-values", {"reference_values": [
        {"name": "a", "value": "old", "expires_at": now - 10},
        {"name": "b", "value": "web-only", "scope": "group:web"},
    ]})
    assert r.status == 201
    _, r = attest(asd, {"a": "old"})
    _, c = verify_jwt(r.json()["token"], asd.jwks())
    assert submod(c)["ear.status"] == "warning"          # expired value is not valid
    _, r = attest(asd, {"b": "web-only"})
    _, c = verify_jwt(r.json()["token"], asd.jwks())
    assert submod(c)["ear.status"] == "warning"          # out of scope for group default
    asd.admin("POST", "/v1/nodes", {"id": "w1", "group": "web", "tee": "sample"})
    _, r = attest(asd, {"b": "web-only"}, node_id="w1")
    _, c = verify_jwt(r.json()["token"], asd.jwks())
    assert submod(c)["ear.status"] == "affirming"
    assert c["turtle.node-group"] == "web"


def test_reference_value_import_is_all_or_nothing(asd):
    r = asd.admin("POST", "/v1/reference-values", {"reference_values": [
        {"name": "ok", "value": "1"}, {"name": "bad", "value": 5}]})
    p = problem(r, 400)
    assert "1" in p["detail"]
    assert asd.admin("GET", "/v1/reference-values").json()["reference_values"] == []


def test_policies_list_and_get(asd):
    asd.admin("POST", "/v1/policies", {"group": "g1", "id": "p1"})
    assert asd.admin("GET", "/v1/policies/g1").json()["id"] == "p1"
    assert [p["group"] for p in asd.admin("GET", "/v1/policies").json()["policies"]] == ["g1"]
    problem(asd.admin("GET", "/v1/policies/none"), 404)
    problem(asd.admin("POST", "/v1/policies", {"group": "g2", "engine": "rego"}), 400)


def test_resources_admin(asd):
    assert asd.admin("POST", "/v1/resources/repo/key/k1", raw=b"\x00secret\xff").status == 201
    r = asd.admin("GET", "/v1/resources/repo/key/k1")
    assert r.status == 200 and r.body == b"\x00secret\xff"
    assert asd.admin("GET", "/v1/resources").json()["resources"][0]["path"] == "repo/key/k1"
    problem(asd.admin("GET", "/v1/resources/repo/key/../k1"), 400)
    problem(asd.admin("GET", "/v1/resources/repo/key"), 400)
    assert asd.admin("DELETE", "/v1/resources/repo/key/k1").status == 200
    problem(asd.admin("GET", "/v1/resources/repo/key/k1"), 404)


def test_problems_for_bad_requests(asd):
    problem(asd.request("GET", "/nope"), 404)
    problem(asd.request("GET", "/v1/challenge"), 501)
    problem(asd.request("POST", "/v1/challenge", raw=b"{not json"), 400)
    problem(asd.request("POST", "/v1/challenge", raw=b"[1,2]"), 400)
    problem(asd.request("POST", "/v1/challenge", raw=b""), 400)
    problem(asd.request("POST", "/v1/challenge", raw=b'{"tee":"sample","tee":"tpm"}'), 400)
    problem(asd.request("POST", "/v1/attest", {"nonce": 1}), 400)


def _raw_exchange(d, head, body_chunks=()):
    import socket
    with socket.create_connection(("127.0.0.1", d.port), timeout=20) as s:
        s.sendall(head)
        for c in body_chunks:
            try:
                s.sendall(c)
            except OSError:
                break
        data = b""
        while True:
            try:
                b = s.recv(65536)
            except ConnectionResetError:
                break
            if not b:
                break
            data += b
            if b"\r\n\r\n" in data:
                h, _, rest = data.partition(b"\r\n\r\n")
                cl = [ln for ln in h.split(b"\r\n") if ln.lower().startswith(b"content-length:")]
                if cl and len(rest) >= int(cl[0].split(b":")[1]):
                    break
    return data


def test_oversized_body_413_from_header(asd):
    """A Content-Length over the limit is answered before any body byte is sent."""
    import json
    data = _raw_exchange(asd, b"POST /v1/attest HTTP/1.1\r\nHost: x\r\n"
                         b"Content-Type: application/json\r\n"
                         b"Content-Length: 1048577\r\n\r\n")
    status = int(data.split(b" ", 2)[1])
    assert status == 413, data[:200]
    body = json.loads(data.partition(b"\r\n\r\n")[2])
    assert body["status"] == 413 and body["type"] and body["detail"]
    asd.challenge()   # still serving


def test_oversized_chunked_body_413(asd):
    chunk = b" " * 65536
    chunks = [b"%x\r\n" % len(chunk) + chunk + b"\r\n"] * 20 + [b"0\r\n\r\n"]
    data = _raw_exchange(asd, b"POST /v1/attest HTTP/1.1\r\nHost: x\r\n"
                         b"Transfer-Encoding: chunked\r\n\r\n", chunks)
    assert int(data.split(b" ", 2)[1]) == 413, data[:200]
    asd.challenge()


def test_configured_body_limit(as_factory):
    d = as_factory(config="[as]\nmax_body = 4K\n")
    problem(d.request("POST", "/v1/challenge", raw=b"{" + b" " * 5000 + b'"tee":"sample"}'), 413)
    assert d.request("POST", "/v1/challenge", {"tee": "sample"}).status == 200


def test_state_survives_restart(asd):
    asd.admin("POST", "/v1/nodes", {"id": "n", "group": "g"})
    jwks = asd.jwks()
    ch = asd.challenge()
    asd.stop()
    asd.start()
    assert asd.jwks() == jwks
    assert asd.admin("GET", "/v1/nodes/n").status == 200
    # Challenges live in memory on purpose: one issued before the restart is unknown after
    # it (the attester asks again), so no nonce can ever be answered twice.
    r = asd.request("POST", "/v1/attest", {"nonce": ch["nonce"], "tee": "sample",
                    "evidence": sample_evidence(b64url_dec(ch["nonce"]))})
    assert r.status == 401 and "nonce unknown" in r.json()["detail"], r
    _, r = attest(asd, {"x": "1"})
    assert r.status == 200, r


def test_data_files_private(asd):
    for name in os.listdir(asd.data):
        m = os.stat(os.path.join(asd.data, name)).st_mode
        assert stat.S_IMODE(m) & 0o077 == 0, name


def test_token_verifies_with_turtle_cli(asd, tmp_path):
    """The offline verifier of libturtle (`turtle token verify`) accepts turtle-as tokens
    against the JWKS, with the challenge nonce, and refuses another nonce."""
    import json
    import subprocess
    import pytest
    from harness import TURTLE_CLI
    if TURTLE_CLI is None or not os.access(TURTLE_CLI, os.X_OK):
        pytest.skip("turtle CLI is not built")
    ch, r = attest(asd, {"pcr.sha256.0": "aa"})
    tok = r.json()["token"]
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(asd.jwks()))
    p = subprocess.run([TURTLE_CLI, "token", "verify", "--jwks", str(jwks), "--nonce",
                        ch["nonce"], "--json", tok], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30)
    if b"expected 'verify' or 'show'" in p.stderr or b"unknown command" in p.stderr:
        pytest.skip("this turtle CLI has no 'token verify'")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["valid"] is True
    assert out["claims"]["submods"]["sample"]["ear.status"] == "warning"
    other = asd.challenge()["nonce"]
    p = subprocess.run([TURTLE_CLI, "token", "verify", "--jwks", str(jwks), "--nonce", other,
                        tok], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    assert p.returncode != 0


def test_key_rotation(asd):
    _, r = attest(asd, {"x": "1"})
    old_tok = r.json()["token"]
    keys = asd.admin("GET", "/v1/keys").json()["keys"]
    assert len(keys) == 1
    r = asd.admin("POST", "/v1/keys/rotate")
    assert r.status == 200, r
    assert len(r.json()["keys"]) == 2
    problem(asd.request("POST", "/v1/keys/rotate"), 401)
    jwks = asd.jwks()
    assert len(jwks["keys"]) == 2           # the retired key still verifies old tokens
    verify_jwt(old_tok, jwks)
    _, r = attest(asd, {"x": "1"})
    h, _ = verify_jwt(r.json()["token"], jwks)
    assert h["kid"] != verify_jwt(old_tok, jwks)[0]["kid"]


def test_concurrent_replay_one_winner(asd):
    """Eight clients race one nonce: the challenge table's atomic take lets exactly one win."""
    import threading
    ch = asd.challenge()
    body = {"nonce": ch["nonce"], "tee": "sample",
            "evidence": sample_evidence(b64url_dec(ch["nonce"]))}
    statuses = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def go():
        start.wait()
        s = asd.request("POST", "/v1/attest", body).status
        with lock:
            statuses.append(s)
    ts = [threading.Thread(target=go) for _ in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert sorted(statuses) == [200] + [401] * 7, statuses


def test_committed_writes_survive_sigkill(asd):
    r = asd.admin("POST", "/v1/reference-values", {"reference_values": [
        {"name": "k", "value": "v"}]})
    assert r.status == 201
    asd.admin("POST", "/v1/resources/r/t/x", raw=b"kept")
    ch = asd.challenge()
    asd.kill()
    asd.start()
    vals = asd.admin("GET", "/v1/reference-values").json()["reference_values"]
    assert [(v["name"], v["value"]) for v in vals] == [("k", "v")]
    assert asd.admin("GET", "/v1/resources/r/t/x").body == b"kept"
    r = asd.request("POST", "/v1/attest", {"nonce": ch["nonce"], "tee": "sample",
                    "evidence": sample_evidence(b64url_dec(ch["nonce"]))})
    assert r.status == 401, r   # the challenge died with the process: never replayable


def test_cli_attest_sample_tee(asd, tmp_path):
    """`turtle attest --tee sample`: the software-only attester needs no turtled; its token
    verifies offline against the JWKS and is never affirming under the default policy."""
    import json
    import subprocess

    import pytest
    cli = os.environ.get("TURTLE_CLI")
    if not cli or not os.path.exists(cli):
        pytest.skip("TURTLE_CLI not built")
    base = "http://127.0.0.1:%d" % asd.port
    # unsigned evidence may not speak for a node that is not registered as a sample node
    p = subprocess.run([cli, "attest", "--as", base, "--tee", "sample", "--node", "n1",
                        "--json"], capture_output=True, timeout=60)
    assert p.returncode != 0 and b"not registered" in p.stderr, p.stderr.decode()
    assert asd.admin("POST", "/v1/nodes", {"id": "n1", "group": "g", "tee": "sample"}).status == 201
    p = subprocess.run([cli, "attest", "--as", base, "--tee", "sample", "--node", "n1",
                        "--json"], capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr.decode()
    out = json.loads(p.stdout)
    assert out["status"] in ("none", "warning")
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(asd.jwks()))
    v = subprocess.run([cli, "token", "verify", "--jwks", str(jwks), out["token"]],
                       capture_output=True, timeout=60)
    assert v.returncode == 0, v.stderr.decode()
    bad = subprocess.run([cli, "attest", "--as", base, "--tee", "sev"], capture_output=True,
                         timeout=60)
    assert bad.returncode == 2


def test_admin_writes_take_effect_at_once(asd):
    """Attestations read nodes, reference values and policies through a cache: every admin
    write must still show in the very next attestation."""
    asd.admin("POST", "/v1/policies", {"group": "web", "sample_affirming": True})
    asd.admin("POST", "/v1/reference-values", {"reference_values": [
        {"name": "b", "value": "web-only", "scope": "group:web"}]})
    asd.admin("POST", "/v1/nodes", {"id": "w2", "group": "web", "tee": "sample"})
    for _ in range(3):   # warm the cache
        _, r = attest(asd, {"b": "web-only"}, node_id="w2")
        assert submod(verify_jwt(r.json()["token"], asd.jwks())[1])["ear.status"] == "affirming"
    # the node moves to another group: its reference value no longer applies
    assert asd.admin("DELETE", "/v1/nodes/w2").status == 200
    asd.admin("POST", "/v1/nodes", {"id": "w2", "group": "db", "tee": "sample"})
    _, r = attest(asd, {"b": "web-only"}, node_id="w2")
    _, c = verify_jwt(r.json()["token"], asd.jwks())
    assert c["turtle.node-group"] == "db" and submod(c)["ear.status"] == "warning"
    # a policy change applies at once too: group db gets the test-only sample switch
    asd.admin("POST", "/v1/reference-values", {"reference_values": [
        {"name": "b", "value": "web-only", "scope": "group:db"}]})
    _, r = attest(asd, {"b": "web-only"}, node_id="w2")
    assert submod(verify_jwt(r.json()["token"], asd.jwks())[1])["ear.status"] == "warning"
    asd.admin("POST", "/v1/policies", {"group": "db", "id": "p-db", "sample_affirming": True})
    _, r = attest(asd, {"b": "web-only"}, node_id="w2")
    _, c = verify_jwt(r.json()["token"], asd.jwks())
    assert submod(c)["ear.status"] == "affirming" and c["ear.appraisal-policy-id"].endswith("/p-db")
    # a deleted node is refused at once
    assert asd.admin("DELETE", "/v1/nodes/w2").status == 200
    ch = asd.challenge("tpm", "w2")
    r = asd.request("POST", "/v1/attest", {"nonce": ch["nonce"], "tee": "tpm",
                    "evidence": {"quote": {"attest": "AA", "signature": "AA"}}})
    assert r.status == 401, r


def test_eat_nonce_is_the_issued_nonce(asd):
    """A client may echo the nonce in standard base64 with padding; the token still carries
    the nonce exactly as issued, so relying parties can compare strings."""
    import base64
    ch = asd.challenge()
    raw = b64url_dec(ch["nonce"])
    std = base64.b64encode(raw).decode()
    assert std != ch["nonce"]
    r = asd.request("POST", "/v1/attest", {"nonce": std, "tee": "sample",
                    "evidence": sample_evidence(raw)})
    assert r.status == 200, r
    _, c = verify_jwt(r.json()["token"], asd.jwks())
    assert c["eat_nonce"] == ch["nonce"]


def test_node_ak_is_checked_and_unique(asd):
    """An AK that does not parse is refused at registration, and one AK can belong to
    one node only (KBS finds the node by the AK in the evidence)."""
    problem(asd.admin("POST", "/v1/nodes", {"id": "n1", "group": "g",
                                            "ak_public": "-----BEGIN PUBLIC KEY-----"}), 400)
    pem = _p256_pem()
    assert asd.admin("POST", "/v1/nodes", {"id": "n1", "group": "g", "ak_public": pem}).status == 201
    r = asd.admin("POST", "/v1/nodes", {"id": "n2", "group": "g", "ak_public": pem})
    problem(r, 409)
    assert "another node" in r.json()["detail"]
    # n1 is untouched, and can be re-registered (an update of itself)
    assert asd.admin("GET", "/v1/nodes/n1").json()["ak_public"] == pem
    assert asd.admin("POST", "/v1/nodes", {"id": "n1", "group": "h", "ak_public": pem}).status == 201
    # once n1 is gone its AK is free
    assert asd.admin("DELETE", "/v1/nodes/n1").status == 200
    assert asd.admin("POST", "/v1/nodes", {"id": "n2", "group": "g", "ak_public": pem}).status == 201


def test_nodes_of_older_builds_get_their_ak_indexed(asd):
    """Nodes stored before the AK index existed are indexed when turtle-as starts."""
    import sqlite3
    pem = _p256_pem()
    r = asd.admin("POST", "/v1/nodes", {"id": "old", "group": "g", "ak_public": pem})
    fpr = r.json()["ak_sha256"]
    asd.stop()
    db = sqlite3.connect(os.path.join(asd.data, "as.db"))
    db.execute("UPDATE nodes SET ak = NULL, doc = json_remove(doc, '$.ak_sha256')")
    db.commit()
    assert db.execute("SELECT ak FROM nodes").fetchall() == [(None,)]
    db.close()
    asd.start()
    assert asd.admin("GET", "/v1/nodes/old").json()["ak_sha256"] == fpr
    asd.stop()
    db = sqlite3.connect(os.path.join(asd.data, "as.db"))
    assert db.execute("SELECT ak FROM nodes").fetchall() == [(fpr,)]
    db.close()
    asd.start()
