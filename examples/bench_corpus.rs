//! Corpus benchmark: articles/s, words/s, window tokens/s and peak RSS over a directory of
//! articles, for each engine, batch size, worker count and engine thread count asked for; the
//! last line is JSON.
//!
//! ```text
//! cargo run --release --example bench_corpus -- ../shared/corpus/bbc --limit 300 \
//!     --engine-threads 1,2 --batch 8,16,32 --engine onnx-int8,onnx --relations model,rules
//! ```
use anyhow::{bail, Result};
use clap::Parser;
use newsgraph::{Article, Engine, Pipeline, PipelineOptions};
use std::path::PathBuf;
use std::time::Instant;

#[derive(Parser)]
#[command(about = "Throughput of the newsgraph pipeline over a corpus")]
struct Args {
    /// Directory of .txt articles (or any PATH extract accepts).
    corpus: PathBuf,
    /// Model folder; default: the shipped newsgraph model.
    #[arg(long)]
    model: Option<PathBuf>,
    /// Use the first N articles (sorted by path); 0 = all.
    #[arg(long, default_value_t = 0)]
    limit: usize,
    /// Worker-thread counts to measure, comma-separated.
    #[arg(long, default_values_t = [PipelineOptions::default().threads], value_delimiter = ',')]
    threads: Vec<usize>,
    /// Batch sizes to measure, comma-separated.
    #[arg(long, default_values_t = [PipelineOptions::default().batch_size], value_delimiter = ',')]
    batch: Vec<usize>,
    /// Engine threads per forward pass to measure, comma-separated (0 = one per core).
    #[arg(long, default_values_t = [PipelineOptions::default().engine_threads], value_delimiter = ',')]
    engine_threads: Vec<usize>,
    /// Tokens shared by neighbouring windows (default: a sixteenth of the window).
    #[arg(long)]
    overlap: Option<usize>,
    /// Forward-pass engines to measure, comma-separated.
    #[arg(long, default_values_t = [PipelineOptions::default().engine], value_delimiter = ',')]
    engine: Vec<Engine>,
    /// Relation sources to measure, comma-separated: `model` (the learned model and the
    /// rules: the default pipeline) or `rules` (rules only).
    #[arg(long, default_value = "model", value_delimiter = ',', value_parser = ["model", "rules"])]
    relations: Vec<String>,
    /// The relation model folder `model` runs (default: the shipped one).
    #[arg(long)]
    relation_model: Option<PathBuf>,
    /// Tokens of context the relation model sees on each side of a pair (default: the
    /// pipeline's; 0 … 512).
    #[arg(long)]
    relation_context: Option<usize>,
    /// Pairs spanning more tokens are not classified (default: the pipeline's).
    #[arg(long)]
    relation_max_span: Option<usize>,
    /// Timed runs per configuration (the median is reported).
    #[arg(long, default_value_t = 3)]
    repeat: usize,
}

/// Peak resident memory of this process in bytes (Linux), since the last reset.
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Full windows of pseudo-random token ids (a fixed-seed LCG; ids below 30,000).
fn random_batch(rows: usize, len: usize, seed: u64) -> newsgraph::model::EncoderInput {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut input = newsgraph::model::EncoderInput::new(rows, len);
    for id in &mut input.ids {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        *id = ((x >> 33) % 30_000) as i32;
    }
    input.mask.fill(1);
    input
}

/// Pure forward throughput of the engine: full windows (batch × window), no tokenization,
/// no padding, no decoding, on `threads` workers as the pipeline runs them.
fn forward_tokens_per_s(pipeline: &Pipeline, threads: usize, batch: usize) -> Result<f64> {
    use rayon::prelude::*;
    let seq = pipeline.window_len();
    let workers = if threads == 0 {
        rayon::current_num_threads()
    } else {
        threads
    };
    let passes = 8 * workers;
    let run = |n: usize| -> Result<f64> {
        let t = Instant::now();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(workers)
            .build()?;
        pool.install(|| {
            (0..n).into_par_iter().try_for_each(|pass| -> Result<()> {
                let input = random_batch(batch, seq, pass as u64);
                let _probs = pipeline.probs(&input)?;
                Ok(())
            })
        })?;
        Ok(t.elapsed().as_secs_f64())
    };
    run(workers)?; // warm-up
    let secs = run(passes)?;
    Ok((passes * batch) as f64 * seq as f64 / secs)
}

