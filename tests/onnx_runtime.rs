//! Loading ONNX Runtime: a missing library is a clear error for the onnx engines; `Engine::Auto`
//! falls back to rust-bert with a warning when that engine is built in (feature `torch`), and
//! is the same clear error when it is not. (Its own test binary: the runtime loads once per
//! process.)
mod common;

use common::{tiny, TinyOptions};
use newsgraph::model::NerModel;
use newsgraph::{Engine, Pipeline, PipelineOptions};
use std::sync::Mutex;

/// Keeps the warnings logged, to check that a fallback is never silent.
struct Recorder(Mutex<Vec<String>>);

impl log::Log for Recorder {
    fn enabled(&self, m: &log::Metadata) -> bool {
        m.level() <= log::Level::Warn
    }
    fn log(&self, r: &log::Record) {
        if self.enabled(r.metadata()) {
            self.0.lock().unwrap().push(r.args().to_string());
        }
    }
    fn flush(&self) {}
}

static LOG: Recorder = Recorder(Mutex::new(Vec::new()));

#[test]
fn a_missing_runtime_is_a_clear_error_and_never_a_silent_fallback() {
    let missing = std::env::temp_dir().join("newsgraph-no-such-dir/libonnxruntime.so");
    // Set before anything in this process loads the runtime.
    std::env::set_var("ORT_DYLIB_PATH", &missing);
    let (_tmp, dir) = tiny(TinyOptions::default());
    for engine in [Engine::Onnx, Engine::OnnxInt8] {
        let err = NerModel::load_with(&dir, engine).unwrap_err().to_string();
        assert!(err.contains("ONNX Runtime could not be loaded"), "{err}");
        assert!(err.contains(&missing.display().to_string()), "{err}");
        assert!(
            err.contains("ORT_DYLIB_PATH") && err.contains("fetch-onnxruntime"),
            "{err}"
        );
    }
    assert!(!newsgraph::model::onnx_runtime_available());
    log::set_logger(&LOG).unwrap();
    log::set_max_level(log::LevelFilter::Warn);
    let ner_only = PipelineOptions::default().relation_model(None);
    let loaded = Pipeline::load(&dir, ner_only);
    let warnings = LOG.0.lock().unwrap().clone();
    if cfg!(feature = "torch") {
        assert_eq!(loaded.unwrap().engine(), Engine::RustBert);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].contains("rust-bert")
                && warnings[0].contains("ONNX Runtime could not be loaded"),
            "{warnings:?}"
        );
        // The relation model has no rust-bert engine: an error that says what to do, not a
        // pipeline that silently drops the learned relations.
        let err = Pipeline::load(&dir, PipelineOptions::default())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("relation model")
                && err.contains("ONNX Runtime could not be loaded")
                && err.contains("--no-relation-model"),
            "{err}"
        );
    } else {
        let err = loaded.unwrap_err().to_string();
        assert!(
            err.contains("engine auto") && err.contains("ONNX Runtime could not be loaded"),
            "{err}"
        );
        assert!(warnings.is_empty(), "{warnings:?}");
    }
}
