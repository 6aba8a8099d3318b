#!/usr/bin/env python3
"""Compare memtriage's `modules --scan` with Volatility 3's windows.driverscan,
windows.malware.drivermodule and windows.modules on one capture, and with the fixture's truth.

Checks (all exact):
  driver objects   driverscan rows with a non-zero Start: (Offset, Start, Name) equal
                   memtriage's rows with by_driver_object: (driver_object, base, driver_name)
                   (in the fixtures DriverStart is the image base). Offset is virtual where
                   Volatility scans the kernel's virtual layer (Windows 10+), physical before
                   (then memtriage's offset_physical is compared)
  hidden drivers   drivermodule's offsets, less driver objects with Start 0 (IoCreateDriver
                   objects that memtriage leaves out by design), equal the offset_physical of
                   memtriage's unlisted rows found through a driver object
  listed modules   windows.modules (Base, Size, Name) equals memtriage's in_list rows
  truth            memtriage's unlisted bases equal the truth's unlinked_kernel_module anomalies

Negative control: each check is re-run on copies of memtriage's rows with one unlisted image
removed, and with one listed image marked unlisted; a copy that still passes every check means
the comparison cannot fail, and the run fails.

usage: drivers_compare.py --truth T.json --vol-dir DIR --memtriage SCAN.json [--json-out OUT]
  DIR holds windows.driverscan.json, windows.malware.drivermodule.json, windows.modules.json
"""

import argparse
import copy
import json
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Set, Tuple


def h(v: Any) -> Optional[int]:
    """Parse a "0x…" string / int / None into an int; a 48-bit kernel address (Volatility's
    JSON drops the sign extension) is made canonical."""
    if v is None:
        return None
    if not isinstance(v, int):
        v = int(str(v), 16) if str(v).lower().startswith("0x") else int(v)
    if (1 << 47) <= v < (1 << 48):
        v |= 0xFFFF << 48
    return v


def rows_of(doc: Any) -> List[Dict[str, Any]]:
    """Volatility's JSON renderer: a list of rows, children nested under __children."""
    out: List[Dict[str, Any]] = []
    stack = list(doc or [])
    while stack:
        r = stack.pop(0)
        out.append(r)
        stack.extend(r.get("__children") or [])
    return out


def object_offset(r: Dict[str, Any], virtual: bool) -> Optional[int]:
    """The driver object's address in memtriage's row, in Volatility's address space."""
    return h(r.get("driver_object") if virtual else r.get("offset_physical"))


def scans_virtual(vol_scan) -> bool:
    """Volatility scans the kernel's virtual layer on builds with an object-header cookie
    (Windows 10+), physical memory before: its offsets are kernel addresses or physical ones."""
    return any((h(r["Offset"]) or 0) >= 1 << 63 for r in vol_scan)


def check_driver_objects(vol_scan, mt) -> List[str]:
    virtual = scans_virtual(vol_scan)
    want: Set[Tuple[int, int, str]] = {
        (h(r["Offset"]), h(r["Start"]), r.get("Name") or "")
        for r in vol_scan
        if h(r.get("Start"))
    }
    got = {
        (object_offset(r, virtual), h(r["base"]), r.get("driver_name") or "")
        for r in mt
        if r.get("by_driver_object")
    }
    return diff("driver objects", want, got)


def check_hidden(vol_scan, vol_module, mt) -> List[str]:
    virtual = scans_virtual(vol_scan)
    no_image = {h(r["Offset"]) for r in vol_scan if not h(r.get("Start"))}
    want = {h(r["Offset"]) for r in vol_module} - no_image
    got = {
        object_offset(r, virtual)
        for r in mt
        if r.get("by_driver_object") and not r.get("in_list")
    }
    return diff("hidden drivers", want, got)


def check_listed(vol_modules, mt) -> List[str]:
    want = {(h(r["Base"]), h(r["Size"]), r.get("Name") or "") for r in vol_modules}
    got = {(h(r["base"]), h(r["size"]), r.get("name") or "") for r in mt if r.get("in_list")}
    return diff("listed modules", want, got)


