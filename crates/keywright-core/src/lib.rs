//! Keywright without a UI: the SQLite store, the OS-keychain vault, issuing, export
//! and the audit log. The desktop shell and the CLI are thin layers over [`Keywright`].
//!
//! Business logic takes "now" as an argument; only the shells read the clock.
//!
//! The crate is folded by domain (`store`, `keys`, `catalog`, `customers`, `issuing`,
//! `activation`, `audit`, `backup`, `dashboard`): each owns its types and all of its
//! SQL (a `sql.rs` of functions over a connection), and only `store` opens one. The
//! public paths are the ones the shells have always used: every type at the root and
//! in [`model`], and the modules [`audit`], [`batch`], [`online`], [`verify`] and the
//! others below.

#![forbid(unsafe_code)]

mod activation;
pub mod audit;
pub mod backup;
mod catalog;
mod customers;
mod dashboard;
pub mod duration;
pub mod error;
pub mod files;
mod issuing;
mod keys;
pub mod mail;
pub mod model;
pub mod settings;
pub mod store;
pub mod text;
pub mod updates;

use std::path::Path;

use jiff::Timestamp;

pub use activation::{next_heartbeat, online, verify, PingOutcome};
pub use audit::clock;
pub use backup::{
    restore_backup, restore_backup_to_keychain, BackupCreated, BackupRestored, KdfParams,
};
pub use catalog::INCLUDE_CHOICES;
pub use error::{CommandError, Error, ErrorCode, Result};
pub use issuing::{batch, defuse_cell, BROAD_TEXT, COUNT_CAP, KEY_SHORT, MIN_KEY_PART};
pub use keys::bundle::{BundleVault, KeyBundle, KeyBundleCreated};
pub use keys::{applock, bundle, vault};
pub use model::*;
pub use settings::{default_settings_path, Settings, SettingsView};
pub use store::{default_store_path, Store};
pub use updates::{AvailableUpdate, UpdateCheck, UpdateProgress};
pub use vault::{Keychain, MemoryVault, Vault};

/// An open store together with the vault that holds its private keys.
pub struct Keywright {
    store: Store,
    vault: Box<dyn Vault>,
    actor: String,
    /// The app lock, when the shell enforces it (see [`applock`]).
    gate: Option<applock::Gate>,
    /// The audit log's key and anchor in the vault (see [`audit::anchor`]).
    anchor: audit::anchor::Anchor,
}

impl std::fmt::Debug for Keywright {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keywright")
            .field("store", &self.store)
            .field("actor", &self.actor)
            .finish_non_exhaustive()
    }
}

impl Keywright {
    /// Opens the store at `path` with its keys in the OS keychain. `actor` is the
    /// person recorded in the audit log (the OS user name).
    pub fn open(path: &Path, actor: impl Into<String>) -> Result<Self> {
        let store = Store::open_path_or_url(path)?;
        let vault = Keychain::for_store(store.store_id());
        Ok(Self::with_vault(store, Box::new(vault), actor))
    }

    /// Opens the store at `location` (a file path or a `postgres://` URL) with its
    /// keys in the OS keychain.
    pub fn open_location(location: &str, actor: impl Into<String>) -> Result<Self> {
        let store = Store::open_location(location)?;
        let vault = Keychain::for_store(store.store_id());
        Ok(Self::with_vault(store, Box::new(vault), actor))
    }

    /// An open store with a vault of the caller's choosing (tests use [`MemoryVault`]).
    ///
    /// Checks the audit log's anchor in the vault (or anchors a log that never was):
    /// what it finds is [`Keywright::audit_status`]; reading works whatever it is, and
    /// changes are refused unless the log matches its anchor.
    pub fn with_vault(store: Store, vault: Box<dyn Vault>, actor: impl Into<String>) -> Self {
        let mut kw = Self {
            store,
            vault,
            actor: actor.into(),
            gate: None,
            anchor: audit::anchor::Anchor::new(),
        };
        // The clock is read here, as in the shells: anchoring an older store dates the
        // row that records it.
        kw.open_anchor(Timestamp::now());
        kw
    }

