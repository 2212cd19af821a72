#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Guest half of the benchmark (run by scripts/vm/vm.sh as /extra/test.sh).
# Three configurations are compared inside this one boot, against the same
# Samba server, so that the host's load (other builds, other VMs) hits them
# alike:
#   stock   smbvn not loaded
#   smbvn1  smbvn loaded, require_secure_negotiate=1 (the default)
#   smbvn0  smbvn loaded, require_secure_negotiate=0
# They alternate in short blocks whose order rotates every round, so a slow
# stretch of the host, or a drift over the run, spreads over all of them.
#
# Every figure leaves as one "BENCH ..." (or "TRACE"/"PDUS") line on the
# console; scripts/bench/bench-report.py turns the log into numbers.  /extra/benv
# holds the ports and cycle counts chosen by scripts/bench/bench.sh.
#
# dash has no pipefail; -e still ends the run at the first unchecked
# failure, and every expected failure is tested explicitly.
set -eu
. /extra/benv

B=/extra/benchtool
KO=/extra/smbvn.ko
HK=/extra/hookcost.ko
T=/sys/kernel/tracing
KNOB=/sys/module/smbvn/parameters/require_secure_negotiate
MNT=/mnt/bench
SRC=//10.0.2.2/data
# mount(2) takes the kernel's own option names; ip= is what mount.cifs
# would add after resolving the host.
CRED=ip=10.0.2.2,username=smbvn,password=smbvnpass
CFG=none
# Both kernels may run at once against the one share: names of their own.
WD=bench-$(uname -r)

fail() {
	echo "BENCH-FAIL $*"
	dmesg | tail -n 20
	exit 1
}

phase() {
	echo "BENCH phase $1 $($B now)"
}

# Kernel problems would otherwise stay in the ring buffer: the console only
# shows errors here (see below), and vm.sh looks for Oops/WARNING lines on
# the console.  dmesg's "[ time]" prefix is what vm.sh matches on.
check_dmesg() {
	dmesg -c | grep -E 'Oops|BUG:|WARNING:|Call Trace|Kernel panic|smbvn: refused|hooked cifs failed' || true
}

# The smbvn_decision events of the block just run, tagged with what ran.
flush_trace() {	# flush_trace CFG VARIANT
	[ -d $T/events/smbvn ] || return 0
	grep 'smbvn_decision:' $T/trace | sed "s/^.*smbvn_decision: /TRACE $1 $2 /" || true
	echo >$T/trace
}

# Which build of smbvn is loaded: this tree's ($KO) or the baseline's
# (BENCH_BASELINE, configuration "base"); both are module smbvn.
LOADED=
set_cfg() {	# set_cfg stock|smbvn1|smbvn0|base
	want=$KO
	[ "$1" = base ] && want=/extra/smbvn-base.ko
	if [ -d /sys/module/smbvn ] && { [ $1 = stock ] || [ "$LOADED" != $want ]; }; then
		rmmod smbvn || fail "rmmod smbvn"
	fi
	case $1 in
	stock) ;;
	smbvn1 | smbvn0 | base)
		if [ ! -d /sys/module/smbvn ]; then
			insmod $want || fail "insmod $want"
			LOADED=$want
			# The event is the module's: it is created disabled at
			# every load.
			echo 1 >$T/events/smbvn/smbvn_decision/enable ||
				fail "cannot enable smbvn:smbvn_decision"
		fi
		v_=${1#smbvn}
		[ $1 = base ] && v_=1
		echo "$v_" >$KNOB || fail "knob write"
		;;
	*) fail "unknown configuration $1" ;;
	esac
	CFG=$1
}

# Word N (from 0) onwards, wrapping: the configuration order of round N.
rotate() {	# rotate N WORD...
	rn=$1
	shift
	rc_=$#
	ri=0
	out=
	while [ $ri -lt $rc_ ]; do
		j=$(((ri + rn) % rc_ + 1))
		eval "out=\"\$out \${$j}\""
		ri=$((ri + 1))
	done
	echo $out
}

# mount(2) options of one variant.  "dg" is a downgrade: the default offer
# (2.1 ... 3.1.1) to a server whose maximum is SMB 2.1, the case where smbvn
# adds a round trip stock cifs never makes.
opts_of() {	# opts_of VARIANT [EXTRA]
	case $1 in
	dg) echo "$CRED,port=$PORT_DG${2:+,$2}" ;;
	*) echo "$CRED,port=$PORT,vers=$1${2:+,$2}" ;;
	esac
}

