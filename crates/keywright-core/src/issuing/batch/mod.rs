//! Batch issuance from a CSV: preview every row, then issue what is missing.
//!
//! A row is one order: a customer (name, email, company), a policy (or a product with a
//! single policy), a quantity and an order id; any other column becomes license
//! metadata. Each license issued for an order records `(order id, 1..quantity)` under a
//! unique index (migration 8), so running the same file again after a crash or a
//! cancel issues only the licenses still missing, never a duplicate.
//!
//! Speed: the private key of each product is read from the vault once per batch, keys
//! are signed on every core, and licenses are committed 500 per IMMEDIATE transaction
//! with one audit row that commits to every license and customer of the transaction
//! (a Merkle root; see [`crate::audit::batch`]).
//!
//! The steps, in order: `csv` reads the file, `plan` resolves every row against the
//! catalog and the store (all a preview does), `run` signs and commits the licenses
//! chunk by chunk, and `files` writes the `.lic` files (audited) and `.eml` drafts.

mod csv;
mod files;
mod plan;
mod run;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use jiff::Timestamp;
use keywright_license::issue::SigningKey as PrivateKey;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::error::{Error, ErrorCode, Result};
use crate::keys::SigningKey;
use crate::Keywright;
use plan::{Catalog, Plan, PlannedRow};

/// The most licenses one row may order.
pub const MAX_QUANTITY: u32 = 1_000;
/// The most rows one file may hold.
pub const MAX_ROWS: usize = 100_000;
/// The largest CSV file read (bytes).
pub const MAX_FILE_BYTES: usize = 64 * 1024 * 1024;
/// The most columns a CSV may have: the seven the batch knows plus metadata columns
/// (each becomes a metadata key on every license of its row).
pub const MAX_COLUMNS: usize = 256;
/// Licenses committed per transaction.
pub const CHUNK: usize = 500;

/// One CSV row as the preview shows it.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct BatchRow {
    /// Its line in the file (the header is line 1).
    #[ts(type = "number")]
    pub line: u64,
    /// The order id.
    pub order_id: String,
    /// Customer's name.
    pub customer_name: Option<String>,
    /// Customer's email.
    pub customer_email: Option<String>,
    /// Customer's company.
    pub customer_company: Option<String>,
    /// The policy the licenses are issued under, when it resolved.
    pub policy_id: Option<String>,
    /// Its name.
    pub policy_name: Option<String>,
    /// Its product's name.
    pub product_name: Option<String>,
    /// Licenses ordered.
    pub quantity: u32,
    /// Of those, how many the store already holds (an earlier run).
    pub already_issued: u32,
    /// How many issuing would add now.
    pub to_issue: u32,
    /// The other columns, as license metadata.
    pub metadata: BTreeMap<String, String>,
    /// Why the row cannot be issued; empty when it can.
    pub errors: Vec<String>,
    /// Something worth knowing that is not an error (a repeated row).
    pub note: Option<String>,
}

/// What a CSV would issue, row by row. Nothing is written to make it.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct BatchPreview {
    /// Every row, in file order.
    pub rows: Vec<BatchRow>,
    /// The columns that become metadata.
    pub metadata_columns: Vec<String>,
    /// Rows with at least one error.
    #[ts(type = "number")]
    pub bad_rows: u64,
    /// Licenses issuing would add.
    #[ts(type = "number")]
    pub to_issue: u64,
    /// Licenses of these orders the store already holds.
    #[ts(type = "number")]
    pub already_issued: u64,
}

/// How to issue a batch.
#[derive(Debug, Clone, Default, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
pub struct BatchOptions {
    /// A folder for one `.lic` file per license and one `.eml` draft per customer email.
    pub out_dir: Option<String>,
    /// Issue nothing if any row is bad.
    pub all_or_nothing: bool,
}

/// How far issuing has got.
#[derive(Debug, Clone, Copy, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct BatchProgress {
    /// Steps done (licenses issued, then license files written).
    #[ts(type = "number")]
    pub done: u64,
    /// Steps in all.
    #[ts(type = "number")]
    pub total: u64,
}

