#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Install the host packages the test suite needs and unpack the CI's Debian
# kernels (image, headers, headers-common, kbuild) into .cache/k/<release>.
# Nothing is installed into /boot or /lib/modules: the kernels only ever run
# inside qemu, so a private unpacked tree is enough and keeps the host clean.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cache=$top/.cache
mkdir -p "$cache/deb" "$cache/k"

pkgs=(qemu-system-x86 samba smbclient cifs-utils busybox-static dwarves python3
      python3-cryptography cpio kmod xz-utils zstd binutils gcc libc6-dev make bc
      flex bison libelf-dev libssl-dev bzip2 lz4 lzop bpftool)
bash "$top/scripts/build/apt-need.sh" "${pkgs[@]}"
# smbd must not be left running as a system service on the default port:
# the tests start their own instances on high ports.
systemctl stop smbd nmbd samba-ad-dc 2>/dev/null || true

# The kernels: scripts/build/kernels.sh finds them in the archive apt is
# configured with and unpacks them.  Its "generic" list is Debian 12's 6.1
# (the one linux-image-amd64 depends on), Debian 12's newest 6.12 and
# Debian 13's newest 6.12.
generic() { bash "$top/scripts/build/kernels.sh" generic; }

case ${1:-all} in
# The kernels every VM suite runs in CI: Debian 12's 6.12, then 6.1.
releases) generic | awk 'NR <= 2 { r[NR] = $0 } END { print r[2], r[1] }' ;;
# Kernels only the e2e suite adds in CI: Debian 13's 6.12 (the whole CI
# must stay under an hour; the other suites run it through `make matrix`).
releases-ci-extra) generic | sed -n 3p ;;
*)
	mapfile -t rels < <(generic)
	bash "$top/scripts/build/kernels.sh" fetch "${rels[@]}"
	# Debian 13's kernels are built inside a Debian 13 root.
	for r in "${rels[@]}"; do
		s=$(bash "$top/scripts/build/buildroot.sh" needs "$r")
		[ -z "$s" ] || bash "$top/scripts/build/buildroot.sh" create "$s"
	done
	for r in "${rels[@]}"; do echo "deps: kernel $r ready in .cache/k/$r"; done ;;
esac
