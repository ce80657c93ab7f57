//! End-to-end behaviour of the shipped default model on the sample articles.
use newsgraph::{Document, Engine, EntityKind, Pipeline, PipelineOptions};
use std::collections::HashSet;

fn run(engine: Engine) -> Vec<Document> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/articles");
    let articles: Vec<_> = newsgraph::input::read_path(&dir)
        .map(|a| a.unwrap())
        .collect();
    assert_eq!(articles.len(), 3);
    let pipeline = Pipeline::load(
        &newsgraph::default_model_dir(),
        PipelineOptions::default().engine(engine),
    )
    .unwrap();
    pipeline
        .process(&articles)
        .into_iter()
        .map(|d| d.unwrap())
        .collect()
}

fn found(docs: &[Document], kind: EntityKind) -> HashSet<String> {
    docs.iter()
        .flat_map(|d| &d.entities)
        .filter(|e| e.kind == kind)
        .map(|e| e.text.clone())
        .collect()
}

#[test]
fn sample_articles_give_the_expected_entities() {
    let docs = run(Engine::Auto);
    let people = found(&docs, EntityKind::Person);
    for p in [
        "Ben Wallace",
        "Vladimir Putin",
        "Jake Sullivan",
        "Joe Biden",
        "Boris Johnson",
        "Michael Clarke",
        "Dmitry Medvedev",
    ] {
        assert!(people.contains(p), "person {p} missing from {people:?}");
    }
    let places = found(&docs, EntityKind::Location);
    for l in ["Kherson", "Ukraine", "Dnipro River", "Moscow", "Kharkiv"] {
        assert!(places.contains(l), "location {l} missing from {places:?}");
    }
    let orgs = found(&docs, EntityKind::Organization);
    // The f32 engines may split "UK" from "Ministry of Defence" (see the model card's known
    // errors), the int8 engine keeps "UK Ministry of Defence" whole: either ends the name. The
    // model misses "King" in "King’s College London" (model card): the name ends right.
    assert!(
        orgs.contains("UK Ministry of Defence") || orgs.contains("Ministry of Defence"),
        "organization (UK) Ministry of Defence missing from {orgs:?}"
    );
    assert!(
        orgs.iter().any(|o| o.ends_with("College London")),
        "organization (King’s) College London missing from {orgs:?}"
    );
    for o in [
        "ISW",
        "MoD",
        "Institute for the Study of War",
        "BBC Radio 4",
    ] {
        assert!(orgs.contains(o), "organization {o} missing from {orgs:?}");
    }
    let misc = found(&docs, EntityKind::Misc);
    for m in ["Ukrainian", "Russian"] {
        assert!(misc.contains(m), "misc {m} missing from {misc:?}");
    }
    // Most mentions of a place are typed as a place (the model slips on some "Kherson"s).
    for place in ["Kherson", "Ukraine", "Russia"] {
        let kinds: Vec<&EntityKind> = docs
            .iter()
            .flat_map(|d| &d.entities)
            .filter(|e| e.text == place)
            .map(|e| &e.kind)
            .collect();
        let located = kinds
            .iter()
            .filter(|k| ***k == EntityKind::Location)
            .count();
        assert!(located * 2 > kinds.len(), "{place}: {kinds:?}");
    }
}

#[test]
fn offsets_and_scores_hold_on_real_text() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/articles");
    let texts: Vec<String> = newsgraph::input::read_path(&dir)
        .map(|a| a.unwrap().text)
        .collect();
    for (doc, text) in run(Engine::Auto).iter().zip(&texts) {
        assert_eq!(doc.text_len, text.len());
        assert!(!doc.entities.is_empty());
        let mut last_end = 0;
        for e in &doc.entities {
            assert_eq!(&text[e.start..e.end], e.text);
            assert_eq!(text[..e.start].chars().count(), e.char_start);
            assert!(e.start >= last_end, "entities overlap or are out of order");
            assert!(e.score > 0.0 && e.score <= 1.0);
            last_end = e.end;
        }
    }
}

