#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""knobs_check.py VM-LOG: the host's verdict on the stress case "knobs".

The guest flips require_secure_negotiate and audit_only under load and
mounts in a loop, writing a trace marker before and after every knob
write and around every mount attempt; smbvn's smbvn_decision events land
in the same trace buffer on the same (mono) clock.  The guest prints that
trace (KNOBTRACE lines), its counters before and after (KNOBS-COUNTERS)
and each attempt's outcome (KNOBS-ATTEMPT, for the reader; the markers
"attempt lN-I KIND begin|end rc=RC" are what counts).  This script checks:

- every decision follows a knob value that was possible while it was
  made, i.e. in [event time - its ns, event time]: "disabled" needs
  require_secure_negotiate 0; every other verdict needs 1; "refused"
  needs audit_only 0 and "audit" needs 1;
- the counters moved by exactly the events' numbers;
- in the mount loops (each on a server address of its own, KNOBS-LOOP;
  an attempt's decisions are that address's between its markers): a tampered
  connection never validated, and a tampered mount that mounted had its
  share's tree connect let through (disabled or audit);
- an honest mount was never refused nor audited;
- the trace lost nothing.

Prints "pass NAME DETAIL" or "FAIL NAME DETAIL" per check.
"""
import re
import sys

LINE = re.compile(r"\s(\d+\.\d+): (smbvn_decision|tracing_mark_write): (.*)$")
# A value ends at a blank or at "[": the guest's lines share the serial
# console with the kernel's, and a printk ("[  312.1] CIFS: ...") can
# land right behind one.
FIELDS = re.compile(r"(\w+)=([^\s\[]*)")
KNOBS = ("require_secure_negotiate", "audit_only")
# Trace timestamps are printed in microseconds.
SLACK = 2e-6


class Knob:
    """One knob's writes: (begin, end, new value), in order."""

    def __init__(self, init):
        self.init = init
        self.writes = []

    def possible(self, lo, hi):
        """Values the knob may have held at some instant of [lo, hi]."""
        vals, cur = set(), self.init
        for begin, end, new in self.writes:
            if end < lo:
                cur = new           # in effect before the window
            elif begin <= hi:
                vals.add(new)       # may have taken effect within it
        vals.add(cur)               # the value at lo
        return vals


def parse(lines):
    """(knobs, decisions, attempts, counters, lost) from the VM log."""
    knobs, pending = {}, {}
    decisions, attempts, counters = [], {}, {}
    lost = None
    for raw in lines:
        if raw.startswith("KNOBS-LOOP "):
            counters["loop"] = dict(FIELDS.findall(raw))
            continue
        if raw.startswith("KNOBS-COUNTERS "):
            parts = raw.split()
            counters[parts[1]] = {k: int(v) for k, v in
                                  FIELDS.findall(raw)}
            continue
        if raw.startswith("KNOBS-TRACE-LOST "):
            m = re.search(r"(\d+)/(\d+)", raw)
            lost = (int(m.group(1)), int(m.group(2))) if m else None
            continue
        if raw.startswith("KNOBS-ATTEMPT "):
            # For the reader only: the trace markers say the same, and
            # are not interleaved with the kernel's console output.
            continue
        if not raw.startswith("KNOBTRACE "):
            continue
        m = LINE.search(raw)
        if not m:
            continue
        ts, what, text = float(m.group(1)), m.group(2), m.group(3).strip()
        if what == "smbvn_decision":
            f = dict(FIELDS.findall(text))
            decisions.append(dict(f, ts=ts, t0=ts - int(f["ns"]) / 1e9))
            continue
        w = text.split()
        if w[:2] == ["knob", "init"]:
            for k, v in FIELDS.findall(text):
                knobs[k] = Knob(int(v))
        elif w[0] == "knob" and len(w) == 3:
            name, val = w[1].split("=")
            if w[2] == "begin":
                pending[name] = (ts, int(val))
            elif name in pending:
                begin, v = pending.pop(name)
                knobs[name].writes.append((begin, ts, v))
        elif w[0] == "attempt" and len(w) >= 4:
            a = attempts.setdefault(w[1], {})
            a["kind"] = w[2]
            a[w[3]] = ts
            a.update(FIELDS.findall(" ".join(w[4:])))
    return knobs, decisions, attempts, counters, lost


