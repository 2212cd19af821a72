#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Guest half of the calibrated benchmark (scripts/bench/bench-ab.sh runs it as
# /extra/test.sh under scripts/vm/vm.sh).
#
# Every sample is one ABBA quad: stock, X, X, stock, where X is smbvn1
# (smbvn loaded, require_secure_negotiate=1), smbvn0 (loaded, =0) or stock
# again.  The X = stock quads are the A/A calibration: they go through the
# same module loads and unloads at the same places (insmod and rmmod before
# the second and the fourth slot), so whatever a load, an unload or the
# position in the quad does to a figure shows up in the A/A ratio too.
# Quads of the three kinds alternate, their order rotating every round.
#
# Each slot is one "benchtool ab" call: one unit of work bracketed by wall
# time and guest CPU time (see bench/benchtool.c), printed as
#   BENCH ab FIGURE:KIND:ROUND:SLOT WALL_NS BUSY_NS
# scripts/bench/bench-ab-report.py turns those into ratios.
#
# dash has no pipefail; -e ends the run at the first unchecked failure.
set -eu
. /extra/benv

B=/extra/benchtool
KO=/extra/smbvn.ko
KNOB=/sys/module/smbvn/parameters/require_secure_negotiate
MNT=/mnt/bench
SRC=//10.0.2.2/data
CRED=ip=10.0.2.2,username=smbvn,password=smbvnpass
WD=ab-$(uname -r)

fail() {
	echo "BENCH-FAIL $*"
	dmesg | tail -n 20
	exit 1
}

check_dmesg() {
	dmesg -c | grep -E 'Oops|BUG:|WARNING:|Call Trace|Kernel panic|smbvn: refused|CIFS: VFS' || true
}

loaded() {
	[ -d /sys/module/smbvn ]
}

load() {	# load 1|0
	loaded || insmod $KO || fail "insmod smbvn"
	echo "$1" >$KNOB || fail "knob write"
}

# rmmod says EAGAIN while a renegotiation started by the load is still
# being torn down: try again for a while.
unload() {
	n=0
	while loaded; do
		rmmod smbvn 2>/dev/null && break
		n=$((n + 1))
		[ $n -lt 50 ] || fail "rmmod smbvn"
		sleep 0.2
	done
}

# What happens before slot 2 and before slot 4 of a quad of KIND.
enter_b() {	# enter_b KIND
	case $1 in
	smbvn1) load 1 ;;
	smbvn0) load 0 ;;
	stock) load 1 && unload ;;
	esac
}

leave_b() {	# leave_b KIND
	case $1 in
	stock) load 1 && unload ;;
	*) unload ;;
	esac
}

# turn N WORD...: the words with the first N (modulo their count) moved to
# the end, so that every kind takes every place in the order over rounds.
turn() {
	tn=$(($1 % ($# - 1)))
	shift
	while [ $tn -gt 0 ]; do
		tw=$1
		shift
		set -- "$@" "$tw"
		tn=$((tn - 1))
	done
	echo "$@"
}

# quad FIGURE KIND ROUND CMD...: the ABBA quad; CMD is benchtool's mode and
# arguments, with @ replaced by the slot number (for per-slot file names).
# With QMOUNT set, each slot mounts with those options before its timed
# window and unmounts after it: every slot starts from an empty cache, and
# smbvn is never loaded under a live mount (it would drop the connection
# to have it renegotiate, and the first request would wait for that).
QMOUNT=
quad() {
	qf=$1 qk=$2 qr=$3
	shift 3
	for qs in 1 2 3 4; do
		case $qs in
		2) enter_b $qk ;;
		4) leave_b $qk ;;
		esac
		# Only the ab record goes to the console (it is slow under
		# emulation), and the reconnect mode's record, whose count of
		# reads tried says how the reconnect went.
		# shellcheck disable=SC2046
		if [ -n "$QMOUNT" ]; then
			mount -t cifs $SRC $MNT -o "$QMOUNT" || fail "mount $qf $qk $qr $qs"
		fi
		qo=$($B ab "$qf:$qk:$qr:$qs" $(echo "$*" | sed "s/@/$qs/g")) ||
			fail "$qf $qk $qr $qs: $qo"
		if [ -n "$QMOUNT" ]; then
			umount $MNT || fail "umount $qf $qk $qr $qs"
		fi
		echo "$qo" | grep -E '^BENCH (ab|reconnect) '
	done
}

mkdir -p $MNT
load-cifs || fail "load-cifs"
echo 4 >/proc/sys/kernel/printk
dmesg -c >/dev/null
echo "BENCH start $(cat /proc/loadavg)"
echo "BENCH clock $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
[ -r /proc/schedstat ] || fail "no /proc/schedstat"

opts_of() {	# opts_of VARIANT [EXTRA]
	case $1 in
	dg) echo "$CRED,port=$PORT_DG${2:+,$2}" ;;
	*) echo "$CRED,port=$PORT,vers=$1${2:+,$2}" ;;
	esac
}

