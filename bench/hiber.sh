#!/usr/bin/env bash
# `memtriage report` on a hibernation file against the raw image of the same system.
#
# usage: bench/hiber.sh [MIB]      (default 4096: a 4 GiB system)
# environment: OUT (default <repo>/target/bench/hiber)
#
# Generates build 19041, seed 1, 150 processes (~135 VADs, 14 modules each), written as raw
# (sparse) and as hiberfil.sys (16-page sets, LZ77 and Huffman alternating), then runs
# `memtriage report --format json` on each with the file cache warm and prints wall time,
# CPU time (user+sys) and peak RSS from /usr/bin/time, and the ratios hiberfil / raw.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
MIB="${1:-4096}"
OUT="${OUT:-$REPO/target/bench/hiber}"
mkdir -p "$OUT"
[[ -x /usr/bin/time ]] || apt-get install -y -q time >/dev/null
cargo build --quiet --release --manifest-path "$REPO/Cargo.toml" -p memtriage-cli -p memtriage-fixtures
MT="$REPO/target/release/memtriage"
GEN="$REPO/target/release/memtriage-fixtures"
dir="$OUT/$MIB"
if [[ ! -f "$dir/w19041-s1.hiberfil.sys" ]]; then
    rm -rf "$dir" && mkdir -p "$dir"
    "$GEN" --build 19041 --seed 1 --out "$dir" --formats raw,hiber --processes 136 --vads 135 \
        --modules 11 --physical-mib "$MIB" >&2
fi
res="$dir/results.tsv"
: >"$res"
for f in raw hiberfil.sys; do
    img="$dir/w19041-s1.$f"
    cat "$img" >/dev/null
    /usr/bin/time -f "$f\t%e\t%U\t%S\t%M" -a -o "$res" "$MT" report --quiet --format json "$img" \
        >"$dir/$f.json" 2>"$dir/$f.stderr" || true
done
python3 - "$res" "$dir" <<'PY'
import json, os, sys
rows = {}
for line in open(sys.argv[1]):
    f, wall, user, sys_, rss = line.rstrip("\n").split("\t")
    rows[f] = (float(wall), float(user) + float(sys_), int(rss) / 1024)
size = {f: os.path.getsize(os.path.join(sys.argv[2], f"w19041-s1.{f}")) for f in rows}
print("| capture | file size (MiB) | wall (s) | CPU (s) | peak RSS (MiB) |")
print("|---|---:|---:|---:|---:|")
for f, (wall, cpu, rss) in rows.items():
    print(f"| {f} | {size[f] / 2**20:.0f} | {wall:.2f} | {cpu:.2f} | {rss:.0f} |")
(rw, rc, _), (hw, hc, hr) = rows["raw"], rows["hiberfil.sys"]
print(f"\nhiberfil / raw: wall {hw / rw:.2f}x, CPU {hc / rc:.2f}x; hiberfil peak RSS {hr:.0f} MiB")
strip = lambda r: {k: v for k, v in r.items() if k != "image"}
same = strip(json.load(open(os.path.join(sys.argv[2], "raw.json")))) == \
    strip(json.load(open(os.path.join(sys.argv[2], "hiberfil.sys.json"))))
print(f"reports identical apart from the image block: {same}")
PY
