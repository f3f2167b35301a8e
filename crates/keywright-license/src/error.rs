//! The one error type of this crate: one variant per rule a file, key or input breaks;
//! and reading Keygen's names back into [`kinds`](crate::kinds), which fails with it.

use std::str::FromStr;

use serde::{Deserialize, Deserializer};

use crate::kinds::{FileAlgorithm, FileKind, Scheme, ValidationCode};

/// Why a key, license key, license file or machine file was rejected.
///
/// Each variant is one rule; [`FormatError::code`] folds them into the
/// coarser [`ValidationCode`] shown to users and stored in audit logs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FormatError {
    /// The input is larger than this kind of input may be; nothing was decoded.
    #[error("input is larger than the {max}-byte limit")]
    TooLarge {
        /// The limit, in bytes.
        max: usize,
    },
    /// The text does not start with a `-----BEGIN LICENSE FILE-----` or
    /// `-----BEGIN MACHINE FILE-----` line.
    #[error("not a license or machine file: the -----BEGIN … FILE----- line is missing")]
    MissingHeader,
    /// The text does not end with the `-----END … FILE-----` line matching its header.
    #[error("the -----END … FILE----- line matching the header is missing")]
    MissingFooter,
    /// A license file was given where a machine file was expected, or the reverse.
    #[error("expected a {expected}, found a {found}")]
    WrongKind {
        /// The kind the caller asked for.
        expected: FileKind,
        /// The kind named by the file's header.
        found: FileKind,
    },
    /// A field is not canonical base64 (standard or base64url, as the format requires).
    #[error("`{field}` is not valid base64")]
    Base64 {
        /// Which part of the input.
        field: &'static str,
    },
    /// The decoded bytes are not the JSON the format requires.
    #[error("invalid JSON: {0}")]
    Json(String),
    /// A required JSON field is absent or has the wrong type.
    #[error("missing or mistyped field `{0}`")]
    MissingField(&'static str),
    /// An algorithm or scheme name Keygen does not define.
    #[error("unknown algorithm or scheme `{0}`")]
    UnknownAlgorithm(String),
    /// A Keygen algorithm or scheme this version cannot handle.
    #[error("`{0}` is a Keygen algorithm this version does not support yet")]
    Unsupported(String),
    /// The file's `alg` (which is not signed) differs from the algorithm pinned for the
    /// key, or the key cannot verify that algorithm.
    #[error("algorithm mismatch: expected {expected}, found {found}")]
    AlgorithmMismatch {
        /// What the caller pinned.
        expected: String,
        /// What the input declares.
        found: String,
    },
    /// The signature does not verify under the given public key.
    #[error("the signature does not verify: the data was altered or signed by another key")]
    SignatureInvalid,
    /// AES-GCM authentication failed: wrong license key or fingerprint, or altered data.
    #[error("decryption failed: wrong license key or fingerprint, or the data was altered")]
    DecryptionFailed,
    /// An encrypted `enc` that is not `ciphertext.iv.tag` with a 12-byte IV and 16-byte tag.
    #[error("the encrypted data is not ciphertext.iv.tag with a 12-byte IV and a 16-byte tag")]
    MalformedEnc,
    /// A signed license key that is not `key/<base64url>.<base64url signature>`.
    #[error("malformed license key: {0}")]
    MalformedKey(&'static str),
    /// A public key that cannot be read or is not a valid Ed25519 point.
    #[error("bad public key: {0}")]
    BadPublicKey(&'static str),
    /// A private signing key of the wrong size.
    #[error("bad signing key: {0}")]
    BadSigningKey(&'static str),
    /// A timestamp that is not RFC 3339.
    #[error("bad timestamp `{0}`")]
    BadTimestamp(String),
    /// The file is encrypted and no license key (and fingerprint) was given to decrypt it.
    #[error(
        "this file is encrypted: the license key (and fingerprint for machine files) is required"
    )]
    KeyRequired,
    /// No trusted key (pinned to the input's scheme or algorithm) verifies the input.
    #[error("no trusted key verifies this: it was signed by an unknown key or altered")]
    NoTrustedKey,
    /// A TTL whose expiry falls outside the representable time range, or below
    /// Keygen's minimum of 3600 seconds when issuing.
    #[error("ttl of {0} seconds is out of range")]
    TtlOutOfRange(i64),
    /// A key template names a variable Keygen does not define.
    #[error("unknown template variable `{0}`: Keygen's are account, product, policy, user, email, created, expiry, duration, id")]
    UnknownTemplateVariable(String),
    /// A human key style that is invalid or gives too little entropy.
    #[error("bad key style: {0}")]
    KeyStyle(String),
    /// The operating system's machine id could not be read (feature `fingerprint`).
    #[error("cannot read the machine id: {0}")]
    MachineId(String),
}

impl FormatError {
    /// The validation outcome this error stands for.
    pub fn code(&self) -> ValidationCode {
        match self {
            FormatError::TooLarge { .. }
            | FormatError::MissingHeader
            | FormatError::MissingFooter
            | FormatError::WrongKind { .. }
            | FormatError::Base64 { .. }
            | FormatError::Json(_)
            | FormatError::MissingField(_)
            | FormatError::MalformedEnc
            | FormatError::MalformedKey(_)
            | FormatError::BadTimestamp(_)
            | FormatError::TtlOutOfRange(_)
            | FormatError::UnknownTemplateVariable(_)
            | FormatError::KeyStyle(_)
            | FormatError::MachineId(_) => ValidationCode::Malformed,
            FormatError::UnknownAlgorithm(_)
            | FormatError::Unsupported(_)
            | FormatError::AlgorithmMismatch { .. } => ValidationCode::AlgorithmMismatch,
            FormatError::SignatureInvalid => ValidationCode::SignatureInvalid,
            FormatError::DecryptionFailed | FormatError::KeyRequired => {
                ValidationCode::DecryptionFailed
            }
            FormatError::BadPublicKey(_)
            | FormatError::BadSigningKey(_)
            | FormatError::NoTrustedKey => ValidationCode::UnknownKey,
        }
    }
}

/// Rejects inputs over `max` bytes before any decoding work is done.
pub(crate) fn check_size(len: usize, max: usize) -> Result<(), FormatError> {
    if len > max {
        Err(FormatError::TooLarge { max })
    } else {
        Ok(())
    }
}

/// An unknown name, shown at most 64 characters long.
fn unknown(name: &str) -> FormatError {
    FormatError::UnknownAlgorithm(name.chars().take(64).collect())
}

impl FromStr for FileAlgorithm {
    type Err = FormatError;

    fn from_str(s: &str) -> Result<Self, FormatError> {
        FileAlgorithm::from_name(s).ok_or_else(|| unknown(s))
    }
}

impl FromStr for Scheme {
    type Err = FormatError;

    fn from_str(s: &str) -> Result<Self, FormatError> {
        Scheme::from_name(s).ok_or_else(|| unknown(s))
    }
}

impl<'de> Deserialize<'de> for Scheme {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back() {
        for alg in FileAlgorithm::ALL {
            assert_eq!(alg.as_str().parse::<FileAlgorithm>(), Ok(alg));
        }
        for scheme in Scheme::ALL {
            assert_eq!(scheme.as_str().parse::<Scheme>(), Ok(scheme));
            let json = serde_json::to_string(&scheme).unwrap();
            assert_eq!(serde_json::from_str::<Scheme>(&json).unwrap(), scheme);
        }
        assert_eq!("ED25519_SIGN".parse::<Scheme>(), Ok(Scheme::Ed25519Sign));
        assert_eq!(
            "RSA_2048_JWT_RS256".parse::<Scheme>(),
            Ok(Scheme::RsaJwtRs256)
        );
        assert!(matches!(
            "ed25519_sign".parse::<Scheme>(),
            Err(FormatError::UnknownAlgorithm(_))
        ));
        assert!(matches!(
            "rot13+ed25519".parse::<FileAlgorithm>(),
            Err(FormatError::UnknownAlgorithm(_))
        ));
        let long = "x".repeat(100);
        assert_eq!(
            long.parse::<Scheme>(),
            Err(FormatError::UnknownAlgorithm("x".repeat(64)))
        );
        assert!(serde_json::from_str::<Scheme>("\"NONE\"")
            .unwrap_err()
            .to_string()
            .contains("unknown algorithm or scheme `NONE`"));
    }
}
