//! PublicKey::parse on arbitrary text: never panics; what parses round-trips
//! through PEM and keeps its key id.
#![no_main]

use keywright_license::PublicKey;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(key) = PublicKey::parse(text) {
        let again = PublicKey::parse(&key.to_pem()).expect("our own PEM parses");
        assert_eq!(again, key);
        assert_eq!(again.kid(), key.kid());
    }
    let _ = PublicKey::from_spki_der(data);
});
