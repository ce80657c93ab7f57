//! Segmentation: sentence boundaries and the overlapping windows that long texts are cut into.
//!
//! Text is never truncated. A text longer than the model's window is covered by windows of at
//! most `max_len` tokens that overlap by about `overlap` tokens, each cut at a sentence start
//! where one lies in reach, else at a word start. Every token is *owned* by exactly one window,
//! the one where it is most central (the midpoint of an overlap, moved to a word start), and
//! takes its label from that window.

use unicode_segmentation::UnicodeSegmentation;

/// How good a place to cut before a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Cut {
    /// Inside a word: only when nothing better is in reach.
    InsideWord = 0,
    /// At the start of a word.
    WordStart = 1,
    /// At the start of a sentence.
    SentenceStart = 2,
}

/// A window over a token sequence: tokens `start..end` go into the model, and the tokens
/// `own_start..own_end` take their labels from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// First token in the window.
    pub start: usize,
    /// One past the last token in the window.
    pub end: usize,
    /// First token labelled by this window.
    pub own_start: usize,
    /// One past the last token labelled by this window.
    pub own_end: usize,
}

impl Window {
    /// Number of tokens in the window (without special tokens).
    pub fn len(&self) -> usize {
        self.end - self.start
    }
}

/// Byte offsets at which sentences start (UAX #29 sentence boundaries; line breaks end
/// sentences too). The first sentence's start, 0, is included.
pub fn sentence_starts(text: &str) -> Vec<usize> {
    text.split_sentence_bound_indices()
        .filter(|(_, s)| !s.trim().is_empty())
        .map(|(i, s)| i + (s.len() - s.trim_start().len()))
        .collect()
}

/// Classifies the cut before each token, from the tokens' byte offsets, their word ids and
/// the sentence starts of the text.
pub fn cut_quality(
    offsets: &[(usize, usize)],
    word_ids: &[u32],
    sentence_starts: &[usize],
) -> Vec<Cut> {
    let mut out = Vec::with_capacity(offsets.len());
    let mut next_sentence = 0;
    for (i, &(start, _)) in offsets.iter().enumerate() {
        let mut at_sentence = false;
        while next_sentence < sentence_starts.len() && sentence_starts[next_sentence] <= start {
            at_sentence = true;
            next_sentence += 1;
        }
        let word_start = i == 0 || word_ids[i] != word_ids[i - 1];
        out.push(if !word_start {
            Cut::InsideWord
        } else if at_sentence {
            Cut::SentenceStart
        } else {
            Cut::WordStart
        });
    }
    out
}

/// The pipeline's window overlap unless [`PipelineOptions::overlap`](crate::PipelineOptions::overlap)
/// says otherwise: a sixteenth of the window (7 tokens of a 128-token window).
pub(crate) fn pipeline_overlap(max_len: usize) -> usize {
    max_len / 16
}

/// The overlap of training windows: a quarter of the window, on purpose larger than the
/// pipeline's. The loss is taken only on the words a window owns, so a larger overlap adds
/// context at the window edges, not labels. Every shipped NER model was trained so. Measured
/// (v3 continued 2 epochs each way, docs/training.md): the pipeline's sixteenth trains 16%
/// faster but scores 0.86 F1 lower on CoNLL04 dev names (held-out documents −0.06).
#[cfg(feature = "torch")]
pub(crate) fn training_overlap(max_len: usize) -> usize {
    max_len / 4
}

/// Cuts `cuts.len()` tokens into windows of at most `max_len` tokens overlapping by about
/// `overlap` tokens. `overlap` is clamped below `max_len / 2` so windows always advance.
pub fn windows(cuts: &[Cut], max_len: usize, overlap: usize) -> Vec<Window> {
    let n = cuts.len();
    let max_len = max_len.max(1);
    if n <= max_len {
        return vec![Window {
            start: 0,
            end: n,
            own_start: 0,
            own_end: n,
        }];
    }
    let overlap = overlap.min(max_len.saturating_sub(1) / 2);
    let mut spans: Vec<(usize, usize)> = Vec::new();
    let mut start = 0;
    loop {
        if n - start <= max_len {
            spans.push((start, n));
            break;
        }
        let hard_end = start + max_len;
        // The end must leave the window at least half full and the next window room to advance.
        let lowest = (start + max_len / 2 + 1).max(start + overlap + 1);
        let end = best_cut(cuts, lowest, hard_end, hard_end);
        spans.push((start, end));
        // Next window starts about `overlap` tokens before this one's end.
        let target = end - overlap;
        let low = (start + 1).max(target.saturating_sub(overlap / 2));
        let next = if overlap == 0 {
            end
        } else {
            best_cut(cuts, low, target + overlap / 2, target).min(end)
        };
        start = next.max(start + 1);
    }
    let mut out: Vec<Window> = spans
        .iter()
        .map(|&(start, end)| Window {
            start,
            end,
            own_start: start,
            own_end: end,
        })
        .collect();
    for i in 1..out.len() {
        let (a_end, b_start) = (out[i - 1].end, out[i].start);
        // Token t is more central in the earlier window while t < (a_end - 1 + b_start) / 2.
        let mid = (a_end - 1 + b_start).div_ceil(2).clamp(b_start, a_end);
        // Keep a word's tokens in one window: move to the nearest word start in the overlap.
        let boundary = nearest_word_start(cuts, mid, b_start.max(out[i - 1].own_start + 1), a_end);
        out[i - 1].own_end = boundary;
        out[i].own_start = boundary;
    }
    out
}

