//! What the activation server's Keygen API asks of the core: scoped validation with
//! Keygen's codes (order, strict policies, expiration strategies), check-outs signed
//! and audited as exports, machines seen by id or fingerprint, online deactivation.

mod common;

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use keywright_core::audit::AuditQuery;
use keywright_core::online::{ActivationOutcome, KeygenCode, OnlineActivation, ValidationScope};
use keywright_core::*;

struct Setup {
    _dir: tempfile::TempDir,
    kw: Keywright,
    product: Product,
}

fn setup(now: Timestamp) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let store = common::open_store(&dir.path().join("store.db"));
    let mut kw = Keywright::with_vault(store, Box::new(Arc::<MemoryVault>::default()), "t");
    kw.create_signing_key(
        &NewSigningKey {
            name: "Main".into(),
            algorithm: KeyAlgorithm::Ed25519,
        },
        now,
    )
    .unwrap();
    let product = kw
        .create_product(
            &NewProduct {
                name: "Zapper".into(),
                ..Default::default()
            },
            now,
        )
        .unwrap();
    Setup {
        _dir: dir,
        kw,
        product,
    }
}

fn policy(s: &mut Setup, name: &str, tweak: impl FnOnce(&mut NewPolicy), now: Timestamp) -> Policy {
    let mut input = NewPolicy {
        product_id: s.product.id.clone(),
        name: name.into(),
        duration: Some("30d".into()),
        entitlements: vec!["PDF".into()],
        ..Default::default()
    };
    tweak(&mut input);
    s.kw.create_policy(&input, now).unwrap()
}

fn issue(s: &mut Setup, policy: &Policy, now: Timestamp) -> License {
    s.kw.issue_license(
        &IssueLicense {
            policy_id: policy.id.clone(),
            customer_email: Some("ada@example.com".into()),
            ..Default::default()
        },
        now,
    )
    .unwrap()
}

fn activate(s: &mut Setup, license: &License, fingerprint: &str) {
    let outcome =
        s.kw.online_activate(
            &OnlineActivation {
                token: license.key.clone(),
                hwid: fingerprint.into(),
                refuse_active: true,
                ..Default::default()
            },
            Timestamp::now(),
        )
        .unwrap();
    assert!(
        matches!(outcome, ActivationOutcome::Activated { .. }),
        "{outcome:?}"
    );
}

fn code(s: &Setup, license: &License, scope: ValidationScope, at: Timestamp) -> (bool, KeygenCode) {
    let v =
        s.kw.validate_scoped(Some(s.kw.find_license(&license.id).unwrap()), &scope, at)
            .unwrap();
    (v.valid, v.code)
}

fn fp(list: &[&str]) -> ValidationScope {
    ValidationScope {
        fingerprints: Some(list.iter().map(|f| f.to_string()).collect()),
        ..Default::default()
    }
}

