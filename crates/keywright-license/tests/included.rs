//! `included` in license files: Keygen's files with related objects are read back
//! with them; ours are written byte for byte as Keygen writes them, validate against
//! their included entitlements, and pass Keygen's documented verification done by an
//! implementation that is not ours (`tests/support/keygen_verify.py`).

use keywright_license::IncludedResource;
use serde_json::Value;

fn vector(rel: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors")
        .join(rel);
    std::fs::read(path).unwrap()
}

#[test]
fn keygen_files_expose_their_included_objects() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/expected");
    let mut with_included = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let Ok(doc) = serde_json::from_slice::<Value>(&bytes) else {
            continue; // not every expected payload is JSON (some are keys' datasets)
        };
        let want: Vec<(String, String)> = doc
            .get("included")
            .and_then(Value::as_array)
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .map(|r| {
                (
                    r["type"].as_str().unwrap().to_owned(),
                    r["id"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        let got: Vec<(String, String)> = IncludedResource::all(&bytes)
            .unwrap()
            .into_iter()
            .map(|r| (r.kind, r.id))
            .collect();
        assert_eq!(got, want, "{}", path.display());
        if !want.is_empty() {
            with_included += 1;
        }
        // The issuer's reader of license documents (feature `sign`) agrees.
        #[cfg(feature = "sign")]
        if doc["data"]["type"] == "licenses" {
            let view = keywright_license::issue::LicenseDocumentView::from_payload(&bytes).unwrap();
            assert_eq!(view.included.len(), want.len(), "{}", path.display());
        }
    }
    assert!(
        with_included >= 10,
        "Keygen's vectors carry included objects"
    );

    // The attributes come through as written.
    let rust = vector("expected/example-rust.license.payload.json");
    let included = IncludedResource::all(&rust).unwrap();
    let user = included.iter().find(|r| r.kind == "users").unwrap();
    assert_eq!(user.attribute_str("email"), Some("test@keygen.example"));
    let codes: Vec<&str> = included
        .iter()
        .filter(|r| r.kind == "entitlements")
        .filter_map(|r| r.attribute_str("code"))
        .collect();
    assert_eq!(
        codes,
        [
            "FEATURE_ENTITLEMENT_C",
            "FEATURE_ENTITLEMENT_B",
            "FEATURE_ENTITLEMENT_A"
        ]
    );
}

#[cfg(feature = "sign")]
mod ours {
    use super::*;
    use jiff::Timestamp;
    use keywright_license::issue::{
        seal, EncryptionSecret, Included, IncludedEntitlement, IncludedPolicy, IncludedProduct,
        IncludedUser, LicenseDocument, SigningKey,
    };
    use keywright_license::{
        parse_time, ExpirationStrategy, FileAlgorithm, FileKind, LicenseStatus, ValidationCode,
        Verifier,
    };
    use rand_core::OsRng;

    fn time(s: &str) -> Timestamp {
        parse_time(s).unwrap()
    }

    /// The `"included":[…]` part of a compact payload, as bytes.
    fn included_part(payload: &str) -> &str {
        let start = payload.find(r#","included":["#).expect("has included");
        let end = payload.find(r#"],"meta":"#).expect("meta follows included");
        &payload[start..end + 1]
    }

    /// The license of `keygen-relay.license`, the Keygen vector that includes its
    /// product and policy.
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

    fn relay_included() -> Included {
        Included {
            product: Some(IncludedProduct {
                id: "310f683f-f618-4b25-be77-016bd6acb088".into(),
                name: "Relay".into(),
                code: None,
                url: None,
                created: time("2024-09-06T21:55:17.999Z"),
                updated: time("2024-09-06T21:55:17.999Z"),
            }),
            policy: Some(IncludedPolicy {
                id: "8b63d7bb-cb71-4e32-96a0-1f8ecfb3dd22".into(),
                product_id: "310f683f-f618-4b25-be77-016bd6acb088".into(),
                name: "Relay Test".into(),
                duration: None,
                floating: false,
                max_machines: Some(1),
                scheme: None,
                strict: false,
                expiration_strategy: ExpirationStrategy::RestrictAccess,
                offline_grace: None,
                require_heartbeat: false,
                heartbeat_duration: None,
                heartbeat_cull_strategy: "DEACTIVATE_DEAD",
                heartbeat_resurrection_strategy: "NO_REVIVE",
                heartbeat_basis: "FROM_FIRST_PING",
                created: time("2024-09-06T21:55:28.177Z"),
                updated: time("2024-09-06T21:55:28.177Z"),
            }),
            ..Included::default()
        }
    }

    #[test]
    fn included_product_and_policy_are_byte_exact_with_keygens_file() {
        let expected =
            String::from_utf8(vector("expected/keygen-relay.license.payload.json")).unwrap();
        let ours = relay_license()
            .to_payload_with(
                time("2025-01-01T00:00:00Z"),
                Some(3600),
                Some(&relay_included()),
            )
            .unwrap();
        let ours = String::from_utf8(ours).unwrap();
        assert_eq!(included_part(&ours), included_part(&expected));
        // None writes no included at all; an empty one writes an empty array.
        let plain = relay_license()
            .to_payload_with(time("2025-01-01T00:00:00Z"), Some(3600), None)
            .unwrap();
        assert!(!String::from_utf8_lossy(&plain).contains("included"));
        let empty = relay_license()
            .to_payload_with(
                time("2025-01-01T00:00:00Z"),
                Some(3600),
                Some(&Included::default()),
            )
            .unwrap();
        assert!(String::from_utf8_lossy(&empty).contains(r#","included":[],"meta":"#));
    }

    fn full_included() -> Included {
        let at = time("2026-01-02T03:04:05.678Z");
        Included {
            owner: Some(IncludedUser {
                id: "2068992b-f98f-4efc-95fd-687dbd0c868c".into(),
                full_name: Some("Zoë Ångström".into()),
                email: Some("zoe@example.com".into()),
                created: at,
                updated: at,
            }),
            entitlements: ["EXPORT_PDF", "TEAM_SYNC"]
                .iter()
                .enumerate()
                .map(|(i, code)| IncludedEntitlement {
                    id: format!("00000000-0000-8000-8000-00000000000{i}"),
                    name: (*code).into(),
                    code: (*code).into(),
                    created: at,
                    updated: at,
                })
                .collect(),
            ..relay_included()
        }
    }

    #[test]
    fn our_included_objects_validate_and_read_back() {
        let key = SigningKey::generate(&mut OsRng);
        let public = key.public_key();
        let mut doc = relay_license();
        let included = full_included();
        doc.entitlement_ids = included.entitlements.iter().map(|e| e.id.clone()).collect();
        let issued = time("2026-02-01T00:00:00Z");
        let payload = doc
            .to_payload_with(issued, Some(86_400), Some(&included))
            .unwrap();
        let secret = EncryptionSecret::for_license(&doc.key);
        let alg = FileAlgorithm::Aes256GcmEd25519;
        let text = seal(
            FileKind::License,
            &payload,
            alg,
            &key,
            Some(&secret),
            &mut OsRng,
        )
        .unwrap();

        let now = time("2026-02-01T01:00:00Z");
        let verifier = || {
            Verifier::pinned(&public, alg, now)
                .license_key(&doc.key)
                .product(&doc.product_id)
        };
        let read = verifier().validate(&text);
        assert_eq!(read.file.unwrap().payload, payload);
        let view = read.license.unwrap();
        let kinds: Vec<&str> = view.included.iter().map(|r| r.kind.as_str()).collect();
        assert_eq!(
            kinds,
            [
                "products",
                "policies",
                "users",
                "entitlements",
                "entitlements"
            ]
        );
        assert_eq!(view.entitlements, ["EXPORT_PDF", "TEAM_SYNC"]);
        let user = &view.included[2];
        assert_eq!(user.attribute_str("firstName"), Some("Zoë"));
        assert_eq!(user.attribute_str("lastName"), Some("Ångström"));

        let ok = verifier().entitlements(["TEAM_SYNC"]).validate(&text);
        assert_eq!(ok.code, ValidationCode::Valid, "{}", ok.message);
        assert_eq!(ok.license.unwrap().included.len(), 5);
        let missing = verifier()
            .entitlements(["TEAM_SYNC", "SSO"])
            .validate(&text);
        assert_eq!(missing.code, ValidationCode::EntitlementsMissing);
        assert!(missing.message.contains("SSO"), "{}", missing.message);
    }

    #[test]
    fn keygens_documented_verification_accepts_our_included_files() {
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/support/keygen_verify.py"
        );
        let dir = tempfile::tempdir().unwrap();
        let key = SigningKey::generate(&mut OsRng);
        let public_hex = key.public_key().to_hex();
        let doc = relay_license();
        let payload = doc
            .to_payload_with(time("2026-02-01T00:00:00Z"), None, Some(&full_included()))
            .unwrap();
        for alg in [
            FileAlgorithm::Base64Ed25519,
            FileAlgorithm::Aes256GcmEd25519,
        ] {
            let secret = EncryptionSecret::for_license(&doc.key);
            let secret = alg.is_encrypted().then_some(&secret);
            let text = seal(FileKind::License, &payload, alg, &key, secret, &mut OsRng).unwrap();
            let path = dir.path().join(format!("{alg}.lic"));
            std::fs::write(&path, &text).unwrap();
            let mut cmd = std::process::Command::new("python3");
            cmd.arg(script).arg(&path).arg(&public_hex);
            if alg.is_encrypted() {
                cmd.arg(&doc.key);
            }
            let out = cmd.output().expect("python3 runs");
            assert!(
                out.status.success(),
                "keygen_verify.py rejected {alg}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let decoded: Value = serde_json::from_slice(&out.stdout).unwrap();
            let parsed: Value = serde_json::from_slice(&payload).unwrap();
            assert_eq!(decoded, parsed, "{alg}");
            assert_eq!(decoded["included"][3]["attributes"]["code"], "EXPORT_PDF");
        }
    }
}
