#!/usr/bin/env python3
"""Write the synthetic DCAP world of test_dcap.c into tests/unit/verify/data/dcap/syn/.

Intel's keys sign every real vector, so the cases no shared vector has are built here
under a test root of our own: a TDX quote v5 with a TD 1.0 body whose RTMRs are the replay
of a CC event log written alongside, and one collateral file per case (TCB statuses and
their convergence with the QE and TDX module statuses, a revoked TCB level, a revoked PCK,
an expired PCK CRL, a TDX module that is not the one the TCB info names). Layouts follow
Intel's "TDX DCAP Quoting Library API" and "SGX PCK Certificate and CRL Profile"; the
files are written once and committed (the keys are random, so a rerun changes every
byte). Needs python3-cryptography. Run: python3 gen-synthetic.py
"""
import datetime
import hashlib
import json
import os
import struct

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils
from cryptography.x509.oid import NameOID

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "syn")
SGX = "1.2.840.113741.1.13.1"
UTC = datetime.timezone.utc


# ---- DER, just what the SGX extension needs ----
def tlv(tag, body):
    n = len(body)
    if n < 0x80:
        ln = bytes([n])
    elif n < 0x100:
        ln = bytes([0x81, n])
    else:
        ln = bytes([0x82, n >> 8, n & 0xFF])
    return bytes([tag]) + ln + body


def oid(dotted):
    arcs = [int(a) for a in dotted.split(".")]
    out = bytes([40 * arcs[0] + arcs[1]])
    for a in arcs[2:]:
        enc = [a & 0x7F]
        a >>= 7
        while a:
            enc.append(0x80 | (a & 0x7F))
            a >>= 7
        out += bytes(reversed(enc))
    return tlv(0x06, out)


def integer(n, tag=0x02):
    b = n.to_bytes(max(1, (n.bit_length() + 8) // 8), "big")
    return tlv(tag, b)


def seq(*items):
    return tlv(0x30, b"".join(items))


def sgx_extension(ppid, comps, pcesvn, cpusvn, pceid, fmspc):
    tcb = [seq(oid("%s.2.%d" % (SGX, i + 1)), integer(c)) for i, c in enumerate(comps)]
    tcb.append(seq(oid(SGX + ".2.17"), integer(pcesvn)))
    tcb.append(seq(oid(SGX + ".2.18"), tlv(0x04, cpusvn)))
    return seq(
        seq(oid(SGX + ".1"), tlv(0x04, ppid)),
        seq(oid(SGX + ".2"), seq(*tcb)),
        seq(oid(SGX + ".3"), tlv(0x04, pceid)),
        seq(oid(SGX + ".4"), tlv(0x04, fmspc)),
        seq(oid(SGX + ".5"), integer(1, tag=0x0A)),
    )


# ---- certificates and CRLs ----
def name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Turtle test")])


def cert(subject, key, issuer, issuer_key, ca, serial, extra=None):
    b = (x509.CertificateBuilder().subject_name(name(subject)).issuer_name(name(issuer))
         .public_key(key.public_key()).serial_number(serial)
         .not_valid_before(datetime.datetime(2025, 1, 1, tzinfo=UTC))
         .not_valid_after(datetime.datetime(2035, 1, 1, tzinfo=UTC))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
         .add_extension(x509.KeyUsage(digital_signature=not ca, content_commitment=not ca,
                                      key_encipherment=False, data_encipherment=False,
                                      key_agreement=False, key_cert_sign=ca, crl_sign=ca,
                                      encipher_only=False, decipher_only=False), critical=True)
         .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                        critical=False)
         .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
             issuer_key.public_key()), critical=False))
    if extra is not None:
        b = b.add_extension(extra, critical=False)
    return b.sign(issuer_key, hashes.SHA256())


def crl(issuer, key, revoked=(), next_update=datetime.datetime(2026, 12, 31, tzinfo=UTC)):
    b = (x509.CertificateRevocationListBuilder().issuer_name(name(issuer))
         .last_update(datetime.datetime(2026, 1, 1, tzinfo=UTC)).next_update(next_update)
         .add_extension(x509.CRLNumber(1), critical=False)
         .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()),
                        critical=False))
    for serial in revoked:
        b = b.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial)
            .revocation_date(datetime.datetime(2026, 2, 1, tzinfo=UTC)).build())
    return b.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def pem(c):
    return c.public_bytes(serialization.Encoding.PEM)


def raw_sig(key, data):
    r, s = utils.decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def xy(key):
    return key.public_key().public_bytes(serialization.Encoding.X962,
                                         serialization.PublicFormat.UncompressedPoint)[1:]


# ---- the platform ----
PCK_COMPS = [3, 3, 2, 2, 4, 1, 0, 5] + [0] * 8
PCESVN = 13
FMSPC = bytes.fromhex("10c06f000000")
TEE_TCB_SVN = bytes([4, 1, 2]) + bytes(13)      # module SVN 4, module version 1 (TDX_01)
QE_MRSIGNER = bytes(range(32))
QE_ISVSVN = 4


