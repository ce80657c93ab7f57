//! The learned relations of a chunk of articles: candidate pairs encoded, batched by length
//! across articles, classified, and merged into each document's relations.

use super::batch::{by_length, Batch, Order};
use super::{guarded, Pipeline};
use crate::entity::Entity;
use crate::error::{Error, Result};
use crate::input::Article;
use crate::output::{Document, Limit};
use crate::relation::candidates::{candidates, decide, Candidate, Candidates};
use crate::relation::model::{Encoded, BATCH};
use crate::relation::{Pair, RelationModel};
use crate::span::{CharIndex, Span};
use rayon::prelude::*;

impl Pipeline {
    /// The learned relations: candidate pairs of every article encoded, batched by length
    /// across articles, classified, and merged into each document's relations. A failed batch
    /// costs only its articles.
    pub(super) fn relate(
        &self,
        model: &RelationModel,
        articles: &[Article],
        sentences: &[Vec<usize>],
        docs: &mut [Result<Document>],
    ) {
        let encoded = self.encode_all(model, articles, sentences, docs);
        let mut all: Vec<(usize, usize, usize)> = Vec::new(); // (length, article, candidate)
        for (a, e) in encoded.iter().enumerate() {
            if let Ok(e) = e {
                for (k, (_, enc)) in e.pairs.iter().enumerate() {
                    if let Some(enc) = enc {
                        all.push((enc.ids.len(), a, k));
                    }
                }
            }
        }
        let batches = by_length(all, BATCH, Order::ShortestFirst);
        let outputs: Vec<Result<Vec<Vec<f32>>>> = batches
            .par_iter()
            .map(|b| {
                guarded("batch", "running the relation model", || {
                    let rows: Vec<&Encoded> = b
                        .items
                        .iter()
                        .filter_map(|&(a, k)| encoded[a].as_ref().ok()?.pairs[k].1.as_ref())
                        .collect();
                    model.run(&rows)
                })
            })
            .collect();
        let answers = self.answers(model, articles, docs, &encoded, &batches, outputs);
        self.merge(articles, docs, encoded, answers);
    }

    /// Every article's candidate pairs, encoded for the model (an article that already failed
    /// has none).
    fn encode_all(
        &self,
        model: &RelationModel,
        articles: &[Article],
        sentences: &[Vec<usize>],
        docs: &[Result<Document>],
    ) -> Vec<Result<Encodings>> {
        let partners = self.options.relation_partners;
        articles
            .par_iter()
            .zip(sentences)
            .zip(docs.par_iter())
            .map(|((a, starts), d)| match d {
                Ok(d) => guarded(&a.id, "finding relation candidates", || {
                    encode_candidates(model, &a.text, starts, &d.entities, partners)
                }),
                Err(_) => Ok(Encodings::default()),
            })
            .collect()
    }

    /// Each document gets its learned relations (merged with the rules') and the limits its
    /// candidates met; an article whose candidates failed gets that error.
    fn merge(
        &self,
        articles: &[Article],
        docs: &mut [Result<Document>],
        encoded: Vec<Result<Encodings>>,
        answers: Vec<Vec<Answer>>,
    ) {
        let partners = self.options.relation_partners;
        let each = docs.iter_mut().zip(articles).zip(encoded).zip(answers);
        for (((doc, a), enc), answers) in each {
            let Ok(d) = doc else { continue };
            match enc {
                Ok(enc) => {
                    let learned =
                        crate::relation::candidates::relations(&a.text, &d.entities, answers);
                    d.relations = crate::relation::merge(learned, std::mem::take(&mut d.relations));
                    d.limits.extend(limits(&a.text, &enc.bounded, partners));
                }
                Err(e) => *doc = Err(e),
            }
        }
    }

    /// Each article's answers of the relation model (pair, relation, probability) that fit the
    /// pair's kinds and reach the threshold; the articles of a failed batch get an error.
    fn answers(
        &self,
        model: &RelationModel,
        articles: &[Article],
        docs: &mut [Result<Document>],
        encoded: &[Result<Encodings>],
        batches: &[Batch],
        outputs: Vec<Result<Vec<Vec<f32>>>>,
    ) -> Vec<Vec<Answer>> {
        let mut answers: Vec<Vec<Answer>> = vec![Vec::new(); articles.len()];
        let threshold = self.options.relation_threshold;
        for (batch, out) in batches.iter().zip(outputs) {
            match out {
                Ok(rows) if rows.len() == batch.items.len() => {
                    for (&(a, k), probs) in batch.items.iter().zip(rows) {
                        let (Ok(enc), Ok(doc)) = (&encoded[a], &docs[a]) else {
                            continue;
                        };
                        let c = enc.pairs[k].0;
                        let (e1, e2) = (&doc.entities[c.e1].kind, &doc.entities[c.e2].kind);
                        if let Some((d, p)) = decide(model.classes(), &probs, e1, e2, threshold) {
                            answers[a].push((c, d, p));
                        }
                    }
                }
                other => {
                    let why = match other {
                        Err(e) => e.to_string(),
                        Ok(rows) => {
                            format!("{} answers for {} pairs", rows.len(), batch.items.len())
                        }
                    };
                    for &(a, _) in batch.items.iter() {
                        docs[a] = Err(Error::input(
                            &articles[a].id,
                            format!("the relation model's batch failed: {why}"),
                        ));
                    }
                }
            }
        }
        answers
    }
}

/// The relation model's answer for a candidate pair: the relation and its probability.
type Answer = (Candidate, crate::relation::Directed, f32);

/// An article's candidate pairs with their marked token ids (`None`: too far apart), and the
/// sentences where the partner bound left pairs out.
#[derive(Default)]
struct Encodings {
    pairs: Vec<(Candidate, Option<Encoded>)>,
    bounded: Vec<((usize, usize), usize)>,
}

/// The candidate pairs of an article with their marked token ids (`None`: too far apart for
/// the model's input).
fn encode_candidates(
    model: &RelationModel,
    text: &str,
    sentences: &[usize],
    entities: &[Entity],
    partners: usize,
) -> Result<Encodings> {
    let Candidates { pairs, bounded } = candidates(text, sentences, entities, partners);
    let pairs = pairs
        .into_iter()
        .map(|c| {
            let (s, e) = c.sentence;
            let span = |x: &Entity| (x.start - s, x.end - s);
            let pair = Pair {
                text: &text[s..e],
                e1: span(&entities[c.e1]),
                e2: span(&entities[c.e2]),
            };
            Ok((c, model.encode(&pair)?))
        })
        .collect::<Result<_>>()?;
    Ok(Encodings { pairs, bounded })
}

/// What the partner bound left out, said in the document.
fn limits(text: &str, bounded: &[((usize, usize), usize)], partners: usize) -> Vec<Limit> {
    let chars = CharIndex::new(text);
    bounded
        .iter()
        .map(|&((s, e), left_out)| Limit {
            stage: "relations".into(),
            span: chars.span(Span::bytes(s, e)),
            left_out,
            bound: format!("{partners} nearest partners per mention"),
        })
        .collect()
}