# Per-command request counts of the (only) connection, from cifs' STATS2
# table in /proc/fs/cifs/Stats: "cmd=number" pairs.
cmd_counts() {
	awk '/SMB3 CMD/ { on = 1; next }
	     on && NF == 5 && $0 ~ /^[ \t0-9]+$/ { printf " %s=%s", $1, $2; next }
	     on && /^[ \t]*$/ { on = 0 }' /proc/fs/cifs/Stats
}

# Requests sent so far: all of them, or those of one command (5 = CREATE,
# one per compound round trip in a stat).
pdu_count() {	# pdu_count all|CMD
	cmd_counts | tr ' ' '\n' |
		awk -F= -v c="$1" 'NF == 2 && (c == "all" || $1 == c) { s += $2 } END { print s + 0 }'
}

mkdir -p $MNT
load-cifs || fail "load-cifs"
mount -t tracefs nodev $T 2>/dev/null || true
# Recording comms live-patches __schedule, which qemu TCG with two vCPUs
# does not survive; the comm is not needed here.
echo 0 >$T/options/record-cmd
# Console: errors only.  cifs logs every mount at info level, and those
# lines would interleave with the records; check_dmesg reports problems.
echo 4 >/proc/sys/kernel/printk
dmesg -c >/dev/null
echo "BENCH start $($B now) $(cat /proc/loadavg)"

# --- memory: what the loaded module occupies ------------------------------
set_cfg smbvn1
echo "BENCH mem coresize $(cat /sys/module/smbvn/coresize)"
echo "BENCH mem lsmod $(lsmod | awk '$1 == "smbvn" { print $2 }')"
set_cfg stock

# --- hook cost: cifs' hooked functions called directly, no network --------
phase hook
# compound_send_recv logs a rate-limited "Null session" error for the fake
# calls: keep even errors off the console meanwhile.
echo 1 >/proc/sys/kernel/printk
# How much slower than the host this vCPU runs plain code (the host runs
# the same line; see scripts/bench/bench.sh).
$B calib guest 10000000
r=0
while [ $r -lt "$HOOK_ROUNDS" ]; do
	for c in $(rotate $r $HOOK_CONFIGS); do
		set_cfg $c
		dmesg -c >/dev/null
		# The flag variants do not depend on smbvn: in the first three
		# stock loads only.
		v=0
		[ $c = stock ] && [ $r -lt 3 ] && v=1
		if insmod $HK calls="$HOOK_CALLS" batches="$HOOK_BATCHES" tag=$c \
			variants=$v 2>/dev/null; then
			fail "hookcost.ko stayed loaded"
		fi
		dmesg | sed -n 's/.*\(BENCH hook .*\)$/\1/p'
		check_dmesg | grep -v 'Null session' || true
	done
	r=$((r + 1))
done
echo 4 >/proc/sys/kernel/printk
if [ "$ONLY" = hookcost ]; then
	set_cfg stock
	phase end
	echo "BENCH end $($B now) $(cat /proc/loadavg)"
	check_dmesg
	exit 0
fi

# --- requests per mount: what each configuration sends --------------------
phase pdus
for c in stock smbvn1 smbvn0; do
	set_cfg $c
	for v in $VERSIONS $DG; do
		mount -t cifs $SRC $MNT -o "$(opts_of $v)" || fail "mount $c $v"
		d=$(sed -n 's/.*Dialect \(0x[0-9a-f]*\).*/\1/p' /proc/fs/cifs/DebugData | head -1)
		echo "PDUS $c $v dialect=$d$(cmd_counts)"
		umount $MNT || fail "umount $c $v"
		flush_trace $c pdus-$v
	done
done
check_dmesg

# --- mount + umount latency ------------------------------------------------
phase mount
r=0
while [ $r -lt "$MOUNT_ROUNDS" ]; do
	for c in $(rotate $r stock smbvn1 smbvn0); do
		set_cfg $c
		for v in $VERSIONS $DG; do
			$B mount "$c:$v" "$MOUNT_BLOCK" $SRC $MNT "$(opts_of $v)" ||
				fail "mount loop $c $v"
			flush_trace $c $v
		done
		check_dmesg
	done
	r=$((r + 1))
