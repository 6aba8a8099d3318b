#!/usr/bin/env bash
# Page-file peer check: a capture generated with --page-out is read by Volatility 3 with
# --single-swap-locations and by memtriage with --pagefile; both must read the paged-out region
# starts from the page file (and neither without it). See compare_pagefile.py.
#
# usage: tests/peer/pagefile.sh [BUILD] [OUTDIR]   (default 19041, target/peer/pagefile-wBUILD)
# environment: SEED, MEMTRIAGE_FIXTURES, MEMTRIAGE_BIN, MEMTRIAGE_DATA, PEER_VENV as in run.sh.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
BUILD="${1:-19041}"
OUTDIR="${2:-$REPO/target/peer/pagefile-w$BUILD}"
SEED="${SEED:-1}"
SHARED="${MEMTRIAGE_DATA:-$REPO/testdata}"
VENV="${PEER_VENV:-$HERE/.venv}"
NAME="w$BUILD-s$SEED"
log() { printf '[peer-pagefile] %s\n' "$*" >&2; }
# shellcheck source=tests/peer/common.sh
source "$HERE/common.sh"

peer_volatility "$VENV"

mkdir -p "$OUTDIR"
OUTDIR="$(cd "$OUTDIR" && pwd)"
peer_generator
peer_memtriage
log "generating $NAME with paged-out pages"
"${GEN[@]}" --build "$BUILD" --seed "$SEED" --out "$OUTDIR" --formats raw --page-out >&2
IMG="$OUTDIR/$NAME.raw"
PF="$OUTDIR/$NAME.pagefile.sys"
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

vol() { "$VOL" -q --offline --cache-path "$CACHE" -s "$SYMDIR" -r json "$@"; }
log "Volatility malfind with and without --single-swap-locations"
vol --single-swap-locations "$PF" -f "$IMG" windows.malware.malfind >"$OUTDIR/vol-malfind-swap.json" 2>"$OUTDIR/vol-malfind-swap.stderr"
vol -f "$IMG" windows.malware.malfind >"$OUTDIR/vol-malfind.json" 2>"$OUTDIR/vol-malfind.stderr"
log "memtriage malfind with and without --pagefile"
"${MT[@]}" malfind "$IMG" --pagefile "$PF" --format json --quiet >"$OUTDIR/memtriage-malfind-pagefile.json"
"${MT[@]}" malfind "$IMG" --format json --quiet >"$OUTDIR/memtriage-malfind.json"

"$VENV/bin/python" "$HERE/compare_pagefile.py" --truth "$TRUTH" --page-file "$PF" \
    --vol-with "$OUTDIR/vol-malfind-swap.json" --vol-without "$OUTDIR/vol-malfind.json" \
    --memtriage-with "$OUTDIR/memtriage-malfind-pagefile.json" \
    --memtriage-without "$OUTDIR/memtriage-malfind.json"
