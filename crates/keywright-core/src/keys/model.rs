//! Signing keys as the store keeps them: the public half and its facts.
//!
//! None of these types can hold private key material: the private half only ever
//! exists inside the [vault](crate::vault) and the signing calls.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Signing key algorithms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "kebab-case")]
pub enum KeyAlgorithm {
    /// Ed25519 (Keygen's ED25519_SIGN and `+ed25519` files). The default.
    Ed25519,
    /// RSA-2048 (Keygen's RSA_2048_* schemes and `+rsa-pss-sha256` / `+rsa-sha256` files).
    #[serde(rename = "rsa-2048")]
    Rsa2048,
    /// ECDSA over P-256 (Keygen's ECDSA_P256_SIGN).
    #[serde(rename = "ecdsa-p256")]
    EcdsaP256,
}

impl KeyAlgorithm {
    /// The name stored and printed.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ed25519 => "ed25519",
            Self::Rsa2048 => "rsa-2048",
            Self::EcdsaP256 => "ecdsa-p256",
        }
    }

    /// Parses a stored or typed name.
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "ed25519" => Some(Self::Ed25519),
            "rsa-2048" | "rsa2048" | "rsa" => Some(Self::Rsa2048),
            "ecdsa-p256" | "p256" | "p-256" => Some(Self::EcdsaP256),
            _ => None,
        }
    }

    /// The format crate's name for it.
    pub fn to_format(self) -> keywright_license::KeyAlgorithm {
        match self {
            Self::Ed25519 => keywright_license::KeyAlgorithm::Ed25519,
            Self::Rsa2048 => keywright_license::KeyAlgorithm::Rsa2048,
            Self::EcdsaP256 => keywright_license::KeyAlgorithm::EcdsaP256,
        }
    }
}

/// Whether a key may sign.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum KeyStatus {
    /// Signs new licenses.
    Active,
    /// No longer signs; still trusted to verify what it signed.
    Retired,
    /// No longer signs or verifies.
    Revoked,
}

impl KeyStatus {
    /// The name stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Retired => "retired",
            Self::Revoked => "revoked",
        }
    }

    pub(crate) fn parse(s: &str) -> Self {
        match s {
            "retired" => Self::Retired,
            "revoked" => Self::Revoked,
            _ => Self::Active,
        }
    }
}

/// A signing key as the store keeps it: the public half and its facts.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SigningKey {
    /// Row id (UUID).
    pub id: String,
    /// Key id: the first 8 bytes of SHA-256 of the public key, in hex.
    pub kid: String,
    /// A name people recognise.
    pub name: String,
    /// The algorithm.
    pub algorithm: KeyAlgorithm,
    /// Public key, raw bytes in hex (Keygen's "public key" format for Ed25519).
    pub public_key_hex: String,
    /// Public key as SPKI PEM.
    pub public_key_pem: String,
    /// Whether it signs.
    pub status: KeyStatus,
    /// When it was made (RFC 3339, UTC, milliseconds).
    pub created_at: String,
    /// When its scheduled retirement comes (RFC 3339, UTC, milliseconds): from then on
    /// it no longer signs, as if retired. None: none scheduled.
    pub retire_at: Option<String>,
}

impl SigningKey {
    /// Why this key cannot sign at `at` (a stored time), if it cannot: retired or
    /// revoked, or its scheduled retirement has come.
    pub fn cannot_sign_at(&self, at: &str) -> Option<String> {
        if self.status != KeyStatus::Active {
            return Some(format!(
                "signing key {} ({}) is {} and no longer signs",
                self.name,
                self.kid,
                self.status.as_str()
            ));
        }
        match &self.retire_at {
            Some(r) if r.as_str() <= at => Some(format!(
                "signing key {} ({}) was scheduled to retire at {r} and no longer signs",
                self.name, self.kid
            )),
            _ => None,
        }
    }
}

/// Input for a new signing key.
#[derive(Debug, Clone, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct NewSigningKey {
    /// A name people recognise.
    pub name: String,
    /// The algorithm.
    pub algorithm: KeyAlgorithm,
}
