//! Fine-tuning the relation classifier in Rust with tch (feature `torch`): a BERT encoder read
//! from a model folder, the pair marked with four marker tokens, the states at the two start
//! markers concatenated and classified into `no_relation` or one of the directed relations
//! (the 36 of KBP37 and `loc:located_in` both ways). Training data: KBP37 and,
//! optionally, CoNLL04 sentences, whose relations map to KBP names (`OrgBased_In` to any of
//! the three `org:*_of_headquarters`: the loss is the probability of the allowed set, so the
//! model picks the sub-slot). Each epoch is scored on dev (KBP37 macro-F1, CoNLL04 strict F1)
//! and saved, so a run can resume from its last epoch (`RelationTrainConfig::resume`; the
//! optimizer's moments start afresh).

use crate::engine::read_json;
use crate::engine::torch::{load_var_store, save_var_store, Missing};
use crate::error::{Error, LoadError, Result};
use crate::relation::model::{classes, Encoded, PairEncoder, MARKERS};
use crate::relation::Directed;
use crate::relation::RelationKind;
use crate::tokenize::TextTokenizer;
use crate::training::conll04::{self, Sentence};
use crate::training::kbp37::{Example, Scores};
use crate::training::ner::distill::distill_loss;
use crate::training::ner::examples::bucketed_batches;
use crate::training::ner::step::Step;
pub use crate::training::ner::Distill;
use rand::SeedableRng;
use rust_bert::bert::{BertConfig, BertEmbeddings, BertModel};
use std::path::{Path, PathBuf};
use std::time::Instant;
use tch::nn::{Module, OptimizerConfig};
use tch::{nn, Device, Kind, Tensor};

/// Settings of a relation training run.
#[derive(Debug, Clone)]
pub struct RelationTrainConfig {
    /// Folder of the pretrained BERT encoder, or of a relation model to continue (its
    /// classifier rows are kept for the classes it shares with the trained ones).
    pub encoder: PathBuf,
    /// Training examples.
    pub train: Vec<Example>,
    /// Development examples, scored after each epoch.
    pub dev: Vec<Example>,
    /// CoNLL04 training sentences (their candidate pairs join the training examples).
    pub conll04_train: Vec<Sentence>,
    /// Times the CoNLL04 pairs are repeated per epoch.
    pub conll04_repeat: usize,
    /// CoNLL04 development sentences: when given, an epoch is chosen by the mean of KBP37
    /// macro-F1 and CoNLL04 strict F1 (gold entities, the four mapped types).
    pub conll04_dev: Vec<Sentence>,
    /// Where the best model is written; epochs go to `OUT.epoch-N`.
    pub out: PathBuf,
    /// Passes over the training data, in all (a resumed run continues the count).
    pub epochs: usize,
    /// Examples per step.
    pub batch_size: usize,
    /// Peak learning rate.
    pub lr: f64,
    /// Fraction of steps with linear warm-up.
    pub warmup: f64,
    /// AdamW weight decay.
    pub weight_decay: f64,
    /// Tokens per example, markers and special tokens included.
    pub max_len: usize,
    /// Tokens of context kept on each side of a pair, in training and dev examples alike
    /// (`None`: the whole sentence, up to `max_len`). Training with the pipeline's
    /// `relation_context` shows the model the inputs it will see.
    pub context: Option<usize>,
    /// Seed for initialisation, dropout and shuffling.
    pub seed: u64,
    /// Where to train.
    pub device: Device,
    /// Continue from a saved epoch: (its folder, the number of epochs it has done).
    pub resume: Option<(PathBuf, usize)>,
    /// Stop each epoch after this many steps (for quick trials).
    pub max_steps_per_epoch: Option<usize>,
    /// Keep only the encoder's first N layers (a shallower, faster network; `None`: all).
    pub layers: Option<usize>,
    /// Learn from a trained relation model's probabilities too (knowledge distillation), e.g.
    /// to train a shallower, faster network from the shipped one.
    pub teacher: Option<Distill>,
}

/// Progress after each step.
#[derive(Debug, Clone, Copy)]
pub struct RelationProgress {
    /// Epoch, from 1.
    pub epoch: usize,
    /// Step within the epoch, from 1.
    pub step: usize,
    /// Steps in the epoch.
    pub steps: usize,
    /// Mean loss over the epoch so far.
    pub loss: f64,
    /// Examples per second in the epoch so far.
    pub examples_per_s: f64,
}

