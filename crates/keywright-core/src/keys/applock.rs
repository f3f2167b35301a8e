//! The app lock, for vendors who share a computer: with it on, nothing is signed
//! until someone types the lock passphrase, and signing locks again after a spell
//! without a signature.
//!
//! The passphrase is never stored: an Argon2id hash of it lives in the OS keychain
//! beside the signing keys (account [`LOCK_ACCOUNT`]), so copying the store file does
//! not copy or weaken the lock. The desktop shell turns enforcement on with
//! [`Keywright::enforce_app_lock`]; the CLI does not (whoever runs it is the OS user
//! who owns the keychain and could read the keys with the OS's own tools).

use std::cell::Cell;
use std::time::{Duration, Instant};

use argon2::{Algorithm, Argon2, Params, Version};
use jiff::Timestamp;
use rand_core::{OsRng, RngCore};
use serde::Serialize;
use subtle_eq::ct_eq;
use ts_rs::TS;
use zeroize::Zeroizing;

use crate::audit::{self, Event};
use crate::{stamp, Error, ErrorCode, Keywright, Result};

/// The keychain account holding the lock's passphrase hash (signing keys use their kid).
pub const LOCK_ACCOUNT: &str = "app-lock";
/// The shortest lock passphrase accepted.
pub const MIN_PASSPHRASE_CHARS: usize = 8;
/// The idle time after which signing locks again, unless the shell says otherwise.
pub const DEFAULT_IDLE: Duration = Duration::from_secs(15 * 60);

// Argon2id, RFC 9106's second recommended option scaled for an interactive unlock.
const M_COST_KIB: u32 = 19 * 1024;
const T_COST: u32 = 2;
const SALT_LEN: usize = 16;
const HASH_LEN: usize = 32;
const VERSION_TAG: &[u8] = b"kwlock1";

/// Whether signing needs the lock passphrase, as the window shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AppLockState {
    /// A lock passphrase is set for this store.
    pub enabled: bool,
    /// Signing works now without asking (always true when not enabled).
    pub unlocked: bool,
    /// Minutes without a signature after which signing locks again.
    #[ts(type = "number")]
    pub idle_minutes: u64,
}

/// Enforcement state, kept per open store by the shell that asked for it.
#[derive(Debug)]
pub(crate) struct Gate {
    idle: Duration,
    /// When signing was last unlocked or used; `None` = locked.
    last_use: Cell<Option<Instant>>,
}

