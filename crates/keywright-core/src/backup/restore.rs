//! Restoring a backup onto this machine: everything checked before anything is
//! written (the passphrase, the snapshot's integrity, schema, audit log and keys, the
//! keychain's entries), then the keys into the vault and the store file, atomically,
//! never over an existing store.

use std::io::Write;
use std::path::Path;

use jiff::Timestamp;
use rusqlite::MAIN_DB;

use super::format::{damaged, open, PayloadKey, MAX_BACKUP_BYTES};
use super::snapshot::{legacy_header, load};
use super::{key_rows, matches, BackupRestored, AUDIT_KEY_ALGORITHM, AUDIT_KEY_KID};
use crate::audit::anchor::{self, ANCHOR_ACCOUNT};
use crate::audit::{self, sha256_hex, Anchoring, AuditKey, Event};
use crate::error::{Error, ErrorCode, Result};
use crate::stamp;
use crate::store::db::Db;
use crate::store::{self, create_private_dir, migrate_snapshot, Store};
use crate::vault::{Keychain, Vault};

/// Restores a backup onto this machine: private keys into the OS keychain (service
/// `keywright/<store id>`), the store to `target`.
pub fn restore_backup_to_keychain(
    backup: &Path,
    passphrase: &str,
    target: &Path,
    actor: &str,
    now: Timestamp,
) -> Result<BackupRestored> {
    restore_backup(backup, passphrase, target, actor, now, |id| {
        Box::new(Keychain::for_store(id))
    })
}

