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
use crate::span::{CharIndex, Span};
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
    /// `start` in characters (Unicode scalar values: a Python `str` index).
    pub char_start: usize,
    /// `end` in characters.
    pub char_end: usize,
    /// The speaker's cluster id, when one was found.
    pub speaker: Option<usize>,
    /// The words that name the speaker ("Ben Wallace", "he").
    pub speaker_text: Option<String>,
    /// Where those words are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speaker_span: Option<Span>,
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

/// Only auxiliaries or adverbs between a subject and its verb ("has", "also", "has
/// repeatedly").
fn only_auxiliaries(gap: &str) -> bool {
    gap.split_whitespace().all(|w| {
        let w = w.trim_matches([',', ')', '(']);
        // A lower-case word in -ly: an adverb of manner or time ("quietly", "recently").
        let adverb = w.len() > 4 && w.ends_with("ly") && w.bytes().all(|b| b.is_ascii_lowercase());
        adverb
            || matches!(
                w,
                "" | "has" | "have" | "had" | "also" | "then" | "later" | "again" | "once"
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

/// A speaker: the entity's index, and the byte span of the words that name it when they are
/// not its text ("he", "the Defence Secretary").
type Speaker = (usize, Option<(usize, usize)>);

/// What surrounds a quote: before its opening mark back to the sentence start (not crossing
/// the previous quote), after its closing mark to the sentence end or the next quote.
struct Surroundings<'a> {
    /// Byte offset of the opening mark.
    quote_start: usize,
    /// Where `before` starts.
    before_at: usize,
    before: &'a str,
    /// Where `after` starts and ends.
    after_at: usize,
    after_end: usize,
    after: &'a str,
}

fn surroundings<'a>(text: &'a str, spans: &[(usize, usize)], qi: usize) -> Surroundings<'a> {
    let (start, end) = spans[qi];
    let open_mark = text[..start].chars().next_back().map_or(0, char::len_utf8);
    let quote_start = start - open_mark;
    let prev_end = if qi > 0 { spans[qi - 1].1 } else { 0 };
    let before_at = sentence_start(text, quote_start).max(prev_end);
    let next_start = spans.get(qi + 1).map_or(text.len(), |s| s.0);
    let after_at = (end + text[end..].chars().next().map_or(0, char::len_utf8)).min(text.len());
    let after_end = text[after_at..next_start]
        .find(['.', '!', '?', '\n'])
        .map_or(next_start, |i| after_at + i)
        .max(after_at);
    Surroundings {
        quote_start,
        before_at,
        before: &text[before_at..quote_start],
        after_at,
        after_end,
        after: &text[after_at..after_end],
    }
}

/// People and organizations can speak.
fn can_speak(e: &Entity) -> bool {
    matches!(e.kind, EntityKind::Person | EntityKind::Organization)
}

/// Finds the speakers of a text's quotes in order, remembering the last one ("he said").
struct Attribution<'a> {
    text: &'a str,
    entities: &'a [Entity],
    last_speaker: Option<usize>,
}

