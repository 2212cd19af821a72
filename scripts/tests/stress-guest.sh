#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Guest half of the stress suite (run by scripts/vm/vm.sh as test.sh), smbvn
# at require_secure_negotiate=1 throughout.  /extra/env names the ports the
# host set up (Samba A direct, and one smbproxy.py port per mode).  Every
# check prints "STRESS name pass|fail detail"; files written through cifs
# are listed as "SUM path sha256" so that the host can compare them with
# what actually landed in Samba's share.
. /extra/env
KO=/extra/smbvn.ko
S=/sys/module/smbvn/stats
NUSERS=${NUSERS:-32}
RECONNECTS=${RECONNECTS:-200}
CHURN_BUDGET=${CHURN_BUDGET:-900}
# Seconds each of the mounts started side by side (parallel, mixed, knobs)
# may take.  cifs runs them one at a time, so every queued mount's timeout
# runs from the case's start.  On the RT debug kernel the first of 32 took
# 105 s, the queue ran out of time, and the mounts killed inside cifs'
# crypto allocation failed with ENOENT ("Failed alloc encrypt aead").
MOUNT_TIMEOUT=${MOUNT_TIMEOUT:-120}
# Seconds the multichannel reconnect case may write until 10 writes in a
# row read back after the reset, and the knob loops may run until a
# tampered mount was both let through and refused.  On the RT debug
# kernel a loop's mount, read and unmount took about 100 s, so 180 s
# held 3 tampered attempts, all while enforcement was off or in audit.
IO_BUDGET=${IO_BUDGET:-60}
KNOBS_BUDGET=${KNOBS_BUDGET:-180}
CRED=username=smbvn,password=smbvnpass

check() {	# check NAME STATUS DETAIL: STATUS 0 passes
	if [ "$2" = 0 ]; then
		echo "STRESS $1 pass $3"
	else
		echo "STRESS $1 fail $3"
		# What the kernel said last: the host shows these lines with
		# the failure, since CI keeps only the suites' output.
		dmesg | tail -n 12 | sed "s/^/STRESS-CONTEXT $1 /"
	fi
}

ctr() { cat $S/"$1" 2>/dev/null || echo 0; }
snap() { for c in validated failed not_applicable no_response renegotiated validated_other_channel mismatch_guid tree_connect_verified requests_held_back; do eval "${c}_0=\$(ctr $c)"; done; }
delta() { eval "echo \$((\$(ctr $1) - ${1}_0))"; }
now() { cut -d' ' -f1 /proc/uptime; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
# within T0 SECS: true while less than SECS seconds have passed since T0.
within() { awk -v a="$1" -v b="$(now)" -v s="$2" 'BEGIN { exit !(b - a < s) }'; }

# Until cifs has no TCP connection left: a refused or unmounted share
# lets go of it asynchronously, and counters must not move under a check.
quiesce() { cifs-quiesce 60 >/dev/null || true; }

mounted() { grep -q " $1 cifs " /proc/mounts; }

# check_revalidated NAME RECONNECTS: every reconnect since snap validated.
# A reset can land while a reconnect's validation is in flight: that
# tree connect fails as no-response, or as renegotiated when the next
# NEGOTIATE overtakes it (CI on 6.1, 2026-12-03), and cifs retries it;
# any other failed check on an honest server is a defect.
check_revalidated() {
	v=$(delta validated) f=$(delta failed) nr=$(delta no_response) rn=$(delta renegotiated)
	check "$1" $([ "$v" -ge "$2" ] && [ "$f" = $((nr + rn)) ]; echo $?) \
		"validated=$v for $2 reconnects, failed=$f (no_response=$nr, renegotiated=$rn), requests held back: $(delta requests_held_back)"
}

# settle: let cifs' own workers finish with the files of a mount before
# it is unmounted.  A close that meets a reconnect fails with EAGAIN, and
# Debian's 6.1 cifs then retries the server close from a worker (four
# times, 250 ms apart) that puts the file's dentry only at its end; its
# cifs_kill_sb does not wait for that worker (nor for the offloaded final
# put) before the busy-dentry check, which 6.12's does.  An umount that
# overtakes it finds the dentry still in use and the kernel BUGs ("Busy
# inodes after unmount"; CI on 6.1, 2026-12-01; docs/LIMITS.md).  The
# cases that drop connections under open files wait here first: 3 s is
# a default 1 s deferred close, then the retries, then some margin.
settle() {
	sync
	sleep 3
}

# bg_mount TAG SHARE OPTS [HOST]: mount //HOST/SHARE (default host
# 10.0.2.2) on /mnt/TAG in the background; /tmp/TAG.rc and /tmp/TAG.out
# get the result.
bg_mount() {
	mkdir -p /mnt/$1
	(
		rc=0
		timeout "$MOUNT_TIMEOUT" mount -t cifs "//${4:-10.0.2.2}/$2" /mnt/$1 -o "$3" \
			>/tmp/$1.out 2>&1 || rc=$?
		echo $rc >/tmp/$1.rc
	) &
}

# rmmod that waits out a busy module: a redirected cifs call in flight
# holds a reference for its duration.
rmmod_wait() {
	n=0
	until rmmod "$1" 2>/dev/null; do
		n=$((n + 1))
		[ $n -ge 60 ] && return 1
		sleep 0.5
	done
}

load-cifs >/dev/null || echo "STRESS load-cifs fail"
insmod $KO || echo "STRESS insmod fail"

# 1. Parallel mounts, one user and share each: distinct SMB sessions over
# a mix of dialects, all mounting at once.  Every mount's IPC$ and share
# tree connects count as validated: on 3.0/3.0.2 by the validation
# exchange, on 3.1.1 by the signed tree connect answer.
case_parallel() {
	snap
	t0=$(now)
	i=1
	while [ $i -le "$NUSERS" ]; do
		n=$(printf '%02d' $i)
		case $((i % 4)) in 0) v=3.1.1 ;; 2) v=3.02 ;; *) v=3.0 ;; esac
		bg_mount p$n s$n "port=$PORT_A,vers=$v,username=stress$n,password=smbvnpass"
		i=$((i + 1))
	done
	wait
	ok=0 bad=""
	want_v=0 want_tc=0
	i=1
	while [ $i -le "$NUSERS" ]; do
		n=$(printf '%02d' $i)
		want_v=$((want_v + 2))
		[ $((i % 4)) = 0 ] && want_tc=$((want_tc + 2))
		if [ "$(cat /tmp/p$n.rc)" = 0 ] &&
			[ "$(cat /mnt/p$n/hello.txt 2>/dev/null)" = "stress-$n" ]; then
			ok=$((ok + 1))
		else
			bad="$bad $n:rc=$(cat /tmp/p$n.rc):$(tr '\n' ' ' </tmp/p$n.out)"
		fi
		i=$((i + 1))
	done
	check parallel-mounts-readable $([ $ok = "$NUSERS" ]; echo $?) \
		"$ok/$NUSERS in $(elapsed "$t0") s$bad"
	v=$(delta validated) tc=$(delta tree_connect_verified) f=$(delta failed)
	check parallel-counters-exact \
		$([ "$v" = $want_v ] && [ "$tc" = $want_tc ] && [ "$f" = 0 ]; echo $?) \
		"validated=$v/$want_v tree_connect_verified=$tc/$want_tc failed=$f"
	for d in /mnt/p*; do umount "$d" 2>/dev/null & done
	wait
	left=$(grep -c ' cifs ' /proc/mounts)
	check parallel-all-unmounted $([ "$left" = 0 ]; echo $?) "$left left"
	quiesce
}

