//! Averages the weights of fine-tuned models that share an architecture and a label set (a
//! "model soup", Wortsman et al. 2022): every tensor is the weighted mean of the models' tensors,
//! computed in f32 and stored in the first model's dtype. `config.json` and `tokenizer.json` come
//! from the first model; the models must have the same tensors (names, shapes, dtypes) and the
//! same `config.json` apart from the `newsgraph` training notes.
//!
//!     cargo run --release --example average_models -- --out SOUP \
//!         models/newsgraph-rel-minilm other-run [--weights 1,1]
//!
//! The relation model v5 is the mean of v4 and a run trained from the base encoder on cropped
//! pairs (see `models/newsgraph-rel-minilm/MODEL_CARD.md`).

use anyhow::{bail, ensure, Context, Result};
use clap::Parser;
use half::{bf16, f16};
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Parser)]
#[command(about = "Averages the weights of models with the same architecture and labels")]
struct Args {
    /// The model folders (config.json, model.safetensors, tokenizer.json).
    #[arg(required = true, num_args = 2..)]
    models: Vec<PathBuf>,
    /// The folder to write.
    #[arg(long)]
    out: PathBuf,
    /// Relative weight of each model, comma-separated (default: equal).
    #[arg(long, value_delimiter = ',')]
    weights: Vec<f64>,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let weights = normalized(&args.weights, args.models.len())?;
    for m in &args.models {
        ensure!(
            m.canonicalize().ok() != args.out.canonicalize().ok(),
            "--out {} is one of the models; write the average elsewhere",
            args.out.display()
        );
    }
    same_configs(&args.models)?;
    let bytes = args
        .models
        .iter()
        .map(|m| {
            let p = m.join("model.safetensors");
            std::fs::read(&p).with_context(|| format!("reading {}", p.display()))
        })
        .collect::<Result<Vec<_>>>()?;
    let files = bytes
        .iter()
        .zip(&args.models)
        .map(|(b, m)| {
            SafeTensors::deserialize(b)
                .with_context(|| format!("{}: model.safetensors", m.display()))
        })
        .collect::<Result<Vec<_>>>()?;
    let out = mean(&files, &args.models, &weights)?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let views = out
        .iter()
        .map(|(name, (dtype, shape, data))| {
            Ok((name.clone(), TensorView::new(*dtype, shape.clone(), data)?))
        })
        .collect::<Result<Vec<_>>>()?;
    let path = args.out.join("model.safetensors");
    safetensors::serialize_to_file(views, &None, &path)
        .with_context(|| format!("writing {}", path.display()))?;
    for name in ["config.json", "tokenizer.json"] {
        let from = args.models[0].join(name);
        std::fs::copy(&from, args.out.join(name))
            .with_context(|| format!("copying {}", from.display()))?;
    }
    println!(
        "{}",
        serde_json::json!({
            "out": args.out.display().to_string(),
            "models": args.models.iter().map(|m| m.display().to_string()).collect::<Vec<_>>(),
            "weights": weights,
            "tensors": out.len(),
        })
    );
    Ok(())
}

/// The models' relative weights (`given`, or equal ones), summing to one.
fn normalized(given: &[f64], models: usize) -> Result<Vec<f32>> {
    let weights = if given.is_empty() {
        vec![1.0; models]
    } else {
        given.to_vec()
    };
    ensure!(
        weights.len() == models,
        "{} weights for {models} models",
        weights.len()
    );
    ensure!(
        weights.iter().all(|w| w.is_finite() && *w >= 0.0) && weights.iter().sum::<f64>() > 0.0,
        "weights must be non-negative with a positive sum, not {weights:?}"
    );
    let total: f64 = weights.iter().sum();
    Ok(weights.iter().map(|w| (w / total) as f32).collect())
}

/// A tensor to write: dtype, shape and little-endian bytes.
type Stored = (Dtype, Vec<usize>, Vec<u8>);

/// The weighted mean of every tensor, in f32, stored in the first model's dtype; the models must
/// have the same tensors with the same shapes and dtypes.
fn mean(
    files: &[SafeTensors],
    models: &[PathBuf],
    weights: &[f32],
) -> Result<BTreeMap<String, Stored>> {
    let mut out = BTreeMap::new();
    for (name, first) in files[0].tensors() {
        let mut sum = vec![0f32; first.shape().iter().product()];
        for ((file, model), w) in files.iter().zip(models).zip(weights) {
            let t = file
                .tensor(&name)
                .with_context(|| format!("{} has no tensor {name}", model.display()))?;
            ensure!(
                t.shape() == first.shape() && t.dtype() == first.dtype(),
                "{name}: {} has {:?} {:?}, the first model {:?} {:?}",
                model.display(),
                t.dtype(),
                t.shape(),
                first.dtype(),
                first.shape()
            );
            for (s, x) in sum.iter_mut().zip(values(&t)?) {
                *s += w * x;
            }
        }
        let stored = encode(first.dtype(), &sum)?;
        out.insert(name, (first.dtype(), first.shape().to_vec(), stored));
    }
    for (file, model) in files.iter().zip(models).skip(1) {
        ensure!(
            file.len() == files[0].len(),
            "{} has {} tensors, the first model {}",
            model.display(),
            file.len(),
            files[0].len()
        );
    }
    Ok(out)
}

/// The models' `config.json` must agree but for the `newsgraph` training notes (the labels in
/// `newsgraph.classes` must agree too).
fn same_configs(models: &[PathBuf]) -> Result<()> {
    let read = |m: &Path| -> Result<serde_json::Value> {
        let p = m.join("config.json");
        let text =
            std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))?;
        serde_json::from_str(&text).with_context(|| format!("parsing {}", p.display()))
    };
    let split = |mut v: serde_json::Value| {
        let notes = v.as_object_mut().and_then(|o| o.remove("newsgraph"));
        let classes = notes.and_then(|n| n.get("classes").cloned());
        (v, classes)
    };
    let (first, first_classes) = split(read(&models[0])?);
    for m in &models[1..] {
        let (config, classes) = split(read(m)?);
        if config != first || classes != first_classes {
            bail!(
                "{} and {}: config.json differs (architecture or labels); only models of one shape average",
                models[0].display(),
                m.display()
            );
        }
    }
    Ok(())
}

fn values(t: &TensorView) -> Result<Vec<f32>> {
    let d = t.data();
    Ok(match t.dtype() {
        Dtype::F32 => d
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
        Dtype::F16 => d
            .chunks_exact(2)
            .map(|b| f16::from_le_bytes([b[0], b[1]]).to_f32())
            .collect(),
        Dtype::BF16 => d
            .chunks_exact(2)
            .map(|b| bf16::from_le_bytes([b[0], b[1]]).to_f32())
            .collect(),
        other => bail!("{other:?} tensors do not average (f32, f16 or bf16 only)"),
    })
}

fn encode(dtype: Dtype, x: &[f32]) -> Result<Vec<u8>> {
    Ok(match dtype {
        Dtype::F32 => x.iter().flat_map(|v| v.to_le_bytes()).collect(),
        Dtype::F16 => x
            .iter()
            .flat_map(|v| f16::from_f32(*v).to_le_bytes())
            .collect(),
        Dtype::BF16 => x
            .iter()
            .flat_map(|v| bf16::from_f32(*v).to_le_bytes())
            .collect(),
        other => bail!("{other:?} tensors do not average"),
    })
}
