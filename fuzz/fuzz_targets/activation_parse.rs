//! ActivationRequest / DeactivationReceipt parsing on arbitrary text: never panics;
//! what parses re-serializes to text that parses to the same value.
#![no_main]

use keywright_license::activation::{ActivationRequest, DeactivationReceipt};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(request) = ActivationRequest::parse(text) {
        let again = ActivationRequest::parse(&request.to_text()).expect("our own output parses");
        assert_eq!(again, request);
    }
    if let Ok(receipt) = DeactivationReceipt::parse(text) {
        let again = DeactivationReceipt::parse(&receipt.to_text()).expect("our own output parses");
        assert_eq!(again, receipt);
    }
});
