#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# unix-user.sh NAME...: create the Unix accounts the test servers map
# their SMB users to (no home, no login shell), those not there yet.
#
# Test servers start side by side (the test command's lanes): two of them
# checking for the same missing account and both calling useradd make the
# second fail with "already exists", and useradd refuses outright while
# another one holds /etc/passwd.  One lock file orders them.
set -euo pipefail
exec 9>/run/lock/smbvn-users.lock
flock 9
for u in "$@"; do
	getent passwd "$u" >/dev/null || useradd -M -s /usr/sbin/nologin "$u"
done
