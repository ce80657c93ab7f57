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

/// The ONNX Runtime environment, created once per process.
static ENVIRONMENT: OnceLock<std::result::Result<ort::environment::Environment, String>> =
    OnceLock::new();

/// Where the runtime library is looked for, in order.
fn library_candidates() -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Some(p) = std::env::var_os("ORT_DYLIB_PATH").filter(|p| !p.is_empty()) {
        out.push(PathBuf::from(p));
        return out;
    }
    if let Some(p) = option_env!("NEWSGRAPH_ORT_DYLIB") {
        out.push(PathBuf::from(p));
    }
    // A binary shipped with the library beside it.
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|e| Some(e.parent()?.to_path_buf()))
    {
        let lib = dir.join(format!(
            "{}onnxruntime{}",
            std::env::consts::DLL_PREFIX,
            std::env::consts::DLL_SUFFIX
        ));
        if lib.is_file() {
            out.push(lib);
        }
    }
    out.push(PathBuf::from(format!(
        "{}onnxruntime{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    )));
    out
}

fn environment() -> Result<&'static ort::environment::Environment> {
    let env = ENVIRONMENT.get_or_init(|| {
        let mut errors = Vec::new();
        for path in library_candidates() {
            // A bare file name is resolved by the dynamic loader; a path must exist.
            if path.components().count() > 1 && !path.exists() {
                errors.push(format!("{}: no such file", path.display()));
                continue;
            }
            match ort::init_from(&path) {
                Ok(builder) => {
                    return builder
                        .with_name("newsgraph")
                        .build()
                        .map_err(|e| format!("{}: {e}", path.display()));
                }
                Err(e) => errors.push(format!("{}: {e}", path.display())),
            }
        }
        Err(format!(
            "ONNX Runtime could not be loaded ({}); newsgraph's build step fetches it into its \
             cache when the default feature `fetch-onnxruntime` is on and PyPI is reachable at \
             build time (x86_64 Linux); else set ORT_DYLIB_PATH to a libonnxruntime >= 1.22, or \
             put one beside the binary or on the system's library path",
            errors.join("; ")
        ))
    });
    env.as_ref().map_err(|e| Error::Model(e.clone()))
}

/// Whether the ONNX Runtime library can be loaded (it is loaded on the first call), that is
/// whether the `onnx` engines can run and `Engine::Auto` picks `onnx-int8` for BERT models.
///
/// ```
/// use newsgraph::Engine;
/// use newsgraph::model::NerModel;
/// # fn main() -> newsgraph::Result<()> {
/// let model = NerModel::load(&newsgraph::default_model_dir())?; // Engine::Auto
/// if newsgraph::model::onnx_runtime_available() {
///     assert_eq!(model.engine(), Engine::OnnxInt8);
/// }
/// # Ok(()) }
/// ```
pub fn runtime_available() -> bool {
    environment().is_ok()
}

/// Whether the ONNX Runtime library loads, and if not why (every path tried and the fix).
pub(crate) fn runtime_check() -> Result<()> {
    environment().map(|_| ())
}

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

/// What an exported graph's input is fed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Feed {
    Ids,
    Mask,
    /// Token types: zeros, or the casing classes for a model with a casing embedding (a graph
    /// newsgraph exported carries them there).
    TokenTypes,
}

/// A token classifier exported to `model.onnx` (Hugging Face Optimum's
/// `ORTModelForTokenClassification`, or [`crate::NerModel::export_onnx`]): inputs
/// `input_ids`, `attention_mask` and optionally `token_type_ids` (int64 or int32), output
/// `logits` `[batch, seq, labels]`.
pub(crate) struct OnnxFile {
    session: Mutex<Session>,
    inputs: Vec<(String, Feed, TensorElementType)>,
    output: String,
    labels: usize,
    casing: bool,
}

