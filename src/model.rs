//! Engine-level types: models loaded from folders and the engine boundary.
//!
//! Extraction needs none of this (the crate root has [`Pipeline`](crate::Pipeline)); it is
//! here for running a model directly: [`NerModel`] (a token-classification folder, any
//! [`Engine`](crate::Engine)) takes an [`EncoderInput`] (token ids, mask and casing classes as
//! plain `Vec`s) and returns label probabilities; [`RelationModel`] classifies marked entity
//! [`Pair`]s into [`Directed`] relations; [`ModelConfig`] and [`LabelSet`] describe a folder.

pub use crate::decode::{LabelSet, Prefix, Scheme, Tag};
pub use crate::encoder::EncoderInput;
pub use crate::engine::{onnx_runtime_available, Architecture, ModelConfig, NerModel};
pub use crate::relation::{Directed, Pair, Prediction, RelationModel};
