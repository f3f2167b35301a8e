//! `SigningKey::to_secret_bytes` / `from_secret_bytes`: one storable secret for every
//! algorithm (`seed_bytes` is Ed25519 / P-256 only).
#![cfg(feature = "sign")]

use keywright_license::issue::SigningKey;
use keywright_license::{FormatError, KeyAlgorithm};
use rand_core::OsRng;

#[test]
fn round_trips_every_algorithm() {
    let ed = SigningKey::generate(&mut OsRng);
    let p256 = SigningKey::generate_p256(&mut OsRng);
    let rsa = SigningKey::generate_rsa(&mut OsRng).unwrap();
    for key in [&ed, &p256, &rsa] {
        let secret = key.to_secret_bytes();
        let back = SigningKey::from_secret_bytes(key.algorithm(), &secret).unwrap();
        assert_eq!(back.public_key(), key.public_key());
        assert_eq!(back.algorithm(), key.algorithm());
    }
    // Ed25519: the 32-byte seed, as seed_bytes gives it.
    assert_eq!(ed.to_secret_bytes().as_slice(), ed.seed_bytes().as_slice());
    // RSA and P-256: PKCS#8 DER.
    assert_eq!(*rsa.to_secret_bytes(), *rsa.to_pkcs8_der());
    assert_eq!(*p256.to_secret_bytes(), *p256.to_pkcs8_der());
    // A P-256 scalar stored with seed_bytes still reads back.
    let back = SigningKey::from_secret_bytes(KeyAlgorithm::EcdsaP256, &*p256.seed_bytes()).unwrap();
    assert_eq!(back.public_key(), p256.public_key());
}

#[test]
fn rejects_secrets_of_another_algorithm() {
    let ed = SigningKey::generate(&mut OsRng);
    let p256 = SigningKey::generate_p256(&mut OsRng);
    let bad = |alg, bytes: &[u8]| {
        assert!(matches!(
            SigningKey::from_secret_bytes(alg, bytes),
            Err(FormatError::BadSigningKey(_))
        ));
    };
    bad(KeyAlgorithm::Rsa2048, &p256.to_secret_bytes());
    bad(KeyAlgorithm::Rsa2048, &ed.to_pkcs8_der());
    bad(KeyAlgorithm::EcdsaP256, &ed.to_pkcs8_der());
    bad(KeyAlgorithm::Ed25519, &p256.to_secret_bytes());
    bad(KeyAlgorithm::Ed25519, &[1u8; 31]);
    bad(KeyAlgorithm::EcdsaP256, &[0u8; 32]);
    bad(KeyAlgorithm::Rsa2048, b"not a key");
}
