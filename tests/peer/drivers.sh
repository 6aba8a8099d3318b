#!/usr/bin/env bash
# Peer check of unlinked_kernel_module / `modules --scan`: Volatility 3's windows.driverscan,
# windows.malware.drivermodule and windows.modules against memtriage on the same raw captures,
# one with the planted unlisted drivers and one clean (drivers_compare.py says what is compared,
# and re-runs every check on wrong copies of memtriage's rows: the negative control).
#
# usage: tests/peer/drivers.sh [BUILD] [OUTDIR]
#   BUILD    Windows build of the scenario (default 19041)
#   OUTDIR   where captures, Volatility JSON and memtriage JSON go (default target/peer/drivers-wBUILD)
# environment: MEMTRIAGE_FIXTURES, MEMTRIAGE_BIN, MEMTRIAGE_DATA, PEER_VENV, SEED as in run.sh
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"

BUILD="${1:-19041}"
OUTDIR="${2:-$REPO/target/peer/drivers-w$BUILD}"
SEED="${SEED:-1}"
SHARED="${MEMTRIAGE_DATA:-$REPO/testdata}"
VENV="${PEER_VENV:-$HERE/.venv}"
PLUGINS="windows.driverscan windows.malware.drivermodule windows.modules"

log() { printf '[drivers] %s\n' "$*" >&2; }
# shellcheck source=tests/peer/common.sh
source "$HERE/common.sh"

peer_volatility "$VENV"

peer_generator
peer_memtriage

shopt -s nullglob
isfs=("$SHARED/isf/ntkrnlmp-$BUILD-"*.json.xz)
shopt -u nullglob
[[ ${#isfs[@]} -eq 1 ]] || { log "need exactly one ISF for build $BUILD in $SHARED/isf"; exit 2; }

mkdir -p "$OUTDIR"
OUTDIR="$(cd "$OUTDIR" && pwd)"
status=0
for variant in planted clean; do
    dir="$OUTDIR/$variant"
    rm -rf "$dir"
    mkdir -p "$dir/vol-symbols/windows" "$dir/vol-cache" "$dir/vol"
    # A copy of the ISF: Volatility may rewrite files in its first symbol directory.
    cp "${isfs[0]}" "$dir/vol-symbols/windows/"
    chmod u+w "$dir/vol-symbols/windows/"*
    extra=()
    [[ "$variant" == clean ]] && extra=(--no-anomalies)
    "${GEN[@]}" --build "$BUILD" --seed "$SEED" --out "$dir" --formats raw "${extra[@]}" >&2
    img="$dir/w$BUILD-s$SEED.raw"
    truth="$dir/w$BUILD-s$SEED.truth.json"
    for plugin in $PLUGINS; do
        if ! "$VOL" -q --offline --cache-path "$dir/vol-cache" -s "$dir/vol-symbols" -r json -f "$img" "$plugin" \
            >"$dir/vol/$plugin.json" 2>"$dir/vol/$plugin.stderr"; then
            log "$variant: $plugin failed (see $dir/vol/$plugin.stderr)"
            exit 2
        fi
    done
    "${MT[@]}" modules "$img" --scan --format json --quiet >"$dir/memtriage-modules-scan.json"
    log "$variant (build $BUILD)"
    if ! "$VENV/bin/python" "$HERE/drivers_compare.py" --truth "$truth" --vol-dir "$dir/vol" \
        --memtriage "$dir/memtriage-modules-scan.json" --json-out "$dir/compare.json"; then
        status=1
    fi
done
exit $status
