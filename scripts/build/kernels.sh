#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# kernels.sh uri [security]   the Debian archive URI apt is configured with
# kernels.sh generic          Debian 12 6.1 and 6.12, Debian 13 6.12, generic
# kernels.sh matrix           the releases of the kernel matrix, one a line
# kernels.sh fetch REL...     unpack those releases into .cache/k/<release>
# kernels.sh suite REL        the Debian suite a release comes from
# kernels.sh selftest         check the sources parsing against fixtures
#
# Every Debian kernel a user runs: Debian 12 (the host's suite) 6.1 and
# 6.12, Debian 13 6.12, each as generic, cloud and rt flavour, and the
# newest generic kernel of sid (scripts/build/mainline.sh).
#
# The archive location is never written here: it is read from apt's
# configured sources (one-line sources.list and deb822 *.sources), as the
# entry that carries the host's own suite.  Suites the host does not use
# (trixie on a bookworm host) are read through a private apt configuration
# under .cache/apt/<suite>: same URI, the other suite, verified against
# debian-archive-keyring; the host's apt state is never touched, so no
# package of the host can be upgraded by it.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cache=$top/.cache
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
# Overridable for the selftest only.
apt_etc=${KERNELS_APT_ETC:-/etc/apt}
os_release=${KERNELS_OS_RELEASE:-/etc/os-release}

die() { echo "kernels.sh: $*" >&2; exit 1; }
say() { echo "kernels: $*" >&2; }

host_suite() {
	local c
	c=$(sed -n 's/^VERSION_CODENAME=//p' "$os_release" | tr -d '"')
	[ -n "$c" ] || die "no VERSION_CODENAME in $os_release"
	echo "$c"
}

# "URI SUITE" for every deb entry of apt's sources, both formats.  Files
# apt itself ignores (other extensions) are ignored too.
apt_entries() {
	local f files=()
	[ -f "$apt_etc/sources.list" ] && files+=("$apt_etc/sources.list")
	for f in "$apt_etc"/sources.list.d/*.list "$apt_etc"/sources.list.d/*.sources; do
		[ -f "$f" ] && files+=("$f")
	done
	for f in "${files[@]}"; do
		case $f in
		*.sources)
			# deb822: stanzas split by blank lines; fields may be folded.
			awk -v RS= '{
				gsub(/\n[ \t]+/, " ")
				n = split($0, l, "\n"); t = ""; u = ""; s = ""; on = 1
				for (i = 1; i <= n; i++) {
					if (l[i] ~ /^#/) continue
					k = tolower(l[i]); sub(/:.*/, "", k)
					v = l[i]; sub(/^[^:]*:[ \t]*/, "", v)
					if (k == "types") t = v
					else if (k == "uris") u = v
					else if (k == "suites") s = v
					else if (k == "enabled" && tolower(v) == "no") on = 0
				}
				if (!on || (" " t " ") !~ / deb /) next
				nu = split(u, us, /[ \t]+/); ns = split(s, ss, /[ \t]+/)
				for (i = 1; i <= nu; i++)
					for (j = 1; j <= ns; j++)
						if (us[i] != "" && ss[j] != "") print us[i], ss[j]
			}' "$f" ;;
		*)
			# One-line: deb [options] URI SUITE COMPONENT...
			sed -e 's/#.*//' -e 's/\[[^]]*\]//' "$f" |
				awk '$1 == "deb" && NF >= 3 { print $2, $3 }' ;;
		esac
	done
}

# The archive URI: the entry for the host's suite, or for its -security
# suite with "security".  A trailing slash is dropped.
archive_uri() {
	local want uri
	want=$(host_suite)${1:+-$1}
	uri=$(apt_entries | awk -v s="$want" '$2 == s { print $1; exit }')
	[ -n "$uri" ] || die "no apt source for suite $want in $apt_etc"
	echo "${uri%/}"
}

# apt_in SUITE CMD ARGS...: run apt-get/apt-cache against SUITE only, with
# its own lists, cache and (empty) dpkg status under .cache/apt/SUITE.
apt_in() {
	local suite=$1 cmd=$2 d=$cache/apt/$1
	shift 2
	mkdir -p "$d/empty"
	"$cmd" -o Dir::Etc::sourcelist="$d/sources.list" \
		-o Dir::Etc::sourceparts="$d/empty" \
		-o Dir::Etc::preferences="$d/empty/none" \
		-o Dir::Etc::preferencesparts="$d/empty" \
		-o Dir::State="$d/state" -o Dir::State::status="$d/state/status" \
		-o Dir::Cache="$d/cache" -o APT::Architecture=amd64 \
		-o APT::Architectures::=amd64 -o Debug::NoLocking=1 "$@"
}

