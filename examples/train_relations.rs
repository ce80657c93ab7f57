//! Fine-tunes the relation classifier on KBP37 (feature `torch`):
//!
//!     cargo run --release --features torch --example train_relations -- \
//!         --encoder ../shared/models/all-MiniLM-L6-v2 --train ../shared/data/kbp37/train.txt \
//!         --dev ../shared/data/kbp37/dev.txt --out models/newsgraph-rel-minilm --epochs 3
//!
//! Each epoch is saved to `OUT.epoch-N` and scored on dev (macro-F1 over the 36 directed
//! relations); the best goes to `OUT`. `--resume OUT.epoch-N --done N` continues a run.
use anyhow::{Context, Result};
use clap::Parser;
use newsgraph::train_relations::{train_relations, RelationTrainConfig};
use std::path::PathBuf;

#[derive(Parser)]
struct Args {
    #[arg(long)]
    encoder: PathBuf,
    #[arg(long)]
    train: PathBuf,
    #[arg(long)]
    dev: PathBuf,
    #[arg(long)]
    out: PathBuf,
    #[arg(long, default_value_t = 3)]
    epochs: usize,
    #[arg(long, default_value_t = 32)]
    batch: usize,
    #[arg(long, default_value_t = 1e-4)]
    lr: f64,
    #[arg(long, default_value_t = 0.1)]
    warmup: f64,
    #[arg(long, default_value_t = 0.01)]
    weight_decay: f64,
    #[arg(long, default_value_t = 96)]
    max_len: usize,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// libtorch threads (0: libtorch's default).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// A saved epoch folder to continue from.
    #[arg(long)]
    resume: Option<PathBuf>,
    /// Epochs the resumed folder has done.
    #[arg(long, default_value_t = 0)]
    done: usize,
    /// Stop each epoch after this many steps (quick trials).
    #[arg(long)]
    max_steps: Option<usize>,
    /// Use only the first N training examples (quick trials).
    #[arg(long)]
    max_train: Option<usize>,
}

fn main() -> Result<()> {
    let args = Args::parse();
    if args.threads > 0 {
        tch::set_num_threads(args.threads as i32);
    }
    let mut train = newsgraph::kbp37::read(&args.train).context("reading --train")?;
    if let Some(n) = args.max_train {
        train.truncate(n);
    }
    let dev = newsgraph::kbp37::read(&args.dev).context("reading --dev")?;
    let config = RelationTrainConfig {
        encoder: args.encoder,
        train,
        dev,
        out: args.out.clone(),
        epochs: args.epochs,
        batch_size: args.batch,
        lr: args.lr,
        warmup: args.warmup,
        weight_decay: args.weight_decay,
        max_len: args.max_len,
        seed: args.seed,
        device: tch::Device::Cpu,
        resume: args.resume.map(|r| (r, args.done)),
        max_steps_per_epoch: args.max_steps,
    };
    let report = train_relations(&config, |p| {
        if p.step % 20 == 0 || p.step == p.steps {
            eprintln!(
                "epoch {} step {}/{} loss {:.4} {:.1} examples/s",
                p.epoch, p.step, p.steps, p.loss, p.examples_per_s
            );
        }
    })?;
    for (epoch, macro_f1, micro_f1) in &report.epochs {
        eprintln!("dev after epoch {epoch}: macro-F1 {macro_f1:.4}, micro-F1 {micro_f1:.4}");
    }
    println!(
        "{}",
        serde_json::json!({
            "best_epoch": report.best_epoch,
            "epochs": report.epochs,
            "skipped_train_examples": report.skipped,
            "seconds": report.seconds.round(),
            "out": args.out.display().to_string(),
        })
    );
    Ok(())
}
