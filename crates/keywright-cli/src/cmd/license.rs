//! `keywright license`: issuing, exporting, listing and the lifecycle of licenses
//! (`license batch` and `license export --csv` are in `batch.rs`).

use std::path::PathBuf;

use clap::{Subcommand, ValueEnum};
use jiff::Timestamp;
use keywright_core::{
    Error, ExportLicenseFile, IssueLicense, Keywright, License, LicenseQuery, LicenseSort,
    LicenseStatus, RenewLicense, SetLicenseEntitlements,
};
use serde_json::json;

use super::batch;
use crate::output::{to_json, Failure, Output};

#[derive(Subcommand)]
pub(crate) enum LicenseCommand {
    /// Issue a license under a policy.
    Issue {
        /// Policy id or name.
        #[arg(long)]
        policy: String,
        /// Customer's name.
        #[arg(long)]
        name: Option<String>,
        /// Customer's email.
        #[arg(long)]
        email: Option<String>,
        /// Customer's company (kept when the customer is new).
        #[arg(long)]
        company: Option<String>,
        /// A JSON object.
        #[arg(long)]
        metadata: Option<String>,
    },
    /// Export a signed license file (Keygen's format), or with --csv every license
    /// matching the filters as CSV.
    Export {
        /// License id or key.
        #[arg(required_unless_present = "csv")]
        license: Option<String>,
        #[arg(long, required_unless_present = "csv")]
        out: Option<PathBuf>,
        /// Write the licenses matching the filters below to this CSV file instead.
        #[arg(long, value_name = "FILE", conflicts_with_all = ["license", "out", "ttl", "encrypt", "no_encrypt", "algorithm"])]
        csv: Option<PathBuf>,
        #[command(flatten)]
        filter: batch::ExportFilter,
        /// File TTL like 30d, or `none`; default: the policy's.
        #[arg(long)]
        ttl: Option<String>,
        /// Encrypt with the license key (default: the policy's setting).
        #[arg(long, conflicts_with = "no_encrypt")]
        encrypt: bool,
        /// Do not encrypt.
        #[arg(long)]
        no_encrypt: bool,
        /// Keygen file algorithm, e.g. `aes-256-gcm+rsa-sha256` (default: derived from
        /// the policy's scheme and the encryption setting, as Keygen does).
        #[arg(long, conflicts_with_all = ["encrypt", "no_encrypt"])]
        algorithm: Option<String>,
        /// Related objects to write in the file's `included`, as Keygen's include=:
        /// comma-separated product, policy, owner, entitlements.
        #[arg(long, value_delimiter = ',', value_name = "WHAT")]
        include: Vec<String>,
    },
    /// List licenses (all, newest first; any option below searches one page instead).
    List {
        /// Part of the customer's name or email (or of a short, unsigned key); a signed
        /// key's first 6 to 64 or last 6+ characters, or all of it; or a license id.
        #[arg(long)]
        search: Option<String>,
        /// active, suspended or revoked.
        #[arg(long, value_enum)]
        status: Option<StatusArg>,
        /// Only licenses expiring within this many days.
        #[arg(long, value_name = "DAYS")]
        expiring_within: Option<i64>,
        #[arg(long, value_enum)]
        sort: Option<SortArg>,
        /// Page size (at most 500).
        #[arg(long)]
        limit: Option<i64>,
        /// `nextCursor` from the previous page.
        #[arg(long)]
        cursor: Option<String>,
    },
    /// Issue licenses from a CSV (columns: name, email, company, policy or product,
    /// quantity, order id; others become metadata). Re-running a file issues only what
    /// is missing. Exits 2 when any row is bad (good rows are still issued unless
    /// --all-or-nothing).
    Batch(batch::BatchArgs),
    /// Email a license through the SMTP account (`keywright mail account`): its key in
    /// the message, its license file attached (signed and audited as an export).
    Send {
        /// License id or key.
        license: String,
        /// The recipient (default: the license's customer).
        #[arg(long)]
        to: Option<String>,
    },
    /// Suspend an active license (it stops validating until reinstated).
    Suspend {
        /// License id or key.
        license: String,
    },
    /// Reinstate a suspended license.
    Reinstate {
        /// License id or key.
        license: String,
    },
    /// Revoke a license for good (it can never be reinstated or renewed).
    Revoke {
        /// License id or key.
        license: String,
    },
    /// Extend a license's expiry from its current expiry or now, whichever is later.
    /// The key keeps its embedded expiry; license files exported afterwards carry the new one.
    Renew {
        /// License id or key.
        license: String,
        /// How much longer, like 1y, 6mo, 30d.
        #[arg(long)]
        by: String,
    },
    /// Show or change a license's entitlements (its own list, or its policy's).
    Entitlements {
        /// License id or key.
        license: String,
        /// Give the license its own list, comma-separated (an empty value = none).
        #[arg(long, value_name = "CODES", conflicts_with = "inherit")]
        set: Option<String>,
        /// Inherit the policy's entitlements again.
        #[arg(long)]
        inherit: bool,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum StatusArg {
    Active,
    Suspended,
    Revoked,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum SortArg {
    CreatedDesc,
    CreatedAsc,
    ExpiryAsc,
    CustomerAsc,
}

impl From<StatusArg> for LicenseStatus {
    fn from(s: StatusArg) -> Self {
        match s {
            StatusArg::Active => LicenseStatus::Active,
            StatusArg::Suspended => LicenseStatus::Suspended,
            StatusArg::Revoked => LicenseStatus::Revoked,
        }
    }
}

impl From<SortArg> for LicenseSort {
    fn from(s: SortArg) -> Self {
        match s {
            SortArg::CreatedDesc => LicenseSort::CreatedDesc,
            SortArg::CreatedAsc => LicenseSort::CreatedAsc,
            SortArg::ExpiryAsc => LicenseSort::ExpiryAsc,
            SortArg::CustomerAsc => LicenseSort::CustomerAsc,
        }
    }
}

impl LicenseCommand {
    /// Whether the command writes the store (a row, or the audit row of a signing).
    pub(crate) fn writes_store(&self) -> bool {
        match self {
            Self::List { .. } => false,
            // A license file is signed, and its signing is an audit row.
            Self::Export { csv, .. } => csv.is_none(),
            Self::Batch(args) => args.writes_store(),
            Self::Entitlements { set, inherit, .. } => set.is_some() || *inherit,
            Self::Issue { .. }
            | Self::Send { .. }
            | Self::Suspend { .. }
            | Self::Reinstate { .. }
            | Self::Revoke { .. }
            | Self::Renew { .. } => true,
        }
    }

    /// Whether the command saves something (a row or a file). Listing saves nothing,
    /// nor does a batch's dry run, nor `entitlements` without `--set` or `--inherit`.
    pub(crate) fn saves(&self) -> bool {
        match self {
            Self::List { .. } => false,
            Self::Batch(args) => args.writes_store(),
            Self::Entitlements { set, inherit, .. } => set.is_some() || *inherit,
            Self::Issue { .. }
            | Self::Export { .. }
            | Self::Send { .. }
            | Self::Suspend { .. }
            | Self::Reinstate { .. }
            | Self::Revoke { .. }
            | Self::Renew { .. } => true,
        }
    }
}

pub(crate) fn run(
    cmd: LicenseCommand,
    kw: &mut Keywright,
    now: Timestamp,
) -> Result<Output, Failure> {
    match cmd {
        LicenseCommand::Issue {
            policy,
            name,
            email,
            company,
            metadata,
        } => {
            let l = kw.issue_license(
                &IssueLicense {
                    policy_id: policy,
                    customer_name: name,
                    customer_email: email,
                    customer_company: company,
                    metadata,
                },
                now,
            )?;
            let text = format!(
                "Issued license {}\n  expiry: {}\n  key: {}\n",
                l.id,
                l.expiry.as_deref().unwrap_or("never"),
                l.key
            );
            Ok(Output::ok(to_json(&l), text))
        }
        LicenseCommand::Export {
            csv: Some(csv),
            filter,
            ..
        } => batch::export_csv(kw, &csv, filter, now),
        LicenseCommand::Batch(args) => batch::run(kw, args, now),
        LicenseCommand::Send { license, to } => super::mail::send_license(kw, license, to, now),
        LicenseCommand::Export {
            license,
            out,
            ttl,
            encrypt,
            no_encrypt,
            algorithm,
            include,
            ..
        } => {
            let (Some(license), Some(out)) = (license, out) else {
                return Err(
                    Error::bad_input("name the license and --out, or give --csv FILE").into(),
                );
            };
            let encrypt = match (encrypt, no_encrypt) {
                (true, _) => Some(true),
                (_, true) => Some(false),
                _ => None,
            };
            let f = kw.export_license_file(
                &ExportLicenseFile {
                    license_id: license,
                    path: out.display().to_string(),
                    ttl,
                    encrypt,
                    algorithm,
                    include,
                },
                now,
            )?;
            let text = format!(
                "Wrote {} ({}, {} bytes, sha256 {})\n",
                f.path, f.algorithm, f.bytes, f.sha256
            );
            Ok(Output::ok(to_json(&f), text))
        }
        LicenseCommand::List {
            search: None,
            status: None,
            expiring_within: None,
            sort: None,
            limit: None,
            cursor: None,
        } => {
            let licenses = kw.list_licenses()?;
            let text = licenses
                .iter()
                .map(|l| {
                    format!(
                        "{}  {}  {}  {}\n",
                        l.id,
                        l.status.as_str(),
                        l.customer_email
                            .as_deref()
                            .or(l.customer_name.as_deref())
                            .unwrap_or("-"),
                        l.policy_name
                    )
                })
                .collect();
            Ok(Output::ok(json!({ "licenses": licenses }), text))
        }
        LicenseCommand::List {
            search,
            status,
            expiring_within,
            sort,
            limit,
            cursor,
        } => {
            let page = kw.search_licenses(
                &LicenseQuery {
                    text: search,
                    status: status.map(LicenseStatus::from),
                    expiring_within_days: expiring_within,
                    sort: sort.unwrap_or(SortArg::CreatedDesc).into(),
                    limit,
                    cursor,
                    ..Default::default()
                },
                now,
            )?;
            let mut text: String = page
                .items
                .iter()
                .map(|l| {
                    format!(
                        "{}  {}  {}  {}  {}\n",
                        l.id,
                        l.status.as_str(),
                        l.expiry.as_deref().unwrap_or("never"),
                        l.customer_email
                            .as_deref()
                            .or(l.customer_name.as_deref())
                            .unwrap_or("-"),
                        l.policy_name
                    )
                })
                .collect();
            text.push_str(&format!(
                "{} of {}{} licenses{}\n",
                page.items.len(),
                page.total,
                if page.total_exact { "" } else { "+" },
                page.next_cursor
                    .as_deref()
                    .map(|c| format!("; next page: --cursor {c}"))
                    .unwrap_or_default()
            ));
            Ok(Output::ok(to_json(&page), text))
        }
        LicenseCommand::Suspend { license } => Ok(license_output(
            &kw.suspend_license(&license, now)?,
            "Suspended",
        )),
        LicenseCommand::Reinstate { license } => Ok(license_output(
            &kw.reinstate_license(&license, now)?,
            "Reinstated",
        )),
        LicenseCommand::Revoke { license } => Ok(license_output(
            &kw.revoke_license(&license, now)?,
            "Revoked",
        )),
        LicenseCommand::Renew { license, by } => {
            let l = kw.renew_license(
                &RenewLicense {
                    license_id: license,
                    by,
                },
                now,
            )?;
            Ok(license_output(&l, "Renewed"))
        }
        LicenseCommand::Entitlements {
            license,
            set,
            inherit,
        } => {
            let e = if set.is_some() || inherit {
                kw.set_license_entitlements(
                    &SetLicenseEntitlements {
                        license_id: license,
                        codes: set.map(|s| vec![s]),
                    },
                    now,
                )?
            } else {
                kw.license_entitlements(&license)?
            };
            let list = |v: &[String]| {
                if v.is_empty() {
                    "none".to_owned()
                } else {
                    v.join(", ")
                }
            };
            let text = format!(
                "entitlements: {}\n  source: {}\n  policy's: {}\n",
                list(&e.effective),
                if e.own.is_some() {
                    "the license's own"
                } else {
                    "inherited from the policy"
                },
                list(&e.policy)
            );
            Ok(Output::ok(to_json(&e), text))
        }
    }
}

fn license_output(l: &License, done: &str) -> Output {
    let text = format!(
        "{done} license {}\n  status: {}\n  expiry: {}\n",
        l.id,
        l.status.as_str(),
        l.expiry.as_deref().unwrap_or("never")
    );
    Output::ok(to_json(l), text)
}
