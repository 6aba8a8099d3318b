#!/usr/bin/env bash
# End-to-end benchmark: `memtriage report` against Volatility 3 on a large synthetic capture,
# then memtriage alone on captures of growing size and growing process count.
#
# usage: bench/run.sh [all|vol|scale]          (default all)
#   vol    only the memtriage-vs-Volatility comparison on the 4 GiB / 150-process capture
#   scale  only the memtriage scaling runs (1, 2, 4, 8 GiB; 50, 150, 500 processes)
# environment:
#   OUT                where captures and results go (default <repo>/target/bench)
#   MEMTRIAGE_DATA     the test data folder holding isf/ (default <repo>/testdata)
#   PEER_VENV          Volatility venv (default tests/peer/.venv, created when missing)
#   SIZES_MIB          capture sizes of the size series (default "1024 2048 4096 8192")
#   PROCS              process counts of the process series (default "50 150 500")
#   KEEP=1             keep the generated captures (default: each is deleted after use,
#                      except the 4 GiB comparison capture)
#
# Every capture: build 19041, seed 1, anomalies planted, ~135 VADs and ~14 loaded modules per
# user process (3 base images + 11 extra DLLs), raw format (sparse file). Timings are wall
# clock from /usr/bin/time; peak RSS is its "Maximum resident set size". The capture file is
# read once before timing (page cache warm) and each tool runs once.
set -euo pipefail

VOL_VERSION="2.28.2"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
MODE="${1:-all}"
OUT="${OUT:-$REPO/target/bench}"
SHARED="${MEMTRIAGE_DATA:-$REPO/testdata}"
VENV="${PEER_VENV:-$REPO/tests/peer/.venv}"
SIZES_MIB="${SIZES_MIB:-1024 2048 4096 8192}"
PROCS="${PROCS:-50 150 500}"
BUILD=19041
VADS=135
MODULES=11
# The fixture's base set (System, smss, ..., the anomaly and WoW64 processes) is 14
# processes: --processes gets total - 14.
BASE_PROCS=14

# Progress goes to fd 3 (the script's stderr), so that redirecting a timed tool's stderr
# does not swallow it.
exec 3>&2
log() { printf '[bench] %s\n' "$*" >&3; }

mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"

# 0. Tools.
if [[ ! -x /usr/bin/time ]]; then
    log "installing GNU time"
    apt-get install -y -q time >/dev/null
fi
log "building release binaries"
cargo build --quiet --release --manifest-path "$REPO/Cargo.toml" -p memtriage-cli -p memtriage-fixtures
MT="$REPO/target/release/memtriage"
GEN="$REPO/target/release/memtriage-fixtures"

# Run a command under /usr/bin/time; append "label<TAB>seconds<TAB>max_rss_kib<TAB>rc" to $2.
timed() {
    local label="$1" results="$2"
    shift 2
    local tf="$OUT/.time.$$"
    set +e
    /usr/bin/time -f '%e %M' -o "$tf" "$@"
    local rc=$?
    set -e
    read -r secs rss <"$tf"
    rm -f "$tf"
    printf '%s\t%s\t%s\t%s\n' "$label" "$secs" "$rss" "$rc" >>"$results"
    log "$label: ${secs}s, peak RSS $((rss / 1024)) MiB, rc=$rc"
}

# Generate a capture of MIB MiB with TOTAL processes into DIR (skipped when already there).
gen() {
    local mib="$1" total="$2" dir="$3"
    local extra=$((total - BASE_PROCS))
    local stamp="$dir/params"
    local want="build=$BUILD mib=$mib extra=$extra vads=$VADS modules=$MODULES"
    if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -f "$dir/w$BUILD-s1.raw" ]]; then
        return
    fi
    rm -rf "$dir"
    mkdir -p "$dir"
    log "generating $want"
    "$GEN" --build "$BUILD" --seed 1 --out "$dir" --formats raw --processes "$extra" \
        --vads "$VADS" --modules "$MODULES" --physical-mib "$mib" >&2
    echo "$want" >"$stamp"
}

# Count processes, VADs, modules and anomalies of a generated capture from its truth.
describe() {
    python3 - "$1/w$BUILD-s1.truth.json" <<'EOF'
import json, sys
t = json.load(open(sys.argv[1]))
p = t["processes"]
print(f'{len(p)} processes, {sum(len(x["regions"]) for x in p)} VADs, '
      f'{sum(len(x["modules"]) for x in p)} loaded modules, {len(t["anomalies"])} anomalies')
EOF
}

