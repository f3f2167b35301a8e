//! License and machine files: the `-----BEGIN LICENSE FILE-----` certificates.

use std::fmt;

use aes_gcm::aead::AeadInPlace as _;
use aes_gcm::{Aes256Gcm, KeyInit as _, Nonce, Tag};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::error::{check_size, FormatError};
use crate::keys::{PublicKey, TrustedKey};
use crate::kinds::{FileAlgorithm, FileKind, Pin, ValidationCode};
use crate::time::parse_time;

/// Standard base64 with padding, strictly (canonical trailing bits): what every field
/// of a file is. Decoded with SIMD, since verifying a file is mostly decoding it (see
/// the `base64-simd` line of the workspace manifest); encoding stays with `base64`.
pub(crate) fn decode_standard(text: impl AsRef<[u8]>) -> Option<Vec<u8>> {
    base64_simd::STANDARD.decode_to_vec(text).ok()
}

/// Largest license or machine file accepted (1 MiB), checked before any decoding.
pub const MAX_FILE_SIZE: usize = 1024 * 1024;

/// Column at which Keygen wraps the base64 body (every real file uses 60).
const LINE_WIDTH: usize = 60;
const IV_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// `-----BEGIN LICENSE FILE-----` or `-----BEGIN MACHINE FILE-----`.
fn header(kind: FileKind) -> String {
    format!("-----BEGIN {} FILE-----", kind.header_word())
}

/// `-----END LICENSE FILE-----` or `-----END MACHINE FILE-----`.
fn footer(kind: FileKind) -> String {
    format!("-----END {} FILE-----", kind.header_word())
}

/// The three fields of a certificate, in Keygen's order.
#[derive(Serialize, Deserialize)]
struct Envelope {
    enc: String,
    sig: String,
    alg: String,
}

/// A parsed but not yet verified license or machine file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    /// License or machine file, from the header line.
    pub kind: FileKind,
    /// The encoded or encrypted payload, exactly as in the file.
    pub enc: String,
    /// Standard base64 of the signature over the signing prefix + `enc`.
    pub sig: String,
    /// The algorithm name as written (not covered by the signature).
    pub alg: String,
}

impl Certificate {
    /// Reads a certificate. Tolerates CRLF, any line width and surrounding whitespace;
    /// requires a matching header/footer pair, canonical base64 and a JSON object
    /// whose `enc`, `sig` and `alg` are strings.
    pub fn parse(text: &str) -> Result<Self, FormatError> {
        check_size(text.len(), MAX_FILE_SIZE)?;
        let text = text.trim();
        let (header, rest) = text.split_once('\n').unwrap_or((text, ""));
        let header = header.trim();
        let kind = [FileKind::License, FileKind::Machine]
            .into_iter()
            .find(|k| header == self::header(*k))
            .ok_or(FormatError::MissingHeader)?;
        // Fast path for Keygen's layout: while a line is exactly `LINE_WIDTH`
        // characters, copy it without looking inside. If the result does not decode,
        // read the whole body again the general way, so the outcome is always the
        // general reader's (a copied line that decodes holds only base64 characters:
        // nothing to trim, no line break inside, not a header or footer).
        let mut body = String::with_capacity(rest.len());
        let mut tail = rest;
        while tail.len() > LINE_WIDTH
            && tail.as_bytes()[LINE_WIDTH] == b'\n'
            && tail.is_char_boundary(LINE_WIDTH)
        {
            body.push_str(&tail[..LINE_WIDTH]);
            tail = &tail[LINE_WIDTH + 1..];
        }
        let json = match decode_body(kind, body, tail) {
            Err(_) if tail.len() < rest.len() => {
                decode_body(kind, String::with_capacity(rest.len()), rest)?
            }
            other => other?,
        };
        Self::from_json(kind, &json)
    }

