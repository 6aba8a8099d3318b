#!/usr/bin/env python3
"""Compare Volatility 3 JSON output (and optionally a memtriage report) with fixture ground truth.

usage: compare.py --truth W.truth.json --vol-dir DIR [--formats raw,full,bitmap]
                  [--memtriage REPORT.json] [--json-out SUMMARY.json]

DIR/<format>/<plugin>.json is what `vol -r json -f <capture> <plugin>` printed.

Every comparison lands in one of three buckets:
  agree      Volatility (or memtriage) says what the truth says, possibly after a documented
             convention is applied (see CONVENTIONS, printed with the table);
  explained  a difference that a documented Volatility rule predicts (see RULES);
  disagree   anything else. Any `disagree`, or a plugin that produced no JSON, exits 1.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Tuple

MASK48 = (1 << 48) - 1

CONVENTIONS = {
    "va48": "Volatility prints kernel virtual addresses masked to 48 bits (no sign extension): "
    "0xffffe00012345678 is shown as 0xe00012345678 (layers/intel.py masks with address_mask; "
    "kernel_virtual_offset comes from LmTarget/KernBase & 0xffffffffffff).",
    "psscan_pa": "windows.psscan on builds without ObHeaderCookie (7601, 9600) scans the physical "
    "layer, so its Offset(V) column is the PHYSICAL address of the EPROCESS "
    "(plugins/windows/poolscanner.py: scan_layer = memory_layer unless is_windows_10).",
    "name15": "ImageFileName is a 15-byte array: long names are truncated (Volatility prints "
    "what the array holds).",
    "time_sec": "Create/exit times compared to the second (truth is written with 1 s resolution).",
}

RULES = {
    "ldr_mz_vad": "windows.malware.ldrmodules emits one row for EVERY VAD whose first two bytes "
    "read 'MZ', private ones included (ldrmodules.py:64-81): injected PEs, hollowed "
    "images and MZ-looking private data appear with InLoad/InInit/InMem all False.",
    "lists_active_only": "vadinfo, dlllist, ldrmodules and malfind take their processes from "
    "pslist (the ActiveProcessLinks list): a process unlinked from that list (hidden) or exited "
    "is not examined by them.",
    "malfind_rx_dirty": "malfind also reports a PAGE_EXECUTE(_READ) VAD when one of its PTEs "
    "(before the first unmapped page) has the dirty bit set (malfind.py:143-159).",
}


# ----------------------------------------------------------------------------- helpers


def h(v: Any) -> Optional[int]:
    """Parse a "0x…" string / int / None into an int."""
    if v is None:
        return None
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, int):
        return v
    if isinstance(v, str):
        s = v.strip()
        if s in ("", "N/A", "-"):
            return None
        return int(s, 0)
    raise ValueError(f"not an address: {v!r}")


def fmt(v: Optional[int]) -> str:
    return "None" if v is None else hex(v)


def parse_time(v: Any) -> Optional[dt.datetime]:
    if v in (None, "", "N/A"):
        return None
    s = str(v).replace("Z", "+00:00")
    t = dt.datetime.fromisoformat(s)
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.timezone.utc)
    return t.astimezone(dt.timezone.utc).replace(microsecond=0)


def flatten(rows: Iterable[Dict[str, Any]]) -> List[Dict[str, Any]]:
    out: List[Dict[str, Any]] = []
    for r in rows:
        out.append(r)
        out.extend(flatten(r.get("__children", []) or []))
    return out


def norm_path(p: Optional[str]) -> Optional[str]:
    if p is None or p in ("N/A", ""):
        return None
    return p


class Check:
    """One row of the result table."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.agree = 0
        self.explained = 0
        self.disagree = 0
        self.errors: List[str] = []
        self.details: List[str] = []
        self.rules: set = set()
        self.conventions: set = set()

    def ok(self, convention: Optional[str] = None) -> None:
        self.agree += 1
        if convention:
            self.conventions.add(convention)

    def expl(self, rule: str, detail: str) -> None:
        self.explained += 1
        self.rules.add(rule)
        self.details.append(f"explained[{rule}]: {detail}")

    def bad(self, detail: str) -> None:
        self.disagree += 1
        self.details.append(f"DISAGREE: {detail}")

    def error(self, msg: str) -> None:
        self.errors.append(msg)

    @property
    def failed(self) -> bool:
        return self.disagree > 0 or bool(self.errors)

    def as_dict(self) -> Dict[str, Any]:
        return {
            "check": self.name,
            "agree": self.agree,
            "explained": self.explained,
            "disagree": self.disagree,
            "errors": self.errors,
            "rules": sorted(self.rules),
            "conventions": sorted(self.conventions),
            "details": self.details,
        }


