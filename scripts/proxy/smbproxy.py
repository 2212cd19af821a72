#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""smbproxy - an SMB2 direct-TCP proxy that tampers with the secure-negotiate
exchange, so the smbvn end-to-end tests can show which attacks a client
catches (MS-SMB2 3.2.5.5 / 3.2.5.14.12).

Usage:
  smbproxy.py --target 127.0.0.1:PORT --map LPORT:MODE [--map ...]
              [--bind 127.0.0.1] [--log FILE] [--verbose]
              [--user NAME (--password PW | --nthash HEX) [--domain DOM]]

Besides the attacks, the proxy can act like an honest server with a quirk
(the "emulator" modes of EMULATOR_MODES).  Such an answer has to be signed
like the real server's, so the proxy derives the session's keys from the
test user's credentials and the NTLMSSP exchange it sees (smbkeys.py).  It
changes an answer only after the real server's signature on it verified
with that key, and re-signs what it sends; when it cannot verify, it
forwards the answer untouched and logs a line starting "EMULATOR-", so that
an emulator fault never passes for a client defect.  With credentials, every
mode also logs whether the derived key verifies the server's signatures.

The impostor mode has no server at all: smbimpostor.py answers the client
itself, accepting any password and signing nothing, which a client must
refuse on SMB 3.1.1 (--target is then not needed).

