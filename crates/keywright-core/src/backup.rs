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

use std::io::Write;
use std::path::Path;

use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use jiff::Timestamp;
use keywright_license::SigningKey as PrivateKey;
use rand_core::RngCore;
use rusqlite::{Connection, MAIN_DB};
use serde::Serialize;
use sha2::{Digest, Sha256};
use ts_rs::TS;
use zeroize::Zeroizing;

use crate::audit::anchor::{self, ANCHOR_ACCOUNT};
use crate::audit::{self, sha256_hex, Anchoring, AuditKey, Event};
use crate::error::{Error, ErrorCode, Result};
use crate::keys::stored_public;
use crate::model::{ExportedFile, KeyAlgorithm};
use crate::store::{create_private_dir, migrate_snapshot, Store};
use crate::vault::{Keychain, Vault};
use crate::{stamp, Keywright};

/// The file's first bytes.
pub const MAGIC: &[u8; 8] = b"KWBACKUP";
/// The format version this build writes and reads.
pub const VERSION: u16 = 2;
/// The audit key's key id and algorithm name in a payload.
const AUDIT_KEY_KID: &str = "audit-key";
const AUDIT_KEY_ALGORITHM: &str = "hmac-sha256";
/// Bytes before the ciphertext.
pub const HEADER_LEN: usize = 104;
const TAG_LEN: usize = 16;
const PAYLOAD_MAGIC: &[u8; 8] = b"KWPAYLD1";
const CHECK_LABEL: &[u8] = b"keywright backup check v1";
/// The largest backup file read (the store snapshot is held in memory).
pub const MAX_BACKUP_BYTES: u64 = 1 << 30;
/// At most this many keys in one backup.
const MAX_KEYS: u32 = 10_000;
/// Private key encodings are at most a few KiB (RSA-2048 PKCS#8 ≈ 1.2 KiB).
const MAX_SECRET: u32 = 16 * 1024;
/// Passphrases longer than this are refused (the strength estimator is superlinear).
const MAX_PASSPHRASE_CHARS: usize = 1024;

/// Argon2id cost, recorded in each backup's header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KdfParams {
    /// Memory, KiB.
    pub memory_kib: u32,
    /// Passes over the memory.
    pub iterations: u32,
    /// Parallel lanes.
    pub lanes: u32,
}

impl KdfParams {
    /// What the shells use: 64 MiB, 3 passes, 1 lane (about half a second on a laptop).
    pub const DESKTOP: KdfParams = KdfParams {
        memory_kib: 64 * 1024,
        iterations: 3,
        lanes: 1,
    };
    /// Deliberately cheap, for tests that open thousands of mutated backups. Never
    /// used by the shells.
    pub const TEST_ONLY_CHEAP: KdfParams = KdfParams {
        memory_kib: 64,
        iterations: 1,
        lanes: 1,
    };
    /// The most a backup may ask for: 1 GiB, 10 passes, 8 lanes. A file claiming more
    /// is refused before any memory is allocated.
    pub const MAX: KdfParams = KdfParams {
        memory_kib: 1024 * 1024,
        iterations: 10,
        lanes: 8,
    };

    fn check(self) -> Result<Params> {
        let max = Self::MAX;
        if self.iterations == 0
            || self.lanes == 0
            || self.memory_kib < 8 * self.lanes
            || self.memory_kib > max.memory_kib
            || self.iterations > max.iterations
            || self.lanes > max.lanes
        {
            return Err(damaged(format!(
                "it asks for Argon2id parameters outside what Keywright accepts \
                 ({} KiB, {} passes, {} lanes; at most {} KiB, {} passes, {} lanes)",
                self.memory_kib,
                self.iterations,
                self.lanes,
                max.memory_kib,
                max.iterations,
                max.lanes
            )));
        }
        Params::new(self.memory_kib, self.iterations, self.lanes, Some(64))
            .map_err(|e| damaged(format!("its Argon2id parameters are invalid: {e}")))
    }
}

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

/// A parsed header (public for the fuzz target and the tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Format version.
    pub version: u16,
    /// Argon2id cost.
    pub kdf: KdfParams,
    /// Argon2 salt.
    pub salt: [u8; 16],
    /// XChaCha20 nonce.
    pub nonce: [u8; 24],
    /// Passphrase check value.
    pub check: [u8; 32],
}