# ----------------------------------------------------------------------------- truth model


class Truth:
    def __init__(self, doc: Dict[str, Any]) -> None:
        self.doc = doc
        self.build = int(doc["scenario"]["build"])
        # Builds whose ISF has ObHeaderCookie: Volatility treats them as Windows 10.
        self.win10 = self.build >= 10240
        self.procs = doc["processes"]
        self.by_pid = {p["pid"]: p for p in self.procs}
        self.active = [p for p in self.procs if p.get("in_active_list")]
        self.active_pids = {p["pid"] for p in self.active}
        self.anomalies = doc.get("anomalies", [])
        self.decoys = doc.get("decoys", [])
        self.private_mz = set()  # (pid, addr): private regions starting with MZ
        for a in self.anomalies:
            if a["kind"] in ("injected_pe", "process_hollowing"):
                self.private_mz.add((a["pid"], h(a["address"])))
        for d in self.decoys:
            if d["kind"] == "rw_mz":
                self.private_mz.add((d["pid"], h(d["address"])))


def load_json(path: Path) -> Tuple[Optional[List[Dict[str, Any]]], Optional[str]]:
    if not path.exists():
        return None, f"{path} missing"
    text = path.read_text()
    if not text.strip():
        err = path.with_suffix(".stderr")
        tail = err.read_text().strip().splitlines()[-3:] if err.exists() else []
        return None, f"{path.name} is empty; stderr: {' | '.join(tail)}"
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        first = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
        err = path.with_suffix(".stderr")
        tail = err.read_text().strip().splitlines()[-1:] if err.exists() else []
        return None, f"{path.name}: no JSON; Volatility said: {first} {' '.join(tail)}".strip()
    return flatten(data), None


# ----------------------------------------------------------------------------- checks


def same_name(vol: str, truth: str) -> Tuple[bool, Optional[str]]:
    if vol == truth:
        return True, None
    if len(truth) > len(vol) >= 14 and truth.startswith(vol):
        return True, "name15"
    return False, None


