#!/usr/bin/env bash
# Real-browser check of the HTML report (issue 19): renders the committed sample's page with
# headless Chromium, checks the DOM Chromium built (every pid, every finding rule, one SVG
# memory map per process with its regions, no external resource in the DOM or on the network)
# and the fleet index, and saves a PNG screenshot under target/html-check/.
#
# Installs Debian's chromium when it is missing (needs root and the Debian mirrors).
# Usage: bash tests/html/check.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v chromium >/dev/null 2>&1; then
    echo "== installing chromium (Debian package)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

target="${CARGO_TARGET_DIR:-target}"
out="$target/html-check"
rm -rf "$out"
mkdir -p "$out/in"
cargo build -q -p memtriage-cli
bin="$target/debug/memtriage"
sample=fixtures/samples/win10-19041.dmp

"$bin" report "$sample" -q --format html >"$out/sample.html"
"$bin" report "$sample" -q --format json >"$out/sample.json"
# A fleet of two captures (copies of the sample under two names).
cp "$sample" "$out/in/host-a.dmp"
cp "$sample" "$out/in/host-b.dmp"
"$bin" report "$out/in/host-a.dmp" "$out/in/host-b.dmp" -q --format html --output-dir "$out/fleet"

chrome() {
    # A fresh profile per run, nothing that talks to the network on its own.
    local profile
    profile="$(mktemp -d)"
    timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --disable-default-apps --mute-audio --hide-scrollbars \
        --user-data-dir="$profile" "$@" 2>>"$out/chromium.log"
    rm -rf "$profile"
}

page="file://$PWD/$out/sample.html"
chrome --log-net-log="$PWD/$out/netlog.json" --dump-dom "$page" >"$out/sample.dom.html"
chrome --window-size=1400,2200 --screenshot="$PWD/$out/sample.png" "$page" >/dev/null
chrome --dump-dom "file://$PWD/$out/fleet/index.html" >"$out/index.dom.html"

# Negative control: a page that does load an external image must show up in the network log.
printf '<!DOCTYPE html><title>x</title><img src="http://127.0.0.1:9/probe.png">' >"$out/control.html"
chrome --log-net-log="$PWD/$out/control-netlog.json" --dump-dom "file://$PWD/$out/control.html" >/dev/null
python3 tests/html/check_dom.py --netlog "$out/control-netlog.json" \
    --expect-request http://127.0.0.1:9/probe.png

python3 tests/html/check_dom.py \
    --dom "$out/sample.dom.html" --report "$out/sample.json" --netlog "$out/netlog.json" \
    --index "$out/index.dom.html" --index-pages host-a.dmp.report.html,host-b.dmp.report.html \
    --screenshot "$out/sample.png"
echo "html check: ok (screenshot $out/sample.png)"
