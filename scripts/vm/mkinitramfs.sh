#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# mkinitramfs.sh REL OUT [FILE...]
#
# Build a gzip'd newc initramfs for the unpacked Debian kernel REL
# (.cache/k/REL, see scripts/build/deps.sh): static busybox, util-linux mount,
# mount.cifs, the kernel modules for virtio networking and for cifs, and the
# FILEs under /extra/. Its /init brings up eth0 as 10.0.2.15 (qemu user
# networking), runs /extra/test.sh and prints "VM-EXIT <rc>".
#
# The part that does not depend on FILEs (binaries, decompressed modules) is
# cached as .cache/vm/base-REL.cpio.gz; the FILEs go into a second archive
# appended to it (the kernel unpacks concatenated archives in order).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
self=$top/scripts/vm/mkinitramfs.sh

die() { echo "mkinitramfs.sh: $*" >&2; exit 1; }
[ $# -ge 2 ] || { echo "usage: $0 REL OUT [FILE...]" >&2; exit 2; }
rel=$1 out=$2
shift 2
kdir=$top/.cache/k/$rel
[ -d "$kdir/lib/modules/$rel" ] ||
	die "kernel $rel is not unpacked in $kdir: run scripts/build/deps.sh"
for f in "$@"; do [ -f "$f" ] || die "no such file: $f"; done

# Host tools this script copies or runs. deps.sh installs them; stand-alone
# use on a fresh Debian 12 installs whatever is missing.
pkgs=(busybox-static cifs-utils kmod cpio xz-utils zstd gzip util-linux dash)
bash "$top/scripts/build/apt-need.sh" "${pkgs[@]}"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Module files (absolute paths) that modprobe would insmod for MOD,
# dependencies first. Builtins and unknown names (the "aead2" softdep) print
# nothing rather than fail.  -C /dev/null: the host's modprobe.d is not the
# guest's (an installed smbvn package's "install cifs" line would replace
# cifs.ko in the answer).
deps_of() {
	{ modprobe -C /dev/null -d "$kdir" -S "$rel" --show-depends "$1" 2>/dev/null || true; } |
		awk '$1 == "insmod" { print $2 }'
}

# Module list as "GROUP PATH" lines, each module once, in load order:
#   net    virtio networking, loaded by /init
#   dep    what cifs.ko links against, loaded by /init
#   crypto what cifs asks the crypto API for at mount time (its softdeps plus
#          the 3.1.1 AEAD pieces); with no modprobe in the guest a missing
#          one makes the mount fail with ENOENT, so load-cifs preloads them
#   cifs   cifs.ko itself, loaded only by /bin/load-cifs
module_list() {
	local m f
	for m in virtio_pci virtio_net; do
		deps_of $m | sed 's/^/net /'
	done
	deps_of cifs | sed '/\/cifs\.ko/d; s/^/dep /'
	for m in $(modinfo -b "$kdir" -k "$rel" -F softdep cifs | sed 's/^pre: *//') \
		gcm ccm cmac crypto_null aesni_intel sha256_ssse3 sha512_ssse3; do
		# "aes" also matches the VIA PadLock driver, which only fails.
		deps_of "$m" | sed '/padlock/d; s/^/crypto /'
	done
	f=$(deps_of cifs | grep '/cifs\.ko') || die "no cifs module in $kdir"
	echo "cifs $f"
}

# Copy a dynamically linked program with its libraries and loader, keeping
# the absolute paths ldd reports so the embedded interpreter path works.
copy_prog() {
	local src=$1 dst=$2 lib
	install -D -m 755 "$src" "$root$dst"
	for lib in $(ldd "$src" | grep -o '/[^ ]*'); do
		[ -e "$root$lib" ] || install -D -m 755 "$(readlink -f "$lib")" "$root$lib"
	done
}

build_base() {
	root=$work/base
	mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,run,mnt,lib/modules,extra}

	install -m 755 /bin/busybox "$root/bin/busybox"
	local a
	for a in $(/bin/busybox --list-full); do
		[ -e "$root/$a" ] || ln -s /bin/busybox "$root/$a"
	done
	# Busybox mount does cifs in-process and runs mount.cifs only after that
	# failed; util-linux mount runs mount.cifs exactly once, as on a real
	# system. Debian's static busybox runs its own applets before searching
	# PATH, both in its shell and in applets that run a command (timeout,
	# env, xargs, ...), so those come from the host too and /bin/sh is dash.
	local p
	for p in mount umount timeout env xargs nice nohup chroot setsid \
		taskset unshare nsenter; do
		rm -f "$root"/{bin,sbin,usr/bin,usr/sbin}/"$p"
		copy_prog "$(command -v "$p")" "/bin/$p"
	done
	rm -f "$root/bin/sh"
	copy_prog /usr/bin/dash /bin/sh
	# kmod's modprobe honours modprobe.d softdeps and options, which the
	# packaging test needs; busybox's does not.
	copy_prog "$(readlink -f "$(command -v kmod)")" /bin/kmod
	for p in modprobe depmod modinfo; do
		rm -f "$root"/{bin,sbin,usr/bin,usr/sbin}/"$p"
		ln -s /bin/kmod "$root/sbin/$p"
	done
	copy_prog /usr/sbin/mount.cifs /sbin/mount.cifs

	# mount and mount.cifs work without any /etc file (measured); these only
	# let ls/id/stat show names, and mtab look as on a real system.
	printf 'root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' \
		>"$root/etc/passwd"
	printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
	ln -s /proc/self/mounts "$root/etc/mtab"

	# Decompress: busybox insmod hands the bytes to init_module() as is.
	local g p name
	module_list | awk '!seen[$2]++' | while read -r g p; do
		name=$(basename "$p")
		case $name in
		*.ko.xz) xz -dc "$p" >"$root/lib/modules/${name%.xz}" ;;
		*.ko.zst) zstd -qdc "$p" >"$root/lib/modules/${name%.zst}" ;;
		*.ko.gz) gzip -dc "$p" >"$root/lib/modules/${name%.gz}" ;;
		*.ko) cp "$p" "$root/lib/modules/$name" ;;
		*) die "unexpected module file $p" ;;
		esac
		echo "$g ${name%.ko*}.ko"
	done >"$root/modules.order"
	grep -q '^cifs ' "$root/modules.order" || die "module list incomplete"

	write_guest_scripts
	(cd "$root" && find . | LC_ALL=C sort |
		cpio -o -H newc -R 0:0 --quiet) | gzip -6 >"$work/base.cpio.gz"
	mv "$work/base.cpio.gz" "$base"
}

