//! Fine-tunes a token-classification model on CoNLL-format data and keeps the best dev model.
//!
//! ```text
//! cargo run --release --example train_ner -- \
//!     --encoder ../shared/models/all-MiniLM-L6-v2 \
//!     --train ../shared/data/conll2003/eng.train --dev ../shared/data/conll2003/eng.testa \
//!     --out models/newsgraph-ner-minilm
//! ```
use anyhow::{bail, Context, Result};
use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use newsgraph::train::{train, TrainConfig};
use std::path::PathBuf;

#[derive(Parser)]
#[command(about = "Fine-tune a NER model on CoNLL data")]
struct Args {
    /// Pretrained encoder folder (Hugging Face layout).
    #[arg(long)]
    encoder: PathBuf,
    /// Training file (CoNLL format, NER tag in the last column).
    #[arg(long)]
    train: PathBuf,
    /// Development file, scored after each epoch.
    #[arg(long)]
    dev: PathBuf,
    /// Output model folder (the best epoch is kept).
    #[arg(long)]
    out: PathBuf,
    #[arg(long, default_value_t = 4)]
    epochs: usize,
    #[arg(long, default_value_t = 16)]
    batch: usize,
    #[arg(long, default_value_t = 1e-4)]
    lr: f64,
    #[arg(long, default_value_t = 0.1)]
    warmup: f64,
    #[arg(long, default_value_t = 0.01)]
    weight_decay: f64,
    /// Window length in tokens, special tokens included.
    #[arg(long, default_value_t = 128)]
    window: usize,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Train without the casing embedding.
    #[arg(long)]
    no_casing: bool,
    /// cpu or cuda.
    #[arg(long, default_value = "cpu")]
    device: String,
    /// libtorch threads (0 = libtorch's default).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Stop each epoch after N steps (quick trials).
    #[arg(long)]
    max_steps: Option<usize>,
    /// Use only the first N training documents (quick trials).
    #[arg(long)]
    max_docs: Option<usize>,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let device = match args.device.as_str() {
        "cpu" => tch::Device::Cpu,
        "cuda" => {
            if !tch::Cuda::is_available() {
                bail!("--device cuda: no CUDA device (or a CPU-only libtorch)");
            }
            tch::Device::Cuda(0)
        }
        other => bail!("--device {other}: expected cpu or cuda"),
    };
    if args.threads > 0 {
        tch::set_num_threads(args.threads as i32);
    }
    let mut train_docs = newsgraph::conll::read(&args.train).context("reading --train")?;
    if let Some(n) = args.max_docs {
        train_docs.truncate(n);
    }
    let dev = newsgraph::conll::read(&args.dev).context("reading --dev")?;
    let config = TrainConfig {
        encoder: args.encoder.clone(),
        train: train_docs,
        dev,
        out: args.out.clone(),
        epochs: args.epochs,
        batch_size: args.batch,
        lr: args.lr,
        warmup: args.warmup,
        weight_decay: args.weight_decay,
        window: args.window,
        seed: args.seed,
        casing: !args.no_casing,
        device,
        max_steps_per_epoch: args.max_steps,
    };
    let bar = ProgressBar::new(0);
    bar.set_style(ProgressStyle::with_template(
        "epoch {prefix} [{bar:30}] {pos}/{len} {msg} ({elapsed}, eta {eta})",
    )?);
    let report = train(&config, |p| {
        bar.set_length(p.steps as u64);
        bar.set_prefix(p.epoch.to_string());
        bar.set_position(p.step as u64);
        bar.set_message(format!("loss {:.4} {:.0} tok/s", p.loss, p.tokens_per_s));
        if bar.is_hidden() && p.step % 50 == 0 {
            eprintln!(
                "epoch {} step {}/{} loss {:.4} {:.0} tok/s",
                p.epoch, p.step, p.steps, p.loss, p.tokens_per_s
            );
        }
        if p.step == p.steps {
            eprintln!(
                "epoch {} done: loss {:.4}, {:.0} tokens/s",
                p.epoch, p.loss, p.tokens_per_s
            );
        }
    })?;
    bar.finish_and_clear();
    for (i, s) in report.epochs.iter().enumerate() {
        eprintln!("dev after epoch {}:\n{}", i + 1, s.table());
    }
    let best = &report.epochs[report.best_epoch - 1];
    eprintln!(
        "best epoch {} (dev F1 {:.2}) saved to {}; {:.0} s",
        report.best_epoch,
        best.overall().f1(),
        args.out.display(),
        report.seconds
    );
    println!(
        "{}",
        serde_json::json!({
            "best_epoch": report.best_epoch,
            "seconds": report.seconds.round(),
            "dev": best.to_json(),
            "dev_f1_per_epoch": report.epochs.iter().map(|s| (s.overall().f1() * 100.0).round() / 100.0).collect::<Vec<_>>(),
        })
    );
    Ok(())
}
