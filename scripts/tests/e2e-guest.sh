#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Guest half of the end-to-end suite (run by scripts/vm/vm.sh as test.sh).
# /extra/scenarios lists "name port share vers opts" lines resolved by the
# host.  Every scenario is mounted under smbvn=1, smbvn=0 and stock cifs;
# each attempt prints one "E2E name way outcome ..." line that the host
# compares with scripts/tests/e2e-scenarios.txt.  Lifecycle checks print "CHECK".
KO=/extra/smbvn.ko
KNOB=/sys/module/smbvn/parameters/require_secure_negotiate
MNT=/mnt/smb
mkdir -p $MNT
printf 'smbvn-hello\n' >/tmp/want

check() {	# check NAME CONDITION-RESULT(0/1) DETAIL
	if [ "$2" = 0 ]; then echo "CHECK $1 pass"; else echo "CHECK $1 fail $3"; fi
}

# A failed or dropped mount lets go of its TCP connection asynchronously;
# wait until cifs has none left so that one attempt's log lines never
# land in the next one's.
quiesce() {
	n=0
	while [ $n -lt 60 ] && grep -q 'ConnectionId' /proc/fs/cifs/DebugData 2>/dev/null; do
		sleep 0.5
		n=$((n + 1))
	done
	[ $n -lt 60 ] || echo "WARN connections still open after 30 s"
}

# snap and stats_delta run a few programs, not one per counter: on the
# debug kernels under TCG each fork and exec costs about half a second,
# and a program per counter made every attempt take ~50 s there.
STATS=/sys/module/smbvn/stats
snap() {	# counters as "name=value" lines, empty without smbvn
	[ -d $STATS ] || return 0
	grep -r . $STATS | sed 's|^.*/||; s|:|=|' | sort
}

# Print the counters that moved between two snapshots.
stats_delta() {	# stats_delta NAME WAY BEFORE AFTER
	[ -n "$4" ] || return 0
	d=$(printf '%s\n--\n%s\n' "$3" "$4" | awk -F= '
		$0 == "--" { after = 1; next }
		!after { old[$1] = $2; next }
		$2 != old[$1] + 0 { printf " %s=%d", $1, $2 - old[$1] }')
	echo "STATS $1 $2${d:- none}"
}

attempt() {	# attempt WAY NAME PORT SHARE VERS OPTS
	way=$1 name=$2 port=$3 share=$4 vers=$5 opts=$6
	quiesce
	before=$(snap)
	o="port=$port,vers=$vers"
	if [ "$opts" = guest ]; then
		o="$o,guest"
	else
		o="$o,username=smbvn,password=smbvnpass"
		case $opts in
		-|reconnect) ;;
		hard-reconnect) o="$o,hard" ;;
		strict) ;;
		*) o="$o,$opts" ;;
		esac
	fi
	dmesg -c >/dev/null
	# strict: this attempt with strict_downgrade=1 (when smbvn is loaded)
	sd=/sys/module/smbvn/parameters/strict_downgrade
	[ "$opts" = strict ] && [ -w $sd ] && echo 1 >$sd
	rc=0
	timeout 90 mount -t cifs "//10.0.2.2/$share" $MNT -o "$o" \
		>/tmp/mount.out 2>&1 || rc=$?
	read=- outcome=refused
	if [ $rc = 0 ]; then
		outcome=mounted
		if cmp -s /tmp/want $MNT/hello.txt; then
			read=ok
		elif [ "$(cat $MNT/hello.txt 2>/dev/null)" = impostor ]; then
			read=impostor	# scripts/proxy/smbimpostor.py's own file
		else
			read=bad
		fi
		if [ "${opts#hard-}" = reconnect ] && [ $read = ok ]; then
			# The proxy drops the connection 2 s after validation;
			# cifs must reconnect (and smbvn revalidate) to read.
			sleep 5
			if timeout 60 cat $MNT/hello.txt >/tmp/got 2>/dev/null &&
				cmp -s /tmp/want /tmp/got; then
				read=ok
			else
				read=bad outcome=io-failed
			fi
		fi
		timeout 60 umount -f $MNT || read=umount-failed
	fi
	[ "$opts" = strict ] && [ -w $sd ] && echo 0 >$sd
	rule=$(dmesg | sed -n 's/.*smbvn: refused .* rule=\([^ ]*\).*/\1/p' | head -1)
	line=$(dmesg | grep 'smbvn: refused' | head -1 | sed 's/^\[[^]]*\] //')
	echo "E2E $name $way $outcome rc=$rc read=$read rule=${rule:--}"
	[ -n "$line" ] && echo "LOG $name $way $line"
	[ $rc != 0 ] && echo "MOUNT-OUT $name $way $(tr '\n' ' ' </tmp/mount.out)"
	quiesce
	stats_delta "$name" "$way" "$before" "$(snap)"
	return 0
}