# Write SUITE's private sources and refresh its lists once a day.  A
# stable suite also gets its -security and -updates suites, which carry
# the point kernels between point releases.
apt_private() {
	local suite=$1 d=$cache/apt/$1 main sec line
	mkdir -p "$d/state/lists/partial" "$d/cache/archives/partial"
	[ -f "$d/state/status" ] || : >"$d/state/status"
	main=$(archive_uri)
	line="deb [signed-by=$keyring] $main $suite main"
	case $suite in
	sid | unstable) ;;
	*)
		sec=$(archive_uri security)
		line+=$'\n'"deb [signed-by=$keyring] $main $suite-updates main"
		line+=$'\n'"deb [signed-by=$keyring] $sec $suite-security main" ;;
	esac
	if [ ! -f "$d/sources.list" ] || [ "$(cat "$d/sources.list")" != "$line" ]; then
		echo "$line" >"$d/sources.list"
		rm -f "$d/.updated"
	fi
	if [ ! -f "$d/.updated" ] || [ -n "$(find "$d/.updated" -mmin +1440)" ]; then
		say "refreshing the package lists of $suite"
		apt_in "$suite" apt-get update -qq >&2
		touch "$d/.updated"
	fi
}

# apt SUITE CMD ARGS...: the host's apt for the host's suite, else the
# private one.
apt_for() {
	local suite=$1
	shift
	if [ "$suite" = "$(host_suite)" ]; then
		"$@"
	else
		apt_private "$suite"
		apt_in "$suite" "$@"
	fi
}

# Debian 13 is trixie; its kernels carry +deb13 in the release.
suite_of() {
	case $1 in
	*+deb13-*) echo trixie ;;
	*+deb12-* | 6.1.*) echo bookworm ;;
	*) echo sid ;;
	esac
}

# newest SUITE REGEX: the highest release whose linux-headers-REL matches.
newest() {
	apt_for "$1" apt-cache search --names-only "^linux-headers-$2\$" |
		awk '{print $1}' | sed 's/^linux-headers-//' | sort -V | tail -1
}

# The generic releases of the matrix, flavours derived from them.
generic_releases() {
	local r
	# Debian 12's 6.1 is the one linux-image-amd64 depends on.
	r=$(apt_for bookworm apt-cache depends linux-image-amd64 2>/dev/null |
		awk '/Depends: linux-image-6\.1/ {print $2; exit}' |
		sed 's/^linux-image-//; s/-unsigned$//')
	[ -n "$r" ] || die "no Debian 12 6.1 kernel"
	echo "$r"
	r=$(newest bookworm '6\.12\.[0-9]+\+deb12-amd64')
	[ -n "$r" ] || die "no Debian 12 6.12 kernel"
	echo "$r"
	r=$(newest trixie '6\.12\.[0-9]+\+deb13-amd64')
	[ -n "$r" ] || die "no Debian 13 6.12 kernel"
	echo "$r"
}

matrix() {
	local r f
	for r in $(generic_releases); do
		for f in "" cloud- rt-; do echo "${r%amd64}${f}amd64"; done
	done
	# sid's newest generic: its own fetcher (newer toolchain than any root).
	[ -n "${MATRIX_NO_SID:-}" ] || sid_release
}

sid_release() {
	bash "$top/scripts/build/mainline.sh" --release newest
}

# The packages that make up REL's image and headers: the image (unsigned
# when there is one: the kernel only runs under qemu), its headers and
# whatever of the same version those depend on (-common, -common-rt,
# linux-kbuild-*).
packages_of() {
	local rel=$1 suite img p d ver
	suite=$(suite_of "$rel")
	img=linux-image-$rel
	apt_for "$suite" apt-cache show "$img-unsigned" >/dev/null 2>&1 && img=$img-unsigned
	ver=${rel%%-*}
	echo "$img"
	echo "linux-headers-$rel"
	for p in "$img" "linux-headers-$rel"; do
		apt_for "$suite" apt-cache depends "$p" 2>/dev/null |
			awk '$1 == "Depends:" {print $2}' |
			{ grep -E '^linux-(headers|kbuild)-' || true; } |
			while read -r d; do
				case $d in
				*"$ver"*) echo "$d" ;;
				linux-kbuild-*) echo "$d" ;;
				esac
			done
	done
}