def check_process_rows(
    check: Check,
    rows: List[Dict[str, Any]],
    truth: Truth,
    expected: List[Dict[str, Any]],
    offset_kind: str,
) -> Dict[int, Dict[str, Any]]:
    seen: Dict[int, Dict[str, Any]] = {}
    for r in rows:
        pid = r.get("PID")
        if pid in seen:
            check.bad(f"pid {pid} reported twice (offsets {fmt(h(seen[pid].get('Offset(V)')))} and "
                      f"{fmt(h(r.get('Offset(V)')))})")
            continue
        seen[pid] = r
    exp_pids = {p["pid"] for p in expected}
    for p in expected:
        pid = p["pid"]
        r = seen.get(pid)
        if r is None:
            check.bad(f"pid {pid} ({p['name']}) in truth, not reported")
            continue
        problems = []
        conv = set()
        if r.get("PPID") != p["ppid"]:
            problems.append(f"ppid {r.get('PPID')} != truth {p['ppid']}")
        okn, c = same_name(r.get("ImageFileName") or "", p["name"])
        if not okn:
            problems.append(f"name {r.get('ImageFileName')!r} != truth {p['name']!r}")
        elif c:
            conv.add(c)
        off = h(r.get("Offset(V)"))
        if offset_kind == "pa":
            want = h(p["eprocess_pa"])
            if off != want:
                problems.append(f"offset {fmt(off)} != truth eprocess_pa {fmt(want)}")
            else:
                conv.add("psscan_pa")
        else:
            va = h(p["eprocess"])
            if off == va:
                pass
            elif off == va & MASK48:
                conv.add("va48")
            else:
                problems.append(f"offset {fmt(off)} != truth eprocess {fmt(va)}")
        ct = parse_time(r.get("CreateTime"))
        want_ct = parse_time(p.get("create_time"))
        if p["pid"] == 4 and want_ct is None:
            pass
        elif ct != want_ct:
            problems.append(f"create_time {ct} != truth {want_ct}")
        et = parse_time(r.get("ExitTime"))
        want_et = parse_time(p.get("exit_time"))
        if et != want_et:
            problems.append(f"exit_time {et} != truth {want_et}")
        if problems:
            check.bad(f"pid {pid} ({p['name']}): " + "; ".join(problems))
        else:
            check.ok()
            for c in conv:
                check.conventions.add(c)
    for pid, r in seen.items():
        if pid not in exp_pids:
            check.bad(f"pid {pid} ({r.get('ImageFileName')}) reported at {fmt(h(r.get('Offset(V)')))}, "
                      "not expected by the truth")
    return seen


def check_pslist(rows, truth: Truth) -> Tuple[Check, Dict[int, Any]]:
    c = Check("processes (pslist)")
    seen = check_process_rows(c, rows, truth, truth.active, "va")
    return c, seen


def check_psscan(rows, truth: Truth) -> Tuple[Check, Dict[int, Any]]:
    c = Check("processes (psscan)")
    seen = check_process_rows(c, rows, truth, truth.procs, "va" if truth.win10 else "pa")
    return c, seen


def check_hidden(pslist_seen, psscan_seen, truth: Truth) -> Check:
    c = Check("hidden process (psscan - pslist)")
    if pslist_seen is None or psscan_seen is None:
        c.error("needs both pslist and psscan output")
        return c
    for p in truth.procs:
        if not p.get("hidden"):
            continue
        in_scan = p["pid"] in psscan_seen
        in_list = p["pid"] in pslist_seen
        if in_scan and not in_list:
            c.ok()
        else:
            c.bad(f"hidden pid {p['pid']} ({p['name']}): psscan={in_scan} pslist={in_list}")
    for pid in set(psscan_seen) - set(pslist_seen):
        p = truth.by_pid.get(pid)
        if p is None or not (p.get("hidden") or p.get("exited")):
            c.bad(f"pid {pid} found only by psscan but the truth does not call it hidden/exited")
    return c


