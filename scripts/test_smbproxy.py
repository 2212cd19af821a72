#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Offline self-test for smbproxy.py: feeds hand-built SMB2 frames through
the pure rewrite functions and checks each mode's effect.  No network."""

import os
import struct
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import smbproxy as sp  # noqa: E402

GUID = bytes(range(0x10, 0x20))
CLIENT_GUID = bytes(range(0x40, 0x50))
SIG = bytes(range(0xA0, 0xB0))
CAPS = 0x6F     # DFS|LEASING|LARGE_MTU|MULTI_CHANNEL|DIR_LEASING|ENCRYPTION
MID = 7


def header(cmd, mid, response, status=0, signed=False, tid=0x11, sid=0x22,
           credits=5, charge=1, pid=0xFEFF):
    flags = (sp.FLAG_SERVER_TO_REDIR if response else 0) | \
        (sp.FLAG_SIGNED if signed else 0)
    return struct.pack("<4sHHIHHIIQIIQ16s", b"\xfeSMB", 64, charge, status,
                       cmd, credits, flags, 0, mid, pid, tid, sid,
                       SIG if signed else bytes(16))


def negotiate_request(dialects):
    body = struct.pack("<HHHHI16sQ", 36, len(dialects), 1, 0, 0x7F,
                       CLIENT_GUID, 0)
    body += b"".join(struct.pack("<H", d) for d in dialects)
    return header(0, 0, False) + body


def negotiate_response(dialect=0x0300, secmode=0x3, caps=CAPS):
    body = struct.pack("<HHHH16sIIIIQQHHI", 65, secmode, dialect, 0, GUID,
                       caps, 0x800000, 0x800000, 0x800000, 0, 0, 128, 0, 0)
    return header(0, 0, True) + body + b"\x60" * 8    # fake security blob


def validate_request(mid=MID, ctl=sp.FSCTL_VALIDATE_NEGOTIATE_INFO):
    inp = struct.pack("<I16sHHHH", 0x7F, CLIENT_GUID, 1, 2, 0x0300, 0x0302)
    body = struct.pack("<HHI16sIIIIIIII", 57, 0, ctl, b"\xff" * 16,
                       64 + 56, len(inp), 0, 0, 0, 24, 1, 0)
    return header(0x0B, mid, False, signed=True, tid=0x11) + body + inp


def validate_response(mid=MID, secmode=0x3, caps=CAPS, status=0):
    out = struct.pack("<I16sHH", caps, GUID, secmode, 0x0300)
    body = struct.pack("<HHI16sIIIIII", 49, 0,
                       sp.FSCTL_VALIDATE_NEGOTIATE_INFO, b"\xff" * 16,
                       0, 0, 112, len(out), 0, 0)
    return header(0x0B, mid, True, status=status, signed=True) + body + out


def unframe(data):
    frames, rest = sp.split_frames(data)
    assert rest == b"" and len(frames) == 1, (frames, rest)
    return frames[0][1]


class Session:
    """Runs one connection's worth of PDUs through a mode."""

    def __init__(self, mode):
        self.mode = mode
        self.st = sp.ConnState()

    def client(self, pdu):
        return sp.process_frame(self.mode, self.st, 0, pdu, True)

    def server(self, pdu):
        return sp.process_frame(self.mode, self.st, 0, pdu, False)

    def negotiate(self, **kw):
        self.client(negotiate_request([0x0202, 0x0210, 0x0300, 0x0302]))
        return unframe(self.server(negotiate_response(**kw)).pdu)

    def validate(self, **kw):
        v = self.client(validate_request())
        assert v.action == sp.FORWARD
        return self.server(validate_response(**kw))


def out_fields(pdu):
    off = sp.u32(pdu, sp.IOCTLRSP_OUT_OFFSET)
    return struct.unpack_from("<I16sHH", pdu, off)


class Framing(unittest.TestCase):
    def test_split_and_join(self):
        a, b = b"\xfeSMB" + b"a" * 60, b"\xfdSMB" + b"b" * 10
        stream = sp.frame(a) + sp.frame(b)
        frames, rest = sp.split_frames(stream[:5])
        self.assertEqual((frames, rest), ([], stream[:5]))
        frames, rest = sp.split_frames(stream + b"\x00\x00")
        self.assertEqual(frames, [(0, a), (0, b)])
        self.assertEqual(rest, b"\x00\x00")

    def test_length_recomputed(self):
        self.assertEqual(sp.frame(b"x" * 0x10203)[:4], b"\x00\x01\x02\x03")

    def test_encrypted_untouched(self):
        pdu = b"\xfdSMB" + bytes(60)
        for mode in sp.MODES:
            v = sp.process_frame(mode, sp.ConnState(), 0, pdu, False)
            self.assertEqual(v.pdu, sp.frame(pdu), mode)


