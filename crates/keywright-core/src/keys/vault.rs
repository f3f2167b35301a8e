//! Private keys in the OS keychain.
//!
//! A private key is a binary secret under service `keywright/<store id>` and account
//! `<kid>`: two stores never share entries. Nothing here falls back to a file: if the
//! keychain cannot be reached, the caller gets [`ErrorCode::KeychainUnavailable`].

use std::collections::HashMap;
use std::sync::Mutex;

use zeroize::Zeroizing;

use crate::error::{Error, ErrorCode, Result};

/// Somewhere private key bytes can be kept, by account name.
pub trait Vault: Send + Sync {
    /// Stores `secret` under `account`, replacing any previous value.
    fn put(&self, account: &str, secret: &[u8]) -> Result<()>;
    /// Reads the secret under `account`.
    fn get(&self, account: &str) -> Result<Zeroizing<Vec<u8>>>;
    /// Removes the secret under `account` (absent is not an error).
    fn remove(&self, account: &str) -> Result<()>;
    /// The keychain service name, for people (`keywright/<store id>`).
    fn service(&self) -> &str;
    /// Where the secrets are, for messages ("the OS keychain"; a key bundle names its
    /// state file).
    fn place(&self) -> String {
        OS_KEYCHAIN.to_owned()
    }
}

/// How messages name the OS keychain.
pub const OS_KEYCHAIN: &str = "the OS keychain";

/// A shared vault is a vault: the caller can keep a handle on the vault it hands to
/// [`crate::Keywright`] (tests use this to inject faults into a [`MemoryVault`]).
impl<V: Vault + ?Sized> Vault for std::sync::Arc<V> {
    fn put(&self, account: &str, secret: &[u8]) -> Result<()> {
        (**self).put(account, secret)
    }
    fn get(&self, account: &str) -> Result<Zeroizing<Vec<u8>>> {
        (**self).get(account)
    }
    fn remove(&self, account: &str) -> Result<()> {
        (**self).remove(account)
    }
    fn service(&self) -> &str {
        (**self).service()
    }
    fn place(&self) -> String {
        (**self).place()
    }
}

/// The keychain service name for a store.
pub fn service_name(store_id: &str) -> String {
    format!("keywright/{store_id}")
}

/// The OS keychain through the `keyring` crate's native stores.
#[derive(Debug)]
pub struct Keychain {
    service: String,
}

impl Keychain {
    /// The keychain entries of the store with `store_id`.
    pub fn for_store(store_id: &str) -> Self {
        Self {
            service: service_name(store_id),
        }
    }

    /// The keychain entries that hold the passwords of PostgreSQL stores, by URL
    /// (see [`crate::store::location`]).
    pub fn for_connections() -> Self {
        Self {
            service: crate::store::location::CONNECTIONS_SERVICE.to_owned(),
        }
    }

    fn entry(&self, account: &str) -> Result<keyring::Entry> {
        keyring::Entry::new(&self.service, account).map_err(map_keyring)
    }
}

/// Runs a keychain call, and once more after a moment when the platform's service
/// failed under it (a Secret Service daemon that died mid-call is started again by
/// D-Bus on the next one). Every call here is idempotent: storing the same secret
/// again, reading, deleting. A locked keychain or a missing entry is not retried.
fn with_retry<T>(
    mut call: impl FnMut() -> std::result::Result<T, keyring::Error>,
) -> std::result::Result<T, keyring::Error> {
    match call() {
        Err(keyring::Error::PlatformFailure(_)) => {
            std::thread::sleep(std::time::Duration::from_millis(250));
            call()
        }
        other => other,
    }
}

impl Vault for Keychain {
    fn put(&self, account: &str, secret: &[u8]) -> Result<()> {
        let entry = self.entry(account)?;
        with_retry(|| entry.set_secret(secret)).map_err(map_keyring)
    }