/// Dev scores after an epoch.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct EpochScores {
    /// Epoch, from 1.
    pub epoch: usize,
    /// KBP37 dev macro-F1 (directed classes, `no_relation` excluded).
    pub kbp37_macro_f1: f64,
    /// KBP37 dev micro-F1.
    pub kbp37_micro_f1: f64,
    /// CoNLL04 dev strict micro-F1 over the four mapped types, gold entities.
    pub conll04_f1: Option<f64>,
}

impl EpochScores {
    /// What selects the epoch: KBP37 macro-F1, or its mean with the CoNLL04 F1.
    pub fn selection(&self) -> f64 {
        match self.conll04_f1 {
            Some(c) => (self.kbp37_macro_f1 + c) / 2.0,
            None => self.kbp37_macro_f1,
        }
    }
}

/// The dev scores of each epoch of a run.
#[derive(Debug, Clone)]
pub struct RelationReport {
    /// Per epoch.
    pub epochs: Vec<EpochScores>,
    /// The epoch saved to `out` (0 on a resumed run none of whose epochs beat the model the
    /// earlier epochs kept there).
    pub best_epoch: usize,
    /// Wall time.
    pub seconds: f64,
    /// Training examples that did not fit `max_len` (skipped).
    pub skipped: usize,
}

struct Net {
    vs: nn::VarStore,
    bert: BertModel<BertEmbeddings>,
    classifier: nn::Linear,
    hidden: i64,
}

impl Net {
    fn new(config: &BertConfig, classes: i64, device: Device) -> Self {
        let vs = nn::VarStore::new(device);
        let bert = BertModel::new_with_optional_pooler(vs.root() / "bert", config, false);
        let classifier = nn::linear(
            vs.root() / "classifier",
            2 * config.hidden_size,
            classes,
            Default::default(),
        );
        Net {
            vs,
            bert,
            classifier,
            hidden: config.hidden_size,
        }
    }

    /// Logits `[batch, classes]`.
    fn forward(
        &self,
        ids: &Tensor,
        mask: &Tensor,
        e1: &Tensor,
        e2: &Tensor,
        train: bool,
    ) -> Result<Tensor> {
        let out =
            self.bert
                .forward_t(Some(ids), Some(mask), None, None, None, None, None, train)?;
        let at = |p: &Tensor| {
            let idx = p.view([-1, 1, 1]).expand([-1, 1, self.hidden], false);
            out.hidden_state.gather(1, &idx, false).squeeze_dim(1)
        };
        let pair = Tensor::cat(&[at(e1), at(e2)], 1).dropout(0.1, train);
        Ok(self.classifier.forward(&pair))
    }
}

/// ids, mask, e1 and e2 positions, and the allowed classes as a `[batch, classes]` 0/1 mask.
fn batch_tensors(batch: &[&Labelled], pad: i64, classes: usize, device: Device) -> [Tensor; 5] {
    let len = batch.iter().map(|(e, _)| e.ids.len()).max().unwrap_or(2);
    let (mut ids, mut mask) = (vec![pad; batch.len() * len], vec![0i64; batch.len() * len]);
    for (r, (e, _)) in batch.iter().enumerate() {
        for (j, &id) in e.ids.iter().enumerate() {
            ids[r * len + j] = id as i64;
            mask[r * len + j] = 1;
        }
    }
    let shape = [batch.len() as i64, len as i64];
    let col = |f: &dyn Fn(&Labelled) -> i64| {
        Tensor::from_slice(&batch.iter().map(|b| f(b)).collect::<Vec<_>>()).to_device(device)
    };
    let mut allowed = vec![0f32; batch.len() * classes];
    for (r, (_, gold)) in batch.iter().enumerate() {
        for &c in gold {
            allowed[r * classes + c as usize] = 1.0;
        }
    }
    [
        Tensor::from_slice(&ids).view(shape).to_device(device),
        Tensor::from_slice(&mask).view(shape).to_device(device),
        col(&|b| b.0.e1 as i64),
        col(&|b| b.0.e2 as i64),
        Tensor::from_slice(&allowed)
            .view([batch.len() as i64, classes as i64])
            .to_device(device),
    ]
}

