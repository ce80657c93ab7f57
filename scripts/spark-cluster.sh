#!/usr/bin/env bash
# newsgraph on a real Spark standalone cluster on this machine:
#   bash scripts/spark-cluster.sh CORPUS_DIR OUT_DIR [ARTICLES=300] [WORKERS=1]
# Builds the wheel, makes a venv with pyspark (PyPI) and the wheel, starts a standalone master
# and WORKERS workers on 127.0.0.1 (the machine's cores shared among them), submits
# python/examples/spark_extract.py over the first ARTICLES .txt files of CORPUS_DIR (path order,
# as bench_corpus takes them), checks the entities against `extract`'s JSON lines for the same
# files (with the onnx-int8-rows engine, see below), stops the cluster and prints a JSON line: articles/s of
# the Spark job and of `extract` alone on the same cores (default engine). Exits non-zero when
# anything differs.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
corpus=$(cd "$1" && pwd)
out=$(mkdir -p "$2" && cd "$2" && pwd)
articles=${3:-300}
workers=${4:-1}
cd "$root"
source scripts/wheels.sh
need java
cores=$(nproc)
wheel=$(bash scripts/python-wheel.sh | tail -1)
venv="$root/target/pyvenv-spark"
if [ ! -x "$venv/bin/spark-submit" ]; then
  "$python" -m venv "$venv"
  "$venv/bin/pip" install --quiet "pyspark>=3.5" pyarrow pandas
fi
"$venv/bin/pip" install --quiet --force-reinstall --no-deps "$wheel"
cargo build --release --quiet --example extract

# The articles: the first ARTICLES files, named category-stem so ids are unique.
work=$(mktemp -d "${TMPDIR:-/tmp}/newsgraph-spark.XXXXXX")
input="$work/articles"
mkdir -p "$input"
find "$corpus" -name '*.txt' | sort >"$work/all.txt"
head -n "$articles" "$work/all.txt" | while read -r f; do
  rel=${f#"$corpus"/}
  cp "$f" "$input/${rel//\//-}"
done
echo "$(ls "$input" | wc -l) articles from $corpus" >&2

export PYSPARK_PYTHON="$venv/bin/python" SPARK_LOCAL_IP=127.0.0.1
export SPARK_LOG_DIR="$work/logs" SPARK_WORKER_DIR="$work/worker"
class="$venv/bin/spark-class"
pids=()
stop() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap stop EXIT
"$class" org.apache.spark.deploy.master.Master --host 127.0.0.1 --port 7077 --webui-port 18080 \
  >"$work/master.log" 2>&1 &
pids+=($!)
for i in $(seq 1 "$workers"); do
  "$class" org.apache.spark.deploy.worker.Worker spark://127.0.0.1:7077 --host 127.0.0.1 \
    --cores $((cores / workers)) --memory 6g --webui-port $((18080 + i)) >"$work/worker$i.log" 2>&1 &
  pids+=($!)
done
for _ in $(seq 1 60); do
  grep -q "Successfully registered with master" "$work"/worker*.log 2>/dev/null && break
  sleep 1
done
grep -q "Successfully registered with master" "$work"/worker*.log || {
  echo "error: the Spark worker did not register with the master; logs in $work" >&2
  cat "$work"/*.log >&2
  exit 1
}
# submit ENGINE OUT: the job over the articles; its JSON summary line.
submit() {
  "$venv/bin/spark-submit" --master spark://127.0.0.1:7077 \
    --conf spark.executor.cores=$((cores / workers)) --conf spark.cores.max="$cores" \
    --conf spark.ui.showConsoleProgress=false \
    --conf spark.driver.extraJavaOptions=-XX:TieredStopAtLevel=1 \
    --conf spark.executor.extraJavaOptions=-XX:TieredStopAtLevel=1 \
    python/examples/spark_extract.py "$input" "$2" --engine "$1" \
    2>>"$work/job.log" | tail -1
}
# extract_run ENGINE OUT: extract alone, same articles, same cores; prints its seconds.
extract_run() {
  local start end
  start=$(date +%s.%N)
  ./target/release/examples/extract --engine "$1" "$input" >"$2" 2>>"$work/extract.log"
  end=$(date +%s.%N)
  "$python" -c "print($end - $start)"
}
# Speed with the default engine. onnx-int8 quantizes activations per batch, and Spark's
# batches are not extract's, so a borderline entity can differ between the two: identity is
# checked with onnx-int8-rows (int8 with activations per token), whose results do not depend on
# the batch.
job=$(submit auto "$out")
extract_s=$(extract_run auto "$work/extract.jsonl")
job_rows=$(submit onnx-int8-rows "$work/rows")
extract_run onnx-int8-rows "$work/extract-rows.jsonl" >/dev/null
"$venv/bin/python" - "$work" "$out" "$job" "$job_rows" "$extract_s" "$workers" <<'PY'
import json, os, sys
import pyarrow.parquet as pq
work, out, job, job_rows, extract_s, workers = sys.argv[1:]
job, job_rows = json.loads(job), json.loads(job_rows)

def spark(path):
    got = {}
    for r in pq.read_table(os.path.join(path, "entities")).to_pylist():
        got.setdefault(r["id"], []).append((r["index"], r["text"], r["label"], r["start"], r["end"]))
    return {k: sorted(v) for k, v in got.items()}

def extract(path):
    got = {}
    for line in open(path):
        d = json.loads(line)
        got[d["id"]] = [(i, e["text"], e["label"], e["start"], e["end"]) for i, e in enumerate(d["entities"])]
    return got

def differing(a, b):
    return [i for i in sorted(set(a) | set(b)) if a.get(i, []) != b.get(i, [])]

rows = differing(spark(os.path.join(work, "rows")), extract(os.path.join(work, "extract-rows.jsonl")))
default = extract(os.path.join(work, "extract.jsonl"))
n = len(default)
extract_rate = n / float(extract_s)
result = {
    "articles": n,
    "entities": sum(len(v) for v in default.values()),
    "identical": not rows and job_rows["articles"] == n and job["articles"] == n,
    "differing_articles_int8_rows": rows[:10],
    "differing_articles_int8": len(differing(spark(out), default)),
    "workers": int(workers),
    "spark_articles_per_s": job["articles_per_s"],
    "extract_articles_per_s": round(extract_rate, 2),
    "ratio": round(job["articles_per_s"] / extract_rate, 3),
    "job": job,
}
print(json.dumps(result))
sys.exit(0 if result["identical"] else 1)
PY
