//! `keywright license batch` and `keywright license export --csv`.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use clap::Args;
use jiff::Timestamp;
use keywright_core::batch::{BatchOptions, BatchPreview, BatchProgress};
use keywright_core::{Keywright, LicenseQuery, LicenseStatus};

use super::license::StatusArg;
use crate::input;
use crate::output::{to_json, Failure, Output};

#[derive(Args)]
pub(crate) struct BatchArgs {
    /// The CSV file (UTF-8, header row first; `-` reads standard input; at most 64 MiB).
    file: PathBuf,
    /// Write one .lic file per license and one .eml draft per customer email here.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Validate and show what would be issued; write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Issue nothing if any row is bad.
    #[arg(long)]
    all_or_nothing: bool,
}

impl BatchArgs {
    /// A dry run only reads the store, and saves nothing.
    pub(crate) fn writes_store(&self) -> bool {
        !self.dry_run
    }
}

/// The filters of `license export --csv` (the same as `license list`).
#[derive(Args)]
pub(crate) struct ExportFilter {
    /// Part of the key, customer name or email.
    #[arg(long, requires = "csv")]
    search: Option<String>,
    /// active, suspended or revoked.
    #[arg(long, value_enum, requires = "csv")]
    status: Option<StatusArg>,
    /// Only licenses expiring within this many days.
    #[arg(long, value_name = "DAYS", requires = "csv")]
    expiring_within: Option<i64>,
    /// Only this product's licenses (id, code or name).
    #[arg(long, requires = "csv")]
    product: Option<String>,
    /// Only this policy's licenses (id or name).
    #[arg(long, requires = "csv")]
    policy: Option<String>,
}

/// The bad rows, one per line: `line N (order X): reason; reason`.
fn bad_rows_text(preview: &BatchPreview) -> String {
    preview
        .rows
        .iter()
        .filter(|r| !r.errors.is_empty())
        .map(|r| {
            let order = if r.order_id.is_empty() {
                String::new()
            } else {
                format!(" (order {})", r.order_id)
            };
            format!("  line {}{order}: {}\n", r.line, r.errors.join("; "))
        })
        .collect()
}

pub(crate) fn run(kw: &mut Keywright, args: BatchArgs, now: Timestamp) -> Result<Output, Failure> {
    let csv = input::read_bytes(&args.file, &input::BATCH_CSV)?;
    let status = |bad: u64| if bad > 0 { 2 } else { 0 };
    if args.dry_run {
        let preview = kw.preview_batch(&csv)?;
        let mut text = format!(
            "{} rows: {} licenses to issue, {} already issued, {} bad rows (nothing written)\n",
            preview.rows.len(),
            preview.to_issue,
            preview.already_issued,
            preview.bad_rows
        );
        for r in preview.rows.iter().filter(|r| r.errors.is_empty()) {
            text.push_str(&format!(
                "  line {} (order {}): {} × {} / {} for {}{}\n",
                r.line,
                r.order_id,
                r.to_issue,
                r.product_name.as_deref().unwrap_or("?"),
                r.policy_name.as_deref().unwrap_or("?"),
                r.customer_email
                    .as_deref()
                    .or(r.customer_name.as_deref())
                    .unwrap_or("no customer"),
                r.note
                    .as_deref()
                    .map(|n| format!(" ({n})"))
                    .unwrap_or_default()
            ));
        }
        if preview.bad_rows > 0 {
            text.push_str("bad rows:\n");
            text.push_str(&bad_rows_text(&preview));
        }
        let bad = preview.bad_rows;
        return Ok(Output {
            json: to_json(&preview),
            text,
            status: status(bad),
        });
    }

    // A progress bar on standard error when a person is watching.
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} {bar:40} {pos}/{len} issued and written ({eta} left)",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let mut on_progress = |p: BatchProgress| {
        if let Some(bar) = &bar {
            bar.set_length(p.total);
            bar.set_position(p.done);
        }
    };
    let outcome = kw.issue_batch(
        &csv,
        &BatchOptions {
            out_dir: args.out.as_ref().map(|d| d.display().to_string()),
            all_or_nothing: args.all_or_nothing,
        },
        now,
        &mut on_progress,
        &AtomicBool::new(false),
    );
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let outcome = outcome?;
    let mut text = format!("{}\n", outcome.message);
    for i in &outcome.issued {
        text.push_str(&format!(
            "  line {} order {} #{}: {}\n",
            i.line, i.order_id, i.seq, i.key
        ));
    }
    if outcome.preview.bad_rows > 0 {
        text.push_str("bad rows:\n");
        text.push_str(&bad_rows_text(&outcome.preview));
    }
    Ok(Output {
        json: to_json(&outcome),
        text,
        status: status(outcome.preview.bad_rows),
    })
}

pub(crate) fn export_csv(
    kw: &mut Keywright,
    path: &std::path::Path,
    filter: ExportFilter,
    now: Timestamp,
) -> Result<Output, Failure> {
    let product_id = filter
        .product
        .map(|p| kw.find_product(&p).map(|p| p.id))
        .transpose()?;
    let policy_id = filter
        .policy
        .map(|p| kw.find_policy(&p).map(|p| p.id))
        .transpose()?;
    let f = kw.export_licenses_csv(
        &LicenseQuery {
            text: filter.search,
            status: filter.status.map(LicenseStatus::from),
            expiring_within_days: filter.expiring_within,
            product_id,
            policy_id,
            ..Default::default()
        },
        &path.display().to_string(),
        now,
    )?;
    let text = format!(
        "Wrote {} ({} bytes, sha256 {})\n",
        f.path, f.bytes, f.sha256
    );
    Ok(Output::ok(to_json(&f), text))
}
