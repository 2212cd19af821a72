#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# make distro-test: an administrator's whole journey on a real Debian.
#
#   distro-test.sh [SUITE...]     run the journey per suite (default trixie;
#                                 DISTRO_SUITES="trixie bookworm" likewise)
#   distro-test.sh image SUITE    only make (or reuse) SUITE's image
#
# Per suite: a root filesystem debootstrapped from the archive apt is
# configured with (scripts/build/kernels.sh uri), holding the suite's own kernel
# (linux-image-amd64), its headers, dkms, cifs-utils, systemd and man-db.
# Everything is fetched on the host, including the packages smbvn-dkms
# depends on, which are only downloaded (into the image's apt cache), so
# that the guest's apt resolves the package's Depends offline and a missing
# one fails the build.  The image is cached as .cache/distro/SUITE/root.img,
# keyed by what went into it; qemu's snapshot mode keeps a run's writes out
# of it, so a run never sees what an earlier one left behind.
#
# The run builds the .deb (make deb), starts Samba on 127.0.0.1 and the
# tampering proxy (smbproxy.py mode guid) in front of it, and boots the
# image's own kernel and initramfs under qemu.  A unit in the image runs
# scripts/tests/distro-guest.sh from a second, read-only disk; it writes what it
# finds to the second serial port.  The guest installs the .deb, writes two
# _netdev lines to /etc/fstab, reboots, and reports the boot-time mounts,
# the journal, the tools and what "apt remove" leaves.  This script judges
# those reports: one "PASS name detail" or "FAIL name detail" line per
# check, then "DISTRO: N passed, N failed"; it exits 1 on any failure.
#
# DISTRO_PORT_BASE (default 21600): Samba's port, the proxy takes base+10.
# DISTRO_VM_TIMEOUT (default 2400 s) bounds one qemu run; DISTRO_MEM (MiB,
# default 2048).  Logs stay in .cache/distro/SUITE/last/.
set -euo pipefail
shopt -s extglob
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
cache=$top/.cache/distro
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
base=${DISTRO_PORT_BASE:-21600}

die() { echo "distro-test: $*" >&2; exit 1; }
say() { echo "distro-test: $*"; }

# The image's packages besides the minbase variant.  linux-headers-amd64
# brings the suite's compiler (the kernel's linux-compiler-gcc-N-x86).
# dbus: systemctl reboot and poweroff go through logind.  openssl: DKMS
# makes its machine owner key with it (without, it builds unsigned).
pkgs="linux-image-amd64 linux-headers-amd64 dkms cifs-utils systemd
	systemd-sysv udev dbus kmod iproute2 procps man-db initramfs-tools
	openssl"

# in_root ROOT CMD...: CMD chrooted, /dev, /proc and /sys mounted for it
# only.
in_root() {
	DEBIAN_FRONTEND=noninteractive bash "$top/scripts/build/buildroot.sh" chroot "$@"
}

# The unit that runs the guest half at every boot, from the payload disk a
# run attaches.  Only this launcher lives in the image; the harness itself
# changes without the image being made again.
harness_unit() {
	cat <<'EOF'
[Unit]
Description=smbvn distro-test harness (scripts/tests/distro-guest.sh)
After=multi-user.target

[Service]
Type=simple
ExecStart=/bin/sh -c 'mkdir -p /run/payload && mount -o ro LABEL=smbvnpay /run/payload && exec /bin/sh /run/payload/distro-guest.sh'

[Install]
WantedBy=multi-user.target
EOF
}

# Static address, no gateway: the guest reaches the host's 127.0.0.1
# through qemu's 10.0.2.2 and nothing beyond it, so its apt is offline.
network_unit() {
	printf '%s\n' '[Match]' 'Name=en* eth*' '' '[Network]' \
		'Address=10.0.2.15/24' 'LinkLocalAddressing=no' 'IPv6AcceptRA=no'
}

