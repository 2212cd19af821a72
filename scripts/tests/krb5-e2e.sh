#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Kerberos end to end (make kerberos): a Samba AD DC on the host loopback
# (scripts/vm/kdc.sh: realm SMBVN.TEST, DC dc.smbvn.test), the tamper proxy
# scripts/proxy/smbproxy.py in guid mode in front of it, and one VM per Debian
# kernel (scripts/tests/krb5-guest.sh) that mounts //dc.smbvn.test/data with
# sec=krb5 through the real cifs.upcall/request-key path, under stock cifs,
# smbvn=1 and smbvn=0:
#
#   krb5-3.0, krb5-3.02      validated under smbvn=1
#   krb5-3.1.1               the signed tree connect verified under smbvn=1
#   krb5-2.1-after-offer     vers=default against the DC's SMB2_10 smbd:
#                            2.1 negotiated after a 3.x offer, validated
#   krb5-tamper-guid         through the proxy: stock mounts, smbvn=1
#                            refuses with EPROTO, rule=guid-mismatch
#   krb5-L8-nouser           mount(2) without mount.cifs and without user=
#                            (review finding L8): validated, not refused as
#                            a guest
#   krb5-L8-nouser-tamper    the same through the proxy: refused, which
#                            shows the no-user session really is validated
#
# Every check prints one "PASS|FAIL <kernel|host> <label>: detail" line;
# the last line is "KRB5: N passed, M failed".
#
#   KRB5_KERNELS     kernels (default: scripts/build/deps.sh releases)
#   KRB5_PORT_BASE   first host port (default 15100): SMB base, KDC base+1,
#                    kpasswd base+2, SMB2_10 SMB base+3, proxy base+10
#   KRB5_VM_TIMEOUT  seconds per VM (default 900)
#
# Logs of the last run: .cache/krb5/ (VM consoles, DC and proxy logs).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
base=${KRB5_PORT_BASE:-15100}
work=$(mktemp -d /tmp/smbvn-krb5.XXXXXX)
chmod 755 "$work"
t_start=$(date +%s)

