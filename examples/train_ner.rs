//! Fine-tunes a token-classification model on CoNLL-format data and keeps the best dev model.
//!
//! ```text
//! cargo run --release --example train_ner -- \
//!     --encoder ../shared/models/all-MiniLM-L6-v2 \
//!     --train ../shared/data/conll2003/eng.train --dev ../shared/data/conll2003/eng.testa \
//!     --out models/newsgraph-ner-minilm
//! ```
//!
//! Each epoch is also saved with f32 weights to `OUT.epoch-N` (the previous one removed);
//! `--resume OUT.epoch-N --done N` continues a run with the same settings.
use anyhow::{bail, Context, Result};
use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use newsgraph::training::conll::{hold_out, ConllDocument};
use newsgraph::training::ner::{train, Keep, Progress, TrainConfig, TrainReport};
use std::path::PathBuf;

mod common;

#[derive(Parser)]
#[command(about = "Fine-tune a NER model on CoNLL data")]
struct Args {
    /// Pretrained encoder folder (Hugging Face layout), or a token-classification model to
    /// continue (its classifier and casing embedding kept; the training data must have its
    /// labels).
    #[arg(long)]
    encoder: PathBuf,
    /// Training file(s) (CoNLL format, NER tag in the last column); repeat to train on several
    /// (a final model on train + dev).
    #[arg(long, required = true, num_args = 1..)]
    train: Vec<PathBuf>,
    /// Development file, scored after each epoch; it chooses the kept epoch unless --keep last.
    #[arg(long)]
    dev: Option<PathBuf>,
    /// Hold out N documents of the first --train file (spread evenly over it): scored after each
    /// epoch, never trained on, never used to choose: the run's honest estimate.
    #[arg(long, default_value_t = 0)]
    hold_out: usize,
    /// Which epoch to keep: best-dev (model selection on --dev) or last (a fixed epoch count).
    #[arg(long, value_enum, default_value = "best-dev")]
    keep: KeepArg,
    /// Output model folder (the kept epoch).
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
    /// A saved epoch folder (`OUT.epoch-N`) to continue from, with the run's other settings.
    #[arg(long, requires = "done")]
    resume: Option<PathBuf>,
    /// Epochs the resumed folder has done.
    #[arg(long, requires = "resume")]
    done: Option<usize>,
    /// Stop each epoch after N steps (quick trials).
    #[arg(long)]
    max_steps: Option<usize>,
    /// Use only the first N training documents (quick trials).
    #[arg(long)]
    max_docs: Option<usize>,
    #[command(flatten)]
    distill: common::DistillArgs,
    /// Unlabelled articles for the teacher to label (directories of .txt files, JSON Lines or
    /// text files, as `extract` reads them); with --teacher.
    #[arg(long, num_args = 1..)]
    transfer: Vec<PathBuf>,
    /// Use only the first N transfer articles.
    #[arg(long)]
    transfer_limit: Option<usize>,
    /// Label smoothing of the cross-entropy on the gold labels (0: none; 0.1 is common).
    #[arg(long, default_value_t = 0.0)]
    label_smoothing: f64,
    /// Mention replacement: each epoch, each entity mention is replaced with this probability
    /// by another training mention of its type (0: none; not with --teacher).
    #[arg(long, default_value_t = 0.0)]
    mention_swap: f64,
    /// R-Drop: each batch runs twice with different dropout, and this weight times the
    /// symmetric KL divergence of the two passes' label distributions joins the loss (0: none;
    /// twice the compute per step).
    #[arg(long, default_value_t = 0.0)]
    r_drop: f64,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum KeepArg {
    BestDev,
    Last,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let device = device(&args.device)?;
    if args.threads > 0 {
        tch::set_num_threads(args.threads as i32);
    }
    let keep = match args.keep {
        KeepArg::BestDev if args.dev.is_none() => {
            bail!("--keep best-dev needs --dev (or use --keep last)")
        }
        KeepArg::BestDev => Keep::BestDev,
        KeepArg::Last => Keep::Last,
    };
    let (train_docs, held_out) = train_documents(&args)?;
    let dev = match &args.dev {
        Some(p) => newsgraph::training::conll::read(p).context("reading --dev")?,
        None => Vec::new(),
    };
    eprintln!(
        "training on {} documents, {} held out, {} dev",
        train_docs.len(),
        held_out.len(),
        dev.len()
    );
    let config = TrainConfig {
        encoder: args.encoder.clone(),
        train: train_docs,
        dev,
        held_out,
        keep,
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
        teacher: args.distill.distill(),
        transfer: transfer_texts(&args)?,
        label_smoothing: args.label_smoothing,
        mention_swap: args.mention_swap,
        r_drop: args.r_drop,
        resume: args.resume.clone().zip(args.done),
    };
    let bar = ProgressBar::new(0);
    bar.set_style(ProgressStyle::with_template(
        "epoch {prefix} [{bar:30}] {pos}/{len} {msg} ({elapsed}, eta {eta})",
    )?);
    let report = train(&config, |p| show_progress(&bar, &p))?;
    bar.finish_and_clear();
    print_report(&config, &report);
    Ok(())
}

fn device(name: &str) -> Result<tch::Device> {
    match name {
        "cpu" => Ok(tch::Device::Cpu),
        "cuda" if !tch::Cuda::is_available() => {
            bail!("--device cuda: no CUDA device (or a CPU-only libtorch)")
        }
        "cuda" => Ok(tch::Device::Cuda(0)),
        other => bail!("--device {other}: expected cpu or cuda"),
    }
}

/// The `--train` files' documents, less `--hold-out` documents of the first file (returned
/// second), cut to `--max-docs`.
fn train_documents(args: &Args) -> Result<(Vec<ConllDocument>, Vec<ConllDocument>)> {
    let mut train_docs = Vec::new();
    let mut held_out = Vec::new();
    for (i, path) in args.train.iter().enumerate() {
        let mut docs = newsgraph::training::conll::read(path)
            .with_context(|| format!("reading --train {}", path.display()))?;
        if i == 0 {
            if args.hold_out >= docs.len() {
                bail!(
                    "--hold-out {}: {} has only {} documents",
                    args.hold_out,
                    path.display(),
                    docs.len()
                );
            }
            (docs, held_out) = hold_out(docs, args.hold_out);
        }
        train_docs.extend(docs);
    }
    if let Some(n) = args.max_docs {
        train_docs.truncate(n);
    }
    Ok((train_docs, held_out))
}

/// The texts of `--transfer`, cut to `--transfer-limit`.
fn transfer_texts(args: &Args) -> Result<Vec<String>> {
    if args.transfer.is_empty() {
        return Ok(Vec::new());
    }
    if args.distill.teacher.is_none() {
        bail!("--transfer needs --teacher (the teacher labels the transfer articles)");
    }
    newsgraph::input::read_paths(args.transfer.clone())
        .take(args.transfer_limit.unwrap_or(usize::MAX))
        .map(|a| a.map(|a| a.text).context("reading --transfer"))
        .collect()
}

/// The progress bar, or a line every 50 steps where it is hidden (not a terminal); a line at
/// the end of each epoch and one with its F1 scores once it is scored.
fn show_progress(bar: &ProgressBar, p: &Progress) {
    if let Some(scored) = p.scored {
        let f1 = |f: Option<f64>| f.map_or("-".to_string(), |f| format!("{f:.2}"));
        bar.suspend(|| {
            eprintln!(
                "epoch {} scored: dev F1 {}, held-out F1 {}",
                p.epoch,
                f1(scored.dev),
                f1(scored.held_out)
            )
        });
        return;
    }
    bar.set_length(p.steps as u64);
    bar.set_prefix(p.epoch.to_string());
    bar.set_position(p.step as u64);
    bar.set_message(format!("loss {:.4} {:.0} tok/s", p.loss, p.tokens_per_s));
    if bar.is_hidden() && p.step.is_multiple_of(50) {
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
}

/// Each epoch's dev and held-out tables (stderr), then one JSON line of the kept epoch.
fn print_report(config: &TrainConfig, report: &TrainReport) {
    let first = report.first_epoch;
    for (i, s) in report.epochs.iter().enumerate() {
        if !config.dev.is_empty() {
            eprintln!("dev after epoch {}:\n{}", first + i, s.table());
        }
        if let Some(h) = report.held_out.get(i) {
            eprintln!("held out after epoch {}:\n{}", first + i, h.table());
        }
    }
    let kept = report.best_epoch;
    if kept == 0 {
        eprintln!(
            "no epoch of this run beat the model in {}; left in place; {:.0} s",
            config.out.display(),
            report.seconds
        );
    } else {
        eprintln!(
            "epoch {kept} saved to {}; {:.0} s",
            config.out.display(),
            report.seconds
        );
    }
    let f1s = |v: &[newsgraph::training::eval::Scores]| {
        v.iter()
            .map(|s| (s.overall().f1() * 10_000.0).round() / 100.0)
            .collect::<Vec<_>>()
    };
    let at = kept.checked_sub(first);
    println!(
        "{}",
        serde_json::json!({
            "kept_epoch": kept,
            "first_epoch": first,
            "seconds": report.seconds.round(),
            "teacher_agreement": report.teacher_agreement,
            "dev": at.filter(|_| !config.dev.is_empty()).map(|i| report.epochs[i].to_json()),
            "held_out": at.and_then(|i| report.held_out.get(i)).map(|s| s.to_json()),
            "dev_f1_per_epoch": (!config.dev.is_empty()).then(|| f1s(&report.epochs)),
            "held_out_f1_per_epoch": f1s(&report.held_out),
        })
    );
}
