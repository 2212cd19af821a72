// SPDX-License-Identifier: GPL-2.0-only
/*
 * Pure protocol logic of smbvn, the deciding side: how an answer was
 * authenticated, the verdict on a FSCTL_VALIDATE_NEGOTIATE_INFO answer
 * (MS-SMB2 3.2.5.14.12), on a 3.1.1 TREE_CONNECT or binding answer, and
 * what a connection needs given the knobs.  proto.c parses; this file
 * judges.  Every length and offset comes from the network, so every read
 * is checked against the buffer length before it happens.
 */
#include "smbvn_proto.h"

/*
 * IOCTL response body offsets, MS-SMB2 2.2.32 (from the body start), and
 * VALIDATE_NEGOTIATE_INFO response offsets, 2.2.32.6 (from its start).
 */
#define IOCTLRSP_SIZE		49
#define IOCTLRSP_FIXED		48
#define IOCTLRSP_CTLCODE	4
#define IOCTLRSP_OUT_OFF	32
#define IOCTLRSP_OUT_COUNT	36
#define VNEG_CAPS		0
#define VNEG_GUID		4
#define VNEG_SECMODE		20
#define VNEG_DIALECT		22

enum smbvn_auth smbvn_auth_of(const u8 *pdu, size_t len, bool decrypted,
			      bool sig_ok)
{
	if (decrypted)
		return SMBVN_AUTH_ENCRYPTED;
	if (!pdu || len < SMBVN_HDR_LEN)
		return SMBVN_AUTH_NONE;
	if (!(smbvn_le32(pdu + 16) & SMBVN_FLAG_SIGNED))
		return SMBVN_AUTH_NONE;
	return sig_ok ? SMBVN_AUTH_SIGNED : SMBVN_AUTH_BAD_SIG;
}

/**
 * smbvn_key_usable() - may a signature be verified with this key?
 * @key: the signing key, @len bytes, or NULL when the caller has none
 * @len: key length in bytes (16 for every SMB2 signing algorithm)
 *
 * An all-zero key is what a zero-filled buffer holds when cifs had no key
 * to give (no session key yet during a session setup, a channel no longer
 * in the session): it is public, so a signature made with it proves
 * nothing and must not be checked at all (MS-SMB2 3.1.5.1 signs with a
 * secret key; no derivation yields sixteen zero bytes in practice).
 *
 * Return: true if @key is present and not all zero.
 */
bool smbvn_key_usable(const u8 *key, size_t len)
{
	size_t i;

	if (!key || !len)
		return false;
	for (i = 0; i < len; i++)
		if (key[i])
			return true;
	return false;
}

/**
 * smbvn_decrypted_auth() - is a decrypted answer authentic for a session?
 * @pdu: the decrypted SMB2 PDU, header first
 * @len: bytes of @pdu
 * @seen: whether the TRANSFORM_HEADER it came in was seen being decrypted
 * @transform_sid: that header's SessionId (MS-SMB2 2.2.41)
 * @session_id: the SessionId of the session that sent the request
 *
 * A transform proves only that its sender holds the decryption key of the
 * session its header names, which cifs looks up among every session on
 * the connection.  MS-SMB2 3.2.5.1.1.1 has a client discard a message
 * whose SMB2 header SessionId differs from the transform's; here both
 * must also be the validating session's (security review L4): another
 * session's keys, a guest's or an anonymous one's, may be known to an
 * attacker.
 *
 * Return: SMBVN_AUTH_ENCRYPTED when both SessionIds are @session_id,
 * SMBVN_AUTH_BAD_SIG when either is another, SMBVN_AUTH_NO_KEY when the
 * transform was not seen (nothing to go on), SMBVN_AUTH_NONE for a PDU
 * too short for an SMB2 header.
 */
enum smbvn_auth smbvn_decrypted_auth(const u8 *pdu, size_t len, bool seen,
				     u64 transform_sid, u64 session_id)
{
	if (!pdu || len < SMBVN_HDR_LEN)
		return SMBVN_AUTH_NONE;
	if (!seen)
		return SMBVN_AUTH_NO_KEY;
	if (transform_sid != session_id ||
	    smbvn_le64(pdu + SMBVN_HDR_SESSION_ID) != session_id)
		return SMBVN_AUTH_BAD_SIG;
	return SMBVN_AUTH_ENCRYPTED;
}

