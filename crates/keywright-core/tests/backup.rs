//! Encrypted backup and restore: a full round trip onto a "fresh machine" (a new vault,
//! a new folder), wrong passphrases and damaged files that change nothing, thousands
//! of mutated backups of which none is accepted, hostile headers, and key writes
//! rolled back when the vault fails midway.

mod common;

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use base64::Engine as _;
use jiff::Timestamp;
use keywright_core::backup::{self, KdfParams, HEADER_LEN};
use keywright_core::verify::{verify, VerifyRequest};
use keywright_core::*;
use rusqlite::types::Value;
use rusqlite::{Connection, OpenFlags};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use common::now;

const PASS: &str = "correct horse battery staple orbit";

fn later() -> Timestamp {
    "2026-11-24T09:00:00.000Z".parse().unwrap()
}

struct Source {
    kw: Keywright,
    vault: Arc<MemoryVault>,
    /// (policy id, public key PEM) per product.
    products: Vec<(String, String)>,
    kids: Vec<String>,
}

/// A store with keys of every algorithm (plus a retired one), products, policies,
/// customers, licenses and an exported file.
fn source(dir: &Path, algorithms: &[KeyAlgorithm]) -> Source {
    let vault = Arc::new(MemoryVault::default());
    let store = Store::open(&dir.join("source.db")).unwrap();
    let mut kw = Keywright::with_vault(store, Box::new(vault.clone()), "tester");
    let mut products = Vec::new();
    let mut kids = Vec::new();
    for (i, alg) in algorithms.iter().enumerate() {
        let key = kw
            .create_signing_key(
                &NewSigningKey {
                    name: format!("key {i}"),
                    algorithm: *alg,
                },
                now(),
            )
            .unwrap();
        kids.push(key.kid.clone());
        let product = kw
            .create_product(
                &NewProduct {
                    name: format!("Product {i}"),
                    signing_key_id: Some(key.id.clone()),
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
                    ..Default::default()
                },
                now(),
            )
            .unwrap();
        for c in 0..3 {
            let license = kw
                .issue_license(
                    &IssueLicense {
                        policy_id: policy.id.clone(),
                        customer_name: Some(format!("Customer {i}-{c}")),
                        customer_email: Some(format!("c{i}{c}@example.com")),
                        ..Default::default()
                    },
                    now(),
                )
                .unwrap();
            if c == 0 {
                kw.export_license_file(
                    &ExportLicenseFile {
                        license_id: license.id.clone(),
                        path: dir.join(format!("l{i}.lic")).display().to_string(),
                        ..Default::default()
                    },
                    now(),
                )
                .unwrap();
            }
        }
        products.push((policy.id, key.public_key_pem));
    }
    if algorithms.len() > 1 {
        // A retired key: still in the keychain, still backed up.
        let old = kw
            .create_signing_key(
                &NewSigningKey {
                    name: "old".into(),
                    algorithm: KeyAlgorithm::Ed25519,
                },
                now(),
            )
            .unwrap();
        kw.retire_signing_key(&old.kid, now()).unwrap();
        kids.push(old.kid);
    }
    Source {
        kw,
        vault,
        products,
        kids,
    }
}

/// Every row of every table (FTS shadow tables included), as sorted text.
fn dump(path: &Path) -> Vec<(String, Vec<String>)> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let mut tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    tables.retain(|t| t != "audit_events");
    let mut out = Vec::new();
    for t in tables {
        let mut stmt = conn.prepare(&format!("SELECT * FROM \"{t}\"")).unwrap();
        let n = stmt.column_count();
        let mut rows: Vec<String> = stmt
            .query_map([], |r| {
                let vals: Vec<Value> = (0..n).map(|i| r.get(i)).collect::<rusqlite::Result<_>>()?;
                Ok(format!("{vals:?}"))
            })
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        rows.sort();
        out.push((t, rows));
    }
    out
}

fn audit_rows(path: &Path) -> Vec<(String, String, Option<String>)> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let mut stmt = conn
        .prepare("SELECT action, hash, artifact_sha256 FROM audit_events ORDER BY seq")
        .unwrap();
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    rows
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn secret_forms(secret: &[u8]) -> Vec<Vec<u8>> {
    vec![
        secret.to_vec(),
        hex::encode(secret).into_bytes(),
        base64::engine::general_purpose::STANDARD
            .encode(secret)
            .into_bytes(),
    ]
}

