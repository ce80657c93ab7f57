//! Datasets, scoring and training: what measures and makes the models, not what extraction
//! needs.
//!
//! Readers for the data sets the shipped models are trained and scored on ([`conll`]:
//! CoNLL-2003, [`conll04`]: CoNLL04, [`kbp37`]: KBP37), scoring with conlleval semantics and
//! paired bootstrap ([`eval`]), and, with the `torch` feature, the trainers of the NER model
//! (`ner`) and of the relation classifier (`relations`).

pub mod conll;
pub mod conll04;
pub mod eval;
pub mod kbp37;
#[cfg(feature = "torch")]
pub mod ner;
#[cfg(feature = "torch")]
pub mod relations;
