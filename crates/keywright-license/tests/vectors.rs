//! Keygen's own published files and keys (tests/vectors, see its README): every one
//! must verify and decode to exactly the recorded bytes, and tampered copies must not.

use std::path::PathBuf;

use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use base64::Engine as _;
use jiff::Timestamp;
use keywright_license::{
    keygen_expiry, parse_time, verify_key, Certificate, FileAlgorithm, FileKind, FormatError,
    KeyAlgorithm, KeyDataset, OpenedFile, PublicKey, Scheme, ValidationCode, Verifier,
    DEFAULT_CLOCK_DRIFT,
};
use serde_json::Value;
use sha2::{Digest, Sha256};

const AES: FileAlgorithm = FileAlgorithm::Aes256GcmEd25519;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

fn read(rel: &str) -> Vec<u8> {
    std::fs::read(dir().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn read_text(rel: &str) -> String {
    String::from_utf8(read(rel)).unwrap()
}

fn manifest() -> Vec<Value> {
    let m: Value = serde_json::from_slice(&read("manifest.json")).unwrap();
    m["vectors"].as_array().unwrap().clone()
}

fn str_of<'a>(v: &'a Value, field: &str) -> &'a str {
    v[field]
        .as_str()
        .unwrap_or_else(|| panic!("{}: no {field}", v["id"]))
}

fn is_file(v: &Value) -> bool {
    matches!(str_of(v, "type"), "license-file" | "machine-file")
}

fn kind_of(v: &Value) -> FileKind {
    match str_of(v, "type") {
        "license-file" => FileKind::License,
        "machine-file" => FileKind::Machine,
        other => panic!("not a file: {other}"),
    }
}

fn file_vectors() -> Vec<Value> {
    let files: Vec<Value> = manifest().into_iter().filter(is_file).collect();
    assert_eq!(files.len(), 22, "the manifest lists 22 Ed25519 files");
    files
}

fn public_of(v: &Value) -> PublicKey {
    PublicKey::parse(&read_text(str_of(v, "pubkey"))).unwrap()
}

/// What decrypts the vector: its license key, and its fingerprint for machine files.
fn secret_of(v: &Value) -> (&str, Option<&str>) {
    let key = str_of(v, "license_key");
    match kind_of(v) {
        FileKind::License => (key, None),
        FileKind::Machine => (key, Some(str_of(v, "fingerprint"))),
        other => panic!("no vector is a {other:?} file"),
    }
}

/// Opens `text` as a `kind` file with `public` pinned to `alg`, decrypting with
/// `secret` (license key, fingerprint): the verification without its window.
fn open(
    text: &str,
    kind: FileKind,
    public: &PublicKey,
    alg: FileAlgorithm,
    secret: Option<(&str, Option<&str>)>,
) -> Result<OpenedFile, FormatError> {
    let mut verifier = Verifier::pinned(public, alg, today()).kind(kind);
    if let Some((license_key, fingerprint)) = secret {
        verifier = verifier.license_key(license_key);
        if let Some(fingerprint) = fingerprint {
            verifier = verifier.fingerprint(fingerprint);
        }
    }
    let v = verifier.verify(text);
    v.file.ok_or_else(|| v.error.unwrap())
}

fn time(s: &str) -> Timestamp {
    parse_time(s).unwrap()
}

fn today() -> Timestamp {
    time("2026-11-23T00:00:00Z")
}