/// One license issued by this run.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct BatchIssued {
    /// The CSV line it came from.
    #[ts(type = "number")]
    pub line: u64,
    /// The order id.
    pub order_id: String,
    /// Its position in the order, 1..quantity.
    #[ts(type = "number")]
    pub seq: i64,
    /// The license.
    pub license_id: String,
    /// Its key.
    pub key: String,
}

/// What issuing did.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct BatchOutcome {
    /// The rows as validated before issuing.
    pub preview: BatchPreview,
    /// Licenses issued by this run.
    pub issued: Vec<BatchIssued>,
    /// Licenses the store already held (not issued again).
    #[ts(type = "number")]
    pub already_issued: u64,
    /// Stopped by a cancel: what was committed stays, a re-run issues the rest.
    pub cancelled: bool,
    /// Nothing was issued because a row is bad and all-or-nothing was asked.
    pub refused: bool,
    /// `.lic` files written (missing ones only; existing files are kept).
    #[ts(type = "number")]
    pub license_files: u64,
    /// `.eml` drafts written.
    #[ts(type = "number")]
    pub email_drafts: u64,
    /// In words.
    pub message: String,
}

/// What every step of a run reads: the plan, the catalog, the signers and the clock.
struct Run<'a> {
    preview: &'a BatchPreview,
    rows: &'a [PlannedRow],
    catalog: &'a Catalog,
    /// Each signing key (by row id) with its private half, read from the vault once.
    signers: &'a HashMap<String, (SigningKey, PrivateKey)>,
    now: Timestamp,
    /// This run's id: the subject of its audit rows, one per transaction.
    batch_id: &'a str,
}

/// Progress over a whole run: licenses issued, then license files written.
struct Steps<'p> {
    done: u64,
    total: u64,
    report: &'p mut dyn FnMut(BatchProgress),
}

impl<'p> Steps<'p> {
    /// Reports the start (nothing done of `total`).
    fn start(total: usize, report: &'p mut dyn FnMut(BatchProgress)) -> Self {
        let total = total as u64;
        report(BatchProgress { done: 0, total });
        Self {
            done: 0,
            total,
            report,
        }
    }

    /// Reports `n` more steps done.
    fn advance(&mut self, n: usize) {
        self.done += n as u64;
        (self.report)(BatchProgress {
            done: self.done,
            total: self.total,
        });
    }
}

/// The output folder, created if it is missing; `None` when none was asked for.
fn out_dir(options: &BatchOptions) -> Result<Option<PathBuf>> {
    let out_dir = crate::clean(options.out_dir.as_deref()).map(PathBuf::from);
    if let Some(dir) = &out_dir {
        std::fs::create_dir_all(dir).map_err(|e| {
            Error::new(
                ErrorCode::Io,
                format!("cannot create the folder {}: {e}", dir.display()),
            )
        })?;
    }
    Ok(out_dir)
}

/// Nothing issued: a row is bad and all-or-nothing was asked.
fn refused(preview: BatchPreview) -> BatchOutcome {
    let message = format!(
        "nothing issued: {} of {} rows are bad and all-or-nothing was asked",
        preview.bad_rows,
        preview.rows.len()
    );
    BatchOutcome {
        already_issued: preview.already_issued,
        preview,
        issued: Vec::new(),
        cancelled: false,
        refused: true,
        license_files: 0,
        email_drafts: 0,
        message,
    }
}

/// `(row, position)` of every license the plan still has to issue.
fn licenses_needed(rows: &[PlannedRow]) -> Vec<(usize, i64)> {
    rows.iter()
        .enumerate()
        .flat_map(|(i, p)| p.missing.iter().map(move |s| (i, *s)))
        .collect()
}

