//! Quotes: direct quotations and who said them.
//!
//! Straight (`"`) and curly (`“ ”`) marks; a quote left open at the end of a paragraph
//! continues when the next paragraph reopens it; an opening mark inside an open quote reopens
//! it (as careless copy does); single quotes inside are part of the quote. The speaker is
//! found in the quote's sentence: a person named before a speech verb ("X said:", "X told …:",
//! "Yesterday X said there were “…”"), after the quote ("…,” X said", "said X"), an
//! organization directly before the verb ("The MoD continued:"), or, for "he said" / "the
//! Defence Secretary said", the person last speaking (else last named).

use crate::entity::{Entity, EntityKind};
use regex::Regex;
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

/// A direct quotation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Quote {
    /// The quoted words (between the outer marks).
    pub text: String,
    /// Byte offset of the first quoted byte.
    pub start: usize,
    /// Byte offset one past the last quoted byte.
    pub end: usize,
    /// The speaker's cluster id, when one was found.
    pub speaker: Option<usize>,
    /// The words that name the speaker ("Ben Wallace", "he").
    pub speaker_text: Option<String>,
}

const OPEN: [char; 3] = ['“', '„', '«'];
const CLOSE: [char; 2] = ['”', '»'];

/// Quote spans (without the marks) in text order.
pub fn spans(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut open: Option<(usize, char)> = None; // (content start, kind: '“' or '"')
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut i = 0;
    while i < chars.len() {
        let (pos, c) = chars[i];
        let next_pos = chars.get(i + 1).map_or(text.len(), |&(p, _)| p);
        let prev = if i > 0 { Some(chars[i - 1].1) } else { None };
        match open {
            None => {
                if OPEN.contains(&c) {
                    open = Some((next_pos, '“'));
                } else if c == '"' && prev.is_none_or(|p| !p.is_alphanumeric()) {
                    open = Some((next_pos, '"'));
                }
            }
            Some((start, kind)) => {
                let closes = (kind == '“' && CLOSE.contains(&c)) || (kind == '"' && c == '"');
                if closes {
                    if pos > start {
                        out.push((start, pos));
                    }
                    open = None;
                } else if c == '\n' {
                    // End of paragraph: continue only if the next paragraph reopens the quote.
                    let rest = text[pos..].trim_start();
                    let reopens = rest.starts_with(OPEN) || (kind == '"' && rest.starts_with('"'));
                    if !reopens {
                        let end = text[..pos].trim_end().len();
                        if end > start {
                            out.push((start, end));
                        }
                        open = None;
                    } else {
                        // Skip to the reopening mark; the quote goes on.
                        let skip = text.len() - rest.len();
                        while i + 1 < chars.len() && chars[i + 1].0 <= skip {
                            i += 1;
                        }
                    }
                }
            }
        }
        i += 1;
    }
    if let Some((start, _)) = open {
        let end = text.trim_end().len();
        if end > start {
            out.push((start, end));
        }
    }
    out
}

fn speech_verb() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"\b(?:said|says|say|told|tells|added|adds|warned|warns|claimed|claims|stated|explained|continued|insisted|asked|wrote|tweeted|declared|announced|argued|noted|stressed|admitted|urged|replied|remarked)\b")
            .unwrap_or_else(|e| unreachable!("{e}"))
    })
}

fn pronoun_or_description() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"(?:\b(?:he|she|He|She)|\b[Tt]he(?:\s+[A-Z][\w’']*)+)\s+(?:(?:has|have|had|also|then|later|again|once)\s+){0,2}$")
            .unwrap_or_else(|e| unreachable!("{e}"))
    })
}

/// Only auxiliaries or adverbs between a subject and its verb ("has", "also").
fn only_auxiliaries(gap: &str) -> bool {
    gap.split_whitespace().all(|w| {
        matches!(
            w.trim_matches([',', ')', '(']),
            "" | "has" | "have" | "had" | "also" | "then" | "later" | "again" | "once" | "boldly"
        )
    })
}

/// "he", "she" or "the Defence Secretary" right before a speech verb, when it is the subject
/// (not the object of a preposition: "an adviser to the Defence Minister claimed").
fn subject_description(before_verb: &str) -> Option<regex::Match<'_>> {
    let m = pronoun_or_description().find(before_verb)?;
    let prev = before_verb[..m.start()].split_whitespace().next_back();
    let object = prev.is_some_and(|w| {
        matches!(
            w.to_lowercase().as_str(),
            "to" | "of" | "for" | "with" | "by" | "from" | "at" | "about"
        )
    });
    (!object).then_some(m)
}

