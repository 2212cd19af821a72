#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# make demo: what smbvn is for, in a few minutes, without touching the host's
# kernel.  Installs the host packages, unpacks Debian 12's 6.12 kernel into
# .cache/k, builds smbvn for it, starts one Samba on 127.0.0.1 and the
# tampering proxy in front of it, and boots that kernel under qemu
# (scripts/tests/demo-guest.sh).  Prints, per tamper, stock cifs against smbvn,
# then an honest mount through smbvn and its counters.  Exits non-zero
# unless stock cifs mounts through every tamper, smbvn refuses every one
# (naming the expected rule) and the honest mount works.
# DEMO_PORT_BASE (default 14800): Samba's port; the proxy takes base+10..12.
# DEMO_KERNEL: another Debian kernel release to boot (one scripts/build/kernels.sh
# can fetch and the host can build for, e.g. Debian 12's 6.1).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
t0=$(date +%s)
base=${DEMO_PORT_BASE:-14800}
work=$(mktemp -d /tmp/smbvn-demo.XXXXXX)
chmod 755 "$work"

# The three tampers issue 15 names, as smbproxy.py modes, with what each
# does and the rule smbvn's refusal must name.
modes=(guid sigzero forge)
declare -A what=(
	[guid]="ServerGuid changed"
	[sigzero]="signature stripped"
	[forge]="answer forged"
)
declare -A rule=(
	[guid]=guid-mismatch
	[sigzero]=bad-signature
	[forge]=unsigned
)

pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	bash scripts/vm/samba.sh stop "$work/A" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT
say() { echo "demo: $*"; }

say "host packages (scripts/build/deps.sh) and Debian 12's kernel"
# deps.sh says on stdout what it installs first: the releases are its last
# line, Debian 12's 6.12 their first.
bash scripts/build/deps.sh releases >"$work/deps.out" 2>"$work/deps.err" ||
	{ cat "$work/deps.out" "$work/deps.err"; exit 1; }
k=${DEMO_KERNEL:-$(awk 'END { print $1 }' "$work/deps.out")}
[ -n "$k" ] || { say "no kernel release found"; exit 1; }
bash scripts/build/kernels.sh fetch "$k" >"$work/fetch.log" 2>&1 ||
	{ cat "$work/fetch.log"; exit 1; }
say "building smbvn for $k"
make -s KROOT=".cache/k/$k" >"$work/build.log" 2>&1 ||
	{ cat "$work/build.log"; exit 1; }

say "Samba on 127.0.0.1:$base, the tampering proxy on $((base + 10))-$((base + 12))"
declare -A port=([A]=$base)
bash scripts/vm/samba.sh start "$work/A" "$base" >/dev/null
for m in "${modes[@]}"; do echo "demo-$m A:$m"; done >"$work/scenarios"
. scripts/vm/proxies.sh
start_proxies "$work/scenarios" "$work" $((base + 10)) A
tampers=
for m in "${modes[@]}"; do tampers="$tampers $m:${port[A:$m]}"; done
printf 'PORT_HONEST=%s\nTAMPERS="%s"\n' "$base" "${tampers# }" >"$work/env"

say "booting $k under qemu"
log=$work/vm.log
vmrc=0
VM_LOG=$log VM_TIMEOUT=${DEMO_VM_TIMEOUT:-900} bash scripts/vm/vm.sh "$k" \
	scripts/tests/demo-guest.sh "build/$k/smbvn.ko" "$work/env" tools/smbvn-stats \
	>"$work/vm.out" 2>&1 || vmrc=$?
mkdir -p .cache/demo
cp "$log" .cache/demo/vm.log
sed -n 's/^vm.sh: \(.* s\)$/demo: qemu: \1/p' "$work/vm.out"

fails=()
fail() { fails+=("$*"); }
# field WAY MODE N: the Nth word of that DEMO line ("-" when missing)
field() {
	awk -v w="$1" -v m="$2" -v n="$3" '$1 == "DEMO" && $2 == w && $3 == m {
		v = $n } END { print (v == "" ? "-" : v) }' "$log"
}
shown() {	# shown WAY MODE: the outcome in a few words
	local o r
	o=$(field "$1" "$2" 4) r=$(field "$1" "$2" 7)
	case $o:$r in
	mounted:read=ok) echo "mounted, file read" ;;
	mounted:*) echo "mounted, bad read" ;;
	refused:*) echo "refused, error $(field "$1" "$2" 6 | cut -d= -f2)" ;;
	*) echo "$o" ;;
	esac
}

echo
echo "SMB 3.0 mounts of Samba's //10.0.2.2/data through the tampering proxy,"
echo "first by stock cifs, then by the same cifs with smbvn loaded."
echo "Kernel: $k under qemu."
echo
printf '%-30s %-21s %s\n' "tamper (smbproxy.py mode)" "stock cifs" "with smbvn"
printf '%-30s %-21s %s\n' "-------------------------" "----------" "----------"
for m in "${modes[@]}"; do
	printf '%-30s %-21s %s\n' "${what[$m]} ($m)" "$(shown stock "$m")" \
		"$(shown smbvn "$m")"
	[ "$(field stock "$m" 4):$(field stock "$m" 7)" = mounted:read=ok ] ||
		fail "stock cifs did not mount through $m"
	[ "$(field smbvn "$m" 4)" = refused ] || fail "smbvn did not refuse $m"
done
echo
echo "smbvn's kernel log, one line per refusal (long values cut at 12 digits):"
for m in "${modes[@]}"; do
	line=$(sed -n "s/^DEMO-LOG $m //p" "$log" | sed -n 1p)
	[[ $line == *"rule=${rule[$m]} "* ]] ||
		fail "no 'smbvn: refused ... rule=${rule[$m]}' line for $m"
	[ -n "$line" ] || continue
	# The server is already in the share's name; the rule and its values
	# go on a line of their own.
	line=$(echo "$line" | sed -E 's/ on [^ ]+ dialect/ dialect/;
		s/([0-9a-f]{12})[0-9a-f]{4,}/\1../g')
	echo "  ${line%% rule=*}" | cut -c1-79
	echo "      rule=${line#* rule=}" | cut -c1-79
done
echo
printf '%-30s %s\n' "honest server, with smbvn" "$(shown honest none)"
[ "$(field honest none 4):$(field honest none 7)" = mounted:read=ok ] ||
	fail "the honest mount through smbvn failed"
echo
echo "smbvn-stats, the counters that are not zero:"
sed -n 's/^DEMO-STATS //p' "$log" >"$work/stats"
awk '/^counter/ { on = 1; next } on && $2 != 0 { printf "  %-28s %s\n", $1, $2 }' \
	"$work/stats"
for c in validated mismatch_guid bad_signature unsigned; do
	awk -v c="$c" '$1 == c && $2 > 0 { ok = 1 } END { exit !ok }' "$work/stats" ||
		fail "counter $c did not count"
done
[ "$vmrc" = 0 ] || fail "the VM failed (vm.sh exit $vmrc; log .cache/demo/vm.log)"

echo
t=$(($(date +%s) - t0))
if [ ${#fails[@]} = 0 ]; then
	n=${#modes[@]}
	echo "DEMO PASS in $t s: stock cifs mounted $n/$n tampers, smbvn refused $n/$n,"
	echo "and mounted the honest server."
	exit 0
fi
for f in "${fails[@]}"; do echo "  FAIL: $f"; done
echo "DEMO FAIL in $t s: ${#fails[@]} expectation(s) not met."
echo "The guest's console log: .cache/demo/vm.log"
exit 1
