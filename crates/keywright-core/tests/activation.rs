//! Air-gapped activation end to end with the memory vault: the SDK writes a request,
//! the store activates and signs a machine file, the SDK validates it on the right
//! machine only; seats, node-locking, refusals, deactivation, transfer, receipts and
//! the validation simulator.

mod common;

use std::sync::Arc;

use jiff::Timestamp;
use keywright_core::*;
use keywright_license::activation::{ActivationRequest, DeactivationReceipt};
use keywright_license::{FileAlgorithm, FileKind, ValidationCode, Verifier};

use common::{at, now};

const SUPPORT: &str = "Write to support@zapper.example";
const FP1: &str = "fp-1111aaaa";
const FP2: &str = "fp-2222bbbb";
const FP3: &str = "fp-3333cccc";

struct Fixture {
    dir: tempfile::TempDir,
    kw: Keywright,
    vault: Arc<MemoryVault>,
    key: SigningKey,
    product: Product,
}

impl Fixture {
    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    /// Rows in the tables activation writes: (machines, audit events).
    fn rows(&self) -> (i64, i64) {
        let raw = common::Raw::of(&self.kw);
        let count = |table: &str| raw.count(table);
        (count("machines"), count("audit_events"))
    }

    fn policy(&mut self, name: &str, floating: bool, max: Option<i64>) -> Policy {
        self.kw
            .create_policy(
                &NewPolicy {
                    product_id: self.product.id.clone(),
                    name: name.into(),
                    duration: Some("1y".into()),
                    floating,
                    max_machines: max,
                    ..Default::default()
                },
                now(),
            )
            .unwrap()
    }

    fn issue(&mut self, policy: &Policy) -> License {
        self.kw
            .issue_license(
                &IssueLicense {
                    policy_id: policy.id.clone(),
                    customer_name: Some("Ada Lovelace".into()),
                    customer_email: Some("ada@example.com".into()),
                    ..Default::default()
                },
                now(),
            )
            .unwrap()
    }

    fn seats(&self, license: &License) -> i64 {
        self.kw
            .find_license(&license.id)
            .unwrap()
            .machines_count
            .unwrap()
    }

    /// Exports the machine's file and validates it with the SDK on `runs_on`.
    fn validate(&mut self, machine: &Machine, license: &License, runs_on: &str) -> ValidationCode {
        let out = self.path("machine.lic");
        self.kw
            .export_machine_file(
                &ExportMachineFile {
                    machine_id: machine.id.clone(),
                    path: out.clone(),
                    ..Default::default()
                },
                now(),
            )
            .unwrap();
        let text = std::fs::read_to_string(&out).unwrap();
        let public = self.kw.public_key(&self.key.kid).unwrap();
        let alg = FileAlgorithm::Aes256GcmEd25519;
        Verifier::pinned(&public, alg, now())
            .kind(FileKind::Machine)
            .license_key(&license.key)
            .product(&self.product.id)
            .fingerprint(runs_on)
            .validate(&text)
            .code
    }
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = common::open_store(&dir.path().join("store.db"));
    let vault = Arc::<MemoryVault>::default();
    let mut kw = Keywright::with_vault(store, Box::new(vault.clone()), "tester");
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
                support_message: Some(SUPPORT.into()),
                ..Default::default()
            },
            now(),
        )
        .unwrap();
    Fixture {
        dir,
        kw,
        vault,
        key,
        product,
    }
}

/// What the customer's application writes, with the SDK.
fn request(license: &License, fingerprint: &str, nonce: u8) -> String {
    let mut r = ActivationRequest::new(&license.key, fingerprint, [nonce; 16], now());
    r.hostname = Some("lab-pc-07".into());
    r.platform = Some("linux-x86_64".into());
    r.os_user = Some("ada".into());
    r.app_version = Some("2.4.1".into());
    r.to_text()
}

