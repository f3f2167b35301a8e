//! Files and keys we issue: they open again, and their bytes have Keygen's layout.
#![cfg(feature = "sign")]

use jiff::Timestamp;
use keywright_license::issue::{
    seal, sign_key, EncryptionSecret, LicenseDocument, LicenseDocumentView, SigningKey,
};
use keywright_license::{
    parse_time, verify_key, Certificate, FileAlgorithm, FileKind, FormatError, IdRef, KeyDataset,
    LicenseRef, LicenseStatus, OpenedFile, PolicyRef, PublicKey, Scheme, UserRef, ValidationCode,
    Verifier, DEFAULT_CLOCK_DRIFT,
};
use proptest::prelude::*;
use rand_core::OsRng;

const ALGS: [FileAlgorithm; 2] = [
    FileAlgorithm::Base64Ed25519,
    FileAlgorithm::Aes256GcmEd25519,
];
const KINDS: [FileKind; 2] = [FileKind::License, FileKind::Machine];

fn time(s: &str) -> Timestamp {
    parse_time(s).unwrap()
}

/// Opens a `kind` file sealed with `public`'s key and `alg`, decrypting with license
/// key "KEY-1" (and fingerprint "fp-1" for machine files).
fn open(
    text: &str,
    kind: FileKind,
    public: &PublicKey,
    alg: FileAlgorithm,
    license_key: &str,
) -> Result<OpenedFile, FormatError> {
    let v = Verifier::pinned(public, alg, time("2025-01-01T00:00:00Z"))
        .kind(kind)
        .license_key(license_key)
        .fingerprint("fp-1")
        .verify(text);
    v.file.ok_or_else(|| v.error.unwrap())
}

fn vector(rel: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors")
        .join(rel);
    std::fs::read(path).unwrap()
}

/// The license of `keygen-relay.license.rev2025-12`, Keygen's newest vector.
fn relay_license() -> LicenseDocument {
    LicenseDocument {
        id: "dcea31a4-1664-4633-9f52-4a1b0b5ea2ef".into(),
        account_id: "1fddcec8-8dd3-4d8d-9b16-215cac0f9b52".into(),
        product_id: "310f683f-f618-4b25-be77-016bd6acb088".into(),
        policy_id: "8b63d7bb-cb71-4e32-96a0-1f8ecfb3dd22".into(),
        user_id: None,
        name: Some("Relay Test 1".into()),
        key: "9E32DD-D8CC22-771926-C2D834-C506DC-V3".into(),
        expiry: None,
        status: LicenseStatus::Active,
        scheme: None,
        encrypted: false,
        strict: false,
        floating: true,
        protected: true,
        max_machines: None,
        metadata: serde_json::Map::new(),
        created: time("2024-09-06T21:55:40.129Z"),
        updated: time("2025-12-05T15:09:09.567Z"),
        machines_count: 0,
        entitlement_ids: vec![],
    }
}

fn assert_keygen_layout(text: &str, kind: FileKind) {
    let word = match kind {
        FileKind::License => "LICENSE",
        FileKind::Machine => "MACHINE",
        other => panic!("no {other:?} files here"),
    };
    let header = format!("-----BEGIN {word} FILE-----\n");
    let footer = format!("\n-----END {word} FILE-----\n");
    assert!(text.starts_with(&header), "{text}");
    assert!(text.ends_with(&footer));
    assert!(!text.contains('\r'));
    assert!(!text.ends_with("\n\n"));
    let body = &text[header.len()..text.len() - footer.len()];
    let lines: Vec<&str> = body.split('\n').collect();
    for (i, line) in lines.iter().enumerate() {
        if i + 1 < lines.len() {
            assert_eq!(line.len(), 60, "line {i} of {text}");
        } else {
            assert!(!line.is_empty() && line.len() <= 60);
        }
        assert!(line
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'='));
    }
}

