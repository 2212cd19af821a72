#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# make bench: what smbvn costs against stock cifs, calibrated.
#
# One qemu boot per kernel, one after the other, runs
# scripts/bench/bench-ab-guest.sh against a Samba server on the host loopback
# (and a second one capped at SMB 2.1 for the downgrade case).  Every
# sample is an ABBA quad; stock-against-stock quads, run the same way in
# the same boot, calibrate every ratio (the A/A).  qemu runs with -icount
# by default, so that guest time counts executed instructions; the figure
# compared is the guest's CPU time of the work.  For the reconnect figure
# scripts/bench/drop-listener.py resets the mount's connection on the
# guest's request.  docs/BENCHMARK.md has the
# method and why; scripts/bench/bench-ab-report.py the statistics.  Writes
#   .cache/bench/ab-<kernel>.log        the guest console (raw samples)
#   bench/results/ab-<kernel>.txt       the table of that kernel
#   bench/results/ab-<kernel>.png       its plot (if matplotlib is there)
#   bench/results/ab-summary.txt        both kernels' tables, load, time
#
# Knobs (defaults in brackets):
#   BENCH_KERNELS       releases to run            [both from deps.sh]
#   BENCH_ROUNDS        mount rounds: each gives one quad per version and
#                       kind (A/A, smbvn1, smbvn0)               [12]
#   BENCH_VERSIONS      mount variants       ["2.1 3.0 3.02 3.1.1 dg"]
#   BENCH_META_ROUNDS   rounds of small-file quads               [4]
#   BENCH_META_FILES    files per slot                           [100]
#   BENCH_IO_ROUNDS     rounds of write/read quads               [8]
#   BENCH_IO_MIB        MiB per slot                             [16]
#   BENCH_RECONNECT_ROUNDS  rounds of reconnect quads (A/A, smbvn1,
#                       smbvn0): the host resets the mount's connection
#                       (scripts/bench/drop-listener.py, on the port after
#                       the two Samba ports) and the guest reads until
#                       cifs has reconnected                     [12]
#   BENCH_METRIC        busy (guest CPU time) or wall            [busy]
#   BENCH_QEMU_OPTS     ["-icount shift=0,sleep=on,align=off"]; "" for
#                       plain TCG
#   BENCH_SMP           vCPUs: with 2, 6.1 hangs under -icount bringing
#                       up the second CPU ("TSCs unsynchronized")  [1]
#   BENCH_PORT_BASE     first of the two Samba ports, then the drop
#                       listener                                 [14700]
#   BENCH_VM_TIMEOUT    seconds per boot                         [5400]
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"

out=.cache/bench
res=bench/results
base=${BENCH_PORT_BASE:-14700}
qopts=${BENCH_QEMU_OPTS--icount shift=0,sleep=on,align=off}
mkdir -p "$out" "$res"
work=$(mktemp -d /tmp/smbvn-bench-ab.XXXXXX)
# smbd runs as the mapped user and must reach the share.
chmod 755 "$work"
servers="main dg"
drop_pid=
cleanup() {
	[ -z "$drop_pid" ] || kill "$drop_pid" 2>/dev/null || true
	for s in $servers; do
		bash scripts/vm/samba.sh stop "$work/$s" >/dev/null 2>&1 || true
	done
	rm -rf "$work"
}
trap cleanup EXIT

t_start=$(date +%s)
load_before=$(uptime)
read -r -a kernels <<<"${BENCH_KERNELS:-$(bash scripts/build/deps.sh releases)}"
# Only these kernels are needed, none of deps.sh's build roots.
bash scripts/build/kernels.sh fetch "${kernels[@]}" >/dev/null
# The plot is Debian's matplotlib (the numbers do not need it); the report
# runs under the system interpreter that package installs into.
dpkg-query -W -f='${Status}' python3-matplotlib 2>/dev/null | grep -q 'ok installed' ||
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		python3-matplotlib >/dev/null 2>&1 || echo "bench: no python3-matplotlib, no plots"
# ss, for the drop listener.
command -v ss >/dev/null ||
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		iproute2 >/dev/null
gcc -O2 -Wall -Wextra -static -o "$out/benchtool" bench/benchtool.c
for k in "${kernels[@]}"; do
	make -s KROOT=".cache/k/$k" >/dev/null
done

bash scripts/vm/samba.sh start "$work/main" "$base" >/dev/null
bash scripts/vm/samba.sh start "$work/dg" $((base + 1)) "server max protocol=SMB2_10" >/dev/null
# The reconnect figure's drop listener; a bench that finds it missing only
# at its last figure would have wasted the boot.
/usr/bin/python3 scripts/bench/drop-listener.py $((base + 2)) "$base" >"$work/drop.out" &
drop_pid=$!
for _ in $(seq 50); do
	grep -q ready "$work/drop.out" && break
	kill -0 "$drop_pid" 2>/dev/null || break
	sleep 0.1
done
grep -q ready "$work/drop.out" || { echo "bench: drop listener did not start" >&2; exit 1; }

cat >"$work/benv" <<EOF
PORT=$base
PORT_DG=$((base + 1))
VERSIONS="${BENCH_VERSIONS:-2.1 3.0 3.02 3.1.1 dg}"
MOUNT_ROUNDS=${BENCH_ROUNDS:-12}
META_ROUNDS=${BENCH_META_ROUNDS:-4}
META_FILES=${BENCH_META_FILES:-100}
IO_ROUNDS=${BENCH_IO_ROUNDS:-8}
IO_MIB=${BENCH_IO_MIB:-16}
RECONNECT_ROUNDS=${BENCH_RECONNECT_ROUNDS:-12}
PORT_DROP=$((base + 2))
EOF

status=0
tables=()
for k in "${kernels[@]}"; do
	log=$out/ab-$k.log
	echo "bench: $k: booting ($(uptime | sed 's/.*load/load/')), qemu ${qopts:-(plain TCG)}"
	t0=$(date +%s)
	rc=0
	VM_LOG=$log VM_TIMEOUT=${BENCH_VM_TIMEOUT:-5400} VM_QEMU_OPTS=$qopts VM_SMP=${BENCH_SMP:-1} \
		bash scripts/vm/vm.sh "$k" scripts/bench/bench-ab-guest.sh \
		"build/$k/smbvn.ko" "$out/benchtool" "$work/benv" >/dev/null 2>&1 || rc=$?
	t1=$(date +%s)
	echo "bench: $k: VM done in $((t1 - t0)) s (exit $rc, log $log)"
	if [ "$rc" != 0 ]; then
		grep -a 'BENCH-FAIL\|vm.sh' "$log" | tail -n 5 || true
		status=1
	fi
	/usr/bin/python3 scripts/bench/bench-ab-report.py --kernel "$k" --log "$log" \
		--metric "${BENCH_METRIC:-busy}" --qemu "${qopts:-plain TCG}" \
		--table "$res/ab-$k.txt" --plot "$res/ab-$k.png" || status=1
	tables+=("$res/ab-$k.txt")
done

{
	echo "# smbvn benchmark (make bench), $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "# host: $(nproc) CPUs, qemu ${qopts:-plain TCG} -smp ${BENCH_SMP:-1}, one VM at a time"
	echo "# load before: $load_before"
	echo "# load after:  $(uptime)"
	echo "# total time: $(($(date +%s) - t_start)) s"
	for t in "${tables[@]}"; do
		echo
		cat "$t"
	done
} >"$res/ab-summary.txt"
echo
cat "$res/ab-summary.txt"
exit $status
