# SPDX-License-Identifier: GPL-2.0-only
"""smbwire - little-endian field access for SMB2 PDUs (MS-SMB2 1.3: every
multi-byte field is little-endian), shared by the tamper proxy and the
fake server it can play."""

import struct


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
