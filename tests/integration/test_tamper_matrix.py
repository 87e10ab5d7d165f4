"""The tamper matrix of the TPM verifier (issue 8; docs/evidence.md, "Appraisal model").

One genuine attestation: a swtpm with the SHA-1 and SHA-256 banks booted through a UEFI
event log (CRTM, firmware, Secure Boot, shim and grub, GRUB's command line, separators)
and an IMA log (with a violation), quoted over PCRs 0-8 and 10 in both banks, against
reference values for everything and a policy that requires the command line and an IMA
file. It is affirming. Then every single-element manipulation the attester controls is
tried, each with a fresh challenge, through turtle-as over HTTP:

  the quote's selection (each PCR left out, each bank left out), the claimed PCR values
  (each changed, one left out, one added), every byte of the TPMS_ATTEST and of the
  signature, the nonce (another one, a flipped bit, cut short, another challenge's), the
  AK (unregistered, another node's); each UEFI event dropped, duplicated, followed by an
  injected event, swapped with the next event of its PCR, its data changed, each digest
  changed, moved to another PCR; the log cut to one bank, truncated, left out, replaced by
  another machine's; each IMA line dropped, duplicated, swapped, its path, file digest or
  template hash changed, turned into a violation (or a violation given a digest), a new
  line inserted; the IMA log left out.

None may be affirming. The exceptions are named: changing the *data* of an event whose
digest is not a hash of its data (a boot application's load record, a firmware blob's
address), or the path of an IMA violation line (whose template hash is zero by design),
cannot be seen by anyone, so it must leave the verified claims byte-identical to the
genuine run (checked by the token's claims digest): the attester gains nothing. The
test prints how many manipulations it tried and how each was refused."""

import collections
import os
import secrets
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from as_harness import (as_bin, as_factory, asd, b64url, b64url_dec,  # noqa: E402,F401
                        verify_jwt)
from backends import swtpm  # noqa: E402,F401  (fixture)
from tpm_attester import (DATA_BOUND, EV_EFI_ACTION, SHA1, SHA256, Attester,  # noqa: E402
                          ImaEntry, measured, serialize_ima, serialize_log)

GROUP = "matrix"
NODE = "matrix-node"
FOREIGN_LOG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "unit",
                           "evidence", "data", "binary_bios_measurements")


def flip(b, i, bit=1):
    b = bytearray(b)
    b[i] ^= bit
    return bytes(b)


class Matrix:
    def __init__(self, d, node):
        self.d, self.node = d, node
        self.results = collections.Counter()
        self.tried = 0
        self.failures = []
        self.genuine_digest = None

    def post(self, make, nonce_override=None):
        ch = self.d.challenge("tpm", NODE)
        ev = make(b64url_dec(ch["nonce"]))
        nonce = nonce_override() if nonce_override else ch["nonce"]
        return self.d.request("POST", "/v1/attest", {"nonce": nonce, "tee": "tpm", "evidence": ev})

    def genuine(self):
        r = self.post(lambda n: self.node.evidence(n))
        assert r.status == 200, r
        _, c = verify_jwt(r.json()["token"], self.d.jwks())
        sm = c["submods"]["tpm"]
        assert sm["ear.status"] == "affirming", sm
        self.genuine_digest = sm["turtle.claims-digest"]

    def attack(self, name, make, inert=False, nonce_override=None):
        """Try one manipulation. inert: the attester edits bytes no digest covers; then it
        may stay affirming only with claims identical to the genuine ones."""
        self.tried += 1
        r = self.post(make, nonce_override)
        if r.status != 200:
            kind = "refused %d" % r.status
        else:
            _, c = verify_jwt(r.json()["token"], self.d.jwks())
            sm = c["submods"]["tpm"]
            kind = sm["ear.status"]
            if kind == "affirming":
                if inert and sm["turtle.claims-digest"] == self.genuine_digest:
                    kind = "inert (claims identical)"
                else:
                    self.failures.append((name, sm))
        self.results[kind] += 1


@pytest.fixture
def setup(asd, swtpm):
    import shutil
    if shutil.which("tpm2_quote") is None:
        pytest.skip("tpm2-tools is not installed")
    node = Attester(swtpm)
    node.boot()
    pem = node.make_ak()
    assert asd.admin("POST", "/v1/nodes", {"id": NODE, "group": GROUP,
                                           "ak_public": pem}).status == 201
    assert asd.admin("POST", "/v1/reference-values",
                     node.reference_values(GROUP)).status == 201
    assert asd.admin("POST", "/v1/policies", {
        "group": GROUP, "id": "matrix",
        "required_claims": ["kernel_cmdline", "ima./usr/bin/tool"]}).status == 201
    # a second node with its own AK, for "another node's AK"
    pem2 = node.make_ak("ak2")
    assert asd.admin("POST", "/v1/nodes", {"id": "other-node", "group": GROUP,
                                           "ak_public": pem2}).status == 201
    node.make_ak("ak3")                 # never registered
    yield Matrix(asd, node)
    node.cleanup()