#[test]
fn every_file_vector_opens_to_its_exact_payload() {
    for v in file_vectors() {
        let id = str_of(&v, "id");
        assert_eq!(str_of(&v, "alg"), "aes-256-gcm+ed25519", "{id}");
        let text = read_text(str_of(&v, "artifact"));
        let opened = open(&text, kind_of(&v), &public_of(&v), AES, Some(secret_of(&v)))
            .unwrap_or_else(|e| panic!("{id}: {e}"));
        let expected = read(str_of(&v, "expected_payload"));
        assert_eq!(opened.payload, expected, "{id}: payload bytes");
        assert_eq!(
            hex::encode(Sha256::digest(&opened.payload)),
            str_of(&v, "payload_sha256"),
            "{id}: payload sha256"
        );
        assert_eq!(opened.kind, kind_of(&v));
        assert_eq!(opened.alg, AES);

        let meta = &v["meta"];
        assert_eq!(opened.meta.issued, time(str_of(meta, "issued")), "{id}");
        assert_eq!(
            opened.meta.expiry,
            meta["expiry"].as_str().map(time),
            "{id}"
        );
        assert_eq!(opened.meta.ttl, meta["ttl"].as_i64(), "{id}");

        let valid_at = time(str_of(&v, "valid_at"));
        assert_eq!(
            opened.meta.check(valid_at, DEFAULT_CLOCK_DRIFT),
            ValidationCode::Valid,
            "{id}"
        );
        let later = if opened.meta.ttl.is_some() {
            ValidationCode::FileExpired
        } else {
            ValidationCode::Valid
        };
        assert_eq!(
            opened.meta.check(today(), DEFAULT_CLOCK_DRIFT),
            later,
            "{id}"
        );
        // Issued an hour after "now": the clock was turned back.
        let before = time(str_of(meta, "issued")) - jiff::SignedDuration::from_hours(1);
        assert_eq!(
            opened.meta.check(before, DEFAULT_CLOCK_DRIFT),
            ValidationCode::ClockTampered,
            "{id}"
        );

        let public = public_of(&v);
        let (license_key, fingerprint) = secret_of(&v);
        let verify = |now| {
            let verifier = Verifier::pinned(&public, AES, now)
                .kind(kind_of(&v))
                .license_key(license_key);
            match fingerprint {
                Some(fingerprint) => verifier.fingerprint(fingerprint).verify(&text),
                None => verifier.verify(&text),
            }
        };
        let result = verify(valid_at);
        assert_eq!(result.code, ValidationCode::Valid, "{id}");
        assert_eq!(result.file.as_ref().map(|f| &f.payload), Some(&expected));
        let result = verify(today());
        assert_eq!(result.code, later, "{id}");
    }
}

#[test]
fn keygen_expiry_reproduces_every_meta_expiry() {
    let mut checked = 0;
    for v in manifest().iter().filter(|v| is_file(v)) {
        let meta = &v["meta"];
        let Some(ttl) = meta["ttl"].as_i64() else {
            assert!(meta["expiry"].is_null());
            continue;
        };
        let issued = time(str_of(meta, "issued"));
        let expiry = keygen_expiry(issued, ttl).unwrap();
        assert_eq!(expiry, time(str_of(meta, "expiry")), "{}", v["id"]);
        checked += 1;
    }
    // 22 files, 5 with `ttl: null`.
    assert_eq!(checked, 17, "files with a ttl");
}

#[test]
fn certificates_round_trip_byte_for_byte() {
    for v in file_vectors() {
        let text = read_text(str_of(&v, "artifact"));
        let cert = Certificate::parse(&text).unwrap();
        assert_eq!(cert.kind, kind_of(&v));
        assert_eq!(cert.to_text(), text, "{}", v["id"]);
    }
}

#[test]
fn key_vectors_verify_to_their_datasets() {
    let keys: Vec<Value> = manifest()
        .into_iter()
        .filter(|v| str_of(v, "type") == "license-key")
        .collect();
    assert_eq!(keys.len(), 4);
    let mut rsa = 0;
    for v in keys {
        let scheme: Scheme = str_of(&v, "scheme").parse().unwrap();
        let key = read_text(str_of(&v, "artifact"));
        assert!(key.ends_with('\n'));
        let public = public_of(&v);
        let dataset =
            verify_key(&key, &public, scheme).unwrap_or_else(|e| panic!("{}: {e}", v["id"]));
        assert_eq!(dataset, read(str_of(&v, "expected_dataset")), "{}", v["id"]);
        // The key's default scheme is the one Keygen used for every vector.
        assert_eq!(scheme, Scheme::default_for(public.algorithm()));
        if scheme == Scheme::RsaPssSignV2 {
            rsa += 1;
            assert_eq!(str_of(&v, "id"), "example-csharp.rsa-pss-v2-key");
            // Keygen's PSS salt is the maximum, 222 bytes: not a PKCS#1 v1.5 signature.
            assert_eq!(
                verify_key(&key, &public, Scheme::RsaSignV2),
                Err(FormatError::SignatureInvalid)
            );
            let (signed, sig_b64) = key.trim().rsplit_once('.').unwrap();
            let mut sig = URL_SAFE.decode(sig_b64).unwrap();
            assert_eq!(sig.len(), 256);
            for i in [0, 1, 100, 255] {
                sig[i] ^= 0x01;
                let bad = format!("{signed}.{}", URL_SAFE.encode(&sig));
                assert_eq!(
                    verify_key(&bad, &public, scheme),
                    Err(FormatError::SignatureInvalid)
                );
                sig[i] ^= 0x01;
            }
            let other = signed.replacen("eyJ", "eyK", 1);
            assert_eq!(
                verify_key(&format!("{other}.{sig_b64}"), &public, scheme),
                Err(FormatError::SignatureInvalid)
            );
            // An Ed25519 key cannot verify an RSA scheme.
            let ed = PublicKey::parse(&read_text("pubkeys/keygen-demo-ed25519.hex")).unwrap();
            assert!(matches!(
                verify_key(&key, &ed, scheme),
                Err(FormatError::AlgorithmMismatch { .. })
            ));
        }
    }
    assert_eq!(rsa, 1);
}

