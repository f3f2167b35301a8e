//! What a vendor sells and the rules licenses are issued under: products and their
//! policies, with Keygen's key schemes and expiration strategies.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::keys::KeyAlgorithm;

/// A product the vendor sells.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Product {
    /// Row id (UUID).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Short unique code (`ZAPPER`).
    pub code: String,
    /// Product page.
    pub url: Option<String>,
    /// Shown to customers when validation fails.
    pub support_message: Option<String>,
    /// The key that signs this product's licenses.
    pub signing_key_id: String,
    /// When it was made.
    pub created_at: String,
}

/// Input for a new product.
#[derive(Debug, Clone, Default, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
pub struct NewProduct {
    /// Display name.
    pub name: String,
    /// Short unique code; derived from the name when absent.
    pub code: Option<String>,
    /// Product page.
    pub url: Option<String>,
    /// Shown to customers when validation fails.
    pub support_message: Option<String>,
    /// Id, kid or name of the signing key; the newest active key when absent.
    pub signing_key_id: Option<String>,
}

/// Keygen's license key schemes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
pub enum Scheme {
    /// Ed25519-signed key with Keygen's default dataset.
    #[serde(rename = "ED25519_SIGN")]
    Ed25519Sign,
    /// RSA-PSS-signed `key/…` key (Keygen's recommended RSA scheme).
    #[serde(rename = "RSA_2048_PKCS1_PSS_SIGN_V2")]
    RsaPssSignV2,
    /// RSA PKCS#1 v1.5-signed `key/…` key.
    #[serde(rename = "RSA_2048_PKCS1_SIGN_V2")]
    RsaSignV2,
    /// Legacy RSA-PSS layout (no `key/` prefix).
    #[serde(rename = "RSA_2048_PKCS1_PSS_SIGN")]
    RsaPssSign,
    /// Legacy RSA PKCS#1 v1.5 layout (no `key/` prefix).
    #[serde(rename = "RSA_2048_PKCS1_SIGN")]
    RsaSign,
    /// The dataset (at most 245 bytes) encrypted with the private key.
    #[serde(rename = "RSA_2048_PKCS1_ENCRYPT")]
    RsaEncrypt,
    /// A JWT signed with RS256.
    #[serde(rename = "RSA_2048_JWT_RS256")]
    RsaJwtRs256,
    /// ECDSA P-256-signed `key/…` key.
    #[serde(rename = "ECDSA_P256_SIGN")]
    EcdsaP256Sign,
}

/// Every scheme, in the order the UI offers them.
pub const SCHEMES: [Scheme; 8] = [
    Scheme::Ed25519Sign,
    Scheme::RsaPssSignV2,
    Scheme::RsaSignV2,
    Scheme::RsaJwtRs256,
    Scheme::RsaEncrypt,
    Scheme::RsaPssSign,
    Scheme::RsaSign,
    Scheme::EcdsaP256Sign,
];

impl Scheme {
    /// The format crate's scheme.
    pub fn to_format(self) -> keywright_license::Scheme {
        use keywright_license::Scheme as F;
        match self {
            Self::Ed25519Sign => F::Ed25519Sign,
            Self::RsaPssSignV2 => F::RsaPssSignV2,
            Self::RsaSignV2 => F::RsaSignV2,
            Self::RsaPssSign => F::RsaPssSign,
            Self::RsaSign => F::RsaSign,
            Self::RsaEncrypt => F::RsaEncrypt,
            Self::RsaJwtRs256 => F::RsaJwtRs256,
            Self::EcdsaP256Sign => F::EcdsaP256Sign,
        }
    }

    /// Keygen's name.
    pub fn as_str(self) -> &'static str {
        self.to_format().as_str()
    }

    /// Parses Keygen's name (case-insensitive).
    pub fn parse(s: &str) -> Option<Self> {
        let upper = s.trim().to_ascii_uppercase();
        SCHEMES.into_iter().find(|scheme| scheme.as_str() == upper)
    }

    /// The key algorithm that signs this scheme.
    pub fn key_algorithm(self) -> KeyAlgorithm {
        match self {
            Self::Ed25519Sign => KeyAlgorithm::Ed25519,
            Self::EcdsaP256Sign => KeyAlgorithm::EcdsaP256,
            _ => KeyAlgorithm::Rsa2048,
        }
    }

    /// The scheme a new policy gets for a key: Keygen's recommended one.
    pub fn default_for(algorithm: KeyAlgorithm) -> Self {
        match algorithm {
            KeyAlgorithm::Ed25519 => Self::Ed25519Sign,
            KeyAlgorithm::Rsa2048 => Self::RsaPssSignV2,
            KeyAlgorithm::EcdsaP256 => Self::EcdsaP256Sign,
        }
    }
}