impl<'a> Attribution<'a> {
    /// The entities lying within `lo..hi`, with their indices.
    fn in_range(
        &self,
        lo: usize,
        hi: usize,
    ) -> impl DoubleEndedIterator<Item = (usize, &'a Entity)> + 'a {
        self.entities
            .iter()
            .enumerate()
            .filter(move |(_, e)| e.start >= lo && e.end <= hi)
    }

    /// "he", "the Defence Secretary" as the subject in `words` (which start at byte `at`):
    /// the last speaker, or else the last person named before the quote.
    fn described(&self, words: &str, at: usize, quote_start: usize) -> Option<Speaker> {
        let m = subject_description(words)?;
        let lead = m.as_str().len() - m.as_str().trim_start().len();
        let start = at + m.start() + lead;
        let span = (start, start + m.as_str().trim().len());
        let last_named = || {
            self.entities
                .iter()
                .rposition(|e| e.kind == EntityKind::Person && e.end <= quote_start)
        };
        self.last_speaker
            .or_else(last_named)
            .map(|i| (i, Some(span)))
    }

    /// "Ben Wallace said: “…”": the last person before the speech verb, or a speaker right
    /// before it, or a description of one.
    fn before(&self, s: &Surroundings) -> Option<Speaker> {
        let v = speech_verb().find_iter(s.before).last()?;
        let verb_at = s.before_at + v.start();
        let person = self
            .in_range(s.before_at, verb_at)
            .rev()
            .find(|(_, e)| e.kind == EntityKind::Person);
        let direct = self
            .in_range(s.before_at, verb_at)
            .rev()
            .find(|(_, e)| can_speak(e) && only_auxiliaries(&self.text[e.end..verb_at]));
        person
            .or(direct)
            .map(|(i, _)| (i, None))
            .or_else(|| self.described(&s.before[..v.start()], s.before_at, s.quote_start))
    }

    /// "“…”, Ben Wallace said" or "“…”, said Ben Wallace": a speaker before the verb, or one
    /// word at most after it, or a short description before it.
    fn after(&self, s: &Surroundings) -> Option<Speaker> {
        let v = speech_verb().find(s.after)?;
        let verb_at = s.after_at + v.start();
        let head = &s.after[..v.start()];
        let before_verb = self
            .in_range(s.after_at, verb_at)
            .rev()
            .find(|(_, e)| can_speak(e));
        // An entity that starts inside the verb's match is no subject after it.
        let after_verb = self.in_range(verb_at, s.after_end).find(|(_, e)| {
            can_speak(e)
                && self
                    .text
                    .get(verb_at + v.len()..e.start)
                    .is_some_and(|gap| gap.split_whitespace().count() <= 1)
        });
        before_verb
            .or(after_verb)
            .map(|(i, _)| (i, None))
            .or_else(|| {
                (head.split_whitespace().count() <= 4)
                    .then(|| self.described(head, s.after_at, s.quote_start))
                    .flatten()
            })
    }
}

/// Finds the quotes of a text and their speakers.
pub fn find(text: &str, entities: &[Entity]) -> Vec<Quote> {
    let spans = spans(text);
    let mut attribution = Attribution {
        text,
        entities,
        last_speaker: None,
    };
    let chars = CharIndex::new(text);
    let mut out = Vec::with_capacity(spans.len());
    for (qi, &(start, end)) in spans.iter().enumerate() {
        let around = surroundings(text, &spans, qi);
        let speaker = attribution
            .before(&around)
            .or_else(|| attribution.after(&around));
        if let Some((i, _)) = speaker {
            attribution.last_speaker = Some(i);
        }
        let speaker_span = speaker.map(|(i, words)| {
            let (s, e) = words.unwrap_or((entities[i].start, entities[i].end));
            chars.span(Span::bytes(s, e))
        });
        out.push(Quote {
            text: text[start..end].to_string(),
            start,
            end,
            char_start: chars.at(start),
            char_end: chars.at(end),
            speaker: speaker.as_ref().and_then(|(i, _)| entities[*i].cluster),
            speaker_text: speaker_span.map(|s| text[s.start..s.end].to_string()),
            speaker_span,
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
    fn an_organization_speaks_across_auxiliaries_and_adverbs_only() {
        use EntityKind::*;
        let speaker = |text: &str, spec: &[(&str, EntityKind)]| who(text, spec)[0].1.clone();
        let acme = [("Acme", Organization)];
        assert_eq!(
            speaker("Acme has repeatedly said: “No comment.”", &acme),
            Some("Acme".into())
        );
        assert_eq!(speaker("Acme also said: “No.”", &acme), Some("Acme".into()));
        // Not across other words, nor a capitalised word in -ly.
        assert_eq!(speaker("Acme rivals said: “Maybe.”", &acme), None);
        let italy = [("Acme", Organization), ("Italy", Location)];
        assert_eq!(speaker("Acme Italy said: “Yes.”", &italy), None);
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