The protocol logic (framing, parsing, rewriting) is pure: it takes bytes and
returns bytes plus an action, so test_smbproxy.py can exercise every mode
without a network.  The asyncio part below it only moves bytes around.
"""

import argparse
import asyncio
import signal
import socket
import struct
import sys
import time
from collections import Counter
from dataclasses import dataclass, field

import smbimpostor
from smbwire import put_u16, put_u32, u16, u32, u64  # noqa: F401
from smbwire import (  # noqa: F401
    SMB2_MAGIC, TRANSFORM_MAGIC, HDR_LEN, H_CREDIT_CHARGE, H_STATUS,
    H_COMMAND, H_CREDITS, H_FLAGS, H_NEXT, H_MID, H_PID, H_TID, H_SID,
    H_SIG)

try:
    import smbkeys
except ImportError as e:    # python3-cryptography missing: no emulator
    smbkeys = None
    SMBKEYS_ERROR = e

# --- protocol constants (MS-SMB2 2.2) ---------------------------------------

CMD_NEGOTIATE = 0x0000
CMD_SESSION_SETUP = 0x0001
CMD_TREE_CONNECT = 0x0003
CMD_CREATE = 0x0005
CMD_READ = 0x0008
CMD_WRITE = 0x0009
CMD_IOCTL = 0x000B
FILE_IO_CMDS = {CMD_CREATE: "CREATE", CMD_READ: "READ", CMD_WRITE: "WRITE"}
# Modes that rewrite the NEGOTIATE response: file I/O on such a connection
# means the client used a connection it had every reason to refuse (a
# multichannel channel whose bind went unvalidated, for one).
NEGOTIATE_TAMPER_MODES = ("guid", "caps", "signreq", "forge", "maxread0")
# Every SMB2 command (MS-SMB2 2.2.1.2), for the log.
CMD_NAMES = dict(enumerate((
    "NEGOTIATE", "SESSION_SETUP", "LOGOFF", "TREE_CONNECT", "TREE_DISCONNECT",
    "CREATE", "CLOSE", "FLUSH", "READ", "WRITE", "LOCK", "IOCTL", "CANCEL",
    "ECHO", "QUERY_DIRECTORY", "CHANGE_NOTIFY", "QUERY_INFO", "SET_INFO",
    "OPLOCK_BREAK")))

# churn: the requests a client may send on a tree (or connection) whose
# validation has not been answered yet (security review L6).  Any other
# request that does is logged as UNVALIDATED-IO.
UNVALIDATED_OK = {
    # The exchange validation replays, and the one that keys its
    # signature: both necessarily come first.
    0x0000: "NEGOTIATE", 0x0001: "SESSION_SETUP",
    # Yields the TreeId the validate request is sent on; every tree
    # connect is validated on its own.
    0x0003: "TREE_CONNECT",
    # Tear-downs: they carry no data and take nothing from the server's
    # answer, and a refused tree connect must be able to end its tree.
    0x0002: "LOGOFF", 0x0004: "TREE_DISCONNECT",
    # Liveness probe on no tree; cifs sends it on a timer.
    0x000D: "ECHO",
    # Refers to a request already sent, which was judged when it went out.
    0x000C: "CANCEL",
}
FLAG_RELATED = 0x4

FLAG_SERVER_TO_REDIR = 0x1
FLAG_ASYNC = 0x2
FLAG_SIGNED = 0x8
DIALECT_311 = 0x0311

STATUS_SUCCESS = 0x00000000
STATUS_PENDING = 0x00000103
STATUS_MORE_PROCESSING_REQUIRED = 0xC0000016
STATUS_NOT_SUPPORTED = 0xC00000BB
STATUS_ACCESS_DENIED = 0xC0000022
STATUS_FILE_CLOSED = 0xC0000128
STATUS_INVALID_PARAMETER = 0xC000000D
STATUS_INVALID_DEVICE_REQUEST = 0xC0000010
STATUS_FS_DRIVER_REQUIRED = 0xC000019C

# 2.2.6 SessionFlags: sessions that have no key to sign with.
SESSION_FLAG_IS_GUEST = 0x0001
SESSION_FLAG_IS_NULL = 0x0002

FSCTL_VALIDATE_NEGOTIATE_INFO = 0x00140204
CAP_ENCRYPTION = 0x40
SECMODE_SIGNING_REQUIRED = 0x2

SIG_LEN = 16

# Absolute offsets (from the SMB2 header start) of body fields we touch.
NEGREQ_DIALECT_COUNT = HDR_LEN + 2
NEGREQ_DIALECTS = HDR_LEN + 36
NEGRSP_SECMODE = HDR_LEN + 2
NEGRSP_DIALECT = HDR_LEN + 4
NEGRSP_GUID = HDR_LEN + 8
NEGRSP_CAPS = HDR_LEN + 24
NEGRSP_MAX_READ = HDR_LEN + 32
NEGRSP_MIN_LEN = HDR_LEN + 64
IOCTL_CTLCODE = HDR_LEN + 4
IOCTLREQ_MAX_OUTPUT = HDR_LEN + 44      # MaxOutputResponse (2.2.31)
SESSREQ_SECBUF = HDR_LEN + 12           # SecurityBufferOffset, Length
SESSREQ_FLAGS = HDR_LEN + 2             # 2.2.5 Flags (1 byte)
SESSION_FLAG_BINDING = 0x01
SESSRSP_FLAGS = HDR_LEN + 2             # 2.2.6
SESSRSP_SECBUF = HDR_LEN + 4
IOCTLRSP_OUT_OFFSET = HDR_LEN + 32
IOCTLRSP_OUT_COUNT = HDR_LEN + 36
IOCTLRSP_FIXED_LEN = 48
VALIDATE_OUT_LEN = 24
# Within the 24-byte validate output (2.2.32.6).
VOUT_CAPS = 0
VOUT_GUID = 4
VOUT_SECMODE = 20
VOUT_DIALECT = 22

# tcdelay: how long every TREE_CONNECT answer is held back.  Long enough
# for a test to load smbvn while a tree connect is inside cifs' SMB2_tcon
# (security review L1), short against cifs' 60 s response timeout.
TCDELAY = 3.0
# churnhold: how long a validate answer is held back: long against the
# few milliseconds cifs needs to send a request, short against its
# response timeout.
CHURN_HOLD = 1.0

# Mode -> what it does; "validate rsp" is the server's answer to
# FSCTL_VALIDATE_NEGOTIATE_INFO (left alone when it arrives encrypted).
MODES = {
    "pass": "forward untouched",
    "guid": "NEGOTIATE rsp: ServerGuid[0] ^= 0xff",
    "maxread0": "NEGOTIATE rsp: MaxReadSize -> 0 (MS-SMB2 3.2.5.2 has a "
                "client disconnect below 65536; no validation covers it)",
    "caps": "NEGOTIATE rsp and validate rsp output: clear Capabilities "
            "ENCRYPTION (else lowest bit), signature kept",
    "signreq": "NEGOTIATE rsp and validate rsp output: clear "
               "SIGNING_REQUIRED, signature kept",
    "nosupp": "validate rsp -> unsigned STATUS_NOT_SUPPORTED",
    "denied": "validate rsp -> unsigned STATUS_ACCESS_DENIED",
    "forge": "as caps in NEGOTIATE; validate rsp -> unsigned success "
             "echoing the tampered values",
    "sigzero": "validate rsp: Signature zeroed, SIGNED kept",
    "sigflip": "validate rsp: Signature[5] ^= 0x01",
    "valmid": "validate rsp: MessageId[7] ^= 0x01, so that no request "
              "matches it (lost to the client; echoes still answered)",
    "dial2x": "NEGOTIATE req: dialects >= 3.0 -> 2.1",
    "no311": "NEGOTIATE req: 3.1.1 -> 3.0.2",
    "reset": "validate req: not forwarded, RST both sides",
    "stall": "validate rsp and all later server data withheld",
    "redrop": "first connection: RST both sides %g s after the validate "
              "rsp; later connections untouched" % 2.0,
    "redropmc": "as redrop, but %g s after the validate rsp: a "
                "multichannel mount has bound its other channels by then, "
                "so the primary's reconnect only binds again" % 6.0,
    "reguid": "first connection as redrop; later connections as guid "
              "(for --reguid-heal s after the first of them, then pass)",
    "redropvn": "first connection as redrop; the first reconnect as reset "
                "(its validate req RSTs both sides); later ones untouched",
    "churn": "every connection: RST both sides --churn-delay s after its "
             "validate rsp; a client request other than NEGOTIATE, "
             "SESSION_SETUP, TREE_CONNECT, TREE_DISCONNECT, LOGOFF, ECHO, "
             "CANCEL and the validate req, on a tree whose validate rsp "
             "has not reached the client yet, is logged as UNVALIDATED-IO",
    "churnhold": "as churn, and every validate rsp held back "
                 "--churn-hold s, which widens the window between a tree "
                 "connect and its validation; the drop comes twice that "
                 "later than churn's",
    "halfstall": "validate rsp: first half sent, the rest and all later "
                 "server data withheld",
    "halfdrop": "validate rsp: first half sent, then RST both sides",
    # Honest but quirky servers (need --user and --password/--nthash):
    # each changes a validate rsp only after the server's signature on it
    # verified with the derived key, and re-signs the result.
    "pad": "validate rsp success: output padded with zeros to the "
           "request's MaxOutputResponse (a macOS server; identical when "
           "24 was asked), re-signed",
    "overrun": "validate rsp success: OutputCount 24 + 8 (8 zero bytes "
               "more than the 24 asked), re-signed",
    "dialdiff": "validate rsp success: output Dialect differs from the "
                "NEGOTIATE rsp's (3.0 <-> 3.0.2, 2.0.2 <-> 2.1), re-signed",
    "capextra": "validate rsp success: output Capabilities gain a bit the "
                "NEGOTIATE rsp lacks (MULTI_CHANNEL, else the lowest "
                "other), re-signed",
    "st-notsupp": "validate rsp -> signed STATUS_NOT_SUPPORTED",
    "st-closed": "validate rsp -> signed STATUS_FILE_CLOSED",
    "st-param": "validate rsp -> signed STATUS_INVALID_PARAMETER",
    "st-devreq": "validate rsp -> signed STATUS_INVALID_DEVICE_REQUEST",
    "st-fsdrv": "validate rsp -> signed STATUS_FS_DRIVER_REQUIRED",
    "st-denied": "validate rsp -> signed STATUS_ACCESS_DENIED",
    # SMB 3.1.1 has no validate exchange, but its client signs TREE_CONNECT
    # (MS-SMB2 3.2.4.1.1) and the server signs the answer with the
    # channel's key (3.3.4.1.1): these break that signature.
    "tcunsigned": "3.1.1 connections: every TREE_CONNECT rsp (IPC$ and "
                  "share) gets its Signature zeroed and SIGNED cleared; "
                  "encrypted answers are left alone and logged",
    "tcflip": "3.1.1 connections: every TREE_CONNECT rsp gets "
              "Signature[5] ^= 0x01, SIGNED kept",
    # A channel that binds a 3.1.1 session has no tree connect: the server
    # signs the binding's final SESSION_SETUP rsp with the new channel's
    # key (3.3.5.5.3), which only the client can check.
    "bindflip": "3.1.1 connections: the successful SESSION_SETUP rsp to a "
                "request with SMB2_SESSION_FLAG_BINDING gets Signature[5] "
                "^= 0x01, SIGNED kept; a session's own setup is untouched",
    "impostor": "no server: smbimpostor.py answers NEGOTIATE itself, "
                "accepts any NTLMSSP login, signs nothing and serves "
                "hello.txt = 'impostor\\n'",
    # A slow but honest server: nothing is changed, only delayed.
    "tcdelay": "every TREE_CONNECT rsp (IPC$ and share, any dialect and "
               "status) held back %g s, then sent unchanged; everything "
               "else forwarded at once; encrypted answers cannot be told "
               "apart and go at once (logged)" % TCDELAY,
}

# The signed error statuses the st-* modes answer with (MS-SMB2 3.2.5.14.12
# and the pre-3.0 servers of DESIGN.md section 1).
ERROR_MODES = {
    "st-notsupp": STATUS_NOT_SUPPORTED,
    "st-closed": STATUS_FILE_CLOSED,
    "st-param": STATUS_INVALID_PARAMETER,
    "st-devreq": STATUS_INVALID_DEVICE_REQUEST,
    "st-fsdrv": STATUS_FS_DRIVER_REQUIRED,
    "st-denied": STATUS_ACCESS_DENIED,
}
EMULATOR_MODES = ("pad", "overrun", "dialdiff", "capextra", *ERROR_MODES)
TREE_CONNECT_MODES = ("tcunsigned", "tcflip")

# pad: a bound, so that a client asking for megabytes does not get the
# proxy to build them.  Stock cifs asks CIFSMaxBufSize (16 KiB by default),
# smbvn and Samba's client 24 bytes.
PAD_MAX = 0x10000
OVERRUN_EXTRA = 8
# dialdiff: the neighbouring dialect of the same family.
DIALECT_SWAP = {0x0202: 0x0210, 0x0210: 0x0202, 0x0300: 0x0302,
                0x0302: 0x0300}
# capextra: MULTI_CHANNEL first (a consumer NAS quirk), then the other
# 2.2.4 capabilities.
CAP_EXTRA_ORDER = (0x08, 0x10, 0x20, 0x01, 0x02, 0x04, 0x40, 0x80)

# Modes that drop the first connection after it validated, and treat its
# reconnects by their own rule.
RECONNECT_MODES = ("redrop", "redropmc", "reguid", "redropvn")

# Reconnect modes: delay between the first validation and the forced drop,
# long enough for the mount to complete and its first read to succeed.
REDROP_DELAY = 2.0
REDROPMC_DELAY = 6.0
CHURN_DELAY = 1.0
CHURN_MODES = ("churn", "churnhold")
# churn: what the proxy knows of a TreeId on one connection.
TREE_PENDING = "pending"        # tree connect answered, validation not
TREE_VALIDATED = "validated"    # a validate rsp on it reached the client

# --- verdicts ---------------------------------------------------------------

FORWARD = "forward"     # send Verdict.pdu on
DROP = "drop"           # swallow the frame
RESET = "reset"         # swallow it and RST both connections
HALF = "half"           # send the first half of Verdict.pdu, then stall
HALF_RESET = "halfrst"  # send the first half of Verdict.pdu, then RST
DELAY = "delay"         # send Verdict.pdu on after Verdict.delay seconds


@dataclass
class Verdict:
    action: str
    pdu: bytes
    notes: list = field(default_factory=list)
    delay: float = 0.0      # DELAY: seconds to hold pdu back
    # churnhold: the TreeId a held validate answer validates once it is
    # sent (tree_validated(); -1: its request was not seen); None for
    # every other answer.
    validates: int | None = None


@dataclass
class Credentials:
    """The test user whose sessions the emulator can sign for."""
    user: str
    nthash: bytes
    domain: str | None = None


@dataclass
class ConnState:
    """What one proxied connection has seen so far.

    Both pumps of a connection share it; asyncio runs them on one thread, and
    a client request is always processed before the server can answer it, so
    no locking is needed."""
    # MessageId of each validate request in flight -> its MaxOutputResponse.
    validate_mids: dict = field(default_factory=dict)
    creds: Credentials | None = None
    # Per SessionId (the keys are per connection: a channel bound to a
    # session on another connection has its own key, MS-SMB2 3.2.5.3.1).
    challenges: dict = field(default_factory=dict)     # smbkeys.Challenge
    auths: dict = field(default_factory=dict)          # smbkeys.Authenticate
    signers: dict = field(default_factory=dict)        # smbkeys.Signer
    no_key: dict = field(default_factory=dict)         # why there is none
    key_checked: set = field(default_factory=set)      # verified once
    encrypted_noted: bool = False
    # NEGOTIATE response values as forwarded to the client (after tampering):
    # forge echoes them so that the forged answer is self-consistent.
    caps: int | None = None
    guid: bytes | None = None
    secmode: int | None = None
    dialect: int | None = None
    cleared_cap: int = 0        # capability bit removed by caps/forge
    stalled: bool = False
    validated: bool = False     # a validate response went through
    # tcdelay: MessageId of each TREE_CONNECT request -> its path, so that
    # the log says which tree connect an answer held back belongs to.
    tcon_paths: dict = field(default_factory=dict)
    # bindflip: MessageIds of SESSION_SETUP requests that bind a channel.
    binding_mids: set = field(default_factory=set)
    # churn: TreeId -> TREE_PENDING/TREE_VALIDATED, and the TreeId each
    # validate request in flight was sent on (by MessageId).
    trees: dict = field(default_factory=dict)
    validate_tids: dict = field(default_factory=dict)


# --- framing ----------------------------------------------------------------

def split_frames(buf):
    """Cut complete direct-TCP frames off the front of buf.

    Returns (frames, rest); each frame is (type_byte, payload).  A non-zero
    type byte is not valid direct-TCP SMB2, but we still honour its 24-bit
    length and pass it through rather than desynchronising the stream."""
    frames = []
    pos = 0
    while len(buf) - pos >= 4:
        length = int.from_bytes(buf[pos + 1:pos + 4], "big")
        if len(buf) - pos - 4 < length:
            break
        frames.append((buf[pos], bytes(buf[pos + 4:pos + 4 + length])))
        pos += 4 + length
    return frames, bytes(buf[pos:])


def frame(pdu, ftype=0):
    """Prefix a PDU with its transport header; the length is always recomputed
    so replaced PDUs of a different size stay framed correctly."""
    if len(pdu) > 0xFFFFFF:
        raise ValueError("PDU too long for direct TCP framing")
    return bytes([ftype]) + len(pdu).to_bytes(3, "big") + pdu


# --- field helpers ----------------------------------------------------------

def is_smb2(pdu):
    return len(pdu) >= HDR_LEN and pdu[:4] == SMB2_MAGIC


def is_response(pdu):
    return bool(u32(pdu, H_FLAGS) & FLAG_SERVER_TO_REDIR)


def command(pdu):
    return u16(pdu, H_COMMAND)


def mid(pdu):
    return u64(pdu, H_MID)


def note(what, old, new, width=8):
    return f"{what} 0x{old:0{width}x}->0x{new:0{width}x}"


# --- client -> server -------------------------------------------------------

def is_validate_request(pdu):
    return (is_smb2(pdu) and not is_response(pdu)
            and command(pdu) == CMD_IOCTL
            and len(pdu) >= IOCTL_CTLCODE + 4
            and u32(pdu, IOCTL_CTLCODE) == FSCTL_VALIDATE_NEGOTIATE_INFO)


def rewrite_dialects(pdu, remap):
    """Apply remap(dialect) -> dialect to every offered dialect.

    DialectCount is kept so the negotiate contexts that follow the list
    (3.1.1) stay where their offset says they are."""
    if len(pdu) < NEGREQ_DIALECTS:
        return pdu, []
    out = bytearray(pdu)
    count = u16(out, NEGREQ_DIALECT_COUNT)
    notes = []
    for i in range(count):
        off = NEGREQ_DIALECTS + 2 * i
        if off + 2 > len(out):
            break
        old = u16(out, off)
        new = remap(old)
        if new != old:
            put_u16(out, off, new)
            notes.append(note(f"NEGOTIATE req Dialects[{i}]", old, new, 4))
    return bytes(out), notes


def dial2x_remap(d):
    return 0x0210 if d >= 0x0300 else d


def no311_remap(d):
    return 0x0302 if d == 0x0311 else d


DIALECT_REMAPS = {"dial2x": dial2x_remap, "no311": no311_remap}


def sid(pdu):
    return u64(pdu, H_SID)


def security_buffer(pdu, field_off):
    """The SESSION_SETUP security buffer (2.2.5 / 2.2.6), offset from the
    start of the SMB2 header; empty when it does not lie inside pdu."""
    off, length = struct.unpack_from("<HH", pdu, field_off)
    if off < HDR_LEN or off + length > len(pdu):
        return b""
    return pdu[off:off + length]


def note_session_setup_request(st, pdu):
    """Keep the client's NTLMSSP AUTHENTICATE_MESSAGE (MS-NLMP 2.2.1.3) of a
    SESSION_SETUP request until the server's verdict on it arrives."""
    if st.creds is None or smbkeys is None:
        return []
    msg = smbkeys.find_ntlmssp(security_buffer(pdu, SESSREQ_SECBUF))
    if msg is None or len(msg) < 12 or \
            smbkeys.message_type(msg) != smbkeys.NTLM_AUTHENTICATE:
        return []
    try:
        st.auths[sid(pdu)] = smbkeys.parse_authenticate(msg)
    except (ValueError, struct.error) as e:
        return [f"SESSION_SETUP req SessionId 0x{sid(pdu):x}: unparsable "
                f"NTLMSSP AUTHENTICATE ({e}): no key"]
    return []


