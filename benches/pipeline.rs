//! Criterion benchmarks of the pipeline's stages on the shipped model and the sample articles:
//! tokenize + window, forward pass per batch size and engine, decode, and end to end.
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use newsgraph::decode::{aggregate, spans, Aggregation};
use newsgraph::segment::{cut_quality, sentence_starts, windows};
use newsgraph::{Article, EncoderInput, Engine, NerModel, Pipeline, PipelineOptions};

fn articles() -> Vec<Article> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/articles");
    newsgraph::input::read_path(&dir)
        .map(|a| a.expect("sample article"))
        .collect()
}

/// The engines built in: rust-bert with the `torch` feature.
fn engines() -> Vec<Engine> {
    let mut out = vec![Engine::Onnx, Engine::OnnxInt8];
    if cfg!(feature = "torch") {
        out.insert(0, Engine::RustBert);
    }
    out
}

fn stages(c: &mut Criterion) {
    let articles = articles();
    let bytes: usize = articles.iter().map(|a| a.text.len()).sum();
    let model = NerModel::load_with(&newsgraph::default_model_dir(), Engine::Onnx).unwrap();
    let tok = model.tokenizer().clone();
    let window = model.config().window_len() - 2;

    let mut g = c.benchmark_group("tokenize_window");
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function("sample_articles", |b| {
        b.iter(|| {
            articles
                .iter()
                .map(|a| {
                    let t = tok.tokenize(&a.text).unwrap();
                    let cuts = cut_quality(&t.offsets, &t.word_of, &sentence_starts(&a.text));
                    windows(&cuts, window, window / 4).len()
                })
                .sum::<usize>()
        })
    });
    g.finish();

    let mut g = c.benchmark_group("forward");
    g.sample_size(10);
    let seq = window + 2;
    for engine in engines() {
        let model = NerModel::load_with(&newsgraph::default_model_dir(), engine).unwrap();
        for batch in [1usize, 8, 32] {
            let mut input = EncoderInput::new(batch, seq);
            for (i, id) in input.ids.iter_mut().enumerate() {
                *id = ((i * 7919) % 30_000) as i32;
            }
            input.mask.fill(1);
            g.throughput(Throughput::Elements((batch * seq) as u64));
            g.bench_with_input(BenchmarkId::new(engine.as_str(), batch), &batch, |b, _| {
                b.iter(|| model.probs(&input).unwrap())
            });
        }
    }
    g.finish();

    let mut g = c.benchmark_group("decode");
    let n_labels = model.config().labels.len();
    let t = tok.tokenize(&articles[0].text).unwrap();
    let probs: Vec<f32> = (0..t.len() * n_labels)
        .map(|i| ((i * 7919) % 101) as f32 / 101.0)
        .collect();
    g.throughput(Throughput::Elements(t.len() as u64));
    g.bench_function("aggregate_and_spans", |b| {
        b.iter(|| {
            let words = aggregate(
                &probs,
                n_labels,
                &t.word_of,
                t.words.len(),
                Aggregation::First,
            );
            let tags: Vec<_> = words
                .iter()
                .map(|w| model.config().labels.tags()[w.label])
                .collect();
            let scores: Vec<f32> = words.iter().map(|w| w.score).collect();
            spans(&tags, &scores).len()
        })
    });
    g.finish();

    let mut g = c.benchmark_group("end_to_end");
    g.sample_size(10);
    g.throughput(Throughput::Elements(articles.len() as u64));
    for engine in engines() {
        let p = Pipeline::load(
            &newsgraph::default_model_dir(),
            PipelineOptions {
                engine,
                ..PipelineOptions::default()
            },
        )
        .unwrap();
        g.bench_function(engine.as_str(), |b| b.iter(|| p.process(&articles)));
    }
    g.finish();
}

criterion_group!(benches, stages);
criterion_main!(benches);
