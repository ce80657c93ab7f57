//! [`PipelineOptions`]: every setting of a pipeline and its default, in one place. The
//! examples, the Python package and the benchmarks read their defaults from here.

use crate::decode::{Aggregation, Decoding};
use crate::engine::Engine;
use std::path::PathBuf;

/// Settings of a [`Pipeline`](crate::Pipeline): start from the default and change what you need.
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
    /// probable label (measured in docs/ner-model.md).
    pub decoding: Decoding,
    /// Mentions of one name in an article get one type: a score-weighted vote; the winner needs
    /// half the votes, mentions scored above 0.9 keep their own type unless it has two thirds
    /// (measured in docs/ner-model.md).
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
    /// Which implementation runs the forward pass (used by [`Pipeline::load`](crate::Pipeline::load)).
    pub engine: Engine,
    /// Marks web-page furniture (listed in [`Document::skipped`](crate::Document::skipped)) and
    /// keeps it from the model.
    pub clean: bool,
    /// Articles that [`Pipeline::stream`](crate::Pipeline::stream) takes from its input at a time: memory stays bounded
    /// by this many articles, and larger chunks batch windows with less padding.
    pub chunk: usize,
    /// The relation model folder ([`crate::default_relation_model_dir`] by default); `None`:
    /// relations from the rules only (titles, acronyms, who spoke to whom; faster).
    pub relation_model: Option<PathBuf>,
    /// A learned relation is kept when its probability is at least this (chosen on CoNLL04
    /// dev: docs/relations.md).
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
    /// Each mention is a relation candidate with at most this many mentions after it in its
    /// sentence (so with its nearest neighbours on either side): candidates, and the relation
    /// model's work, grow linearly with the mentions instead of with their square. Default 8:
    /// every gold pair of CoNLL04 train and dev but one lies within 9 mentions (dev: within
    /// 5). A sentence with more mentions than the bound lets meet is named in
    /// [`Document::limits`](crate::Document::limits), with the pairs left out.
    pub relation_partners: usize,
    /// Runs the relation rules (titles as text values, acronyms, who spoke to whom, and the
    /// pair rules docs/relations.md lists as kept).
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
            relation_partners: 8,
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
    /// Sets [`relation_partners`](Self::relation_partners).
    relation_partners: usize,
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
