//! The model: a Hugging Face token-classification folder run with rust-bert's model structs.
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

mod fused;
mod onnx;
pub use onnx::runtime_available as onnx_runtime_available;

use crate::decode::LabelSet;
use crate::encoder::EncoderInput;
use crate::error::{Error, LoadError, Result};
use crate::tokenize::TextTokenizer;
use rust_bert::bert::BertForTokenClassification;
use rust_bert::deberta::DebertaForTokenClassification;
use rust_bert::deberta_v2::DebertaV2ForTokenClassification;
use rust_bert::distilbert::DistilBertForTokenClassification;
use rust_bert::electra::ElectraForTokenClassification;
use rust_bert::roberta::RobertaForTokenClassification;
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use tch::{nn, Device, Kind, Tensor};

/// The architectures newsgraph runs, by `model_type` in `config.json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
            Architecture::Roberta | Architecture::XlmRoberta => n.saturating_sub(2),
            _ => n,
        };
        n.clamp(8, 512)
    }

    fn word_embeddings_name(self) -> String {
        match self {
            Architecture::DistilBert => "distilbert.embeddings.word_embeddings.weight".into(),
            other => format!("{}.embeddings.word_embeddings.weight", other.prefix()),
        }
    }
}

enum Network {
    Bert(Box<BertForTokenClassification>),
    DistilBert(Box<DistilBertForTokenClassification>),
    Roberta(Box<RobertaForTokenClassification>),
    Deberta(Box<DebertaForTokenClassification>),
    DebertaV2(Box<DebertaV2ForTokenClassification>),
    Electra(Box<ElectraForTokenClassification>),
}

/// What a model folder declares, read from `config.json`.
#[derive(Debug, Clone)]
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
    pub raw: Value,
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
        let ng = raw.get("newsgraph");
        let casing = ng
            .and_then(|n| n.get("casing"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        if casing && architecture != Architecture::Bert {
            return Err(LoadError::Invalid {
                path: path.to_path_buf(),
                message: "newsgraph.casing is supported for model_type bert only".into(),
            }
            .into());
        }
        let window = ng
            .and_then(|n| n.get("window"))
            .and_then(Value::as_u64)
            .map(|w| w as usize);
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

fn read_json(path: &Path, what: &'static str) -> Result<Value> {
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
fn weights_file(dir: &Path) -> Result<PathBuf> {
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
        what: "weights: model.safetensors or rust_model.ot",
    }
    .into())
}

/// Reads the architecture's own configuration type from `config.json`.
fn arch_config<T: serde::de::DeserializeOwned>(raw: &Value, path: &Path) -> Result<T> {
    serde_json::from_value(raw.clone()).map_err(|e| {
        LoadError::Invalid {
            path: path.to_path_buf(),
            message: format!("does not fit its model_type: {e}"),
        }
        .into()
    })
}

/// Which implementation runs the forward pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Engine {
    /// The fastest engine this model and machine support: `onnx-int8` for BERT models when
    /// the ONNX Runtime library can be loaded, else `fused-bf16` on CPUs with native bf16
    /// arithmetic (AVX512-BF16), else `fused`; `rust-bert` for the other architectures.
    #[default]
    Auto,
    /// rust-bert's model structs in f32: the reference implementation (all architectures).
    RustBert,
    /// Fused attention kernels in f32 (BERT).
    Fused,
    /// Fused attention kernels in bfloat16 (BERT).
    FusedBf16,
    /// ONNX Runtime's fused transformer kernels in f32 (BERT; needs the runtime library).
    Onnx,
    /// ONNX Runtime with int8 weights and dynamically quantized activations in the encoder
    /// (BERT; needs the runtime library).
    OnnxInt8,
}

impl std::str::FromStr for Engine {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(Engine::Auto),
            "rust-bert" => Ok(Engine::RustBert),
            "fused" => Ok(Engine::Fused),
            "fused-bf16" => Ok(Engine::FusedBf16),
            "onnx" => Ok(Engine::Onnx),
            "onnx-int8" => Ok(Engine::OnnxInt8),
            other => Err(format!(
                "unknown engine {other:?} (expected auto, rust-bert, fused, fused-bf16, onnx or onnx-int8)"
            )),
        }
    }
}

