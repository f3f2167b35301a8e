//! Keygen's signed license keys.
//!
//! - `ED25519_SIGN`, `RSA_2048_PKCS1_PSS_SIGN_V2`, `RSA_2048_PKCS1_SIGN_V2`,
//!   `ECDSA_P256_SIGN`: `key/` + base64url(dataset) + `.` + base64url(signature), both
//!   padded, the signature covering the exact `key/…` text.
//! - Legacy `RSA_2048_PKCS1_PSS_SIGN`, `RSA_2048_PKCS1_SIGN`: base64url(dataset) + `.`
//!   + base64url(signature over the raw dataset bytes), no prefix.
//! - `RSA_2048_PKCS1_ENCRYPT`: base64url of the PKCS#1 v1.5 type-1 private-key
//!   "encryption" of the dataset (at most 245 bytes).

use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine as _;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::error::{check_size, FormatError};
use crate::keys::{PublicKey, MAX_KEY_TEXT};
use crate::kinds::{Scheme, SigAlg};

/// Prefix of every V2 signed key; the signature covers it.
const KEY_PREFIX: &str = "key/";

/// Largest dataset `RSA_2048_PKCS1_ENCRYPT` holds: 256 - 11 bytes of padding.
#[cfg(feature = "sign")]
pub const MAX_ENCRYPT_DATASET: usize = 245;

/// How a scheme lays out the key text.
enum Layout {
    /// `key/<b64url dataset>.<b64url sig over the key/… text>`.
    Prefixed(SigAlg),
    /// `<b64url dataset>.<b64url sig over the raw dataset>`.
    Legacy(SigAlg),
    /// `<b64url type-1 block>`.
    Encrypted,
    /// `<b64url header>.<b64url claims>.<b64url RS256 sig>`, unpadded.
    Jwt,
}

/// The only JWT header Keygen writes.
#[cfg(feature = "sign")]
const JWT_HEADER: &str = r#"{"alg":"RS256"}"#;

/// The layout of `scheme`'s keys.
fn layout(scheme: Scheme) -> Layout {
    match scheme {
        Scheme::Ed25519Sign => Layout::Prefixed(SigAlg::Ed25519),
        Scheme::RsaPssSignV2 => Layout::Prefixed(SigAlg::RsaPss),
        Scheme::RsaSignV2 => Layout::Prefixed(SigAlg::RsaPkcs1),
        Scheme::EcdsaP256Sign => Layout::Prefixed(SigAlg::EcdsaP256),
        Scheme::RsaPssSign => Layout::Legacy(SigAlg::RsaPss),
        Scheme::RsaSign => Layout::Legacy(SigAlg::RsaPkcs1),
        Scheme::RsaEncrypt => Layout::Encrypted,
        Scheme::RsaJwtRs256 => Layout::Jwt,
    }
}

/// Signs `dataset` into a license key with `scheme`, byte for byte as Keygen does.
///
/// Errors: [`FormatError::AlgorithmMismatch`] when `key` cannot sign `scheme`;
/// [`FormatError::TooLarge`] for an `RSA_2048_PKCS1_ENCRYPT` dataset over
/// [`MAX_ENCRYPT_DATASET`] bytes.
#[cfg(feature = "sign")]
pub fn sign_key(
    scheme: Scheme,
    dataset: &[u8],
    key: &crate::keys::SigningKey,
    rng: &mut impl rand_core::CryptoRngCore,
) -> Result<String, FormatError> {
    if key.algorithm() != scheme.key_algorithm() {
        return Err(FormatError::AlgorithmMismatch {
            expected: scheme.as_str().to_owned(),
            found: format!("{:?} key", key.algorithm()),
        });
    }
    check_size(dataset.len(), MAX_KEY_TEXT)?;
    match layout(scheme) {
        Layout::Prefixed(alg) => {
            let mut out = String::from(KEY_PREFIX);
            URL_SAFE.encode_string(dataset, &mut out);
            let sig = key.sign(alg, out.as_bytes(), rng)?;
            out.push('.');
            URL_SAFE.encode_string(sig, &mut out);
            Ok(out)
        }
        Layout::Legacy(alg) => {
            let sig = key.sign(alg, dataset, rng)?;
            Ok(format!(
                "{}.{}",
                URL_SAFE.encode(dataset),
                URL_SAFE.encode(sig)
            ))
        }
        Layout::Encrypted => {
            check_size(dataset.len(), MAX_ENCRYPT_DATASET)?;
            let rsa = key
                .rsa()
                .ok_or(FormatError::BadSigningKey("not an RSA key"))?;
            let block = crate::rsa_ops::private_encrypt_type1(rsa, dataset, rng)?;
            Ok(URL_SAFE.encode(block))
        }
        Layout::Jwt => {
            let mut out = URL_SAFE_NO_PAD.encode(JWT_HEADER);
            out.push('.');
            URL_SAFE_NO_PAD.encode_string(dataset, &mut out);
            let sig = key.sign(SigAlg::RsaPkcs1, out.as_bytes(), rng)?;
            out.push('.');
            URL_SAFE_NO_PAD.encode_string(sig, &mut out);
            Ok(out)
        }
    }
}

