//! The rule layer. The rules are data: each is a regular expression over the text with every
//! entity mention replaced by a placeholder `<KIND#i>` (`PER`, `ORG`, `LOC`, `MISC`, `ENT`),
//! with named groups `head`, `tail` (mention indices), `heads` (a list of mentions) or `value`
//! (a text value). `{PER:head}` in a pattern stands for `<PER#(?P<head>\d+)>`, `{LOC}` for any
//! LOC mention, `{TITLE}` for a job title.

use super::{Relation, RelationKind};
use crate::entity::{Entity, EntityKind};
use crate::span::{CharIndex, Span};
use regex::Regex;
use std::sync::OnceLock;

/// Job titles (the last word of a title phrase).
const TITLE: &str = r"(?:President|Prime Minister|Secretary(?: of (?:State|<ORG#\d+>)(?: for (?:[A-Z][a-z]+|<ORG#\d+>))?)?|Minister|Chancellor|Senator|Governor|Mayor|General|Professor|Director|Chairman|Chairwoman|Chief Executive|[Ss]pokes(?:man|woman|person)|[Aa]dvis[eo]r|[Aa]mbassador|King|Queen|Prince|Pope|[Ll]eader|[Cc]ommander|[Aa]nalyst|[Ee]nvoy|[Cc]hief|[Hh]ead)";
/// Words that may stand before a title word ("Defence", "National security", "deputy").
/// The model may tag a word of a title as an organization ("the UK <Defence> Secretary").
const TITLE_MOD: &str = r"(?:(?:[A-Z][a-z]+|<ORG#\d+>|<MISC#\d+>|national|security|foreign|defence|defense|deputy|vice|prime|senior|chief|former|foreign|interior|home)\s+){0,3}";

