//! The learned relation classifier's input and classes: a sentence with its entity pair marked
//! by four marker tokens (`[unused0]` … `[unused3]` of BERT vocabularies: subject start/end,
//! object start/end), classified from the encoder's states at the two start markers
//! (entity-marker / entity-start representation, Baldini Soares et al. 2019).

use super::candidates::decide;
use crate::encoder::{softmax, Encoder, EncoderInput, Output};
use crate::engine::{onnx, read_json, weights::Weights, Architecture, Block, Engine};
use crate::entity::EntityKind;
use crate::error::{Error, LoadError, Result};
use crate::relation::Directed;
use crate::tokenize::TextTokenizer;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Pairs per forward pass.
pub(crate) const BATCH: usize = 64;

/// The marker tokens: first entity start and end, second entity start and end.
pub(crate) const MARKERS: [&str; 4] = ["[unused0]", "[unused1]", "[unused2]", "[unused3]"];

/// The classes a relation model is trained on: `no_relation`, then every KBP37 relation and
/// `loc:located_in` (from CoNLL04), each in both directions.
#[cfg(any(test, feature = "torch"))]
pub(crate) fn classes() -> Vec<Option<Directed>> {
    use crate::relation::RelationKind;
    let mut out = vec![None];
    for kind in RelationKind::ALL {
        if matches!(kind, RelationKind::PerSpokeTo) {
            continue;
        }
        for reversed in [false, true] {
            out.push(Some(Directed { kind, reversed }));
        }
    }
    out
}

/// A marked pair as token ids, `[CLS]` … `[SEP]`, with the positions of the two start markers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Encoded {
    pub(crate) ids: Vec<u32>,
    pub(crate) e1: usize,
    pub(crate) e2: usize,
}

/// Turns (text, span, span) into marked token ids of at most `max_len` tokens; with a
/// `context`, only that many tokens are kept on each side of the pair.
pub(crate) struct PairEncoder {
    markers: [u32; 4],
    cls: u32,
    sep: u32,
    max_len: usize,
    pub(crate) context: Option<usize>,
    /// Pairs spanning more tokens than this (markers included) are not classified.
    pub(crate) max_span: Option<usize>,
}

impl PairEncoder {
    pub(crate) fn new(tokenizer: &TextTokenizer, max_len: usize) -> Result<Self> {
        let mut markers = [0; 4];
        for (m, name) in markers.iter_mut().zip(MARKERS) {
            *m = tokenizer.inner().token_to_id(name).ok_or_else(|| {
                Error::Setting(format!(
                    "the vocabulary has no {name} token for the relation markers"
                ))
            })?;
        }
        if max_len < 8 {
            return Err(Error::Setting(format!("max_len {max_len} is below 8")));
        }
        Ok(PairEncoder {
            markers,
            cls: tokenizer.cls_id(),
            sep: tokenizer.sep_id(),
            max_len,
            context: None,
            max_span: None,
        })
    }

    /// The text's token ids with the four markers in place.
    fn marked(
        &self,
        tokenizer: &TextTokenizer,
        text: &str,
        e1: (usize, usize),
        e2: (usize, usize),
    ) -> Result<Marked> {
        // Marker events by position; at one position, ends before starts.
        let mut events = [(e1.0, 1, 0usize), (e1.1, 0, 1), (e2.0, 1, 2), (e2.1, 0, 3)];
        events.sort();
        let mut out = Marked::default();
        let mut at = 0;
        for (pos, _, m) in events {
            out.body.extend(tokenizer.tokenize(&text[at..pos])?.ids);
            match m {
                0 => out.p1 = out.body.len(),
                2 => out.p2 = out.body.len(),
                _ => {}
            }
            out.last = out.body.len();
            out.body.push(self.markers[m]);
            at = pos;
        }
        out.body.extend(tokenizer.tokenize(&text[at..])?.ids);
        Ok(out)
    }

