#!/usr/bin/env python3
"""Write the synthetic virtCCA device of test_cca.c into this directory (no shared vector
carries a platform token): anchors/huawei/{equipment-root-ca,it-product-ca}.pem (a test
root and sub CA standing in for Huawei's), aik.der (RSA-2048, valid 2025-01-01 to
2034-12-30), and tokens whose CVM challenge begins with "turtle virtcca challenge":
  token-secured.cbor        platform token (lifecycle 0x3003) + CVM token
  token-debug.cbor          the same with lifecycle 0x5000 (recoverable RoT debug)
  token-bad-challenge.cbor  platform challenge = SHA-256 of another key, AIK-signed
  token-no-platform.cbor    the CVM token alone
Built by tests/integration/virtcca_synth.py. The keys are random: a rerun changes every
byte, and the test depends on none. Needs python3-cryptography. Run: python3 gen.py"""
import datetime
import hashlib
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "..", "integration"))
import virtcca_synth  # noqa: E402

CHALLENGE = b"turtle virtcca challenge"


def main():
    w = virtcca_synth.VirtccaWorld(HERE, datetime.datetime(2025, 1, 1,
                                                           tzinfo=virtcca_synth.UTC))
    files = {
        "aik.der": w.aik_der(),
        "token-secured.cbor": w.token(CHALLENGE),
        "token-debug.cbor": w.token(CHALLENGE, lifecycle=0x5000),
        "token-bad-challenge.cbor": w.token(CHALLENGE,
                                            plat_challenge=hashlib.sha256(b"other").digest()),
        "token-no-platform.cbor": w.token(CHALLENGE, platform=False),
    }
    for name, data in files.items():
        with open(os.path.join(HERE, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
