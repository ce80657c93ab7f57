//! Fine-tuning a token-classification model on CoNLL-format data, in Rust with tch.
//!
//! Training sees text the way [`Pipeline`] does: each document is laid out as text
//! ([`ConllDocument::text`]), tokenized with the model's tokenizer and cut into the same
//! overlapping windows ([`crate::segment::windows`]), so neighbouring sentences give context.
//! The loss is taken on the first sub-token of each word that the window *owns*. Words are
//! the tokenizer's words; a CoNLL token split into several words ("U.S.") gives its label to
//! the first and `I-` to the rest, as the pipeline will read them back.

use crate::conll::ConllDocument;
use crate::decode::LabelSet;
use crate::error::{Error, Result};
use crate::eval::{chunks, evaluate, Scores};
use crate::model::torch::{Missing, TorchModel};
use crate::model::ModelConfig;
use crate::pipeline::{Pipeline, PipelineOptions};
use crate::segment::{cut_quality, sentence_starts, windows};
use crate::tokenize::TextTokenizer;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use std::path::{Path, PathBuf};
use std::time::Instant;
use tch::nn::OptimizerConfig;
use tch::{nn, Device, Kind, Tensor};

/// Settings of a training run.
#[derive(Debug, Clone)]
pub struct TrainConfig {
    /// Folder of the pretrained encoder (or of a token-classification model to continue).
    pub encoder: PathBuf,
    /// Training documents.
    pub train: Vec<ConllDocument>,
    /// Development documents, scored after each epoch; with [`Keep::BestDev`] they choose the epoch.
    pub dev: Vec<ConllDocument>,
    /// Held-out documents, scored after each epoch and never used to choose anything: the honest
    /// estimate of the run. May be empty.
    pub held_out: Vec<ConllDocument>,
    /// Which epoch's model is written to `out`.
    pub keep: Keep,
    /// Where the best model is written.
    pub out: PathBuf,
    /// Passes over the training data.
    pub epochs: usize,
    /// Windows per step.
    pub batch_size: usize,
    /// Peak learning rate.
    pub lr: f64,
    /// Fraction of steps with linear warm-up.
    pub warmup: f64,
    /// AdamW weight decay.
    pub weight_decay: f64,
    /// Window length in tokens, special tokens included (recorded in the model).
    pub window: usize,
    /// Seed for initialisation, dropout and shuffling.
    pub seed: u64,
    /// Adds a learned casing embedding.
    pub casing: bool,
    /// Where to train.
    pub device: Device,
    /// Stop each epoch after this many steps (for quick trials).
    pub max_steps_per_epoch: Option<usize>,
}

/// Which epoch's model a training run keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// The epoch with the best dev F1 (model selection on dev).
    BestDev,
    /// The last epoch: a fixed epoch count chosen beforehand, e.g. for a final model trained on
    /// train + dev, where dev can no longer choose.
    Last,
}

/// Progress of a training run, reported after every step.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    /// Epoch, from 1.
    pub epoch: usize,
    /// Step within the epoch, from 1.
    pub step: usize,
    /// Steps in an epoch.
    pub steps: usize,
    /// Mean loss over the epoch so far.
    pub loss: f64,
    /// Window tokens per second over the epoch so far.
    pub tokens_per_s: f64,
}