/// Verifies a license key made with `scheme` by `public` and returns its dataset
/// bytes: the one-key entry point ([`TrustedKeys::verify_key`](crate::TrustedKeys::verify_key)
/// is the one for several keys).
///
/// The scheme is pinned by the caller, as a file's algorithm is
/// ([`Scheme::default_for`] names Keygen's usual one for the key). Errors:
/// [`FormatError::AlgorithmMismatch`] when `public` cannot verify `scheme`,
/// [`FormatError::SignatureInvalid`] when the signature does not verify, and one
/// error per layout rule. Surrounding whitespace is ignored (pasted keys often end in
/// a newline); inside, the key must be exactly the scheme's layout with canonical
/// padding.
pub fn verify_key(
    key_text: &str,
    public: &PublicKey,
    scheme: Scheme,
) -> Result<Vec<u8>, FormatError> {
    check_size(key_text.len(), MAX_KEY_TEXT)?;
    if public.algorithm() != scheme.key_algorithm() {
        return Err(FormatError::AlgorithmMismatch {
            expected: scheme.as_str().to_owned(),
            found: format!("{:?} key", public.algorithm()),
        });
    }
    let key_text = key_text.trim();
    match layout(scheme) {
        Layout::Prefixed(alg) => {
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
            public.verify_sig(alg, signed.as_bytes(), &sig)?;
            URL_SAFE.decode(data_b64).map_err(|_| FormatError::Base64 {
                field: "key dataset",
            })
        }
        Layout::Legacy(alg) => {
            let (data_b64, sig_b64) = key_text
                .split_once('.')
                .ok_or(FormatError::MalformedKey("no `.` before the signature"))?;
            if sig_b64.contains('.') {
                return Err(FormatError::MalformedKey("more than one `.`"));
            }
            let sig = URL_SAFE.decode(sig_b64).map_err(|_| FormatError::Base64 {
                field: "key signature",
            })?;
            // The signature covers the raw dataset, so it must be decoded first.
            let dataset = URL_SAFE.decode(data_b64).map_err(|_| FormatError::Base64 {
                field: "key dataset",
            })?;
            public.verify_sig(alg, &dataset, &sig)?;
            Ok(dataset)
        }
        Layout::Encrypted => {
            if key_text.contains('.') {
                return Err(FormatError::MalformedKey(
                    "an encrypted key has no `.` separator",
                ));
            }
            let block = URL_SAFE.decode(key_text).map_err(|_| FormatError::Base64 {
                field: "encrypted key",
            })?;
            let rsa = public.rsa().ok_or(FormatError::SignatureInvalid)?;
            crate::rsa_ops::public_decrypt_type1(rsa, &block)
        }
        Layout::Jwt => {
            let mut parts = key_text.split('.');
            let (Some(header), Some(claims), Some(sig), None) =
                (parts.next(), parts.next(), parts.next(), parts.next())
            else {
                return Err(FormatError::MalformedKey(
                    "a JWT has three `.`-separated parts",
                ));
            };
            let header_json = URL_SAFE_NO_PAD
                .decode(header)
                .map_err(|_| FormatError::Base64 {
                    field: "JWT header",
                })?;
            // Only RS256: `none`, HS256 and the like are never accepted.
            let header_value: serde_json::Value = serde_json::from_slice(&header_json)
                .map_err(|e| FormatError::Json(e.to_string()))?;
            if header_value.get("alg").and_then(serde_json::Value::as_str) != Some("RS256") {
                return Err(FormatError::AlgorithmMismatch {
                    expected: "RS256".to_owned(),
                    found: header_value
                        .get("alg")
                        .map(|v| v.to_string().chars().take(64).collect())
                        .unwrap_or_else(|| "no alg".to_owned()),
                });
            }
            let sig = URL_SAFE_NO_PAD
                .decode(sig)
                .map_err(|_| FormatError::Base64 {
                    field: "key signature",
                })?;
            let signed = &key_text[..header.len() + 1 + claims.len()];
            public.verify_sig(SigAlg::RsaPkcs1, signed.as_bytes(), &sig)?;
            URL_SAFE_NO_PAD
                .decode(claims)
                .map_err(|_| FormatError::Base64 {
                    field: "JWT claims",
                })
        }
    }
}

