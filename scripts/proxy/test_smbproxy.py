#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Self-test for smbproxy.py and smbkeys.py.

Offline: feeds hand-built SMB2 frames through the pure rewrite functions and
checks each mode's effect, and checks the key derivation and signing against
published test vectors (MS-NLMP 4.2, Microsoft's SMB 3 key derivation
examples) and against a session captured from Samba.

On the host, when smbd and smbclient are installed and we are root
(SMBPROXY_HOST_TEST=0 skips it): a private Samba (scripts/vm/samba.sh) behind
the proxy, with Samba's own client showing that the derived key verifies
the real server's signatures and that the emulator's re-signed answers pass
for the server's.  About 15 seconds."""

import asyncio
import hmac
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import smbkeys  # noqa: E402
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


def validate_request(mid=MID, ctl=sp.FSCTL_VALIDATE_NEGOTIATE_INFO,
                     max_out=24):
    inp = struct.pack("<I16sHHHH", 0x7F, CLIENT_GUID, 1, 2, 0x0300, 0x0302)
    body = struct.pack("<HHI16sIIIIIIII", 57, 0, ctl, b"\xff" * 16,
                       64 + 56, len(inp), 0, 0, 0, max_out, 1, 0)
    return header(0x0B, mid, False, signed=True, tid=0x11) + body + inp


def validate_response(mid=MID, secmode=0x3, caps=CAPS, status=0,
                      dialect=0x0300):
    out = struct.pack("<I16sHH", caps, GUID, secmode, dialect)
    body = struct.pack("<HHI16sIIIIII", 49, 0,
                       sp.FSCTL_VALIDATE_NEGOTIATE_INFO, b"\xff" * 16,
                       0, 0, 112, len(out), 0, 0)
    return header(0x0B, mid, True, status=status, signed=True) + body + out


FSCTL_SET_ZERO_DATA = 0x000980C8
FSCTL_SRV_COPYCHUNK_WRITE = 0x001480F2


def churn_ioctl(tid, ctl, mid=9):
    body = struct.pack("<HHI16sIIIIIIII", 57, 0, ctl, b"\x11" * 16,
                       0, 0, 0, 0, 0, 0, 1, 0)
    return header(0x0B, mid, False, tid=tid) + body


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

    def test_maxread0(self):
        s = Session("maxread0")
        neg = s.negotiate()
        want = bytearray(negotiate_response())
        self.assertNotEqual(sp.u32(want, sp.NEGRSP_MAX_READ), 0)
        sp.put_u32(want, sp.NEGRSP_MAX_READ, 0)
        self.assertEqual(neg, bytes(want))
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

    def test_valmid(self):
        s = Session("valmid")
        s.negotiate()
        v = s.validate()
        pdu = unframe(v.pdu)
        real = bytearray(validate_response())
        real[sp.H_MID + 7] ^= 1
        self.assertEqual(pdu, bytes(real))
        self.assertIn("VALIDATE rsp MessageId", v.notes[0])

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

    def test_guid_flags_io_on_tampered_connection(self):
        # Even after a validate answer went through: a client that saw the
        # real ServerGuid in it had to refuse the connection.
        for mode, flagged in (("guid", True), ("pass", False)):
            s = Session(mode)
            s.negotiate()
            s.validate()
            v = s.client(header(sp.CMD_WRITE, MID + 2, False) + bytes(49))
            self.assertEqual(v.action, sp.FORWARD)
            self.assertEqual(any("TAMPERED-IO WRITE" in n for n in v.notes),
                             flagged, mode)

    def churn_session(self, mode="churn", dialect=0x0300):
        s = Session(mode)
        s.negotiate(dialect=dialect)
        return s

    def early(self, s, pdu):
        """The UNVALIDATED-IO notes of one client request, which goes on
        unchanged whatever they say."""
        v = s.client(pdu)
        self.assertEqual((v.action, unframe(v.pdu)), (sp.FORWARD, pdu))
        return [n for n in v.notes if n.startswith("UNVALIDATED-IO")]

    def test_churn_flags_every_command_on_a_pending_tree(self):
        s = self.churn_session()
        s.server(tree_connect_response(mid=3, tid=0x33))
        zero = self.early(s, churn_ioctl(0x33, FSCTL_SET_ZERO_DATA))
        self.assertEqual(len(zero), 1)
        self.assertIn("IOCTL CtlCode 0x000980c8", zero[0])
        self.assertIn("TreeId 0x33: tree connected, its validate rsp not "
                      "yet sent", zero[0])
        for cmd, name in ((0x10, "QUERY_INFO"), (0x0E, "QUERY_DIRECTORY"),
                          (0x07, "FLUSH"), (0x0A, "LOCK"),
                          (0x12, "OPLOCK_BREAK"), (sp.CMD_READ, "READ")):
            notes = self.early(s, header(cmd, 9, False, tid=0x33) +
                               bytes(48))
            self.assertEqual(len(notes), 1, name)
            self.assertIn(f"UNVALIDATED-IO {name} MessageId 0x9", notes[0])

    def test_churn_exemptions(self):
        s = self.churn_session()
        s.server(tree_connect_response(mid=3, tid=0x33))
        for cmd in (0x00, 0x01, 0x02, 0x03, 0x04, 0x0C, 0x0D):
            self.assertEqual(self.early(s, header(cmd, 9, False, tid=0x33) +
                                        bytes(8)), [], hex(cmd))
        # The validate request itself, on the tree it validates.
        self.assertEqual(self.early(s, validate_request(mid=11)), [])

    def test_churn_tree_validated_by_its_own_answer(self):
        s = self.churn_session()
        s.server(tree_connect_response(mid=3, tid=0x11))
        s.server(tree_connect_response(mid=4, tid=0x44))
        s.client(validate_request(mid=MID))        # sent on TreeId 0x11
        s.server(validate_response(mid=MID))
        self.assertTrue(s.st.validated)
        self.assertEqual(
            self.early(s, churn_ioctl(0x11, FSCTL_SRV_COPYCHUNK_WRITE)), [])
        # Another tree on the same, validated, connection still waits.
        notes = self.early(s, churn_ioctl(0x44, FSCTL_SRV_COPYCHUNK_WRITE))
        self.assertEqual(len(notes), 1)
        self.assertIn("CtlCode 0x001480f2", notes[0])
        # The server hands 0x11 out again: pending again.
        s.server(tree_connect_response(mid=5, tid=0x11))
        self.assertEqual(len(self.early(s, churn_ioctl(0x11, 0x90064))), 1)

    def test_churn_unknown_tree(self):
        s = self.churn_session()
        # A refused tree connect gives no tree; a TreeId from before the
        # reconnect is no tree of this connection either.
        s.server(tree_connect_response(mid=3, tid=0x33, status=0xC00000CC))
        notes = self.early(s, churn_ioctl(0x33, FSCTL_SET_ZERO_DATA))
        self.assertEqual(len(notes), 1)
        self.assertIn("not connected on this connection, before any "
                      "validate rsp", notes[0])

    def test_churn_compound_members_each(self):
        s = self.churn_session()
        s.server(tree_connect_response(mid=3, tid=0x33))
        create = header(sp.CMD_CREATE, 20, False, tid=0x33) + bytes(57)
        qi = bytearray(header(0x10, 21, False, tid=0xFFFFFFFF) + bytes(41))
        struct.pack_into("<I", qi, sp.H_FLAGS, sp.FLAG_RELATED)
        close = bytearray(header(0x06, 22, False, tid=0xFFFFFFFF) +
                          bytes(24))
        struct.pack_into("<I", close, sp.H_FLAGS, sp.FLAG_RELATED)
        notes = self.early(s, compound(create, bytes(qi), bytes(close)))
        self.assertEqual([n.split(" MessageId")[0] for n in notes],
                         ["UNVALIDATED-IO CREATE",
                          "UNVALIDATED-IO QUERY_INFO",
                          "UNVALIDATED-IO CLOSE"])
        self.assertTrue(all("TreeId 0x33:" in n for n in notes))

    def test_churn_311_not_checked(self):
        s = self.churn_session(dialect=0x0311)
        s.server(tree_connect_response(mid=3, tid=0x33))
        self.assertEqual(self.early(s, churn_ioctl(0x33, 0x90064)), [])

    def test_churnhold_validates_when_sent(self):
        s = self.churn_session("churnhold")
        s.server(tree_connect_response(mid=3, tid=0x11))
        s.client(validate_request(mid=MID))
        v = s.server(validate_response(mid=MID))
        self.assertEqual((v.action, v.delay, v.validates),
                         (sp.DELAY, sp.CHURN_HOLD, 0x11))
        self.assertEqual(unframe(v.pdu), validate_response(mid=MID))
        # Held: the tree is not validated for the client yet.
        self.assertFalse(s.st.validated)
        self.assertEqual(len(self.early(s, churn_ioctl(0x11, 0x90064))), 1)
        sp.tree_validated(s.st, v.validates)
        self.assertTrue(s.st.validated)
        self.assertEqual(self.early(s, churn_ioctl(0x11, 0x90064)), [])

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


# --- key derivation and signing: published vectors ---------------------------

def unhex(s):
    return bytes.fromhex("".join(s.split()))


def av_pairs(*pairs):
    """MS-NLMP 2.2.2.1 AV_PAIRs, MsvAvEOL appended."""
    out = b""
    for av_id, text in pairs:
        v = text.encode("utf-16-le")
        out += struct.pack("<HH", av_id, len(v)) + v
    return out + struct.pack("<HH", 0, 0)


def ntlmv2_temp(client_challenge, time_stamp, server_name):
    """MS-NLMP 3.3.2 temp: Responserversion, HiResponserversion, Z(6),
    Time, ClientChallenge, Z(4), ServerName, Z(4)."""
    return (b"\x01\x01" + bytes(6) + time_stamp + client_challenge +
            bytes(4) + server_name + bytes(4))


def challenge_message(server_challenge, flags, target="SMBVN"):
    """A 2.2.1.2 CHALLENGE_MESSAGE without TargetInfo."""
    tn = target.encode("utf-16-le")
    return (b"NTLMSSP\x00" + struct.pack("<IHHII", 2, len(tn), len(tn), 56,
                                         flags) +
            server_challenge + bytes(8) + struct.pack("<HHI", 0, 0, 56) +
            bytes(8) + tn)


def authenticate_message(user, domain, nt_response, enc_key, flags,
                         workstation="CLIENT"):
    """A 2.2.1.3 AUTHENTICATE_MESSAGE (with Version and a zero MIC)."""
    parts = [bytes(24), nt_response, domain.encode("utf-16-le"),
             user.encode("utf-16-le"), workstation.encode("utf-16-le"),
             enc_key]
    off = 88
    fields = b""
    for p in parts:
        fields += struct.pack("<HHI", len(p), len(p), off)
        off += len(p)
    return (b"NTLMSSP\x00" + struct.pack("<I", 3) + fields +
            struct.pack("<I", flags) + bytes(8) + bytes(16) + b"".join(parts))


