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
//! On KBP37 the answer is the most probable of KBP37's own classes (the model's
//! `loc:located_in`, learned from CoNLL04, is not among them).
//!
//! `--conll04 FILE --gold-entities [--threshold P]`: relations among each sentence's gold
//! entities (every pair; `RelationModel::predict_typed`: the classes whose entity kinds fit),
//! mapped to CoNLL04's types (`newsgraph::training::conll04::from_kbp`: Work_For ← per:employee_of and
//! org:top_members/employees reversed; OrgBased_In ← org:*_of_headquarters; Live_In ←
//! per:*_of_residence; Located_In ← loc:located_in; no class for Kill), scored strictly
//! (both ends and the type). OUT: one line per sentence, `{"index": i, "relations":
//! [{"relation": "<KBP name>", "head": h, "tail": t}]}`.
//!
//! `--conll04 FILE` (end to end): each sentence's text through the `Pipeline` (its entities,
//! clusters and relations; `--relations model|rules|both`, `--ner-model DIR`); a relation is
//! right when its type and both ends' text match a gold relation. OUT: one line per sentence,
//! `{"index": i, "relations": [{"relation", "head", "tail"}]}` with the ends' text. It also
//! prints the pipeline's entities scored against the gold Peop / Org / Loc mentions (exact span
//! and type), which bound what end to end can find.
mod common;

use anyhow::{Context, Result};
use clap::Parser;
use newsgraph::model::{Pair, RelationModel};
use newsgraph::training::conll04;
use newsgraph::training::eval::Counts;
use newsgraph::training::kbp37::{self, Scores};
use newsgraph::{Article, Engine, EntityKind, Pipeline, PipelineOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Parser)]
struct Args {
    /// A KBP37 file (train.txt, dev.txt or the test set).
    #[arg(long, conflicts_with = "conll04", required_unless_present = "conll04")]
    kbp37: Option<PathBuf>,
    /// A CoNLL04 file (`*_triples.json`): end to end (the pipeline's entities), or with
    /// `--gold-entities` among its gold entities.
    #[arg(long)]
    conll04: Option<PathBuf>,
    /// With --conll04: classify the pairs of the gold entities.
    #[arg(long)]
    gold_entities: bool,
    /// Tokens of context kept on each side of a pair (default: all on KBP37, the pipeline's
    /// on CoNLL04).
    #[arg(long)]
    context: Option<usize>,
    /// Pairs spanning more tokens than this are not classified (default: none on KBP37, the
    /// pipeline's on CoNLL04).
    #[arg(long)]
    max_span: Option<usize>,
    /// End to end: nearest partners per mention for the candidates (default: the pipeline's).
    #[arg(long)]
    partners: Option<usize>,
    /// A learned relation is kept from this probability on.
    #[arg(long, default_value_t = newsgraph::RELATION_THRESHOLD)]
    threshold: f32,
    /// End to end: the NER model folder.
    #[arg(long, default_value_os_t = newsgraph::default_model_dir())]
    ner_model: PathBuf,
    /// End to end: relations from the `model`, the `rules`, or `both` (the pipeline's default).
    #[arg(long, default_value = "both", value_parser = ["model", "rules", "both"])]
    relations: String,
    /// The relation model folder.
    #[arg(long, default_value_os_t = newsgraph::default_relation_model_dir())]
    model: PathBuf,
    /// Engine: auto (onnx-int8), onnx-int8, onnx-int8-rows or onnx.
    #[arg(long, default_value_t = PipelineOptions::default().engine)]
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
    let mut model = RelationModel::load(&args.model, args.engine)
        .with_context(|| format!("loading {}", args.model.display()))?;
    let defaults = PipelineOptions::default();
    let limits = match args.kbp37 {
        Some(_) => (args.context, args.max_span),
        None => (
            args.context.or(model.trained_context()),
            args.max_span.or(defaults.relation_max_span),
        ),
    };
    model.set_input_limits(limits.0, limits.1);
    match (&args.kbp37, &args.conll04) {
        (Some(file), _) => run_kbp37(&args, file, &model),
        (None, Some(file)) => run_conll04(&args, file, &model),
        (None, None) => anyhow::bail!("give --kbp37 FILE or --conll04 FILE --gold-entities"),
    }
}

