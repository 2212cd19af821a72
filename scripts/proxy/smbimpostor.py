# SPDX-License-Identifier: GPL-2.0-only
"""smbimpostor - a fake SMB2/3 server that knows no password.

smbproxy.py's "impostor" mode hands a client connection to Impostor, which
answers every request itself: it accepts any NTLMSSP authentication
without checking it, has no session key and so signs nothing, and serves
one read-only share holding hello.txt ("impostor\\n").  A client that
mounts it and reads "impostor" has trusted a server that never proved it
knew the user's password.  On SMB 3.1.1 a client must refuse it: the final
SESSION_SETUP response has to be signed (MS-SMB2 3.2.5.3.1), and so has
every later response of a session that requires signing (3.2.5.1.3).

Like smbproxy's rewriting, it is pure: Impostor.receive() takes one frame's
payload and returns the PDUs to send back, so test_smbproxy.py drives it
without a network.  Every layout below is from the cited section of
MS-SMB2 (the 2.2.x message syntax), MS-FSCC (information classes),
MS-NLMP (NTLMSSP messages) or RFC 4178 (SPNEGO).
"""

import fnmatch
import os
import struct
import time
from collections import Counter
from dataclasses import dataclass, field

from smbwire import u16, u32, u64
from smbwire import (  # noqa: F401
    SMB2_MAGIC, SMB1_MAGIC, TRANSFORM_MAGIC, HDR_LEN, H_CREDIT_CHARGE,
    H_STATUS, H_COMMAND, H_CREDITS, H_FLAGS, H_NEXT, H_MID, H_TID, H_SID,
    H_SIG)

# --- MS-SMB2 2.2.1 header ---------------------------------------------------

FLAG_SERVER_TO_REDIR = 0x01
FLAG_RELATED = 0x04
FLAG_SIGNED = 0x08

CMD_NAMES = ("NEGOTIATE", "SESSION_SETUP", "LOGOFF", "TREE_CONNECT",
             "TREE_DISCONNECT", "CREATE", "CLOSE", "FLUSH", "READ", "WRITE",
             "LOCK", "IOCTL", "CANCEL", "ECHO", "QUERY_DIRECTORY",
             "CHANGE_NOTIFY", "QUERY_INFO", "SET_INFO", "OPLOCK_BREAK")
(NEGOTIATE, SESSION_SETUP, LOGOFF, TREE_CONNECT, TREE_DISCONNECT, CREATE,
 CLOSE, FLUSH, READ, WRITE, LOCK, IOCTL, CANCEL, ECHO, QUERY_DIRECTORY,
 CHANGE_NOTIFY, QUERY_INFO, SET_INFO, OPLOCK_BREAK) = range(19)

# MS-ERREF 2.3 NTSTATUS values.
STATUS_SUCCESS = 0x00000000
STATUS_BUFFER_OVERFLOW = 0x80000005
STATUS_NO_MORE_FILES = 0x80000006
STATUS_INFO_LENGTH_MISMATCH = 0xC0000004
STATUS_INVALID_HANDLE = 0xC0000008
STATUS_INVALID_PARAMETER = 0xC000000D
STATUS_NO_SUCH_FILE = 0xC000000F
STATUS_INVALID_DEVICE_REQUEST = 0xC0000010
STATUS_END_OF_FILE = 0xC0000011
STATUS_MORE_PROCESSING_REQUIRED = 0xC0000016
STATUS_ACCESS_DENIED = 0xC0000022
STATUS_OBJECT_NAME_NOT_FOUND = 0xC0000034
STATUS_OBJECT_NAME_COLLISION = 0xC0000035
STATUS_LOGON_FAILURE = 0xC000006D
STATUS_FILE_IS_A_DIRECTORY = 0xC00000BA
STATUS_NOT_SUPPORTED = 0xC00000BB
STATUS_NETWORK_NAME_DELETED = 0xC00000C9
STATUS_NOT_A_DIRECTORY = 0xC0000103
STATUS_USER_SESSION_DELETED = 0xC0000203
STATUS_NAMES = {v: k for k, v in globals().items() if k.startswith("STATUS_")}

# 2.2.3 / 2.2.4 NEGOTIATE.
DIALECTS = (0x0202, 0x0210, 0x0300, 0x0302, 0x0311)
SMB311 = 0x0311
SECMODE_SIGNING_ENABLED = 0x0001
PREAUTH_INTEGRITY_CAPABILITIES = 0x0001     # 2.2.3.1.1
ENCRYPTION_CAPABILITIES = 0x0002            # 2.2.3.1.2
HASH_SHA512 = 0x0001
CIPHERS = {1: "AES-128-CCM", 2: "AES-128-GCM", 3: "AES-256-CCM",
           4: "AES-256-GCM"}
CONTEXT_NAMES = {1: "PREAUTH_INTEGRITY", 2: "ENCRYPTION", 3: "COMPRESSION",
                 5: "NETNAME", 6: "TRANSPORT", 7: "RDMA_TRANSFORM",
                 8: "SIGNING", 0x100: "POSIX(Linux)"}
MAX_IO = 65536      # no SMB2_GLOBAL_CAP_LARGE_MTU: 64 KiB is the limit

# 2.2.10 TREE_CONNECT response.
SHARE_TYPE_DISK = 0x01
SHARE_TYPE_PIPE = 0x02
FULL_ACCESS = 0x001F01FF    # MaximalAccess: FILE_ALL_ACCESS

