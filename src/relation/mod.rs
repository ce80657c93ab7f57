//! Relations: typed, directed links from a cluster to a cluster or a text value, with the span
//! that supports them. Names are TAC KBP slot names (`per:title`, `org:alternate_names`, …).
//!
//! Two sources: the learned classifier over candidate pairs of one sentence's entities
//! ([`model`], [`candidates`]), and a small rule layer for what it cannot answer (a title as a
//! text value, an acronym in parentheses, who spoke to whom) ([`rules`]).

pub(crate) mod candidates;
pub(crate) mod model;
pub(crate) mod rules;

pub use model::{Pair, Prediction, RelationModel};

use serde::{Deserialize, Serialize};

use crate::span::Span;

/// A relation type: a TAC KBP slot (the 18 of KBP37, plus `loc:located_in` and newsgraph's
/// `per:spoke_to`), serialized as its slot name.
///
/// ```
/// use newsgraph::RelationKind;
/// let k: RelationKind = "per:employee_of".parse().unwrap();
/// assert_eq!(k, RelationKind::PerEmployeeOf);
/// assert_eq!(serde_json::to_string(&k).unwrap(), "\"per:employee_of\"");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum RelationKind {
    /// `per:alternate_names`: a person's other name.
    #[serde(rename = "per:alternate_names")]
    PerAlternateNames,
    /// `per:origin`: a person's nationality or origin.
    #[serde(rename = "per:origin")]
    PerOrigin,
    /// `per:spouse`: a person's spouse.
    #[serde(rename = "per:spouse")]
    PerSpouse,
    /// `per:title`: a person's title or position (a text value).
    #[serde(rename = "per:title")]
    PerTitle,
    /// `per:employee_of`: the organization a person works for or leads.
    #[serde(rename = "per:employee_of")]
    PerEmployeeOf,
    /// `per:countries_of_residence`: a country a person lives in.
    #[serde(rename = "per:countries_of_residence")]
    PerCountriesOfResidence,
    /// `per:stateorprovinces_of_residence`: a state or province a person lives in.
    #[serde(rename = "per:stateorprovinces_of_residence")]
    PerStateorprovincesOfResidence,
    /// `per:cities_of_residence`: a city a person lives in.
    #[serde(rename = "per:cities_of_residence")]
    PerCitiesOfResidence,
    /// `per:country_of_birth`: the country a person was born in.
    #[serde(rename = "per:country_of_birth")]
    PerCountryOfBirth,
    /// `per:spoke_to`: a person a person spoke to or met (newsgraph's own).
    #[serde(rename = "per:spoke_to")]
    PerSpokeTo,
    /// `org:alternate_names`: an organization's other name or acronym.
    #[serde(rename = "org:alternate_names")]
    OrgAlternateNames,
    /// `org:subsidiaries`: an organization that belongs to this one.
    #[serde(rename = "org:subsidiaries")]
    OrgSubsidiaries,
    /// `org:top_members/employees`: a person who leads or works for an organization.
    #[serde(rename = "org:top_members/employees")]
    OrgTopMembersEmployees,
    /// `org:founded`: when an organization was founded.
    #[serde(rename = "org:founded")]
    OrgFounded,
    /// `org:founded_by`: who founded an organization.
    #[serde(rename = "org:founded_by")]
    OrgFoundedBy,
    /// `org:country_of_headquarters`: the country of an organization's headquarters.
    #[serde(rename = "org:country_of_headquarters")]
    OrgCountryOfHeadquarters,
    /// `org:stateorprovince_of_headquarters`: the state or province of an organization's headquarters.
    #[serde(rename = "org:stateorprovince_of_headquarters")]
    OrgStateorprovinceOfHeadquarters,
    /// `org:city_of_headquarters`: the city of an organization's headquarters.
    #[serde(rename = "org:city_of_headquarters")]
    OrgCityOfHeadquarters,
    /// `org:members`: an organization that is a member of this one.
    #[serde(rename = "org:members")]
    OrgMembers,
    /// `loc:located_in`: a place inside another place.
    #[serde(rename = "loc:located_in")]
    LocLocatedIn,
}

impl RelationKind {
    /// Every relation type.
    pub const ALL: [RelationKind; 20] = [
        RelationKind::PerAlternateNames,
        RelationKind::PerOrigin,
        RelationKind::PerSpouse,
        RelationKind::PerTitle,
        RelationKind::PerEmployeeOf,
        RelationKind::PerCountriesOfResidence,
        RelationKind::PerStateorprovincesOfResidence,
        RelationKind::PerCitiesOfResidence,
        RelationKind::PerCountryOfBirth,
        RelationKind::PerSpokeTo,
        RelationKind::OrgAlternateNames,
        RelationKind::OrgSubsidiaries,
        RelationKind::OrgTopMembersEmployees,
        RelationKind::OrgFounded,
        RelationKind::OrgFoundedBy,
        RelationKind::OrgCountryOfHeadquarters,
        RelationKind::OrgStateorprovinceOfHeadquarters,
        RelationKind::OrgCityOfHeadquarters,
        RelationKind::OrgMembers,
        RelationKind::LocLocatedIn,
    ];