impl OnnxFile {
    pub(crate) fn load(path: &Path, config: &ModelConfig, threads: usize) -> Result<Self> {
        let env = environment()?;
        let invalid = |message: String| crate::error::LoadError::Invalid {
            path: path.to_path_buf(),
            message,
        };
        let mut builder = SessionBuilder::new(env).map_err(ort_err)?;
        if threads > 0 {
            builder = builder
                .with_intra_threads(threads)
                .map_err(|e| ort_err(e.into()))?;
        }
        let session = builder
            .commit_from_file(path)
            .map_err(|e| invalid(format!("ONNX Runtime cannot load it: {e}")))?;
        let mut inputs = Vec::new();
        for outlet in session.inputs() {
            let name = outlet.name();
            let feed = match name {
                "input_ids" => Feed::Ids,
                "attention_mask" => Feed::Mask,
                "token_type_ids" => Feed::TokenTypes,
                other => {
                    return Err(invalid(format!(
                        "input {other:?} is not one newsgraph feeds (input_ids, attention_mask, \
                         token_type_ids)"
                    ))
                    .into())
                }
            };
            let ty = match outlet.dtype() {
                ValueType::Tensor { ty, .. }
                    if matches!(ty, TensorElementType::Int64 | TensorElementType::Int32) =>
                {
                    *ty
                }
                other => {
                    return Err(invalid(format!(
                        "input {name:?} is {other:?}, not an int64 or int32 tensor"
                    ))
                    .into())
                }
            };
            inputs.push((name.to_string(), feed, ty));
        }
        if !inputs.iter().any(|i| i.1 == Feed::Ids) {
            return Err(invalid("the graph has no input_ids input".into()).into());
        }
        let output = session
            .outputs()
            .iter()
            .find(|o| o.name() == "logits")
            .or_else(|| session.outputs().first())
            .map(|o| o.name().to_string())
            .ok_or_else(|| invalid("the graph has no output".into()))?;
        Ok(OnnxFile {
            session: Mutex::new(session),
            inputs,
            output,
            labels: config.labels.len(),
            casing: config.casing,
        })
    }
}

impl Encoder for OnnxFile {
    fn run(&self, input: &EncoderInput, output: Output) -> Result<Vec<f32>> {
        let shape = [input.rows as i64, input.len as i64];
        let zeros = vec![0; input.ids.len()];
        let mut feeds: Vec<(String, ort::value::DynValue)> = Vec::new();
        for (name, feed, ty) in &self.inputs {
            let values = match feed {
                Feed::Ids => &input.ids,
                Feed::Mask => &input.mask,
                Feed::TokenTypes if self.casing => &input.casing,
                Feed::TokenTypes => &zeros,
            };
            let value = if *ty == TensorElementType::Int64 {
                let v: Vec<i64> = values.iter().map(|&x| x as i64).collect();
                Tensor::from_array((shape, v)).map_err(ort_err)?.into_dyn()
            } else {
                Tensor::from_array((shape, values.clone()))
                    .map_err(ort_err)?
                    .into_dyn()
            };
            feeds.push((name.clone(), value));
        }
        let mut session = self
            .session
            .lock()
            .map_err(|_| Error::Model("the ONNX Runtime session was poisoned by a panic".into()))?;
        let outputs = session.run(feeds).map_err(ort_err)?;
        let (_, data) = outputs[self.output.as_str()]
            .try_extract_tensor::<f32>()
            .map_err(ort_err)?;
        let mut logits = data.to_vec();
        // NerModel checks the length (config.json's labels) for every engine.
        if output == Output::Probs {
            logits
                .chunks_mut(self.labels)
                .for_each(crate::encoder::softmax);
        }
        Ok(logits)
    }

    fn engine(&self) -> Engine {
        Engine::OnnxFile
    }
}

/// A linear layer in ONNX layout: `weight` is `[in, out]` (row-major), the transpose of
/// torch's `[out, in]`.
struct Linear {
    weight: Vec<f32>,
    bias: Vec<f32>,
    inp: usize,
    out: usize,
}

impl Linear {
    /// Reads `{prefix}.weight` (`[out, inp]`) and `{prefix}.bias`.
    fn load(weights: &Weights, prefix: &str, inp: usize, out: usize) -> Result<Self> {
        let w: &Weight = weights.shaped(&format!("{prefix}.weight"), &[out, inp])?;
        let b = weights.shaped(&format!("{prefix}.bias"), &[out])?;
        let mut weight = vec![0.0; inp * out];
        for o in 0..out {
            for i in 0..inp {
                weight[i * out + o] = w.data[o * inp + i];
            }
        }
        Ok(Linear {
            weight,
            bias: b.data.clone(),
            inp,
            out,
        })
    }

