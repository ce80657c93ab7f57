//! The stage after the forward pass: word labels, entities, clusters, quotes, the relation
//! rules and dates of one article.

use super::prepare::Prepared;
use super::PipelineOptions;
use crate::cluster::cluster;
use crate::decode::{spans, word_labels, LabelSet, WordLabel, WordSpan};
use crate::entity::{Entity, EntityKind};
use crate::input::Article;
use crate::output::Document;
use crate::span::CharIndex;
use crate::temporal::find as find_temporal;

/// The stage after the forward pass: word labels, entities, clusters, quotes, the relation
/// rules (when on) and dates of one article. `probs` holds the label probabilities of each
/// token of `prep`.
pub(crate) fn document(
    article: &Article,
    prep: &Prepared,
    probs: &[f32],
    labels: &LabelSet,
    options: &PipelineOptions,
) -> Document {
    let text = &article.text;
    #[cfg(test)]
    if text.contains(super::tests::PANIC_HOOK) {
        panic!("test hook in {}", article.id);
    }
    let words = word_labels(
        probs,
        labels,
        &prep.tokens.word_of,
        prep.tokens.words.len(),
        options.aggregation,
        options.decoding,
    );
    let mut entities = entities(text, &prep.tokens.words, &words, labels);
    crate::entity::join_possessive_institutions(text, &mut entities);
    crate::entity::attach_abbreviation_periods(text, &mut entities);
    if options.type_vote {
        crate::entity::vote_types(
            &mut entities,
            crate::entity::TYPE_VOTE_SHARE,
            crate::entity::TYPE_VOTE_KEEP_ABOVE,
            crate::entity::TYPE_VOTE_OVERRULE,
        );
    }
    let (clusters, of) = cluster(text, &entities);
    for (e, c) in entities.iter_mut().zip(of) {
        e.cluster = (c != usize::MAX).then_some(c);
    }
    // Numbers inside names ("BBC Radio 4") are not quantities.
    let skip: Vec<(usize, usize)> = prep
        .skipped
        .iter()
        .map(|s| (s.start, s.end))
        .chain(entities.iter().map(|e| (e.start, e.end)))
        .collect();
    Document {
        id: article.id.clone(),
        text_len: text.len(),
        title: article.title.clone(),
        date: prep
            .date
            .map(|d| d.to_string())
            .or_else(|| article.date.clone()),
        temporal: find_temporal(text, prep.date, &skip),
        quotes: crate::quote::find(text, &entities),
        relations: if options.relation_rules {
            crate::relation::rules::find(text, &entities)
        } else {
            Vec::new()
        },
        entities,
        clusters,
        skipped: prep.skipped.clone(),
        limits: Vec::new(),
    }
}

/// The entity mentions of labelled words: spans split at line breaks, trimmed of punctuation
/// words and edges, with byte and character offsets.
fn entities(
    text: &str,
    words: &[(usize, usize)],
    labelled: &[WordLabel],
    labels: &LabelSet,
) -> Vec<Entity> {
    let tags: Vec<_> = labelled.iter().map(|w| labels.tags()[w.label]).collect();
    let scores: Vec<f32> = labelled.iter().map(|w| w.score).collect();
    let chars = CharIndex::new(text);
    spans(&tags, &scores)
        .into_iter()
        .flat_map(|s| split_at_line_breaks(text, words, s))
        .filter_map(|s| trim_punctuation_words(text, words, s))
        .filter_map(|s| {
            let (start, end) = trim_span(text, words[s.first].0, words[s.last].1);
            if start >= end {
                return None;
            }
            let label = labels.types()[s.typ].clone();
            let (char_start, char_end) = (chars.at(start), chars.at(end));
            Some(Entity {
                text: text[start..end].to_string(),
                kind: EntityKind::from_label(&label),
                label,
                start,
                end,
                char_start,
                char_end,
                score: s.score,
                cluster: None,
            })
        })
        .collect()
}

/// An entity never spans a line break: a headline or a list item ends at it.
fn split_at_line_breaks(text: &str, words: &[(usize, usize)], s: WordSpan) -> Vec<WordSpan> {
    let mut out = Vec::new();
    let mut first = s.first;
    for w in s.first + 1..=s.last {
        if text[words[w - 1].1..words[w].0].contains('\n') {
            out.push(WordSpan {
                first,
                last: w - 1,
                ..s
            });
            first = w;
        }
    }
    out.push(WordSpan { first, ..s });
    out
}

/// Drops words without letters or digits ("(", "“", "-") from the edges of an entity.
fn trim_punctuation_words(
    text: &str,
    words: &[(usize, usize)],
    mut s: WordSpan,
) -> Option<WordSpan> {
    let has_content = |w: usize| {
        text[words[w].0..words[w].1]
            .chars()
            .any(char::is_alphanumeric)
    };
    while s.first <= s.last && !has_content(s.first) {
        s.first += 1;
    }
    while s.last > s.first && !has_content(s.last) {
        s.last -= 1;
    }
    (s.first <= s.last && has_content(s.first)).then_some(s)
}

fn trim_span(text: &str, start: usize, end: usize) -> (usize, usize) {
    let s = &text[start..end];
    let lead = s.len() - s.trim_start().len();
    let trimmed = s.trim();
    (start + lead, start + lead + trimmed.len())
}
