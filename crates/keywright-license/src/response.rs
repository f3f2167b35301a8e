//! Signed HTTP responses, the way Keygen signs its API responses: a client that only
//! trusts the vendor's public key can refuse an answer forged by another server (a
//! DNS spoof, a captive proxy, a patched hosts file).
//!
//! The server sends three headers:
//!
//! ```text
//! Date: Wed, 09 Jun 2021 16:08:15 GMT
//! Digest: sha-256=827Op2un8OT9KJuN1siRs5h6mxjrUh4LJag66dQjnIM=
//! Keygen-Signature: keyid="…", algorithm="ed25519", signature="…", headers="(request-target) host date digest"
//! ```
//!
//! and the signature covers Keygen's signing string, which ties the body (through its
//! digest) to the request it answers and to the time it was sent:
//!
//! ```text
//! (request-target): get /api/check?token=…
//! host: licensing.example.com
//! date: Wed, 09 Jun 2021 16:08:15 GMT
//! digest: sha-256=827Op2un8OT9KJuN1siRs5h6mxjrUh4LJag66dQjnIM=
//! ```
//!
//! `keyid` is the signing key's [`PublicKey::kid`]. Algorithms: `ed25519` (Keygen's),
//! `rsa-pss-sha256` (Keygen's, for RSA-2048 keys) and `ecdsa-p256-sha256` (for P-256
//! keys; Keygen has no such response algorithm). [`verify_response`] is compiled
//! without the `sign` feature; `sign_response` needs it.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use jiff::{SignedDuration, Timestamp};
use sha2::{Digest as _, Sha256};

use crate::keys::PublicKey;
use crate::kinds::{KeyAlgorithm, SigAlg};

/// The name of the signature header.
pub const SIGNATURE_HEADER: &str = "Keygen-Signature";

/// The headers a signature must cover, in this order.
pub const SIGNED_HEADERS: &str = "(request-target) host date digest";

/// How far a response's `Date` may be from the client's clock (Keygen's SDKs use
/// 5 minutes to refuse replayed responses).
pub const DEFAULT_DATE_TOLERANCE: SignedDuration = SignedDuration::from_secs(5 * 60);

/// The parts of an HTTP exchange a response signature covers.
#[derive(Debug, Clone, Copy)]
pub struct SignedResponse<'a> {
    /// The request's method (`GET`, `POST`; any case).
    pub method: &'a str,
    /// The request's path and query exactly as sent (`/api/check?token=…`).
    pub target: &'a str,
    /// The `Host` the request was sent to (`licensing.example.com`, with a port if
    /// the URL has one).
    pub host: &'a str,
    /// The response's `Date` header, if it has one.
    pub date: Option<&'a str>,
    /// The response's `Digest` header, if it has one.
    pub digest: Option<&'a str>,
    /// The response's `Keygen-Signature` header, if it has one.
    pub signature: Option<&'a str>,
    /// The response body, as received.
    pub body: &'a [u8],
}

