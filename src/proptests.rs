//! Property tests: every stage that runs without a model, on arbitrary text (unicode, quotes
//! of every kind, control characters, very long lines) and arbitrary entity spans, must not
//! panic and must keep its invariants (see [`crate::invariants`]).

use crate::decode::{Aggregation, Decoding, LabelSet};
use crate::invariants;
use chrono::NaiveDate;
use proptest::prelude::*;

/// Pieces the rules match on, and pieces that break naive offset arithmetic ("İ" grows when
/// lower-cased, combining marks, flags, ligatures).
const FRAGMENTS: &[&str] = &[
    "said",
    " said ",
    "says",
    "told",
    " told ",
    "added:",
    "“",
    "”",
    "\"",
    "'",
    "’",
    "‘",
    "«",
    "»",
    "„",
    "(",
    ")",
    "’s ",
    "'s ",
    ".",
    ". ",
    "!",
    "?",
    ",",
    ":",
    " ",
    "\n",
    "\n\n",
    "\r\n",
    "\t",
    "Mr ",
    "he ",
    "She ",
    "the Defence Secretary",
    "President ",
    "Secretary of State for ",
    " of ",
    " in ",
    " based in ",
    " founded by ",
    ", a member of ",
    " region of ",
    " who lives in ",
    "READ MORE: ",
    "Subscribe now",
    "2 min read",
    "date 2022-09-20",
    "Thu, 2 February 2023",
    "yesterday",
    "last month",
    "February 24",
    "80,000 troops",
    "£5m",
    "a fifth",
    "6,000 sq km",
    "05:00",
    "3 days",
    "Friday",
    "1st",
    "2022",
    "Ben Wallace",
    "ISW",
    "(ISW)",
    "Institute for the Study of War",
    "King",
    "College London",
    "Today programme",
    "é",
    "🇺🇦",
    "e\u{301}",
    "İ",
    "ß",
    "ﬁ",
    "\u{200b}",
    "\u{feff}",
    "\u{0}",
    "\u{1b}",
    "\u{7f}",
    "\u{2028}",
    "Ⅻ",
    "١٢٣",
    "½",
];

fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(FRAGMENTS).prop_map(String::from),
        2 => "[A-Z][a-z]{0,8}",
        1 => any::<String>(),
        1 => "[\\x00-\\x1f\\x7f-\\u{9f}\\u{2000}-\\u{206f}]{1,4}",
        1 => (100usize..3000).prop_map(|n| "a".repeat(n)),
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(piece(), 0..60).prop_map(|v| v.concat())
}

/// A text and raw entity spans over it (anywhere, in any order, overlapping, empty).
fn text_and_spans() -> impl Strategy<Value = (String, Vec<(usize, usize, u8)>, bool)> {
    text().prop_flat_map(|t| {
        let n = t.len();
        (
            Just(t),
            prop::collection::vec((0..=n, 0..=n, any::<u8>()), 0..16),
            any::<bool>(),
        )
    })
}

fn date() -> impl Strategy<Value = Option<NaiveDate>> {
    prop::option::of((1i32..4000, 1u32..=12, 1u32..=28))
        .prop_map(|d| d.and_then(|(y, m, day)| NaiveDate::from_ymd_opt(y, m, day)))
}

fn label_set() -> impl Strategy<Value = LabelSet> {
    prop_oneof![
        Just(invariants::labels()),
        Just(LabelSet::bio(&["X"])),
        Just(
            LabelSet::new(vec![
                "O".into(),
                "I-PER".into(),
                "B-PER".into(),
                "I-LOC".into()
            ])
            .unwrap_or_else(|e| unreachable!("{e}"))
        ),
        Just(
            LabelSet::new(
                ["O", "B-A", "I-A", "E-A", "S-A", "B-B", "I-B", "E-B", "S-B"]
                    .map(String::from)
                    .to_vec()
            )
            .unwrap_or_else(|e| unreachable!("{e}"))
        ),
    ]
}

fn aggregation() -> impl Strategy<Value = Aggregation> {
    prop_oneof![
        Just(Aggregation::First),
        Just(Aggregation::Average),
        Just(Aggregation::Max)
    ]
}

/// Model outputs: plausible probabilities, or anything a broken model could return.
fn probs() -> impl Strategy<Value = Vec<f32>> {
    prop_oneof![
        prop::collection::vec(0.0f32..=1.0, 0..400),
        prop::collection::vec(any::<f32>(), 0..400),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn input_readers(data in prop_oneof![
        prop::collection::vec(any::<u8>(), 0..600),
        text().prop_map(String::into_bytes),
        (text(), text()).prop_map(|(a, b)| {
            format!("{}\n{{\"id\":{:?},\"text\":{:?}}}\n{}", a, a, b, b).into_bytes()
        }),
    ]) {
        invariants::input(&data);
    }

    #[test]
    fn cleaning(t in text()) {
        invariants::clean(&t);
    }

    #[test]
    fn segmentation(t in text(), max_len in 1usize..200, overlap in 0usize..120) {
        invariants::segment(&t, max_len, overlap);
    }

    #[test]
    fn decoding(
        labels in label_set(),
        p in probs(),
        runs in prop::collection::vec(any::<u8>().prop_map(|r| r % 5), 0..80),
        how in aggregation(),
        viterbi in any::<bool>(),
    ) {
        let decoding = if viterbi { Decoding::Viterbi } else { Decoding::Greedy };
        invariants::decode(&labels, &p, &runs, how, decoding);
    }

    #[test]
    fn rule_stages((t, raw, sorted) in text_and_spans(), d in date()) {
        let ents = invariants::entities(&t, &raw, sorted);
        invariants::rules(&t, ents, d);
    }

    #[test]
    fn text_path_after_any_model_output(t in text(), p in probs(), window in 8usize..160) {
        invariants::document(&t, &p, window);
    }
}