#[test]
fn request_activate_export_validate_on_that_machine_only() {
    let mut f = fixture();
    let policy = f.policy("Two seats", true, Some(2));
    let license = f.issue(&policy);
    assert_eq!(f.seats(&license), 0);

    let req = request(&license, FP1, 1);
    let preview = f.kw.preview_activation(&req, now()).unwrap();
    assert_eq!(preview.request.fingerprint, FP1);
    assert_eq!(preview.request.hostname.as_deref(), Some("lab-pc-07"));
    assert_eq!(preview.request.os_user.as_deref(), Some("ada"));
    assert_eq!(preview.request.app_version.as_deref(), Some("2.4.1"));
    assert_eq!(preview.request.nonce, "01".repeat(16));
    assert_eq!(preview.license.id, license.id);
    assert_eq!(
        preview.license.customer_name.as_deref(),
        Some("Ada Lovelace")
    );
    assert_eq!((preview.seats_used, preview.seats_allowed), (0, 2));
    assert!(preview.floating && !preview.expired && preview.allowed);
    assert!(preview.existing_machine.is_none() && preview.refusal.is_none());
    assert_eq!(f.rows().0, 0, "a preview writes nothing");

    let machine = f.kw.activate_from_request(&req, now()).unwrap();
    assert_eq!(machine.fingerprint, FP1);
    assert_eq!(machine.status, MachineStatus::Active);
    assert_eq!(machine.hostname.as_deref(), Some("lab-pc-07"));
    assert_eq!(
        machine.request_nonce.as_deref(),
        Some("01".repeat(16).as_str())
    );
    assert_eq!(f.seats(&license), 1);
    let e = f.kw.audit_events().unwrap().pop().unwrap();
    assert_eq!(e.action, "machine.activate");
    assert_eq!(e.subject_id.as_deref(), Some(machine.id.as_str()));

    // The SDK, on this machine: VALID; on any other: it does not even decrypt.
    assert_eq!(f.validate(&machine, &license, FP1), ValidationCode::Valid);
    assert_eq!(
        f.validate(&machine, &license, FP2),
        ValidationCode::DecryptionFailed
    );
    let e = f.kw.audit_events().unwrap().pop().unwrap();
    assert_eq!(e.action, "machine_file.sign");
    assert_eq!(e.signing_key_kid.as_deref(), Some(f.key.kid.as_str()));
    let text = std::fs::read(f.path("machine.lic")).unwrap();
    assert!(text.starts_with(b"-----BEGIN MACHINE FILE-----\n"));
    assert_eq!(
        e.artifact_sha256.as_deref(),
        Some(keywright_core::audit::sha256_hex(&text).as_str())
    );

    // The same fingerprint again: no second seat, the same machine, a fresh file.
    let preview =
        f.kw.preview_activation(&request(&license, FP1, 2), now())
            .unwrap();
    assert_eq!(
        preview.existing_machine.as_ref().map(|m| m.id.as_str()),
        Some(machine.id.as_str())
    );
    assert!(preview.allowed);
    let again =
        f.kw.activate_from_request(&request(&license, FP1, 2), now())
            .unwrap();
    assert_eq!(again.id, machine.id);
    assert_eq!(f.seats(&license), 1);
    assert_eq!(
        f.kw.audit_events().unwrap().pop().unwrap().action,
        "machine.reactivate"
    );
    assert_eq!(f.validate(&again, &license, FP1), ValidationCode::Valid);
    assert_ne!(
        std::fs::read(f.path("machine.lic")).unwrap(),
        text,
        "fresh file"
    );

    // A second machine by hand; then the license is full.
    let second =
        f.kw.activate_machine(
            &ActivateMachine {
                license_id: license.key.clone(),
                fingerprint: FP2.into(),
                name: Some("Laptop".into()),
                ..Default::default()
            },
            now(),
        )
        .unwrap();
    assert_eq!(f.seats(&license), 2);
    assert_eq!(f.validate(&second, &license, FP2), ValidationCode::Valid);

    let before = f.rows();
    let preview =
        f.kw.preview_activation(&request(&license, FP3, 3), now())
            .unwrap();
    assert!(!preview.allowed);
    assert_eq!((preview.seats_used, preview.seats_allowed), (2, 2));
    let err =
        f.kw.activate_from_request(&request(&license, FP3, 3), now())
            .unwrap_err();
    assert_eq!(err.code, ErrorCode::Conflict);
    assert!(err.message.contains("out of activations"), "{err}");
    assert!(err.message.contains(SUPPORT), "{err}");
    assert_eq!(preview.refusal.as_deref(), Some(err.message.as_str()));
    assert_eq!(f.rows(), before, "a refusal writes nothing");

    // The license file now reports the real machine count.
    let lic = f.path("license.lic");
    f.kw.export_license_file(
        &ExportLicenseFile {
            license_id: license.id.clone(),
            path: lic.clone(),
            encrypt: Some(false),
            ..Default::default()
        },
        now(),
    )
    .unwrap();
    let report = keywright_core::verify::verify(
        &keywright_core::verify::VerifyRequest {
            file: Some(std::fs::read_to_string(&lic).unwrap()),
            public_key: f.key.public_key_hex.clone(),
            ..Default::default()
        },
        now(),
    )
    .unwrap();
    let payload = report.payload.unwrap();
    assert_eq!(
        payload["data"]["relationships"]["machines"]["meta"]["count"],
        2
    );

    // Deactivate the laptop: a seat is free and its file can no longer be exported.
    let gone = f.kw.deactivate_machine(&second.id, now()).unwrap();
    assert_eq!(gone.status, MachineStatus::Deactivated);
    assert_eq!(
        gone.deactivated_at.as_deref(),
        Some("2026-11-23T10:00:00.123Z")
    );
    assert_eq!(f.seats(&license), 1);
    let err = f.kw.deactivate_machine(&second.id, now()).unwrap_err();
    assert_eq!(err.code, ErrorCode::Conflict);
    let err =
        f.kw.export_machine_file(
            &ExportMachineFile {
                machine_id: second.id.clone(),
                path: f.path("x.lic"),
                ..Default::default()
            },
            now(),
        )
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::Conflict);

    // Transfer the first machine to FP3: one seat still, the old one deactivated.
    let moved =
        f.kw.transfer_machine(
            &TransferMachine {
                machine_id: machine.id.clone(),
                fingerprint: FP3.into(),
                ..Default::default()
            },
            now(),
        )
        .unwrap();
    assert_eq!(moved.fingerprint, FP3);
    assert_eq!(f.seats(&license), 1);
    assert_eq!(
        f.kw.find_machine(&machine.id).unwrap().status,
        MachineStatus::Deactivated
    );
    assert_eq!(f.validate(&moved, &license, FP3), ValidationCode::Valid);
    let history = f.kw.machine_history(&machine.id).unwrap();
    assert_eq!(history[0].action, "machine.deactivate");
    assert!(
        history[0].detail.contains("transfer"),
        "{}",
        history[0].detail
    );
    let err =
        f.kw.transfer_machine(
            &TransferMachine {
                machine_id: machine.id.clone(),
                fingerprint: FP1.into(),
                ..Default::default()
            },
            now(),
        )
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::Conflict, "{err}");

    let list =
        f.kw.list_machines(&license.id, jiff::Timestamp::now())
            .unwrap();
    assert_eq!(list.len(), 3);
    assert_eq!(list[0].id, moved.id, "active first");
    assert_eq!(
        list.iter()
            .filter(|m| m.status == MachineStatus::Active)
            .count(),
        1
    );

    // The customer's receipt frees the seat, once.
    let receipt = DeactivationReceipt::new(&license.key, FP3, [9; 16], now()).to_text();
    let freed = f.kw.import_deactivation_receipt(&receipt, now()).unwrap();
    assert_eq!(freed.id, moved.id);
    assert_eq!(freed.status, MachineStatus::Deactivated);
    assert_eq!(f.seats(&license), 0);
    let e = f.kw.audit_events().unwrap().pop().unwrap();
    assert_eq!(e.action, "machine.deactivate");
    assert!(e.detail.contains("receipt") && e.detail.contains(&"09".repeat(16)));
    f.kw.activate_from_request(&request(&license, FP3, 4), now())
        .unwrap();
    let before = f.rows();
    let err =
        f.kw.import_deactivation_receipt(&receipt, now())
            .unwrap_err();
    assert_eq!(err.code, ErrorCode::Conflict);
    assert!(err.message.contains("already imported"), "{err}");
    assert_eq!(f.rows(), before);
    assert_eq!(f.seats(&license), 1);
    let err =
        f.kw.import_deactivation_receipt(&request(&license, FP3, 5), now())
            .unwrap_err();
    assert_eq!(err.code, ErrorCode::Format, "a request is not a receipt");

    assert!(f.kw.verify_audit().unwrap() > 0);
}

