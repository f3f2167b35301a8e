//! The backup file format: a 104-byte header (magic, version, Argon2id parameters,
//! salt, nonce, passphrase check, checksum), then the payload (private keys and the
//! store snapshot) sealed with XChaCha20-Poly1305 under the whole header. See the
//! layout in [`super`]. Reading bounds everything before it allocates or derives.
//!
//! The key bundle (`crate::keys::bundle`) is sealed by the same code under its own
//! [`Kind`]: another magic, version and passphrase-check label, and errors that name
//! it, so a backup is never read as a bundle nor a bundle as a backup.

use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand_core::RngCore;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::error::{Error, ErrorCode, Result};

/// The file's first bytes.
pub const MAGIC: &[u8; 8] = b"KWBACKUP";
/// The format version this build writes and reads.
pub const VERSION: u16 = 2;
/// Bytes before the ciphertext.
pub const HEADER_LEN: usize = 104;
const TAG_LEN: usize = 16;
const PAYLOAD_MAGIC: &[u8; 8] = b"KWPAYLD1";
const CHECK_LABEL: &[u8] = b"keywright backup check v1";
/// What a sealed file is: its magic, the format version this build writes (and the
/// newest it reads), the label of its passphrase check, and how its errors name it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Kind {
    pub(crate) magic: &'static [u8; 8],
    pub(crate) version: u16,
    check_label: &'static [u8],
    /// "backup", "key bundle".
    noun: &'static str,
    damaged: ErrorCode,
    passphrase: ErrorCode,
}

/// Backups: `KWBACKUP`, version 2.
pub(crate) const BACKUP: Kind = Kind {
    magic: MAGIC,
    version: VERSION,
    check_label: CHECK_LABEL,
    noun: "backup",
    damaged: ErrorCode::BackupDamaged,
    passphrase: ErrorCode::BackupPassphrase,
};

/// Key bundles for `keywright serve --keys`: `KWKEYBND`, version 1.
pub(crate) const KEY_BUNDLE: Kind = Kind {
    magic: b"KWKEYBND",
    version: 1,
    check_label: b"keywright key bundle check v1",
    noun: "key bundle",
    damaged: ErrorCode::KeyBundleDamaged,
    passphrase: ErrorCode::KeyBundlePassphrase,
};

impl Kind {
    /// The error for a file of this kind that cannot be used.
    pub(crate) fn damaged(&self, why: impl std::fmt::Display) -> Error {
        Error::new(
            self.damaged,
            format!(
                "this is not a usable Keywright {}: {why}; nothing was changed",
                self.noun
            ),
        )
    }

