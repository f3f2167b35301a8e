//! Keygen's license formats, byte for byte: signed license keys (every Keygen scheme:
//! `ED25519_SIGN`, the `RSA_2048_…` schemes, `ECDSA_P256_SIGN`) and license / machine
//! files (`base64+…` / `aes-256-gcm+…` with `ed25519`, `rsa-pss-sha256`, `rsa-sha256`,
//! `ecdsa-p256`), plus [`TrustedKeys`] for verifying across rotated keys and
//! [`validate_license_file`] for the checks beyond the signature. License files can
//! carry Keygen's `included` related objects (product, policy, owner, entitlements:
//! [`Included`] writes them, [`IncludedResource`] and [`LicenseView::included`] read
//! them back).
//!
//! The crate is pure: it reads no files, clock or environment; "now" and the random
//! number generator are passed in (only the convenience `sign_key` takes its RSA-PSS
//! salt from the OS). With `default-features = false` it only verifies
//! (no signing code, no randomness); the default `sign` feature adds issuing, key
//! templates and human-typable keys. The non-default `fingerprint` feature adds
//! `machine_fingerprint`, the one function that
//! reads the operating system.
//!
//! The examples below use Keygen's own published files (`tests/vectors`); they are
//! checked at a time inside each file's validity window, since most have expired.
//!
//! # Verify a license key
//!
//! The example key from Keygen's documentation:
//!
//! ```
//! use keywright_license::{verify_key, PublicKey};
//!
//! let public = PublicKey::from_hex(
//!     "799efc7752286e6c3815b13358d98fc0f0b566764458adcb48f1be2c10a55906",
//! )?;
//! let key = "key/emVrZUBrZXlnZW4uZXhhbXBsZQ==.D1pk7hqD_KNV9UNpl1IDQqpa4qaBjFBNrtP74yEM7v0xCmLRrDhZdSHGx47TN2RKARfGIigX9tE4yVOjhQvfAQ==";
//! let dataset = verify_key(key, &public)?;
//! println!("{}", String::from_utf8_lossy(&dataset));
//! assert_eq!(dataset, b"zeke@keygen.example");
//! # Ok::<(), keywright_license::FormatError>(())
//! ```
//!
//! # Verify an encrypted license file with trusted keys
//!
//! [`TrustedKeys`] pins each public key to the algorithm it may verify (a file's
//! `alg` is not signed). The license key decrypts the file.
//!
//! ```
//! use keywright_license::{
//!     parse_time, EncryptionSecret, FileAlgorithm, Pin, PublicKey, TrustedKeys, ValidationCode,
//! };
//!
//! let mut keys = TrustedKeys::new();
//! keys.add(
//!     PublicKey::from_hex(include_str!("../tests/vectors/pubkeys/keygen-demo-ed25519.hex"))?,
//!     Pin::File(FileAlgorithm::Aes256GcmEd25519),
//! )?;
//! let file = include_str!("../tests/vectors/files/example-rust.license.lic");
//! let secret = EncryptionSecret::for_license("988214-879010-F1185E-B37E91-E53AF5-V3");
//!
//! let now = parse_time("2022-08-08T17:32:34.431Z")?;
//! let checked = keys.verify_license_file(file, Some(&secret), now);
//! assert_eq!(checked.code, ValidationCode::Valid);
//! let opened = checked.file.unwrap();
//! println!("{}", String::from_utf8_lossy(&opened.payload));
//!
//! // A year later the file's TTL has run out: check out a new one.
//! let later = parse_time("2023-08-09T00:00:00Z")?;
//! let checked = keys.verify_license_file(file, Some(&secret), later);
//! assert_eq!(checked.code, ValidationCode::FileExpired);
//! # Ok::<(), keywright_license::FormatError>(())
//! ```
//!
//! # Validate against what the application expects
//!
//! Status, license expiry, product, this machine's fingerprint and entitlements, in
//! Keygen's order ([`validate_license_file`] has the details). Here a machine file,
//! encrypted with the license key and the machine's fingerprint:
//!
//! ```
//! use keywright_license::{
//!     parse_time, validate_machine_file, EncryptionSecret, FileAlgorithm,
//!     LicenseExpectations, PublicKey, ValidationCode,
//! };
//!
//! let public = PublicKey::from_hex(include_str!("../tests/vectors/pubkeys/keygen-demo-ed25519.hex"))?;
//! let file = include_str!("../tests/vectors/files/keygen-go.machine.lic");
//! let license_key = include_str!("../tests/vectors/keys/example-java.ed25519-key.key").trim();
//! let fingerprint = "39bb2cae-af5a-40c2-80f7-9e2ea0f90d17"; // this machine's
//! let secret = EncryptionSecret::for_machine(license_key, fingerprint);
//!
//! let expect = LicenseExpectations {
//!     product_id: Some("1f086ec9-a943-46ea-9da4-e62c2180c2f4".into()),
//!     fingerprint: Some(fingerprint.into()),
//!     required_entitlements: vec!["DEMO_ENTITLEMENT".into()],
//!     ..LicenseExpectations::default()
//! };
//! let now = parse_time("2022-05-24T22:15:06.357Z")?;
//! let algorithm = FileAlgorithm::Aes256GcmEd25519;
//! let result = validate_machine_file(file, (&public, algorithm), Some(&secret), &expect, now);
//! assert_eq!(result.code, ValidationCode::Valid, "{}", result.message);
//! let license = result.license.unwrap();
//! assert_eq!(license.fingerprint.as_deref(), Some(fingerprint));
//!
//! // The same file on another machine does not even decrypt.
//! let elsewhere = EncryptionSecret::for_machine(license_key, "another-machine");
//! let result = validate_machine_file(file, (&public, algorithm), Some(&elsewhere), &expect, now);
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
//! use keywright_license::{
//!     grace_remaining, open, parse_time, EncryptionSecret, FileAlgorithm, FileKind, PublicKey,
//! };
//!
//! let public = PublicKey::from_hex(include_str!("../tests/vectors/pubkeys/keygen-demo-ed25519.hex"))?;
//! let file = include_str!("../tests/vectors/files/example-rust.license.lic");
//! let secret = EncryptionSecret::for_license("988214-879010-F1185E-B37E91-E53AF5-V3");
//! let opened = open(file, FileKind::License, &public, FileAlgorithm::Aes256GcmEd25519, Some(&secret))?;
//! // meta.expiry is 2023-08-08T17:31:34.431Z.
//!
//! let grace = SignedDuration::from_hours(7 * 24);
//! let within_ttl = parse_time("2022-08-08T17:32:34.431Z")?;
//! assert_eq!(grace_remaining(&opened.meta, grace, within_ttl), Some(grace));
//! let two_days_late = parse_time("2023-08-10T17:31:34.431Z")?;
//! assert_eq!(
//!     grace_remaining(&opened.meta, grace, two_days_late),
//!     Some(SignedDuration::from_hours(5 * 24)),
//! );
//! let too_late = parse_time("2023-09-01T00:00:00Z")?;
//! assert_eq!(grace_remaining(&opened.meta, grace, too_late), None);
//! # Ok::<(), keywright_license::FormatError>(())
//! ```
//!
//! # Matching on codes and kinds: the enums are `#[non_exhaustive]`
//!
//! [`ValidationCode`], [`FormatError`], [`FileKind`], [`FileAlgorithm`], [`Scheme`],
//! [`KeyAlgorithm`], [`Pin`], [`document::LicenseStatus`], [`ExpirationStrategy`],
//! [`HumanKeyStyle`], [`Verifier`] and [`activation::ActivationError`] are marked
//! `#[non_exhaustive]`. Keygen adds validation codes, schemes, file algorithms and
//! statuses over time, and this crate follows it: with the attribute, a new variant
//! is not a breaking change for an application that embeds the verifier. The price
//! is a wildcard arm in every `match` outside this crate; make it the safe answer
//! (refuse, or ask the user to update), never "valid":
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

