//! Decoding: token probabilities → word labels → entity spans.
//!
//! Word-level aggregation follows Hugging Face's token-classification pipeline:
//! `first` takes the first sub-token's distribution, `average` the mean of the sub-tokens'
//! distributions, `max` the sub-token with the highest probability. Spans are read with
//! conlleval semantics: `B-X` always starts an entity, `I-X` continues an entity of type X and
//! otherwise starts one, `E-X`/`S-X` (BIOES) end one. An entity's score is the mean of its
//! word scores.

use serde::{Deserialize, Serialize};
use std::str::FromStr;

/// How token scores become word scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Aggregation {
    /// The first sub-token's distribution (what models are trained on).
    #[default]
    First,
    /// The mean of the sub-tokens' distributions.
    Average,
    /// The sub-token whose best label has the highest probability.
    Max,
}

impl FromStr for Aggregation {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "first" => Ok(Aggregation::First),
            "average" => Ok(Aggregation::Average),
            "max" => Ok(Aggregation::Max),
            other => Err(format!(
                "unknown aggregation {other:?} (expected first, average or max)"
            )),
        }
    }
}

/// The tagging scheme of a model's labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Scheme {
    /// `B-` starts every entity, `I-` continues it.
    Bio,
    /// `I-` everywhere, `B-` only where two entities of one type touch (CoNLL-2003 files).
    Iob1,
    /// `B-`, `I-`, `E-` (last) and `S-` (single); also read from BILOU's `L-`/`U-`.
    Bioes,
}

/// The position part of a tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prefix {
    /// Outside any entity.
    O,
    /// Begin.
    B,
    /// Inside.
    I,
    /// End (BIOES).
    E,
    /// Single-word entity (BIOES).
    S,
}

/// One label of a model: a prefix and an entity type index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tag {
    /// Position in the entity.
    pub prefix: Prefix,
    /// Index into [`LabelSet::types`]; meaningless for `O`.
    pub typ: usize,
}

/// A model's labels, validated as a BIO, IOB1 or BIOES scheme.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct LabelSet {
    names: Vec<String>,
    tags: Vec<Tag>,
    types: Vec<String>,
    scheme: Scheme,
}

impl LabelSet {
    /// Parses label names (index = class id).
    pub fn new(names: Vec<String>) -> Result<Self, String> {
        let mut types: Vec<String> = Vec::new();
        let mut tags = Vec::with_capacity(names.len());
        let (mut has_o, mut has_b, mut has_i, mut has_es) = (false, false, false, false);
        for name in &names {
            if name == "O" {
                has_o = true;
                tags.push(Tag {
                    prefix: Prefix::O,
                    typ: 0,
                });
                continue;
            }
            let (p, t) = name
                .split_once('-')
                .filter(|(p, t)| p.len() == 1 && !t.is_empty())
                .ok_or_else(|| {
                    format!("label {name:?} is neither O nor PREFIX-TYPE with a B/I/E/S/L/U prefix")
                })?;
            let prefix = match p {
                "B" => Prefix::B,
                "I" => Prefix::I,
                "E" | "L" => Prefix::E,
                "S" | "U" => Prefix::S,
                _ => return Err(format!("label {name:?} has an unknown prefix {p:?}")),
            };
            has_b |= prefix == Prefix::B;
            has_i |= prefix == Prefix::I;
            has_es |= matches!(prefix, Prefix::E | Prefix::S);
            let typ = match types.iter().position(|x| x == t) {
                Some(i) => i,
                None => {
                    types.push(t.to_string());
                    types.len() - 1
                }
            };
            tags.push(Tag { prefix, typ });
        }
        if !has_o {
            return Err("there is no O label".into());
        }
        if types.is_empty() {
            return Err("there is no entity label".into());
        }
        let mut seen = std::collections::HashSet::new();
        if let Some(dup) = names.iter().find(|n| !seen.insert(n.as_str())) {
            return Err(format!("label {dup:?} appears twice"));
        }
        let scheme = if has_es {
            Scheme::Bioes
        } else if has_b {
            Scheme::Bio
        } else if has_i {
            Scheme::Iob1
        } else {
            return Err("no B-/I- labels".into());
        };
        Ok(LabelSet {
            names,
            tags,
            types,
            scheme,
        })
    }

