#!/usr/bin/env python3
"""Keygen's published license-file verification, written from its documentation with
an implementation that is not ours (pyca/cryptography), to cross-check our files.

usage: keygen_verify.py FILE PUBLIC_KEY [LICENSE_KEY]
PUBLIC_KEY: Ed25519 as hex, or a PEM file's path (RSA-2048 or Ed25519).
Prints the decoded payload JSON on success; exits 1 with a reason otherwise.
"""
import base64
import hashlib
import json
import sys

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM


def main() -> int:
    path, public_arg = sys.argv[1], sys.argv[2]
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
    if public_arg.endswith(".pem"):
        key = serialization.load_pem_public_key(open(public_arg, "rb").read())
    else:
        key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_arg))
    # Pin the algorithm by the key we hold, as Keygen's docs require: alg is not signed.
    if isinstance(key, rsa.RSAPublicKey):
        allowed = {"rsa-pss-sha256", "rsa-sha256"}
    else:
        allowed = {"ed25519"}
    encoding, _, signing = alg.partition("+")
    expected_encoding = "aes-256-gcm" if license_key else "base64"
    if encoding != expected_encoding or signing not in allowed:
        print(f"unexpected algorithm {alg}", file=sys.stderr)
        return 1
    signed = ("license/" + enc).encode()
    try:
        if signing == "rsa-pss-sha256":
            # Keygen signs with the maximum salt length; verify with "auto".
            key.verify(base64.b64decode(sig), signed,
                       padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO),
                       hashes.SHA256())
        elif signing == "rsa-sha256":
            key.verify(base64.b64decode(sig), signed, padding.PKCS1v15(), hashes.SHA256())
        else:
            key.verify(base64.b64decode(sig), signed)
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
