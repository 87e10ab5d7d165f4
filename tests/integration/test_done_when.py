"""The issue's Done-when flow, from the spec-only client: ping, list providers, create an
ECC P-256 key, sign a SHA-256 hash, export the public key and verify the signature with
OpenSSL, be refused another client's key, destroy the key."""

import hashlib

import pytest

import ossl
import parsec

ST = parsec.ST


@pytest.mark.parametrize("persistent", [False, True], ids=["per-request", "persistent"])
def test_done_when(daemon, pb, algs, wd, persistent):
    alice = parsec.Client(daemon.sock, pb, auth=parsec.auth_direct("alice"),
                          persistent=persistent)
    mallory = parsec.Client(daemon.sock, pb, auth=parsec.auth_direct("mallory"),
                            persistent=persistent)
    try:
        pong = alice.ping()
        assert (pong.wire_protocol_version_maj, pong.wire_protocol_version_min) == (1, 0)

        providers = alice.list_providers()
        uuids = {p.id: p.uuid for p in providers}
        assert uuids[0] == parsec.UUID_CORE
        assert uuids[1] == parsec.UUID_MBED

        assert alice.generate_key("done-when", parsec.ecc_p256_sign_attrs(pb)) == 0
        message = b"the bottom turtle"
        digest = hashlib.sha256(message).digest()
        st, sig = alice.sign_hash("done-when", algs.ecdsa("SHA_256"), digest)
        assert st == 0 and len(sig) == 64

        st, point = alice.export_public_key("done-when")
        assert st == 0 and len(point) == 65 and point[0] == 4
        pem = ossl.pubkey_pem_from_point(wd, "P-256", point)
        assert ossl.dgst_verify(wd, pem, message, ossl.ecdsa_raw_to_der(sig))
        assert not ossl.dgst_verify(wd, pem, message + b"!", ossl.ecdsa_raw_to_der(sig))
        assert alice.verify_hash("done-when", algs.ecdsa("SHA_256"), digest, sig) == 0

        # Another client cannot see, use, export or destroy it.
        assert mallory.sign_hash("done-when", algs.ecdsa("SHA_256"), digest)[0] == \
            ST.PSA_DOES_NOT_EXIST
        assert mallory.export_public_key("done-when")[0] == ST.PSA_DOES_NOT_EXIST
        assert mallory.destroy_key("done-when") == ST.PSA_DOES_NOT_EXIST
        assert [k.name for k in mallory.list_keys()] == []
        assert [k.name for k in alice.list_keys()] == ["done-when"]

        assert alice.destroy_key("done-when") == 0
        assert alice.export_public_key("done-when")[0] == ST.PSA_DOES_NOT_EXIST
        assert alice.destroy_key("done-when") == ST.PSA_DOES_NOT_EXIST
        assert [k.name for k in alice.list_keys()] == []
    finally:
        alice.close()
        mallory.close()


def test_list_keys_attributes(client, pb):
    assert client.generate_key("attr", parsec.ecc_p256_sign_attrs(pb)) == 0
    keys = client.list_keys()
    assert len(keys) == 1
    k = keys[0]
    assert k.name == "attr" and k.provider_id == 1
    a = k.attributes
    assert a.key_bits == 256
    assert a.key_type.WhichOneof("variant") == "ecc_key_pair"
    assert a.key_type.ecc_key_pair.curve_family == pb.psa_key_attributes.KeyType.SECP_R1
    assert a.key_policy.key_usage_flags.sign_hash
    assert a.key_policy.key_usage_flags.verify_hash
    assert not a.key_policy.key_usage_flags.export
    sig = a.key_policy.key_algorithm.asymmetric_signature
    assert sig.WhichOneof("variant") == "ecdsa"


def test_unix_peer_client(daemon, pb, algs):
    """The same flow with the Unix peer authenticator (uid checked against SO_PEERCRED)."""
    c = parsec.Client(daemon.sock, pb, auth=parsec.auth_unix())
    assert c.generate_key("unix-key", parsec.ecc_p256_sign_attrs(pb)) == 0
    digest = hashlib.sha256(b"x").digest()
    st, sig = c.sign_hash("unix-key", algs.ecdsa("SHA_256"), digest)
    assert st == 0
    assert c.verify_hash("unix-key", algs.ecdsa("SHA_256"), digest, sig) == 0
    assert c.destroy_key("unix-key") == 0
