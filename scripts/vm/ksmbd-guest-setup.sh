# SPDX-License-Identifier: GPL-2.0-only
#
# Sourced by scripts/tests/e2e-guest.sh (as /extra/server-setup.sh) when
# scripts/tests/ksmbd-e2e.sh runs the scenarios against ksmbd: the server lives in
# the same guest as the cifs client under test, because ksmbd is a kernel
# module and the host kernel has none; or, for a client kernel whose own
# ksmbd serves nothing (6.1), by scripts/vm/ksmbd-server-guest.sh in a server
# VM of its own.  The host reaches guest port 445
# through qemu's hostfwd; the client mounts 10.0.2.2, i.e. the host, so
# honest mounts hairpin through slirp and tamper mounts pass the host proxy.
#
# /extra holds: ksmbd.conf and ksmbdpwd.db (written by the host driver),
# ksmbd.tools with the libraries it links against, the ksmbd module and
# the modules it links against, and ksmbd-modules naming those in load order.
# KSMBD_SELFTEST_VERS (from /extra/env, default 3.0) is the dialect of the
# self-test mount: 2.1 for a configuration that serves no SMB 3.
# Returns non-zero, with a KSMBD-SETUP-FAIL line, when ksmbd is not serving.

ks_fail() {
	echo "KSMBD-SETUP-FAIL: $*"
	return 1
}

ks_start() {
	# ksmbd asks the crypto API for the same hashes and ciphers cifs does;
	# with no usable modprobe in the guest they must be loaded beforehand.
	. /lib/modload.sh
	load_mods dep crypto || return 1
	for ks_m in $(cat /extra/ksmbd-modules); do
		ks_n=$(echo "${ks_m%.ko}" | tr - _)
		[ -d "/sys/module/$ks_n" ] && continue
		# Only ksmbd itself is fatal: a failed accelerated crc32 leaves
		# the generic one, and ksmbd's own insmod then says what is missing.
		if ! insmod "/extra/$ks_m"; then
			[ "$ks_m" = ksmbd.ko ] && { ks_fail "insmod $ks_m"; return 1; }
			echo "KSMBD-SETUP-WARN: insmod $ks_m failed"
		fi
	done

	# The session user must exist as a Unix user: ksmbd serves files with
	# its uid.  "nobody" (guest share) is already in the base image.
	grep -q '^smbvn:' /etc/passwd ||
		echo 'smbvn:x:1000:1000:smbvn:/:/bin/false' >>/etc/passwd
	grep -q '^smbvn:' /etc/group || echo 'smbvn:x:1000:' >>/etc/group
	mkdir -p /etc/ksmbd /srv/share /var/run /var/lib
	cp /extra/ksmbd.conf /extra/ksmbdpwd.db /etc/ksmbd/
	printf 'smbvn-hello\n' >/srv/share/hello.txt
	chown -R 1000:1000 /srv/share
	chmod 755 /srv/share
	chmod 644 /srv/share/hello.txt

	# ksmbd.tools picks its personality from argv[0].
	ln -sf /extra/ksmbd.tools /sbin/ksmbd.mountd
	# mountd logs through syslog: a busybox syslogd copies its messages to
	# the console, so that a share or login it refuses shows up next to
	# the mount that failed.
	syslogd -n -O /dev/console &
	LD_LIBRARY_PATH=/extra ksmbd.mountd -n ${KSMBD_MOUNTD_OPTS:-} \
		>/dev/console 2>&1 &

	# KSMBD_MOUNTD_OPTS=-v in the driver's environment also turns on
	# ksmbd's own debug messages.
	case " ${KSMBD_MOUNTD_OPTS:-} " in
	*" -v "*) echo all >/sys/class/ksmbd-control/debug ;;
	esac

	# The kernel opens the listening socket once mountd has handed it the
	# configuration; 445 is 01BD in /proc/net/tcp*, state 0A is LISTEN.
	ks_i=0
	until cat /proc/net/tcp /proc/net/tcp6 2>/dev/null |
		awk '$2 ~ /:01BD$/ && $4 == "0A" { f = 1 } END { exit !f }'; do
		ks_i=$((ks_i + 1))
		[ $ks_i -ge 100 ] && { ks_fail "not listening on 445 after 20 s"; return 1; }
		sleep 0.2
	done

	# Listening is not serving: a mount straight to the guest's own ksmbd,
	# with neither slirp nor the proxy in between, tells a server that
	# refuses its shares apart from anything the scenarios test.
	load-cifs || { ks_fail "cannot load cifs"; return 1; }
	mkdir -p /mnt/ksmbd-selftest
	if ! timeout 60 mount -t cifs //127.0.0.1/data /mnt/ksmbd-selftest \
		-o "vers=${KSMBD_SELFTEST_VERS:-3.0},username=smbvn,password=smbvnpass" \
		>/tmp/ks-mount.out 2>&1; then
		dmesg | grep -E 'CIFS: VFS|ksmbd: ' | tail -n 8 | sed 's/^/KSMBD-SETUP-LOG /'
		ks_fail "ksmbd serves no share: local mount of //127.0.0.1/data: $(head -n 1 /tmp/ks-mount.out)"
		return 1
	fi
	ks_ok=0
	cmp -s /tmp/want /mnt/ksmbd-selftest/hello.txt || ks_ok=1
	umount /mnt/ksmbd-selftest
	[ $ks_ok = 0 ] || { ks_fail "local mount reads the wrong hello.txt"; return 1; }
	echo "KSMBD-SETUP: serving on 445 ($(grep -hE 'server signing|server max protocol|smb3 encryption' \
		/etc/ksmbd/ksmbd.conf | tr -s '\t ' ' ' | tr '\n' ';'))"
}

ks_start
