//! Fine-tunes the relation classifier on KBP37, and optionally CoNLL04 (feature `torch`):
//!
//!     cargo run --release --features torch --example train_relations -- \
//!         --encoder ../shared/models/all-MiniLM-L6-v2 --train ../shared/data/kbp37/train.txt \
//!         --dev ../shared/data/kbp37/dev.txt --out models/newsgraph-rel-minilm --epochs 3
//!
//! `--conll04-train FILE [--conll04-repeat N] --conll04-dev FILE` adds CoNLL04's candidate
//! pairs (its relations mapped to KBP names). `--encoder` may be a relation model folder to
//! continue from (its head rows kept for the classes both have).
//!
//! Each epoch is saved to `OUT.epoch-N` and scored on dev (KBP37 macro-F1 over the 36 directed
//! relations; CoNLL04 strict F1 with gold entities); the best (KBP37, or the mean of both) goes
//! to `OUT`. `--resume OUT.epoch-N --done N` continues a run.
//!
//! `--teacher MODEL [--distill-weight W] [--distill-temperature T]` distils a trained relation
//! model into the one being trained, e.g. a shallower one: `--layers N` keeps the encoder's
//! first N layers.
use anyhow::{Context, Result};
use clap::Parser;
use newsgraph::training::relations::{train_relations, RelationTrainConfig};
use std::path::PathBuf;

mod common;

#[derive(Parser)]
struct Args {
    #[arg(long)]
    encoder: PathBuf,
    #[arg(long)]
    train: PathBuf,
    #[arg(long)]
    dev: PathBuf,
    /// CoNLL04 training sentences (`train_triples.json`).
    #[arg(long)]
    conll04_train: Option<PathBuf>,
    /// Times the CoNLL04 pairs are seen per epoch.
    #[arg(long, default_value_t = 1)]
    conll04_repeat: usize,
    /// CoNLL04 dev sentences (`dev_triples.json`).
    #[arg(long)]
    conll04_dev: Option<PathBuf>,
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
    /// Tokens of context kept on each side of a pair (default: the whole sentence).
    #[arg(long)]
    context: Option<usize>,
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
    /// Keep only the encoder's first N layers (a shallower, faster model).
    #[arg(long)]
    layers: Option<usize>,
    #[command(flatten)]
    distill: common::DistillArgs,
    /// Use only the first N training examples (quick trials).
    #[arg(long)]
    max_train: Option<usize>,
}

fn main() -> Result<()> {
    let args = Args::parse();
    if args.threads > 0 {
        tch::set_num_threads(args.threads as i32);
    }
    let mut train = newsgraph::training::kbp37::read(&args.train).context("reading --train")?;
    if let Some(n) = args.max_train {
        train.truncate(n);
    }
    let dev = newsgraph::training::kbp37::read(&args.dev).context("reading --dev")?;
    let conll04 = |p: &Option<PathBuf>| -> Result<Vec<newsgraph::training::conll04::Sentence>> {
        match p {
            Some(p) => newsgraph::training::conll04::read(p)
                .with_context(|| format!("reading {}", p.display())),
            None => Ok(Vec::new()),
        }
    };
    let config = RelationTrainConfig {
        encoder: args.encoder,
        train,
        dev,
        conll04_train: conll04(&args.conll04_train)?,
        conll04_repeat: args.conll04_repeat,
        conll04_dev: conll04(&args.conll04_dev)?,
        out: args.out.clone(),
        epochs: args.epochs,
        batch_size: args.batch,
        lr: args.lr,
        warmup: args.warmup,
        weight_decay: args.weight_decay,
        max_len: args.max_len,
        context: args.context,
        seed: args.seed,
        device: tch::Device::Cpu,
        resume: args.resume.map(|r| (r, args.done)),
        max_steps_per_epoch: args.max_steps,
        layers: args.layers,
        teacher: args.distill.distill(),
    };
    let report = train_relations(&config, |p| {
        if p.step % 20 == 0 || p.step == p.steps {
            eprintln!(
                "epoch {} step {}/{} loss {:.4} {:.1} examples/s",
                p.epoch, p.step, p.steps, p.loss, p.examples_per_s
            );
        }
    })?;
    for e in &report.epochs {
        eprintln!(
            "dev after epoch {}: KBP37 macro-F1 {:.4}, micro-F1 {:.4}; CoNLL04 F1 {}",
            e.epoch,
            e.kbp37_macro_f1,
            e.kbp37_micro_f1,
            e.conll04_f1.map_or("-".into(), |f| format!("{f:.4}"))
        );
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
