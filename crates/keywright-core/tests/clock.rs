//! The signer refuses to sign when this computer's clock is earlier than the newest
//! audit entry (the clock was set back), and writes nothing.

mod common;

use jiff::Timestamp;
use keywright_core::*;

use common::at;

#[test]
fn a_clock_set_back_stops_signing() {
    let dir = tempfile::tempdir().unwrap();
    let store = common::open_store(&dir.path().join("store.db"));
    let mut kw = Keywright::with_vault(store, Box::<MemoryVault>::default(), "tester");
    let today = at("2026-11-23T10:00:00Z");
    kw.create_signing_key(
        &NewSigningKey {
            name: "Main".into(),
            algorithm: KeyAlgorithm::Ed25519,
        },
        today,
    )
    .unwrap();
    kw.create_product(
        &NewProduct {
            name: "Zapper".into(),
            ..Default::default()
        },
        today,
    )
    .unwrap();
    let policy = kw
        .create_policy(
            &NewPolicy {
                product_id: "ZAPPER".into(),
                name: "Yearly".into(),
                ..Default::default()
            },
            today,
        )
        .unwrap();
    let issue = |kw: &mut Keywright, when: Timestamp| {
        kw.issue_license(
            &IssueLicense {
                policy_id: policy.id.clone(),
                ..Default::default()
            },
            when,
        )
    };
    let license = issue(&mut kw, today).unwrap();
    let rows = kw.audit_events().unwrap().len();

    // An hour earlier than the last signature: refused, nothing written.
    let earlier = at("2026-11-23T09:00:00Z");
    let err = issue(&mut kw, earlier).unwrap_err();
    assert_eq!(err.code, ErrorCode::ClockBehind, "{err}");
    assert!(err.message.contains("set back"), "{err}");
    let path = dir.path().join("x.lic");
    let err = kw
        .export_license_file(
            &ExportLicenseFile {
                license_id: license.id.clone(),
                path: path.display().to_string(),
                ..Default::default()
            },
            earlier,
        )
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::ClockBehind);
    assert!(!path.exists());
    assert_eq!(kw.list_licenses().unwrap().len(), 1);
    assert_eq!(kw.audit_events().unwrap().len(), rows);

    // The same instant and later sign as usual.
    issue(&mut kw, today).unwrap();
    issue(&mut kw, at("2026-11-23T10:00:01Z")).unwrap();
}
