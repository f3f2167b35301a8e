//! Sign / verify / encode / decode for every license key scheme and every license file
//! algorithm, with raw ed25519-dalek signing and verifying as the baseline in the same
//! run (the targets in issue 7 are ratios to it).
//!
//!   cargo bench -p keywright-license --bench formats     # figures (target/criterion/)
//!   cargo test -p keywright-license --bench formats      # smoke: each routine once
//!   scripts/bench.sh                                     # + ratios into docs/benchmarks.md
//!
//! Groups and what each routine covers:
//! - `baseline`: `ed25519-dalek` `sign`, `verify` and `verify_strict` (what the crate
//!   uses) over the same bytes a license file's signature covers, and over 64 bytes.
//! - `key/sign/<SCHEME>`, `key/verify/<SCHEME>`: `issue::sign_key` / `verify_key`
//!   on Keygen's default dataset (the `RSA_2048_PKCS1_ENCRYPT` and JWT schemes on their
//!   own default datasets).
//! - `key/encode`, `key/decode`: the dataset JSON alone (`KeyDataset::to_json` /
//!   `from_json`), no signature.
//! - `file/seal/<alg>` (encode: encrypt or base64 + sign + certificate text),
//!   `file/verify/<alg>` (decode: `Verifier::verify`, i.e. parse + verify + decrypt +
//!   read `meta` + validity window), and `file/validate/<alg>`: what an application
//!   calls, `Verifier::validate` (verify, then read the license document and check
//!   it). The payload is Keygen's own license document from `tests/vectors` (9.2 KB
//!   of JSON, with its `included` resources).
//! - `file/encode`, `file/decode`: the certificate envelope alone (`Certificate::to_text`
//!   / `Certificate::parse`), no crypto.

use std::hint::black_box;

use criterion::{criterion_group, Criterion};
use ed25519_dalek::{Signer as _, Verifier as _};
use keywright_license::issue::{seal, sign_key, EncryptionSecret, SigningKey};
use keywright_license::{
    parse_time, verify_key, Certificate, EncryptDataset, FileAlgorithm, FileKind, IdRef, JwtClaims,
    KeyAlgorithm, KeyDataset, LicenseRef, PolicyRef, Scheme, UserRef, Verifier,
};
use rand_core::OsRng;

/// Keygen's decrypted `example-rust.license.lic`: a real license file payload.
const PAYLOAD: &str = include_str!("../tests/vectors/expected/example-rust.license.payload.json");
/// A small document (2.1 KB, Keygen's Java example), for the ratio at a common size.
const SMALL_PAYLOAD: &str =
    include_str!("../tests/vectors/expected/example-java.license.payload.json");
const LICENSE_KEY: &str = "988214-879010-F1185E-B37E91-E53AF5-V3";

struct Keys {
    ed25519: SigningKey,
    rsa: SigningKey,
    p256: SigningKey,
}

impl Keys {
    /// One set of keys for the whole run (RSA key generation is slow).
    fn new() -> &'static Self {
        static KEYS: std::sync::OnceLock<Keys> = std::sync::OnceLock::new();
        KEYS.get_or_init(|| Keys {
            ed25519: SigningKey::generate(&mut OsRng),
            rsa: SigningKey::generate_rsa(&mut OsRng).expect("RSA key"),
            p256: SigningKey::generate_p256(&mut OsRng),
        })
    }

    fn for_alg(&self, alg: KeyAlgorithm) -> &SigningKey {
        match alg {
            KeyAlgorithm::Ed25519 => &self.ed25519,
            KeyAlgorithm::Rsa2048 => &self.rsa,
            KeyAlgorithm::EcdsaP256 => &self.p256,
            other => panic!("no benchmark key for {other:?}"),
        }
    }
}

fn dataset_for(scheme: Scheme) -> Vec<u8> {
    let created = parse_time("2026-11-23T10:00:00.123Z").unwrap();
    let expiry = Some(parse_time("2027-11-23T10:00:00.123Z").unwrap());
    let license = LicenseRef {
        id: "8c1b2c4e-60b5-4f4b-9d3c-2f9a4c1f6e2a".into(),
        created,
        expiry,
    };
    match scheme {
        Scheme::RsaEncrypt => EncryptDataset {
            id: license.id,
            created,
            expiry,
            duration: Some(31_536_000),
        }
        .to_json(),
        Scheme::RsaJwtRs256 => JwtClaims::for_license(
            "0b5c7a1e-3f7d-4c52-a4c1-9e3f0f0d2b11",
            "1fddcec8-8dd3-4d8d-9b16-215cac0f9b52",
            &license,
        )
        .to_json(),
        _ => key_dataset(license).to_json(),
    }
}

