//! The plain types that cross the shells' boundaries (IPC, CLI JSON), gathered from
//! the domains that own them (`keywright_core::model::X` is `keywright_core::X`).
//!
//! None of them can hold private key material: the private half of a signing key
//! only ever exists inside [`crate::vault`] and the signing calls.

pub use crate::activation::{
    ActivateMachine, ActivationPreview, ActivationRequestInfo, ExportMachineFile, HeartbeatStatus,
    Machine, MachineStatus, SimulateValidation, SimulatedValidation, TransferMachine,
};
pub use crate::catalog::{
    ExpirationStrategy, HeartbeatBasis, HeartbeatCullStrategy, HeartbeatResurrectionStrategy,
    KeyTemplatePreview, NewPolicy, NewProduct, Policy, Product, Scheme, SetPolicyHeartbeat,
    DEFAULT_HEARTBEAT_SECONDS, SCHEMES,
};
pub use crate::customers::{CustomerQuery, CustomerSummary};
pub use crate::dashboard::{Attention, Dashboard, DayCount, ProductSummary, RetiringKey};
pub use crate::files::ExportedFile;
pub use crate::issuing::{
    CheckOutFile, CheckedOutFile, ExportLicenseFile, IssueLicense, License, LicenseEntitlements,
    LicensePage, LicenseQuery, LicenseSort, LicenseStatus, RenewLicense, SetLicenseEntitlements,
};
pub use crate::keys::{KeyAlgorithm, KeyStatus, NewSigningKey, SigningKey};
pub use crate::store::StoreInfo;