/// An encoded example and the indices of its right classes (one for KBP37; CoNLL04's
/// `OrgBased_In` and `Live_In` allow three sub-slots).
type Labelled = (Encoded, Vec<i64>);

/// The loss of a set of right answers: −log of their summed probability, averaged.
fn set_loss(logits: &Tensor, allowed: &Tensor) -> Tensor {
    let all = logits.logsumexp([-1i64].as_slice(), false);
    let right = (logits + (allowed - 1.0) * 1e4).logsumexp([-1i64].as_slice(), false);
    (all - right).mean(Kind::Float)
}

/// The teacher network of a distillation run, checked to have the student's classes.
fn load_teacher(distill: &Distill, device: Device) -> Result<Net> {
    distill.check()?;
    let dir = &distill.model;
    if relation_classes(dir)?.as_deref() != Some(&classes()[..]) {
        return Err(Error::Setting(format!(
            "teacher {}: not a relation model with this version's classes",
            dir.display()
        )));
    }
    let (_, config) = encoder_config(dir)?;
    let net = Net::new(&config, classes().len() as i64, device);
    load_var_store(
        &net.vs,
        &dir.join("model.safetensors"),
        "bert",
        Missing::Error,
    )?;
    Ok(net)
}

/// Encodes examples with their class index; returns those that fit and, per example, whether
/// it did not.
fn encode_all(
    examples: &[Example],
    encoder: &PairEncoder,
    tokenizer: &TextTokenizer,
) -> Result<(Vec<Labelled>, Vec<bool>)> {
    let classes = classes();
    let (mut out, mut skipped) = (Vec::with_capacity(examples.len()), Vec::new());
    for ex in examples {
        let class = classes
            .iter()
            .position(|c| *c == ex.label)
            .ok_or_else(|| Error::input(&ex.id, "a label outside the relation classes"))?;
        let e = encoder.encode(tokenizer, &ex.text, ex.e1, ex.e2)?;
        skipped.push(e.is_none());
        out.extend(e.map(|e| (e, vec![class as i64])));
    }
    Ok((out, skipped))
}

/// A CoNLL04 pair and whether it fit the input length.
type FitPair = (conll04::LabelledPair, bool);

/// CoNLL04's candidate pairs, encoded with their allowed classes; also the pairs (in the same
/// order, with `None` where the pair did not fit).
fn encode_conll04(
    sentences: &[Sentence],
    encoder: &PairEncoder,
    tokenizer: &TextTokenizer,
) -> Result<(Vec<Labelled>, Vec<FitPair>)> {
    let classes = classes();
    let texts = sentences
        .iter()
        .map(Sentence::text_and_spans)
        .collect::<Result<Vec<_>>>()?;
    let (mut out, mut pairs) = (Vec::new(), Vec::new());
    for p in conll04::labelled_pairs(sentences) {
        let (text, spans) = &texts[p.sentence];
        let e = encoder.encode(tokenizer, text, spans[p.e1], spans[p.e2])?;
        let fits = e.is_some();
        if let Some(e) = e {
            let allowed = p
                .allowed
                .iter()
                .filter_map(|a| classes.iter().position(|c| c == a))
                .map(|i| i as i64)
                .collect::<Vec<_>>();
            if allowed.is_empty() {
                return Err(Error::input(
                    "CoNLL04",
                    format!(
                        "sentence {}: a label outside the relation classes",
                        p.sentence
                    ),
                ));
            }
            out.push((e, allowed));
        }
        pairs.push((p, fits));
    }
    Ok((out, pairs))
}

/// CoNLL04 strict micro-F1 (four mapped types) of predictions over the encoded pairs.
fn conll04_f1(sentences: &[Sentence], pairs: &[FitPair], pred: &[i64]) -> f64 {
    let classes = classes();
    let mut answers: Vec<Vec<(usize, usize, Option<Directed>)>> = vec![Vec::new(); sentences.len()];
    let mut k = 0;
    for (p, fits) in pairs {
        if *fits {
            let answer = pred
                .get(k)
                .and_then(|&c| classes.get(c as usize).copied())
                .flatten();
            answers[p.sentence].push((p.e1, p.e2, answer));
            k += 1;
        }
    }
    let mut scores = conll04::Scores::default();
    for (s, a) in sentences.iter().zip(answers) {
        scores.add(&conll04::predicted(s, a), &s.gold());
    }
    scores.mapped().2
}

