//! The whole text path without the model: cleaning, tokenization, windowing, then decoding,
//! entities, clusters, quotes, relations and dates from fuzzer-chosen model output. The first
//! byte is the window length, the next 64 bytes the probabilities (byte / 255, repeated over
//! the tokens and labels), the rest is the text.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let window = 8 + data.first().copied().unwrap_or(120) as usize;
    let probs: Vec<f32> = data
        .get(1..65)
        .unwrap_or_default()
        .iter()
        .map(|&b| b as f32 / 255.0)
        .collect();
    let text = String::from_utf8_lossy(data.get(65..).unwrap_or_default());
    newsgraph::invariants::document(&text, &probs, window);
});