    /// Side by side along the output axis (for the merged query-key-value projection).
    fn concat(parts: &[Linear]) -> Linear {
        let inp = parts[0].inp;
        let out: usize = parts.iter().map(|p| p.out).sum();
        let mut weight = Vec::with_capacity(inp * out);
        for i in 0..inp {
            for p in parts {
                weight.extend_from_slice(&p.weight[i * p.out..(i + 1) * p.out]);
            }
        }
        Linear {
            weight,
            bias: parts.iter().flat_map(|p| p.bias.iter().copied()).collect(),
            inp,
            out,
        }
    }

    /// Symmetric per-column int8: (values, scales).
    fn quantize(&self, qmax: f32) -> (Vec<i8>, Vec<f32>) {
        let mut scales = vec![0f32; self.out];
        for i in 0..self.inp {
            for (o, s) in scales.iter_mut().enumerate() {
                *s = s.max(self.weight[i * self.out + o].abs());
            }
        }
        for s in &mut scales {
            *s = if *s > 0.0 { *s / qmax } else { 1.0 };
        }
        let q = self
            .weight
            .iter()
            .enumerate()
            .map(|(k, &w)| (w / scales[k % self.out]).round().clamp(-qmax, qmax) as i8)
            .collect();
        (q, scales)
    }
}

/// The largest int8 weight magnitude. Without VNNI, x86 int8 kernels multiply u8 × s8 pairs
/// into saturating i16 sums (`vpmaddubsw`), so weights keep 7 bits there ("reduce range").
fn int8_range() -> f32 {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512vnni")
            || std::arch::is_x86_feature_detected!("avxvnni")
        {
            127.0
        } else {
            63.0
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        127.0
    }
}

/// Builds the graph node by node.
struct Builder {
    graph: Graph,
    precision: Precision,
    qmax: f32,
    nodes: usize,
    constants: bool,
}

impl Builder {
    fn new(precision: Precision) -> Result<Self> {
        Ok(Builder {
            graph: Graph::new().map_err(ort_err)?,
            precision,
            qmax: int8_range(),
            nodes: 0,
            constants: false,
        })
    }

    /// The finished model: int32 `input_ids`, `token_type_ids` and `attention_mask`
    /// `[batch, seq]` in, f32 `outputs` `[batch, seq, width]` out.
    fn finish(self, outputs: &[(&str, usize)]) -> Result<Model> {
        let int32 = |name: &str| {
            Outlet::new(
                name,
                ValueType::Tensor {
                    ty: TensorElementType::Int32,
                    shape: Shape::new([-1, -1]),
                    dimension_symbols: SymbolicDimensions::new(["batch".into(), "seq".into()]),
                },
            )
        };
        let mut graph = self.graph;
        graph
            .set_inputs([
                int32("input_ids"),
                int32("token_type_ids"),
                int32("attention_mask"),
            ])
            .map_err(ort_err)?;
        let float3 = |&(name, width): &(&str, usize)| {
            Outlet::new(
                name,
                ValueType::Tensor {
                    ty: TensorElementType::Float32,
                    shape: Shape::new([-1, -1, width as i64]),
                    dimension_symbols: SymbolicDimensions::new([
                        "batch".into(),
                        "seq".into(),
                        String::new(),
                    ]),
                },
            )
        };
        graph
            .set_outputs(outputs.iter().map(float3))
            .map_err(ort_err)?;
        let mut model = Model::new([
            Opset::new(ONNX_DOMAIN, 17).map_err(ort_err)?,
            Opset::new(MS_DOMAIN, 1).map_err(ort_err)?,
        ])
        .map_err(ort_err)?;
        model.set_graph(graph).map_err(ort_err)?;
        Ok(model)
    }

    fn node(
        &mut self,
        op: &str,
        domain: &str,
        inputs: &[&str],
        outputs: &[&str],
        attributes: Vec<Attribute>,
    ) -> Result<()> {
        self.nodes += 1;
        let node = Node::new(
            op,
            domain,
            format!("{op}_{}", self.nodes),
            inputs,
            outputs,
            attributes,
        )
        .map_err(ort_err)?;
        self.graph.add_node(node).map_err(ort_err)
    }

    fn initializer<T: PrimitiveTensorElementType + Copy + std::fmt::Debug>(
        &mut self,
        name: &str,
        shape: &[usize],
        data: &[T],
    ) -> Result<()> {
        let shape: Vec<i64> = shape.iter().map(|&d| d as i64).collect();
        let mut t = Tensor::<T>::new(&Allocator::default(), shape).map_err(ort_err)?;
        t.extract_tensor_mut().1.copy_from_slice(data);
        self.graph.add_initializer(name, t, false).map_err(ort_err)
    }

