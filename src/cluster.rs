//! Mention clusters: who is who across an article's mentions.
//!
//! "Ben Wallace" / "Wallace" / "Mr Wallace", "Vladimir Putin" / "Putin’s", "Institute for the
//! Study of War (ISW)" / "ISW". A shorter mention joins the cluster whose name contains it as
//! whole words (a person's surname or first name, a place's or organization's name), when
//! exactly one cluster of the same kind fits; an acronym joins the cluster of the name it is
//! defined after ("… (MoD)") or whose initials it spells. Kinds must agree.

use crate::entity::{Entity, EntityKind};
use serde::{Deserialize, Serialize};

/// A group of mentions of one referent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Cluster {
    /// Index in the document's `clusters`.
    pub id: usize,
    /// The fullest form of the name (without possessive or title).
    pub name: String,
    /// The entity kind shared by the mentions.
    pub kind: EntityKind,
    /// Indices of the mentions in the document's `entities`, in text order.
    pub mentions: Vec<usize>,
    /// Share of the article's mentions, with a bonus for being named early (0..=1).
    pub salience: f32,
}

const TITLES: [&str; 14] = [
    "mr",
    "mrs",
    "ms",
    "miss",
    "dr",
    "prof",
    "professor",
    "sir",
    "dame",
    "lord",
    "lady",
    "president",
    "general",
    "gen",
];

/// The words of a name without possessive and leading titles.
pub fn name_words(text: &str) -> Vec<String> {
    let t = text
        .trim_end_matches("’s")
        .trim_end_matches("'s")
        .trim_end_matches(['’', '\'']);
    let mut words: Vec<String> = t
        .split(|c: char| c.is_whitespace() || c == '-')
        .filter(|w| !w.is_empty())
        .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()).to_string())
        .filter(|w| !w.is_empty())
        .collect();
    while words.len() > 1 && TITLES.contains(&words[0].to_lowercase().trim_end_matches('.')) {
        words.remove(0);
    }
    words
}

/// Initials of all words ("umod" for "UK Ministry of Defence") and of the capitalised words
/// ("isw" for "Institute for the Study of War").
fn initials(words: &[String]) -> [String; 2] {
    let of = |ws: &mut dyn Iterator<Item = &String>| {
        ws.filter_map(|w| w.chars().next())
            .collect::<String>()
            .to_lowercase()
    };
    [
        of(&mut words.iter()),
        of(&mut words.iter().filter(|w| w.starts_with(char::is_uppercase))),
    ]
}

fn acronym_fits(acronym: &str, name: &[String]) -> bool {
    let a = acronym.to_lowercase();
    name.len() > 1
        && initials(name)
            .iter()
            .any(|i| *i == a || (a.len() >= 2 && i.ends_with(&a)))
}

/// A cluster being built: its fullest name, kind, mentions and every form seen.
struct Building {
    name: Vec<String>,
    kind: EntityKind,
    mentions: Vec<usize>,
    aliases: Vec<Vec<String>>,
}

fn same_words(a: &[String], b: &[String]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.eq_ignore_ascii_case(y))
}

fn is_acronym(word: &str) -> bool {
    word.len() >= 2
        && word.chars().all(|c| c.is_alphabetic())
        && word.chars().filter(|c| c.is_uppercase()).count() >= 2
}

/// Whether `short` names the same referent as `long` (whole words, in order).
fn contained(short: &[String], long: &[String]) -> bool {
    !short.is_empty()
        && short.len() < long.len()
        && long
            .windows(short.len())
            .any(|w| w.iter().zip(short).all(|(a, b)| a.eq_ignore_ascii_case(b)))
}

/// Clusters the mentions of an article; returns the clusters and each entity's cluster id.
pub fn cluster(text: &str, entities: &[Entity]) -> (Vec<Cluster>, Vec<usize>) {
    let (clusters, of) = group(text, entities);
    in_text_order(text, entities, &clusters, of)
}