class Keys(unittest.TestCase):
    """MS-NLMP 4.2.1 / 4.2.4 (NTLMv2), and the examples of Microsoft's
    "SMB 2 and SMB 3 security in Windows 10: the anatomy of signing and
    cryptographic keys" and "Encryption in SMB 3.0: a protocol
    perspective" (Open Specifications blog)."""

    # 4.2.1 common values; 4.2.4 flags 0xe28a8233.
    SERVER_CHALLENGE = unhex("01 23 45 67 89 ab cd ef")
    CLIENT_CHALLENGE = unhex("aa aa aa aa aa aa aa aa")
    RANDOM_SESSION_KEY = unhex("55" * 16)
    FLAGS = 0xE28A8233

    def test_ntowfv1(self):
        # 4.2.2.1.2
        self.assertEqual(smbkeys.nt_hash("Password").hex(),
                         "a4f49c406510bdcab6824ee7c30fd852")

    def test_msnlmp_4_2_4(self):
        nth = smbkeys.nt_hash("Password")
        key_nt = smbkeys.ntowfv2(nth, "User", "Domain")
        # 4.2.4.1.1
        self.assertEqual(key_nt.hex(), "0c868a403bfd7a93a3001ef22ef02e3f")
        temp = ntlmv2_temp(self.CLIENT_CHALLENGE, bytes(8),
                           av_pairs((2, "Domain"), (1, "Server")))
        proof = hmac.new(key_nt, self.SERVER_CHALLENGE + temp,
                         "md5").digest()
        # 4.2.4.2.2
        self.assertEqual(proof.hex(), "68cd0ab851e51c96aabc927bebef6a1c")
        enc = unhex("c5 da d2 54 4f c9 79 90 94 ce 1c e9 0b c9 d0 3e")
        auth = smbkeys.parse_authenticate(authenticate_message(
            "User", "Domain", proof + temp, enc, self.FLAGS))
        self.assertEqual((auth.user, auth.domain, auth.workstation),
                         ("User", "Domain", "CLIENT"))
        chal = smbkeys.parse_challenge(challenge_message(
            self.SERVER_CHALLENGE, self.FLAGS, "Server"))
        key = smbkeys.ntlmv2_session_key(nth, chal, auth)
        # 4.2.4.1.2 SessionBaseKey; 4.2.4.2.3 the encrypted session key
        # is RC4(KeyExchangeKey, RandomSessionKey).
        self.assertEqual(key.session_base_key.hex(),
                         "8de40ccadbc14a82f15cb0ad0de95ca3")
        self.assertEqual(key.exported_session_key, self.RANDOM_SESSION_KEY)
        self.assertEqual(smbkeys.rc4(key.session_base_key,
                                     self.RANDOM_SESSION_KEY), enc)
        self.assertEqual(key.domain, "Domain")
        # Without NTLMSSP_NEGOTIATE_KEY_EXCH the KeyExchangeKey is the key.
        auth.flags &= ~smbkeys.NTLMSSP_NEGOTIATE_KEY_EXCH
        self.assertEqual(smbkeys.ntlmv2_session_key(nth, chal, auth)
                         .exported_session_key, key.session_base_key)

    def test_domain_candidates_and_wrong_password(self):
        nth = smbkeys.nt_hash("Password")
        temp = ntlmv2_temp(self.CLIENT_CHALLENGE, bytes(8), b"")
        chal = smbkeys.Challenge(self.FLAGS, self.SERVER_CHALLENGE, "SRV")
        for hashed, sent, given in (("", "WORKGROUP", ()),
                                    ("WORKGROUP", "workgroup", ()),
                                    ("SRV", "", ()),
                                    ("Other", "WORKGROUP", ("Other",))):
            key_nt = smbkeys.ntowfv2(nth, "user", hashed)
            proof = hmac.new(key_nt, self.SERVER_CHALLENGE + temp,
                             "md5").digest()
            auth = smbkeys.Authenticate(self.FLAGS, "user", sent, "",
                                        proof + temp, bytes(16))
            self.assertEqual(smbkeys.ntlmv2_session_key(
                nth, chal, auth, given).domain, hashed)
        with self.assertRaisesRegex(smbkeys.NoKey, "not reproduced"):
            smbkeys.ntlmv2_session_key(smbkeys.nt_hash("wrong"), chal, auth)
        auth.nt_response = bytes(24)
        with self.assertRaisesRegex(smbkeys.NoKey, "NTLMv1"):
            smbkeys.ntlmv2_session_key(nth, chal, auth)

    def test_smb300_signing_keys(self):
        for session_key, signing_key in (
                # "the anatomy": master session and bound channel
                ("7CD451825D0450D235424E44BA6E78CC",
                 "0B7E9C5CAC36C0F6EA9AB275298CEDCE"),
                ("4E01A2B313BCF660CC250BEF021AEDE6",
                 "BA1A17DBBFEC349BCA105563D598952F"),
                # "Encryption in SMB 3.0"
                ("B4546771B515F766A86735532DD6C4F0",
                 "F773CD23C18FD1E08EE510CADA7CF852")):
            for dialect in (0x0300, 0x0302):
                self.assertEqual(smbkeys.signing_key(
                    unhex(session_key), dialect), unhex(signing_key))
        self.assertEqual(smbkeys.signing_key(b"k" * 16, 0x0210), b"k" * 16)
        # 3.2.5.3.1: the first 16 bytes of the GSS key, zero padded.
        self.assertEqual(smbkeys.session_key_16(b"abc"), b"abc" + bytes(13))
        with self.assertRaises(smbkeys.NoKey):
            smbkeys.signing_key(b"k" * 16, 0x0311)

    # "The anatomy", SMB 3.1.1 master session: an NTLMv2 sign-in as
    # administrator / Password01! in domain SUT311, the SMB2 packets whole.
    BLOG_CHALLENGE = unhex("""
        FE534D4240000100160000C00100010001000000000000000200000000000000
        FFFE000000000000190000000010000000000000000000000000000000000000
        090000004800B300A181B03081ADA0030A0101A10C060A2B0601040182370202
        0AA281970481944E544C4D53535000020000000C000C003800000015828AE20D
        1D8BA31179D008000000000000000050005000440000000A0092270000000F53
        005500540033003100310002000C0053005500540033003100310001000C0053
        005500540033003100310004000C0053005500540033003100310003000C0053
        005500540033003100310007000800A1A1F5ADCBAED00100000000""")
    BLOG_AUTHENTICATE = unhex("""
        FE534D4240000100000000000100800000000000000000000300000000000000
        FFFE000000000000190000000010000000000000000000000000000000000000
        1900000101000000000000005800CF010000000000000000A18201CB308201C7
        A0030A0101A28201AA048201A64E544C4D535350000300000018001800900000
        00EE00EE00A80000000C000C00580000001A001A0064000000120012007E0000
        001000100096010000158288E2060380250000000FECAC77A5F385A8BF9C38C7
        06EEEDDCD3530055005400330031003100610064006D0069006E006900730074
        007200610074006F007200440052004900560045005200330031003100000000
        00000000000000000000000000000000000000000063078EB639FE03E20A231C
        3AE3BF23080101000000000000A1A1F5ADCBAED001BC4AD05F223CC90F000000
        0002000C0053005500540033003100310001000C005300550054003300310031
        0004000C0053005500540033003100310003000C005300550054003300310031
        0007000800A1A1F5ADCBAED00106000400020000000800300030000000000000
        000000000000300000B61FEFCAA857EA57BF1EDCEBF8974B8E0EBA5A6DFD9D07
        A31D11B548F8C9D0CC0A00100000000000000000000000000000000000090016
        0063006900660073002F00530055005400330031003100000000000000000000
        0000003B9BDFF38F5EE8F9663F11A0F4C03A78A31204100100000063775A9A5F
        D97F0600000000""")
    BLOG_SESSION_SETUP = unhex("""
        FE534D4240000100000000000100800009000000000000000300000000000000
        FFFE0000000000001900000000100000EBE146DA120BA25FC3376A49DFE31BC1
        0900000048001D00A11B3019A0030A0100A3120410010000003B453CDC352416
        4200000000""")
    BLOG_PREAUTH_HASH = unhex("""
        0DD13628CC3ED218EF9DF9772D436D0887AB9814BFAE63A80AA845F36909DB79
        28622DDDAD522D9751640A459762C5A9D6BB084CBB3CE6BDADEF5D5BCE3C6C01""")

    def test_blog_ntlmv2_sign_in(self):
        chal = smbkeys.parse_challenge(
            smbkeys.find_ntlmssp(self.BLOG_CHALLENGE))
        self.assertEqual(chal.server_challenge.hex(), "0d1d8ba31179d008")
        auth = smbkeys.parse_authenticate(
            smbkeys.find_ntlmssp(self.BLOG_AUTHENTICATE))
        self.assertEqual((auth.user, auth.domain, auth.workstation),
                         ("administrator", "SUT311", "DRIVER311"))
        nth = smbkeys.nt_hash("Password01!")
        self.assertEqual(nth.hex(), "7c4fe5eada682714a036e39378362bab")
        key = smbkeys.ntlmv2_session_key(nth, chal, auth)
        self.assertEqual(key.response_key_nt.hex(),
                         "aee3959b44a815f1eb28c9511b4f533b")
        self.assertEqual(key.session_base_key.hex(),    # KeyExchangeKey
                         "b4cf22566926b1c069acd80e4d73c814")
        self.assertEqual(key.exported_session_key.hex(),
                         "270e1ba896585eeb7af3472d3b4c75a7")
        # The signed SESSION_SETUP response: AES-128-CMAC (3.1.4.1) with
        # the 3.1.1 SigningKey of the published pre-authentication hash.
        signer = smbkeys.Signer(key.exported_session_key, 0x0311,
                                self.BLOG_PREAUTH_HASH)
        self.assertEqual(signer.key.hex(),
                         "73fe7a9a77bef0bde49c650d8ccb5f76")
        self.assertTrue(signer.verify(self.BLOG_SESSION_SETUP))
        self.assertEqual(signer.sign(self.BLOG_SESSION_SETUP),
                         self.BLOG_SESSION_SETUP)
        bad = bytearray(self.BLOG_SESSION_SETUP)
        bad[-1] ^= 1
        self.assertFalse(signer.verify(bytes(bad)))

    def test_md4(self):
        # RFC 1320 A.5, through whichever library has MD4 here.
        self.assertEqual(smbkeys.md4(b"").hex(),
                         "31d6cfe0d16ae931b73c59d7e0c089c0")
        self.assertEqual(smbkeys.md4(b"abc").hex(),
                         "a448017aaf21d8525fc10ae87aa6729d")

    def test_no_md4_says_use_nthash(self):
        def broken(*_):
            raise ValueError("unsupported hash type")
        saved = smbkeys.hashlib.new, smbkeys.hashes.Hash
        smbkeys.hashlib.new = smbkeys.hashes.Hash = broken
        try:
            with self.assertRaisesRegex(smbkeys.Md4Unavailable, "--nthash"):
                smbkeys.nt_hash("Password")
        finally:
            smbkeys.hashlib.new, smbkeys.hashes.Hash = saved