/// The best cut in `low..=high` (a sentence start, else a word start), the one nearest
/// `target` among equals; `target` when nothing better than a cut inside a word is there.
fn best_cut(cuts: &[Cut], low: usize, high: usize, target: usize) -> usize {
    let high = high.min(cuts.len().saturating_sub(1));
    if low > high {
        return target;
    }
    let mut best: Option<(Cut, usize, usize)> = None; // (quality, distance, index)
    for (i, &c) in cuts.iter().enumerate().take(high + 1).skip(low) {
        let d = i.abs_diff(target);
        let better = match best {
            None => true,
            Some((bq, bd, _)) => c > bq || (c == bq && d < bd),
        };
        if better {
            best = Some((c, d, i));
        }
    }
    match best {
        Some((q, _, i)) if q > Cut::InsideWord => i,
        _ => target,
    }
}

fn nearest_word_start(cuts: &[Cut], mid: usize, low: usize, high: usize) -> usize {
    if low >= high {
        return mid.clamp(low.min(high), high);
    }
    (0..=(high - low))
        .flat_map(|d| [mid.checked_sub(d), mid.checked_add(d)])
        .flatten()
        .find(|&i| i >= low && i < high && cuts[i] >= Cut::WordStart)
        .unwrap_or(mid.clamp(low, high))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_cover(w: &[Window], n: usize, max_len: usize) {
        assert_eq!(w[0].start, 0);
        assert_eq!(w[0].own_start, 0);
        assert_eq!(w.last().unwrap().end, n);
        assert_eq!(w.last().unwrap().own_end, n);
        for x in w {
            assert!(x.len() <= max_len, "{x:?}");
            assert!(x.start <= x.own_start && x.own_start < x.own_end && x.own_end <= x.end);
        }
        for p in w.windows(2) {
            assert_eq!(p[0].own_end, p[1].own_start);
            assert!(p[1].start > p[0].start);
        }
    }

    #[test]
    fn short_text_is_one_window() {
        let w = windows(&[Cut::WordStart; 5], 8, 2);
        assert_eq!(
            w,
            vec![Window {
                start: 0,
                end: 5,
                own_start: 0,
                own_end: 5
            }]
        );
    }

    #[test]
    fn long_text_is_covered_and_owned_once() {
        for n in [9, 50, 257, 1000] {
            for (max_len, overlap) in [(8, 2), (16, 4), (128, 32), (10, 100)] {
                let cuts: Vec<Cut> = (0..n)
                    .map(|i| match i % 7 {
                        0 => Cut::SentenceStart,
                        3 => Cut::InsideWord,
                        _ => Cut::WordStart,
                    })
                    .collect();
                let w = windows(&cuts, max_len, overlap);
                check_cover(&w, n, max_len);
            }
        }
    }

    #[test]
    fn cuts_prefer_sentence_starts() {
        let mut cuts = vec![Cut::WordStart; 40];
        cuts[0] = Cut::SentenceStart;
        cuts[14] = Cut::SentenceStart;
        let w = windows(&cuts, 16, 4);
        assert_eq!(w[0].end, 14, "{w:?}");
    }

    #[test]
    fn own_boundary_never_splits_a_word() {
        let cuts: Vec<Cut> = (0..200)
            .map(|i| {
                if i % 3 == 0 {
                    Cut::WordStart
                } else {
                    Cut::InsideWord
                }
            })
            .collect();
        let w = windows(&cuts, 20, 6);
        check_cover(&w, 200, 20);
        for x in &w[1..] {
            assert_eq!(cuts[x.own_start], Cut::WordStart, "{x:?}");
        }
    }

    #[test]
    fn sentence_starts_skip_leading_space() {
        assert_eq!(sentence_starts("A b.  C d."), vec![0, 6]);
        assert!(sentence_starts("").is_empty());
    }
}

/// The examples of this module's documentation, as tests (the module is internal).
#[cfg(test)]
mod doc_examples {
    #[test]
    fn example_1() {
        let starts = crate::segment::sentence_starts("Mr Putin spoke. Then he left.\nNew line");
        assert_eq!(starts, vec![0, 16, 30]);
    }

    #[test]
    fn example_2() {
        use crate::segment::{windows, Cut};
        let cuts = vec![Cut::WordStart; 10];
        let w = windows(&cuts, 4, 1);
        assert_eq!(w.first().unwrap().start, 0);
        assert_eq!(w.last().unwrap().end, 10);
        // every token is owned by exactly one window
        let owned: usize = w.iter().map(|w| w.own_end - w.own_start).sum();
        assert_eq!(owned, 10);
    }
}
