//! TrustedKeys: rotation across several pinned keys; the unsigned `alg` only selects
//! among pinned pairs.
#![cfg(feature = "sign")]

use std::sync::OnceLock;

use jiff::Timestamp;
use keywright_license::issue::{seal, sign_key, EncryptionSecret, SigningKey};
use keywright_license::{
    Certificate, FileAlgorithm, FileKind, FormatError, Pin, PublicKey, Scheme, TrustedKeys,
    ValidationCode, Verification, Verifier,
};
use rand_core::OsRng;

fn rsa_keys() -> &'static [SigningKey; 3] {
    static KEYS: OnceLock<[SigningKey; 3]> = OnceLock::new();
    KEYS.get_or_init(|| [0, 1, 2].map(|_| SigningKey::generate_rsa(&mut OsRng).unwrap()))
}

fn payload() -> Vec<u8> {
    br#"{"data":null,"meta":{"issued":"2024-01-01T00:00:00.000Z","expiry":null,"ttl":null}}"#
        .to_vec()
}

fn now() -> Timestamp {
    "2024-06-01T00:00:00Z".parse().unwrap()
}

/// Verifies a license file with `trusted`, decrypting with `license_key`.
fn verify(trusted: &TrustedKeys, text: &str, license_key: &str) -> Verification {
    Verifier::new(trusted, now())
        .license_key(license_key)
        .verify(text)
}

#[test]
fn keys_rotate() {
    let [old, new, unknown] = rsa_keys();
    let ed = SigningKey::generate(&mut OsRng);
    let mut trusted = TrustedKeys::new();
    trusted
        .add(old.public_key(), Pin::Scheme(Scheme::RsaSignV2))
        .unwrap()
        .add(new.public_key(), Pin::Scheme(Scheme::RsaPssSignV2))
        .unwrap()
        .add(ed.public_key(), Pin::Scheme(Scheme::Ed25519Sign))
        .unwrap();
    // A key cannot be pinned to a scheme of another algorithm.
    assert!(matches!(
        trusted
            .clone()
            .add(ed.public_key(), Pin::Scheme(Scheme::RsaSign)),
        Err(FormatError::AlgorithmMismatch { .. })
    ));
    for (key, scheme) in [
        (old, Scheme::RsaSignV2),
        (new, Scheme::RsaPssSignV2),
        (&ed, Scheme::Ed25519Sign),
    ] {
        let text = sign_key(scheme, b"data", key, &mut OsRng).unwrap();
        let (dataset, entry) = trusted.verify_key(&text).unwrap();
        assert_eq!(dataset, b"data");
        assert_eq!(entry.public, key.public_key());
        assert_eq!(entry.pin, Pin::Scheme(scheme));
    }
    // The old key is trusted only for its own scheme.
    let text = sign_key(Scheme::RsaPssSignV2, b"data", old, &mut OsRng).unwrap();
    assert_eq!(trusted.verify_key(&text), Err(FormatError::NoTrustedKey));
    let text = sign_key(Scheme::RsaPssSignV2, b"data", unknown, &mut OsRng).unwrap();
    let err = trusted.verify_key(&text).unwrap_err();
    assert_eq!(err, FormatError::NoTrustedKey);
    assert_eq!(err.code(), ValidationCode::UnknownKey);
    // Garbage is malformed, not an unknown key.
    assert_eq!(
        trusted.verify_key("hello").unwrap_err().code(),
        ValidationCode::Malformed
    );
    assert_eq!(
        TrustedKeys::new().verify_key(&text),
        Err(FormatError::NoTrustedKey)
    );
}

