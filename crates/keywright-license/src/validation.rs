//! Validation outcomes: one code per reason a file or key is or is not usable, and
//! validation beyond the signature ([`validate_license_file`]): status, expiry,
//! product, fingerprint, entitlements and machine count, all read off the file.

use std::fmt;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use serde_json::Value;

use crate::error::FormatError;
use crate::file::{open, EncryptionSecret, FileAlgorithm, FileKind, FileMeta, OpenedFile};
use crate::included::IncludedResource;
use crate::keys::PublicKey;
use crate::time::parse_time;
use crate::trust::TrustedKeys;

/// Clock drift tolerated when a file's `issued` is in the future (keygen-go uses 5 minutes).
pub const DEFAULT_CLOCK_DRIFT: SignedDuration = SignedDuration::from_secs(5 * 60);

/// The outcome of checking a license key or file, as stored and shown to users.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum ValidationCode {
    /// Authentic and within its validity window.
    Valid,
    /// The signature does not verify.
    SignatureInvalid,
    /// The algorithm is not the one pinned for the key, or not supported.
    AlgorithmMismatch,
    /// No usable key to verify with.
    UnknownKey,
    /// Not well-formed.
    Malformed,
    /// Could not be decrypted with the given license key / fingerprint.
    DecryptionFailed,
    /// The file's own TTL has run out (`meta.expiry` is past).
    FileExpired,
    /// The file was issued in the future: the system clock is wrong or was turned back.
    ClockTampered,
    /// The license itself has expired.
    Expired,
    /// The license is suspended (Keygen's `SUSPENDED`).
    Suspended,
    /// The license's owner is banned (Keygen's `BANNED`).
    Banned,
    /// The machine file is for another machine (Keygen's `FINGERPRINT_SCOPE_MISMATCH`).
    FingerprintMismatch,
    /// The license belongs to another product (Keygen's `PRODUCT_SCOPE_MISMATCH`).
    ProductMismatch,
    /// The license lacks a required entitlement (Keygen's `ENTITLEMENTS_MISSING`).
    EntitlementsMissing,
    /// The file lists more machines than the license allows (Keygen's `TOO_MANY_MACHINES`).
    TooManyMachines,
}

impl ValidationCode {
    /// The SCREAMING_SNAKE_CASE name, e.g. `FILE_EXPIRED`.
    pub fn as_str(self) -> &'static str {
        match self {
            ValidationCode::Valid => "VALID",
            ValidationCode::SignatureInvalid => "SIGNATURE_INVALID",
            ValidationCode::AlgorithmMismatch => "ALGORITHM_MISMATCH",
            ValidationCode::UnknownKey => "UNKNOWN_KEY",
            ValidationCode::Malformed => "MALFORMED",
            ValidationCode::DecryptionFailed => "DECRYPTION_FAILED",
            ValidationCode::FileExpired => "FILE_EXPIRED",
            ValidationCode::ClockTampered => "CLOCK_TAMPERED",
            ValidationCode::Expired => "EXPIRED",
            ValidationCode::Suspended => "SUSPENDED",
            ValidationCode::Banned => "BANNED",
            ValidationCode::FingerprintMismatch => "FINGERPRINT_MISMATCH",
            ValidationCode::ProductMismatch => "PRODUCT_MISMATCH",
            ValidationCode::EntitlementsMissing => "ENTITLEMENTS_MISSING",
            ValidationCode::TooManyMachines => "TOO_MANY_MACHINES",
        }
    }

    /// A one-line explanation for people.
    pub fn message(self) -> &'static str {
        match self {
            ValidationCode::Valid => "Valid.",
            ValidationCode::SignatureInvalid => {
                "The signature does not match: the data was altered or signed by another key."
            }
            ValidationCode::AlgorithmMismatch => {
                "The algorithm is not the one expected for this signing key."
            }
            ValidationCode::UnknownKey => "No known signing key can verify this.",
            ValidationCode::Malformed => "This is not a well-formed Keygen license key or file.",
            ValidationCode::DecryptionFailed => {
                "Could not decrypt: wrong license key or machine fingerprint."
            }
            ValidationCode::FileExpired => "This license file has expired; check out a new one.",
            ValidationCode::ClockTampered => {
                "The file was issued in the future: the system clock looks wrong."
            }
            ValidationCode::Expired => "The license has expired.",
            ValidationCode::Suspended => "The license is suspended.",
            ValidationCode::Banned => "The license's owner is banned.",
            ValidationCode::FingerprintMismatch => "This machine file belongs to another machine.",
            ValidationCode::ProductMismatch => "The license is for another product.",
            ValidationCode::EntitlementsMissing => {
                "The license does not include a required entitlement."
            }
            ValidationCode::TooManyMachines => {
                "The license is activated on more machines than it allows."
            }
        }
    }
}

