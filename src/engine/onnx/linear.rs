//! Linear layers in ONNX layout and their int8 quantization.

use super::*;

/// A linear layer in ONNX layout: `weight` is `[in, out]` (row-major), the transpose of
/// torch's `[out, in]`.
pub(super) struct Linear {
    pub(super) weight: Vec<f32>,
    pub(super) bias: Vec<f32>,
    pub(super) inp: usize,
    pub(super) out: usize,
}

impl Linear {
    /// Reads `{prefix}.weight` (`[out, inp]`) and `{prefix}.bias`.
    pub(super) fn load(weights: &Weights, prefix: &str, inp: usize, out: usize) -> Result<Self> {
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
    pub(super) fn concat(parts: &[Linear]) -> Linear {
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
    pub(super) fn quantize(&self, qmax: f32) -> (Vec<i8>, Vec<f32>) {
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
pub(super) fn int8_range() -> f32 {
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
