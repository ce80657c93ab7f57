//! Fine-tuning a token-classification model on CoNLL-format data, in Rust with tch.
//!
//! Training sees text the way [`Pipeline`] does: each document is laid out as text
//! ([`ConllDocument::text`]), tokenized with the model's tokenizer and cut into overlapping
//! windows at sentence starts by the pipeline's own cutter, so neighbouring sentences give
//! context. Training windows overlap by a quarter of the window, the pipeline's by a
//! sixteenth: on purpose, as the loss counts only the words a window owns (a larger overlap
//! gives more context at the edges, not more labels; with the pipeline's, CoNLL04 names lost
//! 0.86 F1 in a measured run, see `segment::training_overlap`).
//! The loss is taken on the first sub-token of each word that the window *owns*. Words are
//! the tokenizer's words; a CoNLL token split into several words ("U.S.") gives its label to
//! the first and `I-` to the rest, as the pipeline will read them back.

use crate::decode::LabelSet;
use crate::engine::torch::{Missing, TorchModel};
use crate::engine::{read_json, weights_file, ModelConfig};
use crate::error::{Error, Result};
use crate::pipeline::{Pipeline, PipelineOptions};
use crate::segment::{cut_quality, sentence_starts, training_overlap, windows};
use crate::tokenize::{TextTokenizer, Tokens};
use crate::training::conll::ConllDocument;
use crate::training::eval::{chunks, evaluate, Scores};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use std::path::{Path, PathBuf};
use std::time::Instant;
use tch::nn::OptimizerConfig;
use tch::{nn, Device, Kind, Tensor};
mod augment;
pub(crate) mod distill;
pub(crate) mod examples;
pub(crate) mod step;

pub use distill::Distill;
use distill::*;
use examples::*;
use step::*;

/// Settings of a training run.
#[derive(Debug, Clone)]
pub struct TrainConfig {
    /// Folder of the pretrained encoder, or of a token-classification model to continue (its
    /// classifier and casing embedding kept; the training data must have its labels, which
    /// keep its order).
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
    /// Learn from a trained NER model's label distributions too (knowledge distillation), e.g.
    /// a small model from a larger one. The teacher must have the student's labels and read
    /// the same word pieces (its own ids may differ: MPNet's vocabulary is BERT's shifted).
    pub teacher: Option<Distill>,
    /// Texts without labels that the teacher labels for the student (its distributions are the
    /// only loss on them); needs `teacher`.
    pub transfer: Vec<String>,
    /// Label smoothing of the cross-entropy on the gold labels, 0 … 1 (0: none): the target
    /// puts this much of its mass evenly over all labels.
    pub label_smoothing: f64,
    /// Mention replacement, 0 … 1 (0: none): each epoch, each entity mention of the training
    /// documents is replaced with this probability by a mention of the same type drawn from
    /// them (each distinct mention equally likely). Not with a teacher, whose labels are
    /// computed once for the unchanged windows.
    pub mention_swap: f64,
    /// R-Drop (Liang et al. 2021), 0 or more (0: none): each batch runs through the network
    /// twice, with different dropout; both passes learn the gold labels (and the teacher's), and
    /// this weight times the symmetric KL divergence between the two passes' label
    /// distributions at the scored positions is added to the loss. Twice the compute per step.
    pub r_drop: f64,
    /// Continue from a saved epoch: (its folder, the number of epochs it has done). Every
    /// epoch is saved with f32 weights to `out.epoch-N` (the one before it removed), so a long
    /// run can stop and go on; the optimizer's moments start afresh, and the learning rate
    /// goes on where the schedule of `epochs` stands.
    pub resume: Option<(PathBuf, usize)>,
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
    /// `Some` in one more report after an epoch's last step, once its model is scored: the
    /// F1 scores that [`TrainReport`] holds at the end of the run, as the run goes (a long
    /// run that is stopped and resumed shows its curve).
    pub scored: Option<EpochF1>,
}