unpack() {
	local rel=$1 suite dir tmp dl p pkgs f
	dir=$(readlink -f "$cache/k")/$rel
	[ -f "$dir/.done" ] && return 0
	case $(suite_of "$rel") in
	sid) bash "$top/scripts/build/mainline.sh" newest >&2; return ;;
	esac
	suite=$(suite_of "$rel")
	mapfile -t pkgs < <(packages_of "$rel" | awk '!seen[$0]++')
	[ ${#pkgs[@]} -ge 3 ] || die "$rel: packages not found in $suite"
	say "$rel from $suite: ${pkgs[*]}"
	mkdir -p "$cache/deb"
	# Download into a private directory, then move: another run may be
	# reading .cache/deb at the same time.
	dl=$(mktemp -d "$cache/deb/.dl.XXXXXX")
	chmod 755 "$dl"
	(cd "$dl" && apt_for "$suite" apt-get -o APT::Sandbox::User=root download -qq "${pkgs[@]}" >&2)
	for f in "$dl"/*.deb; do mv -f "$f" "$cache/deb/"; done
	rmdir "$dl"

	# Unpack beside the final directory and rename it into place, so a
	# half-unpacked tree never looks like a kernel.
	tmp=$dir.tmp.$$
	rm -rf "$tmp"
	mkdir -p "$tmp"
	for p in "${pkgs[@]}"; do
		f=$(find -H "$cache/deb" -maxdepth 1 -name "${p}_*.deb" | sort -V | tail -1)
		[ -n "$f" ] || die "$p: no .deb downloaded"
		dpkg-deb -x "$f" "$tmp"
	done
	# Debian 13 installs under /usr/lib only (merged /usr); the tools here
	# look in lib/ and boot/ too, as on a merged-/usr system.
	[ -e "$tmp/lib" ] || ln -s usr/lib "$tmp/lib"
	[ -f "$tmp/boot/vmlinuz-$rel" ] || die "$rel: no boot/vmlinuz-$rel"
	# The headers Makefile names its -common twin by absolute path.
	sed -i "s|/usr/src/linux-headers-|$dir/usr/src/linux-headers-|g" \
		"$tmp/usr/src/linux-headers-$rel/Makefile"
	depmod -b "$tmp" "$rel"
	rm -rf "$dir"
	mv "$tmp" "$dir"
	touch "$dir/.done"
}

# Both source formats, a disabled stanza, a foreign repository and
# comments, against what archive_uri must pick from them.
selftest() {
	local t fails=0 got
	t=$(mktemp -d)
	mkdir -p "$t/etc/sources.list.d"
	echo 'VERSION_CODENAME=bookworm' >"$t/os-release"
	cat >"$t/etc/sources.list.d/a.sources" <<'EOF'
Types: deb
URIs: http://other.example/x
Suites: nodistro
Components: main

Types: deb
# a comment inside the stanza
URIs: http://disabled.example/debian
Suites: bookworm
Enabled: no

Types: deb-src deb
URIs: http://first.example/debian/
 http://second.example/debian
Suites: bookworm-updates
  bookworm
Components: main
EOF
	cat >"$t/etc/sources.list.d/b.list" <<'EOF'
# deb http://commented.example/debian-security bookworm-security main
deb [signed-by=/k.gpg arch=amd64] http://sec.example/debian-security bookworm-security main
EOF
	echo 'deb http://disabled.example/file bookworm main' \
		>"$t/etc/sources.list.d/c.list.disabled"
	check() {	# check WANT [ARG]
		got=$(KERNELS_APT_ETC=$t/etc KERNELS_OS_RELEASE=$t/os-release \
			bash "$top/scripts/build/kernels.sh" uri ${2:+"$2"} 2>&1) || true
		if [ "$got" = "$1" ]; then
			echo "kernels selftest: ok: uri ${2:-} -> $got"
		else
			echo "kernels selftest: FAIL: uri ${2:-} -> '$got', want '$1'"
			fails=$((fails + 1))
		fi
	}
	check http://first.example/debian
	check http://sec.example/debian-security security
	echo 'VERSION_CODENAME=trixie' >"$t/os-release"
	check "kernels.sh: no apt source for suite trixie in $t/etc"
	rm -rf "$t"
	[ "$fails" = 0 ]
}

case ${1:-} in
uri) archive_uri "${2:-}" ;;
selftest) selftest ;;
generic) generic_releases ;;
matrix) matrix ;;
suite) suite_of "$2" ;;
fetch)
	shift
	for r in "$@"; do
		unpack "$r"
		say "kernel $r ready in .cache/k/$r"
	done ;;
*) echo "usage: $0 uri [security] | generic | matrix | suite REL | fetch REL... | selftest" >&2; exit 2 ;;
esac