write_guest_scripts() {
	# Shared by /init and /bin/load-cifs.
	cat >"$root/lib/modload.sh" <<'EOF'
# SPDX-License-Identifier: GPL-2.0-only
# load_mods GROUP...: insmod the modules of those groups from /modules.order
# in file order, skipping loaded ones so callers may repeat it. Returns 1 if
# any required module failed; crypto failures only warn, because a missing
# cipher shows up as a clear mount error anyway.
load_mods() {
	lm_rc=0
	while read -r lm_g lm_f; do
		case " $* " in *" $lm_g "*) ;; *) continue ;; esac
		lm_n=$(echo "${lm_f%.ko}" | tr - _)
		[ -d "/sys/module/$lm_n" ] && continue
		if ! lm_err=$(insmod "/lib/modules/$lm_f" 2>&1); then
			if [ "$lm_g" = crypto ]; then
				echo "MODLOAD-WARN: insmod $lm_f failed: $lm_err"
			else
				echo "MODLOAD-FAIL: insmod $lm_f failed: $lm_err"
				lm_rc=1
			fi
		fi
	done </modules.order
	return $lm_rc
}
EOF
	cat >"$root/bin/load-cifs" <<'EOF'
#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Load cifs with everything it needs at mount time; safe to run again.
. /lib/modload.sh
load_mods dep crypto cifs
EOF
	chmod 755 "$root/bin/load-cifs"

	cat >"$root/bin/cifs-quiesce" <<'EOF'
#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# cifs-quiesce [SECONDS]: a refused or unmounted share lets go of its TCP
# connection asynchronously; wait (default 30 s) until cifs holds none, so
# that one attempt's log lines and counters never land in the next one's.
n=$((${1:-30} * 2))
while [ $n -gt 0 ] && grep -q 'ConnectionId' /proc/fs/cifs/DebugData 2>/dev/null; do
	sleep 0.5
	n=$((n - 1))
done
grep -q 'ConnectionId' /proc/fs/cifs/DebugData 2>/dev/null || exit 0
echo "WARN connections still open after ${1:-30} s"
exit 1
EOF
	chmod 755 "$root/bin/cifs-quiesce"

	cat >"$root/bin/cifs-warm" <<'EOF'
