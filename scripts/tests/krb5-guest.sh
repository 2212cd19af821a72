#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Guest half of the Kerberos suite (scripts/tests/krb5-e2e.sh; run by
# scripts/vm/vm.sh as test.sh).  /extra/ holds smbvn.ko, env (ports, DC name),
# krb5cc (the test user's TGT, obtained on the host) and krb5-overlay.cpio
# (request-key, cifs.upcall, klist with their libraries, /etc/krb5.conf,
# /etc/hosts, /etc/request-key.d/cifs.spnego.conf), which is unpacked over
# / first.
#
# Every row below is mounted with sec=krb5 under smbvn=1, smbvn=0 and stock
# cifs (smbvn not loaded); each attempt prints one line
#   KRB5 ROW WAY OUTCOME rc=N read=ok|bad|- rule=RULE vers=V user=yes|no|-
#        how=helper|direct|direct-emptyuser
# then "STATS ROW WAY counter=delta..." (with smbvn loaded), "KLOG ROW WAY
# line" for each smbvn kernel line and, for a failed mount, "MOUNT-OUT".
# Other checks print "CHECK NAME pass|fail DETAIL".  The host judges.
KO=/extra/smbvn.ko
KNOB=/sys/module/smbvn/parameters/require_secure_negotiate
STATS=/sys/module/smbvn/stats
MNT=/mnt/smb
mkdir -p $MNT
# shellcheck disable=SC1091
. /extra/env
printf 'smbvn-krb5-hello\n' >/tmp/want

check() {	# check NAME CONDITION-RESULT(0/1) DETAIL
	if [ "$2" = 0 ]; then echo "CHECK $1 pass"; else echo "CHECK $1 fail $3"; fi
}

# The Kerberos userspace: the kernel runs /sbin/request-key for a
# cifs.spnego key, which runs cifs.upcall, which gets a service ticket for
# cifs/$KDC_FQDN from the KDC at $KDC_FQDN (10.0.2.2, i.e. the host) with
# the TGT in root's default ccache.
(cd / && cpio -idmu </extra/krb5-overlay.cpio) >/tmp/cpio.out 2>&1
check overlay-unpacked $? "$(tr '\n' ' ' </tmp/cpio.out)"
cp /extra/krb5cc /tmp/krb5cc_0 && chmod 600 /tmp/krb5cc_0
check ccache-installed $? "cp failed"
for f in /sbin/request-key /usr/sbin/cifs.upcall /usr/bin/klist \
	/etc/request-key.d/cifs.spnego.conf /etc/krb5.conf /etc/hosts; do
	[ -e "$f" ]; check "present-$f" $? "missing"
done
/usr/bin/klist >/tmp/klist.out 2>&1
r=$?
sed 's/^/KLIST-BEFORE /' /tmp/klist.out
[ $r = 0 ] && grep -q "krbtgt/$KDC_REALM@$KDC_REALM" /tmp/klist.out &&
	! grep -q "cifs/" /tmp/klist.out
check guest-ccache-has-only-tgt $? "klist rc=$r"

# A failed or dropped mount lets go of its TCP connection asynchronously;
# wait until cifs has none left so that one attempt's log lines never land
# in the next one's.
quiesce() {
	n=0
	while [ $n -lt 60 ] && grep -q 'ConnectionId' /proc/fs/cifs/DebugData 2>/dev/null; do
		sleep 0.5
		n=$((n + 1))
	done
	[ $n -lt 60 ] || echo "WARN connections still open after 30 s"
}

snap() {	# counters as "name=value" lines, empty without smbvn
	[ -d $STATS ] || return 0
	for f in "$STATS"/*; do echo "${f##*/}=$(cat "$f")"; done
}

stats_delta() {	# stats_delta ROW WAY BEFORE AFTER
	d=$(printf '%s\n' "$4" | while IFS='=' read -r k v; do
		old=$(printf '%s\n' "$3" | sed -n "s/^$k=//p")
		[ "$v" != "${old:-0}" ] && printf ' %s=%d' "$k" $((v - ${old:-0}))
	done)
	[ -n "$4" ] && echo "STATS $1 $2${d:- none}"
	return 0
}