# 2.2.13 CREATE.
FILE_OPEN, FILE_CREATE, FILE_OPEN_IF, FILE_OVERWRITE = 1, 2, 3, 4
FILE_DIRECTORY_FILE = 0x01
FILE_NON_DIRECTORY_FILE = 0x40
FILE_OPENED = 1                         # 2.2.14 CreateAction
CLOSE_FLAG_POSTQUERY_ATTRIB = 0x0001    # 2.2.15
# 2.2.33 QUERY_DIRECTORY Flags.
RESTART_SCANS, RETURN_SINGLE_ENTRY, REOPEN = 0x01, 0x02, 0x10
INFO_FILE, INFO_FILESYSTEM = 1, 2      # 2.2.37 InfoType

# MS-FSCC 2.6 file attributes.
ATTR_DIRECTORY = 0x10
ATTR_ARCHIVE = 0x20

# Well-known FSCTLs, for the log (MS-FSCC 2.3, MS-SMB2 2.2.31).
FSCTL_NAMES = {0x001401FC: "FSCTL_QUERY_NETWORK_INTERFACE_INFO",
               0x00140204: "FSCTL_VALIDATE_NEGOTIATE_INFO",
               0x00060194: "FSCTL_DFS_GET_REFERRALS",
               0x000601B0: "FSCTL_DFS_GET_REFERRALS_EX",
               0x000900A8: "FSCTL_GET_REPARSE_POINT",
               0x0011C017: "FSCTL_PIPE_TRANSCEIVE",
               0x00144064: "FSCTL_SRV_ENUMERATE_SNAPSHOTS"}

HELLO = b"impostor\n"
SERVER_NAME = "IMPOSTOR"
SERVER_GUID = os.urandom(16)    # one per process: reconnects see the same


def filetime(unix):
    """MS-DTYP 2.3.3 FILETIME: 100 ns units since 1601-01-01."""
    return int((unix + 11644473600) * 10_000_000)


def align8(n):
    return (n + 7) & ~7


def pad8(b):
    return b + bytes(align8(len(b)) - len(b))


def utf16(s):
    return s.encode("utf-16-le")


def status_name(status):
    return STATUS_NAMES.get(status, f"0x{status:08x}")


# --- SPNEGO (RFC 4178 4.2) and NTLMSSP (MS-NLMP 2.2.1) ----------------------

OID_SPNEGO = bytes.fromhex("2b0601050502")              # 1.3.6.1.5.5.2
OID_NTLMSSP = bytes.fromhex("2b06010401823702020a")     # .311.2.2.10
NTLMSSP = b"NTLMSSP\x00"
NTLM_NEGOTIATE, NTLM_CHALLENGE, NTLM_AUTHENTICATE = 1, 2, 3
# MS-NLMP 2.2.2.5: the flags the challenge may echo back to the client.
NTLM_UNICODE = 0x00000001
NTLM_OEM = 0x00000002
NTLM_ECHOED = (0x00000001 | 0x00000004 | 0x00000010 | 0x00000020 |
               0x00000200 | 0x00008000 | 0x00080000 | 0x02000000 |
               0x20000000 | 0x40000000 | 0x80000000)
NTLM_TARGET_TYPE_SERVER = 0x00020000
NTLM_TARGET_INFO = 0x00800000


def der(tag, content):
    """One DER TLV (X.690 8.1: definite length, short or long form)."""
    n = len(content)
    if n < 0x80:
        length = bytes([n])
    else:
        raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(raw)]) + raw
    return bytes([tag]) + length + content


def spnego_init_token():
    """The NEGOTIATE response's security buffer: a GSS-API initial context
    token (RFC 2743 3.1, [APPLICATION 0]) holding an RFC 4178 NegTokenInit
    ([0]) whose mechTypes ([0] SEQUENCE OF OID) offer NTLMSSP only."""
    mech_types = der(0xA0, der(0x30, der(0x06, OID_NTLMSSP)))
    return der(0x60, der(0x06, OID_SPNEGO) +
               der(0xA0, der(0x30, mech_types)))


def spnego_resp_token(neg_state, token=None):
    """RFC 4178 4.2.2 NegTokenResp ([1] SEQUENCE): negState [0] ENUMERATED
    (0 accept-completed, 1 accept-incomplete), supportedMech [1] NTLMSSP
    with the first answer, responseToken [2] OCTET STRING."""
    parts = der(0xA0, der(0x0A, bytes([neg_state])))
    if token is not None:
        parts += der(0xA1, der(0x06, OID_NTLMSSP))
        parts += der(0xA2, der(0x04, token))
    return der(0xA1, der(0x30, parts))


def av_pairs(pairs):
    """MS-NLMP 2.2.2.1 AV_PAIR list, MsvAvEOL appended."""
    out = b""
    for av_id, value in pairs:
        out += struct.pack("<HH", av_id, len(value)) + value
    return out + struct.pack("<HH", 0, 0)


def ntlm_challenge(client_flags, server_challenge, now):
    """MS-NLMP 2.2.1.2 CHALLENGE_MESSAGE: Signature, MessageType,
    TargetNameFields, NegotiateFlags, ServerChallenge, Reserved(8),
    TargetInfoFields, Version, then the payload (TargetName, TargetInfo).
    The flags echo what the client asked for among NTLM_ECHOED, Unicode
    over OEM (3.2.5.1.1)."""
    flags = (client_flags & NTLM_ECHOED) | NTLM_TARGET_TYPE_SERVER | \
        NTLM_TARGET_INFO
    if not client_flags & NTLM_UNICODE and client_flags & NTLM_OEM:
        flags |= NTLM_OEM
    name = utf16(SERVER_NAME) if flags & NTLM_UNICODE else \
        SERVER_NAME.encode("ascii")
    info = av_pairs(((2, utf16(SERVER_NAME)),           # MsvAvNbDomainName
                     (1, utf16(SERVER_NAME)),           # MsvAvNbComputerName
                     (4, utf16(SERVER_NAME.lower())),   # MsvAvDnsDomainName
                     (3, utf16(SERVER_NAME.lower())),   # MsvAvDnsComputerName
                     (7, struct.pack("<Q", filetime(now)))))  # MsvAvTimestamp
    fixed = 56
    version = struct.pack("<BBH3xB", 10, 0, 0, 0x0F)   # 2.2.2.10, rev 15
    return (NTLMSSP + struct.pack("<IHHII", NTLM_CHALLENGE, len(name),
                                  len(name), fixed, flags) +
            server_challenge + bytes(8) +
            struct.pack("<HHI", len(info), len(info), fixed + len(name)) +
            version + name + info)