FULL = {"sha1": list(Attester.SEL), "sha256": list(Attester.SEL)}


def with_log(node, events=None, banks=(SHA1, SHA256), raw=None):
    """Evidence maker: the genuine quote and IMA log, this UEFI log."""
    def make(n):
        ev = node.evidence(n)
        ev["eventlog"] = b64url(raw if raw is not None else
                                serialize_log(node.events if events is None else events, banks))
        return ev
    return make


def with_ima(node, entries=None, text=None):
    def make(n):
        ev = node.evidence(n)
        ev["ima"] = text if text is not None else serialize_ima(entries)
        return ev
    return make


def quote_attacks(m, node):
    # the selection: each PCR left out of one bank, each bank left out
    for bank in ("sha1", "sha256"):
        for p in Attester.SEL:
            sel = {b: [q for q in FULL[b] if not (b == bank and q == p)] for b in FULL}
            m.attack("selection without %s PCR %d" % (bank, p),
                     lambda n, sel=sel: node.evidence(n, sel))
        other = {b: FULL[b] for b in FULL if b != bank}
        m.attack("selection without the %s bank" % bank,
                 lambda n, sel=other: node.evidence(n, sel))
    # the claimed PCR values

    def value_edit(bank, p):
        def make(n):
            ev = node.evidence(n)
            v = bytes.fromhex(ev["pcrs"][bank][str(p)])
            ev["pcrs"][bank][str(p)] = flip(v, 0).hex()
            return ev
        return make
    for bank in ("sha1", "sha256"):
        for p in Attester.SEL:
            m.attack("claimed %s PCR %d changed" % (bank, p), value_edit(bank, p))

    def value_drop(n):
        ev = node.evidence(n)
        del ev["pcrs"]["sha256"]["7"]
        return ev
    m.attack("claimed sha256 PCR 7 left out", value_drop)

    def value_add(n):
        ev = node.evidence(n)
        ev["pcrs"]["sha256"]["9"] = node.bank_values("sha256")[9]
        return ev
    m.attack("claimed value for unquoted PCR 9 added", value_add)

    def banks_swapped(n):
        ev = node.evidence(n)
        ev["pcrs"] = {"sha1": ev["pcrs"]["sha256"], "sha256": ev["pcrs"]["sha1"]}
        return ev
    m.attack("claimed banks swapped", banks_swapped)
    # every byte of the signed structure and of the signature
    probe = node.evidence(bytes(32))
    alen = len(b64url_dec(probe["quote"]["attest"]))
    slen = len(b64url_dec(probe["quote"]["signature"]))
    for field, length in (("attest", alen), ("signature", slen)):
        for i in range(length):
            def make(n, field=field, i=i):
                ev = node.evidence(n)
                ev["quote"][field] = b64url(flip(b64url_dec(ev["quote"][field]), i))
                return ev
            m.attack("quote %s byte %d flipped" % (field, i), make)
    # the nonce
    m.attack("quote over another nonce", lambda n: node.evidence(secrets.token_bytes(32)))
    m.attack("quote over the nonce with a bit flipped", lambda n: node.evidence(flip(n, 31, 0x80)))
    m.attack("quote over the nonce cut short", lambda n: node.evidence(n[:31]))
    m.attack("quote answered to another challenge",
             lambda n: node.evidence(n),
             nonce_override=lambda: m.d.challenge("tpm", NODE)["nonce"])
    # the AK
    m.attack("quote by an unregistered AK", lambda n: node.evidence(n, ak="ak3"))
    m.attack("quote by another node's AK", lambda n: node.evidence(n, ak="ak2"))