# attempt WAY ROW PORT VERS HOW
#   HOW=helper  mount -t cifs, i.e. mount.cifs (which always passes a user
#               name: root's, with sec=krb5)
#   HOW=direct  mount(2) without any helper and without user=, with the
#               options the kernel needs itself (review finding L8)
attempt() {
	way=$1 row=$2 port=$3 vers=$4 how=$5
	quiesce
	before=$(snap)
	dmesg -c >/dev/null
	rc=0
	if [ "$how" = direct ]; then
		o="ip=10.0.2.2,port=$port,sec=krb5,vers=$vers"
		timeout 90 mount -i -t cifs "//$KDC_FQDN/data" $MNT -o "$o" \
			>/tmp/mount.out 2>&1 || rc=$?
		# 6.1 refuses mount(2) without a user option before it
		# connects ("No username specified", EINVAL; 6.12 dropped that
		# check).  There an empty username= is the way to the same
		# session: Kerberos, ses->user_name NULL.  (Not "user=":
		# libmount takes that one for itself and never passes it on.)
		if [ $rc != 0 ] && dmesg | grep -q 'No username specified'; then
			echo "INFO $row $way mount(2) without a user option refused by the kernel before connecting (No username specified); retrying with an empty username="
			how=direct-emptyuser rc=0
			dmesg -c >/dev/null
			timeout 90 mount -i -t cifs "//$KDC_FQDN/data" $MNT \
				-o "$o,username=" >/tmp/mount.out 2>&1 || rc=$?
		fi
	else
		timeout 90 mount -t cifs "//$KDC_FQDN/data" $MNT \
			-o "port=$port,sec=krb5,vers=$vers" \
			>/tmp/mount.out 2>&1 || rc=$?
	fi
	read=- outcome=refused v=- user=-
	if [ $rc = 0 ]; then
		outcome=mounted
		if cmp -s /tmp/want $MNT/hello.txt; then read=ok; else read=bad; fi
		m=$(grep " $MNT cifs " /proc/mounts)
		echo "MOUNTS $row $way $m"
		v=$(echo "$m" | sed -n 's/.*[ ,]vers=\([^,]*\).*/\1/p')
		case $m in *,username=*|*,user=*) user=yes ;; *) user=no ;; esac
		case $m in *,sec=krb5,*|*,sec=krb5\ *) ;; *) outcome=not-krb5 ;; esac
		timeout 60 umount -f $MNT || read=umount-failed
	fi
	rule=$(dmesg | sed -n 's/.*smbvn: refused .* rule=\([^ ]*\).*/\1/p' | head -1)
	echo "KRB5 $row $way $outcome rc=$rc read=$read rule=${rule:--} vers=${v:--} user=$user how=$how"
	dmesg | grep 'smbvn:' | sed "s/^\[[^]]*\] //; s/^/KLOG $row $way /"
	if [ $rc != 0 ]; then
		echo "MOUNT-OUT $row $way $(tr '\n' ' ' </tmp/mount.out)"
		dmesg | grep -i 'cifs' | head -5 | sed "s/^/CIFS-LOG $row $way /"
	fi
	quiesce
	stats_delta "$row" "$way" "$before" "$(snap)"
	return 0
}

# ROW PORT VERS HOW
rows() {
	cat <<EOF
krb5-3.0 $PORT_SMB 3.0 helper
krb5-3.02 $PORT_SMB 3.02 helper
krb5-3.1.1 $PORT_SMB 3.1.1 helper
krb5-2.1-after-offer $PORT_SMB21 default helper
krb5-tamper-guid $PORT_GUID 3.0 helper
krb5-L8-nouser $PORT_SMB 3.0 direct
krb5-L8-nouser-tamper $PORT_GUID 3.0 direct
EOF
}

run_all() {	# run_all WAY
	rows >/tmp/rows
	while read -r row port vers how; do
		attempt "$1" "$row" "$port" "$vers" "$how"
	done </tmp/rows
}

insmod $KO; check insmod $? "insmod smbvn failed"
load-cifs; check load-cifs $? "cifs or a dependency failed to load"
[ -d $STATS ]; check stats-dir $? "no $STATS"

echo 1 >$KNOB; run_all smbvn1
# The first mount's upcall fetched the service ticket in this guest.
/usr/bin/klist >/tmp/klist.out 2>&1
sed 's/^/KLIST-AFTER /' /tmp/klist.out
grep -q "cifs/$KDC_FQDN@$KDC_REALM" /tmp/klist.out
check guest-fetched-service-ticket $? "no cifs/$KDC_FQDN ticket in /tmp/krb5cc_0"
echo 0 >$KNOB; run_all smbvn0
echo 1 >$KNOB
g=$(cat $STATS/guest_refused)
[ "$g" = 0 ]; check guest-refused-never $? "guest_refused=$g over the whole run"
rmmod smbvn; check rmmod $? "rmmod smbvn failed"
run_all stock
echo "CHECK-END"
exit 0
