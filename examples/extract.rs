//! Extracts entities from articles and writes one JSON line per article to stdout.
//!
//! ```text
//! cargo run --release --example extract -- examples/articles
//! cargo run --release --example extract -- --model DIR --batch 32 --threads 2 a.txt dir/ -
//! ```
//! PATH is a text file, a directory tree of `.txt` files, a `.jsonl` file, or `-` for JSON Lines
//! on stdin. Failed inputs are named on stderr and make the exit code 1; the other articles'
//! results are still written.
mod common;

use anyhow::Result;
use clap::Parser;
use common::PipelineArgs;
use indicatif::{ProgressBar, ProgressStyle};
use newsgraph::Pipeline;
use std::cell::Cell;
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Parser)]
#[command(about = "Typed entities from news articles, as JSON Lines")]
struct Args {
    #[command(flatten)]
    pipeline: PipelineArgs,
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
    let articles = newsgraph::input::read_paths(args.paths.clone()).filter_map(|item| match item {
        Ok(a) => Some(a),
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
    let (mut done, mut entities, mut failed) = (0usize, 0usize, 0usize);
    // Each line is written (and flushed) as soon as it and all earlier articles are done, so
    // a crash, a kill or Ctrl-C keeps every result computed so far.
    for result in pipeline.stream(articles) {
        match result {
            Ok(doc) => {
                entities += doc.entities.len();
                done += 1;
                writeln!(out, "{}", doc.to_json_line())?;
                out.flush()?;
            }
            Err(e) => {
                failed += 1;
                bar.suspend(|| eprintln!("error: {e}"));
            }
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    let failed = failed + read_failures.get();
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "{done} articles, {entities} entities, {failed} failed, {secs:.2} s, {:.1} articles/s, engine {}",
        done as f64 / secs.max(1e-9),
        engine.as_str()
    );
    if failed > 0 {
        std::process::exit(1);
    }
    Ok(())
}
