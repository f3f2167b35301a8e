//! Verifies one `aes-256-gcm+ed25519` license file, or makes one raw Ed25519 verify of
//! the same signed bytes, 200 times: for counting instructions, which a busy machine
//! does not distort (`scripts/bench.sh` runs it under `valgrind --tool=callgrind`).
//!
//!   cargo run --release -p keywright-license --example verify_loop -- file|strict|raw|none [small]
//!
//! `small` uses a 2.1 KB license document instead of Keygen's 9.2 KB one.

use ed25519_dalek::{Signer as _, Verifier as _};
use keywright_license::issue::{seal, EncryptionSecret, SigningKey};
use keywright_license::{parse_time, Certificate, FileAlgorithm, FileKind, Verifier};

const LARGE: &str = include_str!("../tests/vectors/expected/example-rust.license.payload.json");
const SMALL: &str = include_str!("../tests/vectors/expected/example-java.license.payload.json");

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let what = args.first().map(String::as_str).unwrap_or("none");
    let payload = if args.iter().any(|a| a == "small") {
        SMALL
    } else {
        LARGE
    };
    let mut rng = rand_core::OsRng;
    let key = SigningKey::generate(&mut rng);
    let secret = EncryptionSecret::for_license("988214-879010-F1185E-B37E91-E53AF5-V3");
    let alg = FileAlgorithm::Aes256GcmEd25519;
    let text = seal(
        FileKind::License,
        payload.as_bytes(),
        alg,
        &key,
        Some(&secret),
        &mut rng,
    )
    .unwrap();
    let public = key.public_key();
    let now = parse_time("2026-11-23T10:00:00.123Z").unwrap();
    let verifier =
        Verifier::pinned(&public, alg, now).license_key("988214-879010-F1185E-B37E91-E53AF5-V3");
    let signed = Certificate::parse(&text).unwrap().signed_data();
    let raw = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
    let sig = raw.sign(&signed);
    let raw_public = raw.verifying_key();
    for _ in 0..200 {
        match what {
            "file" => {
                let v = verifier.verify(std::hint::black_box(&text));
                assert!(v.file.is_some());
            }
            "strict" => raw_public
                .verify_strict(std::hint::black_box(&signed), &sig)
                .unwrap(),
            "raw" => raw_public
                .verify(std::hint::black_box(&signed), &sig)
                .unwrap(),
            _ => {}
        }
    }
}
