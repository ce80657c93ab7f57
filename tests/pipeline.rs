//! The pipeline's mechanics on a tiny generated model: windows, batches, aggregation,
//! offsets, bad input, order and threads.
mod common;

use common::{tiny, TinyOptions};
use newsgraph::{Aggregation, Article, Decoding, Document, EntityKind, Pipeline, PipelineOptions};

/// A pipeline over the tiny NER model. The shipped relation model is left out: these tests
/// are about the NER mechanics (tests/relations.rs covers the relation model), and on the
/// 10 MB test it would classify half a million pairs of the tiny model's entities.
fn pipeline(options: PipelineOptions) -> (tempfile::TempDir, Pipeline) {
    let (tmp, dir) = tiny(TinyOptions::default());
    (
        tmp,
        Pipeline::load(&dir, options.relation_model(None)).unwrap(),
    )
}

fn small_windows() -> PipelineOptions {
    // Windows of 14 tokens (16 with [CLS]/[SEP]) overlapping by 4, 4 windows a batch.
    PipelineOptions::default()
        .window(16)
        .overlap(4)
        .batch_size(4)
}

#[test]
fn long_text_every_window_found_none_doubled() {
    let (_t, p) = pipeline(small_windows());
    let sentence = "Alice Smith went to Paris. ";
    let text = sentence.repeat(40); // 240 tokens: 17+ windows, more than the batch size
    let ents = p.extract(&text).unwrap();
    assert_eq!(ents.len(), 80, "{ents:?}");
    for (i, pair) in ents.chunks(2).enumerate() {
        let base = i * sentence.len();
        assert_eq!(
            (pair[0].text.as_str(), pair[0].start, pair[0].kind.clone()),
            ("Alice Smith", base, EntityKind::Person)
        );
        assert_eq!((pair[1].text.as_str(), pair[1].start), ("Paris", base + 20));
        assert_eq!(pair[1].kind, EntityKind::Location);
    }
}

#[test]
fn many_articles_more_windows_than_batch() {
    // rust-bert's NERModel decodes every input after the first batch with the wrong offsets.
    let (_t, p) = pipeline(small_windows());
    let articles: Vec<Article> = (0..9)
        .map(|i| {
            let text = format!(
                "{}Acme Corp in Paris.",
                "the office went to the office. ".repeat(i)
            );
            Article::new(format!("a{i}"), text)
        })
        .collect();
    let docs: Vec<Document> = p
        .process(&articles)
        .into_iter()
        .map(Result::unwrap)
        .collect();
    for (i, (a, d)) in articles.iter().zip(&docs).enumerate() {
        assert_eq!(d.id, a.id, "order kept");
        let got: Vec<(&str, &str)> = d
            .entities
            .iter()
            .map(|e| (e.text.as_str(), e.label.as_str()))
            .collect();
        assert_eq!(got, [("Acme Corp", "ORG"), ("Paris", "LOC")], "article {i}");
        for e in &d.entities {
            assert_eq!(&a.text[e.start..e.end], e.text);
        }
    }
}

#[test]
fn aggregation_strategies_differ_as_defined() {
    // "John" = "jo" (weak B-PER) + "##hn" (strong I-LOC). Greedy decoding: the word labels are
    // the aggregated argmax, as in Hugging Face's pipeline (Viterbi would not start with I-).
    let text = "John went to Paris.";
    let run = |aggregation| {
        let (_t, p) = pipeline(
            PipelineOptions::default()
                .aggregation(aggregation)
                .decoding(Decoding::Greedy),
        );
        p.extract(text).unwrap()
    };
    let first = run(Aggregation::First);
    assert_eq!(
        (first[0].text.as_str(), first[0].kind.clone()),
        ("John", EntityKind::Person)
    );
    assert!(
        first[0].score < 0.9,
        "first uses the weak first sub-token: {}",
        first[0].score
    );
    let max = run(Aggregation::Max);
    assert_eq!(
        (max[0].text.as_str(), max[0].kind.clone()),
        ("John", EntityKind::Location)
    );
    assert!(max[0].score > 0.99);
    let avg = run(Aggregation::Average);
    assert_eq!(avg[0].kind, EntityKind::Location);
    assert!(avg[0].score < max[0].score && avg[0].score > 0.4);
    for r in [&first, &max, &avg] {
        assert_eq!(r[1].text, "Paris");
    }
}

