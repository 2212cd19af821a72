#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""campaign - a seeded, randomised man-in-the-middle campaign against the
secure negotiate (issue 16; method and the list of harmless changes in
docs/CAMPAIGN.md).

  campaign.py plan  --seed S --n N            print the mutations, one a line
  campaign.py proxy --seed S --target H:P --listen PORT --control PORT
                    --log FILE.jsonl [--text-log FILE] [--only ATTEMPT]
                    [--user NAME --password PW]
  campaign.py check --log FILE.jsonl --guest VMLOG [--kernel K] [--bound S]

The proxy is scripts/proxy/smbproxy.py's Connection with one hook (mutate): every
connection of attempt i gets the mutation drawn from Random("seed/i"), so a
seed names the whole campaign and any attempt can be replayed alone
(--only).  The guest announces each attempt on the control port before it
mounts; the proxy answers with the dialect (vers=) to mount with, and logs
one JSON line per connection saying what it changed (or that it changed
nothing).  check joins that log with the guest's results and applies the
invariant outside the guest.
"""

import argparse
import asyncio
import json
import random
import re
import sys
from collections import Counter, defaultdict

import smbproxy as sp
from smbwire import (HDR_LEN, H_COMMAND, H_FLAGS, H_SIG, H_STATUS,
                     TRANSFORM_MAGIC, u16, u32)

VERS = ("2.1", "3.0", "3.02", "3.1.1", "default")
DIALECTS = (0x0202, 0x0210, 0x0300, 0x0302, 0x0311)
# Values a forged dialect field takes: the real ones, SMB2 wildcard, junk.
DIALECT_VALUES = DIALECTS + (0x02FF, 0x0400, 0xFFFF)
ERROR_STATUSES = (sp.STATUS_NOT_SUPPORTED, sp.STATUS_ACCESS_DENIED,
                  sp.STATUS_FILE_CLOSED, sp.STATUS_INVALID_PARAMETER,
                  sp.STATUS_INVALID_DEVICE_REQUEST,
                  sp.STATUS_FS_DRIVER_REQUIRED, 0xC0000001, sp.STATUS_PENDING)

# Fields: (name, base, offset from base, width).  base "hdr" is the SMB2
# header, "body" the command's body (MS-SMB2 2.2.3, 2.2.4, 2.2.31, 2.2.32,
# 2.2.10), "input"/"output" the validate structures the ioctl's
# InputOffset/OutputOffset point at (2.2.31.4, 2.2.32.6).  For a NEGOTIATE
# request the names at 28-36 are 3.1.1's; before 3.1.1 those eight bytes
# are ClientStartTime.
HDR_FIELDS = (("hdr.Status", "hdr", H_STATUS, 4),
              ("hdr.Credits", "hdr", 14, 2),
              ("hdr.Flags", "hdr", H_FLAGS, 4),
              ("hdr.MessageId", "hdr", 24, 8))
FIELDS = {
    "negreq": HDR_FIELDS[1:] + (
        ("StructureSize", "body", 0, 2), ("DialectCount", "body", 2, 2),
        ("SecurityMode", "body", 4, 2), ("Reserved", "body", 6, 2),
        ("Capabilities", "body", 8, 4), ("ClientGuid", "body", 12, 16),
        ("NegotiateContextOffset", "body", 28, 4),
        ("NegotiateContextCount", "body", 32, 2),
        ("Reserved2", "body", 34, 2)),
    "negrsp": HDR_FIELDS + (
        ("StructureSize", "body", 0, 2), ("SecurityMode", "body", 2, 2),
        ("DialectRevision", "body", 4, 2),
        ("NegotiateContextCount", "body", 6, 2),
        ("ServerGuid", "body", 8, 16), ("Capabilities", "body", 24, 4),
        ("MaxTransactSize", "body", 28, 4), ("MaxReadSize", "body", 32, 4),
        ("MaxWriteSize", "body", 36, 4), ("SystemTime", "body", 40, 8),
        ("ServerStartTime", "body", 48, 8),
        ("SecurityBufferOffset", "body", 56, 2),
        ("SecurityBufferLength", "body", 58, 2),
        ("NegotiateContextOffset", "body", 60, 4)),
    "valreq": HDR_FIELDS[1:] + (
        ("hdr.Signature", "hdr", H_SIG, 16),
        ("CtlCode", "body", 4, 4), ("FileId", "body", 8, 16),
        ("InputOffset", "body", 24, 4), ("InputCount", "body", 28, 4),
        ("MaxOutputResponse", "body", 44, 4), ("Flags", "body", 48, 4),
        ("input.Capabilities", "input", 0, 4), ("input.Guid", "input", 4, 16),
        ("input.SecurityMode", "input", 20, 2),
        ("input.DialectCount", "input", 22, 2),
        ("input.Dialects[0]", "input", 24, 2)),
    "valrsp": HDR_FIELDS + (
        ("hdr.Signature", "hdr", H_SIG, 16), ("hdr.SessionId", "hdr", 40, 8),
        ("StructureSize", "body", 0, 2), ("CtlCode", "body", 4, 4),
        ("FileId", "body", 8, 16), ("OutputOffset", "body", 32, 4),
        ("OutputCount", "body", 36, 4), ("Flags", "body", 40, 4),
        ("output.Capabilities", "output", 0, 4),
        ("output.Guid", "output", 4, 16),
        ("output.SecurityMode", "output", 20, 2),
        ("output.Dialect", "output", 22, 2)),
    "tcrsp": HDR_FIELDS + (
        ("hdr.Signature", "hdr", H_SIG, 16), ("hdr.TreeId", "hdr", 36, 4),
        ("ShareType", "body", 2, 1), ("ShareFlags", "body", 4, 4),
        ("Capabilities", "body", 8, 4), ("MaximalAccess", "body", 12, 4)),
}
# Byte areas a flipbyte lands in: (name, start, end) resolved per PDU.
AREAS = {
    "negreq": ("whole", "dialects", "contexts"),
    "negrsp": ("whole", "secbuf", "contexts"),
    "valreq": ("whole", "input"),
    "valrsp": ("whole", "output"),
    "tcrsp": ("whole",),
}
SPECIAL = {
    "negreq": ("dialect",),
    "negrsp": ("dialect",),
    "valreq": (),
    "valrsp": ("status", "error-unsigned", "forge", "unsign", "sigflip"),
    "tcrsp": ("unsign", "sigflip"),
}
# Where a transport fault can strike: every frame of that kind, on every
# connection of the attempt.
POINTS = ("negreq", "negrsp", "sessreq", "sessrsp", "valreq", "valrsp",
          "tcreq", "tcrsp")
FAULTS = (("reset", 3), ("delay", 3), ("halfrst", 2), ("half", 1),
          ("stall", 1))
CLASSES = (("none", 2), ("negreq", 3), ("negrsp", 3), ("valreq", 2),
           ("valrsp", 3), ("tcrsp", 1), ("transport", 2), ("quirk", 1))
QUIRKS = sp.EMULATOR_MODES
# A delay fault holds a frame this long at most: well inside cifs' response
# timeouts, so that it must not cost an honest mount.
MAX_DELAY = 3
RESPONSES = ("negrsp", "sessrsp", "valrsp", "tcrsp")


def weighted(rng, pairs):
    names = [n for n, _ in pairs]
    return rng.choices(names, weights=[w for _, w in pairs])[0]


def field_value(rng, width):
    """A replacement value: zero, all ones or random; bytes past 8."""
    kind = rng.choice(("zero", "ones", "random"))
    if width > 8:
        if kind == "zero":
            return bytes(width).hex()
        if kind == "ones":
            return (b"\xff" * width).hex()
        return rng.randbytes(width).hex()
    top = (1 << (8 * width)) - 1
    return {"zero": 0, "ones": top}.get(kind, rng.randint(0, top))


def draw(rng, target):
    """One content mutation of a PDU kind."""
    kind = weighted(rng, (("field", 6), ("area", 2), ("truncate", 1),
                          ("extend", 1), ("special", 2)))
    if kind == "special" and not SPECIAL[target]:
        kind = "field"
    if kind == "field":
        name, _, _, width = rng.choice(FIELDS[target])
        if name.endswith(("Dialect", "DialectRevision", "Dialects[0]")) \
                and rng.random() < 0.6:
            return {"op": "set", "field": name,
                    "value": rng.choice(DIALECT_VALUES)}
        if rng.random() < 0.5:
            return {"op": "flipbit", "field": name,
                    "bit": rng.randrange(8 * width)}
        return {"op": "set", "field": name, "value": field_value(rng, width)}
    if kind == "area":
        return {"op": "flipbyte", "area": rng.choice(AREAS[target]),
                "at": round(rng.random(), 4), "mask": rng.randint(1, 255)}
    if kind == "truncate":
        return {"op": "truncate", "at": round(rng.random(), 4)}
    if kind == "extend":
        return {"op": "extend", "bytes": rng.randbytes(rng.choice(
            (1, 4, 8, 24, 100))).hex()}
    op = rng.choice(SPECIAL[target])
    m = {"op": op}
    if op == "dialect":
        m.update(index=rng.randrange(5), value=rng.choice(DIALECT_VALUES))
    elif op in ("status", "error-unsigned"):
        m["status"] = rng.choice(ERROR_STATUSES)
    return m


def classes_for(vers):
    """CLASSES, with the weight of steps a dialect never takes moved to
    the step that stands in for them: 3.1.1 has no validate exchange but a
    signed tree connect answer; vers=2.1 has neither."""
    if vers == "3.1.1":
        return tuple((c, w + 5 if c == "tcrsp" else w) for c, w in CLASSES
                     if c not in ("valreq", "valrsp", "quirk"))
    if vers == "2.1":
        return tuple((c, w + 3 if c in ("negreq", "negrsp") else w)
                     for c, w in CLASSES
                     if c not in ("valreq", "valrsp", "quirk"))
    return CLASSES


def mutation_for(seed, attempt):
    """The mutation of one attempt: a pure function of (seed, attempt)."""
    rng = random.Random(f"smbvn-campaign/{seed}/{attempt}")
    cls = weighted(rng, classes_for(vers_for(attempt)))
    m = {"class": cls}
    if cls == "transport":
        m["target"] = rng.choice(POINTS)
        m["fault"] = weighted(rng, FAULTS)
        if m["fault"] == "delay":
            m["seconds"] = rng.randint(1, MAX_DELAY)
    elif cls == "quirk":
        m["target"] = "valrsp"
        m["mode"] = rng.choice(QUIRKS)
    elif cls != "none":
        m["target"] = cls
        m.update(draw(rng, cls))
    return m


def vers_for(attempt):
    return VERS[attempt % len(VERS)]


# --- applying a content mutation ---------------------------------------------

def area(pdu, target, name):
    """(start, end) of a named byte area in pdu; end may be start."""
    n = len(pdu)
    if name == "whole":
        return 0, n
    try:
        if target == "negreq" and name == "dialects":
            s = HDR_LEN + 36
            return s, min(n, s + 2 * u16(pdu, HDR_LEN + 2))
        if target == "negreq" and name == "contexts":
            off = u32(pdu, HDR_LEN + 28)
            return (min(off, n), n) if u16(pdu, HDR_LEN + 32) else (n, n)
        if target == "negrsp" and name == "secbuf":
            off, length = u16(pdu, HDR_LEN + 56), u16(pdu, HDR_LEN + 58)
            return min(off, n), min(off + length, n)
        if target == "negrsp" and name == "contexts":
            off = u32(pdu, HDR_LEN + 60)
            return (min(off, n), n) if u16(pdu, HDR_LEN + 6) else (n, n)
        if name == "input":
            off = u32(pdu, HDR_LEN + 24)
            return min(off, n), min(off + u32(pdu, HDR_LEN + 28), n)
        if name == "output":
            off = u32(pdu, HDR_LEN + 32)
            return min(off, n), min(off + u32(pdu, HDR_LEN + 36), n)
    except Exception:   # struct.error: the PDU is shorter than its header
        return n, n
    raise ValueError(f"no area {name} in {target}")


def field_range(pdu, target, name):
    for fname, base, off, width in FIELDS[target]:
        if fname != name:
            continue
        if base == "hdr":
            start = off
        elif base == "body":
            start = HDR_LEN + off
        else:
            start = area(pdu, target, base)[0] + off
        return start, start + width
    raise ValueError(f"no field {name} in {target}")


def set_bytes(out, start, width, value):
    if isinstance(value, str):
        data = bytes.fromhex(value)
    else:
        data = value.to_bytes(width, "little")
    out[start:start + width] = data


def apply(m, pdu, st=None):
    """(new PDU, change record) for a content mutation m of pdu.  The
    record says which bytes changed ("range", absolute, end exclusive),
    the length before and after, and whether anything changed at all."""
    out = bytearray(pdu)
    rec = {"target": m["target"], "op": m["op"], "len": [len(pdu)]}
    op = m["op"]
    start = end = None
    target = m["target"]
    if op in ("flipbit", "set"):
        start, end = field_range(pdu, target, m["field"])
        rec["field"] = m["field"]
        if end > len(pdu):
            rec.update(changed=False, why="field lies outside the PDU")
            return pdu, rec
        rec["old"] = pdu[start:end].hex()
        if op == "flipbit":
            out[start + m["bit"] // 8] ^= 1 << (m["bit"] % 8)
        else:
            set_bytes(out, start, end - start, m["value"])
    elif op == "dialect":
        s = HDR_LEN + 36 if target == "negreq" else HDR_LEN + 4
        if target == "negreq":
            count = u16(pdu, HDR_LEN + 2)
            if m["index"] >= count:
                rec.update(changed=False, why=f"only {count} dialects")
                return pdu, rec
            s += 2 * m["index"]
        start, end = s, s + 2
        rec["field"] = "Dialects[%d]" % m["index"] if target == "negreq" \
            else "DialectRevision"
        rec["old"] = pdu[start:end].hex()
        set_bytes(out, start, 2, m["value"])
    elif op == "flipbyte":
        a, b = area(pdu, target, m["area"])
        rec["area"] = m["area"]
        if a >= b:
            rec.update(changed=False, why=f"no {m['area']} in this PDU")
            return pdu, rec
        start = a + min(int(m["at"] * (b - a)), b - a - 1)
        end = start + 1
        out[start] ^= m["mask"]
    elif op == "truncate":
        start = min(int(m["at"] * len(pdu)), len(pdu) - 1)
        end = len(pdu)
        del out[start:]
    elif op == "extend":
        start = end = len(pdu)
        out += bytes.fromhex(m["bytes"])
        end = len(out)
    elif op == "status":
        # The status changes, the server's signature stays: a client that
        # verifies it sees a bad signature.
        start, end = H_STATUS, H_STATUS + 4
        rec["old"] = pdu[start:end].hex()
        set_bytes(out, start, 4, m["status"])
    elif op in ("error-unsigned", "forge"):
        new = sp.error_response(pdu, m["status"]) if op == "error-unsigned" \
            else sp.forged_validate_response(pdu, st or sp.ConnState())
        start, end = 0, max(len(pdu), len(new))
        out = bytearray(new)
    elif op == "unsign":
        start, end = H_FLAGS, H_SIG + sp.SIG_LEN
        flags = u32(out, H_FLAGS) & ~sp.FLAG_SIGNED
        out[H_FLAGS:H_FLAGS + 4] = flags.to_bytes(4, "little")
        out[H_SIG:H_SIG + sp.SIG_LEN] = bytes(sp.SIG_LEN)
    elif op == "sigflip":
        start, end = H_SIG + 5, H_SIG + 6
        out[H_SIG + 5] ^= 0x01
    else:
        raise ValueError(f"unknown op {op}")
    new = bytes(out)
    rec["len"].append(len(new))
    rec["range"] = [start, end]
    rec["changed"] = new != pdu
    if "old" in rec:
        rec["new"] = new[start:start + len(bytes.fromhex(rec["old"]))].hex()
    return new, rec


# --- the proxy ---------------------------------------------------------------

class CampaignConnection(sp.Connection):
    """One client connection under the mutation of the attempt that was
    announced last when it was accepted."""

    def __init__(self, proxy, mode, cid, creader, cwriter):
        super().__init__(proxy, mode, cid, creader, cwriter)
        self.attempt = proxy.attempt
        m = proxy.attempt if proxy.only is None else proxy.only
        self.mutation = {"class": "none"} if m is None \
            else mutation_for(proxy.seed, m)
        if self.mutation["class"] == "quirk":
            # smbproxy's emulator does the work: verify, change, re-sign.
            self.rule = self.mutation["mode"]
        self.rec = {"ev": "conn", "attempt": self.attempt, "conn": cid,
                    "mutation": self.mutation, "changes": [],
                    "faults": [], "offered": None, "client_dialect": None,
                    "server_dialect": None, "encrypted": False,
                    "emulator": []}
        self.valmids = set()

    async def run(self):
        try:
            await super().run()
        finally:
            r = self.rec
            r["no_change"] = not any(c.get("changed") for c in r["changes"]) \
                and not any(f["fault"] != "delay" for f in r["faults"])
            self.proxy.jlog(r)

    def point(self, pdu, from_client):
        """Which negotiation step this PDU is, or None."""
        cmd = u16(pdu, H_COMMAND)
        if from_client:
            if sp.is_validate_request(pdu):
                self.valmids.add(sp.mid(pdu))
                return "valreq"
            if cmd == sp.CMD_NEGOTIATE:
                if self.rec["offered"] is None and len(pdu) >= HDR_LEN + 36:
                    n = u16(pdu, HDR_LEN + 2)
                    self.rec["offered"] = [
                        u16(pdu, HDR_LEN + 36 + 2 * i) for i in range(n)
                        if HDR_LEN + 38 + 2 * i <= len(pdu)]
                return "negreq"
            return {sp.CMD_SESSION_SETUP: "sessreq",
                    sp.CMD_TREE_CONNECT: "tcreq"}.get(cmd)
        if sp.is_interim(pdu):
            return None
        if cmd == sp.CMD_IOCTL and sp.mid(pdu) in self.valmids:
            self.valmids.discard(sp.mid(pdu))
            return "valrsp"
        return {sp.CMD_NEGOTIATE: "negrsp", sp.CMD_SESSION_SETUP: "sessrsp",
                sp.CMD_TREE_CONNECT: "tcrsp"}.get(cmd)

    def mutate(self, ftype, payload, from_client, verdict):
        if ftype != 0 or payload[:4] == TRANSFORM_MAGIC:
            self.rec["encrypted"] |= payload[:4] == TRANSFORM_MAGIC
            return verdict
        if not sp.is_smb2(payload) or \
                sp.is_response(payload) == from_client:
            return verdict
        p = self.point(payload, from_client)
        m = self.mutation
        if p == "negrsp" and sp.is_negotiate_response(payload):
            self.rec["server_dialect"] = u16(payload, HDR_LEN + 4)
        if m["class"] == "quirk":
            if p == "valrsp":
                self.rec["emulator"] += [n for n in verdict.notes
                                         if n.startswith("EMULAT")]
                changed = verdict.pdu[4:] != payload
                self.rec["changes"].append(
                    {"target": p, "op": "quirk", "quirk": m["mode"],
                     "changed": changed})
            return self.negotiated(p, payload, verdict)
        if p is None or m.get("target") != p or verdict.action != sp.FORWARD:
            return self.negotiated(p, payload, verdict)
        if m["class"] == "transport":
            return self.fault(p, m, verdict)
        new, change = apply(m, payload, self.state)
        self.rec["changes"].append(change)
        v = sp.Verdict(sp.FORWARD, sp.frame(new), verdict.notes +
                       [f"CAMPAIGN attempt {self.attempt} {p}: "
                        f"{json.dumps(change)}"])
        return self.negotiated(p, new, v)

    def negotiated(self, p, pdu, verdict):
        """Note the dialect the client was told, after any change."""
        if p == "negrsp":
            # An error or malformed answer tells the client no dialect.
            self.rec["client_dialect"] = u16(pdu, HDR_LEN + 4) \
                if sp.is_negotiate_response(pdu) else None
        return verdict

    def fault(self, p, m, verdict):
        f = m["fault"]
        self.rec["faults"].append({"point": p, "fault": f})
        what = f"CAMPAIGN attempt {self.attempt} {p}: fault {f}"
        if f == "delay":
            return sp.Verdict(sp.DELAY, verdict.pdu, verdict.notes + [what],
                              delay=m["seconds"])
        if f == "reset":
            return sp.Verdict(sp.RESET, b"", verdict.notes + [what])
        # From here on the client hears nothing more from the server.
        self.state.stalled = True
        if f == "stall":
            return sp.Verdict(sp.DROP, b"", verdict.notes + [what])
        return sp.Verdict(sp.HALF if f == "half" else sp.HALF_RESET,
                          verdict.pdu, verdict.notes + [what])


class CampaignProxy(sp.Proxy):
    def __init__(self, args, log, creds):
        super().__init__(args.target, [(args.listen, "pass")], args.bind,
                         log, creds=creds)
        self.connection_class = CampaignConnection
        self.seed = args.seed
        self.only = args.only
        self.attempt = None
        self.control = args.control
        self.jfile = open(args.log, "a", buffering=1)

    def jlog(self, obj):
        self.jfile.write(json.dumps(obj, sort_keys=True) + "\n")

    async def announce(self, reader, writer):
        """Control port: "ATTEMPT i" makes i the attempt of every
        connection accepted from now on; the answer is "OK i VERS"."""
        try:
            line = (await reader.readline()).decode(errors="replace").split()
            if len(line) == 2 and line[0] == "ATTEMPT" and line[1].isdigit():
                i = int(line[1])
                self.attempt = i
                # A replay (--only) mounts with the replayed attempt's vers.
                j = i if self.only is None else self.only
                self.jlog({"ev": "attempt", "attempt": i, "vers": vers_for(j),
                           "mutation": mutation_for(self.seed, j)})
                writer.write(f"OK {i} {vers_for(j)}\n".encode())
            else:
                writer.write(b"ERR\n")
            await writer.drain()
        finally:
            writer.close()

    async def serve(self):
        if self.control:
            srv = await asyncio.start_server(self.announce, host=self.bind,
                                             port=self.control,
                                             reuse_address=True)
            self.servers.append(srv)
        await super().serve()


# --- the invariant -----------------------------------------------------------

# The NEGOTIATE fields the validate exchange replays (MS-SMB2 2.2.31.4,
# 2.2.32.6), as absolute byte ranges of the request and the response.
NEGREQ_VALIDATED = ((HDR_LEN + 2, HDR_LEN + 6), (HDR_LEN + 8, HDR_LEN + 28))
NEGRSP_VALIDATED = ((HDR_LEN + 2, HDR_LEN + 6), (HDR_LEN + 8, HDR_LEN + 28))
EVERYTHING = ((0, 1 << 30),)
VALIDATING_DIALECTS = (0x0300, 0x0302)
SMB2X = (0x0202, 0x0210)
ERRNO_REFUSED = 71      # EPROTO: smbvn's refusal


def covered(change, rec):
    """Whether a change touched something the negotiation's integrity
    covers on this connection (docs/CAMPAIGN.md, "What is covered")."""
    t = change["target"]
    offered = rec.get("offered") or []
    d = rec.get("client_dialect")
    if d not in DIALECTS:
        d = None    # no answer, an error answer, or a dialect cifs refuses
    if t in ("valreq", "valrsp"):
        return True     # signed by smbvn / verified by smbvn
    if t == "tcrsp":
        return d == 0x0311     # smbvn verifies the 3.1.1 tree connect answer
    if d == 0x0311 or rec.get("server_dialect") == 0x0311 or \
            (d is None and 0x0311 in offered):
        return True     # pre-authentication integrity: every byte
    # An unknown or missing dialect counts as validated unless only 2.x
    # was offered: then nothing is covered whatever the server answers.
    validated = d in VALIDATING_DIALECTS or \
        any(o >= 0x0300 for o in offered)
    if not validated:
        return False    # only 2.x offered: MS-SMB2 has nothing to check
    ranges = list(NEGREQ_VALIDATED if t == "negreq" else NEGRSP_VALIDATED)
    if t == "negreq":
        ranges.append((HDR_LEN + 36, HDR_LEN + 36 + 2 * len(offered)))
    a, b = change["range"]
    return any(a < e and s < b for s, e in ranges)


def quirk_class(change, rec):
    """A re-signed, authentic server answer: which quirks smbvn must refuse
    (docs/REFERENCE.md, "The exchange", step 4)."""
    if not change.get("changed"):
        return "honest"
    q = change["quirk"]
    if q in ("st-notsupp", "st-closed", "st-param", "st-devreq", "st-fsdrv"):
        d = rec.get("client_dialect")
        return "harmless" if d in SMB2X else "tampered"
    return "tampered"


def classify(conns):
    """honest / harmless / tampered / fault for the connections of one
    attempt, with the reasons."""
    why = []
    worst = "honest"
    order = ("honest", "harmless", "fault", "tampered")
    for rec in conns:
        for c in rec["changes"]:
            if c.get("op") == "quirk":
                k = quirk_class(c, rec)
            elif not c.get("changed"):
                continue
            else:
                k = "tampered" if covered(c, rec) else "harmless"
            if k != "honest":
                why.append(f"conn {rec['conn']}: {k}: {json.dumps(c)}")
            worst = max(worst, k, key=order.index)
        for f in rec["faults"]:
            if f["fault"] == "delay":
                continue
            # Cutting the validate exchange must never let a mount through;
            # elsewhere a fault may end either way.
            k = "tampered" if f["point"] in ("valreq", "valrsp") or \
                (f["point"] in ("tcreq", "tcrsp") and
                 rec.get("client_dialect") == 0x0311) else "fault"
            why.append(f"conn {rec['conn']}: {k}: fault {f['fault']} at "
                       f"{f['point']}")
            worst = max(worst, k, key=order.index)
    return worst, why


GUEST_RE = re.compile(r"CAMPAIGN (\d+) (\S+) (mounted|refused) rc=(\d+) "
                      r"errno=(\S+) read=(\S+) rule=(\S+) secs=([\d.]+)")


def parse_guest(lines):
    out = {}
    for line in lines:
        m = GUEST_RE.search(line)
        if m:
            i = int(m.group(1))
            out[i] = {"attempt": i, "vers": m.group(2),
                      "outcome": m.group(3), "rc": int(m.group(4)),
                      "errno": m.group(5), "read": m.group(6),
                      "rule": m.group(7), "secs": float(m.group(8))}
    return out


def parse_log(lines):
    conns = defaultdict(list)
    announced = {}
    for line in lines:
        line = line.strip()
        if not line:
            continue
        r = json.loads(line)
        if r.get("ev") == "conn" and r.get("attempt") is not None:
            conns[r["attempt"]].append(r)
        elif r.get("ev") == "attempt":
            announced[r["attempt"]] = r
    return conns, announced


COLUMNS = ("attempts", "tampered-accepted", "tampered-refused",
           "harmless-accepted", "harmless-refused", "honest-accepted",
           "honest-refused", "fault-accepted", "fault-refused", "cifs-wait",
           "hangs", "bad-errno")


BEFORE_TREE_CONNECT = ("negreq", "negrsp", "sessreq", "sessrsp")


def cifs_wait(conns):
    """Whether an attempt killed by the guest's timeout waited in cifs,
    where smbvn takes no part (docs/CAMPAIGN.md, "Waits in cifs"): a
    response whose header was changed or cut (MessageId, Status, Flags,
    ...), which cifs cannot match to its request and waits for without a
    timeout while echoes keep the connection alive; or a transport fault
    before any tree connect (NEGOTIATE, SESSION_SETUP).  The validate
    answer is not among them: that request and its wait are smbvn's."""
    for rec in conns:
        for c in rec["changes"]:
            if c.get("changed") and c["target"] in RESPONSES and \
                    c["target"] != "valrsp" and \
                    c.get("range") and c["range"][0] < HDR_LEN:
                return True
        for f in rec["faults"]:
            if f["point"] in BEFORE_TREE_CONNECT:
                return True
    return False