def ccel():
    """A CC event log: EV_EFI_ACTION events into RTMR 0-2, their RTMR values."""
    spec = (b"Spec ID Event03\0" + struct.pack("<IBBBBI", 0, 0, 2, 0, 2, 1)
            + struct.pack("<HH", 0x0C, 48) + b"\0")
    log = struct.pack("<II", 0, 3) + bytes(20) + struct.pack("<I", len(spec)) + spec
    rtmr = [bytes(48)] * 4
    events = [(1, b"Turtle synthetic firmware"), (2, b"Turtle synthetic kernel"),
              (2, b"Turtle synthetic initrd"), (3, b"Turtle synthetic application")]
    for idx, data in events:
        d = hashlib.sha384(data).digest()
        log += struct.pack("<IIIH", idx, 0x80000007, 1, 0x0C) + d
        log += struct.pack("<I", len(data)) + data
        rtmr[idx - 1] = hashlib.sha384(rtmr[idx - 1] + d).digest()
    return log + b"\xff" * 32, rtmr


def td_report(rtmr):
    rd = b"turtle synthetic nonce".ljust(64, b"\0")
    return (TEE_TCB_SVN + bytes(48)              # tee_tcb_svn, mr_seam
            + bytes(48) + bytes(8)               # mr_signer_seam, seam_attributes
            + struct.pack("<Q", 1 << 28)         # td_attributes: SEPT_VE_DISABLE
            + struct.pack("<Q", 0xE7)            # xfam
            + bytes(range(48))                   # mr_td
            + bytes(48) * 3 + b"".join(rtmr) + rd)


def enclave_report(report_data):
    return (bytes(16) + struct.pack("<I", 0) + bytes(12) + bytes(16)
            + bytes([0x11]) + bytes(15)          # attributes (flags, xfrm)
            + bytes(32) + bytes(32) + QE_MRSIGNER + bytes(32) + bytes(64)
            + struct.pack("<HHH", 2, QE_ISVSVN, 0) + bytes(42) + bytes(16) + report_data)


def tcb_info(root_key, signer, levels, module_levels, module_mrsigner=bytes(48)):
    body = {
        "id": "TDX", "version": 3,
        "issueDate": "2026-05-01T00:00:00Z", "nextUpdate": "2026-07-01T00:00:00Z",
        "fmspc": FMSPC.hex().upper(), "pceId": "0000", "tcbType": 0,
        "tcbEvaluationDataNumber": 99,
        "tdxModule": {"mrsigner": bytes(48).hex().upper(), "attributes": "0000000000000000",
                      "attributesMask": "FFFFFFFFFFFFFFFF"},
        "tdxModuleIdentities": [{
            "id": "TDX_01", "mrsigner": module_mrsigner.hex().upper(),
            "attributes": "0000000000000000", "attributesMask": "FFFFFFFFFFFFFFFF",
            "tcbLevels": [{"tcb": {"isvsvn": s}, "tcbDate": "2026-01-01T00:00:00Z",
                           "tcbStatus": st} for s, st in module_levels]}],
        "tcbLevels": [],
    }
    for comps, pcesvn, tdx, status, adv in levels:
        lvl = {"tcb": {"sgxtcbcomponents": [{"svn": c} for c in comps], "pcesvn": pcesvn,
                       "tdxtcbcomponents": [{"svn": c} for c in tdx]},
               "tcbDate": "2026-01-01T00:00:00Z", "tcbStatus": status}
        if adv:
            lvl["advisoryIDs"] = adv
        body["tcbLevels"].append(lvl)
    text = json.dumps(body, separators=(",", ":"))
    return text, raw_sig(signer, text.encode())


def qe_identity(signer, levels):
    body = {"id": "TD_QE", "version": 2, "issueDate": "2026-05-01T00:00:00Z",
            "nextUpdate": "2026-07-01T00:00:00Z", "tcbEvaluationDataNumber": 99,
            "miscselect": "00000000", "miscselectMask": "FFFFFFFF",
            "attributes": "11000000000000000000000000000000",
            "attributesMask": "FBFFFFFFFFFFFFFF0000000000000000",
            "mrsigner": QE_MRSIGNER.hex().upper(), "isvprodid": 2,
            "tcbLevels": []}
    for s, st, adv in levels:
        lvl = {"tcb": {"isvsvn": s}, "tcbDate": "2026-01-01T00:00:00Z", "tcbStatus": st}
        if adv:
            lvl["advisoryIDs"] = adv
        body["tcbLevels"].append(lvl)
    text = json.dumps(body, separators=(",", ":"))
    return text, raw_sig(signer, text.encode())


