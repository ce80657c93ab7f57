//! Scores a relation model on KBP37: each marked pair classified, then precision, recall and F1
//! per directed relation class, the macro-F1 over them (`no_relation` excluded: the usual KBP37
//! metric) and the micro-F1; the last line is JSON.
//!
//!     cargo run --release --example evaluate_relations -- --kbp37 ../shared/data/kbp37/dev.txt \
//!         [--model models/newsgraph-rel-minilm] [--engine onnx-int8] [--predictions OUT.jsonl]
//!
//! OUT: one line per example, `{"id": "…", "relation": "per:employee_of(e1,e2)"}` or
//! `"no_relation"`.
mod common;

use anyhow::{Context, Result};
use clap::Parser;
use newsgraph::kbp37::{self, Scores};
use newsgraph::{Engine, Pair, RelationModel};
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Parser)]
struct Args {
    /// A KBP37 file (train.txt, dev.txt or the test set).
    #[arg(long)]
    kbp37: PathBuf,
    /// The relation model folder.
    #[arg(long, default_value = "models/newsgraph-rel-minilm")]
    model: PathBuf,
    /// Engine: auto (onnx-int8), onnx-int8 or onnx.
    #[arg(long, default_value = "auto")]
    engine: Engine,
    /// Where to write one JSON line per example.
    #[arg(long)]
    predictions: Option<PathBuf>,
}

fn main() {
    common::exit_on_error(run);
}

fn run() -> Result<()> {
    let args = Args::parse();
    let examples = kbp37::read(&args.kbp37).context("reading --kbp37")?;
    let model = RelationModel::load(&args.model, args.engine)
        .with_context(|| format!("loading {}", args.model.display()))?;
    let started = Instant::now();
    let pairs: Vec<Pair> = examples
        .iter()
        .map(|e| Pair {
            text: &e.text,
            e1: e.e1,
            e2: e.e2,
        })
        .collect();
    let predictions = model.predict(&pairs)?;
    let seconds = started.elapsed().as_secs_f64();
    if let Some(path) = &args.predictions {
        let mut out = std::io::BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
        );
        for (e, p) in examples.iter().zip(&predictions) {
            let relation = p.relation.map_or("no_relation".to_string(), |d| d.name());
            writeln!(
                out,
                "{}",
                serde_json::json!({"id": e.id, "relation": relation})
            )?;
        }
    }
    let scores = Scores::new(
        examples
            .iter()
            .zip(&predictions)
            .map(|(e, p)| (e.label, p.relation))
            .collect::<Vec<_>>(),
    );
    println!(
        "{:<45} {:>9} {:>9} {:>9}",
        "relation", "precision", "recall", "f1"
    );
    for (name, p, r, f) in scores.per_class() {
        println!(
            "{name:<45} {:>9.2} {:>9.2} {:>9.2}",
            p * 100.0,
            r * 100.0,
            f * 100.0
        );
    }
    let (macro_f1, micro_f1) = (scores.macro_f1(), scores.micro_f1());
    println!(
        "\nmacro-F1 {:.2}, micro-F1 {:.2} ({} examples, {:.1} s, {:.0} examples/s, engine {})",
        macro_f1 * 100.0,
        micro_f1 * 100.0,
        examples.len(),
        seconds,
        examples.len() as f64 / seconds,
        model.engine()
    );
    println!(
        "{}",
        serde_json::json!({
            "file": args.kbp37.display().to_string(),
            "model": args.model.display().to_string(),
            "engine": model.engine().as_str(),
            "examples": examples.len(),
            "macro_f1": (macro_f1 * 10000.0).round() / 100.0,
            "micro_f1": (micro_f1 * 10000.0).round() / 100.0,
        })
    );
    Ok(())
}
