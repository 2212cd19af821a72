// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit suite smbvn_proto: the NEGOTIATE parsers, the validate request
 * builder and the small helpers of smbvn/proto.c.  Every length that the
 * parsers see comes from the network, so the boundary cases matter more
 * than the happy path.
 */
#include <linux/slab.h>
#include "smbvn_kunit.h"

/* Is every field of @got equal to @want, dialect array included? */
static void expect_req_eq(struct kunit *test, const struct smbvn_neg_req *want,
			  const struct smbvn_neg_req *got)
{
	unsigned int i;

	KUNIT_EXPECT_EQ(test, got->capabilities, want->capabilities);
	KUNIT_EXPECT_MEMEQ(test, got->guid, want->guid, SMBVN_GUID_LEN);
	KUNIT_EXPECT_EQ(test, got->security_mode, want->security_mode);
	KUNIT_ASSERT_EQ(test, got->dialect_count, want->dialect_count);
	for (i = 0; i < want->dialect_count; i++)
		KUNIT_EXPECT_EQ(test, got->dialects[i], want->dialects[i]);
}

static void neg_req_parses_smbclient_offer(struct kunit *test)
{
	u8 buf[KT_PDU_MAX];
	struct smbvn_neg_req out;
	size_t len = kt_neg_req_pdu(buf, &kt_req_smb3_00);

	KUNIT_ASSERT_EQ(test, len, (size_t)(64 + 36 + 6));
	KUNIT_ASSERT_EQ(test, smbvn_parse_neg_req(kt_dup(test, buf, len), len,
						  &out), 0);
	expect_req_eq(test, &kt_req_smb3_00, &out);
}

/*
 * A 3.1.1 offer carries padding and negotiate contexts after the dialect
 * array; the parser must take the dialects and ignore the rest.
 */
static void neg_req_ignores_negotiate_contexts(struct kunit *test)
{
	u8 buf[KT_PDU_MAX];
	struct smbvn_neg_req out;
	size_t len = kt_neg_req_pdu(buf, &kt_req_win10);

	/* 8-byte alignment pad, then a PREAUTH_INTEGRITY context header. */
	memset(buf + len, 0, 6);
	len += 6;
	kt_put32(buf + 64 + 28, len);		/* NegotiateContextOffset */
	kt_put16(buf + 64 + 32, 1);		/* NegotiateContextCount */
	kt_put16(buf + len, 0x0001);
	kt_put16(buf + len + 2, 38);
	memset(buf + len + 4, 0xa5, 4 + 38);
	len += 8 + 38;
	KUNIT_ASSERT_EQ(test, smbvn_parse_neg_req(kt_dup(test, buf, len), len,
						  &out), 0);
	expect_req_eq(test, &kt_req_win10, &out);
}

static void neg_req_accepts_max_dialects(struct kunit *test)
{
	struct smbvn_neg_req r = kt_req_win10, out;
	u8 buf[KT_PDU_MAX];
	size_t len;
	unsigned int i;

	r.dialect_count = SMBVN_MAX_DIALECTS;
	for (i = 0; i < SMBVN_MAX_DIALECTS; i++)
		r.dialects[i] = 0x0300 + i;
	len = kt_neg_req_pdu(buf, &r);
	KUNIT_ASSERT_EQ(test, smbvn_parse_neg_req(kt_dup(test, buf, len), len,
						  &out), 0);
	expect_req_eq(test, &r, &out);
}

/* A list the parser had to cut could not be replayed "exactly as sent". */
static void neg_req_rejects_too_many_dialects(struct kunit *test)
{
	struct smbvn_neg_req r = kt_req_win10, out;
	u8 buf[KT_PDU_MAX];
	size_t len;

	r.dialect_count = SMBVN_MAX_DIALECTS;
	len = kt_neg_req_pdu(buf, &r);
	kt_put16(buf + 64 + 2, SMBVN_MAX_DIALECTS + 1);
	kt_put16(buf + len, 0x0311);
	len += 2;
	KUNIT_EXPECT_EQ(test, smbvn_parse_neg_req(kt_dup(test, buf, len), len,
						  &out), -1);
	kt_put16(buf + 64 + 2, 0xffff);
	KUNIT_EXPECT_EQ(test, smbvn_parse_neg_req(kt_dup(test, buf, len), len,
						  &out), -1);
}