fn fresh_vault(v: &Arc<MemoryVault>) -> impl FnOnce(&str) -> Box<dyn Vault> {
    let v = v.clone();
    move |_| Box::new(v)
}

#[test]
fn round_trip_onto_a_fresh_machine() {
    let dir = tempfile::tempdir().unwrap();
    let mut src = source(
        dir.path(),
        &[
            KeyAlgorithm::Ed25519,
            KeyAlgorithm::EcdsaP256,
            KeyAlgorithm::Rsa2048,
        ],
    );
    let file = dir.path().join("store.kwbackup");
    let started = std::time::Instant::now();
    let created = src.kw.create_backup(&file, PASS, now()).unwrap();
    let create_time = started.elapsed();
    assert_eq!(created.keys as usize, src.kids.len());
    assert_eq!(created.licenses, 9);
    let bytes = std::fs::read(&file).unwrap();
    assert_eq!(created.file.sha256, hex::encode(Sha256::digest(&bytes)));
    assert_eq!(
        backup::parse_header(&bytes).unwrap().kdf,
        KdfParams::DESKTOP,
        "the shells' cost is recorded"
    );

    // The source store recorded the backup with the file's SHA-256.
    let source_path = dir.path().join("source.db");
    let src_audit = audit_rows(&source_path);
    let last = src_audit.last().unwrap();
    assert_eq!(last.0, "backup.created");
    assert_eq!(last.2.as_deref(), Some(created.file.sha256.as_str()));
    src.kw.verify_audit().unwrap();

    // No secret in the backup file in clear, nor in its decrypted snapshot.
    let payload = backup::open(&bytes, PASS).unwrap();
    for kid in &src.kids {
        let secret = src.vault.get(kid).unwrap();
        for form in secret_forms(&secret) {
            assert!(!contains(&bytes, &form), "secret of {kid} in the backup");
            assert!(
                !contains(&payload.store, &form),
                "secret of {kid} in the snapshot"
            );
        }
    }

    // A fresh machine: an empty vault and a folder that does not exist yet.
    let machine = Arc::new(MemoryVault::default());
    let target = dir
        .path()
        .join("new-machine")
        .join("data")
        .join("keywright.db");
    let started = std::time::Instant::now();
    let restored = restore_backup(
        &file,
        PASS,
        &target,
        "restorer",
        later(),
        fresh_vault(&machine),
    )
    .unwrap();
    eprintln!(
        "backup with {:?}: create {create_time:?}, restore {:?}, {} bytes",
        KdfParams::DESKTOP,
        started.elapsed(),
        bytes.len()
    );
    assert_eq!(restored.store_id, created.store_id);
    assert_eq!(restored.keys as usize, src.kids.len());
    assert_eq!(restored.licenses, 9);

    // Every table's rows are identical; the audit log is the source's up to the
    // backup, plus the restore.
    assert_eq!(dump(&target), dump(&source_path));
    let dst_audit = audit_rows(&target);
    assert_eq!(
        dst_audit[..dst_audit.len() - 1],
        src_audit[..src_audit.len() - 1]
    );
    let restore_row = dst_audit.last().unwrap();
    assert_eq!(restore_row.0, "backup.restored");
    assert_eq!(restore_row.2.as_deref(), Some(created.file.sha256.as_str()));

    // Keys are identical, and the store file holds none of them.
    let store_bytes = std::fs::read(&target).unwrap();
    for kid in &src.kids {
        assert_eq!(
            machine.get(kid).unwrap().as_slice(),
            src.vault.get(kid).unwrap().as_slice()
        );
        for form in secret_forms(&src.vault.get(kid).unwrap()) {
            assert!(!contains(&store_bytes, &form));
        }
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&target), 0o600);
        assert_eq!(mode(target.parent().unwrap()), 0o700);
    }
    let leftovers: Vec<_> = std::fs::read_dir(target.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers, [std::ffi::OsString::from("keywright.db")]);

    // The restored store opens, its chain verifies, and licenses issued with the
    // restored keys verify with the ORIGINAL public keys.
    let store = Store::open(&target).unwrap();
    assert_eq!(store.store_id(), created.store_id);
    let mut kw = Keywright::with_vault(store, Box::new(machine.clone()), "restorer");
    kw.verify_audit().unwrap();
    for (policy, public_pem) in &src.products {
        let license = kw
            .issue_license(
                &IssueLicense {
                    policy_id: policy.clone(),
                    ..Default::default()
                },
                later(),
            )
            .unwrap();
        let report = verify(
            &VerifyRequest {
                key: Some(license.key.clone()),
                public_key: public_pem.clone(),
                ..Default::default()
            },
            later(),
        )
        .unwrap();
        assert!(report.is_valid(), "{report:?}");
    }
    assert_eq!(kw.list_licenses().unwrap().len(), 12);
}