def tree_connect_path(pdu):
    """The share path of a TREE_CONNECT request (2.2.9: PathOffset and
    PathLength at body offsets 4 and 6, UTF-16LE), or "?" if it does not
    lie inside the PDU."""
    if len(pdu) < HDR_LEN + 8:
        return "?"
    off, length = struct.unpack_from("<HH", pdu, HDR_LEN + 4)
    if off < HDR_LEN or off + length > len(pdu):
        return "?"
    return pdu[off:off + length].decode("utf-16-le", "replace")


def unvalidated_requests(st, pdu):
    """churn: one UNVALIDATED-IO note per member of a (compound) request
    that uses a tree this connection has not seen validated, unless its
    command is one of UNVALIDATED_OK.  A related member uses the tree of
    the member before it (MS-SMB2 3.2.4.1.4).  3.1.1 has no validate
    exchange (its tree connect answer is signed instead): not checked."""
    if st.dialect == DIALECT_311:
        return []
    notes = []
    tid = None
    for off in compound_members(pdu):
        cmd = u16(pdu, off + H_COMMAND)
        if not u32(pdu, off + H_FLAGS) & FLAG_RELATED or tid is None:
            tid = u32(pdu, off + H_TID)
        state = st.trees.get(tid)
        if cmd in UNVALIDATED_OK or state == TREE_VALIDATED:
            continue
        what = CMD_NAMES.get(cmd, f"0x{cmd:04x}")
        if cmd == CMD_IOCTL and len(pdu) >= off + IOCTL_CTLCODE + 4:
            what += f" CtlCode 0x{u32(pdu, off + IOCTL_CTLCODE):08x}"
        if state == TREE_PENDING:
            why = "tree connected, its validate rsp not yet sent"
        elif st.validated:
            why = "TreeId not connected on this connection"
        else:
            why = "TreeId not connected on this connection, before any " \
                  "validate rsp on it"
        notes.append(f"UNVALIDATED-IO {what} MessageId "
                     f"0x{u64(pdu, off + H_MID):x} TreeId 0x{tid:x}: {why}")
    return notes


def tree_validated(st, tid):
    """churn: a validate answer sent on TreeId tid reached the client."""
    st.validated = True
    if tid is not None:
        st.trees[tid] = TREE_VALIDATED


def note_tree_connect_response(st, pdu):
    """churn: a successful tree connect answer makes its TreeId pending
    until a validate answer sent on it goes through (a TreeId the server
    hands out again starts over)."""
    for off in compound_members(pdu):
        if u16(pdu, off + H_COMMAND) == CMD_TREE_CONNECT and \
                u32(pdu, off + H_STATUS) == STATUS_SUCCESS:
            st.trees[u32(pdu, off + H_TID)] = TREE_PENDING


def process_client_pdu(mode, st, pdu):
    """Decide what to do with one PDU the client sent."""
    if not is_smb2(pdu) or is_response(pdu):
        return Verdict(FORWARD, pdu)
    cmd = command(pdu)
    if cmd == CMD_SESSION_SETUP:
        if len(pdu) > SESSREQ_FLAGS and \
                pdu[SESSREQ_FLAGS] & SESSION_FLAG_BINDING:
            st.binding_mids.add(mid(pdu))
        return Verdict(FORWARD, pdu, note_session_setup_request(st, pdu))
    if cmd == CMD_NEGOTIATE and mode in DIALECT_REMAPS:
        new, notes = rewrite_dialects(pdu, DIALECT_REMAPS[mode])
        return Verdict(FORWARD, new, notes)
    if mode == "tcdelay" and cmd == CMD_TREE_CONNECT:
        st.tcon_paths[mid(pdu)] = tree_connect_path(pdu)
        return Verdict(FORWARD, pdu)
    if mode in CHURN_MODES and not is_validate_request(pdu):
        notes = unvalidated_requests(st, pdu)
        if notes:
            return Verdict(FORWARD, pdu, notes)
    if mode in NEGOTIATE_TAMPER_MODES and cmd in FILE_IO_CMDS:
        return Verdict(FORWARD, pdu, [
            f"TAMPERED-IO {FILE_IO_CMDS[cmd]} MessageId 0x{mid(pdu):x} "
            "on a connection whose NEGOTIATE rsp was rewritten"])
    if is_validate_request(pdu):
        max_out = u32(pdu, IOCTLREQ_MAX_OUTPUT) \
            if len(pdu) >= IOCTLREQ_MAX_OUTPUT + 4 else None
        st.validate_mids[mid(pdu)] = max_out
        st.validate_tids[mid(pdu)] = u32(pdu, H_TID)
        if mode == "reset":
            return Verdict(RESET, b"", [
                f"VALIDATE req MessageId 0x{mid(pdu):x} dropped, "
                "resetting both connections"])
    return Verdict(FORWARD, pdu)


