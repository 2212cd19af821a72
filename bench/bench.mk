# SPDX-License-Identifier: GPL-2.0-only
#
# make bench     what smbvn costs against stock cifs (=1 and =0), both Debian
#                kernels, one qemu -icount boot each, every ratio calibrated
#                by an A/A in the same boot: scripts/bench/bench-ab.sh has the
#                BENCH_* variables, docs/BENCHMARK.md the method; then the
#                per-PDU hook cost (bench/hookcost, BENCH_ONLY=hookcost).
# make bench-legacy
#                the earlier wall-clock benchmark (scripts/bench/bench.sh):
#                requests per mount and module memory.
#
# Included from the top Makefile.  Whatever the include's position, the
# default goal stays the top Makefile's own first target: the goal is saved
# before the rule and restored (possibly to empty, which lets the next rule
# claim it) after it.
bench_saved_goal := $(.DEFAULT_GOAL)

bench:
	bash scripts/bench/bench-ab.sh
	BENCH_ONLY=hookcost bash scripts/bench/bench.sh

bench-legacy:
	bash scripts/bench/bench.sh

.DEFAULT_GOAL := $(bench_saved_goal)
.PHONY: bench bench-legacy
