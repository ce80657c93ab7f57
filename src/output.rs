//! Output: one [`Document`] per article, serialized as one JSON line.

use crate::clean::Skipped;
use crate::cluster::Cluster;
use crate::entity::Entity;
use crate::quote::Quote;
use crate::relation::Relation;
use crate::span::Span;
use crate::temporal::Temporal;
use serde::{Deserialize, Serialize};

/// What newsgraph found in one article. Later stages add their fields to this object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Document {
    /// The article's id.
    pub id: String,
    /// Length of the article text in bytes (entity offsets are into this text).
    pub text_len: usize,
    /// The headline, when the article had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The publication date (ISO-8601 when it could be read), from the article or from a
    /// date line at the top of the text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// Entity mentions in text order.
    pub entities: Vec<Entity>,
    /// Mention clusters: who is who.
    #[serde(default)]
    pub clusters: Vec<Cluster>,
    /// Typed relations between clusters, with evidence.
    #[serde(default)]
    pub relations: Vec<Relation>,
    /// Direct quotations with their speakers.
    #[serde(default)]
    pub quotes: Vec<Quote>,
    /// Dates, times, durations, money, percentages, quantities, counts and ranks.
    #[serde(default)]
    pub temporal: Vec<Temporal>,
    /// Spans that are not article body (web-page furniture), marked rather than removed.
    #[serde(default)]
    pub skipped: Vec<Skipped>,
    /// Work a stage left undone because the article went beyond its bound (a sentence with
    /// more mentions than the relation candidates' partner bound lets meet); empty for
    /// ordinary news, never silent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub limits: Vec<Limit>,
}

/// Work a stage bounded on an article: where, what it left out, and the bound.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Limit {
    /// The stage: `relations`.
    pub stage: String,
    /// The text the bound applied to (a sentence).
    pub span: Span,
    /// What was left out: for `relations`, mention pairs of the sentence that were not
    /// candidates ([`PipelineOptions::relation_partners`](crate::PipelineOptions::relation_partners)).
    pub left_out: usize,
    /// The bound, in words ("8 nearest partners per mention").
    pub bound: String,
}

impl Document {
    /// The document as one line of JSON (no trailing newline).
    pub fn to_json_line(&self) -> String {
        // Serializing these plain types cannot fail.
        serde_json::to_string(self).unwrap_or_else(|e| unreachable!("{e}"))
    }
}
