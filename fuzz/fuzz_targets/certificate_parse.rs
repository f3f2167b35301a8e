//! Certificate::parse on arbitrary text: never panics; what parses re-serializes
//! to text that parses to the same certificate.
#![no_main]

use keywright_license::Certificate;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(cert) = Certificate::parse(text) {
        let again = Certificate::parse(&cert.to_text()).expect("our own output parses");
        assert_eq!(again, cert);
    }
});
