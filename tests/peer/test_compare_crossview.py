"""Self-tests of compare_crossview.py: agreement passes, and each kind of disagreement (a
flipped Volatility column, a wrong memtriage view, a process Volatility should have dropped)
is reported: the negative controls of the crossview peer check."""

import copy
import unittest

from compare_crossview import compare

TRUTH = {
    "processes": [
        {"pid": 4, "name": "System", "eprocess": "0x1000", "exited": False,
         "threads": [{"tid": 8}], "views": ["active_list", "pool", "cid_table", "threads"]},
        {"pid": 400, "name": "csrss.exe", "eprocess": "0x2000", "exited": False,
         "threads": [{"tid": 12}], "views": ["active_list", "pool", "cid_table", "threads"]},
        {"pid": 500, "name": "explorer.exe", "eprocess": "0x3000", "exited": False,
         "threads": [{"tid": 16}],
         "views": ["active_list", "pool", "cid_table", "csrss_handles", "threads"]},
        {"pid": 600, "name": "rundll32.exe", "eprocess": "0x4000", "exited": False,
         "threads": [{"tid": 20}], "views": ["pool", "cid_table", "csrss_handles", "threads"]},
        {"pid": 700, "name": "cmd.exe", "eprocess": "0x5000", "exited": True,
         "threads": [], "views": ["pool"]},
    ]
}


def vol_row(offset, name, pid, pslist, psscan, thrdscan, csrss):
    return {"Offset(Virtual)": offset, "Name": name, "PID": pid, "pslist": pslist,
            "psscan": psscan, "thrdscan": thrdscan, "csrss": csrss, "Exit Time": ""}


VOL = [
    vol_row(0x1000, "System", 4, True, True, True, False),
    vol_row(0x2000, "csrss.exe", 400, True, True, True, False),
    vol_row(0x3000, "explorer.exe", 500, True, True, True, True),
    vol_row(0x5000, "cmd.exe", 700, False, True, False, False),
]

REPORT = {"processes": [{"offset": p["eprocess"], "views": list(p["views"])}
                        for p in TRUTH["processes"]]}


class CompareCrossview(unittest.TestCase):
    def test_agreement_passes(self):
        self.assertEqual(compare(TRUTH, VOL, REPORT), [])

    def test_a_flipped_volatility_column_is_reported(self):
        vol = copy.deepcopy(VOL)
        vol[2]["csrss"] = False
        problems = compare(TRUTH, vol, REPORT)
        self.assertEqual(len(problems), 1, problems)
        self.assertIn("Volatility csrss=False", problems[0])

    def test_a_wrong_memtriage_view_is_reported_against_truth_and_volatility(self):
        report = copy.deepcopy(REPORT)
        report["processes"][2]["views"].remove("csrss_handles")
        problems = compare(TRUTH, VOL, report)
        self.assertEqual(len(problems), 2, problems)

    def test_a_process_volatility_should_have_dropped_is_reported(self):
        vol = copy.deepcopy(VOL) + [vol_row(0x4000, "rundll32.exe", 600, False, True, True, True)]
        problems = compare(TRUTH, vol, REPORT)
        self.assertTrue(any("letter-only" in p for p in problems), problems)

    def test_a_thread_id_collision_skips_only_the_threads_column(self):
        truth = copy.deepcopy(TRUTH)
        truth["processes"][1]["views"].remove("threads")
        report = copy.deepcopy(REPORT)
        report["processes"][1]["views"].remove("threads")
        self.assertEqual(compare(truth, VOL, report), [])


if __name__ == "__main__":
    unittest.main()