#[test]
fn key_dataset_serializes_like_keygen() {
    let expected = read("expected/example-java.ed25519-key.dataset.json");
    let parsed = KeyDataset::from_json(&expected).unwrap();
    assert!(parsed.license.expiry.is_some());
    assert_eq!(parsed.to_json(), expected);
    // `{"test":1}` is a custom dataset, not Keygen's default one.
    let custom = read("expected/example-csharp.ed25519-key-test.dataset.json");
    assert!(KeyDataset::from_json(&custom).is_err());
    // The RSA key's dataset is Keygen's default one with no expiry.
    let no_expiry = read("expected/example-csharp.rsa-pss-v2-key.dataset.json");
    let parsed = KeyDataset::from_json(&no_expiry).unwrap();
    assert_eq!(parsed.license.expiry, None);
    assert_eq!(parsed.policy.duration, None);
    assert_eq!(parsed.to_json(), no_expiry);
}

#[test]
fn published_key_forms_agree() {
    let hex = PublicKey::parse(&read_text("pubkeys/keygen-demo-ed25519.hex")).unwrap();
    let spki = PublicKey::parse(&read_text("pubkeys/keygen-demo-ed25519.spki.b64")).unwrap();
    assert_eq!(hex, spki);
    assert_eq!(PublicKey::parse(&hex.to_pem()).unwrap(), hex);
    // RSA: the PEM and Keygen's base64-of-PEM are the same key; kid covers the SPKI DER.
    let pem = read_text("pubkeys/keygen-demo-rsa.pem");
    let rsa = PublicKey::parse(&pem).unwrap();
    assert_eq!(rsa.algorithm(), KeyAlgorithm::Rsa2048);
    let b64 = PublicKey::parse(&read_text("pubkeys/keygen-demo-rsa.pem.b64")).unwrap();
    assert_eq!(rsa, b64);
    assert_eq!(rsa.to_pem(), pem);
    let der: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = STANDARD.decode(der).unwrap();
    assert_eq!(rsa.to_spki_der(), der);
    assert_eq!(rsa.kid(), hex::encode(&Sha256::digest(&der)[..8]));
    assert_ne!(rsa, hex);
}

#[test]
fn key_signature_bytes_are_all_checked() {
    for v in manifest()
        .iter()
        .filter(|v| v["scheme"].as_str() == Some("ED25519_SIGN"))
    {
        let key = read_text(str_of(v, "artifact"));
        let key = key.trim();
        let public = public_of(v);
        let (signed, sig_b64) = key.rsplit_once('.').unwrap();
        let sig = URL_SAFE.decode(sig_b64).unwrap();
        assert_eq!(sig.len(), 64);
        for i in 0..sig.len() {
            let mut bad = sig.clone();
            bad[i] ^= 0x01;
            let tampered = format!("{signed}.{}", URL_SAFE.encode(&bad));
            assert_eq!(
                verify_key(&tampered, &public, Scheme::Ed25519Sign),
                Err(FormatError::SignatureInvalid)
            );
        }
        // A changed dataset breaks the signature too.
        let data = URL_SAFE
            .decode(signed.strip_prefix("key/").unwrap())
            .unwrap();
        let mut bad = data.clone();
        bad[0] ^= 0x01;
        let tampered = format!("key/{}.{sig_b64}", URL_SAFE.encode(&bad));
        assert_eq!(
            verify_key(&tampered, &public, Scheme::Ed25519Sign),
            Err(FormatError::SignatureInvalid)
        );
        // Unpadded base64url is not canonical.
        if signed.ends_with('=') {
            let unpadded = format!("{}.{sig_b64}", signed.trim_end_matches('='));
            assert!(verify_key(&unpadded, &public, Scheme::Ed25519Sign).is_err());
        }
    }
}

