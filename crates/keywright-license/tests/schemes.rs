//! RSA-2048 and ECDSA P-256: every scheme and file algorithm round-trips, and
//! tampering, a wrong key or a rewritten `alg` is caught with the right error.
#![cfg(feature = "sign")]

use std::sync::OnceLock;

use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine as _;
use keywright_license::issue::{seal, sign_key, EncryptionSecret, SigningKey, MAX_ENCRYPT_DATASET};
use keywright_license::{
    verify_key, Certificate, FileAlgorithm, FileKind, FormatError, JwtClaims, KeyAlgorithm,
    LicenseRef, OpenedFile, PublicKey, Scheme, Verifier,
};
use proptest::prelude::*;
use rand_core::OsRng;

/// Two keys per algorithm, made once per test binary (RSA generation is slow).
fn keys(alg: KeyAlgorithm) -> &'static [SigningKey; 2] {
    static ED: OnceLock<[SigningKey; 2]> = OnceLock::new();
    static RSA: OnceLock<[SigningKey; 2]> = OnceLock::new();
    static P256: OnceLock<[SigningKey; 2]> = OnceLock::new();
    match alg {
        KeyAlgorithm::Ed25519 => ED.get_or_init(|| {
            [
                SigningKey::generate(&mut OsRng),
                SigningKey::generate(&mut OsRng),
            ]
        }),
        KeyAlgorithm::Rsa2048 => RSA.get_or_init(|| {
            [
                SigningKey::generate_rsa(&mut OsRng).unwrap(),
                SigningKey::generate_rsa(&mut OsRng).unwrap(),
            ]
        }),
        KeyAlgorithm::EcdsaP256 => P256.get_or_init(|| {
            [
                SigningKey::generate_p256(&mut OsRng),
                SigningKey::generate_p256(&mut OsRng),
            ]
        }),
        _ => unreachable!("no other key algorithm"),
    }
}

/// Opens a `kind` file with `public` pinned to `alg`, decrypting with `license_key`
/// (and fingerprint "fp" for machine files).
fn open(
    text: &str,
    kind: FileKind,
    public: &PublicKey,
    alg: FileAlgorithm,
    license_key: Option<&str>,
) -> Result<OpenedFile, FormatError> {
    let now = "2024-06-01T00:00:00Z".parse().unwrap();
    let mut verifier = Verifier::pinned(public, alg, now)
        .kind(kind)
        .fingerprint("fp");
    if let Some(license_key) = license_key {
        verifier = verifier.license_key(license_key);
    }
    let v = verifier.verify(text);
    v.file.ok_or_else(|| v.error.unwrap())
}

fn payload(text: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "data": {"type": "licenses", "attributes": {"name": text}},
        "meta": {"issued": "2024-01-01T00:00:00.000Z", "expiry": null, "ttl": null}
    }))
    .unwrap()
}

#[test]
fn signing_keys_round_trip_through_pkcs8() {
    for alg in [
        KeyAlgorithm::Ed25519,
        KeyAlgorithm::Rsa2048,
        KeyAlgorithm::EcdsaP256,
    ] {
        let key = &keys(alg)[0];
        assert_eq!(key.algorithm(), alg);
        let der = key.to_pkcs8_der();
        // Fits a Windows Credential Manager blob.
        assert!(der.len() <= 2560, "{alg:?}: {}", der.len());
        let back = SigningKey::from_pkcs8_der(&der).unwrap();
        assert_eq!(back.public_key(), key.public_key());
        let public = key.public_key();
        assert_eq!(PublicKey::parse(&public.to_pem()).unwrap(), public);
        assert_eq!(
            PublicKey::parse(&STANDARD.encode(public.to_pem())).unwrap(),
            public
        );
        assert_eq!(public.kid().len(), 16);
        assert!(!format!("{key:?}").contains(&hex::encode(&der[der.len() - 16..])));
    }
    assert!(SigningKey::from_pkcs8_der(b"junk").is_err());
    let ed = &keys(KeyAlgorithm::Ed25519)[0];
    assert_eq!(
        SigningKey::from_pkcs8_der(&ed.to_pkcs8_der())
            .unwrap()
            .seed_bytes(),
        ed.seed_bytes()
    );
}

