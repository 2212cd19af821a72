# SPDX-License-Identifier: GPL-2.0-only
"""smbkeys - the keys of an NTLMv2-authenticated SMB2/3 session, derived the
way a party that knows the user's password and sees the SESSION_SETUP
exchange can derive them, and SMB2 message signing with those keys.

smbproxy.py uses this to act like an honest but quirky server: it verifies
the real server's signature on an answer with the derived key before it
changes anything, then re-signs the changed answer.

Sources, by section:
  MS-NLMP 2.2.1.2 CHALLENGE_MESSAGE, 2.2.1.3 AUTHENTICATE_MESSAGE,
          2.2.2.5 the NegotiateFlags; 3.3.1 NTOWFv1 (MD4 of the UTF-16LE
          password); 3.3.2 NTOWFv2, NTProofStr and SessionBaseKey; 3.4.5.1
          KXKEY (NTLMv2: KeyExchangeKey = SessionBaseKey); 3.2.5.1.2 and
          3.2.5.2.2, the server's side: which UserDom it accepts, and the
          ExportedSessionKey = RC4K(KeyExchangeKey,
          EncryptedRandomSessionKey) under NTLMSSP_NEGOTIATE_KEY_EXCH.
  MS-SMB2 3.2.5.3.1 Session.SessionKey (first 16 bytes of the GSS key) and
          the signing keys per dialect; 3.1.4.2 the SP800-108 counter-mode
          KDF (HMAC-SHA256, r = 32, L = 128); 3.1.4.1 signing: HMAC-SHA256
          truncated to 16 bytes for 2.0.2/2.1, AES-128-CMAC for 3.x.

Only the Python standard library and python3-cryptography do the
cryptography; nothing here is hand-rolled.
"""

import hashlib
import hmac
import struct
from dataclasses import dataclass

from cryptography.hazmat.primitives import cmac, hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms
from cryptography.hazmat.primitives.kdf.kbkdf import (CounterLocation,
                                                      KBKDFHMAC, Mode)

try:
    # cryptography >= 43 keeps RC4 here; older releases only have the
    # second spelling (Debian 12's 38.0.4).
    from cryptography.hazmat.decrepit.ciphers.algorithms import ARC4
except ImportError:     # pragma: no cover - depends on the installed version
    ARC4 = algorithms.ARC4

# --- MS-NLMP ----------------------------------------------------------------

NTLMSSP_SIGNATURE = b"NTLMSSP\x00"
NTLM_CHALLENGE = 2
NTLM_AUTHENTICATE = 3
# 2.2.2.5 NEGOTIATE flags this module looks at.
NTLMSSP_NEGOTIATE_UNICODE = 0x00000001
NTLMSSP_NEGOTIATE_SIGN = 0x00000010
NTLMSSP_NEGOTIATE_SEAL = 0x00000020
NTLMSSP_NEGOTIATE_KEY_EXCH = 0x40000000
NTLMV1_RESPONSE_LEN = 24


class NoKey(Exception):
    """No key can be derived for this session; the text says why."""


class Md4Unavailable(NoKey):
    """Neither library computes MD4 here, so a password cannot be turned
    into the NT hash: give the hash itself."""


@dataclass
class Challenge:
    """2.2.1.2: what the server's CHALLENGE_MESSAGE contributes."""
    flags: int
    server_challenge: bytes
    target_name: str


@dataclass
class Authenticate:
    """2.2.1.3: the fields of the client's AUTHENTICATE_MESSAGE we need."""
    flags: int
    user: str
    domain: str
    workstation: str
    nt_response: bytes
    encrypted_random_session_key: bytes

    @property
    def anonymous(self):
        # 3.2.5.1.2: the server takes an empty user name and an empty
        # NtChallengeResponse for the ANONYMOUS user.
        return not self.user and not self.nt_response


class _Md4(hashes.HashAlgorithm):
    """MD4 looked up by name in the OpenSSL build python3-cryptography uses.

    OpenSSL 3 keeps MD4 in its "legacy" provider, which hashlib does not
    load but python3-cryptography does (for RC4 and friends); asking that
    OpenSSL for the digest named "md4" is the library's MD4, not ours."""
    name = "md4"
    digest_size = 16
    block_size = 64


