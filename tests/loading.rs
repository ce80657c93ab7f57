//! Loading model folders: every layout that must load, and every error that must be named.
mod common;

use common::{tiny, write_tiny, TinyOptions, TokenizerFile};
use newsgraph::model::NerModel;
use newsgraph::{Error, LoadError, Pipeline, PipelineOptions};
use std::path::Path;

fn load_err(dir: &Path) -> LoadError {
    match NerModel::load(dir) {
        Err(Error::Load(e)) => e,
        Err(other) => panic!("expected a load error, got {other}"),
        Ok(_) => panic!("expected a load error, the model loaded"),
    }
}

fn entities(dir: &Path) -> Vec<(String, String)> {
    let p = Pipeline::load(dir, PipelineOptions::default()).unwrap();
    p.extract("Alice Smith went to Paris and Acme Corp.")
        .unwrap()
        .into_iter()
        .map(|e| (e.text, e.label))
        .collect()
}

fn expected() -> Vec<(String, String)> {
    [
        ("Alice Smith", "PER"),
        ("Paris", "LOC"),
        ("Acme Corp.", "ORG"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect()
}

#[test]
fn every_layout_loads_and_agrees() {
    for o in [
        TinyOptions::default(),
        TinyOptions {
            prefixed: false,
            ..TinyOptions::default()
        },
        TinyOptions {
            tokenizer: TokenizerFile::Json,
            ..TinyOptions::default()
        },
    ] {
        let (_tmp, dir) = tiny(o);
        assert_eq!(entities(&dir), expected(), "{o:?}");
    }
}

#[test]
fn a_path_that_is_no_model_folder_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("no-such-model");
    let e = load_err(&missing).to_string();
    assert!(
        e.contains("no-such-model") && e.contains("no such model folder"),
        "{e}"
    );
    let file = tmp.path().join("config.json");
    std::fs::write(&file, "{}").unwrap();
    let e = load_err(&file).to_string();
    assert!(e.contains("is a file, not a model folder"), "{e}");
}

#[test]
fn a_base_encoder_without_labels_says_what_to_do() {
    let (_tmp, dir) = tiny(TinyOptions::default());
    edit_config(&dir, |v| {
        v.as_object_mut().unwrap().remove("id2label");
    });
    let e = load_err(&dir).to_string();
    assert!(e.contains("id2label") && e.contains("train_ner"), "{e}");
}

#[test]
fn missing_config() {
    let (_tmp, dir) = tiny(TinyOptions::default());
    std::fs::remove_file(dir.join("config.json")).unwrap();
    let e = load_err(&dir);
    assert!(
        matches!(&e, LoadError::MissingFile { path, .. } if path.ends_with("config.json")),
        "{e}"
    );
    assert!(e.to_string().contains("config.json"));
}

#[test]
fn missing_tokenizer() {
    let (_tmp, dir) = tiny(TinyOptions::default());
    std::fs::remove_file(dir.join("vocab.txt")).unwrap();
    let e = load_err(&dir);
    assert!(
        matches!(e, LoadError::MissingFile { what, .. } if what.contains("tokenizer")),
        "{e}"
    );
}

#[test]
fn missing_weights() {
    let (_tmp, dir) = tiny(TinyOptions::default());
    std::fs::remove_file(dir.join("model.safetensors")).unwrap();
    let e = load_err(&dir);
    assert!(
        matches!(e, LoadError::MissingFile { what, .. } if what.contains("weights")),
        "{e}"
    );
}

#[test]
fn pickle_is_refused() {
    let (_tmp, dir) = tiny(TinyOptions::default());
    std::fs::rename(dir.join("model.safetensors"), dir.join("pytorch_model.bin")).unwrap();
    let e = load_err(&dir);
    assert!(matches!(&e, LoadError::PickleRefused { path } if path.ends_with("pytorch_model.bin")));
    assert!(e.to_string().contains("safetensors"), "{e}");
}

fn edit_config(dir: &Path, f: impl FnOnce(&mut serde_json::Value)) {
    let p = dir.join("config.json");
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
    f(&mut v);
    std::fs::write(&p, v.to_string()).unwrap();
}

#[test]
fn unknown_model_type() {
    let (_tmp, dir) = tiny(TinyOptions::default());
    edit_config(&dir, |v| v["model_type"] = "gpt2".into());
    let e = load_err(&dir);
    assert!(
        matches!(&e, LoadError::UnknownModelType { model_type, .. } if model_type == "gpt2"),
        "{e}"
    );
}

#[test]
fn labels_outside_any_scheme() {
    let (_tmp, dir) = tiny(TinyOptions::default());
    edit_config(&dir, |v| v["id2label"]["1"] = "PERSON".into());
    let e = load_err(&dir);
    assert!(
        matches!(&e, LoadError::InvalidLabels { reason, .. } if reason.contains("PERSON")),
        "{e}"
    );
    let (_tmp2, dir) = tiny(TinyOptions::default());
    edit_config(&dir, |v| {
        v.as_object_mut().unwrap().remove("id2label");
    });
    assert!(matches!(load_err(&dir), LoadError::InvalidLabels { .. }));
}

#[test]
fn shape_mismatch_names_the_weight() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = write_tiny(&tmp.path().join("m"), TinyOptions::default());
    // A config with another hidden size than the weights.
    edit_config(&dir, |v| v["hidden_size"] = 32.into());
    let e = load_err(&dir);
    match &e {
        LoadError::ShapeMismatch {
            name,
            expected,
            found,
            path,
        } => {
            assert!(path.ends_with("model.safetensors"));
            assert!(
                name.starts_with("bert.") || name.starts_with("classifier."),
                "{name}"
            );
            assert_ne!(expected, found);
        }
        other => panic!("expected a shape mismatch, got {other}"),
    }
}