impl Engine {
    /// The name used on the command line and in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Auto => "auto",
            Engine::RustBert => "rust-bert",
            Engine::Fused => "fused",
            Engine::FusedBf16 => "fused-bf16",
            Engine::Onnx => "onnx",
            Engine::OnnxInt8 => "onnx-int8",
        }
    }

    /// What `Auto` becomes for an architecture on this machine (loads the ONNX Runtime
    /// library to see whether it is there).
    ///
    /// A choice other than the fastest engine is never silent: it is logged (the `log` crate,
    /// level warn) with its reason, and [`NerModel::engine`] says which engine runs.
    pub fn resolve(self, architecture: Architecture) -> Engine {
        if self != Engine::Auto {
            return self;
        }
        if architecture != Architecture::Bert {
            log::info!(
                "engine auto: {architecture:?} models run on rust-bert (the fast engines run bert)"
            );
            return Engine::RustBert;
        }
        if let Err(e) = onnx::runtime_check() {
            let fallback = if cpu_has_bf16() {
                Engine::FusedBf16
            } else {
                Engine::Fused
            };
            log::warn!(
                "engine auto: not onnx-int8 but {}, about half as fast: {e}",
                fallback.as_str()
            );
            return fallback;
        }
        Engine::OnnxInt8
    }
}

/// Whether the CPU computes in bf16 natively (otherwise bf16 is emulated and slow).
pub fn cpu_has_bf16() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        // CPUs with AMX also have AVX512-BF16.
        std::arch::is_x86_feature_detected!("avx512bf16")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// What the fast engines read from a BERT `config.json`.
pub(crate) struct BertShape {
    pub(crate) layers: i64,
    pub(crate) heads: i64,
    pub(crate) eps: f64,
    /// `gelu` (erf) or one of the tanh approximations.
    pub(crate) tanh_gelu: bool,
}

impl BertShape {
    /// Reads the shape; `engine` names the engine in the error for other activations.
    pub(crate) fn from_config(config: &Value, engine: Engine) -> Result<Self> {
        let int = |key: &str| config.get(key).and_then(Value::as_i64).unwrap_or(12);
        let tanh_gelu = match config.get("hidden_act").and_then(Value::as_str) {
            Some("gelu") | None => false,
            Some("gelu_new" | "gelu_pytorch_tanh" | "gelu_fast") => true,
            Some(other) => {
                return Err(Error::Setting(format!(
                    "engine {} runs gelu activations only, not {other}; use Engine::RustBert",
                    engine.as_str()
                )))
            }
        };
        Ok(BertShape {
            layers: int("num_hidden_layers"),
            heads: int("num_attention_heads"),
            eps: config
                .get("layer_norm_eps")
                .and_then(Value::as_f64)
                .unwrap_or(1e-12),
            tanh_gelu,
        })
    }
}

/// The name of the casing embedding's weight.
pub const CASING_WEIGHT: &str = "newsgraph.casing_embeddings";

/// A token-classification model with its tokenizer, ready to run.
pub struct NerModel {
    vs: nn::VarStore,
    net: Network,
    tokenizer: TextTokenizer,
    config: ModelConfig,
    /// (word embeddings, casing embeddings) when the model has a casing embedding.
    casing: Option<(Tensor, Tensor)>,
    /// The fast engine, when one was chosen.
    fast: Option<Fast>,
    /// Threads for the ONNX Runtime engines (0: ONNX Runtime's default).
    engine_threads: usize,
}

/// An inference engine other than rust-bert's structs.
enum Fast {
    Fused(fused::FusedBert),
    Onnx(onnx::OnnxBert),
}

impl std::fmt::Debug for NerModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NerModel")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// How [`NerModel::build`] treats weights the file does not have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// Every weight must be in the file (inference).
    Error,
    /// The classifier and the casing embedding may be missing and keep their fresh
    /// initialisation (fine-tuning from a base encoder).
    FreshHead,
}

