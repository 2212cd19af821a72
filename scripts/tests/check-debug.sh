#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# check-debug.sh [all|build|run]
#
# Build a debug kernel (KASAN, KFENCE, lockdep, DEBUG_ATOMIC_SLEEP, kmemleak)
# from Debian's linux-source-6.12 and run the VM suites on it, so that a
# use-after-free, a lock inversion, a sleep in atomic context or a leak in
# smbvn's paths fails the run instead of passing silently on a production
# kernel.  Not part of CI: the build takes most of an hour on 2 cores.
#
# CHECK_DEBUG_FLAVOUR=rt builds and runs the same kernel with PREEMPT_RT
# (scripts/build/debug-rt.config on top): there spinlock_t is a sleeping
# lock, so DEBUG_ATOMIC_SLEEP and lockdep's wait-context check report any
# spinlock_t taken where preemption is off.  Its tree is shared, its build
# directory and release (<rel>-smbvn-debug-rt) are its own.
#
#   build  configure (x86_64_defconfig + kvm_guest.config + scripts/build/debug.config
#          [+ scripts/build/debug-rt.config]),
#          build, install into .cache/k/<rel>/ like an unpacked Debian kernel
#   run    the VM suites on that kernel (E2E_KERNELS=<rel> scripts/tests/e2e.sh, and
#          scripts/tests/ksmbd-e2e.sh, scripts/tests/stress.sh when present;
#          scripts/tests/campaign.sh when CHECK_DEBUG_SUITES names campaign)
#   all    both (default)
#
# The tree lives in .cache/debug/ (never the KUnit tree).  The last line is
# always "CHECK-DEBUG: N passed, N failed".
#
# Environment: JOBS (make -j, default 2), CHECK_DEBUG_NICE (default 10),
# VM_MEM (guest MiB, default 2048 here: KASAN shadow, kmemleak and lockdep
# need more than the usual 1024), E2E_VM_TIMEOUT and KSMBD_VM_TIMEOUT (default
# 5400), STRESS_VM_TIMEOUT (8100): 3x the suites' own defaults, because TCG
# with every checker on is several times slower than the Debian kernels;
# STRESS_REDROP_DELAY (20 s, the stress proxy's drop after a validation) and
# CHURN_DELAY (2 s, the churn proxy's reset after a validation) with
# CHURN_BUDGET (2700 s for the churn case's reconnects), MOUNT_TIMEOUT
# (900 s for each of the mounts made side by side: 32 at once took 312 s).
# CHECK_DEBUG_SUITES picks suites (default "e2e ksmbd stress"; "campaign"
# runs the randomised campaign with its SEED and N; absent scripts are
# skipped).  CAMPAIGN_VM_TIMEOUT (default 900 s + 60 s per attempt: a
# mount there takes 13-19 s, not 1-2).  CHECK_DEBUG_RELEASE names the
# installed debug kernel; by default the one this tree built, else the only *-smbvn-debug
# release under .cache/k (which may be a symlink to a shared cache).
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"

SRCPKG=linux-source-6.12
TARBALL=/usr/src/$SRCPKG.tar.xz
cache=$top/.cache/debug
tree=$cache/$SRCPKG
flavour=${CHECK_DEBUG_FLAVOUR:-generic}
case $flavour in
generic) sfx= frags=("$top/scripts/build/debug.config") ;;
rt) sfx=-rt frags=("$top/scripts/build/debug.config" "$top/scripts/build/debug-rt.config") ;;
*) echo "check-debug.sh: CHECK_DEBUG_FLAVOUR is generic or rt, not '$flavour'" >&2; exit 2 ;;
esac
build=$cache/build$sfx
# The fragments merged into one, the last line for an option winning as in
# merge_config.sh, so that verify_config checks what was asked for.
frag=$cache/fragment$sfx.config
blog=$cache/build$sfx.log
jobs=${JOBS:-2}
nice_n=${CHECK_DEBUG_NICE:-10}
export VM_MEM=${VM_MEM:-2048}
export E2E_VM_TIMEOUT=${E2E_VM_TIMEOUT:-5400}
export KSMBD_VM_TIMEOUT=${KSMBD_VM_TIMEOUT:-5400}
export STRESS_VM_TIMEOUT=${STRESS_VM_TIMEOUT:-8100}
# A mount there takes seconds, not a fraction of one: the proxy's forced
# drop 2 s after a validation came before the mount's first write.  On
# the RT debug kernel 8 s was still too short (the mount returned 9.4 s
# after it started, its first write met the reconnect); with 20 s one
# write went through before the drop.
export STRESS_REDROP_DELAY=${STRESS_REDROP_DELAY:-20}
# The churn case's reset 0.5 s after each validation left the RT debug
# kernel too little time for a write between two reconnects (10 files in
# 213 reconnects, the rest EBADF): 2 s, 4x like the drop above.
export CHURN_DELAY=${CHURN_DELAY:-2}
export CHURN_BUDGET=${CHURN_BUDGET:-2700}
export MOUNT_TIMEOUT=${MOUNT_TIMEOUT:-900}
# The RT debug kernel wrote 7 files in the mcreconnect case's former 30 s
# and ran 3 tampered knob-loop mounts in 180 s: both cases now count, and
# these are only their upper bounds.
export IO_BUDGET=${IO_BUDGET:-600}
export KNOBS_BUDGET=${KNOBS_BUDGET:-1800}
# The campaign guest's echo_interval=2 gives smbvn's exchange 6 s and
# cifs' echoes 2 s, tight for a kernel several times slower: 5 s (15 s),
# with the bound and the guest's kill moved up to match.
export CAMPAIGN_ECHO_INTERVAL=${CAMPAIGN_ECHO_INTERVAL:-5}
export CAMPAIGN_BOUND=${CAMPAIGN_BOUND:-120}
export CAMPAIGN_KILL=${CAMPAIGN_KILL:-150}
export CAMPAIGN_VM_TIMEOUT=${CAMPAIGN_VM_TIMEOUT:-$((900 + ${N:-200} * 60))}
suites=${CHECK_DEBUG_SUITES:-e2e ksmbd stress}

