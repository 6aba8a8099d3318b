#!/usr/bin/env bash
# Validates memtriage's JSON Lines (ECS) events against the official Elastic Common Schema field
# definitions, taken from the `@elastic/ecs` npm package whose version is the `ecs.version` the
# events declare (ECS_VERSION below, memtriage_report::ECS_VERSION in the code).
#
# Needs node and npm (installed from Debian when missing). Usage: bash tests/ecs/check.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

ECS_VERSION=9.4.0

if ! command -v npm >/dev/null 2>&1; then
    echo "== installing nodejs and npm (Debian packages)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi

target="${CARGO_TARGET_DIR:-target}"
out="$target/ecs-check"
rm -rf "$out"
mkdir -p "$out"
npm install --silent --no-audit --no-fund --prefix "$out/npm" "@elastic/ecs@$ECS_VERSION" >/dev/null
cargo build -q -p memtriage-cli
bin="$target/debug/memtriage"

"$bin" report fixtures/samples/win10-19041.dmp -q --format jsonl --host WS01 --hash >"$out/sample.jsonl"
node tests/ecs/validate.js "$out/npm/node_modules/@elastic/ecs" "$ECS_VERSION" "$out/sample.jsonl"

# Negative control: the category/type pair memtriage wrote before ("malware" + "indicator"), an
# unknown ECS field and a wrong type must each be refused.
printf '%s\n' \
    '{"ecs":{"version":"'"$ECS_VERSION"'"},"event":{"kind":"alert","category":["malware"],"type":["indicator"]}}' \
    >"$out/bad-pair.jsonl"
printf '%s\n' \
    '{"ecs":{"version":"'"$ECS_VERSION"'"},"event":{"kind":"event","category":["process"],"type":["info"]},"process":{"pidd":1}}' \
    >"$out/bad-field.jsonl"
printf '%s\n' \
    '{"ecs":{"version":"'"$ECS_VERSION"'"},"event":{"kind":"event","category":["process"],"type":["info"]},"process":{"pid":"1"}}' \
    >"$out/bad-type.jsonl"
for bad in bad-pair bad-field bad-type; do
    if node tests/ecs/validate.js "$out/npm/node_modules/@elastic/ecs" "$ECS_VERSION" "$out/$bad.jsonl" 2>/dev/null; then
        echo "ecs check: FAIL: the negative control $bad.jsonl was accepted" >&2
        exit 1
    fi
done
echo "ecs check: ok (negative controls refused)"
