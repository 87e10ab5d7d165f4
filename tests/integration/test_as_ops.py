"""turtle-as operations: SIGHUP (admin token rotation, log_level), resources sealed at rest
(nothing in the clear in as.db or its WAL, released intact through the admin API and KBS,
a database moves with its key, a missing key stops the start, schema-1 rows sealed at
open)."""

import os
import secrets
import shutil
import signal
import sqlite3
import time

import pytest

import sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from as_harness import (as_bin, as_factory, asd, jwe_decrypt_rsa,  # noqa: E402,F401
                        problem, rsa_tee_key)
from harness import service_user  # noqa: E402
from test_as_kbs import kbs_attest, kbs_auth  # noqa: E402

# Waiting for an asynchronous signal to be handled, not a timing assertion.
DEADLINE = 20.0


def wait_for(pred, what):
    end = time.monotonic() + DEADLINE
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


def write_private(path, data, mode=0o600):
    """Replace a file's content in place (the inode, owner and mode stay)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    su = service_user()
    if su:
        os.chown(path, *su)


def admin_status(d, token):
    return d.request("GET", "/v1/resources", admin=True, token=token).status


def hup(d):
    assert d.proc.poll() is None
    d.proc.send_signal(signal.SIGHUP)


def log_count(d, text):
    with open(d.log_path, "rb") as f:
        return f.read().decode(errors="replace").count(text)


# -- SIGHUP ---------------------------------------------------------------------------------

def test_sighup_rotates_admin_token(asd):
    old = asd.token
    assert admin_status(asd, old) == 200
    new = secrets.token_urlsafe(32)
    write_private(asd.token_file, (new + "\n").encode())
    hup(asd)
    wait_for(lambda: admin_status(asd, new) == 200, "the new admin token to work")
    # The old token is refused at once, the process still serves everything else.
    problem(asd.request("GET", "/v1/resources", admin=True, token=old), 401)
    assert asd.request("GET", "/.well-known/jwks.json").status == 200
    assert asd.request("POST", "/v1/challenge", {"tee": "sample"}).status == 200
    assert asd.proc.poll() is None
    # A second rotation works the same way.
    newer = secrets.token_urlsafe(32)
    write_private(asd.token_file, newer.encode())
    hup(asd)
    wait_for(lambda: admin_status(asd, newer) == 200, "the second token to work")
    assert admin_status(asd, new) == 401


@pytest.mark.parametrize("bad", ["short", "mode", "missing"])
def test_sighup_bad_token_file_keeps_old(asd, bad):
    old = asd.token
    marker = "the previous admin token stays in force"
    before = log_count(asd, marker)
    if bad == "short":
        write_private(asd.token_file, b"tooshort\n")
    elif bad == "mode":
        write_private(asd.token_file, (secrets.token_urlsafe(32)).encode())
        os.chmod(asd.token_file, 0o644)
    else:
        os.unlink(asd.token_file)
    hup(asd)
    wait_for(lambda: log_count(asd, marker) > before, "the reload error in the log")
    assert asd.proc.poll() is None
    assert admin_status(asd, old) == 200
    if bad == "short":
        assert admin_status(asd, "tooshort") == 401
    # Once the file is right again, the next SIGHUP takes it.
    new = secrets.token_urlsafe(32)
    if bad == "mode":
        os.chmod(asd.token_file, 0o600)
    write_private(asd.token_file, new.encode())
    hup(asd)
    wait_for(lambda: admin_status(asd, new) == 200, "the repaired token to work")
    assert admin_status(asd, old) == 401


def test_sighup_reapplies_log_level(as_factory):
    d = as_factory(config="[as]\nlog_level = info\n")
    reloading = "SIGHUP: reloading"
    stays = "the previous admin token stays in force"
    good = d.token

    # To error: this reload's first line is still logged at info, later ones are not.
    with open(d.conf, "w") as f:
        f.write("[as]\nlog_level = error\n")
    n = log_count(d, reloading)
    hup(d)
    wait_for(lambda: log_count(d, reloading) == n + 1, "the reload to start")
    # A reload that fails on the token logs its error, but not its info lines.
    write_private(d.token_file, b"short\n")
    e = log_count(d, stays)
    hup(d)
    wait_for(lambda: log_count(d, stays) == e + 1, "the token error")
    assert log_count(d, reloading) == n + 1
    # A config that does not parse leaves the level alone (still error: no info line).
    with open(d.conf, "w") as f:
        f.write("[as]\nlog_level = loud\n")
    bad_conf = "the log level stays as it was"
    hup(d)
    wait_for(lambda: log_count(d, bad_conf) == 1, "the config error")
    assert log_count(d, reloading) == n + 1
    # Back to info.
    with open(d.conf, "w") as f:
        f.write("[as]\nlog_level = info\n")
    write_private(d.token_file, (good + "\n").encode())
    hup(d)
    wait_for(lambda: log_count(d, "admin token re-read") >= 1, "info lines again")
    assert admin_status(d, good) == 200


# -- resources sealed at rest --------------------------------------------------------------

def data_files(d):
    out = []
    for dirpath, _dirs, files in os.walk(d.data):
        for name in files:
            out.append(os.path.join(dirpath, name))
    return out


def assert_nowhere_in_clear(d, secret):
    """Neither the secret nor any 16-byte piece of it is in any file of the data dir."""
    pieces = {secret[i:i + 16] for i in range(0, max(1, len(secret) - 15))}
    names = data_files(d)
    assert any(n.endswith("as.db") for n in names), names
    for name in names:
        with open(name, "rb") as f:
            blob = f.read()
        for p in pieces:
            assert p not in blob, "%s holds resource bytes in the clear" % name


def affirming_policy(d):
    assert d.admin("POST", "/v1/policies", {"group": "default", "id": "ops",
                                            "sample_affirming": True}).status == 201
    assert d.admin("POST", "/v1/reference-values", {"reference_values": [
        {"name": "svn", "value": "1"}]}).status == 201


def kbs_fetch(d, path):
    priv, jwk = rsa_tee_key()
    cookie, ch = kbs_auth(d)
    r = kbs_attest(d, cookie, ch["nonce"], jwk, {"svn": "1"})
    assert r.status == 200, r
    r = d.request("GET", "/kbs/v0/resource/" + path, cookie=cookie)
    assert r.status == 200, r
    return jwe_decrypt_rsa(priv, r.json())


def test_resource_not_in_clear_on_disk(asd):
    secret = b"TURTLE-PLAINTEXT-CANARY:" + secrets.token_hex(32).encode() + b"\x00\xff"
    affirming_policy(asd)
    assert asd.admin("POST", "/v1/resources/default/key/canary", raw=secret).status == 201
    # Released intact through the admin API and KBS.
    r = asd.admin("GET", "/v1/resources/default/key/canary")
    assert r.status == 200 and r.body == secret
    assert kbs_fetch(asd, "default/key/canary") == secret
    lst = asd.admin("GET", "/v1/resources").json()["resources"]
    assert [x["size"] for x in lst if x["path"] == "default/key/canary"] == [len(secret)]
    # While running (the row may still be in the WAL) and after a clean stop.
    assert_nowhere_in_clear(asd, secret)
    key = os.path.join(asd.data, "resource.key")
    st = os.stat(key)
    assert st.st_mode & 0o777 == 0o600 and st.st_size == 32
    asd.stop()
    assert_nowhere_in_clear(asd, secret)
    # The key survives restarts unchanged and still opens the row.
    with open(key, "rb") as f:
        k1 = f.read()
    asd.start()
    with open(key, "rb") as f:
        assert f.read() == k1
    r = asd.admin("GET", "/v1/resources/default/key/canary")
    assert r.status == 200 and r.body == secret


def copy_data(src, dst):
    """Copy a stopped daemon's data dir into another daemon's root, owned by the service user."""
    shutil.copytree(src.data, dst.data)
    su = service_user()
    if su:
        for dirpath, dirs, files in os.walk(dst.data):
            os.chown(dirpath, *su)
            for n in files:
                os.chown(os.path.join(dirpath, n), *su)


def test_copied_database_with_key_works(as_factory):
    a = as_factory()
    secret = secrets.token_bytes(64)
    assert a.admin("POST", "/v1/resources/default/key/moved", raw=secret).status == 201
    a.stop()
    b = as_factory(start=False)
    copy_data(a, b)
    b.start()
    r = b.admin("GET", "/v1/resources/default/key/moved")
    assert r.status == 200 and r.body == secret


def test_row_moved_to_another_path_does_not_open(as_factory):
    a = as_factory()
    assert a.admin("POST", "/v1/resources/default/key/here", raw=b"bound to its path").status == 201
    a.stop()
    db = sqlite3.connect(os.path.join(a.data, "as.db"))
    db.execute("UPDATE resources SET path = 'default/key/there'")
    db.commit()
    db.close()
    su = service_user()
    if su:
        for n in data_files(a):
            os.chown(n, *su)
    a.start()
    p = problem(a.admin("GET", "/v1/resources/default/key/there"), 500)
    assert "secret" not in p["detail"]
    assert "does not open with the data key" in a.logtext()


def test_missing_key_is_a_startup_error(as_factory):
    a = as_factory()
    assert a.admin("POST", "/v1/resources/default/key/k", raw=b"needs its key").status == 201
    a.stop()
    os.unlink(os.path.join(a.data, "resource.key"))
    with pytest.raises(AssertionError):
        a.start()
    assert a.proc.returncode != 0
    log = a.logtext()
    assert "resource.key is missing but as.db holds 1 sealed resources" in log, log
    # Never silently a new key.
    assert not os.path.exists(os.path.join(a.data, "resource.key"))


def test_key_of_another_database_refused(as_factory):
    a = as_factory()
    b = as_factory()
    assert a.admin("POST", "/v1/resources/default/key/k", raw=b"sealed under a").status == 201
    a.stop()
    b.stop()
    shutil.copyfile(os.path.join(b.data, "resource.key"), os.path.join(a.data, "resource.key"))
    with pytest.raises(AssertionError):
        a.start()
    assert "is not the key as.db's 1 resources were sealed with" in a.logtext()


def test_schema1_plaintext_rows_sealed_at_open(as_factory):
    """A database written by an older build (resources as given) is sealed at first open."""
    a = as_factory(start=False)
    os.mkdir(a.data, 0o700)
    plain = b"OLD-BUILD-PLAINTEXT-" + secrets.token_hex(24).encode()
    db = sqlite3.connect(os.path.join(a.data, "as.db"))
    db.executescript("CREATE TABLE schema_version (version INTEGER NOT NULL);"
                     "INSERT INTO schema_version VALUES (1);"
                     "CREATE TABLE resources (path TEXT PRIMARY KEY, data BLOB NOT NULL,"
                     " updated INTEGER NOT NULL);")
    db.execute("INSERT INTO resources VALUES (?, ?, 1)", ("default/key/old", plain))
    db.commit()
    db.close()
    su = service_user()
    if su:
        for n in [a.data] + data_files(a):
            os.chown(n, *su)
    with pytest.raises(AssertionError):   # the scan does see bytes in the clear
        assert_nowhere_in_clear(a, plain)
    a.start()
    assert "sealed 1 resources of a schema-1 database" in a.logtext()
    r = a.admin("GET", "/v1/resources/default/key/old")
    assert r.status == 200 and r.body == plain
    a.stop()
    assert_nowhere_in_clear(a, plain)
    db = sqlite3.connect(os.path.join(a.data, "as.db"))
    assert db.execute("SELECT version FROM schema_version").fetchone() == (3,)   # sealed (2), then nodes.ak (3)
    db.close()


# -- systemd interfaces (no systemd needed: the environment is what the unit provides) -----

def test_admin_token_from_credentials_directory(as_factory, monkeypatch):
    """LoadCredential=admin-token:...: used when no admin_token_file is configured."""
    d = as_factory(admin_token=False, start=False)
    creds = os.path.join(d.root, "credentials")
    os.mkdir(creds, 0o755)
    token = secrets.token_urlsafe(32)
    write_private(os.path.join(creds, "admin-token"), token.encode(), mode=0o400)
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", creds)
    d.start()
    assert admin_status(d, token) == 200
    assert admin_status(d, "x" * 43) == 401


def test_sd_notify_ready_reload_stop(as_factory, monkeypatch):
    import socket
    d = as_factory(start=False)
    path = os.path.join(d.root, "notify")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        s.bind(path)
        os.chmod(path, 0o777)   # the daemon runs as the service user
        s.settimeout(DEADLINE)
        monkeypatch.setenv("NOTIFY_SOCKET", path)
        d.start()
        assert s.recv(4096).decode().split("\n")[0] == "READY=1"
        hup(d)
        lines = s.recv(4096).decode().split("\n")
        assert lines[0] == "RELOADING=1" and lines[1].startswith("MONOTONIC_USEC=")
        assert s.recv(4096).decode() == "READY=1"
        d.stop()
        assert s.recv(4096).decode() == "STOPPING=1"
    finally:
        s.close()
