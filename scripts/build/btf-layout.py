#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Generate smbvn_layout.h from the BTF of the exact cifs.ko smbvn will hook.

cifs keeps its structures private, so smbvn reaches the handful of fields it
needs by offset.  Offsets are taken from the target module's own BTF (split
BTF on top of vmlinux BTF, as bpftool dumps it), never from a guess, and the
CRC of the module's BTF blob is recorded so that the module can refuse a
cifs.ko it was not built for: the running kernel exposes the same blob in
/sys/kernel/btf/cifs.

The prototypes of the cifs functions smbvn hooks or calls are checked in the
same BTF.  Where smbvn only reads arguments (observed functions) the
register of each argument it reads is emitted; where it replaces or calls a
function, the whole prototype must be the one smbvn's C code is written
for.  A function that differs or is missing does not fail the build: the
header says why (SMBVN_PROTO_WHY) and the module refuses to load with that
reason, so smbvn never runs against a cifs interface it does not know.
"""
import argparse
import bz2
import json
import lzma
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

# (macro suffix, struct, dotted member path)
FIELDS = [
    ("SRV_HOSTNAME", "TCP_Server_Info", "hostname"),
    ("SRV_SSOCKET", "TCP_Server_Info", "ssocket"),
    ("SRV_MUTEX", "TCP_Server_Info", "_srv_mutex"),
    ("SRV_LOCK", "TCP_Server_Info", "srv_lock"),
    ("SRV_DIALECT", "TCP_Server_Info", "dialect"),
    ("SRV_CLIENT_GUID", "TCP_Server_Info", "client_guid"),
    ("SRV_RECONNECT_INSTANCE", "TCP_Server_Info", "reconnect_instance"),
    ("SRV_ECHO_INTERVAL", "TCP_Server_Info", "echo_interval"),
    ("SRV_TCP_SES_LIST", "TCP_Server_Info", "tcp_ses_list"),
    ("SRV_COUNT", "TCP_Server_Info", "srv_count"),
    ("SRV_SMB_SES_LIST", "TCP_Server_Info", "smb_ses_list"),
    ("SRV_PRIMARY_SERVER", "TCP_Server_Info", "primary_server"),
    ("SES_SERVER", "cifs_ses", "server"),
    ("SES_USER_NAME", "cifs_ses", "user_name"),
    ("SES_AUTH_KEY_LEN", "cifs_ses", "auth_key.len"),
    ("SES_AUTH_KEY_RESPONSE", "cifs_ses", "auth_key.response"),
    ("SES_SESSION_FLAGS", "cifs_ses", "session_flags"),
    ("SES_SECTYPE", "cifs_ses", "sectype"),
    ("SES_CHAN_LOCK", "cifs_ses", "chan_lock"),
    ("SES_CHANS", "cifs_ses", "chans"),
    ("SES_CHAN_COUNT", "cifs_ses", "chan_count"),
    ("SES_SUID", "cifs_ses", "Suid"),
    ("SES_CHANS_NEED_RECONNECT", "cifs_ses", "chans_need_reconnect"),
    ("SES_TCON_IPC", "cifs_ses", "tcon_ipc"),
    ("SES_SES_LOCK", "cifs_ses", "ses_lock"),
    ("SES_SIGNINGKEY", "cifs_ses", "smb3signingkey"),
    ("SES_SMB_SES_LIST", "cifs_ses", "smb_ses_list"),
    ("CHAN_SERVER", "cifs_chan", "server"),
    ("CHAN_SIGNKEY", "cifs_chan", "signkey"),
    ("TCON_SES", "cifs_tcon", "ses"),
    ("TCON_TREE_NAME", "cifs_tcon", "tree_name"),
    ("TCON_TID", "cifs_tcon", "tid"),
    ("MID_MID", "mid_q_entry", "mid"),
    ("MID_RESP_BUF", "mid_q_entry", "resp_buf"),
    ("MID_RESP_BUF_SIZE", "mid_q_entry", "resp_buf_size"),
    ("MID_COMMAND", "mid_q_entry", "command"),
    ("MID_DECRYPTED", "mid_q_entry", "decrypted"),
    ("RQST_IOV", "smb_rqst", "rq_iov"),
    ("RQST_NVEC", "smb_rqst", "rq_nvec"),
]

# Expected storage size in bytes (0 = bitfield of one bit); a mismatch means
# the member changed type and the glue code would misread it.  The locks'
# size depends on the kernel's configuration (lockdep, PREEMPT_RT) and
# tree_name's on cifs: those are emitted as SMBVN_MSIZE_<member> instead,
# for the C code to hold its own view of the type against.
SIZES = {
    "SRV_HOSTNAME": 8, "SRV_SSOCKET": 8, "SRV_DIALECT": 2, "SES_SERVER": 8,
    "SRV_CLIENT_GUID": 16, "SRV_TCP_SES_LIST": 16, "SRV_COUNT": 4,
    "SRV_RECONNECT_INSTANCE": 4, "SRV_ECHO_INTERVAL": 8,
    "SRV_SMB_SES_LIST": 16, "SES_SMB_SES_LIST": 16,
    "SRV_PRIMARY_SERVER": 8, "TCON_TID": 4,
    "SES_USER_NAME": 8, "SES_AUTH_KEY_LEN": 4, "SES_AUTH_KEY_RESPONSE": 8,
    "SES_SESSION_FLAGS": 2, "TCON_SES": 8, "SES_SECTYPE": 4,
    "SES_CHAN_COUNT": 8, "SES_SUID": 8, "SES_CHANS_NEED_RECONNECT": 8,
    "SES_TCON_IPC": 8, "SES_SIGNINGKEY": 16, "CHAN_SERVER": 8,
    "CHAN_SIGNKEY": 16,
    "MID_MID": 8, "MID_RESP_BUF": 8, "MID_RESP_BUF_SIZE": 4,
    "MID_COMMAND": 2, "MID_DECRYPTED": 0, "RQST_IOV": 8, "RQST_NVEC": 4,
}

# Expected type of every member smbvn reads, as its C code reads it: the
# size alone would not catch a lock type changed, an array turned into a
# pointer, a list moved into another struct, or a signed count.
TYPES = {
    "SRV_HOSTNAME": "char *", "SRV_SSOCKET": "struct socket *",
    "SRV_MUTEX": "struct mutex", "SRV_CLIENT_GUID": "char[]",
    "SRV_LOCK": "struct spinlock", "SRV_DIALECT": "u16",
    "SRV_TCP_SES_LIST": "struct list_head", "SRV_COUNT": "s32",
    "SRV_SMB_SES_LIST": "struct list_head",
    "SRV_PRIMARY_SERVER": "struct TCP_Server_Info *", "TCON_TID": "u32",
    "SES_SMB_SES_LIST": "struct list_head",
    "SES_SERVER": "struct TCP_Server_Info *", "SES_USER_NAME": "char *",
    "SES_AUTH_KEY_LEN": "u32", "SES_AUTH_KEY_RESPONSE": "char *",
    "SES_SESSION_FLAGS": "u16", "SES_SECTYPE": "enum securityEnum",
    "SES_CHAN_LOCK": "struct spinlock", "SES_CHANS": "struct cifs_chan[]",
    "SES_CHAN_COUNT": "u64", "SES_SUID": "u64",
    "CHAN_SERVER": "struct TCP_Server_Info *", "CHAN_SIGNKEY": "char[]",
    "TCON_SES": "struct cifs_ses *", "TCON_TREE_NAME": "char[]",
    "SES_TCON_IPC": "struct cifs_tcon *", "SES_SES_LOCK": "struct spinlock",
    "SES_SIGNINGKEY": "char[]", "SES_CHANS_NEED_RECONNECT": "u64",
    "SRV_RECONNECT_INSTANCE": "u32", "SRV_ECHO_INTERVAL": "u64",
    "MID_MID": "u64", "MID_RESP_BUF": "void *", "MID_RESP_BUF_SIZE": "u32",
    "MID_COMMAND": "u16", "MID_DECRYPTED": "bool",
    "RQST_IOV": "struct kvec *", "RQST_NVEC": "u32",
}

# Functions smbvn replaces (redirect) or calls: return type and argument
# types in order, as calling-convention types (see Btf.abi_type).
EXACT = {
    "SMB2_tcon": ("s32", ["u32", "struct cifs_ses *", "char *",
                          "struct cifs_tcon *", "struct nls_table *"]),
    "smb3_validate_negotiate": ("s32", ["u32", "struct cifs_tcon *"]),
    "cifs_pick_channel": ("struct TCP_Server_Info *", ["struct cifs_ses *"]),
    "smb3_encryption_required": ("s32", ["struct cifs_tcon *"]),
    "SMB2_ioctl_init": ("s32", ["struct cifs_tcon *",
                                "struct TCP_Server_Info *",
                                "struct smb_rqst *", "u64", "u64", "u32",
                                "char *", "u32", "u32"]),
    "SMB2_ioctl_free": ("void", ["struct smb_rqst *"]),
    "cifs_send_recv": ("s32", ["u32", "struct cifs_ses *",
                               "struct TCP_Server_Info *",
                               "struct smb_rqst *", "s32 *", "s32",
                               "struct kvec *"]),
    "free_rsp_buf": ("void", ["s32", "void *"]),
    "cifs_put_tcp_session": ("void", ["struct TCP_Server_Info *", "s32"]),
    # Gated: smbvn's stand-in returns the same ERR_PTR cifs' own does.
    "smb2_setup_request": ("struct mid_q_entry *",
                           ["struct cifs_ses *", "struct TCP_Server_Info *",
                            "struct smb_rqst *"]),
    "smb2_setup_async_request": ("struct mid_q_entry *",
                                 ["struct TCP_Server_Info *",
                                  "struct smb_rqst *"]),
    "SMB2_sess_setup": ("s32", ["u32", "struct cifs_ses *",
                                "struct TCP_Server_Info *",
                                "struct nls_table *"]),
}

# Functions smbvn observes at entry: the arguments it reads, by name and
# type, and the suffix of the macro giving each one's argument index.
OBSERVED = {
    "compound_send_recv": [
        ("CSR_SERVER", "server", "struct TCP_Server_Info *"),
        ("CSR_FLAGS", "flags", "s32"),
        ("CSR_NUM_RQST", "num_rqst", "s32"),
        ("CSR_RQST", "rqst", "struct smb_rqst *")],
    "smb2_check_receive": [
        ("SCR_MID", "mid", "struct mid_q_entry *"),
        ("SCR_SERVER", "server", "struct TCP_Server_Info *")],
    "smb2_sign_rqst": [
        ("SSR_RQST", "rqst", "struct smb_rqst *"),
        ("SSR_SERVER", "server", "struct TCP_Server_Info *")],
    "cifs_crypto_secmech_release": [
        ("CSM_SERVER", "server", "struct TCP_Server_Info *")],
    "generic_ip_connect": [
        ("GIC_SERVER", "server", "struct TCP_Server_Info *")],
    "smb2_setup_request": [
        ("SSQ_SES", "ses", "struct cifs_ses *"),
        ("SSQ_SERVER", "server", "struct TCP_Server_Info *"),
        ("SSQ_RQST", "rqst", "struct smb_rqst *")],
    "smb2_setup_async_request": [
        ("SSA_SERVER", "server", "struct TCP_Server_Info *"),
        ("SSA_RQST", "rqst", "struct smb_rqst *")],
    "crypt_message": [
        ("CM_SERVER", "server", "struct TCP_Server_Info *"),
        ("CM_RQST", "rqst", "struct smb_rqst *"),
        ("CM_ENC", "enc", "s32")],
}

# x86-64 passes the first six integer or pointer arguments in registers,
# which is where regs_get_kernel_argument() finds them at function entry.
REG_ARGS = 6
# Kinds that only qualify or rename the type they refer to.
ALIASES = ("TYPEDEF", "VOLATILE", "CONST", "RESTRICT", "TYPE_TAG")


def bpftool_types(path, base=None):
    """The types of the BTF in @path (split BTF on top of @base's when
    given) as bpftool's JSON dump lists them; ids continue the base's."""
    # Debian installs bpftool in /usr/sbin, which is not in a user's PATH.
    tool = shutil.which("bpftool", path=os.pathsep.join(
        (os.environ.get("PATH", os.defpath), "/usr/sbin", "/sbin")))
    if not tool:
        raise ValueError("bpftool is missing (Debian package bpftool; "
                         "scripts/build/deps.sh installs it)")
    argv = [tool, "-j"] + (["-B", base] if base else []) + \
        ["btf", "dump", "file", path]
    r = subprocess.run(argv, capture_output=True, text=True)
    try:
        doc = json.loads(r.stdout)
    except ValueError:
        doc = {}
    if r.returncode or "types" not in doc:
        raise ValueError("bpftool cannot read the BTF of %s: %s" %
                         (path, doc.get("error") or r.stderr.strip()))
    return doc["types"]


class Btf:
    """Struct members and prototypes by name, in cifs.ko's split BTF on
    top of the kernel's, from bpftool's dump of both."""

    def __init__(self, mod_types, base_types):
        self.by_id = {t["id"]: t for t in base_types + mod_types}
        # (kind, name) -> types, cifs' own before the kernel's
        self.by_name = {}
        for t in mod_types + base_types:
            self.by_name.setdefault((t["kind"], self.name(t)), []).append(t)
        self.first_mod_id = min((t["id"] for t in mod_types),
                                default=float("inf"))

    @staticmethod
    def name(t):
        """Name of type, member or parameter @t; "" when anonymous."""
        n = t.get("name", "")
        return "" if n == "(anon)" else n

    def type(self, tid):
        return self.by_id[tid]

    def named(self, kind, name, base=True):
        """Every type of @kind called @name: cifs' own first."""
        for t in self.by_name.get((kind, name), ()):
            if base or t["id"] >= self.first_mod_id:
                yield t

    def find_struct(self, name):
        t = next(self.named("STRUCT", name), None)
        if t is None:
            raise KeyError("struct %s not in BTF" % name)
        return t["id"]

    def enum_value(self, enum, name):
        """Value of enumerator @name of enum @enum."""
        for t in self.named("ENUM", enum):
            for v in t["values"]:
                if v["name"] == name:
                    return v["val"]
        raise KeyError("%s not in enum %s" % (name, enum))

    def find_func(self, name):
        """Type id of the FUNC_PROTO of cifs function @name, or None."""
        t = next(self.named("FUNC", name, base=False), None)
        return t["type_id"] if t else None

    def abi_type(self, tid):
        """The type as the calling convention sees it: typedefs resolved,
        qualifiers dropped, integers as u<bits> or s<bits>."""
        if tid == 0:
            return "void"
        t = self.type(self.strip(tid))
        kind = t["kind"]
        if kind == "PTR":
            inner = self.abi_type(t["type_id"])
            return inner + ("*" if inner.endswith("*") else " *")
        if kind == "INT":
            if t["encoding"] == "BOOL":
                return "bool"
            if t["size"] == 1 and "char" in self.name(t):
                return "char"
            return ("s" if t["encoding"] == "SIGNED" else "u") + \
                str(8 * t["size"])
        if kind in ("STRUCT", "UNION", "FWD"):
            union = kind == "UNION" or t.get("fwd_kind") == "union"
            return ("union " if union else "struct ") + self.name(t)
        if kind in ("ENUM", "ENUM64"):
            return "enum " + self.name(t)
        return kind.lower()

    def strip(self, tid):
        while self.type(tid)["kind"] in ALIASES:
            tid = self.type(tid)["type_id"]
        return tid

    def size(self, tid):
        t = self.type(self.strip(tid))
        if t["kind"] == "PTR":
            return 8
        if t["kind"] == "ARRAY":
            return t["nr_elems"] * self.size(t["type_id"])
        return t["size"]

    def member(self, tid, path):
        """Return (byte offset, bit offset or None, byte size) of path."""
        bits, parts = 0, path.split(".")
        for i, part in enumerate(parts):
            t = self.type(self.strip(tid))
            m = next((m for m in t.get("members", ())
                      if self.name(m) == part), None)
            if m is None:
                raise KeyError("member %s not found" % path)
            bits += m["bits_offset"]
            tid = m["type_id"]
            bsize = m.get("bitfield_size", 0)
            if bsize and i == len(parts) - 1:
                return bits // 8, bits, 0 if bsize == 1 else -bsize
        return bits // 8, None, self.size(tid)

    def member_type(self, tid, path):
        """The type of member @path as smbvn's C code uses it: abi_type(),
        or ELEMENT[] for an array."""
        for part in path.split("."):
            t = self.type(self.strip(tid))
            tid = next(m["type_id"] for m in t["members"]
                       if self.name(m) == part)
        t = self.type(self.strip(tid))
        if t["kind"] == "ARRAY":
            return self.abi_type(t["type_id"]) + "[]"
        return self.abi_type(tid)