/// What a training run measured.
#[derive(Debug, Clone)]
pub struct TrainReport {
    /// Dev scores after each epoch (empty scores when there is no dev set).
    pub epochs: Vec<Scores>,
    /// Held-out scores after each epoch (empty when there are no held-out documents).
    pub held_out: Vec<Scores>,
    /// The epoch (from 1) whose model was kept.
    pub best_epoch: usize,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// One training window: ids with special tokens, casing classes, labels (-100 = no loss).
struct Example {
    ids: Vec<i64>,
    casing: Vec<i64>,
    labels: Vec<i64>,
}

/// Entity types in order of first appearance (CoNLL order PER, ORG, LOC, MISC varies).
fn entity_types(docs: &[ConllDocument]) -> Vec<String> {
    let mut types: Vec<String> = Vec::new();
    for s in docs.iter().flat_map(|d| &d.sentences) {
        for c in chunks(&s.tags) {
            if !types.contains(&c.typ) {
                types.push(c.typ);
            }
        }
    }
    types
}

fn examples(
    docs: &[ConllDocument],
    tok: &TextTokenizer,
    labels: &LabelSet,
    window: usize,
) -> Result<Vec<Example>> {
    let mut out = Vec::new();
    for doc in docs {
        let (text, spans) = doc.text();
        // Per CoNLL token (flattened): Some((chunk id, type)) when inside an entity.
        let mut token_spans = Vec::new();
        let mut token_chunk: Vec<Option<(usize, String)>> = Vec::new();
        let mut next_chunk = 0;
        for (s, sp) in doc.sentences.iter().zip(&spans) {
            let mut inside = vec![None; sp.len()];
            for c in chunks(&s.tags) {
                for slot in &mut inside[c.start..c.end] {
                    *slot = Some((next_chunk, c.typ.clone()));
                }
                next_chunk += 1;
            }
            token_spans.extend_from_slice(sp);
            token_chunk.extend(inside);
        }
        let tokens = tok.tokenize(&text)?;
        if tokens.is_empty() {
            continue;
        }
        // Label of each tokenizer word.
        let mut last_chunk = None;
        let word_label: Vec<i64> = tokens
            .words
            .iter()
            .map(|&(ws, _)| {
                let i = token_spans.partition_point(|&(_, e)| e <= ws);
                match token_chunk.get(i).cloned().flatten() {
                    Some((id, typ)) => {
                        let prefix = if last_chunk == Some(id) { "I" } else { "B" };
                        last_chunk = Some(id);
                        labels.id(&format!("{prefix}-{typ}")).unwrap_or(0) as i64
                    }
                    None => {
                        last_chunk = None;
                        0
                    }
                }
            })
            .collect();
        let cuts = cut_quality(&tokens.offsets, &tokens.word_of, &sentence_starts(&text));
        let max_len = window - 2;
        for w in windows(&cuts, max_len, max_len / 4) {
            let mut ex = Example {
                ids: vec![tok.cls_id() as i64],
                casing: vec![0],
                labels: vec![-100],
            };
            for i in w.start..w.end {
                let word = tokens.word_of[i] as usize;
                let first_of_word = i == 0 || tokens.word_of[i - 1] as usize != word;
                ex.ids.push(tokens.ids[i] as i64);
                ex.casing.push(tokens.casing[word] as i64);
                let owned = i >= w.own_start && i < w.own_end;
                ex.labels.push(if owned && first_of_word {
                    word_label[word]
                } else {
                    -100
                });
            }
            ex.ids.push(tok.sep_id() as i64);
            ex.casing.push(0);
            ex.labels.push(-100);
            out.push(ex);
        }
    }
    Ok(out)
}

fn batch_tensors(batch: &[&Example], pad: i64, device: Device) -> (Tensor, Tensor, Tensor, Tensor) {
    let t = batch.iter().map(|e| e.ids.len()).max().unwrap_or(0);
    let b = batch.len();
    let mut ids = vec![pad; b * t];
    let mut mask = vec![0i64; b * t];
    let mut casing = vec![0i64; b * t];
    let mut labels = vec![-100i64; b * t];
    for (r, e) in batch.iter().enumerate() {
        let n = e.ids.len();
        ids[r * t..r * t + n].copy_from_slice(&e.ids);
        mask[r * t..r * t + n].fill(1);
        casing[r * t..r * t + n].copy_from_slice(&e.casing);
        labels[r * t..r * t + n].copy_from_slice(&e.labels);
    }
    let shape = [b as i64, t as i64];
    let mk = |v: &[i64]| Tensor::from_slice(v).view(shape).to_device(device);
    (mk(&ids), mk(&mask), mk(&casing), mk(&labels))
}

/// Length-bucketed batches of at most `steps` × `batch` items: shuffled, sorted by length
/// within groups of 50 batches (little padding), and the batches shuffled again.
pub(crate) fn bucketed_batches<'a, T>(
    items: &'a [T],
    batch: usize,
    steps: usize,
    rng: &mut rand::rngs::StdRng,
    len: impl Fn(&T) -> usize,
) -> Vec<Vec<&'a T>> {
    let mut order: Vec<&T> = items.iter().collect();
    order.shuffle(rng);
    let mut batches: Vec<Vec<&T>> = Vec::new();
    for group in order.chunks(batch * 50) {
        let mut g = group.to_vec();
        g.sort_by_key(|e| len(e));
        batches.extend(g.chunks(batch).map(<[&T]>::to_vec));
    }
    batches.shuffle(rng);
    batches.truncate(steps);
    batches
}

