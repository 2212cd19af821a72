#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Run smbvn's KUnit suites with kunit.py under UML.
#
#   scripts/tests/kunit.sh [extra kunit.py run arguments, e.g. 'smbvn_judge*']
#   scripts/tests/kunit.sh --module
#
# Default: kunit.py run, the suites built into a UML kernel.
# The suites live out of tree, so they are copied into a Debian
# linux-source-6.12 tree (lib/smbvn_kunit/, plus one Kconfig "source" and
# one Makefile line) that is extracted once into .cache/kunit/ and built
# incrementally there.  Sources are re-copied on every run, but only files
# whose content changed are touched, so a rerun rebuilds only what an edit
# affected.  The last line is always "KUNIT: N passed, M failed".
#
# --module proves the module form instead: a UML kernel with CONFIG_KUNIT=m
# and CONFIG_MODULES=y (.cache/kunit/build-um-mod), smbvn_kunit.ko built
# against it out of tree ("make kunit-ko", i.e. M=), then booted with a
# hostfs root whose init insmods kunit.ko and smbvn_kunit.ko; kunit.py
# parse reads the KTAP the module prints.
#
# Environment: SMBVN_KUNIT_CACHE (cache dir), JOBS (make -j), KUNIT_TIMEOUT.

set -uo pipefail