fn run_kbp37(args: &Args, file: &Path, model: &RelationModel) -> Result<()> {
    let examples = kbp37::read(file).context("reading --kbp37")?;
    let started = Instant::now();
    let predictions = kbp37_predictions(&examples, model)?;
    let seconds = started.elapsed().as_secs_f64();
    if let Some(path) = &args.predictions {
        write_kbp37_predictions(path, &examples, &predictions)?;
    }
    let scores = Scores::new(
        examples
            .iter()
            .zip(&predictions)
            .map(|(e, p)| (e.label, *p))
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

/// The model's most probable KBP37 class of each example (every class but
/// loc:located_in, which KBP37 does not have; `None`: no relation).
fn kbp37_predictions(
    examples: &[kbp37::Example],
    model: &RelationModel,
) -> Result<Vec<Option<newsgraph::model::Directed>>> {
    let pairs: Vec<Pair> = examples
        .iter()
        .map(|e| Pair {
            text: &e.text,
            e1: e.e1,
            e2: e.e2,
        })
        .collect();
    let kbp37_class = |c: &Option<newsgraph::model::Directed>| {
        c.is_none_or(|d| d.kind != newsgraph::RelationKind::LocLocatedIn)
    };
    Ok(model
        .probs(&pairs)?
        .into_iter()
        .map(|p| {
            let p = p.unwrap_or_default();
            model
                .classes()
                .iter()
                .zip(&p)
                .filter(|(c, _)| kbp37_class(c))
                .max_by(|a, b| a.1.total_cmp(b.1))
                .and_then(|(c, _)| *c)
        })
        .collect())
}

/// `--predictions`: one JSON line per example, its id and predicted relation.
fn write_kbp37_predictions(
    path: &Path,
    examples: &[kbp37::Example],
    predictions: &[Option<newsgraph::model::Directed>],
) -> Result<()> {
    let mut out = std::io::BufWriter::new(
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
    );
    for (e, p) in examples.iter().zip(predictions) {
        let relation = p.map_or("no_relation".to_string(), |d| d.name());
        writeln!(
            out,
            "{}",
            serde_json::json!({"id": e.id, "relation": relation})
        )?;
    }
    Ok(())
}

/// The CoNLL04 entity type of a pipeline entity kind.
fn conll04_kind(kind: &EntityKind) -> &'static str {
    match kind {
        EntityKind::Person => "Peop",
        EntityKind::Organization => "Org",
        k if k.is_place() => "Loc",
        _ => "Other",
    }
}

/// The pipeline entity kind of a CoNLL04 entity type.
fn entity_kind(conll04: &str) -> EntityKind {
    match conll04 {
        "Peop" => EntityKind::Person,
        "Org" => EntityKind::Organization,
        "Loc" => EntityKind::Location,
        _ => EntityKind::Misc,
    }
}

fn run_conll04(args: &Args, file: &Path, model: &RelationModel) -> Result<()> {
    let sentences = conll04::read(file)?;
    let started = Instant::now();
    let mut out = match &args.predictions {
        Some(p) => Some(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?,
        )),
        None => None,
    };
    let out = out.as_mut().map(|o| o as &mut dyn Write);
    let mut scores = conll04::Scores::default();
    let count = if args.gold_entities {
        conll04_gold(args, &sentences, model, &mut scores, out)?
    } else {
        conll04_end_to_end(args, &sentences, &mut scores, out)?
    };
    println!(
        "{:<12} {:>9} {:>9} {:>9} {:>6} {:>6}",
        "type", "precision", "recall", "f1", "gold", "pred"
    );
    for (name, p, r, f, g, n) in scores.per_type() {
        println!(
            "{name:<12} {:>9.2} {:>9.2} {:>9.2} {g:>6} {n:>6}",
            p * 100.0,
            r * 100.0,
            f * 100.0,
        );
    }
    let (ap, ar, af) = scores.micro(|_| true);
    let (mp, mr, mf) = scores.mapped();
    let what = if args.gold_entities {
        "pairs"
    } else {
        "entities"
    };
    println!(
        "\nthe four mapped types: P {:.2} R {:.2} F1 {:.2}; all five (Kill has no class): P {:.2} R {:.2} F1 {:.2} ({} sentences, {count} {what}, {:.1} s)",
        mp * 100.0, mr * 100.0, mf * 100.0, ap * 100.0, ar * 100.0, af * 100.0, sentences.len(), started.elapsed().as_secs_f64()
    );
    summary(
        args,
        file,
        model,
        serde_json::json!({
            "sentences": sentences.len(),
            "mode": if args.gold_entities { "gold-entities" } else { "end-to-end" },
            "threshold": args.threshold,
            "f1_mapped_types": percent(mf),
            "f1_all_types": percent(af),
        }),
    );
    Ok(())
}