impl fmt::Display for ValidationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FileMeta {
    /// Checks the file's validity window at `now`: `ClockTampered` if it was issued
    /// later than `now + allowed_drift`, `FileExpired` if `now` is past `expiry`,
    /// otherwise `Valid`.
    pub fn check(&self, now: Timestamp, allowed_drift: SignedDuration) -> ValidationCode {
        // Saturate: a drift past the end of time means "never tampered".
        let latest = now.checked_add(allowed_drift).unwrap_or(Timestamp::MAX);
        if self.issued > latest {
            ValidationCode::ClockTampered
        } else if self.expiry.is_some_and(|expiry| now > expiry) {
            ValidationCode::FileExpired
        } else {
            ValidationCode::Valid
        }
    }
}

/// The result of [`verify_license_file`] / [`verify_machine_file`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    /// The outcome.
    pub code: ValidationCode,
    /// The opened file, whenever it is authentic and readable (also when expired).
    pub file: Option<OpenedFile>,
    /// The precise reason when the file could not be opened.
    pub error: Option<FormatError>,
}

/// Opens a license file and checks its validity window at `now` with
/// [`DEFAULT_CLOCK_DRIFT`].
pub fn verify_license_file(
    text: &str,
    public: &PublicKey,
    pinned: FileAlgorithm,
    secret: Option<&EncryptionSecret>,
    now: Timestamp,
) -> Verification {
    verify_file(text, FileKind::License, public, pinned, secret, now)
}

/// Opens a machine file and checks its validity window at `now` with
/// [`DEFAULT_CLOCK_DRIFT`].
pub fn verify_machine_file(
    text: &str,
    public: &PublicKey,
    pinned: FileAlgorithm,
    secret: Option<&EncryptionSecret>,
    now: Timestamp,
) -> Verification {
    verify_file(text, FileKind::Machine, public, pinned, secret, now)
}

fn verify_file(
    text: &str,
    kind: FileKind,
    public: &PublicKey,
    pinned: FileAlgorithm,
    secret: Option<&EncryptionSecret>,
    now: Timestamp,
) -> Verification {
    match open(text, kind, public, pinned, secret) {
        Ok(file) => Verification {
            code: file.meta.check(now, DEFAULT_CLOCK_DRIFT),
            file: Some(file),
            error: None,
        },
        Err(e) => Verification {
            code: e.code(),
            file: None,
            error: Some(e),
        },
    }
}

/// What Keygen's policy `expirationStrategy` says an expired license may still do.
/// Offline, only validation matters: the restrictive strategies make an expired
/// license `EXPIRED`; the permissive ones keep it `VALID` and set
/// [`LicenseView::expired`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum ExpirationStrategy {
    /// Keygen's default: an expired license validates as `EXPIRED`.
    #[default]
    RestrictAccess,
    /// An expired license validates as `EXPIRED`.
    RevokeAccess,
    /// An expired license stays `VALID` (flagged expired).
    MaintainAccess,
    /// An expired license stays `VALID` (flagged expired).
    AllowAccess,
}

impl ExpirationStrategy {
    /// Keygen's name, e.g. `RESTRICT_ACCESS`.
    pub fn as_str(self) -> &'static str {
        match self {
            ExpirationStrategy::RestrictAccess => "RESTRICT_ACCESS",
            ExpirationStrategy::RevokeAccess => "REVOKE_ACCESS",
            ExpirationStrategy::MaintainAccess => "MAINTAIN_ACCESS",
            ExpirationStrategy::AllowAccess => "ALLOW_ACCESS",
        }
    }

    /// Whether an expired license still validates.
    pub fn keeps_access(self) -> bool {
        matches!(
            self,
            ExpirationStrategy::MaintainAccess | ExpirationStrategy::AllowAccess
        )
    }
}

