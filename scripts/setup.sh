#!/usr/bin/env bash
# Provisions libtorch 2.4.0 (./libtorch) from PyPI wheels for the `torch` feature (the rust-bert
# engine and training). Cached and idempotent. The default build needs nothing from here: its
# ONNX Runtime library is fetched by build.rs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-libtorch.sh