impl NerModel {
    /// Loads a model folder for inference on the CPU.
    ///
    /// ```
    /// # fn main() -> newsgraph::Result<()> {
    /// let model = newsgraph::NerModel::load(&newsgraph::default_model_dir())?;
    /// assert!(model.config().labels.types().iter().any(|t| t == "PER"));
    /// # Ok(()) }
    /// ```
    pub fn load(dir: &Path) -> Result<Self> {
        Self::load_with(dir, Engine::Auto)
    }

    /// Loads a model folder for inference on the CPU with a chosen engine.
    pub fn load_with(dir: &Path, engine: Engine) -> Result<Self> {
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
        let weights = weights_file(dir)?;
        let mut model = Self::build(config, tokenizer, Device::Cpu)?;
        model.load_weights(&weights, Missing::Error)?;
        model.vs.freeze();
        model.set_engine(engine)?;
        Ok(model)
    }

    /// Switches the inference engine (training always runs rust-bert's structs).
    pub fn set_engine(&mut self, engine: Engine) -> Result<()> {
        let arch = self.config.architecture;
        let resolved = engine.resolve(arch);
        if resolved == Engine::RustBert {
            self.fast = None;
            return Ok(());
        }
        if arch != Architecture::Bert {
            return Err(Error::Setting(format!(
                "engine {} runs model_type bert only; this model is {arch:?}",
                resolved.as_str()
            )));
        }
        let vars = self.vs.variables();
        let (raw, source) = (&self.config.raw, &self.config.source);
        self.fast = Some(match resolved {
            Engine::Onnx | Engine::OnnxInt8 => Fast::Onnx(onnx::OnnxBert::new(
                &vars,
                raw,
                source,
                resolved,
                self.engine_threads,
            )?),
            _ => Fast::Fused(fused::FusedBert::new(&vars, raw, source, resolved)?),
        });
        Ok(())
    }

    /// Sets the number of threads the ONNX Runtime engines use (0: one per physical core) and
    /// rebuilds the engine if it is one of them. The libtorch engines follow
    /// `tch::set_num_threads`.
    pub fn set_engine_threads(&mut self, threads: usize) -> Result<()> {
        self.engine_threads = threads;
        match self.engine() {
            e @ (Engine::Onnx | Engine::OnnxInt8) => self.set_engine(e),
            _ => Ok(()),
        }
    }

    /// The ONNX Runtime engines' thread count (0: one per physical core).
    pub fn engine_threads(&self) -> usize {
        self.engine_threads
    }

    /// The engine that runs inference.
    pub fn engine(&self) -> Engine {
        match &self.fast {
            None => Engine::RustBert,
            Some(Fast::Fused(f)) => f.engine(),
            Some(Fast::Onnx(o)) => o.engine(),
        }
    }

    /// Builds a model with freshly initialised weights from a validated configuration.
    pub fn build(config: ModelConfig, tokenizer: TextTokenizer, device: Device) -> Result<Self> {
        let vs = nn::VarStore::new(device);
        let root = vs.root();
        let raw = &config.raw;
        let net = match config.architecture {
            Architecture::Bert => Network::Bert(Box::new(BertForTokenClassification::new(
                &root,
                &arch_config(raw, &config.source)?,
            )?)),
            Architecture::Roberta | Architecture::XlmRoberta => Network::Roberta(Box::new(
                RobertaForTokenClassification::new(&root, &arch_config(raw, &config.source)?)?,
            )),
            Architecture::DistilBert => Network::DistilBert(Box::new(
                DistilBertForTokenClassification::new(&root, &arch_config(raw, &config.source)?)?,
            )),
            Architecture::Deberta => Network::Deberta(Box::new(
                DebertaForTokenClassification::new(&root, &arch_config(raw, &config.source)?)?,
            )),
            Architecture::DebertaV2 => Network::DebertaV2(Box::new(
                DebertaV2ForTokenClassification::new(&root, &arch_config(raw, &config.source)?)?,
            )),
            Architecture::Electra => Network::Electra(Box::new(
                ElectraForTokenClassification::new(&root, &arch_config(raw, &config.source)?)?,
            )),
        };
        let casing = if config.casing {
            let word = vs
                .variables()
                .get(&config.architecture.word_embeddings_name())
                .map(Tensor::shallow_clone)
                .ok_or_else(|| Error::Model("no word embeddings to add casing to".into()))?;
            let hidden = word.size()[1];
            let casing = (&root / "newsgraph").var(
                "casing_embeddings",
                &[crate::tokenize::Casing::COUNT, hidden],
                nn::Init::Const(0.0),
            );
            Some((word, casing))
        } else {
            None
        };
        Ok(NerModel {
            vs,
            net,
            tokenizer,
            config,
            casing,
            fast: None,
            engine_threads: 0,
        })
    }

