//! Typed entities: what the decoder produces for each article.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The kind of an entity, mapped from the model's label names.
///
/// CoNLL-style models give the first four; OntoNotes-style models the finer ones.
/// A label newsgraph does not know becomes [`EntityKind::Other`] with the label's name.
///
/// ```
/// use newsgraph::EntityKind;
/// assert_eq!(EntityKind::from_label("PER"), EntityKind::Person);
/// assert_eq!(EntityKind::from_label("gpe"), EntityKind::Gpe);
/// assert_eq!(EntityKind::from_label("DISEASE"), EntityKind::Other("DISEASE".into()));
/// assert_eq!(EntityKind::Person.as_str(), "person");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EntityKind {
    /// People, including fictional (PER, PERSON).
    Person,
    /// Companies, agencies, institutions (ORG).
    Organization,
    /// Places (LOC); in OntoNotes, non-GPE locations.
    Location,
    /// Other names: nationalities, events, products (CoNLL MISC).
    Misc,
    /// Countries, cities, states (OntoNotes GPE).
    Gpe,
    /// Nationalities, religious or political groups (NORP).
    Norp,
    /// Buildings, airports, highways, bridges (FAC).
    Facility,
    /// Named hurricanes, battles, wars, sports events (EVENT).
    Event,
    /// Objects, vehicles, foods (PRODUCT).
    Product,
    /// Titles of books, songs (WORK_OF_ART).
    WorkOfArt,
    /// Named documents made into laws (LAW).
    Law,
    /// Named languages (LANGUAGE).
    Language,
    /// Absolute or relative dates or periods (DATE).
    Date,
    /// Times smaller than a day (TIME).
    Time,
    /// Percentages (PERCENT).
    Percent,
    /// Monetary values (MONEY).
    Money,
    /// Measurements (QUANTITY).
    Quantity,
    /// "first", "second" (ORDINAL).
    Ordinal,
    /// Numerals that fit no other kind (CARDINAL).
    Cardinal,
    /// A label newsgraph does not map; the model's name for it.
    Other(String),
}

impl EntityKind {
    /// Maps a model's entity type name (the part after `B-`/`I-`), case-insensitively.
    pub fn from_label(label: &str) -> EntityKind {
        match label.to_ascii_uppercase().as_str() {
            "PER" | "PERSON" | "PEOP" => EntityKind::Person,
            "ORG" | "ORGANIZATION" | "ORGANISATION" => EntityKind::Organization,
            "LOC" | "LOCATION" => EntityKind::Location,
            "MISC" | "MISCELLANEOUS" => EntityKind::Misc,
            "GPE" => EntityKind::Gpe,
            "NORP" => EntityKind::Norp,
            "FAC" | "FACILITY" => EntityKind::Facility,
            "EVENT" | "EVE" => EntityKind::Event,
            "PRODUCT" | "PROD" => EntityKind::Product,
            "WORK_OF_ART" => EntityKind::WorkOfArt,
            "LAW" => EntityKind::Law,
            "LANGUAGE" => EntityKind::Language,
            "DATE" => EntityKind::Date,
            "TIME" => EntityKind::Time,
            "PERCENT" => EntityKind::Percent,
            "MONEY" => EntityKind::Money,
            "QUANTITY" => EntityKind::Quantity,
            "ORDINAL" => EntityKind::Ordinal,
            "CARDINAL" => EntityKind::Cardinal,
            _ => EntityKind::Other(label.to_string()),
        }
    }

    /// The name used in JSON output (`person`, `organization`, …; `Other` keeps the label).
    pub fn as_str(&self) -> &str {
        match self {
            EntityKind::Person => "person",
            EntityKind::Organization => "organization",
            EntityKind::Location => "location",
            EntityKind::Misc => "misc",
            EntityKind::Gpe => "gpe",
            EntityKind::Norp => "norp",
            EntityKind::Facility => "facility",
            EntityKind::Event => "event",
            EntityKind::Product => "product",
            EntityKind::WorkOfArt => "work_of_art",
            EntityKind::Law => "law",
            EntityKind::Language => "language",
            EntityKind::Date => "date",
            EntityKind::Time => "time",
            EntityKind::Percent => "percent",
            EntityKind::Money => "money",
            EntityKind::Quantity => "quantity",
            EntityKind::Ordinal => "ordinal",
            EntityKind::Cardinal => "cardinal",
            EntityKind::Other(name) => name,
        }
    }

