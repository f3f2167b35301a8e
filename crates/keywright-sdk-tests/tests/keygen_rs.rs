//! keygen-rs (a third-party Keygen SDK, default features, signature checking on)
//! against Keywright's server on loopback, as a vendor's application would use it:
//! its only settings are the API URL (the server), the account (the store's id), the
//! product (a product's id), the license key and the product's public key. Every
//! answer it accepts has passed its `Keygen-Signature` check.
//!
//! keygen-rs keeps a global configuration (its offline machine-file verification reads
//! it): the tests that set it hold `GLOBAL`.

#[path = "../../keywright-server/tests/common/mod.rs"]
mod common;

use common::{roomy, Fixture, Running};
use jiff::{SignedDuration, Timestamp};
use keygen_rs::config::KeygenConfig;
use keygen_rs::errors::Error as KeygenError;
use keygen_rs::license::{
    LicenseCheckoutOpts, LicenseFileAlgorithm, LicenseValidationRequest, LicenseValidationScope,
};
use keygen_rs::machine::MachineCheckoutOpts;
use keygen_rs::KeygenClient;
use keywright_core::{IssueLicense, License, NewPolicy, Policy};
use keywright_server::ServerConfig;

/// keygen-rs's global configuration is one per process.
static GLOBAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn config(run: &Running, account: &str, key: &str) -> KeygenConfig {
    KeygenConfig {
        api_url: format!("http://{}", run.addr),
        account: account.to_owned(),
        product: run.product.id.clone(),
        license_key: Some(key.to_owned()),
        public_key: Some(public_hex(run)),
        ..KeygenConfig::default()
    }
}

fn public_hex(run: &Running) -> String {
    run.trusted[0].to_hex()
}

/// The code of a Keygen API error keygen-rs reports.
fn api_code(e: &KeygenError) -> String {
    match e {
        KeygenError::Api(doc) => doc
            .primary()
            .and_then(|p| p.code())
            .unwrap_or_default()
            .to_owned(),
        other => panic!("expected a Keygen API error, got {other:?}"),
    }
}

fn policy(f: &mut Fixture, name: &str, floating: bool, max: Option<i64>) -> Policy {
    f.kw.create_policy(
        &NewPolicy {
            product_id: f.product.id.clone(),
            name: name.into(),
            duration: Some("1y".into()),
            floating,
            max_machines: max,
            entitlements: vec!["EXPORT_PDF".into(), "SYNC".into()],
            file_ttl: Some("7d".into()),
            ..Default::default()
        },
        Timestamp::now(),
    )
    .unwrap()
}

