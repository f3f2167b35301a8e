//! `keywright audit`: the audit log, its checks against the store and the keychain's
//! anchor, and its exports.

use std::path::PathBuf;

use clap::{Subcommand, ValueEnum};
use jiff::Timestamp;
use keywright_core::audit::AuditQuery;
use keywright_core::Keywright;
use serde_json::json;

use crate::output::{to_json, Failure, Output};

#[derive(Subcommand)]
pub(crate) enum AuditCommand {
    /// Check the audit log: its hash chain, every row's MAC under the store's audit
    /// key, the anchor kept in the OS keychain, and that replaying it gives the
    /// store's current licenses, machines, keys, products and policies (exit 19 and
    /// every difference when it does not).
    Verify,
    /// Accept this computer's clock although the audit log has a newer row (one
    /// written while the clock ran ahead): appends a `clock.accept` row with the
    /// reason; signing then compares the clock with rows from it on.
    AcceptClock {
        /// Why (recorded in the audit log).
        #[arg(long)]
        reason: String,
    },
    /// Print the audit log.
    List,
    /// Write the audit log (or part of it) to a file, oldest first.
    Export {
        #[arg(long, value_enum, default_value = "csv")]
        format: AuditFormat,
        #[arg(long)]
        out: PathBuf,
        /// Only this action (`license.issue`) or family (`license.*`).
        #[arg(long)]
        action: Option<String>,
        /// Only events about this row id.
        #[arg(long)]
        subject: Option<String>,
        /// Only what this person did (the actor as the log records it).
        #[arg(long)]
        actor: Option<String>,
        /// Only events about this product (id, code or name): the product, its
        /// policies, licenses and their machines, and batches that issued for it.
        #[arg(long)]
        product: Option<String>,
        /// From this time (RFC 3339 or a date).
        #[arg(long)]
        since: Option<String>,
        /// Before this time (RFC 3339 or a date).
        #[arg(long)]
        until: Option<String>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum AuditFormat {
    Csv,
    /// JSON Lines: one event object per line.
    Jsonl,
}

impl AuditCommand {
    /// Never refused up front: verifying and listing read, an export writes a file
    /// elsewhere (without its audit row on a read-only store), and accept-clock's one
    /// row is refused by the core itself as a write to a read-only store.
    pub(crate) fn writes_store(&self) -> bool {
        false
    }

    /// Accepting the clock saves its row, an export its file.
    pub(crate) fn saves(&self) -> bool {
        match self {
            Self::AcceptClock { .. } | Self::Export { .. } => true,
            Self::Verify | Self::List => false,
        }
    }
}

pub(crate) fn run(
    cmd: AuditCommand,
    kw: &mut Keywright,
    now: Timestamp,
) -> Result<Output, Failure> {
    match cmd {
        AuditCommand::Verify => {
            let report = kw.check_audit()?;
            let mut text = format!("{}\n", report.message);
            if !report.intact {
                text = format!(
                    "The audit log does not prove this store: {} problem(s)\n",
                    report.problem_count
                );
                for p in &report.problems {
                    text.push_str(&format!("  - {p}\n"));
                }
                if report.problem_count > report.problems.len() as i64 {
                    text.push_str(&format!(
                        "  … and {} more\n",
                        report.problem_count - report.problems.len() as i64
                    ));
                }
            }
            let mut json = to_json(&report);
            json["ok"] = report.intact.into();
            Ok(Output {
                status: if report.intact { 0 } else { 19 },
                json,
                text,
            })
        }
        AuditCommand::AcceptClock { reason } => {
            let accepted = kw.accept_clock(&reason, now)?;
            let text = format!(
                "Accepted this computer's clock ({}) as audit row {}\n  \
                 row {} ({} by {}, dated {}) no longer holds signing back\n",
                accepted.clock,
                accepted.seq,
                accepted.future_row.seq,
                accepted.future_row.action,
                accepted.future_row.actor,
                accepted.future_row.at
            );
            Ok(Output::ok(to_json(&accepted), text))
        }
        AuditCommand::List => {
            let events = kw.audit_events()?;
            let text = events
                .iter()
                .map(|e| {
                    format!(
                        "{:>5}  {}  {}  {}  {}\n",
                        e.seq,
                        e.at,
                        e.actor,
                        e.action,
                        e.subject_id.as_deref().unwrap_or("-")
                    )
                })
                .collect();
            Ok(Output::ok(json!({ "events": events }), text))
        }
        AuditCommand::Export {
            format,
            out,
            action,
            subject,
            actor,
            product,
            since,
            until,
        } => {
            let product_id = match product {
                Some(reference) => Some(kw.find_product(&reference)?.id),
                None => None,
            };
            let query = AuditQuery {
                action,
                subject_id: subject,
                actor,
                product_id,
                since,
                until,
                ..Default::default()
            };
            let path = out.display().to_string();
            let f = match format {
                AuditFormat::Csv => kw.export_audit_csv(&path, &query, now)?,
                AuditFormat::Jsonl => kw.export_audit_jsonl(&path, &query, now)?,
            };
            let text = format!(
                "Wrote {} ({} bytes, sha256 {})\n",
                f.path, f.bytes, f.sha256
            );
            Ok(Output::ok(to_json(&f), text))
        }
    }
}
