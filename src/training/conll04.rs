//! CoNLL04 (Roth and Yih, 2004) as the `*_triples.json` files hold it: news sentences as
//! tokens, their entities (`Peop`, `Org`, `Loc`, `Other`) and relations (`Work_For`,
//! `OrgBased_In`, `Live_In`, `Located_In`, `Kill`) between entity indices; and the mapping
//! between those relation types and newsgraph's TAC KBP names, used to train on CoNLL04 and
//! to score on it strictly (both ends and the type).
//!
//! ```
//! use newsgraph::training::conll04::{self, Sentence};
//! let json = r#"[{"tokens": ["Smith", "works", "for", "IBM", "."],
//!   "entities": [{"type": "Peop", "start": 0, "end": 1}, {"type": "Org", "start": 3, "end": 4}],
//!   "relations": [{"type": "Work_For", "head": 0, "tail": 1}]}]"#;
//! let sentences: Vec<Sentence> = conll04::parse(json).unwrap();
//! let (text, spans) = sentences[0].text_and_spans().unwrap();
//! assert_eq!(&text[spans[1].0..spans[1].1], "IBM");
//! ```

use crate::error::{Error, Result};
use crate::relation::Directed;
use crate::relation::RelationKind;
use crate::training::eval::Counts;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// One sentence.
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct Sentence {
    /// The words.
    pub tokens: Vec<String>,
    /// The entities, as word ranges.
    pub entities: Vec<EntitySpan>,
    /// The relations, as entity indices.
    pub relations: Vec<Triple>,
}

/// An entity: its type and words `start..end`.
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct EntitySpan {
    /// `Peop`, `Org`, `Loc` or `Other`.
    #[serde(rename = "type")]
    pub kind: String,
    /// First word.
    pub start: usize,
    /// One past the last word.
    pub end: usize,
}

/// A relation between two entities of the sentence.
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct Triple {
    /// `Work_For`, `OrgBased_In`, `Live_In`, `Located_In` or `Kill`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Index of the head entity.
    pub head: usize,
    /// Index of the tail entity.
    pub tail: usize,
}

/// Reads a `*_triples.json` file.
pub fn read(path: &Path) -> Result<Vec<Sentence>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    parse(&text).map_err(|e| match e {
        Error::Input { message, .. } => Error::input(path.display().to_string(), message),
        other => other,
    })
}

/// Parses the JSON of a `*_triples.json` file and checks every index.
pub fn parse(json: &str) -> Result<Vec<Sentence>> {
    let sentences: Vec<Sentence> = serde_json::from_str(json)
        .map_err(|e| Error::input("CoNLL04 JSON", format!("not CoNLL04 JSON: {e}")))?;
    for (i, s) in sentences.iter().enumerate() {
        let bad = s
            .entities
            .iter()
            .any(|e| e.start >= e.end || e.end > s.tokens.len())
            || s.relations
                .iter()
                .any(|r| r.head >= s.entities.len() || r.tail >= s.entities.len());
        if bad {
            return Err(Error::input(
                "CoNLL04 JSON",
                format!(
                    "sentence {i}: an entity outside its words or a relation outside its entities"
                ),
            ));
        }
    }
    Ok(sentences)
}

impl Sentence {
    /// The sentence as a one-sentence CoNLL document with `B-` tags of the pipeline's types
    /// (`Peop` PER, `Org` ORG, `Loc` LOC; `Other`, which no pipeline type matches, as `O`), for
    /// scoring entities with [`crate::training::eval`].
    pub fn conll_document(&self) -> crate::training::conll::ConllDocument {
        let mut tags = vec!["O".to_string(); self.tokens.len()];
        for e in &self.entities {
            let typ = match e.kind.as_str() {
                "Peop" => "PER",
                "Org" => "ORG",
                "Loc" => "LOC",
                _ => continue,
            };
            for (i, tag) in tags.iter_mut().enumerate().take(e.end).skip(e.start) {
                let prefix = if i == e.start { "B" } else { "I" };
                *tag = format!("{prefix}-{typ}");
            }
        }
        crate::training::conll::ConllDocument {
            sentences: vec![crate::training::conll::Sentence {
                tokens: self.tokens.clone(),
                tags,
            }],
        }
    }

