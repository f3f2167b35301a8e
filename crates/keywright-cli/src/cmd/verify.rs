//! `keywright verify`: a license file or key checked with a public key, as a
//! customer's application would (no store).

use std::path::PathBuf;

use clap::Args;
use jiff::Timestamp;
use keywright_core::verify::{verify, VerifyReport, VerifyRequest};
use keywright_core::Error;

use crate::input;
use crate::output::{self, to_json, Failure, Output};

#[derive(Args)]
pub(crate) struct VerifyArgs {
    /// A license or machine file (`-` reads standard input).
    #[arg(required_unless_present = "key", conflicts_with = "key")]
    file: Option<PathBuf>,
    /// A signed license key.
    #[arg(long)]
    key: Option<String>,
    /// File holding the public key (hex, PEM or base64 SPKI).
    #[arg(long, value_name = "FILE")]
    public_key: PathBuf,
    /// License key: decrypts encrypted files.
    #[arg(long)]
    license_key: Option<String>,
    /// Machine fingerprint: decrypts encrypted machine files, and a machine file
    /// must be this machine's.
    #[arg(long)]
    fingerprint: Option<String>,
    /// For --key: the key scheme to expect (default: the public key's usual one).
    #[arg(long, requires = "key")]
    scheme: Option<String>,
    /// For files: the file algorithm to expect (default: any of the public key's,
    /// encrypted exactly when --license-key is given).
    #[arg(long, conflicts_with = "key")]
    algorithm: Option<String>,
    /// Check as of this time (RFC 3339) instead of now.
    #[arg(long, value_name = "RFC3339")]
    now: Option<String>,
}

/// Checks a file or key as of `--now`, or else `now`. Needs no store.
pub(crate) fn run(args: VerifyArgs, now: Timestamp) -> Result<Output, Failure> {
    let now = match &args.now {
        Some(t) => {
            keywright_license::parse_time(t).map_err(|e| Error::bad_input(format!("--now: {e}")))?
        }
        None => now,
    };
    let public_key = input::read_text(&args.public_key, &input::PUBLIC_KEY)?;
    let file = args
        .file
        .as_ref()
        .map(|p| input::read_text(p, &input::LICENSE_FILE))
        .transpose()?;
    let report = verify(
        &VerifyRequest {
            file,
            key: args.key,
            public_key,
            license_key: args.license_key,
            fingerprint: args.fingerprint,
            scheme: args.scheme,
            algorithm: args.algorithm,
        },
        now,
    )?;
    Ok(report_output(report))
}

fn report_output(report: VerifyReport) -> Output {
    let mut text = format!("{}: {}\n", report.code.as_str(), report.message);
    if let Some(d) = &report.detail {
        text.push_str(&format!("  detail: {d}\n"));
    }
    text.push_str(&format!(
        "  artifact: {} ({}), key {}\n",
        report.artifact, report.algorithm, report.kid
    ));
    if let Some(meta) = &report.meta {
        text.push_str(&format!(
            "  issued: {}, expires: {}\n",
            meta.issued,
            meta.expiry.as_deref().unwrap_or("never")
        ));
    }
    if let Some(p) = &report.payload {
        text.push_str(&format!("  payload: {p}\n"));
    }
    Output {
        status: output::verdict_status(report.code),
        json: to_json(&report),
        text,
    }
}
