#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Guest script (scripts/vm/vm.sh's test.sh) of the server VM that
# scripts/tests/ksmbd-e2e.sh boots for a client kernel whose own ksmbd cannot
# serve with the ksmbd-tools at hand (6.1, see ksmbd-e2e.sh's header): it
# only runs ksmbd, the client VM mounts it through the host.
#
# /extra holds what scripts/vm/ksmbd-guest-setup.sh wants, plus env with
# KSMBD_STOP_PORT (a host port on 127.0.0.1: once it accepts a connection
# the host is done with this server) and KSMBD_SERVER_LIMIT (seconds after
# which the server gives up waiting, so that a host driver that died
# without stopping it cannot leave it running for ever).
#
# Prints KSMBD-SERVER-READY once ksmbd serves (its self-test passed).

# ksmbd-guest-setup.sh's self-test compares with the file scripts/tests/e2e-guest.sh
# writes in a client guest.
printf 'smbvn-hello\n' >/tmp/want
. /extra/env
. /extra/server-setup.sh || exit 1
echo "KSMBD-SERVER-READY"

t0=$(date +%s)
limit=${KSMBD_SERVER_LIMIT:-1800}
# Polling the host keeps the shutdown a clean guest exit: vm.sh then still
# checks the server kernel's log for an Oops or WARNING.
until nc -w 5 10.0.2.2 "$KSMBD_STOP_PORT" </dev/null >/dev/null 2>&1; do
	if [ $(($(date +%s) - t0)) -ge "$limit" ]; then
		echo "KSMBD-SERVER: not told to stop within $limit s"
		exit 1
	fi
	sleep 3
done
echo "KSMBD-SERVER: told to stop"
exit 0
