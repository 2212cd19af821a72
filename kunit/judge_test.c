// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit suite smbvn_judge: smbvn_judge() and smbvn_auth_of(), i.e. the
 * handling of the FSCTL_VALIDATE_NEGOTIATE_INFO response (MS-SMB2
 * 3.2.5.14.12 with the strict rules of DESIGN.md section 3).  A wrong
 * verdict here is either a security hole (accepting) or a broken mount
 * against an honest server (refusing), so both directions are tested.
 */
#include <linux/slab.h>
#include "smbvn_kunit.h"

#define RSP_SIGNED	(SMBVN_FLAG_RESPONSE | SMBVN_FLAG_SIGNED)

static enum smbvn_verdict judge(struct kunit *test, const u8 *pdu, size_t len,
				enum smbvn_auth auth,
				const struct smbvn_neg_rsp *neg,
				struct smbvn_detail *d)
{
	return smbvn_judge(kt_dup(test, pdu, len), len, auth, neg, d);
}

/* Rule 3, success: signed echo of the NEGOTIATE response validates. */
static void signed_echo_validates(struct kunit *test)
{
	u8 buf[KT_PDU_MAX];
	struct smbvn_detail d;
	size_t len = kt_vneg_rsp_pdu(buf, RSP_SIGNED, &kt_rsp_300);

	KUNIT_EXPECT_EQ(test, judge(test, buf, len, SMBVN_AUTH_SIGNED,
				    &kt_rsp_300, &d), SMBVN_V_VALIDATED);
	KUNIT_EXPECT_EQ(test, d.status, SMBVN_STATUS_SUCCESS);
}

/* A response that really arrived in a transform header is authentic. */
static void encrypted_counts_as_authenticated(struct kunit *test)
{
	u8 buf[KT_PDU_MAX];
	struct smbvn_detail d;
	size_t len;

	/* Inside a transform the SIGNED flag is clear and no signature. */
	len = kt_vneg_rsp_pdu(buf, SMBVN_FLAG_RESPONSE, &kt_rsp_300);
	KUNIT_EXPECT_EQ(test, judge(test, buf, len, SMBVN_AUTH_ENCRYPTED,
				    &kt_rsp_300, &d), SMBVN_V_VALIDATED);
	len = kt_err_rsp_pdu(buf, SMBVN_FLAG_RESPONSE,
			     SMBVN_STATUS_ACCESS_DENIED);
	KUNIT_EXPECT_EQ(test, judge(test, buf, len, SMBVN_AUTH_ENCRYPTED,
				    &kt_rsp_300, &d), SMBVN_V_ACCESS_DENIED);
}

/*
 * Rule 3: neither signed nor encrypted -> fail, even when every field
 * matches: this is the forged echo a tampering proxy sends.
 */
static void unsigned_echo_fails(struct kunit *test)
{
	u8 buf[KT_PDU_MAX];
	struct smbvn_detail d;
	size_t len = kt_vneg_rsp_pdu(buf, SMBVN_FLAG_RESPONSE, &kt_rsp_300);

	KUNIT_EXPECT_EQ(test, judge(test, buf, len, SMBVN_AUTH_NONE,
				    &kt_rsp_300, &d), SMBVN_V_UNSIGNED);
	KUNIT_EXPECT_FALSE(test, smbvn_verdict_ok(SMBVN_V_UNSIGNED));
	/* The claimed status is still reported, for the log line. */
	len = kt_err_rsp_pdu(buf, SMBVN_FLAG_RESPONSE,
			     SMBVN_STATUS_ACCESS_DENIED);
	KUNIT_EXPECT_EQ(test, judge(test, buf, len, SMBVN_AUTH_NONE,
				    &kt_rsp_300, &d), SMBVN_V_UNSIGNED);
	KUNIT_EXPECT_EQ(test, d.status, (u32)SMBVN_STATUS_ACCESS_DENIED);
}

