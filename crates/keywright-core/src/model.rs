//! The plain types that cross the shells' boundaries (IPC, CLI JSON).
//!
//! None of them can hold private key material: the private half of a signing key
//! only ever exists inside [`crate::vault`] and the signing calls.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Where the store lives and which keychain service holds its keys.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct StoreInfo {
    /// The SQLite file.
    pub path: String,
    /// The store's random id; it namespaces the keychain entries.
    pub store_id: String,
    /// The keychain service name under which this store's private keys live.
    pub keychain_service: String,
    /// Whether the audit log matched its anchor in the keychain when the store opened.
    pub audit: crate::audit::anchor::AuditStatus,
}

/// Signing key algorithms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "kebab-case")]
pub enum KeyAlgorithm {
    /// Ed25519 (Keygen's ED25519_SIGN and `+ed25519` files). The default.
    Ed25519,
    /// RSA-2048 (Keygen's RSA_2048_* schemes and `+rsa-pss-sha256` / `+rsa-sha256` files).
    #[serde(rename = "rsa-2048")]
    Rsa2048,
    /// ECDSA over P-256 (Keygen's ECDSA_P256_SIGN).
    #[serde(rename = "ecdsa-p256")]
    EcdsaP256,
}

impl KeyAlgorithm {
    /// The name stored and printed.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ed25519 => "ed25519",
            Self::Rsa2048 => "rsa-2048",
            Self::EcdsaP256 => "ecdsa-p256",
        }
    }

    /// Parses a stored or typed name.
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "ed25519" => Some(Self::Ed25519),
            "rsa-2048" | "rsa2048" | "rsa" => Some(Self::Rsa2048),
            "ecdsa-p256" | "p256" | "p-256" => Some(Self::EcdsaP256),
            _ => None,
        }
    }

    /// The format crate's name for it.
    pub fn to_format(self) -> keywright_license::KeyAlgorithm {
        match self {
            Self::Ed25519 => keywright_license::KeyAlgorithm::Ed25519,
            Self::Rsa2048 => keywright_license::KeyAlgorithm::Rsa2048,
            Self::EcdsaP256 => keywright_license::KeyAlgorithm::EcdsaP256,
        }
    }
}

/// Whether a key may sign.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum KeyStatus {
    /// Signs new licenses.
    Active,
    /// No longer signs; still trusted to verify what it signed.
    Retired,
    /// No longer signs or verifies.
    Revoked,
}

impl KeyStatus {
    /// The name stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Retired => "retired",
            Self::Revoked => "revoked",
        }
    }

    pub(crate) fn parse(s: &str) -> Self {
        match s {
            "retired" => Self::Retired,
            "revoked" => Self::Revoked,
            _ => Self::Active,
        }
    }
}

/// A signing key as the store keeps it: the public half and its facts.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SigningKey {
    /// Row id (UUID).
    pub id: String,
    /// Key id: the first 8 bytes of SHA-256 of the public key, in hex.
    pub kid: String,
    /// A name people recognise.
    pub name: String,
    /// The algorithm.
    pub algorithm: KeyAlgorithm,
    /// Public key, raw bytes in hex (Keygen's "public key" format for Ed25519).
    pub public_key_hex: String,
    /// Public key as SPKI PEM.
    pub public_key_pem: String,
    /// Whether it signs.
    pub status: KeyStatus,
    /// When it was made (RFC 3339, UTC, milliseconds).
    pub created_at: String,
}

/// Input for a new signing key.
#[derive(Debug, Clone, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct NewSigningKey {
    /// A name people recognise.
    pub name: String,
    /// The algorithm.
    pub algorithm: KeyAlgorithm,
}

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
    /// When it was made.
    pub created_at: String,
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

/// A license's entitlements: its own list, or the policy's when it has none.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct LicenseEntitlements {
    /// The license.
    pub license_id: String,
    /// The license's own list; `None` = it inherits the policy's.
    pub own: Option<Vec<String>>,
    /// The policy's list.
    pub policy: Vec<String>,
    /// What the license has: `own`, else `policy`. Exported files carry these.
    pub effective: Vec<String>,
}

