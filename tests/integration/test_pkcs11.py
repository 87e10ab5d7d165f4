"""turtled with the PKCS#11 provider (id 2) on a SoftHSM2 token: an ECC key created over the
wire lives on the token, its signatures verify with openssl, and it survives a restart of
turtled. Start-up errors name their cause."""

import hashlib

import pytest

import ossl
import parsec
from backends import softhsm  # noqa: F401  (fixture)

ST = parsec.ST


def _client(d, pb, app="alice"):
    return parsec.Client(d.sock, pb, auth=parsec.auth_direct(app), provider=parsec.PROVIDER_PKCS11)


def _start(daemon_factory, hsm, **extra):
    d = daemon_factory(hsm.config_section(**extra), start=False)
    try:
        d.start(env=hsm.env())
    except AssertionError as e:
        if "is not compiled into this turtled" in d.logtext():
            pytest.skip("turtled was built without the pkcs11 provider")
        raise e
    return d


@pytest.mark.parametrize("sw", ["true", "false"], ids=["sw-public", "token-public"])
def test_ecc_sign_restart(daemon_factory, softhsm, pb, algs, wd, sw):  # noqa: F811
    d = _start(daemon_factory, softhsm, software_public_operations=sw)
    with _client(d, pb) as c:
        uuids = {p.id: p.uuid for p in c.list_providers()}
        assert uuids[parsec.PROVIDER_PKCS11] == "30e39502-eba6-4d60-a4af-c518b7f5e38f"
        assert c.generate_key("hsm-key", parsec.ecc_p256_sign_attrs(pb)) == 0
        msg = b"signed inside the token"
        digest = hashlib.sha256(msg).digest()
        st, sig = c.sign_hash("hsm-key", algs.ecdsa("SHA_256"), digest)
        assert st == 0 and len(sig) == 64
        st, point = c.export_public_key("hsm-key")
        assert st == 0 and len(point) == 65 and point[0] == 4
        pem = ossl.pubkey_pem_from_point(wd, "P-256", point)
        assert ossl.dgst_verify(wd, pem, msg, ossl.ecdsa_raw_to_der(sig))
        assert c.verify_hash("hsm-key", algs.ecdsa("SHA_256"), digest, sig) == 0
        bad = bytes([sig[0] ^ 1]) + sig[1:]
        assert c.verify_hash("hsm-key", algs.ecdsa("SHA_256"), digest, bad) == ST.PSA_INVALID_SIGNATURE
        # the key is not extractable
        assert c.export_key("hsm-key")[0] in (ST.PSA_NOT_PERMITTED, ST.PSA_NOT_SUPPORTED)

    # the object is on the token (SoftHSM2 lists its objects after login)
    out = softhsm.util("--show-slots")
    assert softhsm.label in out

    d.restart(env=softhsm.env())
    with _client(d, pb) as c:
        msg2 = b"and again after a restart"
        st, sig2 = c.sign_hash("hsm-key", algs.ecdsa("SHA_256"), hashlib.sha256(msg2).digest())
        assert st == 0
        assert ossl.dgst_verify(wd, pem, msg2, ossl.ecdsa_raw_to_der(sig2))
        # SignMessage is built on sign_hash + hash_compute
        st, sig3 = c.sign_message("hsm-key", algs.ecdsa("SHA_256"), msg2)
        assert st == 0 and ossl.dgst_verify(wd, pem, msg2, ossl.ecdsa_raw_to_der(sig3))
        assert c.destroy_key("hsm-key") == 0
        assert c.export_public_key("hsm-key")[0] == ST.PSA_DOES_NOT_EXIST
        st, rnd = c.generate_random(32)
        assert st == 0 and len(rnd) == 32