#[test]
fn rsa_public_key_forms() {
    use rsa::pkcs1::EncodeRsaPublicKey as _;
    use rsa::pkcs8::DecodePublicKey as _;
    let public = keys(KeyAlgorithm::Rsa2048)[0].public_key();
    let spki = public.to_spki_der();
    let rsa_key = rsa::RsaPublicKey::from_public_key_der(&spki).unwrap();
    let pkcs1 = rsa_key.to_pkcs1_der().unwrap();
    let b64 = STANDARD.encode(pkcs1.as_bytes());
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    let pem = format!(
        "-----BEGIN RSA PUBLIC KEY-----\n{}\n-----END RSA PUBLIC KEY-----\n",
        lines.join("\n")
    );
    assert_eq!(PublicKey::parse(&pem).unwrap(), public);
    assert_eq!(PublicKey::parse(&STANDARD.encode(&pem)).unwrap(), public);
    // A 1024-bit key is not Keygen's.
    let small = rsa::RsaPrivateKey::new(&mut OsRng, 1024).unwrap();
    use rsa::pkcs8::EncodePublicKey as _;
    let der = small.to_public_key().to_public_key_der().unwrap();
    assert!(matches!(
        PublicKey::from_spki_der(der.as_bytes()),
        Err(FormatError::BadPublicKey(_))
    ));
}

#[test]
fn every_scheme_signs_and_verifies() {
    for scheme in Scheme::ALL {
        let [key, other] = keys(scheme.key_algorithm());
        let public = key.public_key();
        let dataset = br#"{"license":"ok","emoji":"\u2603"}"#;
        let text = sign_key(scheme, dataset, key, &mut OsRng).unwrap();
        assert_eq!(
            verify_key(&text, &public, scheme).unwrap(),
            dataset,
            "{scheme}"
        );
        assert_eq!(
            verify_key(&format!("{text}\n"), &public, scheme).unwrap(),
            dataset
        );
        // Another key of the same algorithm: the signature does not verify.
        assert_eq!(
            verify_key(&text, &other.public_key(), scheme),
            Err(FormatError::SignatureInvalid),
            "{scheme}"
        );
        // A key of another algorithm: mismatch, before any decoding.
        for alg in [
            KeyAlgorithm::Ed25519,
            KeyAlgorithm::Rsa2048,
            KeyAlgorithm::EcdsaP256,
        ] {
            if alg != scheme.key_algorithm() {
                let wrong = keys(alg)[0].public_key();
                assert!(matches!(
                    verify_key(&text, &wrong, scheme),
                    Err(FormatError::AlgorithmMismatch { .. })
                ));
                assert!(matches!(
                    sign_key(scheme, dataset, &keys(alg)[0], &mut OsRng),
                    Err(FormatError::AlgorithmMismatch { .. })
                ));
            }
        }
        // Layouts: V2 schemes are prefixed; legacy ones are not.
        match scheme {
            Scheme::RsaPssSign | Scheme::RsaSign => {
                let (data, _) = text.split_once('.').unwrap();
                assert_eq!(URL_SAFE.decode(data).unwrap(), dataset);
            }
            Scheme::RsaEncrypt => {
                assert!(!text.contains('.'));
                assert_eq!(URL_SAFE.decode(&text).unwrap().len(), 256);
            }
            Scheme::RsaJwtRs256 => {
                assert!(text.starts_with("eyJhbGciOiJSUzI1NiJ9."));
                assert!(!text.contains('='));
            }
            _ => assert!(text.starts_with("key/")),
        }
    }
}

#[test]
fn schemes_are_not_interchangeable() {
    let key = &keys(KeyAlgorithm::Rsa2048)[0];
    let public = key.public_key();
    let rsa = [
        Scheme::RsaPssSignV2,
        Scheme::RsaSignV2,
        Scheme::RsaPssSign,
        Scheme::RsaSign,
        Scheme::RsaEncrypt,
        Scheme::RsaJwtRs256,
    ];
    for made in rsa {
        let text = sign_key(made, b"data", key, &mut OsRng).unwrap();
        for checked in rsa {
            let result = verify_key(&text, &public, checked);
            if made == checked {
                assert_eq!(result.unwrap(), b"data");
            } else {
                assert!(result.is_err(), "{made} accepted as {checked}");
            }
        }
    }
}