    /// [`marked`](Self::marked) over a window of the text around the pair, when the input is
    /// cropped to `context` tokens either side anyway: the pair with `context + 2` words
    /// either side, cut after an ASCII space or line break (a word boundary for the WordPiece
    /// tokenizers relation models use, so every token inside the window is the token of the
    /// whole text). When the window gives fewer than `context` tokens on a side it did cut, the
    /// whole text is marked instead. A pair thus costs its neighbourhood, not its sentence:
    /// a sentence that lists hundreds of names is not tokenized once per pair.
    fn marked_locally(
        &self,
        tokenizer: &TextTokenizer,
        text: &str,
        e1: (usize, usize),
        e2: (usize, usize),
        context: usize,
    ) -> Result<Marked> {
        let lo = words_before(text, e1.0.min(e2.0), context + 2);
        let hi = words_after(text, e1.1.max(e2.1), context + 2);
        let shift = |(a, b): (usize, usize)| (a - lo, b - lo);
        let local = self.marked(tokenizer, &text[lo..hi], shift(e1), shift(e2))?;
        let before = local.p1.min(local.p2);
        let after = local.body.len() - (local.last + 1);
        if (lo == 0 || before >= context) && (hi == text.len() || after >= context) {
            Ok(local)
        } else {
            self.marked(tokenizer, text, e1, e2)
        }
    }

    /// The marked ids of the pair; `None` when the two entity starts are too far apart to fit.
    /// Longer inputs are cropped around the pair.
    pub(crate) fn encode(
        &self,
        tokenizer: &TextTokenizer,
        text: &str,
        e1: (usize, usize),
        e2: (usize, usize),
    ) -> Result<Option<Encoded>> {
        let ok = |(a, b): (usize, usize)| {
            a <= b && b <= text.len() && text.is_char_boundary(a) && text.is_char_boundary(b)
        };
        if !ok(e1) || !ok(e2) {
            return Err(Error::Setting(format!(
                "entity spans {e1:?} and {e2:?} do not both lie on a {}-byte text",
                text.len()
            )));
        }
        let Marked {
            mut body,
            mut p1,
            mut p2,
            last,
        } = match self.context {
            Some(c) => self.marked_locally(tokenizer, text, e1, e2, c)?,
            None => self.marked(tokenizer, text, e1, e2)?,
        };
        if self.max_span.is_some_and(|m| last + 1 - p1.min(p2) > m) {
            return Ok(None);
        }
        if let Some(c) = self.context {
            let first = p1.min(p2).saturating_sub(c);
            body.truncate((last + 1 + c).min(body.len()));
            body.drain(..first);
            (p1, p2) = (p1 - first, p2 - first);
        }
        let budget = self.max_len - 2;
        let start = if body.len() <= budget {
            0
        } else {
            let (lo, hi) = (p1.min(p2), p1.max(p2));
            if hi - lo + 1 > budget {
                return Ok(None);
            }
            let slack = budget - (hi - lo + 1);
            (lo - lo.min(slack / 2)).min(body.len() - budget)
        };
        let end = (start + budget).min(body.len());
        let mut ids = Vec::with_capacity(end - start + 2);
        ids.push(self.cls);
        ids.extend_from_slice(&body[start..end]);
        ids.push(self.sep);
        Ok(Some(Encoded {
            ids,
            e1: p1 - start + 1,
            e2: p2 - start + 1,
        }))
    }
}

/// Token ids with the markers in place: where the first and second entity's start markers
/// are, and where the last marker is.
#[derive(Debug, Default)]
struct Marked {
    body: Vec<u32>,
    p1: usize,
    p2: usize,
    last: usize,
}

/// Where the `words`-th word before `at` starts (words cut at ASCII spaces and line breaks),
/// or 0.
fn words_before(text: &str, at: usize, words: usize) -> usize {
    let bytes = &text.as_bytes()[..at];
    let mut seen = 0;
    let mut in_word = false;
    for i in (0..bytes.len()).rev() {
        if matches!(bytes[i], b' ' | b'\n') {
            if in_word {
                seen += 1;
                if seen == words {
                    return i + 1;
                }
            }
            in_word = false;
        } else {
            in_word = true;
        }
    }
    0
}

