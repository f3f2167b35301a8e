#!/usr/bin/env python3
"""Independent implementation of Keygen's key and file formats on top of the
`cryptography` package, used by tests/crosscheck.rs.

    crosscheck.py verify DIR   reads DIR/cases.json (our keys and files), verifies and
                               decrypts every case, writes DIR/verified.json
    crosscheck.py sign DIR     generates its own keys, writes DIR/python.json with keys
                               and files for every scheme and algorithm, public keys as PEM
"""
import base64
import hashlib
import json
import os
import sys

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PSS_VERIFY = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO)
PSS_SIGN = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.MAX_LENGTH)

V2 = {"ED25519_SIGN", "RSA_2048_PKCS1_PSS_SIGN_V2", "RSA_2048_PKCS1_SIGN_V2", "ECDSA_P256_SIGN"}
SIG_OF_SCHEME = {
    "ED25519_SIGN": "ed25519",
    "RSA_2048_PKCS1_PSS_SIGN_V2": "rsa-pss-sha256",
    "RSA_2048_PKCS1_SIGN_V2": "rsa-sha256",
    "RSA_2048_PKCS1_PSS_SIGN": "rsa-pss-sha256",
    "RSA_2048_PKCS1_SIGN": "rsa-sha256",
    "ECDSA_P256_SIGN": "ecdsa-p256",
}


def b64u(data):
    return base64.urlsafe_b64encode(data).decode()


def verify(pub, sig_alg, message, sig):
    """Raises cryptography.exceptions.InvalidSignature on failure."""
    if sig_alg == "ed25519":
        pub.verify(sig, message)
    elif sig_alg == "rsa-pss-sha256":
        pub.verify(sig, message, PSS_VERIFY, hashes.SHA256())
    elif sig_alg == "rsa-sha256":
        pub.verify(sig, message, padding.PKCS1v15(), hashes.SHA256())
    elif sig_alg == "ecdsa-p256":
        pub.verify(sig, message, ec.ECDSA(hashes.SHA256()))
    else:
        raise ValueError(sig_alg)


def sign(priv, sig_alg, message):
    if sig_alg == "ed25519":
        return priv.sign(message)
    if sig_alg == "rsa-pss-sha256":
        return priv.sign(message, PSS_SIGN, hashes.SHA256())
    if sig_alg == "rsa-sha256":
        return priv.sign(message, padding.PKCS1v15(), hashes.SHA256())
    if sig_alg == "ecdsa-p256":
        return priv.sign(message, ec.ECDSA(hashes.SHA256()))
    raise ValueError(sig_alg)


def verify_key(pub, scheme, text):
    text = text.strip()
    if scheme in V2:
        signed, sig = text.rsplit(".", 1)
        assert signed.startswith("key/"), "no key/ prefix"
        verify(pub, SIG_OF_SCHEME[scheme], signed.encode(), base64.urlsafe_b64decode(sig))
        return base64.urlsafe_b64decode(signed[4:])
    if scheme in ("RSA_2048_PKCS1_PSS_SIGN", "RSA_2048_PKCS1_SIGN"):
        data, sig = text.split(".")
        dataset = base64.urlsafe_b64decode(data)
        verify(pub, SIG_OF_SCHEME[scheme], dataset, base64.urlsafe_b64decode(sig))
        return dataset
    if scheme == "RSA_2048_JWT_RS256":
        header, claims, sig = text.split(".")
        unpad = lambda s: base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
        assert json.loads(unpad(header)) == {"alg": "RS256"}, header
        verify(pub, "rsa-sha256", (header + "." + claims).encode(), unpad(sig))
        try:
            import jwt  # PyJWT, when installed: a second, JWT-specific implementation.
        except ImportError:
            jwt = None
        if jwt is not None:
            decoded = jwt.decode(text, pub, algorithms=["RS256"],
                                 options={"verify_aud": False, "verify_exp": False})
            assert decoded == json.loads(unpad(claims)), decoded
        return unpad(claims)
    if scheme == "RSA_2048_PKCS1_ENCRYPT":
        # Public-key "decryption" of a type-1 block: recover the raw data.
        return pub.recover_data_from_signature(
            base64.urlsafe_b64decode(text), padding.PKCS1v15(), None
        )
    raise ValueError(scheme)


def parse_certificate(text):
    lines = [l.strip() for l in text.strip().splitlines()]
    assert lines[0] in ("-----BEGIN LICENSE FILE-----", "-----BEGIN MACHINE FILE-----")
    kind = "license" if "LICENSE" in lines[0] else "machine"
    assert lines[-1] == "-----END %s FILE-----" % kind.upper()
    body = json.loads(base64.b64decode("".join(lines[1:-1]), validate=True))
    assert list(body.keys()) == ["enc", "sig", "alg"], body.keys()
    return kind, body


def open_file(pub, text, secret):
    kind, cert = parse_certificate(text)
    enc_name, sig_alg = cert["alg"].split("+")
    verify(pub, sig_alg, (kind + "/" + cert["enc"]).encode(), base64.b64decode(cert["sig"]))
    if enc_name == "base64":
        return base64.b64decode(cert["enc"])
    assert enc_name == "aes-256-gcm"
    ct, iv, tag = (base64.b64decode(p) for p in cert["enc"].split("."))
    assert len(iv) == 12 and len(tag) == 16
    key = hashlib.sha256(secret.encode()).digest()
    return AESGCM(key).decrypt(iv, ct + tag, None)


def make_certificate(kind, enc, sig, alg):
    body = base64.b64encode(
        json.dumps({"enc": enc, "sig": sig, "alg": alg}, separators=(",", ":")).encode()
    ).decode()
    lines = [body[i : i + 60] for i in range(0, len(body), 60)]
    word = kind.upper()
    return "-----BEGIN %s FILE-----\n%s\n-----END %s FILE-----\n" % (word, "\n".join(lines), word)