passed=0 failed=0
summary() { echo "CHECK-DEBUG: $passed passed, $failed failed"; }
pass() { passed=$((passed + 1)); echo "PASS: $*"; }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }
die() { echo "check-debug.sh: $*" >&2; failed=$((failed + 1)); summary; exit 1; }

need_pkgs() {
	local p missing=()
	for p in gcc make bc flex bison libelf-dev libssl-dev dwarves cpio \
		xz-utils kmod python3; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
			grep -q 'ok installed' || missing+=("$p")
	done
	[ -f "$TARBALL" ] || missing+=("$SRCPKG")
	[ ${#missing[@]} -eq 0 ] && return 0
	echo "check-debug.sh: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
		{ apt-get update -qq &&
		  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; } ||
		die "apt-get install ${missing[*]} failed"
	[ -f "$TARBALL" ] || die "no $TARBALL after installing $SRCPKG"
}

# Extract once per package version; a new version also drops the build.
extract() {
	local ver stamp=$tree/.smbvn-extracted
	ver=$(dpkg-query -W -f='${Version}' "$SRCPKG")
	[ -f "$stamp" ] && [ "$(cat "$stamp")" = "$ver" ] && return 0
	echo "check-debug.sh: extracting $SRCPKG $ver"
	rm -rf "$tree" "$build"
	mkdir -p "$cache"
	tar -xJf "$TARBALL" -C "$cache" || die "extracting $TARBALL failed"
	echo "$ver" >"$stamp"
}

kmake() {
	nice -n "$nice_n" make -C "$tree" O="$build" -j"$jobs" "$@"
}

# Every line of the fragment must survive olddefconfig: "=y/m/string" as
# written, "is not set" as anything but y/m.
verify_config() {
	local line opt bad=0
	while read -r line; do
		case $line in
		"# CONFIG_"*" is not set")
			opt=${line#\# }; opt=${opt%% *}
			if grep -qE "^$opt=[ym]" "$build/.config"; then
				echo "check-debug.sh: $opt is on, the fragment wants it off" >&2
				bad=1
			fi ;;
		CONFIG_*)
			grep -qxF "$line" "$build/.config" || {
				echo "check-debug.sh: wanted $line, got:" \
					"$(grep -E "^(# )?${line%%=*}[= ]" "$build/.config" || echo unset)" >&2
				bad=1
			} ;;
		esac
	done <"$frag"
	return $bad
}

merge_fragments() {
	mkdir -p "$cache"
	cat "${frags[@]}" | awk '
		/^CONFIG_/ { o = $0; sub(/=.*/, "", o) }
		/^# CONFIG_.* is not set$/ { o = $2 }
		/^(CONFIG_|# CONFIG_.* is not set$)/ {
			if (!(o in at)) order[n++] = o
			at[o] = $0
		}
		END { for (i = 0; i < n; i++) print at[order[i]] }' >"$frag.new"
	mv "$frag.new" "$frag"
}

configure() {
	local stamp=$build/.smbvn-frag
	mkdir -p "$build"
	merge_fragments
	if [ -f "$build/.config" ] && cmp -s "$frag" "$stamp"; then
		return 0
	fi
	echo "check-debug.sh: configuring $build"
	kmake x86_64_defconfig >/dev/null &&
	kmake kvm_guest.config >/dev/null &&
	(cd "$build" && "$tree/scripts/kconfig/merge_config.sh" -m -O "$build" \
		"$build/.config" "$frag" >/dev/null) &&
	kmake olddefconfig >/dev/null || die "configuring the debug kernel failed"
	verify_config || die "config fragment did not stick (see above)"
	cp "$frag" "$stamp"
}

compile() {
	local t0=$SECONDS
	echo "check-debug.sh: building (nice $nice_n, -j$jobs), log $blog"
	kmake bzImage modules >"$blog" 2>&1 || {
		tail -n 40 "$blog" >&2
		die "kernel build failed (log $blog)"
	}
	echo "check-debug.sh: build took $((SECONDS - t0)) s"
}

# The layout scripts/build/deps.sh produces for a Debian kernel, which vm.sh,
# mkinitramfs.sh, e2e.sh and "make KROOT=" expect:
#   boot/vmlinuz-<rel>, boot/config-<rel>, boot/System.map-<rel>
#   lib/modules/<rel>/ (modules_install + depmod)
#   usr/src/linux-headers-<rel> -> the O= build tree (a full KDIR with vmlinux,
#   so btf-layout.py's --base is vmlinux rather than the bzImage payload)
install_kernel() {
	local rel k
	rel=$(make -s -C "$tree" O="$build" kernelrelease) || die "no kernelrelease"
	k=$top/.cache/k/$rel
	case $rel in *-smbvn-debug$sfx) ;; *) die "unexpected release $rel" ;; esac
	rm -rf "$k"
	mkdir -p "$k/boot" "$k/usr/src"
	cp "$build/arch/x86/boot/bzImage" "$k/boot/vmlinuz-$rel"
	cp "$build/.config" "$k/boot/config-$rel"
	cp "$build/System.map" "$k/boot/System.map-$rel"
	# --strip-debug keeps .BTF (it is not a debug section) but drops the
	# DWARF, which would make every initramfs tens of MB larger.
	kmake INSTALL_MOD_PATH="$k" INSTALL_MOD_STRIP=1 DEPMOD=true \
		modules_install >"$cache/modules_install$sfx.log" 2>&1 ||
		die "modules_install failed (log $cache/modules_install$sfx.log)"
	rm -f "$k/lib/modules/$rel/build" "$k/lib/modules/$rel/source"
	ln -s "$build" "$k/usr/src/linux-headers-$rel"
	depmod -b "$k" "$rel" || die "depmod failed"
	touch "$k/.done"
	echo "$rel" >"$cache/release$sfx"
	echo "check-debug.sh: installed $rel in .cache/k/$rel"
}