    /// The certificate from its decoded envelope: a JSON object whose `enc`, `sig`
    /// and `alg` are strings.
    fn from_json(kind: FileKind, json: &[u8]) -> Result<Self, FormatError> {
        let [enc, sig, alg] = top_level_fields(json, ["enc", "sig", "alg"])?
            .ok_or_else(|| FormatError::Json("the certificate is not a JSON object".into()))?;
        let field = |value: Option<serde_json::Value>, name: &'static str| match value {
            Some(serde_json::Value::String(s)) => Ok(s),
            _ => Err(FormatError::MissingField(name)),
        };
        Ok(Certificate {
            kind,
            enc: field(enc, "enc")?,
            sig: field(sig, "sig")?,
            alg: field(alg, "alg")?,
        })
    }

    /// Writes the certificate exactly as Keygen does: header, standard base64 of
    /// compact `{"enc","sig","alg"}` JSON wrapped at 60 columns, footer, one LF.
    pub fn to_text(&self) -> String {
        let envelope = Envelope {
            enc: self.enc.clone(),
            sig: self.sig.clone(),
            alg: self.alg.clone(),
        };
        // Three strings: serializing cannot fail.
        let json = serde_json::to_vec(&envelope).unwrap_or_default();
        let b64 = STANDARD.encode(json);
        let mut out = String::with_capacity(b64.len() + b64.len() / LINE_WIDTH + 64);
        out.push_str(&header(self.kind));
        out.push('\n');
        let mut rest = b64.as_str();
        while !rest.is_empty() {
            // base64 is ASCII, so any index is a char boundary.
            let (line, tail) = rest.split_at(rest.len().min(LINE_WIDTH));
            out.push_str(line);
            out.push('\n');
            rest = tail;
        }
        out.push_str(&footer(self.kind));
        out.push('\n');
        out
    }

    /// The exact bytes the signature covers: signing prefix + `enc`.
    pub fn signed_data(&self) -> Vec<u8> {
        let mut data = self.kind.signing_prefix().as_bytes().to_vec();
        data.extend_from_slice(self.enc.as_bytes());
        data
    }
}

/// Appends the base64 lines of `lines` (each trimmed) to `body` up to the footer of
/// `kind`, which must end the text, and decodes the whole. Tolerates CRLF and any line
/// width; another `-----` line, or anything after the footer, is an error.
fn decode_body(kind: FileKind, mut body: String, lines: &str) -> Result<Vec<u8>, FormatError> {
    let footer = footer(kind);
    let mut closed = false;
    for line in lines.lines().map(str::trim) {
        if closed {
            // Anything after the footer is not part of this format.
            return Err(FormatError::MissingFooter);
        }
        if line == footer {
            closed = true;
        } else if line.starts_with("-----") {
            return Err(FormatError::MissingFooter);
        } else {
            body.push_str(line);
        }
    }
    if !closed {
        return Err(FormatError::MissingFooter);
    }
    decode_standard(&body).ok_or(FormatError::Base64 {
        field: "certificate",
    })
}

/// Reads the named top-level fields of a JSON document without building the rest of
/// it (a license document is kilobytes of `included` resources; building it as a
/// `serde_json::Value` cost more than the signature check). `Ok(None)` when the
/// document is JSON but not an object. Everything else is still read and must be
/// valid JSON in UTF-8; a repeated key keeps its last value, as `serde_json::Value`
/// does.
fn top_level_fields<const N: usize>(
    json: &[u8],
    names: [&'static str; N],
) -> Result<Option<[Option<serde_json::Value>; N]>, FormatError> {
    use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

    struct Pick<const N: usize>([&'static str; N]);

    impl<'de, const N: usize> DeserializeSeed<'de> for Pick<N> {
        type Value = Option<[Option<serde_json::Value>; N]>;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(self)
        }
    }

    impl<'de, const N: usize> Visitor<'de> for Pick<N> {
        type Value = Option<[Option<serde_json::Value>; N]>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON document")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out: [Option<serde_json::Value>; N] = std::array::from_fn(|_| None);
            while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                match self.0.iter().position(|name| *name == key) {
                    Some(i) => out[i] = Some(map.next_value()?),
                    None => {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
            }
            Ok(Some(out))
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(None)
        }
        fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    }

    let json_error = |e: serde_json::Error| FormatError::Json(e.to_string());
    // Skipped strings are not decoded, so check the encoding of the whole document.
    std::str::from_utf8(json).map_err(|e| FormatError::Json(format!("not UTF-8: {e}")))?;
    let mut de = serde_json::Deserializer::from_slice(json);
    let fields = Pick(names).deserialize(&mut de).map_err(json_error)?;
    de.end().map_err(json_error)?;
    Ok(fields)
}

/// The AES-256-GCM key of an encrypted file. Wiped on drop; Debug is redacted.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct EncryptionSecret([u8; 32]);

impl EncryptionSecret {
    /// Secret for a license file: SHA-256 of the whole license key string.
    pub fn for_license(license_key: &str) -> Self {
        EncryptionSecret(Sha256::digest(license_key.as_bytes()).into())
    }

    /// Secret for a machine file: SHA-256 of the license key followed directly by the
    /// machine fingerprint.
    pub fn for_machine(license_key: &str, fingerprint: &str) -> Self {
        let mut h = Sha256::new();
        h.update(license_key.as_bytes());
        h.update(fingerprint.as_bytes());
        EncryptionSecret(h.finalize().into())
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(&self.0.into())
    }
}

impl fmt::Debug for EncryptionSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EncryptionSecret(<redacted>)")
    }
}

