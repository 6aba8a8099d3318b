#!/usr/bin/env bash
# Peer check: Volatility 3 reads a synthetic memtriage capture and must agree with its ground truth.
#
# usage: tests/peer/run.sh BUILD [FORMATS] [OUTDIR]
#   BUILD    Windows build of the scenario (7601 9600 14393 17763 19041 22000)
#   FORMATS  comma list of raw,full,bitmap,elf,lime,vmware (default raw,full,bitmap);
#            vmware is the .vmem with its .vmss beside it
#   OUTDIR   where captures, Volatility JSON and the comparison go (default target/peer/wBUILD)
# environment:
#   SEED                 scenario seed (default 1)
#   MEMTRIAGE_FIXTURES   prebuilt memtriage-fixtures binary (default: cargo run --release)
#   MEMTRIAGE_DATA       the test data folder holding isf/ (default: <repo>/testdata)
#   MEMTRIAGE_REPORT     optional memtriage JSON report passed to compare.py --memtriage
#                        (otherwise memtriage itself runs on every format and is compared too)
#   MEMTRIAGE_BIN        prebuilt memtriage binary (default: cargo run --release -p memtriage-cli)
#   PEER_SKIP_MEMTRIAGE  set to skip the memtriage comparison
#   PEER_PLUGINS         space-separated plugin list (default: the seven below)
#   PEER_VENV            venv location (default tests/peer/.venv)
#   PEER_FIXTURE_ARGS    extra generator arguments, e.g. "--no-low-stub" (word-split)
set -euo pipefail

VOL_VERSION="2.28.2"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"

BUILD="${1:?usage: run.sh BUILD [FORMATS] [OUTDIR]}"
FORMATS="${2:-raw,full,bitmap}"
OUTDIR="${3:-$REPO/target/peer/w$BUILD}"
SEED="${SEED:-1}"
SHARED="${MEMTRIAGE_DATA:-$REPO/testdata}"
VENV="${PEER_VENV:-$HERE/.venv}"
PLUGINS="${PEER_PLUGINS:-windows.pslist windows.psscan windows.vadinfo windows.dlllist windows.malware.ldrmodules windows.malware.malfind windows.modules}"
NAME="w$BUILD-s$SEED"

log() { printf '[peer] %s\n' "$*" >&2; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# 1. Volatility 3 in a venv, pinned.
if ! "$VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('volatility3') != '$VOL_VERSION')" 2>/dev/null; then
    log "installing volatility3==$VOL_VERSION into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q "volatility3==$VOL_VERSION"
fi
VOL="$VENV/bin/vol"

# 2. The capture.
mkdir -p "$OUTDIR"
OUTDIR="$(cd "$OUTDIR" && pwd)"
if [[ -n "${MEMTRIAGE_FIXTURES:-}" ]]; then
    GEN=("$MEMTRIAGE_FIXTURES")
else
    GEN=(cargo run --quiet --release --manifest-path "$REPO/Cargo.toml" -p memtriage-fixtures --)
fi
log "generating $NAME ($FORMATS)"
t0=$EPOCHREALTIME
# shellcheck disable=SC2086 # PEER_FIXTURE_ARGS is a word list on purpose
"${GEN[@]}" --build "$BUILD" --seed "$SEED" --out "$OUTDIR" --formats "$FORMATS" ${PEER_FIXTURE_ARGS:-} >&2
t1=$EPOCHREALTIME
log "generated in $(elapsed "$t0" "$t1") s"
TRUTH="$OUTDIR/$NAME.truth.json"
[[ -f "$TRUTH" ]] || { log "no truth file $TRUTH"; exit 2; }

# 3. A fresh symbol dir with a COPY of the build's ISF, and a fresh cache.
#    (On a cache miss Volatility opens <first symbol dir>/windows/<pdb>/<GUID>-<age>.json.xz for
#    writing and deletes it when the download fails: never point it at the shared originals.)
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

ext_of() {
    case "$1" in
        raw) echo raw ;;
        full) echo full.dmp ;;
        bitmap) echo bitmap.dmp ;;
        elf) echo elf ;;
        lime) echo lime ;;
        vmware) echo vmem ;;
        *) log "unknown format $1"; exit 2 ;;
    esac
}

# 4. Run every plugin on every format.
IFS=',' read -r -a fmts <<<"$FORMATS"
for fmt in "${fmts[@]}"; do
    img="$OUTDIR/$NAME.$(ext_of "$fmt")"
    [[ -f "$img" ]] || { log "missing $img"; exit 2; }
    dest="$OUTDIR/vol/$fmt"
    mkdir -p "$dest"
    for plugin in $PLUGINS; do
        s0=$EPOCHREALTIME
        set +e
        # pslist runs with -vv so that its stderr records the DTB and kernel base Volatility chose
        # (compare.py checks them against the truth).
        verbose=()
        [[ "$plugin" == windows.pslist ]] && verbose=(-vv)
        "$VOL" -q "${verbose[@]}" --offline --cache-path "$CACHE" -s "$SYMDIR" -r json -f "$img" "$plugin" \
            >"$dest/$plugin.json" 2>"$dest/$plugin.stderr"
        rc=$?
        set -e
        s1=$EPOCHREALTIME
        secs=$(elapsed "$s0" "$s1")
        echo "$secs" >"$dest/$plugin.seconds"
        log "$fmt $plugin rc=$rc ${secs}s"
    done
done

# 5. Compare.
args=(--truth "$TRUTH" --vol-dir "$OUTDIR/vol" --formats "$FORMATS")
if [[ -n "${MEMTRIAGE_REPORT:-}" ]]; then
    args+=(--memtriage "$MEMTRIAGE_REPORT")
fi
"$VENV/bin/python" "$HERE/compare.py" "${args[@]}" --json-out "$OUTDIR/compare.json"

# 6. memtriage on the same captures, compared with the same truth (and so with Volatility).
if [[ -z "${MEMTRIAGE_REPORT:-}" && -z "${PEER_SKIP_MEMTRIAGE:-}" ]]; then
    if [[ -n "${MEMTRIAGE_BIN:-}" ]]; then
        MT=("$MEMTRIAGE_BIN")
    else
        MT=(cargo run --quiet --release --manifest-path "$REPO/Cargo.toml" -p memtriage-cli --)
    fi
    for fmt in "${fmts[@]}"; do
        img="$OUTDIR/$NAME.$(ext_of "$fmt")"
        report="$OUTDIR/memtriage-$fmt.json"
        "${MT[@]}" report "$img" --format json --quiet >"$report"
        log "memtriage report on $fmt"
        "$VENV/bin/python" "$HERE/compare.py" --truth "$TRUTH" --vol-dir "$OUTDIR/vol" --formats "$fmt" \
            --memtriage "$report" --json-out "$OUTDIR/compare-memtriage-$fmt.json"
    done
fi
