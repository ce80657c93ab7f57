//! Loading ONNX Runtime: a missing library is a clear error for the onnx engines and makes
//! `Engine::Auto` fall back to libtorch. (Its own test binary: the runtime loads once per
//! process.)
mod common;

use common::{tiny, TinyOptions};
use newsgraph::{Engine, NerModel};

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
    let model = NerModel::load_with(&dir, Engine::Auto).unwrap();
    assert!(
        matches!(model.engine(), Engine::Fused | Engine::FusedBf16),
        "{:?}",
        model.engine()
    );
}
