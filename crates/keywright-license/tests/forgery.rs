//! Forgery resistance in figures: every key scheme and every file algorithm (license
//! and machine files) gets a valid artifact, which is then mutated (every single-bit
//! flip, byte inserts, deletes, truncations, `enc`/`sig` swaps and splices, `alg`
//! rewrites, header swaps, bit flips inside the decoded payload and signature) and
//! handed to the verifier. The rule: a mutant is rejected, or — when the mutation only
//! touched what the format tolerates (surrounding whitespace, line breaks inside a
//! file's base64) — it is accepted with exactly the original payload bytes. Anything
//! else is a forgery and fails the test.
//!
//! The mutations are deterministic (a seeded xorshift), so a failure is reproducible.
//! `cargo test -p keywright-license --test forgery -- --nocapture` prints the totals;
//! `docs/reliability.md` records them.
#![cfg(feature = "sign")]

use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::Instant;

use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine as _;
use keywright_license::issue::{seal, sign_key, EncryptionSecret, SigningKey};
use keywright_license::{
    parse_time, verify_key, Certificate, FileAlgorithm, FileKind, KeyAlgorithm, PublicKey, Scheme,
    Verifier,
};
use rand_core::OsRng;

/// Random edits (one insert, one delete, one byte replacement each) per artifact,
/// beyond the exhaustive families. RSA and P-256 verification are the slow part in a
/// debug build, so their artifacts get fewer (each still gets ≥ 4,000 mutants).
const RANDOM_EDITS_ED25519: usize = 2_000;
const RANDOM_EDITS_SLOW: usize = 250;
/// What the encrypted files are sealed for (machine files: both).
const LICENSE_KEY: &str = "KEY-1234";
const FINGERPRINT: &str = "fingerprint-1";
/// The minimum the suite promises.
const MIN_TOTAL: u64 = 100_000;
const MIN_PER_TARGET: u64 = 1_000;

/// One signing key per algorithm, made once per test binary (RSA generation is slow).
fn key(alg: KeyAlgorithm) -> &'static SigningKey {
    static ED: OnceLock<SigningKey> = OnceLock::new();
    static RSA: OnceLock<SigningKey> = OnceLock::new();
    static P256: OnceLock<SigningKey> = OnceLock::new();
    match alg {
        KeyAlgorithm::Ed25519 => ED.get_or_init(|| SigningKey::generate(&mut OsRng)),
        KeyAlgorithm::Rsa2048 => RSA.get_or_init(|| SigningKey::generate_rsa(&mut OsRng).unwrap()),
        KeyAlgorithm::EcdsaP256 => P256.get_or_init(|| SigningKey::generate_p256(&mut OsRng)),
        _ => unreachable!("no other key algorithm"),
    }
}

/// xorshift64*: tiny, seeded, good enough to pick positions and bytes.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    /// A byte an attacker would plausibly insert: base64, separators, whitespace or any.
    fn byte(&mut self) -> u8 {
        const ALPHABET: &[u8] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_=.";
        match self.below(10) {
            0..=4 => ALPHABET[self.below(ALPHABET.len())],
            5 | 6 => b" \n\r\t"[self.below(4)],
            _ => self.next() as u8,
        }
    }
}

/// What the verifier is asked to accept.
enum Target {
    Key {
        scheme: Scheme,
        text: String,
        dataset: Vec<u8>,
        /// Another valid key of the same scheme (for splices).
        sibling: String,
    },
    File {
        alg: FileAlgorithm,
        kind: FileKind,
        text: String,
        payload: Vec<u8>,
        sibling: String,
    },
}

impl Target {
    fn name(&self) -> String {
        match self {
            Target::Key { scheme, .. } => format!("key {scheme}"),
            Target::File { alg, kind, .. } => format!("{kind} {alg}"),
        }
    }
    fn text(&self) -> &str {
        match self {
            Target::Key { text, .. } | Target::File { text, .. } => text,
        }
    }
    fn is_slow(&self) -> bool {
        let alg = match self {
            Target::Key { scheme, .. } => scheme.key_algorithm(),
            Target::File { alg, .. } => alg.key_algorithm(),
        };
        alg != KeyAlgorithm::Ed25519
    }
}

