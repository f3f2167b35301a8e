//! Suspend, reinstate, revoke and renew: state rules, audit rows, and what an exported
//! license file says afterwards.

mod common;

use keywright_core::verify::{verify, VerifyRequest};
use keywright_core::*;

use common::{at, now, TestStore};

struct Fixture {
    dir: tempfile::TempDir,
    kw: Keywright,
    key: SigningKey,
}

fn fixture() -> Fixture {
    let mut s = TestStore::new();
    let key = s.key("Main");
    let product = s.product("Zapper");
    s.policy(&product, "Yearly", Some("1y"));
    s.policy(&product, "Forever", None);
    Fixture {
        dir: s.dir,
        kw: s.kw,
        key,
    }
}

fn issue(kw: &mut Keywright, policy: &str) -> License {
    kw.issue_license(
        &IssueLicense {
            policy_id: policy.into(),
            customer_name: Some("Ada".into()),
            customer_email: Some("ada@example.com".into()),
            ..Default::default()
        },
        now(),
    )
    .unwrap()
}

fn last_event(kw: &Keywright) -> audit::AuditEvent {
    kw.audit_events().unwrap().pop().unwrap()
}

#[test]
fn suspend_reinstate_revoke_follow_the_rules_and_are_audited() {
    let mut f = fixture();
    let license = issue(&mut f.kw, "Yearly");
    let later = at("2026-12-01T08:00:00Z");

    let suspended = f.kw.suspend_license(&license.id, later).unwrap();
    assert_eq!(suspended.status, LicenseStatus::Suspended);
    assert_eq!(suspended.updated_at, "2026-12-01T08:00:00.000Z");
    assert_eq!(suspended.key, license.key, "the key never changes");
    let e = last_event(&f.kw);
    assert_eq!(e.action, "license.suspend");
    assert_eq!(e.subject_id.as_deref(), Some(license.id.as_str()));
    let detail: serde_json::Value = serde_json::from_str(&e.detail).unwrap();
    assert_eq!(detail["before"]["status"], "active");
    assert_eq!(detail["after"]["status"], "suspended");

    let rows = f.kw.audit_events().unwrap().len();
    let err = f.kw.suspend_license(&license.key, later).unwrap_err();
    assert_eq!(err.code, ErrorCode::Conflict);
    assert!(err.message.contains("already suspended"), "{err}");
    assert_eq!(f.kw.audit_events().unwrap().len(), rows, "nothing written");

    let active = f.kw.reinstate_license(&license.id, later).unwrap();
    assert_eq!(active.status, LicenseStatus::Active);
    assert_eq!(last_event(&f.kw).action, "license.reinstate");
    let err = f.kw.reinstate_license(&license.id, later).unwrap_err();
    assert_eq!(err.code, ErrorCode::Conflict, "{err}");

    let revoked = f.kw.revoke_license(&license.id, later).unwrap();
    assert_eq!(revoked.status, LicenseStatus::Revoked);
    assert_eq!(last_event(&f.kw).action, "license.revoke");
    let rows = f.kw.audit_events().unwrap().len();
    for err in [
        f.kw.reinstate_license(&license.id, later).unwrap_err(),
        f.kw.suspend_license(&license.id, later).unwrap_err(),
        f.kw.revoke_license(&license.id, later).unwrap_err(),
        f.kw.renew_license(
            &RenewLicense {
                license_id: license.id.clone(),
                by: "1y".into(),
            },
            later,
        )
        .unwrap_err(),
    ] {
        assert_eq!(err.code, ErrorCode::Conflict, "{err}");
    }
    assert_eq!(f.kw.audit_events().unwrap().len(), rows, "nothing written");
    assert_eq!(
        f.kw.find_license(&license.id).unwrap().status,
        LicenseStatus::Revoked
    );
    assert_eq!(f.kw.verify_audit().unwrap(), rows);

    let err = f.kw.suspend_license("no-such-license", later).unwrap_err();
    assert_eq!(err.code, ErrorCode::NotFound);
}

