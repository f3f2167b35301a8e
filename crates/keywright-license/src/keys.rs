//! Verification keys and (with the `sign` feature) signing keys: Ed25519, RSA-2048 and
//! ECDSA P-256.
//!
//! RSA uses the `rsa` crate, subject to RUSTSEC-2023-0071 (the Marvin timing attack),
//! which has no fixed release. The advisory concerns private-key operations whose
//! timing an attacker can observe over a network; here the private key only signs,
//! locally on the vendor's own machine (the advisory's accepted case), and
//! verification uses only the public key.

use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use ed25519_dalek::{Signature, VerifyingKey};
use rsa::pkcs1::DecodeRsaPublicKey as _;
use rsa::pkcs8::{DecodePublicKey as _, EncodePublicKey as _};
use rsa::traits::PublicKeyParts as _;
use rsa::RsaPublicKey;
use sha2::{Digest, Sha256};

use crate::error::{check_size, FormatError};
use crate::kinds::{KeyAlgorithm, Pin, SigAlg};
use crate::rsa_ops::RSA_BITS;

/// Largest public key text [`PublicKey::parse`] reads (64 KiB).
pub const MAX_KEY_TEXT: usize = 64 * 1024;

/// DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410): the 32 key bytes follow.
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];
const PEM_BEGIN: &str = "-----BEGIN PUBLIC KEY-----";
const PEM_END: &str = "-----END PUBLIC KEY-----";
const RSA_PEM_BEGIN: &str = "-----BEGIN RSA PUBLIC KEY-----";
const RSA_PEM_END: &str = "-----END RSA PUBLIC KEY-----";

/// A key that verifies Keygen signatures: Ed25519, RSA-2048 or ECDSA P-256.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey(pub(crate) PublicInner);

#[derive(Clone, PartialEq, Eq)]
pub(crate) enum PublicInner {
    Ed25519(VerifyingKey),
    Rsa(Box<RsaPublicKey>),
    P256(p256::ecdsa::VerifyingKey),
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

    /// Reads a PEM block: `-----BEGIN PUBLIC KEY-----` (SubjectPublicKeyInfo of an
    /// Ed25519, RSA-2048 or P-256 key) or `-----BEGIN RSA PUBLIC KEY-----` (PKCS#1).
    pub fn from_pem(text: &str) -> Result<Self, FormatError> {
        check_size(text.len(), MAX_KEY_TEXT)?;
        let text = text.trim();
        let (body, pkcs1) = if let Some(rest) = text.strip_prefix(RSA_PEM_BEGIN) {
            (rest.strip_suffix(RSA_PEM_END), true)
        } else {
            (
                text.strip_prefix(PEM_BEGIN)
                    .and_then(|rest| rest.strip_suffix(PEM_END)),
                false,
            )
        };
        let body = body.ok_or(FormatError::BadPublicKey("not a PEM PUBLIC KEY block"))?;
        let b64: String = body.split_ascii_whitespace().collect();
        if pkcs1 {
            let der = STANDARD.decode(b64).map_err(|_| FormatError::Base64 {
                field: "public key",
            })?;
            let key = RsaPublicKey::from_pkcs1_der(&der)
                .map_err(|_| FormatError::BadPublicKey("not a PKCS#1 RSA public key"))?;
            Self::from_rsa(key)
        } else {
            Self::from_spki_der_base64(&b64)
        }
    }

    /// Reads base64 (standard, padded) of a SubjectPublicKeyInfo DER, as Keygen's
    /// Node example publishes Ed25519 keys.
    pub fn from_spki_der_base64(text: &str) -> Result<Self, FormatError> {
        check_size(text.len(), MAX_KEY_TEXT)?;
        let der = STANDARD
            .decode(text.trim())
            .map_err(|_| FormatError::Base64 {
                field: "public key",
            })?;
        Self::from_spki_der(&der)
    }

