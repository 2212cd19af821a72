#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The project's one test command (make test, .ci/run): installs what it
# needs, runs the KUnit suites, the packaging checks, the end-to-end VM
# suites (Samba, ksmbd, Kerberos against a Samba AD DC, DFS and multiuser)
# and the stress suite on both Debian kernels, and closes with
# "N passed, N failed" over every KUnit case and every VM check.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
mkdir -p .cache/test
passed=0 failed=0
add_counts() {	# add_counts LOG PREFIX
	local line p f
	line=$(grep -E "^$2: [0-9]+ passed, [0-9]+ failed" "$1" | tail -1)
	if [ -z "$line" ]; then
		echo "test.sh: $2 printed no result line: counted as 1 failure"
		failed=$((failed + 1))
		return
	fi
	p=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed.*/\1/')
	f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
	passed=$((passed + p))
	failed=$((failed + f))
}

# took NAME: how long the step since the last call took, so that a CI run
# over its hour shows which suite grew.
t0=$(date +%s) ts=$t0
took() {
	local t
	t=$(date +%s)
	echo "test.sh: $1 took $((t - ts)) s"
	ts=$t
}

bash scripts/build/deps.sh || { echo "0 passed, 1 failed"; exit 1; }
took deps

echo "== KUnit (UML, linux-source-6.12)"
bash scripts/tests/kunit.sh 2>&1 | tee .cache/test/kunit.log
add_counts .cache/test/kunit.log KUNIT
took KUNIT

echo "== code checks and packaging (make check, make deb, DKMS, make install)"
bash scripts/tests/ops-host.sh 2>&1 | grep -v '^readelf: Warning' | tee .cache/test/ops.log
add_counts .cache/test/ops.log OPS
took OPS

echo "== make demo (qemu, Debian 12 6.12: stock cifs and smbvn, three tampers)"
bash scripts/tests/demo.sh 2>&1 | tee .cache/test/demo.log
# One check for the whole demo; each expectation it missed is a failure.
n=$(grep -c '^  FAIL: ' .cache/test/demo.log || true)
if grep -q '^DEMO PASS' .cache/test/demo.log; then
	echo "DEMO: 1 passed, 0 failed"
else
	echo "DEMO: 0 passed, $((n > 0 ? n : 1)) failed"
fi | tee -a .cache/test/demo.log
add_counts .cache/test/demo.log DEMO
took DEMO

echo "== end-to-end (qemu, real Samba: Debian 12 6.12 and 6.1, Debian 13 6.12)"
bash scripts/tests/e2e.sh 2>&1 | tee .cache/test/e2e.log
add_counts .cache/test/e2e.log E2E
took E2E

# The remaining VM suites run in two lanes side by side, each lane one VM
# at a time: on two cores this takes about the time of the longest lane
# instead of the sum.  They do not share anything that could make one
# decide another's result: every stress run has its own network
# namespace, the others their own ports and work directories, apt calls
# wait on one lock (scripts/build/apt-need.sh), and the modules were all
# built by the e2e suite above.  Each lane's output is shown whole after
# both are done.
read -r -a rels <<<"$(bash scripts/build/deps.sh releases)"

# suite NAME LOG CMD...: one suite of a lane, its output in LOG.  Each
# lane is a subshell with its own copy of took's clock.
suite() {
	local name=$1 log=$2
	shift 2
	echo "== $name"
	"$@" >"$log" 2>&1
	cat "$log"
	took "$name"
}

# stress_on REL: the stress suite on one kernel, with every case but about
# a third of make stress's churn reconnects and half its other cycles:
# the CI hour has no room for more (make stress runs the full set).
stress_on() {
	STRESS_KERNELS=$1 RECONNECTS=${RECONNECTS:-70} \
		HOLD_RECONNECTS=${HOLD_RECONNECTS:-20} LOADS=${LOADS:-10} \
		bash scripts/tests/stress.sh
}

{
	suite "stress on ${rels[0]} (parallel, reconnects, load/unload, stalls)" \
		.cache/test/stress-0.log stress_on "${rels[0]}"
	suite "second server: ksmbd (both kernels as clients)" \
		.cache/test/ksmbd.log bash scripts/tests/ksmbd-e2e.sh
} >.cache/test/lane-0.log 2>&1 &
lane0=$!
{
	suite "stress on ${rels[1]} (parallel, reconnects, load/unload, stalls)" \
		.cache/test/stress-1.log stress_on "${rels[1]}"
	suite "Kerberos (both kernels, a loopback Samba AD DC)" \
		.cache/test/krb5.log bash scripts/tests/krb5-e2e.sh
	suite "DFS and multiuser (both kernels, three Samba servers)" \
		.cache/test/dfsmu.log bash scripts/tests/dfs-multiuser-e2e.sh
} >.cache/test/lane-1.log 2>&1 &
lane1=$!
wait "$lane0" "$lane1"
cat .cache/test/lane-0.log .cache/test/lane-1.log
add_counts .cache/test/stress-0.log STRESS
add_counts .cache/test/stress-1.log STRESS
add_counts .cache/test/ksmbd.log KSMBD
add_counts .cache/test/krb5.log KRB5
add_counts .cache/test/dfsmu.log DFSMU
took "the two lanes"

echo "test.sh: total time $(($(date +%s) - t0)) s"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
