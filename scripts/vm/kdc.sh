#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Private Samba AD domain controller for the Kerberos VM tests.
#
#   kdc.sh start DIR PORT   provision realm SMBVN.TEST afresh into DIR and
#                           start it on 127.0.0.1 only:
#                             PORT    SMB (share [data] with hello.txt)
#                             PORT+1  Kerberos KDC (TCP and UDP)
#                             PORT+2  kpasswd (the kdc service opens it)
#                             PORT+3  SMB again, from a second smbd capped at
#                                     "server max protocol = SMB2_10"
#                           then add the test user and write DIR/env,
#                           DIR/krb5.conf (for the host's MIT tools) and
#                           DIR/krb5cc (that user's TGT, nothing else).
#   kdc.sh stop DIR         stop both instances, wait until they are gone
#   kdc.sh pids DIR         list the pids of both instances' processes
#
# The DC is "dc.smbvn.test" (NetBIOS DC); its machine account carries
# host/dc.smbvn.test, which the KDC maps to cifs/dc.smbvn.test (AD's
# sPNMappings).  The user is smbvnkrb, password in $KDC_PASS below.
#
# Everything lives under DIR: the provisioned database, config, logs,
# sockets, the share.  Nothing of the host's own Samba is touched: the
# services run are s3fs (smbd), kdc and winbindd only, bound to 127.0.0.1
# on the ports above (no DNS, LDAP, CLDAP, RPC endpoint mapper or NetBIOS).
# smbd finds winbindd only at the compiled-in /run/samba/winbindd, so each
# instance runs in a mount namespace of its own in which DIR/run is
# bind-mounted there; the host's /run/samba is left alone.
#
# DIR is provisioned anew by every start (about 10 s): no state from an
# earlier run can decide an outcome.
set -euo pipefail

REALM=SMBVN.TEST
DOMAIN=SMBVN
DC_HOST=dc
DC_FQDN=dc.smbvn.test
KDC_USER=smbvnkrb
KDC_PASS=Smbvn-Krb5-pass1
ADMIN_PASS=Smbvn-Admin-pass1

die() { echo "kdc.sh: $*" >&2; exit 1; }

usage() {
	echo "usage: $0 start DIR PORT | stop DIR | pids DIR" >&2
	exit 2
}

# The AD DC (samba, samba-tool and the provisioning schema) and MIT's
# kinit/kvno; scripts/tests/krb5-e2e.sh installs them, a stand-alone caller on a
# fresh Debian 12 gets them here.  Installing must not leave the package's
# own services running on the standard ports.
need_pkgs() {
	bash "$(dirname "$0")/../build/apt-need.sh" samba-ad-dc samba-ad-provision \
		krb5-user smbclient
}

