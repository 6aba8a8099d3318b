#!/usr/bin/env bash
# Fleet throughput: captures per hour per core of `memtriage-fleet` on a Dask LocalCluster,
# at 1 GiB and 4 GiB per capture (the numbers of docs/fleets.md).
#
# usage: bench/fleet.sh                   (after tests/python/run.sh has built the venv + wheel)
# environment:
#   OUT        where captures and results go (default <repo>/target/bench-fleet)
#   VENV       venv with the memtriage wheel and dask (default <repo>/target/py-venv)
#   SIZES_MIB  capture sizes (default "1024 4096")
#   COPIES     captures per run (default 4: symlinks to one generated capture)
#   WORKERS    LocalCluster sizes to run (default "1 2"), one single-threaded worker per core
#
# Captures: build 19041, seed 1, 150 processes with ~135 VADs and ~14 modules each, raw
# (sparse) format, like bench/run.sh. Page cache warm (each capture read once before timing).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
OUT="${OUT:-$REPO/target/bench-fleet}"
VENV="${VENV:-$REPO/target/py-venv}"
SIZES_MIB="${SIZES_MIB:-1024 4096}"
COPIES="${COPIES:-4}"
WORKERS="${WORKERS:-1 2}"
GEN="$REPO/target/release/memtriage-fixtures"
log() { printf '[fleet-bench] %s\n' "$*" >&2; }

cargo build --quiet --release --manifest-path "$REPO/Cargo.toml" -p memtriage-fixtures
mkdir -p "$OUT"
printf 'size_mib\tworkers\tcaptures\twall_s\tmean_task_s\tper_hour_per_core_wall\tper_hour_per_core_task\n' >"$OUT/results.tsv"
for mib in $SIZES_MIB; do
    dir="$OUT/cap-${mib}m"
    if [[ ! -f "$dir/w19041-s1.raw" ]]; then
        rm -rf "$dir"
        mkdir -p "$dir"
        log "generating a $mib MiB capture"
        "$GEN" --build 19041 --seed 1 --out "$dir" --formats raw --processes 136 --vads 135 \
            --modules 11 --physical-mib "$mib" >&2
    fi
    cat "$dir/w19041-s1.raw" >/dev/null
    inputs="$dir/inputs"
    rm -rf "$inputs"
    mkdir -p "$inputs"
    for i in $(seq 1 "$COPIES"); do ln -s "$dir/w19041-s1.raw" "$inputs/copy$i.raw"; done
    for w in $WORKERS; do
        res="$OUT/run-${mib}m-${w}w"
        rm -rf "$res"
        start=$(date +%s.%N)
        "$VENV/bin/memtriage-fleet" --local-workers "$w" --out "$res" "$inputs" 2>"$res.log"
        end=$(date +%s.%N)
        "$VENV/bin/python" - "$mib" "$w" "$COPIES" "$start" "$end" "$res" >>"$OUT/results.tsv" <<'PY'
import sys
import pyarrow.parquet as pq
mib, w, n, s, e, res = sys.argv[1:]
wall = float(e) - float(s)
caps = pq.read_table(f"{res}/captures.parquet").to_pylist()
assert all(c["status"] == "ok" for c in caps), caps
task = sum(c["seconds"] for c in caps) / len(caps)
print(f"{mib}\t{w}\t{n}\t{wall:.1f}\t{task:.2f}\t{int(n) * 3600 / wall / int(w):.0f}\t{3600 / task:.0f}")
PY
        log "$(tail -1 "$OUT/results.tsv")"
    done
done
cat "$OUT/results.tsv"