/// Restores a backup: decrypts and checks everything first (a wrong passphrase or a
/// damaged file changes nothing), refuses an existing store at `target`, writes the
/// private keys into the vault `vault_for(store id)` gives, then the store file
/// atomically. If any write fails, the keys written so far are removed again.
pub fn restore_backup<F>(
    backup: &Path,
    passphrase: &str,
    target: &Path,
    actor: &str,
    now: Timestamp,
    vault_for: F,
) -> Result<BackupRestored>
where
    F: FnOnce(&str) -> Box<dyn Vault>,
{
    refuse_existing(target)?;
    let size = std::fs::metadata(backup)
        .map_err(|e| {
            Error::new(
                ErrorCode::Io,
                format!("cannot read the backup {}: {e}", backup.display()),
            )
        })?
        .len();
    if size > MAX_BACKUP_BYTES {
        return Err(damaged(format!("it is {size} bytes, more than any backup")));
    }
    let bytes = std::fs::read(backup).map_err(|e| {
        Error::new(
            ErrorCode::Io,
            format!("cannot read the backup {}: {e}", backup.display()),
        )
    })?;
    let payload = open(&bytes, passphrase)?;

    // Everything in the snapshot is checked before anything is written.
    let conn = load(&payload.store)?;
    let integrity = store::integrity_check(&conn)
        .map_err(|e| damaged(format!("its store snapshot cannot be read: {e}")))?;
    if integrity != "ok" {
        return Err(damaged(format!(
            "its store snapshot is corrupt ({integrity})"
        )));
    }
    let version = store::user_version(&conn)?;
    if version > Store::schema_version() as i64 {
        return Err(Error::new(
            ErrorCode::StoreTooNew,
            format!(
                "the backed-up store was written by a newer Keywright (schema {version}; this one knows {}). Update Keywright.",
                Store::schema_version()
            ),
        ));
    }
    // An older snapshot is brought to today's schema (in memory) before it is checked
    // and the restore is recorded in it.
    let mut conn = conn;
    migrate_snapshot(&mut conn)?;
    let store_id = store::read_store_id(&conn)
        .map_err(|_| damaged("its snapshot is not a Keywright store"))?;
    // The audit key travels as one of the keys (format 2); a store anchored before it
    // was backed up must come with it, and its log must check out under it.
    let (audit_keys, signing_keys): (Vec<&PayloadKey>, Vec<&PayloadKey>) = payload
        .keys
        .iter()
        .partition(|k| k.kid == AUDIT_KEY_KID && k.algorithm == AUDIT_KEY_ALGORITHM);
    let carried = match audit_keys.as_slice() {
        [] => None,
        [one] => Some(AuditKey::from_bytes(&one.secret).map_err(|e| damaged(e.message))?),
        _ => return Err(damaged("it holds more than one audit key")),
    };
    let recorded = anchor::recorded(Db::Sqlite(&conn)).map_err(|e| damaged(e.message))?;
    if recorded.is_some() && carried.is_none() {
        return Err(damaged(
            "its store's audit log is anchored, but it holds no audit key",
        ));
    }
    let report = audit::check(
        Db::Sqlite(&conn),
        &Anchoring {
            key: carried.as_ref(),
            ..Anchoring::default()
        },
    )?;
    if !report.intact {
        return Err(damaged(format!(
            "its audit log does not verify: {}",
            report.message
        )));
    }
    let rows = key_rows(Db::Sqlite(&conn)).map_err(|e| damaged(e.message))?;
    for key in &signing_keys {
        let row = rows
            .iter()
            .find(|r| r.kid == key.kid && r.algorithm.as_str() == key.algorithm)
            .ok_or_else(|| {
                damaged(format!(
                    "it holds key {} that its store does not list",
                    key.kid
                ))
            })?;
        if !matches(row, &key.secret) {
            return Err(damaged(format!(
                "its private key {} does not match the public key on record",
                key.kid
            )));
        }
    }
    if let Some(row) = rows
        .iter()
        .find(|r| r.active && !signing_keys.iter().any(|k| k.kid == r.kid))
    {
        return Err(damaged(format!(
            "it has no private key for active signing key {}",
            row.kid
        )));
    }
    let licenses = crate::issuing::sql::count(crate::store::db::Db::Sqlite(&conn))?;

    // Which keys the vault needs; a different key already there is a conflict.
    let vault = vault_for(&store_id);
    // A backup from before logs were anchored gets a new audit key here.
    let audit_key = carried.unwrap_or_else(AuditKey::generate);
    let mut to_write = Vec::new();
    for key in &signing_keys {
        match vault.get(&key.kid) {
            Ok(existing) if existing.as_slice() == key.secret.as_slice() => {}
            Ok(_) => {
                return Err(Error::conflict(format!(
                    "the keychain ({}) already holds a different private key for signing key {}; nothing was changed",
                    vault.service(),
                    key.kid
                )))
            }
            Err(e) if e.code == ErrorCode::KeychainEntryMissing => to_write.push(key),
            Err(e) => return Err(e),
        }
    }
    let write_audit_key = match vault.get(ANCHOR_ACCOUNT).and_then(|b| anchor::decode_entry(&b)) {
        Ok((existing, _)) if existing.secret() == audit_key.secret() => false,
        Ok(_) => {
            return Err(Error::conflict(format!(
                "the keychain ({}) already holds a different audit key for this store; nothing was changed",
                vault.service()
            )))
        }
        Err(e) if e.code == ErrorCode::KeychainEntryMissing => true,
        Err(e) => return Err(e),
    };

    // The restore is on record in the restored store itself.
    let at = stamp(now);
    {
        let tx = conn.unchecked_transaction()?;
        if recorded.is_none() {
            anchor::anchor_log(Db::Sqlite(&tx), &audit_key, &at, actor)?;
        }
        audit::append(
            Db::Sqlite(&tx),
            &audit_key,
            &at,
            actor,
            &Event {
                action: "backup.restored",
                subject_type: Some("store"),
                subject_id: Some(&store_id),
                artifact_sha256: Some(sha256_hex(&bytes)),
                detail: serde_json::json!({
                    "keys": signing_keys.iter().map(|k| k.kid.as_str()).collect::<Vec<_>>(),
                    "licenses": licenses,
                    "auditKey": audit_key.id(),
                }),
                ..Event::default()
            },
        )?;
        tx.commit()?;
    }
    let head = audit::head(Db::Sqlite(&conn))?;
    let mut image = conn.serialize(MAIN_DB)?.to_vec();
    drop(conn);
    legacy_header(&mut image);

    // The store goes to a temporary file beside the target first (0600, flushed).
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    create_private_dir(dir)?;
    let io = |what: &str, e: std::io::Error| {
        Error::new(
            ErrorCode::Io,
            format!("cannot {what} {}: {e}", target.display()),
        )
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".keywright-restore-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| io("create a temporary file next to", e))?;
    tmp.write_all(&image).map_err(|e| io("write", e))?;
    tmp.as_file().sync_all().map_err(|e| io("flush", e))?;

    let mut written = Vec::new();
    let undo = |written: &[&str]| {
        for kid in written {
            let _ = vault.remove(kid);
        }
    };
    for key in &to_write {
        if let Err(e) = vault.put(&key.kid, &key.secret) {
            undo(&written);
            return Err(e);
        }
        written.push(key.kid.as_str());
    }
    if write_audit_key {
        if let Err(e) = vault.put(ANCHOR_ACCOUNT, &anchor::encode_entry(&audit_key, None)) {
            undo(&written);
            return Err(e);
        }
        written.push(ANCHOR_ACCOUNT);
    }
    // Never over a store that appeared meanwhile.
    if let Err(e) = refuse_existing(target) {
        undo(&written);
        return Err(e);
    }
    if let Err(e) = tmp.persist_noclobber(target) {
        undo(&written);
        return Err(io("write", e.error));
    }
    #[cfg(unix)]
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    // The restored log is the truth on this machine now: its head replaces whatever
    // the keychain anchored for this store before. (If this write fails, the next open
    // checks every row's MAC and writes it.)
    let _ = vault.put(
        ANCHOR_ACCOUNT,
        &anchor::encode_entry(&audit_key, Some(&head)),
    );
    Ok(BackupRestored {
        store_path: target.display().to_string(),
        store_id,
        keychain_service: vault.service().to_owned(),
        keys: signing_keys.len() as u32,
        licenses,
    })
}

fn refuse_existing(target: &Path) -> Result<()> {
    let mut sidecars = [target.to_path_buf(), target.to_path_buf()];
    sidecars[0].as_mut_os_string().push("-wal");
    sidecars[1].as_mut_os_string().push("-journal");
    if target.exists() || sidecars.iter().any(|p| p.exists()) {
        return Err(Error::new(
            ErrorCode::StoreExists,
            format!(
                "a store already exists at {}; a restore never overwrites one. Choose a new location (--store PATH) or move it away first; nothing was changed",
                target.display()
            ),
        ));
    }
    Ok(())
}