#[test]
fn engines_agree_on_the_sample_articles() {
    // The ONNX Runtime engines against the rust-bert reference (without the `torch` feature,
    // int8 against ONNX Runtime f32). f32: the same entities, scores within 1e-4. int8: borderline entities
    // move more (today 12 of 145 spans: "UK Ministry of Defence" whole instead of "UK" +
    // "Ministry of Defence", a "Kherson" typed differently, …), so at most 10% of the spans
    // differ and shared spans' scores are 0.02 apart on average (a borderline span's score can
    // move by 0.35); held-out F1 is 0.27 below f32 (docs/performance.md). int8 with activations per token
    // stays with f32 (today no span differs, mean score difference 0.006).
    let reference = run(if cfg!(feature = "torch") {
        Engine::RustBert
    } else {
        Engine::Onnx
    });
    for (engine, tol, mean_tol, max_diff) in [
        (Engine::Onnx, 1e-4f32, 1e-5, 0.0),
        (Engine::OnnxInt8, 1.0, 0.02, 0.10),
        (Engine::OnnxInt8Rows, 1.0, 0.01, 0.03),
    ] {
        let got = run(engine);
        let (mut differ, mut total, mut shared, mut sum_diff) = (0usize, 0usize, 0usize, 0f32);
        for (a, b) in reference.iter().zip(&got) {
            let scores = |d: &Document| {
                d.entities
                    .iter()
                    .map(|e| ((e.start, e.end, e.label.clone()), e.score))
                    .collect::<std::collections::HashMap<_, _>>()
            };
            let (sa, sb) = (scores(a), scores(b));
            total += sa.len();
            differ += sa.keys().filter(|k| !sb.contains_key(*k)).count();
            differ += sb.keys().filter(|k| !sa.contains_key(*k)).count();
            for (k, x) in &sa {
                if let Some(y) = sb.get(k) {
                    shared += 1;
                    sum_diff += (x - y).abs();
                    assert!(
                        (x - y).abs() < tol,
                        "{engine:?} on {}: {k:?} {x} vs {y}",
                        a.id
                    );
                }
            }
        }
        let mean = sum_diff / shared.max(1) as f32;
        eprintln!("{engine:?}: {differ} of {total} spans differ, mean |score diff| {mean}");
        assert!(mean < mean_tol, "{engine:?}: mean |score diff| {mean}");
        assert!(total > 100);
        assert!(
            differ as f64 <= max_diff * total as f64,
            "{engine:?}: {differ} of {total} entity spans differ from the reference"
        );
    }
}

fn cluster_name(doc: &Document, id: Option<usize>) -> Option<&str> {
    id.and_then(|c| doc.clusters.get(c))
        .map(|c| c.name.as_str())
}