static void neg_req_rejects_zero_dialects(struct kunit *test)
{
	struct smbvn_neg_req out;
	u8 buf[KT_PDU_MAX];
	size_t len = kt_neg_req_pdu(buf, &kt_req_smb3_00);

	kt_put16(buf + 64 + 2, 0);
	KUNIT_EXPECT_EQ(test, smbvn_parse_neg_req(kt_dup(test, buf, len), len,
						  &out), -1);
}

/*
 * DialectCount promises one more dialect than the buffer holds: the
 * parser must notice before reading it (KASAN watches the exact-size copy).
 */
static void neg_req_rejects_dialects_past_buffer(struct kunit *test)
{
	struct smbvn_neg_req out;
	u8 buf[KT_PDU_MAX];
	size_t len = kt_neg_req_pdu(buf, &kt_req_win10);

	KUNIT_EXPECT_EQ(test, smbvn_parse_neg_req(kt_dup(test, buf, len - 1),
						  len - 1, &out), -1);
	kt_put16(buf + 64 + 2, kt_req_win10.dialect_count + 1);
	KUNIT_EXPECT_EQ(test, smbvn_parse_neg_req(kt_dup(test, buf, len), len,
						  &out), -1);
	/* The exact length still parses: the bound is not off by one. */
	kt_put16(buf + 64 + 2, kt_req_win10.dialect_count);
	KUNIT_EXPECT_EQ(test, smbvn_parse_neg_req(kt_dup(test, buf, len), len,
						  &out), 0);
}

/* Every prefix shorter than header + fixed body + one dialect fails. */
static void neg_req_rejects_every_truncation(struct kunit *test)
{
	u8 buf[KT_PDU_MAX];
	struct smbvn_neg_req out;
	size_t len = kt_neg_req_pdu(buf, &kt_req_smb3_00);
	size_t n;

	for (n = 0; n < len; n++)
		KUNIT_EXPECT_EQ_MSG(test,
				    smbvn_parse_neg_req(kt_dup(test, buf, n), n,
							&out), -1,
				    "accepted a %zu-byte prefix", n);
	KUNIT_EXPECT_EQ(test, smbvn_parse_neg_req(NULL, 0, &out), -1);
}

/*
 * Regression for the fuzz finding on NULL input: the parsers accept a
 * NULL PDU by contract (smbvn_hdr_ok() checks it) but computed pdu + 64 before
 * that check, which UBSan reports as arithmetic on a null pointer.  The
 * kernel's UBSAN has no pointer-overflow check, so this case can only pin
 * the observable contract: NULL, whatever the length, is refused without
 * a dereference.
 */
static void null_pdu_rejected(struct kunit *test)
{
	struct smbvn_neg_req req;
	struct smbvn_neg_rsp rsp;
	struct smbvn_detail d;

	KUNIT_EXPECT_EQ(test, smbvn_parse_neg_req(NULL, 0, &req), -1);
	KUNIT_EXPECT_EQ(test, smbvn_parse_neg_req(NULL, 4096, &req), -1);
	KUNIT_EXPECT_EQ(test, smbvn_parse_neg_rsp(NULL, 0, &rsp), -1);
	KUNIT_EXPECT_EQ(test, smbvn_parse_neg_rsp(NULL, 4096, &rsp), -1);
	KUNIT_EXPECT_EQ(test, smbvn_judge(NULL, 4096, SMBVN_AUTH_SIGNED,
					  &kt_rsp_300, &d), SMBVN_V_MALFORMED);
	KUNIT_EXPECT_EQ(test, smbvn_auth_of(NULL, 4096, false, true),
			SMBVN_AUTH_NONE);
}

static void neg_rsp_parses_raw_fields(struct kunit *test)
{
	u8 buf[KT_PDU_MAX];
	struct smbvn_neg_rsp out;
	size_t len = kt_neg_rsp_pdu(buf, &kt_rsp_300);

	KUNIT_ASSERT_EQ(test, smbvn_parse_neg_rsp(kt_dup(test, buf, len), len,
						  &out), 0);
	KUNIT_EXPECT_EQ(test, out.capabilities, kt_rsp_300.capabilities);
	KUNIT_EXPECT_MEMEQ(test, out.guid, kt_rsp_300.guid, SMBVN_GUID_LEN);
	KUNIT_EXPECT_EQ(test, out.security_mode, kt_rsp_300.security_mode);
	KUNIT_EXPECT_EQ(test, out.dialect, kt_rsp_300.dialect);
	KUNIT_EXPECT_EQ(test, out.max_transact_size,
			kt_rsp_300.max_transact_size);
	KUNIT_EXPECT_EQ(test, out.max_read_size, kt_rsp_300.max_read_size);
	KUNIT_EXPECT_EQ(test, out.max_write_size, kt_rsp_300.max_write_size);
}

