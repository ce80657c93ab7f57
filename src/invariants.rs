//! Invariants of every stage that runs without a model, checked on arbitrary input by the
//! property tests (`cargo test`, module `proptests`) and the fuzz targets (`fuzz/`). Each
//! function runs one stage on what it is given and panics when the stage panics or an
//! invariant breaks: every offset on a char boundary and inside the text, every reported text
//! the slice it names, every index valid.
//!
//! Compiled for tests and under `cfg(fuzzing)` (which `cargo fuzz` sets) only.

use crate::clean::{blank, furniture, Skipped};
use crate::cluster::{cluster, Cluster};
use crate::decode::{spans, word_labels, Aggregation, Decoding, LabelSet, Prefix, Scheme, Tag};
use crate::entity::{join_possessive_institutions, Entity, EntityKind};
use crate::input::{read_jsonl, read_text};
use crate::output::Document;
use crate::pipeline::{document as finish, prepare, PipelineOptions};
use crate::quote::Quote;
use crate::relation::Relation;
use crate::segment::{cut_quality, sentence_starts, windows};
use crate::temporal::{article_date, Temporal};
use crate::tokenize::{floor_char, TextTokenizer};
use crate::Article;
use chrono::NaiveDate;
use std::sync::OnceLock;

/// The shipped model's tokenizer (the text path's tokenizer in every check that needs one).
pub fn tokenizer() -> &'static TextTokenizer {
    static TOK: OnceLock<TextTokenizer> = OnceLock::new();
    TOK.get_or_init(|| {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("models")
            .join(crate::DEFAULT_MODEL);
        TextTokenizer::from_dir(&dir).unwrap_or_else(|e| panic!("{e}"))
    })
}

/// The shipped model's labels (CoNLL-2003, BIO).
pub fn labels() -> LabelSet {
    LabelSet::bio(&["PER", "ORG", "LOC", "MISC"])
}

/// A span of `text` on char boundaries (`start <= end <= len`).
fn span_ok(text: &str, start: usize, end: usize, what: &str) {
    assert!(
        start <= end && end <= text.len(),
        "{what}: span {start}..{end} outside a text of {} bytes",
        text.len()
    );
    assert!(
        text.is_char_boundary(start) && text.is_char_boundary(end),
        "{what}: span {start}..{end} not on char boundaries"
    );
}

/// Input readers: bytes as a JSON Lines file and as a text file.
pub fn input(data: &[u8]) {
    let lines = data.split(|&b| b == b'\n').count();
    let read: Vec<_> = read_jsonl(data, "fuzz.jsonl").collect();
    assert!(read.len() <= lines, "more articles than lines");
    for r in read {
        match r {
            Ok(_) => {}
            Err(e) => assert!(
                e.to_string().starts_with("fuzz.jsonl:"),
                "error without its line: {e}"
            ),
        }
    }
    match read_text("fuzz.txt", data.to_vec()) {
        Ok(a) => assert_eq!(a.text.as_bytes(), data),
        Err(e) => assert!(std::str::from_utf8(data).is_err(), "{e}"),
    }
}

/// Cleaning: the date line and furniture spans, and the blanked text.
pub fn clean(text: &str) -> Vec<Skipped> {
    let date_line = article_date(text);
    if let Some((_, (s, e))) = date_line {
        span_ok(text, s, e, "date line");
    }
    let skipped = furniture(text, date_line.map(|(_, span)| span));
    for (i, s) in skipped.iter().enumerate() {
        span_ok(text, s.start, s.end, "skipped");
        if i > 0 {
            assert!(skipped[i - 1].end <= s.start, "skipped spans overlap");
        }
    }
    let b = blank(text, &skipped);
    assert_eq!(b.len(), text.len(), "blanking changed the length");
    assert_eq!(
        b.matches('\n').count(),
        text.matches('\n').count(),
        "blanking removed line breaks"
    );
    skipped
}

