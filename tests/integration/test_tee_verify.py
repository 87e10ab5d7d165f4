"""`turtle verify --tee`: offline verification of TEE evidence with the shared vectors
(tests/unit/verify/data), run as a user would: exit status, --json result (verdict, claims,
chain) and the --explain tree. Tampered copies and wrong inputs must exit non-zero."""
import json
import os
import subprocess

import pytest

from harness import TURTLE_CLI

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "unit", "verify", "data")
NOW = "2025-06-01T00:00:00Z"
SNP_RD = "ec6c52d7533cc2c4f45be7849cf112ab82b2009fe7bd43e71ed08c14400ad7e2"

pytestmark = pytest.mark.skipif(TURTLE_CLI is None, reason="turtle CLI not built")


def turtle(*args):
    p = subprocess.run([TURTLE_CLI, "verify", *args], capture_output=True, text=True,
                       timeout=60)
    return p.returncode, p.stdout, p.stderr


def d(name):
    return os.path.join(DATA, name)


def test_snp_verified_with_claims():
    rc, out, _ = turtle("--tee", "snp", "--evidence", d("test-report.bin"), "--collateral",
                        d("test-vcek.der"), "--now", NOW, "--nonce-hex", SNP_RD, "--json")
    assert rc == 0
    res = json.loads(out)
    assert res["verified"] is True
    ev = res["claims"]["evidence"]
    assert ev["measurement"] == open(d("test-report.bin"), "rb").read()[0x90:0xC0].hex()
    assert ev["reported_tcb"] == {"fmc": None, "bootloader": 3, "tee": 0, "snp": 8,
                                  "microcode": 115}
    assert ev["policy"]["debug_allowed"] is False
    assert res["chain"][0]["link"] == "anchor"
    assert all(l["verdict"] != "failed" for l in res["chain"])


def test_snp_explain_tree():
    rc, out, _ = turtle("--tee", "snp", "--evidence", d("test-report.bin"), "--collateral",
                        d("test-vcek.der"), "--now", NOW, "--explain")
    assert rc == 0
    lines = out.splitlines()
    assert lines[0] == "snp (AMD SEV-SNP): VERIFIED"
    assert lines[1].startswith("anchor AMD ARK: verified")
    assert lines[2] == "  └─ certificate ASK: verified — signed by the ARK, valid at the given time"
    assert any("binding report data: not checked" in l for l in lines)


@pytest.mark.parametrize("args,why", [
    (["--now", "2022-01-01T00:00:00Z"], "not yet valid"),
    (["--nonce-hex", "00" * 32], "binding"),
    (["--collateral", d("test-vlek.der")], "no VCEK"),
])
def test_snp_refused(args, why):
    base = ["--tee", "snp", "--evidence", d("test-report.bin"), "--collateral",
            d("test-vcek.der"), "--now", NOW]
    rc, out, _ = turtle(*(base + args))
    assert rc == 1
    assert "NOT VERIFIED" in out
    assert why in out


def test_snp_tampered_report(tmp_path):
    rep = bytearray(open(d("test-report.bin"), "rb").read())
    rep[0x90] ^= 1                      # first byte of the measurement
    f = tmp_path / "r.bin"
    f.write_bytes(bytes(rep))
    rc, out, _ = turtle("--tee", "snp", "--evidence", str(f), "--collateral",
                        d("test-vcek.der"), "--now", NOW, "--json")
    assert rc == 1
    res = json.loads(out)
    assert res["verified"] is False and res["claims"] is None
    assert "signature" in res["reasons"][0]


def test_cca_and_virtcca():
    rc, out, _ = turtle("--tee", "cca", "--evidence", d("cca-token-01.cbor"),
                        "--nonce-hex", "ab" * 64, "--json")
    assert rc == 0
    res = json.loads(out)
    assert res["claims"]["realm"]["cca-realm-hash-algo-id"] == "sha-256"
    rc, out, _ = turtle("--tee", "virtcca", "--evidence", d("virtcca.cbor"), "--hex",
                        "--collateral", d("virtcca_aik_cert.der"), "--nonce-hex",
                        "783c7f3e50bfffff", "--json")
    assert rc == 0
    res = json.loads(out)
    assert res["claims"]["vcca.cvm.rim"] == \
        "7309ec52e2870938ffa6930793d61e55ab982a756111410829d6073f66c71708"
    assert res["claims"]["vcca.is_platform"] is False
    rc, _, _ = turtle("--tee", "virtcca", "--evidence", d("virtcca.cbor"), "--hex",
                      "--collateral", d("test-vcek.der"), "--nonce-hex", "783c7f3e50bfffff")
    assert rc == 1


def test_anchors_dir_replaces_builtins(tmp_path):
    (tmp_path / "arm").mkdir()
    (tmp_path / "arm" / "cca-ta.json").write_bytes(open(d("ta.json"), "rb").read())
    rc, out, _ = turtle("--tee", "cca", "--evidence", d("cca-token-01.cbor"), "--anchors",
                        str(tmp_path))
    assert rc == 1
    assert "no CPAK trust anchor" in out