#[test]
fn scoped_validation_gives_keygen_s_codes_in_keygen_s_order() {
    let now = Timestamp::now();
    let mut s = setup(now);
    let node = policy(&mut s, "Node", |_| {}, now);
    let floating = policy(
        &mut s,
        "Floating",
        |p| {
            p.floating = true;
            p.max_machines = Some(2);
        },
        now,
    );
    let a = issue(&mut s, &node, now);
    let b = issue(&mut s, &floating, now);
    use KeygenCode as C;

    let none =
        s.kw.validate_scoped(None, &ValidationScope::default(), now)
            .unwrap();
    assert_eq!((none.valid, none.code), (false, C::NotFound));
    assert_eq!(
        code(&s, &a, ValidationScope::default(), now),
        (true, C::Valid)
    );
    assert_eq!(code(&s, &a, fp(&["x"]), now), (false, C::NoMachine));
    assert_eq!(code(&s, &b, fp(&["x"]), now), (false, C::NoMachines));
    assert_eq!(
        code(&s, &a, fp(&[]), now),
        (false, C::FingerprintScopeEmpty)
    );
    activate(&mut s, &a, "fp-a");
    activate(&mut s, &b, "fp-b1");
    assert_eq!(code(&s, &a, fp(&["fp-a"]), now), (true, C::Valid));
    assert_eq!(
        code(&s, &a, fp(&["fp-b1"]), now),
        (false, C::FingerprintScopeMismatch)
    );
    assert_eq!(
        code(&s, &b, fp(&["nope", "fp-b1"]), now),
        (true, C::Valid),
        "MATCH_ANY"
    );

    let product = |p: &str| ValidationScope {
        product: Some(p.into()),
        ..Default::default()
    };
    assert_eq!(
        code(&s, &a, product(&s.product.id.clone()), now),
        (true, C::Valid)
    );
    assert_eq!(
        code(&s, &a, product(&s.product.code.clone()), now),
        (true, C::Valid)
    );
    assert_eq!(
        code(&s, &a, product("other"), now),
        (false, C::ProductScopeMismatch)
    );
    let ent = |codes: &[&str]| ValidationScope {
        entitlements: Some(codes.iter().map(|c| c.to_string()).collect()),
        ..Default::default()
    };
    assert_eq!(code(&s, &a, ent(&["PDF"]), now), (true, C::Valid));
    assert_eq!(
        code(&s, &a, ent(&["PDF", "SYNC"]), now),
        (false, C::EntitlementsMissing)
    );
    assert_eq!(
        code(&s, &a, ent(&[]), now),
        (false, C::EntitlementsScopeEmpty)
    );
    let user = |u: &str| ValidationScope {
        user: Some(u.into()),
        ..Default::default()
    };
    assert_eq!(code(&s, &a, user("ADA@example.com"), now), (true, C::Valid));
    assert_eq!(
        code(&s, &a, user("bob@example.com"), now),
        (false, C::UserScopeMismatch)
    );
    let machine_id = s.kw.active_machines(&a.id).unwrap()[0].id.clone();
    let machine = |m: &str| ValidationScope {
        machine: Some(m.into()),
        ..Default::default()
    };
    assert_eq!(code(&s, &a, machine(&machine_id), now), (true, C::Valid));
    assert_eq!(
        code(&s, &b, machine(&machine_id), now),
        (false, C::MachineScopeMismatch)
    );
    // Scopes for what Keywright has none of never match.
    let env = ValidationScope {
        environment: Some("production".into()),
        ..Default::default()
    };
    assert_eq!(code(&s, &a, env, now), (false, C::EnvironmentScopeMismatch));
    let comps = ValidationScope {
        components: Some(vec!["gpu".into()]),
        ..fp(&["fp-a"])
    };
    assert_eq!(
        code(&s, &a, comps, now),
        (false, C::ComponentsScopeMismatch)
    );

    // Product mismatch comes before the fingerprint (Keygen's order); suspension first.
    let both = ValidationScope {
        product: Some("other".into()),
        ..fp(&["nope"])
    };
    assert_eq!(
        code(&s, &a, both.clone(), now),
        (false, C::ProductScopeMismatch)
    );
    s.kw.suspend_license(&a.id, now).unwrap();
    assert_eq!(code(&s, &a, both, now), (false, C::Suspended));
    s.kw.revoke_license(&a.id, now).unwrap();
    assert_eq!(
        code(&s, &a, ValidationScope::default(), now),
        (false, C::Banned)
    );
}

#[test]
fn strict_policies_and_expiration_strategies() {
    let then = Timestamp::now() - SignedDuration::from_hours(24 * 60);
    let now = Timestamp::now();
    let mut s = setup(then);
    use KeygenCode as C;
    let strict = policy(&mut s, "Strict", |p| p.strict = true, then);
    let restrict = policy(&mut s, "Restrict", |_| {}, then);
    let revoke = policy(
        &mut s,
        "Revoke",
        |p| p.expiration_strategy = Some(ExpirationStrategy::RevokeAccess),
        then,
    );
    let maintain = policy(
        &mut s,
        "Maintain",
        |p| p.expiration_strategy = Some(ExpirationStrategy::MaintainAccess),
        then,
    );
    // Issued 60 days ago on 30-day policies: expired.
    let r = issue(&mut s, &restrict, then);
    let v = issue(&mut s, &revoke, then);
    let m = issue(&mut s, &maintain, then);
    let fresh = issue(&mut s, &strict, now);
    assert_eq!(
        code(&s, &fresh, ValidationScope::default(), now),
        (false, C::NoMachine)
    );
    activate(&mut s, &fresh, "fp-1");
    let now = Timestamp::now();
    assert_eq!(
        code(&s, &fresh, ValidationScope::default(), now),
        (true, C::Valid)
    );

    assert_eq!(
        code(&s, &r, ValidationScope::default(), now),
        (false, C::Expired)
    );
    assert_eq!(
        code(&s, &m, ValidationScope::default(), now),
        (true, C::Expired)
    );
    // REVOKE_ACCESS is expired before any scope; RESTRICT_ACCESS checks the scope first.
    let other = ValidationScope {
        product: Some("other".into()),
        ..Default::default()
    };
    assert_eq!(code(&s, &v, other.clone(), now), (false, C::Expired));
    assert_eq!(code(&s, &r, other, now), (false, C::ProductScopeMismatch));
}