#[test]
fn sample_articles_give_relations_quotes_and_dates() {
    let docs = run(Engine::Auto);
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/articles");
    let texts: Vec<String> = newsgraph::input::read_path(&dir)
        .map(|a| a.unwrap().text)
        .collect();
    let mut relations = HashSet::new();
    for (doc, text) in docs.iter().zip(&texts) {
        for r in &doc.relations {
            let head = cluster_name(doc, Some(r.head)).unwrap().to_string();
            let tail = cluster_name(doc, r.tail).map_or(r.tail_text.clone(), str::to_string);
            relations.insert((head, r.relation, tail));
            // The evidence holds a mention of both ends (or the text value).
            let ev = &text[r.evidence.start..r.evidence.end];
            let mentions = |c: usize| {
                doc.clusters[c].mentions.iter().any(|&m| {
                    let e = &doc.entities[m];
                    e.start >= r.evidence.start && e.end <= r.evidence.end
                })
            };
            assert!(mentions(r.head), "{r:?}: {ev}");
            match r.tail {
                Some(t) => assert!(mentions(t), "{r:?}: {ev}"),
                None => assert!(ev.contains(&r.tail_text), "{r:?}: {ev}"),
            }
        }
    }
    for (h, rel, t) in [
        ("Ben Wallace", "per:title", "Defence Secretary"),
        ("Joe Biden", "per:origin", "US"),
        ("Joe Biden", "per:title", "President"),
        (
            "Institute for the Study of War",
            "org:alternate_names",
            "ISW",
        ),
        ("Kupiansk", "loc:located_in", "Kharkiv"),
        ("Yuriy Sak", "per:spoke_to", "BBC Radio 4"),
    ] {
        let want = (h.to_string(), rel.parse().unwrap(), t.to_string());
        assert!(
            relations.contains(&want),
            "missing {want:?} in {relations:?}"
        );
    }
    // Michael Clarke works at (King’s) College London, in either direction.
    assert!(
        relations.iter().any(|(h, _, t)| {
            (h == "Michael Clarke" && t.ends_with("College London"))
                || (h.ends_with("College London") && t == "Michael Clarke")
        }),
        "Michael Clarke – College London missing in {relations:?}"
    );

    let speakers: HashSet<&str> = docs
        .iter()
        .flat_map(|d| {
            d.quotes
                .iter()
                .filter_map(move |q| cluster_name(d, q.speaker))
        })
        .collect();
    for s in [
        "Ben Wallace",
        "Jake Sullivan",
        "Yuriy Sak",
        "Joe Biden",
        "Boris Johnson",
        "Dmitry Medvedev",
    ] {
        assert!(speakers.contains(s), "no quote by {s}: {speakers:?}");
    }
    // Quote text is the exact slice between the marks.
    for (doc, text) in docs.iter().zip(&texts) {
        for q in &doc.quotes {
            assert_eq!(&text[q.start..q.end], q.text);
        }
    }

    let first = &docs[0];
    assert_eq!(first.date.as_deref(), Some("2022-11-12"));
    let feb = first
        .temporal
        .iter()
        .find(|t| t.text == "February 24")
        .expect("February 24");
    assert_eq!(
        feb.value,
        Some(newsgraph::TemporalValue::Text("2022-02-24".into()))
    );
    assert_eq!(docs[1].date.as_deref(), Some("2023-02-02"));
    // Furniture is marked, not deleted, and no entity comes from it.
    let skipped: Vec<&str> = docs[1]
        .skipped
        .iter()
        .map(|s| &texts[1][s.start..s.end])
        .collect();
    for furniture in [
        "Newsletter sign-up",
        "Subscribe now",
        "2 min read",
        "PoliticsHome Newsletters",
    ] {
        assert!(
            skipped.contains(&furniture),
            "{furniture} not marked: {skipped:?}"
        );
    }
    for e in &docs[1].entities {
        assert!(
            !docs[1]
                .skipped
                .iter()
                .any(|s| e.start < s.end && e.end > s.start),
            "{e:?}"
        );
    }
}

