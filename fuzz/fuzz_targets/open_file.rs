//! `Verifier::validate` (open, then the license checks) on arbitrary text for every
//! file algorithm and kind, with Keygen's demo keys, with and without a license key
//! and fingerprint: never panics.
#![no_main]

use std::sync::OnceLock;

use keywright_license::{parse_time, FileAlgorithm, FileKind, PublicKey, Verifier};
use libfuzzer_sys::fuzz_target;

const ED25519_HEX: &str = "e8601e48b69383ba520245fd07971e983d06d22c4257cfd82304601479cee788";
const RSA_PEM: &str =
    include_str!("../../crates/keywright-license/tests/vectors/pubkeys/keygen-demo-rsa.pem");

fn keys() -> &'static [PublicKey; 2] {
    static KEYS: OnceLock<[PublicKey; 2]> = OnceLock::new();
    KEYS.get_or_init(|| {
        [
            PublicKey::from_hex(ED25519_HEX).unwrap(),
            PublicKey::parse(RSA_PEM).unwrap(),
        ]
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let alg = FileAlgorithm::ALL[pick as usize % FileAlgorithm::ALL.len()];
    let kind = if pick & 0x80 == 0 {
        FileKind::License
    } else {
        FileKind::Machine
    };
    // Any time: an authentic file is not what a fuzzer finds.
    let now = parse_time("2024-01-01T00:00:00Z").unwrap();
    for key in keys() {
        let verifier = Verifier::pinned(key, alg, now).kind(kind);
        let _ = verifier.validate(text);
        let _ = verifier
            .license_key("FUZZ-KEY")
            .fingerprint("FUZZ-FP")
            .validate(text);
    }
});
