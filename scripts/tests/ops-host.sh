#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Host-side checks: "make check" (checkpatch, W=1, sparse, coccicheck on
# each CI kernel), the version in one place, "make deb" and lintian, the
# package installed with apt (DKMS builds and signs the module for
# Debian's installed 6.12 headers), removed and purged without leftovers,
# "make install" into a staging root, the man pages, and the proxy's own
# self-test.  Never loads a module.  Closes with "OPS: N passed, N failed".
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
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

# apt_locked CMD...: CMD waits for the other suites' apt calls (the test
# command runs suites side by side; dpkg's own lock fails instead).
apt_locked() {
	bash scripts/build/apt-need.sh locked "$@"
}

rel=$(bash scripts/build/deps.sh releases | awk '{print $1}')
export DEBIAN_FRONTEND=noninteractive
for p in dkms "linux-headers-$rel" debhelper dh-dkms lintian sparse coccinelle \
	ocaml-nox bpftool lz4 openssl; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		apt_locked apt-get install -y -qq --no-install-recommends "$p" >/dev/null 2>&1
done
dpkg-query -W -f='${Status}' "linux-headers-$rel" | grep -q 'ok installed'
check "headers-package-installed-$rel" $? "apt-get install linux-headers-$rel failed"

# The kernel image comes with Debian 12's 6.12 headers package (it depends
# on it), so DKMS finds the kernel's own cifs.ko.  Should a headers package
# not pull its image in, CIFS_KO points the build at the unpacked one.
if ! ls "/lib/modules/$rel/kernel/fs/smb/client/cifs.ko"* >/dev/null 2>&1; then
	export CIFS_KO
	CIFS_KO=$(ls "$top/.cache/k/$rel/lib/modules/$rel/kernel/fs/smb/client/cifs.ko"*)
fi

# The code checks CI runs ("make check"): checkpatch once, then per kernel
# the W=1 build, sparse and coccicheck.  Each fails on any warning.
make -s checkpatch >/tmp/smbvn-check-checkpatch.log 2>&1
check checkpatch-strict $? "$(tail -5 /tmp/smbvn-check-checkpatch.log)"
for k in $(bash scripts/build/deps.sh releases); do
	for t in w1 sparse cocci; do
		make -s "check-$t" KROOT=".cache/k/$k" >"/tmp/smbvn-check-$t-$k.log" 2>&1
		check "check-$t-$k" $? "$(tail -5 "/tmp/smbvn-check-$t-$k.log")"
	done
done

# One version: VERSION, modinfo, dkms.conf (as dkms reads it) and the .deb.
ver=$(cat VERSION)
# shellcheck disable=SC1091
dkver=$(bash -c '. ./dkms.conf && echo "$PACKAGE_VERSION"')
[ -n "$ver" ] && [ "$dkver" = "$ver" ]
check dkms-conf-version $? "dkms.conf says '$dkver', VERSION '$ver'"

# make deb, lintian, then the package's whole life on this host: apt
# install builds the module with DKMS for the installed headers, apt
# remove and purge leave nothing behind.
deb=$top/smbvn-dkms_${ver}_all.deb
dkms remove "smbvn/$ver" --all >/dev/null 2>&1
apt_locked apt-get purge -y -qq smbvn-dkms >/dev/null 2>&1
rm -rf "/usr/src/smbvn-$ver" "$deb"
make -s deb >/tmp/smbvn-deb.log 2>&1 && [ -f "$deb" ]
check make-deb $? "$(tail -5 /tmp/smbvn-deb.log)"
ctl=$(dpkg-deb -f "$deb" Package Version Architecture Section Depends)
deps=$(echo "$ctl" | sed -n 's/^Depends: //p' | tr -d ' ' | tr ',' '\n' |
	sed 's/(.*//' | sort | tr '\n' ' ')
echo "$ctl" | grep -q "^Version: $ver$" &&
	echo "$ctl" | grep -q '^Architecture: all$' &&
	echo "$ctl" | grep -q '^Section: kernel$' &&
	[ "$deps" = "binutils bpftool dkms lz4 python3 xz-utils zstd " ]
