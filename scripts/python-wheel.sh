#!/usr/bin/env bash
# Builds the Python wheel (python/, PyO3 + maturin) into target/wheels/. The wheel carries what it
# needs to run offline: the two shipped models and the ONNX Runtime library newsgraph's build
# fetched (staged into python/newsgraph/_bundle, which git ignores). maturin and the build venv
# come from PyPI (target/pyvenv-build; pip's cache keeps later runs offline).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
source scripts/wheels.sh
need
venv="$root/target/pyvenv-build"
if [ ! -x "$venv/bin/maturin" ]; then
  "$python" -m venv "$venv"
  "$venv/bin/pip" install --quiet "maturin>=1.5,<2"
fi
export CARGO_TARGET_DIR="$root/target/python"
# Build once so that newsgraph's build script provisions ONNX Runtime into the cache.
(cd python && cargo build --release --quiet)
ort="$cache/onnxruntime-1.31.1/libonnxruntime.so.1.31.1"
if [ ! -f "$ort" ]; then
  echo "error: $ort is missing: newsgraph's build could not fetch ONNX Runtime (see README.md, ONNX Runtime)" >&2
  exit 1
fi
bundle="$root/python/newsgraph/_bundle"
rm -rf "$bundle"
mkdir -p "$bundle/models"
cp "$ort" "$bundle/"
for m in newsgraph-ner-minilm newsgraph-rel-minilm; do
  mkdir -p "$bundle/models/$m"
  for f in config.json tokenizer.json tokenizer_config.json model.safetensors MODEL_CARD.md; do
    if [ -f "models/$m/$f" ]; then cp "models/$m/$f" "$bundle/models/$m/"; fi
  done
done
(cd python && "$venv/bin/maturin" build --release --quiet -o "$root/target/wheels")
ls -1 "$root"/target/wheels/newsgraph-*.whl | tail -1
