#!/usr/bin/env python3
"""Compare Volatility 3's windows.vadyarascan with memtriage yarascan: the (pid, rule, address)
sets must be equal. Volatility names a rule `namespace.identifier` (`default.r` for one rules
file); memtriage has the two in `namespace` and `rule`.

usage: compare_yara.py --vol VOL.json --memtriage MEMTRIAGE.json [--expect-rules R,R]
                       [--drop-one]
  --expect-rules  rules that must have at least one hit (so an empty result cannot pass)
  --drop-one      negative control: remove one memtriage hit first; the comparison must fail
exit 0 when equal, 1 when different (or an expected rule has no hit), 2 on bad input.
"""
import argparse
import json
import sys


def vol_hits(doc):
    """(pid, rule, address) of every row of a Volatility JSON rendering (nested or flat)."""
    out = set()
    stack = list(doc)
    while stack:
        row = stack.pop()
        stack.extend(row.get("__children", []))
        out.add((int(row["PID"]), str(row["Rule"]), int(row["Offset"])))
    return out


def memtriage_hits(doc):
    """(pid, namespace.rule, address) of every user-memory row of memtriage yarascan JSON."""
    out = set()
    for row in doc["rows"]:
        if row.get("space") != "user":
            continue
        out.add((int(row["pid"]), f'{row["namespace"]}.{row["rule"]}', int(row["address"], 16)))
    return out


def compare(vol, mt, expect_rules):
    """Lines describing every difference (empty when the sets agree)."""
    problems = []
    for pid, rule, addr in sorted(vol - mt):
        problems.append(f"only Volatility: pid {pid} {rule} at {addr:#x}")
    for pid, rule, addr in sorted(mt - vol):
        problems.append(f"only memtriage: pid {pid} {rule} at {addr:#x}")
    for rule in expect_rules:
        if not any(r == rule for _, r, _ in vol | mt):
            problems.append(f"no hit of {rule} in either tool")
    return problems


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vol", required=True)
    ap.add_argument("--memtriage", required=True)
    ap.add_argument("--expect-rules", default="")
    ap.add_argument("--drop-one", action="store_true")
    a = ap.parse_args(argv)
    try:
        with open(a.vol) as f:
            vol = vol_hits(json.load(f))
        with open(a.memtriage) as f:
            mt = memtriage_hits(json.load(f))
    except (OSError, ValueError, KeyError, TypeError) as e:
        print(f"compare_yara: {e}", file=sys.stderr)
        return 2
    if a.drop_one and mt:
        mt.discard(sorted(mt)[0])
    expect = [r for r in a.expect_rules.split(",") if r]
    problems = compare(vol, mt, expect)
    rules = sorted({r for _, r, _ in vol | mt})
    print(f"vadyarascan: {len(vol)} hits, memtriage yarascan: {len(mt)} hits, rules with hits: {', '.join(rules)}")
    for p in problems:
        print(p)
    print("AGREE" if not problems else f"DIFFER ({len(problems)})")
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
