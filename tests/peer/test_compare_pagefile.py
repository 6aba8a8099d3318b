"""Self-tests of compare_pagefile.py: agreement passes, a wrong read or a read without the page
file is reported."""

import unittest

from compare_pagefile import compare

PAGE = 0x1000


class ComparePageFile(unittest.TestCase):
    def setUp(self):
        self.page_file = bytes(PAGE) + bytes(range(64)) + bytes(PAGE - 64)
        self.truth = {"paged_out": [
            {"pid": 7, "va": "0x10000", "offset": "0x1000"},
            {"pid": 7, "va": "0x20000", "offset": "0x2000"},  # not a malfind region: skipped
        ]}
        self.key = (7, 0x10000)
        self.good = {self.key: bytes(range(64))}

    def test_agreement_passes(self):
        self.assertEqual(compare(self.truth, self.page_file, self.good, {self.key: bytes(64)},
                                 self.good, {self.key: b""}), [])

    def test_a_wrong_read_is_reported(self):
        bad = {self.key: bytes(64)}
        problems = compare(self.truth, self.page_file, bad, {}, self.good, {})
        self.assertEqual(len(problems), 1)
        self.assertIn("Volatility --single-swap-locations", problems[0])

    def test_a_read_without_the_page_file_is_reported(self):
        problems = compare(self.truth, self.page_file, self.good, {}, self.good, self.good)
        self.assertEqual(len(problems), 1)
        self.assertIn("memtriage without --pagefile", problems[0])

    def test_nothing_compared_fails(self):
        self.assertTrue(compare({"paged_out": []}, self.page_file, {}, {}, {}, {}))


if __name__ == "__main__":
    unittest.main()