def ntlm_authenticate_fields(msg):
    """From a 2.2.1.3 AUTHENTICATE_MESSAGE: (user, domain, workstation,
    NtChallengeResponse length), for the log only: nothing is checked."""
    flags = u32(msg, 60)

    def field(off):
        length, _, where = struct.unpack_from("<HHI", msg, off)
        raw = msg[where:where + length]
        return raw.decode("utf-16-le" if flags & NTLM_UNICODE else "latin-1",
                          errors="replace")
    nt_len = u16(msg, 20)
    return field(36), field(28), field(44), nt_len


# --- the file system it serves ----------------------------------------------

@dataclass
class Node:
    name: str           # "" is the share root
    is_dir: bool
    data: bytes = b""
    index: int = 0      # FileInternalInformation IndexNumber

    @property
    def attributes(self):
        return ATTR_DIRECTORY if self.is_dir else ATTR_ARCHIVE

    @property
    def allocation(self):
        return (len(self.data) + 4095) // 4096 * 4096


ROOT = Node("", True, index=0x100)
FILES = {"hello.txt": Node("hello.txt", False, HELLO, index=0x101)}


@dataclass
class Open:
    node: Node
    tree: int
    cursor: int = 0     # QUERY_DIRECTORY: entries already returned


def times(t):
    """Creation, LastAccess, LastWrite and Change time: all the same."""
    return struct.pack("<QQQQ", t, t, t, t)


def basic_info(node, t):
    """MS-FSCC 2.4.7 FileBasicInformation (40 bytes)."""
    return times(t) + struct.pack("<II", node.attributes, 0)


def standard_info(node):
    """MS-FSCC 2.4.41 FileStandardInformation (24 bytes)."""
    return struct.pack("<QQIBBH", node.allocation, len(node.data), 1, 0,
                       int(node.is_dir), 0)


def name_info(node):
    """MS-FSCC 2.4.27 FileNameInformation: the path from the share root."""
    name = utf16("\\" + node.name)
    return struct.pack("<I", len(name)) + name


def all_info(node, t):
    """MS-FSCC 2.4.2 FileAllInformation: Basic, Standard, Internal, Ea,
    Access, Position, Mode, Alignment and Name information in a row."""
    return (basic_info(node, t) + standard_info(node) +
            struct.pack("<QIIQII", node.index, 0, FULL_ACCESS, 0, 0, 0) +
            name_info(node))


def network_open_info(node, t):
    """MS-FSCC 2.4.29 FileNetworkOpenInformation (56 bytes)."""
    return times(t) + struct.pack("<QQII", node.allocation, len(node.data),
                                  node.attributes, 0)


# InfoClass -> (name, fixed size, builder(node, t)).  A variable-length
# class gets STATUS_BUFFER_OVERFLOW and a truncated answer when the
# client's buffer holds at least the fixed part (MS-SMB2 3.3.5.20.1).
FILE_INFO = {
    4: ("FileBasicInformation", 40, basic_info),
    5: ("FileStandardInformation", 24, lambda n, t: standard_info(n)),
    6: ("FileInternalInformation", 8,
        lambda n, t: struct.pack("<Q", n.index)),
    7: ("FileEaInformation", 4, lambda n, t: bytes(4)),
    8: ("FileAccessInformation", 4,
        lambda n, t: struct.pack("<I", FULL_ACCESS)),
    9: ("FileNameInformation", 4, lambda n, t: name_info(n)),
    14: ("FilePositionInformation", 8, lambda n, t: bytes(8)),
    16: ("FileModeInformation", 4, lambda n, t: bytes(4)),
    17: ("FileAlignmentInformation", 4, lambda n, t: bytes(4)),
    18: ("FileAllInformation", 100, all_info),
    34: ("FileNetworkOpenInformation", 56, network_open_info),
    35: ("FileAttributeTagInformation", 8,
         lambda n, t: struct.pack("<II", n.attributes, 0)),
}

VOLUME_LABEL = utf16("impostor")
FS_NAME = utf16("IMPOSTOR")
TOTAL_UNITS, FREE_UNITS, SECTORS_PER_UNIT, SECTOR = 1 << 20, 1 << 19, 8, 512
# MS-FSCC 2.5: FileSystemInformationClass -> (name, fixed size, builder).
FS_INFO = {
    1: ("FileFsVolumeInformation", 18, lambda t: struct.pack(
        "<QIIBB", t, 0x1A2B3C4D, len(VOLUME_LABEL), 0, 0) + VOLUME_LABEL),
    3: ("FileFsSizeInformation", 24, lambda t: struct.pack(
        "<QQII", TOTAL_UNITS, FREE_UNITS, SECTORS_PER_UNIT, SECTOR)),
    4: ("FileFsDeviceInformation", 8, lambda t: struct.pack(
        "<II", 0x00000007, 0)),     # FILE_DEVICE_DISK
    # CASE_SENSITIVE_SEARCH | CASE_PRESERVED_NAMES | UNICODE_ON_DISK
    5: ("FileFsAttributeInformation", 12, lambda t: struct.pack(
        "<III", 0x7, 255, len(FS_NAME)) + FS_NAME),
    7: ("FileFsFullSizeInformation", 32, lambda t: struct.pack(
        "<QQQII", TOTAL_UNITS, FREE_UNITS, FREE_UNITS, SECTORS_PER_UNIT,
        SECTOR)),
    8: ("FileFsObjectIdInformation", 64, lambda t: bytes(64)),
    11: ("FileFsSectorSizeInformation", 28, lambda t: struct.pack(
        "<7I", SECTOR, SECTOR, SECTOR, SECTOR, 0, 0, 0)),
}


