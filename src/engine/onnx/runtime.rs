//! Finding and loading the ONNX Runtime library, once per process.

use super::*;

/// The ONNX Runtime environment, created once per process.
pub(super) static ENVIRONMENT: OnceLock<
    std::result::Result<ort::environment::Environment, String>,
> = OnceLock::new();

/// Where the runtime library is looked for, in order.
pub(super) fn library_candidates() -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Some(p) = std::env::var_os("ORT_DYLIB_PATH").filter(|p| !p.is_empty()) {
        out.push(PathBuf::from(p));
        return out;
    }
    if let Some(p) = option_env!("NEWSGRAPH_ORT_DYLIB") {
        out.push(PathBuf::from(p));
    }
    // A binary shipped with the library beside it.
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|e| Some(e.parent()?.to_path_buf()))
    {
        let lib = dir.join(format!(
            "{}onnxruntime{}",
            std::env::consts::DLL_PREFIX,
            std::env::consts::DLL_SUFFIX
        ));
        if lib.is_file() {
            out.push(lib);
        }
    }
    out.push(PathBuf::from(format!(
        "{}onnxruntime{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    )));
    out
}

pub(super) fn environment() -> Result<&'static ort::environment::Environment> {
    let env = ENVIRONMENT.get_or_init(|| {
        let mut errors = Vec::new();
        for path in library_candidates() {
            // A bare file name is resolved by the dynamic loader; a path must exist.
            if path.components().count() > 1 && !path.exists() {
                errors.push(format!("{}: no such file", path.display()));
                continue;
            }
            match ort::init_from(&path) {
                Ok(builder) => {
                    return builder
                        .with_name("newsgraph")
                        .build()
                        .map_err(|e| format!("{}: {e}", path.display()));
                }
                Err(e) => errors.push(format!("{}: {e}", path.display())),
            }
        }
        Err(format!(
            "ONNX Runtime could not be loaded ({}); newsgraph's build step fetches it into its \
             cache when the default feature `fetch-onnxruntime` is on and PyPI is reachable at \
             build time (x86_64 Linux); else set ORT_DYLIB_PATH to a libonnxruntime >= 1.22, or \
             put one beside the binary or on the system's library path",
            errors.join("; ")
        ))
    });
    env.as_ref().map_err(|e| Error::Model(e.clone()))
}

/// Whether the ONNX Runtime library can be loaded (it is loaded on the first call), that is
/// whether the `onnx` engines can run and `Engine::Auto` picks `onnx-int8` for BERT models.
///
/// ```
/// use newsgraph::Engine;
/// use newsgraph::model::NerModel;
/// # fn main() -> newsgraph::Result<()> {
/// let model = NerModel::load(&newsgraph::default_model_dir())?; // Engine::Auto
/// if newsgraph::model::onnx_runtime_available() {
///     assert_eq!(model.engine(), Engine::OnnxInt8);
/// }
/// # Ok(()) }
/// ```
pub fn runtime_available() -> bool {
    environment().is_ok()
}

/// Whether the ONNX Runtime library loads, and if not why (every path tried and the fix).
pub(crate) fn runtime_check() -> Result<()> {
    environment().map(|_| ())
}