/// The learning rate at `step` (from 1): linear warm-up to `peak` over `warmup` steps, then
/// linear decay to zero at `total`.
fn learning_rate(peak: f64, step: usize, warmup: f64, total: usize) -> f64 {
    let (s, t) = (step as f64, total as f64);
    if s < warmup {
        peak * s / warmup
    } else {
        peak * ((t - s) / (t - warmup)).max(0.0)
    }
}

/// Fine-tunes and keeps the model with the best dev F1 in `config.out` (weights as f16).
pub fn train(config: &TrainConfig, mut progress: impl FnMut(Progress)) -> Result<TrainReport> {
    let started = Instant::now();
    if config.window < 16 || config.batch_size == 0 || config.epochs == 0 {
        return Err(Error::Setting(
            "window must be at least 16, batch_size and epochs at least 1".into(),
        ));
    }
    tch::manual_seed(config.seed as i64);
    let types = entity_types(&config.train);
    let type_refs: Vec<&str> = types.iter().map(String::as_str).collect();
    let labels = LabelSet::bio(&type_refs);
    let tokenizer = TextTokenizer::from_dir(&config.encoder)?;
    let mut model = initial_model(config, &labels)?;

    let examples = examples(&config.train, &tokenizer, &labels, config.window)?;
    let steps_per_epoch = examples
        .len()
        .div_ceil(config.batch_size)
        .min(config.max_steps_per_epoch.unwrap_or(usize::MAX));
    let total_steps = steps_per_epoch * config.epochs;
    let mut step = Step {
        done: 0,
        total: total_steps,
        warmup: ((total_steps as f64) * config.warmup).max(1.0),
        pad: tokenizer.pad_id() as i64,
    };
    let mut opt = nn::AdamW {
        wd: config.weight_decay,
        ..Default::default()
    }
    .build(model.var_store(), config.lr)?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(config.seed);
    let mut report = TrainReport {
        epochs: Vec::new(),
        held_out: Vec::new(),
        best_epoch: 0,
        seconds: 0.0,
    };
    let mut best_f1 = -1.0;
    let scratch = config.out.with_extension("last");
    for epoch in 1..=config.epochs {
        let batches = bucketed_batches(
            &examples,
            config.batch_size,
            steps_per_epoch,
            &mut rng,
            |e| e.ids.len(),
        );
        train_epoch(
            config,
            &mut model,
            &mut opt,
            &batches,
            epoch,
            &mut step,
            &mut progress,
        )?;
        // Score exactly what would ship: save (f16), load back, run the pipeline.
        model.save(&scratch, &tokenizer, true, serde_json::json!({}))?;
        let pipeline = scoring_pipeline(&scratch)?;
        let scores = evaluate(&pipeline, &config.dev)?;
        if !config.held_out.is_empty() {
            report.held_out.push(evaluate(&pipeline, &config.held_out)?);
        }
        drop(pipeline);
        let f1 = scores.overall().f1();
        report.epochs.push(scores);
        let keep = match config.keep {
            Keep::BestDev => f1 > best_f1,
            Keep::Last => epoch == config.epochs,
        };
        best_f1 = best_f1.max(f1);
        if keep {
            report.best_epoch = epoch;
            model.save(&config.out, &tokenizer, true, serde_json::json!({}))?;
        }
    }
    let _ = std::fs::remove_dir_all(&scratch);
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// The base encoder of `config.encoder` with a fresh token-classification head for `labels`.
fn initial_model(config: &TrainConfig, labels: &LabelSet) -> Result<TorchModel> {
    let cfg_path = config.encoder.join("config.json");
    let mut raw: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(&cfg_path).map_err(|e| Error::io(&cfg_path, e))?,
    )
    .map_err(|e| Error::input(cfg_path.display().to_string(), e.to_string()))?;
    raw["id2label"] = labels
        .names()
        .iter()
        .enumerate()
        .map(|(i, n)| (i.to_string(), serde_json::Value::from(n.as_str())))
        .collect::<serde_json::Map<_, _>>()
        .into();
    raw.as_object_mut().map(|o| o.remove("label2id"));
    raw["newsgraph"] = serde_json::json!({"casing": config.casing, "window": config.window});
    raw["architectures"] = serde_json::json!(["BertForTokenClassification"]);
    let model_config = ModelConfig::from_value(raw, &cfg_path)?;
    let mut model = TorchModel::build(model_config, config.device)?;
    let weights = ["model.safetensors", "rust_model.ot"]
        .iter()
        .map(|n| config.encoder.join(n))
        .find(|p| p.is_file())
        .ok_or_else(|| Error::input(config.encoder.display().to_string(), "no weights"))?;
    model.load_weights(&weights, Missing::FreshHead)?;
    model.set_window(config.window);
    Ok(model)
}

