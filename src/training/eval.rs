//! Evaluation the way the field does it: entity-level exact-match precision, recall and F1
//! (conlleval / seqeval semantics), per type and overall.

use crate::decode::{spans, Prefix, Tag};
use crate::error::Result;
use crate::input::Article;
use crate::pipeline::Pipeline;
use crate::training::conll::{ConllDocument, TokenSpans};
use serde::Serialize;
use std::collections::BTreeMap;

/// An entity over tokens `start..end` of a sequence.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Chunk {
    /// Entity type.
    pub typ: String,
    /// First token.
    pub start: usize,
    /// One past the last token.
    pub end: usize,
}

/// Reads entities from a tag sequence (IOB1, BIO or BIOES) with conlleval semantics.
///
/// ```
/// use newsgraph::training::eval::chunks;
/// // IOB1: B- only where two entities of one type touch.
/// let c = chunks(&["I-PER", "I-PER", "B-PER", "O", "I-LOC"]);
/// assert_eq!(c.len(), 3);
/// assert_eq!((c[1].start, c[1].end), (2, 3));
/// ```
pub fn chunks<S: AsRef<str>>(tags: &[S]) -> Vec<Chunk> {
    let mut types: Vec<String> = Vec::new();
    let parsed: Vec<Tag> = tags
        .iter()
        .map(|t| {
            let t = t.as_ref();
            let Some((p, ty)) = t.split_once('-') else {
                return Tag {
                    prefix: Prefix::O,
                    typ: 0,
                };
            };
            let prefix = match p {
                "B" => Prefix::B,
                "E" | "L" => Prefix::E,
                "S" | "U" => Prefix::S,
                _ => Prefix::I,
            };
            let typ = types.iter().position(|x| x == ty).unwrap_or_else(|| {
                types.push(ty.to_string());
                types.len() - 1
            });
            Tag { prefix, typ }
        })
        .collect();
    let ones = vec![1.0; parsed.len()];
    spans(&parsed, &ones)
        .into_iter()
        .map(|s| Chunk {
            typ: types[s.typ].clone(),
            start: s.first,
            end: s.last + 1,
        })
        .collect()
}

/// Correct, predicted and gold counts, and the precision, recall and F1 they give: the one
/// definition every scorer here uses (entities, KBP37 classes, CoNLL04 relations).
///
/// The ratios are fractions (0..1); the NER reports ([`Scores::table`], [`Scores::to_json`],
/// [`paired_bootstrap`]) print them in percent, as conlleval does.
///
/// ```
/// use newsgraph::training::eval::Counts;
/// let c = Counts { correct: 2, predicted: 3, gold: 4 };
/// assert_eq!((c.precision(), c.recall()), (2.0 / 3.0, 0.5));
/// assert!((c.f1() - 4.0 / 7.0).abs() < 1e-12);
/// assert_eq!(Counts::default().f1(), 0.0);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Predictions that match a gold item exactly.
    pub correct: usize,
    /// Predictions.
    pub predicted: usize,
    /// Gold items.
    pub gold: usize,
}

impl Counts {
    /// Precision, a fraction (0 with no predictions).
    pub fn precision(&self) -> f64 {
        ratio(self.correct, self.predicted)
    }
    /// Recall, a fraction (0 with no gold items).
    pub fn recall(&self) -> f64 {
        ratio(self.correct, self.gold)
    }
    /// F1, a fraction: the harmonic mean of precision and recall (0 when both are 0).
    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }
}

impl std::ops::Add for Counts {
    type Output = Counts;
    fn add(self, o: Counts) -> Counts {
        Counts {
            correct: self.correct + o.correct,
            predicted: self.predicted + o.predicted,
            gold: self.gold + o.gold,
        }
    }
}