# Requests that make cifs send FSCTLs on a mount's tree, in a loop until
# /tmp/ioctl-stop exists: a hole punched (FSCTL_SET_SPARSE, then
# FSCTL_SET_ZERO_DATA), a range zeroed (FSCTL_SET_ZERO_DATA), a copy
# (FICLONE: FSCTL_DUPLICATE_EXTENTS_TO_FILE, which Samba refuses on most
# file systems, then copy_file_range: FSCTL_SRV_REQUEST_RESUME_KEY and
# FSCTL_SRV_COPYCHUNK_WRITE).  util-linux fallocate and coreutils cp come
# from the host (busybox's have neither).  Each outcome goes to
# /tmp/ioctl.TAG as "OP ok|err".
ioctl_load() {	# ioctl_load DIR TAG
	x="env LD_LIBRARY_PATH=/extra"
	: >/tmp/ioctl.$2
	# 1 MiB: on 6.1 under churn a 4 MiB write did not complete between
	# two drops for minutes.  A partial file serves as well.
	for _ in 1 2 3; do
		timeout 60 dd if=/dev/urandom of="$1/big.$2" bs=65536 count=16 \
			2>/dev/null && break
		sleep 1
	done
	while [ ! -e /tmp/ioctl-stop ]; do
		for op in punch zero copy; do
			case $op in
			punch) timeout 60 $x /extra/fallocate -p -o 65536 -l 65536 "$1/big.$2" ;;
			zero) timeout 60 $x /extra/fallocate -z -o 262144 -l 65536 "$1/big.$2" ;;
			copy) timeout 60 $x /extra/cp --reflink=auto "$1/big.$2" "$1/copy.$2" ;;
			esac >/dev/null 2>/tmp/ioctl-err.$2 && echo "$op ok" >>/tmp/ioctl.$2 ||
				echo "$op err $(tr '\n' ' ' </tmp/ioctl-err.$2)" >>/tmp/ioctl.$2
		done
	done
}

ioctl_summary() {	# ioctl_summary TAG: "punch 12/14 zero ..." ok/tried
	for op in punch zero copy; do
		printf '%s %s/%s ' $op "$(grep -c "^$op ok" /tmp/ioctl.$1)" \
			"$(grep -c "^$op " /tmp/ioctl.$1)"
	done
	# The errors, each kind once, with how often.
	grep ' err ' /tmp/ioctl.$1 | sed 's/[0-9][0-9]*/N/g' | sort | uniq -c |
		tr '\n' ';'
}

# 2. Forced reconnects under continuous I/O.  The churn proxy resets every
# connection shortly after its validation; the mount is "hard" so cifs
# retries across each reconnect, and every file written must land intact.
# closetimeo=0: no deferred close, which is not what this case tests and
# would only lengthen what settle waits for.
CHURN_OPTS=vers=3.0,hard,closetimeo=0
case_churn() {
	snap
	mkdir -p /mnt/churn
	if ! timeout 120 mount -t cifs //10.0.2.2/data /mnt/churn \
		-o "port=$PORT_churn,$CHURN_OPTS,$CRED" >/tmp/c.out 2>&1; then
		check churn-mount 1 "$(tr '\n' ' ' </tmp/c.out)"
		return
	fi
	mkdir -p /mnt/churn/churn
	# FSCTLs meanwhile, from two tasks (security review L6).
	rm -f /tmp/ioctl-stop
	ioctl_load /mnt/churn/churn a &
	ioctl_load /mnt/churn/churn b &
	r0=$(reconnects) t0=$(now) i=0 ioerr=0 lost=0
	: >/tmp/cperr
	: >/tmp/sums
	while [ $(($(reconnects) - r0)) -lt "$RECONNECTS" ]; do
		if ! within "$t0" "$CHURN_BUDGET"; then
			echo "STRESS churn-budget: $CHURN_BUDGET s spent"
			break
		fi
		i=$((i + 1))
		head -c 24576 /dev/urandom >/tmp/w
		sum=$(sha256sum /tmp/w | cut -d' ' -f1)
		# An error returned to the application is not data lost; a
		# write that keeps failing after the reconnects is.  Each
		# connection lives CHURN_DELAY (0.5 s) of host time after its
		# validation, so a slow guest can meet several resets in a
		# row: on 6.1 beside a second stress VM, one write in 45 failed
		# three tries 1 s apart, with every file read back intact.
		# Six tries keep that apart from I/O that does not resume.
		try=0
		until timeout 120 cp /tmp/w /mnt/churn/churn/f$i 2>>/tmp/cperr; do
			ioerr=$((ioerr + 1)) try=$((try + 1))
			[ $try = 6 ] && break
			sleep 1
		done
		if [ $try -lt 6 ]; then
			echo "SUM churn/f$i $sum"
			echo "$sum  /mnt/churn/churn/f$i" >>/tmp/sums
		else
			lost=$((lost + 1))
		fi
	done
	r=$(($(reconnects) - r0))
	touch /tmp/ioctl-stop
	wait
	n=$(cat /tmp/ioctl.a /tmp/ioctl.b | grep -c ' ok$')
	check churn-ioctl-load-ran $([ "$n" -gt 0 ]; echo $?) \
		"FSCTL producers (ok/tried): a: $(ioctl_summary a)b: $(ioctl_summary b)"
	check churn-reconnects $([ $r -ge "$RECONNECTS" ]; echo $?) \
		"$r reconnects, $i files in $(elapsed "$t0") s"
	check churn-io-resumes $([ $lost = 0 ]; echo $?) \
		"$lost writes failed 6 times; $ioerr transient errors: $(sort /tmp/cperr | sed 's/f[0-9]*/fN/' | uniq -c | tr '\n' ' ')"
	# Re-read everything from the server, not from the page cache.
	sync
	echo 3 >/proc/sys/vm/drop_caches
	# The proxy goes on resetting connections meanwhile, so a read may
	# fail and is retried; a read that succeeds with other bytes is
	# corruption.
	corrupt=0 unreadable=0 rerr=0
	while read -r want f; do
		try=0
		until got=$(timeout 120 sha256sum <"$f" 2>>/tmp/rderr); do
			rerr=$((rerr + 1)) try=$((try + 1))
			[ $try = 3 ] && break
			sleep 1
		done
		if [ $try = 3 ]; then
			unreadable=$((unreadable + 1))
		elif [ "${got%% *}" != "$want" ]; then
			corrupt=$((corrupt + 1))
			echo "CORRUPT $f"
		fi
	done </tmp/sums
	check churn-readback-intact $([ $corrupt = 0 ] && [ $unreadable = 0 ]; echo $?) \
		"$corrupt of $i files differ, $unreadable unreadable, $rerr transient read errors"
	check_revalidated churn-revalidated "$r"
	settle
	timeout 60 umount /mnt/churn
	check churn-umount $? ""
	quiesce
}

# 2b. As 2, with only FSCTLs as the load and every validate answer held
# 1 s by the proxy (churnhold): the window in which a reconnected tree
# has its new TreeId but no verdict yet is then wide enough for the
# proxy to see whether cifs uses it (security review L6).  The proxy's
# log is the measurement; here only that the load ran and the mount
# survived.
case_churn_hold() {
	snap
	mkdir -p /mnt/ch
	if ! timeout 120 mount -t cifs //10.0.2.2/data /mnt/ch \
		-o "port=$PORT_churnhold,$CHURN_OPTS,$CRED" >/tmp/ch.out 2>&1; then
		check churn-hold-mount 1 "$(tr '\n' ' ' </tmp/ch.out)"
		return
	fi
	mkdir -p /mnt/ch/ch
	rm -f /tmp/ioctl-stop
	r0=$(reconnects) t0=$(now)
	ioctl_load /mnt/ch/ch a &
	ioctl_load /mnt/ch/ch b &
	while [ $(($(reconnects) - r0)) -lt "${HOLD_RECONNECTS:-40}" ] &&
		within "$t0" 600; do
		sleep 1
	done
	touch /tmp/ioctl-stop
	wait
	r=$(($(reconnects) - r0))
	n=$(cat /tmp/ioctl.a /tmp/ioctl.b | grep -c ' ok$')
	check churn-hold-reconnects $([ $r -ge "${HOLD_RECONNECTS:-40}" ] && [ "$n" -gt 0 ]; echo $?) \
		"$r reconnects in $(elapsed "$t0") s; FSCTL producers (ok/tried): a: $(ioctl_summary a)b: $(ioctl_summary b)"
	check_revalidated churn-hold-revalidated "$r"
	settle
	timeout 60 umount /mnt/ch
	check churn-hold-umount $? ""
	quiesce
}

