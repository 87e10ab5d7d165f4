"""A synthetic Intel DCAP world (python3-cryptography): a test root CA, a PCK Platform CA, a
PCK certificate carrying the SGX extension, a TCB signing certificate, root and PCK CRLs,
and TDX quotes v5 (TD 1.0 or TD 1.5 body) signed over any report data by an attestation key the QE
report binds, with a CC event log their RTMRs replay; collateral JSON (the dcap-qvl form)
per case; SGX quotes v3 and SGX collateral likewise. Real Intel quotes cannot carry a fresh challenge or a chosen TCB status; these
can. Layouts: Intel's "TDX DCAP Quoting Library API" and "SGX PCK Certificate and CRL
Profile". Used by tests/unit/verify/data/dcap/gen-synthetic.py (fixed dates, committed
files) and by the turtle-as tests (windows around the real clock, written as an anchors
directory and a collateral cache directory)."""

import base64
import datetime
import hashlib
import json
import os
import struct

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils
from cryptography.x509.oid import NameOID

SGX = "1.2.840.113741.1.13.1"
UTC = datetime.timezone.utc
PCK_COMPS = [3, 3, 2, 2, 4, 1, 0, 5] + [0] * 8
LOWER_COMPS = [2, 2, 2, 2, 3, 1, 0, 5] + [0] * 8
PCESVN = 13
FMSPC = bytes.fromhex("10c06f000000")
PPID = bytes(range(16))
TEE_TCB_SVN = bytes([4, 1, 2]) + bytes(13)      # module SVN 4, module version 1 (TDX_01)
TDX_COMPS = [0, 0, 2] + [0] * 13
QE_MRSIGNER = bytes(range(32))
QE_ISVSVN = 4
MR_TD = bytes(range(48))
XFAM = struct.pack("<Q", 0xE7)
PCK_SERIAL = 0x5C5C
MR_ENCLAVE = bytes(range(100, 132))
MR_SIGNER = bytes(range(200, 232))
SGX_ATTRIBUTES = struct.pack("<QQ", 0x05, 0xE7)   # INIT | MODE64BIT (no DEBUG), xfrm


# ---- DER, just what the SGX extension needs ----
def _tlv(tag, body):
    n = len(body)
    if n < 0x80:
        ln = bytes([n])
    elif n < 0x100:
        ln = bytes([0x81, n])
    else:
        ln = bytes([0x82, n >> 8, n & 0xFF])
    return bytes([tag]) + ln + body


def _oid(dotted):
    arcs = [int(a) for a in dotted.split(".")]
    out = bytes([40 * arcs[0] + arcs[1]])
    for a in arcs[2:]:
        enc = [a & 0x7F]
        a >>= 7
        while a:
            enc.append(0x80 | (a & 0x7F))
            a >>= 7
        out += bytes(reversed(enc))
    return _tlv(0x06, out)


