#!/usr/bin/env python3
"""Peer check of page files: Volatility 3 (``--single-swap-locations``) and memtriage
(``--pagefile``) must read the same bytes from the paged-out pages, and neither may see them
without the page file.

Inputs: the truth of a capture generated with ``--page-out`` (its ``paged_out`` pages), the
page file itself (the independent source of the bytes), and four JSON files: Volatility's
``windows.malware.malfind`` with and without the swap location, memtriage's ``malfind`` with
and without ``--pagefile``. Compared: every paged-out page that starts a region malfind
reports (the planted RWX regions). Volatility 2.28.2 resolves a swapped page to the start of
the page whatever the offset inside it (``WindowsMixin._translate_swap`` in
``framework/layers/intel.py`` drops the in-page offset), so only reads at a page start (the
malfind hexdump of a region start) can be compared with it; memtriage's unaligned reads
(PEB fields, loader entries) are checked by the ground-truth tests instead.
"""

import argparse
import json
import sys
from pathlib import Path
from typing import Dict, List, Optional, Tuple

HEXDUMP_BYTES = 64


def h(v) -> int:
    return v if isinstance(v, int) else int(str(v), 16)


def vol_hexdumps(path: Path) -> Dict[Tuple[int, int], bytes]:
    out = {}
    for r in json.loads(path.read_text()):
        dump = bytes(int(t, 16) for t in (r.get("Hexdump") or "").split())
        out[(r["PID"], h(r["Start VPN"]))] = dump[:HEXDUMP_BYTES]
    return out


def memtriage_hexdumps(path: Path) -> Dict[Tuple[int, int], bytes]:
    out = {}
    for r in json.loads(path.read_text())["rows"]:
        dump = bytes(int(t, 16) for t in (r.get("hexdump") or "").split())
        out[(r["pid"], h(r["start"]))] = dump[:HEXDUMP_BYTES]
    return out


def compare(truth: dict, page_file: bytes, vol_with, vol_without, mt_with, mt_without) -> List[str]:
    problems = []
    checked = 0
    for p in truth.get("paged_out", []):
        key = (p["pid"], h(p["va"]))
        if key not in vol_with and key not in mt_with:
            continue  # not a region start malfind reports (PEB, heap)
        checked += 1
        off = h(p["offset"])
        want = page_file[off:off + HEXDUMP_BYTES]
        if len(want) != HEXDUMP_BYTES or not any(want):
            problems.append(f"{p['va']}: page file holds no data at {p['offset']}")
        for name, got in (("Volatility --single-swap-locations", vol_with.get(key)),
                          ("memtriage --pagefile", mt_with.get(key))):
            if got != want:
                problems.append(f"pid {p['pid']} {p['va']}: {name} read {got.hex() if got else None}, "
                                f"page file has {want.hex()}")
        for name, got in (("Volatility without swap", vol_without.get(key)),
                          ("memtriage without --pagefile", mt_without.get(key))):
            if got and any(got):
                problems.append(f"pid {p['pid']} {p['va']}: {name} read {got.hex()} from a paged-out page")
    if checked == 0:
        problems.append("no paged-out page starts a malfind region: nothing compared")
    print(f"page-file peer check: {checked} paged-out region starts compared, {len(problems)} problems")
    return problems


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--truth", required=True, type=Path)
    ap.add_argument("--page-file", required=True, type=Path)
    ap.add_argument("--vol-with", required=True, type=Path)
    ap.add_argument("--vol-without", required=True, type=Path)
    ap.add_argument("--memtriage-with", required=True, type=Path)
    ap.add_argument("--memtriage-without", required=True, type=Path)
    a = ap.parse_args(argv)
    problems = compare(
        json.loads(a.truth.read_text()),
        a.page_file.read_bytes(),
        vol_hexdumps(a.vol_with),
        vol_hexdumps(a.vol_without),
        memtriage_hexdumps(a.memtriage_with),
        memtriage_hexdumps(a.memtriage_without),
    )
    for p in problems:
        print("  " + p)
    print("RESULT:", "FAIL" if problems else "PASS")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
