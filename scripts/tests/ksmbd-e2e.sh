#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The end-to-end scenarios against a second server, ksmbd, the in-kernel
# SMB server (userspace: Debian 12's ksmbd-tools 3.4.7).  The host kernel
# has no modules, so ksmbd runs in a test guest; qemu forwards
# 127.0.0.1:PORT on the host to that guest's port 445, the host runs
# scripts/proxy/smbproxy.py in front of that port, and the client guest mounts
# 10.0.2.2 (the host): honest scenarios straight to the forwarded port,
# tamper scenarios through the proxy.  ksmbd has one global configuration,
# so every client kernel boots once per configuration (the "configs" list
# below: K = server signing = auto, KM = mandatory, and the honest variants
# KC..KG) that the scenario table names.  Every scenario of
# scripts/tests/ksmbd-scenarios.txt runs under stock cifs, smbvn=1 and smbvn=0.
# Ends with "KSMBD: N passed, N failed".
#
# Which kernel serves which client:
# - 6.12.117+deb12: ksmbd runs inside the client guest itself.
# - 6.1.0-56 (any 6.1.*, KSMBD_REMOTE): ksmbd runs in a second, server VM
#   on KSMBD_SERVER_KERNEL (6.12), -smp 1, booted before each client VM
#   and stopped after it; the client VM has no forward of its own.  The
#   6.1 ksmbd serves no share to ksmbd-tools 3.4.7: its ipc_validate_msg()
#   (fs/smb/server/transport_ipc.c, from a stable backport) requires the
#   share config response's payload_sz, which ksmbd-tools before 3.5.2
#   leave zero, so it drops every answer, and every tree connect, IPC$
#   included, gets STATUS_BAD_NETWORK_NAME.  6.12's copy derives a zero
#   payload_sz from the message size for those tools; 6.1's does not, and
#   Debian 12 has no newer ksmbd-tools.  The 6.1 cifs client is what is
#   under test, so it is tested against 6.12's ksmbd, the server that the
#   expectations were measured on.
#
#   KSMBD_KERNELS      client releases to test  (both of scripts/build/deps.sh)
#   KSMBD_REMOTE       glob of client releases served by a server VM  (6.1.*)
#   KSMBD_SERVER_KERNEL  that server VM's release  (the 6.12.* of deps.sh)
#   KSMBD_PORT_BASE    first host port          (14900): configuration N
#                      (in the list below, from 0) is forwarded from base+N,
#                      its server VM's stop port is base+10+N, the proxies
#                      listen from base+20 up
#   KSMBD_VM_TIMEOUT   seconds per VM           (1500)
#   KSMBD_SCENARIOS    scenario file            (scripts/tests/ksmbd-scenarios.txt)
#   KSMBD_MOUNTD_OPTS  extra ksmbd.mountd options, e.g. -v  (none)
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
scen=${KSMBD_SCENARIOS:-scripts/tests/ksmbd-scenarios.txt}
base=${KSMBD_PORT_BASE:-14900}
work=$(mktemp -d /tmp/smbvn-ksmbd.XXXXXX)
pids=()
server_pid=
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	# A server VM still running: qemu first (vm.sh leaves it in timeout's
	# process group, out of reach of a kill of vm.sh), then vm.sh.
	if [ -n "$server_pid" ]; then
		[ ! -s "$work/server.pid" ] || kill "$(cat "$work/server.pid")" 2>/dev/null || true
		kill "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT
# A signal ends the script through exit, so that cleanup still stops a
# server VM (a background job, which an interrupt does not reach).
trap 'exit 130' INT TERM HUP

bash scripts/build/deps.sh >/dev/null
read -r -a kernels <<<"${KSMBD_KERNELS:-$(bash scripts/build/deps.sh releases)}"
remote=${KSMBD_REMOTE:-6.1.*}
skern=${KSMBD_SERVER_KERNEL:-}
if [ -z "$skern" ]; then
	for r in $(bash scripts/build/deps.sh releases); do
		case $r in 6.12.*) skern=$r ;; esac
	done