#[derive(Default, Clone)]
struct Count {
    mutants: u64,
    /// Accepted because the mutation only touched tolerated whitespace: same payload.
    tolerated: u64,
}

#[derive(Default)]
struct Tally {
    by_family: BTreeMap<&'static str, Count>,
    forgeries: Vec<String>,
}

impl Tally {
    fn merge(&mut self, other: Tally) {
        for (family, c) in other.by_family {
            let e = self.by_family.entry(family).or_default();
            e.mutants += c.mutants;
            e.tolerated += c.tolerated;
        }
        self.forgeries.extend(other.forgeries);
    }
    fn total(&self) -> u64 {
        self.by_family.values().map(|c| c.mutants).sum()
    }
}

/// Runs one mutant through the verifier the target is pinned to.
fn check(target: &Target, tally: &mut Tally, family: &'static str, mutant: &[u8]) {
    check_as(target, tally, family, mutant, None);
}

/// Like [`check`], but lets the verifier be configured for another scheme or file
/// algorithm than the one that produced the artifact (`alg` rewrites).
fn check_as(
    target: &Target,
    tally: &mut Tally,
    family: &'static str,
    mutant: &[u8],
    pinned: Option<Pinned>,
) {
    // A verifier reads text; invalid UTF-8 reaches it as replacement characters.
    let text = String::from_utf8_lossy(mutant);
    let count = tally.by_family.entry(family).or_default();
    count.mutants += 1;
    let (accepted, original) = match target {
        Target::Key {
            scheme, dataset, ..
        } => {
            let scheme = match pinned {
                Some(Pinned::Scheme(s)) => s,
                _ => *scheme,
            };
            let public = key(scheme.key_algorithm()).public_key();
            (verify_key(&text, &public, scheme).ok(), dataset)
        }
        Target::File {
            alg, kind, payload, ..
        } => {
            let (alg, kind) = match pinned {
                Some(Pinned::File(a, k)) => (a, k),
                _ => (*alg, *kind),
            };
            let public = key(alg.key_algorithm()).public_key();
            // The file's own window does not matter here: an opened file is accepted.
            let now = parse_time("2024-06-01T00:00:00Z").unwrap();
            let verifier = Verifier::pinned(&public, alg, now)
                .kind(kind)
                .license_key(LICENSE_KEY)
                .fingerprint(FINGERPRINT);
            (verifier.verify(&text).file.map(|o| o.payload), payload)
        }
    };
    match accepted {
        None => {}
        Some(bytes) if &bytes == original => count.tolerated += 1,
        Some(bytes) => tally.forgeries.push(format!(
            "{} / {family}: accepted {:?} with payload {:?}",
            target.name(),
            text,
            String::from_utf8_lossy(&bytes)
        )),
    }
}

#[derive(Clone, Copy)]
enum Pinned {
    Scheme(Scheme),
    File(FileAlgorithm, FileKind),
}

fn dataset(n: u32) -> Vec<u8> {
    // Under RSA_2048_PKCS1_ENCRYPT's 245-byte limit.
    format!(
        r#"{{"id":"2d5b8b46-7f2a-4b5e-9c3a-{n:012}","created":"2024-01-01T00:00:00.000Z","expiry":null,"ent":["PRO","EXPORT"]}}"#
    )
    .into_bytes()
}

fn payload(n: u32) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "data": {"type": "licenses", "id": format!("lic-{n}"),
                 "attributes": {"key": "key/abc", "status": "ACTIVE", "entitlements": ["PRO"]}},
        "meta": {"issued": "2024-01-01T00:00:00.000Z", "expiry": "2025-01-01T00:00:00.000Z", "ttl": 2_592_000}
    }))
    .unwrap()
}

