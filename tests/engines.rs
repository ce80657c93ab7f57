//! The engines against each other on a tiny model with random (seeded) attention weights.
mod common;

use common::{tiny, TinyOptions};
use newsgraph::tch::{Kind, Tensor};
use newsgraph::{Engine, NerModel, Pipeline, PipelineOptions};

fn logits(model: &NerModel, ids: &Tensor, mask: &Tensor) -> Tensor {
    let casing = ids.zeros_like();
    newsgraph::tch::no_grad(|| model.logits(ids, mask, &casing, false).unwrap())
}

#[test]
fn fast_engines_match_rust_bert() {
    let (_tmp, dir) = tiny(TinyOptions::default());
    // Random output projections, so that attention and the feed-forward block matter.
    newsgraph::tch::manual_seed(11);
    let weights: Vec<(String, Tensor)> = common::weights(64)
        .into_iter()
        .map(|(n, t)| {
            let n = if n.starts_with("classifier.") {
                n
            } else {
                format!("bert.{n}")
            };
            let t = if n.contains("output.dense") {
                t.randn_like() * 0.5
            } else {
                t
            };
            (n, t)
        })
        .collect();
    Tensor::write_safetensors(&weights, dir.join("model.safetensors")).unwrap();
    let reference = NerModel::load_with(&dir, Engine::RustBert).unwrap();
    assert_eq!(reference.engine(), Engine::RustBert);
    newsgraph::tch::manual_seed(3);
    let ids = Tensor::randint(29, [3, 11], (Kind::Int64, newsgraph::tch::Device::Cpu));
    let mask = Tensor::ones([3, 11], (Kind::Int64, newsgraph::tch::Device::Cpu));
    let _ = mask.narrow(1, 7, 4).narrow(0, 2, 1).fill_(0); // one padded row
    let want = logits(&reference, &ids, &mask);
    // int8 (ONNX Runtime): weights per column, activations per batch, so logits move by a few
    // hundredths of their spread; the labels must still all agree on this input.
    for (engine, tol) in [
        (Engine::Fused, 1e-4),
        (Engine::FusedBf16, 0.1),
        (Engine::Onnx, 1e-4),
        (Engine::OnnxInt8, 0.1),
    ] {
        let model = NerModel::load_with(&dir, engine).unwrap();
        assert_eq!(model.engine(), engine);
        let got = logits(&model, &ids, &mask);
        assert_eq!(got.size(), want.size());
        // Compare the unpadded positions only.
        let m = mask.unsqueeze(-1).to_kind(Kind::Float);
        let diff = ((&got - &want) * &m).abs().max().double_value(&[]);
        let spread = (&want * &m).abs().max().double_value(&[]);
        eprintln!("{engine:?}: max |diff| {diff} (logits up to {spread})");
        assert!(diff < tol, "{engine:?}: max |diff| {diff}");
        let same = (got
            .argmax(-1, false)
            .eq_tensor(&want.argmax(-1, false))
            .to_kind(Kind::Int64)
            * &mask)
            .sum(Kind::Int64)
            .int64_value(&[]);
        assert_eq!(
            same,
            mask.sum(Kind::Int64).int64_value(&[]),
            "{engine:?}: labels differ"
        );
    }
}

#[test]
fn engines_give_the_same_entities() {
    let (_tmp, dir) = tiny(TinyOptions::default());
    let text = "Alice Smith went to Paris. John and Acme Corp in Paris.".repeat(5);
    let run = |engine| {
        let p = Pipeline::load(
            &dir,
            PipelineOptions {
                engine,
                window: Some(16),
                ..PipelineOptions::default()
            },
        )
        .unwrap();
        p.extract(&text)
            .unwrap()
            .into_iter()
            .map(|e| (e.text, e.label, e.start))
            .collect::<Vec<_>>()
    };
    let reference = run(Engine::RustBert);
    assert_eq!(reference.len(), 25);
    assert_eq!(run(Engine::Fused), reference);
    assert_eq!(run(Engine::FusedBf16), reference);
    assert_eq!(run(Engine::Onnx), reference);
    assert_eq!(run(Engine::OnnxInt8), reference);
    assert_eq!(run(Engine::Auto), reference);
}

#[test]
fn engine_names_parse() {
    for e in [
        Engine::Auto,
        Engine::RustBert,
        Engine::Fused,
        Engine::FusedBf16,
        Engine::Onnx,
        Engine::OnnxInt8,
    ] {
        assert_eq!(e.as_str().parse::<Engine>().unwrap(), e);
    }
    assert!("tensorrt"
        .parse::<Engine>()
        .unwrap_err()
        .contains("unknown engine"));
}