#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# cifs-warm PORT CREDENTIALS [SECONDS]: one 3.0 and one 3.1.1 mount of
# //10.0.2.2/data straight to Samba on PORT, each tried twice and each
# try killed after SECONDS (default 120), results printed, never judged.
# The crypto API builds cifs' algorithms (hmac(sha256), hmac(md5),
# cmac(aes), cbcmac(aes), ccm(aes), cryptd(__ctr-aes-aesni),
# cryptd(__generic-gcm-aesni-avx)) on their first use and asks modprobe
# for each first.  On the RT debug kernel under TCG those requests took
# 70 s inside the first mount, past cifs' 20 s limit for NEGOTIATE, and
# that mount failed with EHOSTDOWN with stock cifs too (2026-12-03).
# Suites whose first mount is counted pay that cost here instead.
mkdir -p /mnt/cifs-warm
for v in 3.0 3.1.1; do
	for try in 1 2; do
		t=$(cut -d' ' -f1 /proc/uptime) rc=0
		timeout "${3:-120}" mount -t cifs //10.0.2.2/data /mnt/cifs-warm \
			-o "port=$1,vers=$v,$2" >/dev/null 2>&1 || rc=$?
		echo "CIFS-WARMUP vers=$v try=$try rc=$rc after" \
			"$(awk -v a="$t" -v b="$(cut -d' ' -f1 /proc/uptime)" \
			'BEGIN { printf "%.1f", b - a }') s"
		[ $rc = 0 ] && umount /mnt/cifs-warm && break
	done
done
cifs-quiesce 60 || true
EOF
	chmod 755 "$root/bin/cifs-warm"

	cat >"$root/init" <<'EOF'
#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Test VM init: networking, cifs dependencies, /extra/test.sh, power off.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
rc=0
fail() { echo "INIT-FAIL: $*"; rc=126; }

mount -t proc proc /proc || fail "mount /proc"
mount -t sysfs sysfs /sys || fail "mount /sys"
mount -t devtmpfs devtmpfs /dev || fail "mount /dev"
mount -t tmpfs tmpfs /tmp || fail "mount /tmp"
mount -t tmpfs tmpfs /run || fail "mount /run"

# A kernel report before /init ran comes before any module is loaded, so
# it says nothing of cifs or smbvn; but a debug kernel turns lock
# debugging off after its first report, and the run would check less
# than it claims.  vm.sh boots once more on this line.
if dmesg | grep -qE '\] (BUG:|WARNING:)'; then
	dmesg | grep -E -A3 '\] (BUG:|WARNING:)' | head -n 8
	echo "INIT-EARLY-REPORT: a kernel report before /init"
	echo "VM-EXIT 124"
	poweroff -f
fi

. /lib/modload.sh
load_mods net || fail "network modules"
load_mods dep || fail "cifs dependency modules"

ip link set lo up
# virtio_net may probe after insmod returns: give eth0 a moment to appear.
i=0
while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
{ ip link set eth0 up &&
	ip addr add 10.0.2.15/24 dev eth0 &&
	ip route add default via 10.0.2.2; } || fail "eth0 setup"

if [ $rc -ne 0 ]; then
	echo "INIT-FAIL: not running /extra/test.sh"
elif [ -f /extra/test.sh ]; then
	echo "INIT: running /extra/test.sh"
	sh /extra/test.sh
	rc=$?
else
	echo "INIT: no /extra/test.sh"
fi
# Debug kernels (CONFIG_DEBUG_KMEMLEAK): a leak fails the VM. kmemleak only
# reports after a scan and skips objects a few seconds old, so it is scanned
# twice with a pause, as its documentation advises.
kml=/sys/kernel/debug/kmemleak
[ -e $kml ] || mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
if [ -e $kml ]; then
	echo scan >$kml; sleep 5; echo scan >$kml
	if grep -q 'unreferenced object' $kml; then
		sed 's/^/KMEMLEAK: /' $kml
		echo "INIT-FAIL: kmemleak reported unreferenced objects"
		[ $rc -ne 0 ] || rc=3
	else
		echo "INIT: kmemleak scanned, nothing unreferenced"
	fi
fi
echo "VM-EXIT $rc"
sync
poweroff -f
# poweroff should not return; if it does, a panic ends the VM (-no-reboot).
exit $rc
EOF
	chmod 755 "$root/init"
}

# Rebuild the base when missing or older than this script or the kernel.
mkdir -p "$top/.cache/vm"
base=$top/.cache/vm/base-$rel.cpio.gz
if [ ! -s "$base" ] || [ "$self" -nt "$base" ] || [ "$kdir/.done" -nt "$base" ]; then
	build_base
fi

# Second archive with /extra/FILE... (basenames must be unique).
root=$work/extra
mkdir -p "$root/extra"
for f in "$@"; do
	b=$(basename "$f")
	[ -e "$root/extra/$b" ] && die "two FILEs named $b"
	cp -L "$f" "$root/extra/$b"
done
cp "$base" "$work/out.cpio.gz"
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) |
	gzip -1 >>"$work/out.cpio.gz"
mkdir -p "$(dirname "$out")"
mv "$work/out.cpio.gz" "$out"
