//! Keygen's license formats, byte for byte: signed license keys (every Keygen scheme:
//! `ED25519_SIGN`, the `RSA_2048_…` schemes, `ECDSA_P256_SIGN`) and license / machine
//! files (`base64+…` / `aes-256-gcm+…` with `ed25519`, `rsa-pss-sha256`, `rsa-sha256`,
//! `ecdsa-p256`), checked by a [`Verifier`]. License files can carry Keygen's
//! `included` related objects (product, policy, owner, entitlements), which
//! [`LicenseView::included`] reads back as [`IncludedResource`]s.
//!
//! The crate is pure: it reads no files, clock or environment; "now" and the random
//! number generator are passed in. With `default-features = false` it only verifies
//! (no signing code, no randomness); the default `sign` feature adds the `issue`
//! module: signing keys, sealing files, Keygen's documents, key templates and
//! human-typable keys. The non-default `fingerprint` feature adds
//! `machine_fingerprint`, the one function that reads the operating system.
//!
//! # What is public, and where
//!
//! Each item has one path. At the root is what an application that embeds the
//! verifier uses:
//!
//! - checking: [`Verifier`] (with [`Verification`], [`Validation`], [`LicenseView`],
//!   [`OpenedFile`], [`FileMeta`]) for license and machine files; [`verify_key`] and
//!   [`TrustedKeys::verify_key`] for license keys; [`PublicKey`], [`TrustedKeys`],
//!   [`TrustedKey`] for the keys it trusts;
//! - the kinds everyone matches on ([`ValidationCode`], [`FileKind`],
//!   [`FileAlgorithm`], [`Scheme`], [`KeyAlgorithm`], [`Pin`], [`ExpirationStrategy`],
//!   [`LicenseStatus`]) and the one error, [`FormatError`];
//! - what the formats hold: [`Certificate`] (a file's envelope), Keygen's key datasets
//!   ([`KeyDataset`], [`JwtClaims`], [`EncryptDataset`]), Keygen's timestamps
//!   ([`parse_time`], [`format_time`], [`keygen_expiry`]) and the size limits.
//!
//! Three groups are separate enough to be modules of their own:
//!
//! - [`activation`]: the air-gapped activation request and deactivation receipt, a
//!   text format of our own (armor, checksum, its own error) that the application
//!   writes and the vendor reads, with no signature and no key;
//! - [`response`]: signed HTTP answers of an activation server (`Keygen-Signature`),
//!   a protocol with its own error, checked by online clients only;
//! - `issue` (feature `sign`): what the vendor's issuer needs and an embedded
//!   verifier never does; the verify-only build does not have it.
//!
//! The modules that implement all this are private. [`kinds`](#kinds) imports nothing
//! else from the crate, and the modules form no cycle (`tests/module_graph.rs`).
//!
//! The examples below use Keygen's own published files (`tests/vectors`); they are
//! checked at a time inside each file's validity window, since most have expired.
//!
//! # Verify a license key
//!
//! The example key from Keygen's documentation, verified with one key pinned to one
//! scheme:
//!
//! ```
//! use keywright_license::{verify_key, PublicKey, Scheme};
//!
//! let public = PublicKey::from_hex(
//!     "799efc7752286e6c3815b13358d98fc0f0b566764458adcb48f1be2c10a55906",
//! )?;
//! let key = "key/emVrZUBrZXlnZW4uZXhhbXBsZQ==.D1pk7hqD_KNV9UNpl1IDQqpa4qaBjFBNrtP74yEM7v0xCmLRrDhZdSHGx47TN2RKARfGIigX9tE4yVOjhQvfAQ==";
//! let dataset = verify_key(key, &public, Scheme::Ed25519Sign)?;
//! println!("{}", String::from_utf8_lossy(&dataset));
//! assert_eq!(dataset, b"zeke@keygen.example");
//! # Ok::<(), keywright_license::FormatError>(())
//! ```
//!
//! Keys have their own entry point because a key has none of what a [`Verifier`]
//! holds besides the key: no validity window, no encryption, no document to check.
//!
//! # Verify an encrypted license file with trusted keys
//!
//! [`TrustedKeys`] pins each public key to the algorithm it may verify (a file's
//! `alg` is not signed), for key rotation. The license key decrypts the file.
//!
//! ```
//! use keywright_license::{
//!     parse_time, FileAlgorithm, Pin, PublicKey, TrustedKeys, ValidationCode, Verifier,
//! };
//!
//! let mut keys = TrustedKeys::new();
//! keys.add(
//!     PublicKey::from_hex(include_str!("../tests/vectors/pubkeys/keygen-demo-ed25519.hex"))?,
//!     Pin::File(FileAlgorithm::Aes256GcmEd25519),
//! )?;
//! let file = include_str!("../tests/vectors/files/example-rust.license.lic");
//! let license_key = "988214-879010-F1185E-B37E91-E53AF5-V3";
//!
//! let now = parse_time("2022-08-08T17:32:34.431Z")?;
//! let checked = Verifier::new(&keys, now).license_key(license_key).verify(file);
//! assert_eq!(checked.code, ValidationCode::Valid);
//! let opened = checked.file.unwrap();
//! println!("{}", String::from_utf8_lossy(&opened.payload));
//!
//! // A year later the file's TTL has run out: check out a new one.
//! let later = parse_time("2023-08-09T00:00:00Z")?;
//! let checked = Verifier::new(&keys, later).license_key(license_key).verify(file);
//! assert_eq!(checked.code, ValidationCode::FileExpired);
//! # Ok::<(), keywright_license::FormatError>(())
//! ```
//!
//! # Validate against what the application expects
//!
//! Status, license expiry, product, this machine's fingerprint and entitlements, in
//! Keygen's order ([`Verifier::validate`] has the details). Here a machine file,
//! encrypted with the license key and the machine's fingerprint:
//!
//! ```
//! use keywright_license::{
//!     parse_time, FileAlgorithm, FileKind, PublicKey, ValidationCode, Verifier,
//! };
//!
//! let public = PublicKey::from_hex(include_str!("../tests/vectors/pubkeys/keygen-demo-ed25519.hex"))?;
//! let file = include_str!("../tests/vectors/files/keygen-go.machine.lic");
//! let license_key = include_str!("../tests/vectors/keys/example-java.ed25519-key.key").trim();
//! let fingerprint = "39bb2cae-af5a-40c2-80f7-9e2ea0f90d17"; // this machine's
//! let now = parse_time("2022-05-24T22:15:06.357Z")?;
//!
//! let verifier = |fingerprint| {
//!     Verifier::pinned(&public, FileAlgorithm::Aes256GcmEd25519, now)
//!         .kind(FileKind::Machine)
//!         .license_key(license_key)
//!         .fingerprint(fingerprint)
//!         .product("1f086ec9-a943-46ea-9da4-e62c2180c2f4")
//!         .entitlements(["DEMO_ENTITLEMENT"])
//! };
//! let result = verifier(fingerprint).validate(file);
//! assert_eq!(result.code, ValidationCode::Valid, "{}", result.message);
//! let license = result.license.unwrap();
//! assert_eq!(license.fingerprint.as_deref(), Some(fingerprint));
//!
//! // The same file on another machine does not even decrypt.
//! let result = verifier("another-machine").validate(file);
//! assert_eq!(result.code, ValidationCode::DecryptionFailed);
//! # Ok::<(), keywright_license::FormatError>(())
//! ```
//!
//! # Offline grace period
//!
//! After a file's TTL the application may keep running for a grace period while it
//! tries to check out a new file:
//!
//! ```
//! use jiff::SignedDuration;
//! use keywright_license::{parse_time, FileAlgorithm, PublicKey, Verifier};
//!
//! let public = PublicKey::from_hex(include_str!("../tests/vectors/pubkeys/keygen-demo-ed25519.hex"))?;
//! let file = include_str!("../tests/vectors/files/example-rust.license.lic");
//! let within_ttl = parse_time("2022-08-08T17:32:34.431Z")?;
//! let opened = Verifier::pinned(&public, FileAlgorithm::Aes256GcmEd25519, within_ttl)
//!     .license_key("988214-879010-F1185E-B37E91-E53AF5-V3")
//!     .verify(file)
//!     .file
//!     .unwrap();
//! // meta.expiry is 2023-08-08T17:31:34.431Z.
//!
//! let grace = SignedDuration::from_hours(7 * 24);
//! assert_eq!(opened.meta.grace_remaining(grace, within_ttl), Some(grace));
//! let two_days_late = parse_time("2023-08-10T17:31:34.431Z")?;
//! assert_eq!(
//!     opened.meta.grace_remaining(grace, two_days_late),
//!     Some(SignedDuration::from_hours(5 * 24)),
//! );
//! let too_late = parse_time("2023-09-01T00:00:00Z")?;
//! assert_eq!(opened.meta.grace_remaining(grace, too_late), None);
//! # Ok::<(), keywright_license::FormatError>(())
//! ```
//!
//! # Kinds
//!
//! [`ValidationCode`], [`FormatError`], [`FileKind`], [`FileAlgorithm`], [`Scheme`],
//! [`KeyAlgorithm`], [`Pin`], [`LicenseStatus`], [`ExpirationStrategy`],
//! [`activation::ActivationError`] and [`response::ResponseError`] (and, with `sign`,
//! `issue::HumanKeyStyle`) are marked `#[non_exhaustive]`. Keygen adds validation
//! codes, schemes, file algorithms and statuses over time, and this crate follows it:
//! with the attribute, a new variant is not a breaking change for an application that
//! embeds the verifier. The price is a wildcard arm in every `match` outside this
//! crate; make it the safe answer (refuse, or ask the user to update), never "valid":
//!
//! ```
//! use keywright_license::ValidationCode;
//!
//! fn may_run(code: ValidationCode) -> bool {
//!     match code {
//!         ValidationCode::Valid => true,
//!         ValidationCode::FileExpired => false, // check out a new file
//!         // Every other code, including ones a newer version adds, refuses.
//!         _ => false,
//!     }
//! }
//! assert!(may_run(ValidationCode::Valid));
//! assert!(!may_run(ValidationCode::SignatureInvalid));
//! ```
//!
//! # The verify-only build links no random number generator
//!
//! `default-features = false` compiles neither signing nor `rand_core`'s OS source:
//! `cargo tree -p keywright-license --no-default-features -e normal` lists no
//! `getrandom` (ed25519-dalek is used without its `std` feature, which would turn on
//! `rand_core/std` and with it `getrandom`). Only the `sign` feature brings
//! `rand_core` with `getrandom`.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

