/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * smbvn protocol core: everything that reads bytes from the network or
 * decides what to do with them.  It depends on nothing but plain C so that
 * the module, the KUnit suites and the userspace fuzz harnesses compile the
 * very same source.
 */
#ifndef SMBVN_PROTO_H
#define SMBVN_PROTO_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/string.h>
#else
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;
#endif

#define SMBVN_HDR_LEN		64
/* MS-SMB2 2.2.41: SMB2 TRANSFORM_HEADER */
#define SMBVN_TRANSFORM_HDR_LEN	52
#define SMBVN_GUID_LEN		16
#define SMBVN_SIG_LEN		16
#define SMBVN_SIG_OFF		48
/* MS-SMB2 2.2.1.2: fields of the SMB2 header */
#define SMBVN_HDR_COMMAND	12
#define SMBVN_HDR_FLAGS		16
#define SMBVN_HDR_TREE_ID	36
#define SMBVN_HDR_SESSION_ID	40
/* MS-SMB2 2.2.31: CtlCode, after StructureSize and Reserved */
#define SMBVN_IOCTL_CTLCODE	(SMBVN_HDR_LEN + 4)
#define SMBVN_MAX_DIALECTS	8
#define SMBVN_VNEG_OUT_LEN	24
/* Largest validate request: fixed 24 bytes plus the dialect array. */
#define SMBVN_VNEG_REQ_MAX	(24 + 2 * SMBVN_MAX_DIALECTS)

#define SMBVN_CMD_NEGOTIATE	0x0000
#define SMBVN_CMD_SESSION_SETUP	0x0001
#define SMBVN_CMD_LOGOFF	0x0002
#define SMBVN_CMD_TREE_CONNECT	0x0003
#define SMBVN_CMD_TREE_DISCONNECT 0x0004
#define SMBVN_CMD_IOCTL		0x000b
#define SMBVN_CMD_CANCEL	0x000c
#define SMBVN_CMD_ECHO		0x000d
#define SMBVN_FLAG_RESPONSE	0x00000001
#define SMBVN_FLAG_RELATED	0x00000004
#define SMBVN_FLAG_SIGNED	0x00000008
#define SMBVN_FSCTL_VALIDATE_NEGOTIATE_INFO 0x00140204

#define SMBVN_DIALECT_202	0x0202
#define SMBVN_DIALECT_210	0x0210
#define SMBVN_DIALECT_300	0x0300
#define SMBVN_DIALECT_302	0x0302
#define SMBVN_DIALECT_311	0x0311

#define SMBVN_STATUS_SUCCESS			0x00000000
#define SMBVN_STATUS_ACCESS_DENIED		0xc0000022
#define SMBVN_STATUS_NOT_SUPPORTED		0xc00000bb
#define SMBVN_STATUS_INVALID_DEVICE_REQUEST	0xc0000010
#define SMBVN_STATUS_FILE_CLOSED		0xc0000128
#define SMBVN_STATUS_FS_DRIVER_REQUIRED		0xc000019c

/* What the client sent in NEGOTIATE (MS-SMB2 2.2.3), as it was sent. */
struct smbvn_neg_req {
	u32 capabilities;
	u8 guid[SMBVN_GUID_LEN];
	u16 security_mode;
	u16 dialect_count;
	u16 dialects[SMBVN_MAX_DIALECTS];
};

/* What the NEGOTIATE response (2.2.4) said, raw, before cifs touched it. */
struct smbvn_neg_rsp {
	u32 capabilities;
	u8 guid[SMBVN_GUID_LEN];
	u16 security_mode;
	u16 dialect;
	u32 max_transact_size;	/* bytes */
	u32 max_read_size;	/* bytes */
	u32 max_write_size;	/* bytes */
};

/* MS-SMB2 3.2.5.2: the least MaxTransactSize/MaxReadSize/MaxWriteSize. */
#define SMBVN_NEG_MIN_SIZE	65536

/* How the validate response reached us: decides if it is authentic. */
enum smbvn_auth {
	SMBVN_AUTH_NONE,	/* SIGNED flag clear, not encrypted */
	SMBVN_AUTH_BAD_SIG,	/* SIGNED flag set, signature wrong */
	SMBVN_AUTH_SIGNED,	/* signature verified with the session key */
	SMBVN_AUTH_ENCRYPTED,	/* arrived in a transform header, decrypted */
	SMBVN_AUTH_NO_KEY,	/* no signing key to verify with: unknown */
};

/* Verdicts.  Everything >= SMBVN_V_FAIL_FIRST fails the tree connect. */
enum smbvn_verdict {
	SMBVN_V_VALIDATED,	/* signed success, every field matched */
	SMBVN_V_ACCEPT_PRE30,	/* signed error on a 2.x dialect */
	SMBVN_V_TCON_VERIFIED,	/* 3.1.1 tree connect answer authenticated */
	SMBVN_V_BIND_VERIFIED,	/* 3.1.1 binding's last answer authenticated */
	SMBVN_V_FAIL_FIRST,
	SMBVN_V_UNSIGNED = SMBVN_V_FAIL_FIRST,
	SMBVN_V_BAD_SIGNATURE,
	SMBVN_V_MALFORMED,
	SMBVN_V_ACCESS_DENIED,
	SMBVN_V_SERVER_REJECTED,	/* signed error on 3.0/3.0.2 */
	SMBVN_V_MISMATCH_CAPABILITIES,
	SMBVN_V_MISMATCH_GUID,
	SMBVN_V_MISMATCH_SECURITY_MODE,
	SMBVN_V_MISMATCH_DIALECT,
	SMBVN_V_NO_RESPONSE,	/* transport failed before any response */
	SMBVN_V_NO_KEY,		/* no signing key yet: nothing verifiable */
	SMBVN_V_RENEGOTIATED,	/* NEGOTIATE ran again during the exchange */
	SMBVN_V_DOWNGRADE_UNPROVEN,	/* 2.x error under strict_downgrade */
	SMBVN_V_TCON_UNSIGNED,		/* 3.1.1 tree connect answer unsigned */
	SMBVN_V_TCON_BAD_SIGNATURE,	/* ... signed with another key */
	SMBVN_V_BIND_UNSIGNED,		/* 3.1.1 binding's answer unsigned */
	SMBVN_V_BIND_BAD_SIGNATURE,	/* ... signed with another key */
	SMBVN_V_COUNT
};