fn issue(f: &mut Fixture, policy: &Policy) -> License {
    f.kw.issue_license(
        &IssueLicense {
            policy_id: policy.id.clone(),
            customer_name: Some("Ada Lovelace".into()),
            customer_email: Some("ada@example.com".into()),
            ..Default::default()
        },
        Timestamp::now(),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keygen_rs_validates_activates_checks_out_and_deactivates() {
    let _global = GLOBAL.lock().await;
    let mut f = Fixture::new();
    let account = f.kw.store().store_id().to_owned();
    let node_locked = policy(&mut f, "Node-locked", false, None);
    let license = issue(&mut f, &node_locked);
    let other = issue(&mut f, &node_locked);
    let run = f.serve(roomy()).await;
    let cfg = config(&run, &account, &license.key);
    let client = KeygenClient::new(cfg.clone()).unwrap();

    // Valid without a machine scope (the policy is not strict)...
    let plain = client
        .validate(&LicenseValidationRequest::default())
        .await
        .expect("validate-key, signature checked");
    assert!(plain.meta.valid, "{:?}", plain.meta);
    assert_eq!(plain.meta.code, "VALID");
    let sdk_license = plain.license.clone().expect("the license document");
    assert_eq!(sdk_license.id, license.id);
    assert_eq!(
        sdk_license.product_id.as_deref(),
        Some(run.product.id.as_str())
    );
    assert_eq!(sdk_license.account_id.as_deref(), Some(account.as_str()));

    // ...not yet on this machine: nothing is activated.
    let here = "fp-ada-laptop-0001";
    let result = client
        .validate(&LicenseValidationRequest::for_fingerprint(here.into()))
        .await
        .unwrap();
    assert!(!result.meta.valid);
    assert_eq!(result.meta.code, "NO_MACHINE");

    // Activate this machine.
    let machine = sdk_license
        .activate(here, &[])
        .await
        .expect("machine activation");
    assert_eq!(machine.fingerprint, here);
    assert_eq!(machine.license_id.as_deref(), Some(license.id.as_str()));
    let result = client
        .validate(&LicenseValidationRequest::for_fingerprint(here.into()))
        .await
        .unwrap();
    assert!(result.meta.valid, "{:?}", result.meta);
    assert_eq!(result.meta.code, "VALID");

    // The same fingerprint again: Keygen's FINGERPRINT_TAKEN, no second seat.
    let taken = sdk_license.activate(here, &[]).await.unwrap_err();
    assert_eq!(api_code(&taken), "FINGERPRINT_TAKEN");
    // Another machine: the node-locked license has one seat.
    let full = sdk_license
        .activate("fp-someone-else-0002", &[])
        .await
        .unwrap_err();
    assert_eq!(api_code(&full), "MACHINE_LIMIT_EXCEEDED");

    // Wrong fingerprint.
    let result = client
        .validate(&LicenseValidationRequest::for_fingerprint(
            "fp-someone-else-0002".into(),
        ))
        .await
        .unwrap();
    assert!(!result.meta.valid);
    assert_eq!(result.meta.code, "FINGERPRINT_SCOPE_MISMATCH");

    // Entitlements through the scope, and listed.
    let scoped = client
        .validate(&LicenseValidationRequest::new(LicenseValidationScope {
            fingerprint: Some(here.into()),
            entitlements: Some(vec!["EXPORT_PDF".into(), "TELEPORT".into()]),
            ..Default::default()
        }))
        .await
        .unwrap();
    assert_eq!(scoped.meta.code, "ENTITLEMENTS_MISSING");
    let entitlements = sdk_license.entitlements(None).await.unwrap();
    let mut codes: Vec<_> = entitlements.data.iter().map(|e| e.code.clone()).collect();
    codes.sort();
    assert_eq!(codes, ["EXPORT_PDF", "SYNC"]);

    // Machines: listed and fetched.
    let machines = sdk_license.machines(None).await.unwrap();
    assert_eq!(machines.data.len(), 1);
    assert_eq!(machines.data[0].id, machine.id);
    let fetched = sdk_license.machine(&machine.id).await.unwrap();
    assert_eq!(fetched.fingerprint, here);

    // Check out a license file and verify + decrypt it offline with keygen-rs.
    let lic_file = sdk_license
        .checkout(
            &LicenseCheckoutOpts::with_include(vec!["entitlements".into()]).with_encrypt(true),
        )
        .await
        .expect("license check-out");
    let dataset = lic_file
        .verify_and_decrypt(
            &public_hex(&run),
            &license.key,
            LicenseFileAlgorithm::Aes256GcmEd25519,
        )
        .expect("verified and decrypted offline");
    assert_eq!(dataset.license.id, license.id);
    assert_eq!(dataset.license.key, license.key);
    let ttl = dataset.expiry.timestamp() - dataset.issued.timestamp();
    assert_eq!(ttl, 7 * 24 * 3600, "the policy's TTL");
    let offline: Vec<_> = dataset
        .included
        .as_ref()
        .map(|i| i.entitlements.iter().map(|e| e.code.clone()).collect())
        .unwrap_or_default();
    assert_eq!(offline.len(), 2, "{offline:?}");
    // Tampering breaks it.
    let mut forged = lic_file.clone();
    forged.certificate = forged.certificate.replacen('A', "B", 1);
    assert!(forged
        .verify_and_decrypt(
            &public_hex(&run),
            &license.key,
            LicenseFileAlgorithm::Aes256GcmEd25519
        )
        .is_err());

    // Check out the machine file; verify it (keygen-rs reads the public key from its
    // global configuration) and decrypt it with license key + fingerprint.
    keygen_rs::config::set_config(cfg.clone()).unwrap();
    let machine_file = machine
        .checkout(&MachineCheckoutOpts::with_ttl(3600))
        .await
        .expect("machine check-out");
    machine_file.verify().expect("machine file is genuine");
    let dataset = machine_file
        .decrypt(&format!("{}{here}", license.key))
        .expect("decrypted with license key + fingerprint");
    assert_eq!(dataset.machine.id, machine.id);
    assert_eq!(dataset.machine.fingerprint, here);
    assert_eq!(dataset.license.id, license.id);
    assert_eq!(dataset.ttl, 3600);
    let offline = machine_file
        .entitlements(&format!("{}{here}", license.key))
        .unwrap();
    assert_eq!(offline.len(), 2, "license.entitlements is included");
    // Another machine's fingerprint cannot open it.
    assert!(machine_file
        .decrypt(&format!("{}fp-someone-else-0002", license.key))
        .is_err());

    // Another license's key cannot see or remove this machine.
    let intruder = KeygenClient::new(config(&run, &account, &other.key)).unwrap();
    let theirs = intruder
        .licenses()
        .machine(&other.id, &machine.id)
        .await
        .unwrap_err();
    assert_eq!(api_code(&theirs), "NOT_FOUND");

    // Deactivate, then validate again: the seat is free.
    machine.deactivate().await.expect("deactivation");
    let result = client
        .validate(&LicenseValidationRequest::for_fingerprint(here.into()))
        .await
        .unwrap();
    assert!(!result.meta.valid);
    assert_eq!(result.meta.code, "NO_MACHINE");
    let again = sdk_license
        .activate("fp-someone-else-0002", &[])
        .await
        .expect("the freed seat");
    assert_eq!(again.fingerprint, "fp-someone-else-0002");

    // Every request is in the request log, and the check-outs in the audit log.
    let events = run.events(100).await;
    assert!(events
        .iter()
        .any(|e| e.endpoint == "v1 activate" && e.status == 201));
    assert!(events
        .iter()
        .any(|e| e.endpoint == "v1 deactivate" && e.status == 204));
    assert!(events
        .iter()
        .any(|e| e.endpoint == "v1 validate-key" && e.result == "FINGERPRINT_SCOPE_MISMATCH"));
    let audit = run
        .observer
        .list_audit(&keywright_core::audit::AuditQuery {
            action: Some("license_file.sign".into()),
            subject_id: Some(license.id.clone()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(audit.len(), 1, "the license check-out is audited");
    assert!(audit[0].artifact_sha256.is_some());
    keygen_rs::config::reset_config().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keygen_rs_sees_suspended_and_expired_licenses() {
    let _global = GLOBAL.lock().await;
    // A store whose license expired a month ago.
    let long_ago = Timestamp::now() - SignedDuration::from_hours(24 * 400);
    let mut f = Fixture::at(long_ago);
    let account = f.kw.store().store_id().to_owned();
    let yearly = f.policy_at("Yearly", false, None, long_ago);
    let expired = f.issue_at(&yearly, long_ago);
    let current = policy(&mut f, "Current", true, Some(3));
    let suspended = issue(&mut f, &current);
    let mut run = f.serve(roomy()).await;
    run.observer
        .suspend_license(&suspended.id, Timestamp::now())
        .unwrap();

    let client = KeygenClient::new(config(&run, &account, &suspended.key)).unwrap();
    let result = client
        .validate(&LicenseValidationRequest::default())
        .await
        .unwrap();
    assert!(!result.meta.valid);
    assert_eq!(result.meta.code, "SUSPENDED");
    // A suspended license cannot activate (Keygen's LICENSE_SUSPENDED).
    let sdk_license = result.license.unwrap();
    let refused = sdk_license.activate("fp-1", &[]).await.unwrap_err();
    assert_eq!(api_code(&refused), "LICENSE_SUSPENDED");

    let client = KeygenClient::new(config(&run, &account, &expired.key)).unwrap();
    let result = client
        .validate(&LicenseValidationRequest::default())
        .await
        .unwrap();
    assert!(!result.meta.valid);
    assert_eq!(result.meta.code, "EXPIRED");

    // An unknown key: NOT_FOUND, still signed by the product's key.
    let client = KeygenClient::new(config(&run, &account, "NOT-A-KEY-0000")).unwrap();
    let result = client
        .validate(&LicenseValidationRequest::default())
        .await
        .unwrap();
    assert!(!result.meta.valid);
    assert_eq!(result.meta.code, "NOT_FOUND");
    assert!(result.license.is_none());
    run.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keygen_rs_refuses_answers_signed_by_another_key() {
    let _global = GLOBAL.lock().await;
    let mut f = Fixture::new();
    let account = f.kw.store().store_id().to_owned();
    let p = policy(&mut f, "Any", true, None);
    let license = issue(&mut f, &p);
    let run = f.serve(roomy()).await;
    let mut cfg = config(&run, &account, &license.key);
    // A key the server does not hold.
    cfg.public_key =
        Some("e8601e48b69383ba520245fd07971e983d06d22c4257cfd82304601479cee788".into());
    let client = KeygenClient::new(cfg).unwrap();
    let err = client
        .validate(&LicenseValidationRequest::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, KeygenError::KeygenSignatureInvalid { .. }),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keygen_rs_pings_and_sees_heartbeat_codes() {
    let _global = GLOBAL.lock().await;
    let mut f = Fixture::new();
    let account = f.kw.store().store_id().to_owned();
    let leased =
        f.kw.create_policy(
            &NewPolicy {
                product_id: f.product.id.clone(),
                name: "Leased".into(),
                floating: true,
                max_machines: Some(1),
                require_heartbeat: true,
                heartbeat_duration: Some("1min".into()),
                ..Default::default()
            },
            Timestamp::now(),
        )
        .unwrap();
    let license = issue(&mut f, &leased);
    let run = f
        .serve(ServerConfig {
            heartbeat_sweep: std::time::Duration::from_secs(3600),
            ..roomy()
        })
        .await;
    let client = KeygenClient::new(config(&run, &account, &license.key)).unwrap();
    let sdk_license = client
        .validate(&LicenseValidationRequest::default())
        .await
        .unwrap()
        .license
        .unwrap();
    let here = "fp-leased-0001";
    let machine = sdk_license.activate(here, &[]).await.unwrap();
    assert!(machine.require_heartbeat);
    assert_eq!(machine.heartbeat_status, "NOT_STARTED");
    assert_eq!(machine.heartbeat_duration, Some(60));
    let validate = || async {
        client
            .validate(&LicenseValidationRequest::for_fingerprint(here.into()))
            .await
            .unwrap()
            .meta
    };
    assert_eq!(validate().await.code, "HEARTBEAT_NOT_STARTED");

    // keygen-rs's monitor pings at once, then every interval; stop it after one.
    let machine = std::sync::Arc::new(machine);
    let (tx, mut rx) = tokio::sync::mpsc::channel(4);
    let (cancel, cancel_rx) = tokio::sync::mpsc::channel(1);
    let monitor = tokio::spawn(machine.clone().monitor(
        std::time::Duration::from_secs(3600),
        Some(tx),
        Some(cancel_rx),
    ));
    let pinged = rx.recv().await.unwrap().expect("signed ping answer");
    cancel.send(()).await.unwrap();
    monitor.await.unwrap();
    assert_eq!(pinged.heartbeat_status, "ALIVE");
    assert_eq!(validate().await.code, "VALID");
    let pinged = machine.ping().await.unwrap();
    assert_eq!(pinged.heartbeat_status, "ALIVE");

    // Two minutes without a ping (moved back in the store): dead, and a ping is
    // Keygen's MACHINE_HEARTBEAT_DEAD (NO_REVIVE).
    let then = keywright_license::format_time(Timestamp::now() - SignedDuration::from_mins(2));
    rusqlite::Connection::open(run.observer.store().path())
        .unwrap()
        .execute(
            "UPDATE machines SET last_heartbeat_at = ?1 WHERE fingerprint = ?2",
            [&then, here],
        )
        .unwrap();
    assert_eq!(validate().await.code, "HEARTBEAT_DEAD");
    let refused = machine.ping().await.unwrap_err();
    assert!(
        format!("{refused:?}").contains("MACHINE_HEARTBEAT_DEAD"),
        "{refused:?}"
    );
    // Its seat is free again: another machine activates.
    sdk_license
        .activate("fp-leased-0002", &[])
        .await
        .expect("the dead machine's seat");
}
