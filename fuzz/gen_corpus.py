#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Turn captured SMB2 PDUs into seed corpora for the smbvn fuzzers.

    gen_corpus.py CAPTURE_DIR CORPUS_DIR

CAPTURE_DIR holds <tag>c<conn>-<seq>-<c2s|s2c>.bin files from capture.py.
Seeds (named by SHA-1, like libFuzzer's own) go to CORPUS_DIR/<harness>/:

  neg_req, vneg_roundtrip   every NEGOTIATE request the client sent
  neg_rsp                   every NEGOTIATE response the server sent
  judge                     auth byte + len16 + NEGOTIATE response +
                            validate response, see fuzz_judge.c; the real
                            validate answers are combined with every auth
                            mode and derived into the error, boundary and
                            mismatch variants smbclient cannot provoke
"""

import glob
import hashlib
import os
import re
import struct
import sys

FSCTL_VNEG = 0x00140204
PRE30 = (0xC00000BB, 0xC0000010, 0xC0000128, 0xC000019C)
OTHER = (0xC0000022, 0xC000000D, 0x80000005)


def load(capdir):
    conns = {}
    for path in sorted(glob.glob(os.path.join(capdir, "*c*-*-*.bin"))):
        m = re.match(r"(.*c\d+)-(\d+)-(c2s|s2c)\.bin",
                     os.path.basename(path))
        if not m:
            continue
        with open(path, "rb") as f:
            pdu = f.read()
        if len(pdu) < 64 or pdu[:4] != b"\xfeSMB":
            continue
        conns.setdefault(m.group(1), []).append(
            (int(m.group(2)), m.group(3), pdu))
    for v in conns.values():
        v.sort()
    return conns


def cmd(pdu):
    return struct.unpack_from("<H", pdu, 12)[0]


def mid(pdu):
    return struct.unpack_from("<Q", pdu, 24)[0]


def vneg_mids(pdus):
    """MessageIds of the validate requests (2.2.31 CtlCode at body + 4)."""
    return {mid(p) for _s, t, p in pdus
            if t == "c2s" and cmd(p) == 0x0B and len(p) >= 72 and
            struct.unpack_from("<I", p, 68)[0] == FSCTL_VNEG}


def judge_seed(auth, neg, rsp):
    return bytes([auth]) + struct.pack("<H", len(neg)) + neg + rsp


def error_of(rsp, status):
    """The real header with a new status and a 2.2.2 ERROR body."""
    hdr = bytearray(rsp[:64])
    struct.pack_into("<I", hdr, 8, status)
    return bytes(hdr) + struct.pack("<HBBI", 9, 0, 0, 0) + b"\x00"


def variants(neg, rsp):
    """Derived validate answers: one per rule the judge applies."""
    out = []
    # The four auth modes, then the auth_of() bits (decrypted, sig_ok).
    for auth in (0, 1, 2, 3, 4, 8, 9):
        out.append(judge_seed(auth, neg, rsp))
    for st in PRE30:
        for auth in (0, 2):
            out.append(judge_seed(auth, neg, error_of(rsp, st)))
    for st in OTHER:
        out.append(judge_seed(2, neg, error_of(rsp, st)))
    if struct.unpack_from("<I", rsp, 8)[0] == 0 and len(rsp) >= 136:
        off = struct.unpack_from("<I", rsp, 96)[0]
        for o, c, cut in ((off + 1, 24, 0), (0xFFFFFFF0, 24, 0),
                          (off, 23, 0), (off, 25, 0), (off, 0, 0),
                          (off, 24, 1)):
            r = bytearray(rsp)
            struct.pack_into("<II", r, 96, o, c)
            out.append(judge_seed(2, neg, bytes(r[:len(r) - cut])))
        for field in (0, 4, 20, 22):
            r = bytearray(rsp)
            r[off + field] ^= 0x01
            out.append(judge_seed(2, neg, bytes(r)))
    return out


def write(dirname, blobs):
    os.makedirs(dirname, exist_ok=True)
    for b in blobs:
        name = hashlib.sha1(b).hexdigest()
        with open(os.path.join(dirname, name), "wb") as f:
            f.write(b)
    return len(set(blobs))


def main():
    capdir, corpus = sys.argv[1], sys.argv[2]
    conns = load(capdir)
    reqs, rsps, judge = [], [], []
    seen = set()
    for pdus in conns.values():
        neg = None
        mids = vneg_mids(pdus)
        for _seq, tag, pdu in pdus:
            if cmd(pdu) == 0 and tag == "c2s":
                reqs.append(pdu)
            elif cmd(pdu) == 0 and tag == "s2c":
                rsps.append(pdu)
                neg = pdu
            elif (tag == "s2c" and neg is not None and cmd(pdu) == 0x0B and
                  mid(pdu) in mids):
                # One real answer per negotiated dialect and status is
                # enough; the variants cover the rest.
                key = (neg[68:70], pdu[8:12])
                if key not in seen:
                    seen.add(key)
                    judge.extend(variants(neg, pdu))
    # The tree connect answer in the "validate response" slot: the wrong
    # command must be rejected however it arrived.
    for pdus in conns.values():
        negs = [p for _s, t, p in pdus if cmd(p) == 0 and t == "s2c"]
        tcs = [p for _s, t, p in pdus if cmd(p) == 3 and t == "s2c"]
        if negs and tcs:
            judge.append(judge_seed(2, negs[0], tcs[0]))
    counts = {
        "neg_req": write(os.path.join(corpus, "neg_req"), reqs),
        "vneg_roundtrip": write(os.path.join(corpus, "vneg_roundtrip"), reqs),
        "neg_rsp": write(os.path.join(corpus, "neg_rsp"), rsps),
        "judge": write(os.path.join(corpus, "judge"), judge),
    }
    print("gen_corpus.py: " + ", ".join(
        "%s %d" % kv for kv in sorted(counts.items())))
    if not judge:
        print("gen_corpus.py: no validate-negotiate response captured",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