# A session captured from Samba 4.17 (scripts/vm/samba.sh, user smbvn, password
# smbvnpass) with smbclient 4.17: the SESSION_SETUP exchange and the
# validate answer, which Samba signed.  Independent of smbkeys: Samba's own
# keys and signatures, HMAC-SHA256 (2.1) and AES-128-CMAC (3.0).
CAP21 = {
    "challenge": unhex("""
        fe534d4240000100160000c00100010001000000000000000100000000000000
        00000000000000007166d4f90000000000000000000000000000000000000000
        090000004800bd00a181ba3081b7a0030a0101a10c060a2b0601040182370202
        0aa281a104819e4e544c4d5353500002000000160016003800000015828a622b
        c9491f367933680000000000000000500050004e000000060100000000000f53
        004d00420056004e002d00310034003900350031000200160053004d00420056
        004e002d00310034003900350031000100160053004d00420056004e002d0031
        003400390035003100040000000300040076006d000700080006587ea69580dd
        0100000000
        """),
    "authenticate": unhex("""
        fe534d4240000100000000000100002000000000000000000200000000000000
        00000000000000007166d4f90000000000000000000000000000000000000000
        1900000301000000000000005800b0010000000000000000a18201ac308201a8
        a28201900482018c4e544c4d53535000030000001800180058000000ec00ec00
        70000000120012005c0100000a000a006e010000040004007801000010001000
        7c01000015820862060100000000000fb708a648ac91ed325d6a28f8f9235f3b
        000000000000000000000000000000000000000000000000e71e0a42dcfb8bb5
        bfe6760d9d9dff70010100000000000006587ea69580dd01f554daf7c08c3bc4
        000000000200160053004d00420056004e002d00310034003900350031000100
        160053004d00420056004e002d00310034003900350031000400000003000400
        76006d000700080006587ea69580dd0106000400020000000800300030000000
        00000000000000000000000024f81b373ba9d3a561f0062333619257913032b6
        1c97a07370af17881fa918250a00100000000000000000000000000000000000
        09001c0063006900660073002f003100320037002e0030002e0030002e003100
        0000000057004f0052004b00470052004f005500500073006d00620076006e00
        56004d00614b263863f57d973e59dbce1ba66431a312041001000000496918fa
        0e5d665300000000
        """),
    "session_setup": unhex("""
        fe534d4240000100000000000100002009000000000000000200000000000000
        00000000000000007166d4f900000000296ae67fbaa2c26f00be3c1ed077f7fd
        0900000048001d00a11b3019a0030a0100a3120410010000001efbbcef70eb2c
        1d00000000
        """),
    "validate": unhex("""
        fe534d4240000100000000000b00010009000000000000000400000000000000
        00000000702e37937166d4f900000000d787ea1127c72e56da82edcba5a41335
        3100000004021400ffffffffffffffffffffffffffffffff7000000000000000
        7000000018000000000000000000000007000000736d62766e2d313439353100
        0000000001001002
        """),
}
CAP30 = {
    "challenge": unhex("""
        fe534d4240000100160000c00100010001000000000000000100000000000000
        0000000000000000c00d01690000000000000000000000000000000000000000
        090000004800bd00a181ba3081b7a0030a0101a10c060a2b0601040182370202
        0aa281a104819e4e544c4d5353500002000000160016003800000015828a62e5
        bf85b57b8ef2870000000000000000500050004e000000060100000000000f53
        004d00420056004e002d00310034003900350031000200160053004d00420056
        004e002d00310034003900350031000100160053004d00420056004e002d0031
        003400390035003100040000000300040076006d00070008008c14ceaa9580dd
        0100000000
        """),
    "authenticate": unhex("""
        fe534d4240000100000000000100002000000000000000000200000000000000
        0000000000000000c00d01690000000000000000000000000000000000000000
        1900000101000000000000005800b0010000000000000000a18201ac308201a8
        a28201900482018c4e544c4d53535000030000001800180058000000ec00ec00
        70000000120012005c0100000a000a006e010000040004007801000010001000
        7c01000015820862060100000000000f7be0774ff6df3096c837b0c84b70560a
        000000000000000000000000000000000000000000000000fe3c4641ce22ad1f
        a540bb07b9e8b84701010000000000008c14ceaa9580dd010ff454dda1abb3bf
        000000000200160053004d00420056004e002d00310034003900350031000100
        160053004d00420056004e002d00310034003900350031000400000003000400
        76006d00070008008c14ceaa9580dd0106000400020000000800300030000000
        000000000000000000000000ea69422448767b5417acf04d449b5dc78fa28cfe
        d10b3d8b52c7e6bedec5167a0a00100000000000000000000000000000000000
        09001c0063006900660073002f003100320037002e0030002e0030002e003100
        0000000057004f0052004b00470052004f005500500073006d00620076006e00
        56004d002f9e325c8b5af462d2809c840116c68ba31204100100000086ba79e1
        ec63056300000000
        """),
    "session_setup": unhex("""
        fe534d4240000100000000000100002009000000000000000200000000000000
        0000000000000000c00d0169000000003e898fe8912d6545204eb0429198cb3d
        0900000048001d00a11b3019a0030a0100a31204100100000065e7d57581fd8b
        6300000000
        """),
    "validate": unhex("""
        fe534d4240000100000000000b00010009000000000000000400000000000000
        00000000ea439a86c00d016900000000655f49c7b1210df894b4d673f96aa049
        3100000004021400ffffffffffffffffffffffffffffffff7000000000000000
        700000001800000000000000000000004f000000736d62766e2d313439353100
        0000000001000003
        """),
}


class CapturedSamba(unittest.TestCase):
    """The captured sessions through the proxy: the key it derives must
    verify Samba's signatures, and the emulator's answer its own."""

    def replay(self, cap, dialect, mode, creds=True):
        st = sp.ConnState(creds=sp.Credentials("smbvn", smbkeys.nt_hash(
            "smbvnpass")) if creds else None)
        notes = []

        def run(pdu, client):
            return unframe_v(sp.process_frame(mode, st, 0, pdu, client),
                             notes)
        run(negotiate_response(dialect=dialect, caps=0x4F), False)
        run(cap["challenge"], False)
        run(cap["authenticate"], True)
        run(cap["session_setup"], False)
        run(validate_request(mid=4), True)
        return run(cap["validate"], False), notes, st

    def test_pass(self):
        for cap, dialect, alg in ((CAP21, 0x0210, "HMAC-SHA256"),
                                  (CAP30, 0x0300, "AES-128-CMAC")):
            out, notes, st = self.replay(cap, dialect, "pass")
            self.assertEqual(out, cap["validate"])
            self.assertIn(f"dialect 0x{dialect:04x} signs with {alg}",
                          notes[0])
            self.assertIn("domain 'WORKGROUP'", notes[0])
            self.assertIn("SESSION_SETUP rsp SessionId", notes[1])
            self.assertIn(f"verifies with the derived key ({alg})", notes[1])
            self.assertIn(f"VALIDATE rsp MessageId 0x4: the server's "
                          f"signature verifies with the derived key ({alg})",
                          notes[2])
            self.assertFalse([n for n in notes if "EMULATOR-" in n])

    def test_st_notsupp(self):
        for cap, dialect in ((CAP21, 0x0210), (CAP30, 0x0300)):
            out, notes, st = self.replay(cap, dialect, "st-notsupp")
            self.assertEqual(sp.u32(out, sp.H_STATUS), 0xC00000BB)
            self.assertTrue(st.signers[sp.sid(out)].verify(out))
            self.assertTrue(notes[-1].startswith("EMULATED VALIDATE rsp"))

    def test_without_credentials(self):
        out, notes, _ = self.replay(CAP30, 0x0300, "st-denied", creds=False)
        self.assertEqual(out, CAP30["validate"])
        self.assertEqual(len(notes), 1)
        self.assertTrue(notes[0].startswith("EMULATOR-NO-KEY VALIDATE rsp"))

    def test_wrong_dialect_is_a_key_mismatch(self):
        # Told 3.0 for a 2.1 session: the key is right, the algorithm not;
        # the emulator must refuse rather than sign with it.
        out, notes, _ = self.replay(CAP21, 0x0300, "st-denied")
        self.assertEqual(out, CAP21["validate"])
        self.assertTrue(notes[1].startswith("EMULATOR-KEY-MISMATCH "
                                            "SESSION_SETUP rsp"))
        self.assertTrue(notes[-1].startswith("EMULATOR-KEY-MISMATCH "
                                             "VALIDATE rsp MessageId 0x4"))
        self.assertIn("forwarded untouched", notes[-1])


def unframe_v(v, notes):
    notes.extend(v.notes)
    return unframe(v.pdu) if v.pdu else b""


# --- the emulator on synthetic sessions -------------------------------------

USER, PASSWORD = "smbvn", "smbvnpass"
SERVER_CHALLENGE = bytes(range(0x60, 0x68))
CLIENT_CHALLENGE = bytes(range(0x70, 0x78))
SESSION_KEY = bytes(range(0x30, 0x40))     # the client's RandomSessionKey
NTLM_FLAGS = 0xE2888215     # KEY_EXCH, 128, ..., SIGN, UNICODE
SID = 0x22                  # header()'s default SessionId


def session_setup_request(mid, blob, session_id=SID, flags=0):
    body = struct.pack("<HBBIIHHQ", 25, flags, 1, 0, 0, 64 + 24, len(blob),
                       0)
    return header(1, mid, False, sid=session_id) + body + blob


def session_setup_response(mid, status, blob=b"", session_id=SID,
                           session_flags=0):
    body = struct.pack("<HHHH", 9, session_flags, 64 + 8, len(blob))
    return header(1, mid, True, status=status, sid=session_id) + body + blob


def spnego(msg):
    """Something for find_ntlmssp() to look through, as SPNEGO wraps it."""
    return b"\xa1\x81\x80\x30\x7e\xa0\x03\x0a\x01\x01\x04\x82" + msg


class EmuSession(Session):
    """A connection with an NTLMv2 session of USER, as a client and a
    server that know PASSWORD would produce it."""

    def __init__(self, mode, creds=True, domain=None):
        super().__init__(mode)
        if creds:
            self.st.creds = sp.Credentials(USER, smbkeys.nt_hash(PASSWORD),
                                           domain)
        self.notes = []
        self.signer = None      # the real server's

    def run(self, v):
        self.notes.extend(v.notes)
        return unframe(v.pdu) if v.pdu else b""

    def login(self, dialect=0x0300, caps=CAPS, user=USER, password=PASSWORD,
              hashed_domain="", session_flags=0, session_id=SID):
        self.run(self.client(negotiate_request([0x0202, 0x0210, 0x0300,
                                                0x0302])))
        self.run(self.server(negotiate_response(dialect=dialect, caps=caps)))
        self.run(self.server(session_setup_response(
            1, sp.STATUS_MORE_PROCESSING_REQUIRED,
            spnego(challenge_message(SERVER_CHALLENGE, NTLM_FLAGS)),
            session_id)))
        key_nt = smbkeys.ntowfv2(smbkeys.nt_hash(password), user,
                                 hashed_domain)
        temp = ntlmv2_temp(CLIENT_CHALLENGE, bytes(8), b"")
        proof = hmac.new(key_nt, SERVER_CHALLENGE + temp, "md5").digest()
        base = hmac.new(key_nt, proof, "md5").digest()
        enc = smbkeys.rc4(base, SESSION_KEY)
        auth = authenticate_message(user, "WORKGROUP", proof + temp, enc,
                                    NTLM_FLAGS)
        self.run(self.client(session_setup_request(2, spnego(auth),
                                                   session_id)))
        # The server's signing key, from the key the client chose
        # (MS-SMB2 3.2.5.3.1): what the real server signs with.
        if dialect != 0x0311:
            self.signer = smbkeys.Signer(SESSION_KEY, dialect)
        final = session_setup_response(2, 0, session_id=session_id,
                                       session_flags=session_flags)
        if self.signer and not session_flags:
            final = self.signer.sign(final)
        return self.run(self.server(final))

    def validate(self, max_out=24, sign=True, dialect=0x0300, caps=CAPS,
                 rsp=None):
        v = self.client(validate_request(max_out=max_out))
        assert v.action == sp.FORWARD
        real = rsp if rsp is not None else \
            validate_response(dialect=dialect, caps=caps)
        if sign:
            real = self.signer.sign(real)
        self.real = real
        return self.run(self.server(real))