    /// Copies weights from a safetensors (f32 or f16) or `.ot` file into the model.
    pub fn load_weights(&mut self, path: &Path, missing: Missing) -> Result<()> {
        let is_safetensors = path.extension().is_some_and(|e| e == "safetensors");
        let read = if is_safetensors {
            Tensor::read_safetensors(path)
        } else {
            Tensor::load_multi(path)
        };
        let tensors = read.map_err(|e| LoadError::Invalid {
            path: path.to_path_buf(),
            message: format!("cannot read weights: {e}"),
        })?;
        let prefix = self.config.architecture.prefix();
        let mut by_name: HashMap<String, Tensor> = HashMap::with_capacity(tensors.len());
        for (name, t) in tensors {
            if name.ends_with("position_ids") || name.contains("pooler.") {
                continue;
            }
            let name = name
                .replace("LayerNorm.gamma", "LayerNorm.weight")
                .replace("LayerNorm.beta", "LayerNorm.bias");
            let name = if name.starts_with(&format!("{prefix}."))
                || name.starts_with("classifier.")
                || name.starts_with("newsgraph.")
            {
                name
            } else {
                format!("{prefix}.{name}")
            };
            by_name.insert(name, t);
        }
        let mut vars: Vec<(String, Tensor)> = self.vs.variables().into_iter().collect();
        vars.sort_by(|a, b| a.0.cmp(&b.0));
        tch::no_grad(|| -> Result<()> {
            for (name, mut var) in vars {
                match by_name.get(&name) {
                    Some(t) => {
                        if t.size() != var.size() {
                            return Err(LoadError::ShapeMismatch {
                                path: path.to_path_buf(),
                                name,
                                expected: var.size(),
                                found: t.size(),
                            }
                            .into());
                        }
                        var.f_copy_(&t.to_kind(var.kind()))?;
                    }
                    None => {
                        let fresh_ok = name.starts_with("classifier.")
                            || name.starts_with("newsgraph.")
                            || name.ends_with("embeddings.token_type_embeddings.weight");
                        if !(missing == Missing::FreshHead && fresh_ok) {
                            return Err(LoadError::MissingWeight {
                                path: path.to_path_buf(),
                                name,
                            }
                            .into());
                        }
                    }
                }
            }
            Ok(())
        })
    }

    /// The folder's configuration.
    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// The tokenizer.
    pub fn tokenizer(&self) -> &TextTokenizer {
        &self.tokenizer
    }

    /// The variables (for training).
    pub fn var_store(&self) -> &nn::VarStore {
        &self.vs
    }

    /// The variables, mutable (for training: freezing, moving).
    pub fn var_store_mut(&mut self) -> &mut nn::VarStore {
        &mut self.vs
    }