def check_vads(rows, truth: Truth) -> Check:
    c = Check("VADs (vadinfo)")
    got = {}
    for r in rows:
        key = (r.get("PID"), h(r.get("Start VPN")))
        if key in got:
            c.bad(f"pid {key[0]} VAD {fmt(key[1])} reported twice")
        got[key] = r
    expected = set()
    for p in truth.active:
        for reg in p.get("regions", []):
            start = h(reg["start"])
            key = (p["pid"], start)
            expected.add(key)
            r = got.get(key)
            if r is None:
                c.bad(f"pid {p['pid']} VAD {fmt(start)}-{reg['end']} ({reg['tag']}, {reg['protection']}) "
                      "not reported")
                continue
            problems = []
            if h(r.get("End VPN")) != h(reg["end"]):
                problems.append(f"end {fmt(h(r.get('End VPN')))} != truth {reg['end']}")
            if (r.get("Protection") or "") != reg["protection"]:
                problems.append(f"protection {r.get('Protection')!r} != truth {reg['protection']!r}")
            if norm_path(r.get("File")) != norm_path(reg.get("file")):
                problems.append(f"file {r.get('File')!r} != truth {reg.get('file')!r}")
            if r.get("Tag") != reg["tag"]:
                problems.append(f"tag {r.get('Tag')!r} != truth {reg['tag']!r}")
            if r.get("CommitCharge") != reg["commit_charge"]:
                problems.append(f"commit {r.get('CommitCharge')} != truth {reg['commit_charge']}")
            if bool(r.get("PrivateMemory")) != bool(reg["private"]):
                problems.append(f"private {r.get('PrivateMemory')} != truth {reg['private']}")
            if problems:
                c.bad(f"pid {p['pid']} VAD {fmt(start)}: " + "; ".join(problems))
            else:
                c.ok()
    for key, r in got.items():
        if key not in expected:
            c.bad(f"pid {key[0]} VAD {fmt(key[1])}-{r.get('End VPN')} reported, not in truth")
    hidden = [p for p in truth.procs if not p.get("in_active_list") and p.get("regions")]
    for p in hidden:
        c.rules.add("lists_active_only")
    return c


KERNEL_METHODS = {
    "searching layer module list structure": "kdbg/module-list",
    "testing fixed base address": "fixed mapping",
    "optimized scan virtual layer": "virtual scan",
    "slow scan virtual layer": "slow virtual scan",
}


def check_kernel(stderr_path: Path, truth: Truth) -> Check:
    """DTB and kernel base as Volatility chose them (from `vol -vv windows.pslist` stderr)."""
    c = Check("kernel discovery (DTB, base)")
    if not stderr_path.exists():
        c.error(f"{stderr_path} missing")
        return c
    dtb = kvo = None
    method = "low stub"
    for line in stderr_path.read_text(errors="replace").replace("\r", "\n").splitlines():
        if "DTB was found at:" in line:
            dtb = int(line.rsplit(":", 1)[1].strip(), 16)
        elif "Setting kernel_virtual_offset to" in line:
            kvo = int(line.rsplit(" ", 1)[1].strip(), 16)
        elif "Kernel base determination - " in line and kvo is None:
            tail = line.split("Kernel base determination - ", 1)[1].strip()
            method = KERNEL_METHODS.get(tail, tail)
    sysinfo = truth.doc.get("system", {})
    want_dtb = h(sysinfo.get("dtb"))
    want_base = h(sysinfo.get("kernel_base"))
    if dtb is None:
        c.bad("no 'DTB was found' line: Volatility found no DTB")
    elif dtb == want_dtb:
        c.ok()
    else:
        c.bad(f"DTB {fmt(dtb)} != truth {fmt(want_dtb)}")
    if kvo is None:
        c.bad("no kernel_virtual_offset set: Volatility found no kernel")
    elif want_base is not None and kvo == want_base & MASK48:
        c.ok("va48")
        c.details.append(f"note: kernel base {fmt(kvo)} found by the {method} method")
    else:
        c.bad(f"kernel base {fmt(kvo)} != truth {fmt(want_base)} (method: {method})")
    return c


def check_kernel_modules(rows, truth: Truth) -> Check:
    """windows.modules (PsLoadedModuleList) against the truth's kernel_modules, in order."""
    c = Check("kernel modules (modules)")
    want = truth.doc.get("kernel_modules", [])
    got = {}
    for r in rows:
        got[h(r.get("Base"))] = r
    seen = set()
    for m in want:
        base = h(m["base"])
        r = got.get(base)
        conv = None
        if r is None:
            r = got.get(base & MASK48)
            conv = "va48"
        if r is None:
            c.bad(f"kernel module {m['name']} at {m['base']} not reported")
            continue
        seen.add(h(r.get("Base")))
        problems = []
        if h(r.get("Size")) != h(m["size"]):
            problems.append(f"size {fmt(h(r.get('Size')))} != truth {m['size']}")
        if r.get("Name") != m["name"]:
            problems.append(f"name {r.get('Name')!r} != truth {m['name']!r}")
        if r.get("Path") != m["path"]:
            problems.append(f"path {r.get('Path')!r} != truth {m['path']!r}")
        if problems:
            c.bad(f"kernel module {m['name']}: " + "; ".join(problems))
        else:
            c.ok(conv)
    for base, r in got.items():
        if base not in seen:
            c.bad(f"kernel module {r.get('Name')} at {fmt(base)} reported, not in truth")
    return c


