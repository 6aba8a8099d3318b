#!/usr/bin/env bash
# Peer check of unbacked_thread: Volatility 3's windows.malware.suspicious_threads rows "not
# backed by a file" and memtriage's unbacked_thread findings give the same (pid, address) set on
# the fixture capture, equal to the planted threads; on a clean capture (--no-anomalies) both
# are silent. See compare_threads.py (it also shows the comparison fails when a pair is dropped).
#
# usage: tests/peer/threads.sh [BUILD] [OUTDIR]   (default 19041, target/peer/threads-wBUILD)
# environment: SEED, MEMTRIAGE_FIXTURES, MEMTRIAGE_BIN, MEMTRIAGE_DATA, PEER_VENV as in run.sh.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
BUILD="${1:-19041}"
OUTDIR="${2:-$REPO/target/peer/threads-w$BUILD}"
SEED="${SEED:-1}"
SHARED="${MEMTRIAGE_DATA:-$REPO/testdata}"
VENV="${PEER_VENV:-$HERE/.venv}"
log() { printf '[peer-threads] %s\n' "$*" >&2; }
# shellcheck source=tests/peer/common.sh
source "$HERE/common.sh"

peer_volatility "$VENV"

mkdir -p "$OUTDIR"
OUTDIR="$(cd "$OUTDIR" && pwd)"
peer_generator
peer_memtriage

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

# check LABEL [GENERATOR ARGS...]: generate, run both tools, compare.
check() {
    local label="$1"
    shift
    local dir="$OUTDIR/$label"
    mkdir -p "$dir"
    log "generating w$BUILD-s$SEED ($label)"
    "${GEN[@]}" --build "$BUILD" --seed "$SEED" --out "$dir" --formats raw "$@" >&2
    local img="$dir/w$BUILD-s$SEED.raw"
    log "Volatility windows.malware.suspicious_threads ($label)"
    "$VOL" -q --offline --cache-path "$CACHE" -s "$SYMDIR" -r json -f "$img" \
        windows.malware.suspicious_threads >"$dir/vol-suspicious_threads.json" 2>"$dir/vol.stderr"
    log "memtriage report ($label)"
    "${MT[@]}" report "$img" --format json --quiet >"$dir/memtriage-report.json"
    local clean=()
    [[ "$label" == clean ]] && clean=(--clean)
    "$VENV/bin/python" "$HERE/compare_threads.py" --truth "$dir/w$BUILD-s$SEED.truth.json" \
        --vol "$dir/vol-suspicious_threads.json" --memtriage "$dir/memtriage-report.json" "${clean[@]}"
}

check planted
check clean --no-anomalies
