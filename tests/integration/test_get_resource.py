"""`turtle get-resource`: the KBS client of the turtle command, on swtpm + turtled +
turtle-as. The secret is released to a registered node whose TPM evidence is affirming,
byte for byte; it is refused (exit 1, turtle-as's reason, nothing on stdout) to a node
that is not registered, and after a PCR the reference values name has changed."""

import hashlib
import json
import os
import subprocess

from as_harness import as_bin, as_factory, asd  # noqa: F401
from backends import need_cli_and_tpm2_tools, start_agent_daemon
from backends import swtpm  # noqa: F401  (fixture)
from harness import TURTLE_CLI

ADMIN = "admin_priv"
SECRET = b"\x00\x01 the node's disk key \xff\n"


def _cli(d, *args, app=ADMIN):
    argv = [TURTLE_CLI, "--socket", d.sock, "--app-name", app] + list(args)
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)


def _tpm2(tpm, *args):
    env = dict(os.environ, TPM2TOOLS_TCTI=tpm.tcti)
    return subprocess.run(list(args), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=60, check=True).stdout.decode()


def _refvals(tpm, group):
    import re
    out = _tpm2(tpm, "tpm2_pcrread", "sha256:0,1,2,3,4,5,6,7,8,9,10")
    vals = {int(m.group(1)): m.group(2).lower()
            for m in re.finditer(r"^\s*(\d+)\s*:\s*0x([0-9A-Fa-f]+)", out, re.M)}
    assert len(vals) == 11
    return {"reference_values": [{"name": "pcr.sha256.%d" % i, "value": v,
                                  "scope": "group:" + group} for i, v in vals.items()]}


def test_get_resource_only_while_affirming(daemon_factory, swtpm, asd, tmp_path):  # noqa: F811
    need_cli_and_tpm2_tools("tpm2_pcrread", "tpm2_pcrextend")
    d = start_agent_daemon(daemon_factory, swtpm, ADMIN)
    url = "http://127.0.0.1:%d" % asd.port
    tok = ["--as", url, "--admin-token-file", asd.token_file]
    sec = tmp_path / "secret.bin"
    sec.write_bytes(SECRET)
    assert _cli(d, "as", "resource", "put", "default/node/disk", str(sec), *tok).returncode == 0

    # not registered: turtle-as knows no node with this AK
    p = _cli(d, "get-resource", "--as", url, "default/node/disk", app="alice")
    assert p.returncode == 1 and p.stdout == b""
    assert b"HTTP 4" in p.stderr, p.stderr

    p = _cli(d, "as", "node", "register", "--node", "n1", "--group", "kbs", *tok)
    assert p.returncode == 0, p.stderr
    rv = tmp_path / "rv.json"
    rv.write_text(json.dumps(_refvals(swtpm, "kbs")))
    assert _cli(d, "as", "refvals", "import", str(rv), *tok).returncode == 0

    # affirming: the secret, byte for byte, on stdout and in a 0600 file
    p = _cli(d, "get-resource", "--as", url, "default/node/disk", app="alice")
    assert p.returncode == 0, p.stderr
    assert p.stdout == SECRET
    assert b"status: affirming" in p.stderr
    out = tmp_path / "got"
    p = _cli(d, "get-resource", "--as", url, "--out", str(out), "default/node/disk", app="alice")
    assert p.returncode == 0, p.stderr
    assert out.read_bytes() == SECRET and (os.stat(out).st_mode & 0o777) == 0o600
    # an unknown resource
    p = _cli(d, "get-resource", "--as", url, "default/node/none", app="alice")
    assert p.returncode == 1 and b"HTTP 404" in p.stderr

    # a PCR named by the reference values changes: refused, with the reason
    _tpm2(swtpm, "tpm2_pcrextend", "7:sha256=" + hashlib.sha256(b"other loader").hexdigest())
    p = _cli(d, "get-resource", "--as", url, "default/node/disk", app="alice")
    assert p.returncode == 1 and p.stdout == b""
    assert b"status: contraindicated" in p.stderr and b"HTTP 401" in p.stderr, p.stderr
    d.stop()


def test_get_resource_usage(daemon_factory):
    if TURTLE_CLI is None:
        return
    d = daemon_factory()
    for args in (["get-resource", "default/a/b"],                    # no --as
                 ["get-resource", "--as", "http://127.0.0.1:1"],     # no path
                 ["get-resource", "--as", "http://127.0.0.1:1", "../etc/x"]):
        assert _cli(d, *args).returncode == 2