/// Rules a license is issued under.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Policy {
    /// Row id (UUID).
    pub id: String,
    /// The product.
    pub product_id: String,
    /// Display name, unique per product.
    pub name: String,
    /// Key scheme.
    pub scheme: Scheme,
    /// License duration in seconds; `None` = perpetual.
    #[ts(type = "number | null")]
    pub duration_seconds: Option<i64>,
    /// Machine limit; `None` = unlimited. Always 1 for a node-locked policy (also one
    /// stored by an older version with another value, which it enforced as 1).
    #[ts(type = "number | null")]
    pub max_machines: Option<i64>,
    /// Floating (several machines) rather than node-locked.
    pub floating: bool,
    /// License file TTL in seconds; `None` = files never expire.
    #[ts(type = "number | null")]
    pub file_ttl_seconds: Option<i64>,
    /// Encrypt license files with the license key.
    pub encrypt: bool,
    /// Entitlement codes granted.
    pub entitlements: Vec<String>,
    /// Keygen-style key template (`{{id}}`, `{{expiry}}`...): the dataset its signed
    /// keys embed instead of Keygen's default one; `None` = the default dataset.
    pub key_template: Option<String>,
    /// License keys are random, human-typable and unsigned (no scheme): such licenses
    /// are checked online or through a (signed) license file only.
    pub unsigned_key: bool,
    /// What an expired license may still do (Keygen's `expirationStrategy`).
    pub expiration_strategy: ExpirationStrategy,
    /// Keygen's `strict`: a license file reporting more machines than allowed fails
    /// validation (`TOO_MANY_MACHINES`); activation limits seats either way.
    pub strict: bool,
    /// How long a license or machine file keeps validating after its TTL, in seconds;
    /// `None` = no grace.
    #[ts(type = "number | null")]
    pub offline_grace_seconds: Option<i64>,
    /// Whether a machine's seat may be transferred to another fingerprint.
    pub allow_transfer: bool,
    /// Keygen's `requireHeartbeat`: machines must ping, else they die.
    pub require_heartbeat: bool,
    /// Keygen's `heartbeatDuration` in seconds: how long a ping keeps a machine alive;
    /// `None` = Keygen's default, 10 minutes ([`DEFAULT_HEARTBEAT_SECONDS`]).
    #[ts(type = "number | null")]
    pub heartbeat_duration_seconds: Option<i64>,
    /// What happens to a dead machine (Keygen's `heartbeatCullStrategy`).
    pub heartbeat_cull_strategy: HeartbeatCullStrategy,
    /// Whether a dead machine may ping again (Keygen's `heartbeatResurrectionStrategy`).
    pub heartbeat_resurrection_strategy: HeartbeatResurrectionStrategy,
    /// When a machine's first heartbeat starts (Keygen's `heartbeatBasis`).
    pub heartbeat_basis: HeartbeatBasis,
    /// When it was made.
    pub created_at: String,
}

/// Keygen's default heartbeat duration (its `HEARTBEAT_TTL`): 10 minutes.
pub const DEFAULT_HEARTBEAT_SECONDS: i64 = 600;

impl Policy {
    /// The heartbeat duration in force: the policy's, else Keygen's 10 minutes.
    pub fn heartbeat_seconds(&self) -> i64 {
        self.heartbeat_duration_seconds
            .unwrap_or(DEFAULT_HEARTBEAT_SECONDS)
    }
}

/// What happens to a dead machine, as Keygen names it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum HeartbeatCullStrategy {
    /// Keygen's default: a dead machine is deactivated and its seat freed.
    #[default]
    DeactivateDead,
    /// A dead machine keeps its seat (and fails validation) until it is deactivated.
    KeepDead,
}

impl HeartbeatCullStrategy {
    /// Every strategy, Keygen's default first.
    pub const ALL: [Self; 2] = [Self::DeactivateDead, Self::KeepDead];

    /// Keygen's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DeactivateDead => "DEACTIVATE_DEAD",
            Self::KeepDead => "KEEP_DEAD",
        }
    }

    /// Reads Keygen's name (any case, `-` for `_`).
    pub fn parse(text: &str) -> Option<Self> {
        let t = text.trim().to_ascii_uppercase().replace('-', "_");
        Self::ALL.into_iter().find(|s| s.as_str() == t)
    }
}

