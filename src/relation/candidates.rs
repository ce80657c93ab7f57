//! The learned relations of a document: every pair of entity mentions in one sentence whose
//! kinds some relation can join, each mention with its nearest partners only (so candidates
//! grow linearly with the mentions, not with their square), is a candidate; the relation
//! model classifies it; the answer
//! is the most probable class whose subject and object kinds fit (or `no_relation`), kept when
//! its probability reaches the threshold; answers become relations between clusters, the
//! best-scored evidence sentence kept per (relation, head, tail).

use super::{Relation, RelationKind};
use crate::entity::{Entity, EntityKind};
use crate::relation::Directed;
use crate::span::{CharIndex, Span};

/// A pair of mentions of one sentence, `e1` before `e2` in the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Candidate {
    pub(crate) e1: usize,
    pub(crate) e2: usize,
    /// The sentence's byte span.
    pub(crate) sentence: (usize, usize),
}

/// The coarse kind a relation's argument needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Person,
    Organization,
    Place,
    /// A nationality or a place (per:origin's object).
    Origin,
    /// An organization or a place (org:members: countries are members too).
    Member,
}

impl Role {
    fn accepts(self, kind: &EntityKind) -> bool {
        use EntityKind::*;
        let place = kind.is_place();
        match self {
            Role::Person => *kind == Person,
            Role::Organization => *kind == Organization,
            Role::Place => place,
            Role::Origin => place || matches!(kind, Norp),
            Role::Member => place || *kind == Organization,
        }
    }
}

/// The subject's and object's roles of a relation the model may answer; `None` for those whose
/// object is a text value (titles, founding dates) or that only the rules find.
fn roles(kind: RelationKind) -> Option<(Role, Role)> {
    use RelationKind::*;
    use Role::*;
    Some(match kind {
        PerAlternateNames | PerSpouse => (Person, Person),
        PerOrigin => (Person, Origin),
        PerEmployeeOf => (Person, Organization),
        PerCountriesOfResidence
        | PerStateorprovincesOfResidence
        | PerCitiesOfResidence
        | PerCountryOfBirth => (Person, Place),
        OrgAlternateNames | OrgSubsidiaries => (Organization, Organization),
        OrgTopMembersEmployees | OrgFoundedBy => (Organization, Person),
        OrgCountryOfHeadquarters | OrgStateorprovinceOfHeadquarters | OrgCityOfHeadquarters => {
            (Organization, Place)
        }
        OrgMembers => (Organization, Member),
        LocLocatedIn => (Place, Place),
        PerTitle | OrgFounded | PerSpokeTo => return None,
        #[allow(unreachable_patterns)]
        _ => return None,
    })
}

/// Whether `kind` may hold with a subject and an object of these kinds.
pub(crate) fn fits(kind: RelationKind, subject: &EntityKind, object: &EntityKind) -> bool {
    roles(kind).is_some_and(|(s, o)| s.accepts(subject) && o.accepts(object))
}

/// Whether any relation may hold between mentions of these kinds, either way round.
fn may_relate(a: &EntityKind, b: &EntityKind) -> bool {
    RelationKind::ALL
        .iter()
        .any(|&k| fits(k, a, b) || fits(k, b, a))
}

/// The candidate pairs of an article, and the sentences where the partner bound left pairs
/// out.
#[derive(Debug, Default)]
pub(crate) struct Candidates {
    pub(crate) pairs: Vec<Candidate>,
    /// (sentence byte span, mention pairs of that sentence beyond the bound).
    pub(crate) bounded: Vec<((usize, usize), usize)>,
}