run_all() {	# run_all WAY
	while read -r name port share vers opts; do
		# Stock 6.12 replays a lost validate request on a hard mount for
		# as long as the mount lives, holding the session mutex; the
		# hung mount would keep cifs from unloading for the rest of the
		# run.  Only smbvn's ways run this one.
		[ "$1" = stock ] && [ "$opts" = hard-reconnect ] && continue
		attempt "$1" "$name" "$port" "$share" "$vers" "$opts"
	done </extra/scenarios
}

. /extra/env

# A server that runs inside this guest (ksmbd, scripts/tests/ksmbd-e2e.sh) starts
# first.  SCENARIOS_ONLY=1 runs the scenarios in all three ways and skips
# the lifecycle checks below, which are measured against Samba.
if [ -f /extra/server-setup.sh ]; then
	. /extra/server-setup.sh || exit 1
fi
if [ "${SCENARIOS_ONLY:-0}" = 1 ]; then
	insmod $KO && load-cifs || exit 1
	echo 1 >$KNOB; run_all smbvn1
	echo 0 >$KNOB; run_all smbvn0
	rmmod smbvn || exit 1
	run_all stock
	exit 0
fi

# 0. Fail closed: a module whose cifs layout (BTF CRC) does not match the
# running cifs refuses cifs when loaded first, and refuses to load after.
BAD=/extra/smbvn-badlayout.ko
insmod $BAD; check badlayout-loads-waiting $? "insmod failed"
load-cifs >/dev/null 2>&1; [ ! -d /sys/module/cifs ]
check badlayout-refuses-cifs $? "cifs loaded under a mismatched smbvn"
dmesg | grep -q 'smbvn: running cifs.ko is not the one smbvn was built for'
check badlayout-says-why $? "no layout message"
rmmod smbvn; check badlayout-rmmod $? "rmmod failed"

# 1. smbvn before cifs: the module waits, then hooks cifs when it loads.
insmod $KO; check load-before-cifs $? "insmod failed"
dmesg | grep -q 'smbvn: loaded, waiting for cifs'
check waits-for-cifs $? "no waiting message"
load-cifs
dmesg | grep -q 'smbvn: hooked cifs'
check hooks-late-cifs $? "cifs loaded after smbvn was not hooked"

# 2. The knob: default 1, only 0 and 1 accepted.
[ "$(cat $KNOB)" = 1 ]; check knob-default-1 $? "default is $(cat $KNOB)"
for bad in 2 -1 abc ""; do
	if echo "$bad" >$KNOB 2>/dev/null; then r=1; else r=0; fi
	[ "$(cat $KNOB)" = 1 ] || r=1
	check "knob-rejects-'$bad'" $r "accepted or value changed"
done
ls -l $KNOB | grep -q '^-rw-r--r--'; check knob-root-only $? "$(ls -l $KNOB)"
SD=/sys/module/smbvn/parameters/strict_downgrade
[ "$(cat $SD)" = 0 ]; check strict-downgrade-default-0 $? "default is $(cat $SD)"
for bad in 2 -1 abc ""; do
	if echo "$bad" >$SD 2>/dev/null; then r=1; else r=0; fi
	[ "$(cat $SD)" = 0 ] || r=1
	check "strict-downgrade-rejects-'$bad'" $r "accepted or value changed"