fn key_dataset(license: LicenseRef) -> KeyDataset {
    KeyDataset {
        account: IdRef {
            id: "1fddcec8-8dd3-4d8d-9b16-215cac0f9b52".into(),
        },
        product: IdRef {
            id: "4e3a2c5d-0a6b-4f3e-8a61-7d5c4b3a2f10".into(),
        },
        policy: PolicyRef {
            id: "6a0b9f31-2d4c-4b8e-9f7a-1c2d3e4f5a6b".into(),
            duration: Some(31_536_000),
        },
        user: Some(UserRef {
            id: "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a".into(),
            email: "buyer@company.example".into(),
        }),
        license,
    }
}

fn baseline(c: &mut Criterion) {
    let mut seed = [0u8; 32];
    rand_core::RngCore::fill_bytes(&mut OsRng, &mut seed);
    let key = ed25519_dalek::SigningKey::from_bytes(&seed);
    let public = key.verifying_key();
    // The bytes an `aes-256-gcm+ed25519` license file's signature covers.
    let keys = Keys::new();
    let file = seal(
        FileKind::License,
        PAYLOAD.as_bytes(),
        FileAlgorithm::Aes256GcmEd25519,
        &keys.ed25519,
        Some(&EncryptionSecret::for_license(LICENSE_KEY)),
        &mut OsRng,
    )
    .unwrap();
    let signed = Certificate::parse(&file).unwrap().signed_data();
    let short = [7u8; 64];

    let mut g = c.benchmark_group("baseline");
    for (label, msg) in [("file", &signed[..]), ("64B", &short[..])] {
        let sig = key.sign(msg);
        g.bench_function(format!("ed25519-dalek/sign/{label}"), |b| {
            b.iter(|| key.sign(black_box(msg)))
        });
        g.bench_function(format!("ed25519-dalek/verify/{label}"), |b| {
            b.iter(|| public.verify(black_box(msg), black_box(&sig)).unwrap())
        });
        g.bench_function(format!("ed25519-dalek/verify_strict/{label}"), |b| {
            b.iter(|| {
                public
                    .verify_strict(black_box(msg), black_box(&sig))
                    .unwrap()
            })
        });
    }
    g.finish();
}

fn license_keys(c: &mut Criterion) {
    let keys = Keys::new();
    let mut g = c.benchmark_group("key");
    for scheme in Scheme::ALL {
        let key = keys.for_alg(scheme.key_algorithm());
        let public = key.public_key();
        let dataset = dataset_for(scheme);
        let text = sign_key(scheme, &dataset, key, &mut OsRng).unwrap();
        assert_eq!(verify_key(&text, &public, scheme).unwrap(), dataset);
        g.bench_function(format!("sign/{scheme}"), |b| {
            b.iter(|| sign_key(scheme, black_box(&dataset), key, &mut OsRng).unwrap())
        });
        g.bench_function(format!("verify/{scheme}"), |b| {
            b.iter(|| verify_key(black_box(&text), &public, scheme).unwrap())
        });
    }
    let dataset = dataset_for(Scheme::Ed25519Sign);
    let parsed = KeyDataset::from_json(&dataset).unwrap();
    g.bench_function("encode/dataset", |b| {
        b.iter(|| black_box(&parsed).to_json())
    });
    g.bench_function("decode/dataset", |b| {
        b.iter(|| KeyDataset::from_json(black_box(&dataset)).unwrap())
    });
    g.finish();
}

