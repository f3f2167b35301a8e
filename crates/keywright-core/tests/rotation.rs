//! Retiring a signing key and rotating a product to a new one: the old key stops
//! signing, what it signed keeps verifying, and the product signs with the new key.

mod common;

use keywright_core::verify::{verify, VerifyRequest};
use keywright_core::*;
use keywright_license::ValidationCode;

use common::now;

#[test]
fn retire_then_rotate() {
    let dir = tempfile::tempdir().unwrap();
    let store = common::open_store(&dir.path().join("store.db"));
    let mut kw = Keywright::with_vault(store, Box::<MemoryVault>::default(), "tester");
    let new_key = |kw: &mut Keywright, name: &str| {
        kw.create_signing_key(
            &NewSigningKey {
                name: name.into(),
                algorithm: KeyAlgorithm::Ed25519,
            },
            now(),
        )
        .unwrap()
    };
    let old = new_key(&mut kw, "2026 key");
    let product = kw
        .create_product(
            &NewProduct {
                name: "Zapper".into(),
                ..Default::default()
            },
            now(),
        )
        .unwrap();
    let policy = kw
        .create_policy(
            &NewPolicy {
                product_id: product.id.clone(),
                name: "Yearly".into(),
                duration: Some("1y".into()),
                encrypt: true,
                ..Default::default()
            },
            now(),
        )
        .unwrap();
    let issue = |kw: &mut Keywright| {
        kw.issue_license(
            &IssueLicense {
                policy_id: policy.id.clone(),
                ..Default::default()
            },
            now(),
        )
    };
    let first = issue(&mut kw).unwrap();
    let old_file = dir.path().join("old.lic");
    kw.export_license_file(
        &ExportLicenseFile {
            license_id: first.id.clone(),
            path: old_file.display().to_string(),
            ..Default::default()
        },
        now(),
    )
    .unwrap();

    let retired = kw.retire_signing_key(&old.kid, now()).unwrap();
    assert_eq!(retired.status, KeyStatus::Retired);
    let again = kw.retire_signing_key(&old.kid, now()).unwrap_err();
    assert_eq!(again.code, ErrorCode::Conflict);

    // The retired key no longer signs: issuing fails and writes nothing.
    let licenses_before = kw.list_licenses().unwrap().len();
    let err = issue(&mut kw).unwrap_err();
    assert_eq!(err.code, ErrorCode::Conflict);
    assert!(err.message.contains("retired"), "{err}");
    assert_eq!(kw.list_licenses().unwrap().len(), licenses_before);

    // What it signed still verifies with its public key.
    let check = |file: &std::path::Path, public: &str, key: &str| {
        verify(
            &VerifyRequest {
                file: Some(std::fs::read_to_string(file).unwrap()),
                public_key: public.into(),
                license_key: Some(key.into()),
                ..Default::default()
            },
            now(),
        )
        .unwrap()
        .code
    };
    assert_eq!(
        check(&old_file, &old.public_key_hex, &first.key),
        ValidationCode::Valid
    );

    // Rotation: a retired key cannot be chosen; a new active key can.
    let err = kw
        .set_product_signing_key(&product.code, &old.kid, now())
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::Conflict);
    let fresh = new_key(&mut kw, "2027 key");
    let rotated = kw
        .set_product_signing_key(&product.code, &fresh.kid, now())
        .unwrap();
    assert_eq!(rotated.signing_key_id, fresh.id);
    let second = issue(&mut kw).unwrap();
    let new_file = dir.path().join("new.lic");
    kw.export_license_file(
        &ExportLicenseFile {
            license_id: second.id.clone(),
            path: new_file.display().to_string(),
            ..Default::default()
        },
        now(),
    )
    .unwrap();
    assert_eq!(
        check(&new_file, &fresh.public_key_hex, &second.key),
        ValidationCode::Valid
    );
    assert_eq!(
        check(&new_file, &old.public_key_hex, &second.key),
        ValidationCode::SignatureInvalid
    );

    let actions: Vec<String> = kw
        .audit_events()
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .filter(|a| a.starts_with("key.") || a == "product.set_key")
        .collect();
    assert_eq!(
        actions,
        ["key.create", "key.retire", "key.create", "product.set_key"]
    );
    assert!(kw.verify_audit().unwrap() > 0);
}
