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
# E2E_PORT_BASE (Samba on base; lane L's proxy on base+10+2L, its control
# port one above), CAMPAIGN_LANES (kernels run at a time, default 2),
# E2E_KERNELS (default both Debian 12 kernels), CAMPAIGN_BOUND (seconds
# an attempt may take, default 60), CAMPAIGN_ECHO_INTERVAL (the guest's
# echo_interval, default 2), CAMPAIGN_KILL (seconds after which the guest
# kills a mount, default 75, above the bound), CAMPAIGN_OUT (where the logs
# are kept, default .cache/campaign).  To reproduce one attempt:
# CAMPAIGN_ONLY=i applies attempt i's mutation (and vers) to every attempt, N=1 is enough;
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

lane_pids=()
kill_by_pidfiles() {
	local f
	for f in "$work"/*/qemu.pid "$work"/*/proxy.pid; do
		[ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true
	done
}
cleanup() {
	local j
	# A VM still running (interrupted): qemu runs in a process group of
	# its own, so by its pid file, as the proxies.  Again once the lanes
	# are gone, for a qemu that wrote its pid file in between.
	touch "$work/stop"
	kill_by_pidfiles
	for j in "${lane_pids[@]}"; do kill "$j" 2>/dev/null || true; done
	for j in "${lane_pids[@]}"; do wait "$j" 2>/dev/null || true; done
	kill_by_pidfiles
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
only=()
[ -z "${CAMPAIGN_ONLY:-}" ] || only=(--only "$CAMPAIGN_ONLY")

# run_kernel K SLOT: the proxy on base+10+2*SLOT, its control port one
# above, a VM of kernel K through it, then the host-side check.  Writes
# its report to $work/K/report and "PASSED FAILED" to $work/K/counts.
run_kernel() {
	local k=$1 slot=$2 tag jlog vlog port ctl pid rc t0 t1 res bad done_n
	local p f w=$work/$1
	# An interrupted run starts no new proxy or VM.
	[ ! -e "$work/stop" ] || return 0
	mkdir -p "$w"
	port=$((base + 10 + 2 * slot)) ctl=$((base + 11 + 2 * slot))
	printf 'PORT=%s\nCTL=%s\nN=%s\nSTOCK=%s\nECHO=%s\nKILL=%s\nSAMBA=%s\n' \
		$port $ctl "$n" "${CAMPAIGN_STOCK:-0}" \
		"${CAMPAIGN_ECHO_INTERVAL:-2}" "${CAMPAIGN_KILL:-75}" "$base" >"$w/env"
	tag=$k-seed$seed${CAMPAIGN_ONLY:+-only$CAMPAIGN_ONLY}
	[ "${CAMPAIGN_STOCK:-0}" = 0 ] || tag=$tag-stock
	jlog=$out/campaign-$tag.jsonl
	vlog=$out/vm-$tag.log
	: >"$jlog"
	# The test user's credentials let the quirk class re-sign answers.
	python3 scripts/proxy/campaign.py proxy --seed "$seed" \
		--target "127.0.0.1:$base" --listen $port --control $ctl \
		--log "$jlog" "${only[@]}" --text-log "$out/proxy-$tag.log" \
		--user smbvn --password smbvnpass >"$w/proxy.out" 2>&1 &
	pid=$!
	echo "$pid" >"$w/proxy.pid"
	for _ in $(seq 50); do
		grep -q ready "$w/proxy.out" && break
		sleep 0.1
	done
	t0=$(date +%s)
	rc=0
	VM_LOG=$vlog VM_PIDFILE=$w/qemu.pid VM_TIMEOUT=${CAMPAIGN_VM_TIMEOUT:-$((300 + n * 20))} \
		bash scripts/vm/vm.sh "$k" scripts/tests/campaign-guest.sh \
		"build/$k/smbvn.ko" "$w/env" >"$w/vm.out" 2>&1 || rc=$?
	t1=$(date +%s)
	rm -f "$w/qemu.pid"
	echo "campaign.sh: $k done, VM $((t1 - t0)) s, exit $rc" >&2
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	rm -f "$w/proxy.pid"
	{
		echo "== $k seed=$seed N=$n: VM $((t1 - t0)) s, vm.sh exit $rc"
		grep '^vm.sh:' "$w/vm.out" | sed 's/^/  /' || true
		# A VM that never booted leaves no log: say why, from
		# vm.sh's output.
		[ -s "$vlog" ] || { tail -n 5 "$w/vm.out" | sed 's/^/  /'; : >"$vlog"; }
		res=$(python3 scripts/proxy/campaign.py check --log "$jlog" \
			--guest "$vlog" --kernel "$k" --seed "$seed" \
			--bound "$bound" --verbose || true)
		echo "$res" >"$out/check-$tag.txt"
		echo "$res" | grep -v '^ATTEMPT ' || true
		grep -a 'CAMPAIGN-STATS' "$vlog" | sed 's/^/  /' || true
	} >"$w/report"
	bad=$(grep -c '^VIOLATION' "$out/check-$tag.txt" || true)
	done_n=$(sed -n 's/^CAMPAIGN .*: \([0-9]*\) attempts.*/\1/p' "$out/check-$tag.txt")
	# One check per attempt reported, one for the VM run (clean exit, no
	# kernel report); attempts the guest never reached count as failed.
	p=$((${done_n:-0} - bad)) f=$((bad + (n - ${done_n:-0})))
	if [ "$rc" = 0 ]; then p=$((p + 1)); else f=$((f + 1)); fi
	echo "$p $f" >"$w/counts"
}

# Two kernels at a time (CAMPAIGN_LANES=1 for one): a TCG VM keeps one
# host core busy, and most of an attempt is the guest's own work.
lanes=${CAMPAIGN_LANES:-2}
[[ $lanes =~ ^[1-9][0-9]*$ ]] || { echo "campaign.sh: CAMPAIGN_LANES must be a positive number, not '$lanes'" >&2; exit 2; }
slot=0
for k in "${kernels[@]}"; do
	run_kernel "$k" $((slot % lanes)) &
	lane_pids+=($!)
	slot=$((slot + 1))
	if [ ${#lane_pids[@]} -ge "$lanes" ]; then
		wait "${lane_pids[0]}" || true
		lane_pids=("${lane_pids[@]:1}")
	fi
done
for j in "${lane_pids[@]}"; do wait "$j" || true; done
lane_pids=()

passed=0 failed=0
for k in "${kernels[@]}"; do
	if [ -f "$work/$k/counts" ]; then
		cat "$work/$k/report"
		read -r p f <"$work/$k/counts"
	else
		# The lane died: what it wrote, and every attempt and the
		# VM run counted as failed.
		cat "$work/$k/report" 2>/dev/null || true
		echo "== $k: the lane ended without a result"
		p=0 f=$((n + 1))
	fi
	passed=$((passed + p)) failed=$((failed + f))
done
echo "CAMPAIGN: $passed passed, $failed failed"
[ "$failed" = 0 ]