/// Segmentation and tokenization: sentence starts, tokens and windows that cover every token
/// and give each to exactly one window.
pub fn segment(text: &str, max_len: usize, overlap: usize) {
    let starts = sentence_starts(text);
    for w in starts.windows(2) {
        assert!(w[0] < w[1], "sentence starts not increasing");
    }
    for &s in &starts {
        span_ok(text, s, s, "sentence start");
    }
    let tokens = match tokenizer().tokenize(text) {
        Ok(t) => t,
        Err(_) => return,
    };
    assert_eq!(tokens.ids.len(), tokens.offsets.len());
    assert_eq!(tokens.ids.len(), tokens.word_of.len());
    assert_eq!(tokens.words.len(), tokens.casing.len());
    for &(s, e) in tokens.offsets.iter().chain(&tokens.words) {
        span_ok(text, s, e, "token");
    }
    for (i, &w) in tokens.word_of.iter().enumerate() {
        assert!((w as usize) < tokens.words.len(), "token {i}: bad word id");
        if i > 0 {
            let prev = tokens.word_of[i - 1];
            assert!(w == prev || w == prev + 1, "word ids not contiguous");
        }
    }
    if tokens.is_empty() {
        return;
    }
    let cuts = cut_quality(&tokens.offsets, &tokens.word_of, &starts);
    assert_eq!(cuts.len(), tokens.len());
    let ws = windows(&cuts, max_len, overlap);
    let max_len = max_len.max(1);
    assert_eq!(ws[0].start, 0);
    assert_eq!(ws[0].own_start, 0);
    let mut owned = 0;
    for (i, w) in ws.iter().enumerate() {
        assert!(w.start < w.end && w.end <= tokens.len(), "window {w:?}");
        assert!(w.len() <= max_len, "window {w:?} longer than {max_len}");
        assert!(w.start <= w.own_start && w.own_end <= w.end, "{w:?}");
        assert!(w.own_start <= w.own_end, "{w:?}");
        assert_eq!(w.own_start, owned, "window {i} does not own the next token");
        owned = w.own_end;
    }
    assert_eq!(owned, tokens.len(), "tokens not owned by any window");
}

/// Decoding: arbitrary probabilities (NaN and infinities too) over arbitrary word runs; the
/// Viterbi decoder's sequence is one the scheme allows.
pub fn decode(
    labels: &LabelSet,
    probs: &[f32],
    run_lengths: &[u8],
    how: Aggregation,
    decoding: Decoding,
) {
    let n = labels.len();
    let mut word_of = Vec::new();
    for (w, &r) in run_lengths.iter().enumerate() {
        word_of.extend(std::iter::repeat_n(w as u32, r.max(1) as usize));
    }
    let n_tokens = word_of.len().min(probs.len() / n);
    word_of.truncate(n_tokens);
    let n_words = word_of.last().map_or(0, |&w| w as usize + 1);
    let words = word_labels(
        &probs[..n_tokens * n],
        labels,
        &word_of,
        n_words,
        how,
        decoding,
    );
    assert_eq!(words.len(), n_words);
    assert!(words.iter().all(|w| w.label < n), "label out of range");
    let tags: Vec<_> = words.iter().map(|w| labels.tags()[w.label]).collect();
    if decoding == Decoding::Viterbi {
        assert_valid_sequence(labels.scheme(), &tags);
    }
    let scores: Vec<f32> = words.iter().map(|w| w.score).collect();
    let mut last_end = None;
    for s in spans(&tags, &scores) {
        assert!(s.first <= s.last && s.last < n_words, "{s:?}");
        assert!(s.typ < labels.types().len(), "{s:?}");
        assert!(last_end.is_none_or(|l| s.first > l), "spans overlap");
        last_end = Some(s.last);
    }
}

/// `tags` follow `scheme`'s transitions (what the Viterbi decoder promises).
fn assert_valid_sequence(scheme: Scheme, tags: &[Tag]) {
    let mut prev: Option<Tag> = None;
    for (i, &t) in tags.iter().enumerate() {
        let open = prev.filter(|p| matches!(p.prefix, Prefix::B | Prefix::I));
        let same = |p: Option<Tag>| p.is_some_and(|p| p.prefix != Prefix::O && p.typ == t.typ);
        let ok = match scheme {
            Scheme::Bio => t.prefix != Prefix::I || same(open),
            Scheme::Iob1 => true,
            Scheme::Bioes => match open {
                Some(o) => matches!(t.prefix, Prefix::I | Prefix::E) && o.typ == t.typ,
                None => !matches!(t.prefix, Prefix::I | Prefix::E),
            },
        };
        assert!(
            ok,
            "invalid transition {prev:?} -> {t:?} at word {i} ({scheme:?})"
        );
        prev = Some(t);
    }
    if scheme == Scheme::Bioes {
        assert!(
            !prev.is_some_and(|p| matches!(p.prefix, Prefix::B | Prefix::I)),
            "BIOES sequence ends inside an entity"
        );
    }
}