/// One private key in a payload.
pub struct PayloadKey {
    /// Key id.
    pub kid: String,
    /// `ed25519`, `rsa-2048`, `ecdsa-p256`.
    pub algorithm: String,
    /// `to_secret_bytes` of the key.
    pub secret: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for PayloadKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PayloadKey")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

/// A decrypted payload.
#[derive(Debug)]
pub struct Payload {
    /// The private keys.
    pub keys: Vec<PayloadKey>,
    /// The SQLite snapshot.
    pub store: Vec<u8>,
}

fn damaged(why: impl std::fmt::Display) -> Error {
    Error::new(
        ErrorCode::BackupDamaged,
        format!("this is not a usable Keywright backup: {why}; nothing was changed"),
    )
}

/// Refuses passphrases a guesser would find (zxcvbn score below 3 of 4).
pub fn check_passphrase(passphrase: &str) -> Result<()> {
    let chars = passphrase.chars().count();
    if chars > MAX_PASSPHRASE_CHARS {
        return Err(Error::bad_input(format!(
            "the passphrase is {chars} characters long; at most {MAX_PASSPHRASE_CHARS}"
        )));
    }
    let estimate = zxcvbn::zxcvbn(passphrase, &["keywright", "backup", "license"]);
    let score = u8::from(estimate.score());
    if score >= 3 {
        return Ok(());
    }
    let mut hint = String::new();
    if let Some(feedback) = estimate.feedback() {
        if let Some(w) = feedback.warning() {
            hint.push_str(&format!(" {w}."));
        }
        for s in feedback.suggestions() {
            hint.push_str(&format!(" {s}"));
        }
    }
    Err(Error::new(
        ErrorCode::WeakPassphrase,
        format!(
            "the passphrase is too easy to guess (strength {score} of 4; 3 needed).{hint} \
             Four or more unrelated words make a strong one."
        ),
    ))
}

fn derive(passphrase: &str, header: &Header) -> Result<Zeroizing<[u8; 64]>> {
    let params = header.kdf.check()?;
    let mut out = Zeroizing::new([0u8; 64]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(passphrase.as_bytes(), &header.salt, out.as_mut())
        .map_err(|e| Error::new(ErrorCode::Internal, format!("Argon2id: {e}")))?;
    Ok(out)
}

fn check_value(derived: &[u8; 64]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(CHECK_LABEL);
    h.update(&derived[32..]);
    h.finalize().into()
}

fn encode_header(h: &Header) -> [u8; HEADER_LEN] {
    let mut b = [0u8; HEADER_LEN];
    b[0..8].copy_from_slice(MAGIC);
    b[8..10].copy_from_slice(&h.version.to_le_bytes());
    b[10] = 1;
    b[11] = 1;
    b[12..16].copy_from_slice(&h.kdf.memory_kib.to_le_bytes());
    b[16..20].copy_from_slice(&h.kdf.iterations.to_le_bytes());
    b[20..24].copy_from_slice(&h.kdf.lanes.to_le_bytes());
    b[24..40].copy_from_slice(&h.salt);
    b[40..64].copy_from_slice(&h.nonce);
    b[64..96].copy_from_slice(&h.check);
    let sum = Sha256::digest(&b[..96]);
    b[96..104].copy_from_slice(&sum[..8]);
    b
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

/// Reads and checks a header (magic, checksum, version, algorithms, KDF bounds). Does
/// no key derivation.
pub fn parse_header(bytes: &[u8]) -> Result<Header> {
    if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
        return Err(damaged("it does not start with a Keywright backup header"));
    }
    if bytes.len() < HEADER_LEN + TAG_LEN {
        return Err(damaged(format!("it is truncated ({} bytes)", bytes.len())));
    }
    let b = &bytes[..HEADER_LEN];
    if Sha256::digest(&b[..96])[..8] != b[96..104] {
        return Err(damaged("its header is damaged (checksum mismatch)"));
    }
    let version = u16::from_le_bytes([b[8], b[9]]);
    if version > VERSION {
        return Err(Error::new(
            ErrorCode::StoreTooNew,
            format!(
                "the backup was written by a newer Keywright (format {version}; this one reads {VERSION}). Update Keywright."
            ),
        ));
    }
    if version == 0 {
        return Err(damaged(format!("unknown format version {version}")));
    }
    if b[10] != 1 || b[11] != 1 {
        return Err(damaged(format!(
            "unknown KDF {} or cipher {}",
            b[10], b[11]
        )));
    }
    let kdf = KdfParams {
        memory_kib: u32_at(b, 12),
        iterations: u32_at(b, 16),
        lanes: u32_at(b, 20),
    };
    kdf.check()?;
    Ok(Header {
        version,
        kdf,
        salt: b[24..40].try_into().expect("16"),
        nonce: b[40..64].try_into().expect("24"),
        check: b[64..96].try_into().expect("32"),
    })
}

/// Frames keys and snapshot as a payload (before encryption).
pub fn encode_payload(keys: &[PayloadKey], store: &[u8]) -> Zeroizing<Vec<u8>> {
    let len = 8
        + 4
        + keys
            .iter()
            .map(|k| 1 + k.kid.len() + 1 + k.algorithm.len() + 4 + k.secret.len())
            .sum::<usize>()
        + 8
        + store.len();
    // Sized up front (plus the tag) so the buffer holding secrets never reallocates
    // and leaves an unwiped copy behind.
    let mut out = Zeroizing::new(Vec::with_capacity(len + TAG_LEN));
    out.extend_from_slice(PAYLOAD_MAGIC);
    out.extend_from_slice(&(keys.len() as u32).to_le_bytes());
    for k in keys {
        out.push(k.kid.len() as u8);
        out.extend_from_slice(k.kid.as_bytes());
        out.push(k.algorithm.len() as u8);
        out.extend_from_slice(k.algorithm.as_bytes());
        out.extend_from_slice(&(k.secret.len() as u32).to_le_bytes());
        out.extend_from_slice(&k.secret);
    }
    out.extend_from_slice(&(store.len() as u64).to_le_bytes());
    out.extend_from_slice(store);
    out
}

/// Reads a decrypted payload, bounding every length.
pub fn parse_payload(p: &[u8]) -> Result<Payload> {
    let mut at = 0usize;
    let mut take = |n: usize| -> Result<&[u8]> {
        let end = at
            .checked_add(n)
            .filter(|&e| e <= p.len())
            .ok_or_else(|| damaged("its contents are truncated"))?;
        let s = &p[at..end];
        at = end;
        Ok(s)
    };
    if take(8)? != PAYLOAD_MAGIC {
        return Err(damaged("its contents have an unknown layout"));
    }
    let count = u32::from_le_bytes(take(4)?.try_into().expect("4"));
    if count > MAX_KEYS {
        return Err(damaged(format!("it claims {count} keys")));
    }
    let text = |b: &[u8], what: &str| -> Result<String> {
        std::str::from_utf8(b)
            .ok()
            .filter(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_graphic()))
            .map(str::to_owned)
            .ok_or_else(|| damaged(format!("a {what} is not valid text")))
    };
    let mut keys = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let n = take(1)?[0] as usize;
        let kid = text(take(n)?, "key id")?;
        let n = take(1)?[0] as usize;
        let algorithm = text(take(n)?, "key algorithm")?;
        let n = u32::from_le_bytes(take(4)?.try_into().expect("4"));
        if n == 0 || n > MAX_SECRET {
            return Err(damaged(format!("key {kid} has a {n}-byte secret")));
        }
        let secret = Zeroizing::new(take(n as usize)?.to_vec());
        keys.push(PayloadKey {
            kid,
            algorithm,
            secret,
        });
    }
    let n = u64::from_le_bytes(take(8)?.try_into().expect("8"));
    let n = usize::try_from(n).map_err(|_| damaged("its snapshot is too large"))?;
    let store = take(n)?.to_vec();
    if at != p.len() {
        return Err(damaged("it has unexpected bytes after its contents"));
    }
    Ok(Payload { keys, store })
}

