//! Scores a model on a CoNLL-format file with the library's own pipeline: entity-level
//! exact-match precision, recall and F1 per type and overall (conlleval semantics), and
//! throughput; the last line is JSON.
//!
//! ```text
//! cargo run --release --example evaluate -- --model models/newsgraph-ner-minilm \
//!     ../shared/data/conll2003/eng.testa
//! ```
mod common;

use anyhow::{Context, Result};
use clap::Parser;
use common::PipelineArgs;
use newsgraph::conll::ConllDocument;
use newsgraph::eval::{evaluate_where, mention_texts, Scores};
use newsgraph::Pipeline;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Parser)]
#[command(about = "Entity-level P/R/F1 of a model on CoNLL data")]
struct Args {
    #[command(flatten)]
    pipeline: PipelineArgs,
    /// CoNLL file: token ... tag per line, blank lines between sentences, -DOCSTART- between
    /// documents.
    file: PathBuf,
    /// Score only the N documents that `train_ner --hold-out N` holds out of this file (spread
    /// evenly over it): the honest estimate of a model trained on the rest.
    #[arg(long)]
    held_out: Option<usize>,
    /// Also score the entities whose text is no mention in these CoNLL files (the model's
    /// training data; the scored file's --held-out documents are not counted as seen): names
    /// the model has to recognise from context and form, as in later news.
    #[arg(long, num_args = 1..)]
    unseen_in: Vec<PathBuf>,
}

fn main() {
    common::exit_on_error(run);
}

fn run() -> Result<()> {
    let args = Args::parse();
    let model = args.pipeline.model_dir();
    let mut docs = newsgraph::conll::read(&args.file).context("reading the CoNLL file")?;
    if let Some(n) = args.held_out {
        if n == 0 || n >= docs.len() {
            anyhow::bail!("--held-out {n}: expected 1 to {} documents", docs.len() - 1);
        }
        docs = newsgraph::conll::hold_out(docs, n).1;
    }
    let pipeline = Pipeline::load(&model, args.pipeline.options())?;
    let started = Instant::now();
    let scores = newsgraph::eval::evaluate(&pipeline, &docs)?;
    let secs = started.elapsed().as_secs_f64();
    let unseen = unseen_scores(&args, &pipeline, &docs)?;
    let tokens: usize = docs.iter().map(|d| d.token_count()).sum();
    println!("{}", scores.table());
    if let Some(u) = &unseen {
        println!("names unseen in training:\n{}", u.table());
    }
    println!(
        "{} documents, {tokens} tokens in {secs:.1} s: {:.0} tokens/s",
        docs.len(),
        tokens as f64 / secs
    );
    let mut json = scores.to_json();
    json["model"] = model.display().to_string().into();
    json["engine"] = pipeline.model().engine().as_str().into();
    json["file"] = args.file.display().to_string().into();
    json["held_out"] = args.held_out.into();
    json["decoding"] = format!("{:?}", args.pipeline.decoding)
        .to_lowercase()
        .into();
    json["unseen"] = unseen.map(|u| u.to_json()).into();
    json["tokens"] = tokens.into();
    json["seconds"] = ((secs * 100.0).round() / 100.0).into();
    json["tokens_per_s"] = (tokens as f64 / secs).round().into();
    println!("{json}");
    Ok(())
}

/// With `--unseen-in`: the scores on the entities whose text is no mention there.
fn unseen_scores(
    args: &Args,
    pipeline: &Pipeline,
    docs: &[ConllDocument],
) -> Result<Option<Scores>> {
    if args.unseen_in.is_empty() {
        return Ok(None);
    }
    let mut seen = HashSet::new();
    for path in &args.unseen_in {
        let mut train = newsgraph::conll::read(path)
            .with_context(|| format!("reading --unseen-in {}", path.display()))?;
        if let (Some(n), true) = (args.held_out, same_file(path, &args.file)) {
            train = newsgraph::conll::hold_out(train, n).0;
        }
        seen.extend(mention_texts(&train));
    }
    let scores = evaluate_where(pipeline, docs, |tokens| !seen.contains(&tokens.join(" ")))?;
    Ok(Some(scores))
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}
