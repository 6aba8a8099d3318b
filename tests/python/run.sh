#!/usr/bin/env bash
# Python package tests (called by .ci/run): build the memtriage wheel once (maturin, release,
# in the workspace's target/), install it into a venv with the test tools from PyPI, and run
# pytest. The tests start their own S3-compatible server (moto) on 127.0.0.1 and a Dask
# LocalCluster of 2 workers.
#
#   bash tests/python/run.sh [PYTEST ARGS...]
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$REPO"
VENV="${MEMTRIAGE_PY_VENV:-$REPO/target/py-venv}"
WHEELS="$REPO/target/wheels-py"
log() { printf '[python] %s\n' "$*" >&2; }

if [[ ! -x "$VENV/bin/python" ]]; then
    log "creating $VENV"
    python3 -m venv "$VENV"
fi
log "installing maturin, moto[server], boto3, dask[distributed], pyarrow, pytest"
"$VENV/bin/pip" install -q --disable-pip-version-check \
    'maturin>=1.5,<2' 'moto[server]' boto3 'dask[distributed]' pyarrow pytest

log "building the CLI (to compare against) and the fixtures generator"
# Debug builds (the CLI's release build would compile yara-x a second time; `cargo test
# --workspace` in .ci/run has already built these).
cargo build --quiet -p memtriage-cli -p memtriage-fixtures

log "building the wheel"
rm -rf "$WHEELS"
"$VENV/bin/maturin" build --quiet --release -m crates/memtriage-py/Cargo.toml --out "$WHEELS" >&2
"$VENV/bin/pip" install -q --disable-pip-version-check --force-reinstall --no-deps "$WHEELS"/memtriage-*.whl

export MEMTRIAGE_BIN="$REPO/target/debug/memtriage"
export MEMTRIAGE_FIXTURES_BIN="$REPO/target/debug/memtriage-fixtures"
# Run from outside the source tree so that the installed wheel, not the sources, is imported.
set +e
(cd "$REPO/target" && "$VENV/bin/python" -m pytest -q -p no:cacheprovider "$REPO/tests/python" "$@")
rc=$?
set -e
if [[ $rc -eq 5 ]]; then
    log "pytest collected no tests"
    exit 1
fi
exit $rc
