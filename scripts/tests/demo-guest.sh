#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Guest half of "make demo" (run by scripts/vm/vm.sh as test.sh).  /extra/env
# sets PORT_HONEST (Samba itself) and TAMPERS ("mode:port ..." of the
# tampering proxy in front of it).  Each tamper is mounted first under stock
# cifs, then with smbvn hooked into that same cifs; last, an honest mount
# through smbvn.  Lines for scripts/tests/demo.sh to parse:
#   DEMO WAY MODE OUTCOME rc=N err=E read=ok|bad|-
#        WAY stock, smbvn or honest; E mount.cifs' "mount error(E)" or -
#   DEMO-LOG MODE <smbvn's kernel log line>
#   DEMO-STATS <a line of smbvn-stats>
MNT=/mnt/smb
mkdir -p $MNT
printf 'smbvn-hello\n' >/tmp/want
. /extra/env

attempt() {	# attempt WAY MODE PORT
	# No connection of the last attempt may log into this one.
	cifs-quiesce
	dmesg -c >/dev/null
	rc=0
	timeout 90 mount -t cifs //10.0.2.2/data $MNT \
		-o "port=$3,vers=3.0,username=smbvn,password=smbvnpass" \
		>/tmp/mount.out 2>&1 || rc=$?
	outcome=refused read=-
	err=$(sed -n 's/.*mount error(\([0-9]*\)).*/\1/p' /tmp/mount.out | head -n 1)
	if [ $rc = 0 ]; then
		outcome=mounted read=bad
		cmp -s /tmp/want $MNT/hello.txt && read=ok
		timeout 60 umount -f $MNT || outcome=umount-failed
	fi
	echo "DEMO $1 $2 $outcome rc=$rc err=${err:--} read=$read"
	dmesg | grep -m 1 'smbvn: refused' | sed "s/^\[[^]]*\] /DEMO-LOG $2 /"
}

load-cifs || exit 1
for t in $TAMPERS; do attempt stock "${t%%:*}" "${t#*:}"; done

# smbvn hooks the cifs that is already loaded: the same kernel, the same
# cifs, now with require_secure_negotiate=1 (its default).
insmod /extra/smbvn.ko || exit 1
for t in $TAMPERS; do attempt smbvn "${t%%:*}" "${t#*:}"; done
attempt honest none "$PORT_HONEST"
cifs-quiesce
sh /extra/smbvn-stats | sed 's/^/DEMO-STATS /'
exit 0