impl std::iter::Sum for Counts {
    fn sum<I: Iterator<Item = Counts>>(iter: I) -> Counts {
        iter.fold(Counts::default(), |a, b| a + b)
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// A fraction in percent.
pub(crate) fn percent(x: f64) -> f64 {
    100.0 * x
}

/// Entity-level scores per type and overall.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scores {
    /// Counts per entity type.
    pub per_type: BTreeMap<String, Counts>,
}

impl Scores {
    /// Adds one sequence's gold and predicted entities.
    pub fn add(&mut self, gold: &[Chunk], predicted: &[Chunk]) {
        let gold_set: std::collections::HashSet<&Chunk> = gold.iter().collect();
        for g in gold {
            self.per_type.entry(g.typ.clone()).or_default().gold += 1;
        }
        let mut seen = std::collections::HashSet::new();
        for p in predicted {
            if !seen.insert(p) {
                continue;
            }
            let c = self.per_type.entry(p.typ.clone()).or_default();
            c.predicted += 1;
            if gold_set.contains(p) {
                c.correct += 1;
            }
        }
    }

    /// Adds another set of scores (e.g. another document's) to these.
    pub fn merge(&mut self, other: &Scores) {
        for (t, c) in &other.per_type {
            let mine = self.per_type.entry(t.clone()).or_default();
            mine.correct += c.correct;
            mine.predicted += c.predicted;
            mine.gold += c.gold;
        }
    }

    /// Counts over all types.
    pub fn overall(&self) -> Counts {
        self.per_type.values().copied().sum()
    }

    /// A conlleval-style table (percent).
    pub fn table(&self) -> String {
        let mut out = format!(
            "{:<10} {:>9} {:>9} {:>9} {:>7} {:>7}\n",
            "type", "precision", "recall", "f1", "gold", "pred"
        );
        let row = |name: &str, c: &Counts| {
            format!(
                "{:<10} {:>9.2} {:>9.2} {:>9.2} {:>7} {:>7}\n",
                name,
                percent(c.precision()),
                percent(c.recall()),
                percent(c.f1()),
                c.gold,
                c.predicted
            )
        };
        for (t, c) in &self.per_type {
            out += &row(t, c);
        }
        out + &row("overall", &self.overall())
    }