fn license_files(c: &mut Criterion) {
    let keys = Keys::new();
    let secret = EncryptionSecret::for_license(LICENSE_KEY);
    let now = parse_time("2026-11-23T10:00:00.123Z").unwrap();
    // The payload's meta: issued 2022-08-08, expiry 2023-08-08; license expiry 2025.
    let valid_at = parse_time("2022-08-09T00:00:00Z").unwrap();
    let mut g = c.benchmark_group("file");
    for alg in FileAlgorithm::ALL {
        let key = keys.for_alg(alg.key_algorithm());
        let public = key.public_key();
        let payload = PAYLOAD.as_bytes();
        let text = seal(
            FileKind::License,
            payload,
            alg,
            key,
            Some(&secret),
            &mut OsRng,
        )
        .unwrap();
        let verifier = Verifier::pinned(&public, alg, now).license_key(LICENSE_KEY);
        let opened = verifier.verify(&text).file.unwrap();
        assert_eq!(opened.payload, payload);
        // Validation all the way to VALID: a time inside the document's own window.
        let validator = Verifier::pinned(&public, alg, valid_at).license_key(LICENSE_KEY);
        assert!(validator.validate(&text).is_valid());
        g.bench_function(format!("seal/{alg}"), |b| {
            b.iter(|| {
                seal(
                    FileKind::License,
                    black_box(payload),
                    alg,
                    key,
                    Some(&secret),
                    &mut OsRng,
                )
                .unwrap()
            })
        });
        g.bench_function(format!("verify/{alg}"), |b| {
            b.iter(|| {
                let v = verifier.verify(black_box(&text));
                assert!(v.file.is_some());
                v
            })
        });
        g.bench_function(format!("validate/{alg}"), |b| {
            b.iter(|| {
                let v = validator.validate(black_box(&text));
                assert!(v.is_valid());
                v
            })
        });
    }
    let text = seal(
        FileKind::License,
        PAYLOAD.as_bytes(),
        FileAlgorithm::Aes256GcmEd25519,
        &keys.ed25519,
        Some(&secret),
        &mut OsRng,
    )
    .unwrap();
    let cert = Certificate::parse(&text).unwrap();
    g.bench_function("encode/certificate", |b| {
        b.iter(|| black_box(&cert).to_text())
    });
    g.bench_function("decode/certificate", |b| {
        b.iter(|| Certificate::parse(black_box(&text)).unwrap())
    });
    g.finish();
}

criterion_group!(benches, baseline, license_keys, license_files);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    ratios::run();
}

/// The figures for `docs/benchmarks.md`, measured so that they survive a busy machine:
/// every routine runs in short batches, round robin, many rounds; each round's time is
/// divided by the raw Ed25519 verify of the same round, and the medians are reported.
/// Load that comes and goes then slows the numerator and the denominator alike.
mod ratios {
    use super::*;
    use std::time::{Duration, Instant};