/// What the host application expects of a license or machine file beyond its
/// signature. Every check whose expectation is empty is skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenseExpectations {
    /// The product id the license must belong to (`PRODUCT_MISMATCH` otherwise, also
    /// when the file names no product).
    pub product_id: Option<String>,
    /// This machine's fingerprint: a machine file must carry exactly this one; a
    /// license file that includes its machines must list it (`FINGERPRINT_MISMATCH`).
    pub fingerprint: Option<String>,
    /// Entitlements the license must have, by code (or id), as listed in the file's
    /// `included` entitlements or `relationships.entitlements` linkage
    /// (`ENTITLEMENTS_MISSING`; a file that lists none has none).
    pub required_entitlements: Vec<String>,
    /// What an expired license may still do.
    pub expiration_strategy: ExpirationStrategy,
    /// Clock drift tolerated for `issued` in the future and for `last_seen`.
    pub clock_drift: SignedDuration,
    /// The latest "now" the caller has seen (and stored) before: a `now` earlier than
    /// this minus `clock_drift` means the clock was turned back (`CLOCK_TAMPERED`).
    pub last_seen: Option<Timestamp>,
}

impl Default for LicenseExpectations {
    /// No expectations, `RESTRICT_ACCESS`, [`DEFAULT_CLOCK_DRIFT`], no last-seen time.
    fn default() -> Self {
        LicenseExpectations {
            product_id: None,
            fingerprint: None,
            required_entitlements: Vec::new(),
            expiration_strategy: ExpirationStrategy::default(),
            clock_drift: DEFAULT_CLOCK_DRIFT,
            last_seen: None,
        }
    }
}

/// Which key(s) verify the file: a [`TrustedKeys`] set, or one public key pinned to
/// one algorithm. Built with `From` from `&TrustedKeys` or `(&PublicKey, FileAlgorithm)`.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Verifier<'a> {
    /// Every key of the set pinned to the file's algorithm.
    Trusted(&'a TrustedKeys),
    /// One key, pinned to one algorithm.
    Pinned(&'a PublicKey, FileAlgorithm),
}

impl<'a> From<&'a TrustedKeys> for Verifier<'a> {
    fn from(keys: &'a TrustedKeys) -> Self {
        Verifier::Trusted(keys)
    }
}

impl<'a> From<(&'a PublicKey, FileAlgorithm)> for Verifier<'a> {
    fn from((public, pinned): (&'a PublicKey, FileAlgorithm)) -> Self {
        Verifier::Pinned(public, pinned)
    }
}

impl Verifier<'_> {
    fn open(
        self,
        text: &str,
        kind: FileKind,
        secret: Option<&EncryptionSecret>,
    ) -> Result<OpenedFile, FormatError> {
        match self {
            Verifier::Trusted(keys) => keys.open(text, kind, secret).map(|(file, _)| file),
            Verifier::Pinned(public, pinned) => open(text, kind, public, pinned, secret),
        }
    }
}

/// What a validated file says about its license (and machine), read from Keygen's
/// JSON:API document. Fields the document does not carry are `None` / empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenseView {
    /// License or machine file.
    pub kind: FileKind,
    /// The file's `meta`.
    pub meta: FileMeta,
    /// License id (a machine file's `relationships.license`).
    pub license_id: Option<String>,
    /// License name.
    pub name: Option<String>,
    /// License status as written, e.g. `ACTIVE`, `SUSPENDED`.
    pub status: Option<String>,
    /// License expiry; `None` when it never expires or the file does not say.
    pub expiry: Option<Timestamp>,
    /// Whether the license expiry is past at the validation time (an expired license
    /// can still be `VALID` under `MAINTAIN_ACCESS` / `ALLOW_ACCESS`).
    pub expired: bool,
    /// `maxMachines`.
    pub max_machines: Option<i64>,
    /// Product id.
    pub product_id: Option<String>,
    /// Policy id.
    pub policy_id: Option<String>,
    /// Entitlement codes from `included` (ids when only linkage is present).
    pub entitlements: Vec<String>,
    /// Fingerprints of the machines in `included` (license files).
    pub machine_fingerprints: Vec<String>,
    /// Number of machines the file reports: the larger of the `included` machines
    /// and `relationships.machines.meta.count`, when either is present.
    pub machines_count: Option<i64>,
    /// The included policy's `overageStrategy`, e.g. `ALLOW_1_25X_OVERAGE`.
    pub overage_strategy: Option<String>,
    /// Machine id (machine files).
    pub machine_id: Option<String>,
    /// The machine's fingerprint (machine files).
    pub fingerprint: Option<String>,
    /// Every object of the document's `included` (product, policy, owner,
    /// entitlements, machines, the license of a machine file...), as written.
    pub included: Vec<IncludedResource>,
    /// The license's `strict` attribute: `Some(false)` (Keygen's non-strict policy)
    /// skips the machine-count check (`TOO_MANY_MACHINES`); absent, it applies.
    pub strict: Option<bool>,
    /// The included policy's `expirationStrategy`, when the file includes its policy;
    /// it takes precedence over [`LicenseExpectations::expiration_strategy`] (it is
    /// the vendor's signed rule).
    pub expiration_strategy: Option<ExpirationStrategy>,
    /// The offline grace period the vendor granted (a Keywright extension: the
    /// included policy's `metadata.offlineGracePeriod`, in seconds): how long after
    /// the file's `meta.expiry` it still validates.
    pub offline_grace: Option<SignedDuration>,
    /// Whether the result relies on the grace period: `now` is past `meta.expiry` but
    /// within [`LicenseView::offline_grace`].
    pub in_grace: bool,
}

