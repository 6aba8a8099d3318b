"""Self-tests of compare_yara.py: equal sets agree, any missing or extra hit differs."""
import json
import os
import tempfile
import unittest

import compare_yara


def vol_row(pid, rule, offset, children=()):
    return {"PID": pid, "Rule": rule, "Offset": offset, "Component": "$a", "__children": list(children)}


def mt_row(pid, ns, rule, address, space="user"):
    return {"pid": pid, "namespace": ns, "rule": rule, "address": hex(address), "space": space}


class CompareYara(unittest.TestCase):
    def run_main(self, vol, mt, *extra):
        with tempfile.TemporaryDirectory() as d:
            v, m = os.path.join(d, "v.json"), os.path.join(d, "m.json")
            with open(v, "w") as f:
                json.dump(vol, f)
            with open(m, "w") as f:
                json.dump({"rows": mt}, f)
            return compare_yara.main(["--vol", v, "--memtriage", m, *extra])

    def test_equal_sets_agree_and_drop_one_fails(self):
        vol = [vol_row(4242, "default.r", 0x1000), vol_row(7, "default.r", 0x2000)]
        mt = [mt_row(4242, "default", "r", 0x1000), mt_row(7, "default", "r", 0x2000),
              mt_row(None, "default", "r", 0xfffff80000001000, space="kernel")]
        self.assertEqual(self.run_main(vol, mt, "--expect-rules", "default.r"), 0)
        self.assertEqual(self.run_main(vol, mt, "--drop-one"), 1)

    def test_an_address_pid_or_rule_difference_fails(self):
        vol = [vol_row(1, "default.r", 0x1000)]
        self.assertEqual(self.run_main(vol, [mt_row(1, "default", "r", 0x1001)]), 1)
        self.assertEqual(self.run_main(vol, [mt_row(2, "default", "r", 0x1000)]), 1)
        self.assertEqual(self.run_main(vol, [mt_row(1, "other", "r", 0x1000)]), 1)

    def test_nested_volatility_rows_count_and_empty_results_need_expected_rules(self):
        vol = [vol_row(1, "default.r", 0x1000, [vol_row(1, "default.r", 0x3000)])]
        mt = [mt_row(1, "default", "r", 0x1000), mt_row(1, "default", "r", 0x3000)]
        self.assertEqual(self.run_main(vol, mt), 0)
        self.assertEqual(self.run_main([], [], "--expect-rules", "default.r"), 1)


if __name__ == "__main__":
    unittest.main()
