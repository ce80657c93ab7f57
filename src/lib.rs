//! # newsgraph
//!
//! Reads article text and returns typed entities with exact offsets and scores, running
//! pretrained transformer token-classification models, many articles in parallel. BERT models
//! run on ONNX Runtime (graphs newsgraph builds from `model.safetensors`; the library is
//! fetched at build time), with no other native dependency; the `torch` feature adds
//! rust-bert on libtorch for DistilBERT, RoBERTa, XLM-RoBERTa, DeBERTa, DeBERTa-v2 and ELECTRA,
//! and training (see [`Engine`]).
//!
//! A [`Pipeline`] turns [`Article`]s into [`Document`]s: entities, clusters, relations, quotes
//! and dates. That is the crate root: extraction. [`input`] reads articles; [`model`] holds the
//! engine-level types for running a model directly; [`training`] reads and scores datasets
//! and (feature `torch`) trains models. Inside, the modules follow the data: input → cleaning
//! → segmentation → tokenization → the engine boundary ([`model::EncoderInput`] in, label
//! probabilities out) → decoding → entities → clusters / relations / quotes / time → output.
//!
//! ```
//! # fn main() -> newsgraph::Result<()> {
//! use newsgraph::{Article, Pipeline, PipelineOptions};
//! let pipeline = Pipeline::load(&newsgraph::default_model_dir(), PipelineOptions::default())?;
//! let text = "UK Defence Secretary Ben Wallace said Russia had lost 80,000 troops.";
//! let doc = pipeline.process(&[Article::new("a1", text)]).remove(0)?;
//! let wallace = doc.entities.iter().find(|e| e.text == "Ben Wallace").unwrap();
//! assert_eq!(wallace.kind, newsgraph::EntityKind::Person);
//! assert_eq!(&text[wallace.start..wallace.end], "Ben Wallace");
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

mod clean;
mod cluster;
mod decode;
mod encoder;
mod engine;
mod entity;
mod error;
#[cfg(feature = "hub")]
pub mod hub;
pub mod input;
#[cfg(any(test, fuzzing))]
#[doc(hidden)]
pub mod invariants;
pub mod model;
mod output;
mod pipeline;
#[cfg(test)]
mod proptests;
mod quote;
mod relation;
mod render;
mod segment;
mod span;
mod temporal;
mod tokenize;
pub mod training;

pub use clean::{SkipReason, Skipped};
pub use cluster::Cluster;
pub use decode::{Aggregation, Decoding};
pub use engine::Engine;
pub use entity::{Entity, EntityKind};
pub use error::{Error, LoadError, Result};
pub use input::Article;
pub use output::{Document, Limit};
pub use pipeline::{Pipeline, PipelineOptions, Stream, WindowStats, RELATION_THRESHOLD};
pub use quote::Quote;
pub use relation::{Relation, RelationKind};
pub use render::HtmlWriter;
pub use span::Span;
pub use temporal::{Temporal, TemporalLabel, Value as TemporalValue};

use std::path::PathBuf;

/// Name of the default model's folder under `models/`.
pub const DEFAULT_MODEL: &str = "newsgraph-ner-minilm";

/// The default model folder: `$NEWSGRAPH_MODEL` if set, else `models/newsgraph-ner-minilm`
/// in this crate's source tree.
pub fn default_model_dir() -> PathBuf {
    match std::env::var_os("NEWSGRAPH_MODEL") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("models")
            .join(DEFAULT_MODEL),
    }
}

/// Name of the default relation model's folder under `models/`.
pub const DEFAULT_RELATION_MODEL: &str = "newsgraph-rel-minilm";

/// The default relation model folder: `$NEWSGRAPH_RELATION_MODEL` if set, else
/// `models/newsgraph-rel-minilm` in this crate's source tree.
pub fn default_relation_model_dir() -> PathBuf {
    match std::env::var_os("NEWSGRAPH_RELATION_MODEL") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("models")
            .join(DEFAULT_RELATION_MODEL),
    }
}
