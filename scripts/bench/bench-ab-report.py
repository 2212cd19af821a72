#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""bench-ab-report - the calibrated table of one scripts/bench/bench-ab.sh run.

Reads the "BENCH ab FIGURE:KIND:ROUND:SLOT WALL_NS BUSY_NS" records of a
guest console log (scripts/bench/bench-ab-guest.sh).  Each ROUND of a FIGURE and
KIND is an ABBA quad; its ratio is (slot 2 + slot 3) / (slot 1 + slot 4),
the cost of KIND against stock.  Per figure and kind the table gives the
median of the quad ratios and a 95 % bootstrap interval of that median.
KIND "stock" is the A/A: stock against stock, run the same way.

A figure whose A/A median lies outside 1.00 +- AA_TOL, or that has fewer
than MIN_QUADS quads, gets no verdict.  Otherwise the verdict says whether
the interval of smbvn's ratio lies wholly above both 1 and the A/A's
interval (costs more), wholly below both (costs less), or neither (no
difference resolved).  Ratios are of time: above 1 means smbvn takes longer, for
rates as well as latencies.  "delta us" is the median per quad of the
difference per unit of work (B slot minus A slot), in microseconds of the
chosen clock: under -icount shift=0 a guest microsecond is a thousand
guest instructions.
"""

import argparse
import random
import re
import statistics
import sys
from collections import defaultdict

AA_TOL = 0.02
# Below this a bootstrap interval of a median says little.
MIN_QUADS = 4
RECORD = re.compile(r"BENCH ab (\S+):(\S+):(\d+):([1-4]) (\d+) (\d+)")
KINDS = ("smbvn1", "smbvn0")
NAMES = {"mount-dg": "mount-2.1-after-downgrade", "mount-3.02": "mount-3.0.2"}
METRIC_INDEX = {"wall": 0, "busy": 1}


def parse(paths):
    """{figure: {kind: {round: {slot: (wall, busy)}}}} from the logs.

    A figure found in a later log replaces the earlier log's samples of
    it whole: a figure re-run on its own never mixes two boots.
    """
    data = {}
    for path in paths:
        one = defaultdict(lambda: defaultdict(lambda: defaultdict(dict)))
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                m = RECORD.search(line)
                if m:
                    fig, kind, rnd, slot, wall, busy = m.groups()
                    one[fig][kind][int(rnd)][int(slot)] = (int(wall), int(busy))
        data.update(one)
    return data


def quad_ratios(rounds, metric):
    i = METRIC_INDEX[metric]
    out = []
    for q in rounds.values():
        if len(q) != 4:
            continue
        a = q[1][i] + q[4][i]
        if a > 0:
            out.append((q[2][i] + q[3][i]) / a)
    return out


def quad_deltas(rounds, metric):
    """Per quad, (B slots - A slots) / 2 in microseconds: the absolute cost."""
    i = METRIC_INDEX[metric]
    return [(q[2][i] + q[3][i] - q[1][i] - q[4][i]) / 2e3
            for q in rounds.values() if len(q) == 4]


def boot_median_ci(xs, n=4000):
    """95 % percentile-bootstrap interval of the median of xs."""
    if len(xs) < 2:
        return float("nan"), float("nan")
    rng = random.Random(17)
    ms = sorted(statistics.median(rng.choices(xs, k=len(xs)))
                for _ in range(n))
    return ms[int(0.025 * n)], ms[int(0.975 * n) - 1]


def summarize(xs):
    if not xs:
        return None
    lo, hi = boot_median_ci(xs)
    return statistics.median(xs), lo, hi, len(xs)


def verdict(aa, ab):
    """A difference counts only beyond both 1 and the A/A's interval."""
    if aa is None or ab is None:
        return "no samples"
    if min(aa[3], ab[3]) < MIN_QUADS:
        return "fewer than %d quads: no verdict" % MIN_QUADS
    if abs(aa[0] - 1) > AA_TOL:
        return "A/A outside 1.00+-%.2f: no verdict" % AA_TOL
    if ab[1] > max(1, aa[2]):
        return "costs more (+%.1f %%)" % ((ab[0] - 1) * 100)
    if ab[2] < min(1, aa[1]):
        return "costs less (%.1f %%)" % ((ab[0] - 1) * 100)
    return "no difference resolved"


def fmt(s):
    if s is None:
        return "-"
    return "%.3f [%.3f..%.3f]" % s[:3]