/// The result of [`validate_license_file`] / [`validate_machine_file`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validation {
    /// The outcome.
    pub code: ValidationCode,
    /// A one-line explanation for people: [`ValidationCode::message`], or a more
    /// precise one (the missing entitlements, a clock turned back).
    pub message: String,
    /// What the file says, whenever it is authentic and readable.
    pub license: Option<LicenseView>,
    /// The precise reason when the file could not be opened or read.
    pub error: Option<FormatError>,
}

impl Validation {
    /// Whether the code is `VALID`.
    pub fn is_valid(&self) -> bool {
        self.code == ValidationCode::Valid
    }

    fn failed(e: FormatError) -> Self {
        Validation {
            code: e.code(),
            message: e.code().message().to_owned(),
            license: None,
            error: Some(e),
        }
    }
}

/// Verifies a license file and checks it against `expectations` at `now`.
///
/// Order: signature and decryption → `CLOCK_TAMPERED` (issued later than
/// `now + clock_drift`, or `now` earlier than `last_seen − clock_drift`) →
/// `FILE_EXPIRED` → `BANNED` / `SUSPENDED` (license status) → `EXPIRED` (license
/// expiry, per [`ExpirationStrategy`]) → `PRODUCT_MISMATCH` → `FINGERPRINT_MISMATCH`
/// → `ENTITLEMENTS_MISSING` → `TOO_MANY_MACHINES` (only when the file lists more
/// machines than `maxMachines`, with the included policy's overage allowance) →
/// `VALID`. The first failing check decides the code.
pub fn validate_license_file<'a>(
    text: &str,
    verifier: impl Into<Verifier<'a>>,
    secret: Option<&EncryptionSecret>,
    expectations: &LicenseExpectations,
    now: Timestamp,
) -> Validation {
    validate_file(
        text,
        FileKind::License,
        verifier.into(),
        secret,
        expectations,
        now,
    )
}

/// [`validate_license_file`] for a machine file: the license checks use the license
/// in its `included` (when present), the fingerprint check the machine's own.
pub fn validate_machine_file<'a>(
    text: &str,
    verifier: impl Into<Verifier<'a>>,
    secret: Option<&EncryptionSecret>,
    expectations: &LicenseExpectations,
    now: Timestamp,
) -> Validation {
    validate_file(
        text,
        FileKind::Machine,
        verifier.into(),
        secret,
        expectations,
        now,
    )
}

fn validate_file(
    text: &str,
    kind: FileKind,
    verifier: Verifier<'_>,
    secret: Option<&EncryptionSecret>,
    expect: &LicenseExpectations,
    now: Timestamp,
) -> Validation {
    match verifier.open(text, kind, secret) {
        Ok(file) => validate_opened(&file, expect, now),
        Err(e) => Validation::failed(e),
    }
}

