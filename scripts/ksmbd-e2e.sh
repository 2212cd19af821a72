#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The end-to-end scenarios against a second server, ksmbd, the in-kernel
# SMB server (userspace: Debian 12's ksmbd-tools).  The host kernel has no
# modules, so ksmbd runs inside each test guest next to the cifs client;
# qemu forwards 127.0.0.1:PORT on the host to guest port 445, the host
# runs scripts/smbproxy.py in front of that port, and the guest mounts
# 10.0.2.2 (the host): honest scenarios straight to the forwarded port,
# tamper scenarios through the proxy.  ksmbd has one global configuration,
# so every kernel boots twice: K (server signing = auto) and KM
# (mandatory).  Every scenario of scripts/ksmbd-scenarios.txt runs under
# stock cifs, smbvn=1 and smbvn=0.  Ends with "KSMBD: N passed, N failed".
#
#   KSMBD_KERNELS      releases to test        (both of scripts/deps.sh)
#   KSMBD_PORT_BASE    first host port          (14900)
#   KSMBD_VM_TIMEOUT   seconds per VM           (1500)
#   KSMBD_SCENARIOS    scenario file            (scripts/ksmbd-scenarios.txt)
#   KSMBD_MOUNTD_OPTS  extra ksmbd.mountd options, e.g. -v  (none)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
scen=${KSMBD_SCENARIOS:-scripts/ksmbd-scenarios.txt}
base=${KSMBD_PORT_BASE:-14900}
work=$(mktemp -d /tmp/smbvn-ksmbd.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT

bash scripts/deps.sh >/dev/null
read -r -a kernels <<<"${KSMBD_KERNELS:-$(bash scripts/deps.sh releases)}"

# ksmbd-tools is not installed but unpacked: the package Conflicts with
# samba, which the rest of the suite needs on this host.  Its libraries are
# ordinary packages and are installed when missing.
kt=.cache/ksmbd-tools
if [ ! -x "$kt/usr/libexec/ksmbd.tools" ]; then
	mkdir -p .cache/deb
	(cd .cache/deb && { apt-get download -qq ksmbd-tools 2>/dev/null ||
		{ apt-get update -qq && apt-get download -qq ksmbd-tools 2>/dev/null; }; })
	rm -rf "$kt"
	dpkg-deb -x .cache/deb/ksmbd-tools_*.deb "$kt"
fi
tools=$kt/usr/libexec/ksmbd.tools
if ldd "$tools" | grep -q 'not found'; then
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends libglib2.0-0 \
		libnl-3-200 libnl-genl-3-200 >/dev/null
fi
mkdir -p "$work/bin"
cp "$tools" "$work/bin/ksmbd.tools"
# Everything but the loader, which the base image already has.
for lib in $(ldd "$tools" | awk '$2 == "=>" { print $3 }'); do
	cp -L "$lib" "$work/bin/"
done

# The same account and share content as scripts/samba.sh.
printf '[global]\n\tnetbios name = X\n' >"$work/bootstrap.conf"
ln -sf "$top/$tools" "$work/ksmbd.adduser"
"$work/ksmbd.adduser" -a smbvn -p smbvnpass -i "$work/ksmbdpwd.db" \
	-c "$work/bootstrap.conf" >/dev/null
for srv in K KM; do
	mkdir -p "$work/$srv"
	signing=auto
	[ $srv = KM ] && signing=mandatory
	cat >"$work/$srv/ksmbd.conf" <<EOF
[global]
	netbios name = SMBVN-KSMBD
	server min protocol = SMB2_10
	server max protocol = SMB3_11
	server signing = $signing
	map to guest = bad user
	guest account = nobody

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
ln -s "$top/scripts/ksmbd-guest-setup.sh" "$work/server-setup.sh"

for k in "${kernels[@]}"; do
	make -s KROOT=".cache/k/$k" >/dev/null
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

# One forwarded port per ksmbd configuration (only one VM runs at a time,
# but distinct ports keep a stale connection from reaching the wrong one),
# one proxy per configuration, one proxy port per tamper mode.
declare -A port=([K]=$((base)) [KM]=$((base + 1)))
next=$((base + 10))
for srv in K KM; do
	maps=()
	for t in $(awk '!/^#/ && NF {print $2}' "$scen" | sort -u); do
		[ "${t%%:*}" = "$srv" ] && [ "$t" != "$srv" ] || continue
		port[$t]=$next
		maps+=(--map "$next:${t#*:}")
		next=$((next + 1))
	done
	[ ${#maps[@]} -gt 0 ] || continue
	python3 scripts/smbproxy.py --target "127.0.0.1:${port[$srv]}" \
		"${maps[@]}" --log "$work/proxy-$srv.log" >"$work/proxy-$srv.out" &
	pids+=($!)
	for _ in $(seq 50); do grep -q ready "$work/proxy-$srv.out" && break; sleep 0.1; done
done

for srv in K KM; do
	awk '!/^#/ && NF {print $1, $2, $3, $4, $5}' "$scen" |
		while read -r name target share vers opts; do
			[ "${target%%:*}" = "$srv" ] || continue
			echo "$name ${port[$target]} $share $vers $opts"
		done >"$work/$srv/scenarios"
	printf 'SCENARIOS_ONLY=1\nKSMBD_MOUNTD_OPTS="%s"\n' \
		"${KSMBD_MOUNTD_OPTS:-}" >"$work/$srv/env"
done

total_p=0 total_f=0
for k in "${kernels[@]}"; do
	log=$work/vm-$k.log
	: >"$log"
	rc=0
	for srv in K KM; do
		r=0
		t0=$(date +%s)
		VM_LOG=$work/vm-$k-$srv.log VM_TIMEOUT=${KSMBD_VM_TIMEOUT:-1500} \
			VM_NETDEV_OPTS="hostfwd=tcp:127.0.0.1:${port[$srv]}-:445" \
			bash scripts/vm.sh "$k" scripts/e2e-guest.sh \
			"build/$k/smbvn.ko" "$work/$srv/scenarios" "$work/$srv/env" \
			"$work/$srv/ksmbd.conf" "$work/ksmbdpwd.db" \
			"$work/server-setup.sh" "$work/mod-$k"/* "$work/bin"/* \
			>/dev/null 2>&1 || r=$?
		echo "TIME $k $srv $(($(date +%s) - t0)) s vm.sh rc=$r"
		[ "$rc" != 0 ] || rc=$r
		cat "$work/vm-$k-$srv.log" >>"$log"
		grep -ah 'KSMBD-SETUP' "$work/vm-$k-$srv.log" | sed "s/^/  $srv: /" || true
	done
	mkdir -p .cache/ksmbd && cp "$log" ".cache/ksmbd/vm-$k.log"
	# A ksmbd that serves nothing is one failure with its reason, not a
	# failure for every scenario that could not run.
	if grep -aq 'KSMBD-SETUP-FAIL' "$log"; then
		grep -ah 'KSMBD-SETUP-FAIL' "$log" | sed "s/^/FAIL $k ksmbd-setup: /"
		total_f=$((total_f + 1))
		continue
	fi
	out=$(python3 scripts/e2e_check.py --scenarios "$scen" --no-lifecycle \
		--log "$log" --kernel "$k" --vm-rc "$rc" || true)
	echo "$out" | grep -v '^[0-9]* passed'
	{ grep -h 'smbvn: refused' "$log" || true; } | sed 's/^/  kernel-log: /' | head -40
	p=$(echo "$out" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
	f=$(echo "$out" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
	total_p=$((total_p + ${p:-0}))
	total_f=$((total_f + ${f:-1}))
done
echo "KSMBD: $total_p passed, $total_f failed"
[ "$total_f" = 0 ]
