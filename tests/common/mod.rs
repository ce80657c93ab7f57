//! Tiny models that the tests generate: BERT layout, fixed seed, in a temp dir.
//!
//! The weights are built so that known tokens map to known labels whatever their position:
//! position and segment embeddings are zero and the layer's output projections are zero, so
//! every layer passes `LayerNorm(word embedding)` through (query/key/value are random, seeded,
//! and have no effect). The classifier reads label `k` from hidden dimension `k`.
#![allow(dead_code)]

use rand::{Rng, SeedableRng};
use std::path::{Path, PathBuf};

pub const LABELS: [&str; 7] = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG"];
pub const HIDDEN: usize = 16;

/// A named f32 array, as written to `model.safetensors`.
#[derive(Clone, Debug)]
pub struct Tensor {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

impl Tensor {
    pub fn new(shape: &[usize], data: Vec<f32>) -> Self {
        assert_eq!(shape.iter().product::<usize>(), data.len());
        Tensor {
            shape: shape.to_vec(),
            data,
        }
    }
    pub fn zeros(shape: &[usize]) -> Self {
        Self::new(shape, vec![0.0; shape.iter().product()])
    }
    pub fn ones(shape: &[usize]) -> Self {
        Self::new(shape, vec![1.0; shape.iter().product()])
    }
    /// Seeded values, roughly normal with standard deviation `std` (sum of uniforms).
    pub fn random(shape: &[usize], std: f32, rng: &mut rand::rngs::StdRng) -> Self {
        let n = shape.iter().product();
        let data = (0..n)
            .map(|_| (0..3).map(|_| rng.gen_range(-1.0f32..1.0)).sum::<f32>() * std)
            .collect();
        Self::new(shape, data)
    }
}

/// How [`write_safetensors`] stores the values.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Dtype {
    F32,
    F16,
}

/// Writes named arrays as a safetensors file.
pub fn write_safetensors(weights: &[(String, Tensor)], path: &Path, dtype: Dtype) {
    let bytes: Vec<(String, Vec<u8>, Vec<usize>)> = weights
        .iter()
        .map(|(n, t)| {
            let b = match dtype {
                Dtype::F32 => t.data.iter().flat_map(|v| v.to_le_bytes()).collect(),
                Dtype::F16 => t
                    .data
                    .iter()
                    .flat_map(|&v| half::f16::from_f32(v).to_le_bytes())
                    .collect(),
            };
            (n.clone(), b, t.shape.clone())
        })
        .collect();
    let dt = match dtype {
        Dtype::F32 => safetensors::Dtype::F32,
        Dtype::F16 => safetensors::Dtype::F16,
    };
    let views: Vec<(String, safetensors::tensor::TensorView)> = bytes
        .iter()
        .map(|(n, b, s)| {
            (
                n.clone(),
                safetensors::tensor::TensorView::new(dt, s.clone(), b).unwrap(),
            )
        })
        .collect();
    safetensors::serialize_to_file(views, &None, path).unwrap();
}

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
    pub max_positions: usize,
}

impl Default for TinyOptions {
    fn default() -> Self {
        TinyOptions {
            prefixed: true,
            tokenizer: TokenizerFile::VocabTxt,
            max_positions: 64,
        }
    }
}

pub fn config_json(max_positions: usize) -> serde_json::Value {
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

pub fn weights(max_positions: usize) -> Vec<(String, Tensor)> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let h = HIDDEN;
    let v = vocab();
    let mut word = vec![0f32; v.len() * h];
    for (i, (_, mix)) in v.iter().enumerate() {
        for &(label, w) in mix.iter() {
            word[i * h + label] = w as f32;
        }
    }
    let zeros = Tensor::zeros;
    let ones = Tensor::ones;
    let mut randn = |s: &[usize]| Tensor::random(s, 0.1, &mut rng);
    let mut classifier = vec![0f32; LABELS.len() * h];
    for k in 0..LABELS.len() {
        classifier[k * h + k] = 3.0;
    }
    let l = "encoder.layer.0";
    vec![
        (
            "embeddings.word_embeddings.weight".into(),
            Tensor::new(&[v.len(), h], word),
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
            Tensor::new(&[LABELS.len(), h], classifier),
        ),
        ("classifier.bias".into(), zeros(&[LABELS.len()])),
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
        use tokenizers::models::wordpiece::WordPiece;
        use tokenizers::normalizers::bert::BertNormalizer;
        use tokenizers::pre_tokenizers::bert::BertPreTokenizer;
        let wp = WordPiece::from_file(&dir.join("vocab.txt").to_string_lossy())
            .unk_token("[UNK]".into())
            .build()
            .unwrap();
        let mut tok = tokenizers::Tokenizer::new(wp);
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
    write_safetensors(&named, &dir.join("model.safetensors"), Dtype::F32);
    dir.to_path_buf()
}

pub fn tiny(o: TinyOptions) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let path = write_tiny(&tmp.path().join("tiny"), o);
    (tmp, path)
}