/// The checks of [`validate_license_file`] after the signature and decryption, on a
/// file already opened (by [`verify_license_file`], [`crate::open`]...): the one rule
/// every validation goes through, so a verifier that opens files itself reaches the
/// same verdict, offline grace period included.
pub fn validate_opened(
    file: &OpenedFile,
    expect: &LicenseExpectations,
    now: Timestamp,
) -> Validation {
    let mut view = match LicenseView::read(file) {
        Ok(view) => view,
        Err(e) => return Validation::failed(e),
    };
    view.expired = view.expiry.is_some_and(|expiry| now > expiry);
    view.in_grace = view.meta.check(now, expect.clock_drift) == ValidationCode::FileExpired
        && view
            .offline_grace
            .is_some_and(|grace| grace_remaining(&view.meta, grace, now).is_some());
    let (code, message) = judge(&view, expect, now);
    Validation {
        code,
        message: message.unwrap_or_else(|| code.message().to_owned()),
        license: Some(view),
        error: None,
    }
}

/// The checks after the file is open, in order; a message when a precise one helps.
fn judge(
    view: &LicenseView,
    expect: &LicenseExpectations,
    now: Timestamp,
) -> (ValidationCode, Option<String>) {
    use ValidationCode as C;
    let drift = expect.clock_drift;
    let rolled_back = expect.last_seen.is_some_and(|seen| {
        let earliest = seen.checked_sub(drift).unwrap_or(Timestamp::MIN);
        now < earliest
    });
    if rolled_back {
        return (
            C::ClockTampered,
            Some(
                "The system clock is earlier than a time already seen: it was turned back.".into(),
            ),
        );
    }
    let window = view.meta.check(now, drift);
    let in_grace = window == C::FileExpired && view.in_grace;
    if window != C::Valid && !in_grace {
        return (window, None);
    }
    match view.status.as_deref() {
        Some("BANNED") => return (C::Banned, None),
        Some("SUSPENDED") => return (C::Suspended, None),
        _ => {}
    }
    let strategy = view
        .expiration_strategy
        .unwrap_or(expect.expiration_strategy);
    if view.expired && !strategy.keeps_access() {
        return (C::Expired, None);
    }
    if let Some(product) = &expect.product_id {
        if view.product_id.as_ref() != Some(product) {
            return (C::ProductMismatch, None);
        }
    }
    if let Some(fingerprint) = &expect.fingerprint {
        let matches = match view.kind {
            FileKind::Machine => view.fingerprint.as_ref() == Some(fingerprint),
            // A license file only says which machines it has when it includes them.
            FileKind::License => {
                view.machine_fingerprints.is_empty()
                    || view.machine_fingerprints.contains(fingerprint)
            }
        };
        if !matches {
            return (C::FingerprintMismatch, None);
        }
    }
    let missing: Vec<&str> = expect
        .required_entitlements
        .iter()
        .filter(|code| !view.entitlements.contains(code))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        return (
            C::EntitlementsMissing,
            Some(format!(
                "The license lacks the required entitlement(s): {}.",
                missing.join(", ")
            )),
        );
    }
    if view.strict != Some(false) && view.too_many_machines() {
        return (C::TooManyMachines, None);
    }
    if in_grace {
        let left = view
            .offline_grace
            .and_then(|grace| grace_remaining(&view.meta, grace, now))
            .unwrap_or(SignedDuration::ZERO);
        return (
            C::Valid,
            Some(format!(
                "The license file's TTL has passed; it is valid within its offline grace \
                 period for {} more hour(s).",
                left.as_secs() / 3600
            )),
        );
    }
    (C::Valid, None)
}