/// The `meta` object of a file payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileMeta {
    /// When the file was issued.
    pub issued: Timestamp,
    /// When the file stops being valid; `None` when it never expires.
    pub expiry: Option<Timestamp>,
    /// Time to live in seconds, as written; `None` when it never expires.
    pub ttl: Option<i64>,
}

impl FileMeta {
    /// Reads `meta.issued`, `meta.expiry` and `meta.ttl` from a payload. All three
    /// keys must be present; `expiry` and `ttl` may be `null`.
    pub(crate) fn from_payload(payload: &[u8]) -> Result<Self, FormatError> {
        let [meta] = top_level_fields(payload, ["meta"])?.unwrap_or_default();
        let meta = meta
            .as_ref()
            .and_then(serde_json::Value::as_object)
            .ok_or(FormatError::MissingField("meta"))?;
        let issued = meta
            .get("issued")
            .and_then(serde_json::Value::as_str)
            .ok_or(FormatError::MissingField("meta.issued"))?;
        let expiry = match meta.get("expiry") {
            Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(s)) => Some(parse_time(s)?),
            _ => return Err(FormatError::MissingField("meta.expiry")),
        };
        let ttl = match meta.get("ttl") {
            Some(serde_json::Value::Null) => None,
            Some(v) => Some(v.as_i64().ok_or(FormatError::MissingField("meta.ttl"))?),
            None => return Err(FormatError::MissingField("meta.ttl")),
        };
        Ok(FileMeta {
            issued: parse_time(issued)?,
            expiry,
            ttl,
        })
    }

    /// Checks the file's validity window at `now`: `ClockTampered` if it was issued
    /// later than `now + allowed_drift`, `FileExpired` if `now` is past `expiry`,
    /// otherwise `Valid`.
    pub fn check(&self, now: Timestamp, allowed_drift: SignedDuration) -> ValidationCode {
        // Saturate: a drift past the end of time means "never tampered".
        let latest = now.checked_add(allowed_drift).unwrap_or(Timestamp::MAX);
        if self.issued > latest {
            ValidationCode::ClockTampered
        } else if self.expiry.is_some_and(|expiry| now > expiry) {
            ValidationCode::FileExpired
        } else {
            ValidationCode::Valid
        }
    }

    /// How long the host application may keep running on a file whose TTL has
    /// passed: all of `grace` while the file is within its window (or never expires),
    /// what is left of it after `expiry`, `Some(ZERO)` exactly at the end, and `None`
    /// once `now` is beyond `expiry + grace`. A negative `grace` counts as zero.
    pub fn grace_remaining(&self, grace: SignedDuration, now: Timestamp) -> Option<SignedDuration> {
        let grace = grace.max(SignedDuration::ZERO);
        let Some(expiry) = self.expiry else {
            return Some(grace);
        };
        if now <= expiry {
            return Some(grace);
        }
        let late = now.duration_since(expiry);
        let left = grace.checked_sub(late)?;
        (left >= SignedDuration::ZERO).then_some(left)
    }
}

/// A verified (and, if encrypted, decrypted) license or machine file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenedFile {
    /// License or machine file.
    pub kind: FileKind,
    /// The algorithm it was sealed with (equal to the pinned one).
    pub alg: FileAlgorithm,
    /// The trusted key that verified its signature, pinned to `alg`.
    pub verified_by: TrustedKey,
    /// The exact plaintext payload bytes (Keygen's JSON:API document).
    pub payload: Vec<u8>,
    /// `meta` read from the payload.
    pub meta: FileMeta,
}

