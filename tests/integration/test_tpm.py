"""turtled with the TPM provider (id 3) on swtpm: a key made over the wire signs inside the
TPM and openssl verifies it; when swtpm dies requests fail with a communication error and
work again once it is back, and keys survive restarts of swtpm and turtled. Key
attestation over the wire: PrepareKeyAttestation + an offline MakeCredential
(tpm2_makecredential) + AttestKey recovers the secret, the attesting key is the EK of the
EK certificate, and TtCertifyKey returns a TPMS_ATTEST naming the key."""

import hashlib
import os
import shutil
import struct
import subprocess

import pytest

import ossl
import parsec
from backends import start_tpm_daemon
from backends import swtpm  # noqa: F401  (fixture)

ST = parsec.ST
PSA_COMMUNICATION_FAILURE = 1145   # PSA_ERROR_COMMUNICATION_FAILURE (-145)
OP_TT_CERTIFY_KEY = 0x00010001
EK_CERT_RSA_INDEX = "0x01c00002"


def _client(d, pb, app="alice"):
    return parsec.Client(d.sock, pb, auth=parsec.auth_direct(app), provider=parsec.PROVIDER_TPM)


def _start(daemon_factory, tpm, **extra):
    return start_tpm_daemon(daemon_factory, tpm, **extra)


def _sign_verified(c, wd, pem, algs, msg):
    st, sig = c.sign_hash("tpm-key", algs.ecdsa("SHA_256"), hashlib.sha256(msg).digest())
    assert st == 0 and len(sig) == 64
    assert ossl.dgst_verify(wd, pem, msg, ossl.ecdsa_raw_to_der(sig))


def test_ecc_sign_fault_restart(daemon_factory, swtpm, pb, algs, wd):  # noqa: F811
    d = _start(daemon_factory, swtpm, max_loaded_keys="2")
    with _client(d, pb) as c:
        uuids = {p.id: p.uuid for p in c.list_providers()}
        assert uuids[parsec.PROVIDER_TPM] == "1e4954a4-ff21-46d3-ab0c-661eeb667e1d"
        assert c.generate_key("tpm-key", parsec.ecc_p256_sign_attrs(pb)) == 0
        st, point = c.export_public_key("tpm-key")
        assert st == 0 and len(point) == 65 and point[0] == 4
        pem = ossl.pubkey_pem_from_point(wd, "P-256", point)
        _sign_verified(c, wd, pem, algs, b"signed inside the TPM")
        # SignMessage = hash_compute + sign_hash
        msg = b"a message"
        st, sig = c.sign_message("tpm-key", algs.ecdsa("SHA_256"), msg)
        assert st == 0 and ossl.dgst_verify(wd, pem, msg, ossl.ecdsa_raw_to_der(sig))
        st, rnd = c.generate_random(100)
        assert st == 0 and len(rnd) == 100
        # the key material never leaves the TPM
        assert c.export_key("tpm-key")[0] in (ST.PSA_NOT_PERMITTED, ST.PSA_NOT_SUPPORTED)

        # swtpm dies: the request fails cleanly; once it is back the same key signs again
        swtpm.kill()
        st, _ = c.sign_hash("tpm-key", algs.ecdsa("SHA_256"), hashlib.sha256(b"x").digest())
        assert st == PSA_COMMUNICATION_FAILURE
        swtpm.start()
        _sign_verified(c, wd, pem, algs, b"after swtpm came back")

    # both restarted: the SRK is recreated from its template and the blob loads again
    swtpm.restart()
    d.restart()
    with _client(d, pb) as c:
        _sign_verified(c, wd, pem, algs, b"after restarting swtpm and turtled")
        assert c.destroy_key("tpm-key") == 0
        assert c.export_public_key("tpm-key")[0] == ST.PSA_DOES_NOT_EXIST


def test_rsa_oaep_decrypt(daemon_factory, swtpm, pb, algs, wd):  # noqa: F811
    d = _start(daemon_factory, swtpm)
    with _client(d, pb) as c:
        a = parsec.attrs(pb, parsec.rsa_pair(pb), 2048,
                         algs.policy(asymmetric_encryption=algs.rsa_oaep("SHA_256")),
                         "encrypt", "decrypt")
        assert c.generate_key("rsa", a) == 0
        st, der = c.export_public_key("rsa")
        assert st == 0
        pem = ossl.pubkey_pem_from_rsa(wd, der)
        secret = os.urandom(32)
        wd.file("pt.bin", secret)
        ossl.run(["openssl", "pkeyutl", "-encrypt", "-pubin", "-inkey", pem, "-in", wd.file("pt.bin"),
                  "-out", wd.file("ct.bin"), "-pkeyopt", "rsa_padding_mode:oaep",
                  "-pkeyopt", "rsa_oaep_md:sha256"])
        st, pt = c.asym_decrypt("rsa", algs.rsa_oaep("SHA_256"), wd.read("ct.bin"))
        assert st == 0 and pt == secret