/// Relations among each sentence's gold entities (every pair, kinds from the gold types);
/// returns the number of pairs.
fn conll04_gold(
    args: &Args,
    sentences: &[conll04::Sentence],
    model: &RelationModel,
    scores: &mut conll04::Scores,
    mut out: Option<&mut dyn Write>,
) -> Result<usize> {
    let mut count = 0;
    for (index, s) in sentences.iter().enumerate() {
        let (text, spans) = s.text_and_spans()?;
        let (mut index_pairs, mut pairs, mut kinds) = (Vec::new(), Vec::new(), Vec::new());
        for i in 0..spans.len() {
            for j in i + 1..spans.len() {
                index_pairs.push((i, j));
                pairs.push(Pair {
                    text: &text,
                    e1: spans[i],
                    e2: spans[j],
                });
                kinds.push((
                    entity_kind(&s.entities[i].kind),
                    entity_kind(&s.entities[j].kind),
                ));
            }
        }
        count += pairs.len();
        let predictions = model.predict_typed(&pairs, &kinds, args.threshold)?;
        let answers: Vec<_> = index_pairs
            .iter()
            .zip(&predictions)
            .map(|(&(i, j), p)| (i, j, p.relation))
            .collect();
        scores.add(&conll04::predicted(s, answers.iter().copied()), &s.gold());
        if let Some(out) = out.as_mut() {
            let kbp: Vec<_> = answers
                .iter()
                .filter_map(|&(i, j, d)| {
                    let d = d?;
                    let (head, tail) = if d.reversed { (j, i) } else { (i, j) };
                    Some(serde_json::json!({"relation": d.kind.as_str(), "head": head, "tail": tail}))
                })
                .collect();
            writeln!(
                out,
                "{}",
                serde_json::json!({"index": index, "relations": kbp})
            )?;
        }
    }
    Ok(count)
}

/// End to end: entities, clusters and relations from the pipeline on each sentence's text; a
/// relation is right when its type and both ends' text match a gold relation. Returns the
/// number of entities the pipeline found.
fn conll04_end_to_end(
    args: &Args,
    sentences: &[conll04::Sentence],
    scores: &mut conll04::Scores,
    mut out: Option<&mut dyn Write>,
) -> Result<usize> {
    let pipeline = Pipeline::load(&args.ner_model, end_to_end_options(args))
        .with_context(|| format!("loading {}", args.ner_model.display()))?;
    let texts = sentences
        .iter()
        .map(|s| s.text_and_spans())
        .collect::<newsgraph::Result<Vec<_>>>()?;
    let articles: Vec<Article> = texts
        .iter()
        .enumerate()
        .map(|(i, (t, _))| Article::new(i.to_string(), t.clone()))
        .collect();
    let mut count = 0;
    // The pipeline's entities against the gold ones (Peop, Org, Loc; exact span and type):
    // correct, gold, predicted. End to end cannot find a relation whose ends are missed here.
    let mut entities = (0, 0, 0);
    for ((index, s), doc) in sentences
        .iter()
        .enumerate()
        .zip(pipeline.process(&articles))
    {
        let doc = doc?;
        let (text, spans) = &texts[index];
        let (predicted, lines) = mapped_relations(&doc);
        let span_text = |i: usize| text[spans[i].0..spans[i].1].to_string();
        let gold: std::collections::BTreeSet<(String, String, String)> = s
            .relations
            .iter()
            .map(|g| (g.kind.clone(), span_text(g.head), span_text(g.tail)))
            .collect();
        scores.add(&predicted, &gold);
        count += doc.entities.len();
        let (correct, gold, found) = entity_matches(s, spans, &doc);
        entities = (entities.0 + correct, entities.1 + gold, entities.2 + found);
        if let Some(out) = out.as_mut() {
            writeln!(
                out,
                "{}",
                serde_json::json!({"index": index, "relations": lines})
            )?;
        }
    }
    print_entity_scores(entities);
    Ok(count)
}

