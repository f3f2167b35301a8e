//! Checking a license key or file the way a customer's application would, and saying
//! so in one report (what `keywright verify` prints).

use jiff::Timestamp;
use keywright_license::{
    verify_key, verify_license_file, verify_machine_file, Certificate, EncryptionSecret,
    FileAlgorithm, FileKind, PublicKey, ValidationCode,
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
    /// The machine fingerprint (decrypts encrypted machine files).
    pub fingerprint: Option<String>,
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
pub fn verify(request: &VerifyRequest, now: Timestamp) -> Result<VerifyReport> {
    let public = PublicKey::parse(&request.public_key)
        .map_err(|e| Error::bad_input(format!("public key: {e}")))?;
    let kid = public.kid();
    match (&request.file, &request.key) {
        (Some(text), None) => Ok(verify_file(text, request, &public, kid, now)),
        (None, Some(key)) => {
            let (code, detail, payload) = match verify_key(key.trim(), &public) {
                Ok(dataset) => (ValidationCode::Valid, None, Some(decoded(&dataset))),
                Err(e) => (e.code(), Some(e.to_string()), None),
            };
            Ok(VerifyReport {
                code,
                message: code.message().to_owned(),
                detail,
                artifact: "license-key",
                algorithm: "ED25519_SIGN".to_owned(),
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
    // The header says which kind of file it is; the algorithm we accept is pinned by the
    // key (Ed25519 → `+ed25519`), and whether it is encrypted by the caller's license key.
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
    let pinned = if request.license_key.is_some() {
        FileAlgorithm::Aes256GcmEd25519
    } else {
        FileAlgorithm::Base64Ed25519
    };
    let secret =
        request
            .license_key
            .as_deref()
            .map(|k| match (kind, request.fingerprint.as_deref()) {
                (FileKind::Machine, Some(fp)) => EncryptionSecret::for_machine(k, fp),
                _ => EncryptionSecret::for_license(k),
            });
    let verification = match kind {
        FileKind::License => verify_license_file(text, public, pinned, secret.as_ref(), now),
        FileKind::Machine => verify_machine_file(text, public, pinned, secret.as_ref(), now),
    };
    let mut detail = verification.error.as_ref().map(|e| e.to_string());
    if verification.code == ValidationCode::AlgorithmMismatch
        && claimed == FileAlgorithm::Aes256GcmEd25519.as_str()
        && request.license_key.is_none()
    {
        detail = Some("the file is encrypted: pass the license key to decrypt it".to_owned());
    }
    let file = verification.file.as_ref();
    VerifyReport {
        code: verification.code,
        message: verification.code.message().to_owned(),
        detail,
        artifact: match kind {
            FileKind::License => "license-file",
            FileKind::Machine => "machine-file",
        },
        algorithm: claimed,
        kid,
        payload: file.map(|f| decoded(&f.payload)),
        meta: file.map(|f| FileMetaReport {
            issued: keywright_license::format_time(f.meta.issued),
            expiry: f.meta.expiry.map(keywright_license::format_time),
            ttl: f.meta.ttl,
        }),
    }
}
