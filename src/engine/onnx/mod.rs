//! The ONNX Runtime engines: the same BERT weights as an ONNX graph that newsgraph builds in
//! memory (ONNX Runtime's model editor API; no files, no Python), run by ONNX Runtime's CPU
//! kernels.
//!
//! The graph uses ONNX Runtime's fused transformer operators directly: `EmbedLayerNormalization`
//! (word + position + casing embeddings and their layer norm in one kernel; the casing classes
//! ride on the segment input), `Attention` (the query-key-value projection and
//! multi-head attention in one kernel) and `Gelu`. The `int8` variant quantizes the weights of
//! every encoder matrix product per output column (symmetric int8) and their inputs per batch
//! (uint8): `QAttention` and `DynamicQuantizeMatMul`. The `int8-rows` variant quantizes the
//! inputs per token instead (`MatMulIntegerToFloat`, then each row's scale; `MultiHeadAttention`):
//! slower, as accurate as f32, and independent of what else is in the batch. Embeddings, layer
//! norms, softmax and the classifier stay f32.
//!
//! The runtime library is loaded when the first engine is built, from `$ORT_DYLIB_PATH`, else
//! from the path `build.rs` compiled in (the library it fetched into newsgraph's cache), else
//! beside the executable, else from the system's library path.

use super::weights::{Weight, Weights};
use super::{Architecture, Engine, ModelConfig};
use crate::encoder::{Encoder, EncoderInput, Output};
use crate::error::{Error, Result};
use ort::editor::{Graph, Model, Node, Opset, ONNX_DOMAIN};
use ort::memory::Allocator;
use ort::operator::Attribute;
use ort::session::builder::{GraphOptimizationLevel, SessionBuilder};
use ort::session::Session;
use ort::value::{
    Outlet, PrimitiveTensorElementType, Shape, SymbolicDimensions, Tensor, TensorElementType,
    ValueType,
};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

const MS_DOMAIN: &str = "com.microsoft";

/// The numeric precision of the encoder's matrix products.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Precision {
    F32,
    /// Activations quantized per matrix product and batch (`DynamicQuantizeMatMul`,
    /// `QAttention`).
    Int8,
    /// Activations quantized per token ([`Builder::quantize_rows`]).
    Int8Rows,
}

mod builder;
mod file;
mod linear;
mod runtime;

use builder::*;
pub(crate) use file::OnnxFile;
use linear::*;
pub use runtime::runtime_available;
pub(crate) use runtime::runtime_check;
use runtime::*;

fn ort_err(e: ort::Error) -> Error {
    Error::Model(format!("ONNX Runtime: {e}"))
}

/// A token classifier of the BERT family compiled into an ONNX Runtime session.
pub(crate) struct OnnxBert {
    session: Mutex<Session>,
    engine: Engine,
}

