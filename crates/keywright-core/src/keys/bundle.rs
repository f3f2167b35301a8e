//! Key bundles: the store's active signing keys and its audit key, sealed under a
//! passphrase, for a server that has no OS keychain (`keywright serve --keys`).
//!
//! Written by [`Keywright::create_key_bundle`] (an audited export of key material,
//! `key_bundle.export`: which keys, who, when), read by [`KeyBundle::open`]. The file is
//! the backup format's header and crypto (Argon2id, XChaCha20-Poly1305 with the header
//! as associated data, `crate::backup::format`) under its own magic `KWKEYBND`, version
//! 1, and passphrase-check label, so a backup is never taken for a bundle nor the other
//! way round. Its payload is the backup's framing: the signing keys (kid, algorithm,
//! secret), the audit key (kid `audit-key`), and in place of a store snapshot a small
//! JSON description: the store's id, when the bundle was made, the audit key's id and
//! the audit log's head at that time.
//!
//! [`BundleVault`] is a [`Vault`] over an opened bundle, in memory (zeroized on drop,
//! never written out). It refuses to store or remove signing keys. The audit anchor's
//! entry (`audit-anchor`) is the bundle's audit key with the newer of two heads: the
//! one the bundle carries and the one in a state file beside it, which the vault writes
//! (atomically, 0600) when the store moves the head. That file holds no secret: the
//! position and hash of the newest row, MACed with the audit key under its own label,
//! so it cannot be forged without the bundle nor copied from a row's MAC.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::audit::anchor::{decode_entry, encode_entry, recorded, ANCHOR_ACCOUNT};
use crate::audit::{AuditKey, Event, Head};
use crate::backup::format::{open_of, seal_of, KEY_BUNDLE};
use crate::backup::{
    check_passphrase, key_rows, matches, KdfParams, KeyRow, PayloadKey, AUDIT_KEY_ALGORITHM,
    AUDIT_KEY_KID,
};
use crate::error::{Error, ErrorCode, Result};
use crate::files::ExportedFile;
use crate::vault::Vault;
use crate::{stamp, Keywright, Store};

/// The largest key bundle read: a bundle is a few keys, a few KiB.
pub const MAX_BUNDLE_BYTES: usize = 1 << 20;
/// The audit row of a bundle's export.
pub const EXPORT_ACTION: &str = "key_bundle.export";
/// The first line of the state file's format.
const STATE_FORMAT: &str = "keywright audit head 1";

/// What a bundle says about itself (the payload's "snapshot" part).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct About {
    store_id: String,
    created: String,
    audit_key_id: String,
    head: Head,
}

/// What `create_key_bundle` wrote.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyBundleCreated {
    /// The bundle file (its SHA-256 is in the `key_bundle.export` audit row).
    pub file: ExportedFile,
    /// The store it serves.
    pub store_id: String,
    /// The signing keys (kids) it holds.
    pub keys: Vec<String>,
    /// The id of the audit key it holds.
    pub audit_key_id: String,
}

/// An opened key bundle: secrets in memory, zeroized on drop.
pub struct KeyBundle {
    about: About,
    audit_key: AuditKey,
    keys: HashMap<String, Zeroizing<Vec<u8>>>,
}

impl std::fmt::Debug for KeyBundle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyBundle")
            .field("store_id", &self.about.store_id)
            .field("keys", &self.kids())
            .finish_non_exhaustive()
    }
}

