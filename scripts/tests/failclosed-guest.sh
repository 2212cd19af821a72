#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Guest half of the fail-closed suite (run by scripts/tests/e2e.sh through
# scripts/vm/vm.sh).  Installed the way a package installs it (a depmod'ed
# module tree and the shipped modprobe.d file), smbvn must keep every
# "mount -t cifs" from running unprotected:
#   - smbvn missing, smbvn built for another cifs, a cifs function already
#     taken by another ftrace user: cifs does not load, every mount fails
#     and the kernel log says why (security review H2, M1);
#   - smbvn loaded while cifs initialises never hooks without its BTF
#     proof (M2);
#   - kernel.ftrace_enabled=0 cannot switch the hooks off (M3);
#   - a refused guest tree connect, which proves nothing about the
#     connection, does not disturb a validated mount on it (M7);
#   - a tree connect already inside cifs' SMB2_tcon when smbvn hooks
#     gets smbvn's verdict all the same (L1);
#   - smbvn's init failing (a hook taken by another ftrace user) while
#     tree connects are in flight leaves nothing behind: insmod fails,
#     cifs goes on stock, a later smbvn hooks and validates (L2).
# Prints "CHECK name pass|fail detail" lines and "CHECK-END" last.
. /extra/env
. /lib/modload.sh
KO=/extra/smbvn.ko
BAD=/extra/smbvn-badlayout.ko
SQ=/extra/cifs_squatter.ko
STATS=/sys/module/smbvn/stats
MNT=/mnt/smb
USER_OPTS=username=smbvn,password=smbvnpass
mkdir -p $MNT /mnt/g
printf 'smbvn-hello\n' >/tmp/want

check() {	# check NAME CONDITION-RESULT(0/1) DETAIL
	if [ "$2" = 0 ]; then echo "CHECK $1 pass"; else echo "CHECK $1 fail $3"; fi
}

# cifs asks the crypto API for these at mount time; /init loaded only
# what cifs links against.
load_mods crypto