    fn from_output_name(name: &str) -> EntityKind {
        match name {
            "person" => EntityKind::Person,
            "organization" => EntityKind::Organization,
            "location" => EntityKind::Location,
            "misc" => EntityKind::Misc,
            "facility" => EntityKind::Facility,
            "work_of_art" => EntityKind::WorkOfArt,
            other => match EntityKind::from_label(other) {
                EntityKind::Other(_) => EntityKind::Other(other.to_string()),
                kind => kind,
            },
        }
    }
}

impl EntityKind {
    /// A place: a location, a geopolitical entity or a facility (what relations about
    /// residence, headquarters and location join, and what CoNLL04 calls `Loc`).
    ///
    /// ```
    /// use newsgraph::EntityKind;
    /// assert!(EntityKind::Gpe.is_place() && !EntityKind::Organization.is_place());
    /// ```
    pub fn is_place(&self) -> bool {
        matches!(
            self,
            EntityKind::Location | EntityKind::Gpe | EntityKind::Facility
        )
    }
}

impl std::fmt::Display for EntityKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for EntityKind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for EntityKind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Ok(EntityKind::from_output_name(&name))
    }
}

/// One entity mention found in an article.
///
/// `&text[start..end] == entity.text` holds for the article's `text`; `char_start`/`char_end`
/// are the same span counted in Unicode scalar values (Python's `str` indices).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Entity {
    /// The exact slice of the source text.
    pub text: String,
    /// The model's entity type, e.g. `PER` (without the `B-`/`I-` prefix).
    pub label: String,
    /// The type, mapped to newsgraph's kinds.
    pub kind: EntityKind,
    /// Byte offset of the first byte.
    pub start: usize,
    /// Byte offset one past the last byte.
    pub end: usize,
    /// Offset of the first character, in Unicode scalar values.
    pub char_start: usize,
    /// Offset one past the last character, in Unicode scalar values.
    pub char_end: usize,
    /// Mean of the entity's word scores (each the probability of the word's label). A mention
    /// re-typed by the per-article type vote ([`PipelineOptions::type_vote`]) keeps the score of
    /// the type the model gave it.
    ///
    /// [`PipelineOptions::type_vote`]: crate::PipelineOptions::type_vote
    pub score: f32,
    /// Id of the entity's mention cluster, an index into
    /// [`Document::clusters`](crate::Document::clusters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<usize>,
}

/// Head words of institution names that are often possessive ("King’s College London",
/// "Queen’s University", "Great Ormond Street Children’s Hospital").
const INSTITUTION_HEADS: [&str; 10] = [
    "College",
    "University",
    "Hospital",
    "School",
    "Institute",
    "Church",
    "Cathedral",
    "Academy",
    "Infirmary",
    "Theatre",
];

/// Joins an institution name that the model split at a possessive: a capitalised mention (or
/// word) directly followed by "’s"/"'s" and an organization that starts with an institution
/// head word becomes one organization ("King" + "’s" + "College London" → "King’s College
/// London"). `text` is the article text; entities must be in text order.
pub fn join_possessive_institutions(text: &str, entities: &mut Vec<Entity>) {
    // A lone possessive "s" is a fragment of the word before, never an entity.
    entities.retain(|e| {
        !(e.text == "s"
            && text
                .get(..e.start)
                .is_some_and(|t| t.ends_with(['’', '\''])))
    });
    let mut i = 1;
    while i < entities.len() {
        let (a, b) = (&entities[i - 1], &entities[i]);
        let possessive = matches!(text.get(a.end..b.start), Some("’s " | "'s "));
        let institution = b.kind == EntityKind::Organization
            && INSTITUTION_HEADS
                .iter()
                .any(|h| b.text.split_whitespace().next() == Some(*h));
        let capitalised = a.text.starts_with(char::is_uppercase) && !a.text.contains(' ');
        if possessive && institution && capitalised {
            let joined = Entity {
                text: text[a.start..b.end].to_string(),
                label: b.label.clone(),
                kind: b.kind.clone(),
                start: a.start,
                end: b.end,
                char_start: a.char_start,
                char_end: b.char_end,
                score: (a.score + b.score) / 2.0,
                cluster: None,
            };
            entities.splice(i - 1..=i, [joined]);
        } else {
            i += 1;
        }
    }
}