impl KeyBundle {
    /// Decrypts and checks a bundle file's bytes. A wrong passphrase is
    /// `KEY_BUNDLE_PASSPHRASE`; damage, truncation or another kind of file (a backup)
    /// `KEY_BUNDLE_DAMAGED`; an empty passphrase `BAD_INPUT`.
    pub fn open(bytes: &[u8], passphrase: &str) -> Result<Self> {
        if passphrase.is_empty() {
            return Err(Error::bad_input(
                "the key bundle's passphrase is empty; give the one the bundle was made with",
            ));
        }
        if bytes.len() > MAX_BUNDLE_BYTES {
            return Err(KEY_BUNDLE.damaged(format!(
                "it is {} bytes, more than any key bundle ({MAX_BUNDLE_BYTES})",
                bytes.len()
            )));
        }
        let payload = open_of(&KEY_BUNDLE, bytes, passphrase)?;
        let about: About = serde_json::from_slice(&payload.store)
            .map_err(|e| KEY_BUNDLE.damaged(format!("its description cannot be read ({e})")))?;
        let mut audit_key = None;
        let mut keys = HashMap::new();
        for k in payload.keys {
            if k.kid == AUDIT_KEY_KID {
                if k.algorithm != AUDIT_KEY_ALGORITHM || audit_key.is_some() {
                    return Err(KEY_BUNDLE.damaged("its audit key is not one Keywright wrote"));
                }
                audit_key = Some(
                    AuditKey::from_bytes(&k.secret).map_err(|e| KEY_BUNDLE.damaged(e.message))?,
                );
            } else if keys.insert(k.kid.clone(), k.secret).is_some() {
                return Err(KEY_BUNDLE.damaged(format!("it holds signing key {} twice", k.kid)));
            }
        }
        let audit_key = audit_key.ok_or_else(|| KEY_BUNDLE.damaged("it holds no audit key"))?;
        if audit_key.id() != about.audit_key_id {
            return Err(KEY_BUNDLE.damaged("its audit key is not the one it describes"));
        }
        Ok(Self {
            about,
            audit_key,
            keys,
        })
    }

    /// The id of the store it was made from.
    pub fn store_id(&self) -> &str {
        &self.about.store_id
    }

    /// When it was made.
    pub fn created(&self) -> &str {
        &self.about.created
    }

    /// The signing keys it holds, by kid, sorted.
    pub fn kids(&self) -> Vec<String> {
        let mut kids: Vec<String> = self.keys.keys().cloned().collect();
        kids.sort();
        kids
    }

    /// The public id of the audit key it holds.
    pub fn audit_key_id(&self) -> String {
        self.audit_key.id()
    }