/// Where a checkpoint of the BERT family keeps its weights: the architectures differ only in
/// names, in their embeddings (RoBERTa's positions start after the padding index, DistilBERT
/// has no token types, ELECTRA may project small embeddings up to the hidden size) and in the
/// keys of `config.json`.
struct Layout {
    /// `{prefix}.embeddings`
    embeddings: String,
    /// The prefix of layer `i`'s weights.
    layer: fn(&str, usize) -> String,
    prefix: &'static str,
    /// Names inside a layer: query, key, value, attention output, its norm, intermediate,
    /// output, its norm.
    names: [&'static str; 8],
    /// The position-embedding row of the first token.
    position_offset: usize,
    token_types: bool,
    /// `config.json` keys: layers, heads, hidden, intermediate, activation.
    keys: [&'static str; 5],
}

impl Layout {
    fn of(architecture: Architecture) -> Option<Self> {
        const BERT_NAMES: [&str; 8] = [
            "attention.self.query",
            "attention.self.key",
            "attention.self.value",
            "attention.output.dense",
            "attention.output.LayerNorm",
            "intermediate.dense",
            "output.dense",
            "output.LayerNorm",
        ];
        const BERT_KEYS: [&str; 5] = [
            "num_hidden_layers",
            "num_attention_heads",
            "hidden_size",
            "intermediate_size",
            "hidden_act",
        ];
        let prefix = architecture.prefix();
        let bert = |position_offset| Layout {
            embeddings: format!("{prefix}.embeddings"),
            layer: |p, i| format!("{p}.encoder.layer.{i}"),
            prefix,
            names: BERT_NAMES,
            position_offset,
            token_types: true,
            keys: BERT_KEYS,
        };
        Some(match architecture {
            Architecture::Bert | Architecture::Electra => bert(0),
            // rust-bert and transformers: position = index + padding_idx + 1 for right-padded
            // rows, padding_idx = 1.
            Architecture::Roberta | Architecture::XlmRoberta => bert(2),
            Architecture::DistilBert => Layout {
                embeddings: format!("{prefix}.embeddings"),
                layer: |p, i| format!("{p}.transformer.layer.{i}"),
                prefix,
                names: [
                    "attention.q_lin",
                    "attention.k_lin",
                    "attention.v_lin",
                    "attention.out_lin",
                    "sa_layer_norm",
                    "ffn.lin1",
                    "ffn.lin2",
                    "output_layer_norm",
                ],
                position_offset: 0,
                token_types: false,
                keys: ["n_layers", "n_heads", "dim", "hidden_dim", "activation"],
            },
            Architecture::Deberta | Architecture::DebertaV2 | Architecture::Mpnet => return None,
        })
    }
}

/// Whether the ONNX Runtime graph covers an architecture.
pub(crate) fn supports(architecture: Architecture) -> bool {
    Layout::of(architecture).is_some()
}

/// What a graph is built for: a model folder's `config.json` and its head.
pub(crate) struct GraphSpec<'a> {
    pub(crate) raw: &'a Value,
    pub(crate) source: &'a Path,
    pub(crate) architecture: Architecture,
    pub(crate) casing: bool,
    /// `Some(labels)`: a token classifier (outputs `logits` and `probs`); `None`: the encoder
    /// alone (output `hidden`, the last layer's states), for heads that run outside the graph.
    pub(crate) labels: Option<usize>,
}

impl<'a> GraphSpec<'a> {
    /// A NER model's token classifier.
    pub(crate) fn token_classifier(config: &'a ModelConfig) -> Self {
        GraphSpec {
            raw: &config.raw,
            source: &config.source,
            architecture: config.architecture,
            casing: config.casing,
            labels: Some(config.labels.len()),
        }
    }
}

/// What the graph needs from `config.json`.
struct Dims {
    layers: usize,
    heads: i64,
    hidden: usize,
    /// ELECTRA's embedding size (the hidden size elsewhere).
    embedding: usize,
    intermediate: usize,
    vocab: usize,
    positions: usize,
    token_types: usize,
    eps: f32,
    /// `gelu` (erf) or one of the tanh approximations.
    tanh_gelu: bool,
}

impl Dims {
    fn from_config(config: &GraphSpec, layout: &Layout, engine: Engine) -> Result<Self> {
        let raw = &config.raw;
        let size = |key: &str| -> Result<usize> {
            raw.get(key)
                .and_then(Value::as_u64)
                .filter(|&v| v > 0)
                .map(|v| v as usize)
                .ok_or_else(|| {
                    crate::error::LoadError::Invalid {
                        path: config.source.to_path_buf(),
                        message: format!("no positive \"{key}\" (engine {engine} needs it)"),
                    }
                    .into()
                })
        };
        let [layers, heads, hidden, intermediate, act] = layout.keys;
        let tanh_gelu = match raw.get(act).and_then(Value::as_str) {
            Some("gelu") | None => false,
            Some("gelu_new" | "gelu_pytorch_tanh" | "gelu_fast") => true,
            Some(other) => {
                return Err(Error::Setting(format!(
                    "engine {engine} runs gelu activations only, not {other}; use Engine::RustBert"
                )))
            }
        };
        let hidden = size(hidden)?;
        let shape = Dims {
            layers: size(layers)?,
            heads: size(heads)? as i64,
            hidden,
            embedding: raw
                .get("embedding_size")
                .and_then(Value::as_u64)
                .map_or(hidden, |v| v as usize),
            intermediate: size(intermediate)?,
            vocab: size("vocab_size")?,
            positions: size("max_position_embeddings")?,
            token_types: raw
                .get("type_vocab_size")
                .and_then(Value::as_u64)
                .unwrap_or(2) as usize,
            eps: raw
                .get("layer_norm_eps")
                .and_then(Value::as_f64)
                .unwrap_or(1e-12) as f32,
            tanh_gelu,
        };
        if !shape.hidden.is_multiple_of(shape.heads as usize) {
            return Err(Error::Setting(format!(
                "hidden size {} is not a multiple of the {} attention heads",
                shape.hidden, shape.heads
            )));
        }
        if shape.positions <= layout.position_offset {
            return Err(Error::Setting(format!(
                "max_position_embeddings {} leaves no positions",
                shape.positions
            )));
        }
        Ok(shape)
    }
}

impl OnnxBert {
    /// Builds `engine` (`Onnx`: f32, `OnnxInt8` or `OnnxInt8Rows`) from a checkpoint's weights (canonical
    /// names), with `threads` intra-op threads (0: ONNX Runtime's default).
    pub(crate) fn new(
        weights: &Weights,
        config: &GraphSpec,
        engine: Engine,
        threads: usize,
    ) -> Result<Self> {
        Self::build(weights, config, engine, threads, None)
    }