#[test]
fn seal_then_open_every_algorithm_and_kind() {
    let key = SigningKey::generate(&mut OsRng);
    let public = key.public_key();
    let issued = time("2025-01-01T12:00:00.123Z");
    let payload = relay_license().to_payload(issued, Some(2_592_000)).unwrap();
    for kind in KINDS {
        let secret = match kind {
            FileKind::License => EncryptionSecret::for_license("KEY-1"),
            FileKind::Machine => EncryptionSecret::for_machine("KEY-1", "fp-1"),
            other => panic!("no {other:?} files here"),
        };
        for alg in ALGS {
            let text = seal(kind, &payload, alg, &key, Some(&secret), &mut OsRng).unwrap();
            assert_keygen_layout(&text, kind);
            let cert = Certificate::parse(&text).unwrap();
            assert_eq!(cert.alg, alg.as_str());
            assert_eq!(cert.to_text(), text);
            if alg.is_encrypted() {
                let parts: Vec<&str> = cert.enc.split('.').collect();
                assert_eq!(parts.len(), 3);
                assert_eq!(parts[1].len(), 16, "12-byte IV in padded base64");
                assert_eq!(parts[2].len(), 24, "16-byte tag in padded base64");
            }
            let opened = open(&text, kind, &public, alg, "KEY-1").unwrap();
            assert_eq!(opened.payload, payload);
            assert_eq!(opened.meta.issued, issued);
            assert_eq!(opened.meta.ttl, Some(2_592_000));
            assert_eq!(opened.meta.expiry, Some(time("2025-01-31T12:00:00.123Z")));
            assert_eq!(
                opened.meta.check(issued, DEFAULT_CLOCK_DRIFT),
                ValidationCode::Valid
            );
            assert_eq!(
                opened
                    .meta
                    .check(time("2025-02-01T00:00:00Z"), DEFAULT_CLOCK_DRIFT),
                ValidationCode::FileExpired
            );
        }
        // Two seals of the same payload use different IVs.
        let a = seal(kind, &payload, ALGS[1], &key, Some(&secret), &mut OsRng).unwrap();
        let b = seal(kind, &payload, ALGS[1], &key, Some(&secret), &mut OsRng).unwrap();
        assert_ne!(a, b);
        assert_eq!(
            seal(kind, &payload, ALGS[1], &key, None, &mut OsRng),
            Err(FormatError::KeyRequired)
        );
    }
}

#[test]
fn document_is_shaped_like_keygens_newest_vector() {
    let expected = vector("expected/keygen-relay.license.rev2025-12.payload.json");
    let expected = String::from_utf8(expected).unwrap();
    // Two values differ by design: we never record validations, and issuing the
    // file is the check-out.
    let expected = expected
        .replace(
            r#""lastValidated":"2024-11-13T15:40:27.115Z""#,
            r#""lastValidated":null"#,
        )
        .replace(
            r#""lastCheckOut":"2025-12-05T15:09:09.567Z""#,
            r#""lastCheckOut":"2025-12-05T16:49:12.964Z""#,
        );
    let issued = time("2025-12-05T16:49:12.964871Z");
    let ours = relay_license().to_payload(issued, Some(2_592_000)).unwrap();
    assert_eq!(String::from_utf8(ours).unwrap(), expected);
}

#[test]
fn document_owner_entitlements_and_ttl() {
    let mut doc = relay_license();
    doc.user_id = Some("2068992b-f98f-4efc-95fd-687dbd0c868c".into());
    doc.scheme = Some(Scheme::Ed25519Sign);
    doc.status = LicenseStatus::Suspended;
    doc.expiry = Some(time("2030-01-01T00:00:00Z"));
    doc.entitlement_ids = vec!["e1".into(), "e2".into()];
    doc.metadata.insert("tier".into(), "pro".into());
    let payload = doc.to_payload(time("2025-01-01T00:00:00Z"), None).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&payload).unwrap();
    let rel = &v["data"]["relationships"];
    assert_eq!(rel["owner"]["data"]["type"], "users");
    assert_eq!(rel["users"]["meta"]["count"], 1);
    assert_eq!(rel["entitlements"]["data"][1]["id"], "e2");
    let attrs = &v["data"]["attributes"];
    assert_eq!(attrs["scheme"], "ED25519_SIGN");
    assert_eq!(attrs["status"], "SUSPENDED");
    assert_eq!(attrs["suspended"], true);
    assert_eq!(attrs["expiry"], "2030-01-01T00:00:00.000Z");
    assert_eq!(attrs["metadata"]["tier"], "pro");
    assert_eq!(v["meta"]["expiry"], serde_json::Value::Null);
    assert_eq!(v["meta"]["ttl"], serde_json::Value::Null);

    let view = LicenseDocumentView::from_payload(&payload).unwrap();
    assert_eq!(view.entitlement_ids, vec!["e1", "e2"]);
    assert_eq!(view.policy_id.as_deref(), Some(doc.policy_id.as_str()));
    assert_eq!(view.expiry, doc.expiry);
    assert_eq!(view.status, "SUSPENDED");

    assert_eq!(
        doc.to_payload(time("2025-01-01T00:00:00Z"), Some(3599)),
        Err(FormatError::TtlOutOfRange(3599))
    );
}

#[test]
fn view_reads_keygen_payloads() {
    let payload = vector("expected/keygen-go.license.payload.json");
    let view = LicenseDocumentView::from_payload(&payload).unwrap();
    assert_eq!(view.id, "f3d657de-2b50-4adf-867b-ef03dc86a3fe");
    assert_eq!(view.name, None);
    assert_eq!(view.status, "ACTIVE");
    assert_eq!(
        view.entitlement_ids,
        vec!["df75b702-128b-43a1-91d8-1fbfcd38c521"]
    );
    assert_eq!(
        view.product_id.as_deref(),
        Some("1f086ec9-a943-46ea-9da4-e62c2180c2f4")
    );
}

