//! The audit log proves the store (issue 12): rows are MACed with a key in the vault,
//! the newest row is kept in the vault too, and replaying the log gives the store's
//! rows. Each attack below is what someone holding only the database file can do;
//! each is detected, named, and stops changes while reading goes on.

mod common;

use std::path::Path;
use std::sync::Arc;

use jiff::Timestamp;
use keywright_core::audit::anchor::{self, AnchorState, ANCHOR_ACCOUNT};
use keywright_core::*;
use rusqlite::Connection;
use sha2::{Digest, Sha256};

use common::at;

struct Fixture {
    dir: tempfile::TempDir,
    vault: Arc<MemoryVault>,
    kw: Keywright,
    licenses: Vec<License>,
    machine: Machine,
}

impl Fixture {
    fn path(&self) -> std::path::PathBuf {
        self.dir.path().join("store.db")
    }

    fn sql(&self, sql: &str) {
        Connection::open(self.path())
            .unwrap()
            .execute_batch(sql)
            .unwrap();
    }

    /// The store opened again, as the next command would, with the same vault.
    fn reopen(&self) -> Keywright {
        Keywright::with_vault(
            Store::open(&self.path()).unwrap(),
            Box::new(self.vault.clone()),
            "tester",
        )
    }
}

/// A key, a product, a floating policy, three licenses (one suspended, one renewed),
/// a machine.
fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let vault = Arc::<MemoryVault>::default();
    let mut kw = Keywright::with_vault(
        Store::open(&dir.path().join("store.db")).unwrap(),
        Box::new(vault.clone()),
        "tester",
    );
    assert_eq!(kw.audit_status().state, AnchorState::Anchored);
    let t = at("2026-11-01T09:00:00Z");
    kw.create_signing_key(
        &NewSigningKey {
            name: "Main".into(),
            algorithm: KeyAlgorithm::Ed25519,
        },
        t,
    )
    .unwrap();
    let product = kw
        .create_product(
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
                product_id: product.id,
                name: "Yearly".into(),
                duration: Some("1y".into()),
                max_machines: Some(3),
                floating: true,
                ..Default::default()
            },
            t,
        )
        .unwrap();
    let licenses: Vec<License> = (0..3)
        .map(|i| {
            kw.issue_license(
                &IssueLicense {
                    policy_id: policy.id.clone(),
                    customer_email: Some(format!("ada{i}@example.com")),
                    ..Default::default()
                },
                t,
            )
            .unwrap()
        })
        .collect();
    kw.suspend_license(&licenses[0].id, t).unwrap();
    kw.renew_license(
        &RenewLicense {
            license_id: licenses[1].id.clone(),
            by: "1y".into(),
        },
        t,
    )
    .unwrap();
    let machine = kw
        .activate_machine(
            &ActivateMachine {
                license_id: licenses[2].id.clone(),
                fingerprint: "fp-1".into(),
                ..Default::default()
            },
            t,
        )
        .unwrap();
    Fixture {
        dir,
        vault,
        kw,
        licenses,
        machine,
    }
}

