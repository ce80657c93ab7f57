//! The pipeline: articles in, [`Document`]s out, in parallel.
//!
//! Work is shaped for throughput: all articles are tokenized and windowed in parallel, the
//! windows of *all* articles are sorted by length and cut into batches (little padding, no
//! per-article model call), the batches run in parallel on one shared model, and decoding runs
//! in parallel per article. Batches are formed before any work is scheduled, so the output
//! does not depend on the number of threads.

mod batch;
mod document;
mod options;
mod prepare;
mod relate;

pub(crate) use document::document;
pub use options::{PipelineOptions, RELATION_THRESHOLD};
pub(crate) use prepare::{prepare, Prepared};

use crate::encoder::EncoderInput;
use crate::engine::{Engine, NerModel};
use crate::entity::Entity;
use crate::error::{Error, Result};
use crate::input::Article;
use crate::output::Document;
use crate::relation::RelationModel;
use batch::{by_length, scatter, Batch, Order};
use rayon::prelude::*;
use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::Arc;

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
        let sentences: Vec<Vec<usize>> = prepared
            .iter()
            .map(|p| p.as_ref().map(|p| p.sentences.clone()).unwrap_or_default())
            .collect();
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
            self.relate(relations, articles, &sentences, &mut docs);
        }
        docs
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
        let all: Vec<(usize, usize, usize)> = prepared
            .iter()
            .enumerate()
            .filter_map(|(a, p)| p.as_ref().ok().map(|p| (a, p)))
            .flat_map(|(a, p)| {
                p.windows
                    .iter()
                    .enumerate()
                    .map(move |(w, win)| (win.len() + 2, a, w))
            })
            .collect();
        by_length(all, self.options.batch_size, Order::LongestFirst)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entity::EntityKind;

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
