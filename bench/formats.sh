#!/usr/bin/env bash
# Capture-format overhead: `memtriage report` on the same synthetic system written as a raw
# image, a LiME file and a VMware .vmem + .vmss; prints seconds (best of RUNS) and the ratio to
# raw for each.
#
# usage: bench/formats.sh [MIB]            (default 1024)
# environment:
#   OUT    where captures go (default <repo>/target/bench-formats; deleted afterwards unless KEEP=1)
#   RUNS   timed runs per format, the best is kept (default 3)
#   MT     memtriage binary (default: release build of memtriage-cli)
#   GEN    memtriage-fixtures binary (default: release build of memtriage-fixtures)
# The captures are build 19041, seed 1, 150 processes, read once before timing (page cache warm).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
MIB="${1:-1024}"
OUT="${OUT:-$REPO/target/bench-formats}"
RUNS="${RUNS:-3}"
if [[ -z "${MT:-}" || -z "${GEN:-}" ]]; then
    cargo build --quiet --release --manifest-path "$REPO/Cargo.toml" -p memtriage-cli -p memtriage-fixtures
fi
MT="${MT:-$REPO/target/release/memtriage}"
GEN="${GEN:-$REPO/target/release/memtriage-fixtures}"
mkdir -p "$OUT"
"$GEN" --build 19041 --seed 1 --out "$OUT" --physical-mib "$MIB" --processes 136 \
    --formats raw,lime,vmware >/dev/null
best() {
    local img="$1" best=""
    cat "$img" >/dev/null
    for _ in $(seq "$RUNS"); do
        local t0 t1 s
        t0=$EPOCHREALTIME
        "$MT" report "$img" --format json --quiet >/dev/null
        t1=$EPOCHREALTIME
        s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
        if [[ -z "$best" ]] || awk -v s="$s" -v b="$best" 'BEGIN { exit !(s < b) }'; then
            best=$s
        fi
    done
    echo "$best"
}
raw=$(best "$OUT/w19041-s1.raw")
printf 'format\tseconds\tratio\n'
printf 'raw\t%s\t1.00\n' "$raw"
for ext in lime vmem; do
    s=$(best "$OUT/w19041-s1.$ext")
    printf '%s\t%s\t%s\n' "$ext" "$s" "$(awk -v s="$s" -v r="$raw" 'BEGIN { printf "%.2f", s / r }')"
done
[[ "${KEEP:-0}" == 1 ]] || rm -f "$OUT"/w19041-s1.*
