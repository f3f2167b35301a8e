//! Backup file parsing on arbitrary bytes: the header parser and the payload parser
//! never panic, a header that parses has bounded KDF parameters, a payload that parses
//! re-encodes to the same bytes, and no arbitrary input opens as a backup.
#![no_main]

use keywright_core::backup::{self, KdfParams};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(header) = backup::parse_header(data) {
        let max = KdfParams::MAX;
        assert!(header.kdf.memory_kib <= max.memory_kib);
        assert!(header.kdf.iterations <= max.iterations);
        assert!(header.kdf.lanes <= max.lanes);
        // Only reached with a valid header checksum; the AEAD tag still refuses.
        assert!(backup::open(data, "fuzz passphrase").is_err());
    }
    if let Ok(payload) = backup::parse_payload(data) {
        let again = backup::encode_payload(&payload.keys, &payload.store);
        assert_eq!(again.as_slice(), data, "what parses re-encodes byte for byte");
    }
});