/// The rules: (relation, pattern, precision).
const RULES: &[(RelationKind, &str, f32)] = &[
    // "UK Defence Secretary Ben Wallace", "US President Joe Biden", "Professor Michael Clarke"
    (
        RelationKind::PerTitle,
        r"(?P<value>{TITLE_MOD}{TITLE})\s+{PER:head}",
        0.9,
    ),
    // "Ben Wallace, the Secretary of State for Defence,"
    (
        RelationKind::PerTitle,
        r"{PER:head},\s+(?:the\s+)?(?:(?:UK|US|British|American)\s+)?(?P<value>{TITLE_MOD}{TITLE})\s*[,.;]",
        0.85,
    ),
    // "… Ben Wallace has said. The UK Defence Secretary was …" (a definite description)
    (
        RelationKind::PerTitle,
        r"{PER:head}[^.<\n]{0,80}[.]\s+The\s+(?:{LOC}\s+|{MISC}\s+|{ORG}\s+)?(?P<value>{TITLE_MOD}{TITLE})\s+(?:was|is|has|had|said|added|told)\b",
        0.75,
    ),
    // "US National security advisor Jake Sullivan" → origin US
    (
        RelationKind::PerOrigin,
        r"(?:{LOC:tail}|{MISC:tail})\s+{TITLE_MOD}{TITLE}\s+{PER:head}",
        0.8,
    ),
    (
        RelationKind::PerOrigin,
        r"{PER:head}[^.<\n]{0,80}[.]\s+The\s+(?:{LOC:tail}|{MISC:tail})\s+{TITLE_MOD}{TITLE}\s+(?:was|is|has|had|said|added|told)\b",
        0.7,
    ),
    // The same with a country that the model typed as an organization ("UK", "US").
    (
        RelationKind::PerOrigin,
        r"{ORG:tail:country}\s+{TITLE_MOD}{TITLE}\s+{PER:head}",
        0.7,
    ),
    (
        RelationKind::PerOrigin,
        r"{PER:head}[^.<\n]{0,80}[.]\s+The\s+{ORG:tail:country}\s+{TITLE_MOD}{TITLE}\s+(?:was|is|has|had|said|added|told)\b",
        0.65,
    ),
    // "Professor Michael Clarke of King’s College London"
    (
        RelationKind::PerEmployeeOf,
        r"{PER:head},?\s+(?:of|at|from)\s+(?:the\s+)?{ORG:tail}",
        0.8,
    ),
    (
        RelationKind::PerEmployeeOf,
        r"{PER:head},\s+(?:the\s+|a\s+|an\s+)?{TITLE_MOD}{TITLE}\s+(?:of|at)\s+(?:the\s+)?{ORG:tail}\s*(?:[,.;)]|$|\s+(?:said|says|has|had|was|is|who|told))",
        0.85,
    ),
    // "Microsoft chief executive Satya Nadella", "the ISW's director Ann Lee"
    (
        RelationKind::OrgTopMembersEmployees,
        r"{ORG:head}(?:’s|'s)?\s+(?i:chief executive|chairman|chairwoman|president|director|head|leader|founder|boss)\s+{PER:tail}",
        0.85,
    ),
    (
        RelationKind::OrgTopMembersEmployees,
        r"{PER:tail},\s+(?:the\s+)?(?i:chief executive|chairman|chairwoman|president|director|head|leader|boss)\s+of\s+(?:the\s+)?{ORG:head}",
        0.85,
    ),
    // "Institute for the Study of War (ISW)"
    (
        RelationKind::OrgAlternateNames,
        r"{ORG:head}\s*\(\s*(?:{ORG:same}|(?P<value>[A-Z][A-Za-z]{1,9}))\s*\)",
        0.95,
    ),
    // "Acme, founded by Ann Lee"; "Ann Lee, the founder of Acme"
    (
        RelationKind::OrgFoundedBy,
        r"{ORG:head},?\s+(?:which was\s+)?(?:co-?)?founded\s+by\s+{PER:tail}",
        0.9,
    ),
    (
        RelationKind::OrgFoundedBy,
        r"{PER:tail},\s+(?:the\s+)?(?:co-?)?founder\s+of\s+(?:the\s+)?{ORG:head}",
        0.9,
    ),
    // "Finland, a member of NATO"
    (
        RelationKind::OrgMembers,
        r"(?:{LOC:tail}|{ORG:tail}),\s+(?:a|an|now a)\s+member\s+of\s+(?:the\s+)?{ORG:head}",
        0.85,
    ),
    // "Instagram, a subsidiary of Meta"
    (
        RelationKind::OrgSubsidiaries,
        r"{ORG:tail},\s+(?:a|the)\s+(?:subsidiary|unit|division)\s+of\s+(?:the\s+)?{ORG:head}",
        0.9,
    ),
    // "Yuriy Sak told BBC Radio 4's Today programme"
    (
        RelationKind::PerSpokeTo,
        r"{PER:head}\s+(?:told|was speaking to|spoke to|said to)\s+(?:the\s+)?{ORG:tail}",
        0.85,
    ),
    (
        RelationKind::PerSpokeTo,
        r"{PER:head},?\s+(?:speaking|in an interview)\s+(?:to|with)\s+(?:the\s+)?{ORG:tail}",
        0.85,
    ),
];

struct Compiled {
    relation: RelationKind,
    re: Regex,
    score: f32,
    /// `Some(true)`: the tail must be a country; `Some(false)`: must not be.
    country: Option<bool>,
}

fn expand(pattern: &str) -> (String, Option<bool>) {
    let mut p = pattern
        .replace("{TITLE_MOD}", TITLE_MOD)
        .replace("{TITLE}", TITLE);
    let country = if p.contains(":city}") {
        Some(false)
    } else if p.contains(":country}") {
        Some(true)
    } else {
        None
    };
    p = p.replace(":city}", "}").replace(":country}", "}");
    for kind in ["PER", "ORG", "LOC", "MISC", "ENT"] {
        p = p.replace(&format!("{{{kind}}}"), &format!(r"<{kind}#\d+>"));
        for (slot, group) in [("head", "head"), ("same", "same")] {
            p = p.replace(
                &format!("{{{kind}:{slot}}}"),
                &format!(r"<{kind}#(?P<{group}>\d+)>"),
            );
        }
        // A pattern may offer several kinds for the tail: number the groups apart.
        let mut n = 0;
        while let Some(i) = p.find(&format!("{{{kind}:tail}}")) {
            let tag = format!("{{{kind}:tail}}");
            let group = if n == 0 && !p.contains("(?P<tail>") {
                "tail".to_string()
            } else {
                format!("tail{}{n}", kind.to_lowercase())
            };
            p.replace_range(i..i + tag.len(), &format!(r"<{kind}#(?P<{group}>\d+)>"));
            n += 1;
        }
    }
    (p, country)
}