TOP=$(cd "$(dirname "$0")/../.." && pwd)
SRCPKG=linux-source-6.12
CACHE=${SMBVN_KUNIT_CACHE:-$TOP/.cache/kunit}
# kunit.py runs from inside the tree: a relative cache path would move.
case $CACHE in /*) ;; *) CACHE=$PWD/$CACHE ;; esac
DEBDIR=$TOP/.cache/src
TREE=$CACHE/$SRCPKG
BUILD=$CACHE/build-um
LOG=$CACHE/last-run.log
MODBUILD=$CACHE/build-um-mod
MODKO=$CACHE/ko-um
MODROOT=$CACHE/um-root
JOBS=${JOBS:-$(nproc)}
DEST=lib/smbvn_kunit

# The summary line the lead's test runner sums: keep it the last output
# on every path, including early failures (counted as one failure).
summary() {
	echo "KUNIT: $1 passed, $2 failed"
}

die() {
	echo "kunit.sh: $*" >&2
	summary 0 1
	exit 1
}

need_tools() {
	local missing=() t
	for t in gcc:gcc make:make flex:flex bison:bison bc:bc \
		 python3:python3 xz:xz-utils dpkg-deb:dpkg; do
		command -v "${t%%:*}" >/dev/null || missing+=("${t#*:}")
	done
	# UML links against libc; the headers come with libc6-dev.
	[ -e /usr/include/stdio.h ] || missing+=(libc6-dev)
	[ ${#missing[@]} -eq 0 ] && return 0
	echo "kunit.sh: installing ${missing[*]}"
	if [ "$(id -u)" -ne 0 ]; then
		die "missing ${missing[*]} and not root; install them first"
	fi
	apt_locked apt-get install -y "${missing[@]}" >/dev/null ||
		{ apt_locked apt-get update >/dev/null &&
		  apt_locked apt-get install -y "${missing[@]}" >/dev/null; } ||
		die "apt-get install ${missing[*]} failed"
}

# apt_locked CMD...: CMD waits for the other suites' apt calls (the test
# command runs suites side by side; dpkg's own lock fails instead).
apt_locked() {
	bash "$TOP/scripts/build/apt-need.sh" locked "$@"
}

find_deb() {
	ls "$DEBDIR"/${SRCPKG}_*_all.deb 2>/dev/null | sort -V | tail -n 1
}

# Sets DEB; runs in the main shell so that die() really exits.
fetch_deb() {
	DEB=$(find_deb)
	if [ -z "$DEB" ]; then
		mkdir -p "$DEBDIR"
		echo "kunit.sh: downloading $SRCPKG" >&2
		(cd "$DEBDIR" && apt_locked apt-get download "$SRCPKG" >/dev/null 2>&1) ||
		(apt_locked apt-get update >/dev/null 2>&1 &&
		 cd "$DEBDIR" && apt_locked apt-get download "$SRCPKG" >/dev/null) ||
			die "apt-get download $SRCPKG failed"
		DEB=$(find_deb)
		[ -n "$DEB" ] || die "no $SRCPKG .deb after download"
	fi
}

# Extract once per source package version; a stamp names the .deb so a
# newer package replaces the tree (and the now stale build).
extract_tree() {
	local deb=$1 stamp=$TREE/.smbvn-extracted
	if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$(basename "$deb")" ]; then
		return 0
	fi
	echo "kunit.sh: extracting $(basename "$deb")" >&2
	rm -rf "$TREE" "$BUILD"
	mkdir -p "$CACHE"
	dpkg-deb --fsys-tarfile "$deb" |
		tar -xO "./usr/src/$SRCPKG.tar.xz" |
		tar -xJ -C "$CACHE" || die "extracting $deb failed"
	[ -f "$TREE/tools/testing/kunit/kunit.py" ] ||
		die "$TREE has no tools/testing/kunit/kunit.py"
	basename "$deb" > "$stamp"
}

# The module's files the suites link with.
UNDER_TEST=(proto.c judge.c sign.c validate.c conns.c exchange.c stats.c params.c gate.c channel.c trees.c pool.c answer.c drop_channels.c)

# The glue suite lays out fake cifs objects at the offsets of Debian's
# newest 6.12 cifs.ko (scripts/build/deps.sh unpacks it).  Written only when it
# changed, like the copies below.
layout() {
	local rel dir tmp=$CACHE/smbvn_layout.h
	rel=$(bash "$TOP/scripts/build/deps.sh" releases | awk '{print $1}')
	dir=$TOP/.cache/k/$rel
	[ -f "$dir/.done" ] || bash "$TOP/scripts/build/deps.sh" >/dev/null ||
		die "scripts/build/deps.sh failed"
	python3 "$TOP/scripts/build/btf-layout.py" \
		--base "$dir/usr/src/linux-headers-$rel/vmlinux" \
		--module "$(ls "$dir/lib/modules/$rel/kernel/fs/smb/client/"cifs.ko*)" \
		--out "$tmp" || die "btf-layout.py failed for $rel"
	sync_file "$tmp" "$1"
}

# cp only when the content differs, so make sees no change otherwise.
sync_file() {
	cmp -s "$1" "$2" || cp "$1" "$2"
}

wire_suites() {
	local d=$TREE/$DEST f keep=()
	mkdir -p "$d"
	layout "$d/smbvn_layout.h"
	keep+=(smbvn_layout.h)
	for f in "$TOP"/kunit/*.c "$TOP"/kunit/*.h "$TOP"/kunit/Kconfig \
		 "$TOP"/kunit/Kbuild "${UNDER_TEST[@]/#/$TOP/smbvn/}" \
		 "$TOP"/include/*.h; do
		[ -f "$f" ] || die "missing $f"
		sync_file "$f" "$d/$(basename "$f")"
		keep+=("$(basename "$f")")
	done
	# Drop files that no longer exist upstream (renamed tests etc.).
	for f in "$d"/*; do
		case " ${keep[*]} " in
		*" $(basename "$f") "*) ;;
		*) rm -f "$f" ;;
		esac
	done
	grep -q 'smbvn_kunit/Kconfig' "$TREE/lib/Kconfig.debug" ||
		printf '\nsource "%s/Kconfig"\n' "$DEST" >> "$TREE/lib/Kconfig.debug"
	grep -q 'smbvn_kunit/' "$TREE/lib/Makefile" ||
		printf '\nobj-$(CONFIG_SMBVN_KUNIT_TEST) += smbvn_kunit/\n' \
			>> "$TREE/lib/Makefile"
}

run_kunit() {
	local rc
	mkdir -p "$BUILD"
	cd "$TREE" || die "cd $TREE"
	python3 tools/testing/kunit/kunit.py run \
		--kunitconfig "$TOP/kunit/.kunitconfig" \
		--build_dir "$BUILD" --jobs "$JOBS" \
		--timeout "${KUNIT_TIMEOUT:-600}" "$@" 2>&1 | tee "$LOG"
	rc=${PIPESTATUS[0]}
	return "$rc"
}

# The smallest UML that loads modules and runs a busybox init from hostfs;
# everything not named keeps its Kconfig default (as kunit.py does).
module_config() {
	cat <<'EOF'
CONFIG_MODULES=y
CONFIG_MODULE_UNLOAD=y
CONFIG_KUNIT=m
CONFIG_KUNIT_DEFAULT_ENABLED=y
CONFIG_HOSTFS=y
CONFIG_BINFMT_ELF=y
CONFIG_BINFMT_SCRIPT=y
CONFIG_PROC_FS=y
CONFIG_SYSFS=y
CONFIG_CRYPTO=y
CONFIG_CRYPTO_HMAC=y
CONFIG_CRYPTO_SHA256=y
CONFIG_CRYPTO_CMAC=y
CONFIG_CRYPTO_AES=y
EOF
}

run_module() {
	local frag=$MODBUILD/smbvn.config rc busybox
	busybox=$(command -v busybox || true)
	if [ -z "$busybox" ] ||
	   ! file -L "$busybox" | grep -q 'statically linked'; then
		apt_locked apt-get install -y busybox-static >/dev/null ||
			die "need a static busybox (busybox-static)"
		busybox=/bin/busybox
	fi
	mkdir -p "$MODBUILD"
	# Reconfigure only when the fragment changed, to keep rebuilds small.
	if ! module_config | cmp -s - "$frag" || [ ! -f "$MODBUILD/.config" ]; then
		module_config > "$frag"
		cp "$frag" "$MODBUILD/.config"
		make -C "$TREE" ARCH=um O="$MODBUILD" olddefconfig >/dev/null ||
			die "olddefconfig for the module kernel failed"
		grep -q '^CONFIG_KUNIT=m' "$MODBUILD/.config" ||
			die "CONFIG_KUNIT=m did not stick"
	fi
	make -C "$TREE" ARCH=um O="$MODBUILD" -j"$JOBS" all \
		>"$CACHE/build-um-mod.log" 2>&1 || {
		tail -n 30 "$CACHE/build-um-mod.log" >&2
		die "UML module kernel build failed"
	}
	make -f "$TOP/kunit/kunit.mk" kunit-ko KUNIT_KDIR="$MODBUILD" \
		KUNIT_KO_ARGS=ARCH=um KUNIT_KO_DIR="$MODKO" ||
		die "building smbvn_kunit.ko against $MODBUILD failed"

	rm -rf "$MODROOT"
	mkdir -p "$MODROOT"/{bin,proc,sys,dev,tmp}
	cp "$busybox" "$MODROOT/bin/busybox"
	cp "$MODBUILD/lib/kunit/kunit.ko" "$MODKO/smbvn_kunit.ko" "$MODROOT/"
	cat > "$MODROOT/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
/bin/busybox insmod /kunit.ko || echo "insmod kunit.ko failed"
/bin/busybox insmod /smbvn_kunit.ko || echo "insmod smbvn_kunit.ko failed"
/bin/busybox poweroff -f
EOF
	chmod +x "$MODROOT/init"
	timeout -k 10 "${KUNIT_TIMEOUT:-600}" "$MODBUILD/linux" mem=256M \
		root=/dev/root rootfstype=hostfs rootflags="$MODROOT" rw \
		init=/init console=tty </dev/null \
		>"$CACHE/um-module.ktap" 2>&1
	rc=$?
	grep -q 'insmod .* failed' "$CACHE/um-module.ktap" && rc=1
	python3 "$TREE/tools/testing/kunit/kunit.py" parse \
		"$CACHE/um-module.ktap" 2>&1 | tee "$LOG"
	return "$rc"
}

# "Testing complete. Ran 97 tests: passed: 95, failed: 1, crashed: 1"
report() {
	local rc=$1 line passed failed k n
	line=$(sed 's/\x1b\[[0-9;]*m//g' "$LOG" | grep 'Testing complete\.' |
	       tail -n 1)
	if [ -z "$line" ]; then
		echo "kunit.sh: kunit.py produced no test summary (rc=$rc)" >&2
		summary 0 1
		return 1
	fi
	passed=$(grep -o 'passed: [0-9]*' <<<"$line" | grep -o '[0-9]*$')
	failed=0
	for k in failed crashed errors; do
		n=$(grep -o "$k: [0-9]*" <<<"$line" | grep -o '[0-9]*$')
		failed=$((failed + ${n:-0}))
	done
	passed=${passed:-0}
	# kunit.py failed although every test passed (e.g. missing suites):
	# still a failure for the runner.
	if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
		failed=1
	fi
	summary "$passed" "$failed"
	[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
}

main() {
	local start=$SECONDS rc
	need_tools
	fetch_deb
	extract_tree "$DEB"
	wire_suites
	if [ "${1:-}" = --module ]; then
		run_module
	else
		run_kunit "$@"
	fi
	rc=$?
	echo "kunit.sh: $((SECONDS - start)) s"
	report "$rc"
}

main "$@"