/// Predicted class of each encoded example (in order); with `kbp37_only`, among the classes
/// KBP37 has (its label set; `loc:located_in` comes from CoNLL04).
fn predict(
    net: &Net,
    data: &[Labelled],
    pad: i64,
    device: Device,
    kbp37_only: bool,
) -> Result<Vec<i64>> {
    let penalty: Vec<f32> = classes()
        .iter()
        .map(|c| match c {
            Some(d) if kbp37_only && d.kind == RelationKind::LocLocatedIn => -1e9,
            _ => 0.0,
        })
        .collect();
    let penalty = Tensor::from_slice(&penalty).to_device(device);
    let mut order: Vec<usize> = (0..data.len()).collect();
    order.sort_by_key(|&i| data[i].0.ids.len());
    let mut out = vec![0i64; data.len()];
    tch::no_grad(|| -> Result<()> {
        for chunk in order.chunks(64) {
            let batch: Vec<&Labelled> = chunk.iter().map(|&i| &data[i]).collect();
            let [ids, mask, e1, e2, _] = batch_tensors(&batch, pad, classes().len(), device);
            let pred = (net.forward(&ids, &mask, &e1, &e2, false)? + &penalty).argmax(-1, false);
            let pred = Vec::<i64>::try_from(&pred.to_device(Device::Cpu))?;
            for (&i, p) in chunk.iter().zip(pred) {
                out[i] = p;
            }
        }
        Ok(())
    })?;
    Ok(out)
}

/// KBP37 scores of predictions against the examples' gold classes. Examples that did not fit
/// count as `no_relation` predictions.
fn scores(examples: &[Example], data: &[Labelled], pred: &[i64], skipped_ids: &[bool]) -> Scores {
    let classes = classes();
    let mut k = 0;
    let pairs = examples.iter().zip(skipped_ids).map(|(ex, &skipped)| {
        let p = if skipped {
            None
        } else {
            let p = classes[pred[k] as usize];
            k += 1;
            p
        };
        (ex.label, p)
    });
    let s = Scores::new(pairs.collect::<Vec<_>>());
    debug_assert_eq!(k, data.len());
    s
}