def check_dlllist(rows, truth: Truth) -> Check:
    """Volatility's dlllist walks the 64-bit InLoadOrder list and, for WoW64 processes, the
    32-bit one too: the exe can appear once per list."""
    c = Check("modules (dlllist)")
    got: Dict[Tuple[int, int], List[Dict[str, Any]]] = {}
    for r in rows:
        got.setdefault((r.get("PID"), h(r.get("Base"))), []).append(r)
    expected: Dict[Tuple[int, int], List[Dict[str, Any]]] = {}
    for p in truth.active:
        for m in list(p.get("modules", [])) + list(p.get("modules32", []) or []):
            if m.get("in_load"):
                expected.setdefault((p["pid"], h(m["base"])), []).append(m)
    for key, mods in expected.items():
        rs = list(got.get(key, []))
        for m in mods:
            match = next((r for r in rs if r.get("Name") == m["name"] and r.get("Path") == m["path"]
                          and h(r.get("Size")) == h(m["size"])), None)
            if match is None:
                c.bad(f"pid {key[0]} module {m['name']} at {m['base']} not reported with that name, "
                      f"path and size (rows: {[(r.get('Name'), r.get('Path')) for r in rs]})")
            else:
                rs.remove(match)
                c.ok()
        for r in rs:
            c.bad(f"pid {key[0]} module {fmt(key[1])} reported more often than the truth's lists hold it")
    for key, rs in got.items():
        if key not in expected:
            c.bad(f"pid {key[0]} module {rs[0].get('Name')} at {fmt(key[1])} reported, not in the truth's "
                  "InLoadOrder lists")
    return c


def check_ldrmodules(rows, truth: Truth) -> Check:
    c = Check("ldrmodules flags")
    got = {}
    for r in rows:
        key = (r.get("Pid"), h(r.get("Base")))
        got[key] = r
    expected = set()
    for p in truth.active:
        region_starts = {h(reg["start"]) for reg in p.get("regions", [])}
        # A WoW64 process's images are on its 64-bit or its 32-bit lists; Volatility reads both
        # and ORs the membership per image base.
        merged: Dict[int, Dict[str, Any]] = {}
        for m0 in list(p.get("modules", [])) + list(p.get("modules32", []) or []):
            m = merged.setdefault(h(m0["base"]), dict(m0))
            for k in ("in_load", "in_mem", "in_init"):
                m[k] = bool(m.get(k)) or bool(m0.get(k))
        for m in merged.values():
            base = h(m["base"])
            key = (p["pid"], base)
            if base not in region_starts:
                # No VAD starts at this base: Volatility cannot list it (rows are per VAD).
                continue
            expected.add(key)
            r = got.get(key)
            if r is None:
                c.bad(f"pid {p['pid']} module {m['name']} at {m['base']} has no ldrmodules row")
                continue
            want = (bool(m["in_load"]), bool(m["in_init"]), bool(m["in_mem"]))
            have = (bool(r.get("InLoad")), bool(r.get("InInit")), bool(r.get("InMem")))
            if want == have:
                c.ok()
            else:
                c.bad(f"pid {p['pid']} {m['name']} at {m['base']}: (InLoad, InInit, InMem) = {have}, "
                      f"truth {want}")
    for key, r in got.items():
        if key in expected:
            continue
        if key in truth.private_mz:
            flags = (bool(r.get("InLoad")), bool(r.get("InInit")), bool(r.get("InMem")))
            if flags == (False, False, False):
                c.expl("ldr_mz_vad", f"pid {key[0]} private MZ region {fmt(key[1])} listed with no list "
                       "membership")
            else:
                c.bad(f"pid {key[0]} private MZ region {fmt(key[1])} claims list membership {flags}")
        else:
            c.bad(f"pid {key[0]} row at {fmt(key[1])} ({r.get('MappedPath')}) not expected")
    return c



