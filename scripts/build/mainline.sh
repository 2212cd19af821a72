#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# mainline.sh [--release] [SERIES|newest]   (default SERIES: 7.2)
#
# Fetch the newest Debian unstable (sid) kernel of SERIES ("newest": of any
# series) for amd64 and unpack it into .cache/k/<release> in the layout
# scripts/build/deps.sh produces (--release: only print that release),
# so that `make KROOT=.cache/k/<release>` builds smbvn for it and vm.sh and
# mkinitramfs.sh can boot it.
#
# sid is never added to the host's apt sources: that could upgrade this
# (Debian 12) host.  The .debs come straight from the pool of the archive
# apt is configured with (scripts/build/kernels.sh uri), found through sid's
# Packages indices and checked against their SHA256.
#
# sid's kernel is made with a newer toolchain than Debian 12 has, so two
# things are rebuilt here rather than used as shipped:
#  - the kbuild host programs (modpost, objtool, resolve_btfids, ...) need
#    a newer glibc; they are rebuilt from the matching linux-source;
#  - the compiler: the config records gcc-N's capabilities (CONFIG_CC_HAS_*,
#    CONFIG_GCC_VERSION, ...) and the headers call gcc-N.  The module is
#    built with the host's gcc instead, and the toolchain-derived symbols are
#    re-derived by running Kconfig with that gcc over Debian's config.  Only
#    those symbols are taken over; every other option stays as Debian built
#    the kernel, so the module keeps the kernel's ABI.  Each change is
#    printed and the shipped files are kept as *.debian.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cache=$top/.cache
print_only=
if [ "${1:-}" = --release ]; then
	print_only=1
	shift
fi
series=${1:-7.2}
mirror=$(bash "$top/scripts/build/kernels.sh" uri)
idx=$cache/mainline
mkdir -p "$cache/deb" "$cache/k" "$idx"

die() { echo "mainline.sh: $*" >&2; exit 1; }
say() { echo "mainline: $*" >&2; }

for p in curl xz-utils python3 dpkg-dev flex bison bc libelf-dev libssl-dev \
	 gcc make kmod binutils; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		die "missing host package $p (scripts/build/deps.sh installs it)"
done

# sid's indices, refreshed once a day.
for a in amd64 all; do
	f=$idx/Packages-$a.xz
	if [ ! -f "$f" ] || [ -n "$(find "$f" -mmin +1440)" ]; then
		say "fetching sid Packages index ($a)"
		curl -fsS -o "$f.tmp" "$mirror/dists/sid/main/binary-$a/Packages.xz"
		mv "$f.tmp" "$f"
		rm -f "$idx/linux.Packages"
	fi
done
# Only the linux-* stanzas are of interest; keep them for the lookups below.
[ -f "$idx/linux.Packages" ] ||
	xz -dc "$idx"/Packages-amd64.xz "$idx"/Packages-all.xz |
	awk -v RS= -v ORS='\n\n' '/^Package: linux-/' >"$idx/linux.Packages"

# field PKG FIELD: FIELD of the highest version of PKG in sid, or nothing.
field() {
	python3 -c '
import sys, subprocess
want, fld = sys.argv[1], sys.argv[2]
best = None
for para in open(sys.argv[3]).read().split("\n\n"):
    f = {}
    for line in para.splitlines():
        if line[:1] not in (" ", "\t") and ": " in line:
            k, v = line.split(": ", 1)
            f[k] = v
    if f.get("Package") != want:
        continue
    if best is None or subprocess.run(["dpkg", "--compare-versions",
            f["Version"], "gt", best["Version"]]).returncode == 0:
        best = f
if best:
    print(best.get(fld, ""))
' "$1" "$2" "$idx/linux.Packages"
}

# The newest release of SERIES with a generic amd64 flavour.
if [ "$series" = newest ]; then
	pat='[0-9]*\.[0-9]*'