    /// Label probabilities `[rows, len, labels]` (row-major) of a batch: the engine boundary
    /// the pipeline uses, plain data in and out. The ONNX Runtime engines compute the softmax
    /// in their graph.
    ///
    /// ```
    /// # fn main() -> newsgraph::Result<()> {
    /// let model = newsgraph::NerModel::load(&newsgraph::default_model_dir())?;
    /// let mut input = newsgraph::EncoderInput::new(1, 4);
    /// input.ids = vec![101, 7632, 1012, 102]; // [CLS] hello . [SEP]
    /// input.mask = vec![1; 4];
    /// let probs = model.probs(&input)?;
    /// let labels = model.config().labels.len();
    /// assert_eq!(probs.len(), 4 * labels);
    /// assert!(probs.chunks(labels).all(|p| (p.iter().sum::<f32>() - 1.0).abs() < 1e-4));
    /// # Ok(()) }
    /// ```
    pub fn probs(&self, input: &EncoderInput) -> Result<Vec<f32>> {
        input.check()?;
        if let Some(Fast::Onnx(onnx)) = &self.fast {
            return onnx.run(input, "probs");
        }
        let shape = [input.rows as i64, input.len as i64];
        tch::no_grad(|| {
            let t = |v: &[i32]| Tensor::from_slice(v).to_kind(Kind::Int64).view(shape);
            let logits = self.logits(&t(&input.ids), &t(&input.mask), &t(&input.casing), false)?;
            let probs = logits.f_softmax(-1, Kind::Float)?.contiguous().view([-1]);
            Ok(Vec::<f32>::try_from(&probs)?)
        })
    }

    /// Logits `[batch, seq, labels]` for token ids `[batch, seq]`, attention mask and casing
    /// classes (`[batch, seq]`, used when the model has a casing embedding).
    pub fn logits(
        &self,
        ids: &Tensor,
        mask: &Tensor,
        casing: &Tensor,
        train: bool,
    ) -> Result<Tensor> {
        match (&self.fast, train) {
            (Some(Fast::Fused(fused)), false) => return fused.logits(ids, mask, casing),
            (Some(Fast::Onnx(onnx)), false) => {
                let size = ids.size();
                let flat = |x: &Tensor| -> Result<Vec<i32>> {
                    Ok(Vec::<i32>::try_from(
                        &x.to_kind(Kind::Int).contiguous().view([-1]),
                    )?)
                };
                let input = EncoderInput {
                    ids: flat(ids)?,
                    mask: flat(mask)?,
                    casing: flat(casing)?,
                    rows: size[0] as usize,
                    len: size[1] as usize,
                };
                let logits = onnx.run(&input, "logits")?;
                let labels = self.config.labels.len() as i64;
                return Ok(Tensor::from_slice(&logits).view([size[0], size[1], labels]));
            }
            _ => {}
        }
        let embeds = self.casing.as_ref().map(|(word, cas)| {
            Tensor::embedding(word, ids, -1, false, false)
                + Tensor::embedding(cas, casing, -1, false, false)
        });
        let (ids, embeds) = match &embeds {
            Some(e) => (None, Some(e)),
            None => (Some(ids), None),
        };
        Ok(match &self.net {
            Network::Bert(m) => {
                m.forward_t(ids, Some(mask), None, None, embeds, train)
                    .logits
            }
            Network::Roberta(m) => {
                m.forward_t(ids, Some(mask), None, None, embeds, train)
                    .logits
            }
            Network::DistilBert(m) => m.forward_t(ids, Some(mask), embeds, train)?.logits,
            Network::Deberta(m) => {
                m.forward_t(ids, Some(mask), None, None, embeds, train)?
                    .logits
            }
            Network::DebertaV2(m) => {
                m.forward_t(ids, Some(mask), None, None, embeds, train)?
                    .logits
            }
            Network::Electra(m) => {
                m.forward_t(ids, Some(mask), None, None, embeds, train)
                    .logits
            }
        })
    }