def vol_malfind_expected(truth: Truth) -> Dict[Tuple[int, int], Dict[str, Any]]:
    """VADs that Volatility's malfind rule must report, computed from the truth regions."""
    out = {}
    for p in truth.active:
        for reg in p.get("regions", []):
            prot = reg["protection"]
            if not ("EXECUTE" in prot and "WRITE" in prot):
                continue
            private = bool(reg["private"])
            if not ((private and reg["tag"] == "VadS") or (not private and prot != "PAGE_EXECUTE_WRITECOPY")):
                continue
            if not reg.get("committed", True) or reg.get("commit_charge", 0) == 0 and private:
                continue
            out[(p["pid"], h(reg["start"]))] = reg
    return out


def check_malfind(rows, truth: Truth) -> Check:
    c = Check("malfind hits")
    got = {(r.get("PID"), h(r.get("Start VPN"))): r for r in rows}
    expected = vol_malfind_expected(truth)
    anomaly_addrs: Dict[Tuple[int, int], str] = {}
    for a in truth.anomalies:
        key = (a["pid"], h(a["address"]))
        anomaly_addrs[key] = "+".join(filter(None, [anomaly_addrs.get(key), a["kind"]]))
    decoy_addrs = {(d["pid"], h(d["address"])): d["kind"] for d in truth.decoys}
    for key, reg in expected.items():
        if key in got:
            c.ok()
        else:
            c.bad(f"pid {key[0]} {reg['protection']} {reg['tag']} region {fmt(key[1])} not reported")
    for key, r in got.items():
        if key in expected:
            continue
        if key in decoy_addrs:
            c.bad(f"pid {key[0]} decoy {decoy_addrs[key]} at {fmt(key[1])} reported ({r.get('Protection')})")
        elif key in anomaly_addrs and "EXECUTE" in (r.get("Protection") or ""):
            c.expl("malfind_rx_dirty", f"pid {key[0]} {anomaly_addrs[key]} {r.get('Protection')} at "
                   f"{fmt(key[1])}")
        else:
            c.bad(f"pid {key[0]} {r.get('Protection')} {r.get('Tag')} at {fmt(key[1])} reported, "
                  "not expected")
    # Planted anomalies in listed processes that are RWX/private should all be among the hits.
    for a in truth.anomalies:
        if a["kind"] == "rwx_private" and a["pid"] in truth.active_pids:
            if (a["pid"], h(a["address"])) not in got:
                c.details.append(f"note: planted rwx_private pid {a['pid']} {a['address']} not in malfind")
    return c


# ----------------------------------------------------------------------------- memtriage hook


