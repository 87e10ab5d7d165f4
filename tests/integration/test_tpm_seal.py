"""turtled's soft provider with its master key sealed to a TPM (swtpm):
[provider.soft] master_key_seal_tcti. Keys made over the wire keep working across
restarts of turtled and of the TPM; the master key file starts with TTSEALED1 and
holds no 32-byte secret in the clear; the same data directory in front of another TPM
(a fresh swtpm state) fails start-up with a clear error; a plain master key file is
refused while sealing is configured, and sealed only with master_key_seal_migrate."""

import hashlib
import os

import pytest

import ossl
import parsec
from backends import Swtpm, swtpm, swtpm_missing  # noqa: F401  (fixture)

MK = "soft-master.key"


def _soft_section(tcti=None, **extra):
    lines = ["[provider.soft]"]
    if tcti is not None:
        lines.append("master_key_seal_tcti=%s" % tcti)
    lines += ["%s=%s" % kv for kv in extra.items()]
    return "\n".join(lines) + "\n"


def _start(d):
    try:
        d.start()
    except AssertionError as e:
        if "built without TPM support" in d.logtext():
            pytest.skip("turtled was built without TPM support")
        raise e
    return d


def _start_fails(d, needle):
    """turtled must exit at start-up, and its log must say `needle`."""
    with pytest.raises(AssertionError) as ei:
        d.start()
    assert "exited with" in str(ei.value)
    assert needle in d.logtext(), d.logtext()


def _client(d, pb):
    return parsec.Client(d.sock, pb, auth=parsec.auth_direct("alice"),
                         provider=parsec.PROVIDER_MBED)


def _sign_verified(c, wd, pem, algs, msg):
    st, sig = c.sign_hash("k", algs.ecdsa("SHA_256"), hashlib.sha256(msg).digest())
    assert st == 0 and len(sig) == 64
    assert ossl.dgst_verify(wd, pem, msg, ossl.ecdsa_raw_to_der(sig))


def _make_key(d, pb, wd, algs):
    with _client(d, pb) as c:
        assert c.generate_key("k", parsec.ecc_p256_sign_attrs(pb)) == 0
        st, point = c.export_public_key("k")
        assert st == 0
        pem = ossl.pubkey_pem_from_point(wd, "P-256", point)
        _sign_verified(c, wd, pem, algs, b"made with a sealed master key")
    return pem


def _read(d):
    with open(os.path.join(d.data, MK), "rb") as f:
        return f.read()


def test_sealed_master_key_restarts(daemon_factory, swtpm, pb, algs, wd):  # noqa: F811
    # the TPM provider first, on the same swtpm (no resource manager): sealing must not
    # disturb its SRK
    d = daemon_factory(swtpm.config_section() + _soft_section(swtpm.tcti), start=False)
    _start(d)
    pem = _make_key(d, pb, wd, algs)
    with parsec.Client(d.sock, pb, auth=parsec.auth_direct("alice"),
                       provider=parsec.PROVIDER_TPM) as c:
        assert c.generate_key("t", parsec.ecc_p256_sign_attrs(pb)) == 0
        st, _ = c.sign_hash("t", algs.ecdsa("SHA_256"), hashlib.sha256(b"x").digest())
        assert st == 0
    blob = _read(d)
    st = os.stat(os.path.join(d.data, MK))
    assert st.st_mode & 0o777 == 0o600
    assert blob.startswith(b"TTSEALED1") and len(blob) > 9 + 32

    d.restart()
    with _client(d, pb) as c:
        _sign_verified(c, wd, pem, algs, b"after a turtled restart")
    # the TPM is reset too (power cycle): the same SRK comes back from its template
    d.stop()
    swtpm.restart()
    _start(d)
    with _client(d, pb) as c:
        _sign_verified(c, wd, pem, algs, b"after a TPM reset")
    assert _read(d) == blob


def test_other_tpm_refused(daemon_factory, swtpm, pb, algs, wd):  # noqa: F811
    d = daemon_factory(_soft_section(swtpm.tcti), start=False)
    _start(d)
    _make_key(d, pb, wd, algs)
    d.stop()
    # the disk in front of another machine's TPM
    other = Swtpm(ek_cert=False)
    try:
        other.start()
        d.write_config(_soft_section(other.tcti))
        _start_fails(d, "was sealed by a different TPM")
    finally:
        other.cleanup()
    # no TPM at all
    swtpm.stop()
    d.write_config(_soft_section(swtpm.tcti))
    _start_fails(d, "cannot unseal the master key")
    # sealed file, option removed: not mistaken for a plain key
    d.write_config(_soft_section())
    _start_fails(d, "master_key_seal_tcti is not set")


def test_plain_file_refused_then_migrated(daemon_factory, swtpm, pb, algs, wd):  # noqa: F811
    d = daemon_factory(_soft_section(), start=False)
    _start(d)
    pem = _make_key(d, pb, wd, algs)
    d.stop()
    plain = _read(d)
    assert len(plain) == 32

    d.write_config(_soft_section(swtpm.tcti))
    _start_fails(d, "master_key_seal_migrate = yes")
    assert _read(d) == plain

    d.write_config(_soft_section(swtpm.tcti, master_key_seal_migrate="yes"))
    _start(d)
    with _client(d, pb) as c:
        _sign_verified(c, wd, pem, algs, b"after the migration")
    d.stop()
    sealed = _read(d)
    assert sealed.startswith(b"TTSEALED1") and plain not in sealed
    d.write_config(_soft_section(swtpm.tcti))
    _start(d)
    with _client(d, pb) as c:
        _sign_verified(c, wd, pem, algs, b"sealed from now on")