fn with_enc(cert: &Certificate, enc: String) -> String {
    Certificate {
        enc,
        ..cert.clone()
    }
    .to_text()
}

fn split_enc(enc: &str) -> [Vec<u8>; 3] {
    let parts: Vec<Vec<u8>> = enc
        .split('.')
        .map(|p| STANDARD.decode(p).unwrap())
        .collect();
    parts.try_into().unwrap()
}

fn join_enc(parts: &[Vec<u8>; 3]) -> String {
    parts
        .iter()
        .map(|p| STANDARD.encode(p))
        .collect::<Vec<_>>()
        .join(".")
}

/// Indices to flip in a part: all of short parts, a spread sample of long ones
/// (each flip costs a full signature check).
fn sample(len: usize) -> Vec<usize> {
    if len <= 64 {
        (0..len).collect()
    } else {
        let mut v: Vec<usize> = (0..len).step_by(len / 24).collect();
        v.push(len - 1);
        v
    }
}

#[test]
fn tampered_files_are_rejected() {
    for v in file_vectors() {
        let id = str_of(&v, "id");
        let kind = kind_of(&v);
        let text = read_text(str_of(&v, "artifact"));
        let public = public_of(&v);
        let secret = secret_of(&v);
        let cert = Certificate::parse(&text).unwrap();
        let try_open = |t: &str| open(t, kind, &public, AES, Some(secret)).map(|_| ());

        // Every byte of the signature.
        let sig = STANDARD.decode(&cert.sig).unwrap();
        assert_eq!(sig.len(), 64);
        for i in 0..sig.len() {
            let mut bad = sig.clone();
            bad[i] ^= 0x80;
            let t = Certificate {
                sig: STANDARD.encode(&bad),
                ..cert.clone()
            }
            .to_text();
            assert_eq!(
                try_open(&t),
                Err(FormatError::SignatureInvalid),
                "{id} sig[{i}]"
            );
        }

        // Ciphertext, IV and tag bytes: the signature covers enc, so all are caught.
        let parts = split_enc(&cert.enc);
        assert_eq!(parts[1].len(), 12, "{id} iv");
        assert_eq!(parts[2].len(), 16, "{id} tag");
        for p in 0..3 {
            for i in sample(parts[p].len()) {
                let mut bad = parts.clone();
                bad[p][i] ^= 0x01;
                let t = with_enc(&cert, join_enc(&bad));
                assert_eq!(
                    try_open(&t),
                    Err(FormatError::SignatureInvalid),
                    "{id} part {p}[{i}]"
                );
            }
        }

        // Wrong secrets.
        let (key, fingerprint) = secret;
        let (wrong_key, wrong_fp) = (format!("{key}x"), fingerprint.map(|f| format!("{f}x")));
        let wrong = match kind {
            FileKind::License => (wrong_key.as_str(), None),
            FileKind::Machine => (key, wrong_fp.as_deref()),
            other => panic!("no vector is a {other:?} file"),
        };
        assert_eq!(
            open(&text, kind, &public, AES, Some(wrong)),
            Err(FormatError::DecryptionFailed),
            "{id}"
        );
        if kind == FileKind::Machine {
            // The license key alone does not open a machine file: SHA-256 of the key
            // (what an empty fingerprint gives) does not decrypt it, and without a
            // fingerprint there is nothing to decrypt with.
            let license_only = (key, Some(""));
            assert_eq!(
                open(&text, kind, &public, AES, Some(license_only)),
                Err(FormatError::DecryptionFailed)
            );
            let no_fingerprint = (key, None);
            assert_eq!(
                open(&text, kind, &public, AES, Some(no_fingerprint)),
                Err(FormatError::KeyRequired)
            );
        }
        assert_eq!(
            open(&text, kind, &public, AES, None),
            Err(FormatError::KeyRequired)
        );

        // alg is not signed: the pin decides.
        let relabelled = Certificate {
            alg: "base64+ed25519".into(),
            ..cert.clone()
        }
        .to_text();
        let err = try_open(&relabelled).unwrap_err();
        assert!(
            matches!(err, FormatError::AlgorithmMismatch { .. }),
            "{id}: {err}"
        );
        assert_eq!(err.code(), ValidationCode::AlgorithmMismatch);
        assert_eq!(
            open(&text, kind, &public, FileAlgorithm::Base64Ed25519, None).unwrap_err(),
            FormatError::AlgorithmMismatch {
                expected: "base64+ed25519".into(),
                found: "aes-256-gcm+ed25519".into()
            }
        );

        // License <-> machine header swap.
        let other = match kind {
            FileKind::License => FileKind::Machine,
            FileKind::Machine => FileKind::License,
            other => panic!("no vector is a {other:?} file"),
        };
        let swapped = Certificate {
            kind: other,
            ..cert.clone()
        }
        .to_text();
        assert_eq!(
            try_open(&swapped),
            Err(FormatError::WrongKind {
                expected: kind,
                found: other
            })
        );
        // Even when the caller asks for the swapped kind, the signature prefix differs.
        assert_eq!(
            open(&swapped, other, &public, AES, Some(secret)),
            Err(FormatError::SignatureInvalid)
        );

        // Another key.
        let docs = PublicKey::parse(&read_text("pubkeys/keygen-docs-ed25519.hex")).unwrap();
        assert_eq!(
            open(&text, kind, &docs, AES, Some(secret)),
            Err(FormatError::SignatureInvalid)
        );
    }
}

