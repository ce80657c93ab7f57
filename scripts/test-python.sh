#!/usr/bin/env bash
# The Python package: builds the wheel, installs it into a fresh venv with pytest, pyarrow and
# pyspark (PyPI; Java 17 runs Spark in local mode), and runs python/tests there, outside the
# source tree.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
source scripts/wheels.sh
need
wheel=$(bash scripts/python-wheel.sh | tail -1)
venv="$root/target/pyvenv-test"
rm -rf "$venv"
"$python" -m venv "$venv"
"$venv/bin/pip" install --quiet "$wheel" "pytest>=7" "pyarrow>=14" "pandas>=2" "pyspark>=3.5"
# Run from a temp dir so that `import newsgraph` is the installed wheel, not python/newsgraph.
tmp=$(mktemp -d "${TMPDIR:-/tmp}/newsgraph-pytest.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cp -r python/tests python/examples "$tmp/"
(cd "$tmp" && env -u ORT_DYLIB_PATH "$venv/bin/python" -m pytest -q tests)
echo "python package: ok"