else
	pat=${series//./\\.}
fi
rel=$(sed -n "s/^Package: linux-headers-\($pat\.[0-9]*+deb[0-9]*-amd64\)$/\1/p" \
	"$idx/linux.Packages" | sort -uV | tail -1)
[ -n "$rel" ] || die "no linux-headers-$series.*-amd64 in sid"
series=$(echo "$rel" | cut -d. -f1-2)
if [ -n "$print_only" ]; then
	echo "$rel"
	exit 0
fi
dir=$cache/k/$rel
if [ -f "$dir/.done" ]; then
	echo "mainline: kernel $rel ready in .cache/k/$rel"
	exit 0
fi

# Names in a Depends line that belong to this release (its -common,
# linux-kbuild, and the pieces a split linux-image is made of).
deps_of() {
	field "$1" Depends | sed 's/[,|]/\n/g' | sed 's/^ *//; s/ .*//' |
		grep -F "${rel%-amd64}" || true
}

# linux-image-REL used to hold everything; since 7.x it is an empty package
# over linux-base-, linux-binary- and linux-modules-REL.  The unsigned
# binary is preferred, as deps.sh does: the kernel only runs under qemu.
img=linux-image-$rel
[ -n "$(field "$img-unsigned" Filename)" ] && img=$img-unsigned
pkgs=("$img" "linux-headers-$rel")
for d in $(deps_of "$img") $(deps_of "linux-headers-$rel"); do
	case $d in
	linux-binary-"$rel")
		[ -n "$(field "linux-binary-unsigned-$rel" Filename)" ] &&
			d=linux-binary-unsigned-$rel ;;
	esac
	printf '%s\n' "${pkgs[@]}" | grep -qxF "$d" || pkgs+=("$d")
done
src=linux-source-$series
# Host tools and Kconfig must come from the very source the kernel was
# built from.
[ "$(field "$src" Version)" = "$(field "linux-headers-$rel" Version)" ] ||
	die "$src in sid is not the version of linux-headers-$rel"
say "kernel $rel: ${pkgs[*]} $src"

# fetch PKG: download PKG's .deb into .cache/deb, check it, print its path.
fetch() {
	local fn sum out
	fn=$(field "$1" Filename)
	sum=$(field "$1" SHA256)
	[ -n "$fn" ] || die "package $1 not in sid"
	out=$cache/deb/${fn##*/}
	if ! echo "$sum  $out" | sha256sum -c --status 2>/dev/null; then
		say "downloading ${fn##*/}"
		curl -fsS -o "$out.tmp" "$mirror/$fn"
		echo "$sum  $out.tmp" | sha256sum -c --status ||
			die "${fn##*/}: SHA256 mismatch"
		mv "$out.tmp" "$out"
	fi
	echo "$out"
}

rm -rf "$dir"
mkdir -p "$dir"
for p in "${pkgs[@]}"; do
	dpkg-deb -x "$(fetch "$p")" "$dir"
done
mods=$dir/usr/lib/modules/$rel
[ -d "$mods" ] || mods=$dir/lib/modules/$rel
[ -d "$mods/kernel" ] || die "no modules in the unpacked packages"
# Merged /usr: the packages install under usr/lib; the tools of this tree
# look in lib/ and boot/ as on Debian 12, so provide both, as a merged-/usr
# system does.
[ -e "$dir/lib" ] || ln -s usr/lib "$dir/lib"
mkdir -p "$dir/boot"
if [ ! -e "$dir/boot/vmlinuz-$rel" ]; then
	vmlinuz=$(find "$mods" -maxdepth 1 -name 'vmlinuz*' | head -1)
	[ -n "$vmlinuz" ] || die "no vmlinuz in the unpacked packages"
	ln -s "../${vmlinuz#"$dir"/}" "$dir/boot/vmlinuz-$rel"
fi

hdr=$dir/usr/src/linux-headers-$rel
# The headers Makefile names its -common twin (and its own directory) by
# absolute path.
cp "$hdr/Makefile" "$hdr/Makefile.debian"
sed -i "s|/usr/src/linux-headers-|$dir/usr/src/linux-headers-|g" "$hdr/Makefile"

# The compiler the headers ask for, and the host's newest gcc.
kcc=$(sed -n 's/^CC = .*\(gcc-[0-9]*\)$/\1/p' "$hdr/.kernelvariables")
hcc=$(find /usr/bin -maxdepth 1 -name 'x86_64-linux-gnu-gcc-[0-9]*' \
	-printf '%f\n' | sed 's/.*gcc-//' | sort -n | tail -1)
[ -n "$hcc" ] || die "no x86_64-linux-gnu-gcc-N on the host"
hcc=gcc-$hcc

# Host programs in the kbuild tree that this glibc cannot run.
glibc=$(getconf GNU_LIBC_VERSION | awk '{print $2}')
kbuild=$(readlink -f "$hdr/scripts/..")
stale=()
while IFS= read -r -d '' f; do
	head -c4 "$f" | grep -q ELF || continue
	need=$(objdump -T "$f" 2>/dev/null | grep -o 'GLIBC_[0-9.]*' |
		sed 's/GLIBC_//' | sort -uV | tail -1)
	[ -n "$need" ] || continue
	[ "$(printf '%s\n%s\n' "$need" "$glibc" | sort -V | tail -1)" = "$glibc" ] ||
		stale+=("${f#"$kbuild"/}")
done < <(find "$kbuild" -type f -perm -u+x -print0)

if [ "$kcc" != "$hcc" ] || [ ${#stale[@]} -gt 0 ]; then
	# Both fixes need the kernel's own source at the same version.
	s=$cache/mainline/src-$rel
	if [ ! -f "$s/.prepared" ]; then
		say "unpacking $src for the host tools and Kconfig"
		rm -rf "$s"
		mkdir -p "$s"
		dpkg-deb --fsys-tarfile "$(fetch "$src")" |
			tar -xO --wildcards '*.tar.xz' |
			tar -xJ -C "$s" --strip-components=1
		cp "$mods/config" "$s/.config"
		say "configuring with x86_64-linux-gnu-$hcc and building host tools"
		nice -n 10 make -s -C "$s" ARCH=x86 CC="x86_64-linux-gnu-$hcc" \
			-j"$(nproc)" olddefconfig modules_prepare
		touch "$s/.prepared"
	fi
fi

# Replace each host program this glibc cannot run with the one built from
# source.  Debian splits modpost and objtool per target; only the x86-64
# one is needed here, the others are left as they are.
for f in "${stale[@]}"; do
	case $f in
	scripts/mod/modpost.real-lsb-64) new=scripts/mod/modpost ;;
	tools/objtool/objtool.real-x86) new=tools/objtool/objtool ;;
	*.real-*) continue ;;
	*) new=$f ;;
	esac
	if [ -x "$s/$new" ]; then
		mv "$kbuild/$f" "$kbuild/$f.debian"
		install -m 755 "$s/$new" "$kbuild/$f"
		say "host tool $f rebuilt from $src (needs glibc > $glibc)"
	else
		say "host tool $f needs a newer glibc and is not rebuilt (module builds do not use it)"
	fi
