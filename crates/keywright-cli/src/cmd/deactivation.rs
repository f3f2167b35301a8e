//! `keywright deactivation`: deactivation receipts. `receipt` writes one as the
//! customer's application does (with the SDK, no store); `import` frees the seat.

use std::path::PathBuf;

use clap::Subcommand;
use jiff::Timestamp;
use keywright_license::activation::DeactivationReceipt;
use serde_json::json;

use super::machine::machine_output;
use crate::input;
use crate::output::{Failure, Output};
use crate::store::StoreLocation;

#[derive(Subcommand)]
pub(crate) enum DeactivationCommand {
    /// Write a deactivation receipt with the SDK, as the customer's application does
    /// (needs no store).
    Receipt {
        #[arg(long)]
        license_key: String,
        #[arg(long)]
        fingerprint: String,
        #[arg(long)]
        out: PathBuf,
    },
    /// Import a customer's deactivation receipt: frees the machine's seat.
    Import {
        /// The receipt file (`-` reads standard input).
        receipt: PathBuf,
    },
}

impl DeactivationCommand {
    /// Importing frees a seat; a receipt is written without the store.
    pub(crate) fn writes_store(&self) -> bool {
        match self {
            Self::Import { .. } => true,
            Self::Receipt { .. } => false,
        }
    }

    /// A receipt saves its file, an import the freed seat.
    pub(crate) fn saves(&self) -> bool {
        match self {
            Self::Receipt { .. } | Self::Import { .. } => true,
        }
    }
}

/// Runs the command; only `import` opens the store.
pub(crate) fn run(
    cmd: DeactivationCommand,
    store: &StoreLocation,
    now: Timestamp,
) -> Result<Output, Failure> {
    match cmd {
        DeactivationCommand::Receipt {
            license_key,
            fingerprint,
            out,
        } => {
            let receipt = DeactivationReceipt::new(license_key, fingerprint, super::nonce(), now);
            store.write_output(&out, &receipt.to_text())?;
            Ok(Output::ok(
                json!({ "path": out.display().to_string(), "nonce": receipt.nonce }),
                format!("Wrote deactivation receipt {}\n", out.display()),
            ))
        }
        DeactivationCommand::Import { receipt } => {
            let mut kw = store.open()?;
            let text = input::read_text(&receipt, &input::DEACTIVATION_RECEIPT)?;
            let m = kw.import_deactivation_receipt(&text, now)?;
            Ok(machine_output(&m, "Deactivated (customer's receipt)"))
        }
    }
}