do_build() {
	need_pkgs
	extract
	configure
	compile
	install_kernel
}

# Report lines a debug kernel prints (KASAN, KFENCE and sleep-in-atomic say
# "BUG:", lockdep "WARNING:"), printk-stamped so test output that merely
# names them does not count, plus the guest /init's KMEMLEAK: lines.  vm.sh
# already fails a VM on most of these; this lists them for the reader.
REPORT_RE='^KMEMLEAK: |\[ *[0-9]+\.[0-9]+\].*(BUG:|WARNING:|Oops|Call Trace|possible (circular|recursive) locking|inconsistent lock state|lock held when returning|suspicious RCU usage|scheduling while atomic|Invalid wait context)'

# Each kind of report, counted separately for the summary line: KASAN,
# KFENCE, lockdep, sleep in atomic context, other WARNINGs, kmemleak.
count_reports() {	# count_reports LOG...
	local kasan kfence lockdep atomic warn leak
	kasan=$(cat "$@" | grep -acE '\[ *[0-9]+\.[0-9]+\].*BUG: KASAN' || true)
	kfence=$(cat "$@" | grep -acE '\[ *[0-9]+\.[0-9]+\].*BUG: KFENCE' || true)
	lockdep=$(cat "$@" | grep -acE '\[ *[0-9]+\.[0-9]+\].*(possible (circular|recursive) locking|inconsistent lock state|lock held when returning|suspicious RCU usage|Invalid wait context)' || true)
	atomic=$(cat "$@" | grep -acE '\[ *[0-9]+\.[0-9]+\].*(sleeping function called from invalid context|scheduling while atomic)' || true)
	warn=$(cat "$@" | grep -acE '\[ *[0-9]+\.[0-9]+\].*WARNING:' || true)
	leak=$(cat "$@" | grep -ac '^KMEMLEAK: unreferenced object' || true)
	echo "KASAN=$kasan KFENCE=$kfence lockdep=$lockdep atomic-sleep=$atomic WARNING=$warn kmemleak=$leak"
}