#[test]
fn missing_weight_is_named() {
    let (_tmp, dir) = tiny(TinyOptions::default());
    let w: Vec<_> = common::weights(64)
        .into_iter()
        .filter(|(n, _)| !n.starts_with("classifier."))
        .collect();
    common::write_safetensors(&w, &dir.join("model.safetensors"), common::Dtype::F32);
    let e = load_err(&dir);
    assert!(
        matches!(&e, LoadError::MissingWeight { name, .. } if name.starts_with("classifier.")),
        "{e}"
    );
}

#[test]
fn corrupt_files_are_named() {
    let (_tmp, dir) = tiny(TinyOptions::default());
    std::fs::write(dir.join("model.safetensors"), b"not a safetensors file").unwrap();
    let e = load_err(&dir);
    assert!(
        matches!(&e, LoadError::Invalid { path, .. } if path.ends_with("model.safetensors")),
        "{e}"
    );
    let (_tmp2, dir) = tiny(TinyOptions::default());
    std::fs::write(dir.join("config.json"), b"{ not json").unwrap();
    let e = load_err(&dir);
    assert!(
        matches!(&e, LoadError::Invalid { path, .. } if path.ends_with("config.json")),
        "{e}"
    );
}

#[test]
fn f16_weights_load_as_f32() {
    let (_tmp, dir) = tiny(TinyOptions::default());
    let w: Vec<_> = common::weights(64)
        .into_iter()
        .map(|(n, t)| {
            let n = if n.starts_with("classifier.") {
                n
            } else {
                format!("bert.{n}")
            };
            (n, t)
        })
        .collect();
    common::write_safetensors(&w, &dir.join("model.safetensors"), common::Dtype::F16);
    assert_eq!(entities(&dir), expected());
}

/// rust-bert's own `.ot` format loads on the rust-bert engine, which `Engine::Auto` picks for it.
#[cfg(feature = "torch")]
#[test]
fn rust_model_ot_loads_on_rust_bert() {
    let (_tmp, dir) = tiny(TinyOptions::default());
    let st = dir.join("model.safetensors");
    let tensors = tch::Tensor::read_safetensors(&st).unwrap();
    tch::Tensor::save_multi(&tensors, dir.join("rust_model.ot")).unwrap();
    std::fs::remove_file(&st).unwrap();
    assert_eq!(entities(&dir), expected());
    let model = NerModel::load(&dir).unwrap();
    assert_eq!(model.engine(), newsgraph::Engine::RustBert);
}

/// Without the `torch` feature, a folder the ONNX Runtime graph cannot read is an error that
/// says why, never a silent fallback.
#[cfg(not(feature = "torch"))]
#[test]
fn without_torch_an_ot_only_folder_is_a_clear_error() {
    let (_tmp, dir) = tiny(TinyOptions::default());
    let st = dir.join("model.safetensors");
    std::fs::rename(&st, dir.join("rust_model.ot")).unwrap();
    let err = NerModel::load(&dir).unwrap_err().to_string();
    assert!(
        err.contains("rust_model.ot") && err.contains("`torch` feature"),
        "{err}"
    );
    let err = NerModel::load_with(&dir, newsgraph::Engine::RustBert)
        .unwrap_err()
        .to_string();
    assert!(err.contains("`torch` feature"), "{err}");
}