    /// Refuses a bundle made for another store, or whose audit key is not the one
    /// the store's log was anchored with.
    fn check_store(&self, store: &Store) -> Result<()> {
        if self.store_id() != store.store_id() {
            return Err(Error::new(
                ErrorCode::KeyBundleMismatch,
                format!(
                    "the key bundle was made for store {}, not for the store at {} (store {}): \
                     make a bundle from this store with `keywright key bundle`; nothing was served",
                    self.store_id(),
                    store.path().display(),
                    store.store_id()
                ),
            ));
        }
        if let Some(record) = recorded(store.db())? {
            if record.key_id != self.audit_key_id() {
                return Err(Error::new(
                    ErrorCode::KeyBundleMismatch,
                    format!(
                        "the key bundle's audit key ({}) is not the one the audit log of the store at {} \
                         was anchored with ({}): the bundle comes from another copy of this store. Make a \
                         bundle from the copy being served; nothing was served",
                        self.audit_key_id(),
                        store.path().display(),
                        record.key_id
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// The state file's name for a store: one folder can hold the heads of several.
pub fn state_file_name(store_id: &str) -> String {
    format!("keywright-{store_id}.audit-head")
}

/// The state file: the audit log's newest row as the server last recorded it.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct StateFile {
    format: String,
    store_id: String,
    audit_key_id: String,
    seq: i64,
    hash: String,
    mac: String,
}

/// A [`Vault`] over an opened [`KeyBundle`]: signing keys are read from it, never
/// written; the audit anchor's head is kept in a state file.
pub struct BundleVault {
    bundle: KeyBundle,
    state_file: PathBuf,
    store: PathBuf,
    service: String,
}

impl std::fmt::Debug for BundleVault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BundleVault")
            .field("service", &self.service)
            .field("state_file", &self.state_file)
            .finish_non_exhaustive()
    }
}

impl BundleVault {
    /// The bundle read from `bundle_file`, with the head of the store at `store` in
    /// `state_file`.
    pub fn new(bundle: KeyBundle, bundle_file: &Path, state_file: PathBuf, store: &Path) -> Self {
        Self {
            bundle,
            state_file,
            store: store.to_owned(),
            service: format!("key bundle {}", bundle_file.display()),
        }
    }

    /// The state file's head, if there is one; a file that is not one this bundle's
    /// key wrote for this store is refused.
    fn state_head(&self) -> Result<Option<Head>> {
        let shown = self.state_file.display();
        let bytes = match std::fs::read(&self.state_file) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(Error::new(
                    ErrorCode::Io,
                    format!("cannot read the audit head file {shown}: {e}"),
                ))
            }
        };
        let tampered = |why: &str| {
            Error::new(
                ErrorCode::AuditTampered,
                format!("the audit head file {shown} {why}: it was edited or replaced"),
            )
        };
        let state: StateFile =
            serde_json::from_slice(&bytes).map_err(|_| tampered("is not one Keywright wrote"))?;
        if state.format != STATE_FORMAT {
            return Err(tampered("has an unknown format"));
        }
        if state.store_id != self.bundle.store_id() {
            return Err(tampered(&format!(
                "is another store's ({})",
                state.store_id
            )));
        }
        let head = Head {
            seq: state.seq,
            hash: state.hash,
        };
        if state.audit_key_id != self.bundle.audit_key_id()
            || !self
                .bundle
                .audit_key
                .head_mac_matches(&state.store_id, &head, &state.mac)
        {
            return Err(tampered("does not carry this store's audit key"));
        }
        Ok(Some(head))
    }

    fn write_state(&self, head: &Head) -> Result<()> {
        let key = &self.bundle.audit_key;
        let state = StateFile {
            format: STATE_FORMAT.to_owned(),
            store_id: self.bundle.store_id().to_owned(),
            audit_key_id: key.id(),
            seq: head.seq,
            hash: head.hash.clone(),
            mac: key.head_mac(self.bundle.store_id(), head),
        };
        let mut text = serde_json::to_vec_pretty(&state).expect("serializes");
        text.push(b'\n');
        // Temp file (0600) + fsync + rename + fsync of the folder.
        crate::files::write_atomically(&self.state_file, &text, Some(&self.store))
    }
}

fn read_only() -> Error {
    Error::conflict(
        "the server's keys come from a key bundle, which is read-only: signing keys are created, \
         replaced and removed on the desktop (in the OS keychain); make a new bundle afterwards",
    )
}

impl Vault for BundleVault {
    fn put(&self, account: &str, secret: &[u8]) -> Result<()> {
        if account != ANCHOR_ACCOUNT {
            return Err(read_only());
        }
        let (key, head) = decode_entry(secret)?;
        if key.id() != self.bundle.audit_key_id() {
            return Err(Error::new(
                ErrorCode::KeyBundleMismatch,
                format!(
                    "refusing to anchor the audit log under another audit key ({}) than the key bundle's ({})",
                    key.id(),
                    self.bundle.audit_key_id()
                ),
            ));
        }
        match head {
            Some(head) => self.write_state(&head),
            None => Ok(()),
        }
    }

    fn get(&self, account: &str) -> Result<Zeroizing<Vec<u8>>> {
        if account == ANCHOR_ACCOUNT {
            let carried = &self.bundle.about.head;
            let head = match self.state_head()? {
                Some(h) if h.seq >= carried.seq => h,
                // The bundle is newer than the state file (a bundle made after the
                // state was last written): its head is the one to hold the log to.
                _ => carried.clone(),
            };
            return Ok(encode_entry(&self.bundle.audit_key, Some(&head)));
        }
        self.bundle.keys.get(account).cloned().ok_or_else(|| {
            Error::new(
                ErrorCode::KeychainEntryMissing,
                format!(
                    "the {} holds no private key for signing key {account}; make a bundle that includes it \
                     (`keywright key bundle --key {account}`)",
                    self.service
                ),
            )
        })
    }

    fn remove(&self, _account: &str) -> Result<()> {
        Err(read_only())
    }

    fn service(&self) -> &str {
        &self.service
    }

    fn place(&self) -> String {
        format!(
            "the key bundle and its state file ({})",
            self.state_file.display()
        )
    }
}

impl Keywright {
    /// Opens the store at `path` with its keys from an opened key bundle (read from
    /// `bundle_file`) instead of the OS keychain, keeping the audit log's head in
    /// `state_dir` (created 0700 if needed). Refuses a bundle of another store, or
    /// one whose audit key is not the one the store was anchored with
    /// (`KEY_BUNDLE_MISMATCH`).
    pub fn open_with_bundle(
        path: &Path,
        bundle: KeyBundle,
        bundle_file: &Path,
        state_dir: &Path,
        actor: impl Into<String>,
    ) -> Result<Self> {
        Self::with_bundle(
            Store::open_path_or_url(path)?,
            bundle,
            bundle_file,
            state_dir,
            actor,
        )
    }

    /// [`Keywright::open_with_bundle`] on a store already open (a file, or any engine
    /// `Store` opens: the checks read the store's id and anchoring record only).
    pub fn with_bundle(
        store: Store,
        bundle: KeyBundle,
        bundle_file: &Path,
        state_dir: &Path,
        actor: impl Into<String>,
    ) -> Result<Self> {
        bundle.check_store(&store)?;
        create_private_dir(state_dir)?;
        let state_file = state_dir.join(state_file_name(store.store_id()));
        let vault = BundleVault::new(bundle, bundle_file, state_file, store.path());
        Ok(Self::with_vault(store, Box::new(vault), actor))
    }

    /// Writes an encrypted key bundle to `out`: the private halves of the store's
    /// active signing keys (or of `keys`, by id, kid or name, each active) and the
    /// store's audit key, sealed under `passphrase` (which must pass the backup's
    /// strength check). Refuses while the app lock is on, and onto the store's files.
    /// Audited as `key_bundle.export` with the kids, in the row's actor and time.
    pub fn create_key_bundle(
        &mut self,
        out: &Path,
        passphrase: &str,
        keys: &[String],
        kdf: KdfParams,
        now: Timestamp,
    ) -> Result<KeyBundleCreated> {
        check_passphrase(passphrase)?;
        kdf.check()
            .map_err(|e| Error::bad_input(format!("KDF parameters: {}", e.message)))?;
        crate::files::check_output(out, self.store.path())?;
        self.check_app_lock()?;
        let audit_key = self.audit_key()?;
        let rows = key_rows(self.store.db())?;
        let mut chosen: Vec<&KeyRow> = Vec::new();
        if keys.is_empty() {
            chosen.extend(rows.iter().filter(|r| r.active));
        } else {
            for wanted in keys {
                let key = self.find_signing_key(wanted)?;
                let row = rows
                    .iter()
                    .find(|r| r.kid == key.kid)
                    .ok_or_else(|| Error::not_found(format!("no signing key {wanted}")))?;
                if !row.active {
                    return Err(Error::conflict(format!(
                        "signing key {} ({}) is {} and no longer signs: a key bundle carries active keys only",
                        key.name,
                        key.kid,
                        key.status.as_str()
                    )));
                }
                if !chosen.iter().any(|r| r.kid == row.kid) {
                    chosen.push(row);
                }
            }
        }
        if chosen.is_empty() {
            return Err(Error::bad_input(
                "this store has no active signing key, so there is nothing to bundle (keywright key create)",
            ));
        }
        let mut payload = Vec::with_capacity(chosen.len() + 1);
        for row in &chosen {
            let secret = self.vault.get(&row.kid)?;
            if !matches(row, &secret) {
                return Err(Error::new(
                    ErrorCode::KeychainMismatch,
                    format!(
                        "the keychain entry for signing key {} is not the key on record; refusing to bundle it",
                        row.kid
                    ),
                ));
            }
            payload.push(PayloadKey {
                kid: row.kid.clone(),
                algorithm: row.algorithm.as_str().to_owned(),
                secret,
            });
        }
        let kids: Vec<String> = payload.iter().map(|k| k.kid.clone()).collect();
        payload.push(PayloadKey {
            kid: AUDIT_KEY_KID.to_owned(),
            algorithm: AUDIT_KEY_ALGORITHM.to_owned(),
            secret: Zeroizing::new(audit_key.secret().to_vec()),
        });
        let at = stamp(now);
        let store_id = self.store.store_id().to_owned();
        let about = About {
            store_id: store_id.clone(),
            created: at.clone(),
            audit_key_id: audit_key.id(),
            head: crate::audit::head(self.store.db())?,
        };
        let about = serde_json::to_vec(&about).expect("serializes");
        let bytes = seal_of(&KEY_BUNDLE, passphrase, kdf, &payload, &about)?;
        drop(payload);
        let file = self.write_audited_file(
            out,
            &bytes,
            &at,
            Event {
                action: EXPORT_ACTION,
                subject_type: Some("store"),
                subject_id: Some(&store_id),
                detail: serde_json::json!({
                    "keys": kids,
                    "auditKey": audit_key.id(),
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
        Ok(KeyBundleCreated {
            file,
            store_id,
            keys: kids,
            audit_key_id: audit_key.id(),
        })
    }
}

/// Creates `dir` (and its parents) if needed; a new folder is 0700 on Unix.
fn create_private_dir(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(|e| {
        Error::new(
            ErrorCode::Io,
            format!("cannot create the state folder {}: {e}", dir.display()),
        )
    })
}
