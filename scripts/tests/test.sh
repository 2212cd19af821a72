#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The project's one test command (make test, .ci/run): installs what it
# needs, runs the KUnit suites, the packaging checks, the end-to-end VM
# suites (Samba, ksmbd, Kerberos against a Samba AD DC, DFS and multiuser),
# the stress suite and a short randomised campaign on both Debian kernels,
# and closes with "N passed, N failed" over every KUnit case and every VM check.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
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

# The suites run in two lanes side by side.  The VM lane runs demo, then
# e2e, then stress beside ksmbd, Kerberos and DFS/multiuser (those three
# one after another): their guests (one host thread each under TCG) and
# servers spend much of their time waiting, on timers, reconnects and the
# network.  Here stress took 1614 s beside the other three (1307 s), all
# passing; one after another they take about 2900 s.  Two stress runs
# side by side were too much for the churn case's timing (session 12).
# The build lane runs the compile-bound suites (KUnit's UML kernel; make
# check's W=1, sparse and coccicheck builds; the package and DKMS) at
# nice 10, so that they take the CPU time the VM lane leaves and the
# guests' timing stays about what it is without them.  Nothing one suite
# does decides another's result: every suite has its own ports, work
# directory and build directory, the stress suite its own network
# namespace, and apt and useradd calls wait on one lock each
# (scripts/build/apt-need.sh, scripts/vm/unix-user.sh).  Each suite's
# output goes to its log, shown whole, in a fixed order, at the end; a
# line says when each suite ends.
#
# suite NAME CMD...: one suite of a lane, its output in .cache/test/NAME.log.
suite() {
	local name=$1
	shift
	"$@" >".cache/test/$name.log" 2>&1
	took "$name"
}

demo() {
	bash scripts/tests/demo.sh
	# One check for the whole demo; each expectation it missed is a
	# failure.
	n=$(grep -c '^  FAIL: ' ".cache/test/DEMO.log" || true)
	if grep -q '^DEMO PASS' ".cache/test/DEMO.log"; then
		echo "DEMO: 1 passed, 0 failed"
	else
		echo "DEMO: 0 passed, $((n > 0 ? n : 1)) failed"
	fi
}

# Every stress case, with about a third of make stress's churn reconnects
# and half its other cycles: the CI hour has no room for more (make
# stress runs the full set).
stress() {
	RECONNECTS=${RECONNECTS:-70} HOLD_RECONNECTS=${HOLD_RECONNECTS:-20} \
		LOADS=${LOADS:-10} bash scripts/tests/stress.sh
}

# A short randomised campaign (docs/CAMPAIGN.md): the first 100 mounts of
# seed 59 on each Debian 12 kernel, one kernel at a time, in the place
# ksmbd, Kerberos and DFS/multiuser leave beside stress's last cases.
# make campaign runs more seeds and mounts.
campaign() {
	SEED=${CAMPAIGN_SEED:-59} N=${CAMPAIGN_N:-100} CAMPAIGN_LANES=1 \
		E2E_PORT_BASE=16600 bash scripts/tests/campaign.sh
}

{
	suite KUNIT nice -n 10 bash scripts/tests/kunit.sh
	suite OPS nice -n 10 bash -c 'bash scripts/tests/ops-host.sh 2>&1 | grep -v "^readelf: Warning"'
} &
lane1=$!
{
	suite DEMO demo
	suite E2E bash scripts/tests/e2e.sh
	suite STRESS stress &
	stress_pid=$!
	suite KSMBD bash scripts/tests/ksmbd-e2e.sh
	suite KRB5 bash scripts/tests/krb5-e2e.sh
	suite DFSMU bash scripts/tests/dfs-multiuser-e2e.sh
	suite CAMPAIGN campaign
	wait "$stress_pid"
} &
lane2=$!
wait "$lane1" "$lane2"

show() {	# show NAME TITLE: a suite's whole output and its counts
	echo "== $2"
	cat ".cache/test/$1.log"
	add_counts ".cache/test/$1.log" "$1"
}
show KUNIT "KUnit (UML, linux-source-6.12)"
show OPS "code checks and packaging (make check, make deb, DKMS, make install)"
show DEMO "make demo (qemu, Debian 12 6.12: stock cifs and smbvn, three tampers)"
show E2E "end-to-end (qemu, real Samba: Debian 12 6.12 and 6.1, Debian 13 6.12)"
show STRESS "stress (qemu, both kernels: parallel, reconnects, load/unload, stalls)"
show KSMBD "second server: ksmbd (qemu, both kernels as clients)"
show KRB5 "Kerberos (qemu, both kernels, a loopback Samba AD DC)"
show DFSMU "DFS and multiuser (qemu, both kernels, three Samba servers)"
show CAMPAIGN "randomised campaign (qemu, both Debian 12 kernels, seed 59, 100 mounts each)"

echo "test.sh: total time $(($(date +%s) - t0)) s"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