/// Why a response is not trusted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResponseError {
    /// A header the signature needs is absent: an unsigned response.
    #[error("the response has no {0} header")]
    MissingHeader(&'static str),
    /// The signature header is not `keyid="…", algorithm="…", signature="…", headers="…"`
    /// or does not cover `(request-target) host date digest`.
    #[error("malformed signature header: {0}")]
    MalformedSignature(&'static str),
    /// An algorithm this crate does not verify responses with.
    #[error("unsupported response signature algorithm `{0}`")]
    UnsupportedAlgorithm(String),
    /// No trusted key has this key id.
    #[error("no trusted key has key id {0}")]
    UnknownKey(String),
    /// The trusted key with this id cannot make signatures of this algorithm.
    #[error("key {kid} is not an {algorithm} key")]
    AlgorithmMismatch {
        /// The key id.
        kid: String,
        /// The algorithm the header names.
        algorithm: String,
    },
    /// The `Digest` header is not `sha-256=<base64>` or does not match the body.
    #[error("the body does not match the Digest header (altered in transit)")]
    BadDigest,
    /// The `Date` header is not an HTTP date.
    #[error("the Date header is not an HTTP date: {0:?}")]
    MalformedDate(String),
    /// The `Date` is further from now than the tolerance: replayed or delayed.
    #[error("the response is dated {date}, more than {tolerance_secs} s from now ({now})")]
    StaleDate {
        /// The `Date` header.
        date: String,
        /// The client's clock.
        now: Timestamp,
        /// The tolerance, in seconds.
        tolerance_secs: i64,
    },
    /// The signature does not verify: the headers, target or body were altered, or
    /// another key signed.
    #[error("the response signature does not verify")]
    BadSignature,
}

/// `sha-256=<base64 of SHA-256(body)>`, the `Digest` header for `body`.
#[cfg(feature = "sign")]
fn body_digest(body: &[u8]) -> String {
    format!("sha-256={}", STANDARD.encode(Sha256::digest(body)))
}

/// An HTTP date (`Wed, 09 Jun 2021 16:08:15 GMT`) for `at`.
#[cfg(feature = "sign")]
fn http_date(at: Timestamp) -> String {
    jiff::fmt::rfc2822::DateTimePrinter::new()
        .timestamp_to_rfc9110_string(&at)
        .unwrap_or_default()
}

/// Keygen's signing string.
fn signing_string(method: &str, target: &str, host: &str, date: &str, digest: &str) -> String {
    format!(
        "(request-target): {} {target}\nhost: {host}\ndate: {date}\ndigest: {digest}",
        method.to_ascii_lowercase()
    )
}

/// The response algorithm name for a key and the signature it makes.
fn algorithm_for(key: KeyAlgorithm) -> (&'static str, SigAlg) {
    match key {
        KeyAlgorithm::Ed25519 => ("ed25519", SigAlg::Ed25519),
        KeyAlgorithm::Rsa2048 => ("rsa-pss-sha256", SigAlg::RsaPss),
        KeyAlgorithm::EcdsaP256 => ("ecdsa-p256-sha256", SigAlg::EcdsaP256),
    }
}

fn sig_alg(name: &str) -> Option<SigAlg> {
    match name {
        "ed25519" => Some(SigAlg::Ed25519),
        "rsa-pss-sha256" => Some(SigAlg::RsaPss),
        "ecdsa-p256-sha256" => Some(SigAlg::EcdsaP256),
        _ => None,
    }
}

/// The fields of a signature header.
#[derive(Debug, Default)]
struct SignatureFields<'a> {
    keyid: Option<&'a str>,
    algorithm: Option<&'a str>,
    signature: Option<&'a str>,
    headers: Option<&'a str>,
}

fn parse_signature_header(text: &str) -> Result<SignatureFields<'_>, ResponseError> {
    const MAX: usize = 4096;
    if text.len() > MAX {
        return Err(ResponseError::MalformedSignature("longer than 4096 bytes"));
    }
    let mut fields = SignatureFields::default();
    let mut rest = text.trim();
    while !rest.is_empty() {
        let (name, after) = rest
            .split_once('=')
            .ok_or(ResponseError::MalformedSignature("expected name=\"value\""))?;
        let after = after
            .strip_prefix('"')
            .ok_or(ResponseError::MalformedSignature("values must be quoted"))?;
        let (value, after) = after
            .split_once('"')
            .ok_or(ResponseError::MalformedSignature(
                "unterminated quoted value",
            ))?;
        let slot = match name.trim() {
            "keyid" => &mut fields.keyid,
            "algorithm" => &mut fields.algorithm,
            "signature" => &mut fields.signature,
            "headers" => &mut fields.headers,
            _ => return Err(ResponseError::MalformedSignature("unknown parameter")),
        };
        if slot.replace(value).is_some() {
            return Err(ResponseError::MalformedSignature("repeated parameter"));
        }
        let after = after.trim_start();
        rest = match after.strip_prefix(',') {
            Some(next) => next.trim_start(),
            None if after.is_empty() => after,
            None => return Err(ResponseError::MalformedSignature("expected a comma")),
        };
    }
    Ok(fields)
}

