//! KBP37 (Zhang and Wang, 2015): sentences with one marked entity pair and its relation, read
//! for training and scoring relation classifiers.
//!
//! The file has one example per four lines: `id<TAB>"… <e1> Thom Yorke </e1> of <e2> Radiohead
//! </e2> …"`, the label (`per:employee_of(e1,e2)`, `per:employee_of(e2,e1)` or `no_relation`),
//! and two blank lines. The usual score is the macro-F1 over the 36 directed relation classes,
//! `no_relation` excluded ([`Scores::macro_f1`]).

use crate::error::{Error, Result};
use crate::relation::Directed;
use crate::training::eval::Counts;
use std::collections::BTreeMap;
use std::path::Path;

/// A byte span.
type Span = (usize, usize);

/// One example: the sentence without its markers, the byte spans of the two marked entities
/// in it, and the gold label.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    /// The example's id in the file.
    pub id: String,
    /// The sentence, markers removed.
    pub text: String,
    /// Byte span of `<e1>`'s entity in `text`.
    pub e1: (usize, usize),
    /// Byte span of `<e2>`'s entity in `text`.
    pub e2: (usize, usize),
    /// The gold relation; `None` is `no_relation`.
    pub label: Option<Directed>,
}

/// Reads a KBP37 file.
pub fn read(path: &Path) -> Result<Vec<Example>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    parse(&text).map_err(|(line, m)| Error::input(format!("{}:{line}", path.display()), m))
}

/// Parses the text of a KBP37 file; an error names the line (1-based).
pub fn parse(text: &str) -> Result<Vec<Example>, (usize, String)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim().is_empty() {
            i += 1;
            continue;
        }
        let (id, sentence) = lines[i]
            .split_once('\t')
            .ok_or((i + 1, "expected `id<TAB>\"sentence\"`".to_string()))?;
        let label = lines
            .get(i + 1)
            .ok_or((i + 2, "the label line is missing".to_string()))?;
        let label = Directed::parse(label).map_err(|m| (i + 2, m))?;
        let (text, e1, e2) = unmark(sentence).map_err(|m| (i + 1, m))?;
        out.push(Example {
            id: id.trim().to_string(),
            text,
            e1,
            e2,
            label,
        });
        i += 2;
    }
    Ok(out)
}

/// Removes the quotes and the `<e1>`…`</e2>` markers; returns the text and the two spans.
fn unmark(sentence: &str) -> Result<(String, Span, Span), String> {
    let s = sentence.trim();
    let s = s.strip_prefix('"').unwrap_or(s);
    let s = s.strip_suffix('"').unwrap_or(s).trim();
    let mut text = String::with_capacity(s.len());
    let (mut e1, mut e2) = ((None, None), (None, None));
    for word in s.split_whitespace() {
        let at = text.len() + usize::from(!text.is_empty());
        match word {
            "<e1>" => e1.0 = Some(at),
            "<e2>" => e2.0 = Some(at),
            "</e1>" => e1.1 = Some(text.len()),
            "</e2>" => e2.1 = Some(text.len()),
            w => {
                if !text.is_empty() {
                    text.push(' ');
                }
                text.push_str(w);
            }
        }
    }
    let span = |e: (Option<usize>, Option<usize>), n: &str| match e {
        // An empty entity (the data has a few): `<e1>`'s position is after a space never written.
        (Some(a), Some(b)) if a <= b + 1 => Ok((a.min(b), b)),
        _ => Err(format!("the sentence has no <{n}> … </{n}> pair")),
    };
    Ok((text.clone(), span(e1, "e1")?, span(e2, "e2")?))
}

/// Precision, recall and F1 of each directed relation class over (gold, predicted) pairs.
#[derive(Debug, Clone, Default)]
pub struct Scores {
    /// Counts per class.
    pub counts: BTreeMap<String, Counts>,
}