/// The pipeline of the end-to-end run: the NER model's, with the relation settings of `args`.
fn end_to_end_options(args: &Args) -> PipelineOptions {
    let defaults = PipelineOptions::default();
    PipelineOptions::default()
        .engine(args.engine)
        .relation_threshold(args.threshold)
        .relation_context(args.context.or(defaults.relation_context))
        .relation_max_span(args.max_span.or(defaults.relation_max_span))
        .relation_partners(args.partners.unwrap_or(defaults.relation_partners))
        .relation_rules(args.relations != "model")
        .relation_model(match args.relations.as_str() {
            "rules" => None,
            _ => Some(args.model.clone()),
        })
}

/// Prints the entity line of the end-to-end run from (correct, gold, found).
fn print_entity_scores((correct, gold, found): (usize, usize, usize)) {
    let c = Counts {
        correct,
        predicted: found,
        gold,
    };
    println!(
        "entities (Peop, Org, Loc; exact span and type): P {:.2} R {:.2} F1 {:.2} ({gold} gold, {found} found)",
        c.precision() * 100.0,
        c.recall() * 100.0,
        c.f1() * 100.0,
    );
}

/// The pipeline's Peop / Org / Loc entities against the gold ones (exact span and type):
/// correct, gold, found.
fn entity_matches(
    s: &conll04::Sentence,
    spans: &[(usize, usize)],
    doc: &newsgraph::Document,
) -> (usize, usize, usize) {
    let gold: std::collections::BTreeSet<_> = s
        .entities
        .iter()
        .zip(spans)
        .filter(|(e, _)| e.kind != "Other")
        .map(|(e, &(a, b))| (a, b, e.kind.as_str()))
        .collect();
    let found: std::collections::BTreeSet<_> = doc
        .entities
        .iter()
        .map(|e| (e.start, e.end, conll04_kind(&e.kind)))
        .filter(|e| e.2 != "Other")
        .collect();
    (gold.intersection(&found).count(), gold.len(), found.len())
}

/// A document's relations that map to a CoNLL04 type, as (type, head text, tail text), and
/// all its relations as prediction lines.
fn mapped_relations(
    doc: &newsgraph::Document,
) -> (
    std::collections::BTreeSet<(String, String, String)>,
    Vec<serde_json::Value>,
) {
    let mut predicted = std::collections::BTreeSet::new();
    let mut lines = Vec::new();
    for r in &doc.relations {
        let kind = |c: usize| doc.clusters.get(c).map(|c| conll04_kind(&c.kind));
        let (Some(sk), Some(ok)) = (kind(r.head), r.tail.and_then(kind)) else {
            continue;
        };
        let Some((name, swap)) = conll04::from_kbp(r.relation, sk, ok) else {
            continue;
        };
        let (h, t) = if swap {
            (&r.tail_text, &r.head_text)
        } else {
            (&r.head_text, &r.tail_text)
        };
        predicted.insert((name.to_string(), h.clone(), t.clone()));
        lines.push(serde_json::json!({"relation": r.relation.as_str(), "head": r.head_text, "tail": r.tail_text}));
    }
    (predicted, lines)
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
