//! Cleaning: date line, furniture, blanking.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    newsgraph::invariants::clean(&String::from_utf8_lossy(data));
});
