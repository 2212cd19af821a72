#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Private Samba server for the VM tests.
#
#   samba.sh start DIR PORT [mandatory] [KEY=VALUE...]
#                                         start smbd on 127.0.0.1:PORT
#   samba.sh stop DIR                     stop it and wait until it is gone
#
# "mandatory" is short for "server signing=mandatory".  Each KEY=VALUE is
# an smb.conf [global] parameter, e.g. "server max protocol=SMB2_10" or
# "server smb encrypt=required": it replaces the line of that name that
# this script writes by default (keys compare as smb.conf does: case and
# spaces do not matter) or is added to [global].  smbd must accept every
# line: testparm's complaints about the result make start fail.
#
# SAMBA_LOG_LEVEL sets smbd's "log level" (default 1).
# With SAMBA_USERS=N in the environment, start also creates users
# stress01..N (password smbvnpass) and shares s01..N, each readable only
# by its own user and holding a hello.txt that says "stress-NN".
# With SAMBA_ADDRS="A [B...]" (addresses already configured on this host)
# smbd also listens on those and advertises them as its network interfaces,
# which is what an SMB 3 multichannel client adds its extra channels to.
#
# Every piece of state (config, tdbs, pid, logs, the share itself) lives
# under DIR, so several instances on different ports can run side by side
# and nothing touches the host's own Samba setup.
set -euo pipefail

user=smbvn
pass=smbvnpass

die() { echo "samba.sh: $*" >&2; exit 1; }

usage() {
	echo "usage: $0 start DIR PORT [mandatory] [KEY=VALUE...] | stop DIR" >&2
	exit 2
}

# Samba needs all of these; scripts/build/deps.sh normally brings them, but a
# stand-alone caller on a fresh Debian 12 should work too.
need_pkgs() {
	command -v smbd >/dev/null && command -v smbpasswd >/dev/null && return
	bash "$(dirname "$0")/../build/apt-need.sh" samba
}

# smbd serves files as the mapped Unix user, so every directory above the
# share must be searchable by "other".
make_traversable() {
	local d=$1
	while [ "$d" != / ]; do
		d=$(dirname "$d")
		[ -n "$(find "$d" -maxdepth 0 -perm -o+x)" ] || chmod o+x "$d"
	done
}

# Normalised smb.conf parameter name: lower case, no spaces or tabs.
conf_key() {
	printf '%s' "$1" | tr -d ' \t' | tr '[:upper:]' '[:lower:]'
}

