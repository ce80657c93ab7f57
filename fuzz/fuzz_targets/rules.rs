//! The rule stages (possessive joining, clusters, quotes, relations, dates) with
//! fuzzer-chosen entity spans. The first byte holds flags, the next 60 bytes twelve spans
//! (start, end as u16 and a kind byte, each 5 bytes), the rest is the text.
#![no_main]
use chrono::NaiveDate;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let flags = data.first().copied().unwrap_or(0);
    let head = data.get(1..61).unwrap_or_default();
    let text = String::from_utf8_lossy(data.get(61..).unwrap_or_default());
    let n = text.len() + 1;
    let raw: Vec<(usize, usize, u8)> = head
        .chunks_exact(5)
        .take(1 + (flags as usize >> 4))
        .map(|c| {
            let a = u16::from_le_bytes([c[0], c[1]]) as usize % n;
            let b = u16::from_le_bytes([c[2], c[3]]) as usize % n;
            (a, b, c[4])
        })
        .collect();
    let date = (flags & 1 == 1)
        .then(|| NaiveDate::from_ymd_opt(2022, 11, 12))
        .flatten();
    let ents = newsgraph::invariants::entities(&text, &raw, flags & 2 == 0);
    newsgraph::invariants::rules(&text, ents, date);
});
