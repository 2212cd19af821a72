#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Guest half of "make distro-test", run at every boot by the image's
# smbvn-distro.service from the read-only payload disk (/run/payload: this
# script, smbvn-dkms_*.deb, env).  It only reports; scripts/tests/distro-test.sh
# judges.  Reports go to the second serial port, one a line:
#   G KEY VALUE      a fact (VALUE may be empty: that is a report too)
#   LOG WHAT TEXT    a line of a command's output, for the transcript
# Boot 1 installs the package the way an administrator does, writes two
# _netdev cifs lines to /etc/fstab (Samba itself, and the proxy that
# changes the ServerGuid) and reboots; boot 2 reports what the boot-time
# mounts did, the tools and the removal, and powers off.
# systemd starts a service with SIGPIPE ignored, an administrator's shell
# does not: with it ignored, Debian 12's dkms status writes "echo: write
# error: Broken pipe" from its own pipelines.
[ -n "${DISTRO_GUEST_SIGPIPE:-}" ] ||
	exec env --default-signal=PIPE DISTRO_GUEST_SIGPIPE=1 sh "$0"
exec >/dev/ttyS1 2>&1

g() {	# g KEY VALUE: a fact, on one line; printf, as dash's echo eats
	# backslashes (\\server\share)
	k=$1
	shift
	printf 'G %s %s\n' "$k" "$(printf '%s' "$*" | tr '\n' ' ')"
}

# shellcheck disable=SC1091 # written by scripts/tests/distro-test.sh
. /run/payload/env
state=/var/lib/smbvn-distro
mkdir -p $state
boots=$(($(cat $state/boots 2>/dev/null || echo 0) + 1))
echo $boots >$state/boots
g boots "$boots"
# A panic reboots the guest (panic=-1); a third boot means something
# looped, and only powering off ends the run early.
[ "$boots" -le 2 ] || { g abort "boot $boots"; systemctl poweroff; exit 1; }

logged() {	# logged WHAT CMD...: run CMD, its output as LOG lines; its rc
	what=$1
	shift
	"$@" >/tmp/out 2>&1
	rc=$?
	sed "s/^/LOG $what /" /tmp/out
	return $rc
}

problems() {	# problems BOOT: the kernel's complaints in this boot's journal
	g "kernel-problems$1" "$(journalctl -k -b -o cat |
		grep -cE 'Oops|BUG:|WARNING:|Call Trace')"
}

if [ "$boots" = 1 ]; then
	g phase1
	g uname "$(uname -r)"
	# The compiler the kernel's headers call (Debian's .kernelvariables).
	cc=$(sed -n 's/^CC = //p' /usr/src/linux-headers-"$(uname -r)"/.kernelvariables |
		grep -o 'gcc-[0-9]*$')
	g gcc "$(${cc:-gcc} --version | sed -n 1p)"
	cp /run/payload/smbvn-dkms_*.deb /root/
	cd /root || exit 1
	t0=$(date +%s)
	logged apt apt-get install -y --no-install-recommends ./smbvn-dkms_"$VERSION"_all.deb
	g apt-rc "$?"
	g apt-seconds "$(($(date +%s) - t0))"
	g dkms-status "$(dkms status smbvn 2>&1)"
	ko=$(find /lib/modules/"$(uname -r)" -name 'smbvn.ko*' | sed -n 1p)
	g ko "$ko"
	case $ko in
	*.xz) xz -dc "$ko" >/tmp/smbvn.ko ;;
	*.zst) zstd -qdc "$ko" >/tmp/smbvn.ko ;;
	*) cp "$ko" /tmp/smbvn.ko ;;
	esac
	g ko-comment "$(readelf -p .comment /tmp/smbvn.ko 2>&1 | grep -m1 GCC | sed 's/^ *\[ *[0-9a-f]*\] *//')"
	problems 1
	g loaded-before-reboot "$(grep -c '^smbvn ' /proc/modules)"

	printf 'username=smbvn\npassword=smbvnpass\n' >/etc/smbvn-credentials
	chmod 600 /etc/smbvn-credentials
	mkdir -p /mnt/honest /mnt/tampered
	o=_netdev,vers=3.0,credentials=/etc/smbvn-credentials
	cat >>/etc/fstab <<EOF
//10.0.2.2/data /mnt/honest cifs $o,port=$PORT_HONEST 0 0
//10.0.2.2/data /mnt/tampered cifs $o,nofail,port=$PORT_GUID 0 0
EOF
	sed 's/^/LOG fstab /' /etc/fstab
	sync
	g rebooting
	systemctl reboot
	exit 0
fi

g phase2
# The nofail mount is not ordered before remote-fs.target: wait until
# both mount units have settled.
for _ in $(seq 120); do
	a=$(systemctl show -P ActiveState mnt-honest.mount mnt-tampered.mount | tr '\n' ' ')
	case $a in *activating*) sleep 1 ;; *) break ;; esac
done
g unit-states "$a"
g honest-fstype "$(findmnt -n -o FSTYPE /mnt/honest)"
g honest-read "$(cat /mnt/honest/hello.txt 2>&1)"
g honest-unit "$(systemctl is-active mnt-honest.mount)"
g validated "$(cat /sys/module/smbvn/stats/validated 2>&1)"
g tampered-fstype "$(findmnt -n -o FSTYPE /mnt/tampered)"
g tampered-unit "$(systemctl is-failed mnt-tampered.mount)"
journalctl -k -b -o short-monotonic | grep -E 'smbvn|CIFS' | sed 's/^/LOG kernel /'
journalctl -b -u mnt-tampered.mount -o cat | sed 's/^/LOG tampered-unit /'
g journal-refused "$(journalctl -k -b -o cat | grep -m1 'smbvn: refused')"

logged stats smbvn-stats
g stats-rc "$?"
g stats-validated "$(awk '$1 == "validated" { print $2 }' /tmp/out)"
problems 2
g modinfo-version "$(modinfo -F version smbvn 2>&1)"
g modinfo-filename "$(modinfo -n smbvn 2>&1)"
g modinfo-signer "$(modinfo -F signer smbvn 2>&1)"
# Secure Boot: DKMS signs with the machine owner key it made at its first
# build; the module's signature must name that certificate's serial.
g sig-key "$(modinfo -F sig_key smbvn 2>&1)"
g mok-serial "$(openssl x509 -inform DER -in /var/lib/dkms/mok.pub -noout -serial 2>&1)"
MANPAGER=cat MANWIDTH=80 man 4 smbvn >/tmp/man 2>&1
g man-rc "$?"
g man-path "$(man -w 4 smbvn 2>&1)"
g man-name "$(sed -n '/^NAME/{n;p;q}' /tmp/man | sed 's/^ *//')"

umount /mnt/honest
logged remove apt-get remove -y smbvn-dkms
g remove-rc "$?"
g left-ko "$(find /lib/modules /usr/lib/modules -name 'smbvn.ko*' 2>/dev/null | tr '\n' ' ')"
g left-dkms "$(dkms status smbvn 2>&1)"
g left-rule "$(grep -rl smbvn /etc/modprobe.d /usr/lib/modprobe.d /lib/modprobe.d /run/modprobe.d 2>/dev/null | tr '\n' ' ')"
g left-modprobe-c "$(modprobe -c | grep -c smbvn)"
g "done"
sync
systemctl poweroff
