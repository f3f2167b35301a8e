//! `keywright backup`: one encrypted file holding a snapshot of the store and every
//! private key, and its restore onto this machine.

use std::path::PathBuf;

use clap::Subcommand;
use jiff::Timestamp;
use keywright_core::os_user;

use crate::output::{to_json, Failure, Output};
use crate::passphrase;
use crate::store::StoreLocation;

#[derive(Subcommand)]
pub(crate) enum BackupCommand {
    /// Write one encrypted file holding a snapshot of the store and every private key.
    Create {
        /// The backup file to write.
        #[arg(long)]
        out: PathBuf,
        /// Read the passphrase from this file (else KEYWRIGHT_PASSPHRASE, else a prompt).
        #[arg(long, value_name = "PATH")]
        passphrase_file: Option<PathBuf>,
    },
    /// Restore a backup onto this machine: the keys into the OS keychain, the store to
    /// --store (default: the per-user store location), which must not exist yet.
    Restore {
        /// The backup file.
        file: PathBuf,
        /// Read the passphrase from this file (else KEYWRIGHT_PASSPHRASE, else a prompt).
        #[arg(long, value_name = "PATH")]
        passphrase_file: Option<PathBuf>,
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
        BackupCommand::Create {
            out,
            passphrase_file,
        } => {
            let mut kw = store.open()?;
            let pass = passphrase::read(passphrase_file.as_deref(), "Backup passphrase: ", true)?;
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
        BackupCommand::Restore {
            file,
            passphrase_file,
        } => {
            let target = store.path()?;
            let pass = passphrase::read(passphrase_file.as_deref(), "Backup passphrase: ", false)?;
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