/// What a run did, in numbers and in words; `files` = (license files, email drafts)
/// written, when an output folder was given.
fn outcome(
    preview: BatchPreview,
    issued: Vec<BatchIssued>,
    files: Option<(u64, u64)>,
    cancelled: bool,
) -> BatchOutcome {
    let already_issued = preview.already_issued;
    let (license_files, email_drafts) = files.unwrap_or_default();
    let message = format!(
        "{} licenses issued, {} already held{}{}{}",
        issued.len(),
        already_issued,
        if preview.bad_rows > 0 {
            format!(", {} bad rows skipped", preview.bad_rows)
        } else {
            String::new()
        },
        if files.is_some() {
            format!(", {license_files} license files and {email_drafts} email drafts written")
        } else {
            String::new()
        },
        if cancelled {
            "; cancelled: run the same file again to issue the rest"
        } else {
            ""
        }
    );
    BatchOutcome {
        preview,
        issued,
        already_issued,
        cancelled,
        refused: false,
        license_files,
        email_drafts,
        message,
    }
}

/// How many threads the CPU-bound steps use.
fn threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 8)
}

/// Runs `f` over `items` split into one slice per core.
fn in_parallel<T: Send>(items: &mut [T], f: impl Fn(&mut [T]) -> Result<()> + Sync) -> Result<()> {
    in_threads(items, threads(), f)
}

/// Runs `f` over `items` split into `threads` slices, side by side.
fn in_threads<T: Send>(
    items: &mut [T],
    threads: usize,
    f: impl Fn(&mut [T]) -> Result<()> + Sync,
) -> Result<()> {
    if threads <= 1 || items.len() < 16 {
        return f(items);
    }
    let per = items.len().div_ceil(threads).max(1);
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks_mut(per)
            .map(|part| scope.spawn(move || f(part)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(Error::new(ErrorCode::Internal, "a worker thread panicked"))
                })
            })
            .collect::<Result<Vec<()>>>()
            .map(|_| ())
    })
}

impl Keywright {
    /// Reads a CSV and says, row by row, what issuing it would do and why a row cannot
    /// be issued (with its line). Nothing is written. A file that cannot be read at all
    /// (encoding, unbalanced quotes, a missing column) is an error naming the line.
    pub fn preview_batch(&self, csv: &[u8]) -> Result<BatchPreview> {
        Ok(self.plan_batch(csv)?.preview)
    }

    /// Issues the licenses a CSV orders that the store does not hold yet.
    ///
    /// Good rows are issued even when others are bad, unless `all_or_nothing`; each
    /// product's private key is read from the vault once; licenses are committed
    /// [`CHUNK`] per transaction with their audit rows. `cancel` is checked between
    /// chunks: what was committed stays, and a re-run issues the rest. With `out_dir`,
    /// a `.lic` file is written for every license of the file's orders that has none
    /// there yet (each audited), then one `.eml` draft per customer email.
    pub fn issue_batch(
        &mut self,
        csv: &[u8],
        options: &BatchOptions,
        now: Timestamp,
        progress: &mut dyn FnMut(BatchProgress),
        cancel: &AtomicBool,
    ) -> Result<BatchOutcome> {
        let Plan { preview, rows } = self.plan_batch(csv)?;
        let out_dir = out_dir(options)?;
        if options.all_or_nothing && preview.bad_rows > 0 {
            return Ok(refused(preview));
        }
        let catalog = self.catalog()?;
        let signers = self.read_signers(&rows, &catalog, out_dir.is_some(), now)?;
        let files_needed = match &out_dir {
            None => Vec::new(),
            Some(dir) => files::missing(dir, &preview, &rows),
        };
        let licenses_needed = licenses_needed(&rows);
        let mut steps = Steps::start(licenses_needed.len() + files_needed.len(), progress);
        let batch_id = uuid::Uuid::new_v4().to_string();
        let run = Run {
            preview: &preview,
            rows: &rows,
            catalog: &catalog,
            signers: &signers,
            now,
            batch_id: &batch_id,
        };

        let (issued, mut cancelled) =
            self.issue_licenses(&run, &licenses_needed, &mut steps, cancel)?;
        let (mut license_files, mut email_drafts) = (0, 0);
        if let (Some(dir), false) = (&out_dir, cancelled) {
            (license_files, cancelled) =
                self.write_license_files(&run, dir, &files_needed, &mut steps, cancel)?;
            if !cancelled {
                email_drafts = self.write_email_drafts(&run, dir)?;
            }
        }
        let files = out_dir.map(|_| (license_files, email_drafts));
        Ok(outcome(preview, issued, files, cancelled))
    }
}
