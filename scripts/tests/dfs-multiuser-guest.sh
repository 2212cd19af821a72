#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Guest half of the DFS and multiuser suite (scripts/tests/dfs-multiuser-e2e.sh;
# run by scripts/vm/vm.sh as test.sh).  /extra/ holds smbvn.ko, env (ports,
# passwords, the data file's md5) and dfsmu-overlay.cpio (keyctl and setpriv
# with their libraries), which is unpacked over / first.
#
# Servers, as the host forwards them (see the host script's header):
# 10.0.2.100:$P S1 (DFS root), 10.0.2.101:$P S2, 10.0.2.102:$P S2 behind the
# guid proxy, 10.0.2.2:$P S2 behind a pass-through proxy (the failover's
# first target), 10.0.2.104:$P S3 (its second), 10.0.2.110:$P the host's
# control script ("down"/"up" for that proxy), 10.0.2.2:$PORT_S2 S2 for
# the multiuser mount.
#
# Each row runs under smbvn=1, smbvn=0 and stock cifs and prints
#   ROW ROW WAY OUTCOME key=value...
#   STATS ROW WAY counter=delta...     (with smbvn loaded)
#   TRACE ROW WAY server=.. share=.. verdict=.. reason=..  (smbvn=1)
#   KLOG ROW WAY line                  (each smbvn kernel line)
# Other checks print "CHECK NAME pass|fail DETAIL".  The host judges.
#
# "sh test.sh readloop FILE N OUT [EAGAIN-RETRIES]" is the read loop the
# rows run (also as other users): N times the md5 of FILE, one "ok I",
# "eagain I" (a read cifs failed with EAGAIN, tried again after 0.5 s, at
# most EAGAIN-RETRIES times in all, default 0) or "err I ..." line per
# attempt appended to OUT, then "done".
if [ "${1:-}" = readloop ]; then
	f=$2 n=$3 out=$4 retries=${5:-0}
	# shellcheck disable=SC1091
	. /extra/env
	e=/tmp/readloop.$$.err
	i=1
	while [ "$i" -le "$n" ]; do
		s=$(md5sum "$f" 2>$e)
		s=${s%% *}
		if [ "$s" = "$DATA_MD5" ]; then
			echo "ok $i" >>"$out"
		elif [ "$retries" -gt 0 ] && grep -q 'Resource temporarily unavailable' $e; then
			echo "eagain $i $(tr '\n ' '__' <$e)" >>"$out"
			retries=$((retries - 1))
			sleep 0.5
			continue
		else
			echo "err $i md5=${s:-none} $(tr '\n ' '__' <$e)" >>"$out"
		fi
		i=$((i + 1))
	done
	rm -f $e
	echo "done" >>"$out"
	exit 0
fi

KO=/extra/smbvn.ko
KNOB=/sys/module/smbvn/parameters/require_secure_negotiate
STATS=/sys/module/smbvn/stats
T=/sys/kernel/tracing
MNT=/mnt/dfs
MU=/mnt/mu
mkdir -p $MNT $MU
# shellcheck disable=SC1091
. /extra/env
U1=1001 U2=1002
OPTS="port=$P,username=smbvn,password=$PASS,vers=3.0,cache=none"

check() {	# check NAME CONDITION-RESULT(0/1) DETAIL
	if [ "$2" = 0 ]; then echo "CHECK $1 pass"; else echo "CHECK $1 fail $3"; fi
}

(cd / && cpio -idmu </extra/dfsmu-overlay.cpio) >/tmp/cpio.out 2>&1
check overlay-unpacked $? "$(tr '\n' ' ' </tmp/cpio.out)"
for f in /bin/keyctl /bin/setpriv; do
	[ -x "$f" ]; check "present-$f" $? "missing"
done

# A dropped connection goes away asynchronously: wait until cifs has none
# left so that one attempt's events never land in the next one's.
quiesce() {
	n=0
	while [ $n -lt 60 ] && grep -q 'ConnectionId' /proc/fs/cifs/DebugData 2>/dev/null; do
		sleep 0.5
		n=$((n + 1))
	done
	[ $n -lt 60 ] || echo "WARN connections still open after 30 s"
}

