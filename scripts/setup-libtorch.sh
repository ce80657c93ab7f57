#!/usr/bin/env bash
# Provision a CPU libtorch 2.4.0 for tch 0.17 from the PyPI wheels, into ./libtorch.
#
# pytorch.org is not reachable on our machines, but PyPI is: the `torch==2.4.0` wheel
# carries libtorch_cpu.so, libc10.so, libgomp and the C++ headers. Its libtorch_cpu.so also
# links libcudart.so.12 and libcupti.so.12, which come from two small NVIDIA wheels. We copy
# all of it into one folder and replace libtorch.so (which would pull libtorch_cuda.so and
# gigabytes of CUDA libraries) with an empty shared library so that `-ltorch` resolves.
#
# Idempotent: a second run finds ./libtorch/.complete and does nothing. Downloads are cached
# in ${NEWSGRAPH_CACHE:-$HOME/.cache/newsgraph} so that fresh clones on the same machine
# do not download again.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
dest="${LIBTORCH_DEST:-$root/libtorch}"
cache="${NEWSGRAPH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/newsgraph}"
torch_version=2.4.0
cuda_rt_version=12.1.105
stamp="torch-$torch_version"

if [ -f "$dest/.complete" ] && [ "$(cat "$dest/.complete")" = "$stamp" ]; then
  echo "libtorch $torch_version already provisioned in $dest"
  exit 0
fi

python=${PYTHON:-$(command -v python3 || command -v python || true)}
if [ -z "$python" ]; then
  echo "error: python3 with pip is needed to fetch the torch wheel from PyPI" >&2
  exit 1
fi
for tool in unzip gcc; do
  if ! command -v "$tool" >/dev/null; then
    echo "error: '$tool' is needed (Debian: apt-get install $tool)" >&2
    exit 1
  fi
done

mkdir -p "$cache/wheels"
fetch() { # name==version
  if ls "$cache/wheels/" 2>/dev/null | grep -qi "^$(echo "${1%%==*}" | tr - _)-${1##*==}-"; then
    return 0
  fi
  echo "downloading $1 from PyPI (cached in $cache/wheels)" >&2
  if ! "$python" -m pip download --quiet --no-deps --only-binary=:all: \
      --python-version 3.11 --implementation cp --abi cp311 \
      --platform manylinux1_x86_64 --platform manylinux2014_x86_64 \
      --platform manylinux_2_17_x86_64 --platform manylinux_2_28_x86_64 \
      -d "$cache/wheels" "$1"; then
    echo "error: could not download $1 from PyPI; is https://pypi.org reachable (proxy, PIP_INDEX_URL)?" >&2
    echo "       alternatives: see README.md, section 'libtorch'" >&2
    exit 1
  fi
}

case "$(uname -m)" in
  x86_64) ;;
  *) echo "error: this script provisions x86_64 Linux only; on $(uname -m) set LIBTORCH to a libtorch 2.4.0 (README.md)" >&2; exit 1 ;;
esac

fetch "torch==$torch_version"
fetch "nvidia-cuda-runtime-cu12==$cuda_rt_version"
fetch "nvidia-cuda-cupti-cu12==$cuda_rt_version"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/libtorch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo "unpacking into $dest" >&2
unzip -q "$cache"/wheels/torch-"$torch_version"-*.whl 'torch/lib/*' 'torch/include/*' -d "$tmp/torch"
unzip -q "$cache"/wheels/nvidia_cuda_runtime_cu12-*.whl 'nvidia/cuda_runtime/lib/*' -d "$tmp/nv"
unzip -q "$cache"/wheels/nvidia_cuda_cupti_cu12-*.whl 'nvidia/cuda_cupti/lib/*' -d "$tmp/nv"

staging="$tmp/libtorch"
mkdir -p "$staging/lib"
mv "$tmp/torch/torch/include" "$staging/include"
for f in libtorch_cpu.so libc10.so libshm.so libtorch_global_deps.so; do
  [ -f "$tmp/torch/torch/lib/$f" ] && cp "$tmp/torch/torch/lib/$f" "$staging/lib/"
done
cp "$tmp"/torch/torch/lib/libgomp*.so* "$staging/lib/"
cp "$tmp"/nv/nvidia/cuda_runtime/lib/libcudart.so.12 "$staging/lib/"
cp "$tmp"/nv/nvidia/cuda_cupti/lib/libcupti.so.12 "$staging/lib/"
# Empty stand-in for libtorch.so: the CPU symbols all live in libtorch_cpu.so.
gcc -shared -o "$staging/lib/libtorch.so" -x c /dev/null
echo "$stamp" >"$staging/.complete"

rm -rf "$dest"
mkdir -p "$(dirname "$dest")"
mv "$staging" "$dest"
echo "libtorch $torch_version ready in $dest ($(du -sh "$dest" | cut -f1))"