class Modes(unittest.TestCase):
    def test_pass(self):
        s = Session("pass")
        self.assertEqual(s.negotiate(), negotiate_response())
        v = s.validate()
        self.assertEqual(unframe(v.pdu), validate_response())
        self.assertEqual(v.notes, [])

    def test_guid(self):
        s = Session("guid")
        neg = s.negotiate()
        self.assertEqual(neg[sp.NEGRSP_GUID], GUID[0] ^ 0xFF)
        self.assertEqual(neg[sp.NEGRSP_GUID + 1:],
                         negotiate_response()[sp.NEGRSP_GUID + 1:])
        self.assertEqual(unframe(s.validate().pdu), validate_response())

    def test_caps_encryption(self):
        s = Session("caps")
        neg = s.negotiate()
        self.assertEqual(sp.u32(neg, sp.NEGRSP_CAPS), CAPS & ~0x40)
        v = s.validate()
        pdu = unframe(v.pdu)
        self.assertEqual(out_fields(pdu)[0], CAPS & ~0x40)
        self.assertEqual(pdu[48:64], SIG)
        self.assertIn("0x0000006f->0x0000002f", v.notes[0])

    def test_caps_lowest_bit(self):
        s = Session("caps")
        neg = s.negotiate(caps=0x2C)
        self.assertEqual(sp.u32(neg, sp.NEGRSP_CAPS), 0x28)
        pdu = unframe(s.validate(caps=0x2C).pdu)
        self.assertEqual(out_fields(pdu)[0], 0x28)

    def test_caps_error_response_untouched(self):
        s = Session("caps")
        s.negotiate()
        err = header(0x0B, MID, True, status=0xC0000010) + bytes(9)
        s.client(validate_request())
        self.assertEqual(unframe(s.server(err).pdu), err)

    def test_signreq(self):
        s = Session("signreq")
        neg = s.negotiate()
        self.assertEqual(sp.u16(neg, sp.NEGRSP_SECMODE), 0x1)
        pdu = unframe(s.validate().pdu)
        self.assertEqual(out_fields(pdu)[2], 0x1)
        self.assertEqual(pdu[48:64], SIG)

    def check_error(self, mode, status):
        s = Session(mode)
        self.assertEqual(s.negotiate(), negotiate_response())
        pdu = unframe(s.validate().pdu)
        real = validate_response()
        self.assertEqual(len(pdu), 73)
        self.assertEqual(sp.u32(pdu, sp.H_STATUS), status)
        self.assertEqual(sp.u32(pdu, sp.H_FLAGS), sp.FLAG_SERVER_TO_REDIR)
        self.assertEqual(pdu[48:64], bytes(16))
        self.assertEqual(sp.u32(pdu, sp.H_NEXT), 0)
        for off, size in ((6, 2), (12, 4), (24, 24)):
            self.assertEqual(pdu[off:off + size], real[off:off + size])
        self.assertEqual(pdu[64:], b"\x09\x00\x00\x00\x00\x00\x00\x00\x00")

    def test_nosupp(self):
        self.check_error("nosupp", 0xC00000BB)

    def test_denied(self):
        self.check_error("denied", 0xC0000022)

    def test_forge(self):
        s = Session("forge")
        neg = s.negotiate()
        self.assertEqual(sp.u32(neg, sp.NEGRSP_CAPS), CAPS & ~0x40)
        pdu = unframe(s.validate().pdu)
        self.assertEqual(len(pdu), 136)
        self.assertEqual(sp.u32(pdu, sp.H_STATUS), 0)
        self.assertEqual(sp.u32(pdu, sp.H_FLAGS), sp.FLAG_SERVER_TO_REDIR)
        self.assertEqual(pdu[48:64], bytes(16))
        self.assertEqual(sp.u64(pdu, sp.H_MID), MID)
        self.assertEqual(pdu[36:48], validate_response()[36:48])
        (size, _, ctl, fid, ioff, icnt, ooff, ocnt, flags,
         _) = struct.unpack_from("<HHI16sIIIIII", pdu, 64)
        self.assertEqual((size, ctl, fid, ioff, icnt, ooff, ocnt, flags),
                         (49, 0x00140204, b"\xff" * 16, 0, 0, 112, 24, 0))
        self.assertEqual(out_fields(pdu), (CAPS & ~0x40, GUID, 3, 0x0300))

    def test_sigzero(self):
        s = Session("sigzero")
        s.negotiate()
        pdu = unframe(s.validate().pdu)
        real = validate_response()
        self.assertEqual(pdu[48:64], bytes(16))
        self.assertEqual(pdu[:48] + pdu[64:], real[:48] + real[64:])
        self.assertTrue(sp.u32(pdu, sp.H_FLAGS) & sp.FLAG_SIGNED)

    def test_sigflip(self):
        s = Session("sigflip")
        s.negotiate()
        pdu = unframe(s.validate().pdu)
        real = bytearray(validate_response())
        real[53] ^= 1
        self.assertEqual(pdu, bytes(real))

    def test_dial2x(self):
        s = Session("dial2x")
        req = negotiate_request([0x0202, 0x0210, 0x0300, 0x0302, 0x0311])
        pdu = unframe(s.client(req).pdu)
        self.assertEqual(sp.u16(pdu, sp.NEGREQ_DIALECT_COUNT), 5)
        got = struct.unpack_from("<5H", pdu, sp.NEGREQ_DIALECTS)
        self.assertEqual(got, (0x0202, 0x0210, 0x0210, 0x0210, 0x0210))
        self.assertEqual(unframe(s.server(negotiate_response()).pdu),
                         negotiate_response())

    def test_no311(self):
        s = Session("no311")
        req = negotiate_request([0x0300, 0x0302, 0x0311])
        pdu = unframe(s.client(req).pdu)
        got = struct.unpack_from("<3H", pdu, sp.NEGREQ_DIALECTS)
        self.assertEqual(got, (0x0300, 0x0302, 0x0302))

    def test_reset(self):
        s = Session("reset")
        s.negotiate()
        other = validate_request(ctl=0x00060194)    # DFS referral: keep
        self.assertEqual(s.client(other).action, sp.FORWARD)
        v = s.client(validate_request())
        self.assertEqual(v.action, sp.RESET)

    def test_stall(self):
        s = Session("stall")
        s.negotiate()
        self.assertEqual(s.validate().action, sp.DROP)
        echo = header(0x0D, MID + 1, True) + struct.pack("<HH", 4, 0)
        self.assertEqual(s.server(echo).action, sp.DROP)
        self.assertEqual(s.client(echo).action, sp.FORWARD)

    def test_halfstall_and_halfdrop(self):
        for mode, action in (("halfstall", sp.HALF),
                             ("halfdrop", sp.HALF_RESET)):
            s = Session(mode)
            s.negotiate()
            v = s.validate()
            self.assertEqual(v.action, action)
            self.assertEqual(unframe(v.pdu), validate_response())
            echo = header(0x0D, MID + 1, True) + struct.pack("<HH", 4, 0)
            self.assertEqual(s.server(echo).action, sp.DROP)

    def test_churn_flags_unvalidated_io(self):
        s = Session("churn")
        s.negotiate()
        create = header(sp.CMD_CREATE, MID + 1, False) + bytes(57)
        v = s.client(create)
        self.assertEqual(v.action, sp.FORWARD)
        self.assertTrue(any("UNVALIDATED-IO CREATE" in n for n in v.notes))
        self.assertEqual(unframe(s.validate().pdu), validate_response())
        v = s.client(header(sp.CMD_WRITE, MID + 2, False) + bytes(49))
        self.assertEqual(v.notes, [])

    def test_interim_then_final(self):
        s = Session("sigzero")
        s.negotiate()
        s.client(validate_request())
        interim = bytearray(header(0x0B, MID, True, status=sp.STATUS_PENDING))
        interim[16] |= sp.FLAG_ASYNC
        self.assertEqual(unframe(s.server(bytes(interim)).pdu), interim)
        pdu = unframe(s.server(validate_response()).pdu)
        self.assertEqual(pdu[48:64], bytes(16))

    def test_untracked_ioctl_untouched(self):
        s = Session("nosupp")
        s.negotiate()
        rsp = validate_response(mid=MID + 3)
        self.assertEqual(unframe(s.server(rsp).pdu), rsp)

    def test_short_pdus_survive(self):
        for mode in sp.MODES:
            st = sp.ConnState()
            for pdu in (b"", b"\xfeSMB", header(0x0B, 1, False)[:64],
                        header(0, 0, True), b"\xffSMB" + bytes(40)):
                for from_client in (True, False):
                    sp.process_frame(mode, st, 0, pdu, from_client)


if __name__ == "__main__":
    unittest.main()
