//! `keywright key`: signing keys, whose private halves live in the OS keychain.

use std::path::PathBuf;

use clap::{Subcommand, ValueEnum};
use jiff::Timestamp;
use keywright_core::{KdfParams, KeyAlgorithm, Keywright, NewSigningKey};
use serde_json::json;

use crate::output::{to_json, Failure, Output};
use crate::passphrase;

#[derive(Subcommand)]
pub(crate) enum KeyCommand {
    /// Generate a signing key; the private half goes straight into the OS keychain.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long, value_enum, default_value = "ed25519")]
        algorithm: AlgorithmArg,
    },
    /// Print a key's public half (never the private one).
    Public {
        /// Id, kid or name.
        key: String,
        #[arg(long, value_enum, default_value = "hex")]
        format: PublicFormat,
    },
    /// List signing keys.
    List,
    /// Retire a key: it stops signing; what it signed keeps verifying.
    Retire {
        /// Id, kid or name.
        key: String,
    },
    /// Schedule a key's retirement: from that time on it no longer signs (what it
    /// signed keeps verifying), and the dashboard names it in the 30 days before.
    ScheduleRetirement {
        /// Id, kid or name.
        key: String,
        /// When (a date, meaning its start in UTC, or RFC 3339).
        #[arg(long, required_unless_present = "cancel", conflicts_with = "cancel")]
        at: Option<String>,
        /// Cancel the retirement scheduled.
        #[arg(long)]
        cancel: bool,
    },
    /// Write an encrypted key bundle for `keywright serve --keys` on a server without
    /// an OS keychain: the active signing keys' private halves and the store's audit
    /// key, sealed under a passphrase (as backups are). Audited as an export of key
    /// material.
    Bundle {
        /// The bundle file to write (0600).
        #[arg(long)]
        out: PathBuf,
        /// Only this key (id, kid or name; repeat for more). Default: every active key.
        #[arg(long = "key", value_name = "KID")]
        keys: Vec<String>,
        /// Read the passphrase from this file (else KEYWRIGHT_PASSPHRASE, else a prompt).
        #[arg(long, value_name = "PATH")]
        passphrase_file: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum AlgorithmArg {
    Ed25519,
    #[value(name = "rsa-2048")]
    Rsa2048,
    #[value(name = "ecdsa-p256")]
    EcdsaP256,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum PublicFormat {
    Hex,
    Pem,
}

impl KeyCommand {
    pub(crate) fn writes_store(&self) -> bool {
        match self {
            // A bundle's export is an audit row.
            Self::Create { .. }
            | Self::Retire { .. }
            | Self::ScheduleRetirement { .. }
            | Self::Bundle { .. } => true,
            Self::Public { .. } | Self::List => false,
        }
    }

    /// What writes the store saves (and `bundle` its file).
    pub(crate) fn saves(&self) -> bool {
        self.writes_store()
    }
}

pub(crate) fn run(cmd: KeyCommand, kw: &mut Keywright, now: Timestamp) -> Result<Output, Failure> {
    match cmd {
        KeyCommand::Create { name, algorithm } => {
            let algorithm = match algorithm {
                AlgorithmArg::Ed25519 => KeyAlgorithm::Ed25519,
                AlgorithmArg::Rsa2048 => KeyAlgorithm::Rsa2048,
                AlgorithmArg::EcdsaP256 => KeyAlgorithm::EcdsaP256,
            };
            let key = kw.create_signing_key(&NewSigningKey { name, algorithm }, now)?;
            let info = kw.store_info();
            let text = format!(
                "Created signing key {:?}\n  id:         {}\n  kid:        {}\n  public key: {}\n  private key: in the OS keychain (service {}, account {})\n",
                key.name, key.id, key.kid, key.public_key_hex, info.keychain_service, key.kid
            );
            Ok(Output::ok(to_json(&key), text))
        }
        KeyCommand::Public { key, format } => {
            let key = kw.find_signing_key(&key)?;
            let public = match format {
                PublicFormat::Hex => format!("{}\n", key.public_key_hex),
                PublicFormat::Pem => key.public_key_pem.clone(),
            };
            Ok(Output::ok(
                json!({ "id": key.id, "kid": key.kid, "publicKey": public.trim_end() }),
                public,
            ))
        }
        KeyCommand::List => {
            let keys = kw.list_signing_keys()?;
            let text = keys
                .iter()
                .map(|k| {
                    let retires = k
                        .retire_at
                        .as_deref()
                        .map(|r| format!("  (retires {r})"))
                        .unwrap_or_default();
                    format!(
                        "{}  {}  {}  {}{retires}\n",
                        k.kid,
                        k.status.as_str(),
                        k.algorithm.as_str(),
                        k.name
                    )
                })
                .collect();
            Ok(Output::ok(json!({ "keys": keys }), text))
        }
        KeyCommand::Bundle {
            out,
            keys,
            passphrase_file,
        } => {
            unlock_for_export(kw)?;
            let pass =
                passphrase::read(passphrase_file.as_deref(), "Key bundle passphrase: ", true)?;
            let b = kw.create_key_bundle(&out, &pass, &keys, KdfParams::DESKTOP, now)?;
            let text = format!(
                "Wrote key bundle {} ({} bytes, sha256 {}, mode 0600)
  store {}: signing keys {} and the audit key {}
  It holds private keys: keep it and its passphrase apart, and give it to
  `keywright serve --keys FILE --passphrase-file PATH` on the server.
",
                b.file.path,
                b.file.bytes,
                b.file.sha256,
                b.store_id,
                b.keys.join(", "),
                b.audit_key_id
            );
            Ok(Output::ok(to_json(&b), text))
        }
        KeyCommand::ScheduleRetirement { key, at, cancel: _ } => {
            let key = kw.schedule_key_retirement(&key, at.as_deref(), now)?;
            let text = match &key.retire_at {
                Some(r) => format!(
                    "Signing key {:?} ({}) retires at {r}: from then on it no longer signs\n",
                    key.name, key.kid
                ),
                None => format!(
                    "Signing key {:?} ({}) has no retirement scheduled\n",
                    key.name, key.kid
                ),
            };
            Ok(Output::ok(to_json(&key), text))
        }
        KeyCommand::Retire { key } => {
            let key = kw.retire_signing_key(&key, now)?;
            let text = format!(
                "Retired signing key {:?} ({}): it no longer signs; what it signed keeps verifying\n",
                key.name, key.kid
            );
            Ok(Output::ok(to_json(&key), text))
        }
    }
}

/// A key bundle exports private keys: when the store has an app lock, its passphrase
/// is asked first (`KEYWRIGHT_APP_LOCK_PASSPHRASE`, else a prompt), as the window asks
/// before it signs. A wrong one is `SIGNING_LOCKED` (exit 4).
fn unlock_for_export(kw: &mut Keywright) -> Result<(), Failure> {
    if !kw.app_lock_state()?.enabled {
        return Ok(());
    }
    kw.enforce_app_lock(std::time::Duration::from_secs(60));
    let pass = match std::env::var("KEYWRIGHT_APP_LOCK_PASSPHRASE") {
        Ok(p) => p,
        Err(_) => rpassword::prompt_password("App lock passphrase: ").map_err(|e| {
            Failure::from(keywright_core::Error::new(
                keywright_core::ErrorCode::SigningLocked,
                format!(
                    "this store has an app lock, and a key bundle exports private keys: its passphrase \
                     could not be read from the terminal ({e}); set KEYWRIGHT_APP_LOCK_PASSPHRASE"
                ),
            ))
        })?,
    };
    kw.unlock_app(&pass)?;
    Ok(())
}