fn rules() -> &'static [Compiled] {
    static RULES_C: OnceLock<Vec<Compiled>> = OnceLock::new();
    RULES_C.get_or_init(|| {
        RULES
            .iter()
            .map(|&(relation, pattern, score)| {
                let (p, country) = expand(pattern);
                Compiled {
                    relation,
                    re: Regex::new(&p).unwrap_or_else(|e| panic!("rule {relation} {pattern}: {e}")),
                    score,
                    country,
                }
            })
            .collect()
    })
}

/// Countries (for residence and headquarters slots), lower case.
const COUNTRIES: &[&str] = &[
    "afghanistan",
    "argentina",
    "australia",
    "austria",
    "belarus",
    "belgium",
    "brazil",
    "britain",
    "canada",
    "china",
    "czech republic",
    "denmark",
    "egypt",
    "england",
    "estonia",
    "finland",
    "france",
    "georgia",
    "germany",
    "greece",
    "hungary",
    "india",
    "indonesia",
    "iran",
    "iraq",
    "ireland",
    "israel",
    "italy",
    "japan",
    "kazakhstan",
    "latvia",
    "lithuania",
    "mexico",
    "moldova",
    "netherlands",
    "new zealand",
    "nigeria",
    "north korea",
    "norway",
    "pakistan",
    "poland",
    "portugal",
    "romania",
    "russia",
    "saudi arabia",
    "scotland",
    "south africa",
    "south korea",
    "spain",
    "sweden",
    "switzerland",
    "syria",
    "turkey",
    "uk",
    "ukraine",
    "united kingdom",
    "united states",
    "us",
    "usa",
    "wales",
];

fn tag(kind: &EntityKind) -> &'static str {
    match kind {
        EntityKind::Person => "PER",
        EntityKind::Organization => "ORG",
        k if k.is_place() => "LOC",
        EntityKind::Misc | EntityKind::Norp => "MISC",
        _ => "ENT",
    }
}

/// The text with entity placeholders, and a map back to the original offsets.
struct Abstracted {
    text: String,
    /// (start in `text`, start in the original, length in the original, entity) per segment.
    segments: Vec<(usize, usize, usize, Option<usize>)>,
}

impl Abstracted {
    fn new(text: &str, entities: &[Entity]) -> Self {
        let mut out = String::with_capacity(text.len() + entities.len() * 8);
        let mut segments = Vec::new();
        let mut pos = 0;
        for (i, e) in entities.iter().enumerate() {
            if e.start < pos {
                continue;
            }
            segments.push((out.len(), pos, e.start - pos, None));
            out.push_str(&text[pos..e.start].replace('<', "~"));
            segments.push((out.len(), e.start, e.end - e.start, Some(i)));
            out.push_str(&format!("<{}#{i}>", tag(&e.kind)));
            pos = e.end;
        }
        segments.push((out.len(), pos, text.len() - pos, None));
        out.push_str(&text[pos..].replace('<', "~"));
        Abstracted {
            text: out,
            segments,
        }
    }

    /// Original offset of an abstract offset; a placeholder maps to its mention's start, or
    /// end when `end` is true.
    fn original(&self, at: usize, end: bool) -> usize {
        let i = self
            .segments
            .partition_point(|s| s.0 <= at)
            .saturating_sub(1);
        let (a, o, len, ent) = self.segments[i];
        match ent {
            Some(_) if end && at > a => o + len,
            Some(_) => o,
            None => o + (at - a).min(len),
        }
    }
}

/// Finds relations between the clusters of an article (entities with a cluster).
pub fn find(text: &str, entities: &[Entity]) -> Vec<Relation> {
    let abs = Abstracted::new(text, entities);
    let chars = CharIndex::new(text);
    let mut out: Vec<Relation> = Vec::new();
    for rule in rules() {
        for captures in rule.re.captures_iter(&abs.text) {
            let Some(m) = captures.get(0) else { continue };
            let found = Found::new(rule, &captures, &abs, text, entities);
            let evidence = chars.span(Span::bytes(
                abs.original(m.start(), false),
                abs.original(m.end(), true),
            ));
            for h in found.heads() {
                let head = &entities[h];
                let Some(head_cluster) = head.cluster else {
                    continue;
                };
                let Some((tail, tail_text, score)) = found.tail(head) else {
                    continue;
                };
                if tail == Some(head_cluster) {
                    continue;
                }
                push_new(
                    &mut out,
                    Relation {
                        relation: rule.relation,
                        head: head_cluster,
                        tail,
                        head_text: head.text.clone(),
                        tail_text,
                        score: ((rule.score * score) * 1000.0).round() / 1000.0,
                        evidence,
                    },
                );
            }
        }
    }
    out.sort_by(|a, b| {
        (a.evidence.start, a.evidence.end, a.relation.as_str()).cmp(&(
            b.evidence.start,
            b.evidence.end,
            b.relation.as_str(),
        ))
    });
    out
}