/* Rule 3: a wrong signature fails, never downgraded to "unsigned ok". */
static void bad_signature_fails(struct kunit *test)
{
	u8 buf[KT_PDU_MAX];
	struct smbvn_detail d;
	size_t len = kt_vneg_rsp_pdu(buf, RSP_SIGNED, &kt_rsp_300);

	KUNIT_EXPECT_EQ(test, judge(test, buf, len, SMBVN_AUTH_BAD_SIG,
				    &kt_rsp_300, &d), SMBVN_V_BAD_SIGNATURE);
	len = kt_err_rsp_pdu(buf, RSP_SIGNED, SMBVN_STATUS_NOT_SUPPORTED);
	KUNIT_EXPECT_EQ(test, judge(test, buf, len, SMBVN_AUTH_BAD_SIG,
				    &kt_rsp_210, &d), SMBVN_V_BAD_SIGNATURE);
}

/*
 * Without a signing key nothing is verifiable (security review H1): no
 * status and no echo may be believed, whatever the flags claim.
 */
static void no_key_believes_nothing(struct kunit *test)
{
	u8 buf[KT_PDU_MAX];
	struct smbvn_detail d;
	size_t len;

	len = kt_vneg_rsp_pdu(buf, RSP_SIGNED, &kt_rsp_300);
	KUNIT_EXPECT_EQ(test, judge(test, buf, len, SMBVN_AUTH_NO_KEY,
				    &kt_rsp_300, &d), SMBVN_V_NO_KEY);
	len = kt_vneg_rsp_pdu(buf, SMBVN_FLAG_RESPONSE, &kt_rsp_210);
	KUNIT_EXPECT_EQ(test, judge(test, buf, len, SMBVN_AUTH_NO_KEY,
				    &kt_rsp_210, &d), SMBVN_V_NO_KEY);
	len = kt_err_rsp_pdu(buf, RSP_SIGNED, SMBVN_STATUS_NOT_SUPPORTED);
	KUNIT_EXPECT_EQ(test, judge(test, buf, len, SMBVN_AUTH_NO_KEY,
				    &kt_rsp_210, &d), SMBVN_V_NO_KEY);
	KUNIT_EXPECT_EQ(test, d.status, (u32)SMBVN_STATUS_NOT_SUPPORTED);
	len = kt_err_rsp_pdu(buf, RSP_SIGNED, SMBVN_STATUS_ACCESS_DENIED);
	KUNIT_EXPECT_EQ(test, judge(test, buf, len, SMBVN_AUTH_NO_KEY,
				    &kt_rsp_300, &d), SMBVN_V_NO_KEY);
	KUNIT_EXPECT_STREQ(test, smbvn_verdict_name(SMBVN_V_NO_KEY),
			   "no-signing-key");
}

/*
 * One case per field of 2.2.32.6: the server's signed answer differs from
 * the NEGOTIATE response in exactly that field.  The detail must name the
 * expected (NEGOTIATE) and received (validate) values for the log line.
 */
static void mismatch_capabilities(struct kunit *test)
{
	struct smbvn_neg_rsp v = kt_rsp_300;
	u8 buf[KT_PDU_MAX];
	struct smbvn_detail d;
	size_t len;

	/* What a proxy stripping SMB2_GLOBAL_CAP_ENCRYPTION leaves behind. */
	v.capabilities &= ~0x40u;
	len = kt_vneg_rsp_pdu(buf, RSP_SIGNED, &kt_rsp_300);
	KUNIT_EXPECT_EQ(test, judge(test, buf, len, SMBVN_AUTH_SIGNED, &v, &d),
			SMBVN_V_MISMATCH_CAPABILITIES);
	KUNIT_EXPECT_EQ(test, d.expected, v.capabilities);
	KUNIT_EXPECT_EQ(test, d.received, kt_rsp_300.capabilities);
}

static void mismatch_server_guid(struct kunit *test)
{
	struct smbvn_neg_rsp v = kt_rsp_300;
	u8 buf[KT_PDU_MAX];
	struct smbvn_detail d;
	size_t len;

	/* Last byte only: a comparison that stops early would miss it. */
	v.guid[SMBVN_GUID_LEN - 1] ^= 0x01;
	len = kt_vneg_rsp_pdu(buf, RSP_SIGNED, &v);
	KUNIT_EXPECT_EQ(test, judge(test, buf, len, SMBVN_AUTH_SIGNED,
				    &kt_rsp_300, &d), SMBVN_V_MISMATCH_GUID);
	KUNIT_EXPECT_MEMEQ(test, d.guid_expected, kt_rsp_300.guid,
			   SMBVN_GUID_LEN);
	KUNIT_EXPECT_MEMEQ(test, d.guid_received, v.guid, SMBVN_GUID_LEN);
}