#[test]
fn default_schemes() {
    for alg in [
        KeyAlgorithm::Ed25519,
        KeyAlgorithm::Rsa2048,
        KeyAlgorithm::EcdsaP256,
    ] {
        let key = &keys(alg)[0];
        let scheme = Scheme::default_for(alg);
        let text = sign_key(scheme, b"hello", key, &mut OsRng).unwrap();
        assert_eq!(
            verify_key(&text, &key.public_key(), scheme).unwrap(),
            b"hello"
        );
    }
}

#[test]
fn encrypt_scheme_limit() {
    let key = &keys(KeyAlgorithm::Rsa2048)[0];
    let max = vec![b'x'; MAX_ENCRYPT_DATASET];
    let text = sign_key(Scheme::RsaEncrypt, &max, key, &mut OsRng).unwrap();
    assert_eq!(
        verify_key(&text, &key.public_key(), Scheme::RsaEncrypt).unwrap(),
        max
    );
    let over = vec![b'x'; MAX_ENCRYPT_DATASET + 1];
    assert_eq!(
        sign_key(Scheme::RsaEncrypt, &over, key, &mut OsRng),
        Err(FormatError::TooLarge {
            max: MAX_ENCRYPT_DATASET
        })
    );
    // Empty datasets work too.
    let text = sign_key(Scheme::RsaEncrypt, b"", key, &mut OsRng).unwrap();
    assert_eq!(
        verify_key(&text, &key.public_key(), Scheme::RsaEncrypt).unwrap(),
        b""
    );
}

#[test]
fn signature_bytes_are_all_checked() {
    for scheme in Scheme::ALL {
        let key = &keys(scheme.key_algorithm())[0];
        let public = key.public_key();
        let text = sign_key(scheme, b"{\"a\":1}", key, &mut OsRng).unwrap();
        let (head, sig_b64) = match text.rsplit_once('.') {
            Some((h, s)) => (Some(h), s),
            None => (None, text.as_str()),
        };
        let engine = if scheme == Scheme::RsaJwtRs256 {
            URL_SAFE_NO_PAD
        } else {
            URL_SAFE
        };
        let sig = engine.decode(sig_b64).unwrap();
        let step = if sig.len() > 100 { 7 } else { 1 };
        for i in (0..sig.len()).step_by(step) {
            let mut bad = sig.clone();
            bad[i] ^= 0x80;
            let bad = engine.encode(&bad);
            let tampered = match head {
                Some(h) => format!("{h}.{bad}"),
                None => bad,
            };
            assert!(
                verify_key(&tampered, &public, scheme).is_err(),
                "{scheme} byte {i}"
            );
        }
        // Truncated and extended signatures.
        for bad in [&sig[..sig.len() - 1], &[sig.as_slice(), &[0]].concat()[..]] {
            let bad = engine.encode(bad);
            let tampered = match head {
                Some(h) => format!("{h}.{bad}"),
                None => bad,
            };
            assert!(verify_key(&tampered, &public, scheme).is_err());
        }
    }
}

