//! `keywright machine`: machines activated on licenses, by hand, and what their
//! applications would see.

use std::path::PathBuf;

use clap::Subcommand;
use jiff::Timestamp;
use keywright_core::{
    ActivateMachine, ExportMachineFile, Keywright, Machine, SimulateValidation, TransferMachine,
};
use serde_json::json;

use crate::output::{to_json, Failure, Output};

#[derive(Subcommand)]
pub(crate) enum MachineCommand {
    /// Activate a machine on a license by hand.
    Activate {
        /// License id or key.
        license: String,
        #[arg(long)]
        fingerprint: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        hostname: Option<String>,
        #[arg(long)]
        platform: Option<String>,
    },
    /// Write a machine's machine file (encrypted with license key + fingerprint).
    Export {
        /// Machine id.
        machine: String,
        #[arg(long)]
        out: PathBuf,
        /// TTL like 30d, or `none`; default: the policy's.
        #[arg(long)]
        ttl: Option<String>,
        /// Do not encrypt (the file then opens on any machine; the fingerprint
        /// check still applies).
        #[arg(long)]
        no_encrypt: bool,
    },
    /// Deactivate a machine: its seat is free.
    Deactivate {
        /// Machine id.
        machine: String,
    },
    /// Move a machine's seat to another fingerprint (deactivate + activate, at once).
    Transfer {
        /// Machine id.
        machine: String,
        /// The new machine's fingerprint.
        #[arg(long)]
        fingerprint: String,
        #[arg(long)]
        name: Option<String>,
    },
    /// List a license's machines.
    List {
        /// License id or key.
        license: String,
    },
    /// A machine's audit history.
    History {
        /// Machine id.
        machine: String,
    },
    /// What the customer's app would get validating on a date (no private key used).
    Simulate {
        /// License id or key.
        license: String,
        /// Simulate this machine's machine file instead of a license file.
        #[arg(long)]
        machine: Option<String>,
        /// The fingerprint the app runs on (default: the machine's).
        #[arg(long)]
        fingerprint: Option<String>,
        /// The date: 2027-01-01 or RFC 3339.
        #[arg(long)]
        at: String,
        /// When the customer's file was exported (default: on --at), with the policy's TTL.
        #[arg(long)]
        file_issued_at: Option<String>,
        /// Entitlement codes the app requires, comma-separated.
        #[arg(long, value_delimiter = ',')]
        require: Vec<String>,
    },
}

impl MachineCommand {
    /// Activating, deactivating and transferring change seats; an export's signing
    /// is an audit row.
    pub(crate) fn writes_store(&self) -> bool {
        match self {
            Self::Activate { .. }
            | Self::Export { .. }
            | Self::Deactivate { .. }
            | Self::Transfer { .. } => true,
            Self::List { .. } | Self::History { .. } | Self::Simulate { .. } => false,
        }
    }

    /// What writes the store saves (an export its file too); the rest only reads.
    pub(crate) fn saves(&self) -> bool {
        self.writes_store()
    }
}

pub(crate) fn run(
    cmd: MachineCommand,
    kw: &mut Keywright,
    now: Timestamp,
) -> Result<Output, Failure> {
    match cmd {
        MachineCommand::Activate {
            license,
            fingerprint,
            name,
            hostname,
            platform,
        } => {
            let m = kw.activate_machine(
                &ActivateMachine {
                    license_id: license,
                    fingerprint,
                    name,
                    hostname,
                    platform,
                    ..Default::default()
                },
                now,
            )?;
            Ok(machine_output(&m, "Activated"))
        }
        MachineCommand::Export {
            machine,
            out,
            ttl,
            no_encrypt,
        } => {
            let f = kw.export_machine_file(
                &ExportMachineFile {
                    machine_id: machine,
                    path: out.display().to_string(),
                    ttl,
                    encrypt: Some(!no_encrypt),
                },
                now,
            )?;
            let text = format!("Wrote {} ({}, sha256 {})\n", f.path, f.algorithm, f.sha256);
            Ok(Output::ok(to_json(&f), text))
        }
        MachineCommand::Deactivate { machine } => {
            let m = kw.deactivate_machine(&machine, now)?;
            Ok(machine_output(&m, "Deactivated"))
        }
        MachineCommand::Transfer {
            machine,
            fingerprint,
            name,
        } => {
            let m = kw.transfer_machine(
                &TransferMachine {
                    machine_id: machine,
                    fingerprint,
                    name,
                    ..Default::default()
                },
                now,
            )?;
            Ok(machine_output(&m, "Transferred to"))
        }
        MachineCommand::List { license } => {
            let machines = kw.list_machines(&license, now)?;
            let text = machines
                .iter()
                .map(|m| {
                    format!(
                        "{}  {}  {}  {}  {}  {}\n",
                        m.id,
                        m.status.as_str(),
                        m.heartbeat_status.map_or("-", |h| h.as_str()),
                        m.fingerprint,
                        m.hostname.as_deref().unwrap_or("-"),
                        m.activated_at
                    )
                })
                .collect();
            Ok(Output::ok(json!({ "machines": machines }), text))
        }
        MachineCommand::History { machine } => {
            let events = kw.machine_history(&machine)?;
            let text = events
                .iter()
                .map(|e| format!("{}  {}  {}  {}\n", e.seq, e.at, e.action, e.detail))
                .collect();
            Ok(Output::ok(json!({ "events": events }), text))
        }
        MachineCommand::Simulate {
            license,
            machine,
            fingerprint,
            at,
            file_issued_at,
            require,
        } => {
            let v = kw.simulate_validation(&SimulateValidation {
                license_id: license,
                machine_id: machine,
                fingerprint,
                at,
                file_issued_at,
                required_entitlements: require,
            })?;
            let mut text = format!("{}: {}\n", v.code, v.message);
            if let Some(s) = &v.support_message {
                text.push_str(&format!("  support: {s}\n"));
            }
            Ok(Output::ok(to_json(&v), text))
        }
    }
}

/// A machine after a change: `done` says which.
pub(crate) fn machine_output(m: &Machine, done: &str) -> Output {
    let text = format!(
        "{done} machine {}\n  fingerprint: {}\n  license: {}\n  status: {}\n",
        m.id,
        m.fingerprint,
        m.license_id,
        m.status.as_str()
    );
    Output::ok(to_json(m), text)
}
