// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit suite smbvn_sign: smbvn_sig_verify() against known answers.  The
 * vectors in sign_vectors.h were signed by kunit/gen_vectors.py with
 * Python's hmac module and python3-cryptography's AES-CMAC, so a bug in
 * how sign.c feeds the kernel crypto API (wrong key length, signature
 * field not zeroed, wrong range hashed) shows up as a mismatch here.
 */
#include <linux/errno.h>
#include <linux/slab.h>
#include "smbvn.h"
#include "smbvn_kunit.h"
#include "sign_vectors.h"

struct sig_case {
	const char *desc;
	const u8 *pdu;
	size_t len;
	const u8 *key;
	bool cmac;
};

static const struct sig_case sig_cases[] = {
	{ "hmac-sha256 2.1 validate response (136)", kat_hmac_vneg,
	  sizeof(kat_hmac_vneg), kat_key_2x, false },
	{ "hmac-sha256 2.1 NOT_SUPPORTED error (73)", kat_hmac_err,
	  sizeof(kat_hmac_err), kat_key_2x, false },
	{ "aes-cmac 3.0 validate response (136)", kat_cmac_vneg,
	  sizeof(kat_cmac_vneg), kat_key_30, true },
	{ "aes-cmac 3.0.2 FILE_CLOSED error (73)", kat_cmac_err,
	  sizeof(kat_cmac_err), kat_key_30, true },
};