/// Whether a dead machine may be revived by a ping, as Keygen names it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub enum HeartbeatResurrectionStrategy {
    /// Keygen's default: a dead machine stays dead (a ping is refused).
    #[default]
    #[serde(rename = "NO_REVIVE")]
    NoRevive,
    /// A ping within 1 minute of death revives it.
    #[serde(rename = "1_MINUTE_REVIVE")]
    Revive1Minute,
    /// A ping within 2 minutes of death revives it.
    #[serde(rename = "2_MINUTE_REVIVE")]
    Revive2Minutes,
    /// A ping within 5 minutes of death revives it.
    #[serde(rename = "5_MINUTE_REVIVE")]
    Revive5Minutes,
    /// A ping within 10 minutes of death revives it.
    #[serde(rename = "10_MINUTE_REVIVE")]
    Revive10Minutes,
    /// A ping within 15 minutes of death revives it.
    #[serde(rename = "15_MINUTE_REVIVE")]
    Revive15Minutes,
    /// Any ping revives it; needs `KEEP_DEAD` (a culled machine is gone).
    #[serde(rename = "ALWAYS_REVIVE")]
    AlwaysRevive,
}

impl HeartbeatResurrectionStrategy {
    /// Every strategy, Keygen's default first.
    pub const ALL: [Self; 7] = [
        Self::NoRevive,
        Self::Revive1Minute,
        Self::Revive2Minutes,
        Self::Revive5Minutes,
        Self::Revive10Minutes,
        Self::Revive15Minutes,
        Self::AlwaysRevive,
    ];

    /// Keygen's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NoRevive => "NO_REVIVE",
            Self::Revive1Minute => "1_MINUTE_REVIVE",
            Self::Revive2Minutes => "2_MINUTE_REVIVE",
            Self::Revive5Minutes => "5_MINUTE_REVIVE",
            Self::Revive10Minutes => "10_MINUTE_REVIVE",
            Self::Revive15Minutes => "15_MINUTE_REVIVE",
            Self::AlwaysRevive => "ALWAYS_REVIVE",
        }
    }

    /// Reads Keygen's name (any case, `-` for `_`).
    pub fn parse(text: &str) -> Option<Self> {
        let t = text.trim().to_ascii_uppercase().replace('-', "_");
        Self::ALL.into_iter().find(|s| s.as_str() == t)
    }

    /// How long after its death a machine may still be revived, in seconds: `None`
    /// for never (`NO_REVIVE`), `Some(i64::MAX)` for always.
    pub fn window_seconds(self) -> Option<i64> {
        match self {
            Self::NoRevive => None,
            Self::Revive1Minute => Some(60),
            Self::Revive2Minutes => Some(120),
            Self::Revive5Minutes => Some(300),
            Self::Revive10Minutes => Some(600),
            Self::Revive15Minutes => Some(900),
            Self::AlwaysRevive => Some(i64::MAX),
        }
    }
}

/// When a machine's heartbeat starts, as Keygen names it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum HeartbeatBasis {
    /// Keygen's default: at the machine's first ping.
    #[default]
    FromFirstPing,
    /// At activation (the activation counts as the first ping).
    FromCreation,
}

impl HeartbeatBasis {
    /// Every basis, Keygen's default first.
    pub const ALL: [Self; 2] = [Self::FromFirstPing, Self::FromCreation];

    /// Keygen's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FromFirstPing => "FROM_FIRST_PING",
            Self::FromCreation => "FROM_CREATION",
        }
    }

    /// Reads Keygen's name (any case, `-` for `_`).
    pub fn parse(text: &str) -> Option<Self> {
        let t = text.trim().to_ascii_uppercase().replace('-', "_");
        Self::ALL.into_iter().find(|s| s.as_str() == t)
    }
}

/// What an expired license may still do, as Keygen names it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExpirationStrategy {
    /// Keygen's default: an expired license fails validation (`EXPIRED`).
    #[default]
    RestrictAccess,
    /// An expired license fails validation (`EXPIRED`).
    RevokeAccess,
    /// An expired license keeps validating (flagged expired): it keeps the versions
    /// it has.
    MaintainAccess,
    /// An expired license keeps validating (flagged expired).
    AllowAccess,
}

impl ExpirationStrategy {
    /// Every strategy, Keygen's default first.
    pub const ALL: [Self; 4] = [
        Self::RestrictAccess,
        Self::RevokeAccess,
        Self::MaintainAccess,
        Self::AllowAccess,
    ];

    /// The format crate's strategy.
    pub fn to_format(self) -> keywright_license::ExpirationStrategy {
        use keywright_license::ExpirationStrategy as F;
        match self {
            Self::RestrictAccess => F::RestrictAccess,
            Self::RevokeAccess => F::RevokeAccess,
            Self::MaintainAccess => F::MaintainAccess,
            Self::AllowAccess => F::AllowAccess,
        }
    }

