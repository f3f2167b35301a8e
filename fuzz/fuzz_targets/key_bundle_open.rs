//! Key bundle parsing on arbitrary bytes: `KeyBundle::open` never panics and never
//! accepts what it was not given by `keywright key bundle` (the header parser is the
//! backup's, under the bundle's magic; a header that parses still meets the AEAD tag).
#![no_main]

use keywright_core::KeyBundle;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    assert!(KeyBundle::open(data, "fuzz passphrase").is_err());
});
