#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Host-side packaging checks: a DKMS add/build/install against Debian's
# installed 6.12 headers package, "make install" into a staging root, the
# man page, and the proxy's own self-test.  Closes with "OPS: N passed,
# N failed".
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
passed=0 failed=0
check() {	# check NAME STATUS DETAIL
	if [ "$2" = 0 ]; then
		echo "PASS ops/$1"
		passed=$((passed + 1))
	else
		echo "FAIL ops/$1: $3"
		failed=$((failed + 1))
	fi
}

rel=$(bash scripts/deps.sh releases | awk '{print $1}')
ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' dkms.conf)
export DEBIAN_FRONTEND=noninteractive
for p in dkms "linux-headers-$rel"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		apt-get install -y -qq --no-install-recommends "$p" >/dev/null 2>&1
done
dpkg-query -W -f='${Status}' "linux-headers-$rel" | grep -q 'ok installed'
check "headers-package-installed-$rel" $? "apt-get install linux-headers-$rel failed"

# DKMS builds from its own copy of the tree.  The kernel image is not
# installed on this host, so its cifs.ko comes from the unpacked package.
export CIFS_KO
CIFS_KO=$(ls "$top/.cache/k/$rel/lib/modules/$rel/kernel/fs/smb/client/cifs.ko"*)
dkms remove "smbvn/$ver" --all >/dev/null 2>&1
rm -rf "/usr/src/smbvn-$ver"
mkdir -p "/usr/src/smbvn-$ver"
git ls-files -z -co --exclude-standard | xargs -0 cp --parents -t "/usr/src/smbvn-$ver"
dkms add "smbvn/$ver" >/tmp/smbvn-dkms.log 2>&1
check dkms-add $? "$(tail -3 /tmp/smbvn-dkms.log)"
dkms build "smbvn/$ver" -k "$rel" >>/tmp/smbvn-dkms.log 2>&1
check dkms-build $? "$(tail -5 /tmp/smbvn-dkms.log)"
dkms install "smbvn/$ver" -k "$rel" >>/tmp/smbvn-dkms.log 2>&1
check dkms-install $? "$(tail -5 /tmp/smbvn-dkms.log)"
ko=$(find "/lib/modules/$rel/updates/dkms" -name 'smbvn.ko*' 2>/dev/null | head -1)
[ -n "$ko" ] && modinfo "$ko" | grep -q "^vermagic: *$rel "
check dkms-module-for-$rel $? "installed module: ${ko:-none}"
[ "$(modinfo -F parm "$ko" 2>/dev/null | grep -c ':.\{20,\}')" = 5 ]
check modinfo-describes-5-params $? "$(modinfo -F parm "$ko" 2>&1)"
dkms status smbvn | grep -q "$rel.*installed"
check dkms-status $? "$(dkms status smbvn)"
dkms remove "smbvn/$ver" --all >/dev/null 2>&1
check dkms-remove $? "dkms remove failed"
rm -rf "/usr/src/smbvn-$ver"

# make install into a staging root.
stage=$(mktemp -d)
make -s install KROOT=".cache/k/$rel" DESTDIR="$stage" >/tmp/smbvn-install.log 2>&1
check make-install $? "$(tail -3 /tmp/smbvn-install.log)"
for f in "lib/modules/$rel/extra/smbvn.ko" etc/modprobe.d/smbvn.conf \
	usr/share/man/man4/smbvn.4 usr/sbin/smbvn-stats; do
	ls "$stage"/$f* >/dev/null 2>&1
	check "installed-$(basename "$f")" $? "$f missing"
done
grep -q 'smbvn' "$stage/lib/modules/$rel/modules.dep" 2>/dev/null
check depmod-ran $? "smbvn not in modules.dep"
rm -rf "$stage"

out=$(groff -man -z -ww man/smbvn.4 2>&1)
[ -z "$out" ]; check man-page-lint $? "$out"
python3 scripts/test_smbproxy.py >/tmp/smbvn-proxytest.log 2>&1
check proxy-self-test $? "$(tail -3 /tmp/smbvn-proxytest.log)"

echo "OPS: $passed passed, $failed failed"
[ "$failed" = 0 ]