    /// BIO labels for entity types: `O`, then `B-T`, `I-T` for each type.
    pub fn bio(types: &[&str]) -> Self {
        let mut names = vec!["O".to_string()];
        for t in types {
            names.push(format!("B-{t}"));
            names.push(format!("I-{t}"));
        }
        // Cannot fail: built from the rules above.
        LabelSet::new(names).unwrap_or_else(|e| unreachable!("{e}"))
    }

    /// Label names by class id.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The parsed tags by class id.
    pub fn tags(&self) -> &[Tag] {
        &self.tags
    }

    /// Entity type names, in order of first appearance.
    pub fn types(&self) -> &[String] {
        &self.types
    }

    /// The scheme the labels follow.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// Number of classes.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Always false: a label set holds at least `O` and one entity label.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The class id of a label name.
    pub fn id(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }
}

/// The label and score chosen for one word.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WordLabel {
    /// Class id.
    pub label: usize,
    /// Probability of that class for the word.
    pub score: f32,
}

/// How word labels are chosen from the word distributions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Decoding {
    /// Each word's most probable label on its own (what Hugging Face's pipeline does); a
    /// sequence such as `O I-PER` or `B-PER I-ORG` is read with conlleval semantics.
    Greedy,
    /// The most probable label sequence that the scheme allows (Viterbi over the word
    /// distributions with the invalid transitions removed: `I-X` only after `B-X`/`I-X` in BIO,
    /// `B-X` only after `X` in IOB1, closed `B…E` runs in BIOES).
    #[default]
    Viterbi,
}

impl FromStr for Decoding {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "greedy" => Ok(Decoding::Greedy),
            "viterbi" => Ok(Decoding::Viterbi),
            other => Err(format!(
                "unknown decoding {other:?} (expected greedy or viterbi)"
            )),
        }
    }
}

/// One label per word: token distributions aggregated per word (`how`), then labels chosen
/// word by word or as the best valid sequence (`decoding`).
///
/// `probs` holds `labels.len()` probabilities per token, row-major; `word_of[t]` is token
/// `t`'s word; the tokens of a word are contiguous. Returns one label per word index
/// `0..n_words`; a word without tokens gets label 0 with score 0.
pub fn word_labels(
    probs: &[f32],
    labels: &LabelSet,
    word_of: &[u32],
    n_words: usize,
    how: Aggregation,
    decoding: Decoding,
) -> Vec<WordLabel> {
    let rows = word_distributions(probs, labels.len(), word_of, n_words, how);
    match decoding {
        Decoding::Greedy => rows.chunks(labels.len().max(1)).map(argmax).collect(),
        Decoding::Viterbi => viterbi(&rows, labels),
    }
}

/// One distribution per word (`n_words` rows of `n_labels`): the first sub-token's, the mean of
/// the sub-tokens', or the sub-token's with the most confident label. Words without tokens
/// get a row of zeros.
fn word_distributions(
    probs: &[f32],
    n_labels: usize,
    word_of: &[u32],
    n_words: usize,
    how: Aggregation,
) -> Vec<f32> {
    let mut out = vec![0.0f32; n_words * n_labels];
    let row = |i: usize| &probs[i * n_labels..(i + 1) * n_labels];
    let mut t = 0;
    while t < word_of.len() {
        let w = word_of[t] as usize;
        let mut end = t + 1;
        while end < word_of.len() && word_of[end] as usize == w {
            end += 1;
        }
        let dst = &mut out[w * n_labels..(w + 1) * n_labels];
        match how {
            Aggregation::First => dst.copy_from_slice(row(t)),
            Aggregation::Average => {
                for i in t..end {
                    for (m, p) in dst.iter_mut().zip(row(i)) {
                        *m += p;
                    }
                }
                let k = (end - t) as f32;
                dst.iter_mut().for_each(|m| *m /= k);
            }
            Aggregation::Max => {
                // The first sub-token whose best label is the most confident.
                let mut best = (t, argmax(row(t)).score);
                for i in t + 1..end {
                    let s = argmax(row(i)).score;
                    if s > best.1 {
                        best = (i, s);
                    }
                }
                dst.copy_from_slice(row(best.0));
            }
        }
        t = end;
    }
    out
}

