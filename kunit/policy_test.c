// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit suite smbvn_policy: smbvn_policy() and smbvn_offers_3x(), plus
 * one end-to-end case per rule of DESIGN.md section 3 that drives the
 * whole pure pipeline as the glue does: parse the NEGOTIATE request and
 * response as they were on the wire, ask the policy, build the validate
 * request, judge the answer.
 */
#include <linux/slab.h>
#include "smbvn_kunit.h"

#define RSP_SIGNED	(SMBVN_FLAG_RESPONSE | SMBVN_FLAG_SIGNED)

static const struct smbvn_neg_req req_wildcard = {
	.capabilities = 0,
	.security_mode = 0x0001,
	.dialect_count = 1,
	.dialects = { 0x02ff },
};

static const struct smbvn_neg_req req_311_only = {
	.capabilities = 0x0000007f,
	.security_mode = 0x0001,
	.dialect_count = 1,
	.dialects = { 0x0311 },
};

struct policy_case {
	const char *desc;
	bool enforce;
	u16 dialect;
	bool have_record;
	const struct smbvn_neg_req *req;
	bool guest;
	enum smbvn_action want;
};

static const struct policy_case policy_cases[] = {
	/*
	 * Rule 1: 3.1.1 sends nothing; the signed tree connect answer is
	 * checked instead, which a guest session cannot have.
	 */
	{ "3.1.1 checks the tree connect", true, 0x0311, true, &kt_req_win10,
	  false, SMBVN_A_VERIFY_TCON_311 },
	{ "3.1.1 guest refused", true, 0x0311, true, &kt_req_win10, true,
	  SMBVN_A_REFUSE_GUEST },
	{ "3.1.1 without record checks", true, 0x0311, false, NULL, false,
	  SMBVN_A_VERIFY_TCON_311 },
	/* Rule 2: nothing 3.x was offered, nothing to validate. */
	{ "2.1 after 2.x-only offer", true, 0x0210, true, &kt_req_2x_only,
	  false, SMBVN_A_SKIP_2X_ONLY },
	{ "2.x-only offer, guest", true, 0x0210, true, &kt_req_2x_only,
	  true, SMBVN_A_SKIP_2X_ONLY },
	{ "2.x wildcard offer", true, 0x0202, true, &req_wildcard, false,
	  SMBVN_A_SKIP_2X_ONLY },
	/* Rule 3: validate on 3.0/3.0.2 and on 2.x after a 3.x offer. */
	{ "3.0 validates", true, 0x0300, true, &kt_req_smb3_00, false,
	  SMBVN_A_VALIDATE },
	{ "3.0.2 validates", true, 0x0302, true, &kt_req_win10, false,
	  SMBVN_A_VALIDATE },
	{ "downgrade to 2.1 after 3.x offer validates", true, 0x0210, true,
	  &kt_req_smb3_00, false, SMBVN_A_VALIDATE },
	{ "downgrade to 2.0.2 after 3.x offer validates", true, 0x0202, true,
	  &kt_req_win10, false, SMBVN_A_VALIDATE },
	{ "2.1 after offer whose only 3.x is 3.1.1 validates", true, 0x0210,
	  true, &req_311_only, false, SMBVN_A_VALIDATE },
	{ "guest on 3.0 refused", true, 0x0300, true, &kt_req_smb3_00, true,
	  SMBVN_A_REFUSE_GUEST },
	{ "guest on downgraded 2.1 refused", true, 0x0210, true,
	  &kt_req_win10, true, SMBVN_A_REFUSE_GUEST },
	/* No captured NEGOTIATE: nothing to replay, so do not pretend. */
	{ "no record on 3.0 refused", true, 0x0300, false, &kt_req_smb3_00,
	  false, SMBVN_A_REFUSE_NO_RECORD },
	{ "no record on 2.1 refused", true, 0x0210, false, NULL, false,
	  SMBVN_A_REFUSE_NO_RECORD },
	{ "record flag but NULL request refused", true, 0x0300, true, NULL,
	  false, SMBVN_A_REFUSE_NO_RECORD },
	/* require_secure_negotiate = 0 restores stock cifs everywhere. */
	{ "knob 0 on 3.0 disabled", false, 0x0300, true, &kt_req_smb3_00,
	  false, SMBVN_A_DISABLED },
	{ "knob 0 on 3.1.1 disabled", false, 0x0311, true, &kt_req_win10,
	  false, SMBVN_A_DISABLED },
	{ "knob 0 guest disabled", false, 0x0300, true, &kt_req_smb3_00,
	  true, SMBVN_A_DISABLED },
	{ "knob 0 no record disabled", false, 0x0300, false, NULL, false,
	  SMBVN_A_DISABLED },
};

