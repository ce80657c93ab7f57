//! Tiny models that the tests generate: BERT layout, fixed seed, in a temp dir.
//!
//! The weights are built so that known tokens map to known labels whatever their position:
//! position and segment embeddings are zero and the layer's output projections are zero, so
//! every layer passes `LayerNorm(word embedding)` through (query/key/value are random, seeded,
//! and have no effect). The classifier reads label `k` from hidden dimension `k`.
#![allow(dead_code)]

use newsgraph::tch::{Kind, Tensor};
use std::path::{Path, PathBuf};

pub const LABELS: [&str; 7] = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG"];
pub const HIDDEN: i64 = 16;

/// Vocabulary entries and the label each maps to (a mix: (label, weight), (label, weight)).
pub fn vocab() -> Vec<(&'static str, &'static [(usize, f64)])> {
    const O: &[(usize, f64)] = &[(0, 1.0)];
    vec![
        ("[PAD]", O),
        ("[UNK]", O),
        ("[CLS]", O),
        ("[SEP]", O),
        ("[MASK]", O),
        ("alice", &[(1, 1.0)]),
        ("smith", &[(2, 1.0)]),
        ("rene", &[(1, 1.0)]),
        ("paris", &[(3, 1.0)]),
        ("acme", &[(5, 1.0)]),
        ("corp", &[(6, 1.0)]),
        // "jo" + "##hn": a weak B-PER then a strong I-LOC, to tell aggregations apart.
        ("jo", &[(1, 0.55), (0, 0.45)]),
        ("##hn", &[(4, 1.0)]),
        ("went", O),
        ("to", O),
        ("and", O),
        ("in", O),
        ("paid", O),
        ("office", O),
        ("the", O),
        (".", O),
        (",", O),
        ("'", O),
        ("’", O),
        ("“", O),
        ("”", O),
        ("£", O),
        ("5", O),
        ("s", O),
    ]
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum TokenizerFile {
    VocabTxt,
    Json,
}

#[derive(Clone, Copy, Debug)]
pub struct TinyOptions {
    /// Weight names carry the `bert.` prefix (a fine-tuned checkpoint) or not (a base encoder).
    pub prefixed: bool,
    pub tokenizer: TokenizerFile,
    /// Write `rust_model.ot` instead of `model.safetensors`.
    pub ot: bool,
    pub max_positions: i64,
}

impl Default for TinyOptions {
    fn default() -> Self {
        TinyOptions {
            prefixed: true,
            tokenizer: TokenizerFile::VocabTxt,
            ot: false,
            max_positions: 64,
        }
    }
}

pub fn config_json(max_positions: i64) -> serde_json::Value {
    serde_json::json!({
        "model_type": "bert",
        "architectures": ["BertForTokenClassification"],
        "hidden_act": "gelu",
        "attention_probs_dropout_prob": 0.1,
        "hidden_dropout_prob": 0.1,
        "hidden_size": HIDDEN,
        "initializer_range": 0.02,
        "intermediate_size": 8,
        "max_position_embeddings": max_positions,
        "num_attention_heads": 2,
        "num_hidden_layers": 1,
        "type_vocab_size": 2,
        "vocab_size": vocab().len(),
        "id2label": LABELS.iter().enumerate().map(|(i, l)| (i.to_string(), serde_json::Value::from(*l))).collect::<serde_json::Map<_, _>>(),
    })
}

pub fn weights(max_positions: i64) -> Vec<(String, Tensor)> {
    newsgraph::tch::manual_seed(7);
    let h = HIDDEN;
    let v = vocab();
    let mut word = vec![0f32; v.len() * h as usize];
    for (i, (_, mix)) in v.iter().enumerate() {
        for &(label, w) in mix.iter() {
            word[i * h as usize + label] = w as f32;
        }
    }
    let zeros = |s: &[i64]| Tensor::zeros(s, (Kind::Float, newsgraph::tch::Device::Cpu));
    let ones = |s: &[i64]| Tensor::ones(s, (Kind::Float, newsgraph::tch::Device::Cpu));
    let randn = |s: &[i64]| Tensor::randn(s, (Kind::Float, newsgraph::tch::Device::Cpu)) * 0.1;
    let mut classifier = vec![0f32; LABELS.len() * h as usize];
    for k in 0..LABELS.len() {
        classifier[k * h as usize + k] = 3.0;
    }
    let l = "encoder.layer.0";
    vec![
        (
            "embeddings.word_embeddings.weight".into(),
            Tensor::from_slice(&word).view([v.len() as i64, h]),
        ),
        (
            "embeddings.position_embeddings.weight".into(),
            zeros(&[max_positions, h]),
        ),
        (
            "embeddings.token_type_embeddings.weight".into(),
            zeros(&[2, h]),
        ),
        ("embeddings.LayerNorm.weight".into(), ones(&[h])),
        ("embeddings.LayerNorm.bias".into(), zeros(&[h])),
        (format!("{l}.attention.self.query.weight"), randn(&[h, h])),
        (format!("{l}.attention.self.query.bias"), randn(&[h])),
        (format!("{l}.attention.self.key.weight"), randn(&[h, h])),
        (format!("{l}.attention.self.key.bias"), randn(&[h])),
        (format!("{l}.attention.self.value.weight"), randn(&[h, h])),
        (format!("{l}.attention.self.value.bias"), randn(&[h])),
        (format!("{l}.attention.output.dense.weight"), zeros(&[h, h])),
        (format!("{l}.attention.output.dense.bias"), zeros(&[h])),
        (format!("{l}.attention.output.LayerNorm.weight"), ones(&[h])),
        (format!("{l}.attention.output.LayerNorm.bias"), zeros(&[h])),
        (format!("{l}.intermediate.dense.weight"), randn(&[8, h])),
        (format!("{l}.intermediate.dense.bias"), randn(&[8])),
        (format!("{l}.output.dense.weight"), zeros(&[h, 8])),
        (format!("{l}.output.dense.bias"), zeros(&[h])),
        (format!("{l}.output.LayerNorm.weight"), ones(&[h])),
        (format!("{l}.output.LayerNorm.bias"), zeros(&[h])),
        ("pooler.dense.weight".into(), randn(&[h, h])),
        ("pooler.dense.bias".into(), randn(&[h])),
        (
            "classifier.weight".into(),
            Tensor::from_slice(&classifier).view([LABELS.len() as i64, h]),
        ),
        ("classifier.bias".into(), zeros(&[LABELS.len() as i64])),
    ]
}

/// Writes a tiny model folder and returns its path (inside `dir`).
pub fn write_tiny(dir: &Path, o: TinyOptions) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("config.json"),
        serde_json::to_string_pretty(&config_json(o.max_positions)).unwrap(),
    )
    .unwrap();
    let vocab_text: String = vocab().iter().map(|(t, _)| format!("{t}\n")).collect();
    std::fs::write(dir.join("vocab.txt"), vocab_text).unwrap();
    if o.tokenizer == TokenizerFile::Json {
        // Build the same WordPiece tokenizer and save it as tokenizer.json, then drop vocab.txt.
        use newsgraph::tokenizers::models::wordpiece::WordPiece;
        use newsgraph::tokenizers::normalizers::bert::BertNormalizer;
        use newsgraph::tokenizers::pre_tokenizers::bert::BertPreTokenizer;
        let wp = WordPiece::from_file(&dir.join("vocab.txt").to_string_lossy())
            .unk_token("[UNK]".into())
            .build()
            .unwrap();
        let mut tok = newsgraph::tokenizers::Tokenizer::new(wp);
        tok.with_normalizer(Some(BertNormalizer::new(true, true, None, true)));
        tok.with_pre_tokenizer(Some(BertPreTokenizer));
        tok.save(dir.join("tokenizer.json"), false).unwrap();
        std::fs::remove_file(dir.join("vocab.txt")).unwrap();
    }
    let named: Vec<(String, Tensor)> = weights(o.max_positions)
        .into_iter()
        .map(|(n, t)| {
            let keep = n.starts_with("classifier.") || !o.prefixed;
            (if keep { n } else { format!("bert.{n}") }, t)
        })
        .collect();
    if o.ot {
        Tensor::save_multi(&named, dir.join("rust_model.ot")).unwrap();
    } else {
        Tensor::write_safetensors(&named, dir.join("model.safetensors")).unwrap();
    }
    dir.to_path_buf()
}

pub fn tiny(o: TinyOptions) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let path = write_tiny(&tmp.path().join("tiny"), o);
    (tmp, path)
}
