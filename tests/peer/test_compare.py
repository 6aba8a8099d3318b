"""Self-tests of compare.py on a tiny hand-written truth and Volatility output.

Run: python3 -m unittest discover -s tests/peer -p 'test_*.py'
"""

import contextlib
import copy
import io
import json
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import compare  # noqa: E402

EPROC = 0xFFFFD88200006040
TRUTH = {
    "schema": "memtriage-fixture-truth/1",
    "scenario": {"build": 19041, "seed": 1},
    "system": {"dtb": "0x1ec000", "kernel_base": "0xfffff8038ae00000"},
    "processes": [
        {
            "pid": 4, "ppid": 0, "name": "System", "create_time": "2024-03-01T10:00:00Z",
            "exit_time": None, "eprocess": "0xffffd88200001040", "eprocess_pa": "0x5000",
            "in_active_list": True, "hidden": False, "exited": False, "regions": [], "modules": [],
        },
        {
            "pid": 1804, "ppid": 4, "name": "svchost.exe", "create_time": "2024-03-01T10:01:00Z",
            "exit_time": None, "eprocess": hex(EPROC), "eprocess_pa": "0x6040",
            "in_active_list": True, "hidden": False, "exited": False,
            "regions": [
                {"start": "0x10000", "end": "0x1ffff", "protection": "PAGE_EXECUTE_READWRITE",
                 "private": True, "commit_charge": 16, "file": None, "tag": "VadS", "committed": True},
                {"start": "0x30000", "end": "0x30fff", "protection": "PAGE_READWRITE",
                 "private": True, "commit_charge": 1, "file": None, "tag": "VadS", "committed": True},
                {"start": "0x7ff000000000", "end": "0x7ff000003fff",
                 "protection": "PAGE_EXECUTE_WRITECOPY", "private": False, "commit_charge": 0,
                 "file": "\\Windows\\System32\\ntdll.dll", "tag": "Vad ", "committed": True},
            ],
            "modules": [
                {"base": "0x7ff000000000", "size": "0x4000", "name": "ntdll.dll",
                 "path": "C:\\Windows\\System32\\ntdll.dll", "in_load": True, "in_mem": True,
                 "in_init": True},
            ],
        },
        {
            "pid": 2000, "ppid": 4, "name": "rundll32.exe", "create_time": "2024-03-01T10:02:00Z",
            "exit_time": None, "eprocess": "0xffffd88200009040", "eprocess_pa": "0x9040",
            "in_active_list": False, "hidden": True, "exited": False, "regions": [], "modules": [],
        },
    ],
    "kernel_modules": [
        {"base": "0xfffff8038ae00000", "size": "0xcff000", "name": "ntoskrnl.exe",
         "path": "\\SystemRoot\\system32\\ntoskrnl.exe"},
    ],
    "anomalies": [{"kind": "rwx_private", "pid": 1804, "address": "0x10000"}],
    "decoys": [{"kind": "rw_mz", "pid": 1804, "address": "0x30000"}],
}


STDERR = (
    "DEBUG    volatility3.framework.automagic.windows: DTB was found at: 0x1ec000\n"
    "DEBUG    volatility3.framework.automagic.pdbscan: Setting kernel_virtual_offset to 0xf8038ae00000\n"
)


def proc_row(p, masked=True):
    va = int(p["eprocess"], 16)
    return {
        "PID": p["pid"], "PPID": p["ppid"], "ImageFileName": p["name"],
        "Offset(V)": va & compare.MASK48 if masked else va,
        "CreateTime": p["create_time"].replace("Z", "+00:00"), "ExitTime": None, "__children": [],
    }


def vol_output():
    procs = TRUTH["processes"]
    active = [p for p in procs if p["in_active_list"]]
    svc = procs[1]
    return {
        "windows.pslist.json": [proc_row(p) for p in active],
        "windows.psscan.json": [proc_row(p) for p in procs],
        "windows.vadinfo.json": [
            {"PID": 1804, "Start VPN": int(r["start"], 16), "End VPN": int(r["end"], 16),
             "Protection": r["protection"], "File": r["file"], "Tag": r["tag"],
             "CommitCharge": r["commit_charge"], "PrivateMemory": int(r["private"]), "__children": []}
            for r in svc["regions"]
        ],
        "windows.dlllist.json": [
            {"PID": 1804, "Base": 0x7FF000000000, "Size": 0x4000, "Name": "ntdll.dll",
             "Path": "C:\\Windows\\System32\\ntdll.dll", "__children": []}
        ],
        "windows.malware.ldrmodules.json": [
            {"Pid": 1804, "Base": 0x7FF000000000, "InLoad": True, "InInit": True, "InMem": True,
             "MappedPath": "\\Windows\\System32\\ntdll.dll", "__children": []},
            {"Pid": 1804, "Base": 0x30000, "InLoad": False, "InInit": False, "InMem": False,
             "MappedPath": None, "__children": []},
        ],
        "windows.modules.json": [
            {"Base": 0xF8038AE00000, "Size": 0xCFF000, "Name": "ntoskrnl.exe",
             "Path": "\\SystemRoot\\system32\\ntoskrnl.exe", "__children": []}
        ],
        "windows.malware.malfind.json": [
            {"PID": 1804, "Start VPN": 0x10000, "Protection": "PAGE_EXECUTE_READWRITE",
             "Tag": "VadS", "__children": []}
        ],
    }


