//! Policy options (expiration strategy, strict, offline grace, transfer rule) and a
//! license's own entitlements: stored, refused when bad, enforced by core, and
//! carried in exported files so the SDK applies them offline; the validation
//! simulator follows them and can simulate an old file (FILE_EXPIRED).

mod common;

use std::sync::Arc;

use jiff::Timestamp;
use keywright_core::*;
use keywright_license::{FileAlgorithm, Validation, ValidationCode, Verifier};

const FP1: &str = "fp-1111aaaa";
const FP2: &str = "fp-2222bbbb";

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn now() -> Timestamp {
    at("2026-11-23T10:00:00Z")
}

struct Fixture {
    dir: tempfile::TempDir,
    kw: Keywright,
    key: SigningKey,
    product: Product,
}

impl Fixture {
    fn rows(&self) -> (i64, i64, i64) {
        let raw = common::Raw::of(&self.kw);
        let count = |table: &str| raw.count(table);
        (count("policies"), count("machines"), count("audit_events"))
    }

    fn policy(&mut self, name: &str, edit: impl FnOnce(&mut NewPolicy)) -> Policy {
        let mut input = NewPolicy {
            product_id: self.product.id.clone(),
            name: name.into(),
            duration: Some("1d".into()),
            file_ttl: Some("none".into()),
            floating: true,
            max_machines: Some(2),
            ..Default::default()
        };
        edit(&mut input);
        self.kw.create_policy(&input, now()).unwrap()
    }

    fn issue(&mut self, policy: &Policy) -> License {
        self.kw
            .issue_license(
                &IssueLicense {
                    policy_id: policy.id.clone(),
                    customer_email: Some("ada@example.com".into()),
                    ..Default::default()
                },
                now(),
            )
            .unwrap()
    }

    /// Exports the license file (`include`) and validates it with the SDK at `when`.
    fn validate(
        &mut self,
        license: &License,
        include: &[&str],
        required: &[&str],
        when: Timestamp,
    ) -> Validation {
        let out = self.dir.path().join("license.lic").display().to_string();
        self.kw
            .export_license_file(
                &ExportLicenseFile {
                    license_id: license.id.clone(),
                    path: out.clone(),
                    include: include.iter().map(|s| s.to_string()).collect(),
                    encrypt: Some(true),
                    ..Default::default()
                },
                now(),
            )
            .unwrap();
        let text = std::fs::read_to_string(&out).unwrap();
        let public = self.kw.public_key(&self.key.kid).unwrap();
        let alg = FileAlgorithm::Aes256GcmEd25519;
        Verifier::pinned(&public, alg, when)
            .license_key(&license.key)
            .product(&self.product.id)
            .entitlements(required.iter().copied())
            .validate(&text)
    }

    fn simulate(&self, license: &License, when: &str, issued: Option<&str>) -> String {
        self.kw
            .simulate_validation(&SimulateValidation {
                license_id: license.id.clone(),
                at: when.into(),
                file_issued_at: issued.map(str::to_owned),
                ..Default::default()
            })
            .unwrap()
            .code
    }
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = common::open_store(&dir.path().join("store.db"));
    let vault = Arc::<MemoryVault>::default();
    let mut kw = Keywright::with_vault(store, Box::new(vault), "tester");
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
                ..Default::default()
            },
            now(),
        )
        .unwrap();
    Fixture {
        dir,
        kw,
        key,
        product,
    }
}

