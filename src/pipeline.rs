//! The pipeline: articles in, [`Document`]s out, in parallel.
//!
//! Work is shaped for throughput: all articles are tokenized and windowed in parallel, the
//! windows of *all* articles are sorted by length and cut into batches (little padding, no
//! per-article model call), the batches run in parallel on one shared model, and decoding runs
//! in parallel per article. Batches are formed before any work is scheduled, so the output
//! does not depend on the number of threads.

use crate::clean::{blank, furniture, Skipped};
use crate::cluster::cluster;
use crate::decode::{spans, word_labels, Aggregation, Decoding, LabelSet, WordLabel, WordSpan};
use crate::encoder::EncoderInput;
use crate::entity::{Entity, EntityKind};
use crate::error::{Error, Result};
use crate::input::Article;
use crate::model::{Engine, NerModel};
use crate::output::Document;
use crate::relation::candidates::{candidates, decide, Candidate};
use crate::relation::model::{Encoded, BATCH};
use crate::relation::{Pair, RelationModel};
use crate::segment::{cut_quality, sentence_starts, windows, Window};
use crate::span::CharIndex;
use crate::temporal::{article_date, find as find_temporal};
use crate::tokenize::{TextTokenizer, Tokens};
use chrono::NaiveDate;
use rayon::prelude::*;
use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Settings of a [`Pipeline`]: start from the default and change what you need.
///
/// ```
/// use newsgraph::{Engine, PipelineOptions};
/// let options = PipelineOptions::default().engine(Engine::Onnx).batch_size(32).window(64);
/// assert_eq!((options.batch_size, options.window), (32, Some(64)));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct PipelineOptions {
    /// Windows per forward pass.
    pub batch_size: usize,
    /// How sub-token scores become word labels.
    pub aggregation: Aggregation,
    /// How word labels are chosen: the best valid label sequence (default) or each word's most
    /// probable label (see the README's accuracy table).
    pub decoding: Decoding,
    /// Mentions of one name in an article get one type: a score-weighted vote; the winner needs
    /// half the votes, mentions scored above 0.9 keep their own type unless it has two thirds
    /// (see the README's accuracy table).
    pub type_vote: bool,
    /// Worker threads for tokenizing, batches and decoding; 0 = one per core. Default 1: one
    /// worker whose forward passes use every core (`engine_threads`). On 2 cores that reached
    /// 97.5% of the int8 engine's pure forward throughput.
    pub threads: usize,
    /// Threads of the ONNX Runtime session within one forward pass; 0 = one per core. (The
    /// rust-bert engine uses libtorch's own setting, which newsgraph leaves alone.)
    pub engine_threads: usize,
    /// Tokens shared by neighbouring windows; `None` = a sixteenth of the window (7 tokens of a
    /// 128-token window). Measured on CoNLL-2003 dev with the shipped model: F1 93.16 with a
    /// quarter, 93.15 with a sixteenth, 92.80 with none; a sixteenth is 23% faster on news.
    pub overlap: Option<usize>,
    /// Window length in tokens including special tokens; `None` = the model's.
    pub window: Option<usize>,
    /// Longer articles get an error instead of a result (never a truncated one).
    pub max_text_bytes: usize,
    /// Which implementation runs the forward pass (used by [`Pipeline::load`]).
    pub engine: Engine,
    /// Marks web-page furniture (listed in [`Document::skipped`](crate::Document::skipped)) and
    /// keeps it from the model.
    pub clean: bool,
    /// Articles that [`Pipeline::stream`] takes from its input at a time: memory stays bounded
    /// by this many articles, and larger chunks batch windows with less padding.
    pub chunk: usize,
    /// The relation model folder ([`crate::default_relation_model_dir`] by default); `None`:
    /// relations from the rules only (titles, acronyms, who spoke to whom; faster).
    pub relation_model: Option<PathBuf>,
    /// A learned relation is kept when its probability is at least this (chosen on CoNLL04
    /// dev: see the README).
    pub relation_threshold: f32,
    /// Tokens of context the relation model sees on each side of a pair. `None` (the
    /// default): as the model was trained, from its `config.json` (the shipped model: 4; on
    /// CoNLL04 dev that costs 0.5 F1 against whole sentences and saves half the relation
    /// model's work); a number at least as long as any sentence (`usize::MAX`): the whole
    /// sentence.
    pub relation_context: Option<usize>,
    /// Pairs spanning more tokens than this are not classified (`None`: up to the model's
    /// input length). Default 30: on CoNLL04 dev it raises F1 (far pairs are mostly false).
    pub relation_max_span: Option<usize>,
    /// Runs the relation rules (titles as text values, acronyms, who spoke to whom, and the
    /// pair rules the README lists as kept).
    pub relation_rules: bool,
}

