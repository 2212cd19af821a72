#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# End-to-end suite: for each Debian kernel, boot it under qemu, load cifs
# and smbvn, and mount real Samba servers in several honest configurations
# (the targets below) directly and through the tampering proxy.  Every
# scenario of scripts/tests/e2e-scenarios.txt runs under stock cifs, smbvn=1 and
# smbvn=0.  Prints the per-kernel results and a closing "N passed, N failed".
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
base=${E2E_PORT_BASE:-14600}
work=$(mktemp -d /tmp/smbvn-e2e.XXXXXX)
chmod 755 "$work"

# The Samba targets, one smbd each on port base+N, N the target's place in
# this list (A = base): the letter, then the smb.conf [global] settings in
# which it differs from scripts/vm/samba.sh's defaults, separated by "|".
# scripts/tests/e2e-scenarios.txt names them (and SERVER:mode for a proxy in
# front of one); its header says what each is for.  Keep them below ten:
# the proxies' ports start at base+10.
targets=(
	"A"
	"B|server signing=mandatory"
	"C|server max protocol=SMB2_10"
	"D|server max protocol=SMB3_00"
	"E|server max protocol=SMB3_02"
	"F|server smb encrypt=required"
	"G|server signing=disabled"
)
letters=()
for t in "${targets[@]}"; do letters+=("${t%%|*}"); done

pids=()
cleanup() {
	local f
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	# A VM still running (interrupted, or the other lane failed): qemu
	# runs under timeout in a process group of its own, out of reach of
	# the kill of its lane, so by its pid file.
	for f in "$work"/qemu-*.pid; do
		[ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true
	done
	for l in "${letters[@]}"; do
		bash scripts/vm/samba.sh stop "$work/$l" >/dev/null 2>&1 || true
	done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bash scripts/build/deps.sh >/dev/null
# The CI kernels of every suite, and Debian 13's, which only e2e runs in CI.
read -r -a kernels <<<"${E2E_KERNELS:-$(bash scripts/build/deps.sh releases) $(bash scripts/build/deps.sh releases-ci-extra)}"
# kbuild runs inside a build root for a kernel whose compiler the host
# lacks (Debian 13's gcc-14), the way that distribution's DKMS builds.
kbuild() { bash scripts/build/buildroot.sh run "$k" make "$@"; }
# Besides the real module, a copy built with a wrong cifs BTF CRC: it must
# refuse to hook (fail closed) exactly as it would against a foreign cifs.
for k in "${kernels[@]}"; do
	bash scripts/build/buildroot.sh module "$k" -s >/dev/null
	bad=$work/bad-$k
	cp -a "build/$k" "$bad"
	sed -i 's/^#define SMBVN_CIFS_BTF_CRC .*/#define SMBVN_CIFS_BTF_CRC 0x00000000U/' \
		"$bad/generated/smbvn_layout.h"
	kbuild -s -C ".cache/k/$k/usr/src/linux-headers-$k" M="$bad" modules >/dev/null
	mkdir -p "$work/badko-$k"
	cp "$bad/smbvn.ko" "$work/badko-$k/smbvn-badlayout.ko"
	# A test module that takes a cifs function before smbvn can.
	cp -a testmod "$work/testmod-$k"
	cp include/smbvn_kallsyms.h "$work/testmod-$k/"
	kbuild -s -C ".cache/k/$k/usr/src/linux-headers-$k" M="$work/testmod-$k" \
		W=1 modules >/dev/null
done

declare -A port=()
n=0
for t in "${targets[@]}"; do
	l=${t%%|*} sets=()
	[ "$t" = "$l" ] || IFS='|' read -r -a sets <<<"${t#*|}"
	port[$l]=$((base + n))
	bash scripts/vm/samba.sh start "$work/$l" "${port[$l]}" "${sets[@]}" >/dev/null
	n=$((n + 1))
done

# One proxy per server; one listening port per tamper mode in use.
. scripts/vm/proxies.sh
start_proxies scripts/tests/e2e-scenarios.txt "$work" $((base + 10)) "${letters[@]}"

awk '!/^#/ && NF {print $1, $2, $3, $4, $5}' scripts/tests/e2e-scenarios.txt |
	while read -r name target share vers opts; do
		[ -n "${port[$target]:-}" ] ||
			{ echo "e2e.sh: $name: no target $target" >&2; exit 2; }
		echo "$name ${port[$target]} $share $vers $opts"
	done >"$work/scenarios"
{
	for l in "${letters[@]}"; do echo "PORT_$l=${port[$l]}"; done
	echo "PORT_GUID=${port[A:guid]}"
	echo "PORT_TCDELAY=${port[A:tcdelay]}"
} >"$work/env"

total_p=0 total_f=0
count() {	# count CHECKER-OUTPUT: add its closing line to the totals
	local p f
	p=$(echo "$1" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
	f=$(echo "$1" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
	total_p=$((total_p + ${p:-0}))
	total_f=$((total_f + ${f:-1}))
}

# One boot of the scenario table (and lifecycle checks) on kernel $1; its
# checker's report goes to $work/out-scenarios-$1.
run_scenarios() {
	local k=$1 log=$work/vm-$1.log rc=0
	VM_PIDFILE=$work/qemu-scenarios-$k.pid \
	VM_LOG=$log VM_TIMEOUT=${E2E_VM_TIMEOUT:-1500} bash scripts/vm/vm.sh "$k" \
		scripts/tests/e2e-guest.sh "build/$k/smbvn.ko" "$work/scenarios" \
		"$work/env" packaging/smbvn-modprobe.conf tools/smbvn-stats \
		"$work/badko-$k/smbvn-badlayout.ko" \
		>/dev/null 2>&1 || rc=$?
	rm -f "$work/qemu-scenarios-$k.pid"
	cp "$log" ".cache/e2e/vm-$k.log"
	{
		python3 scripts/tests/e2e_check.py --scenarios scripts/tests/e2e-scenarios.txt \
			--log "$log" --kernel "$k" --vm-rc "$rc" || true
		# grep stops at 40 by itself: a "| head" would close the pipe
		# early and pipefail would end the script there.
		{ grep -h -m 40 'smbvn: refused' "$log" || true; } |
			sed 's/^/  kernel-log: /'
	} >"$work/out-scenarios-$k"
}

# Fail closed as installed: a second boot, clean module state.
run_failclosed() {
	local k=$1 log=$work/failclosed-$1.log rc=0
	VM_PIDFILE=$work/qemu-failclosed-$k.pid \
	VM_LOG=$log VM_TIMEOUT=${E2E_VM_TIMEOUT:-1500} bash scripts/vm/vm.sh "$k" \
		scripts/tests/failclosed-guest.sh "build/$k/smbvn.ko" "$work/env" \
		packaging/smbvn-modprobe.conf "$work/badko-$k/smbvn-badlayout.ko" \
		"$work/testmod-$k/cifs_squatter.ko" >/dev/null 2>&1 || rc=$?
	rm -f "$work/qemu-failclosed-$k.pid"
	cp "$log" ".cache/e2e/failclosed-$k.log"
	python3 scripts/tests/e2e_check.py --checks-only --scenarios /dev/null \
		--log "$log" --kernel "$k" --vm-rc "$rc" |
		sed 's/check\//failclosed\//' >"$work/out-failclosed-$k" || true
}

# E2E_SUITES picks suites: "scenarios" (the scenario table and lifecycle
# checks) and "failclosed" (scripts/tests/failclosed-guest.sh); default both.
# Debian 13's kernel, there for CI's kernel coverage, runs the scenarios
# only, unless E2E_SUITES names failclosed itself: the CI hour has no room
# for it (make matrix runs whatever E2E_SUITES it is given).
extra=" $(bash scripts/build/deps.sh releases-ci-extra) "
jobs=()
for k in "${kernels[@]}"; do
	suites=" ${E2E_SUITES:-scenarios failclosed} "
	[ -n "${E2E_SUITES:-}" ] || [[ "$extra" != *" $k "* ]] ||
		suites=" scenarios "
	case $suites in *" scenarios "*) jobs+=("scenarios $k") ;; esac
	case $suites in *" failclosed "*) jobs+=("failclosed $k") ;; esac
done
mkdir -p .cache/e2e

# Two VMs at a time (E2E_LANES=1 for one): each TCG VM keeps one host core
# busy, so two lanes on the two cores take about half the time.  The
# failclosed boots share one lane, since they write the same file on the
# same share; scenario boots, which only read, fill the other, and the last
# ones move over while that evens the lanes out (a scenario boot takes
# about twice a failclosed one).
lane_a=() lane_b=() wa=0 wb=0
for j in "${jobs[@]}"; do
	case $j in
	failclosed*) lane_b+=("$j") wb=$((wb + 1)) ;;
	*) lane_a+=("$j") wa=$((wa + 2)) ;;
	esac
