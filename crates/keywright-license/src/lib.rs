//! Keygen's license formats, byte for byte: signed license keys (every Keygen scheme:
//! `ED25519_SIGN`, the `RSA_2048_…` schemes, `ECDSA_P256_SIGN`) and license / machine
//! files (`base64+…` / `aes-256-gcm+…` with `ed25519`, `rsa-pss-sha256`, `rsa-sha256`,
//! `ecdsa-p256`), plus [`TrustedKeys`] for verifying across rotated keys.
//!
//! The crate is pure: it reads no files, clock or environment; "now" and the random
//! number generator are passed in (only the convenience `sign_key` takes its RSA-PSS
//! salt from the OS). With `default-features = false` it only verifies
//! (no signing code, no randomness); the default `sign` feature adds issuing.
//!
//! Verifying the example key from Keygen's documentation:
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

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod document;
pub mod error;
pub mod file;
pub mod keys;
pub mod license_key;
mod rsa_ops;
pub mod time;
pub mod trust;
pub mod validation;

pub use error::FormatError;
#[cfg(feature = "sign")]
pub use file::seal;
pub use file::{
    open, Certificate, EncryptionSecret, FileAlgorithm, FileKind, FileMeta, OpenedFile,
    FILE_ALGORITHMS, MAX_FILE_SIZE,
};
#[cfg(feature = "sign")]
pub use keys::SigningKey;
pub use keys::{KeyAlgorithm, PublicKey, MAX_KEY_TEXT, RSA_BITS};
#[cfg(feature = "sign")]
pub use license_key::{sign_key, sign_key_with};
pub use license_key::{
    verify_key, verify_key_with, JwtClaims, KeyDataset, Scheme, MAX_ENCRYPT_DATASET, SCHEMES,
};
pub use time::{format_time, keygen_expiry, parse_time};
pub use trust::{Pin, TrustedKey, TrustedKeys};
pub use validation::{
    verify_license_file, verify_machine_file, ValidationCode, Verification, DEFAULT_CLOCK_DRIFT,
};