/// Where the `words`-th word after `at` ends (before the ASCII space or line break that ends
/// it), or the text's end.
fn words_after(text: &str, at: usize, words: usize) -> usize {
    let bytes = text.as_bytes();
    let mut seen = 0;
    let mut in_word = false;
    for (i, &b) in bytes.iter().enumerate().skip(at) {
        if matches!(b, b' ' | b'\n') {
            if in_word {
                seen += 1;
                if seen == words {
                    return i;
                }
            }
            in_word = false;
        } else {
            in_word = true;
        }
    }
    text.len()
}

/// A marked entity pair to classify: a text and the byte spans of its two entities. The
/// direction of an answer refers to this order (`(e2,e1)`: the second entity is the subject).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pair<'a> {
    /// The text (a sentence, or a few).
    pub text: &'a str,
    /// Byte span of the first entity.
    pub e1: (usize, usize),
    /// Byte span of the second entity.
    pub e2: (usize, usize),
}

/// The classifier's answer for a pair.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prediction {
    /// The most probable class; `None` is `no_relation`.
    pub relation: Option<Directed>,
    /// Its probability.
    pub score: f32,
}

/// A relation classifier folder (trained by `examples/train_relations.rs`): a BERT-family
/// encoder run on ONNX Runtime (the graph newsgraph builds, int8 by default) and a linear head
/// over the states of the two entity-start markers, run in Rust.
///
/// ```no_run
/// # fn main() -> newsgraph::Result<()> {
/// use newsgraph::Engine;
/// use newsgraph::model::{Pair, RelationModel};
/// let model = RelationModel::load("models/newsgraph-rel-minilm".as_ref(), Engine::Auto)?;
/// let text = "Thom Yorke of Radiohead said.";
/// let p = model.predict(&[Pair { text, e1: (0, 10), e2: (14, 23) }])?;
/// println!("{:?}", p[0]);
/// # Ok(()) }
/// ```
pub struct RelationModel {
    tokenizer: TextTokenizer,
    pairs: PairEncoder,
    encoder: Box<dyn Encoder>,
    classes: Vec<Option<Directed>>,
    train_context: Option<usize>,
    /// `[classes, 2 × hidden]`, row-major.
    weight: Vec<f32>,
    bias: Vec<f32>,
    hidden: usize,
    pad: u32,
}

/// What a relation model's `config.json` says: the encoder's architecture, the classes and
/// the input length.
struct RelationConfig {
    raw: Value,
    path: PathBuf,
    architecture: Architecture,
    classes: Vec<Option<Directed>>,
    max_len: usize,
    /// Tokens of context on each side of a pair in training (`None`: whole sentences).
    train_context: Option<usize>,
}

impl RelationConfig {
    fn read(dir: &Path) -> Result<Self> {
        let path = dir.join("config.json");
        let invalid = |message: String| LoadError::Invalid {
            path: path.clone(),
            message,
        };
        let raw = read_json(&path, "relation model configuration")?;
        let block = Block::read(&raw, &path)?;
        let Some(classes) = relation_classes(&block, &path)? else {
            return Err(invalid(
                "not a relation model (newsgraph.task is not \"relation\"; a NER model loads with NerModel)"
                    .into(),
            )
            .into());
        };
        let model_type = raw.get("model_type").and_then(Value::as_str).unwrap_or("");
        let architecture = Architecture::from_model_type(model_type)
            .ok_or_else(|| invalid(format!("unknown model_type {model_type:?}")))?;
        let max_len = block.max_len.ok_or_else(|| {
            invalid("no newsgraph.max_len (the input length, a whole number)".into())
        })?;
        Ok(RelationConfig {
            raw,
            path,
            architecture,
            classes,
            max_len,
            train_context: block.train_context,
        })
    }
}

/// The classes of a model config's block (`path` names it in errors); `None` when it is not
/// a relation model (`newsgraph.task` is not "relation").
pub(crate) fn relation_classes(
    block: &Block,
    path: &Path,
) -> Result<Option<Vec<Option<Directed>>>> {
    if !block.is_relation() {
        return Ok(None);
    }
    let invalid = |message: String| LoadError::Invalid {
        path: path.to_path_buf(),
        message,
    };
    block
        .classes
        .as_ref()
        .ok_or_else(|| invalid("no newsgraph.classes".into()))?
        .iter()
        .map(|c| Directed::parse(c))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map(Some)
        .map_err(|e| invalid(format!("newsgraph.classes: {e}")).into())
}