    /// Keygen's name, e.g. `RESTRICT_ACCESS`.
    pub fn as_str(self) -> &'static str {
        self.to_format().as_str()
    }

    /// Reads Keygen's name (any case, `-` for `_`).
    pub fn parse(text: &str) -> Option<Self> {
        let t = text.trim().to_ascii_uppercase().replace('-', "_");
        Self::ALL.into_iter().find(|s| s.as_str() == t)
    }
}

/// Input for a new policy. Durations are text like `30d`, `1y`, `3600s` (see
/// [`crate::duration`]: case-sensitive units, at most 100 years).
#[derive(Debug, Clone, Default, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
pub struct NewPolicy {
    /// Id, code or name of the product.
    pub product_id: String,
    /// Display name.
    pub name: String,
    /// Key scheme; the product key's recommended one when absent.
    pub scheme: Option<Scheme>,
    /// License duration; empty, absent or `none` = perpetual.
    pub duration: Option<String>,
    /// Machine limit; absent = 1 when node-locked, unlimited when floating. A
    /// node-locked policy has exactly one machine: any other limit is refused.
    #[ts(type = "number | null")]
    pub max_machines: Option<i64>,
    /// Floating (up to `max_machines`) rather than node-locked (exactly one machine).
    pub floating: bool,
    /// License file TTL; absent = Keygen's default (one month); `none` = never.
    pub file_ttl: Option<String>,
    /// Encrypt license files.
    pub encrypt: bool,
    /// Entitlement codes.
    pub entitlements: Vec<String>,
    /// Keygen-style key template for the signed key's dataset; absent or blank =
    /// Keygen's default dataset. Checked on creation: unknown placeholders and
    /// renderings the scheme cannot carry are refused (`TEMPLATE_INVALID`).
    pub key_template: Option<String>,
    /// Issue random, human-typable, unsigned keys instead of signed ones (no scheme,
    /// no template).
    pub unsigned_key: bool,
    /// What an expired license may still do; absent = `RESTRICT_ACCESS`.
    pub expiration_strategy: Option<ExpirationStrategy>,
    /// Fail validation of files reporting more machines than allowed.
    pub strict: bool,
    /// Offline grace after a file's TTL, like `7d`; absent, empty or `none` = none.
    pub offline_grace: Option<String>,
    /// Whether machines may be transferred to another fingerprint; absent = yes.
    pub allow_transfer: Option<bool>,
    /// Machines must send heartbeat pings (then `heartbeat_duration` is required).
    pub require_heartbeat: bool,
    /// How long a ping keeps a machine alive, like `10min` (1 minute to 365 days);
    /// absent, empty or `none` = Keygen's 10 minutes, which a policy requiring
    /// heartbeats may not leave implicit.
    pub heartbeat_duration: Option<String>,
    /// What happens to a dead machine; absent = `DEACTIVATE_DEAD`.
    pub heartbeat_cull_strategy: Option<HeartbeatCullStrategy>,
    /// Whether a dead machine may ping again; absent = `NO_REVIVE`.
    pub heartbeat_resurrection_strategy: Option<HeartbeatResurrectionStrategy>,
    /// When a machine's heartbeat starts; absent = `FROM_FIRST_PING`.
    pub heartbeat_basis: Option<HeartbeatBasis>,
}

/// A change of a policy's heartbeat settings; `None` keeps the current value.
#[derive(Debug, Clone, Default, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
pub struct SetPolicyHeartbeat {
    /// Id or name of the policy.
    pub policy_id: String,
    /// Machines must send heartbeat pings.
    pub require_heartbeat: Option<bool>,
    /// How long a ping keeps a machine alive, like `10min`; `none` = Keygen's 10
    /// minutes (refused while heartbeats are required).
    pub heartbeat_duration: Option<String>,
    /// What happens to a dead machine.
    pub heartbeat_cull_strategy: Option<HeartbeatCullStrategy>,
    /// Whether a dead machine may ping again.
    pub heartbeat_resurrection_strategy: Option<HeartbeatResurrectionStrategy>,
    /// When a machine's heartbeat starts.
    pub heartbeat_basis: Option<HeartbeatBasis>,
}

/// What a policy's keys would embed, for a sample license (nothing is signed).
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct KeyTemplatePreview {
    /// The dataset a signed key would embed (the rendered template, or Keygen's
    /// default dataset); for an unsigned policy, a sample key of its format.
    pub dataset: String,
    /// Size of `dataset` in bytes.
    #[ts(type = "number")]
    pub bytes: u64,
    /// Whether the policy's keys are unsigned human keys.
    pub unsigned: bool,
    /// The scheme the keys would be signed with; `None` when unsigned.
    pub scheme: Option<Scheme>,
}