/// Input for changing a license's entitlements.
#[derive(Debug, Clone, Default, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
pub struct SetLicenseEntitlements {
    /// Id or key of the license.
    pub license_id: String,
    /// The new codes; `None` = inherit the policy's again.
    pub codes: Option<Vec<String>>,
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

/// A license's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum LicenseStatus {
    /// Valid.
    Active,
    /// Temporarily not valid.
    Suspended,
    /// Permanently not valid.
    Revoked,
}

impl LicenseStatus {
    /// The name stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Suspended => "suspended",
            Self::Revoked => "revoked",
        }
    }

    pub(crate) fn parse(s: &str) -> Self {
        match s {
            "suspended" => Self::Suspended,
            "revoked" => Self::Revoked,
            _ => Self::Active,
        }
    }
}

/// An issued license, with the names a list shows.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct License {
    /// Row id (UUID).
    pub id: String,
    /// The license key the customer types or pastes.
    pub key: String,
    /// The policy.
    pub policy_id: String,
    /// The policy's name.
    pub policy_name: String,
    /// The product.
    pub product_id: String,
    /// The product's name.
    pub product_name: String,
    /// The customer, if any.
    pub customer_id: Option<String>,
    /// The customer's name.
    pub customer_name: Option<String>,
    /// The customer's email.
    pub customer_email: Option<String>,
    /// Its state.
    pub status: LicenseStatus,
    /// When it expires; `None` = never.
    pub expiry: Option<String>,
    /// When it was issued.
    pub created_at: String,
    /// When it last changed (issue, suspend, reinstate, revoke, renew).
    pub updated_at: String,
    /// Machines activated on it now (seats used); `None` where a listing does not
    /// count them (`list_licenses`). Search pages count them.
    #[ts(type = "number | null")]
    pub machines_count: Option<i64>,
}

/// Input for renewing a license.
#[derive(Debug, Clone, Default, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
pub struct RenewLicense {
    /// Id or key of the license.
    pub license_id: String,
    /// How much longer, like `1y`, `6mo`, `30d`.
    pub by: String,
}

/// How a license search orders its results.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum LicenseSort {
    /// Newest first.
    #[default]
    CreatedDesc,
    /// Oldest first.
    CreatedAsc,
    /// Soonest expiry first; perpetual licenses last.
    ExpiryAsc,
    /// By customer name (else email), A to Z; licenses without a customer last.
    CustomerAsc,
}

impl LicenseSort {
    /// The name used in cursors and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CreatedDesc => "created_desc",
            Self::CreatedAsc => "created_asc",
            Self::ExpiryAsc => "expiry_asc",
            Self::CustomerAsc => "customer_asc",
        }
    }
}

/// A license search: every field narrows the result; all absent = every license.
#[derive(Debug, Clone, Default, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
pub struct LicenseQuery {
    /// 3 characters or more: a substring of the customer's name or email, or of the
    /// last 128 characters of the license key (its signature), in any case; or a
    /// whole key or license id, exactly. 1–2 characters: the start of a word in the
    /// customer's name or email.
    pub text: Option<String>,
    /// Only this product's licenses.
    pub product_id: Option<String>,
    /// Only this policy's licenses.
    pub policy_id: Option<String>,
    /// Only this customer's licenses.
    pub customer_id: Option<String>,
    /// Only licenses in this state.
    pub status: Option<LicenseStatus>,
    /// Only licenses that have not expired yet but will within this many days.
    #[ts(type = "number | null")]
    pub expiring_within_days: Option<i64>,
    /// Order; newest first when absent.
    pub sort: LicenseSort,
    /// Page size: 50 when absent, at most 500.
    #[ts(type = "number | null")]
    pub limit: Option<i64>,
    /// `nextCursor` of the previous page; absent = first page.
    pub cursor: Option<String>,
}

