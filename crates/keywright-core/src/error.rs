//! One error type for the application, with a stable code per failure class.
//!
//! The code is what shells branch on: the desktop UI maps it to advice, the CLI to an
//! exit status. Messages are for people and never carry secret material.

use serde::Serialize;
use ts_rs::TS;

/// What kind of failure happened; stable, exported to TypeScript.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    /// The caller gave a value that cannot be used (empty name, bad duration, ...).
    BadInput,
    /// No row matches the id, name or code given.
    NotFound,
    /// The change would break a uniqueness or state rule (duplicate code, retired key).
    Conflict,
    /// The OS keychain cannot be reached (no Secret Service, no D-Bus, access denied).
    KeychainUnavailable,
    /// The keychain is reachable but holds no entry for this signing key.
    KeychainEntryMissing,
    /// The keychain entry exists but does not match the key on record.
    KeychainMismatch,
    /// The computer's clock is earlier than the newest audit entry: it was set back,
    /// and nothing is signed until it is corrected.
    ClockBehind,
    /// The SQLite store failed (I/O, corruption, locked by another process).
    Store,
    /// The store was written by a newer Keywright; this binary refuses to touch it.
    StoreTooNew,
    /// Reading or writing a file failed.
    Io,
    /// A license file or key could not be produced or parsed.
    Format,
    /// A bug: something that should not happen did.
    Internal,
    /// The app lock is on: signing waits for its passphrase (or it was mistyped).
    SigningLocked,
    /// A policy's key template names an unknown placeholder or renders a dataset its
    /// scheme cannot carry; the message names the placeholder or the rule.
    TemplateInvalid,
    /// The backup passphrase is too easy to guess; nothing was written.
    WeakPassphrase,
    /// The backup could not be opened with this passphrase; nothing was changed.
    BackupPassphrase,
    /// The backup file is damaged, truncated or not a Keywright backup; nothing was
    /// changed.
    BackupDamaged,
    /// A restore would overwrite an existing store; nothing was changed.
    StoreExists,
    /// The machine's policy does not allow transferring a seat to another fingerprint;
    /// deactivate the machine and activate the new one instead (if seats allow).
    TransferNotAllowed,
    /// The audit log does not match its anchor (the keychain's audit key and head) or
    /// the store: rows were deleted, rewritten or added outside Keywright. Reading
    /// works; changes and signatures are refused until the store is restored.
    AuditTampered,
    /// The output file named is the store itself (or its write-ahead log, shared
    /// memory or journal, by any path: a link, `..`, a hard link) or another
    /// database; writing there would destroy it. Nothing was written.
    OutputIsStore,
    /// The key bundle could not be opened with this passphrase; nothing was served.
    KeyBundlePassphrase,
    /// The key bundle file is damaged, truncated, or not a key bundle (a backup, say).
    KeyBundleDamaged,
    /// The key bundle was made for another store, or its audit key is not the one the
    /// store was anchored with; nothing was served.
    KeyBundleMismatch,
    /// The SMTP server refused the login (or no password is saved for it).
    MailLoginRefused,
    /// The SMTP server cannot be reached, or its TLS handshake or certificate failed.
    MailUnreachable,
    /// The SMTP server refused the message for good (5xx: an unknown recipient, a
    /// message over its size limit); sending it again will not help.
    MailRejected,
    /// The SMTP server asked to try again later (4xx), and kept asking.
    MailDeferred,
    /// The update server cannot be reached, or its answer cannot be read; nothing was
    /// downloaded or changed.
    UpdateUnreachable,
    /// A downloaded update failed its signature check (changed on the way, or signed
    /// with a key this build does not trust); it was not installed.
    UpdateRefused,
    /// A verified update could not be installed (no administrator's consent, a full
    /// disk); the running version is unchanged.
    UpdateFailed,
}

/// An application error: a code plus a message a person can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    /// The failure class.
    pub code: ErrorCode,
    /// What went wrong, in words; never contains secret material.
    pub message: String,
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error of `code` with `message`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// A [`ErrorCode::BadInput`] error.
    pub fn bad_input(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadInput, message)
    }

    /// A [`ErrorCode::NotFound`] error.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }

    /// A [`ErrorCode::Conflict`] error.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Conflict, message)
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ffi::ErrorCode as Sql;
        // The class of trouble in words; SQLite's own text stays at the end.
        let message = match e.sqlite_error_code() {
            Some(Sql::ConstraintViolation) => return Self::conflict(format!("store: {e}")),
            Some(Sql::ReadOnly) => format!(
                "the store is read-only, so nothing was changed: this user cannot write its \
                 file, its folder or its disk (SQLite: {e})"
            ),
            Some(Sql::DatabaseCorrupt | Sql::NotADatabase) => format!(
                "the store is damaged, so nothing was changed; restore it from a backup \
                 (SQLite: {e})"
            ),
            // The extended code says which operation failed (SQLite's IOERR_* list).
            Some(Sql::SystemIoFailure) => format!(
                "the store could not be read or written: an I/O error (is its disk full or \
                 failing?) (SQLite: {e}, code {})",
                match &e {
                    rusqlite::Error::SqliteFailure(f, _) => f.extended_code,
                    _ => 10,
                }
            ),
            _ => format!("store: {e}"),
        };
        Self::new(ErrorCode::Store, message)
    }
}

#[cfg(feature = "postgres")]
impl From<postgres::Error> for Error {
    fn from(e: postgres::Error) -> Self {
        use postgres::error::SqlState;
        // The client's own text for a server error is only "db error": the server's
        // message (and detail) say what happened.
        let text = match e.as_db_error() {
            Some(db) => match db.detail() {
                Some(detail) => format!("{} ({detail})", db.message()),
                None => db.message().to_owned(),
            },
            None => e.to_string(),
        };
        let code = e.code();
        // Class 08 (connection exception) and 57 (operator intervention: a server
        // shutting down, a terminated backend) mean the connection is gone.
        let lost = e.is_closed()
            || code.is_none_or(|c| c.code().starts_with("08") || c.code().starts_with("57"));
        match code {
            Some(c)
                if *c == SqlState::UNIQUE_VIOLATION
                    || *c == SqlState::FOREIGN_KEY_VIOLATION
                    || *c == SqlState::CHECK_VIOLATION
                    || *c == SqlState::NOT_NULL_VIOLATION =>
            {
                Self::conflict(format!("store: {text}"))
            }
            Some(c) if *c == SqlState::READ_ONLY_SQL_TRANSACTION => Self::new(
                ErrorCode::Store,
                format!(
                    "the store is read-only (a PostgreSQL standby or a read-only role), so nothing was changed ({text})"
                ),
            ),
            _ if lost => Self::new(
                ErrorCode::Store,
                format!(
                    "the connection to the PostgreSQL store was lost ({text}); what this step was writing was not committed, so it is safe to try again"
                ),
            ),
            _ => Self::new(ErrorCode::Store, format!("store (PostgreSQL): {text}")),
        }
    }
}

impl From<keywright_license::FormatError> for Error {
    fn from(e: keywright_license::FormatError) -> Self {
        Self::new(ErrorCode::Format, e.to_string())
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Self::new(ErrorCode::Io, e.to_string())
    }
}

/// The shape every Tauri command rejects with: `{code, message}`.
#[derive(Debug, Clone, Serialize, TS)]
pub struct CommandError {
    /// The failure class.
    pub code: ErrorCode,
    /// What went wrong, in words.
    pub message: String,
}

impl From<Error> for CommandError {
    fn from(e: Error) -> Self {
        Self {
            code: e.code,
            message: e.message,
        }
    }
}