    struct Routine<'a> {
        group: &'static str,
        name: String,
        run: Box<dyn FnMut() + 'a>,
        batch: u32,
        per_call: Vec<f64>,
        /// The routines whose times this one is divided by: raw `verify`, `verify_strict`
        /// of the same bytes.
        base: (usize, usize),
    }

    fn add<'a>(
        routines: &mut Vec<Routine<'a>>,
        group: &'static str,
        name: String,
        run: Box<dyn FnMut() + 'a>,
    ) {
        routines.push(Routine {
            group,
            name,
            run,
            batch: 1,
            per_call: Vec::new(),
            base: (0, 1),
        })
    }

    fn median(v: &mut [f64]) -> f64 {
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2]
    }

    pub fn run() {
        let args: Vec<String> = std::env::args().collect();
        // Under `cargo test` (no `--bench`): one short round, as a smoke.
        let full = args.iter().any(|a| a == "--bench");
        let rounds = if full { 60 } else { 1 };
        let batch_time = Duration::from_micros(if full { 3_000 } else { 100 });

        let keys = Keys::new();
        let secret = EncryptionSecret::for_license(LICENSE_KEY);
        let now = parse_time("2026-11-23T10:00:00.123Z").unwrap();
        let mut seed = [0u8; 32];
        rand_core::RngCore::fill_bytes(&mut OsRng, &mut seed);
        let raw = ed25519_dalek::SigningKey::from_bytes(&seed);
        let raw_public = raw.verifying_key();
        let aes_file = |payload: &str| {
            seal(
                FileKind::License,
                payload.as_bytes(),
                FileAlgorithm::Aes256GcmEd25519,
                &keys.ed25519,
                Some(&secret),
                &mut OsRng,
            )
            .unwrap()
        };
        let signed = Certificate::parse(&aes_file(PAYLOAD))
            .unwrap()
            .signed_data();
        let raw_sig = raw.sign(&signed);
        let small_file = aes_file(SMALL_PAYLOAD);
        let small_signed = Certificate::parse(&small_file).unwrap().signed_data();
        let small_sig = raw.sign(&small_signed);
        let public = keys.ed25519.public_key();
        let aes_verifier = Verifier::pinned(&public, FileAlgorithm::Aes256GcmEd25519, now)
            .license_key(LICENSE_KEY);
        // The verifiers of the file routines borrow these, so they outlive `routines`.
        let file_publics: Vec<_> = FileAlgorithm::ALL
            .iter()
            .map(|alg| keys.for_alg(alg.key_algorithm()).public_key())
            .collect();

        let mut routines: Vec<Routine<'_>> = Vec::new();
        // The baseline first: ratios divide by it.
        add(
            &mut routines,
            "baseline",
            "ed25519-dalek verify (same bytes as the file signature)".into(),
            Box::new(|| raw_public.verify(black_box(&signed), &raw_sig).unwrap()),
        );
        add(
            &mut routines,
            "baseline",
            "ed25519-dalek verify_strict (what the crate calls)".into(),
            Box::new(|| {
                raw_public
                    .verify_strict(black_box(&signed), &raw_sig)
                    .unwrap()
            }),
        );
        add(
            &mut routines,
            "baseline",
            "ed25519-dalek sign (same bytes)".into(),
            Box::new(|| {
                black_box(raw.sign(black_box(&signed)));
            }),
        );
        // The 2 KB document, against raw verifies of its own bytes (rows 3 to 5).
        add(
            &mut routines,
            "baseline",
            "ed25519-dalek verify (2 KB document's signed bytes)".into(),
            Box::new(|| {
                raw_public
                    .verify(black_box(&small_signed), &small_sig)
                    .unwrap()
            }),
        );
        add(
            &mut routines,
            "baseline",
            "ed25519-dalek verify_strict (2 KB document's signed bytes)".into(),
            Box::new(|| {
                raw_public
                    .verify_strict(black_box(&small_signed), &small_sig)
                    .unwrap()
            }),
        );
        add(
            &mut routines,
            "file verify",
            "aes-256-gcm+ed25519, 2 KB document".into(),
            Box::new(|| {
                let v = aes_verifier.verify(black_box(&small_file));
                assert!(v.file.is_some());
            }),
        );
        for r in &mut routines[3..6] {
            r.base = (3, 4);
        }
        for scheme in Scheme::ALL {
            let key = keys.for_alg(scheme.key_algorithm());
            let public = key.public_key();
            let dataset = dataset_for(scheme);
            let text = sign_key(scheme, &dataset, key, &mut OsRng).unwrap();
            let d = dataset.clone();
            add(
                &mut routines,
                "key sign",
                scheme.to_string(),
                Box::new(move || {
                    black_box(sign_key(scheme, black_box(&d), key, &mut OsRng).unwrap());
                }),
            );
            add(
                &mut routines,
                "key verify",
                scheme.to_string(),
                Box::new(move || {
                    black_box(verify_key(black_box(&text), &public, scheme).unwrap());
                }),
            );
        }
        for (alg, public) in FileAlgorithm::ALL.into_iter().zip(&file_publics) {
            let key = keys.for_alg(alg.key_algorithm());
            let text = seal(
                FileKind::License,
                PAYLOAD.as_bytes(),
                alg,
                key,
                Some(&secret),
                &mut OsRng,
            )
            .unwrap();
            let secret = &secret;
            let verifier = Verifier::pinned(public, alg, now).license_key(LICENSE_KEY);
            add(
                &mut routines,
                "file seal",
                alg.to_string(),
                Box::new(move || {
                    black_box(
                        seal(
                            FileKind::License,
                            black_box(PAYLOAD.as_bytes()),
                            alg,
                            key,
                            Some(secret),
                            &mut OsRng,
                        )
                        .unwrap(),
                    );
                }),
            );
            add(
                &mut routines,
                "file verify",
                alg.to_string(),
                Box::new(move || {
                    let v = verifier.verify(black_box(&text));
                    assert!(v.file.is_some());
                }),
            );
        }

        // Calibrate each batch to about `batch_time`.
        for r in &mut routines {
            let start = Instant::now();
            (r.run)();
            let once = start.elapsed().max(Duration::from_nanos(200));
            r.batch = (batch_time.as_nanos() / once.as_nanos()).clamp(1, 100_000) as u32;
        }
        let mut ratios: Vec<Vec<f64>> = vec![Vec::new(); routines.len()];
        let mut strict_ratios: Vec<Vec<f64>> = vec![Vec::new(); routines.len()];
        for _ in 0..rounds {
            for r in &mut routines {
                let start = Instant::now();
                for _ in 0..r.batch {
                    (r.run)();
                }
                r.per_call
                    .push(start.elapsed().as_secs_f64() / f64::from(r.batch));
            }
            let last = |i: usize| *routines[i].per_call.last().unwrap();
            for (i, r) in routines.iter().enumerate() {
                let t = last(i);
                ratios[i].push(t / last(r.base.0));
                strict_ratios[i].push(t / last(r.base.1));
            }
        }

        let mut table = String::from(
            "| operation | scheme / algorithm | median µs | × raw verify | × raw verify_strict |\n\
             | --- | --- | ---: | ---: | ---: |\n",
        );
        let mut target = None;
        let mut small_target = None;
        for (i, r) in routines.iter_mut().enumerate() {
            let us = median(&mut r.per_call) * 1e6;
            let x = median(&mut ratios[i]);
            let xs = median(&mut strict_ratios[i]);
            if r.group == "file verify" && r.name == "aes-256-gcm+ed25519" {
                target = Some((x, xs));
            }
            if r.group == "file verify" && r.name.ends_with("2 KB document") {
                small_target = Some((x, xs));
            }
            table.push_str(&format!(
                "| {} | {} | {us:.1} | {x:.2} | {xs:.2} |\n",
                r.group, r.name
            ));
        }
        let pass = |r: f64| if r <= 1.5 { "pass" } else { "FAIL" };
        let (x, xs) = target.unwrap();
        let (sx, sxs) = small_target.unwrap();
        let verdict = format!(
            "Target: verifying an `aes-256-gcm+ed25519` license file (`Verifier::verify`: \
             parse, signature, decrypt, `meta`, validity window) within 1.5× of one raw \
             Ed25519 verify of the same signed bytes. Keygen's 9.2 KB document: \
             **{x:.2}×** `verify` ({}), **{xs:.2}×** `verify_strict` ({}); a 2.1 KB \
             document: **{sx:.2}×** `verify` ({}), **{sxs:.2}×** `verify_strict` ({}).",
            pass(x),
            pass(xs),
            pass(sx),
            pass(sxs),
        );
        if !full {
            println!(
                "smoke: {} routines ran once each (figures need `cargo bench`)",
                routines.len()
            );
            return;
        }
        println!("\n{table}\n{verdict}");

        if std::env::var_os("KEYWRIGHT_BENCH_WRITE").is_some() {
            let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
            let section = format!(
                "Measured {} on {} ({} cores, load average {} at the end), release build; \
                 {rounds} rounds, round robin, each routine in batches of about {} ms; \
                 medians. The payload is Keygen's own license document (9.2 KB, from `tests/vectors`; rows marked 2 KB use a 2.1 KB one). \
                 Per-routine statistics: `target/criterion/` from the same run.\n\n\
                 {table}\n{verdict}",
                jiff::Timestamp::now().strftime("%Y-%m-%d %H:%M UTC"),
                std::env::consts::ARCH,
                std::thread::available_parallelism()
                    .map(|p| p.get())
                    .unwrap_or(1),
                load.split_whitespace()
                    .take(3)
                    .collect::<Vec<_>>()
                    .join(" "),
                batch_time.as_millis(),
            );
            write_section("formats", &section);
        }
    }

    fn write_section(name: &str, body: &str) {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/benchmarks.md");
        let doc = std::fs::read_to_string(path).unwrap_or_default();
        let start = format!("<!-- {name}:start -->");
        let end = format!("<!-- {name}:end -->");
        let section = format!("{start}\n{body}\n{end}");
        let updated = match (doc.find(&start), doc.find(&end)) {
            (Some(a), Some(b)) => format!("{}{section}{}", &doc[..a], &doc[b + end.len()..]),
            _ => format!("{doc}\n{section}\n"),
        };
        std::fs::write(path, updated).unwrap();
        println!("wrote {path}");
    }
}
