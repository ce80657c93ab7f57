//! The fast engine: a BERT encoder written with fused libtorch kernels.
//!
//! rust-bert's BERT builds a fresh attention-score tensor per window and layer and runs its
//! softmax eagerly. This engine runs the same weights through `scaled_dot_product_attention`
//! (one fused kernel), projects query, key and value with one matrix product, and can run in
//! bfloat16 on CPUs with native bf16 arithmetic. It serves inference for `model_type` `bert`
//! (casing embedding included); rust-bert stays the reference and the training path.

use super::Engine;
use crate::error::{LoadError, Result};
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;
use tch::{Kind, Tensor};

struct Linear {
    weight: Tensor,
    bias: Tensor,
}

impl Linear {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(x.f_linear(&self.weight, Some(&self.bias))?)
    }
}

struct Norm {
    weight: Tensor,
    bias: Tensor,
}

struct Layer {
    qkv: Linear,
    attn_out: Linear,
    attn_norm: Norm,
    inter: Linear,
    out: Linear,
    out_norm: Norm,
}

/// BERT token classification on fused kernels.
pub(crate) struct FusedBert {
    word: Tensor,
    position: Tensor,
    token_type0: Tensor,
    casing: Option<Tensor>,
    emb_norm: Norm,
    layers: Vec<Layer>,
    classifier: Linear,
    heads: i64,
    eps: f64,
    gelu: &'static str,
    engine: Engine,
}

impl FusedBert {
    /// Builds `engine` (`Fused`: f32, or `FusedBf16`) from the loaded variables (names with
    /// the `bert.` prefix).
    pub(crate) fn new(
        vars: &HashMap<String, Tensor>,
        config: &Value,
        source: &Path,
        engine: Engine,
    ) -> Result<Self> {
        let kind = if engine == Engine::FusedBf16 {
            Kind::BFloat16
        } else {
            Kind::Float
        };
        let get = |name: &str| -> Result<Tensor> {
            vars.get(name)
                .map(|t| t.detach().to_kind(kind))
                .ok_or_else(|| {
                    LoadError::MissingWeight {
                        path: source.to_path_buf(),
                        name: name.to_string(),
                    }
                    .into()
                })
        };
        let linear = |p: &str| -> Result<Linear> {
            Ok(Linear {
                weight: get(&format!("{p}.weight"))?,
                bias: get(&format!("{p}.bias"))?,
            })
        };
        let norm = |p: &str| -> Result<Norm> {
            Ok(Norm {
                weight: get(&format!("{p}.weight"))?,
                bias: get(&format!("{p}.bias"))?,
            })
        };
        let shape = super::BertShape::from_config(config, engine)?;
        let mut layers = Vec::with_capacity(shape.layers as usize);
        for i in 0..shape.layers {
            let p = format!("bert.encoder.layer.{i}");
            let (q, k, v) = (
                linear(&format!("{p}.attention.self.query"))?,
                linear(&format!("{p}.attention.self.key"))?,
                linear(&format!("{p}.attention.self.value"))?,
            );
            layers.push(Layer {
                qkv: Linear {
                    weight: Tensor::f_cat(&[q.weight, k.weight, v.weight], 0)?,
                    bias: Tensor::f_cat(&[q.bias, k.bias, v.bias], 0)?,
                },
                attn_out: linear(&format!("{p}.attention.output.dense"))?,
                attn_norm: norm(&format!("{p}.attention.output.LayerNorm"))?,
                inter: linear(&format!("{p}.intermediate.dense"))?,
                out: linear(&format!("{p}.output.dense"))?,
                out_norm: norm(&format!("{p}.output.LayerNorm"))?,
            });
        }
        Ok(FusedBert {
            word: get("bert.embeddings.word_embeddings.weight")?,
            position: get("bert.embeddings.position_embeddings.weight")?,
            token_type0: get("bert.embeddings.token_type_embeddings.weight")?.get(0),
            casing: vars
                .get(&format!("{}.weight", super::CASING_WEIGHT))
                .or_else(|| vars.get(super::CASING_WEIGHT))
                .map(|t| t.detach().to_kind(kind)),
            emb_norm: norm("bert.embeddings.LayerNorm")?,
            layers,
            classifier: linear("classifier")?,
            heads: shape.heads,
            eps: shape.eps,
            gelu: if shape.tanh_gelu { "tanh" } else { "none" },
            engine,
        })
    }

    fn norm(&self, x: &Tensor, n: &Norm) -> Result<Tensor> {
        let h = *x.size().last().unwrap_or(&0);
        Ok(x.f_layer_norm([h], Some(&n.weight), Some(&n.bias), self.eps, false)?)
    }

    /// Logits (`Float`) `[batch, seq, labels]`.
    pub(crate) fn logits(&self, ids: &Tensor, mask: &Tensor, casing: &Tensor) -> Result<Tensor> {
        let size = ids.size();
        let (b, t) = (size[0], size[1]);
        let mut x = Tensor::f_embedding(&self.word, ids, -1, false, false)?;
        if let Some(c) = &self.casing {
            x += Tensor::f_embedding(c, casing, -1, false, false)?;
        }
        x = x + self.position.f_narrow(0, 0, t)?.unsqueeze(0) + &self.token_type0;
        let mut x = self.norm(&x, &self.emb_norm)?;
        let hidden = *x.size().last().unwrap_or(&0);
        let head_dim = hidden / self.heads;
        let attend = mask.f_to_kind(Kind::Bool)?.view([b, 1, 1, t]);
        for layer in &self.layers {
            let qkv = layer
                .qkv
                .forward(&x)?
                .view([b, t, 3, self.heads, head_dim])
                .permute([2, 0, 3, 1, 4]);
            let (q, k, v) = (qkv.get(0), qkv.get(1), qkv.get(2));
            let a = Tensor::f_scaled_dot_product_attention(
                &q,
                &k,
                &v,
                Some(&attend),
                0.0,
                false,
                None::<f64>,
            )?
            .transpose(1, 2)
            .reshape([b, t, hidden]);
            x = self.norm(&(layer.attn_out.forward(&a)? + &x), &layer.attn_norm)?;
            let h = layer.inter.forward(&x)?.f_gelu(self.gelu)?;
            x = self.norm(&(layer.out.forward(&h)? + &x), &layer.out_norm)?;
        }
        Ok(self.classifier.forward(&x)?.f_to_kind(Kind::Float)?)
    }

    /// Which engine this is.
    pub(crate) fn engine(&self) -> Engine {
        self.engine
    }
}
