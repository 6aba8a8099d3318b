#!/usr/bin/env bash
# YARA peer check: Volatility 3's windows.vadyarascan (with the yara-x Python package) and
# memtriage yarascan scan the same capture with the same rules file; the (pid, rule, address)
# sets must be equal (compare_yara.py), and the comparison must fail when one memtriage hit is
# dropped (negative control).
#
# usage: tests/peer/yara.sh [BUILD] [OUTDIR]   (default 19041, target/peer/yara-wBUILD)
# environment:
#   SEED, MEMTRIAGE_FIXTURES, MEMTRIAGE_DATA, PEER_VENV   as in run.sh
#   MEMTRIAGE_BIN   memtriage binary (default: target/debug/memtriage, built with `cargo build
#                   -p memtriage-cli` when missing; the debug build keeps yara-x out of release)
#   YARA_RULES      rules file (default tests/yara/peer.yar)
set -euo pipefail

YARA_X_VERSION="1.22.1"   # the yara-x crate memtriage-yara is built with (Cargo.lock)
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
BUILD="${1:-19041}"
OUTDIR="${2:-$REPO/target/peer/yara-w$BUILD}"
SEED="${SEED:-1}"
SHARED="${MEMTRIAGE_DATA:-$REPO/testdata}"
VENV="${PEER_VENV:-$HERE/.venv}"
RULES="${YARA_RULES:-$REPO/tests/yara/peer.yar}"
NAME="w$BUILD-s$SEED"
log() { printf '[peer-yara] %s\n' "$*" >&2; }
# shellcheck source=tests/peer/common.sh
source "$HERE/common.sh"

peer_volatility "$VENV"
if ! "$VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('yara-x') != '$YARA_X_VERSION')" 2>/dev/null; then
    log "installing yara-x==$YARA_X_VERSION into $VENV"
    "$VENV/bin/pip" install -q "yara-x==$YARA_X_VERSION"
fi

mkdir -p "$OUTDIR"
OUTDIR="$(cd "$OUTDIR" && pwd)"
peer_generator
MT="${MEMTRIAGE_BIN:-$REPO/target/debug/memtriage}"
if [[ ! -x "$MT" ]]; then
    log "building memtriage (debug)"
    cargo build --quiet --manifest-path "$REPO/Cargo.toml" -p memtriage-cli
fi
log "generating $NAME (raw)"
"${GEN[@]}" --build "$BUILD" --seed "$SEED" --out "$OUTDIR" --formats raw >&2
IMG="$OUTDIR/$NAME.raw"

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

log "Volatility windows.vadyarascan --yara-file $(basename "$RULES")"
t0=$EPOCHREALTIME
"$VOL" -q --offline --cache-path "$CACHE" -s "$SYMDIR" -r json -f "$IMG" windows.vadyarascan \
    --yara-file "$RULES" >"$OUTDIR/vol-vadyarascan.json" 2>"$OUTDIR/vol-vadyarascan.stderr"
t1=$EPOCHREALTIME
log "memtriage yarascan --rules $(basename "$RULES")"
"$MT" yarascan "$IMG" --rules "$RULES" --format json --quiet >"$OUTDIR/memtriage-yarascan.json"
t2=$EPOCHREALTIME
log "$(awk -v a="$t0" -v b="$t1" -v c="$t2" 'BEGIN { printf "Volatility %.1f s, memtriage %.1f s", b - a, c - b }')"

CMP=("$VENV/bin/python" "$HERE/compare_yara.py" --vol "$OUTDIR/vol-vadyarascan.json"
     --memtriage "$OUTDIR/memtriage-yarascan.json"
     --expect-rules default.shellcode_prologue,default.fixture_data,default.locale_view,default.dos_stub)
"${CMP[@]}"
log "negative control: one memtriage hit dropped must differ"
if "${CMP[@]}" --drop-one >"$OUTDIR/negative-control.txt"; then
    log "negative control passed: the comparison cannot fail"
    exit 1
fi
log "agree; negative control differs as it must"