def check_memtriage(report: Dict[str, Any], truth: Truth) -> List[Check]:
    """Compare a memtriage JSON report (processes/regions/modules/findings) with the truth."""
    cp, cr, cm, cf = (Check("memtriage processes"), Check("memtriage regions"),
                      Check("memtriage modules"), Check("memtriage findings"))
    procs = {p.get("pid"): p for p in report.get("processes", [])}
    for t in truth.procs:
        p = procs.get(t["pid"])
        if p is None:
            if t.get("in_active_list"):
                cp.bad(f"pid {t['pid']} ({t['name']}) missing")
            continue
        problems = []
        if p.get("ppid") != t["ppid"]:
            problems.append(f"ppid {p.get('ppid')} != {t['ppid']}")
        if p.get("name") != t["name"]:
            problems.append(f"name {p.get('name')!r} != {t['name']!r}")
        if h(p.get("offset")) not in (h(t["eprocess"]), h(t["eprocess"]) & MASK48):
            problems.append(f"offset {p.get('offset')} != {t['eprocess']}")
        if parse_time(p.get("create_time")) != parse_time(t.get("create_time")):
            problems.append(f"create_time {p.get('create_time')} != {t.get('create_time')}")
        if problems:
            cp.bad(f"pid {t['pid']}: " + "; ".join(problems))
        else:
            cp.ok()
        regs = {h(r.get("start")): r for r in p.get("regions", []) or []}
        for reg in t.get("regions", []):
            r = regs.get(h(reg["start"]))
            if r is None:
                cr.bad(f"pid {t['pid']} region {reg['start']} missing")
                continue
            probs = []
            if h(r.get("end")) != h(reg["end"]):
                probs.append(f"end {r.get('end')} != {reg['end']}")
            if r.get("protection") != reg["protection"]:
                probs.append(f"protection {r.get('protection')} != {reg['protection']}")
            if norm_path(r.get("file")) != norm_path(reg.get("file")):
                probs.append(f"file {r.get('file')} != {reg.get('file')}")
            if probs:
                cr.bad(f"pid {t['pid']} region {reg['start']}: " + "; ".join(probs))
            else:
                cr.ok()
        mods = {h(m.get("base")): m for m in p.get("modules", []) or []}
        for m in list(t.get("modules", [])) + list(t.get("modules32", []) or []):
            if not (m.get("in_load") or m.get("in_mem") or m.get("in_init")):
                continue  # a fully unlinked image is a finding, not a module
            r = mods.get(h(m["base"]))
            if r is None:
                cm.bad(f"pid {t['pid']} module {m['name']} {m['base']} missing")
                continue
            probs = []
            for k in ("name", "path"):
                if r.get(k) != m[k]:
                    probs.append(f"{k} {r.get(k)!r} != {m[k]!r}")
            if h(r.get("size")) != h(m["size"]):
                probs.append(f"size {r.get('size')} != {m['size']}")
            for k in ("in_load", "in_mem", "in_init"):
                if bool(r.get(k)) != bool(m[k]):
                    probs.append(f"{k} {r.get(k)} != {m[k]}")
            if probs:
                cm.bad(f"pid {t['pid']} module {m['base']}: " + "; ".join(probs))
            else:
                cm.ok()
    # Kernel findings (unlinked_kernel_module) have a null pid; the truth says 0.
    findings = {(f.get("pid") or 0, h(f.get("address"))) for f in report.get("findings", []) or []}
    for a in truth.anomalies:
        if (a["pid"], h(a["address"])) in findings:
            cf.ok()
        else:
            cf.bad(f"anomaly {a['kind']} pid {a['pid']} {a['address']} has no finding")
    for d in truth.decoys:
        if (d["pid"], h(d["address"])) in findings:
            cf.bad(f"decoy {d['kind']} pid {d['pid']} {d['address']} flagged")
    return [cp, cr, cm, cf]


# ----------------------------------------------------------------------------- main


PLUGIN_FILES = {
    "pslist": "windows.pslist.json",
    "psscan": "windows.psscan.json",
    "vadinfo": "windows.vadinfo.json",
    "dlllist": "windows.dlllist.json",
    "ldrmodules": "windows.malware.ldrmodules.json",
    "malfind": "windows.malware.malfind.json",
    "modules": "windows.modules.json",
}


