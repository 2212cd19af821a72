// SPDX-License-Identifier: GPL-2.0-only
/*
 * Pure protocol logic of smbvn, the wire side: parse what NEGOTIATE sent
 * and received, build the FSCTL_VALIDATE_NEGOTIATE_INFO input, read the
 * headers the gate and the decryption path need.  judge.c decides on
 * what these return.  Every length and offset comes from the network, so
 * every read is checked against the buffer length before it happens.
 */
#include "smbvn_proto.h"

/* Body offsets, MS-SMB2 2.2.3 / 2.2.4 (from the body start). */
#define NEGREQ_SIZE		36
#define NEGREQ_DIALECT_COUNT	2
#define NEGREQ_SECMODE		4
#define NEGREQ_CAPS		8
#define NEGREQ_GUID		12
#define NEGREQ_DIALECTS		36
#define NEGRSP_SIZE		65
#define NEGRSP_FIXED		64
#define NEGRSP_SECMODE		2
#define NEGRSP_DIALECT		4
#define NEGRSP_GUID		8
#define NEGRSP_CAPS		24
#define NEGRSP_MAX_TRANSACT	28
#define NEGRSP_MAX_READ		32
#define NEGRSP_MAX_WRITE	36

/**
 * smbvn_hdr_ok() - is this an SMB2 header of the expected command?
 * @pdu: a PDU, SMB2 header first (MS-SMB2 2.2.1), or NULL
 * @len: bytes of @pdu that are readable
 * @cmd: the Command the header must carry
 * @response: true if SMB2_FLAGS_SERVER_TO_REDIR must be set, false if
 *	it must be clear
 *
 * Return: true for a 64-byte SMB2 header (ProtocolId 0xFE 'SMB',
 * StructureSize 64) of @cmd in the direction @response says.
 */
bool smbvn_hdr_ok(const u8 *pdu, size_t len, u16 cmd, bool response)
{
	u32 flags;

	if (!pdu || len < SMBVN_HDR_LEN)
		return false;
	if (pdu[0] != 0xfe || pdu[1] != 'S' || pdu[2] != 'M' || pdu[3] != 'B')
		return false;
	if (smbvn_le16(pdu + 4) != SMBVN_HDR_LEN)
		return false;
	if (smbvn_le16(pdu + 12) != cmd)
		return false;
	flags = smbvn_le32(pdu + 16);
	return !!(flags & SMBVN_FLAG_RESPONSE) == response;
}

int smbvn_parse_neg_req(const u8 *pdu, size_t len, struct smbvn_neg_req *out)
{
	const u8 *b;
	u16 count, i;

	if (!smbvn_hdr_ok(pdu, len, SMBVN_CMD_NEGOTIATE, false))
		return -1;
	b = pdu + SMBVN_HDR_LEN;
	if (len < SMBVN_HDR_LEN + NEGREQ_DIALECTS)
		return -1;
	if (smbvn_le16(b) != NEGREQ_SIZE)
		return -1;
	count = smbvn_le16(b + NEGREQ_DIALECT_COUNT);
	/* Replaying a list we had to cut would not be "exactly as sent". */
	if (count == 0 || count > SMBVN_MAX_DIALECTS)
		return -1;
	if (len - SMBVN_HDR_LEN - NEGREQ_DIALECTS < 2u * count)
		return -1;
	memset(out, 0, sizeof(*out));
	out->security_mode = smbvn_le16(b + NEGREQ_SECMODE);
	out->capabilities = smbvn_le32(b + NEGREQ_CAPS);
	memcpy(out->guid, b + NEGREQ_GUID, SMBVN_GUID_LEN);
	out->dialect_count = count;
	for (i = 0; i < count; i++)
		out->dialects[i] = smbvn_le16(b + NEGREQ_DIALECTS + 2 * i);
	return 0;
}

int smbvn_parse_neg_rsp(const u8 *pdu, size_t len, struct smbvn_neg_rsp *out)
{
	const u8 *b;

	if (!smbvn_hdr_ok(pdu, len, SMBVN_CMD_NEGOTIATE, true))
		return -1;
	b = pdu + SMBVN_HDR_LEN;
	if (len < SMBVN_HDR_LEN + NEGRSP_FIXED)
		return -1;
	if (smbvn_le32(pdu + 8) != SMBVN_STATUS_SUCCESS)
		return -1;
	if (smbvn_le16(b) != NEGRSP_SIZE)
		return -1;
	memset(out, 0, sizeof(*out));
	out->security_mode = smbvn_le16(b + NEGRSP_SECMODE);
	out->dialect = smbvn_le16(b + NEGRSP_DIALECT);
	memcpy(out->guid, b + NEGRSP_GUID, SMBVN_GUID_LEN);
	out->capabilities = smbvn_le32(b + NEGRSP_CAPS);
	out->max_transact_size = smbvn_le32(b + NEGRSP_MAX_TRANSACT);
	out->max_read_size = smbvn_le32(b + NEGRSP_MAX_READ);
	out->max_write_size = smbvn_le32(b + NEGRSP_MAX_WRITE);
	return 0;
}

