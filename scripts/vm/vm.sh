#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# vm.sh REL GUEST_SCRIPT [FILE...]
#
# Boot kernel REL (unpacked by scripts/build/deps.sh) under qemu TCG with an
# initramfs whose /extra/test.sh is GUEST_SCRIPT and whose /extra/ holds the
# FILEs. The console goes to stdout and to the log ($VM_LOG, default
# .cache/vm/REL.log). Exit status: the guest's "VM-EXIT <rc>", or 125 on a
# timeout ($VM_TIMEOUT seconds, default 600), a missing VM-EXIT line, or a
# kernel Oops/BUG/WARNING/Call Trace in the log. $VM_MEM sets the guest's
# MiB (default 1024; debug kernels with KASAN and kmemleak want more).
# $VM_NETDEV_OPTS is appended to the user-mode netdev, e.g. a hostfwd= rule
# for a server that runs inside the guest. $VM_SMP sets the vCPUs (default
# 2); $VM_PIDFILE, when set, is where qemu writes its pid, so that a caller
# running this VM in the background can stop it.  The vCPUs share one host
# thread ($VM_TCG_THREAD, default single): multi-threaded TCG can execute a
# stale translation of kernel text another vCPU has just patched, which
# twice ended a run in "Oops: int3" (at boot in sched_clock_cpu, and at an
# ftrace call site in cifs while smbvn unloaded).  A stress run on 6.12
# took 352 s single-threaded against about 370 s multi-threaded.
# $VM_QEMU_OPTS adds qemu options (word-split), e.g. "-icount shift=0" for
# make bench, whose guest then counts time in executed instructions.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)

[ $# -ge 2 ] || { echo "usage: $0 REL GUEST_SCRIPT [FILE...]" >&2; exit 2; }
rel=$1 guest=$2
shift 2
[ -f "$guest" ] || { echo "vm.sh: no such guest script: $guest" >&2; exit 2; }
timeout=${VM_TIMEOUT:-600}
log=${VM_LOG:-$top/.cache/vm/$rel.log}
kernel=$top/.cache/k/$rel/boot/vmlinuz-$rel
[ -f "$kernel" ] || { echo "vm.sh: no kernel $kernel: run scripts/build/deps.sh" >&2; exit 2; }
command -v qemu-system-x86_64 >/dev/null ||
	bash "$top/scripts/build/apt-need.sh" qemu-system-x86

mkdir -p "$top/.cache/vm" "$(dirname "$log")"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The guest script must be called test.sh inside the initramfs.
cp "$guest" "$work/test.sh"
t0=$(date +%s.%N)
bash "$top/scripts/vm/mkinitramfs.sh" "$rel" "$work/initrd.gz" "$work/test.sh" "$@"
t1=$(date +%s.%N)

# No usable KVM here: TCG. stdin is /dev/null so
# the qemu monitor multiplexed on stdio never waits for input; -no-reboot
# turns the reboot after a panic (panic=-1, oops=panic) into a qemu exit.
boot() {
	timeout -k 10 "$timeout" qemu-system-x86_64 \
		-accel "tcg,thread=${VM_TCG_THREAD:-single}" -cpu max -m "${VM_MEM:-1024}" -smp "${VM_SMP:-2}" \
		${VM_PIDFILE:+-pidfile "$VM_PIDFILE"} \
		${VM_QEMU_OPTS:-} \
		-nographic -no-reboot \
		-kernel "$kernel" -initrd "$work/initrd.gz" \
		-append "console=ttyS0 panic=-1 oops=panic" \
		-netdev "user,id=n0${VM_NETDEV_OPTS:+,$VM_NETDEV_OPTS}" \
		-device virtio-net-pci,netdev=n0,romfile= \
		</dev/null 2>&1 | sed -u 's/\r$//' | tee "$log"
	qrc=${PIPESTATUS[0]}
}
set +e
boot
# Multi-threaded TCG once panicked a Debian kernel 2.6 s into boot, on an
# int3 left by the kernel patching its own text (sched_clock_cpu), before
# /init ran and so before any module was loaded.  A panic that early says
# nothing about smbvn: boot once more, and keep the first log.
if grep -aq 'Kernel panic' "$log" && ! grep -aq '^INIT' "$log"; then
	cp "$log" "$log.boot-panic"
	echo "vm.sh: kernel panicked before /init ran (first log: $log.boot-panic); booting once more"
	boot
elif grep -aq '^INIT-EARLY-REPORT' "$log"; then
	# KASAN once reported a wild access in handle_edge_irq 1.3 s into
	# the PREEMPT_RT debug kernel's boot, under TCG (mkinitramfs.sh).
	cp "$log" "$log.boot-report"
	echo "vm.sh: kernel report before /init ran (first log: $log.boot-report); booting once more"
	boot
fi
set -e
t2=$(date +%s.%N)
awk -v r="$rel" -v a="$t0" -v b="$t1" -v c="$t2" 'BEGIN {
	printf "vm.sh: %s initramfs %.1f s, boot to exit %.1f s\n", r, b - a, c - b }'

if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
	echo "vm.sh: FAIL: timeout after $timeout s (log $log)"
	exit 125
fi
# Kernel lines carry a printk timestamp; requiring it keeps test output that
# merely mentions these words from counting.
bad='\[ *[0-9]+\.[0-9]+\].*(Oops|BUG:|WARNING:|Call Trace)|Kernel panic'
if grep -anE "$bad" "$log" >"$work/bad"; then
	# The report with the lines around its start (a hung task's "blocked
	# for more than" comes before its Call Trace), prefixed so that the
	# suites, which show only vm.sh's own lines, show it too.  The FAIL
	# line stays last.
	n=$(head -n 1 "$work/bad" | cut -d: -f1)
	sed -n "$((n > 5 ? n - 5 : 1)),$((n + 30))p" "$log" | sed 's/^/vm.sh: report: /'
	echo "vm.sh: FAIL: kernel problem in the console log ($log): $(wc -l <"$work/bad") lines, the first at line $n"
	exit 125
fi
rc=$(grep -aoE '^VM-EXIT [0-9]+$' "$log" | tail -n 1 | cut -d' ' -f2)
if [ -z "$rc" ]; then
	echo "vm.sh: FAIL: no VM-EXIT line (qemu exit $qrc, log $log)"
	exit 125
fi
echo "vm.sh: guest exit $rc"
exit "$rc"