reconnects() {	# TCP reconnects cifs has done since it was loaded
	sed -n 's/^\([0-9]*\) session [0-9]* share reconnects$/\1/p' /proc/fs/cifs/Stats
}

# write_until MOUNT DIR SECS: a small file into MOUNT/DIR every 0.2 s
# for SECS seconds, each logged as "ok|err UPTIME N" in /tmp/wlog.
write_until() {
	mkdir -p "$1/$2"
	t0=$(now)
	: >/tmp/wlog
	i=0
	while within "$t0" "$3"; do
		i=$((i + 1))
		# Logged with the time the write started: one in flight when
		# the refusal comes may still complete (on a channel that was
		# proven), one started after it must not.
		ts=$(now)
		if echo "w$i" | timeout 60 dd of="$1/$2/w$i" 2>/dev/null; then
			echo "ok $ts $i" >>/tmp/wlog
		else
			echo "err $ts $i" >>/tmp/wlog
		fi
		sleep 0.2
	done
}

# io_stops NAME DIR: after write_until, the first guid-mismatch refusal
# came, some writes went through before it, none started after it
# succeeded, and some failed; the writes that went through are listed (WROTE DIR/wN) for the
# host to compare with what reached the server.
io_stops() {
	# Refusal time on the same clock as the writes (printk seconds).
	tr=$(dmesg | sed -n 's/^\[ *\([0-9.]*\)\] smbvn: refused .*rule=guid-mismatch.*/\1/p' | head -1)
	okb=$(grep -c '^ok' /tmp/wlog)
	late=$(awk -v t="${tr:-0}" '$1 == "ok" && $2 > t' /tmp/wlog | wc -l)
	errs=$(grep -c '^err' /tmp/wlog)
	check "$1-refused" $([ -n "$tr" ]; echo $?) "refusal at ${tr:-never}"
	check "$1-io-stops" \
		$([ -n "$tr" ] && [ "$okb" -gt 0 ] && [ "$late" = 0 ] && [ "$errs" -gt 0 ]; echo $?) \
		"$okb writes ok, $late started after the refusal, $errs failed"
	awk '$1 == "ok" { print $3 }' /tmp/wlog | sed "s|^|WROTE $2/w|"
	sed "s|^|WLOG $2 |" /tmp/wlog
}

# 3. A tamper on a reconnect under continuous I/O: the proxy drops the
# validated connection and gives the reconnect a different ServerGuid.
# Writes must stop succeeding once smbvn refused; nothing may continue on
# the unvalidated connection.
case_reconnect_tamper() {
	snap
	mkdir -p /mnt/rt
	dmesg -c >/dev/null
	if ! timeout 120 mount -t cifs //10.0.2.2/data /mnt/rt \
		-o "port=$PORT_reguid,vers=3.0,$CRED" >/tmp/rt.out 2>&1; then
		check reconnect-tamper-mount 1 "$(tr '\n' ' ' </tmp/rt.out)"
		return
	fi
	write_until /mnt/rt rt 40
	io_stops reconnect-tamper rt
	settle
	timeout 60 umount -f /mnt/rt
	check reconnect-tamper-umount $? ""
	sleep 11	# the per-session refusal hold
	quiesce
}

# 4. The server goes silent or hangs up in the middle of the validate
# answer.  The mount must fail, within cifs' own timeout (echo_interval=5:
# cifs gives up on a silent server after a few intervals), and leave
# nothing mounted.
case_stall() {	# case_stall MODE PORT
	snap
	mkdir -p /mnt/st
	t0=$(now)
	rc=0
	timeout 170 mount -t cifs //10.0.2.2/data /mnt/st \
		-o "port=$2,vers=3.0,echo_interval=5,$CRED" >/tmp/st.out 2>&1 || rc=$?
	el=$(elapsed "$t0")
	grep -q 'error(71)' /tmp/st.out
	e71=$?
	mounted /mnt/st
	m=$?
	check "$1-fails-cleanly" $([ $rc != 0 ] && [ $rc != 124 ] && [ $e71 = 0 ] && [ $m != 0 ]; echo $?) \
		"rc=$rc after $el s: $(tr '\n' ' ' </tmp/st.out)"
	check "$1-within-timeout" \
		"$(awk -v e="$el" 'BEGIN { print (e <= 60) ? 0 : 1 }')" "$el s (bound 60 s)"
	[ $m = 0 ] && umount -f /mnt/st
	quiesce
	f=$(delta failed) v=$(delta validated)
	check "$1-counted" $([ "$f" = 1 ] && [ "$v" = 0 ]; echo $?) "failed=$f validated=$v"
}

# 5. Honest and tampered mounts at the same time: only the tampered fail.
case_mixed() {
	snap
	dmesg -c >/dev/null
	nt=0
	for i in 01 02 03 04 05 06 07 08; do
		bg_mount h$i s$i "port=$PORT_A,vers=3.0,username=stress$i,password=smbvnpass"
	done
	for m in $TAMPER_MODES; do
		eval "p=\$PORT_$m"
		bg_mount t$m data "port=$p,vers=3.0,$CRED"
		nt=$((nt + 1))
	done
	wait
	hok=0 detail=""
	for i in 01 02 03 04 05 06 07 08; do
		if [ "$(cat /tmp/h$i.rc)" = 0 ] &&
			[ "$(cat /mnt/h$i/hello.txt 2>/dev/null)" = "stress-$i" ]; then
			hok=$((hok + 1))
		else
			detail="$detail h$i:$(tr '\n' ' ' </tmp/h$i.out)"
		fi
	done
	tref=0
	for m in $TAMPER_MODES; do
		if [ "$(cat /tmp/t$m.rc)" != 0 ] && grep -q 'error(71)' /tmp/t$m.out &&
			! mounted /mnt/t$m; then
			tref=$((tref + 1))
		else
			detail="$detail t$m:rc=$(cat /tmp/t$m.rc)"
		fi
	done
	check mixed-honest-mount $([ $hok = 8 ]; echo $?) "$hok/8$detail"
	check mixed-tampered-refused $([ $tref = "$nt" ]; echo $?) "$tref/$nt$detail"
	for d in /mnt/h*; do umount "$d" 2>/dev/null; done
	quiesce
	v=$(delta validated) f=$(delta failed)
	check mixed-counters-exact $([ "$v" = 16 ] && [ "$f" = "$nt" ]; echo $?) \
		"validated=$v/16 failed=$f/$nt"
}

# 6. rmmod/insmod smbvn in a loop while two mounters mount, read and
# unmount in parallel.  A mount may be refused once when smbvn arrives
# between its NEGOTIATE and its tree connect (negotiate-not-captured), or
# fail with ECONNABORTED or EAGAIN when smbvn drops the connections that
# predate it; any other failure, a bad read or a hang is a defect.
mounter() {	# mounter ID VERS: until /tmp/stop exists
	mkdir -p /mnt/m$1
	k=0
	while [ ! -e /tmp/stop ]; do
		k=$((k + 1))
		rc=0
		timeout "$MOUNT_TIMEOUT" mount -t cifs //10.0.2.2/data /mnt/m$1 \
			-o "port=$PORT_A,vers=$2,$CRED" >/tmp/m$1.out 2>&1 || rc=$?
		if [ $rc = 0 ]; then
			if [ "$(cat /mnt/m$1/hello.txt 2>/dev/null)" = smbvn-hello ]; then
				echo "ok" >>/tmp/mlog$1
			else
				echo "badread $k" >>/tmp/mlog$1
			fi
			timeout 60 umount /mnt/m$1 || echo "umountfail $k" >>/tmp/mlog$1
		elif grep -q 'error(71)' /tmp/m$1.out; then
			echo "refused $k" >>/tmp/mlog$1
		elif grep -q 'error(103)\|error(11)' /tmp/m$1.out; then
			# smbvn drops every connection that predates it when it
			# loads, so that it renegotiates under smbvn: a mount
			# caught in mid-flight sees its connection aborted
			# (ECONNABORTED) or its reconnect not yet done (EAGAIN).
			echo "aborted $k" >>/tmp/mlog$1
		else
			echo "other $k rc=$rc $(tr '\n' ' ' </tmp/m$1.out)" >>/tmp/mlog$1
		fi
	done
}