def check(lines, out=print):
    knobs, decisions, attempts, counters, lost = parse(lines)
    bad = 0

    def result(name, ok, detail):
        nonlocal bad
        out(f"{'pass' if ok else 'FAIL'} {name} {detail}")
        bad += not ok

    if set(knobs) != set(KNOBS) or not decisions:
        result("knobs-trace-read", False,
               f"knobs {sorted(knobs)}, {len(decisions)} decisions")
        return 1
    flips = sum(len(k.writes) for k in knobs.values())
    wrong = []
    for d in decisions:
        lo, hi = d["t0"] - SLACK, d["ts"] + SLACK
        rsn = knobs["require_secure_negotiate"].possible(lo, hi)
        aud = knobs["audit_only"].possible(lo, hi)
        v = d["verdict"]
        need = [("require_secure_negotiate", rsn,
                 0 if v == "disabled" else 1)]
        if v in ("refused", "audit"):
            need.append(("audit_only", aud, int(v == "audit")))
        for name, vals, want in need:
            if want not in vals:
                wrong.append(f"{d['ts']:.6f} {d['server']} {v}: "
                             f"{name} was {sorted(vals)}")
    result("knobs-decisions-follow-knobs", not wrong,
           f"{len(decisions)} decisions under {flips} knob writes"
           + (": " + "; ".join(wrong[:5]) if wrong else ""))

    n = {}
    for d in decisions:
        n[d["verdict"]] = n.get(d["verdict"], 0) + 1
    loops = counters.pop("loop", {}).get("servers", "").split(",")
    # Attempt lN-i is loop N's, on the Nth address of KNOBS-LOOP.
    for i, at in attempts.items():
        m = re.match(r"l(\d+)-", i)
        if m and 0 < int(m.group(1)) <= len(loops):
            at["server"] = loops[int(m.group(1)) - 1]
    b, a = counters.get("before", {}), counters.get("after", {})
    want = {"validated": n.get("validated", 0),
            "disabled": n.get("disabled", 0),
            "not_applicable": n.get("not-applicable", 0),
            "failed": n.get("refused", 0) + n.get("audit", 0),
            "audit_violations": n.get("audit", 0)}
    got = {k: a.get(k, 0) - b.get(k, 0) for k in want}
    result("knobs-counters-exact", bool(b) and bool(a) and got == want,
           f"counter deltas {got}, trace events {want}")

    tam_bad, hon_bad, tam_ok = [], [], 0
    for i, at in sorted(attempts.items()):
        if "begin" not in at or "end" not in at:
            tam_bad.append(f"attempt {i} without markers")
            continue
        if at.get("server") not in loops:
            tam_bad.append(f"attempt {i} on {at.get('server')}, no loop's")
            continue
        mine = [d for d in decisions if d["server"] == at["server"]
                and at["begin"] <= d["ts"] <= at["end"]]
        verdicts = {d["verdict"] for d in mine}
        if at["kind"] == "honest":
            if verdicts & {"refused", "audit"} or at.get("rc") != "0":
                hon_bad.append(f"{i}: rc={at.get('rc')} {sorted(verdicts)}")
            continue
        if "validated" in verdicts:
            tam_bad.append(f"{i}: a tampered connection validated")
        if at.get("rc") == "0":
            tam_ok += 1
            share = [d for d in mine if d["share"].endswith("\\data")]
            if not share or share[-1]["verdict"] not in ("disabled",
                                                         "audit"):
                tam_bad.append(f"{i}: mounted, share decisions "
                               f"{[d['verdict'] for d in share]}")
    ntam = sum(1 for at in attempts.values() if at.get("kind") == "tamper")
    result("knobs-tampered-let-through-only-by-knobs",
           ntam > 0 and not tam_bad,
           f"{ntam} tampered attempts, {tam_ok} mounted"
           + (": " + "; ".join(tam_bad[:5]) if tam_bad else ""))
    result("knobs-honest-never-refused",
           len(attempts) > ntam and not hon_bad,
           f"{len(attempts) - ntam} honest attempts"
           + (": " + "; ".join(hon_bad[:5]) if hon_bad else ""))
    result("knobs-trace-complete", lost is not None and lost[0] == lost[1],
           f"entries in buffer/written: {lost}")
    return 1 if bad else 0


def main(argv):
    with open(argv[1], errors="replace") as f:
        return check(f.read().splitlines())


if __name__ == "__main__":
    sys.exit(main(sys.argv))
