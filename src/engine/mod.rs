//! The engines behind the encoder boundary: model folders, their configuration, and the
//! ONNX Runtime and libtorch implementations of the forward pass. Its public types are
//! re-exported in [`crate::model`].
//!
//! One enum, [`Architecture`], holds what differs between architectures (the config type, the
//! weight prefix, the forward call); everything else is one code path.
//!
//! A folder holds `config.json` (`model_type`, `id2label`, sizes), a tokenizer
//! (`tokenizer.json` or `vocab.txt`) and weights in `model.safetensors` (f32 or f16) or
//! `rust_model.ot`. Weight names load with or without the architecture prefix (`bert.` …);
//! `pooler.*` and `position_ids` buffers are ignored. `pytorch_model.bin` is refused: it is a
//! pickle. A newsgraph model may add a casing embedding (`newsgraph.casing_embeddings`, see
//! [`crate::tokenize::Casing`]) that is added to the word embeddings; `config.json` then says
//! `"newsgraph": {"casing": true}`.

mod block;
#[cfg(feature = "torch")]
mod mpnet;
pub(crate) mod onnx;
#[cfg(feature = "torch")]
pub(crate) mod torch;
pub(crate) mod weights;
use crate::decode::LabelSet;
use crate::encoder::EncoderInput;
pub(crate) use block::Block;
pub use onnx::runtime_available as onnx_runtime_available;