#[test]
fn node_locked_policy_allows_one_machine() {
    let mut f = fixture();
    // Node-locked: one machine whatever max machines says.
    let policy = f.policy("Node-locked", false, None);
    let license = f.issue(&policy);
    let preview =
        f.kw.preview_activation(&request(&license, FP1, 1), now())
            .unwrap();
    assert_eq!(preview.seats_allowed, 1);
    assert!(!preview.floating);
    f.kw.activate_from_request(&request(&license, FP1, 1), now())
        .unwrap();
    let before = f.rows();
    let err =
        f.kw.activate_from_request(&request(&license, FP2, 2), now())
            .unwrap_err();
    assert_eq!(err.code, ErrorCode::Conflict);
    assert!(err.message.contains("node-locked"), "{err}");
    assert!(err.message.contains(SUPPORT), "{err}");
    assert_eq!(f.rows(), before);

    // Unlimited floating: -1 seats allowed, never refused for seats.
    let policy = f.policy("Site", true, None);
    let license = f.issue(&policy);
    for (i, fp) in [FP1, FP2, FP3].into_iter().enumerate() {
        f.kw.activate_from_request(&request(&license, fp, i as u8), now())
            .unwrap();
    }
    let preview =
        f.kw.preview_activation(&request(&license, "fp-4", 9), now())
            .unwrap();
    assert_eq!((preview.seats_used, preview.seats_allowed), (3, -1));
    assert!(preview.allowed);
}

