# SPDX-License-Identifier: GPL-2.0-only
#
# make bench     performance of stock cifs vs smbvn (=1 and =0), both Debian
#                kernels, one qemu boot each: see scripts/bench/bench.sh for what is
#                measured and the BENCH_* variables that size it.
#
# Included from the top Makefile.  Whatever the include's position, the
# default goal stays the top Makefile's own first target: the goal is saved
# before the rule and restored (possibly to empty, which lets the next rule
# claim it) after it.
bench_saved_goal := $(.DEFAULT_GOAL)

bench:
	bash scripts/bench/bench.sh

.DEFAULT_GOAL := $(bench_saved_goal)
.PHONY: bench
