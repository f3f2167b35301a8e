//! The one way to check a license or machine file: a [`Verifier`] holds the trusted
//! keys, the time and what the application expects, and answers
//! [`verify`](Verifier::verify) (signature, decryption, validity window) or
//! [`validate`](Verifier::validate) (that, then the license itself).

use std::fmt;

use jiff::{SignedDuration, Timestamp};

use crate::error::FormatError;
use crate::file::{open, EncryptionSecret, OpenedFile};
use crate::keys::PublicKey;
use crate::kinds::{ExpirationStrategy, FileAlgorithm, FileKind, ValidationCode};
use crate::trust::TrustedKeys;
use crate::view::LicenseView;

/// Clock drift tolerated when a file's `issued` is in the future (keygen-go uses 5
/// minutes), and behind a last-seen time.
pub const DEFAULT_CLOCK_DRIFT: SignedDuration = SignedDuration::from_secs(5 * 60);

/// Which key(s) verify the file.
#[derive(Debug, Clone, Copy)]
enum Keys<'a> {
    /// Every key of the set pinned to the file's algorithm.
    Trusted(&'a TrustedKeys),
    /// One key, pinned to one algorithm.
    Pinned(&'a PublicKey, FileAlgorithm),
}

/// Checks license and machine files at one point in time, against what the
/// application expects of them.
///
/// Build one per check (it borrows everything and costs one SHA-256 of the license
/// key), then call [`verify`](Verifier::verify) or [`validate`](Verifier::validate):
///
/// ```
/// use keywright_license::{parse_time, FileAlgorithm, FileKind, PublicKey, Verifier, ValidationCode};
///
/// let public = PublicKey::from_hex(include_str!("../tests/vectors/pubkeys/keygen-demo-ed25519.hex"))?;
/// let file = include_str!("../tests/vectors/files/keygen-go.machine.lic");
/// let license_key = include_str!("../tests/vectors/keys/example-java.ed25519-key.key").trim();
/// let now = parse_time("2022-05-24T22:15:06.357Z")?;
///
/// let result = Verifier::pinned(&public, FileAlgorithm::Aes256GcmEd25519, now)
///     .kind(FileKind::Machine)
///     .license_key(license_key)
///     .fingerprint("39bb2cae-af5a-40c2-80f7-9e2ea0f90d17")
///     .product("1f086ec9-a943-46ea-9da4-e62c2180c2f4")
///     .validate(file);
/// assert_eq!(result.code, ValidationCode::Valid, "{}", result.message);
/// # Ok::<(), keywright_license::FormatError>(())
/// ```
///
/// Every expectation left unset is not checked. `now` is an argument of the
/// constructors, not a setting: the crate has no clock, and a check without a time
/// would have to invent one.
#[derive(Clone)]
pub struct Verifier<'a> {
    keys: Keys<'a>,
    now: Timestamp,
    kind: FileKind,
    license_key: Option<&'a str>,
    fingerprint: Option<&'a str>,
    /// Derived from the license key, the fingerprint and the kind whenever one of
    /// them is set, so that checks do not hash.
    secret: Option<EncryptionSecret>,
    product: Option<&'a str>,
    entitlements: Vec<&'a str>,
    expiration_strategy: ExpirationStrategy,
    clock_drift: SignedDuration,
    last_seen: Option<Timestamp>,
}

impl<'a> Verifier<'a> {
    /// Checks files at `now` with the keys of `trusted` pinned to the algorithm a file
    /// claims (for key rotation). When none of them verifies the signature, the code
    /// is `UNKNOWN_KEY`: no one key's reason is the answer.
    pub fn new(trusted: &'a TrustedKeys, now: Timestamp) -> Self {
        Self::with_keys(Keys::Trusted(trusted), now)
    }

    /// Checks files at `now` with one key, pinned to one algorithm (a file's `alg` is
    /// not signed, so it is only compared with `alg`). A signature that does not
    /// verify is `SIGNATURE_INVALID`.
    pub fn pinned(public: &'a PublicKey, alg: FileAlgorithm, now: Timestamp) -> Self {
        Self::with_keys(Keys::Pinned(public, alg), now)
    }

    fn with_keys(keys: Keys<'a>, now: Timestamp) -> Self {
        Verifier {
            keys,
            now,
            kind: FileKind::License,
            license_key: None,
            fingerprint: None,
            secret: None,
            product: None,
            entitlements: Vec::new(),
            expiration_strategy: ExpirationStrategy::default(),
            clock_drift: DEFAULT_CLOCK_DRIFT,
            last_seen: None,
        }
    }