fi
# The kernels whose ksmbd.ko is needed: each in-guest client, and the
# server VM's kernel when some client is served by it.
server_for() {	# server_for CLIENT: prints the server VM's release, if any
	case $1 in $remote) [ "$1" = "$skern" ] || echo "${skern:-none}" ;; esac
}
mods=()
for k in "${kernels[@]}"; do
	sk=$(server_for "$k")
	[ -z "$sk" ] || [ -d ".cache/k/$sk" ] ||
		{ echo "ksmbd-e2e: no server kernel .cache/k/$sk for $k" >&2; exit 2; }
	mods+=("${sk:-$k}")
done
read -r -a mods <<<"$(printf '%s\n' "${mods[@]}" | sort -u | tr '\n' ' ')"

# ksmbd-tools is not installed but unpacked: the package Conflicts with
# samba, which the rest of the suite needs on this host.  Its libraries are
# ordinary packages and are installed when missing.
kt=.cache/ksmbd-tools
if [ ! -x "$kt/usr/libexec/ksmbd.tools" ]; then
	bash scripts/build/apt-need.sh download .cache/deb ksmbd-tools
	rm -rf "$kt"
	dpkg-deb -x .cache/deb/ksmbd-tools_*.deb "$kt"
fi
tools=$kt/usr/libexec/ksmbd.tools
# Tried twice: in one CI run on a fresh machine the install left
# libnl-genl-3-200 out, and the copy below then took ldd's "not found"
# for a file name.
for try in 1 2; do
	ldd "$tools" | grep -q 'not found' || break
	bash scripts/build/apt-need.sh libglib2.0-0 libnl-3-200 \
		libnl-genl-3-200 || sleep 10
done
if ldd "$tools" | grep 'not found'; then
	echo "ksmbd-e2e.sh: ksmbd.tools still lacks the libraries above" >&2
	exit 1
fi
mkdir -p "$work/bin"
cp "$tools" "$work/bin/ksmbd.tools"
# Everything but the loader, which the base image already has.
for lib in $(ldd "$tools" | awk '$2 == "=>" { print $3 }'); do
	cp -L "$lib" "$work/bin/"
done

# The same account and share content as scripts/vm/samba.sh.
printf '[global]\n\tnetbios name = X\n' >"$work/bootstrap.conf"
ln -sf "$top/$tools" "$work/ksmbd.adduser"
"$work/ksmbd.adduser" -a smbvn -p smbvnpass -i "$work/ksmbdpwd.db" \
	-c "$work/bootstrap.conf" >/dev/null