fn small_backup(dir: &Path) -> (Source, std::path::PathBuf, Vec<u8>) {
    let mut src = source(dir, &[KeyAlgorithm::Ed25519]);
    let file = dir.join("small.kwbackup");
    src.kw
        .create_backup_with(&file, PASS, KdfParams::TEST_ONLY_CHEAP, now())
        .unwrap();
    let bytes = std::fs::read(&file).unwrap();
    (src, file, bytes)
}

fn assert_nothing_written(target: &Path, vault: &MemoryVault, kids: &[String]) {
    assert!(!target.exists(), "no store file");
    assert!(
        !target.parent().unwrap().exists(),
        "not even the store's folder"
    );
    for kid in kids {
        assert_eq!(
            vault.get(kid).unwrap_err().code,
            ErrorCode::KeychainEntryMissing,
            "no keychain entry for {kid}"
        );
    }
}

#[test]
fn wrong_passphrase_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (src, file, _) = small_backup(dir.path());
    let machine = Arc::new(MemoryVault::default());
    let target = dir.path().join("fresh").join("keywright.db");
    for wrong in ["correct horse battery staple orbiT", "", "x"] {
        let err =
            restore_backup(&file, wrong, &target, "r", later(), fresh_vault(&machine)).unwrap_err();
        assert_eq!(err.code, ErrorCode::BackupPassphrase, "{err}");
        assert_nothing_written(&target, &machine, &src.kids);
    }
    // The right one works afterwards.
    restore_backup(&file, PASS, &target, "r", later(), fresh_vault(&machine)).unwrap();
    assert!(target.exists());
}

#[test]
fn weak_passphrase_is_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let mut src = source(dir.path(), &[KeyAlgorithm::Ed25519]);
    let before = src.kw.audit_events().unwrap().len();
    for weak in ["password", "keywright2026", "abc123", "qwertyuiop", ""] {
        let file = dir.path().join("weak.kwbackup");
        let err = src
            .kw
            .create_backup_with(&file, weak, KdfParams::TEST_ONLY_CHEAP, now())
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::WeakPassphrase, "{weak:?}: {err}");
        assert!(err.message.contains("too easy to guess"), "{err}");
        assert!(!file.exists());
    }
    assert_eq!(src.kw.audit_events().unwrap().len(), before);
    backup::check_passphrase(PASS).unwrap();
}

#[test]
fn existing_store_is_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let (src, file, _) = small_backup(dir.path());
    let machine = Arc::new(MemoryVault::default());
    // The source store itself, and an unrelated file.
    let source_path = dir.path().join("source.db");
    let before = std::fs::read(&source_path).unwrap();
    let err = restore_backup(
        &file,
        PASS,
        &source_path,
        "r",
        later(),
        fresh_vault(&machine),
    )
    .unwrap_err();
    assert_eq!(err.code, ErrorCode::StoreExists, "{err}");
    assert_eq!(std::fs::read(&source_path).unwrap(), before);
    let other = dir.path().join("other.db");
    std::fs::write(&other, b"precious").unwrap();
    let err = restore_backup(&file, PASS, &other, "r", later(), fresh_vault(&machine)).unwrap_err();
    assert_eq!(err.code, ErrorCode::StoreExists);
    assert_eq!(std::fs::read(&other).unwrap(), b"precious");
    for kid in &src.kids {
        assert!(machine.get(kid).is_err());
    }
}

