#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Guest half of the fail-closed suite (run by scripts/e2e.sh through
# scripts/vm.sh).  Installed the way a package installs it (a depmod'ed
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
#     gets smbvn's verdict all the same (L1).
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
# Case 8's tampered connection goes on reconnecting and being refused:
# detach what it may have left mounted, so that unload_all can unload.
for m in $MNT /mnt/g; do
	grep -q " $m " /proc/mounts && { umount -f $m || umount -l $m; } 2>/dev/null
done
fresh
[ ! -d /sys/module/smbvn ] && [ ! -d /sys/module/cifs ]
check l1-inflight-tcon-clean-start $? "still loaded: $(echo $(ls -d /sys/module/smbvn /sys/module/cifs 2>/dev/null)); cifs refcnt $(cat /sys/module/cifs/refcnt 2>/dev/null), smbvn refcnt $(cat /sys/module/smbvn/refcnt 2>/dev/null), $(grep -c ' cifs ' /proc/mounts) cifs mounts"
load-cifs
timeout 90 mount -t cifs //10.0.2.2/data $MNT \
	-o "port=$PORT_TCDELAY,vers=3.0,$USER_OPTS" >/tmp/l1.out 2>&1 &
mpid=$!
# cifs lists the session's IPC$ once that tree connect returned; the
# share's TREE_CONNECT goes out right after it.
n=0
until grep -q 'IPC\$' /proc/fs/cifs/DebugData 2>/dev/null || [ $n -ge 300 ]; do
	sleep 0.1
	n=$((n + 1))
done
echo "L1 IPC\$ tree connect done after $n x 0.1 s; loading smbvn in 1 s"
sleep 1
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
echo CHECK-END
exit 0