# The ksmbd configurations, in port order: the name the scenario table
# uses as target, then the ksmbd.conf [global] settings that differ from
# the defaults of ksmbd_conf() below, separated by "|" (ksmbd-tools 3.4.7
# knows all of these; see ksmbd.conf(5) of that version).  A configuration
# no row of the table names is not booted.  At most ten (ports above).
configs=(
	"K"
	"KM|server signing=mandatory"
	"KC|server max protocol=SMB2_10"
	"KD|server max protocol=SMB3_00"
	"KE|server max protocol=SMB3_02"
	"KF|smb3 encryption=mandatory"
	"KG|server signing=disabled"
)
# Those the table uses, in that order.
used=$(awk '!/^#/ && NF { split($2, t, ":"); print t[1] }' "$scen" | sort -u)
servers=()
declare -A sets=()
for c in "${configs[@]}"; do
	srv=${c%%|*}
	sets[$srv]=
	[ "$c" = "$srv" ] || sets[$srv]=${c#*|}
	if grep -qx "$srv" <<<"$used"; then servers+=("$srv"); fi
done
for srv in $used; do
	[ -n "${sets[$srv]+x}" ] ||
		{ echo "ksmbd-e2e: $scen names an unknown ksmbd configuration '$srv'" >&2; exit 2; }
done

# ksmbd_conf SETTINGS: the [global] lines, SETTINGS ("key=value|...")
# replacing the default of the same key or added after them.
ksmbd_conf() {
	local kv k v d done_keys=" " defaults=(
		"netbios name=SMBVN-KSMBD"
		"server min protocol=SMB2_10"
		"server max protocol=SMB3_11"
		"server signing=auto"
		"map to guest=bad user"
		"guest account=nobody"
	) over=()
	[ -z "$1" ] || IFS='|' read -r -a over <<<"$1"
	for d in "${defaults[@]}"; do
		k=${d%%=*} v=${d#*=}
		for kv in "${over[@]}"; do
			if [ "${kv%%=*}" = "$k" ]; then v=${kv#*=}; fi
		done
		done_keys+="$k "
		printf '\t%s = %s\n' "$k" "$v"
	done
	for kv in "${over[@]}"; do
		case $done_keys in *" ${kv%%=*} "*) continue ;; esac
		printf '\t%s = %s\n' "${kv%%=*}" "${kv#*=}"
	done
	return 0
}

for srv in "${servers[@]}"; do
	mkdir -p "$work/$srv"
	cat >"$work/$srv/ksmbd.conf" <<EOF
[global]
$(ksmbd_conf "${sets[$srv]}")

[data]
	path = /srv/share
	read only = no
	valid users = smbvn

[guest]
	path = /srv/share
	guest ok = yes
	read only = yes
EOF
done
ln -s "$top/scripts/vm/ksmbd-guest-setup.sh" "$work/server-setup.sh"

for k in "${kernels[@]}"; do
	make -s KROOT=".cache/k/$k" >/dev/null
done
for k in "${mods[@]}"; do
	# ksmbd.ko and what it links against, decompressed for busybox insmod.
	m=$work/mod-$k
	mkdir -p "$m"
	modprobe -d ".cache/k/$k" -S "$k" --show-depends ksmbd |
		awk '$1 == "insmod" { print $2 }' | while read -r f; do
		n=$(basename "$f")
		case $n in
		*.ko.xz) xz -dc "$f" >"$m/${n%.xz}" ;;
		*.ko.zst) zstd -qdc "$f" >"$m/${n%.zst}" ;;
		*.ko.gz) gzip -dc "$f" >"$m/${n%.gz}" ;;
		*) cp "$f" "$m/$n" ;;
		esac
		echo "${n%.ko*}.ko"
	done >"$m/ksmbd-modules"
	grep -q '^ksmbd\.ko$' "$m/ksmbd-modules"
done

# One forwarded port per ksmbd configuration (only one server runs at a
# time, but distinct ports keep a stale connection from reaching the wrong
# one),
# one proxy per configuration, one proxy port per tamper mode.
# A server VM (KSMBD_REMOTE clients) polls 127.0.0.1:stop from the guest
# and exits once it connects.
declare -A port=() stop=()
n=0
for c in "${configs[@]}"; do
	port[${c%%|*}]=$((base + n))
	stop[${c%%|*}]=$((base + 10 + n))
	n=$((n + 1))
done
vm_timeout=${KSMBD_VM_TIMEOUT:-1500}
. scripts/vm/proxies.sh
start_proxies "$scen" "$work" $((base + 20)) "${servers[@]}"

for srv in "${servers[@]}"; do
	awk '!/^#/ && NF {print $1, $2, $3, $4, $5}' "$scen" |
		while read -r name target share vers opts; do
			[ "${target%%:*}" = "$srv" ] || continue
			echo "$name ${port[$target]} $share $vers $opts"
		done >"$work/$srv/scenarios"
	# ksmbd-guest-setup.sh's self-test mount: 3.0, or 2.1 where ksmbd
	# serves no SMB 3.
	stv=3.0
	grep -qiE 'server max protocol = SMB2' "$work/$srv/ksmbd.conf" && stv=2.1
	printf 'SCENARIOS_ONLY=1\nKSMBD_MOUNTD_OPTS="%s"\nKSMBD_SELFTEST_VERS=%s\n' \
		"${KSMBD_MOUNTD_OPTS:-}" "$stv" >"$work/$srv/env"
	# A server VM's environment: it has no scenarios, only a port that
	# tells it to stop, and a limit of its own a little past the client's.
	mkdir -p "$work/$srv/server"
	printf 'KSMBD_MOUNTD_OPTS="%s"\nKSMBD_STOP_PORT=%s\nKSMBD_SERVER_LIMIT=%s\nKSMBD_SELFTEST_VERS=%s\n' \
		"${KSMBD_MOUNTD_OPTS:-}" "${stop[$srv]}" "$((vm_timeout + 300))" "$stv" \
		>"$work/$srv/server/env"
