//! Tokenization: Hugging Face `tokenizers` with byte offsets, word ids and casing classes.
//!
//! A model folder's `tokenizer.json` is used as it is, with its truncation and padding turned
//! off (text is never truncated: long texts are windowed, see [`crate::segment`]). A folder
//! with only `vocab.txt` gets the equivalent BERT WordPiece tokenizer, lower-casing as
//! `tokenizer_config.json` says (`do_lower_case`, default true).

use crate::error::{Error, LoadError, Result};
use std::path::Path;
use tokenizers::models::wordpiece::WordPiece;
use tokenizers::normalizers::bert::BertNormalizer;
use tokenizers::normalizers::replace::Replace;
use tokenizers::normalizers::utils::Sequence;
use tokenizers::pre_tokenizers::bert::BertPreTokenizer;
use tokenizers::NormalizerWrapper;
use tokenizers::Tokenizer;

/// Capitalisation of a word, the cue that an uncased tokenizer throws away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Casing {
    /// No letters (digits, punctuation); also used for special tokens.
    NoLetters = 0,
    /// All letters lower case.
    Lower = 1,
    /// First letter upper case, the rest lower case.
    Initial = 2,
    /// Two or more letters, all upper case.
    AllCaps = 3,
    /// Anything else ("McDonald", "iPhone").
    Mixed = 4,
}

impl Casing {
    /// Number of casing classes.
    pub const COUNT: i64 = 5;

    /// The casing class of a word.
    pub fn of(word: &str) -> Casing {
        let mut letters = word.chars().filter(|c| c.is_alphabetic());
        let Some(first) = letters.next() else {
            return Casing::NoLetters;
        };
        let (mut upper, mut lower, mut count) = (0, 0, 0);
        for c in letters {
            count += 1;
            if c.is_uppercase() {
                upper += 1;
            } else if c.is_lowercase() {
                lower += 1;
            }
        }
        match (first.is_uppercase(), upper, lower) {
            (false, 0, _) => Casing::Lower,
            (true, 0, _) => Casing::Initial,
            (true, u, 0) if u == count => Casing::AllCaps,
            _ => Casing::Mixed,
        }
    }
}

/// A text cut into model tokens.
#[derive(Debug, Clone, Default)]
pub struct Tokens {
    /// Vocabulary ids.
    pub ids: Vec<u32>,
    /// Byte span of each token in the source text.
    pub offsets: Vec<(usize, usize)>,
    /// Index (into `words`) of the word each token belongs to.
    pub word_of: Vec<u32>,
    /// Byte span of each word (from its first token's start to its last token's end).
    pub words: Vec<(usize, usize)>,
    /// Casing class of each word.
    pub casing: Vec<Casing>,
}

impl Tokens {
    /// Number of tokens.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// True when the text produced no token.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

/// The tokenizer of a model, with the ids of its special tokens.
#[derive(Clone)]
pub struct TextTokenizer {
    inner: Tokenizer,
    cls: u32,
    sep: u32,
    pad: u32,
}

impl std::fmt::Debug for TextTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextTokenizer")
            .field("cls", &self.cls)
            .field("sep", &self.sep)
            .field("pad", &self.pad)
            .finish()
    }
}

impl TextTokenizer {
    /// Loads the tokenizer of a model folder: `tokenizer.json`, else `vocab.txt`.
    pub fn from_dir(dir: &Path) -> Result<Self> {
        let json = dir.join("tokenizer.json");
        let vocab = dir.join("vocab.txt");
        let inner = if json.is_file() {
            Tokenizer::from_file(&json).map_err(|e| LoadError::Invalid {
                path: json.clone(),
                message: format!("not a Hugging Face tokenizer: {e}"),
            })?
        } else if vocab.is_file() {
            let lowercase = read_do_lower_case(dir)?;
            let wordpiece = WordPiece::from_file(&vocab.to_string_lossy())
                .unk_token("[UNK]".into())
                .build()
                .map_err(|e| LoadError::Invalid {
                    path: vocab.clone(),
                    message: format!("not a WordPiece vocabulary: {e}"),
                })?;
            let mut tok = Tokenizer::new(wordpiece);
            tok.with_normalizer(Some(BertNormalizer::new(true, true, None, lowercase)));
            tok.with_pre_tokenizer(Some(BertPreTokenizer));
            tok
        } else {
            return Err(LoadError::MissingFile {
                path: json,
                what: "tokenizer: tokenizer.json or vocab.txt",
            }
            .into());
        };
        Self::new(inner, &dir.join("tokenizer.json"))
    }