/// Verifies and reads a license or machine file with one pinned key (what
/// [`Verifier::pinned`](crate::Verifier::pinned) does before the window check).
///
/// `pinned` is the algorithm expected for `public`: `alg` is not signed, so the
/// file's own claim is only compared, never trusted. The signature is checked
/// before anything in `enc` is decoded or decrypted. Times are not checked here:
/// see [`FileMeta::check`].
pub(crate) fn open(
    text: &str,
    kind: FileKind,
    public: &PublicKey,
    pinned: FileAlgorithm,
    secret: Option<&EncryptionSecret>,
) -> Result<OpenedFile, FormatError> {
    let cert = Certificate::parse(text)?;
    if cert.kind != kind {
        return Err(FormatError::WrongKind {
            expected: kind,
            found: cert.kind,
        });
    }
    if cert.alg != pinned.as_str() {
        // Tell "not something Keygen makes" apart from "a different Keygen algorithm".
        let found: FileAlgorithm = cert.alg.parse()?;
        return Err(FormatError::AlgorithmMismatch {
            expected: pinned.as_str().to_owned(),
            found: found.as_str().to_owned(),
        });
    }
    if public.algorithm() != pinned.key_algorithm() {
        return Err(FormatError::AlgorithmMismatch {
            expected: pinned.as_str().to_owned(),
            found: format!("{:?} key", public.algorithm()),
        });
    }
    let sig = decode_standard(&cert.sig).ok_or(FormatError::Base64 { field: "sig" })?;
    public.verify_sig(pinned.sig_alg(), &cert.signed_data(), &sig)?;

    let payload = if pinned.is_encrypted() {
        let secret = secret.ok_or(FormatError::KeyRequired)?;
        decrypt(&cert.enc, secret)?
    } else {
        decode_standard(&cert.enc).ok_or(FormatError::Base64 { field: "enc" })?
    };
    let meta = FileMeta::from_payload(&payload)?;
    Ok(OpenedFile {
        kind,
        alg: pinned,
        verified_by: TrustedKey {
            public: public.clone(),
            pin: Pin::File(pinned),
        },
        payload,
        meta,
    })
}

/// Decrypts `ciphertext.iv.tag` (each standard base64).
fn decrypt(enc: &str, secret: &EncryptionSecret) -> Result<Vec<u8>, FormatError> {
    let mut parts = enc.split('.');
    let (Some(ct), Some(iv), Some(tag), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(FormatError::MalformedEnc);
    };
    let decode = |s: &str| decode_standard(s).ok_or(FormatError::MalformedEnc);
    let mut buf = decode(ct)?;
    let iv = decode(iv)?;
    let tag = decode(tag)?;
    if iv.len() != IV_LEN || tag.len() != TAG_LEN {
        return Err(FormatError::MalformedEnc);
    }
    secret
        .cipher()
        .decrypt_in_place_detached(Nonce::from_slice(&iv), b"", &mut buf, Tag::from_slice(&tag))
        .map_err(|_| FormatError::DecryptionFailed)?;
    Ok(buf)
}

