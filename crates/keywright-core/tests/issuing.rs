//! The issuing path end to end over a real SQLite file, with an in-memory vault (the
//! real OS keychain is exercised by `keychain.rs` and the CLI flow test).

mod common;

use jiff::Timestamp;
use keywright_core::verify::{verify, VerifyRequest};
use keywright_core::*;
use keywright_license::ValidationCode;

use common::TestStore as Fixture;

/// Microseconds on purpose: the store and the files keep milliseconds.
fn now() -> Timestamp {
    "2026-11-23T10:00:00.123456Z".parse().unwrap()
}

fn fixture() -> Fixture {
    Fixture::new()
}

fn setup(kw: &mut Keywright, encrypt: bool) -> (SigningKey, Product, Policy) {
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
                support_message: Some("Write to support@zapper.example".into()),
                ..Default::default()
            },
            now(),
        )
        .unwrap();
    let policy = kw
        .create_policy(
            &NewPolicy {
                product_id: product.code.clone(),
                name: "Yearly".into(),
                duration: Some("1y".into()),
                max_machines: Some(3),
                floating: true,
                file_ttl: Some("30d".into()),
                encrypt,
                entitlements: vec!["EXPORT_PDF".into()],
                ..Default::default()
            },
            now(),
        )
        .unwrap();
    (key, product, policy)
}

fn count(kw: &Keywright, table: &str) -> i64 {
    common::Raw::of(kw).count(table)
}

#[test]
fn issue_and_export_verify_with_the_public_key() {
    let mut f = fixture();
    let (key, product, policy) = setup(&mut f.kw, true);
    assert_eq!(product.code, "ZAPPER-PRO");
    assert_eq!(product.signing_key_id, key.id);
    assert_eq!(policy.duration_seconds, Some(31_556_952));
    assert_eq!(policy.file_ttl_seconds, Some(2_592_000));

    let license =
        f.kw.issue_license(
            &IssueLicense {
                policy_id: policy.id.clone(),
                customer_name: Some("Ada Lovelace".into()),
                customer_email: Some("ada@example.com".into()),
                metadata: Some(r#"{"order":"1234"}"#.into()),
                ..Default::default()
            },
            now(),
        )
        .unwrap();
    assert!(license.key.starts_with("key/"), "{}", license.key);
    assert_eq!(license.customer_email.as_deref(), Some("ada@example.com"));
    assert_eq!(license.created_at, "2026-11-23T10:00:00.123Z");
    // One calendar year later, as Keygen computes it.
    assert_eq!(license.expiry.as_deref(), Some("2027-11-23T10:00:00.123Z"));

    // The key verifies and carries Keygen's default dataset.
    let report = verify(
        &VerifyRequest {
            key: Some(license.key.clone()),
            public_key: key.public_key_hex.clone(),
            ..Default::default()
        },
        now(),
    )
    .unwrap();
    assert_eq!(report.code, ValidationCode::Valid, "{report:?}");
    let dataset = report.payload.unwrap();
    assert_eq!(dataset["license"]["id"], license.id.as_str());
    assert_eq!(dataset["policy"]["duration"], 31_556_952);
    assert_eq!(dataset["user"]["email"], "ada@example.com");
    assert_eq!(
        dataset["account"]["id"],
        f.kw.store_info().store_id.as_str()
    );

    // The exported file verifies with the license key, and only with it.
    let path = f.file("ada.lic");
    let exported =
        f.kw.export_license_file(
            &ExportLicenseFile {
                license_id: license.id.clone(),
                path: path.display().to_string(),
                ..Default::default()
            },
            now(),
        )
        .unwrap();
    assert_eq!(exported.algorithm, "aes-256-gcm+ed25519");
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(exported.bytes, text.len() as u64);
    assert!(text.starts_with("-----BEGIN LICENSE FILE-----\n"));
    assert!(text.ends_with("\n-----END LICENSE FILE-----\n"));
    assert!(text
        .lines()
        .skip(1)
        .all(|l| l.len() <= 60 || l.starts_with("-----")));

    let check = |license_key: Option<&str>, at: Timestamp| {
        verify(
            &VerifyRequest {
                file: Some(text.clone()),
                public_key: key.public_key_pem.clone(),
                license_key: license_key.map(str::to_owned),
                ..Default::default()
            },
            at,
        )
        .unwrap()
    };
    let ok = check(Some(&license.key), now());
    assert_eq!(ok.code, ValidationCode::Valid, "{ok:?}");
    let payload = ok.payload.unwrap();
    assert_eq!(payload["data"]["id"], license.id.as_str());
    assert_eq!(payload["data"]["attributes"]["key"], license.key.as_str());
    assert_eq!(payload["data"]["attributes"]["maxMachines"], 3);
    assert_eq!(payload["data"]["attributes"]["metadata"]["order"], "1234");
    assert_eq!(payload["meta"]["ttl"], 2_592_000);
    assert_eq!(
        check(Some("key/wrong"), now()).code,
        ValidationCode::DecryptionFailed
    );
    let later: Timestamp = "2027-01-01T00:00:00Z".parse().unwrap();
    assert_eq!(
        check(Some(&license.key), later).code,
        ValidationCode::FileExpired
    );
    let earlier: Timestamp = "2026-11-22T00:00:00Z".parse().unwrap();
    assert_eq!(
        check(Some(&license.key), earlier).code,
        ValidationCode::ClockTampered
    );

    // Every signature has its audit row with the artifact's digest, and the chain holds.
    let events = f.kw.audit_events().unwrap();
    let actions: Vec<_> = events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "key.create",
            "product.create",
            "policy.create",
            "customer.create",
            "license.issue",
            "license_file.sign"
        ]
    );
    let file_event = events.last().unwrap();
    assert_eq!(
        file_event.artifact_sha256.as_deref(),
        Some(exported.sha256.as_str())
    );
    assert_eq!(
        file_event.signing_key_kid.as_deref(),
        Some(key.kid.as_str())
    );
    assert_eq!(file_event.actor, "tester");
    assert_eq!(f.kw.verify_audit().unwrap(), 6);
}