/// The classifier over the two concatenated entity-start vectors: its `[classes, 2 × hidden]`
/// weight, its bias and the hidden size.
fn classifier_head(weights: &Weights, classes: usize) -> Result<(Vec<f32>, Vec<f32>, usize)> {
    let w = weights.get("classifier.weight")?;
    let hidden = w.shape.get(1).copied().unwrap_or(0) / 2;
    let weight = weights
        .shaped("classifier.weight", &[classes, 2 * hidden])?
        .data
        .clone();
    let bias = weights.shaped("classifier.bias", &[classes])?.data.clone();
    Ok((weight, bias, hidden))
}

impl std::fmt::Debug for RelationModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelationModel")
            .field("engine", &self.encoder.engine())
            .field("classes", &self.classes.len())
            .finish_non_exhaustive()
    }
}

impl RelationModel {
    /// Loads a relation model folder; `engine` is `Auto` (int8), `OnnxInt8`, `OnnxInt8Rows` or
    /// `Onnx`. The
    /// engine uses every core; see [`load_with_threads`](Self::load_with_threads).
    pub fn load(dir: &Path, engine: Engine) -> Result<Self> {
        Self::load_with_threads(dir, engine, 0)
    }

    /// Loads a relation model folder whose engine uses `threads` threads (0: every core).
    pub fn load_with_threads(dir: &Path, engine: Engine, threads: usize) -> Result<Self> {
        let engine = match engine {
            Engine::Auto => Engine::OnnxInt8,
            e @ (Engine::Onnx | Engine::OnnxInt8 | Engine::OnnxInt8Rows) => e,
            other => {
                return Err(Error::Setting(format!(
                    "relation models run on onnx-int8, onnx-int8-rows or onnx, not {other}"
                )))
            }
        };
        let config = RelationConfig::read(dir)?;
        let tokenizer = TextTokenizer::from_dir(dir)?;
        let pairs = PairEncoder::new(&tokenizer, config.max_len)?;
        let weights = Weights::read(&dir.join("model.safetensors"), config.architecture.prefix())?;
        let (weight, bias, hidden) = classifier_head(&weights, config.classes.len())?;
        let spec = onnx::GraphSpec {
            raw: &config.raw,
            source: &config.path,
            architecture: config.architecture,
            casing: false,
            labels: None,
        };
        let encoder = Box::new(onnx::OnnxBert::new(&weights, &spec, engine, threads)?);
        Ok(RelationModel {
            pad: tokenizer.pad_id(),
            tokenizer,
            pairs,
            encoder,
            classes: config.classes,
            train_context: config.train_context,
            weight,
            bias,
            hidden,
        })
    }

    /// Keeps only `context` tokens on each side of a pair (`None`: the whole sentence, up to
    /// the model's input length), and leaves pairs that span more than `max_span` tokens
    /// unclassified (`None` from [`probs`](Self::probs)). Both make the model faster; the
    /// relation model's notes (docs/relations.md) give what they cost in accuracy.
    pub fn set_input_limits(&mut self, context: Option<usize>, max_span: Option<usize>) {
        self.pairs.context = context;
        self.pairs.max_span = max_span;
    }

    /// Tokens of context the model saw on each side of a pair in training (`newsgraph.
    /// train_context` in its `config.json`; `None`: whole sentences). The pipeline crops
    /// pairs the same way unless [`PipelineOptions::relation_context`](crate::PipelineOptions::relation_context)
    /// says otherwise.
    pub fn trained_context(&self) -> Option<usize> {
        self.train_context
    }

    /// The engine the encoder runs on.
    pub fn engine(&self) -> Engine {
        self.encoder.engine()
    }

    /// The classes, `no_relation` first.
    pub fn classes(&self) -> &[Option<Directed>] {
        &self.classes
    }

