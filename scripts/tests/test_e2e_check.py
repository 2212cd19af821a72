#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Unit tests of scripts/tests/e2e_check.py's log parser: a kernel message that
lands inside a STATS line on the serial console loses that line's later
counters, but must not stop the checker (it once ended a run with a
ValueError on "validated=2[", leaving 440 checks unmade)."""

import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import e2e_check as ec  # noqa: E402


def parse(text):
    with tempfile.NamedTemporaryFile("w", suffix=".log", delete=False) as f:
        f.write(text)
    try:
        return ec.parse_log(f.name)
    finally:
        os.unlink(f.name)


class StatsLine(unittest.TestCase):
    def test_whole_line(self):
        _, _, stats = parse("STATS s1 smbvn1 validated=2 failed=0\n")
        self.assertEqual(stats[("s1", "smbvn1")],
                         {"validated": "2", "failed": "0"})

    def test_kernel_message_spliced_in(self):
        _, _, stats = parse("STATS s1 smbvn1 validated=2[  254.786390] "
                            "smbvn: require_secure_negotiate 1 -> 0 by "
                            "sh[185] uid 0\n")
        self.assertEqual(stats[("s1", "smbvn1")], {"validated": "2"})

    def test_cut_value_is_dropped(self):
        _, _, stats = parse("STATS s1 smbvn1 validated=2 failed=x\n")
        self.assertEqual(stats[("s1", "smbvn1")], {"validated": "2"})


if __name__ == "__main__":
    unittest.main()