use crate::encoder::{Encoder, Output};
use crate::error::{Error, LoadError, Result};
use crate::tokenize::TextTokenizer;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The architectures newsgraph runs, by `model_type` in `config.json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Architecture {
    /// `bert`
    Bert,
    /// `distilbert`
    DistilBert,
    /// `roberta`
    Roberta,
    /// `xlm-roberta`
    XlmRoberta,
    /// `deberta`
    Deberta,
    /// `deberta-v2`
    DebertaV2,
    /// `electra`
    Electra,
    /// `mpnet` (the rust-bert engine only: newsgraph's own libtorch network, as rust-bert has
    /// none)
    Mpnet,
}

impl Architecture {
    /// The architecture for a `model_type`.
    pub fn from_model_type(model_type: &str) -> Option<Self> {
        Some(match model_type {
            "bert" => Architecture::Bert,
            "distilbert" => Architecture::DistilBert,
            "roberta" => Architecture::Roberta,
            "xlm-roberta" => Architecture::XlmRoberta,
            "deberta" => Architecture::Deberta,
            "deberta-v2" => Architecture::DebertaV2,
            "electra" => Architecture::Electra,
            "mpnet" => Architecture::Mpnet,
            _ => return None,
        })
    }

    /// The prefix of the encoder's weight names in a token-classification checkpoint.
    pub fn prefix(self) -> &'static str {
        match self {
            Architecture::Bert => "bert",
            Architecture::DistilBert => "distilbert",
            Architecture::Roberta | Architecture::XlmRoberta => "roberta",
            Architecture::Deberta | Architecture::DebertaV2 => "deberta",
            Architecture::Electra => "electra",
            Architecture::Mpnet => "mpnet",
        }
    }

    /// Hugging Face's class name of the architecture's token classifier (`architectures` in a
    /// saved `config.json`).
    #[cfg(feature = "torch")]
    pub(crate) fn token_classifier(self) -> &'static str {
        match self {
            Architecture::Bert => "BertForTokenClassification",
            Architecture::DistilBert => "DistilBertForTokenClassification",
            Architecture::Roberta => "RobertaForTokenClassification",
            Architecture::XlmRoberta => "XLMRobertaForTokenClassification",
            Architecture::Deberta => "DebertaForTokenClassification",
            Architecture::DebertaV2 => "DebertaV2ForTokenClassification",
            Architecture::Electra => "ElectraForTokenClassification",
            Architecture::Mpnet => "MPNetForTokenClassification",
        }
    }

    /// Positions the model can take, special tokens included.
    fn max_positions(self, config: &Value) -> usize {
        let n = config
            .get("max_position_embeddings")
            .and_then(Value::as_u64)
            .unwrap_or(512) as usize;
        let n = match self {
            // Positions start after the padding index.
            Architecture::Roberta | Architecture::XlmRoberta | Architecture::Mpnet => {
                n.saturating_sub(2)
            }
            _ => n,
        };
        n.clamp(8, 512)
    }

    #[cfg(feature = "torch")]
    fn word_embeddings_name(self) -> String {
        match self {
            Architecture::DistilBert => "distilbert.embeddings.word_embeddings.weight".into(),
            other => format!("{}.embeddings.word_embeddings.weight", other.prefix()),
        }
    }
}

/// What a model folder declares, read from `config.json`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ModelConfig {
    /// The architecture.
    pub architecture: Architecture,
    /// The labels from `id2label`.
    pub labels: LabelSet,
    /// Positions the model takes, special tokens included.
    pub max_positions: usize,
    /// Window length the model was trained with (special tokens included), if it says.
    pub window: Option<usize>,
    /// Whether the model has a casing embedding.
    pub casing: bool,
    /// `config.json` as read.
    pub(crate) raw: Value,
    /// Where it was read from (named in errors).
    pub source: PathBuf,
}

impl ModelConfig {
    /// Reads and validates `config.json` of a model folder.
    pub fn from_dir(dir: &Path) -> Result<Self> {
        let path = dir.join("config.json");
        let raw = read_json(&path, "model configuration")?;
        Self::from_value(raw, &path)
    }

    /// Validates a configuration; `path` names it in errors.
    pub fn from_value(raw: Value, path: &Path) -> Result<Self> {
        let model_type = raw
            .get("model_type")
            .and_then(Value::as_str)
            .ok_or_else(|| LoadError::Invalid {
                path: path.to_path_buf(),
                message: "no \"model_type\"".into(),
            })?;
        let architecture = Architecture::from_model_type(model_type).ok_or_else(|| {
            LoadError::UnknownModelType {
                path: path.to_path_buf(),
                model_type: model_type.to_string(),
            }
        })?;
        let labels = parse_id2label(&raw).map_err(|reason| LoadError::InvalidLabels {
            path: path.to_path_buf(),
            reason,
        })?;
        let Block { casing, window, .. } = Block::read(&raw, path)?;
        if casing && !matches!(architecture, Architecture::Bert | Architecture::Mpnet) {
            return Err(LoadError::Invalid {
                path: path.to_path_buf(),
                message: "newsgraph.casing is supported for model_type bert and mpnet only".into(),
            }
            .into());
        }
        Ok(ModelConfig {
            architecture,
            max_positions: architecture.max_positions(&raw),
            labels,
            window,
            casing,
            raw,
            source: path.to_path_buf(),
        })
    }

    /// The window length the pipeline uses: the trained window, capped by the positions.
    pub fn window_len(&self) -> usize {
        self.window
            .unwrap_or(self.max_positions)
            .clamp(8, self.max_positions)
    }
}

fn parse_id2label(raw: &Value) -> Result<LabelSet, String> {
    let map = raw.get("id2label").and_then(Value::as_object).ok_or(
        "there is none: a base encoder without a token-classification head? Fine-tune it \
             (examples/train_ner.rs) or use a NER model folder",
    )?;
    let mut names = vec![None; map.len()];
    for (k, v) in map {
        let i: usize = k.parse().map_err(|_| format!("id {k:?} is not a number"))?;
        let name = v
            .as_str()
            .ok_or(format!("label of id {k} is not a string"))?;
        let slot = names
            .get_mut(i)
            .ok_or(format!("ids are not 0..{}: found {i}", map.len()))?;
        *slot = Some(name.to_string());
    }
    let names: Vec<String> = names.into_iter().flatten().collect();
    LabelSet::new(names).map_err(|e| format!("not a BIO, IOB1 or BIOES label set: {e}"))
}

/// A JSON file (`what` names it when it is missing).
pub(crate) fn read_json(path: &Path, what: &'static str) -> Result<Value> {
    if !path.is_file() {
        return Err(LoadError::MissingFile {
            path: path.to_path_buf(),
            what,
        }
        .into());
    }
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_str(&text).map_err(|e| {
        LoadError::Invalid {
            path: path.to_path_buf(),
            message: format!("not valid JSON: {e}"),
        }
        .into()
    })
}

/// Where a model's weights come from.
pub(crate) fn weights_file(dir: &Path) -> Result<PathBuf> {
    for name in ["model.safetensors", "rust_model.ot"] {
        let p = dir.join(name);
        if p.is_file() {
            return Ok(p);
        }
    }
    let pickle = dir.join("pytorch_model.bin");
    if pickle.is_file() {
        return Err(LoadError::PickleRefused { path: pickle }.into());
    }
    Err(LoadError::MissingFile {
        path: dir.join("model.safetensors"),
        what: "weights: model.safetensors, rust_model.ot or an exported model.onnx",
    }
    .into())
}

/// Which implementation runs the forward pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Engine {
    /// `onnx-int8` for BERT, DistilBERT, RoBERTa, XLM-RoBERTa and ELECTRA models. Where that
    /// cannot run (no ONNX Runtime library, DeBERTa, only `rust_model.ot`), `rust-bert` when newsgraph is built with the `torch` feature, with a
    /// warning logged (the `log` crate) that says why; otherwise an error that says why.
    #[default]
    Auto,
    /// rust-bert's model structs on libtorch in f32: the reference implementation, every
    /// architecture (feature `torch`).
    RustBert,
    /// ONNX Runtime's fused transformer kernels in f32 (the BERT family: BERT, DistilBERT,
    /// RoBERTa, XLM-RoBERTa, ELECTRA).
    Onnx,
    /// ONNX Runtime with int8 weights and dynamically quantized activations in the encoder
    /// (the BERT family). The activations share one scale per matrix product and batch, so a
    /// borderline result can change with the other texts of its batch.
    OnnxInt8,
    /// ONNX Runtime with int8 weights and activations quantized per token (each row its own
    /// scale): the f32 engine's accuracy, and an article's results do not depend on the other
    /// articles batched with it; about a fifth slower than `OnnxInt8` (the BERT family).
    OnnxInt8Rows,
    /// ONNX Runtime running the folder's own `model.onnx` (a token classifier exported by
    /// Hugging Face Optimum, or by [`NerModel::export_onnx`]); `Auto` picks it for a folder
    /// with `model.onnx` and no weights.
    OnnxFile,
}

impl std::str::FromStr for Engine {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(Engine::Auto),
            "rust-bert" => Ok(Engine::RustBert),
            "onnx" => Ok(Engine::Onnx),
            "onnx-int8" => Ok(Engine::OnnxInt8),
            "onnx-int8-rows" => Ok(Engine::OnnxInt8Rows),
            "onnx-file" => Ok(Engine::OnnxFile),
            other => Err(format!(
                "unknown engine {other:?} (expected auto, onnx-int8, onnx-int8-rows, onnx, onnx-file or rust-bert)"
            )),
        }
    }
}

impl std::fmt::Display for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Engine {
    /// The name used on the command line and in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Auto => "auto",
            Engine::RustBert => "rust-bert",
            Engine::Onnx => "onnx",
            Engine::OnnxInt8 => "onnx-int8",
            Engine::OnnxInt8Rows => "onnx-int8-rows",
            Engine::OnnxFile => "onnx-file",
        }
    }

    /// What `Auto` becomes for an architecture on this machine (loads the ONNX Runtime
    /// library to see whether it is there). A choice other than `onnx-int8` is logged with
    /// its reason; where there is nothing else to run, the reason is the error.
    fn resolve(self, architecture: Architecture, weights: &Path) -> Result<Engine> {
        if self != Engine::Auto {
            return Ok(self);
        }
        let why = if weights.extension().is_none_or(|x| x != "safetensors") {
            format!("the ONNX Runtime graph is built from model.safetensors, and this folder has {} only", weights.display())
        } else if !onnx::supports(architecture) {
            format!("{architecture:?} models run on the rust-bert engine only (relative attention is not in the ONNX Runtime graph)")
        } else {
            match onnx::runtime_check() {
                Ok(()) => return Ok(Engine::OnnxInt8),
                Err(e) => e.to_string(),
            }
        };
        if cfg!(feature = "torch") {
            log::warn!("engine auto: not onnx-int8 but rust-bert, about 4× slower: {why}");
            Ok(Engine::RustBert)
        } else {
            Err(Error::Setting(format!(
                "engine auto: {why} (the rust-bert engine needs newsgraph's `torch` feature)"
            )))
        }
    }
}

/// The name of the casing embedding's weight.
pub(crate) const CASING_WEIGHT: &str = "newsgraph.casing_embeddings";

/// A token-classification model with its tokenizer, ready to run on one of the engines.
pub struct NerModel {
    config: ModelConfig,
    tokenizer: TextTokenizer,
    encoder: Box<dyn Encoder>,
    dir: PathBuf,
    engine_threads: usize,
    /// Rows of the word embedding table.
    vocab: usize,
}

impl std::fmt::Debug for NerModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NerModel")
            .field("dir", &self.dir)
            .field("engine", &self.engine())
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl NerModel {
    /// Loads a model folder for inference on the CPU with [`Engine::Auto`].
    ///
    /// ```
    /// # fn main() -> newsgraph::Result<()> {
    /// let model = newsgraph::model::NerModel::load(&newsgraph::default_model_dir())?;
    /// assert!(model.config().labels.types().iter().any(|t| t == "PER"));
    /// # Ok(()) }
    /// ```
    pub fn load(dir: &Path) -> Result<Self> {
        Self::load_with(dir, Engine::Auto)
    }

    /// Loads a model folder for inference on the CPU with a chosen engine.
    pub fn load_with(dir: &Path, engine: Engine) -> Result<Self> {
        Self::open(dir, engine, 0)
    }

    /// Loads a model folder with an engine and the ONNX Runtime engines' thread count.
    pub(crate) fn open(dir: &Path, engine: Engine, engine_threads: usize) -> Result<Self> {
        if !dir.is_dir() {
            let message = if dir.exists() {
                "is a file, not a model folder (a folder with config.json, a tokenizer and weights)"
            } else {
                "no such model folder"
            };
            return Err(LoadError::Invalid {
                path: dir.to_path_buf(),
                message: message.into(),
            }
            .into());
        }
        let config = ModelConfig::from_dir(dir)?;
        let tokenizer = TextTokenizer::from_dir(dir)?;
        let encoder = encoder(dir, &config, engine, engine_threads)?;
        let vocab = config
            .raw
            .get("vocab_size")
            .and_then(Value::as_u64)
            .map_or_else(|| tokenizer.inner().get_vocab_size(true), |v| v as usize);
        Ok(NerModel {
            config,
            tokenizer,
            encoder,
            dir: dir.to_path_buf(),
            engine_threads,
            vocab,
        })
    }

    /// Switches the inference engine (reads the weights again).
    pub fn set_engine(&mut self, engine: Engine) -> Result<()> {
        self.encoder = encoder(&self.dir, &self.config, engine, self.engine_threads)?;
        Ok(())
    }

    /// Sets the number of threads the ONNX Runtime engines use (0: one per physical core) and
    /// rebuilds the engine if it is one of them. libtorch's threads are libtorch's setting
    /// (`tch::set_num_threads`); newsgraph does not change it.
    pub fn set_engine_threads(&mut self, threads: usize) -> Result<()> {
        self.engine_threads = threads;
        match self.engine() {
            e @ (Engine::Onnx | Engine::OnnxInt8 | Engine::OnnxInt8Rows | Engine::OnnxFile) => {
                self.set_engine(e)
            }
            _ => Ok(()),
        }
    }

    /// The ONNX Runtime engines' thread count (0: one per physical core).
    pub fn engine_threads(&self) -> usize {
        self.engine_threads
    }

    /// The engine that runs inference (never [`Engine::Auto`]).
    pub fn engine(&self) -> Engine {
        self.encoder.engine()
    }

    /// The folder's configuration.
    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// The tokenizer.
    pub(crate) fn tokenizer(&self) -> &TextTokenizer {
        &self.tokenizer
    }

    /// Label probabilities `[rows, len, labels]` (row-major) of a batch: the engine boundary
    /// the pipeline uses, plain data in and out. The ONNX Runtime engines compute the softmax
    /// in their graph.
    ///
    /// ```
    /// # fn main() -> newsgraph::Result<()> {
    /// let model = newsgraph::model::NerModel::load(&newsgraph::default_model_dir())?;
    /// let mut input = newsgraph::model::EncoderInput::new(1, 4);
    /// input.ids = vec![101, 7632, 1012, 102]; // [CLS] hello . [SEP]
    /// input.mask = vec![1; 4];
    /// let probs = model.probs(&input)?;
    /// let labels = model.config().labels.len();
    /// assert_eq!(probs.len(), 4 * labels);
    /// assert!(probs.chunks(labels).all(|p| (p.iter().sum::<f32>() - 1.0).abs() < 1e-4));
    /// # Ok(()) }
    /// ```
    pub fn probs(&self, input: &EncoderInput) -> Result<Vec<f32>> {
        self.run(input, Output::Probs)
    }

    /// Writes the ONNX graph the `onnx` or `onnx-int8` engine runs (after ONNX Runtime's basic
    /// rewrites; it uses ONNX Runtime's `com.microsoft` operators, so ONNX Runtime runs it) to
    /// `path`, e.g. to run the model from ONNX Runtime in another language. A folder with this
    /// file as `model.onnx`, `config.json` and the tokenizer runs on [`Engine::OnnxFile`].
    pub fn export_onnx(&self, path: &Path) -> Result<()> {
        let engine = self.engine();
        if !matches!(
            engine,
            Engine::Onnx | Engine::OnnxInt8 | Engine::OnnxInt8Rows
        ) {
            return Err(Error::Setting(format!(
                "export_onnx writes the graph of the onnx, onnx-int8 and onnx-int8-rows engines; this model runs on {engine}"
            )));
        }
        let file = weights_file(&self.dir)?;
        let weights = weights::Weights::read(&file, self.config.architecture.prefix())?;
        onnx::OnnxBert::export(
            &weights,
            &onnx::GraphSpec::token_classifier(&self.config),
            engine,
            path,
        )
    }

    /// Logits `[rows, len, labels]` (row-major) of a batch, before the softmax.
    pub fn logits(&self, input: &EncoderInput) -> Result<Vec<f32>> {
        self.run(input, Output::Logits)
    }

    fn run(&self, input: &EncoderInput, output: Output) -> Result<Vec<f32>> {
        input.check()?;
        let vocab = self.vocab;
        if let Some(&id) = input.ids.iter().find(|&&i| i < 0 || i as usize >= vocab) {
            return Err(Error::Setting(format!(
                "token id {id} is outside the vocabulary (0..{vocab})"
            )));
        }
        if input.len > self.config.max_positions {
            return Err(Error::Setting(format!(
                "windows of {} tokens are longer than the model's {} positions",
                input.len, self.config.max_positions
            )));
        }
        let out = self.encoder.run(input, output)?;
        let want = input.rows * input.len * self.config.labels.len();
        if out.len() != want {
            return Err(Error::Model(format!(
                "engine {} returned {} values for a {}×{} batch of {} labels",
                self.engine(),
                out.len(),
                input.rows,
                input.len,
                self.config.labels.len()
            )));
        }
        Ok(out)
    }
}

