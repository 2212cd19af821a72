#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Install the host packages the test suite needs and unpack the two Debian
# kernels (image, headers, headers-common, kbuild) into .cache/k/<release>.
# Nothing is installed into /boot or /lib/modules: the kernels only ever run
# inside qemu, so a private unpacked tree is enough and keeps the host clean.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cache=$top/.cache
mkdir -p "$cache/deb" "$cache/k"

pkgs=(qemu-system-x86 samba smbclient cifs-utils busybox-static dwarves python3
      python3-cryptography cpio kmod xz-utils zstd binutils gcc make bc
      flex bison libelf-dev libssl-dev bzip2 lz4 lzop bpftool)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "deps: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# smbd must not be left running as a system service on the default port:
# the tests start their own instances on high ports.
systemctl stop smbd nmbd samba-ad-dc 2>/dev/null || true

# The 6.12 kernel is the highest linux-image-6.12.*+deb12-amd64-unsigned;
# the 6.1 kernel is the one linux-image-amd64 depends on.
newest_612() {
	apt-cache search --names-only '^linux-image-6\.12\.[0-9]+\+deb12-amd64-unsigned$' |
		awk '{print $1}' | sed 's/^linux-image-//; s/-unsigned$//' |
		sort -V | tail -1
}
debian_61() {
	apt-cache depends linux-image-amd64 2>/dev/null |
		awk '/Depends: linux-image-6\.1/ {print $2}' |
		sed 's/^linux-image-//; s/-unsigned$//' | head -1
}

unpack_kernel() {
	local rel=$1 common kbuild dir
	dir=$cache/k/$rel
	[ -f "$dir/.done" ] && { echo "$dir"; return; }
	common=${rel%-amd64}-common
	case $rel in
	6.1.*) kbuild=linux-kbuild-6.1 ;;
	*) kbuild=linux-kbuild-${rel%-amd64} ;;
	esac
	local img=linux-image-$rel
	apt-cache show "$img-unsigned" >/dev/null 2>&1 && img=$img-unsigned
	(cd "$cache/deb" && apt-get download -qq "$img" "linux-headers-$rel" \
		"linux-headers-$common" "$kbuild" >&2)
	rm -rf "$dir"; mkdir -p "$dir"
	for f in "$cache"/deb/{"$img","linux-headers-$rel","linux-headers-$common","$kbuild"}_*.deb; do
		dpkg-deb -x "$f" "$dir"
	done
	# The headers Makefile includes its -common twin by absolute path.
	sed -i "s|/usr/src/linux-headers-$common|$dir/usr/src/linux-headers-$common|" \
		"$dir/usr/src/linux-headers-$rel/Makefile"
	depmod -b "$dir" "$rel"
	touch "$dir/.done"
	echo "$dir"
}

case ${1:-all} in
releases) echo "$(newest_612) $(debian_61)" ;;
*)
	for r in $(newest_612) $(debian_61); do
		unpack_kernel "$r" >/dev/null
		echo "deps: kernel $r ready in .cache/k/$r"
	done ;;
esac