def _tpm2b(buf, off):
    (n,) = struct.unpack_from(">H", buf, off)
    return buf[off + 2:off + 2 + n], off + 2 + n


def test_key_attestation(daemon_factory, swtpm, pb, wd):  # noqa: F811
    if shutil.which("tpm2_makecredential") is None:
        pytest.skip("tpm2-tools not installed (scripts/deps.sh --test)")
    ek_cert = None
    if swtpm.ek_cert:
        # read the EK certificate before turtled holds swtpm's only client connection
        p = subprocess.run(["tpm2_nvread", "-T", swtpm.tcti, "-C", "o", "-o", wd.file("ek.der"),
                            EK_CERT_RSA_INDEX], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if p.returncode == 0:
            ek_cert = wd.file("ek.der")
    d = _start(daemon_factory, swtpm)
    pka, ak, tck = pb.prepare_key_attestation, pb.attest_key, pb.tt_certify_key
    with _client(d, pb) as c:
        ops = set(c.list_opcodes(parsec.PROVIDER_TPM))
        assert {0x1E, 0x1F, OP_TT_CERTIFY_KEY} <= ops
        assert c.generate_key("tpm-key", parsec.ecc_p256_sign_attrs(pb)) == 0

        op = pka.Operation(parameters=pka.PrepareKeyAttestationParams(
            activate_credential=pka.PrepareKeyAttestationParams.ActivateCredential(
                attested_key_name="tpm-key")))
        res = c.ok(0x1F, op, pka.Result).output.activate_credential
        # name = sha256 alg id || SHA-256(TPMT_PUBLIC); public is a TPM2B_PUBLIC
        tpmt, end = _tpm2b(res.public, 0)
        assert end == len(res.public)
        assert res.name == b"\x00\x0b" + hashlib.sha256(tpmt).digest()
        ek_tpmt, _ = _tpm2b(res.attesting_key_pub, 0)
        assert struct.unpack_from(">H", ek_tpmt, 0)[0] == 0x0001   # TPM_ALG_RSA
        modulus = ek_tpmt[-256:]
        assert ek_tpmt[-258:-256] == b"\x01\x00"
        if ek_cert is not None:
            text = subprocess.run(["openssl", "x509", "-inform", "DER", "-in", ek_cert, "-noout",
                                   "-modulus"], check=True, stdout=subprocess.PIPE).stdout.decode()
            # the EK recreated from the TCG template is the one the certificate names
            assert text.strip().split("=", 1)[1].lower() == modulus.hex()

        # the verifier's MakeCredential, offline
        secret = os.urandom(32)
        wd.file("ek.pub", res.attesting_key_pub)
        wd.file("secret.bin", secret)
        subprocess.run(["tpm2_makecredential", "-T", "none", "-u", wd.file("ek.pub"), "-s",
                        wd.file("secret.bin"), "-n", res.name.hex(), "-o", wd.file("cred.out")],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        blob = wd.read("cred.out")
        idobj, off = _tpm2b(blob, 8)      # after the tool's magic and version
        encsec, off = _tpm2b(blob, off)
        op = ak.Operation(attested_key_name="tpm-key", parameters=ak.AttestationMechanismParams(
            activate_credential=ak.AttestationMechanismParams.ActivateCredential(
                credential_blob=idobj, secret=encsec)))
        out = c.ok(0x1E, op, ak.Result)
        assert out.output.activate_credential.credential == secret

        # another client's view: the key does not exist
        with _client(d, pb, app="mallory") as m:
            st, _ = m.call(0x1E, op, ak.Result)
            assert st == ST.PSA_DOES_NOT_EXIST

        nonce = os.urandom(16)
        r = c.ok(OP_TT_CERTIFY_KEY, tck.Operation(key_name="tpm-key", nonce=nonce), tck.Result)
        att = r.attest
        magic, typ = struct.unpack_from(">IH", att, 0)
        assert magic == 0xFF544347 and typ == 0x8017      # TPM_GENERATED_VALUE, ATTEST_CERTIFY
        signer, off = _tpm2b(att, 6)
        extra, off = _tpm2b(att, off)
        assert extra == nonce
        assert res.name in att                            # TPMS_CERTIFY_INFO.name
        sig_alg, sig_hash = struct.unpack_from(">HH", r.signature, 0)
        assert (sig_alg, sig_hash) == (0x0018, 0x000B)    # ECDSA, SHA-256