    /// The figures as JSON, in percent: `{"overall": {"precision", "recall", "f1", ...},
    /// "per_type": {...}}`.
    pub fn to_json(&self) -> serde_json::Value {
        let fig = |c: &Counts| {
            serde_json::json!({
                "precision": round2(percent(c.precision())), "recall": round2(percent(c.recall())),
                "f1": round2(percent(c.f1())),
                "gold": c.gold, "predicted": c.predicted, "correct": c.correct,
            })
        };
        serde_json::json!({
            "overall": fig(&self.overall()),
            "per_type": self.per_type.iter().map(|(t, c)| (t.clone(), fig(c))).collect::<serde_json::Map<_, _>>(),
        })
    }
}

impl<'a> std::iter::Sum<&'a Scores> for Scores {
    fn sum<I: Iterator<Item = &'a Scores>>(iter: I) -> Scores {
        let mut all = Scores::default();
        for s in iter {
            all.merge(s);
        }
        all
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Runs the pipeline on CoNLL documents (as [`ConllDocument::text`] lays them out), maps the
/// entities back to the gold tokens (every token an entity overlaps) and scores them.
pub fn evaluate(pipeline: &Pipeline, docs: &[ConllDocument]) -> Result<Scores> {
    evaluate_where(pipeline, docs, |_, _| true)
}

/// [`evaluate`] on the gold and predicted entities that `keep` accepts (given the type and the
/// tokens of each), e.g. names not seen in training ([`mention_texts`]): how a model does on
/// names it has to recognise from their context and form alone.
pub fn evaluate_where(
    pipeline: &Pipeline,
    docs: &[ConllDocument],
    keep: impl Fn(&str, &[String]) -> bool,
) -> Result<Scores> {
    Ok(evaluate_documents(pipeline, docs, keep)?.iter().sum())
}

/// [`evaluate_where`] document by document (one [`Scores`] per document, in order): the
/// units a [`paired_bootstrap`] resamples.
pub fn evaluate_documents(
    pipeline: &Pipeline,
    docs: &[ConllDocument],
    keep: impl Fn(&str, &[String]) -> bool,
) -> Result<Vec<Scores>> {
    Ok(score_documents(docs, &predict(pipeline, docs)?, keep))
}

/// The pipeline's entities in CoNLL documents (as [`ConllDocument::text`] lays them out) as
/// chunks over the gold tokens (every token an entity overlaps), per document and sentence: run
/// once, score with as many filters as needed ([`score_documents`]).
pub fn predict(pipeline: &Pipeline, docs: &[ConllDocument]) -> Result<Vec<Vec<Vec<Chunk>>>> {
    let laid_out: Vec<(String, TokenSpans)> = docs.iter().map(|d| d.text()).collect();
    let articles: Vec<Article> = laid_out
        .iter()
        .enumerate()
        .map(|(i, (text, _))| Article::new(i.to_string(), text.clone()))
        .collect();
    let results = pipeline.process(&articles);
    let mut per_doc = Vec::with_capacity(docs.len());
    for ((_, spans), result) in laid_out.iter().zip(results) {
        let result = result?;
        let sentences = spans.iter().map(|token_spans| {
            let (Some(&(s0, _)), Some(&(_, s1))) = (token_spans.first(), token_spans.last()) else {
                return Vec::new();
            };
            result
                .entities
                .iter()
                .filter(|e| e.start < s1 && e.end > s0)
                .filter_map(|e| {
                    let overlaps = |&(s, t): &(usize, usize)| s < e.end && t > e.start;
                    let first = token_spans.iter().position(overlaps)?;
                    let last = token_spans.iter().rposition(overlaps)?;
                    Some(Chunk {
                        typ: e.label.clone(),
                        start: first,
                        end: last + 1,
                    })
                })
                .collect()
        });
        per_doc.push(sentences.collect());
    }
    Ok(per_doc)
}

/// Per-document scores of `predicted` ([`predict`] on `docs`) against the gold entities, both
/// limited to those `keep` accepts (given the type and the tokens of each).
pub fn score_documents(
    docs: &[ConllDocument],
    predicted: &[Vec<Vec<Chunk>>],
    keep: impl Fn(&str, &[String]) -> bool,
) -> Vec<Scores> {
    docs.iter()
        .zip(predicted)
        .map(|(doc, sentences)| {
            let mut scores = Scores::default();
            for (sentence, found) in doc.sentences.iter().zip(sentences) {
                let kept = |c: &&Chunk| {
                    (sentence.tokens.get(c.start..c.end)).is_some_and(|t| keep(&c.typ, t))
                };
                let gold: Vec<Chunk> = chunks(&sentence.tags)
                    .iter()
                    .filter(kept)
                    .cloned()
                    .collect();
                let found: Vec<Chunk> = found.iter().filter(kept).cloned().collect();
                scores.add(&gold, &found);
            }
            scores
        })
        .collect()
}

/// How a second model's overall F1 compares with a first's on the same documents, with the
/// spread that the choice of documents gives it (Koehn 2004; Berg-Kirkpatrick et al. 2012).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Comparison {
    /// F1 of the second minus F1 of the first, in points, on all the documents.
    pub difference: f64,
    /// The 2.5th and 97.5th percentiles of the difference over the resamples: a 95% interval.
    pub interval: (f64, f64),
    /// The share of resamples in which the second model is better (above 0.975 or below
    /// 0.025: a difference the documents do not explain).
    pub second_better: f64,
    /// Resamples drawn.
    pub samples: usize,
}

/// Paired bootstrap over documents: `samples` times, draws as many documents as there are,
/// with replacement (the same draw for both models, from `seed`), and takes the difference of
/// their overall F1. `first` and `second` are per-document scores of the same documents, in
/// the same order ([`evaluate_documents`]).
///
/// ```
/// use newsgraph::training::eval::{paired_bootstrap, Counts, Scores};
/// let doc = |correct, predicted, gold| {
///     let mut s = Scores::default();
///     s.per_type.insert("PER".into(), Counts { correct, predicted, gold });
///     s
/// };
/// let first: Vec<Scores> = (0..20).map(|i| doc(i % 2, 1, 1)).collect();
/// let second: Vec<Scores> = (0..20).map(|_| doc(1, 1, 1)).collect();
/// let c = paired_bootstrap(&first, &second, 1000, 7).unwrap();
/// assert_eq!(c.difference, 50.0);
/// assert!(c.interval.0 > 0.0 && c.second_better == 1.0);
/// ```
pub fn paired_bootstrap(
    first: &[Scores],
    second: &[Scores],
    samples: usize,
    seed: u64,
) -> Result<Comparison> {
    use rand::{Rng, SeedableRng};
    if first.len() != second.len() || first.is_empty() || samples == 0 {
        return Err(crate::error::Error::Setting(format!(
            "paired bootstrap: {} and {} documents, {samples} samples (need the same documents, \
             at least one, and one sample)",
            first.len(),
            second.len()
        )));
    }
    let f1 = |docs: &[Scores], picks: &[usize]| {
        picks
            .iter()
            .map(|&i| &docs[i])
            .sum::<Scores>()
            .overall()
            .f1()
    };
    let f1 = |docs: &[Scores], picks: &[usize]| percent(f1(docs, picks));
    let all: Vec<usize> = (0..first.len()).collect();
    let difference = f1(second, &all) - f1(first, &all);
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut diffs: Vec<f64> = (0..samples)
        .map(|_| {
            let picks: Vec<usize> = (0..all.len())
                .map(|_| rng.gen_range(0..all.len()))
                .collect();
            f1(second, &picks) - f1(first, &picks)
        })
        .collect();
    diffs.sort_by(f64::total_cmp);
    let at = |q: f64| diffs[((samples - 1) as f64 * q).round() as usize];
    Ok(Comparison {
        difference,
        interval: (at(0.025), at(0.975)),
        second_better: diffs.iter().filter(|&&d| d > 0.0).count() as f64 / samples as f64,
        samples,
    })
}

/// The text of every entity mention in `docs` (tokens joined by single spaces).
pub fn mention_texts(docs: &[ConllDocument]) -> std::collections::HashSet<String> {
    mentions(docs).map(|(_, tokens)| tokens.join(" ")).collect()
}

/// Every entity mention in `docs`: its type and its tokens.
pub(crate) fn mentions(docs: &[ConllDocument]) -> impl Iterator<Item = (String, &[String])> {
    docs.iter().flat_map(|d| &d.sentences).flat_map(|s| {
        chunks(&s.tags)
            .into_iter()
            .filter_map(|c| Some((c.typ, s.tokens.get(c.start..c.end)?)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(t: &str, s: usize, e: usize) -> Chunk {
        Chunk {
            typ: t.into(),
            start: s,
            end: e,
        }
    }

    fn doc(correct: usize, predicted: usize, gold: usize) -> Scores {
        let mut s = Scores::default();
        s.per_type.insert(
            "LOC".into(),
            Counts {
                correct,
                predicted,
                gold,
            },
        );
        s
    }

    #[test]
    fn the_bootstrap_is_paired_seeded_and_refuses_unmatched_documents() {
        // The second model finds one more entity in a third of the documents.
        let first: Vec<Scores> = (0..30).map(|_| doc(2, 3, 3)).collect();
        let second: Vec<Scores> = (0..30)
            .map(|i| doc(2 + usize::from(i % 3 == 0), 3, 3))
            .collect();
        let c = paired_bootstrap(&first, &second, 500, 3).unwrap();
        assert!((c.difference - 100.0 / 9.0).abs() < 1e-9, "{c:?}");
        assert!(c.interval.0 > 0.0 && c.interval.0 < c.difference && c.difference < c.interval.1);
        assert_eq!(c.second_better, 1.0);
        assert_eq!(paired_bootstrap(&first, &second, 500, 3).unwrap(), c);
        // Identical models: every resample differs by exactly nothing.
        let same = paired_bootstrap(&first, &first, 100, 3).unwrap();
        assert_eq!(
            (same.difference, same.interval, same.second_better),
            (0.0, (0.0, 0.0), 0.0)
        );
        let err = paired_bootstrap(&first, &second[1..], 10, 3).unwrap_err();
        assert!(err.to_string().contains("30 and 29 documents"), "{err}");
        assert!(paired_bootstrap(&[], &[], 10, 3).is_err());
    }

    #[test]
    fn scores_sum_per_type() {
        let mut other = doc(1, 2, 3);
        other.per_type.insert(
            "PER".into(),
            Counts {
                correct: 4,
                predicted: 5,
                gold: 6,
            },
        );
        let sum: Scores = [doc(1, 1, 1), other].iter().sum();
        assert_eq!(
            sum.per_type["LOC"],
            Counts {
                correct: 2,
                predicted: 3,
                gold: 4
            }
        );
        assert_eq!(
            sum.overall(),
            Counts {
                correct: 6,
                predicted: 8,
                gold: 10
            }
        );
    }

    #[test]
    fn exact_match_only() {
        let mut s = Scores::default();
        // Gold: PER 0..2, LOC 3..4. Predicted: PER 0..1 (partial overlap), ORG 3..4 (wrong type).
        s.add(
            &[c("PER", 0, 2), c("LOC", 3, 4)],
            &[c("PER", 0, 1), c("ORG", 3, 4)],
        );
        let o = s.overall();
        assert_eq!((o.correct, o.predicted, o.gold), (0, 2, 2));
        assert_eq!(o.f1(), 0.0);
        assert_eq!(s.per_type["ORG"].gold, 0);
        assert_eq!(s.per_type["LOC"].predicted, 0);
    }

    #[test]
    fn iob1_and_bio_gold_agree() {
        let iob1 = chunks(&["I-PER", "I-PER", "O", "I-LOC", "B-LOC"]);
        let bio = chunks(&["B-PER", "I-PER", "O", "B-LOC", "B-LOC"]);
        assert_eq!(iob1, bio);
        assert_eq!(iob1.len(), 3);
    }

    #[test]
    fn adjacent_entities_of_one_type() {
        // "B-PER" after "I-PER" is a new entity; merging them must count as wrong.
        let gold = chunks(&["I-PER", "B-PER"]);
        assert_eq!(gold, vec![c("PER", 0, 1), c("PER", 1, 2)]);
        let mut s = Scores::default();
        s.add(&gold, &[c("PER", 0, 2)]);
        let o = s.overall();
        assert_eq!((o.correct, o.predicted, o.gold), (0, 1, 2));
        let mut s = Scores::default();
        s.add(&gold, &gold);
        assert_eq!(s.overall().f1(), 1.0);
    }

    #[test]
    fn precision_recall_f1() {
        let mut s = Scores::default();
        s.add(
            &[
                c("PER", 0, 1),
                c("PER", 2, 3),
                c("LOC", 4, 5),
                c("LOC", 6, 7),
            ],
            &[c("PER", 0, 1), c("LOC", 4, 5), c("LOC", 8, 9)],
        );
        let o = s.overall();
        assert!((o.precision() - 2.0 / 3.0).abs() < 1e-9);
        assert!((o.recall() - 0.5).abs() < 1e-9);
        assert!((o.f1() - 2.0 * (2.0 / 3.0) * 0.5 / (2.0 / 3.0 + 0.5)).abs() < 1e-9);
        assert_eq!(s.per_type["PER"].f1(), 2.0 * 1.0 * 0.5 / 1.5);
        let json = s.to_json();
        assert_eq!(json["per_type"]["PER"]["f1"], 66.67);
    }
}