def dir_entry(cls, node, name, t):
    """One MS-FSCC 2.4 directory entry of class cls, NextEntryOffset 0:
    FileDirectoryInformation (2.4.10), FileFullDirectoryInformation
    (2.4.14), FileBothDirectoryInformation (2.4.8), FileNamesInformation
    (2.4.28), FileIdBothDirectoryInformation (2.4.17) or
    FileIdFullDirectoryInformation (2.4.18); None for another class."""
    fname = utf16(name)
    if cls == 12:
        return struct.pack("<III", 0, 0, len(fname)) + fname
    common = struct.pack("<II", 0, 0) + times(t) + struct.pack(
        "<QQII", len(node.data), node.allocation, node.attributes,
        len(fname))
    tails = {1: b"",
             2: struct.pack("<I", 0),                               # EaSize
             3: struct.pack("<IBB24s", 0, 0, 0, b""),   # EaSize, ShortName
             37: struct.pack("<IBB24sHQ", 0, 0, 0, b"", 0, node.index),
             38: struct.pack("<IIQ", 0, 0, node.index)}
    if cls not in tails:
        return None
    return common + tails[cls] + fname


DIR_CLASSES = {1: "FileDirectoryInformation",
               2: "FileFullDirectoryInformation",
               3: "FileBothDirectoryInformation", 12: "FileNamesInformation",
               37: "FileIdBothDirectoryInformation",
               38: "FileIdFullDirectoryInformation"}


def listing():
    """The share root's entries, in the order QUERY_DIRECTORY gives them."""
    return [(".", ROOT), ("..", ROOT)] + [(n.name, n) for n in FILES.values()]


# --- responses --------------------------------------------------------------

@dataclass
class Reply:
    """What one received frame produces."""
    pdus: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    hangup: bool = False


@dataclass
class Related:
    """What a related compound operation takes from the one before it
    (3.3.5.2.7.2)."""
    sid: int = 0
    tid: int = 0
    fid: bytes | None = None
    failed: int | None = None   # status of a failed CREATE before it


@dataclass
class Answer:
    """One handler's result: Status, the body after the header (None means
    a 2.2.2 ERROR response), a log text, and a FileId it created."""
    status: int
    body: bytes | None = None
    text: str = ""
    file_id: bytes | None = None


def error_body():
    """2.2.2 ERROR response: StructureSize 9, ErrorContextCount 0,
    Reserved, ByteCount 0, and the one byte ErrorData has then."""
    return struct.pack("<HBBIB", 9, 0, 0, 0, 0)


def response_header(req, status, session_id, tree_id):
    """2.2.1.2 SYNC header answering req: CreditCharge, Command, MessageId
    and the Reserved (ProcessId) field copied, credits granted as asked
    (at least 1, 3.3.1.2), never signed: the impostor has no key."""
    granted = max(1, min(u16(req, H_CREDITS), 512))
    flags = FLAG_SERVER_TO_REDIR | (u32(req, H_FLAGS) & FLAG_RELATED)
    return (SMB2_MAGIC + struct.pack(
        "<HHIHHII", HDR_LEN, u16(req, H_CREDIT_CHARGE), status,
        u16(req, H_COMMAND), granted, flags, 0) +
        req[H_MID:H_MID + 12] + struct.pack("<IQ", tree_id, session_id) +
        bytes(16))


def variable_body(fixed, buffer):
    """A 2.2.6 / 2.2.34 / 2.2.38 body: StructureSize 9 (8 fixed bytes
    and the buffer's first), the fixed fields, the buffer; an empty buffer
    is sent as the single byte StructureSize counts."""
    return struct.pack("<H", 9) + fixed + (buffer or b"\x00")


