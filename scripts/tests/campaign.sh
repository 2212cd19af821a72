#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# campaign.sh: the randomised man-in-the-middle campaign (issue 16,
# docs/CAMPAIGN.md).  For each kernel: one Samba, scripts/proxy/campaign.py in
# front of it, and a VM whose guest (scripts/tests/campaign-guest.sh) mounts N
# times through it under smbvn=1.  The invariant is checked here, outside
# the guest, from the proxy's JSON log and the guest's results; the
# per-kernel table and a closing "CAMPAIGN: N passed, N failed" (one check
# per attempt plus one per kernel for the run itself) are printed.
#
# Environment: SEED (default 16), N (attempts per kernel, default 200),
# E2E_PORT_BASE (Samba on base, proxy on base+10, control on base+11),
# E2E_KERNELS (default both Debian 12 kernels), CAMPAIGN_BOUND (seconds
# an attempt may take, default 60), CAMPAIGN_OUT (where the logs are kept,
# default .cache/campaign).  To reproduce one attempt: CAMPAIGN_ONLY=i
# applies attempt i's mutation (and vers) to every attempt, N=1 is enough;
# CAMPAIGN_STOCK=1 runs the guest without smbvn.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
seed=${SEED:-16}
n=${N:-200}
base=${E2E_PORT_BASE:-14600}
bound=${CAMPAIGN_BOUND:-60}
out=${CAMPAIGN_OUT:-$top/.cache/campaign}
work=$(mktemp -d /tmp/smbvn-campaign.XXXXXX)
chmod 755 "$work"
mkdir -p "$out"

proxy=
cleanup() {
	[ -z "$proxy" ] || kill "$proxy" 2>/dev/null || true
	bash scripts/vm/samba.sh stop "$work/samba" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

bash scripts/build/deps.sh >/dev/null
read -r -a kernels <<<"${E2E_KERNELS:-$(bash scripts/build/deps.sh releases)}"
for k in "${kernels[@]}"; do
	make -s KROOT=".cache/k/$k" >/dev/null
done
bash scripts/vm/samba.sh start "$work/samba" "$base" >/dev/null
printf 'PORT=%s\nCTL=%s\nN=%s\nSTOCK=%s\n' $((base + 10)) $((base + 11)) "$n" \
	"${CAMPAIGN_STOCK:-0}" >"$work/env"
only=()
[ -z "${CAMPAIGN_ONLY:-}" ] || only=(--only "$CAMPAIGN_ONLY")

passed=0 failed=0
for k in "${kernels[@]}"; do
	tag=$k-seed$seed${CAMPAIGN_ONLY:+-only$CAMPAIGN_ONLY}
	[ "${CAMPAIGN_STOCK:-0}" = 0 ] || tag=$tag-stock
	jlog=$out/campaign-$tag.jsonl
	vlog=$out/vm-$tag.log
	: >"$jlog"
	# The test user's credentials let the quirk class re-sign answers.
	python3 scripts/proxy/campaign.py proxy --seed "$seed" \
		--target "127.0.0.1:$base" --listen $((base + 10)) \
		--control $((base + 11)) --log "$jlog" "${only[@]}" \
		--text-log "$out/proxy-$tag.log" \
		--user smbvn --password smbvnpass >"$work/proxy.out" 2>&1 &
	proxy=$!
	for _ in $(seq 50); do
		grep -q ready "$work/proxy.out" && break
		sleep 0.1
	done
	t0=$(date +%s)
	rc=0
	VM_LOG=$vlog VM_TIMEOUT=${CAMPAIGN_VM_TIMEOUT:-$((300 + n * 20))} \
		bash scripts/vm/vm.sh "$k" scripts/tests/campaign-guest.sh \
		"build/$k/smbvn.ko" "$work/env" >"$work/vm.out" 2>&1 || rc=$?
	t1=$(date +%s)
	kill "$proxy" 2>/dev/null || true
	wait "$proxy" 2>/dev/null || true
	proxy=
	echo "== $k seed=$seed N=$n: VM $((t1 - t0)) s, vm.sh exit $rc"
	grep '^vm.sh:' "$work/vm.out" | sed 's/^/  /' || true
	# A VM that never booted leaves no log: say why, from vm.sh's output.
	[ -s "$vlog" ] || { tail -n 5 "$work/vm.out" | sed 's/^/  /'; : >"$vlog"; }
	res=$(python3 scripts/proxy/campaign.py check --log "$jlog" --guest "$vlog" \
		--kernel "$k" --seed "$seed" --bound "$bound" --verbose ||
		true)
	echo "$res" >"$out/check-$tag.txt"
	echo "$res" | grep -v '^ATTEMPT '
	bad=$(echo "$res" | grep -c '^VIOLATION' || true)
	done_n=$(echo "$res" | sed -n 's/^CAMPAIGN .*: \([0-9]*\) attempts.*/\1/p')
	# One check per attempt reported, one for the VM run (clean exit, no
	# kernel report); attempts the guest never reached count as failed.
	passed=$((passed + ${done_n:-0} - bad))
	failed=$((failed + bad + (n - ${done_n:-0})))
	if [ "$rc" = 0 ]; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
	fi
	grep -a 'CAMPAIGN-STATS' "$vlog" | sed 's/^/  /' || true
done
echo "CAMPAIGN: $passed passed, $failed failed"
[ "$failed" = 0 ]