/// One page of a license search.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct LicensePage {
    /// The licenses on this page, in the order asked for.
    pub items: Vec<License>,
    /// How many licenses match the query across all pages, counted up to
    /// 10,000 (`search::COUNT_CAP`): when more match, this is 10,000 and
    /// `total_exact` is false ("10,000+"). A broad text search (more than
    /// `search::BROAD_TEXT` index matches) is not counted: then this is the number
    /// on this page, `total_exact` false while more pages follow.
    #[ts(type = "number")]
    pub total: i64,
    /// Whether `total` is the exact count (false: at least `total` match).
    pub total_exact: bool,
    /// Pass as `cursor` for the next page; `None` on the last page.
    pub next_cursor: Option<String>,
}

/// Input for issuing a license.
#[derive(Debug, Clone, Default, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
pub struct IssueLicense {
    /// Id or name of the policy.
    pub policy_id: String,
    /// Customer's name.
    pub customer_name: Option<String>,
    /// Customer's email; an existing customer with this email is reused.
    pub customer_email: Option<String>,
    /// Customer's company (kept when a new customer is created).
    pub customer_company: Option<String>,
    /// A JSON object, as text.
    pub metadata: Option<String>,
}

/// Input for exporting a license file.
#[derive(Debug, Clone, Default, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
pub struct ExportLicenseFile {
    /// Id or key of the license.
    pub license_id: String,
    /// Where to write the `.lic` file.
    pub path: String,
    /// File TTL; absent = the policy's; `none` = never expires.
    pub ttl: Option<String>,
    /// Encrypt; absent = the policy's setting.
    pub encrypt: Option<bool>,
    /// Keygen's file algorithm (`aes-256-gcm+rsa-pss-sha256`...); absent = the one
    /// Keygen derives from the policy's scheme and the encryption setting.
    pub algorithm: Option<String>,
    /// Related objects to write in the file's `included`, as Keygen's `include=`:
    /// any of `product`, `policy`, `owner`, `entitlements` (empty = none).
    pub include: Vec<String>,
}

/// What an export wrote.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ExportedFile {
    /// The file written.
    pub path: String,
    /// SHA-256 of its bytes, hex.
    pub sha256: String,
    /// Its size.
    #[ts(type = "number")]
    pub bytes: u64,
    /// Keygen's algorithm name (`aes-256-gcm+ed25519`); `csv` for an audit export.
    pub algorithm: String,
}

/// One product's licenses, by state.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ProductSummary {
    /// The product.
    pub product_id: String,
    /// Its name.
    pub product_name: String,
    /// Licenses ever issued.
    #[ts(type = "number")]
    pub issued: i64,
    /// Active now.
    #[ts(type = "number")]
    pub active: i64,
    /// Suspended now.
    #[ts(type = "number")]
    pub suspended: i64,
    /// Revoked.
    #[ts(type = "number")]
    pub revoked: i64,
    /// Not revoked, not yet expired, expiring within 30 days.
    #[ts(type = "number")]
    pub expiring_30d: i64,
}

/// How many licenses were issued on one day (UTC).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DayCount {
    /// The day, `YYYY-MM-DD`.
    pub day: String,
    /// Licenses issued that day.
    #[ts(type = "number")]
    pub count: i64,
}

/// The first screen: counts per product, recent issuing, recent events.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Dashboard {
    /// Every product, by name.
    pub per_product: Vec<ProductSummary>,
    /// The last 30 days, oldest first, today last; days without issues count 0.
    pub issued_per_day: Vec<DayCount>,
    /// The 10 newest audit events.
    pub recent: Vec<crate::audit::AuditEvent>,
}

/// Which customers to list.
#[derive(Debug, Clone, Default, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
pub struct CustomerQuery {
    /// Part of the name or email (any case).
    pub text: Option<String>,
    /// At most this many: 100 when absent, at most 500.
    #[ts(type = "number | null")]
    pub limit: Option<i64>,
}

/// A customer with how many licenses they hold.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct CustomerSummary {
    /// Row id (UUID).
    pub id: String,
    /// Name, if given.
    pub name: Option<String>,
    /// Email, if given.
    pub email: Option<String>,
    /// Company, if given.
    pub company: Option<String>,
    /// When they were first issued a license.
    pub created_at: String,
    /// Licenses ever issued to them.
    #[ts(type = "number")]
    pub licenses: i64,
    /// Of those, how many are active.
    #[ts(type = "number")]
    pub active_licenses: i64,
}

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