    /// Reads a SubjectPublicKeyInfo DER: Ed25519 (exactly 44 bytes), RSA-2048 or P-256.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, FormatError> {
        check_size(der.len(), MAX_KEY_TEXT)?;
        if let Some(raw) = der.strip_prefix(&ED25519_SPKI_PREFIX[..]) {
            if raw.len() == 32 {
                return Self::from_ed25519_bytes(raw);
            }
        }
        if let Ok(key) = RsaPublicKey::from_public_key_der(der) {
            return Self::from_rsa(key);
        }
        if let Ok(key) = p256::PublicKey::from_public_key_der(der) {
            return Ok(PublicKey(PublicInner::P256(key.into())));
        }
        Err(FormatError::BadPublicKey(
            "not an Ed25519, RSA-2048 or P-256 SubjectPublicKeyInfo",
        ))
    }

    /// Reads a key in any form Keygen publishes: hex (Ed25519), PEM, base64 SPKI DER,
    /// or base64 of a whole PEM block (how Keygen's dashboard exports RSA keys).
    pub fn parse(text: &str) -> Result<Self, FormatError> {
        check_size(text.len(), MAX_KEY_TEXT)?;
        let text = text.trim();
        if text.starts_with("-----BEGIN") {
            Self::from_pem(text)
        } else if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            Self::from_hex(text)
        } else {
            let compact: String = text.split_ascii_whitespace().collect();
            let der = STANDARD.decode(&compact).map_err(|_| FormatError::Base64 {
                field: "public key",
            })?;
            if der.starts_with(b"-----BEGIN") {
                // Base64 of a PEM block: one level only.
                let pem = std::str::from_utf8(&der)
                    .map_err(|_| FormatError::BadPublicKey("base64 of a PEM that is not text"))?;
                Self::from_pem(pem)
            } else {
                Self::from_spki_der(&der)
            }
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

    /// Wraps an RSA key, which must have a 2048-bit modulus like all of Keygen's.
    fn from_rsa(key: RsaPublicKey) -> Result<Self, FormatError> {
        if key.n().bits() != RSA_BITS {
            return Err(FormatError::BadPublicKey("RSA key must be 2048 bits"));
        }
        Ok(PublicKey(PublicInner::Rsa(Box::new(key))))
    }

    /// The algorithm this key verifies.
    pub fn algorithm(&self) -> KeyAlgorithm {
        match self.0 {
            PublicInner::Ed25519(_) => KeyAlgorithm::Ed25519,
            PublicInner::Rsa(_) => KeyAlgorithm::Rsa2048,
            PublicInner::P256(_) => KeyAlgorithm::EcdsaP256,
        }
    }

    /// The SubjectPublicKeyInfo DER of the key.
    pub fn to_spki_der(&self) -> Vec<u8> {
        match &self.0 {
            PublicInner::Ed25519(k) => {
                let mut der = ED25519_SPKI_PREFIX.to_vec();
                der.extend_from_slice(k.as_bytes());
                der
            }
            // Encoding a valid in-memory key cannot fail.
            PublicInner::Rsa(k) => k
                .to_public_key_der()
                .map(|d| d.into_vec())
                .unwrap_or_default(),
            PublicInner::P256(k) => p256::PublicKey::from(k)
                .to_public_key_der()
                .map(|d| d.into_vec())
                .unwrap_or_default(),
        }
    }

    /// The key bytes: the raw 32 bytes for Ed25519, the SubjectPublicKeyInfo DER
    /// for RSA and P-256.
    pub fn to_bytes(&self) -> Vec<u8> {
        match &self.0 {
            PublicInner::Ed25519(k) => k.to_bytes().to_vec(),
            PublicInner::Rsa(_) | PublicInner::P256(_) => self.to_spki_der(),
        }
    }

    /// Lowercase hex of [`PublicKey::to_bytes`], as Keygen shows Ed25519 keys.
    pub fn to_hex(&self) -> String {
        hex::encode(self.to_bytes())
    }

    /// PEM SubjectPublicKeyInfo, 64-column lines, trailing LF.
    pub fn to_pem(&self) -> String {
        let b64 = STANDARD.encode(self.to_spki_der());
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

    /// Key id: lowercase hex of the first 8 bytes of SHA-256 of the raw key bytes
    /// (Ed25519) or of the SubjectPublicKeyInfo DER (RSA, P-256).
    pub fn kid(&self) -> String {
        let digest = Sha256::digest(self.to_bytes());
        hex::encode(&digest[..8])
    }

    /// Checks a signature made with `alg`; a key of another algorithm never verifies.
    pub(crate) fn verify_sig(
        &self,
        alg: SigAlg,
        message: &[u8],
        sig: &[u8],
    ) -> Result<(), FormatError> {
        match (&self.0, alg) {
            (PublicInner::Ed25519(k), SigAlg::Ed25519) => {
                let sig = Signature::from_slice(sig).map_err(|_| FormatError::SignatureInvalid)?;
                // Strict: canonical encodings only.
                k.verify_strict(message, &sig)
                    .map_err(|_| FormatError::SignatureInvalid)
            }
            (PublicInner::Rsa(k), SigAlg::RsaPss) => crate::rsa_ops::verify_pss(k, message, sig),
            (PublicInner::Rsa(k), SigAlg::RsaPkcs1) => {
                crate::rsa_ops::verify_pkcs1(k, message, sig)
            }
            (PublicInner::P256(k), SigAlg::EcdsaP256) => {
                use p256::ecdsa::signature::Verifier as _;
                let sig = p256::ecdsa::DerSignature::from_bytes(sig)
                    .map_err(|_| FormatError::SignatureInvalid)?;
                let sig = p256::ecdsa::Signature::try_from(sig)
                    .map_err(|_| FormatError::SignatureInvalid)?;
                // OpenSSL signatures may have a high S; both forms are accepted.
                let sig = sig.normalize_s().unwrap_or(sig);
                k.verify(message, &sig)
                    .map_err(|_| FormatError::SignatureInvalid)
            }
            _ => Err(FormatError::SignatureInvalid),
        }
    }

    /// The RSA key, if this is one.
    pub(crate) fn rsa(&self) -> Option<&RsaPublicKey> {
        match &self.0 {
            PublicInner::Rsa(k) => Some(k),
            _ => None,
        }
    }
}

/// A public key and what it is trusted for: an entry of
/// [`TrustedKeys`](crate::TrustedKeys), and the key that verified an
/// [`OpenedFile`](crate::OpenedFile).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedKey {
    /// The verification key.
    pub public: PublicKey,
    /// The scheme or file algorithm it may verify.
    pub pin: Pin,
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.algorithm() {
            KeyAlgorithm::Ed25519 => write!(f, "PublicKey(ed25519 {})", self.to_hex()),
            KeyAlgorithm::Rsa2048 => write!(f, "PublicKey(rsa-2048 kid={})", self.kid()),
            KeyAlgorithm::EcdsaP256 => write!(f, "PublicKey(ecdsa-p256 kid={})", self.kid()),
        }
    }
}