static bool dialect_is_2x(u16 d)
{
	return d == SMBVN_DIALECT_202 || d == SMBVN_DIALECT_210;
}

static enum smbvn_verdict mismatch(struct smbvn_detail *d,
				   enum smbvn_verdict v, u32 want, u32 got)
{
	d->expected = want;
	d->received = got;
	return v;
}

static enum smbvn_verdict judge_output(const u8 *pdu, size_t len,
				       const struct smbvn_neg_rsp *neg,
				       struct smbvn_detail *d)
{
	const u8 *b = pdu + SMBVN_HDR_LEN;
	const u8 *o;
	u32 off, count;

	if (len < SMBVN_HDR_LEN + IOCTLRSP_FIXED ||
	    smbvn_le16(b) != IOCTLRSP_SIZE)
		return mismatch(d, SMBVN_V_MALFORMED, IOCTLRSP_SIZE,
				len < SMBVN_HDR_LEN + 2 ? 0 : smbvn_le16(b));
	if (smbvn_le32(b + IOCTLRSP_CTLCODE) !=
	    SMBVN_FSCTL_VALIDATE_NEGOTIATE_INFO)
		return mismatch(d, SMBVN_V_MALFORMED,
				SMBVN_FSCTL_VALIDATE_NEGOTIATE_INFO,
				smbvn_le32(b + IOCTLRSP_CTLCODE));
	off = smbvn_le32(b + IOCTLRSP_OUT_OFF);
	count = smbvn_le32(b + IOCTLRSP_OUT_COUNT);
	if (count != SMBVN_VNEG_OUT_LEN)
		return mismatch(d, SMBVN_V_MALFORMED, SMBVN_VNEG_OUT_LEN,
				count);
	/* 64-bit sum: off + count must not wrap around to look in bounds. */
	if (off < SMBVN_HDR_LEN + IOCTLRSP_FIXED ||
	    (u64)off + count > (u64)len)
		return mismatch(d, SMBVN_V_MALFORMED, (u32)len, off);
	o = pdu + off;
	if (smbvn_le32(o + VNEG_CAPS) != neg->capabilities)
		return mismatch(d, SMBVN_V_MISMATCH_CAPABILITIES,
				neg->capabilities, smbvn_le32(o + VNEG_CAPS));
	if (memcmp(o + VNEG_GUID, neg->guid, SMBVN_GUID_LEN)) {
		memcpy(d->guid_expected, neg->guid, SMBVN_GUID_LEN);
		memcpy(d->guid_received, o + VNEG_GUID, SMBVN_GUID_LEN);
		return SMBVN_V_MISMATCH_GUID;
	}
	if (smbvn_le16(o + VNEG_SECMODE) != neg->security_mode)
		return mismatch(d, SMBVN_V_MISMATCH_SECURITY_MODE,
				neg->security_mode,
				smbvn_le16(o + VNEG_SECMODE));
	if (smbvn_le16(o + VNEG_DIALECT) != neg->dialect)
		return mismatch(d, SMBVN_V_MISMATCH_DIALECT, neg->dialect,
				smbvn_le16(o + VNEG_DIALECT));
	return SMBVN_V_VALIDATED;
}

/**
 * smbvn_judge() - the verdict on a FSCTL_VALIDATE_NEGOTIATE_INFO answer
 * @pdu: the answer, SMB2 header first (MS-SMB2 2.2.1.2, 2.2.32)
 * @len: bytes of @pdu
 * @auth: how the answer was authenticated (smbvn_auth_of())
 * @neg: what the NEGOTIATE response of the connection said
 * @d: filled with the status and the first field that differed
 *
 * MS-SMB2 3.2.5.14.12 with smbvn's strict rules: nothing of an answer
 * that is not authenticated is believed; a signed ACCESS_DENIED is a
 * refusal; any other signed error is accepted on 2.x only; a success
 * must carry exactly 24 bytes of output (what was asked: a server that
 * pads to the request's MaxOutputResponse fits, one that overruns it
 * does not), at an offset inside @len, whose Capabilities, ServerGuid,
 * SecurityMode and Dialect equal @neg's.
 *
 * Return: SMBVN_V_VALIDATED or SMBVN_V_ACCEPT_PRE30 to accept, any other
 * verdict to refuse.
 */
