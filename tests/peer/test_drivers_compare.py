"""Self-tests of drivers_compare.py on hand-written Volatility rows and memtriage rows.

Run: python3 -m unittest discover -s tests/peer -p 'test_*.py'
"""

import contextlib
import io
import json
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import drivers_compare  # noqa: E402

K = 0xFFFFF80300000000
TRUTH = {"anomalies": [
    {"kind": "unlinked_kernel_module", "pid": 0, "address": hex(K + 0x400000)},
    {"kind": "injected_pe", "pid": 500, "address": "0x10000"},
]}
VOL = {
    "driverscan": [
        {"Offset": 0x1000, "Start": K, "Size": 0x22000, "Name": "\\Driver\\disk"},
        {"Offset": 0x2000, "Start": 0, "Size": 0, "Name": "\\Driver\\WMIxWDM"},
        {"Offset": 0x3000, "Start": K + 0x400000, "Size": 0x7000, "Name": "\\Driver\\evil"},
    ],
    "drivermodule": [{"Offset": 0x2000}, {"Offset": 0x3000}],
    "modules": [{"Base": K, "Size": 0x22000, "Name": "disk.sys"}],
}


def row(base, size, name, in_list, obj=None, dname=None):
    return {"base": hex(base), "size": hex(size), "name": name, "in_list": in_list,
            "by_driver_object": obj is not None, "by_pe_header": True,
            "driver_name": dname, "offset_physical": hex(obj) if obj is not None else None}


MT = [
    row(K, 0x22000, "disk.sys", True, 0x1000, "\\Driver\\disk"),
    row(K + 0x400000, 0x7000, "evil", False, 0x3000, "\\Driver\\evil"),
]


class DriversCompareTest(unittest.TestCase):
    def test_agreeing_outputs_pass_and_every_mutation_is_caught(self):
        results, uncaught = drivers_compare.compare(TRUTH, VOL, MT)
        self.assertEqual(results, {k: [] for k in results})
        self.assertEqual(uncaught, [])
        self.assertEqual(len(drivers_compare.mutations(MT)), 2)

    def test_a_missed_hidden_driver_fails(self):
        results, _ = drivers_compare.compare(TRUTH, VOL, MT[:1])
        self.assertEqual(results["hidden drivers"], ["hidden drivers: Volatility/truth only 0x3000"])
        self.assertTrue(results["driver objects"] and results["truth"])

    def test_a_wrong_name_or_size_fails(self):
        mt = [dict(MT[0], size="0x21000"), dict(MT[1], driver_name="\\Driver\\evl")]
        results, _ = drivers_compare.compare(TRUTH, VOL, mt)
        self.assertTrue(results["listed modules"])
        self.assertTrue(results["driver objects"])

    def test_main_reads_the_files_and_exits_nonzero_on_a_mismatch(self):
        with tempfile.TemporaryDirectory() as d:
            d = Path(d)
            for name, key in [("windows.driverscan", "driverscan"),
                              ("windows.malware.drivermodule", "drivermodule"),
                              ("windows.modules", "modules")]:
                (d / f"{name}.json").write_text(json.dumps(VOL[key]))
            (d / "truth.json").write_text(json.dumps(TRUTH))
            (d / "good.json").write_text(json.dumps(MT))
            (d / "bad.json").write_text(json.dumps(MT[:1]))
            args = ["--truth", str(d / "truth.json"), "--vol-dir", str(d)]
            with contextlib.redirect_stdout(io.StringIO()):
                self.assertEqual(drivers_compare.main(args + ["--memtriage", str(d / "good.json")]), 0)
                self.assertEqual(drivers_compare.main(args + ["--memtriage", str(d / "bad.json")]), 1)


if __name__ == "__main__":
    unittest.main()