done

# The data-path tests keep one mount and switch the configuration under it
# (rmmod and insmod work with mounts active; smbvn only acts at tree
# connect), so that stock and smbvn alternate every chunk on the very same
# connection and a slow stretch of the host hits both.

# --- per-PDU cost end to end: many small synchronous requests -------------
# actimeo=0 makes every stat revalidate on the server (a compound of three
# requests); cache=none makes every 1-byte pread one READ request.  They use
# different files: the lease cifs keeps on a file it has just read (its
# deferred close) would let stats of that file skip the server.
phase stat
mount -t cifs $SRC $MNT -o "$(opts_of 3.0 actimeo=0,cache=none)" || fail "mount stat"
echo x >$MNT/$WD-rtt
r=0
while [ $r -lt "$STAT_ROUNDS" ]; do
	for c in $(rotate $r $STAT_CONFIGS); do
		set_cfg $c
		# kind:command counting its round trips:file.  5 CREATE opens
		# each stat compound; 8 READ is the pread itself.
		for kc in stat:5:hello.txt pread:8:$WD-rtt; do
			k=${kc%%:*}
			cmd=${kc#*:}
			f=${cmd#*:}
			cmd=${cmd%%:*}
			p0=$(pdu_count all)
			c0=$(pdu_count $cmd)
			$B $k $c "$STAT_OPS" $MNT/$f || fail "$k loop $c"
			p1=$(pdu_count all)
			c1=$(pdu_count $cmd)
			echo "BENCH loopreq $k $c $STAT_OPS $((p1 - p0)) $((c1 - c0))"
		done
	done
	r=$((r + 1))
done
rm -f $MNT/$WD-rtt
umount $MNT || fail "umount stat"
check_dmesg

# --- metadata: create, stat, delete many small files ----------------------
# Each configuration works in its own directory of META_FILES files; every
# step (create, stat, unlink) is cut into META_CHUNKS chunks.
phase meta
mount -t cifs $SRC $MNT -o "$(opts_of 3.0)" || fail "mount meta"
chunk=$((META_FILES / META_CHUNKS))
n=0
for c in $META_CONFIGS; do
	rm -rf $MNT/$WD-meta-$c
	mkdir $MNT/$WD-meta-$c
done
for op in create stat unlink; do
	i=0
	while [ $i -lt "$META_CHUNKS" ]; do
		for c in $(rotate $n $META_CONFIGS); do
			set_cfg $c
			$B meta $op $c $MNT/$WD-meta-$c $((i * chunk)) $chunk ||
				fail "meta $op $c"
		done
		i=$((i + 1))
		n=$((n + 1))
	done
done
for c in $META_CONFIGS; do
	rmdir $MNT/$WD-meta-$c
done
umount $MNT || fail "umount meta"
check_dmesg

# --- sequential throughput ------------------------------------------------
# cache=none: reads and writes go to the server, not the page cache, so the
# network path (where the hooks sit) is what is timed.  Caches are dropped
# before each chunk all the same.  Each configuration has its own IO_MIB
# file, written and then read sequentially in IO_CHUNKS chunks.
phase io
mount -t cifs $SRC $MNT -o "$(opts_of 3.0 cache=none)" || fail "mount io"
chunk=$((IO_MIB / IO_CHUNKS))
n=0
r=0
while [ $r -lt "$IO_REPS" ]; do
	for c in $IO_CONFIGS; do
		rm -f $MNT/$WD-big-$c
	done
	for op in write read; do
		i=0
		while [ $i -lt "$IO_CHUNKS" ]; do
			for c in $(rotate $n $IO_CONFIGS); do
				set_cfg $c
				sync
				echo 3 >/proc/sys/vm/drop_caches
				$B $op $c $MNT/$WD-big-$c $((i * chunk)) $chunk ||
					fail "$op $c"
			done
			i=$((i + 1))
			n=$((n + 1))
		done
	done
	r=$((r + 1))
done
for c in $IO_CONFIGS; do
	rm -f $MNT/$WD-big-$c
done
umount $MNT || fail "umount io"
check_dmesg

set_cfg stock
phase end
echo "BENCH end $($B now) $(cat /proc/loadavg)"
check_dmesg
exit 0