/// Trains, scores each epoch on dev, and keeps the best in `config.out` (f16 weights).
pub fn train_relations(
    config: &RelationTrainConfig,
    mut progress: impl FnMut(RelationProgress),
) -> Result<RelationReport> {
    let started = Instant::now();
    if config.batch_size == 0 || config.epochs == 0 {
        return Err(Error::Setting(
            "batch_size and epochs must be at least 1".into(),
        ));
    }
    tch::manual_seed(config.seed as i64);
    let (raw, bert_config) = network_config(config)?;
    let tokenizer = TextTokenizer::from_dir(&config.encoder)?;
    let mut encoder = PairEncoder::new(&tokenizer, config.max_len)?;
    encoder.context = config.context;
    // What the saved config.json records of the inputs: length and context.
    let input = (config.max_len, config.context);
    let n_classes = classes().len();
    let mut net = Net::new(&bert_config, n_classes as i64, config.device);
    let (start_epoch, from) = match &config.resume {
        Some((dir, done)) => (*done, dir),
        None => (0, &config.encoder),
    };
    init(&net, &bert_config, from, config.device)?;
    let nets = Nets {
        student: &net,
        teacher: match &config.teacher {
            Some(d) => Some((load_teacher(d, config.device)?, d)),
            None => None,
        },
    };

    let (train, skipped) = training_examples(config, &encoder, &tokenizer)?;
    let dev = DevSets {
        kbp37: encode_all(&config.dev, &encoder, &tokenizer)?,
        conll04: encode_conll04(&config.conll04_dev, &encoder, &tokenizer)?,
    };
    let (mut step, steps_per_epoch) = Step::schedule(
        train.len(),
        config.batch_size,
        config.max_steps_per_epoch,
        config.epochs,
        config.warmup,
        start_epoch,
        tokenizer.pad_id() as i64,
    );
    let mut opt = nn::AdamW {
        wd: config.weight_decay,
        ..Default::default()
    }
    .build(&net.vs, config.lr)?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(config.seed + start_epoch as u64);
    let mut report = RelationReport {
        epochs: Vec::new(),
        best_epoch: 0,
        seconds: 0.0,
        skipped,
    };
    let mut best = kept_score(config, &bert_config, &dev, step.pad)?;
    for epoch in start_epoch + 1..=config.epochs {
        let batches = bucketed_batches(&train, config.batch_size, steps_per_epoch, &mut rng, |e| {
            e.0.ids.len()
        });
        train_epoch(
            config,
            &nets,
            &mut opt,
            &batches,
            epoch,
            &mut step,
            &mut progress,
        )?;
        let scores = score_epoch(config, &net, &dev, step.pad, epoch)?;
        report.epochs.push(scores);
        let epoch_dir = config.out.with_extension(format!("epoch-{epoch}"));
        save(&net, &raw, &tokenizer, input, &epoch_dir)?;
        if scores.selection() > best {
            best = scores.selection();
            report.best_epoch = epoch;
            save(&net, &raw, &tokenizer, input, &config.out)?;
        }
    }
    net.vs.freeze();
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// What a new epoch must beat to replace the model in `out`: on a resumed run, the dev score
/// of the model the earlier epochs kept there (scored again); otherwise nothing.
fn kept_score(
    config: &RelationTrainConfig,
    bert_config: &BertConfig,
    dev: &DevSets,
    pad: i64,
) -> Result<f64> {
    if config.resume.is_none() || !config.out.join("model.safetensors").is_file() {
        return Ok(f64::NEG_INFINITY);
    }
    let kept = Net::new(bert_config, classes().len() as i64, config.device);
    init(&kept, bert_config, &config.out, config.device)?;
    Ok(score_epoch(config, &kept, dev, pad, 0)?.selection())
}

/// The network's config: the encoder's, with `layers` applied.
fn network_config(config: &RelationTrainConfig) -> Result<(serde_json::Value, BertConfig)> {
    let (mut raw, mut bert_config) = encoder_config(&config.encoder)?;
    if let Some(n) = config.layers {
        if n == 0 || n as i64 > bert_config.num_hidden_layers {
            return Err(Error::Setting(format!(
                "layers {n}: the encoder has {} (keep 1 … {0})",
                bert_config.num_hidden_layers
            )));
        }
        bert_config.num_hidden_layers = n as i64;
        raw["num_hidden_layers"] = n.into();
    }
    Ok((raw, bert_config))
}

/// KBP37's training pairs and CoNLL04's (repeated), encoded; and how many did not fit.
fn training_examples(
    config: &RelationTrainConfig,
    encoder: &PairEncoder,
    tokenizer: &TextTokenizer,
) -> Result<(Vec<Labelled>, usize)> {
    let (mut train, skipped) = encode_all(&config.train, encoder, tokenizer)?;
    let mut skipped = skipped.iter().filter(|&&s| s).count();
    let (conll_train, conll_pairs) = encode_conll04(&config.conll04_train, encoder, tokenizer)?;
    skipped += conll_pairs.iter().filter(|p| !p.1).count();
    for _ in 0..config.conll04_repeat {
        train.extend(conll_train.iter().cloned());
    }
    Ok((train, skipped))
}

/// The encoder folder's `config.json`, as JSON (saved again with the model) and as a BERT config.
fn encoder_config(encoder: &Path) -> Result<(serde_json::Value, BertConfig)> {
    let cfg_path = encoder.join("config.json");
    let raw = read_json(&cfg_path, "encoder configuration")?;
    let bert_config: BertConfig = serde_json::from_value(raw.clone()).map_err(|e| {
        Error::input(
            cfg_path.display().to_string(),
            format!("not a BERT config: {e}"),
        )
    })?;
    Ok((raw, bert_config))
}

/// The dev sets, encoded: KBP37 pairs with which examples were skipped, CoNLL04 candidate pairs.
struct DevSets {
    kbp37: (Vec<Labelled>, Vec<bool>),
    conll04: (Vec<Labelled>, Vec<FitPair>),
}

/// The network being trained and, when distilling, its teacher.
struct Nets<'a> {
    student: &'a Net,
    teacher: Option<(Net, &'a Distill)>,
}

/// One pass over `batches`: the loss over each pair's allowed classes (and the teacher's, when
/// distilling), AdamW with the scheduled learning rate and gradients clipped at 1.0.
fn train_epoch(
    config: &RelationTrainConfig,
    nets: &Nets,
    opt: &mut nn::Optimizer,
    batches: &[Vec<&Labelled>],
    epoch: usize,
    step: &mut Step,
    progress: &mut impl FnMut(RelationProgress),
) -> Result<()> {
    let n_classes = classes().len();
    let (epoch_start, mut seen, mut loss_sum) = (Instant::now(), 0usize, 0.0);
    for (i, batch) in batches.iter().enumerate() {
        let [ids, mask, e1, e2, allowed] = batch_tensors(batch, step.pad, n_classes, config.device);
        let logits = nets.student.forward(&ids, &mask, &e1, &e2, true)?;
        let mut loss = set_loss(&logits, &allowed);
        if let Some((t, d)) = &nets.teacher {
            let soft = tch::no_grad(|| t.forward(&ids, &mask, &e1, &e2, false))?;
            loss = loss * (1.0 - d.weight) + distill_loss(&logits, &soft, d.temperature) * d.weight;
        }
        loss_sum += step.take(opt, config.lr, &loss);
        seen += batch.len();
        progress(RelationProgress {
            epoch,
            step: i + 1,
            steps: batches.len(),
            loss: loss_sum / (i + 1) as f64,
            examples_per_s: seen as f64 / epoch_start.elapsed().as_secs_f64(),
        });
    }
    Ok(())
}

/// KBP37 dev macro- and micro-F1 and CoNLL04 dev F1 (when given) after `epoch`.
fn score_epoch(
    config: &RelationTrainConfig,
    net: &Net,
    dev: &DevSets,
    pad: i64,
    epoch: usize,
) -> Result<EpochScores> {
    let (kbp37, kbp37_skipped) = &dev.kbp37;
    let pred = predict(net, kbp37, pad, config.device, true)?;
    let s = scores(&config.dev, kbp37, &pred, kbp37_skipped);
    let conll04_f1 = if config.conll04_dev.is_empty() {
        None
    } else {
        let (pairs, fit) = &dev.conll04;
        let pred = predict(net, pairs, pad, config.device, false)?;
        Some(conll04_f1(&config.conll04_dev, fit, &pred))
    };
    Ok(EpochScores {
        epoch,
        kbp37_macro_f1: s.macro_f1(),
        kbp37_micro_f1: s.micro_f1(),
        conll04_f1,
    })
}

/// The classes of a relation model folder; `None` for a plain encoder folder.
fn relation_classes(dir: &Path) -> Result<Option<Vec<Option<Directed>>>> {
    let path = dir.join("config.json");
    let raw = crate::engine::read_json(&path, "model configuration")?;
    let block = crate::engine::Block::read(&raw, &path)?;
    crate::relation::model::relation_classes(&block, &path)
}

/// Starts the network from a folder: a pretrained encoder (fresh head), or a relation model,
/// whose head rows are kept for the classes both have (new classes start fresh).
fn init(net: &Net, bert_config: &BertConfig, dir: &Path, device: Device) -> Result<()> {
    let weights = dir.join("model.safetensors");
    let Some(old) = relation_classes(dir)? else {
        return load_var_store(&net.vs, &weights, "bert", Missing::FreshHead);
    };
    let prev = Net::new(bert_config, old.len() as i64, device);
    load_var_store(&prev.vs, &weights, "bert", Missing::Error)?;
    let prev_vars = prev.vs.variables();
    let new = classes();
    tch::no_grad(|| -> Result<()> {
        for (name, mut var) in net.vs.variables() {
            let src = prev_vars
                .get(&name)
                .ok_or_else(|| LoadError::MissingWeight {
                    path: weights.clone(),
                    name: name.clone(),
                })?;
            if name.starts_with("classifier.") {
                for (c, class) in new.iter().enumerate() {
                    if let Some(o) = old.iter().position(|x| x == class) {
                        var.get(c as i64).f_copy_(&src.get(o as i64))?;
                    }
                }
            } else {
                var.f_copy_(src)?;
            }
        }
        Ok(())
    })
}

/// Writes a relation model folder: `config.json` (the encoder's, with `newsgraph.task`,
/// the classes, the markers, the input length and the context it was trained with),
/// `tokenizer.json` and `model.safetensors` (f16).
fn save(
    net: &Net,
    raw: &serde_json::Value,
    tokenizer: &TextTokenizer,
    (max_len, context): (usize, Option<usize>),
    dir: &Path,
) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut raw = raw.clone();
    if let Some(o) = raw.as_object_mut() {
        o.remove("id2label");
        o.remove("label2id");
    }
    raw["architectures"] = serde_json::json!(["NewsgraphRelationClassifier"]);
    let block = crate::engine::Block {
        task: Some("relation".into()),
        classes: Some(
            classes()
                .iter()
                .map(|c| c.map_or("no_relation".to_string(), |d| d.name()))
                .collect(),
        ),
        markers: Some(MARKERS.iter().map(|m| m.to_string()).collect()),
        max_len: Some(max_len),
        train_context: context,
        representation: Some("entity-start markers, concatenated".into()),
        ..crate::engine::Block::default()
    };
    block.write(&mut raw);
    let path = dir.join("config.json");
    let text = serde_json::to_string_pretty(&raw).map_err(|e| Error::Model(e.to_string()))?;
    std::fs::write(&path, text + "\n").map_err(|e| Error::io(&path, e))?;
    tokenizer.save(&dir.join("tokenizer.json"))?;
    save_var_store(&net.vs, dir, true)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_loss_of_a_set_is_minus_the_log_of_its_probability() {
        let logits = Tensor::from_slice(&[1.0f32, 2.0, 3.0, 0.5, 0.5, 0.5]).view([2, 3]);
        let allowed = Tensor::from_slice(&[0.0f32, 1.0, 1.0, 1.0, 0.0, 0.0]).view([2, 3]);
        let got = set_loss(&logits, &allowed).double_value(&[]);
        let p = |row: [f64; 3], keep: &[usize]| {
            let z: f64 = row.iter().map(|x| x.exp()).sum();
            keep.iter().map(|&i| row[i].exp()).sum::<f64>() / z
        };
        let want = -(p([1.0, 2.0, 3.0], &[1, 2]).ln() + p([0.5; 3], &[0]).ln()) / 2.0;
        assert!((got - want).abs() < 1e-5, "{got} vs {want}");
    }

    use super::*;
    use crate::relation::model::{Pair, RelationModel};
    use crate::Engine;

    /// A tiny random relation network (seed 3), its config and a 38-piece tokenizer (written
    /// to `dir`).
    fn tiny_net(dir: &Path) -> (Net, serde_json::Value, TextTokenizer) {
        let mut vocab: Vec<String> = ["[PAD]", "[unused0]", "[unused1]", "[unused2]", "[unused3]"]
            .into_iter()
            .chain(["[UNK]", "[CLS]", "[SEP]"])
            .map(String::from)
            .collect();
        vocab.extend((0..30).map(|i| format!("w{i}")));
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join("vocab.txt"), vocab.join("\n") + "\n").unwrap();
        let tokenizer = TextTokenizer::from_dir(dir).unwrap();
        let raw = serde_json::json!({
            "model_type": "bert", "vocab_size": vocab.len(), "hidden_size": 16,
            "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 24,
            "max_position_embeddings": 64, "type_vocab_size": 2, "hidden_act": "gelu",
            "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
            "initializer_range": 0.02,
        });
        let config: BertConfig = serde_json::from_value(raw.clone()).unwrap();
        tch::manual_seed(3);
        let net = Net::new(&config, classes().len() as i64, Device::Cpu);
        let mut vars: Vec<_> = net.vs.variables().into_iter().collect();
        vars.sort_by(|a, b| a.0.cmp(&b.0));
        tch::no_grad(|| {
            for (_, mut v) in vars {
                let r = v.randn_like() * 0.5;
                v.copy_(&r);
            }
        });
        (net, raw, tokenizer)
    }

    #[test]
    fn a_resumed_epoch_that_does_not_beat_the_kept_model_leaves_it_in_place() {
        let tmp = tempfile::tempdir().unwrap();
        let encoder = tmp.path().join("encoder");
        let (net, raw, tokenizer) = tiny_net(&encoder);
        save(&net, &raw, &tokenizer, (32, None), &encoder).unwrap();
        let data = crate::training::kbp37::parse(concat!(
            "0\t\" <e1> w1 w2 </e1> w3 <e2> w4 </e2> w5 \"\nper:employee_of(e1,e2)\n\n",
            "1\t\" <e2> w6 </e2> w7 <e1> w8 w9 </e1> \"\nper:employee_of(e2,e1)\n\n",
            "2\t\" w10 <e1> w11 </e1> w12 <e2> w13 </e2> \"\nno_relation\n",
        ))
        .unwrap();
        let out = tmp.path().join("out");
        let mut config = RelationTrainConfig {
            encoder,
            train: data.clone(),
            dev: data,
            conll04_train: Vec::new(),
            conll04_repeat: 0,
            conll04_dev: Vec::new(),
            out: out.clone(),
            epochs: 1,
            batch_size: 2,
            lr: 1e-3,
            warmup: 0.1,
            weight_decay: 0.01,
            max_len: 32,
            context: None,
            seed: 1,
            device: Device::Cpu,
            resume: None,
            max_steps_per_epoch: None,
            layers: None,
            teacher: None,
        };
        assert_eq!(train_relations(&config, |_| {}).unwrap().best_epoch, 1);
        // Epoch 2 learns nothing (learning rate 0): its network is epoch 1's, its score the
        // kept model's, which does not beat it.
        config.resume = Some((out.with_extension("epoch-1"), 1));
        config.epochs = 2;
        config.lr = 0.0;
        let resumed = train_relations(&config, |_| {}).unwrap();
        assert_eq!(resumed.epochs.len(), 1);
        assert_eq!(resumed.epochs[0].epoch, 2);
        assert_eq!(resumed.best_epoch, 0, "{resumed:?}");
        assert!(out
            .with_extension("epoch-2")
            .join("model.safetensors")
            .is_file());
    }

    /// A random tiny relation model saved by training's own `save` runs on ONNX Runtime (graph
    /// without a head, head in Rust) with the probabilities of the libtorch network.
    #[test]
    fn the_saved_model_runs_on_onnx_runtime_like_the_trained_network() {
        let tmp = tempfile::tempdir().unwrap();
        let (net, raw, tokenizer) = tiny_net(tmp.path());
        let dir = tmp.path().join("rel");
        save(&net, &raw, &tokenizer, (32, None), &dir).unwrap();
        // The folder holds f16 weights: compare with the network holding them too.
        load_var_store(
            &net.vs,
            &dir.join("model.safetensors"),
            "bert",
            Missing::Error,
        )
        .unwrap();

        let texts = ["w1 w2 w3 w4 w5 w6", "w7 w8 w9 w10 w11 w12 w13 w14 w15"];
        let pairs = [
            Pair {
                text: texts[0],
                e1: (0, 2),
                e2: (9, 14),
            },
            Pair {
                text: texts[1],
                e1: (24, 31),
                e2: (3, 5),
            },
        ];
        let model = RelationModel::load(&dir, Engine::Onnx).unwrap();
        let got = model.probs(&pairs).unwrap();
        let encoder = PairEncoder::new(&tokenizer, 32).unwrap();
        for (p, got) in pairs.iter().zip(got) {
            let e = encoder
                .encode(&tokenizer, p.text, p.e1, p.e2)
                .unwrap()
                .unwrap();
            let [ids, mask, e1, e2, _] =
                batch_tensors(&[&(e, vec![0])], 0, classes().len(), Device::Cpu);
            let want = tch::no_grad(|| net.forward(&ids, &mask, &e1, &e2, false))
                .unwrap()
                .softmax(-1, Kind::Float)
                .view([-1]);
            let want = Vec::<f32>::try_from(&want).unwrap();
            let got = got.unwrap();
            let diff = want
                .iter()
                .zip(&got)
                .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
            let top = want.iter().fold(0f32, |m, &v| m.max(v));
            assert!(diff < 1e-5, "max |diff| {diff}");
            assert!(top > 0.1, "the probabilities are flat ({top})");
        }
        let int8 = RelationModel::load(&dir, Engine::Auto).unwrap();
        assert_eq!(int8.engine(), Engine::OnnxInt8);
        assert_eq!(int8.predict(&pairs).unwrap().len(), 2);
    }
}
