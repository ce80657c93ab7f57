//! Command-line settings shared by the examples that run the pipeline.
// Each example is its own crate and uses part of this module.
#![allow(dead_code)]
use clap::Args;
use newsgraph::{Aggregation, Decoding, Engine, PipelineOptions};
use std::path::PathBuf;

/// The library's defaults: every default below is read from here, never restated.
fn defaults() -> PipelineOptions {
    PipelineOptions::default()
}

/// The model and pipeline settings of `extract` and `evaluate`.
#[derive(Args)]
pub struct PipelineArgs {
    /// Model folder (Hugging Face layout); default: the shipped newsgraph model.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Windows per forward pass.
    #[arg(long, default_value_t = defaults().batch_size)]
    pub batch: usize,
    /// Worker threads (0 = one per core).
    #[arg(long, default_value_t = defaults().threads)]
    pub threads: usize,
    /// Engine threads per forward pass (0 = one per core).
    #[arg(long, default_value_t = defaults().engine_threads)]
    pub engine_threads: usize,
    /// Tokens shared by neighbouring windows (default: a sixteenth of the window).
    #[arg(long)]
    pub overlap: Option<usize>,
    /// Word-level aggregation of sub-token scores: first, average or max (default: first).
    #[arg(long)]
    pub aggregation: Option<Aggregation>,
    /// Word labels: viterbi (the best sequence the label scheme allows) or greedy (each word's
    /// most probable label). Default: viterbi.
    #[arg(long)]
    pub decoding: Option<Decoding>,
    /// Leave each mention's type as the model gave it (no per-article vote over one name's
    /// mentions).
    #[arg(long)]
    pub no_type_vote: bool,
    /// Forward-pass engine: auto, onnx-int8, onnx-int8-rows, onnx, onnx-file or rust-bert (feature `torch`).
    #[arg(long, default_value_t = defaults().engine)]
    pub engine: Engine,
    /// Relation model folder; default: the shipped one.
    #[arg(long, conflicts_with = "no_relation_model")]
    pub relation_model: Option<PathBuf>,
    /// Relations from the rules only (no relation model: faster).
    #[arg(long)]
    pub no_relation_model: bool,
    /// Nearest partners per mention for the relation candidates.
    #[arg(long, default_value_t = defaults().relation_partners)]
    pub relation_partners: usize,
    /// A learned relation is kept from this probability on.
    #[arg(long, default_value_t = defaults().relation_threshold)]
    pub relation_threshold: f32,
}

impl PipelineArgs {
    /// The model folder to load.
    pub fn model_dir(&self) -> PathBuf {
        self.model
            .clone()
            .unwrap_or_else(newsgraph::default_model_dir)
    }

    /// The pipeline settings.
    pub fn options(&self) -> PipelineOptions {
        let d = defaults();
        let (aggregation, decoding) = (d.aggregation, d.decoding);
        d.batch_size(self.batch)
            .threads(self.threads)
            .engine_threads(self.engine_threads)
            .overlap(self.overlap)
            .aggregation(self.aggregation.unwrap_or(aggregation))
            .decoding(self.decoding.unwrap_or(decoding))
            .type_vote(!self.no_type_vote)
            .engine(self.engine)
            .relation_threshold(self.relation_threshold)
            .relation_partners(self.relation_partners)
            .relation_model(if self.no_relation_model {
                None
            } else {
                Some(
                    self.relation_model
                        .clone()
                        .unwrap_or_else(newsgraph::default_relation_model_dir),
                )
            })
    }
}

/// Runs the program with warnings (and `RUST_LOG`'s choice) logged to stderr, and ends it on
/// an error as one line (`error: ` and the causes, no backtrace) with exit code 2; the
/// program's own exit codes (1: some articles failed) stay apart.
pub fn exit_on_error(run: impl FnOnce() -> anyhow::Result<()>) {
    let _ = env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn"))
        .try_init();
    if let Err(e) = run() {
        eprintln!("error: {e:#}");
        std::process::exit(2);
    }
}

/// Knowledge distillation settings of `train_ner` and `train_relations`.
#[derive(Args)]
pub struct DistillArgs {
    /// A trained model of the same task to distil from (its label distributions join the loss).
    /// NER: it must have the student's labels and word pieces (e.g. an MPNet model for a MiniLM
    /// student).
    #[arg(long)]
    pub teacher: Option<PathBuf>,
    /// The teacher term's share of the loss (with --teacher).
    #[arg(long, default_value_t = 0.5)]
    pub distill_weight: f64,
    /// Softmax temperature of the distillation term (with --teacher).
    #[arg(long, default_value_t = 2.0)]
    pub distill_temperature: f64,
}

#[cfg(feature = "torch")]
impl DistillArgs {
    /// The distillation settings, when a teacher is given.
    pub fn distill(&self) -> Option<newsgraph::training::ner::Distill> {
        self.teacher
            .clone()
            .map(|model| newsgraph::training::ner::Distill {
                model,
                weight: self.distill_weight,
                temperature: self.distill_temperature,
            })
    }
}
