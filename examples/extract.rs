//! Extracts entities from articles and writes one JSON line per article to stdout.
//!
//! ```text
//! cargo run --release --example extract -- examples/articles
//! cargo run --release --example extract -- --model DIR --batch 32 --threads 2 a.txt dir/ -
//! cargo run --release --example extract -- --html out.html examples/articles
//! ```
//! PATH is a text file, a directory tree of `.txt` files, a `.jsonl` file, or `-` for JSON Lines
//! on stdin. Failed inputs are named on stderr and make the exit code 1; the other articles'
//! results are still written. With `--html OUT.html`, the documents are also written as one page
//! to look at (entities, clusters, relations, quotes, dates; an index of the articles).
mod common;

use anyhow::Result;
use clap::Parser;
use common::PipelineArgs;
use indicatif::{ProgressBar, ProgressStyle};
use newsgraph::{Document, HtmlWriter, Pipeline};
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Parser)]
#[command(about = "Typed entities from news articles, as JSON Lines")]
struct Args {
    #[command(flatten)]
    pipeline: PipelineArgs,
    /// Also write the documents as one self-contained HTML page to this file.
    #[arg(long, value_name = "OUT.html")]
    html: Option<PathBuf>,
    /// Files, directories, `.jsonl` files, or `-` (JSON Lines on stdin).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
}

fn main() {
    common::exit_on_error(run);
}

fn run() -> Result<()> {
    let args = Args::parse();
    let started = Instant::now();
    let model = args.pipeline.model_dir();
    let pipeline = Pipeline::load(&model, args.pipeline.options())?;
    let engine = pipeline.engine();
    // Inputs are read lazily; a bad file or line is reported and counted, and costs nothing else.
    let read_failures = Cell::new(0usize);
    // The HTML page needs each article's text next to its document: the stream yields one
    // result per article in input order, so the texts wait in a queue.
    let mut html = args.html.as_ref().map(HtmlWriter::create).transpose()?;
    let texts: RefCell<VecDeque<(String, String)>> = RefCell::default();
    let keep_texts = html.is_some();
    let articles = newsgraph::input::read_paths(args.paths.clone()).filter_map(|item| match item {
        Ok(a) => {
            if keep_texts {
                texts.borrow_mut().push_back((a.id.clone(), a.text.clone()));
            }
            Some(a)
        }
        Err(e) => {
            read_failures.set(read_failures.get() + 1);
            eprintln!("error: {e}");
            None
        }
    });
    let bar = ProgressBar::new_spinner();
    bar.set_style(ProgressStyle::with_template(
        "{spinner} {pos} articles ({per_sec}, {elapsed})",
    )?);
    let mut out = std::io::stdout().lock();
    let mut tally = Tally::default();
    // Each line is written (and flushed) as soon as it and all earlier articles are done, so
    // a crash, a kill or Ctrl-C keeps every result computed so far.
    for result in pipeline.stream(articles) {
        let text = if keep_texts {
            texts.borrow_mut().pop_front()
        } else {
            None
        };
        write_result(result, text, &mut out, html.as_mut(), &bar, &mut tally)?;
        bar.inc(1);
    }
    bar.finish_and_clear();
    if let Some(html) = html {
        let path = html.finish()?;
        eprintln!("wrote {}", path.display());
    }
    let Tally {
        done,
        entities,
        failed,
        limited,
    } = tally;
    let failed = failed + read_failures.get();
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "{done} articles, {entities} entities, {failed} failed, {limited} bounded (see \"limits\"), {secs:.2} s, {:.1} articles/s, engine {}",
        done as f64 / secs.max(1e-9),
        engine.as_str()
    );
    if failed > 0 {
        std::process::exit(1);
    }
    Ok(())
}

/// What a run has written: articles, their entities, the articles that failed, and those
/// where a stage's bound left work out (named in their `limits`).
#[derive(Default)]
struct Tally {
    done: usize,
    entities: usize,
    failed: usize,
    limited: usize,
}

/// One article's result: its JSON line (flushed at once) and its part of the HTML page (with
/// `text`, the article's id and text); an error is reported on stderr, in the page and counted.
fn write_result(
    result: newsgraph::Result<Document>,
    text: Option<(String, String)>,
    out: &mut impl Write,
    html: Option<&mut HtmlWriter>,
    bar: &ProgressBar,
    tally: &mut Tally,
) -> Result<()> {
    match result {
        Ok(doc) => {
            tally.entities += doc.entities.len();
            tally.done += 1;
            tally.limited += usize::from(!doc.limits.is_empty());
            writeln!(out, "{}", doc.to_json_line())?;
            out.flush()?;
            if let (Some(html), Some((id, text))) = (html, &text) {
                anyhow::ensure!(
                    *id == doc.id,
                    "internal error: document {} came for article {id}",
                    doc.id
                );
                html.add(text, &doc)?;
            }
        }
        Err(e) => {
            tally.failed += 1;
            bar.suspend(|| eprintln!("error: {e}"));
            if let (Some(html), Some((id, _))) = (html, &text) {
                html.add_error(id, &e.to_string())?;
            }
        }
    }
    Ok(())
}
