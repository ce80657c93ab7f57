//! The rust-bert engine (feature `torch`): rust-bert's model structs on libtorch, for every
//! architecture. It is the reference the ONNX Runtime graphs are tested against, and the
//! model that training updates.

use super::mpnet::{MpnetConfig, MpnetForTokenClassification};
use super::weights::canonical_name;
use super::{Architecture, Encoder, Engine, ModelConfig, Output};
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
use std::path::Path;
use std::sync::Mutex;
use tch::{nn, Device, Kind, Tensor};

enum Network {
    Bert(Box<BertForTokenClassification>),
    DistilBert(Box<DistilBertForTokenClassification>),
    Roberta(Box<RobertaForTokenClassification>),
    Deberta(Box<DebertaForTokenClassification>),
    DebertaV2(Box<DebertaV2ForTokenClassification>),
    Electra(Box<ElectraForTokenClassification>),
    Mpnet(Box<MpnetForTokenClassification>),
}

/// How [`TorchModel::load_weights`] treats weights the file does not have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Missing {
    /// Every weight must be in the file (inference).
    Error,
    /// The classifier and the casing embedding may be missing and keep their fresh
    /// initialisation (fine-tuning from a base encoder).
    FreshHead,
}

/// A token-classification network in a libtorch variable store.
pub(crate) struct TorchModel {
    vs: nn::VarStore,
    net: Network,
    config: ModelConfig,
    /// (word embeddings, casing embeddings) when the model has a casing embedding.
    casing: Option<(Tensor, Tensor)>,
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

impl TorchModel {
    /// Builds a model with freshly initialised weights from a validated configuration.
    pub(crate) fn build(config: ModelConfig, device: Device) -> Result<Self> {
        let vs = nn::VarStore::new(device);
        let root = vs.root();
        let (raw, src) = (&config.raw, &config.source);
        let net = match config.architecture {
            Architecture::Bert => Network::Bert(Box::new(BertForTokenClassification::new(
                &root,
                &arch_config(raw, src)?,
            )?)),
            Architecture::Roberta | Architecture::XlmRoberta => Network::Roberta(Box::new(
                RobertaForTokenClassification::new(&root, &arch_config(raw, src)?)?,
            )),
            Architecture::DistilBert => Network::DistilBert(Box::new(
                DistilBertForTokenClassification::new(&root, &arch_config(raw, src)?)?,
            )),
            Architecture::Deberta => Network::Deberta(Box::new(
                DebertaForTokenClassification::new(&root, &arch_config(raw, src)?)?,
            )),
            Architecture::DebertaV2 => Network::DebertaV2(Box::new(
                DebertaV2ForTokenClassification::new(&root, &arch_config(raw, src)?)?,
            )),
            Architecture::Electra => Network::Electra(Box::new(
                ElectraForTokenClassification::new(&root, &arch_config(raw, src)?)?,
            )),
            Architecture::Mpnet => {
                let c: MpnetConfig = arch_config(raw, src)?;
                if let Some(act) = MpnetForTokenClassification::unsupported_activation(&c) {
                    return Err(LoadError::Invalid {
                        path: src.clone(),
                        message: format!("hidden_act {act:?}: newsgraph's MPNet runs gelu only"),
                    }
                    .into());
                }
                Network::Mpnet(Box::new(MpnetForTokenClassification::new(&root, &c)))
            }
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
        Ok(TorchModel {
            vs,
            net,
            config,
            casing,
        })
    }

    /// Loads a model folder's weights file for inference.
    pub(crate) fn load(config: &ModelConfig, weights: &Path) -> Result<Self> {
        let mut model = Self::build(config.clone(), Device::Cpu)?;
        model.load_weights(weights, Missing::Error)?;
        model.vs.freeze();
        Ok(model)
    }

    /// Copies weights from a safetensors (f32 or f16) or `.ot` file into the model.
    pub(crate) fn load_weights(&mut self, path: &Path, missing: Missing) -> Result<()> {
        load_var_store(&self.vs, path, self.config.architecture.prefix(), missing)
    }

    /// The variables (for training).
    pub(crate) fn var_store(&self) -> &nn::VarStore {
        &self.vs
    }

    /// Sets the window length recorded in the configuration (for training).
    pub(crate) fn set_window(&mut self, window: usize) {
        self.config.window = Some(window);
    }

    /// Logits `[batch, seq, labels]` for token ids `[batch, seq]`, attention mask and casing
    /// classes (`[batch, seq]`, used when the model has a casing embedding).
    pub(crate) fn logits(
        &self,
        ids: &Tensor,
        mask: &Tensor,
        casing: &Tensor,
        train: bool,
    ) -> Result<Tensor> {
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
            Network::Mpnet(m) => m.forward_t(ids, mask, embeds, train),
        })
    }