class Emulator(unittest.TestCase):
    def signed_by_server(self, s, pdu):
        self.assertTrue(sp.u32(pdu, sp.H_FLAGS) & sp.FLAG_SIGNED)
        self.assertTrue(s.signer.verify(pdu), "not signed with the key")

    def emulated(self, mode, dialect=0x0300, **kw):
        s = EmuSession(mode)
        caps = kw.pop("caps", CAPS)
        s.login(dialect=dialect, caps=caps)
        out = s.validate(dialect=dialect, caps=caps, **kw)
        self.assertTrue(s.notes[-1].startswith("EMULATED VALIDATE rsp"),
                        s.notes)
        self.signed_by_server(s, out)
        return s, out

    def test_login_derives_and_checks_the_key(self):
        s = EmuSession("pass")
        s.login()
        self.assertIn(SID, s.st.signers)
        self.assertEqual(s.st.signers[SID].key, s.signer.key)
        self.assertIn("key derived for user 'smbvn' domain ''", s.notes[0])
        self.assertIn("signature verifies with the derived key "
                      "(AES-128-CMAC)", s.notes[1])
        out = s.validate()
        self.assertEqual(out, s.real)
        self.assertIn("VALIDATE rsp MessageId 0x7: the server's signature "
                      "verifies", s.notes[-1])

    def test_pad(self):
        s, out = self.emulated("pad", max_out=64)
        real = s.real
        self.assertEqual(len(out), 112 + 64)
        self.assertEqual(sp.u32(out, sp.IOCTLRSP_OUT_COUNT), 64)
        self.assertEqual(sp.u32(out, sp.IOCTLRSP_OUT_OFFSET), 112)
        self.assertEqual(out[112:136], real[112:136])
        self.assertEqual(out[136:], bytes(40))
        self.assertEqual(out[:48], real[:48])
        self.assertIn("OutputCount 24->64 = MaxOutputResponse 64",
                      s.notes[-1])

    def test_pad_asked_24_is_identical(self):
        s, out = self.emulated("pad", max_out=24)
        self.assertEqual(out, s.real)

    def test_pad_capped_and_not_applicable(self):
        s, out = self.emulated("pad", max_out=0x100000)
        self.assertEqual(sp.u32(out, sp.IOCTLRSP_OUT_COUNT), sp.PAD_MAX)
        s = EmuSession("pad")
        s.login()
        out = s.validate(max_out=16)
        self.assertEqual(out, s.real)
        self.assertTrue(s.notes[-1].startswith("EMULATOR-NOT-APPLICABLE"))

    def test_overrun(self):
        s, out = self.emulated("overrun")
        self.assertEqual(len(out), 136 + 8)
        self.assertEqual(sp.u32(out, sp.IOCTLRSP_OUT_COUNT), 32)
        self.assertEqual(out[112:136], s.real[112:136])
        self.assertEqual(out[136:], bytes(8))
        # NetBIOS length follows the PDU.
        v = sp.process_frame("pass", sp.ConnState(), 0, out, False)
        self.assertEqual(v.pdu[:4], b"\x00\x00\x00\x90")

    def test_dialdiff(self):
        for dialect, want in ((0x0300, 0x0302), (0x0302, 0x0300),
                              (0x0210, 0x0202), (0x0202, 0x0210)):
            s, out = self.emulated("dialdiff", dialect=dialect)
            self.assertEqual(out_fields(out)[3], want)
            self.assertEqual(out[:48], s.real[:48])
            self.assertEqual(out_fields(out)[:3], out_fields(s.real)[:3])
            self.assertEqual(s.signer.alg, "HMAC-SHA256" if dialect < 0x300
                             else "AES-128-CMAC")

    def test_capextra(self):
        for caps, want in ((CAPS, CAPS | 0x10), (0x47, 0x4F),
                           (0xFF, 0x1FF)):
            s, out = self.emulated("capextra", caps=caps)
            self.assertEqual(out_fields(out)[0], want)
            self.assertEqual(out_fields(out)[1:], out_fields(s.real)[1:])

    def test_error_statuses(self):
        for mode, status in sp.ERROR_MODES.items():
            s, out = self.emulated(mode)
            real = s.real
            self.assertEqual(len(out), 73, mode)
            self.assertEqual(sp.u32(out, sp.H_STATUS), status)
            self.assertEqual(sp.u32(out, sp.H_FLAGS),
                             sp.FLAG_SERVER_TO_REDIR | sp.FLAG_SIGNED)
            self.assertEqual(out[64:], b"\x09" + bytes(8))
            for off, size in ((4, 4), (12, 36)):
                self.assertEqual(out[off:off + size], real[off:off + size])

    def test_error_keeps_async(self):
        s = EmuSession("st-closed")
        s.login()
        rsp = bytearray(validate_response())
        rsp[16] |= sp.FLAG_ASYNC
        rsp[32:40] = b"ASYNCID!"
        out = s.validate(rsp=bytes(rsp))
        self.assertEqual(sp.u32(out, sp.H_FLAGS), 0xB)
        self.assertEqual(out[32:40], b"ASYNCID!")
        self.signed_by_server(s, out)

    def test_error_status_answer_replaced(self):
        s = EmuSession("st-denied")
        s.login()
        err = header(0x0B, MID, True, status=0xC0000010) + \
            struct.pack("<HBBIB", 9, 0, 0, 0, 0)
        out = s.validate(rsp=err)
        self.assertEqual(sp.u32(out, sp.H_STATUS), 0xC0000022)
        self.signed_by_server(s, out)
        for mode in ("pad", "overrun", "dialdiff", "capextra"):
            s = EmuSession(mode)
            s.login()
            self.assertEqual(s.validate(rsp=err), s.real)
            self.assertTrue(s.notes[-1].startswith(
                "EMULATOR-NOT-APPLICABLE"), mode)

    def refused(self, s, tag, **kw):
        out = s.validate(**kw)
        self.assertEqual(out, s.real)
        self.assertTrue(s.notes[-1].startswith(tag + " VALIDATE rsp"),
                        s.notes[-1])
        self.assertTrue(s.notes[-1].endswith("forwarded untouched"))

    def test_key_mismatch_refused(self):
        for mode in sp.EMULATOR_MODES:
            s = EmuSession(mode)
            s.login()
            real = bytearray(s.signer.sign(validate_response()))
            real[sp.H_SIG] ^= 1
            self.refused(s, "EMULATOR-KEY-MISMATCH", sign=False,
                         rsp=bytes(real))

    def test_wrong_key_refused(self):
        # The emulator's key is wrong (as if it had a bug): it must not act.
        s = EmuSession("st-denied")
        s.login()
        s.signer = smbkeys.Signer(b"\x01" * 16, 0x0300)
        self.refused(s, "EMULATOR-KEY-MISMATCH")

    def test_unsigned_refused(self):
        s = EmuSession("dialdiff")
        s.login()
        rsp = bytearray(validate_response())
        rsp[sp.H_FLAGS] &= ~sp.FLAG_SIGNED
        rsp[sp.H_SIG:sp.H_SIG + sp.SIG_LEN] = bytes(sp.SIG_LEN)
        self.refused(s, "EMULATOR-UNSIGNED", sign=False, rsp=bytes(rsp))

    def test_no_key_cases(self):
        for why, kw, creds in (
                ("no --user", {}, False),
                ("guest session", {"session_flags": 1}, True),
                ("anonymous session", {"session_flags": 2}, True),
                ("not reproduced", {"password": "wrong"}, True),
                ("is not --user", {"user": "other"}, True),
                ("dialect 3.1.1", {"dialect": 0x0311}, True)):
            s = EmuSession("st-denied", creds=creds)
            s.login(**kw)
            s.signer = s.signer or smbkeys.Signer(SESSION_KEY, 0x0300)
            self.refused(s, "EMULATOR-NO-KEY")
            self.assertIn(why, s.notes[-1])

    def test_other_session_no_key(self):
        s = EmuSession("st-denied")
        s.login()
        rsp = bytearray(validate_response())
        rsp[sp.H_SID] = 0x99
        self.refused(s, "EMULATOR-NO-KEY", rsp=bytes(rsp))
        self.assertIn("SessionId 0x99: no SESSION_SETUP seen", s.notes[-1])

    def test_domain_option(self):
        s = EmuSession("pass", domain="Hidden")
        s.login(hashed_domain="Hidden")
        self.assertIn("domain 'Hidden'", s.notes[0])

    def test_reauth_keeps_key(self):
        s = EmuSession("st-param")
        s.login()
        first = s.st.signers[SID]
        s.run(s.server(session_setup_response(
            3, sp.STATUS_MORE_PROCESSING_REQUIRED,
            challenge_message(bytes(8), NTLM_FLAGS))))
        s.run(s.client(session_setup_request(4, authenticate_message(
            USER, "", bytes(40), bytes(16), NTLM_FLAGS))))
        s.run(s.server(session_setup_response(4, 0)))
        self.assertIs(s.st.signers[SID], first)
        out = s.validate()
        self.assertEqual(sp.u32(out, sp.H_STATUS), 0xC000000D)

    def test_two_sessions(self):
        s = EmuSession("st-fsdrv")
        s.login(session_id=0x22)
        s.login(session_id=0x33, user="other")
        self.assertIn(0x22, s.st.signers)
        self.assertNotIn(0x33, s.st.signers)
        self.assertEqual(sp.u32(s.validate(), sp.H_STATUS), 0xC000019C)

    def test_compound_refused(self):
        s = EmuSession("st-notsupp")
        s.login()
        rsp = bytearray(validate_response())
        sp.put_u32(rsp, sp.H_NEXT, 136)
        self.refused(s, "EMULATOR-COMPOUND", rsp=bytes(rsp))

    def test_encrypted_noted_once(self):
        st = sp.ConnState()
        blob = b"\xfdSMB" + bytes(60)
        v1 = sp.process_frame("st-denied", st, 0, blob, False)
        v2 = sp.process_frame("st-denied", st, 0, blob, True)
        self.assertEqual((v1.pdu, v2.pdu), (sp.frame(blob), sp.frame(blob)))
        self.assertEqual(len(v1.notes), 1)
        self.assertTrue(v1.notes[0].startswith("EMULATOR-ENCRYPTED"))
        self.assertEqual(v2.notes, [])
        self.assertEqual(sp.process_frame("pass", sp.ConnState(), 0, blob,
                                          False).notes, [])

    def test_old_modes_keep_working_with_credentials(self):
        s = EmuSession("sigflip")
        s.login()
        out = s.validate()
        self.assertIn("signature verifies", s.notes[-2])
        self.assertFalse(s.signer.verify(out))
        s = EmuSession("stall")
        s.login()
        self.assertEqual(s.validate(), b"")
        self.assertIn("signature verifies", s.notes[-2])


# --- SMB 3.1.1: the TREE_CONNECT response (tcunsigned, tcflip) -------------

def tree_connect_response(mid=3, tid=0x33, status=0, signed=True):
    body = struct.pack("<HBBIII", 16, 1, 0, 0, 0, 0x1F01FF)
    return header(sp.CMD_TREE_CONNECT, mid, True, status=status,
                  signed=signed, tid=tid) + body


def compound(*pdus):
    """A compound PDU: each member but the last padded to 8 bytes, with
    NextCommand pointing at the next one."""
    out = b""
    for i, p in enumerate(pdus):
        p = bytearray(p)
        if i < len(pdus) - 1:
            p += bytes(-len(p) % 8)
            struct.pack_into("<I", p, sp.H_NEXT, len(p))
        out += p
    return out


def binding_request(mid, binding):
    body = struct.pack("<HBBIIHHQ", 25, 1 if binding else 0, 1, 0, 0, 0, 0,
                       0)
    return header(sp.CMD_SESSION_SETUP, mid, False, signed=binding) + body


def binding_response(mid, status=0):
    body = struct.pack("<HHHH", 9, 0, 0, 0)
    return header(sp.CMD_SESSION_SETUP, mid, True, status=status,
                  signed=True) + body


class Binding(unittest.TestCase):
    def test_bindflip_breaks_only_a_binding_final_answer(self):
        s = Session("bindflip")
        s.negotiate(dialect=0x0311)
        # The session's own setup: untouched.
        s.client(binding_request(2, False))
        real = binding_response(2)
        self.assertEqual(unframe(s.server(real).pdu), real)
        # A binding: the interim leg untouched, the final one flipped.
        s.client(binding_request(7, True))
        leg = binding_response(7, status=0xC0000016)
        self.assertEqual(unframe(s.server(leg).pdu), leg)
        s.client(binding_request(8, True))
        real = binding_response(8)
        v = s.server(real)
        want = bytearray(real)
        want[53] ^= 0x01
        self.assertEqual(unframe(v.pdu), bytes(want))
        self.assertIn("(binding) Status 0x00000000: Signature", v.notes[0])

    def test_bindflip_not_311_untouched(self):
        s = Session("bindflip")
        s.negotiate(dialect=0x0300)
        s.client(binding_request(8, True))
        real = binding_response(8)
        v = s.server(real)
        self.assertEqual(unframe(v.pdu), real)
        self.assertIn("not 3.1.1", v.notes[0])


