#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Tiny SMB2 TCP relay that records every PDU it forwards.

    capture.py --listen 14511 --target 127.0.0.1:14510 --out DIR [--tag T]

Each direct-TCP frame (4-byte length prefix, MS-SMB2 2.1) is forwarded
untouched; each SMB2 PDU in it (compounds split at NextCommand) is also
written to DIR/<tag>c<conn>-<seq>-<c2s|s2c>.bin (--tag keeps the files of
several relays sharing DIR apart).  Used by make-corpus.sh to
seed the fuzzers with what a real smbclient and smbd put on the wire.
"""

import argparse
import os
import signal
import socket
import struct
import sys
import threading

lock = threading.Lock()
seq = [0]


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def split_compound(frame):
    """Yield the PDUs of one frame; NextCommand chains 8-aligned PDUs."""
    off = 0
    while off + 64 <= len(frame):
        if frame[off:off + 4] != b"\xfeSMB":
            yield frame[off:]
            return
        nxt = struct.unpack_from("<I", frame, off + 20)[0]
        if nxt == 0 or off + nxt > len(frame):
            yield frame[off:]
            return
        yield frame[off:off + nxt]
        off += nxt
    if off < len(frame):
        yield frame[off:]


def pump(src, dst, conn, tag, out, prefix):
    try:
        while True:
            hdr = recv_exact(src, 4)
            if hdr is None:
                break
            n = struct.unpack(">I", hdr)[0] & 0x00FFFFFF
            frame = recv_exact(src, n)
            if frame is None:
                break
            for pdu in split_compound(frame):
                with lock:
                    seq[0] += 1
                    name = "%sc%02d-%04d-%s.bin" % (prefix, conn, seq[0],
                                                    tag)
                with open(os.path.join(out, name), "wb") as f:
                    f.write(pdu)
            dst.sendall(hdr + frame)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", type=int, required=True)
    ap.add_argument("--target", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--tag", default="")
    args = ap.parse_args()
    host, port = args.target.rsplit(":", 1)
    os.makedirs(args.out, exist_ok=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", args.listen))
    ls.listen(8)
    conn = 0
    while True:
        c, _ = ls.accept()
        conn += 1
        s = socket.create_connection((host, int(port)))
        for a, b, tag in ((c, s, "c2s"), (s, c, "s2c")):
            threading.Thread(target=pump, args=(a, b, conn, tag, args.out,
                                   args.tag),
                             daemon=True).start()


if __name__ == "__main__":
    main()