fn targets() -> Vec<Target> {
    let mut out = Vec::new();
    for scheme in Scheme::ALL {
        let k = key(scheme.key_algorithm());
        let dataset = dataset(1);
        let text = sign_key(scheme, &dataset, k, &mut OsRng).unwrap();
        let sibling = sign_key(scheme, &self::dataset(2), k, &mut OsRng).unwrap();
        out.push(Target::Key {
            scheme,
            text,
            dataset,
            sibling,
        });
    }
    for alg in FileAlgorithm::ALL {
        for kind in [FileKind::License, FileKind::Machine] {
            let k = key(alg.key_algorithm());
            let secret = alg.is_encrypted().then(|| match kind {
                FileKind::License => EncryptionSecret::for_license(LICENSE_KEY),
                _ => EncryptionSecret::for_machine(LICENSE_KEY, FINGERPRINT),
            });
            let payload = payload(1);
            let text = seal(kind, &payload, alg, k, secret.as_ref(), &mut OsRng).unwrap();
            let sibling =
                seal(kind, &self::payload(2), alg, k, secret.as_ref(), &mut OsRng).unwrap();
            out.push(Target::File {
                alg,
                kind,
                text,
                payload,
                sibling,
            });
        }
    }
    out
}

/// Mutations that apply to any text: every bit flip, every truncation, random
/// inserts and deletes.
fn text_mutants(target: &Target, tally: &mut Tally, rng: &mut Rng) {
    let original = target.text().as_bytes().to_vec();
    let len = original.len();
    let mut m = original.clone();
    for i in 0..len {
        for bit in 0..8 {
            m[i] ^= 1 << bit;
            check(target, tally, "bit flip", &m);
            m[i] ^= 1 << bit;
        }
    }
    for n in 0..len {
        check(target, tally, "truncate", &original[..n]);
        check(target, tally, "truncate", &original[n + 1..]);
    }
    let edits = if target.is_slow() {
        RANDOM_EDITS_SLOW
    } else {
        RANDOM_EDITS_ED25519
    };
    for _ in 0..edits {
        let mut m = original.clone();
        for _ in 0..=rng.below(2) {
            let at = rng.below(m.len() + 1);
            m.insert(at, rng.byte());
        }
        check(target, tally, "insert", &m);

        let mut m = original.clone();
        let at = rng.below(len);
        let n = 1 + rng.below(4.min(len - at));
        m.drain(at..at + n);
        check(target, tally, "delete", &m);

        // A byte replaced by a random one (several bits at once).
        let mut m = original.clone();
        let at = rng.below(len);
        let b = rng.byte();
        if m[at] != b {
            m[at] = b;
            check(target, tally, "byte replace", &m);
        }
    }
}

/// Flips every bit of `bytes` (decoded payload or signature), re-encodes with
/// `encode` and checks the result: these mutants all reach the cryptography.
fn inner_flips(
    target: &Target,
    tally: &mut Tally,
    family: &'static str,
    bytes: &[u8],
    encode: &dyn Fn(&[u8]) -> String,
) {
    let mut b = bytes.to_vec();
    for i in 0..b.len() {
        for bit in 0..8 {
            b[i] ^= 1 << bit;
            check(target, tally, family, encode(&b).as_bytes());
            b[i] ^= 1 << bit;
        }
    }
}