/// Where training stands: optimizer steps done of `total` (the learning-rate schedule's clock,
/// warm-up over `warmup` steps) and the padding id.
pub(crate) struct Step {
    pub(crate) done: usize,
    pub(crate) total: usize,
    pub(crate) warmup: f64,
    pub(crate) pad: i64,
}

impl Step {
    /// One optimizer step on `loss` at the scheduled learning rate (peak `peak`), gradients
    /// clipped at 1.0; returns the loss.
    pub(crate) fn take(&mut self, opt: &mut nn::Optimizer, peak: f64, loss: &Tensor) -> f64 {
        self.done += 1;
        opt.set_lr(learning_rate(peak, self.done, self.warmup, self.total));
        opt.backward_step_clip_norm(loss, 1.0);
        loss.to_kind(Kind::Double).double_value(&[])
    }
}

/// One pass over `batches`: cross-entropy on the labelled sub-tokens, AdamW with the scheduled
/// learning rate and gradients clipped at 1.0.
fn train_epoch(
    config: &TrainConfig,
    model: &mut TorchModel,
    opt: &mut nn::Optimizer,
    batches: &[Vec<&Example>],
    epoch: usize,
    step: &mut Step,
    progress: &mut impl FnMut(Progress),
) -> Result<()> {
    let (epoch_start, mut tokens, mut loss_sum) = (Instant::now(), 0usize, 0.0);
    for (i, batch) in batches.iter().enumerate() {
        let (ids, mask, casing, gold) = batch_tensors(batch, step.pad, config.device);
        let logits = model.logits(&ids, &mask, &casing, true)?;
        let n_labels = logits.size()[2];
        let loss = logits.view([-1, n_labels]).cross_entropy_loss::<Tensor>(
            &gold.view([-1]),
            None,
            tch::Reduction::Mean,
            -100,
            0.0,
        );
        loss_sum += step.take(opt, config.lr, &loss);
        tokens += batch.iter().map(|e| e.ids.len()).sum::<usize>();
        progress(Progress {
            epoch,
            step: i + 1,
            steps: batches.len(),
            loss: loss_sum / (i + 1) as f64,
            tokens_per_s: tokens as f64 / epoch_start.elapsed().as_secs_f64(),
        });
    }
    Ok(())
}

/// The pipeline that scores a saved epoch (NER only: the relation model plays no part).
fn scoring_pipeline(dir: &Path) -> Result<Pipeline> {
    Pipeline::load(
        dir,
        PipelineOptions {
            engine_threads: 0,
            threads: 1,
            ..PipelineOptions::default()
        }
        .relation_model(None),
    )
}
