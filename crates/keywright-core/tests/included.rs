//! License files with Keygen's `included` (product, policy, owner, entitlements),
//! exported from a real store and checked with the SDK's validation.

mod common;

use keywright_core::*;
use keywright_license::{FileAlgorithm, LicenseView, PublicKey, ValidationCode, Verifier};

use common::now;

fn count(kw: &Keywright, table: &str) -> i64 {
    common::Raw::of(kw).count(table)
}

#[test]
fn export_writes_the_asked_related_objects_and_validation_reads_them() {
    let dir = tempfile::tempdir().unwrap();
    let store = common::open_store(&dir.path().join("store.db"));
    let mut kw = Keywright::with_vault(store, Box::<MemoryVault>::default(), "tester");
    let key = kw
        .create_signing_key(
            &NewSigningKey {
                name: "Main".into(),
                algorithm: KeyAlgorithm::Ed25519,
            },
            now(),
        )
        .unwrap();
    let product = kw
        .create_product(
            &NewProduct {
                name: "Zapper Pro".into(),
                url: Some("https://zapper.example".into()),
                ..Default::default()
            },
            now(),
        )
        .unwrap();
    let policy = kw
        .create_policy(
            &NewPolicy {
                product_id: product.id.clone(),
                name: "Pro".into(),
                duration: Some("1y".into()),
                max_machines: Some(2),
                floating: true,
                encrypt: true,
                entitlements: vec!["EXPORT_PDF".into(), "TEAM_SYNC".into()],
                ..Default::default()
            },
            now(),
        )
        .unwrap();
    let license = kw
        .issue_license(
            &IssueLicense {
                policy_id: policy.id.clone(),
                customer_name: Some("Ada Lovelace".into()),
                customer_email: Some("ada@example.com".into()),
                ..Default::default()
            },
            now(),
        )
        .unwrap();
    let public = PublicKey::from_hex(&key.public_key_hex).unwrap();
    let alg = FileAlgorithm::Aes256GcmEd25519;
    let validate = |text: &str, codes: &[&str]| {
        Verifier::pinned(&public, alg, now())
            .license_key(&license.key)
            .product(&product.id)
            .entitlements(codes.iter().copied())
            .validate(text)
    };
    let export = |kw: &mut Keywright, name: &str, include: Vec<String>| {
        let path = dir.path().join(name);
        kw.export_license_file(
            &ExportLicenseFile {
                license_id: license.id.clone(),
                path: path.display().to_string(),
                include,
                ..Default::default()
            },
            now(),
        )
        .map(|_| std::fs::read_to_string(&path).unwrap())
    };

    // Without includes, the application cannot see entitlements offline.
    let plain = export(&mut kw, "plain.lic", vec![]).unwrap();
    let result = validate(&plain, &["EXPORT_PDF"]);
    assert_eq!(result.code, ValidationCode::EntitlementsMissing);
    assert!(result.license.unwrap().included.is_empty());

    let text = export(
        &mut kw,
        "full.lic",
        vec![
            "entitlements,product".into(),
            "owner".into(),
            " policy ".into(),
        ],
    )
    .unwrap();
    let result = validate(&text, &["EXPORT_PDF", "TEAM_SYNC"]);
    assert_eq!(result.code, ValidationCode::Valid, "{}", result.message);
    let view = result.license.unwrap();
    let kinds: Vec<&str> = view.included.iter().map(|r| r.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "products",
            "policies",
            "users",
            "entitlements",
            "entitlements"
        ],
        "Keygen's order, whatever order they were asked in"
    );
    assert_eq!(view.included[0].id, product.id);
    assert_eq!(view.included[0].attribute_str("code"), Some("ZAPPER-PRO"));
    assert_eq!(view.included[1].attributes["maxMachines"], 2);
    assert_eq!(
        view.included[2].attribute_str("email"),
        Some("ada@example.com")
    );
    assert_eq!(view.entitlements, ["EXPORT_PDF", "TEAM_SYNC"]);
    let missing = validate(&text, &["SSO"]);
    assert_eq!(missing.code, ValidationCode::EntitlementsMissing);

    // Entitlement ids are stable across exports.
    let again = export(&mut kw, "again.lic", vec!["entitlements".into()]).unwrap();
    let again = validate(&again, &[]);
    let ids = |v: &LicenseView| -> Vec<String> {
        v.included
            .iter()
            .filter(|r| r.kind == "entitlements")
            .map(|r| r.id.clone())
            .collect()
    };
    assert_eq!(ids(again.license.as_ref().unwrap()), ids(&view));

    let signed = kw.audit_events().unwrap().pop().unwrap();
    assert_eq!(signed.action, "license_file.sign");
    let detail: serde_json::Value = serde_json::from_str(&signed.detail).unwrap();
    assert_eq!(detail["include"], serde_json::json!(["entitlements"]));

    // What Keywright does not have is refused, naming what it has; nothing written.
    let audit = count(&kw, "audit_events");
    for (bad, needle) in [
        ("group", "no license groups"),
        ("machines", "product, policy, owner, entitlements"),
    ] {
        let err = export(&mut kw, "bad.lic", vec![bad.into()]).unwrap_err();
        assert_eq!(err.code, ErrorCode::BadInput, "{err}");
        assert!(err.message.contains(needle), "{err}");
    }
    assert!(!dir.path().join("bad.lic").exists());
    assert_eq!(count(&kw, "audit_events"), audit);
}
