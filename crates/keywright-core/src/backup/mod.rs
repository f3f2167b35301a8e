//! Encrypted backups: one file holding a consistent snapshot of the store and every
//! private key from the vault, sealed under a passphrase.
//!
//! The snapshot is taken with SQLite's online backup API into an in-memory database
//! and serialized there: it never touches the disk unencrypted (it holds no private
//! keys anyway; those live only in the vault). The private keys are read from the
//! vault, checked against the public keys on record, and framed with the snapshot in
//! a zeroized buffer that is encrypted in place.
//!
//! File layout (all integers little-endian):
//!
//! ```text
//!   0  8  magic "KWBACKUP"
//!   8  2  format version (2; 1 = before the audit key was carried)
//!  10  1  KDF: 1 = Argon2id v1.3
//!  11  1  AEAD: 1 = XChaCha20-Poly1305
//!  12  4  Argon2 memory, KiB
//!  16  4  Argon2 iterations
//!  20  4  Argon2 lanes
//!  24 16  salt (random)
//!  40 24  nonce (random)
//!  64 32  passphrase check: SHA-256("keywright backup check v1" || Argon2 output[32..64])
//!  96  8  header checksum: SHA-256(bytes 0..96)[0..8]
//! 104  …  ciphertext of the payload + 16-byte tag; the 104 header bytes are the AAD
//! ```
//!
//! Payload: `"KWPAYLD1"`, u32 key count, per key (u8 kid length, kid, u8 algorithm
//! length, algorithm, u32 secret length, secret), u64 snapshot length, snapshot.
//! From version 2 the store's audit key is one of the keys, under kid `audit-key` and
//! algorithm `hmac-sha256` (see [`crate::audit::anchor`]): a restore re-anchors the
//! log on the new machine with it.
//!
//! The header checksum catches accidental damage to the header before any work; the
//! passphrase check tells a wrong passphrase (`BACKUP_PASSPHRASE`) from a damaged body
//! (`BACKUP_DAMAGED`, the AEAD tag). A hostile file can claim anything, so the KDF
//! parameters are bounded before Argon2 allocates memory.

pub(crate) mod format;
mod restore;
pub(crate) mod snapshot;

use std::path::Path;

use jiff::Timestamp;
use keywright_license::issue::SigningKey as PrivateKey;
use serde::Serialize;
use ts_rs::TS;
use zeroize::Zeroizing;

use crate::audit::Event;
use crate::error::{Error, ErrorCode, Result};
use crate::files::ExportedFile;
use crate::keys::{stored_public, KeyAlgorithm};
use crate::store::db::Db;
use crate::{stamp, Keywright};
use snapshot::load;

pub use format::{
    check_passphrase, encode_payload, open, parse_header, parse_payload, seal, Header, KdfParams,
    Payload, PayloadKey, HEADER_LEN, MAGIC, MAX_BACKUP_BYTES, VERSION,
};
pub use restore::{restore_backup, restore_backup_to_keychain};

/// The audit key's key id and algorithm name in a payload.
pub(crate) const AUDIT_KEY_KID: &str = "audit-key";
pub(crate) const AUDIT_KEY_ALGORITHM: &str = "hmac-sha256";

/// What `create_backup` wrote.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct BackupCreated {
    /// The backup file (its SHA-256 is in the `backup.created` audit row).
    pub file: ExportedFile,
    /// The store it holds.
    pub store_id: String,
    /// Private keys it holds.
    pub keys: u32,
    /// Licenses in the snapshot.
    #[ts(type = "number")]
    pub licenses: u64,
}

/// What `restore_backup` put in place.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct BackupRestored {
    /// The new store file.
    pub store_path: String,
    /// Its id (the same as the backed-up store's).
    pub store_id: String,
    /// The keychain service the keys were written under.
    pub keychain_service: String,
    /// Private keys restored into the keychain.
    pub keys: u32,
    /// Licenses in the restored store.
    #[ts(type = "number")]
    pub licenses: u64,
}

/// A signing key on record, as a backup checks private keys against it.
pub(crate) struct KeyRow {
    pub(crate) kid: String,
    pub(crate) algorithm: KeyAlgorithm,
    pub(crate) public: Vec<u8>,
    pub(crate) active: bool,
}

