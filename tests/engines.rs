//! The engines against each other on a tiny model with random (seeded) attention weights.
mod common;

use common::{tiny, TinyOptions};
use newsgraph::model::{EncoderInput, NerModel};
use newsgraph::{Engine, Pipeline, PipelineOptions};
use rand::{Rng, SeedableRng};

/// A tiny model whose output projections are random too, so that attention and the
/// feed-forward block matter.
fn random_tiny() -> (tempfile::TempDir, std::path::PathBuf) {
    let (tmp, dir) = tiny(TinyOptions::default());
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let weights: Vec<(String, common::Tensor)> = common::weights(64)
        .into_iter()
        .map(|(n, t)| {
            let n = if n.starts_with("classifier.") {
                n
            } else {
                format!("bert.{n}")
            };
            let t = if n.contains("output.dense") {
                common::Tensor::random(&t.shape, 0.5, &mut rng)
            } else {
                t
            };
            (n, t)
        })
        .collect();
    common::write_safetensors(&weights, &dir.join("model.safetensors"), common::Dtype::F32);
    (tmp, dir)
}

/// Three random rows of 11 tokens, the last one padded after 7.
fn batch() -> EncoderInput {
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    let mut input = EncoderInput::new(3, 11);
    input.ids = (0..33).map(|_| rng.gen_range(0..29)).collect();
    input.mask = vec![1; 33];
    input.mask[22 + 7..].fill(0);
    input
}

#[cfg(feature = "torch")]
#[test]
fn onnx_engines_match_rust_bert() {
    let (_tmp, dir) = random_tiny();
    let reference = NerModel::load_with(&dir, Engine::RustBert).unwrap();
    assert_eq!(reference.engine(), Engine::RustBert);
    let input = batch();
    let want = reference.logits(&input).unwrap();
    let labels = common::LABELS.len();
    // int8: weights per column, activations per batch, so logits move by a few hundredths of
    // their spread; the labels must still all agree on this input.
    for (engine, tol) in [
        (Engine::Onnx, 1e-4),
        (Engine::OnnxInt8, 0.1),
        (Engine::OnnxInt8Rows, 0.1),
    ] {
        let model = NerModel::load_with(&dir, engine).unwrap();
        assert_eq!(model.engine(), engine);
        let got = model.logits(&input).unwrap();
        assert_eq!(got.len(), want.len());
        let (mut diff, mut spread) = (0f32, 0f32);
        for (t, &m) in input.mask.iter().enumerate() {
            if m == 0 {
                continue; // compare the unpadded positions only
            }
            let (g, w) = (
                &got[t * labels..(t + 1) * labels],
                &want[t * labels..(t + 1) * labels],
            );
            for (a, b) in g.iter().zip(w) {
                diff = diff.max((a - b).abs());
                spread = spread.max(b.abs());
            }
            let argmax = |v: &[f32]| (0..v.len()).max_by(|&i, &j| v[i].total_cmp(&v[j])).unwrap();
            assert_eq!(argmax(g), argmax(w), "{engine}: labels differ at {t}");
        }
        eprintln!("{engine}: max |diff| {diff} (logits up to {spread})");
        assert!(diff < tol, "{engine}: max |diff| {diff}");
        assert!(spread > 1.0, "the reference logits are all near zero");
    }
}

#[test]
fn probabilities_are_the_softmax_of_the_logits() {
    let (_tmp, dir) = random_tiny();
    let model = NerModel::load_with(&dir, Engine::Onnx).unwrap();
    let input = batch();
    let (logits, probs) = (model.logits(&input).unwrap(), model.probs(&input).unwrap());
    for (l, p) in logits.chunks(7).zip(probs.chunks(7)) {
        let max = l.iter().copied().fold(f32::MIN, f32::max);
        let z: f32 = l.iter().map(|v| (v - max).exp()).sum();
        for (a, b) in l.iter().zip(p) {
            assert!(((a - max).exp() / z - b).abs() < 1e-5, "{l:?} {p:?}");
        }
    }
}

/// The largest difference between two equally long slices.
fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).fold(0f32, |m, (x, y)| m.max((x - y).abs()))
}

/// Row `r` of `input` as a batch of its own, cut to `len` tokens.
fn row(input: &EncoderInput, r: usize, len: usize) -> EncoderInput {
    let mut one = EncoderInput::new(1, len);
    let at = r * input.len;
    one.ids.copy_from_slice(&input.ids[at..at + len]);
    one.mask.copy_from_slice(&input.mask[at..at + len]);
    one.casing.copy_from_slice(&input.casing[at..at + len]);
    one
}