impl Default for PipelineOptions {
    fn default() -> Self {
        PipelineOptions {
            batch_size: 16,
            aggregation: Aggregation::First,
            decoding: Decoding::Viterbi,
            type_vote: true,
            threads: 1,
            engine_threads: 0,
            overlap: None,
            window: None,
            max_text_bytes: 32 << 20,
            engine: Engine::Auto,
            clean: true,
            chunk: 256,
            relation_model: Some(crate::default_relation_model_dir()),
            relation_threshold: RELATION_THRESHOLD,
            relation_rules: true,
            relation_context: None,
            relation_max_span: Some(30),
        }
    }
}

/// Builder-style setters, one per field, named after it.
macro_rules! setters {
    ($($(#[$doc:meta])* $field:ident: $ty:ty),* $(,)?) => {
        impl PipelineOptions {
            $(
                $(#[$doc])*
                pub fn $field(mut self, value: $ty) -> Self {
                    self.$field = value;
                    self
                }
            )*
        }
    };
}

setters! {
    /// Sets [`batch_size`](Self::batch_size).
    batch_size: usize,
    /// Sets [`aggregation`](Self::aggregation).
    aggregation: Aggregation,
    /// Sets [`decoding`](Self::decoding).
    decoding: Decoding,
    /// Sets [`type_vote`](Self::type_vote).
    type_vote: bool,
    /// Sets [`threads`](Self::threads).
    threads: usize,
    /// Sets [`engine_threads`](Self::engine_threads).
    engine_threads: usize,
    /// Sets [`max_text_bytes`](Self::max_text_bytes).
    max_text_bytes: usize,
    /// Sets [`engine`](Self::engine).
    engine: Engine,
    /// Sets [`clean`](Self::clean).
    clean: bool,
    /// Sets [`chunk`](Self::chunk).
    chunk: usize,
    /// Sets [`relation_threshold`](Self::relation_threshold).
    relation_threshold: f32,
    /// Sets [`relation_rules`](Self::relation_rules).
    relation_rules: bool,
}

impl PipelineOptions {
    /// Sets [`overlap`](Self::overlap) (`None`: the default).
    pub fn overlap(mut self, tokens: impl Into<Option<usize>>) -> Self {
        self.overlap = tokens.into();
        self
    }

    /// Sets [`window`](Self::window) (`None`: the model's).
    pub fn window(mut self, tokens: impl Into<Option<usize>>) -> Self {
        self.window = tokens.into();
        self
    }

    /// Sets [`relation_context`](Self::relation_context).
    pub fn relation_context(mut self, tokens: impl Into<Option<usize>>) -> Self {
        self.relation_context = tokens.into();
        self
    }

    /// Sets [`relation_max_span`](Self::relation_max_span).
    pub fn relation_max_span(mut self, tokens: impl Into<Option<usize>>) -> Self {
        self.relation_max_span = tokens.into();
        self
    }

    /// Sets [`relation_model`](Self::relation_model) (`None`: rules only).
    pub fn relation_model(mut self, dir: impl Into<Option<PathBuf>>) -> Self {
        self.relation_model = dir.into();
        self
    }
}

/// The default [`PipelineOptions::relation_threshold`].
pub const RELATION_THRESHOLD: f32 = 0.1;

/// Runs a model over articles.
///
/// ```
/// # fn main() -> newsgraph::Result<()> {
/// use newsgraph::{Article, Pipeline, PipelineOptions};
/// let pipeline = Pipeline::load(&newsgraph::default_model_dir(), PipelineOptions::default())?;
/// let docs = pipeline.process(&[Article::new("a", "Vladimir Putin met Joe Biden in Geneva.")]);
/// let doc = docs[0].as_ref().unwrap();
/// let people: Vec<&str> = doc.entities.iter()
///     .filter(|e| e.kind == newsgraph::EntityKind::Person)
///     .map(|e| e.text.as_str()).collect();
/// assert_eq!(people, ["Vladimir Putin", "Joe Biden"]);
/// # Ok(()) }
/// ```
pub struct Pipeline {
    model: Arc<NerModel>,
    relations: Option<RelationModel>,
    options: PipelineOptions,
    pool: rayon::ThreadPool,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("model", &self.model)
            .field("options", &self.options)
            .finish()
    }
}

/// Counts from [`Pipeline::window_stats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct WindowStats {
    /// Windows.
    pub windows: usize,
    /// Tokens in the windows, special tokens included.
    pub tokens: usize,
    /// Tokens fed to the model, padding included.
    pub padded_tokens: usize,
}

/// An article after cleaning, tokenization and windowing.
pub(crate) struct Prepared {
    pub(crate) tokens: Tokens,
    pub(crate) windows: Vec<Window>,
    pub(crate) date: Option<NaiveDate>,
    pub(crate) skipped: Vec<Skipped>,
}

/// One forward pass: which windows of which articles.
struct Batch {
    items: Vec<(usize, usize)>, // (article, window)
    len: usize,                 // longest window, special tokens included
}

impl Pipeline {
    /// Loads a model folder and makes a pipeline.
    pub fn load(dir: &Path, options: PipelineOptions) -> Result<Self> {
        let model = NerModel::open(dir, options.engine, options.engine_threads)?;
        Self::new(model, options)
    }

    /// Makes a pipeline over a loaded model.
    pub fn new(mut model: NerModel, options: PipelineOptions) -> Result<Self> {
        if options.batch_size == 0 {
            return Err(Error::Setting("batch_size must be at least 1".into()));
        }
        if options.chunk == 0 {
            return Err(Error::Setting("chunk must be at least 1".into()));
        }
        if let Some(w) = options.window {
            if w < 8 || w > model.config().max_positions {
                return Err(Error::Setting(format!(
                    "window {w} is outside 8..={} (the model's positions)",
                    model.config().max_positions
                )));
            }
        }
        if model.engine_threads() != options.engine_threads {
            model.set_engine_threads(options.engine_threads)?;
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(options.threads)
            .build()
            .map_err(|e| {
                Error::Setting(format!("cannot start {} threads: {e}", options.threads))
            })?;
        if !(0.0..=1.0).contains(&options.relation_threshold) {
            return Err(Error::Setting(format!(
                "relation_threshold {} is outside 0..=1",
                options.relation_threshold
            )));
        }
        let relations = match &options.relation_model {
            Some(dir) => {
                let engine = match options.engine {
                    e @ (Engine::Onnx | Engine::OnnxInt8Rows) => e,
                    _ => Engine::OnnxInt8,
                };
                let mut m = RelationModel::load_with_threads(dir, engine, options.engine_threads)
                    .map_err(|e| match e {
                    Error::Model(m) => Error::Model(format!(
                        "the relation model {} runs on ONNX Runtime only: {m}; without the \
                             runtime, load the pipeline with relation_model None (extract \
                             --no-relation-model)",
                        dir.display()
                    )),
                    e => e,
                })?;
                let context = options.relation_context.or(m.trained_context());
                m.set_input_limits(context, options.relation_max_span);
                Some(m)
            }
            None => None,
        };
        Ok(Pipeline {
            model: Arc::new(model),
            relations,
            options,
            pool,
        })
    }

    /// The engine that runs the forward passes (what [`Engine::Auto`] became).
    pub fn engine(&self) -> Engine {
        self.model.engine()
    }

    /// The model.
    pub fn model(&self) -> &NerModel {
        &self.model
    }

    /// Label probabilities of one batch (see [`NerModel::probs`]). Unlike the model, a
    /// pipeline can be shared between threads, so this can run on several at once.
    pub fn probs(&self, input: &EncoderInput) -> Result<Vec<f32>> {
        self.model.probs(input)
    }

    /// The settings.
    pub fn options(&self) -> &PipelineOptions {
        &self.options
    }

    /// Window length in tokens, special tokens included.
    pub fn window_len(&self) -> usize {
        self.options
            .window
            .unwrap_or_else(|| self.model.config().window_len())
    }

    /// How the articles would be cut and batched: windows, their tokens (special tokens
    /// included) and the tokens after padding to each batch's longest window.
    pub fn window_stats(&self, articles: &[Article]) -> Result<WindowStats> {
        let prepared: Vec<Result<Prepared>> = self
            .pool
            .install(|| articles.par_iter().map(|a| self.prepare(a)).collect());
        let mut stats = WindowStats::default();
        for p in &prepared {
            let p = p.as_ref().map_err(|e| Error::Model(e.to_string()))?;
            stats.windows += p.windows.len();
            stats.tokens += p.windows.iter().map(|w| w.len() + 2).sum::<usize>();
        }
        stats.padded_tokens = self
            .batches(&prepared)
            .iter()
            .map(|b| b.len * b.items.len())
            .sum();
        Ok(stats)
    }

    /// Entities of one text.
    pub fn extract(&self, text: &str) -> Result<Vec<Entity>> {
        let mut docs = self.process(&[Article::new("text", text)]);
        docs.pop()
            .unwrap_or_else(|| Err(Error::Model("no result".into())))
            .map(|d| d.entities)
    }

    /// Processes articles in parallel; one result per article, in input order. A bad article
    /// gets its own error and costs the others nothing.
    pub fn process(&self, articles: &[Article]) -> Vec<Result<Document>> {
        self.pool.install(|| self.process_in_pool(articles))
    }

    /// Processes articles lazily, [`PipelineOptions::chunk`] at a time, and yields one result
    /// per article in input order as each chunk finishes: a corpus larger than memory streams
    /// through, and a consumer that writes each result as it comes keeps all that was done.
    ///
    /// ```
    /// # fn main() -> newsgraph::Result<()> {
    /// use newsgraph::{Article, Pipeline, PipelineOptions};
    /// let options = PipelineOptions::default().chunk(2);
    /// let pipeline = Pipeline::load(&newsgraph::default_model_dir(), options)?;
    /// let articles = (0..5).map(|i| Article::new(format!("a{i}"), "Angela Merkel visited Paris."));
    /// let mut ids = Vec::new();
    /// for doc in pipeline.stream(articles) {
    ///     ids.push(doc?.id);
    /// }
    /// assert_eq!(ids, ["a0", "a1", "a2", "a3", "a4"]);
    /// # Ok(()) }
    /// ```
    pub fn stream<I>(&self, articles: I) -> Stream<'_, I::IntoIter>
    where
        I: IntoIterator<Item = Article>,
    {
        Stream {
            pipeline: self,
            input: articles.into_iter(),
            ready: VecDeque::new(),
        }
    }

    fn process_in_pool(&self, articles: &[Article]) -> Vec<Result<Document>> {
        let model = &self.model;
        let n_labels = model.config().labels.len();
        let prepared: Vec<Result<Prepared>> = articles
            .par_iter()
            .map(|a| guarded(&a.id, "preparing", || self.prepare(a)))
            .collect();
        let batches = self.batches(&prepared);
        let outputs: Vec<Result<Vec<Vec<f32>>>> = batches
            .par_iter()
            .map(|b| {
                guarded("batch", "running the forward pass", || {
                    self.forward(b, &prepared)
                })
            })
            .collect();

        let probs = scatter(articles, &prepared, &batches, outputs, n_labels);
        let labels = &model.config().labels;
        let mut docs: Vec<Result<Document>> = articles
            .par_iter()
            .zip(prepared)
            .zip(probs)
            .map(|((article, prep), probs)| {
                let (prep, probs) = (prep?, probs?);
                guarded(&article.id, "finishing", || {
                    Ok(document(article, &prep, &probs, labels, &self.options))
                })
            })
            .collect();
        if let Some(relations) = &self.relations {
            self.relate(relations, articles, &mut docs);
        }
        docs
    }

    /// The learned relations: candidate pairs of every article encoded, batched by length
    /// across articles, classified, and merged into each document's relations. A failed batch
    /// costs only its articles.
    fn relate(&self, model: &RelationModel, articles: &[Article], docs: &mut [Result<Document>]) {
        let encoded: Vec<Result<Encodings>> = articles
            .par_iter()
            .zip(docs.par_iter())
            .map(|(a, d)| match d {
                Ok(d) => guarded(&a.id, "finding relation candidates", || {
                    encode_candidates(model, &a.text, &d.entities)
                }),
                Err(_) => Ok(Vec::new()),
            })
            .collect();
        let mut all: Vec<(usize, usize, usize)> = Vec::new(); // (length, article, candidate)
        for (a, e) in encoded.iter().enumerate() {
            if let Ok(e) = e {
                for (k, (_, enc)) in e.iter().enumerate() {
                    if let Some(enc) = enc {
                        all.push((enc.ids.len(), a, k));
                    }
                }
            }
        }
        all.sort_unstable();
        let batches: Vec<&[(usize, usize, usize)]> = all.chunks(BATCH).collect();
        let outputs: Vec<Result<Vec<Vec<f32>>>> = batches
            .par_iter()
            .map(|b| {
                guarded("batch", "running the relation model", || {
                    let rows: Vec<&Encoded> = b
                        .iter()
                        .filter_map(|&(_, a, k)| encoded[a].as_ref().ok()?[k].1.as_ref())
                        .collect();
                    model.run(&rows)
                })
            })
            .collect();
        let answers = self.answers(model, articles, docs, &encoded, &batches, outputs);
        let each = docs.iter_mut().zip(articles).zip(encoded).zip(answers);
        for (((doc, a), enc), answers) in each {
            if let Ok(d) = doc {
                match enc {
                    Ok(_) => {
                        let learned =
                            crate::relation::candidates::relations(&a.text, &d.entities, answers);
                        d.relations =
                            crate::relation::merge(learned, std::mem::take(&mut d.relations));
                    }
                    Err(e) => *doc = Err(e),
                }
            }
        }
    }

    /// Each article's answers of the relation model (pair, relation, probability) that fit the
    /// pair's kinds and reach the threshold; the articles of a failed batch get an error.
    fn answers(
        &self,
        model: &RelationModel,
        articles: &[Article],
        docs: &mut [Result<Document>],
        encoded: &[Result<Encodings>],
        batches: &[&[(usize, usize, usize)]],
        outputs: Vec<Result<Vec<Vec<f32>>>>,
    ) -> Vec<Vec<(Candidate, crate::relation::Directed, f32)>> {
        let mut answers: Vec<Vec<(Candidate, crate::relation::Directed, f32)>> =
            vec![Vec::new(); articles.len()];
        let threshold = self.options.relation_threshold;
        for (batch, out) in batches.iter().zip(outputs) {
            match out {
                Ok(rows) if rows.len() == batch.len() => {
                    for (&(_, a, k), probs) in batch.iter().zip(rows) {
                        let (Ok(enc), Ok(doc)) = (&encoded[a], &docs[a]) else {
                            continue;
                        };
                        let c = enc[k].0;
                        let (e1, e2) = (&doc.entities[c.e1].kind, &doc.entities[c.e2].kind);
                        if let Some((d, p)) = decide(model.classes(), &probs, e1, e2, threshold) {
                            answers[a].push((c, d, p));
                        }
                    }
                }
                other => {
                    let why = match other {
                        Err(e) => e.to_string(),
                        Ok(rows) => format!("{} answers for {} pairs", rows.len(), batch.len()),
                    };
                    for &(_, a, _) in batch.iter() {
                        docs[a] = Err(Error::input(
                            &articles[a].id,
                            format!("the relation model's batch failed: {why}"),
                        ));
                    }
                }
            }
        }
        answers
    }

    fn prepare(&self, article: &Article) -> Result<Prepared> {
        prepare(
            article,
            self.model.tokenizer(),
            &self.options,
            self.window_len(),
        )
    }

    fn batches(&self, prepared: &[Result<Prepared>]) -> Vec<Batch> {
        let mut all: Vec<(usize, usize, usize)> = prepared
            .iter()
            .enumerate()
            .filter_map(|(a, p)| p.as_ref().ok().map(|p| (a, p)))
            .flat_map(|(a, p)| {
                p.windows
                    .iter()
                    .enumerate()
                    .map(move |(w, win)| (win.len(), a, w))
            })
            .collect();
        // Longest first; ties in input order, so batches never depend on scheduling.
        all.sort_by(|x, y| y.0.cmp(&x.0).then(x.1.cmp(&y.1)).then(x.2.cmp(&y.2)));
        all.chunks(self.options.batch_size)
            .map(|c| Batch {
                items: c.iter().map(|&(_, a, w)| (a, w)).collect(),
                len: c[0].0 + 2,
            })
            .collect()
    }

    /// Runs one batch; returns per window the probabilities of the tokens it owns.
    fn forward(&self, batch: &Batch, prepared: &[Result<Prepared>]) -> Result<Vec<Vec<f32>>> {
        let model = &self.model;
        let tok = model.tokenizer();
        let (b, t) = (batch.items.len(), batch.len);
        let mut input = EncoderInput::new(b, t);
        input.ids.fill(tok.pad_id() as i32);
        let mut spans = Vec::with_capacity(b);
        for (row, &(a, w)) in batch.items.iter().enumerate() {
            let p = prepared[a]
                .as_ref()
                .map_err(|_| Error::Model("batched a failed article".into()))?;
            let win = p.windows[w];
            let base = row * t;
            input.ids[base] = tok.cls_id() as i32;
            for (j, i) in (win.start..win.end).enumerate() {
                input.ids[base + 1 + j] = p.tokens.ids[i] as i32;
                input.casing[base + 1 + j] = p.tokens.casing[p.tokens.word_of[i] as usize] as i32;
            }
            input.ids[base + 1 + win.len()] = tok.sep_id() as i32;
            input.mask[base..base + win.len() + 2].fill(1);
            // Rows of the owned tokens, offset by the leading special token.
            spans.push((1 + win.own_start - win.start, 1 + win.own_end - win.start));
        }
        let probs = model.probs(&input)?;
        let n = model.config().labels.len();
        spans
            .iter()
            .enumerate()
            .map(|(row, &(s, e))| {
                probs
                    .get((row * t + s) * n..(row * t + e) * n)
                    .map(<[f32]>::to_vec)
                    .ok_or_else(|| Error::Model("the engine returned too few probabilities".into()))
            })
            .collect()
    }
}

/// The stages before the forward pass: cleaning, tokenization and windowing of one article.
pub(crate) fn prepare(
    article: &Article,
    tokenizer: &TextTokenizer,
    options: &PipelineOptions,
    window_len: usize,
) -> Result<Prepared> {
    let text = &article.text;
    if text.len() > options.max_text_bytes {
        return Err(Error::input(
            &article.id,
            format!(
                "text is {} bytes, over the limit of {} (PipelineOptions::max_text_bytes)",
                text.len(),
                options.max_text_bytes
            ),
        ));
    }
    check_not_binary(text).map_err(|m| Error::input(&article.id, m))?;
    let date_line = article_date(text);
    let date = article
        .date
        .as_deref()
        .and_then(|d| NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d").ok())
        .or(date_line.map(|(d, _)| d));
    let skipped = if options.clean {
        furniture(text, date_line.map(|(_, span)| span))
    } else {
        Vec::new()
    };
    let blanked;
    let model_text = if skipped.is_empty() {
        text.as_str()
    } else {
        blanked = blank(text, &skipped);
        blanked.as_str()
    };
    let tokens = tokenizer
        .tokenize(model_text)
        .map_err(|e| Error::input(&article.id, e.to_string()))?;
    let windows = if tokens.is_empty() {
        Vec::new()
    } else {
        let cuts = cut_quality(
            &tokens.offsets,
            &tokens.word_of,
            &sentence_starts(model_text),
        );
        let max_len = window_len.saturating_sub(2);
        windows(&cuts, max_len, options.overlap.unwrap_or(max_len / 16))
    };
    Ok(Prepared {
        tokens,
        windows,
        date,
        skipped,
    })
}

/// The stage after the forward pass: word labels, entities, clusters, quotes, the relation
/// rules (when on) and dates of one article. `probs` holds the label probabilities of each
/// token of `prep`.
pub(crate) fn document(
    article: &Article,
    prep: &Prepared,
    probs: &[f32],
    labels: &LabelSet,
    options: &PipelineOptions,
) -> Document {
    let text = &article.text;
    #[cfg(test)]
    if text.contains(tests::PANIC_HOOK) {
        panic!("test hook in {}", article.id);
    }
    let words = word_labels(
        probs,
        labels,
        &prep.tokens.word_of,
        prep.tokens.words.len(),
        options.aggregation,
        options.decoding,
    );
    let mut entities = entities(text, &prep.tokens.words, &words, labels);
    crate::entity::join_possessive_institutions(text, &mut entities);
    crate::entity::attach_abbreviation_periods(text, &mut entities);
    if options.type_vote {
        crate::entity::vote_types(
            &mut entities,
            crate::entity::TYPE_VOTE_SHARE,
            crate::entity::TYPE_VOTE_KEEP_ABOVE,
            crate::entity::TYPE_VOTE_OVERRULE,
        );
    }
    let (clusters, of) = cluster(text, &entities);
    for (e, c) in entities.iter_mut().zip(of) {
        e.cluster = (c != usize::MAX).then_some(c);
    }
    // Numbers inside names ("BBC Radio 4") are not quantities.
    let skip: Vec<(usize, usize)> = prep
        .skipped
        .iter()
        .map(|s| (s.start, s.end))
        .chain(entities.iter().map(|e| (e.start, e.end)))
        .collect();
    Document {
        id: article.id.clone(),
        text_len: text.len(),
        title: article.title.clone(),
        date: prep
            .date
            .map(|d| d.to_string())
            .or_else(|| article.date.clone()),
        temporal: find_temporal(text, prep.date, &skip),
        quotes: crate::quote::find(text, &entities),
        relations: if options.relation_rules {
            crate::relation::rules::find(text, &entities)
        } else {
            Vec::new()
        },
        entities,
        clusters,
        skipped: prep.skipped.clone(),
    }
}

/// Each article's token probabilities: every window's rows for the tokens it owns, put in
/// place; an article whose batch failed, or whose rows do not fit, gets an error.
fn scatter(
    articles: &[Article],
    prepared: &[Result<Prepared>],
    batches: &[Batch],
    outputs: Vec<Result<Vec<Vec<f32>>>>,
    n_labels: usize,
) -> Vec<Result<Vec<f32>>> {
    let mut probs: Vec<Result<Vec<f32>>> = prepared
        .iter()
        .map(|p| match p {
            Ok(p) => Ok(vec![0.0; p.tokens.len() * n_labels]),
            Err(_) => Ok(Vec::new()),
        })
        .collect();
    for (batch, out) in batches.iter().zip(outputs) {
        match out {
            Ok(rows) => {
                for (&(a, w), row) in batch.items.iter().zip(rows) {
                    if let (Ok(dest), Ok(p)) = (&mut probs[a], &prepared[a]) {
                        let win = p.windows[w];
                        match dest.get_mut(win.own_start * n_labels..win.own_end * n_labels) {
                            Some(d) if d.len() == row.len() => d.copy_from_slice(&row),
                            _ => {
                                probs[a] = Err(Error::input(
                                    &articles[a].id,
                                    format!(
                                        "the engine gave {} scores for {} tokens of {} labels",
                                        row.len(),
                                        win.own_end - win.own_start,
                                        n_labels
                                    ),
                                ))
                            }
                        }
                    }
                }
            }
            Err(e) => {
                for &(a, _) in &batch.items {
                    probs[a] = Err(Error::input(
                        &articles[a].id,
                        format!("the forward pass of its batch failed: {e}"),
                    ));
                }
            }
        }
    }
    probs
}

/// The entity mentions of labelled words: spans split at line breaks, trimmed of punctuation
/// words and edges, with byte and character offsets.
fn entities(
    text: &str,
    words: &[(usize, usize)],
    labelled: &[WordLabel],
    labels: &LabelSet,
) -> Vec<Entity> {
    let tags: Vec<_> = labelled.iter().map(|w| labels.tags()[w.label]).collect();
    let scores: Vec<f32> = labelled.iter().map(|w| w.score).collect();
    let chars = CharIndex::new(text);
    spans(&tags, &scores)
        .into_iter()
        .flat_map(|s| split_at_line_breaks(text, words, s))
        .filter_map(|s| trim_punctuation_words(text, words, s))
        .filter_map(|s| {
            let (start, end) = trim_span(text, words[s.first].0, words[s.last].1);
            if start >= end {
                return None;
            }
            let label = labels.types()[s.typ].clone();
            let (char_start, char_end) = (chars.at(start), chars.at(end));
            Some(Entity {
                text: text[start..end].to_string(),
                kind: EntityKind::from_label(&label),
                label,
                start,
                end,
                char_start,
                char_end,
                score: s.score,
                cluster: None,
            })
        })
        .collect()
}

/// An article's candidate pairs with their marked token ids (`None`: too far apart).
type Encodings = Vec<(Candidate, Option<Encoded>)>;

/// The candidate pairs of an article with their marked token ids (`None`: too far apart for
/// the model's input).
fn encode_candidates(
    model: &RelationModel,
    text: &str,
    entities: &[Entity],
) -> Result<Vec<(Candidate, Option<Encoded>)>> {
    candidates(text, entities)
        .into_iter()
        .map(|c| {
            let (s, e) = c.sentence;
            let span = |x: &Entity| (x.start - s, x.end - s);
            let pair = Pair {
                text: &text[s..e],
                e1: span(&entities[c.e1]),
                e2: span(&entities[c.e2]),
            };
            Ok((c, model.encode(&pair)?))
        })
        .collect()
}

/// The iterator of [`Pipeline::stream`]: one result per article, in input order.
pub struct Stream<'a, I> {
    pipeline: &'a Pipeline,
    input: I,
    ready: VecDeque<Result<Document>>,
}

impl<I: Iterator<Item = Article>> Iterator for Stream<'_, I> {
    type Item = Result<Document>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.ready.is_empty() {
            let chunk: Vec<Article> = self
                .input
                .by_ref()
                .take(self.pipeline.options.chunk)
                .collect();
            self.ready.extend(self.pipeline.process(&chunk));
        }
        self.ready.pop_front()
    }
}