/// Entities over `text` from raw `(start, end, kind)` triples: offsets are moved down to char
/// boundaries and ordered, so spans may sit anywhere (text edges, inside the rules' own
/// matches, over each other, empty). `sorted` orders them by start as the decoder does.
pub fn entities(text: &str, raw: &[(usize, usize, u8)], sorted: bool) -> Vec<Entity> {
    const KINDS: [&str; 6] = ["PER", "ORG", "LOC", "MISC", "GPE", "DATE"];
    let floor = |i: usize| floor_char(text, i);
    let mut out: Vec<Entity> = raw
        .iter()
        .map(|&(a, b, k)| {
            let (start, end) = (floor(a.min(b)), floor(a.max(b)));
            let label = KINDS[k as usize % KINDS.len()].to_string();
            Entity {
                text: text[start..end].to_string(),
                kind: EntityKind::from_label(&label),
                label,
                start,
                end,
                char_start: text[..start].chars().count(),
                char_end: text[..end].chars().count(),
                score: (k as f32) / 255.0,
                cluster: None,
            }
        })
        .collect();
    if sorted {
        out.sort_by_key(|e| (e.start, e.end));
    }
    out
}

/// The rule stages on arbitrary entities: possessive joining, clusters, quotes, relations and
/// dates, each output checked.
pub fn rules(text: &str, mut ents: Vec<Entity>, date: Option<NaiveDate>) {
    join_possessive_institutions(text, &mut ents);
    check_entities(text, &ents);
    let (clusters, of) = cluster(text, &ents);
    assert_eq!(of.len(), ents.len());
    for (e, c) in ents.iter_mut().zip(of) {
        e.cluster = (c != usize::MAX).then_some(c);
    }
    check_clusters(&ents, &clusters);
    check_quotes(text, &crate::quote::find(text, &ents), clusters.len());
    let rels = crate::relation::rules::find(text, &ents);
    check_relations(text, &rels, clusters.len());
    // Entity scores are in 0..=1 here, and so are the rules' precisions.
    assert!(
        rels.iter().all(|r| (0.0..=1.0).contains(&r.score)),
        "{rels:?}"
    );
    let skip: Vec<(usize, usize)> = ents.iter().map(|e| (e.start, e.end)).collect();
    check_temporal(text, &crate::temporal::find(text, date, &skip));
}

/// The whole text path without the model: cleaning, tokenization and windowing, then the
/// stage after the forward pass fed with `probs` (repeated or cut to one row per token) as
/// the model's output. Returns the document after checking it.
pub fn document(text: &str, probs: &[f32], window_len: usize) -> Option<Document> {
    let article = Article::new("fuzz", text);
    let options = PipelineOptions::default();
    let window_len = window_len.clamp(8, 512);
    let prep = prepare(&article, tokenizer(), &options, window_len).ok()?;
    let labels = labels();
    let n = prep.tokens.len() * labels.len();
    let probs: Vec<f32> = if probs.is_empty() {
        vec![0.0; n]
    } else {
        probs.iter().copied().cycle().take(n).collect()
    };
    let doc = finish(&article, &prep, &probs, &labels, &options);
    check_document(text, &doc);
    Some(doc)
}

