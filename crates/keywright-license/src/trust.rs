//! A verifier's set of trusted keys, for key rotation: each public key is pinned to
//! the one scheme or file algorithm it is trusted for.
//!
//! A license file's `alg` is not signed, so it is never trusted alone: it only
//! selects which pinned `(key, algorithm)` pairs are tried, and every one of those
//! pairs is a key the caller chose to trust for exactly that algorithm.

use jiff::Timestamp;

use crate::error::FormatError;
use crate::file::{open, Certificate, EncryptionSecret, FileAlgorithm, FileKind, OpenedFile};
use crate::keys::PublicKey;
use crate::license_key::{verify_key_with, Scheme};
use crate::validation::{ValidationCode, Verification, DEFAULT_CLOCK_DRIFT};

/// What a trusted key is pinned to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Pin {
    /// License keys made with this scheme.
    Scheme(Scheme),
    /// License and machine files made with this algorithm.
    File(FileAlgorithm),
}

impl Pin {
    fn key_algorithm(self) -> crate::keys::KeyAlgorithm {
        match self {
            Pin::Scheme(s) => s.key_algorithm(),
            Pin::File(a) => a.key_algorithm(),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Pin::Scheme(s) => s.as_str(),
            Pin::File(a) => a.as_str(),
        }
    }
}

/// One trusted key and what it is trusted for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedKey {
    /// The verification key.
    pub public: PublicKey,
    /// The scheme or file algorithm it may verify.
    pub pin: Pin,
}

/// The set of keys a verifier trusts, e.g. the current and the previous signing key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedKeys {
    entries: Vec<TrustedKey>,
}

impl TrustedKeys {
    /// An empty set: it verifies nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Trusts `public` for `pin`. Error [`FormatError::AlgorithmMismatch`] when the
    /// key cannot verify that scheme or algorithm. Adding an entry twice is a no-op.
    pub fn add(&mut self, public: PublicKey, pin: Pin) -> Result<&mut Self, FormatError> {
        if public.algorithm() != pin.key_algorithm() {
            return Err(FormatError::AlgorithmMismatch {
                expected: pin.name().to_owned(),
                found: format!("{:?} key", public.algorithm()),
            });
        }
        let entry = TrustedKey { public, pin };
        if !self.entries.contains(&entry) {
            self.entries.push(entry);
        }
        Ok(self)
    }

    /// The entries, in the order they were added (and are tried).
    pub fn entries(&self) -> &[TrustedKey] {
        &self.entries
    }

    /// Verifies a license key against every key pinned to a scheme, in order; returns
    /// the dataset and the entry that verified it. Error
    /// [`FormatError::NoTrustedKey`] (`UNKNOWN_KEY`) when none does.
    pub fn verify_key(&self, key_text: &str) -> Result<(Vec<u8>, &TrustedKey), FormatError> {
        let mut malformed = None;
        let mut tried = 0;
        for entry in &self.entries {
            let Pin::Scheme(scheme) = entry.pin else {
                continue;
            };
            tried += 1;
            match verify_key_with(key_text, &entry.public, scheme) {
                Ok(dataset) => return Ok((dataset, entry)),
                // Too large: the same for every entry.
                Err(e @ FormatError::TooLarge { .. }) => return Err(e),
                Err(e) if e.code() == ValidationCode::Malformed => {
                    malformed.get_or_insert(e);
                    tried -= 1;
                }
                Err(_) => {}
            }
        }
        // Text no pinned scheme could even read is malformed, not from an unknown key.
        match malformed {
            Some(e) if tried == 0 => Err(e),
            _ => Err(FormatError::NoTrustedKey),
        }
    }

    /// Opens a license or machine file with the keys pinned to the algorithm it
    /// claims. Errors: [`FormatError::AlgorithmMismatch`] when no key is pinned to the
    /// claimed `alg`, [`FormatError::NoTrustedKey`] when none of those keys verifies
    /// the signature, or the first error after a signature did verify (decryption,
    /// payload).
    pub fn open(
        &self,
        text: &str,
        kind: FileKind,
        secret: Option<&EncryptionSecret>,
    ) -> Result<(OpenedFile, &TrustedKey), FormatError> {
        let cert = Certificate::parse(text)?;
        if cert.kind != kind {
            return Err(FormatError::WrongKind {
                expected: kind,
                found: cert.kind,
            });
        }
        let candidates: Vec<&TrustedKey> = self
            .entries
            .iter()
            .filter(|e| matches!(e.pin, Pin::File(alg) if alg.as_str() == cert.alg))
            .collect();
        if candidates.is_empty() {
            let claimed: FileAlgorithm = cert.alg.parse()?;
            let pinned: Vec<&str> = self
                .entries
                .iter()
                .filter_map(|e| match e.pin {
                    Pin::File(alg) => Some(alg.as_str()),
                    Pin::Scheme(_) => None,
                })
                .collect();
            if pinned.is_empty() {
                return Err(FormatError::NoTrustedKey);
            }
            return Err(FormatError::AlgorithmMismatch {
                expected: pinned.join(" or "),
                found: claimed.as_str().to_owned(),
            });
        }
        for entry in candidates {
            let Pin::File(alg) = entry.pin else {
                continue;
            };
            match open(text, kind, &entry.public, alg, secret) {
                Ok(file) => return Ok((file, entry)),
                Err(FormatError::SignatureInvalid) => continue,
                // The signature verified (or the input is bad for every key).
                Err(e) => return Err(e),
            }
        }
        Err(FormatError::NoTrustedKey)
    }

    /// [`TrustedKeys::open`] on a license file, then its validity window at `now`.
    pub fn verify_license_file(
        &self,
        text: &str,
        secret: Option<&EncryptionSecret>,
        now: Timestamp,
    ) -> Verification {
        self.verify_file(text, FileKind::License, secret, now)
    }

    /// [`TrustedKeys::open`] on a machine file, then its validity window at `now`.
    pub fn verify_machine_file(
        &self,
        text: &str,
        secret: Option<&EncryptionSecret>,
        now: Timestamp,
    ) -> Verification {
        self.verify_file(text, FileKind::Machine, secret, now)
    }

    fn verify_file(
        &self,
        text: &str,
        kind: FileKind,
        secret: Option<&EncryptionSecret>,
        now: Timestamp,
    ) -> Verification {
        match self.open(text, kind, secret) {
            Ok((file, _)) => Verification {
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
}
