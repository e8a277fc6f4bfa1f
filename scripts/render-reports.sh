#!/usr/bin/env bash
# Render report pages with headless Chromium to PNG, and fail on a render
# error (issue 11: a real browser must draw every report).
#
#   scripts/render-reports.sh OUT_DIR PAGE.html [PAGE.html ...]
#
# Writes OUT_DIR/<name>.png for each page, where <name> is the page's
# directory name (results/baseline/report.html -> OUT_DIR/baseline.png).
# Fails if Chromium exits non-zero, logs a load or render error, or writes
# no (or an empty) PNG. The pages are loaded as file:// URLs with networking
# off, so a page that needs the network would render incomplete.
set -euo pipefail

if [ $# -lt 2 ]; then
  echo "usage: $0 OUT_DIR PAGE.html [PAGE.html ...]" >&2
  exit 2
fi
out=$1
shift
mkdir -p "$out"

browser=""
for candidate in chromium chromium-browser google-chrome; do
  if command -v "$candidate" >/dev/null 2>&1; then
    browser=$candidate
    break
  fi
done
if [ -z "$browser" ]; then
  echo "render-reports: no chromium found (Debian: apt-get install -y chromium)" >&2
  exit 1
fi

status=0
for page in "$@"; do
  if [ ! -f "$page" ]; then
    echo "render-reports: $page: no such file" >&2
    status=1
    continue
  fi
  name=$(basename "$(cd "$(dirname "$page")" && pwd)")
  png="$out/$name.png"
  profile=$(mktemp -d)
  log=$(mktemp)
  rm -f "$png"
  if ! timeout 120 "$browser" --headless --no-sandbox --disable-gpu \
      --disable-background-networking --disable-component-update --disable-sync \
      --no-first-run --hide-scrollbars --user-data-dir="$profile" \
      --screenshot="$png" --window-size=1280,4000 \
      "file://$(cd "$(dirname "$page")" && pwd)/$(basename "$page")" >"$log" 2>&1; then
    echo "render-reports: $page: chromium failed:" >&2
    cat "$log" >&2
    status=1
  elif grep -Eiq "net::ERR|Failed to load|Uncaught|ERROR:.*(render|paint|page)" "$log"; then
    echo "render-reports: $page: render error:" >&2
    grep -Ei "net::ERR|Failed to load|Uncaught|ERROR" "$log" >&2
    status=1
  elif [ ! -s "$png" ]; then
    echo "render-reports: $page: no screenshot written" >&2
    cat "$log" >&2
    status=1
  else
    echo "rendered $page -> $png"
  fi
  rm -rf "$profile" "$log"
done
exit $status
