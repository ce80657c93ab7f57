//! Spans of an article's text, in bytes and in characters.
//!
//! Every span newsgraph reports carries byte offsets into the UTF-8 text (`start`, `end`: what
//! Rust slices with) and the same span in Unicode scalar values (`char_start`, `char_end`:
//! what Python `str`, Spark and pandas index with). [`CharIndex`] converts one to the other.

use serde::{Deserialize, Serialize};

/// A span of the article text.
///
/// ```
/// # fn main() -> newsgraph::Result<()> {
/// use newsgraph::{Article, Pipeline, PipelineOptions};
/// let pipeline = Pipeline::load(&newsgraph::default_model_dir(), PipelineOptions::default())?;
/// let text = "Zürich, 3 May 2023: “We will win,” Olaf Scholz said.";
/// let doc = pipeline.process(&[Article::new("a", text)]).remove(0)?;
/// let q = &doc.quotes[0];
/// assert_eq!(&text[q.start..q.end], "We will win,");
/// let chars: Vec<char> = text.chars().collect();
/// let quoted: String = chars[q.char_start..q.char_end].iter().collect();
/// assert_eq!(quoted, "We will win,");
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Span {
    /// Byte offset of the first byte.
    pub start: usize,
    /// Byte offset one past the last byte.
    pub end: usize,
    /// The start in Unicode scalar values (a Python `str` index).
    pub char_start: usize,
    /// The end in Unicode scalar values.
    pub char_end: usize,
}

impl Span {
    /// A byte span whose character offsets are still to be counted ([`CharIndex::span`]).
    pub(crate) fn bytes(start: usize, end: usize) -> Span {
        Span {
            start,
            end,
            char_start: 0,
            char_end: 0,
        }
    }
}

/// Character offsets of byte offsets in one text, in constant time each: the characters
/// before every 64-byte block are counted once.
pub(crate) struct CharIndex<'a> {
    bytes: &'a [u8],
    /// Characters before each block.
    blocks: Vec<usize>,
}

const BLOCK: usize = 64;

/// A byte that starts a character (not a UTF-8 continuation byte).
fn starts_char(b: u8) -> bool {
    b & 0xC0 != 0x80
}

impl<'a> CharIndex<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        let bytes = text.as_bytes();
        let mut blocks = Vec::with_capacity(bytes.len() / BLOCK + 1);
        let mut n = 0;
        for chunk in bytes.chunks(BLOCK) {
            blocks.push(n);
            n += chunk.iter().filter(|&&b| starts_char(b)).count();
        }
        blocks.push(n);
        CharIndex { bytes, blocks }
    }

    /// The characters before byte `byte` (clamped to the text; inside a character, the
    /// characters that start before it).
    pub(crate) fn at(&self, byte: usize) -> usize {
        let byte = byte.min(self.bytes.len());
        let block = byte / BLOCK;
        let from = block * BLOCK;
        self.blocks[block]
            + self.bytes[from..byte]
                .iter()
                .filter(|&&b| starts_char(b))
                .count()
    }

    /// `span` with its character offsets counted from its byte offsets.
    pub(crate) fn span(&self, span: Span) -> Span {
        Span {
            char_start: self.at(span.start),
            char_end: self.at(span.end),
            ..span
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn char_offsets_are_python_indices_at_every_boundary() {
        // Multi-byte characters on both sides of block edges, and a long run of them.
        let text = format!("{}é “x” {}ü€𝄞 end", "a".repeat(63), "ß".repeat(70));
        let index = CharIndex::new(&text);
        for (chars, (byte, _)) in text.char_indices().enumerate() {
            assert_eq!(index.at(byte), chars, "byte {byte}");
        }
        assert_eq!(index.at(text.len()), text.chars().count());
        assert_eq!(index.at(text.len() + 10), text.chars().count());
        let s = index.span(Span::bytes(64, 66));
        assert_eq!((s.char_start, s.char_end), (64, 65));
    }

    #[test]
    fn empty_text_has_only_offset_zero() {
        let index = CharIndex::new("");
        assert_eq!((index.at(0), index.at(5)), (0, 0));
    }
}
