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