// The module graph, leaves first (no cycles: `tests/module_graph.rs`):
// kinds ← error ← time, rsa_ops ← keys ← license_key, file ← trust, view ← verifier;
// activation, response, fingerprint; and with `sign`: included ← document, template,
// human_key.
pub mod activation;
#[cfg(feature = "sign")]
mod document;
mod error;
mod file;
#[cfg(feature = "fingerprint")]
mod fingerprint;
#[cfg(feature = "sign")]
mod human_key;
#[cfg(feature = "sign")]
mod included;
mod keys;
mod kinds;
mod license_key;
pub mod response;
mod rsa_ops;
#[cfg(feature = "sign")]
mod template;
mod time;
mod trust;
mod verifier;
mod view;

pub use error::FormatError;
pub use file::{Certificate, FileMeta, OpenedFile, MAX_FILE_SIZE};
#[cfg(feature = "fingerprint")]
pub use fingerprint::{fingerprint_of, machine_fingerprint};
pub use keys::{PublicKey, TrustedKey, MAX_KEY_TEXT};
pub use kinds::{
    ExpirationStrategy, FileAlgorithm, FileKind, KeyAlgorithm, LicenseStatus, Pin, Scheme,
    ValidationCode,
};
pub use license_key::{
    verify_key, EncryptDataset, IdRef, JwtClaims, KeyDataset, LicenseRef, PolicyRef, UserRef,
};
pub use time::{format_time, keygen_expiry, parse_time};
pub use trust::TrustedKeys;
pub use verifier::{Validation, Verification, Verifier, DEFAULT_CLOCK_DRIFT};
pub use view::{IncludedResource, LicenseView};