done

if [ "$kcc" != "$hcc" ]; then
	say "kernel built with $kcc, host has $hcc: re-deriving toolchain symbols"
	sed -i.debian "s/^\(CC = .*\)$kcc$/\1$hcc/" "$hdr/.kernelvariables"
	# Toolchain-derived symbols: compiler, assembler, linker and pahole
	# versions and capabilities.  Kconfig computes them, nobody picks them.
	python3 - "$mods/config" "$s/.config" "$hdr" <<'EOF'
import re, shutil, sys
deb_cfg, host_cfg, hdr = sys.argv[1:]
TOOLCHAIN = re.compile(r"CONFIG_(CC_|GCC_|AS_|LD_|PAHOLE_)")


def load(path):
    d = {}
    for line in open(path):
        m = re.match(r"(CONFIG_\w+)=(.*)", line)
        if m:
            d[m.group(1)] = m.group(2)
    return d


deb, host = load(deb_cfg), load(host_cfg)
change = {k: host.get(k) for k in set(deb) | set(host)
          if TOOLCHAIN.match(k) and deb.get(k) != host.get(k)}
other = sorted(k for k in set(deb) | set(host)
               if not TOOLCHAIN.match(k) and deb.get(k) != host.get(k))
for k in sorted(change):
    print("mainline:   %s: %s -> %s" % (k, deb.get(k, "unset"),
                                      change[k] or "unset"), file=sys.stderr)
if other:
    print("mainline:   kept as Debian built them (not toolchain-derived): "
          + " ".join(other), file=sys.stderr)


def header_value(v):
    if v == "y":
        return "1"
    if v == "m":
        return None
    return v


def rewrite(path, fmt, parse):
    shutil.copy(path, path + ".debian")
    out, seen = [], set()
    for line in open(path):
        k = parse(line)
        if k in change:
            seen.add(k)
            line = fmt(k, change[k])
            if line is None:
                continue
        out.append(line)
    for k in sorted(set(change) - seen):
        line = fmt(k, change[k])
        if line is not None:
            out.append(line)
    with open(path, "w") as f:
        f.writelines(out)


def conf_key(line):
    m = re.match(r"(CONFIG_\w+)=", line)
    return m.group(1) if m else None


def conf_line(k, v):
    return None if v is None else "%s=%s\n" % (k, v)


def auto_conf_line(k, v):
    """auto.conf is included by make: its strings carry no quotes."""
    if v is not None and v.startswith('"'):
        v = v[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return conf_line(k, v)


def hdr_key(line):
    m = re.match(r"#define (CONFIG_\w+) ", line)
    return m.group(1) if m else None


def hdr_line(k, v):
    v = None if v is None else header_value(v)
    return None if v is None else "#define %s %s\n" % (k, v)


rewrite(hdr + "/.config", conf_line, conf_key)
rewrite(hdr + "/include/config/auto.conf", auto_conf_line, conf_key)
rewrite(hdr + "/include/generated/autoconf.h", hdr_line, hdr_key)
EOF
fi

depmod -b "$dir" "$rel"
touch "$dir/.done"
echo "mainline: kernel $rel ready in .cache/k/$rel"
