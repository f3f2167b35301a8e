//! The app lock: with a lock passphrase set and enforcement on (the window), nothing
//! is signed until it is typed; it locks again after the idle time; the passphrase
//! is kept only as an Argon2id hash in the keychain, never in the store.

mod common;

use std::sync::Arc;
use std::time::Duration;

use keywright_core::applock::LOCK_ACCOUNT;
use keywright_core::*;

use common::at;

const PASS: &str = "correct horse battery";

struct Desk {
    kw: Keywright,
    vault: Arc<MemoryVault>,
    policy: String,
    dir: tempfile::TempDir,
}

fn desk() -> Desk {
    let dir = tempfile::tempdir().unwrap();
    let vault = Arc::new(MemoryVault::default());
    let store = common::open_store(&dir.path().join("store.db"));
    let mut kw = Keywright::with_vault(store, Box::new(vault.clone()), "tester");
    let t = at("2026-11-23T10:00:00Z");
    kw.create_signing_key(
        &NewSigningKey {
            name: "Main".into(),
            algorithm: KeyAlgorithm::Ed25519,
        },
        t,
    )
    .unwrap();
    kw.create_product(
        &NewProduct {
            name: "Zapper".into(),
            ..Default::default()
        },
        t,
    )
    .unwrap();
    let policy = kw
        .create_policy(
            &NewPolicy {
                product_id: "ZAPPER".into(),
                name: "Yearly".into(),
                ..Default::default()
            },
            t,
        )
        .unwrap()
        .id;
    Desk {
        kw,
        vault,
        policy,
        dir,
    }
}

fn issue(d: &mut Desk, t: &str) -> Result<License> {
    d.kw.issue_license(
        &IssueLicense {
            policy_id: d.policy.clone(),
            ..Default::default()
        },
        at(t),
    )
}

#[test]
fn a_locked_window_signs_nothing_until_unlocked_and_locks_again_when_idle() {
    let mut d = desk();
    d.kw.enforce_app_lock(Duration::from_millis(300));
    // No lock set: enforcement changes nothing.
    assert!(d.kw.app_lock_state().unwrap().unlocked);
    issue(&mut d, "2026-11-23T10:00:01Z").unwrap();

    d.kw.set_app_lock(None, PASS, at("2026-11-23T10:00:02Z"))
        .unwrap();
    // Setting it unlocks this session; a lock (or the idle time) locks it.
    assert_eq!(
        d.kw.app_lock_state().unwrap(),
        applock::AppLockState {
            enabled: true,
            unlocked: true,
            idle_minutes: 0
        }
    );
    d.kw.lock_app();
    let licenses = d.kw.list_licenses().unwrap().len();
    let rows = d.kw.audit_events().unwrap().len();
    let err = issue(&mut d, "2026-11-23T10:00:03Z").unwrap_err();
    assert_eq!(err.code, ErrorCode::SigningLocked, "{err}");
    // Nothing was written by the refused signature.
    assert_eq!(d.kw.list_licenses().unwrap().len(), licenses);
    assert_eq!(d.kw.audit_events().unwrap().len(), rows);
    // A file export signs too, and is refused the same way, writing no file.
    let license = d.kw.list_licenses().unwrap()[0].id.clone();
    let out = d.dir.path().join("x.lic");
    let err =
        d.kw.export_license_file(
            &ExportLicenseFile {
                license_id: license,
                path: out.display().to_string(),
                ..Default::default()
            },
            at("2026-11-23T10:00:03Z"),
        )
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::SigningLocked);
    assert!(!out.exists());

    // The wrong passphrase does not unlock.
    assert_eq!(
        d.kw.unlock_app("wrong horse battery").unwrap_err().code,
        ErrorCode::SigningLocked
    );
    assert!(!d.kw.app_lock_state().unwrap().unlocked);
    d.kw.unlock_app(PASS).unwrap();
    issue(&mut d, "2026-11-23T10:00:04Z").unwrap();
    // Idle past the limit: locked again.
    std::thread::sleep(Duration::from_millis(400));
    assert!(!d.kw.app_lock_state().unwrap().unlocked);
    assert_eq!(
        issue(&mut d, "2026-11-23T10:00:05Z").unwrap_err().code,
        ErrorCode::SigningLocked
    );
}

#[test]
fn the_passphrase_is_only_a_hash_in_the_keychain_and_changes_need_the_old_one() {
    let mut d = desk();
    assert_eq!(
        d.kw.set_app_lock(None, "short", at("2026-11-23T10:00:01Z"))
            .unwrap_err()
            .code,
        ErrorCode::BadInput
    );
    d.kw.set_app_lock(None, PASS, at("2026-11-23T10:00:01Z"))
        .unwrap();
    let record = d.vault.get(LOCK_ACCOUNT).unwrap();
    assert!(!record.windows(PASS.len()).any(|w| w == PASS.as_bytes()));
    assert!(record.starts_with(b"kwlock1"));
    // The store file holds no trace of it either (a PostgreSQL run has no file).
    if !common::on_postgres() {
        let db = std::fs::read(d.dir.path().join("store.db")).unwrap();
        assert!(!db.windows(PASS.len()).any(|w| w == PASS.as_bytes()));
    }

    // Changing or removing needs the current passphrase.
    let err =
        d.kw.set_app_lock(
            Some("nope nope nope"),
            "another passphrase",
            at("2026-11-23T10:00:02Z"),
        )
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::SigningLocked);
    assert_eq!(
        d.vault.get(LOCK_ACCOUNT).unwrap().as_slice(),
        record.as_slice()
    );
    d.kw.set_app_lock(Some(PASS), "another passphrase", at("2026-11-23T10:00:03Z"))
        .unwrap();
    assert_eq!(
        d.kw.remove_app_lock(PASS, at("2026-11-23T10:00:04Z"))
            .unwrap_err()
            .code,
        ErrorCode::SigningLocked
    );
    d.kw.remove_app_lock("another passphrase", at("2026-11-23T10:00:05Z"))
        .unwrap();
    assert!(!d.kw.app_lock_state().unwrap().enabled);
    assert_eq!(
        d.vault.get(LOCK_ACCOUNT).unwrap_err().code,
        ErrorCode::KeychainEntryMissing
    );

    let actions: Vec<String> =
        d.kw.audit_events()
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .filter(|a| a.starts_with("app_lock"))
            .collect();
    assert_eq!(
        actions,
        ["app_lock.enable", "app_lock.change", "app_lock.disable"]
    );
    d.kw.verify_audit().unwrap();
}

#[test]
fn a_damaged_lock_entry_is_reported_not_trusted_and_the_cli_is_not_gated() {
    let mut d = desk();
    // A planted entry with absurd cost parameters: refused without running them.
    let mut planted = b"kwlock1".to_vec();
    planted.extend_from_slice(&u32::MAX.to_le_bytes());
    planted.extend_from_slice(&1u32.to_le_bytes());
    planted.extend_from_slice(&[0u8; 48]);
    d.vault.put(LOCK_ACCOUNT, &planted).unwrap();
    assert_eq!(
        d.kw.unlock_app(PASS).unwrap_err().code,
        ErrorCode::KeychainMismatch
    );
    d.vault.put(LOCK_ACCOUNT, b"garbage").unwrap();
    assert_eq!(
        d.kw.unlock_app(PASS).unwrap_err().code,
        ErrorCode::KeychainMismatch
    );
    // Without enforcement (the CLI), the lock does not stop signing.
    issue(&mut d, "2026-11-23T10:00:01Z").unwrap();
}