static void sig_case_desc(const struct sig_case *c, char *desc)
{
	strscpy(desc, c->desc, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(sig, sig_cases, sig_case_desc);

/*
 * Verify @pdu (a private exact-size copy) and check the promise that the
 * buffer is handed back exactly as it came in, signature included.
 * A missing algorithm is a configuration problem, reported as a skip so
 * it is not mistaken for a wrong signature.
 */
static int verify(struct kunit *test, const u8 *pdu, size_t len,
		  const u8 *key, bool cmac)
{
	u8 *copy = kt_dup(test, pdu, len);
	int rc = smbvn_sig_verify(copy, len, key, cmac);

	KUNIT_EXPECT_MEMEQ_MSG(test, copy, pdu, len, "buffer not restored");
	if (rc == -ENOENT)
		kunit_skip(test, "%s not available", cmac ? "cmac(aes)" :
			   "hmac(sha256)");
	return rc;
}

static void kat_verifies(struct kunit *test)
{
	const struct sig_case *c = test->param_value;

	KUNIT_EXPECT_EQ(test, verify(test, c->pdu, c->len, c->key, c->cmac),
			1);
}

/* One flipped bit in the last body byte must break the signature. */
static void flipped_body_bit_fails(struct kunit *test)
{
	const struct sig_case *c = test->param_value;
	u8 *p = kt_dup(test, c->pdu, c->len);

	p[c->len - 1] ^= 0x01;
	KUNIT_EXPECT_EQ(test, verify(test, p, c->len, c->key, c->cmac), 0);
}

/* The header is covered too: a proxy rewriting Status is caught. */
static void flipped_header_bit_fails(struct kunit *test)
{
	const struct sig_case *c = test->param_value;
	u8 *p = kt_dup(test, c->pdu, c->len);

	p[KT_HDR_STATUS_OFF + 3] ^= 0x80;
	KUNIT_EXPECT_EQ(test, verify(test, p, c->len, c->key, c->cmac), 0);
}

/*
 * An all-zero signature is what the hash input looks like; accepting it
 * would mean comparing the MAC against the zeroed field.
 */
static void zero_signature_fails(struct kunit *test)
{
	const struct sig_case *c = test->param_value;
	u8 *p = kt_dup(test, c->pdu, c->len);

	memset(p + SMBVN_SIG_OFF, 0, SMBVN_SIG_LEN);
	KUNIT_EXPECT_EQ(test, verify(test, p, c->len, c->key, c->cmac), 0);
}

/* All 16 signature bytes are compared, the last one included. */
static void last_signature_byte_fails(struct kunit *test)
{
	const struct sig_case *c = test->param_value;
	u8 *p = kt_dup(test, c->pdu, c->len);

	p[SMBVN_SIG_OFF + SMBVN_SIG_LEN - 1] ^= 0x01;
	KUNIT_EXPECT_EQ(test, verify(test, p, c->len, c->key, c->cmac), 0);
}

/* Right PDU, wrong key or wrong algorithm for the dialect. */
static void wrong_key_or_algorithm_fails(struct kunit *test)
{
	const struct sig_case *c = test->param_value;
	u8 key[16];

	memcpy(key, c->key, sizeof(key));
	key[15] ^= 0x01;
	KUNIT_EXPECT_EQ(test, verify(test, c->pdu, c->len, key, c->cmac), 0);
	KUNIT_EXPECT_EQ(test, verify(test, c->pdu, c->len, c->key, !c->cmac),
			0);
}

/* A PDU cut short (one byte less hashed) does not verify. */
static void truncated_pdu_fails(struct kunit *test)
{
	const struct sig_case *c = test->param_value;

	KUNIT_EXPECT_EQ(test, verify(test, c->pdu, c->len - 1, c->key,
				     c->cmac), 0);
}

/* Shorter than a header: no signature field to read, never "ok". */
static void short_pdu_rejected(struct kunit *test)
{
	size_t n;

	for (n = 0; n < SMBVN_HDR_LEN; n++) {
		KUNIT_EXPECT_EQ(test, verify(test, kat_hmac_vneg, n,
					     kat_key_2x, false), 0);
		KUNIT_EXPECT_EQ(test, verify(test, kat_cmac_vneg, n,
					     kat_key_30, true), 0);
	}
}

/*
 * The signed vectors through the whole pipeline: signature -> auth ->
 * judge, against the NEGOTIATE values the generator put in them.
 */
static void signed_vectors_through_judge(struct kunit *test)
{
	struct smbvn_neg_rsp n210 = {
		.capabilities = 0x00000007, .security_mode = 0x0001,
		.dialect = SMBVN_DIALECT_210,
	};
	struct smbvn_neg_rsp n300 = {
		.capabilities = 0x0000002f, .security_mode = 0x0003,
		.dialect = SMBVN_DIALECT_300,
	};
	struct smbvn_detail d;
	enum smbvn_auth a;
	u8 *p;
	int ok;

	memcpy(n210.guid, kat_server_guid, SMBVN_GUID_LEN);
	memcpy(n300.guid, kat_server_guid, SMBVN_GUID_LEN);

	p = kt_dup(test, kat_hmac_vneg, sizeof(kat_hmac_vneg));
	ok = verify(test, p, sizeof(kat_hmac_vneg), kat_key_2x, false);
	a = smbvn_auth_of(p, sizeof(kat_hmac_vneg), false, ok == 1);
	KUNIT_EXPECT_EQ(test, a, SMBVN_AUTH_SIGNED);
	KUNIT_EXPECT_EQ(test, smbvn_judge(p, sizeof(kat_hmac_vneg), a, &n210,
					  &d), SMBVN_V_VALIDATED);

	p = kt_dup(test, kat_cmac_vneg, sizeof(kat_cmac_vneg));
	ok = verify(test, p, sizeof(kat_cmac_vneg), kat_key_30, true);
	a = smbvn_auth_of(p, sizeof(kat_cmac_vneg), false, ok == 1);
	KUNIT_EXPECT_EQ(test, smbvn_judge(p, sizeof(kat_cmac_vneg), a, &n300,
					  &d), SMBVN_V_VALIDATED);

	p = kt_dup(test, kat_hmac_err, sizeof(kat_hmac_err));
	ok = verify(test, p, sizeof(kat_hmac_err), kat_key_2x, false);
	a = smbvn_auth_of(p, sizeof(kat_hmac_err), false, ok == 1);
	KUNIT_EXPECT_EQ(test, smbvn_judge(p, sizeof(kat_hmac_err), a, &n210,
					  &d), SMBVN_V_ACCEPT_PRE30);

	/* FILE_CLOSED signed, but the connection is 3.0: must fail. */
	p = kt_dup(test, kat_cmac_err, sizeof(kat_cmac_err));
	ok = verify(test, p, sizeof(kat_cmac_err), kat_key_30, true);
	a = smbvn_auth_of(p, sizeof(kat_cmac_err), false, ok == 1);
	KUNIT_EXPECT_EQ(test, smbvn_judge(p, sizeof(kat_cmac_err), a, &n300,
					  &d), SMBVN_V_SERVER_REJECTED);

	/* The same error verified with the wrong key is a bad signature. */
	ok = verify(test, p, sizeof(kat_cmac_err), kat_key_2x, true);
	a = smbvn_auth_of(p, sizeof(kat_cmac_err), false, ok == 1);
	KUNIT_EXPECT_EQ(test, smbvn_judge(p, sizeof(kat_cmac_err), a, &n300,
					  &d), SMBVN_V_BAD_SIGNATURE);
}

/*
 * Security review H1: while cifs has no key for the session (a session
 * setup in progress) or the channel, a zero-filled key buffer is all
 * there is.  Anyone can sign under sixteen zero bytes, so such an answer
 * really does verify under that key; smbvn must refuse to use the key at
 * all, and the judge must believe nothing without one.
 */
static void zero_key_forgery_not_believed(struct kunit *test)
{
	static const u8 zero[16];
	const struct {
		const struct smbvn_neg_rsp *neg;
		bool cmac;
	} forms[] = { { &kt_rsp_210, false }, { &kt_rsp_300, true } };
	struct smbvn_detail d;
	u8 buf[KT_PDU_MAX], *p;
	size_t len, i;

	KUNIT_EXPECT_FALSE(test, smbvn_key_usable(zero, sizeof(zero)));
	KUNIT_EXPECT_FALSE(test, smbvn_key_usable(NULL, 16));
	KUNIT_EXPECT_FALSE(test, smbvn_key_usable(kat_key_2x, 0));
	KUNIT_EXPECT_TRUE(test, smbvn_key_usable(kat_key_2x, 16));
	KUNIT_EXPECT_TRUE(test, smbvn_key_usable(kat_key_30, 16));
	for (i = 0; i < ARRAY_SIZE(forms); i++) {
		len = kt_vneg_rsp_pdu(buf, SMBVN_FLAG_RESPONSE |
				      SMBVN_FLAG_SIGNED, forms[i].neg);
		p = kt_dup(test, buf, len);
		kt_sign(test, p, len, zero, forms[i].cmac);
		/* The forgery is real: it verifies under the public key. */
		KUNIT_EXPECT_EQ(test, smbvn_sig_verify(p, len, zero,
						       forms[i].cmac), 1);
		KUNIT_EXPECT_EQ(test, smbvn_judge(p, len, SMBVN_AUTH_NO_KEY,
						  forms[i].neg, &d),
				SMBVN_V_NO_KEY);
		KUNIT_EXPECT_FALSE(test, smbvn_verdict_ok(SMBVN_V_NO_KEY));
	}
}

static struct kunit_case smbvn_sign_cases[] = {
	KUNIT_CASE_PARAM(kat_verifies, sig_gen_params),
	KUNIT_CASE_PARAM(flipped_body_bit_fails, sig_gen_params),
	KUNIT_CASE_PARAM(flipped_header_bit_fails, sig_gen_params),
	KUNIT_CASE_PARAM(zero_signature_fails, sig_gen_params),
	KUNIT_CASE_PARAM(last_signature_byte_fails, sig_gen_params),
	KUNIT_CASE_PARAM(wrong_key_or_algorithm_fails, sig_gen_params),
	KUNIT_CASE_PARAM(truncated_pdu_fails, sig_gen_params),
	KUNIT_CASE(short_pdu_rejected),
	KUNIT_CASE(signed_vectors_through_judge),
	KUNIT_CASE(zero_key_forgery_not_believed),
	{}
};

static struct kunit_suite smbvn_sign_suite = {
	.name = "smbvn_sign",
	.test_cases = smbvn_sign_cases,
};

kunit_test_suite(smbvn_sign_suite);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("KUnit suites for the smbvn validate-negotiate core");