def main():
    os.makedirs(OUT, exist_ok=True)
    root_k = ec.generate_private_key(ec.SECP256R1())
    ca_k = ec.generate_private_key(ec.SECP256R1())
    pck_k = ec.generate_private_key(ec.SECP256R1())
    tcb_k = ec.generate_private_key(ec.SECP256R1())
    ak = ec.generate_private_key(ec.SECP256R1())
    root = cert("Turtle Test SGX Root CA", root_k, "Turtle Test SGX Root CA", root_k, True, 1)
    ca = cert("Turtle Test SGX PCK Platform CA", ca_k, "Turtle Test SGX Root CA", root_k,
              True, 2)
    ext = x509.UnrecognizedExtension(x509.ObjectIdentifier(SGX), sgx_extension(
        bytes(range(16)), PCK_COMPS, PCESVN, bytes(PCK_COMPS), b"\0\0", FMSPC))
    pck = cert("Turtle Test SGX PCK Certificate", pck_k, "Turtle Test SGX PCK Platform CA",
               ca_k, False, 0x5C5C, ext)
    tcb = cert("Turtle Test Intel SGX TCB Signing", tcb_k, "Turtle Test SGX Root CA", root_k,
               False, 3)
    chain = pem(pck) + pem(ca) + pem(root)

    log, rtmr = ccel()
    body = td_report(rtmr)
    header = struct.pack("<HHI", 5, 2, 0x81) + bytes(4) + bytes.fromhex(
        "939a7233f79c4ca9940a0db3957f0607") + bytes(20)
    signed = header + struct.pack("<HI", 2, len(body)) + body
    auth = bytes(range(32))
    qe = enclave_report(hashlib.sha256(xy(ak) + auth).digest() + bytes(32))
    inner = (qe + raw_sig(pck_k, qe) + struct.pack("<H", len(auth)) + auth
             + struct.pack("<HI", 5, len(chain)) + chain)
    sigdata = raw_sig(ak, signed) + xy(ak) + struct.pack("<HI", 6, len(inner)) + inner
    quote = signed + struct.pack("<I", len(sigdata)) + sigdata

    with open(os.path.join(OUT, "root.pem"), "wb") as f:
        f.write(pem(root))
    with open(os.path.join(OUT, "tdx_quote_v5_td10"), "wb") as f:
        f.write(quote)
    with open(os.path.join(OUT, "ccel.bin"), "wb") as f:
        f.write(log)

    tdx_ok = [0, 0, 2] + [0] * 13
    lower = [2, 2, 2, 2, 3, 1, 0, 5] + [0] * 8
    mod_ok = [(4, "UpToDate"), (2, "OutOfDate")]
    qe_ok = [(4, "UpToDate", None), (2, "OutOfDate", ["INTEL-SA-00002"])]

    def levels(status, adv=None):
        return [(PCK_COMPS, PCESVN, tdx_ok, status, adv),
                (lower, PCESVN, tdx_ok, "OutOfDate", ["INTEL-SA-00009"])]

    root_crl = crl("Turtle Test SGX Root CA", root_k)
    pck_crl = crl("Turtle Test SGX PCK Platform CA", ca_k)
    cases = {
        "ok": dict(levels=levels("UpToDate")),
        "swh": dict(levels=levels("SWHardeningNeeded", ["INTEL-SA-00001"])),
        "qe-outdated": dict(levels=levels("UpToDate"),
                            qe=[(5, "UpToDate", None), (3, "OutOfDate", ["INTEL-SA-00002"])]),
        "module-outdated": dict(levels=levels("ConfigurationNeeded", ["INTEL-SA-00003"]),
                                module=[(5, "UpToDate"), (3, "OutOfDate")]),
        "level-revoked": dict(levels=levels("Revoked", ["INTEL-SA-00004"])),
        "no-level": dict(levels=[(lower, PCESVN + 1, tdx_ok, "UpToDate", None)]),
        "module-mismatch": dict(levels=levels("UpToDate"), module_mrsigner=b"\x01" * 48),
        "pck-revoked": dict(levels=levels("UpToDate"),
                            pck_crl=crl("Turtle Test SGX PCK Platform CA", ca_k, [0x5C5C])),
        "crl-expired": dict(levels=levels("UpToDate"),
                            pck_crl=crl("Turtle Test SGX PCK Platform CA", ca_k,
                                        next_update=datetime.datetime(2026, 5, 15,
                                                                      tzinfo=UTC))),
    }
    for case, c in cases.items():
        ti, ti_sig = tcb_info(root_k, tcb_k, c["levels"], c.get("module", mod_ok),
                              c.get("module_mrsigner", bytes(48)))
        qi, qi_sig = qe_identity(tcb_k, c.get("qe", qe_ok))
        col = {
            "pck_crl_issuer_chain": (pem(ca) + pem(root)).decode(),
            "root_ca_crl": root_crl.hex(),
            "pck_crl": c.get("pck_crl", pck_crl).hex(),
            "tcb_info_issuer_chain": (pem(tcb) + pem(root)).decode(),
            "tcb_info": ti, "tcb_info_signature": ti_sig.hex(),
            "qe_identity_issuer_chain": (pem(tcb) + pem(root)).decode(),
            "qe_identity": qi, "qe_identity_signature": qi_sig.hex(),
        }
        with open(os.path.join(OUT, "collateral-%s.json" % case), "w") as f:
            json.dump(col, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
