//! Mention replacement (Dai & Adel 2020, "An Analysis of Simple Data Augmentation for Named
//! Entity Recognition"): each epoch, every entity mention of the training documents is, with a
//! set probability, replaced by another mention of the same type drawn from the training
//! documents, so the model sees each context with names it has not memorised there. The
//! CoNLL-2003 test set's drop comes from names unseen in training; this asks the model to read
//! the context around a name as well as the name.

use crate::training::conll::{ConllDocument, Sentence};
use crate::training::eval::{chunks, mentions};
use rand::seq::SliceRandom;
use rand::Rng;
use std::collections::{BTreeMap, BTreeSet};

/// The distinct mentions (as token sequences) of each entity type in a set of documents.
pub(crate) struct Mentions {
    by_type: BTreeMap<String, Vec<Vec<String>>>,
}

impl Mentions {
    /// Every distinct mention of `docs`, by type; each is drawn equally often, however often
    /// it occurs (frequent names would otherwise crowd out the rare ones).
    pub(crate) fn collect(docs: &[ConllDocument]) -> Self {
        let mut sets: BTreeMap<String, BTreeSet<Vec<String>>> = BTreeMap::new();
        for (typ, name) in mentions(docs) {
            sets.entry(typ).or_default().insert(name.to_vec());
        }
        let by_type = sets
            .into_iter()
            .map(|(t, set)| (t, set.into_iter().collect()))
            .collect();
        Mentions { by_type }
    }

    /// `docs` with each mention replaced, with probability `p`, by a mention of its type drawn
    /// uniformly (possibly itself); tags of a replacement are `B-` then `I-`, which the
    /// training labels read the same as the original scheme.
    pub(crate) fn swap(
        &self,
        docs: &[ConllDocument],
        p: f64,
        rng: &mut impl Rng,
    ) -> Vec<ConllDocument> {
        docs.iter()
            .map(|d| ConllDocument {
                sentences: d
                    .sentences
                    .iter()
                    .map(|s| self.swap_sentence(s, p, rng))
                    .collect(),
            })
            .collect()
    }

    fn swap_sentence(&self, s: &Sentence, p: f64, rng: &mut impl Rng) -> Sentence {
        if s.tokens.len() != s.tags.len() {
            return s.clone();
        }
        let mut out = Sentence::default();
        let mut at = 0;
        for c in chunks(&s.tags) {
            let pick = self
                .by_type
                .get(&c.typ)
                .filter(|_| rng.gen_bool(p))
                .and_then(|all| all.choose(rng));
            let Some(name) = pick else { continue };
            out.tokens.extend_from_slice(&s.tokens[at..c.start]);
            out.tags.extend_from_slice(&s.tags[at..c.start]);
            out.tokens.extend(name.iter().cloned());
            out.tags.extend((0..name.len()).map(|i| {
                let prefix = if i == 0 { "B" } else { "I" };
                format!("{prefix}-{}", c.typ)
            }));
            at = c.end;
        }
        out.tokens.extend_from_slice(&s.tokens[at..]);
        out.tags.extend_from_slice(&s.tags[at..]);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn sentence(words: &[(&str, &str)]) -> Sentence {
        Sentence {
            tokens: words.iter().map(|w| w.0.to_string()).collect(),
            tags: words.iter().map(|w| w.1.to_string()).collect(),
        }
    }

    fn docs() -> Vec<ConllDocument> {
        vec![ConllDocument {
            sentences: vec![
                sentence(&[
                    ("Peter", "I-PER"),
                    ("Blackburn", "I-PER"),
                    ("visited", "O"),
                    ("Bonn", "I-LOC"),
                    ("and", "O"),
                    ("Paris", "B-LOC"),
                ]),
                sentence(&[("Bonn", "I-LOC"), ("agreed", "O"), ("Anna", "I-PER")]),
            ],
        }]
    }

    /// The mentions of a sentence as (type, text).
    fn mentions(s: &Sentence) -> Vec<(String, String)> {
        chunks(&s.tags)
            .into_iter()
            .map(|c| (c.typ, s.tokens[c.start..c.end].join(" ")))
            .collect()
    }

    #[test]
    fn mentions_are_collected_once_each_by_type() {
        let m = Mentions::collect(&docs());
        let loc: Vec<String> = m.by_type["LOC"].iter().map(|t| t.join(" ")).collect();
        assert_eq!(loc, ["Bonn", "Paris"]);
        assert_eq!(m.by_type["PER"].len(), 2);
    }

    #[test]
    fn probability_zero_changes_nothing_and_one_keeps_types_and_context() {
        let d = docs();
        let m = Mentions::collect(&d);
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        assert_eq!(m.swap(&d, 0.0, &mut rng), d);
        let mut names = BTreeSet::new();
        for _ in 0..50 {
            let swapped = m.swap(&d, 1.0, &mut rng);
            let s = &swapped[0].sentences[0];
            let types: Vec<String> = mentions(s).into_iter().map(|(t, _)| t).collect();
            // "Bonn" and "Paris" are adjacent in no sentence, so each mention stays one chunk.
            assert_eq!(types, ["PER", "LOC", "LOC"]);
            let outside: Vec<&str> = s
                .tokens
                .iter()
                .zip(&s.tags)
                .filter(|(_, t)| *t == "O")
                .map(|(w, _)| w.as_str())
                .collect();
            assert_eq!(outside, ["visited", "and"]);
            names.insert(mentions(s)[0].1.clone());
        }
        let expected: BTreeSet<String> = ["Peter Blackburn", "Anna"].map(String::from).into();
        assert_eq!(names, expected);
    }

    #[test]
    fn adjacent_mentions_of_one_type_stay_apart() {
        let d = vec![ConllDocument {
            sentences: vec![sentence(&[
                ("Bonn", "I-LOC"),
                ("Paris", "B-LOC"),
                ("London", "I-LOC"),
            ])],
        }];
        let m = Mentions::collect(&d);
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        for _ in 0..20 {
            let s = &m.swap(&d, 1.0, &mut rng)[0].sentences[0];
            assert_eq!(mentions(s).len(), 2, "{s:?}");
        }
    }
}