static void mismatch_security_mode(struct kunit *test)
{
	struct smbvn_neg_rsp v = kt_rsp_300;
	u8 buf[KT_PDU_MAX];
	struct smbvn_detail d;
	size_t len;

	/* Signing "required" rewritten to "enabled" on the way. */
	v.security_mode = 0x0001;
	len = kt_vneg_rsp_pdu(buf, RSP_SIGNED, &kt_rsp_300);
	KUNIT_EXPECT_EQ(test, judge(test, buf, len, SMBVN_AUTH_SIGNED, &v, &d),
			SMBVN_V_MISMATCH_SECURITY_MODE);
	KUNIT_EXPECT_EQ(test, d.expected, 0x0001u);
	KUNIT_EXPECT_EQ(test, d.received, 0x0003u);
}

static void mismatch_dialect(struct kunit *test)
{
	struct smbvn_neg_rsp v = kt_rsp_300;
	u8 buf[KT_PDU_MAX];
	struct smbvn_detail d;
	size_t len;

	/* Client was steered to 3.0 while the server says it chose 3.0.2. */
	v.dialect = SMBVN_DIALECT_302;
	len = kt_vneg_rsp_pdu(buf, RSP_SIGNED, &v);
	KUNIT_EXPECT_EQ(test, judge(test, buf, len, SMBVN_AUTH_SIGNED,
				    &kt_rsp_300, &d), SMBVN_V_MISMATCH_DIALECT);
	KUNIT_EXPECT_EQ(test, d.expected, (u32)SMBVN_DIALECT_300);
	KUNIT_EXPECT_EQ(test, d.received, (u32)SMBVN_DIALECT_302);
}

/* The downgrade case: NEGOTIATE said 2.1, the honest server says 3.0. */
static void downgrade_detected_by_signed_answer(struct kunit *test)
{
	u8 buf[KT_PDU_MAX];
	struct smbvn_detail d;
	size_t len = kt_vneg_rsp_pdu(buf, RSP_SIGNED, &kt_rsp_300);
	enum smbvn_verdict v;

	v = judge(test, buf, len, SMBVN_AUTH_SIGNED, &kt_rsp_210, &d);
	KUNIT_EXPECT_FALSE(test, smbvn_verdict_ok(v));
	KUNIT_EXPECT_GE(test, v, SMBVN_V_MISMATCH_CAPABILITIES);
	KUNIT_EXPECT_LE(test, v, SMBVN_V_MISMATCH_DIALECT);
}

/*
 * OutputOffset / OutputCount against the PDU end.  The canonical answer
 * is 136 bytes with the output at 112; rows move the output and the
 * claimed length around.  "len" is how much of the buffer is handed in.
 */
struct out_case {
	const char *desc;
	u32 off;
	u32 count;
	size_t len;
	enum smbvn_verdict want;
};

