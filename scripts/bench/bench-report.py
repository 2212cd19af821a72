#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""bench-report - turn one benchmark VM console log into numbers.

Reads the "BENCH", "TRACE" and "PDUS" records that scripts/bench/bench-guest.sh
prints, writes every raw sample to a CSV, prints one line per figure, the
ratio table smbvn/stock and the issue's targets (reported, never asserted),
and plots the mount latency distributions with gnuplot when it is there.

Ratios are always "smbvn / stock" of the figure as printed: for latencies
(mount, stat) below 1 is faster; for rates (MB/s, files/s) above 1 is
faster.  Where samples allow, a 95% interval comes with the ratio: a
bootstrap of the medians for the mount cycles, the spread of the paired
per-chunk ratios for the data-path tests.
"""

import argparse
import csv
import math
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections import defaultdict

CONFIGS = ("stock", "smbvn1", "smbvn0")
VARIANTS = ("3.0", "3.02", "3.1.1", "2.1", "dg")
VARIANT_NAME = {"dg": "2.1-downgrade"}
# STATS2 command numbers (MS-SMB2 2.2.1) named in the request lines.
CMD_NAMES = {0: "negotiate", 1: "sess_setup", 2: "logoff", 3: "tree_connect",
             4: "tree_disconnect", 5: "create", 6: "close", 8: "read",
             9: "write", 11: "ioctl", 14: "query_dir", 16: "query_info",
             17: "set_info"}
HOOK_FNS = ("empty", "traced-unhooked", "check_receive", "send_recv")
HOOK_VARIANTS = ("ops-none", "ops-recursion", "ops-regs", "ops-regs-recursion")

# A record, wherever it starts on the line (the console is shared with the
# kernel), up to an interleaved kernel timestamp if any.
RECORD = re.compile(r"((?:BENCH|TRACE|PDUS) .*?)(?:\[\s*\d+\.\d+\].*)?$")


def vname(v):
    return VARIANT_NAME.get(v, v)


def quantile(xs, q):
    """Linear interpolation between closest ranks (numpy's default)."""
    s = sorted(xs)
    if not s:
        return float("nan")
    pos = (len(s) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def med(xs):
    return quantile(xs, 0.5)


def sd(xs):
    return statistics.stdev(xs) if len(xs) > 1 else float("nan")


def boot_ratio_ci(a, b, q, n=2000):
    """95% bootstrap interval of quantile_q(b) / quantile_q(a)."""
    rng = random.Random(1)
    rs = []
    for _ in range(n):
        ra = [rng.choice(a) for _ in a]
        rb = [rng.choice(b) for _ in b]
        rs.append(quantile(rb, q) / quantile(ra, q))
    return quantile(rs, 0.025), quantile(rs, 0.975)


class Data:
    def __init__(self):
        self.mount = defaultdict(list)      # (cfg, v) -> [(mount_ns, umount_ns)]
        self.trace = defaultdict(list)      # (cfg, v) -> [dict]
        self.pdus = {}                      # (cfg, v) -> (dialect, {cmd: n})
        self.loop = defaultdict(list)       # (kind, cfg) -> [dict] in run order
        self.meta = defaultdict(list)       # (cfg, op) -> [(files, ns)] per chunk
        self.io = defaultdict(list)         # (op, cfg) -> [(bytes, ns)] per chunk
        self.hook = defaultdict(list)       # (cfg, fn) -> [ns/call] per batch
        self.calib = None
        self.mem = {}
        self.phase = []                     # (name, ns)
        self.start = self.end = None
        self.fails = []


def parse(path):
    d = Data()
    pending = {}
    with open(path, errors="replace") as f:
        for raw in f:
            if "BENCH-FAIL" in raw:
                d.fails.append(raw.strip())
                continue
            m = RECORD.search(raw.rstrip("\n"))
            if not m:
                continue
            w = m.group(1).split()
            kind = w[0]
            try:
                if kind == "TRACE":
                    kv = dict(x.split("=", 1) for x in w[3:] if "=" in x)
                    d.trace[(w[1], w[2])].append(kv)
                elif kind == "PDUS":
                    kv = dict(x.split("=", 1) for x in w[3:] if "=" in x)
                    dialect = kv.pop("dialect", "?")
                    d.pdus[(w[1], w[2])] = (
                        dialect, {int(k): int(v) for k, v in kv.items()})
                elif w[1] == "mount":
                    cfg, v = w[2].split(":")
                    d.mount[(cfg, v)].append((int(w[3]), int(w[4])))
                elif w[1] == "loop":
                    pending[(w[2], w[3])] = dict(
                        ops=int(w[4]), wall=int(w[5]), sys=int(w[6]),
                        user=int(w[7]))
                elif w[1] == "loopreq":
                    s = pending.pop((w[2], w[3]))
                    s.update(pdus=int(w[5]), rtts=int(w[6]))
                    d.loop[(w[2], w[3])].append(s)
                elif w[1] == "meta":
                    d.meta[(w[2], w[3])].append((int(w[4]), int(w[5])))
                elif w[1] in ("write", "read"):
                    d.io[(w[1], w[2])].append((int(w[3]), int(w[4])))
                elif w[1] == "hook":
                    d.hook[(w[2], w[3])].append(int(w[5]) / int(w[4]))
                elif w[1] == "calib":
                    d.calib = int(w[4]) / int(w[3])
                elif w[1] == "mem":
                    d.mem[w[2]] = int(w[3])
                elif w[1] == "phase":
                    d.phase.append((w[2], int(w[3])))
                elif w[1] == "start":
                    d.start = int(w[2])
                elif w[1] == "end":
                    d.end = int(w[2])
                elif w[1].endswith("fail"):
                    d.fails.append(" ".join(w))
            except (ValueError, IndexError, KeyError) as e:
                d.fails.append(f"unparsed record ({e}): {' '.join(w)}")
    return d


class Report:
    def __init__(self, kernel):
        self.kernel = kernel
        self.lines = []
        self.rows = []
        self.ratios = []

    def line(self, s=""):
        self.lines.append(s)
        print(s)

    def raw(self, test, cfg, variant, metric, idx, value, unit):
        self.rows.append((self.kernel, test, cfg, variant, metric, idx, value,
                          unit))

    def ratio(self, name, cfg, value, lo=None, hi=None, extra=""):
        self.ratios.append((name, cfg, value, lo, hi, extra))


def per_load(xs, batches):
    """Fastest batch of each module load: preemption only ever adds time."""
    return [min(xs[i:i + batches]) for i in range(0, len(xs), batches)
            if len(xs[i:i + batches]) == batches]


def report_mounts(d, r):
    for v in VARIANTS:
        for cfg in CONFIGS:
            xs = d.mount.get((cfg, v))
            if not xs:
                continue
            cyc = [(m + u) / 1e6 for m, u in xs]
            mo = [m / 1e6 for m, u in xs]
            for i, (m, u) in enumerate(xs):
                r.raw("mount", cfg, vname(v), "mount_ns", i, m, "ns")
                r.raw("mount", cfg, vname(v), "umount_ns", i, u, "ns")
            r.line(f"mount-{vname(v)} {cfg} n={len(cyc)} median={med(cyc):.1f}ms "
                   f"p90={quantile(cyc, 0.9):.1f}ms (mount+umount; mount alone "
                   f"median={med(mo):.1f}ms p90={quantile(mo, 0.9):.1f}ms)")
        st = d.mount.get(("stock", v))
        for cfg in ("smbvn1", "smbvn0"):
            sv = d.mount.get((cfg, v))
            if not st or not sv:
                continue
            a = [m + u for m, u in st]
            b = [m + u for m, u in sv]
            lo, hi = boot_ratio_ci(a, b, 0.5)
            r.ratio(f"mount-{vname(v)}", cfg, med(b) / med(a), lo, hi,
                    f"p90={quantile(b, 0.9) / quantile(a, 0.9):.3f}")


def report_pdus(d, r):
    extra = {}
    for v in VARIANTS:
        for cfg in CONFIGS:
            p = d.pdus.get((cfg, v))
            if not p:
                continue
            dialect, cmds = p
            total = sum(cmds.values())
            for c, n in sorted(cmds.items()):
                r.raw("pdus", cfg, vname(v), f"cmd{c}", 0, n, "requests")
            named = " ".join(f"{CMD_NAMES.get(c, c)}={n}"
                             for c, n in sorted(cmds.items()) if n)
            base = d.pdus.get(("stock", v))
            delta = ""
            if base and cfg != "stock":
                dt = total - sum(base[1].values())
                di = cmds.get(11, 0) - base[1].get(11, 0)
                extra[(cfg, v)] = di
                delta = f"; vs stock: requests {dt:+d}, ioctl {di:+d}"
            r.line(f"requests-per-mount-{vname(v)} {cfg} dialect={dialect} "
                   f"total={total} ({named}){delta}")
    return extra


def report_trace(d, r):
    for cfg in ("smbvn1", "smbvn0"):
        for v in VARIANTS:
            groups = defaultdict(list)
            for e in d.trace.get((cfg, v), []):
                share = "ipc" if e.get("share", "").endswith("IPC$") else "share"
                groups[(e.get("verdict"), e.get("reason"))].append(
                    (share, int(e.get("ns", 0))))
            for (verdict, reason), xs in sorted(groups.items()):
                ns = [x[1] for x in xs]
                for i, (share, n) in enumerate(xs):
                    r.raw("tcon", cfg, vname(v), f"{verdict}:{share}", i, n, "ns")
                r.line(f"tcon-time {cfg} {vname(v)} {verdict} ({reason}) n={len(ns)} "
                       f"median={med(ns) / 1e3:.1f}us p90={quantile(ns, 0.9) / 1e3:.1f}us")
    # Everything smbvn does in a mount happens inside its tree connects, so
    # the events' sum per mount (IPC$ then the share) bounds what smbvn can
    # add to a mount's latency, round trips included.
    for cfg in ("smbvn1", "smbvn0"):
        for v in VARIANTS:
            ns = [int(e.get("ns", 0)) for e in d.trace.get((cfg, v), [])]
            per_mount = [ns[i] + ns[i + 1] for i in range(0, len(ns) - 1, 2)]
            if per_mount:
                r.line(f"smbvn-time-per-mount {cfg} {vname(v)} n={len(per_mount)} "
                       f"median={med(per_mount) / 1e6:.2f}ms p90="
                       f"{quantile(per_mount, 0.9) / 1e6:.2f}ms (upper bound of what "
                       f"smbvn adds to a mount; on 3.0/3.02 it replaces stock's own "
                       f"exchange)")
    by = defaultdict(list)
    for (cfg, v), evs in d.trace.items():
        if v in VARIANTS:
            for e in evs:
                by[e.get("verdict")].append(int(e.get("ns", 0)))
    what = {"not-applicable": "no exchange, pure CPU (3.1.1, 2.x-only offer)",
            "disabled": "knob 0, pure CPU incl. the once-per-connection log line",
            "validated": "signed exchange, incl. its network round trip"}
    for verdict in ("not-applicable", "disabled", "validated"):
        xs = by.get(verdict)
        if xs:
            r.line(f"tcon-time all {verdict} n={len(xs)} median={med(xs) / 1e3:.1f}us "
                   f"p90={quantile(xs, 0.9) / 1e3:.1f}us ({what[verdict]})")
    return by


LOOP_WHAT = {"stat": "stat, actimeo=0: open+query+close compound",
             "pread": "1-byte pread, cache=none: one READ"}


def report_loops(d, r, by):
    perpdu = {}
    rtt_ref = None
    for kind in ("stat", "pread"):
        for cfg in CONFIGS:
            ss = d.loop.get((kind, cfg), [])
            if not ss:
                continue
            for i, s in enumerate(ss):
                for m in ("wall", "sys", "user", "pdus", "rtts"):
                    r.raw(kind, cfg, "3.0", m, i, s[m],
                          "ns" if m in ("wall", "sys", "user") else "count")
            ops = sum(s["ops"] for s in ss)
            wall = [s["wall"] / s["ops"] / 1e3 for s in ss]
            sysn = [s["sys"] / s["ops"] / 1e3 for s in ss]
            ppo = sum(s["pdus"] for s in ss) / ops
            rpo = sum(s["rtts"] for s in ss) / ops
            r.line(f"{kind}-loop {cfg} ops={ops} wall median={med(wall):.0f}us/op "
                   f"system-CPU median={med(sysn):.0f}us/op PDUs/op={ppo:.2f} "
                   f"round-trips/op={rpo:.2f} ({LOOP_WHAT[kind]})")
            if kind == "pread" and cfg == "stock" and rpo:
                rtt_ref = med(wall) / rpo
        for cfg in ("smbvn1", "smbvn0"):
            st, sv = d.loop.get((kind, "stock"), []), d.loop.get((kind, cfg), [])
            n = min(len(st), len(sv))
            if not n:
                continue
            for m in ("wall", "sys"):
                ds = [sv[i][m] / sv[i]["pdus"] - st[i][m] / st[i]["pdus"]
                      for i in range(n) if sv[i]["pdus"] and st[i]["pdus"]]
                mean = statistics.mean(ds) if ds else float("nan")
                se = sd(ds) / math.sqrt(len(ds)) if len(ds) > 1 else float("nan")
                perpdu[(kind, cfg, m)] = (mean, se)
                r.line(f"per-PDU-{m} {kind} {cfg}-stock mean={mean:+.0f}ns/PDU "
                       f"sd={sd(ds):.0f} se={se:.0f} rounds={len(ds)} (end to end)")
            rs = [sv[i]["wall"] / st[i]["wall"] for i in range(n)]
            r.ratio(f"{kind}-latency", cfg, sum(s["wall"] for s in sv[:n]) /
                    sum(s["wall"] for s in st[:n]), min(rs), max(rs),
                    "range over rounds")
    if rtt_ref:
        r.line(f"round-trip reference (stock 1-byte pread, one READ) {rtt_ref:.0f}us")
        if by.get("validated"):
            r.line(f"tcon-time validated / round-trip reference = "
                   f"{med(by['validated']) / 1e3 / rtt_ref:.2f} (the exchange costs about "
                   f"one round trip; smbvn's own CPU in it is below this noise, the "
                   f"no-exchange path above bounds its fixed part)")
    return perpdu


def report_hooks(d, r, batches, host_calib):
    """Per-call hook cost; "base" is BENCH_BASELINE's module, if timed."""
    hook = {}
    cfgs = [c for c in ("base", "smbvn1")
            if any(k[0] == c for k in d.hook)]
    for fn in HOOK_FNS:
        per = {cfg: per_load(d.hook.get((cfg, fn), []), batches)
               for cfg in ["stock"] + cfgs}
        for cfg, xs in per.items():
            for i, x in enumerate(xs):
                r.raw("hook", cfg, fn, "ns_per_call", i, round(x, 2), "ns")
        for cfg in cfgs:
            if not per["stock"] or not per[cfg]:
                continue
            n = min(len(per["stock"]), len(per[cfg]))
            ds = [per[cfg][i] - per["stock"][i] for i in range(n)]
            hook[(cfg, fn)] = med(ds)
            r.line(f"hook {fn} stock={med(per['stock']):.1f}ns/call "
                   f"{cfg}={med(per[cfg]):.1f}ns/call delta median={med(ds):+.1f}ns "
                   f"range={min(ds):+.1f}..{max(ds):+.1f} loads={n}")
    base = per_load(d.hook.get(("stock", "traced-unhooked"), []), batches)
    for v in HOOK_VARIANTS:
        xs = per_load(d.hook.get(("stock", v), []), batches)
        for i, x in enumerate(xs):
            r.raw("hook", "stock", v, "ns_per_call", i, round(x, 2), "ns")
        if xs and base:
            hook[v] = med(xs) - med(base)
            r.line(f"hook-mechanism {v} +{hook[v]:.1f}ns/call over an unhooked call "
                   f"(own function, empty callback; loads={len(xs)})")
    factor = None
    if d.calib and host_calib:
        factor = d.calib / host_calib
        r.line(f"tcg-factor empty indirect call: guest {d.calib:.2f}ns, host "
               f"{host_calib:.2f}ns -> TCG runs such code {factor:.1f}x slower")
    per_pdu = None
    for cfg in cfgs:
        if (cfg, "check_receive") not in hook or (cfg, "send_recv") not in hook:
            continue
        x = hook[(cfg, "check_receive")] + hook[(cfg, "send_recv")]
        if cfg == "smbvn1":
            per_pdu = x
        scaled = f", ~{x / factor:.0f}ns scaled to the host CPU" if factor else ""
        r.line(f"hook per-PDU {cfg} = receive hook + send hook (a lone request such as "
               f"READ or WRITE; a compound of three shares one send) = {x:.1f}ns "
               f"under TCG{scaled}")
    return per_pdu, factor


def report_chunks(r, name, unit, samples, rate_of, test, variant_of):
    """Per-configuration totals and paired per-chunk ratios of a chunked test."""
    rates = {}
    for cfg in CONFIGS:
        xs = samples.get(cfg)
        if not xs:
            continue
        for i, (amount, ns) in enumerate(xs):
            r.raw(test, cfg, variant_of, "amount", i, amount, unit)
            r.raw(test, cfg, variant_of, "ns", i, ns, "ns")
        total = sum(a for a, _ in xs)
        rates[cfg] = rate_of(total, sum(ns for _, ns in xs))
        r.line(f"{name} {cfg} chunks={len(xs)} amount={total}{unit} "
               f"rate={rates[cfg]:.2f} {'MB/s' if unit == 'B' else 'files/s'}")
    for cfg in ("smbvn1", "smbvn0"):
        if "stock" in rates and cfg in rates:
            a, b = samples["stock"], samples[cfg]
            n = min(len(a), len(b))
            pr = [rate_of(*b[i]) / rate_of(*a[i]) for i in range(n)]
            r.ratio(f"{name}-rate", cfg, rates[cfg] / rates["stock"],
                    min(pr), max(pr), "range of paired chunks")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kernel", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--csv", required=True)
    ap.add_argument("--summary", required=True)
    ap.add_argument("--plot")
    ap.add_argument("--no-plot", action="store_true",
                    help="no plot (a run without mounts has nothing to draw)")
    ap.add_argument("--conn-size", type=int, default=0)
    ap.add_argument("--inflight-size", type=int, default=0)
    ap.add_argument("--table-size", type=int, default=0)
    ap.add_argument("--vm-seconds", type=int, default=0)
    ap.add_argument("--hook-batches", type=int, default=15)
    ap.add_argument("--host-calib", type=float, default=0)
    a = ap.parse_args()

    d = parse(a.log)
    r = Report(a.kernel)
    r.line(f"kernel {a.kernel} vm={a.vm_seconds}s")
    for f in d.fails:
        r.line(f"FAIL {f}")
    ph = d.phase + ([("end", d.end)] if d.end else [])
    r.line("phases " + " ".join(
        f"{ph[i][0]}={(ph[i + 1][1] - ph[i][1]) / 1e9:.0f}s"
        for i in range(len(ph) - 1)))

    report_mounts(d, r)
    extra = report_pdus(d, r)
    by = report_trace(d, r)
    perpdu = report_loops(d, r, by)
    per_pdu, factor = report_hooks(d, r, a.hook_batches, a.host_calib)

    for op in ("create", "stat", "unlink"):
        report_chunks(r, f"meta-{op}", " files",
                      {cfg: d.meta.get((cfg, op), []) for cfg in CONFIGS},
                      lambda n, ns: n / (ns / 1e9), "meta", op)
    tot = {}
    for cfg in CONFIGS:
        parts = [d.meta.get((cfg, op), []) for op in ("create", "stat", "unlink")]
        if all(parts) and len({len(p) for p in parts}) == 1:
            tot[cfg] = [(parts[0][i][0], sum(p[i][1] for p in parts))
                        for i in range(len(parts[0]))]
    report_chunks(r, "meta-all", " files", tot, lambda n, ns: n / (ns / 1e9),
                  "meta", "create+stat+unlink")
    for op in ("write", "read"):
        report_chunks(r, op, "B", {cfg: d.io.get((op, cfg), []) for cfg in CONFIGS},
                      lambda b, ns: b / 1e6 / (ns / 1e9), "io", op)

    r.line(f"memory coresize={d.mem.get('coresize')} bytes (lsmod {d.mem.get('lsmod')}); "
           f"struct smbvn_conn={a.conn_size} bytes; its table of 128={a.table_size} bytes, "
           f"static, inside coresize; struct smbvn_inflight={a.inflight_size} bytes, "
           f"kzalloc'ed only while an exchange runs")

    r.line()
    rmap = {}
    for name, cfg, v, lo, hi, extra_txt in r.ratios:
        rmap[(name, cfg)] = (v, lo, hi)
        ci = f" [{lo:.3f}..{hi:.3f}]" if lo is not None else ""
        r.line(f"ratio {name} {cfg}/stock median={v:.3f}{ci} {extra_txt}".rstrip())

    def verdict(ok):
        return "met" if ok else "MISSED"

    def ratio_verdict(x, ok):
        """A miss whose interval still holds 1.00 is not a measured slowdown."""
        v, lo, hi = x
        if ok(v):
            return "met"
        if lo is not None and lo <= 1.0 <= hi:
            return "missed by the point estimate, but its interval includes 1.00: no difference resolved"
        return "MISSED"
    r.line()
    for v in ("3.0", "3.02", "3.1.1"):
        x = rmap.get((f"mount-{v}", "smbvn1"))
        if x is not None:
            r.line(f"target mount-{v} smbvn1/stock <=1.05: {x[0]:.3f} [{x[1]:.3f}..{x[2]:.3f}] "
                   f"{ratio_verdict(x, lambda y: y <= 1.05)}")
    for v in ("2.1", "dg"):
        if ("smbvn1", v) in extra:
            e = extra[("smbvn1", v)]
            r.line(f"target {vname(v)} extra round trips <=1 per tree connect: "
                   f"{e / 2:+.1f} ({e:+d} ioctl per mount = 2 tree connects) "
                   f"{verdict(e / 2 <= 1)}")
    for name in ("write-rate", "read-rate", "meta-all-rate"):
        x = rmap.get((name, "smbvn1"))
        if x is not None:
            r.line(f"target {name} smbvn1/stock >=0.99: {x[0]:.3f} [{x[1]:.3f}..{x[2]:.3f}] "
                   f"{ratio_verdict(x, lambda y: y >= 0.99)}")
    if per_pdu is not None:
        # Issue 14 sets the target on the host-scaled figure; without a
        # calibration only the TCG one exists, and it is judged as is.
        if factor:
            r.line(f"target per-PDU hook cost <=20ns host-scaled: "
                   f"~{per_pdu / factor:.0f}ns ({per_pdu:.0f}ns under TCG) "
                   f"{verdict(per_pdu / factor <= 20)}")
        else:
            r.line(f"target per-PDU hook cost <=20ns: {per_pdu:.0f}ns under TCG "
                   f"{verdict(per_pdu <= 20)} (no host calibration)")
    for kind in ("pread", "stat"):
        if (kind, "smbvn1", "wall") in perpdu:
            mean, se = perpdu[(kind, "smbvn1", "wall")]
            r.line(f"target per-PDU hook cost, end-to-end {kind} estimate: {mean:+.0f} "
                   f"+- {se:.0f} ns/PDU (its noise is far above 20 ns)")
    if a.conn_size:
        r.line(f"target per-connection state <=128 bytes: {a.conn_size} "
               f"{verdict(a.conn_size <= 128)}")

    os.makedirs(os.path.dirname(a.csv) or ".", exist_ok=True)
    with open(a.csv, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(("kernel", "test", "config", "variant", "metric", "index",
                    "value", "unit"))
        w.writerows(r.rows)
    os.makedirs(os.path.dirname(a.summary) or ".", exist_ok=True)
    with open(a.summary, "w") as f:
        f.write("# SPDX-License-Identifier: GPL-2.0-only\n"
                "# Generated by make bench (scripts/bench/bench-report.py).\n")
        f.write("\n".join(r.lines) + "\n")
    if a.plot and not a.no_plot:
        plot(d, a.kernel, a.plot)
    return 1 if d.fails else 0


def plot(d, kernel, png):
    """Empirical CDFs of mount+umount latency, one panel per variant."""
    if not shutil.which("gnuplot"):
        print(f"plot: gnuplot missing, no {png}")
        return
    variants = [v for v in VARIANTS if any((c, v) in d.mount for c in CONFIGS)]
    if not variants:
        return
    rows = (len(variants) + 1) // 2
    with tempfile.TemporaryDirectory() as tmp:
        cmds = [f"set terminal png size 1400,{330 * rows + 60}",
                f"set output '{os.path.abspath(png)}'",
                f"set multiplot layout {rows},2 title "
                f"'mount+umount latency, empirical CDF per configuration, {kernel}, qemu TCG'",
                "set key bottom right", "set grid",
                "set xlabel 'ms'", "set ylabel 'fraction of cycles'",
                "set yrange [0:1]"]
        for v in variants:
            series = []
            allx = []
            for cfg in CONFIGS:
                xs = sorted((m + u) / 1e6 for m, u in d.mount.get((cfg, v), []))
                if not xs:
                    continue
                allx += xs
                fn = os.path.join(tmp, f"{cfg}-{v}.dat")
                with open(fn, "w") as f:
                    for i, x in enumerate(xs):
                        f.write(f"{x} {(i + 1) / len(xs)}\n")
                series.append(f"'{fn}' using 1:2 with steps lw 2 title '{cfg}'")
            hi = max(quantile(allx, 0.98), 1)
            cmds += [f"set title 'vers={vname(v)}'", f"set xrange [0:{hi * 1.1:.0f}]",
                     "plot " + ", ".join(series)]
        cmds.append("unset multiplot")
        gp = os.path.join(tmp, "plot.gp")
        with open(gp, "w") as f:
            f.write("\n".join(cmds) + "\n")
        res = subprocess.run(["gnuplot", gp], capture_output=True, text=True)
        if res.returncode:
            print(f"plot: gnuplot failed: {res.stderr.strip()}")


if __name__ == "__main__":
    sys.exit(main())