/// Abbreviations whose period is part of a name ("Hartford, Conn.", "Acme Corp.").
const ABBREVIATIONS: &[&str] = &[
    "Ala", "Ariz", "Ark", "Calif", "Colo", "Conn", "Del", "Fla", "Ga", "Ill", "Ind", "Kan", "Ky",
    "La", "Mass", "Md", "Mich", "Minn", "Miss", "Mo", "Mont", "Neb", "Nev", "Okla", "Ore", "Pa",
    "Tenn", "Tex", "Va", "Vt", "Wash", "Wis", "Wyo", "Corp", "Inc", "Co", "Ltd", "Bros", "Jr",
    "Sr", "Mt", "St",
];

/// Gives an abbreviated name its period: a mention directly followed by "." whose last word
/// is an abbreviation ("Conn", "Corp") or which holds periods already ("U.S", "S.C") ends
/// after the period, as news style and annotation conventions (CoNLL04, OntoNotes) write it.
pub fn attach_abbreviation_periods(text: &str, entities: &mut [Entity]) {
    for e in entities.iter_mut() {
        if text.get(e.end..e.end + 1) != Some(".") {
            continue;
        }
        let last = e.text.rsplit([' ', '.']).next().unwrap_or("");
        let dotted = e.text.contains('.') && last.len() <= 2;
        if dotted || ABBREVIATIONS.contains(&last) {
            e.end += 1;
            e.char_end += 1;
            e.text.push('.');
        }
    }
}

/// The share of a name's summed mention scores that a type needs to win the name's vote (see
/// [`vote_types`]); chosen on CoNLL-2003 dev (docs/ner-model.md).
pub const TYPE_VOTE_SHARE: f32 = 0.5;
/// Mentions scored above this keep their own type in the vote (see [`vote_types`])…
pub const TYPE_VOTE_KEEP_ABOVE: f32 = 0.9;
/// …unless the winning type holds at least this share: then every mention takes it.
pub const TYPE_VOTE_OVERRULE: f32 = 2.0 / 3.0;

/// One type per name in an article: mentions with the same text whose types disagree take the
/// type with the largest share of the mentions' summed scores (ties: the label that sorts
/// first), when that share is at least `min_share`; a mention scored above `keep_above` keeps
/// its own type (a confident "Washington" the person beside a "Washington" the city) unless
/// the share is at least `overrule`.
pub fn vote_types(entities: &mut [Entity], min_share: f32, keep_above: f32, overrule: f32) {
    use std::collections::HashMap;
    let mut votes: HashMap<&str, HashMap<&str, f32>> = HashMap::new();
    for e in entities.iter() {
        let score = if e.score.is_finite() {
            e.score.max(0.0)
        } else {
            0.0
        };
        *votes
            .entry(e.text.as_str())
            .or_default()
            .entry(e.label.as_str())
            .or_default() += score;
    }
    let winners: HashMap<String, (String, bool)> = votes
        .into_iter()
        .filter(|(_, v)| v.len() > 1)
        .filter_map(|(name, v)| {
            let total: f32 = v.values().sum();
            let (label, best) = v
                .into_iter()
                .max_by(|a, b| a.1.total_cmp(&b.1).then_with(|| b.0.cmp(a.0)))?;
            let share = best / total;
            (total > 0.0 && share >= min_share)
                .then(|| (name.to_string(), (label.to_string(), share >= overrule)))
        })
        .collect();
    for e in entities.iter_mut() {
        if let Some((label, overruled)) = winners.get(&e.text) {
            let confident = e.score > keep_above && !overruled;
            if *label != e.label && !confident {
                e.kind = EntityKind::from_label(label);
                e.label = label.clone();
            }
        }
    }
}

/// Test helper: entities for `(text, kind)` pairs found in order in `text`; mentions with the
/// same text share a cluster id.
#[cfg(test)]
pub(crate) fn test_mentions(text: &str, spec: &[(&str, EntityKind)]) -> Vec<Entity> {
    let mut from = 0;
    let mut seen: Vec<&str> = Vec::new();
    spec.iter()
        .map(|&(t, ref k)| {
            let s = from
                + text[from..]
                    .find(t)
                    .unwrap_or_else(|| panic!("{t} not in text"));
            from = s + t.len();
            let c = seen.iter().position(|x| *x == t).unwrap_or_else(|| {
                seen.push(t);
                seen.len() - 1
            });
            Entity {
                text: t.to_string(),
                label: String::new(),
                kind: k.clone(),
                start: s,
                end: s + t.len(),
                char_start: s,
                char_end: s + t.len(),
                score: 1.0,
                cluster: Some(c),
            }
        })
        .collect()
}

