//! Key bundles (`keywright key bundle`, `serve --keys`): a round trip from a store
//! with a memory vault to a store opened over the bundle, the audited export, a state
//! file that holds the audit head and no secret, and the refusals: tampered, truncated
//! and wrong-passphrase bundles, a backup given as a bundle (and the reverse), a bundle
//! of another store, a retired key, writes of signing keys through the bundle, an
//! edited state file.

mod common;

use std::path::Path;

use keywright_core::audit::anchor::AnchorState;
use keywright_core::backup::KdfParams;
use keywright_core::*;

use common::{now, TestStore};

const PASS: &str = "correct horse battery staple orbit";

fn bundle(t: &mut TestStore, keys: &[String]) -> (std::path::PathBuf, KeyBundleCreated) {
    let out = t.file("server.kwkeys");
    let made =
        t.kw.create_key_bundle(&out, PASS, keys, KdfParams::TEST_ONLY_CHEAP, now())
            .unwrap();
    (out, made)
}

fn open_err(bytes: &[u8], pass: &str) -> Error {
    KeyBundle::open(bytes, pass).unwrap_err()
}

/// Whether `needle` occurs in `hay`, raw or as hex.
fn holds(hay: &[u8], needle: &[u8]) -> bool {
    let hex = hex::encode(needle);
    hay.windows(needle.len()).any(|w| w == needle)
        || hay
            .windows(hex.len())
            .any(|w| w.eq_ignore_ascii_case(hex.as_bytes()))
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn a_bundle_round_trips_and_serves_signing_from_memory() {
    let mut t = TestStore::new();
    let ed = t.key("Main");
    let p256 = t.key_of("Second", KeyAlgorithm::EcdsaP256);
    let old = t.key("Old");
    t.kw.retire_signing_key(&old.kid, now()).unwrap();
    let product = t.product("Zapper");
    let policy = t.policy(&product, "Std", None);

    let (out, made) = bundle(&mut t, &[]);
    let mut expected = vec![ed.kid.clone(), p256.kid.clone()];
    expected.sort();
    let mut kids = made.keys.clone();
    kids.sort();
    assert_eq!(kids, expected, "active keys only");
    #[cfg(unix)]
    assert_eq!(mode(&out), 0o600);

    // Audited as an export of key material: which keys, who, when, the file's hash.
    let events = t.kw.audit_events().unwrap();
    let row = events
        .iter()
        .find(|e| e.action == "key_bundle.export")
        .expect("an audit row");
    assert_eq!(row.actor, "tester");
    assert_eq!(
        row.artifact_sha256.as_deref(),
        Some(made.file.sha256.as_str())
    );
    let detail = serde_json::to_string(&row.detail).unwrap();
    assert!(
        detail.contains(&ed.kid) && detail.contains(&p256.kid),
        "{detail}"
    );

    // No private key bytes in the file, raw or hex.
    let bytes = std::fs::read(&out).unwrap();
    for kid in [&ed.kid, &p256.kid, &old.kid] {
        let secret = t.vault.get(kid).unwrap();
        assert!(!holds(&bytes, &secret), "{kid} in the bundle");
    }
    let anchor = t.vault.get("audit-anchor").unwrap();
    assert!(
        !holds(&bytes, &anchor[8..40]),
        "the audit key in the bundle"
    );

    let opened = KeyBundle::open(&bytes, PASS).unwrap();
    assert_eq!(opened.kids(), expected);
    assert_eq!(opened.store_id(), t.kw.store().store_id());
    assert_eq!(opened.audit_key_id(), made.audit_key_id);
    assert!(!format!("{opened:?}").contains(&hex::encode(&*t.vault.get(&ed.kid).unwrap())));

    // The server's side: the store over the bundle, no keychain.
    let path = t.location();
    let state = t.dir.path().join("state");
    let mut kw = Keywright::open_with_bundle(&path, opened, &out, &state, "server").unwrap();
    assert_eq!(
        kw.audit_status().state,
        AnchorState::Anchored,
        "{:?}",
        kw.audit_status()
    );
    let (_, key, _) = kw.product_signer(&product.id, now()).unwrap();
    assert_eq!(key.id, product.signing_key_id);
    let license = kw
        .issue_license(
            &IssueLicense {
                policy_id: policy.id.clone(),
                ..Default::default()
            },
            now(),
        )
        .unwrap();
    assert!(license.key.starts_with("key/"), "{}", license.key);
    // Signing keys are not written through a bundle.
    let refused = kw
        .create_signing_key(
            &NewSigningKey {
                name: "New".into(),
                algorithm: KeyAlgorithm::Ed25519,
            },
            now(),
        )
        .unwrap_err();
    assert_eq!(refused.code, ErrorCode::Conflict, "{refused}");
    assert!(refused.message.contains("key bundle"), "{refused}");
    kw.flush_anchor();
    drop(kw);

    // The head is in the state file, 0600, with no secret in it.
    let file = state.join(bundle::state_file_name(&made.store_id));
    let text = std::fs::read(&file).unwrap();
    #[cfg(unix)]
    assert_eq!(mode(&file), 0o600);
    for kid in [&ed.kid, &p256.kid] {
        assert!(!holds(&text, &t.vault.get(kid).unwrap()));
    }
    assert!(!holds(&text, &anchor[8..40]));
    let rows = t.kw.audit_events().unwrap().len() as i64;
    let head: serde_json::Value = serde_json::from_slice(&text).unwrap();
    assert_eq!(head["seq"], rows);

    // Reopened over the bundle: still anchored. Rows deleted from the end: found.
    let again = || KeyBundle::open(&bytes, PASS).unwrap();
    let kw = Keywright::open_with_bundle(&path, again(), &out, &state, "server").unwrap();
    assert_eq!(kw.audit_status().state, AnchorState::Anchored);
    drop(kw);
    let conn = common::Raw::at(&t.path());
    conn.execute("DELETE FROM audit_events WHERE seq = ?1", &[rows.into()]);
    drop(conn);
    let kw = Keywright::open_with_bundle(&path, again(), &out, &state, "server").unwrap();
    let status = kw.audit_status();
    assert_eq!(status.state, AnchorState::Tampered, "{status:?}");
    assert!(status.message.contains("deleted"), "{status:?}");
    // A server has no OS keychain: the message names where the anchor is.
    assert!(
        !status.message.contains("OS keychain")
            && status.message.contains("the key bundle and its state file"),
        "{status:?}"
    );
    let report = kw.check_audit().unwrap();
    assert!(!report.intact);
    assert!(
        !report.message.contains("OS keychain"),
        "{}",
        report.message
    );
}

#[test]
fn a_state_file_edited_by_hand_is_refused() {
    let mut t = TestStore::new();
    t.key("Main");
    let (out, made) = bundle(&mut t, &[]);
    let bytes = std::fs::read(&out).unwrap();
    let state = t.dir.path().join("state");
    let path = t.location();
    let mut kw = Keywright::open_with_bundle(
        &path,
        KeyBundle::open(&bytes, PASS).unwrap(),
        &out,
        &state,
        "server",
    )
    .unwrap();
    kw.flush_anchor();
    drop(kw);
    let file = state.join(bundle::state_file_name(&made.store_id));
    let mut head: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    head["seq"] = serde_json::json!(head["seq"].as_i64().unwrap() - 1);
    std::fs::write(&file, serde_json::to_vec(&head).unwrap()).unwrap();
    let kw = Keywright::open_with_bundle(
        &path,
        KeyBundle::open(&bytes, PASS).unwrap(),
        &out,
        &state,
        "server",
    )
    .unwrap();
    let status = kw.audit_status();
    assert_eq!(status.state, AnchorState::Tampered, "{status:?}");
    assert!(status.message.contains("audit head file"), "{status:?}");
}

#[test]
fn tampered_truncated_and_wrong_passphrase_bundles_are_refused() {
    let mut t = TestStore::new();
    t.key("Main");
    let (out, _) = bundle(&mut t, &[]);
    let bytes = std::fs::read(&out).unwrap();

    let e = open_err(&bytes, "not the passphrase at all, sorry");
    assert_eq!(e.code, ErrorCode::KeyBundlePassphrase, "{e}");
    let e = open_err(&bytes, "");
    assert_eq!(e.code, ErrorCode::BadInput, "{e}");

    // Every bit of the header and a sample of the body: none accepted.
    let mut tried = 0;
    for at in (0..bytes.len()).step_by(7).chain(0..104) {
        for bit in [0u8, 5] {
            let mut m = bytes.clone();
            m[at] ^= 1 << bit;
            let e = open_err(&m, PASS);
            assert!(
                matches!(
                    e.code,
                    ErrorCode::KeyBundleDamaged
                        | ErrorCode::KeyBundlePassphrase
                        | ErrorCode::StoreTooNew
                ),
                "byte {at} bit {bit}: {e}"
            );
            tried += 1;
        }
    }
    assert!(tried > 200);
    println!(
        "{tried} single-bit mutants of a {}-byte bundle: 0 accepted",
        bytes.len()
    );
    for len in [0, 7, 8, 103, 104, 119, bytes.len() - 1] {
        let e = open_err(&bytes[..len], PASS);
        assert_eq!(e.code, ErrorCode::KeyBundleDamaged, "length {len}: {e}");
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert_eq!(open_err(&longer, PASS).code, ErrorCode::KeyBundleDamaged);
}

#[test]
fn a_backup_is_not_a_bundle_nor_a_bundle_a_backup() {
    let mut t = TestStore::new();
    t.key("Main");
    let (out, _) = bundle(&mut t, &[]);
    let backup = t.file("store.kwbackup");
    t.kw.create_backup_with(&backup, PASS, KdfParams::TEST_ONLY_CHEAP, now())
        .unwrap();

    let e = open_err(&std::fs::read(&backup).unwrap(), PASS);
    assert_eq!(e.code, ErrorCode::KeyBundleDamaged, "{e}");
    assert!(
        e.message
            .contains("it is a Keywright backup, not a key bundle"),
        "{e}"
    );

    let target = t.dir.path().join("restored/store.db");
    let e = restore_backup(&out, PASS, &target, "tester", now(), |_| {
        Box::new(MemoryVault::default())
    })
    .unwrap_err();
    assert_eq!(e.code, ErrorCode::BackupDamaged, "{e}");
    assert!(
        e.message
            .contains("it is a Keywright key bundle, not a backup"),
        "{e}"
    );
    assert!(!target.exists());

    let e = open_err(
        b"plain text, not a bundle at all......................",
        PASS,
    );
    assert!(
        e.message
            .contains("does not start with a Keywright key bundle header"),
        "{e}"
    );
}

#[test]
fn a_bundle_of_another_store_is_refused() {
    let mut a = TestStore::new();
    a.key("Main");
    let (out, _) = bundle(&mut a, &[]);
    let mut b = TestStore::new();
    b.key("Other");
    let e = Keywright::open_with_bundle(
        &b.path(),
        KeyBundle::open(&std::fs::read(&out).unwrap(), PASS).unwrap(),
        &out,
        &b.dir.path().join("state"),
        "server",
    )
    .unwrap_err();
    assert_eq!(e.code, ErrorCode::KeyBundleMismatch, "{e}");
    assert!(e.message.contains("was made for store"), "{e}");
}

#[test]
fn chosen_keys_retired_keys_and_weak_passphrases() {
    let mut t = TestStore::new();
    let main = t.key("Main");
    let other = t.key("Other");
    let (out, made) = bundle(&mut t, std::slice::from_ref(&other.name));
    assert_eq!(made.keys, vec![other.kid.clone()]);
    let opened = KeyBundle::open(&std::fs::read(&out).unwrap(), PASS).unwrap();
    assert_eq!(opened.kids(), vec![other.kid.clone()]);

    // A product whose key the bundle lacks: its signer says which key and how to add it.
    let product =
        t.kw.create_product(
            &NewProduct {
                name: "Main product".into(),
                signing_key_id: Some(main.id.clone()),
                ..Default::default()
            },
            now(),
        )
        .unwrap();
    let kw = Keywright::open_with_bundle(
        &t.location(),
        opened,
        &out,
        &t.dir.path().join("s"),
        "server",
    )
    .unwrap();
    let e = kw.product_signer(&product.id, now()).unwrap_err();
    assert_eq!(e.code, ErrorCode::KeychainEntryMissing, "{e}");
    assert!(e.message.contains(&format!("--key {}", main.kid)), "{e}");
    drop(kw);

    t.kw.retire_signing_key(&main.kid, now()).unwrap();
    let e =
        t.kw.create_key_bundle(
            &t.file("b2"),
            PASS,
            std::slice::from_ref(&main.kid),
            KdfParams::TEST_ONLY_CHEAP,
            now(),
        )
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::Conflict, "{e}");
    let e =
        t.kw.create_key_bundle(
            &t.file("b3"),
            "password",
            &[],
            KdfParams::TEST_ONLY_CHEAP,
            now(),
        )
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::WeakPassphrase, "{e}");
    if !common::on_postgres() {
        // (A store in PostgreSQL has no file to overwrite.)
        let e =
            t.kw.create_key_bundle(&t.path(), PASS, &[], KdfParams::TEST_ONLY_CHEAP, now())
                .unwrap_err();
        assert_eq!(e.code, ErrorCode::OutputIsStore, "{e}");
    }
    assert!(!t.file("b2").exists() && !t.file("b3").exists());
}

#[test]
fn the_app_lock_guards_a_bundle() {
    let mut t = TestStore::new();
    t.key("Main");
    t.kw.set_app_lock(None, "lock passphrase 2026", now())
        .unwrap();
    t.kw.enforce_app_lock(std::time::Duration::from_secs(60));
    let out = t.file("locked.kwkeys");
    let e =
        t.kw.create_key_bundle(&out, PASS, &[], KdfParams::TEST_ONLY_CHEAP, now())
            .unwrap_err();
    assert_eq!(e.code, ErrorCode::SigningLocked, "{e}");
    assert!(!out.exists());
    assert!(t
        .kw
        .audit_events()
        .unwrap()
        .iter()
        .all(|e| e.action != bundle::EXPORT_ACTION));
    t.kw.unlock_app("lock passphrase 2026").unwrap();
    t.kw.create_key_bundle(&out, PASS, &[], KdfParams::TEST_ONLY_CHEAP, now())
        .unwrap();
    assert!(out.exists());
}