enum smbvn_verdict smbvn_judge(const u8 *pdu, size_t len,
			       enum smbvn_auth auth,
			       const struct smbvn_neg_rsp *neg,
			       struct smbvn_detail *d)
{
	u32 status;

	memset(d, 0, sizeof(*d));
	if (!smbvn_hdr_ok(pdu, len, SMBVN_CMD_IOCTL, true))
		return SMBVN_V_MALFORMED;
	/* Reported even when not believed: the log shows what was claimed. */
	status = smbvn_le32(pdu + 8);
	d->status = status;
	/* Nothing an unauthenticated answer says may be believed. */
	if (auth == SMBVN_AUTH_NO_KEY)
		return SMBVN_V_NO_KEY;
	if (auth == SMBVN_AUTH_NONE)
		return SMBVN_V_UNSIGNED;
	if (auth == SMBVN_AUTH_BAD_SIG)
		return SMBVN_V_BAD_SIGNATURE;
	if (status == SMBVN_STATUS_ACCESS_DENIED)
		return SMBVN_V_ACCESS_DENIED;
	/*
	 * MS-SMB2 3.2.5.14.12: any other status the server vouches for says
	 * it does not implement validation, which only a 2.x dialect may
	 * (NOT_SUPPORTED, FILE_CLOSED, INVALID_PARAMETER, ... by server
	 * family).  On 3.0/3.0.2 validation is mandatory for the server, and
	 * ksmbd answers a replay that does not match with INVALID_PARAMETER
	 * on a connection it keeps: there, an error is the only sign of
	 * tampering, so it is refused (stricter than Windows, smbvn(4)).
	 */
	if (status != SMBVN_STATUS_SUCCESS)
		return dialect_is_2x(neg->dialect) ? SMBVN_V_ACCEPT_PRE30 :
						     SMBVN_V_SERVER_REJECTED;
	return judge_output(pdu, len, neg, d);
}

/**
 * smbvn_strict_downgrade() - apply the strict_downgrade knob to a verdict
 * @v: the verdict of smbvn_judge()
 * @strict: true when 2.x connections after a 3.x offer must prove
 *	themselves with a validated answer (knob strict_downgrade=1)
 *
 * A signed error on a 2.x connection after a 3.x offer is either an old
 * server that does not implement validation or a 3.x server whose
 * NEGOTIATE request was rewritten down to 2.x and which answers the
 * replayed request with an error (ksmbd does, security review L7).  Only
 * an administrator who knows no 2.x-only server is left can tell them
 * apart; this lets them.
 *
 * Return: SMBVN_V_DOWNGRADE_UNPROVEN for SMBVN_V_ACCEPT_PRE30 when @strict,
 * else @v.
 */
enum smbvn_verdict smbvn_strict_downgrade(enum smbvn_verdict v, bool strict)
{
	return strict && v == SMBVN_V_ACCEPT_PRE30 ?
	       SMBVN_V_DOWNGRADE_UNPROVEN : v;
}

bool smbvn_offers_3x(const struct smbvn_neg_req *req)
{
	u16 i;

	for (i = 0; i < req->dialect_count && i < SMBVN_MAX_DIALECTS; i++)
		if (req->dialects[i] >= SMBVN_DIALECT_300)
			return true;
	return false;
}

enum smbvn_action smbvn_policy(bool enforce, u16 dialect, bool have_record,
			       const struct smbvn_neg_req *req, bool guest)
{
	if (!enforce)
		return SMBVN_A_DISABLED;
	/*
	 * 3.1.1 needs no record: pre-authentication integrity lets the server
	 * see a rewritten NEGOTIATE, and the signed tree connect answer shows
	 * the client that the server took part (MS-SMB2 3.2.5.5).
	 */
	if (dialect == SMBVN_DIALECT_311)
		return guest ? SMBVN_A_REFUSE_GUEST : SMBVN_A_VERIFY_TCON_311;
	if (!have_record || !req)
		return SMBVN_A_REFUSE_NO_RECORD;
	if (!smbvn_offers_3x(req))
		return SMBVN_A_SKIP_2X_ONLY;
	if (guest)
		return SMBVN_A_REFUSE_GUEST;
	return SMBVN_A_VALIDATE;
}