check deb-control $? "$ctl"
# The listing read whole: "grep -q" on the pipe would cut dpkg-deb short.
contents=$(dpkg-deb -c "$deb")
for f in "usr/src/smbvn-$ver/dkms.conf" "usr/src/smbvn-$ver/VERSION" \
	usr/lib/modprobe.d/smbvn.conf usr/share/man/man4/smbvn.4.gz \
	usr/share/man/man8/smbvn-stats.8.gz usr/sbin/smbvn-stats; do
	grep -q " \./$f$" <<<"$contents"
	check "deb-has-$(basename "$f")" $? "$f not in $(basename "$deb")"
done
lintian --pedantic "$deb" >/tmp/smbvn-lintian.log 2>&1
lint=$(grep -E '^[EWIP]: ' /tmp/smbvn-lintian.log)
[ -z "$lint" ]
check lintian-pedantic-clean $? "$lint"

apt_locked apt-get install -y -qq "$deb" >/tmp/smbvn-apt.log 2>&1
check apt-install $? "$(tail -5 /tmp/smbvn-apt.log)"
ko=$(find "/lib/modules/$rel/updates/dkms" -name 'smbvn.ko*' 2>/dev/null)
[ -n "$ko" ] && modinfo "$ko" | grep -q "^vermagic: *$rel "
check "dkms-module-for-$rel" $? "installed module: ${ko:-none}"
[ "$(modinfo -F version "$ko" 2>/dev/null)" = "$ver" ]
check "modinfo-version-$ver" $? "modinfo version: $(modinfo -F version "$ko" 2>&1)"
[ "$(modinfo -F parm "$ko" 2>/dev/null | grep -c ':.\{20,\}')" = 5 ]
check modinfo-describes-5-params $? "$(modinfo -F parm "$ko" 2>&1)"
dkms status smbvn | grep -q "^smbvn/$ver, $rel, .*installed"
check dkms-status $? "$(dkms status smbvn)"

# Secure Boot: Debian's DKMS signs what it builds with the machine owner
# key (framework.conf's mok_signing_key/mok_certificate, created on first
# use).  The module must carry a signature that the MOK certificate
# verifies, not merely name it.
mok=/var/lib/dkms/mok.pub
sig=$(mktemp -d)
if [ -f "$mok" ] && [ -n "$ko" ]; then
	openssl x509 -inform DER -in "$mok" -out "$sig/mok.pem"
	serial=$(openssl x509 -in "$sig/mok.pem" -noout -serial | sed 's/^serial=//')
	cn=$(openssl x509 -in "$sig/mok.pem" -noout -subject -nameopt multiline |
		sed -n 's/^ *commonName *= //p')
	[ "$(modinfo -F sig_key "$ko" | tr -d ':')" = "$serial" ] &&
		[ "$(modinfo -F signer "$ko")" = "$cn" ]
	check module-signer-is-mok $? "signer '$(modinfo -F signer "$ko")' key $(modinfo -F sig_key "$ko"); MOK '$cn' $serial"
	case $ko in
	*.xz) xz -dc "$ko" ;; *.zst) zstd -qdc "$ko" ;; *) cat "$ko" ;;
	esac >"$sig/smbvn.ko"
	make -s kscripts && x=.cache/kscripts/scripts/extract-module-sig.pl &&
		perl "$x" -0 "$sig/smbvn.ko" >"$sig/body" 2>/dev/null &&
		perl "$x" -s "$sig/smbvn.ko" >"$sig/p7" 2>/dev/null &&
		openssl cms -verify -binary -inform DER -in "$sig/p7" \
			-content "$sig/body" -certfile "$sig/mok.pem" -nointern \
			-noverify -out /dev/null >"$sig/verify.log" 2>&1
	check module-signature-verifies-with-mok $? "$(cat "$sig/verify.log")"
else
	check module-signed-with-mok 1 "no $mok or no module"
fi
rm -rf "$sig"

leftovers() {	# what a removed package must not leave behind
	ls -d "/lib/modules/$rel/updates/dkms/smbvn.ko"* /usr/lib/modprobe.d/smbvn.conf \
		/etc/modprobe.d/smbvn.conf "/usr/src/smbvn-$ver" /var/lib/dkms/smbvn 2>/dev/null
	dkms status smbvn
}
apt_locked apt-get remove -y -qq smbvn-dkms >/tmp/smbvn-apt.log 2>&1
check apt-remove $? "$(tail -5 /tmp/smbvn-apt.log)"
left=$(leftovers)
# No conffile either, so dpkg keeps no record to purge.
[ -z "$left" ] && ! dpkg-query -W smbvn-dkms >/dev/null 2>&1
check remove-leaves-nothing $? "left: $left $(dpkg -l smbvn-dkms 2>&1 | tail -1)"
# Purge straight from installed: a second install, which also shows that
# DKMS rebuilds after a remove.
apt_locked apt-get install -y -qq "$deb" >/tmp/smbvn-apt.log 2>&1 &&
	ls "/lib/modules/$rel/updates/dkms/smbvn.ko"* >/dev/null 2>&1