def eventlog_attacks(m, node):
    good = node.events
    for i, e in enumerate(good):
        tag = "event %d (PCR %d, type %#x)" % (i, e.pcr, e.type)
        m.attack(tag + " dropped", with_log(node, good[:i] + good[i + 1:]))
        m.attack(tag + " duplicated", with_log(node, good[:i + 1] + [e.copy()] + good[i + 1:]))
        inj = measured(e.pcr, EV_EFI_ACTION, b"injected")
        m.attack(tag + " followed by an injected event", with_log(node, good[:i + 1] + [inj] + good[i + 1:]))
        nxt = next((j for j in range(i + 1, len(good)) if good[j].pcr == e.pcr), None)
        if nxt is not None:
            sw = list(good)
            sw[i], sw[nxt] = sw[nxt], sw[i]
            m.attack(tag + " swapped with the next event of its PCR", with_log(node, sw))
        ed = [x.copy() for x in good]
        ed[i].data = flip(ed[i].data, len(ed[i].data) - 1) if ed[i].data else b"\0"
        # GRUB's command line event is checked against its digest like the data-bound
        # types; only load records and firmware addresses are not covered by any digest.
        data_bound = e.type in DATA_BOUND or e.data.startswith(b"kernel_cmdline: ")
        m.attack(tag + " data changed", with_log(node, ed), inert=not data_bound)
        for alg in (SHA1, SHA256):
            dg = [x.copy() for x in good]
            dg[i].digests[alg] = flip(dg[i].digests[alg], 0)
            m.attack(tag + " %s digest changed" % ("sha1" if alg == SHA1 else "sha256"),
                     with_log(node, dg))
        mv = [x.copy() for x in good]
        mv[i].pcr = e.pcr ^ 1
        m.attack(tag + " moved to PCR %d" % (e.pcr ^ 1), with_log(node, mv))
    full = serialize_log(good)
    m.attack("log cut to the sha256 bank", with_log(node, banks=(SHA256,)))
    m.attack("log cut to the sha1 bank", with_log(node, banks=(SHA1,)))
    m.attack("log truncated inside the last event", with_log(node, raw=full[:-5]))
    m.attack("log with the last event left out", with_log(node, good[:-1]))

    def no_log(n):
        ev = node.evidence(n)
        del ev["eventlog"]
        return ev
    m.attack("event log left out", no_log)
    if os.path.exists(FOREIGN_LOG):
        with open(FOREIGN_LOG, "rb") as f:
            m.attack("another machine's event log", with_log(node, raw=f.read()))


def ima_attacks(m, node):
    good = node.ima
    tool = next(e for e in good if e.path == "/usr/bin/tool")
    for j, e in enumerate(good):
        tag = "IMA line %d (%s)" % (j, e.path)
        m.attack(tag + " dropped", with_ima(node, good[:j] + good[j + 1:]))
        m.attack(tag + " duplicated", with_ima(node, good[:j + 1] + [e.copy()] + good[j + 1:]))
        if j + 1 < len(good):
            sw = list(good)
            sw[j], sw[j + 1] = sw[j + 1], sw[j]
            m.attack(tag + " swapped with the next line", with_ima(node, sw))
        p = [x.copy() for x in good]
        p[j].path = e.path + "x"
        # A violation line's path is covered by nothing (its template hash is zero by
        # design), and it yields no claim: editing it must change nothing believed.
        m.attack(tag + " path changed", with_ima(node, p), inert=e.violation)
        f = [x.copy() for x in good]
        f[j].fd = tool.fd if e.violation else flip(e.fd, 0)
        m.attack(tag + (" violation given the tool's digest" if e.violation else
                        " file digest changed"), with_ima(node, f))
        t = [x.copy() for x in good]
        t[j].th = flip(e.template_hash(), 0) if not e.violation else b"\x01" + bytes(19)
        m.attack(tag + " template hash changed", with_ima(node, t))
        if not e.violation:
            v = [x.copy() for x in good]
            v[j].violation, v[j].fd = True, bytes(32)
            m.attack(tag + " turned into a violation", with_ima(node, v))
        trojan = ImaEntry("/usr/bin/tool", b"trojan")
        m.attack(tag + " followed by an inserted trojan line",
                 with_ima(node, good[:j + 1] + [trojan] + good[j + 1:]))

    def no_ima(n):
        ev = node.evidence(n)
        del ev["ima"]
        return ev
    m.attack("IMA log left out", no_ima)
    m.attack("IMA log truncated", with_ima(node, text=serialize_ima(good)[:-7]))


def test_tamper_matrix(setup, capsys):
    m = setup
    node = m.node
    m.genuine()
    quote_attacks(m, node)
    eventlog_attacks(m, node)
    ima_attacks(m, node)
    # the genuine evidence is still affirming at the end (nothing above changed the node)
    m.genuine()
    with capsys.disabled():
        print("\ntamper matrix: %d manipulations tried; %s" % (
            m.tried, ", ".join("%s: %d" % kv for kv in sorted(m.results.items()))))
    assert not m.failures, "affirming after manipulation: %r" % [
        (n, sm["turtle.reasons"]) for n, sm in m.failures]
    inert = m.results.get("inert (claims identical)", 0)
    # only the data of the firmware blob and the two boot applications, and the path of
    # the violation line, may be inert
    assert inert <= 4, m.results
    assert m.tried >= 300, m.tried