/// An epoch's overall F1 in percent on the dev documents (`None` without dev documents) and the
/// held-out ones (`None` without them).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EpochF1 {
    /// Dev F1 (percent).
    pub dev: Option<f64>,
    /// Held-out F1 (percent).
    pub held_out: Option<f64>,
}

/// What a training run measured.
#[derive(Debug, Clone)]
pub struct TrainReport {
    /// The epoch (from 1) of the first scores below: 1, or on a resumed run the first epoch
    /// it made.
    pub first_epoch: usize,
    /// Dev scores after each epoch (empty scores when there is no dev set).
    pub epochs: Vec<Scores>,
    /// Held-out scores after each epoch (empty when there are no held-out documents).
    pub held_out: Vec<Scores>,
    /// The epoch (from 1) whose model was kept; 0 on a resumed run none of whose epochs beat
    /// the model kept in `out` before (with [`Keep::BestDev`]).
    pub best_epoch: usize,
    /// When distilling: the share of labelled training positions where the teacher's top label
    /// is the gold one (a check that it reads the student's windows right).
    pub teacher_agreement: Option<f64>,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// Fine-tunes and keeps the model with the best dev F1 in `config.out` (weights as f16).
pub fn train(config: &TrainConfig, mut progress: impl FnMut(Progress)) -> Result<TrainReport> {
    let started = Instant::now();
    check(config)?;
    tch::manual_seed(config.seed as i64);
    let labels = training_labels(config)?;
    let tokenizer = TextTokenizer::from_dir(&config.encoder)?;
    let mut model = initial_model(config, &labels)?;
    let done = config.resume.as_ref().map_or(0, |r| r.1);

    let (examples, teacher_agreement) = training_examples(config, &tokenizer, &labels)?;
    let (mut step, steps_per_epoch) = Step::schedule(
        examples.len(),
        config.batch_size,
        config.max_steps_per_epoch,
        config.epochs,
        config.warmup,
        done,
        tokenizer.pad_id() as i64,
    );
    let mut opt = nn::AdamW {
        wd: config.weight_decay,
        ..Default::default()
    }
    .build(model.var_store(), config.lr)?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(config.seed + done as u64);
    let mut report = TrainReport {
        first_epoch: done + 1,
        epochs: Vec::new(),
        held_out: Vec::new(),
        best_epoch: 0,
        teacher_agreement,
        seconds: 0.0,
    };
    let mut best_f1 = kept_f1(config)?;
    let mentions = (config.mention_swap > 0.0).then(|| augment::Mentions::collect(&config.train));
    for epoch in done + 1..=config.epochs {
        let swapped = match &mentions {
            Some(m) => Some(swapped_examples(config, m, epoch, &tokenizer, &labels)?),
            None => None,
        };
        let batches = bucketed_batches(
            swapped.as_ref().unwrap_or(&examples),
            config.batch_size,
            steps_per_epoch,
            &mut rng,
            |e| e.ids.len(),
        );
        let last = train_epoch(
            config,
            &mut model,
            &mut opt,
            &batches,
            epoch,
            &mut step,
            &mut progress,
        )?;
        let scored = score_epoch(config, &model, &tokenizer, epoch, &mut best_f1, &mut report)?;
        progress(Progress {
            scored: Some(scored),
            ..last
        });
        checkpoint(config, &model, &tokenizer, epoch)?;
    }
    let _ = std::fs::remove_dir_all(config.out.with_extension("last"));
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// An error naming the first setting of `config` out of its range.
fn check(config: &TrainConfig) -> Result<()> {
    let setting = |msg: String| Err(Error::Setting(msg));
    if config.window < 16 || config.batch_size == 0 || config.epochs == 0 {
        return setting("window must be at least 16, batch_size and epochs at least 1".into());
    }
    if !(0.0..1.0).contains(&config.label_smoothing) {
        return setting(format!(
            "label_smoothing must be in [0, 1), not {}",
            config.label_smoothing
        ));
    }
    if !(0.0..=1.0).contains(&config.mention_swap) {
        return setting(format!(
            "mention_swap must be in [0, 1], not {}",
            config.mention_swap
        ));
    }
    if !(config.r_drop.is_finite() && config.r_drop >= 0.0) {
        return setting(format!("r_drop must be 0 or more, not {}", config.r_drop));
    }
    if config.mention_swap > 0.0 && config.teacher.is_some() {
        return setting(
            "mention_swap changes the training text each epoch; a teacher labels it once: \
             use one or the other"
                .into(),
        );
    }
    match &config.resume {
        Some((dir, done)) if *done == 0 || *done >= config.epochs => setting(format!(
            "resume from {} after {done} epochs: it must have done 1 … {} of the {} epochs",
            dir.display(),
            config.epochs - 1,
            config.epochs
        )),
        _ => Ok(()),
    }
}

/// Saves the epoch's model with f32 weights to `out.epoch-N`, for a resumed run, and removes
/// the previous epoch's.
fn checkpoint(
    config: &TrainConfig,
    model: &TorchModel,
    tokenizer: &TextTokenizer,
    epoch: usize,
) -> Result<()> {
    let dir = config.out.with_extension(format!("epoch-{epoch}"));
    model.save(&dir, tokenizer, false)?;
    let previous = config.out.with_extension(format!("epoch-{}", epoch - 1));
    if previous.join("model.safetensors").is_file() {
        std::fs::remove_dir_all(&previous).map_err(|e| Error::io(&previous, e))?;
    }
    Ok(())
}

/// What a new epoch's dev F1 must beat to replace the model in `out`: on a resumed run that
/// keeps the best dev epoch, the dev score of the model kept there before (scored again);
/// otherwise nothing.
fn kept_f1(config: &TrainConfig) -> Result<f64> {
    let kept = config.out.join("model.safetensors");
    if config.resume.is_none() || config.keep != Keep::BestDev || !kept.is_file() {
        return Ok(-1.0);
    }
    let pipeline = scoring_pipeline(&config.out)?;
    Ok(evaluate(&pipeline, &config.dev)?.overall().f1() * 100.0)
}

/// Scores the epoch's model exactly as it would ship (saved as f16 in a scratch folder,
/// loaded back, the pipeline run over dev and the held-out documents) into `report`, and
/// saves it to `config.out` when it is the one to keep.
fn score_epoch(
    config: &TrainConfig,
    model: &TorchModel,
    tokenizer: &TextTokenizer,
    epoch: usize,
    best_f1: &mut f64,
    report: &mut TrainReport,
) -> Result<EpochF1> {
    let scratch = config.out.with_extension("last");
    model.save(&scratch, tokenizer, true)?;
    let pipeline = scoring_pipeline(&scratch)?;
    let scores = evaluate(&pipeline, &config.dev)?;
    let mut scored = EpochF1 {
        dev: (!config.dev.is_empty()).then(|| scores.overall().f1() * 100.0),
        held_out: None,
    };
    if !config.held_out.is_empty() {
        let held_out = evaluate(&pipeline, &config.held_out)?;
        scored.held_out = Some(held_out.overall().f1() * 100.0);
        report.held_out.push(held_out);
    }
    drop(pipeline);
    let f1 = scores.overall().f1() * 100.0;
    report.epochs.push(scores);
    let keep = match config.keep {
        Keep::BestDev => f1 > *best_f1,
        Keep::Last => epoch == config.epochs,
    };
    *best_f1 = best_f1.max(f1);
    if keep {
        report.best_epoch = epoch;
        model.save(&config.out, tokenizer, true)?;
    }
    Ok(scored)
}

/// The base encoder of `config.encoder` with a fresh token-classification head for `labels`;
/// on a resumed run, the saved epoch's model, which must have those labels.
fn initial_model(config: &TrainConfig, labels: &LabelSet) -> Result<TorchModel> {
    if let Some((dir, _)) = &config.resume {
        let saved = ModelConfig::from_dir(dir)?;
        if saved.labels.names() != labels.names() {
            return Err(Error::Setting(format!(
                "resume from {}: its labels {:?} are not the training data's {:?}",
                dir.display(),
                saved.labels.names(),
                labels.names()
            )));
        }
        let mut model = TorchModel::build(saved, config.device)?;
        model.load_weights(&weights_file(dir)?, Missing::Error)?;
        return Ok(model);
    }
    let cfg_path = config.encoder.join("config.json");
    let mut raw = read_json(&cfg_path, "encoder configuration")?;
    raw["id2label"] = labels
        .names()
        .iter()
        .enumerate()
        .map(|(i, n)| (i.to_string(), serde_json::Value::from(n.as_str())))
        .collect::<serde_json::Map<_, _>>()
        .into();
    raw.as_object_mut().map(|o| o.remove("label2id"));
    let block = crate::engine::Block {
        casing: config.casing,
        window: Some(config.window),
        ..crate::engine::Block::default()
    };
    block.write(&mut raw);
    let mut model_config = ModelConfig::from_value(raw, &cfg_path)?;
    model_config.raw["architectures"] =
        serde_json::json!([model_config.architecture.token_classifier()]);
    let mut model = TorchModel::build(model_config, config.device)?;
    model.load_weights(&weights_file(&config.encoder)?, Missing::FreshHead)?;
    model.set_window(config.window);
    Ok(model)
}

/// The labels trained: BIO over the training data's entity types in order of appearance, or,
/// when `config.encoder` is a token-classification model (its `architectures` end in
/// `ForTokenClassification`: training continues it, classifier included), that model's labels
/// in its order, which must be the same set (its classifier's rows are its labels).
fn training_labels(config: &TrainConfig) -> Result<LabelSet> {
    let types = entity_types(&config.train);
    let type_refs: Vec<&str> = types.iter().map(String::as_str).collect();
    let data = LabelSet::bio(&type_refs);
    let cfg_path = config.encoder.join("config.json");
    let raw = read_json(&cfg_path, "encoder configuration")?;
    let classifier = raw["architectures"].as_array().is_some_and(|a| {
        a.iter().any(|v| {
            v.as_str()
                .is_some_and(|s| s.ends_with("ForTokenClassification"))
        })
    });
    if !classifier {
        return Ok(data);
    }
    let own: Option<Vec<String>> = raw["id2label"].as_object().and_then(|m| {
        (0..m.len())
            .map(|i| {
                m.get(&i.to_string())
                    .and_then(|v| v.as_str().map(String::from))
            })
            .collect()
    });
    let sorted = |names: &[String]| {
        let mut v = names.to_vec();
        v.sort();
        v
    };
    match own {
        Some(own) if sorted(&own) == sorted(data.names()) => {
            LabelSet::new(own).map_err(Error::Setting)
        }
        own => Err(Error::Setting(format!(
            "{} is a token-classification model with labels {:?}; continuing it needs training \
             data with the same labels, not {:?} (train from its base encoder for others)",
            config.encoder.display(),
            own.unwrap_or_default(),
            data.names()
        ))),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_padded_to_the_longest_with_a_mask_over_the_real_tokens() {
        let rows = [
            (&[5i64, 6][..], &[1i64, 2][..]),
            (&[7, 8, 9][..], &[3, 4, 5][..]),
        ];
        let (ids, mask, casing) = input_tensors(rows.iter().copied(), 0, Device::Cpu);
        let flat = |t: &Tensor| Vec::<i64>::try_from(&t.view([-1])).unwrap();
        assert_eq!(ids.size(), [2, 3]);
        assert_eq!(flat(&ids), [5, 6, 0, 7, 8, 9]);
        assert_eq!(flat(&mask), [1, 1, 0, 1, 1, 1]);
        assert_eq!(flat(&casing), [1, 2, 0, 3, 4, 5]);
        assert_eq!(
            padded([&[1i64][..], &[]].into_iter(), 2, -100),
            [1, -100, -100, -100]
        );
    }

    #[test]
    fn the_teacher_gives_its_logits_at_the_scored_positions_in_the_students_label_order() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("teacher");
        crate::engine::torch::tests::write_random(&dir, "bert");
        let tokenizer = TextTokenizer::from_dir(&dir).unwrap();
        // The teacher's labels are O, B-PER, I-PER, B-LOC, I-LOC; the student's another order.
        let student = LabelSet::bio(&["LOC", "PER"]);
        let example = |ids: Vec<i64>, scored: Vec<bool>| Example {
            casing: vec![0; ids.len()],
            labels: vec![-100; ids.len()],
            ids,
            scored,
            soft: Vec::new(),
        };
        let mut examples = vec![
            example(vec![2, 7, 9, 11, 3], vec![false, true, false, true, false]),
            example(vec![2, 5, 3], vec![false, true, false]),
        ];
        let distill = Distill {
            model: dir.clone(),
            weight: 0.5,
            temperature: 2.0,
        };
        teach(&distill, &mut examples, &tokenizer, &student, Device::Cpu).unwrap();

        let config = ModelConfig::from_dir(&dir).unwrap();
        let model = TorchModel::load(&config, &dir.join("model.safetensors")).unwrap();
        let perm = [0usize, 3, 4, 1, 2];
        for ex in &examples {
            let ids = Tensor::from_slice(&ex.ids).view([1, -1]);
            let ones = ids.ones_like();
            let logits = model.logits(&ids, &ones, &ids.zeros_like(), false).unwrap();
            let all = Vec::<f32>::try_from(&logits.contiguous().view([-1])).unwrap();
            let want: Vec<f32> = (0..ex.ids.len())
                .filter(|&p| ex.scored[p])
                .flat_map(|p| perm.map(|l| all[p * 5 + l]))
                .collect();
            assert_eq!(ex.soft.len(), want.len());
            for (g, w) in ex.soft.iter().zip(&want) {
                assert!((g - w).abs() < 1e-4, "{:?} vs {want:?}", ex.soft);
            }
            assert!(want.iter().any(|v| v.abs() > 0.1), "logits near zero");
        }

        let wrong = LabelSet::bio(&["ORG"]);
        let err = teach(&distill, &mut examples, &tokenizer, &wrong, Device::Cpu).unwrap_err();
        assert!(err.to_string().contains("are not the student's"), "{err}");
    }

    /// Two documents of the tiny random model's vocabulary (words `w4` … `w39`), PER and LOC.
    fn tiny_docs() -> Vec<ConllDocument> {
        let sentence = |words: &[(&str, &str)]| crate::training::conll::Sentence {
            tokens: words.iter().map(|w| w.0.to_string()).collect(),
            tags: words.iter().map(|w| w.1.to_string()).collect(),
        };
        vec![
            ConllDocument {
                sentences: vec![
                    sentence(&[
                        ("w4", "I-PER"),
                        ("w5", "I-PER"),
                        ("w6", "O"),
                        ("w7", "I-LOC"),
                    ]),
                    sentence(&[("w8", "O"), ("w9", "I-LOC"), ("w10", "O")]),
                ],
            },
            ConllDocument {
                sentences: vec![sentence(&[
                    ("w11", "I-PER"),
                    ("w12", "O"),
                    ("w13", "I-LOC"),
                ])],
            },
        ]
    }

    fn tiny_config(encoder: &Path, out: &Path) -> TrainConfig {
        TrainConfig {
            encoder: encoder.to_path_buf(),
            train: tiny_docs(),
            dev: tiny_docs(),
            held_out: Vec::new(),
            keep: Keep::Last,
            out: out.to_path_buf(),
            epochs: 2,
            batch_size: 1,
            lr: 1e-3,
            warmup: 0.1,
            weight_decay: 0.01,
            window: 16,
            seed: 3,
            casing: true,
            device: Device::Cpu,
            max_steps_per_epoch: None,
            teacher: None,
            transfer: Vec::new(),
            label_smoothing: 0.0,
            mention_swap: 0.0,
            r_drop: 0.0,
            resume: None,
        }
    }

    #[test]
    fn a_resumed_run_starts_from_the_saved_epoch_and_goes_on_counting() {
        let tmp = tempfile::tempdir().unwrap();
        let encoder = tmp.path().join("encoder");
        crate::engine::torch::tests::write_random(&encoder, "bert");
        let out = tmp.path().join("out");
        let mut config = tiny_config(&encoder, &out);
        config.held_out = tiny_docs()[1..].to_vec();
        let mut scored = Vec::new();
        let report = train(&config, |p| scored.extend(p.scored.map(|s| (p.epoch, s)))).unwrap();
        assert_eq!((report.first_epoch, report.epochs.len()), (1, 2));
        // Each epoch's scores are reported as the run goes, as the final report has them.
        let f1 = |s: &Scores| Some(s.overall().f1() * 100.0);
        let expected: Vec<_> = (0..2)
            .map(|i| {
                let (dev, held_out) = (f1(&report.epochs[i]), f1(&report.held_out[i]));
                (i + 1, EpochF1 { dev, held_out })
            })
            .collect();
        assert_eq!(scored, expected);
        assert_eq!(report.best_epoch, 2);
        assert!(out
            .with_extension("epoch-2")
            .join("model.safetensors")
            .is_file());
        assert!(
            !out.with_extension("epoch-1").exists(),
            "the previous epoch is removed"
        );
        let kept = std::fs::read(out.join("model.safetensors")).unwrap();

        // Epoch 3 learns nothing (learning rate 0): the model it keeps is epoch 2's, weight
        // for weight, which it is only when it started from the saved epoch.
        config.resume = Some((out.with_extension("epoch-2"), 2));
        config.epochs = 3;
        config.lr = 0.0;
        let resumed = train(&config, |_| {}).unwrap();
        assert_eq!((resumed.first_epoch, resumed.epochs.len()), (3, 1));
        assert_eq!(resumed.best_epoch, 3);
        assert!(std::fs::read(out.join("model.safetensors")).unwrap() == kept);
        assert!(out.with_extension("epoch-3").is_dir());
        assert!(!out.with_extension("epoch-2").exists());

        // Keeping the best dev epoch: an epoch that only equals the kept model leaves it.
        config.keep = Keep::BestDev;
        config.resume = Some((out.with_extension("epoch-3"), 3));
        config.epochs = 4;
        let resumed = train(&config, |_| {}).unwrap();
        assert_eq!(resumed.best_epoch, 0, "{resumed:?}");

        config.resume = Some((out.with_extension("epoch-4"), 4));
        let err = train(&config, |_| {}).unwrap_err().to_string();
        assert!(
            err.contains("after 4 epochs: it must have done 1 … 3 of the 4"),
            "{err}"
        );
        config.epochs = 5;
        config.train[1].sentences[0].tags[0] = "I-ORG".into();
        let err = train(&config, |_| {}).unwrap_err().to_string();
        assert!(err.contains("its labels") && err.contains("B-ORG"), "{err}");
    }

    #[test]
    fn a_trained_model_continues_with_its_own_head_and_labels() {
        let tmp = tempfile::tempdir().unwrap();
        let encoder = tmp.path().join("encoder");
        crate::engine::torch::tests::write_random(&encoder, "bert");
        let first = tmp.path().join("first");
        train(&tiny_config(&encoder, &first), |_| {}).unwrap();

        // Continued at another window length with learning rate 0: the kept weights are the
        // trained model's, classifier and casing embedding included, and the new window is
        // recorded.
        let second = tmp.path().join("second");
        let mut config = tiny_config(&first, &second);
        config.window = 24;
        config.epochs = 1;
        config.lr = 0.0;
        train(&config, |_| {}).unwrap();
        let weights = |dir: &Path| std::fs::read(dir.join("model.safetensors")).unwrap();
        assert!(weights(&second) == weights(&first));
        let saved = ModelConfig::from_dir(&second).unwrap();
        assert_eq!(saved.window, Some(24));

        // Data whose entity types come in another order trains the model's rows in the
        // model's order: at learning rate 0 nothing moves.
        config.train[0].sentences.swap(0, 1);
        let third = tmp.path().join("third");
        config.out = third.clone();
        train(&config, |_| {}).unwrap();
        assert!(weights(&third) == weights(&first));
        let names = ModelConfig::from_dir(&third)
            .unwrap()
            .labels
            .names()
            .to_vec();
        assert_eq!(names, ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]);

        // Data with a label the model has no row for is refused.
        config.train[1].sentences[0].tags[0] = "I-ORG".to_string();
        let err = train(&config, |_| {}).unwrap_err().to_string();
        assert!(
            err.contains("is a token-classification model with labels")
                && err.contains("\"B-ORG\""),
            "{err}"
        );
    }

    #[test]
    fn mention_swap_trains_on_other_names_and_is_refused_with_a_teacher() {
        let tmp = tempfile::tempdir().unwrap();
        let encoder = tmp.path().join("encoder");
        crate::engine::torch::tests::write_random(&encoder, "bert");
        let mut config = tiny_config(&encoder, &tmp.path().join("out"));
        config.mention_swap = 1.0;
        let tokenizer = TextTokenizer::from_dir(&encoder).unwrap();
        let labels = LabelSet::bio(&["PER", "LOC"]);
        let mentions = augment::Mentions::collect(&config.train);
        let plain = examples(&config.train, &tokenizer, &labels, 16).unwrap();
        let differs = (1..=6).any(|epoch| {
            let swapped = swapped_examples(&config, &mentions, epoch, &tokenizer, &labels).unwrap();
            swapped
                .iter()
                .map(|e| &e.ids)
                .ne(plain.iter().map(|e| &e.ids))
        });
        assert!(differs, "no epoch drew another name");
        assert_eq!(train(&config, |_| {}).unwrap().epochs.len(), 2);

        config.teacher = Some(Distill {
            model: encoder.clone(),
            weight: 0.5,
            temperature: 2.0,
        });
        let err = train(&config, |_| {}).unwrap_err().to_string();
        assert!(err.contains("use one or the other"), "{err}");
        config.teacher = None;
        config.mention_swap = 1.5;
        let err = train(&config, |_| {}).unwrap_err().to_string();
        assert!(
            err.contains("mention_swap must be in [0, 1], not 1.5"),
            "{err}"
        );
    }

    #[test]
    fn r_drop_loss_is_the_symmetric_kl_divergence_of_the_two_passes() {
        let a = Tensor::from_slice(&[0.0f32, 1.0]).view([1, 2]);
        let b = Tensor::from_slice(&[1.0f32, 0.0]).view([1, 2]);
        // p = softmax(0, 1), q = softmax(1, 0): KL(p ‖ q) = KL(q ‖ p) = (p1 − p0) ln(p1 / p0).
        let (p0, p1) = (1.0 / (1.0 + 1f64.exp()), 1f64.exp() / (1.0 + 1f64.exp()));
        let want = (p1 - p0) * (p1 / p0).ln();
        assert!((r_drop_loss(&a, &b).double_value(&[]) - want).abs() < 1e-6);
        // Symmetric where the two KL directions differ, and 0 for the same distribution.
        let c = Tensor::from_slice(&[2.0f32, -1.0, 0.5, 0.0]).view([2, 2]);
        let d = Tensor::from_slice(&[0.0f32, 0.0, 3.0, 1.0]).view([2, 2]);
        let (cd, dc) = (
            r_drop_loss(&c, &d).double_value(&[]),
            r_drop_loss(&d, &c).double_value(&[]),
        );
        let one_way = distill_loss(&c, &d, 1.0).double_value(&[]);
        let other_way = distill_loss(&d, &c, 1.0).double_value(&[]);
        assert!((one_way - other_way).abs() > 1e-3);
        assert!((cd - dc).abs() < 1e-9 && (cd - (one_way + other_way) / 2.0).abs() < 1e-6);
        assert!(r_drop_loss(&c, &c).double_value(&[]).abs() < 1e-7);
    }

    #[test]
    fn r_drop_adds_the_passes_disagreement_to_their_mean_loss_and_is_refused_below_zero() {
        // Three positions, the last one padding: gold 0, 1, none; scored positions 0 and 1.
        let b = Batch {
            ids: Tensor::zeros([1, 3], (Kind::Int64, Device::Cpu)),
            mask: Tensor::ones([1, 3], (Kind::Int64, Device::Cpu)),
            casing: Tensor::zeros([1, 3], (Kind::Int64, Device::Cpu)),
            gold: Tensor::from_slice(&[0i64, 1, -100]).view([1, 3]),
            scored: Tensor::from_slice(&[0i64, 1]),
            soft: None,
            labelled: 2,
        };
        let first = [[2.0f64, 0.0], [0.5, 0.0], [9.0, -9.0]];
        let second = [[1.0f64, 0.0], [0.0, 1.5], [-9.0, 9.0]];
        let tensor = |rows: &[[f64; 2]; 3]| {
            Tensor::from_slice(&rows.concat().iter().map(|&x| x as f32).collect::<Vec<_>>())
                .view([3, 2])
        };
        let log_softmax = |row: &[f64; 2]| {
            let z = (row[0].exp() + row[1].exp()).ln();
            [row[0] - z, row[1] - z]
        };
        let cross_entropy =
            |rows: &[[f64; 2]; 3]| (-log_softmax(&rows[0])[0] - log_softmax(&rows[1])[1]) / 2.0;
        let kl = |p: &[f64; 2], q: &[f64; 2]| {
            let (lp, lq) = (log_softmax(p), log_softmax(q));
            (0..2).map(|k| lp[k].exp() * (lp[k] - lq[k])).sum::<f64>()
        };
        let disagreement = (0..2)
            .map(|r| (kl(&first[r], &second[r]) + kl(&second[r], &first[r])) / 2.0)
            .sum::<f64>()
            / 2.0;
        let tmp = tempfile::tempdir().unwrap();
        let mut config = tiny_config(tmp.path(), tmp.path());
        config.r_drop = 0.7;
        let got = r_drop_batch_loss(&config, &b, &tensor(&first), &tensor(&second))
            .unwrap()
            .double_value(&[]);
        let want = (cross_entropy(&first) + cross_entropy(&second)) / 2.0 + 0.7 * disagreement;
        assert!(
            disagreement > 0.1 && (got - want).abs() < 1e-5,
            "{got} vs {want}"
        );

        // A training run with it, and a weight below zero refused.
        let encoder = tmp.path().join("encoder");
        crate::engine::torch::tests::write_random(&encoder, "bert");
        let mut config = tiny_config(&encoder, &tmp.path().join("out"));
        config.r_drop = 1.0;
        let mut losses = Vec::new();
        train(&config, |p| losses.push(p.loss)).unwrap();
        assert!(!losses.is_empty() && losses.iter().all(|l| l.is_finite() && *l > 0.0));
        config.r_drop = -0.5;
        let err = train(&config, |_| {}).unwrap_err().to_string();
        assert!(err.contains("r_drop must be 0 or more, not -0.5"), "{err}");
    }

    #[test]
    fn the_distillation_loss_is_the_softened_kl_divergence_times_t_squared() {
        let student = Tensor::from_slice(&[1.0f32, 0.0, -1.0]).view([1, 3]);
        let teacher = Tensor::from_slice(&[0.0f32, 2.0, 0.0]).view([1, 3]);
        let soft = |row: [f64; 3], t: f64| {
            let z: f64 = row.iter().map(|x| (x / t).exp()).sum();
            row.map(|x| (x / t).exp() / z)
        };
        for t in [1.0, 2.0] {
            let (s, q) = (soft([1.0, 0.0, -1.0], t), soft([0.0, 2.0, 0.0], t));
            let want = t * t * (0..3).map(|i| q[i] * (q[i] / s[i]).ln()).sum::<f64>();
            let got = distill_loss(&student, &teacher, t).double_value(&[]);
            assert!((got - want).abs() < 1e-5, "T {t}: {got} vs {want}");
            assert!(want > 0.1, "the two distributions differ");
        }
        let same = distill_loss(&teacher, &teacher, 2.0).double_value(&[]);
        assert!(same.abs() < 1e-6, "{same}");
    }
}