snap() {	# counters as "name=value" lines, empty without smbvn
	[ -d $STATS ] || return 0
	for f in "$STATS"/*; do echo "${f##*/}=$(cat "$f")"; done
}

stats_delta() {	# stats_delta ROW WAY BEFORE AFTER
	d=$(printf '%s\n' "$4" | while IFS='=' read -r k v; do
		old=$(printf '%s\n' "$3" | sed -n "s/^$k=//p")
		[ "$v" != "${old:-0}" ] && printf ' %s=%d' "$k" $((v - ${old:-0}))
	done)
	[ -n "$4" ] && echo "STATS $1 $2${d:- none}"
	return 0
}

trace_on() { [ -d $T/events/smbvn ] && echo >$T/trace; }
trace_dump() {	# trace_dump ROW WAY: the decisions since trace_on
	[ -d $T/events/smbvn ] || return 0
	grep 'smbvn_decision:' $T/trace |
		sed "s/^.*smbvn_decision: /TRACE $1 $2 /" || true
}
klog() {	# klog ROW WAY
	dmesg | grep 'smbvn:' | sed "s/^\[[^]]*\] //; s/^/KLOG $1 $2 /"
}
# The connections and trees cifs has now, e.g. "10.0.2.100,\\10.0.2.101\share2"
conns() {
	sed -n 's/.*ConnectionId: 0x[0-9a-f]* *Hostname: \([^ ]*\).*/\1/p; s/.*\(\\\\[0-9.]*\\[a-zA-Z0-9$]*\).*/\1/p' \
		/proc/fs/cifs/DebugData 2>/dev/null | sort -u | paste -sd, -
}
count() {	# count FILE REGEX: matching lines, 0 while FILE does not exist
	[ -e "$1" ] || { echo 0; return 0; }
	grep -c "$2" "$1"
}
ctl() {	# ctl down|up: the failover's first target, via the host
	r=$(echo "$1" | timeout 30 nc 10.0.2.110 "$P" 2>&1 | head -1)
	[ "$r" = ok ]
}
fresh() {	# before an attempt: no connection, no cached referral
	quiesce
	echo 0 >/proc/fs/cifs/dfscache 2>/dev/null
	dmesg -c >/dev/null
}

# dfs_attempt ROW WAY LINK: mount the link, read through it.
dfs_attempt() {
	row=$1 way=$2 link=$3
	fresh
	before=$(snap)
	trace_on
	rc=0
	timeout 90 mount -t cifs "//10.0.2.100/dfsroot/$link" $MNT -o "$OPTS" \
		>/tmp/mount.out 2>&1 || rc=$?
	outcome=refused read=- server=- c=-
	if [ $rc = 0 ]; then
		outcome=mounted
		server=$(cat $MNT/server.txt 2>/dev/null)
		s=$(md5sum $MNT/data.bin 2>/dev/null)
		if [ "${s%% *}" = "$DATA_MD5" ]; then read=ok; else read=bad; fi
		c=$(conns)
		timeout 60 umount $MNT || read=umount-failed
	fi
	rule=$(dmesg | sed -n 's/.*smbvn: refused .* rule=\([^ ]*\).*/\1/p' | head -1)
	eproto=no
	grep -qE 'error\(71\)|Protocol error' /tmp/mount.out && eproto=yes
	echo "ROW $row $way $outcome rc=$rc read=$read server=${server:--} rule=${rule:--} eproto=$eproto conns=${c:--}"
	[ $rc = 0 ] || echo "MOUNT-OUT $row $way $(tr '\n' ' ' </tmp/mount.out)"
	trace_dump "$row" "$way"
	klog "$row" "$way"
	quiesce
	stats_delta "$row" "$way" "$before" "$(snap)"
}