/// Checks a signed response against the trusted keys: the signature header names a
/// trusted key (by [`PublicKey::kid`]) and an algorithm that key makes, covers
/// `(request-target) host date digest`; the `Digest` matches the body; the `Date` is
/// within `tolerance` of `now`; and the signature verifies over Keygen's signing
/// string. Returns the key that signed.
///
/// Only then is the body worth reading: a client should treat any error as "the
/// server could not be reached" and not as an answer.
pub fn verify_response<'k>(
    response: &SignedResponse<'_>,
    trusted: &'k [PublicKey],
    now: Timestamp,
    tolerance: SignedDuration,
) -> Result<&'k PublicKey, ResponseError> {
    let header = response
        .signature
        .ok_or(ResponseError::MissingHeader(SIGNATURE_HEADER))?;
    let date = response.date.ok_or(ResponseError::MissingHeader("Date"))?;
    let digest = response
        .digest
        .ok_or(ResponseError::MissingHeader("Digest"))?;
    let fields = parse_signature_header(header)?;
    let keyid = fields
        .keyid
        .ok_or(ResponseError::MalformedSignature("no keyid"))?;
    let algorithm = fields
        .algorithm
        .ok_or(ResponseError::MalformedSignature("no algorithm"))?;
    let signature = fields
        .signature
        .ok_or(ResponseError::MalformedSignature("no signature"))?;
    let headers = fields
        .headers
        .ok_or(ResponseError::MalformedSignature("no headers"))?;
    if headers.split_whitespace().collect::<Vec<_>>()
        != SIGNED_HEADERS.split(' ').collect::<Vec<_>>()
    {
        return Err(ResponseError::MalformedSignature(
            "must cover (request-target) host date digest",
        ));
    }
    let alg = sig_alg(algorithm)
        .ok_or_else(|| ResponseError::UnsupportedAlgorithm(algorithm.to_owned()))?;
    let key = trusted
        .iter()
        .find(|k| k.kid() == keyid)
        .ok_or_else(|| ResponseError::UnknownKey(keyid.to_owned()))?;
    if algorithm_for(key.algorithm()).1 != alg {
        return Err(ResponseError::AlgorithmMismatch {
            kid: keyid.to_owned(),
            algorithm: algorithm.to_owned(),
        });
    }

    let (scheme, value) = digest.split_once('=').ok_or(ResponseError::BadDigest)?;
    if !scheme.trim().eq_ignore_ascii_case("sha-256")
        || STANDARD.decode(value.trim()).ok().as_deref()
            != Some(Sha256::digest(response.body).as_slice())
    {
        return Err(ResponseError::BadDigest);
    }

    let sent = jiff::fmt::rfc2822::DateTimeParser::new()
        .parse_timestamp(date.trim())
        .map_err(|_| ResponseError::MalformedDate(date.to_owned()))?;
    if now.duration_since(sent).abs() > tolerance.abs() {
        return Err(ResponseError::StaleDate {
            date: date.to_owned(),
            now,
            tolerance_secs: tolerance.abs().as_secs(),
        });
    }

    let sig = STANDARD
        .decode(signature)
        .map_err(|_| ResponseError::BadSignature)?;
    let message = signing_string(
        response.method,
        response.target,
        response.host,
        date,
        digest,
    );
    key.verify_sig(alg, message.as_bytes(), &sig)
        .map_err(|_| ResponseError::BadSignature)?;
    Ok(key)
}

/// The headers of a signed response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHeaders {
    /// `Date`.
    pub date: String,
    /// `Digest`.
    pub digest: String,
    /// `Keygen-Signature`.
    pub signature: String,
}