# --- server -> client: NEGOTIATE response -----------------------------------

def cap_to_clear(caps):
    """ENCRYPTION if advertised, else the lowest advertised bit, so caps/forge
    always change something when the server has any capability at all."""
    if caps & CAP_ENCRYPTION:
        return CAP_ENCRYPTION
    return caps & -caps


def tamper_negotiate_response(mode, st, pdu):
    out = bytearray(pdu)
    notes = []
    if mode == "guid":
        old = out[NEGRSP_GUID]
        out[NEGRSP_GUID] ^= 0xFF
        notes.append(note("NEGOTIATE rsp ServerGuid[0]", old,
                          out[NEGRSP_GUID], 2))
    elif mode in ("caps", "forge"):
        old = u32(out, NEGRSP_CAPS)
        bit = cap_to_clear(old)
        st.cleared_cap = bit
        if bit:
            put_u32(out, NEGRSP_CAPS, old & ~bit)
            notes.append(note("NEGOTIATE rsp Capabilities", old, old & ~bit))
        else:
            notes.append("NEGOTIATE rsp Capabilities 0x00000000: "
                         "no bit to clear, unchanged")
    elif mode == "maxread0":
        old = u32(out, NEGRSP_MAX_READ)
        put_u32(out, NEGRSP_MAX_READ, 0)
        notes.append(note("NEGOTIATE rsp MaxReadSize", old, 0))
    elif mode == "signreq":
        old = u16(out, NEGRSP_SECMODE)
        new = old & ~SECMODE_SIGNING_REQUIRED
        put_u16(out, NEGRSP_SECMODE, new)
        notes.append(note("NEGOTIATE rsp SecurityMode", old, new, 4) +
                     ("" if new != old else " (SIGNING_REQUIRED not set)"))
    return bytes(out), notes


def remember_negotiate(st, pdu):
    """Record what the client was told, after our tampering."""
    st.secmode = u16(pdu, NEGRSP_SECMODE)
    st.dialect = u16(pdu, NEGRSP_DIALECT)
    st.guid = bytes(pdu[NEGRSP_GUID:NEGRSP_GUID + 16])
    st.caps = u32(pdu, NEGRSP_CAPS)


def is_negotiate_response(pdu):
    return (command(pdu) == CMD_NEGOTIATE
            and u32(pdu, H_STATUS) == STATUS_SUCCESS
            and len(pdu) >= NEGRSP_MIN_LEN
            and u16(pdu, HDR_LEN) == 65)


# --- server -> client: validate response ------------------------------------

def validate_output_offset(pdu):
    """Absolute offset of the 24-byte validate output, or None if the
    response is not a success carrying a complete one."""
    if u32(pdu, H_STATUS) != STATUS_SUCCESS:
        return None
    if len(pdu) < IOCTLRSP_OUT_COUNT + 4:
        return None
    off = u32(pdu, IOCTLRSP_OUT_OFFSET)
    count = u32(pdu, IOCTLRSP_OUT_COUNT)
    if count < VALIDATE_OUT_LEN or off < HDR_LEN or \
            off + VALIDATE_OUT_LEN > len(pdu):
        return None
    return off


def clear_output_bits(pdu, field_off, width, bit, what):
    """Clear bit in one field of the validate output, keeping the (now
    wrong) signature: the answer agrees with the tampered NEGOTIATE but is
    no longer authentic."""
    base = validate_output_offset(pdu)
    if base is None:
        return pdu, [f"VALIDATE rsp {what}: no success output, unchanged"]
    out = bytearray(pdu)
    get, put = (u32, put_u32) if width == 4 else (u16, put_u16)
    old = get(out, base + field_off)
    new = old & ~bit
    put(out, base + field_off, new)
    unchanged = "" if new != old else f" (bit 0x{bit:x} not set)"
    return bytes(out), [note(f"VALIDATE rsp {what}", old, new, 2 * width) +
                        unchanged]


def copy_header(real, status):
    """Build an unsigned header answering the same request as real."""
    hdr = bytearray(real[:HDR_LEN])
    put_u32(hdr, H_STATUS, status)
    put_u32(hdr, H_FLAGS, FLAG_SERVER_TO_REDIR)
    put_u32(hdr, H_NEXT, 0)
    hdr[H_SIG:H_SIG + SIG_LEN] = bytes(SIG_LEN)
    return hdr


def error_response(real, status):
    """Unsigned 2.2.2 error response with an empty 9-byte body."""
    body = struct.pack("<HBBIB", 9, 0, 0, 0, 0)
    return bytes(copy_header(real, status)) + body


def forged_validate_response(real, st):
    """Unsigned success echoing the tampered NEGOTIATE values, i.e. what a
    man in the middle would need the client to accept."""
    hdr = copy_header(real, STATUS_SUCCESS)
    put_u16(hdr, H_COMMAND, CMD_IOCTL)
    out_off = HDR_LEN + IOCTLRSP_FIXED_LEN
    body = struct.pack("<HHI16sIIIIII", 49, 0, FSCTL_VALIDATE_NEGOTIATE_INFO,
                       b"\xff" * 16, 0, 0, out_off, VALIDATE_OUT_LEN, 0, 0)
    output = struct.pack("<I16sHH", st.caps or 0, st.guid or bytes(16),
                         st.secmode or 0, st.dialect or 0)
    return bytes(hdr) + body + output


def describe_replacement(real, new, status):
    return (f"VALIDATE rsp MessageId 0x{mid(real):x} replaced: "
            f"Status 0x{u32(real, H_STATUS):08x}->0x{status:08x} "
            f"Flags 0x{u32(real, H_FLAGS):08x}->0x{u32(new, H_FLAGS):08x} "
            f"Signature {real[H_SIG:H_SIG + SIG_LEN].hex()}->"
            f"{new[H_SIG:H_SIG + SIG_LEN].hex()} "
            f"len 0x{len(real):x}->0x{len(new):x}")


def tamper_validate_response(mode, st, pdu):
    if mode == "caps":
        return clear_output_bits(pdu, VOUT_CAPS, 4, st.cleared_cap,
                                 "output Capabilities")
    if mode == "signreq":
        return clear_output_bits(pdu, VOUT_SECMODE, 2,
                                 SECMODE_SIGNING_REQUIRED,
                                 "output SecurityMode")
    if mode in ("nosupp", "denied"):
        status = STATUS_NOT_SUPPORTED if mode == "nosupp" \
            else STATUS_ACCESS_DENIED
        new = error_response(pdu, status)
        return new, [describe_replacement(pdu, new, status)]
    if mode == "forge":
        new = forged_validate_response(pdu, st)
        out = new[-VALIDATE_OUT_LEN:].hex()
        return new, [describe_replacement(pdu, new, STATUS_SUCCESS) +
                     f" output {out}"]
    if mode == "valmid":
        out = bytearray(pdu)
        out[H_MID + 7] ^= 0x01
        return bytes(out), [note("VALIDATE rsp MessageId", mid(pdu),
                                 mid(out), 16)]
    if mode in ("sigzero", "sigflip"):
        out = bytearray(pdu)
        old = out[H_SIG:H_SIG + SIG_LEN].hex()
        if mode == "sigzero":
            out[H_SIG:H_SIG + SIG_LEN] = bytes(SIG_LEN)
        else:
            out[H_SIG + 5] ^= 0x01
        new = out[H_SIG:H_SIG + SIG_LEN].hex()
        return bytes(out), [f"VALIDATE rsp Signature {old}->{new}"]
    return pdu, []


def is_validate_response(st, pdu):
    return command(pdu) == CMD_IOCTL and mid(pdu) in st.validate_mids


# --- server -> client: session keys (for the emulator) ---------------------

def no_key_reason(st, pdu, auth, chal):
    """Why a session that just completed gets no key; None if it can."""
    flags = u16(pdu, SESSRSP_FLAGS) if len(pdu) >= SESSRSP_FLAGS + 2 else 0
    if flags & SESSION_FLAG_IS_GUEST:
        return "guest session (SessionFlags IS_GUEST): it has no key"
    if flags & SESSION_FLAG_IS_NULL:
        return "anonymous session (SessionFlags IS_NULL): it has no key"
    if auth is None:
        return "no NTLMSSP AUTHENTICATE seen (Kerberos, or not NTLM)"
    if auth.anonymous:
        return "anonymous NTLMSSP AUTHENTICATE: no key"
    if chal is None:
        return "no NTLMSSP CHALLENGE seen for it"
    if auth.user.lower() != st.creds.user.lower():
        return f"user {auth.user!r} is not --user {st.creds.user!r}"
    if st.dialect is None:
        return "no SMB2 NEGOTIATE rsp seen on this connection"
    if st.dialect == 0x0311:
        # 3.1.1 keys hash in the pre-authentication integrity value, which
        # is not tracked: 3.1.1 has no validate exchange to emulate
        # (MS-SMB2 3.3.5.15.12).
        return "dialect 3.1.1 (pre-authentication integrity not tracked)"
    if st.dialect not in DIALECT_SWAP:
        return f"dialect 0x{st.dialect:04x} not supported"
    return None