def plain_module(path, tmp):
    """@path, or a decompressed copy in @tmp if it is a .xz or .zst
    module: bpftool, objcopy and nm read only plain ELF."""
    if not path.endswith((".xz", ".zst")):
        return path
    out = os.path.join(tmp, "cifs.ko")
    if path.endswith(".xz"):
        with lzma.open(path) as src, open(out, "wb") as dst:
            shutil.copyfileobj(src, dst)
    else:
        subprocess.run(["zstd", "-q", "-d", "-f", "-o", out, path],
                       check=True)
    return out


def plain_base(path, tmp):
    """@path if it is an ELF kernel or raw BTF (what bpftool reads as
    base), else the ELF kernel out of bzImage @path, in @tmp."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] == b"\x7fELF" or data[:2] == b"\x9f\xeb":
        return path
    out = os.path.join(tmp, "vmlinux")
    with open(out, "wb") as f:
        f.write(vmlinux_from_bzimage(data))
    return out


def elf_symbols(path):
    """Names in the symbol table of ELF file @path."""
    r = subprocess.run(["nm", path], capture_output=True, text=True,
                       check=True)
    return {line.split()[-1] for line in r.stdout.splitlines() if line}


def btf_section(path, tmp):
    """The raw .BTF section of ELF file @path: what the running kernel
    shows in /sys/kernel/btf/cifs, so its CRC identifies the module."""
    out = os.path.join(tmp, "cifs.btf")
    r = subprocess.run(["objcopy", "--dump-section", ".BTF=" + out,
                        path, os.path.join(tmp, "scratch")],
                       capture_output=True)
    if r.returncode or not os.path.exists(out):
        raise ValueError("%s has no .BTF section" % path)
    with open(out, "rb") as f:
        return f.read()


# x86 boot protocol: where the setup header's fields sit in a bzImage.
HDR_SETUP_SECTS, HDR_MAGIC, HDR_VERSION = 0x1F1, 0x202, 0x206
HDR_PAYLOAD = 0x248  # payload_offset, payload_length (u32 each)
PAYLOAD_VERSION = 0x208  # the first boot protocol with the payload fields

# The compressors a kernel may be built with (CONFIG_KERNEL_*), by the
# magic their output starts with.  lz4 is the legacy frame ("lz4 -l").
COMPRESSION = (
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bzip2"),
    (b"\x5d\x00\x00", "lzma"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"\x89LZO\x00\r\n\x1a\n", "lzo"),
    (b"\x02\x21\x4c\x18", "lz4"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
)
# Debian's command-line decompressors, for what the stdlib cannot read.
TOOLS = {"lzo": ("lzop", "lzop"), "lz4": ("lz4", "lz4"),
         "zstd": ("zstd", "zstd")}


def setup_payload(image):
    """The compressed kernel inside bzImage @image, located by the setup
    header's payload_offset and payload_length."""
    if len(image) < 0x250 or image[HDR_MAGIC:HDR_MAGIC + 4] != b"HdrS":
        raise ValueError("not a bzImage: no 'HdrS' setup header at 0x%x"
                         % HDR_MAGIC)
    version = struct.unpack_from("<H", image, HDR_VERSION)[0]
    if version < PAYLOAD_VERSION:
        raise ValueError("boot protocol %d.%02d has no payload fields "
                         "(needs 2.08)" % (version >> 8, version & 0xFF))
    # The protected-mode kernel follows the boot sector and the setup
    # sectors; 0 setup sectors means 4 (boot protocol).
    sects = image[HDR_SETUP_SECTS] or 4
    offset, length = struct.unpack_from("<II", image, HDR_PAYLOAD)
    start = (sects + 1) * 512 + offset
    if not length or start + length > len(image):
        raise ValueError("payload (offset %d, length %d) lies outside the "
                         "%d-byte image" % (offset, length, len(image)))
    return image[start:start + length]