/// Constant-time comparison of two hashes.
mod subtle_eq {
    pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

fn derive(passphrase: &str, salt: &[u8], m: u32, t: u32) -> Result<Zeroizing<[u8; HASH_LEN]>> {
    let params = Params::new(m, t, 1, Some(HASH_LEN))
        .map_err(|e| Error::new(ErrorCode::Internal, format!("app lock parameters: {e}")))?;
    let mut out = Zeroizing::new([0u8; HASH_LEN]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(passphrase.as_bytes(), salt, out.as_mut())
        .map_err(|e| Error::new(ErrorCode::Internal, format!("app lock hash: {e}")))?;
    Ok(out)
}

/// `kwlock1 | m (4 LE) | t (4 LE) | salt | hash`.
fn seal(passphrase: &str) -> Result<Vec<u8>> {
    let mut salt = [0u8; SALT_LEN];
    OsRng.fill_bytes(&mut salt);
    let hash = derive(passphrase, &salt, M_COST_KIB, T_COST)?;
    let mut record = VERSION_TAG.to_vec();
    record.extend_from_slice(&M_COST_KIB.to_le_bytes());
    record.extend_from_slice(&T_COST.to_le_bytes());
    record.extend_from_slice(&salt);
    record.extend_from_slice(hash.as_ref());
    Ok(record)
}

fn matches(record: &[u8], passphrase: &str) -> Result<bool> {
    let damaged = || {
        Error::new(
            ErrorCode::KeychainMismatch,
            "the app lock's keychain entry is damaged; remove it with the OS keychain tool \
             (account \"app-lock\") and set the lock again",
        )
    };
    let rest = record.strip_prefix(VERSION_TAG).ok_or_else(damaged)?;
    if rest.len() != 8 + SALT_LEN + HASH_LEN {
        return Err(damaged());
    }
    let m = u32::from_le_bytes(rest[0..4].try_into().map_err(|_| damaged())?);
    let t = u32::from_le_bytes(rest[4..8].try_into().map_err(|_| damaged())?);
    // Only what we write: a planted entry cannot make the unlock allocate gigabytes.
    if !(8..=256 * 1024).contains(&m) || !(1..=10).contains(&t) {
        return Err(damaged());
    }
    let salt = &rest[8..8 + SALT_LEN];
    let expected = &rest[8 + SALT_LEN..];
    Ok(ct_eq(derive(passphrase, salt, m, t)?.as_ref(), expected))
}

fn wrong_passphrase() -> Error {
    Error::new(
        ErrorCode::SigningLocked,
        "that is not the app lock passphrase",
    )
}

impl Keywright {
    fn lock_record(&self) -> Result<Option<Zeroizing<Vec<u8>>>> {
        match self.vault.get(LOCK_ACCOUNT) {
            Ok(record) => Ok(Some(record)),
            Err(e) if e.code == ErrorCode::KeychainEntryMissing => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// From now on signing in this session needs the lock passphrase (when one is
    /// set), and locks again after `idle` without a signature. Called again, it only
    /// changes the idle time (an unlocked session stays unlocked).
    pub fn enforce_app_lock(&mut self, idle: Duration) {
        let last_use = self.gate.as_ref().and_then(|g| g.last_use.get());
        self.gate = Some(Gate {
            idle,
            last_use: Cell::new(last_use),
        });
    }

    /// Whether the lock is set and whether signing would ask for it now.
    pub fn app_lock_state(&self) -> Result<AppLockState> {
        let enabled = self.lock_record()?.is_some();
        let idle = self.gate.as_ref().map_or(DEFAULT_IDLE, |g| g.idle);
        Ok(AppLockState {
            enabled,
            unlocked: !enabled || self.gate.as_ref().is_none_or(|g| g.open_now()),
            idle_minutes: idle.as_secs() / 60,
        })
    }

    /// Called by the signer: refuses while the lock is set and not unlocked.
    pub(crate) fn check_app_lock(&self) -> Result<()> {
        let Some(gate) = &self.gate else {
            return Ok(());
        };
        if gate.open_now() {
            gate.last_use.set(Some(Instant::now()));
            return Ok(());
        }
        if self.lock_record()?.is_none() {
            return Ok(());
        }
        gate.last_use.set(None);
        Err(Error::new(
            ErrorCode::SigningLocked,
            "signing is locked: enter the app lock passphrase to sign",
        ))
    }

    /// Unlocks signing for this session with the lock passphrase.
    pub fn unlock_app(&self, passphrase: &str) -> Result<()> {
        let record = self
            .lock_record()?
            .ok_or_else(|| Error::new(ErrorCode::Conflict, "no app lock is set for this store"))?;
        if !matches(&record, passphrase)? {
            return Err(wrong_passphrase());
        }
        if let Some(gate) = &self.gate {
            gate.last_use.set(Some(Instant::now()));
        }
        Ok(())
    }

    /// Locks signing now (it asks for the passphrase before the next signature).
    pub fn lock_app(&self) {
        if let Some(gate) = &self.gate {
            gate.last_use.set(None);
        }
    }

    /// Sets (or changes) the lock passphrase. Changing it needs the current one.
    pub fn set_app_lock(
        &mut self,
        current: Option<&str>,
        passphrase: &str,
        now: Timestamp,
    ) -> Result<()> {
        if passphrase.chars().count() < MIN_PASSPHRASE_CHARS {
            return Err(Error::bad_input(format!(
                "the app lock passphrase needs at least {MIN_PASSPHRASE_CHARS} characters"
            )));
        }
        let existing = self.lock_record()?;
        if let Some(record) = &existing {
            if !matches(record, current.unwrap_or(""))? {
                return Err(wrong_passphrase());
            }
        }
        let record = Zeroizing::new(seal(passphrase)?);
        let action = if existing.is_some() {
            "app_lock.change"
        } else {
            "app_lock.enable"
        };
        // The audit row and the keychain entry: the row commits only if the entry was
        // written; a failed commit puts the previous entry back.
        let audit_key = self.audit_key()?;
        let tx = self.store.transaction()?;
        audit::append(
            tx.db(),
            &audit_key,
            &stamp(now),
            &self.actor,
            &Event {
                action,
                subject_type: Some("store"),
                ..Event::default()
            },
        )?;
        self.vault.put(LOCK_ACCOUNT, &record)?;
        if let Err(e) = tx.commit() {
            match &existing {
                Some(old) => self.vault.put(LOCK_ACCOUNT, old)?,
                None => self.vault.remove(LOCK_ACCOUNT)?,
            }
            return Err(e);
        }
        self.committed();
        if let Some(gate) = &self.gate {
            gate.last_use.set(Some(Instant::now()));
        }
        Ok(())
    }

    /// Removes the lock (needs its passphrase).
    pub fn remove_app_lock(&mut self, current: &str, now: Timestamp) -> Result<()> {
        let record = self
            .lock_record()?
            .ok_or_else(|| Error::new(ErrorCode::Conflict, "no app lock is set for this store"))?;
        if !matches(&record, current)? {
            return Err(wrong_passphrase());
        }
        let audit_key = self.audit_key()?;
        let tx = self.store.transaction()?;
        audit::append(
            tx.db(),
            &audit_key,
            &stamp(now),
            &self.actor,
            &Event {
                action: "app_lock.disable",
                subject_type: Some("store"),
                ..Event::default()
            },
        )?;
        self.vault.remove(LOCK_ACCOUNT)?;
        if let Err(e) = tx.commit() {
            self.vault.put(LOCK_ACCOUNT, &record)?;
            return Err(e);
        }
        self.committed();
        Ok(())
    }
}

impl Gate {
    fn open_now(&self) -> bool {
        self.last_use
            .get()
            .is_some_and(|at| at.elapsed() < self.idle)
    }
}