def session_setup_response(st, pdu):
    """Learn what a SESSION_SETUP response says about its session's key.

    STATUS_MORE_PROCESSING_REQUIRED carries the server's NTLMSSP
    CHALLENGE_MESSAGE (MS-NLMP 2.2.1.2, its ServerChallenge); STATUS_SUCCESS
    completes the authentication whose AUTHENTICATE_MESSAGE the client sent,
    and gives the session its keys (MS-SMB2 3.2.5.3.1)."""
    s = sid(pdu)
    status = u32(pdu, H_STATUS)
    what = f"SESSION_SETUP rsp SessionId 0x{s:x}"
    if status == STATUS_MORE_PROCESSING_REQUIRED:
        msg = smbkeys.find_ntlmssp(security_buffer(pdu, SESSRSP_SECBUF))
        try:
            if msg is not None and \
                    smbkeys.message_type(msg) == smbkeys.NTLM_CHALLENGE:
                st.challenges[s] = smbkeys.parse_challenge(msg)
        except (ValueError, struct.error) as e:
            return [f"{what}: unparsable NTLMSSP CHALLENGE ({e})"]
        return []
    auth = st.auths.pop(s, None)
    chal = st.challenges.pop(s, None)
    if status != STATUS_SUCCESS or s in st.signers:
        # A failed attempt has no key; a re-authentication keeps the keys
        # the session has (MS-SMB2 3.2.5.3.1 derives them only once).
        return []
    reason = no_key_reason(st, pdu, auth, chal)
    if reason is None:
        domains = () if st.creds.domain is None else (st.creds.domain,)
        try:
            key = smbkeys.ntlmv2_session_key(st.creds.nthash, chal, auth,
                                             domains)
            signer = smbkeys.Signer(key.exported_session_key, st.dialect)
        except smbkeys.NoKey as e:
            reason = str(e)
    if reason is not None:
        st.no_key[s] = reason
        return [f"{what}: no key: {reason}"]
    st.signers[s] = signer
    return [f"{what}: key derived for user {auth.user!r} domain "
            f"{key.domain!r} (NTProofStr reproduced), dialect "
            f"0x{st.dialect:04x} signs with {signer.alg}"]


def first_signature_check(st, pdu):
    """Once per session, say whether the derived key verifies the server's
    signature on the first signed response of that session, so that the
    log shows the key is right before any answer depends on it."""
    s = sid(pdu)
    signer = st.signers.get(s)
    if signer is None or s in st.key_checked or \
            not u32(pdu, H_FLAGS) & FLAG_SIGNED:
        return []
    st.key_checked.add(s)
    # A compound member's signature covers it alone (MS-SMB2 3.1.4.1).
    nxt = u32(pdu, H_NEXT)
    chunk = pdu[:nxt] if HDR_LEN <= nxt < len(pdu) else pdu
    what = f"{smb2_command_name(pdu)} rsp SessionId 0x{s:x}"
    if signer.verify(chunk):
        return [f"{what}: the server's signature verifies with the derived "
                f"key ({signer.alg})"]
    return [f"EMULATOR-KEY-MISMATCH {what}: the server's signature does not "
            f"verify with the derived key ({signer.alg})"]


def smb2_command_name(pdu):
    names = {CMD_NEGOTIATE: "NEGOTIATE", CMD_SESSION_SETUP: "SESSION_SETUP",
             CMD_TREE_CONNECT: "TREE_CONNECT", CMD_IOCTL: "IOCTL",
             **FILE_IO_CMDS}
    return names.get(command(pdu), f"command 0x{command(pdu):x}")


def track_keys(st, pdu):
    """The key bookkeeping every response gets once credentials are known;
    the validate response is checked by its own handler."""
    if st.creds is None or smbkeys is None:
        return []
    notes = []
    if command(pdu) == CMD_SESSION_SETUP:
        notes += session_setup_response(st, pdu)
    if not is_validate_response(st, pdu):
        notes += first_signature_check(st, pdu)
    return notes


# --- server -> client: the emulator -----------------------------------------

def with_output(pdu, base, output):
    """The success answer with its validate output replaced: the output
    stays at OutputOffset, OutputCount follows it, the PDU ends with it
    (2.2.32), and frame() fixes the NetBIOS length."""
    out = bytearray(pdu[:base]) + output
    put_u32(out, IOCTLRSP_OUT_COUNT, len(output))
    return bytes(out)


def error_body_response(real, status):
    """A 2.2.2 ERROR response with status, answering what real answered;
    the header keeps real's flags (an async answer stays async) so that
    only the signature has to be new."""
    hdr = bytearray(real[:HDR_LEN])
    put_u32(hdr, H_STATUS, status)
    put_u32(hdr, H_NEXT, 0)
    hdr[H_SIG:H_SIG + SIG_LEN] = bytes(SIG_LEN)
    # StructureSize 9, ErrorContextCount 0, Reserved, ByteCount 0, and the
    # one byte of ErrorData a zero ByteCount still carries.
    return bytes(hdr) + struct.pack("<HBBIB", 9, 0, 0, 0, 0)


def extra_capability(caps):
    for bit in CAP_EXTRA_ORDER:
        if not caps & bit:
            return bit
    return ~caps & (caps + 1)   # lowest clear bit


def emulated_answer(mode, st, pdu, max_out):
    """(the changed answer, unsigned, and what changed), or (None, why the
    mode does not apply to this answer)."""
    if mode in ERROR_MODES:
        status = ERROR_MODES[mode]
        new = error_body_response(pdu, status)
        return new, (f"Status 0x{u32(pdu, H_STATUS):08x}->0x{status:08x} "
                     f"(ERROR response, len 0x{len(pdu):x}->0x{len(new):x})")
    base = validate_output_offset(pdu)
    if base is None:
        return None, (f"Status 0x{u32(pdu, H_STATUS):08x} carries no "
                      "24-byte validate output to change")
    out = bytearray(pdu[base:base + VALIDATE_OUT_LEN])
    count = u32(pdu, IOCTLRSP_OUT_COUNT)
    if mode == "pad":
        if max_out is None or max_out < VALIDATE_OUT_LEN:
            return None, f"MaxOutputResponse {max_out} leaves nothing to pad"
        want = min(max_out, PAD_MAX)
        capped = f", capped at 0x{PAD_MAX:x}" if want < max_out else ""
        return with_output(pdu, base, bytes(out) + bytes(want - len(out))), \
            (f"OutputCount {count}->{want} = MaxOutputResponse "
             f"{max_out}{capped}, zero padded")
    if mode == "overrun":
        want = VALIDATE_OUT_LEN + OVERRUN_EXTRA
        return with_output(pdu, base, bytes(out) + bytes(OVERRUN_EXTRA)), \
            (f"OutputCount {count}->{want} (MaxOutputResponse {max_out}), "
             "zero filled")
    if mode == "dialdiff":
        neg = st.dialect
        if neg not in DIALECT_SWAP:
            return None, f"no dialect to differ from (NEGOTIATE {neg})"
        old = u16(out, VOUT_DIALECT)
        put_u16(out, VOUT_DIALECT, DIALECT_SWAP[neg])
        return with_output(pdu, base, bytes(out)), \
            (note("output Dialect", old, DIALECT_SWAP[neg], 4) +
             f" (NEGOTIATE rsp 0x{neg:04x})")
    if mode == "capextra":
        neg = st.caps or 0
        bit = extra_capability(neg)
        old = u32(out, VOUT_CAPS)
        put_u32(out, VOUT_CAPS, old | bit)
        return with_output(pdu, base, bytes(out)), \
            (note("output Capabilities", old, old | bit) +
             f" (+0x{bit:x}, not in NEGOTIATE rsp 0x{neg:08x})")
    raise ValueError(f"not an emulator mode: {mode}")


def validate_signer(st, pdu):
    """(Signer, None) for the session of a validate answer whose signature
    is the server's, else (None, (tag, why))."""
    s = sid(pdu)
    if st.creds is None or smbkeys is None:
        return None, ("EMULATOR-NO-KEY", "no --user/--password or --nthash")
    signer = st.signers.get(s)
    if signer is None:
        return None, ("EMULATOR-NO-KEY", f"SessionId 0x{s:x}: " +
                      st.no_key.get(s, "no SESSION_SETUP seen for it"))
    if not u32(pdu, H_FLAGS) & FLAG_SIGNED:
        return None, ("EMULATOR-UNSIGNED", "the server did not sign it, so "
                      "the derived key cannot be checked")
    if u32(pdu, H_NEXT):
        return None, ("EMULATOR-COMPOUND", "part of a compound response")
    if not signer.verify(pdu):
        return None, ("EMULATOR-KEY-MISMATCH", "the server's signature does "
                      f"not verify with the key derived for SessionId "
                      f"0x{s:x} ({signer.alg})")
    st.key_checked.add(s)
    return signer, None