/*
 * MS-SMB2 3.2.5.2: each of the three sizes is checked on its own, 65536
 * bytes is enough and one byte less is not; the smallest is reported.
 */
static void neg_sizes_floor(struct kunit *test)
{
	struct smbvn_neg_rsp r = kt_rsp_300;
	struct smbvn_detail d;
	u32 *field[] = { &r.max_transact_size, &r.max_read_size,
			 &r.max_write_size };
	unsigned int i;

	KUNIT_EXPECT_TRUE(test, smbvn_neg_sizes_ok(&r, &d));
	for (i = 0; i < ARRAY_SIZE(field); i++) {
		r = kt_rsp_300;
		*field[i] = SMBVN_NEG_MIN_SIZE;
		KUNIT_EXPECT_TRUE(test, smbvn_neg_sizes_ok(&r, &d));
		*field[i] = SMBVN_NEG_MIN_SIZE - 1;
		KUNIT_EXPECT_FALSE_MSG(test, smbvn_neg_sizes_ok(&r, &d),
				       "size %u accepted", i);
		KUNIT_EXPECT_EQ(test, d.expected, (u32)SMBVN_NEG_MIN_SIZE);
		KUNIT_EXPECT_EQ(test, d.received, (u32)SMBVN_NEG_MIN_SIZE - 1);
		*field[i] = 0;
		KUNIT_EXPECT_FALSE(test, smbvn_neg_sizes_ok(&r, &d));
		KUNIT_EXPECT_EQ(test, d.received, 0u);
	}
}

/*
 * Capability bits the client does not know must survive parsing: the
 * comparison is against the raw wire value, unlike cifs's masked copy.
 */
static void neg_rsp_keeps_unknown_capability_bits(struct kunit *test)
{
	struct smbvn_neg_rsp r = kt_rsp_300, out;
	u8 buf[KT_PDU_MAX];
	size_t len;

	r.capabilities = 0xfffffff0;
	r.security_mode = 0xfffe;
	len = kt_neg_rsp_pdu(buf, &r);
	KUNIT_ASSERT_EQ(test, smbvn_parse_neg_rsp(kt_dup(test, buf, len), len,
						  &out), 0);
	KUNIT_EXPECT_EQ(test, out.capabilities, 0xfffffff0u);
	KUNIT_EXPECT_EQ(test, out.security_mode, 0xfffe);
}

/* The fixed body is 64 bytes; the security blob is optional. */
static void neg_rsp_minimal_and_truncated(struct kunit *test)
{
	u8 buf[KT_PDU_MAX];
	struct smbvn_neg_rsp out;
	size_t n;

	kt_neg_rsp_pdu(buf, &kt_rsp_300);
	KUNIT_EXPECT_EQ(test, smbvn_parse_neg_rsp(kt_dup(test, buf, 128), 128,
						  &out), 0);
	for (n = 0; n < 128; n++)
		KUNIT_EXPECT_EQ_MSG(test,
				    smbvn_parse_neg_rsp(kt_dup(test, buf, n), n,
							&out), -1,
				    "accepted a %zu-byte prefix", n);
	KUNIT_EXPECT_EQ(test, smbvn_parse_neg_rsp(NULL, 0, &out), -1);
}

static void neg_rsp_rejects_error_status(struct kunit *test)
{
	u8 buf[KT_PDU_MAX];
	struct smbvn_neg_rsp out;
	size_t len = kt_neg_rsp_pdu(buf, &kt_rsp_300);

	kt_put32(buf + KT_HDR_STATUS_OFF, KT_STATUS_INVALID_PARAMETER);
	KUNIT_EXPECT_EQ(test, smbvn_parse_neg_rsp(kt_dup(test, buf, len), len,
						  &out), -1);
}

/*
 * Header and body sanity, table driven: each row spoils one thing in an
 * otherwise valid NEGOTIATE request or response and expects rejection.
 */
struct hdr_case {
	const char *desc;
	bool rsp;		/* spoil the response (else the request) */
	unsigned int off;	/* byte offset to overwrite */
	unsigned int width;	/* 1, 2 or 4 */
	u32 val;
};