class CompareTest(unittest.TestCase):
    def run_compare(self, vol, truth=TRUTH, stderr=None):
        with tempfile.TemporaryDirectory() as d:
            root = Path(d)
            (root / "vol" / "raw").mkdir(parents=True)
            for name, rows in vol.items():
                (root / "vol" / "raw" / name).write_text(json.dumps(rows))
            (root / "vol" / "raw" / "windows.pslist.stderr").write_text(
                STDERR if stderr is None else stderr)
            (root / "t.json").write_text(json.dumps(truth))
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                rc = compare.main(["--truth", str(root / "t.json"), "--vol-dir", str(root / "vol"),
                                   "--formats", "raw", "--json-out", str(root / "s.json")])
            summary = json.loads((root / "s.json").read_text())
            return rc, out.getvalue(), summary

    def counts(self, summary, check):
        row = next(c for c in summary["formats"]["raw"] if c["check"] == check)
        return row["agree"], row["explained"], row["disagree"]

    def test_matching_output_passes_with_conventions_and_rules(self):
        rc, text, s = self.run_compare(vol_output())
        self.assertEqual(rc, 0, text)
        self.assertEqual(self.counts(s, "processes (pslist)"), (2, 0, 0))
        self.assertEqual(self.counts(s, "processes (psscan)"), (3, 0, 0))
        self.assertEqual(self.counts(s, "hidden process (psscan - pslist)"), (1, 0, 0))
        self.assertEqual(self.counts(s, "VADs (vadinfo)"), (3, 0, 0))
        self.assertEqual(self.counts(s, "ldrmodules flags"), (1, 1, 0))
        self.assertEqual(self.counts(s, "malfind hits"), (1, 0, 0))
        self.assertIn("va48", text)

    def test_kernel_discovery(self):
        _, _, s = self.run_compare(vol_output())
        self.assertEqual(self.counts(s, "kernel discovery (DTB, base)"), (2, 0, 0))
        rc, text, s = self.run_compare(vol_output(), stderr=STDERR.replace("0x1ec000", "0x1ed000"))
        self.assertEqual(rc, 1)
        self.assertIn("DTB 0x1ed000 != truth 0x1ec000", text)
        rc, text, s = self.run_compare(vol_output(), stderr="")
        self.assertEqual(rc, 1)
        self.assertEqual(self.counts(s, "kernel discovery (DTB, base)"), (0, 0, 2))

    def test_kernel_modules(self):
        _, _, s = self.run_compare(vol_output())
        self.assertEqual(self.counts(s, "kernel modules (modules)"), (1, 0, 0))
        vol = vol_output()
        vol["windows.modules.json"][0]["Size"] = 0x1000
        rc, text, s = self.run_compare(vol)
        self.assertEqual(rc, 1)
        self.assertIn("size 0x1000 != truth 0xcff000", text)

    def test_wrong_ppid_fails(self):
        vol = vol_output()
        vol["windows.pslist.json"][1]["PPID"] = 8
        rc, text, s = self.run_compare(vol)
        self.assertEqual(rc, 1)
        self.assertEqual(self.counts(s, "processes (pslist)"), (1, 0, 1))
        self.assertIn("ppid 8 != truth 4", text)

    def test_wrong_offset_fails(self):
        vol = vol_output()
        vol["windows.psscan.json"][1]["Offset(V)"] = 0x6040  # pa, but 19041 psscan prints VAs
        rc, _, s = self.run_compare(vol)
        self.assertEqual(rc, 1)
        self.assertEqual(self.counts(s, "processes (psscan)"), (2, 0, 1))

    def test_psscan_physical_offsets_on_win81(self):
        truth = copy.deepcopy(TRUTH)
        truth["scenario"]["build"] = 9600
        vol = vol_output()
        for row, p in zip(vol["windows.psscan.json"], truth["processes"]):
            row["Offset(V)"] = int(p["eprocess_pa"], 16)
        rc, text, s = self.run_compare(vol, truth)
        self.assertEqual(rc, 0, text)
        self.assertIn("psscan_pa", text)

    def test_missing_hidden_process_fails(self):
        vol = vol_output()
        vol["windows.psscan.json"] = vol["windows.psscan.json"][:2]
        rc, _, s = self.run_compare(vol)
        self.assertEqual(rc, 1)
        self.assertEqual(self.counts(s, "hidden process (psscan - pslist)"), (0, 0, 1))

    def test_vad_protection_mismatch_fails(self):
        vol = vol_output()
        vol["windows.vadinfo.json"][1]["Protection"] = "PAGE_EXECUTE"
        rc, _, s = self.run_compare(vol)
        self.assertEqual(rc, 1)
        self.assertEqual(self.counts(s, "VADs (vadinfo)"), (2, 0, 1))

    def test_malfind_on_decoy_fails(self):
        vol = vol_output()
        vol["windows.malware.malfind.json"].append(
            {"PID": 1804, "Start VPN": 0x30000, "Protection": "PAGE_READWRITE", "Tag": "VadS"})
        rc, text, s = self.run_compare(vol)
        self.assertEqual(rc, 1)
        self.assertIn("decoy rw_mz", text)

    def test_ldr_flag_mismatch_fails(self):
        vol = vol_output()
        vol["windows.malware.ldrmodules.json"][0]["InInit"] = False
        rc, _, s = self.run_compare(vol)
        self.assertEqual(rc, 1)
        self.assertEqual(self.counts(s, "ldrmodules flags"), (0, 1, 1))

    def test_plugin_without_json_is_an_error(self):
        vol = vol_output()
        vol_text = dict(vol)
        del vol_text["windows.dlllist.json"]
        rc, text, s = self.run_compare(vol_text)
        self.assertEqual(rc, 1)
        self.assertIn("missing", text)


if __name__ == "__main__":
    unittest.main()
