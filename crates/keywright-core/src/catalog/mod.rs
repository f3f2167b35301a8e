//! The catalog: what a vendor sells and the rules its licenses follow.
//!
//! - `model`: [`Product`], [`Policy`], [`Scheme`], [`ExpirationStrategy`] and their inputs.
//! - `products`: create, find, and rotate a product's signing key.
//! - `policies`: create and find policies; the seat rule (node-locked = one machine).
//! - `key_options`: a policy's key template or unsigned human keys, checked on creation.
//! - `policy_options`: the policy object license files carry so the SDK applies its
//!   expiration strategy and offline grace.
//! - `included`: Keygen's `include=` objects (product, policy, owner, entitlements).
//! - `sql`: tables `products` and `policies`.

mod included;
mod key_options;
mod model;
mod policies;
mod policy_options;
mod products;
pub(crate) mod sql;

pub(crate) use included::IncludeSet;
pub use included::INCLUDE_CHOICES;
pub(crate) use key_options::{embedded_dataset, human_style, LicenseFacts};
pub use model::{
    ExpirationStrategy, HeartbeatBasis, HeartbeatCullStrategy, HeartbeatResurrectionStrategy,
    KeyTemplatePreview, NewPolicy, NewProduct, Policy, Product, Scheme, SetPolicyHeartbeat,
    DEFAULT_HEARTBEAT_SECONDS, SCHEMES,
};
pub(crate) use policies::check_entitlement;
