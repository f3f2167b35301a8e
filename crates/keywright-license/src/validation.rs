//! Validation outcomes: one code per reason a file or key is or is not usable.

use std::fmt;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::error::FormatError;
use crate::file::{open, EncryptionSecret, FileAlgorithm, FileKind, FileMeta, OpenedFile};
use crate::keys::PublicKey;

/// Clock drift tolerated when a file's `issued` is in the future (keygen-go uses 5 minutes).
pub const DEFAULT_CLOCK_DRIFT: SignedDuration = SignedDuration::from_secs(5 * 60);

/// The outcome of checking a license key or file, as stored and shown to users.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
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