def test_unknown_tee_and_usage():
    rc, _, err = turtle("--tee", "nope", "--evidence", d("test-report.bin"))
    assert rc == 1 and "snp" in err
    rc, _, _ = turtle("--tee", "snp")
    assert rc == 2


# ---- Intel TDX / SGX (DCAP): vectors in tests/unit/verify/data/dcap ----

DCAP_NOW = "2025-07-01T00:00:00Z"


def dc(name):
    return os.path.join(DATA, "dcap", name)


def test_tdx_verified_with_claims_and_tree():
    quote = open(dc("tdx_quote"), "rb").read()
    rd = quote[48 + 520:48 + 584].hex()
    rc, out, _ = turtle("--tee", "tdx", "--evidence", dc("tdx_quote"), "--collateral",
                        dc("tdx_quote_collateral.json"), "--now", DCAP_NOW,
                        "--nonce-hex", rd, "--init-data-hex", "00" * 48, "--json")
    assert rc == 0
    res = json.loads(out)
    c = res["claims"]
    assert c["quote"]["body"]["mr_td"] == quote[48 + 136:48 + 184].hex()
    assert c["quote"]["body"]["rtmr_1"] == quote[48 + 376:48 + 424].hex()
    assert c["tcb_status"] == "UpToDate" and c["advisory_ids"] == []
    assert c["td_attributes"]["debug"] is False
    assert [l["name"] for l in res["chain"][:3]] == ["root-ca", "pck-ca", "pck"]
    assert all(l["verdict"] == "verified" for l in res["chain"])
    rc, out, _ = turtle("--tee", "tdx", "--evidence", dc("tdx_quote"), "--collateral",
                        dc("tdx_quote_collateral.json"), "--now", DCAP_NOW, "--explain")
    assert rc == 0
    lines = out.splitlines()
    assert lines[0] == "tdx (Intel TDX): VERIFIED"
    assert lines[1] == "anchor root-ca: verified — Intel SGX Root CA"
    assert "certificate pck-ca: verified" in lines[2]


def test_sgx_status_refused_unless_reported():
    base = ["--tee", "sgx", "--evidence", dc("sgx_quote"), "--collateral",
            dc("sgx_quote_collateral.json"), "--now", DCAP_NOW,
            "--nonce-hex", b"Hello, world!".hex()]
    rc, out, _ = turtle(*base)
    assert rc == 1
    assert "ConfigurationAndSWHardeningNeeded is not accepted" in out
    rc, out, _ = turtle(*(base + ["--any-tcb-status", "--json"]))
    assert rc == 0
    c = json.loads(out)["claims"]
    assert c["tcb_status"] == "ConfigurationAndSWHardeningNeeded"
    assert c["advisory_ids"] == ["INTEL-SA-00289", "INTEL-SA-00615"]
    assert c["body"]["mr_enclave"] == \
        "33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb"


@pytest.mark.parametrize("args,why", [
    (["--now", "2025-08-01T00:00:00Z"], "expired"),
    (["--nonce-hex", "00" * 64], "binding"),
    (["--init-data-hex", "01" * 48], "init"),
    (["--collateral", dc("sgx_quote_collateral.json")], "crl"),
])
def test_tdx_refused(args, why):
    base = ["--tee", "tdx", "--evidence", dc("tdx_quote"), "--collateral",
            dc("tdx_quote_collateral.json"), "--now", DCAP_NOW]
    rc, out, _ = turtle(*(base + args))
    assert rc == 1
    assert "NOT VERIFIED" in out
    assert why in out.lower()


def test_tdx_outdated_and_tampered(tmp_path):
    # The v5 sample: no TCB level covers its platform; never UpToDate, never verified.
    rc, out, _ = turtle("--tee", "tdx", "--evidence", dc("tdx_quote_outdated"),
                        "--collateral", dc("tdx_quote_outdated_collateral.json"),
                        "--now", "2026-02-25T00:00:00Z", "--any-tcb-status", "--json")
    assert rc == 1
    res = json.loads(out)
    assert res["claims"] is None and "tcb-not-supported" in res["reasons"][0]
    quote = bytearray(open(dc("tdx_quote"), "rb").read())
    quote[48 + 136] ^= 1                # first byte of mr_td
    f = tmp_path / "q"
    f.write_bytes(bytes(quote))
    rc, out, _ = turtle("--tee", "tdx", "--evidence", str(f), "--collateral",
                        dc("tdx_quote_collateral.json"), "--now", DCAP_NOW, "--json")
    assert rc == 1
    assert "quote-signature" in json.loads(out)["reasons"][0]
    rc, out, _ = turtle("--tee", "tdx", "--evidence", dc("tdx_quote"), "--now", DCAP_NOW)
    assert rc == 1 and "collateral-missing" in out
