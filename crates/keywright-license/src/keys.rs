//! Verification keys and (with the `sign` feature) signing keys.

use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use ed25519_dalek::{Signature, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::error::{check_size, FormatError};

/// Largest public key text [`PublicKey::parse`] reads (64 KiB).
pub const MAX_KEY_TEXT: usize = 64 * 1024;

/// DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410): the 32 key bytes follow.
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];
const PEM_BEGIN: &str = "-----BEGIN PUBLIC KEY-----";
const PEM_END: &str = "-----END PUBLIC KEY-----";

/// The signature algorithm a key belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyAlgorithm {
    /// Ed25519 (Keygen's `ED25519_SIGN` and `…+ed25519` files).
    Ed25519,
}

/// A key that verifies Keygen signatures. Only Ed25519 for now; RSA comes later.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey(PublicInner);

#[derive(Clone, PartialEq, Eq)]
enum PublicInner {
    Ed25519(VerifyingKey),
}

impl PublicKey {
    /// Reads an Ed25519 key from 64 hex digits (how Keygen's dashboard shows it).
    pub fn from_hex(text: &str) -> Result<Self, FormatError> {
        check_size(text.len(), MAX_KEY_TEXT)?;
        let text = text.trim();
        if text.len() != 64 {
            return Err(FormatError::BadPublicKey(
                "hex Ed25519 key must be 64 hex digits",
            ));
        }
        let mut raw = [0u8; 32];
        hex::decode_to_slice(text, &mut raw)
            .map_err(|_| FormatError::BadPublicKey("not hexadecimal"))?;
        Self::from_ed25519_bytes(&raw)
    }

    /// Reads a PEM `-----BEGIN PUBLIC KEY-----` block holding an Ed25519 SPKI.
    pub fn from_pem(text: &str) -> Result<Self, FormatError> {
        check_size(text.len(), MAX_KEY_TEXT)?;
        let body = text
            .trim()
            .strip_prefix(PEM_BEGIN)
            .and_then(|rest| rest.strip_suffix(PEM_END))
            .ok_or(FormatError::BadPublicKey("not a PEM PUBLIC KEY block"))?;
        let b64: String = body.split_ascii_whitespace().collect();
        Self::from_spki_der_base64(&b64)
    }

    /// Reads base64 (standard, padded) of an Ed25519 SubjectPublicKeyInfo DER, as
    /// Keygen's Node example publishes it.
    pub fn from_spki_der_base64(text: &str) -> Result<Self, FormatError> {
        check_size(text.len(), MAX_KEY_TEXT)?;
        let der = STANDARD
            .decode(text.trim())
            .map_err(|_| FormatError::Base64 {
                field: "public key",
            })?;
        Self::from_spki_der(&der)
    }

    /// Reads an Ed25519 SubjectPublicKeyInfo DER (exactly 44 bytes).
    pub fn from_spki_der(der: &[u8]) -> Result<Self, FormatError> {
        let raw = der
            .strip_prefix(&ED25519_SPKI_PREFIX[..])
            .filter(|raw| raw.len() == 32)
            .ok_or(FormatError::BadPublicKey(
                "not an Ed25519 SubjectPublicKeyInfo",
            ))?;
        Self::from_ed25519_bytes(raw)
    }

    /// Reads a key in any form Keygen publishes: hex, PEM, or base64 SPKI DER.
    pub fn parse(text: &str) -> Result<Self, FormatError> {
        check_size(text.len(), MAX_KEY_TEXT)?;
        let text = text.trim();
        if text.starts_with("-----BEGIN") {
            Self::from_pem(text)
        } else if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            Self::from_hex(text)
        } else {
            Self::from_spki_der_base64(text)
        }
    }

    /// Builds a key from the 32 raw bytes of an Ed25519 public key.
    pub fn from_ed25519_bytes(raw: &[u8]) -> Result<Self, FormatError> {
        let raw: &[u8; 32] = raw
            .try_into()
            .map_err(|_| FormatError::BadPublicKey("Ed25519 key must be 32 bytes"))?;
        let key = VerifyingKey::from_bytes(raw)
            .map_err(|_| FormatError::BadPublicKey("not a valid Ed25519 point"))?;
        // A small-order key would accept forged signatures for some messages.
        if key.is_weak() {
            return Err(FormatError::BadPublicKey("weak (small-order) Ed25519 key"));
        }
        Ok(PublicKey(PublicInner::Ed25519(key)))
    }

    /// The algorithm this key verifies.
    pub fn algorithm(&self) -> KeyAlgorithm {
        match self.0 {
            PublicInner::Ed25519(_) => KeyAlgorithm::Ed25519,
        }
    }

    /// The raw public key bytes (32 for Ed25519).
    pub fn to_bytes(&self) -> Vec<u8> {
        match &self.0 {
            PublicInner::Ed25519(k) => k.to_bytes().to_vec(),
        }
    }

    /// Lowercase hex of the raw key, as Keygen shows Ed25519 keys.
    pub fn to_hex(&self) -> String {
        hex::encode(self.to_bytes())
    }

    /// PEM SubjectPublicKeyInfo, 64-column lines, trailing LF.
    pub fn to_pem(&self) -> String {
        let mut der = ED25519_SPKI_PREFIX.to_vec();
        der.extend_from_slice(&self.to_bytes());
        let b64 = STANDARD.encode(der);
        let mut out = String::from(PEM_BEGIN);
        out.push('\n');
        for line in b64.as_bytes().chunks(64) {
            // base64 output is ASCII, so any chunk is valid UTF-8.
            out.push_str(&String::from_utf8_lossy(line));
            out.push('\n');
        }
        out.push_str(PEM_END);
        out.push('\n');
        out
    }

    /// Key id: lowercase hex of the first 8 bytes of SHA-256 of the raw key bytes.
    pub fn kid(&self) -> String {
        let digest = Sha256::digest(self.to_bytes());
        hex::encode(&digest[..8])
    }

    /// Checks an Ed25519 signature strictly (canonical encodings only).
    pub(crate) fn verify_ed25519(&self, message: &[u8], sig: &[u8]) -> Result<(), FormatError> {
        let sig = Signature::from_slice(sig).map_err(|_| FormatError::SignatureInvalid)?;
        match &self.0 {
            PublicInner::Ed25519(k) => k
                .verify_strict(message, &sig)
                .map_err(|_| FormatError::SignatureInvalid),
        }
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.algorithm() {
            KeyAlgorithm::Ed25519 => write!(f, "PublicKey(ed25519 {})", self.to_hex()),
        }
    }
}