# image SUITE DEB: make .cache/distro/SUITE/root.img unless the one there
# was made from the same inputs (package list, smbvn-dkms's Depends, the
# units, this function).
image() {
	local suite=$1 deb=$2 dir root key uri sec rel t0
	dir=$cache/$suite
	root=$dir/root
	key=$({
		echo "$suite" $pkgs
		dpkg-deb -f "$deb" Depends
		harness_unit
		network_unit
		declare -f image
	} | sha256sum | cut -d' ' -f1)
	if [ -f "$dir/root.img" ] && [ "$(cat "$dir/key" 2>/dev/null)" = "$key" ]; then
		say "$suite: cached image $dir/root.img"
		return 0
	fi
	t0=$(date +%s)
	command -v debootstrap >/dev/null || apt-get install -y -qq debootstrap >/dev/null
	uri=$(bash scripts/build/kernels.sh uri)
	sec=$(bash scripts/build/kernels.sh uri security)
	rm -rf "$root" "$dir/root.img" "$dir/key"
	mkdir -p "$dir"
	say "$suite: debootstrap from $uri (log $dir/build.log)"
	nice -n 10 debootstrap --variant=minbase --keyring="$keyring" \
		"$suite" "$root" "$uri" >"$dir/build.log" 2>&1 ||
		die "debootstrap failed, see $dir/build.log"
	printf 'deb %s %s main\ndeb %s %s-updates main\ndeb %s %s-security main\n' \
		"$uri" "$suite" "$uri" "$suite" "$sec" "$suite" \
		>"$root/etc/apt/sources.list"
	cp /etc/resolv.conf "$root/etc/resolv.conf"
	say "$suite: installing the kernel, headers, dkms, cifs-utils, systemd"
	# shellcheck disable=SC2086 # a list of package names
	in_root "$root" sh -ec 'apt-get update -qq
		apt-get install -y -q --no-install-recommends "$@"' sh $pkgs \
		>>"$dir/build.log" 2>&1 || die "apt-get in the root failed, see $dir/build.log"
	# smbvn-dkms's dependencies: downloaded, not installed.
	in_root "$root" apt-get clean
	cp "$deb" "$root/tmp/"
	in_root "$root" sh -ec 'cd /tmp && apt-get install -y -q -d \
		--no-install-recommends ./smbvn-dkms_*.deb' >>"$dir/build.log" 2>&1 ||
		die "downloading smbvn-dkms's dependencies failed, see $dir/build.log"
	rm -f "$root"/tmp/smbvn-dkms_*.deb
	: >"$root/etc/resolv.conf"

	# Not "smbvn-...": the host name is in every journal line the guest greps.
	echo "debian-$suite" >"$root/etc/hostname"
	echo "/dev/vda / ext4 defaults 0 0" >"$root/etc/fstab"
	# A machine id makes this not a first boot: systemd-firstboot would
	# otherwise ask for a locale on the console.
	od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$root/etc/machine-id"
	echo >>"$root/etc/machine-id"
	network_unit >"$root/etc/systemd/network/20-smbvn.network"
	harness_unit >"$root/etc/systemd/system/smbvn-distro.service"
	in_root "$root" systemctl enable systemd-networkd.service \
		smbvn-distro.service >>"$dir/build.log" 2>&1
	# Timers that would only compete with the test for the one vCPU.
	in_root "$root" systemctl mask apt-daily.timer apt-daily-upgrade.timer \
		man-db.timer e2scrub_all.timer fstrim.timer >>"$dir/build.log" 2>&1
	rel=$(find "$root/boot" -name 'vmlinuz-*' -printf '%f\n' | sed 's/^vmlinuz-//' | sort -V | tail -1)
	[ -n "$rel" ] && [ -f "$root/boot/initrd.img-$rel" ] ||
		die "$suite: no kernel and initramfs in $root/boot"
	cp "$root/boot/vmlinuz-$rel" "$root/boot/initrd.img-$rel" "$dir/"
	echo "$rel" >"$dir/release"
	say "$suite: writing the ext4 image"
	mke2fs -q -t ext4 -L smbvnroot -d "$root" "$dir/root.img.tmp" 8G >/dev/null ||
		die "mke2fs failed"
	mv "$dir/root.img.tmp" "$dir/root.img"
	rm -rf "$root"
	echo "$key" >"$dir/key"
	say "$suite: image ready ($rel) in $(($(date +%s) - t0)) s"
}

pids=()
work=
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	[ -z "$work" ] || bash scripts/vm/samba.sh stop "$work/samba" >/dev/null 2>&1 || true
}
trap cleanup EXIT

build_deb() {
	say "make deb"
	nice -n 10 make -s deb >"$cache/deb.log" 2>&1 ||
		{ cat "$cache/deb.log"; die "make deb failed"; }
	deb=$top/smbvn-dkms_$(cat VERSION)_all.deb
	[ -f "$deb" ] || die "no $deb"
}