#[test]
fn files_pick_pinned_pairs_only() {
    let [old, new, unknown] = rsa_keys();
    let ed = SigningKey::generate(&mut OsRng);
    let secret = EncryptionSecret::for_license("KEY");
    let mut trusted = TrustedKeys::new();
    trusted
        .add(
            old.public_key(),
            Pin::File(FileAlgorithm::Aes256GcmRsaSha256),
        )
        .unwrap()
        .add(
            new.public_key(),
            Pin::File(FileAlgorithm::Aes256GcmRsaPssSha256),
        )
        .unwrap()
        .add(
            old.public_key(),
            Pin::File(FileAlgorithm::Aes256GcmRsaPssSha256),
        )
        .unwrap()
        .add(ed.public_key(), Pin::File(FileAlgorithm::Base64Ed25519))
        .unwrap();
    let seal_with = |key, alg| {
        seal(
            FileKind::License,
            &payload(),
            alg,
            key,
            Some(&secret),
            &mut OsRng,
        )
        .unwrap()
    };
    for (key, alg) in [
        (old, FileAlgorithm::Aes256GcmRsaSha256),
        (old, FileAlgorithm::Aes256GcmRsaPssSha256),
        (new, FileAlgorithm::Aes256GcmRsaPssSha256),
        (&ed, FileAlgorithm::Base64Ed25519),
    ] {
        let text = seal_with(key, alg);
        let v = verify(&trusted, &text, "KEY");
        assert_eq!(v.code, ValidationCode::Valid, "{alg}: {:?}", v.error);
        let entry = v.file.unwrap().verified_by;
        assert_eq!(entry.public, key.public_key());
        assert_eq!(entry.pin, Pin::File(alg));
        let as_machine = Verifier::new(&trusted, now())
            .kind(FileKind::Machine)
            .license_key("KEY")
            .fingerprint("")
            .verify(&text);
        assert_eq!(as_machine.code, ValidationCode::Malformed);
    }
    // Signed by a key nobody trusts.
    let text = seal_with(unknown, FileAlgorithm::Aes256GcmRsaPssSha256);
    let v = verify(&trusted, &text, "KEY");
    assert_eq!(v.code, ValidationCode::UnknownKey);
    // An algorithm no key is pinned to, and a rewritten alg.
    let text = seal_with(new, FileAlgorithm::Base64RsaSha256);
    let v = verify(&trusted, &text, "KEY");
    assert_eq!(v.code, ValidationCode::AlgorithmMismatch);
    let good = seal_with(new, FileAlgorithm::Aes256GcmRsaPssSha256);
    let mut cert = Certificate::parse(&good).unwrap();
    cert.alg = "base64+ed25519".into();
    let v = verify(&trusted, &cert.to_text(), "KEY");
    // Only the Ed25519 key is tried for that claim, and it cannot verify.
    assert_eq!(v.code, ValidationCode::UnknownKey);
    cert.alg = "aes-256-gcm+rsa-sha256".into();
    let v = verify(&trusted, &cert.to_text(), "KEY");
    assert_eq!(v.code, ValidationCode::UnknownKey);
    cert.alg = "rot13+rsa".into();
    let v = verify(&trusted, &cert.to_text(), "KEY");
    assert_eq!(v.code, ValidationCode::AlgorithmMismatch);
    // Verified by a trusted key, but the secret is wrong: decryption, not key, fails.
    let v = verify(&trusted, &good, "OTHER");
    assert_eq!(v.code, ValidationCode::DecryptionFailed);
    // No file keys at all.
    let mut only_keys = TrustedKeys::new();
    only_keys
        .add(new.public_key(), Pin::Scheme(Scheme::RsaPssSignV2))
        .unwrap();
    let v = verify(&only_keys, &good, "KEY");
    assert_eq!(v.code, ValidationCode::UnknownKey);
}

#[test]
fn keygen_vectors_through_trusted_keys() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
    let read = |rel: &str| std::fs::read_to_string(dir.join(rel)).unwrap();
    let rsa = PublicKey::parse(&read("pubkeys/keygen-demo-rsa.pem.b64")).unwrap();
    let ed = PublicKey::parse(&read("pubkeys/keygen-demo-ed25519.hex")).unwrap();
    let mut trusted = TrustedKeys::new();
    trusted
        .add(ed, Pin::Scheme(Scheme::Ed25519Sign))
        .unwrap()
        .add(rsa, Pin::Scheme(Scheme::RsaPssSignV2))
        .unwrap();
    let key = read("keys/example-csharp.rsa-pss-v2-key.key");
    let (dataset, entry) = trusted.verify_key(&key).unwrap();
    assert_eq!(
        dataset,
        std::fs::read(dir.join("expected/example-csharp.rsa-pss-v2-key.dataset.json")).unwrap()
    );
    assert_eq!(entry.pin, Pin::Scheme(Scheme::RsaPssSignV2));
}
