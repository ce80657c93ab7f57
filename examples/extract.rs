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

fn main() -> Result<()> {
    let args = Args::parse();
    let started = Instant::now();
    let model = args.pipeline.model_dir();
    let pipeline = Pipeline::load(&model, args.pipeline.options())?;
    let mut failed = 0usize;
    let mut articles = Vec::new();
    for path in &args.paths {
        for item in newsgraph::input::read_path(path) {
            match item {
                Ok(a) => articles.push(a),
                Err(e) => {
                    failed += 1;
                    eprintln!("error: {e}");
                }
            }
        }
    }
    let bar = ProgressBar::new(articles.len() as u64);
    bar.set_style(ProgressStyle::with_template(
        "[{bar:30}] {pos}/{len} articles ({per_sec}, eta {eta})",
    )?);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let (mut done, mut entities) = (0usize, 0usize);
    // Chunks keep memory bounded and the progress bar moving; each chunk is one parallel call.
    for chunk in articles.chunks(256) {
        for (article, result) in chunk.iter().zip(pipeline.process(chunk)) {
            match result {
                Ok(doc) => {
                    entities += doc.entities.len();
                    done += 1;
                    writeln!(out, "{}", doc.to_json_line())?;
                }
                Err(e) => {
                    failed += 1;
                    bar.suspend(|| eprintln!("error: {}: {e}", article.id));
                }
            }
        }
        bar.inc(chunk.len() as u64);
    }
    out.flush()?;
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "{done} articles, {entities} entities, {failed} failed, {secs:.2} s, {:.1} articles/s",
        done as f64 / secs.max(1e-9)
    );
    if failed > 0 {
        std::process::exit(1);
    }
    Ok(())
}