/// Encrypts a payload under `passphrase` with `kdf`; returns the whole file.
pub fn seal(
    passphrase: &str,
    kdf: KdfParams,
    keys: &[PayloadKey],
    store: &[u8],
) -> Result<Vec<u8>> {
    kdf.check()?;
    let mut header = Header {
        version: VERSION,
        kdf,
        salt: [0; 16],
        nonce: [0; 24],
        check: [0; 32],
    };
    rand_core::OsRng.fill_bytes(&mut header.salt);
    rand_core::OsRng.fill_bytes(&mut header.nonce);
    let derived = derive(passphrase, &header)?;
    header.check = check_value(&derived);
    let head = encode_header(&header);
    let mut buf = encode_payload(keys, store);
    let cipher = XChaCha20Poly1305::new_from_slice(&derived[..32])
        .map_err(|e| Error::new(ErrorCode::Internal, format!("cipher key: {e}")))?;
    cipher
        .encrypt_in_place(XNonce::from_slice(&header.nonce), &head, &mut *buf)
        .map_err(|_| Error::new(ErrorCode::Internal, "encrypting the backup failed"))?;
    let mut out = Vec::with_capacity(HEADER_LEN + buf.len());
    out.extend_from_slice(&head);
    out.extend_from_slice(&buf);
    Ok(out)
}