case_load_loop() {
	rm -f /tmp/stop /tmp/mlog1 /tmp/mlog2
	: >/tmp/mlog1
	: >/tmp/mlog2
	rmmod_wait smbvn
	mounter 1 3.0 &
	mounter 2 3.02 &
	t0=$(now) fails=0 busy=0
	for it in $(seq 1 "${LOADS:-20}"); do
		# Without dropping the mounters' connections at every load:
		# on 6.1 a drop that meets a mount in its umount hit cifs'
		# "Dentry ... still in use" WARNING (a panic here).  The drop
		# itself is tested by scripts/tests/failclosed-guest.sh.
		insmod $KO renegotiate_existing=0 || fails=$((fails + 1))
		sleep 0.$((it % 7 + 1))
		rmmod smbvn 2>/dev/null || { busy=$((busy + 1)); rmmod_wait smbvn || fails=$((fails + 1)); }
		sleep 0.$((it % 5 + 1))
	done
	touch /tmp/stop
	wait
	check load-loop-insmod-rmmod $([ $fails = 0 ]; echo $?) \
		"${LOADS:-20} cycles in $(elapsed "$t0") s, $busy rmmod retried, $fails failed"
	ok=$(cat /tmp/mlog1 /tmp/mlog2 | grep -c '^ok')
	ref=$(cat /tmp/mlog1 /tmp/mlog2 | grep -c '^refused')
	abt=$(cat /tmp/mlog1 /tmp/mlog2 | grep -c '^aborted')
	other=$(cat /tmp/mlog1 /tmp/mlog2 | grep -v '^ok' | grep -v '^refused' |
		grep -v '^aborted')
	check load-loop-mounts $([ "$ok" -gt 0 ] && [ -z "$other" ]; echo $?) \
		"$ok mounted and read, $ref refused (negotiate-not-captured), $abt aborted by smbvn's load-time drop $other"
	left=$(grep -c ' cifs ' /proc/mounts)
	check load-loop-nothing-mounted $([ "$left" = 0 ]; echo $?) "$left left"
	quiesce
	# No reference leaked: with smbvn gone and nothing mounted, cifs is
	# idle and unloads.
	n=0
	while [ "$(cat /sys/module/cifs/refcnt)" != 0 ] && [ $n -lt 60 ]; do
		sleep 0.5
		n=$((n + 1))
	done
	check load-loop-cifs-refcnt-0 $([ "$(cat /sys/module/cifs/refcnt)" = 0 ]; echo $?) \
		"refcnt $(cat /sys/module/cifs/refcnt)"
	rmmod_wait cifs
	check load-loop-rmmod-cifs $? ""
	# cifs loaded after smbvn, repeatedly: each time hooked and enforcing.
	good=0
	for it in 1 2 3; do
		dmesg -c >/dev/null
		insmod $KO && load-cifs >/dev/null && dmesg | grep -q 'smbvn: hooked cifs' &&
			snap && timeout 120 mount -t cifs //10.0.2.2/data /mnt/m1 \
				-o "port=$PORT_A,vers=3.0,$CRED" 2>/dev/null &&
			[ "$(cat /mnt/m1/hello.txt)" = smbvn-hello ] &&
			[ "$(delta validated)" = 2 ] && umount /mnt/m1 && good=$((good + 1))
		mounted /mnt/m1 && umount -f /mnt/m1
		quiesce
		[ "$(cat /sys/module/smbvn/refcnt)" = 0 ] || echo "smbvn refcnt $(cat /sys/module/smbvn/refcnt)"
		rmmod_wait smbvn && rmmod_wait cifs
	done
	check cifs-after-smbvn-x3 $([ $good = 3 ]; echo $?) "$good/3 hooked and validated"
	load-cifs >/dev/null
	insmod $KO
}

# cifs sends on the least busy channel, round-robin when all are idle, so
# the same number of requests per mount can keep every validate ioctl on
# one channel (seen: 0 of 18 on the debug kernel).  A lookup of a name
# that exists nowhere, one request, on every other mount shifts the
# rotation.
# A session with an extra channel that cifs does not mark DISCONNECTED,
# that is, one it may send requests on (listed while it binds or after a
# refusal, until cifs gives it up, is fine).
second_channel_up() {
	awk '/Extra Channels: [1-9]/ { on = 1; up = 1 }
	     on && /DISCONNECTED/ { up = 0 }
	     /Shares:/ { if (on && up) any = 1; on = 0 }
	     END { exit !any }' /proc/fs/cifs/DebugData
}

mix_channels() {	# mix_channels MOUNTPOINT I
	[ $(($2 % 2)) = 0 ] || stat "$1/absent-$2" >/dev/null 2>&1 || true
}

# 7. Multichannel, 3.0 and 3.0.2 (the validation exchange) and 3.1.1 (the
# signed tree connects, and each binding's signed answer).  Samba also
# listens on the host's $MC_ADDR and advertises it, so cifs binds a second
# channel there.  cifs then sends each tree connect, and its validate
# ioctl, on whichever channel is least busy: every tree connect of the
# session must still validate, whichever channel carries the answer.
# Distinct handletimeout values make each mount a new tree connect on the
# one session instead of a reuse of the first.
# wait_channel NAME: up to 30 s for a multichannel mount's second channel;
# check NAME-second-channel says whether and when it came.
wait_channel() {
	n=0
	until grep -q 'Extra Channels: 1' /proc/fs/cifs/DebugData; do
		n=$((n + 1))
		[ $n -ge 60 ] && break
		sleep 0.5
	done
	check "$1-second-channel" $([ $n -lt 60 ]; echo $?) \
		"'$(grep -o 'Extra Channels: [0-9]*' /proc/fs/cifs/DebugData)' after $((n / 2)) s"
}

case_multichannel() {
	for v in 3.0 3.02 3.1.1; do
		t=mc$(echo $v | tr -d .)
		snap
		mkdir -p /mnt/mc0
		o="port=$PORT_A,vers=$v,multichannel,max_channels=2,$CRED"
		if ! timeout 120 mount -t cifs //10.0.2.2/data /mnt/mc0 -o "$o" \
			>/tmp/mc.out 2>&1; then
			check "$t-mount" 1 "$(tr '\n' ' ' </tmp/mc.out)"
			quiesce
			continue
		fi
		wait_channel "$t"
		ok=0 bad=""
		i=1
		while [ $i -le "${MC_TCONS:-16}" ]; do
			mkdir -p /mnt/mc$i
			if timeout 120 mount -t cifs //10.0.2.2/data /mnt/mc$i \
				-o "$o,handletimeout=$((1000 + i))" >/tmp/mc.out 2>&1 &&
				[ "$(cat /mnt/mc$i/hello.txt)" = smbvn-hello ]; then
				ok=$((ok + 1))
				mix_channels /mnt/mc$i $i
			else
				bad="$bad $i:$(tr '\n' ' ' </tmp/mc.out)"
			fi
			i=$((i + 1))
		done
		check "$t-tree-connects" $([ $ok = "${MC_TCONS:-16}" ]; echo $?) \
			"$ok/${MC_TCONS:-16} mounted and read$bad"
		# IPC$ and the first share, one per further tree connect,
		# and the second channel's own validation when it bound.
		va=$(delta validated) f=$(delta failed)
		check "$t-counters" \
			$([ "$va" = $((3 + ${MC_TCONS:-16})) ] && [ "$f" = 0 ]; echo $?) \
			"validated=$va/$((3 + ${MC_TCONS:-16})) failed=$f"
		# Not vacuous: some answers really came on the second channel.
		# Not on 3.1.1 with 6.1, whose SMB2_tcon always uses the
		# primary: there the binding's check is the second channel's.
		oc=$(delta validated_other_channel)
		case $v/$(uname -r) in
		3.1.1/6.1.*)
			echo "$t-answers-on-second-channel: validated_other_channel=$oc of $va (6.1 sends tree connects on the primary)" ;;
		*)
			check "$t-answers-on-second-channel" $([ "$oc" -gt 0 ]; echo $?) \
				"validated_other_channel=$oc of $va" ;;
		esac
		for d in /mnt/mc*; do mounted "$d" && umount "$d"; done
		quiesce
	done
}