pub mod activation;
pub mod document;
pub mod error;
pub mod file;
#[cfg(feature = "fingerprint")]
pub mod fingerprint;
pub mod human_key;
pub mod included;
pub mod keys;
pub mod license_key;
pub mod response;
mod rsa_ops;
#[cfg(feature = "sign")]
pub mod template;
pub mod time;
pub mod trust;
pub mod validation;

pub use activation::{ActivationError, ActivationRequest, DeactivationReceipt};
pub use document::MachineDocument;
pub use error::FormatError;
#[cfg(feature = "sign")]
pub use file::seal;
pub use file::{
    open, Certificate, EncryptionSecret, FileAlgorithm, FileKind, FileMeta, OpenedFile,
    FILE_ALGORITHMS, MAX_FILE_SIZE,
};
#[cfg(feature = "fingerprint")]
pub use fingerprint::{fingerprint_of, machine_fingerprint};
#[cfg(feature = "sign")]
pub use human_key::human_key;
pub use human_key::{normalize_human_key, HumanKeyStyle, HUMAN_ALPHABET, MIN_ENTROPY_BITS};
pub use included::{
    Included, IncludedEntitlement, IncludedPolicy, IncludedProduct, IncludedResource, IncludedUser,
};
#[cfg(feature = "sign")]
pub use keys::SigningKey;
pub use keys::{KeyAlgorithm, PublicKey, MAX_KEY_TEXT, RSA_BITS};
#[cfg(feature = "sign")]
pub use license_key::{sign_key, sign_key_with};
pub use license_key::{
    verify_key, verify_key_with, JwtClaims, KeyDataset, Scheme, MAX_ENCRYPT_DATASET, SCHEMES,
};
#[cfg(feature = "sign")]
pub use template::{render_template, TemplateVars, TEMPLATE_VARIABLES};
pub use time::{format_time, keygen_expiry, parse_time};
pub use trust::{Pin, TrustedKey, TrustedKeys};
pub use validation::{
    grace_remaining, validate_license_file, validate_machine_file, validate_opened,
    verify_license_file, verify_machine_file, ExpirationStrategy, LicenseExpectations, LicenseView,
    Validation, ValidationCode, Verification, Verifier, DEFAULT_CLOCK_DRIFT,
};
