#!/usr/bin/env bash
# Provisions the native runtimes newsgraph needs, from PyPI wheels: libtorch 2.4.0 (./libtorch)
# and ONNX Runtime (./onnxruntime). Both steps are cached and idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-libtorch.sh
bash scripts/setup-onnxruntime.sh
