//! Any words: the table parser (native and LVM syntaxes) must not panic;
//! what it accepts is written back normalised, and that text parses to the
//! same table again.
#![no_main]

use dmmirror_core::mirror::Config;
use dmmirror_core::table::{parse, write_table};
use libfuzzer_sys::fuzz_target;

/// The table `words` parse to, written back; or the error's text.
fn normalised(words: &[&str]) -> Result<String, String> {
    let t = parse(&words).map_err(|e| e.to_string())?;
    let _ = t.config(Config::default());
    let mut out = String::new();
    write_table(&t, &mut out).expect("writing to a String");
    Ok(out)
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let words: Vec<&str> = text.split_whitespace().collect();
    if let Ok(written) = normalised(&words) {
        let again: Vec<&str> = written.split_whitespace().collect();
        assert_eq!(normalised(&again), Ok(written.clone()), "{written}");
    }
});
