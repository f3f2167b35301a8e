//! Issued licenses: their state, the license list's query and pages, and the inputs of
//! issuing, renewing, exporting and entitling them.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

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
    /// 3 characters or more: a substring of the customer's name or email, or of a
    /// short (unsigned, human) key, in any case; the start (6 to 64 characters) or the
    /// end (6 or more) of any key, exactly (a whole key is one); or a license id.
    /// 1–2 characters: the start of a word in the customer's name or email.
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

/// A license or machine file asked for over the network (Keygen's check-out): signed
/// and audited as the desktop's export, handed back instead of written to a path.
#[derive(Debug, Clone, Default)]
pub struct CheckOutFile {
    /// Id or key of the license; the machine's id for a machine file.
    pub id: String,
    /// File TTL (`3600s`, `30d`...); absent = the policy's; `none` = never expires.
    pub ttl: Option<String>,
    /// Encrypt; absent = the export's default (the policy's setting for license
    /// files, yes for machine files).
    pub encrypt: Option<bool>,
    /// Keygen's file algorithm; absent = derived from the scheme and `encrypt`.
    pub algorithm: Option<String>,
    /// Related objects to include (`product`, `policy`, `owner`, `entitlements`; for a
    /// machine file also prefixed `license.`, the license being always included).
    pub include: Vec<String>,
    /// The client's address, for the audit row.
    pub ip: Option<String>,
}

/// A file checked out: the certificate and what Keygen's `license-files` /
/// `machine-files` resource says about it.
#[derive(Debug, Clone)]
pub struct CheckedOutFile {
    /// The `-----BEGIN LICENSE FILE-----` (or `MACHINE FILE`) text.
    pub certificate: String,
    /// Keygen's algorithm name (`aes-256-gcm+ed25519`).
    pub algorithm: String,
    /// When it was signed (Keygen's format, milliseconds).
    pub issued: String,
    /// When it stops validating; `None` = never.
    pub expiry: Option<String>,
    /// Its TTL in seconds; `None` = never expires.
    pub ttl: Option<i64>,
    /// The related objects included, by Keygen's names.
    pub includes: Vec<String>,
    /// The license.
    pub license_id: String,
    /// The machine, for a machine file.
    pub machine_id: Option<String>,
    /// SHA-256 of the certificate (as the audit row records it), hex.
    pub sha256: String,
}
