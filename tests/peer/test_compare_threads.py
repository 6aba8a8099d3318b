"""Self-tests of compare_threads.py: agreement passes; a pair missing or extra on either side,
a no-VAD start Volatility reports, or an empty truth is reported."""

import unittest

from compare_threads import compare, memtriage_unbacked, self_check, vol_not_backed

TRUTH = {
    "processes": [{"pid": 7, "regions": [{"start": "0x10000", "end": "0x11fff"},
                                         {"start": "0x20000", "end": "0x20fff"}]}],
    "anomalies": [
        {"kind": "unbacked_thread", "pid": 7, "address": "0x10010"},
        {"kind": "unbacked_thread", "pid": 7, "address": "0x20040"},
        {"kind": "unbacked_thread", "pid": 7, "address": "0x40001230"},  # in no VAD
        {"kind": "rwx_private", "pid": 7, "address": "0x10000"},
    ],
}
IN_VAD = {(7, 0x10010), (7, 0x20040)}
NO_VAD = {(7, 0x40001230)}


class CompareThreads(unittest.TestCase):
    def test_agreement_passes_and_the_negative_control_bites(self):
        self.assertEqual(compare(TRUTH, IN_VAD, IN_VAD, NO_VAD), [])
        self.assertEqual(self_check(TRUTH, IN_VAD, IN_VAD, NO_VAD), [])

    def test_a_missing_volatility_row_is_reported(self):
        problems = compare(TRUTH, {(7, 0x10010)}, IN_VAD, NO_VAD)
        self.assertEqual(len(problems), 2)
        self.assertIn("missing (pid 7, 0x20040)", problems[0])

    def test_an_extra_memtriage_finding_is_reported(self):
        problems = compare(TRUTH, IN_VAD, IN_VAD | {(7, 0x10020)}, NO_VAD)
        self.assertEqual(len(problems), 2)
        self.assertIn("extra (pid 7, 0x10020)", problems[0])

    def test_a_lost_no_vad_finding_is_reported(self):
        problems = compare(TRUTH, IN_VAD, IN_VAD, set())
        self.assertEqual(problems, ["memtriage unbacked_thread (in no VAD): extra none; "
                                    "missing (pid 7, 0x40001230)"])

    def test_nothing_planted_fails_unless_clean(self):
        empty = {"processes": [], "anomalies": []}
        self.assertTrue(compare(empty, set(), set(), set()))
        self.assertEqual(compare(empty, set(), set(), set(), expect_planted=False), [])

    def test_parsers_pick_the_right_rows(self):
        rows = [
            {"PID": 7, "Address": 0x10010, "Note": "This thread started execution in the VAD "
             "starting at base address (0x10000), which is not backed by a file"},
            {"PID": 7, "Address": 0x10010, "Note": "VAD at base address (0x10000) hosting this "
             "thread has an unexpected starting protection PAGE_EXECUTE_READWRITE"},
            {"PID": 8, "Address": 0x7ff800001000, "Note": "unexpected starting protection"},
        ]
        self.assertEqual(vol_not_backed(rows), {(7, 0x10010)})
        report = {"findings": [
            {"rule": "unbacked_thread", "pid": 7, "address": "0x10010",
             "evidence": {"region": {"start": "0x10000"}}},
            {"rule": "unbacked_thread", "pid": 7, "address": "0x40001230",
             "evidence": {"region": None}},
            {"rule": "rwx_private", "pid": 7, "address": "0x10000", "evidence": {}},
        ]}
        self.assertEqual(memtriage_unbacked(report), ({(7, 0x10010)}, {(7, 0x40001230)}))


if __name__ == "__main__":
    unittest.main()