# dfs_failover WAY: a read loop on the two-target link; after a few reads
# the first target's proxy is killed.
dfs_failover() {
	row=dfs-failover way=$1
	fresh
	before=$(snap)
	trace_on
	rc=0 n=40
	timeout 90 mount -t cifs "//10.0.2.100/dfsroot/failover" $MNT -o "$OPTS" \
		>/tmp/mount.out 2>&1 || rc=$?
	if [ $rc != 0 ]; then
		echo "ROW $row $way refused rc=$rc"
		echo "MOUNT-OUT $row $way $(tr '\n' ' ' </tmp/mount.out)"
		klog "$row" "$way"
		quiesce
		return 0
	fi
	b=$(cat $MNT/server.txt 2>/dev/null)
	echo "CONNS $row $way before $(conns)"
	rm -f /tmp/loop.out
	sh /extra/test.sh readloop $MNT/data.bin $n /tmp/loop.out 2 &
	lp=$!
	i=0
	while [ "$(count /tmp/loop.out '^ok')" -lt 5 ] && [ $i -lt 200 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	# The events so far belong to the first target's connection.
	trace_dump "$row-before" "$way"
	trace_on
	t0=$(date +%s)
	down=fail
	ctl down && down=ok
	i=0
	while ! grep -q '^done' /tmp/loop.out 2>/dev/null && [ $i -lt 900 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	kill $lp 2>/dev/null
	wait $lp 2>/dev/null
	a=$(cat $MNT/server.txt 2>/dev/null)
	c=$(conns)
	reads=$(grep -c '^ok\|^err' /tmp/loop.out)
	ok=$(grep -c '^ok' /tmp/loop.out)
	errs=$(grep -c '^err' /tmp/loop.out)
	eagain=$(grep -c '^eagain' /tmp/loop.out)
	ferr=$(grep '^err\|^eagain' /tmp/loop.out | head -1 | tr ' ' '_')
	timeout 60 umount $MNT || rc=umount-failed
	up=fail
	ctl up && up=ok
	check "$way-failover-target-up-again" "$([ $up = ok ]; echo $?)" "ctl up failed"
	echo "ROW $row $way mounted rc=$rc reads=$reads ok=$ok errors=$errs eagain=$eagain first_err=${ferr:--} down=$down before=${b:--} after=${a:--} failover_s=$(($(date +%s) - t0)) conns=${c:--}"
	trace_dump "$row" "$way"
	klog "$row" "$way"
	quiesce
	stats_delta "$row" "$way" "$before" "$(snap)"
}

# as_user UID CREDS CMD...: CMD as UID, in a new session keyring holding
# the logon key cifs looks up for this server (what cifscreds add does).
as_user() {
	u=$1 cr=$2
	shift 2
	# shellcheck disable=SC2016
	setpriv --reuid="$u" --regid="$u" --clear-groups \
		keyctl session - sh -c 'keyctl add logon cifs:a:10.0.2.2 "$0" @s >/dev/null && exec "$@"' \
		"$cr" "$@"
}

# multiuser WAY
multiuser() {
	row=multiuser way=$1
	fresh
	s0=$(snap)
	trace_on
	rc=0
	timeout 90 mount -t cifs //10.0.2.2/mu $MU \
		-o "port=$PORT_S2,multiuser,username=smbvn,password=$PASS,vers=3.0,cache=none" \
		>/tmp/mount.out 2>&1 || rc=$?
	if [ $rc != 0 ]; then
		echo "ROW $row $way refused rc=$rc"
		echo "MOUNT-OUT $row $way $(tr '\n' ' ' </tmp/mount.out)"
		klog "$row" "$way"
		quiesce
		return 0
	fi
	s=$(md5sum $MU/data.bin 2>/dev/null)
	root=bad
	[ "${s%% *}" = "$DATA_MD5" ] && root=ok
	s1=$(snap)
	stats_delta "$row-root" "$way" "$s0" "$s1"
	# User 1: its own session, validated at its first read.
	rm -f /tmp/u1.out /tmp/u2.out
	as_user $U1 "$MU_USER:$MU_PASS" sh /extra/test.sh readloop $MU/data.bin 30 /tmp/u1.out \
		>/tmp/u1.err 2>&1 &
	lp=$!
	i=0
	while [ "$(count /tmp/u1.out '^ok\|^err')" -lt 3 ] && [ $i -lt 300 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	u1first=$(head -1 /tmp/u1.out 2>/dev/null | cut -d' ' -f1)
	s2=$(snap)
	stats_delta "$row-user1" "$way" "$s1" "$s2"
	# User 2: a name S2 does not know, so a guest session; user 1 is
	# still reading.
	dmesg -c >/dev/null
	# shellcheck disable=SC2016
	as_user $U2 "smbvnbad:wrongpass" sh -c 'md5sum "$0"' $MU/data.bin \
		>/tmp/u2.out 2>&1
	u2=error
	grep -q "^$DATA_MD5 " /tmp/u2.out && u2=ok
	u2err=$(grep -v "^Joined session keyring\|^$DATA_MD5 " /tmp/u2.out |
		tr '\n ' '__' | cut -c1-100)
	rule=$(dmesg | sed -n 's/.*smbvn: refused .* rule=\([^ ]*\).*/\1/p' | head -1)
	s3=$(snap)
	stats_delta "$row-user2" "$way" "$s2" "$s3"
	klog "$row" "$way"
	i=0
	while ! grep -q '^done' /tmp/u1.out 2>/dev/null && [ $i -lt 900 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	kill $lp 2>/dev/null
	wait $lp 2>/dev/null
	reads=$(grep -c '^ok\|^err' /tmp/u1.out)
	ok=$(grep -c '^ok' /tmp/u1.out)
	errs=$(grep -c '^err' /tmp/u1.out)
	ferr=$(grep '^err' /tmp/u1.out /tmp/u1.err | head -1 | tr ' ' '_' | cut -c1-100)
	s=$(md5sum $MU/data.bin 2>/dev/null)
	after=bad
	[ "${s%% *}" = "$DATA_MD5" ] && after=ok
	echo "CONNS $row $way $(conns)"
	timeout 60 umount $MU || after=umount-failed
	echo "ROW $row $way mounted rc=$rc root=$root u1first=${u1first:--} u1reads=$reads u1ok=$ok u1errors=$errs u1err=${ferr:--} u2=$u2 u2err=${u2err:--} rule=${rule:--} after=$after"
	trace_dump "$row" "$way"
	quiesce
	stats_delta "$row" "$way" "$s0" "$(snap)"
}

run_all() {	# run_all WAY
	dfs_attempt dfs-link "$1" plain
	dfs_attempt dfs-tamper "$1" tamper
	dfs_failover "$1"
	multiuser "$1"
}

insmod $KO; check insmod $? "insmod smbvn failed"
load-cifs; check load-cifs $? "cifs or a dependency failed to load"
[ -d $STATS ]; check stats-dir $? "no $STATS"
[ -e /proc/fs/cifs/dfscache ]; check dfscache $? "no /proc/fs/cifs/dfscache (CONFIG_CIFS_DFS_UPCALL?)"
mount -t tracefs nodev $T 2>/dev/null
# Recording comms would hook sched_switch, which TCG with two vCPUs does
# not survive (see scripts/tests/e2e-guest.sh).
echo 0 >$T/options/record-cmd
echo 1 >$T/events/smbvn/smbvn_decision/enable
[ "$(cat $T/events/smbvn/smbvn_decision/enable)" = 1 ]
check trace-enable $? "cannot enable smbvn:smbvn_decision"

echo 1 >$KNOB; run_all smbvn1
echo 0 >$KNOB; run_all smbvn0
echo 1 >$KNOB
echo 0 >$T/events/smbvn/smbvn_decision/enable
rmmod smbvn; check rmmod $? "rmmod smbvn failed"
run_all stock
echo "CHECK-END"
exit 0
