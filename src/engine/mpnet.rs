//! MPNet for token classification on libtorch (feature `torch`): rust-bert 0.23 has no MPNet.
//!
//! MPNet is BERT with two differences: positions count from the padding index (as RoBERTa's),
//! and every layer's attention scores get a learned bias per head for the relative distance of
//! the two tokens, looked up in 32 log-spaced buckets (one table shared by all layers, computed
//! once per forward pass). Weight names and numerics follow Hugging Face transformers'
//! `MPNetForTokenClassification`: on `all-mpnet-base-v2` with a random head, the logits of two
//! padded sentences equal transformers 4.44's (checked by hand, see docs/performance.md). No
//! token types.

use serde::Deserialize;
use tch::nn::{self, Module};
use tch::{Kind, Tensor};

/// The parts of an MPNet `config.json` the network needs.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct MpnetConfig {
    vocab_size: i64,
    hidden_size: i64,
    num_hidden_layers: i64,
    num_attention_heads: i64,
    intermediate_size: i64,
    max_position_embeddings: i64,
    #[serde(default = "default_buckets")]
    relative_attention_num_buckets: i64,
    #[serde(default = "default_eps")]
    layer_norm_eps: f64,
    #[serde(default = "default_dropout")]
    hidden_dropout_prob: f64,
    #[serde(default = "default_dropout")]
    attention_probs_dropout_prob: f64,
    #[serde(default = "default_pad")]
    pad_token_id: i64,
    #[serde(default)]
    hidden_act: Option<String>,
    id2label: std::collections::HashMap<String, String>,
}

fn default_buckets() -> i64 {
    32
}
fn default_eps() -> f64 {
    1e-5
}
fn default_dropout() -> f64 {
    0.1
}
fn default_pad() -> i64 {
    1
}

/// The farthest distance the buckets tell apart (transformers' `max_distance`).
const MAX_DISTANCE: f64 = 128.0;

/// transformers' `MPNetEncoder.relative_position_bucket` (bidirectional, `max_distance` 128)
/// for `relative` = key position − query position.
pub(crate) fn bucket(relative: i64, buckets: i64) -> i64 {
    let half = buckets / 2;
    let n = -relative;
    let mut ret = if n < 0 { half } else { 0 };
    let n = n.abs();
    let exact = half / 2;
    ret += if n < exact {
        n
    } else {
        let large = exact
            + ((n as f64 / exact as f64).ln() / (MAX_DISTANCE / exact as f64).ln()
                * (half - exact) as f64) as i64;
        large.min(half - 1)
    };
    ret
}

struct Layer {
    q: nn::Linear,
    k: nn::Linear,
    v: nn::Linear,
    o: nn::Linear,
    attention_norm: nn::LayerNorm,
    intermediate: nn::Linear,
    output: nn::Linear,
    output_norm: nn::LayerNorm,
}

impl Layer {
    fn new(p: nn::Path, c: &MpnetConfig) -> Self {
        let h = c.hidden_size;
        let norm = nn::LayerNormConfig {
            eps: c.layer_norm_eps,
            ..Default::default()
        };
        let attn = &p / "attention";
        Layer {
            q: nn::linear(&attn / "attn" / "q", h, h, Default::default()),
            k: nn::linear(&attn / "attn" / "k", h, h, Default::default()),
            v: nn::linear(&attn / "attn" / "v", h, h, Default::default()),
            o: nn::linear(&attn / "attn" / "o", h, h, Default::default()),
            attention_norm: nn::layer_norm(&attn / "LayerNorm", vec![h], norm),
            intermediate: nn::linear(
                &p / "intermediate" / "dense",
                h,
                c.intermediate_size,
                Default::default(),
            ),
            output: nn::linear(
                &p / "output" / "dense",
                c.intermediate_size,
                h,
                Default::default(),
            ),
            output_norm: nn::layer_norm(&p / "output" / "LayerNorm", vec![h], norm),
        }
    }

    /// `x` `[batch, seq, hidden]`; `bias` `[batch or 1, heads, seq, seq]` (relative positions
    /// plus the padding mask).
    fn forward_t(&self, x: &Tensor, bias: &Tensor, c: &MpnetConfig, train: bool) -> Tensor {
        let (b, s, h) = x.size3().unwrap_or((0, 0, 0));
        let heads = c.num_attention_heads;
        let d = h / heads;
        let split = |t: Tensor| t.view([b, s, heads, d]).transpose(1, 2);
        let q = split(self.q.forward(x));
        let k = split(self.k.forward(x));
        let v = split(self.v.forward(x));
        let scores = q.matmul(&k.transpose(-1, -2)) / (d as f64).sqrt() + bias;
        let probs = scores
            .softmax(-1, Kind::Float)
            .dropout(c.attention_probs_dropout_prob, train);
        let context = probs
            .matmul(&v)
            .transpose(1, 2)
            .contiguous()
            .view([b, s, h]);
        let attended = self.attention_norm.forward(
            &(self
                .o
                .forward(&context)
                .dropout(c.hidden_dropout_prob, train)
                + x),
        );
        let inner = self.intermediate.forward(&attended).gelu("none");
        self.output_norm.forward(
            &(self
                .output
                .forward(&inner)
                .dropout(c.hidden_dropout_prob, train)
                + &attended),
        )
    }
}

