#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# buildroot.sh create [SUITE]      debootstrap SUITE (default trixie) into
#                                  .cache/root/SUITE, once (stamp file)
# buildroot.sh run REL CMD ARGS... run CMD for kernel REL: on the host when
#                                  the host has the compiler REL's headers
#                                  name, else inside the build root of
#                                  REL's suite
# buildroot.sh needs REL           print the suite whose root REL needs, or
#                                  nothing when the host can build for it
# buildroot.sh chroot ROOT CMD...  CMD chrooted into ROOT (any root, e.g.
#                                  scripts/tests/distro-test.sh's images)
# buildroot.sh module REL [MAKEARG...]
#                                  `make KROOT=.cache/k/REL` of this project:
#                                  the cifs layout is generated on the host
#                                  (python3, binutils and the decompressors
#                                  are the host's), kbuild runs through `run`
#
# A Debian 13 kernel's headers call x86_64-linux-gnu-gcc-14 and its kbuild
# programs need Debian 13's glibc: the module is built for it the way a
# Debian 13 user's DKMS builds it, with Debian 13's own compiler, inside a
# Debian 13 root.  The root is made by debootstrap from the archive apt is
# configured with (scripts/build/kernels.sh uri).  CMD runs chrooted in a private
# mount namespace in which the project, the kernel tree and /tmp are bound
# at their own paths, so paths mean the same inside and out and nothing
# stays mounted afterwards.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cache=$top/.cache

die() { echo "buildroot.sh: $*" >&2; exit 1; }
say() { echo "buildroot: $*" >&2; }

# What kbuild needs for an external module with W=1 (perl: kernel-doc;
# pahole: the module's BTF; python3: the layout generator, when run in the
# root).
root_pkgs="gcc-14 make perl python3 kmod libelf-dev bc flex bison libssl-dev
	binutils libc6-dev dwarves"

# in_root ROOT CMD...: CMD chrooted, with /dev, /proc and /sys (a kernel's
# postinst runs update-initramfs), mounts private.
in_root() {
	unshare -m --propagation private /bin/sh -e -c '
		root=$1
		shift
		mount --rbind /dev "$root/dev"
		mount -t proc proc "$root/proc"
		mount -t sysfs sys "$root/sys"
		exec chroot "$root" /usr/bin/env PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"
	' sh "$@"
}

# The stamp holds the package list the root was made with; a root made
# with an older list only gets the missing packages.
create() {
	local suite=${1:-trixie} root uri pkgs
	root=$cache/root/$suite
	# shellcheck disable=SC2086 # one line of names
	pkgs=$(echo $root_pkgs)
	[ "$(cat "$root/.smbvn-root" 2>/dev/null)" = "$pkgs" ] && return 0
	command -v debootstrap >/dev/null || {
		export DEBIAN_FRONTEND=noninteractive
		apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
	}
	mkdir -p "$cache/root"
	if [ ! -f "$root/.debootstrap-done" ]; then
		uri=$(bash "$top/scripts/build/kernels.sh" uri)
		say "debootstrap $suite from $uri into $root"
		rm -rf "$root"
		mkdir -p "$root"
		debootstrap --variant=minbase --include="${pkgs// /,}" \
			--keyring=/usr/share/keyrings/debian-archive-keyring.gpg \
			"$suite" "$root" "$uri" >"$cache/root/$suite.log" 2>&1 ||
			die "debootstrap failed, see .cache/root/$suite.log"
		touch "$root/.debootstrap-done"
	else
		say "adding packages to the $suite root"
		# shellcheck disable=SC2086 # a list of package names
		in_root "$root" sh -c 'apt-get update -qq &&
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends "$@"' sh $pkgs \
			>"$cache/root/$suite.log" 2>&1 ||
			die "apt-get install in the root failed, see .cache/root/$suite.log"
	fi
	chroot "$root" apt-get clean
	echo "$pkgs" >"$root/.smbvn-root"
	say "root $suite ready: $(chroot "$root" gcc-14 --version | sed -n 1p)"
}

# The compiler REL's headers call: Debian's .kernelvariables names gcc-N
# behind the target triplet; nothing for a tree built with plain gcc.
kernel_cc() {
	local hdr=$cache/k/$1/usr/src/linux-headers-$1
	[ -d "$hdr" ] || die "kernel $1 not unpacked (scripts/build/kernels.sh fetch $1)"
	sed -n 's/^CC = .*\(gcc-[0-9]*\)$/x86_64-linux-gnu-\1/p' \
		"$hdr/.kernelvariables" 2>/dev/null
}

needs() {
	local rel=$1 cc
	cc=$(kernel_cc "$rel")
	if [ -n "$cc" ] && ! command -v "$cc" >/dev/null; then
		bash "$top/scripts/build/kernels.sh" suite "$rel"
	fi
}

run() {
	local rel=$1 suite root kdir
	shift
	suite=$(needs "$rel")
	if [ -z "$suite" ]; then
		"$@"
		return
	fi
	create "$suite"
	root=$(readlink -f "$cache/root/$suite")
	kdir=$(readlink -f "$cache/k/$rel")
	# unshare: the binds die with the namespace, even if CMD is killed.
	unshare -m --propagation private /bin/sh -e -c '
		root=$1 top=$2 kdir=$3 cwd=$4
		shift 4
		for d in "$top" "$kdir" /tmp /dev; do
			mkdir -p "$root$d"
			mount --rbind "$d" "$root$d"
		done
		mount -t proc proc "$root/proc"
		exec chroot "$root" /usr/bin/env -C "$cwd" PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"
	' sh "$root" "$top" "$kdir" "$PWD" "$@"
}

module() {
	local rel=$1
	shift
	make -s -C "$top" KROOT=".cache/k/$rel" "$top/build/$rel/generated/smbvn_layout.h"
	run "$rel" make -C "$top" KROOT=".cache/k/$rel" "$@"
}

case ${1:-} in
module) shift; module "$@" ;;
chroot) shift; in_root "$@" ;;
create) create "${2:-trixie}" ;;
needs) needs "$2" ;;
run) shift; run "$@" ;;
*) echo "usage: $0 create [SUITE] | needs REL | run REL CMD... | module REL [MAKEARG...] | chroot ROOT CMD..." >&2
	exit 2 ;;
esac