def decompress(kind, body):
    """@body decompressed as @kind; trailing bytes after the stream are
    ignored."""
    if kind == "gzip":
        return zlib.decompressobj(wbits=31).decompress(body)
    if kind == "bzip2":
        return bz2.BZ2Decompressor().decompress(body)
    if kind in ("lzma", "xz"):
        fmt = lzma.FORMAT_ALONE if kind == "lzma" else lzma.FORMAT_XZ
        return lzma.LZMADecompressor(format=fmt).decompress(body)
    tool, package = TOOLS[kind]
    if not shutil.which(tool):
        raise ValueError("kernel payload is %s: '%s' is missing (Debian "
                         "package %s; scripts/build/deps.sh installs it)"
                         % (kind, tool, package))
    r = subprocess.run([tool, "-dc"], input=body, capture_output=True)
    if r.returncode:
        raise ValueError("%s -dc failed on the kernel payload: %s" %
                         (tool, r.stderr.decode(errors="replace").strip()))
    return r.stdout


def vmlinux_from_bzimage(image):
    """The ELF kernel inside a bzImage (Debian 6.1 ships no vmlinux)."""
    payload = setup_payload(image)
    kind = next((k for m, k in COMPRESSION if payload.startswith(m)), None)
    if kind is None:
        raise ValueError("kernel payload has an unknown compression format "
                         "(magic %s); known: %s" %
                         (payload[:4].hex(" "),
                          ", ".join(k for _, k in COMPRESSION)))
    # Kbuild appends the uncompressed size (le32) to every payload; for
    # gzip it is the stream's own ISIZE.  It must match what came out.
    size = struct.unpack("<I", payload[-4:])[0]
    try:
        out = decompress(kind, payload if kind == "gzip" else payload[:-4])
    except (OSError, EOFError, lzma.LZMAError, zlib.error) as e:
        raise ValueError("%s kernel payload does not decompress: %s" %
                         (kind, e)) from e
    if len(out) & 0xFFFFFFFF != size:
        raise ValueError("%s kernel payload gave %d bytes, its size field "
                         "says %d" % (kind, len(out), size))
    if out[:4] != b"\x7fELF":
        raise ValueError("%s kernel payload is not an ELF file" % kind)
    return out


