//! Any words: the message parser must not panic, and every refusal has a
//! reason.
#![no_main]

use dmmirror_core::table::parse_message;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let words: Vec<&str> = text.split_whitespace().collect();
    if let Err(e) = parse_message(&words.as_slice()) {
        assert!(!e.to_string().is_empty());
    }
});
