//! Air-gapped activation: the text files a customer's application writes and the
//! vendor imports.
//!
//! - [`ActivationRequest`]: "this license key wants to run on this machine". The
//!   vendor imports it and answers with a machine file (Keygen's `MACHINE FILE`,
//!   encrypted with the license key and the fingerprint).
//! - [`DeactivationReceipt`]: "this machine has stopped using this license". The
//!   vendor imports it to free the seat.
//!
//! Both are armored so they survive email and copy-paste:
//!
//! ```text
//! -----BEGIN ACTIVATION REQUEST-----
//! <standard base64 of compact JSON, wrapped at 64 columns>
//! Checksum: <first 8 bytes of SHA-256 of the base64 text (no line breaks), hex>
//! -----END ACTIVATION REQUEST-----
//! ```
//!
//! with one trailing LF. The checksum is checked before the base64 is decoded, so a
//! mistyped character is reported as a typo, not as bad JSON. It is **not** a
//! signature: anyone can write these files.
//!
//! Nothing here needs randomness or a clock: the caller passes the nonce bytes and
//! "now". In the application, fill the nonce from the OS, e.g. with
//! `getrandom::fill(&mut nonce)` or `rand_core::OsRng.fill_bytes(&mut nonce)`
//! (16 bytes). Both types can be written by the verify-only build
//! (`default-features = false`).
//!
//! ```
//! use keywright_license::activation::ActivationRequest;
//! use keywright_license::parse_time;
//!
//! let nonce = [7u8; 16]; // from the OS random number generator in real code
//! let now = parse_time("2026-11-23T10:00:00.000Z")?;
//! let mut request = ActivationRequest::new("key/AAAA.BBBB", "3f1c…fingerprint", nonce, now);
//! request.hostname = Some("lab-pc-07".into());
//! let text = request.to_text();
//! assert!(text.starts_with("-----BEGIN ACTIVATION REQUEST-----\n"));
//! assert_eq!(ActivationRequest::parse(&text).unwrap(), request);
//! # Ok::<(), keywright_license::FormatError>(())
//! ```

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use jiff::Timestamp;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::time::{format_time, parse_time, truncate_to_millis};

/// Largest activation request or deactivation receipt accepted (64 KiB), checked
/// before anything else.
pub const MAX_ACTIVATION_TEXT: usize = 64 * 1024;

/// The format version these types write and the only one they read.
pub const ACTIVATION_VERSION: u64 = 1;

/// Bytes of nonce the writer takes (written as 32 lowercase hex digits).
pub const NONCE_LEN: usize = 16;

/// Longest license key accepted, in bytes.
pub const MAX_LICENSE_KEY: usize = 8 * 1024;

/// Longest fingerprint, hostname, platform, user or version accepted, in bytes
/// (Keygen limits fingerprints to 255 characters).
pub const MAX_FIELD: usize = 255;

const LINE_WIDTH: usize = 64;
const CHECKSUM_PREFIX: &str = "Checksum: ";
const REQUEST_LABEL: &str = "ACTIVATION REQUEST";
const RECEIPT_LABEL: &str = "DEACTIVATION RECEIPT";