D=/lib/modules/$(uname -r)
mkdir -p "$D/kernel" "$D/extra" /etc/modprobe.d
cp /lib/modules/*.ko "$D/kernel/"
cp /extra/smbvn-modprobe.conf /etc/modprobe.d/smbvn.conf

install_smbvn() {	# install_smbvn [KO]: the module tree holds KO or none
	rm -f "$D/extra/smbvn.ko"
	[ -n "${1:-}" ] && cp "$1" "$D/extra/smbvn.ko"
	depmod -a
}

# Unload smbvn and cifs; cifs' reference from a closing connection goes
# away asynchronously, so retry for a while.
unload_all() {
	# smbvn cannot go while a task sleeps in one of its redirects (a
	# refused connection reconnecting, say), and it pins cifs: retry both.
	n=0
	while { [ -d /sys/module/smbvn ] || [ -d /sys/module/cifs ]; } &&
		[ $n -lt 30 ]; do
		rmmod smbvn 2>/dev/null
		rmmod cifs 2>/dev/null && break
		n=$((n + 1))
		sleep 1
	done
	[ ! -d /sys/module/cifs ] || echo "WARN cifs still loaded"
}

# Every case starts with neither smbvn nor cifs loaded and ftrace on, so
# that one case's outcome never decides the next one's.
fresh() {
	rmmod cifs_squatter 2>/dev/null
	unload_all
	echo 1 >/proc/sys/kernel/ftrace_enabled
	dmesg -c >/dev/null
}

try_mount() {	# try_mount PORT [EXTRA-OPTS]: 0 if it mounted and read
	timeout 90 mount -t cifs //10.0.2.2/data $MNT \
		-o "port=$1,vers=3.0,$USER_OPTS${2:+,$2}" >/tmp/mount.out 2>&1 ||
		return 1
	cmp -s /tmp/want $MNT/hello.txt
	r=$?
	umount $MNT
	return $r
}

# Three mounts through "mount -t cifs", the way a user makes them: two
# honest ones (the first fails with ENODEV when cifs cannot load; stock
# would let the second through) and one through the GUID-changing proxy.
expect_no_mount() {	# expect_no_mount CASE
	try_mount "$PORT_A"; [ $? != 0 ]
	check "$1-first-mount-fails" $? "mounted"
	try_mount "$PORT_A"; [ $? != 0 ]
	check "$1-second-mount-fails" $? "mounted: cifs ran unprotected"
	try_mount "$PORT_GUID"; [ $? != 0 ]
	check "$1-tampered-mount-fails" $? "mounted a changed ServerGuid"
	[ ! -d /sys/module/cifs ]
	check "$1-cifs-not-loaded" $? "cifs is loaded"
}

# held_mount OUT: a mount through the tcdelay proxy in the background
# ($mpid), returning 1 s into the hold of its share's tree connect: cifs
# lists the session's IPC$ once that tree connect returned, and the
# share's TREE_CONNECT goes out right after it.
held_mount() {
	timeout 90 mount -t cifs //10.0.2.2/data $MNT \
		-o "port=$PORT_TCDELAY,vers=3.0,$USER_OPTS" >"$1" 2>&1 &
	mpid=$!
	n=0
	until grep -q 'IPC\$' /proc/fs/cifs/DebugData 2>/dev/null || [ $n -ge 300 ]; do
		sleep 0.1
		n=$((n + 1))
	done
	sleep 1
}

# Detach whatever a case may have left mounted, so that unload_all can
# unload cifs.
detach_mounts() {
	for m in $MNT /mnt/g; do
		grep -q " $m " /proc/mounts && { umount -f $m || umount -l $m; } 2>/dev/null
	done
}

says() {	# says CASE WHAT PATTERN
	dmesg | grep -q "$3"
	check "$1-log-$2" $? "no '$3' in the kernel log"
}

# 1. smbvn is not installed for this kernel (DKMS did not build it).
fresh
install_smbvn
expect_no_mount missing
says missing why 'smbvn: modprobe smbvn failed'

# 2. smbvn was built for another cifs.ko (BTF CRC differs).
fresh
install_smbvn $BAD
expect_no_mount badlayout
says badlayout why 'smbvn: running cifs.ko is not the one smbvn was built for'
says badlayout refuses 'smbvn: refusing to let cifs load unhooked'

# 3. Another ftrace user (e.g. a livepatch) already owns a function smbvn
# must redirect: the hook fails while cifs is COMING, so cifs fails.
install_smbvn $KO
for f in smb3_validate_negotiate SMB2_tcon; do
	fresh
	insmod $SQ squat=$f
	check "squat-$f-loads" $? "insmod cifs_squatter failed"
	expect_no_mount "squat-$f"
	says "squat-$f" taken "cifs_squatter: took $f"
	says "squat-$f" why "smbvn: cannot hook $f"
	says "squat-$f" refuses 'smbvn: refusing to let cifs load unhooked'
	[ -d /sys/module/cifs ] || rmmod smbvn
	check "squat-$f-smbvn-unpinned" $? "rmmod smbvn failed"
done

# 4. Installed and working: the honest mount is validated; ftrace cannot be
# switched off under smbvn's hooks; a tampered mount is still refused.
fresh
try_mount "$PORT_A"; check modprobe-honest-mounts $? "$(cat /tmp/mount.out)"
[ "$(cat $STATS/validated 2>/dev/null)" -ge 1 ] 2>/dev/null
check modprobe-honest-validated $? "validated=$(cat $STATS/validated 2>/dev/null)"
echo 0 2>/dev/null >/proc/sys/kernel/ftrace_enabled; [ $? != 0 ]
check ftrace-off-refused $? "kernel.ftrace_enabled=0 accepted"
[ "$(cat /proc/sys/kernel/ftrace_enabled)" = 1 ]
check ftrace-still-on $? "ftrace_enabled=$(cat /proc/sys/kernel/ftrace_enabled)"
try_mount "$PORT_GUID"; [ $? != 0 ]
check ftrace-off-tampered-refused $? "mounted a changed ServerGuid"
says ftrace-off rule 'smbvn: refused .*rule=guid-mismatch'

# 5. With ftrace already off, smbvn cannot hook, so cifs does not load.
fresh
echo 0 >/proc/sys/kernel/ftrace_enabled
check ftrace-off-set $? "cannot set ftrace_enabled=0 with smbvn unloaded"
expect_no_mount ftrace-disabled
says ftrace-disabled why 'smbvn: cannot hook'

# 6. smbvn loaded while cifs initialises (both loaded at once, outside
# modprobe.d): cifs_squatter holds cifs' COMING state so that smbvn
# registers after it; smbvn must still prove the layout before hooking.
for way in bad good; do
	fresh
	insmod $SQ coming_delay_ms=3000
	insmod /lib/modules/cifs.ko &
	sleep 1
	if [ $way = bad ]; then insmod $BAD; else insmod $KO; fi
	wait
	dmesg | grep -q 'cifs_squatter: holding cifs COMING'
	check "race-$way-cifs-held" $? "no COMING delay"
	if [ $way = bad ]; then
		says race-bad why 'smbvn: running cifs.ko is not the one smbvn was built for'
		dmesg | grep -q 'smbvn: hooked cifs'; [ $? != 0 ]
		check race-bad-not-hooked $? "hooked cifs without its BTF proof"
	else
		says race-good hooked 'smbvn: hooked cifs'
		try_mount "$PORT_GUID"; [ $? != 0 ]
		check race-good-tampered-refused $? "mounted a changed ServerGuid"
	fi
done

# 7. A guest tree connect is refused (it cannot be validated), but that is
# no evidence against the connection it shares with a validated mount:
# I/O on that mount must go on without an error.
fresh
modprobe cifs; check m7-modprobe $? "modprobe cifs failed"
mount -t cifs //10.0.2.2/data $MNT \
	-o "port=$PORT_A,vers=3.0,$USER_OPTS,cache=none,actimeo=0"
check m7-mount $? "honest mount failed"
(
	i=0 bad=0
	while [ $i -lt 60 ]; do
		echo "$i" >$MNT/m7.txt 2>/dev/null &&
			[ "$(cat $MNT/m7.txt 2>/dev/null)" = "$i" ] ||
			bad=$((bad + 1))
		i=$((i + 1))
		sleep 0.2
	done
	echo $bad >/tmp/m7.bad
) &
sleep 2
timeout 90 mount -t cifs //10.0.2.2/guest /mnt/g -o "port=$PORT_A,vers=3.0,guest" \
	>/tmp/mount.out 2>&1; [ $? != 0 ]
check m7-guest-refused $? "guest mount mounted"
says m7-guest rule 'smbvn: refused .*rule=guest-refused'
wait
[ "$(cat /tmp/m7.bad)" = 0 ]
check m7-validated-io-unharmed $? "$(cat /tmp/m7.bad) of 60 write+read rounds failed"
rm -f $MNT/m7.txt
umount $MNT

# 8. Mounts made before smbvn was loaded (security review M6): loading
# smbvn makes their connections renegotiate at once, so the honest one is
# validated and goes on working, and the tampered one is refused within
# seconds instead of running unvalidated until it happens to reconnect.
fresh
load-cifs
mount -t cifs //10.0.2.2/data $MNT \
	-o "port=$PORT_A,vers=3.0,$USER_OPTS,cache=none,actimeo=0"
check m6-honest-premount $? "honest mount failed"
mount -t cifs //10.0.2.2/data /mnt/g \
	-o "port=$PORT_GUID,vers=3.0,$USER_OPTS,cache=none,actimeo=0"
check m6-tampered-premount-stock $? "stock cifs refused the tampered mount"
insmod $KO; check m6-insmod $? "insmod failed"
says m6 existing 'smbvn: 2 SMB connections made before smbvn renegotiate now'
ok=1 n=0
while [ $n -lt 30 ]; do
	cat /mnt/g/hello.txt >/dev/null 2>&1 || { ok=0; break; }
	n=$((n + 1))
	sleep 1
done
[ $ok = 0 ]; check m6-tampered-io-stops $? "I/O went on for 30 s after smbvn loaded"
says m6 rule 'smbvn: refused .*rule=guid-mismatch'
echo m6 >$MNT/m6.txt && [ "$(cat $MNT/m6.txt)" = m6 ]
check m6-honest-io-goes-on $? "honest mount failed after smbvn loaded"
[ "$(cat $STATS/validated)" -ge 1 ]
check m6-honest-revalidated $? "validated=$(cat $STATS/validated)"
rm -f $MNT/m6.txt
umount $MNT; umount -f /mnt/g 2>/dev/null
try_mount "$PORT_A"; check m6-new-mount-first-try $? "$(cat /tmp/mount.out)"

# 9. A tree connect already running inside stock SMB2_tcon when smbvn
# hooks (security review L1) calls smb3_validate_negotiate after the hook
# went in, from outside smbvn's SMB2_tcon wrapper: smbvn must judge it
# there.  Its connection negotiated before smbvn loaded, so the verdict is
# a refusal (negotiate-not-captured); an unfixed smbvn let it through with
# no check at all.  The tcdelay proxy holds every TREE_CONNECT answer 3 s,
# the mount's IPC$ one first, then its share's: smbvn is loaded while the
# share's is held, with renegotiate_existing=0 so that no load-time drop
# decides the outcome instead.
# Case 8's tampered connection goes on reconnecting and being refused.
detach_mounts
fresh
[ ! -d /sys/module/smbvn ] && [ ! -d /sys/module/cifs ]
check l1-inflight-tcon-clean-start $? "still loaded: $(echo $(ls -d /sys/module/smbvn /sys/module/cifs 2>/dev/null)); cifs refcnt $(cat /sys/module/cifs/refcnt 2>/dev/null), smbvn refcnt $(cat /sys/module/smbvn/refcnt 2>/dev/null), $(grep -c ' cifs ' /proc/mounts) cifs mounts"
load-cifs
held_mount /tmp/l1.out
echo "L1 IPC\$ tree connect done after $n x 0.1 s; loading smbvn now"
insmod $KO renegotiate_existing=0; check l1-inflight-tcon-insmod $? "insmod failed"
kill -0 $mpid 2>/dev/null
check l1-inflight-tcon-in-flight $? "the mount ended before smbvn hooked: $(cat /tmp/l1.out)"
wait $mpid; [ $? != 0 ]
check l1-inflight-tcon-refused $? "mounted with no smbvn verdict: validated=$(cat $STATS/validated) failed=$(cat $STATS/failed)"
says l1-inflight-tcon rule 'smbvn: refused .*data on .*rule=negotiate-not-captured'
[ "$(cat $STATS/negotiate_not_captured)" -ge 1 ]
check l1-inflight-tcon-counted $? "negotiate_not_captured=$(cat $STATS/negotiate_not_captured)"
grep -q " $MNT " /proc/mounts; [ $? != 0 ]
check l1-inflight-tcon-not-mounted $? "$MNT is mounted"
umount $MNT 2>/dev/null
v=$(cat $STATS/validated)
try_mount "$PORT_TCDELAY"; check l1-fresh-mount $? "$(cat /tmp/mount.out)"
[ "$(cat $STATS/validated)" -gt "$v" ]
check l1-fresh-mount-validated $? "validated=$v before, $(cat $STATS/validated) after"

# 10. smbvn's init fails while a tree connect is in flight (security
# review L2).  cifs is loaded and stock; cifs_squatter takes one of the
# functions smbvn redirects, so smbvn's init installs the hooks before
# it in table order and then fails and removes them again.  Defined
# outcome: insmod fails and says which function; smbvn is gone; cifs,
# which smbvn never hooked, is untouched, so the tree connect the
# tcdelay proxy holds across the failed insmod completes stock and the
# mount reads; once the squatter is gone smbvn loads, hooks and
# validates.  No oops (vm.sh) and, on the debug kernel, no KASAN report
# (check-debug.sh) from a task left in freed smbvn text.
l2_mounted=0
for f in smb3_validate_negotiate SMB2_tcon; do
	detach_mounts
	fresh
	load-cifs
	insmod $SQ squat=$f
	check "l2-$f-squatter-loads" $? "insmod cifs_squatter failed"
	says "l2-$f" taken "cifs_squatter: took $f"
	held_mount /tmp/l2.out
	# The failed init can outlast the hold: busybox insmod tries
	# finit_module and then init_module, and each failure removes the
	# hooks already in (tasks-RCU grace periods).
	kill -0 $mpid 2>/dev/null
	check "l2-$f-tcon-in-flight" $? "the mount ended before insmod started: $(cat /tmp/l2.out)"
	t0=$(cut -d' ' -f1 /proc/uptime)
	insmod $KO; [ $? != 0 ]
	check "l2-$f-insmod-fails" $? "smbvn loaded although $f is taken"
	echo "L2 $f: insmod failed after $(awk -v a="$t0" -v b="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN { printf "%.1f", b - a }') s; mount still held then: $(kill -0 $mpid 2>/dev/null && echo yes || echo no)"
	[ ! -d /sys/module/smbvn ]
	check "l2-$f-smbvn-gone" $? "/sys/module/smbvn exists"
	says "l2-$f" why "smbvn: cannot hook $f"
	wait $mpid
	check "l2-$f-held-mount-completes-stock" $? "$(cat /tmp/l2.out)"
	cmp -s /tmp/want $MNT/hello.txt
	check "l2-$f-held-mount-reads" $? "hello.txt differs or unreadable"
	umount $MNT 2>/dev/null && l2_mounted=$((l2_mounted + 1))
	rmmod cifs_squatter
	check "l2-$f-squatter-unloads" $? "rmmod cifs_squatter failed"
	# Nothing of the failed init may stay: no ftrace_ops left on a cifs
	# function (the hook would then fail EBUSY) and no stale state.
	insmod $KO
	check "l2-$f-smbvn-loads-after" $? "insmod smbvn failed once the function was free"
	v=$(cat $STATS/validated 2>/dev/null || echo 0)
	try_mount "$PORT_A"
	check "l2-$f-validated-after" $? "$(cat /tmp/mount.out)"
	[ "$(cat $STATS/validated 2>/dev/null || echo 0)" -gt "$v" ]
	check "l2-$f-counted-after" $? "validated=$v before, $(cat $STATS/validated 2>/dev/null) after"
done
echo "L2 held mounts that completed stock: $l2_mounted of 2"

# 11. As 10, but the hook that fails is the last one (SMB2_tcon), and
# stock tree connects run continuously: one that calls
# smb3_validate_negotiate in the moment that redirect is installed is
# asleep in smbvn's text when the init fails, and the failed init must
# wait for it (smbvn_redirects_drain()).  Such a hit shows as a refusal
# (negotiate-not-captured: the connection predates smbvn, so smbvn
# refuses before any round trip, and the task does not sleep there; cifs
# tolerates a refused IPC$); how many of the attempts hit is reported,
# not required (it is a race).
fresh
load-cifs
insmod $SQ squat=SMB2_tcon
rm -f /tmp/l2stop
: >/tmp/l2mlog
(
	while [ ! -e /tmp/l2stop ]; do
		if timeout 60 mount -t cifs //10.0.2.2/data /mnt/g \
			-o "port=$PORT_A,vers=3.0,$USER_OPTS" >/tmp/l2m.out 2>&1; then
			echo ok >>/tmp/l2mlog
			umount /mnt/g
		else
			echo "err $(tr '\n' ' ' </tmp/l2m.out)" >>/tmp/l2mlog
		fi
	done
) &
lpid=$!
loaded=0
for i in $(seq 1 ${L2_LOOPS:-20}); do
	insmod $KO 2>/dev/null && { loaded=$((loaded + 1)); rmmod smbvn; }
	sleep 0.$((i % 5))
done
touch /tmp/l2stop
wait $lpid
hits=$(dmesg | grep -c 'smbvn: refused')
[ $loaded = 0 ] && [ ! -d /sys/module/smbvn ]
check l2-loop-insmod-fails $? "$loaded of ${L2_LOOPS:-20} inits succeeded"
ok=$(grep -c '^ok' /tmp/l2mlog)
[ "$ok" -gt 0 ]
check l2-loop-mounts-go-on $? "no mount succeeded: $(sort /tmp/l2mlog | uniq -c | tr '\n' ' ')"
echo "L2 loop: ${L2_LOOPS:-20} failed inits, $ok mounts ok, $(grep -c '^err' /tmp/l2mlog) failed, $hits tree connects judged by a redirect of a failing init"
grep -q ' /mnt/g ' /proc/mounts && umount -f /mnt/g
rmmod cifs_squatter
echo CHECK-END
exit 0
