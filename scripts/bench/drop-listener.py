#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""drop-listener - reset a local server's TCP connections when asked.

make bench's reconnect figure needs a dropped connection at a moment the
guest chooses, without changing the guest: benchtool's "reconnect" mode
connects here (through qemu's user network, 10.0.2.2 is the host's
loopback) and waits for one byte.  For each such connection this resets
every established TCP connection whose local port is SERVER_PORT, with
iproute2's "ss -K" (the kernel's SOCK_DESTROY), then answers "1" if it
reset at least one and "0" if there was none.

    drop-listener.py LISTEN_PORT SERVER_PORT

Listens on 127.0.0.1 only; runs until killed.
"""

import socket
import subprocess
import sys


def drop(server_port):
    """Reset the server end of every connection to SERVER_PORT; how many."""
    out = subprocess.run(
        ["ss", "-K", "-H", "-t", "state", "established",
         f"( sport = :{server_port} )"],
        capture_output=True, text=True, check=False).stdout
    return len([line for line in out.splitlines() if line.strip()])


def main():
    listen_port, server_port = int(sys.argv[1]), int(sys.argv[2])
    with socket.create_server(("127.0.0.1", listen_port)) as srv:
        while True:
            conn, _ = srv.accept()
            with conn:
                conn.sendall(b"1" if drop(server_port) else b"0")


if __name__ == "__main__":
    main()
