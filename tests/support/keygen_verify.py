#!/usr/bin/env python3
"""Keygen's published license-file verification, written from its documentation with
an implementation that is not ours (pyca/cryptography), to cross-check our files.

usage: keygen_verify.py FILE PUBLIC_KEY_HEX [LICENSE_KEY]
Prints the decoded payload JSON on success; exits 1 with a reason otherwise.
"""
import base64
import hashlib
import json
import sys

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM


def main() -> int:
    path, public_hex = sys.argv[1], sys.argv[2]
    license_key = sys.argv[3] if len(sys.argv) > 3 else None
    text = open(path, encoding="ascii").read()
    # Strip header and footer as Keygen's docs do.
    header, footer = "-----BEGIN LICENSE FILE-----\n", "-----END LICENSE FILE-----\n"
    if not (text.startswith(header) and text.endswith(footer)):
        print("not a license file", file=sys.stderr)
        return 1
    body = text[len(header):-len(footer)]
    doc = json.loads(base64.b64decode(body))
    enc, sig, alg = doc["enc"], doc["sig"], doc["alg"]
    expected = "aes-256-gcm+ed25519" if license_key else "base64+ed25519"
    if alg != expected:
        print(f"unexpected algorithm {alg}", file=sys.stderr)
        return 1
    key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_hex))
    try:
        key.verify(base64.b64decode(sig), ("license/" + enc).encode())
    except InvalidSignature:
        print("signature invalid", file=sys.stderr)
        return 1
    if license_key:
        ciphertext, iv, tag = (base64.b64decode(p) for p in enc.split("."))
        secret = hashlib.sha256(license_key.encode()).digest()
        try:
            plaintext = AESGCM(secret).decrypt(iv, ciphertext + tag, None)
        except InvalidTag:
            print("decryption failed", file=sys.stderr)
            return 1
    else:
        plaintext = base64.b64decode(enc)
    payload = json.loads(plaintext)
    print(json.dumps(payload))
    return 0


if __name__ == "__main__":
    sys.exit(main())
