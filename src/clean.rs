//! Article cleaning: web-page furniture ("Newsletter sign-up", "Subscribe now", "READ MORE: …",
//! "2 min read", a repeated headline, a date line at the top) is found conservatively and
//! *marked*, never deleted: offsets stay those of the original text, and the model sees the
//! marked spans as blanks.

use crate::span::CharIndex;
use regex::Regex;
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

/// Why a span was skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SkipReason {
    /// Navigation, sign-up, share or read-time lines.
    Furniture,
    /// A "READ MORE: …" teaser linking to another article.
    ReadMore,
    /// A headline repeated verbatim.
    RepeatedHeadline,
    /// The date line at the top of the text.
    DateLine,
}

/// A span of the text that is not part of the article body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Skipped {
    /// Byte offset of the first byte.
    pub start: usize,
    /// Byte offset one past the last byte.
    pub end: usize,
    /// `start` in characters (Unicode scalar values: a Python `str` index).
    pub char_start: usize,
    /// `end` in characters.
    pub char_end: usize,
    /// Why it was skipped.
    pub reason: SkipReason,
}

fn furniture_line() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"(?ix)^(?:
                newsletter\s+sign[-\s]?up | sign[-\s]?up(?:\s+(?:now|here))? | subscribe(?:\s+now)?
              | advertisement | share(?:\s+this(?:\s+(?:article|story))?)? | follow\s+us(?:\s+on\s+\w+)?
              | skip\s+to\s+(?:main\s+)?content | most\s+(?:read|popular) | related\s+(?:articles|stories|topics)
              | \d+\s*(?:min|mins|minute|minutes)\s+read | [\p{L}\s]{1,40}\s+newsletters?
            )$",
        )
        .unwrap_or_else(|e| unreachable!("{e}"))
    })
}

fn read_more() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"(?:READ MORE|Read more|READ MORE)\s*[:>»-][^\n]*")
            .unwrap_or_else(|e| unreachable!("{e}"))
    })
}

/// Finds the furniture of a text; `date_line` is the span of a date line at the top (see
/// [`crate::temporal::article_date`]), if any. Spans are sorted and do not overlap.
pub fn furniture(text: &str, date_line: Option<(usize, usize)>) -> Vec<Skipped> {
    let chars = CharIndex::new(text);
    let skipped = |start: usize, end: usize, reason: SkipReason| Skipped {
        start,
        end,
        char_start: chars.at(start),
        char_end: chars.at(end),
        reason,
    };
    let mut out: Vec<Skipped> = Vec::new();
    if let Some((start, end)) = date_line {
        out.push(skipped(start, end, SkipReason::DateLine));
    }
    let mut previous: Option<&str> = None;
    let mut offset = 0;
    for raw in text.split_inclusive('\n') {
        let line = raw.trim_end_matches(['\n', '\r']);
        let trimmed = line.trim();
        let lead = line.len() - line.trim_start().len();
        let (start, end) = (offset + lead, offset + lead + trimmed.len());
        offset += raw.len();
        if trimmed.is_empty() {
            continue;
        }
        let words = trimmed.split_whitespace().count();
        if words <= 6 && furniture_line().is_match(trimmed) {
            out.push(skipped(start, end, SkipReason::Furniture));
        } else if previous == Some(trimmed) && words <= 25 {
            out.push(skipped(start, end, SkipReason::RepeatedHeadline));
        } else if let Some(m) = read_more().find(trimmed) {
            out.push(skipped(
                start + m.start(),
                start + m.end(),
                SkipReason::ReadMore,
            ));
        }
        previous = Some(trimmed);
    }
    out.sort_by_key(|s| s.start);
    out.dedup_by(|b, a| b.start < a.end);
    out
}

/// The text with the skipped spans blanked (same byte length, so offsets are unchanged).
pub fn blank(text: &str, skipped: &[Skipped]) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for s in skipped {
        for b in &mut bytes[s.start..s.end] {
            // Newlines stay, so sentence and paragraph boundaries do too.
            if *b != b'\n' {
                *b = b' ';
            }
        }
    }
    // Every replaced byte belongs to a whole character: spans are on char boundaries.
    String::from_utf8(bytes).unwrap_or_else(|_| text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_text_is_left_alone() {
        let text = "Share prices fell.\nSubscribers complained that they could not sign up.\nRead more books, he said.";
        assert!(
            furniture(text, None).is_empty(),
            "{:?}",
            furniture(text, None)
        );
    }

    #[test]
    fn blanking_keeps_offsets() {
        let text = "Subscribe now\n“Kyiv” body";
        let s = furniture(text, None);
        let b = blank(text, &s);
        assert_eq!(b.len(), text.len());
        assert_eq!(&b[..14], "             \n");
        assert_eq!(&b[14..], "“Kyiv” body");
    }

    #[test]
    fn newsletters_footer_and_read_time() {
        let text = "Body.\n\nPoliticsHome Newsletters\n\n3 mins read\n";
        let r: Vec<_> = furniture(text, None)
            .iter()
            .map(|s| &text[s.start..s.end])
            .collect();
        assert_eq!(r, ["PoliticsHome Newsletters", "3 mins read"]);
    }
}

/// The examples of this module's documentation, as tests (the module is internal).
#[cfg(test)]
mod doc_examples {
    #[test]
    fn example_1() {
        use crate::clean::{furniture, SkipReason};
        let text = "Subscribe now\nTitle here\nTitle here\n2 min read\nBody text. READ MORE: Other story\nMore body.";
        let s = furniture(text, None);
        let reasons: Vec<_> = s.iter().map(|s| s.reason).collect();
        assert_eq!(
            reasons,
            [
                SkipReason::Furniture,
                SkipReason::RepeatedHeadline,
                SkipReason::Furniture,
                SkipReason::ReadMore
            ]
        );
        assert_eq!(&text[s[3].start..s[3].end], "READ MORE: Other story");
    }
}