#[test]
fn bad_requests_are_refused_precisely_and_write_nothing() {
    let mut f = fixture();
    let policy = f.policy("Two seats", true, Some(2));
    let license = f.issue(&policy);
    let good = request(&license, FP1, 1);
    let before = f.rows();

    let mut check = |text: &str, code: ErrorCode, words: &str, when: Timestamp| {
        for result in [
            f.kw.preview_activation(text, when).map(|_| ()),
            f.kw.activate_from_request(text, when).map(|_| ()),
        ] {
            let err = result.expect_err(words);
            assert_eq!(err.code, code, "{words}: {err}");
            assert!(err.message.contains(words), "{words}: {err}");
        }
    };

    check(
        &good[..good.len() / 2],
        ErrorCode::Format,
        "END ACTIVATION REQUEST",
        now(),
    );
    // One character of the body changed to another base64 character.
    let line = good.lines().nth(1).unwrap();
    let c = if line.as_bytes()[20] == b'Q' {
        "R"
    } else {
        "Q"
    };
    let edited = good.replacen(line, &format!("{}{c}{}", &line[..20], &line[21..]), 1);
    check(&edited, ErrorCode::Format, "checksum does not match", now());
    let sum = good.lines().find(|l| l.starts_with("Checksum:")).unwrap();
    let wrong = good.replace(sum, "Checksum: deadbeefdeadbeef");
    check(&wrong, ErrorCode::Format, "checksum does not match", now());
    let junk = "x".repeat(10 * 1024 * 1024);
    check(&junk, ErrorCode::Format, "limit", now());
    let stranger = ActivationRequest::new("key/ZZZZ.YYYY", FP1, [1; 16], now()).to_text();
    check(&stranger, ErrorCode::NotFound, "did not issue", now());
    // Past the license's one-year expiry: shown in the preview, refused on activation.
    let later = at("2028-01-01T00:00:00Z");
    let preview = f.kw.preview_activation(&good, later).unwrap();
    assert!(preview.expired && !preview.allowed);
    let err = f.kw.activate_from_request(&good, later).unwrap_err();
    assert_eq!(err.code, ErrorCode::Conflict);
    assert!(
        err.message.contains("expired") && err.message.contains(SUPPORT),
        "{err}"
    );
    assert_eq!(f.rows(), before);

    f.kw.suspend_license(&license.id, now()).unwrap();
    let before = f.rows();
    let mut err = f.kw.activate_from_request(&good, now()).unwrap_err();
    assert_eq!(err.code, ErrorCode::Conflict);
    assert!(
        err.message.contains("suspended") && err.message.contains(SUPPORT),
        "{err}"
    );
    let preview = f.kw.preview_activation(&good, now()).unwrap();
    assert!(!preview.allowed);
    assert_eq!(preview.license.status, LicenseStatus::Suspended);
    assert_eq!(f.rows(), before);

    // A keychain that cannot sign: no seat taken, no file, no audit row.
    f.kw.reinstate_license(&license.id, now()).unwrap();
    let before = f.rows();
    f.vault.fail_with(Some(ErrorCode::KeychainUnavailable));
    err = f.kw.activate_from_request(&good, now()).unwrap_err();
    assert_eq!(err.code, ErrorCode::KeychainUnavailable);
    assert_eq!(f.rows(), before);
    f.vault.fail_with(None);
    let machine = f.kw.activate_from_request(&good, now()).unwrap();
    let before = f.rows();
    f.vault.fail_with(Some(ErrorCode::KeychainUnavailable));
    let out = f.path("never.lic");
    err =
        f.kw.export_machine_file(
            &ExportMachineFile {
                machine_id: machine.id.clone(),
                path: out.clone(),
                ..Default::default()
            },
            now(),
        )
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::KeychainUnavailable);
    assert_eq!(f.rows(), before);
    assert!(!std::path::Path::new(&out).exists());

    // Bad manual input.
    f.vault.fail_with(None);
    err =
        f.kw.activate_machine(
            &ActivateMachine {
                license_id: license.id.clone(),
                fingerprint: "  ".into(),
                ..Default::default()
            },
            now(),
        )
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::BadInput);
    assert_eq!(f.rows(), before);
}

