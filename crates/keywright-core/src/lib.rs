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

use std::path::Path;

use jiff::Timestamp;

pub use activation::{next_heartbeat, online, verify, PingOutcome};
pub use audit::clock;
pub use backup::{
    restore_backup, restore_backup_to_keychain, BackupCreated, BackupRestored, KdfParams,
};
pub use catalog::INCLUDE_CHOICES;
pub use error::{CommandError, Error, ErrorCode, Result};
pub use issuing::{batch, defuse_cell, BROAD_TEXT, COUNT_CAP, KEY_TAIL};
pub use keys::bundle::{BundleVault, KeyBundle, KeyBundleCreated};
pub use keys::{applock, bundle, vault};
pub use model::*;
pub use settings::{default_settings_path, Settings, SettingsView};
pub use store::{default_store_path, Store};
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