/// Issuing (feature `sign`): what the vendor's side needs to make what a [`Verifier`]
/// checks, and what an embedded verifier never needs.
///
/// - [`SigningKey`](issue::SigningKey) (zeroized, redacted `Debug`, never
///   `Serialize`), [`sign_key`](issue::sign_key) for license keys of every scheme,
///   [`seal`](issue::seal) with an [`EncryptionSecret`](issue::EncryptionSecret) for
///   license and machine files;
/// - Keygen's documents: [`LicenseDocument`](issue::LicenseDocument) and
///   [`MachineDocument`](issue::MachineDocument) with the [`Included`](issue::Included)
///   objects, and [`LicenseDocumentView`](issue::LicenseDocumentView) to read one back;
/// - key templates ([`render_template`](issue::render_template)) and human-typable
///   keys ([`human_key`](issue::human_key), [`normalize_human_key`](issue::normalize_human_key)).
///
/// Whatever here needs randomness takes its random number generator as an argument.
#[cfg(feature = "sign")]
pub mod issue {
    pub use crate::document::{LicenseDocument, LicenseDocumentView, MachineDocument, MIN_TTL};
    pub use crate::file::{seal, EncryptionSecret};
    pub use crate::human_key::{
        human_key, normalize_human_key, HumanKeyStyle, HUMAN_ALPHABET, MIN_ENTROPY_BITS,
    };
    pub use crate::included::{
        Included, IncludedEntitlement, IncludedPolicy, IncludedProduct, IncludedUser,
    };
    pub use crate::keys::SigningKey;
    pub use crate::license_key::{sign_key, MAX_ENCRYPT_DATASET};
    pub use crate::template::{render_template, TemplateVars, TEMPLATE_VARIABLES};
}

/// The README's Rust examples ("Verify in your app"), compiled as doc tests so that
/// they stay true.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeExamples;