#[cfg(feature = "sign")]
pub use signing::SigningKey;

#[cfg(feature = "sign")]
mod signing {
    use std::fmt;

    use ed25519_dalek::Signer as _;
    use zeroize::Zeroizing;

    use super::{PublicInner, PublicKey};
    use crate::error::FormatError;

    /// An Ed25519 private key. Wiped from memory on drop; never serialized.
    #[derive(Clone)]
    pub struct SigningKey(ed25519_dalek::SigningKey);

    impl SigningKey {
        /// Builds the key from its 32-byte seed (what Keygen shows as the private key).
        pub fn from_seed(seed: &[u8]) -> Result<Self, FormatError> {
            let seed: Zeroizing<[u8; 32]> = Zeroizing::new(
                seed.try_into()
                    .map_err(|_| FormatError::BadSigningKey("Ed25519 seed must be 32 bytes"))?,
            );
            Ok(SigningKey(ed25519_dalek::SigningKey::from_bytes(&seed)))
        }

        /// A new random key.
        pub fn generate(rng: &mut impl rand_core::CryptoRngCore) -> Self {
            let mut seed = Zeroizing::new([0u8; 32]);
            rng.fill_bytes(seed.as_mut());
            SigningKey(ed25519_dalek::SigningKey::from_bytes(&seed))
        }

        /// The matching verification key.
        pub fn public_key(&self) -> PublicKey {
            PublicKey(PublicInner::Ed25519(self.0.verifying_key()))
        }

        /// The 32-byte seed, for storing in the OS keychain. Wiped when dropped.
        pub fn seed_bytes(&self) -> Zeroizing<[u8; 32]> {
            Zeroizing::new(self.0.to_bytes())
        }

        /// Signs `message`, returning the 64-byte Ed25519 signature.
        pub(crate) fn sign_ed25519(&self, message: &[u8]) -> [u8; 64] {
            self.0.sign(message).to_bytes()
        }
    }

    impl fmt::Debug for SigningKey {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "SigningKey(<redacted>, kid={})", self.public_key().kid())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEMO_HEX: &str = "e8601e48b69383ba520245fd07971e983d06d22c4257cfd82304601479cee788";
    const DEMO_SPKI: &str = "MCowBQYDK2VwAyEA6GAeSLaTg7pSAkX9B5cemD0G0ixCV8/YIwRgFHnO54g=";

    #[test]
    fn hex_spki_and_pem_agree() {
        let a = PublicKey::from_hex(DEMO_HEX).unwrap();
        let b = PublicKey::from_spki_der_base64(DEMO_SPKI).unwrap();
        assert_eq!(a, b);
        let pem = a.to_pem();
        assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA"));
        assert!(pem.ends_with("\n-----END PUBLIC KEY-----\n"));
        assert_eq!(PublicKey::from_pem(&pem).unwrap(), a);
        for text in [
            DEMO_HEX,
            DEMO_SPKI,
            pem.as_str(),
            &format!("  {DEMO_HEX}\n"),
        ] {
            assert_eq!(PublicKey::parse(text).unwrap(), a);
        }
        assert_eq!(a.to_hex(), DEMO_HEX);
        assert_eq!(a.kid().len(), 16);
        let digest = Sha256::digest(hex::decode(DEMO_HEX).unwrap());
        assert_eq!(a.kid(), hex::encode(&digest[..8]));
    }

    #[test]
    fn rejects_bad_keys() {
        assert!(PublicKey::from_hex(&DEMO_HEX[..62]).is_err());
        assert!(PublicKey::from_hex(&"zz".repeat(32)).is_err());
        // The identity point is small-order.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert!(matches!(
            PublicKey::from_ed25519_bytes(&identity),
            Err(FormatError::BadPublicKey(_))
        ));
        assert_eq!(
            PublicKey::parse(&"a".repeat(MAX_KEY_TEXT + 1)),
            Err(FormatError::TooLarge { max: MAX_KEY_TEXT })
        );
        // RSA SPKI is not an Ed25519 key.
        assert!(
            PublicKey::from_spki_der_base64("MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA")
                .is_err()
        );
    }

    #[cfg(feature = "sign")]
    #[test]
    fn signing_key_debug_is_redacted() {
        let key = SigningKey::from_seed(&[7u8; 32]).unwrap();
        let shown = format!("{key:?}");
        assert!(shown.starts_with("SigningKey(<redacted>, kid="));
        assert!(!shown.contains(&hex::encode([7u8; 32])));
        assert_eq!(*key.seed_bytes(), [7u8; 32]);
        assert!(SigningKey::from_seed(&[7u8; 31]).is_err());
    }
}