def check(guest, conns, announced, bound, kernel="?", seed=None,
          verbose=False, strict_hangs=False):
    """Apply the invariant; returns (table rows, violations, notes)."""
    table = defaultdict(Counter)
    violations = []
    errnos = Counter()
    for i in sorted(set(guest) | set(announced)):
        g = guest.get(i)
        vers = g["vers"] if g else announced[i]["vers"]
        row = table[vers]
        if g is None:
            violations.append(f"attempt {i} ({vers}): announced, but the "
                              "guest reported no result (hung or cut off)")
            row["hangs"] += 1
            continue
        row["attempts"] += 1
        cls, why = classify(conns.get(i, []))
        accepted = g["outcome"] == "mounted"
        key = f"{cls}-{'accepted' if accepted else 'refused'}"
        row[key] += 1
        tag = f"attempt {i} ({kernel} vers={vers} seed={seed})"
        mut = json.dumps(announced.get(i, {}).get("mutation"))
        if key == "tampered-accepted":
            violations.append(f"{tag}: TAMPERED AND ACCEPTED: {mut}; " +
                              "; ".join(why))
        if key == "honest-refused":
            violations.append(f"{tag}: HONEST AND REFUSED: errno="
                              f"{g['errno']} rule={g['rule']}: {mut}")
        if accepted and g["read"] == "bad":
            violations.append(f"{tag}: mounted and read the wrong data: "
                              f"{mut}; " + "; ".join(why))
        if accepted and cls == "honest" and g["read"] != "ok":
            violations.append(f"{tag}: honest mount, read {g['read']}: "
                              f"{mut}")
        if g["rc"] == 124 or g["secs"] > bound:
            if cifs_wait(conns.get(i, [])) and not accepted and \
                    not strict_hangs:
                row["cifs-wait"] += 1
            else:
                row["hangs"] += 1
                violations.append(f"{tag}: took {g['secs']} s (rc "
                                  f"{g['rc']}, bound {bound} s): {mut}")
        if verbose:
            print(f"ATTEMPT {i} {vers} {key} errno={g['errno']} "
                  f"rule={g['rule']} read={g['read']} secs={g['secs']} "
                  f"{mut} | " + "; ".join(why))
        if not accepted:
            errnos[g["errno"]] += 1
            if g["rule"] != "-" and g["errno"] != str(ERRNO_REFUSED):
                row["bad-errno"] += 1
                violations.append(f"{tag}: smbvn refused (rule={g['rule']})"
                                  f" but mount reported errno {g['errno']}, "
                                  f"not {ERRNO_REFUSED}: {mut}")
        if not conns.get(i) and g["rc"] == 0:
            violations.append(f"{tag}: mounted without any connection "
                              "through the proxy")
    return table, violations, errnos


