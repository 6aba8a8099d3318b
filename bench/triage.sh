#!/usr/bin/env bash
# The three-tool triage benchmark (issue 21): memtriage `report` against MemProcFS and
# Volatility 3 on one 4 GiB raw capture with 60 processes, in one run, median and spread of
# RUNS runs, warm and cold page cache, then memtriage's peak RSS at 1, 4 and 8 GiB.
#
# usage: bench/triage.sh
# environment:
#   OUT          where captures and results go (default <repo>/target/bench-triage)
#   RUNS         runs per memtriage / MemProcFS / cold measurement (default 5)
#   VOL_RUNS     runs of the six Volatility plugins (default 1: about 20 s a run)
#   RSS_MIB      capture sizes of the peak-RSS series (default "1024 4096 8192")
#   PEER_VENV    Volatility venv (default tests/peer/.venv, created when missing)
#   MPFS_VENV    MemProcFS venv (default $OUT/memprocfs-venv, created when missing)
#   SKIP_VOL=1, SKIP_MPFS=1   leave a peer tool out
#
# Captures: build 19041, seed 1, anomalies planted, ~135 VADs and ~14 modules per user
# process, raw format, sparse files (bench/run.sh's recipe). The 1 and 8 GiB captures of the
# RSS series are deleted after use. `report --fast` is timed when `memtriage report --help`
# lists it. Output: markdown tables on stdout, every run in $OUT/runs.tsv.
set -euo pipefail

VOL_VERSION="2.28.2"
MPFS_VERSION="5.19.0"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
OUT="${OUT:-$REPO/target/bench-triage}"
RUNS="${RUNS:-5}"
VOL_RUNS="${VOL_RUNS:-1}"
RSS_MIB="${RSS_MIB:-1024 4096 8192}"
VENV="${PEER_VENV:-$REPO/tests/peer/.venv}"
BUILD=19041
PROCS=60
# The fixture's base set is 14 processes: --processes gets the rest.
EXTRA=$((PROCS - 14))

log() { printf '[bench] %s\n' "$*" >&2; }
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
MPFS_VENV="${MPFS_VENV:-$OUT/memprocfs-venv}"

log "building release binaries"
cargo build --quiet --release --manifest-path "$REPO/Cargo.toml" -p memtriage-cli -p memtriage-fixtures
MT="$REPO/target/release/memtriage"
GEN="$REPO/target/release/memtriage-fixtures"

# Generate a MIB MiB capture with $PROCS processes into DIR (kept while its stamp matches).
gen() {
    local mib="$1" dir="$2"
    local want="build=$BUILD mib=$mib extra=$EXTRA vads=135 modules=11"
    if [[ -f "$dir/params" && "$(cat "$dir/params")" == "$want" && -f "$dir/w$BUILD-s1.raw" ]]; then
        return
    fi
    rm -rf "$dir"
    mkdir -p "$dir"
    log "generating $want"
    "$GEN" --build "$BUILD" --seed 1 --out "$dir" --formats raw --processes "$EXTRA" \
        --vads 135 --modules 11 --physical-mib "$mib" >&2
    echo "$want" >"$dir/params"
}

CMP="$OUT/cmp-4096m-${PROCS}p"
gen 4096 "$CMP"
IMG="$CMP/w$BUILD-s1.raw"
log "capture: $IMG ($(du -h --apparent-size "$IMG" | cut -f1) apparent, $(du -h "$IMG" | cut -f1) allocated)"

args=(--image "$IMG" --mt "$MT" --out "$OUT/runs" --runs "$RUNS" --vol-runs "$VOL_RUNS")
if "$MT" report --help | grep -q -- '--fast'; then
    args+=(--fast)
fi

if [[ "${SKIP_MPFS:-0}" != 1 ]]; then
    if ! "$MPFS_VENV/bin/python" -c "import memprocfs" 2>/dev/null; then
        log "installing memprocfs==$MPFS_VERSION into $MPFS_VENV"
        python3 -m venv "$MPFS_VENV"
        "$MPFS_VENV/bin/pip" install -q "memprocfs==$MPFS_VERSION"
    fi
    args+=(--mpfs-python "$MPFS_VENV/bin/python" --mpfs-script "$HERE/memprocfs_triage.py")
fi

if [[ "${SKIP_VOL:-0}" != 1 ]]; then
    if ! "$VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('volatility3') != '$VOL_VERSION')" 2>/dev/null; then
        log "installing volatility3==$VOL_VERSION into $VENV"
        python3 -m venv "$VENV"
        "$VENV/bin/pip" install -q "volatility3==$VOL_VERSION"
    fi
    # Volatility finds the ISF offline in a private symbol dir (a writable copy).
    symdir="$CMP/vol-symbols"
    rm -rf "$symdir" "$CMP/vol-cache"
    mkdir -p "$symdir/windows" "$CMP/vol-cache"
    cp "$REPO"/testdata/isf/ntkrnlmp-$BUILD-*.json.xz "$symdir/windows/"
    chmod u+w "$symdir/windows/"*
    args+=(--vol "$VENV/bin/vol" --vol-symbols "$symdir" --vol-cache "$CMP/vol-cache")
fi

rss=()
made=()
for mib in $RSS_MIB; do
    if [[ "$mib" == 4096 ]]; then
        rss+=("4 GiB=$IMG")
        continue
    fi
    dir="$OUT/rss-${mib}m-${PROCS}p"
    gen "$mib" "$dir"
    rss+=("$((mib / 1024)) GiB=$dir/w$BUILD-s1.raw")
    made+=("$dir")
done

log "disk: $(df -h / | tail -1)"
python3 "$HERE/triage.py" "${args[@]}" --rss "${rss[@]}"
for dir in "${made[@]}"; do
    rm -rf "$dir"
done
