//! `keywright key`: signing keys, whose private halves live in the OS keychain.

use clap::{Subcommand, ValueEnum};
use jiff::Timestamp;
use keywright_core::{KeyAlgorithm, Keywright, NewSigningKey};
use serde_json::json;

use crate::output::{to_json, Failure, Output};

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
            Self::Create { .. } | Self::Retire { .. } => true,
            Self::Public { .. } | Self::List => false,
        }
    }

    /// What writes the store saves; nothing here writes a file.
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
                    format!(
                        "{}  {}  {}  {}\n",
                        k.kid,
                        k.status.as_str(),
                        k.algorithm.as_str(),
                        k.name
                    )
                })
                .collect();
            Ok(Output::ok(json!({ "keys": keys }), text))
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