/// Signs a response to `method target` sent to `host`, dated `at`: the `Date`,
/// `Digest` and `Keygen-Signature` headers [`verify_response`] checks.
#[cfg(feature = "sign")]
pub fn sign_response(
    key: &crate::keys::SigningKey,
    method: &str,
    target: &str,
    host: &str,
    at: Timestamp,
    body: &[u8],
    rng: &mut impl rand_core::CryptoRngCore,
) -> Result<ResponseHeaders, crate::error::FormatError> {
    let date = http_date(at);
    let digest = body_digest(body);
    let (algorithm, alg) = algorithm_for(key.algorithm());
    let message = signing_string(method, target, host, &date, &digest);
    let sig = key.sign(alg, message.as_bytes(), rng)?;
    let signature = format!(
        "keyid=\"{}\", algorithm=\"{algorithm}\", signature=\"{}\", headers=\"{SIGNED_HEADERS}\"",
        key.public_key().kid(),
        STANDARD.encode(sig)
    );
    Ok(ResponseHeaders {
        date,
        digest,
        signature,
    })
}

#[cfg(all(test, feature = "sign"))]
mod tests {
    use super::*;
    use crate::keys::SigningKey;

    const TARGET: &str = "/api/check?token=ABC-123&app_id=app&hwid=h1";
    const HOST: &str = "licensing.example.com";
    const BODY: &[u8] = br#"{"result":"ok"}"#;

    fn now() -> Timestamp {
        "2026-11-23T17:00:00Z".parse().unwrap()
    }

    fn signed(key: &SigningKey) -> ResponseHeaders {
        sign_response(key, "GET", TARGET, HOST, now(), BODY, &mut rand_core::OsRng).unwrap()
    }

    fn check(
        h: &ResponseHeaders,
        body: &[u8],
        trusted: &[PublicKey],
        at: Timestamp,
    ) -> Result<String, ResponseError> {
        verify_response(
            &SignedResponse {
                method: "GET",
                target: TARGET,
                host: HOST,
                date: Some(&h.date),
                digest: Some(&h.digest),
                signature: Some(&h.signature),
                body,
            },
            trusted,
            at,
            DEFAULT_DATE_TOLERANCE,
        )
        .map(|k| k.kid())
    }

    #[test]
    fn every_algorithm_round_trips() {
        let keys = [
            SigningKey::generate(&mut rand_core::OsRng),
            SigningKey::generate_p256(&mut rand_core::OsRng),
            SigningKey::generate_rsa(&mut rand_core::OsRng).unwrap(),
        ];
        let trusted: Vec<_> = keys.iter().map(SigningKey::public_key).collect();
        for key in &keys {
            let h = signed(key);
            assert_eq!(check(&h, BODY, &trusted, now()), Ok(key.public_key().kid()));
        }
        let h = signed(&keys[0]);
        assert!(h.signature.contains("algorithm=\"ed25519\""));
        assert!(h
            .signature
            .ends_with("headers=\"(request-target) host date digest\""));
        assert_eq!(h.date, "Mon, 23 Nov 2026 17:00:00 GMT");
    }