/// Why an activation request or deactivation receipt was rejected: one variant per
/// rule, in the order they are checked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ActivationError {
    /// Larger than [`MAX_ACTIVATION_TEXT`]; nothing was read.
    #[error("the text is larger than the {max}-byte limit")]
    TooLarge {
        /// The limit, in bytes.
        max: usize,
    },
    /// No `-----BEGIN ACTIVATION REQUEST-----` (or `DEACTIVATION RECEIPT`) line.
    #[error("the -----BEGIN {0}----- line is missing")]
    MissingHeader(&'static str),
    /// Another armored kind was given (a receipt where a request was expected...).
    #[error("expected an {expected}, found {found}")]
    WrongKind {
        /// What the caller asked for.
        expected: &'static str,
        /// The label of the header found.
        found: String,
    },
    /// No matching `-----END …-----` line, or text after it.
    #[error("the -----END {0}----- line is missing (was the text cut off?)")]
    MissingFooter(&'static str),
    /// No `Checksum:` line before the footer.
    #[error("the Checksum: line is missing")]
    MissingChecksum,
    /// The checksum does not match the text: a character was changed, added or lost.
    #[error("the checksum does not match: the text was mistyped or altered")]
    ChecksumMismatch,
    /// The body is not standard base64.
    #[error("the body is not valid base64")]
    Base64,
    /// The decoded body is not a JSON object.
    #[error("invalid JSON: {0}")]
    Json(String),
    /// A required field is absent or has the wrong type.
    #[error("missing or mistyped field `{0}`")]
    MissingField(&'static str),
    /// A field is present but its value is not acceptable (empty, too long, bad time).
    #[error("invalid value for `{0}`")]
    InvalidField(&'static str),
    /// A version this code does not read.
    #[error("version {0} is not supported (this version reads version 1)")]
    UnsupportedVersion(u64),
}

/// What a customer's application asks for: this license on this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivationRequest {
    /// The license key, exactly as the customer entered it.
    pub license_key: String,
    /// The machine fingerprint (e.g. `machine_fingerprint`, feature `fingerprint`).
    pub fingerprint: String,
    /// The machine's host name.
    pub hostname: Option<String>,
    /// The platform, e.g. `linux-x86_64`.
    pub platform: Option<String>,
    /// The OS user who made the request.
    pub os_user: Option<String>,
    /// The application's version.
    pub app_version: Option<String>,
    /// Random bytes from the caller, hex: tells two requests apart and lets the
    /// vendor see a request imported twice.
    pub nonce: String,
    /// When the request was made (milliseconds).
    pub timestamp: Timestamp,
}

impl ActivationRequest {
    /// A request with no optional details; `nonce` should come from the OS
    /// random number generator.
    pub fn new(
        license_key: impl Into<String>,
        fingerprint: impl Into<String>,
        nonce: [u8; NONCE_LEN],
        now: Timestamp,
    ) -> Self {
        ActivationRequest {
            license_key: license_key.into(),
            fingerprint: fingerprint.into(),
            hostname: None,
            platform: None,
            os_user: None,
            app_version: None,
            nonce: hex::encode(nonce),
            timestamp: truncate_to_millis(now),
        }
    }

    /// The armored text: header, base64 of compact JSON at 64 columns, checksum
    /// line, footer, one LF.
    pub fn to_text(&self) -> String {
        let mut obj = Map::new();
        obj.insert("version".into(), ACTIVATION_VERSION.into());
        obj.insert("licenseKey".into(), self.license_key.clone().into());
        obj.insert("fingerprint".into(), self.fingerprint.clone().into());
        obj.insert("hostname".into(), self.hostname.clone().into());
        obj.insert("platform".into(), self.platform.clone().into());
        obj.insert("osUser".into(), self.os_user.clone().into());
        obj.insert("appVersion".into(), self.app_version.clone().into());
        obj.insert("nonce".into(), self.nonce.clone().into());
        obj.insert("timestamp".into(), format_time(self.timestamp).into());
        armor(REQUEST_LABEL, &Value::Object(obj))
    }

    /// Reads an armored request; every rule has its own [`ActivationError`].
    pub fn parse(text: &str) -> Result<Self, ActivationError> {
        let obj = dearmor(text, REQUEST_LABEL)?;
        let fields = Fields(&obj);
        Ok(ActivationRequest {
            license_key: fields.required("licenseKey", MAX_LICENSE_KEY)?,
            fingerprint: fields.required("fingerprint", MAX_FIELD)?,
            hostname: fields.optional("hostname")?,
            platform: fields.optional("platform")?,
            os_user: fields.optional("osUser")?,
            app_version: fields.optional("appVersion")?,
            nonce: fields.nonce()?,
            timestamp: fields.timestamp()?,
        })
    }
}

/// A machine's statement that it stopped using a license.
///
/// **What it proves offline: nothing cryptographic.** It is not signed (the
/// application holds no private key), so anyone who knows the license key and
/// fingerprint can write one, and the customer can keep a copy of the software
/// running after sending it. It is the customer's statement, recorded as such.
/// What bounds the risk is the machine file's TTL: a machine file that is not
/// renewed stops validating when its `meta.expiry` passes, so a short TTL limits how
/// long a "deactivated" machine can keep running on its old file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeactivationReceipt {
    /// The license key.
    pub license_key: String,
    /// The fingerprint of the machine that stopped.
    pub fingerprint: String,
    /// Random bytes from the caller, hex.
    pub nonce: String,
    /// When the application deactivated itself (milliseconds).
    pub timestamp: Timestamp,
}

impl DeactivationReceipt {
    /// A receipt; `nonce` should come from the OS random number generator.
    pub fn new(
        license_key: impl Into<String>,
        fingerprint: impl Into<String>,
        nonce: [u8; NONCE_LEN],
        now: Timestamp,
    ) -> Self {
        DeactivationReceipt {
            license_key: license_key.into(),
            fingerprint: fingerprint.into(),
            nonce: hex::encode(nonce),
            timestamp: truncate_to_millis(now),
        }
    }

    /// The armored text (`-----BEGIN DEACTIVATION RECEIPT-----`), laid out as
    /// [`ActivationRequest::to_text`].
    pub fn to_text(&self) -> String {
        let mut obj = Map::new();
        obj.insert("version".into(), ACTIVATION_VERSION.into());
        obj.insert("licenseKey".into(), self.license_key.clone().into());
        obj.insert("fingerprint".into(), self.fingerprint.clone().into());
        obj.insert("nonce".into(), self.nonce.clone().into());
        obj.insert("timestamp".into(), format_time(self.timestamp).into());
        armor(RECEIPT_LABEL, &Value::Object(obj))
    }

    /// Reads an armored receipt; every rule has its own [`ActivationError`].
    pub fn parse(text: &str) -> Result<Self, ActivationError> {
        let obj = dearmor(text, RECEIPT_LABEL)?;
        let fields = Fields(&obj);
        Ok(DeactivationReceipt {
            license_key: fields.required("licenseKey", MAX_LICENSE_KEY)?,
            fingerprint: fields.required("fingerprint", MAX_FIELD)?,
            nonce: fields.nonce()?,
            timestamp: fields.timestamp()?,
        })
    }
}

/// SHA-256 of the base64 text, first 8 bytes, hex.
fn checksum(body: &str) -> String {
    hex::encode(&Sha256::digest(body.as_bytes())[..8])
}

fn armor(label: &str, json: &Value) -> String {
    // A map of strings, numbers and nulls: serializing cannot fail.
    let body = STANDARD.encode(serde_json::to_vec(json).unwrap_or_default());
    let mut out = String::with_capacity(body.len() + body.len() / LINE_WIDTH + 128);
    out.push_str(&format!("-----BEGIN {label}-----\n"));
    let mut rest = body.as_str();
    while !rest.is_empty() {
        // base64 is ASCII: any index is a char boundary.
        let (line, tail) = rest.split_at(rest.len().min(LINE_WIDTH));
        out.push_str(line);
        out.push('\n');
        rest = tail;
    }
    out.push_str(CHECKSUM_PREFIX);
    out.push_str(&checksum(&body));
    out.push('\n');
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// Checks size, header, footer and checksum, then decodes the JSON object and its
/// version.
fn dearmor(text: &str, label: &'static str) -> Result<Map<String, Value>, ActivationError> {
    if text.len() > MAX_ACTIVATION_TEXT {
        return Err(ActivationError::TooLarge {
            max: MAX_ACTIVATION_TEXT,
        });
    }
    // Mail clients and copy-paste re-wrap, indent, add CRs or join the lines; base64
    // and the checksum carry no whitespace, so the armor is read with all of it removed.
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let squash = |s: &str| s.replace(' ', "");
    let begin = format!("-----BEGIN{}-----", squash(label));
    let Some(rest) = compact.strip_prefix(&begin) else {
        let found = compact
            .strip_prefix("-----BEGIN")
            .and_then(|after| after.find("-----").map(|end| &after[..end]));
        return match found {
            Some(found) => Err(ActivationError::WrongKind {
                expected: label,
                found: [REQUEST_LABEL, RECEIPT_LABEL]
                    .into_iter()
                    .find(|l| squash(l) == found)
                    .map(str::to_owned)
                    .unwrap_or_else(|| found.chars().take(64).collect()),
            }),
            None => Err(ActivationError::MissingHeader(label)),
        };
    };
    let end = format!("-----END{}-----", squash(label));
    // Nothing may follow the footer, and no other armor line may sit inside.
    let inner = rest
        .strip_suffix(&end)
        .filter(|inner| !inner.contains("-----"))
        .ok_or(ActivationError::MissingFooter(label))?;
    // `:` is not a base64 character, so the last label is the checksum's.
    let (body, check) = match inner.rfind(CHECKSUM_PREFIX.trim_end()) {
        Some(at) => (
            &inner[..at],
            Some(&inner[at + CHECKSUM_PREFIX.trim_end().len()..]),
        ),
        None => (inner, None),
    };
    let check = check.ok_or(ActivationError::MissingChecksum)?;
    if !check.eq_ignore_ascii_case(&checksum(body)) {
        return Err(ActivationError::ChecksumMismatch);
    }
    let json = STANDARD.decode(body).map_err(|_| ActivationError::Base64)?;
    let value: Value =
        serde_json::from_slice(&json).map_err(|e| ActivationError::Json(e.to_string()))?;
    let Value::Object(obj) = value else {
        return Err(ActivationError::Json("not a JSON object".into()));
    };
    let version = obj
        .get("version")
        .and_then(Value::as_u64)
        .ok_or(ActivationError::MissingField("version"))?;
    if version != ACTIVATION_VERSION {
        return Err(ActivationError::UnsupportedVersion(version));
    }
    Ok(obj)
}

struct Fields<'a>(&'a Map<String, Value>);

impl Fields<'_> {
    fn required(&self, name: &'static str, max: usize) -> Result<String, ActivationError> {
        let s = self
            .0
            .get(name)
            .and_then(Value::as_str)
            .ok_or(ActivationError::MissingField(name))?;
        if s.trim().is_empty() || s.len() > max || s.chars().any(char::is_control) {
            return Err(ActivationError::InvalidField(name));
        }
        Ok(s.to_owned())
    }

    fn optional(&self, name: &'static str) -> Result<Option<String>, ActivationError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.len() > MAX_FIELD || s.chars().any(char::is_control) => {
                Err(ActivationError::InvalidField(name))
            }
            Some(Value::String(s)) => Ok(Some(s.clone()).filter(|s| !s.trim().is_empty())),
            Some(_) => Err(ActivationError::MissingField(name)),
        }
    }

    fn nonce(&self) -> Result<String, ActivationError> {
        let s = self
            .0
            .get("nonce")
            .and_then(Value::as_str)
            .ok_or(ActivationError::MissingField("nonce"))?;
        let ok = s.len() == NONCE_LEN * 2
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !ok {
            return Err(ActivationError::InvalidField("nonce"));
        }
        Ok(s.to_owned())
    }

    fn timestamp(&self) -> Result<Timestamp, ActivationError> {
        let s = self
            .0
            .get("timestamp")
            .and_then(Value::as_str)
            .ok_or(ActivationError::MissingField("timestamp"))?;
        // Milliseconds, as written: what parses re-serializes to the same value.
        parse_time(s)
            .map(truncate_to_millis)
            .map_err(|_| ActivationError::InvalidField("timestamp"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> ActivationRequest {
        let mut r = ActivationRequest::new(
            "key/eyJhIjoxfQ==.c2ln",
            "af249c134edd21c508e2114f0dd52628caf36e002edd9cada71eedb2d52f6841",
            [0xab; NONCE_LEN],
            parse_time("2026-11-23T10:00:00.123Z").unwrap(),
        );
        r.hostname = Some("lab-pc-07".into());
        r.platform = Some("linux-x86_64".into());
        r.os_user = Some("ada".into());
        r.app_version = Some("2.4.1".into());
        r
    }

    /// Armors arbitrary JSON as a request, with a correct checksum.
    fn armored(json: &str) -> String {
        armor(REQUEST_LABEL, &serde_json::from_str(json).unwrap())
    }

    #[test]
    fn survives_mail_clients_and_copy_paste() {
        let r = request();
        let text = r.to_text();
        // Lines joined (a paste into a one-line field, or WebDriver typing),
        let joined: String = text.lines().collect();
        // re-wrapped at 40 with CRLF and indentation (a mail client),
        let rewrapped: String = text
            .chars()
            .filter(|c| *c != '\n')
            .collect::<Vec<_>>()
            .chunks(40)
            .map(|c| format!("    {}\r\n", c.iter().collect::<String>()))
            .collect();
        for mangled in [joined, rewrapped, format!("\n\n{text}\n\n")] {
            assert_eq!(
                ActivationRequest::parse(&mangled),
                Ok(r.clone()),
                "{mangled:?}"
            );
        }
        // …while a typo is still caught by the checksum.
        let typo = text.replacen("eyJ", "eyK", 1);
        assert_eq!(
            ActivationRequest::parse(&typo),
            Err(ActivationError::ChecksumMismatch)
        );
    }

    #[test]
    fn round_trip_and_layout() {
        let r = request();
        let text = r.to_text();
        assert_eq!(ActivationRequest::parse(&text), Ok(r.clone()));
        assert!(text.ends_with("-----END ACTIVATION REQUEST-----\n"));
        assert!(!text.ends_with("\n\n") && !text.contains('\r'));
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[1..lines.len() - 3].iter().all(|l| l.len() == 64));
        assert!(lines[lines.len() - 2].starts_with("Checksum: "));
        // CRLF and indentation from a mail client are fine.
        let mailed = text.replace('\n', "\r\n  ");
        assert_eq!(ActivationRequest::parse(&mailed), Ok(r));

        let receipt = DeactivationReceipt::new("K", "FP", [1; 16], Timestamp::UNIX_EPOCH);
        let text = receipt.to_text();
        assert!(text.starts_with("-----BEGIN DEACTIVATION RECEIPT-----\n"));
        assert_eq!(DeactivationReceipt::parse(&text), Ok(receipt));
        assert_eq!(
            ActivationRequest::parse(&text),
            Err(ActivationError::WrongKind {
                expected: REQUEST_LABEL,
                found: RECEIPT_LABEL.into()
            })
        );
    }

    #[test]
    fn one_error_per_rule() {
        use ActivationError as E;
        let text = request().to_text();
        let p = |t: &str| ActivationRequest::parse(t);
        let huge = " ".repeat(MAX_ACTIVATION_TEXT + 1);
        assert_eq!(
            p(&huge),
            Err(E::TooLarge {
                max: MAX_ACTIVATION_TEXT
            })
        );
        assert_eq!(p("hello"), Err(E::MissingHeader(REQUEST_LABEL)));
        assert_eq!(p(""), Err(E::MissingHeader(REQUEST_LABEL)));
        assert_eq!(
            p(&text[..text.len() / 2]),
            Err(E::MissingFooter(REQUEST_LABEL))
        );
        assert_eq!(
            p(&format!("{text}more\n")),
            Err(E::MissingFooter(REQUEST_LABEL))
        );
        let no_sum: String = text
            .lines()
            .filter(|l| !l.starts_with("Checksum"))
            .map(|l| format!("{l}\n"))
            .collect();
        assert_eq!(p(&no_sum), Err(E::MissingChecksum));
        // One character of the body changed to another base64 character.
        let line1 = text.lines().nth(1).unwrap();
        let c = line1.as_bytes()[10];
        let swapped = if c == b'A' { "B" } else { "A" };
        let typo = text.replacen(
            line1,
            &format!("{}{swapped}{}", &line1[..10], &line1[11..]),
            1,
        );
        assert_eq!(p(&typo), Err(E::ChecksumMismatch));
        let sum_line = text.lines().find(|l| l.starts_with("Checksum")).unwrap();
        let wrong = text.replace(sum_line, "Checksum: 0000000000000000");
        assert_eq!(p(&wrong), Err(E::ChecksumMismatch));
        // A body that matches its checksum but is not base64.
        let body = "not*base64";
        let bad = format!(
            "-----BEGIN ACTIVATION REQUEST-----\n{body}\nChecksum: {}\n-----END ACTIVATION REQUEST-----\n",
            checksum(body)
        );
        assert_eq!(p(&bad), Err(E::Base64));
        let body = STANDARD.encode("[1,2]");
        let arr = format!(
            "-----BEGIN ACTIVATION REQUEST-----\n{body}\nChecksum: {}\n-----END ACTIVATION REQUEST-----\n",
            checksum(&body)
        );
        assert!(matches!(p(&arr), Err(E::Json(_))));
        assert_eq!(
            p(&armored(r#"{"licenseKey":"K"}"#)),
            Err(E::MissingField("version"))
        );
        assert_eq!(
            p(&armored(r#"{"version":2,"licenseKey":"K"}"#)),
            Err(E::UnsupportedVersion(2))
        );
        assert_eq!(
            p(&armored(r#"{"version":1,"licenseKey":"K"}"#)),
            Err(E::MissingField("fingerprint"))
        );
        assert_eq!(
            p(&armored(
                r#"{"version":1,"licenseKey":"K","fingerprint":" "}"#
            )),
            Err(E::InvalidField("fingerprint"))
        );
        let base =
            r#""version":1,"licenseKey":"K","fingerprint":"F","timestamp":"2026-01-01T00:00:00Z""#;
        assert_eq!(
            p(&armored(&format!(r#"{{{base},"nonce":"xyz"}}"#))),
            Err(E::InvalidField("nonce"))
        );
        assert_eq!(
            p(&armored(&format!(
                r#"{{{base},"hostname":7,"nonce":"{}"}}"#,
                "0".repeat(32)
            ))),
            Err(E::MissingField("hostname"))
        );
        let ok = p(&armored(&format!(
            r#"{{{base},"nonce":"{}"}}"#,
            "0".repeat(32)
        )))
        .unwrap();
        assert_eq!(ok.hostname, None);
    }
}