#[test]
fn byte_and_char_offsets_with_non_ascii() {
    let (_t, p) = pipeline(PipelineOptions::default());
    let text = "“Alice” paid £5 to René 😀 in Paris and Acme Corp’s office.";
    let ents = p.extract(text).unwrap();
    let got: Vec<&str> = ents.iter().map(|e| e.text.as_str()).collect();
    assert_eq!(got, ["Alice", "René", "Paris", "Acme Corp"]);
    let chars: Vec<char> = text.chars().collect();
    for e in &ents {
        assert_eq!(&text[e.start..e.end], e.text);
        let by_chars: String = chars[e.char_start..e.char_end].iter().collect();
        assert_eq!(by_chars, e.text);
    }
    assert_eq!((ents[0].start, ents[0].char_start), (3, 1));
    assert!(
        ents[2].start > ents[2].char_start + 4,
        "emoji and £ are multi-byte"
    );
}

#[test]
fn bad_inputs_cost_only_themselves() {
    let (_t, p) = pipeline(PipelineOptions::default().max_text_bytes(1 << 20));
    let good = "Alice went to Paris.";
    let junk: String = (0..200u32)
        .map(|i| char::from_u32(i % 32).unwrap())
        .collect();
    let articles = vec![
        Article::new("good1", good),
        Article::new("empty", ""),
        Article::new("spaces", " \n\t  \n"),
        Article::new("controls", "\u{1}\u{2}\u{3}\u{7f}\u{1b}"),
        Article::new("junk", junk),
        Article::new("huge", "Paris ".repeat(200_000)),
        Article::new("good2", good),
    ];
    let r = p.process(&articles);
    assert_eq!(r.len(), articles.len());
    for i in [0, 6] {
        assert_eq!(r[i].as_ref().unwrap().entities.len(), 2);
    }
    for i in [1, 2] {
        let d = r[i].as_ref().unwrap();
        assert!(d.entities.is_empty());
    }
    let err = |i: usize| r[i].as_ref().unwrap_err().to_string();
    assert!(
        err(3).starts_with("controls:") && err(3).contains("control characters"),
        "{}",
        err(3)
    );
    assert!(
        err(4).starts_with("junk:") && err(4).contains("binary"),
        "{}",
        err(4)
    );
    assert!(
        err(5).starts_with("huge:") && err(5).contains("max_text_bytes"),
        "{}",
        err(5)
    );
}

#[test]
fn ten_megabytes_of_text_is_processed_whole() {
    let (_t, p) = pipeline(PipelineOptions::default().batch_size(64));
    let unit = "Alice went to Paris. ";
    let n = (10 << 20) / unit.len();
    let text = unit.repeat(n);
    let ents = p.extract(&text).unwrap();
    assert_eq!(ents.len(), 2 * n);
    let last = ents.last().unwrap();
    assert_eq!(last.end, text.len() - 2);
    assert_eq!(last.text, "Paris");
}

#[test]
fn unreadable_inputs_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("bad.txt");
    std::fs::write(&bad, b"Alice \xff\xfe went").unwrap();
    let good = tmp.path().join("good.txt");
    std::fs::write(&good, "Alice went to Paris.").unwrap();
    let items: Vec<_> = newsgraph::input::read_path(tmp.path()).collect();
    assert_eq!(items.len(), 2);
    let e = items[0].as_ref().unwrap_err().to_string();
    assert!(
        e.contains("bad.txt") && e.contains("UTF-8") && e.contains("offset 6"),
        "{e}"
    );
    assert_eq!(items[1].as_ref().unwrap().id, "good");
    let missing: Vec<_> = newsgraph::input::read_path(&tmp.path().join("nope.txt")).collect();
    assert!(missing[0]
        .as_ref()
        .unwrap_err()
        .to_string()
        .contains("nope.txt"));
    let jsonl = tmp.path().join("a.jsonl");
    std::fs::write(
        &jsonl,
        "{\"id\":\"x\",\"text\":\"Paris\"}\n\nnot json\n{\"id\":\"y\"}\n",
    )
    .unwrap();
    let items: Vec<_> = newsgraph::input::read_path(&jsonl).collect();
    assert_eq!(items.len(), 3);
    assert_eq!(items[0].as_ref().unwrap().text, "Paris");
    assert!(items[1]
        .as_ref()
        .unwrap_err()
        .to_string()
        .contains("a.jsonl:3"));
    assert!(items[2]
        .as_ref()
        .unwrap_err()
        .to_string()
        .contains("missing field `text`"));
}