class TreeConnect(unittest.TestCase):
    def session(self, mode, dialect=0x0311):
        s = Session(mode)
        s.negotiate(dialect=dialect)
        return s

    def test_tcunsigned(self):
        s = self.session("tcunsigned")
        for mid, tid in ((3, 0x33), (5, 0x44)):     # IPC$, then the share
            real = tree_connect_response(mid, tid)
            v = s.server(real)
            pdu = unframe(v.pdu)
            self.assertEqual(sp.u32(pdu, sp.H_FLAGS), sp.FLAG_SERVER_TO_REDIR)
            self.assertEqual(pdu[48:64], bytes(16))
            self.assertEqual(pdu[:16] + pdu[20:48] + pdu[64:],
                             real[:16] + real[20:48] + real[64:])
            self.assertEqual(v.notes, [
                f"TREE_CONNECT rsp MessageId 0x{mid:x} TreeId 0x{tid:x} "
                "Status 0x00000000: Flags 0x00000009->0x00000001 Signature "
                f"{SIG.hex()}->{bytes(16).hex()}"])

    def test_tcflip(self):
        s = self.session("tcflip")
        real = tree_connect_response()
        v = s.server(real)
        want = bytearray(real)
        want[53] ^= 0x01
        self.assertEqual(unframe(v.pdu), bytes(want))
        self.assertIn("Flags 0x00000009->0x00000009", v.notes[0])

    def test_errors_and_unsigned_answers_too(self):
        s = self.session("tcunsigned")
        v = s.server(tree_connect_response(status=0xC00000CC))
        self.assertEqual(unframe(v.pdu)[48:64], bytes(16))
        self.assertIn("Status 0xc00000cc", v.notes[0])
        v = s.server(tree_connect_response(signed=False))
        self.assertIn("(the server had not signed it)", v.notes[0])

    def test_not_311_untouched(self):
        for dialect in (0x0300, 0x0302, 0x0210):
            s = self.session("tcflip", dialect)
            real = tree_connect_response()
            v = s.server(real)
            self.assertEqual(unframe(v.pdu), real)
            self.assertIn(f"dialect 0x{dialect:04x} is not 3.1.1: "
                          "untouched", v.notes[0])

    def test_other_answers_untouched(self):
        s = self.session("tcunsigned")
        for cmd in (sp.CMD_SESSION_SETUP, sp.CMD_CREATE, sp.CMD_IOCTL):
            real = header(cmd, 9, True, signed=True) + bytes(9)
            v = s.server(real)
            self.assertEqual((unframe(v.pdu), v.notes), (real, []))
        # The client's request is never changed.
        req = header(sp.CMD_TREE_CONNECT, 3, False, signed=True) + bytes(9)
        self.assertEqual(unframe(s.client(req).pdu), req)

    def test_compound_member(self):
        s = self.session("tcflip")
        echo = header(0x0D, 8, True, signed=True) + struct.pack("<HH", 4, 0)
        real = compound(echo, tree_connect_response(mid=9))
        v = s.server(real)
        pdu = unframe(v.pdu)
        self.assertEqual(pdu[:72], real[:72])
        self.assertEqual(pdu[72 + 53], real[72 + 53] ^ 0x01)
        self.assertEqual(len(v.notes), 1)

    def test_interim_untouched(self):
        s = self.session("tcunsigned")
        interim = bytearray(tree_connect_response(status=sp.STATUS_PENDING))
        interim[16] |= sp.FLAG_ASYNC
        v = s.server(bytes(interim))
        self.assertEqual(unframe(v.pdu), interim)
        self.assertIn("interim", v.notes[0])

    def test_encrypted_left_alone_and_logged_once(self):
        s = self.session("tcunsigned")
        sealed = b"\xfdSMB" + bytes(60)
        v = s.server(sealed)
        self.assertEqual(v.pdu, sp.frame(sealed))
        self.assertTrue(v.notes[0].startswith("TC-ENCRYPTED: "))
        self.assertEqual(s.server(sealed).notes, [])
        self.assertEqual(s.client(sealed).notes, [])


# --- the impostor ------------------------------------------------------------

import smbimpostor as imp  # noqa: E402


def req_header(cmd, mid, sid=0, tid=0, related=False, signed=False,
               credits=10):
    flags = (imp.FLAG_RELATED if related else 0) | \
        (imp.FLAG_SIGNED if signed else 0)
    return struct.pack("<4sHHIHHIIQIIQ16s", b"\xfeSMB", 64, 1, 0, cmd,
                       credits, flags, 0, mid, 0xFEFF, tid, sid,
                       SIG if signed else bytes(16))


def neg_context(ctype, data):
    return struct.pack("<HHI", ctype, len(data), 0) + data


def negotiate_311_request(ciphers=(2, 1)):
    dialects = (0x0210, 0x0300, 0x0302, 0x0311)
    ctxs = [neg_context(1, struct.pack("<HHH", 1, 32, 1) + bytes(32)),
            neg_context(5, "10.0.2.2".encode("utf-16-le")),
            neg_context(0x100, bytes(16))]
    if ciphers:
        ctxs.insert(1, neg_context(2, struct.pack(
            f"<H{len(ciphers)}H", len(ciphers), *ciphers)))
    ctx_off = 64 + 36 + 2 * len(dialects)
    ctx_off += -ctx_off % 8
    body = struct.pack("<HHHHI16sIHH", 36, len(dialects), 1, 0, 0x7F,
                       CLIENT_GUID, ctx_off, len(ctxs), 0)
    body += struct.pack(f"<{len(dialects)}H", *dialects)
    pdu = req_header(0, 0) + body
    pdu += bytes(ctx_off - len(pdu))
    for i, c in enumerate(ctxs):
        pdu += c + (bytes(-len(c) % 8) if i < len(ctxs) - 1 else b"")
    return pdu


def sess_req(mid, blob, sid=0):
    body = struct.pack("<HBBIIHHQ", 25, 0, 1, 0, 0, 64 + 24, len(blob), 0)
    return req_header(1, mid, sid) + body + blob


def ntlm_negotiate(flags=0xE2088297):
    return b"NTLMSSP\x00" + struct.pack("<II", 1, flags) + bytes(16)


def utf(s):
    return s.encode("utf-16-le")


def tcon_req(mid, sid, path):
    p = utf(path)
    return req_header(3, mid, sid, signed=True) + \
        struct.pack("<HHHH", 9, 0, 72, len(p)) + p


def create_req(mid, sid, tid, name, disposition=1, options=0,
               related=False):
    n = utf(name)
    body = struct.pack("<HBBIQQIIIIIHHII", 57, 0, 0, 2, 0, 0, 0x00120089,
                       0, 7, disposition, options, 120 if n else 0, len(n),
                       0, 0)
    return req_header(5, mid, sid, tid, related) + body + (n or b"\x00")


def query_info_req(mid, sid, tid, itype, cls, fid=b"\xff" * 16,
                   out_len=65536, related=False):
    body = struct.pack("<HBBIHHIII16s", 41, itype, cls, out_len, 0, 0, 0,
                       0, 0, fid)
    return req_header(16, mid, sid, tid, related) + body + b"\x00"


def close_req(mid, sid, tid, fid=b"\xff" * 16, flags=1, related=False):
    return req_header(6, mid, sid, tid, related) + \
        struct.pack("<HHI16s", 24, flags, 0, fid)


def read_req(mid, sid, tid, fid, offset=0, length=4096, minimum=0):
    return req_header(8, mid, sid, tid) + struct.pack(
        "<HBBIQ16sIIIHH", 49, 0x50, 0, length, offset, fid, minimum, 0, 0,
        0, 0) + b"\x00"


def ioctl_req(mid, sid, tid, ctl):
    return req_header(11, mid, sid, tid) + struct.pack(
        "<HHI16sIIIIIIII", 57, 0, ctl, b"\xff" * 16, 0, 0, 0, 0, 0, 65536,
        1, 0)


def query_dir_req(mid, sid, tid, fid, pattern="*", cls=38, flags=0,
                  out_len=65536):
    p = utf(pattern)
    return req_header(14, mid, sid, tid) + struct.pack(
        "<HBBI16sHHI", 33, cls, flags, 0, fid, 96, len(p), out_len) + p


def simple_req(cmd, mid, sid=0, tid=0):
    return req_header(cmd, mid, sid, tid) + struct.pack("<HH", 4, 0)


def status(pdu):
    return sp.u32(pdu, sp.H_STATUS)


def members(pdu):
    """The members of a compound response."""
    out = []
    while True:
        nxt = sp.u32(pdu, sp.H_NEXT)
        out.append(pdu[:nxt] if nxt else pdu)
        if not nxt:
            return out
        pdu = pdu[nxt:]


class Fake:
    """An Impostor and a client's view of it."""

    def __init__(self):
        self.imp = imp.Impostor(now=1_700_000_000, challenge=bytes(8))
        self.notes = []
        self.sid = self.ipc = self.tid = None

    def send(self, pdu, ftype=0):
        reply = self.imp.receive(ftype, pdu)
        self.notes += reply.notes
        assert not reply.hangup, reply.notes
        if not reply.pdus:
            return None
        [rsp] = reply.pdus
        for m in members(rsp):
            # Whatever it is, an answer of the impostor is unsigned.
            assert sp.u32(m, sp.H_FLAGS) & imp.FLAG_SIGNED == 0
            assert m[48:64] == bytes(16)
            assert sp.u32(m, sp.H_FLAGS) & imp.FLAG_SERVER_TO_REDIR
        return rsp

    def login(self, spnego_wrap=False):
        self.send(negotiate_311_request())
        wrap = spnego if spnego_wrap else (lambda m: m)
        rsp = self.send(sess_req(1, wrap(ntlm_negotiate())))
        self.sid = sp.u64(rsp, sp.H_SID)
        auth = authenticate_message("smbvn", "WORKGROUP", bytes(60),
                                    bytes(16), 0xE2088215)
        final = self.send(sess_req(2, wrap(auth), self.sid))
        self.ipc = sp.u32(self.send(tcon_req(3, self.sid,
                                             r"\\10.0.2.2\IPC$")), sp.H_TID)
        self.tid = sp.u32(self.send(tcon_req(4, self.sid,
                                             r"\\10.0.2.2\data")), sp.H_TID)
        return rsp, final

    def open(self, name, mid=10, **kw):
        rsp = self.send(create_req(mid, self.sid, self.tid, name, **kw))
        return rsp, (rsp[64 + 64:64 + 80] if status(rsp) == 0 else None)