port_busy() {	# port_busy PORT: something accepts TCP on 127.0.0.1:PORT
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

wait_port() {	# wait_port PORT PID: until PORT accepts, PID alive, 60 s
	local i
	for i in $(seq 1 120); do
		port_busy "$1" && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.5
	done
	return 1
}

# write_conf DIR INST SMBPORT KRBPORT SERVICES MAXPROTO: the smb.conf of
# one instance.  Both share the provisioned database (private dir) and the
# winbindd socket (DIR/run); each has its own lock, state, cache, pid and
# log directories under DIR/INST.
write_conf() {
	local dir=$1 inst=$2 smbport=$3 krbport=$4 services=$5 maxproto=$6
	local d=$dir/$inst
	mkdir -p "$d"/{etc,lock,state,cache,pid,ncalrpc,log}
	cat >"$d/etc/smb.conf" <<EOF
[global]
	server role = active directory domain controller
	workgroup = $DOMAIN
	realm = $REALM
	netbios name = ${DC_HOST^^}
	disable netbios = yes
	interfaces = 127.0.0.1
	bind interfaces only = yes
	smb ports = $smbport
	krb5 port = $krbport
	kpasswd port = $((krbport + 1))
	server services = $services
	prefork children = 1
	server min protocol = SMB2_02
	server max protocol = $maxproto
	private dir = $dir/prov/private
	binddns dir = $dir/prov/bind-dns
	state directory = $d/state
	lock directory = $d/lock
	cache directory = $d/cache
	pid directory = $d/pid
	ncalrpc dir = $d/ncalrpc
	ntp signd socket directory = $d/ntp_signd
	log file = $d/log/samba.log
	max log size = 0
	log level = 1 kerberos:3
	idmap_ldb:use rfc2307 = yes
	load printers = no
	printing = bsd
	printcap name = /dev/null
	disable spoolss = yes

[data]
	path = $dir/share
	read only = yes
EOF
}

# start_inst DIR INST PORT: samba for DIR/INST/etc/smb.conf in its own
# session (so that the whole process tree is one group to signal) and
# its own mount namespace (see the header); waits until PORT accepts.
start_inst() {
	local dir=$1 inst=$2 port=$3 pid
	# shellcheck disable=SC2016
	setsid unshare --mount --propagation private \
		sh -c 'mount --bind "$1" /run/samba && exec samba -F --no-process-group -s "$2"' \
		sh "$dir/run" "$dir/$inst/etc/smb.conf" \
		</dev/null >"$dir/$inst/log/samba.out" 2>&1 &
	pid=$!
	echo "$pid" >"$dir/$inst/samba.pid"
	if ! wait_port "$port" "$pid"; then
		echo "kdc.sh: $inst did not accept connections on 127.0.0.1:$port within 60 s" >&2
		tail -n 20 "$dir/$inst/log/samba.out" "$dir/$inst/log/samba.log" >&2 2>/dev/null || true
		stop_inst "$dir/$inst"
		return 1
	fi
}

# tree PID: PID and all its descendants.  smbd and winbindd start sessions
# of their own, so the process group of samba alone does not reach them.
tree() {
	ps -eo pid=,ppid= | awk -v root="$1" '
		{ parent[$1] = $2; pids[NR] = $1 }
		END {
			keep[root] = 1
			do {
				more = 0
				for (i in pids) {
					p = pids[i]
					if (!(p in keep) && (parent[p] in keep)) {
						keep[p] = 1; more = 1
					}
				}
			} while (more)
			for (p in keep) print p
		}'
}

inst_pids() {	# inst_pids DIR/INST: the live processes of that instance
	local d=$1 pid
	[ -f "$d/samba.pid" ] || return 0
	pid=$(cat "$d/samba.pid")
	kill -0 "$pid" 2>/dev/null || return 0
	tree "$pid" | while read -r p; do
		kill -0 "$p" 2>/dev/null && echo "$p"
	done
	return 0
}

stop_inst() {	# stop_inst DIR/INST: TERM the tree, KILL after 5 s
	local d=$1 pid i p alive all
	[ -f "$d/samba.pid" ] || return 0
	pid=$(cat "$d/samba.pid")
	all=$(inst_pids "$d")
	# shellcheck disable=SC2086
	kill -TERM $all 2>/dev/null || true
	for i in $(seq 1 40); do
		alive=
		for p in $all; do
			kill -0 "$p" 2>/dev/null && alive="$alive $p"
		done
		[ -z "$alive" ] && break
		# shellcheck disable=SC2086
		[ "$i" = 20 ] && kill -KILL $alive 2>/dev/null
		sleep 0.25
	done
	# Our own child when start_inst failed: reap it.
	wait "$pid" 2>/dev/null || true
	if [ -n "$alive" ]; then
		echo "kdc.sh: processes$alive of $d are still alive" >&2
		return 1
	fi
	rm -f "$d/samba.pid"
}

start() {
	local dir=$1 port=$2 p
	[[ $port =~ ^[0-9]+$ ]] || die "bad port '$port'"
	need_pkgs
	for p in "$port" $((port + 1)) $((port + 2)) $((port + 3)); do
		! port_busy "$p" || die "127.0.0.1:$p is already in use"
	done
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	[ ! -f "$dir/dc/samba.pid" ] || die "a DC from $dir is running: stop it first"
	# Fresh every time: the database from an earlier run is never reused.
	find "$dir" -mindepth 1 -delete
	mkdir -p "$dir"/{run,share}

	samba-tool domain provision --realm="$REALM" --domain="$DOMAIN" \
		--server-role=dc --dns-backend=NONE --use-rfc2307 \
		--host-name="$DC_HOST" --host-ip=127.0.0.1 \
		--adminpass="$ADMIN_PASS" --targetdir="$dir/prov" \
		--option="interfaces=127.0.0.1" --option="bind interfaces only=yes" \
		>"$dir/provision.out" 2>&1 ||
		{ tail -n 20 "$dir/provision.out" >&2; die "provision failed"; }
	# The provisioned database stays in DIR/prov; its smb.conf is not used.
	write_conf "$dir" dc "$port" $((port + 1)) "s3fs, kdc, winbindd" SMB3_11
	write_conf "$dir" dc21 $((port + 3)) $((port + 1)) "s3fs" SMB2_10
	testparm -s "$dir/dc/etc/smb.conf" >/dev/null 2>"$dir/testparm.out" ||
		{ cat "$dir/testparm.out" >&2; die "testparm rejects the config"; }

	samba-tool user add "$KDC_USER" "$KDC_PASS" -s "$dir/dc/etc/smb.conf" \
		>>"$dir/provision.out" 2>&1 || die "samba-tool user add failed"
	samba-tool user setexpiry "$KDC_USER" --noexpiry \
		-s "$dir/dc/etc/smb.conf" >>"$dir/provision.out" 2>&1 ||
		die "samba-tool user setexpiry failed"

	# smbd serves the share as the user's mapped uid: world-readable, and
	# every directory above it searchable.
	printf 'smbvn-krb5-hello\n' >"$dir/share/hello.txt"
	chmod 644 "$dir/share/hello.txt"
	chmod 755 "$dir/share"
	local d=$dir
	while [ "$d" != / ]; do
		[ -n "$(find "$d" -maxdepth 0 -perm -o+x)" ] || chmod o+x "$d"
		d=$(dirname "$d")
	done

	start_inst "$dir" dc "$port" || die "the DC did not start"
	# The KDC listens on TCP too; wait for it before anyone asks.
	wait_port $((port + 1)) "$(cat "$dir/dc/samba.pid")" ||
		{ stop_inst "$dir/dc"; die "the KDC did not start"; }
	start_inst "$dir" dc21 $((port + 3)) ||
		{ stop_inst "$dir/dc"; die "the SMB2_10 instance did not start"; }

	cat >"$dir/krb5.conf" <<EOF
[libdefaults]
	default_realm = $REALM
	dns_lookup_kdc = false
	dns_lookup_realm = false
	dns_canonicalize_hostname = false
	rdns = false
	udp_preference_limit = 1
[realms]
	$REALM = {
		kdc = 127.0.0.1:$((port + 1))
	}
[domain_realm]
	.smbvn.test = $REALM
	smbvn.test = $REALM
EOF
	local i ok=
	for i in $(seq 1 20); do
		if printf '%s\n' "$KDC_PASS" | KRB5_CONFIG=$dir/krb5.conf \
			KRB5CCNAME=FILE:$dir/krb5cc kinit "$KDC_USER@$REALM" \
			>"$dir/kinit.out" 2>&1; then
			ok=1
			break
		fi
		sleep 0.5
	done
	[ -n "$ok" ] || { cat "$dir/kinit.out" >&2; stop "$dir"; die "kinit failed"; }
	chmod 600 "$dir/krb5cc"
	cat >"$dir/env" <<EOF
KDC_REALM=$REALM
KDC_FQDN=$DC_FQDN
KDC_USER=$KDC_USER
PORT_SMB=$port
PORT_KDC=$((port + 1))
PORT_SMB21=$((port + 3))
EOF
	echo "kdc.sh: DC $DC_FQDN realm $REALM: smb 127.0.0.1:$port," \
		"kdc :$((port + 1)), SMB2_10 smb :$((port + 3)); dir=$dir"
}

pids() {	# every live process of both instances, one pid a line
	local dir=$1 inst
	for inst in dc dc21; do
		inst_pids "$dir/$inst"
	done
}

stop() {
	local dir=$1 rc=0 inst
	for inst in dc21 dc; do
		stop_inst "$dir/$inst" || rc=1
	done
	[ $rc = 0 ] && echo "kdc.sh: stopped the DC in $dir"
	return $rc
}

case ${1:-} in
start) [ $# -eq 3 ] || usage; start "$2" "$3" ;;
stop) [ $# -eq 2 ] || usage; stop "$2" ;;
pids) [ $# -eq 2 ] || usage; pids "$2" ;;
*) usage ;;
esac