#[test]
fn directories_are_read_in_path_order_through_links() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = tmp.path().join("corpus");
    std::fs::create_dir_all(corpus.join("b")).unwrap();
    std::fs::write(corpus.join("b").join("x.txt"), "Paris").unwrap();
    std::fs::write(corpus.join("a.txt"), "Alice").unwrap();
    std::fs::write(corpus.join("notes.md"), "not an article").unwrap();
    // A folder of links to articles elsewhere (as a sample of a corpus is often made).
    let links = tmp.path().join("links");
    std::fs::create_dir(&links).unwrap();
    std::os::unix::fs::symlink(corpus.join("a.txt"), links.join("c.txt")).unwrap();
    std::os::unix::fs::symlink(corpus.join("b"), links.join("d")).unwrap();
    let ids = |p: Vec<std::path::PathBuf>| -> Vec<String> {
        newsgraph::input::read_paths(p)
            .map(|a| a.unwrap().id)
            .collect()
    };
    assert_eq!(ids(vec![corpus]), ["a", "x"]);
    assert_eq!(ids(vec![links.clone(), links]), ["c", "x", "c", "x"]);
}

#[test]
fn one_and_two_threads_give_identical_output() {
    let articles: Vec<Article> = (0..24)
        .map(|i| {
            Article::new(
                i.to_string(),
                format!(
                    "{}Alice Smith and Rene in Paris. Acme Corp.",
                    "the office. ".repeat(i * 3 % 17)
                ),
            )
        })
        .collect();
    let run = |threads| {
        let (_t, p) = pipeline(small_windows().threads(threads));
        p.process(&articles)
            .into_iter()
            .map(Result::unwrap)
            .collect::<Vec<_>>()
    };
    let one = run(1);
    let two = run(2);
    assert_eq!(one, two);
    assert!(one.iter().all(|d| d.entities.len() == 4));
    let ids: Vec<&str> = one.iter().map(|d| d.id.as_str()).collect();
    let expected: Vec<String> = (0..24).map(|i| i.to_string()).collect();
    assert_eq!(ids, expected);
}

#[test]
fn settings_are_checked() {
    let (_tmp, dir) = tiny(TinyOptions::default());
    let e = Pipeline::load(&dir, PipelineOptions::default().batch_size(0)).unwrap_err();
    assert!(e.to_string().contains("batch_size"));
    let e = Pipeline::load(&dir, PipelineOptions::default().window(4096)).unwrap_err();
    assert!(e.to_string().contains("window"));
}

#[test]
fn json_line_has_the_documented_fields() {
    let (_t, p) = pipeline(PipelineOptions::default());
    let doc = p
        .process(&[Article::new("x", "Alice went to Paris.")])
        .remove(0)
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&doc.to_json_line()).unwrap();
    assert_eq!(v["id"], "x");
    assert_eq!(v["text_len"], 20);
    let e = &v["entities"][0];
    for k in [
        "text",
        "label",
        "kind",
        "start",
        "end",
        "char_start",
        "char_end",
        "score",
    ] {
        assert!(!e[k].is_null(), "missing {k}");
    }
    assert_eq!(e["kind"], "person");
    let back: Document = serde_json::from_value(v).unwrap();
    assert_eq!(back, doc);
}