/// One match of a rule over the abstracted text.
struct Found<'a> {
    rule: &'a Compiled,
    captures: &'a regex::Captures<'a>,
    abs: &'a Abstracted,
    text: &'a str,
    entities: &'a [Entity],
    /// The mention of the first `tail…` group that matched.
    tail_mention: Option<usize>,
}

impl<'a> Found<'a> {
    fn new(
        rule: &'a Compiled,
        captures: &'a regex::Captures<'a>,
        abs: &'a Abstracted,
        text: &'a str,
        entities: &'a [Entity],
    ) -> Self {
        let mut found = Found {
            rule,
            captures,
            abs,
            text,
            entities,
            tail_mention: None,
        };
        found.tail_mention = rule
            .re
            .capture_names()
            .flatten()
            .filter(|n| n.starts_with("tail"))
            .find_map(|n| found.mention(n));
        found
    }

    /// The entity index a placeholder group names.
    fn mention(&self, group: &str) -> Option<usize> {
        self.captures
            .name(group)
            .and_then(|m| m.as_str().parse::<usize>().ok())
            .filter(|&i| i < self.entities.len())
    }

    /// The head mentions: one (`head`) or a list (`heads`, "A and B").
    fn heads(&self) -> Vec<usize> {
        match (self.mention("head"), self.captures.name("heads")) {
            (Some(h), _) => vec![h],
            (None, Some(list)) => placeholder_ids(list.as_str()),
            _ => Vec::new(),
        }
    }

    /// The tail of a relation with `head`: a mention's cluster (`tail…` groups, checked
    /// against the rule's country condition), or a text value (`same`, `value`); with the
    /// score of the mentions involved.
    fn tail(&self, head: &Entity) -> Option<(Option<usize>, String, f32)> {
        if let Some(t) = self.tail_mention {
            let te = &self.entities[t];
            if let Some(want) = self.rule.country {
                if COUNTRIES.contains(&te.text.to_lowercase().as_str()) != want {
                    return None;
                }
            }
            Some((te.cluster, te.text.clone(), (head.score + te.score) / 2.0))
        } else if let Some(same) = self.mention("same") {
            let same = &self.entities[same];
            Some((None, same.text.clone(), (head.score + same.score) / 2.0))
        } else {
            let v = self.captures.name("value")?;
            let s = self.abs.original(v.start(), false);
            let e = self.abs.original(v.end(), true);
            let value = strip_country(self.text[s..e].trim()).to_string();
            Some((None, value, head.score))
        }
    }
}

/// Adds `r` unless the same relation between the same ends (or the same text value) is there.
fn push_new(out: &mut Vec<Relation>, r: Relation) {
    let dup = out.iter().any(|o| {
        o.relation == r.relation
            && o.head == r.head
            && o.tail == r.tail
            && (o.tail.is_some() || o.tail_text == r.tail_text)
    });
    if !dup {
        out.push(r);
    }
}

/// "UK Defence Secretary" → "Defence Secretary": the country is the origin, not the title.
fn strip_country(title: &str) -> &str {
    let mut t = title;
    loop {
        let Some((first, rest)) = t.split_once(' ') else {
            return t;
        };
        if COUNTRIES.contains(&first.to_lowercase().as_str()) || first.eq_ignore_ascii_case("the") {
            t = rest.trim_start();
        } else {
            return t;
        }
    }
}