size_t smbvn_build_vneg_req(const struct smbvn_neg_req *req, u8 *buf,
			    size_t buflen)
{
	size_t need;
	u16 i;

	if (req->dialect_count == 0 || req->dialect_count > SMBVN_MAX_DIALECTS)
		return 0;
	need = 24 + 2u * req->dialect_count;
	if (buflen < need)
		return 0;
	smbvn_put_le32(buf, req->capabilities);
	memcpy(buf + 4, req->guid, SMBVN_GUID_LEN);
	smbvn_put_le16(buf + 20, req->security_mode);
	smbvn_put_le16(buf + 22, req->dialect_count);
	for (i = 0; i < req->dialect_count; i++)
		smbvn_put_le16(buf + 24 + 2 * i, req->dialects[i]);
	return need;
}

/**
 * smbvn_decrypted_pdu_len() - the length of a PDU cifs decrypted in place
 * @pdu: the decrypted SMB2 PDU, header first, with @frame_len bytes
 *	readable after it
 * @frame_len: the length cifs records for it (mid->resp_buf_size): that of
 *	the whole transform frame it arrived in
 *
 * cifs decrypts a transform (MS-SMB2 2.2.41: a 52-byte TRANSFORM_HEADER,
 * then the encrypted PDUs) and moves the plaintext to the front of its
 * buffer, but keeps the frame's length; what lies past the plaintext is
 * left over.  Bounds are checked against the PDU itself (security review
 * N2), which for a compounded answer ends at its NextCommand (2.2.1.2).
 *
 * Return: the PDU length in bytes, or 0 if the frame cannot even hold a
 * transform header and an SMB2 header.
 */
size_t smbvn_decrypted_pdu_len(const u8 *pdu, size_t frame_len)
{
	size_t len, next;

	if (!pdu || frame_len < SMBVN_TRANSFORM_HDR_LEN + SMBVN_HDR_LEN)
		return 0;
	len = frame_len - SMBVN_TRANSFORM_HDR_LEN;
	next = smbvn_le32(pdu + 20);
	return next && next < len ? next : len;
}

/**
 * smbvn_req_uses_tree() - must this request wait for its tree's validation?
 * @pdu: a request as the client built it, SMB2 header first (MS-SMB2
 *	2.2.1.2), before signing or encryption
 * @len: bytes of @pdu that are readable
 * @session_id: set to the header's SessionId when returning true
 * @tree_id: set to the header's TreeId when returning true
 *
 * Security review L6: no request may use a tree before the tree connect
 * that yielded its TreeId was validated on the connection's current
 * NEGOTIATE.  Exempt are the exchanges validation itself needs or replays
 * (NEGOTIATE, SESSION_SETUP, TREE_CONNECT, the VALIDATE_NEGOTIATE_INFO
 * ioctl), tear-downs and probes that carry no data and take nothing from
 * the answer (LOGOFF, TREE_DISCONNECT, ECHO, CANCEL), and the related
 * members of a compound (3.2.4.1.4), which use the tree of the member
 * before them, checked in its turn.  A header too short to read is not
 * exempt: it names no tree that could have been validated.
 *
 * Return: true if the request needs (@session_id, @tree_id) validated.
 */
bool smbvn_req_uses_tree(const u8 *pdu, size_t len, u64 *session_id,
			 u32 *tree_id)
{
	*session_id = 0;
	*tree_id = 0;
	if (!pdu || len < SMBVN_HDR_LEN)
		return true;
	if (smbvn_le32(pdu + SMBVN_HDR_FLAGS) & SMBVN_FLAG_RELATED)
		return false;
	switch (smbvn_le16(pdu + SMBVN_HDR_COMMAND)) {
	case SMBVN_CMD_NEGOTIATE:
	case SMBVN_CMD_SESSION_SETUP:
	case SMBVN_CMD_LOGOFF:
	case SMBVN_CMD_TREE_CONNECT:
	case SMBVN_CMD_TREE_DISCONNECT:
	case SMBVN_CMD_CANCEL:
	case SMBVN_CMD_ECHO:
		return false;
	case SMBVN_CMD_IOCTL:
		if (len >= SMBVN_IOCTL_CTLCODE + 4 &&
		    smbvn_le32(pdu + SMBVN_IOCTL_CTLCODE) ==
		    SMBVN_FSCTL_VALIDATE_NEGOTIATE_INFO)
			return false;
		break;
	}
	*session_id = smbvn_le64(pdu + SMBVN_HDR_SESSION_ID);
	*tree_id = smbvn_le32(pdu + SMBVN_HDR_TREE_ID);
	return true;
}

const char *smbvn_dialect_name(u16 dialect)
{
	switch (dialect) {
	case SMBVN_DIALECT_202:
		return "2.0.2";
	case SMBVN_DIALECT_210:
		return "2.1";
	case SMBVN_DIALECT_300:
		return "3.0";
	case SMBVN_DIALECT_302:
		return "3.0.2";
	case SMBVN_DIALECT_311:
		return "3.1.1";
	default:
		return "unknown";
	}
}