/**
 * smbvn_judge_tcon() - the verdict on a 3.1.1 TREE_CONNECT response
 * @pdu: the response, SMB2 header first (MS-SMB2 2.2.1.2, 2.2.10)
 * @len: bytes of @pdu
 * @auth: how it was authenticated (smbvn_auth_of(), smbvn_decrypted_auth())
 *
 * On 3.1.1 the client's tree connect is signed with a key derived from
 * the pre-authentication hash of the whole NEGOTIATE and SESSION_SETUP
 * exchange (MS-SMB2 3.2.4.1.1), and the server signs its answer with the
 * same key (3.3.4.1.1).  That signature, checked by the client, is the
 * only proof that the peer holds the session key and saw the NEGOTIATE
 * the client sent; stock cifs never checks it.  Only a successful answer
 * gets here: cifs fails the tree connect on any other.
 *
 * Return: SMBVN_V_TCON_VERIFIED for a signed or sealed TREE_CONNECT
 * response; SMBVN_V_NO_KEY when there was no key to check with;
 * SMBVN_V_TCON_UNSIGNED, SMBVN_V_TCON_BAD_SIGNATURE, or SMBVN_V_MALFORMED
 * for anything that is not a TREE_CONNECT response with a success status.
 */
enum smbvn_verdict smbvn_judge_tcon(const u8 *pdu, size_t len,
				    enum smbvn_auth auth)
{
	if (!smbvn_hdr_ok(pdu, len, SMBVN_CMD_TREE_CONNECT, true) ||
	    smbvn_le32(pdu + 8) != SMBVN_STATUS_SUCCESS)
		return SMBVN_V_MALFORMED;
	switch (auth) {
	case SMBVN_AUTH_SIGNED:
	case SMBVN_AUTH_ENCRYPTED:
		return SMBVN_V_TCON_VERIFIED;
	case SMBVN_AUTH_NO_KEY:
		return SMBVN_V_NO_KEY;
	case SMBVN_AUTH_BAD_SIG:
		return SMBVN_V_TCON_BAD_SIGNATURE;
	default:
		return SMBVN_V_TCON_UNSIGNED;
	}
}

/**
 * smbvn_judge_bind() - the verdict on the last answer of a 3.1.1 binding
 * @pdu: the final SESSION_SETUP response of a channel binding a session,
 *	SMB2 header first (MS-SMB2 2.2.6)
 * @len: bytes of @pdu
 * @auth: how it was authenticated with the new channel's signing key
 *
 * A channel that binds a 3.1.1 session derives its signing key from its
 * own pre-authentication hash, and the server signs the final
 * SESSION_SETUP response with that key (MS-SMB2 3.3.5.5.3; the client
 * checks it, 3.2.5.3.1).  No tree connect follows a binding, so that
 * signature is the only proof that the peer on the new channel holds the
 * session key and saw the NEGOTIATE the client sent there.  Only a
 * successful answer gets here: cifs fails the binding on any other.
 *
 * Return: SMBVN_V_BIND_VERIFIED for a signed answer; SMBVN_V_NO_KEY when
 * there was no key to check with; SMBVN_V_BIND_UNSIGNED,
 * SMBVN_V_BIND_BAD_SIGNATURE, or SMBVN_V_MALFORMED for anything that is
 * not a SESSION_SETUP response with a success status.
 */
enum smbvn_verdict smbvn_judge_bind(const u8 *pdu, size_t len,
				    enum smbvn_auth auth)
{
	if (!smbvn_hdr_ok(pdu, len, SMBVN_CMD_SESSION_SETUP, true) ||
	    smbvn_le32(pdu + 8) != SMBVN_STATUS_SUCCESS)
		return SMBVN_V_MALFORMED;
	switch (auth) {
	case SMBVN_AUTH_SIGNED:
		return SMBVN_V_BIND_VERIFIED;
	case SMBVN_AUTH_NO_KEY:
		return SMBVN_V_NO_KEY;
	case SMBVN_AUTH_BAD_SIG:
		return SMBVN_V_BIND_BAD_SIGNATURE;
	default:
		/* Sealed included: a binding is never encrypted. */
		return SMBVN_V_BIND_UNSIGNED;
	}
}

bool smbvn_verdict_ok(enum smbvn_verdict v)
{
	return v == SMBVN_V_VALIDATED || v == SMBVN_V_ACCEPT_PRE30 ||
	       v == SMBVN_V_TCON_VERIFIED || v == SMBVN_V_BIND_VERIFIED;
}