def seal(priv, kind, payload, alg, secret):
    enc_name, sig_alg = alg.split("+")
    if enc_name == "base64":
        enc = base64.b64encode(payload).decode()
    else:
        key = hashlib.sha256(secret.encode()).digest()
        iv = os.urandom(12)
        sealed = AESGCM(key).encrypt(iv, payload, None)
        ct, tag = sealed[:-16], sealed[-16:]
        enc = ".".join(base64.b64encode(p).decode() for p in (ct, iv, tag))
    sig = base64.b64encode(sign(priv, sig_alg, (kind + "/" + enc).encode())).decode()
    return make_certificate(kind, enc, sig, alg)


def sign_key(priv, scheme, dataset):
    if scheme in V2:
        signed = "key/" + b64u(dataset)
        return signed + "." + b64u(sign(priv, SIG_OF_SCHEME[scheme], signed.encode()))
    if scheme in ("RSA_2048_PKCS1_PSS_SIGN", "RSA_2048_PKCS1_SIGN"):
        return b64u(dataset) + "." + b64u(sign(priv, SIG_OF_SCHEME[scheme], dataset))
    if scheme == "RSA_2048_JWT_RS256":
        nopad = lambda b: base64.urlsafe_b64encode(b).decode().rstrip("=")
        signing_input = nopad(b'{"alg":"RS256"}') + "." + nopad(dataset)
        return signing_input + "." + nopad(sign(priv, "rsa-sha256", signing_input.encode()))
    if scheme == "RSA_2048_PKCS1_ENCRYPT":
        # OpenSSL's RSA_private_encrypt with PKCS#1 v1.5 padding, by hand.
        numbers = priv.private_numbers()
        n, d = numbers.public_numbers.n, numbers.d
        k = (n.bit_length() + 7) // 8
        assert len(dataset) <= k - 11
        block = b"\x00\x01" + b"\xff" * (k - 3 - len(dataset)) + b"\x00" + dataset
        return b64u(pow(int.from_bytes(block, "big"), d, n).to_bytes(k, "big"))
    raise ValueError(scheme)


def load_pub(directory, name):
    with open(os.path.join(directory, name), "rb") as f:
        return serialization.load_pem_public_key(f.read())


def cmd_verify(directory):
    with open(os.path.join(directory, "cases.json")) as f:
        cases = json.load(f)
    out = {}
    for case in cases:
        pub = load_pub(directory, case["pubkey"])
        if case["type"] == "key":
            data = verify_key(pub, case["scheme"], case["text"])
        else:
            data = open_file(pub, case["text"], case.get("secret"))
        out[case["id"]] = base64.b64encode(data).decode()
    with open(os.path.join(directory, "verified.json"), "w") as f:
        json.dump(out, f)


def cmd_sign(directory):
    keys = {
        "rsa": rsa.generate_private_key(public_exponent=65537, key_size=2048),
        "ed25519": ed25519.Ed25519PrivateKey.generate(),
        "p256": ec.generate_private_key(ec.SECP256R1()),
    }
    for name, priv in keys.items():
        pem = priv.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        with open(os.path.join(directory, "python-%s.pem" % name), "wb") as f:
            f.write(pem)
    key_of = lambda sig_alg: {"ed25519": "ed25519", "ecdsa-p256": "p256"}.get(sig_alg, "rsa")
    dataset = '{"owner":"Zoë","ok":true}'.encode()
    payload = json.dumps(
        {"data": {"id": "ü"}, "meta": {"issued": "2024-01-01T00:00:00.000Z", "expiry": None, "ttl": None}},
        separators=(",", ":"),
    ).encode()
    cases = []
    for scheme in list(SIG_OF_SCHEME) + ["RSA_2048_PKCS1_ENCRYPT", "RSA_2048_JWT_RS256"]:
        key = key_of(SIG_OF_SCHEME.get(scheme, "rsa-sha256"))
        cases.append({"id": "key:" + scheme, "type": "key", "scheme": scheme,
                      "pubkey": "python-%s.pem" % key,
                      "text": sign_key(keys[key], scheme, dataset),
                      "expected": base64.b64encode(dataset).decode()})
    # A PSS signature with a 32-byte salt: verifiers must accept any salt length.
    signed = "key/" + b64u(dataset)
    sig = keys["rsa"].sign(signed.encode(),
                           padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
                           hashes.SHA256())
    cases.append({"id": "key:pss-salt-32", "type": "key", "scheme": "RSA_2048_PKCS1_PSS_SIGN_V2",
                  "pubkey": "python-rsa.pem", "text": signed + "." + b64u(sig),
                  "expected": base64.b64encode(dataset).decode()})
    for enc_name in ("base64", "aes-256-gcm"):
        for sig_alg in ("ed25519", "rsa-pss-sha256", "rsa-sha256", "ecdsa-p256"):
            for kind in ("license", "machine"):
                alg = enc_name + "+" + sig_alg
                key = key_of(sig_alg)
                secret = "KEY-123" + ("fingerprint" if kind == "machine" else "")
                cases.append({"id": "file:%s:%s" % (kind, alg), "type": kind, "alg": alg,
                              "pubkey": "python-%s.pem" % key,
                              "text": seal(keys[key], kind, payload, alg, secret),
                              "license_key": "KEY-123", "fingerprint": "fingerprint",
                              "expected": base64.b64encode(payload).decode()})
    with open(os.path.join(directory, "python.json"), "w") as f:
        json.dump(cases, f)


if __name__ == "__main__":
    {"verify": cmd_verify, "sign": cmd_sign}[sys.argv[1]](sys.argv[2])
