//! A verifier's set of trusted keys, for key rotation: each public key is pinned to
//! the one scheme or file algorithm ([`Pin`]) it is trusted for.
//!
//! A license file's `alg` is not signed, so it is never trusted alone: it only
//! selects which pinned `(key, algorithm)` pairs are tried, and every one of those
//! pairs is a key the caller chose to trust for exactly that algorithm.

use crate::error::FormatError;
use crate::file::{open, Certificate, EncryptionSecret, OpenedFile};
use crate::keys::{PublicKey, TrustedKey};
use crate::kinds::{FileAlgorithm, FileKind, Pin, ValidationCode};
use crate::license_key::verify_key;

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
                expected: pin.as_str().to_owned(),
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
    /// the dataset and the entry that verified it: the entry point for keys across
    /// rotation ([`verify_key`](crate::verify_key) is the one for one key). Error
    /// [`FormatError::NoTrustedKey`] (`UNKNOWN_KEY`) when none does; text that no
    /// pinned scheme can even read keeps its own (`MALFORMED`) error.
    pub fn verify_key(&self, key_text: &str) -> Result<(Vec<u8>, &TrustedKey), FormatError> {
        let mut malformed = None;
        let mut tried = 0;
        for entry in &self.entries {
            let Pin::Scheme(scheme) = entry.pin else {
                continue;
            };
            tried += 1;
            match verify_key(key_text, &entry.public, scheme) {
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
    /// claims (what [`Verifier::new`](crate::Verifier::new) does before the window
    /// check). Errors: [`FormatError::AlgorithmMismatch`] when no key is pinned to the
    /// claimed `alg`, [`FormatError::NoTrustedKey`] when none of those keys verifies
    /// the signature, or the first error after a signature did verify (decryption,
    /// payload).
    pub(crate) fn open(
        &self,
        text: &str,
        kind: FileKind,
        secret: Option<&EncryptionSecret>,
    ) -> Result<OpenedFile, FormatError> {
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
                Ok(file) => return Ok(file),
                Err(FormatError::SignatureInvalid) => continue,
                // The signature verified (or the input is bad for every key).
                Err(e) => return Err(e),
            }
        }
        Err(FormatError::NoTrustedKey)
    }
}