    /// Class probabilities of each pair (in [`classes`](Self::classes) order); `None` for a
    /// pair whose entities are too far apart for the model's input length.
    pub fn probs(&self, pairs: &[Pair]) -> Result<Vec<Option<Vec<f32>>>> {
        let encoded = pairs
            .iter()
            .map(|p| self.encode(p))
            .collect::<Result<Vec<_>>>()?;
        let mut order: Vec<usize> = (0..pairs.len()).filter(|&i| encoded[i].is_some()).collect();
        order.sort_by_key(|&i| encoded[i].as_ref().map_or(0, |e| e.ids.len()));
        let mut out: Vec<Option<Vec<f32>>> = vec![None; pairs.len()];
        for chunk in order.chunks(BATCH) {
            let rows: Vec<&Encoded> = chunk.iter().filter_map(|&i| encoded[i].as_ref()).collect();
            for (p, &i) in self.run(&rows)?.into_iter().zip(chunk) {
                out[i] = Some(p);
            }
        }
        Ok(out)
    }

    /// The marked token ids of a pair; `None` when its entities are too far apart.
    pub(crate) fn encode(&self, pair: &Pair) -> Result<Option<Encoded>> {
        self.pairs
            .encode(&self.tokenizer, pair.text, pair.e1, pair.e2)
    }