/// `onnx-int8-rows` quantizes each token on its own: a row's logits are the same alone and
/// among other rows (the float parts of attention may differ in the last bits), and they stay
/// as close to f32 as `onnx-int8` (0.1, as in `onnx_engines_match_rust_bert`).
#[test]
fn int8_rows_results_do_not_depend_on_the_batch() {
    let (_tmp, dir) = random_tiny();
    let rows = NerModel::load_with(&dir, Engine::OnnxInt8Rows).unwrap();
    assert_eq!(rows.engine(), Engine::OnnxInt8Rows);
    let f32 = NerModel::load_with(&dir, Engine::Onnx).unwrap();
    let input = batch();
    let labels = common::LABELS.len();
    let batched = rows.logits(&input).unwrap();
    let reference = f32.logits(&input).unwrap();
    // The unpadded positions (row 2 is padded after 7 tokens).
    let unpadded = |v: &[f32]| -> Vec<f32> {
        v.chunks(labels)
            .zip(&input.mask)
            .filter(|(_, &m)| m == 1)
            .flat_map(|(l, _)| l.to_vec())
            .collect()
    };
    let close = max_diff(&unpadded(&batched), &unpadded(&reference));
    let per_batch = NerModel::load_with(&dir, Engine::OnnxInt8).unwrap();
    let int8 = max_diff(
        &unpadded(&per_batch.logits(&input).unwrap()),
        &unpadded(&reference),
    );
    eprintln!("against onnx: onnx-int8-rows max |diff| {close}, onnx-int8 {int8}");
    assert!(close < 0.1, "max |diff| {close}");
    for (r, len) in [(0, 11), (1, 11), (2, 7)] {
        let alone = rows.logits(&row(&input, r, len)).unwrap();
        let at = r * input.len * labels;
        let diff = max_diff(&alone, &batched[at..at + len * labels]);
        assert!(diff < 1e-5, "row {r}: alone and batched differ by {diff}");
    }
}

#[test]
fn bad_engine_input_is_an_error_not_a_crash() {
    let (_tmp, dir) = random_tiny();
    let model = NerModel::load_with(&dir, Engine::OnnxInt8).unwrap();
    let mut input = batch();
    input.ids[4] = 29; // the vocabulary has 29 entries
    let err = model.probs(&input).unwrap_err().to_string();
    assert!(
        err.contains("token id 29 is outside the vocabulary"),
        "{err}"
    );
    let mut input = batch();
    input.casing[0] = 9;
    let err = model.probs(&input).unwrap_err().to_string();
    assert!(err.contains("casing class 9"), "{err}");
    let mut input = EncoderInput::new(1, 65);
    input.mask.fill(1);
    let err = model.probs(&input).unwrap_err().to_string();
    assert!(
        err.contains("longer than the model's 64 positions"),
        "{err}"
    );
    let mut input = batch();
    input.ids.pop();
    assert!(model.probs(&input).is_err());
}

#[test]
fn engines_give_the_same_entities() {
    let (_tmp, dir) = tiny(TinyOptions::default());
    let text = "Alice Smith went to Paris. John and Acme Corp in Paris.".repeat(5);
    let run = |engine| {
        let p = Pipeline::load(&dir, PipelineOptions::default().engine(engine).window(16)).unwrap();
        p.extract(&text)
            .unwrap()
            .into_iter()
            .map(|e| (e.text, e.label, e.start))
            .collect::<Vec<_>>()
    };
    let reference = run(Engine::Onnx);
    assert_eq!(reference.len(), 25);
    #[cfg(feature = "torch")]
    assert_eq!(run(Engine::RustBert), reference);
    assert_eq!(run(Engine::OnnxInt8), reference);
    assert_eq!(run(Engine::OnnxInt8Rows), reference);
    assert_eq!(run(Engine::Auto), reference);
}

#[test]
fn auto_is_onnx_int8_for_bert() {
    let (_tmp, dir) = tiny(TinyOptions::default());
    assert_eq!(
        Pipeline::load(&dir, PipelineOptions::default())
            .unwrap()
            .engine(),
        Engine::OnnxInt8
    );
}

#[test]
fn engine_names_parse() {
    for e in [
        Engine::Auto,
        Engine::RustBert,
        Engine::Onnx,
        Engine::OnnxInt8,
        Engine::OnnxInt8Rows,
        Engine::OnnxFile,
    ] {
        assert_eq!(e.as_str().parse::<Engine>().unwrap(), e);
        assert_eq!(e.to_string(), e.as_str());
    }
    assert!("fused"
        .parse::<Engine>()
        .unwrap_err()
        .contains("unknown engine"));
}

/// A folder with an exported `model.onnx` and no weights runs on `onnx-file`, with the
/// probabilities of the engine it was exported from.
#[test]
fn an_exported_model_onnx_runs_on_the_onnx_file_engine() {
    let (_tmp, dir) = random_tiny();
    let source = NerModel::load_with(&dir, Engine::Onnx).unwrap();
    let out = tempfile::tempdir().unwrap();
    let exported = out.path().join("exported");
    std::fs::create_dir_all(&exported).unwrap();
    source.export_onnx(&exported.join("model.onnx")).unwrap();
    for f in ["config.json", "vocab.txt"] {
        std::fs::copy(dir.join(f), exported.join(f)).unwrap();
    }
    let model = NerModel::load(&exported).unwrap();
    assert_eq!(model.engine(), Engine::OnnxFile);
    let input = batch();
    let (want, got) = (source.probs(&input).unwrap(), model.probs(&input).unwrap());
    assert_eq!(want.len(), got.len());
    let diff = want
        .iter()
        .zip(&got)
        .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
    assert!(diff < 1e-5, "max |diff| {diff}");
    let err = NerModel::load_with(&dir, Engine::OnnxFile)
        .unwrap_err()
        .to_string();
    assert!(err.contains("model.onnx"), "{err}");
    std::fs::write(exported.join("model.onnx"), b"not onnx").unwrap();
    let err = NerModel::load(&exported).unwrap_err().to_string();
    assert!(
        err.contains("model.onnx") && err.contains("cannot load"),
        "{err}"
    );
}