# 8. As 7, but the second channel is tampered: the mount goes through the
# proxy's pass port, and the same port on $MC_ADDR is a proxy that flips
# the ServerGuid in that channel's NEGOTIATE response.  smbvn validates a
# channel when it binds, on that channel, against that channel's own
# NEGOTIATE (review M4): the tampered channel is refused at bind, before
# any I/O uses it, and every channel of the session is dropped: the
# primary comes back, cifs tries the channel again and it is refused
# again.  No answer from it may validate, no file I/O may go over it (the
# proxy logs TAMPERED-IO), and each mount either mounts or fails as
# refused or dropped: a tampered path is evidence, a mount may fail for it.
case_multichannel_tamper() {
	snap
	o="port=$PORT_pass,vers=3.0,multichannel,max_channels=2,$CRED"
	ok=0 ref=0 other="" chan=0
	i=0
	while [ $i -le "${MC_TCONS:-16}" ]; do
		mkdir -p /mnt/mt$i
		if timeout 120 mount -t cifs //10.0.2.2/data /mnt/mt$i \
			-o "$o,handletimeout=$((1000 + i))" >/tmp/mt.out 2>&1; then
			ok=$((ok + 1))
		elif grep -q 'error(\(71\|11\|103\|112\))' /tmp/mt.out; then
			# EPROTO: refused; EAGAIN, ECONNABORTED, EHOSTDOWN:
			# the session's channels dropped under the mount.
			ref=$((ref + 1))
		else
			other="$other $i:$(tr '\n' ' ' </tmp/mt.out)"
		fi
		second_channel_up && chan=$((chan + 1))
		mounted /mnt/mt$i && mix_channels /mnt/mt$i $i
		i=$((i + 1))
	done
	g=$(delta mismatch_guid) oc=$(delta validated_other_channel)
	check mctamper-second-channel-never-up $([ $chan = 0 ]; echo $?) \
		"a second channel was up (not DISCONNECTED) after $chan of $((i)) mounts"
	check mctamper-refused-at-bind \
		$([ "$g" -gt 0 ] && [ "$oc" = 0 ]; echo $?) \
		"mismatch_guid=$g validated_other_channel=$oc"
	check mctamper-mounts-or-refused $([ -z "$other" ]; echo $?) \
		"$ok mounted, $ref refused or dropped$other"
	for d in /mnt/mt*; do mounted "$d" && umount "$d"; done
	quiesce
}

# 8b. 3.1.1: the second channel's binding answer has its signature broken
# (proxy mode bindflip on both addresses; the primary's own session setup
# and everything else pass).  Stock cifs checks no SESSION_SETUP signature
# and puts the channel to use; smbvn checks it with the new channel's key
# and refuses the binding: cifs gives the channel up and the mount keeps
# its primary, which reads as usual.
case_multichannel_bind311() {
	snap
	mkdir -p /mnt/mb
	o="port=$PORT_bindflip,vers=3.1.1,multichannel,max_channels=2,$CRED"
	if ! timeout 120 mount -t cifs //10.0.2.2/data /mnt/mb -o "$o" \
		>/tmp/mb.out 2>&1; then
		check mcbind311-mount 1 "$(tr '\n' ' ' </tmp/mb.out)"
		quiesce
		return
	fi
	chan=0 n=0
	while [ $n -lt 20 ]; do
		second_channel_up && chan=$((chan + 1))
		n=$((n + 1))
		sleep 0.5
	done
	check mcbind311-reads $([ "$(cat /mnt/mb/hello.txt)" = smbvn-hello ]; echo $?) ""
	check mcbind311-second-channel-never-up $([ $chan = 0 ]; echo $?) \
		"a second channel was up (not DISCONNECTED) in $chan of 20 looks over 10 s"
	b=$(delta session_setup_bad_signature) oc=$(delta validated_other_channel)
	check mcbind311-refused-at-bind \
		$([ "$b" -gt 0 ] && [ "$oc" = 0 ]; echo $?) \
		"session_setup_bad_signature=$b validated_other_channel=$oc"
	timeout 60 umount /mnt/mb
	check mcbind311-umount $? ""
	quiesce
}

# 9. Multichannel, honest, with the primary reset once its second channel
# is up (proxy mode redropmc, 6 s after the first validation; the second
# channel goes through a plain proxy on $MC_ADDR).  cifs then binds the
# primary again and runs no tree connect: smbvn must not hold the
# session's requests back for want of one (review of the L6 gate, F1).
# Soft mount: a held-back request would fail the write.
case_multichannel_reconnect() {
	snap
	mkdir -p /mnt/mr
	t=$(now)
	o="port=$PORT_redropmc,vers=3.0,multichannel,max_channels=2,$CRED"
	rc=0
	timeout 120 mount -t cifs //10.0.2.2/data /mnt/mr -o "$o" \
		>/tmp/mr.out 2>&1 || rc=$?
	if [ "$rc" != 0 ]; then
		# 124: the mount still ran after 120 s.
		check mcreconnect-mount 1 "exit $rc after $(elapsed "$t") s: $(tr '\n' ' ' </tmp/mr.out)"
		quiesce
		return
	fi
	wait_channel mcreconnect
	# Writes go on until 10 in a row read back after the reset, or
	# IO_BUDGET s: a count, not a time, so that a debug kernel's slow
	# writes are not taken for writes held back.  "after" counts only
	# writes that started once cifs had reconnected.
	r0=$(reconnects) t0=$(now) ok=0 bad=0 after=0
	mkdir -p /mnt/mr/mr
	while within "$t0" "$IO_BUDGET" && [ $after -lt 10 ]; do
		reset=$(($(reconnects) - r0))
		head -c 8192 /dev/urandom >/tmp/mrw
		if timeout 20 cp /tmp/mrw /mnt/mr/mr/f 2>/dev/null &&
			timeout 20 cmp -s /tmp/mrw /mnt/mr/mr/f; then
			ok=$((ok + 1))
			[ "$reset" = 0 ] || after=$((after + 1))
		else
			bad=$((bad + 1)) after=0
		fi
		sleep 1
	done
	r=$(($(reconnects) - r0))
	check mcreconnect-primary-reset $([ "$r" -gt 0 ]; echo $?) \
		"$r reconnects while writing"
	check mcreconnect-io-resumes $([ $after -ge 10 ]; echo $?) \
		"$ok writes read back, $bad failed, $after in a row good after the reset, in $(elapsed "$t0") s (budget $IO_BUDGET s); requests held back: $(delta requests_held_back)"
	settle
	timeout 60 umount /mnt/mr
	check mcreconnect-umount $? ""
	quiesce
}