/// Keygen's default `RSA_2048_JWT_RS256` claims, serialized in Keygen's order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JwtClaims {
    /// A unique id for the token (a UUID).
    pub jti: String,
    /// The issuer: `https://keygen.sh` for Keygen.
    pub iss: String,
    /// The account id.
    pub aud: String,
    /// The license id.
    pub sub: String,
    /// License creation time, Unix seconds.
    pub iat: i64,
    /// Same as `iat`.
    pub nbf: i64,
    /// License expiry, Unix seconds; omitted when the license does not expire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
}

impl JwtClaims {
    /// Keygen's issuer claim.
    pub const KEYGEN_ISSUER: &'static str = "https://keygen.sh";

    /// Keygen's default claims for a license: `iss` is Keygen's, `iat` and `nbf`
    /// are the license's creation time, `exp` its expiry (if any).
    pub fn for_license(jti: &str, account_id: &str, license: &LicenseRef) -> Self {
        JwtClaims {
            jti: jti.to_owned(),
            iss: Self::KEYGEN_ISSUER.to_owned(),
            aud: account_id.to_owned(),
            sub: license.id.clone(),
            iat: license.created.as_second(),
            nbf: license.created.as_second(),
            exp: license.expiry.map(|t| t.as_second()),
        }
    }

    /// Compact JSON, as the JWT's claims.
    pub fn to_json(&self) -> Vec<u8> {
        // Strings and integers only: serializing cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Reads claims (e.g. what [`verify_key`] returned for a JWT).
    pub fn from_json(bytes: &[u8]) -> Result<Self, FormatError> {
        serde_json::from_slice(bytes).map_err(|e| FormatError::Json(e.to_string()))
    }
}

/// Keygen's default dataset for `RSA_2048_PKCS1_ENCRYPT`, small enough for the
/// scheme's 245-byte limit: `{"id","created","expiry","duration"}` in that order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EncryptDataset {
    /// License id.
    pub id: String,
    /// Creation time, written as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
    #[serde(with = "crate::time::serde_keygen")]
    pub created: Timestamp,
    /// License expiry, `null` when it never expires.
    #[serde(with = "crate::time::serde_keygen_opt")]
    pub expiry: Option<Timestamp>,
    /// Policy duration in seconds, `null` when licenses never expire.
    pub duration: Option<i64>,
}

impl EncryptDataset {
    /// Compact JSON, as Keygen embeds it.
    pub fn to_json(&self) -> Vec<u8> {
        // Strings, integers and nulls only: serializing cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }
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
    fn malformed_keys() {
        let pk =
            PublicKey::from_hex("e8601e48b69383ba520245fd07971e983d06d22c4257cfd82304601479cee788")
                .unwrap();
        let verify_key = |text: &str, pk: &PublicKey| verify_key(text, pk, Scheme::Ed25519Sign);
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