    /// The kind of file expected (license files unless set): the other kind is
    /// `MALFORMED`. An application bound to machines expects machine files, so that
    /// a license file cannot stand in for one.
    pub fn kind(mut self, kind: FileKind) -> Self {
        self.kind = kind;
        self.derive_secret();
        self
    }

    /// The license key: it decrypts encrypted license files, and with
    /// [`fingerprint`](Verifier::fingerprint) encrypted machine files (Keygen's
    /// AES-256-GCM key is SHA-256 of the license key, or of the license key followed
    /// by the fingerprint). Without it an encrypted file is `DECRYPTION_FAILED`.
    pub fn license_key(mut self, license_key: &'a str) -> Self {
        self.license_key = Some(license_key);
        self.derive_secret();
        self
    }

    /// This machine's fingerprint: it decrypts machine files (with the license key),
    /// and [`validate`](Verifier::validate) requires a machine file to carry exactly
    /// it, and a license file that includes its machines to list it
    /// (`FINGERPRINT_MISMATCH`).
    pub fn fingerprint(mut self, fingerprint: &'a str) -> Self {
        self.fingerprint = Some(fingerprint);
        self.derive_secret();
        self
    }

    /// The product id the license must belong to (`PRODUCT_MISMATCH` otherwise, also
    /// when the file names no product).
    pub fn product(mut self, product_id: &'a str) -> Self {
        self.product = Some(product_id);
        self
    }

    /// Entitlements the license must have, by code (or id), as listed in the file's
    /// `included` entitlements or `relationships.entitlements` linkage
    /// (`ENTITLEMENTS_MISSING`; a file that lists none has none). Adds to those
    /// already required.
    pub fn entitlements(mut self, codes: impl IntoIterator<Item = &'a str>) -> Self {
        self.entitlements.extend(codes);
        self
    }

    /// What an expired license may still do when the file does not include its
    /// policy (an included policy's `expirationStrategy` is the vendor's signed rule
    /// and wins). Keygen's default, `RESTRICT_ACCESS`, unless set.
    pub fn expiration_strategy(mut self, strategy: ExpirationStrategy) -> Self {
        self.expiration_strategy = strategy;
        self
    }

    /// Clock drift tolerated for `issued` in the future and for the last-seen time;
    /// [`DEFAULT_CLOCK_DRIFT`] unless set.
    pub fn clock_drift(mut self, drift: SignedDuration) -> Self {
        self.clock_drift = drift;
        self
    }

    /// The latest "now" the application has seen (and stored) before: a `now` earlier
    /// than this minus the clock drift means the clock was turned back
    /// (`CLOCK_TAMPERED`, from [`validate`](Verifier::validate)).
    pub fn last_seen(mut self, last_seen: Timestamp) -> Self {
        self.last_seen = Some(last_seen);
        self
    }

    fn derive_secret(&mut self) {
        self.secret = self.license_key.and_then(|key| match self.kind {
            FileKind::License => Some(EncryptionSecret::for_license(key)),
            FileKind::Machine => self
                .fingerprint
                .map(|fp| EncryptionSecret::for_machine(key, fp)),
        });
    }

    fn open(&self, text: &str) -> Result<OpenedFile, FormatError> {
        let secret = self.secret.as_ref();
        match self.keys {
            Keys::Trusted(keys) => keys.open(text, self.kind, secret),
            Keys::Pinned(public, alg) => open(text, self.kind, public, alg, secret),
        }
    }

