#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# apt-need.sh PKG...                install those of PKG not installed yet
# apt-need.sh download DIR PKG...   fetch PKG's .deb files into DIR
# apt-need.sh locked CMD...         run CMD (apt-get, dpkg) under the lock
#
# The one copy of the suites' "install what is missing" step.  The test
# command runs suites side by side, and a second apt-get or dpkg fails on
# dpkg's lock instead of waiting for it, so every call holds one lock file
# for its whole run.  A stand-alone caller on a fresh Debian host gets the
# same behaviour.  Installing Samba's packages starts the distribution's
# own services on the standard ports; they are stopped again, as the
# suites start their own servers.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

exec 9>/run/lock/smbvn-apt.lock
flock 9

if [ "${1:-}" = locked ]; then
	shift
	exec "$@"
fi
if [ "${1:-}" = download ]; then
	[ $# -ge 3 ] || { echo "usage: $0 download DIR PKG..." >&2; exit 2; }
	dir=$2
	shift 2
	mkdir -p "$dir"
	cd "$dir"
	apt-get download -qq "$@" 2>/dev/null ||
		{ apt-get update -qq && apt-get download -qq "$@"; }
	exit 0
fi

missing=()
for p in "$@"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing+=("$p")
done
[ ${#missing[@]} -gt 0 ] || exit 0
echo "apt-need: installing ${missing[*]}" >&2
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
systemctl stop smbd nmbd samba-ad-dc 2>/dev/null || true
