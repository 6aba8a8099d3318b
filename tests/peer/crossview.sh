#!/usr/bin/env bash
# Cross-view peer check: Volatility 3's windows.malware.psxview and memtriage's per-process
# views (report --format json) on one raw capture, compared with each other and the ground
# truth by compare_crossview.py; then a negative control (one view removed from memtriage's
# report) that the comparator must reject.
#
# usage: tests/peer/crossview.sh [BUILD] [OUTDIR]   (default 19041, target/peer/crossview-wBUILD)
# environment: SEED, MEMTRIAGE_FIXTURES, MEMTRIAGE_BIN, MEMTRIAGE_DATA, PEER_VENV as in run.sh.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
BUILD="${1:-19041}"
OUTDIR="${2:-$REPO/target/peer/crossview-w$BUILD}"
SEED="${SEED:-1}"
SHARED="${MEMTRIAGE_DATA:-$REPO/testdata}"
VENV="${PEER_VENV:-$HERE/.venv}"
NAME="w$BUILD-s$SEED"
log() { printf '[peer-crossview] %s\n' "$*" >&2; }
# shellcheck source=tests/peer/common.sh
source "$HERE/common.sh"

peer_volatility "$VENV"

mkdir -p "$OUTDIR"
OUTDIR="$(cd "$OUTDIR" && pwd)"
peer_generator
peer_memtriage
log "generating $NAME (raw)"
"${GEN[@]}" --build "$BUILD" --seed "$SEED" --out "$OUTDIR" --formats raw >&2
IMG="$OUTDIR/$NAME.raw"
TRUTH="$OUTDIR/$NAME.truth.json"

# A fresh symbol dir with a copy of the build's ISF (see run.sh step 3).
shopt -s nullglob
isfs=("$SHARED/isf/ntkrnlmp-$BUILD-"*.json.xz)
shopt -u nullglob
[[ ${#isfs[@]} -eq 1 ]] || { log "need exactly one ISF for build $BUILD in $SHARED/isf"; exit 2; }
SYMDIR="$OUTDIR/vol-symbols"
CACHE="$OUTDIR/vol-cache"
rm -rf "$SYMDIR" "$CACHE"
mkdir -p "$SYMDIR/windows" "$CACHE"
cp "${isfs[0]}" "$SYMDIR/windows/"
chmod u+w "$SYMDIR/windows/"*

log "Volatility windows.malware.psxview"
"$VOL" -q --offline --cache-path "$CACHE" -s "$SYMDIR" -r json -f "$IMG" windows.malware.psxview \
    >"$OUTDIR/vol-psxview.json" 2>"$OUTDIR/vol-psxview.stderr"
log "memtriage report"
"${MT[@]}" report "$IMG" --format json --quiet >"$OUTDIR/memtriage-report.json"

"$VENV/bin/python" "$HERE/compare_crossview.py" --truth "$TRUTH" \
    --vol "$OUTDIR/vol-psxview.json" --memtriage "$OUTDIR/memtriage-report.json"

log "negative control: memtriage's report without one csrss_handles view must be rejected"
"$VENV/bin/python" - "$OUTDIR/memtriage-report.json" "$OUTDIR/memtriage-report-tampered.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
p = next(p for p in r["processes"] if "csrss_handles" in p.get("views", []))
p["views"].remove("csrss_handles")
json.dump(r, open(sys.argv[2], "w"))
PY
if "$VENV/bin/python" "$HERE/compare_crossview.py" --truth "$TRUTH" \
    --vol "$OUTDIR/vol-psxview.json" --memtriage "$OUTDIR/memtriage-report-tampered.json" >"$OUTDIR/negative.txt"; then
    log "the comparator accepted a tampered report"
    exit 1
fi
log "negative control rejected as it must ($(grep -c MISMATCH "$OUTDIR/negative.txt") mismatches)"