done

echo 1 >$KNOB; run_all smbvn1
echo 0 >$KNOB; run_all smbvn0
echo 1 >$KNOB

# 3. Operations: audit mode lets a violation through but logs and counts
# it; the smbvn trace event fires for every decision.
P=/sys/module/smbvn/parameters
echo 1 >$P/audit_only
attempt audit tamper-guid "$PORT_GUID" data 3.0 -
dmesg | grep -q 'smbvn: audit: would refuse .*rule=guid-mismatch'
check audit-logs-violation $? "no audit log line"
echo 0 >$P/audit_only
T=/sys/kernel/tracing
mount -t tracefs nodev $T 2>/dev/null
# Recording comms would hook sched_switch, i.e. live-patch __schedule; qemu
# TCG with two vCPUs does not survive that (stale int3, seen as an Oops in
# __schedule), and the comm is not what is being tested.
echo 0 >$T/options/record-cmd
echo 1 >$T/events/smbvn/smbvn_decision/enable
check trace-enable $? "cannot enable smbvn:smbvn_decision"
echo >$T/trace
attempt trace honest-A-3.0 "$PORT_A" data 3.0 -
attempt trace tamper-guid "$PORT_GUID" data 3.0 -
grep 'smbvn_decision:' $T/trace | sed 's/^/TRACE /'
grep -q 'smbvn_decision: server=10.0.2.2 share=.*data dialect=0x300 verdict=validated' $T/trace
check trace-validated $? "no validated event for the share"
grep -q 'smbvn_decision: .*verdict=refused reason=guid-mismatch' $T/trace
check trace-refused $? "no refused event"
echo 0 >$T/events/smbvn/smbvn_decision/enable

# 4. rmmod with an active mount: cifs keeps working, stock again.
mount -t cifs //10.0.2.2/data $MNT \
	-o "port=$PORT_A,vers=3.0,username=smbvn,password=smbvnpass"
check mount-before-rmmod $? "honest mount failed"
rmmod smbvn; check rmmod-while-mounted $? "rmmod failed"
cmp -s /tmp/want $MNT/hello.txt; check read-after-rmmod $? "read failed"
umount $MNT; check umount-after-rmmod $? "umount failed"

# 5. Stock cifs: the baseline smbvn is measured against.
run_all stock

# 6. smbvn after cifs: hooks the live module, pins it while hooked and
# gives the reference back on unload.  Failed mounts drop their cifs
# references asynchronously (cifsd exits later), so wait for quiet first.
settle() {
	prev=x n=0
	while [ $n -lt 30 ]; do
		cur=$(cat /sys/module/cifs/refcnt)
		[ "$cur" = "$prev" ] && break
		prev=$cur n=$((n + 1))
		sleep 1
	done
	echo "$cur"
}
r0=$(settle)
insmod $KO; check load-after-cifs $? "insmod failed"
r1=$(cat /sys/module/cifs/refcnt)
[ "$r1" = $((r0 + 1)) ]; check cifs-pinned $? "refcnt $r0 -> $r1"
rmmod cifs 2>/dev/null; [ $? != 0 ]; check cifs-unloadable-while-hooked $? "rmmod cifs succeeded"
rmmod smbvn; check rmmod-idle $? "rmmod failed"
dmesg -c >/dev/null
insmod $BAD 2>/dev/null; [ $? != 0 ]; check badlayout-refuses-to-load $? "insmod succeeded"
dmesg | grep -q 'smbvn: running cifs.ko is not the one smbvn was built for'
check badlayout-load-says-why $? "no layout message"
r2=$(cat /sys/module/cifs/refcnt)
[ "$r2" = "$r0" ]; check cifs-unpinned $? "refcnt $r0 -> $r2"
insmod $KO; check reload-after-cifs $? "insmod failed"
attempt smbvn1-late honest-A-3.0 "$PORT_A" data 3.0 -
attempt smbvn1-late tamper-guid "$PORT_GUID" data 3.0 -
rmmod smbvn; check rmmod-after-late $? "rmmod failed"

