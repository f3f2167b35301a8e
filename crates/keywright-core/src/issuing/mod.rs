//! Issuing: licenses from a policy to a customer, and everything done with them after.
//!
//! - `model`: [`License`], [`LicenseStatus`], the list's [`LicenseQuery`] and
//!   [`LicensePage`], and the inputs of issuing, renewing and exporting.
//! - `issue`: issue one license (the key signed before any transaction), find and list.
//! - `export`: a license file, as the store has the license now, with its audit row.
//! - `lifecycle`: suspend, reinstate, revoke, renew.
//! - `entitlements`: a license's own entitlements (else its policy's).
//! - `search`: the license list (text, filters, sorts, keyset pages); it writes its SQL.
//! - `csv_export`: every license a search matches, as CSV.
//! - [`batch`]: issuing from a CSV (`csv`, `plan`, `run`, `files`), with `mail` drafts.
//! - `sql`: table `licenses`.

pub mod batch;
mod csv_export;
mod entitlements;
mod export;
mod issue;
mod lifecycle;
pub(crate) mod mail;
mod model;
mod search;
pub(crate) mod sql;

pub use csv_export::defuse_cell;
pub(crate) use export::{checked_out, FileOptions, SealedFile};
pub use model::{
    CheckOutFile, CheckedOutFile, ExportLicenseFile, IssueLicense, License, LicenseEntitlements,
    LicensePage, LicenseQuery, LicenseSort, LicenseStatus, RenewLicense, SetLicenseEntitlements,
};
pub(crate) use search::index_batch_rows;
pub use search::{BROAD_TEXT, COUNT_CAP, KEY_SHORT, MIN_KEY_PART};