    /// The store opened for reading only, with no vault: nothing is signed or changed
    /// through it, and its audit anchor is neither checked nor created (a second
    /// connection of the activation server, beside the one that writes).
    pub fn for_reading(store: Store, actor: impl Into<String>) -> Self {
        let mut anchor = audit::anchor::Anchor::new();
        anchor.reader();
        Self {
            store,
            vault: Box::new(MemoryVault::default()),
            actor: actor.into(),
            gate: None,
            anchor,
        }
    }

    /// Where the store is and which keychain service holds its keys.
    pub fn store_info(&self) -> StoreInfo {
        StoreInfo {
            path: self.store.path().display().to_string(),
            store_id: self.store.store_id().to_owned(),
            keychain_service: self.vault.service().to_owned(),
            audit: self.audit_status(),
        }
    }

    /// Closes the store's connection and opens a new one to the same store, keeping
    /// everything else (the keychain, the app lock's state, the audit anchor).
    ///
    /// For an SQLite store after code outside Keywright, in this process, may have
    /// opened and closed its files: a native file dialog browsing the store's folder
    /// reads every file in it to tell its type, and closing those reads drops the
    /// process's SQLite locks (see `store::file::OPEN_HERE`). The old connection closes
    /// first, so the new one takes its locks afresh. A PostgreSQL store holds no file
    /// locks: nothing to do. When the store cannot be opened again, this returns why and
    /// the store refuses every change until the next `reconnect` succeeds.
    pub fn reconnect(&mut self) -> Result<()> {
        if self.store.engine() != store::db::Engine::Sqlite {
            return Ok(());
        }
        let path = self.store.path().to_owned();
        let stand_in = self.store.stand_in()?;
        drop(std::mem::replace(&mut self.store, stand_in));
        self.store = Store::open(&path)?;
        Ok(())
    }

    /// [`Keywright::reconnect`] when the store's write-ahead log was deleted under
    /// this connection (see [`Store::journal_moved`]); says whether it did. The shells
    /// call this before each command: nothing committed is lost (the process that
    /// deleted the log had written it into the store first), and nothing after it is
    /// written where no one would read it.
    pub fn reconnect_if_moved(&mut self) -> Result<bool> {
        if !self.store.journal_moved() {
            return Ok(false);
        }
        self.reconnect()?;
        Ok(true)
    }

    /// Who this connection records in the audit log.
    pub fn actor(&self) -> &str {
        &self.actor
    }

    /// The underlying store (read-only use: tests and diagnostics).
    pub fn store(&self) -> &Store {
        &self.store
    }
}

impl Drop for Keywright {
    fn drop(&mut self) {
        // The server writes the keychain's head at most once a second: the last one
        // is written when the store closes.
        self.flush_anchor();
    }
}

/// The OS user running this process, for the audit log.
pub fn os_user() -> String {
    // The account the OS says runs us (uid lookup on Unix); the environment only if
    // that lookup fails.
    whoami::username()
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| {
            ["USER", "USERNAME", "LOGNAME"]
                .iter()
                .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

/// `now` as the store writes it.
pub(crate) fn stamp(now: Timestamp) -> String {
    keywright_license::format_time(now)
}

/// Trims and drops empty optional text.
pub(crate) fn clean(text: Option<&str>) -> Option<String> {
    text.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// Refuses empty or overlong required one-line text, and control characters in it
/// ([`text::check_line`]).
pub(crate) fn required(field: &str, text: &str, max: usize) -> Result<String> {
    let t = text.trim();
    if t.is_empty() {
        return Err(Error::bad_input(format!("{field} is required")));
    }
    text::check_line(field, t)?;
    if t.chars().count() > max {
        return Err(Error::bad_input(format!(
            "{field} is too long ({} characters; at most {max})",
            t.chars().count()
        )));
    }
    Ok(t.to_owned())
}
