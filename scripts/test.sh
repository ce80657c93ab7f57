#!/usr/bin/env bash
# The project's test command (README.md). Three builds are checked:
# - the core without default features (no build-time fetch; ONNX Runtime from ORT_DYLIB_PATH),
# - the default features (what `cargo add newsgraph` gives), also as a scratch crate that
#   depends on this checkout and runs with no environment but HOME and PATH,
# - all features (rust-bert + libtorch, the reference engine and training; hub);
# and the Python package built as a wheel and tested with pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo fmt --check
cargo clippy --no-default-features --lib -- -D warnings
cargo clippy --all-targets -- -D warnings
cargo clippy --all-targets --all-features -- -D warnings
# The public API's documentation: no broken or private links.
cargo rustdoc --lib --all-features -- -D warnings
cargo test --all-features
# The core: every test that needs no libtorch, with the runtime the default build fetched.
cache="${NEWSGRAPH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/newsgraph}"
ORT_DYLIB_PATH="$cache/onnxruntime-1.31.1/libonnxruntime.so.1.31.1" cargo test --no-default-features
bash scripts/test-dependent.sh
# The Python package (python/): format, clippy, then the wheel installed into a fresh venv and pytest.
(cd python && cargo fmt --check && CARGO_TARGET_DIR=../target/python cargo clippy --quiet -- -D warnings)
bash scripts/test-python.sh
