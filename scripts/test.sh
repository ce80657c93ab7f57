#!/usr/bin/env bash
# The project's test command (README.md): provisions libtorch and ONNX Runtime, then formatting,
# lints, tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo fmt --check
cargo clippy --all-targets -- -D warnings
cargo clippy --features hub --lib -- -D warnings
cargo test
cargo test --features hub --lib hub::
