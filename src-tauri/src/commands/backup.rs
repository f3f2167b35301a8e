//! Encrypted backups: create (on a connection of its own, so the window keeps
//! answering), passphrase strength, restore into a new store.

use std::path::Path;

use jiff::Timestamp;
use keywright_core::{os_user, BackupCreated, BackupRestored, CommandError};
use tauri::State;

use crate::state::{Desk, Reply};

/// Writes an encrypted backup (store snapshot + private keys) to `path`. The
/// passphrase comes from the user; the keys never leave the core.
#[tauri::command(async)]
pub fn create_backup(
    desk: State<'_, Desk>,
    path: String,
    passphrase: String,
) -> Reply<BackupCreated> {
    desk.job(|kw| kw.create_backup(Path::new(&path), &passphrase, Timestamp::now()))
}

/// Live strength feedback: `WEAK_PASSPHRASE` with a hint, or nothing.
#[tauri::command(async)]
pub fn check_backup_passphrase(passphrase: String) -> Reply<()> {
    keywright_core::backup::check_passphrase(&passphrase).map_err(CommandError::from)
}

/// Restores a backup into a NEW store at `store_path` (never over an existing one),
/// its keys into this machine's keychain. The open store is left as it is (the window's
/// connection is not used): the user reopens Keywright on the restored store.
#[tauri::command(async)]
pub fn restore_backup(
    path: String,
    passphrase: String,
    store_path: String,
) -> Reply<BackupRestored> {
    keywright_core::restore_backup_to_keychain(
        Path::new(&path),
        &passphrase,
        Path::new(&store_path),
        &os_user(),
        Timestamp::now(),
    )
    .map_err(CommandError::from)
}