done

# start_server REL SRV: boot the server VM for configuration SRV in the
# background and return once it serves through its forwarded port.
start_server() {
	local sl=$work/server-$2.log
	: >"$sl"
	rm -f "$work/server.pid"
	# One vCPU: the client VM runs at the same time on a 2-core host.
	VM_LOG=$sl VM_SMP=1 VM_PIDFILE=$work/server.pid \
		VM_TIMEOUT=$((vm_timeout + 600)) \
		VM_NETDEV_OPTS="hostfwd=tcp:127.0.0.1:${port[$2]}-:445" \
		bash scripts/vm/vm.sh "$1" scripts/vm/ksmbd-server-guest.sh \
		"$work/$2/server/env" "$work/$2/ksmbd.conf" "$work/ksmbdpwd.db" \
		"$work/server-setup.sh" "$work/mod-$1"/* "$work/bin"/* \
		>"$work/server-$2.out" 2>&1 &
	server_pid=$!
	local i=0
	until grep -aq '^KSMBD-SERVER-READY' "$sl"; do
		kill -0 "$server_pid" 2>/dev/null || return 1
		grep -aq 'KSMBD-SETUP-FAIL' "$sl" && return 1
		i=$((i + 1))
		[ $i -lt 600 ] || { echo "KSMBD-SETUP-FAIL: server VM not ready after 600 s" >>"$sl"; return 1; }
		sleep 1
	done
	# The forward accepts as soon as qemu runs, whatever the guest does:
	# only an SMB2 answer through it shows the path the client will take.
	python3 - "${port[$2]}" <<'PY' || { echo "KSMBD-SETUP-FAIL: no SMB2 answer on 127.0.0.1:${port[$2]}" >>"$sl"; return 1; }
import socket, struct, sys
# SMB2 NEGOTIATE offering 2.1: 64-byte header, 36-byte body, one dialect.
hdr = b"\xfeSMB" + struct.pack("<HHIHHIIQIIQ16s", 64, 0, 0, 0, 1, 0, 0, 0,
                                0, 0, 0, b"")
body = struct.pack("<HHHHI16sQH", 36, 1, 1, 0, 0, b"\x11" * 16, 0, 0x210)
msg = hdr + body
for _ in range(10):
    try:
        s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 30)
        s.settimeout(30)
        s.sendall(struct.pack(">I", len(msg)) + msg)
        if s.recv(8)[4:8] == b"\xfeSMB":
            sys.exit(0)
    except OSError:
        pass
    import time
    time.sleep(2)
sys.exit(1)
PY
}

# stop_server SRV: let the server VM finish on its own (its console log
# is then still checked for kernel problems), or kill it.  Returns vm.sh's
# status.
stop_server() {
	python3 - "${stop[$1]}" <<'PY' &
import socket, sys
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("127.0.0.1", int(sys.argv[1])))
l.listen(4)
l.settimeout(180)
try:
    l.accept()[0].close()
except OSError:
    pass
PY
	local lp=$! i=0 r=0
	while kill -0 "$server_pid" 2>/dev/null && [ $i -lt 180 ]; do
		sleep 1
		i=$((i + 1))
	done
	if kill -0 "$server_pid" 2>/dev/null; then
		echo "KSMBD-SERVER: still running after 180 s, killed" >>"$work/server-$1.log"
		[ ! -s "$work/server.pid" ] || kill "$(cat "$work/server.pid")" 2>/dev/null || true
	fi
	wait "$server_pid" || r=$?
	server_pid=
	kill "$lp" 2>/dev/null || true
	wait "$lp" 2>/dev/null || true
	return $r
}

total_p=0 total_f=0
for k in "${kernels[@]}"; do
	log=$work/vm-$k.log
	slog=$work/vm-$k-server.log
	: >"$log"
	: >"$slog"
	sk=$(server_for "$k")
	[ -z "$sk" ] || echo "SERVER $k: ksmbd runs in a $sk server VM"
	rc=0 bad=0
	for srv in "${servers[@]}"; do
		r=0
		t0=$(date +%s)
		if [ -z "$sk" ]; then
			VM_LOG=$work/vm-$k-$srv.log VM_TIMEOUT=$vm_timeout \
				VM_NETDEV_OPTS="hostfwd=tcp:127.0.0.1:${port[$srv]}-:445" \
				bash scripts/vm/vm.sh "$k" scripts/tests/e2e-guest.sh \
				"build/$k/smbvn.ko" "$work/$srv/scenarios" "$work/$srv/env" \
				"$work/$srv/ksmbd.conf" "$work/ksmbdpwd.db" \
				"$work/server-setup.sh" "$work/mod-$k"/* "$work/bin"/* \
				>/dev/null 2>&1 || r=$?
		else
			: >"$work/vm-$k-$srv.log"
			if start_server "$sk" "$srv"; then
				VM_LOG=$work/vm-$k-$srv.log VM_TIMEOUT=$vm_timeout \
					bash scripts/vm/vm.sh "$k" scripts/tests/e2e-guest.sh \
					"build/$k/smbvn.ko" "$work/$srv/scenarios" \
					"$work/$srv/env" >/dev/null 2>&1 || r=$?
			else
				r=1
			fi
			sr=0
			stop_server "$srv" || sr=$?
			cat "$work/server-$srv.log" >>"$slog"
			if [ "$sr" != 0 ] && ! grep -aq 'KSMBD-SETUP-FAIL' "$work/server-$srv.log"; then
				echo "FAIL $k ksmbd-server-$srv: $sk server VM:" \
					"$(grep -a '^vm.sh:' "$work/server-$srv.out" | tail -n 1)"
				bad=$((bad + 1))
			fi
		fi
		echo "TIME $k $srv $(($(date +%s) - t0)) s vm.sh rc=$r"
		[ "$rc" != 0 ] || rc=$r
		cat "$work/vm-$k-$srv.log" >>"$log"
		{ cat "$work/vm-$k-$srv.log"; [ -z "$sk" ] || cat "$work/server-$srv.log"; } |
			grep -ah 'KSMBD-SETUP' | sed "s/^/  $srv: /" || true
	done
	mkdir -p .cache/ksmbd && cp "$log" ".cache/ksmbd/vm-$k.log"
	[ -z "$sk" ] || cp "$slog" ".cache/ksmbd/vm-$k-server.log"
	total_f=$((total_f + bad))
	# A ksmbd that serves nothing is one failure with its reason, not a
	# failure for every scenario that could not run.
	if cat "$log" "$slog" | grep -aq 'KSMBD-SETUP-FAIL'; then
		cat "$log" "$slog" | grep -ah 'KSMBD-SETUP-FAIL' |
			sed "s/^/FAIL $k ksmbd-setup: /"
		total_f=$((total_f + 1))
		continue
	fi
	out=$(python3 scripts/tests/e2e_check.py --scenarios "$scen" --no-lifecycle \
		--log "$log" --kernel "$k" --vm-rc "$rc" || true)
	echo "$out" | grep -v '^[0-9]* passed'
	{ grep -h -m 40 'smbvn: refused' "$log" || true; } | sed 's/^/  kernel-log: /'
	p=$(echo "$out" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
	f=$(echo "$out" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
	total_p=$((total_p + ${p:-0}))
	total_f=$((total_f + ${f:-1}))
done
echo "KSMBD: $total_p passed, $total_f failed"
[ "$total_f" = 0 ]