impl LicenseView {
    /// Reads the view out of an opened file's payload: `data` must be a `licenses`
    /// (license file) or `machines` (machine file) resource.
    pub fn read(file: &OpenedFile) -> Result<Self, FormatError> {
        let doc: Value =
            serde_json::from_slice(&file.payload).map_err(|e| FormatError::Json(e.to_string()))?;
        let data = doc.get("data").ok_or(FormatError::MissingField("data"))?;
        let included: &[Value] = doc
            .get("included")
            .and_then(Value::as_array)
            .map_or(&[], Vec::as_slice);
        let of_type = |kind: &'static str| {
            included
                .iter()
                .filter(move |r| r.get("type").and_then(Value::as_str) == Some(kind))
        };
        let expected_type = match file.kind {
            FileKind::License => "licenses",
            FileKind::Machine => "machines",
        };
        if data.get("type").and_then(Value::as_str) != Some(expected_type) {
            return Err(FormatError::MissingField("data.type"));
        }
        let (license, machine) = match file.kind {
            FileKind::License => (Some(data), None),
            FileKind::Machine => {
                let id = linked_id(data, "license");
                let license = of_type("licenses")
                    .find(|r| id.is_none() || str_at(r, &["id"]) == id)
                    .or_else(|| of_type("licenses").next());
                (license, Some(data))
            }
        };
        let lic_attr = |name: &str| license.and_then(|l| l.get("attributes")?.get(name));
        let expiry = match lic_attr("expiry") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(parse_time(s)?),
            Some(_) => return Err(FormatError::MissingField("attributes.expiry")),
        };
        let mut entitlements: Vec<String> = of_type("entitlements")
            .filter_map(|r| str_at(r, &["attributes", "code"]).map(str::to_owned))
            .collect();
        for linked in license
            .and_then(|l| {
                l.get("relationships")?
                    .get("entitlements")?
                    .get("data")?
                    .as_array()
            })
            .map_or(&[][..], Vec::as_slice)
        {
            if let Some(id) = str_at(linked, &["id"]) {
                // Linkage only gives ids; included resources also give codes.
                let code = of_type("entitlements")
                    .find(|r| str_at(r, &["id"]) == Some(id))
                    .and_then(|r| str_at(r, &["attributes", "code"]));
                if code.is_none() {
                    entitlements.push(id.to_owned());
                }
            }
        }
        let machine_fingerprints: Vec<String> = match file.kind {
            FileKind::License => of_type("machines")
                .filter_map(|r| str_at(r, &["attributes", "fingerprint"]).map(str::to_owned))
                .collect(),
            FileKind::Machine => Vec::new(),
        };
        let included_machines = match file.kind {
            FileKind::License => Some(of_type("machines").count()).filter(|n| *n > 0),
            FileKind::Machine => None,
        }
        .map(|n| i64::try_from(n).unwrap_or(i64::MAX));
        let counted = license.and_then(|l| {
            l.get("relationships")?
                .get("machines")?
                .get("meta")?
                .get("count")?
                .as_i64()
        });
        let machines_count = match (included_machines, counted) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        let policy_id = license.and_then(|l| linked_id(l, "policy"));
        let policy =
            of_type("policies").find(|r| policy_id.is_none() || str_at(r, &["id"]) == policy_id);
        let overage_strategy = policy
            .and_then(|r| str_at(r, &["attributes", "overageStrategy"]))
            .map(str::to_owned);
        let expiration_strategy =
            match policy.and_then(|r| r.get("attributes")?.get("expirationStrategy")) {
                None | Some(Value::Null) => None,
                Some(v) => Some(
                    serde_json::from_value::<ExpirationStrategy>(v.clone())
                        .map_err(|_| FormatError::MissingField("attributes.expirationStrategy"))?,
                ),
            };
        let offline_grace = match policy.and_then(|r| {
            r.get("attributes")?
                .get("metadata")?
                .get("offlineGracePeriod")
        }) {
            None | Some(Value::Null) => None,
            Some(v) => Some(SignedDuration::from_secs(
                v.as_i64()
                    .filter(|s| *s >= 0)
                    .ok_or(FormatError::MissingField("metadata.offlineGracePeriod"))?,
            )),
        };
        let product_id = license
            .and_then(|l| linked_id(l, "product"))
            .or_else(|| machine.and_then(|m| linked_id(m, "product")));
        Ok(LicenseView {
            kind: file.kind,
            meta: file.meta,
            license_id: match file.kind {
                FileKind::License => str_at(data, &["id"]).map(str::to_owned),
                FileKind::Machine => linked_id(data, "license")
                    .or_else(|| license.and_then(|l| str_at(l, &["id"])))
                    .map(str::to_owned),
            },
            name: lic_attr("name").and_then(Value::as_str).map(str::to_owned),
            status: lic_attr("status")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .or_else(|| {
                    // Older documents only carry the `suspended` flag.
                    (lic_attr("suspended").and_then(Value::as_bool) == Some(true))
                        .then(|| "SUSPENDED".to_owned())
                }),
            expiry,
            expired: false,
            max_machines: lic_attr("maxMachines").and_then(Value::as_i64),
            product_id: product_id.map(str::to_owned),
            policy_id: policy_id.map(str::to_owned),
            entitlements,
            machine_fingerprints,
            machines_count,
            overage_strategy,
            machine_id: machine.and_then(|m| str_at(m, &["id"])).map(str::to_owned),
            fingerprint: machine
                .and_then(|m| str_at(m, &["attributes", "fingerprint"]))
                .map(str::to_owned),
            included: IncludedResource::from_document(&doc),
            strict: lic_attr("strict").and_then(Value::as_bool),
            expiration_strategy,
            offline_grace,
            in_grace: false,
        })
    }

    /// Whether the file reports more machines than `maxMachines` allows, with the
    /// overage Keygen's policy `overageStrategy` grants (1.25×, 1.5×, 2×, always).
    pub fn too_many_machines(&self) -> bool {
        let (Some(count), Some(max)) = (self.machines_count, self.max_machines) else {
            return false;
        };
        let (count, max) = (i128::from(count), i128::from(max));
        match self.overage_strategy.as_deref() {
            Some("ALWAYS_ALLOW_OVERAGE") => false,
            Some("ALLOW_1_25X_OVERAGE") => count * 4 > max * 5,
            Some("ALLOW_1_5X_OVERAGE") => count * 2 > max * 3,
            Some("ALLOW_2X_OVERAGE") => count > max * 2,
            _ => count > max,
        }
    }
}