    /// Writes the graph (after ONNX Runtime's basic rewrites) to `path` as an ONNX file.
    pub(crate) fn export(
        weights: &Weights,
        config: &GraphSpec,
        engine: Engine,
        path: &Path,
    ) -> Result<()> {
        Self::build(weights, config, engine, 1, Some(path)).map(drop)
    }

    fn build(
        weights: &Weights,
        config: &GraphSpec,
        engine: Engine,
        threads: usize,
        save: Option<&Path>,
    ) -> Result<Self> {
        let arch = config.architecture;
        let layout = Layout::of(arch).ok_or_else(|| {
            Error::Setting(format!(
                "engine {engine} does not run {arch:?} models (relative attention); use the rust-bert engine"
            ))
        })?;
        let env = environment()?;
        let precision = match engine {
            Engine::OnnxInt8 => Precision::Int8,
            Engine::OnnxInt8Rows => Precision::Int8Rows,
            _ => Precision::F32,
        };
        let shape = Dims::from_config(config, &layout, engine)?;
        let parts = Parts {
            weights,
            layout: &layout,
            shape: &shape,
        };
        let mut g = Builder::new(precision)?;
        let mut x = parts.embeddings(&mut g, config.casing)?;
        for i in 0..shape.layers {
            x = parts.layer(&mut g, i, &x)?;
        }
        let outputs = parts.head(&mut g, config.labels, &x)?;
        let session = session(env, g.finish(&outputs)?, threads, save)?;
        Ok(OnnxBert {
            session: Mutex::new(session),
            engine,
        })
    }
}

/// The graph's parts, read from a checkpoint's weights: embeddings, the layers and the head.
struct Parts<'a> {
    weights: &'a Weights,
    layout: &'a Layout,
    shape: &'a Dims,
}