    /// Opens the file (kind, pinned algorithm, signature, then decryption) and checks
    /// its validity window: `CLOCK_TAMPERED` when it was issued later than now plus
    /// the clock drift, `FILE_EXPIRED` when its `meta.expiry` is past.
    pub fn verify(&self, text: &str) -> Verification {
        match self.open(text) {
            Ok(file) => Verification {
                code: file.meta.check(self.now, self.clock_drift),
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

    /// Opens the file and checks it against everything expected, in Keygen's order;
    /// the first failing check decides the code:
    ///
    /// signature and decryption → `CLOCK_TAMPERED` (issued later than now plus the
    /// drift, or now earlier than the last-seen time minus the drift) →
    /// `FILE_EXPIRED` (unless within the offline grace period the included policy
    /// grants) → `BANNED` / `SUSPENDED` (license status) → `EXPIRED` (license expiry,
    /// per [`ExpirationStrategy`]) → `PRODUCT_MISMATCH` → `FINGERPRINT_MISMATCH` →
    /// `ENTITLEMENTS_MISSING` → `TOO_MANY_MACHINES` (only when the file lists more
    /// machines than `maxMachines`, with the included policy's overage allowance,
    /// and the license is not `strict: false`) → `VALID`.
    ///
    /// A machine file's license checks use the license in its `included` (when
    /// present), its fingerprint check the machine's own.
    pub fn validate(&self, text: &str) -> Validation {
        match self.open(text) {
            Ok(file) => self.judge(file),
            Err(e) => Validation::failed(e, None),
        }
    }

    /// Everything after the file is open: read the view, then [`Verifier::rule`].
    fn judge(&self, file: OpenedFile) -> Validation {
        let mut view = match LicenseView::read(&file) {
            Ok(view) => view,
            Err(e) => return Validation::failed(e, Some(file)),
        };
        let now = self.now;
        view.expired = view.expiry.is_some_and(|expiry| now > expiry);
        view.in_grace = view.meta.check(now, self.clock_drift) == ValidationCode::FileExpired
            && view
                .offline_grace
                .is_some_and(|grace| view.meta.grace_remaining(grace, now).is_some());
        let (code, message) = self.rule(&view);
        Validation {
            code,
            message: message.unwrap_or_else(|| code.message().to_owned()),
            file: Some(file),
            license: Some(view),
            error: None,
        }
    }

    /// The checks on a readable file, in order; a message when a precise one helps.
    fn rule(&self, view: &LicenseView) -> (ValidationCode, Option<String>) {
        use ValidationCode as C;
        let (now, drift) = (self.now, self.clock_drift);
        let rolled_back = self.last_seen.is_some_and(|seen| {
            let earliest = seen.checked_sub(drift).unwrap_or(Timestamp::MIN);
            now < earliest
        });
        if rolled_back {
            return (
                C::ClockTampered,
                Some(
                    "The system clock is earlier than a time already seen: it was turned back."
                        .into(),
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
        let strategy = view.expiration_strategy.unwrap_or(self.expiration_strategy);
        if view.expired && !strategy.keeps_access() {
            return (C::Expired, None);
        }
        if let Some(product) = self.product {
            if view.product_id.as_deref() != Some(product) {
                return (C::ProductMismatch, None);
            }
        }
        if let Some(fingerprint) = self.fingerprint {
            let matches = match view.kind {
                FileKind::Machine => view.fingerprint.as_deref() == Some(fingerprint),
                // A license file only says which machines it has when it includes them.
                FileKind::License => {
                    view.machine_fingerprints.is_empty()
                        || view.machine_fingerprints.iter().any(|f| f == fingerprint)
                }
            };
            if !matches {
                return (C::FingerprintMismatch, None);
            }
        }
        let missing: Vec<&str> = self
            .entitlements
            .iter()
            .copied()
            .filter(|code| !view.entitlements.iter().any(|e| e == code))
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
                .and_then(|grace| view.meta.grace_remaining(grace, now))
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
}

impl fmt::Debug for Verifier<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("keys", &self.keys)
            .field("now", &self.now)
            .field("kind", &self.kind)
            // The license key is the decryption secret: never shown.
            .field("license_key", &self.license_key.map(|_| "<redacted>"))
            .field("fingerprint", &self.fingerprint)
            .field("product", &self.product)
            .field("entitlements", &self.entitlements)
            .field("expiration_strategy", &self.expiration_strategy)
            .field("clock_drift", &self.clock_drift)
            .field("last_seen", &self.last_seen)
            .finish()
    }
}

/// The result of [`Verifier::verify`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    /// The outcome.
    pub code: ValidationCode,
    /// The opened file, whenever it is authentic and readable (also when expired).
    pub file: Option<OpenedFile>,
    /// The precise reason when the file could not be opened.
    pub error: Option<FormatError>,
}

/// The result of [`Verifier::validate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validation {
    /// The outcome.
    pub code: ValidationCode,
    /// A one-line explanation for people: [`ValidationCode::message`], or a more
    /// precise one (the missing entitlements, a clock turned back, the grace left).
    pub message: String,
    /// The opened file, whenever it is authentic and readable (also when the checks
    /// after the signature fail).
    pub file: Option<OpenedFile>,
    /// What the file says, whenever its document could be read.
    pub license: Option<LicenseView>,
    /// The precise reason when the file could not be opened or read.
    pub error: Option<FormatError>,
}

impl Validation {
    /// Whether the code is `VALID`.
    pub fn is_valid(&self) -> bool {
        self.code == ValidationCode::Valid
    }

    fn failed(e: FormatError, file: Option<OpenedFile>) -> Self {
        Validation {
            code: e.code(),
            message: e.code().message().to_owned(),
            file,
            license: None,
            error: Some(e),
        }
    }
}