fn key_mutants(target: &Target, tally: &mut Tally) {
    let Target::Key {
        scheme,
        text,
        sibling,
        ..
    } = target
    else {
        unreachable!()
    };
    let scheme = *scheme;
    // `alg` rewrites: the same text checked as every other scheme of the same key
    // algorithm (a verifier configured for another scheme must not accept it).
    for other in Scheme::ALL {
        if other != scheme && other.key_algorithm() == scheme.key_algorithm() {
            check_as(
                target,
                tally,
                "alg rewrite",
                text.as_bytes(),
                Some(Pinned::Scheme(other)),
            );
        }
    }
    match scheme {
        Scheme::RsaEncrypt => {
            let block = URL_SAFE.decode(text).unwrap();
            inner_flips(target, tally, "signature bytes", &block, &|b| {
                URL_SAFE.encode(b)
            });
            // Splice: halves of two valid blocks.
            let other = URL_SAFE.decode(sibling).unwrap();
            let mut mixed = block[..128].to_vec();
            mixed.extend_from_slice(&other[128..]);
            check(
                target,
                tally,
                "field swap",
                URL_SAFE.encode(mixed).as_bytes(),
            );
        }
        Scheme::RsaJwtRs256 => {
            let parts: Vec<&str> = text.split('.').collect();
            let sib: Vec<&str> = sibling.split('.').collect();
            let claims = URL_SAFE_NO_PAD.decode(parts[1]).unwrap();
            let sig = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
            inner_flips(target, tally, "payload bytes", &claims, &|b| {
                format!("{}.{}.{}", parts[0], URL_SAFE_NO_PAD.encode(b), parts[2])
            });
            inner_flips(target, tally, "signature bytes", &sig, &|b| {
                format!("{}.{}.{}", parts[0], parts[1], URL_SAFE_NO_PAD.encode(b))
            });
            for (a, b, c) in [
                (parts[0], parts[2], parts[1]),
                (parts[0], sib[1], parts[2]),
                (parts[0], parts[1], sib[2]),
                (parts[1], parts[0], parts[2]),
            ] {
                check(
                    target,
                    tally,
                    "field swap",
                    format!("{a}.{b}.{c}").as_bytes(),
                );
            }
            // The header's `alg`: none, HMAC, other RSA digests, or missing.
            for header in [
                r#"{"alg":"none"}"#,
                r#"{"alg":"HS256"}"#,
                r#"{"alg":"RS512"}"#,
                r#"{"alg":"PS256"}"#,
                r#"{"alg":"ES256"}"#,
                r#"{"alg":"RS256","typ":"JWT"}"#,
                r#"{}"#,
            ] {
                let h = URL_SAFE_NO_PAD.encode(header);
                for sig in [parts[2], ""] {
                    let forged = format!("{h}.{}.{sig}", parts[1]);
                    check(target, tally, "alg rewrite", forged.as_bytes());
                }
            }
        }
        _ => {
            // `key/<data>.<sig>` (V2, Ed25519, P-256) or `<data>.<sig>` (legacy).
            let (signed, sig_b64) = text.rsplit_once('.').unwrap();
            let prefix = if signed.starts_with("key/") {
                "key/"
            } else {
                ""
            };
            let data_b64 = &signed[prefix.len()..];
            let data = URL_SAFE.decode(data_b64).unwrap();
            let sig = URL_SAFE.decode(sig_b64).unwrap();
            inner_flips(target, tally, "payload bytes", &data, &|b| {
                format!("{prefix}{}.{sig_b64}", URL_SAFE.encode(b))
            });
            inner_flips(target, tally, "signature bytes", &sig, &|b| {
                format!("{signed}.{}", URL_SAFE.encode(b))
            });
            let (sib_signed, sib_sig) = sibling.rsplit_once('.').unwrap();
            let sib_data = &sib_signed[prefix.len()..];
            for forged in [
                format!("{prefix}{sig_b64}.{data_b64}"),
                format!("{prefix}{sib_data}.{sig_b64}"),
                format!("{signed}.{sib_sig}"),
                format!("{prefix}{data_b64}.{sig_b64}.{sig_b64}"),
                format!("{prefix}{data_b64}"),
            ] {
                check(target, tally, "field swap", forged.as_bytes());
            }
            // The `key/` prefix: removed, added, or another artifact's.
            for p in ["", "key/", "kEy/", "license/", "machine/", "key//", " key/"] {
                if p != prefix {
                    let forged = format!("{p}{data_b64}.{sig_b64}");
                    check(target, tally, "header swap", forged.as_bytes());
                }
            }
        }
    }
}

