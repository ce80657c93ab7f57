#!/usr/bin/env bash
# newsgraph as a dependency: a scratch crate in a temp dir that depends on this checkout by
# path is built with plain `cargo build` and run with no environment but HOME and PATH (no
# LIBTORCH, LD_LIBRARY_PATH or ORT_DYLIB_PATH); it must get entities from the int8 ONNX engine.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/newsgraph-dependent.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/src"
cp "$root/scripts/dependent/main.rs" "$tmp/src/main.rs"
cat >"$tmp/Cargo.toml" <<TOML
[package]
name = "scratch"
version = "0.1.0"
edition = "2021"

[dependencies]
newsgraph = { path = "$root" }
TOML
cd "$tmp"
env -i HOME="$HOME" PATH="$PATH" cargo build --quiet
env -i HOME="$HOME" PATH="$PATH" ./target/debug/scratch
echo "dependent crate: ok"
