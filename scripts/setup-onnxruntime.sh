#!/usr/bin/env bash
# Provision ONNX Runtime for the `onnx` engines from the PyPI wheel, into ./onnxruntime.
#
# The `onnxruntime` wheel carries the plain C library (onnxruntime/capi/libonnxruntime.so.1.x),
# which is all the `ort` crate needs: newsgraph loads it at run time (feature `load-dynamic`),
# so nothing links against it at build time. The wheel is cached like the torch wheels.
#
# Idempotent: a second run finds ./onnxruntime/.complete and does nothing.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/scripts/wheels.sh"
dest="${ORT_DEST:-$root/onnxruntime}"
ort_version=1.31.1
stamp="onnxruntime-$ort_version"

if provisioned "$dest" "$stamp"; then
  echo "onnxruntime $ort_version already provisioned in $dest"
  exit 0
fi
need unzip
fetch "onnxruntime==$ort_version"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/onnxruntime.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
unzip -q "$cache"/wheels/onnxruntime-"$ort_version"-*.whl 'onnxruntime/capi/libonnxruntime.so*' -d "$tmp/whl"
mkdir -p "$tmp/ort/lib"
cp "$tmp"/whl/onnxruntime/capi/libonnxruntime.so.* "$tmp/ort/lib/"
(cd "$tmp/ort/lib" && ln -sf libonnxruntime.so.* libonnxruntime.so)
echo "$stamp" >"$tmp/ort/.complete"
rm -rf "$dest"
mkdir -p "$(dirname "$dest")"
mv "$tmp/ort" "$dest"
echo "onnxruntime $ort_version ready in $dest ($(du -sh "$dest" | cut -f1))"