/// With a key we control, a changed ciphertext can be re-signed: decryption must
/// then fail on its own (the GCM tag), independently of the signature.
#[cfg(feature = "sign")]
#[test]
fn decryption_is_checked_independently_of_the_signature() {
    use keywright_license::issue::SigningKey;

    let ours = SigningKey::from_seed(&[42u8; 32]).unwrap();
    let ours_public = ours.public_key();
    let sign = |cert: &Certificate| {
        let sig = ed25519_sign(&ours, &cert.signed_data());
        Certificate {
            sig: STANDARD.encode(sig),
            ..cert.clone()
        }
        .to_text()
    };
    for v in file_vectors() {
        let id = str_of(&v, "id");
        let kind = kind_of(&v);
        let secret = secret_of(&v);
        let cert = Certificate::parse(&read_text(str_of(&v, "artifact"))).unwrap();
        // Re-signed but unchanged: opens to the same payload under our key.
        let resigned = sign(&cert);
        let opened = open(&resigned, kind, &ours_public, AES, Some(secret)).unwrap();
        assert_eq!(opened.payload, read(str_of(&v, "expected_payload")));

        let parts = split_enc(&cert.enc);
        for p in 0..3 {
            for i in sample(parts[p].len()).into_iter().take(8) {
                let mut bad = parts.clone();
                bad[p][i] ^= 0x01;
                let t = sign(&Certificate {
                    enc: join_enc(&bad),
                    ..cert.clone()
                });
                assert_eq!(
                    open(&t, kind, &ours_public, AES, Some(secret)),
                    Err(FormatError::DecryptionFailed),
                    "{id} part {p}[{i}]"
                );
            }
        }
        // A truncated IV is malformed, not a decryption failure.
        let mut short = parts.clone();
        short[1].pop();
        let t = sign(&Certificate {
            enc: join_enc(&short),
            ..cert.clone()
        });
        assert_eq!(
            open(&t, kind, &ours_public, AES, Some(secret)),
            Err(FormatError::MalformedEnc)
        );
    }
}

/// Raw Ed25519 over `msg` with the same seed, to re-sign altered files with a key we
/// control (the crate itself only signs whole keys and files).
#[cfg(feature = "sign")]
fn ed25519_sign(key: &keywright_license::issue::SigningKey, msg: &[u8]) -> [u8; 64] {
    use ed25519_dalek::Signer as _;
    ed25519_dalek::SigningKey::from_bytes(&key.seed_bytes())
        .sign(msg)
        .to_bytes()
}
