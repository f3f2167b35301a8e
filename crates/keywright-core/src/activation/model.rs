//! Machines activated on licenses, air-gapped activation requests, and the
//! validation simulator's input and answer.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::issuing::License;

/// Whether a machine holds a seat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum MachineStatus {
    /// Activated: holds one of the license's seats.
    Active,
    /// Deactivated (by the vendor, a transfer or a customer's receipt): the seat is free.
    Deactivated,
}

impl MachineStatus {
    /// The name stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Deactivated => "deactivated",
        }
    }

    pub(crate) fn parse(s: &str) -> Self {
        match s {
            "deactivated" => Self::Deactivated,
            _ => Self::Active,
        }
    }
}

/// A machine activated on a license (Keygen's machine).
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Machine {
    /// Row id (UUID); the machine file's `data.id`.
    pub id: String,
    /// The license.
    pub license_id: String,
    /// The machine fingerprint its files are bound to.
    pub fingerprint: String,
    /// Display name.
    pub name: Option<String>,
    /// Host name, as the request said.
    pub hostname: Option<String>,
    /// Platform, as the request said.
    pub platform: Option<String>,
    /// The OS user who asked, as the request said.
    pub os_user: Option<String>,
    /// The application version that asked.
    pub app_version: Option<String>,
    /// Whether it holds a seat.
    pub status: MachineStatus,
    /// When it was activated.
    pub activated_at: String,
    /// When it was deactivated.
    pub deactivated_at: Option<String>,
    /// The nonce of the activation request it came from (hex), if any.
    pub request_nonce: Option<String>,
    /// Its last heartbeat ping (or its activation, under `FROM_CREATION`), if any.
    pub last_heartbeat_at: Option<String>,
    /// Keygen's `heartbeatStatus` when it was read (`list_machines` and the server
    /// compute it with [`HeartbeatStatus::of`]); `None` where the reader had no clock.
    pub heartbeat_status: Option<HeartbeatStatus>,
}

/// Keygen's `heartbeatStatus` of a machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum HeartbeatStatus {
    /// No ping yet (and, when the policy requires heartbeats, still within one
    /// heartbeat duration of its activation).
    NotStarted,
    /// Its last ping is within the heartbeat duration.
    Alive,
    /// Its last ping (or, when heartbeats are required and it never pinged, its
    /// activation) is older than the heartbeat duration.
    Dead,
    /// A dead machine that was just revived by a ping (only in the ping's answer).
    Resurrected,
}

/// What an imported activation request asks for.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ActivationRequestInfo {
    /// The machine fingerprint.
    pub fingerprint: String,
    /// Host name.
    pub hostname: Option<String>,
    /// Platform.
    pub platform: Option<String>,
    /// OS user.
    pub os_user: Option<String>,
    /// Application version.
    pub app_version: Option<String>,
    /// The request's nonce (hex).
    pub nonce: String,
    /// When the application made the request (its clock).
    pub requested_at: String,
}

/// Who and what an activation request is, and what activating it would do.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ActivationPreview {
    /// What the request asks for.
    pub request: ActivationRequestInfo,
    /// The license it names (with `machinesCount`).
    pub license: License,
    /// Seats in use now.
    #[ts(type = "number")]
    pub seats_used: i64,
    /// Seats the policy allows: 1 when node-locked, else its max machines; -1 = unlimited.
    #[ts(type = "number")]
    pub seats_allowed: i64,
    /// Whether the policy is floating (else node-locked).
    pub floating: bool,
    /// Whether the license's expiry has passed.
    pub expired: bool,
    /// The active machine with this fingerprint, if the license already has it:
    /// activating again gives a fresh machine file, not a second seat.
    pub existing_machine: Option<Machine>,
    /// Whether activation would succeed now.
    pub allowed: bool,
    /// Why not, in words (with the product's support message), when refused.
    pub refusal: Option<String>,
}

/// Input for activating a machine by hand (without a request file).
#[derive(Debug, Clone, Default, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
pub struct ActivateMachine {
    /// Id or key of the license.
    pub license_id: String,
    /// The machine fingerprint.
    pub fingerprint: String,
    /// Display name.
    pub name: Option<String>,
    /// Host name.
    pub hostname: Option<String>,
    /// Platform.
    pub platform: Option<String>,
    /// OS user.
    pub os_user: Option<String>,
    /// Application version.
    pub app_version: Option<String>,
}

/// Input for exporting a machine file.
#[derive(Debug, Clone, Default, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
pub struct ExportMachineFile {
    /// The machine.
    pub machine_id: String,
    /// Where to write the `.lic` file.
    pub path: String,
    /// File TTL; absent = the policy's; `none` = never expires.
    pub ttl: Option<String>,
    /// Encrypt with the license key and fingerprint; absent = yes (a machine file
    /// then opens only on its machine).
    pub encrypt: Option<bool>,
}

/// Input for moving a machine's seat to another machine.
#[derive(Debug, Clone, Default, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
pub struct TransferMachine {
    /// The machine to deactivate.
    pub machine_id: String,
    /// The new machine's fingerprint.
    pub fingerprint: String,
    /// The new machine's name; absent = the old one's.
    pub name: Option<String>,
    /// Host name.
    pub hostname: Option<String>,
    /// Platform.
    pub platform: Option<String>,
}

/// What the customer's application would see on a date.
#[derive(Debug, Clone, Default, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
pub struct SimulateValidation {
    /// Id or key of the license.
    pub license_id: String,
    /// A machine of that license: simulate its machine file; absent = a license file.
    pub machine_id: Option<String>,
    /// The fingerprint the application runs on; absent = the machine's own.
    pub fingerprint: Option<String>,
    /// The date, RFC 3339 (`2027-01-01T00:00:00Z`) or a day (`2027-01-01`, its start, UTC).
    pub at: String,
    /// When the customer's file was exported (same forms as `at`), with the policy's
    /// TTL; absent = on `at` (a fresh file).
    pub file_issued_at: Option<String>,
    /// Entitlement codes the application requires (`ENTITLEMENTS_MISSING` when the
    /// license lacks one); empty = none.
    pub required_entitlements: Vec<String>,
}

/// The validation result the customer's application would get.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SimulatedValidation {
    /// Keygen-style code: `VALID`, `EXPIRED`, `SUSPENDED`, `DECRYPTION_FAILED`...
    pub code: String,
    /// The SDK's message.
    pub message: String,
    /// The product's support message, which the application shows on failure.
    pub support_message: Option<String>,
}
