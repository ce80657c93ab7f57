#!/usr/bin/env bash
# The HTML view of the sample articles, and a screenshot of it taken by headless Chromium:
#   bash scripts/html-screenshot.sh [OUT.png=docs/html-view.png]
# Writes target/html/sample.html (`extract --html` over examples/articles) and OUT.png, the page
# opened at the first relation of the first article (its evidence lit, as a click would).
# Chromium comes from Debian (apt-get install chromium) when it is not installed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
png=${1:-docs/html-view.png}
browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
  echo "installing chromium from Debian" >&2
  if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update -qq && $sudo apt-get install -y -qq chromium >/dev/null
  browser=$(command -v chromium)
fi
mkdir -p target/html "$(dirname "$png")"
page="$root/target/html/sample.html"
cargo run --release --quiet --example extract -- --html "$page" examples/articles >/dev/null
# The first relation's evidence: the page lights it when the address names it.
ev=$(grep -o '<li data-ev="[^"]*"' "$page" | head -1 | cut -d'"' -f2)
flags=(--headless --no-sandbox --disable-gpu --hide-scrollbars --force-device-scale-factor=1
  --window-size=1440,1500 --virtual-time-budget=2000)
"$browser" "${flags[@]}" --screenshot="$root/$png" "file://$page#$ev" 2>/dev/null
# The page's script ran in the browser: the relation and its evidence are lit in the DOM.
dom=$("$browser" "${flags[@]}" --dump-dom "file://$page#$ev" 2>/dev/null)
lit=$(grep -o "<span class=\"ev on\" data-ev=\"$ev\">" <<<"$dom" | wc -l)
if [ "$lit" -lt 1 ] || ! grep -q "<li data-ev=\"$ev\"[^>]*class=\"on\"" <<<"$dom"; then
  echo "error: the browser did not light the evidence of $ev (the page's script failed?)" >&2
  exit 1
fi
echo "the browser lit relation $ev and $lit evidence span(s)" >&2
echo "$page"
echo "$png"