fn file_mutants(target: &Target, tally: &mut Tally) {
    let Target::File {
        alg,
        kind,
        text,
        sibling,
        ..
    } = target
    else {
        unreachable!()
    };
    let cert = Certificate::parse(text).unwrap();
    let sib = Certificate::parse(sibling).unwrap();
    let with = |f: &dyn Fn(&mut Certificate)| {
        let mut c = cert.clone();
        f(&mut c);
        c.to_text()
    };

    // Inside the envelope: these reach the signature check.
    let sig = STANDARD.decode(&cert.sig).unwrap();
    inner_flips(target, tally, "signature bytes", &sig, &|b| {
        with(&|c| c.sig = STANDARD.encode(b))
    });
    if alg.is_encrypted() {
        // ciphertext.iv.tag: flip bits of each part.
        let parts: Vec<Vec<u8>> = cert
            .enc
            .split('.')
            .map(|p| STANDARD.decode(p).unwrap())
            .collect();
        for i in 0..3 {
            inner_flips(target, tally, "payload bytes", &parts[i], &|b| {
                let enc: Vec<String> = (0..3)
                    .map(|j| STANDARD.encode(if j == i { b } else { &parts[j] }))
                    .collect();
                with(&|c| c.enc = enc.join("."))
            });
        }
        // Parts reordered.
        let p: Vec<&str> = cert.enc.split('.').collect();
        for order in [[1, 0, 2], [0, 2, 1], [2, 1, 0]] {
            let enc = format!("{}.{}.{}", p[order[0]], p[order[1]], p[order[2]]);
            check(
                target,
                tally,
                "field swap",
                with(&|c| c.enc = enc.clone()).as_bytes(),
            );
        }
    } else {
        let bytes = STANDARD.decode(&cert.enc).unwrap();
        inner_flips(target, tally, "payload bytes", &bytes, &|b| {
            with(&|c| c.enc = STANDARD.encode(b))
        });
    }

    // Field swaps and splices with a sibling file signed by the same key.
    let swaps: [&dyn Fn(&mut Certificate); 6] = [
        &|c| std::mem::swap(&mut c.enc, &mut c.sig),
        &|c| c.enc = sib.enc.clone(),
        &|c| c.sig = sib.sig.clone(),
        &|c| std::mem::swap(&mut c.sig, &mut c.alg),
        &|c| c.sig = String::new(),
        &|c| c.enc = String::new(),
    ];
    for f in swaps {
        check(target, tally, "field swap", with(f).as_bytes());
    }

    // `alg` rewrites: to every other algorithm name (checked both by a verifier
    // pinned to the original algorithm and by one pinned to the rewritten name) and
    // to names that are not Keygen's.
    for other in FileAlgorithm::ALL {
        if other == *alg {
            continue;
        }
        let forged = with(&|c| c.alg = other.as_str().to_owned());
        check(target, tally, "alg rewrite", forged.as_bytes());
        check_as(
            target,
            tally,
            "alg rewrite",
            forged.as_bytes(),
            Some(Pinned::File(other, *kind)),
        );
        // The original text, read by a verifier pinned to another algorithm.
        check_as(
            target,
            tally,
            "alg rewrite",
            text.as_bytes(),
            Some(Pinned::File(other, *kind)),
        );
    }
    for name in [
        "",
        "none",
        "ed25519",
        "BASE64+ED25519",
        "base64+ed25519 ",
        "aes-256-gcm+none",
        "base64+hs256",
    ] {
        let forged = with(&|c| c.alg = name.to_owned());
        check(target, tally, "alg rewrite", forged.as_bytes());
    }

    // Header swaps: the other kind (both header and footer, or only one), read as
    // either kind, and headers that are not Keygen's.
    let other_kind = match kind {
        FileKind::License => FileKind::Machine,
        _ => FileKind::License,
    };
    let relabelled = with(&|c| c.kind = other_kind);
    for k in [*kind, other_kind] {
        check_as(
            target,
            tally,
            "header swap",
            relabelled.as_bytes(),
            Some(Pinned::File(*alg, k)),
        );
        check_as(
            target,
            tally,
            "header swap",
            text.as_bytes(),
            Some(Pinned::File(*alg, other_kind)),
        );
    }
    let word = kind.header_word();
    let other_word = other_kind.header_word();
    let header_only = text.replacen(word, other_word, 1);
    let footer_only = {
        let at = text.rfind(word).unwrap();
        format!("{}{other_word}{}", &text[..at], &text[at + word.len()..])
    };
    for forged in [
        header_only,
        footer_only,
        text.replace("-----BEGIN", "-----START"),
        text.replace(" FILE-----", " FILE----"),
        text.replace("-----END", "----END"),
        text.replace(word, &word.to_lowercase()),
        format!("{text}{text}"),
        format!("{text}{sibling}"),
        format!("{text}trailing"),
    ] {
        check(target, tally, "header swap", forged.as_bytes());
    }
}