fn placeholder_ids(s: &str) -> Vec<usize> {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"<[A-Z]+#(\d+)>").unwrap_or_else(|e| unreachable!("{e}")))
        .captures_iter(s)
        .filter_map(|c| c.get(1)?.as_str().parse().ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use EntityKind::*;

    /// Entities by (text, kind), found in order; each its own cluster unless `same` says.
    fn ents(text: &str, spec: &[(&str, EntityKind)]) -> Vec<Entity> {
        crate::entity::test_mentions(text, spec)
    }

    fn rel(text: &str, spec: &[(&str, EntityKind)]) -> Vec<(String, String, String)> {
        let e = ents(text, spec);
        let r = find(text, &e);
        for x in &r {
            // The evidence holds a mention of both ends.
            let ev = &text[x.evidence.start..x.evidence.end];
            assert!(
                ev.contains(&x.head_text) && ev.contains(&x.tail_text),
                "{x:?} in {ev:?}"
            );
        }
        r.into_iter()
            .map(|r| (r.relation.to_string(), r.head_text, r.tail_text))
            .collect()
    }

    fn t(a: &str, b: &str, c: &str) -> (String, String, String) {
        (a.into(), b.into(), c.into())
    }

    #[test]
    fn titles_before_after_and_described() {
        let r = rel(
            "UK Defence Secretary Ben Wallace spoke.",
            &[("UK", Location), ("Ben Wallace", Person)],
        );
        assert_eq!(
            r,
            [
                t("per:origin", "Ben Wallace", "UK"),
                t("per:title", "Ben Wallace", "Defence Secretary")
            ]
        );
        let r = rel(
            "Ben Wallace, the Secretary of State for Defence, has said so.",
            &[("Ben Wallace", Person)],
        );
        assert_eq!(
            r,
            [t(
                "per:title",
                "Ben Wallace",
                "Secretary of State for Defence"
            )]
        );
        let r = rel(
            "Ben Wallace has said it. The UK Defence Secretary was speaking.",
            &[("Ben Wallace", Person), ("UK", Location)],
        );
        assert_eq!(
            r,
            [
                t("per:origin", "Ben Wallace", "UK"),
                t("per:title", "Ben Wallace", "Defence Secretary")
            ]
        );
        let r = rel(
            "Professor Michael Clarke of King’s College London said",
            &[
                ("Michael Clarke", Person),
                ("King’s College London", Organization),
            ],
        );
        assert_eq!(
            r,
            [
                t("per:title", "Michael Clarke", "Professor"),
                t("per:employee_of", "Michael Clarke", "King’s College London")
            ]
        );
    }

    #[test]
    fn titles_do_not_fire_on_plain_text() {
        assert!(rel(
            "Ben Wallace, who was tired, left Paris.",
            &[("Ben Wallace", Person), ("Paris", Location)]
        )
        .is_empty());
        assert!(rel(
            "He met President officials and Ben Wallace.",
            &[("Ben Wallace", Person)]
        )
        .is_empty());
        assert!(rel(
            "The Secretary left. Ben Wallace stayed.",
            &[("Ben Wallace", Person)]
        )
        .is_empty());
    }

    #[test]
    fn a_country_typed_as_organization_is_still_an_origin() {
        let r = rel(
            "US National security advisor Jake Sullivan said",
            &[("US", Organization), ("Jake Sullivan", Person)],
        );
        assert_eq!(
            r,
            [
                t("per:origin", "Jake Sullivan", "US"),
                t("per:title", "Jake Sullivan", "National security advisor")
            ]
        );
        // An organization that is not a country is no origin.
        let r = rel(
            "Acme hired Defence Secretary Ben Wallace.",
            &[("Acme", Organization), ("Ben Wallace", Person)],
        );
        assert_eq!(r, [t("per:title", "Ben Wallace", "Defence Secretary")]);
    }

    #[test]
    fn acronyms_possessives_and_places() {
        let r = rel(
            "the Institute for the Study of War (ISW) said",
            &[
                ("Institute for the Study of War", Organization),
                ("ISW", Organization),
            ],
        );
        assert_eq!(
            r,
            [t(
                "org:alternate_names",
                "Institute for the Study of War",
                "ISW"
            )]
        );
        let r = rel(
            "the UK Ministry of Defence (MoD) said",
            &[("UK Ministry of Defence", Organization)],
        );
        assert_eq!(
            r,
            [t("org:alternate_names", "UK Ministry of Defence", "MoD")]
        );
        assert!(rel(
            "Troops in Kherson and Ukraine (UA) left Russia’s army.",
            &[
                ("Kherson", Location),
                ("Ukraine", Location),
                ("Russia", Location)
            ]
        )
        .is_empty());
    }

    #[test]
    fn employers_leaders_headquarters_subsidiaries() {
        let r = rel(
            "Ann Lee, the Chief Executive of Acme, said so. Globex chairman Bob Ray agreed.",
            &[
                ("Ann Lee", Person),
                ("Acme", Organization),
                ("Globex", Organization),
                ("Bob Ray", Person),
            ],
        );
        assert_eq!(
            r,
            [
                t("org:top_members/employees", "Acme", "Ann Lee"),
                t("per:employee_of", "Ann Lee", "Acme"),
                t("org:top_members/employees", "Globex", "Bob Ray")
            ]
        );
        let r = rel(
            "Initech, based in Austin, and Intertrode, a subsidiary of Initech, and Ann Lee, the founder of Acme.",
            &[("Initech", Organization), ("Austin", Location), ("Intertrode", Organization), ("Initech", Organization), ("Ann Lee", Person), ("Acme", Organization)],
        );
        assert_eq!(
            r,
            [
                t("org:subsidiaries", "Initech", "Intertrode"),
                t("org:founded_by", "Acme", "Ann Lee")
            ]
        );
        let r = rel(
            "Lviv, in the Lviv region of Ukraine, and Bob Ray, speaking to Sky News, agreed.",
            &[
                ("Lviv", Location),
                ("Lviv", Location),
                ("Ukraine", Location),
                ("Bob Ray", Person),
                ("Sky News", Organization),
            ],
        );
        assert_eq!(r, [t("per:spoke_to", "Bob Ray", "Sky News")]);
    }

    #[test]
    fn employers_leaders_headquarters_must_not_fire() {
        // An organization inside a longer title is no employer; "based" far away is no seat;
        // a person merely near an organization has no relation to it.
        assert!(rel(
            "Ann Lee, the Secretary of State for Defence, spoke. Acme said it was based on rumours in Austin.",
            &[("Ann Lee", Person), ("State", Organization), ("Acme", Organization), ("Austin", Location)],
        )
        .iter()
        .all(|r| r.0 == "per:title"));
        assert!(rel(
            "Ann Lee met Acme officials. Globex hired staff; Bob Ray left.",
            &[
                ("Ann Lee", Person),
                ("Acme", Organization),
                ("Globex", Organization),
                ("Bob Ray", Person)
            ],
        )
        .is_empty());
    }

    #[test]
    fn media_founders_members_residence() {
        let r = rel(
            "Yuriy Sak told BBC Radio 4's Today programme:",
            &[("Yuriy Sak", Person), ("BBC Radio 4", Organization)],
        );
        assert_eq!(r, [t("per:spoke_to", "Yuriy Sak", "BBC Radio 4")]);
        let r = rel(
            "Acme, founded by Ann Lee, and Finland, a member of NATO.",
            &[
                ("Acme", Organization),
                ("Ann Lee", Person),
                ("Finland", Location),
                ("NATO", Organization),
            ],
        );
        assert_eq!(
            r,
            [
                t("org:founded_by", "Acme", "Ann Lee"),
                t("org:members", "NATO", "Finland")
            ]
        );
        assert!(rel(
            "Ann Lee told friends about BBC Radio.",
            &[("Ann Lee", Person), ("BBC Radio", Organization)]
        )
        .is_empty());
    }
}

/// The examples of this module's documentation, as tests (the module is internal).
#[cfg(test)]
mod doc_examples {
    #[test]
    fn example_1() {
        use crate::{Entity, EntityKind};
        let text = "US President Joe Biden spoke.";
        let mk = |t: &str, k: EntityKind, s: usize, c: usize| Entity {
            text: t.into(),
            label: String::new(),
            kind: k,
            start: s,
            end: s + t.len(),
            char_start: s,
            char_end: s + t.len(),
            score: 1.0,
            cluster: Some(c),
        };
        let e = [
            mk("US", EntityKind::Location, 0, 0),
            mk("Joe Biden", EntityKind::Person, 13, 1),
        ];
        let r = crate::relation::rules::find(text, &e);
        // Sorted by evidence: "US President Joe Biden", then "President Joe Biden".
        assert_eq!((r[0].relation.as_str(), r[0].tail), ("per:origin", Some(0)));
        assert_eq!(
            (
                r[1].relation.as_str(),
                r[1].head_text.as_str(),
                r[1].tail_text.as_str()
            ),
            ("per:title", "Joe Biden", "President")
        );
    }
}