/// What an attacker with the file can do: recompute a row's hash and every hash after
/// it (the chain's encoding is public: a JSON array of the fields).
fn rehash_from(conn: &Connection, from: i64) {
    let rows: Vec<(i64, Vec<Option<String>>)> = conn
        .prepare(
            "SELECT seq, at, actor, action, subject_type, subject_id, signing_key_kid,
                    artifact_sha256, detail, state FROM audit_events WHERE seq >= ?1 ORDER BY seq",
        )
        .unwrap()
        .query_map([from], |r| {
            Ok((
                r.get(0)?,
                (1..10).map(|i| r.get(i).unwrap()).collect::<Vec<_>>(),
            ))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut prev: String = conn
        .query_row(
            "SELECT coalesce((SELECT hash FROM audit_events WHERE seq = ?1), ?2)",
            rusqlite::params![from - 1, audit::GENESIS],
            |r| r.get(0),
        )
        .unwrap();
    for (seq, f) in rows {
        let mut fields = vec![serde_json::json!(prev)];
        fields.extend(f[..8].iter().map(|v| serde_json::json!(v)));
        if let Some(state) = &f[8] {
            fields.push(serde_json::json!(state));
        }
        let hash = hex::encode(Sha256::digest(
            serde_json::Value::Array(fields).to_string().as_bytes(),
        ));
        conn.execute(
            "UPDATE audit_events SET prev_hash = ?1, hash = ?2 WHERE seq = ?3",
            rusqlite::params![prev, hash, seq],
        )
        .unwrap();
        prev = hash;
    }
}

/// The head the vault's anchor entry holds.
fn head_of_vault(vault: &MemoryVault) -> audit::Head {
    anchor::decode_entry(&vault.get(ANCHOR_ACCOUNT).unwrap())
        .unwrap()
        .1
        .expect("a head was written")
}

fn assert_refuses_changes(kw: &mut Keywright, code: ErrorCode) {
    let err = kw
        .create_product(
            &NewProduct {
                name: "Refused".into(),
                ..Default::default()
            },
            Timestamp::now(),
        )
        .unwrap_err();
    assert_eq!(err.code, code, "{err}");
    assert!(kw.find_product("REFUSED").is_err(), "nothing was written");
}

#[test]
fn an_intact_store_is_anchored_and_its_replay_matches() {
    let f = fixture();
    let report = f.kw.check_audit().unwrap();
    assert!(report.intact && report.anchored, "{report:?}");
    assert_eq!(report.problem_count, 0);
    // Every row about a tracked row recorded its state, and carries a MAC.
    let events = f.kw.audit_events().unwrap();
    assert!(events.iter().all(|e| e.mac.is_some()));
    assert!(events
        .iter()
        .filter(|e| e.subject_type.as_deref() == Some("license"))
        .all(|e| e.state.is_some()));
    let reopened = f.reopen();
    assert_eq!(reopened.audit_status().state, AnchorState::Anchored);
    // The head in the vault is the newest row.
    let head = head_of_vault(&f.vault);
    assert_eq!(head.seq, events.last().unwrap().seq);
}

#[test]
fn deleting_the_last_rows_is_seen_at_open_and_by_verify() {
    let f = fixture();
    let rows = f.kw.audit_events().unwrap().len() as i64;
    f.sql(&format!(
        "DELETE FROM audit_events WHERE seq > {}",
        rows - 2
    ));
    let mut kw = f.reopen();
    let status = kw.audit_status();
    assert_eq!(status.state, AnchorState::Tampered, "{status:?}");
    assert!(
        status
            .message
            .contains(&format!("rows {} to {rows} were deleted", rows - 1)),
        "{}",
        status.message
    );
    let report = kw.check_audit().unwrap();
    assert!(!report.intact);
    assert!(
        report.problems.iter().any(|p| p.contains("were deleted")),
        "{report:?}"
    );
    // Reading works; changes are refused.
    assert_eq!(kw.list_licenses().unwrap().len(), 3);
    assert_refuses_changes(&mut kw, ErrorCode::AuditTampered);
}

#[test]
fn deleting_every_row_is_not_an_empty_intact_log() {
    let f = fixture();
    f.sql("DELETE FROM audit_events");
    let kw = f.reopen();
    assert_eq!(kw.audit_status().state, AnchorState::Tampered);
    let report = kw.check_audit().unwrap();
    assert!(!report.intact, "{report:?}");
    assert!(
        report
            .message
            .contains("every row of the audit log was deleted"),
        "{}",
        report.message
    );
}

#[test]
fn an_edited_row_with_the_chain_recomputed_fails_its_mac() {
    let f = fixture();
    let conn = Connection::open(f.path()).unwrap();
    // Hide who suspended the license: rewrite the actor, then re-hash the chain.
    let seq: i64 = conn
        .query_row(
            "SELECT seq FROM audit_events WHERE action = 'license.suspend'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    conn.execute(
        "UPDATE audit_events SET actor = 'nobody' WHERE seq = ?1",
        [seq],
    )
    .unwrap();
    rehash_from(&conn, seq);
    // Without the MACs the chain alone would now check out.
    let report = f.kw.check_audit().unwrap();
    assert!(!report.intact);
    assert_eq!(report.broken_at, Some(seq), "{report:?}");
    assert!(
        report
            .message
            .contains("does not carry this store's audit key"),
        "{}",
        report.message
    );
    // The head row's hash changed too: seen at open.
    let kw = f.reopen();
    assert_eq!(kw.audit_status().state, AnchorState::Tampered);
}

#[test]
fn an_invented_row_appended_after_the_head_is_seen_at_open() {
    let f = fixture();
    let conn = Connection::open(f.path()).unwrap();
    let (seq, hash): (i64, String) = conn
        .query_row(
            "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    conn.execute(
        "INSERT INTO audit_events (seq, at, actor, action, detail, prev_hash, hash, mac)
         VALUES (?1, '2026-11-02T00:00:00.000Z', 'x', 'license.revoke', '{}', ?2, 'h', 'm')",
        rusqlite::params![seq + 1, hash],
    )
    .unwrap();
    rehash_from(&conn, seq + 1);
    let kw = f.reopen();
    assert_eq!(kw.audit_status().state, AnchorState::Tampered);
    assert!(
        kw.audit_status()
            .message
            .contains("written outside Keywright"),
        "{:?}",
        kw.audit_status()
    );
}

#[test]
fn data_rows_changed_without_their_audit_row_are_named() {
    let f = fixture();
    let (l0, l1, l2) = (&f.licenses[0].id, &f.licenses[1].id, &f.licenses[2].id);
    let cases: Vec<(String, String)> = vec![
        (
            format!("UPDATE licenses SET status = 'active' WHERE id = '{l0}'"),
            format!("license {l0} was changed outside Keywright: status is \"active\" in the store but \"suspended\" in the log"),
        ),
        (
            format!("UPDATE licenses SET expiry = '2099-01-01T00:00:00.000Z' WHERE id = '{l1}'"),
            format!("license {l1} was changed outside Keywright: expiry is \"2099-01-01T00:00:00.000Z\""),
        ),
        (
            "UPDATE policies SET max_machines = 100".into(),
            "was changed outside Keywright: max_machines is 100 in the store but 3 in the log".into(),
        ),
        (
            format!("UPDATE licenses SET key = 'key/other' WHERE id = '{l2}'"),
            format!("license {l2} was changed outside Keywright: key is \"sha256:"),
        ),
        (
            format!("UPDATE machines SET status = 'deactivated', deactivated_at = activated_at WHERE id = '{}'", f.machine.id),
            format!("machine {} was changed outside Keywright: status is \"deactivated\"", f.machine.id),
        ),
        (
            "UPDATE signing_keys SET status = 'retired'".into(),
            "was changed outside Keywright: status is \"retired\" in the store but \"active\" in the log".into(),
        ),
        (
            format!("INSERT INTO licenses (id, key, policy_id, signing_key_id, created_at, updated_at)
                     SELECT 'forged', 'key/forged', policy_id, signing_key_id, created_at, updated_at
                     FROM licenses WHERE id = '{l0}'"),
            "license forged is in the store, but no audit row records it".into(),
        ),
        (
            format!("DELETE FROM machines WHERE id = '{}'", f.machine.id),
            format!("machine {} is recorded by the log", f.machine.id),
        ),
    ];
    let n = cases.len();
    for (sql, expected) in cases {
        // Each on a fresh copy of the store, with the same vault.
        let copy = tempfile::tempdir().unwrap();
        let path = copy.path().join("store.db");
        Connection::open(f.path())
            .unwrap()
            .execute("VACUUM INTO ?1", [path.display().to_string()])
            .unwrap();
        Connection::open(&path)
            .unwrap()
            .execute_batch(&sql)
            .unwrap();
        let kw = Keywright::with_vault(
            Store::open(&path).unwrap(),
            Box::new(f.vault.clone()),
            "auditor",
        );
        let report = kw.check_audit().unwrap();
        assert!(!report.intact, "{sql}: {report:?}");
        assert!(
            report.problems.iter().any(|p| p.contains(&expected)),
            "{sql}: expected {expected:?} in {:#?}",
            report.problems
        );
    }
    assert_eq!(n, 8);
}

#[test]
fn a_replaced_or_missing_audit_key_stops_changes() {
    let f = fixture();
    let other = audit::AuditKey::from_bytes(&[7u8; 32]).unwrap();
    f.vault
        .put(
            ANCHOR_ACCOUNT,
            &anchor::encode_entry(&other, Some(&head_of_vault(&f.vault))),
        )
        .unwrap();
    let mut kw = f.reopen();
    assert_eq!(kw.audit_status().state, AnchorState::Tampered);
    assert!(kw
        .audit_status()
        .message
        .contains("not the one this store was anchored with"));
    assert_refuses_changes(&mut kw, ErrorCode::AuditTampered);

    f.vault.remove(ANCHOR_ACCOUNT).unwrap();
    let mut kw = f.reopen();
    assert_eq!(kw.audit_status().state, AnchorState::KeyMissing);
    assert_refuses_changes(&mut kw, ErrorCode::KeychainEntryMissing);
    // Reading still works.
    assert_eq!(kw.list_licenses().unwrap().len(), 3);
}

#[test]
fn an_unreachable_keychain_at_open_is_retried_before_a_change() {
    let f = fixture();
    f.vault.fail_with(Some(ErrorCode::KeychainUnavailable));
    let mut kw = f.reopen();
    assert_eq!(kw.audit_status().state, AnchorState::Unverified);
    assert_eq!(kw.list_licenses().unwrap().len(), 3);
    assert_refuses_changes(&mut kw, ErrorCode::KeychainUnavailable);
    f.vault.fail_with(None);
    let id = kw.list_licenses().unwrap()[1].id.clone();
    kw.suspend_license(&id, Timestamp::now()).unwrap();
    assert_eq!(kw.audit_status().state, AnchorState::Anchored);
}

/// A vault whose head writes fail (as if the process died right after the commit).
struct NoHeadWrites(Arc<MemoryVault>);

impl Vault for NoHeadWrites {
    fn put(&self, account: &str, secret: &[u8]) -> Result<()> {
        if account == ANCHOR_ACCOUNT {
            return Err(Error::new(ErrorCode::KeychainUnavailable, "simulated"));
        }
        self.0.put(account, secret)
    }
    fn get(&self, account: &str) -> Result<zeroize::Zeroizing<Vec<u8>>> {
        self.0.get(account)
    }
    fn remove(&self, account: &str) -> Result<()> {
        self.0.remove(account)
    }
    fn service(&self) -> &str {
        "no-head-writes"
    }
}

#[test]
fn a_head_that_lags_after_a_crash_moves_up_at_open() {
    let f = fixture();
    let before = head_of_vault(&f.vault);
    let mut kw = Keywright::with_vault(
        Store::open(&f.path()).unwrap(),
        Box::new(NoHeadWrites(f.vault.clone())),
        "tester",
    );
    let id = f.licenses[1].id.clone();
    // The change commits; the head cannot be written after it.
    kw.suspend_license(&id, Timestamp::now()).unwrap();
    drop(kw);
    let lagging = head_of_vault(&f.vault);
    assert_eq!(lagging, before, "the head lags one commit behind");
    // The next open checks the rows after the head (their MACs) and moves it up.
    let kw = f.reopen();
    assert_eq!(kw.audit_status().state, AnchorState::Anchored);
    let head = head_of_vault(&f.vault);
    assert_eq!(head.seq, kw.audit_events().unwrap().last().unwrap().seq);
    assert_ne!(head, before);
}

/// A store written by the release before anchoring (see tests/fixtures/README.md).
fn old_store(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("old.db");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v1-store.db"),
        &path,
    )
    .unwrap();
    path
}

#[test]
fn an_older_store_is_checked_once_then_anchored_with_a_baseline() {
    let dir = tempfile::tempdir().unwrap();
    let path = old_store(dir.path());
    let rows_before: i64 = Connection::open(&path)
        .unwrap()
        .query_row("SELECT count(*) FROM audit_events", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows_before, 17);
    let vault = Arc::<MemoryVault>::default();
    let kw = Keywright::with_vault(Store::open(&path).unwrap(), Box::new(vault.clone()), "t");
    assert_eq!(kw.audit_status().state, AnchorState::Anchored);
    let events = kw.audit_events().unwrap();
    let anchor = events.last().unwrap();
    assert_eq!(anchor.action, "audit.anchor");
    assert_eq!(anchor.seq, rows_before + 1);
    let detail: serde_json::Value = serde_json::from_str(&anchor.detail).unwrap();
    assert_eq!(detail["rowsChecked"], 17);
    // 1 key + 1 product + 2 policies + 3 licenses + 2 machines.
    assert_eq!(detail["baselineRows"], 9);
    let report = kw.check_audit().unwrap();
    assert!(report.intact && report.anchored, "{report:?}");
    drop(kw);

    // Opening again does not anchor twice.
    let kw = Keywright::with_vault(Store::open(&path).unwrap(), Box::new(vault.clone()), "t");
    assert_eq!(kw.audit_events().unwrap().len(), events.len());
    drop(kw);

    // An edit after anchoring is named against the baseline.
    Connection::open(&path)
        .unwrap()
        .execute(
            "UPDATE licenses SET status = 'active' WHERE status = 'suspended'",
            [],
        )
        .unwrap();
    let kw = Keywright::with_vault(Store::open(&path).unwrap(), Box::new(vault.clone()), "t");
    let report = kw.check_audit().unwrap();
    assert!(
        report.problems.iter().any(|p| p
            .contains("status is \"active\" in the store but \"suspended\" in the log")
            && p.contains("the baseline recorded when the log was anchored")),
        "{report:?}"
    );
    drop(kw);

    // And an edit of the baseline itself is seen.
    Connection::open(&path)
        .unwrap()
        .execute(
            "UPDATE audit_baseline SET state = replace(state, 'suspended', 'active')",
            [],
        )
        .unwrap();
    let kw = Keywright::with_vault(Store::open(&path).unwrap(), Box::new(vault), "t");
    let report = kw.check_audit().unwrap();
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.contains("audit baseline") && p.contains("was edited")),
        "{report:?}"
    );
}