/// The signing keys on record in the database on `conn` (the store, or a snapshot).
pub(crate) fn key_rows(db: Db<'_>) -> Result<Vec<KeyRow>> {
    let rows = crate::keys::sql::stored_keys(db)?;
    rows.into_iter()
        .map(|key| {
            let (kid, algorithm, public, status) =
                (key.kid, key.algorithm, key.public_key, key.status);
            let algorithm = KeyAlgorithm::parse(&algorithm).ok_or_else(|| {
                Error::new(
                    ErrorCode::Store,
                    format!("signing key {kid} has unknown algorithm {algorithm}"),
                )
            })?;
            Ok(KeyRow {
                kid,
                algorithm,
                public,
                active: status == "active",
            })
        })
        .collect()
}

/// True when `secret` is the private half of the key on record.
pub(crate) fn matches(row: &KeyRow, secret: &[u8]) -> bool {
    let Ok(private) = PrivateKey::from_secret_bytes(row.algorithm.to_format(), secret) else {
        return false;
    };
    match stored_public(row.algorithm, &row.public) {
        Ok(public) => public.to_bytes() == private.public_key().to_bytes(),
        Err(_) => false,
    }
}

impl Keywright {
    /// Writes an encrypted backup of this store and its private keys to `out`, with
    /// the shells' KDF cost. The passphrase must pass [`check_passphrase`].
    pub fn create_backup(
        &mut self,
        out: &Path,
        passphrase: &str,
        now: Timestamp,
    ) -> Result<BackupCreated> {
        self.create_backup_with(out, passphrase, KdfParams::DESKTOP, now)
    }

    /// [`Keywright::create_backup`] with a chosen KDF cost (recorded in the file).
    pub fn create_backup_with(
        &mut self,
        out: &Path,
        passphrase: &str,
        kdf: KdfParams,
        now: Timestamp,
    ) -> Result<BackupCreated> {
        check_passphrase(passphrase)?;
        kdf.check()
            .map_err(|e| Error::bad_input(format!("KDF parameters: {}", e.message)))?;
        // Refused before the expensive part: the store, its WAL, a device...
        crate::files::check_output(out, self.store.path())?;
        let audit_key = self.audit_key()?;
        let image = self.store.image()?;
        let snap = load(&image)?;
        let mut keys = Vec::new();
        let mut skipped = Vec::new();
        for row in key_rows(Db::Sqlite(&snap))? {
            let secret = match self.vault.get(&row.kid) {
                Ok(s) => s,
                // A retired or revoked key never signs again: back up what is left.
                Err(e) if e.code == ErrorCode::KeychainEntryMissing && !row.active => {
                    skipped.push(row.kid.clone());
                    continue;
                }
                Err(e) => return Err(e),
            };
            if !matches(&row, &secret) {
                return Err(Error::new(
                    ErrorCode::KeychainMismatch,
                    format!(
                        "the keychain entry for signing key {} is not the key on record; refusing to back it up",
                        row.kid
                    ),
                ));
            }
            keys.push(PayloadKey {
                kid: row.kid.clone(),
                algorithm: row.algorithm.as_str().to_owned(),
                secret,
            });
        }
        let licenses = crate::issuing::sql::count(crate::store::db::Db::Sqlite(&snap))?;
        drop(snap);
        let signing_keys: Vec<String> = keys.iter().map(|k| k.kid.clone()).collect();
        keys.push(PayloadKey {
            kid: AUDIT_KEY_KID.to_owned(),
            algorithm: AUDIT_KEY_ALGORITHM.to_owned(),
            secret: Zeroizing::new(audit_key.secret().to_vec()),
        });
        let bytes = seal(passphrase, kdf, &keys, &image)?;
        let at = stamp(now);
        let store_id = self.store.store_id().to_owned();
        let file = self.write_audited_file(
            out,
            &bytes,
            &at,
            Event {
                action: "backup.created",
                subject_type: Some("store"),
                subject_id: Some(&store_id),
                detail: serde_json::json!({
                    "keys": signing_keys,
                    "auditKey": audit_key.id(),
                    "keysWithoutKeychainEntry": skipped,
                    "licenses": licenses,
                    "kdf": {
                        "algorithm": "argon2id",
                        "memoryKib": kdf.memory_kib,
                        "iterations": kdf.iterations,
                        "lanes": kdf.lanes,
                    },
                }),
                ..Event::default()
            },
            "argon2id+xchacha20poly1305",
        )?;
        Ok(BackupCreated {
            file,
            store_id,
            keys: signing_keys.len() as u32,
            licenses,
        })
    }
}
