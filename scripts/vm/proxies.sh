# SPDX-License-Identifier: GPL-2.0-only
#
# Sourced by scripts/tests/e2e.sh and scripts/tests/ksmbd-e2e.sh: the tamper proxies in
# front of their servers, set up the same way for Samba and for ksmbd.
#
# start_proxies SCENFILE WORKDIR NEXT SERVER...
#   For each SERVER, a key of the caller's associative array port[] whose
#   value is the server's real port, start one scripts/proxy/smbproxy.py with a
#   listening port for every target "SERVER:mode" named in the second
#   column of SCENFILE.  Those ports are taken from NEXT upwards and stored
#   as port[SERVER:mode]; every proxy's pid is appended to the caller's
#   pids[], for its cleanup.  Logs: WORKDIR/proxy-SERVER.{log,out}.
start_proxies() {
	local scen=$1 work=$2 next=$3 srv t maps
	shift 3
	for srv in "$@"; do
		maps=()
		for t in $(awk '!/^#/ && NF {print $2}' "$scen" | sort -u); do
			[ "${t%%:*}" = "$srv" ] && [ "$t" != "$srv" ] || continue
			port[$t]=$next
			maps+=(--map "$next:${t#*:}")
			next=$((next + 1))
		done
		[ ${#maps[@]} -gt 0 ] || continue
		# The test user's credentials let the server-quirk modes
		# derive the session key, check the server's signatures with it
		# and re-sign what they change.
		python3 scripts/proxy/smbproxy.py --target "127.0.0.1:${port[$srv]}" \
			--user smbvn --password smbvnpass \
			"${maps[@]}" --log "$work/proxy-$srv.log" >"$work/proxy-$srv.out" &
		pids+=($!)
		for _ in $(seq 50); do
			grep -q ready "$work/proxy-$srv.out" && break
			sleep 0.1
		done
	done
}
