#!/bin/sh
# Run every fuzz target for a bounded time, one after another, on one core.
# Usage: fuzz/run.sh [seconds-per-target] [targets...]
# Builds once (RUSTC_BOOTSTRAP=1 cargo fuzz build -O -a: optimised, with debug assertions and
# overflow checks, so arithmetic overflow on capture data is a crash), then runs the built binaries directly.
# New corpus entries go to fuzz/target/corpus/<target> (git-ignored); the committed seeds in
# fuzz/corpus/<target> are only read. Crashes land in fuzz/artifacts/<target>/.
# Extra libFuzzer flags: FUZZ_FLAGS="-len_control=0" fuzz/run.sh 300 walkers
set -u
cd "$(dirname "$0")"
secs=${1:-300}
shift 2>/dev/null || true
targets=${*:-"open_capture paging isf pe walkers lime vmware"}
bin=target/x86_64-unknown-linux-gnu/release
if ! RUSTC_BOOTSTRAP=1 cargo fuzz build -O -a > target/build.log 2>&1; then
    echo "build failed (see fuzz/target/build.log); using the binaries already built" >&2
fi
mkdir -p target/logs
for t in $targets; do
    mkdir -p "target/corpus/$t" "artifacts/$t"
    start=$(date +%s)
    "$bin/$t" -artifact_prefix="artifacts/$t/" -max_total_time="$secs" -rss_limit_mb=1024 \
        -timeout=10 -max_len=65536 -print_final_stats=1 ${FUZZ_FLAGS:-} "target/corpus/$t" "corpus/$t" \
        > "target/logs/$t.log" 2>&1
    rc=$?
    end=$(date +%s)
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "target/logs/$t.log" | grep -o '[0-9]*$')
    crashes=$(ls "artifacts/$t" | wc -l)
    echo "$t rc=$rc seconds=$((end - start)) execs=${execs:-?} artifacts=$crashes" | tee -a target/logs/summary.txt
done