    fn f32(&mut self, name: &str, shape: &[usize], data: &[f32]) -> Result<()> {
        self.initializer(name, shape, data)
    }

    /// `x · W + b` in f32; the result is named `out`.
    fn linear_f32(&mut self, name: &str, x: &str, l: &Linear, out: &str) -> Result<()> {
        let (w, b, y) = (
            format!("{name}.w"),
            format!("{name}.b"),
            format!("{name}.xw"),
        );
        self.f32(&w, &[l.inp, l.out], &l.weight)?;
        self.f32(&b, &[l.out], &l.bias)?;
        self.node("MatMul", ONNX_DOMAIN, &[x, &w], &[&y], vec![])?;
        self.node("Add", ONNX_DOMAIN, &[&y, &b], &[out], vec![])
    }

    /// `x` quantized per token: each row gets its own scale (its largest magnitude / 127) and is
    /// stored as uint8 around 128, so a token's result does not depend on the other rows of the
    /// batch. Returns the quantized rows' and the scales' names (scales shaped `(B, S, 1)`).
    fn quantize_rows(&mut self, name: &str, x: &str) -> Result<(String, String)> {
        let n = |v: &str| format!("{name}.{v}");
        if !self.constants {
            self.f32("q.inv127", &[], &[1.0 / 127.0])?;
            self.f32("q.tiny", &[], &[1e-12])?;
            self.f32("q.one", &[], &[1.0])?;
            self.initializer::<u8>("q.zp", &[], &[128])?;
            self.constants = true;
        }
        let attr = |k: &str, v: i64| Attribute::new(k, v).map_err(ort_err);
        let axes = || -> Result<Vec<Attribute>> {
            Ok(vec![
                Attribute::new("axes", vec![-1i64]).map_err(ort_err)?,
                attr("keepdims", 1)?,
            ])
        };
        self.node("ReduceMax", ONNX_DOMAIN, &[x], &[&n("hi")], axes()?)?;
        self.node("ReduceMin", ONNX_DOMAIN, &[x], &[&n("lo")], axes()?)?;
        self.node("Neg", ONNX_DOMAIN, &[&n("lo")], &[&n("nlo")], vec![])?;
        self.node(
            "Max",
            ONNX_DOMAIN,
            &[&n("hi"), &n("nlo"), "q.tiny"],
            &[&n("max")],
            vec![],
        )?;
        self.node(
            "Mul",
            ONNX_DOMAIN,
            &[&n("max"), "q.inv127"],
            &[&n("xs")],
            vec![],
        )?;
        self.node("Div", ONNX_DOMAIN, &[x, &n("xs")], &[&n("xn")], vec![])?;
        self.node(
            "QuantizeLinear",
            ONNX_DOMAIN,
            &[&n("xn"), "q.one", "q.zp"],
            &[&n("xq")],
            vec![],
        )?;
        Ok((n("xq"), n("xs")))
    }

    /// `(xq · W) · xs (+ b)` for rows quantized by [`Builder::quantize_rows`], the weights int8
    /// per output column.
    fn matmul_rows(
        &mut self,
        name: &str,
        (xq, xs): (&str, &str),
        l: &Linear,
        bias: bool,
    ) -> Result<String> {
        let n = |v: &str| format!("{name}.{v}");
        let (q, scales) = l.quantize(self.qmax);
        self.initializer(&n("wq"), &[l.inp, l.out], &q)?;
        self.f32(&n("ws"), &[l.out], &scales)?;
        self.node(
            "MatMulIntegerToFloat",
            MS_DOMAIN,
            &[xq, &n("wq"), "q.one", &n("ws"), "q.zp"],
            &[&n("acc")],
            vec![],
        )?;
        let out = n("y");
        if bias {
            self.f32(&n("b"), &[l.out], &l.bias)?;
            self.node("Mul", ONNX_DOMAIN, &[&n("acc"), xs], &[&n("row")], vec![])?;
            self.node("Add", ONNX_DOMAIN, &[&n("row"), &n("b")], &[&out], vec![])?;
        } else {
            self.node("Mul", ONNX_DOMAIN, &[&n("acc"), xs], &[&out], vec![])?;
        }
        Ok(out)
    }

