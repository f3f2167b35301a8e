//! The store a command names (`--store`, `KEYWRIGHT_STORE`, or keywright.db in the
//! per-user data folder): resolved, opened, checked for writing, and kept from being
//! overwritten by a file a command writes without opening it.

use std::path::{Path, PathBuf};

use keywright_core::audit::anchor::AnchorState;
use keywright_core::{default_store_path, os_user, Error, ErrorCode, Keywright};

use crate::output::{self, Failure};

/// The store as the command line gave it; the default is resolved on use.
pub(crate) struct StoreLocation(Option<PathBuf>);

impl StoreLocation {
    pub(crate) fn new(path: Option<PathBuf>) -> Self {
        Self(path)
    }

    /// The store's path (the per-user default when none was given).
    pub(crate) fn path(&self) -> Result<PathBuf, Failure> {
        match &self.0 {
            Some(p) => Ok(p.clone()),
            None => Ok(default_store_path()?),
        }
    }

    /// The store's location as text: a file path or a `postgres://` URL.
    pub(crate) fn location(&self) -> Result<String, Failure> {
        let path = self.path()?;
        path.to_str().map(str::to_owned).ok_or_else(|| {
            Error::bad_input(format!(
                "the store path {} is not valid UTF-8",
                path.display()
            ))
            .into()
        })
    }

    /// Whether the store is a PostgreSQL database.
    pub(crate) fn is_postgres(&self) -> bool {
        self.0
            .as_deref()
            .and_then(|p| p.to_str())
            .is_some_and(keywright_core::store::pg::is_postgres_url)
    }

    /// Opens the store, warning on standard error when its audit log does not match
    /// its anchor (reading works whatever the anchor check found; say it before the
    /// answer).
    pub(crate) fn open(&self) -> Result<Keywright, Failure> {
        let kw = if self.is_postgres() {
            Keywright::open_location(&self.location()?, os_user())?
        } else {
            Keywright::open(&self.path()?, os_user())?
        };
        let audit = kw.audit_status();
        if audit.state != AnchorState::Anchored && audit.state != AnchorState::Unanchored {
            output::warn(&format!("keywright: warning: {}", audit.message));
        }
        Ok(kw)
    }

    /// A command that writes the store, on a store this user cannot write: refused
    /// before it starts, with the reason (the file's permissions, its folder, its
    /// disk). The store itself opens read-only for commands that only read it.
    pub(crate) fn refuse_read_only(&self) -> Result<(), Failure> {
        if self.is_postgres() {
            // The database says so itself when a role or a standby cannot write.
            return Ok(());
        }
        let path = self.path()?;
        match keywright_core::store::read_only_reason(&path) {
            Some(why) => Err(Error::new(
                ErrorCode::Store,
                format!(
                    "the store at {} is read-only, so nothing was changed: {why}. Commands that only read it still work",
                    path.display()
                ),
            )
            .into()),
            None => Ok(()),
        }
    }

    /// Writes a file the command produced without opening the store, with the core's
    /// checks (never this store, by any path, nor a device) and atomically.
    pub(crate) fn write_output(&self, path: &Path, text: &str) -> Result<(), Failure> {
        keywright_core::files::write_output(path, text.as_bytes(), &self.path()?)?;
        Ok(())
    }
}