impl Parts<'_> {
    fn get(&self, name: &str, dims: &[usize]) -> Result<&Weight> {
        self.weights.shaped(name, dims)
    }

    /// A layer norm's scale and shift as initializers; returns their names.
    fn norm(&self, g: &mut Builder, prefix: &str, width: usize) -> Result<(String, String)> {
        let (gamma, beta) = (
            self.get(&format!("{prefix}.weight"), &[width])?,
            self.get(&format!("{prefix}.bias"), &[width])?,
        );
        let (gn, bn) = (format!("{prefix}.gamma"), format!("{prefix}.beta"));
        g.f32(&gn, &gamma.shape, &gamma.data)?;
        g.f32(&bn, &beta.shape, &beta.data)?;
        Ok((gn, bn))
    }

    /// The segment table: row c = token type 0 + casing class c (the casing classes are fed as
    /// segment ids).
    fn segment_table(&self, casing: bool) -> Result<Vec<f32>> {
        let (e, emb) = (&self.layout.embeddings, self.shape.embedding);
        let classes = crate::tokenize::Casing::COUNT as usize;
        let token_type = if self.layout.token_types {
            Some(self.get(
                &format!("{e}.token_type_embeddings.weight"),
                &[self.shape.token_types, emb],
            )?)
        } else {
            None
        };
        let casing = if casing {
            let name = format!("{}.weight", super::CASING_WEIGHT);
            let name = if self.weights.optional(&name).is_some() {
                name
            } else {
                super::CASING_WEIGHT.to_string()
            };
            Some(self.get(&name, &[classes, emb])?)
        } else {
            None
        };
        let mut segment = Vec::with_capacity(classes * emb);
        for c in 0..classes {
            for h in 0..emb {
                let extra = casing.map_or(0.0, |w| w.data[c * emb + h]);
                segment.push(token_type.map_or(0.0, |t| t.data[h]) + extra);
            }
        }
        Ok(segment)
    }

    /// Word, position and segment embeddings, normalized (and projected up to the hidden size
    /// where ELECTRA's embeddings are smaller); returns the output's name.
    fn embeddings(&self, g: &mut Builder, casing: bool) -> Result<String> {
        let (layout, shape) = (self.layout, self.shape);
        let (e, emb) = (&layout.embeddings, shape.embedding);
        let word = self.get(&format!("{e}.word_embeddings.weight"), &[shape.vocab, emb])?;
        let position = self.get(
            &format!("{e}.position_embeddings.weight"),
            &[shape.positions, emb],
        )?;
        // Row 0 is the first token's position.
        let position_rows = shape.positions - layout.position_offset;
        let position_data = &position.data[layout.position_offset * emb..];
        let segment = self.segment_table(casing)?;
        let classes = crate::tokenize::Casing::COUNT as usize;
        g.f32("word", &word.shape, &word.data)?;
        g.f32("position", &[position_rows, emb], position_data)?;
        g.f32("segment", &[classes, emb], &segment)?;
        let (gamma, beta) = self.norm(g, &format!("{e}.LayerNorm"), emb)?;
        g.node(
            "EmbedLayerNormalization",
            MS_DOMAIN,
            &[
                "input_ids",
                "token_type_ids",
                "word",
                "position",
                "segment",
                &gamma,
                &beta,
                "attention_mask",
            ],
            &["x0", "mask_index"],
            vec![Attribute::new("epsilon", shape.eps).map_err(ort_err)?],
        )?;
        if emb == shape.hidden {
            return Ok("x0".to_string());
        }
        let project = Linear::load(
            self.weights,
            &format!("{}.embeddings_project", layout.prefix),
            emb,
            shape.hidden,
        )?;
        g.linear("embeddings_project", "x0", &project)
    }

    /// Transformer layer `i` over `x`: attention, then the feed-forward block, each with its
    /// residual and norm; returns the output's name.
    fn layer(&self, g: &mut Builder, i: usize, x: &str) -> Result<String> {
        let (shape, hidden, eps) = (self.shape, self.shape.hidden, self.shape.eps);
        let [q, k, v, attn_out, attn_norm, inter, out, out_norm] = self.layout.names;
        let p = (self.layout.layer)(self.layout.prefix, i);
        let load =
            |name: &str, inp, out| Linear::load(self.weights, &format!("{p}.{name}"), inp, out);
        let square = |name: &str| load(name, hidden, hidden);
        let qkv = [square(q)?, square(k)?, square(v)?];
        let ctx = g.attention(&format!("l{i}.attn"), x, &qkv, shape.heads)?;
        let a = g.linear(&format!("l{i}.attn_out"), &ctx, &square(attn_out)?)?;
        let (gamma, beta) = self.norm(g, &format!("{p}.{attn_norm}"), hidden)?;
        let h = g.skip_norm(&format!("l{i}.attn_norm"), &a, x, &gamma, &beta, eps)?;
        let f = g.linear(
            &format!("l{i}.inter"),
            &h,
            &load(inter, hidden, shape.intermediate)?,
        )?;
        let act = format!("l{i}.act");
        let gelu = if shape.tanh_gelu { "FastGelu" } else { "Gelu" };
        g.node(gelu, MS_DOMAIN, &[&f], &[&act], vec![])?;
        let o = g.linear(
            &format!("l{i}.out"),
            &act,
            &load(out, shape.intermediate, hidden)?,
        )?;
        let (gamma, beta) = self.norm(g, &format!("{p}.{out_norm}"), hidden)?;
        g.skip_norm(&format!("l{i}.out_norm"), &o, &h, &gamma, &beta, eps)
    }

    /// `Some(labels)`: the token classifier's `logits` and `probs`; `None`: the last layer's
    /// states as `hidden`. Returns the outputs' names and widths.
    fn head(
        &self,
        g: &mut Builder,
        labels: Option<usize>,
        x: &str,
    ) -> Result<Vec<(&'static str, usize)>> {
        let hidden = self.shape.hidden;
        let Some(labels) = labels else {
            g.node("Identity", ONNX_DOMAIN, &[x], &["hidden"], vec![])?;
            return Ok(vec![("hidden", hidden)]);
        };
        let classifier = Linear::load(self.weights, "classifier", hidden, labels)?;
        g.linear_f32("classifier", x, &classifier, "logits")?;
        // The engine's answer is probabilities; the logits stay an output for the tests that
        // compare engines.
        g.node(
            "Softmax",
            ONNX_DOMAIN,
            &["logits"],
            &["probs"],
            vec![Attribute::new("axis", -1i64).map_err(ort_err)?],
        )?;
        Ok(vec![("logits", labels), ("probs", labels)])
    }
}