#[test]
fn check_outs_are_signed_and_audited_like_exports() {
    let now = Timestamp::now();
    let mut s = setup(now);
    let p = policy(&mut s, "Node", |p| p.file_ttl = Some("7d".into()), now);
    let license = issue(&mut s, &p, now);
    activate(&mut s, &license, "fp-1");
    let machine = s.kw.active_machine(&license.id, "fp-1").unwrap().unwrap();
    assert_eq!(
        s.kw.active_machine(&license.id, &machine.id)
            .unwrap()
            .unwrap()
            .id,
        machine.id
    );
    assert!(s.kw.active_machine(&license.id, "fp-2").unwrap().is_none());

    let file =
        s.kw.check_out_license_file(
            &CheckOutFile {
                id: license.id.clone(),
                include: vec!["entitlements".into()],
                ip: Some("192.0.2.7".into()),
                ..Default::default()
            },
            Timestamp::now(),
        )
        .unwrap();
    assert!(file
        .certificate
        .starts_with("-----BEGIN LICENSE FILE-----\n"));
    assert_eq!(file.ttl, Some(7 * 24 * 3600), "the policy's TTL");
    assert_eq!(file.includes, ["entitlements"]);
    assert_eq!(file.algorithm, "base64+ed25519");
    let rows =
        s.kw.list_audit(&AuditQuery {
            action: Some("license_file.sign".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        rows[0].artifact_sha256.as_deref(),
        Some(file.sha256.as_str())
    );
    assert!(
        rows[0].detail.contains("\"via\":\"server\""),
        "{}",
        rows[0].detail
    );
    assert!(rows[0].detail.contains("192.0.2.7"));

    let mfile =
        s.kw.check_out_machine_file(
            &CheckOutFile {
                id: machine.id.clone(),
                ttl: Some("none".into()),
                include: vec!["license".into(), "license.entitlements".into()],
                ..Default::default()
            },
            Timestamp::now(),
        )
        .unwrap();
    assert!(mfile
        .certificate
        .starts_with("-----BEGIN MACHINE FILE-----\n"));
    assert_eq!((mfile.ttl, mfile.expiry.as_deref()), (None, None));
    assert_eq!(
        mfile.algorithm, "aes-256-gcm+ed25519",
        "encrypted by default"
    );
    assert_eq!(mfile.machine_id.as_deref(), Some(machine.id.as_str()));
    // A TTL under an hour is refused before anything is signed.
    let err =
        s.kw.check_out_license_file(
            &CheckOutFile {
                id: license.id.clone(),
                ttl: Some("60s".into()),
                ..Default::default()
            },
            Timestamp::now(),
        )
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::BadInput);

    // Deactivated over the server: audited, the seat free, no more files.
    s.kw.deactivate_machine_online(&machine.id, Some("192.0.2.7"), Timestamp::now())
        .unwrap();
    assert!(s.kw.active_machines(&license.id).unwrap().is_empty());
    let err =
        s.kw.check_out_machine_file(
            &CheckOutFile {
                id: machine.id.clone(),
                ..Default::default()
            },
            Timestamp::now(),
        )
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::Conflict);
    let rows =
        s.kw.list_audit(&AuditQuery {
            action: Some("machine.deactivate".into()),
            ..Default::default()
        })
        .unwrap();
    assert!(rows[0].detail.contains("\"via\":\"server\""));
    s.kw.verify_audit().unwrap();
}

#[test]
fn keygen_activation_refuses_an_active_fingerprint_without_writing() {
    let now = Timestamp::now();
    let mut s = setup(now);
    let p = policy(&mut s, "Floating", |p| p.floating = true, now);
    let license = issue(&mut s, &p, now);
    activate(&mut s, &license, "fp-1");
    let before = s.kw.list_audit(&AuditQuery::default()).unwrap().len();
    let again =
        s.kw.online_activate(
            &OnlineActivation {
                token: license.key.clone(),
                hwid: "fp-1".into(),
                name: Some("renamed".into()),
                refuse_active: true,
                ..Default::default()
            },
            now,
        )
        .unwrap();
    assert!(
        matches!(again, ActivationOutcome::AlreadyActive { .. }),
        "{again:?}"
    );
    assert_eq!(
        s.kw.list_audit(&AuditQuery::default()).unwrap().len(),
        before
    );
    assert_eq!(s.kw.active_machines(&license.id).unwrap()[0].name, None);
}