    /// Saves the model folder: `config.json`, `tokenizer.json` and `model.safetensors`
    /// (weights as f16 when `half`).
    pub(crate) fn save(&self, dir: &Path, tokenizer: &TextTokenizer, half: bool) -> Result<()> {
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
        }
        let block = super::Block {
            casing: self.config.casing,
            window: self.config.window,
            ..super::Block::default()
        };
        block.write(&mut raw);
        let cfg_path = dir.join("config.json");
        let text = serde_json::to_string_pretty(&raw).map_err(|e| Error::Model(e.to_string()))?;
        std::fs::write(&cfg_path, text + "\n").map_err(|e| Error::io(&cfg_path, e))?;
        tokenizer.save(&dir.join("tokenizer.json"))?;
        // For Hugging Face's tokenizer: the window the model was trained with.
        let mut tok_cfg = serde_json::json!({"model_max_length": self.config.window_len()});
        if self.config.architecture == Architecture::Bert {
            tok_cfg["tokenizer_class"] = "BertTokenizer".into();
        }
        let tok_cfg_path = dir.join("tokenizer_config.json");
        std::fs::write(&tok_cfg_path, tok_cfg.to_string() + "\n")
            .map_err(|e| Error::io(&tok_cfg_path, e))?;
        save_var_store(&self.vs, dir, half)
    }

    /// `output` of a batch as plain data.
    fn run(&self, input: &EncoderInput, output: Output) -> Result<Vec<f32>> {
        let shape = [input.rows as i64, input.len as i64];
        tch::no_grad(|| {
            let t = |v: &[i32]| Tensor::from_slice(v).to_kind(Kind::Int64).view(shape);
            let logits = self.logits(&t(&input.ids), &t(&input.mask), &t(&input.casing), false)?;
            let out = match output {
                Output::Logits => logits,
                Output::Probs => logits.f_softmax(-1, Kind::Float)?,
                Output::Hidden => {
                    return Err(Error::Setting(
                        "the rust-bert engine answers logits and probabilities only".into(),
                    ))
                }
            };
            Ok(Vec::<f32>::try_from(&out.contiguous().view([-1]))?)
        })
    }
}

/// The rust-bert engine. libtorch tensors are `Send` but not `Sync`: the model sits behind a
/// mutex, and forward passes take turns (each one uses libtorch's own threads).
pub(crate) struct RustBert(Mutex<TorchModel>);

impl RustBert {
    pub(crate) fn load(config: &ModelConfig, weights: &Path) -> Result<Self> {
        Ok(RustBert(Mutex::new(TorchModel::load(config, weights)?)))
    }
}

impl Encoder for RustBert {
    fn run(&self, input: &EncoderInput, output: Output) -> Result<Vec<f32>> {
        let model = self
            .0
            .lock()
            .map_err(|_| Error::Model("the rust-bert model was poisoned by a panic".into()))?;
        model.run(input, output)
    }

    fn engine(&self) -> Engine {
        Engine::RustBert
    }
}