#[cfg(feature = "sign")]
pub use signing::SigningKey;

#[cfg(feature = "sign")]
mod signing {
    use std::fmt;

    use ed25519_dalek::Signer as _;
    use rsa::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _};
    use rsa::traits::PublicKeyParts as _;
    use rsa::RsaPrivateKey;
    use zeroize::Zeroizing;

    use super::{KeyAlgorithm, PublicInner, PublicKey, SigAlg};
    use crate::error::FormatError;
    use crate::rsa_ops::RSA_BITS;

    /// PKCS#8 v1 DER prefix of an Ed25519 private key (RFC 8410): the 32-byte seed follows.
    const ED25519_PKCS8_PREFIX: [u8; 16] = [
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];

    /// A private signing key: Ed25519, RSA-2048 or ECDSA P-256. Wiped from memory on
    /// drop; serialized only through [`SigningKey::seed_bytes`] /
    /// [`SigningKey::to_pkcs8_der`], for the OS keychain.
    #[derive(Clone)]
    pub struct SigningKey(Inner);

    #[derive(Clone)]
    enum Inner {
        Ed25519(ed25519_dalek::SigningKey),
        Rsa(Box<RsaPrivateKey>),
        P256(p256::ecdsa::SigningKey),
    }

    impl SigningKey {
        /// Builds an Ed25519 key from its 32-byte seed (what Keygen shows as the
        /// private key).
        pub fn from_seed(seed: &[u8]) -> Result<Self, FormatError> {
            let seed: Zeroizing<[u8; 32]> = Zeroizing::new(
                seed.try_into()
                    .map_err(|_| FormatError::BadSigningKey("Ed25519 seed must be 32 bytes"))?,
            );
            Ok(SigningKey(Inner::Ed25519(
                ed25519_dalek::SigningKey::from_bytes(&seed),
            )))
        }

        /// A new random Ed25519 key.
        pub fn generate(rng: &mut impl rand_core::CryptoRngCore) -> Self {
            let mut seed = Zeroizing::new([0u8; 32]);
            rng.fill_bytes(seed.as_mut());
            SigningKey(Inner::Ed25519(ed25519_dalek::SigningKey::from_bytes(&seed)))
        }

        /// A new random RSA-2048 key (slow: about a second in release builds).
        pub fn generate_rsa(rng: &mut impl rand_core::CryptoRngCore) -> Result<Self, FormatError> {
            let key = RsaPrivateKey::new(rng, RSA_BITS)
                .map_err(|_| FormatError::BadSigningKey("RSA key generation failed"))?;
            Ok(SigningKey(Inner::Rsa(Box::new(key))))
        }

        /// A new random ECDSA P-256 key.
        pub fn generate_p256(rng: &mut impl rand_core::CryptoRngCore) -> Self {
            SigningKey(Inner::P256(p256::ecdsa::SigningKey::random(rng)))
        }

        /// Reads a PKCS#8 `PrivateKeyInfo` DER holding an Ed25519, RSA-2048 or P-256 key.
        pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, FormatError> {
            if let Some(seed) = der.strip_prefix(&ED25519_PKCS8_PREFIX[..]) {
                return Self::from_seed(seed);
            }
            if let Ok(key) = RsaPrivateKey::from_pkcs8_der(der) {
                if key.n().bits() != RSA_BITS {
                    return Err(FormatError::BadSigningKey("RSA key must be 2048 bits"));
                }
                key.validate()
                    .map_err(|_| FormatError::BadSigningKey("inconsistent RSA key"))?;
                return Ok(SigningKey(Inner::Rsa(Box::new(key))));
            }
            if let Ok(key) = p256::ecdsa::SigningKey::from_pkcs8_der(der) {
                return Ok(SigningKey(Inner::P256(key)));
            }
            Err(FormatError::BadSigningKey(
                "not a PKCS#8 Ed25519, RSA-2048 or P-256 private key",
            ))
        }

        /// The key as PKCS#8 `PrivateKeyInfo` DER (an RSA-2048 key is about 1,200
        /// bytes: it fits Windows' 2,560-byte credential limit). Wiped when dropped.
        pub fn to_pkcs8_der(&self) -> Zeroizing<Vec<u8>> {
            // Encoding a valid in-memory key cannot fail.
            match &self.0 {
                Inner::Ed25519(k) => {
                    let mut der = Zeroizing::new(ED25519_PKCS8_PREFIX.to_vec());
                    der.extend_from_slice(k.as_bytes());
                    der
                }
                Inner::Rsa(k) => Zeroizing::new(
                    k.to_pkcs8_der()
                        .map(|d| d.as_bytes().to_vec())
                        .unwrap_or_default(),
                ),
                Inner::P256(k) => Zeroizing::new(
                    p256::SecretKey::from(k.as_nonzero_scalar())
                        .to_pkcs8_der()
                        .map(|d| d.as_bytes().to_vec())
                        .unwrap_or_default(),
                ),
            }
        }

        /// The algorithm of this key.
        pub fn algorithm(&self) -> KeyAlgorithm {
            match self.0 {
                Inner::Ed25519(_) => KeyAlgorithm::Ed25519,
                Inner::Rsa(_) => KeyAlgorithm::Rsa2048,
                Inner::P256(_) => KeyAlgorithm::EcdsaP256,
            }
        }

        /// The matching verification key.
        pub fn public_key(&self) -> PublicKey {
            match &self.0 {
                Inner::Ed25519(k) => PublicKey(PublicInner::Ed25519(k.verifying_key())),
                Inner::Rsa(k) => PublicKey(PublicInner::Rsa(Box::new(k.to_public_key()))),
                Inner::P256(k) => PublicKey(PublicInner::P256(*k.verifying_key())),
            }
        }

        /// The 32-byte secret of an Ed25519 key (its seed) or a P-256 key (its
        /// scalar). Wiped when dropped. Prefer [`SigningKey::to_secret_bytes`], which
        /// works for every algorithm.
        ///
        /// # Panics
        ///
        /// For RSA keys, which have no 32-byte secret: use
        /// [`SigningKey::to_secret_bytes`] (or [`SigningKey::to_pkcs8_der`]) instead.
        pub fn seed_bytes(&self) -> Zeroizing<[u8; 32]> {
            match &self.0 {
                Inner::Ed25519(k) => Zeroizing::new(k.to_bytes()),
                Inner::P256(k) => Zeroizing::new(k.to_bytes().into()),
                Inner::Rsa(_) => panic!("RSA keys have no seed: use to_pkcs8_der"),
            }
        }

        /// The secret to store (e.g. in the OS keychain) for any algorithm: the
        /// 32-byte seed of an Ed25519 key (what Keygen shows as its private key), the
        /// PKCS#8 `PrivateKeyInfo` DER of an RSA-2048 or P-256 key. Wiped when dropped.
        /// [`SigningKey::from_secret_bytes`] reads it back.
        pub fn to_secret_bytes(&self) -> Zeroizing<Vec<u8>> {
            match &self.0 {
                Inner::Ed25519(k) => Zeroizing::new(k.to_bytes().to_vec()),
                Inner::Rsa(_) | Inner::P256(_) => self.to_pkcs8_der(),
            }
        }

        /// Reads what [`SigningKey::to_secret_bytes`] wrote for a key of `algorithm`:
        /// a 32-byte Ed25519 seed; a PKCS#8 DER RSA-2048 key; a PKCS#8 DER P-256 key
        /// (or its raw 32-byte scalar, what [`SigningKey::seed_bytes`] returns).
        /// Error [`FormatError::BadSigningKey`] when the bytes are not a key of
        /// that algorithm.
        pub fn from_secret_bytes(
            algorithm: KeyAlgorithm,
            bytes: &[u8],
        ) -> Result<Self, FormatError> {
            let key = match algorithm {
                KeyAlgorithm::Ed25519 => return Self::from_seed(bytes),
                KeyAlgorithm::EcdsaP256 if bytes.len() == 32 => {
                    let key = p256::ecdsa::SigningKey::from_slice(bytes)
                        .map_err(|_| FormatError::BadSigningKey("not a valid P-256 scalar"))?;
                    return Ok(SigningKey(Inner::P256(key)));
                }
                KeyAlgorithm::Rsa2048 | KeyAlgorithm::EcdsaP256 => Self::from_pkcs8_der(bytes)?,
            };
            if key.algorithm() != algorithm {
                return Err(FormatError::BadSigningKey(
                    "the secret is a key of another algorithm",
                ));
            }
            Ok(key)
        }

        /// Signs `message` with `alg`. Randomness is used for PSS salts and RSA
        /// blinding; Ed25519 and ECDSA (RFC 6979) are deterministic.
        pub(crate) fn sign(
            &self,
            alg: SigAlg,
            message: &[u8],
            rng: &mut impl rand_core::CryptoRngCore,
        ) -> Result<Vec<u8>, FormatError> {
            let wrong = || FormatError::AlgorithmMismatch {
                expected: format!("{:?} key", alg.key_algorithm()),
                found: format!("{:?} key", self.algorithm()),
            };
            match (&self.0, alg) {
                (Inner::Ed25519(k), SigAlg::Ed25519) => Ok(k.sign(message).to_bytes().to_vec()),
                (Inner::Rsa(k), SigAlg::RsaPss) => crate::rsa_ops::sign_pss(k, message, rng),
                (Inner::Rsa(k), SigAlg::RsaPkcs1) => crate::rsa_ops::sign_pkcs1(k, message, rng),
                (Inner::P256(k), SigAlg::EcdsaP256) => {
                    use p256::ecdsa::signature::Signer as _;
                    let sig: p256::ecdsa::Signature = k.sign(message);
                    Ok(sig.to_der().as_bytes().to_vec())
                }
                _ => Err(wrong()),
            }
        }

        /// The RSA key, if this is one.
        pub(crate) fn rsa(&self) -> Option<&RsaPrivateKey> {
            match &self.0 {
                Inner::Rsa(k) => Some(k),
                _ => None,
            }
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