#[test]
fn unencrypted_export_and_reused_customer() {
    let mut f = fixture();
    let (key, _, policy) = setup(&mut f.kw, false);
    let issue = |kw: &mut Keywright| {
        kw.issue_license(
            &IssueLicense {
                policy_id: "Yearly".into(),
                customer_email: Some("bob@example.com".into()),
                ..Default::default()
            },
            now(),
        )
        .unwrap()
    };
    let a = issue(&mut f.kw);
    let b = issue(&mut f.kw);
    assert_ne!(a.key, b.key);
    assert_eq!(a.customer_id, b.customer_id, "same email, same customer");
    assert_eq!(count(&f.kw, "customers"), 1);
    assert_eq!(a.policy_id, policy.id);

    let path = f.file("bob.lic");
    let out =
        f.kw.export_license_file(
            &ExportLicenseFile {
                license_id: a.key.clone(),
                path: path.display().to_string(),
                ttl: Some("none".into()),
                encrypt: None,
                algorithm: None,
                include: Vec::new(),
            },
            now(),
        )
        .unwrap();
    assert_eq!(out.algorithm, "base64+ed25519");
    let report = verify(
        &VerifyRequest {
            file: Some(std::fs::read_to_string(&path).unwrap()),
            public_key: key.public_key_hex,
            ..Default::default()
        },
        "2090-01-01T00:00:00Z".parse().unwrap(),
    )
    .unwrap();
    // No TTL: the file never expires; the license inside it (one year) has, and
    // verify judges it as the SDK's validation does.
    assert_eq!(report.code, ValidationCode::Expired, "{}", report.message);
    assert!(report.meta.unwrap().expiry.is_none());
}

#[test]
fn keychain_failure_writes_nothing() {
    let mut f = fixture();
    let (_, _, policy) = setup(&mut f.kw, true);
    let before_audit = count(&f.kw, "audit_events");

    for code in [
        ErrorCode::KeychainUnavailable,
        ErrorCode::KeychainEntryMissing,
    ] {
        f.vault.fail_with(Some(code));
        let err =
            f.kw.issue_license(
                &IssueLicense {
                    policy_id: policy.id.clone(),
                    customer_name: Some("Eve".into()),
                    customer_email: Some("eve@example.com".into()),
                    ..Default::default()
                },
                now(),
            )
            .unwrap_err();
        assert_eq!(err.code, code, "{err}");
        assert_eq!(count(&f.kw, "licenses"), 0);
        assert_eq!(count(&f.kw, "customers"), 0);
        assert_eq!(count(&f.kw, "audit_events"), before_audit);
    }

    // A key deleted from the keychain behind our back: specific code, no row.
    f.vault.fail_with(None);
    let kid = f.kw.list_signing_keys().unwrap()[0].kid.clone();
    f.vault.remove(&kid).unwrap();
    let err =
        f.kw.issue_license(
            &IssueLicense {
                policy_id: policy.id.clone(),
                ..Default::default()
            },
            now(),
        )
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::KeychainEntryMissing);
    assert_eq!(count(&f.kw, "licenses"), 0);
}

#[test]
fn swapped_keychain_entry_refuses_to_sign() {
    let mut f = fixture();
    let (key, _, policy) = setup(&mut f.kw, true);
    f.vault.put(&key.kid, &[7u8; 32]).unwrap();
    let err =
        f.kw.issue_license(
            &IssueLicense {
                policy_id: policy.id,
                ..Default::default()
            },
            now(),
        )
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::KeychainMismatch, "{err}");
    assert_eq!(count(&f.kw, "licenses"), 0);
}