    /// The TAC KBP slot name, e.g. `per:title`.
    pub fn as_str(self) -> &'static str {
        match self {
            RelationKind::PerAlternateNames => "per:alternate_names",
            RelationKind::PerOrigin => "per:origin",
            RelationKind::PerSpouse => "per:spouse",
            RelationKind::PerTitle => "per:title",
            RelationKind::PerEmployeeOf => "per:employee_of",
            RelationKind::PerCountriesOfResidence => "per:countries_of_residence",
            RelationKind::PerStateorprovincesOfResidence => "per:stateorprovinces_of_residence",
            RelationKind::PerCitiesOfResidence => "per:cities_of_residence",
            RelationKind::PerCountryOfBirth => "per:country_of_birth",
            RelationKind::PerSpokeTo => "per:spoke_to",
            RelationKind::OrgAlternateNames => "org:alternate_names",
            RelationKind::OrgSubsidiaries => "org:subsidiaries",
            RelationKind::OrgTopMembersEmployees => "org:top_members/employees",
            RelationKind::OrgFounded => "org:founded",
            RelationKind::OrgFoundedBy => "org:founded_by",
            RelationKind::OrgCountryOfHeadquarters => "org:country_of_headquarters",
            RelationKind::OrgStateorprovinceOfHeadquarters => "org:stateorprovince_of_headquarters",
            RelationKind::OrgCityOfHeadquarters => "org:city_of_headquarters",
            RelationKind::OrgMembers => "org:members",
            RelationKind::LocLocatedIn => "loc:located_in",
        }
    }
}

impl std::fmt::Display for RelationKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for RelationKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RelationKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown relation {s:?} (expected a TAC KBP slot name such as per:employee_of)"
                )
            })
    }
}

/// A typed relation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Relation {
    /// The relation type (serialized as its TAC KBP slot name, e.g. `per:title`).
    pub relation: RelationKind,
    /// Cluster id of the subject.
    pub head: usize,
    /// Cluster id of the object; `None` when the object is a text value (a title, an alias).
    pub tail: Option<usize>,
    /// The subject as written in the evidence.
    pub head_text: String,
    /// The object as written in the evidence.
    pub tail_text: String,
    /// Confidence: the rule's precision times the mentions' mean score.
    pub score: f32,
    /// The span that supports the relation; it contains a mention of both ends.
    pub evidence: Span,
}

/// The learned relations and the rules' together: one per (relation, head, tail, and the text
/// of a text value), the higher score kept; sorted by evidence, then relation name.
pub(crate) fn merge(learned: Vec<Relation>, rules: Vec<Relation>) -> Vec<Relation> {
    let mut out = learned;
    for r in rules {
        let same = |o: &&mut Relation| {
            (o.relation, o.head, o.tail) == (r.relation, r.head, r.tail)
                && (o.tail.is_some() || o.tail_text == r.tail_text)
        };
        match out.iter_mut().find(same) {
            Some(o) if o.score < r.score => *o = r,
            Some(_) => {}
            None => out.push(r),
        }
    }
    candidates::sort(&mut out);
    out
}

/// A relation between the marked pair, direction included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Directed {
    /// The relation type.
    pub kind: RelationKind,
    /// `true` for `(e2,e1)`: the second marked entity is the subject.
    pub reversed: bool,
}

impl Directed {
    /// The KBP37 name: `per:employee_of(e1,e2)`.
    pub fn name(self) -> String {
        let dir = if self.reversed { "(e2,e1)" } else { "(e1,e2)" };
        format!("{}{dir}", self.kind.as_str())
    }

    /// Parses a KBP37 label; `Ok(None)` for `no_relation`.
    pub fn parse(label: &str) -> Result<Option<Self>, String> {
        let label = label.trim();
        if label == "no_relation" {
            return Ok(None);
        }
        let (kind, reversed) = if let Some(k) = label.strip_suffix("(e1,e2)") {
            (k, false)
        } else if let Some(k) = label.strip_suffix("(e2,e1)") {
            (k, true)
        } else {
            return Err(format!(
                "label {label:?} is neither no_relation nor RELATION(e1,e2) / RELATION(e2,e1)"
            ));
        };
        Ok(Some(Directed {
            kind: kind.parse()?,
            reversed,
        }))
    }
}