/* What the policy says to do for one tree connect. */
enum smbvn_action {
	SMBVN_A_VALIDATE,
	SMBVN_A_VERIFY_TCON_311,	/* 3.1.1: the tree connect answer's signature */
	SMBVN_A_SKIP_2X_ONLY,	/* no 3.x dialect offered: nothing to check */
	SMBVN_A_DISABLED,	/* require_secure_negotiate = 0 */
	SMBVN_A_REFUSE_GUEST,	/* guest/anonymous cannot sign */
	SMBVN_A_REFUSE_NO_RECORD,	/* NEGOTIATE not seen by smbvn */
	SMBVN_A_COUNT
};

/* Expected and received values of the first field that failed. */
struct smbvn_detail {
	u32 status;
	u32 expected;
	u32 received;
	u8 guid_expected[SMBVN_GUID_LEN];
	u8 guid_received[SMBVN_GUID_LEN];
};

bool smbvn_hdr_ok(const u8 *pdu, size_t len, u16 cmd, bool response);
int smbvn_parse_neg_req(const u8 *pdu, size_t len, struct smbvn_neg_req *out);
int smbvn_parse_neg_rsp(const u8 *pdu, size_t len, struct smbvn_neg_rsp *out);
size_t smbvn_build_vneg_req(const struct smbvn_neg_req *req, u8 *buf,
			    size_t buflen);
enum smbvn_auth smbvn_auth_of(const u8 *pdu, size_t len, bool decrypted,
			      bool sig_ok);
bool smbvn_key_usable(const u8 *key, size_t len);
enum smbvn_auth smbvn_decrypted_auth(const u8 *pdu, size_t len, bool seen,
				     u64 transform_sid, u64 session_id);
size_t smbvn_decrypted_pdu_len(const u8 *pdu, size_t frame_len);
enum smbvn_verdict smbvn_judge(const u8 *pdu, size_t len,
			       enum smbvn_auth auth,
			       const struct smbvn_neg_rsp *neg,
			       struct smbvn_detail *d);
enum smbvn_action smbvn_policy(bool enforce, u16 dialect, bool have_record,
			       const struct smbvn_neg_req *req, bool guest);
bool smbvn_verdict_ok(enum smbvn_verdict v);
bool smbvn_neg_sizes_ok(const struct smbvn_neg_rsp *rsp,
			struct smbvn_detail *d);
bool smbvn_offers_3x(const struct smbvn_neg_req *req);
enum smbvn_verdict smbvn_judge_bind(const u8 *pdu, size_t len,
				    enum smbvn_auth auth);
enum smbvn_verdict smbvn_judge_tcon(const u8 *pdu, size_t len,
				    enum smbvn_auth auth);
enum smbvn_verdict smbvn_strict_downgrade(enum smbvn_verdict v,
					  bool strict);
bool smbvn_req_uses_tree(const u8 *pdu, size_t len, u64 *session_id,
			 u32 *tree_id);
const char *smbvn_verdict_name(enum smbvn_verdict v);
const char *smbvn_action_name(enum smbvn_action a);
const char *smbvn_dialect_name(u16 dialect);

/*
 * Responses the receive observer reads past its first test: NEGOTIATE, and
 * the commands whose answers an exchange waits for (exchange.c, hooks.c,
 * channel.c).  Every other response, every data PDU among them, passes on
 * this one test.
 */
#define SMBVN_RSP_WATCHED	((1u << SMBVN_CMD_NEGOTIATE) | \
				 (1u << SMBVN_CMD_SESSION_SETUP) | \
				 (1u << SMBVN_CMD_TREE_CONNECT) | \
				 (1u << SMBVN_CMD_IOCTL))

static inline bool smbvn_rsp_watched(u16 cmd)
{
	return cmd < 32 && (SMBVN_RSP_WATCHED >> cmd & 1);
}

static inline u16 smbvn_le16(const u8 *p)
{
	return (u16)(p[0] | (p[1] << 8));
}

static inline u32 smbvn_le32(const u8 *p)
{
	return (u32)p[0] | ((u32)p[1] << 8) | ((u32)p[2] << 16) |
	       ((u32)p[3] << 24);
}

static inline u64 smbvn_le64(const u8 *p)
{
	return (u64)smbvn_le32(p) | ((u64)smbvn_le32(p + 4) << 32);
}

static inline void smbvn_put_le16(u8 *p, u16 v)
{
	p[0] = v & 0xff;
	p[1] = v >> 8;
}

static inline void smbvn_put_le32(u8 *p, u32 v)
{
	p[0] = v & 0xff;
	p[1] = (v >> 8) & 0xff;
	p[2] = (v >> 16) & 0xff;
	p[3] = v >> 24;
}

#endif