static const struct out_case out_cases[] = {
	{ "output ends at PDU end", 112, 24, 136, SMBVN_V_VALIDATED },
	{ "output after padding", 120, 24, 144, SMBVN_V_VALIDATED },
	{ "offset one past fit", 113, 24, 136, SMBVN_V_MALFORMED },
	{ "PDU one byte short", 112, 24, 135, SMBVN_V_MALFORMED },
	{ "offset at PDU end", 136, 24, 136, SMBVN_V_MALFORMED },
	{ "offset far past end", 0x10000, 24, 136, SMBVN_V_MALFORMED },
	{ "offset 0xFFFFFFF0 wraps", 0xfffffff0, 24, 136, SMBVN_V_MALFORMED },
	{ "offset 0xFFFFFFFF wraps", 0xffffffff, 24, 136, SMBVN_V_MALFORMED },
	{ "offset 0xFFFFFFE8 sums to 0", 0xffffffe8, 24, 136,
	  SMBVN_V_MALFORMED },
	{ "offset 0 (header)", 0, 24, 136, SMBVN_V_MALFORMED },
	{ "offset 64 (ioctl body)", 64, 24, 136, SMBVN_V_MALFORMED },
	{ "offset 111 (one into body)", 111, 24, 136, SMBVN_V_MALFORMED },
	{ "count 23", 112, 23, 136, SMBVN_V_MALFORMED },
	{ "count 25", 112, 25, 137, SMBVN_V_MALFORMED },
	{ "count 0", 112, 0, 136, SMBVN_V_MALFORMED },
	{ "count 0xFFFFFFFF", 112, 0xffffffff, 136, SMBVN_V_MALFORMED },
	{ "count 24 + 256", 112, 24 + 256, 400, SMBVN_V_MALFORMED },
	/* A server padding past the 24 bytes asked for overruns the ask. */
	{ "count 32, 8 more than asked", 112, 32, 144, SMBVN_V_MALFORMED },
	{ "count 24 in a padded PDU", 112, 24, 144, SMBVN_V_VALIDATED },
};