servers() {
	say "Samba on 127.0.0.1:$base, the tampering proxy (guid) on $((base + 10))"
	bash scripts/vm/samba.sh start "$work/samba" "$base" >/dev/null
	python3 scripts/proxy/smbproxy.py --target "127.0.0.1:$base" \
		--user smbvn --password smbvnpass --map "$((base + 10)):guid" \
		--log "$work/proxy.log" >"$work/proxy.out" 2>&1 &
	pids+=($!)
	for _ in $(seq 50); do
		grep -q ready "$work/proxy.out" && return 0
		sleep 0.1
	done
	die "the proxy did not start: $(cat "$work/proxy.out")"
}

# boot SUITE: one qemu run; the guest reboots once inside it and powers off
# when done.  snapshot=on keeps the guest's writes in a temporary overlay
# that lives as long as qemu, across the reboot, and never in the image.
boot() {
	local suite=$1 dir=$cache/$1 rel pay t0
	rel=$(cat "$dir/release")
	pay=$work/payload
	mkdir -p "$pay"
	cp scripts/tests/distro-guest.sh "$deb" "$pay/"
	printf 'PORT_HONEST=%s\nPORT_GUID=%s\nVERSION=%s\n' \
		"$base" "$((base + 10))" "$(cat VERSION)" >"$pay/env"
	mke2fs -q -t ext4 -O ^has_journal -L smbvnpay -d "$pay" "$work/payload.img" 64M \
		>/dev/null
	say "$suite: booting $rel under qemu (console $work/console.log)"
	t0=$(date +%s)
	vmrc=0
	nice -n 10 timeout -k 10 "${DISTRO_VM_TIMEOUT:-2400}" qemu-system-x86_64 \
		-accel tcg,thread=single -cpu max -m "${DISTRO_MEM:-2048}" -smp 1 \
		-display none -monitor none \
		-serial "file:$work/console.log" -serial "file:$work/results.log" \
		-kernel "$dir/vmlinuz-$rel" -initrd "$dir/initrd.img-$rel" \
		-append "root=/dev/vda rw console=ttyS0 quiet panic=-1 systemd.firstboot=0 systemd.show_status=0" \
		-drive "file=$dir/root.img,if=virtio,format=raw,snapshot=on" \
		-drive "file=$work/payload.img,if=virtio,format=raw,readonly=on" \
		-netdev user,id=n0 -device virtio-net-pci,netdev=n0,romfile= \
		</dev/null >"$work/qemu.out" 2>&1 || vmrc=$?
	vmtime=$(($(date +%s) - t0))
	say "$suite: qemu exit $vmrc after $vmtime s"
	sed -i 's/\r$//' "$work/console.log" "$work/results.log"
}

npass=0
nfail=0
pass() { echo "PASS $*"; npass=$((npass + 1)); }
fail() { echo "FAIL $*"; nfail=$((nfail + 1)); }

# g KEY: the value of the guest's last "G KEY value" line; has KEY: whether
# there is one (an empty value is a report too).
g() { awk -v k="$1" '$1 == "G" && $2 == k { sub(/^G [^ ]+ ?/, ""); v = $0 } END { print v }' "$res"; }
has() { grep -q "^G $1\( \|$\)" "$res"; }
# check NAME COND DETAIL: COND is a shell test run by eval.
check() {
	if eval "$2"; then pass "$1" "$3"; else fail "$1" "$3"; fi
}