def emulate_validate_response(mode, st, pdu, max_out):
    """Act like an honest server with a quirk: change the real answer only
    once its signature proved the derived key, and sign the result."""
    what = f"VALIDATE rsp MessageId 0x{mid(pdu):x}"
    signer, refusal = validate_signer(st, pdu)
    if refusal:
        tag, why = refusal
        return pdu, [f"{tag} {what}: {why}: forwarded untouched"]
    new, change = emulated_answer(mode, st, pdu, max_out)
    if new is None:
        return pdu, [f"EMULATOR-NOT-APPLICABLE {what}: {change}: forwarded "
                     "untouched"]
    new = signer.sign(new)
    return new, [f"EMULATED {what}: server signature verified "
                 f"({signer.alg}); {change}; re-signed "
                 f"{pdu[H_SIG:H_SIG + SIG_LEN].hex()}->"
                 f"{new[H_SIG:H_SIG + SIG_LEN].hex()}"]


def validate_key_note(st, pdu):
    """Non-emulator modes with credentials: whether the derived key verifies
    the real answer, before the mode does anything to it."""
    if st.creds is None or smbkeys is None:
        return []
    what = f"VALIDATE rsp MessageId 0x{mid(pdu):x}"
    signer, refusal = validate_signer(st, pdu)
    if refusal:
        tag, why = refusal
        return [f"{tag} {what}: {why}"]
    return [f"{what}: the server's signature verifies with the derived key "
            f"({signer.alg})"]


def is_interim(pdu):
    """An async STATUS_PENDING interim: the real answer is still to come."""
    return (u32(pdu, H_STATUS) == STATUS_PENDING
            and u32(pdu, H_FLAGS) & FLAG_ASYNC)


# --- server -> client: TREE_CONNECT response (3.1.1) ------------------------

def compound_members(pdu):
    """The offsets of the SMB2 headers in a (compound) PDU (2.2.1)."""
    off = 0
    while True:
        yield off
        nxt = u32(pdu, off + H_NEXT)
        if not nxt or off + nxt + HDR_LEN > len(pdu) or \
                pdu[off + nxt:off + nxt + 4] != SMB2_MAGIC:
            return
        off += nxt


def tamper_tree_connect_response(mode, st, pdu):
    """tcunsigned / tcflip: on a 3.1.1 connection, break the signature of
    every TREE_CONNECT response (each member of a compound one), whatever
    its status.  A client that verifies it with the channel's signing key
    (MS-SMB2 3.2.5.1.3, 3.1.5.1) refuses the answer; stock cifs does not
    verify it."""
    out = bytearray(pdu)
    notes = []
    for off in compound_members(pdu):
        if u16(out, off + H_COMMAND) != CMD_TREE_CONNECT:
            continue
        what = (f"TREE_CONNECT rsp MessageId 0x{u64(out, off + H_MID):x} "
                f"TreeId 0x{u32(out, off + H_TID):x} "
                f"Status 0x{u32(out, off + H_STATUS):08x}")
        if st.dialect != DIALECT_311:
            dialect = "unknown" if st.dialect is None \
                else f"0x{st.dialect:04x}"
            notes.append(f"{what}: dialect {dialect} is not 3.1.1: "
                         "untouched")
            continue
        if is_interim(out[off:]):
            notes.append(f"{what}: interim response: untouched")
            continue
        flags = u32(out, off + H_FLAGS)
        sig = slice(off + H_SIG, off + H_SIG + SIG_LEN)
        old = out[sig].hex()
        if mode == "tcunsigned":
            put_u32(out, off + H_FLAGS, flags & ~FLAG_SIGNED)
            out[sig] = bytes(SIG_LEN)
        else:
            out[off + H_SIG + 5] ^= 0x01
        notes.append(f"{what}: Flags 0x{flags:08x}->"
                     f"0x{u32(out, off + H_FLAGS):08x} Signature {old}->"
                     f"{out[sig].hex()}" +
                     ("" if flags & FLAG_SIGNED
                      else " (the server had not signed it)"))
    return bytes(out), notes


def delay_tree_connect_response(st, pdu):
    """tcdelay: a (compound) answer with a TREE_CONNECT member is held back
    TCDELAY seconds, whole and unchanged; any other answer goes at once."""
    notes = []
    for off in compound_members(pdu):
        if u16(pdu, off + H_COMMAND) != CMD_TREE_CONNECT:
            continue
        m = u64(pdu, off + H_MID)
        path = st.tcon_paths.get(m, "?") if is_interim(pdu[off:]) \
            else st.tcon_paths.pop(m, "?")
        notes.append(f"TREE_CONNECT rsp MessageId 0x{m:x} ({path}) "
                     f"TreeId 0x{u32(pdu, off + H_TID):x} "
                     f"Status 0x{u32(pdu, off + H_STATUS):08x}: "
                     f"held {TCDELAY:g} s")
    if not notes:
        return Verdict(FORWARD, pdu)
    return Verdict(DELAY, pdu, notes, delay=TCDELAY)


def process_server_pdu(mode, st, pdu):
    """Decide what to do with one PDU the server sent."""
    if st.stalled:
        # Total silence, so that only the client's own timeout can end it.
        return Verdict(DROP, b"")
    if not is_smb2(pdu) or not is_response(pdu):
        return Verdict(FORWARD, pdu)
    keys = track_keys(st, pdu)
    v = respond(mode, st, pdu)
    v.notes[:0] = keys
    return v


def respond(mode, st, pdu):
    """process_server_pdu() for an SMB2 response, once the keys are kept."""
    if is_negotiate_response(pdu):
        new, notes = tamper_negotiate_response(mode, st, pdu)
        remember_negotiate(st, new)
        return Verdict(FORWARD, new, notes)
    if is_validate_response(st, pdu) and not is_interim(pdu):
        max_out = st.validate_mids.pop(mid(pdu), None)
        if mode in EMULATOR_MODES:
            new, notes = emulate_validate_response(mode, st, pdu, max_out)
            st.validated = True
            return Verdict(FORWARD, new, notes)
        keys = validate_key_note(st, pdu)
        if mode == "stall":
            st.stalled = True
            return Verdict(DROP, b"", keys + [
                f"VALIDATE rsp MessageId 0x{mid(pdu):x} withheld, "
                "discarding all further server data"])
        if mode in ("halfstall", "halfdrop"):
            # The client has a frame header promising more than it gets.
            st.stalled = True
            return Verdict(HALF if mode == "halfstall" else HALF_RESET, pdu,
                           keys +
                           [f"VALIDATE rsp MessageId 0x{mid(pdu):x}: first "
                            f"half sent, then "
                            f"{'stall' if mode == 'halfstall' else 'RST'}"])
        new, notes = tamper_validate_response(mode, st, pdu)
        tid = st.validate_tids.pop(mid(pdu), None)
        if mode == "churnhold":
            return Verdict(DELAY, new, keys + notes + [
                f"VALIDATE rsp MessageId 0x{mid(pdu):x} held"],
                delay=CHURN_HOLD,
                validates=-1 if tid is None else tid)
        tree_validated(st, tid)
        return Verdict(FORWARD, new, keys + notes)
    if mode in CHURN_MODES:
        note_tree_connect_response(st, pdu)
    if mode in TREE_CONNECT_MODES:
        new, notes = tamper_tree_connect_response(mode, st, pdu)
        return Verdict(FORWARD, new, notes)
    if mode == "tcdelay":
        return delay_tree_connect_response(st, pdu)
    if mode == "bindflip" and command(pdu) == CMD_SESSION_SETUP:
        return flip_binding_response(st, pdu)
    return Verdict(FORWARD, pdu)


def flip_binding_response(st, pdu):
    """bindflip: break the signature of the final answer to a 3.1.1
    channel binding (the one with a success status).  The client that
    checks it with the new channel's signing key (MS-SMB2 3.2.5.3.1)
    refuses the channel; stock cifs checks no SESSION_SETUP signature."""
    m = mid(pdu)
    if m not in st.binding_mids or is_interim(pdu):
        return Verdict(FORWARD, pdu)
    what = (f"SESSION_SETUP rsp MessageId 0x{m:x} (binding) "
            f"Status 0x{u32(pdu, H_STATUS):08x}")
    if u32(pdu, H_STATUS) != STATUS_SUCCESS:
        return Verdict(FORWARD, pdu, [f"{what}: not final: untouched"])
    st.binding_mids.discard(m)
    if st.dialect != DIALECT_311:
        return Verdict(FORWARD, pdu, [f"{what}: not 3.1.1: untouched"])
    out = bytearray(pdu)
    old = out[H_SIG:H_SIG + SIG_LEN].hex()
    out[H_SIG + 5] ^= 0x01
    return Verdict(FORWARD, bytes(out), [
        f"{what}: Signature {old}->{out[H_SIG:H_SIG + SIG_LEN].hex()}"])