#[test]
fn options_are_stored_with_keygen_defaults() {
    let mut f = fixture();
    let plain = f.policy("Plain", |_| {});
    assert_eq!(
        plain.expiration_strategy,
        ExpirationStrategy::RestrictAccess
    );
    assert!(!plain.strict);
    assert_eq!(plain.offline_grace_seconds, None);
    assert!(
        plain.allow_transfer,
        "transfers are allowed unless forbidden"
    );

    let set = f.policy("Set", |p| {
        p.expiration_strategy = Some(ExpirationStrategy::MaintainAccess);
        p.strict = true;
        p.offline_grace = Some("7d".into());
        p.allow_transfer = Some(false);
    });
    let again = f.kw.find_policy(&set.id).unwrap();
    assert_eq!(
        again.expiration_strategy,
        ExpirationStrategy::MaintainAccess
    );
    assert!(again.strict);
    assert_eq!(again.offline_grace_seconds, Some(7 * 86_400));
    assert!(!again.allow_transfer);
    assert_eq!(
        ExpirationStrategy::parse("allow-access"),
        Some(ExpirationStrategy::AllowAccess)
    );
    assert_eq!(ExpirationStrategy::parse("SOMETIMES"), None);

    // A bad grace is refused by name and writes nothing.
    let before = f.rows();
    for bad in ["soon", "0d", "-3d"] {
        let err =
            f.kw.create_policy(
                &NewPolicy {
                    product_id: f.product.id.clone(),
                    name: "Bad".into(),
                    offline_grace: Some(bad.into()),
                    ..Default::default()
                },
                now(),
            )
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::BadInput, "{bad}");
        assert!(err.message.contains("offline grace"), "{}", err.message);
    }
    assert_eq!(f.rows(), before);
}

#[test]
fn transfer_rule_is_enforced() {
    let mut f = fixture();
    let locked = f.policy("No transfer", |p| p.allow_transfer = Some(false));
    let license = f.issue(&locked);
    let machine =
        f.kw.activate_machine(
            &ActivateMachine {
                license_id: license.id.clone(),
                fingerprint: FP1.into(),
                ..Default::default()
            },
            now(),
        )
        .unwrap();
    let before = f.rows();
    let err =
        f.kw.transfer_machine(
            &TransferMachine {
                machine_id: machine.id.clone(),
                fingerprint: FP2.into(),
                ..Default::default()
            },
            now(),
        )
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::TransferNotAllowed);
    assert!(err.message.contains("No transfer"), "{}", err.message);
    assert_eq!(f.rows(), before, "a refused transfer writes nothing");
    assert_eq!(
        f.kw.find_machine(&machine.id).unwrap().status,
        MachineStatus::Active
    );

    // The default policy still transfers.
    let open = f.policy("Transfers", |_| {});
    let license = f.issue(&open);
    let machine =
        f.kw.activate_machine(
            &ActivateMachine {
                license_id: license.id.clone(),
                fingerprint: FP1.into(),
                ..Default::default()
            },
            now(),
        )
        .unwrap();
    let moved =
        f.kw.transfer_machine(
            &TransferMachine {
                machine_id: machine.id.clone(),
                fingerprint: FP2.into(),
                ..Default::default()
            },
            now(),
        )
        .unwrap();
    assert_eq!(moved.fingerprint, FP2);
}

