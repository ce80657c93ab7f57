//! Input readers: arbitrary bytes as a JSON Lines file and as a text file.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| newsgraph::invariants::input(data));
