#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Compare one VM's console log with scripts/tests/e2e-scenarios.txt.

Prints one PASS/FAIL line per scenario and way, one per lifecycle CHECK,
an outcome matrix, and finally "N passed, N failed" for this kernel.
"""
import argparse
import re
import sys

WAYS = ("stock", "smbvn1", "smbvn0")
# Counter under /sys/module/smbvn/stats that a refusal for a rule moves.
RULE_COUNTER = {
    "guid-mismatch": "mismatch_guid", "bad-signature": "bad_signature",
    "unsigned": "unsigned", "no-response": "no_response",
    "guest-refused": "guest_refused", "access-denied": "access_denied",
    "malformed": "malformed", "capabilities-mismatch": "mismatch_capabilities",
    "security-mode-mismatch": "mismatch_security_mode",
    "dialect-mismatch": "mismatch_dialect",
    "server-rejected": "server_rejected",
    "downgrade-unproven": "downgrade_unproven",
    "signed-error-on-2x": "pre30_accepted",
    "no-signing-key": "no_signing_key",
    "tree-connect-unsigned": "tree_connect_unsigned",
    "tree-connect-bad-signature": "tree_connect_bad_signature",
    "session-setup-unsigned": "session_setup_unsigned",
    "session-setup-bad-signature": "session_setup_bad_signature",
    # Only on a mounted row whose dialect alone does not say that smbvn
    # validated it (a "default" offer that a capped server answers with 3.0).
    "validated": "validated",
}
# Dialects smbvn sends no validation on: 2.x-only offers; and 3.1.1 (also
# what "default" gets from Samba), where it checks the signed tree connect.
NOT_APPLICABLE_VERS = ("2.1",)
TREE_CONNECT_VERS = ("3.1.1", "default")


def expected_counters(s, way):
    """Counters that must have moved for scenario s mounted this way."""
    # Refused with no rule: the mount fails before any tree connect (an
    # honest server and client with no dialect or security in common), so
    # smbvn is never asked and no counter moves.
    if s[way] == "R" and s["rule"] == "-":
        return []
    if way == "smbvn0":
        return ["disabled"]
    if way != "smbvn1":
        return []
    if s["smbvn1"] == "R":
        return ["failed", RULE_COUNTER[s["rule"]]]
    # A rule on a mount names the verdict that accepted it (ksmbd answers
    # a downgraded 2.x connection with a signed "not supported").
    if s["rule"] != "-":
        return [RULE_COUNTER[s["rule"]]]
    if s["vers"] in NOT_APPLICABLE_VERS:
        return ["not_applicable"]
    if s["vers"] in TREE_CONNECT_VERS:
        return ["validated", "tree_connect_verified"]
    return ["validated"]


def load_scenarios(path):
    out = []
    for line in open(path):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        f = line.split()
        out.append(dict(name=f[0], target=f[1], share=f[2], vers=f[3],
                        opts=f[4], stock=f[5], smbvn1=f[6], smbvn0=f[7],
                        rule=f[8]))
    return out


def parse_log(path):
    res, checks, stats = {}, [], {}
    pat = re.compile(r"E2E (\S+) (\S+) (mounted|refused|io-failed) rc=(\d+) "
                     r"read=(\S+) rule=(\S+)")
    for line in open(path, errors="replace"):
        m = pat.search(line)
        if m:
            res[(m[1], m[2])] = dict(outcome=m[3], rc=int(m[4]),
                                     read=m[5], rule=m[6])
            continue
        m = re.search(r"STATS (\S+) (\S+)(.*)", line)
        if m:
            # A kernel message can land in the middle of the line on the
            # serial console ("validated=2[  254.78] smbvn: ..."): what
            # follows it is lost, and the counters it cut off stay unset.
            kvs = re.sub(r"\[\s*\d+\.\d+\].*", "", m[3])
            stats[(m[1], m[2])] = {
                k: v for k, v in (kv.split("=", 1) for kv in kvs.split()
                                  if "=" in kv) if v.isdigit()}
            continue
        m = re.search(r"CHECK (\S+) (pass|fail)(.*)", line)
        if m:
            checks.append((m[1], m[2], m[3].strip()))
    return res, checks, stats


def judge(expect, rule, got, way):
    """Return (ok, text) for one expected outcome; ok is None when the
    outcome is not asserted ("?")."""
    if expect not in ("M", "R", "F"):
        return None, "not run or not asserted"
    if got is None:
        return False, "no result"
    text = "%s rc=%d read=%s rule=%s" % (got["outcome"], got["rc"],
                                          got["read"], got["rule"])
    if expect == "M":
        return got["outcome"] == "mounted" and got["read"] == "ok", text
    # Mounted, but what it read is the impostor's file.
    if expect == "F":
        return got["outcome"] == "mounted" and got["read"] == "impostor", \
            text
    if expect == "R":
        ok = got["outcome"] in ("refused", "io-failed")
        if ok and way.startswith("smbvn1") and rule != "-":
            ok = got["rule"] == rule
        # A table row with no rule: a failure before any tree connect, in
        # which smbvn has nothing to refuse.
        if ok and rule == "-" and way in WAYS:
            ok = got["rule"] == "-"
        return ok, text
    return None, text


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenarios", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--kernel", required=True)
    ap.add_argument("--vm-rc", type=int, default=0)
    # The guest ran only the scenarios (SCENARIOS_ONLY=1, e.g. ksmbd).
    ap.add_argument("--no-lifecycle", action="store_true")
    # The guest ran only CHECK lines (scripts/tests/failclosed-guest.sh), which
    # it closes with CHECK-END: without that line it stopped early.
    ap.add_argument("--checks-only", action="store_true")
    a = ap.parse_args()
    scen = load_scenarios(a.scenarios)
    res, checks, stats = parse_log(a.log)
    passed = failed = 0
    matrix = []

    def count(ok, label, text):
        nonlocal passed, failed
        if ok is None:
            print("INFO %s %s: %s (not asserted)" % (a.kernel, label, text))
            return
        passed += ok
        failed += not ok
        print("%s %s %s: %s" % ("PASS" if ok else "FAIL", a.kernel, label,
                                text))

    if a.checks_only:
        scen = []
        ended = any("CHECK-END" in line
                    for line in open(a.log, errors="replace"))
        count(ended, "check/CHECK-END", "guest finished" if ended else
              "guest stopped before its last check")
    for s in scen:
        row = [s["name"]]
        for way in WAYS:
            got = res.get((s["name"], way))
            ok, text = judge(s[way], s["rule"], got, way)
            count(ok, "%s/%s expect=%s" % (s["name"], way, s[way]), text)
            row.append("-" if got is None else
                       "F" if got["outcome"] == "mounted" and
                       got["read"] == "impostor" else
                       "M" if got["outcome"] == "mounted" and
                       got["read"] == "ok" else "R")
        matrix.append(row)
    for s in scen:
        for way in ("smbvn1", "smbvn0"):
            moved = stats.get((s["name"], way))
            for ctr in expected_counters(s, way):
                ok = moved is not None and int(moved.get(ctr, 0)) >= 1
                count(ok, "%s/%s counter %s" % (s["name"], way, ctr),
                      "moved: %s" % (moved if moved is not None else
                                     "no STATS line"))
    by_name = {s["name"]: s for s in scen}
    extra = [("audit", "tamper-guid", "M", ["audit_violations",
                                             "mismatch_guid"]),
             ("trace", "honest-A-3.0", "M", ["validated"]),
             ("trace", "tamper-guid", "R", ["mismatch_guid"]),
             ("locked", "tamper-guid", "R", ["mismatch_guid"])]
    if a.no_lifecycle or a.checks_only:
        extra = []
    for way, name, expect, ctrs in extra:
        got = res.get((name, way))
        ok, text = judge(expect, "-", got, way)
        count(ok, "%s/%s expect=%s" % (name, way, expect), text)
        moved = stats.get((name, way)) or {}
        for ctr in ctrs:
            count(int(moved.get(ctr, 0)) >= 1,
                  "%s/%s counter %s" % (name, way, ctr), "moved: %s" % moved)
    lifecycle = not (a.no_lifecycle or a.checks_only)
    for name in ("honest-A-3.0", "tamper-guid") if lifecycle else ():
        s = by_name[name]
        got = res.get((name, "smbvn1-late"))
        ok, text = judge(s["smbvn1"], s["rule"], got, "smbvn1-late")
        count(ok, "%s/smbvn1-after-cifs expect=%s" % (name, s["smbvn1"]),
              text)
    for name, verdict, detail in checks:
        count(verdict == "pass", "check/" + name, detail or "ok")
    count(a.vm_rc == 0, "vm/clean-exit", "vm.sh rc=%d" % a.vm_rc)

    if matrix:
        print("MATRIX %s %-18s %-6s %-6s %-6s" % ((a.kernel, "scenario") +
                                                   WAYS))
    for row in matrix:
        print("MATRIX %s %-18s %-6s %-6s %-6s" % ((a.kernel,) + tuple(row)))
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