def md4(data):
    """RFC 1320 MD4: hashlib's where its OpenSSL still offers it, else the
    one python3-cryptography's OpenSSL has (Debian 12's OpenSSL 3 gives
    hashlib none)."""
    try:
        return hashlib.new("md4", data).digest()
    except ValueError:
        pass
    try:
        h = hashes.Hash(_Md4())
        h.update(data)
        return h.finalize()
    except Exception as e:  # UnsupportedAlgorithm, InternalError, ...
        raise Md4Unavailable(
            "no MD4 in hashlib or in python3-cryptography's OpenSSL "
            f"({e}); pass the NT hash instead (--nthash, e.g. from "
            "'pdbedit -Lw')") from e


def nt_hash(password):
    """3.3.1 NTOWFv1: MD4(UNICODE(Passwd))."""
    return md4(password.encode("utf-16-le"))


def ntowfv2(nthash, user, domain):
    """3.3.2 NTOWFv2: HMAC_MD5(MD4(UNICODE(Passwd)),
    UNICODE(ConcatenationOf(Uppercase(User), UserDom)))."""
    return hmac.new(nthash, (user.upper() + domain).encode("utf-16-le"),
                    "md5").digest()


def find_ntlmssp(blob):
    """The NTLMSSP message inside a SESSION_SETUP security buffer, which
    SPNEGO (RFC 4178) may wrap; None when there is none (Kerberos)."""
    i = bytes(blob).find(NTLMSSP_SIGNATURE)
    return None if i < 0 else bytes(blob[i:])


def message_type(msg):
    if len(msg) < 12 or msg[:8] != NTLMSSP_SIGNATURE:
        raise ValueError("not an NTLMSSP message")
    return struct.unpack_from("<I", msg, 8)[0]


def _payload(msg, off):
    """A 2.2.1 *Fields triple (Len, MaxLen, BufferOffset) and its bytes."""
    length, _, where = struct.unpack_from("<HHI", msg, off)
    if where + length > len(msg):
        raise ValueError(f"NTLMSSP field at {off} runs past the message")
    return bytes(msg[where:where + length])


def _text(raw, flags):
    if flags & NTLMSSP_NEGOTIATE_UNICODE:
        return raw.decode("utf-16-le", errors="replace")
    return raw.decode("latin-1")    # OEM: the user's code page, unknowable


def parse_challenge(msg):
    if message_type(msg) != NTLM_CHALLENGE or len(msg) < 32:
        raise ValueError("not an NTLMSSP CHALLENGE_MESSAGE")
    flags = struct.unpack_from("<I", msg, 20)[0]
    return Challenge(flags=flags, server_challenge=bytes(msg[24:32]),
                     target_name=_text(_payload(msg, 12), flags))


def parse_authenticate(msg):
    if message_type(msg) != NTLM_AUTHENTICATE or len(msg) < 64:
        raise ValueError("not an NTLMSSP AUTHENTICATE_MESSAGE")
    flags = struct.unpack_from("<I", msg, 60)[0]
    return Authenticate(
        flags=flags,
        nt_response=_payload(msg, 20),
        domain=_text(_payload(msg, 28), flags),
        user=_text(_payload(msg, 36), flags),
        workstation=_text(_payload(msg, 44), flags),
        encrypted_random_session_key=_payload(msg, 52))


def rc4(key, data):
    """3.4.5.1's RC4K, from python3-cryptography."""
    return Cipher(ARC4(key), mode=None).encryptor().update(data)


@dataclass
class SessionKey:
    exported_session_key: bytes
    session_base_key: bytes
    response_key_nt: bytes
    domain: str     # the UserDom that reproduced the client's NTProofStr