# 10. The primary re-binds with a tampered NEGOTIATE while the second
# channel stays up (review M4): the mount goes through the reguid port,
# which drops the primary 2 s after it validated and flips the ServerGuid
# in its reconnects; the same port on $MC_ADDR passes the second channel
# untouched.  cifs re-binds the primary with no tree connect, so stock
# writes on; smbvn validates the re-bind on the primary itself, refuses
# it and drops both channels, and nothing is written after that.
# The proxy stops tampering $REGUID_HEAL s after the first tampered
# reconnect: the session must then come back by itself, and unmount
# normally.  (Unmounting it while every channel is still refused is what
# 6.1's cifs deadlocks on, docs/LIMITS.md; stock reaches the same state
# whenever every channel of a session is down at once.)
case_multichannel_reguid() {
	snap
	mkdir -p /mnt/mg
	dmesg -c >/dev/null
	if ! timeout 120 mount -t cifs //10.0.2.2/data /mnt/mg \
		-o "port=$PORT_reguid,vers=${MR_VERS:-3.0},multichannel,max_channels=2,$CRED" \
		>/tmp/mg.out 2>&1; then
		check mcreguid-mount 1 "$(tr '\n' ' ' </tmp/mg.out)"
		return
	fi
	chan=0
	for _ in $(seq 20); do
		second_channel_up && chan=1 && break
		sleep 0.1
	done
	write_until /mnt/mg mg 30
	check mcreguid-second-channel-up $([ $chan = 1 ]; echo $?) \
		"second channel up within 2 s of the mount: $chan"
	check mcreguid-mismatch-counted $([ "$(delta mismatch_guid)" -gt 0 ]; echo $?) \
		"mismatch_guid=$(delta mismatch_guid)"
	io_stops mcreguid mg
	# After the heal: the next honest reconnect validates, and writes
	# (to a directory of their own, which the host does not compare)
	# go through again.
	t0=$(now) back=
	timeout 20 mkdir -p /mnt/mg/mgheal 2>/dev/null
	while within "$t0" $((REGUID_HEAL + 90)); do
		if timeout 20 mkdir -p /mnt/mg/mgheal 2>/dev/null &&
			echo back | timeout 20 dd of=/mnt/mg/mgheal/probe 2>/dev/null &&
			[ "$(timeout 20 cat /mnt/mg/mgheal/probe 2>/dev/null)" = back ]; then
			back=$(elapsed "$t0")
			break
		fi
		sleep 1
	done
	check mcreguid-session-back-after-heal $([ -n "$back" ]; echo $?) \
		"a write read back ${back:-never} s after the refusal check (heal $REGUID_HEAL s after the first tamper); validated $(delta validated)"
	settle
	timeout 60 umount /mnt/mg
	check mcreguid-umount $? ""
	quiesce
}

# 11. The knobs moving under load (issue 16 item 4).  200 mounts, each its
# own session (user stressNN on share sNN), spread over 16 server
# addresses ($KNOB_ADDRS: a pass proxy listens on each, at $PORT_knob), with
# a writer per address that checksums every file it writes; meanwhile
# require_secure_negotiate and audit_only are flipped every 0.4 s and four
# mounters mount, read and unmount in a loop, each on an address of its
# own ($KNOB_LOOPS), through a guid-tamper port ($PORT_knobguid) and the
# pass port in turn.  Each knob write and each mount attempt is
# bracketed by trace markers; the decisions are smbvn_decision events on
# the same (mono) clock.  The guest judges only mounts and reads; the host
# (scripts/tests/knobs_check.py) checks every decision against the knob
# values that were possible while it was made, the counters against the
# events, and the files against the server.
knob_mark() { echo "$*" >$T/trace_marker; }
knob_set() {	# knob_set NAME VALUE
	knob_mark "knob $1=$2 begin"
	echo "$2" >/sys/module/smbvn/parameters/"$1"
	knob_mark "knob $1=$2 end"
}
knob_counters() {
	printf 'KNOBS-COUNTERS %s' "$1"
	for c in validated failed disabled not_applicable audit_violations; do
		printf ' %s=%s' $c "$(ctr $c)"
	done
	echo
}
knob_writer() {	# knob_writer ADDR-INDEX MOUNTS...: until /tmp/knobs-stop
	a=$1 i=0
	shift
	while [ ! -e /tmp/knobs-stop ]; do
		for m in "$@"; do
			i=$((i + 1))
			f=/tmp/kw$a
			head -c $((4096 + (i % 7) * 1024)) /dev/urandom >$f
			sum=$(sha256sum <$f | cut -d' ' -f1)
			if timeout 60 cp $f /mnt/$m/knobs/a$a-$i 2>/dev/null &&
				[ "$(timeout 60 sha256sum </mnt/$m/knobs/a$a-$i | cut -d' ' -f1)" = "$sum" ]; then
				echo "KSUM ../${m#k*-}/knobs/a$a-$i $sum" >>/tmp/ksum.$a
			else
				echo "KERR $m a$a-$i" >>/tmp/ksum.$a
			fi
			# Room for the mount loops on a guest with 2 vCPUs.
			sleep 0.3
		done
	done
}
# knob_loop N ADDR: mount, read and unmount //ADDR/data, through the
# tamper and the pass port in turn, until 60 s are up and tampered mounts
# were both let through and refused (or KNOBS_BUDGET s).  /tmp/kl.N.res
# gets a line per attempt; the loop removes /tmp/kl.N.run when it ends.
knob_loop() {
	: >/tmp/kl.$1.res
	i=0 t0=$(now)
	while :; do
		both=$( { grep -q '^tamper ok' /tmp/kl.*.res &&
			grep -q '^tamper refused' /tmp/kl.*.res; } && echo 1 || echo 0)
		within "$t0" 60 || { [ "$both" = 0 ] && within "$t0" "$KNOBS_BUDGET"; } || break
		i=$((i + 1))
		if [ $((i % 2)) = 0 ]; then
			kind=tamper port=$PORT_knobguid
		else
			kind=honest port=$PORT_knob
		fi
		id=l$1-$i
		mkdir -p /mnt/kl$1
		knob_mark "attempt $id $kind begin"
		rc=0
		timeout 90 mount -t cifs //$2/data /mnt/kl$1 \
			-o "port=$port,vers=3.0,$CRED" >/tmp/kl$1.out 2>&1 || rc=$?
		rd=-
		if [ $rc = 0 ]; then
			rd=$(timeout 30 cat /mnt/kl$1/hello.txt 2>/dev/null || echo unreadable)
			timeout 60 umount /mnt/kl$1
		fi
		knob_mark "attempt $id $kind end rc=$rc"
		echo "KNOBS-ATTEMPT $id $kind rc=$rc read=$rd server=$2"
		case $kind/$rc in
		honest/0) [ "$rd" = smbvn-hello ] && r="honest ok" || r="honest bad" ;;
		honest/*) r="honest bad" ;;
		tamper/0) r="tamper ok" ;;
		*) r="tamper refused" ;;
		esac
		echo "$r $id" >>/tmp/kl.$1.res
	done
	rm -f /tmp/kl.$1.run
}

case_knobs() {
	T=/sys/kernel/tracing
	mount -t tracefs nodev $T 2>/dev/null
	echo mono >$T/trace_clock
	echo 16384 >$T/buffer_size_kb
	echo 0 >$T/options/record-cmd
	echo >$T/trace
	echo 1 >$T/events/smbvn/smbvn_decision/enable
	rm -f /tmp/knobs-stop /tmp/ksum.*
	knob_mark "knob init require_secure_negotiate=$(cat /sys/module/smbvn/parameters/require_secure_negotiate) audit_only=$(cat /sys/module/smbvn/parameters/audit_only)"
	knob_counters before
	echo "KNOBS-LOOP servers=$(echo $KNOB_LOOPS | tr ' ' ,)"
	# The 200 mounts: addresses 1-8 carry users 1-13, 9-16 users 1-12.
	t0=$(now) a=0
	for addr in $KNOB_ADDRS; do
		a=$((a + 1))
		u=1 n=12
		[ $a -le 8 ] && n=13
		while [ $u -le $n ]; do
			nn=$(printf '%02d' $u)
			bg_mount k$a-s$nn s$nn "port=$PORT_knob,vers=3.0,username=stress$nn,password=smbvnpass" "$addr"
			u=$((u + 1))
		done
		wait
	done
	ok=0 bad=""
	for t in /tmp/k*-s*.rc; do
		tag=${t#/tmp/}; tag=${tag%.rc}
		if [ "$(cat $t)" = 0 ] && mkdir -p /mnt/$tag/knobs 2>/dev/null; then
			ok=$((ok + 1))
		else
			bad="$bad $tag:$(tr '\n' ' ' </tmp/$tag.out)"
		fi
	done
	check knobs-200-mounted $([ $ok = 200 ]; echo $?) \
		"$ok/200 mounted in $(elapsed "$t0") s$bad"
	a=0
	for addr in $KNOB_ADDRS; do
		a=$((a + 1))
		knob_writer $a $(cd /mnt && ls -d k$a-s* 2>/dev/null) &
	done
	# The knobs, in a cycle through all four states, under the writers
	# and the four mount loops below.
	(
		while [ ! -e /tmp/knobs-stop ]; do
			for st in "0 0" "1 1" "0 1" "1 0"; do
				set -- $st
				knob_set require_secure_negotiate $1
				knob_set audit_only $2
				sleep 0.4
			done
		done
	) &
	flipper=$!
	# Four mount loops, one per address of $KNOB_LOOPS, for 60 s and on
	# until a tampered mount was both let through and refused (at most
	# KNOBS_BUDGET s): which one it is depends on the knob state its
	# decisions read.
	rm -f /tmp/kl.*
	l=0
	for addr in $KNOB_LOOPS; do
		l=$((l + 1))
		touch /tmp/kl.$l.run
		knob_loop $l $addr &
	done
	while [ -n "$(ls /tmp/kl.*.run 2>/dev/null)" ]; do sleep 1; done
	touch /tmp/knobs-stop
	wait $flipper
	knob_set require_secure_negotiate 1
	knob_set audit_only 0
	wait
	hon_bad=$(cat /tmp/kl.*.res | grep -c 'honest bad')
	hon=$(cat /tmp/kl.*.res | grep -c '^honest')
	tam_ok=$(cat /tmp/kl.*.res | grep -c '^tamper ok')
	tam_ref=$(cat /tmp/kl.*.res | grep -c '^tamper refused')
	check knobs-honest-always-mounted $([ $hon_bad = 0 ]; echo $?) \
		"$hon honest attempts, $hon_bad failed or misread"
	check knobs-tamper-both-outcomes \
		$([ $tam_ok -gt 0 ] && [ $tam_ref -gt 0 ]; echo $?) \
		"$tam_ok tampered mounts let through (knobs off or audit), $tam_ref refused"
	nsum=$(cat /tmp/ksum.* 2>/dev/null | grep -c '^KSUM')
	nerr=$(cat /tmp/ksum.* 2>/dev/null | grep -c '^KERR')
	check knobs-writes-read-back $([ "$nsum" -gt 0 ] && [ "$nerr" = 0 ]; echo $?) \
		"$nsum files written and read back, $nerr failed"
	cat /tmp/ksum.* 2>/dev/null | grep '^KSUM'
	knob_counters after
	echo 0 >$T/events/smbvn/smbvn_decision/enable
	echo "KNOBS-TRACE-LOST $(grep -o 'entries-in-buffer/entries-written: [0-9]*/[0-9]*' $T/trace | head -1)"
	# Without the task and flag columns, and paced: a thousand lines at
	# once made Debian's rt-amd64 kernel report "irq 4: nobody cared" for
	# the serial port it threads (TCG).
	grep -E 'smbvn_decision:|tracing_mark_write: (knob|attempt)' $T/trace |
		sed 's/^.*\] [^ ]* *\([0-9]*\.[0-9]*: \)/KNOBTRACE \1/' |
		awk '{ print } NR % 50 == 0 { fflush(); system("sleep 0.2") }'
	for d in /mnt/k*-s*; do umount "$d" 2>/dev/null & done
	wait
	left=$(grep -c ' cifs ' /proc/mounts)
	check knobs-all-unmounted $([ "$left" = 0 ]; echo $?) "$left left"
	echo >$T/trace
	quiesce
}