class Impostor:
    """One client connection's fake server."""

    def __init__(self, now=None, challenge=None, guid=SERVER_GUID):
        self.now = time.time() if now is None else now
        self.ft = filetime(self.now)
        self.challenge = challenge or os.urandom(8)
        self.guid = guid
        self.dialect = None
        self.session_id = 0         # set by the first SESSION_SETUP
        self.authenticated = False
        self.spnego = False         # the client wraps NTLMSSP in SPNEGO
        self.trees = {}             # TreeId -> share name
        self.next_tree = 1
        self.opens = {}             # FileId (16 bytes) -> Open
        self.next_file = 1
        self.counts = Counter()

    # -- framing --

    def receive(self, ftype, payload):
        """Answer one direct-TCP frame (2.1): a PDU or a compound chain."""
        if ftype != 0 or payload[:4] != SMB2_MAGIC or len(payload) < HDR_LEN:
            what = {SMB1_MAGIC: "an SMB1 request",
                    TRANSFORM_MAGIC: "an encrypted (TRANSFORM) message"}.get(
                        payload[:4], f"frame type {ftype}, not SMB2")
            return Reply(notes=[f"{what}: not answered, hanging up"],
                         hangup=True)
        if u32(payload, H_FLAGS) & FLAG_SERVER_TO_REDIR:
            return Reply(notes=["a response from the client: hanging up"],
                         hangup=True)
        reply = Reply()
        chained = u32(payload, H_NEXT) != 0
        related = Related()
        answers = []
        off = 0
        while True:
            nxt = chain_next(payload, off)
            if nxt is None:
                # 3.3.5.2.7: a misaligned or broken chain: disconnect.
                reply.notes.append(f"compound member at {off} is broken: "
                                   "hanging up")
                reply.hangup = True
                break
            end = off + nxt if nxt else len(payload)
            rsp, note = self.answer_one(payload[off:end], related, chained)
            reply.notes.append(note)
            if rsp is not None:
                answers.append(rsp)
            if not nxt:
                break
            off = end
        # 3.3.4.1.3: a compound response keeps every member but the last
        # 8-byte aligned, NextCommand pointing at the next one.
        out = b""
        for i, rsp in enumerate(answers):
            if i < len(answers) - 1:
                rsp = bytearray(pad8(rsp))
                struct.pack_into("<I", rsp, H_NEXT, len(rsp))
            out += rsp
        if out:
            reply.pdus.append(bytes(out))
        return reply

    def answer_one(self, req, related, chained):
        """(response PDU or None, log line) for one request of a chain."""
        cmd = u16(req, H_COMMAND)
        name = CMD_NAMES[cmd] if cmd < len(CMD_NAMES) else f"0x{cmd:04x}"
        self.counts[name] += 1
        is_related = bool(u32(req, H_FLAGS) & FLAG_RELATED)
        req = bytearray(req)
        sid, tid = u64(req, H_SID), u32(req, H_TID)
        answer = None
        fid_off = FILE_ID_OFFSET.get(cmd)
        if is_related:
            # 3.3.5.2.7.2: a related operation works on the previous one's
            # SessionId, TreeId and (given as all ones) FileId.
            sid, tid = related.sid, related.tid
            if fid_off is not None and \
                    req[fid_off:fid_off + 16] == b"\xff" * 16:
                if related.failed is not None:
                    answer = Answer(related.failed, text="the CREATE it "
                                    "relates to failed")
                elif related.fid is None:
                    answer = Answer(STATUS_INVALID_HANDLE, text="no FileId "
                                    "to relate to")
                else:
                    req[fid_off:fid_off + 16] = related.fid
        req = bytes(req)
        if cmd == CANCEL:
            return None, "CANCEL req: nothing is pending, no answer (2.2.30)"
        if answer is None:
            answer = self.dispatch(cmd, req, sid, tid)
        if cmd == SESSION_SETUP:
            sid = self.session_id
        elif cmd == TREE_CONNECT and answer.status == STATUS_SUCCESS:
            tid = self.next_tree - 1
        related.sid, related.tid = sid, tid
        if cmd == CREATE:
            # Only a failed CREATE fails the rest of its chain: a failed
            # QUERY_INFO must not keep the CLOSE after it from closing.
            related.fid = answer.file_id
            related.failed = None if answer.file_id else answer.status
        elif fid_off is not None and answer.status == STATUS_SUCCESS:
            related.fid, related.failed = req[fid_off:fid_off + 16], None
        body = answer.body if answer.body is not None else error_body()
        rsp = response_header(req, answer.status,
                              0 if cmd == NEGOTIATE else sid, tid) + body
        text = (f"{name} req MessageId {u64(req, H_MID)}" +
                (" signed" if u32(req, H_FLAGS) & FLAG_SIGNED else "") +
                (f" (compound{', related' if is_related else ''})"
                 if chained else "") +
                (f" {answer.text}" if answer.text else "") +
                f" -> {status_name(answer.status)}, unsigned")
        return rsp, text

    def dispatch(self, cmd, req, sid, tid):
        if cmd != NEGOTIATE and self.dialect is None:
            return Answer(STATUS_INVALID_PARAMETER, text="before NEGOTIATE")
        if cmd not in (NEGOTIATE, SESSION_SETUP, ECHO) and \
                (not self.authenticated or sid != self.session_id):
            return Answer(STATUS_USER_SESSION_DELETED,
                          text=f"unknown SessionId 0x{sid:x}")
        if cmd in TREE_COMMANDS and tid not in self.trees:
            return Answer(STATUS_NETWORK_NAME_DELETED,
                          text=f"unknown TreeId 0x{tid:x}")
        handler = HANDLERS.get(cmd)
        if handler is None:
            return Answer(DENIED_COMMANDS.get(cmd, STATUS_NOT_SUPPORTED),
                          text="not served")
        try:
            return handler(self, req, tid)
        except (struct.error, IndexError, ValueError) as e:
            return Answer(STATUS_INVALID_PARAMETER, text=f"unparsable ({e})")

    # -- 2.2.3 / 2.2.4 NEGOTIATE --

    def negotiate(self, req, tid):
        b = HDR_LEN
        count = u16(req, b + 2)
        offered = struct.unpack_from(f"<{count}H", req, b + 36)
        common = [d for d in offered if d in DIALECTS]
        if self.dialect is not None or not common:
            return Answer(STATUS_NOT_SUPPORTED,
                          text=f"dialects {hexlist(offered)}: none served "
                          "or a second NEGOTIATE")
        self.dialect = max(common)
        blob = spnego_init_token()
        sec_off = HDR_LEN + 64
        contexts, count, ctx_text = b"", 0, ""
        if self.dialect == SMB311:
            contexts, count, ctx_text = self.negotiate_contexts(req)
        # 2.2.4: the first context 8-byte aligned after the security
        # buffer; NegotiateContextCount/Offset are Reserved before 3.1.1.
        ctx_off = align8(sec_off + len(blob)) if contexts else 0
        fixed = struct.pack(
            "<HHH16sIIIIQQHHI", SECMODE_SIGNING_ENABLED, self.dialect,
            count, self.guid, 0, MAX_IO, MAX_IO, MAX_IO, self.ft, 0,
            sec_off, len(blob), ctx_off)
        buf = pad8(blob) + contexts if contexts else blob
        return Answer(STATUS_SUCCESS, struct.pack("<H", 65) + fixed + buf,
                      text=f"dialects {hexlist(offered)}: chose "
                      f"0x{self.dialect:04x}, SecurityMode SIGNING_ENABLED, "
                      f"Capabilities 0, SPNEGO offering NTLMSSP{ctx_text}")

    def negotiate_contexts(self, req):
        """2.2.3.1 the client's contexts -> 2.2.4's response contexts:
        SHA-512 preauth integrity with a 32-byte salt (2.2.3.1.1), and
        the client's first cipher if it sent an encryption context
        (2.2.3.1.2).  Others are not answered."""
        off = u32(req, HDR_LEN + 28)
        n = u16(req, HDR_LEN + 32)
        seen, cipher = [], None
        for _ in range(n):
            ctype, length = struct.unpack_from("<HH", req, off)
            data = req[off + 8:off + 8 + length]
            seen.append(CONTEXT_NAMES.get(ctype, f"0x{ctype:04x}"))
            if ctype == ENCRYPTION_CAPABILITIES:
                ciphers = struct.unpack_from(f"<{u16(data, 0)}H", data, 2)
                cipher = next((c for c in ciphers if c in CIPHERS), 0)
            off = align8(off + 8 + length)
        out = [(PREAUTH_INTEGRITY_CAPABILITIES,
                struct.pack("<HHH", 1, 32, HASH_SHA512) + os.urandom(32))]
        text = f"; contexts seen {','.join(seen) or 'none'}; answered " \
            "PREAUTH_INTEGRITY(SHA-512)"
        if cipher is not None:
            out.append((ENCRYPTION_CAPABILITIES, struct.pack("<HH", 1,
                                                             cipher)))
            text += f", ENCRYPTION({CIPHERS.get(cipher, 'none in common')})"
        blob = b""
        for i, (ctype, data) in enumerate(out):
            one = struct.pack("<HHI", ctype, len(data), 0) + data
            blob += pad8(one) if i < len(out) - 1 else one
        return blob, len(out), text

    # -- 2.2.5 / 2.2.6 SESSION_SETUP --

    def session_setup(self, req, tid):
        """NTLMSSP NEGOTIATE -> CHALLENGE, AUTHENTICATE -> success without
        any check.  The answer is wrapped as the request was: Samba's
        client wraps NTLMSSP in SPNEGO, Linux cifs sends it raw and
        refuses a SPNEGO answer to that ("blob signature incorrect",
        EINVAL; measured on Debian 12's 6.1 kernel)."""
        off, length = u16(req, HDR_LEN + 12), u16(req, HDR_LEN + 14)
        blob = req[off:off + length]
        i = blob.find(NTLMSSP)
        if i < 0:
            return Answer(STATUS_LOGON_FAILURE, text="no NTLMSSP in the "
                          "security buffer (Kerberos?): refused")
        msg = blob[i:]
        self.spnego = blob[:1] in (b"\x60", b"\xa1")
        wrap = "SPNEGO" if self.spnego else "raw"
        mtype = u32(msg, 8)
        if mtype == NTLM_NEGOTIATE:
            if not self.session_id:
                self.session_id = struct.unpack("<Q", os.urandom(8))[0] | 1
            chal = ntlm_challenge(u32(msg, 12), self.challenge, self.now)
            token = spnego_resp_token(1, chal) if self.spnego else chal
            return Answer(
                STATUS_MORE_PROCESSING_REQUIRED,
                self.session_body(token),
                text=f"NTLMSSP NEGOTIATE ({wrap}, flags "
                f"0x{u32(msg, 12):08x}) -> CHALLENGE ({wrap}), SessionId "
                f"0x{self.session_id:x}")
        if mtype == NTLM_AUTHENTICATE:
            user, dom, ws, nt_len = ntlm_authenticate_fields(msg)
            self.authenticated = True
            token = spnego_resp_token(0) if self.spnego else b""
            return Answer(STATUS_SUCCESS, self.session_body(token),
                          text=f"NTLMSSP AUTHENTICATE ({wrap}) user "
                          f"{user!r} domain {dom!r} workstation {ws!r} "
                          f"NtChallengeResponse {nt_len} bytes: accepted "
                          "unchecked, SessionFlags 0")
        return Answer(STATUS_LOGON_FAILURE,
                      text=f"NTLMSSP message type {mtype}: refused")

    def session_body(self, token):
        """2.2.6: SessionFlags 0, the security buffer after the 8 fixed
        bytes."""
        return variable_body(struct.pack("<HHH", 0, HDR_LEN + 8,
                                         len(token)), token)

    def logoff(self, req, tid):
        self.authenticated = False
        self.trees.clear()
        self.opens.clear()
        return Answer(STATUS_SUCCESS, struct.pack("<HH", 4, 0))    # 2.2.8

    # -- 2.2.9 / 2.2.10 TREE_CONNECT --

    def tree_connect(self, req, tid):
        off, length = u16(req, HDR_LEN + 4), u16(req, HDR_LEN + 6)
        path = req[off:off + length].decode("utf-16-le", errors="replace")
        share = path.rsplit("\\", 1)[-1]
        ipc = share.upper() == "IPC$"
        new = self.next_tree
        self.next_tree += 1
        self.trees[new] = share
        kind = SHARE_TYPE_PIPE if ipc else SHARE_TYPE_DISK
        return Answer(STATUS_SUCCESS,
                      struct.pack("<HBBIII", 16, kind, 0, 0, 0, FULL_ACCESS),
                      text=f"{path!r} -> TreeId 0x{new:x} "
                      f"{'PIPE' if ipc else 'DISK'}")

    def tree_disconnect(self, req, tid):
        self.trees.pop(tid, None)
        for fid in [f for f, o in self.opens.items() if o.tree == tid]:
            del self.opens[fid]
        return Answer(STATUS_SUCCESS, struct.pack("<HH", 4, 0))    # 2.2.12

    # -- 2.2.13 / 2.2.14 CREATE, 2.2.15 / 2.2.16 CLOSE --

    def create(self, req, tid):
        b = HDR_LEN
        access, disposition, options = (u32(req, b + 24), u32(req, b + 36),
                                        u32(req, b + 40))
        off, length = u16(req, b + 44), u16(req, b + 46)
        name = req[off:off + length].decode("utf-16-le",
                                            errors="replace").lstrip("\\")
        text = f"{name!r} access 0x{access:08x} disposition " \
            f"{disposition} options 0x{options:08x}" + \
            create_context_names(req)
        if self.trees[tid].upper() == "IPC$":
            return Answer(STATUS_OBJECT_NAME_NOT_FOUND, text=text + " (IPC$)")
        node = ROOT if name == "" else FILES.get(name.lower())
        if node is None:
            status = STATUS_OBJECT_NAME_NOT_FOUND \
                if disposition in (FILE_OPEN, FILE_OVERWRITE) \
                else STATUS_ACCESS_DENIED
            return Answer(status, text=text)
        if disposition == FILE_CREATE:
            return Answer(STATUS_OBJECT_NAME_COLLISION, text=text)
        if disposition not in (FILE_OPEN, FILE_OPEN_IF):
            return Answer(STATUS_ACCESS_DENIED, text=text + " (read-only)")
        if options & FILE_DIRECTORY_FILE and not node.is_dir:
            return Answer(STATUS_NOT_A_DIRECTORY, text=text)
        if options & FILE_NON_DIRECTORY_FILE and node.is_dir:
            return Answer(STATUS_FILE_IS_A_DIRECTORY, text=text)
        fid = struct.pack("<QQ", self.next_file, 0x1000 + self.next_file)
        self.next_file += 1
        self.opens[fid] = Open(node, tid)
        body = struct.pack("<HBBI", 89, 0, 0, FILE_OPENED) + times(self.ft) + \
            struct.pack("<QQII16sII", node.allocation, len(node.data),
                        node.attributes, 0, fid, 0, 0) + b"\x00"
        return Answer(STATUS_SUCCESS, body, file_id=fid,
                      text=text + f" -> FileId {fid.hex()}, OplockLevel 0, "
                      "no create contexts")

    def close(self, req, tid):
        flags, fid = u16(req, HDR_LEN + 2), req[HDR_LEN + 8:HDR_LEN + 24]
        o = self.opens.pop(fid, None)
        if o is None:
            return Answer(STATUS_INVALID_HANDLE, text=f"FileId {fid.hex()}")
        attrs = bytes(52)
        if flags & CLOSE_FLAG_POSTQUERY_ATTRIB:
            attrs = times(self.ft) + struct.pack(
                "<QQI", o.node.allocation, len(o.node.data), o.node.attributes)
        return Answer(STATUS_SUCCESS, struct.pack("<HHI", 60, flags, 0) +
                      attrs, text=f"{o.node.name!r}")

    def lookup(self, req, off, tid):
        fid = req[off:off + 16]
        o = self.opens.get(fid)
        return (o, None) if o is not None and o.tree == tid else \
            (None, Answer(STATUS_INVALID_HANDLE, text=f"FileId {fid.hex()}"))

    # -- 2.2.19 / 2.2.20 READ --

    def read(self, req, tid):
        o, err = self.lookup(req, HDR_LEN + 16, tid)
        if err:
            return err
        length, offset = u32(req, HDR_LEN + 4), u64(req, HDR_LEN + 8)
        minimum = u32(req, HDR_LEN + 32)
        text = f"{o.node.name!r} offset {offset} length {length}"
        if o.node.is_dir:
            return Answer(STATUS_INVALID_DEVICE_REQUEST, text=text)
        data = o.node.data[offset:offset + length]
        if not data or len(data) < minimum:
            return Answer(STATUS_END_OF_FILE, text=text)
        # DataOffset 0x50: the data right after the 16 fixed bytes.
        body = struct.pack("<HBBIII", 17, HDR_LEN + 16, 0, len(data), 0, 0)
        return Answer(STATUS_SUCCESS, body + data,
                      text=text + f": {len(data)} bytes")

    # -- 2.2.37 / 2.2.38 QUERY_INFO --

    def query_info(self, req, tid):
        b = HDR_LEN
        itype, cls, out_len = req[b + 2], req[b + 3], u32(req, b + 4)
        o, err = self.lookup(req, b + 24, tid)
        if err:
            return err
        if itype == INFO_FILE and cls in FILE_INFO:
            cname, fixed, build = FILE_INFO[cls]
            data = build(o.node, self.ft)
        elif itype == INFO_FILESYSTEM and cls in FS_INFO:
            cname, fixed, build = FS_INFO[cls]
            data = build(self.ft)
        else:
            return Answer(STATUS_NOT_SUPPORTED,
                          text=f"InfoType {itype} class {cls}")
        text = f"{cname} of {o.node.name!r}"
        if out_len < fixed:
            return Answer(STATUS_INFO_LENGTH_MISMATCH,
                          text=text + f" (buffer {out_len})")
        status = STATUS_SUCCESS
        if len(data) > out_len:
            data, status = data[:out_len], STATUS_BUFFER_OVERFLOW
        return Answer(status, self.info_body(data),
                      text=text + f": {len(data)} bytes")

    def info_body(self, data):
        """2.2.38 / 2.2.34: OutputBufferOffset, OutputBufferLength, data."""
        return variable_body(struct.pack("<HI", HDR_LEN + 8, len(data)),
                             data)

    # -- 2.2.33 / 2.2.34 QUERY_DIRECTORY --

    def query_directory(self, req, tid):
        b = HDR_LEN
        cls, flags = req[b + 2], req[b + 3]
        o, err = self.lookup(req, b + 8, tid)
        if err:
            return err
        off, length = u16(req, b + 24), u16(req, b + 26)
        pattern = req[off:off + length].decode("utf-16-le", errors="replace")
        out_len = u32(req, b + 28)
        text = f"{DIR_CLASSES.get(cls, f'class {cls}')} {pattern!r}"
        if not o.node.is_dir:
            return Answer(STATUS_INVALID_PARAMETER, text=text)
        if cls not in DIR_CLASSES:
            return Answer(STATUS_NOT_SUPPORTED, text=text)
        if flags & (RESTART_SCANS | REOPEN):
            o.cursor = 0
        match = [(n, node) for n, node in listing()
                 if fnmatch.fnmatchcase(n.lower(), (pattern or "*").lower())]
        first = o.cursor == 0
        entries, size = [], 0
        for n, node in match[o.cursor:]:
            e = dir_entry(cls, node, n, self.ft)
            if align8(size) + len(e) > out_len or \
                    (entries and flags & RETURN_SINGLE_ENTRY):
                break
            entries.append(e)
            size = align8(size) + len(e)
        o.cursor += len(entries)
        if not entries:
            status = STATUS_NO_SUCH_FILE if first else STATUS_NO_MORE_FILES
            return Answer(status, text=text)
        # MS-FSCC 2.4: entries 8-byte aligned, each NextEntryOffset
        # pointing at the next one, the last one's 0.
        out = b""
        for i, e in enumerate(entries):
            if i < len(entries) - 1:
                e = bytearray(pad8(e))
                struct.pack_into("<I", e, 0, len(e))
            out += e
        return Answer(STATUS_SUCCESS, self.info_body(bytes(out)),
                      text=text + f": {len(entries)} entries")

    # -- 2.2.31 IOCTL: none served --

    def ioctl(self, req, tid):
        ctl = u32(req, HDR_LEN + 4)
        return Answer(STATUS_NOT_SUPPORTED,
                      text=FSCTL_NAMES.get(ctl, f"CtlCode 0x{ctl:08x}"))

    def echo(self, req, tid):
        return Answer(STATUS_SUCCESS, struct.pack("<HH", 4, 0))    # 2.2.29

    def flush(self, req, tid):
        o, err = self.lookup(req, HDR_LEN + 8, tid)
        return err or Answer(STATUS_SUCCESS, struct.pack("<HH", 4, 0))

    def summary(self):
        return " ".join(f"{k}={v}" for k, v in sorted(self.counts.items())) \
            or "nothing"