class Impostor(unittest.TestCase):
    def test_negotiate_311(self):
        f = Fake()
        rsp = f.send(negotiate_311_request())
        (size, secmode, dialect, count, guid, caps, tmax, rmax, wmax, _, _,
         sec_off, sec_len, ctx_off) = struct.unpack_from(
            "<HHHH16sIIIIQQHHI", rsp, 64)
        self.assertEqual((size, secmode, dialect, count, caps),
                         (65, 1, 0x0311, 2, 0))
        self.assertEqual(guid, imp.SERVER_GUID)
        self.assertEqual((tmax, rmax, wmax), (65536,) * 3)
        self.assertEqual((status(rsp), sp.u64(rsp, sp.H_MID),
                          sp.u16(rsp, sp.H_CREDITS)), (0, 0, 10))
        # RFC 4178 NegTokenInit in a GSS-API token, offering NTLMSSP.
        self.assertEqual(rsp[sec_off:sec_off + sec_len].hex(),
                         "601c06062b0601050502a0123010a00e300c060a2b060104"
                         "01823702020a")
        self.assertEqual(ctx_off % 8, 0)
        self.assertGreaterEqual(ctx_off, sec_off + sec_len)
        ctype, length = struct.unpack_from("<HH", rsp, ctx_off)
        self.assertEqual((ctype, length), (1, 38))
        self.assertEqual(struct.unpack_from("<HHH", rsp, ctx_off + 8),
                         (1, 32, 1))      # one hash, 32-byte salt, SHA-512
        nxt = ctx_off + 8 + 40            # 38 padded to 40
        self.assertEqual(rsp[nxt:], neg_context(2, struct.pack("<HH", 1, 2)))
        self.assertIn("contexts seen PREAUTH_INTEGRITY,ENCRYPTION,NETNAME,"
                      "POSIX(Linux); answered PREAUTH_INTEGRITY(SHA-512), "
                      "ENCRYPTION(AES-128-GCM)", f.notes[0])

    def test_negotiate_without_encryption_context(self):
        rsp = Fake().send(negotiate_311_request(ciphers=()))
        self.assertEqual(sp.u16(rsp, 64 + 6), 1)
        ctx_off = sp.u32(rsp, 64 + 60)
        self.assertEqual(len(rsp), ctx_off + 8 + 38)

    def test_negotiate_30(self):
        f = Fake()
        rsp = f.send(negotiate_request([0x0202, 0x0210, 0x0300]))
        self.assertEqual(sp.u16(rsp, 64 + 4), 0x0300)
        self.assertEqual((sp.u16(rsp, 64 + 6), sp.u32(rsp, 64 + 60)), (0, 0))
        self.assertEqual(len(rsp), 128 + 30)
        # A second NEGOTIATE on the connection is refused.
        self.assertEqual(status(f.send(negotiate_request([0x0300]))),
                         imp.STATUS_NOT_SUPPORTED)

    def test_no_common_dialect(self):
        f = Fake()
        self.assertEqual(status(f.send(negotiate_request([0x0400]))),
                         imp.STATUS_NOT_SUPPORTED)

    def test_session_setup_raw(self):
        f = Fake()
        chal, final = f.login()
        self.assertEqual(status(chal), imp.STATUS_MORE_PROCESSING_REQUIRED)
        self.assertNotEqual(f.sid, 0)
        off, length = struct.unpack_from("<HH", chal, 64 + 4)
        msg = chal[off:off + length]
        self.assertTrue(msg.startswith(b"NTLMSSP\x00\x02\x00\x00\x00"))
        c = smbkeys.parse_challenge(msg)
        self.assertEqual((c.server_challenge, c.target_name),
                         (bytes(8), "IMPOSTOR"))
        # Echoes UNICODE, NTLM, EXTENDED_SESSIONSECURITY, 128, KEY_EXCH...
        self.assertEqual(c.flags & 0xE2088215, 0xE2088215)
        self.assertEqual(c.flags & 0x00800000, 0x00800000)   # TARGET_INFO
        ti_len, _, ti_off = struct.unpack_from("<HHI", msg, 40)
        self.assertTrue(msg[ti_off:ti_off + ti_len].endswith(bytes(4)))
        self.assertEqual((status(final), sp.u64(final, sp.H_SID)),
                         (0, f.sid))
        self.assertEqual(final[64:], struct.pack("<HHHH", 9, 0, 72, 0) +
                         b"\x00")
        self.assertIn("user 'smbvn' domain 'WORKGROUP' workstation 'CLIENT' "
                      "NtChallengeResponse 60 bytes: accepted unchecked",
                      f.notes[2])

    def test_session_setup_spnego(self):
        f = Fake()
        chal, final = f.login(spnego_wrap=True)
        off, length = struct.unpack_from("<HH", chal, 64 + 4)
        blob = chal[off:off + length]
        # NegTokenResp: accept-incomplete, supportedMech NTLMSSP, token.
        self.assertTrue(blob.startswith(b"\xa1"))
        self.assertIn(b"\xa0\x03\x0a\x01\x01\xa1\x0c\x06\x0a" +
                      bytes.fromhex("2b06010401823702020a"), blob)
        self.assertEqual(smbkeys.find_ntlmssp(blob)[8], 2)
        off, length = struct.unpack_from("<HH", final, 64 + 4)
        self.assertEqual(final[off:off + length].hex(),
                         "a1073005a0030a0100")      # accept-completed

    def test_kerberos_refused(self):
        f = Fake()
        f.send(negotiate_311_request())
        rsp = f.send(sess_req(1, b"\x60\x10" + bytes(16)))
        self.assertEqual(status(rsp), imp.STATUS_LOGON_FAILURE)

    def test_tree_connect(self):
        f = Fake()
        f.login()
        self.assertNotEqual(f.ipc, f.tid)
        rsp = f.send(tcon_req(5, f.sid, r"\\srv\IPC$"))
        self.assertEqual(rsp[64:], struct.pack("<HBBIII", 16, 2, 0, 0, 0,
                                               0x1F01FF))
        rsp = f.send(tcon_req(6, f.sid, r"\\srv\other"))
        self.assertEqual(rsp[66], 1)        # DISK
        self.assertIn(r"TREE_CONNECT req MessageId 4 signed "
                      r"'\\\\10.0.2.2\\data' -> TreeId 0x2 DISK -> "
                      "STATUS_SUCCESS, unsigned", f.notes)

    def test_ioctls_not_supported(self):
        f = Fake()
        f.login()
        for ctl in (0x001401FC, 0x00140204, 0x00060194):
            rsp = f.send(ioctl_req(7, f.sid, f.ipc, ctl))
            self.assertEqual(status(rsp), imp.STATUS_NOT_SUPPORTED)
            self.assertEqual(rsp[64:], b"\x09" + bytes(8))
        self.assertIn("FSCTL_QUERY_NETWORK_INTERFACE_INFO", f.notes[-3])

    def test_compound_open_query_close(self):
        f = Fake()
        f.login()
        rsp = f.send(compound(
            create_req(8, f.sid, f.tid, ""),
            query_info_req(9, 0, 0, 1, 18, related=True),
            close_req(10, 0, 0, related=True)))
        c, q, cl = members(rsp)
        self.assertEqual([status(m) for m in (c, q, cl)], [0, 0, 0])
        self.assertEqual(len(c) % 8, 0)
        self.assertEqual(len(q) % 8, 0)
        self.assertEqual([sp.u32(m, sp.H_FLAGS) & imp.FLAG_RELATED
                          for m in (c, q, cl)], [0, 4, 4])
        self.assertEqual([sp.u32(m, sp.H_TID) for m in (c, q, cl)],
                         [f.tid] * 3)
        self.assertEqual(sp.u64(q, sp.H_SID), f.sid)
        off, length = struct.unpack_from("<HI", q, 64 + 2)
        info = q[off:off + length]
        self.assertEqual(sp.u32(info, 32), 0x10)        # DIRECTORY
        self.assertEqual(info[40 + 21], 1)              # Directory
        self.assertEqual(info[96:], struct.pack("<I", 2) + utf("\\"))
        self.assertEqual(f.imp.opens, {})
        self.assertEqual(sp.u32(cl, 64 + 56), 0x10)     # POSTQUERY_ATTRIB

    def test_compound_missing_file(self):
        f = Fake()
        f.login()
        rsp = f.send(compound(
            create_req(8, f.sid, f.tid, "nothere.txt"),
            query_info_req(9, 0, 0, 1, 18, related=True),
            close_req(10, 0, 0, related=True)))
        self.assertEqual([status(m) for m in members(rsp)],
                         [imp.STATUS_OBJECT_NAME_NOT_FOUND] * 3)

    def test_read_hello(self):
        f = Fake()
        f.login()
        rsp, fid = f.open("hello.txt", options=imp.FILE_NON_DIRECTORY_FILE)
        self.assertEqual(sp.u16(rsp, 64), 89)
        self.assertEqual(sp.u64(rsp, 64 + 48), 9)       # EndofFile
        self.assertEqual(sp.u32(rsp, 64 + 56), 0x20)
        rsp = f.send(read_req(11, f.sid, f.tid, fid))
        self.assertEqual(rsp[64:80], struct.pack("<HBBIII", 17, 0x50, 0, 9,
                                                 0, 0))
        self.assertEqual(rsp[0x50:], b"impostor\n")
        self.assertEqual(status(f.send(read_req(12, f.sid, f.tid, fid,
                                                offset=9))),
                         imp.STATUS_END_OF_FILE)
        self.assertEqual(status(f.send(read_req(13, f.sid, f.tid, fid,
                                                minimum=100))),
                         imp.STATUS_END_OF_FILE)
        self.assertEqual(status(f.send(close_req(14, f.sid, f.tid, fid))), 0)
        self.assertEqual(status(f.send(close_req(15, f.sid, f.tid, fid))),
                         imp.STATUS_INVALID_HANDLE)
        self.assertIn("READ req MessageId 11 'hello.txt' offset 0 length "
                      "4096: 9 bytes -> STATUS_SUCCESS, unsigned", f.notes)

    def test_create_checks(self):
        f = Fake()
        f.login()
        for name, kw, want in (
                ("hello.txt", {"options": imp.FILE_DIRECTORY_FILE},
                 imp.STATUS_NOT_A_DIRECTORY),
                ("", {"options": imp.FILE_NON_DIRECTORY_FILE},
                 imp.STATUS_FILE_IS_A_DIRECTORY),
                ("hello.txt", {"disposition": imp.FILE_CREATE},
                 imp.STATUS_OBJECT_NAME_COLLISION),
                ("hello.txt", {"disposition": 5}, imp.STATUS_ACCESS_DENIED),
                ("new.txt", {"disposition": imp.FILE_OPEN_IF},
                 imp.STATUS_ACCESS_DENIED),
                ("HELLO.TXT", {}, 0)):
            self.assertEqual(status(f.open(name, **kw)[0]), want, name)
        rsp = f.send(create_req(9, f.sid, f.ipc, "srvsvc"))
        self.assertEqual(status(rsp), imp.STATUS_OBJECT_NAME_NOT_FOUND)

    def test_query_info_classes(self):
        f = Fake()
        f.login()
        _, fid = f.open("hello.txt")
        sizes = {(2, 1): 18 + 16, (2, 3): 24, (2, 4): 8, (2, 5): 12 + 16,
                 (2, 7): 32, (2, 8): 64, (2, 11): 28, (1, 4): 40,
                 (1, 5): 24, (1, 6): 8, (1, 7): 4, (1, 18): 100 + 20,
                 (1, 34): 56, (1, 35): 8}
        for (itype, cls), size in sizes.items():
            rsp = f.send(query_info_req(20, f.sid, f.tid, itype, cls, fid))
            self.assertEqual(status(rsp), 0, (itype, cls))
            self.assertEqual(struct.unpack_from("<HHI", rsp, 64),
                             (9, 72, size), (itype, cls))
            self.assertEqual(len(rsp), 72 + size)
        rsp = f.send(query_info_req(21, f.sid, f.tid, 2, 5, fid))
        self.assertEqual(rsp[72 + 12:], utf("IMPOSTOR"))
        rsp = f.send(query_info_req(22, f.sid, f.tid, 1, 18, fid,
                                    out_len=104))
        self.assertEqual((status(rsp), len(rsp)),
                         (imp.STATUS_BUFFER_OVERFLOW, 72 + 104))
        self.assertEqual(sp.u32(rsp, 72 + 96), 20)  # the whole name's length
        rsp = f.send(query_info_req(23, f.sid, f.tid, 1, 4, fid, out_len=8))
        self.assertEqual(status(rsp), imp.STATUS_INFO_LENGTH_MISMATCH)
        for itype, cls in ((1, 99), (3, 0), (4, 0)):
            rsp = f.send(query_info_req(24, f.sid, f.tid, itype, cls, fid))
            self.assertEqual(status(rsp), imp.STATUS_NOT_SUPPORTED)

    def test_query_directory(self):
        f = Fake()
        f.login()
        _, fid = f.open("", options=imp.FILE_DIRECTORY_FILE)
        rsp = f.send(query_dir_req(30, f.sid, f.tid, fid))
        self.assertEqual(status(rsp), 0)
        off, length = struct.unpack_from("<HI", rsp, 64 + 2)
        buf, names = rsp[off:off + length], []
        pos = 0
        while True:
            nxt, nlen = sp.u32(buf, pos), sp.u32(buf, pos + 60)
            names.append(buf[pos + 80:pos + 80 + nlen].decode("utf-16-le"))
            self.assertEqual(pos % 8, 0)
            if not nxt:
                break
            pos += nxt
        self.assertEqual(names, [".", "..", "hello.txt"])
        self.assertEqual(sp.u64(buf, pos + 72), 0x101)   # FileId
        self.assertEqual(status(f.send(query_dir_req(31, f.sid, f.tid,
                                                     fid))),
                         imp.STATUS_NO_MORE_FILES)
        rsp = f.send(query_dir_req(32, f.sid, f.tid, fid, "HELLO.*",
                                   cls=12, flags=imp.RESTART_SCANS))
        self.assertEqual(rsp[72:], struct.pack("<III", 0, 0, 18) +
                         utf("hello.txt"))
        rsp = f.send(query_dir_req(33, f.sid, f.tid, fid, "nope",
                                   flags=imp.RESTART_SCANS))
        self.assertEqual(status(rsp), imp.STATUS_NO_SUCH_FILE)
        # Only as many entries as fit; the rest come next time.
        rsp = f.send(query_dir_req(34, f.sid, f.tid, fid, cls=1,
                                   flags=imp.RESTART_SCANS, out_len=140))
        self.assertIn("2 entries", f.notes[-1])

    def test_simple_commands(self):
        f = Fake()
        f.login()
        for cmd in (imp.ECHO, imp.TREE_DISCONNECT):
            rsp = f.send(simple_req(cmd, 40, f.sid, f.tid))
            self.assertEqual((status(rsp), rsp[64:]),
                             (0, struct.pack("<HH", 4, 0)))
        rsp = f.send(create_req(41, f.sid, f.tid, ""))
        self.assertEqual(status(rsp), imp.STATUS_NETWORK_NAME_DELETED)
        write = req_header(imp.WRITE, 42, f.sid, f.ipc) + bytes(49)
        self.assertEqual(status(f.send(write)), imp.STATUS_ACCESS_DENIED)
        self.assertIsNone(f.send(simple_req(imp.CANCEL, 43, f.sid)))
        rsp = f.send(simple_req(imp.LOGOFF, 44, f.sid))
        self.assertEqual(status(rsp), 0)
        rsp = f.send(ioctl_req(45, f.sid, f.ipc, 0x001401FC))
        self.assertEqual(status(rsp), imp.STATUS_USER_SESSION_DELETED)

    def test_order_and_garbage(self):
        f = Fake()
        rsp = f.send(sess_req(1, ntlm_negotiate()))
        self.assertEqual(status(rsp), imp.STATUS_INVALID_PARAMETER)
        f.send(negotiate_311_request())
        # ECHO needs no session; TREE_CONNECT needs a known one.
        self.assertEqual(status(f.send(simple_req(imp.ECHO, 2, 0x1234))), 0)
        rsp = f.send(tcon_req(3, 0x1234, r"\\srv\data"))
        self.assertEqual(status(rsp), imp.STATUS_USER_SESSION_DELETED)
        f.login()
        short = create_req(9, f.sid, f.tid, "hello.txt")[:70]
        self.assertEqual(status(f.send(short)), imp.STATUS_INVALID_PARAMETER)
        for bad in (b"\xffSMBr" + bytes(40), b"\xfdSMB" + bytes(60),
                    header(0, 0, True)):
            r = f.imp.receive(0, bad)
            self.assertTrue(r.hangup)
            self.assertEqual(r.pdus, [])
        self.assertTrue(f.imp.receive(0x85, b"").hangup)
        # A chain whose NextCommand points at less than a header.
        chain = bytearray(compound(simple_req(imp.ECHO, 50),
                                   simple_req(imp.ECHO, 51)))
        r = f.imp.receive(0, bytes(chain[:80]))
        self.assertTrue(r.hangup)
        self.assertIn("compound member at 72 is broken", r.notes[-1])

    def test_over_tcp(self):
        """The proxy's impostor connection, without any server."""
        port = free_ports(1)[0]
        with tempfile.TemporaryDirectory() as d:
            log = os.path.join(d, "log")
            proxy = subprocess.Popen(
                [sys.executable, os.path.join(HERE, "smbproxy.py"), "--map",
                 f"{port}:impostor", "--log", log],
                stdout=subprocess.PIPE, text=True)
            try:
                self.assertIn("ready", proxy.stdout.readline())
                with socket.create_connection(("127.0.0.1", port), 5) as s:
                    s.sendall(sp.frame(negotiate_311_request()))
                    data = b""
                    while not sp.split_frames(data)[0]:
                        data += s.recv(65536)
                    [(_, rsp)], _ = sp.split_frames(data)
                    self.assertEqual(sp.u16(rsp, 64 + 4), 0x0311)
                    s.sendall(sp.frame(b"\xffSMB" + bytes(40)))
                    self.assertEqual(s.recv(10), b"")   # hung up
            finally:
                proxy.terminate()
                proxy.wait(10)
                proxy.stdout.close()
            with open(log) as f:
                text = f.read()
        self.assertIn("mode=impostor conn=1 impostor: NEGOTIATE req", text)
        self.assertIn("impostor: connection closed by impostor; requests "
                      "answered: NEGOTIATE=1", text)


