//! License and machine files: the `-----BEGIN LICENSE FILE-----` certificates.

use std::fmt;
use std::str::FromStr;

use aes_gcm::aead::AeadInPlace as _;
use aes_gcm::{Aes256Gcm, KeyInit as _, Nonce, Tag};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::error::{check_size, FormatError};
use crate::keys::{KeyAlgorithm, PublicKey, SigAlg};
use crate::license_key::Scheme;
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

/// Whether a certificate is a license file or a machine file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum FileKind {
    /// `-----BEGIN LICENSE FILE-----`, signed with the `license/` prefix.
    License,
    /// `-----BEGIN MACHINE FILE-----`, signed with the `machine/` prefix.
    Machine,
}

impl FileKind {
    /// The word in the header and footer lines: `LICENSE` or `MACHINE`.
    pub fn header_word(self) -> &'static str {
        match self {
            FileKind::License => "LICENSE",
            FileKind::Machine => "MACHINE",
        }
    }

    /// What the signature covers before `enc`: `license/` or `machine/`.
    pub fn signing_prefix(self) -> &'static str {
        match self {
            FileKind::License => "license/",
            FileKind::Machine => "machine/",
        }
    }

    fn header(self) -> String {
        format!("-----BEGIN {} FILE-----", self.header_word())
    }

    fn footer(self) -> String {
        format!("-----END {} FILE-----", self.header_word())
    }
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FileKind::License => "license file",
            FileKind::Machine => "machine file",
        })
    }
}

/// A license file algorithm (`alg`): encoding or encryption + signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FileAlgorithm {
    /// `base64+ed25519`: payload only base64-encoded.
    Base64Ed25519,
    /// `aes-256-gcm+ed25519`: payload encrypted with a key derived from the license key.
    Aes256GcmEd25519,
    /// `base64+rsa-pss-sha256`: RSA-PSS, SHA-256, MGF1-SHA-256, maximum salt length.
    Base64RsaPssSha256,
    /// `aes-256-gcm+rsa-pss-sha256`.
    Aes256GcmRsaPssSha256,
    /// `base64+rsa-sha256`: RSA PKCS#1 v1.5 with SHA-256.
    Base64RsaSha256,
    /// `aes-256-gcm+rsa-sha256`.
    Aes256GcmRsaSha256,
    /// `base64+ecdsa-p256`: ECDSA P-256 / SHA-256, DER signature.
    Base64EcdsaP256,
    /// `aes-256-gcm+ecdsa-p256`.
    Aes256GcmEcdsaP256,
}

/// Every file algorithm this version implements.
pub const FILE_ALGORITHMS: [FileAlgorithm; 8] = [
    FileAlgorithm::Base64Ed25519,
    FileAlgorithm::Aes256GcmEd25519,
    FileAlgorithm::Base64RsaPssSha256,
    FileAlgorithm::Aes256GcmRsaPssSha256,
    FileAlgorithm::Base64RsaSha256,
    FileAlgorithm::Aes256GcmRsaSha256,
    FileAlgorithm::Base64EcdsaP256,
    FileAlgorithm::Aes256GcmEcdsaP256,
];

impl FileAlgorithm {
    /// Keygen's name, e.g. `aes-256-gcm+ed25519`.
    pub fn as_str(self) -> &'static str {
        match self {
            FileAlgorithm::Base64Ed25519 => "base64+ed25519",
            FileAlgorithm::Aes256GcmEd25519 => "aes-256-gcm+ed25519",
            FileAlgorithm::Base64RsaPssSha256 => "base64+rsa-pss-sha256",
            FileAlgorithm::Aes256GcmRsaPssSha256 => "aes-256-gcm+rsa-pss-sha256",
            FileAlgorithm::Base64RsaSha256 => "base64+rsa-sha256",
            FileAlgorithm::Aes256GcmRsaSha256 => "aes-256-gcm+rsa-sha256",
            FileAlgorithm::Base64EcdsaP256 => "base64+ecdsa-p256",
            FileAlgorithm::Aes256GcmEcdsaP256 => "aes-256-gcm+ecdsa-p256",
        }
    }

    /// Whether `enc` is encrypted (and a secret is needed to read it).
    pub fn is_encrypted(self) -> bool {
        matches!(
            self,
            FileAlgorithm::Aes256GcmEd25519
                | FileAlgorithm::Aes256GcmRsaPssSha256
                | FileAlgorithm::Aes256GcmRsaSha256
                | FileAlgorithm::Aes256GcmEcdsaP256
        )
    }

    /// The key algorithm that signs this file algorithm.
    pub fn key_algorithm(self) -> KeyAlgorithm {
        self.sig_alg().key_algorithm()
    }

    pub(crate) fn sig_alg(self) -> SigAlg {
        match self {
            FileAlgorithm::Base64Ed25519 | FileAlgorithm::Aes256GcmEd25519 => SigAlg::Ed25519,
            FileAlgorithm::Base64RsaPssSha256 | FileAlgorithm::Aes256GcmRsaPssSha256 => {
                SigAlg::RsaPss
            }
            FileAlgorithm::Base64RsaSha256 | FileAlgorithm::Aes256GcmRsaSha256 => SigAlg::RsaPkcs1,
            FileAlgorithm::Base64EcdsaP256 | FileAlgorithm::Aes256GcmEcdsaP256 => SigAlg::EcdsaP256,
        }
    }

    /// The algorithm Keygen uses for files of a license with `scheme` (`None`: a
    /// plaintext, unsigned key): ed25519 for none and `ED25519_SIGN`, rsa-pss-sha256
    /// for the PSS schemes, rsa-sha256 for the other RSA schemes, ecdsa-p256 for
    /// `ECDSA_P256_SIGN`; `aes-256-gcm+…` when `encrypted`, else `base64+…`.
    pub fn default_for(scheme: Option<Scheme>, encrypted: bool) -> FileAlgorithm {
        use FileAlgorithm as F;
        let (plain, enc) = match scheme {
            None | Some(Scheme::Ed25519Sign) => (F::Base64Ed25519, F::Aes256GcmEd25519),
            Some(Scheme::RsaPssSignV2 | Scheme::RsaPssSign) => {
                (F::Base64RsaPssSha256, F::Aes256GcmRsaPssSha256)
            }
            Some(
                Scheme::RsaSignV2 | Scheme::RsaEncrypt | Scheme::RsaJwtRs256 | Scheme::RsaSign,
            ) => (F::Base64RsaSha256, F::Aes256GcmRsaSha256),
            Some(Scheme::EcdsaP256Sign) => (F::Base64EcdsaP256, F::Aes256GcmEcdsaP256),
        };
        if encrypted {
            enc
        } else {
            plain
        }
    }
}