def ntlmv2_session_key(nthash, challenge, auth, domains=()):
    """3.3.2, 3.4.5.1 and 3.2.5.2.2: the ExportedSessionKey of an NTLMv2
    authentication, as the server computes it.

    The client's choice of UserDom is not on the wire (clients use the
    domain they send, an upper-cased one, an empty one, which 3.2.5.1.2
    has servers accept, or the server's),
    so each candidate is tried until HMAC_MD5(ResponseKeyNT,
    ServerChallenge || temp) reproduces the client's NTProofStr: that both
    picks the right one and proves the password.  Raises NoKey if no
    candidate does (wrong password or user) or the response is not
    NTLMv2."""
    nt = auth.nt_response
    if len(nt) <= NTLMV1_RESPONSE_LEN:
        raise NoKey(f"NtChallengeResponse of {len(nt)} bytes is not "
                    "NTLMv2 (NTLMv1 is not supported)")
    proof, temp = nt[:16], nt[16:]
    tried = []
    for dom in (*domains, auth.domain, auth.domain.upper(), "",
                challenge.target_name):
        if dom in tried:
            continue
        tried.append(dom)
        key_nt = ntowfv2(nthash, auth.user, dom)
        mine = hmac.new(key_nt, challenge.server_challenge + temp,
                        "md5").digest()
        if hmac.compare_digest(mine, proof):
            break
    else:
        raise NoKey(
            f"NTProofStr of user {auth.user!r} not reproduced with the "
            f"given password for any domain of {tried!r}")
    base = hmac.new(key_nt, proof, "md5").digest()
    kxkey = base    # 3.4.5.1 KXKEY: NTLMv2 KeyExchangeKey = SessionBaseKey
    exported = kxkey
    if auth.flags & NTLMSSP_NEGOTIATE_KEY_EXCH and \
            auth.flags & (NTLMSSP_NEGOTIATE_SIGN | NTLMSSP_NEGOTIATE_SEAL) \
            and len(auth.encrypted_random_session_key) == 16:
        exported = rc4(kxkey, auth.encrypted_random_session_key)
    return SessionKey(exported_session_key=exported, session_base_key=base,
                      response_key_nt=key_nt, domain=dom)


# --- MS-SMB2 ----------------------------------------------------------------

SMB2_FLAGS_SIGNED = 0x00000008
H_FLAGS = 16
H_SIG = 48
SIG_LEN = 16
HDR_LEN = 64
DIALECT_300 = 0x0300
DIALECT_311 = 0x0311


def smb3_kdf(key, label, context, length=16):
    """3.1.4.2: SP800-108 KDF in counter mode, HMAC-SHA256 PRF, r = 32,
    L = 128; the fixed input is Label || 0x00 || Context || [L]2."""
    return KBKDFHMAC(algorithm=hashes.SHA256(), mode=Mode.CounterMode,
                     length=length, rlen=4, llen=4,
                     location=CounterLocation.BeforeFixed,
                     label=label, context=context,
                     fixed=None).derive(key)


def session_key_16(gss_key):
    """3.2.5.3.1: Session.SessionKey is the first 16 bytes of the GSS key,
    right-padded with zeros when shorter."""
    return bytes(gss_key[:16]).ljust(16, b"\x00")


def signing_key(session_key, dialect, preauth_hash=None):
    """3.2.5.3.1: Session.SigningKey for a dialect.  3.1.1 needs the
    session's pre-authentication integrity hash (3.2.5.3.1, 3.1.4.2)."""
    session_key = session_key_16(session_key)
    if dialect < DIALECT_300:
        return session_key
    if dialect < DIALECT_311:
        return smb3_kdf(session_key, b"SMB2AESCMAC\x00", b"SmbSign\x00")
    if preauth_hash is None:
        raise NoKey("dialect 3.1.1 keys need the pre-authentication "
                    "integrity hash, which is not tracked")
    return smb3_kdf(session_key, b"SMBSigningKey\x00", preauth_hash)


class Signer:
    """Signs and verifies SMB2 messages of one session (3.1.4.1)."""

    def __init__(self, session_key, dialect, preauth_hash=None):
        self.dialect = dialect
        self.key = signing_key(session_key, dialect, preauth_hash)
        self.alg = "HMAC-SHA256" if dialect < DIALECT_300 else \
            "AES-128-CMAC"

    def signature(self, pdu):
        """The signature of pdu (one SMB2 message: a compound member ends
        where its NextCommand points), its Signature field taken as zero."""
        if len(pdu) < HDR_LEN:
            raise ValueError("shorter than an SMB2 header")
        data = bytearray(pdu)
        data[H_SIG:H_SIG + SIG_LEN] = bytes(SIG_LEN)
        if self.dialect < DIALECT_300:
            return hmac.new(self.key, data, "sha256").digest()[:SIG_LEN]
        c = cmac.CMAC(algorithms.AES(self.key))
        c.update(bytes(data))
        return c.finalize()

    def verify(self, pdu):
        return hmac.compare_digest(self.signature(pdu),
                                   bytes(pdu[H_SIG:H_SIG + SIG_LEN]))

    def sign(self, pdu):
        """pdu with SMB2_FLAGS_SIGNED set and a fresh signature."""
        out = bytearray(pdu)
        flags = struct.unpack_from("<I", out, H_FLAGS)[0]
        struct.pack_into("<I", out, H_FLAGS, flags | SMB2_FLAGS_SIGNED)
        out[H_SIG:H_SIG + SIG_LEN] = self.signature(out)
        return bytes(out)