    /// One forward pass over encoded pairs: their class probabilities.
    pub(crate) fn run(&self, rows: &[&Encoded]) -> Result<Vec<Vec<f32>>> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let len = rows.iter().map(|e| e.ids.len()).max().unwrap_or(2);
        let mut input = EncoderInput::new(rows.len(), len);
        input.ids.fill(self.pad as i32);
        for (r, e) in rows.iter().enumerate() {
            if e.e1 >= e.ids.len() || e.e2 >= e.ids.len() {
                return Err(Error::Model("a marker position outside its pair".into()));
            }
            for (j, &id) in e.ids.iter().enumerate() {
                input.ids[r * len + j] = id as i32;
                input.mask[r * len + j] = 1;
            }
        }
        input.check()?;
        let hidden = self.encoder.run(&input, Output::Hidden)?;
        let h = self.hidden;
        if hidden.len() != rows.len() * len * h {
            return Err(Error::Model(format!(
                "the encoder returned {} values for {}×{} tokens of {h} dimensions",
                hidden.len(),
                rows.len(),
                len
            )));
        }
        Ok(rows
            .iter()
            .enumerate()
            .map(|(r, e)| {
                let state = |pos: usize| &hidden[(r * len + pos) * h..(r * len + pos + 1) * h];
                let (a, b) = (state(e.e1), state(e.e2));
                let mut logits: Vec<f32> = self
                    .bias
                    .iter()
                    .enumerate()
                    .map(|(c, &bias)| {
                        let w = &self.weight[c * 2 * h..(c + 1) * 2 * h];
                        bias + dot(&w[..h], a) + dot(&w[h..], b)
                    })
                    .collect();
                softmax(&mut logits);
                logits
            })
            .collect())
    }

    /// The answer for each pair whose entities' kinds are known (your own NER, a gazetteer):
    /// the most probable class whose subject and object kinds fit the relation (a `per:*`
    /// subject is a person, `org:*_of_headquarters` joins an organization and a place, …), or
    /// `no_relation`; a relation below `threshold` is `no_relation` with its score. This is
    /// what the [`Pipeline`](crate::Pipeline) does for the pairs of a sentence.
    ///
    /// ```no_run
    /// # fn main() -> newsgraph::Result<()> {
    /// use newsgraph::{Engine, EntityKind};
    /// use newsgraph::model::{Pair, RelationModel};
    /// let model = RelationModel::load(&newsgraph::default_relation_model_dir(), Engine::Auto)?;
    /// let text = "Tim Cook is the chief executive of Apple.";
    /// let pair = Pair { text, e1: (0, 8), e2: (35, 40) };
    /// let kinds = (EntityKind::Person, EntityKind::Organization);
    /// let p = model.predict_typed(&[pair], &[kinds], 0.5)?;
    /// // Tim Cook employee of Apple, or Apple's top member Tim Cook: the same fact either way.
    /// let kind = p[0].relation.unwrap().kind.as_str();
    /// assert!(matches!(kind, "per:employee_of" | "org:top_members/employees"), "{kind}");
    /// # Ok(()) }
    /// ```
    pub fn predict_typed(
        &self,
        pairs: &[Pair],
        kinds: &[(EntityKind, EntityKind)],
        threshold: f32,
    ) -> Result<Vec<Prediction>> {
        if kinds.len() != pairs.len() {
            return Err(Error::Setting(format!(
                "{} pairs but {} kind pairs",
                pairs.len(),
                kinds.len()
            )));
        }
        Ok(self
            .probs(pairs)?
            .into_iter()
            .zip(kinds)
            .map(|(p, (k1, k2))| {
                let p = p.unwrap_or_default();
                match decide(&self.classes, &p, k1, k2, 0.0) {
                    Some((d, score)) if score >= threshold => Prediction {
                        relation: Some(d),
                        score,
                    },
                    Some((_, score)) => Prediction {
                        relation: None,
                        score,
                    },
                    None => Prediction {
                        relation: None,
                        score: p.first().copied().unwrap_or(0.0),
                    },
                }
            })
            .collect())
    }

    /// The most probable class of each pair; a pair too long for the model is `no_relation`
    /// with score 0.
    pub fn predict(&self, pairs: &[Pair]) -> Result<Vec<Prediction>> {
        Ok(self
            .probs(pairs)?
            .into_iter()
            .map(|p| match p {
                Some(p) => {
                    let best = (0..p.len())
                        .max_by(|&a, &b| p[a].total_cmp(&p[b]))
                        .unwrap_or(0);
                    Prediction {
                        relation: self.classes.get(best).copied().flatten(),
                        score: p.get(best).copied().unwrap_or(0.0),
                    }
                }
                None => Prediction {
                    relation: None,
                    score: 0.0,
                },
            })
            .collect())
    }
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A WordPiece vocabulary read the way a model folder's `vocab.txt` is.
    fn tokenizer() -> TextTokenizer {
        let vocab = [
            "[PAD]",
            "[unused0]",
            "[unused1]",
            "[unused2]",
            "[unused3]",
            "[UNK]",
            "[CLS]",
            "[SEP]",
            "thom",
            "yorke",
            "of",
            "radiohead",
            "said",
            "a",
            ".",
        ];
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("vocab.txt"), vocab.join("\n") + "\n").unwrap();
        TextTokenizer::from_dir(dir.path()).unwrap()
    }

    #[test]
    fn marks_the_pair_and_points_at_the_start_markers() {
        let tok = tokenizer();
        let enc = PairEncoder::new(&tok, 64).unwrap();
        let text = "Thom Yorke of Radiohead said.";
        let e = enc.encode(&tok, text, (0, 10), (14, 23)).unwrap().unwrap();
        // [CLS] [u0] thom yorke [u1] of [u2] radiohead [u3] said . [SEP]
        assert_eq!(e.ids, [6, 1, 8, 9, 2, 10, 3, 11, 4, 12, 14, 7]);
        assert_eq!((e.e1, e.e2), (1, 6));
        // The second entity first in the text: its marker comes first.
        let e = enc.encode(&tok, text, (14, 23), (0, 10)).unwrap().unwrap();
        assert_eq!((e.ids[e.e1], e.ids[e.e2]), (1, 3));
        assert!(e.e2 < e.e1);
    }

    #[test]
    fn long_inputs_are_cropped_around_the_pair_or_refused() {
        let tok = tokenizer();
        let enc = PairEncoder::new(&tok, 10).unwrap();
        let text = format!("{}Thom of Radiohead{}", "a ".repeat(30), " a".repeat(30));
        let s = text.find("Thom").unwrap();
        let r = text.find("Radiohead").unwrap();
        let e = enc
            .encode(&tok, &text, (s, s + 4), (r, r + 9))
            .unwrap()
            .unwrap();
        assert_eq!(e.ids.len(), 10);
        assert_eq!((e.ids[e.e1], e.ids[e.e2]), (1, 3));
        assert_eq!(e.ids[e.e1 + 1], 8); // thom
        let far = format!("Thom{}Radiohead", " a".repeat(20));
        let r = far.find("Radiohead").unwrap();
        assert_eq!(enc.encode(&tok, &far, (0, 4), (r, r + 9)).unwrap(), None);
        assert!(enc.encode(&tok, "Thom", (0, 9), (0, 4)).is_err());
        assert!(enc.encode(&tok, "Thom", (3, 1), (0, 4)).is_err());
    }

    /// The context-cropped ids of a marked text.
    fn cropped(m: &Marked, c: usize) -> (Vec<u32>, usize, usize) {
        let first = m.p1.min(m.p2).saturating_sub(c);
        let end = (m.last + 1 + c).min(m.body.len());
        (m.body[first..end].to_vec(), m.p1 - first, m.p2 - first)
    }

    #[test]
    fn a_pair_marked_in_its_neighbourhood_gets_the_ids_of_its_whole_sentence() {
        use rand::{Rng, SeedableRng};
        let shipped = concat!(env!("CARGO_MANIFEST_DIR"), "/models/newsgraph-rel-minilm");
        let tok = TextTokenizer::from_dir(Path::new(shipped)).unwrap();
        let enc = PairEncoder::new(&tok, 96).unwrap();
        let pool = [
            "Kyiv",
            "Zürich",
            "O'Neil",
            "U.S.",
            "—",
            "“quoted”",
            "a\u{b}b",
            "tab\there",
            "nbsp\u{a0}x",
            "two  spaces",
            "line\nbreak",
            "🙂",
            "北京",
            "Ångström",
            "(MoD)",
            "Ministry",
            "of",
            "Defence",
            ",",
            "said",
            "supercalifragilisticexpialidocious",
            "\u{200b}",
            "x\r\ny",
            "don’t",
            "1,200",
            "e.g.",
        ];
        let mut rng = rand::rngs::SmallRng::seed_from_u64(7);
        let mut compared = 0;
        for _ in 0..60 {
            let n = rng.gen_range(3..40);
            let words: Vec<&str> = (0..n).map(|_| pool[rng.gen_range(0..pool.len())]).collect();
            let sep = if rng.gen_bool(0.2) { "\n" } else { " " };
            let text = words.join(sep);
            // Word spans as entities.
            let mut spans = Vec::new();
            let mut at = 0;
            for w in &words {
                spans.push((at, at + w.len()));
                at += w.len() + sep.len();
            }
            for _ in 0..8 {
                let (i, j) = (rng.gen_range(0..n), rng.gen_range(0..n));
                if spans[i].1 > spans[j].0 && spans[j].1 > spans[i].0 {
                    continue;
                }
                for c in [0, 1, 4] {
                    let full = enc.marked(&tok, &text, spans[i], spans[j]).unwrap();
                    let local = enc
                        .marked_locally(&tok, &text, spans[i], spans[j], c)
                        .unwrap();
                    assert_eq!(
                        cropped(&local, c),
                        cropped(&full, c),
                        "{text:?} {i} {j} {c}"
                    );
                    compared += 1;
                }
            }
        }
        assert!(compared > 500, "{compared}");
    }

    #[test]
    fn the_input_length_is_read_from_the_config_and_never_assumed() {
        let shipped = concat!(env!("CARGO_MANIFEST_DIR"), "/models/newsgraph-rel-minilm");
        let mut raw = read_json(&Path::new(shipped).join("config.json"), "test").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let read_with = |max_len: Option<Value>| {
            let mut raw = raw.clone();
            match max_len {
                Some(v) => raw["newsgraph"]["max_len"] = v,
                None => drop(raw["newsgraph"].as_object_mut().unwrap().remove("max_len")),
            }
            std::fs::write(dir.path().join("config.json"), raw.to_string()).unwrap();
            RelationConfig::read(dir.path()).map(|c| c.max_len)
        };
        assert_eq!(read_with(Some(64.into())).unwrap(), 64);
        for bad in [None, Some("96".into()), Some((-1).into())] {
            let err = read_with(bad.clone()).unwrap_err().to_string();
            assert!(err.contains("newsgraph.max_len"), "{bad:?}: {err}");
        }
        raw["newsgraph"]["task"] = "ner".into();
        std::fs::write(dir.path().join("config.json"), raw.to_string()).unwrap();
        assert!(RelationConfig::read(dir.path()).is_err());
    }

    #[test]
    fn there_are_39_classes() {
        let c = classes();
        assert_eq!(c.len(), 39);
        assert_eq!(c[0], None);
    }
}