/// Copies weights from a safetensors (f32 or f16) or `.ot` file into a variable store, by
/// canonical name (`prefix` is the encoder's weight prefix).
pub(crate) fn load_var_store(
    vs: &nn::VarStore,
    path: &Path,
    prefix: &str,
    missing: Missing,
) -> Result<()> {
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
    let by_name: HashMap<String, Tensor> = tensors
        .into_iter()
        .filter_map(|(n, t)| Some((canonical_name(prefix, &n)?, t)))
        .collect();
    let mut vars: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
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

/// Writes a variable store as `model.safetensors` in `dir` (f16 when `half`), with the header
/// metadata Hugging Face expects.
pub(crate) fn save_var_store(vs: &nn::VarStore, dir: &Path, half: bool) -> Result<()> {
    let mut vars: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::engine::NerModel;

    const VOCAB: usize = 40;
    const EMB: usize = 8;
    const LABELS: [&str; 5] = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"];

    /// A tiny `config.json` of each architecture the ONNX Runtime graph covers.
    fn config(model_type: &str) -> Value {
        let mut c = serde_json::json!({
            "model_type": model_type,
            "vocab_size": VOCAB,
            "max_position_embeddings": 40,
            "initializer_range": 0.02,
            "pad_token_id": 1,
            "id2label": LABELS.iter().enumerate()
                .map(|(i, l)| (i.to_string(), Value::from(*l)))
                .collect::<serde_json::Map<_, _>>(),
        });
        let extra = match model_type {
            "distilbert" => serde_json::json!({
                "dim": 16, "n_layers": 2, "n_heads": 2, "hidden_dim": 24, "activation": "gelu",
                "dropout": 0.1, "attention_dropout": 0.1, "qa_dropout": 0.1,
                "seq_classif_dropout": 0.1, "sinusoidal_pos_embds": false, "tie_weights_": true,
            }),
            _ => serde_json::json!({
                "hidden_size": 16, "num_hidden_layers": 2, "num_attention_heads": 2,
                "intermediate_size": 24, "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
                "attention_probs_dropout_prob": 0.1, "layer_norm_eps": 1e-12,
                "type_vocab_size": if model_type.contains("roberta") { 1 } else { 2 },
                "embedding_size": if model_type == "electra" { EMB } else { 16 },
            }),
        };
        if let (Some(c), Some(extra)) = (c.as_object_mut(), extra.as_object()) {
            c.extend(extra.clone());
        }
        c
    }

    /// Writes a model folder with random weights (N(0, 0.5), seeded, every variable) and a
    /// WordPiece vocabulary (`w4` … `w39`, words split at spaces and punctuation) whose padding
    /// token is id 1, as RoBERTa's is.
    pub(crate) fn write_random(dir: &Path, model_type: &str) {
        use tokenizers::models::wordpiece::WordPiece;
        let mut vocab: Vec<String> = ["[UNK]", "[PAD]", "[CLS]", "[SEP]"]
            .map(String::from)
            .to_vec();
        vocab.extend((vocab.len()..VOCAB).map(|i| format!("w{i}")));
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join("vocab.txt"), vocab.join("\n") + "\n").unwrap();
        let wp = WordPiece::from_file(&dir.join("vocab.txt").to_string_lossy())
            .unk_token("[UNK]".into())
            .build()
            .unwrap();
        let mut inner = tokenizers::Tokenizer::new(wp);
        inner.with_pre_tokenizer(Some(tokenizers::pre_tokenizers::bert::BertPreTokenizer));
        let tokenizer = TextTokenizer::new(inner, &dir.join("vocab.txt")).unwrap();
        let cfg = ModelConfig::from_value(config(model_type), &dir.join("config.json")).unwrap();
        tch::manual_seed(5);
        let model = TorchModel::build(cfg, Device::Cpu).unwrap();
        let mut vars: Vec<_> = model.var_store().variables().into_iter().collect();
        vars.sort_by(|a, b| a.0.cmp(&b.0));
        tch::no_grad(|| {
            for (_, mut v) in vars {
                let r = v.randn_like() * 0.5;
                v.copy_(&r);
            }
        });
        model.save(dir, &tokenizer, false).unwrap();
    }

    #[test]
    fn mpnet_runs_on_rust_bert_and_padding_changes_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("mpnet");
        write_random(&dir, "mpnet");
        // No ONNX Runtime graph for MPNet's relative attention: auto picks rust-bert.
        let model = NerModel::load(&dir).unwrap();
        assert_eq!(model.engine(), Engine::RustBert);
        let row: Vec<i32> = vec![2, 9, 17, 5, 30, 3];
        let alone = {
            let mut input = EncoderInput::new(1, 6);
            input.ids = row.clone();
            input.mask = vec![1; 6];
            model.logits(&input).unwrap()
        };
        // The same row right-padded to 10 next to a full row: padding is masked (in the
        // attention bias, which also carries the relative positions), so its logits do not
        // change.
        let mut input = EncoderInput::new(2, 10);
        input.ids = (0..20).map(|i| 4 + (i * 7 % (VOCAB as i32 - 4))).collect();
        input.mask = vec![1; 20];
        input.ids[10..16].copy_from_slice(&row);
        input.ids[16..].fill(1);
        input.mask[16..].fill(0);
        let padded = model.logits(&input).unwrap();
        let n = LABELS.len();
        let spread = alone.iter().fold(0f32, |m, v| m.max(v.abs()));
        assert!(spread > 0.5, "logits near zero ({spread})");
        for (a, p) in alone.iter().zip(&padded[10 * n..16 * n]) {
            assert!(
                (a - p).abs() < 1e-4,
                "{alone:?} vs {:?}",
                &padded[10 * n..16 * n]
            );
        }
        // Word order reaches the network: the same words in another order score differently.
        let mut input = EncoderInput::new(1, 6);
        input.ids = vec![2, 17, 9, 5, 30, 3];
        input.mask = vec![1; 6];
        let swapped = model.logits(&input).unwrap();
        let moved = (0..n)
            .map(|l| (swapped[2 * n + l] - alone[n + l]).abs())
            .fold(0f32, f32::max);
        assert!(moved > 1e-3, "word 9 scores the same at positions 1 and 2");
    }

    #[test]
    fn the_onnx_graph_matches_rust_bert_for_every_architecture_it_covers() {
        for model_type in ["bert", "distilbert", "roberta", "xlm-roberta", "electra"] {
            let tmp = tempfile::tempdir().unwrap();
            let dir = tmp.path().join(model_type);
            write_random(&dir, model_type);
            let reference = NerModel::load_with(&dir, Engine::RustBert).unwrap();
            // Two rows of 12; the second padded (with the padding id) after 8.
            let mut input = EncoderInput::new(2, 12);
            input.ids = (0..24).map(|i| 2 + (i * 7 % (VOCAB as i32 - 2))).collect();
            input.mask = vec![1; 24];
            input.mask[20..].fill(0);
            input.ids[20..].fill(1);
            let want = reference.logits(&input).unwrap();
            let spread = want.iter().fold(0f32, |m, v| m.max(v.abs()));
            assert!(spread > 0.5, "{model_type}: logits near zero ({spread})");
            let auto = NerModel::load(&dir).unwrap();
            assert_eq!(auto.engine(), Engine::OnnxInt8, "{model_type}");
            let model = NerModel::load_with(&dir, Engine::Onnx).unwrap();
            let got = model.logits(&input).unwrap();
            let n = LABELS.len();
            let mut diff = 0f32;
            // rust-bert 0.23's ELECTRA adds the raw 0/1 mask to the attention scores instead of
            // masking padding (its BERT uses (1 - mask) × -10000, as transformers' ELECTRA
            // does): it attends to padding. The graph masks padding, as transformers does, so
            // ELECTRA is compared on the row without padding.
            let rows = if model_type == "electra" { 12 } else { 24 };
            for t in (0..rows).filter(|&t| input.mask[t] == 1) {
                for l in 0..n {
                    diff = diff.max((got[t * n + l] - want[t * n + l]).abs());
                }
            }
            eprintln!("{model_type}: max |diff| {diff} (logits up to {spread})");
            assert!(diff < 1e-4, "{model_type}: max |diff| {diff}");
        }
    }
}