def chain_next(payload, off):
    """NextCommand of the SMB2 header at off (0: the last one), or None
    when no whole header is there or NextCommand points at no whole,
    8-byte aligned header (3.2.4.1.4)."""
    if len(payload) - off < HDR_LEN or payload[off:off + 4] != SMB2_MAGIC:
        return None
    nxt = u32(payload, off + H_NEXT)
    if nxt and (nxt % 8 or nxt < HDR_LEN or off + nxt > len(payload)):
        return None
    return nxt


def hexlist(values):
    return ",".join(f"0x{v:04x}" for v in values)


def create_context_names(req):
    """The names of a CREATE request's create contexts (2.2.13.2), for the
    log; the impostor answers none of them."""
    off, length = u32(req, HDR_LEN + 48), u32(req, HDR_LEN + 52)
    names = []
    while length and off + 16 <= len(req) and len(names) < 16:
        nxt, noff, nlen = struct.unpack_from("<IHH", req, off)
        names.append(req[off + noff:off + noff + nlen].decode(
            "ascii", errors="replace"))
        if not nxt:
            break
        off += nxt
    return f" contexts {','.join(names)}" if names else ""


# Where a request carries its FileId (offset from the header start), for
# the related operations of 3.3.5.2.7.2.
FILE_ID_OFFSET = {CLOSE: HDR_LEN + 8, FLUSH: HDR_LEN + 8, READ: HDR_LEN + 16,
                  WRITE: HDR_LEN + 16, LOCK: HDR_LEN + 8, IOCTL: HDR_LEN + 8,
                  QUERY_DIRECTORY: HDR_LEN + 8, CHANGE_NOTIFY: HDR_LEN + 8,
                  QUERY_INFO: HDR_LEN + 24, SET_INFO: HDR_LEN + 16}
TREE_COMMANDS = {TREE_DISCONNECT, CREATE, CLOSE, FLUSH, READ, WRITE, LOCK,
                 IOCTL, QUERY_DIRECTORY, CHANGE_NOTIFY, QUERY_INFO, SET_INFO}
HANDLERS = {NEGOTIATE: Impostor.negotiate,
            SESSION_SETUP: Impostor.session_setup,
            LOGOFF: Impostor.logoff, TREE_CONNECT: Impostor.tree_connect,
            TREE_DISCONNECT: Impostor.tree_disconnect,
            CREATE: Impostor.create, CLOSE: Impostor.close,
            FLUSH: Impostor.flush, READ: Impostor.read, IOCTL: Impostor.ioctl,
            ECHO: Impostor.echo, QUERY_DIRECTORY: Impostor.query_directory,
            QUERY_INFO: Impostor.query_info}
# The share is read-only; everything else not in HANDLERS is not supported.
DENIED_COMMANDS = {WRITE: STATUS_ACCESS_DENIED, SET_INFO: STATUS_ACCESS_DENIED}