    /// Wraps a Hugging Face tokenizer; `origin` names it in errors.
    ///
    /// Typographic quotes and apostrophes (’ ‘ “ ”) are normalized to their ASCII forms before
    /// the model's own normalizer: news text is full of them, while training data such as
    /// CoNLL-2003 has none. The normalizer keeps alignments, so offsets still point into the
    /// original text.
    pub fn new(mut inner: Tokenizer, origin: &Path) -> Result<Self> {
        // A tokenizer saved by newsgraph already has these steps.
        let has_steps = inner
            .get_normalizer()
            .and_then(|n| serde_json::to_string(n).ok())
            .is_some_and(|json| json.contains("\"’\""));
        let mut steps: Vec<NormalizerWrapper> = Vec::new();
        for (from, to) in [("’", "'"), ("‘", "'"), ("“", "\""), ("”", "\"")] {
            steps.push(
                Replace::new(from, to)
                    .map_err(|e| Error::Tokenizer(e.to_string()))?
                    .into(),
            );
        }
        if let Some(existing) = inner.get_normalizer() {
            steps.push(existing.clone());
        }
        if !has_steps {
            inner.with_normalizer(Some(Sequence::new(steps)));
        }
        inner
            .with_truncation(None)
            .map_err(|e| Error::Tokenizer(e.to_string()))?;
        inner.with_padding(None);
        // The special tokens the tokenizer declares come first: MPNet's vocabulary has a plain
        // "[CLS]" word besides its special "<s>".
        let special: std::collections::HashMap<String, u32> = inner
            .get_added_tokens_decoder()
            .into_iter()
            .filter(|(_, t)| t.special)
            .map(|(id, t)| (t.content, id))
            .collect();
        let find = |names: &[&str]| {
            names
                .iter()
                .find_map(|n| special.get(*n).copied())
                .or_else(|| names.iter().find_map(|n| inner.token_to_id(n)))
        };
        let missing = |what: &str| LoadError::Invalid {
            path: origin.to_path_buf(),
            message: format!("the vocabulary has no {what} token"),
        };
        let cls = find(&["[CLS]", "<s>", "[cls]"]).ok_or_else(|| missing("[CLS]/<s>"))?;
        let sep = find(&["[SEP]", "</s>", "[sep]"]).ok_or_else(|| missing("[SEP]/</s>"))?;
        let pad = find(&["[PAD]", "<pad>", "[pad]"]).ok_or_else(|| missing("[PAD]/<pad>"))?;
        Ok(TextTokenizer {
            inner,
            cls,
            sep,
            pad,
        })
    }

    /// The classification token that starts every window.
    pub fn cls_id(&self) -> u32 {
        self.cls
    }

    /// The separator token that ends every window.
    pub fn sep_id(&self) -> u32 {
        self.sep
    }

    /// The padding token.
    pub fn pad_id(&self) -> u32 {
        self.pad
    }

    /// The wrapped Hugging Face tokenizer.
    pub fn inner(&self) -> &Tokenizer {
        &self.inner
    }

    /// Saves as `tokenizer.json`.
    #[cfg(feature = "torch")]
    pub fn save(&self, path: &Path) -> Result<()> {
        self.inner
            .save(path, false)
            .map_err(|e| Error::Tokenizer(format!("{}: {e}", path.display())))
    }

    /// Tokenizes a whole text (no special tokens, no truncation).
    pub fn tokenize(&self, text: &str) -> Result<Tokens> {
        let enc = self
            .inner
            .encode(text, false)
            .map_err(|e| Error::Tokenizer(e.to_string()))?;
        let mut out = Tokens {
            ids: Vec::with_capacity(enc.len()),
            offsets: Vec::with_capacity(enc.len()),
            word_of: Vec::with_capacity(enc.len()),
            ..Tokens::default()
        };
        let mut last_word: Option<u32> = None;
        for ((&id, &(s, e)), w) in enc
            .get_ids()
            .iter()
            .zip(enc.get_offsets())
            .zip(enc.get_word_ids())
        {
            // Offsets may point inside a multi-byte character for byte-level models; keep them
            // on character boundaries so that every slice of the text is valid.
            let (s, e) = (floor_char(text, s), ceil_char(text, e.max(s)));
            let new_word = match (w, last_word) {
                (Some(w), Some(l)) => *w != l,
                (Some(_), None) => true,
                (None, _) => true,
            };
            if new_word || out.words.is_empty() {
                out.words.push((s, e));
            } else if let Some(last) = out.words.last_mut() {
                last.1 = last.1.max(e);
            }
            last_word = *w;
            out.ids.push(id);
            out.offsets.push((s, e));
            out.word_of.push((out.words.len() - 1) as u32);
        }
        out.casing = out
            .words
            .iter()
            .map(|&(s, e)| Casing::of(&text[s..e]))
            .collect();
        Ok(out)
    }
}

/// `i` moved down to a char boundary of `text` (and into it).
pub(crate) fn floor_char(text: &str, mut i: usize) -> usize {
    i = i.min(text.len());
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil_char(text: &str, mut i: usize) -> usize {
    i = i.min(text.len());
    while !text.is_char_boundary(i) {
        i += 1;
    }
    i
}

fn read_do_lower_case(dir: &Path) -> Result<bool> {
    let path = dir.join("tokenizer_config.json");
    if !path.is_file() {
        return Ok(true);
    }
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| LoadError::Invalid {
        path: path.clone(),
        message: format!("not JSON: {e}"),
    })?;
    Ok(value
        .get("do_lower_case")
        .and_then(|v| v.as_bool())
        .unwrap_or(true))
}

/// The examples of this module's documentation, as tests (the module is internal).
#[cfg(test)]
mod doc_examples {
    #[test]
    fn example_1() {
        use crate::tokenize::Casing;
        assert_eq!(Casing::of("Kherson"), Casing::Initial);
        assert_eq!(Casing::of("ISW"), Casing::AllCaps);
        assert_eq!(Casing::of("said"), Casing::Lower);
        assert_eq!(Casing::of("McDonald"), Casing::Mixed);
        assert_eq!(Casing::of("2022"), Casing::NoLetters);
    }
}