    /// The words joined by single spaces, and each entity's byte span in that text.
    pub fn text_and_spans(&self) -> Result<(String, Vec<(usize, usize)>)> {
        let mut text = String::new();
        let mut starts = Vec::with_capacity(self.tokens.len());
        for t in &self.tokens {
            if !text.is_empty() {
                text.push(' ');
            }
            starts.push(text.len());
            text.push_str(t);
        }
        let spans = self
            .entities
            .iter()
            .map(|e| {
                let last = e.end.checked_sub(1).filter(|&l| e.start <= l);
                match (
                    starts.get(e.start),
                    last.and_then(|l| Some((starts.get(l)?, l))),
                ) {
                    (Some(&s), Some((&ls, l))) => Ok((s, ls + self.tokens[l].len())),
                    _ => Err(Error::input(
                        "CoNLL04 sentence",
                        format!("entity {}..{} outside its words", e.start, e.end),
                    )),
                }
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((text, spans))
    }

    /// The gold relations as (CoNLL04 type, head, tail).
    pub fn gold(&self) -> BTreeSet<(String, usize, usize)> {
        self.relations
            .iter()
            .map(|r| (r.kind.clone(), r.head, r.tail))
            .collect()
    }
}

/// The (head, tail) entity types of each CoNLL04 relation newsgraph maps to KBP names.
const MAPPED: [(&str, (&str, &str)); 4] = [
    ("Work_For", ("Peop", "Org")),
    ("OrgBased_In", ("Org", "Loc")),
    ("Live_In", ("Peop", "Loc")),
    ("Located_In", ("Loc", "Loc")),
];

/// Whether a mapped CoNLL04 relation can hold between entities of these types (either way).
pub fn candidate(a: &str, b: &str) -> bool {
    MAPPED
        .iter()
        .any(|(_, (h, t))| (*h, *t) == (a, b) || (*h, *t) == (b, a))
}

/// The CoNLL04 type of a KBP relation between a subject and an object of the given CoNLL04
/// entity types, and whether CoNLL04's head is the KBP object (Work_For ← per:employee_of and
/// org:top_members/employees reversed; OrgBased_In ← org:*_of_headquarters; Live_In ←
/// per:*_of_residence; Located_In ← loc:located_in). `None` when it maps to none, or the
/// types do not fit.
pub fn from_kbp(kind: RelationKind, subject: &str, object: &str) -> Option<(&'static str, bool)> {
    use RelationKind::*;
    let (name, swap) = match kind {
        PerEmployeeOf => ("Work_For", false),
        OrgTopMembersEmployees => ("Work_For", true),
        OrgCityOfHeadquarters | OrgStateorprovinceOfHeadquarters | OrgCountryOfHeadquarters => {
            ("OrgBased_In", false)
        }
        PerCitiesOfResidence | PerStateorprovincesOfResidence | PerCountriesOfResidence => {
            ("Live_In", false)
        }
        LocLocatedIn => ("Located_In", false),
        _ => return None,
    };
    let (h, t) = if swap {
        (object, subject)
    } else {
        (subject, object)
    };
    MAPPED
        .iter()
        .any(|(n, types)| *n == name && *types == (h, t))
        .then_some((name, swap))
}

/// The KBP relations a CoNLL04 relation stands for, each with whether its subject is
/// CoNLL04's tail (the inverse of [`from_kbp`]); empty for `Kill`.
pub fn to_kbp(name: &str) -> Vec<(RelationKind, bool)> {
    use RelationKind::*;
    match name {
        "Work_For" => vec![(PerEmployeeOf, false), (OrgTopMembersEmployees, true)],
        "OrgBased_In" => vec![
            (OrgCityOfHeadquarters, false),
            (OrgStateorprovinceOfHeadquarters, false),
            (OrgCountryOfHeadquarters, false),
        ],
        "Live_In" => vec![
            (PerCitiesOfResidence, false),
            (PerStateorprovincesOfResidence, false),
            (PerCountriesOfResidence, false),
        ],
        "Located_In" => vec![(LocLocatedIn, false)],
        _ => Vec::new(),
    }
}

/// A pair of a sentence's entities to classify, with the answers CoNLL04's annotation allows.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LabelledPair {
    /// The sentence.
    pub sentence: usize,
    /// First entity (the pair's `e1`).
    pub e1: usize,
    /// Second entity (`e2`).
    pub e2: usize,
    /// The directed KBP answers that are right (any of them; `None` is `no_relation`).
    pub allowed: Vec<Option<Directed>>,
}

/// Every pair `i < j` of a sentence's entities whose types a mapped relation can join, with
/// its allowed answers: the KBP relations of its gold relations, or `no_relation` when it has
/// none. Pairs whose only gold relation is `Kill` are left out (newsgraph has no such class).
pub fn labelled_pairs(sentences: &[Sentence]) -> Vec<LabelledPair> {
    let mut out = Vec::new();
    for (si, s) in sentences.iter().enumerate() {
        for i in 0..s.entities.len() {
            for j in i + 1..s.entities.len() {
                if !candidate(&s.entities[i].kind, &s.entities[j].kind) {
                    continue;
                }
                let gold: Vec<&Triple> = s
                    .relations
                    .iter()
                    .filter(|r| (r.head, r.tail) == (i, j) || (r.head, r.tail) == (j, i))
                    .collect();
                let mut allowed = Vec::new();
                for r in &gold {
                    for (kind, subject_is_tail) in to_kbp(&r.kind) {
                        let subject = if subject_is_tail { r.tail } else { r.head };
                        allowed.push(Some(Directed {
                            kind,
                            reversed: subject == j,
                        }));
                    }
                }
                if gold.is_empty() {
                    allowed.push(None);
                }
                if !allowed.is_empty() {
                    out.push(LabelledPair {
                        sentence: si,
                        e1: i,
                        e2: j,
                        allowed,
                    });
                }
            }
        }
    }
    out
}

/// Strict scores per CoNLL04 type.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scores {
    /// Per type.
    pub counts: BTreeMap<String, Counts>,
}