pids=()
vmpid=
stop_vm() {	# the VM running in the background, if any: qemu first
	[ -n "$vmpid" ] || return 0
	for _ in $(seq 1 40); do
		[ -f "$work/qemu.pid" ] && kill "$(cat "$work/qemu.pid")" 2>/dev/null
		kill "$vmpid" 2>/dev/null || break
		sleep 0.25
	done
	wait "$vmpid" 2>/dev/null || true
	vmpid=
}
cleanup() {
	local p
	stop_vm
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	if [ -d "$work/kdc" ]; then
		mkdir -p .cache/krb5
		cp "$work"/kdc/dc/log/samba.log .cache/krb5/dc-samba.log 2>/dev/null || true
		cp "$work"/kdc/dc21/log/samba.log .cache/krb5/dc21-samba.log 2>/dev/null || true
		bash scripts/vm/kdc.sh stop "$work/kdc" >/dev/null 2>&1 || true
	fi
	cp "$work/proxy.log" .cache/krb5/proxy.log 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

rm -rf .cache/krb5
mkdir -p .cache/krb5
bash scripts/build/deps.sh >/dev/null
# The AD DC, MIT's client tools and request-key.  Installing samba-ad-dc
# must not leave the distribution's services running (deps.sh stops them
# too; this covers a first install here).
pkgs=(samba-ad-dc samba-ad-provision krb5-user keyutils smbclient cifs-utils
      python3 iproute2)
bash scripts/build/apt-need.sh "${pkgs[@]}"

read -r -a kernels <<<"${KRB5_KERNELS:-$(bash scripts/build/deps.sh releases)}"
for k in "${kernels[@]}"; do
	make -s KROOT=".cache/k/$k" >/dev/null
done

passed=0 failed=0
result() {	# result OK(0/1 as shell status) LABEL DETAIL
	if [ "$1" = 0 ]; then
		passed=$((passed + 1)); echo "PASS host $2: $3"
	else
		failed=$((failed + 1)); echo "FAIL host $2: $3"
	fi
}

# --- the DC and the proxy -------------------------------------------------
if ! bash scripts/vm/kdc.sh start "$work/kdc" "$base" >"$work/kdc.out"; then
	echo "FAIL host dc-start: scripts/vm/kdc.sh start failed (its reason above)"
	echo "KRB5: 0 passed, 1 failed"
	exit 1
fi
# shellcheck disable=SC1091
. "$work/kdc/env"
PORT_GUID=$((base + 10))
python3 scripts/proxy/smbproxy.py --target "127.0.0.1:$PORT_SMB" \
	--map "$PORT_GUID:guid" --log "$work/proxy.log" >"$work/proxy.out" 2>&1 &
pids+=($!)
for _ in $(seq 50); do
	grep -q ready "$work/proxy.out" && break
	sleep 0.1
done
grep -q ready "$work/proxy.out" && r=0 || r=1
result "$r" proxy-ready "smbproxy.py guid mode on 127.0.0.1:$PORT_GUID -> :$PORT_SMB"

export KRB5_CONFIG=$work/kdc/krb5.conf
klist -c "$work/kdc/krb5cc" 2>&1 | grep -q "krbtgt/$KDC_REALM@$KDC_REALM" && r=0 || r=1
result "$r" kinit "TGT of $KDC_USER@$KDC_REALM in the ccache shipped to the guests"
# The guest must fetch the service ticket itself: the checks below use a
# copy of the ccache.
cp "$work/kdc/krb5cc" "$work/host.cc"
out=$(KRB5CCNAME=FILE:$work/host.cc kvno "cifs/$KDC_FQDN@$KDC_REALM" 2>&1) && r=0 || r=1
result "$r" spn-cifs "$out"
# winbindd, which smbd needs to map the user, may still be starting.
for p in "$PORT_SMB" "$PORT_SMB21"; do
	for _ in $(seq 20); do
		out=$(KRB5CCNAME=FILE:$work/host.cc timeout 60 smbclient \
			"//$KDC_FQDN/data" -I 127.0.0.1 -p "$p" --use-kerberos=required \
			--use-krb5-ccache="FILE:$work/host.cc" -c 'get hello.txt -' \
			</dev/null 2>&1) || true
		out=$(echo "$out" | head -n 1)
		[ "$out" = smbvn-krb5-hello ] && break
		sleep 1
	done
	[ "$out" = smbvn-krb5-hello ] && r=0 || r=1
	result "$r" "smbclient-krb5-port-$p" "$out"
done
# Loopback only: every listening socket of the DC's processes.
socks=$(ss -Hltunp 2>/dev/null |
	grep -E 'pid=('"$(bash scripts/vm/kdc.sh pids "$work/kdc" | paste -sd '|')"'),' |
	awk '{print $5}' | sort -u | tr '\n' ' ') || true
[ -n "$socks" ] && ! echo "$socks" | tr ' ' '\n' | grep -v '^$' | grep -qv '^127\.0\.0\.1:' && r=0 || r=1
result "$r" dc-loopback-only "listening: $socks"

# --- the guest's Kerberos layer -------------------------------------------
# A cpio unpacked over / by the guest: the programs with the libraries ldd
# names, at the same paths (like scripts/vm/mkinitramfs.sh's copy_prog).
ov=$work/overlay
copy_prog() {	# copy_prog SRC DST
	local lib
	install -D -m 755 "$1" "$ov$2"
	for lib in $(ldd "$1" | grep -o '/[^ ]*'); do
		[ -e "$ov$lib" ] || install -D -m 755 "$(readlink -f "$lib")" "$ov$lib"
	done
}
copy_prog "$(command -v request-key)" /sbin/request-key
copy_prog /usr/sbin/cifs.upcall /usr/sbin/cifs.upcall
copy_prog "$(command -v klist)" /usr/bin/klist
mkdir -p "$ov/etc/request-key.d"
echo '# request-key.conf: see /etc/request-key.d/' >"$ov/etc/request-key.conf"
printf 'create\tcifs.spnego\t*\t*\t/usr/sbin/cifs.upcall %%k\n' \
	>"$ov/etc/request-key.d/cifs.spnego.conf"
printf '127.0.0.1\tlocalhost\n10.0.2.2\t%s %s\n' "$KDC_FQDN" "${KDC_FQDN%%.*}" \
	>"$ov/etc/hosts"
printf 'passwd: files\ngroup: files\nhosts: files\n' >"$ov/etc/nsswitch.conf"
cat >"$ov/etc/krb5.conf" <<EOF
[libdefaults]
	default_realm = $KDC_REALM
	dns_lookup_kdc = false
	dns_lookup_realm = false
	dns_canonicalize_hostname = false
	rdns = false
	udp_preference_limit = 1
	default_ccache_name = FILE:/tmp/krb5cc_%{uid}
[realms]
	$KDC_REALM = {
		kdc = $KDC_FQDN:$PORT_KDC
	}
[domain_realm]
	.${KDC_FQDN#*.} = $KDC_REALM
	${KDC_FQDN#*.} = $KDC_REALM
EOF
(cd "$ov" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) \
	>"$work/krb5-overlay.cpio"
cp "$work/kdc/krb5cc" "$work/krb5cc"
{
	cat "$work/kdc/env"
	echo "PORT_GUID=$PORT_GUID"
} >"$work/env"

# --- the VMs --------------------------------------------------------------
# Expected outcome per row and way (M mounted and read, R refused), the
# counter smbvn=1 must move, and the rule it must log.
judge() {	# judge KERNEL LOG VM-RC
	python3 - "$@" <<'EOF'
import re, sys
kernel, log, vmrc = sys.argv[1], sys.argv[2], int(sys.argv[3])
ROWS = [
    # row                     stock smbvn1 smbvn0 smbvn1-counter    rule           vers
    ("krb5-3.0",              "M",  "M",   "M",   "validated",      None,          "3.0"),
    ("krb5-3.02",             "M",  "M",   "M",   "validated",      None,          "3.02"),
    ("krb5-3.1.1",            "M",  "M",   "M",   "tree_connect_verified", None,   "3.1.1"),
    ("krb5-2.1-after-offer",  "M",  "M",   "M",   "validated",      None,          "2.1"),
    ("krb5-tamper-guid",      "M",  "R",   "M",   "mismatch_guid",  "guid-mismatch", "3.0"),
    ("krb5-L8-nouser",        "M",  "M",   "M",   "validated",      None,          "3.0"),
    ("krb5-L8-nouser-tamper", "M",  "R",   "M",   "mismatch_guid",  "guid-mismatch", "3.0"),
]
WAYS = ("stock", "smbvn1", "smbvn0")
res, stats, mout, checks = {}, {}, {}, []
for line in open(log, errors="replace"):
    line = line.rstrip("\n")
    f = line.split(" ")
    if f[0] == "KRB5" and len(f) >= 5:
        d = dict(x.split("=", 1) for x in f[4:] if "=" in x)
        d["outcome"] = f[3]
        res[(f[1], f[2])] = d
    elif f[0] == "STATS" and len(f) >= 3:
        stats[(f[1], f[2])] = {k: int(v) for k, v in
                               (x.split("=", 1) for x in f[3:] if "=" in x)}
    elif f[0] == "MOUNT-OUT" and len(f) >= 3:
        mout[(f[1], f[2])] = " ".join(f[3:])
    elif f[0] == "CHECK" and len(f) >= 3:
        checks.append((f[1], f[2], " ".join(f[3:])))
    elif f[0] == "INFO" and len(f) >= 3:
        print("INFO %s %s/%s: %s (not asserted)" % (kernel, f[1], f[2],
                                                   " ".join(f[3:])))
passed = failed = 0
def count(ok, label, text):
    global passed, failed
    passed += ok
    failed += not ok
    print("%s %s %s: %s" % ("PASS" if ok else "FAIL", kernel, label, text))
for name, verdict, detail in checks:
    count(verdict == "pass", "check/" + name, detail or "ok")
matrix = []
for row, *exp, ctr, rule, vers in ROWS:
    cells = [row]
    for way, e in zip(WAYS, exp):
        got = res.get((row, way))
        st = stats.get((row, way), {})
        if got is None:
            count(False, "%s/%s expect=%s" % (row, way, e), "no result line")
            cells.append("-")
            continue
        text = " ".join("%s=%s" % (k, got[k]) for k in
                        ("outcome", "rc", "read", "rule", "vers", "user")
                        if k in got)
        if got.get("how", "helper") != "helper":
            text += " how=" + got["how"]
        mounted = got["outcome"] == "mounted" and got["read"] == "ok"
        cells.append("M" if mounted else "R")
        if e == "M":
            ok = mounted and got["vers"] == vers
            if row.startswith("krb5-L8"):
                ok = ok and got["user"] == "no"   # really no user name
            else:
                ok = ok and got["user"] == "yes"
            if way == "smbvn1":
                ok = ok and got["rule"] == "-"
        else:
            # Refused by smbvn: EPROTO, the rule in the log.
            out = mout.get((row, way), "")
            ok = (got["outcome"] == "refused" and got["rule"] == rule and
                  ("error(71)" in out or "Protocol error" in out))
            text += " out=" + (out[:80] or "-")
        count(ok, "%s/%s expect=%s" % (row, way, e), text)
        if way == "smbvn1":
            count(st.get(ctr, 0) >= 1, "%s/%s counter %s" % (row, way, ctr),
                  "moved: %s" % st)
            count(st.get("guest_refused", 0) == 0,
                  "%s/%s no guest_refused" % (row, way), "moved: %s" % st)
            if ctr == "not_applicable":
                count(st.get("validated", 0) == 0,
                      "%s/%s validated not moved" % (row, way),
                      "moved: %s" % st)
        if way == "smbvn0" and e == "M" and ctr == "validated":
            count(st.get("disabled", 0) >= 1 and st.get("validated", 0) == 0,
                  "%s/%s counter disabled" % (row, way), "moved: %s" % st)
    matrix.append(cells)
ended = any(c[0] == "CHECK-END" for c in checks) or \
    any(l.startswith("CHECK-END") for l in open(log, errors="replace"))
count(ended, "check/CHECK-END", "guest finished" if ended else
      "guest stopped before its last check")
count(vmrc == 0, "vm/clean-exit", "vm.sh rc=%d" % vmrc)
print("MATRIX %s %-22s %-6s %-6s %-6s" % ((kernel, "row") + WAYS))
for c in matrix:
    print("MATRIX %s %-22s %-6s %-6s %-6s" % ((kernel,) + tuple(c)))
print("%d passed, %d failed" % (passed, failed))
EOF
}

for k in "${kernels[@]}"; do
	log=$work/vm-$k.log
	rc=0
	# In the background, so that a signal to this script is acted on at
	# once (wait returns) and the cleanup can stop qemu by its pid.
	rm -f "$work/qemu.pid"
	VM_LOG=$log VM_TIMEOUT=${KRB5_VM_TIMEOUT:-900} VM_MEM=${KRB5_VM_MEM:-768} \
		VM_PIDFILE=$work/qemu.pid \
		bash scripts/vm/vm.sh "$k" scripts/tests/krb5-guest.sh "build/$k/smbvn.ko" \
		"$work/env" "$work/krb5cc" "$work/krb5-overlay.cpio" \
		>/dev/null 2>&1 &
	vmpid=$!
	wait "$vmpid" || rc=$?
	vmpid=
	cp "$log" ".cache/krb5/vm-$k.log"
	out=$(judge "$k" "$log" "$rc" || true)
	echo "$out" | grep -v '^[0-9]* passed'
	{ grep -a -m 40 '^KLOG ' "$log" || true; } | cut -d' ' -f2- | sed 's/^/  kernel-log: /'
	p=$(echo "$out" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
	f=$(echo "$out" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-1}))
done
echo "runtime: $(($(date +%s) - t_start)) s"
echo "KRB5: $passed passed, $failed failed"
[ "$failed" = 0 ]