#[test]
fn signed_keys_round_trip() {
    let key = SigningKey::from_seed(&[9u8; 32]).unwrap();
    let dataset = KeyDataset {
        account: IdRef { id: "acc".into() },
        product: IdRef { id: "prod".into() },
        policy: PolicyRef {
            id: "pol".into(),
            duration: Some(31_536_000),
        },
        user: Some(UserRef {
            id: "u".into(),
            email: "zeke@keygen.example".into(),
        }),
        license: LicenseRef {
            id: "lic".into(),
            created: time("2021-03-22T13:30:17.892Z"),
            expiry: None,
        },
    };
    let json = dataset.to_json();
    assert_eq!(
        String::from_utf8(json.clone()).unwrap(),
        r#"{"account":{"id":"acc"},"product":{"id":"prod"},"policy":{"id":"pol","duration":31536000},"user":{"id":"u","email":"zeke@keygen.example"},"license":{"id":"lic","created":"2021-03-22T13:30:17.892Z","expiry":null}}"#
    );
    let text = sign_key(Scheme::Ed25519Sign, &json, &key, &mut OsRng).unwrap();
    assert!(text.starts_with("key/"));
    assert!(text["key/".len()..]
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-_=.".contains(&b)));
    assert_eq!(
        verify_key(&text, &key.public_key(), Scheme::Ed25519Sign).unwrap(),
        json
    );
    assert_eq!(KeyDataset::from_json(&json).unwrap(), dataset);
    let other = SigningKey::from_seed(&[10u8; 32]).unwrap();
    assert_eq!(
        verify_key(&text, &other.public_key(), Scheme::Ed25519Sign),
        Err(FormatError::SignatureInvalid)
    );
    // Ed25519 is deterministic: the same dataset and key give the same key text.
    assert_eq!(
        sign_key(Scheme::Ed25519Sign, &json, &key, &mut OsRng),
        Ok(text)
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn arbitrary_payload_bytes_survive_base64_and_aes(payload in proptest::collection::vec(any::<u8>(), 0..2048)) {
        // open() needs a payload with `meta`, so carry the bytes inside a document.
        let key = SigningKey::from_seed(&[3u8; 32]).unwrap();
        let secret = EncryptionSecret::for_license("K");
        let doc = serde_json::json!({
            "data": payload,
            "meta": {"issued": "2025-01-01T00:00:00.000Z", "expiry": null, "ttl": null}
        });
        let bytes = serde_json::to_vec(&doc).unwrap();
        for alg in ALGS {
            let text = seal(FileKind::License, &bytes, alg, &key, Some(&secret), &mut OsRng).unwrap();
            assert_keygen_layout(&text, FileKind::License);
            let opened = open(&text, FileKind::License, &key.public_key(), alg, "K").unwrap();
            prop_assert_eq!(&opened.payload, &bytes);
        }
    }

    #[test]
    fn unicode_documents_round_trip(name in "\\PC{0,40}", meta_value in "\\PC{0,40}", key in "[A-Z0-9-]{1,40}") {
        let signer = SigningKey::from_seed(&[4u8; 32]).unwrap();
        let mut doc = relay_license();
        doc.name = Some(name.clone());
        doc.key = key.clone();
        doc.metadata.insert("note".into(), meta_value.clone().into());
        let payload = doc.to_payload(time("2025-06-01T00:00:00Z"), Some(86_400)).unwrap();
        let secret = EncryptionSecret::for_license(&key);
        let text = seal(FileKind::License, &payload, FileAlgorithm::Aes256GcmEd25519, &signer, Some(&secret), &mut OsRng).unwrap();
        let opened = open(&text, FileKind::License, &signer.public_key(), FileAlgorithm::Aes256GcmEd25519, &key).unwrap();
        prop_assert_eq!(&opened.payload, &payload);
        let view = LicenseDocumentView::from_payload(&opened.payload).unwrap();
        prop_assert_eq!(view.name, Some(name));
        prop_assert_eq!(view.key, key);
        let v: serde_json::Value = serde_json::from_slice(&opened.payload).unwrap();
        prop_assert_eq!(&v["data"]["attributes"]["metadata"]["note"], &serde_json::Value::from(meta_value));
        prop_assert_eq!(opened.meta.expiry, Some(time("2025-06-02T00:00:00Z")));
    }

    #[test]
    fn parsers_never_panic(text in "\\PC{0,300}") {
        let _ = Certificate::parse(&text);
        let _ = PublicKey::parse(&text);
        let key = SigningKey::from_seed(&[5u8; 32]).unwrap();
        let _ = verify_key(&text, &key.public_key(), Scheme::Ed25519Sign);
        let wrapped = format!("-----BEGIN LICENSE FILE-----\n{text}\n-----END LICENSE FILE-----\n");
        let _ = Verifier::pinned(&key.public_key(), FileAlgorithm::Base64Ed25519, time("2025-01-01T00:00:00Z")).verify(&wrapped);
    }
}