def process_frame(mode, st, ftype, payload, from_client):
    """Route one reassembled frame.  Encrypted transforms, SMB1 and anything
    that is not direct-TCP SMB2 go through untouched."""
    if ftype != 0 or payload[:4] == TRANSFORM_MAGIC:
        if st.stalled and not from_client:
            return Verdict(DROP, b"")
        notes = []
        if mode in EMULATOR_MODES and payload[:4] == TRANSFORM_MAGIC and \
                not st.encrypted_noted:
            # The validate exchange, if any, is sealed: nothing to emulate.
            st.encrypted_noted = True
            notes.append("EMULATOR-ENCRYPTED: SMB2 TRANSFORM_HEADER traffic "
                         "on this connection is left untouched, validate "
                         "answers included")
        if (mode in TREE_CONNECT_MODES or mode == "tcdelay") and \
                not from_client and \
                payload[:4] == TRANSFORM_MAGIC and not st.encrypted_noted:
            # Sealed: nobody can tell a TREE_CONNECT answer inside it.
            st.encrypted_noted = True
            notes.append("TC-ENCRYPTED: the server sends SMB2 "
                         "TRANSFORM_HEADER (encrypted) messages on this "
                         "connection: left untouched, so is any "
                         "TREE_CONNECT rsp inside one")
        return Verdict(FORWARD, frame(payload, ftype), notes)
    fn = process_client_pdu if from_client else process_server_pdu
    v = fn(mode, st, payload)
    if v.action in (FORWARD, HALF, HALF_RESET, DELAY):
        v.pdu = frame(v.pdu)
    return v


# --- I/O --------------------------------------------------------------------

class Log:
    def __init__(self, path, verbose):
        self.f = open(path, "a", buffering=1) if path else sys.stderr
        self.verbose = verbose

    def line(self, text):
        stamp = time.strftime("%H:%M:%S")
        self.f.write(f"{stamp} smbproxy {text}\n")
        self.f.flush()

    def action(self, mode, cid, text):
        self.line(f"mode={mode} conn={cid} {text}")

    def debug(self, mode, cid, text):
        if self.verbose:
            self.action(mode, cid, text)