# --- tcdelay: a server slow to answer TREE_CONNECT ---------------------------

class TcDelay(unittest.TestCase):
    def test_tree_connect_answers_held_unchanged(self):
        s = Session("tcdelay")
        self.assertEqual(s.negotiate(), negotiate_response())
        # IPC$, the share, and a refused one: held whatever the status.
        for mid, tid, path, status in (
                (3, 0x33, r"\\10.0.2.2\IPC$", 0),
                (5, 0x44, r"\\10.0.2.2\data", 0),
                (6, 0, r"\\10.0.2.2\nope", 0xC00000CC)):
            req = tcon_req(mid, SID, path)
            v = s.client(req)
            self.assertEqual((v.action, unframe(v.pdu), v.notes),
                             (sp.FORWARD, req, []))
            real = tree_connect_response(mid, tid, status)
            v = s.server(real)
            self.assertEqual((v.action, v.delay, unframe(v.pdu)),
                             (sp.DELAY, sp.TCDELAY, real))
            self.assertEqual(v.notes, [
                f"TREE_CONNECT rsp MessageId 0x{mid:x} ({path}) "
                f"TreeId 0x{tid:x} Status 0x{status:08x}: held "
                f"{sp.TCDELAY:g} s"])
        self.assertEqual(s.st.tcon_paths, {})

    def test_everything_else_at_once(self):
        s = Session("tcdelay")
        s.negotiate()
        v = s.validate()
        self.assertEqual((v.action, unframe(v.pdu), v.notes),
                         (sp.FORWARD, validate_response(), []))
        for cmd in (sp.CMD_SESSION_SETUP, sp.CMD_CREATE, sp.CMD_READ, 0x0D):
            real = header(cmd, 9, True, signed=True) + bytes(9)
            v = s.server(real)
            self.assertEqual((v.action, unframe(v.pdu), v.notes),
                             (sp.FORWARD, real, []))
        # A compound answer with a TREE_CONNECT member is held whole.
        echo = header(0x0D, 8, True, signed=True) + struct.pack("<HH", 4, 0)
        real = compound(echo, tree_connect_response(mid=9))
        v = s.server(real)
        self.assertEqual((v.action, unframe(v.pdu)), (sp.DELAY, real))
        self.assertIn("MessageId 0x9 (?)", v.notes[0])

    def test_interim_held_path_kept(self):
        s = Session("tcdelay")
        s.client(tcon_req(3, SID, r"\\h\data"))
        interim = bytearray(tree_connect_response(status=sp.STATUS_PENDING))
        interim[16] |= sp.FLAG_ASYNC
        self.assertEqual(s.server(bytes(interim)).action, sp.DELAY)
        v = s.server(tree_connect_response())
        self.assertIn(r"(\\h\data)", v.notes[0])
        self.assertEqual(s.st.tcon_paths, {})

    def test_encrypted_at_once_and_logged_once(self):
        s = Session("tcdelay")
        sealed = b"\xfdSMB" + bytes(60)
        v = s.server(sealed)
        self.assertEqual((v.action, v.pdu), (sp.FORWARD, sp.frame(sealed)))
        self.assertTrue(v.notes[0].startswith("TC-ENCRYPTED: "))
        self.assertEqual(s.server(sealed).notes, [])

    def test_other_modes_do_not_delay(self):
        for mode in ("pass", "guid", "tcflip"):
            s = Session(mode)
            s.negotiate()
            self.assertEqual(s.server(tree_connect_response()).action,
                             sp.FORWARD, mode)

    def test_over_tcp(self):
        """Through a real Connection: the answer to an ECHO sent after the
        TREE_CONNECT overtakes it; the TREE_CONNECT answer arrives after the
        delay, byte for byte the server's."""
        real_delay, sp.TCDELAY = sp.TCDELAY, 0.4
        try:
            with tempfile.TemporaryDirectory() as d:
                log = sp.Log(os.path.join(d, "log"), False)
                try:
                    got = asyncio.run(self.exchange(log))
                finally:
                    log.f.close()
                with open(os.path.join(d, "log")) as f:
                    text = f.read()
        finally:
            sp.TCDELAY = real_delay
        (c1, t1, p1), (c2, t2, p2) = got
        self.assertEqual((c1, c2), (0x0D, sp.CMD_TREE_CONNECT))
        self.assertGreaterEqual(t2, 0.4)
        self.assertEqual(p2, tree_connect_response(3, 0x33))
        self.assertIn(r"mode=tcdelay conn=1 TREE_CONNECT rsp MessageId 0x3 "
                      r"(\\h\data) TreeId 0x33 Status 0x00000000: held "
                      "0.4 s", text)
        self.assertIn("mode=tcdelay conn=1 held frame sent after 0.4 s", text)

    async def exchange(self, log):
        async def server(reader, writer):
            buf = b""
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                frames, buf = sp.split_frames(buf + data)
                for _, pdu in frames:
                    if sp.command(pdu) == sp.CMD_TREE_CONNECT:
                        rsp = tree_connect_response(sp.mid(pdu), 0x33)
                    else:
                        rsp = header(0x0D, sp.mid(pdu), True) + \
                            struct.pack("<HH", 4, 0)
                    writer.write(sp.frame(rsp))
            writer.close()

        upstream = await asyncio.start_server(server, "127.0.0.1", 0)
        proxy = sp.Proxy(upstream.sockets[0].getsockname()[:2], [],
                         "127.0.0.1", log)
        front = await asyncio.start_server(
            lambda r, w: proxy.accept("tcdelay", r, w), "127.0.0.1", 0)
        reader, writer = await asyncio.open_connection(
            *front.sockets[0].getsockname()[:2])
        t0 = time.monotonic()
        writer.write(sp.frame(tcon_req(3, SID, r"\\h\data")) +
                     sp.frame(simple_req(0x0D, 4)))
        got, buf = [], b""
        while len(got) < 2:
            data = await asyncio.wait_for(reader.read(65536), 5)
            self.assertTrue(data, "proxy hung up")
            frames, buf = sp.split_frames(buf + data)
            for _, pdu in frames:
                got.append((sp.command(pdu), time.monotonic() - t0, pdu))
        writer.close()
        await proxy.shutdown()
        for srv in (front, upstream):
            srv.close()
            await srv.wait_closed()
        return got