/// Seals `payload` into a license or machine file, byte-for-byte in Keygen's layout.
///
/// With [`FileAlgorithm::Aes256GcmEd25519`] the payload is encrypted under `secret`
/// with a fresh random 12-byte IV (error [`FormatError::KeyRequired`] without one);
/// with [`FileAlgorithm::Base64Ed25519`] it is only encoded and `secret` is ignored.
#[cfg(feature = "sign")]
pub fn seal(
    kind: FileKind,
    payload: &[u8],
    alg: FileAlgorithm,
    key: &crate::keys::SigningKey,
    secret: Option<&EncryptionSecret>,
    rng: &mut impl rand_core::CryptoRngCore,
) -> Result<String, FormatError> {
    // A file we could not open ourselves is not worth producing.
    check_size(payload.len(), MAX_FILE_SIZE)?;
    if key.algorithm() != alg.key_algorithm() {
        return Err(FormatError::AlgorithmMismatch {
            expected: alg.as_str().to_owned(),
            found: format!("{:?} key", key.algorithm()),
        });
    }
    let enc = if !alg.is_encrypted() {
        STANDARD.encode(payload)
    } else {
        let secret = secret.ok_or(FormatError::KeyRequired)?;
        let mut iv = [0u8; IV_LEN];
        rng.fill_bytes(&mut iv);
        let mut buf = payload.to_vec();
        let tag = secret
            .cipher()
            .encrypt_in_place_detached(Nonce::from_slice(&iv), b"", &mut buf)
            // Only fails for plaintexts over 64 GiB, far above the size limit.
            .map_err(|_| FormatError::TooLarge { max: MAX_FILE_SIZE })?;
        format!(
            "{}.{}.{}",
            STANDARD.encode(&buf),
            STANDARD.encode(iv),
            STANDARD.encode(tag)
        )
    };
    let mut cert = Certificate {
        kind,
        enc,
        sig: String::new(),
        alg: alg.as_str().to_owned(),
    };
    cert.sig = STANDARD.encode(key.sign(alg.sig_alg(), &cert.signed_data(), rng)?);
    let text = cert.to_text();
    check_size(text.len(), MAX_FILE_SIZE)?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_checks() {
        let t = |s| parse_time(s).unwrap();
        let meta = FileMeta {
            issued: t("2024-01-01T00:00:00Z"),
            expiry: Some(t("2024-02-01T00:00:00Z")),
            ttl: Some(2_629_746),
        };
        let drift = SignedDuration::from_secs(5 * 60);
        assert_eq!(
            meta.check(t("2024-01-15T00:00:00Z"), drift),
            ValidationCode::Valid
        );
        assert_eq!(
            meta.check(t("2024-02-01T00:00:00Z"), drift),
            ValidationCode::Valid
        );
        assert_eq!(
            meta.check(t("2024-02-01T00:00:00.001Z"), drift),
            ValidationCode::FileExpired
        );
        assert_eq!(
            meta.check(t("2023-12-31T23:56:00Z"), drift),
            ValidationCode::Valid
        );
        assert_eq!(
            meta.check(t("2023-12-31T23:54:59Z"), drift),
            ValidationCode::ClockTampered
        );
        let forever = FileMeta {
            expiry: None,
            ttl: None,
            ..meta
        };
        assert_eq!(
            forever.check(t("2999-01-01T00:00:00Z"), drift),
            ValidationCode::Valid
        );
    }

    #[test]
    fn certificate_rules() {
        let cert = Certificate {
            kind: FileKind::License,
            enc: "ZW5j".into(),
            sig: "c2ln".into(),
            alg: "base64+ed25519".into(),
        };
        let text = cert.to_text();
        assert_eq!(Certificate::parse(&text), Ok(cert.clone()));
        // CRLF, other widths and surrounding whitespace are fine.
        let crlf = format!("\r\n  {}  \r\n", text.replace('\n', "\r\n"));
        assert_eq!(Certificate::parse(&crlf), Ok(cert.clone()));
        assert_eq!(Certificate::parse("hello"), Err(FormatError::MissingHeader));
        let mismatched = text.replace("END LICENSE", "END MACHINE");
        assert_eq!(
            Certificate::parse(&mismatched),
            Err(FormatError::MissingFooter)
        );
        let no_footer = text.replace("-----END LICENSE FILE-----", "");
        assert_eq!(
            Certificate::parse(&no_footer),
            Err(FormatError::MissingFooter)
        );
        let trailing = format!("{text}junk\n");
        assert_eq!(
            Certificate::parse(&trailing),
            Err(FormatError::MissingFooter)
        );
        let bad = text.replacen("eyJ", "e!J", 1);
        assert_eq!(
            Certificate::parse(&bad),
            Err(FormatError::Base64 {
                field: "certificate"
            })
        );
        let not_obj = Certificate {
            enc: String::new(),
            ..cert
        };
        let json_array = format!(
            "-----BEGIN LICENSE FILE-----\n{}\n-----END LICENSE FILE-----\n",
            STANDARD.encode("[1]")
        );
        assert!(matches!(
            Certificate::parse(&json_array),
            Err(FormatError::Json(_))
        ));
        let missing = format!(
            "-----BEGIN LICENSE FILE-----\n{}\n-----END LICENSE FILE-----\n",
            STANDARD.encode(r#"{"enc":"","sig":1,"alg":""}"#)
        );
        assert_eq!(
            Certificate::parse(&missing),
            Err(FormatError::MissingField("sig"))
        );
        assert!(Certificate::parse(&not_obj.to_text()).is_ok());
        let huge = " ".repeat(MAX_FILE_SIZE + 1);
        assert_eq!(
            Certificate::parse(&huge),
            Err(FormatError::TooLarge { max: MAX_FILE_SIZE })
        );
    }

    #[test]
    fn secrets() {
        let a = EncryptionSecret::for_machine("KEY", "FP");
        let b = EncryptionSecret::for_license("KEYFP");
        assert_eq!(a.0, b.0);
        assert_eq!(format!("{a:?}"), "EncryptionSecret(<redacted>)");
    }

    #[test]
    fn meta_requires_all_keys() {
        let ok = br#"{"meta":{"issued":"2022-08-08T13:18:05.187Z","expiry":null,"ttl":null}}"#;
        let meta = FileMeta::from_payload(ok).unwrap();
        assert_eq!(meta.expiry, None);
        let no_ttl = br#"{"meta":{"issued":"2022-08-08T13:18:05.187Z","expiry":null}}"#;
        assert_eq!(
            FileMeta::from_payload(no_ttl),
            Err(FormatError::MissingField("meta.ttl"))
        );
        assert_eq!(
            FileMeta::from_payload(b"{}"),
            Err(FormatError::MissingField("meta"))
        );
        let bad_time = br#"{"meta":{"issued":"yesterday","expiry":null,"ttl":null}}"#;
        assert!(matches!(
            FileMeta::from_payload(bad_time),
            Err(FormatError::BadTimestamp(_))
        ));
    }

    /// The reader before its fast path: every line through the general loop.
    fn general_parse(text: &str) -> Result<(FileKind, Vec<u8>), FormatError> {
        let text = text.trim();
        let (header, rest) = text.split_once('\n').unwrap_or((text, ""));
        let kind = [FileKind::License, FileKind::Machine]
            .into_iter()
            .find(|k| header.trim() == self::header(*k))
            .ok_or(FormatError::MissingHeader)?;
        Ok((kind, decode_body(kind, String::new(), rest)?))
    }

    const FILE: &str = include_str!("../tests/vectors/files/keygen-go.license.lic");

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

        /// The SIMD decoder is exactly as strict as `base64`'s STANDARD engine.
        #[test]
        fn simd_decoding_agrees_with_the_base64_crate(
            text in "[A-Za-z0-9+/=]{0,40}|[A-Za-z0-9+/= \n\r_.-]{0,40}|\\PC{0,12}"
        ) {
            use base64::Engine as _;
            let reference = base64::engine::general_purpose::STANDARD.decode(&text).ok();
            proptest::prop_assert_eq!(decode_standard(&text), reference, "{:?}", text);
        }

        /// Whatever a file's lines look like (rewrapped at any width, CRLF, spaces,
        /// a character inserted or removed anywhere), the fast path reads it exactly
        /// as the general reader does.
        #[test]
        fn the_fast_path_reads_what_the_general_reader_reads(
            // Mostly Keygen's own width, where the fast path runs.
            width in proptest::prop_oneof![3 => proptest::strategy::Just(LINE_WIDTH), 1 => 1usize..100],
            crlf in proptest::bool::ANY,
            pad in proptest::bool::ANY,
            edit in proptest::option::of((0usize..4000, proptest::sample::select(
                vec!['\n', ' ', '-', 'A', '=', '\r', 'é']))),
            delete in proptest::option::of(0usize..4000),
        ) {
            let lines: Vec<&str> = FILE.trim().lines().collect();
            let body: String = lines[1..lines.len() - 1].concat();
            let eol = if crlf { "\r\n" } else { "\n" };
            let mut text = format!("{}{eol}", lines[0]);
            for chunk in body.as_bytes().chunks(width) {
                let chunk = std::str::from_utf8(chunk).unwrap();
                text.push_str(if pad { " " } else { "" });
                text.push_str(chunk);
                text.push_str(eol);
            }
            text.push_str(lines[lines.len() - 1]);
            text.push_str(eol);
            if let Some((at, c)) = edit {
                let at = at % text.len();
                if text.is_char_boundary(at) {
                    text.insert(at, c);
                }
            }
            if let Some(at) = delete {
                let at = at % text.len();
                if text.is_char_boundary(at) && text.is_char_boundary(at + 1) {
                    text.remove(at);
                }
            }
            let general = general_parse(&text)
                .and_then(|(kind, json)| Certificate::from_json(kind, &json));
            proptest::prop_assert_eq!(Certificate::parse(&text), general);
        }
    }
}
