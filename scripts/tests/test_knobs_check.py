#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Unit tests for knobs_check.py, on made-up traces."""
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import knobs_check  # noqa: E402


def mark(ts, text):
    return f"KNOBTRACE  sh-1 [000] .....  {ts:.6f}: tracing_mark_write: {text}"


def decision(ts, verdict, ns=1000, server="10.254.1.1", share="s01"):
    return (f"KNOBTRACE  <...>-9 [001] .....  {ts:.6f}: smbvn_decision: "
            f"server={server} share=\\\\{server}\\{share} dialect=0x300 "
            f"verdict={verdict} reason=x status=0x00000000 ns={ns}")


# One honest attempt (validated) and one tampered one (refused), at 4-6 s.
LOOP = [mark(4.0, "attempt l1-1 honest begin"),
        decision(4.1, "validated", server="10.254.1.17", share="IPC$"),
        mark(4.9, "attempt l1-1 honest end rc=0"),
        mark(5.0, "attempt l1-2 tamper begin"),
        decision(5.1, "audit", server="10.254.1.17", share="IPC$"),
        mark(5.9, "attempt l1-2 tamper end rc=32")]
# As printed, a kernel line run into the second.
LOOP_RESULTS = ["KNOBS-ATTEMPT l1-1 honest rc=0 read=smbvn-hello "
                "server=10.254.1.17",
                "KNOBS-ATTEMPT l1-2 tamper rc=32 read=- server=10.254.1.17"
                "[  312.100000] CIFS: Attempting to mount //10.254.1.17/data"]


def log(extra=(), counters_after=None, attempts=()):
    lines = [mark(1.0, "knob init require_secure_negotiate=1 audit_only=0"),
             "KNOBS-LOOP servers=10.254.1.17,10.254.1.18",
             "KNOBS-COUNTERS before validated=10 failed=2 disabled=0 "
             "not_applicable=0 audit_violations=0",
             decision(1.5, "validated"),
             mark(2.0, "knob require_secure_negotiate=0 begin"),
             mark(2.1, "knob require_secure_negotiate=0 end"),
             decision(2.5, "disabled"),
             mark(3.0, "knob require_secure_negotiate=1 begin"),
             # Made while the write was in progress: either value goes.
             decision(3.05, "disabled"),
             mark(3.1, "knob require_secure_negotiate=1 end"),
             mark(3.2, "knob audit_only=1 begin"),
             mark(3.3, "knob audit_only=1 end"),
             decision(3.5, "audit"),
             *LOOP,
             *extra,
             "KNOBS-COUNTERS after " + (counters_after or
                                        "validated=12 failed=4 disabled=2 "
                                        "not_applicable=0 "
                                        "audit_violations=2"),
             "KNOBS-TRACE-LOST entries-in-buffer/entries-written: 40/40",
             *LOOP_RESULTS,
             *attempts]
    return lines


def run(lines):
    out = []
    rc = knobs_check.check(lines, out.append)
    return rc, {o.split()[1]: o.split()[0] for o in out}


