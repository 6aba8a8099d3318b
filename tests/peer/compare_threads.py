#!/usr/bin/env python3
"""Peer check of ``unbacked_thread``: Volatility 3's ``windows.malware.suspicious_threads``
rows "not backed by a file" and memtriage's ``unbacked_thread`` findings must give the same
(pid, address) set, and both must equal the fixture's planted threads.

Volatility checks StartAddress and Win32StartAddress of every thread; the fixture's user
threads all have StartAddress in ntdll (an image), so only Win32StartAddress values can be
"not backed". Volatility skips a start address that lies in no VAD (it calls that smear);
memtriage reports it (``evidence.region`` null). So the Volatility set is compared with the
memtriage findings that have a region, and the memtriage findings without one are compared
with the planted starts that lie in no truth region.

Negative controls: the comparison must find nothing planted on a clean capture (both tools
silent), and ``compare`` itself is shown to fail when one pair is dropped from either side
(``self_check``), so that an always-passing comparison cannot go unnoticed.
"""

import argparse
import json
import sys
from pathlib import Path
from typing import Iterable, List, Set, Tuple

Pair = Tuple[int, int]
NOT_BACKED = "not backed by a file"


def h(v) -> int:
    return v if isinstance(v, int) else int(str(v), 16)


def vol_not_backed(rows: Iterable[dict]) -> Set[Pair]:
    """(pid, address) of the suspicious_threads rows whose note says "not backed by a file"."""
    return {(r["PID"], h(r["Address"])) for r in rows if NOT_BACKED in (r.get("Note") or "")}


def memtriage_unbacked(report: dict) -> Tuple[Set[Pair], Set[Pair]]:
    """(in a VAD, in no VAD) (pid, address) sets of the unbacked_thread findings."""
    in_vad, no_vad = set(), set()
    for f in report.get("findings", []):
        if f.get("rule") != "unbacked_thread":
            continue
        pair = (f["pid"], h(f["address"]))
        (in_vad if f["evidence"].get("region") else no_vad).add(pair)
    return in_vad, no_vad


def truth_unbacked(truth: dict) -> Tuple[Set[Pair], Set[Pair]]:
    """(in a VAD, in no VAD) (pid, address) sets of the planted unbacked threads."""
    regions = {p["pid"]: [(h(r["start"]), h(r["end"])) for r in p["regions"]]
               for p in truth["processes"]}
    in_vad, no_vad = set(), set()
    for a in truth.get("anomalies", []):
        if a["kind"] != "unbacked_thread":
            continue
        pair = (a["pid"], h(a["address"]))
        inside = any(s <= pair[1] <= e for s, e in regions.get(a["pid"], []))
        (in_vad if inside else no_vad).add(pair)
    return in_vad, no_vad


def describe(pairs: Set[Pair]) -> str:
    return ", ".join(f"(pid {p}, {a:#x})" for p, a in sorted(pairs)) or "none"


def compare(truth: dict, vol: Set[Pair], mt_in_vad: Set[Pair], mt_no_vad: Set[Pair],
            expect_planted: bool = True) -> List[str]:
    problems = []
    want_in, want_no = truth_unbacked(truth)
    if expect_planted and not want_in:
        problems.append("the truth plants no unbacked thread in a VAD: nothing to compare")
    for name, got, want in (("Volatility suspicious_threads (not backed by a file)", vol, want_in),
                            ("memtriage unbacked_thread (in a VAD)", mt_in_vad, want_in),
                            ("memtriage unbacked_thread (in no VAD)", mt_no_vad, want_no)):
        if got != want:
            problems.append(f"{name}: extra {describe(got - want)}; missing {describe(want - got)}")
    if vol != mt_in_vad:
        problems.append(f"Volatility and memtriage differ: only Volatility {describe(vol - mt_in_vad)};"
                        f" only memtriage {describe(mt_in_vad - vol)}")
    return problems


def self_check(truth: dict, vol: Set[Pair], mt_in_vad: Set[Pair], mt_no_vad: Set[Pair]) -> List[str]:
    """The comparison must fail when one pair is dropped from either tool's set."""
    problems = []
    for pair in sorted(vol)[:1]:
        if not compare(truth, vol - {pair}, mt_in_vad, mt_no_vad):
            problems.append(f"negative control: dropping {describe({pair})} from Volatility went unnoticed")
    for pair in sorted(mt_in_vad)[:1]:
        if not compare(truth, vol, mt_in_vad - {pair}, mt_no_vad):
            problems.append(f"negative control: dropping {describe({pair})} from memtriage went unnoticed")
    return problems


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--truth", type=Path, required=True)
    ap.add_argument("--vol", type=Path, required=True, help="suspicious_threads JSON (-r json)")
    ap.add_argument("--memtriage", type=Path, required=True, help="memtriage report JSON")
    ap.add_argument("--clean", action="store_true",
                    help="a capture without anomalies: both tools must be silent")
    a = ap.parse_args()
    truth = json.loads(a.truth.read_text())
    vol = vol_not_backed(json.loads(a.vol.read_text()))
    mt_in, mt_no = memtriage_unbacked(json.loads(a.memtriage.read_text()))
    problems = compare(truth, vol, mt_in, mt_no, expect_planted=not a.clean)
    if not a.clean and not problems:
        problems += self_check(truth, vol, mt_in, mt_no)
    label = "clean capture" if a.clean else "planted capture"
    for p in problems:
        print(f"[peer-threads] FAIL ({label}): {p}", file=sys.stderr)
    if problems:
        return 1
    print(f"[peer-threads] OK ({label}): Volatility {len(vol)} not-backed starts = memtriage "
          f"{len(mt_in)} in a VAD ({describe(vol)}); memtriage {len(mt_no)} outside every VAD",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