def _int(n, tag=0x02):
    return _tlv(tag, n.to_bytes(max(1, (n.bit_length() + 8) // 8), "big"))


def _seq(*items):
    return _tlv(0x30, b"".join(items))


def sgx_extension(comps=PCK_COMPS, pcesvn=PCESVN, fmspc=FMSPC, ppid=PPID):
    tcb = [_seq(_oid("%s.2.%d" % (SGX, i + 1)), _int(c)) for i, c in enumerate(comps)]
    tcb.append(_seq(_oid(SGX + ".2.17"), _int(pcesvn)))
    tcb.append(_seq(_oid(SGX + ".2.18"), _tlv(0x04, bytes(comps))))
    return _seq(
        _seq(_oid(SGX + ".1"), _tlv(0x04, ppid)),
        _seq(_oid(SGX + ".2"), _seq(*tcb)),
        _seq(_oid(SGX + ".3"), _tlv(0x04, b"\0\0")),
        _seq(_oid(SGX + ".4"), _tlv(0x04, fmspc)),
        _seq(_oid(SGX + ".5"), _int(1, tag=0x0A)),
    )


def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Turtle test")])


def _pem(c):
    return c.public_bytes(serialization.Encoding.PEM)


def _raw_sig(key, data):
    r, s = utils.decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def _xy(key):
    return key.public_key().public_bytes(serialization.Encoding.X962,
                                         serialization.PublicFormat.UncompressedPoint)[1:]


def _iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def ccel():
    """A CC event log (EV_EFI_ACTION events into RTMR 0-2) and the RTMRs it replays to."""
    spec = (b"Spec ID Event03\0" + struct.pack("<IBBBBI", 0, 0, 2, 0, 2, 1)
            + struct.pack("<HH", 0x0C, 48) + b"\0")
    log = struct.pack("<II", 0, 3) + bytes(20) + struct.pack("<I", len(spec)) + spec
    rtmr = [bytes(48)] * 4
    for idx, data in [(1, b"Turtle synthetic firmware"), (2, b"Turtle synthetic kernel"),
                      (2, b"Turtle synthetic initrd"), (3, b"Turtle synthetic application")]:
        d = hashlib.sha384(data).digest()
        log += struct.pack("<IIIH", idx, 0x80000007, 1, 0x0C) + d
        log += struct.pack("<I", len(data)) + data
        rtmr[idx - 1] = hashlib.sha384(rtmr[idx - 1] + d).digest()
    return log + b"\xff" * 32, rtmr


class DcapWorld:
    """Keys and certificates of one synthetic platform. Certificates are valid from
    cert_from for ten years; CRLs from crl_from to crl_next; TCB info and QE identity
    from issue to next_update."""

    @classmethod
    def current(cls, **kw):
        """A platform whose certificates, CRLs and collateral are all valid now (for a
        daemon that judges them at its own clock)."""
        now = datetime.datetime.now(UTC)
        return cls(cert_from=now - datetime.timedelta(days=30),
                   crl_from=now - datetime.timedelta(days=1),
                   crl_next=now + datetime.timedelta(days=30),
                   issue=now - datetime.timedelta(days=1),
                   next_update=now + datetime.timedelta(days=30), **kw)

    def __init__(self, cert_from, crl_from, crl_next, issue, next_update):
        self.crl_from, self.crl_next = crl_from, crl_next
        self.issue, self.next_update = issue, next_update
        self.root_k, self.ca_k, self.pck_k, self.tcb_k, self.ak = (
            ec.generate_private_key(ec.SECP256R1()) for _ in range(5))
        self.root = self._cert("Turtle Test SGX Root CA", self.root_k,
                               "Turtle Test SGX Root CA", self.root_k, True, 1, cert_from)
        self.ca = self._cert("Turtle Test SGX PCK Platform CA", self.ca_k,
                             "Turtle Test SGX Root CA", self.root_k, True, 2, cert_from)
        self.pck = self._cert("Turtle Test SGX PCK Certificate", self.pck_k,
                              "Turtle Test SGX PCK Platform CA", self.ca_k, False, PCK_SERIAL,
                              cert_from, x509.UnrecognizedExtension(
                                  x509.ObjectIdentifier(SGX), sgx_extension()))
        self.tcb = self._cert("Turtle Test Intel SGX TCB Signing", self.tcb_k,
                              "Turtle Test SGX Root CA", self.root_k, False, 3, cert_from)

    def other_pck(self, ppid, start):
        """Another platform of this world (the same PCK Platform CA): its PCK key and
        certificate, with its own PPID; quote(pck=(key, cert)) is that platform's quote."""
        key = ec.generate_private_key(ec.SECP256R1())
        cert = self._cert("Turtle Test SGX PCK Certificate", key,
                          "Turtle Test SGX PCK Platform CA", self.ca_k, False, PCK_SERIAL + 1,
                          start, x509.UnrecognizedExtension(
                              x509.ObjectIdentifier(SGX), sgx_extension(ppid=ppid)))
        return key, cert

    @staticmethod
    def _cert(subject, key, issuer, issuer_key, ca, serial, start, extra=None):
        b = (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(_name(issuer))
             .public_key(key.public_key()).serial_number(serial)
             .not_valid_before(start).not_valid_after(start + datetime.timedelta(days=3650))
             .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
             .add_extension(x509.KeyUsage(
                 digital_signature=not ca, content_commitment=not ca, key_encipherment=False,
                 data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca,
                 encipher_only=False, decipher_only=False), critical=True)
             .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                            critical=False)
             .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                 issuer_key.public_key()), critical=False))
        if extra is not None:
            b = b.add_extension(extra, critical=False)
        return b.sign(issuer_key, hashes.SHA256())

    def crl(self, issuer, key, revoked=(), next_update=None):
        b = (x509.CertificateRevocationListBuilder().issuer_name(_name(issuer))
             .last_update(self.crl_from).next_update(next_update or self.crl_next)
             .add_extension(x509.CRLNumber(1), critical=False)
             .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                 key.public_key()), critical=False))
        for serial in revoked:
            b = b.add_revoked_certificate(
                x509.RevokedCertificateBuilder().serial_number(serial)
                .revocation_date(self.crl_from).build())
        return b.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)

    def root_pem(self):
        return _pem(self.root)

    def quote(self, report_data, rtmr=None, mr_td=MR_TD, tee_tcb_svn=TEE_TCB_SVN,
              tee_tcb_svn2=None, pck=None):
        """A TDX quote v5 with a TD 1.0 body carrying report_data (zero-padded to 64); with
        tee_tcb_svn2 (16 bytes: the TDX module the platform runs now) a TD 1.5 body (body
        type 3, tee_tcb_svn_2 and a zero mr_servicetd after the TD 1.0 fields)."""
        rtmr = rtmr if rtmr is not None else ccel()[1]
        body = (tee_tcb_svn + bytes(48) + bytes(48) + bytes(8)
                + struct.pack("<Q", 1 << 28) + XFAM + mr_td + bytes(48) * 3
                + b"".join(rtmr) + report_data.ljust(64, b"\0"))
        btype = 2
        if tee_tcb_svn2 is not None:
            body += tee_tcb_svn2 + bytes(48)
            btype = 3
        header = struct.pack("<HHI", 5, 2, 0x81) + bytes(4) + bytes.fromhex(
            "939a7233f79c4ca9940a0db3957f0607") + bytes(20)
        signed = header + struct.pack("<HI", btype, len(body)) + body
        auth = bytes(range(32))
        qe = self._qe_report(auth)
        pck_k, pck_c = pck if pck is not None else (self.pck_k, self.pck)
        chain = _pem(pck_c) + _pem(self.ca) + _pem(self.root)
        inner = (qe + _raw_sig(pck_k, qe) + struct.pack("<H", len(auth)) + auth
                 + struct.pack("<HI", 5, len(chain)) + chain)
        sig = _raw_sig(self.ak, signed) + _xy(self.ak) + struct.pack("<HI", 6, len(inner))
        sig += inner
        return signed + struct.pack("<I", len(sig)) + sig

    def quote_sgx(self, report_data, mr_enclave=MR_ENCLAVE, attributes=SGX_ATTRIBUTES):
        """An SGX quote v3 (enclave report body) carrying report_data."""
        body = (bytes(16) + bytes(4) + bytes(12) + bytes(16) + attributes + mr_enclave
                + bytes(32) + MR_SIGNER + bytes(32) + bytes(64)
                + struct.pack("<HHH", 1, 2, 0) + bytes(42) + bytes(16)
                + report_data.ljust(64, b"\0"))
        header = struct.pack("<HHIHH", 3, 2, 0, 4, PCESVN) + bytes.fromhex(
            "939a7233f79c4ca9940a0db3957f0607") + bytes(20)
        signed = header + body
        auth = bytes(range(32))
        qe = self._qe_report(auth)
        chain = _pem(self.pck) + _pem(self.ca) + _pem(self.root)
        sig = (_raw_sig(self.ak, signed) + _xy(self.ak) + qe + _raw_sig(self.pck_k, qe)
               + struct.pack("<H", len(auth)) + auth + struct.pack("<HI", 5, len(chain))
               + chain)
        return signed + struct.pack("<I", len(sig)) + sig

    def _qe_report(self, auth):
        return (bytes(16) + bytes(4) + bytes(12) + bytes(16) + bytes([0x11]) + bytes(15)
                + bytes(64) + QE_MRSIGNER + bytes(32) + bytes(64)
                + struct.pack("<HHH", 2, QE_ISVSVN, 0) + bytes(42) + bytes(16)
                + hashlib.sha256(_xy(self.ak) + auth).digest() + bytes(32))

    def evidence_sgx(self, report_data, **kw):
        """Trustee's SGX attester JSON: {"quote": base64}."""
        return {"quote": base64.b64encode(self.quote_sgx(report_data, **kw)).decode()}

    def evidence(self, report_data, with_ccel=True, **kw):
        """Trustee's TDX attester JSON: {"quote": base64, "cc_eventlog": base64}; kw go to
        quote() (tee_tcb_svn, tee_tcb_svn2)."""
        log, rtmr = ccel()
        ev = {"quote": base64.b64encode(self.quote(report_data, rtmr, **kw)).decode()}
        if with_ccel:
            ev["cc_eventlog"] = base64.b64encode(log).decode()
        return ev

    def collateral(self, status="UpToDate", advisories=None, qe=None, module=None,
                   module_mrsigner=bytes(48), pck_crl=None, levels=None, sgx=False,
                   more_modules=None):
        """The collateral JSON (dict) of one case; defaults: everything UpToDate. sgx:
        the SGX TCB info and the QE's identity instead of TDX's and the TD QE's.
        more_modules: {"TDX_03": [(isvsvn, status), ...]} identities beside TDX_01."""
        levels = levels or [(PCK_COMPS, PCESVN, TDX_COMPS, status, advisories),
                            (LOWER_COMPS, PCESVN, TDX_COMPS, "OutOfDate", ["INTEL-SA-00009"])]
        module = module or [(4, "UpToDate"), (2, "OutOfDate")]
        qe = qe or [(4, "UpToDate", None), (2, "OutOfDate", ["INTEL-SA-00002"])]
        ti = {
            "id": "TDX", "version": 3, "issueDate": _iso(self.issue),
            "nextUpdate": _iso(self.next_update), "fmspc": FMSPC.hex().upper(),
            "pceId": "0000", "tcbType": 0, "tcbEvaluationDataNumber": 99,
            "tdxModule": {"mrsigner": bytes(48).hex().upper(), "attributes": "0" * 16,
                          "attributesMask": "F" * 16},
            "tdxModuleIdentities": [{
                "id": "TDX_01", "mrsigner": module_mrsigner.hex().upper(),
                "attributes": "0" * 16, "attributesMask": "F" * 16,
                "tcbLevels": [{"tcb": {"isvsvn": s}, "tcbDate": "2026-01-01T00:00:00Z",
                               "tcbStatus": st} for s, st in module]}],
            "tcbLevels": [],
        }
        for mid, mlevels in (more_modules or {}).items():
            ti["tdxModuleIdentities"].append({
                "id": mid, "mrsigner": module_mrsigner.hex().upper(),
                "attributes": "0" * 16, "attributesMask": "F" * 16,
                "tcbLevels": [{"tcb": {"isvsvn": s}, "tcbDate": "2026-01-01T00:00:00Z",
                               "tcbStatus": st} for s, st in mlevels]})
        if sgx:
            ti["id"] = "SGX"
            del ti["tdxModule"], ti["tdxModuleIdentities"]
        for comps, pcesvn, tdx, st, adv in levels:
            tcb = {"sgxtcbcomponents": [{"svn": c} for c in comps], "pcesvn": pcesvn}
            if not sgx:
                tcb["tdxtcbcomponents"] = [{"svn": c} for c in tdx]
            lvl = {"tcb": tcb,
                   "tcbDate": "2026-01-01T00:00:00Z", "tcbStatus": st}
            if adv:
                lvl["advisoryIDs"] = adv
            ti["tcbLevels"].append(lvl)
        qi = {"id": "QE" if sgx else "TD_QE", "version": 2, "issueDate": _iso(self.issue),
              "nextUpdate": _iso(self.next_update), "tcbEvaluationDataNumber": 99,
              "miscselect": "00000000", "miscselectMask": "FFFFFFFF",
              "attributes": "11" + "0" * 30, "attributesMask": "FBFFFFFFFFFFFFFF" + "0" * 16,
              "mrsigner": QE_MRSIGNER.hex().upper(), "isvprodid": 2, "tcbLevels": []}
        for s, st, adv in qe:
            lvl = {"tcb": {"isvsvn": s}, "tcbDate": "2026-01-01T00:00:00Z", "tcbStatus": st}
            if adv:
                lvl["advisoryIDs"] = adv
            qi["tcbLevels"].append(lvl)
        ti_text = json.dumps(ti, separators=(",", ":"))
        qi_text = json.dumps(qi, separators=(",", ":"))
        signer = (_pem(self.tcb) + _pem(self.root)).decode()
        return {
            "pck_crl_issuer_chain": (_pem(self.ca) + _pem(self.root)).decode(),
            "root_ca_crl": self.crl("Turtle Test SGX Root CA", self.root_k).hex(),
            "pck_crl": (pck_crl or self.crl("Turtle Test SGX PCK Platform CA",
                                            self.ca_k)).hex(),
            "tcb_info_issuer_chain": signer,
            "tcb_info": ti_text,
            "tcb_info_signature": _raw_sig(self.tcb_k, ti_text.encode()).hex(),
            "qe_identity_issuer_chain": signer,
            "qe_identity": qi_text,
            "qe_identity_signature": _raw_sig(self.tcb_k, qi_text.encode()).hex(),
        }

    def install(self, anchors_dir, collateral_dir, **case):
        """Write the root as anchors_dir/intel/sgx-root-ca.pem and the collateral as
        collateral_dir/tdx-<fmspc>.json and sgx-<fmspc>.json (the names the verifier
        looks up)."""
        os.makedirs(os.path.join(anchors_dir, "intel"), exist_ok=True)
        with open(os.path.join(anchors_dir, "intel", "sgx-root-ca.pem"), "wb") as f:
            f.write(self.root_pem())
        os.makedirs(collateral_dir, exist_ok=True)
        for tee in ("tdx", "sgx"):
            with open(os.path.join(collateral_dir, "%s-%s.json" % (tee, FMSPC.hex())),
                      "w") as f:
                json.dump(self.collateral(sgx=tee == "sgx", **case), f)
