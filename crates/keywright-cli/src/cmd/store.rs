//! `keywright store`: the store itself, whatever holds it (an SQLite file or a
//! PostgreSQL database).

use clap::Subcommand;
use keywright_core::{os_user, Keychain};

use crate::output::{to_json, Failure, Output};
use crate::store::StoreLocation;

#[derive(Subcommand)]
pub(crate) enum StoreCommand {
    /// Copy the whole store (every row, its audit log verified on both sides) to a new
    /// or empty store: an SQLite file or a postgres:// URL, either way. The keys stay
    /// in the keychain, filed under the store's id, which the copy keeps.
    Copy {
        /// The store to copy (default: --store, or the per-user store).
        #[arg(long, value_name = "PATH_OR_URL")]
        from: Option<String>,
        /// Where to copy it: a file that does not exist yet (or is empty), or a
        /// postgres:// URL of a database with no Keywright store in it yet.
        #[arg(long, value_name = "PATH_OR_URL")]
        to: String,
    },
}

impl StoreCommand {
    /// The copy writes its target, not the store named by --store.
    pub(crate) fn writes_store(&self) -> bool {
        false
    }

    pub(crate) fn saves(&self) -> bool {
        true
    }
}

pub(crate) fn run(cmd: StoreCommand, store: &StoreLocation) -> Result<Output, Failure> {
    match cmd {
        StoreCommand::Copy { from, to } => {
            let from = match from {
                Some(f) => f,
                None => store.location()?,
            };
            let copied = keywright_core::store::copy_store(
                &from,
                &to,
                &os_user(),
                |id| Box::new(Keychain::for_store(id)),
                |table, rows| {
                    crate::output::warn(&format!("  {table}: {rows} rows"));
                },
            )?;
            let rows = |t: &str| {
                copied
                    .tables
                    .iter()
                    .find(|r| r.table == t)
                    .map_or(0, |r| r.rows)
            };
            let text = format!(
                "Copied store {} from {} to {}\n  {} licenses, {} customers, {} machines; audit log of {} rows verified on both\n",
                copied.store_id,
                copied.from,
                copied.to,
                rows("licenses"),
                rows("customers"),
                rows("machines"),
                copied.audit_rows
            );
            Ok(Output::ok(to_json(&copied), text))
        }
    }
}
