//! Scaling benchmark: made list articles of growing length, each one sentence that lists N
//! people with their organization and city ("The honours list published on Friday includes
//! Anna Berg of Northwind Bank in Leeds, …"), timed with and without the relation model. One
//! line per length with seconds per article (and for its HTML view) and the growth of the
//! time per item against the length before (1.00: linear), so that superlinear growth shows
//! in a number; the last line is JSON.
//!
//! ```text
//! cargo run --release --example bench_scaling -- --items 100,200,400,800,1600,3200
//! ```
mod common;

use anyhow::{bail, Result};
use clap::Parser;
use newsgraph::{Article, Pipeline, PipelineOptions};
use std::path::PathBuf;
use std::time::Instant;

#[derive(Parser)]
#[command(about = "Time per article of newsgraph on list articles of growing length")]
struct Args {
    /// List lengths (items: a person, an organization and a city each), comma-separated.
    #[arg(long, default_values_t = [100, 200, 400, 800, 1600, 3200], value_delimiter = ',')]
    items: Vec<usize>,
    /// Timed runs per article and setting (the median is reported).
    #[arg(long, default_value_t = 1)]
    repeat: usize,
    /// Model folder; default: the shipped newsgraph model.
    #[arg(long)]
    model: Option<PathBuf>,
    /// Relation model folder; default: the shipped one.
    #[arg(long)]
    relation_model: Option<PathBuf>,
    /// Nearest partners per mention for the relation candidates (default: the pipeline's).
    #[arg(long)]
    relation_partners: Option<usize>,
}

const FIRST: [&str; 20] = [
    "Anna", "Ben", "Clara", "David", "Emma", "Farid", "Grace", "Hugo", "Irene", "James", "Karen",
    "Liam", "Maria", "Nadia", "Oliver", "Priya", "Quentin", "Rosa", "Samuel", "Tara",
];
const LAST: [&str; 20] = [
    "Berg", "Carter", "Dalton", "Evans", "Fischer", "Garcia", "Hughes", "Ibrahim", "Jensen",
    "Kowalski", "Lopez", "Murphy", "Nakamura", "Okafor", "Patel", "Quinn", "Rossi", "Schmidt",
    "Turner", "Walsh",
];
const ORGS: [&str; 12] = [
    "Northwind Bank",
    "the Royal Society",
    "Oxfam",
    "the University of Leeds",
    "Rolls-Royce",
    "the BBC",
    "Unilever",
    "the National Trust",
    "Barclays",
    "the Met Office",
    "Vodafone",
    "Cancer Research UK",
];
const CITIES: [&str; 13] = [
    "Leeds",
    "Glasgow",
    "Cardiff",
    "Belfast",
    "Bristol",
    "Manchester",
    "London",
    "York",
    "Liverpool",
    "Leicester",
    "Aberdeen",
    "Norwich",
    "Exeter",
];

/// A one-sentence list article of `n` items, the same for every run.
fn list_article(n: usize) -> Article {
    let items: Vec<String> = (0..n)
        .map(|i| {
            format!(
                "{} {} of {} in {}",
                FIRST[i % FIRST.len()],
                LAST[(i / FIRST.len() + i) % LAST.len()],
                ORGS[i % ORGS.len()],
                CITIES[i % CITIES.len()]
            )
        })
        .collect();
    let text = format!(
        "Honours list\n\nThe honours list published on Friday includes {}.\n",
        items.join(", ")
    );
    Article::new(format!("list-{n}"), text)
}

/// What one setting measured on one article: median seconds of the pipeline, of the HTML
/// view, and the document's entity and relation counts.
struct Timed {
    seconds: f64,
    html_seconds: f64,
    entities: usize,
    relations: usize,
}

/// The medians of `repeat` runs of the pipeline over one article and of its HTML view.
fn time(pipeline: &Pipeline, article: &Article, repeat: usize) -> Result<Timed> {
    let (mut times, mut html) = (Vec::new(), Vec::new());
    let mut counts = (0, 0);
    for _ in 0..repeat.max(1) {
        let t = Instant::now();
        let doc = pipeline.process(std::slice::from_ref(article)).remove(0)?;
        times.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        doc.to_html(&article.text)?;
        html.push(t.elapsed().as_secs_f64());
        counts = (doc.entities.len(), doc.relations.len());
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    Ok(Timed {
        seconds: median(times),
        html_seconds: median(html),
        entities: counts.0,
        relations: counts.1,
    })
}

fn main() {
    common::exit_on_error(run);
}

fn run() -> Result<()> {
    let args = Args::parse();
    if args.items.is_empty() {
        bail!("--items: give at least one length");
    }
    let model = args
        .model
        .clone()
        .unwrap_or_else(newsgraph::default_model_dir);
    let relation_model = args
        .relation_model
        .clone()
        .unwrap_or_else(newsgraph::default_relation_model_dir);
    let defaults = PipelineOptions::default();
    let partners = args.relation_partners.unwrap_or(defaults.relation_partners);
    let with = Pipeline::load(
        &model,
        defaults
            .relation_model(relation_model)
            .relation_partners(partners),
    )?;
    let without = Pipeline::load(&model, PipelineOptions::default().relation_model(None))?;
    with.process(&[list_article(20)]); // warm-up
    without.process(&[list_article(20)]);
    println!("items  entities  relations  s with  s without  with/without  growth with  growth without  s html");
    let mut rows = Vec::new();
    let mut previous: Option<(usize, f64, f64)> = None;
    for &n in &args.items {
        let article = list_article(n);
        let w = time(&with, &article, args.repeat)?;
        let (s_with, entities, relations) = (w.seconds, w.entities, w.relations);
        let s_without = time(&without, &article, args.repeat)?.seconds;
        // Time per item grows by this factor against the length before (1.0: linear).
        let growth = |now: f64, before: f64, m: usize| now / before * m as f64 / n as f64;
        let (g_with, g_without) = match previous {
            Some((m, w, wo)) => (growth(s_with, w, m), growth(s_without, wo, m)),
            None => (f64::NAN, f64::NAN),
        };
        println!(
            "{n:>5}  {entities:>8}  {relations:>9}  {s_with:>6.2}  {s_without:>9.2}  {:>12.2}  {g_with:>11.2}  {g_without:>14.2}  {:>6.3}",
            s_with / s_without,
            w.html_seconds
        );
        rows.push(serde_json::json!({
            "items": n, "bytes": article.text.len(), "entities": entities, "relations": relations,
            "seconds_with_relations": (s_with * 1000.0).round() / 1000.0,
            "seconds_without_relations": (s_without * 1000.0).round() / 1000.0,
            "seconds_html": (w.html_seconds * 1000.0).round() / 1000.0,
        }));
        previous = Some((n, s_with, s_without));
    }
    println!(
        "{}",
        serde_json::json!({"model": model.display().to_string(), "repeat": args.repeat, "runs": rows})
    );
    Ok(())
}