/// xorshift64*: deterministic positions without a dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn mutated_backups_are_never_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let (src, file, good) = small_backup(dir.path());
    let machine = Arc::new(MemoryVault::default());
    let target = dir.path().join("fresh").join("keywright.db");
    let mut tried = 0usize;
    let mut accepted = 0usize;
    let mut check = |bytes: &[u8], through_restore: bool| {
        tried += 1;
        let err = if through_restore {
            let path = dir.path().join("mutant.kwbackup");
            std::fs::write(&path, bytes).unwrap();
            restore_backup(&path, PASS, &target, "r", later(), fresh_vault(&machine)).err()
        } else {
            backup::open(bytes, PASS).err()
        };
        match err {
            None => accepted += 1,
            Some(e) => assert!(
                matches!(e.code, ErrorCode::BackupDamaged | ErrorCode::StoreTooNew),
                "{:?}: {e}",
                e.code
            ),
        }
    };

    // Every bit of the header.
    for pos in 0..HEADER_LEN {
        for bit in 0..8 {
            let mut m = good.clone();
            m[pos] ^= 1 << bit;
            check(&m, false);
        }
    }
    // Every byte of the first and last 4 KiB of the body (payload framing, key
    // secrets, the snapshot's header; the tag), one random bit each.
    let mut rng = Rng(0x5eed_0b5e_55ed);
    let body = HEADER_LEN..good.len();
    for pos in body
        .clone()
        .take(4096)
        .chain(body.clone().skip(body.len().saturating_sub(4096)))
    {
        let mut m = good.clone();
        m[pos] ^= 1 << rng.below(8);
        check(&m, false);
    }
    // 2,000 random single-bit flips anywhere, 200 of them through the full restore.
    for i in 0..2000 {
        let mut m = good.clone();
        let pos = rng.below(m.len());
        m[pos] ^= 1 << rng.below(8);
        check(&m, i < 200);
    }
    // Truncations: every length through the header and the tag, then random ones.
    for len in (0..HEADER_LEN + 32).chain(good.len() - 32..good.len()) {
        check(&good[..len], len % 16 == 0);
    }
    for _ in 0..300 {
        let len = rng.below(good.len());
        check(&good[..len], false);
    }
    // Appended bytes.
    for extra in [&[0u8][..], &[0; 16], &[0xff; 1000], b"KWBACKUP"] {
        let mut m = good.clone();
        m.extend_from_slice(extra);
        check(&m, true);
    }
    eprintln!(
        "backup mutants: {tried} tried, {accepted} accepted ({} bytes, header {HEADER_LEN})",
        good.len()
    );
    assert_eq!(accepted, 0);
    assert!(tried >= 2000 + 8 * HEADER_LEN + 8192);
    assert_nothing_written(&target, &machine, &src.kids);
    // The unmutated file still restores.
    restore_backup(&file, PASS, &target, "r", later(), fresh_vault(&machine)).unwrap();
}

/// Rewrites header fields and recomputes the checksum, as a hostile file would.
fn forge_header(good: &[u8], edit: impl Fn(&mut [u8])) -> Vec<u8> {
    let mut m = good.to_vec();
    edit(&mut m);
    let sum = Sha256::digest(&m[..96]);
    m[96..104].copy_from_slice(&sum[..8]);
    m
}