class ReconnectRules(unittest.TestCase):
    """pick_reconnect_rule: the rule each NEGOTIATE of a client gets."""

    class P:
        churn_delay, churn_hold, creds = 0.5, 1.0, None
        redrop_delay = sp.REDROP_DELAY

        def __init__(self, heal):
            self.reguid_heal = heal
            self.reguid_since = {}
            self.client_guids = set()
            self.lost_once = set()
            self.actions = []
            self.log = self

        def action(self, mode, cid, text):
            self.actions.append(text)

    def rule(self, proxy, mode="reguid"):
        c = sp.Connection(proxy, mode, 1, None, None)
        c.pick_reconnect_rule(negotiate_request([0x0300]))
        return c.rule

    def test_reguid_tampers_every_reconnect_without_heal(self):
        p = self.P(0.0)
        self.assertEqual(self.rule(p), "pass")       # the mount itself
        self.assertEqual([self.rule(p) for _ in range(3)], ["guid"] * 3)

    def test_reguid_heals_after_the_window(self):
        p = self.P(0.2)
        self.assertEqual(self.rule(p), "pass")
        self.assertEqual(self.rule(p), "guid")       # starts the window
        self.assertEqual(self.rule(p), "guid")
        time.sleep(0.25)
        self.assertEqual(self.rule(p), "pass")
        self.assertEqual(self.rule(p, "redrop"), "pass")

    def test_heal_is_per_client(self):
        p = self.P(0.2)
        self.rule(p)
        self.rule(p)
        time.sleep(0.25)
        other = negotiate_request([0x0300])
        other = other[:76] + bytes(16) + other[92:]
        c = sp.Connection(p, "reguid", 2, None, None)
        c.pick_reconnect_rule(other)                 # a new mount
        c.pick_reconnect_rule(other)                 # its first reconnect
        self.assertEqual(c.rule, "guid")
        self.assertEqual(self.rule(p), "pass")


class Cli(unittest.TestCase):
    def parse(self, *argv):
        creds = {}

        def fake_proxy(target, maps, bind, log, churn, c, hold, heal,
                       redrop, redropmc_delay):
            creds["c"] = c
            self.hold = hold
            self.heal = heal
            self.redrop = redrop
            self.redropmc = redropmc_delay
            raise OSError("not started")
        real, sp.Proxy = sp.Proxy, fake_proxy
        try:
            with open(os.devnull, "w") as null:
                old, sys.stderr = sys.stderr, null
                try:
                    sp.main(["--target", "127.0.0.1:1", *argv])
                finally:
                    sys.stderr = old
        finally:
            sp.Proxy = real
        return creds["c"]

    def test_credentials(self):
        c = self.parse("--map", "1:st-denied", "--user", "smbvn",
                       "--password", "smbvnpass")
        self.assertEqual(c.nthash, smbkeys.nt_hash("smbvnpass"))
        c = self.parse("--map", "1:pad", "--user", "u", "--nthash",
                       "a4f49c406510bdcab6824ee7c30fd852", "--domain", "D")
        self.assertEqual((c.user, c.nthash.hex(), c.domain),
                         ("u", "a4f49c406510bdcab6824ee7c30fd852", "D"))
        self.assertIsNone(self.parse("--map", "1:pass"))

    def test_churn_hold(self):
        self.parse("--map", "1:churnhold")
        self.assertEqual(self.hold, sp.CHURN_HOLD)
        self.parse("--map", "1:churnhold", "--churn-hold", "2.5")
        self.assertEqual(self.hold, 2.5)
        self.assertEqual(self.heal, 0.0)
        self.parse("--map", "1:reguid", "--reguid-heal", "50")
        self.assertEqual(self.heal, 50.0)
        self.assertEqual(self.redrop, sp.REDROP_DELAY)
        self.parse("--map", "1:reguid", "--redrop-delay", "8")
        self.assertEqual(self.redrop, 8.0)
        self.assertEqual(self.redropmc, sp.REDROPMC_DELAY)
        self.parse("--map", "1:redropmc", "--redropmc-delay", "2.5")
        self.assertEqual(self.redropmc, 2.5)

        class Mc:
            churn_delay, churn_hold, creds, redropmc_delay = 0.5, 1.0, None, 3
        self.assertEqual(sp.Connection(Mc, "redropmc", 1, None,
                                       None).drop_delay, 3)

        class Slow:
            churn_delay, churn_hold, creds, redrop_delay = 0.5, 1.0, None, 8
        self.assertEqual(sp.Connection(Slow, "reguid", 1, None,
                                       None).drop_delay, 8)

        class P:
            churn_delay, churn_hold, creds = 0.5, 2.5, None
            redrop_delay = sp.REDROP_DELAY
        # The drop waits for both held validations of a mount.
        self.assertEqual(sp.Connection(P, "churnhold", 1, None,
                                       None).drop_delay, 5.5)
        self.assertEqual(sp.Connection(P, "churn", 1, None,
                                       None).drop_delay, 0.5)

    def test_errors(self):
        for argv in (["--map", "1:st-denied"],
                     ["--map", "1:pass", "--user", "u"],
                     ["--map", "1:pass", "--user", "u", "--password", "p",
                      "--nthash", "00" * 16],
                     ["--map", "1:pass", "--user", "u", "--nthash", "abc"]):
            with self.assertRaises(SystemExit, msg=argv):
                self.parse(*argv)


# --- on the host: Samba's client through the proxy --------------------------

def host_test_skip_reason():
    if os.environ.get("SMBPROXY_HOST_TEST") == "0":
        return "SMBPROXY_HOST_TEST=0"
    if os.geteuid() != 0:
        return "needs root (scripts/vm/samba.sh adds the test user)"
    missing = [c for c in ("smbd", "smbpasswd", "smbclient")
               if not shutil.which(c)]
    return f"not installed: {' '.join(missing)}" if missing else None


def free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


@unittest.skipIf(host_test_skip_reason(), host_test_skip_reason())
class HostSmbclient(unittest.TestCase):
    """Samba's client checks the validate answer's signature itself and
    accepts a signed pre-3.0 "not supported" status: so a re-signed
    st-notsupp answer mounts where the unsigned nosupp one does not."""
    MODES = ("pass", "st-notsupp", "nosupp", "st-denied", "sigflip", "pad",
             "overrun", "dialdiff", "capextra", "tcunsigned", "tcflip",
             "impostor")

    @classmethod
    def setUpClass(cls):
        # unittest skips tearDownClass when this fails: clean up here then.
        try:
            cls.start()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def start(cls):
        cls.proxy = None
        cls.dir = tempfile.mkdtemp(prefix="smbproxy-host.")
        os.chmod(cls.dir, 0o755)
        ports = free_ports(1 + len(cls.MODES))
        cls.samba_port = ports[0]
        cls.port = dict(zip(cls.MODES, ports[1:]))
        subprocess.run(["bash", os.path.join(HERE, "..", "vm", "samba.sh"), "start",
                        os.path.join(cls.dir, "samba"), str(ports[0])],
                       check=True, stdout=subprocess.DEVNULL, timeout=60)
        cls.log = os.path.join(cls.dir, "proxy.log")
        maps = [a for m, p in cls.port.items() for a in ("--map", f"{p}:{m}")]
        cls.proxy = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "smbproxy.py"), "--target",
             f"127.0.0.1:{ports[0]}", *maps, "--log", cls.log, "--user",
             "smbvn", "--password", "smbvnpass"],
            stdout=subprocess.PIPE, text=True)
        if "ready" not in cls.proxy.stdout.readline():
            raise RuntimeError("smbproxy did not start")

    @classmethod
    def tearDownClass(cls):
        if cls.proxy:
            cls.proxy.terminate()
            try:
                cls.proxy.wait(10)
            except subprocess.TimeoutExpired:
                cls.proxy.kill()
                cls.proxy.wait()
            cls.proxy.stdout.close()
        subprocess.run(["bash", os.path.join(HERE, "..", "vm", "samba.sh"), "stop",
                        os.path.join(cls.dir, "samba")],
                       stdout=subprocess.DEVNULL, timeout=60)
        if os.environ.get("SMBPROXY_HOST_KEEP"):
            print(f"\nkept {cls.dir}", file=sys.stderr)
        else:
            shutil.rmtree(cls.dir, ignore_errors=True)

    def smbclient(self, mode, proto="SMB3_00"):
        """Read hello.txt through the proxy in mode; (output, log lines of
        the connection)."""
        with open(self.log) as f:
            before = len(f.readlines())
        r = subprocess.run(
            ["smbclient", "//127.0.0.1/data", "-p", str(self.port[mode]),
             "-U", "smbvn%smbvnpass", "-m", proto,
             f"--option=client min protocol={proto}",
             "--option=client signing=required",
             "-c", "get hello.txt /dev/stdout"],
            capture_output=True, text=True, timeout=30)
        time.sleep(0.2)     # let the proxy log the connection's last lines
        with open(self.log) as f:
            lines = f.readlines()[before:]
        return r.stdout + r.stderr, "".join(lines)

    def test_pass_key_verifies(self):
        for proto, alg in (("SMB3_00", "AES-128-CMAC"),
                           ("SMB3_02", "AES-128-CMAC"),
                           ("SMB2_10", "HMAC-SHA256")):
            out, log = self.smbclient("pass", proto)
            self.assertIn("smbvn-hello", out)
            self.assertRegex(log, r"VALIDATE rsp MessageId 0x\w+: the "
                             r"server's signature verifies with the derived "
                             rf"key \({alg}\)")
            self.assertNotIn("EMULATOR-", log)

    def test_signed_not_supported_passes_for_the_servers(self):
        out, log = self.smbclient("st-notsupp")
        self.assertIn("smbvn-hello", out)
        self.assertIn("EMULATED VALIDATE rsp", log)
        self.assertNotIn("EMULATOR-", log)
        # The same status unsigned: Samba's client refuses it.
        out, log = self.smbclient("nosupp")
        self.assertNotIn("smbvn-hello", out)
        self.assertIn("tree connect failed", out)

    def test_signed_access_denied_is_reported_as_such(self):
        out, log = self.smbclient("st-denied")
        self.assertIn("tree connect failed: NT_STATUS_ACCESS_DENIED", out)
        self.assertIn("EMULATED VALIDATE rsp", log)
        # A broken signature makes Samba's client drop the connection
        # instead: the re-signed answer is not one.
        out, _ = self.smbclient("sigflip")
        self.assertIn("NT_STATUS_CONNECTION_DISCONNECTED", out)

    def test_quirks(self):
        # Samba's client asks MaxOutputResponse 24: pad is the real answer.
        for mode, result in (("pad", "smbvn-hello"),
                             ("overrun", "NT_STATUS_INVALID_NETWORK_RESPONSE"),
                             ("dialdiff", "NT_STATUS_ACCESS_DENIED"),
                             ("capextra", "NT_STATUS_ACCESS_DENIED")):
            out, log = self.smbclient(mode)
            self.assertIn(result, out, mode)
            self.assertIn("EMULATED VALIDATE rsp", log, mode)
            self.assertNotIn("EMULATOR-", log, mode)

    def test_311_tree_connect_forgeries_refused(self):
        # Samba's client verifies the 3.1.1 TREE_CONNECT answer's signature.
        out, _ = self.smbclient("pass", "SMB3_11")
        self.assertIn("smbvn-hello", out)
        for mode, change in (("tcunsigned", "Flags 0x00000019->0x00000011 "),
                             ("tcflip", "Flags 0x00000019->0x00000019 ")):
            out, log = self.smbclient(mode, "SMB3_11")
            self.assertNotIn("smbvn-hello", out, mode)
            self.assertIn("tree connect failed", out, mode)
            self.assertRegex(log, r"TREE_CONNECT rsp MessageId 0x\w+ TreeId "
                             r"0x\w+ Status 0x00000000: " + change, mode)
            # On 3.0 the modes leave the answer alone.
            out, log = self.smbclient(mode, "SMB3_00")
            self.assertIn("smbvn-hello", out, mode)
            self.assertIn("dialect 0x0300 is not 3.1.1: untouched", log)

    def test_impostor_refused(self):
        # The impostor signs nothing; Samba's client, told to require
        # signing, wants the final SESSION_SETUP answer signed.
        for proto in ("SMB3_11", "SMB3_00"):
            out, log = self.smbclient("impostor", proto)
            self.assertIn("session setup failed", out, proto)
            self.assertIn("Bad SMB2 (sign_algo_id=1) signature", out, proto)
            self.assertNotIn("impostor\n", out, proto)
            self.assertIn("accepted unchecked, SessionFlags 0 -> "
                          "STATUS_SUCCESS, unsigned", log, proto)


if __name__ == "__main__":
    unittest.main()