static void out_case_desc(const struct out_case *c, char *desc)
{
	strscpy(desc, c->desc, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(out, out_cases, out_case_desc);

static void output_bounds(struct kunit *test)
{
	const struct out_case *c = test->param_value;
	u8 buf[KT_PDU_MAX], *o;
	struct smbvn_detail d;

	memset(buf, 0, sizeof(buf));
	kt_vneg_rsp_pdu(buf, RSP_SIGNED, &kt_rsp_300);
	/* Move the 24 output bytes to the claimed place if it is in reach. */
	if (c->off > KT_VNEG_OUT_OFF && c->off <= sizeof(buf) - 24) {
		o = buf + c->off;
		memmove(o, buf + KT_VNEG_OUT_OFF, 24);
		memset(buf + KT_VNEG_OUT_OFF, 0, c->off - KT_VNEG_OUT_OFF);
	}
	kt_put32(buf + KT_IOCTL_OUT_OFF, c->off);
	kt_put32(buf + KT_IOCTL_OUT_COUNT, c->count);
	KUNIT_EXPECT_EQ(test, judge(test, buf, c->len, SMBVN_AUTH_SIGNED,
				    &kt_rsp_300, &d), c->want);
}

/* Every prefix of a valid success response, header included, fails. */
static void truncated_success_response(struct kunit *test)
{
	u8 buf[KT_PDU_MAX];
	struct smbvn_detail d;
	size_t len = kt_vneg_rsp_pdu(buf, RSP_SIGNED, &kt_rsp_300), n;

	for (n = 0; n < len; n++)
		KUNIT_EXPECT_EQ_MSG(test, judge(test, buf, n, SMBVN_AUTH_SIGNED,
						&kt_rsp_300, &d),
				    SMBVN_V_MALFORMED, "prefix of %zu bytes", n);
	KUNIT_EXPECT_EQ(test, smbvn_judge(NULL, 0, SMBVN_AUTH_SIGNED,
					  &kt_rsp_300, &d), SMBVN_V_MALFORMED);
}

/* A truncated header is malformed whatever the transport claims. */
static void truncated_header_any_auth(struct kunit *test)
{
	u8 buf[KT_PDU_MAX];
	struct smbvn_detail d;
	size_t n;
	int a;

	kt_err_rsp_pdu(buf, RSP_SIGNED, SMBVN_STATUS_NOT_SUPPORTED);
	for (a = SMBVN_AUTH_NONE; a <= SMBVN_AUTH_ENCRYPTED; a++)
		for (n = 0; n < SMBVN_HDR_LEN; n++)
			KUNIT_EXPECT_EQ(test, judge(test, buf, n, a,
						    &kt_rsp_210, &d),
					SMBVN_V_MALFORMED);
}

/* Header and IOCTL body sanity: each row spoils one field. */
struct spoil_case {
	const char *desc;
	unsigned int off;
	unsigned int width;
	u32 val;
};

static const struct spoil_case spoil_cases[] = {
	{ "protocol id SMB1", 0, 1, 0xff },
	{ "protocol id transform", 0, 1, 0xfd },
	{ "header StructureSize 0", KT_HDR_SIZE_OFF, 2, 0 },
	{ "header StructureSize 65", KT_HDR_SIZE_OFF, 2, 65 },
	{ "command NEGOTIATE", KT_HDR_CMD_OFF, 2, SMBVN_CMD_NEGOTIATE },
	{ "command TREE_CONNECT", KT_HDR_CMD_OFF, 2, KT_CMD_TREE_CONNECT },
	{ "request flag (response bit clear)", KT_HDR_FLAGS_OFF, 4,
	  SMBVN_FLAG_SIGNED },
	{ "ioctl StructureSize 48", KT_IOCTL_SIZE_OFF, 2, 48 },
	{ "ioctl StructureSize 9", KT_IOCTL_SIZE_OFF, 2, 9 },
	{ "ioctl StructureSize 50", KT_IOCTL_SIZE_OFF, 2, 50 },
	{ "CtlCode FSCTL_PIPE_TRANSCEIVE", KT_IOCTL_CTL_OFF, 4, 0x0011c017 },
	{ "CtlCode 0", KT_IOCTL_CTL_OFF, 4, 0 },
};

static void spoil_case_desc(const struct spoil_case *c, char *desc)
{
	strscpy(desc, c->desc, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(spoil, spoil_cases, spoil_case_desc);

static void malformed_response(struct kunit *test)
{
	const struct spoil_case *c = test->param_value;
	u8 buf[KT_PDU_MAX];
	struct smbvn_detail d;
	size_t len = kt_vneg_rsp_pdu(buf, RSP_SIGNED, &kt_rsp_300);

	if (c->width == 1)
		buf[c->off] = c->val;
	else if (c->width == 2)
		kt_put16(buf + c->off, c->val);
	else
		kt_put32(buf + c->off, c->val);
	KUNIT_EXPECT_EQ(test, judge(test, buf, len, SMBVN_AUTH_SIGNED,
				    &kt_rsp_300, &d), SMBVN_V_MALFORMED);
}

/*
 * Errors (3.2.5.14.12): an authenticated status other than ACCESS_DENIED
 * says the server does not implement validation, accepted only on 2.0.2
 * or 2.1; on 3.0/3.0.2 a 3.x server must implement the FSCTL, so it is
 * refused as server-rejected.  An unsigned error never passes (stock cifs
 * accepts some: the forged error).
 *
 * The table is every status seen from servers in the field x every
 * pre-3.1.1 dialect x {signed, unsigned}, filled in by suite_init from
 * the rule as stated above, then the encrypted, bad-signature and
 * ACCESS_DENIED rows written out.
 */
struct status_case {
	u32 status;
	u16 dialect;
	enum smbvn_auth auth;
	enum smbvn_verdict want;
};

static const u32 family[] = {
	SMBVN_STATUS_NOT_SUPPORTED, SMBVN_STATUS_INVALID_DEVICE_REQUEST,
	SMBVN_STATUS_FILE_CLOSED, SMBVN_STATUS_FS_DRIVER_REQUIRED,
	KT_STATUS_INVALID_PARAMETER, KT_STATUS_USER_SESSION_DELETED,
	KT_STATUS_BUFFER_OVERFLOW, 0xc0000001,
};

static const u16 family_dialects[] = {
	SMBVN_DIALECT_202, SMBVN_DIALECT_210, SMBVN_DIALECT_300,
	SMBVN_DIALECT_302,
};

static const struct status_case status_extra[] = {
	{ SMBVN_STATUS_NOT_SUPPORTED, SMBVN_DIALECT_210, SMBVN_AUTH_ENCRYPTED,
	  SMBVN_V_ACCEPT_PRE30 },
	{ SMBVN_STATUS_NOT_SUPPORTED, SMBVN_DIALECT_300, SMBVN_AUTH_ENCRYPTED,
	  SMBVN_V_SERVER_REJECTED },
	{ SMBVN_STATUS_NOT_SUPPORTED, SMBVN_DIALECT_210, SMBVN_AUTH_BAD_SIG,
	  SMBVN_V_BAD_SIGNATURE },
	{ SMBVN_STATUS_ACCESS_DENIED, SMBVN_DIALECT_300, SMBVN_AUTH_SIGNED,
	  SMBVN_V_ACCESS_DENIED },
	{ SMBVN_STATUS_ACCESS_DENIED, SMBVN_DIALECT_302, SMBVN_AUTH_SIGNED,
	  SMBVN_V_ACCESS_DENIED },
	{ SMBVN_STATUS_ACCESS_DENIED, SMBVN_DIALECT_210, SMBVN_AUTH_SIGNED,
	  SMBVN_V_ACCESS_DENIED },
	{ SMBVN_STATUS_ACCESS_DENIED, SMBVN_DIALECT_300, SMBVN_AUTH_NONE,
	  SMBVN_V_UNSIGNED },
	{ SMBVN_STATUS_ACCESS_DENIED, SMBVN_DIALECT_210, SMBVN_AUTH_NONE,
	  SMBVN_V_UNSIGNED },
	{ SMBVN_STATUS_ACCESS_DENIED, SMBVN_DIALECT_300, SMBVN_AUTH_ENCRYPTED,
	  SMBVN_V_ACCESS_DENIED },
};

#define N_FAMILY_ROWS (ARRAY_SIZE(family) * ARRAY_SIZE(family_dialects) * 2)

static struct status_case status_cases[N_FAMILY_ROWS +
				       ARRAY_SIZE(status_extra)];

static int status_table_init(struct kunit_suite *suite)
{
	unsigned int s, d, n = 0;
	bool is_2x;

	for (s = 0; s < ARRAY_SIZE(family); s++) {
		for (d = 0; d < ARRAY_SIZE(family_dialects); d++) {
			is_2x = family_dialects[d] < SMBVN_DIALECT_300;
			status_cases[n++] = (struct status_case) {
				family[s], family_dialects[d],
				SMBVN_AUTH_SIGNED,
				is_2x ? SMBVN_V_ACCEPT_PRE30 :
					SMBVN_V_SERVER_REJECTED };
			status_cases[n++] = (struct status_case) {
				family[s], family_dialects[d],
				SMBVN_AUTH_NONE, SMBVN_V_UNSIGNED };
		}
	}
	memcpy(status_cases + n, status_extra, sizeof(status_extra));
	return 0;
}

static const char *status_name(u32 st)
{
	switch (st) {
	case SMBVN_STATUS_NOT_SUPPORTED:
		return "NOT_SUPPORTED";
	case SMBVN_STATUS_INVALID_DEVICE_REQUEST:
		return "INVALID_DEVICE_REQUEST";
	case SMBVN_STATUS_FILE_CLOSED:
		return "FILE_CLOSED";
	case SMBVN_STATUS_FS_DRIVER_REQUIRED:
		return "FS_DRIVER_REQUIRED";
	case SMBVN_STATUS_ACCESS_DENIED:
		return "ACCESS_DENIED";
	case KT_STATUS_INVALID_PARAMETER:
		return "INVALID_PARAMETER";
	case KT_STATUS_USER_SESSION_DELETED:
		return "USER_SESSION_DELETED";
	case KT_STATUS_BUFFER_OVERFLOW:
		return "BUFFER_OVERFLOW";
	default:
		return "other";
	}
}

static void status_case_desc(struct status_case *c, char *desc)
{
	static const char * const auth[] = {
		"unsigned", "bad-signature", "signed", "encrypted",
	};

	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "%s on %s, %s",
		 status_name(c->status), smbvn_dialect_name(c->dialect),
		 auth[c->auth]);
}

KUNIT_ARRAY_PARAM(status, status_cases, status_case_desc);

static void error_status_verdict(struct kunit *test)
{
	const struct status_case *c = test->param_value;
	struct smbvn_neg_rsp neg = kt_rsp_300;
	u8 buf[KT_PDU_MAX];
	struct smbvn_detail d;
	size_t len;
	u32 flags = SMBVN_FLAG_RESPONSE;

	/* Filled by suite_init: an all-zero row means it did not run. */
	KUNIT_ASSERT_NE(test, c->status, 0u);
	if (c->auth == SMBVN_AUTH_SIGNED || c->auth == SMBVN_AUTH_BAD_SIG)
		flags |= SMBVN_FLAG_SIGNED;
	neg.dialect = c->dialect;
	len = kt_err_rsp_pdu(buf, flags, c->status);
	KUNIT_EXPECT_EQ(test, judge(test, buf, len, c->auth, &neg, &d),
			c->want);
	KUNIT_EXPECT_EQ(test, smbvn_verdict_ok(c->want),
			c->want == SMBVN_V_ACCEPT_PRE30);
	/* Authenticated errors report their status for the log line. */
	if (c->auth == SMBVN_AUTH_SIGNED || c->auth == SMBVN_AUTH_ENCRYPTED)
		KUNIT_EXPECT_EQ(test, d.status, c->status);
}

/*
 * A success status is what makes the output count: the same full, valid
 * body under a warning status is a server saying something else.
 */
static void warning_status_with_valid_body(struct kunit *test)
{
	u8 buf[KT_PDU_MAX];
	struct smbvn_detail d;
	enum smbvn_verdict v;
	size_t len;

	len = kt_vneg_rsp_pdu(buf, RSP_SIGNED, &kt_rsp_300);
	kt_put32(buf + KT_HDR_STATUS_OFF, KT_STATUS_BUFFER_OVERFLOW);
	KUNIT_EXPECT_EQ(test, judge(test, buf, len, SMBVN_AUTH_SIGNED,
				    &kt_rsp_300, &d), SMBVN_V_SERVER_REJECTED);
	KUNIT_EXPECT_EQ(test, d.status, KT_STATUS_BUFFER_OVERFLOW);
	/* The knob turns a 2.x acceptance, and nothing else, into a refusal. */
	len = kt_err_rsp_pdu(buf, RSP_SIGNED, KT_STATUS_INVALID_PARAMETER);
	v = judge(test, buf, len, SMBVN_AUTH_SIGNED, &kt_rsp_210, &d);
	KUNIT_EXPECT_EQ(test, v, SMBVN_V_ACCEPT_PRE30);
	KUNIT_EXPECT_EQ(test, smbvn_strict_downgrade(v, true),
			SMBVN_V_DOWNGRADE_UNPROVEN);
	KUNIT_EXPECT_EQ(test, smbvn_strict_downgrade(v, false),
			SMBVN_V_ACCEPT_PRE30);
}

/* The detail is cleared on entry so a stale value never reaches a log. */
static void detail_cleared_on_entry(struct kunit *test)
{
	u8 buf[KT_PDU_MAX];
	struct smbvn_detail d;
	size_t len = kt_vneg_rsp_pdu(buf, RSP_SIGNED, &kt_rsp_300);

	memset(&d, 0x5a, sizeof(d));
	KUNIT_EXPECT_EQ(test, judge(test, buf, len, SMBVN_AUTH_SIGNED,
				    &kt_rsp_300, &d), SMBVN_V_VALIDATED);
	KUNIT_EXPECT_EQ(test, d.expected, 0u);
	KUNIT_EXPECT_EQ(test, d.received, 0u);
	KUNIT_EXPECT_EQ(test, d.guid_expected[0], 0);
	memset(&d, 0x5a, sizeof(d));
	KUNIT_EXPECT_EQ(test, judge(test, buf, 10, SMBVN_AUTH_SIGNED,
				    &kt_rsp_300, &d), SMBVN_V_MALFORMED);
	KUNIT_EXPECT_EQ(test, d.status, 0u);
}

/*
 * smbvn_auth_of(): encryption wins; otherwise only a PDU that carries the
 * SIGNED flag can be signed, and then sig_ok decides good or bad.
 */
struct auth_case {
	const char *desc;
	bool null_pdu;
	size_t len;
	bool flag_signed;
	bool decrypted;
	bool sig_ok;
	enum smbvn_auth want;
};

static const struct auth_case auth_cases[] = {
	{ "plain, unsigned", false, 136, false, false, false,
	  SMBVN_AUTH_NONE },
	{ "plain, no flag, sig_ok", false, 136, false, false, true,
	  SMBVN_AUTH_NONE },
	{ "flag, sig bad", false, 136, true, false, false,
	  SMBVN_AUTH_BAD_SIG },
	{ "flag, sig ok", false, 136, true, false, true, SMBVN_AUTH_SIGNED },
	{ "decrypted, no flag", false, 136, false, true, false,
	  SMBVN_AUTH_ENCRYPTED },
	{ "decrypted, flag, sig bad", false, 136, true, true, false,
	  SMBVN_AUTH_ENCRYPTED },
	{ "decrypted, flag, sig ok", false, 136, true, true, true,
	  SMBVN_AUTH_ENCRYPTED },
	{ "short header, flag, sig ok", false, 63, true, false, true,
	  SMBVN_AUTH_NONE },
	{ "empty, sig ok", false, 0, true, false, true, SMBVN_AUTH_NONE },
	{ "NULL pdu, sig ok", true, 0, false, false, true, SMBVN_AUTH_NONE },
	{ "NULL pdu, decrypted", true, 0, false, true, false,
	  SMBVN_AUTH_ENCRYPTED },
	{ "header only, flag, sig ok", false, 64, true, false, true,
	  SMBVN_AUTH_SIGNED },
};

static void auth_case_desc(const struct auth_case *c, char *desc)
{
	strscpy(desc, c->desc, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(auth, auth_cases, auth_case_desc);

static void auth_of_truth_table(struct kunit *test)
{
	const struct auth_case *c = test->param_value;
	u8 buf[KT_PDU_MAX];
	const u8 *p;

	kt_vneg_rsp_pdu(buf, SMBVN_FLAG_RESPONSE |
			(c->flag_signed ? SMBVN_FLAG_SIGNED : 0), &kt_rsp_300);
	p = c->null_pdu ? NULL : kt_dup(test, buf, c->len);
	KUNIT_EXPECT_EQ(test, smbvn_auth_of(p, c->len, c->decrypted,
					    c->sig_ok), c->want);
}

/* Flags other than SIGNED do not make a response authenticated. */
static void auth_of_ignores_other_flags(struct kunit *test)
{
	u8 buf[KT_PDU_MAX];
	size_t len = kt_vneg_rsp_pdu(buf, 0xfffffff7, &kt_rsp_300);

	KUNIT_EXPECT_EQ(test, smbvn_auth_of(buf, len, false, true),
			SMBVN_AUTH_NONE);
	kt_put32(buf + KT_HDR_FLAGS_OFF, SMBVN_FLAG_SIGNED);
	KUNIT_EXPECT_EQ(test, smbvn_auth_of(buf, len, false, true),
			SMBVN_AUTH_SIGNED);
}

static struct kunit_case smbvn_judge_cases[] = {
	KUNIT_CASE(signed_echo_validates),
	KUNIT_CASE(encrypted_counts_as_authenticated),
	KUNIT_CASE(unsigned_echo_fails),
	KUNIT_CASE(bad_signature_fails),
	KUNIT_CASE(no_key_believes_nothing),
	KUNIT_CASE(mismatch_capabilities),
	KUNIT_CASE(mismatch_server_guid),
	KUNIT_CASE(mismatch_security_mode),
	KUNIT_CASE(mismatch_dialect),
	KUNIT_CASE(downgrade_detected_by_signed_answer),
	KUNIT_CASE_PARAM(output_bounds, out_gen_params),
	KUNIT_CASE(truncated_success_response),
	KUNIT_CASE(truncated_header_any_auth),
	KUNIT_CASE_PARAM(malformed_response, spoil_gen_params),
	KUNIT_CASE_PARAM(error_status_verdict, status_gen_params),
	KUNIT_CASE(warning_status_with_valid_body),
	KUNIT_CASE(detail_cleared_on_entry),
	KUNIT_CASE_PARAM(auth_of_truth_table, auth_gen_params),
	KUNIT_CASE(auth_of_ignores_other_flags),
	{}
};

static struct kunit_suite smbvn_judge_suite = {
	.name = "smbvn_judge",
	.suite_init = status_table_init,
	.test_cases = smbvn_judge_cases,
};

kunit_test_suite(smbvn_judge_suite);