done
if [ "${E2E_LANES:-2}" = 1 ]; then
	lane_a+=("${lane_b[@]}") lane_b=()
fi
while [ ${#lane_a[@]} -gt 1 ] && [ ${#lane_b[@]} -gt 0 ] &&
	[ $((wb + 2)) -le $((wa - 2)) ]; do
	lane_b+=("${lane_a[-1]}")
	unset 'lane_a[-1]'
	wa=$((wa - 2)) wb=$((wb + 2))
done
run_lane() {	# run_lane JOB...: "SUITE KERNEL" each, one after the other
	local j
	for j in "$@"; do "run_${j% *}" "${j#* }"; done
}
run_lane "${lane_b[@]}" &
lane_b_pid=$!
pids+=("$lane_b_pid")
run_lane "${lane_a[@]}"
wait "$lane_b_pid" || true
unset 'pids[-1]'

for j in "${jobs[@]}"; do
	out=$(cat "$work/out-${j% *}-${j#* }" 2>/dev/null ||
		echo "e2e.sh: ${j% *} on ${j#* } left no report")
	echo "$out" | grep -Ev '^[0-9]+ passed, [0-9]+ failed$' || true
	count "$(echo "$out" | grep -E -m1 '^[0-9]+ passed, [0-9]+ failed$' || true)"
done
echo "E2E: $total_p passed, $total_f failed"
[ "$total_f" = 0 ]