    fn get(&self, account: &str) -> Result<Zeroizing<Vec<u8>>> {
        let entry = self.entry(account)?;
        with_retry(|| entry.get_secret())
            .map(Zeroizing::new)
            .map_err(|e| match e {
                keyring::Error::NoEntry => Error::new(
                    ErrorCode::KeychainEntryMissing,
                    format!(
                        "the OS keychain has no private key for signing key {account} (service {}); \
                         it was deleted or this store was copied from another machine — restore it from a backup",
                        self.service
                    ),
                ),
                other => map_keyring(other),
            })
    }

    fn remove(&self, account: &str) -> Result<()> {
        let entry = self.entry(account)?;
        match with_retry(|| entry.delete_credential()) {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(map_keyring(e)),
        }
    }

    fn service(&self) -> &str {
        &self.service
    }
}

fn map_keyring(e: keyring::Error) -> Error {
    // The keyring's own messages are specific ("Unable to autolaunch a dbus-daemon",
    // "no result found"); keep them, prefixed with what it means for the user.
    let detail = e.to_string();
    let code = match e {
        keyring::Error::NoEntry => ErrorCode::KeychainEntryMissing,
        keyring::Error::BadEncoding(_) | keyring::Error::Ambiguous(_) => {
            ErrorCode::KeychainMismatch
        }
        _ => ErrorCode::KeychainUnavailable,
    };
    Error::new(code, format!("OS keychain: {detail}"))
}

/// An in-memory vault for tests and throwaway demos; the shipped shells never use it.
#[derive(Default)]
pub struct MemoryVault {
    entries: Mutex<HashMap<String, Zeroizing<Vec<u8>>>>,
    fail_with: Mutex<Option<ErrorCode>>,
}

impl std::fmt::Debug for MemoryVault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MemoryVault(<redacted>)")
    }
}

impl MemoryVault {
    /// Makes every call fail with `code` (to test keychain faults), or heals it.
    pub fn fail_with(&self, code: Option<ErrorCode>) {
        *self.fail_with.lock().expect("vault lock") = code;
    }

    fn check(&self) -> Result<()> {
        match *self.fail_with.lock().expect("vault lock") {
            Some(code) => Err(Error::new(code, "OS keychain: simulated failure")),
            None => Ok(()),
        }
    }
}

impl Vault for MemoryVault {
    fn put(&self, account: &str, secret: &[u8]) -> Result<()> {
        self.check()?;
        self.entries
            .lock()
            .expect("vault lock")
            .insert(account.to_owned(), Zeroizing::new(secret.to_vec()));
        Ok(())
    }

    fn get(&self, account: &str) -> Result<Zeroizing<Vec<u8>>> {
        self.check()?;
        self.entries
            .lock()
            .expect("vault lock")
            .get(account)
            .cloned()
            .ok_or_else(|| {
                Error::new(
                    ErrorCode::KeychainEntryMissing,
                    format!("no private key for signing key {account}"),
                )
            })
    }

    fn remove(&self, account: &str) -> Result<()> {
        self.check()?;
        self.entries.lock().expect("vault lock").remove(account);
        Ok(())
    }

    fn service(&self) -> &str {
        "memory"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn platform_failure() -> keyring::Error {
        keyring::Error::PlatformFailure("the daemon went away".into())
    }

    #[test]
    fn a_platform_failure_is_tried_once_more_and_no_more() {
        let mut calls = 0;
        let got = with_retry(|| {
            calls += 1;
            if calls == 1 {
                Err(platform_failure())
            } else {
                Ok(calls)
            }
        });
        assert_eq!(got.unwrap(), 2);

        let mut calls = 0;
        let got: std::result::Result<(), _> = with_retry(|| {
            calls += 1;
            Err(platform_failure())
        });
        assert!(matches!(got, Err(keyring::Error::PlatformFailure(_))));
        assert_eq!(calls, 2);
    }

    #[test]
    fn a_locked_keychain_or_a_missing_entry_is_not_retried() {
        for make in [
            || keyring::Error::NoEntry,
            || keyring::Error::NoStorageAccess("locked".into()),
        ] {
            let mut calls = 0;
            let got: std::result::Result<(), _> = with_retry(|| {
                calls += 1;
                Err(make())
            });
            assert!(got.is_err());
            assert_eq!(calls, 1);
        }
    }
}