/// The examples of this module's documentation, as tests (the module is internal).
#[cfg(test)]
mod doc_examples {
    #[test]
    fn example_1() {
        use crate::{Entity, EntityKind};
        let text = "Michael Clarke of King’s College London said";
        let e = |t: &str, k: EntityKind, l: &str| {
            let s = text.find(t).unwrap();
            Entity {
                text: t.into(),
                label: l.into(),
                kind: k,
                start: s,
                end: s + t.len(),
                char_start: 0,
                char_end: 0,
                score: 0.8,
                cluster: None,
            }
        };
        let mut ents = vec![
            e("King", EntityKind::Person, "PER"),
            e("s", EntityKind::Organization, "ORG"),
            e("College London", EntityKind::Organization, "ORG"),
        ];
        crate::entity::join_possessive_institutions(text, &mut ents);
        assert_eq!(ents.len(), 1);
        assert_eq!(
            (ents[0].text.as_str(), ents[0].label.as_str()),
            ("King’s College London", "ORG")
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abbreviations_keep_their_period_and_sentences_do_not() {
        let text = "Smith of Hartford, Conn. met U.S. and Acme Corp. staff in Paris.";
        let mut e = test_mentions(
            text,
            &[
                ("Smith", EntityKind::Person),
                ("Conn", EntityKind::Location),
                ("U.S", EntityKind::Location),
                ("Acme Corp", EntityKind::Organization),
                ("Paris", EntityKind::Location),
            ],
        );
        attach_abbreviation_periods(text, &mut e);
        let got: Vec<&str> = e.iter().map(|e| &text[e.start..e.end]).collect();
        assert_eq!(got, ["Smith", "Conn.", "U.S.", "Acme Corp.", "Paris"]);
        assert!(e.iter().all(|e| text[e.start..e.end] == e.text));
        assert_eq!(e[1].char_end - e[1].char_start, 5);
    }

    #[test]
    fn one_name_takes_the_type_of_its_vote() {
        let text = "Kherson fell. Kherson is calm. Kherson. Paris and Paris. Jordan met Jordan.";
        let kinds = [
            ("Kherson", "LOC", 0.99),
            ("Kherson", "ORG", 0.6),
            ("Kherson", "LOC", 0.8),
            ("Paris", "LOC", 0.95),
            ("Paris", "PER", 0.93),
            ("Jordan", "PER", 0.5),
            ("Jordan", "LOC", 0.5),
        ];
        let spec: Vec<(&str, EntityKind)> = kinds
            .iter()
            .map(|(t, l, _)| (*t, EntityKind::from_label(l)))
            .collect();
        let mut e = test_mentions(text, &spec);
        for (e, (_, label, score)) in e.iter_mut().zip(&kinds) {
            e.label = label.to_string();
            e.score = *score;
        }
        let original = e.clone();
        let vote = |e: &mut Vec<Entity>| {
            vote_types(e, TYPE_VOTE_SHARE, TYPE_VOTE_KEEP_ABOVE, TYPE_VOTE_OVERRULE)
        };
        vote(&mut e);
        let got: Vec<&str> = e.iter().map(|e| e.label.as_str()).collect();
        // Kherson: LOC holds 1.79 of 2.39; the ORG mention (0.6) follows the vote. Paris: LOC
        // holds half, and the person mention, scored above 0.9, keeps its type. Jordan: a tie
        // goes to the label that sorts first.
        assert_eq!(got, ["LOC", "LOC", "LOC", "LOC", "PER", "LOC", "LOC"]);
        assert_eq!(e[1].kind, EntityKind::Location);

        // A confident mention keeps its type under two thirds (LOC 1.79 of 2.74) …
        let mut e2 = original.clone();
        e2[1].score = 0.95;
        vote(&mut e2);
        assert_eq!(e2[1].label, "ORG");
        // … and follows the vote from two thirds on (LOC 1.99 of 2.94).
        let mut e2 = original.clone();
        e2[1].score = 0.95;
        e2[2].score = 1.0;
        vote(&mut e2);
        assert_eq!(e2[1].label, "LOC");

        // Below the share nothing moves.
        let mut e3 = original;
        vote_types(&mut e3, 0.9, TYPE_VOTE_KEEP_ABOVE, TYPE_VOTE_OVERRULE);
        assert_eq!(e3[1].label, "ORG");
    }
}
