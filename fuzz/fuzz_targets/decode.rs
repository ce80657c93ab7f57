//! Decoding from arbitrary probability arrays (NaN and infinities too) over arbitrary words.
#![no_main]
use newsgraph::model::LabelSet;
use newsgraph::{Aggregation, Decoding};

#[derive(Debug, arbitrary::Arbitrary)]
struct Input {
    scheme: u8,
    how: u8,
    runs: Vec<u8>,
    probs: Vec<f32>,
}

libfuzzer_sys::fuzz_target!(|input: Input| {
    let names: &[&str] = match input.scheme % 3 {
        0 => &[
            "O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC",
        ],
        1 => &["O", "I-PER", "B-PER", "I-LOC"],
        _ => &["O", "B-A", "I-A", "E-A", "S-A", "B-B", "I-B", "E-B", "S-B"],
    };
    let Ok(labels) = LabelSet::new(names.iter().map(|s| s.to_string()).collect()) else {
        return;
    };
    let how = [Aggregation::First, Aggregation::Average, Aggregation::Max][input.how as usize % 3];
    let decoding = [Decoding::Viterbi, Decoding::Greedy][(input.how / 3) as usize % 2];
    let runs: Vec<u8> = input.runs.iter().map(|r| r % 6).collect();
    newsgraph::invariants::decode(&labels, &input.probs, &runs, how, decoding);
});
