//! Checking a license key or file the way a customer's application would, and saying
//! so in one report (what `keywright verify` prints).

use jiff::Timestamp;
use keywright_license::{
    format_time, verify_key, Certificate, FileAlgorithm, FileKind, PublicKey, Scheme,
    ValidationCode, Verifier,
};
use serde::Serialize;

use crate::error::{Error, Result};

/// What to check.
#[derive(Debug, Clone, Default)]
pub struct VerifyRequest {
    /// A license or machine file's text.
    pub file: Option<String>,
    /// A signed license key.
    pub key: Option<String>,
    /// The public key: hex, PEM or base64 SPKI.
    pub public_key: String,
    /// The license key (decrypts encrypted files).
    pub license_key: Option<String>,
    /// The machine fingerprint: decrypts encrypted machine files, and a machine file
    /// must be this machine's (`FINGERPRINT_MISMATCH` otherwise).
    pub fingerprint: Option<String>,
    /// The key scheme to expect (`RSA_2048_PKCS1_SIGN_V2`...); absent = the public
    /// key's usual one (ED25519_SIGN, RSA_2048_PKCS1_PSS_SIGN_V2, ECDSA_P256_SIGN).
    pub scheme: Option<String>,
    /// The file algorithm to expect; absent = any of the public key's algorithms,
    /// encrypted exactly when a license key is given.
    pub algorithm: Option<String>,
}

/// `meta` of a file, as text.
#[derive(Debug, Clone, Serialize)]
pub struct FileMetaReport {
    /// When the file was issued.
    pub issued: String,
    /// When the file stops being valid; `None` = never.
    pub expiry: Option<String>,
    /// Its TTL in seconds.
    pub ttl: Option<i64>,
}

/// The outcome of a check.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifyReport {
    /// `VALID`, `SIGNATURE_INVALID`, `FILE_EXPIRED`...
    pub code: ValidationCode,
    /// What the code means.
    pub message: String,
    /// The precise reason when the artifact could not be read.
    pub detail: Option<String>,
    /// `license-file`, `machine-file` or `license-key`.
    pub artifact: &'static str,
    /// The file algorithm or key scheme.
    pub algorithm: String,
    /// Key id of the public key used.
    pub kid: String,
    /// The decoded payload (file) or dataset (key); JSON when it is JSON.
    pub payload: Option<serde_json::Value>,
    /// The file's validity window.
    pub meta: Option<FileMetaReport>,
}

impl VerifyReport {
    /// True when the code is `VALID`.
    pub fn is_valid(&self) -> bool {
        self.code == ValidationCode::Valid
    }
}

fn decoded(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(bytes).into_owned()))
}

/// Checks a file or key at `now`. Input that names nothing to check, or a public key
/// that cannot be read, is an error; anything about the artifact itself is a report.
/// A file is judged by the SDK's `Verifier::validate`, as `machine simulate` judges
/// its file: the signature, then the license's status and expiry, and the file's TTL
/// with its offline grace period.
pub fn verify(request: &VerifyRequest, now: Timestamp) -> Result<VerifyReport> {
    let public = PublicKey::parse(&request.public_key)
        .map_err(|e| Error::bad_input(format!("public key: {e}")))?;
    let kid = public.kid();
    match (&request.file, &request.key) {
        (Some(text), None) => Ok(verify_file(text, request, &public, kid, now)),
        (None, Some(key)) => {
            let scheme = match request.scheme.as_deref().map(str::trim) {
                None | Some("") => Scheme::default_for(public.algorithm()),
                Some(name) => name
                    .parse::<Scheme>()
                    .map_err(|e| Error::bad_input(format!("scheme {name:?}: {e}")))?,
            };
            let (code, detail, payload) = match verify_key(key.trim(), &public, scheme) {
                Ok(dataset) => (ValidationCode::Valid, None, Some(decoded(&dataset))),
                Err(e) => (e.code(), Some(e.to_string()), None),
            };
            Ok(VerifyReport {
                code,
                message: code.message().to_owned(),
                detail,
                artifact: "license-key",
                algorithm: scheme.as_str().to_owned(),
                kid,
                payload,
                meta: None,
            })
        }
        _ => Err(Error::bad_input(
            "give either a license file or a license key to verify",
        )),
    }
}

fn verify_file(
    text: &str,
    request: &VerifyRequest,
    public: &PublicKey,
    kid: String,
    now: Timestamp,
) -> VerifyReport {
    // The header says which kind of file it is. The algorithm is pinned by the caller
    // (`algorithm`), or else by the public key's family and by whether the caller holds
    // a license key (encrypted) or not: the file's own `alg` is only compared.
    let (kind, claimed) = match Certificate::parse(text) {
        Ok(c) => (c.kind, c.alg),
        Err(e) => {
            return VerifyReport {
                code: e.code(),
                message: e.code().message().to_owned(),
                detail: Some(e.to_string()),
                artifact: "license-file",
                algorithm: String::new(),
                kid,
                payload: None,
                meta: None,
            }
        }
    };
    let encrypted = request.license_key.is_some();
    let pinned = match request
        .algorithm
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty())
    {
        Some(name) => name.parse::<FileAlgorithm>().ok(),
        None => FileAlgorithm::ALL
            .iter()
            .copied()
            .find(|a| {
                a.as_str() == claimed
                    && a.key_algorithm() == public.algorithm()
                    && a.is_encrypted() == encrypted
            })
            .or_else(|| {
                // Nothing acceptable claimed: pin the key's usual one so the report
                // says what was expected.
                Some(FileAlgorithm::default_for(
                    Some(Scheme::default_for(public.algorithm())),
                    encrypted,
                ))
            }),
    };
    let Some(pinned) = pinned else {
        let code = ValidationCode::AlgorithmMismatch;
        return VerifyReport {
            code,
            message: code.message().to_owned(),
            detail: Some(format!(
                "{:?} is not a file algorithm",
                request.algorithm.as_deref().unwrap_or_default()
            )),
            artifact: "license-file",
            algorithm: claimed,
            kid,
            payload: None,
            meta: None,
        };
    };
    // The SDK's validation, the same the simulator reaches: the signature (with the
    // license key, and the fingerprint for machine files, decrypting), then status,
    // license expiry, and the file's TTL with the offline grace its included policy
    // grants; the fingerprint must be this machine's.
    let mut verifier = Verifier::pinned(public, pinned, now).kind(kind);
    if let Some(license_key) = request.license_key.as_deref() {
        verifier = verifier.license_key(license_key);
    }
    if let Some(fingerprint) = request.fingerprint.as_deref() {
        verifier = verifier.fingerprint(fingerprint);
    }
    let validation = verifier.validate(text);
    let code = validation.code;
    let message = validation.message;
    let mut detail = validation.error.as_ref().map(|e| e.to_string());
    if code == ValidationCode::AlgorithmMismatch
        && claimed.starts_with("aes-256-gcm+")
        && request.license_key.is_none()
    {
        detail = Some("the file is encrypted: pass the license key to decrypt it".to_owned());
    }
    let file = validation.file.as_ref();
    VerifyReport {
        code,
        message,
        detail,
        artifact: match kind {
            FileKind::Machine => "machine-file",
            _ => "license-file",
        },
        algorithm: claimed,
        kid,
        payload: file.map(|f| decoded(&f.payload)),
        meta: file.map(|f| FileMetaReport {
            issued: format_time(f.meta.issued),
            expiry: f.meta.expiry.map(format_time),
            ttl: f.meta.ttl,
        }),
    }
}
