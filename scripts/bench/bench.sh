#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# make bench: what smbvn costs, measured against stock cifs.
#
# For each Debian kernel, one qemu boot runs scripts/bench/bench-guest.sh against
# one Samba server on the host loopback (plus a second one capped at SMB 2.1
# for the downgrade case).  Inside that boot stock cifs, smbvn=1 and smbvn=0
# alternate in short rotating blocks, so the ratios compare runs made side
# by side under the same host load.  scripts/bench/bench-report.py then prints one
# line per figure and the ratio table, and writes
#   .cache/bench/<kernel>.csv          every raw sample
#   .cache/bench/vm-<kernel>.log       the guest console
#   bench/results/<kernel>.txt         the summary printed here
#   bench/results/<kernel>-latency.png mount latency distributions (gnuplot)
#   bench/results/summary.txt          both kernels' ratio tables, load, time
#
# Sizing (defaults meet the issue's minimums; smaller values for a quick
# look, e.g. BENCH_MOUNT_ROUNDS=2 BENCH_IO_MIB=16 BENCH_META_FILES=100):
#   BENCH_KERNELS        releases to run (default: both from deps.sh)
#   BENCH_MOUNT_ROUNDS   rounds of mount blocks                 (10)
#   BENCH_MOUNT_BLOCK    mount+umount cycles per block          (5)
#                        -> ROUNDS*BLOCK cycles per version and configuration
#   BENCH_DG             1: also time the 2.1 downgrade case    (1)
#   BENCH_STAT_ROUNDS    rounds of the stat loop                (5)
#   BENCH_STAT_OPS       stats per configuration and round      (1000)
#   BENCH_META_FILES     files created, stat'ed, deleted        (2000)
#                        per configuration
#   BENCH_META_CHUNKS    chunks each step is cut into           (4)
#   BENCH_IO_MIB         size of the sequential file in MiB     (256)
#                        per configuration
#   BENCH_IO_CHUNKS      chunks each transfer is cut into       (4)
#   BENCH_IO_REPS        rounds of the throughput test          (1)
#   BENCH_HOOK_ROUNDS    rounds of the hook micro-benchmark     (6)
#   BENCH_*_CONFIGS      configurations of the stat, meta and io tests
#                        (default "stock smbvn1": smbvn=0 runs the same
#                        hooks on the data path, the knob is only read at
#                        tree connect, which the mount test covers)
#   BENCH_PARALLEL       1: boot both kernels at once; 0: one   (1)
#                        after the other (quieter, twice as long)
#   BENCH_VM_TIMEOUT     seconds per boot                       (5400)
#   BENCH_PORT_BASE      first of the two Samba ports           (14700)
#   BENCH_ONLY           hookcost: only the hook micro-benchmark (no Samba,
#                        no mounts; a few minutes per kernel)
#   BENCH_BASELINE       a git revision (e.g. main): its smbvn.ko is built
#                        too and timed beside this tree's in the hook
#                        micro-benchmark, as configuration "base"
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"

out=.cache/bench
res=bench/results
base=${BENCH_PORT_BASE:-14700}
mkdir -p "$out" "$res"
work=$(mktemp -d /tmp/smbvn-bench.XXXXXX)
# smbd runs as the mapped user and must traverse to the share.
chmod 755 "$work"
cleanup() {
	bash scripts/vm/samba.sh stop "$work/main" >/dev/null 2>&1 || true
	bash scripts/vm/samba.sh stop "$work/dg" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

t_start=$(date +%s)
load_before=$(uptime)
echo "bench: load before: $load_before"

bash scripts/build/deps.sh >/dev/null
command -v gnuplot >/dev/null || {
	# Only the plot needs it; the numbers do not.
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		gnuplot-nox >/dev/null 2>&1 || echo "bench: no gnuplot, no plots"
}
read -r -a kernels <<<"${BENCH_KERNELS:-$(bash scripts/build/deps.sh releases)}"

# The guest helper: static, so it needs nothing from the initramfs.
gcc -O2 -Wall -Wextra -static -o "$out/benchtool" bench/benchtool.c
# The same empty-call loop the guest times, on the real CPU: the ratio says
# how much qemu TCG inflates nanosecond figures such as the hook cost.
calib_ns() {
	"$out/benchtool" calib host 10000000 | awk '{ printf "%.2f", $5 / $4 }'
}
host_calib=$(calib_ns)

only=${BENCH_ONLY:-}
case $only in
'' | hookcost) ;;
*) echo "bench: BENCH_ONLY=$only: only hookcost is known" >&2; exit 2 ;;
esac
baseline=${BENCH_BASELINE:-}
if [ -n "$baseline" ]; then
	base_src=$top/$out/base-src
	rm -rf "$base_src"
	mkdir -p "$base_src"
	git -C "$top" archive "$baseline" | tar -x -C "$base_src"
	echo "bench: baseline $baseline = $(git -C "$top" rev-parse --short "$baseline")"
