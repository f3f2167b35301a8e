//! `keywright backup`: one encrypted file holding a snapshot of the store and every
//! private key, and its restore onto this machine.

use std::path::PathBuf;

use clap::Subcommand;
use jiff::Timestamp;
use keywright_core::{os_user, Error};

use crate::output::{to_json, Failure, Output};
use crate::store::StoreLocation;

#[derive(Subcommand)]
pub(crate) enum BackupCommand {
    /// Write one encrypted file holding a snapshot of the store and every private key.
    Create {
        /// The backup file to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Restore a backup onto this machine: the keys into the OS keychain, the store to
    /// --store (default: the per-user store location), which must not exist yet.
    Restore {
        /// The backup file.
        file: PathBuf,
    },
}

impl BackupCommand {
    /// A backup is an audit row; a restore's target does not exist yet.
    pub(crate) fn writes_store(&self) -> bool {
        match self {
            Self::Create { .. } => true,
            Self::Restore { .. } => false,
        }
    }

    /// A backup saves its file, a restore the new store and keychain entries.
    pub(crate) fn saves(&self) -> bool {
        match self {
            Self::Create { .. } | Self::Restore { .. } => true,
        }
    }
}

/// Runs the command; `restore` writes a new store at the store's location instead of
/// opening one.
pub(crate) fn run(
    cmd: BackupCommand,
    store: &StoreLocation,
    now: Timestamp,
) -> Result<Output, Failure> {
    match cmd {
        BackupCommand::Create { out } => {
            let mut kw = store.open()?;
            let pass = passphrase(true)?;
            let b = kw.create_backup(&out, &pass, now)?;
            let text = format!(
                "Wrote backup {} ({} bytes, sha256 {})
  store {}: {} licenses, {} private keys
  Keep the passphrase safe: without it the backup cannot be opened.
",
                b.file.path, b.file.bytes, b.file.sha256, b.store_id, b.licenses, b.keys
            );
            Ok(Output::ok(to_json(&b), text))
        }
        BackupCommand::Restore { file } => {
            let target = store.path()?;
            let pass = passphrase(false)?;
            let r =
                keywright_core::restore_backup_to_keychain(&file, &pass, &target, &os_user(), now)?;
            let text = format!(
                "Restored store {} to {}
  {} licenses; {} private keys in the keychain ({})
",
                r.store_id, r.store_path, r.licenses, r.keys, r.keychain_service
            );
            Ok(Output::ok(to_json(&r), text))
        }
    }
}

/// The backup passphrase: `KEYWRIGHT_PASSPHRASE`, else asked on the terminal without
/// echo (twice when creating, so a typo does not lock the backup away).
fn passphrase(confirm: bool) -> Result<String, Failure> {
    if let Ok(p) = std::env::var("KEYWRIGHT_PASSPHRASE") {
        return Ok(p);
    }
    let ask = |prompt: &str| {
        rpassword::prompt_password(prompt).map_err(|e| {
            Failure::from(Error::bad_input(format!(
                "cannot read the passphrase from the terminal ({e}); set KEYWRIGHT_PASSPHRASE"
            )))
        })
    };
    let first = ask("Backup passphrase: ")?;
    if confirm && ask("Repeat the passphrase: ")? != first {
        return Err(Error::bad_input("the two passphrases differ; nothing was written").into());
    }
    Ok(first)
}