#[test]
fn key_creation_with_no_keychain_writes_nothing() {
    let mut f = fixture();
    f.vault.fail_with(Some(ErrorCode::KeychainUnavailable));
    let err =
        f.kw.create_signing_key(
            &NewSigningKey {
                name: "k".into(),
                algorithm: KeyAlgorithm::Ed25519,
            },
            now(),
        )
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::KeychainUnavailable);
    assert_eq!(count(&f.kw, "signing_keys"), 0);
    assert_eq!(count(&f.kw, "audit_events"), 0);
}

#[test]
fn bad_input_is_specific_and_changes_nothing() {
    let mut f = fixture();
    let (_, product, policy) = setup(&mut f.kw, true);
    let audit_before = count(&f.kw, "audit_events");

    let bad_policy =
        |name: &str, duration: Option<&str>, ttl: Option<&str>, max: Option<i64>| NewPolicy {
            product_id: product.id.clone(),
            name: name.into(),
            duration: duration.map(Into::into),
            file_ttl: ttl.map(Into::into),
            max_machines: max,
            ..Default::default()
        };
    let cases = [
        (bad_policy("", None, None, None), "policy name is required"),
        (
            bad_policy("x", Some("12 parsecs"), None, None),
            "unknown unit",
        ),
        (bad_policy("x", None, Some("10m"), None), "at least 1 hour"),
        (bad_policy("x", None, None, Some(0)), "at least 1"),
        (
            bad_policy("Yearly", None, None, None),
            "already has a policy",
        ),
    ];
    for (input, needle) in cases {
        let err = f.kw.create_policy(&input, now()).unwrap_err();
        assert!(err.message.contains(needle), "{needle:?} not in {err}");
        assert!(matches!(
            err.code,
            ErrorCode::BadInput | ErrorCode::Conflict
        ));
    }

    let issue = |email: Option<&str>, metadata: Option<&str>| IssueLicense {
        policy_id: policy.id.clone(),
        customer_email: email.map(Into::into),
        metadata: metadata.map(Into::into),
        ..Default::default()
    };
    for (input, needle) in [
        (issue(Some("not-an-email"), None), "not an email"),
        (issue(None, Some("[1,2]")), "JSON object"),
        (issue(None, Some("{oops")), "not valid JSON"),
    ] {
        let err = f.kw.issue_license(&input, now()).unwrap_err();
        assert_eq!(err.code, ErrorCode::BadInput);
        assert!(err.message.contains(needle), "{needle:?} not in {err}");
    }
    let err =
        f.kw.issue_license(
            &IssueLicense {
                policy_id: "nope".into(),
                ..Default::default()
            },
            now(),
        )
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::NotFound);

    let dup =
        f.kw.create_product(
            &NewProduct {
                name: "Zapper Pro".into(),
                ..Default::default()
            },
            now(),
        )
        .unwrap_err();
    assert_eq!(dup.code, ErrorCode::Conflict);

    assert_eq!(count(&f.kw, "licenses"), 0);
    assert_eq!(count(&f.kw, "policies"), 1);
    assert_eq!(count(&f.kw, "audit_events"), audit_before);
}

#[test]
fn export_to_an_unwritable_place_leaves_no_audit_row() {
    let mut f = fixture();
    let (_, _, policy) = setup(&mut f.kw, true);
    let license =
        f.kw.issue_license(
            &IssueLicense {
                policy_id: policy.id,
                ..Default::default()
            },
            now(),
        )
        .unwrap();
    let before = count(&f.kw, "audit_events");
    let err =
        f.kw.export_license_file(
            &ExportLicenseFile {
                license_id: license.id,
                path: f.file("missing-folder").join("x.lic").display().to_string(),
                ..Default::default()
            },
            now(),
        )
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::Io, "{err}");
    assert_eq!(count(&f.kw, "audit_events"), before);
}

#[test]
fn audit_chain_detects_edits_and_deletions() {
    let mut f = fixture();
    setup(&mut f.kw, true);
    assert_eq!(f.kw.verify_audit().unwrap(), 3);
    let conn = common::Raw::of(&f.kw);
    conn.execute(
        "UPDATE audit_events SET actor = 'mallory' WHERE seq = 2",
        &[],
    );
    let err = f.kw.verify_audit().unwrap_err();
    assert!(err.message.contains("row 2"), "{err}");
    conn.execute(
        "UPDATE audit_events SET actor = 'tester' WHERE seq = 2",
        &[],
    );
    assert_eq!(f.kw.verify_audit().unwrap(), 3);
    conn.execute("DELETE FROM audit_events WHERE seq = 2", &[]);
    let err = f.kw.verify_audit().unwrap_err();
    assert!(err.message.contains("row 2 is missing"), "{err}");
}
