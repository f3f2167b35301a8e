//! `keywright activation`: air-gapped activation. `request` writes a request as the
//! customer's application does (with the SDK, no store); `preview` and `import` read
//! one against the store.

use std::path::{Path, PathBuf};

use clap::Subcommand;
use jiff::Timestamp;
use keywright_core::{ExportMachineFile, Keywright};
use keywright_license::activation::ActivationRequest;
use serde_json::json;

use crate::input;
use crate::output::{to_json, Failure, Output};
use crate::store::StoreLocation;

#[derive(Subcommand)]
pub(crate) enum ActivationCommand {
    /// Write an activation request with the SDK, as the customer's application does
    /// (needs no store).
    Request {
        #[arg(long)]
        license_key: String,
        #[arg(long)]
        fingerprint: String,
        #[arg(long)]
        out: PathBuf,
        #[arg(long)]
        hostname: Option<String>,
        #[arg(long)]
        platform: Option<String>,
        /// The OS user asking.
        #[arg(long)]
        user: Option<String>,
        #[arg(long)]
        app_version: Option<String>,
    },
    /// Show who asks, the license's state and whether activation would succeed.
    Preview {
        /// The request file (`-` reads standard input).
        request: PathBuf,
    },
    /// Activate the machine a request names and write its machine file.
    Import {
        /// The request file (`-` reads standard input).
        request: PathBuf,
        /// Where to write the machine file.
        #[arg(long)]
        out: PathBuf,
        /// Machine file TTL like 30d, or `none`; default: the policy's.
        #[arg(long)]
        ttl: Option<String>,
    },
}

impl ActivationCommand {
    /// Importing takes a seat; a request is written without the store.
    pub(crate) fn writes_store(&self) -> bool {
        match self {
            Self::Import { .. } => true,
            Self::Request { .. } | Self::Preview { .. } => false,
        }
    }

    /// A request saves its file, an import its machine and machine file.
    pub(crate) fn saves(&self) -> bool {
        match self {
            Self::Request { .. } | Self::Import { .. } => true,
            Self::Preview { .. } => false,
        }
    }
}

/// Runs the command; only `preview` and `import` open the store.
pub(crate) fn run(
    cmd: ActivationCommand,
    store: &StoreLocation,
    now: Timestamp,
) -> Result<Output, Failure> {
    match cmd {
        ActivationCommand::Request {
            license_key,
            fingerprint,
            out,
            hostname,
            platform,
            user,
            app_version,
        } => {
            let mut request = ActivationRequest::new(license_key, fingerprint, super::nonce(), now);
            request.hostname = hostname;
            request.platform = platform;
            request.os_user = user;
            request.app_version = app_version;
            store.write_output(&out, &request.to_text())?;
            let text = format!(
                "Wrote activation request {} (fingerprint {}, nonce {})\n",
                out.display(),
                request.fingerprint,
                request.nonce
            );
            Ok(Output::ok(
                json!({ "path": out.display().to_string(), "fingerprint": request.fingerprint,
                        "nonce": request.nonce }),
                text,
            ))
        }
        ActivationCommand::Preview { request } => preview(&mut store.open()?, &request, now),
        ActivationCommand::Import { request, out, ttl } => {
            import(&mut store.open()?, &request, &out, ttl, now)
        }
    }
}

/// Who asks, the license's state, and whether activation would succeed.
fn preview(kw: &mut Keywright, request: &Path, now: Timestamp) -> Result<Output, Failure> {
    let text = input::read_text(request, &input::ACTIVATION_REQUEST)?;
    let p = kw.preview_activation(&text, now)?;
    let allowed = if p.seats_allowed < 0 {
        "unlimited".to_owned()
    } else {
        p.seats_allowed.to_string()
    };
    let mut out = format!(
        "Activation request for license {} ({})\n  fingerprint: {}\n  hostname: {}\n  platform: {}\n  user: {}\n  app version: {}\n  requested: {}\n  license: {}, expiry {}, seats {} of {} ({})\n",
        p.license.id,
        p.license.customer_name.as_deref().or(p.license.customer_email.as_deref()).unwrap_or("no customer"),
        p.request.fingerprint,
        p.request.hostname.as_deref().unwrap_or("-"),
        p.request.platform.as_deref().unwrap_or("-"),
        p.request.os_user.as_deref().unwrap_or("-"),
        p.request.app_version.as_deref().unwrap_or("-"),
        p.request.requested_at,
        p.license.status.as_str(),
        p.license.expiry.as_deref().unwrap_or("never"),
        p.seats_used,
        allowed,
        if p.floating { "floating" } else { "node-locked" },
    );
    if let Some(m) = &p.existing_machine {
        out.push_str(&format!(
            "  already activated as machine {}: a fresh machine file, no new seat\n",
            m.id
        ));
    }
    match &p.refusal {
        Some(r) => out.push_str(&format!("  REFUSED: {r}\n")),
        None => out.push_str("  would be activated\n"),
    }
    Ok(Output::ok(to_json(&p), out))
}

/// Activates the machine a request names and writes its machine file.
fn import(
    kw: &mut Keywright,
    request: &Path,
    out: &Path,
    ttl: Option<String>,
    now: Timestamp,
) -> Result<Output, Failure> {
    let text = input::read_text(request, &input::ACTIVATION_REQUEST)?;
    // A TTL the export would refuse must not leave a seat taken.
    if ttl.is_some() {
        keywright_core::duration::parse_file_ttl(ttl.as_deref())?;
    }
    let m = kw.activate_from_request(&text, now)?;
    let f = kw.export_machine_file(
        &ExportMachineFile {
            machine_id: m.id.clone(),
            path: out.display().to_string(),
            ttl,
            encrypt: None,
        },
        now,
    )?;
    let text = format!(
        "Activated machine {} (fingerprint {}) on license {}\nWrote {} ({}, sha256 {})\n",
        m.id, m.fingerprint, m.license_id, f.path, f.algorithm, f.sha256
    );
    Ok(Output::ok(json!({ "machine": m, "file": f }), text))
}