/// The string at `path` inside `v`.
fn str_at<'v>(v: &'v Value, path: &[&str]) -> Option<&'v str> {
    path.iter()
        .try_fold(v, |v, key| v.get(key))
        .and_then(Value::as_str)
}

/// `relationships.<name>.data.id` of a resource.
fn linked_id<'v>(resource: &'v Value, name: &str) -> Option<&'v str> {
    str_at(resource, &["relationships", name, "data", "id"])
}

/// How long the host application may keep running on a file whose TTL has passed:
/// all of `grace` while the file is within its window (or never expires), what is
/// left of it after `meta.expiry`, `Some(ZERO)` exactly at the end, and `None` once
/// `now` is beyond `expiry + grace`. A negative `grace` counts as zero.
pub fn grace_remaining(
    meta: &FileMeta,
    grace: SignedDuration,
    now: Timestamp,
) -> Option<SignedDuration> {
    let grace = grace.max(SignedDuration::ZERO);
    let Some(expiry) = meta.expiry else {
        return Some(grace);
    };
    if now <= expiry {
        return Some(grace);
    }
    let late = now.duration_since(expiry);
    let left = grace.checked_sub(late)?;
    (left >= SignedDuration::ZERO).then_some(left)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::parse_time;

    #[test]
    fn codes_serialize_screaming() {
        for code in [
            ValidationCode::Valid,
            ValidationCode::SignatureInvalid,
            ValidationCode::AlgorithmMismatch,
            ValidationCode::UnknownKey,
            ValidationCode::Malformed,
            ValidationCode::DecryptionFailed,
            ValidationCode::FileExpired,
            ValidationCode::ClockTampered,
            ValidationCode::Expired,
            ValidationCode::Suspended,
            ValidationCode::Banned,
            ValidationCode::FingerprintMismatch,
            ValidationCode::ProductMismatch,
            ValidationCode::EntitlementsMissing,
            ValidationCode::TooManyMachines,
        ] {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            assert_eq!(serde_json::from_str::<ValidationCode>(&json).unwrap(), code);
            assert!(!code.message().is_empty());
        }
    }

    #[test]
    fn window_checks() {
        let t = |s| parse_time(s).unwrap();
        let meta = FileMeta {
            issued: t("2024-01-01T00:00:00Z"),
            expiry: Some(t("2024-02-01T00:00:00Z")),
            ttl: Some(2_629_746),
        };
        let drift = DEFAULT_CLOCK_DRIFT;
        assert_eq!(
            meta.check(t("2024-01-15T00:00:00Z"), drift),
            ValidationCode::Valid
        );
        assert_eq!(
            meta.check(t("2024-02-01T00:00:00Z"), drift),
            ValidationCode::Valid
        );
        assert_eq!(
            meta.check(t("2024-02-01T00:00:00.001Z"), drift),
            ValidationCode::FileExpired
        );
        assert_eq!(
            meta.check(t("2023-12-31T23:56:00Z"), drift),
            ValidationCode::Valid
        );
        assert_eq!(
            meta.check(t("2023-12-31T23:54:59Z"), drift),
            ValidationCode::ClockTampered
        );
        let forever = FileMeta {
            expiry: None,
            ttl: None,
            ..meta
        };
        assert_eq!(
            forever.check(t("2999-01-01T00:00:00Z"), drift),
            ValidationCode::Valid
        );
    }
}
