//! Scores a relation model on KBP37: each marked pair classified, then precision, recall and F1
//! per directed relation class, the macro-F1 over them (`no_relation` excluded: the usual KBP37
//! metric) and the micro-F1; the last line is JSON.
//!
//!     cargo run --release --example evaluate_relations -- --kbp37 ../shared/data/kbp37/dev.txt \
//!         [--model models/newsgraph-rel-minilm] [--engine onnx-int8] [--predictions OUT.jsonl]
//!
//! OUT: one line per example, `{"id": "…", "relation": "per:employee_of(e1,e2)"}` or
//! `"no_relation"`.
//!
//! `--conll04 FILE --gold-entities`: relations among each sentence's gold entities (every pair,
//! both orders given by the model's direction), mapped to CoNLL04's types (Work_For ←
//! per:employee_of and org:top_members/employees reversed; OrgBased_In ←
//! org:*_of_headquarters; Live_In ← per:*_of_residence; the model has no Kill or Located_In)
//! with their entity types required, scored strictly (both ends and the type). OUT: one line
//! per sentence, `{"index": i, "relations": [{"relation": "<KBP name>", "head": h, "tail": t}]}`.
mod common;

use anyhow::{Context, Result};
use clap::Parser;
use newsgraph::kbp37::{self, Scores};
use newsgraph::{Engine, Pair, RelationKind, RelationModel};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Parser)]
struct Args {
    /// A KBP37 file (train.txt, dev.txt or the test set).
    #[arg(long, conflicts_with = "conll04", required_unless_present = "conll04")]
    kbp37: Option<PathBuf>,
    /// A CoNLL04 file (`*_triples.json`), scored with its gold entities.
    #[arg(long, requires = "gold_entities")]
    conll04: Option<PathBuf>,
    /// With --conll04: classify pairs of the gold entities (end to end is not done yet).
    #[arg(long)]
    gold_entities: bool,
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
    let model = RelationModel::load(&args.model, args.engine)
        .with_context(|| format!("loading {}", args.model.display()))?;
    match (&args.kbp37, &args.conll04) {
        (Some(file), _) => run_kbp37(&args, file, &model),
        (None, Some(file)) => run_conll04(&args, file, &model),
        (None, None) => anyhow::bail!("give --kbp37 FILE or --conll04 FILE --gold-entities"),
    }
}

fn run_kbp37(args: &Args, file: &Path, model: &RelationModel) -> Result<()> {
    let examples = kbp37::read(file).context("reading --kbp37")?;
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
    summary(
        args,
        file,
        model,
        serde_json::json!({
            "examples": examples.len(),
            "macro_f1": percent(macro_f1),
            "micro_f1": percent(micro_f1),
        }),
    );
    Ok(())
}

#[derive(serde::Deserialize)]
struct Sentence {
    tokens: Vec<String>,
    entities: Vec<Span>,
    relations: Vec<GoldRelation>,
}

#[derive(serde::Deserialize)]
struct Span {
    #[serde(rename = "type")]
    kind: String,
    start: usize,
    end: usize,
}

#[derive(serde::Deserialize)]
struct GoldRelation {
    #[serde(rename = "type")]
    kind: String,
    head: usize,
    tail: usize,
}

/// The CoNLL04 type of a KBP relation between (head, tail) entities of the given types, with
/// the head and tail in CoNLL04's order.
fn conll04_type(kind: RelationKind, head: &str, tail: &str) -> Option<(&'static str, bool)> {
    use RelationKind::*;
    let (name, swap) = match kind {
        PerEmployeeOf => ("Work_For", false),
        OrgTopMembersEmployees => ("Work_For", true),
        OrgCityOfHeadquarters | OrgStateorprovinceOfHeadquarters | OrgCountryOfHeadquarters => {
            ("OrgBased_In", false)
        }
        PerCitiesOfResidence | PerStateorprovincesOfResidence | PerCountriesOfResidence => {
            ("Live_In", false)
        }
        LocLocatedIn => ("Located_In", false),
        _ => return None,
    };
    let (h, t) = if swap { (tail, head) } else { (head, tail) };
    let fits = match name {
        "Work_For" => (h, t) == ("Peop", "Org"),
        "OrgBased_In" => (h, t) == ("Org", "Loc"),
        "Live_In" => (h, t) == ("Peop", "Loc"),
        _ => (h, t) == ("Loc", "Loc"),
    };
    fits.then_some((name, swap))
}