warm() { cat "$1" >/dev/null; }

# 1. memtriage vs Volatility 3 on the 4 GiB, 150-process capture.
compare_vol() {
    local dir="$OUT/cmp-4096m-150p" res="$OUT/vol-results.tsv"
    gen 4096 150 "$dir"
    local img="$dir/w$BUILD-s1.raw"
    log "capture: $(describe "$dir")"
    if ! "$VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('volatility3') != '$VOL_VERSION')" 2>/dev/null; then
        log "installing volatility3==$VOL_VERSION into $VENV"
        python3 -m venv "$VENV"
        "$VENV/bin/pip" install -q "volatility3==$VOL_VERSION"
    fi
    # Volatility finds the ISF offline in a private symbol dir (a copy: on a cache miss it
    # would try to rewrite the file it opened).
    local symdir="$dir/vol-symbols" cache="$dir/vol-cache"
    rm -rf "$symdir" "$cache"
    mkdir -p "$symdir/windows" "$cache"
    cp "$SHARED"/isf/ntkrnlmp-$BUILD-*.json.xz "$symdir/windows/"
    chmod u+w "$symdir/windows/"*
    : >"$res"
    warm "$img"
    timed "memtriage report" "$res" "$MT" report --quiet --format json "$img" >"$dir/memtriage.json" \
        2>"$dir/memtriage.stderr" || true
    for plugin in windows.pslist windows.psscan windows.vadinfo windows.dlllist \
        windows.malware.ldrmodules windows.malware.malfind; do
        timed "vol $plugin" "$res" "$VENV/bin/vol" -q --offline --cache-path "$cache" -s "$symdir" \
            -r json -f "$img" "$plugin" >"$dir/$plugin.json" 2>"$dir/$plugin.stderr"
    done
    python3 - "$res" "$(describe "$dir")" <<'EOF'
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
print(f"\nEnd to end on a 4 GiB raw capture: {sys.argv[2]}\n")
print("| tool / plugin | wall time (s) | peak RSS (MiB) | exit |")
print("|---|---:|---:|---:|")
mt = None
vol = 0.0
volrss = 0
for label, secs, rss, rc in rows:
    print(f"| {label} | {float(secs):.2f} | {int(rss) / 1024:.0f} | {rc} |")
    if label.startswith("memtriage"):
        mt = float(secs)
    else:
        vol += float(secs)
        volrss = max(volrss, int(rss))
print(f"| **Volatility 3, sum of the 6 plugins** | **{vol:.2f}** | {volrss / 1024:.0f} (max) | |")
if mt:
    print(f"\nratio (Volatility sum / memtriage report): **{vol / mt:.1f}x** (target >= 50x)")
EOF
}

# 2. memtriage alone: growth with capture size and with process count.
scale() {
    local res="$OUT/scale-results.tsv"
    : >"$res"
    for mib in $SIZES_MIB; do
        local dir="$OUT/scale-${mib}m-150p"
        gen "$mib" 150 "$dir"
        warm "$dir/w$BUILD-s1.raw"
        timed "size ${mib} MiB, 150 processes" "$res" "$MT" report --quiet --format json \
            "$dir/w$BUILD-s1.raw" >"$dir/memtriage.json" 2>"$dir/memtriage.stderr" || true
        [[ "${KEEP:-0}" == 1 || "$mib" == 4096 ]] || rm -f "$dir/w$BUILD-s1.raw"
    done
    for n in $PROCS; do
        local dir="$OUT/scale-4096m-${n}p"
        gen 4096 "$n" "$dir"
        warm "$dir/w$BUILD-s1.raw"
        timed "4096 MiB, $(describe "$dir")" "$res" "$MT" report --quiet --format json \
            "$dir/w$BUILD-s1.raw" >"$dir/memtriage.json" 2>"$dir/memtriage.stderr" || true
        [[ "${KEEP:-0}" == 1 ]] || rm -f "$dir/w$BUILD-s1.raw"
    done
    python3 - "$res" <<'EOF'
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
print("\nmemtriage report alone (release build)\n")
print("| run | wall time (s) | peak RSS (MiB) | exit |")
print("|---|---:|---:|---:|")
for label, secs, rss, rc in rows:
    print(f"| {label} | {float(secs):.2f} | {int(rss) / 1024:.0f} | {rc} |")
EOF
}

case "$MODE" in
    all) compare_vol; scale ;;
    vol) compare_vol ;;
    scale) scale ;;
    *) log "unknown mode $MODE (all, vol, scale)"; exit 2 ;;
esac
