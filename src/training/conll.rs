//! CoNLL-format data: one token per line (NER tag in the last column), blank lines between
//! sentences, `-DOCSTART-` lines between documents.

use crate::error::{Error, Result};
use std::path::Path;

/// Byte spans of the tokens of each sentence of a document laid out as text.
pub type TokenSpans = Vec<Vec<(usize, usize)>>;

/// A sentence: tokens and their NER tags.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Sentence {
    /// The tokens.
    pub tokens: Vec<String>,
    /// One tag per token (`O`, `I-PER`, `B-LOC`, …).
    pub tags: Vec<String>,
}

/// A document: its sentences in order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ConllDocument {
    /// The sentences.
    pub sentences: Vec<Sentence>,
}

impl ConllDocument {
    /// The document as text (tokens joined by spaces, one sentence a line) and the byte span
    /// of every token, sentence by sentence.
    ///
    /// ```
    /// use newsgraph::training::conll::{ConllDocument, Sentence};
    /// let doc = ConllDocument { sentences: vec![
    ///     Sentence { tokens: vec!["EU".into(), "rejects".into()], tags: vec!["I-ORG".into(), "O".into()] },
    ///     Sentence { tokens: vec!["Peter".into()], tags: vec!["I-PER".into()] },
    /// ]};
    /// let (text, spans) = doc.text();
    /// assert_eq!(text, "EU rejects\nPeter");
    /// assert_eq!(spans[1][0], (11, 16));
    /// ```
    pub fn text(&self) -> (String, TokenSpans) {
        let mut text = String::new();
        let mut spans = Vec::with_capacity(self.sentences.len());
        for (i, s) in self.sentences.iter().enumerate() {
            if i > 0 {
                text.push('\n');
            }
            let mut sp = Vec::with_capacity(s.tokens.len());
            for (j, t) in s.tokens.iter().enumerate() {
                if j > 0 {
                    text.push(' ');
                }
                sp.push((text.len(), text.len() + t.len()));
                text.push_str(t);
            }
            spans.push(sp);
        }
        (text, spans)
    }

    /// Number of tokens.
    pub fn token_count(&self) -> usize {
        self.sentences.iter().map(|s| s.tokens.len()).sum()
    }
}

/// Parses CoNLL text; `source` names it in errors.
pub fn parse(text: &str, source: &str) -> Result<Vec<ConllDocument>> {
    let mut docs = Vec::new();
    let mut doc = ConllDocument::default();
    let mut sent = Sentence::default();
    let flush_sentence = |doc: &mut ConllDocument, sent: &mut Sentence| {
        if !sent.tokens.is_empty() {
            doc.sentences.push(std::mem::take(sent));
        }
    };
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end();
        if line.is_empty() {
            flush_sentence(&mut doc, &mut sent);
            continue;
        }
        if line.starts_with("-DOCSTART-") {
            flush_sentence(&mut doc, &mut sent);
            if !doc.sentences.is_empty() {
                docs.push(std::mem::take(&mut doc));
            }
            continue;
        }
        let mut cols = line.split_whitespace();
        let (Some(token), Some(tag)) = (cols.next(), line.split_whitespace().last()) else {
            continue;
        };
        if line.split_whitespace().count() < 2 {
            return Err(Error::input(
                format!("{source}:{}", i + 1),
                "expected at least two columns (token ... tag)",
            ));
        }
        sent.tokens.push(token.to_string());
        sent.tags.push(tag.to_string());
    }
    flush_sentence(&mut doc, &mut sent);
    if !doc.sentences.is_empty() {
        docs.push(doc);
    }
    Ok(docs)
}

/// Reads a CoNLL file.
pub fn read(path: &Path) -> Result<Vec<ConllDocument>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    parse(&text, &path.display().to_string())
}

/// Splits `n` documents off `docs`, spread evenly over the file (every `len / n`-th document, so
/// the held-out part covers the whole period and all the topics of the file). Returns
/// (kept, held out), both in file order.
pub fn hold_out(docs: Vec<ConllDocument>, n: usize) -> (Vec<ConllDocument>, Vec<ConllDocument>) {
    if n == 0 || docs.is_empty() {
        return (docs, Vec::new());
    }
    let n = n.min(docs.len());
    let len = docs.len();
    let (mut kept, mut held) = (Vec::new(), Vec::new());
    for (i, d) in docs.into_iter().enumerate() {
        // Document i is held out when it is the first one at or past a multiple of len / n.
        if (i * n) % len < n {
            held.push(d);
        } else {
            kept.push(d);
        }
    }
    (kept, held)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_split_on_docstart_anywhere() {
        let text = "A x y I-PER\nb x y O\n\nC x y I-LOC\n-DOCSTART- -X- -X- O\n\nD x y O\n-DOCSTART- -X- -X- O";
        let docs = parse(text, "t").unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].sentences.len(), 2);
        assert_eq!(docs[0].sentences[1].tags, vec!["I-LOC"]);
        assert_eq!(docs[1].token_count(), 1);
    }

    #[test]
    fn one_column_is_an_error() {
        let err = parse("A I-PER\nlonely\n", "f.conll")
            .unwrap_err()
            .to_string();
        assert!(err.contains("f.conll:2"), "{err}");
    }

    fn docs(n: usize) -> Vec<ConllDocument> {
        let text: String = (0..n)
            .map(|i| format!("-DOCSTART- -X- -X- O\n\nWord{i} NN B-NP O\n\n"))
            .collect();
        parse(&text, "generated").expect("generated CoNLL parses")
    }

    fn first_words(docs: &[ConllDocument]) -> Vec<String> {
        docs.iter()
            .map(|d| d.sentences[0].tokens[0].clone())
            .collect()
    }

    #[test]
    fn hold_out_spreads_n_documents_over_the_file() {
        let (kept, held) = hold_out(docs(10), 3);
        assert_eq!(first_words(&held), ["Word0", "Word4", "Word7"]);
        assert_eq!(kept.len(), 7);
        assert!(first_words(&kept)
            .iter()
            .all(|w| !first_words(&held).contains(w)));
        let (kept, held) = hold_out(docs(946), 100);
        assert_eq!((kept.len(), held.len()), (846, 100));
        let (kept, held) = hold_out(docs(5), 0);
        assert_eq!((kept.len(), held.len()), (5, 0));
    }
}
