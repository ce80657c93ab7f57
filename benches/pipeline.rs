//! Criterion benchmarks on the shipped model and the sample articles, through the public API:
//! cleaning + tokenization + windowing, the forward pass per batch size and engine, and end to
//! end (the difference is decoding and the rule stages).
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use newsgraph::model::{EncoderInput, NerModel};
use newsgraph::{Article, Engine, Pipeline, PipelineOptions};

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
    let pipeline = Pipeline::load(&newsgraph::default_model_dir(), PipelineOptions::default())
        .expect("the shipped model");
    let window = pipeline.window_len() - 2;

    let mut g = c.benchmark_group("tokenize_window");
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function("sample_articles", |b| {
        b.iter(|| pipeline.window_stats(&articles).unwrap().windows)
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

    let mut g = c.benchmark_group("end_to_end");
    g.sample_size(10);
    g.throughput(Throughput::Elements(articles.len() as u64));
    for engine in engines() {
        let p = Pipeline::load(
            &newsgraph::default_model_dir(),
            PipelineOptions::default().engine(engine),
        )
        .unwrap();
        g.bench_function(engine.as_str(), |b| b.iter(|| p.process(&articles)));
    }
    g.finish();
}

criterion_group!(benches, stages);
criterion_main!(benches);