    /// `x · W + b` in the builder's precision; returns the output's name.
    fn linear(&mut self, name: &str, x: &str, l: &Linear) -> Result<String> {
        let out = format!("{name}.y");
        match self.precision {
            Precision::F32 => self.linear_f32(name, x, l, &out)?,
            Precision::Int8Rows => {
                let (xq, xs) = self.quantize_rows(name, x)?;
                return self.matmul_rows(name, (&xq, &xs), l, true);
            }
            Precision::Int8 => {
                let (q, scales) = l.quantize(self.qmax);
                let (w, s, b) = (
                    format!("{name}.wq"),
                    format!("{name}.ws"),
                    format!("{name}.b"),
                );
                self.initializer(&w, &[l.inp, l.out], &q)?;
                self.f32(&s, &[l.out], &scales)?;
                self.f32(&b, &[l.out], &l.bias)?;
                self.node(
                    "DynamicQuantizeMatMul",
                    MS_DOMAIN,
                    &[x, &w, &s, "", &b],
                    &[&out],
                    vec![],
                )?;
            }
        }
        Ok(out)
    }

    /// Self-attention over `x` with the query, key and value projections `parts`: merged into
    /// one projection for `Attention` in f32 and `QAttention` (int8 projection, f32 attention)
    /// in int8; in int8-rows three products of the same quantized rows feeding
    /// `MultiHeadAttention` (f32). Returns the context's name.
    fn attention(
        &mut self,
        name: &str,
        x: &str,
        parts: &[Linear; 3],
        heads: i64,
    ) -> Result<String> {
        let qkv = Linear::concat(parts);
        let (out, b) = (format!("{name}.ctx"), format!("{name}.b"));
        self.f32(&b, &[qkv.out], &qkv.bias)?;
        let heads = vec![Attribute::new("num_heads", heads).map_err(ort_err)?];
        match self.precision {
            Precision::F32 => {
                let w = format!("{name}.w");
                self.f32(&w, &[qkv.inp, qkv.out], &qkv.weight)?;
                let inputs = [x, &w, &b, "mask_index"];
                self.node("Attention", MS_DOMAIN, &inputs, &[&out], heads)?;
            }
            Precision::Int8Rows => {
                let (xq, xs) = self.quantize_rows(name, x)?;
                let mut qkv_names = Vec::with_capacity(3);
                for (l, part) in parts.iter().zip(["q", "k", "v"]) {
                    let part = format!("{name}.{part}");
                    qkv_names.push(self.matmul_rows(&part, (&xq, &xs), l, false)?);
                }
                let [q, k, v] = [0, 1, 2].map(|i| qkv_names[i].as_str());
                let inputs = [q, k, v, &b, "mask_index"];
                self.node("MultiHeadAttention", MS_DOMAIN, &inputs, &[&out], heads)?;
            }
            Precision::Int8 => {
                let (q, scales) = qkv.quantize(self.qmax);
                let (w, s) = (format!("{name}.wq"), format!("{name}.ws"));
                self.initializer(&w, &[qkv.inp, qkv.out], &q)?;
                self.f32(&s, &[qkv.out], &scales)?;
                let [xq, xs, xz] = ["xq", "xs", "xz"].map(|v| format!("{name}.{v}"));
                let quantized = [xq.as_str(), &xs, &xz];
                self.node(
                    "DynamicQuantizeLinear",
                    ONNX_DOMAIN,
                    &[x],
                    &quantized,
                    vec![],
                )?;
                let inputs = [xq.as_str(), &w, &b, &xs, &s, "mask_index", &xz];
                self.node("QAttention", MS_DOMAIN, &inputs, &[&out], heads)?;
            }
        }
        Ok(out)
    }

    /// `LayerNorm(a + skip)` as `Add` + `LayerNormalization` (see the optimization level in
    /// [`OnnxBert::new`]); returns the output's name.
    fn skip_norm(
        &mut self,
        name: &str,
        a: &str,
        skip: &str,
        gamma: &str,
        beta: &str,
        eps: f32,
    ) -> Result<String> {
        let (sum, out) = (format!("{name}.sum"), format!("{name}.y"));
        self.node("Add", ONNX_DOMAIN, &[a, skip], &[&sum], vec![])?;
        self.node(
            "LayerNormalization",
            ONNX_DOMAIN,
            &[&sum, gamma, beta],
            &[&out],
            vec![
                Attribute::new("epsilon", eps).map_err(ort_err)?,
                Attribute::new("axis", -1i64).map_err(ort_err)?,
            ],
        )?;
        Ok(out)
    }
}
