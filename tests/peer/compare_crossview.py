#!/usr/bin/env python3
"""Peer check of the process cross-view: Volatility 3's ``windows.malware.psxview`` and the
``views`` of memtriage's report must agree with each other and with the ground truth on every
column both have.

Columns compared (Volatility -> memtriage view): ``pslist`` -> ``active_list``, ``psscan`` ->
``pool``, ``csrss`` -> ``csrss_handles``, ``thrdscan`` -> ``threads``. Volatility finds a
thread's owner by a pool scan for threads, memtriage through PspCidTable's thread entries; on a
fixture they agree except where a thread id equals a process id (PspCidTable shares one id
space, so the fixture leaves such a thread out and its truth says so): those processes are
skipped for that column only. memtriage's ``cid_table`` has no Volatility column (psxview 2.28.2
omits it) and is checked against the truth alone.

Volatility 2.28.2's psxview drops every process whose name has a character other than ASCII
letters, ``.`` and space (``_filter_garbage_procs``), e.g. ``rundll32.exe``: the processes it
lists must be exactly the truth's processes with such names.
"""

import argparse
import json
import sys
from pathlib import Path
from typing import Dict, List

COLUMNS = {
    "pslist": "active_list",
    "psscan": "pool",
    "csrss": "csrss_handles",
    "thrdscan": "threads",
}
VIEWS = ["active_list", "pool", "cid_table", "csrss_handles", "threads"]
VOL_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ. ")


def h(v) -> int:
    return v if isinstance(v, int) else int(str(v), 16)


def va48(v) -> int:
    """A kernel address without its sign extension (Volatility prints 48-bit offsets)."""
    return h(v) & 0xFFFF_FFFF_FFFF


def vol_rows(rows: List[dict]) -> Dict[int, dict]:
    return {va48(r["Offset(Virtual)"]): r for r in rows}


def compare(truth: dict, vol: List[dict], report: dict) -> List[str]:
    problems = []
    tp = {va48(p["eprocess"]): p for p in truth["processes"]}
    mt = {va48(p["offset"]): p for p in report["processes"]}
    vr = vol_rows(vol)

    # memtriage against the truth: the exact views of every process.
    if set(mt) != set(tp):
        problems.append(f"memtriage processes {sorted(map(hex, mt))} != truth {sorted(map(hex, tp))}")
    for ep, p in tp.items():
        got = mt.get(ep, {}).get("views")
        if got != p["views"]:
            problems.append(f"memtriage pid {p['pid']} ({p['name']}): views {got} != truth {p['views']}")

    # Volatility lists exactly the truth processes with letter-only names.
    want_vol = {ep for ep, p in tp.items() if set(p["name"]) <= VOL_NAME_CHARS}
    if set(vr) != want_vol:
        problems.append(
            f"Volatility psxview processes {sorted(map(hex, vr))} != truth processes with letter-only names {sorted(map(hex, want_vol))}"
        )

    compared = 0
    for ep, row in vr.items():
        p = tp.get(ep)
        if p is None:
            continue
        views = mt.get(ep, {}).get("views", [])
        for col, view in COLUMNS.items():
            collision = view == "threads" and p["threads"] and not p["exited"] and view not in p["views"]
            if collision:
                continue
            if bool(row[col]) != (view in views):
                problems.append(
                    f"pid {p['pid']} ({p['name']}): Volatility {col}={row[col]} but memtriage {view} {'in' if view in views else 'not in'} views"
                )
            compared += 1
    if compared == 0:
        problems.append("no column compared")
    return problems


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--truth", type=Path, required=True)
    ap.add_argument("--vol", type=Path, required=True, help="psxview -r json output")
    ap.add_argument("--memtriage", type=Path, required=True, help="memtriage report --format json")
    a = ap.parse_args()
    problems = compare(
        json.loads(a.truth.read_text()),
        json.loads(a.vol.read_text()),
        json.loads(a.memtriage.read_text()),
    )
    for p in problems:
        print(f"MISMATCH {p}")
    if problems:
        return 1
    print("crossview peer check: Volatility psxview, memtriage views and the truth agree")
    return 0


if __name__ == "__main__":
    sys.exit(main())