    /// Saves the model folder: `config.json`, `tokenizer.json` and `model.safetensors`
    /// (weights as f16 when `half`).
    pub fn save(&self, dir: &Path, half: bool, extra: Value) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let mut raw = self.config.raw.clone();
        if let Some(obj) = raw.as_object_mut() {
            let names = self.config.labels.names();
            obj.insert(
                "id2label".into(),
                names
                    .iter()
                    .enumerate()
                    .map(|(i, n)| (i.to_string(), Value::from(n.as_str())))
                    .collect::<serde_json::Map<_, _>>()
                    .into(),
            );
            obj.insert(
                "label2id".into(),
                names
                    .iter()
                    .enumerate()
                    .map(|(i, n)| (n.clone(), Value::from(i)))
                    .collect::<serde_json::Map<_, _>>()
                    .into(),
            );
            let mut ng = serde_json::json!({"casing": self.config.casing});
            if let Some(w) = self.config.window {
                ng["window"] = w.into();
            }
            if let (Some(ng), Some(extra)) = (ng.as_object_mut(), extra.as_object()) {
                ng.extend(extra.clone());
            }
            obj.insert("newsgraph".into(), ng);
        }
        let cfg_path = dir.join("config.json");
        let text = serde_json::to_string_pretty(&raw).map_err(|e| Error::Model(e.to_string()))?;
        std::fs::write(&cfg_path, text + "\n").map_err(|e| Error::io(&cfg_path, e))?;
        self.tokenizer.save(&dir.join("tokenizer.json"))?;
        // For Hugging Face's tokenizer: the window the model was trained with.
        let mut tok_cfg = serde_json::json!({"model_max_length": self.config.window_len()});
        if self.config.architecture == Architecture::Bert {
            tok_cfg["tokenizer_class"] = "BertTokenizer".into();
        }
        let tok_cfg_path = dir.join("tokenizer_config.json");
        std::fs::write(&tok_cfg_path, tok_cfg.to_string() + "\n")
            .map_err(|e| Error::io(&tok_cfg_path, e))?;
        let mut vars: Vec<(String, Tensor)> = self.vs.variables().into_iter().collect();
        vars.sort_by(|a, b| a.0.cmp(&b.0));
        let kind = if half { Kind::Half } else { Kind::Float };
        let vars: Vec<(String, Tensor)> = vars
            .into_iter()
            .map(|(n, t)| (n, t.detach().to_device(Device::Cpu).to_kind(kind)))
            .collect();
        let path = dir.join("model.safetensors");
        Tensor::write_safetensors(&vars, &path)?;
        add_safetensors_format(&path)
    }

    /// Sets the window length recorded in the configuration (for training).
    pub fn set_window(&mut self, window: usize) {
        self.config.window = Some(window);
    }
}

/// Adds `"__metadata__": {"format": "pt"}` to a safetensors header (tch writes none, and
/// Hugging Face transformers refuses files without it). Tensor data is unchanged.
fn add_safetensors_format(path: &Path) -> Result<()> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let bad = |m: &str| LoadError::Invalid {
        path: path.to_path_buf(),
        message: m.to_string(),
    };
    let n = bytes
        .get(..8)
        .and_then(|b| <[u8; 8]>::try_from(b).ok())
        .map(u64::from_le_bytes)
        .ok_or_else(|| bad("no safetensors header"))? as usize;
    let header = bytes.get(8..8 + n).ok_or_else(|| bad("truncated header"))?;
    let mut json: Value =
        serde_json::from_slice(header).map_err(|e| bad(&format!("header is not JSON: {e}")))?;
    json["__metadata__"] = serde_json::json!({"format": "pt"});
    let mut new_header = serde_json::to_vec(&json).map_err(|e| bad(&e.to_string()))?;
    // Data must start at a multiple of 8 bytes: pad the header with spaces.
    while (8 + new_header.len()) % 8 != 0 {
        new_header.push(b' ');
    }
    let mut out = Vec::with_capacity(8 + new_header.len() + bytes.len() - 8 - n);
    out.extend_from_slice(&(new_header.len() as u64).to_le_bytes());
    out.extend_from_slice(&new_header);
    out.extend_from_slice(&bytes[8 + n..]);
    std::fs::write(path, out).map_err(|e| Error::io(path, e))
}

/// A loaded model shared by worker threads.
///
/// `tch::Tensor` is `Send` but not `Sync`. A `SharedModel` only runs forward passes under
/// `no_grad` and never mutates its weights after loading (its variables are frozen, and the
/// wrapped model is not reachable mutably), which libtorch supports from several threads at
/// once, the same guarantee tch relies on for its `Sync` `CModule`.
pub(crate) struct SharedModel(pub(crate) NerModel);

// SAFETY: see the type's documentation: the tensors are only read, by libtorch kernels that
// are thread-safe for concurrent reads.
unsafe impl Sync for SharedModel {}