#[test]
fn an_older_store_whose_chain_is_already_broken_is_not_anchored() {
    let dir = tempfile::tempdir().unwrap();
    let path = old_store(dir.path());
    Connection::open(&path)
        .unwrap()
        .execute(
            "UPDATE audit_events SET actor = 'mallory' WHERE seq = 5",
            [],
        )
        .unwrap();
    let mut kw = Keywright::with_vault(
        Store::open(&path).unwrap(),
        Box::<MemoryVault>::default(),
        "t",
    );
    let status = kw.audit_status();
    assert_eq!(status.state, AnchorState::Tampered);
    assert!(status.message.contains("row 5"), "{}", status.message);
    assert_eq!(kw.list_licenses().unwrap().len(), 3);
    assert_refuses_changes(&mut kw, ErrorCode::AuditTampered);
    // Nothing was written: no anchor row, no MACs.
    let macs: i64 = Connection::open(&path)
        .unwrap()
        .query_row(
            "SELECT count(*) FROM audit_events WHERE mac IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(macs, 0);
}

#[test]
fn a_backup_carries_the_anchor_and_a_restore_re_anchors() {
    let f = fixture();
    let mut kw = f.reopen();
    let file = f.dir.path().join("b.kwbackup");
    let pass = "plum velvet gravel anthem 42";
    kw.create_backup_with(&file, pass, KdfParams::TEST_ONLY_CHEAP, Timestamp::now())
        .unwrap();
    let key_id = anchor::decode_entry(&f.vault.get(ANCHOR_ACCOUNT).unwrap())
        .unwrap()
        .0
        .id();
    let target = f.dir.path().join("restored.db");
    let elsewhere = Arc::<MemoryVault>::default();
    let v = elsewhere.clone();
    restore_backup(&file, pass, &target, "t", Timestamp::now(), move |_| {
        Box::new(v)
    })
    .unwrap();
    let (carried, _) = anchor::decode_entry(&elsewhere.get(ANCHOR_ACCOUNT).unwrap()).unwrap();
    assert_eq!(carried.id(), key_id, "the same key");
    let restored = Keywright::with_vault(
        Store::open(&target).unwrap(),
        Box::new(elsewhere.clone()),
        "t",
    );
    assert_eq!(restored.audit_status().state, AnchorState::Anchored);
    let report = restored.check_audit().unwrap();
    assert!(report.intact && report.anchored, "{report:?}");
    assert_eq!(
        restored.audit_events().unwrap().last().unwrap().action,
        "backup.restored"
    );
}

#[test]
fn a_backup_from_before_anchoring_restores_and_is_anchored_on_the_new_machine() {
    let dir = tempfile::tempdir().unwrap();
    let vault = Arc::<MemoryVault>::default();
    let v = vault.clone();
    let target = dir.path().join("restored.db");
    let r = restore_backup(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v1.kwbackup"),
        "plum velvet gravel anthem 42",
        &target,
        "t",
        Timestamp::now(),
        move |_| Box::new(v),
    )
    .unwrap();
    assert_eq!(r.keys, 1);
    assert_eq!(r.licenses, 3);
    let mut kw = Keywright::with_vault(Store::open(&target).unwrap(), Box::new(vault), "t");
    assert_eq!(kw.audit_status().state, AnchorState::Anchored);
    let report = kw.check_audit().unwrap();
    assert!(report.intact && report.anchored, "{report:?}");
    let actions: Vec<String> = kw
        .audit_events()
        .unwrap()
        .into_iter()
        .rev()
        .take(2)
        .map(|e| e.action)
        .collect();
    assert_eq!(actions, ["backup.restored", "audit.anchor"]);
    // The restored store signs with the restored key.
    let policy = kw.list_policies().unwrap()[0].id.clone();
    kw.issue_license(
        &IssueLicense {
            policy_id: policy,
            ..Default::default()
        },
        Timestamp::now(),
    )
    .unwrap();
    assert!(kw.check_audit().unwrap().intact);
}
