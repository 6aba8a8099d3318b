#!/usr/bin/env bash
# YARA benchmark: 100 simple rules (50 text strings, 50 hex strings, generated) over all
# committed process memory of the 4 GiB / 150-process bench capture (bench/run.sh's), against
# `report` alone on the same capture. Each command runs RUNS times (default 5); the script
# prints every wall time and the medians, and the scan's cost: median(report --yara) -
# median(report), to set against median(report) (target: cost <= report).
#
# usage: bench/yara.sh
# environment:
#   OUT        where the capture and results go (default <repo>/target/bench)
#   RUNS       runs per command (default 5)
#   MEMTRIAGE_BIN, MEMTRIAGE_FIXTURES   prebuilt binaries (default: release build)
#   KEEP=1     keep the 4 GiB capture (default: deleted at the end unless bench/run.sh made it)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
OUT="${OUT:-$REPO/target/bench}"
RUNS="${RUNS:-5}"
BUILD=19041
log() { printf '[bench-yara] %s\n' "$*" >&2; }

mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
if [[ -z "${MEMTRIAGE_BIN:-}" || -z "${MEMTRIAGE_FIXTURES:-}" ]]; then
    log "building release binaries"
    cargo build --quiet --release --manifest-path "$REPO/Cargo.toml" -p memtriage-cli -p memtriage-fixtures
fi
MT="${MEMTRIAGE_BIN:-$REPO/target/release/memtriage}"
GEN="${MEMTRIAGE_FIXTURES:-$REPO/target/release/memtriage-fixtures}"

# The capture of bench/run.sh's comparison (reused when it is there).
DIR="$OUT/cmp-4096m-150p"
IMG="$DIR/w$BUILD-s1.raw"
WANT="build=$BUILD mib=4096 extra=136 vads=135 modules=11"
MADE=0
if [[ ! -f "$DIR/params" || "$(cat "$DIR/params")" != "$WANT" || ! -f "$IMG" ]]; then
    rm -rf "$DIR"
    mkdir -p "$DIR"
    log "generating $WANT"
    "$GEN" --build "$BUILD" --seed 1 --out "$DIR" --formats raw --processes 136 --vads 135 \
        --modules 11 --physical-mib 4096 >&2
    echo "$WANT" >"$DIR/params"
    MADE=1
fi
cleanup() {
    if [[ "$MADE" == 1 && -z "${KEEP:-}" ]]; then rm -rf "$DIR"; fi
}
trap cleanup EXIT

# 100 simple rules: 50 ASCII strings, 50 hex strings of 12 bytes (deterministic).
RULES="$OUT/yara-bench-100.yar"
python3 - "$RULES" <<'PY'
import hashlib, sys
with open(sys.argv[1], "w") as f:
    for i in range(50):
        f.write(f'rule text_{i:02} {{ strings: $s = "memtriage-bench-{i:02}-{hashlib.sha256(str(i).encode()).hexdigest()[:8]}" condition: $s }}\n')
    for i in range(50):
        b = hashlib.sha256(f"hex{i}".encode()).digest()[:12]
        f.write(f'rule hex_{i:02} {{ strings: $h = {{ {" ".join(f"{x:02X}" for x in b)} }} condition: $h }}\n')
PY

cat "$IMG" >/dev/null   # page cache warm
median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
timeit() {   # label, command...: RUNS wall times (s), one per line, on stdout
    local label="$1"
    shift
    for _ in $(seq "$RUNS"); do
        local t0=$EPOCHREALTIME
        "$@" >/dev/null 2>&1
        local t1=$EPOCHREALTIME
        awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }'
    done | tee "$OUT/yara-bench-$label.txt" | tr '\n' ' ' >&2
    echo >&2
}
log "report ($RUNS runs)"
timeit report "$MT" report "$IMG" --format json --quiet
log "report --yara ($RUNS runs)"
timeit report-yara "$MT" report "$IMG" --format json --quiet --yara "$RULES"
log "yarascan ($RUNS runs)"
timeit yarascan "$MT" yarascan "$IMG" --rules "$RULES" --format json --quiet
"$MT" yarascan "$IMG" --rules "$RULES" --format json --quiet >"$OUT/yara-bench-rows.json"
r=$(median <"$OUT/yara-bench-report.txt")
ry=$(median <"$OUT/yara-bench-report-yara.txt")
ys=$(median <"$OUT/yara-bench-yarascan.txt")
python3 - "$DIR/w$BUILD-s1.truth.json" "$r" "$ry" "$ys" "$OUT/yara-bench-rows.json" <<'PY'
import json, sys
truth, r, ry, ys, rows = sys.argv[1], *map(float, sys.argv[2:5]), sys.argv[5]
t = json.load(open(truth))
listed = [p for p in t["processes"] if p["in_active_list"]]
n = len(json.load(open(rows))["rows"])
cost = ry - r
print(f"capture: 4 GiB, {len(listed)} processes on the active list, "
      f"{sum(len(p['regions']) for p in listed)} VADs; 100 rules; {n} yarascan rows")
print(f"median report            {r:.3f} s")
print(f"median report --yara     {ry:.3f} s   (scan cost {cost:.3f} s = {cost / r:.2f} x report)")
print(f"median yarascan          {ys:.3f} s")
print("target (scan cost <= report):", "met" if cost <= r else "NOT met")
PY
