#!/usr/bin/env bash
# Fuzzes one target of newsgraph's text path for a while, seeded with the sample articles.
#
#   bash fuzz/run.sh TARGET [SECONDS] [JOBS]     TARGET: input clean segment decode rules document
#
# Needs nightly Rust and cargo-fuzz (`cargo install cargo-fuzz`); newsgraph's default features
# (no libtorch). Built without a sanitizer: the code is safe
# Rust, and what the fuzzer looks for is panics (index, slice, overflow) and broken invariants
# (src/invariants.rs). The corpus grows in fuzz/corpus/TARGET, crashes land in
# fuzz/artifacts/TARGET; a crash found becomes a regression test in the module it concerns.
set -euo pipefail
cd "$(dirname "$0")"
target=${1:?usage: bash fuzz/run.sh TARGET [SECONDS] [JOBS]}
secs=${2:-1800}
jobs=${3:-1}
corpus=corpus/$target
mkdir -p "$corpus"
if [ -z "$(ls -A "$corpus")" ]; then
  i=0
  for f in ../examples/articles/*.txt; do
    i=$((i + 1))
    case $target in
      input) python3 -c 'import json,sys; print(json.dumps({"id":"a","text":open(sys.argv[1]).read()}))' "$f" >"$corpus/seed$i" ;;
      segment) { printf '\x7e\x07'; cat "$f"; } >"$corpus/seed$i" ;;
      rules) { head -c 61 /dev/urandom; cat "$f"; } >"$corpus/seed$i" ;;
      document) { head -c 65 /dev/urandom; cat "$f"; } >"$corpus/seed$i" ;;
      *) cp "$f" "$corpus/seed$i" ;;
    esac
  done
fi
fork=()
[ "$jobs" -gt 1 ] && fork=(-fork="$jobs" -ignore_crashes=1)
exec cargo +nightly fuzz run --sanitizer none "$target" "$corpus" -- \
  -max_total_time="$secs" -max_len=8192 -timeout=10 -rss_limit_mb=4096 \
  -print_final_stats=1 "${fork[@]}"