#[test]
fn hostile_headers_are_refused_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let (_src, _file, good) = small_backup(dir.path());
    let le = |v: u32| v.to_le_bytes();
    let cases: Vec<(&str, Vec<u8>, ErrorCode)> = vec![
        (
            "4 TiB of memory",
            forge_header(&good, |m| m[12..16].copy_from_slice(&le(u32::MAX))),
            ErrorCode::BackupDamaged,
        ),
        (
            "2 GiB of memory",
            forge_header(&good, |m| m[12..16].copy_from_slice(&le(2 * 1024 * 1024))),
            ErrorCode::BackupDamaged,
        ),
        (
            "a billion passes",
            forge_header(&good, |m| m[16..20].copy_from_slice(&le(1_000_000_000))),
            ErrorCode::BackupDamaged,
        ),
        (
            "zero passes",
            forge_header(&good, |m| m[16..20].copy_from_slice(&le(0))),
            ErrorCode::BackupDamaged,
        ),
        (
            "zero lanes",
            forge_header(&good, |m| m[20..24].copy_from_slice(&le(0))),
            ErrorCode::BackupDamaged,
        ),
        (
            "10,000 lanes",
            forge_header(&good, |m| m[20..24].copy_from_slice(&le(10_000))),
            ErrorCode::BackupDamaged,
        ),
        (
            "another KDF",
            forge_header(&good, |m| m[10] = 2),
            ErrorCode::BackupDamaged,
        ),
        (
            "another cipher",
            forge_header(&good, |m| m[11] = 7),
            ErrorCode::BackupDamaged,
        ),
        (
            "version 0",
            forge_header(&good, |m| m[8..10].copy_from_slice(&0u16.to_le_bytes())),
            ErrorCode::BackupDamaged,
        ),
        (
            "a newer format",
            forge_header(&good, |m| {
                m[8..10].copy_from_slice(&(backup::VERSION + 1).to_le_bytes())
            }),
            ErrorCode::StoreTooNew,
        ),
        (
            // Valid cost, but not what the file was sealed with: the check value
            // (and the AAD) no longer match.
            "cost changed within bounds",
            forge_header(&good, |m| m[12..16].copy_from_slice(&le(128))),
            ErrorCode::BackupPassphrase,
        ),
    ];
    for (what, bytes, code) in cases {
        let started = std::time::Instant::now();
        let err = backup::open(&bytes, PASS).unwrap_err();
        assert_eq!(err.code, code, "{what}: {err}");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(2),
            "{what} took {:?}",
            started.elapsed()
        );
    }
    // A check value that matches but a body sealed under other AAD: forge the check
    // from a second backup's header onto this body.
    let other = {
        let (_s, _f, b) = small_backup(&dir.path().join("b"));
        b
    };
    let mut spliced = other[..HEADER_LEN].to_vec();
    spliced.extend_from_slice(&good[HEADER_LEN..]);
    assert_eq!(
        backup::open(&spliced, PASS).unwrap_err().code,
        ErrorCode::BackupDamaged
    );
}

/// A vault that fails on the n-th write (a keychain that locks midway).
struct FailingVault {
    inner: Arc<MemoryVault>,
    puts: AtomicUsize,
    fail_at: usize,
}

impl Vault for FailingVault {
    fn put(&self, account: &str, secret: &[u8]) -> Result<()> {
        if self.puts.fetch_add(1, Ordering::SeqCst) + 1 == self.fail_at {
            return Err(Error::new(
                ErrorCode::KeychainUnavailable,
                "OS keychain: locked",
            ));
        }
        self.inner.put(account, secret)
    }
    fn get(&self, account: &str) -> Result<Zeroizing<Vec<u8>>> {
        self.inner.get(account)
    }
    fn remove(&self, account: &str) -> Result<()> {
        self.inner.remove(account)
    }
    fn service(&self) -> &str {
        "failing"
    }
}

#[test]
fn vault_failure_midway_rolls_back_the_keys() {
    let dir = tempfile::tempdir().unwrap();
    let mut src = source(
        dir.path(),
        &[KeyAlgorithm::Ed25519, KeyAlgorithm::EcdsaP256],
    );
    let file = dir.path().join("b.kwbackup");
    src.kw
        .create_backup_with(&file, PASS, KdfParams::TEST_ONLY_CHEAP, now())
        .unwrap();
    let target = dir.path().join("fresh").join("keywright.db");
    for fail_at in 1..=src.kids.len() {
        let inner = Arc::new(MemoryVault::default());
        let vault_inner = inner.clone();
        let err = restore_backup(&file, PASS, &target, "r", later(), move |_| {
            Box::new(FailingVault {
                inner: vault_inner,
                puts: AtomicUsize::new(0),
                fail_at,
            })
        })
        .unwrap_err();
        assert_eq!(err.code, ErrorCode::KeychainUnavailable);
        assert!(!target.exists());
        for kid in &src.kids {
            assert!(
                inner.get(kid).is_err(),
                "key {kid} rolled back (fail at {fail_at})"
            );
        }
        // No temporary file is left in the target folder.
        let left = std::fs::read_dir(target.parent().unwrap()).unwrap().count();
        assert_eq!(left, 0);
    }
}