#[test]
fn every_file_algorithm_seals_and_opens() {
    let secret_l = EncryptionSecret::for_license("LICENSE-KEY");
    let secret_m = EncryptionSecret::for_machine("LICENSE-KEY", "fp");
    let secret = Some("LICENSE-KEY");
    for alg in FileAlgorithm::ALL {
        let [key, other] = keys(alg.key_algorithm());
        let public = key.public_key();
        for (kind, sealing) in [
            (FileKind::License, &secret_l),
            (FileKind::Machine, &secret_m),
        ] {
            let body = payload("Ünïcødé ✓");
            let text = seal(kind, &body, alg, key, Some(sealing), &mut OsRng).unwrap();
            let opened = open(&text, kind, &public, alg, secret).unwrap();
            assert_eq!(opened.payload, body, "{alg}");
            assert_eq!(opened.alg, alg);
            let cert = Certificate::parse(&text).unwrap();
            assert_eq!(cert.alg, alg.as_str());
            assert_eq!(cert.to_text(), text);
            // Wrong key of the same algorithm.
            assert_eq!(
                open(&text, kind, &other.public_key(), alg, secret),
                Err(FormatError::SignatureInvalid)
            );
            // Tampered enc.
            let mut bad = cert.clone();
            bad.enc = bad.enc.replacen(|c: char| c.is_ascii_alphabetic(), "A", 1);
            if bad.enc != cert.enc {
                assert_eq!(
                    open(&bad.to_text(), kind, &public, alg, secret),
                    Err(FormatError::SignatureInvalid)
                );
            }
            // Tampered signature.
            let mut sig = STANDARD.decode(&cert.sig).unwrap();
            let mid = sig.len() / 2;
            sig[mid] ^= 1;
            let bad = Certificate {
                sig: STANDARD.encode(&sig),
                ..cert.clone()
            };
            assert_eq!(
                open(&bad.to_text(), kind, &public, alg, secret),
                Err(FormatError::SignatureInvalid)
            );
            // alg rewritten to any other algorithm: mismatch against the pinned one.
            for claimed in FileAlgorithm::ALL {
                if claimed == alg {
                    continue;
                }
                let bad = Certificate {
                    alg: claimed.as_str().into(),
                    ..cert.clone()
                };
                assert!(matches!(
                    open(&bad.to_text(), kind, &public, alg, secret),
                    Err(FormatError::AlgorithmMismatch { .. })
                ));
                // Pinning the rewritten alg does not help: the key or signature disagrees.
                let e = open(&bad.to_text(), kind, &public, claimed, secret).unwrap_err();
                assert!(
                    matches!(
                        e,
                        FormatError::AlgorithmMismatch { .. }
                            | FormatError::SignatureInvalid
                            | FormatError::DecryptionFailed
                            | FormatError::MalformedEnc
                            | FormatError::Base64 { .. }
                    ),
                    "{alg} as {claimed}: {e:?}"
                );
            }
            if alg.is_encrypted() {
                assert_eq!(
                    open(&text, kind, &public, alg, Some("OTHER")),
                    Err(FormatError::DecryptionFailed)
                );
                assert_eq!(
                    open(&text, kind, &public, alg, None),
                    Err(FormatError::KeyRequired)
                );
            }
        }
        // A key of another algorithm cannot seal this algorithm.
        let wrong = if alg.key_algorithm() == KeyAlgorithm::Ed25519 {
            &keys(KeyAlgorithm::Rsa2048)[0]
        } else {
            &keys(KeyAlgorithm::Ed25519)[0]
        };
        assert!(matches!(
            seal(
                FileKind::License,
                &payload("x"),
                alg,
                wrong,
                Some(&secret_l),
                &mut OsRng
            ),
            Err(FormatError::AlgorithmMismatch { .. })
        ));
    }
}