/// Runs one stage of one article (or batch); a panic becomes that article's error, so that it
/// never costs the other articles their results. A panic is still a bug: the error says so.
fn guarded<T>(id: &str, stage: &'static str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|payload| {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        Err(Error::Internal {
            article: id.to_string(),
            stage,
            message,
        })
    })
}

/// Rejects text that is not language: NUL bytes, or mostly control characters.
fn check_not_binary(text: &str) -> Result<(), String> {
    if text.contains('\0') {
        return Err("looks like binary data (contains NUL characters)".into());
    }
    let (mut control, mut total) = (0usize, 0usize);
    for c in text.chars() {
        total += 1;
        if c.is_control() && !matches!(c, '\n' | '\r' | '\t') {
            control += 1;
        }
    }
    if control > 0 && control * 10 > total {
        return Err(format!(
            "looks like binary data ({control} of {total} characters are control characters)"
        ));
    }
    Ok(())
}

/// An entity never spans a line break: a headline or a list item ends at it.
fn split_at_line_breaks(text: &str, words: &[(usize, usize)], s: WordSpan) -> Vec<WordSpan> {
    let mut out = Vec::new();
    let mut first = s.first;
    for w in s.first + 1..=s.last {
        if text[words[w - 1].1..words[w].0].contains('\n') {
            out.push(WordSpan {
                first,
                last: w - 1,
                ..s
            });
            first = w;
        }
    }
    out.push(WordSpan { first, ..s });
    out
}