def print_table(table, kernel, out=sys.stdout):
    print(f"{'kernel':22} {'vers':8} " +
          " ".join(f"{c:>9}" for c in ("attempts", "T-acc", "T-ref", "H-acc",
                                       "H-ref", "ok-acc", "ok-ref", "F-acc",
                                       "F-ref", "cifs-wt", "hangs",
                                       "bad-err")),
          file=out)
    total = Counter()
    for vers in VERS + tuple(v for v in sorted(table) if v not in VERS):
        if vers not in table:
            continue
        row = table[vers]
        total.update(row)
        print(f"{kernel:22} {vers:8} " +
              " ".join(f"{row[c]:>9}" for c in COLUMNS), file=out)
    print(f"{kernel:22} {'all':8} " +
          " ".join(f"{total[c]:>9}" for c in COLUMNS), file=out)
    return total


# --- CLI ---------------------------------------------------------------------

def cmd_plan(args):
    for i in range(args.first, args.first + args.n):
        print(json.dumps({"attempt": i, "vers": vers_for(i),
                          "mutation": mutation_for(args.seed, i)},
                         sort_keys=True))
    return 0


def cmd_proxy(args):
    creds = None
    if args.user:
        if sp.smbkeys is None:
            print(f"campaign: quirks need python3-cryptography: "
                  f"{sp.SMBKEYS_ERROR}", file=sys.stderr)
            return 1
        creds = sp.Credentials(user=args.user,
                               nthash=sp.smbkeys.nt_hash(args.password))
    log = sp.Log(args.text_log, False)
    try:
        asyncio.run(CampaignProxy(args, log, creds).serve())
    except OSError as e:
        print(f"campaign: {e}", file=sys.stderr)
        return 1
    return 0


