//! End-to-end behaviour of the shipped default model on the sample articles.
use newsgraph::{Document, Engine, EntityKind, Pipeline, PipelineOptions};
use std::collections::HashSet;

fn run(engine: Engine) -> Vec<Document> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/articles");
    let articles: Vec<_> = newsgraph::input::read_path(&dir)
        .into_iter()
        .map(|a| a.unwrap())
        .collect();
    assert_eq!(articles.len(), 3);
    let pipeline = Pipeline::load(
        &newsgraph::default_model_dir(),
        PipelineOptions {
            engine,
            ..PipelineOptions::default()
        },
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
    for o in ["UK Ministry of Defence", "ISW", "King’s College London"] {
        assert!(orgs.contains(o), "organization {o} missing from {orgs:?}");
    }
    let misc = found(&docs, EntityKind::Misc);
    for m in ["Ukrainian", "Russian"] {
        assert!(misc.contains(m), "misc {m} missing from {misc:?}");
    }
    // Nothing typed as a person is a place name from the list above.
    assert!(!people.contains("Kherson") && !people.contains("Ukraine"));
}

#[test]
fn offsets_and_scores_hold_on_real_text() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/articles");
    let texts: Vec<String> = newsgraph::input::read_path(&dir)
        .into_iter()
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
    // The fused engines are checked against the rust-bert reference: the same entities, and
    // scores within 0.05 (bf16) / 1e-4 (f32).
    let reference = run(Engine::RustBert);
    for (engine, tol) in [(Engine::Fused, 1e-4f32), (Engine::FusedBf16, 0.05)] {
        let got = run(engine);
        for (a, b) in reference.iter().zip(&got) {
            let spans = |d: &Document| {
                d.entities
                    .iter()
                    .map(|e| (e.start, e.end, e.label.clone()))
                    .collect::<Vec<_>>()
            };
            assert_eq!(spans(a), spans(b), "{engine:?} on {}", a.id);
            for (x, y) in a.entities.iter().zip(&b.entities) {
                assert!(
                    (x.score - y.score).abs() < tol,
                    "{engine:?}: {} {} vs {}",
                    x.text,
                    x.score,
                    y.score
                );
            }
        }
    }
}