/// Every invariant of a document over `text`.
pub fn check_document(text: &str, doc: &Document) {
    assert_eq!(doc.text_len, text.len());
    check_entities(text, &doc.entities);
    for w in doc.entities.windows(2) {
        assert!(
            w[0].end <= w[1].start,
            "entities overlap or are out of order"
        );
    }
    for e in &doc.entities {
        assert!(!e.text.trim().is_empty(), "empty entity {e:?}");
    }
    check_clusters(&doc.entities, &doc.clusters);
    check_quotes(text, &doc.quotes, doc.clusters.len());
    check_relations(text, &doc.relations, doc.clusters.len());
    check_temporal(text, &doc.temporal);
    for l in &doc.limits {
        span_ok(text, l.span.start, l.span.end, "limit");
        chars_ok(
            text,
            (l.span.start, l.span.end),
            (l.span.char_start, l.span.char_end),
            "limit",
        );
        assert!(l.left_out > 0 && !l.stage.is_empty(), "empty limit {l:?}");
    }
    for s in &doc.skipped {
        span_ok(text, s.start, s.end, "skipped");
        chars_ok(
            text,
            (s.start, s.end),
            (s.char_start, s.char_end),
            "skipped",
        );
    }
}

/// Character offsets are the byte offsets counted in Unicode scalar values.
fn chars_ok(text: &str, bytes: (usize, usize), chars: (usize, usize), what: &str) {
    let count = |b: usize| text[..b].chars().count();
    assert_eq!(
        chars,
        (count(bytes.0), count(bytes.1)),
        "{what} char offsets"
    );
}

fn check_entities(text: &str, ents: &[Entity]) {
    for e in ents {
        span_ok(text, e.start, e.end, "entity");
        assert_eq!(&text[e.start..e.end], e.text, "entity text");
        chars_ok(text, (e.start, e.end), (e.char_start, e.char_end), "entity");
    }
}

fn check_clusters(ents: &[Entity], clusters: &[Cluster]) {
    for (i, c) in clusters.iter().enumerate() {
        assert_eq!(c.id, i, "cluster ids are indices");
        assert!(!c.mentions.is_empty(), "empty cluster");
        for &m in &c.mentions {
            assert!(m < ents.len(), "mention index out of range");
            assert_eq!(ents[m].cluster, Some(i), "mention not in its cluster");
            assert_eq!(ents[m].kind, c.kind, "cluster kinds disagree");
        }
        assert!((0.0..=1.0).contains(&c.salience), "salience {}", c.salience);
    }
    for (i, e) in ents.iter().enumerate() {
        if let Some(c) = e.cluster {
            assert!(c < clusters.len() && clusters[c].mentions.contains(&i));
        }
    }
}

fn check_quotes(text: &str, quotes: &[Quote], n_clusters: usize) {
    for q in quotes {
        span_ok(text, q.start, q.end, "quote");
        assert_eq!(&text[q.start..q.end], q.text, "quote text");
        assert!(q.speaker.is_none_or(|s| s < n_clusters), "quote speaker");
        assert!(q.speaker.is_none() || q.speaker_text.is_some());
        chars_ok(text, (q.start, q.end), (q.char_start, q.char_end), "quote");
        assert_eq!(q.speaker_text.is_some(), q.speaker_span.is_some());
        if let Some(s) = q.speaker_span {
            span_ok(text, s.start, s.end, "speaker");
            chars_ok(
                text,
                (s.start, s.end),
                (s.char_start, s.char_end),
                "speaker",
            );
            assert_eq!(Some(&text[s.start..s.end]), q.speaker_text.as_deref());
        }
    }
}

fn check_relations(text: &str, rels: &[Relation], n_clusters: usize) {
    for r in rels {
        let ev = r.evidence;
        span_ok(text, ev.start, ev.end, "evidence");
        chars_ok(
            text,
            (ev.start, ev.end),
            (ev.char_start, ev.char_end),
            "evidence",
        );
        assert!(r.head < n_clusters, "relation head");
        assert!(r.tail.is_none_or(|t| t < n_clusters), "relation tail");
        assert!(!r.head_text.is_empty(), "relation without head text");
    }
}

fn check_temporal(text: &str, found: &[Temporal]) {
    for t in found {
        span_ok(text, t.start, t.end, "temporal");
        assert_eq!(&text[t.start..t.end], t.text, "temporal text");
        chars_ok(
            text,
            (t.start, t.end),
            (t.char_start, t.char_end),
            "temporal",
        );
    }
}