/// An ONNX Runtime session over `model` with `threads` intra-op threads (0: ONNX Runtime's
/// default), optionally saving the optimized graph to `save`.
fn session(
    env: &ort::environment::Environment,
    model: Model,
    threads: usize,
    save: Option<&Path>,
) -> Result<Session> {
    let mut builder = SessionBuilder::new(env)
        .map_err(ort_err)?
        // Basic rewrites only: the graph is fused already, and the extended level re-fuses
        // Add + LayerNormalization into SkipLayerNormalization, whose CPU kernel measured
        // 4.6× slower than the pair (ONNX Runtime 1.31, 2 cores).
        .with_optimization_level(GraphOptimizationLevel::Level1)
        .map_err(|e| ort_err(e.into()))?;
    if threads > 0 {
        builder = builder
            .with_intra_threads(threads)
            .map_err(|e| ort_err(e.into()))?;
    }
    if let Some(path) = save {
        builder = builder
            .with_optimized_model_path(path)
            .map_err(|e| ort_err(e.into()))?;
    }
    model.into_session(&builder).map_err(ort_err)
}

impl Encoder for OnnxBert {
    fn run(&self, input: &EncoderInput, output: Output) -> Result<Vec<f32>> {
        let output = match output {
            Output::Logits => "logits",
            Output::Probs => "probs",
            Output::Hidden => "hidden",
        };
        let shape = [input.rows as i64, input.len as i64];
        let tensor = |v: &[i32]| Tensor::from_array((shape, v.to_vec())).map_err(ort_err);
        let inputs = ort::inputs![
            "input_ids" => tensor(&input.ids)?,
            "token_type_ids" => tensor(&input.casing)?,
            "attention_mask" => tensor(&input.mask)?,
        ];
        let mut session = self
            .session
            .lock()
            .map_err(|_| Error::Model("the ONNX Runtime session was poisoned by a panic".into()))?;
        let outputs = session.run(inputs).map_err(ort_err)?;
        let (_, data) = outputs[output]
            .try_extract_tensor::<f32>()
            .map_err(ort_err)?;
        Ok(data.to_vec())
    }

    fn engine(&self) -> Engine {
        self.engine
    }
}
