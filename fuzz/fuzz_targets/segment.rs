//! Sentence starts, tokenization (the shipped tokenizer) and windowing. The first two bytes
//! choose the window length and overlap; the rest is the text.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let (max_len, overlap) = match data {
        [a, b, ..] => (1 + *a as usize, *b as usize),
        _ => (126, 7),
    };
    let text = String::from_utf8_lossy(data.get(2..).unwrap_or_default());
    newsgraph::invariants::segment(&text, max_len, overlap);
});
