//! Loading ONNX Runtime: a missing library is a clear error for the onnx engines and makes
//! `Engine::Auto` fall back to libtorch. (Its own test binary: the runtime loads once per
//! process.)
mod common;

use common::{tiny, TinyOptions};
use newsgraph::{Engine, NerModel, Pipeline, PipelineOptions};
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
fn a_missing_runtime_is_a_clear_error_and_auto_falls_back() {
    let missing = std::env::temp_dir().join("newsgraph-no-such-dir/libonnxruntime.so");
    // Set before anything in this process loads the runtime.
    std::env::set_var("ORT_DYLIB_PATH", &missing);
    let (_tmp, dir) = tiny(TinyOptions::default());
    for engine in [Engine::Onnx, Engine::OnnxInt8] {
        let err = NerModel::load_with(&dir, engine).unwrap_err().to_string();
        assert!(err.contains("ONNX Runtime could not be loaded"), "{err}");
        assert!(err.contains(&missing.display().to_string()), "{err}");
        assert!(err.contains("setup-onnxruntime.sh"), "{err}");
    }
    assert!(!newsgraph::onnx_runtime_available());
    log::set_logger(&LOG).unwrap();
    log::set_max_level(log::LevelFilter::Warn);
    let pipeline = Pipeline::load(&dir, PipelineOptions::default()).unwrap();
    let engine = pipeline.engine();
    assert!(
        matches!(engine, Engine::Fused | Engine::FusedBf16),
        "{engine:?}"
    );
    let warnings = LOG.0.lock().unwrap().clone();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains(engine.as_str())
            && warnings[0].contains("ONNX Runtime could not be loaded")
            && warnings[0].contains("setup-onnxruntime.sh"),
        "{warnings:?}"
    );
    let model = NerModel::load_with(&dir, Engine::Auto).unwrap();
    assert_eq!(model.engine(), engine);
}