/// The HTML view of the sample articles: every entity is one `<mark>` holding exactly its text,
/// every quote, date and relation is there, and the text reads back unchanged.
#[test]
fn html_view_marks_what_was_found() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/articles");
    let articles: Vec<_> = newsgraph::input::read_path(&dir)
        .map(|a| a.unwrap())
        .collect();
    let docs = run(Engine::Auto);
    let out = std::env::temp_dir().join(format!("newsgraph-e2e-{}.html", std::process::id()));
    let mut w = newsgraph::HtmlWriter::create(&out).unwrap();
    for (a, d) in articles.iter().zip(&docs) {
        w.add(&a.text, d).unwrap();
    }
    let html = std::fs::read_to_string(w.finish().unwrap()).unwrap();
    std::fs::remove_file(&out).unwrap();
    let strip = |s: &str| {
        let (mut out, mut tag) = (String::new(), false);
        for c in s.chars() {
            match c {
                '<' => tag = true,
                '>' => tag = false,
                c if !tag => out.push(c),
                _ => {}
            }
        }
        out.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&amp;", "&")
    };
    for (n, (a, d)) in articles.iter().zip(&docs).enumerate() {
        let section = html
            .split(&format!("<section class=\"article\" id=\"a{n}\""))
            .nth(1)
            .unwrap();
        let text = section.split("<div class=\"text\">").nth(1).unwrap();
        let text = &text[..text.find("</div>").unwrap()];
        assert_eq!(strip(text), a.text, "article {n} reads back unchanged");
        let marks: Vec<&str> = text.split("<mark class=\"ent k-").skip(1).collect();
        assert_eq!(
            marks.len(),
            d.entities.len(),
            "article {n}: one mark per entity"
        );
        for (i, (m, e)) in marks.iter().zip(&d.entities).enumerate() {
            assert!(m.contains(&format!("data-i=\"{i}\"")), "{m}");
            let inner = &m[m.find('>').unwrap() + 1..m.find("</mark>").unwrap()];
            assert_eq!(strip(inner), e.text, "article {n}, entity {i}");
            assert!(m[..m.find('>').unwrap()].contains(&format!("{} (", e.label)));
        }
        for (i, _) in d.quotes.iter().enumerate() {
            assert!(
                text.contains(&format!("data-q=\"{i}\"")),
                "article {n}: quote {i}"
            );
        }
        let dated = d.temporal.iter().filter(|t| t.value.is_some()).count();
        assert!(text.matches("<span class=\"tm\" data-v=").count() >= dated);
        let aside = &section[section.find("<aside>").unwrap()..section.find("</aside>").unwrap()];
        assert_eq!(aside.matches("<li data-ev=").count(), d.relations.len());
        for r in &d.relations {
            let ev = format!("data-ev=\"a{n}-{}-{}\"", r.evidence.start, r.evidence.end);
            assert!(text.contains(&format!("<span class=\"ev\" {ev}>")), "{ev}");
        }
    }
    assert!(docs.iter().map(|d| d.relations.len()).sum::<usize>() > 0);
    assert!(docs.iter().map(|d| d.quotes.len()).sum::<usize>() > 0);
}

#[test]
fn evaluation_scores_the_entities_kept_and_finds_the_mentions_of_training_data() {
    let conll = "-DOCSTART- O\n\nAngela I-PER\nMerkel I-PER\nmet O\nEmmanuel I-PER\nMacron I-PER\n\
                 in O\nParis I-LOC\non O\nFriday O\n. O\n";
    let docs = newsgraph::training::conll::parse(conll, "test").unwrap();
    let seen = newsgraph::training::eval::mention_texts(&docs);
    let want: HashSet<String> = ["Angela Merkel", "Emmanuel Macron", "Paris"]
        .map(String::from)
        .into();
    assert_eq!(seen, want);
    let pipeline = Pipeline::load(
        &newsgraph::default_model_dir(),
        PipelineOptions::default().relation_model(None),
    )
    .unwrap();
    let all = newsgraph::training::eval::evaluate(&pipeline, &docs)
        .unwrap()
        .overall();
    assert_eq!((all.correct, all.predicted, all.gold), (3, 3, 3));
    let people =
        newsgraph::training::eval::evaluate_where(&pipeline, &docs, |_, t| t != ["Paris"]).unwrap();
    let o = people.overall();
    assert_eq!((o.correct, o.predicted, o.gold), (2, 2, 2));
    assert!(!people.per_type.contains_key("LOC"), "{people:?}");
    let places =
        newsgraph::training::eval::evaluate_where(&pipeline, &docs, |typ, _| typ == "LOC").unwrap();
    assert_eq!(places.per_type.keys().collect::<Vec<_>>(), ["LOC"]);
    assert_eq!(places.overall().correct, 1);
}
