//! Scores a model on a CoNLL-format file with the library's own pipeline: entity-level
//! exact-match precision, recall and F1 per type and overall (conlleval semantics), and
//! throughput; the last line is JSON.
//!
//! ```text
//! cargo run --release --example evaluate -- --model models/newsgraph-ner-minilm \
//!     ../shared/data/conll2003/eng.testa
//! ```
//!
//! `--unseen-in TRAIN...` adds the scores on names that are no mention in the training files;
//! `--compare MODEL` scores a second model and compares the two by a paired bootstrap over the
//! documents; `--conll04` reads CoNLL04 JSON instead (PER, ORG and LOC scored).
mod common;

use anyhow::{Context, Result};
use clap::Parser;
use common::PipelineArgs;
use newsgraph::training::conll::ConllDocument;
use newsgraph::training::eval::{
    mention_texts, paired_bootstrap, predict, score_documents, Comparison, Scores,
};
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
    /// documents (with --conll04: a CoNLL04 `*_triples.json` file).
    file: PathBuf,
    /// The file is CoNLL04 JSON: each sentence a document, its Peop, Org and Loc entities
    /// scored against the pipeline's PER, ORG and LOC (news of another source and another
    /// annotation; its Other type matches no pipeline type, and MISC is not scored).
    #[arg(long, conflicts_with = "held_out")]
    conll04: bool,
    /// Score only the N documents that `train_ner --hold-out N` holds out of this file (spread
    /// evenly over it): the honest estimate of a model trained on the rest.
    #[arg(long)]
    held_out: Option<usize>,
    /// Also score the entities whose text is no mention in these CoNLL files (the model's
    /// training data; the scored file's --held-out documents are not counted as seen): names
    /// the model has to recognise from context and form, as in later news.
    #[arg(long, num_args = 1..)]
    unseen_in: Vec<PathBuf>,
    /// Score a second model (same settings) and compare it with the first by a paired
    /// bootstrap over the documents: the F1 difference, its 95% interval and the share of
    /// resamples in which the second is better.
    #[arg(long)]
    compare: Option<PathBuf>,
    /// Bootstrap resamples for --compare.
    #[arg(long, default_value_t = 2000)]
    samples: usize,
}

fn main() {
    common::exit_on_error(run);
}

fn run() -> Result<()> {
    let args = Args::parse();
    let model = args.pipeline.model_dir();
    let mut docs = if args.conll04 {
        let sentences =
            newsgraph::training::conll04::read(&args.file).context("reading the CoNLL04 file")?;
        sentences.iter().map(|s| s.conll_document()).collect()
    } else {
        newsgraph::training::conll::read(&args.file).context("reading the CoNLL file")?
    };
    if let Some(n) = args.held_out {
        if n == 0 || n >= docs.len() {
            anyhow::bail!("--held-out {n}: expected 1 to {} documents", docs.len() - 1);
        }
        docs = newsgraph::training::conll::hold_out(docs, n).1;
    }
    let pipeline = Pipeline::load(&model, args.pipeline.options())?;
    let seen = seen_names(&args)?;
    let first = score(&args, &pipeline, &docs, seen.as_ref())?;
    let secs = first.seconds;
    let scores = summed(&first.all);
    let tokens: usize = docs.iter().map(|d| d.token_count()).sum();
    println!("{}", scores.table());
    if let Some(u) = &first.unseen {
        println!("names unseen in training:\n{}", summed(u).table());
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
    json["decoding"] = format!("{:?}", args.pipeline.options().decoding)
        .to_lowercase()
        .into();
    json["unseen"] = first.unseen.as_deref().map(|u| summed(u).to_json()).into();
    if let Some(other) = &args.compare {
        json["compare"] = compare(&args, other, &docs, seen.as_ref(), &first)?;
    }
    json["tokens"] = tokens.into();
    json["seconds"] = ((secs * 100.0).round() / 100.0).into();
    json["tokens_per_s"] = (tokens as f64 / secs).round().into();
    println!("{json}");
    Ok(())
}

/// With `--unseen-in`: the text of every mention there (the scored file's held-out documents
/// left out).
fn seen_names(args: &Args) -> Result<Option<HashSet<String>>> {
    if args.unseen_in.is_empty() {
        return Ok(None);
    }
    let mut seen = HashSet::new();
    for path in &args.unseen_in {
        let mut train = newsgraph::training::conll::read(path)
            .with_context(|| format!("reading --unseen-in {}", path.display()))?;
        if let (Some(n), true) = (args.held_out, same_file(path, &args.file)) {
            train = newsgraph::training::conll::hold_out(train, n).0;
        }
        seen.extend(mention_texts(&train));
    }
    Ok(Some(seen))
}

/// One model's per-document scores: on all names, and with `--unseen-in` on unseen ones (one
/// pipeline run, scored twice); the seconds the run took.
struct Scored {
    all: Vec<Scores>,
    unseen: Option<Vec<Scores>>,
    seconds: f64,
}

fn score(
    args: &Args,
    pipeline: &Pipeline,
    docs: &[ConllDocument],
    seen: Option<&HashSet<String>>,
) -> Result<Scored> {
    let started = Instant::now();
    let predicted = predict(pipeline, docs)?;
    let seconds = started.elapsed().as_secs_f64();
    let all = score_documents(docs, &predicted, |typ, _| keep_type(args, typ));
    let unseen = seen.map(|seen| {
        score_documents(docs, &predicted, |typ, t| {
            keep_type(args, typ) && !seen.contains(&t.join(" "))
        })
    });
    Ok(Scored {
        all,
        unseen,
        seconds,
    })
}

/// `--compare`: the second model's tables and its paired bootstrap against the first, as JSON.
fn compare(
    args: &Args,
    other: &Path,
    docs: &[ConllDocument],
    seen: Option<&HashSet<String>>,
    first: &Scored,
) -> Result<serde_json::Value> {
    let pipeline = Pipeline::load(other, args.pipeline.options())
        .with_context(|| format!("loading --compare {}", other.display()))?;
    let second = score(args, &pipeline, docs, seen)?;
    println!("{}:\n{}", other.display(), summed(&second.all).table());
    let c = paired_bootstrap(&first.all, &second.all, args.samples, 1)?;
    print_comparison("all names", &c);
    let mut json = serde_json::json!({
        "model": other.display().to_string(),
        "scores": summed(&second.all).to_json(),
        "all": c,
    });
    if let (Some(base), Some(unseen)) = (&first.unseen, &second.unseen) {
        println!("names unseen in training:\n{}", summed(unseen).table());
        let c = paired_bootstrap(base, unseen, args.samples, 1)?;
        print_comparison("unseen names", &c);
        json["unseen"] = serde_json::to_value(c)?;
    }
    Ok(json)
}

fn print_comparison(what: &str, c: &Comparison) {
    println!(
        "second − first, {what}: {:+.2} F1 (95% interval {:+.2} … {:+.2}; second better in {:.1}% of {} resamples of the documents)",
        c.difference,
        c.interval.0,
        c.interval.1,
        100.0 * c.second_better,
        c.samples
    );
}

fn summed(per_doc: &[Scores]) -> Scores {
    per_doc.iter().sum()
}

/// Whether entities of this type are scored: all of them, but with --conll04 only the three
/// types CoNLL04 shares with the pipeline.
fn keep_type(args: &Args, typ: &str) -> bool {
    !args.conll04 || matches!(typ, "PER" | "ORG" | "LOC")
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}