/// Whether `next` may follow `prev` (`None`: the start of the text) in `scheme`.
fn allowed(scheme: Scheme, prev: Option<Tag>, next: Tag) -> bool {
    let inside = |t: Option<Tag>| {
        t.filter(|t| matches!(t.prefix, Prefix::B | Prefix::I))
            .map(|t| t.typ)
    };
    match scheme {
        Scheme::Bio => next.prefix != Prefix::I || inside(prev) == Some(next.typ),
        // IOB1 label sets have no B- labels (a set with them reads as BIO): all sequences valid.
        Scheme::Iob1 => true,
        Scheme::Bioes => match (inside(prev), next.prefix) {
            // An open B-/I- run must go on with I-/E- of its type.
            (Some(t), p) => matches!(p, Prefix::I | Prefix::E) && t == next.typ,
            (None, p) => !matches!(p, Prefix::I | Prefix::E),
        },
    }
}

/// The best label sequence the scheme allows, by log probability (probabilities outside
/// [0, 1], NaN included, are clamped first). A path exists always: all `O`.
fn viterbi(rows: &[f32], labels: &LabelSet) -> Vec<WordLabel> {
    let n = labels.len();
    if n == 0 || rows.is_empty() {
        return Vec::new();
    }
    let tags = labels.tags();
    let scheme = labels.scheme();
    let clean = |p: f32| if p.is_nan() { 0.0 } else { p.clamp(0.0, 1.0) };
    let log = |p: f32| clean(p).max(1e-9).ln();
    let n_words = rows.len() / n;
    // Transition table: allowed[i * n + j] = label j may follow label i.
    let trans: Vec<bool> = (0..n * n)
        .map(|k| allowed(scheme, Some(tags[k / n]), tags[k % n]))
        .collect();
    let mut score: Vec<f32> = (0..n)
        .map(|j| {
            if allowed(scheme, None, tags[j]) {
                log(rows[j])
            } else {
                f32::NEG_INFINITY
            }
        })
        .collect();
    let mut back = vec![0u32; n_words * n];
    let mut next = vec![0.0f32; n];
    for w in 1..n_words {
        for j in 0..n {
            let mut best = (f32::NEG_INFINITY, 0usize);
            for (i, &s) in score.iter().enumerate() {
                if trans[i * n + j] && s > best.0 {
                    best = (s, i);
                }
            }
            next[j] = best.0 + log(rows[w * n + j]);
            back[w * n + j] = best.1 as u32;
        }
        std::mem::swap(&mut score, &mut next);
    }
    // BIOES may not end inside an entity.
    let ends =
        |j: usize| scheme != Scheme::Bioes || !matches!(tags[j].prefix, Prefix::B | Prefix::I);
    let mut last = (0..n)
        .filter(|&j| ends(j))
        .max_by(|&a, &b| score[a].total_cmp(&score[b]))
        .unwrap_or(0);
    let mut out = vec![
        WordLabel {
            label: 0,
            score: 0.0
        };
        n_words
    ];
    for w in (0..n_words).rev() {
        out[w] = WordLabel {
            label: last,
            score: clean(rows[w * n + last]),
        };
        last = back[w * n + last] as usize;
    }
    out
}

fn argmax(row: &[f32]) -> WordLabel {
    let mut best = WordLabel {
        label: 0,
        score: f32::NEG_INFINITY,
    };
    for (i, &p) in row.iter().enumerate() {
        if p > best.score {
            best = WordLabel { label: i, score: p };
        }
    }
    best
}

/// An entity over words `first..=last` of type `typ`, with the mean word score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WordSpan {
    /// First word.
    pub first: usize,
    /// Last word (inclusive).
    pub last: usize,
    /// Entity type index into [`LabelSet::types`].
    pub typ: usize,
    /// Mean of the word scores.
    pub score: f32,
}