/// Start of the sentence containing `pos`.
fn sentence_start(text: &str, pos: usize) -> usize {
    text[..pos]
        .rfind(['.', '!', '?', '\n'])
        .map_or(0, |i| i + 1)
}

/// Finds the quotes of a text and their speakers.
pub fn find(text: &str, entities: &[Entity]) -> Vec<Quote> {
    let speakers = |e: &Entity| matches!(e.kind, EntityKind::Person | EntityKind::Organization);
    let mut last_speaker: Option<usize> = None; // entity index
    let mut out = Vec::new();
    let spans = spans(text);
    for (qi, &(start, end)) in spans.iter().enumerate() {
        let open_mark = text[..start].chars().next_back().map_or(0, char::len_utf8);
        let quote_start = start - open_mark;
        // Before: from the sentence start (not crossing the previous quote) to the mark.
        let prev_end = if qi > 0 { spans[qi - 1].1 } else { 0 };
        let b0 = sentence_start(text, quote_start).max(prev_end);
        let before = &text[b0..quote_start];
        // After: to the end of the sentence or the next quote.
        let next_start = spans.get(qi + 1).map_or(text.len(), |s| s.0);
        let a0 = (end + text[end..].chars().next().map_or(0, char::len_utf8)).min(text.len());
        let a_end = text[a0..next_start]
            .find(['.', '!', '?', '\n'])
            .map_or(next_start, |i| a0 + i);
        let after = &text[a0..a_end.max(a0)];

        let in_range = |lo: usize, hi: usize| {
            entities
                .iter()
                .enumerate()
                .filter(move |(_, e)| e.start >= lo && e.end <= hi)
        };
        let last_named = |before: usize| {
            entities
                .iter()
                .rposition(|e| e.kind == EntityKind::Person && e.end <= before)
        };
        let mut speaker: Option<(usize, Option<String>)> = None; // (entity, words if not its text)
        if let Some(v) = speech_verb().find_iter(before).last() {
            let verb_at = b0 + v.start();
            let person = in_range(b0, verb_at)
                .rev()
                .find(|(_, e)| e.kind == EntityKind::Person);
            let direct = in_range(b0, verb_at)
                .rev()
                .find(|(_, e)| speakers(e) && only_auxiliaries(&text[e.end..verb_at]));
            speaker = person.or(direct).map(|(i, _)| (i, None));
            if speaker.is_none() {
                if let Some(m) = subject_description(&before[..v.start()]) {
                    speaker = last_speaker
                        .or_else(|| last_named(quote_start))
                        .map(|i| (i, Some(m.as_str().trim().to_string())));
                }
            }
        }
        if speaker.is_none() {
            if let Some(v) = speech_verb().find(after) {
                let verb_at = a0 + v.start();
                let head = &after[..v.start()];
                let before_verb = in_range(a0, verb_at).rev().find(|(_, e)| speakers(e));
                // An entity that starts inside the verb's match is no subject after it.
                let after_verb = in_range(verb_at, a_end).find(|(_, e)| {
                    speakers(e)
                        && text
                            .get(verb_at + v.len()..e.start)
                            .is_some_and(|gap| gap.split_whitespace().count() <= 1)
                });
                speaker = before_verb.or(after_verb).map(|(i, _)| (i, None));
                if speaker.is_none() && head.split_whitespace().count() <= 4 {
                    if let Some(m) = subject_description(head) {
                        speaker = last_speaker
                            .or_else(|| last_named(quote_start))
                            .map(|i| (i, Some(m.as_str().trim().to_string())));
                    }
                }
            }
        }
        if let Some((i, _)) = speaker {
            last_speaker = Some(i);
        }
        out.push(Quote {
            text: text[start..end].to_string(),
            start,
            end,
            speaker: speaker.as_ref().and_then(|(i, _)| entities[*i].cluster),
            speaker_text: speaker
                .map(|(i, words)| words.unwrap_or_else(|| entities[i].text.clone())),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ents(text: &str, spec: &[(&str, EntityKind)]) -> Vec<Entity> {
        crate::entity::test_mentions(text, spec)
    }

    fn who(text: &str, spec: &[(&str, EntityKind)]) -> Vec<(String, Option<String>)> {
        find(text, &ents(text, spec))
            .into_iter()
            .map(|q| (q.text, q.speaker_text))
            .collect()
    }

    #[test]
    fn marks_and_paragraphs() {
        let text = "He said: “One. “Two ‘inner’ words.\n\n“Three.” Then \"straight\" and “open\n\nNext paragraph.";
        let got: Vec<&str> = spans(text).iter().map(|&(s, e)| &text[s..e]).collect();
        assert_eq!(
            got,
            ["One. “Two ‘inner’ words.\n\n“Three.", "straight", "open"]
        );
        // Apostrophes and inch marks inside words do not open quotes.
        assert!(spans("It's 5\" long").is_empty());
    }

    #[test]
    fn speakers_before_after_and_pronouns() {
        use EntityKind::*;
        let text = "Ann Lee told BBC Radio: “We won.” “It was hard,” she said. “Not again,” said Bob Ray. \
                    The MoD continued: “Calm.” Yesterday Bob Ray said there were “signs of hope”.";
        let got = who(
            text,
            &[
                ("Ann Lee", Person),
                ("BBC Radio", Organization),
                ("Bob Ray", Person),
                ("MoD", Organization),
                ("Bob Ray", Person),
            ],
        );
        let speakers: Vec<Option<&str>> = got.iter().map(|g| g.1.as_deref()).collect();
        assert_eq!(
            speakers,
            [
                Some("Ann Lee"),
                Some("she"),
                Some("Bob Ray"),
                Some("MoD"),
                Some("Bob Ray")
            ]
        );
    }

    #[test]
    fn a_description_must_stand_right_before_the_verb() {
        use EntityKind::*;
        let text = "Ann Lee said: “Yes.” An adviser claimed the war in the Russian ranks is “far from over”.";
        let got = who(text, &[("Ann Lee", Person), ("Russian", Misc)]);
        assert_eq!(got[1], ("far from over".to_string(), None));
    }

    #[test]
    fn a_description_is_the_person_last_speaking() {
        use EntityKind::*;
        // "Defence" tagged as an organization inside "the Defence Secretary" is not the speaker;
        // the description refers to the person last speaking.
        let text = "Ann Lee said “yes”. Speaking to Sky News, the Defence Secretary said: “No.” \
                    An adviser to the Foreign Minister claimed it was “over”.";
        let got = who(
            text,
            &[
                ("Ann Lee", Person),
                ("Sky News", Organization),
                ("Defence", Organization),
            ],
        );
        let speakers: Vec<Option<&str>> = got.iter().map(|g| g.1.as_deref()).collect();
        assert_eq!(
            speakers,
            [Some("Ann Lee"), Some("the Defence Secretary"), None]
        );
        let q = find(
            text,
            &ents(
                text,
                &[
                    ("Ann Lee", Person),
                    ("Sky News", Organization),
                    ("Defence", Organization),
                ],
            ),
        );
        assert_eq!(q[1].speaker, Some(0));
    }

    #[test]
    fn an_entity_inside_the_speech_verb_is_no_speaker() {
        use EntityKind::*;
        // Another model tagged "aid Bob" (from inside "said"): this used to panic slicing
        // `begin > end` (issue 9); the speaker is then looked for elsewhere.
        let text = "“Yes,” said Bob Ray. Then more.";
        let got = who(text, &[("aid Bob", Person)]);
        assert_eq!(got, [("Yes,".to_string(), None)]);
        let got = who(text, &[("d Bob Ray", Organization)]);
        assert_eq!(got, [("Yes,".to_string(), None)]);
    }

    #[test]
    fn no_speaker_is_not_invented() {
        use EntityKind::*;
        let text = "Kyiv called it “a victory”. Experts in Paris were cautious.";
        let got = who(text, &[("Kyiv", Location), ("Paris", Location)]);
        assert_eq!(got, [("a victory".to_string(), None)]);
    }
}

/// The examples of this module's documentation, as tests (the module is internal).
#[cfg(test)]
mod doc_examples {
    #[test]
    fn example_1() {
        use crate::{Entity, EntityKind};
        let text = "Ann Lee said: “We won.” He added: “It was hard.”";
        let e = Entity {
            text: "Ann Lee".into(),
            label: "PER".into(),
            kind: EntityKind::Person,
            start: 0,
            end: 7,
            char_start: 0,
            char_end: 7,
            score: 1.0,
            cluster: Some(0),
        };
        let q = crate::quote::find(text, &[e]);
        assert_eq!(q[0].text, "We won.");
        assert_eq!(
            (q[1].speaker, q[1].speaker_text.as_deref()),
            (Some(0), Some("He"))
        );
    }
}
