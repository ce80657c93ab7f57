#!/usr/bin/env bash
# Provision a CPU libtorch 2.4.0 for tch 0.17 from the PyPI wheels, into ./libtorch.
#
# pytorch.org is not reachable on our machines, but PyPI is: the `torch==2.4.0` wheel
# carries libtorch_cpu.so, libc10.so, libgomp and the C++ headers. Its libtorch_cpu.so also
# links libcudart.so.12 and libcupti.so.12, which come from two small NVIDIA wheels. We copy
# all of it into one folder and replace libtorch.so (which would pull libtorch_cuda.so and
# gigabytes of CUDA libraries) with an empty shared library so that `-ltorch` resolves.
#
# Idempotent: a second run finds ./libtorch/.complete and does nothing. Wheels are cached
# (scripts/wheels.sh).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/scripts/wheels.sh"
dest="${LIBTORCH_DEST:-$root/libtorch}"
torch_version=2.4.0
cuda_rt_version=12.1.105
stamp="torch-$torch_version"

if provisioned "$dest" "$stamp"; then
  echo "libtorch $torch_version already provisioned in $dest"
  exit 0
fi
need unzip gcc

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