def run_format(vol_dir: Path, truth: Truth) -> List[Check]:
    data: Dict[str, Optional[List[Dict[str, Any]]]] = {}
    errs: Dict[str, str] = {}
    for key, fname in PLUGIN_FILES.items():
        rows, err = load_json(vol_dir / fname)
        data[key] = rows
        if err:
            errs[key] = err

    def guarded(name: str, key: str, fn) -> Check:
        if data[key] is None:
            c = Check(name)
            c.error(errs[key])
            return c
        return fn(data[key], truth)

    checks: List[Check] = [check_kernel(vol_dir / "windows.pslist.stderr", truth)]
    pslist_seen = psscan_seen = None
    if data["pslist"] is not None:
        c, pslist_seen = check_pslist(data["pslist"], truth)
    else:
        c = Check("processes (pslist)")
        c.error(errs["pslist"])
    checks.append(c)
    if data["psscan"] is not None:
        c, psscan_seen = check_psscan(data["psscan"], truth)
    else:
        c = Check("processes (psscan)")
        c.error(errs["psscan"])
    checks.append(c)
    checks.append(check_hidden(pslist_seen, psscan_seen, truth))
    checks.append(guarded("VADs (vadinfo)", "vadinfo", check_vads))
    checks.append(guarded("modules (dlllist)", "dlllist", check_dlllist))
    checks.append(guarded("ldrmodules flags", "ldrmodules", check_ldrmodules))
    checks.append(guarded("malfind hits", "malfind", check_malfind))
    if (vol_dir / PLUGIN_FILES["modules"]).exists():
        checks.append(guarded("kernel modules (modules)", "modules", check_kernel_modules))
    return checks


def print_table(title: str, checks: List[Check]) -> None:
    print(f"\n== {title}")
    print(f"{'check':36} {'agree':>6} {'explained':>9} {'disagree':>8}  status")
    for c in checks:
        status = "ERROR: " + "; ".join(c.errors) if c.errors else ("FAIL" if c.disagree else "ok")
        print(f"{c.name:36} {c.agree:6d} {c.explained:9d} {c.disagree:8d}  {status}")
    for c in checks:
        for d in c.details[:40]:
            print(f"  [{c.name}] {d}")
        if len(c.details) > 40:
            print(f"  [{c.name}] … {len(c.details) - 40} more")


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--truth", required=True, type=Path)
    ap.add_argument("--vol-dir", type=Path, help="folder with one sub-folder of Volatility JSON per format")
    ap.add_argument("--formats", default="raw,full,bitmap")
    ap.add_argument("--memtriage", type=Path, help="memtriage JSON report to compare as well")
    ap.add_argument("--json-out", type=Path, help="write the summary as JSON here")
    args = ap.parse_args(argv)

    truth = Truth(json.loads(args.truth.read_text()))
    summary: Dict[str, Any] = {"truth": str(args.truth), "build": truth.build, "formats": {}}
    failed = False
    used_conv, used_rules = set(), set()
    if args.vol_dir:
        for fmt_name in [f for f in args.formats.split(",") if f]:
            checks = run_format(args.vol_dir / fmt_name, truth)
            print_table(f"Volatility 3 vs truth: build {truth.build}, format {fmt_name}", checks)
            summary["formats"][fmt_name] = [c.as_dict() for c in checks]
            failed |= any(c.failed for c in checks)
            for c in checks:
                used_conv |= c.conventions
                used_rules |= c.rules
    if args.memtriage:
        if args.memtriage.exists():
            checks = check_memtriage(json.loads(args.memtriage.read_text()), truth)
            print_table(f"memtriage vs truth: build {truth.build}", checks)
            summary["memtriage"] = [c.as_dict() for c in checks]
            failed |= any(c.failed for c in checks)
        else:
            print(f"\n(memtriage report {args.memtriage} not found: skipped)")
    if used_conv:
        print("\nConventions applied (counted as agreement):")
        for k in sorted(used_conv):
            print(f"  {k}: {CONVENTIONS[k]}")
    if used_rules:
        print("\nDocumented Volatility rules behind 'explained' rows:")
        for k in sorted(used_rules):
            print(f"  {k}: {RULES[k]}")
    summary["failed"] = failed
    if args.json_out:
        args.json_out.write_text(json.dumps(summary, indent=2))
    print("\nRESULT:", "FAIL (unexplained disagreement or plugin error)" if failed else "PASS")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