#[test]
fn simulator_gives_the_sdks_codes_without_the_private_key() {
    let mut f = fixture();
    let policy = f.policy("Two seats", true, Some(2));
    let license = f.issue(&policy);
    let machine =
        f.kw.activate_from_request(&request(&license, FP1, 1), now())
            .unwrap();
    let sim = |kw: &Keywright, machine: Option<&str>, fp: Option<&str>, when: &str| {
        kw.simulate_validation(&SimulateValidation {
            license_id: license.id.clone(),
            machine_id: machine.map(str::to_owned),
            fingerprint: fp.map(str::to_owned),
            at: when.into(),
            ..Default::default()
        })
        .unwrap()
    };
    let before = f.rows();
    // The simulator must not touch the keychain.
    f.vault.fail_with(Some(ErrorCode::KeychainUnavailable));

    let v = sim(&f.kw, None, None, "2027-01-01");
    assert_eq!(v.code, "VALID", "{}", v.message);
    assert_eq!(v.support_message, None);
    let v = sim(&f.kw, Some(&machine.id), None, "2027-01-01T00:00:00Z");
    assert_eq!(v.code, "VALID", "{}", v.message);
    // After the license's expiry (one year after issue).
    let v = sim(&f.kw, Some(&machine.id), None, "2028-01-01");
    assert_eq!(v.code, "EXPIRED");
    assert_eq!(v.message, ValidationCode::Expired.message());
    assert_eq!(v.support_message.as_deref(), Some(SUPPORT));
    let v = sim(&f.kw, None, None, "2028-01-01");
    assert_eq!(v.code, "EXPIRED");
    // On another machine the file does not decrypt.
    let v = sim(&f.kw, Some(&machine.id), Some(FP2), "2027-01-01");
    assert_eq!(v.code, "DECRYPTION_FAILED");
    // A license file checked on a machine it does not list: no machines listed, VALID.
    let v = sim(&f.kw, None, Some(FP2), "2027-01-01");
    assert_eq!(v.code, "VALID");
    let err =
        f.kw.simulate_validation(&SimulateValidation {
            license_id: license.id.clone(),
            at: "someday".into(),
            ..Default::default()
        })
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::BadInput);
    assert_eq!(f.rows(), before, "the simulator writes nothing");

    f.vault.fail_with(None);
    f.kw.suspend_license(&license.id, now()).unwrap();
    let v = sim(&f.kw, Some(&machine.id), None, "2027-01-01");
    assert_eq!(v.code, "SUSPENDED");
    let v = sim(&f.kw, None, None, "2027-01-01");
    assert_eq!(v.code, "SUSPENDED");
}
