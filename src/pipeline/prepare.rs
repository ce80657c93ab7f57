//! The stages before the forward pass: checks, the article date, cleaning, tokenization and
//! windowing of one article.

use super::PipelineOptions;
use crate::clean::{blank, furniture, Skipped};
use crate::error::{Error, Result};
use crate::input::Article;
use crate::segment::{cut_quality, pipeline_overlap, sentence_starts, windows, Window};
use crate::temporal::article_date;
use crate::tokenize::{TextTokenizer, Tokens};
use chrono::NaiveDate;

/// An article after cleaning, tokenization and windowing.
pub(crate) struct Prepared {
    pub(crate) tokens: Tokens,
    pub(crate) windows: Vec<Window>,
    pub(crate) date: Option<NaiveDate>,
    pub(crate) skipped: Vec<Skipped>,
    /// Where the sentences start (the text with its furniture blanked, which keeps every
    /// offset): the one segmentation the windows and the relation candidates use.
    pub(crate) sentences: Vec<usize>,
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
    let sentences = sentence_starts(model_text);
    let windows = if tokens.is_empty() {
        Vec::new()
    } else {
        let cuts = cut_quality(&tokens.offsets, &tokens.word_of, &sentences);
        let max_len = window_len.saturating_sub(2);
        windows(
            &cuts,
            max_len,
            options.overlap.unwrap_or(pipeline_overlap(max_len)),
        )
    };
    Ok(Prepared {
        tokens,
        windows,
        date,
        skipped,
        sentences,
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