/// The candidate pairs of an article: mentions in one sentence, each with the `partners`
/// mentions after it in the text at most (so each mention meets its `partners` nearest
/// neighbours on either side), of different clusters, not overlapping, whose kinds some
/// relation joins; one pair per pair of clusters in a sentence (the closest mentions).
/// `starts` are the text's sentence starts (the pipeline's one segmentation). Two organizations are not a candidate: org:subsidiaries,
/// org:members and org:alternate_names are the model's weakest classes (KBP37 dev F1 39–60)
/// while organization pairs are 29% of all candidates on BBC news; parenthetical acronyms
/// come from the rules.
pub(crate) fn candidates(
    text: &str,
    starts: &[usize],
    entities: &[Entity],
    partners: usize,
) -> Candidates {
    let sentence_of = |e: &Entity| -> Option<(usize, usize)> {
        let s = starts.partition_point(|&x| x <= e.start).checked_sub(1)?;
        let end = starts.get(s + 1).copied().unwrap_or(text.len());
        (e.end <= end).then_some((starts[s], end))
    };
    let sentences: Vec<Option<(usize, usize)>> = entities.iter().map(sentence_of).collect();
    let mut out = Vec::new();
    for i in 0..entities.len() {
        let Some(si) = sentences[i] else { continue };
        for j in i + 1
            ..entities
                .len()
                .min(i.saturating_add(1).saturating_add(partners))
        {
            if sentences[j] != Some(si) {
                if entities[j].start >= si.1 {
                    break;
                }
                continue;
            }
            let (a, b) = (&entities[i], &entities[j]);
            let distinct = matches!((a.cluster, b.cluster), (Some(x), Some(y)) if x != y);
            let organizations = a.kind == EntityKind::Organization && a.kind == b.kind;
            if distinct && a.end <= b.start && !organizations && may_relate(&a.kind, &b.kind) {
                out.push(Candidate {
                    e1: i,
                    e2: j,
                    sentence: si,
                });
            }
        }
    }
    // One pair per cluster pair and sentence: the one whose mentions are closest.
    let key = |c: &Candidate| {
        let (x, y) = (entities[c.e1].cluster, entities[c.e2].cluster);
        (c.sentence, x.min(y), x.max(y))
    };
    let gap = |c: &Candidate| entities[c.e2].start - entities[c.e1].end;
    let mut best: std::collections::HashMap<_, Candidate> = std::collections::HashMap::new();
    for c in &out {
        let e = best.entry(key(c)).or_insert(*c);
        if gap(c) < gap(e) {
            *e = *c;
        }
    }
    out.retain(|c| best.get(&key(c)) == Some(c));
    Candidates {
        pairs: out,
        bounded: beyond_bound(&sentences, partners),
    }
}

/// Per sentence with more mentions than the partner bound lets meet: the mention pairs left
/// out (all pairs of the sentence's mentions less those within `partners` of each other).
fn beyond_bound(
    sentences: &[Option<(usize, usize)>],
    partners: usize,
) -> Vec<((usize, usize), usize)> {
    let mut out: Vec<((usize, usize), usize)> = Vec::new();
    let mut i = 0;
    while i < sentences.len() {
        let Some(s) = sentences[i] else {
            i += 1;
            continue;
        };
        let m = sentences[i..].iter().take_while(|&&x| x == Some(s)).count();
        let all = m * (m - 1) / 2;
        let met: usize = (0..m).map(|k| partners.min(m - 1 - k)).sum();
        if all > met {
            out.push((s, all - met));
        }
        i += m;
    }
    out
}

/// The answer for a candidate from its class probabilities: the most probable class whose
/// kinds fit (`no_relation` always may), if it is a relation with at least `threshold`.
pub(crate) fn decide(
    classes: &[Option<Directed>],
    probs: &[f32],
    e1: &EntityKind,
    e2: &EntityKind,
    threshold: f32,
) -> Option<(Directed, f32)> {
    let allowed = |c: &Option<Directed>| match c {
        None => true,
        Some(d) if d.reversed => fits(d.kind, e2, e1),
        Some(d) => fits(d.kind, e1, e2),
    };
    let (best, p) = classes
        .iter()
        .zip(probs)
        .filter(|(c, _)| allowed(c))
        .max_by(|a, b| a.1.total_cmp(b.1))?;
    best.filter(|_| *p >= threshold).map(|d| (d, *p))
}