#[test]
fn expiration_strategy_reaches_the_sdk_and_the_simulator() {
    let mut f = fixture();
    let restrict = f.policy("Restrict", |_| {});
    let maintain = f.policy("Maintain", |p| {
        p.expiration_strategy = Some(ExpirationStrategy::MaintainAccess);
        p.strict = true;
    });
    let restricted = f.issue(&restrict);
    let maintained = f.issue(&maintain);
    // The licenses last one day; two days later they are expired.
    let later = at("2026-11-25T10:00:00Z");

    let v = f.validate(&restricted, &[], &[], later);
    assert_eq!(v.code, ValidationCode::Expired, "{}", v.message);
    // MAINTAIN_ACCESS comes from the file (the SDK's caller asked for the default).
    let v = f.validate(&maintained, &[], &[], later);
    assert_eq!(v.code, ValidationCode::Valid, "{}", v.message);
    let view = v.license.unwrap();
    assert!(view.expired);
    assert_eq!(
        view.expiration_strategy,
        Some(keywright_license::ExpirationStrategy::MaintainAccess)
    );
    assert_eq!(view.strict, Some(true));
    let policy = view
        .included
        .iter()
        .find(|r| r.kind == "policies")
        .expect("the policy is included when its options must reach the application");
    assert_eq!(
        policy.attribute_str("expirationStrategy"),
        Some("MAINTAIN_ACCESS")
    );
    assert_eq!(policy.attributes["strict"], serde_json::json!(true));
    // Before expiry both are valid.
    let v = f.validate(&restricted, &[], &[], now());
    assert_eq!(v.code, ValidationCode::Valid);
    // A default policy's file does not grow an `included` it was not asked for.
    assert!(v.license.unwrap().included.is_empty());

    assert_eq!(f.simulate(&restricted, "2026-11-25", None), "EXPIRED");
    assert_eq!(f.simulate(&maintained, "2026-11-25", None), "VALID");
    // Machine files carry the policy too.
    for (license, code) in [(&restricted, "EXPIRED"), (&maintained, "VALID")] {
        let machine =
            f.kw.activate_machine(
                &ActivateMachine {
                    license_id: license.id.clone(),
                    fingerprint: FP1.into(),
                    ..Default::default()
                },
                now(),
            )
            .unwrap();
        let v =
            f.kw.simulate_validation(&SimulateValidation {
                license_id: license.id.clone(),
                machine_id: Some(machine.id.clone()),
                at: "2026-11-25".into(),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(v.code, code, "{}", v.message);
    }
    assert_eq!(
        f.simulate(&restricted, "2026-11-23T12:00:00Z", None),
        "VALID"
    );
}

#[test]
fn simulator_gives_file_expired_and_honours_grace() {
    let mut f = fixture();
    let short = f.policy("Short TTL", |p| {
        p.duration = None;
        p.file_ttl = Some("1d".into());
    });
    let graced = f.policy("Graced", |p| {
        p.duration = None;
        p.file_ttl = Some("1d".into());
        p.offline_grace = Some("7d".into());
    });
    let plain = f.issue(&short);
    let lenient = f.issue(&graced);
    let issued = Some("2026-11-23");

    // A fresh file is valid any day; one exported on the 23rd is not after a day.
    assert_eq!(f.simulate(&plain, "2026-12-20", None), "VALID");
    assert_eq!(f.simulate(&plain, "2026-11-23T20:00:00Z", issued), "VALID");
    assert_eq!(f.simulate(&plain, "2026-11-26", issued), "FILE_EXPIRED");
    // With 7 days of grace it keeps validating until issue + TTL + grace.
    assert_eq!(f.simulate(&lenient, "2026-11-26", issued), "VALID");
    assert_eq!(f.simulate(&lenient, "2026-12-01", issued), "VALID");
    assert_eq!(
        f.simulate(&lenient, "2026-12-01T00:00:01Z", issued),
        "FILE_EXPIRED"
    );
    let err =
        f.kw.simulate_validation(&SimulateValidation {
            license_id: plain.id.clone(),
            at: "2026-11-26".into(),
            file_issued_at: Some("last week".into()),
            ..Default::default()
        })
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::BadInput);

    // The exported file carries the grace; the SDK applies it.
    let v = f.validate(&lenient, &[], &[], at("2026-11-27T10:00:00Z"));
    assert_eq!(v.code, ValidationCode::Valid, "{}", v.message);
    assert!(v.license.as_ref().unwrap().in_grace);
    let v = f.validate(&lenient, &[], &[], at("2026-12-02T10:00:00Z"));
    assert_eq!(v.code, ValidationCode::FileExpired);
    let v = f.validate(&plain, &[], &[], at("2026-11-27T10:00:00Z"));
    assert_eq!(v.code, ValidationCode::FileExpired);
}

#[test]
fn license_entitlements_change_and_travel_in_files() {
    let mut f = fixture();
    let policy = f.policy("Pro", |p| {
        p.duration = None;
        p.entitlements = vec!["PRO".into()];
    });
    let license = f.issue(&policy);
    let inherited = f.kw.license_entitlements(&license.key).unwrap();
    assert_eq!(inherited.own, None);
    assert_eq!(inherited.effective, vec!["PRO".to_owned()]);

    let v = f.validate(&license, &["entitlements"], &["SSO"], now());
    assert_eq!(v.code, ValidationCode::EntitlementsMissing);

    let before = f.rows();
    let changed =
        f.kw.set_license_entitlements(
            &SetLicenseEntitlements {
                license_id: license.id.clone(),
                codes: Some(vec!["PRO,SSO".into(), "SSO".into()]),
            },
            now(),
        )
        .unwrap();
    assert_eq!(changed.own, Some(vec!["PRO".to_owned(), "SSO".to_owned()]));
    assert_eq!(changed.effective, changed.own.clone().unwrap());
    assert_eq!(changed.policy, vec!["PRO".to_owned()]);
    assert_eq!(f.rows().2, before.2 + 1, "one audit row");
    let events =
        f.kw.list_audit(&keywright_core::audit::AuditQuery {
            subject_id: Some(license.id.clone()),
            ..Default::default()
        })
        .unwrap();
    assert!(events.iter().any(|e| e.action == "license.entitlements"));

    let v = f.validate(&license, &["entitlements"], &["SSO"], now());
    assert_eq!(v.code, ValidationCode::Valid, "{}", v.message);
    let sim = |f: &Fixture, required: &str| {
        f.kw.simulate_validation(&SimulateValidation {
            license_id: license.id.clone(),
            at: "2026-11-24".into(),
            required_entitlements: vec![required.into()],
            ..Default::default()
        })
        .unwrap()
        .code
    };
    assert_eq!(sim(&f, "SSO"), "VALID");

    // Bad codes are refused and change nothing.
    let err =
        f.kw.set_license_entitlements(
            &SetLicenseEntitlements {
                license_id: license.id.clone(),
                codes: Some(vec!["no spaces please".into()]),
            },
            now(),
        )
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::BadInput);
    assert_eq!(
        f.kw.license_entitlements(&license.id).unwrap().effective,
        vec!["PRO".to_owned(), "SSO".to_owned()]
    );

    // Back to the policy's: SSO is gone from files and the simulator.
    let back =
        f.kw.set_license_entitlements(
            &SetLicenseEntitlements {
                license_id: license.id.clone(),
                codes: None,
            },
            now(),
        )
        .unwrap();
    assert_eq!(back.own, None);
    let v = f.validate(&license, &["entitlements"], &["SSO"], now());
    assert_eq!(v.code, ValidationCode::EntitlementsMissing);
    assert_eq!(sim(&f, "SSO"), "ENTITLEMENTS_MISSING");
    assert_eq!(sim(&f, "PRO"), "VALID");

    // An empty own list means none, not the policy's.
    f.kw.set_license_entitlements(
        &SetLicenseEntitlements {
            license_id: license.id.clone(),
            codes: Some(vec![]),
        },
        now(),
    )
    .unwrap();
    assert_eq!(sim(&f, "PRO"), "ENTITLEMENTS_MISSING");
    let err =
        f.kw.set_license_entitlements(
            &SetLicenseEntitlements {
                license_id: "nope".into(),
                codes: None,
            },
            now(),
        )
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::NotFound);
}

#[test]
fn search_pages_count_active_machines() {
    let mut f = fixture();
    let policy = f.policy("Seats", |p| p.max_machines = Some(5));
    let busy = f.issue(&policy);
    let idle = f.issue(&policy);
    for fp in [FP1, FP2, "fp-3"] {
        f.kw.activate_machine(
            &ActivateMachine {
                license_id: busy.id.clone(),
                fingerprint: fp.into(),
                ..Default::default()
            },
            now(),
        )
        .unwrap();
    }
    let gone =
        f.kw.list_machines(&busy.id, jiff::Timestamp::now())
            .unwrap()[0]
            .id
            .clone();
    f.kw.deactivate_machine(&gone, now()).unwrap();
    let page =
        f.kw.search_licenses(&LicenseQuery::default(), now())
            .unwrap();
    let count = |id: &str| {
        page.items
            .iter()
            .find(|l| l.id == id)
            .unwrap()
            .machines_count
    };
    assert_eq!(
        count(&busy.id),
        Some(2),
        "deactivated machines do not count"
    );
    assert_eq!(count(&idle.id), Some(0));
}