def cmd_check(args):
    with open(args.guest, errors="replace") as f:
        guest = parse_guest(f)
    with open(args.log) as f:
        conns, announced = parse_log(f)
    table, violations, errnos = check(guest, conns, announced, args.bound,
                                      args.kernel, args.seed, args.verbose,
                                      args.strict_hangs)
    total = print_table(table, args.kernel)
    print("refusal errnos: " + " ".join(f"{e}:{n}" for e, n in
                                        sorted(errnos.items())))
    for v in violations:
        print("VIOLATION " + v)
    if args.expect and total["attempts"] < args.expect:
        print(f"VIOLATION only {total['attempts']} of {args.expect} "
              "attempts reported")
        violations.append("short")
    print(f"CAMPAIGN {args.kernel}: {total['attempts']} attempts, "
          f"{len(violations)} violations")
    return 1 if violations else 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("plan")
    p.add_argument("--seed", required=True)
    p.add_argument("--n", type=int, default=20)
    p.add_argument("--first", type=int, default=0)
    p = sub.add_parser("proxy")
    p.add_argument("--seed", required=True)
    p.add_argument("--target", type=sp.parse_hostport, required=True)
    p.add_argument("--listen", type=int, required=True)
    p.add_argument("--control", type=int)
    p.add_argument("--bind", default="127.0.0.1")
    p.add_argument("--log", required=True, help="JSON lines, appended")
    p.add_argument("--text-log", help="smbproxy's notes (default stderr)")
    p.add_argument("--only", type=int, metavar="ATTEMPT",
                   help="replay: every connection gets this attempt's "
                   "mutation")
    p.add_argument("--user")
    p.add_argument("--password")
    p = sub.add_parser("check")
    p.add_argument("--log", required=True)
    p.add_argument("--guest", required=True)
    p.add_argument("--kernel", default="?")
    p.add_argument("--seed")
    p.add_argument("--verbose", action="store_true",
                   help="one ATTEMPT line each: class, result, mutation")
    p.add_argument("--strict-hangs", action="store_true",
                   help="a wait in cifs over the bound fails the run too")
    p.add_argument("--bound", type=float, default=60.0,
                   help="seconds an attempt may take (default %(default)s)")
    p.add_argument("--expect", type=int, default=0,
                   help="attempts the guest should have reported")
    args = ap.parse_args(argv)
    return {"plan": cmd_plan, "proxy": cmd_proxy,
            "check": cmd_check}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