/// Relations from the answers of an article's candidates, one per (relation, head, tail): the
/// best-scored, with its sentence as evidence. Sorted by evidence, then relation name.
pub(crate) fn relations(
    text: &str,
    entities: &[Entity],
    answers: impl IntoIterator<Item = (Candidate, Directed, f32)>,
) -> Vec<Relation> {
    let chars = CharIndex::new(text);
    let mut out: Vec<Relation> = Vec::new();
    for (c, d, score) in answers {
        let (s, o) = if d.reversed {
            (c.e2, c.e1)
        } else {
            (c.e1, c.e2)
        };
        let (Some(subject), Some(object)) = (entities.get(s), entities.get(o)) else {
            continue;
        };
        let (Some(head), Some(tail)) = (subject.cluster, object.cluster) else {
            continue;
        };
        let r = Relation {
            relation: d.kind,
            head,
            tail: Some(tail),
            head_text: subject.text.clone(),
            tail_text: object.text.clone(),
            score: (score * 1000.0).round() / 1000.0,
            evidence: chars.span(Span::bytes(c.sentence.0, c.sentence.1)),
        };
        match out
            .iter_mut()
            .find(|o| (o.relation, o.head, o.tail) == (r.relation, r.head, r.tail))
        {
            Some(o) if o.score < r.score => *o = r,
            Some(_) => {}
            None => out.push(r),
        }
    }
    sort(&mut out);
    out
}