#[test]
fn renew_extends_from_the_later_of_now_and_expiry() {
    let mut f = fixture();
    let license = issue(&mut f.kw, "Yearly");
    assert_eq!(license.expiry.as_deref(), Some("2027-11-23T10:00:00.123Z"));
    // Issued now, before the renewals below move the audit log's clock forward (the
    // signer refuses to sign at a time earlier than the newest audit entry).
    let perpetual = issue(&mut f.kw, "Forever");
    let renew = |by: &str| RenewLicense {
        license_id: license.id.clone(),
        by: by.into(),
    };

    // Before expiry: counted from the current expiry, by the calendar.
    let renewed =
        f.kw.renew_license(&renew("1y"), at("2027-06-01T00:00:00Z"))
            .unwrap();
    assert_eq!(renewed.expiry.as_deref(), Some("2028-11-23T10:00:00.123Z"));
    assert_eq!(renewed.updated_at, "2027-06-01T00:00:00.000Z");
    assert_eq!(renewed.key, license.key);
    let e = last_event(&f.kw);
    assert_eq!(e.action, "license.renew");
    let detail: serde_json::Value = serde_json::from_str(&e.detail).unwrap();
    assert_eq!(detail["before"]["expiry"], "2027-11-23T10:00:00.123Z");
    assert_eq!(detail["after"]["expiry"], "2028-11-23T10:00:00.123Z");

    // After expiry: counted from now.
    let renewed =
        f.kw.renew_license(&renew("1mo"), at("2029-01-31T12:00:00Z"))
            .unwrap();
    assert_eq!(renewed.expiry.as_deref(), Some("2029-02-28T12:00:00.000Z"));

    // Suspended licenses can still be renewed; their status stays.
    f.kw.suspend_license(&license.id, now()).unwrap();
    let renewed = f.kw.renew_license(&renew("30d"), now()).unwrap();
    assert_eq!(renewed.status, LicenseStatus::Suspended);
    assert_eq!(renewed.expiry.as_deref(), Some("2029-03-30T12:00:00.000Z"));

    let rows = f.kw.audit_events().unwrap().len();
    for bad in ["", "soon", "0d", "-1y"] {
        let err = f.kw.renew_license(&renew(bad), now()).unwrap_err();
        assert_eq!(err.code, ErrorCode::BadInput, "{bad:?}: {err}");
    }
    let rows_after_issue = f.kw.audit_events().unwrap().len();
    assert_eq!(rows_after_issue, rows, "bad durations wrote nothing");
    let err =
        f.kw.renew_license(
            &RenewLicense {
                license_id: perpetual.id.clone(),
                by: "1y".into(),
            },
            now(),
        )
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::Conflict);
    assert!(err.message.contains("never expires"), "{err}");
    assert_eq!(f.kw.audit_events().unwrap().len(), rows_after_issue);
}

#[test]
fn exported_files_carry_the_new_status_and_expiry_but_the_key_does_not() {
    let mut f = fixture();
    let license = issue(&mut f.kw, "Yearly");
    f.kw.renew_license(
        &RenewLicense {
            license_id: license.id.clone(),
            by: "1y".into(),
        },
        now(),
    )
    .unwrap();
    f.kw.suspend_license(&license.id, now()).unwrap();
    let path = f.dir.path().join("ada.lic");
    f.kw.export_license_file(
        &ExportLicenseFile {
            license_id: license.id.clone(),
            path: path.display().to_string(),
            encrypt: Some(false),
            ..Default::default()
        },
        now(),
    )
    .unwrap();
    let report = verify(
        &VerifyRequest {
            file: Some(std::fs::read_to_string(&path).unwrap()),
            public_key: f.key.public_key_hex.clone(),
            ..Default::default()
        },
        now(),
    )
    .unwrap();
    let payload = report.payload.unwrap();
    let attributes = &payload["data"]["attributes"];
    assert_eq!(attributes["expiry"], "2028-11-23T10:00:00.123Z");
    assert_eq!(attributes["status"], "SUSPENDED");

    let key_report = verify(
        &VerifyRequest {
            key: Some(license.key.clone()),
            public_key: f.key.public_key_hex.clone(),
            ..Default::default()
        },
        now(),
    )
    .unwrap();
    assert_eq!(
        key_report.payload.unwrap()["license"]["expiry"],
        "2027-11-23T10:00:00.123Z",
        "the key's signed dataset keeps the original expiry"
    );
}