def test_wrong_pin_refused_at_start(daemon_factory, softhsm):  # noqa: F811
    cfg = softhsm.config_section().replace("user_pin=%s" % softhsm.user_pin, "user_pin=0000")
    d = daemon_factory(cfg, start=False)
    with pytest.raises(AssertionError):
        d.start(env=softhsm.env())
    log = d.logtext()
    if "is not compiled into this turtled" in log:
        pytest.skip("turtled was built without the pkcs11 provider")
    assert "CKR_PIN_INCORRECT" in log


def test_unknown_label_lists_tokens(daemon_factory, softhsm):  # noqa: F811
    cfg = softhsm.config_section().replace("token_label=%s" % softhsm.label, "token_label=nope")
    d = daemon_factory(cfg, start=False)
    with pytest.raises(AssertionError):
        d.start(env=softhsm.env())
    log = d.logtext()
    if "is not compiled into this turtled" in log:
        pytest.skip("turtled was built without the pkcs11 provider")
    assert 'no token with label "nope"' in log and '"%s"' % softhsm.label in log


def _list_objects(hsm, login):
    """pkcs11-tool's listing of the token, as anyone on the host could run it (no PIN) or
    with the user PIN."""
    import os
    import shutil
    import subprocess
    tool = shutil.which("pkcs11-tool")
    if tool is None:
        pytest.skip("pkcs11-tool (Debian package opensc) is not installed")
    args = [tool, "--module", hsm.module, "--token-label", hsm.label, "--list-objects"]
    if login:
        args += ["--login", "--pin", hsm.user_pin]
    e = dict(os.environ)
    e.update(hsm.env())
    p = subprocess.run(args, env=e, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = p.stdout.decode(errors="replace")
    assert p.returncode == 0, out
    return out


def test_labels_do_not_expose_key_names(daemon_factory, softhsm, pb, algs, wd):  # noqa: F811
    # Issue 9, item 10: the token's public objects can be listed without logging in, so
    # their labels must not carry key (or client) names.
    d = _start(daemon_factory, softhsm)
    secret_names = ["payments-prod-signing", "db-backup-encryption", "imported-scalar"]
    with _client(d, pb, app="tenant-acme") as c:
        assert c.generate_key(secret_names[0], parsec.ecc_p256_sign_attrs(pb)) == 0
        rsa = parsec.attrs(pb, parsec.rsa_pair(pb), 2048,
                           algs.policy(asymmetric_encryption=algs.rsa_pkcs1v15_crypt()),
                           "encrypt", "decrypt")
        assert c.generate_key(secret_names[1], rsa) == 0
        key = ossl.genpkey(wd, "p256.pem", "-algorithm", "EC", "-pkeyopt",
                           "ec_paramgen_curve:P-256")
        text = ossl.run(["openssl", "pkey", "-in", key, "-text", "-noout"]).stdout.decode()
        priv_hex = "".join(text.split("priv:")[1].split("pub:")[0].split()).replace(":", "")
        scalar = bytes.fromhex(priv_hex)[-32:].rjust(32, b"\0")
        assert c.import_key(secret_names[2], parsec.ecc_p256_sign_attrs(pb), scalar) == 0
    d.stop()   # the key store is read while turtled does not hold it
    kids = sorted(r.lower() for r in d.sql("SELECT hex(kid) FROM keys"))
    assert len(kids) == 3
    for login in (False, True):
        out = _list_objects(softhsm, login)
        for n in secret_names + ["tenant-acme"]:
            assert n not in out, "key or client name visible on the token:\n" + out
        labels = sorted(ln.split("label:", 1)[1].strip() for ln in out.splitlines()
                        if ln.strip().startswith("label:"))
        # without login only the three public objects; with it the private ones too
        expect = kids if not login else sorted(kids * 2)
        assert labels == ["turtle-" + k for k in expect], out
    # and the keys still work (found by CKA_ID, not by label)
    d.start(env=softhsm.env())
    with _client(d, pb, app="tenant-acme") as c:
        digest = hashlib.sha256(b"m").digest()
        assert c.sign_hash(secret_names[2], algs.ecdsa("SHA_256"), digest)[0] == 0