def table(data, metric):
    rows = []
    for fig in sorted(data, key=lambda f: (not f.startswith("mount"), f)):
        aa = summarize(quad_ratios(data[fig].get("stock", {}), metric))
        for kind in KINDS:
            if kind not in data[fig]:
                continue
            ab = summarize(quad_ratios(data[fig][kind], metric))
            d = quad_deltas(data[fig][kind], metric)
            delta = statistics.median(d) if d else float("nan")
            rows.append((NAMES.get(fig, fig), kind, ab, aa, verdict(aa, ab),
                         delta))
    return rows


def render(rows, metric):
    hdr = ("figure", "kind/stock", "ratio [95% CI]", "A/A [95% CI]", "n",
           "delta us", "verdict")
    lines = ["%-27s %-11s %-24s %-24s %3s %9s  %s" % hdr]
    for fig, kind, ab, aa, v, delta in rows:
        lines.append("%-27s %-11s %-24s %-24s %3s %9.1f  %s" % (
            fig, kind, fmt(ab), fmt(aa), ab[3] if ab else 0, delta, v))
    return lines


def plot(data, metric, png, title):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("plot: python3-matplotlib missing, no %s" % png)
        return
    i = METRIC_INDEX[metric]
    figs = sorted(data, key=lambda f: (not f.startswith("mount"), f))
    cols = min(5, len(figs))
    nrows = (len(figs) + cols - 1) // cols
    fig, axes = plt.subplots(nrows, cols, figsize=(2.6 * cols, 3.2 * nrows),
                             squeeze=False)
    for ax in axes.flat[len(figs):]:
        ax.set_visible(False)
    for ax, f in zip(axes.flat, figs):
        # Per-slot times, stock slots of every quad against the B slots.
        groups, labels = [], []
        stock = [q[s][i] / 1e6 for k in data[f].values() for q in k.values()
                 for s in (1, 4) if s in q]
        groups.append(stock)
        labels.append("stock")
        for kind in ("stock",) + KINDS:
            if kind in data[f]:
                groups.append([q[s][i] / 1e6 for q in data[f][kind].values()
                               for s in (2, 3) if s in q])
                labels.append("A/A" if kind == "stock" else kind)
        ax.boxplot(groups, labels=labels, showfliers=True)
        ax.set_title(NAMES.get(f, f), fontsize=8)
        ax.tick_params(labelsize=7)
        ax.set_ylabel("%s ms" % ("guest CPU" if metric == "busy" else "wall"),
                      fontsize=7)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(png, dpi=90)
    print("plot: %s" % png)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kernel", required=True)
    ap.add_argument("--log", required=True, action="append",
                    help="console log; repeat to let a later one's figures replace")
    ap.add_argument("--metric", choices=METRIC_INDEX, default="busy")
    ap.add_argument("--qemu", default="")
    ap.add_argument("--table")
    ap.add_argument("--plot")
    a = ap.parse_args()

    data = parse(a.log)
    if not data:
        print("bench-ab-report: no samples in %s" % " ".join(a.log))
        return 1
    other = "wall" if a.metric == "busy" else "busy"
    rows = table(data, a.metric)
    out = ["kernel %s, qemu %s, metric: %s" % (
        a.kernel, a.qemu, "guest CPU time" if a.metric == "busy" else "wall time")]
    out += render(rows, a.metric)
    # The same quads measured the other way: what the method buys.
    out.append("")
    out.append("A/A of the same quads by %s time:" % other)
    for fig in sorted(data):
        aa = summarize(quad_ratios(data[fig].get("stock", {}), other))
        out.append("  %-27s %s" % (NAMES.get(fig, fig), fmt(aa)))
    # Judged on the A/A median itself: a row that has no verdict for
    # another reason (too few quads) is not calibrated by that.
    good = [r for r in rows if r[3] is not None and abs(r[3][0] - 1) <= AA_TOL]
    out.append("")
    out.append("calibration: %d of %d rows with A/A inside 1.00+-%.2f" % (
        len(good), len(rows), AA_TOL))
    text = "\n".join(out) + "\n"
    sys.stdout.write(text)
    if a.table:
        with open(a.table, "w", encoding="utf-8") as f:
            f.write(text)
    if a.plot:
        plot(data, a.metric, a.plot, "%s (%s)" % (a.kernel, a.qemu))
    return 0


if __name__ == "__main__":
    sys.exit(main())