    #[test]
    fn keygen_signing_string() {
        assert_eq!(
            signing_string("GET", "/v1/x?limit=1", "api.example", "D", "sha-256=abc"),
            "(request-target): get /v1/x?limit=1\nhost: api.example\ndate: D\ndigest: sha-256=abc"
        );
        // SHA-256 of the empty string.
        assert_eq!(
            body_digest(b""),
            "sha-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
    }

    #[test]
    fn tampered_body_fails_on_the_digest() {
        let key = SigningKey::generate(&mut rand_core::OsRng);
        let h = signed(&key);
        let trusted = [key.public_key()];
        assert_eq!(
            check(&h, br#"{"result":"ok" }"#, &trusted, now()),
            Err(ResponseError::BadDigest)
        );
        // A forger who also fixes the digest breaks the signature.
        let forged_body = br#"{"result":"failure"}"#;
        let forged = ResponseHeaders {
            digest: body_digest(forged_body),
            ..h.clone()
        };
        assert_eq!(
            check(&forged, forged_body, &trusted, now()),
            Err(ResponseError::BadSignature)
        );
    }

    #[test]
    fn tampered_date_target_or_host_fails() {
        let key = SigningKey::generate(&mut rand_core::OsRng);
        let trusted = [key.public_key()];
        let h = signed(&key);
        let moved = ResponseHeaders {
            date: http_date(now() + SignedDuration::from_secs(60)),
            ..h.clone()
        };
        assert_eq!(
            check(&moved, BODY, &trusted, now()),
            Err(ResponseError::BadSignature)
        );
        for (target, host) in [
            ("/api/check?token=OTHER&app_id=app&hwid=h1", HOST),
            (TARGET, "evil.example"),
        ] {
            let r = verify_response(
                &SignedResponse {
                    method: "GET",
                    target,
                    host,
                    date: Some(&h.date),
                    digest: Some(&h.digest),
                    signature: Some(&h.signature),
                    body: BODY,
                },
                &trusted,
                now(),
                DEFAULT_DATE_TOLERANCE,
            );
            assert_eq!(r.map(|k| k.kid()), Err(ResponseError::BadSignature));
        }
    }

    #[test]
    fn stale_or_malformed_dates_are_refused() {
        let key = SigningKey::generate(&mut rand_core::OsRng);
        let trusted = [key.public_key()];
        let h = signed(&key);
        // Within the tolerance either way: accepted.
        for secs in [-299, 299] {
            let at = now() + SignedDuration::from_secs(secs);
            assert!(check(&h, BODY, &trusted, at).is_ok());
        }
        // A replay ten minutes later, or a clock far behind: refused.
        for secs in [600, -600] {
            let at = now() + SignedDuration::from_secs(secs);
            assert!(matches!(
                check(&h, BODY, &trusted, at),
                Err(ResponseError::StaleDate { .. })
            ));
        }
        let bad = ResponseHeaders {
            date: "yesterday".into(),
            ..h
        };
        assert!(matches!(
            check(&bad, BODY, &trusted, now()),
            Err(ResponseError::MalformedDate(_))
        ));
    }

    #[test]
    fn unknown_keys_algorithms_and_missing_headers() {
        let key = SigningKey::generate(&mut rand_core::OsRng);
        let other = SigningKey::generate(&mut rand_core::OsRng);
        let h = signed(&key);
        assert_eq!(
            check(&h, BODY, &[other.public_key()], now()),
            Err(ResponseError::UnknownKey(key.public_key().kid()))
        );
        let trusted = [key.public_key()];
        let wrong_alg = ResponseHeaders {
            signature: h.signature.replace("\"ed25519\"", "\"rsa-pss-sha256\""),
            ..h.clone()
        };
        assert!(matches!(
            check(&wrong_alg, BODY, &trusted, now()),
            Err(ResponseError::AlgorithmMismatch { .. })
        ));
        let hmac = ResponseHeaders {
            signature: h.signature.replace("\"ed25519\"", "\"hmac-sha256\""),
            ..h.clone()
        };
        assert_eq!(
            check(&hmac, BODY, &trusted, now()),
            Err(ResponseError::UnsupportedAlgorithm("hmac-sha256".into()))
        );
        let fewer = ResponseHeaders {
            signature: h.signature.replace(" digest\"", "\""),
            ..h.clone()
        };
        assert!(matches!(
            check(&fewer, BODY, &trusted, now()),
            Err(ResponseError::MalformedSignature(_))
        ));
        for garbage in ["", "keyid=abc", "keyid=\"a\" algorithm=\"b\"", "x=\"1\""] {
            let g = ResponseHeaders {
                signature: garbage.into(),
                ..h.clone()
            };
            assert!(matches!(
                check(&g, BODY, &trusted, now()),
                Err(ResponseError::MalformedSignature(_))
            ));
        }
        let unsigned = verify_response(
            &SignedResponse {
                method: "GET",
                target: TARGET,
                host: HOST,
                date: Some(&h.date),
                digest: Some(&h.digest),
                signature: None,
                body: BODY,
            },
            &trusted,
            now(),
            DEFAULT_DATE_TOLERANCE,
        );
        assert_eq!(
            unsigned.map(|k| k.kid()),
            Err(ResponseError::MissingHeader(SIGNATURE_HEADER))
        );
    }
}