fn main() -> Result<()> {
    let args = Args::parse();
    let model_dir = args
        .model
        .clone()
        .unwrap_or_else(newsgraph::default_model_dir);
    let mut articles: Vec<Article> =
        newsgraph::input::read_path(&args.corpus).collect::<Result<_, _>>()?;
    if args.limit > 0 {
        articles.truncate(args.limit);
    }
    if articles.is_empty() {
        bail!("no articles in {}", args.corpus.display());
    }
    let words: usize = articles
        .iter()
        .map(|a| a.text.split_whitespace().count())
        .sum();
    let mut results = Vec::new();
    for (engine, relations) in args
        .engine
        .iter()
        .flat_map(|&e| args.relations.iter().map(move |r| (e, r)))
    {
        for &batch in &args.batch {
            for (&threads, &engine_threads) in args
                .threads
                .iter()
                .flat_map(|t| args.engine_threads.iter().map(move |e| (t, e)))
            {
                let run = Run {
                    engine,
                    relations,
                    batch,
                    threads,
                    engine_threads,
                };
                let pipeline = Pipeline::load(&model_dir, run.options(&args))?;
                let r = measure(&pipeline, &run, &articles, words, args.repeat)?;
                eprintln!("{r}");
                results.push(r);
            }
        }
    }
    println!(
        "{}",
        serde_json::json!({"corpus": args.corpus.display().to_string(), "model": model_dir.display().to_string(),
            "words": words, "runs": results})
    );
    Ok(())
}

/// One configuration measured.
struct Run<'a> {
    engine: Engine,
    relations: &'a str,
    batch: usize,
    threads: usize,
    engine_threads: usize,
}

impl Run<'_> {
    fn options(&self, args: &Args) -> PipelineOptions {
        let options = PipelineOptions::default()
            .batch_size(self.batch)
            .threads(self.threads)
            .engine_threads(self.engine_threads)
            .engine(self.engine)
            .overlap(args.overlap)
            .relation_model((self.relations == "model").then(|| {
                args.relation_model
                    .clone()
                    .unwrap_or_else(newsgraph::default_relation_model_dir)
            }));
        let context = args.relation_context.or(options.relation_context);
        let max_span = args.relation_max_span.or(options.relation_max_span);
        options
            .relation_context(context)
            .relation_max_span(max_span)
    }
}

/// The median of `repeat` timed runs over the articles (after a warm-up), with the window
/// statistics, the forward pass alone and the peak memory, as one JSON object.
fn measure(
    pipeline: &Pipeline,
    run: &Run,
    articles: &[Article],
    words: usize,
    repeat: usize,
) -> Result<serde_json::Value> {
    let stats = pipeline.window_stats(articles)?;
    let forward = forward_tokens_per_s(pipeline, run.threads, run.batch)?;
    pipeline.process(&articles[..articles.len().min(8)]); // warm-up
    reset_peak_rss();
    let mut times = Vec::new();
    for _ in 0..repeat.max(1) {
        let t = Instant::now();
        let out = pipeline.process(articles);
        times.push(t.elapsed().as_secs_f64());
        if let Some(Err(e)) = out.into_iter().find(Result::is_err) {
            bail!("an article failed: {e}");
        }
    }
    times.sort_by(f64::total_cmp);
    let secs = times[times.len() / 2];
    Ok(serde_json::json!({
        "engine": pipeline.model().engine().as_str(),
        "relations": run.relations,
        "threads": run.threads,
        "engine_threads": run.engine_threads,
        "batch": run.batch,
        "articles": articles.len(),
        "seconds": (secs * 1000.0).round() / 1000.0,
        "articles_per_s": (articles.len() as f64 / secs * 10.0).round() / 10.0,
        "words_per_s": (words as f64 / secs).round(),
        "window_tokens_per_s": (stats.tokens as f64 / secs).round(),
        "forward_only_tokens_per_s": forward.round(),
        "end_to_end_vs_forward": ((stats.tokens as f64 / secs) / forward * 1000.0).round() / 1000.0,
        "window_tokens": stats.tokens,
        "padded_tokens": stats.padded_tokens,
        "windows": stats.windows,
        "peak_rss_mb": peak_rss().map(|b| b / (1 << 20)),
    }))
}
