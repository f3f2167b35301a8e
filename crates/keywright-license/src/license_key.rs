//! Keygen's signed license keys (`ED25519_SIGN`): `key/<dataset>.<signature>`.

use std::fmt;
use std::str::FromStr;

use base64::engine::general_purpose::URL_SAFE;
use base64::Engine as _;
use jiff::Timestamp;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{check_size, FormatError};
use crate::keys::{KeyAlgorithm, PublicKey, MAX_KEY_TEXT};

/// Prefix of every V2 signed key; the signature covers it.
const KEY_PREFIX: &str = "key/";

/// A Keygen license key signing scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Scheme {
    /// `ED25519_SIGN`: Ed25519 over `key/` + base64url(dataset).
    Ed25519Sign,
}

/// Keygen schemes recognised by name but not implemented yet.
const UNSUPPORTED_SCHEMES: [&str; 7] = [
    "RSA_2048_PKCS1_PSS_SIGN_V2",
    "RSA_2048_PKCS1_SIGN_V2",
    "RSA_2048_PKCS1_PSS_SIGN",
    "RSA_2048_PKCS1_SIGN",
    "RSA_2048_PKCS1_ENCRYPT",
    "RSA_2048_JWT_RS256",
    "ECDSA_P256_SIGN",
];

impl Scheme {
    /// Keygen's name for the scheme, e.g. `ED25519_SIGN`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Ed25519Sign => "ED25519_SIGN",
        }
    }

    /// The key algorithm that verifies this scheme.
    pub fn key_algorithm(self) -> KeyAlgorithm {
        match self {
            Scheme::Ed25519Sign => KeyAlgorithm::Ed25519,
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Scheme {
    type Err = FormatError;

    fn from_str(s: &str) -> Result<Self, FormatError> {
        match s {
            "ED25519_SIGN" => Ok(Scheme::Ed25519Sign),
            s if UNSUPPORTED_SCHEMES.contains(&s) => Err(FormatError::Unsupported(s.to_owned())),
            s => Err(FormatError::UnknownAlgorithm(s.chars().take(64).collect())),
        }
    }
}

impl Serialize for Scheme {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Scheme {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Signs `dataset` into an `ED25519_SIGN` license key:
/// `key/` + base64url(dataset) + `.` + base64url(signature), both padded, the
/// signature covering the exact `key/…` text.
#[cfg(feature = "sign")]
pub fn sign_key(dataset: &[u8], key: &crate::keys::SigningKey) -> String {
    let mut out = String::from(KEY_PREFIX);
    URL_SAFE.encode_string(dataset, &mut out);
    let sig = key.sign_ed25519(out.as_bytes());
    out.push('.');
    URL_SAFE.encode_string(sig, &mut out);
    out
}

/// Verifies an `ED25519_SIGN` license key and returns its dataset bytes.
///
/// Surrounding whitespace is ignored (pasted keys often end in a newline); inside,
/// the key must be exactly `key/<base64url>.<base64url>` with canonical padding.
pub fn verify_key(key_text: &str, public: &PublicKey) -> Result<Vec<u8>, FormatError> {
    check_size(key_text.len(), MAX_KEY_TEXT)?;
    if public.algorithm() != Scheme::Ed25519Sign.key_algorithm() {
        return Err(FormatError::AlgorithmMismatch {
            expected: Scheme::Ed25519Sign.as_str().to_owned(),
            found: format!("{:?} key", public.algorithm()),
        });
    }
    let key_text = key_text.trim();
    let (signed, sig_b64) = key_text
        .rsplit_once('.')
        .ok_or(FormatError::MalformedKey("no `.` before the signature"))?;
    let data_b64 = signed
        .strip_prefix(KEY_PREFIX)
        .ok_or(FormatError::MalformedKey("does not start with `key/`"))?;
    if data_b64.contains('.') {
        return Err(FormatError::MalformedKey("more than one `.`"));
    }
    let sig = URL_SAFE.decode(sig_b64).map_err(|_| FormatError::Base64 {
        field: "key signature",
    })?;
    // Signature first: nothing of the dataset is decoded before it is authenticated.
    public.verify_ed25519(signed.as_bytes(), &sig)?;
    URL_SAFE.decode(data_b64).map_err(|_| FormatError::Base64 {
        field: "key dataset",
    })
}

/// `{"id":…}` in a key dataset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdRef {
    /// The resource id (a UUID in Keygen).
    pub id: String,
}

/// The policy part of a key dataset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyRef {
    /// Policy id.
    pub id: String,
    /// Policy duration in seconds; `null` when licenses never expire.
    pub duration: Option<i64>,
}

/// The user part of a key dataset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRef {
    /// User id.
    pub id: String,
    /// User email.
    pub email: String,
}

/// The license part of a key dataset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LicenseRef {
    /// License id.
    pub id: String,
    /// Creation time, written as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
    #[serde(with = "crate::time::serde_keygen")]
    pub created: Timestamp,
    /// License expiry, `null` when it never expires.
    #[serde(with = "crate::time::serde_keygen_opt")]
    pub expiry: Option<Timestamp>,
}

/// Keygen's default signed-key dataset, fields in Keygen's order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyDataset {
    /// The account.
    pub account: IdRef,
    /// The product.
    pub product: IdRef,
    /// The policy and its duration.
    pub policy: PolicyRef,
    /// The license's user, if any.
    pub user: Option<UserRef>,
    /// The license.
    pub license: LicenseRef,
}

impl KeyDataset {
    /// Compact JSON, byte-identical to the dataset Keygen embeds.
    pub fn to_json(&self) -> Vec<u8> {
        // Only strings, integers and nulls: serializing cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Reads a dataset (e.g. what [`verify_key`] returned).
    pub fn from_json(bytes: &[u8]) -> Result<Self, FormatError> {
        serde_json::from_slice(bytes).map_err(|e| FormatError::Json(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheme_names() {
        assert_eq!("ED25519_SIGN".parse::<Scheme>(), Ok(Scheme::Ed25519Sign));
        assert_eq!(Scheme::Ed25519Sign.as_str(), "ED25519_SIGN");
        assert!(matches!(
            "RSA_2048_PKCS1_PSS_SIGN_V2".parse::<Scheme>(),
            Err(FormatError::Unsupported(_))
        ));
        assert!(matches!(
            "ed25519_sign".parse::<Scheme>(),
            Err(FormatError::UnknownAlgorithm(_))
        ));
    }

    #[test]
    fn malformed_keys() {
        let pk =
            PublicKey::from_hex("e8601e48b69383ba520245fd07971e983d06d22c4257cfd82304601479cee788")
                .unwrap();
        assert!(matches!(
            verify_key("abc", &pk),
            Err(FormatError::MalformedKey(_))
        ));
        assert!(matches!(
            verify_key("lic/eyJ9.AA==", &pk),
            Err(FormatError::MalformedKey(_))
        ));
        assert!(matches!(
            verify_key("key/a.b.c", &pk),
            Err(FormatError::MalformedKey(_))
        ));
        assert!(matches!(
            verify_key("key/eyJ9.!!", &pk),
            Err(FormatError::Base64 { .. })
        ));
        assert_eq!(
            verify_key("key/eyJ9.AAAA", &pk),
            Err(FormatError::SignatureInvalid)
        );
    }
}