# --- mount + umount ---------------------------------------------------------
# Warm-up, not recorded: the very first mount of a boot costs ten times the
# others (first connection, first use of cifs' and smbvn's code paths).
for k in stock smbvn1; do
	enter_b $k
	for v in $VERSIONS; do
		$B mount warmup 2 $SRC $MNT "$(opts_of $v)" >/dev/null ||
			fail "warm-up mount $v"
	done
	leave_b $k
done
r=0
while [ $r -lt "$MOUNT_ROUNDS" ]; do
	for v in $VERSIONS; do
		for k in $(turn $r stock smbvn1 smbvn0); do
			quad mount-$v $k $r mount x 1 $SRC $MNT "$(opts_of $v)"
		done
	done
	check_dmesg
	r=$((r + 1))
done

# --- small files: create, stat, unlink --------------------------------------
# Each slot has its own directory and its own mount (see quad).
if [ "$META_ROUNDS" -gt 0 ]; then
	mount -t cifs $SRC $MNT -o "$(opts_of 3.0)" || fail "mount meta"
	rm -rf $MNT/$WD
	mkdir $MNT/$WD $MNT/$WD/1 $MNT/$WD/2 $MNT/$WD/3 $MNT/$WD/4
	umount $MNT || fail "umount meta"
	QMOUNT=$(opts_of 3.0)
	r=0
	while [ $r -lt "$META_ROUNDS" ]; do
		for k in $(turn $r stock smbvn1); do
			for op in create stat unlink; do
				quad meta-$op $k $r meta $op x $MNT/$WD/@ 0 "$META_FILES"
			done
		done
		r=$((r + 1))
	done
	QMOUNT=
	mount -t cifs $SRC $MNT -o "$(opts_of 3.0)" || fail "mount meta"
	rmdir $MNT/$WD/1 $MNT/$WD/2 $MNT/$WD/3 $MNT/$WD/4 $MNT/$WD
	umount $MNT || fail "umount meta"
	check_dmesg
fi

# --- sequential write and read ----------------------------------------------
# cache=none: every read and write goes to the server, where the hooks are.
if [ "$IO_ROUNDS" -gt 0 ]; then
	QMOUNT=$(opts_of 3.0 cache=none)
	r=0
	while [ $r -lt "$IO_ROUNDS" ]; do
		for k in $(turn $r stock smbvn1); do
			for op in write read; do
				quad $op $k $r $op x $MNT/$WD-io-@ 0 "$IO_MIB"
			done
			mount -t cifs $SRC $MNT -o "$QMOUNT" || fail "mount io"
			rm -f $MNT/$WD-io-1 $MNT/$WD-io-2 $MNT/$WD-io-3 $MNT/$WD-io-4
			umount $MNT || fail "umount io"
		done
		r=$((r + 1))
	done
	QMOUNT=
	check_dmesg
fi

# --- reconnect after a dropped connection ----------------------------------
# The host resets the server end of the mount's connection; the slot ends
# when a read of a file goes through again.  stock, smbvn1 and smbvn0:
# smbvn=0 reconnects without the validation, so smbvn1 against smbvn0 is
# what the validation of a reconnect costs.
if [ "$RECONNECT_ROUNDS" -gt 0 ]; then
	QMOUNT=$(opts_of 3.0 cache=none)
	mount -t cifs $SRC $MNT -o "$QMOUNT" || fail "mount reconnect"
	echo reconnect >$MNT/$WD-rc || fail "write $WD-rc"
	umount $MNT || fail "umount reconnect"
	# Warm-up, as for the mounts: the first reconnect of a boot costs
	# more than the others.
	for k in stock smbvn1; do
		enter_b $k
		mount -t cifs $SRC $MNT -o "$QMOUNT" || fail "mount reconnect warm-up"
		$B reconnect warmup 10.0.2.2 "$PORT_DROP" $MNT/$WD-rc >/dev/null ||
			fail "warm-up reconnect"
		umount $MNT || fail "umount reconnect warm-up"
		leave_b $k
	done
	r=0
	while [ $r -lt "$RECONNECT_ROUNDS" ]; do
		for k in $(turn $r stock smbvn1 smbvn0); do
			quad reconnect $k $r reconnect x 10.0.2.2 "$PORT_DROP" $MNT/$WD-rc
		done
		r=$((r + 1))
	done
	QMOUNT=
	mount -t cifs $SRC $MNT -o "$(opts_of 3.0)" || fail "mount reconnect"
	rm -f $MNT/$WD-rc
	umount $MNT || fail "umount reconnect"
	check_dmesg
fi

unload
echo "BENCH end $(cat /proc/loadavg)"
check_dmesg
exit 0