/// Groups the mentions, longest names first so that short forms find their full form; returns
/// the groups and each entity's group (`usize::MAX`: a mention without name words).
fn group(text: &str, entities: &[Entity]) -> (Vec<Building>, Vec<usize>) {
    let words: Vec<Vec<String>> = entities.iter().map(|e| name_words(&e.text)).collect();
    let mut order: Vec<usize> = (0..entities.len()).collect();
    order.sort_by_key(|&i| (std::cmp::Reverse(words[i].len()), entities[i].start));
    let mut clusters: Vec<Building> = Vec::new();
    let mut of = vec![usize::MAX; entities.len()];
    for &i in &order {
        let w = &words[i];
        if w.is_empty() {
            continue;
        }
        match target(text, entities, i, w, &clusters, &of) {
            Some(c) => {
                clusters[c].mentions.push(i);
                if !clusters[c].aliases.iter().any(|a| same_words(a, w)) {
                    clusters[c].aliases.push(w.clone());
                }
                of[i] = c;
            }
            None => {
                of[i] = clusters.len();
                clusters.push(Building {
                    name: w.clone(),
                    kind: entities[i].kind.clone(),
                    mentions: vec![i],
                    aliases: vec![w.clone()],
                });
            }
        }
    }
    (clusters, of)
}

/// The group mention `i` (name words `w`) joins, if exactly one of its kind fits: one with
/// the same form; for an acronym, the name it is defined after ("Name (ACR)") or the one whose
/// initials it is; otherwise one whose name contains it.
fn target(
    text: &str,
    entities: &[Entity],
    i: usize,
    w: &[String],
    clusters: &[Building],
    of: &[usize],
) -> Option<usize> {
    let kind = &entities[i].kind;
    let candidates = |fit: &dyn Fn(&Building) -> bool| -> Option<usize> {
        let fits: Vec<usize> = (0..clusters.len())
            .filter(|&c| clusters[c].kind == *kind && fit(&clusters[c]))
            .collect();
        (fits.len() == 1).then(|| fits[0])
    };
    if let Some(c) = candidates(&|c| c.aliases.iter().any(|a| same_words(a, w))) {
        return Some(c);
    }
    if w.len() == 1 && is_acronym(&w[0]) {
        defined_after(text, entities, i)
            .map(|p| of[p])
            .filter(|&c| c != usize::MAX && clusters[c].kind == *kind)
            .or_else(|| candidates(&|c| acronym_fits(&w[0], &c.name)))
    } else {
        candidates(&|c| contained(w, &c.name))
    }
}

/// The entity an acronym (entity `i`) is defined after: "Name (ACR)".
fn defined_after(text: &str, entities: &[Entity], i: usize) -> Option<usize> {
    let e = &entities[i];
    text[e.end..].trim_start().strip_prefix(')')?;
    let before = text[..e.start].trim_end().strip_suffix('(')?.trim_end();
    entities[..i]
        .iter()
        .rposition(|p| p.end <= before.len() && text[p.end..before.len()].trim().is_empty())
}

/// The groups as clusters numbered in order of first mention (emptied groups dropped), with
/// each entity's cluster id.
fn in_text_order(
    text: &str,
    entities: &[Entity],
    clusters: &[Building],
    of: Vec<usize>,
) -> (Vec<Cluster>, Vec<usize>) {
    let mut firsts: Vec<(usize, usize)> = clusters
        .iter()
        .enumerate()
        .filter_map(|(i, c)| {
            let first = c.mentions.iter().map(|&m| entities[m].start).min()?;
            Some((first, i))
        })
        .collect();
    firsts.sort();
    let mut new_id = vec![usize::MAX; clusters.len()];
    let mut out = Vec::new();
    for (first, old) in firsts {
        new_id[old] = out.len();
        out.push(finished(text, entities, &clusters[old], first, out.len()));
    }
    let of = of
        .into_iter()
        .map(|c| if c == usize::MAX { c } else { new_id[c] })
        .collect();
    (out, of)
}