class KnobsCheck(unittest.TestCase):
    def test_consistent_trace_passes(self):
        rc, res = run(log())
        self.assertEqual(rc, 0, res)
        self.assertEqual(set(res.values()), {"pass"})

    def test_compact_lines_parse(self):
        # The guest prints the trace without its task and flag columns.
        lines = [re.sub(r"^KNOBTRACE .*?\] \S* *(\d+\.\d+: )",
                        r"KNOBTRACE \1", x) for x in log()]
        self.assertTrue(any(x.startswith("KNOBTRACE 1.500000: smbvn")
                            for x in lines))
        rc, res = run(lines)
        self.assertEqual(rc, 0, res)

    def test_disabled_while_enforcing_fails(self):
        rc, res = run(log(extra=[decision(3.6, "disabled", ns=100000)],
                          counters_after="validated=12 failed=4 disabled=3 "
                          "not_applicable=0 audit_violations=2"))
        self.assertEqual(res["knobs-decisions-follow-knobs"], "FAIL")
        self.assertEqual(res["knobs-counters-exact"], "pass")
        self.assertEqual(rc, 1)

    def test_window_reaching_back_to_the_old_value_passes(self):
        # Started (t0 = 3.6 - 1.0 s) while enforcement was off.
        rc, res = run(log(extra=[decision(3.6, "disabled", ns=10 ** 9)],
                          counters_after="validated=12 failed=4 disabled=3 "
                          "not_applicable=0 audit_violations=2"))
        self.assertEqual(rc, 0, res)

    def test_refused_under_audit_fails(self):
        rc, res = run(log(extra=[decision(3.6, "refused")],
                          counters_after="validated=12 failed=5 disabled=2 "
                          "not_applicable=0 audit_violations=2"))
        self.assertEqual(res["knobs-decisions-follow-knobs"], "FAIL")

    def test_counter_mismatch_fails(self):
        rc, res = run(log(counters_after="validated=13 failed=4 disabled=2 "
                          "not_applicable=0 audit_violations=2"))
        self.assertEqual(res["knobs-counters-exact"], "FAIL")
        self.assertEqual(rc, 1)

    def attempts(self, kind, rc, verdicts):
        ext = [mark(7.0, f"attempt l1-3 {kind} begin")]
        ext += [decision(7.1 + i / 10, v, server="10.254.1.17", share=s)
                for i, (s, v) in enumerate(verdicts)]
        ext += [mark(7.9, f"attempt l1-3 {kind} end rc={rc}")]
        return ext, [f"KNOBS-ATTEMPT l1-3 {kind} rc={rc} read=- "
                     "server=10.254.1.17"]

    def test_tampered_mount_validated_fails(self):
        ext, att = self.attempts("tamper", 0, [("IPC$", "audit"),
                                               ("data", "validated")])
        rc, res = run(log(extra=ext, attempts=att,
                          counters_after="validated=13 failed=5 disabled=2 "
                          "not_applicable=0 audit_violations=3"))
        self.assertEqual(res["knobs-tampered-let-through-only-by-knobs"],
                         "FAIL")
        self.assertEqual(res["knobs-counters-exact"], "pass")

    def test_tampered_mount_through_audit_passes(self):
        ext, att = self.attempts("tamper", 0, [("IPC$", "audit"),
                                               ("data", "audit")])
        rc, res = run(log(extra=ext, attempts=att,
                          counters_after="validated=12 failed=6 disabled=2 "
                          "not_applicable=0 audit_violations=4"))
        self.assertEqual(rc, 0, res)

    def test_decisions_of_another_loop_do_not_count(self):
        # A validated decision on the second loop's address during this
        # tampered attempt is that loop's honest mount, not this one's.
        ext, att = self.attempts("tamper", 0, [("IPC$", "disabled"),
                                               ("data", "disabled")])
        ext.insert(1, decision(7.05, "validated", server="10.254.1.18",
                               share="IPC$"))
        ext[0:0] = [mark(6.0, "knob require_secure_negotiate=0 begin"),
                    mark(6.1, "knob require_secure_negotiate=0 end")]
        rc, res = run(log(extra=ext, attempts=att,
                          counters_after="validated=13 failed=4 disabled=4 "
                          "not_applicable=0 audit_violations=2"))
        self.assertEqual(res["knobs-tampered-let-through-only-by-knobs"],
                         "pass", res)

    def test_honest_refused_fails(self):
        ext, att = self.attempts("honest", 32, [("IPC$", "audit")])
        rc, res = run(log(extra=ext, attempts=att,
                          counters_after="validated=12 failed=5 disabled=2 "
                          "not_applicable=0 audit_violations=3"))
        self.assertEqual(res["knobs-honest-never-refused"], "FAIL")

    def test_no_mount_loop_fails(self):
        lines = [x for x in log() if "attempt" not in x
                 and "KNOBS-ATTEMPT" not in x]
        rc, res = run(lines)
        self.assertEqual(res["knobs-tampered-let-through-only-by-knobs"],
                         "FAIL")
        self.assertEqual(res["knobs-honest-never-refused"], "FAIL")

    def test_garbled_decision_value_is_cut_at_the_bracket(self):
        lines = log()
        i = next(n for n, x in enumerate(lines) if "1.500000" in x)
        lines[i] += "[  312.1] CIFS: VFS: something"
        rc, res = run(lines)
        self.assertEqual(rc, 0, res)

    def test_lost_trace_entries_fail(self):
        lines = [x.replace("40/40", "40/52") for x in log()]
        rc, res = run(lines)
        self.assertEqual(res["knobs-trace-complete"], "FAIL")

    def test_no_trace_fails(self):
        rc, res = run(["KNOBS-COUNTERS before validated=1"])
        self.assertEqual(rc, 1)
        self.assertEqual(res, {"knobs-trace-read": "FAIL"})


if __name__ == "__main__":
    unittest.main()