# failslab_on CASE: failslab for flagged tasks only, every allocation a
# candidate, probability still 0; says "not run" and fails on a kernel
# without failslab.
failslab_on() {
	F=/sys/kernel/debug/failslab
	mount -t debugfs nodev /sys/kernel/debug 2>/dev/null
	if [ ! -d $F ]; then
		echo "$1: not run ($(uname -r) has no failslab)"
		return 1
	fi
	echo 0 >$F/probability
	echo Y >$F/task-filter
	echo N >$F/ignore-gfp-wait
	echo N >$F/cache-filter
	echo 1 >$F/interval
	echo -1 >$F/times
	echo 0 >$F/space
	echo 0 >$F/verbose
}

# 12. Allocation failures inside the kernel (issue 16 item 3), on a kernel
# with failslab (the check-debug kernels): each mount is made by
# /extra/failmount, which sets /proc/self/make-it-fail around its mount(2)
# call alone, so that 1, 2 or 5 percent (in turn) of that call's slab
# allocations fail, cifs' and smbvn's alike (smbvn's exchange buffers,
# the crypto API's transforms).  Reconnects: case 13.  The mounts
# alternate 3.0, 3.0.2 and 3.1.1, and honest and ServerGuid-tampered
# servers.  A failure must end as a refusal or an error, never as a mount
# that was not validated: every mount that mounted has a "validated"
# smbvn_decision for its share; no tampered mount mounts; once the faults
# stop, an honest mount mounts at once (an allocation failure is no
# evidence of tampering and must leave no hold).  The debug kernel's own
# checks (KASAN, lockdep, atomic sleep, kmemleak at the end) watch the
# error paths.
case_faults() {
	failslab_on faults || return
	T=/sys/kernel/tracing
	mount -t tracefs nodev $T 2>/dev/null
	echo 0 >$T/options/record-cmd
	echo 1 >$T/events/smbvn/smbvn_decision/enable
	snap
	# fn, not n: quiesce counts in n.
	fn=0 mounted=0 unvalidated="" tam_mounted="" failed=0
	while [ $fn -lt "${FAULT_MOUNTS:-45}" ]; do
		fn=$((fn + 1))
		case $((fn % 5)) in 0|3) p=1 ;; 1|4) p=2 ;; *) p=5 ;; esac
		echo $p >$F/probability
		case $((fn % 3)) in 0) v=3.1.1 ;; 1) v=3.0 ;; *) v=3.02 ;; esac
		if [ $((fn % 4)) = 0 ]; then
			kind=tamper port=$PORT_guid
		else
			kind=honest port=$PORT_A
		fi
		echo >$T/trace
		mkdir -p /mnt/ft
		rc=0
		# The flag for the mount(2) call alone: with it set across
		# exec, the shell's and mount.cifs' own allocations failed
		# first (exit 126, or a segfault) and cifs was rarely reached.
		timeout 90 /extra/failmount //10.0.2.2/data /mnt/ft \
			"ip=10.0.2.2,port=$port,vers=$v,$CRED" >/tmp/ft.out 2>&1 || rc=$?
		rd=-
		if mounted /mnt/ft; then
			mounted=$((mounted + 1))
			rd=$(timeout 30 cat /mnt/ft/hello.txt 2>/dev/null || echo unreadable)
			grep -q "smbvn_decision: .*share=.*data .*verdict=validated" $T/trace ||
				unvalidated="$unvalidated $fn"
			[ $kind = honest ] || tam_mounted="$tam_mounted $fn"
			timeout 60 umount /mnt/ft
		else
			failed=$((failed + 1))
		fi
		echo "FAULTS-ATTEMPT $fn $kind vers=$v p=$p% rc=$rc read=$rd $(grep -o 'verdict=[a-z-]* reason=[a-z0-9-]*' $T/trace | tr '\n' ' ')"
		# Nothing of this mount may be reused by the next.
		quiesce
	done
	echo 0 >$F/probability
	echo 0 >$T/events/smbvn/smbvn_decision/enable
	echo >$T/trace
	check faults-no-unvalidated-mount $([ -z "$unvalidated" ] && [ -z "$tam_mounted" ]; echo $?) \
		"$fn mounts under failslab: $mounted mounted, $failed failed; mounted without a validated share decision:${unvalidated:- none}; tampered and mounted:${tam_mounted:- none}"
	check faults-some-mounted-some-failed $([ $mounted -gt 0 ] && [ $failed -gt 0 ]; echo $?) \
		"$mounted mounted, $failed failed (validated $(delta validated), failed $(delta failed), no_response $(delta no_response))"
	quiesce
	mkdir -p /mnt/ft
	t0=$(now)
	timeout 60 mount -t cifs //10.0.2.2/data /mnt/ft -o "port=$PORT_A,vers=3.0,$CRED" >/tmp/ft.out 2>&1
	rc=$?
	check faults-honest-mount-after $([ $rc = 0 ] &&
		[ "$(cat /mnt/ft/hello.txt 2>/dev/null)" = smbvn-hello ]; echo $?) \
		"rc=$rc in $(elapsed "$t0") s: $(tr '\n' ' ' </tmp/ft.out)"
	umount /mnt/ft 2>/dev/null
	quiesce
}

