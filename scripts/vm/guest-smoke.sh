#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Guest side of the smoke test (run by scripts/vm/vm.sh as /extra/test.sh):
# mount //10.0.2.2/data from scripts/vm/samba.sh with each dialect, read
# hello.txt, unmount. /extra/env must set PORT (the host smbd's port).
# Prints "SMOKE ok vers=X" or "SMOKE fail vers=X rc=N"; exits with the
# number of failures.
. /extra/env
: "${PORT:?/extra/env must set PORT}"

load-cifs || { echo "SMOKE fail load-cifs"; exit 1; }
mkdir -p /mnt/smb
printf 'smbvn-hello\n' >/tmp/want
fails=0
for v in 3.0 3.1.1 2.1; do
	rc=0
	mount -t cifs //10.0.2.2/data /mnt/smb \
		-o "username=smbvn,password=smbvnpass,port=$PORT,vers=$v" || rc=$?
	if [ $rc -eq 0 ]; then
		cmp /tmp/want /mnt/smb/hello.txt || rc=100
		umount /mnt/smb || rc=101
	fi
	if [ $rc -eq 0 ]; then
		echo "SMOKE ok vers=$v"
	else
		echo "SMOKE fail vers=$v rc=$rc"
		fails=$((fails + 1))
	fi
done
exit $fails