fi

for k in "${kernels[@]}"; do
	make -s KROOT=".cache/k/$k" >/dev/null
	if [ -n "$baseline" ]; then
		# Under its own name: vm.sh ships files by basename.
		make -s -C "$base_src" KROOT="$top/.cache/k/$k" \
			BDIR="$top/$out/base/$k" >/dev/null
		cp "$out/base/$k/smbvn.ko" "$out/base/$k/smbvn-base.ko"
	fi
	# hookcost.ko reads mid offsets from smbvn's generated layout of the
	# same cifs.ko; it is built beside, never into, the smbvn tree.
	hb=$top/$out/build/$k/hookcost
	rm -rf "$hb"
	mkdir -p "$hb/generated"
	cp bench/hookcost/Kbuild bench/hookcost/hookcost.c include/smbvn_kallsyms.h "$hb/"
	cp "build/$k/generated/smbvn_layout.h" "$hb/generated/"
	make -s -C ".cache/k/$k/usr/src/linux-headers-$k" M="$hb" modules \
		>"$hb/build.log" 2>&1 || { cat "$hb/build.log"; exit 1; }
done

if [ -z "$only" ]; then
	bash scripts/vm/samba.sh start "$work/main" "$base" >/dev/null
	# The downgrade server: same setup, highest dialect SMB 2.1.  smbd
	# rereads its configuration on SIGHUP; connections forked afterwards
	# use it.
	bash scripts/vm/samba.sh start "$work/dg" $((base + 1)) >/dev/null
	sed -i 's/server max protocol = .*/server max protocol = SMB2_10/' "$work/dg/smb.conf"
	kill -HUP "$(cat "$work/dg/smbd.pid")"
	sleep 1
fi

cat >"$work/benv" <<EOF
PORT=$base
PORT_DG=$((base + 1))
VERSIONS="3.0 3.02 3.1.1 2.1"
DG="$([ "${BENCH_DG:-1}" = 1 ] && echo dg)"
MOUNT_ROUNDS=${BENCH_MOUNT_ROUNDS:-10}
MOUNT_BLOCK=${BENCH_MOUNT_BLOCK:-5}
STAT_ROUNDS=${BENCH_STAT_ROUNDS:-5}
STAT_OPS=${BENCH_STAT_OPS:-1000}
STAT_CONFIGS="${BENCH_STAT_CONFIGS:-stock smbvn1}"
META_FILES=${BENCH_META_FILES:-2000}
META_CHUNKS=${BENCH_META_CHUNKS:-4}
META_CONFIGS="${BENCH_META_CONFIGS:-stock smbvn1}"
IO_MIB=${BENCH_IO_MIB:-256}
IO_CHUNKS=${BENCH_IO_CHUNKS:-4}
IO_REPS=${BENCH_IO_REPS:-1}
IO_CONFIGS="${BENCH_IO_CONFIGS:-stock smbvn1}"
HOOK_ROUNDS=${BENCH_HOOK_ROUNDS:-6}
HOOK_CALLS=${BENCH_HOOK_CALLS:-10000}
HOOK_BATCHES=${BENCH_HOOK_BATCHES:-15}
HOOK_CONFIGS="stock${baseline:+ base} smbvn1"
ONLY=$only
EOF

