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

/// A retirement scheduled ahead: the key signs until then, the dashboard names it (and
/// the products still signing with it) in the 30 days before, and from that time on it
/// no longer signs; rotating the product away or cancelling lets issuing go on.
#[test]
fn a_scheduled_retirement_warns_then_stops_the_key() {
    use common::at;
    let mut s = common::TestStore::new();
    let old = s.key("2026 key");
    let product = s.product("Zapper");
    let policy = s.policy(&product, "Yearly", Some("1y"));
    let issue = |kw: &mut Keywright, when: &str| {
        kw.issue_license(
            &IssueLicense {
                policy_id: policy.id.clone(),
                ..Default::default()
            },
            at(when),
        )
    };
    let t = at("2026-12-01T09:00:00Z");

    // What cannot be scheduled, each refused with nothing written.
    let rows =
        s.kw.list_audit(&audit::AuditQuery::default())
            .unwrap()
            .len();
    for (when, code, says) in [
        ("2026-11-30", ErrorCode::BadInput, "not after now"),
        ("next spring", ErrorCode::BadInput, "is not a time"),
    ] {
        let err =
            s.kw.schedule_key_retirement(&old.id, Some(when), t)
                .unwrap_err();
        assert_eq!(err.code, code, "{when}: {err}");
        assert!(err.message.contains(says), "{when}: {err}");
    }
    assert_eq!(
        s.kw.list_audit(&audit::AuditQuery::default())
            .unwrap()
            .len(),
        rows
    );

    let scheduled =
        s.kw.schedule_key_retirement(&old.kid, Some("2027-01-15"), t)
            .unwrap();
    assert_eq!(
        scheduled.retire_at.as_deref(),
        Some("2027-01-15T00:00:00.000Z")
    );
    assert_eq!(scheduled.status, KeyStatus::Active);
    let event = &s.kw.list_audit(&audit::AuditQuery::default()).unwrap()[0];
    assert_eq!(event.action, "key.schedule_retirement");
    assert!(event.detail.contains(&product.code), "{}", event.detail);

    // More than 30 days ahead: no warning yet; the key signs.
    let d = s.kw.dashboard(t).unwrap();
    assert!(d.attention.keys_retiring.is_empty());
    issue(&mut s.kw, "2026-12-01T10:00:00Z").unwrap();

    // Within 30 days: named, with the product still signing with it.
    let d = s.kw.dashboard(at("2027-01-01T00:00:00Z")).unwrap();
    let warned = &d.attention.keys_retiring;
    assert_eq!(warned.len(), 1);
    assert_eq!(warned[0].kid, old.kid);
    assert_eq!(warned[0].products, std::slice::from_ref(&product.code));
    assert!(!warned[0].retired);
    issue(&mut s.kw, "2027-01-14T23:59:59Z").unwrap();

    // From the time on: the key no longer signs, for licenses or products.
    let after = "2027-01-15T00:00:00Z";
    let err = issue(&mut s.kw, after).unwrap_err();
    assert_eq!(err.code, ErrorCode::Conflict, "{err}");
    assert!(
        err.message.contains("scheduled to retire at 2027-01-15"),
        "{err}"
    );
    let d = s.kw.dashboard(at(after)).unwrap();
    assert!(d.attention.keys_retiring[0].retired);
    let err =
        s.kw.create_product(
            &NewProduct {
                name: "Anvil".into(),
                signing_key_id: Some(old.id.clone()),
                ..Default::default()
            },
            at(after),
        )
        .unwrap_err();
    assert!(err.message.contains("no longer signs"), "{err}");

    // The product moves to a new key: it issues again, and the warning names no product.
    let new =
        s.kw.create_signing_key(
            &NewSigningKey {
                name: "2027 key".into(),
                algorithm: KeyAlgorithm::Ed25519,
            },
            at(after),
        )
        .unwrap();
    let err =
        s.kw.set_product_signing_key(&product.id, &old.id, at(after))
            .unwrap_err();
    assert!(err.message.contains("no longer signs"), "{err}");
    s.kw.set_product_signing_key(&product.id, &new.id, at(after))
        .unwrap();
    issue(&mut s.kw, "2027-01-15T00:00:01Z").unwrap();
    let signed = &s.kw.list_audit(&audit::AuditQuery::default()).unwrap()[0];
    assert_eq!(signed.action, "license.issue");
    assert_eq!(signed.signing_key_kid.as_deref(), Some(new.kid.as_str()));
    let d = s.kw.dashboard(at("2027-01-15T00:00:01Z")).unwrap();
    assert!(d.attention.keys_retiring[0].products.is_empty());

    // Cancelled: no longer named. A retired key cannot be scheduled.
    let cancelled =
        s.kw.schedule_key_retirement(&old.id, None, at("2027-01-16T00:00:00Z"))
            .unwrap();
    assert_eq!(cancelled.retire_at, None);
    let d = s.kw.dashboard(at("2027-01-16T00:00:00Z")).unwrap();
    assert!(d.attention.keys_retiring.is_empty());
    s.kw.retire_signing_key(&old.id, at("2027-01-16T00:00:01Z"))
        .unwrap();
    let err =
        s.kw.schedule_key_retirement(&old.id, Some("2027-06-01"), at("2027-01-16T00:00:02Z"))
            .unwrap_err();
    assert_eq!(err.code, ErrorCode::Conflict, "{err}");

    // The log proves every step (the retirement time is part of the key's state).
    let check = s.kw.check_audit().unwrap();
    assert!(check.intact, "{check:?}");
}
