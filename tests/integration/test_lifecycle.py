"""Daemon lifecycle: the root refusal, SIGTERM drain and clean exit, SIGHUP reload,
keys surviving a restart, zero-config start, data-dir permissions."""

import os
import signal
import stat
import subprocess
import time

import pytest

import harness
import parsec

OP, ST = parsec.OP, parsec.ST


def test_zero_config_start_and_clean_stop(daemon, pb):
    parsec.Client(daemon.sock, pb).ping()
    assert stat.S_ISSOCK(os.stat(daemon.sock).st_mode)
    daemon.stop()   # asserts exit 0 and the socket file removed
    assert not os.path.exists(daemon.sock)


def test_refuses_root_without_allow_root(daemon_factory):
    if os.getuid() != 0:
        pytest.skip("needs root to check the root refusal")
    d = daemon_factory(start=False)
    p = subprocess.run([harness.TURTLED, "--foreground", "--socket", d.sock,
                        "--data-dir", d.data], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=30)
    assert p.returncode != 0
    assert b"root" in p.stdout.lower() or b"allow-root" in p.stdout
    assert not os.path.exists(d.sock)


def test_allow_root_runs(daemon_factory, pb):
    if os.getuid() != 0:
        pytest.skip("needs root")
    d = daemon_factory(start=False)
    d.start(as_root=True, extra_args=["--allow-root"])
    parsec.Client(d.sock, pb).ping()
    d.stop()


def test_bad_config_refused(daemon_factory):
    d = daemon_factory("[limits]\nmax_body = banana\n", start=False)
    d.start(wait=False)
    rc = d.wait()
    assert rc != 0
    assert "max_body" in d.logtext()


def test_data_dir_permissions(daemon, pb):
    c = parsec.Client(daemon.sock, pb, auth=parsec.auth_direct("alice"))
    assert c.generate_key("k", parsec.ecc_p256_sign_attrs(pb)) == 0
    st = os.stat(daemon.kim_path)
    assert st.st_mode & 0o077 == 0, "key store readable by others: %o" % st.st_mode
    for name in os.listdir(daemon.data):
        p = os.path.join(daemon.data, name)
        if os.path.isfile(p):
            assert os.stat(p).st_mode & 0o007 == 0, "%s is world-accessible" % name
    su = harness.service_user()
    if su:
        assert st.st_uid == su[0]


def test_key_material_not_plaintext(daemon, pb):
    """An exported raw key does not appear verbatim in any file of the data dir."""
    key = os.urandom(32)
    alg = parsec.Algs(pb)
    a = parsec.attrs(pb, parsec.simple_type(pb, "hmac"), 256,
                     alg.policy(mac=alg.hmac("SHA_256")), "sign_hash", "export")
    c = parsec.Client(daemon.sock, pb, auth=parsec.auth_direct("alice"))
    assert c.import_key("secret", a, key) == 0
    daemon.stop()
    for name in os.listdir(daemon.data):
        p = os.path.join(daemon.data, name)
        if os.path.isfile(p):
            with open(p, "rb") as f:
                assert key not in f.read(), "raw key found in %s" % name
    daemon.start()
    assert c.export_key("secret") == (0, key)


def test_keys_survive_restart(daemon, pb, algs):
    c = parsec.Client(daemon.sock, pb, auth=parsec.auth_direct("alice"))
    assert c.generate_key("keep", parsec.ecc_p256_sign_attrs(pb)) == 0
    st, point = c.export_public_key("keep")
    daemon.restart()
    assert c.export_public_key("keep") == (0, point)
    import hashlib
    d = hashlib.sha256(b"m").digest()
    st, sig = c.sign_hash("keep", algs.ecdsa("SHA_256"), d)
    assert st == 0 and c.verify_hash("keep", algs.ecdsa("SHA_256"), d, sig) == 0
    assert [k.name for k in c.list_keys()] == ["keep"]


def test_sigterm_drains_in_flight_request(daemon, pb, algs):
    """SIGTERM while a slow request (RSA 4096 generation) is being handled: its response
    still arrives, then the daemon exits 0 and removes its socket.

    Best effort by nature: the test cannot observe that the daemon has read the request
    before the signal lands. A Ping first on the same connection makes sure it was
    accepted; if the daemon still closes the connection without an answer, the request
    was not started and the key must not exist afterwards."""
    a = parsec.attrs(pb, parsec.rsa_pair(pb), 4096,
                     algs.policy(asymmetric_signature=algs.rsa_pss("SHA_256")), "sign_hash")
    op = pb.psa_generate_key.Operation(key_name="slow", attributes=a)
    frame = parsec.build_request(OP.PSA_GENERATE_KEY, op.SerializeToString(), provider=1,
                                 auth=parsec.auth_direct("alice"))
    s = parsec.connect(daemon.sock, 60.0)
    s.sendall(parsec.build_request(OP.PING, flags=parsec.FLAG_KEEP_ALIVE))
    assert parsec.read_response(s).status == 0
    s.sendall(frame)
    time.sleep(0.2)   # give the daemon a chance to pick the request up; not an assertion
    daemon.signal(signal.SIGTERM)
    try:
        r = parsec.read_response(s)
        answered = True
        assert r.status == 0
    except (parsec.ConnectionClosed, ConnectionResetError):
        answered = False
    s.close()
    rc = daemon.wait()
    assert rc == 0
    assert not os.path.exists(daemon.sock)
    daemon.start()
    c = parsec.Client(daemon.sock, pb, auth=parsec.auth_direct("alice"))
    assert [k.name for k in c.list_keys()] == (["slow"] if answered else [])


def test_sighup_reload_admins(daemon_factory, pb):
    d = daemon_factory("[authenticator]\nadmins = direct:first\n")
    first = parsec.Client(d.sock, pb, auth=parsec.auth_direct("first"))
    second = parsec.Client(d.sock, pb, auth=parsec.auth_direct("second"))
    assert first.list_clients()[0] == 0
    assert second.list_clients()[0] == ST.ADMIN_OPERATION
    d.write_config("[authenticator]\nadmins = direct:second\n")
    d.signal(signal.SIGHUP)
    # reload is asynchronous: poll with a hang bound
    deadline = time.monotonic() + 20
    while second.list_clients()[0] != 0:
        assert time.monotonic() < deadline, "SIGHUP did not apply the new admin list"
        time.sleep(0.05)
    assert first.list_clients()[0] == ST.ADMIN_OPERATION
    assert d.proc.poll() is None


def test_sighup_bad_config_keeps_old(daemon_factory, pb):
    d = daemon_factory("[authenticator]\nadmins = direct:first\n")
    d.write_config("[limits]\nmax_body = not-a-size\n")
    d.signal(signal.SIGHUP)
    first = parsec.Client(d.sock, pb, auth=parsec.auth_direct("first"))
    for _ in range(20):
        assert first.list_clients()[0] == 0
        time.sleep(0.02)
    assert d.proc.poll() is None


def test_sighup_reload_limits(daemon_factory, pb):
    d = daemon_factory("[limits]\nmax_body = 1M\n")
    big = parsec.Header(body_len=4096, opcode=OP.PING)
    d.write_config("[limits]\nmax_body = 2048\n")
    d.signal(signal.SIGHUP)
    deadline = time.monotonic() + 20
    while True:
        with parsec.connect(d.sock) as s:
            s.sendall(big.pack() + b"\x00" * 4096)
            r = parsec.read_response(s)
        if r.status == ST.BODY_SIZE_EXCEEDS_LIMIT:
            break
        assert time.monotonic() < deadline, "new max_body never applied"
        time.sleep(0.05)