/// Decrypts and parses a whole backup file. Wrong passphrase → `BACKUP_PASSPHRASE`;
/// any damage → `BACKUP_DAMAGED`.
pub fn open(bytes: &[u8], passphrase: &str) -> Result<Payload> {
    let header = parse_header(bytes)?;
    let derived = derive(passphrase, &header)?;
    let check = check_value(&derived);
    // Not secret-dependent timing worth guarding: the check value is in the file.
    if check != header.check {
        return Err(Error::new(
            ErrorCode::BackupPassphrase,
            "this passphrase does not open the backup; nothing was changed",
        ));
    }
    let cipher = XChaCha20Poly1305::new_from_slice(&derived[..32])
        .map_err(|e| Error::new(ErrorCode::Internal, format!("cipher key: {e}")))?;
    let mut buf = Zeroizing::new(bytes[HEADER_LEN..].to_vec());
    cipher
        .decrypt_in_place(
            XNonce::from_slice(&header.nonce),
            &bytes[..HEADER_LEN],
            &mut *buf,
        )
        .map_err(|_| damaged("its contents were altered or damaged (authentication failed)"))?;
    parse_payload(&buf)
}

/// Marks a database image as rollback-journal (file format bytes 18 and 19 = 1): a
/// snapshot has no WAL beside it, and an in-memory database cannot use one. The store
/// switches back to WAL when it is opened.
fn legacy_header(db: &mut [u8]) {
    if db.len() >= 100 {
        db[18] = 1;
        db[19] = 1;
    }
}

fn snapshot(conn: &Connection) -> Result<Vec<u8>> {
    let mut mem = Connection::open_in_memory()?;
    {
        let backup = rusqlite::backup::Backup::new(conn, &mut mem)?;
        // All pages in one step, under one read lock: a consistent snapshot even if
        // another process writes meanwhile.
        let mut waits = 0;
        loop {
            match backup.step(-1)? {
                rusqlite::backup::StepResult::Done => break,
                rusqlite::backup::StepResult::More => {}
                // Another process holds a lock: wait as the busy timeout would.
                _ if waits < 50 => {
                    waits += 1;
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                _ => {
                    return Err(Error::new(
                        ErrorCode::Store,
                        "the store stayed locked by another process for 5 seconds; try the backup again",
                    ))
                }
            }
        }
    }
    let mut bytes = mem.serialize(MAIN_DB)?.to_vec();
    legacy_header(&mut bytes);
    Ok(bytes)
}

fn load(image: &[u8]) -> Result<Connection> {
    let mut image = image.to_vec();
    legacy_header(&mut image);
    let mut conn = Connection::open_in_memory()?;
    let len = image.len();
    conn.deserialize_read_exact(MAIN_DB, &image[..], len, false)
        .map_err(|e| damaged(format!("its store snapshot cannot be read: {e}")))?;
    Ok(conn)
}

struct KeyRow {
    kid: String,
    algorithm: KeyAlgorithm,
    public: Vec<u8>,
    active: bool,
}

fn key_rows(conn: &Connection) -> Result<Vec<KeyRow>> {
    let mut stmt = conn.prepare("SELECT kid, algorithm, public_key, status FROM signing_keys")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, Vec<u8>>(2)?,
            r.get::<_, String>(3)?,
        ))
    })?;
    rows.map(|r| {
        let (kid, algorithm, public, status) = r?;
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
fn matches(row: &KeyRow, secret: &[u8]) -> bool {
    let Ok(private) = PrivateKey::from_secret_bytes(row.algorithm.to_format(), secret) else {
        return false;
    };
    match stored_public(row.algorithm, &row.public) {
        Ok(public) => public.to_bytes() == private.public_key().to_bytes(),
        Err(_) => false,
    }
}

fn count_licenses(conn: &Connection) -> Result<u64> {
    Ok(conn.query_row("SELECT count(*) FROM licenses", [], |r| r.get::<_, i64>(0))? as u64)
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
        let image = snapshot(self.store.conn())?;
        let snap = load(&image)?;
        let mut keys = Vec::new();
        let mut skipped = Vec::new();
        for row in key_rows(&snap)? {
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
        let licenses = count_licenses(&snap)?;
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
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(|e| damaged(format!("its store snapshot cannot be read: {e}")))?;
    if integrity != "ok" {
        return Err(damaged(format!(
            "its store snapshot is corrupt ({integrity})"
        )));
    }
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
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
    let store_id: String = conn
        .query_row(
            "SELECT value FROM store_meta WHERE key = 'store_id'",
            [],
            |r| r.get(0),
        )
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
    let recorded = anchor::recorded(&conn).map_err(|e| damaged(e.message))?;
    if recorded.is_some() && carried.is_none() {
        return Err(damaged(
            "its store's audit log is anchored, but it holds no audit key",
        ));
    }
    let report = audit::check(
        &conn,
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
    let rows = key_rows(&conn).map_err(|e| damaged(e.message))?;
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
    let licenses = count_licenses(&conn)?;

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
            anchor::anchor_log(&tx, &audit_key, &at, actor)?;
        }
        audit::append(
            &tx,
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
    let head = audit::head(&conn)?;
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
