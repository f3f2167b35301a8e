//! open() on arbitrary text for every file algorithm and kind, with Keygen's demo
//! keys and a fixed secret: never panics.
#![no_main]

use std::sync::OnceLock;

use keywright_license::{open, EncryptionSecret, FileKind, PublicKey, FILE_ALGORITHMS};
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
    let alg = FILE_ALGORITHMS[pick as usize % FILE_ALGORITHMS.len()];
    let kind = if pick & 0x80 == 0 {
        FileKind::License
    } else {
        FileKind::Machine
    };
    let secret = EncryptionSecret::for_license("FUZZ-KEY");
    for key in keys() {
        let _ = open(text, kind, key, alg, Some(&secret));
        let _ = open(text, kind, key, alg, None);
    }
});