impl Scores {
    /// Adds one sentence: its predicted and gold (type, head, tail) triples (the ends as
    /// entity indices, or as their text).
    pub fn add<T: Ord>(
        &mut self,
        predicted: &BTreeSet<(String, T, T)>,
        gold: &BTreeSet<(String, T, T)>,
    ) {
        for g in gold {
            self.counts.entry(g.0.clone()).or_default().gold += 1;
        }
        for p in predicted {
            let c = self.counts.entry(p.0.clone()).or_default();
            c.predicted += 1;
            c.correct += usize::from(gold.contains(p));
        }
    }

    /// (precision, recall, F1) of the types `keep` accepts, counted together (micro).
    pub fn micro(&self, keep: impl Fn(&str) -> bool) -> (f64, f64, f64) {
        let c: Counts = self
            .counts
            .iter()
            .filter(|(k, _)| keep(k))
            .map(|(_, c)| *c)
            .sum();
        (c.precision(), c.recall(), c.f1())
    }

    /// Micro (precision, recall, F1) over the four mapped types (all but `Kill`).
    pub fn mapped(&self) -> (f64, f64, f64) {
        self.micro(|k| k != "Kill")
    }

    /// (type, precision, recall, F1, gold, predicted) per type.
    pub fn per_type(&self) -> Vec<(String, f64, f64, f64, usize, usize)> {
        self.counts
            .iter()
            .map(|(k, c)| {
                (
                    k.clone(),
                    c.precision(),
                    c.recall(),
                    c.f1(),
                    c.gold,
                    c.predicted,
                )
            })
            .collect()
    }
}