/// Builds the engine for a model folder.
fn encoder(
    dir: &Path,
    config: &ModelConfig,
    engine: Engine,
    threads: usize,
) -> Result<Box<dyn Encoder>> {
    let exported = dir.join("model.onnx");
    let weights = weights_file(dir);
    if engine == Engine::OnnxFile
        || (engine == Engine::Auto && weights.is_err() && exported.is_file())
    {
        if !exported.is_file() {
            return Err(LoadError::MissingFile {
                path: exported,
                what: "model.onnx (engine onnx-file)",
            }
            .into());
        }
        return Ok(Box::new(onnx::OnnxFile::load(&exported, config, threads)?));
    }
    let weights = weights?;
    let arch = config.architecture;
    match engine.resolve(arch, &weights)? {
        Engine::RustBert => {
            #[cfg(feature = "torch")]
            return Ok(Box::new(torch::RustBert::load(config, &weights)?));
            #[cfg(not(feature = "torch"))]
            return Err(Error::Setting(
                "engine rust-bert needs newsgraph built with the `torch` feature".into(),
            ));
        }
        e @ (Engine::Onnx | Engine::OnnxInt8 | Engine::OnnxInt8Rows) => {
            if weights.extension().is_none_or(|x| x != "safetensors") {
                return Err(LoadError::Invalid {
                    path: weights,
                    message: format!(
                        "engine {e} reads model.safetensors; convert rust_model.ot, or use \
                         the rust-bert engine (feature `torch`)"
                    ),
                }
                .into());
            }
            let weights = weights::Weights::read(&weights, arch.prefix())?;
            Ok(Box::new(onnx::OnnxBert::new(
                &weights,
                &onnx::GraphSpec::token_classifier(config),
                e,
                threads,
            )?))
        }
        Engine::Auto | Engine::OnnxFile => Err(Error::Setting(format!(
            "engine {engine} did not resolve to an engine for the weights"
        ))),
    }
}
