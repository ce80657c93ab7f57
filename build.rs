//! Build steps, so that a crate depending on newsgraph needs no settings:
//!
//! - **ONNX Runtime** (feature `fetch-onnxruntime`, on by default): the pinned `onnxruntime`
//!   wheel is fetched from PyPI (the registry that is reachable where crates.io is), its sha256
//!   checked, and the C library inside it extracted into a cache
//!   (`$NEWSGRAPH_CACHE`, else `$XDG_CACHE_HOME/newsgraph`, else `~/.cache/newsgraph`). Its path
//!   is compiled in as `NEWSGRAPH_ORT_DYLIB`, the place the runtime is loaded from when
//!   `ORT_DYLIB_PATH` is not set at run time. A wheel already in the cache's `wheels/` folder
//!   (where `scripts/setup-libtorch.sh` keeps wheels) is used without the network. When the
//!   fetch fails (offline, another platform), the build still succeeds with a warning, and the
//!   `onnx` engines say at run time what to do.
//! - **libtorch** (feature `torch`): an rpath to `$LIBTORCH/lib` in this crate's own binaries,
//!   examples and tests, so that they run without `LD_LIBRARY_PATH`.
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var_os("CARGO_FEATURE_TORCH").is_some() {
        libtorch_rpath();
    }
    #[cfg(feature = "fetch-onnxruntime")]
    onnxruntime::provide();
}

fn libtorch_rpath() {
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    if let Some(dir) = std::env::var_os("LIBTORCH") {
        let lib = PathBuf::from(dir).join("lib");
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib.display());
        if !lib.is_dir() {
            println!(
                "cargo:warning=LIBTORCH lib folder {} does not exist: run scripts/setup-libtorch.sh",
                lib.display()
            );
        }
    }
}

/// The cache folder shared with the setup scripts.
#[allow(dead_code)]
fn cache_dir() -> Option<PathBuf> {
    for (var, sub) in [
        ("NEWSGRAPH_CACHE", ""),
        ("XDG_CACHE_HOME", "newsgraph"),
        ("HOME", ".cache/newsgraph"),
    ] {
        println!("cargo:rerun-if-env-changed={var}");
        if let Some(v) = std::env::var_os(var).filter(|v| !v.is_empty()) {
            let p = PathBuf::from(v);
            return Some(if sub.is_empty() { p } else { p.join(sub) });
        }
    }
    None
}

#[cfg(feature = "fetch-onnxruntime")]
mod onnxruntime {
    use super::*;
    use sha2::{Digest, Sha256};
    use std::io::Read;
    use std::path::Path;

    const VERSION: &str = "1.31.1";
    const WHEEL: &str = "onnxruntime-1.31.1-cp311-cp311-manylinux_2_28_x86_64.whl";
    const URL: &str = "https://files.pythonhosted.org/packages/b4/1d/0f85ee31a3d93f2243a5cc29252becf858f53ac5cfa6c9c15d9ffe107eea/onnxruntime-1.31.1-cp311-cp311-manylinux_2_28_x86_64.whl";
    const SHA256: &str = "5752bd508126ae7c49894d3b9d2e83f0c3d487319246d04c444b393308d7ad7f";
    const MEMBER: &str = "onnxruntime/capi/libonnxruntime.so.1.31.1";

    pub fn provide() {
        println!("cargo:rerun-if-env-changed=ORT_DYLIB_PATH");
        let target = std::env::var("TARGET").unwrap_or_default();
        if target != "x86_64-unknown-linux-gnu" {
            println!(
                "cargo:warning=newsgraph fetches ONNX Runtime for x86_64 Linux only, not {target}: \
                 set ORT_DYLIB_PATH at run time to a libonnxruntime >= 1.22"
            );
            return;
        }
        let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default());
        let cache = cache_dir().unwrap_or_else(|| out.clone());
        match library(&cache) {
            Ok(lib) => println!("cargo:rustc-env=NEWSGRAPH_ORT_DYLIB={}", lib.display()),
            Err(e) => println!(
                "cargo:warning=ONNX Runtime {VERSION} was not fetched ({e}); the onnx engines \
                 will need ORT_DYLIB_PATH at run time"
            ),
        }
    }

    /// The extracted library in `cache`, fetched and extracted first if it is not there.
    fn library(cache: &Path) -> Result<PathBuf, String> {
        let dir = cache.join(format!("onnxruntime-{VERSION}"));
        let lib = dir.join(format!("libonnxruntime.so.{VERSION}"));
        let stamp = dir.join(".complete");
        if lib.is_file() && std::fs::read_to_string(&stamp).is_ok_and(|s| s.trim() == SHA256) {
            return Ok(lib);
        }
        let wheels = cache.join("wheels");
        let wheel = wheels.join(WHEEL);
        let bytes = match std::fs::read(&wheel) {
            Ok(b) if sha256(&b) == SHA256 => b,
            _ => {
                let b = download()?;
                std::fs::create_dir_all(&wheels)
                    .map_err(|e| format!("{}: {e}", wheels.display()))?;
                write_atomic(&wheel, &b)?;
                b
            }
        };
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes))
            .map_err(|e| format!("{WHEEL} is not a zip: {e}"))?;
        let mut member = zip
            .by_name(MEMBER)
            .map_err(|e| format!("{WHEEL} has no {MEMBER}: {e}"))?;
        let mut so = Vec::new();
        member
            .read_to_end(&mut so)
            .map_err(|e| format!("reading {MEMBER}: {e}"))?;
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        write_atomic(&lib, &so)?;
        write_atomic(&stamp, SHA256.as_bytes())?;
        Ok(lib)
    }

    fn download() -> Result<Vec<u8>, String> {
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(std::time::Duration::from_secs(30))
            .timeout(std::time::Duration::from_secs(600))
            .build();
        let response = agent
            .get(URL)
            .call()
            .map_err(|e| format!("downloading {URL}: {e}"))?;
        let mut bytes = Vec::new();
        response
            .into_reader()
            .take(200 << 20)
            .read_to_end(&mut bytes)
            .map_err(|e| format!("downloading {URL}: {e}"))?;
        let got = sha256(&bytes);
        if got != SHA256 {
            return Err(format!("{URL}: sha256 {got}, expected {SHA256}; not used"));
        }
        Ok(bytes)
    }

    fn sha256(bytes: &[u8]) -> String {
        Sha256::digest(bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Writes through a temporary file and a rename, so that concurrent builds never see half a
    /// file.
    fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), String> {
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&tmp, bytes).map_err(|e| format!("{}: {e}", tmp.display()))?;
        std::fs::rename(&tmp, path).map_err(|e| format!("{}: {e}", path.display()))
    }
}
