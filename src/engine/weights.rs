//! Weights read from `model.safetensors` (the `safetensors` crate; f32, f16 or bf16) as f32
//! arrays, under canonical names: with the architecture's prefix (`bert.` …), `LayerNorm`'s old
//! `gamma`/`beta` names as `weight`/`bias`, and without `pooler.*` and `position_ids`.

use crate::error::{LoadError, Result};
use safetensors::{Dtype, SafeTensors};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// A dense f32 array.
pub(crate) struct Weight {
    pub(crate) shape: Vec<usize>,
    pub(crate) data: Vec<f32>,
}

/// A checkpoint's arrays by canonical name.
pub(crate) struct Weights {
    by_name: HashMap<String, Weight>,
    path: PathBuf,
}

/// The canonical name of a checkpoint's weight, or `None` for weights no model uses.
pub(crate) fn canonical_name(prefix: &str, name: &str) -> Option<String> {
    if name.ends_with("position_ids") || name.contains("pooler.") {
        return None;
    }
    let name = name
        .replace("LayerNorm.gamma", "LayerNorm.weight")
        .replace("LayerNorm.beta", "LayerNorm.bias");
    let own = name.starts_with(&format!("{prefix}."))
        || name.starts_with("classifier.")
        || name.starts_with("newsgraph.");
    Some(if own {
        name
    } else {
        format!("{prefix}.{name}")
    })
}

impl Weights {
    /// Reads a safetensors file; `prefix` is the architecture's weight prefix.
    pub(crate) fn read(path: &Path, prefix: &str) -> Result<Self> {
        let invalid = |message: String| LoadError::Invalid {
            path: path.to_path_buf(),
            message,
        };
        let bytes = std::fs::read(path).map_err(|e| crate::Error::io(path, e))?;
        let file = SafeTensors::deserialize(&bytes)
            .map_err(|e| invalid(format!("cannot read weights: {e}")))?;
        let mut by_name = HashMap::new();
        for (name, view) in file.tensors() {
            let Some(canonical) = canonical_name(prefix, &name) else {
                continue;
            };
            let data = to_f32(view.dtype(), view.data()).ok_or_else(|| {
                invalid(format!(
                    "weight {name}: {:?} is not a float type (f32, f16 or bf16)",
                    view.dtype()
                ))
            })?;
            by_name.insert(
                canonical,
                Weight {
                    shape: view.shape().to_vec(),
                    data,
                },
            );
        }
        Ok(Weights {
            by_name,
            path: path.to_path_buf(),
        })
    }

    /// A weight by canonical name, or an error naming it and the file.
    pub(crate) fn get(&self, name: &str) -> Result<&Weight> {
        self.by_name.get(name).ok_or_else(|| {
            LoadError::MissingWeight {
                path: self.path.clone(),
                name: name.to_string(),
            }
            .into()
        })
    }

    /// A weight by canonical name, if the file has it.
    pub(crate) fn optional(&self, name: &str) -> Option<&Weight> {
        self.by_name.get(name)
    }

    /// A weight that must have `shape`.
    pub(crate) fn shaped(&self, name: &str, shape: &[usize]) -> Result<&Weight> {
        let w = self.get(name)?;
        if w.shape != shape {
            return Err(LoadError::ShapeMismatch {
                path: self.path.clone(),
                name: name.to_string(),
                expected: shape.iter().map(|&d| d as i64).collect(),
                found: w.shape.iter().map(|&d| d as i64).collect(),
            }
            .into());
        }
        Ok(w)
    }
}

fn to_f32(dtype: Dtype, data: &[u8]) -> Option<Vec<f32>> {
    let pairs = || {
        data.chunks_exact(2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
    };
    Some(match dtype {
        Dtype::F32 => data
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
        Dtype::F16 => pairs().map(|b| half::f16::from_bits(b).to_f32()).collect(),
        Dtype::BF16 => pairs().map(|b| half::bf16::from_bits(b).to_f32()).collect(),
        _ => return None,
    })
}
