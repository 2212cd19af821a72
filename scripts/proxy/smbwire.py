# SPDX-License-Identifier: GPL-2.0-only
"""smbwire - little-endian field access for SMB2 PDUs (MS-SMB2 1.3: every
multi-byte field is little-endian), shared by the tamper proxy and the
fake server it can play."""

import struct

SMB2_MAGIC = b"\xfeSMB"
SMB1_MAGIC = b"\xffSMB"
TRANSFORM_MAGIC = b"\xfdSMB"
HDR_LEN = 64

# SMB2 header field offsets (MS-SMB2 2.2.1).
H_CREDIT_CHARGE = 6
H_STATUS = 8
H_COMMAND = 12
H_CREDITS = 14
H_FLAGS = 16
H_NEXT = 20
H_MID = 24
H_PID = 32
H_TID = 36
H_SID = 40
H_SIG = 48


def u16(b, off):
    return struct.unpack_from("<H", b, off)[0]


def u32(b, off):
    return struct.unpack_from("<I", b, off)[0]


def u64(b, off):
    return struct.unpack_from("<Q", b, off)[0]


def put_u16(b, off, v):
    struct.pack_into("<H", b, off, v)


def put_u32(b, off, v):
    struct.pack_into("<I", b, off, v)