# One boot per kernel.  BENCH_PARALLEL=1 boots both at once: each VM then
# runs slower, but every ratio is still taken inside one VM, side by side.
run_vm() {	# run_vm KERNEL
	local k=$1 t0 t1 rc=0
	t0=$(date +%s)
	VM_LOG=$out/vm-$k.log VM_TIMEOUT=${BENCH_VM_TIMEOUT:-5400} bash scripts/vm/vm.sh "$k" \
		scripts/bench/bench-guest.sh "build/$k/smbvn.ko" "$out/build/$k/hookcost/hookcost.ko" \
		"$out/benchtool" "$work/benv" \
		${baseline:+"$out/base/$k/smbvn-base.ko"} >/dev/null 2>&1 || rc=$?
	t1=$(date +%s)
	echo "$rc $((t1 - t0))" >"$work/vm-$k.result"
	echo "bench: $k: VM done in $((t1 - t0)) s (exit $rc, log $out/vm-$k.log)"
}
pids=()
for k in "${kernels[@]}"; do
	echo "bench: $k: booting ($(uptime | sed 's/.*load/load/'))"
	if [ "${BENCH_PARALLEL:-1}" = 1 ]; then
		run_vm "$k" &
		pids+=($!)
	else
		run_vm "$k"
	fi
done
for p in "${pids[@]}"; do wait "$p"; done

# A partial run (BENCH_ONLY) leaves the full run's results alone.
pre=${only:+$only-}
summaries=()
status=0
for k in "${kernels[@]}"; do
	log=$out/vm-$k.log
	read -r rc secs <"$work/vm-$k.result"
	if [ "$rc" != 0 ]; then
		grep -a 'BENCH-FAIL\|vm.sh' "$log" | tail -n 5 || true
		status=1
	fi
	# Memory the module would hold per connection, from its debug info:
	# the per-connection record and the static table of them.
	ko=build/$k/smbvn.ko
	conn=$(pahole -C smbvn_conn "$ko" | sed -n 's/.*size: \([0-9]*\),.*/\1/p')
	infl=$(pahole -C smbvn_inflight "$ko" | sed -n 's/.*size: \([0-9]*\),.*/\1/p')
	table=$(nm -S "$ko" | awk '$4 == "conns" { print $2 }')
	table=$((16#${table:-0}))
	echo
	python3 scripts/bench/bench-report.py --kernel "$k" --log "$log" \
		--csv "$out/$pre$k.csv" --summary "$res/$pre$k.txt" \
		${only:+--no-plot} --plot "$res/$k-latency.png" \
		--conn-size "${conn:-0}" --inflight-size "${infl:-0}" \
		--table-size "$table" --vm-seconds "$secs" \
		--hook-batches "${BENCH_HOOK_BATCHES:-15}" --host-calib "$host_calib" || status=1
	summaries+=("$res/$pre$k.txt")
done

load_after=$(uptime)
t_end=$(date +%s)
{
	echo "# SPDX-License-Identifier: GPL-2.0-only"
	echo "# smbvn benchmark (make bench), $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "# host: $(nproc) CPUs, $(awk '/MemTotal/ {printf "%d MiB", $2/1024}' /proc/meminfo), qemu TCG -smp 2 -m 1024"
	echo "# load before: $load_before"
	echo "# load after:  $load_after"
	echo "# total time: $((t_end - t_start)) s"
	[ -z "$baseline" ] ||
		echo "# baseline (configuration base): $baseline = $(git -C "$top" rev-parse --short "$baseline")"
	for s in "${summaries[@]}"; do
		echo
		grep -E '^(kernel|ratio|target|hook per-PDU) ' "$s" || true
	done
} >"$res/${pre}summary.txt"
echo
cat "$res/${pre}summary.txt"
exit $status
