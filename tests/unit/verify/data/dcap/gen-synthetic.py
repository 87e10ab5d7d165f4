#!/usr/bin/env python3
"""Write the synthetic DCAP world of test_dcap.c into tests/unit/verify/data/dcap/syn/.

Intel's keys sign every real vector, so the cases no shared vector has are built under a
test root of our own (tests/integration/dcap_synth.py, which turtle-as's tests use with
times around the real clock): a TDX quote v5 with a TD 1.0 body whose RTMRs are the replay
of the CC event log written alongside, and one collateral file per case (TCB statuses and
their convergence with the QE and TDX module statuses, a revoked TCB level, no matching
level, a TDX module that is not the one the TCB info names, a revoked PCK, an expired PCK
CRL). Dates are fixed (collateral valid 2026-05-01 to 2026-07-01; the unit tests judge at
2026-06-01). The keys are random: a rerun changes every byte, and the tests do not depend
on any. Needs python3-cryptography. Run: python3 gen-synthetic.py
"""
import datetime
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "..", "integration"))
import dcap_synth  # noqa: E402
from dcap_synth import LOWER_COMPS, PCESVN, PCK_SERIAL, TDX_COMPS, UTC  # noqa: E402

OUT = os.path.join(HERE, "syn")


def main():
    os.makedirs(OUT, exist_ok=True)
    w = dcap_synth.DcapWorld(
        cert_from=datetime.datetime(2025, 1, 1, tzinfo=UTC),
        crl_from=datetime.datetime(2026, 1, 1, tzinfo=UTC),
        crl_next=datetime.datetime(2026, 12, 31, tzinfo=UTC),
        issue=datetime.datetime(2026, 5, 1, tzinfo=UTC),
        next_update=datetime.datetime(2026, 7, 1, tzinfo=UTC))
    log, rtmr = dcap_synth.ccel()
    with open(os.path.join(OUT, "root.pem"), "wb") as f:
        f.write(w.root_pem())
    with open(os.path.join(OUT, "tdx_quote_v5_td10"), "wb") as f:
        f.write(w.quote(b"turtle synthetic nonce", rtmr))
    with open(os.path.join(OUT, "ccel.bin"), "wb") as f:
        f.write(log)
    ca = "Turtle Test SGX PCK Platform CA"
    cases = {
        "ok": {},
        "swh": dict(status="SWHardeningNeeded", advisories=["INTEL-SA-00001"]),
        "qe-outdated": dict(qe=[(5, "UpToDate", None), (3, "OutOfDate", ["INTEL-SA-00002"])]),
        "module-outdated": dict(status="ConfigurationNeeded", advisories=["INTEL-SA-00003"],
                                module=[(5, "UpToDate"), (3, "OutOfDate")]),
        "level-revoked": dict(status="Revoked", advisories=["INTEL-SA-00004"]),
        "no-level": dict(levels=[(LOWER_COMPS, PCESVN + 1, TDX_COMPS, "UpToDate", None)]),
        "module-mismatch": dict(module_mrsigner=b"\x01" * 48),
        "pck-revoked": dict(pck_crl=w.crl(ca, w.ca_k, [PCK_SERIAL])),
        "crl-expired": dict(pck_crl=w.crl(ca, w.ca_k, next_update=datetime.datetime(
            2026, 5, 15, tzinfo=UTC))),
    }
    for case, kw in cases.items():
        with open(os.path.join(OUT, "collateral-%s.json" % case), "w") as f:
            json.dump(w.collateral(**kw), f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