def check_truth(truth, mt) -> List[str]:
    want = {
        h(a["address"])
        for a in truth.get("anomalies", [])
        if a["kind"] == "unlinked_kernel_module"
    }
    got = {h(r["base"]) for r in mt if not r.get("in_list")}
    return diff("truth", want, got)


def diff(name: str, want: Set[Any], got: Set[Any]) -> List[str]:
    def fmt(x: Any) -> str:
        if isinstance(x, tuple):
            return "(" + ", ".join(hex(v) if isinstance(v, int) else repr(v) for v in x) + ")"
        return hex(x) if isinstance(x, int) else repr(x)

    out = [f"{name}: Volatility/truth only {fmt(x)}" for x in sorted(want - got, key=str)]
    out += [f"{name}: memtriage only {fmt(x)}" for x in sorted(got - want, key=str)]
    return out


def all_checks(truth, vol, mt) -> Dict[str, List[str]]:
    return {
        "driver objects": check_driver_objects(vol["driverscan"], mt),
        "hidden drivers": check_hidden(vol["driverscan"], vol["drivermodule"], mt),
        "listed modules": check_listed(vol["modules"], mt),
        "truth": check_truth(truth, mt),
    }


def mutations(mt: List[Dict[str, Any]]) -> List[Tuple[str, List[Dict[str, Any]]]]:
    """Copies of memtriage's rows that are wrong in one way each."""
    out = []
    for i, r in enumerate(mt):
        if not r.get("in_list"):
            out.append((f"unlisted {r['base']} dropped", mt[:i] + mt[i + 1:]))
    listed = [i for i, r in enumerate(mt) if r.get("in_list")]
    if listed:
        m = copy.deepcopy(mt)
        m[listed[-1]]["in_list"] = False
        out.append((f"listed {m[listed[-1]]['base']} marked unlisted", m))
    return out


def compare(truth, vol, mt) -> Tuple[Dict[str, List[str]], List[str]]:
    """The checks' problems, and the mutations that no check caught."""
    results = all_checks(truth, vol, mt)
    uncaught = []
    for what, m in mutations(mt):
        if not any(all_checks(truth, vol, m).values()):
            uncaught.append(what)
    return results, uncaught


def load(path: Path) -> Any:
    text = path.read_text()
    if not text.strip():
        raise SystemExit(f"{path}: empty (see {path.with_suffix('.stderr')})")
    return json.loads(text)


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--truth", required=True, type=Path)
    ap.add_argument("--vol-dir", required=True, type=Path)
    ap.add_argument("--memtriage", required=True, type=Path)
    ap.add_argument("--json-out", type=Path)
    a = ap.parse_args(argv)
    truth = load(a.truth)
    vol = {
        "driverscan": rows_of(load(a.vol_dir / "windows.driverscan.json")),
        "drivermodule": rows_of(load(a.vol_dir / "windows.malware.drivermodule.json")),
        "modules": rows_of(load(a.vol_dir / "windows.modules.json")),
    }
    doc = load(a.memtriage)
    # `memtriage modules --scan --format json`: {"rows": [...], ...}; a bare list is accepted too.
    mt = doc["rows"] if isinstance(doc, dict) else doc
    results, uncaught = compare(truth, vol, mt)
    failed = False
    for name, problems in results.items():
        print(f"[drivers] {name}: {'PASS' if not problems else 'FAIL'}")
        for p in problems:
            print(f"    {p}")
        failed |= bool(problems)
    hidden = sorted(h(r["base"]) for r in mt if not r.get("in_list"))
    print(f"[drivers] unlisted images: {len(hidden)} ({', '.join(hex(b) for b in hidden)})")
    print(f"[drivers] negative control: {len(mutations(mt)) - len(uncaught)}/{len(mutations(mt))} mutations caught")
    for u in uncaught:
        print(f"    not caught: {u}")
    failed |= bool(uncaught)
    if a.json_out:
        a.json_out.write_text(json.dumps({"checks": results, "uncaught_mutations": uncaught}, indent=2))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