static void policy_case_desc(const struct policy_case *c, char *desc)
{
	strscpy(desc, c->desc, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(policy, policy_cases, policy_case_desc);

static void policy_table(struct kunit *test)
{
	const struct policy_case *c = test->param_value;

	KUNIT_EXPECT_EQ(test, smbvn_policy(c->enforce, c->dialect,
					   c->have_record, c->req, c->guest),
			c->want);
}

static void offers_3x(struct kunit *test)
{
	struct smbvn_neg_req r = kt_req_2x_only;

	KUNIT_EXPECT_FALSE(test, smbvn_offers_3x(&kt_req_2x_only));
	KUNIT_EXPECT_FALSE(test, smbvn_offers_3x(&req_wildcard));
	KUNIT_EXPECT_TRUE(test, smbvn_offers_3x(&kt_req_smb3_00));
	KUNIT_EXPECT_TRUE(test, smbvn_offers_3x(&kt_req_win10));
	KUNIT_EXPECT_TRUE(test, smbvn_offers_3x(&req_311_only));
	/* A 3.x dialect anywhere in the list counts, not only the last. */
	r.dialect_count = 2;
	r.dialects[0] = 0x0302;
	r.dialects[1] = 0x0210;
	KUNIT_EXPECT_TRUE(test, smbvn_offers_3x(&r));
	r.dialect_count = 0;
	KUNIT_EXPECT_FALSE(test, smbvn_offers_3x(&r));
}

/*
 * A record with a corrupt dialect_count must not make the scan run off
 * the end of the fixed dialect array.  The struct sits at the very end of
 * an exact-size allocation so KASAN sees any overrun.
 */
static void offers_3x_bounded_by_array(struct kunit *test)
{
	struct smbvn_neg_req *r;
	unsigned int i;

	r = kunit_kmalloc(test, sizeof(*r), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, r);
	*r = kt_req_2x_only;
	r->dialect_count = 0xffff;
	for (i = 0; i < SMBVN_MAX_DIALECTS; i++)
		r->dialects[i] = 0x0210;
	KUNIT_EXPECT_FALSE(test, smbvn_offers_3x(r));
	r->dialects[SMBVN_MAX_DIALECTS - 1] = 0x0300;
	KUNIT_EXPECT_TRUE(test, smbvn_offers_3x(r));
}

/*
 * The pipeline as the glue runs it for one tree connect: flow_negotiate()
 * records what NEGOTIATE carried and asks the policy (building the
 * validate request when told to), flow_judge() classifies how the answer
 * arrived and judges it against the record.
 */
struct flow {
	const struct smbvn_neg_req *offer;
	const struct smbvn_neg_rsp *answer;
	bool guest;
	bool enforce;
	struct smbvn_neg_req rec_req;
	struct smbvn_neg_rsp rec_rsp;
	u8 vneg_req[SMBVN_VNEG_REQ_MAX];
	size_t vneg_req_len;
	enum smbvn_action action;
};

static void flow_negotiate(struct kunit *test, struct flow *f)
{
	u8 buf[KT_PDU_MAX];
	size_t len;

	len = kt_neg_req_pdu(buf, f->offer);
	KUNIT_ASSERT_EQ(test, smbvn_parse_neg_req(kt_dup(test, buf, len), len,
						  &f->rec_req), 0);
	len = kt_neg_rsp_pdu(buf, f->answer);
	KUNIT_ASSERT_EQ(test, smbvn_parse_neg_rsp(kt_dup(test, buf, len), len,
						  &f->rec_rsp), 0);
	f->action = smbvn_policy(f->enforce, f->rec_rsp.dialect, true,
				 &f->rec_req, f->guest);
	if (f->action == SMBVN_A_VALIDATE) {
		f->vneg_req_len = smbvn_build_vneg_req(&f->rec_req,
						       f->vneg_req,
						       sizeof(f->vneg_req));
		KUNIT_ASSERT_GT(test, f->vneg_req_len, (size_t)0);
	}
}

static enum smbvn_verdict flow_judge(struct kunit *test, struct flow *f,
				     const u8 *pdu, size_t len, bool decrypted,
				     bool sig_ok)
{
	struct smbvn_detail d;
	enum smbvn_auth auth;
	const u8 *p = kt_dup(test, pdu, len);

	auth = smbvn_auth_of(p, len, decrypted, sig_ok);
	return smbvn_judge(p, len, auth, &f->rec_rsp, &d);
}

/* DESIGN 3.1: connection at 3.1.1, no ioctl: the tree connect is checked. */
static void rule1_311_sends_nothing(struct kunit *test)
{
	struct smbvn_neg_rsp a = kt_rsp_300;
	struct flow f = { .offer = &kt_req_win10, .answer = &a,
			  .enforce = true };

	a.dialect = SMBVN_DIALECT_311;
	flow_negotiate(test, &f);
	KUNIT_EXPECT_EQ(test, f.action, SMBVN_A_VERIFY_TCON_311);
	KUNIT_EXPECT_EQ(test, f.vneg_req_len, (size_t)0);
}

/* DESIGN 3.2: vers=2.1 offer, counted as not applicable. */
static void rule2_2x_only_not_applicable(struct kunit *test)
{
	struct flow f = { .offer = &kt_req_2x_only, .answer = &kt_rsp_210,
			  .enforce = true };

	flow_negotiate(test, &f);
	KUNIT_EXPECT_EQ(test, f.action, SMBVN_A_SKIP_2X_ONLY);
	KUNIT_EXPECT_STREQ(test, smbvn_action_name(f.action),
			   "not-applicable-2x-only-offer");
}

/* DESIGN 3.3: guest or anonymous cannot sign, refuse rather than skip. */
static void rule3_guest_refused(struct kunit *test)
{
	struct flow f = { .offer = &kt_req_smb3_00, .answer = &kt_rsp_300,
			  .enforce = true, .guest = true };

	flow_negotiate(test, &f);
	KUNIT_EXPECT_EQ(test, f.action, SMBVN_A_REFUSE_GUEST);
}

/* DESIGN 3.3: the ioctl replays NEGOTIATE byte for byte (2.2.31.4). */
static void rule3_replay_is_byte_exact(struct kunit *test)
{
	struct flow f = { .offer = &kt_req_win10, .answer = &kt_rsp_300,
			  .enforce = true };
	u8 wire[KT_PDU_MAX], want[SMBVN_VNEG_REQ_MAX];
	unsigned int i;

	flow_negotiate(test, &f);
	KUNIT_ASSERT_EQ(test, f.action, SMBVN_A_VALIDATE);
	kt_neg_req_pdu(wire, &kt_req_win10);
	/* Assemble the expected body from the NEGOTIATE wire bytes. */
	memcpy(want, wire + 64 + 8, 4);
	memcpy(want + 4, wire + 64 + 12, 16);
	memcpy(want + 20, wire + 64 + 4, 2);
	memcpy(want + 22, wire + 64 + 2, 2);
	for (i = 0; i < kt_req_win10.dialect_count; i++)
		memcpy(want + 24 + 2 * i, wire + 64 + 36 + 2 * i, 2);
	KUNIT_ASSERT_EQ(test, f.vneg_req_len,
			(size_t)(24 + 2 * kt_req_win10.dialect_count));
	KUNIT_EXPECT_MEMEQ(test, f.vneg_req, want, f.vneg_req_len);
}

/*
 * DESIGN 3.3: the signature is checked by smbvn itself; a SIGNED flag
 * with a signature that did not verify is a failure, and the flag alone
 * is worth nothing.
 */
static void rule3_signature_checked_not_trusted(struct kunit *test)
{
	struct flow f = { .offer = &kt_req_smb3_00, .answer = &kt_rsp_300,
			  .enforce = true };
	u8 buf[KT_PDU_MAX];
	size_t len;

	flow_negotiate(test, &f);
	len = kt_vneg_rsp_pdu(buf, RSP_SIGNED, &kt_rsp_300);
	KUNIT_EXPECT_EQ(test, flow_judge(test, &f, buf, len, false, false),
			SMBVN_V_BAD_SIGNATURE);
	KUNIT_EXPECT_EQ(test, flow_judge(test, &f, buf, len, false, true),
			SMBVN_V_VALIDATED);
}

/*
 * DESIGN 3.3 and section 2 (measured cifs hole): on a sealed session a
 * plaintext forged echo must not count as encrypted; only a response
 * that was really decrypted does.
 */
static void rule3_encryption_only_when_decrypted(struct kunit *test)
{
	struct flow f = { .offer = &kt_req_smb3_00, .answer = &kt_rsp_300,
			  .enforce = true };
	u8 buf[KT_PDU_MAX];
	size_t len;

	flow_negotiate(test, &f);
	len = kt_vneg_rsp_pdu(buf, SMBVN_FLAG_RESPONSE, &kt_rsp_300);
	KUNIT_EXPECT_EQ(test, flow_judge(test, &f, buf, len, false, false),
			SMBVN_V_UNSIGNED);
	KUNIT_EXPECT_EQ(test, flow_judge(test, &f, buf, len, true, false),
			SMBVN_V_VALIDATED);
}

/* DESIGN 3.3: STATUS_ACCESS_DENIED fails, even signed. */
static void rule3_access_denied_fails(struct kunit *test)
{
	struct flow f = { .offer = &kt_req_smb3_00, .answer = &kt_rsp_300,
			  .enforce = true };
	u8 buf[KT_PDU_MAX];
	size_t len;

	flow_negotiate(test, &f);
	len = kt_err_rsp_pdu(buf, RSP_SIGNED, SMBVN_STATUS_ACCESS_DENIED);
	KUNIT_EXPECT_EQ(test, flow_judge(test, &f, buf, len, false, true),
			SMBVN_V_ACCESS_DENIED);
}

/*
 * DESIGN 3.3: after a downgrade to 2.1 (a proxy rewrote the offer, or an
 * old server), a signed "not supported" passes, a forged unsigned one
 * does not -- the hole stock cifs has.
 */
static void rule3_downgrade_then_not_supported(struct kunit *test)
{
	struct flow f = { .offer = &kt_req_smb3_00, .answer = &kt_rsp_210,
			  .enforce = true };
	u8 buf[KT_PDU_MAX];
	size_t len;

	flow_negotiate(test, &f);
	KUNIT_ASSERT_EQ(test, f.action, SMBVN_A_VALIDATE);
	len = kt_err_rsp_pdu(buf, RSP_SIGNED, SMBVN_STATUS_NOT_SUPPORTED);
	KUNIT_EXPECT_EQ(test, flow_judge(test, &f, buf, len, false, true),
			SMBVN_V_ACCEPT_PRE30);
	len = kt_err_rsp_pdu(buf, SMBVN_FLAG_RESPONSE,
			     SMBVN_STATUS_NOT_SUPPORTED);
	KUNIT_EXPECT_EQ(test, flow_judge(test, &f, buf, len, false, true),
			SMBVN_V_UNSIGNED);
}

/*
 * DESIGN 3.3: success is compared with the raw NEGOTIATE response as
 * received.  The proxy stripped the encryption capability from what the
 * client saw; the server's signed answer still has it.
 */
static void rule3_success_compared_with_raw_negotiate(struct kunit *test)
{
	struct smbvn_neg_rsp seen = kt_rsp_300;
	struct flow f = { .offer = &kt_req_smb3_00, .answer = &seen,
			  .enforce = true };
	u8 buf[KT_PDU_MAX];
	size_t len;

	seen.capabilities &= ~0x40u;
	flow_negotiate(test, &f);
	len = kt_vneg_rsp_pdu(buf, RSP_SIGNED, &kt_rsp_300);
	KUNIT_EXPECT_EQ(test, flow_judge(test, &f, buf, len, false, true),
			SMBVN_V_MISMATCH_CAPABILITIES);
	len = kt_vneg_rsp_pdu(buf, RSP_SIGNED, &seen);
	KUNIT_EXPECT_EQ(test, flow_judge(test, &f, buf, len, false, true),
			SMBVN_V_VALIDATED);
}

/* DESIGN 3.4: every verdict but the two passing ones fails the connect. */
static void rule4_every_other_verdict_fails(struct kunit *test)
{
	unsigned int v;

	for (v = SMBVN_V_FAIL_FIRST; v < SMBVN_V_COUNT; v++)
		KUNIT_EXPECT_FALSE_MSG(test, smbvn_verdict_ok(v), "%s",
				       smbvn_verdict_name(v));
	KUNIT_EXPECT_TRUE(test, smbvn_verdict_ok(SMBVN_V_VALIDATED));
	KUNIT_EXPECT_TRUE(test, smbvn_verdict_ok(SMBVN_V_ACCEPT_PRE30));
}

/* require_secure_negotiate = 0: no ioctl, whatever the connection. */
static void knob0_disables_everything(struct kunit *test)
{
	struct flow f = { .offer = &kt_req_smb3_00, .answer = &kt_rsp_210,
			  .enforce = false, .guest = true };

	flow_negotiate(test, &f);
	KUNIT_EXPECT_EQ(test, f.action, SMBVN_A_DISABLED);
	KUNIT_EXPECT_EQ(test, f.vneg_req_len, (size_t)0);
}

static struct kunit_case smbvn_policy_cases[] = {
	KUNIT_CASE_PARAM(policy_table, policy_gen_params),
	KUNIT_CASE(offers_3x),
	KUNIT_CASE(offers_3x_bounded_by_array),
	KUNIT_CASE(rule1_311_sends_nothing),
	KUNIT_CASE(rule2_2x_only_not_applicable),
	KUNIT_CASE(rule3_guest_refused),
	KUNIT_CASE(rule3_replay_is_byte_exact),
	KUNIT_CASE(rule3_signature_checked_not_trusted),
	KUNIT_CASE(rule3_encryption_only_when_decrypted),
	KUNIT_CASE(rule3_access_denied_fails),
	KUNIT_CASE(rule3_downgrade_then_not_supported),
	KUNIT_CASE(rule3_success_compared_with_raw_negotiate),
	KUNIT_CASE(rule4_every_other_verdict_fails),
	KUNIT_CASE(knob0_disables_everything),
	{}
};

static struct kunit_suite smbvn_policy_suite = {
	.name = "smbvn_policy",
	.test_cases = smbvn_policy_cases,
};

kunit_test_suite(smbvn_policy_suite);
