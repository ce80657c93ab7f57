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
dest="${ORT_DEST:-$root/onnxruntime}"
cache="${NEWSGRAPH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/newsgraph}"
ort_version=1.31.1
stamp="onnxruntime-$ort_version"

if [ -f "$dest/.complete" ] && [ "$(cat "$dest/.complete")" = "$stamp" ]; then
  echo "onnxruntime $ort_version already provisioned in $dest"
  exit 0
fi

python=${PYTHON:-$(command -v python3 || command -v python || true)}
if [ -z "$python" ]; then
  echo "error: python3 with pip is needed to fetch the onnxruntime wheel from PyPI" >&2
  exit 1
fi
if ! command -v unzip >/dev/null; then
  echo "error: 'unzip' is needed (Debian: apt-get install unzip)" >&2
  exit 1
fi
case "$(uname -m)" in
  x86_64) ;;
  *) echo "error: this script provisions x86_64 Linux only; on $(uname -m) set ORT_DYLIB_PATH to a libonnxruntime >= 1.22 (README.md)" >&2; exit 1 ;;
esac

mkdir -p "$cache/wheels"
if ! ls "$cache/wheels/" | grep -q "^onnxruntime-$ort_version-"; then
  echo "downloading onnxruntime==$ort_version from PyPI (cached in $cache/wheels)" >&2
  if ! "$python" -m pip download --quiet --no-deps --only-binary=:all: \
      --python-version 3.11 --implementation cp --abi cp311 \
      --platform manylinux_2_27_x86_64 --platform manylinux_2_28_x86_64 \
      -d "$cache/wheels" "onnxruntime==$ort_version"; then
    echo "error: could not download onnxruntime==$ort_version from PyPI; is https://pypi.org reachable?" >&2
    exit 1
  fi
fi

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