#[test]
fn a_different_key_already_in_the_keychain_is_a_conflict() {
    let dir = tempfile::tempdir().unwrap();
    let (src, file, _) = small_backup(dir.path());
    let machine = Arc::new(MemoryVault::default());
    machine.put(&src.kids[0], &[7u8; 32]).unwrap();
    let target = dir.path().join("fresh").join("keywright.db");
    let err =
        restore_backup(&file, PASS, &target, "r", later(), fresh_vault(&machine)).unwrap_err();
    assert_eq!(err.code, ErrorCode::Conflict, "{err}");
    assert!(!target.exists());
    assert_eq!(machine.get(&src.kids[0]).unwrap().as_slice(), &[7u8; 32]);

    // The same key already there (restoring on the machine it came from) is fine,
    // and a failed restore must not remove it.
    let same = Arc::new(MemoryVault::default());
    same.put(&src.kids[0], &src.vault.get(&src.kids[0]).unwrap())
        .unwrap();
    restore_backup(&file, PASS, &target, "r", later(), fresh_vault(&same)).unwrap();
    assert_eq!(
        same.get(&src.kids[0]).unwrap().as_slice(),
        src.vault.get(&src.kids[0]).unwrap().as_slice()
    );
}

#[test]
fn backup_refuses_a_missing_active_key_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut src = source(dir.path(), &[KeyAlgorithm::Ed25519]);
    src.vault.remove(&src.kids[0]).unwrap();
    let before = src.kw.audit_events().unwrap().len();
    let file = dir.path().join("b.kwbackup");
    let err = src
        .kw
        .create_backup_with(&file, PASS, KdfParams::TEST_ONLY_CHEAP, now())
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::KeychainEntryMissing);
    assert!(!file.exists());
    assert_eq!(src.kw.audit_events().unwrap().len(), before);
}

#[test]
fn snapshot_is_consistent_while_another_instance_writes() {
    let dir = tempfile::tempdir().unwrap();
    let mut src = source(dir.path(), &[KeyAlgorithm::Ed25519]);
    let policy = src.products[0].0.clone();
    // A second instance on the same store file issues licenses meanwhile.
    let other = Store::open(&dir.path().join("source.db")).unwrap();
    let mut writer = Keywright::with_vault(other, Box::new(src.vault.clone()), "writer");
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop_writer = stop.clone();
    let handle = std::thread::spawn(move || {
        let mut issued = 0;
        while !stop_writer.load(Ordering::SeqCst) && issued < 400 {
            writer
                .issue_license(
                    &IssueLicense {
                        policy_id: policy.clone(),
                        customer_email: Some(format!("w{issued}@example.com")),
                        ..Default::default()
                    },
                    now(),
                )
                .unwrap();
            issued += 1;
        }
        issued
    });
    let mut files = Vec::new();
    for i in 0..4 {
        let file = dir.path().join(format!("during-{i}.kwbackup"));
        src.kw
            .create_backup_with(&file, PASS, KdfParams::TEST_ONLY_CHEAP, now())
            .unwrap();
        files.push(file);
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    stop.store(true, Ordering::SeqCst);
    let issued = handle.join().unwrap();
    let mut seen = Vec::new();
    for (i, file) in files.iter().enumerate() {
        let target = dir.path().join(format!("r{i}")).join("keywright.db");
        let machine = Arc::new(MemoryVault::default());
        // restore_backup itself checks integrity_check and the audit chain.
        let r = restore_backup(file, PASS, &target, "r", later(), fresh_vault(&machine)).unwrap();
        let conn = Connection::open(&target).unwrap();
        let issues: i64 = conn
            .query_row(
                "SELECT count(*) FROM audit_events WHERE action = 'license.issue'",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(issues as u64, r.licenses, "every license has its audit row");
        let unindexed: i64 = conn
            .query_row(
                "SELECT count(*) FROM licenses WHERE seq NOT IN (SELECT rowid FROM license_search)",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(unindexed, 0, "the search index matches the rows");
        seen.push(r.licenses);
    }
    eprintln!("snapshots during {issued} concurrent issues held {seen:?} licenses");
    assert!(seen.windows(2).all(|w| w[0] <= w[1]));
}
