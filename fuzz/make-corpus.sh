#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Regenerate fuzz/corpus/ from real exchanges: a private smbd on
# 127.0.0.1 (ports 14510/14512, state under .cache/fuzz-samba), the
# capture.py relay in front of it, and smbclient driven at every dialect
# from 2.0.2 to 3.1.1, with signing both default and mandatory.  The
# captured PDUs are turned into per-harness seeds by gen_corpus.py.
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
WORK=${SMBVN_FUZZ_SAMBA:-$TOP/.cache/fuzz-samba}
CAP=$WORK/capture
USER_=smbvn
PASS=smbvnpass
PIDS=()

SMBDS=()

cleanup() {
	local p d
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for d in "${SMBDS[@]}"; do
		bash "$TOP/scripts/vm/samba.sh" stop "$d" >/dev/null 2>&1 || true
	done
	wait 2>/dev/null || true
}
trap cleanup EXIT

command -v smbclient >/dev/null || apt-get install -y smbclient >/dev/null

wait_port() {
	for _ in $(seq 1 40); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.25
	done
	echo "make-corpus.sh: nothing listening on $1" >&2
	return 1
}

# The same private smbd the VM tests use (scripts/vm/samba.sh).
start_smbd() {	# start_smbd PORT [mandatory]
	SMBDS+=("$WORK/smbd-$1")
	bash "$TOP/scripts/vm/samba.sh" start "$WORK/smbd-$1" "$@" >/dev/null
}

start_relay() {
	python3 "$TOP/fuzz/capture.py" --listen "$1" --target "127.0.0.1:$2" \
		--out "$CAP" --tag "p$1" &
	PIDS+=($!)
	wait_port "$1"
}

rm -rf "$CAP" "$TOP/fuzz/corpus"
mkdir -p "$CAP"
start_smbd 14510
start_smbd 14512 mandatory
start_relay 14511 14510
start_relay 14513 14512

# min=max offers one dialect; min=SMB2_02 offers the whole range up to
# max, as a default client does (with 3.1.1 negotiate contexts).
for port in 14511 14513; do
	for proto in SMB2_02 SMB2_10 SMB3_00 SMB3_02 SMB3_11; do
		for min in "$proto" SMB2_02; do
			for sign in desired required; do
				smbclient "//127.0.0.1/data" -p "$port" \
					-U "$USER_%$PASS" -m "$proto" \
					--option="client min protocol=$min" \
					--option="client signing=$sign" -c 'ls' \
					>/dev/null 2>&1 ||
					echo "make-corpus.sh: smbclient $min..$proto $sign via $port failed" >&2
			done
		done
	done
done
sleep 0.5
echo "make-corpus.sh: $(ls "$CAP" | wc -l) PDUs captured in $CAP"
python3 "$TOP/fuzz/gen_corpus.py" "$CAP" "$TOP/fuzz/corpus"