/**
 * smbvn_neg_sizes_ok() - can a client work with the NEGOTIATE's sizes?
 * @rsp: the raw NEGOTIATE response, as smbvn_parse_neg_rsp() read it
 * @d: on failure, expected = SMBVN_NEG_MIN_SIZE and received = the
 *	smallest of the three sizes, in bytes; status 0
 *
 * MS-SMB2 3.2.5.2: a client SHOULD disconnect when MaxTransactSize,
 * MaxReadSize or MaxWriteSize is below 65536 bytes, and Windows clients
 * do, so no server in use sends that.  On 3.0/3.0.2 nothing authenticates
 * these fields (the validation does not carry them) and cifs takes them
 * as they come: Debian 12's 6.1 then reads a file of the share as empty
 * when MaxReadSize is 0 (campaign seed 31, attempt 75).
 *
 * Return: true if all three are at least SMBVN_NEG_MIN_SIZE bytes.
 */
bool smbvn_neg_sizes_ok(const struct smbvn_neg_rsp *rsp,
			struct smbvn_detail *d)
{
	u32 least = rsp->max_transact_size;

	if (rsp->max_read_size < least)
		least = rsp->max_read_size;
	if (rsp->max_write_size < least)
		least = rsp->max_write_size;
	if (least >= SMBVN_NEG_MIN_SIZE)
		return true;
	memset(d, 0, sizeof(*d));
	d->expected = SMBVN_NEG_MIN_SIZE;
	d->received = least;
	return false;
}

const char *smbvn_verdict_name(enum smbvn_verdict v)
{
	static const char * const names[SMBVN_V_COUNT] = {
		[SMBVN_V_VALIDATED] = "validated",
		[SMBVN_V_ACCEPT_PRE30] = "signed-error-on-2x",
		[SMBVN_V_UNSIGNED] = "unsigned",
		[SMBVN_V_BAD_SIGNATURE] = "bad-signature",
		[SMBVN_V_MALFORMED] = "malformed",
		[SMBVN_V_ACCESS_DENIED] = "access-denied",
		[SMBVN_V_SERVER_REJECTED] = "server-rejected",
		[SMBVN_V_MISMATCH_CAPABILITIES] = "capabilities-mismatch",
		[SMBVN_V_MISMATCH_GUID] = "guid-mismatch",
		[SMBVN_V_MISMATCH_SECURITY_MODE] = "security-mode-mismatch",
		[SMBVN_V_MISMATCH_DIALECT] = "dialect-mismatch",
		[SMBVN_V_NO_RESPONSE] = "no-response",
		[SMBVN_V_NO_KEY] = "no-signing-key",
		[SMBVN_V_RENEGOTIATED] = "renegotiated",
		[SMBVN_V_DOWNGRADE_UNPROVEN] = "downgrade-unproven",
		[SMBVN_V_TCON_VERIFIED] = "tree-connect-verified",
		[SMBVN_V_TCON_UNSIGNED] = "tree-connect-unsigned",
		[SMBVN_V_TCON_BAD_SIGNATURE] = "tree-connect-bad-signature",
		[SMBVN_V_BIND_VERIFIED] = "session-setup-verified",
		[SMBVN_V_BIND_UNSIGNED] = "session-setup-unsigned",
		[SMBVN_V_BIND_BAD_SIGNATURE] = "session-setup-bad-signature",
	};

	if ((unsigned int)v >= SMBVN_V_COUNT)
		return "unknown";
	return names[v];
}

const char *smbvn_action_name(enum smbvn_action a)
{
	static const char * const names[SMBVN_A_COUNT] = {
		[SMBVN_A_VALIDATE] = "validate",
		[SMBVN_A_VERIFY_TCON_311] = "verify-tree-connect-3.1.1",
		[SMBVN_A_SKIP_2X_ONLY] = "not-applicable-2x-only-offer",
		[SMBVN_A_DISABLED] = "disabled",
		[SMBVN_A_REFUSE_GUEST] = "guest-refused",
		[SMBVN_A_REFUSE_NO_RECORD] = "negotiate-not-captured",
	};

	if ((unsigned int)a >= SMBVN_A_COUNT)
		return "unknown";
	return names[a];
}