/// The CoNLL04 triples of KBP predictions over a sentence's entity pairs: `(e1, e2, answer)`
/// per classified pair, kept where the answer maps to a CoNLL04 type the entities fit.
pub fn predicted(
    sentence: &Sentence,
    answers: impl IntoIterator<Item = (usize, usize, Option<Directed>)>,
) -> BTreeSet<(String, usize, usize)> {
    let mut out = BTreeSet::new();
    for (i, j, d) in answers {
        let Some(d) = d else { continue };
        let (subject, object) = if d.reversed { (j, i) } else { (i, j) };
        let (Some(s), Some(o)) = (
            sentence.entities.get(subject),
            sentence.entities.get(object),
        ) else {
            continue;
        };
        if let Some((name, swap)) = from_kbp(d.kind, &s.kind, &o.kind) {
            let (h, t) = if swap {
                (object, subject)
            } else {
                (subject, object)
            };
            out.insert((name.to_string(), h, t));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const JSON: &str = r#"[{"tokens": ["Smith", "of", "IBM", "in", "Armonk", ",", "New", "York", "met", "Jones", "."],
      "entities": [{"type": "Peop", "start": 0, "end": 1}, {"type": "Org", "start": 2, "end": 3},
                   {"type": "Loc", "start": 4, "end": 5}, {"type": "Loc", "start": 6, "end": 8},
                   {"type": "Peop", "start": 9, "end": 10}],
      "relations": [{"type": "Work_For", "head": 0, "tail": 1}, {"type": "OrgBased_In", "head": 1, "tail": 2},
                    {"type": "Located_In", "head": 2, "tail": 3}, {"type": "Kill", "head": 4, "tail": 0}]}]"#;

    #[test]
    fn a_sentence_becomes_a_conll_document_with_the_pipelines_types() {
        let mut s = parse(JSON).unwrap().remove(0);
        s.entities.push(EntitySpan {
            kind: "Other".into(),
            start: 10,
            end: 11,
        });
        let doc = s.conll_document();
        let sentence = &doc.sentences[0];
        assert_eq!(sentence.tokens, s.tokens);
        let entities: Vec<(String, String)> = crate::training::eval::chunks(&sentence.tags)
            .into_iter()
            .map(|c| (c.typ, sentence.tokens[c.start..c.end].join(" ")))
            .collect();
        let want = [
            ("PER", "Smith"),
            ("ORG", "IBM"),
            ("LOC", "Armonk"),
            ("LOC", "New York"),
            ("PER", "Jones"),
        ];
        assert_eq!(entities, want.map(|(t, n)| (t.to_string(), n.to_string())));
        assert_eq!(sentence.tags[10], "O", "Other matches no pipeline type");
    }

    #[test]
    fn spans_and_labelled_pairs() {
        let s = parse(JSON).unwrap();
        let (text, spans) = s[0].text_and_spans().unwrap();
        assert_eq!(&text[spans[3].0..spans[3].1], "New York");
        let pairs = labelled_pairs(&s);
        // Peop-Peop (the Kill pair) is no candidate; Smith–IBM, Smith–Armonk, Smith–New York,
        // IBM–Armonk, IBM–New York, Armonk–New York, IBM–Jones, Armonk–Jones, New York–Jones.
        assert_eq!(pairs.len(), 9);
        let work = &pairs[0];
        assert_eq!((work.e1, work.e2), (0, 1));
        let employee = Directed {
            kind: RelationKind::PerEmployeeOf,
            reversed: false,
        };
        let top = Directed {
            kind: RelationKind::OrgTopMembersEmployees,
            reversed: true,
        };
        assert_eq!(work.allowed, [Some(employee), Some(top)]);
        let based = pairs.iter().find(|p| (p.e1, p.e2) == (1, 2)).unwrap();
        assert_eq!(based.allowed.len(), 3);
        let none = pairs.iter().find(|p| (p.e1, p.e2) == (0, 2)).unwrap();
        assert_eq!(none.allowed, [None]);
    }

    #[test]
    fn predictions_map_back_and_score_strictly() {
        let s = &parse(JSON).unwrap()[0];
        let d = |kind, reversed| Some(Directed { kind, reversed });
        let got = predicted(
            s,
            [
                // IBM's top member Smith: Work_For(Smith, IBM).
                (0, 1, d(RelationKind::OrgTopMembersEmployees, true)),
                (1, 2, d(RelationKind::OrgCityOfHeadquarters, false)),
                // Wrong direction for the types: no triple.
                (1, 2, d(RelationKind::OrgCityOfHeadquarters, true)),
                (2, 3, d(RelationKind::LocLocatedIn, false)),
                (0, 2, d(RelationKind::PerCitiesOfResidence, false)),
                (1, 4, None),
            ],
        );
        assert_eq!(got.len(), 4);
        let mut scores = Scores::default();
        scores.add(&got, &s.gold());
        assert_eq!(
            scores.counts["Work_For"],
            Counts {
                correct: 1,
                predicted: 1,
                gold: 1
            }
        );
        assert_eq!(
            scores.counts["Live_In"],
            Counts {
                correct: 0,
                predicted: 1,
                gold: 0
            }
        );
        assert_eq!(
            scores.counts["Kill"],
            Counts {
                correct: 0,
                predicted: 0,
                gold: 1
            }
        );
        let (p, r, f) = scores.mapped();
        assert_eq!((p, r), (0.75, 1.0));
        assert!((f - 6.0 / 7.0).abs() < 1e-12);
    }

    #[test]
    fn bad_indices_are_errors() {
        let bad = r#"[{"tokens": ["a"], "entities": [{"type": "Peop", "start": 0, "end": 2}], "relations": []}]"#;
        assert!(parse(bad).unwrap_err().to_string().contains("sentence 0"));
        assert!(parse("{").is_err());
    }
}
