#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Build and run the smbvn libFuzzer harnesses (fuzz/fuzz_*.c) against
# smbvn/proto.c and smbvn/judge.c compiled unchanged with ASan + UBSan.
#
#   scripts/tests/fuzz.sh [HARNESS...]        run each for $FUZZ_SECONDS (60)
#   scripts/tests/fuzz.sh --cov [HARNESS...]  llvm-cov line coverage of proto.c and judge.c
#                                       over the seeds + grown corpora
#
# Harnesses run one after another (one core each; these machines are
# shared).  New inputs go to .cache/fuzz/corpus/<h>/, crashes to
# .cache/fuzz/artifacts/<h>/; fuzz/corpus/<h>/ (the committed seeds) is
# only read.  Exit status is non-zero if any harness crashed.

set -uo pipefail

TOP=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${SMBVN_FUZZ_DIR:-$TOP/.cache/fuzz}
SECONDS_EACH=${FUZZ_SECONDS:-60}
CC=${CLANG:-clang}
ALL=(neg_req neg_rsp vneg_roundtrip judge)
CFLAGS=(-g -O1 -Wall -Wextra -Werror -I"$TOP/include")
# shellcheck disable=SC2054 # the commas belong to one clang option
SAN=(-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all)
# The pure protocol logic, compiled as the module compiles it.
PURE=("$TOP/smbvn/proto.c" "$TOP/smbvn/judge.c")

die() {
	echo "fuzz.sh: $*" >&2
	exit 1
}

# libFuzzer's runtime ships in libclang-rt-NN-dev on Debian.
ensure_toolchain() {
	local probe=$OUT/probe
	command -v "$CC" >/dev/null || apt-get install -y clang >/dev/null ||
		die "no clang"
	mkdir -p "$OUT"
	printf 'int LLVMFuzzerTestOneInput(const char *d, long n)\n{ return 0; }\n' \
		> "$probe.c"
	if ! "$CC" "${SAN[@]}" -o "$probe" "$probe.c" 2>/dev/null; then
		local ver
		ver=$("$CC" -dumpversion | cut -d. -f1)
		echo "fuzz.sh: installing libclang-rt-$ver-dev" >&2
		apt-get install -y "libclang-rt-$ver-dev" >/dev/null ||
			die "cannot link -fsanitize=fuzzer"
	fi
	rm -f "$probe" "$probe.c"
}

build() {
	local h=$1 kind=$2 bin=$OUT/bin/$2/fuzz_$1
	mkdir -p "$OUT/bin/$kind"
	if [ "$bin" -nt "$TOP/fuzz/fuzz_$h.c" ] &&
	   [ "$bin" -nt "$TOP/smbvn/proto.c" ] &&
	   [ "$bin" -nt "$TOP/smbvn/judge.c" ] &&
	   [ "$bin" -nt "$TOP/include/smbvn_proto.h" ] &&
	   [ "$bin" -nt "$TOP/fuzz/fuzz_common.h" ]; then
		return 0
	fi
	if [ "$kind" = cov ]; then
		"$CC" "${CFLAGS[@]}" -fsanitize=fuzzer \
			-fprofile-instr-generate -fcoverage-mapping \
			-o "$bin" "$TOP/fuzz/fuzz_$h.c" "${PURE[@]}"
	else
		"$CC" "${CFLAGS[@]}" "${SAN[@]}" \
			-o "$bin" "$TOP/fuzz/fuzz_$h.c" "${PURE[@]}"
	fi || die "building fuzz_$h failed"
}

run_one() {
	local h=$1 log=$OUT/log/$1.log rc execs cov ft
	mkdir -p "$OUT/corpus/$h" "$OUT/artifacts/$h" "$OUT/log"
	build "$h" asan
	echo "fuzz.sh: fuzz_$h for ${SECONDS_EACH}s"
	# First corpus dir is where libFuzzer adds; the seeds stay untouched.
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	"$OUT/bin/asan/fuzz_$h" -max_total_time="$SECONDS_EACH" \
		-print_final_stats=1 -max_len=4096 \
		-artifact_prefix="$OUT/artifacts/$h/" \
		"$OUT/corpus/$h" "$TOP/fuzz/corpus/$h" >"$log" 2>&1
	rc=$?
	execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" |
		grep -o '[0-9]*$')
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | grep -o '[0-9]*')
	ft=$(grep -o 'ft: [0-9]*' "$log" | tail -n 1 | grep -o '[0-9]*')
	echo "FUZZ fuzz_$h: rc=$rc execs=${execs:-?} cov=${cov:-?} ft=${ft:-?} corpus=$(ls "$OUT/corpus/$h" | wc -l)"
	if [ "$rc" -ne 0 ]; then
		grep -E 'ERROR|invariant failed|runtime error|Test unit written' \
			"$log" | head -n 20
		return 1
	fi
}

coverage() {
	local h objs=() prof=$OUT/cov
	rm -rf "$prof"
	mkdir -p "$prof"
	for h in "$@"; do
		build "$h" cov
		mkdir -p "$OUT/corpus/$h"
		LLVM_PROFILE_FILE="$prof/$h.profraw" \
			"$OUT/bin/cov/fuzz_$h" -runs=0 \
			"$OUT/corpus/$h" "$TOP/fuzz/corpus/$h" >/dev/null 2>&1 ||
			die "replaying fuzz_$h corpus failed"
		# llvm-cov wants the first binary positional, the rest -object.
		if [ ${#objs[@]} -eq 0 ]; then
			objs=("$OUT/bin/cov/fuzz_$h")
		else
			objs+=(-object "$OUT/bin/cov/fuzz_$h")
		fi
	done
	llvm-profdata merge -o "$prof/all.profdata" "$prof"/*.profraw ||
		die "llvm-profdata failed"
	llvm-cov report "${objs[@]}" -instr-profile="$prof/all.profdata" \
		"${PURE[@]}"
	llvm-cov show "${objs[@]}" -instr-profile="$prof/all.profdata" \
		"${PURE[@]}" > "$prof/pure.txt"
	echo "fuzz.sh: annotated source in $prof/pure.txt"
}

main() {
	local mode=run h failed=0 list=()
	if [ "${1:-}" = --cov ]; then
		mode=cov
		shift
	fi
	list=("$@")
	[ ${#list[@]} -eq 0 ] && list=("${ALL[@]}")
	for h in "${list[@]}"; do
		[ -f "$TOP/fuzz/fuzz_$h.c" ] || die "no harness fuzz/fuzz_$h.c"
	done
	ensure_toolchain
	if [ "$mode" = cov ]; then
		coverage "${list[@]}"
		return
	fi
	for h in "${list[@]}"; do
		run_one "$h" || failed=$((failed + 1))
	done
	[ "$failed" -eq 0 ]
}

main "$@"