# apply_overrides FILE KEY=VALUE...: set [global] parameters in FILE.
apply_overrides() {
	local f=$1 kv
	shift
	for kv in "$@"; do
		awk -v key="$(conf_key "${kv%%=*}")" -v line="	${kv%%=*} = ${kv#*=}" '
		function norm(s) { gsub(/[ \t]/, "", s); return tolower(s) }
		/^\[/ {
			if (global && !done) { print line; done = 1 }
			global = ($0 == "[global]")
		}
		global && !done && index($0, "=") &&
		    norm(substr($0, 1, index($0, "=") - 1)) == key {
			print line; done = 1; next
		}
		{ print }
		END { if (!done) print line }' "$f" >"$f.new"
		mv "$f.new" "$f"
	done
}

write_conf() {
	local dir=$1 port=$2
	shift 2
	cat >"$dir/smb.conf" <<EOF
[global]
	server role = standalone server
	workgroup = SMBVN
	netbios name = SMBVN-$port
	disable netbios = yes
	smb ports = $port
	interfaces = 127.0.0.1${SAMBA_ADDRS:+ $SAMBA_ADDRS}
	bind interfaces only = yes
	server min protocol = SMB2_02
	server max protocol = SMB3_11
	server signing = default
	map to guest = Bad User
	guest account = nobody
	passdb backend = tdbsam:$dir/private/passdb.tdb
	private dir = $dir/private
	state directory = $dir/state
	lock directory = $dir/lock
	cache directory = $dir/cache
	pid directory = $dir/pid
	ncalrpc dir = $dir/ncalrpc
	binddns dir = $dir/binddns
	usershare path = $dir/usershares
	log file = $dir/log/smbd.log
	max log size = 0
	log level = ${SAMBA_LOG_LEVEL:-1}
	load printers = no
	printing = bsd
	printcap name = /dev/null
	disable spoolss = yes

[data]
	path = $dir/share
	read only = no
	valid users = $user

[guest]
	path = $dir/share
	guest ok = yes
	read only = yes
EOF
	local i
	for i in $(extra_users); do
		printf '\n[s%s]\n\tpath = %s/s%s\n\tread only = no\n\tvalid users = stress%s\n' \
			"$i" "$dir" "$i" "$i" >>"$dir/smb.conf"
	done
	apply_overrides "$dir/smb.conf" "$@"
}

# 01 02 ... for SAMBA_USERS=N.
extra_users() {
	local n=${SAMBA_USERS:-0}
	[[ $n =~ ^[0-9]+$ ]] && [ "$n" -le 99 ] || die "bad SAMBA_USERS '$n'"
	[ "$n" -gt 0 ] || return 0
	seq -f '%02g' 1 "$n"
}

add_user() {	# add_user NAME DIR: Unix account (no home, no login) + passdb
	local u=$1 dir=$2
	bash "$(dirname "$0")/unix-user.sh" "$u"
	printf '%s\n%s\n' "$pass" "$pass" |
		smbpasswd -c "$dir/smb.conf" -a -s "$u" >>"$dir/log/smbpasswd.out" 2>&1 ||
		die "smbpasswd $u failed, see $dir/log/smbpasswd.out"
}

# A misspelt parameter or value is only a warning to smbd, which would then
# serve its default silently: testparm names it.
check_conf() {
	local out
	command -v testparm >/dev/null || return 0
	out=$(testparm -s "$1" 2>&1 >/dev/null |
		grep -iE 'unknown parameter|invalid|ignoring|error' || true)
	[ -z "$out" ] || die "testparm objects to $1: $out"
}

wait_port() {
	local port=$1 pid=$2 i
	for i in $(seq 1 40); do
		# bash's /dev/tcp avoids needing nc/ss on the host.
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.5
	done
	return 1
}

start() {
	local dir=$1 port=$2 pid kv sets=()
	shift 2
	if [ "${1:-}" = mandatory ]; then
		sets+=("server signing=mandatory")
		shift
	fi
	for kv in "$@"; do
		[[ $kv =~ ^[A-Za-z0-9][A-Za-z0-9\ ]*=[^$'\n']*$ ]] ||
			die "not a KEY=VALUE smb.conf setting: '$kv'"
		sets+=("$kv")
	done
	[[ $port =~ ^[0-9]+$ ]] || die "bad port '$port'"
	need_pkgs
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	if [ -f "$dir/smbd.pid" ] && kill -0 "$(cat "$dir/smbd.pid")" 2>/dev/null; then
		die "an smbd from $dir is already running (pid $(cat "$dir/smbd.pid"))"
	fi
	mkdir -p "$dir"/{share,private,state,lock,cache,pid,ncalrpc,binddns,usershares,log}
	chmod 700 "$dir/private"
	# usershare path must not be world-writable or smbd complains.
	chmod 755 "$dir/usershares"

	bash "$(dirname "$0")/unix-user.sh" "$user"
	make_traversable "$dir/share"
	chmod 755 "$dir" "$dir/share"
	chown "$user:" "$dir/share"
	printf 'smbvn-hello\n' >"$dir/share/hello.txt"
	chmod 644 "$dir/share/hello.txt"

	write_conf "$dir" "$port" "${sets[@]}"
	check_conf "$dir/smb.conf"
	: >"$dir/log/smbpasswd.out"
	add_user "$user" "$dir"
	local i
	for i in $(extra_users); do
		add_user "stress$i" "$dir"
		mkdir -p "$dir/s$i"
		chown "stress$i:" "$dir/s$i"
		chmod 755 "$dir/s$i"
		printf 'stress-%s\n' "$i" >"$dir/s$i/hello.txt"
		chmod 644 "$dir/s$i/hello.txt"
	done

	# setsid: smbd -F kills its process group on shutdown, which would be
	# our caller's group without a session of its own.
	setsid smbd -F --no-process-group -s "$dir/smb.conf" \
		</dev/null >"$dir/log/smbd.out" 2>&1 &
	pid=$!
	echo "$pid" >"$dir/smbd.pid"
	if ! wait_port "$port" "$pid"; then
		echo "samba.sh: smbd did not accept connections on 127.0.0.1:$port within 20 s" >&2
		tail -n 20 "$dir/log/smbd.out" "$dir/log/smbd.log" >&2 2>/dev/null || true
		# Still our child here: reap it, or its zombie looks alive.
		kill -KILL -- "-$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		rm -f "$dir/smbd.pid"
		exit 1
	fi
	echo "samba.sh: smbd pid $pid on 127.0.0.1:$port ${sets[*]:+with $(printf '"%s" ' "${sets[@]}")}dir=$dir"
}

stop() {
	local dir=$1 pid i
	[ -f "$dir/smbd.pid" ] || { echo "samba.sh: no smbd.pid in $dir" >&2; return 0; }
	pid=$(cat "$dir/smbd.pid")
	# setsid made smbd a process-group leader: signal the group so forked
	# children (per-connection smbd, samba-dcerpcd) go too.
	kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
	for i in $(seq 1 40); do
		kill -0 -- "-$pid" 2>/dev/null || break
		[ "$i" = 20 ] && kill -KILL -- "-$pid" 2>/dev/null
		sleep 0.25
	done
	if kill -0 -- "-$pid" 2>/dev/null; then
		die "smbd process group $pid is still alive"
	fi
	rm -f "$dir/smbd.pid"
	echo "samba.sh: stopped smbd pid $pid"
}

case ${1:-} in
start) [ $# -ge 3 ] || usage; shift; start "$@" ;;
stop) [ $# -eq 2 ] || usage; stop "$2" ;;
*) usage ;;
esac