/// Sorts relations by evidence, then relation name.
pub(crate) fn sort(relations: &mut [Relation]) {
    relations.sort_by(|a, b| {
        (a.evidence.start, a.evidence.end, a.relation.as_str()).cmp(&(
            b.evidence.start,
            b.evidence.end,
            b.relation.as_str(),
        ))
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entity::test_mentions;
    use crate::segment::sentence_starts;
    use EntityKind::*;

    fn clustered(text: &str, spec: &[(&str, EntityKind)]) -> Vec<Entity> {
        let mut e = test_mentions(text, spec);
        for (i, e) in e.iter_mut().enumerate() {
            e.cluster = Some(i);
        }
        e
    }

    #[test]
    fn each_mention_meets_its_nearest_partners_and_the_rest_is_counted() {
        // One sentence listing 30 people with their city, and a short second sentence.
        let items: Vec<String> = (0..15).map(|i| format!("P{i} Smith in C{i}town")).collect();
        let text = format!(
            "The list includes {}. Ann Lee visited Paris.",
            items.join(", ")
        );
        let mut spec: Vec<(String, EntityKind)> = Vec::new();
        for i in 0..15 {
            spec.push((format!("P{i} Smith"), Person));
            spec.push((format!("C{i}town"), Location));
        }
        spec.push(("Ann Lee".into(), Person));
        spec.push(("Paris".into(), Location));
        let spec: Vec<(&str, EntityKind)> =
            spec.iter().map(|(t, k)| (t.as_str(), k.clone())).collect();
        let e = clustered(&text, &spec);
        let all = candidates(&text, &sentence_starts(&text), &e, usize::MAX);
        let near = candidates(&text, &sentence_starts(&text), &e, 3);
        // Without a bound: every pair of the list (people with people, cities and cities all
        // may relate) and the second sentence's pair.
        assert_eq!(all.pairs.len(), 30 * 29 / 2 + 1);
        assert!(all.bounded.is_empty());
        // With 3: only pairs at most 3 mentions apart, the short sentence untouched.
        assert!(near.pairs.iter().all(|c| c.e2 - c.e1 <= 3));
        let pairs: Vec<(usize, usize)> = near.pairs.iter().map(|c| (c.e1, c.e2)).collect();
        assert!(pairs.contains(&(0, 1)) && pairs.contains(&(1, 2)) && pairs.contains(&(30, 31)));
        assert!(all
            .pairs
            .iter()
            .filter(|c| c.e2 - c.e1 <= 3)
            .eq(near.pairs.iter()));
        // 30 mentions: 435 pairs, of which 27 × 3 + 2 + 1 are met; the list sentence named.
        assert_eq!(near.bounded.len(), 1);
        let ((s, end), left_out) = near.bounded[0];
        assert_eq!((left_out, s), (435 - 84, 0));
        assert!(text[s..end].ends_with("C14town. "));
    }

    #[test]
    fn candidates_are_pairs_of_one_sentence_whose_kinds_may_relate() {
        let text = "Tim Cook runs Apple in Cupertino. Later, Apple said Cook sold shares.";
        let mut e = clustered(
            text,
            &[
                ("Tim Cook", Person),
                ("Apple", Organization),
                ("Cupertino", Location),
                ("Apple", Organization),
                ("Cook", Person),
            ],
        );
        // The second "Apple" and "Cook" mention the first sentence's clusters.
        e[3].cluster = Some(1);
        e[4].cluster = Some(0);
        let c = candidates(text, &sentence_starts(text), &e, 8).pairs;
        let pairs: Vec<(usize, usize)> = c.iter().map(|c| (c.e1, c.e2)).collect();
        assert_eq!(pairs, [(0, 1), (0, 2), (1, 2), (3, 4)]);
        assert_eq!(
            &text[c[0].sentence.0..c[0].sentence.1],
            "Tim Cook runs Apple in Cupertino. "
        );
        assert_eq!(c[3].sentence.1, text.len());
        // Dates and money relate to nothing; one cluster never relates to itself.
        let text = "Ann Lee, Lee and Paris on Monday.";
        let mut e = clustered(
            text,
            &[("Ann Lee", Person), ("Lee", Person), ("Monday", Date)],
        );
        e[1].cluster = Some(0);
        assert!(candidates(text, &sentence_starts(text), &e, 8)
            .pairs
            .is_empty());
    }

    #[test]
    fn the_answer_is_the_best_class_whose_kinds_fit() {
        let employee = Directed {
            kind: RelationKind::PerEmployeeOf,
            reversed: false,
        };
        let hq = Directed {
            kind: RelationKind::OrgCityOfHeadquarters,
            reversed: true,
        };
        let classes = [None, Some(employee), Some(hq)];
        // e1 a person, e2 an organization: the headquarters class does not fit.
        let probs = [0.2, 0.3, 0.5];
        assert_eq!(
            decide(&classes, &probs, &Person, &Organization, 0.25),
            Some((employee, 0.3))
        );
        assert_eq!(decide(&classes, &probs, &Person, &Organization, 0.4), None);
        // e1 a city, e2 a company: the reversed headquarters fits.
        assert_eq!(
            decide(&classes, &probs, &Location, &Organization, 0.25),
            Some((hq, 0.5))
        );
        assert_eq!(
            decide(&classes, &[0.6, 0.3, 0.1], &Person, &Organization, 0.0),
            None
        );
    }

    #[test]
    fn answers_become_one_relation_per_cluster_pair_with_the_best_evidence() {
        let text = "Ann Lee works at Acme. Lee joined Acme in May.";
        let mut e = clustered(
            text,
            &[
                ("Ann Lee", Person),
                ("Acme", Organization),
                ("Lee", Person),
                ("Acme", Organization),
            ],
        );
        e[2].cluster = Some(0);
        e[3].cluster = Some(1);
        let c = candidates(text, &sentence_starts(text), &e, 8).pairs;
        let employee = Directed {
            kind: RelationKind::PerEmployeeOf,
            reversed: false,
        };
        let r = relations(text, &e, [(c[0], employee, 0.7), (c[1], employee, 0.9)]);
        assert_eq!(r.len(), 1);
        assert_eq!((r[0].head, r[0].tail, r[0].score), (0, Some(1), 0.9));
        assert_eq!(
            &text[r[0].evidence.start..r[0].evidence.end],
            "Lee joined Acme in May."
        );
        assert_eq!(
            (r[0].head_text.as_str(), r[0].tail_text.as_str()),
            ("Lee", "Acme")
        );
        // Reversed: the second mention is the subject.
        let top = Directed {
            kind: RelationKind::OrgTopMembersEmployees,
            reversed: true,
        };
        let r = relations(text, &e, [(c[0], top, 0.8)]);
        assert_eq!((r[0].head, r[0].tail), (1, Some(0)));
    }
}