/// A group as cluster `id`: mentions in text order, the fullest name (the longest mention,
/// without possessive and titles) and salience (share of the mentions, how early the first is).
fn finished(text: &str, entities: &[Entity], c: &Building, first: usize, id: usize) -> Cluster {
    let mut mentions = c.mentions.clone();
    mentions.sort_by_key(|&m| entities[m].start);
    let name = mentions
        .iter()
        .map(|&m| name_words(&entities[m].text))
        .max_by_key(|w| (w.len(), w.iter().map(|x| x.len()).sum::<usize>()))
        .map(|w| w.join(" "))
        .unwrap_or_default();
    let share = mentions.len() as f32 / entities.len().max(1) as f32;
    let early = 1.0 - first as f32 / text.len().max(1) as f32;
    let salience = ((0.8 * share + 0.2 * early) * 1000.0).round() / 1000.0;
    Cluster {
        id,
        name,
        kind: c.kind.clone(),
        mentions,
        salience,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ents(text: &str, spec: &[(&str, EntityKind)]) -> Vec<Entity> {
        crate::entity::test_mentions(text, spec)
    }

    #[test]
    fn people_places_and_acronyms() {
        use EntityKind::*;
        let text = "Putin’s men left. Vladimir Putin met the Institute for the Study of War (ISW) and the UK Ministry of Defence (MoD). Wallace, Ben Wallace, ISW, Putin and the MoD.";
        let e = ents(
            text,
            &[
                ("Putin’s", Person),
                ("Vladimir Putin", Person),
                ("Institute for the Study of War", Organization),
                ("ISW", Organization),
                ("UK Ministry of Defence", Organization),
                ("MoD", Organization),
                ("Wallace", Person),
                ("Ben Wallace", Person),
                ("ISW", Organization),
                ("Putin", Person),
                ("MoD", Organization),
            ],
        );
        let (c, of) = cluster(text, &e);
        let names: Vec<&str> = c.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "Vladimir Putin",
                "Institute for the Study of War",
                "UK Ministry of Defence",
                "Ben Wallace"
            ]
        );
        assert_eq!(of, vec![0, 0, 1, 1, 2, 2, 3, 3, 1, 0, 2]);
        assert_eq!(c[0].mentions, vec![0, 1, 9]);
        assert!(c[0].salience > c[3].salience);
    }

    #[test]
    fn kinds_must_agree_and_ambiguity_stays_apart() {
        use EntityKind::*;
        let text = "Jordan Smith visited Jordan. Anna Smith and John Smith met Smith.";
        let e = ents(
            text,
            &[
                ("Jordan Smith", Person),
                ("Jordan", Location),
                ("Anna Smith", Person),
                ("John Smith", Person),
                ("Smith", Person),
            ],
        );
        let (c, of) = cluster(text, &e);
        assert_eq!(c.len(), 5, "{c:?}");
        assert_ne!(of[0], of[1]);
    }

    #[test]
    fn titles_are_not_names() {
        assert_eq!(name_words("Mr Wallace"), ["Wallace"]);
        assert_eq!(
            name_words("Professor Michael Clarke’s"),
            ["Michael", "Clarke"]
        );
        assert_eq!(name_words("Mr"), ["Mr"]);
    }
}

/// The examples of this module's documentation, as tests (the module is internal).
#[cfg(test)]
mod doc_examples {
    #[test]
    fn example_1() {
        use crate::cluster::cluster;
        use crate::{Entity, EntityKind};
        let text = "Ben Wallace spoke. Mr Wallace left.";
        let e = |t: &str, s: usize| Entity {
            text: t.into(),
            label: "PER".into(),
            kind: EntityKind::Person,
            start: s,
            end: s + t.len(),
            char_start: s,
            char_end: s + t.len(),
            score: 1.0,
            cluster: None,
        };
        let (clusters, of) = cluster(text, &[e("Ben Wallace", 0), e("Mr Wallace", 19)]);
        assert_eq!(clusters.len(), 1);
        assert_eq!(clusters[0].name, "Ben Wallace");
        assert_eq!(of, vec![0, 0]);
    }
}
