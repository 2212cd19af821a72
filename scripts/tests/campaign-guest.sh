#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Guest half of the MITM campaign (scripts/tests/campaign.sh; run by
# scripts/vm/vm.sh as test.sh).  /extra/env gives PORT (the campaign proxy),
# CTL (its control port), N (attempts) and SAMBA (the server's own port).
# Each attempt is announced on the control port first; the proxy answers
# with the vers= to mount with and applies that attempt's mutation to
# every connection until the next announcement.  One "CAMPAIGN i vers outcome ..." line per attempt is all
# the host judges: the guest decides nothing.
KO=/extra/smbvn.ko
MNT=/mnt/smb
mkdir -p $MNT
printf 'smbvn-hello\n' >/tmp/want
. /extra/env

now() { cut -d' ' -f1 /proc/uptime; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# A refused mount lets go of its TCP connection asynchronously: wait until
# cifs holds none, so that no connection of one attempt is counted as the
# next one's by the proxy.
quiesce() { cifs-quiesce 60; }

# STOCK=1 (CAMPAIGN_STOCK=1 on the host): cifs alone, to tell what is
# cifs' own behaviour when reproducing an attempt.
if [ "${STOCK:-0}" != 1 ]; then
	insmod $KO || { echo "CAMPAIGN-SETUP insmod failed"; exit 1; }
fi
load-cifs || { echo "CAMPAIGN-SETUP cifs failed to load"; exit 1; }
[ "${STOCK:-0}" = 1 ] ||
	echo 1 >/sys/module/smbvn/parameters/require_secure_negotiate

# Straight to Samba, before the proxy sees anything, and not judged: the
# first mounts pay for building cifs' crypto algorithms (cifs-warm).
cifs-warm "$SAMBA" username=smbvn,password=smbvnpass "${KILL:-75}"

i=0
while [ $i -lt "$N" ]; do
	quiesce
	r=$(echo "ATTEMPT $i" | timeout 10 nc 10.0.2.2 "$CTL")
	# "OK i VERS": split into words on purpose.
	# shellcheck disable=SC2086
	set -- $r
	if [ "$1" != OK ] || [ "$2" != $i ]; then
		echo "CAMPAIGN-SETUP control port answered '$r' to attempt $i"
		exit 1
	fi
	vers=$3
	dmesg -c >/dev/null
	t0=$(now)
	rc=0
	# echo_interval=2: cifs gives up on a silent server within a few
	# intervals, so that a stall ends well inside the 75 s kill.  A
	# debug kernel gets more of both (ECHO, KILL).
	timeout "${KILL:-75}" mount -t cifs //10.0.2.2/data $MNT \
		-o "port=$PORT,vers=$vers,username=smbvn,password=smbvnpass,echo_interval=${ECHO:-2}" \
		>/tmp/mount.out 2>&1 || rc=$?
	outcome=refused read=-
	if [ $rc = 0 ]; then
		outcome=mounted
		if timeout 60 cat $MNT/hello.txt >/tmp/got 2>/dev/null; then
			if cmp -s /tmp/want /tmp/got; then read=ok; else read=bad; fi
		else
			read=io-failed
		fi
		timeout 60 umount -f $MNT || read=$read,umount-failed
	fi
	secs=$(elapsed "$t0")
	errno=$(sed -n 's/.*error(\([0-9]*\)).*/\1/p' /tmp/mount.out | head -n 1)
	rule=$(dmesg | sed -n 's/.*smbvn: refused .* rule=\([^ ]*\).*/\1/p' | head -n 1)
	echo "CAMPAIGN $i $vers $outcome rc=$rc errno=${errno:--} read=$read rule=${rule:--} secs=$secs"
	[ $rc != 0 ] && echo "CAMPAIGN-MOUNT-OUT $i $(tr '\n' ' ' </tmp/mount.out)"
	i=$((i + 1))
done
quiesce
[ -d /sys/module/smbvn/stats ] &&
	echo "CAMPAIGN-STATS $(for f in /sys/module/smbvn/stats/*; do printf '%s=%s ' "${f##*/}" "$(cat "$f")"; done)"
exit 0
