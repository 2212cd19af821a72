#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Self-test for btf-layout.py.

Layout: a crafted kernel and cifs.ko, compiled from C here with gcc -g and
given BTF by pahole (the module's split on the kernel's, as Kbuild does),
run through the generator: every offset and size must be what gcc itself
says, and a cifs.ko with a mutated member type, size or prototype must make
generation fail, or the header refuse the module, naming the reason.

Kernel images: synthetic bzImages whose payload is an ELF stub compressed
the way Kbuild compresses the kernel, once per CONFIG_KERNEL_* format,
and every real kernel image unpacked under .cache (.cache/k/<rel> and
.cache/*/k/<rel>; SMBVN_KERNEL_IMAGES adds more, colon-separated).

Run: python3 scripts/build/test_btf_layout.py [-v]"""

import glob
import importlib.util
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import unittest
import zlib
from unittest import mock

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
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


# The kernel's types that cifs' structures embed or point to.
KERNEL_H = """
typedef unsigned char __u8;
typedef unsigned short __u16;
typedef unsigned int __u32;
typedef unsigned long long __u64;
typedef __u16 __le16;
typedef unsigned long size_t;
typedef _Bool bool;
struct list_head { struct list_head *next, *prev; };
typedef struct spinlock { unsigned int val; } spinlock_t;
struct mutex { long owner; spinlock_t wait_lock; struct list_head wait_list; };
struct socket { int state; };
struct kvec { void *iov_base; size_t iov_len; };
struct nls_table { const char *charset; };
"""

KERNEL_C = """
struct mutex k_mutex; struct socket k_socket; struct kvec k_kvec;
struct nls_table k_nls; __le16 k_le16; __u64 k_u64; __u32 k_u32;
size_t k_size; bool k_bool;
"""

# cifs' structures as smbvn reads them, with other members between, and
# the functions it hooks or calls.  The #ifdefs are the mutations.
CIFS_C = """
enum securityEnum { Unspecified, NTLMv2, RawNTLMSSP, Kerberos };
struct TCP_Server_Info {
	struct list_head tcp_ses_list;
	struct list_head smb_ses_list;
	int pad0;
	spinlock_t srv_lock;
	int srv_count;
	char *hostname;
	struct socket *ssocket;
	struct mutex _srv_mutex;
	__u8 client_guid[16];
	unsigned int reconnect_instance;
	unsigned long echo_interval;
	char pad1[3];
#ifdef DIALECT_U32
	__u32 dialect;
#else
	__u16 dialect;
#endif
	struct TCP_Server_Info *primary_server;
};
struct cifs_chan {
	unsigned int in_reconnect;
	struct TCP_Server_Info *server;
	void *iface;
	__u8 signkey[16];
};
struct session_key { unsigned int len; char *response; };
struct cifs_ses {
	struct list_head smb_ses_list;
	struct TCP_Server_Info *server;
	__u64 Suid;
	char *user_name;
	struct session_key auth_key;
	enum securityEnum sectype;
	__u16 session_flags;
	spinlock_t ses_lock;
	__u8 smb3signingkey[16];
	struct cifs_tcon *tcon_ipc;
	spinlock_t chan_lock;
	struct cifs_chan chans[16];
#ifdef CHAN_COUNT_SIGNED
	long chan_count;
#else
	size_t chan_count;
#endif
	unsigned long chans_need_reconnect;
};
struct cifs_tcon {
	struct list_head tcon_list;
	struct cifs_ses *ses;
	__u32 tid;
#ifdef TREE_NAME_PTR
	char *tree_name;
#else
	char tree_name[259];
#endif
};
#ifdef NO_MID
#define mid_q_entry mid_entry
#endif
struct mid_q_entry {
	struct list_head qhead;
	__u64 mid;
	void *resp_buf;
	unsigned int resp_buf_size;
	__le16 command;
	bool large_buf:1;
	bool decrypted:1;
};
struct smb_rqst {
	struct kvec *rq_iov;
	unsigned int rq_nvec;
	void *rq_iter[6];
};

int SMB2_tcon(const unsigned int xid, struct cifs_ses *ses, const char *tree,
#ifdef TCON_NO_NLS
	      struct cifs_tcon *tcon)
#else
	      struct cifs_tcon *tcon, const struct nls_table *cp)
#endif
{ return 0; }
int smb3_validate_negotiate(const unsigned int xid, struct cifs_tcon *tcon)
{ return 0; }
struct TCP_Server_Info *cifs_pick_channel(struct cifs_ses *ses) { return 0; }
int smb3_encryption_required(const struct cifs_tcon *tcon) { return 0; }
int SMB2_ioctl_init(struct cifs_tcon *tcon, struct TCP_Server_Info *server,
		    struct smb_rqst *rqst, __u64 persistent_fid,
		    __u64 volatile_fid, __u32 opcode, char *in_data,
		    __u32 indatalen, __u32 max_response_size) { return 0; }
void SMB2_ioctl_free(struct smb_rqst *rqst) { }
int cifs_send_recv(const unsigned int xid, struct cifs_ses *ses,
		   struct TCP_Server_Info *server, struct smb_rqst *rqst,
		   int *resp_buf_type, const int flags, struct kvec *resp_iov)
{ return 0; }
void free_rsp_buf(int resp_buftype, void *rsp) { }
void cifs_put_tcp_session(struct TCP_Server_Info *server, int from_reconnect)
{ }
void cifs_crypto_secmech_release(struct TCP_Server_Info *server) { }
int generic_ip_connect(struct TCP_Server_Info *server) { return 0; }
struct mid_q_entry *smb2_setup_request(struct cifs_ses *ses,
				       struct TCP_Server_Info *server,
				       struct smb_rqst *rqst) { return 0; }
struct mid_q_entry *smb2_setup_async_request(struct TCP_Server_Info *server,
					     struct smb_rqst *rqst)
{ return 0; }
int SMB2_sess_setup(const unsigned int xid, struct cifs_ses *ses,
		    struct TCP_Server_Info *server,
		    const struct nls_table *nls_cp) { return 0; }
int compound_send_recv(
#ifdef CSR_SHIFT
		       void *extra,
#endif
		       const unsigned int xid, struct cifs_ses *ses,
		       struct TCP_Server_Info *server, const int flags,
		       const int num_rqst, struct smb_rqst *rqst,
		       int *resp_buf_type, struct kvec *resp_iov) { return 0; }
int smb2_check_receive(struct mid_q_entry *mid,
		       struct TCP_Server_Info *server, bool log_error)
{ return 0; }
int smb2_sign_rqst(struct smb_rqst *rqst, struct TCP_Server_Info *server)
{ return 0; }
int crypt_message(struct TCP_Server_Info *server, int num_rqst,
		  struct smb_rqst *rqst, int enc) { return 0; }
#ifdef CLONE
void crypt_message_clone(void) __asm__("crypt_message.constprop.0");
void crypt_message_clone(void) { }
#endif
"""

CFLAGS = ["gcc", "-O0", "-g", "-fno-eliminate-unused-debug-types"]


def need_tools(*tools):
    missing = [t for t in tools if not shutil.which(t)]
    if missing:
        raise unittest.SkipTest("%s not installed" % ", ".join(missing))


class Layout(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        need_tools("gcc", "pahole", "bpftool", "objcopy", "nm")
        cls.tmp = tempfile.TemporaryDirectory()
        cls.dir = cls.tmp.name
        cls.write("kernel.h", KERNEL_H)
        cls.write("vmlinux.c", '#include "kernel.h"\n' + KERNEL_C)
        cls.write("cifs.c", '#include "kernel.h"\n' + CIFS_C)
        cls.run_cmd(CFLAGS + ["-c", "vmlinux.c", "-o", "vmlinux"])
        cls.run_cmd(["pahole", "-J", "vmlinux"])
        cls.base = os.path.join(cls.dir, "vmlinux")

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    @classmethod
    def write(cls, name, text):
        with open(os.path.join(cls.dir, name), "w") as f:
            f.write(text)

    @classmethod
    def run_cmd(cls, argv):
        r = subprocess.run(argv, cwd=cls.dir, capture_output=True,
                           text=True)
        if r.returncode:
            raise AssertionError("%s failed: %s" % (argv[0], r.stderr))

    def module(self, *defines, compress=None):
        """cifs.ko built with the mutations @defines, split BTF on top of
        the crafted kernel's; optionally xz- or zstd-compressed."""
        name = "cifs-%s.ko" % "-".join(defines or ("honest",))
        self.run_cmd(CFLAGS + ["-D" + d for d in defines] +
                     ["-c", "cifs.c", "-o", name])
        self.run_cmd(["pahole", "-J", "--btf_base", "vmlinux", name])
        if compress:
            self.run_cmd([compress, "-q", "-f", name])
            name += {"xz": ".xz", "zstd": ".zst"}[compress]
        return os.path.join(self.dir, name)

    def generate(self, module, base=None, env=None):
        """(exit code, stderr, header or None) of the generator."""
        out = os.path.join(self.dir, "layout.h")
        if os.path.exists(out):
            os.unlink(out)
        r = subprocess.run([sys.executable,
                            os.path.join(HERE, "btf-layout.py"),
                            "--base", base or self.base, "--module", module,
                            "--out", out], capture_output=True, text=True,
                           env=env)
        header = None
        if os.path.exists(out):
            with open(out) as f:
                header = f.read()
        return r.returncode, r.stderr, header

    def macros(self, header):
        return dict(re.findall(r"^#define (SMBVN_\w+) (.*)$", header, re.M))

    def compiler_says(self):
        """SMBVN_OFF_/SMBVN_SIZE_ values as gcc lays the structs out."""
        lines = ['#include <stdio.h>', '#include <stddef.h>',
                 '#include "kernel.h"', CIFS_C,
                 "int main(void) {"]
        for macro, sname, path in bl.FIELDS:
            if path != "decrypted":  # a bitfield has no offsetof
                lines.append('printf("SMBVN_OFF_%s %%zu\\n", '
                             'offsetof(struct %s, %s));' %
                             (macro, sname, path))
            if macro not in bl.SIZES:
                lines.append('printf("SMBVN_MSIZE_%s %%zu\\n", '
                             'sizeof(((struct %s *)0)->%s));' %
                             (macro, sname, path))
        for macro, sname in (("RQST", "smb_rqst"), ("SRV", "TCP_Server_Info"),
                             ("SES", "cifs_ses"), ("TCON", "cifs_tcon"),
                             ("MID", "mid_q_entry"), ("CHAN", "cifs_chan")):
            lines.append('printf("SMBVN_SIZE_%s %%zu\\n", '
                         'sizeof(struct %s));' % (macro, sname))
        lines.append("return 0; }")
        self.write("offsets.c", "\n".join(lines))
        self.run_cmd(["gcc", "-w", "offsets.c", "-o", "offsets"])
        out = subprocess.run([os.path.join(self.dir, "offsets")],
                             capture_output=True, text=True, check=True)
        return dict(line.split() for line in out.stdout.splitlines())

    def test_honest_module_matches_compiler(self):
        rc, err, header = self.generate(self.module())
        self.assertEqual(rc, 0, err)
        m = self.macros(header)
        want = self.compiler_says()
        self.assertEqual(len(want), 2 * len(bl.FIELDS) - len(bl.SIZES)
                         - 1 + 6)
        self.assertEqual(want["SMBVN_MSIZE_TCON_TREE_NAME"], "259")
        for macro, value in want.items():
            self.assertEqual(m.get(macro), value, macro)
        self.assertEqual(m["SMBVN_PROTO_OK"], "1")
        self.assertEqual(m["SMBVN_PROTO_WHY"], '""')
        self.assertEqual(m["SMBVN_SECTYPE_KERBEROS"], "3")
        self.assertEqual(m["SMBVN_LEN_SES_CHANS"], "16")
        # decrypted follows large_buf in the bitfield unit after command
        bit = 8 * (int(m["SMBVN_OFF_MID_COMMAND"]) + 2) + 1
        self.assertEqual(m["SMBVN_BIT_MID_DECRYPTED"], str(bit))
        self.assertEqual(m["SMBVN_OFF_MID_DECRYPTED"], str(bit // 8))
        self.assertEqual(m["SMBVN_ARG_CSR_RQST"], "5")
        self.assertEqual(m["SMBVN_ARG_CM_ENC"], "3")

    def test_crc_is_the_module_btf_section(self):
        ko = self.module()
        blob = os.path.join(self.dir, "cifs.btf")
        self.run_cmd(["objcopy", "--dump-section", ".BTF=" + blob, ko,
                      os.path.join(self.dir, "scratch")])
        with open(blob, "rb") as f:
            data = f.read()
        m = self.macros(self.generate(ko)[2])
        self.assertEqual(m["SMBVN_CIFS_BTF_CRC"], "0x%08xU" % zlib.crc32(data))
        self.assertEqual(m["SMBVN_CIFS_BTF_LEN"], "%dU" % len(data))

    def test_compressed_modules(self):
        _, _, plain = self.generate(self.module())
        for tool in ("xz", "zstd"):
            with self.subTest(tool=tool):
                rc, err, header = self.generate(self.module(compress=tool))
                self.assertEqual(rc, 0, err)
                # Only the "Generated ... from <file>" line differs.
                self.assertEqual(header.splitlines()[2:],
                                 plain.splitlines()[2:])

    def assert_generation_fails(self, mutation, reason):
        """cifs.ko with @mutation: no header, and @reason on stderr."""
        rc, err, header = self.generate(self.module(mutation))
        self.assertNotEqual(rc, 0)
        self.assertIsNone(header)
        self.assertIn(reason, err)

    def test_tree_name_pointer_fails(self):
        self.assert_generation_fails(
            "TREE_NAME_PTR",
            "cifs_tcon.tree_name is 'char *', smbvn expects 'char[]'")

    def test_every_member_type_asserted(self):
        self.assertEqual(sorted(bl.TYPES), sorted(m for m, _, _ in bl.FIELDS))

    def test_signed_count_fails(self):
        # Same size, another type: only the type assertion sees it.
        self.assert_generation_fails(
            "CHAN_COUNT_SIGNED",
            "cifs_ses.chan_count is 's64', smbvn expects 'u64'")

    def test_member_size_fails(self):
        self.assert_generation_fails(
            "DIALECT_U32",
            "TCP_Server_Info.dialect has size 4, smbvn expects 2")

    def test_exact_prototype_refused(self):
        rc, err, header = self.generate(self.module("TCON_NO_NLS"))
        self.assertEqual(rc, 0, err)
        m = self.macros(header)
        self.assertEqual(m["SMBVN_PROTO_OK"], "0")
        self.assertIn("SMB2_tcon() is 's32 SMB2_tcon(u32 xid, struct cifs_ses"
                      " *ses, char *tree, struct cifs_tcon *tcon)', smbvn "
                      "expects", m["SMBVN_PROTO_WHY"])
        self.assertIn("SMB2_tcon()", err)

    def test_observed_argument_on_stack_refused(self):
        _, _, header = self.generate(self.module("CSR_SHIFT"))
        m = self.macros(header)
        self.assertEqual(m["SMBVN_PROTO_OK"], "0")
        self.assertEqual(m["SMBVN_ARG_CSR_RQST"], "-1")
        self.assertEqual(m["SMBVN_ARG_CSR_SERVER"], "3")
        self.assertIn("reads 'struct smb_rqst *rqst' from a register",
                      m["SMBVN_PROTO_WHY"])

    def test_compiler_clone_refused(self):
        _, _, header = self.generate(self.module("CLONE"))
        m = self.macros(header)
        self.assertEqual(m["SMBVN_PROTO_OK"], "0")
        self.assertIn("crypt_message() has compiler clones "
                      "crypt_message.constprop.0", m["SMBVN_PROTO_WHY"])

    def test_unknown_kernel_compression_is_one_line(self):
        image = os.path.join(self.dir, "vmlinuz-unknown")
        with open(image, "wb") as f:
            f.write(bzimage(b"\x42\x42\x42\x42" + b"\0" * 64))
        rc, err, header = self.generate(self.module(), base=image)
        self.assertNotEqual(rc, 0)
        self.assertIsNone(header)
        self.assertRegex(err, "^btf-layout: kernel payload has an unknown "
                         r"compression format \(magic 42 42 42 42\); "
                         "known: gzip, bzip2, lzma, xz, lzo, lz4, zstd\n$")

    def test_missing_struct_named(self):
        rc, err, _ = self.generate(self.module("NO_MID"))
        self.assertNotEqual(rc, 0)
        self.assertEqual(err.splitlines()[-1],
                         "btf-layout: struct mid_q_entry not in BTF")

    def test_user_path_without_sbin(self):
        # A user's make: Debian's bpftool is in /usr/sbin, not in PATH.
        ko = self.module()
        _, _, want = self.generate(ko)
        env = dict(os.environ, PATH="/usr/bin:/bin")
        rc, err, header = self.generate(ko, env=env)
        self.assertEqual(rc, 0, err)
        self.assertEqual(header, want)

    def test_base_from_bzimage(self):
        # The crafted kernel as the ELF payload of a bzImage, like
        # Debian's 6.1 where no vmlinux ships.
        with open(self.base, "rb") as f:
            elf = f.read()
        image = os.path.join(self.dir, "vmlinuz")
        with open(image, "wb") as f:
            f.write(bzimage(compress("lz4", elf)))
        ko = self.module()
        _, _, want = self.generate(ko)
        rc, err, header = self.generate(ko, base=image)
        self.assertEqual(rc, 0, err)
        self.assertEqual(header, want)


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
