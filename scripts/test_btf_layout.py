#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Self-test for btf-layout.py.

Kernel images: synthetic bzImages whose payload is an ELF stub compressed
the way Kbuild compresses the kernel, once per CONFIG_KERNEL_* format,
and every real kernel image unpacked under .cache (.cache/k/<rel> and
.cache/*/k/<rel>; SMBVN_KERNEL_IMAGES adds more, colon-separated).

Run: python3 scripts/test_btf_layout.py [-v]"""

import glob
import importlib.util
import os
import struct
import subprocess
import unittest
from unittest import mock

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
_spec = importlib.util.spec_from_file_location(
    "btf_layout", os.path.join(HERE, "btf-layout.py"))
bl = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bl)

# An ELF stub big enough for several compressor blocks, not all of it
# alike so that the compressors have something to do.
ELF_STUB = b"\x7fELF\x02\x01\x01" + b"".join(
    struct.pack("<I", (i * 2654435761) & 0xFFFFFFFF) if i % 3 else
    b"smbvn\0\0\0" for i in range(60000))

# The compressor command line per format, as Kbuild runs it for
# arch/x86/boot/compressed (scripts/Makefile.lib), and whether Kbuild
# appends the le32 uncompressed size (gzip's own trailer holds it).
KBUILD = {
    "gzip": (["gzip", "-n", "-9", "-c"], False),
    "bzip2": (["bzip2", "-9", "-c"], True),
    "lzma": (["lzma", "-9", "-c"], True),
    "xz": (["xz", "--check=crc32", "--x86", "--lzma2=preset=6", "-c"], True),
    "lzo": (["lzop", "-9", "-c"], True),
    "lz4": (["lz4", "-l", "-9", "-c"], True),
    "zstd": (["zstd", "-19", "-c"], True),
}


def compress(kind, data):
    argv, size_append = KBUILD[kind]
    out = subprocess.run(argv, input=data, capture_output=True,
                         check=True).stdout
    return out + (struct.pack("<I", len(data)) if size_append else b"")


def bzimage(payload, setup_sects=3, version=0x20F, junk=b"\xcc" * 700):
    """A bzImage: boot sector and setup sectors with the setup header,
    then the protected-mode part: decompressor stand-in, payload, more
    code after it."""
    setup = bytearray((setup_sects + 1) * 512)
    setup[bl.HDR_SETUP_SECTS] = setup_sects
    setup[bl.HDR_MAGIC:bl.HDR_MAGIC + 4] = b"HdrS"
    struct.pack_into("<H", setup, bl.HDR_VERSION, version)
    struct.pack_into("<II", setup, bl.HDR_PAYLOAD, len(junk), len(payload))
    return bytes(setup) + junk + payload + b"\x90" * 333


class Extract(unittest.TestCase):
    def test_every_kernel_compression(self):
        self.assertEqual(sorted(KBUILD),
                         sorted(k for _, k in bl.COMPRESSION))
        for kind in KBUILD:
            with self.subTest(kind=kind):
                img = bzimage(compress(kind, ELF_STUB))
                self.assertEqual(bl.vmlinux_from_bzimage(img), ELF_STUB)

    def test_zero_setup_sects_means_four(self):
        img = bzimage(compress("xz", ELF_STUB), setup_sects=4)
        img = img[:bl.HDR_SETUP_SECTS] + b"\0" + img[bl.HDR_SETUP_SECTS + 1:]
        self.assertEqual(bl.vmlinux_from_bzimage(img), ELF_STUB)

    def test_payload_found_by_header_not_by_search(self):
        # A decompressor stand-in that holds a gzip magic and a zstd
        # frame of something else: only the header says where to look.
        decoy = compress("zstd", b"\x7fELF decoy")
        junk = b"\x1f\x8b\x08" + decoy + b"\xcc" * 100
        img = bzimage(compress("lz4", ELF_STUB), junk=junk)
        self.assertEqual(bl.vmlinux_from_bzimage(img), ELF_STUB)

    def test_unknown_format_named(self):
        img = bzimage(b"\x42\x42\x42\x42" + b"\0" * 64)
        with self.assertRaisesRegex(ValueError, "unknown compression format "
                                    r"\(magic 42 42 42 42\)"):
            bl.vmlinux_from_bzimage(img)

    def test_not_a_bzimage(self):
        with self.assertRaisesRegex(ValueError, "no 'HdrS'"):
            bl.vmlinux_from_bzimage(b"\0" * 4096)

    def test_old_boot_protocol(self):
        img = bzimage(compress("gzip", ELF_STUB), version=0x207)
        with self.assertRaisesRegex(ValueError, r"2\.07 has no payload"):
            bl.vmlinux_from_bzimage(img)

    def test_payload_past_end(self):
        img = bytearray(bzimage(compress("gzip", ELF_STUB)))
        struct.pack_into("<I", img, bl.HDR_PAYLOAD + 4, len(img))
        with self.assertRaisesRegex(ValueError, "outside"):
            bl.vmlinux_from_bzimage(bytes(img))

    def test_size_field_checked(self):
        payload = compress("zstd", ELF_STUB)[:-4] + struct.pack("<I", 7)
        with self.assertRaisesRegex(ValueError, "size field says 7"):
            bl.vmlinux_from_bzimage(bzimage(payload))

    def test_corrupt_stream(self):
        payload = bytearray(compress("bzip2", ELF_STUB))
        payload[40:60] = b"\0" * 20
        with self.assertRaisesRegex(ValueError, "bzip2"):
            bl.vmlinux_from_bzimage(bzimage(bytes(payload)))

    def test_missing_tool_named(self):
        img = bzimage(compress("lz4", ELF_STUB))
        with mock.patch.dict(os.environ, {"PATH": "/nonexistent"}):
            with self.assertRaisesRegex(ValueError, "'lz4' is missing"):
                bl.vmlinux_from_bzimage(img)

    def test_not_elf(self):
        img = bzimage(compress("gzip", b"MZ not a kernel"))
        with self.assertRaisesRegex(ValueError, "not an ELF"):
            bl.vmlinux_from_bzimage(img)


def real_images():
    paths = glob.glob(os.path.join(TOP, ".cache/k/*/boot/vmlinuz-*"))
    paths += glob.glob(os.path.join(TOP, ".cache/*/k/*/boot/vmlinuz-*"))
    extra = os.environ.get("SMBVN_KERNEL_IMAGES", "")
    return sorted(set(paths + [p for p in extra.split(":") if p]))


class RealImages(unittest.TestCase):
    def test_real_kernel_images(self):
        paths = real_images()
        if not paths:
            self.skipTest("no kernel image under .cache")
        for path in paths:
            with self.subTest(image=os.path.basename(path)):
                with open(path, "rb") as f:
                    elf = bl.vmlinux_from_bzimage(f.read())
                self.assertEqual(elf[:4], b"\x7fELF")


if __name__ == "__main__":
    unittest.main()
