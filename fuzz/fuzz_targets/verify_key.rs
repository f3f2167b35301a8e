//! License key verification under every scheme, with Keygen's published Ed25519 and
//! RSA keys: arbitrary text never panics and (almost surely) never verifies.
#![no_main]

use std::sync::OnceLock;

use keywright_license::{verify_key, PublicKey, Scheme};
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
    let scheme: Scheme = Scheme::ALL[pick as usize % Scheme::ALL.len()];
    for key in keys() {
        // Ok only for a genuine Keygen key; errors are fine, panics are not.
        let _ = verify_key(text, key, scheme);
    }
});