fn run_conll04(args: &Args, file: &Path, model: &RelationModel) -> Result<()> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let sentences: Vec<Sentence> = serde_json::from_str(&text)
        .with_context(|| format!("{}: not CoNLL04 JSON", file.display()))?;
    let started = Instant::now();
    let mut out = match &args.predictions {
        Some(p) => Some(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?,
        )),
        None => None,
    };
    // (correct, predicted, gold) per CoNLL04 type.
    let mut counts: std::collections::BTreeMap<String, (usize, usize, usize)> = Default::default();
    let mut pairs_total = 0;
    for (index, s) in sentences.iter().enumerate() {
        let mut text = String::new();
        let mut starts = Vec::with_capacity(s.tokens.len());
        for t in &s.tokens {
            if !text.is_empty() {
                text.push(' ');
            }
            starts.push(text.len());
            text.push_str(t);
        }
        let span = |e: &Span| -> Result<(usize, usize)> {
            let last = e
                .end
                .checked_sub(1)
                .filter(|&l| l < s.tokens.len() && e.start <= l);
            let last = last.with_context(|| {
                format!(
                    "sentence {index}: entity {}..{} outside its tokens",
                    e.start, e.end
                )
            })?;
            Ok((starts[e.start], starts[last] + s.tokens[last].len()))
        };
        let spans = s.entities.iter().map(span).collect::<Result<Vec<_>>>()?;
        let mut index_pairs = Vec::new();
        let mut pairs = Vec::new();
        for i in 0..spans.len() {
            for j in i + 1..spans.len() {
                index_pairs.push((i, j));
                pairs.push(Pair {
                    text: &text,
                    e1: spans[i],
                    e2: spans[j],
                });
            }
        }
        pairs_total += pairs.len();
        let predictions = model.predict(&pairs)?;
        let mut predicted = std::collections::BTreeSet::new();
        let mut kbp = Vec::new();
        for (&(i, j), p) in index_pairs.iter().zip(&predictions) {
            let Some(d) = p.relation else { continue };
            // The subject is e2 when the direction is reversed.
            let (head, tail) = if d.reversed { (j, i) } else { (i, j) };
            kbp.push(serde_json::json!({"relation": d.kind.as_str(), "head": head, "tail": tail}));
            let (h, t) = (&s.entities[head].kind, &s.entities[tail].kind);
            if let Some((name, swap)) = conll04_type(d.kind, h, t) {
                let (h, t) = if swap { (tail, head) } else { (head, tail) };
                predicted.insert((name.to_string(), h, t));
            }
        }
        let gold: std::collections::BTreeSet<(String, usize, usize)> = s
            .relations
            .iter()
            .map(|r| (r.kind.clone(), r.head, r.tail))
            .collect();
        for g in &gold {
            counts.entry(g.0.clone()).or_default().2 += 1;
        }
        for p in &predicted {
            let c = counts.entry(p.0.clone()).or_default();
            c.1 += 1;
            if gold.contains(p) {
                c.0 += 1;
            }
        }
        if let Some(out) = out.as_mut() {
            writeln!(
                out,
                "{}",
                serde_json::json!({"index": index, "relations": kbp})
            )?;
        }
    }
    let f1 = |(c, p, g): (usize, usize, usize)| {
        let (pr, re) = (c as f64 / p.max(1) as f64, c as f64 / g.max(1) as f64);
        (
            pr,
            re,
            if pr + re > 0.0 {
                2.0 * pr * re / (pr + re)
            } else {
                0.0
            },
        )
    };
    println!(
        "{:<12} {:>9} {:>9} {:>9} {:>6} {:>6}",
        "type", "precision", "recall", "f1", "gold", "pred"
    );
    let mut all = (0, 0, 0);
    let mut covered = (0, 0, 0);
    for (name, &c) in &counts {
        let (p, r, f) = f1(c);
        println!(
            "{name:<12} {:>9.2} {:>9.2} {:>9.2} {:>6} {:>6}",
            p * 100.0,
            r * 100.0,
            f * 100.0,
            c.2,
            c.1
        );
        all = (all.0 + c.0, all.1 + c.1, all.2 + c.2);
        if matches!(name.as_str(), "Work_For" | "OrgBased_In" | "Live_In") {
            covered = (covered.0 + c.0, covered.1 + c.1, covered.2 + c.2);
        }
    }
    let (ap, ar, af) = f1(all);
    let (_, _, cf) = f1(covered);
    println!(
        "\nall five types: P {:.2} R {:.2} F1 {:.2}; the three the model covers (Work_For, OrgBased_In, Live_In): F1 {:.2} ({} sentences, {} pairs, {:.1} s)",
        ap * 100.0, ar * 100.0, af * 100.0, cf * 100.0, sentences.len(), pairs_total, started.elapsed().as_secs_f64()
    );
    summary(
        args,
        file,
        model,
        serde_json::json!({
            "sentences": sentences.len(),
            "f1_all_types": percent(af),
            "f1_covered_types": percent(cf),
        }),
    );
    Ok(())
}

/// A fraction as a percentage with two decimals.
fn percent(x: f64) -> f64 {
    (x * 10000.0).round() / 100.0
}

/// The last line: the run's file, model and engine, and its scores, as JSON.
fn summary(args: &Args, file: &Path, model: &RelationModel, scores: serde_json::Value) {
    let mut line = serde_json::json!({
        "file": file.display().to_string(),
        "model": args.model.display().to_string(),
        "engine": model.engine().as_str(),
    });
    if let (Some(l), Some(s)) = (line.as_object_mut(), scores.as_object()) {
        l.extend(s.clone());
    }
    println!("{line}");
}