# 7. Installed like a packaged module: a depmod'ed module tree and the
# shipped modprobe.d file, so that loading cifs loads smbvn with options.
# The last refused mount's cifsd thread holds a cifs reference until it
# has exited, which happens asynchronously: retry for up to 30 s.
n=0
until rmmod cifs 2>/dev/null; do
	n=$((n + 1))
	[ $n -ge 30 ] && break
	sleep 1
done
[ $n -lt 30 ]; check rmmod-cifs-unhooked $? "rmmod cifs failed for 30 s (refcnt $(cat /sys/module/cifs/refcnt))"
D=/lib/modules/$(uname -r)
mkdir -p $D/kernel $D/extra /etc/modprobe.d
cp /lib/modules/*.ko $D/kernel/
cp $KO $D/extra/
depmod -a; check depmod $? "depmod failed"
cp /extra/smbvn-modprobe.conf /etc/modprobe.d/smbvn.conf
echo "options smbvn audit_only=1" >/etc/modprobe.d/smbvn-test.conf
modprobe cifs; check modprobe-cifs $? "modprobe cifs failed"
[ -d /sys/module/smbvn ]; check modprobe-cifs-loads-smbvn $? "smbvn not loaded with cifs"
[ "$(cat $P/audit_only)" = 1 ]; check modprobe-options-applied $? "audit_only=$(cat $P/audit_only)"
dmesg | grep -q 'smbvn: hooked cifs'; check modprobe-hooked $? "not hooked"
n=$(modinfo smbvn | grep -c '^parm: *[a-z_]*:.\{20,\}')
[ "$n" = 5 ]; check modinfo-describes-params $? "$(modinfo smbvn | grep parm)"
echo 0 >$P/audit_only
attempt modprobe honest-A-3.0 "$PORT_A" data 3.0 -
sh /extra/smbvn-stats | sed 's/^/STATS-TABLE /'
sh /extra/smbvn-stats | grep -q '^validated  *2$'
check smbvn-stats-table $? "validated row missing"
sh /extra/smbvn-stats --prometheus | sed 's/^/PROM /'
sh /extra/smbvn-stats --prometheus | grep -q '^smbvn_tree_connects_total{counter="validated"} 2$'
check smbvn-stats-prometheus $? "no validated sample"
sh /extra/smbvn-stats --prometheus | grep -q '^smbvn_knob{name="require_secure_negotiate"} 1$'
check smbvn-stats-prometheus-knob $? "no knob sample"
modprobe -r smbvn; check modprobe-r $? "modprobe -r smbvn failed"
rm /etc/modprobe.d/smbvn-test.conf

# 8. The lock, last: it holds until reboot, so smbvn cannot be unloaded
# and no knob can be changed any more.
insmod $KO locked=1; check load-locked $? "insmod locked=1 failed"
[ "$(cat $P/locked)" = 1 ]; check locked-reads-1 $? "locked=$(cat $P/locked)"
for k in require_secure_negotiate audit_only strict_downgrade locked; do
	old=$(cat $P/$k)
	new=$((1 - old))
	# dash's echo reports every failed write as "I/O error"; dd says
	# which errno it was.
	if echo $new | dd of=$P/$k 2>/tmp/err; then r=1; else r=0; fi
	grep -q 'not permitted' /tmp/err || r=1
	[ "$(cat $P/$k)" = "$old" ] || r=1
	check "locked-$k-write-eperm" $r "$(cat /tmp/err) value $(cat $P/$k)"
done
dmesg | grep -q 'smbvn: require_secure_negotiate is locked; write of 0'
check locked-write-logged $? "refused write not logged"
rmmod smbvn 2>/dev/null; [ $? != 0 ]; check locked-no-rmmod $? "rmmod succeeded"
attempt locked tamper-guid "$PORT_GUID" data 3.0 -
exit 0