# 13. Allocation failures inside reconnects (issue 16 item 3).  cifs
# reconnects a dropped session, reopens its files and sends smbvn's
# validation from the task whose request finds the session down, so
# /extra/failio, which reads a file on a cache=none mount every 50 ms
# with its failslab flag set around each read alone, makes those
# reconnects' allocations fail: cifs', smbvn's and the crypto API's.
# Honest: through the churn port, which resets every connection 0.5 s
# after its validation, at 1, 2, 5 and 10 percent in turn; the proxy's
# UNVALIDATED-IO check on the host sees any request on a tree whose
# validation had not reached the client.  Tampered: through the reguid
# port, whose reconnects carry another ServerGuid until it heals; its
# TAMPERED-IO check sees any request on such a connection.  Either way a
# read returns the server's bytes or an error, never other bytes, and
# once the faults stop the mount reads again (an allocation failure is
# no evidence and leaves no hold).  Short reads (0 bytes) are counted,
# not failed: stock cifs gives them too.  Not in the default CASES: on
# Debian's 6.12.117 a failed unbuffered read can underflow a netfs
# request's refcount (a WARNING from netfs_put_request, seen with smbvn
# unloaded, docs/LIMITS.md), which would fail every debug-kernel run;
# run it on its own with CASES=faults_reconnect.
fr_read_again() {	# fr_read_again FILE: first good read within 120 s
	t0=$(now)
	while within "$t0" 120; do
		[ "$(timeout 30 cat "$1" 2>/dev/null)" = smbvn-hello ] &&
			{ elapsed "$t0"; return 0; }
		sleep 1
	done
	echo never
	return 1
}

case_faults_reconnect() {
	failslab_on faults_reconnect || return
	snap
	mkdir -p /mnt/fr
	# The churn port may reset a slow mount before it is done.
	for try in 1 2 3 4 5; do
		timeout 120 mount -t cifs //10.0.2.2/data /mnt/fr \
			-o "port=$PORT_churn,vers=3.0,cache=none,$CRED" >/tmp/fr.out 2>&1 && break
		sleep 2
	done
	if ! mounted /mnt/fr; then
		check faults-reconnect-mount 1 "$try tries: $(tr '\n' ' ' </tmp/fr.out)"
		return
	fi
	dmesg -c >/dev/null
	r0=$(reconnects) out=""
	for p in 1 2 5 10; do
		echo $p >$F/probability
		out="$out p=$p%: $(/extra/failio /mnt/fr/hello.txt smbvn-hello "${FR_SECS:-20}")"
		[ $? = 0 ] || out="$out (other bytes)"
	done
	echo 0 >$F/probability
	r=$(($(reconnects) - r0))
	echo "STRESS-FAULTS-RECONNECT$out"
	check faults-reconnect-no-other-bytes $(echo "$out" | grep -q 'bad=[1-9]'; [ $? = 1 ]; echo $?) "$out"
	check faults-reconnect-reconnected $([ $r -gt 0 ] && echo "$out" | grep -q 'ok=[1-9]'; echo $?) \
		"$r reconnects; validated $(delta validated), failed $(delta failed), no_response $(delta no_response); smbvn out of memory: $(dmesg | grep -c 'smbvn: cannot validate.*out of memory')"
	back=$(fr_read_again /mnt/fr/hello.txt)
	check faults-reconnect-reads-after $? "first good read $back s after the faults stopped"
	settle
	timeout 60 umount /mnt/fr
	check faults-reconnect-umount $? ""
	quiesce

	snap
	if ! timeout 120 mount -t cifs //10.0.2.2/data /mnt/fr \
		-o "port=$PORT_reguid,vers=3.0,cache=none,$CRED" >/tmp/fr.out 2>&1; then
		check faults-reguid-mount 1 "$(tr '\n' ' ' </tmp/fr.out)"
		return
	fi
	echo 5 >$F/probability
	out=$(/extra/failio /mnt/fr/hello.txt smbvn-hello 40)
	rc=$?
	echo 0 >$F/probability
	echo "STRESS-FAULTS-REGUID $out"
	check faults-reguid-no-other-bytes $([ $rc = 0 ]; echo $?) "$out"
	check faults-reguid-refused $([ "$(delta mismatch_guid)" -gt 0 ]; echo $?) \
		"mismatch_guid $(delta mismatch_guid), failed $(delta failed), validated $(delta validated)"
	# The proxy heals REGUID_HEAL s after the first tampered reconnect.
	back=$(fr_read_again /mnt/fr/hello.txt)
	check faults-reguid-reads-after-heal $? "first good read $back s after the faults stopped"
	settle
	timeout 60 umount -f /mnt/fr
	check faults-reguid-umount $? ""
	sleep 11	# the per-session refusal hold
	quiesce
}

# Every module the kernel asks for, with its uptime: a request_module()
# that waits on a slow modprobe shows next to the mount it held up (the
# RT debug kernel's first mount met one).  Into a file, printed at quiet
# points: on the console a message lands even inside a line the host
# parses (CI's churn on 6.1, 2026-12-03, had one inside a SUM line's hash).
cat >/tmp/modprobe-logged <<'EOF'
#!/bin/sh
echo "STRESS-MODPROBE $(cut -d' ' -f1 /proc/uptime) $* begin" >>/tmp/modprobe.log
/sbin/modprobe "$@"
rc=$?
echo "STRESS-MODPROBE $(cut -d' ' -f1 /proc/uptime) $* end rc=$rc" >>/tmp/modprobe.log
exit $rc
EOF
chmod 755 /tmp/modprobe-logged
echo /tmp/modprobe-logged >/proc/sys/kernel/modprobe

echo "STRESS-START $(uname -r)"
# CASES and WAY=stock exist for one-off comparisons with stock cifs.
[ "${WAY:-}" = stock ] && rmmod smbvn

# The first mounts pay for building cifs' crypto algorithms, which on
# the RT debug kernel outlasts cifs' NEGOTIATE limit (cifs-warm).
cifs-warm "$PORT_A" "$CRED" "$MOUNT_TIMEOUT"
cat /tmp/modprobe.log 2>/dev/null
: >/tmp/modprobe.log
for c in ${CASES:-parallel mixed stall reconnect_tamper churn churn_hold multichannel multichannel_tamper multichannel_bind311 multichannel_reconnect multichannel_reguid knobs faults load_loop}; do
	case $c in
	stall)
		for m in stall halfstall halfdrop; do
			eval "case_stall $m \$PORT_$m"
		done
		;;
	*) case_$c ;;
	esac
done
awk '{ $2 = ""; print }' /tmp/modprobe.log 2>/dev/null | sort | uniq -c
echo "STRESS-END"
exit 0