show_reports() {
	local name=$1 f
	shift
	for f in "$@"; do
		[ -f "$f" ] || continue
		if grep -aqE "$REPORT_RE" "$f"; then
			echo "check-debug.sh: $name: debug reports in $f:"
			grep -aE -A3 "$REPORT_RE" "$f" | head -n 60 | sed 's/^/  | /'
			return 1
		fi
	done
	return 0
}

# run_suite NAME SCRIPT VAR REL: SCRIPT gets REL in env VAR; its own
# "N passed, N failed" summary is added to ours.
run_suite() {
	local name=$1 script=$2 var=$3 rel=$4 out rc line p f
	[ -f "$script" ] || { echo "check-debug.sh: $script absent, $name skipped"; return 0; }
	echo "check-debug.sh: $name on $rel (VM_MEM=$VM_MEM, E2E_VM_TIMEOUT=$E2E_VM_TIMEOUT)"
	out=$cache/$name$sfx.out
	env "$var=$rel" bash "$script" >"$out" 2>&1
	rc=$?
	grep -aE '^(FAIL|E2E|KSMBD|STRESS|VIOLATION)|passed, .* failed' "$out" | tail -n 40
	line=$(grep -aE '[0-9]+ passed, [0-9]+ failed' "$out" | tail -n 1)
	p=$(sed -nE 's/.*\b([0-9]+) passed, ([0-9]+) failed.*/\1/p' <<<"$line")
	f=$(sed -nE 's/.*\b([0-9]+) passed, ([0-9]+) failed.*/\2/p' <<<"$line")
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-0}))
	if [ "$rc" -ne 0 ] && [ "${f:-0}" = 0 ]; then
		fail "$name exited $rc (output $out)"
	fi
	echo "check-debug.sh: $name: ${p:-0} passed, ${f:-0} failed, exit $rc (output $out)"
}

do_run() {
	local rel t0 s f logs=()
	rel=${CHECK_DEBUG_RELEASE:-$(cat "$cache/release$sfx" 2>/dev/null)} ||
		rel=$(find -L .cache/k -mindepth 1 -maxdepth 1 -name "*-smbvn-debug$sfx" \
			-printf '%f\n' 2>/dev/null)
	[ -n "$rel" ] && [ "$(wc -l <<<"$rel")" = 1 ] ||
		die "no single debug kernel installed (${rel:-none}): run '$0 build' first or set CHECK_DEBUG_RELEASE"
	[ -f "$top/.cache/k/$rel/.done" ] || die "kernel $rel not installed"
	t0=$SECONDS
	mkdir -p "$cache"
	touch "$cache/run-start$sfx"
	for s in $suites; do
		case $s in
		e2e) run_suite e2e scripts/tests/e2e.sh E2E_KERNELS "$rel" ;;
		ksmbd) run_suite ksmbd-e2e scripts/tests/ksmbd-e2e.sh KSMBD_KERNELS "$rel" ;;
		stress) run_suite stress scripts/tests/stress.sh STRESS_KERNELS "$rel" ;;
		campaign) run_suite campaign scripts/tests/campaign.sh E2E_KERNELS "$rel" ;;
		*) fail "unknown suite $s in CHECK_DEBUG_SUITES" ;;
		esac
	done
	# Every VM log of this release where the suites keep them (the e2e
	# scenario and fail-closed boots, the ksmbd and stress ones).  -L: a
	# worktree's .cache/<suite> may be a symlink; the big shared trees are
	# pruned, not walked.
	while IFS= read -r -d '' f; do logs+=("$f"); done < <(
		find -L .cache \( -path .cache/debug -o -path .cache/k -o \
			-path .cache/kunit -o -path .cache/src -o -path .cache/deb \) -prune -o \
			-type f \( -name "vm-*$rel*.log" -o -name "failclosed-$rel.log" \) \
			-newer "$cache/run-start$sfx" -print0 2>/dev/null)
	echo "check-debug.sh: ${#logs[@]} VM log(s) of $rel: $(count_reports /dev/null "${logs[@]}")"
	if [ ${#logs[@]} -eq 0 ]; then
		fail "no VM log of $rel was written"
	elif show_reports "VM logs" "${logs[@]}"; then
		pass "no KASAN/KFENCE/lockdep/kmemleak/atomic-sleep report in ${#logs[@]} VM log(s)"
	else
		fail "debug reports in the VM logs (above)"
	fi
	echo "check-debug.sh: suites took $((SECONDS - t0)) s"
}

case ${1:-all} in
build) do_build ;;
run) do_run ;;
all) do_build; do_run ;;
*) echo "usage: $0 [all|build|run]" >&2; exit 2 ;;
esac
summary
[ "$failed" -eq 0 ]
