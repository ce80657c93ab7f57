#!/usr/bin/env bash
# newsgraph vs Hugging Face's Python pipeline: same model folder, same articles, same machine,
# run in turns; prints both JSON lines and the ratio from this run.
#
#   bash benches/compare.sh [MODEL_DIR] [CORPUS_DIR] [LIMIT] [THREADS]
#
# The Python side (torch 2.4.0 CPU, transformers) is installed from PyPI into target/hf-venv;
# the torch wheel is taken from scripts/setup-libtorch.sh's cache when it is there.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
model=${1:-models/newsgraph-ner-minilm}
corpus=${2:-../shared/corpus/bbc}
limit=${3:-300}
threads=${4:-2}
engines=${ENGINES:-onnx,onnx-int8}
venv=target/hf-venv
cache="${NEWSGRAPH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/newsgraph}/wheels"

if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  # The PyPI torch 2.4.0 wheel is the CUDA build: `import torch` needs its NVIDIA runtime
  # wheels even on a CPU (about 2.5 GB). It runs on the CPU all the same.
  "$venv/bin/pip" install -q --find-links "$cache" torch==2.4.0 "transformers==4.46.3" "numpy<2"
fi
features=()
case ",$engines," in
  *,rust-bert,*) bash scripts/setup.sh >/dev/null; features=(--features torch) ;;
esac
cargo build -q --release "${features[@]}" --example bench_corpus

echo "# newsgraph ($engines), $limit articles, $threads threads" >&2
# newsgraph's defaults: one worker whose forward passes use all $threads cores.
ours=$(./target/release/examples/bench_corpus "$corpus" --model "$model" --limit "$limit" \
  --threads 1 --engine-threads "$threads" --batch 16 --engine "$engines")
echo "# Hugging Face pipeline" >&2
ref=$("$venv/bin/python" benches/reference/hf_pipeline.py "$model" "$corpus" --limit "$limit" \
  --threads "$threads" 2>/dev/null | tail -1)
echo "$ref"
echo "$ours"
python3 - "$ref" "$ours" <<'PY'
import json, sys
ref, ours = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"{'system':<22} {'articles/s':>10} {'words/s':>9} {'vs HF':>6} {'peak RSS MB':>11}")
print(f"{'hf-pipeline fp32':<22} {ref['articles_per_s']:>10} {ref['words_per_s']:>9} {1.0:>6.2f} {ref['peak_rss_mb']:>11}")
for r in ours["runs"]:
    name = f"newsgraph {r['engine']}"
    print(f"{name:<22} {r['articles_per_s']:>10} {r['words_per_s']:>9} {r['articles_per_s']/ref['articles_per_s']:>6.2f} {r['peak_rss_mb']:>11}")
PY