def in_register(params, idx):
    """Is argument @idx passed in a register?  Only if it is one of the
    first six and nothing before it is passed another way (a struct or
    float by value)."""
    return 0 <= idx < REG_ARGS and all(
        ty.endswith("*") or ty in ("bool", "char") or ty.startswith("enum ")
        or ty in ("u8", "s8", "u16", "s16", "u32", "s32", "u64", "s64")
        for _, ty in params[:idx + 1])


def check_protos(mod, symbols):
    """Header lines for the argument indexes, and every reason why smbvn's
    hooks do not fit this cifs.ko (empty if they do)."""
    lines, why = [], []
    for fn in dict.fromkeys(list(EXACT) + list(OBSERVED)):
        proto = mod.find_func(fn)
        params = []
        if proto is None:
            why.append("%s() is not in cifs' BTF" % fn)
        else:
            t = mod.type(proto)
            params = [(mod.name(p), mod.abi_type(p["type_id"]))
                      for p in t["params"]]
            have = "%s %s(%s)" % (
                mod.abi_type(t["ret_type_id"]), fn,
                ", ".join(ty + ("" if ty.endswith("*") else " ") + n
                          for n, ty in params))
        # A compiler clone (.isra, .constprop, .part) would take some of
        # the calls, with another calling convention, past the hook.
        clones = sorted(s for s in symbols
                        if s.startswith(fn + ".") and not s.endswith(".cold"))
        if clones:
            why.append("%s() has compiler clones %s" % (fn, ", ".join(clones)))
        if fn in EXACT:
            ret, args = EXACT[fn]
            want = "%s %s(%s)" % (ret, fn, ", ".join(args))
            if proto is not None and \
               (mod.abi_type(t["ret_type_id"]), [ty for _, ty in params]) \
               != (ret, args):
                why.append("%s() is '%s', smbvn expects '%s'" %
                           (fn, have, want))
        if fn not in OBSERVED:
            continue
        names = [n for n, _ in params]
        for macro, arg, ty in OBSERVED[fn]:
            idx = names.index(arg) if arg in names else -1
            if proto is not None and \
               (idx < 0 or params[idx][1] != ty or
                    not in_register(params, idx)):
                why.append("%s() is '%s', smbvn reads '%s%s%s' from a "
                           "register" % (fn, have, ty,
                                         "" if ty.endswith("*") else " ",
                                         arg))
                idx = -1
            lines.append("#define SMBVN_ARG_%s %d" % (macro, idx))
    return lines, why


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True,
                    help="vmlinux, bzImage or raw BTF of the target kernel")
    ap.add_argument("--module", required=True, help="target cifs.ko[.xz]")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    unchecked = [m for m, _, _ in FIELDS if m not in TYPES]
    if unchecked:
        sys.exit("btf-layout: no expected type for %s" % ", ".join(unchecked))
    with tempfile.TemporaryDirectory() as tmp:
        module = plain_module(a.module, tmp)
        base = plain_base(a.base, tmp)
        mod_blob = btf_section(module, tmp)
        mod = Btf(bpftool_types(module, base), bpftool_types(base))
        symbols = elf_symbols(module)
    proto_lines, why = check_protos(mod, symbols)
    for w in why:
        print("btf-layout: warning: %s; the module will refuse to load" % w,
              file=sys.stderr)
    lines = ["/* SPDX-License-Identifier: GPL-2.0-only */",
             "/* Generated by scripts/build/btf-layout.py from %s */" %
             os.path.basename(a.module),
             "#ifndef SMBVN_LAYOUT_H", "#define SMBVN_LAYOUT_H", "",
             "#define SMBVN_CIFS_BTF_CRC 0x%08xU" % zlib.crc32(mod_blob),
             "#define SMBVN_CIFS_BTF_LEN %uU" % len(mod_blob), ""]
    for macro, sname, path in FIELDS:
        off, bit, size = mod.member(mod.find_struct(sname), path)
        want = SIZES.get(macro)
        if want is not None and size != want:
            sys.exit("btf-layout: %s.%s has size %d, smbvn expects %d" %
                     (sname, path, size, want))
        want = TYPES[macro]
        have = mod.member_type(mod.find_struct(sname), path)
        if have != want:
            sys.exit("btf-layout: %s.%s is '%s', smbvn expects '%s'" %
                     (sname, path, have, want))
        lines.append("#define SMBVN_OFF_%s %d" % (macro, off))
        if bit is not None:
            lines.append("#define SMBVN_BIT_%s %d" % (macro, bit))
        if macro not in SIZES:
            lines.append("#define SMBVN_MSIZE_%s %d" % (macro, size))
    # cifs_ses.chans is an array of struct cifs_chan, walked by index.
    chan_size = mod.size(mod.find_struct("cifs_chan"))
    chans_bytes = mod.member(mod.find_struct("cifs_ses"), "chans")[2]
    if not chan_size or chans_bytes % chan_size:
        sys.exit("btf-layout: cifs_ses.chans (%d bytes) is not an array of "
                 "struct cifs_chan (%d bytes)" % (chans_bytes, chan_size))
    lines.append("#define SMBVN_SIZE_CHAN %d" % chan_size)
    # cifs signs a Kerberos session's tree connect even without user_name.
    lines.append("#define SMBVN_SECTYPE_KERBEROS %d" %
                 mod.enum_value("securityEnum", "Kerberos"))
    # smbvn allocates the struct smb_rqst it hands to SMB2_ioctl_init; the
    # glue KUnit suite lays out fake cifs objects of the others' sizes.
    for macro, sname in (("RQST", "smb_rqst"), ("SRV", "TCP_Server_Info"),
                         ("SES", "cifs_ses"), ("TCON", "cifs_tcon"),
                         ("MID", "mid_q_entry")):
        lines.append("#define SMBVN_SIZE_%s %d" %
                     (macro, mod.size(mod.find_struct(sname))))
    lines.append("#define SMBVN_LEN_SES_CHANS %d" % (chans_bytes // chan_size))
    lines += ["",
              "/* Argument index of each argument read at function entry */"]
    lines += proto_lines
    reason = "; ".join(why).replace("\\", "\\\\").replace('"', '\\"')
    lines += ["", "#define SMBVN_PROTO_OK %d" % (not why),
              '#define SMBVN_PROTO_WHY "%s"' % reason, "", "#endif", ""]
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with open(a.out, "w") as f:
        f.write("\n".join(lines))


if __name__ == "__main__":
    try:
        main()
    except (ValueError, KeyError) as e:
        # One line for make to show, not a traceback.
        sys.exit("btf-layout: %s" % e.args[0])