impl Scores {
    /// Counts (gold, predicted) label pairs; `None` is `no_relation`.
    ///
    /// ```
    /// use newsgraph::model::Directed;
    /// use newsgraph::training::kbp37::Scores;
    /// let a = Directed::parse("per:title(e1,e2)").unwrap();
    /// let b = Directed::parse("per:title(e2,e1)").unwrap();
    /// let s = Scores::new([(a, a), (a, b), (None, a)]);
    /// // per:title(e1,e2): P 1/2, R 1/2; per:title(e2,e1): P 0/1, R 0/0.
    /// assert!((s.macro_f1() - 0.25).abs() < 1e-9);
    /// // Micro: 1 correct of 3 predicted and 2 gold: P 1/3, R 1/2, F1 0.4.
    /// assert!((s.micro_f1() - 0.4).abs() < 1e-9);
    /// ```
    pub fn new(pairs: impl IntoIterator<Item = (Option<Directed>, Option<Directed>)>) -> Self {
        let mut counts: BTreeMap<String, Counts> = BTreeMap::new();
        for (gold, pred) in pairs {
            if let Some(p) = pred {
                let c = counts.entry(p.name()).or_default();
                c.predicted += 1;
                c.correct += usize::from(gold == pred);
            }
            if let Some(g) = gold {
                counts.entry(g.name()).or_default().gold += 1;
            }
        }
        Scores { counts }
    }

    /// (class, precision, recall, F1) of each class that occurs in the gold or the
    /// predictions.
    pub fn per_class(&self) -> Vec<(String, f64, f64, f64)> {
        self.counts
            .iter()
            .map(|(name, c)| (name.clone(), c.precision(), c.recall(), c.f1()))
            .collect()
    }

    /// The mean F1 over the classes (directions apart, `no_relation` excluded).
    pub fn macro_f1(&self) -> f64 {
        let f: Vec<f64> = self.per_class().iter().map(|c| c.3).collect();
        if f.is_empty() {
            0.0
        } else {
            f.iter().sum::<f64>() / f.len() as f64
        }
    }

    /// F1 over all relation predictions (`no_relation` excluded).
    pub fn micro_f1(&self) -> f64 {
        self.counts.values().copied().sum::<Counts>().f1()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_examples_with_spans_and_directions() {
        let text = "7\t\" <e1> Thom Yorke </e1> of <e2> Radiohead </e2> said . \"\nper:employee_of(e1,e2)\n\n\n8\t\"<e2> Acme </e2> hired <e1> Jo </e1>\"\nper:employee_of(e2,e1)\n\n\n9\t\"a <e1> b </e1> <e2> c </e2>\"\nno_relation\n";
        let ex = parse(text).unwrap();
        assert_eq!(ex.len(), 3);
        let t = &ex[0];
        assert_eq!(t.text, "Thom Yorke of Radiohead said .");
        assert_eq!(&t.text[t.e1.0..t.e1.1], "Thom Yorke");
        assert_eq!(&t.text[t.e2.0..t.e2.1], "Radiohead");
        assert_eq!(t.label.unwrap().name(), "per:employee_of(e1,e2)");
        assert_eq!(&ex[1].text[ex[1].e2.0..ex[1].e2.1], "Acme");
        assert!(ex[1].label.unwrap().reversed);
        assert_eq!(ex[2].label, None);
    }

    #[test]
    fn an_empty_entity_is_an_empty_span() {
        let e = parse("1\t\"an <e1> </e1> station in <e2> Cork </e2> .\"\nno_relation\n").unwrap();
        assert_eq!(e[0].text, "an station in Cork .");
        assert_eq!(e[0].e1, (2, 2));
        assert_eq!(&e[0].text[e[0].e2.0..e[0].e2.1], "Cork");
    }

    #[test]
    fn bad_lines_are_named() {
        assert_eq!(
            parse("1\t\"x <e1> a </e1>\"\nno_relation\n").unwrap_err().0,
            1
        );
        assert_eq!(
            parse("1\t\"<e1> a </e1> <e2> b </e2>\"\nper:nothing(e1,e2)\n")
                .unwrap_err()
                .0,
            2
        );
        assert_eq!(parse("no tab here\nno_relation\n").unwrap_err().0, 1);
    }
}
