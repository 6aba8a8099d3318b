# Shared set-up of the Volatility 3 peer checks; sourced by tests/peer/*.sh after they define
# `REPO` and `log`. Environment: PEER_VENV (the venv, default tests/peer/.venv),
# MEMTRIAGE_FIXTURES and MEMTRIAGE_BIN (prebuilt binaries; default: cargo run --release).

VOL_VERSION="2.28.2"

# Makes sure the venv `$1` holds volatility3 $VOL_VERSION; sets VOL to its `vol`.
peer_volatility() {
    local venv="$1"
    if ! "$venv/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('volatility3') != '$VOL_VERSION')" 2>/dev/null; then
        log "installing volatility3==$VOL_VERSION into $venv"
        python3 -m venv "$venv"
        "$venv/bin/pip" install -q "volatility3==$VOL_VERSION"
    fi
    VOL="$venv/bin/vol"
}

# Sets GEN (the fixtures generator) from MEMTRIAGE_FIXTURES, else a release `cargo run`.
peer_generator() {
    if [[ -n "${MEMTRIAGE_FIXTURES:-}" ]]; then
        GEN=("$MEMTRIAGE_FIXTURES")
    else
        GEN=(cargo run --quiet --release --manifest-path "$REPO/Cargo.toml" -p memtriage-fixtures --)
    fi
}

# Sets MT (the memtriage CLI) from MEMTRIAGE_BIN, else a release `cargo run`.
peer_memtriage() {
    if [[ -n "${MEMTRIAGE_BIN:-}" ]]; then
        MT=("$MEMTRIAGE_BIN")
    else
        MT=(cargo run --quiet --release --manifest-path "$REPO/Cargo.toml" -p memtriage-cli --)
    fi
}