static const struct hdr_case hdr_cases[] = {
	{ "req SMB1 protocol id", false, 0, 1, 0xff },
	{ "req transform protocol id", false, 0, 1, 0xfd },
	{ "req header StructureSize 0", false, 4, 2, 0 },
	{ "req header StructureSize 65", false, 4, 2, 65 },
	{ "req command TREE_CONNECT", false, 12, 2, KT_CMD_TREE_CONNECT },
	{ "req command IOCTL", false, 12, 2, SMBVN_CMD_IOCTL },
	{ "req with response flag", false, 16, 4, SMBVN_FLAG_RESPONSE },
	{ "req body StructureSize 35", false, 64, 2, 35 },
	{ "req body StructureSize 37", false, 64, 2, 37 },
	{ "rsp SMB1 protocol id", true, 0, 1, 0xff },
	{ "rsp header StructureSize 63", true, 4, 2, 63 },
	{ "rsp command SESSION_SETUP", true, 12, 2, 0x0001 },
	{ "rsp without response flag", true, 16, 4, SMBVN_FLAG_SIGNED },
	{ "rsp body StructureSize 64", true, 64, 2, 64 },
	{ "rsp body StructureSize 49", true, 64, 2, 49 },
};

static void hdr_case_desc(const struct hdr_case *c, char *desc)
{
	strscpy(desc, c->desc, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(hdr, hdr_cases, hdr_case_desc);

static void neg_parsers_reject_bad_header(struct kunit *test)
{
	const struct hdr_case *c = test->param_value;
	struct smbvn_neg_req req;
	struct smbvn_neg_rsp rsp;
	u8 buf[KT_PDU_MAX];
	size_t len;
	int rc;

	len = c->rsp ? kt_neg_rsp_pdu(buf, &kt_rsp_300) :
		       kt_neg_req_pdu(buf, &kt_req_smb3_00);
	if (c->width == 1)
		buf[c->off] = c->val;
	else if (c->width == 2)
		kt_put16(buf + c->off, c->val);
	else
		kt_put32(buf + c->off, c->val);
	rc = c->rsp ? smbvn_parse_neg_rsp(kt_dup(test, buf, len), len, &rsp) :
		      smbvn_parse_neg_req(kt_dup(test, buf, len), len, &req);
	KUNIT_EXPECT_EQ(test, rc, -1);
}

/*
 * Request replay exactness (MS-SMB2 3.2.5.5): the validate request body
 * must carry Capabilities, ClientGuid, SecurityMode, DialectCount and every
 * dialect exactly as the parsed NEGOTIATE request had them, at the 2.2.31.4
 * offsets.  The expected bytes are read here with explicit offsets.
 */
static const struct smbvn_neg_req replay_one_300 = {
	.capabilities = 0x00000047,
	.guid = { 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
		  0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10 },
	.security_mode = 0x0002,
	.dialect_count = 1,
	.dialects = { 0x0300 },
};

static const struct smbvn_neg_req replay_max = {
	.capabilities = 0xdeadbeef,
	.guid = { 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0xfa, 0xf9, 0xf8,
		  0xf7, 0xf6, 0xf5, 0xf4, 0xf3, 0xf2, 0xf1, 0xf0 },
	.security_mode = 0xffff,
	.dialect_count = SMBVN_MAX_DIALECTS,
	.dialects = { 0x0202, 0x0210, 0x0222, 0x0224, 0x0300, 0x0302,
		      0x0310, 0x0311 },
};

struct replay_case {
	const char *desc;
	const struct smbvn_neg_req *req;
};

static const struct replay_case replay_cases[] = {
	{ "smbclient SMB3_00 offer", &kt_req_smb3_00 },
	{ "windows 10 offer", &kt_req_win10 },
	{ "cifs vers=3.0 single dialect", &replay_one_300 },
	{ "eight dialects, all-ones fields", &replay_max },
};

static void replay_case_desc(const struct replay_case *c, char *desc)
{
	strscpy(desc, c->desc, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(replay, replay_cases, replay_case_desc);

static void vneg_req_replays_negotiate_exactly(struct kunit *test)
{
	const struct replay_case *c = test->param_value;
	u8 pdu[KT_PDU_MAX], out[SMBVN_VNEG_REQ_MAX + 8];
	struct smbvn_neg_req parsed;
	size_t len, n;
	unsigned int i;

	len = kt_neg_req_pdu(pdu, c->req);
	KUNIT_ASSERT_EQ(test, smbvn_parse_neg_req(kt_dup(test, pdu, len), len,
						  &parsed), 0);
	memset(out, 0xcc, sizeof(out));
	n = smbvn_build_vneg_req(&parsed, out, sizeof(out));
	KUNIT_ASSERT_EQ(test, n, (size_t)(24 + 2 * c->req->dialect_count));
	/* Each field against the NEGOTIATE bytes as they were on the wire. */
	KUNIT_EXPECT_MEMEQ(test, out + 0, pdu + 64 + 8, 4);	/* Capabilities */
	KUNIT_EXPECT_MEMEQ(test, out + 4, pdu + 64 + 12, 16);	/* ClientGuid */
	KUNIT_EXPECT_MEMEQ(test, out + 20, pdu + 64 + 4, 2);	/* SecurityMode */
	KUNIT_EXPECT_MEMEQ(test, out + 22, pdu + 64 + 2, 2);	/* DialectCount */
	KUNIT_EXPECT_MEMEQ(test, out + 24, pdu + 64 + 36,
			   2 * c->req->dialect_count);		/* Dialects */
	/* Nothing written past the length it reported. */
	for (i = n; i < sizeof(out); i++)
		KUNIT_EXPECT_EQ(test, out[i], 0xcc);
}

static void vneg_req_buffer_bounds(struct kunit *test)
{
	u8 out[SMBVN_VNEG_REQ_MAX];
	size_t need = 24 + 2 * kt_req_win10.dialect_count;

	memset(out, 0xcc, sizeof(out));
	KUNIT_EXPECT_EQ(test, smbvn_build_vneg_req(&kt_req_win10, out,
						   need - 1), (size_t)0);
	KUNIT_EXPECT_EQ(test, smbvn_build_vneg_req(&kt_req_win10, out, 0),
			(size_t)0);
	/* A refused build must not have written a partial body. */
	KUNIT_EXPECT_EQ(test, out[0], 0xcc);
	KUNIT_EXPECT_EQ(test, smbvn_build_vneg_req(&kt_req_win10, out, need),
			need);
	KUNIT_EXPECT_EQ(test, smbvn_build_vneg_req(&replay_max, out,
						   SMBVN_VNEG_REQ_MAX),
			(size_t)SMBVN_VNEG_REQ_MAX);
}

static void vneg_req_rejects_bad_dialect_count(struct kunit *test)
{
	struct smbvn_neg_req r = kt_req_win10;
	u8 out[SMBVN_VNEG_REQ_MAX * 2];

	r.dialect_count = 0;
	KUNIT_EXPECT_EQ(test, smbvn_build_vneg_req(&r, out, sizeof(out)),
			(size_t)0);
	r.dialect_count = SMBVN_MAX_DIALECTS + 1;
	KUNIT_EXPECT_EQ(test, smbvn_build_vneg_req(&r, out, sizeof(out)),
			(size_t)0);
}

/* Log lines print these names; a NULL would oops in printk's %s. */
/*
 * The receive observer returns on this test alone: a command missing here
 * would be an answer smbvn waits for and never sees (a refusal for want of
 * evidence), one too many only costs time on every such response.
 */
static void rsp_watched_only_negotiate_and_answers(struct kunit *test)
{
	static const u16 watched[] = {
		SMBVN_CMD_NEGOTIATE, SMBVN_CMD_SESSION_SETUP,
		SMBVN_CMD_TREE_CONNECT, SMBVN_CMD_IOCTL,
	};
	unsigned int cmd, i;
	bool want;

	for (cmd = 0; cmd <= 0xffff; cmd++) {
		want = false;
		for (i = 0; i < ARRAY_SIZE(watched); i++)
			want |= cmd == watched[i];
		KUNIT_EXPECT_EQ_MSG(test, smbvn_rsp_watched(cmd), want,
				    "command 0x%x", cmd);
	}
}

static void names_never_null(struct kunit *test)
{
	static const int odd[] = { -1, -100, 0x7fffffff };
	unsigned int i, j;
	const char *s;

	for (i = 0; i <= SMBVN_V_COUNT + 1; i++) {
		s = smbvn_verdict_name(i);
		KUNIT_ASSERT_NOT_NULL(test, s);
		KUNIT_EXPECT_NE(test, s[0], '\0');
		if (i < SMBVN_V_COUNT)
			KUNIT_EXPECT_STRNEQ(test, s, "unknown");
		/* Distinct names, or the log could not tell verdicts apart. */
		for (j = 0; j < i && i < SMBVN_V_COUNT; j++)
			KUNIT_EXPECT_STRNEQ(test, s, smbvn_verdict_name(j));
	}
	for (i = 0; i <= SMBVN_A_COUNT + 1; i++) {
		s = smbvn_action_name(i);
		KUNIT_ASSERT_NOT_NULL(test, s);
		KUNIT_EXPECT_NE(test, s[0], '\0');
		if (i < SMBVN_A_COUNT)
			KUNIT_EXPECT_STRNEQ(test, s, "unknown");
		for (j = 0; j < i && i < SMBVN_A_COUNT; j++)
			KUNIT_EXPECT_STRNEQ(test, s, smbvn_action_name(j));
	}
	for (i = 0; i < ARRAY_SIZE(odd); i++) {
		KUNIT_EXPECT_STREQ(test, smbvn_verdict_name(odd[i]), "unknown");
		KUNIT_EXPECT_STREQ(test, smbvn_action_name(odd[i]), "unknown");
	}
	for (i = 0; i <= 0xffff; i++)
		KUNIT_ASSERT_NOT_NULL(test, smbvn_dialect_name(i));
	KUNIT_EXPECT_STREQ(test, smbvn_dialect_name(0x0202), "2.0.2");
	KUNIT_EXPECT_STREQ(test, smbvn_dialect_name(0x0210), "2.1");
	KUNIT_EXPECT_STREQ(test, smbvn_dialect_name(0x0300), "3.0");
	KUNIT_EXPECT_STREQ(test, smbvn_dialect_name(0x0302), "3.0.2");
	KUNIT_EXPECT_STREQ(test, smbvn_dialect_name(0x0311), "3.1.1");
	KUNIT_EXPECT_STREQ(test, smbvn_dialect_name(0x02ff), "unknown");
}

/*
 * strict_downgrade touches one verdict: a knob that also turned refusals
 * into something else would be a way to relax smbvn.
 */
static void strict_downgrade_maps_only_pre30(struct kunit *test)
{
	unsigned int v;

	for (v = 0; v <= SMBVN_V_COUNT; v++) {
		KUNIT_EXPECT_EQ(test, smbvn_strict_downgrade(v, false), v);
		KUNIT_EXPECT_EQ_MSG(test, smbvn_strict_downgrade(v, true),
				    v == SMBVN_V_ACCEPT_PRE30 ?
				    SMBVN_V_DOWNGRADE_UNPROVEN : v,
				    "verdict %s", smbvn_verdict_name(v));
	}
	KUNIT_EXPECT_FALSE(test, smbvn_verdict_ok(SMBVN_V_DOWNGRADE_UNPROVEN));
	KUNIT_EXPECT_STREQ(test, smbvn_verdict_name(SMBVN_V_SERVER_REJECTED),
			   "server-rejected");
}

/*
 * 3.1.1's tree connect answer: believed only when authenticated, and only
 * when it is a successful TREE_CONNECT response at all.
 */
static void judge_tcon_truth_table(struct kunit *test)
{
	static const struct {
		enum smbvn_auth auth;
		enum smbvn_verdict want;
	} rows[] = {
		{ SMBVN_AUTH_SIGNED, SMBVN_V_TCON_VERIFIED },
		{ SMBVN_AUTH_ENCRYPTED, SMBVN_V_TCON_VERIFIED },
		{ SMBVN_AUTH_NONE, SMBVN_V_TCON_UNSIGNED },
		{ SMBVN_AUTH_BAD_SIG, SMBVN_V_TCON_BAD_SIGNATURE },
		{ SMBVN_AUTH_NO_KEY, SMBVN_V_NO_KEY },
	};
	u8 pdu[SMBVN_HDR_LEN + 16] = {};
	unsigned int i;

	kt_hdr(pdu, SMBVN_CMD_TREE_CONNECT, SMBVN_FLAG_RESPONSE, 0, 9);
	for (i = 0; i < ARRAY_SIZE(rows); i++)
		KUNIT_EXPECT_EQ_MSG(test, smbvn_judge_tcon(pdu, sizeof(pdu),
							   rows[i].auth),
				    rows[i].want, "row %u", i);
	/* Not a TREE_CONNECT response, or not a success: malformed. */
	KUNIT_EXPECT_EQ(test, smbvn_judge_tcon(pdu, SMBVN_HDR_LEN - 1,
					       SMBVN_AUTH_SIGNED),
			SMBVN_V_MALFORMED);
	kt_hdr(pdu, SMBVN_CMD_IOCTL, SMBVN_FLAG_RESPONSE, 0, 9);
	KUNIT_EXPECT_EQ(test, smbvn_judge_tcon(pdu, sizeof(pdu),
					       SMBVN_AUTH_SIGNED),
			SMBVN_V_MALFORMED);
	kt_hdr(pdu, SMBVN_CMD_TREE_CONNECT, 0, 0, 9);
	KUNIT_EXPECT_EQ(test, smbvn_judge_tcon(pdu, sizeof(pdu),
					       SMBVN_AUTH_SIGNED),
			SMBVN_V_MALFORMED);
	kt_hdr(pdu, SMBVN_CMD_TREE_CONNECT, SMBVN_FLAG_RESPONSE,
	       SMBVN_STATUS_ACCESS_DENIED, 9);
	KUNIT_EXPECT_EQ(test, smbvn_judge_tcon(pdu, sizeof(pdu),
					       SMBVN_AUTH_SIGNED),
			SMBVN_V_MALFORMED);
	KUNIT_EXPECT_STREQ(test, smbvn_verdict_name(SMBVN_V_TCON_UNSIGNED),
			   "tree-connect-unsigned");
}

/*
 * A 3.1.1 binding's final answer: believed only when signed (a binding is
 * never sealed), and only when it is a successful SESSION_SETUP response.
 */
static void judge_bind_truth_table(struct kunit *test)
{
	static const struct {
		enum smbvn_auth auth;
		enum smbvn_verdict want;
	} rows[] = {
		{ SMBVN_AUTH_SIGNED, SMBVN_V_BIND_VERIFIED },
		{ SMBVN_AUTH_ENCRYPTED, SMBVN_V_BIND_UNSIGNED },
		{ SMBVN_AUTH_NONE, SMBVN_V_BIND_UNSIGNED },
		{ SMBVN_AUTH_BAD_SIG, SMBVN_V_BIND_BAD_SIGNATURE },
		{ SMBVN_AUTH_NO_KEY, SMBVN_V_NO_KEY },
	};
	u8 pdu[SMBVN_HDR_LEN + 8] = {};
	unsigned int i;

	kt_hdr(pdu, SMBVN_CMD_SESSION_SETUP, SMBVN_FLAG_RESPONSE, 0, 9);
	for (i = 0; i < ARRAY_SIZE(rows); i++)
		KUNIT_EXPECT_EQ_MSG(test, smbvn_judge_bind(pdu, sizeof(pdu),
							   rows[i].auth),
				    rows[i].want, "row %u", i);
	kt_hdr(pdu, SMBVN_CMD_TREE_CONNECT, SMBVN_FLAG_RESPONSE, 0, 9);
	KUNIT_EXPECT_EQ(test, smbvn_judge_bind(pdu, sizeof(pdu),
					       SMBVN_AUTH_SIGNED),
			SMBVN_V_MALFORMED);
	kt_hdr(pdu, SMBVN_CMD_SESSION_SETUP, SMBVN_FLAG_RESPONSE,
	       SMBVN_STATUS_ACCESS_DENIED, 9);
	KUNIT_EXPECT_EQ(test, smbvn_judge_bind(pdu, sizeof(pdu),
					       SMBVN_AUTH_SIGNED),
			SMBVN_V_MALFORMED);
	KUNIT_EXPECT_STREQ(test, smbvn_verdict_name(SMBVN_V_BIND_BAD_SIGNATURE),
			   "session-setup-bad-signature");
}

/* L4's rule on its own: both SessionIds must be the validating session's. */
static void decrypted_auth_needs_our_session(struct kunit *test)
{
	u8 pdu[SMBVN_HDR_LEN] = {};
	const u64 us = 0x1122334455667788ULL, them = us ^ 1;

	kt_put32(pdu + SMBVN_HDR_SESSION_ID, (u32)us);
	kt_put32(pdu + SMBVN_HDR_SESSION_ID + 4, (u32)(us >> 32));
	KUNIT_EXPECT_EQ(test, smbvn_decrypted_auth(pdu, sizeof(pdu), true, us,
						   us), SMBVN_AUTH_ENCRYPTED);
	KUNIT_EXPECT_EQ(test, smbvn_decrypted_auth(pdu, sizeof(pdu), true,
						   them, us),
			SMBVN_AUTH_BAD_SIG);
	KUNIT_EXPECT_EQ(test, smbvn_decrypted_auth(pdu, sizeof(pdu), true, us,
						   them), SMBVN_AUTH_BAD_SIG);
	KUNIT_EXPECT_EQ(test, smbvn_decrypted_auth(pdu, sizeof(pdu), false, us,
						   us), SMBVN_AUTH_NO_KEY);
	KUNIT_EXPECT_EQ(test, smbvn_decrypted_auth(pdu, sizeof(pdu) - 1, true,
						   us, us), SMBVN_AUTH_NONE);
	KUNIT_EXPECT_EQ(test, smbvn_decrypted_auth(NULL, 0, true, us, us),
			SMBVN_AUTH_NONE);
}

static void verdict_ok_only_for_passing_verdicts(struct kunit *test)
{
	unsigned int v;

	for (v = 0; v < SMBVN_V_COUNT; v++)
		KUNIT_EXPECT_EQ_MSG(test, smbvn_verdict_ok(v),
				    v == SMBVN_V_VALIDATED ||
				    v == SMBVN_V_ACCEPT_PRE30 ||
				    v == SMBVN_V_TCON_VERIFIED ||
				    v == SMBVN_V_BIND_VERIFIED,
				    "verdict %s", smbvn_verdict_name(v));
	KUNIT_EXPECT_FALSE(test, smbvn_verdict_ok(SMBVN_V_COUNT));
	/* The enum promises: everything from FAIL_FIRST on fails. */
	KUNIT_EXPECT_EQ(test, (int)SMBVN_V_FAIL_FIRST, 4);
}

/*
 * N2: cifs records a decrypted answer's length as that of its transform
 * frame; the PDU is 52 bytes shorter, or ends at its NextCommand.
 */
static void decrypted_pdu_len_from_frame(struct kunit *test)
{
	u8 buf[KT_PDU_MAX] = {};
	size_t len = kt_vneg_rsp_pdu(buf, SMBVN_FLAG_RESPONSE, &kt_rsp_300);

	KUNIT_EXPECT_EQ(test, smbvn_decrypted_pdu_len(buf, len + 52), len);
	/* Compounded: the answer ends where the next PDU starts. */
	kt_put32(buf + 20, 144);
	KUNIT_EXPECT_EQ(test, smbvn_decrypted_pdu_len(buf, 300), (size_t)144);
	/* A NextCommand past the frame does not extend it. */
	kt_put32(buf + 20, 4000);
	KUNIT_EXPECT_EQ(test, smbvn_decrypted_pdu_len(buf, 300), (size_t)248);
	/* Too short for a transform header and an SMB2 header. */
	KUNIT_EXPECT_EQ(test, smbvn_decrypted_pdu_len(buf, 115), (size_t)0);
	KUNIT_EXPECT_EQ(test, smbvn_decrypted_pdu_len(NULL, 300), (size_t)0);
}

static struct kunit_case smbvn_proto_cases[] = {
	KUNIT_CASE(neg_req_parses_smbclient_offer),
	KUNIT_CASE(neg_req_ignores_negotiate_contexts),
	KUNIT_CASE(neg_req_accepts_max_dialects),
	KUNIT_CASE(neg_req_rejects_too_many_dialects),
	KUNIT_CASE(neg_req_rejects_zero_dialects),
	KUNIT_CASE(neg_req_rejects_dialects_past_buffer),
	KUNIT_CASE(neg_req_rejects_every_truncation),
	KUNIT_CASE(null_pdu_rejected),
	KUNIT_CASE(neg_rsp_parses_raw_fields),
	KUNIT_CASE(neg_sizes_floor),
	KUNIT_CASE(neg_rsp_keeps_unknown_capability_bits),
	KUNIT_CASE(neg_rsp_minimal_and_truncated),
	KUNIT_CASE(neg_rsp_rejects_error_status),
	KUNIT_CASE_PARAM(neg_parsers_reject_bad_header, hdr_gen_params),
	KUNIT_CASE_PARAM(vneg_req_replays_negotiate_exactly,
			 replay_gen_params),
	KUNIT_CASE(vneg_req_buffer_bounds),
	KUNIT_CASE(vneg_req_rejects_bad_dialect_count),
	KUNIT_CASE(names_never_null),
	KUNIT_CASE(rsp_watched_only_negotiate_and_answers),
	KUNIT_CASE(strict_downgrade_maps_only_pre30),
	KUNIT_CASE(decrypted_auth_needs_our_session),
	KUNIT_CASE(judge_tcon_truth_table),
	KUNIT_CASE(judge_bind_truth_table),
	KUNIT_CASE(verdict_ok_only_for_passing_verdicts),
	KUNIT_CASE(decrypted_pdu_len_from_frame),
	{}
};

static struct kunit_suite smbvn_proto_suite = {
	.name = "smbvn_proto",
	.test_cases = smbvn_proto_cases,
};

kunit_test_suite(smbvn_proto_suite);