check apt-reinstall $? "$(tail -5 /tmp/smbvn-apt.log)"
apt_locked apt-get purge -y -qq smbvn-dkms >/tmp/smbvn-apt.log 2>&1
check apt-purge $? "$(tail -5 /tmp/smbvn-apt.log)"
left=$(leftovers)
[ -z "$left" ] && ! dpkg-query -W smbvn-dkms >/dev/null 2>&1
check purge-leaves-nothing $? "left: $left $(dpkg -l smbvn-dkms 2>&1 | tail -1)"
# A source tree from a clone: "dkms add DIR" reads the version from it.
src=$(mktemp -d)/smbvn
mkdir -p "$src"
make -s dkms-src DESTDIR="$src.d" && cp -a "$src.d/usr/src/smbvn-$ver/." "$src/"
dkms add "$src" >/tmp/smbvn-dkms.log 2>&1 &&
	dkms status smbvn | grep -q "^smbvn/$ver: added"
check dkms-add-from-tree $? "$(tail -3 /tmp/smbvn-dkms.log) $(dkms status smbvn)"
dkms remove "smbvn/$ver" --all >/dev/null 2>&1
rm -rf "/usr/src/smbvn-$ver" "$(dirname "$src")" "$src.d"

# make install into a staging root, from a fresh build directory: a user
# build runs at the kernel's default warning level (no W=1, which kbuild
# records as -DKBUILD_EXTRA_WARN1 in each object's command line).
stage=$(mktemp -d)
make -s install KROOT=".cache/k/$rel" DESTDIR="$stage" BDIR="$stage/build" \
	>/tmp/smbvn-install.log 2>&1
check make-install $? "$(tail -3 /tmp/smbvn-install.log)"
grep -q -- '-Wall' "$stage/build/smbvn/.main.o.cmd" &&
	! grep -q -- '-DKBUILD_EXTRA_WARN' "$stage/build/smbvn/.main.o.cmd"
check user-build-without-W1 $? "$(grep -o -- '-DKBUILD_EXTRA_WARN[0-9]*' "$stage/build/smbvn/.main.o.cmd" 2>&1)"
for f in "lib/modules/$rel/extra/smbvn.ko" etc/modprobe.d/smbvn.conf \
	usr/share/man/man4/smbvn.4 usr/share/man/man8/smbvn-stats.8 \
	usr/sbin/smbvn-stats; do
	ls "$stage"/$f* >/dev/null 2>&1
	check "installed-$(basename "$f")" $? "$f missing"
done
grep -q 'smbvn' "$stage/lib/modules/$rel/modules.dep" 2>/dev/null
check depmod-ran $? "smbvn not in modules.dep"
rm -rf "$stage"

out=$(groff -man -z -ww man/smbvn.4 man/smbvn-stats.8 2>&1)
[ -z "$out" ]; check man-page-lint $? "$out"
python3 scripts/proxy/test_smbproxy.py >/tmp/smbvn-proxytest.log 2>&1
check proxy-self-test $? "$(tail -3 /tmp/smbvn-proxytest.log)"
# The layout generator: every bzImage format, offsets against gcc's, and a
# refusal per assertion.
python3 scripts/build/test_btf_layout.py >/tmp/smbvn-layouttest.log 2>&1
check layout-generator-self-test $? "$(tail -3 /tmp/smbvn-layouttest.log)"
python3 scripts/tests/test_e2e_check.py >/tmp/smbvn-e2echecktest.log 2>&1
check e2e-checker-self-test $? "$(tail -3 /tmp/smbvn-e2echecktest.log)"
python3 scripts/tests/test_knobs_check.py >/tmp/smbvn-knobschecktest.log 2>&1
check knobs-checker-self-test $? "$(tail -3 /tmp/smbvn-knobschecktest.log)"

echo "OPS: $passed passed, $failed failed"
[ "$failed" = 0 ]