/// Reads entity spans from word tags with conlleval semantics (see the module docs).
pub fn spans(tags: &[Tag], scores: &[f32]) -> Vec<WordSpan> {
    let mut out = Vec::new();
    let mut open: Option<(usize, usize, f32)> = None; // (first, typ, score sum)
    let close = |open: &mut Option<(usize, usize, f32)>, last: usize, out: &mut Vec<WordSpan>| {
        if let Some((first, typ, sum)) = open.take() {
            out.push(WordSpan {
                first,
                last,
                typ,
                score: sum / (last - first + 1) as f32,
            });
        }
    };
    for (i, (tag, &score)) in tags.iter().zip(scores).enumerate() {
        let continues = matches!(open, Some((_, t, _)) if t == tag.typ);
        match tag.prefix {
            Prefix::O => close(&mut open, i.wrapping_sub(1), &mut out),
            Prefix::B | Prefix::S => {
                close(&mut open, i.wrapping_sub(1), &mut out);
                open = Some((i, tag.typ, score));
                if tag.prefix == Prefix::S {
                    close(&mut open, i, &mut out);
                }
            }
            Prefix::I | Prefix::E => {
                if continues {
                    if let Some(o) = open.as_mut() {
                        o.2 += score;
                    }
                } else {
                    close(&mut open, i.wrapping_sub(1), &mut out);
                    open = Some((i, tag.typ, score));
                }
                if tag.prefix == Prefix::E {
                    close(&mut open, i, &mut out);
                }
            }
        }
    }
    close(&mut open, tags.len().wrapping_sub(1), &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(labels: &LabelSet, names: &[&str]) -> Vec<Tag> {
        names
            .iter()
            .map(|n| labels.tags()[labels.id(n).unwrap()])
            .collect()
    }

    #[test]
    fn schemes_are_detected() {
        let s = |v: &[&str]| LabelSet::new(v.iter().map(|s| s.to_string()).collect());
        assert_eq!(s(&["O", "B-X", "I-X"]).unwrap().scheme(), Scheme::Bio);
        assert_eq!(s(&["O", "I-X"]).unwrap().scheme(), Scheme::Iob1);
        assert_eq!(
            s(&["O", "B-X", "I-X", "E-X", "S-X"]).unwrap().scheme(),
            Scheme::Bioes
        );
        assert_eq!(
            s(&["O", "B-X", "I-X", "L-X", "U-X"]).unwrap().scheme(),
            Scheme::Bioes
        );
        assert!(s(&["B-X", "I-X"]).unwrap_err().contains("no O"));
        assert!(s(&["O"]).unwrap_err().contains("no entity"));
        assert!(s(&["O", "X-PER"]).unwrap_err().contains("prefix"));
        assert!(s(&["O", "B-X", "B-X"]).unwrap_err().contains("twice"));
    }

    #[test]
    fn bio_spans() {
        let l = LabelSet::bio(&["PER", "LOC"]);
        let t = tags(&l, &["B-PER", "B-PER", "I-PER", "I-LOC", "O", "B-LOC"]);
        let s = spans(&t, &[1.0; 6]);
        let got: Vec<_> = s.iter().map(|s| (s.first, s.last, s.typ)).collect();
        assert_eq!(got, vec![(0, 0, 0), (1, 2, 0), (3, 3, 1), (5, 5, 1)]);
    }

    #[test]
    fn bioes_spans() {
        let l = LabelSet::new(
            ["O", "B-X", "I-X", "E-X", "S-X"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
        )
        .unwrap();
        let t = tags(&l, &["S-X", "B-X", "I-X", "E-X", "E-X", "O"]);
        let got: Vec<_> = spans(&t, &[1.0; 6])
            .iter()
            .map(|s| (s.first, s.last))
            .collect();
        assert_eq!(got, vec![(0, 0), (1, 3), (4, 4)]);
    }

    #[test]
    fn aggregation_strategies() {
        // 3 labels; word 0 = tokens 0,1; word 1 = token 2.
        let probs = [
            0.6, 0.3, 0.1, // t0: label 0
            0.0, 0.1, 0.9, // t1: label 2, strongest
            0.2, 0.7, 0.1, // t2
        ];
        let word_of = [0, 0, 1];
        let labels = LabelSet::bio(&["X"]);
        let aggregate = |how| word_labels(&probs, &labels, &word_of, 2, how, Decoding::Greedy);
        let first = aggregate(Aggregation::First);
        assert_eq!(first[0].label, 0);
        assert!((first[0].score - 0.6).abs() < 1e-6);
        let avg = aggregate(Aggregation::Average);
        assert_eq!(avg[0].label, 2); // mean = [0.3, 0.2, 0.5]
        assert!((avg[0].score - 0.5).abs() < 1e-6);
        let max = aggregate(Aggregation::Max);
        assert_eq!(max[0].label, 2);
        assert!((max[0].score - 0.9).abs() < 1e-6);
        for a in [first, avg, max] {
            assert_eq!(a[1].label, 1);
        }
    }

    /// Word rows → labels by name, with `decoding`.
    fn decode(labels: &LabelSet, rows: &[&[f32]], decoding: Decoding) -> Vec<String> {
        let probs: Vec<f32> = rows.iter().flat_map(|r| r.iter().copied()).collect();
        let word_of: Vec<u32> = (0..rows.len() as u32).collect();
        word_labels(
            &probs,
            labels,
            &word_of,
            rows.len(),
            Aggregation::First,
            decoding,
        )
        .iter()
        .map(|w| labels.names()[w.label].clone())
        .collect()
    }

    #[test]
    fn viterbi_repairs_what_greedy_leaves_invalid() {
        // O, B-PER, I-PER, B-ORG, I-ORG
        let l = LabelSet::bio(&["PER", "ORG"]);
        // "B-PER I-ORG": greedy reads two entities; the best valid sequence is one ORG
        // (0.45 × 0.6 beats 0.5 × 0.3).
        let rows: [&[f32]; 2] = [&[0.05, 0.5, 0.0, 0.45, 0.0], &[0.1, 0.0, 0.3, 0.0, 0.6]];
        assert_eq!(decode(&l, &rows, Decoding::Greedy), ["B-PER", "I-ORG"]);
        assert_eq!(decode(&l, &rows, Decoding::Viterbi), ["B-ORG", "I-ORG"]);
        // An I- after O becomes the better of O and B-.
        let rows: [&[f32]; 2] = [&[0.9, 0.1, 0.0, 0.0, 0.0], &[0.3, 0.2, 0.5, 0.0, 0.0]];
        assert_eq!(decode(&l, &rows, Decoding::Greedy), ["O", "I-PER"]);
        assert_eq!(decode(&l, &rows, Decoding::Viterbi), ["O", "O"]);
        // Valid greedy sequences are left alone.
        let rows: [&[f32]; 3] = [
            &[0.1, 0.8, 0.1, 0.0, 0.0],
            &[0.1, 0.1, 0.8, 0.0, 0.0],
            &[0.1, 0.0, 0.0, 0.8, 0.1],
        ];
        assert_eq!(
            decode(&l, &rows, Decoding::Greedy),
            decode(&l, &rows, Decoding::Viterbi)
        );
    }

    #[test]
    fn viterbi_follows_the_other_schemes() {
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        // IOB1 labels (I- only) allow every sequence.
        let l = LabelSet::new(names(&["O", "I-X"])).unwrap();
        let rows: [&[f32]; 2] = [&[0.6, 0.4], &[0.3, 0.7]];
        assert_eq!(decode(&l, &rows, Decoding::Viterbi), ["O", "I-X"]);
        // BIOES (O, B-X, I-X, E-X, S-X): a run that opens must close.
        let l = LabelSet::new(names(&["O", "B-X", "I-X", "E-X", "S-X"])).unwrap();
        let rows: [&[f32]; 2] = [&[0.1, 0.6, 0.0, 0.0, 0.3], &[0.7, 0.0, 0.0, 0.2, 0.1]];
        assert_eq!(decode(&l, &rows, Decoding::Greedy), ["B-X", "O"]);
        assert_eq!(decode(&l, &rows, Decoding::Viterbi), ["S-X", "O"]);
    }
}

/// The examples of this module's documentation, as tests (the module is internal).
#[cfg(test)]
mod doc_examples {
    #[test]
    fn example_1() {
        use crate::decode::{LabelSet, Scheme};
        let l = LabelSet::new(vec!["O".into(), "B-PER".into(), "I-PER".into()]).unwrap();
        assert_eq!(l.scheme(), Scheme::Bio);
        assert_eq!(l.types(), &["PER".to_string()]);
        assert!(LabelSet::new(vec!["O".into(), "PERSON".into()]).is_err());
    }

    #[test]
    fn example_2() {
        use crate::decode::{spans, LabelSet, Tag};
        let labels = LabelSet::bio(&["PER"]);
        let tags: Vec<Tag> = ["B-PER", "I-PER", "O", "I-PER"]
            .iter()
            .map(|n| labels.tags()[labels.id(n).unwrap()])
            .collect();
        let s = spans(&tags, &[0.9, 0.7, 1.0, 0.5]);
        assert_eq!((s[0].first, s[0].last), (0, 1));
        assert!((s[0].score - 0.8).abs() < 1e-6);
        assert_eq!((s[1].first, s[1].last), (3, 3)); // I- after O starts an entity
    }
}
