#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""drop-listener - reset a local server's TCP connections when asked.

make bench's reconnect figure needs a dropped connection at a moment the
guest chooses, without changing the guest: benchtool's "reconnect" mode
connects here (through qemu's user network, 10.0.2.2 is the host's
loopback) and waits for one byte.  For each such connection this resets
every established TCP connection whose local end is 127.0.0.1:SERVER_PORT
with iproute2's "ss -K" (the kernel's SOCK_DESTROY), then answers "1" if
it reset at least one and "0" if there was none or ss failed (its error
goes to stderr).

    drop-listener.py LISTEN_PORT SERVER_PORT

Listens on 127.0.0.1 only, prints "ready" once it does, runs until
killed.
"""

import socket
import subprocess
import sys


def drop(server_port):
    """Reset the server end of every connection to SERVER_PORT; how many."""
    try:
        out = subprocess.run(
            ["ss", "-K", "-H", "-t", "state", "established",
             f"( src 127.0.0.1:{server_port} )"],
            stdout=subprocess.PIPE, text=True, check=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError) as e:
        print(f"drop-listener: ss: {e}", file=sys.stderr)
        return 0
    return len([line for line in out.splitlines() if line.strip()])


def main():
    listen_port, server_port = int(sys.argv[1]), int(sys.argv[2])
    with socket.create_server(("127.0.0.1", listen_port)) as srv:
        print("ready", flush=True)
        while True:
            conn, _ = srv.accept()
            with conn:
                try:
                    conn.sendall(b"1" if drop(server_port) else b"0")
                except OSError as e:
                    print(f"drop-listener: {e}", file=sys.stderr)


if __name__ == "__main__":
    main()