/// `MPNetForTokenClassification`: the encoder under `mpnet.`, then dropout and `classifier`.
pub(crate) struct MpnetForTokenClassification {
    word: nn::Embedding,
    positions: nn::Embedding,
    norm: nn::LayerNorm,
    layers: Vec<Layer>,
    relative: nn::Embedding,
    classifier: nn::Linear,
    config: MpnetConfig,
}

impl MpnetForTokenClassification {
    pub(crate) fn new(p: &nn::Path, config: &MpnetConfig) -> Self {
        let c = config;
        let m = p / "mpnet";
        let emb = &m / "embeddings";
        let h = c.hidden_size;
        MpnetForTokenClassification {
            word: nn::embedding(
                &emb / "word_embeddings",
                c.vocab_size,
                h,
                Default::default(),
            ),
            positions: nn::embedding(
                &emb / "position_embeddings",
                c.max_position_embeddings,
                h,
                Default::default(),
            ),
            norm: nn::layer_norm(
                &emb / "LayerNorm",
                vec![h],
                nn::LayerNormConfig {
                    eps: c.layer_norm_eps,
                    ..Default::default()
                },
            ),
            layers: (0..c.num_hidden_layers)
                .map(|i| Layer::new(&m / "encoder" / "layer" / i, c))
                .collect(),
            relative: nn::embedding(
                &m / "encoder" / "relative_attention_bias",
                c.relative_attention_num_buckets,
                c.num_attention_heads,
                Default::default(),
            ),
            classifier: nn::linear(
                p / "classifier",
                h,
                c.id2label.len() as i64,
                Default::default(),
            ),
            config: config.clone(),
        }
    }

    /// Whether the configuration asks for an activation other than exact GELU.
    pub(crate) fn unsupported_activation(config: &MpnetConfig) -> Option<String> {
        match config.hidden_act.as_deref() {
            None | Some("gelu") => None,
            Some(other) => Some(other.to_string()),
        }
    }

    /// Logits `[batch, seq, labels]` for ids (or embeddings) and a `[batch, seq]` mask of
    /// right-padded rows.
    pub(crate) fn forward_t(
        &self,
        ids: Option<&Tensor>,
        mask: &Tensor,
        embeds: Option<&Tensor>,
        train: bool,
    ) -> Tensor {
        let c = &self.config;
        let words = match (embeds, ids) {
            (Some(e), _) => e.shallow_clone(),
            (None, Some(ids)) => self.word.forward(ids),
            (None, None) => Tensor::zeros([0, 0, c.hidden_size], (Kind::Float, mask.device())),
        };
        // Positions count from padding_idx + 1 over the real tokens; padding gets padding_idx.
        let positions = mask.cumsum(1, Kind::Int64) * mask + c.pad_token_id;
        let x = self
            .norm
            .forward(&(words + self.positions.forward(&positions)))
            .dropout(c.hidden_dropout_prob, train);
        let seq = mask.size()[1];
        let buckets: Vec<i64> = (0..seq)
            .flat_map(|q| (0..seq).map(move |k| bucket(k - q, c.relative_attention_num_buckets)))
            .collect();
        let buckets = Tensor::from_slice(&buckets)
            .view([seq, seq])
            .to_device(mask.device());
        // [seq, seq, heads] → [1, heads, seq, seq]
        let relative = self
            .relative
            .forward(&buckets)
            .permute([2, 0, 1])
            .unsqueeze(0);
        let padding = (mask.to_kind(Kind::Float) - 1.0) * 10000.0;
        let bias = relative + padding.unsqueeze(1).unsqueeze(1);
        let x = self
            .layers
            .iter()
            .fold(x, |x, layer| layer.forward_t(&x, &bias, c, train));
        self.classifier
            .forward(&x.dropout(c.hidden_dropout_prob, train))
    }
}

#[cfg(test)]
mod tests {
    use super::bucket;

    #[test]
    fn buckets_follow_transformers() {
        // transformers' relative_position_bucket(torch.tensor([...]), 32, 128) for these
        // distances (key − query).
        let got: Vec<i64> = [
            -200, -128, -40, -8, -7, -1, 0, 1, 7, 8, 20, 40, 127, 128, 500,
        ]
        .iter()
        .map(|&r| bucket(r, 32))
        .collect();
        assert_eq!(
            got,
            vec![15, 15, 12, 8, 7, 1, 0, 17, 23, 24, 26, 28, 31, 31, 31]
        );
    }
}