def rst_close(writer):
    """Abort with RST instead of FIN: linger on with timeout 0."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                            struct.pack("ii", 1, 0))
        except OSError:
            pass
    writer.transport.abort()


async def flush(writer):
    """Wait for the peer to take our data; False once it is gone."""
    if writer.is_closing():
        return False
    try:
        await writer.drain()
    except (ConnectionError, OSError):
        return False
    return True


class Connection:
    """One client connection and its upstream twin."""

    def __init__(self, proxy, mode, cid, creader, cwriter):
        self.proxy = proxy
        self.mode = mode
        self.cid = cid
        # Reconnect modes pick their rule when NEGOTIATE shows who it is.
        self.rule = "pass" if mode in RECONNECT_MODES else mode
        self.drop_armed = mode in CHURN_MODES
        self.drop_delay = proxy.churn_delay if mode in CHURN_MODES \
            else proxy.redropmc_delay if mode == "redropmc" \
            else proxy.redrop_delay
        if mode == "churnhold":
            # A mount validates IPC$ and then its share, each answer held:
            # the drop must wait for the second one, or no mount completes.
            self.drop_delay += 2 * proxy.churn_hold
        self.creader, self.cwriter = creader, cwriter
        self.sreader = self.swriter = None
        self.state = ConnState(creds=proxy.creds)
        self.reset = False

    async def run(self):
        if self.mode == "impostor":
            await self.impersonate()
            return
        try:
            self.sreader, self.swriter = await asyncio.open_connection(
                *self.proxy.target)
        except OSError as e:
            self.debug(f"upstream connect failed: {e}")
            self.cwriter.transport.abort()
            return
        self.debug("open")
        up = asyncio.create_task(self.pump(self.creader, self.swriter, True))
        down = asyncio.create_task(
            self.pump(self.sreader, self.cwriter, False))
        ender = "proxy shutdown"
        try:
            ender = await self.wait_pumps(up, down)
        finally:
            for t in (up, down):
                t.cancel()
            await asyncio.gather(up, down, return_exceptions=True)
            self.close()
            self.debug(f"closed by {ender}")

    def debug(self, text):
        self.proxy.log.debug(self.mode, self.cid, text)

    async def impersonate(self):
        """impostor: no upstream connection; smbimpostor answers every
        request, one log line each."""
        fake = smbimpostor.Impostor()

        def log(text):
            self.proxy.log.action(self.mode, self.cid, "impostor: " + text)
        log("answering this client itself (no server, no password, "
            "nothing signed)")
        buf = b""
        ender = "client"
        try:
            while True:
                try:
                    data = await self.creader.read(65536)
                except (ConnectionError, OSError):
                    break
                if not data:
                    break
                frames, buf = split_frames(buf + data)
                for ftype, payload in frames:
                    reply = fake.receive(ftype, payload)
                    for n in reply.notes:
                        log(n)
                    for pdu in reply.pdus:
                        if not self.cwriter.is_closing():
                            self.cwriter.write(frame(pdu))
                    if reply.hangup:
                        ender = "impostor"
                        return
                if not await flush(self.cwriter):
                    break
        finally:
            log(f"connection closed by {ender}; requests answered: "
                f"{fake.summary()}")
            self.close()

    async def wait_pumps(self, up, down):
        """Wait until the connection is over; says who ended it."""
        done, _ = await asyncio.wait({up, down},
                                     return_when=asyncio.FIRST_COMPLETED)
        if self.reset:
            return "proxy reset"
        if down in done and self.state.stalled and not up.done():
            # In stall mode the client must see nothing, not even the
            # server hanging up, so keep the client side open.
            self.debug("server closed while stalled; holding client")
            await up
            return "client"
        return "client" if up in done else "server"

    async def pump(self, reader, writer, from_client):
        buf = b""
        while True:
            try:
                data = await reader.read(65536)
            except (ConnectionError, OSError):
                return
            if not data:
                return
            frames, buf = split_frames(buf + data)
            for ftype, payload in frames:
                if not self.handle(ftype, payload, writer, from_client):
                    return
            if not await flush(writer):
                if from_client and self.state.stalled:
                    continue     # upstream gone while stalled: discard
                return

    def pick_reconnect_rule(self, payload):
        """cifs keeps its ClientGuid across reconnects of one TCP session
        and draws a new one per mount, so a ClientGuid seen before marks a
        reconnect: the first connection is dropped after validating, the
        reconnect is passed (redrop), has its ServerGuid tampered (reguid),
        or loses its validate request once (redropvn)."""
        if self.mode not in RECONNECT_MODES or len(payload) < 92 or \
                not is_smb2(payload) or is_response(payload) or \
                command(payload) != CMD_NEGOTIATE:
            return
        guid = bytes(payload[76:92])
        seen = self.proxy.client_guids
        if guid in seen:
            self.rule = "guid" if self.mode == "reguid" else "pass"
            if self.rule == "guid" and self.proxy.reguid_heal:
                # A client whose session an honest server may take back:
                # lets a test unmount a refused multichannel session
                # normally once every channel is up again.
                t0 = self.proxy.reguid_since.setdefault(guid,
                                                        time.monotonic())
                if time.monotonic() - t0 >= self.proxy.reguid_heal:
                    self.rule = "pass"
            if self.mode == "redropvn" and guid not in self.proxy.lost_once:
                self.proxy.lost_once.add(guid)
                self.rule = "reset"
            self.proxy.log.action(self.mode, self.cid,
                                  f"reconnect of client {guid.hex()}: "
                                  f"rule {self.rule}")
        else:
            seen.add(guid)
            self.drop_armed = True

    def handle(self, ftype, payload, writer, from_client):
        """Apply the mode to one frame; False ends the connection."""
        if from_client and ftype == 0:
            self.pick_reconnect_rule(payload)
        try:
            v = process_frame(self.rule, self.state, ftype, payload,
                              from_client)
        except (struct.error, ValueError, IndexError) as e:
            # A malformed PDU is the peer's problem, not ours: pass it on.
            self.debug(f"unparsed frame passed through: {e}")
            v = Verdict(FORWARD, frame(payload, ftype))
        v = self.mutate(ftype, payload, from_client, v)
        for n in v.notes:
            self.proxy.log.action(self.mode, self.cid, n)
            tag = n.split(" ", 1)[0].rstrip(":")
            if tag.startswith("EMULAT"):
                self.proxy.emulator_counts[tag] += 1
        if v.action == RESET:
            self.reset = True
            return False
        if v.action == FORWARD and not writer.is_closing():
            writer.write(v.pdu)
        if v.action == DELAY:
            if v.validates is not None:
                v.delay = self.proxy.churn_hold
            asyncio.get_running_loop().call_later(
                v.delay, self.send_late, writer, v.pdu, v.delay,
                v.validates)
        if v.action in (HALF, HALF_RESET) and not writer.is_closing():
            writer.write(v.pdu[:len(v.pdu) // 2])
            if v.action == HALF_RESET:
                # Let the half reach the client before the RST does.
                asyncio.get_running_loop().call_later(0.5, self.force_drop)
        self.arm_drop()
        return True

    def arm_drop(self):
        if self.drop_armed and self.state.validated:
            self.drop_armed = False
            asyncio.get_running_loop().call_later(self.drop_delay,
                                                  self.force_drop)

    def mutate(self, ftype, payload, from_client, verdict):
        """Hook for scripts/proxy/campaign.py: the verdict on one frame, which a
        subclass may replace (its notes are logged like the mode's)."""
        return verdict

    def send_late(self, writer, data, delay, validates=None):
        """DELAY: the frame held back, unless the connection ended since."""
        if self.reset or writer.is_closing():
            self.proxy.log.action(self.mode, self.cid, "held frame dropped: "
                                  "the connection ended meanwhile")
            return
        writer.write(data)
        self.proxy.log.action(self.mode, self.cid,
                              f"held frame sent after {delay:g} s")
        if validates is not None:
            # Only now can the client have seen its tree validated.
            tree_validated(self.state, validates)
            self.arm_drop()

    def force_drop(self):
        """Reconnect modes: kill a validated connection so that the client
        has to reconnect (and, under smbvn, revalidate)."""
        self.proxy.log.action(self.mode, self.cid,
                              "forced drop (RST) of validated connection")
        self.reset = True
        self.close()

    def close(self):
        for w in (self.cwriter, self.swriter):
            if w is None:
                continue
            if self.reset:
                rst_close(w)
            elif not w.is_closing():
                w.close()


class Proxy:
    def __init__(self, target, maps, bind, log, churn_delay=CHURN_DELAY,
                 creds=None, churn_hold=CHURN_HOLD, reguid_heal=0.0,
                 redrop_delay=REDROP_DELAY, redropmc_delay=REDROPMC_DELAY):
        self.target = target
        self.redrop_delay = redrop_delay
        self.redropmc_delay = redropmc_delay
        # reguid: seconds from a client's first tampered reconnect until
        # its reconnects pass again (0: never), and when that was.
        self.reguid_heal = reguid_heal
        self.reguid_since = {}
        self.creds = creds
        self.churn_hold = churn_hold
        # EMULATED / EMULATOR-* lines logged, for the closing summary.
        self.emulator_counts = Counter()
        self.churn_delay = churn_delay
        self.maps = maps
        self.bind = bind
        self.log = log
        self.next_cid = 0
        self.connection_class = Connection     # campaign.py subclasses it
        self.client_guids = set()   # for the reconnect modes
        self.lost_once = set()      # redropvn: reconnects already reset
        self.tasks = set()
        self.servers = []

    async def accept(self, mode, reader, writer):
        self.next_cid += 1
        conn = self.connection_class(self, mode, self.next_cid, reader,
                                     writer)
        task = asyncio.current_task()
        self.tasks.add(task)
        try:
            await conn.run()
        except asyncio.CancelledError:
            # Shutdown may land before run() reached its own cleanup.
            conn.close()
        finally:
            self.tasks.discard(task)

    async def serve(self):
        # Handlers first: a test may signal us the moment it sees "ready".
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        try:
            for lport, mode in self.maps:
                srv = await asyncio.start_server(
                    lambda r, w, m=mode: self.accept(m, r, w),
                    host=self.bind, port=lport, reuse_address=True)
                self.servers.append(srv)
            print("smbproxy: ready", flush=True)
            await stop.wait()
        finally:
            await self.shutdown()

    async def shutdown(self):
        for srv in self.servers:
            srv.close()
        for t in list(self.tasks):
            t.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        for srv in self.servers:
            await srv.wait_closed()
        if self.creds is not None:
            counts = " ".join(f"{k}={v}" for k, v in
                              sorted(self.emulator_counts.items()))
            self.log.line(f"emulator summary: {counts or 'nothing to do'}")


# --- CLI --------------------------------------------------------------------

def parse_hostport(s):
    host, _, port = s.rpartition(":")
    host = host.strip("[]")     # allow [::1]:445
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {s!r}")
    return host, int(port)


def parse_nthash(s):
    try:
        h = bytes.fromhex(s)
    except ValueError:
        h = b""
    if len(h) != 16:
        raise argparse.ArgumentTypeError("expected 32 hex digits (the NT "
                                         "hash, e.g. from 'pdbedit -Lw')")
    return h


def credentials(ap, args):
    """The Credentials of --user/--password/--nthash/--domain, or None."""
    given = [o for o in ("user", "password", "nthash", "domain")
             if getattr(args, o) is not None]
    emu = sorted({m for _, m in args.map if m in EMULATOR_MODES})
    if not given:
        if emu:
            ap.error(f"mode(s) {', '.join(emu)} re-sign answers: they need "
                     "--user and --password or --nthash")
        return None
    if args.user is None or (args.password is None) == (args.nthash is None):
        ap.error("give --user and exactly one of --password and --nthash")
    if smbkeys is None:
        ap.error(f"deriving keys needs python3-cryptography: {SMBKEYS_ERROR}")
    nthash = args.nthash
    if nthash is None:
        try:
            nthash = smbkeys.nt_hash(args.password)
        except smbkeys.NoKey as e:
            ap.error(str(e))
    return Credentials(user=args.user, nthash=nthash, domain=args.domain)


def parse_map(s):
    port, _, mode = s.partition(":")
    if not port.isdigit() or mode not in MODES:
        raise argparse.ArgumentTypeError(
            f"expected LPORT:MODE with MODE in {', '.join(MODES)}; got {s!r}")
    return int(port), mode


def main(argv=None):
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="modes:\n" + "\n".join(f"  {m:10} {d}"
                                       for m, d in MODES.items()))
    ap.add_argument("--target", type=parse_hostport, metavar="HOST:PORT",
                    help="the SMB server (needed unless every mode is "
                    "impostor)")
    ap.add_argument("--map", required=True, action="append", type=parse_map,
                    metavar="LPORT:MODE",
                    help="listen on LPORT, tamper per MODE (repeatable)")
    ap.add_argument("--bind", action="append",
                    help="listen address (repeatable: every LPORT on each; "
                    "default 127.0.0.1)")
    ap.add_argument("--log", help="append tamper log here (default stderr)")
    ap.add_argument("--churn-delay", type=float, default=CHURN_DELAY,
                    metavar="S", help="churn modes: seconds from a validate "
                    "rsp to the drop (default %(default)s)")
    ap.add_argument("--churn-hold", type=float, default=CHURN_HOLD,
                    metavar="S", help="churnhold mode: seconds each "
                    "validate rsp is held (default %(default)s)")
    ap.add_argument("--redrop-delay", type=float, default=REDROP_DELAY,
                    metavar="S", help="redrop, reguid, redropvn: seconds "
                    "from the first validation to the drop (default "
                    "%(default)s; more on a slow debug kernel, where a "
                    "mount takes longer)")
    ap.add_argument("--redropmc-delay", type=float, default=REDROPMC_DELAY,
                    metavar="S", help="redropmc: seconds from the first "
                    "validation to the drop (default %(default)s)")
    ap.add_argument("--reguid-heal", type=float, default=0.0,
                    metavar="S", help="reguid mode: reconnects of a client "
                    "pass again S seconds after its first tampered one "
                    "(default: never)")
    ap.add_argument("--verbose", action="store_true",
                    help="also log connection open/close")
    ap.add_argument("--user", help="the test user whose sessions the "
                    "emulator modes sign for (NTLMv2 only)")
    ap.add_argument("--password", help="that user's password")
    ap.add_argument("--nthash", type=parse_nthash, metavar="HEX",
                    help="instead of --password: its NT hash, MD4 of the "
                    "UTF-16LE password ('pdbedit -Lw' prints it)")
    ap.add_argument("--domain", help="the user's domain, if the client "
                    "hashes one it does not send (normally not needed)")
    args = ap.parse_args(argv)
    ports = [p for p, _ in args.map]
    if len(set(ports)) != len(ports):
        ap.error("each LPORT may be mapped only once")
    if args.target is None and any(m != "impostor" for _, m in args.map):
        ap.error("--target is required (only impostor needs no server)")
    creds = credentials(ap, args)
    try:
        log = Log(args.log, args.verbose)
        # asyncio.start_server listens on every host of a list.
        asyncio.run(Proxy(args.target, args.map, args.bind or "127.0.0.1",
                          log,
                          args.churn_delay, creds,
                          args.churn_hold, args.reguid_heal,
                          args.redrop_delay,
                          redropmc_delay=args.redropmc_delay).serve())
    except OSError as e:
        print(f"smbproxy: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
