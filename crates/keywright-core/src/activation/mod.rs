//! Activation: machines on licenses, offline and online, and checking what a
//! customer's application would see.
//!
//! - `model`: [`Machine`], [`MachineStatus`], activation requests and the simulator's
//!   input and answer.
//! - `machines`: air-gapped activation (request files in, machine files out),
//!   deactivation, transfer, deactivation receipts; the seat rules.
//! - `heartbeat`: Keygen's heartbeats: a machine's status, pings, culling dead machines.
//! - `machine_file`: a machine's signed (and by default encrypted) machine file.
//! - `simulate`: the validation simulator (the SDK's own checks on a file sealed in
//!   memory with a throwaway key).
//! - [`online`]: what the activation server asks of the store, and its request log;
//!   `validation`: Keygen's scoped validation (re-exported there).
//! - [`verify`]: `keywright verify`'s report on a key or file (no store).
//! - `sql`: tables `machines` and `server_events`.

mod heartbeat;
mod machine_file;
mod machines;
mod model;
pub mod online;
mod simulate;
mod sql;
mod validation;
pub mod verify;

pub use heartbeat::{next_heartbeat, PingOutcome};
pub use model::{
    ActivateMachine, ActivationPreview, ActivationRequestInfo, ExportMachineFile, HeartbeatStatus,
    Machine, MachineStatus, SimulateValidation, SimulatedValidation, TransferMachine,
};