# hexid TEXT: a serial as bare upper-case hex without leading zeros, from
# modinfo's "5A:0B:.." or openssl's "serial=5A0B.."; empty if not hex.
hexid() {
	local h=${1#serial=}
	h=${h//:/}
	[[ $h =~ ^[0-9A-Fa-f]+$ ]] || return 0
	h=${h^^}
	echo "${h##+(0)}"
}

# The checks are strings for eval: $(g ...) is meant to run there.
# shellcheck disable=SC2016
judge() {
	local suite=$1 ver v cc ko
	res=$work/results.log
	ver=$(cat VERSION)
	cc=$(g gcc | grep -o '(Debian [^)]*) [0-9.]*' || true)
	ko=$(g ko-comment)
	check "$suite/vm" '[ "$vmrc" = 0 ]' \
		"qemu exit $vmrc after $vmtime s (124: timeout)"
	check "$suite/boot" 'has phase1 && has phase2' \
		"the guest booted, rebooted and ran both phases (boots: $(g boots))"
	check "$suite/apt-install" '[ "$(g apt-rc)" = 0 ]' \
		"apt install ./smbvn-dkms_${ver}_all.deb exit $(g apt-rc)"
	check "$suite/dkms-status" '[[ "$(g dkms-status)" == "smbvn/$ver, $(g uname)"*": installed"* ]]' \
		"dkms status: $(g dkms-status)"
	check "$suite/guest-compiler" '[ -n "$cc" ] && [[ "$ko" == *"$cc"* ]]' \
		"guest gcc '$cc', smbvn.ko .comment '$ko'"
	check "$suite/fstab-mount" '[ "$(g honest-fstype)" = cifs ] && [ "$(g honest-read)" = smbvn-hello ]' \
		"/mnt/honest at boot: fstype '$(g honest-fstype)', hello.txt '$(g honest-read)', unit $(g honest-unit)"
	v=$(g validated)
	check "$suite/validated" '[[ "$v" =~ ^[0-9]+$ ]] && [ "$v" -gt 0 ]' \
		"/sys/module/smbvn/stats/validated = '$v'"
	check "$suite/tampered-refused" 'has tampered-fstype && [ -z "$(g tampered-fstype)" ] && [ "$(g tampered-unit)" = failed ]' \
		"/mnt/tampered fstype '$(g tampered-fstype)', mnt-tampered.mount $(g tampered-unit)"
	check "$suite/journal-refused" '[[ "$(g journal-refused)" == *"smbvn: refused"*"rule=guid-mismatch"* ]]' \
		"journalctl -k: $(g journal-refused)"
	v=$(g stats-validated)
	check "$suite/smbvn-stats" '[ "$(g stats-rc)" = 0 ] && [[ "$v" =~ ^[0-9]+$ ]] && [ "$v" -gt 0 ]' \
		"smbvn-stats exit $(g stats-rc), validated $v"
	check "$suite/modinfo" '[ "$(g modinfo-version)" = "$ver" ] && [[ "$(g modinfo-filename)" == */updates/dkms/smbvn.ko* ]]' \
		"modinfo smbvn: version '$(g modinfo-version)', $(g modinfo-filename)"
	check "$suite/man" '[ "$(g man-rc)" = 0 ] && [[ "$(g man-name)" == smbvn* ]]' \
		"man 4 smbvn exit $(g man-rc), NAME '$(g man-name)'"
	check "$suite/apt-remove" '[ "$(g remove-rc)" = 0 ]' \
		"apt remove smbvn-dkms exit $(g remove-rc)"
	check "$suite/no-module-left" 'has left-ko && [ -z "$(g left-ko)" ] && has left-dkms && [ -z "$(g left-dkms)" ]' \
		"smbvn.ko under /lib/modules: '$(g left-ko)', dkms status: '$(g left-dkms)'"
	check "$suite/no-rule-left" 'has left-rule && [ -z "$(g left-rule)" ] && [ "$(g left-modprobe-c)" = 0 ]' \
		"modprobe.d files naming smbvn: '$(g left-rule)', modprobe -c lines: $(g left-modprobe-c)"
	check "$suite/module-signed" '[ -n "$(hexid "$(g sig-key)")" ] && [ "$(hexid "$(g sig-key)")" = "$(hexid "$(g mok-serial)")" ]' \
		"signer '$(g modinfo-signer)', sig_key '$(g sig-key)', /var/lib/dkms/mok.pub $(g mok-serial)"
	check "$suite/kernel-clean" '[ "$(g kernel-problems1)" = 0 ] && [ "$(g kernel-problems2)" = 0 ]' \
		"Oops/BUG/WARNING/Call Trace lines in journalctl -k: boot 1 '$(g kernel-problems1)', boot 2 '$(g kernel-problems2)'"
	check "$suite/finished" 'has done' "the guest reached its end"
}

run_suite() {
	local suite=$1 t0
	t0=$(date +%s)
	image "$suite" "$deb"
	work=$cache/$suite/last
	rm -rf "$work"
	mkdir -p "$work"
	chmod 755 "$work"
	servers
	boot "$suite"
	judge "$suite"
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	pids=()
	bash scripts/vm/samba.sh stop "$work/samba" >/dev/null 2>&1 || true
	work=
	say "$suite: done in $(($(date +%s) - t0)) s"
}

# One function, called on the last line: bash reads a script as it runs it,
# and the journey is long enough for someone to edit this file meanwhile.
main() {
	mkdir -p "$cache"
	case ${1:-} in
	image)
		[ -n "${2:-}" ] || die "usage: $0 image SUITE"
		build_deb
		image "$2" "$deb"
		exit 0 ;;
	esac
	build_deb
	# shellcheck disable=SC2206 # a list of suite names
	suites=(${@:-${DISTRO_SUITES:-trixie}})
	for s in "${suites[@]}"; do run_suite "$s"; done
	echo "DISTRO: $npass passed, $nfail failed"
	[ "$nfail" = 0 ]
}

main "$@"; exit