impl fmt::Display for FileAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for FileAlgorithm {
    type Err = FormatError;

    fn from_str(s: &str) -> Result<Self, FormatError> {
        FILE_ALGORITHMS
            .into_iter()
            .find(|alg| alg.as_str() == s)
            .ok_or_else(|| FormatError::UnknownAlgorithm(s.chars().take(64).collect()))
    }
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
            .find(|k| header == k.header())
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
        out.push_str(&self.kind.header());
        out.push('\n');
        let mut rest = b64.as_str();
        while !rest.is_empty() {
            // base64 is ASCII, so any index is a char boundary.
            let (line, tail) = rest.split_at(rest.len().min(LINE_WIDTH));
            out.push_str(line);
            out.push('\n');
            rest = tail;
        }
        out.push_str(&self.kind.footer());
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
    let footer = kind.footer();
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
    pub fn from_payload(payload: &[u8]) -> Result<Self, FormatError> {
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
}

/// A verified (and, if encrypted, decrypted) license or machine file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenedFile {
    /// License or machine file.
    pub kind: FileKind,
    /// The algorithm it was sealed with (equal to the pinned one).
    pub alg: FileAlgorithm,
    /// The exact plaintext payload bytes (Keygen's JSON:API document).
    pub payload: Vec<u8>,
    /// `meta` read from the payload.
    pub meta: FileMeta,
}

/// Verifies and reads a license or machine file.
///
/// `pinned` is the algorithm expected for `public`: `alg` is not signed, so the
/// file's own claim is only compared, never trusted. The signature is checked
/// before anything in `enc` is decoded or decrypted. Times are not checked here:
/// see [`FileMeta::check`].
pub fn open(
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
    fn algorithm_names() {
        for alg in FILE_ALGORITHMS {
            assert_eq!(alg.as_str().parse::<FileAlgorithm>(), Ok(alg));
            let prefix = if alg.is_encrypted() {
                "aes-256-gcm+"
            } else {
                "base64+"
            };
            assert!(alg.as_str().starts_with(prefix));
        }
        use crate::license_key::SCHEMES;
        for scheme in SCHEMES {
            for encrypted in [false, true] {
                let alg = FileAlgorithm::default_for(Some(scheme), encrypted);
                assert_eq!(alg.is_encrypted(), encrypted);
                assert_eq!(alg.key_algorithm(), scheme.key_algorithm());
            }
        }
        let d = |s: &str, e| FileAlgorithm::default_for(s.parse().ok(), e).as_str();
        assert_eq!(d("none", true), "aes-256-gcm+ed25519");
        assert_eq!(d("ED25519_SIGN", false), "base64+ed25519");
        assert_eq!(
            d("RSA_2048_PKCS1_PSS_SIGN_V2", true),
            "aes-256-gcm+rsa-pss-sha256"
        );
        assert_eq!(d("RSA_2048_PKCS1_PSS_SIGN", false), "base64+rsa-pss-sha256");
        assert_eq!(d("RSA_2048_PKCS1_SIGN_V2", false), "base64+rsa-sha256");
        assert_eq!(d("RSA_2048_PKCS1_ENCRYPT", true), "aes-256-gcm+rsa-sha256");
        assert_eq!(d("RSA_2048_PKCS1_SIGN", true), "aes-256-gcm+rsa-sha256");
        assert_eq!(d("RSA_2048_JWT_RS256", false), "base64+rsa-sha256");
        assert!(matches!(
            "rot13+ed25519".parse::<FileAlgorithm>(),
            Err(FormatError::UnknownAlgorithm(_))
        ));
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
            .find(|k| header.trim() == k.header())
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