#[test]
fn jwt_rs256_like_keygen() {
    let key = &keys(KeyAlgorithm::Rsa2048)[0];
    let public = key.public_key();
    // The default claims of Keygen's documentation, in its order.
    let docs = r#"{"jti":"c0c8dc23-7025-4f64-ae08-b3889feba03b","iss":"https://keygen.sh","aud":"bf9b523f-dd65-48a2-9512-fb66ba6c3714","sub":"54b29856-a428-4d27-9666-9b64e1bf86ee","iat":1615837128,"nbf":1615837128,"exp":1647373128}"#;
    let claims = JwtClaims::from_json(docs.as_bytes()).unwrap();
    assert_eq!(claims.to_json(), docs.as_bytes());
    let license = LicenseRef {
        id: "54b29856-a428-4d27-9666-9b64e1bf86ee".into(),
        created: jiff::Timestamp::from_second(1615837128).unwrap(),
        expiry: Some(jiff::Timestamp::from_second(1647373128).unwrap()),
    };
    let made = JwtClaims::for_license(
        "c0c8dc23-7025-4f64-ae08-b3889feba03b",
        "bf9b523f-dd65-48a2-9512-fb66ba6c3714",
        &license,
    );
    assert_eq!(made, claims);
    let no_exp = JwtClaims {
        exp: None,
        ..claims.clone()
    };
    assert!(!String::from_utf8(no_exp.to_json()).unwrap().contains("exp"));
    // The header is exactly {"alg":"RS256"}; the docs' example starts the same way.
    let jwt = sign_key(Scheme::RsaJwtRs256, &claims.to_json(), key, &mut OsRng).unwrap();
    let parts: Vec<&str> = jwt.split('.').collect();
    assert_eq!(parts.len(), 3);
    assert_eq!(
        URL_SAFE_NO_PAD.decode(parts[0]).unwrap(),
        br#"{"alg":"RS256"}"#
    );
    assert_eq!(
        verify_key(&jwt, &public, Scheme::RsaJwtRs256).unwrap(),
        docs.as_bytes()
    );
    // Other headers: `none` and HS256 are refused; extra members are fine.
    for (header, ok) in [
        (r#"{"alg":"none"}"#, false),
        (r#"{"alg":"HS256"}"#, false),
        (r#"{"typ":"JWT"}"#, false),
        (r#"{"alg":"RS256","typ":"JWT"}"#, true),
    ] {
        let mut text = URL_SAFE_NO_PAD.encode(header);
        text.push('.');
        text.push_str(parts[1]);
        let sig = {
            use rsa::pkcs8::DecodePrivateKey as _;
            let der = key.to_pkcs8_der();
            let rsa_key = rsa::RsaPrivateKey::from_pkcs8_der(&der).unwrap();
            use sha2::Digest as _;
            rsa_key
                .sign(
                    rsa::Pkcs1v15Sign::new::<sha2::Sha256>(),
                    &sha2::Sha256::digest(text.as_bytes()),
                )
                .unwrap()
        };
        text.push('.');
        text.push_str(&URL_SAFE_NO_PAD.encode(sig));
        let result = verify_key(&text, &public, Scheme::RsaJwtRs256);
        if ok {
            assert_eq!(result.unwrap(), docs.as_bytes());
        } else {
            assert!(
                matches!(result, Err(FormatError::AlgorithmMismatch { .. })),
                "{header}: {result:?}"
            );
        }
    }
    // Padded base64 and a fourth part are malformed.
    assert!(verify_key(&format!("{jwt}="), &public, Scheme::RsaJwtRs256).is_err());
    assert!(matches!(
        verify_key(&format!("{jwt}.x"), &public, Scheme::RsaJwtRs256),
        Err(FormatError::MalformedKey(_))
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn datasets_round_trip(text in "\\PC{0,60}", pick in 0usize..Scheme::ALL.len()) {
        let scheme = Scheme::ALL[pick];
        let key = &keys(scheme.key_algorithm())[0];
        let signed = sign_key(scheme, text.as_bytes(), key, &mut OsRng).unwrap();
        let back = verify_key(&signed, &key.public_key(), scheme).unwrap();
        prop_assert_eq!(back, text.as_bytes());
    }

    #[test]
    fn payloads_round_trip(
        bytes in proptest::collection::vec(any::<u8>(), 0..300),
        name in "\\PC{0,40}",
        pick in 0usize..FileAlgorithm::ALL.len(),
    ) {
        let alg = FileAlgorithm::ALL[pick];
        let key = &keys(alg.key_algorithm())[0];
        let secret = EncryptionSecret::for_license(&name);
        // Arbitrary bytes seal and verify; `open` then requires the JSON meta.
        let text = seal(FileKind::License, &bytes, alg, key, Some(&secret), &mut OsRng).unwrap();
        let cert = Certificate::parse(&text).unwrap();
        prop_assert_eq!(cert.alg.as_str(), alg.as_str());
        let body = payload(&name);
        let secret = EncryptionSecret::for_machine(&name, "fp");
        let text = seal(FileKind::Machine, &body, alg, key, Some(&secret), &mut OsRng).unwrap();
        let opened = open(&text, FileKind::Machine, &key.public_key(), alg, Some(&name)).unwrap();
        prop_assert_eq!(opened.payload, body);
    }
}