#[test]
fn no_mutant_of_a_valid_key_or_file_is_accepted() {
    let started = Instant::now();
    // Keys first (RSA generation), outside the timed mutation work.
    for alg in [
        KeyAlgorithm::Ed25519,
        KeyAlgorithm::Rsa2048,
        KeyAlgorithm::EcdsaP256,
    ] {
        key(alg);
    }
    let keygen = started.elapsed();
    let targets = targets();
    let mutated = Instant::now();
    let results: Vec<(String, Tally, std::time::Duration)> = std::thread::scope(|s| {
        let handles: Vec<_> = targets
            .iter()
            .enumerate()
            .map(|(i, target)| {
                s.spawn(move || {
                    let t0 = Instant::now();
                    let mut tally = Tally::default();
                    let mut rng = Rng::new(0x5eed_0000 + i as u64);
                    // Sanity: the unmutated artifact verifies.
                    check(target, &mut tally, "original", target.text().as_bytes());
                    assert_eq!(
                        tally.by_family["original"].tolerated,
                        1,
                        "{}",
                        target.name()
                    );
                    text_mutants(target, &mut tally, &mut rng);
                    match target {
                        Target::Key { .. } => key_mutants(target, &mut tally),
                        Target::File { .. } => file_mutants(target, &mut tally),
                    }
                    tally.by_family.remove("original");
                    (target.name(), tally, t0.elapsed())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });

    let mut total = Tally::default();
    println!("forgery: mutants per target");
    for (name, tally, took) in results {
        let n = tally.total();
        let tolerated: u64 = tally.by_family.values().map(|c| c.tolerated).sum();
        println!(
            "  {name:<40} {n:>7} mutants, {tolerated:>4} tolerated (same payload), {took:>7.1?}"
        );
        assert!(n >= MIN_PER_TARGET, "{name}: only {n} mutants");
        total.merge(tally);
    }
    println!("forgery: mutants per family");
    for (family, c) in &total.by_family {
        println!(
            "  {family:<16} {:>8} mutants, {:>6} tolerated, 0 forged",
            c.mutants, c.tolerated
        );
    }
    println!(
        "forgery: {} mutants over {} targets, {} forgeries; keygen {:.1?}, mutation {:.1?}",
        total.total(),
        targets.len(),
        total.forgeries.len(),
        keygen,
        mutated.elapsed()
    );
    assert!(
        total.forgeries.is_empty(),
        "{} forgeries, first: {}",
        total.forgeries.len(),
        total
            .forgeries
            .iter()
            .take(5)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(total.total() >= MIN_TOTAL, "only {} mutants", total.total());
}

#[test]
fn the_public_key_is_not_the_only_thing_that_matters() {
    // A valid artifact under another key of the same algorithm is not accepted: the
    // mutants above are checked against the one key that signed them.
    let other = SigningKey::generate(&mut OsRng);
    let text = sign_key(Scheme::Ed25519Sign, b"data", &other, &mut OsRng).unwrap();
    let public: PublicKey = key(KeyAlgorithm::Ed25519).public_key();
    assert!(verify_key(&text, &public, Scheme::Ed25519Sign).is_err());
}