    /// What a file with another kind's magic is, said plainly.
    fn wrong_kind(&self, bytes: &[u8]) -> Error {
        let other = [BACKUP, KEY_BUNDLE]
            .into_iter()
            .find(|k| k.magic != self.magic && bytes.starts_with(k.magic));
        match other {
            Some(other) => self.damaged(format!(
                "it is a Keywright {}, not a {}",
                other.noun, self.noun
            )),
            None => self.damaged(format!(
                "it does not start with a Keywright {} header",
                self.noun
            )),
        }
    }
}

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

    pub(crate) fn check(self) -> Result<Params> {
        self.check_for(&BACKUP)
    }

    pub(crate) fn check_for(self, kind: &Kind) -> Result<Params> {
        let max = Self::MAX;
        if self.iterations == 0
            || self.lanes == 0
            || self.memory_kib < 8 * self.lanes
            || self.memory_kib > max.memory_kib
            || self.iterations > max.iterations
            || self.lanes > max.lanes
        {
            return Err(kind.damaged(format!(
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
            .map_err(|e| kind.damaged(format!("its Argon2id parameters are invalid: {e}")))
    }
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

pub(super) fn damaged(why: impl std::fmt::Display) -> Error {
    BACKUP.damaged(why)
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

fn derive(kind: &Kind, passphrase: &str, header: &Header) -> Result<Zeroizing<[u8; 64]>> {
    let params = header.kdf.check_for(kind)?;
    let mut out = Zeroizing::new([0u8; 64]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(passphrase.as_bytes(), &header.salt, out.as_mut())
        .map_err(|e| Error::new(ErrorCode::Internal, format!("Argon2id: {e}")))?;
    Ok(out)
}

fn check_value(kind: &Kind, derived: &[u8; 64]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(kind.check_label);
    h.update(&derived[32..]);
    h.finalize().into()
}

fn encode_header(kind: &Kind, h: &Header) -> [u8; HEADER_LEN] {
    let mut b = [0u8; HEADER_LEN];
    b[0..8].copy_from_slice(kind.magic);
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
    parse_header_of(&BACKUP, bytes)
}

/// [`parse_header`] for a file of `kind`.
pub(crate) fn parse_header_of(kind: &Kind, bytes: &[u8]) -> Result<Header> {
    if bytes.len() < kind.magic.len() || &bytes[..kind.magic.len()] != kind.magic {
        return Err(kind.wrong_kind(bytes));
    }
    if bytes.len() < HEADER_LEN + TAG_LEN {
        return Err(kind.damaged(format!("it is truncated ({} bytes)", bytes.len())));
    }
    let b = &bytes[..HEADER_LEN];
    if Sha256::digest(&b[..96])[..8] != b[96..104] {
        return Err(kind.damaged("its header is damaged (checksum mismatch)"));
    }
    let version = u16::from_le_bytes([b[8], b[9]]);
    if version > kind.version {
        return Err(Error::new(
            ErrorCode::StoreTooNew,
            format!(
                "the {} was written by a newer Keywright (format {version}; this one reads {}). Update Keywright.",
                kind.noun, kind.version
            ),
        ));
    }
    if version == 0 {
        return Err(kind.damaged(format!("unknown format version {version}")));
    }
    if b[10] != 1 || b[11] != 1 {
        return Err(kind.damaged(format!("unknown KDF {} or cipher {}", b[10], b[11])));
    }
    let kdf = KdfParams {
        memory_kib: u32_at(b, 12),
        iterations: u32_at(b, 16),
        lanes: u32_at(b, 20),
    };
    kdf.check_for(kind)?;
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
    parse_payload_of(&BACKUP, p)
}

fn parse_payload_of(kind: &Kind, p: &[u8]) -> Result<Payload> {
    let damaged = |why: String| kind.damaged(why);
    let mut at = 0usize;
    let mut take = |n: usize| -> Result<&[u8]> {
        let end = at
            .checked_add(n)
            .filter(|&e| e <= p.len())
            .ok_or_else(|| damaged("its contents are truncated".into()))?;
        let s = &p[at..end];
        at = end;
        Ok(s)
    };
    if take(8)? != PAYLOAD_MAGIC {
        return Err(damaged("its contents have an unknown layout".into()));
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
    let n = usize::try_from(n).map_err(|_| damaged("its snapshot is too large".into()))?;
    let store = take(n)?.to_vec();
    if at != p.len() {
        return Err(damaged("it has unexpected bytes after its contents".into()));
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
    seal_of(&BACKUP, passphrase, kdf, keys, store)
}

/// [`seal`] as a file of `kind`.
pub(crate) fn seal_of(
    kind: &Kind,
    passphrase: &str,
    kdf: KdfParams,
    keys: &[PayloadKey],
    store: &[u8],
) -> Result<Vec<u8>> {
    kdf.check_for(kind)?;
    let mut header = Header {
        version: kind.version,
        kdf,
        salt: [0; 16],
        nonce: [0; 24],
        check: [0; 32],
    };
    rand_core::OsRng.fill_bytes(&mut header.salt);
    rand_core::OsRng.fill_bytes(&mut header.nonce);
    let derived = derive(kind, passphrase, &header)?;
    header.check = check_value(kind, &derived);
    let head = encode_header(kind, &header);
    let mut buf = encode_payload(keys, store);
    let cipher = XChaCha20Poly1305::new_from_slice(&derived[..32])
        .map_err(|e| Error::new(ErrorCode::Internal, format!("cipher key: {e}")))?;
    cipher
        .encrypt_in_place(XNonce::from_slice(&header.nonce), &head, &mut *buf)
        .map_err(|_| {
            Error::new(
                ErrorCode::Internal,
                format!("encrypting the {} failed", kind.noun),
            )
        })?;
    let mut out = Vec::with_capacity(HEADER_LEN + buf.len());
    out.extend_from_slice(&head);
    out.extend_from_slice(&buf);
    Ok(out)
}

/// Decrypts and parses a whole backup file. Wrong passphrase → `BACKUP_PASSPHRASE`;
/// any damage → `BACKUP_DAMAGED`.
pub fn open(bytes: &[u8], passphrase: &str) -> Result<Payload> {
    open_of(&BACKUP, bytes, passphrase)
}

/// [`open`] for a file of `kind`.
pub(crate) fn open_of(kind: &Kind, bytes: &[u8], passphrase: &str) -> Result<Payload> {
    let header = parse_header_of(kind, bytes)?;
    let derived = derive(kind, passphrase, &header)?;
    let check = check_value(kind, &derived);
    // Not secret-dependent timing worth guarding: the check value is in the file.
    if check != header.check {
        return Err(Error::new(
            kind.passphrase,
            format!(
                "this passphrase does not open the {}; nothing was changed",
                kind.noun
            ),
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
        .map_err(|_| {
            kind.damaged("its contents were altered or damaged (authentication failed)")
        })?;
    parse_payload_of(kind, &buf)
}