/// Drops words without letters or digits ("(", "“", "-") from the edges of an entity.
fn trim_punctuation_words(
    text: &str,
    words: &[(usize, usize)],
    mut s: WordSpan,
) -> Option<WordSpan> {
    let has_content = |w: usize| {
        text[words[w].0..words[w].1]
            .chars()
            .any(char::is_alphanumeric)
    };
    while s.first <= s.last && !has_content(s.first) {
        s.first += 1;
    }
    while s.last > s.first && !has_content(s.last) {
        s.last -= 1;
    }
    (s.first <= s.last && has_content(s.first)).then_some(s)
}

fn trim_span(text: &str, start: usize, end: usize) -> (usize, usize) {
    let s = &text[start..end];
    let lead = s.len() - s.trim_start().len();
    let trimmed = s.trim();
    (start + lead, start + lead + trimmed.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An article holding this text panics in the stage after the forward pass (tests only).
    pub(super) const PANIC_HOOK: &str = "\u{E000}panic in the finishing stage\u{E000}";

    #[test]
    fn a_panicking_stage_costs_only_its_article() {
        let options = PipelineOptions {
            chunk: 2,
            threads: 2,
            ..PipelineOptions::default()
        };
        let p = Pipeline::load(&crate::default_model_dir(), options).unwrap();
        let text = "Angela Merkel met Emmanuel Macron in Paris.";
        let articles = vec![
            Article::new("a", text),
            Article::new("bad", format!("{text} {PANIC_HOOK}")),
            Article::new("c", text),
        ];
        // int8 activations are quantized per batch: scores depend on the batch, spans do not.
        let spans = |d: &Document| -> Vec<(String, EntityKind, usize, usize)> {
            d.entities
                .iter()
                .map(|e| (e.text.clone(), e.kind.clone(), e.start, e.end))
                .collect()
        };
        let alone = spans(&p.process(&articles[..1]).remove(0).unwrap());
        assert_eq!(alone.len(), 3);
        for results in [p.process(&articles), p.stream(articles.clone()).collect()] {
            assert_eq!(results.len(), 3);
            assert_eq!(spans(results[0].as_ref().unwrap()), alone);
            let err = results[1].as_ref().unwrap_err().to_string();
            assert!(
                err.starts_with("bad: internal error while finishing") && err.contains("test hook"),
                "{err}"
            );
            let c = results[2].as_ref().unwrap();
            assert_eq!((c.id.as_str(), spans(c)), ("c", alone.clone()));
        }
    }

    #[test]
    fn stream_pulls_one_chunk_at_a_time() {
        let options = PipelineOptions {
            chunk: 3,
            ..PipelineOptions::default()
        };
        let p = Pipeline::load(&crate::default_model_dir(), options).unwrap();
        let pulled = std::cell::Cell::new(0);
        let input = (0..8).map(|i| {
            pulled.set(pulled.get() + 1);
            Article::new(format!("a{i}"), "Kyiv")
        });
        let mut stream = p.stream(input);
        assert_eq!(stream.next().unwrap().unwrap().id, "a0");
        assert_eq!(pulled.get(), 3);
        let rest: Vec<String> = stream.map(|d| d.unwrap().id).collect();
        assert_eq!(rest, ["a1", "a2", "a3", "a4", "a5", "a6", "a7"]);
        assert_eq!(pulled.get(), 8);
    }
}
